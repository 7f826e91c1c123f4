//! `show`, `get`, `explain`, `check`, `sources`, `schema`: reading the effective configuration.

use std::process::ExitCode;

use clap::Args;
use mandate::resolve::{
    Detail, Diagnostic, Effective, KeyReport, Rejected, SourceReport, Status, TrustSummary,
};
use mandate::value::Value;
use mandate::{Environment, Resolver};
use serde::Serialize;

use crate::error::{EXIT_DEGRADED, EXIT_NO};
use crate::{CliError, Globals, output, render};

/// `mandate show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Only this setting or group of settings (e.g. `sandbox`).
    pub key: Option<String>,
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
    /// The setting, such as sandbox.mode, or a group such as sandbox.
    pub key: String,
}

/// `mandate explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The setting, such as sandbox.mode, or a group such as sandbox.
    pub key: String,
}

/// `mandate check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The proposed value: KEY=VALUE (VALUE is TOML, or a bare string), KEY+=ELEMENT for one
    /// element of a list setting, or KEY followed by VALUE or ELEMENT.
    pub assignment: String,
    /// With KEY alone: the value, or for a list setting one element (e.g.
    /// `check network.allowed_domains api.openai.com`).
    pub element: Option<String>,
}

/// `explain --json`: one setting, everything known about it. Diagnostics,
/// refusals and sources are the same structs as in `show --json`, so their
/// keys come in the same order.
#[derive(Serialize)]
struct ExplainJson<'e> {
    key: &'e str,
    status: Status,
    report: Option<&'e KeyReport>,
    requirements: Option<&'e Vec<String>>,
    allowed: Option<Vec<Value>>,
    schema_default: Option<&'e Value>,
    lockdown: Option<&'e Value>,
    diagnostics: Vec<&'e Diagnostic>,
    managed_by: Vec<super::audience::ManagedBy<'e>>,
}

/// `check --json`.
#[derive(Serialize)]
struct CheckJson<'e> {
    key: &'e str,
    accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<&'e [Rejected]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    managed_by: Option<Vec<super::audience::ManagedBy<'e>>>,
}

/// `sources --json`: the parts of `show --json` about sources.
#[derive(Serialize)]
struct SourcesJson<'e> {
    domain: &'e str,
    status: Status,
    root: Option<&'e str>,
    trust: &'e TrustSummary,
    sources: &'e [SourceReport],
    diagnostics: &'e [Diagnostic],
}

/// Resolves with the global options.
pub fn resolve(globals: &Globals) -> Result<(Resolver, Effective), CliError> {
    resolve_with(globals, Detail::Full)
}

/// [`resolve`], keeping only as much of what lost as `detail` says.
fn resolve_with(globals: &Globals, detail: Detail) -> Result<(Resolver, Effective), CliError> {
    let resolver = Resolver::with_schema_file(globals.options())?;
    let effective = resolver.resolve_with(&Environment::capture(), detail)?;
    Ok((resolver, effective))
}

fn status_code(effective: &Effective) -> ExitCode {
    if effective.is_degraded() {
        ExitCode::from(EXIT_DEGRADED)
    } else {
        ExitCode::SUCCESS
    }
}

fn report_degraded(globals: &Globals, effective: &Effective) {
    if !effective.is_degraded() {
        return;
    }
    output::error(
        "error: managed policy could not be applied as written (status: degraded); `mandate sources` says which source and why",
    );
    // The fix is the admin's: a developer is told so, and whom to tell.
    if !super::audience::is_admin(globals) {
        let contacts: Vec<&str> = effective
            .sources
            .iter()
            .filter_map(|s| s.contact.as_deref())
            .collect();
        output::error(&format!(
            "hint: agents are held at the strictest values until your organisation fixes its policy; tell {}",
            if contacts.is_empty() {
                "whoever administers this machine's agent policy".to_owned()
            } else {
                contacts.join(" or ")
            }
        ));
    }
}

/// Says on stderr what the printed values alone do not: a skipped user or
/// project file ([`report_skipped`]) and a degraded result.
fn report_problems(globals: &Globals, effective: &Effective) {
    report_skipped(effective);
    report_degraded(globals, effective);
}

