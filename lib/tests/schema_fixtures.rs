#![allow(clippy::unwrap_used)]
//! The schema fixture corpus and the schema's own rules.
//!
//! - `tests/fixtures/schema/valid/*.toml` must load as policy documents;
//!   together they set every setting and use every operator.
//! - `tests/fixtures/schema/invalid/*.toml` must fail; their first two lines
//!   say how (`# expect: <substring>`) and where (`# at: <line>:<col>`).
//! - Every setting of the bundled schema carries its annotations (checked by
//!   walking the raw JSON here, independently of the library's loader), and
//!   a schema missing one is refused with a message naming the key.
//! - The example profiles load and resolve cleanly.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use mandate::constraint::OPERATORS;
use mandate::resolve::Status;
use mandate::schema::AGENT_POLICY_SCHEMA;
use mandate::value::{Map, Value};
use mandate::{Layer, Schema, SourceKind, resolve};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = workspace().join("tests/fixtures/schema").join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn parse(path: &Path) -> Result<Layer, mandate::error::DocumentErrors> {
    let text = fs::read_to_string(path).unwrap();
    Layer::parse_policy(
        Schema::bundled(),
        SourceKind::System,
        path.display().to_string(),
        &text,
    )
}

#[test]
fn valid_fixtures_load_and_resolve_without_conflict() {
    let mut settings = BTreeSet::new();
    let mut operators = BTreeSet::new();
    for path in fixtures("valid") {
        let layer = parse(&path).unwrap_or_else(|e| panic!("{} should load:\n{e}", path.display()));
        settings.extend(layer.settings.iter().map(|e| e.key.clone()));
        settings.extend(layer.requirements.iter().map(|e| e.key.clone()));
        // Which operators the file uses, from its text (the parsed form does not keep names).
        let text = fs::read_to_string(&path).unwrap();
        for op in OPERATORS {
            if text.contains(&format!("{{ {op} ="))
                || text.contains(&format!(", {op} ="))
                || text.contains(&format!("\n{op} ="))
            {
                operators.insert(op);
            }
        }
        let eff = resolve(Schema::bundled(), vec![layer]);
        assert_eq!(eff.status, Status::Ok);
        let conflicts: Vec<_> = eff
            .diagnostics
            .iter()
            .filter(|d| d.code == "conflict")
            .collect();
        assert!(conflicts.is_empty(), "{}: {conflicts:#?}", path.display());
    }
    let all: BTreeSet<String> = Schema::bundled()
        .settings()
        .map(|s| s.key.clone())
        .collect();
    let missing: Vec<_> = all.difference(&settings).collect();
    assert!(missing.is_empty(), "no valid fixture sets {missing:?}");
    let unused: Vec<_> = OPERATORS
        .iter()
        .filter(|o| !operators.contains(*o))
        .collect();
    assert!(unused.is_empty(), "no valid fixture uses {unused:?}");
}

/// The `# expect:` substring and `# at:` position of an invalid fixture.
fn expectation(path: &Path) -> (String, u32, u32) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let expect = lines
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{}: line 1 must be `# expect: <substring>`", path.display()));
    let at = lines
        .next()
        .and_then(|l| l.strip_prefix("# at: "))
        .unwrap_or_else(|| panic!("{}: line 2 must be `# at: <line>:<col>`", path.display()));
    let (line, column) = at.split_once(':').unwrap();
    (
        expect.to_owned(),
        line.trim().parse().unwrap(),
        column.trim().parse().unwrap(),
    )
}

