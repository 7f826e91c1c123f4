//! How long one decision takes against large policies, next to a linear
//! scan of the same rules measured in the same run.
//!
//! Generated deterministically, in memory:
//!
//! - **10,000 command rules**: `["tool0000", "sub00"]` … for 1,000 tools ×
//!   10 subcommands, alternating allow / prompt / forbidden;
//! - **100,000 domain patterns**: `network.denied_domains` of 50,000 exact
//!   hosts (`hostN.corpM.example`) and 50,000 subdomain patterns
//!   (`*.zoneN.example`), plus 1,000 allowed domains.
//!
//! Groups:
//!
//! - `command/trie`: `Decider::decide(&Action::Exec(argv))` — the whole
//!   decision (program name, global options, wrappers, the trie walk, the
//!   decision with its rule and provenance);
//! - `command/linear`: `Effective::command_decision(argv)`, the library's
//!   linear prefix scan over the same 10,000 rules (no normalisation);
//! - `domain/suffix-index`: `Decider::decide(&Action::Url(url))` over the
//!   100,000 patterns — URL parsing, IDNA and IP normalisation, the suffix
//!   index walk, the decision;
//! - `domain/linear`: a scan of the same normalised patterns with
//!   `Norm::covers`, for scale;
//! - `shell`: a compound shell string with a wrapper and a substitution.
//!
//! Run with `cargo bench -p mandate --bench decide`; `docs/benchmarks.md`
//! has the figures.

#![allow(missing_docs, clippy::unwrap_used)] // criterion_group! generates undocumented public functions

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mandate::decide::{Action, Verdict};
use mandate::kind::{KindContext, Norm, ValueKind};
use mandate::value::Value;
use mandate::{Layer, Schema, SourceKind, resolve};

const TOOLS: usize = 1_000;
const SUBS: usize = 10;
const EXACT_HOSTS: usize = 50_000;
const ZONES: usize = 50_000;
const ALLOWED: usize = 1_000;

fn commands_policy() -> String {
    let mut text = String::from("[settings]\ncommands.rules = [\n");
    let decisions = ["allow", "prompt", "forbidden"];
    for t in 0..TOOLS {
        for s in 0..SUBS {
            let _ = writeln!(
                text,
                "  {{ pattern = [\"tool{t:04}\", \"sub{s:02}\"], decision = \"{}\" }},",
                decisions[(t + s) % 3]
            );
        }
    }
    text.push_str("]\n");
    text
}

fn domains_policy() -> String {
    let mut text =
        String::from("[settings]\nnetwork.unknown_domains = \"ask\"\nnetwork.denied_domains = [\n");
    for i in 0..EXACT_HOSTS {
        let _ = writeln!(text, "  \"host{i}.corp{}.example\",", i % 97);
    }
    for i in 0..ZONES {
        let _ = writeln!(text, "  \"*.zone{i}.example\",");
    }
    text.push_str("]\nnetwork.allowed_domains = [\n");
    for i in 0..ALLOWED {
        let _ = writeln!(text, "  \"ok{i}.example.com\",");
    }
    text.push_str("]\n");
    text
}

fn bench(c: &mut Criterion) {
    let schema = Schema::bundled();
    let cx = KindContext::default();

    // Commands.
    let layer = Layer::parse_policy(
        schema,
        SourceKind::System,
        "/etc/mandate/policy.d/rules.toml",
        &commands_policy(),
    )
    .unwrap();
    let effective = resolve(schema, vec![layer]);
    let rules = effective
        .get("commands.rules")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    assert_eq!(rules, TOOLS * SUBS);
    let decider = effective.decider(&cx);
    let argv: Vec<String> = ["tool0777", "sub05", "--flag", "value"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let action = Action::Exec(argv.clone());
    let d = decider.decide(&action, None);
    assert_eq!(d.decision, Verdict::Deny, "{}", d.reason);
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    assert_eq!(effective.command_decision(&refs), Some("forbidden"));

    let mut g = c.benchmark_group("command");
    g.sample_size(50)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("trie", |b| {
        b.iter(|| black_box(decider.decide(black_box(&action), None)))
    });
    g.bench_function("linear", |b| {
        b.iter(|| black_box(effective.command_decision(black_box(&refs))))
    });
    g.finish();

    let line = Action::Shell(
        "cd /src && FOO=1 sudo -u ci tool0777 sub05 --x $(tool0001 sub01) | tee out".into(),
    );
    let mut g = c.benchmark_group("shell");
    g.sample_size(50)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("compound", |b| {
        b.iter(|| black_box(decider.decide(black_box(&line), Some("/src"))))
    });
    g.finish();

    // Domains.
    let layer = Layer::parse_policy(
        schema,
        SourceKind::System,
        "/etc/mandate/policy.d/net.toml",
        &domains_policy(),
    )
    .unwrap();
    let effective = resolve(schema, vec![layer]);
    let denied = effective
        .get("network.denied_domains")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    assert_eq!(denied, EXACT_HOSTS + ZONES);
    let decider = effective.decider(&cx);
    let hit = Action::Url("https://API.deep.zone31337.example:443/x".into());
    let miss = Action::Url("https://www.example.org/".into());
    assert_eq!(decider.decide(&hit, None).decision, Verdict::Deny);
    assert_eq!(decider.decide(&miss, None).decision, Verdict::Prompt);
    let patterns: Vec<Norm> = effective
        .get("network.denied_domains")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|v| {
            Norm::of(
                ValueKind::Domain,
                &mandate::kind::normalise_value(ValueKind::Domain, v).unwrap(),
                &cx,
            )
        })
        .collect();
    let host = Norm::of(
        ValueKind::Domain,
        &Value::String("api.deep.zone31337.example".into()),
        &cx,
    );

    let mut g = c.benchmark_group("domain");
    g.sample_size(50)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("suffix-index/hit", |b| {
        b.iter(|| black_box(decider.decide(black_box(&hit), None)))
    });
    g.bench_function("suffix-index/miss", |b| {
        b.iter(|| black_box(decider.decide(black_box(&miss), None)))
    });
    g.bench_function("linear", |b| {
        b.iter(|| black_box(patterns.iter().any(|p| p.covers(black_box(&host)))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