/// Names each of the caller's own files (user, project) that was skipped:
/// its settings do not apply, which the values alone do not show.
fn report_skipped(effective: &Effective) {
    for d in effective
        .diagnostics
        .iter()
        .filter(|d| d.code == "skipped-file")
    {
        let file = d
            .location
            .as_ref()
            .map_or_else(|| "file".to_owned(), |l| format!("file {l}"));
        let source = d.source.map_or("", |s| s.name());
        output::error(&format!(
            "warning: your {source} {} is skipped until it is fixed, so its settings do not apply; `mandate sources` says why",
            render::safe(&file)
        ));
    }
}

/// Prints the effective configuration; exit 3 when it is degraded.
pub fn show(globals: &Globals, args: &ShowArgs) -> Result<ExitCode, CliError> {
    // What lost is printed only on request.
    let detail = if args.include_overridden {
        Detail::Full
    } else {
        Detail::Values
    };
    let (resolver, mut effective) = resolve_with(globals, detail)?;
    if let Some(key) = &args.key {
        let keys = group(&resolver, key)?;
        effective.keys.retain(|k, _| keys.contains(k));
    }
    if globals.json {
        output::json(&effective)?;
    } else {
        output::out(&render::show_toml(&effective, args.include_overridden));
    }
    report_problems(globals, &effective);
    let code = status_code(&effective);
    release_at_exit((resolver, effective));
    Ok(code)
}

/// Leaves a resolved machine to the end of the process: the command is done
/// with it, and the operating system takes the heap back at exit faster than
/// it is freed value by value (freeing 10,000 command rules costs more than
/// printing them).
pub(crate) fn release_at_exit<T>(resolved: T) {
    std::mem::forget(resolved);
}

/// The settings `key` names: itself, or every setting of the group.
fn group(resolver: &Resolver, key: &str) -> Result<Vec<String>, CliError> {
    let keys = super::settings::keys_of(resolver, key);
    if keys.is_empty() {
        known_key(resolver, key)?;
    }
    Ok(keys)
}

fn insert_nested(map: &mut mandate::value::Map, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            map.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = map
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(mandate::value::Map::new()));
            if let Value::Object(inner) = entry {
                insert_nested(inner, rest, value);
            }
        }
    }
}

fn known_key(resolver: &Resolver, key: &str) -> Result<(), CliError> {
    if resolver.schema().get(key).is_some() {
        return Ok(());
    }
    let mut e = CliError::usage(format!("unknown setting \"{key}\""));
    if let Some(s) = resolver.schema().suggest(key) {
        e = e.hint(format!("did you mean \"{s}\"?"));
    }
    Err(e.hint("`mandate settings` lists every setting"))
}

/// Prints one value: TOML (or JSON with --json); exit 1 when unset.
pub fn get(globals: &Globals, args: &GetArgs) -> Result<ExitCode, CliError> {
    let (resolver, effective) = resolve_with(globals, Detail::Values)?;
    let keys = group(&resolver, &args.key)?;
    if resolver.schema().get(&args.key).is_none() {
        // A group: its settings as a TOML table (or a JSON object).
        let mut table = mandate::value::Map::new();
        let mut lines = Vec::new();
        let prefix = format!("{}.", args.key);
        for key in &keys {
            if let Some(value) = effective.get(key) {
                let leaf = key.strip_prefix(&prefix).unwrap_or(key);
                insert_nested(&mut table, leaf, value.clone());
                lines.push(format!("{leaf} = {}", render::toml_value(value)));
            }
        }
        if table.is_empty() {
            return Err(CliError::no(format!(
                "every setting of {} is unset",
                args.key
            )));
        }
        if globals.json {
            output::json(&table)?;
        } else {
            output::out(&format!("[{}]\n{}", args.key, lines.join("\n")));
        }
        report_problems(globals, &effective);
        return Ok(status_code(&effective));
    }
    let Some(value) = effective.get(&args.key) else {
        report_skipped(&effective);
        return Err(CliError::no(format!("{} is unset", args.key)));
    };
    if globals.json {
        output::json(value)?;
    } else if let Some(s) = value.as_str() {
        output::out(s);
    } else {
        output::out(&render::toml_value(value));
    }
    report_problems(globals, &effective);
    let code = status_code(&effective);
    release_at_exit((resolver, effective));
    Ok(code)
}

