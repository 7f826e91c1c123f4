//! `mandate apply` writes what agents read: `effective.json` in the state
//! directory, atomically, equal to `show --json`.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;

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

#[test]
fn apply_writes_effective_json_like_show() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    assert!(
        mandate(&["demo", "--out", demo.to_str().unwrap()])
            .status
            .success()
    );
    let flags = [
        "--root",
        demo.to_str().unwrap(),
        "--platform",
        "linux",
        "--user",
        "ana",
    ];

    let mut args = flags.to_vec();
    args.push("apply");
    let out = mandate(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = demo.join("var/lib/mandate/effective.json");
    let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );

    let mut args = flags.to_vec();
    args.extend(["show", "--json", "--offline"]);
    let shown: Value = serde_json::from_slice(&mandate(&args).stdout).unwrap();
    assert_eq!(written["digest"], shown["digest"]);
    assert_eq!(written["settings"], shown["settings"]);
    assert_eq!(written["status"], "ok");

    // A broken managed file: apply still writes (lockdown values) and exits 3.
    let bad = demo.join("etc/mandate/policy.d/30-broken.toml");
    std::fs::write(&bad, "[settings\n").unwrap();
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut args = flags.to_vec();
    args.push("apply");
    let out = mandate(&args);
    assert_eq!(out.status.code(), Some(3));
    let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(written["status"], "degraded");
    assert_eq!(written["settings"]["sandbox"]["mode"], "read-only");
    assert_eq!(written["keys"]["sandbox.mode"]["source"], "lockdown");
}
