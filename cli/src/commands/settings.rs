//! What a developer may choose: `mandate settings` (the schema as a table)
//! and the "what you may choose" part of `mandate explain`.

use std::fmt::Write as _;
use std::process::ExitCode;

use mandate::resolve::{Effective, KeyReport};
use mandate::schema::{Kind, Setting};
use mandate::value::Value;
use mandate::{Resolver, SourceKind};

use crate::{CliError, Globals, output, render};

/// The type of a setting for people: `string: "read-only" < "workspace-write"`.
fn type_line(setting: &Setting) -> String {
    let values = |vs: &[Value], sep: &str| {
        vs.iter()
            .map(render::toml_value)
            .collect::<Vec<_>>()
            .join(sep)
    };
    match (&setting.order, &setting.enum_values, setting.kind) {
        (Some(order), _, _) => format!("one of {} (strictest first)", values(order, " < ")),
        (None, Some(vs), _) => format!("one of {}", values(vs, ", ")),
        (None, None, Kind::Array) => format!(
            "a list ({} across layers)",
            match setting.merge {
                mandate::schema::ListMerge::Union => "elements of every layer combine",
                mandate::schema::ListMerge::Replace => "the highest-ranked list wins whole",
            }
        ),
        (None, None, kind) => kind.noun().to_owned(),
    }
}

fn kind_word(setting: &Setting) -> &'static str {
    match setting.kind {
        Kind::String => "string",
        Kind::Boolean => "bool",
        Kind::Integer => "integer",
        Kind::Number => "number",
        Kind::Array => "list",
        Kind::Object => "table",
    }
}

