//! Rendering results for people: TOML with `# origin` comments, explanations, tables.

use std::fmt::Write as _;

use mandate::resolve::{Effective, KeyReport, SourceReport};
use mandate::value::Value;

use crate::style::{self, Stream};

/// A JSON value as an inline TOML value (`"x"`, `[1, 2]`, `{ a = 1 }`), as
/// `toml_edit` writes it; a value holding `null` (which TOML cannot say) is
/// written as JSON instead.
pub fn toml_value(value: &Value) -> String {
    let mut out = String::new();
    match write_inline(value, &mut out) {
        Some(()) => out,
        None => value.to_string(),
    }
}

/// Writes `value` inline, as `toml_edit` displays it. Only scalars go
/// through `toml_edit` (its quoting of strings and spelling of numbers):
/// a long list is never built as a `toml_edit` tree, which for 20,000
/// command rules took 60 MB. `None` when the value holds `null`.
fn write_inline(value: &Value, out: &mut String) -> Option<()> {
    let scalar = |v: toml_edit::Value, out: &mut String| out.push_str(v.to_string().trim());
    match value {
        Value::Null => return None,
        Value::Bool(b) => scalar((*b).into(), out),
        Value::Number(n) => match n.as_i64() {
            Some(i) => scalar(i.into(), out),
            None => scalar(n.as_f64()?.into(), out),
        },
        Value::String(s) => scalar(s.as_str().into(), out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_inline(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            out.push_str("{ ");
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&toml_key(k));
                out.push_str(" = ");
                write_inline(v, out)?;
            }
            out.push_str(" }");
        }
    }
    Some(())
}

fn split_key(key: &str) -> (&str, &str) {
    key.rsplit_once('.').unwrap_or(("", key))
}

/// A dotted key as TOML writes it (quoted where needed).
fn toml_key(key: &str) -> String {
    toml_edit::Key::new(key).display_repr().into_owned()
}

/// The effective configuration as TOML, each value with its origin.
pub fn show_toml(effective: &Effective, include_overridden: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# effective configuration for {}", effective.domain);
    if let Some(root) = &effective.root {
        let _ = writeln!(
            out,
            "# read under --root {root} (not this machine's own paths)"
        );
    }
    let _ = writeln!(
        out,
        "# status: {}   digest: {}",
        status_name(effective),
        effective.digest
    );
    for d in &effective.diagnostics {
        if d.severity >= mandate::resolve::Severity::Warning {
            let _ = writeln!(
                out,
                "# {}: {}",
                severity_name(d.severity),
                safe(first_line(&d.message))
            );
        }
    }
    let mut current_table: Option<&str> = None;
    for (key, report) in &effective.keys {
        let (table, name) = split_key(key);
        if current_table != Some(table) {
            let _ = writeln!(out);
            if !table.is_empty() {
                let header = table.split('.').map(toml_key).collect::<Vec<_>>().join(".");
                let _ = writeln!(out, "[{header}]");
            }
            current_table = Some(table);
        }
        let lock = if report.locked { ", locked" } else { "" };
        if report.value.is_null() {
            let _ = writeln!(
                out,
                "# {} is unset: {}{lock}",
                toml_key(name),
                place(&report.location)
            );
        } else {
            let _ = writeln!(
                out,
                "{} = {}  # {}, {}{lock}",
                toml_key(name),
                toml_value(&report.value),
                report.source,
                place(&report.location)
            );
        }
        for r in &report.rejected {
            let _ = writeln!(
                out,
                "#   refused {} from {} ({}): {}",
                toml_value(&r.value),
                r.source,
                place(&r.location),
                safe(&r.reason)
            );
        }
        if include_overridden {
            for o in &report.overridden {
                let _ = writeln!(
                    out,
                    "#   overridden {} from {} ({})",
                    toml_value(&o.value),
                    o.source,
                    o.location
                );
            }
            for m in report.merged.iter().skip(1) {
                let _ = writeln!(
                    out,
                    "#   merged {} from {} ({})",
                    toml_value(&m.value),
                    m.source,
                    m.location
                );
            }
        }
    }
    out
}

