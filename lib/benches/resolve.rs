//! How long resolution takes on a large, generated machine, against the floor
//! of merely parsing the same TOML.
//!
//! The stack is generated deterministically (no randomness, no files):
//!
//! - a schema of 1,000 generated settings (ordered enums, booleans, strings,
//!   string lists merged by union or replace, integers; every one with
//!   `x-mandate-lockdown`) plus the bundled schema's `commands` and `network`
//!   groups, loaded with [`Schema::from_json`];
//! - four managed policy documents (`mdm`, `cloud`, `system`, `system`) with
//!   `[settings]` and `[requirements]` over those settings, 2,000 command
//!   rules (500 per layer) and 5,000 domain patterns (a `within` of 1,000
//!   globs, 2,000 allowed domains, 4 × 500 denied domains);
//! - a user config.
//!
//! Groups, all over the same five documents held in memory:
//!
//! - `parse_only`: `toml_edit::Document::parse` of each document, nothing
//!   else: the floor;
//! - `parse_and_layer`: [`Layer::parse_policy`] / [`Layer::parse_settings`]
//!   for each (TOML, locations, schema checks, constraint parsing);
//! - `resolve`: the same plus [`resolve_stack`]: the whole job;
//! - `resolve_only`: [`resolve_stack`] over pre-parsed layers (cloned outside
//!   the timed section).
//!
//! Run with `cargo bench -p mandate --bench resolve`; `docs/benchmarks.md`
//! has the figures and how to read them.

#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main,
};
use mandate::json;
use mandate::resolve::{Stack, Status, resolve_stack};
use mandate::schema::AGENT_POLICY_SCHEMA;
use mandate::value::{Map, Value};
use mandate::{Layer, Schema, SourceKind};

/// Generated settings.
const SETTINGS: usize = 1_000;
/// Settings per group (`g00.s0000` … `g19.s0999`).
const PER_GROUP: usize = 50;
/// Command rules per managed layer (4 layers: 2,000 in all).
const RULES_PER_LAYER: usize = 500;
/// Glob patterns in the `within` on `network.allowed_domains`.
const WITHIN_PATTERNS: usize = 1_000;
/// Domains proposed for `network.allowed_domains` (by the cloud layer).
const ALLOWED_DOMAINS: usize = 2_000;
/// Denied domains per managed layer (4 layers: 2,000 in all).
const DENIED_PER_LAYER: usize = 500;

/// The managed layers: source, origin, rank within the source.
const MANAGED: [(SourceKind, &str, u32); 4] = [
    (
        SourceKind::Mdm,
        "/Library/Managed Preferences/dev.mandate.plist",
        0,
    ),
    (SourceKind::Cloud, "/var/lib/mandate/cloud/policy.toml", 0),
    (SourceKind::System, "/etc/mandate/policy.d/10-base.toml", 1),
    (SourceKind::System, "/etc/mandate/policy.d/20-team.toml", 2),
];
const USER_ORIGIN: &str = "/home/ana/.config/mandate/config.toml";

#[derive(Clone, Copy)]
enum Shape {
    Enum,
    Bool,
    Text,
    List,
    Integer,
}

fn shape(i: usize) -> Shape {
    match i % 5 {
        0 => Shape::Enum,
        1 => Shape::Bool,
        2 => Shape::Text,
        3 => Shape::List,
        _ => Shape::Integer,
    }
}

fn key(i: usize) -> String {
    format!("g{:02}.s{i:04}", i / PER_GROUP)
}

