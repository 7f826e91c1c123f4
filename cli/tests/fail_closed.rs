//! A machine never drops to unmanaged while `status` says `ok`: a cloud
//! source the trust root configures but that never delivered, a signed
//! bundle that disappears after it was applied, and a source the signed
//! precedence leaves out are each reported, and the first two lock down.

#![allow(clippy::unwrap_used)]

mod common;

use common::Admin;
use serde_json::Value;

fn setup(extra: &[&str]) -> (tempfile::TempDir, Admin) {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    for name in ["root-1", "policy-1"] {
        admin.ok(&["keys", "generate", "--out", &format!("keys/{name}")]);
    }
    // An explicit --signed-sources in `extra` replaces the default (all four).
    let sources = extra
        .iter()
        .position(|a| *a == "--signed-sources")
        .map_or("mdm,cloud,system,mdm-user", |i| extra[i + 1]);
    let rest: Vec<&str> = match extra.iter().position(|a| *a == "--signed-sources") {
        Some(i) => [&extra[..i], &extra[i + 2..]].concat(),
        None => extra.to_vec(),
    };
    admin.init_trust(sources, &rest);
    admin.install("trust.toml", "etc/mandate/trust.toml");
    (tmp, admin)
}

fn show(admin: &Admin) -> (Value, i32) {
    let out = admin.on_machine(&["show", "--json"]);
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

fn codes(eff: &Value) -> Vec<String> {
    eff["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn cloud_configured_but_never_synced_locks_down() {
    let (_tmp, admin) = setup(&[
        "--cloud-url",
        "https://policy.acme.example/acme/cloud/acme-baseline.bundle",
        "--cloud-bundle",
        "acme-baseline",
    ]);
    let (eff, code) = show(&admin);
    assert_eq!(eff["status"], "degraded");
    assert_eq!(code, 3);
    assert!(codes(&eff).contains(&"cloud-not-synced".into()), "{eff:#}");
    assert_eq!(eff["keys"]["sandbox.mode"]["value"], "read-only");
    assert_eq!(eff["keys"]["sandbox.mode"]["source"], "lockdown");
    let message = eff["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "cloud-not-synced")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("mandate sync"), "{message}");
}

#[test]
fn trust_init_refuses_a_cloud_url_without_a_bundle_id() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    for name in ["root-1", "policy-1"] {
        admin.ok(&["keys", "generate", "--out", &format!("keys/{name}")]);
    }
    let out = admin.run(&[
        "trust",
        "init",
        "--org",
        "acme",
        "--root-key",
        "keys/root-1.pub",
        "--root-threshold",
        "1",
        "--policy-key",
        "keys/policy-1.pub",
        "--sign",
        "keys/root-1.key",
        "--cloud-url",
        "https://policy.acme.example/b.bundle",
        "-o",
        "trust.toml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cloud-bundle"));
    assert!(!admin.dir.join("trust.toml").exists());
}

#[test]
fn a_signed_bundle_that_disappears_locks_down() {
    let (_tmp, admin) = setup(&[]);
    admin.write_policy("baseline.toml", 1, "workspace-write");
    admin.ok(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "baseline.toml",
        "-o",
        "baseline.bundle",
    ]);
    admin.install("baseline.bundle", "etc/mandate/policy.d/10-baseline.bundle");
    let (eff, code) = show(&admin);
    assert_eq!(eff["status"], "ok", "{eff:#}");
    assert_eq!(code, 0);

    std::fs::remove_file(
        admin
            .machine
            .join("etc/mandate/policy.d/10-baseline.bundle"),
    )
    .unwrap();
    let (eff, code) = show(&admin);
    assert_eq!(eff["status"], "degraded", "{eff:#}");
    assert_eq!(code, 3);
    assert!(codes(&eff).contains(&"bundle-missing".into()), "{eff:#}");
    assert_eq!(eff["keys"]["sandbox.mode"]["source"], "lockdown");

    // Putting it back restores the managed state.
    admin.install("baseline.bundle", "etc/mandate/policy.d/10-baseline.bundle");
    let (eff, _) = show(&admin);
    assert_eq!(eff["status"], "ok", "{eff:#}");

    // A deliberate retirement is recorded by root, and then absence is fine.
    std::fs::remove_file(
        admin
            .machine
            .join("etc/mandate/policy.d/10-baseline.bundle"),
    )
    .unwrap();
    let out = admin.on_machine(&["state", "forget", "system/acme-baseline"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (eff, code) = show(&admin);
    assert_eq!(eff["status"], "ok", "{eff:#}");
    assert_eq!(code, 0);
    let out = admin.on_machine(&["state", "forget", "system/acme-baseline"]);
    assert_eq!(out.status.code(), Some(1), "nothing left to forget");
}

#[test]
fn a_refused_state_file_is_reported_and_never_replaced() {
    let (_tmp, admin) = setup(&[]);
    let state = admin.machine.join("var/lib/mandate/rollback.json");
    std::fs::write(&state, b"{ not json").unwrap();
    let (eff, code) = show(&admin);
    assert_eq!(eff["status"], "degraded");
    assert_eq!(code, 3);
    assert_eq!(std::fs::read(&state).unwrap(), b"{ not json");
}

#[test]
fn a_source_left_out_of_the_signed_order_is_listed_as_ignored() {
    let (_tmp, admin) = setup(&[
        "--order",
        "mdm,cloud,mdm-user",
        "--signed-sources",
        "mdm,cloud,mdm-user",
    ]);
    std::fs::write(
        admin.dir.join("local.toml"),
        "[requirements]\n\"sandbox.mode\" = { value = \"read-only\" }\n",
    )
    .unwrap();
    admin.install("local.toml", "etc/mandate/policy.d/50-local.toml");
    let sources = admin.sources();
    let rows: Vec<&Value> = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "system" || s["name"] == "cloud")
        .collect();
    let system = rows.iter().find(|s| s["name"] == "system").unwrap();
    assert_eq!(system["status"], "ignored", "{rows:#?}");
    assert!(
        system["reason"].as_str().unwrap().contains("precedence"),
        "{system}"
    );
    // The policy it holds does not count.
    let (eff, _) = show(&admin);
    assert_ne!(eff["keys"]["sandbox.mode"]["source"], "system", "{eff:#}");
}

#[test]
fn human_output_escapes_control_characters() {
    let (_tmp, admin) = setup(&[]);
    // A policy file whose name holds an escape sequence and a newline.
    let name = "etc/mandate/policy.d/20-evil\u{1b}[31m\nsystem    verified  fake.toml";
    std::fs::write(
        admin.dir.join("p.toml"),
        "[requirements]\n\"sandbox.mode\" = { value = \"read-only\" }\n",
    )
    .unwrap();
    admin.install("p.toml", &format!("{name}.toml"));
    let out = admin.on_machine(&["sources"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("system    verified  fake")),
        "a forged line: {text}"
    );
    assert!(text.contains("\\u{1b}[31m\\nsystem"), "{text}");
}

#[test]
fn sources_lists_absent_layers_with_where_they_would_be_read() {
    let (_tmp, admin) = setup(&[]);
    let sources = admin.sources();
    let rows = sources["sources"].as_array().unwrap();
    for name in ["user", "project", "session"] {
        let row = rows
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no {name} row: {rows:#?}"));
        assert_eq!(row["status"], "absent", "{row}");
        assert!(!row["location"].as_str().unwrap().is_empty());
    }
}

#[test]
fn the_trust_line_names_the_root_actually_in_force() {
    let (_tmp, admin) = setup(&[]);
    let sources = admin.sources();
    assert!(
        sources["trust"]["location"]
            .as_str()
            .unwrap()
            .ends_with("etc/mandate/trust.toml"),
        "{sources:#}"
    );
    // trust.toml removed after pinning: the pinned copy is what is in force.
    std::fs::remove_file(admin.machine.join("etc/mandate/trust.toml")).unwrap();
    let sources = admin.sources();
    let location = sources["trust"]["location"].as_str().unwrap();
    assert!(
        location.contains("var/lib/mandate/trust/root.toml"),
        "{location}"
    );
    assert!(location.contains("pinned copy"), "{location}");
    assert_eq!(sources["trust"]["mode"], "signed");
}

#[test]
fn check_refuses_an_allowed_domain_the_deny_list_covers() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    std::fs::write(
        admin.dir.join("deny.toml"),
        "[requirements]\n\"network.denied_domains\" = { includes = [\"pastebin.com\"] }\n",
    )
    .unwrap();
    admin.install("deny.toml", "etc/mandate/policy.d/10-deny.toml");
    let out = admin.on_machine(&[
        "check",
        r#"network.allowed_domains=["Pastebin.com", "github.com"]"#,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("network.denied_domains"), "{text}");
    let ok = admin.on_machine(&["check", r#"network.allowed_domains=["github.com"]"#]);
    assert_eq!(ok.status.code(), Some(0));
}

#[test]
fn show_get_and_explain_say_on_stderr_that_a_user_file_is_skipped() {
    let (_tmp, admin) = setup(&[]);
    let home = admin.machine.join("home/ana/.config/mandate");
    std::fs::create_dir_all(&home).unwrap();
    let config = home.join("config.toml");
    std::fs::write(&config, "[sandbox]\nmode = \n").unwrap();
    for args in [
        &["--user", "ana", "show", "--json"][..],
        &["--user", "ana", "get", "sandbox.mode"],
        &["--user", "ana", "explain", "sandbox.mode"],
    ] {
        let out = admin.on_machine(args);
        let err = String::from_utf8_lossy(&out.stderr);
        let warning = format!(
            "warning: your user file {} is skipped until it is fixed, so its settings do not apply; `mandate sources` says why",
            config.display()
        );
        assert!(err.contains(&warning), "{args:?}: {err}");
        // The result itself is unaffected: still valid JSON or a value.
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
    // A readable user file is not mentioned.
    std::fs::write(&config, "[sandbox]\nmode = \"read-only\"\n").unwrap();
    let out = admin.on_machine(&["--user", "ana", "show"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("is skipped"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_diagnostic_of_several_lines_reads_as_lines_under_its_code() {
    let (_tmp, admin) = setup(&[]);
    let home = admin.machine.join("home/ana/.config/mandate");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("config.toml"), "[sandbox]\nmode = \n").unwrap();
    let out = admin.on_machine(&["--user", "ana", "sources"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text
        .lines()
        .position(|l| l.starts_with("  warning [skipped-file]: "))
        .unwrap_or_else(|| panic!("no skipped-file diagnostic: {text}"));
    let next = text.lines().nth(at + 1).unwrap_or_default();
    assert_eq!(
        next.trim_start(),
        "this user file is skipped until it is fixed; managed policy is unaffected",
        "{text}"
    );
    assert!(
        next.starts_with("    "),
        "continuations are indented: {text}"
    );
    assert!(!text.contains("\\n"), "no escaped line breaks: {text}");
}
