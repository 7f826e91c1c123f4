//! `publish` and `sync`: the cloud channel.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mandate::cloud::{
    self, Previous, PublishCheck, PublishOptions, Standing, SyncChange, SyncError, SyncOptions,
};
use mandate::json;
use mandate::resolve::Effective;
use mandate::trust::Expiry;
use mandate::trust::root::TrustRoot;
use mandate::value::Value;
use mandate::{Environment, Resolver};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::EXIT_DEGRADED;
use crate::{CliError, Globals, output, render};

/// `mandate publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The signed bundle (made by `mandate sign`, channel `cloud`).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// The directory to lay the static tree out in (created if missing).
    #[arg(short = 'o', long = "output", alias = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Verify the bundle against this trust root first (recommended).
    #[arg(long, value_name = "TRUST_TOML")]
    pub trust: Option<PathBuf>,
    /// Replace a published bundle with an older version (or the same version
    /// with other bytes); devices that applied the newer one will refuse it.
    #[arg(long)]
    pub allow_older: bool,
}

/// `mandate sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Trust only the CA certificates in this PEM file for the cloud URL
    /// (instead of the trust root's [cloud] ca, or the system roots).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Fetch from this URL instead of the trust root's [cloud] url. Only
    /// honoured together with --root (tests and demos): on a real machine the
    /// URL comes from the signed trust root and nothing else.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Seconds allowed to connect (TCP and TLS).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Seconds allowed for one attempt, from connecting to the last byte.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,
    /// Retries after a transient failure (network errors, 408, 429, 5xx).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub retries: u32,
}