/// `mandate settings`: every setting as a readable table (or JSON).
pub fn run(globals: &Globals) -> Result<ExitCode, CliError> {
    let resolver = Resolver::with_schema_file(globals.options())?;
    let schema = resolver.schema();
    let show = |v: &Option<Value>| {
        let text = v.as_ref().map_or("-".to_owned(), render::toml_value);
        if text.chars().count() > 40 {
            format!("{}…", text.chars().take(39).collect::<String>())
        } else {
            text
        }
    };
    if globals.json {
        let rows: Vec<Value> = schema
            .settings()
            .map(|s| {
                mandate::json!({
                    "key": s.key,
                    "type": kind_word(s),
                    "values": s.order.as_ref().or(s.enum_values.as_ref()),
                    "default": s.default,
                    "lockdown": s.lockdown,
                    "merge": (s.kind == Kind::Array).then_some(s.merge),
                    "title": s.title,
                })
            })
            .collect();
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 5]> = schema
        .settings()
        .map(|s| {
            let values = match (&s.order, &s.enum_values, s.kind) {
                (Some(o), _, _) => o
                    .iter()
                    .map(render::toml_value)
                    .collect::<Vec<_>>()
                    .join(" < "),
                (None, Some(v), _) => v
                    .iter()
                    .map(render::toml_value)
                    .collect::<Vec<_>>()
                    .join(", "),
                (None, None, Kind::Array) => match s.merge {
                    mandate::schema::ListMerge::Union => "union".to_owned(),
                    mandate::schema::ListMerge::Replace => "replace".to_owned(),
                },
                _ => String::new(),
            };
            [
                s.key.clone(),
                kind_word(s).to_owned(),
                show(&s.default),
                show(&s.lockdown),
                values,
            ]
        })
        .collect();
    let header = ["KEY", "TYPE", "DEFAULT", "LOCKDOWN", "VALUES / MERGE"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
            .min(40)
    };
    let widths: Vec<usize> = (0..4).map(width).collect();
    let mut out = String::new();
    for row in std::iter::once(header.map(str::to_owned)).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i < 4 {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let _ = write!(
        out,
        "\n{} settings; `mandate explain KEY` for one, `mandate schema` for the JSON Schema",
        schema.settings().count()
    );
    output::out(&out);
    Ok(ExitCode::SUCCESS)
}

/// The keys of `group` (`sandbox` → `sandbox.mode`, `sandbox.network`, …), or
/// just `key` when it is a setting.
pub fn keys_of(resolver: &Resolver, key: &str) -> Vec<String> {
    if resolver.schema().get(key).is_some() {
        return vec![key.to_owned()];
    }
    let prefix = format!("{key}.");
    resolver
        .schema()
        .settings()
        .filter(|s| s.key.starts_with(&prefix))
        .map(|s| s.key.clone())
        .collect()
}

/// Where a developer sets their own value: the file and the lines to write.
fn where_to_edit(effective: &Effective, setting: &Setting, example: &Value) -> Vec<String> {
    let (table, leaf) = setting.key.rsplit_once('.').unwrap_or(("", &setting.key));
    let value = render::toml_value(example);
    let snippet = if table.is_empty() {
        format!("      {leaf} = {value}")
    } else {
        format!("      [{table}]\n      {leaf} = {value}")
    };
    let location = |kind: SourceKind| {
        effective
            .sources
            .iter()
            .find(|s| s.name == kind)
            .map(|s| s.location.origin.clone())
    };
    let mut lines = Vec::new();
    match location(SourceKind::User) {
        Some(path) => lines.push(format!("for you, in {path}:\n{snippet}")),
        None => lines.push(format!("for you, in your user config.toml:\n{snippet}")),
    }
    let project = effective
        .sources
        .iter()
        .find(|s| s.name == SourceKind::Project);
    match project {
        Some(p) if p.status == mandate::resolve::SourceStatus::Ignored => lines.push(format!(
            "for this project, in {} once it is trusted ({}):\n{snippet}",
            p.location,
            p.reason.as_deref().unwrap_or("it is not trusted")
        )),
        Some(p) => lines.push(format!("for this project, in {}:\n{snippet}", p.location)),
        None => lines.push(
            "for a project: .mandate.toml at its root, read once your user config trusts the project".to_owned(),
        ),
    }
    let bare = example.as_str().map_or(value.clone(), str::to_owned);
    let assignment = format!("{}={bare}", setting.key);
    let plain = assignment
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/=:".contains(c));
    let assignment = if plain {
        assignment
    } else {
        format!("'{}'", assignment.replace('\'', "'\\''"))
    };
    lines.push(format!("for one command: mandate -c {assignment} …"));
    lines
}

/// What an ignored (untrusted) project file proposes for the setting, and why
/// it does not count.
fn ignored_project(globals: &Globals, effective: &Effective, setting: &Setting) -> Option<String> {
    let project = effective.sources.iter().find(|s| {
        s.name == SourceKind::Project && s.status == mandate::resolve::SourceStatus::Ignored
    })?;
    let text = std::fs::read_to_string(&project.location.origin).ok()?;
    let resolver = Resolver::with_schema_file(globals.options()).ok()?;
    let layer = mandate::Layer::parse_settings(
        resolver.schema(),
        SourceKind::Project,
        &project.location,
        &text,
    )
    .ok()?;
    let entry = layer.settings.iter().find(|e| e.key == setting.key)?;
    Some(format!(
        "  ignored: {} proposes {}, but {}",
        entry.location,
        render::toml_value(&entry.value),
        project
            .reason
            .as_deref()
            .unwrap_or("the project is not trusted")
    ))
}

/// The values of a finite domain the requirements in force admit, found by
/// asking the resolver itself (one resolution per value).
pub fn admissible(globals: &Globals, setting: &Setting) -> Option<Vec<Value>> {
    let domain = setting.finite_domain()?;
    let mut out = Vec::new();
    for value in domain {
        let mut with = globals.clone();
        with.config.retain(|c| {
            c.split_once('=')
                .is_none_or(|(k, _)| k.trim() != setting.key)
        });
        with.config
            .push(format!("{}={}", setting.key, render::toml_value(&value)));
        let resolver = Resolver::with_schema_file(with.options()).ok()?;
        let effective = resolver.resolve(&mandate::Environment::capture()).ok()?;
        let refused = effective
            .keys
            .get(&setting.key)
            .is_some_and(|r| r.rejected.iter().any(|x| x.source == "session"));
        if !refused {
            out.push(value);
        }
    }
    Some(out)
}

/// "What you may choose": type, admissible values or bounds, default,
/// lockdown value, and the exact file to edit.
pub fn choices(
    globals: &Globals,
    effective: &Effective,
    setting: &Setting,
    report: Option<&KeyReport>,
) -> String {
    let mut out = String::new();
    if let Some(line) = ignored_project(globals, effective, setting) {
        let _ = writeln!(out, "\nnot counted:\n{line}");
    }
    let _ = writeln!(out, "\nwhat you may choose:");
    let _ = writeln!(out, "  type      {}", type_line(setting));
    let allowed = admissible(globals, setting);
    match &allowed {
        Some(values) if values.is_empty() => {
            let _ = writeln!(
                out,
                "  allowed   none of them: the requirements conflict (see above)"
            );
        }
        Some(values) => {
            let list: Vec<String> = values.iter().map(render::toml_value).collect();
            let _ = writeln!(out, "  allowed   {}", list.join(", "));
        }
        None => match report.map(|r| &r.constraint_lines) {
            Some(lines) if !lines.is_empty() => {
                let _ = writeln!(
                    out,
                    "  allowed   any {} within the requirements above",
                    setting
                        .kind
                        .noun()
                        .trim_start_matches("a ")
                        .trim_start_matches("an ")
                );
            }
            _ => {
                let _ = writeln!(out, "  allowed   any valid value: no requirement applies");
            }
        },
    }
    let requirement_default = report
        .and_then(|r| r.constraint.as_ref())
        .and_then(|c| c.get("default"))
        .cloned();
    match (&requirement_default, &setting.default) {
        (Some(d), _) => {
            let _ = writeln!(
                out,
                "  default   {} (from the requirements)",
                render::toml_value(d)
            );
        }
        (None, Some(d)) => {
            let _ = writeln!(out, "  default   {} (the schema's)", render::toml_value(d));
        }
        (None, None) => {
            let _ = writeln!(out, "  default   none (unset unless someone sets it)");
        }
    }
    let _ = writeln!(
        out,
        "  lockdown  {} (held when managed policy cannot be verified)",
        setting
            .lockdown
            .as_ref()
            .map_or("unset".to_owned(), render::toml_value)
    );
    let locked = report.is_some_and(|r| r.locked);
    if locked {
        let _ = writeln!(
            out,
            "  locked: your organisation's policy admits only this value; ask your administrator to change it"
        );
        return out;
    }
    let example = allowed
        .as_ref()
        .and_then(|v| v.first().cloned())
        .or_else(|| report.map(|r| r.value.clone()))
        .or_else(|| setting.default.clone())
        .unwrap_or(Value::Null);
    if !example.is_null() {
        for line in where_to_edit(effective, setting, &example) {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}