/// The generated schema, with the bundled `commands` and `network` groups.
fn schema_json() -> String {
    let bundled: Value =
        serde_json::from_str(AGENT_POLICY_SCHEMA).expect("the bundled schema is JSON");
    let mut groups = Map::new();
    for i in 0..SETTINGS {
        let node = match shape(i) {
            Shape::Enum => json!({
                "type": "string",
                "enum": ["strict", "medium", "loose"],
                "x-mandate-order": ["strict", "medium", "loose"],
                "x-mandate-lockdown": "strict",
                "default": "medium",
            }),
            Shape::Bool => {
                json!({ "type": "boolean", "x-mandate-lockdown": false, "default": false })
            }
            Shape::Text => json!({
                "type": "string",
                "maxLength": 64,
                "x-mandate-lockdown": "locked",
                "default": "standard",
            }),
            Shape::List => json!({
                "type": "array",
                "items": { "type": "string", "minLength": 1 },
                "x-mandate-merge": if (i / 5) % 2 == 0 { "union" } else { "replace" },
                "x-mandate-lockdown": [],
                "default": [],
            }),
            Shape::Integer => json!({
                "type": "integer",
                "minimum": 0,
                "maximum": 1000,
                "x-mandate-lockdown": 0,
                "default": 10,
            }),
        };
        let group = groups
            .entry(format!("g{:02}", i / PER_GROUP))
            .or_insert_with(|| json!({ "type": "object", "properties": {} }));
        if let Some(properties) = group.get_mut("properties").and_then(Value::as_object_mut) {
            properties.insert(format!("s{i:04}"), node);
        }
    }
    for name in ["commands", "network"] {
        groups.insert(name.into(), bundled["properties"][name].clone());
    }
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": groups,
        "$defs": bundled["$defs"].clone(),
    });
    schema.to_string()
}

/// A JSON value written as TOML (strings, numbers, booleans and arrays of
/// them print the same in both).
fn toml(v: &Value) -> String {
    v.to_string()
}

/// The value layer `k` proposes for setting `i`.
fn proposal(i: usize, k: usize) -> Value {
    match shape(i) {
        Shape::Enum => json!(["strict", "medium", "loose"][(i + k) % 3]),
        Shape::Bool => json!((i + k).is_multiple_of(2)),
        Shape::Text => json!(format!("value-{k}-{i}")),
        Shape::List => json!(["a", "b", format!("x{k}")]),
        Shape::Integer => json!((i * 7 + k * 13) % 1000),
    }
}

