//! The admin walk-through of docs/trust.md, run for real: keys, a 2-of-3
//! trust root, a signed policy installed on a machine, inspection, a key
//! rotation, a new policy version, and an old version refused.

#![allow(clippy::unwrap_used)]

mod common;

use common::Admin;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

fn system_source(sources: &Value) -> &Value {
    sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "system" && s["location"].as_str().unwrap().ends_with(".bundle"))
        .unwrap()
}

#[test]
fn the_admin_walk_through_works_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());

    // 1. Three root keys (kept offline) and one policy key.
    for name in ["root-1", "root-2", "root-3", "root-4", "policy-1"] {
        let out = admin.ok(&["keys", "generate", "--out", &format!("keys/{name}")]);
        assert!(out.starts_with("key id "), "{out}");
    }
    let mode = std::fs::metadata(admin.dir.join("keys/root-1.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        !admin
            .run(&["keys", "generate", "--out", "keys/root-1"])
            .status
            .success(),
        "never overwrites a key"
    );

    // 2. A 2-of-3 trust root, signed by two root keys.
    let out = admin.ok(&[
        "trust",
        "init",
        "--org",
        "acme",
        "--root-key",
        "keys/root-1.pub",
        "--root-key",
        "keys/root-2.pub",
        "--root-key",
        "keys/root-3.pub",
        "--root-threshold",
        "2",
        "--policy-key",
        "keys/policy-1.pub",
        "--expires",
        "3650d",
        "--signed-sources",
        "mdm,cloud,system",
        "--sign",
        "keys/root-1.key",
        "--sign",
        "keys/root-2.key",
        "-o",
        "trust.toml",
    ]);
    assert!(out.contains("root keys 2-of-3"), "{out}");
    admin.ok(&["trust", "verify", "trust.toml"]);
    // One signature is not enough.
    assert!(
        !admin
            .run(&[
                "trust",
                "init",
                "--org",
                "acme",
                "--root-key",
                "keys/root-1.pub",
                "--root-key",
                "keys/root-2.pub",
                "--root-threshold",
                "2",
                "--policy-key",
                "keys/policy-1.pub",
                "--sign",
                "keys/root-1.key",
                "-o",
                "t1.toml",
            ])
            .status
            .success()
    );

    // 3. Sign a policy.
    admin.write_policy("baseline.toml", 1, "workspace-write");
    admin.ok(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "baseline.toml",
        "-o",
        "baseline-v1.bundle",
    ]);
    admin.ok(&["verify", "--trust", "trust.toml", "baseline-v1.bundle"]);
    let out = admin.ok(&["validate", "baseline-v1.bundle"]);
    assert!(out.contains("baseline-v1.bundle: ok"), "{out}");

    // 4. Install both on the machine; inspect.
    admin.install("trust.toml", "etc/mandate/trust.toml");
    admin.install(
        "baseline-v1.bundle",
        "etc/mandate/policy.d/10-baseline.bundle",
    );
    let sources = admin.sources();
    assert_eq!(sources["status"], "ok", "{sources:#}");
    assert_eq!(sources["trust"]["mode"], "signed");
    assert_eq!(sources["trust"]["version"], 1);
    let system = system_source(&sources);
    assert_eq!(system["status"], "verified");
    assert_eq!(system["version"], 1);
    let explain = admin.on_machine(&["-c", "sandbox.mode=full-access", "explain", "sandbox.mode"]);
    let explain = String::from_utf8(explain.stdout).unwrap();
    assert!(
        explain.contains("refused: above the maximum \"workspace-write\" required by system"),
        "{explain}"
    );
    assert!(
        explain.contains("10-baseline.bundle [acme-baseline v1]"),
        "{explain}"
    );

    // 5. Rotate a root key: root-3 out, root-4 in; signed by old and new thresholds.
    let out = admin.ok(&[
        "trust",
        "rotate",
        "--from",
        "trust.toml",
        "--replace-root-keys",
        "--root-key",
        "keys/root-1.pub",
        "--root-key",
        "keys/root-2.pub",
        "--root-key",
        "keys/root-4.pub",
        "--sign",
        "keys/root-1.key",
        "--sign",
        "keys/root-2.key",
        "-o",
        "trust-v2.toml",
    ]);
    assert!(out.contains("version 1 → 2"), "{out}");
    admin.ok(&[
        "trust",
        "verify",
        "--previous",
        "trust.toml",
        "trust-v2.toml",
    ]);
    // A rotation signed only by the new key set is refused.
    assert!(
        !admin
            .run(&[
                "trust",
                "rotate",
                "--from",
                "trust.toml",
                "--replace-root-keys",
                "--root-key",
                "keys/root-4.pub",
                "--root-threshold",
                "1",
                "--sign",
                "keys/root-4.key",
                "-o",
                "bad.toml",
            ])
            .status
            .success()
    );
    admin.install("trust-v2.toml", "etc/mandate/trust.toml");
    let sources = admin.sources();
    assert_eq!(sources["trust"]["version"], 2, "{sources:#}");
    assert_eq!(system_source(&sources)["status"], "verified");

    // 6. Publish a new version of the policy.
    admin.write_policy("baseline.toml", 2, "read-only");
    admin.ok(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "baseline.toml",
        "-o",
        "baseline-v2.bundle",
    ]);
    admin.install(
        "baseline-v2.bundle",
        "etc/mandate/policy.d/10-baseline.bundle",
    );
    let sources = admin.sources();
    assert_eq!(system_source(&sources)["version"], 2);
    let get = admin.on_machine(&["get", "sandbox.mode"]);
    assert_eq!(String::from_utf8(get.stdout).unwrap().trim(), "read-only");

    // 7. The old version is refused: rollback.
    admin.install(
        "baseline-v1.bundle",
        "etc/mandate/policy.d/10-baseline.bundle",
    );
    let out = admin.on_machine(&["sources", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a refused managed file degrades the machine"
    );
    let sources: Value = serde_json::from_slice(&out.stdout).unwrap();
    let system = system_source(&sources);
    assert_eq!(system["status"], "rejected");
    assert!(
        system["reason"].as_str().unwrap().contains("version 1"),
        "{system:#}"
    );
    // Locked down, not unmanaged.
    let get = admin.on_machine(&["get", "sandbox.mode"]);
    assert_eq!(String::from_utf8(get.stdout).unwrap().trim(), "read-only");
    assert_eq!(get.status.code(), Some(3));

    // 8. Rolling the trust root back to version 1 is refused too: version 2 stays in force.
    admin.install(
        "baseline-v2.bundle",
        "etc/mandate/policy.d/10-baseline.bundle",
    );
    admin.install("trust.toml", "etc/mandate/trust.toml");
    let sources = admin.sources();
    assert_eq!(sources["trust"]["version"], 2, "{sources:#}");
    assert_eq!(sources["status"], "degraded");
}