/// Everything known about one setting, for `mandate explain`.
pub fn explain(
    effective: &Effective,
    key: &str,
    setting: &mandate::schema::Setting,
    report: Option<&KeyReport>,
) -> String {
    let mut out = String::new();
    match report {
        Some(r) => {
            let _ = writeln!(out, "{key} = {}", toml_value(&r.value));
            let _ = writeln!(out, "  from {} at {}", r.source, place(&r.location));
            let _ = writeln!(
                out,
                "  {}",
                if r.locked {
                    "locked: managed policy admits no other value"
                } else {
                    "not locked: you may choose another value the requirements allow"
                }
            );
        }
        None => {
            let _ = writeln!(out, "{key} is unset");
            let _ = writeln!(
                out,
                "  no layer proposes a value, and the schema has no default"
            );
        }
    }
    if !setting.title.is_empty() {
        let _ = writeln!(out, "\n  {}: {}", setting.title, setting.description);
    }
    if let Some(r) = report {
        let _ = writeln!(out, "\nrequirements (combined across managed sources):");
        if r.constraint_lines.is_empty() {
            let _ = writeln!(out, "  none: any valid value is accepted");
        }
        for line in &r.constraint_lines {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out, "\nproposals, highest-ranked first:");
        // One row per proposal: mark, source, value, where, and what became of it.
        let row = |out: &mut String,
                   mark: &str,
                   source: &str,
                   value: &Value,
                   location: &mandate::Location,
                   tag: &str| {
            let _ = writeln!(
                out,
                "  {mark} {source:<8} {}  ({}){tag}",
                toml_value(value),
                place(location)
            );
        };
        for x in &r.rejected {
            let by = x
                .constraint
                .as_ref()
                .map(|c| format!(" [{} set at {}]", c.op, place(&c.location)))
                .unwrap_or_default();
            row(&mut out, "✗", &x.source, &x.value, &x.location, "");
            let _ = writeln!(
                out,
                "             {}: {}{by}",
                style::status(Stream::Out, "refused"),
                safe(&x.reason)
            );
        }
        if r.merged.is_empty() {
            row(
                &mut out,
                "✓",
                &r.source,
                &r.value,
                &r.location,
                "  in force",
            );
        } else {
            for m in &r.merged {
                row(&mut out, "✓", &m.source, &m.value, &m.location, "  merged");
            }
            let _ = writeln!(out, "    = {}  (union after repair)", toml_value(&r.value));
        }
        for o in &r.overridden {
            row(
                &mut out,
                "·",
                &o.source,
                &o.value,
                &o.location,
                "  overridden",
            );
        }
    }
    let related: Vec<_> = effective
        .diagnostics
        .iter()
        .filter(|d| d.key.as_deref() == Some(key))
        .collect();
    if !related.is_empty() {
        let _ = writeln!(out, "\nnotes:");
        for d in related {
            let _ = writeln!(out, "  {}: {}", severity_name(d.severity), d.message);
        }
    }
    out
}

/// The sources as a table for people.
/// A location as people read it, with control characters escaped.
pub fn place(location: &mandate::Location) -> String {
    safe(&location.to_string()).into_owned()
}

/// Text from files, plists and the network, made safe to print on a
/// terminal: control characters (a newline in a path, an escape sequence)
/// are written as escapes, so no value can forge a line or recolour one.
pub fn safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(text.chars().flat_map(char::escape_debug).collect())
}

