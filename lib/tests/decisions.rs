//! The decision corpus: `tests/decisions/*.toml` at the workspace root.
//!
//! Each file names one or more policies (`[policies.NAME]` with `system`
//! policy text and, optionally, `mdm`, `cloud` and `user` layers) and a list of
//! `[[case]]`s: one action (`exec`, `shell`, `url`, `mcp`, `read`, `write`),
//! optionally a `cwd`, and the expected decision (`allow`, `prompt`,
//! `deny`). A case may also pin the `setting` or `source` of the rule that
//! decided, and `explicit = false` when no rule may apply. `~` is
//! `/home/ana`.
//!
//! ```text
//! cargo test -p mandate --test decisions
//! ```

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use mandate::decide::{Action, Decider, McpServer, Verdict};
use mandate::kind::KindContext;
use mandate::{Layer, Schema, SourceKind, resolve};
use toml_edit::{DocumentMut, Item, Value};

const HOME: &str = "/home/ana";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/decisions")
}

fn compile(schema: &Schema, file: &str, name: &str, table: &toml_edit::Table) -> Decider {
    let mut layers = Vec::new();
    for (source, kind, path) in [
        (
            "mdm",
            SourceKind::Mdm,
            "/Library/Managed Preferences/dev.mandate.plist",
        ),
        (
            "cloud",
            SourceKind::Cloud,
            "/var/lib/mandate/cloud/policy.toml",
        ),
        (
            "system",
            SourceKind::System,
            "/etc/mandate/policy.d/50-corpus.toml",
        ),
    ] {
        if let Some(text) = table.get(source).and_then(Item::as_str) {
            let layer = Layer::parse_policy(schema, kind, path, text)
                .unwrap_or_else(|e| panic!("{file}: policy {name}.{source}: {e}"));
            layers.push(layer);
        }
    }
    if let Some(text) = table.get("user").and_then(Item::as_str) {
        let layer = Layer::parse_settings(
            schema,
            SourceKind::User,
            "/home/ana/.config/mandate/config.toml",
            text,
        )
        .unwrap_or_else(|e| panic!("{file}: policy {name}.user: {e}"));
        layers.push(layer);
    }
    let effective = resolve(schema, layers);
    effective.decider(&KindContext {
        home: Some(HOME.into()),
    })
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn action(case: &toml_edit::Table) -> Option<Action> {
    if let Some(v) = case.get("exec").and_then(Item::as_value) {
        return Some(Action::Exec(strings(v)));
    }
    let s = |k: &str| case.get(k).and_then(Item::as_str).map(str::to_owned);
    if let Some(v) = s("shell") {
        return Some(Action::Shell(v));
    }
    if let Some(v) = s("url") {
        return Some(Action::Url(v));
    }
    if let Some(v) = s("read") {
        return Some(Action::Read(v));
    }
    if let Some(v) = s("write") {
        return Some(Action::Write(v));
    }
    if let Some(name) = s("mcp") {
        return Some(Action::Mcp(McpServer {
            name,
            command: s("mcp_command"),
            args: case.get("mcp_args").and_then(Item::as_value).map(strings),
            url: s("mcp_url"),
        }));
    }
    None
}

/// Every case of every corpus file: (file, index, description, policy, action, cwd, case table).
fn load() -> Vec<(String, BTreeMap<String, Decider>, Vec<toml_edit::Table>)> {
    let schema = Schema::bundled();
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc: DocumentMut = fs::read_to_string(&path)
            .unwrap()
            .parse()
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut policies = BTreeMap::new();
        if let Some(ps) = doc.get("policies").and_then(Item::as_table) {
            for (name, item) in ps.iter() {
                let table = item
                    .as_table()
                    .unwrap_or_else(|| panic!("{file}: policies.{name} is not a table"));
                policies.insert(name.to_owned(), compile(schema, &file, name, table));
            }
        }
        let cases: Vec<toml_edit::Table> = doc
            .get("case")
            .and_then(Item::as_array_of_tables)
            .map(|a| a.iter().cloned().collect())
            .unwrap_or_default();
        out.push((file, policies, cases));
    }
    out
}

#[test]
fn corpus_decisions_match() {
    let mut failures = Vec::new();
    let mut total = 0;
    for (file, policies, cases) in load() {
        for (i, case) in cases.iter().enumerate() {
            total += 1;
            let policy = case
                .get("policy")
                .and_then(Item::as_str)
                .unwrap_or("default");
            let Some(decider) = policies.get(policy) else {
                failures.push(format!("{file} case {i}: no policy {policy:?}"));
                continue;
            };
            let Some(action) = action(case) else {
                failures.push(format!("{file} case {i}: no action"));
                continue;
            };
            let expect = match case.get("expect").and_then(Item::as_str) {
                Some("allow") => Verdict::Allow,
                Some("prompt") => Verdict::Prompt,
                Some("deny") => Verdict::Deny,
                other => {
                    failures.push(format!("{file} case {i}: bad expect {other:?}"));
                    continue;
                }
            };
            let cwd = case.get("cwd").and_then(Item::as_str);
            let d = decider.decide(&action, cwd);
            let mut wrong = Vec::new();
            if d.decision != expect {
                wrong.push(format!(
                    "decision {} (want {})",
                    d.decision.name(),
                    expect.name()
                ));
            }
            if let Some(want) = case.get("setting").and_then(Item::as_str)
                && d.rule.as_ref().map(|r| r.setting.as_str()) != Some(want)
            {
                wrong.push(format!(
                    "setting {:?} (want {want})",
                    d.rule.as_ref().map(|r| &r.setting)
                ));
            }
            if let Some(want) = case.get("source").and_then(Item::as_str)
                && d.rule.as_ref().map(|r| r.source.as_str()) != Some(want)
            {
                wrong.push(format!(
                    "source {:?} (want {want})",
                    d.rule.as_ref().map(|r| &r.source)
                ));
            }
            if let Some(want) = case.get("explicit").and_then(Item::as_bool)
                && d.is_explicit() != want
            {
                wrong.push(format!("explicit {} (want {want})", d.is_explicit()));
            }
            if !wrong.is_empty() {
                failures.push(format!(
                    "{file} case {i} {action:?}: {}; reason: {}",
                    wrong.join(", "),
                    d.reason
                ));
            }
        }
    }
    eprintln!("{total} decision cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        total >= 200,
        "the corpus has {total} cases; it should have at least 200"
    );
}