#[test]
fn invalid_fixtures_fail_with_the_expected_message_at_the_expected_place() {
    let mut failures = Vec::new();
    for path in fixtures("invalid") {
        let (expect, line, column) = expectation(&path);
        let origin = path.display().to_string();
        let errors = match parse(&path) {
            Ok(_) => {
                failures.push(format!("{origin}: loaded, but should fail with {expect:?}"));
                continue;
            }
            Err(e) => e,
        };
        let first = &errors.0[0];
        let rendered = errors.to_string();
        if !first.message.contains(&expect) {
            failures.push(format!(
                "{origin}: expected {expect:?} in the first problem, got:\n{rendered}"
            ));
        }
        if (first.location.line, first.location.column) != (Some(line), Some(column)) {
            failures.push(format!(
                "{origin}: expected the first problem at {line}:{column}, got:\n{rendered}"
            ));
        }
        // The rendered form is `file:line:col: message`.
        if !rendered.starts_with(&format!("{origin}:{line}:{column}: ")) {
            failures.push(format!("{origin}: rendered as {rendered:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every setting of a schema, found by walking the raw JSON: a node with
/// `x-mandate-lockdown` is a setting; any other node must be a group with
/// `properties`.
fn walk(prefix: &str, node: &Map, out: &mut Vec<(String, Map)>) {
    if node.contains_key("x-mandate-lockdown") || !node.contains_key("properties") {
        out.push((prefix.to_owned(), node.clone()));
        return;
    }
    for (name, child) in node["properties"].as_object().unwrap() {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        walk(&key, child.as_object().unwrap(), out);
    }
}

fn bundled_raw() -> Value {
    let on_disk = fs::read_to_string(workspace().join("schema/agent-policy.schema.json")).unwrap();
    assert_eq!(
        on_disk, AGENT_POLICY_SCHEMA,
        "the bundled schema is the checked-in file"
    );
    serde_json::from_str(&on_disk).unwrap()
}

#[test]
fn every_setting_carries_its_annotations() {
    let raw = bundled_raw();
    let mut settings = Vec::new();
    walk("", raw.as_object().unwrap(), &mut settings);
    let mut problems = Vec::new();
    for (key, node) in &settings {
        if !node.contains_key("x-mandate-lockdown") {
            problems.push(format!("{key}: no x-mandate-lockdown"));
        }
        if let Some(values) = node.get("enum").and_then(Value::as_array) {
            match node.get("x-mandate-order").and_then(Value::as_array) {
                None => problems.push(format!("{key}: an enum without x-mandate-order")),
                Some(order) => {
                    let a: BTreeSet<String> = values.iter().map(Value::to_string).collect();
                    let b: BTreeSet<String> = order.iter().map(Value::to_string).collect();
                    if a != b || order.len() != values.len() {
                        problems.push(format!(
                            "{key}: x-mandate-order {order:?} is not a permutation of {values:?}"
                        ));
                    }
                }
            }
        }
        let kind = node.get("type").and_then(Value::as_str);
        if matches!(kind, Some("array" | "object")) {
            match node.get("x-mandate-merge").and_then(Value::as_str) {
                Some("replace" | "union") => {}
                other => problems.push(format!(
                    "{key}: a {} with x-mandate-merge {other:?}",
                    kind.unwrap()
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The library sees exactly the same settings.
    let walked: Vec<&str> = settings.iter().map(|(k, _)| k.as_str()).collect();
    let loaded: Vec<&str> = Schema::bundled()
        .settings()
        .map(|s| s.key.as_str())
        .collect();
    let mut walked_sorted = walked.clone();
    walked_sorted.sort_unstable();
    assert_eq!(walked_sorted, loaded);
    // The settings DESIGN.md §1 names are all there.
    for key in [
        "approvals.policy",
        "approvals.reviewer",
        "sandbox.mode",
        "sandbox.network",
        "sandbox.writable_roots",
        "sandbox.deny_read",
        "network.allowed_domains",
        "network.denied_domains",
        "network.unknown_domains",
        "commands.rules",
        "mcp.allowed_servers",
        "mcp.managed_only",
        "auth.method",
        "auth.workspace_ids",
        "auth.credential_store",
        "models.allowed",
        "models.default",
        "telemetry.otel.exporter",
        "telemetry.otel.endpoint",
        "telemetry.otel.protocol",
        "telemetry.otel.headers",
        "telemetry.log_user_prompt",
        "audit.log",
    ] {
        assert!(walked.contains(&key), "{key} is missing from the schema");
    }
}

/// The bundled schema with one annotation removed from one setting.
fn without(path: &[&str], annotation: &str) -> String {
    let mut raw = bundled_raw();
    let mut node = &mut raw;
    for name in path {
        node = &mut node["properties"][*name];
    }
    assert!(
        node.as_object_mut().unwrap().remove(annotation).is_some(),
        "{path:?} has no {annotation}"
    );
    raw.to_string()
}

#[test]
fn a_schema_missing_an_annotation_is_refused_naming_the_key() {
    for (path, annotation, expect) in [
        (
            &["sandbox", "mode"][..],
            "x-mandate-lockdown",
            "neither a setting",
        ),
        (
            &["approvals", "policy"][..],
            "x-mandate-order",
            "needs x-mandate-order",
        ),
        (
            &["network", "allowed_domains"][..],
            "x-mandate-merge",
            "needs x-mandate-merge",
        ),
        (
            &["telemetry", "otel", "headers"][..],
            "x-mandate-merge",
            "needs x-mandate-merge",
        ),
    ] {
        let key = path.join(".");
        let err = Schema::from_json("broken.schema.json", &without(path, annotation)).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("broken.schema.json: {key}: ")),
            "without {annotation}: {message}"
        );
        assert!(message.contains(expect), "without {annotation}: {message}");
    }
    // An order that is not a permutation of the enum, and a lockdown value the setting refuses.
    let mut raw = bundled_raw();
    raw["properties"]["sandbox"]["properties"]["mode"]["x-mandate-order"] =
        mandate::json!(["read-only", "full-access"]);
    let message = Schema::from_json("s.json", &raw.to_string())
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("s.json: sandbox.mode: x-mandate-order must list every enum value"),
        "{message}"
    );
    let mut raw = bundled_raw();
    raw["properties"]["sandbox"]["properties"]["network"]["x-mandate-lockdown"] =
        mandate::json!("off");
    let message = Schema::from_json("s.json", &raw.to_string())
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("s.json: sandbox.network: x-mandate-lockdown is invalid"),
        "{message}"
    );
}

#[test]
fn the_example_profiles_load_and_resolve_ok() {
    for name in ["strict", "standard", "permissive"] {
        let path = workspace().join(format!("profiles/{name}.toml"));
        let layer = parse(&path).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
        assert!(
            layer
                .policy
                .as_ref()
                .and_then(|p| p.id.as_deref())
                .is_some(),
            "{name} has a [policy] id"
        );
        let eff = resolve(Schema::bundled(), vec![layer]);
        assert_eq!(eff.status, Status::Ok, "{name}");
        let notes: Vec<_> = eff.diagnostics.iter().map(|d| &d.message).collect();
        assert!(notes.is_empty(), "{name}: {notes:#?}");
        // A profile's own managed defaults comply with its own requirements.
        for (key, report) in &eff.keys {
            assert!(
                report.rejected.is_empty(),
                "{name}: {key} refuses the profile's own value: {:?}",
                report.rejected
            );
        }
    }
}

#[test]
fn the_strict_profile_is_stricter_than_the_permissive_one() {
    let load = |name: &str| {
        let layer = parse(&workspace().join(format!("profiles/{name}.toml"))).unwrap();
        resolve(Schema::bundled(), vec![layer])
    };
    let (strict, permissive) = (load("strict"), load("permissive"));
    for key in ["approvals.policy", "sandbox.mode"] {
        let setting = Schema::bundled().get(key).unwrap();
        let rank = |e: &mandate::Effective| setting.rank(e.get(key).unwrap()).unwrap();
        assert!(rank(&strict) <= rank(&permissive), "{key}");
    }
    assert_eq!(strict.get("sandbox.network"), Some(&mandate::json!(false)));
    assert!(strict.keys["sandbox.network"].locked);
}