/// The constraint layer `k` sets on setting `i`, as an inline TOML table.
fn requirement(i: usize, k: usize) -> String {
    // Every 97th setting: the lowest layer contradicts the others (a conflict
    // to report, as on a real fleet).
    let conflict = k == 3 && i.is_multiple_of(97);
    match (shape(i), k) {
        (Shape::Enum, _) if conflict => r#"{ value = "loose" }"#.into(),
        (Shape::Enum, 0) => r#"{ allowed = ["strict", "medium"] }"#.into(),
        (Shape::Enum, 1) => r#"{ max = "medium" }"#.into(),
        (Shape::Enum, 2) => r#"{ denied = ["loose"], default = "strict" }"#.into(),
        (Shape::Enum, _) => r#"{ min = "medium" }"#.into(),
        (Shape::Bool, _) if conflict => "{ value = true }".into(),
        (Shape::Bool, 0) => "{ denied = [true] }".into(),
        (Shape::Bool, 1) => "{ allowed = [false, true] }".into(),
        (Shape::Bool, 2) => "{ default = false }".into(),
        (Shape::Bool, _) => "{ value = false }".into(),
        (Shape::Text, 0) => r#"{ pattern = "^[a-z0-9-]+$" }"#.into(),
        (Shape::Text, 1) => r#"{ denied = ["forbidden", "root"] }"#.into(),
        (Shape::Text, 2) => {
            format!(r#"{{ allowed = ["standard", "value-0-{i}", "value-2-{i}"] }}"#)
        }
        (Shape::Text, _) => r#"{ default = "standard" }"#.into(),
        (Shape::List, 0) => r#"{ includes = ["a"] }"#.into(),
        (Shape::List, 1) => r#"{ excludes = ["x3"] }"#.into(),
        (Shape::List, 2) => r#"{ within = ["a", "b", "x*", "user-*"] }"#.into(),
        (Shape::List, _) => r#"{ excludes = ["b"] }"#.into(),
        (Shape::Integer, _) if conflict => "{ min = 950 }".into(),
        (Shape::Integer, 0) => "{ min = 5 }".into(),
        (Shape::Integer, 1) => "{ max = 900 }".into(),
        (Shape::Integer, 2) => "{ min = 10, default = 50 }".into(),
        (Shape::Integer, _) => "{ max = 500 }".into(),
    }
}

/// Managed policy document number `k` (0 = mdm … 3 = the second system file).
fn managed_document(k: usize) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "[policy]\nid = \"bench-{k}\"\nversion = {}\nexpires = 2099-01-01T00:00:00Z\n",
        k + 1
    );
    t.push_str("[settings]\n");
    for i in (0..SETTINGS).filter(|i| (i + k).is_multiple_of(2)) {
        let _ = writeln!(t, "{} = {}", key(i), toml(&proposal(i, k)));
    }
    t.push_str("commands.rules = [\n");
    for j in 0..RULES_PER_LAYER {
        let n = k * RULES_PER_LAYER + j;
        let decision = ["allow", "prompt", "forbidden"][j % 3];
        let _ = write!(
            t,
            "  {{ pattern = [\"tool{n}\", \"sub{}\"], decision = \"{decision}\"",
            j % 7
        );
        if decision != "allow" {
            let _ = write!(t, ", justification = \"rule {n} of layer {k}\"");
        }
        t.push_str(" },\n");
    }
    t.push_str("]\nnetwork.denied_domains = [\n");
    for j in 0..DENIED_PER_LAYER {
        let _ = writeln!(t, "  \"paste{k}-{j}.example.net\",");
    }
    t.push_str("]\n");
    if k == 1 {
        t.push_str("network.allowed_domains = [\n");
        for j in 0..ALLOWED_DOMAINS {
            // A sixth of these lie outside the mdm layer's `within` and are removed.
            let _ = writeln!(
                t,
                "  \"host{j}.corp{}.example.com\",",
                j % (WITHIN_PATTERNS * 6 / 5)
            );
        }
        t.push_str("]\n");
    }
    t.push_str("\n[requirements]\n");
    for i in (0..SETTINGS).filter(|i| !(i + 2 * k).is_multiple_of(3)) {
        let _ = writeln!(t, "\"{}\" = {}", key(i), requirement(i, k));
    }
    if k == 0 {
        t.push_str("\"network.allowed_domains\" = { within = [\n");
        for n in 0..WITHIN_PATTERNS {
            let _ = writeln!(t, "  \"*.corp{n}.example.com\",");
        }
        t.push_str("] }\n");
        t.push_str("\"network.unknown_domains\" = { max = \"ask\" }\n");
    }
    t
}

/// The user's own config: loose values for a third of the settings.
fn user_document() -> String {
    let mut t = String::new();
    for i in (0..SETTINGS).filter(|i| i % 3 == 0) {
        let value = match shape(i) {
            Shape::Enum => json!("loose"),
            Shape::Bool => json!(true),
            Shape::Text => json!("user-value"),
            Shape::List => json!(["a", "user-tool"]),
            Shape::Integer => json!(999),
        };
        let _ = writeln!(t, "{} = {}", key(i), toml(&value));
    }
    t.push_str("network.unknown_domains = \"allow\"\n");
    t.push_str("commands.rules = [\n");
    for j in 0..50 {
        let _ = writeln!(t, "  {{ pattern = [\"tool{j}\"], decision = \"allow\" }},");
    }
    t.push_str("]\n");
    t
}

/// One input document.
struct Document {
    source: SourceKind,
    origin: &'static str,
    rank: u32,
    text: String,
}

fn documents() -> Vec<Document> {
    let mut docs: Vec<Document> = MANAGED
        .iter()
        .enumerate()
        .map(|(k, &(source, origin, rank))| Document {
            source,
            origin,
            rank,
            text: managed_document(k),
        })
        .collect();
    docs.push(Document {
        source: SourceKind::User,
        origin: USER_ORIGIN,
        rank: 0,
        text: user_document(),
    });
    docs
}

