//! `mandate apply` writes what agents read: `effective.json` in the state
//! directory, atomically, equal to the machine's `show --json`, and each
//! governed agent's managed files, with drift checks, takeover and removal.

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

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The demo machine in a temp dir.
fn demo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    assert!(
        mandate(&["demo", "--out", demo.to_str().unwrap()])
            .status
            .success()
    );
    (tmp, demo)
}

/// Adds a root-owned managed policy file to the demo machine.
fn add_policy(demo: &Path, name: &str, text: &str) {
    let path = demo.join("etc/mandate/policy.d").join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

const ALL_AGENTS: &str = "[policy]\nid = \"agents\"\nversion = 1\nexpires = 2030-01-01T00:00:00Z\n[settings]\nagents.enabled = [\"codex\", \"claude-code\", \"gemini-cli\"]\n";

fn apply(demo: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--root",
        demo.to_str().unwrap(),
        "--platform",
        "linux",
        "apply",
    ];
    args.extend(extra);
    mandate(&args)
}

#[test]
fn apply_writes_effective_json_like_the_machine_without_user_layers() {
    let (_tmp, demo) = demo();
    let root = demo.to_str().unwrap();
    let out = apply(&demo, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = demo.join("var/lib/mandate/effective.json");
    let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert_eq!(written["status"], "ok");
    // Ana's config asks for full-access and never; the machine's result
    // holds the managed values and no user or project layer at all.
    assert_eq!(written["settings"]["sandbox"]["mode"], "workspace-write");
    assert_eq!(written["keys"]["sandbox.mode"]["source"], "system");
    assert!(
        written["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != "user" && s["name"] != "project"),
        "{}",
        written["sources"]
    );
    // What ana sees differs: her config counts for her.
    let shown: Value = serde_json::from_slice(
        &mandate(&[
            "--root",
            root,
            "--platform",
            "linux",
            "--user",
            "ana",
            "show",
            "--json",
        ])
        .stdout,
    )
    .unwrap();
    assert_ne!(written["digest"], shown["digest"]);

    // A broken managed file: apply still writes (lockdown values) and exits 3.
    add_policy(&demo, "30-broken.toml", "[settings\n");
    let out = apply(&demo, &[]);
    assert_eq!(out.status.code(), Some(3));
    let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(written["status"], "degraded");
    assert_eq!(written["settings"]["sandbox"]["mode"], "read-only");
    assert_eq!(written["keys"]["sandbox.mode"]["source"], "lockdown");
}

#[test]
fn apply_refuses_caller_options() {
    let (_tmp, demo) = demo();
    for extra in [
        vec!["--user", "ana"],
        vec!["-c", "sandbox.mode=read-only"],
        vec!["-C", "/tmp"],
    ] {
        let mut args = vec!["--root", demo.to_str().unwrap(), "--platform", "linux"];
        args.extend(&extra);
        args.push("apply");
        let out = mandate(&args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let err = stderr(&out);
        assert!(err.contains("apply does not take"), "{err}");
        assert!(err.contains(extra[0]), "{err}");
    }
    assert!(!demo.join("var/lib/mandate/effective.json").exists());
}

#[test]
fn apply_writes_every_enabled_agent_and_records_it() {
    let (_tmp, demo) = demo();
    add_policy(&demo, "30-agents.toml", ALL_AGENTS);
    let out = apply(&demo, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let files = [
        "etc/codex/requirements.toml",
        "etc/codex/config.toml",
        "etc/codex/managed_config.toml",
        "etc/claude-code/managed-settings.json",
        "etc/gemini-cli/settings.json",
        "etc/gemini-cli/policies/mandate.toml",
    ];
    for f in files {
        let meta = std::fs::metadata(demo.join(f)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o644, "{f}");
    }
    for d in ["etc/codex", "etc/gemini-cli", "etc/gemini-cli/policies"] {
        let meta = std::fs::metadata(demo.join(d)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o755, "{d}");
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(demo.join("var/lib/mandate/agents.json")).unwrap())
            .unwrap();
    let recorded: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for f in files {
        assert!(recorded.contains(&format!("/{f}").as_str()), "{recorded:?}");
    }
    // The managed hook is registered with this very executable.
    let claude: Value = serde_json::from_slice(
        &std::fs::read(demo.join("etc/claude-code/managed-settings.json")).unwrap(),
    )
    .unwrap();
    let hook = claude["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap();
    assert!(hook.ends_with("mandate hook claude"), "{hook}");
    assert!(hook.starts_with('/'), "{hook}");

    // A second apply changes nothing.
    let out = apply(&demo, &[]);
    assert!(out.status.success());
    assert_eq!(stdout(&out).matches("unchanged:").count(), files.len());
}

#[test]
fn drift_is_detected_and_restored() {
    let (_tmp, demo) = demo();
    add_policy(&demo, "30-agents.toml", ALL_AGENTS);
    assert!(apply(&demo, &[]).status.success());
    let out = apply(&demo, &["--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // Someone loosens Codex's requirements by hand and deletes Claude's file.
    let req = demo.join("etc/codex/requirements.toml");
    let original = std::fs::read_to_string(&req).unwrap();
    let edited = original.replace(
        "allowed_sandbox_modes = [\"workspace-write\", \"read-only\"]",
        "allowed_sandbox_modes = [\"danger-full-access\", \"read-only\"]",
    );
    assert_ne!(edited, original);
    std::fs::write(&req, &edited).unwrap();
    std::fs::remove_file(demo.join("etc/claude-code/managed-settings.json")).unwrap();

    let out = apply(&demo, &["--check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("edited since apply wrote it"), "{text}");
    assert!(
        text.contains("- allowed_sandbox_modes = [\"danger-full-access\", \"read-only\"]"),
        "{text}"
    );
    assert!(
        text.contains("+ allowed_sandbox_modes = [\"workspace-write\", \"read-only\"]"),
        "{text}"
    );
    assert!(text.contains("missing:"), "{text}");
    assert!(text.contains("managed-settings.json"), "{text}");

    let mut args = vec![
        "--root",
        demo.to_str().unwrap(),
        "--platform",
        "linux",
        "--json",
        "apply",
        "--check",
    ];
    let json: Value = serde_json::from_slice(&mandate(&args).stdout).unwrap();
    let drifts: Vec<&str> = json["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["drift"].as_str().unwrap())
        .collect();
    assert_eq!(drifts, ["differs", "missing"]);

    args.truncate(4);
    args.push("apply");
    assert!(mandate(&args).status.success());
    assert_eq!(std::fs::read_to_string(&req).unwrap(), original);
    assert!(demo.join("etc/claude-code/managed-settings.json").exists());
    assert_eq!(apply(&demo, &["--check"]).status.code(), Some(0));
}

#[test]
fn a_foreign_file_is_never_overwritten_without_takeover() {
    let (_tmp, demo) = demo();
    add_policy(&demo, "30-agents.toml", ALL_AGENTS);
    let dir = demo.join("etc/claude-code");
    std::fs::create_dir_all(&dir).unwrap();
    let theirs = "{\"permissions\": {\"deny\": [\"Bash(curl *)\"]}}\n";
    let file = dir.join("managed-settings.json");
    std::fs::write(&file, theirs).unwrap();

    let out = apply(&demo, &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("was not written by mandate"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("agents.takeover"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), theirs);
    // The other agents were written.
    assert!(demo.join("etc/codex/requirements.toml").exists());
    let check = apply(&demo, &["--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stdout(&check).contains("not written by mandate"));

    // With takeover allowed, the file is backed up and replaced...
    add_policy(
        &demo,
        "40-takeover.toml",
        "[policy]\nid = \"takeover\"\nversion = 1\nexpires = 2030-01-01T00:00:00Z\n[settings]\nagents.takeover = true\n",
    );
    let out = apply(&demo, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("took over"), "{}", stdout(&out));
    let ours = std::fs::read_to_string(&file).unwrap();
    assert!(ours.contains("allowManagedHooksOnly"), "{ours}");
    let backups: Vec<_> = std::fs::read_dir(demo.join("var/lib/mandate/agents-backup"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), theirs);

    // ... and `apply --remove` removes exactly what apply wrote and puts the
    // previous file back.
    let out = apply(&demo, &["--remove"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), theirs);
    assert!(!demo.join("etc/codex/requirements.toml").exists());
    assert!(!demo.join("etc/gemini-cli/settings.json").exists());
    assert!(!demo.join("var/lib/mandate/agents.json").exists());
    // The policy files of mandate itself are untouched.
    assert!(
        demo.join("etc/mandate/policy.d/10-security-baseline.toml")
            .exists()
    );
}

#[test]
fn files_of_an_agent_no_longer_governed_are_removed() {
    let (_tmp, demo) = demo();
    add_policy(&demo, "30-agents.toml", ALL_AGENTS);
    assert!(apply(&demo, &[]).status.success());
    add_policy(
        &demo,
        "30-agents.toml",
        &ALL_AGENTS.replace(
            "[\"codex\", \"claude-code\", \"gemini-cli\"]",
            "[\"claude-code\"]",
        ),
    );
    let out = apply(&demo, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("removed (no longer rendered)"));
    assert!(!demo.join("etc/codex/requirements.toml").exists());
    assert!(!demo.join("etc/gemini-cli/settings.json").exists());
    assert!(demo.join("etc/claude-code/managed-settings.json").exists());
}

#[test]
fn agents_shows_coverage_per_setting() {
    let (_tmp, demo) = demo();
    add_policy(&demo, "30-agents.toml", ALL_AGENTS);
    let root = demo.to_str().unwrap();
    let out = mandate(&["--root", root, "--platform", "linux", "--json", "agents"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let agents = json["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 3);
    let codex = &agents[0];
    assert_eq!(codex["agent"], "codex");
    assert_eq!(codex["governed"], "listed");
    let row = |a: &Value, key: &str| {
        a["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["setting"] == key)
            .cloned()
            .unwrap()
    };
    assert_eq!(row(codex, "models.allowed")["coverage"], "not-enforceable");
    assert_eq!(row(codex, "models.allowed")["constrained"], true);
    assert_eq!(row(codex, "approvals.policy")["coverage"], "native");
    assert_eq!(row(&agents[1], "models.allowed")["coverage"], "native");
    assert_eq!(
        row(&agents[2], "network.allowed_domains")["coverage"],
        "hook"
    );
    // Every setting of the schema has a row for every agent.
    let schema: Value = serde_json::from_slice(&mandate(&["schema"]).stdout).unwrap();
    let groups = schema["properties"].as_object().unwrap();
    let count: usize = groups
        .values()
        .map(|g| {
            g["properties"]
                .as_object()
                .unwrap()
                .values()
                .map(|s| {
                    if s.get("x-mandate-lockdown").is_some() {
                        1
                    } else {
                        s["properties"].as_object().unwrap().len()
                    }
                })
                .sum::<usize>()
        })
        .sum();
    for a in agents {
        assert_eq!(
            a["settings"].as_array().unwrap().len(),
            count,
            "{}",
            a["agent"]
        );
    }

    let text = stdout(&mandate(&["--root", root, "--platform", "linux", "agents"]));
    assert!(
        text.contains("codex: not installed; governed (agents.enabled)"),
        "{text}"
    );
    assert!(text.contains("not enforceable"), "{text}");
}

#[test]
fn agents_and_doctor_report_vendor_channels_that_outrank_the_files() {
    let (_tmp, demo) = demo();
    let root = demo.to_str().unwrap();
    let flags = ["--root", root, "--platform", "linux"];
    let json = |args: &[&str]| -> Value {
        let mut all = flags.to_vec();
        all.push("--json");
        all.extend(args);
        serde_json::from_slice(&mandate(&all).stdout).unwrap()
    };
    assert_eq!(json(&["agents"])["vendor_channels"], serde_json::json!([]));

    let cache = demo.join("home/ana/.claude");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        cache.join("remote-settings.json"),
        r#"{"permissions": {"allow": ["Bash"]}}"#,
    )
    .unwrap();
    let channels = json(&["agents"])["vendor_channels"].clone();
    assert_eq!(channels[0]["agent"], "claude-code");
    assert_eq!(channels[0]["user"], "ana");
    assert_eq!(
        channels[0]["path"],
        "/home/ana/.claude/remote-settings.json"
    );

    let mut all = flags.to_vec();
    all.push("doctor");
    let text = stdout(&mandate(&all));
    assert!(
        text.contains("claude-code for ana: /home/ana/.claude/remote-settings.json"),
        "{text}"
    );
}
