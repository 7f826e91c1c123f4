#![allow(clippy::unwrap_used)]
//! Every constraint operator on its own, every pair of operators across two
//! managed layers (intersections and conflicts), list repair, merge
//! strategies, precedence (within `system`, signed `replace` rules and a
//! reordered source order), lockdown, locks, defaults, refusal reasons and
//! command-rule decisions.

use mandate::json;
use mandate::layer::{Layer, session_layer};
use mandate::resolve::{
    Detail, Diagnostic, Effective, KeyReport, Precedence, Severity, Stack, Status, digest,
    resolve_stack,
};
use mandate::trust::root::{Merge, PrecedenceRule};
use mandate::value::Value;
use mandate::{ManagedSource, Schema, SourceKind, resolve};

const MDM: &str = "/Library/Managed Preferences/dev.mandate.plist";
const SYSTEM: &str = "/etc/mandate/policy.d/50-team.toml";
const USER: &str = "/home/ana/.config/mandate/config.toml";
const PROJECT: &str = "/home/ana/src/webapp/.mandate.toml";

fn schema() -> &'static Schema {
    Schema::bundled()
}

fn policy(source: SourceKind, origin: &str, text: &str) -> Layer {
    Layer::parse_policy(schema(), source, origin, text)
        .unwrap_or_else(|e| panic!("{origin}: {e}\n{text}"))
}

fn system(text: &str) -> Layer {
    policy(SourceKind::System, SYSTEM, text)
}

fn mdm(text: &str) -> Layer {
    policy(SourceKind::Mdm, MDM, text)
}

fn settings(source: SourceKind, origin: &str, text: &str) -> Layer {
    Layer::parse_settings(schema(), source, origin, text)
        .unwrap_or_else(|e| panic!("{origin}: {e}\n{text}"))
}

fn user(text: &str) -> Layer {
    settings(SourceKind::User, USER, text)
}

fn session(args: &[&str]) -> Layer {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    session_layer(schema(), &args).unwrap()
}

/// A policy document with one requirement: `"key" = { ops }` on line 2.
fn requirement(key: &str, ops: &str) -> String {
    format!("[requirements]\n\"{key}\" = {{ {ops} }}\n")
}

fn conflicts<'e>(eff: &'e Effective, key: &str) -> Vec<&'e Diagnostic> {
    eff.diagnostics
        .iter()
        .filter(|d| d.code == "conflict" && d.key.as_deref() == Some(key))
        .collect()
}

fn strings(values: &[&str]) -> Value {
    json!(values)
}