fn parse_layers(schema: &Schema, docs: &[Document]) -> Vec<Layer> {
    docs.iter()
        .map(|d| {
            let mut layer = if d.source.is_managed() {
                Layer::parse_policy(schema, d.source, d.origin, &d.text)
            } else {
                Layer::parse_settings(schema, d.source, d.origin, &d.text)
            }
            .unwrap_or_else(|e| {
                panic!("{}: the generated document does not parse:\n{e}", d.origin)
            });
            layer.rank = d.rank;
            layer
        })
        .collect()
}

fn stack(layers: Vec<Layer>) -> Stack {
    Stack {
        layers,
        domain: mandate::paths::DEFAULT_DOMAIN.into(),
        ..Stack::default()
    }
}

/// Checks once, untimed, that the generated machine exercises what it should.
#[allow(clippy::print_stderr)]
fn sanity_check(schema: &Schema, docs: &[Document]) {
    let effective = resolve_stack(schema, stack(parse_layers(schema, docs)));
    assert_eq!(effective.status, Status::Ok);
    assert_eq!(schema.settings().count(), SETTINGS + 4);
    let rules = effective
        .get("commands.rules")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    assert_eq!(rules, 4 * RULES_PER_LAYER + 50);
    let allowed = &effective.keys["network.allowed_domains"];
    assert!(
        !allowed.rejected.is_empty(),
        "the within must remove some domains"
    );
    let denied = effective
        .get_strings("network.denied_domains")
        .map_or(0, |d| d.len());
    assert_eq!(denied, 4 * DENIED_PER_LAYER);
    let conflicts = effective
        .diagnostics
        .iter()
        .filter(|d| d.code == "conflict")
        .count();
    assert!(conflicts > 0, "the generated policy must contain conflicts");
    let rejected: usize = effective.keys.values().map(|k| k.rejected.len()).sum();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let lines: usize = docs.iter().map(|d| d.text.lines().count()).sum();
    eprintln!(
        "bench stack: {} settings, {} documents, {bytes} bytes, {lines} lines; \
         {} effective keys, {rules} command rules, {conflicts} conflicts, {rejected} refused values",
        schema.settings().count(),
        docs.len(),
        effective.keys.len(),
    );
}

/// A benchmark group with short timings (the whole run takes about a minute).
fn group<'c>(c: &'c mut Criterion, name: &str, bytes: u64) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Bytes(bytes));
    group
}

fn benches(c: &mut Criterion) {
    let schema =
        Schema::from_json("bench.schema.json", &schema_json()).expect("the generated schema loads");
    let docs = documents();
    sanity_check(&schema, &docs);
    let bytes: u64 = docs.iter().map(|d| d.text.len() as u64).sum();
    let layers = parse_layers(&schema, &docs);

    {
        let mut g = group(c, "parse_only", bytes);
        g.bench_function("stack", |b| {
            b.iter(|| {
                docs.iter()
                    .map(|d| {
                        toml_edit::Document::parse(black_box(d.text.as_str())).expect("parses")
                    })
                    .collect::<Vec<_>>()
            })
        });
        g.finish();
    }
    {
        let mut g = group(c, "parse_and_layer", bytes);
        g.bench_function("stack", |b| {
            b.iter(|| parse_layers(&schema, black_box(&docs)))
        });
        g.finish();
    }
    {
        let mut g = group(c, "resolve", bytes);
        g.bench_function("stack", |b| {
            b.iter(|| resolve_stack(&schema, stack(parse_layers(&schema, black_box(&docs)))))
        });
        g.finish();
    }
    {
        let mut g = group(c, "resolve_only", bytes);
        g.bench_function("stack", |b| {
            b.iter_batched(
                || layers.clone(),
                |layers| resolve_stack(&schema, stack(black_box(layers))),
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }
}

criterion_group!(resolve_benches, benches);
criterion_main!(resolve_benches);
