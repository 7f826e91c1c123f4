//! Checks before a file lands, and reading what a bundle says:
//! `mandate verify --machine FILE` and `mandate cat TARGET`.
//!
//! `verify --machine` answers "would this file be accepted where it is about
//! to be installed?" with the machine's own trust root (pinned, rotated,
//! or delivered by MDM) and its rollback state, exactly as resolution would
//! see them, and writes nothing: it is meant for Ansible's `validate:` and a
//! Jamf pre-flight script.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use mandate::error::{DocumentErrors, Problem};
use mandate::mdm::PolicyPayload;
use mandate::source::ManagedSource;
use mandate::trust::header::{Channel, PolicyHeader};
use mandate::trust::root::TrustRoot;
use mandate::trust::state::RollbackState;
use mandate::trust::{
    Expiry, ManagedDocument, Verification, VerifiedBundle, VerifiedPayload, verify_managed_with,
};
use mandate::{Environment, Layer, Location, Resolver, Schema, SourceKind};
use serde_json::json;
use time::OffsetDateTime;

use crate::error::EXIT_NO;
use crate::{CliError, Globals, output};

/// What a candidate file holds, once read.
enum Candidate {
    /// A signed bundle (from a `.bundle` file or a plist's `Policy` key).
    Bundle(Vec<u8>),
    /// A plain policy document.
    Plain(String),
    /// A managed preferences plist with native settings only.
    Native,
}

/// The machine's verdict on one file.
struct Verdict {
    source: ManagedSource,
    outcome: Result<Accepted, Refusal>,
}

/// What was accepted.
enum Accepted {
    Bundle(Box<VerifiedBundle>),
    Unsigned(String),
}

/// Why a file would be refused: a stable code, a sentence, and for a
/// policy that does not fit the schema each problem at its location.
struct Refusal {
    code: String,
    reason: String,
    problems: Vec<Problem>,
}

impl Refusal {
    fn new(code: &str, reason: impl Into<String>) -> Refusal {
        Refusal {
            code: code.to_owned(),
            reason: reason.into(),
            problems: Vec::new(),
        }
    }

