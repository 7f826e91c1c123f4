//! `mandate verify --machine` (a check before a file lands, rollback state
//! included) and `mandate cat` (a bundle's verified text with line numbers).

#![allow(clippy::unwrap_used)]

mod common;

use common::Admin;
use serde_json::Value;

fn signed_machine(admin: &Admin) {
    for name in ["root-1", "policy-1", "other"] {
        admin.ok(&["keys", "generate", "--out", &format!("keys/{name}")]);
    }
    admin.init_trust("system", &[]);
    for version in [1, 2, 3] {
        admin.write_policy(&format!("v{version}.toml"), version, "workspace-write");
        admin.sign(&format!("v{version}.toml"), &format!("v{version}.bundle"));
    }
    admin.install("trust.toml", "etc/mandate/trust.toml");
    admin.install("v2.bundle", "etc/mandate/policy.d/10-base.bundle");
    // Reading the machine as root records v2 in its rollback state.
    let sources = admin.sources();
    assert_eq!(sources["status"], "ok", "{sources:#}");
}

fn verdict(admin: &Admin, file: &str) -> (i32, Value) {
    let out = admin.on_machine(&["verify", "--machine", "--json", file]);
    let value: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), value)
}

#[test]
fn verify_machine_answers_with_the_machines_trust_root_and_rollback_state() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    signed_machine(&admin);

    // A newer version would be accepted; the one installed too.
    let (code, v) = verdict(&admin, "v3.bundle");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["accepted"], true);
    assert_eq!(v["source"], "system");
    assert_eq!(v["bundle"]["version"], 3);
    assert_eq!(v["trust_root_version"], 1);
    assert_eq!(verdict(&admin, "v2.bundle").0, 0);

    // An older one is a rollback on this machine, though it verifies on its own.
    let (code, v) = verdict(&admin, "v1.bundle");
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["accepted"], false);
    assert_eq!(v["code"], "rollback-version", "{v:#}");
    admin.ok(&["verify", "--trust", "trust.toml", "v1.bundle"]);

    // The text form, as Ansible's `validate:` would show it.
    let out = admin.on_machine(&["verify", "--machine", "v1.bundle"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("refused [rollback-version]"), "{text}");

    // A plain file where the trust root requires signatures.
    let (code, v) = verdict(&admin, "v3.toml");
    assert_eq!(code, 1);
    assert_eq!(v["code"], "unsigned-not-allowed", "{v:#}");

    // A bundle signed by a key that is not a policy key.
    admin.ok(&[
        "sign",
        "--key",
        "keys/other.key",
        "v3.toml",
        "-o",
        "other.bundle",
    ]);
    let (code, v) = verdict(&admin, "other.bundle");
    assert_eq!(code, 1);
    assert_eq!(v["code"], "threshold", "{v:#}");

    // A policy that breaks the schema is refused before signatures matter.
    std::fs::write(
        admin.dir.join("bad.toml"),
        "[policy]\nid = \"x\"\nversion = 1\n\n[settings]\nsandbox.mode = \"everything\"\n",
    )
    .unwrap();
    let (code, v) = verdict(&admin, "bad.toml");
    assert_eq!(code, 1);
    assert_eq!(v["code"], "policy-invalid", "{v:#}");

    // A Jamf pre-flight: the profile about to be pushed, read as macOS would.
    admin.ok(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "--channel",
        "mdm",
        "v3.toml",
        "-o",
        "mdm.bundle",
    ]);
    admin.ok(&[
        "package",
        "mobileconfig",
        "--identifier",
        "com.acme.mandate",
        "--output",
        "p.mobileconfig",
        "mdm.bundle",
    ]);
    let (code, v) = verdict(&admin, "p.mobileconfig");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["source"], "mdm");
    assert_eq!(v["bundle"]["channel"], "mdm");
    // The system bundle would be refused in a profile (wrong channel):
    // `package` refuses to build one, and `verify --machine` refuses it as
    // a staged file for the mdm source.
    let text = admin.fails(
        1,
        &[
            "package",
            "mobileconfig",
            "--identifier",
            "com.acme.mandate",
            "--output",
            "wrong.mobileconfig",
            "v3.bundle",
        ],
    );
    assert!(text.contains("system channel"), "{text}");
    assert!(!admin.dir.join("wrong.mobileconfig").exists());
    let out = admin.on_machine(&[
        "verify",
        "--machine",
        "--source",
        "mdm",
        "--json",
        "v3.bundle",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(v["code"], "channel-mismatch", "{v:#}");

    // Checking wrote nothing: the machine still holds v2 and is ok.
    let sources = admin.sources();
    assert_eq!(sources["status"], "ok");
    let state = std::fs::read_to_string(admin.machine.join("var/lib/mandate/state.json"))
        .unwrap_or_default();
    assert!(!state.contains("\"version\": 3"), "{state}");
}

#[test]
fn verify_machine_without_a_trust_root_accepts_plain_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    admin.write_policy("p.toml", 1, "read-only");
    let (code, v) = verdict(&admin, "p.toml");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["signed"], false);
    assert!(
        v["reason"].as_str().unwrap().contains("no trust root"),
        "{v:#}"
    );
}

#[test]
fn cat_prints_the_verified_text_with_line_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    signed_machine(&admin);
    let installed = admin.machine.join("etc/mandate/policy.d/10-base.bundle");
    let root = admin.machine.display().to_string();

    let out = admin.ok(&[
        "--root",
        &root,
        "--platform",
        "linux",
        "cat",
        installed.to_str().unwrap(),
    ]);
    assert!(
        out.contains("acme-baseline v2, verified against trust root version 1"),
        "{out}"
    );
    assert!(out.contains("  1 | [policy]"), "{out}");
    assert!(out.contains("sandbox.mode = \"workspace-write\""), "{out}");

    // Follow a location as `show --json` prints it.
    let show: Value =
        serde_json::from_slice(&admin.on_machine(&["show", "--json"]).stdout).unwrap();
    let location = show["keys"]["sandbox.mode"]["location"]
        .as_str()
        .unwrap_or_else(|| panic!("{show:#}"))
        .to_owned();
    assert!(location.contains("10-base.bundle"), "{location}");
    let line: usize = location.rsplit(':').nth(1).unwrap().parse().unwrap();
    let out = admin.ok(&["--root", &root, "--platform", "linux", "cat", &location]);
    let marked: Vec<&str> = out.lines().filter(|l| l.starts_with('>')).collect();
    assert_eq!(marked.len(), 1, "{out}");
    assert!(
        marked[0].contains(&format!("{line} | sandbox.mode")),
        "{out}"
    );

    // A bundle that does not verify is not printed.
    let out = admin.on_machine(&["cat", "--trust", "trust.toml", "missing.bundle"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(
        admin.dir.join("forged.bundle"),
        std::fs::read(admin.dir.join("v3.bundle"))
            .unwrap()
            .iter()
            .map(|&b| if b == b'A' { b'B' } else { b })
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let out = admin.on_machine(&["cat", "forged.bundle"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty());
}
