//! `mandate doctor`: the health of the whole set-up, with fixes.

use std::process::ExitCode;

use mandate::resolve::{Severity, SourceStatus};
use mandate::{Environment, Resolver, SourceKind};
use serde::Serialize;

use crate::error::{EXIT_DEGRADED, EXIT_NO};
use crate::{CliError, Globals, output};

#[derive(Debug, Serialize)]
struct Finding {
    level: &'static str,
    what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

fn finding(level: &'static str, what: impl Into<String>, fix: Option<&str>) -> Finding {
    Finding {
        level,
        what: what.into(),
        fix: fix.map(str::to_owned),
    }
}

/// Runs every check; exit 0 when healthy (warnings are advice), 1 with errors, 3 when managed policy is not applied.
pub fn run(globals: &Globals) -> Result<ExitCode, CliError> {
    let resolver = Resolver::with_schema_file(globals.options())?;
    let env = Environment::capture();
    let effective = resolver.resolve(&env)?;
    let mut findings = Vec::new();
    let schema = resolver.schema();
    findings.push(finding(
        "ok",
        format!(
            "schema {} defines {} settings",
            schema.origin(),
            schema.settings().count()
        ),
        None,
    ));
    if let Some(root) = &effective.root {
        findings.push(finding(
            "info",
            format!("reading under --root {root}, not this machine's own paths"),
            None,
        ));
    }
    match effective.trust.mode.as_str() {
        "signed" => findings.push(finding(
            "ok",
            format!(
                "trust root {} version {} is in force",
                effective.trust.location,
                effective.trust.version.unwrap_or(0)
            ),
            None,
        )),
        "unsigned" => findings.push(finding(
            "warning",
            format!("unsigned mode: no trust root at {}; any root-owned policy file is accepted", effective.trust.location),
            Some("create one with `mandate trust init` and install it (see `man mandate-trust-init`)"),
        )),
        _ => findings.push(finding(
            "error",
            format!(
                "the trust root at {} is not in force: {}",
                effective.trust.location,
                effective.trust.reason.as_deref().unwrap_or("unknown reason")
            ),
            Some("reinstall a trust root signed by a threshold of root keys (`mandate trust verify` says what fails)"),
        )),
    }
    let managed_in_force = effective.sources.iter().any(|s| {
        s.name.is_managed()
            && matches!(
                s.status,
                SourceStatus::Loaded | SourceStatus::Verified | SourceStatus::Unsigned
            )
    });
    if !managed_in_force && !effective.is_degraded() {
        findings.push(finding(
            "warning",
            "no managed policy is in force: this machine is unmanaged",
            Some("install a policy in policy.d/, deploy a profile with your MDM, or configure the cloud URL"),
        ));
    }
    for s in &effective.sources {
        let reason = s.reason.clone().unwrap_or_default();
        match s.status {
            SourceStatus::Rejected if s.name.is_managed() => findings.push(finding(
                "error",
                format!("{} {} rejected: {reason}", s.name, s.location),
                Some("fix or remove the file; until then every setting is held at its lockdown value"),
            )),
            SourceStatus::Rejected => findings.push(finding(
                "warning",
                format!("{} {} skipped: {reason}", s.name, s.location),
                Some("fix the file (`mandate validate FILE` lists every problem)"),
            )),
            SourceStatus::Expired => findings.push(finding(
                "warning",
                format!("{} {} expired: {reason}", s.name, s.location),
                Some("publish a fresh version of the policy"),
            )),
            SourceStatus::Ignored if s.name == SourceKind::Project => {
                findings.push(finding("info", format!("{}: {reason}", s.location), None));
            }
            _ => {}
        }
        if let Some(expires) = &s.expires
            && let Ok(at) =
                time::OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
        {
            let left = at - env.now;
            if left.is_negative() {
                findings.push(finding(
                    "warning",
                    format!("{} {} expired at {expires}", s.name, s.location),
                    Some("publish a new version with a later `expires`"),
                ));
            } else if left < time::Duration::days(14) {
                findings.push(finding(
                    "warning",
                    format!(
                        "{} {} expires in {} days",
                        s.name,
                        s.location,
                        left.whole_days()
                    ),
                    Some("publish a new version with a later `expires`"),
                ));
            }
        }
    }
    for d in &effective.diagnostics {
        if d.code == "rejected-file" {
            continue; // already reported per source
        }
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        findings.push(finding(level, d.message.clone(), None));
    }
    for (level, what, fix) in crate::commands::agents::doctor_findings(
        &effective,
        &env,
        resolver.options().root.as_deref(),
        resolver.options().platform,
    ) {
        findings.push(Finding { level, what, fix });
    }
    if effective.is_degraded() {
        findings.push(finding(
            "error",
            "status degraded: managed policy is not applied as written; lockdown values or a last known good copy are in force",
            Some("fix the rejected sources above"),
        ));
    } else {
        findings.push(finding(
            "ok",
            format!("status ok, digest {}", effective.digest),
            None,
        ));
    }
    if globals.json {
        output::json(&findings)?;
    } else {
        let mut text = String::new();
        for f in &findings {
            let mark = match f.level {
                "ok" => "✓",
                "info" => "·",
                "warning" => "!",
                _ => "✗",
            };
            let mark = crate::style::status(crate::style::Stream::Out, mark);
            text.push_str(&format!("{mark} {}\n", f.what));
            if let Some(fix) = &f.fix {
                text.push_str(&format!("  fix: {fix}\n"));
            }
        }
        output::prose(&text);
    }
    if effective.is_degraded() {
        Ok(ExitCode::from(EXIT_DEGRADED))
    } else if findings.iter().any(|f| f.level == "error") {
        Ok(ExitCode::from(EXIT_NO))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