/// The values of a finite setting a session layer may choose on top of `layers`:
/// each value is proposed with `-c key=value` and counts when nothing refuses it.
fn admissible(layers: &[Layer], key: &str) -> Vec<String> {
    let setting = schema().get(key).unwrap();
    let mut out = Vec::new();
    for v in setting.finite_domain().unwrap() {
        let text = match &v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut stack = layers.to_vec();
        stack.push(session(&[&format!("{key}={text}")]));
        let eff = resolve(schema(), stack);
        let report = &eff.keys[key];
        let refused = report.rejected.iter().any(|r| r.source == "session");
        assert_eq!(report.value == v, !refused, "{key}={text}: {report:?}");
        if !refused {
            out.push(text);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Each operator alone.

#[test]
fn value_pins_locks_and_names_its_setter() {
    let eff = resolve(
        schema(),
        vec![
            system(&requirement("auth.method", r#"value = "sso""#)),
            user("[auth]\nmethod = \"api-key\"\n"),
        ],
    );
    assert_eq!(eff.status, Status::Ok);
    let k = &eff.keys["auth.method"];
    assert_eq!(k.value, json!("sso"));
    assert!(k.locked);
    assert_eq!(k.source, "system");
    assert_eq!(k.location, format!("{SYSTEM}:2:1"));
    assert_eq!(k.constraint.as_ref().unwrap()["value"], json!("sso"));
    assert_eq!(k.constraint.as_ref().unwrap()["sources"], json!(["system"]));
    assert_eq!(k.rejected.len(), 1, "{k:?}");
    let r = &k.rejected[0];
    assert_eq!(r.value, json!("api-key"));
    assert_eq!(r.source, "user");
    assert_eq!(r.location, format!("{USER}:2:1"));
    assert_eq!(r.reason, r#"not the pinned value "sso" required by system"#);
    let c = r.constraint.as_ref().unwrap();
    assert_eq!((c.op.as_str(), c.source), ("value", SourceKind::System));
    assert_eq!(c.location, format!("{SYSTEM}:2:1"));
    assert_eq!(
        admissible(
            &[system(&requirement("auth.method", r#"value = "sso""#))],
            "auth.method"
        ),
        ["sso"]
    );
}

#[test]
fn allowed_admits_only_its_values() {
    let base = system(&requirement(
        "sandbox.mode",
        r#"allowed = ["read-only", "workspace-write"]"#,
    ));
    assert_eq!(
        admissible(std::slice::from_ref(&base), "sandbox.mode"),
        ["read-only", "workspace-write"]
    );
    let eff = resolve(
        schema(),
        vec![base, user("sandbox.mode = \"full-access\"\n")],
    );
    let k = &eff.keys["sandbox.mode"];
    // The user's value is refused; the schema default complies.
    assert_eq!(k.value, json!("workspace-write"));
    assert_eq!(k.source, "default");
    assert!(!k.locked);
    let r = &k.rejected[0];
    assert_eq!(r.value, json!("full-access"));
    assert_eq!(r.constraint.as_ref().unwrap().op, "allowed");
    assert_eq!(
        r.reason,
        r#"not in allowed set ["read-only", "workspace-write"] required by system"#
    );
}

#[test]
fn denied_refuses_its_values() {
    let base = system(&requirement(
        "approvals.policy",
        r#"denied = ["never", "on-failure"]"#,
    ));
    assert_eq!(
        admissible(std::slice::from_ref(&base), "approvals.policy"),
        ["untrusted", "on-request"]
    );
    let eff = resolve(schema(), vec![base, user("approvals.policy = \"never\"\n")]);
    let k = &eff.keys["approvals.policy"];
    assert_eq!(k.value, json!("on-request"));
    assert_eq!(k.rejected[0].constraint.as_ref().unwrap().op, "denied");
    assert_eq!(k.rejected[0].reason, "denied required by system");
}

#[test]
fn min_is_a_lower_bound_in_the_schema_order() {
    let base = system(&requirement(
        "telemetry.otel.exporter",
        r#"min = "otlp-http""#,
    ));
    assert_eq!(
        admissible(std::slice::from_ref(&base), "telemetry.otel.exporter"),
        ["otlp-http", "otlp-grpc"]
    );
    let eff = resolve(
        schema(),
        vec![base, user("telemetry.otel.exporter = \"none\"\n")],
    );
    let k = &eff.keys["telemetry.otel.exporter"];
    // The schema default ("none") is below the minimum too: the strictest admissible value wins.
    assert_eq!(k.value, json!("otlp-http"));
    assert_eq!(k.source, "system");
    assert_eq!(k.location, "the strictest value the requirements allow");
    assert_eq!(
        k.rejected.len(),
        1,
        "a refused schema default is not reported: {k:?}"
    );
    assert_eq!(
        k.rejected[0].reason,
        r#"below the minimum "otlp-http" required by system"#
    );
    assert_eq!(k.rejected[0].constraint.as_ref().unwrap().op, "min");
}

#[test]
fn max_is_an_upper_bound_in_the_schema_order() {
    let base = system(&requirement("sandbox.mode", r#"max = "workspace-write""#));
    assert_eq!(
        admissible(std::slice::from_ref(&base), "sandbox.mode"),
        ["read-only", "workspace-write"]
    );
    let eff = resolve(
        schema(),
        vec![base, user("sandbox.mode = \"full-access\"\n")],
    );
    let k = &eff.keys["sandbox.mode"];
    assert_eq!(k.value, json!("workspace-write"));
    assert_eq!(
        k.rejected[0].reason,
        r#"above the maximum "workspace-write" required by system"#
    );
    assert_eq!(k.rejected[0].constraint.as_ref().unwrap().op, "max");
}

#[test]
fn pattern_matches_whole_strings_and_list_elements() {
    let endpoint = system(&requirement(
        "telemetry.otel.endpoint",
        r"pattern = 'https://otel\.acme\.example(:\d+)?/.*'",
    ));
    let ok = resolve(
        schema(),
        vec![
            endpoint.clone(),
            user("telemetry.otel.endpoint = \"https://otel.acme.example:4318/v1\"\n"),
        ],
    );
    assert_eq!(
        ok.get("telemetry.otel.endpoint"),
        Some(&json!("https://otel.acme.example:4318/v1"))
    );
    // Anchored: a matching prefix is not enough.
    let bad = resolve(
        schema(),
        vec![
            endpoint,
            user(
                "telemetry.otel.endpoint = \"https://evil.example/?https://otel.acme.example/\"\n",
            ),
        ],
    );
    let k = bad.get("telemetry.otel.endpoint");
    assert!(
        k.is_none(),
        "no compliant value and no default: unset, {k:?}"
    );
    // Unset, but the refusal stays on record.
    let report = &bad.keys["telemetry.otel.endpoint"];
    assert_eq!(report.source, "unset");
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(
        report.rejected[0].constraint.as_ref().unwrap().op,
        "pattern"
    );

    let domains = system(&requirement(
        "network.allowed_domains",
        r"pattern = '.*\.acme\.example'",
    ));
    let eff = resolve(
        schema(),
        vec![
            domains,
            user("network.allowed_domains = [\"git.acme.example\", \"acme.example.evil.com\"]\n"),
        ],
    );
    let k = &eff.keys["network.allowed_domains"];
    assert_eq!(k.value, strings(&["git.acme.example"]));
    assert_eq!(k.rejected.len(), 1);
    assert_eq!(k.rejected[0].value, json!("acme.example.evil.com"));
    assert_eq!(k.rejected[0].constraint.as_ref().unwrap().op, "pattern");
}

#[test]
fn includes_adds_missing_elements() {
    let eff = resolve(
        schema(),
        vec![
            system(&requirement(
                "network.denied_domains",
                r#"includes = ["pastebin.com", "transfer.sh"]"#,
            )),
            user("network.denied_domains = [\"transfer.sh\", \"evil.example\"]\n"),
        ],
    );
    let k = &eff.keys["network.denied_domains"];
    assert_eq!(
        k.value,
        strings(&["transfer.sh", "evil.example", "pastebin.com"])
    );
    assert!(k.rejected.is_empty());
    assert_eq!(k.source, "user");
    // Without any proposal, the required elements alone.
    let alone = resolve(
        schema(),
        vec![system(&requirement(
            "network.denied_domains",
            r#"includes = ["pastebin.com"]"#,
        ))],
    );
    assert_eq!(
        alone.get("network.denied_domains"),
        Some(&strings(&["pastebin.com"]))
    );
}

#[test]
fn within_removes_elements_outside_its_globs() {
    let eff = resolve(
        schema(),
        vec![
            system(&requirement(
                "network.allowed_domains",
                r#"within = ["github.com", "*.npmjs.org"]"#,
            )),
            user(
                "network.allowed_domains = [\"github.com\", \"api.openai.com\", \"registry.npmjs.org\", \"npmjs.org\"]\n",
            ),
        ],
    );
    let k = &eff.keys["network.allowed_domains"];
    assert_eq!(k.value, strings(&["github.com", "registry.npmjs.org"]));
    let removed: Vec<_> = k.rejected.iter().map(|r| r.value.clone()).collect();
    assert_eq!(removed, [json!("api.openai.com"), json!("npmjs.org")]);
    for r in &k.rejected {
        let c = r.constraint.as_ref().unwrap();
        assert_eq!((c.op.as_str(), c.source), ("within", SourceKind::System));
        assert!(
            r.reason
                .contains(r#"is not within ["github.com", "*.npmjs.org"] required by system"#),
            "{}",
            r.reason
        );
    }
}

#[test]
fn excludes_removes_listed_elements() {
    let eff = resolve(
        schema(),
        vec![
            system(&requirement(
                "network.allowed_domains",
                r#"excludes = ["api.openai.com"]"#,
            )),
            user("network.allowed_domains = [\"github.com\", \"api.openai.com\"]\n"),
        ],
    );
    let k = &eff.keys["network.allowed_domains"];
    assert_eq!(k.value, strings(&["github.com"]));
    assert_eq!(k.rejected[0].value, json!("api.openai.com"));
    assert_eq!(
        k.rejected[0].reason,
        r#""api.openai.com" is excluded required by system"#
    );
    assert_eq!(k.rejected[0].constraint.as_ref().unwrap().op, "excludes");
}

#[test]
fn default_names_the_fallback_below_every_proposal() {
    let base = system(&requirement(
        "sandbox.mode",
        r#"allowed = ["read-only", "workspace-write"], default = "read-only""#,
    ));
    // No proposal: the requirement's default beats the schema default.
    let eff = resolve(schema(), vec![base.clone()]);
    let k = &eff.keys["sandbox.mode"];
    assert_eq!(k.value, json!("read-only"));
    assert_eq!(k.source, "system");
    assert_eq!(k.location, format!("{SYSTEM}:2:1"));
    // A compliant proposal beats the default.
    let eff = resolve(
        schema(),
        vec![base.clone(), user("sandbox.mode = \"workspace-write\"\n")],
    );
    assert_eq!(eff.keys["sandbox.mode"].value, json!("workspace-write"));
    assert_eq!(eff.keys["sandbox.mode"].source, "user");
    // A refused proposal falls back to the default, not to the schema default.
    let eff = resolve(
        schema(),
        vec![base.clone(), user("sandbox.mode = \"full-access\"\n")],
    );
    assert_eq!(eff.keys["sandbox.mode"].value, json!("read-only"));
    // Managed [settings] rank above the requirement's default.
    let with_settings = system(
        "[settings]\nsandbox.mode = \"workspace-write\"\n[requirements]\n\"sandbox.mode\" = { default = \"read-only\" }\n",
    );
    let eff = resolve(schema(), vec![with_settings]);
    assert_eq!(eff.keys["sandbox.mode"].value, json!("workspace-write"));
    assert_eq!(eff.keys["sandbox.mode"].location, format!("{SYSTEM}:2:9"));
    // `default` alone restricts nothing.
    let only_default = system(&requirement("sandbox.mode", r#"default = "read-only""#));
    assert_eq!(
        admissible(&[only_default], "sandbox.mode"),
        ["read-only", "workspace-write", "full-access"]
    );
}

#[test]
fn list_operators_refuse_non_lists_and_order_operators_refuse_unordered_settings() {
    for (key, ops, expect) in [
        (
            "sandbox.mode",
            r#"includes = ["read-only"]"#,
            "applies to lists only",
        ),
        (
            "sandbox.mode",
            r#"within = ["read-only"]"#,
            "applies to lists only",
        ),
        (
            "sandbox.mode",
            r#"excludes = ["read-only"]"#,
            "applies to lists only",
        ),
        (
            "network.allowed_domains",
            r#"min = ["a.com"]"#,
            "needs an ordered setting",
        ),
        ("models.default", r#"max = "x""#, "needs an ordered setting"),
        (
            "sandbox.network",
            r#"pattern = "true""#,
            "applies to strings and lists of strings",
        ),
        (
            "sandbox.mode",
            r#"allowd = ["read-only"]"#,
            "did you mean `allowed`?",
        ),
        ("sandbox.mode", "", "empty constraint"),
    ] {
        let text = requirement(key, ops);
        let err = Layer::parse_policy(schema(), SourceKind::System, SYSTEM, &text).unwrap_err();
        assert!(err.to_string().contains(expect), "{key} {{ {ops} }}: {err}");
        assert!(
            err.to_string().starts_with(&format!("{SYSTEM}:2:")),
            "{err}"
        );
    }
}

// ---------------------------------------------------------------------------
// Every pair of operators across two managed layers: mdm (higher) and system.

/// Two samples per operator: `.1` is set by mdm, `.2` by system.
type Sample = (&'static str, &'static str, &'static str);

/// On `sandbox.mode` (read-only < workspace-write < full-access; schema default workspace-write).
const SCALAR_SAMPLES: [Sample; 7] = [
    ("value", r#""workspace-write""#, r#""read-only""#),
    (
        "allowed",
        r#"["read-only", "workspace-write"]"#,
        r#"["workspace-write", "full-access"]"#,
    ),
    ("denied", r#"["full-access"]"#, r#"["workspace-write"]"#),
    ("min", r#""workspace-write""#, r#""full-access""#),
    ("max", r#""workspace-write""#, r#""read-only""#),
    (
        "pattern",
        r#""read-only|workspace-write""#,
        r#""(full-access|read-only)""#,
    ),
    ("default", r#""read-only""#, r#""full-access""#),
];

/// `(mdm operator, system operator, admissible values, effective value, conflict)`,
/// with ro/ww/fa for read-only/workspace-write/full-access. On a conflict the
/// system constraint is dropped: mdm's alone decides.
const SCALAR_PAIRS: [(&str, &str, &str, &str, bool); 49] = [
    ("value", "value", "ww", "ww", true),
    ("value", "allowed", "ww", "ww", false),
    ("value", "denied", "ww", "ww", true),
    ("value", "min", "ww", "ww", true),
    ("value", "max", "ww", "ww", true),
    ("value", "pattern", "ww", "ww", true),
    ("value", "default", "ww", "ww", false),
    ("allowed", "value", "ro", "ro", false),
    ("allowed", "allowed", "ww", "ww", false),
    ("allowed", "denied", "ro", "ro", false),
    ("allowed", "min", "ro ww", "ww", true),
    ("allowed", "max", "ro", "ro", false),
    ("allowed", "pattern", "ro", "ro", false),
    ("allowed", "default", "ro ww", "ww", false),
    ("denied", "value", "ro", "ro", false),
    ("denied", "allowed", "ww", "ww", false),
    ("denied", "denied", "ro", "ro", false),
    ("denied", "min", "ro ww", "ww", true),
    ("denied", "max", "ro", "ro", false),
    ("denied", "pattern", "ro", "ro", false),
    ("denied", "default", "ro ww", "ww", false),
    ("min", "value", "ww fa", "ww", true),
    ("min", "allowed", "ww fa", "ww", false),
    ("min", "denied", "fa", "fa", false),
    ("min", "min", "fa", "fa", false),
    ("min", "max", "ww fa", "ww", true),
    ("min", "pattern", "fa", "fa", false),
    ("min", "default", "ww fa", "fa", false),
    ("max", "value", "ro", "ro", false),
    ("max", "allowed", "ww", "ww", false),
    ("max", "denied", "ro", "ro", false),
    ("max", "min", "ro ww", "ww", true),
    ("max", "max", "ro", "ro", false),
    ("max", "pattern", "ro", "ro", false),
    ("max", "default", "ro ww", "ww", false),
    ("pattern", "value", "ro", "ro", false),
    ("pattern", "allowed", "ww", "ww", false),
    ("pattern", "denied", "ro", "ro", false),
    ("pattern", "min", "ro ww", "ww", true),
    ("pattern", "max", "ro", "ro", false),
    ("pattern", "pattern", "ro", "ro", false),
    ("pattern", "default", "ro ww", "ww", false),
    ("default", "value", "ro", "ro", false),
    ("default", "allowed", "ww fa", "ww", false),
    ("default", "denied", "ro fa", "ro", false),
    ("default", "min", "fa", "fa", false),
    ("default", "max", "ro", "ro", false),
    ("default", "pattern", "ro fa", "ro", false),
    ("default", "default", "ro ww fa", "ro", false),
];

fn short(v: &str) -> &'static str {
    match v {
        "read-only" => "ro",
        "workspace-write" => "ww",
        "full-access" => "fa",
        other => panic!("unexpected sandbox.mode {other}"),
    }
}

fn long(v: &str) -> &'static str {
    match v {
        "ro" => "read-only",
        "ww" => "workspace-write",
        "fa" => "full-access",
        other => panic!("unexpected abbreviation {other}"),
    }
}

fn sample(samples: &[Sample], op: &str) -> Sample {
    *samples.iter().find(|s| s.0 == op).unwrap()
}

/// Checks the conflict diagnostics of a pair: none, or exactly one naming
/// the dropped system constraint and the mdm one that won.
fn assert_conflict(eff: &Effective, key: &str, expected: bool, what: &str) {
    let found = conflicts(eff, key);
    if !expected {
        assert!(found.is_empty(), "{what}: unexpected conflict {found:?}");
        return;
    }
    assert_eq!(found.len(), 1, "{what}: {:?}", eff.diagnostics);
    let d = found[0];
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(
        d.source,
        Some(SourceKind::System),
        "{what}: the lower source is dropped"
    );
    assert_eq!(
        d.location.as_ref().map(ToString::to_string),
        Some(format!("{SYSTEM}:2:1"))
    );
    assert!(
        d.message.contains(&format!(
            "from system ({SYSTEM}:2:1) contradicts mdm ({MDM}:2:1)"
        )),
        "{what}: {}",
        d.message
    );
    assert!(
        d.message.contains("the higher-ranked source wins"),
        "{what}: {}",
        d.message
    );
    // The dropped constraint leaves no trace in the combined requirement.
    let sources = &eff.keys[key].constraint.as_ref().unwrap()["sources"];
    assert_eq!(sources, &json!(["mdm"]), "{what}");
}

#[test]
fn every_pair_of_scalar_operators() {
    let key = "sandbox.mode";
    let ops: Vec<&str> = SCALAR_SAMPLES.iter().map(|s| s.0).collect();
    let mut seen = 0;
    for hi in &ops {
        for lo in &ops {
            let row = SCALAR_PAIRS.iter().find(|r| r.0 == *hi && r.1 == *lo);
            let (_, _, admits, value, conflict) =
                *row.unwrap_or_else(|| panic!("no row for {hi} × {lo}"));
            seen += 1;
            let layers = vec![
                // Listed lowest first: the order of the vector does not matter.
                system(&requirement(
                    key,
                    &format!("{lo} = {}", sample(&SCALAR_SAMPLES, lo).2),
                )),
                mdm(&requirement(
                    key,
                    &format!("{hi} = {}", sample(&SCALAR_SAMPLES, hi).1),
                )),
            ];
            let what = format!("mdm {hi} × system {lo}");
            let eff = resolve(schema(), layers.clone());
            assert_eq!(eff.status, Status::Ok);
            assert_eq!(
                eff.keys[key].value,
                json!(long(value)),
                "{what}: {:?}",
                eff.keys[key]
            );
            let got: Vec<&str> = admissible(&layers, key).iter().map(|v| short(v)).collect();
            assert_eq!(got.join(" "), admits, "{what}");
            assert_conflict(&eff, key, conflict, &what);
            // A single admissible value is a lock.
            assert_eq!(
                eff.keys[key].locked,
                admits.split_whitespace().count() == 1,
                "{what}"
            );
        }
    }
    assert_eq!(seen, SCALAR_PAIRS.len());
}

const G: &str = "github.com";
const N: &str = "registry.npmjs.org";
const O: &str = "api.openai.com";
const A: &str = "git.acme.example";

/// On `network.allowed_domains` (a list that merges by replace), with g, n, o, a
/// for github.com, registry.npmjs.org, api.openai.com, git.acme.example.
const LIST_SAMPLES: [Sample; 8] = [
    (
        "value",
        r#"["github.com"]"#,
        r#"["github.com", "git.acme.example"]"#,
    ),
    (
        "allowed",
        r#"[["github.com"], ["github.com", "api.openai.com"]]"#,
        r#"[["github.com"], ["github.com", "git.acme.example"]]"#,
    ),
    (
        "denied",
        r#"[["github.com", "api.openai.com"]]"#,
        r#"[["github.com"]]"#,
    ),
    (
        "pattern",
        r#"'.*\.(com|org)'"#,
        r#"'github\.com|.*\.example'"#,
    ),
    (
        "includes",
        r#"["registry.npmjs.org"]"#,
        r#"["git.acme.example"]"#,
    ),
    (
        "within",
        r#"["github.com", "*.npmjs.org"]"#,
        r#"["github.com", "*.example"]"#,
    ),
    (
        "excludes",
        r#"["api.openai.com"]"#,
        r#"["registry.npmjs.org"]"#,
    ),
    (
        "default",
        r#"["registry.npmjs.org"]"#,
        r#"["git.acme.example"]"#,
    ),
];

/// `(mdm operator, system operator, effective value, conflict)` when the user
/// proposes `[g, o]`.
const LIST_PAIRS: [(&str, &str, &str, bool); 64] = [
    ("value", "value", "g", true),
    ("value", "allowed", "g", false),
    ("value", "denied", "g", true),
    ("value", "pattern", "g", false),
    ("value", "includes", "g", true),
    ("value", "within", "g", false),
    ("value", "excludes", "g", false),
    ("value", "default", "g", false),
    ("allowed", "value", "g o", true),
    ("allowed", "allowed", "g", false),
    ("allowed", "denied", "g o", false),
    ("allowed", "pattern", "g", false),
    // No allowed list includes git.acme.example.
    ("allowed", "includes", "g o", true),
    ("allowed", "within", "g", false),
    ("allowed", "excludes", "g o", false),
    ("allowed", "default", "g o", false),
    ("denied", "value", "g a", false),
    ("denied", "allowed", "g", false),
    ("denied", "denied", "", false),
    ("denied", "pattern", "g", false),
    ("denied", "includes", "g o a", false),
    ("denied", "within", "g", false),
    ("denied", "excludes", "", false),
    ("denied", "default", "a", false),
    ("pattern", "value", "g o", true),
    ("pattern", "allowed", "g", false),
    ("pattern", "denied", "g o", false),
    ("pattern", "pattern", "g", false),
    ("pattern", "includes", "g o", true),
    ("pattern", "within", "g", false),
    ("pattern", "excludes", "g o", false),
    ("pattern", "default", "g o", false),
    ("includes", "value", "g o n", true),
    // No allowed list includes registry.npmjs.org.
    ("includes", "allowed", "g o n", true),
    ("includes", "denied", "g o n", false),
    ("includes", "pattern", "g o n", true),
    ("includes", "includes", "g o n a", false),
    // Includes not within.
    ("includes", "within", "g o n", true),
    // Includes versus excludes.
    ("includes", "excludes", "g o n", true),
    ("includes", "default", "g o n", false),
    ("within", "value", "g", true),
    ("within", "allowed", "g", false),
    ("within", "denied", "", false),
    ("within", "pattern", "g", false),
    ("within", "includes", "g", true),
    ("within", "within", "g", false),
    ("within", "excludes", "g", false),
    ("within", "default", "g", false),
    ("excludes", "value", "g a", false),
    ("excludes", "allowed", "g", false),
    ("excludes", "denied", "", false),
    ("excludes", "pattern", "g", false),
    ("excludes", "includes", "g a", false),
    ("excludes", "within", "g", false),
    ("excludes", "excludes", "g", false),
    ("excludes", "default", "g", false),
    ("default", "value", "g a", false),
    ("default", "allowed", "g", false),
    ("default", "denied", "g o", false),
    ("default", "pattern", "g", false),
    ("default", "includes", "g o a", false),
    ("default", "within", "g", false),
    ("default", "excludes", "g o", false),
    ("default", "default", "g o", false),
];

fn domains(abbrev: &str) -> Value {
    let names: Vec<&str> = abbrev
        .split_whitespace()
        .map(|a| match a {
            "g" => G,
            "n" => N,
            "o" => O,
            "a" => A,
            other => panic!("unexpected abbreviation {other}"),
        })
        .collect();
    strings(&names)
}

#[test]
fn every_pair_of_list_operators() {
    let key = "network.allowed_domains";
    let ops: Vec<&str> = LIST_SAMPLES.iter().map(|s| s.0).collect();
    let mut seen = 0;
    for hi in &ops {
        for lo in &ops {
            let row = LIST_PAIRS.iter().find(|r| r.0 == *hi && r.1 == *lo);
            let (_, _, value, conflict) = *row.unwrap_or_else(|| panic!("no row for {hi} × {lo}"));
            seen += 1;
            let what = format!("mdm {hi} × system {lo}");
            let eff = resolve(
                schema(),
                vec![
                    user(&format!("network.allowed_domains = [\"{G}\", \"{O}\"]\n")),
                    system(&requirement(
                        key,
                        &format!("{lo} = {}", sample(&LIST_SAMPLES, lo).2),
                    )),
                    mdm(&requirement(
                        key,
                        &format!("{hi} = {}", sample(&LIST_SAMPLES, hi).1),
                    )),
                ],
            );
            let report = eff
                .keys
                .get(key)
                .unwrap_or_else(|| panic!("{what}: unset, {:?}", eff.diagnostics));
            assert_eq!(report.value, domains(value), "{what}: {report:?}");
            assert_conflict(&eff, key, conflict, &what);
            // Every refused element or list names the operator and its setter.
            for r in &report.rejected {
                let c = r.constraint.as_ref().unwrap();
                assert!(c.op == *hi || c.op == *lo, "{what}: refused by {}", c.op);
                let at = if c.source == SourceKind::Mdm {
                    MDM
                } else {
                    SYSTEM
                };
                assert_eq!(c.location, format!("{at}:2:1"), "{what}");
                assert!(
                    r.reason.ends_with(&format!("required by {}", c.source)),
                    "{what}: {}",
                    r.reason
                );
            }
        }
    }
    assert_eq!(seen, LIST_PAIRS.len());
}

#[test]
fn the_design_examples_of_conflicts() {
    // mdm allowed [a] vs system allowed [b].
    let eff = resolve(
        schema(),
        vec![
            mdm(&requirement("auth.method", r#"allowed = ["sso"]"#)),
            system(&requirement("auth.method", r#"allowed = ["device-code"]"#)),
            user("auth.method = \"device-code\"\n"),
        ],
    );
    assert_eq!(eff.get("auth.method"), Some(&json!("sso")));
    assert_conflict(&eff, "auth.method", true, "allowed × allowed");
    assert!(
        conflicts(&eff, "auth.method")[0]
            .message
            .contains("have no value in common")
    );
    assert_eq!(
        eff.keys["auth.method"].rejected[0]
            .constraint
            .as_ref()
            .unwrap()
            .source,
        SourceKind::Mdm
    );

    // min above max.
    let eff = resolve(
        schema(),
        vec![
            mdm(&requirement("approvals.policy", r#"max = "on-request""#)),
            system(&requirement("approvals.policy", r#"min = "on-failure""#)),
        ],
    );
    assert_conflict(&eff, "approvals.policy", true, "max × min");
    assert!(
        conflicts(&eff, "approvals.policy")[0]
            .message
            .contains(r#"min "on-failure" is above max "on-request""#)
    );
    assert_eq!(eff.get("approvals.policy"), Some(&json!("on-request")));

    // Two different pins.
    let eff = resolve(
        schema(),
        vec![
            mdm(&requirement("sandbox.network", "value = false")),
            system(&requirement("sandbox.network", "value = true")),
        ],
    );
    assert_conflict(&eff, "sandbox.network", true, "value × value");
    assert_eq!(eff.get("sandbox.network"), Some(&json!(false)));
    assert!(eff.keys["sandbox.network"].locked);

    // includes vs excludes, and includes not within, both directions.
    for (hi, lo) in [
        (
            r#"includes = ["pastebin.com"]"#,
            r#"excludes = ["pastebin.com"]"#,
        ),
        (
            r#"excludes = ["pastebin.com"]"#,
            r#"includes = ["pastebin.com"]"#,
        ),
        (
            r#"within = ["*.acme.example"]"#,
            r#"includes = ["pastebin.com"]"#,
        ),
        (
            r#"includes = ["pastebin.com"]"#,
            r#"within = ["*.acme.example"]"#,
        ),
    ] {
        let eff = resolve(
            schema(),
            vec![
                mdm(&requirement("network.denied_domains", hi)),
                system(&requirement("network.denied_domains", lo)),
            ],
        );
        assert_conflict(
            &eff,
            "network.denied_domains",
            true,
            &format!("{hi} × {lo}"),
        );
        let message = &conflicts(&eff, "network.denied_domains")[0].message;
        assert!(
            message.contains(r#"required element "pastebin.com" is"#)
                || message.contains(r#"would remove the required element "pastebin.com""#),
            "{message}"
        );
        let expected = if hi.starts_with("includes") {
            json!(["pastebin.com"])
        } else {
            json!([])
        };
        assert_eq!(
            eff.get("network.denied_domains"),
            Some(&expected),
            "{hi} × {lo}"
        );
    }
}

#[test]
fn conflicts_are_per_key_and_keep_the_rest_of_a_layer() {
    let eff = resolve(
        schema(),
        vec![
            mdm(&requirement("sandbox.mode", r#"value = "read-only""#)),
            system(
                "[requirements]\n\"sandbox.mode\" = { value = \"workspace-write\" }\n\"approvals.policy\" = { max = \"on-request\" }\n",
            ),
        ],
    );
    assert_eq!(eff.get("sandbox.mode"), Some(&json!("read-only")));
    assert_eq!(conflicts(&eff, "sandbox.mode").len(), 1);
    assert!(conflicts(&eff, "approvals.policy").is_empty());
    assert_eq!(
        eff.keys["approvals.policy"].constraint.as_ref().unwrap()["max"],
        json!("on-request")
    );
}

// ---------------------------------------------------------------------------
// Lists: repair and merge.

#[test]
fn lists_are_repaired_and_every_removal_is_recorded() {
    let eff = resolve(
        schema(),
        vec![
            mdm(&requirement(
                "network.allowed_domains",
                r#"within = ["github.com", "*.npmjs.org", "*.acme.example"]"#,
            )),
            system(&requirement(
                "network.allowed_domains",
                r#"includes = ["git.acme.example"], excludes = ["old.npmjs.org"]"#,
            )),
            user(
                "network.allowed_domains = [\"github.com\", \"api.openai.com\", \"old.npmjs.org\", \"registry.npmjs.org\", \"github.com\"]\n",
            ),
        ],
    );
    let k = &eff.keys["network.allowed_domains"];
    assert_eq!(
        k.value,
        strings(&["github.com", "registry.npmjs.org", "git.acme.example"])
    );
    assert_eq!(k.source, "user");
    assert!(!k.locked);
    let removed: Vec<(Value, &str, SourceKind, &str)> = k
        .rejected
        .iter()
        .map(|r| {
            let c = r.constraint.as_ref().unwrap();
            (r.value.clone(), c.op.as_str(), c.source, r.source.as_str())
        })
        .collect();
    assert_eq!(
        removed,
        [
            (json!("api.openai.com"), "within", SourceKind::Mdm, "user"),
            (
                json!("old.npmjs.org"),
                "excludes",
                SourceKind::System,
                "user"
            ),
        ]
    );
    assert_eq!(k.rejected[0].location, format!("{USER}:1:9"));
    assert_eq!(
        k.rejected[0].constraint.as_ref().unwrap().location,
        format!("{MDM}:2:1")
    );
    assert_eq!(
        k.rejected[1].constraint.as_ref().unwrap().location,
        format!("{SYSTEM}:2:1")
    );
}

#[test]
fn union_lists_combine_every_layer_and_replace_lists_take_the_highest() {
    let managed = system(
        "[settings]\nnetwork.denied_domains = [\"pastebin.com\"]\nnetwork.allowed_domains = [\"github.com\"]\n",
    );
    let project = settings(
        SourceKind::Project,
        PROJECT,
        "[network]\ndenied_domains = [\"tracker.example\"]\nallowed_domains = [\"registry.npmjs.org\"]\n",
    );
    let mine = user(
        "[network]\ndenied_domains = [\"pastebin.com\", \"ads.example\"]\nallowed_domains = [\"api.openai.com\"]\n",
    );
    let eff = resolve(schema(), vec![managed, mine, project]);

    // Union: every layer's elements, highest-ranked first, without repeats.
    let denied = &eff.keys["network.denied_domains"];
    assert_eq!(
        denied.value,
        strings(&["tracker.example", "pastebin.com", "ads.example"])
    );
    assert_eq!(denied.source, "project");
    let merged: Vec<(&str, &Value)> = denied
        .merged
        .iter()
        .map(|m| (m.source.as_str(), &m.value))
        .collect();
    // Each layer's list as it proposed it.
    assert_eq!(
        merged,
        [
            ("project", &strings(&["tracker.example"])),
            ("user", &strings(&["pastebin.com", "ads.example"])),
            ("system", &strings(&["pastebin.com"])),
        ]
    );
    assert!(denied.overridden.is_empty());

    // Replace: the highest-ranked list wins whole, the others are overridden.
    let allowed = &eff.keys["network.allowed_domains"];
    assert_eq!(allowed.value, strings(&["registry.npmjs.org"]));
    assert_eq!(allowed.source, "project");
    let overridden: Vec<(&str, &Value)> = allowed
        .overridden
        .iter()
        .map(|o| (o.source.as_str(), &o.value))
        .collect();
    assert_eq!(
        overridden,
        [("user", &strings(&[O])), ("system", &strings(&[G]))]
    );
    assert!(allowed.merged.is_empty());
}

#[test]
fn values_detail_keeps_every_value_source_and_refusal_and_nothing_that_lost() {
    // Unions (with a repeat, an element a kind refuses and one `within`
    // removes), replaced lists, overridden scalars: everything a value
    // reader sees is the same; only the records of what lost are left out.
    let layers = || {
        vec![
            system(&format!(
                "[settings]\nnetwork.denied_domains = [\"Pastebin.COM\"]\nnetwork.allowed_domains = [\"github.com\"]\nsandbox.mode = \"read-only\"\n\n{}",
                requirement("sandbox.writable_roots", "within = [\"/opt/*\"]")
            )),
            user(
                "[network]\ndenied_domains = [\"pastebin.com\", \"999.1.1.1\", \"ads.example\"]\nallowed_domains = [\"api.openai.com\"]\n[sandbox]\nmode = \"workspace-write\"\nwritable_roots = [\"/opt/work\", \"/srv/x\"]\n[commands]\nrules = [{ pattern = [\"git\", \"push\"], decision = \"allow\" }]\n",
            ),
            settings(
                SourceKind::Project,
                PROJECT,
                "[commands]\nrules = [{ pattern = [\"git\", \"push\"], decision = \"allow\" }, { pattern = [\"rm\"], decision = \"forbidden\" }]\n",
            ),
        ]
    };
    let resolve_with = |detail| {
        resolve_stack(
            schema(),
            Stack {
                layers: layers(),
                domain: "dev.mandate".into(),
                detail,
                ..Stack::default()
            },
        )
    };
    let full = resolve_with(Detail::Full);
    let values = resolve_with(Detail::Values);
    assert_eq!(values.digest, full.digest);
    assert_eq!(values.settings(), full.settings());
    assert_eq!(values.diagnostics.len(), full.diagnostics.len());
    assert_eq!(
        values.keys.keys().collect::<Vec<_>>(),
        full.keys.keys().collect::<Vec<_>>()
    );
    let mut lost = 0;
    for (key, f) in &full.keys {
        let v = &values.keys[key];
        assert_eq!(
            (&v.value, &v.source, &v.location, v.locked, &v.constraint),
            (&f.value, &f.source, &f.location, f.locked, &f.constraint),
            "{key}"
        );
        let refused = |r: &KeyReport| {
            r.rejected
                .iter()
                .map(|x| (x.value.clone(), x.source.clone(), x.reason.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(refused(v), refused(f), "{key}");
        assert!(v.overridden.is_empty() && v.merged.is_empty(), "{key}");
        lost += f.overridden.len() + f.merged.len();
    }
    // The full result did have records of what lost, and the union kept
    // each layer's list as written.
    assert!(lost >= 5, "{lost}");
    let denied = &full.keys["network.denied_domains"];
    assert_eq!(
        denied.merged[0].value,
        strings(&["pastebin.com", "999.1.1.1", "ads.example"])
    );
    assert_eq!(denied.merged[1].value, strings(&["Pastebin.COM"]));
    assert_eq!(denied.value, strings(&["pastebin.com", "ads.example"]));
    assert_eq!(full.keys["sandbox.writable_roots"].rejected.len(), 1);
}

#[test]
fn a_union_list_cannot_lose_required_elements() {
    let eff = resolve(
        schema(),
        vec![
            system(&requirement(
                "sandbox.deny_read",
                r#"includes = ["~/.ssh"]"#,
            )),
            user("sandbox.deny_read = [\"~/.cache\"]\n"),
            session(&["sandbox.deny_read=[]"]),
        ],
    );
    assert_eq!(
        eff.get("sandbox.deny_read"),
        Some(&json!(["~/.cache", "~/.ssh"]))
    );
}

// ---------------------------------------------------------------------------
// Precedence.

#[test]
fn a_later_system_file_ranks_above_an_earlier_one() {
    let mut early = policy(
        SourceKind::System,
        "/etc/mandate/policy.d/10-base.toml",
        "[settings]\nsandbox.mode = \"read-only\"\napprovals.policy = \"untrusted\"\n[requirements]\n\"auth.method\" = { value = \"device-code\" }\n",
    );
    early.rank = 1;
    let mut late = policy(
        SourceKind::System,
        "/etc/mandate/policy.d/20-team.toml",
        "[settings]\nsandbox.mode = \"workspace-write\"\n[requirements]\n\"auth.method\" = { value = \"sso\" }\n",
    );
    late.rank = 2;
    for layers in [
        vec![early.clone(), late.clone()],
        vec![late.clone(), early.clone()],
    ] {
        let eff = resolve(schema(), layers);
        let mode = &eff.keys["sandbox.mode"];
        assert_eq!(mode.value, json!("workspace-write"));
        assert_eq!(mode.location, "/etc/mandate/policy.d/20-team.toml:2:9");
        assert_eq!(
            mode.overridden[0].location,
            "/etc/mandate/policy.d/10-base.toml:2:9"
        );
        // The earlier file still counts where the later one is silent.
        assert_eq!(eff.get("approvals.policy"), Some(&json!("untrusted")));
        // Between their requirements, the later file wins the conflict.
        assert_eq!(eff.get("auth.method"), Some(&json!("sso")));
        let c = conflicts(&eff, "auth.method");
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].location.as_ref().map(ToString::to_string).as_deref(),
            Some("/etc/mandate/policy.d/10-base.toml:5:1")
        );
    }
}

#[test]
fn managed_sources_rank_in_the_default_order() {
    // mdm > cloud > system > mdm-user, for settings and for conflicts.
    let layer = |source: SourceKind, mode: &str| {
        policy(
            source,
            &format!("/{source}.toml"),
            &format!(
                "[settings]\nsandbox.mode = \"{mode}\"\n[requirements]\n\"auth.method\" = {{ value = \"{}\" }}\n",
                match source {
                    SourceKind::Mdm => "sso",
                    SourceKind::Cloud => "device-code",
                    _ => "api-key",
                }
            ),
        )
    };
    let eff = resolve(
        schema(),
        vec![
            layer(SourceKind::MdmUser, "full-access"),
            layer(SourceKind::System, "full-access"),
            layer(SourceKind::Cloud, "workspace-write"),
            layer(SourceKind::Mdm, "read-only"),
        ],
    );
    assert_eq!(eff.keys["sandbox.mode"].source, "mdm");
    let losers: Vec<&str> = eff.keys["sandbox.mode"]
        .overridden
        .iter()
        .map(|o| o.source.as_str())
        .collect();
    assert_eq!(losers, ["cloud", "system", "mdm-user"]);
    assert_eq!(eff.get("auth.method"), Some(&json!("sso")));
    let dropped: Vec<Option<SourceKind>> = conflicts(&eff, "auth.method")
        .iter()
        .map(|d| d.source)
        .collect();
    assert_eq!(
        dropped,
        [
            Some(SourceKind::Cloud),
            Some(SourceKind::System),
            Some(SourceKind::MdmUser)
        ]
    );
}

/// The signed precedence rule `network.* = replace`.
fn replace_network() -> Vec<PrecedenceRule> {
    vec![PrecedenceRule {
        keys: "network.*".into(),
        mode: Merge::Replace,
    }]
}

fn stack(layers: Vec<Layer>, precedence: Precedence) -> Stack {
    Stack {
        layers,
        precedence,
        domain: "dev.mandate".into(),
        ..Stack::default()
    }
}

#[test]
fn signed_precedence_can_reorder_sources_and_replace_instead_of_intersecting() {
    let layers = vec![
        mdm(
            "[requirements]\n\"network.allowed_domains\" = { within = [\"github.com\", \"*.npmjs.org\"] }\n\"sandbox.mode\" = { allowed = [\"read-only\"] }\n",
        ),
        system(
            "[requirements]\n\"network.allowed_domains\" = { within = [\"github.com\", \"api.openai.com\"] }\n\"sandbox.mode\" = { allowed = [\"workspace-write\"] }\n",
        ),
        user(
            "network.allowed_domains = [\"github.com\", \"api.openai.com\", \"registry.npmjs.org\"]\n",
        ),
    ];
    let reordered = vec![
        ManagedSource::System,
        ManagedSource::Cloud,
        ManagedSource::Mdm,
        ManagedSource::MdmUser,
    ];

    // Default: intersect, mdm wins conflicts.
    let eff = resolve_stack(schema(), stack(layers.clone(), Precedence::default()));
    assert_eq!(eff.get("network.allowed_domains"), Some(&strings(&[G])));
    assert_eq!(eff.get("sandbox.mode"), Some(&json!("read-only")));
    assert_eq!(
        conflicts(&eff, "sandbox.mode")[0].source,
        Some(SourceKind::System)
    );

    // Reordered: system ranks first, so it wins the conflict; lists still intersect.
    let eff = resolve_stack(
        schema(),
        stack(
            layers.clone(),
            Precedence {
                order: reordered.clone(),
                rules: Vec::new(),
            },
        ),
    );
    assert_eq!(eff.get("network.allowed_domains"), Some(&strings(&[G])));
    assert_eq!(eff.get("sandbox.mode"), Some(&json!("workspace-write")));
    assert_eq!(
        conflicts(&eff, "sandbox.mode")[0].source,
        Some(SourceKind::Mdm)
    );

    // Reordered with replace for network.*: system's constraint alone applies there.
    let eff = resolve_stack(
        schema(),
        stack(
            layers.clone(),
            Precedence {
                order: reordered,
                rules: replace_network(),
            },
        ),
    );
    let k = &eff.keys["network.allowed_domains"];
    assert_eq!(k.value, strings(&[G, O]));
    assert_eq!(k.constraint.as_ref().unwrap()["sources"], json!(["system"]));
    assert_eq!(k.rejected[0].value, json!(N));
    let replaced: Vec<&Diagnostic> = eff
        .diagnostics
        .iter()
        .filter(|d| d.code == "replaced")
        .collect();
    assert_eq!(replaced.len(), 1, "{:?}", eff.diagnostics);
    assert_eq!(replaced[0].severity, Severity::Info);
    assert_eq!(replaced[0].source, Some(SourceKind::Mdm));
    assert_eq!(replaced[0].key.as_deref(), Some("network.allowed_domains"));
    assert!(
        replaced[0]
            .message
            .contains("signed precedence rule: replace")
    );
    // Keys outside the rule still intersect (and conflict).
    assert_eq!(eff.get("sandbox.mode"), Some(&json!("workspace-write")));
    assert_eq!(conflicts(&eff, "sandbox.mode").len(), 1);

    // Replace with the default order: mdm's within alone.
    let eff = resolve_stack(
        schema(),
        stack(
            layers,
            Precedence {
                order: ManagedSource::DEFAULT_ORDER.to_vec(),
                rules: replace_network(),
            },
        ),
    );
    assert_eq!(eff.get("network.allowed_domains"), Some(&strings(&[G, N])));
}

#[test]
fn unmanaged_layers_rank_session_project_user() {
    let eff = resolve(
        schema(),
        vec![
            user(
                "approvals.policy = \"untrusted\"\nsandbox.mode = \"read-only\"\nsandbox.network = true\n",
            ),
            settings(
                SourceKind::Project,
                PROJECT,
                "approvals.policy = \"on-failure\"\nsandbox.mode = \"full-access\"\n",
            ),
            session(&["approvals.policy=never"]),
            system("[settings]\napprovals.policy = \"on-request\"\nsandbox.network = false\n"),
        ],
    );
    assert_eq!(eff.keys["approvals.policy"].source, "session");
    assert_eq!(eff.keys["sandbox.mode"].source, "project");
    // A user's value beats a managed default ([settings] is not a requirement).
    assert_eq!(eff.keys["sandbox.network"].value, json!(true));
    assert_eq!(eff.keys["sandbox.network"].source, "user");
    let losers: Vec<&str> = eff.keys["approvals.policy"]
        .overridden
        .iter()
        .map(|o| o.source.as_str())
        .collect();
    assert_eq!(losers, ["project", "user", "system"]);
}

// ---------------------------------------------------------------------------
// Lockdown, locks, refusals, command rules.

#[test]
fn lockdown_holds_every_setting_at_its_lockdown_value() {
    let layers = vec![
        system(
            "[settings]\nsandbox.mode = \"workspace-write\"\n[requirements]\n\"approvals.policy\" = { value = \"never\" }\n",
        ),
        user(
            "sandbox.mode = \"full-access\"\nsandbox.network = true\nmodels.default = \"gpt-5-codex\"\n",
        ),
    ];
    let eff = resolve_stack(
        schema(),
        Stack {
            layers,
            lockdown: true,
            domain: "dev.mandate".into(),
            ..Stack::default()
        },
    );
    assert_eq!(eff.status, Status::Degraded);
    assert!(eff.is_degraded());
    let raw = schema().raw();
    for setting in schema().settings() {
        let pointer = format!(
            "/properties/{}/x-mandate-lockdown",
            setting.key.replace('.', "/properties/")
        );
        let lockdown = raw.pointer(&pointer).unwrap_or_else(|| panic!("{pointer}"));
        match eff.keys.get(&setting.key) {
            None => assert!(lockdown.is_null(), "{} is unset in lockdown", setting.key),
            Some(k) => {
                assert_eq!(&k.value, lockdown, "{}", setting.key);
                assert_eq!(k.source, "lockdown");
                assert!(k.locked, "{}", setting.key);
            }
        }
    }
    assert_eq!(eff.get("sandbox.mode"), Some(&json!("read-only")));
    assert_eq!(eff.get("approvals.policy"), Some(&json!("untrusted")));
    assert_eq!(eff.get("sandbox.network"), Some(&json!(false)));
    assert_eq!(eff.get("mcp.managed_only"), Some(&json!(true)));
    assert_eq!(eff.get("models.default"), None);
    let refused: Vec<&str> = eff.keys["sandbox.mode"]
        .rejected
        .iter()
        .map(|r| r.source.as_str())
        .collect();
    assert_eq!(refused, ["user", "system"]);
    assert!(
        eff.keys["sandbox.mode"].rejected[0]
            .reason
            .contains("lockdown")
    );
}

#[test]
fn locked_means_nothing_below_can_change_the_value() {
    let cases: [(&str, &str, bool); 9] = [
        ("sandbox.mode", r#"value = "read-only""#, true),
        ("sandbox.mode", r#"allowed = ["read-only"]"#, true),
        ("sandbox.mode", r#"max = "read-only""#, true),
        ("sandbox.mode", r#"min = "full-access""#, true),
        (
            "sandbox.mode",
            r#"denied = ["read-only", "full-access"]"#,
            true,
        ),
        (
            "sandbox.mode",
            r#"allowed = ["read-only", "workspace-write"]"#,
            false,
        ),
        ("sandbox.mode", r#"default = "read-only""#, false),
        ("sandbox.network", r"denied = [true]", true),
        (
            "network.denied_domains",
            r#"includes = ["pastebin.com"]"#,
            false,
        ),
    ];
    for (key, ops, locked) in cases {
        let base = system(&requirement(key, ops));
        let eff = resolve(schema(), vec![base.clone()]);
        assert_eq!(eff.keys[key].locked, locked, "{key} {{ {ops} }}");
        if locked && schema().get(key).unwrap().finite_domain().is_some() {
            assert_eq!(admissible(&[base], key).len(), 1, "{key} {{ {ops} }}");
        }
    }
    // Unconstrained settings are never locked.
    let eff = resolve(schema(), vec![]);
    assert!(eff.keys.values().all(|k| !k.locked));
}

#[test]
fn refusal_reasons_name_the_operator_the_source_and_the_file() {
    let base = system(
        "[policy]\nid = \"acme\"\nversion = 1\n\n[requirements]\n\"sandbox.mode\" = { max = \"workspace-write\" }\n\"auth.credential_store\" = { allowed = [\"keyring\", \"auto\"] }\n",
    );
    for (arg, op, reason, line) in [
        (
            "sandbox.mode=full-access",
            "max",
            r#"above the maximum "workspace-write" required by system"#,
            6,
        ),
        (
            "auth.credential_store=file",
            "allowed",
            r#"not in allowed set ["keyring", "auto"] required by system"#,
            7,
        ),
    ] {
        let key = arg.split_once('=').unwrap().0;
        let eff = resolve(schema(), vec![base.clone(), session(&[arg])]);
        let refused: Vec<_> = eff.keys[key]
            .rejected
            .iter()
            .filter(|r| r.source == "session")
            .collect();
        assert_eq!(refused.len(), 1, "{arg}");
        let r = refused[0];
        assert_eq!(r.location, format!("-c {arg}"));
        assert_eq!(r.reason, reason);
        let c = r.constraint.as_ref().unwrap();
        assert_eq!(c.op, op);
        assert_eq!(c.source, SourceKind::System);
        assert_eq!(c.location, format!("{SYSTEM}:{line}:1"));
    }
    // An accepted value leaves no session refusal.
    let eff = resolve(schema(), vec![base, session(&["sandbox.mode=read-only"])]);
    assert!(eff.keys["sandbox.mode"].rejected.is_empty());
    assert_eq!(eff.keys["sandbox.mode"].source, "session");
}

#[test]
fn the_strictest_matching_command_rule_wins() {
    let eff = resolve(
        schema(),
        vec![
            system(
                r#"[requirements]
"commands.rules" = { includes = [
  { pattern = ["git", "push", "--force"], decision = "forbidden", justification = "shared history" },
  { pattern = ["curl"], decision = "prompt" },
] }
"#,
            ),
            user(
                r#"commands.rules = [
  { pattern = ["git"], decision = "allow" },
  { pattern = ["git", "push"], decision = "allow" },
  { pattern = ["curl"], decision = "allow" },
  { pattern = ["rm", "-rf"], decision = "forbidden" },
]
"#,
            ),
        ],
    );
    assert_eq!(
        eff.get("commands.rules").unwrap().as_array().unwrap().len(),
        6
    );
    for (argv, decision) in [
        (
            &["git", "push", "--force", "origin", "main"][..],
            Some("forbidden"),
        ),
        (&["git", "push", "--force"][..], Some("forbidden")),
        (&["git", "push", "origin"][..], Some("allow")),
        (&["git"][..], Some("allow")),
        (&["curl", "https://example.com"][..], Some("prompt")),
        (&["rm", "-rf", "/"][..], Some("forbidden")),
        (&["rm", "-r"][..], None),
        (&["ls"][..], None),
        (&[][..], None),
        // Tokens match whole, not as prefixes of a token.
        (&["git", "push", "--force-with-lease"][..], Some("allow")),
    ] {
        assert_eq!(eff.command_decision(argv), decision, "{argv:?}");
    }
    // Without rules, nothing matches.
    assert_eq!(resolve(schema(), vec![]).command_decision(&["git"]), None);
}

#[test]
fn the_digest_covers_the_effective_settings() {
    let a = resolve(schema(), vec![user("sandbox.mode = \"read-only\"\n")]);
    let b = resolve(schema(), vec![user("sandbox.mode = \"read-only\"\n")]);
    let c = resolve(schema(), vec![user("sandbox.mode = \"full-access\"\n")]);
    assert_eq!(a.digest, b.digest);
    assert_ne!(a.digest, c.digest);
    assert!(a.digest.starts_with("sha256:") && a.digest.len() == "sha256:".len() + 64);
    assert_eq!(a.digest, digest(&a.settings()));
}

// ---------------------------------------------------------------------------
// Regressions.

#[test]
fn an_allowed_refusal_names_the_layer_whose_own_list_lacks_the_value() {
    let mut base = policy(
        SourceKind::System,
        "/etc/mandate/policy.d/10-base.toml",
        &requirement(
            "approvals.policy",
            r#"allowed = ["untrusted", "on-request", "on-failure"]"#,
        ),
    );
    base.rank = 1;
    let mut team = policy(
        SourceKind::System,
        "/etc/mandate/policy.d/20-team.toml",
        &requirement(
            "approvals.policy",
            r#"allowed = ["untrusted", "on-request"]"#,
        ),
    );
    team.rank = 2;
    // The base file allows on-failure: only the team file refuses it.
    for value in ["on-failure", "never"] {
        let eff = resolve(
            schema(),
            vec![
                base.clone(),
                team.clone(),
                session(&[&format!("approvals.policy={value}")]),
            ],
        );
        let r = &eff.keys["approvals.policy"].rejected[0];
        assert_eq!(
            r.constraint.as_ref().unwrap().location,
            "/etc/mandate/policy.d/20-team.toml:2:1",
            "{value}"
        );
        assert_eq!(
            r.reason,
            r#"not in allowed set ["untrusted", "on-request"] required by system"#
        );
    }
    // Overlapping sets across sources: each refusal names the source that refuses.
    let layers = vec![
        mdm(&requirement(
            "auth.method",
            r#"allowed = ["sso", "device-code"]"#,
        )),
        system(&requirement(
            "auth.method",
            r#"allowed = ["device-code", "api-key"]"#,
        )),
    ];
    for (value, by) in [("sso", SourceKind::System), ("api-key", SourceKind::Mdm)] {
        let mut stack = layers.clone();
        stack.push(session(&[&format!("auth.method={value}")]));
        let eff = resolve(schema(), stack);
        let k = &eff.keys["auth.method"];
        assert_eq!(k.value, json!("device-code"));
        let c = k.rejected[0].constraint.as_ref().unwrap();
        assert_eq!(c.source, by, "{value}");
        assert!(
            k.rejected[0].reason.ends_with(&format!("required by {by}")),
            "{}",
            k.rejected[0].reason
        );
    }
}

#[test]
fn a_list_with_an_allowed_set_falls_back_to_an_allowed_list_not_to_unset() {
    // Unset would mean "no allowlist": the first allowed list that complies applies.
    let eff = resolve(
        schema(),
        vec![
            system(&requirement(
                "mcp.allowed_servers",
                r#"allowed = [[{ name = "docs", command = "/opt/docs-mcp" }], [{ name = "docs", command = "/opt/docs-mcp" }, { name = "wiki", url = "https://wiki.acme.example/mcp" }]]"#,
            )),
            user("mcp.allowed_servers = [{ name = \"mine\", command = \"/usr/bin/mine\" }]\n"),
        ],
    );
    let k = &eff.keys["mcp.allowed_servers"];
    assert_eq!(
        k.value,
        json!([{ "name": "docs", "command": "/opt/docs-mcp" }])
    );
    assert_eq!(k.source, "system");
    assert_eq!(
        k.rejected.len(),
        1,
        "only the user's proposal is reported: {:?}",
        k.rejected
    );
    assert_eq!(k.rejected[0].source, "user");
}

#[test]
fn a_refused_schema_default_is_not_reported_as_a_refusal() {
    // Neither for a scalar…
    let eff = resolve(
        schema(),
        vec![system(&requirement(
            "telemetry.otel.exporter",
            r#"min = "otlp-http""#,
        ))],
    );
    assert_eq!(
        eff.get("telemetry.otel.exporter"),
        Some(&json!("otlp-http"))
    );
    assert!(eff.keys["telemetry.otel.exporter"].rejected.is_empty());
    // …nor for a list.
    let eff = resolve(
        schema(),
        vec![system(&requirement(
            "network.allowed_domains",
            r#"allowed = [["github.com"]]"#,
        ))],
    );
    assert_eq!(eff.get("network.allowed_domains"), Some(&strings(&[G])));
    assert!(
        eff.keys["network.allowed_domains"].rejected.is_empty(),
        "{:?}",
        eff.keys["network.allowed_domains"]
    );
}

#[test]
fn a_default_the_other_operators_refuse_is_reported() {
    let eff = resolve(
        schema(),
        vec![system(&requirement(
            "sandbox.mode",
            r#"max = "workspace-write", default = "full-access""#,
        ))],
    );
    assert_eq!(eff.get("sandbox.mode"), Some(&json!("workspace-write")));
    let d = eff
        .diagnostics
        .iter()
        .find(|d| d.code == "default-refused")
        .expect("a default-refused diagnostic");
    assert_eq!(d.key.as_deref(), Some("sandbox.mode"));
    assert!(d.message.contains("above the maximum"), "{}", d.message);
}
