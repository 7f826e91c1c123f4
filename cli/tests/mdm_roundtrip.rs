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
