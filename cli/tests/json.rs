//! `--json` on the commands that report data, errors as JSON, and the
//! shipped JSON Schema of `show --json` checked against real output.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Admin, json_of};
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/effective.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid(what: &str, doc: &Value) {
    let errors: Vec<String> = validator()
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{doc:#}");
}

fn signed_machine(admin: &Admin) {
    for name in ["root-1", "policy-1"] {
        let out = admin.run(&[
            "keys",
            "generate",
            "--json",
            "--out",
            &format!("keys/{name}"),
        ]);
        let v = json_of(&out);
        assert_eq!(v["key_id"].as_str().unwrap().len(), 32, "{v:#}");
        assert!(
            v["secret"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{name}.key"))
        );
    }
    admin.init_trust("system", &[]);
    admin.write_policy("base.toml", 1, "workspace-write");
    let out = admin.run(&[
        "sign",
        "--json",
        "--key",
        "keys/policy-1.key",
        "--expires",
        "30d",
        "base.toml",
        "-o",
        "base.bundle",
    ]);
    let v = json_of(&out);
    assert_eq!(v["id"], "acme-baseline");
    assert_eq!(v["channel"], "system");
    assert_eq!(v["signers"].as_array().unwrap().len(), 1);
    assert_ne!(v["payload_sha256"], v["file_sha256"]);
    admin.install("trust.toml", "etc/mandate/trust.toml");
    admin.install("base.bundle", "etc/mandate/policy.d/10-base.bundle");
}

#[test]
fn show_json_matches_the_shipped_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());

    // The demo machine: unsigned mode, user and project layers, refusals.
    admin.ok(&["demo", "--out", "demo"]);
    let demo = admin.dir.join("demo");
    let root = demo.display().to_string();
    let project = demo.join("home/ana/src/webapp").display().to_string();
    let out = admin.run(&[
        "--root",
        &root,
        "--user",
        "ana",
        "-C",
        &project,
        "show",
        "--json",
        "--include-overridden",
    ]);
    let doc = json_of(&out);
    assert!(
        !doc["keys"]["sandbox.mode"]["rejected"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_valid("demo", &doc);

    // A signed machine.
    signed_machine(&admin);
    let out = admin.on_machine(&["show", "--json"]);
    let doc = json_of(&out);
    assert_eq!(doc["trust"]["mode"], "signed");
    assert_valid("signed", &doc);

    // `apply` writes the same document as effective.json.
    let out = admin.on_machine(&["apply"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read(admin.machine.join("var/lib/mandate/effective.json")).unwrap();
    assert_valid("effective.json", &serde_json::from_slice(&written).unwrap());

    // Degraded: a broken managed file.
    let broken = admin.machine.join("etc/mandate/policy.d/20-broken.toml");
    std::fs::write(&broken, "[settings]\nsandbox.mode = 3\n").unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = admin.on_machine(&["show", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let doc = json_of(&out);
    assert_eq!(doc["status"], "degraded");
    assert_valid("degraded", &doc);

    // The schema is not vacuous: a wrong status is caught.
    let mut bad = doc.clone();
    bad["status"] = "fine".into();
    assert!(!validator().is_valid(&bad));
}

#[test]
fn data_commands_speak_json_and_errors_are_json_too() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    signed_machine(&admin);

    let out = admin.run(&["verify", "--json", "--trust", "trust.toml", "base.bundle"]);
    assert!(out.status.success());
    let v = json_of(&out);
    assert_eq!(v["verified"], true);
    assert_eq!(v["bundle"]["id"], "acme-baseline");
    assert_eq!(v["bundle"]["freshness"], "fresh");

    let out = admin.run(&["trust", "verify", "--json", "trust.toml"]);
    let v = json_of(&out);
    assert_eq!(v["verified"], true);
    assert_eq!(v["version"], 1);
    assert_eq!(v["complete"], true);

    let out = admin.on_machine(&["apply", "--json"]);
    let v = json_of(&out);
    assert_eq!(v["status"], "ok", "{v:#}");
    assert!(
        v["effective"]
            .as_str()
            .unwrap()
            .ends_with("var/lib/mandate/effective.json")
    );
    assert!(v["digest"].as_str().unwrap().starts_with("sha256:"));

    let out = admin.on_machine(&["doctor", "--json"]);
    let findings = json_of(&out);
    assert!(
        findings
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"].as_str().is_some_and(|c| !c.is_empty()))
    );

    // A failing command under --json: the error as JSON on stdout, and for
    // people on stderr.
    let out = admin.run(&["verify", "--json", "--trust", "missing.toml", "base.bundle"]);
    assert_eq!(out.status.code(), Some(2));
    let v = json_of(&out);
    assert_eq!(v["error"]["exit"], 2);
    assert_eq!(v["error"]["kind"], "usage");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing.toml")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("error: "));

    let out = admin.on_machine(&["get", "--json", "sandbox.mod"]);
    let v = json_of(&out);
    assert_eq!(v["error"]["kind"], "usage");
    assert!(
        v["error"]["hints"][0]
            .as_str()
            .unwrap()
            .contains("sandbox.mode"),
        "{v:#}"
    );

    // A command line that does not parse.
    let out = admin.run(&["verify", "--json", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_of(&out)["error"]["kind"], "usage");
}
