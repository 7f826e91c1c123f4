#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]
//! End-to-end tests of `mandate decide`, `mandate hook` and `mandate audit`
//! on a machine laid out in a temporary directory (`--root`), with a cleared
//! environment.
//!
//! Exit codes of `decide`: 0 allow, 1 deny, 4 prompt. Hooks answer in each
//! agent's documented protocol; hook inputs follow each agent's documented
//! input (Claude Code and Codex `PreToolUse`, Gemini CLI `BeforeTool`).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::{Value, json};
use tempfile::TempDir;

const POLICY: &str = r#"
[policy]
id = "decisions"
version = 1

[settings]
audit.log = "/var/log/mandate/audit.jsonl"
sandbox.mode = "workspace-write"
sandbox.deny_read = ["~/.ssh"]
network.denied_domains = ["pastebin.com"]
network.allowed_domains = ["github.com"]
network.unknown_domains = "ask"
mcp.allowed_servers = [{ name = "docs", command = "docs-mcp" }]
commands.rules = [
  { pattern = ["git", "push", "--force"], decision = "forbidden", justification = "rewrites shared history" },
  { pattern = ["git", "push"], decision = "prompt" },
  { pattern = ["git", "status"], decision = "allow" },
  { pattern = ["sudo"], decision = "forbidden", justification = "no root" },
]
"#;

