//! The real agents load and obey what `mandate apply` renders.
//!
//! `mandate apply --root TMP` renders the strict profile for Codex, Claude
//! Code and Gemini CLI; each agent then runs in a private mount namespace
//! where an overlay puts `TMP/etc` over `/etc` (the machine's own `/etc` is
//! never written), with its home directory in `TMP` too. Only offline
//! commands are used: `codex doctor --json`, `claude doctor`, `claude mcp
//! list`, `gemini mcp list`, and start-ups that are refused before any
//! network access. Each test has a control run without the rendered files,
//! so that it shows the files make the difference.
//!
//! The binaries come from `MANDATE_TEST_AGENTS_BIN` (a directory holding
//! `codex`, `claude`, `gemini`) or the npm prefix `.ci/run` installs into
//! (`$HOME/.cache/mandate-ci/npm/node_modules/.bin`). A test that cannot get
//! its binary, or cannot make a mount namespace, says it is skipped.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Where the agents' executables are, if anywhere.
fn agents_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MANDATE_TEST_AGENTS_BIN") {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")?;
    let dir = Path::new(&home).join(".cache/mandate-ci/npm/node_modules/.bin");
    dir.is_dir().then_some(dir)
}

fn agent(name: &str) -> Option<PathBuf> {
    let path = agents_bin()?.join(name);
    path.exists().then_some(path)
}

/// `PATH` for the agents: their bin directory (node scripts need `node`).
fn path_env() -> String {
    let bin = agents_bin()
        .map(|b| b.display().to_string())
        .unwrap_or_default();
    format!("{bin}:/usr/local/bin:/usr/bin:/bin")
}

/// Says loudly that a test could not run, and counts it for `.ci/run`.
fn skip(why: &str) {
    common::skip(why);
}

/// A rendered machine: `root/etc/…` from the strict profile, plus a
/// scratch home and project for the agents.
struct Machine {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    project: PathBuf,
}

const AGENTS: &str = "[policy]\nid = \"agents\"\nversion = 1\nexpires = 2030-01-01T00:00:00Z\n[settings]\nagents.enabled = [\"codex\", \"claude-code\", \"gemini-cli\"]\n";

