//! Round trip through MDM: a policy packaged as a configuration profile,
//! installed the way macOS would (`install-preview`), resolves to the same
//! effective settings as the same policy read from `policy.d/`.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn mandate(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("mandate")
        .unwrap()
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/nonexistent")
        .args(args)
        .output()
        .unwrap()
}

fn machine(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir.to_path_buf()
}

fn show(root: &Path, platform: &str) -> Value {
    let out = mandate(&[
        "--root",
        root.to_str().unwrap(),
        "--platform",
        platform,
        "show",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn profiles() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles");
    ["strict.toml", "standard.toml", "permissive.toml"]
        .iter()
        .map(|p| dir.join(p))
        .collect()
}

#[test]
fn a_profile_resolves_like_the_same_policy_in_policy_d() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, policy) in profiles().iter().enumerate() {
        // The reference: the policy as a local file.
        let linux = machine(&tmp.path().join(format!("linux-{i}")));
        let dir = linux.join("etc/mandate/policy.d");
        std::fs::create_dir_all(&dir).unwrap();
        for d in ["etc", "etc/mandate", "etc/mandate/policy.d"] {
            std::fs::set_permissions(linux.join(d), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        let file = dir.join("10-policy.toml");
        std::fs::copy(policy, &file).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let reference = show(&linux, "linux");
        assert_eq!(reference["status"], "ok");

        for native in [false, true] {
            let profile = tmp.path().join(format!("p-{i}-{native}.mobileconfig"));
            let mut args = vec![
                "package",
                "mobileconfig",
                policy.to_str().unwrap(),
                "--identifier",
                "com.example.mandate",
                "-o",
                profile.to_str().unwrap(),
            ];
            if native {
                args.push("--native");
            }
            let out = mandate(&args);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );

            let mac = machine(&tmp.path().join(format!("mac-{i}-{native}")));
            let out = mandate(&[
                "--root",
                mac.to_str().unwrap(),
                "package",
                "install-preview",
                profile.to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let via_mdm = show(&mac, "macos");

            assert_eq!(via_mdm["status"], "ok");
            assert_eq!(
                via_mdm["settings"], reference["settings"],
                "{policy:?} native={native}"
            );
            assert_eq!(via_mdm["digest"], reference["digest"]);
            let mdm = via_mdm["sources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == "mdm")
                .unwrap();
            assert_eq!(mdm["status"], "unsigned");

            // Provenance names the plist and the key path inside it.
            let key = &via_mdm["keys"]["sandbox.mode"];
            let location = key["location"].as_str().unwrap();
            assert!(
                location.contains("Library/Managed Preferences/dev.mandate.plist"),
                "{location}"
            );
            let expected = if native {
                ": Settings > sandbox"
            } else {
                " > Policy:"
            };
            if key["source"] == "mdm" {
                assert!(location.contains(expected), "{location}");
            }
        }
    }
}

#[test]
fn profiles_are_byte_identical_for_the_same_input() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = &profiles()[1];
    let build = |name: &str| {
        let out = tmp.path().join(name);
        let status = mandate(&[
            "package",
            "mobileconfig",
            policy.to_str().unwrap(),
            "--identifier",
            "com.example.mandate",
            "--scope",
            "User",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(status.status.success());
        std::fs::read(out).unwrap()
    };
    assert_eq!(build("a.mobileconfig"), build("b.mobileconfig"));
}

#[test]
fn jamf_schema_lists_every_setting() {
    let out = mandate(&["package", "jamf-schema"]);
    assert!(out.status.success());
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = schema.to_string();
    for key in ["approvals", "sandbox", "network", "telemetry"] {
        assert!(text.contains(key), "{key} missing from the Jamf schema");
    }
}

/// Runs `mandate` in `dir`, asserting success; returns stdout.
fn ok_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::cargo_bin("mandate")
        .unwrap()
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/nonexistent")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mandate {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_mac_pinned_at_v1_catches_up_to_v4_through_the_profile_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = tmp.path().join("admin");
    std::fs::create_dir_all(&admin).unwrap();
    for name in ["r1", "r2", "r3", "r4", "p1"] {
        ok_in(&admin, &["keys", "generate", "--out", name]);
    }
    // v1 .. v4, each rotating the root key: only the chain leads from v1 to v4.
    ok_in(
        &admin,
        &[
            "trust",
            "init",
            "--org",
            "acme",
            "--root-key",
            "r1.pub",
            "--policy-key",
            "p1.pub",
            "--signed-sources",
            "mdm",
            "--sign",
            "r1.key",
            "-o",
            "v1.toml",
        ],
    );
    for (from, to, old, new) in [(1, 2, "r1", "r2"), (2, 3, "r2", "r3"), (3, 4, "r3", "r4")] {
        ok_in(
            &admin,
            &[
                "trust",
                "rotate",
                "--from",
                &format!("v{from}.toml"),
                "--replace-root-keys",
                "--root-key",
                &format!("{new}.pub"),
                "--sign",
                &format!("{old}.key"),
                "--sign",
                &format!("{new}.key"),
                "-o",
                &format!("v{to}.toml"),
            ],
        );
    }
    std::fs::write(
        admin.join("p.toml"),
        "[policy]\norg = \"acme\"\nid = \"base\"\nversion = 1\n\n[requirements]\n\"sandbox.mode\" = { max = \"workspace-write\" }\n",
    )
    .unwrap();
    ok_in(
        &admin,
        &[
            "sign",
            "--key",
            "p1.key",
            "--channel",
            "mdm",
            "--expires",
            "30d",
            "p.toml",
            "-o",
            "p.bundle",
        ],
    );
    let mac = machine(&tmp.path().join("mac"));
    let mac_root = mac.to_str().unwrap();
    let install = |profile: &str, xml: bool| {
        let mut args = vec!["--root", mac_root, "package", "install-preview", profile];
        if xml {
            args.push("--xml");
        }
        ok_in(&admin, &args);
    };
    let trust_version = || {
        let doc = show(&mac, "macos");
        assert_eq!(doc["status"], "ok", "{doc:#}");
        doc["trust"]["version"].clone()
    };

    // The Mac first gets v1 and pins it.
    ok_in(
        &admin,
        &[
            "package",
            "mobileconfig",
            "p.bundle",
            "--identifier",
            "com.example.mandate",
            "--trust-root",
            "v1.toml",
            "-o",
            "v1.mobileconfig",
        ],
    );
    install("v1.mobileconfig", false);
    assert_eq!(trust_version(), 1);

    // A profile with v4 alone cannot be accepted: v2 and v3 are missing.
    ok_in(
        &admin,
        &[
            "package",
            "mobileconfig",
            "p.bundle",
            "--identifier",
            "com.example.mandate",
            "--trust-root",
            "v4.toml",
            "-o",
            "v4-alone.mobileconfig",
        ],
    );
    install("v4-alone.mobileconfig", false);
    let out = mandate(&[
        "--root",
        mac_root,
        "--platform",
        "macos",
        "sources",
        "--json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["trust"]["version"], 1, "{doc:#}");
    assert_eq!(doc["status"], "degraded");
    let text = doc["diagnostics"].to_string();
    assert!(text.contains("TrustRootChain"), "{text}");

    // A chain that does not lead to the root is refused when packaging.
    let out = mandate(&[
        "package",
        "mobileconfig",
        admin.join("p.bundle").to_str().unwrap(),
        "--identifier",
        "x.y",
        "--trust-root",
        admin.join("v4.toml").to_str().unwrap(),
        "--trust-chain",
        admin.join("v2.toml").to_str().unwrap(),
        "-o",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not lead to --trust-root"));

    // With the chain (every older version, from a directory), the Mac ends at v4.
    let chain = admin.join("trust.d");
    std::fs::create_dir_all(&chain).unwrap();
    for v in 1..=3 {
        std::fs::copy(
            admin.join(format!("v{v}.toml")),
            chain.join(format!("{v}.toml")),
        )
        .unwrap();
    }
    let out = ok_in(
        &admin,
        &[
            "package",
            "mobileconfig",
            "p.bundle",
            "--identifier",
            "com.example.mandate",
            "--trust-root",
            "v4.toml",
            "--trust-chain",
            "trust.d",
            "-o",
            "v4.mobileconfig",
        ],
    );
    assert!(
        out.contains("trust root chain of versions 1, 2, 3"),
        "{out}"
    );
    let profile = std::fs::read_to_string(admin.join("v4.mobileconfig")).unwrap();
    assert!(profile.contains("<key>TrustRootChain</key>"), "{profile}");
    install("v4.mobileconfig", true);
    assert_eq!(trust_version(), 4);
    // The new pin stands on its own afterwards.
    install("v4-alone.mobileconfig", false);
    assert_eq!(trust_version(), 4);
}