/// A signer and a machine with a 1-of-1 trust root that requires signed
/// system policy.
fn signed_machine(tmp: &Path) -> Admin {
    let admin = Admin::new(tmp);
    for name in ["root-1", "policy-1"] {
        admin.ok(&["keys", "generate", "--out", &format!("keys/{name}")]);
    }
    admin.ok(&[
        "trust",
        "init",
        "--org",
        "acme",
        "--root-key",
        "keys/root-1.pub",
        "--policy-key",
        "keys/policy-1.pub",
        "--expires",
        "3650d",
        "--signed-sources",
        "system",
        "--sign",
        "keys/root-1.key",
        "-o",
        "trust.toml",
    ]);
    admin.install("trust.toml", "etc/mandate/trust.toml");
    admin
}

/// A signed policy header for the system channel.
const HEADER: &str = r#"[policy]
org = "acme"
channel = "system"
id = "acme-baseline"
version = 1
issued_at = 2026-01-01T00:00:00Z
expires = 2099-01-01T00:00:00Z
"#;

#[test]
fn a_bundle_over_the_managed_cap_is_refused_by_sign_and_by_the_device() {
    let cap = mandate::fsafe::MAX_MANAGED_SIZE as usize;
    let tmp = tempfile::tempdir().unwrap();
    let admin = signed_machine(tmp.path());
    // A payload whose bundle (base64, 4/3 of it) lands just over the cap.
    let mut text = format!("{HEADER}\n[settings]\nsandbox.mode = \"read-only\"\n");
    let comment = format!("# {}\n", "x".repeat(1_000));
    while text.len() * 4 / 3 <= cap {
        text.push_str(&comment);
    }
    std::fs::write(admin.dir.join("big.toml"), &text).unwrap();
    let out = admin.run(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "big.toml",
        "-o",
        "big.bundle",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("more than the {cap}-byte (32 MiB) limit")),
        "{stderr}"
    );
    assert!(!admin.dir.join("big.bundle").exists());

    // The same bundle made without `sign`: the device refuses it for its size.
    let key = mandate::trust::keys::SecretKey::read(&admin.dir.join("keys/policy-1.key")).unwrap();
    let json = mandate::trust::envelope::Envelope::sign(
        mandate::trust::envelope::POLICY_PAYLOAD_TYPE,
        text.as_bytes(),
        &[&key],
    )
    .to_json();
    assert!(
        json.len() > cap && json.len() < cap + 64 * 1024,
        "{}",
        json.len()
    );
    std::fs::write(admin.dir.join("big.bundle"), &json).unwrap();
    admin.install("big.bundle", "etc/mandate/policy.d/10-big.bundle");
    let sources = admin.sources();
    assert_eq!(sources["status"], "degraded", "{sources:#}");
    let system = system_source(&sources);
    assert_eq!(system["status"], "rejected", "{sources:#}");
    let reason = system["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("more than the {cap}-byte limit")),
        "{reason}"
    );
}

#[test]
fn a_signed_allowlist_of_100k_domains_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = signed_machine(tmp.path());
    let domains: Vec<String> = (0..100_000)
        .map(|i| format!("\"host{i}.team{}.example.com\"", i % 97))
        .collect();
    let text = format!(
        "{HEADER}\n[settings]\nnetwork.allowed_domains = [\n{}\n]\n",
        domains.join(",\n")
    );
    assert!(text.len() > 3_000_000, "{}", text.len());
    std::fs::write(admin.dir.join("allow.toml"), &text).unwrap();
    admin.ok(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "allow.toml",
        "-o",
        "allow.bundle",
    ]);
    admin.install("allow.bundle", "etc/mandate/policy.d/10-allow.bundle");
    let out = admin.on_machine(&["show", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["status"], "ok", "{}", shown["diagnostics"]);
    let allowed = shown["keys"]["network.allowed_domains"]["value"]
        .as_array()
        .unwrap();
    assert_eq!(allowed.len(), 100_000);
    assert_eq!(allowed[99_999], "host99999.team89.example.com");
}