fn rfc3339(at: OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// Lays a signed bundle out for any static web server, bucket or CDN.
pub fn publish(globals: &Globals, args: &PublishArgs) -> Result<ExitCode, CliError> {
    let env = Environment::capture();
    let bundle = std::fs::read(&args.bundle)
        .map_err(|e| CliError::usage(format!("{}: {e}", args.bundle.display())))?;
    let trust = match &args.trust {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
            Some(
                TrustRoot::verify_self(&bytes, env.now)
                    .map_err(|e| CliError::no(format!("{}: {e}", path.display())))?,
            )
        }
        None => None,
    };
    let options = PublishOptions {
        trust: trust.as_ref(),
        now: env.now,
        allow_older: args.allow_older,
    };
    let published = cloud::publish(&bundle, &args.out, &options).map_err(|e| {
        let error = CliError::no(format!("{}: {e}", args.bundle.display()));
        match e {
            cloud::PublishError::Io { .. } => CliError {
                code: EXIT_DEGRADED,
                ..error
            },
            _ => error,
        }
    })?;
    let header = &published.header;
    let (content_type, cache_control) = cloud::CONTENT_TYPES
        .first()
        .map_or(("", ""), |(_, t, c)| (*t, *c));
    if globals.json {
        output::json(&json!({
            "path": published.path,
            "url_path": published.url_path,
            "org": header.org,
            "channel": header.channel,
            "id": header.id,
            "version": header.version,
            "issued_at": rfc3339(header.issued_at),
            "expires": rfc3339(header.expires),
            "verified": match &published.check {
                PublishCheck::Verified { signers, root_version } => json!({
                    "trust_root_version": root_version,
                    "signers": signers.iter().map(ToString::to_string).collect::<Vec<_>>(),
                }),
                PublishCheck::Unverified => Value::Null,
            },
            "previous": match &published.previous {
                Previous::Nothing => json!("nothing"),
                Previous::Same => json!("same"),
                Previous::Replaced { version } => json!({ "replaced_version": version }),
            },
            "content_type": content_type,
            "cache_control": cache_control,
            "index": published.index,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let what = match &published.previous {
        Previous::Nothing => "published".to_owned(),
        Previous::Same => "already published (unchanged, the file was left alone)".to_owned(),
        Previous::Replaced { version: Some(v) } => format!("published (replacing version {v})"),
        Previous::Replaced { version: None } => {
            "published (replacing an unreadable file)".to_owned()
        }
    };
    let check = match &published.check {
        PublishCheck::Verified {
            signers,
            root_version,
        } => format!(
            "verified against trust root version {root_version}, signed by {}",
            signers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        PublishCheck::Unverified => {
            "NOT verified: pass --trust trust.toml to check it as devices will".to_owned()
        }
    };
    output::out(&format!(
        "{what}: {} version {} for org {} (expires {})\n  {check}\n  file:  {}\n  serve: <base URL>/{} as {content_type}, Cache-Control: {cache_control}, no compression\n  index: {} ({} bundle{})",
        header.id,
        header.version,
        header.org,
        rfc3339(header.expires),
        published.path.display(),
        published.url_path,
        published.index.display(),
        published.indexed,
        if published.indexed == 1 { "" } else { "s" },
    ));
    Ok(ExitCode::SUCCESS)
}

/// `sync --json` when the sync failed: what stays in force, as `sources` reports it.
#[derive(serde::Serialize)]
struct SyncFailed<'a> {
    status: &'a str,
    url: &'a str,
    error: Value,
    in_force: &'a mandate::resolve::SourceReport,
    changed_keys: Value,
    root: Option<&'a std::path::Path>,
    machine_status: Option<&'a str>,
}

/// Fetches the cloud bundle, verifies it and replaces the cache; prints what
/// changed. Exit 0 when refreshed or unchanged, 3 when the cache could not
/// be refreshed (the last known good copy stays in force).
pub fn sync(globals: &Globals, args: &SyncArgs) -> Result<ExitCode, CliError> {
    if args.url.is_some() && globals.root.is_none() {
        return Err(CliError::usage(
            "--url is only honoured together with --root: on a real machine the URL comes from the signed trust root's [cloud] url",
        ));
    }
    let env = Environment::capture();
    let now = env.now;
    let resolver = Resolver::with_schema_file(globals.options())?;
    let platform = resolver.options().platform;
    let tree = resolver.tree()?;
    // The trust root in force, exactly as resolution admits it: the pinned
    // copy, or a verified rotation of it (never an unverified trust.toml).
    let (admission, scratch) = resolver.admission(&env)?;
    let Some(root) = admission.root else {
        let reason = scratch
            .diagnostics
            .iter()
            .find(|d| d.severity == mandate::resolve::Severity::Error)
            .map(|d| d.message.clone())
            .or(scratch.trust.reason.clone())
            .unwrap_or_default();
        return Err(CliError::degraded(format!(
            "no verified trust root at {}: `mandate sync` only fetches what a verified trust root names ({reason})",
            tree.real(&platform.trust_root()).display()
        ))
        .hint("install trust.toml (see `mandate trust init`) with a [cloud] section; `mandate sources` shows the state of the trust root"));
    };
    // Read again, strictly: a malformed state must stop the sync rather than
    // restart rollback protection from nothing.
    let mut state =
        cloud::load_state(&tree, platform).map_err(|e| CliError::degraded(e.to_string()))?;
    let mut options = match (SyncOptions::from_trust_root(&root, &tree, &env), &args.url) {
        (Ok(mut options), Some(url)) => {
            options.url = url.clone();
            options
        }
        (Ok(options), None) => options,
        (Err(_), Some(url)) => SyncOptions {
            proxy: env.https_proxy.clone().filter(|p| !p.is_empty()),
            ..SyncOptions::new(url.clone())
        },
        (Err(e), None) => return Err(CliError::degraded(e.to_string())),
    };
    if let Some(ca) = &args.ca_file {
        options.ca_file = Some(ca.clone());
    }
    options.connect_timeout = std::time::Duration::from_secs(args.connect_timeout);
    options.timeout = std::time::Duration::from_secs(args.timeout);
    options.retries = args.retries;
    // Progress for people watching: on a terminal only, on stderr.
    let watching = std::io::IsTerminal::is_terminal(&std::io::stderr());
    if watching {
        options.on_retry = Some(cloud::OnRetry(tell_retry));
        output::error(&format!(
            "sync: fetching {} (up to {} attempts)",
            options.url,
            options.retries.saturating_add(1)
        ));
    }

    let before = resolver.resolve(&env).ok();
    let result = cloud::sync(&options, &tree, platform, &root, &mut state, now);
    let after = resolver.resolve(&env).ok();
    crate::commands::decide::after_operation(
        globals,
        &resolver,
        "sync",
        after.as_ref(),
        json!({ "succeeded": result.is_ok() }),
    );
    let changed = changed_keys(before.as_ref(), after.as_ref());
    let under_root = globals
        .root
        .as_ref()
        .map(|r| format!(" (paths under --root {})", r.display()))
        .unwrap_or_default();

    match result {
        Ok(outcome) => {
            let bundle = &outcome.bundle;
            let (status, line) = match &outcome.change {
                SyncChange::Updated { from: Some(from) } => (
                    "updated",
                    format!(
                        "updated: {} version {} → {} ({} bytes from {})",
                        bundle.id, from.version, bundle.version, outcome.body_bytes, outcome.url
                    ),
                ),
                SyncChange::Updated { from: None } => (
                    "installed",
                    format!(
                        "installed: {} version {} ({} bytes from {}{})",
                        bundle.id,
                        bundle.version,
                        outcome.body_bytes,
                        outcome.url,
                        if outcome.replaced_refused.is_some() {
                            ", replacing a refused cache"
                        } else {
                            ""
                        }
                    ),
                ),
                SyncChange::NotModified => (
                    "not-modified",
                    format!(
                        "unchanged: {} version {} (304 Not Modified from {})",
                        bundle.id, bundle.version, outcome.url
                    ),
                ),
                SyncChange::Unchanged => (
                    "unchanged",
                    format!(
                        "unchanged: {} version {} (same bytes from {})",
                        bundle.id, bundle.version, outcome.url
                    ),
                ),
            };
            let expiry = match bundle.expiry {
                Expiry::Fresh { expires } => {
                    format!(
                        "expires {} (in {})",
                        rfc3339(expires),
                        cloud::human_duration(expires - now)
                    )
                }
                Expiry::InGrace { expired, left } => format!(
                    "EXPIRED at {}; in force for {} more of offline grace: publish a fresh bundle",
                    rfc3339(expired),
                    cloud::human_duration(left)
                ),
                Expiry::PastGrace { expired, .. } => format!(
                    "EXPIRED at {} and past its offline grace: settings are held at their lockdown values until a fresh bundle is published",
                    rfc3339(expired)
                ),
            };
            if globals.json {
                output::json(&json!({
                    "status": status,
                    "url": outcome.url,
                    "from": match &outcome.change {
                        SyncChange::Updated { from: Some(from) } => json!({ "id": from.id, "version": from.version }),
                        _ => Value::Null,
                    },
                    "bundle": {
                        "id": bundle.id,
                        "version": bundle.version,
                        "issued_at": rfc3339(bundle.issued_at),
                        "expires": rfc3339(bundle.expires),
                        "payload_sha256": bundle.sha256.to_hex(),
                    },
                    "attempts": outcome.attempts,
                    "body_bytes": outcome.body_bytes,
                    "etag": outcome.etag,
                    "changed_keys": changed_json(&changed),
                    "root": globals.root,
                    "machine_status": after.as_ref().map(render::status_name),
                }))?;
            } else {
                let mut text = format!("{line}{under_root}\n  {expiry}\n");
                if outcome.attempts > 1 {
                    text.push_str(&format!("  after {} attempts\n", outcome.attempts));
                }
                if let Some(reason) = &outcome.replaced_refused {
                    text.push_str(&format!(
                        "  the previous cached copy had been refused: {reason}\n"
                    ));
                }
                text.push_str(&render_changes(&changed));
                text.push_str(&machine_line(after.as_ref()));
                output::prose(&text);
            }
            if after.as_ref().is_some_and(Effective::is_degraded) {
                return Ok(ExitCode::from(EXIT_DEGRADED));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            let state = cloud::load_state(&tree, platform).unwrap_or_default();
            let cached = cloud::read_cached(&tree, platform, Some(&root), &state, now);
            let in_force = match (cached.standing(), cached.bundle()) {
                (Standing::InForce, Some(b)) => format!(
                    "the last known good copy stays in force: {} version {}{}",
                    b.header.id,
                    b.header.version,
                    cached
                        .meta
                        .as_ref()
                        .and_then(|m| m.fetched_at.as_deref())
                        .map(|at| format!(", fetched at {at}"))
                        .unwrap_or_default()
                ),
                (Standing::Absent, _) => "no cloud policy is cached: nothing from the cloud is in force".to_owned(),
                _ => "the cached copy does not count either: settings are held at their lockdown values".to_owned(),
            };
            if globals.json {
                let report = cached.source_report();
                output::json(&SyncFailed {
                    status: "failed",
                    url: &options.url,
                    error: json!({ "code": error.code(), "message": error.to_string() }),
                    in_force: &report,
                    changed_keys: changed_json(&changed),
                    root: globals.root.as_deref(),
                    machine_status: after.as_ref().map(render::status_name),
                })?;
            }
            let mut failure = CliError::degraded(format!("sync failed{under_root}: {error}"))
                .hint(in_force)
                .hint(machine_line(after.as_ref()));
            if let Some(hint) = hint_for(&error) {
                failure = failure.hint(hint);
            }
            if globals.json {
                failure = failure.json_printed();
            }
            Err(failure)
        }
    }
}

/// One line per retry: which attempt failed, why, and when the next is.
fn tell_retry(retry: &cloud::Retry) {
    output::error(&format!(
        "sync: attempt {} of {} failed: {}; next attempt in {}",
        retry.attempt,
        retry.attempts,
        retry.error,
        cloud::human_duration(
            time::Duration::try_from(retry.wait).unwrap_or(time::Duration::ZERO)
                + time::Duration::milliseconds(999)
        )
    ));
}

/// The machine's overall status after a sync, for people: a sync that
/// succeeded on a machine that stays degraded must not read as success.
fn machine_line(after: Option<&Effective>) -> String {
    match after {
        Some(e) if e.is_degraded() => format!(
            "machine: {} — managed policy is still not applied as written{}; `mandate sources` says which source and why",
            render::status_name(e),
            e.diagnostics
                .iter()
                .find(|d| d.severity == mandate::resolve::Severity::Error)
                .map(|d| format!(" ({})", d.message))
                .unwrap_or_default()
        ),
        Some(e) => format!("machine: {} (digest {})", render::status_name(e), e.digest),
        None => "machine: unknown — the configuration could not be resolved; run `mandate doctor`"
            .to_owned(),
    }
}

fn hint_for(error: &SyncError) -> Option<&'static str> {
    match error.last() {
        SyncError::Refused { error, .. } if error.code().starts_with("rollback") => Some(
            "the server offers an older bundle than this device already applied; publish a higher version",
        ),
        SyncError::Tls { .. } => {
            Some("pass --ca-file or set [cloud] ca in the trust root for a private CA")
        }
        SyncError::ConnectionRefused { .. }
        | SyncError::Timeout { .. }
        | SyncError::Connect { .. } => Some("the next scheduled `mandate sync` will try again"),
        _ => None,
    }
}

/// `(key, before, after)` for every effective value that changed.
type Change = (String, Option<Value>, Option<Value>);

fn changed_keys(before: Option<&Effective>, after: Option<&Effective>) -> Vec<Change> {
    let (Some(before), Some(after)) = (before, after) else {
        return Vec::new();
    };
    let keys: BTreeSet<&String> = before.keys.keys().chain(after.keys.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let old = before.keys.get(key).map(|r| r.value.clone());
            let new = after.keys.get(key).map(|r| r.value.clone());
            (old != new).then(|| (key.clone(), old, new))
        })
        .collect()
}

fn changed_json(changed: &[Change]) -> Value {
    Value::Array(
        changed
            .iter()
            .map(|(key, old, new)| json!({ "key": key, "before": old, "after": new }))
            .collect(),
    )
}

fn render_changes(changed: &[Change]) -> String {
    if changed.is_empty() {
        return "  no effective setting changed\n".to_owned();
    }
    let show = |v: &Option<Value>| {
        v.as_ref()
            .map_or_else(|| "(unset)".to_owned(), render::toml_value)
    };
    let mut text = String::from("  effective settings changed:\n");
    for (key, old, new) in changed {
        text.push_str(&format!("    {key}: {} → {}\n", show(old), show(new)));
    }
    text
}
