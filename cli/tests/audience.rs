//! Messages know who is reading: a developer is told who manages a setting
//! and whom to ask; admin fixes are offered to whoever can act on them.
//! `mandate project trust` records project trust in the user config.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::Admin;
use serde_json::Value;

const POLICY: &str = r##"[policy]
id = "acme-baseline"
version = 1
description = "Security baseline for every developer laptop"
contact = "#platform-security on Slack"

[requirements]
"sandbox.mode" = { max = "workspace-write" }
"##;

fn machine(tmp: &Path) -> Admin {
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    let admin = Admin::new(tmp);
    std::fs::set_permissions(&admin.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(admin.dir.join("base.toml"), POLICY).unwrap();
    admin.install("base.toml", "etc/mandate/policy.d/10-base.toml");
    admin
}

/// Runs `mandate` as an unprivileged user (nobody) reading the machine.
fn as_developer(admin: &Admin, args: &[&str]) -> Option<Output> {
    let bin = assert_cmd::cargo::cargo_bin("mandate");
    let root = admin.machine.display().to_string();
    let probe = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        common::skip("setpriv cannot switch to an unprivileged user here");
        return None;
    }
    Some(
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin)
            .args(["--root", &root, "--platform", "linux"])
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", "/nonexistent")
            .current_dir("/")
            .output()
            .unwrap(),
    )
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_developer_is_told_who_manages_the_setting_and_whom_to_ask() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = machine(tmp.path());
    let Some(out) = as_developer(&admin, &["check", "sandbox.mode=full-access"]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("your organisation manages this setting"), "{t}");
    assert!(
        t.contains("system policy (acme-baseline: Security baseline for every developer laptop)"),
        "{t}"
    );
    assert!(
        t.contains("to change it, ask #platform-security on Slack"),
        "{t}"
    );
    assert!(!t.contains("as an admin"), "{t}");
    assert!(!t.contains("mandate sign"), "{t}");

    let out = as_developer(&admin, &["check", "--json", "sandbox.mode=full-access"]).unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["managed_by"][0]["contact"], "#platform-security on Slack");
    assert_eq!(v["managed_by"][0]["source"], "system");

    let out = as_developer(&admin, &["explain", "sandbox.mode"]).unwrap();
    let t = text(&out);
    assert!(
        t.contains("to change it, ask #platform-security on Slack"),
        "{t}"
    );

    // The same question from root: where to change it, and how to check it.
    let out = admin.on_machine(&["check", "sandbox.mode=full-access"]);
    let t = text(&out);
    assert!(t.contains("as an admin: change the requirement in"), "{t}");
    assert!(t.contains("10-base.toml"), "{t}");
    assert!(t.contains("mandate verify --machine"), "{t}");
    assert!(!t.contains("your organisation manages"), "{t}");

    // The contact is in `sources --json`.
    let sources = admin.sources();
    let system = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "system")
        .unwrap();
    assert_eq!(system["contact"], "#platform-security on Slack");
    assert_eq!(
        system["description"],
        "Security baseline for every developer laptop"
    );
}

#[test]
fn admin_fixes_go_to_admins() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = machine(tmp.path());
    // A second policy file that is broken: the machine is degraded.
    std::fs::write(admin.dir.join("bad.toml"), "[settings]\nsandbox.mode = 3\n").unwrap();
    admin.install("bad.toml", "etc/mandate/policy.d/20-bad.toml");

    let Some(out) = as_developer(&admin, &["doctor", "--json"]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rejected = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "source-rejected")
        .unwrap_or_else(|| panic!("{findings:#}"));
    let fix = rejected["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("only an administrator can fix this; tell #platform-security on Slack"),
        "{fix}"
    );

    let out = as_developer(&admin, &["show"]).unwrap();
    assert_eq!(out.status.code(), Some(3));
    let t = String::from_utf8_lossy(&out.stderr);
    assert!(
        t.contains("until your organisation fixes its policy; tell #platform-security on Slack"),
        "{t}"
    );

    // Root is given the fix itself.
    let out = admin.on_machine(&["doctor", "--json"]);
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rejected = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "source-rejected")
        .unwrap();
    assert!(
        rejected["fix"]
            .as_str()
            .unwrap()
            .starts_with("fix or remove the file")
    );
    let out = admin.on_machine(&["show"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("tell #platform"));
}

#[test]
fn project_trust_records_trust_in_the_user_config() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = machine(tmp.path());
    let home = admin.machine.join("home/ana");
    let project = home.join("src/app");
    std::fs::create_dir_all(project.join("sub")).unwrap();
    std::fs::create_dir_all(home.join(".config/mandate")).unwrap();
    let config = home.join(".config/mandate/config.toml");
    std::fs::write(
        &config,
        "# ana's settings\n[approvals]\npolicy = \"on-request\"  # asked\n",
    )
    .unwrap();
    std::fs::write(
        project.join(".mandate.toml"),
        "[sandbox]\nmode = \"read-only\"\n",
    )
    .unwrap();
    let sub = project.join("sub").display().to_string();
    let with_user = |args: &[&str]| {
        let mut all = vec!["--user", "ana", "-C", sub.as_str()];
        all.extend_from_slice(args);
        admin.on_machine(&all)
    };
    let project_status = |sources: &Value| {
        sources["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "project")
            .cloned()
            .unwrap()
    };
    let sources: Value = serde_json::from_slice(&with_user(&["sources", "--json"]).stdout).unwrap();
    let p = project_status(&sources);
    assert_eq!(p["status"], "ignored");
    assert!(
        p["reason"]
            .as_str()
            .unwrap()
            .contains("mandate project trust /home/ana/src/app"),
        "{p:#}"
    );

    // From a subdirectory, the project is the one whose .mandate.toml applies.
    let out = with_user(&["project", "trust"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("/home/ana/src/app: trusted"));
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.starts_with("# ana's settings\n[approvals]\npolicy = \"on-request\"  # asked\n"),
        "{written}"
    );
    assert!(
        written.contains("[projects.\"/home/ana/src/app\"]\ntrusted = true"),
        "{written}"
    );
    let sources: Value = serde_json::from_slice(&with_user(&["sources", "--json"]).stdout).unwrap();
    assert_eq!(project_status(&sources)["status"], "loaded", "{sources:#}");
    let out = with_user(&["get", "sandbox.mode"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "read-only");

    // Trusting again changes nothing; untrust takes it back.
    with_user(&["project", "trust"]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), written);
    let out = with_user(&["project", "untrust", project.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let sources: Value = serde_json::from_slice(&with_user(&["sources", "--json"]).stdout).unwrap();
    assert_eq!(project_status(&sources)["status"], "ignored");

    // A user config that is not TOML is left alone.
    std::fs::write(&config, "[approvals\n").unwrap();
    let out = with_user(&["project", "trust"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "[approvals\n");
}