/// Explains one setting, or each setting of a group.
pub fn explain(globals: &Globals, args: &ExplainArgs) -> Result<ExitCode, CliError> {
    let (resolver, effective) = resolve(globals)?;
    let keys = group(&resolver, &args.key)?;
    let mut texts = Vec::new();
    let mut docs = Vec::new();
    for key in &keys {
        let setting = resolver
            .schema()
            .get(key)
            .ok_or_else(|| CliError::usage(format!("unknown setting \"{key}\"")))?;
        let report = effective.keys.get(key);
        if globals.json {
            docs.push(ExplainJson {
                key,
                status: effective.status,
                report,
                requirements: report.map(|r| &r.constraint_lines),
                allowed: super::settings::admissible(globals, setting),
                schema_default: setting.default.as_ref(),
                lockdown: setting.lockdown.as_ref(),
                diagnostics: effective
                    .diagnostics
                    .iter()
                    .filter(|d| d.key.as_deref() == Some(key.as_str()))
                    .collect(),
                managed_by: super::audience::managing_json(
                    &report
                        .map(|r| super::audience::managing(&effective, r))
                        .unwrap_or_default(),
                ),
            });
        } else {
            let mut text = render::explain(&effective, key, setting, report);
            text.push_str(&super::settings::choices(
                globals, &effective, setting, report,
            ));
            if let Some(r) = report {
                let note =
                    super::audience::note(globals, &super::audience::managing(&effective, r));
                if !note.is_empty() {
                    text.push('\n');
                    text.push_str(&note);
                    text.push('\n');
                }
            }
            texts.push(text);
        }
    }
    if globals.json {
        if docs.len() == 1 {
            output::json(&docs[0])?;
        } else {
            output::json(&docs)?;
        }
    } else {
        output::prose(&texts.join("\n\n"));
    }
    report_problems(globals, &effective);
    Ok(status_code(&effective))
}

/// What `check` was asked: the key, the session assignment that tests it,
/// and how to show it.
struct Proposal {
    key: String,
    session: String,
    shown: String,
}

fn proposal(globals: &Globals, args: &CheckArgs) -> Result<Proposal, CliError> {
    let (key, text, element) = match (&args.element, args.assignment.split_once("+=")) {
        (Some(_), _) if args.assignment.contains('=') => {
            return Err(CliError::usage(
                "give KEY VALUE, KEY=VALUE or KEY+=ELEMENT, not an assignment and a value",
            ));
        }
        (Some(value), _) => (args.assignment.trim().to_owned(), value.clone(), None),
        (None, Some((key, element))) => {
            (key.trim().to_owned(), element.trim().to_owned(), Some(true))
        }
        (None, None) => match args.assignment.split_once('=') {
            Some((key, value)) => (key.trim().to_owned(), value.to_owned(), Some(false)),
            None => {
                return Err(CliError::usage(
                    "expected KEY=VALUE, such as sandbox.mode=read-only (or KEY VALUE, or KEY+=ELEMENT for a list)",
                ));
            }
        },
    };
    let resolver = Resolver::with_schema_file(globals.options())?;
    known_key(&resolver, &key)?;
    let is_list = resolver
        .schema()
        .get(&key)
        .is_some_and(|s| s.kind == mandate::schema::Kind::Array);
    // KEY VALUE on a list setting means one element; KEY+=ELEMENT always does.
    let one_element = element.unwrap_or(is_list);
    if one_element && !is_list {
        return Err(CliError::usage(format!(
            "{key} is not a list setting: check one value with {key}=VALUE"
        )));
    }
    let parsed = mandate::layer::parse_session_value(text.trim());
    if one_element && !parsed.is_array() {
        let item = if parsed.is_string() || parsed.is_object() {
            parsed
        } else {
            Value::String(text.trim().to_owned())
        };
        let list = render::toml_value(&Value::Array(vec![item]));
        return Ok(Proposal {
            session: format!("{key}={list}"),
            shown: format!("{key} += {}", text.trim()),
            key,
        });
    }
    Ok(Proposal {
        session: format!("{key}={text}"),
        shown: format!("{key}={text}"),
        key,
    })
}

