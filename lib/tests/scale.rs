//! Large inputs go through resolution whole: 1,000 policy files, 10,000
//! command rules, 10,000 path globs, 100,000 domains, a 1 MiB user config
//! with many elements removed from a union list, and a signed bundle of
//! 10,000 rules through the loader.
//!
//! Each case asserts what it resolves to. The only clock is a guard against
//! hangs, minutes long: how fast is measured by `benches/scale.rs`
//! (docs/benchmarks.md), never asserted here.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use mandate::resolve::{Detail, Effective, Stack, Status, resolve_stack};
use mandate::trust::envelope::{Envelope, POLICY_PAYLOAD_TYPE};
use mandate::trust::keys::SecretKey;
use mandate::trust::root::{TrustRoot, TrustRootBuilder};
use mandate::{Environment, Options, Platform, Resolver, Schema};
use time::macros::datetime;

#[path = "support/scale.rs"]
mod cases;

/// Far longer than any of these should take, even unoptimised: only a hang
/// (or something far worse than quadratic) trips it.
const HANG_GUARD: Duration = Duration::from_secs(15 * 60);

/// Runs `job` on its own thread, failing the test if it has not finished
/// within [`HANG_GUARD`].
fn guarded<T: Send + 'static>(what: &str, job: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(job());
    });
    match rx.recv_timeout(HANG_GUARD) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: no result after {HANG_GUARD:?}: resolution hangs")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: resolution panicked"),
    }
}

fn resolve(what: &str, docs: Vec<cases::Doc>) -> Effective {
    guarded(what, move || {
        let schema = Schema::bundled();
        resolve_stack(schema, cases::stack(cases::layers(schema, &docs)))
    })
}

/// [`resolve`], and the same documents resolved as `show` does
/// (`Detail::Values`): the values, the digest and every refusal agree.
fn resolve_both(what: &str, docs: Vec<cases::Doc>) -> Effective {
    let values = {
        let docs = docs.clone();
        guarded(what, move || {
            let schema = Schema::bundled();
            let stack = Stack {
                detail: Detail::Values,
                ..cases::stack(cases::layers(schema, &docs))
            };
            resolve_stack(schema, stack)
        })
    };
    let full = resolve(what, docs);
    assert_eq!(values.digest, full.digest, "{what}");
    for (key, report) in &full.keys {
        let other = &values.keys[key];
        assert_eq!(other.value, report.value, "{what}: {key}");
        assert_eq!(other.rejected.len(), report.rejected.len(), "{what}: {key}");
        assert!(other.merged.is_empty() && other.overridden.is_empty());
    }
    full
}

fn list_len(effective: &Effective, key: &str) -> usize {
    effective
        .get(key)
        .and_then(|v| v.as_array())
        .map_or(0, Vec::len)
}

#[test]
fn a_thousand_policy_files() {
    let effective = resolve("1,000 files", cases::files(1_000));
    assert_eq!(effective.status, Status::Ok, "{:?}", effective.diagnostics);
    assert_eq!(list_len(&effective, "network.denied_domains"), 1_000);
    assert_eq!(
        effective.get_str("approvals.policy"),
        Some("on-request"),
        "the default, within every file's allowed values"
    );
}

#[test]
fn ten_thousand_command_rules() {
    let effective = resolve_both("10k rules", cases::rules(10_000));
    assert_eq!(effective.status, Status::Ok, "{:?}", effective.diagnostics);
    assert_eq!(list_len(&effective, "commands.rules"), 20_000);
    // Each layer's list, as it wrote it, in the full record.
    let merged = &effective.keys["commands.rules"].merged;
    assert_eq!(merged.len(), 2);
    assert!(
        merged
            .iter()
            .all(|m| m.value.as_array().map(Vec::len) == Some(10_000))
    );
}

#[test]
fn ten_thousand_path_globs() {
    let effective = resolve("10k path globs", cases::globs(10_000));
    assert_eq!(effective.status, Status::Ok, "{:?}", effective.diagnostics);
    assert_eq!(list_len(&effective, "sandbox.writable_roots"), 9_000);
    assert!(!effective.keys["sandbox.writable_roots"].rejected.is_empty());
}

#[test]
fn a_hundred_thousand_domains() {
    let effective = resolve("100k domains", cases::domains(100_000));
    assert_eq!(effective.status, Status::Ok, "{:?}", effective.diagnostics);
    assert_eq!(list_len(&effective, "network.allowed_domains"), 90_000);
    assert!(
        !effective.keys["network.allowed_domains"]
            .rejected
            .is_empty()
    );
}

#[test]
fn a_megabyte_of_user_config_removed_from_a_union_list() {
    let docs = cases::union_removals(1 << 20);
    let user = &docs[1].text;
    assert!(user.len() <= 1 << 20 && user.len() > (1 << 20) - 100);
    let proposed = user.matches(".example.org").count();
    let effective = resolve_both("1 MiB of removals", docs);
    assert_eq!(effective.status, Status::Ok, "{:?}", effective.diagnostics);
    assert_eq!(
        list_len(&effective, "network.denied_domains"),
        proposed / 2,
        "every other domain is excluded"
    );
    assert!(!effective.keys["network.denied_domains"].rejected.is_empty());
}

/// A signed bundle of 10,000 rules, through the loader: read, verified,
/// parsed once, resolved.
#[test]
fn a_signed_bundle_of_ten_thousand_rules() {
    let now = datetime!(2026-06-01 00:00 UTC);
    let root_key = SecretKey::from_seed(&[1; 32]);
    let policy_key = SecretKey::from_seed(&[2; 32]);
    let body = TrustRootBuilder::new("acme", datetime!(2030-01-01 00:00 UTC))
        .root_keys(vec![root_key.public().clone()], 1)
        .policy_keys(vec![policy_key.public().clone()], 1)
        .body()
        .unwrap();
    let trust = TrustRoot::sign(&body, &[&root_key]).unwrap();
    let docs = cases::rules(10_000);
    let bundle = Envelope::sign(POLICY_PAYLOAD_TYPE, docs[0].text.as_bytes(), &[&policy_key]);

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let write = |path: &str, bytes: &[u8]| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    };
    write("etc/mandate/trust.toml", &trust);
    write("etc/mandate/policy.d/10-rules.bundle", &bundle.to_json());
    for entry in walk(root) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let root = root.to_path_buf();
    let effective = guarded("signed 10k rules", move || {
        Resolver::new(Options {
            root: Some(root),
            platform: Platform::Linux,
            ..Options::default()
        })
        .resolve(&Environment::fixed(now))
        .unwrap()
    });
    assert_eq!(effective.status, Status::Ok, "{:?}", effective.diagnostics);
    let verified = effective
        .sources
        .iter()
        .filter(|s| s.status.name() == "verified")
        .count();
    assert_eq!(verified, 1);
    assert_eq!(list_len(&effective, "commands.rules"), 10_000);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