pub fn sources(effective: &Effective, trust_line: &str) -> String {
    let mut out = String::new();
    if let Some(root) = &effective.root {
        let _ = writeln!(out, "# read under --root {root}");
    }
    let _ = writeln!(out, "{trust_line}");
    let _ = writeln!(
        out,
        "status: {}\n",
        style::status(Stream::Out, status_name(effective))
    );
    let width = effective
        .sources
        .iter()
        .map(|s| s.status.name().len())
        .max()
        .unwrap_or(0)
        .max(9);
    for s in &effective.sources {
        let _ = writeln!(
            out,
            "{:<9} {} {}{}",
            s.name.name(),
            style::status(Stream::Out, &format!("{:<width$}", s.status.name())),
            place(&s.location),
            safe(&version(s))
        );
        if let Some(reason) = &s.reason {
            for (i, line) in reason.lines().enumerate() {
                let lead = if i == 0 { "why:" } else { "    " };
                let _ = writeln!(out, "{:<20}{lead} {}", "", safe(line));
            }
        }
        for (k, v) in &s.details {
            let v = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            let _ = writeln!(out, "{:<20}{k}: {}", "", safe(&v));
        }
    }
    // What the status (and a degraded message) points to.
    let notable: Vec<_> = effective
        .diagnostics
        .iter()
        .filter(|d| d.severity >= mandate::resolve::Severity::Warning)
        .collect();
    if !notable.is_empty() {
        let _ = writeln!(out, "\ndiagnostics:");
        for d in notable {
            // A message of several lines (a file's problems, then what
            // happens): each line on its own, escaped, continuations indented.
            let mut lines = d.message.lines();
            let _ = writeln!(
                out,
                "  {} [{}]: {}",
                severity_name(d.severity),
                d.code,
                safe(lines.next().unwrap_or_default())
            );
            for line in lines {
                let _ = writeln!(out, "    {}", safe(line.trim_start()));
            }
        }
    }
    out
}

fn version(s: &SourceReport) -> String {
    let mut parts = Vec::new();
    if let Some(id) = &s.id {
        parts.push(id.clone());
    }
    if let Some(v) = s.version {
        parts.push(format!("v{v}"));
    }
    if let Some(e) = &s.expires {
        parts.push(format!("expires {e}"));
    }
    if !s.signers.is_empty() {
        parts.push(format!("signed by {}", s.signers.join(", ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("  ({})", parts.join(", "))
    }
}

/// `ok`, `degraded` or `error`.
pub fn status_name(effective: &Effective) -> &'static str {
    match effective.status {
        mandate::Status::Ok => "ok",
        mandate::Status::Degraded => "degraded",
        mandate::Status::Error => "error",
    }
}

/// `info`, `warning` or `error`.
pub fn severity_name(s: mandate::resolve::Severity) -> &'static str {
    match s {
        mandate::resolve::Severity::Info => "info",
        mandate::resolve::Severity::Warning => "warning",
        mandate::resolve::Severity::Error => "error",
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use mandate::value::{Map, Value};
    use proptest::prelude::*;

    use super::toml_value;

    /// How values were written before: through a `toml_edit` tree.
    fn through_toml_edit(value: &Value) -> String {
        fn convert(value: &Value) -> Option<toml_edit::Value> {
            Some(match value {
                Value::Null => return None,
                Value::Bool(b) => (*b).into(),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => i.into(),
                    None => n.as_f64()?.into(),
                },
                Value::String(s) => s.as_str().into(),
                Value::Array(items) => {
                    let mut a = toml_edit::Array::new();
                    for item in items {
                        a.push(convert(item)?);
                    }
                    toml_edit::Value::Array(a)
                }
                Value::Object(map) => {
                    let mut t = toml_edit::InlineTable::new();
                    for (k, v) in map {
                        t.insert(k, convert(v)?);
                    }
                    toml_edit::Value::InlineTable(t)
                }
            })
        }
        match convert(value) {
            Some(v) => v.to_string().trim().to_owned(),
            None => value.to_string(),
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            Just(String::new()),
            "[a-z0-9 ._-]{0,12}",
            "[\\'\"\n\t a-z\u{e9}\u{1f600}]{0,8}",
            any::<String>(),
        ];
        let key = prop_oneof!["[a-z_]{1,8}", "[a-z.\" -]{0,6}", any::<String>(),];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text.prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map>())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Written scalar by scalar, a value reads exactly as the
        /// `toml_edit` tree wrote it.
        #[test]
        fn inline_values_are_written_as_toml_edit_writes_them(v in value()) {
            prop_assert_eq!(toml_value(&v), through_toml_edit(&v));
        }
    }

    #[test]
    fn a_null_inside_writes_the_value_as_json() {
        let v = mandate::json!({ "a": [1, null] });
        assert_eq!(toml_value(&v), r#"{"a":[1,null]}"#);
        assert_eq!(toml_value(&mandate::json!([])), "[]");
        assert_eq!(
            toml_value(&mandate::json!([{ "b": "x", "a": [] }])),
            r#"[{ a = [], b = "x" }]"#
        );
    }
}