    /// `policy-invalid`, with every problem.
    fn invalid(errors: DocumentErrors) -> Refusal {
        Refusal {
            code: "policy-invalid".to_owned(),
            reason: errors.to_string(),
            problems: errors.0,
        }
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, CliError> {
    let meta =
        std::fs::metadata(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(CliError::usage(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    if meta.len() > mandate::fsafe::MAX_MANAGED_SIZE {
        return Err(CliError::no(format!(
            "{}: {} bytes, more than the {}-byte limit for managed files",
            path.display(),
            meta.len(),
            mandate::fsafe::MAX_MANAGED_SIZE
        )));
    }
    std::fs::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

fn is_plist(path: &Path, bytes: &[u8]) -> bool {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(extension, "plist" | "mobileconfig") || bytes.starts_with(b"bplist")
}

/// Reads a candidate file: a bundle, a policy document, or a managed
/// preferences plist (or a profile whose payload is one).
fn candidate(
    schema: &Schema,
    domain: &str,
    path: &Path,
    bytes: &[u8],
) -> Result<Candidate, Refusal> {
    let origin = path.display().to_string();
    if is_plist(path, bytes) {
        let plist_bytes = if path.extension().and_then(|e| e.to_str()) == Some("mobileconfig") {
            let profile = mandate::mdm::parse_profile(bytes)
                .map_err(|e| Refusal::new("profile-invalid", e.to_string()))?;
            profile_preferences(&profile, domain)?
        } else {
            bytes.to_vec()
        };
        let content =
            mandate::mdm::read_managed_plist(schema, SourceKind::Mdm, &origin, &plist_bytes)
                .map_err(Refusal::invalid)?;
        return Ok(match content.policy {
            Some(PolicyPayload::Bundle(b)) => Candidate::Bundle(b),
            Some(PolicyPayload::Document(text)) => Candidate::Plain(text),
            None => Candidate::Native,
        });
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Candidate::Bundle(bytes.to_vec()));
    }
    let text = mandate::loader::utf8(&origin, bytes).map_err(Refusal::invalid)?;
    Layer::parse_policy(schema, SourceKind::System, &origin, text).map_err(Refusal::invalid)?;
    Ok(Candidate::Plain(text.to_owned()))
}

/// The managed preferences a profile forces for `domain`, as macOS would
/// write them (later payloads win), as a binary plist.
fn profile_preferences(profile: &mandate::mdm::Profile, domain: &str) -> Result<Vec<u8>, Refusal> {
    let mut merged = plist::Dictionary::new();
    let mut found = false;
    for payload in profile.payloads.iter().filter(|p| p.enabled) {
        for (d, prefs) in &payload.domains {
            if d == domain {
                found = true;
                for (k, v) in &prefs.forced {
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
    }
    if !found {
        return Err(Refusal::new(
            "profile-invalid",
            format!("the profile sets no preferences for the domain {domain}"),
        ));
    }
    let mut out = Vec::new();
    plist::to_writer_binary(&mut out, &plist::Value::Dictionary(merged))
        .map_err(|e| Refusal::new("profile-invalid", e.to_string()))?;
    Ok(out)
}

/// The source a file is meant for: as given, else its header's channel.
fn source_for(
    given: Option<ManagedSource>,
    path: &Path,
    bytes: &[u8],
    c: &Candidate,
) -> ManagedSource {
    if let Some(source) = given {
        return source;
    }
    if is_plist(path, bytes) {
        return ManagedSource::Mdm;
    }
    let payload: &[u8] = match c {
        Candidate::Bundle(b) => match mandate::trust::envelope::Envelope::parse(b) {
            Ok(envelope) => return channel_source(&envelope_channel(&envelope)),
            Err(_) => b,
        },
        Candidate::Plain(text) => text.as_bytes(),
        Candidate::Native => return ManagedSource::Mdm,
    };
    channel_source(
        &PolicyHeader::parse(payload)
            .ok()
            .flatten()
            .and_then(|h| h.channel),
    )
}

fn envelope_channel(envelope: &mandate::trust::envelope::Envelope) -> Option<Channel> {
    PolicyHeader::parse(envelope.unverified_payload())
        .ok()
        .flatten()
        .and_then(|h| h.channel)
}

fn channel_source(channel: &Option<Channel>) -> ManagedSource {
    match channel {
        Some(Channel::Cloud) => ManagedSource::Cloud,
        Some(Channel::Mdm) => ManagedSource::Mdm,
        _ => ManagedSource::System,
    }
}

/// Verifies a candidate against a trust root and rollback state, and checks
/// the payload against the schema; an accepted bundle past its offline grace
/// is refused too, since it would hold every setting at its lockdown value.
fn judge(
    schema: &Schema,
    origin: &str,
    candidate: Candidate,
    source: ManagedSource,
    root: Option<&TrustRoot>,
    state: &RollbackState,
    now: OffsetDateTime,
) -> Result<Accepted, Refusal> {
    let (document, bytes) = match &candidate {
        Candidate::Bundle(b) => (true, b.as_slice()),
        Candidate::Plain(text) => (false, text.as_bytes()),
        Candidate::Native => (false, &[][..]),
    };
    let document = if document {
        ManagedDocument::Bundle(bytes)
    } else {
        ManagedDocument::Plain
    };
    // The layer is built from the payload as verification parsed it.
    let read = |payload: &VerifiedPayload<'_>| {
        let header = payload.header;
        let payload_origin = Location::new(origin).in_bundle(header.id.clone(), header.version);
        Layer::from_payload(schema, source.kind(), payload_origin, payload).map(drop)
    };
    match verify_managed_with(document, root, source, now, state, read) {
        Verification::Verified((bundle, layer)) => {
            layer.map_err(Refusal::invalid)?;
            if let Expiry::PastGrace { .. } = bundle.expiry {
                return Err(Refusal::new(
                    "past-grace",
                    format!(
                        "policy {} v{} expired at {} and its offline grace is over: the machine would hold every setting at its lockdown value; sign a new version",
                        bundle.header.id,
                        bundle.header.version,
                        crate::commands::trust::rfc3339(bundle.header.expires)
                    ),
                ));
            }
            Ok(Accepted::Bundle(Box::new(bundle)))
        }
        Verification::Unsigned(reason) => Ok(Accepted::Unsigned(reason.to_string())),
        Verification::Rejected(e) => Err(Refusal::new(e.code(), e.to_string())),
    }
}

/// `mandate verify --machine FILE`: would this machine accept FILE?
pub fn verify_machine(
    globals: &Globals,
    file: &Path,
    given: Option<ManagedSource>,
    trust: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let resolver = Resolver::with_schema_file(globals.options())?;
    let env = Environment::capture();
    let bytes = read_bounded(file)?;
    let origin = file.display().to_string();
    let (admission, scratch) = resolver.admission(&env)?;
    // A trust root given with --trust stands in for the machine's (with the
    // machine's rollback state), to check before a rotation lands.
    let given_root = match trust {
        Some(path) => Some(
            TrustRoot::verify_self(&read_bounded(path)?, env.now)
                .map_err(|e| CliError::no(format!("{}: {e}", path.display())))?,
        ),
        None => None,
    };
    let root = given_root.as_ref().or(admission.root.as_ref());
    let verdict = match candidate(resolver.schema(), &globals.domain, file, &bytes) {
        Err(refusal) => Verdict {
            source: given.unwrap_or(ManagedSource::System),
            outcome: Err(refusal),
        },
        Ok(c) => {
            let source = source_for(given, file, &bytes, &c);
            let outcome = if root.is_none() && scratch.is_degraded_by_trust() {
                Err(Refusal::new(
                    "trust-root-unusable",
                    scratch.trust_problem().unwrap_or_default(),
                ))
            } else {
                judge(
                    resolver.schema(),
                    &origin,
                    c,
                    source,
                    root,
                    &admission.state,
                    admission.now,
                )
            };
            Verdict { source, outcome }
        }
    };
    report(globals, &origin, root, &verdict)
}

trait TrustProblem {
    fn is_degraded_by_trust(&self) -> bool;
    fn trust_problem(&self) -> Option<String>;
}

impl TrustProblem for mandate::resolve::Stack {
    /// Admission recorded an error: a trust root or state that was refused.
    fn is_degraded_by_trust(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == mandate::resolve::Severity::Error)
    }

    fn trust_problem(&self) -> Option<String> {
        self.diagnostics
            .iter()
            .find(|d| d.severity == mandate::resolve::Severity::Error)
            .map(|d| d.message.clone())
    }
}

/// `verify --machine --json`.
#[derive(serde::Serialize)]
struct MachineVerdict<'a> {
    file: &'a str,
    source: ManagedSource,
    accepted: bool,
    trust_root_version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bundle: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    /// Each problem of a policy that does not fit the schema, at its location.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    problems: &'a [Problem],
}

fn report(
    globals: &Globals,
    origin: &str,
    root: Option<&TrustRoot>,
    verdict: &Verdict,
) -> Result<ExitCode, CliError> {
    let root_version = root.map(TrustRoot::version);
    if globals.json {
        let mut value = MachineVerdict {
            file: origin,
            source: verdict.source,
            accepted: verdict.outcome.is_ok(),
            trust_root_version: root_version,
            signed: None,
            bundle: None,
            code: None,
            reason: None,
            problems: &[],
        };
        match &verdict.outcome {
            Ok(Accepted::Bundle(b)) => {
                value.signed = Some(true);
                value.bundle = Some(bundle_json(b));
            }
            Ok(Accepted::Unsigned(reason)) => {
                value.signed = Some(false);
                value.reason = Some(reason);
            }
            Err(refusal) => {
                value.code = Some(&refusal.code);
                value.reason = Some(&refusal.reason);
                value.problems = &refusal.problems;
            }
        }
        output::json(&value)?;
    } else {
        let text = match &verdict.outcome {
            Ok(Accepted::Bundle(b)) => format!(
                "{origin}: accepted by this machine as {} policy\n  {} v{} for {}, expires {} ({})\n  trust root version {}",
                verdict.source,
                b.header.id,
                b.header.version,
                b.header.org,
                crate::commands::trust::rfc3339(b.header.expires),
                freshness_code(&b.expiry),
                b.root_version
            ),
            Ok(Accepted::Unsigned(reason)) => format!(
                "{origin}: accepted by this machine as {} policy, unsigned ({reason})",
                verdict.source
            ),
            Err(refusal) => format!("{origin}: refused [{}]: {}", refusal.code, refusal.reason),
        };
        output::out(&text);
    }
    Ok(if verdict.outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NO)
    })
}

/// A verified bundle as JSON, the same in `verify` and `verify --machine`.
pub fn bundle_json(b: &VerifiedBundle) -> serde_json::Value {
    json!({
        "id": b.header.id,
        "version": b.header.version,
        "org": b.header.org,
        "channel": b.header.channel.name(),
        "issued_at": crate::commands::trust::rfc3339(b.header.issued_at),
        "expires": crate::commands::trust::rfc3339(b.header.expires),
        "payload_sha256": b.sha256.to_hex(),
        "signers": b.signers.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "freshness": freshness_code(&b.expiry),
    })
}

fn freshness_code(expiry: &Expiry) -> &'static str {
    match expiry {
        Expiry::Fresh { .. } => "fresh",
        Expiry::InGrace { .. } => "in-grace",
        Expiry::PastGrace { .. } => "past-grace",
    }
}

/// `mandate cat`.
#[derive(Debug, Args)]
pub struct CatArgs {
    /// A bundle, policy file or managed preferences plist; a managed source
    /// (`cloud`, `mdm`, `mdm-user`: the file this machine reads for it); or a
    /// location as `show` prints it (`…/cloud/bundle [acme v3]:13:1`), whose
    /// line is marked.
    #[arg(value_name = "FILE|SOURCE|LOCATION")]
    pub target: String,
    /// Verify a bundle against this trust root instead of the machine's.
    #[arg(long, value_name = "trust.toml")]
    pub trust: Option<PathBuf>,
}

/// A target split into a path and the line a location points at.
fn parse_target(globals: &Globals, target: &str) -> Result<(PathBuf, Option<usize>), CliError> {
    let options = globals.options();
    let under_root = |logical: PathBuf| match &options.root {
        Some(root) => root.join(logical.strip_prefix("/").unwrap_or(&logical)),
        None => logical,
    };
    match target {
        "cloud" => {
            return Ok((
                under_root(mandate::cloud::bundle_path(options.platform)),
                None,
            ));
        }
        "mdm" => {
            return Ok((
                under_root(options.platform.mdm_plist(&options.domain)),
                None,
            ));
        }
        "mdm-user" => {
            let user = options
                .user
                .clone()
                .or_else(|| Environment::capture().user_name)
                .ok_or_else(|| CliError::usage("mdm-user needs a user: give --user NAME"))?;
            return Ok((
                under_root(options.platform.mdm_user_plist(&user, &options.domain)),
                None,
            ));
        }
        "system" => {
            return Err(CliError::usage(
                "the system source is a directory of files: name one (mandate sources lists them)",
            ));
        }
        _ => {}
    }
    if Path::new(target).exists() {
        return Ok((PathBuf::from(target), None));
    }
    // `PATH [id vN]:LINE:COL`, `PATH:LINE:COL` or `PATH:LINE`, as
    // locations are written (`PLIST > Policy …` for a document in a plist),
    // with any note on what became of the value (` (kept in lockdown)`).
    let mut rest = target;
    if rest.ends_with(')')
        && let Some(at) = rest.rfind(" (")
    {
        rest = &rest[..at];
    }
    let mut numbers = Vec::new();
    while let Some((head, tail)) = rest.rsplit_once(':') {
        match tail.parse::<usize>() {
            Ok(n) if numbers.len() < 2 => {
                numbers.push(n);
                rest = head;
            }
            _ => break,
        }
    }
    let line = numbers.last().copied();
    let path = match rest.rfind(" [") {
        Some(at) if rest.ends_with(']') => &rest[..at],
        _ => rest,
    };
    let path = path
        .strip_suffix(&format!(" > {}", mandate::mdm::POLICY_KEY))
        .unwrap_or(path);
    Ok((PathBuf::from(path), line))
}

/// `mandate cat`: the verified policy text of a bundle, with line numbers.
pub fn cat(globals: &Globals, args: &CatArgs) -> Result<ExitCode, CliError> {
    let resolver = Resolver::with_schema_file(globals.options())?;
    let (path, mark) = parse_target(globals, &args.target)?;
    let bytes = read_bounded(&path)?;
    let origin = path.display().to_string();
    let env = Environment::capture();
    let c = candidate(resolver.schema(), &globals.domain, &path, &bytes).map_err(|r| CliError {
        problems: r.problems,
        ..CliError::no(format!("{origin}: refused [{}]: {}", r.code, r.reason))
    })?;
    let (text, header) = match c {
        Candidate::Native => {
            return Err(CliError::no(format!(
                "{origin}: holds native Settings/Requirements and no policy document; `mandate show` reads them"
            )));
        }
        Candidate::Plain(text) => (text, "unsigned policy document".to_owned()),
        Candidate::Bundle(_) => {
            let (admission, _) = resolver.admission(&env)?;
            let given_root = match &args.trust {
                Some(p) => Some(
                    TrustRoot::verify_self(&read_bounded(p)?, env.now)
                        .map_err(|e| CliError::no(format!("{}: {e}", p.display())))?,
                ),
                None => None,
            };
            let root = given_root.as_ref().or(admission.root.as_ref());
            // Reading is not installing: the rollback state does not apply.
            let source = source_for(None, &path, &bytes, &c);
            let accepted = judge(
                resolver.schema(),
                &origin,
                c,
                source,
                root,
                &RollbackState::new(),
                env.now,
            );
            match accepted {
                Ok(Accepted::Bundle(b)) => {
                    let header = format!(
                        "{} v{}, verified against trust root version {}",
                        b.header.id, b.header.version, b.root_version
                    );
                    (b.text().to_owned(), header)
                }
                Ok(Accepted::Unsigned(_)) => unreachable_unsigned()?,
                Err(r) => {
                    return Err(CliError::no(format!(
                        "{origin}: refused [{}]: {}",
                        r.code, r.reason
                    ))
                    .hint("only verified policy text is printed; `mandate verify` says more"));
                }
            }
        }
    };
    if globals.json {
        return output::json(&json!({
            "file": origin,
            "about": header,
            "text": text,
        }))
        .map(|()| ExitCode::SUCCESS);
    }
    let lines: Vec<&str> = text.lines().collect();
    let width = lines.len().to_string().len();
    let mut out = format!("# {origin}: {header}\n");
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let marker = if mark == Some(n) { '>' } else { ' ' };
        out.push_str(&format!("{marker}{n:>width$} | {line}\n"));
    }
    output::out(&out);
    Ok(ExitCode::SUCCESS)
}

/// A bundle is never accepted as unsigned; say so rather than panic.
fn unreachable_unsigned() -> Result<(String, String), CliError> {
    Err(CliError::usage(
        "a bundle was accepted as unsigned; this is a defect, please report it",
    ))
}
