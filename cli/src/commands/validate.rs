//! `mandate validate FILE…`: syntax and schema errors as `file:line:col: message`.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use mandate::error::{DocumentErrors, Problem};
use mandate::source::ManagedSource;
use mandate::{Layer, Location, Resolver, Schema, SourceKind};

use crate::error::EXIT_NO;
use crate::{CliError, Globals, output};

/// `mandate validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Policy documents (`*.toml` with [policy]/[settings]/[requirements]),
    /// settings files (user config, `.mandate.toml`), bundles (`*.bundle`:
    /// structure and payload; signatures are `mandate verify`'s job),
    /// managed preferences (`*.plist`) or profiles (`*.mobileconfig`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,
}

/// What kind of document a file holds, guessed from its content.
pub fn validate_file(schema: &Schema, path: &Path) -> Result<(), DocumentErrors> {
    let origin = path.display().to_string();
    let one = |message: String| {
        DocumentErrors(vec![Problem {
            location: Location::new(&origin),
            key: None,
            message,
        }])
    };
    let meta = std::fs::metadata(path).map_err(|e| one(e.to_string()))?;
    if !meta.is_file() {
        return Err(one("not a regular file".into()));
    }
    if meta.len() > mandate::fsafe::MAX_MANAGED_SIZE {
        return Err(one(format!(
            "{} bytes, more than the {}-byte limit",
            meta.len(),
            mandate::fsafe::MAX_MANAGED_SIZE
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| one(e.to_string()))?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if extension == "bundle" || bytes.first() == Some(&b'{') {
        // A bundle in policy.d/ is delivered through the system channel.
        let in_policy_dir = |p: &Path| p.components().any(|c| c.as_os_str() == "policy.d");
        let source = (in_policy_dir(path)
            || std::fs::canonicalize(path).is_ok_and(|p| in_policy_dir(&p)))
        .then_some(ManagedSource::System);
        return validate_bundle(schema, &origin, &bytes, source);
    }
    if extension == "plist" || bytes.starts_with(b"bplist") {
        let content = mandate::mdm::read_managed_plist(schema, SourceKind::Mdm, &origin, &bytes)?;
        return match content.policy {
            Some(mandate::mdm::PolicyPayload::Bundle(b)) => {
                validate_bundle(schema, &origin, &b, Some(ManagedSource::Mdm))
            }
            // A document under `Policy` was checked against the schema by the reader.
            _ => Ok(()),
        };
    }
    if extension == "mobileconfig" {
        let profile = mandate::mdm::parse_profile(&bytes).map_err(|e| one(e.to_string()))?;
        // A bundle under `Policy` is delivered through the mdm channel.
        for (_, prefs) in profile.payloads.iter().flat_map(|p| &p.domains) {
            let Some(policy) = prefs.forced.get("Policy") else {
                continue;
            };
            let bundle = match (policy.as_data(), policy.as_string()) {
                (Some(data), _) => data,
                (None, Some(text)) if text.trim_start().starts_with('{') => text.trim().as_bytes(),
                _ => continue,
            };
            validate_bundle(schema, &origin, bundle, Some(ManagedSource::Mdm))?;
        }
        return Ok(());
    }
    let text = mandate::loader::utf8(&origin, &bytes)?;
    if is_policy_document(text) {
        Layer::parse_policy(schema, SourceKind::System, &origin, text).map(drop)
    } else {
        Layer::parse_settings(schema, SourceKind::User, &origin, text).map(drop)
    }
}

/// A bundle: the envelope's structure, its signed header fields, the
/// channel it was signed for when `source` says how it is delivered, and its
/// payload against the schema. Signatures need a trust root: `mandate verify`.
fn validate_bundle(
    schema: &Schema,
    origin: &str,
    bytes: &[u8],
    source: Option<ManagedSource>,
) -> Result<(), DocumentErrors> {
    let one = |message: String| {
        DocumentErrors(vec![Problem {
            location: Location::new(origin),
            key: None,
            message,
        }])
    };
    if let Some(source) = source {
        mandate::trust::check_unverified_channel(bytes, source).map_err(|e| {
            one(format!(
                "{e} (devices refuse it with `{}`; sign it again with --channel {})",
                e.code(),
                mandate::trust::header::Channel::for_source(source)
            ))
        })?;
    }
    let envelope =
        mandate::trust::envelope::Envelope::parse(bytes).map_err(|e| one(e.to_string()))?;
    let payload = envelope.unverified_payload();
    let header = mandate::trust::header::PolicyHeader::parse(payload)
        .map_err(|e| one(e.to_string()))?
        .ok_or_else(|| one("the payload has no [policy] header".into()))?
        .require_signed_fields()
        .map_err(|e| one(e.to_string()))?;
    // Lines in the payload, named as `show` names them: `FILE [id vN]:LINE:COL`.
    let payload_origin = Location::new(origin).in_bundle(header.id, header.version);
    let text = mandate::loader::utf8(&payload_origin, payload)?;
    Layer::parse_policy(schema, SourceKind::System, &payload_origin, text).map(drop)
}

/// A document whose top-level tables are `policy`, `settings` or `requirements`.
fn is_policy_document(text: &str) -> bool {
    let Some(keys) = mandate::document::top_level_keys(text) else {
        // Let the real parser report the syntax error with its position.
        return true;
    };
    keys.iter()
        .any(|k| matches!(k.as_str(), "policy" | "settings" | "requirements"))
}

/// One file's result, as `validate --json` prints it.
#[derive(serde::Serialize)]
struct Validated {
    file: String,
    ok: bool,
    /// Each with `location`, `at`, `key` and `message`.
    problems: Option<Vec<Problem>>,
}

/// Validates every file; exit 1 on any problem.
pub fn run(globals: &Globals, args: &ValidateArgs) -> Result<ExitCode, CliError> {
    let resolver = Resolver::with_schema_file(globals.options())?;
    let mut failed = 0;
    let mut all: Vec<Validated> = Vec::new();
    for file in &args.files {
        let result = validate_file(resolver.schema(), file);
        if globals.json {
            all.push(Validated {
                file: file.display().to_string(),
                ok: result.is_ok(),
                problems: result.as_ref().err().map(|e| e.0.clone()),
            });
        }
        match result {
            Ok(()) => {
                if !globals.json {
                    output::out(&format!("{}: ok", file.display()));
                }
                // A policy whose own [settings] break its own [requirements].
                if let Ok(text) = std::fs::read_to_string(file)
                    && !text.trim_start().starts_with('{')
                    && is_policy_document(&text)
                {
                    let origin = file.display().to_string();
                    for warning in super::trust::self_conflicts(resolver.schema(), &origin, &text) {
                        output::error(&format!("warning: {warning}"));
                    }
                }
            }
            Err(errors) => {
                failed += 1;
                if !globals.json {
                    output::out(&errors.to_string());
                }
            }
        }
    }
    if globals.json {
        output::json(&all)?;
    }
    if failed > 0 {
        output::error(&format!(
            "{failed} of {} files have problems",
            args.files.len()
        ));
        return Ok(ExitCode::from(EXIT_NO));
    }
    Ok(ExitCode::SUCCESS)
}
