//! `show`, `get`, `explain`, `check`, `sources`, `schema`: reading the effective configuration.

use std::process::ExitCode;

use clap::Args;
use mandate::resolve::Effective;
use mandate::{Environment, Resolver};

use crate::error::{EXIT_DEGRADED, EXIT_NO};
use crate::{CliError, Globals, output, render};

/// `mandate show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Also list compliant values that lost to a higher-ranked layer.
    #[arg(long)]
    pub include_overridden: bool,
    /// Never touch the network. `show` never does: only `mandate sync`
    /// fetches, and resolution reads the verified cache. Accepted so scripts
    /// can say so.
    #[arg(long)]
    pub offline: bool,
}

/// `mandate get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The setting, such as sandbox.mode.
    pub key: String,
}

/// `mandate explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The setting, such as sandbox.mode.
    pub key: String,
}

/// `mandate check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The proposed value, as KEY=VALUE (VALUE is TOML, or a bare string).
    pub assignment: String,
}

/// Resolves with the global options.
pub fn resolve(globals: &Globals) -> Result<(Resolver, Effective), CliError> {
    let resolver = Resolver::with_schema_file(globals.options())?;
    let effective = resolver.resolve(&Environment::capture())?;
    Ok((resolver, effective))
}

fn status_code(effective: &Effective) -> ExitCode {
    if effective.is_degraded() {
        ExitCode::from(EXIT_DEGRADED)
    } else {
        ExitCode::SUCCESS
    }
}

fn report_degraded(effective: &Effective) {
    if effective.is_degraded() {
        output::error(
            "error: managed policy could not be applied as written (status: degraded); `mandate sources` says which source and why",
        );
    }
}

/// Prints the effective configuration; exit 3 when it is degraded.
pub fn show(globals: &Globals, args: &ShowArgs) -> Result<ExitCode, CliError> {
    let (_, mut effective) = resolve(globals)?;
    if !args.include_overridden {
        for report in effective.keys.values_mut() {
            report.overridden.clear();
            report.merged.clear();
        }
    }
    if globals.json {
        output::json(&effective)?;
    } else {
        output::out(&render::show_toml(&effective, args.include_overridden));
    }
    report_degraded(&effective);
    Ok(status_code(&effective))
}

fn known_key(resolver: &Resolver, key: &str) -> Result<(), CliError> {
    if resolver.schema().get(key).is_some() {
        return Ok(());
    }
    let mut e = CliError::usage(format!("unknown setting \"{key}\""));
    if let Some(s) = resolver.schema().suggest(key) {
        e = e.hint(format!("did you mean \"{s}\"?"));
    }
    Err(e.hint("`mandate schema` lists every setting"))
}

/// Prints one value: TOML (or JSON with --json); exit 1 when unset.
pub fn get(globals: &Globals, args: &GetArgs) -> Result<ExitCode, CliError> {
    let (resolver, effective) = resolve(globals)?;
    known_key(&resolver, &args.key)?;
    let Some(value) = effective.get(&args.key) else {
        return Err(CliError::no(format!("{} is unset", args.key)));
    };
    if globals.json {
        output::json(value)?;
    } else if let Some(s) = value.as_str() {
        output::out(s);
    } else {
        output::out(&render::toml_value(value));
    }
    report_degraded(&effective);
    Ok(status_code(&effective))
}

/// Explains one setting.
pub fn explain(globals: &Globals, args: &ExplainArgs) -> Result<ExitCode, CliError> {
    let (resolver, effective) = resolve(globals)?;
    known_key(&resolver, &args.key)?;
    let report = effective.keys.get(&args.key);
    if globals.json {
        output::json(&serde_json::json!({
            "key": args.key,
            "status": effective.status,
            "report": report,
            "requirements": report.map(|r| &r.constraint_lines),
            "diagnostics": effective.diagnostics.iter().filter(|d| d.key.as_deref() == Some(args.key.as_str())).collect::<Vec<_>>(),
        }))?;
    } else {
        let setting = resolver
            .schema()
            .get(&args.key)
            .ok_or_else(|| CliError::usage(format!("unknown setting \"{}\"", args.key)))?;
        output::out(&render::explain(&effective, &args.key, setting, report));
    }
    report_degraded(&effective);
    Ok(status_code(&effective))
}

/// Checks whether a value would be accepted, by resolving with it as a session value.
pub fn check(globals: &Globals, args: &CheckArgs) -> Result<ExitCode, CliError> {
    let Some((key, _)) = args.assignment.split_once('=') else {
        return Err(CliError::usage(
            "expected KEY=VALUE, such as sandbox.mode=read-only",
        ));
    };
    let key = key.trim().to_owned();
    // The value asked about replaces any `-c` for the same key.
    let mut with = globals.clone();
    with.config
        .retain(|c| c.split_once('=').is_none_or(|(k, _)| k.trim() != key));
    with.config.push(args.assignment.clone());
    let (resolver, effective) = match resolve(&with) {
        Ok(r) => r,
        // A value of the wrong type is a "no", not a usage error.
        Err(e) if e.code == crate::error::EXIT_USAGE && !e.message.contains("unknown setting") => {
            return Err(CliError { code: EXIT_NO, ..e });
        }
        Err(e) => return Err(e),
    };
    known_key(&resolver, &key)?;
    let refusals: Vec<_> = effective
        .keys
        .get(&key)
        .map(|r| {
            r.rejected
                .iter()
                .filter(|x| x.source == "session")
                .collect()
        })
        .unwrap_or_default();
    if refusals.is_empty() {
        if globals.json {
            output::json(&serde_json::json!({ "key": key, "accepted": true }))?;
        } else {
            output::out(&format!("accepted: {}", args.assignment));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if globals.json {
        output::json(&serde_json::json!({ "key": key, "accepted": false, "refused": refusals }))?;
    } else {
        let mut text = format!("refused: {}", args.assignment);
        for r in &refusals {
            let value = render::toml_value(&r.value);
            if r.reason.contains(&value) {
                text.push_str(&format!("\n  {}", r.reason));
            } else {
                text.push_str(&format!("\n  {value} {}", r.reason));
            }
            if let Some(c) = &r.constraint {
                text.push_str(&format!(
                    "\n  constraint `{}` set by {} at {}",
                    c.op, c.source, c.location
                ));
            }
        }
        output::out(&text);
    }
    Ok(ExitCode::from(EXIT_NO))
}

/// Lists every source.
pub fn sources(globals: &Globals) -> Result<ExitCode, CliError> {
    let (_, effective) = resolve(globals)?;
    if globals.json {
        output::json(&serde_json::json!({
            "domain": effective.domain,
            "status": effective.status,
            "root": effective.root,
            "trust": effective.trust,
            "sources": effective.sources,
            "diagnostics": effective.diagnostics,
        }))?;
    } else {
        let t = &effective.trust;
        let trust_line = match t.mode.as_str() {
            "signed" => format!(
                "trust root: {} (version {}, expires {})",
                t.location,
                t.version.map_or("?".into(), |v| v.to_string()),
                t.expires.as_deref().unwrap_or("never")
            ),
            mode => format!(
                "trust root: {} ({mode} mode){}",
                t.location,
                t.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        };
        output::out(&render::sources(&effective, &trust_line));
    }
    report_degraded(&effective);
    Ok(status_code(&effective))
}

/// Prints the schema.
pub fn schema(globals: &Globals) -> Result<ExitCode, CliError> {
    let resolver = Resolver::with_schema_file(globals.options())?;
    output::json(resolver.schema().raw())?;
    Ok(ExitCode::SUCCESS)
}
