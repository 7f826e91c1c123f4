//! `signed`: what verification costs. The same four managed policies are
//! resolved from a machine tree twice in one run: as plain `*.toml` files in
//! unsigned mode, and as signed `*.bundle` files under a trust root (every
//! bundle verified, header bound, rollback-checked, on every resolve).
//!
//! ```sh
//! cargo bench -p mandate --bench signed
//! ```

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mandate::trust::envelope::{Envelope, POLICY_PAYLOAD_TYPE};
use mandate::trust::keys::SecretKey;
use mandate::trust::root::{TrustRoot, TrustRootBuilder};
use mandate::{Environment, Options, Platform, Resolver, Schema, SourceKind};
use time::OffsetDateTime;

/// Four policies: the three example profiles and a large team file with
/// 2,000 command rules and 5,000 domain patterns.
fn policies(now: OffsetDateTime) -> Vec<(String, String)> {
    let header = |id: &str, version: u32| {
        format!(
            "[policy]\norg = \"acme\"\nchannel = \"system\"\nid = \"{id}\"\nversion = {version}\nissued_at = {}\nexpires = 2099-01-01T00:00:00Z\n\n",
            (now - time::Duration::days(1))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        )
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles");
    let mut out = Vec::new();
    for (i, name) in ["permissive", "standard", "strict"].iter().enumerate() {
        let text = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap_or_default();
        // Drop the profile's own header: the bundle needs a complete one.
        let body = text
            .split_once("[settings]")
            .map(|(_, b)| format!("[settings]{b}"))
            .unwrap_or(text);
        out.push((format!("{}0-{name}", i + 1), header(name, 1) + &body));
    }
    let mut team = header("team", 1);
    team.push_str("[settings]\ncommands.rules = [\n");
    for i in 0..2000 {
        team.push_str(&format!(
            "  {{ pattern = [\"tool{i}\", \"sub{}\"], decision = \"{}\" }},\n",
            i % 7,
            ["allow", "prompt", "forbidden"][i % 3]
        ));
    }
    team.push_str("]\nnetwork.denied_domains = [\n");
    for i in 0..5000 {
        team.push_str(&format!("  \"*.blocked{i}.example\",\n"));
    }
    team.push_str("]\n");
    out.push(("40-team".into(), team));
    out
}

fn lay_out(root: &Path, files: &[(String, Vec<u8>)], trust: Option<&[u8]>) {
    let policy_d = root.join("etc/mandate/policy.d");
    std::fs::create_dir_all(&policy_d).unwrap_or_default();
    std::fs::create_dir_all(root.join("var/lib/mandate")).unwrap_or_default();
    for d in [
        "",
        "etc",
        "etc/mandate",
        "etc/mandate/policy.d",
        "var",
        "var/lib",
        "var/lib/mandate",
    ] {
        let _ = std::fs::set_permissions(root.join(d), std::fs::Permissions::from_mode(0o755));
    }
    for (name, bytes) in files {
        let path = policy_d.join(name);
        std::fs::write(&path, bytes).unwrap_or_default();
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644));
    }
    if let Some(trust) = trust {
        let path = root.join("etc/mandate/trust.toml");
        std::fs::write(&path, trust).unwrap_or_default();
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644));
    }
}

fn bench(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let root_key = SecretKey::from_seed(&[1; 32]);
    let policy_key = SecretKey::from_seed(&[2; 32]);
    let body = TrustRootBuilder::new("acme", now + time::Duration::days(365))
        .root_keys(vec![root_key.public().clone()], 1)
        .policy_keys(vec![policy_key.public().clone()], 1)
        .body()
        .unwrap_or_default();
    let trust = TrustRoot::sign(&body, &[&root_key]).unwrap_or_default();

    let docs = policies(now);
    let schema = Schema::bundled();
    for (name, text) in &docs {
        if let Err(e) = mandate::Layer::parse_policy(schema, SourceKind::System, name, text) {
            panic!("{name}: {e}");
        }
    }
    let plain: Vec<(String, Vec<u8>)> = docs
        .iter()
        .map(|(n, t)| (format!("{n}.toml"), t.clone().into_bytes()))
        .collect();
    let signed: Vec<(String, Vec<u8>)> = docs
        .iter()
        .map(|(n, t)| {
            (
                format!("{n}.bundle"),
                Envelope::sign(POLICY_PAYLOAD_TYPE, t.as_bytes(), &[&policy_key]).to_json(),
            )
        })
        .collect();

    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let unsigned_root = tmp.path().join("unsigned");
    let signed_root = tmp.path().join("signed");
    lay_out(&unsigned_root, &plain, None);
    lay_out(&signed_root, &signed, Some(&trust));

    let env = Environment::fixed(now);
    let resolver = |root: &Path| {
        Resolver::new(Options {
            root: Some(root.to_path_buf()),
            platform: Platform::Linux,
            ..Options::default()
        })
    };
    let unsigned = resolver(&unsigned_root);
    let signed_resolver = resolver(&signed_root);
    // First runs pin the trust root and record the bundles, as on a device.
    let a = unsigned.resolve(&env).unwrap_or_else(|e| panic!("{e}"));
    let b = signed_resolver
        .resolve(&env)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.digest, b.digest,
        "signed and unsigned resolve to the same settings"
    );
    assert!(
        b.sources
            .iter()
            .filter(|s| s.status.name() == "verified")
            .count()
            == 4
    );

    let mut group = c.benchmark_group("machine");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("unsigned", |bench| {
        bench.iter(|| black_box(unsigned.resolve(&env)))
    });
    group.bench_function("signed", |bench| {
        bench.iter(|| black_box(signed_resolver.resolve(&env)))
    });
    let root = TrustRoot::verify_self(&trust, now).unwrap_or_else(|e| panic!("{e}"));
    let state = mandate::trust::state::RollbackState::new();
    group.bench_function("verify_only", |bench| {
        bench.iter(|| {
            for (_, bytes) in &signed {
                let _ = black_box(mandate::trust::verify_bundle(
                    bytes,
                    &root,
                    mandate::ManagedSource::System,
                    now,
                    &state,
                ));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