impl Machine {
    /// With `render`, `mandate apply` writes the agents' files; without, the
    /// machine has none (the control).
    fn new(render: bool) -> Machine {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = tmp.path().join("root");
        let policy = root.join("etc/mandate/policy.d");
        std::fs::create_dir_all(&policy).unwrap();
        for d in [
            root.as_path(),
            &root.join("etc"),
            &root.join("etc/mandate"),
            &policy,
        ] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let strict = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/strict.toml");
        std::fs::copy(&strict, policy.join("10-strict.toml")).unwrap();
        std::fs::write(policy.join("20-agents.toml"), AGENTS).unwrap();
        for f in ["10-strict.toml", "20-agents.toml"] {
            std::fs::set_permissions(policy.join(f), std::fs::Permissions::from_mode(0o644))
                .unwrap();
        }
        if render {
            let out = assert_cmd::Command::cargo_bin("mandate")
                .unwrap()
                .env_clear()
                .env("PATH", path_env())
                .env("HOME", "/nonexistent")
                .args([
                    "--root",
                    root.to_str().unwrap(),
                    "--platform",
                    "linux",
                    "apply",
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let home = tmp.path().join("home");
        let project = tmp.path().join("project");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&project).unwrap();
        std::fs::create_dir_all(tmp.path().join("overlay-work")).unwrap();
        Machine {
            _tmp: tmp,
            root,
            home,
            project,
        }
    }

    fn work(&self) -> PathBuf {
        self.root.parent().unwrap().join("overlay-work")
    }

    /// Runs `program args` with `root/etc` over `/etc` in a private mount
    /// namespace; `None` (after saying so) when no namespace can be made.
    fn run(&self, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Option<Output> {
        let mut cmd = self.command(program, args, env);
        let out = match cmd.output() {
            Ok(out) => out,
            Err(e) => {
                skip(&format!("cannot run unshare: {e}"));
                return None;
            }
        };
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("unshare failed")
            || err.contains("mount: ") && err.contains("permission denied")
        {
            skip(&format!("no private mount namespace here: {err}"));
            return None;
        }
        Some(out)
    }

    fn command(&self, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mount = format!(
            "mount -t overlay overlay -o lowerdir=/etc,upperdir={},workdir={} /etc && exec \"$@\"",
            self.root.join("etc").display(),
            self.work().display()
        );
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &mount,
            "sh",
        ])
        .arg(program)
        .args(args)
        .env_clear()
        .env("PATH", path_env())
        .env("HOME", &self.home)
        .env("NO_COLOR", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .current_dir(&self.project)
        .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `codex doctor --json` as JSON (Codex prints a warning line before it).
fn codex_doctor(m: &Machine, codex: &Path) -> Option<Value> {
    let out = m.run(
        codex,
        &[
            "doctor",
            "--json",
            "-c",
            "approval_policy=\"never\"",
            "-c",
            "sandbox_mode=\"danger-full-access\"",
        ],
        &[("CODEX_HOME", m.home.to_str().unwrap())],
    )?;
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    let start = t
        .find('{')
        .unwrap_or_else(|| panic!("no JSON from codex doctor:\n{}", text(&out)));
    Some(serde_json::from_str(&t[start..]).unwrap())
}

/// A user config that asks for everything the policy forbids.
fn loose_codex_home(m: &Machine) {
    std::fs::write(
        m.home.join("config.toml"),
        "approval_policy = \"never\"\nsandbox_mode = \"danger-full-access\"\n\n[mcp_servers.evil]\ncommand = \"/usr/bin/evil-mcp\"\n\n[mcp_servers.internal-docs]\ncommand = \"/usr/local/bin/internal-docs-mcp\"\n",
    )
    .unwrap();
}

#[test]
fn codex_loads_the_rendered_files_and_user_config_and_flags_cannot_loosen_them() {
    let Some(codex) = agent("codex") else {
        return skip("codex is not installed (run .ci/run or set MANDATE_TEST_AGENTS_BIN)");
    };
    let m = Machine::new(true);
    loose_codex_home(&m);
    let Some(doctor) = codex_doctor(&m, &codex) else {
        return;
    };
    let checks = &doctor["checks"];
    let load = &checks["config.load"];
    assert_ne!(load["status"], "fail", "{load:#}");
    let warnings = load["details"]["startup warning"].to_string();
    assert!(
        !warnings.contains("is ignored") && !warnings.contains("unrecognized"),
        "Codex ignored a rendered key: {warnings}"
    );
    // The user's `never` and the `-c` flag fall back to the first allowed
    // entry, which is the policy's effective value; full access is refused.
    let sandbox = &checks["sandbox.helpers"]["details"];
    assert_eq!(sandbox["approval policy"], "UnlessTrusted", "{sandbox:#}");
    assert_eq!(sandbox["filesystem sandbox"], "restricted", "{sandbox:#}");
    assert_eq!(
        sandbox["managed filesystem source"], "system",
        "{sandbox:#}"
    );
    assert_ne!(sandbox["denied-read rules"], "0", "{sandbox:#}");
    assert!(
        warnings.contains("disallowed by requirements"),
        "{warnings}"
    );
    // Of the two configured MCP servers, the one outside the allowlist is disabled.
    let mcp = &checks["mcp.config"]["details"];
    assert_eq!(mcp["configured servers"], "2", "{mcp:#}");
    assert_eq!(mcp["disabled servers"], "1", "{mcp:#}");

    // Control: without the rendered files the same user config is obeyed.
    let bare = Machine::new(false);
    loose_codex_home(&bare);
    let doctor = codex_doctor(&bare, &codex).unwrap();
    let sandbox = &doctor["checks"]["sandbox.helpers"]["details"];
    assert_eq!(sandbox["approval policy"], "Never", "{sandbox:#}");
    let disabled = &doctor["checks"]["mcp.config"]["details"]["disabled servers"];
    assert!(matches!(disabled.as_str(), None | Some("0")), "{disabled}");
}

/// Asks Codex's app server what requirements it loaded (`configRequirements/read`).
fn codex_requirements(m: &Machine, codex: &Path) -> Option<Value> {
    use std::io::{BufRead, BufReader, Write};
    let mut child = m
        .command(
            codex,
            &["app-server"],
            &[("CODEX_HOME", m.home.to_str().unwrap())],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"mandate-test","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"configRequirements/read","params":{}}"#,
    ] {
        writeln!(stdin, "{line}").unwrap();
    }
    let mut answer = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let Ok(line) = line else { break };
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if v["id"] == 2 {
            answer = Some(v);
            break;
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    if answer.is_none() {
        skip("codex app-server gave no answer (no mount namespace here?)");
    }
    answer
}

#[test]
fn codex_reads_every_rendered_requirement() {
    let Some(codex) = agent("codex") else {
        return skip("codex is not installed (run .ci/run or set MANDATE_TEST_AGENTS_BIN)");
    };
    let m = Machine::new(true);
    let Some(answer) = codex_requirements(&m, &codex) else {
        return;
    };
    let r = &answer["result"]["requirements"];
    assert_eq!(
        r["allowedApprovalPolicies"],
        serde_json::json!(["untrusted", "on-request"]),
        "{r:#}"
    );
    assert_eq!(
        r["allowedSandboxModes"],
        serde_json::json!(["read-only", "workspace-write"])
    );
    assert_eq!(r["allowedApprovalsReviewers"], serde_json::json!(["user"]));
    assert_eq!(r["allowedLoginMethods"], serde_json::json!(["chatgpt"]));
    assert_eq!(r["allowManagedHooksOnly"], true);
    let hook = r["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap();
    assert!(hook.ends_with("mandate hook codex"), "{hook}");
    assert_eq!(r["network"]["domains"]["pastebin.com"], "deny");
    assert_eq!(r["network"]["domains"]["git.example.com"], "allow");
    assert_eq!(r["network"]["managedAllowedDomainsOnly"], true);
    assert_eq!(r["otel"]["log_user_prompt"], false);
    assert!(r["otel"]["exporter"].is_object(), "{:#}", r["otel"]);

    // Control: nothing is required without the rendered files.
    let bare = Machine::new(false);
    let answer = codex_requirements(&bare, &codex).unwrap();
    let r = &answer["result"]["requirements"];
    assert!(
        r.is_null() || r["allowedApprovalPolicies"].is_null(),
        "{r:#}"
    );
}

#[test]
fn doctor_warns_about_settings_an_installed_agent_cannot_enforce() {
    if agent("codex").is_none() {
        return skip("codex is not installed (run .ci/run or set MANDATE_TEST_AGENTS_BIN)");
    }
    let m = Machine::new(true);
    let out = assert_cmd::Command::cargo_bin("mandate")
        .unwrap()
        .env_clear()
        .env("PATH", path_env())
        .env("HOME", "/nonexistent")
        .args([
            "--root",
            m.root.to_str().unwrap(),
            "--platform",
            "linux",
            "doctor",
        ])
        .output()
        .unwrap();
    let t = text(&out);
    assert!(
        t.contains("codex cannot enforce models.allowed, which managed policy constrains"),
        "{t}"
    );
    // Versions are detected from the real binaries.
    let out = assert_cmd::Command::cargo_bin("mandate")
        .unwrap()
        .env_clear()
        .env("PATH", path_env())
        .env("HOME", "/nonexistent")
        .args([
            "--root",
            m.root.to_str().unwrap(),
            "--platform",
            "linux",
            "--json",
            "agents",
        ])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codex = &json["agents"][0];
    assert_eq!(codex["agent"], "codex");
    let version = codex["detection"]["version"].as_str().unwrap_or_default();
    assert!(version.starts_with("0."), "{codex:#}");
    assert_eq!(codex["support"], "tested", "{codex:#}");
}

#[test]
fn codex_refuses_an_unvalidated_file_so_mandate_validates_first() {
    // Why every file is checked before it is installed: one bad enum makes
    // Codex refuse its whole configuration.
    let Some(codex) = agent("codex") else {
        return skip("codex is not installed (run .ci/run or set MANDATE_TEST_AGENTS_BIN)");
    };
    let m = Machine::new(true);
    let req = m.root.join("etc/codex/requirements.toml");
    let bad = std::fs::read_to_string(&req).unwrap().replace(
        "\"read-only\", \"workspace-write\"",
        "\"read-only\", \"workspace-rw\"",
    );
    let file = mandate::agents::RenderedFile {
        agent: mandate::agents::AgentKind::Codex,
        path: "/etc/codex/requirements.toml".into(),
        bytes: bad.clone().into_bytes(),
    };
    assert!(mandate::agents::validate::check(&file).is_err());
    std::fs::write(&req, bad).unwrap();
    let Some(doctor) = codex_doctor(&m, &codex) else {
        return;
    };
    assert_eq!(doctor["checks"]["config.load"]["status"], "fail");
}

fn claude_project(m: &Machine) {
    std::fs::write(
        m.project.join(".mcp.json"),
        r#"{"mcpServers": {"evil": {"command": "/usr/bin/evil-mcp"}, "internal-docs": {"command": "/usr/local/bin/internal-docs-mcp"}}}"#,
    )
    .unwrap();
}

#[test]
fn claude_code_loads_the_rendered_file_and_obeys_it() {
    let Some(claude) = agent("claude") else {
        return skip("claude is not installed (run .ci/run or set MANDATE_TEST_AGENTS_BIN)");
    };
    let m = Machine::new(true);
    claude_project(&m);
    let Some(out) = m.run(&claude, &["doctor"], &[]) else {
        return;
    };
    let doctor = text(&out);
    assert!(doctor.contains("Claude Code doctor"), "{doctor}");
    assert!(
        !doctor.contains("Invalid settings"),
        "Claude Code dropped rendered entries:\n{doctor}"
    );

    // An MCP server outside the allowlist is not even listed.
    let list = text(&m.run(&claude, &["mcp", "list"], &[]).unwrap());
    assert!(!list.contains("evil"), "{list}");
    assert!(list.contains("internal-docs"), "{list}");

    // A forbidden login method (an API key, with auth.method pinned to sso)
    // is refused before anything is sent.
    let out = m
        .run(
            &claude,
            &["-p", "hello"],
            &[("ANTHROPIC_API_KEY", "sk-ant-not-a-real-key")],
        )
        .unwrap();
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("forceLoginMethod"), "{t}");

    // Control: without the rendered file both servers are listed. (Without
    // it, `claude -p` would go on to the network, which a test cannot reach.)
    let bare = Machine::new(false);
    claude_project(&bare);
    let list = text(&bare.run(&claude, &["mcp", "list"], &[]).unwrap());
    assert!(list.contains("evil"), "{list}");
}

#[test]
fn claude_code_will_not_run_unsandboxed() {
    let Some(claude) = agent("claude") else {
        return skip("claude is not installed (run .ci/run or set MANDATE_TEST_AGENTS_BIN)");
    };
    if Path::new("/usr/bin/bwrap").exists() {
        return skip(
            "bubblewrap is installed here, so the sandbox is available and this refusal cannot be observed",
        );
    }
    let m = Machine::new(true);
    // Without the login pins, so that start-up reaches the sandbox check.
    let file = m.root.join("etc/claude-code/managed-settings.json");
    let mut s: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    s.as_object_mut().unwrap().remove("forceLoginMethod");
    s.as_object_mut().unwrap().remove("forceLoginOrgUUID");
    std::fs::write(&file, serde_json::to_vec(&s).unwrap()).unwrap();
    let Some(out) = m.run(
        &claude,
        &["--dangerously-skip-permissions", "-p", "hello"],
        &[("ANTHROPIC_API_KEY", "sk-ant-not-a-real-key")],
    ) else {
        return;
    };
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("failIfUnavailable"), "{t}");
}

fn gemini_user(m: &Machine) {
    // The user trusts every folder, allows "evil", and turns the sandbox off.
    std::fs::create_dir_all(m.home.join(".gemini")).unwrap();
    std::fs::write(
        m.home.join(".gemini/settings.json"),
        r#"{"security": {"folderTrust": {"enabled": false}}, "mcp": {"allowed": ["evil"]}, "tools": {"sandbox": false}}"#,
    )
    .unwrap();
    std::fs::create_dir_all(m.project.join(".gemini")).unwrap();
    std::fs::write(
        m.project.join(".gemini/settings.json"),
        r#"{"mcpServers": {"evil": {"command": "/usr/bin/evil-mcp"}}}"#,
    )
    .unwrap();
}

#[test]
fn gemini_cli_system_settings_override_the_user() {
    let Some(gemini) = agent("gemini") else {
        return skip("gemini is not installed (run .ci/run or set MANDATE_TEST_AGENTS_BIN)");
    };
    let m = Machine::new(true);
    gemini_user(&m);
    let Some(out) = m.run(&gemini, &["mcp", "list"], &[]) else {
        return;
    };
    let list = text(&out);
    assert!(!list.contains("Skipping system settings"), "{list}");
    let evil = list
        .lines()
        .find(|l| l.contains("evil:"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(evil.contains("Blocked"), "{list}");

    // The admin policy file (commands.rules) loads without a diagnostic.
    assert!(!list.contains("Policy file error"), "{list}");

    // A forbidden sign-in method (an API key, with auth.method pinned to sso)
    // is refused before anything is sent.
    let out = m
        .run(
            &gemini,
            &["-p", "hello"],
            &[("GEMINI_API_KEY", "not-a-real-key")],
        )
        .unwrap();
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("enforced authentication type is 'oauth-personal'"),
        "{t}"
    );

    // YOLO mode, asked for by flag, is refused.
    let out = m.run(&gemini, &["--yolo", "-p", "hello"], &[]).unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("YOLO mode is disabled"),
        "{}",
        text(&out)
    );

    // Gemini does read the admin policy file: a rule it cannot accept is reported.
    let policy = m.root.join("etc/gemini-cli/policies/mandate.toml");
    let good = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(
        &policy,
        good.replacen("decision = \"deny\"", "decision = \"block\"", 1),
    )
    .unwrap();
    let t = text(&m.run(&gemini, &["mcp", "list"], &[]).unwrap());
    assert!(t.contains("Policy file error in mandate.toml"), "{t}");
    std::fs::write(&policy, good).unwrap();

    // Control: without the system settings the user's allowlist stands.
    let bare = Machine::new(false);
    gemini_user(&bare);
    let list = text(&bare.run(&gemini, &["mcp", "list"], &[]).unwrap());
    let evil = list
        .lines()
        .find(|l| l.contains("evil:"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(!evil.contains("Blocked"), "{list}");
}

#[test]
fn gemini_cli_will_not_run_outside_its_sandbox() {
    let Some(gemini) = agent("gemini") else {
        return skip("gemini is not installed (run .ci/run or set MANDATE_TEST_AGENTS_BIN)");
    };
    let m = Machine::new(true);
    // The user turns the sandbox off; the strict policy (no `full-access`)
    // turned it on in the system settings. Without the sign-in pin, so that
    // start-up reaches the sandbox.
    gemini_user(&m);
    let file = m.root.join("etc/gemini-cli/settings.json");
    let mut s: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    s["security"].as_object_mut().unwrap().remove("auth");
    std::fs::write(&file, serde_json::to_vec(&s).unwrap()).unwrap();
    let Some(out) = m.run(
        &gemini,
        &["-p", "hello"],
        &[("GEMINI_API_KEY", "not-a-real-key")],
    ) else {
        return;
    };
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("Sandbox"), "{t}");
}