/// Checks whether a value would be accepted, by resolving with it as a session value.
pub fn check(globals: &Globals, args: &CheckArgs) -> Result<ExitCode, CliError> {
    let Proposal {
        key,
        session,
        shown,
    } = proposal(globals, args)?;
    // The value asked about replaces any `-c` for the same key.
    let mut with = globals.clone();
    with.config
        .retain(|c| c.split_once('=').is_none_or(|(k, _)| k.trim() != key));
    with.config.push(session.clone());
    let (_, effective) = match resolve(&with) {
        Ok(r) => r,
        // A value of the wrong type is a "no", not a usage error; it names
        // what was asked, never a flag the user did not type.
        Err(e) if e.code == crate::error::EXIT_USAGE && !e.message.contains("unknown setting") => {
            let flag = format!("-c {session}");
            let message = e.message.replace(&flag, &shown);
            let mut problems = e.problems.clone();
            for p in &mut problems {
                if !p.location.is_file() && p.location.origin == flag {
                    p.location = mandate::Location::described(shown.clone());
                }
            }
            return Err(CliError {
                code: EXIT_NO,
                message,
                problems,
                ..e
            });
        }
        Err(e) => return Err(e),
    };
    let mut refusals: Vec<Rejected> = effective
        .keys
        .get(&key)
        .map(|r| {
            r.rejected
                .iter()
                .filter(|x| x.source == "session")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    // An allowed domain that a denied one covers is accepted by the list's
    // own requirements but never reachable: denied beats allowed.
    if key == "network.allowed_domains" {
        let decider = effective.decider(&mandate::kind::KindContext::default());
        for domain in effective.get_strings(&key).unwrap_or_default() {
            let decision = decider.decide(&mandate::decide::Action::Url(domain.to_owned()), None);
            if let Some(rule) = decision
                .rule
                .filter(|r| r.setting == "network.denied_domains")
            {
                refusals.push(Rejected {
                    value: Value::String(domain.to_owned()),
                    source: "session".into(),
                    location: mandate::Location::described("command line"),
                    reason: format!(
                        "{domain} is on network.denied_domains ({}), which wins over network.allowed_domains",
                        rule.entry
                    ),
                    constraint: Some(mandate::resolve::RefusedBy {
                        op: "denied_domains".into(),
                        source: mandate::SourceKind::from_name(&rule.source)
                            .unwrap_or(mandate::SourceKind::Default),
                        location: rule.location.clone(),
                    }),
                });
            }
        }
    }
    if refusals.is_empty() {
        if globals.json {
            output::json(&CheckJson {
                key: &key,
                accepted: true,
                refused: None,
                managed_by: None,
            })?;
        } else {
            output::out(&format!("accepted: {shown}"));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let managing = effective
        .keys
        .get(&key)
        .map(|r| super::audience::managing(&effective, r))
        .unwrap_or_default();
    if globals.json {
        output::json(&CheckJson {
            key: &key,
            accepted: false,
            refused: Some(&refusals),
            managed_by: Some(super::audience::managing_json(&managing)),
        })?;
    } else {
        let mut text = format!("refused: {shown}");
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
        let note = super::audience::note(globals, &managing);
        if !note.is_empty() {
            text.push_str("\n\n");
            text.push_str(&note);
        }
        output::out(&text);
    }
    Ok(ExitCode::from(EXIT_NO))
}

/// Lists every source.
pub fn sources(globals: &Globals) -> Result<ExitCode, CliError> {
    let (_, effective) = resolve(globals)?;
    if globals.json {
        output::json(&SourcesJson {
            domain: &effective.domain,
            status: effective.status,
            root: effective.root.as_deref(),
            trust: &effective.trust,
            sources: &effective.sources,
            diagnostics: &effective.diagnostics,
        })?;
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
    report_degraded(globals, &effective);
    Ok(status_code(&effective))
}

/// Prints the schema.
pub fn schema(globals: &Globals) -> Result<ExitCode, CliError> {
    let resolver = Resolver::with_schema_file(globals.options())?;
    output::json(resolver.schema().raw())?;
    Ok(ExitCode::SUCCESS)
}