struct Machine {
    dir: TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Machine {
    fn new() -> Machine {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let m = Machine { dir };
        fs::create_dir_all(m.root().join("etc/mandate/policy.d")).unwrap();
        fs::create_dir_all(m.dir.path().join("home")).unwrap();
        m.policy("10-decisions.toml", POLICY);
        m
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("machine")
    }

    fn policy(&self, name: &str, text: &str) {
        let path = self.root().join("etc/mandate/policy.d").join(name);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("mandate").unwrap();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .current_dir(self.dir.path())
            .arg("--root")
            .arg(self.root())
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, "")
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let out = self.cmd(args).write_stdin(stdin).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn audit_lines(&self) -> Vec<Value> {
        let path = self.root().join("var/log/mandate/audit.jsonl");
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

#[test]
fn decide_exit_codes_and_lines() {
    let m = Machine::new();
    for (args, code, text) in [
        (
            vec!["decide", "exec", "--", "git", "-C", ".", "push", "--force"],
            1,
            "deny: `git push --force` is forbidden: rewrites shared history [commands.rules, set by system at ",
        ),
        (
            vec!["decide", "exec", "--", "git", "push"],
            4,
            "prompt: `git push` needs approval",
        ),
        (
            vec!["decide", "exec", "--", "/usr/bin/git", "status"],
            0,
            "allow: `git status` is allowed",
        ),
        (
            vec!["decide", "exec", "--", "make"],
            0,
            "allow: no rule applies to `make`",
        ),
        (
            vec!["decide", "shell", "bash -c \"sudo rm -rf /\""],
            1,
            "deny: `sudo` is forbidden: no root",
        ),
        (
            vec!["decide", "shell", "echo $(git push --force)"],
            1,
            "deny: `git push --force`",
        ),
        (
            vec!["decide", "url", "https://Pastebin.COM./raw/x"],
            1,
            "deny: pastebin.com is on the denied domains",
        ),
        (
            vec!["decide", "url", "http://github.com:443/x"],
            0,
            "allow: github.com is on the allowed domains",
        ),
        (
            vec!["decide", "url", "https://example.org"],
            4,
            "prompt: example.org is on neither domain list",
        ),
        (
            vec!["decide", "mcp", "docs"],
            0,
            "allow: the MCP server `docs`",
        ),
        (
            vec!["decide", "mcp", "docs", "--command", "evil"],
            1,
            "deny: the MCP server `docs` is allowed only",
        ),
        (
            vec!["decide", "mcp", "other"],
            1,
            "deny: the MCP server `other` is not on",
        ),
        (
            vec!["decide", "read", "/home/x/../ana/.ssh/id_rsa"],
            0,
            "allow",
        ),
        (
            vec!["decide", "write", "/etc/hosts"],
            4,
            "prompt: /etc/hosts is outside the workspace",
        ),
    ] {
        let run = m.run(&args);
        assert_eq!(run.code, code, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.starts_with(text), "{args:?}: {}", run.stdout);
        assert_eq!(
            run.stdout.lines().count(),
            1,
            "{args:?}: one line: {}",
            run.stdout
        );
    }
}

#[test]
fn decide_json() {
    let m = Machine::new();
    let run = m.run(&[
        "--json",
        "decide",
        "shell",
        "cd x && git --no-pager push --force",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["action"], "shell");
    assert_eq!(v["judged"], "git push --force");
    assert_eq!(v["rule"]["setting"], "commands.rules");
    assert_eq!(v["rule"]["source"], "system");
    assert_eq!(v["rule"]["justification"], "rewrites shared history");
    assert!(
        v["rule"]["location"]
            .as_str()
            .unwrap()
            .ends_with("10-decisions.toml:14:10"),
        "{v}"
    );
    assert!(v["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(
        v["commands"],
        json!(["cd x", "git --no-pager push --force", "git push --force"])
    );
}

#[test]
fn decisions_are_audited() {
    if !is_root() {
        common::skip("the audit.log setting is written only by root");
        return;
    }
    let m = Machine::new();
    assert_eq!(
        m.run(&["decide", "--agent", "ci", "url", "pastebin.com"])
            .code,
        1
    );
    assert_eq!(m.run(&["decide", "exec", "--", "git", "status"]).code, 0);
    let lines = m.audit_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["event"], "decision");
    assert_eq!(lines[0]["agent"], "ci");
    assert_eq!(lines[0]["decision"], "deny");
    assert_eq!(lines[0]["judged"], "pastebin.com");
    assert_eq!(lines[0]["setting"], "network.denied_domains");
    assert_eq!(lines[0]["source"], "system");
    assert_eq!(lines[0]["uid"], 0);
    assert!(lines[0]["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(lines[1]["agent"], "cli");

    let run = m.run(&["audit", "query", "--decision", "deny"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("deny url pastebin.com [network.denied_domains, set by system]"),
        "{}",
        run.stdout
    );
    let run = m.run(&["--json", "audit", "query", "--agent", "cli"]);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    let run = m.run(&["audit", "query", "--since", "2999-01-01T00:00:00Z"]);
    assert_eq!(run.stdout.trim(), "");
    let run = m.run(&["audit", "tail", "-n", "1"]);
    assert!(
        run.stdout.contains("allow exec git status"),
        "{}",
        run.stdout
    );
    assert_eq!(m.run(&["audit", "query", "--since", "yesterday"]).code, 2);
}

#[test]
fn an_unwritable_log_never_blocks_a_decision() {
    if !is_root() {
        common::skip("the audit.log setting is written only by root");
        return;
    }
    let m = Machine::new();
    // The log's directory is a file: nothing can be appended.
    fs::create_dir_all(m.root().join("var/log")).unwrap();
    fs::write(m.root().join("var/log/mandate"), "").unwrap();
    let run = m.run(&["decide", "exec", "--", "git", "push", "--force"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("deny:"));
    assert!(
        run.stderr
            .contains("warning: the decision stands, but it was not recorded"),
        "{}",
        run.stderr
    );
}

#[test]
fn snapshot_is_used_until_a_newer_policy_lands() {
    let m = Machine::new();
    let run = m.run(&["apply"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        m.root()
            .join("var/lib/mandate/decide-snapshot.json")
            .exists()
    );
    let origin = |m: &Machine, args: &[&str]| {
        let mut all = vec!["--json", "decide"];
        all.extend_from_slice(args);
        let run = m.run(&all);
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        (run.code, v["configuration"].as_str().unwrap().to_owned())
    };
    let (code, from) = origin(&m, &["exec", "--", "npm", "publish"]);
    assert_eq!((code, from.as_str()), (0, "snapshot"));
    // A newer policy lands: the decision follows it, not the snapshot.
    m.policy(
        "20-npm.toml",
        "[settings]\ncommands.rules = [{ pattern = [\"npm\", \"publish\"], decision = \"forbidden\" }]\n",
    );
    let (code, from) = origin(&m, &["exec", "--", "npm", "publish"]);
    assert_eq!(code, 1);
    assert!(from.starts_with("resolved"), "{from}");
    assert!(
        from.contains("changed since the snapshot was made"),
        "{from}"
    );
    // That resolution (as root) refreshed the snapshot.
    if is_root() {
        let (code, from) = origin(&m, &["exec", "--", "npm", "publish"]);
        assert_eq!((code, from.as_str()), (1, "snapshot"));
    }
    // A tampered snapshot is not used.
    let snap = m.root().join("var/lib/mandate/decide-snapshot.json");
    let text = fs::read_to_string(&snap)
        .unwrap()
        .replace("forbidden", "allow");
    fs::write(&snap, text).unwrap();
    let (code, from) = origin(&m, &["exec", "--", "npm", "publish"]);
    assert_eq!(code, 1);
    assert!(from.contains("does not match its digest"), "{from}");
    // -c brings in the session layer: no snapshot.
    let (_, from) = origin(
        &m,
        &["-c", "approvals.policy=\"untrusted\"", "exec", "--", "ls"],
    );
    assert!(from.contains("-c values are given"), "{from}");
}

fn hook(m: &Machine, agent: &str, input: &Value) -> Run {
    m.run_stdin(&["hook", agent], &input.to_string())
}

fn claude_input(tool: &str, tool_input: Value) -> Value {
    // The PreToolUse input Claude Code documents.
    json!({
        "session_id": "abc123",
        "transcript_path": "/home/ana/.claude/projects/x/abc123.jsonl",
        "cwd": "/work/repo",
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "toolu_01"
    })
}

#[test]
fn claude_hook_protocol() {
    let m = Machine::new();
    let decision = |run: &Run| -> (String, String) {
        assert_eq!(run.code, 0, "{}", run.stderr);
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        let out = &v["hookSpecificOutput"];
        assert_eq!(out["hookEventName"], "PreToolUse");
        (
            out["permissionDecision"].as_str().unwrap().to_owned(),
            out["permissionDecisionReason"].as_str().unwrap().to_owned(),
        )
    };
    let (d, why) = decision(&hook(
        &m,
        "claude",
        &claude_input(
            "Bash",
            json!({"command": "git -C . push --force", "description": "push"}),
        ),
    ));
    assert_eq!(d, "deny");
    assert!(
        why.contains("rewrites shared history") && why.contains("set by system"),
        "{why}"
    );
    let (d, _) = decision(&hook(
        &m,
        "claude",
        &claude_input("Bash", json!({"command": "git push origin main"})),
    ));
    assert_eq!(d, "ask");
    let (d, _) = decision(&hook(
        &m,
        "claude",
        &claude_input("Bash", json!({"command": "git status"})),
    ));
    assert_eq!(d, "allow");
    let (d, _) = decision(&hook(
        &m,
        "claude",
        &claude_input(
            "WebFetch",
            json!({"url": "https://PASTEBIN.com/raw/1", "prompt": "read"}),
        ),
    ));
    assert_eq!(d, "deny");
    if is_root() {
        // `~` is the home of the user running the hook, from the user database.
        let (d, _) = decision(&hook(
            &m,
            "claude",
            &claude_input("Read", json!({"file_path": "/root/.ssh/../.ssh/id_rsa"})),
        ));
        assert_eq!(d, "deny");
    }
    let (d, _) = decision(&hook(
        &m,
        "claude",
        &claude_input("Write", json!({"file_path": "/etc/passwd", "content": "x"})),
    ));
    assert_eq!(d, "ask");
    let (d, _) = decision(&hook(
        &m,
        "claude",
        &claude_input("mcp__github__create_issue", json!({"title": "x"})),
    ));
    assert_eq!(d, "deny");
    // No rule applies: no opinion, Claude Code's own permissions decide.
    let run = hook(
        &m,
        "claude",
        &claude_input("Bash", json!({"command": "make test"})),
    );
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
    let run = hook(
        &m,
        "claude",
        &claude_input("TodoWrite", json!({"todos": []})),
    );
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
    // Input that cannot be read blocks the call (exit 2, reason on stderr).
    let run = m.run_stdin(&["hook", "claude"], "not json");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not JSON"), "{}", run.stderr);
    let run = hook(&m, "claude", &claude_input("Bash", json!({})));
    assert_eq!(run.code, 2);
}

#[test]
fn codex_hook_protocol() {
    let m = Machine::new();
    // The PreToolUse input Codex documents (pre-tool-use.command.input schema).
    let input = |command: &str| {
        json!({
            "cwd": "/work/repo",
            "hook_event_name": "PreToolUse",
            "model": "gpt-5-codex",
            "permission_mode": "default",
            "session_id": "s1",
            "tool_input": { "command": command },
            "tool_name": "Bash",
            "tool_use_id": "call_1",
            "transcript_path": null
        })
    };
    for (command, reason_part) in [
        ("sudo -u root id", "no root"),
        ("git push origin", "cannot ask"),
    ] {
        let run = hook(&m, "codex", &input(command));
        assert_eq!(run.code, 0, "{}", run.stderr);
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        // Codex accepts only `deny` (with a non-empty reason) from a PreToolUse hook.
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["hookSpecificOutput"]
        );
        let out = &v["hookSpecificOutput"];
        assert_eq!(out["hookEventName"], "PreToolUse");
        assert_eq!(out["permissionDecision"], "deny");
        assert!(
            out["permissionDecisionReason"]
                .as_str()
                .unwrap()
                .contains(reason_part),
            "{v}"
        );
    }
    for command in ["git status", "make"] {
        let run = hook(&m, "codex", &input(command));
        assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{command}");
    }
}

#[test]
fn gemini_hook_protocol() {
    let m = Machine::new();
    // The BeforeTool input Gemini CLI documents.
    let input = |tool: &str, tool_input: Value| {
        json!({
            "session_id": "g1",
            "transcript_path": "/home/ana/.gemini/tmp/x.json",
            "cwd": "/work/repo",
            "hook_event_name": "BeforeTool",
            "timestamp": "2026-06-01T00:00:00Z",
            "tool_name": tool,
            "tool_input": tool_input
        })
    };
    let run = hook(
        &m,
        "gemini",
        &input("run_shell_command", json!({"command": "git push --force"})),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["decision"], "deny");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("rewrites shared history")
    );
    let run = hook(
        &m,
        "gemini",
        &input(
            "web_fetch",
            json!({"prompt": "Summarise https://github.com/a and https://pastebin.com/raw/b"}),
        ),
    );
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["decision"], "deny");
    assert!(
        v["reason"].as_str().unwrap().contains("pastebin.com"),
        "{v}"
    );
    let run = hook(
        &m,
        "gemini",
        &input("run_shell_command", json!({"command": "ls"})),
    );
    assert_eq!((run.code, run.stdout.trim()), (0, "{}"));
    // Other events are not decided.
    let mut other = input("run_shell_command", json!({"command": "sudo id"}));
    other["hook_event_name"] = json!("AfterTool");
    let run = hook(&m, "gemini", &other);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
}

#[test]
fn hook_fails_closed_when_policy_cannot_load() {
    let m = Machine::new();
    // A --schema that does not exist: nothing can be resolved.
    let out = m
        .cmd(&["--schema", "/nonexistent.json", "hook", "claude"])
        .write_stdin(claude_input("Bash", json!({"command": "ls"})).to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("blocked"));
}
