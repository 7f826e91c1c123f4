#![allow(clippy::unwrap_used)]
//! End-to-end tests of the `mandate` binary on the demo machine.
//!
//! Each test lays the demo machine out with `mandate demo --out <tmp>/demo`,
//! runs one command with a cleared environment (only `PATH`, and `HOME`
//! pointing into the temporary directory, so the real user's config never
//! leaks in) and snapshots its exit code, stdout and stderr with the
//! temporary directory replaced by `[ROOT]`.
//!
//! Exit codes: 0 ok, 1 no (a check or validation said no, an unset key),
//! 2 usage, 3 degraded (managed policy could not be applied).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// A temporary directory holding `home/` (the spawned commands' `HOME`) and,
/// once laid out, the demo machine in `demo/`.
struct Env {
    dir: TempDir,
}

/// What one run printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The run as one text for a snapshot.
    fn text(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `text` as a regular expression matching itself.
fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let home = dir.path().join("home");
        fs::create_dir(&home).unwrap();
        Env { dir }
    }

    /// A fresh environment with the demo machine laid out in `demo/`.
    fn demo() -> Env {
        let env = Env::new();
        let run = env.run_plain(&["demo", "--out", env.root().to_str().unwrap()]);
        assert_eq!(run.code, 0, "{}", run.text());
        env
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The demo machine's `--root`.
    fn root(&self) -> PathBuf {
        self.path().join("demo")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mandate"));
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.path().join("home"))
            .current_dir(self.path());
        cmd
    }

    fn output(&self, mut cmd: Command) -> Run {
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// Runs `mandate ARGS` without the demo flags.
    fn run_plain(&self, args: &[&str]) -> Run {
        let mut cmd = self.command();
        cmd.args(args);
        self.output(cmd)
    }

    /// Runs `mandate --root <demo> --platform linux --user ana -C <demo>/home/ana/src/webapp ARGS`.
    fn run(&self, args: &[&str]) -> Run {
        let root = self.root();
        let mut cmd = self.command();
        cmd.arg("--root")
            .arg(&root)
            .args(["--platform", "linux", "--user", "ana", "-C"])
            .arg(root.join("home/ana/src/webapp"))
            .args(args);
        self.output(cmd)
    }

    /// Snapshots a run with the temporary directory shown as `[ROOT]`.
    fn snapshot(&self, name: &str, run: &Run) {
        let filters = [
            (
                regex_escape(&self.path().display().to_string()),
                "[ROOT]".to_owned(),
            ),
            (r"/tmp/mandate-demo-\d+".to_owned(), "[DEMO]".to_owned()),
            // `doctor` reads the real clock: policies of the demo that come close
            // to (or pass) their expiry add a warning; keep the snapshot stable.
            (
                r"(?m)^! system \S+ (expires in \d+ days|expired at \S+)\n  fix: .*\n".to_owned(),
                String::new(),
            ),
        ];
        let filters: Vec<(&str, &str)> = filters
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(name, run.text());
        });
    }
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.text()))
}

#[test]
fn demo_lays_out_the_machine_with_safe_modes() {
    let env = Env::demo();
    let root = env.root();
    for (path, mode) in [
        ("", 0o755),
        ("etc/mandate/policy.d", 0o755),
        ("etc/mandate/policy.d/10-security-baseline.toml", 0o644),
        ("etc/mandate/policy.d/20-team-platform.toml", 0o644),
        ("home/ana/.config/mandate/config.toml", 0o644),
        ("home/ana/src/webapp/.mandate.toml", 0o644),
    ] {
        let meta = fs::metadata(root.join(path)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "{path}");
    }
    // It refuses to lay out over an existing directory.
    let again = env.run_plain(&["demo", "--out", root.to_str().unwrap()]);
    assert_eq!(again.code, 2, "{}", again.text());
    assert!(
        again.stderr.contains("already exists") && again.stderr.contains("rm -r"),
        "{}",
        again.text()
    );
}

#[test]
fn show() {
    let env = Env::demo();
    let run = env.run(&["show"]);
    assert_eq!(run.code, 0);
    // What a person looks for: refused values with their reasons, locks, origins.
    assert!(run.stdout.contains("# status: ok"));
    assert!(
        run.stdout
            .contains(r#"#   refused "full-access" from user"#)
    );
    assert!(
        run.stdout.contains(r#"method = "sso"  # system, "#)
            && run
                .stdout
                .contains("10-security-baseline.toml:25:1, locked")
    );
    env.snapshot("show", &run);
}

#[test]
fn show_json() {
    let env = Env::demo();
    let run = env.run(&["show", "--json"]);
    assert_eq!(run.code, 0);
    let doc = json(&run);
    let fields: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "domain",
        "status",
        "root",
        "digest",
        "settings",
        "keys",
        "trust",
        "sources",
        "diagnostics",
    ];
    expected.sort_unstable();
    assert_eq!(fields, expected);
    // …and printed in the documented order.
    let printed: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  \"")?.split_once('"').map(|(k, _)| k))
        .collect();
    assert_eq!(
        printed,
        [
            "domain",
            "status",
            "root",
            "digest",
            "settings",
            "keys",
            "trust",
            "sources",
            "diagnostics"
        ]
    );
    assert_eq!(doc["root"], Value::String(env.root().display().to_string()));
    assert_eq!(doc["status"], "ok");
    assert_eq!(doc["domain"], "dev.mandate");
    assert_eq!(doc["settings"]["sandbox"]["mode"], "workspace-write");
    let mode = &doc["keys"]["sandbox.mode"];
    assert_eq!(mode["source"], "system");
    assert_eq!(mode["locked"], false);
    assert_eq!(mode["rejected"][0]["value"], "full-access");
    assert_eq!(mode["rejected"][0]["source"], "user");
    assert_eq!(mode["rejected"][0]["constraint"]["op"], "max");
    assert_eq!(doc["keys"]["auth.method"]["locked"], true);
    assert!(doc["digest"].as_str().unwrap().starts_with("sha256:"));
    // `show` alone hides overridden values.
    assert!(
        doc["keys"]
            .as_object()
            .unwrap()
            .values()
            .all(|k| k["overridden"] == serde_json::json!([]))
    );
    env.snapshot("show_json", &run);
}

#[test]
fn show_include_overridden() {
    let env = Env::demo();
    let run = env.run(&["show", "--include-overridden"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .contains(r#"#   overridden "read-only" from system"#),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("#   merged "), "{}", run.stdout);
    env.snapshot("show_include_overridden", &run);
}

#[test]
fn get() {
    let env = Env::demo();
    for (key, value) in [
        ("sandbox.mode", "workspace-write"),
        ("models.default", "claude-sonnet-4-5"),
        (
            "telemetry.otel.endpoint",
            "https://otel.acme.example/v1/logs",
        ),
    ] {
        let run = env.run(&["get", key]);
        assert_eq!((run.code, run.stdout.trim()), (0, value), "{}", run.text());
        env.snapshot(&format!("get_{}", key.replace('.', "_")), &run);
    }
    // A list prints as TOML; with --json, as JSON.
    let run = env.run(&["get", "network.allowed_domains"]);
    assert_eq!(run.stdout, "[\"github.com\", \"*.acme.example\"]\n");
    let run = env.run(&["get", "--json", "network.allowed_domains"]);
    assert_eq!(
        json(&run),
        serde_json::json!(["github.com", "*.acme.example"])
    );
}

#[test]
fn get_an_unset_key_says_no() {
    let env = Env::demo();
    let run = env.run(&["get", "auth.workspace_ids"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    env.snapshot("get_unset", &run);
}

#[test]
fn get_an_unknown_key_is_a_usage_error_with_a_hint() {
    let env = Env::demo();
    let run = env.run(&["get", "sandbox.mod"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(r#"hint: did you mean "sandbox.mode"?"#),
        "{}",
        run.text()
    );
    env.snapshot("get_unknown", &run);
}

#[test]
fn an_unknown_command_is_a_usage_error() {
    let env = Env::demo();
    let run = env.run(&["frobnicate"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unrecognized subcommand 'frobnicate'"),
        "{}",
        run.text()
    );
}

#[test]
fn explain_sandbox_mode() {
    let env = Env::demo();
    let run = env.run(&["explain", "sandbox.mode"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .contains(r#"max "workspace-write" — set by system"#)
    );
    env.snapshot("explain_sandbox_mode", &run);
}

#[test]
fn explain_network_allowed_domains() {
    let env = Env::demo();
    let run = env.run(&["explain", "network.allowed_domains"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains(r#"✗ user     "api.openai.com""#),
        "{}",
        run.stdout
    );
    env.snapshot("explain_network_allowed_domains", &run);
}

#[test]
fn check_an_accepted_value() {
    let env = Env::demo();
    let run = env.run(&["check", "sandbox.mode=read-only"]);
    assert_eq!(run.code, 0);
    env.snapshot("check_accepted", &run);
}

#[test]
fn check_a_refused_value_names_the_setter_and_the_file() {
    let env = Env::demo();
    let run = env.run(&["check", "sandbox.mode=full-access"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("required by system"), "{}", run.text());
    let file = env
        .root()
        .join("etc/mandate/policy.d/10-security-baseline.toml:21:1");
    assert!(
        run.stdout
            .contains(&format!("set by system at {}", file.display())),
        "{}",
        run.text()
    );
    env.snapshot("check_refused", &run);
    // A value of the wrong type is a "no" too, not a usage error.
    let run = env.run(&["check", "sandbox.network=maybe"]);
    assert_eq!(run.code, 1, "{}", run.text());
    // As JSON.
    let run = env.run(&["check", "--json", "auth.credential_store=file"]);
    assert_eq!(run.code, 1);
    let doc = json(&run);
    assert_eq!(doc["accepted"], false);
    assert_eq!(doc["refused"][0]["constraint"]["op"], "allowed");
}

#[test]
fn sources() {
    let env = Env::demo();
    let run = env.run(&["sources"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("(unsigned mode)"));
    env.snapshot("sources", &run);
}

#[test]
fn sources_json() {
    let env = Env::demo();
    let run = env.run(&["sources", "--json"]);
    assert_eq!(run.code, 0);
    let doc = json(&run);
    let statuses: Vec<(&str, &str)> = doc["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("cloud", "absent"),
            ("system", "unsigned"),
            ("system", "unsigned"),
            ("user", "loaded"),
            ("project", "loaded"),
            ("session", "absent"),
            ("default", "loaded")
        ]
    );
    assert_eq!(doc["trust"]["mode"], "unsigned");
    env.snapshot("sources_json", &run);
}

#[test]
fn validate_a_good_file() {
    let env = Env::demo();
    let mut cmd = env.command();
    cmd.current_dir(workspace()).args([
        "validate",
        "tests/fixtures/schema/valid/design-example.toml",
        "profiles/strict.toml",
    ]);
    let run = env.output(cmd);
    assert_eq!(run.code, 0, "{}", run.text());
    env.snapshot("validate_good", &run);
}

#[test]
fn validate_bad_files_prints_file_line_col_message() {
    let env = Env::demo();
    let mut cmd = env.command();
    cmd.current_dir(workspace()).args([
        "validate",
        "tests/fixtures/schema/invalid/unknown-setting.toml",
        "tests/fixtures/schema/invalid/syntax-unclosed-table.toml",
        "tests/fixtures/schema/valid/minimal.toml",
    ]);
    let run = env.output(cmd);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .starts_with("tests/fixtures/schema/invalid/unknown-setting.toml:10:1: unknown setting \"sandbox.mod\""),
        "{}",
        run.text()
    );
    env.snapshot("validate_bad", &run);
    // A user config is validated as plain settings.
    let run = env.run_plain(&[
        "validate",
        env.root()
            .join("home/ana/.config/mandate/config.toml")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.text());
}

#[test]
fn schema_prints_the_bundled_schema_as_json() {
    let env = Env::new();
    let run = env.run_plain(&["schema"]);
    assert_eq!(run.code, 0);
    let printed = json(&run);
    let checked_in: Value = serde_json::from_str(
        &fs::read_to_string(workspace().join("schema/agent-policy.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, checked_in);
}

#[test]
fn doctor() {
    let env = Env::demo();
    let run = env.run(&["doctor"]);
    // Healthy but unsigned: a warning is advice, so exit 0.
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(run.stdout.contains("! unsigned mode"));
    assert!(run.stdout.contains("✓ status ok"));
    env.snapshot("doctor", &run);
}

#[test]
fn demo() {
    let env = Env::new();
    let run = env.run_plain(&["demo"]);
    assert_eq!(run.code, 0, "{}", run.text());
    // The throw-away tree is removed afterwards.
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("# read under --root "))
        .unwrap();
    let dir = line
        .trim_start_matches("# read under --root ")
        .trim_end_matches(" (not this machine's own paths)");
    assert!(dir.starts_with("/tmp/mandate-demo-"), "{dir}");
    assert!(!Path::new(dir).exists(), "{dir} was left behind");
    env.snapshot("demo", &run);
    // The demo shows the same configuration as `show` on the kept tree.
    let kept = Env::demo();
    let show = kept.run(&["show"]);
    let body = |s: &str| s.lines().skip(2).collect::<Vec<_>>().join("\n");
    let replaced = run.stdout.replace(dir, &kept.root().display().to_string());
    assert_eq!(body(&replaced), body(&show.stdout));
}

#[test]
fn a_rejected_managed_file_degrades_but_still_prints() {
    let env = Env::demo();
    let broken = env.root().join("etc/mandate/policy.d/30-broken.toml");
    fs::write(
        &broken,
        "[settings]\nsandbox.mode = \"full-access\"\nsandbox.network = \n",
    )
    .unwrap();
    fs::set_permissions(&broken, fs::Permissions::from_mode(0o644)).unwrap();
    let run = env.run(&["show"]);
    assert_eq!(run.code, 3, "{}", run.text());
    assert!(run.stdout.contains("# status: degraded"));
    assert!(
        run.stdout.contains(r#"mode = "read-only"  # lockdown"#),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("status: degraded"), "{}", run.text());
    env.snapshot("show_degraded", &run);

    let run = env.run(&["sources"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout
            .contains(&format!("system    rejected  {}", broken.display())),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("why: {}:3:19: TOML parse error", broken.display())),
        "{}",
        run.stdout
    );
    env.snapshot("sources_degraded", &run);

    let run = env.run(&["get", "sandbox.mode"]);
    assert_eq!((run.code, run.stdout.as_str()), (3, "read-only\n"));
    let run = env.run(&["show", "--json"]);
    assert_eq!(run.code, 3);
    assert_eq!(json(&run)["status"], "degraded");
}

#[test]
fn a_group_writable_managed_file_is_rejected() {
    let env = Env::demo();
    let file = env
        .root()
        .join("etc/mandate/policy.d/20-team-platform.toml");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o664)).unwrap();
    let run = env.run(&["sources"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains(&format!(
            "why: writable by group (mode 664); run `chmod go-w {}`",
            file.display()
        )),
        "{}",
        run.stdout
    );
    let run = env.run(&["doctor"]);
    assert_eq!(run.code, 3);
    assert!(run.stdout.contains("✗ system "), "{}", run.stdout);
}

#[test]
fn session_values_are_checked_like_any_other_layer() {
    let env = Env::demo();
    let run = env.run(&[
        "-c",
        "sandbox.mode=read-only",
        "-c",
        "approvals.policy=never",
        "show",
        "--json",
    ]);
    assert_eq!(run.code, 0);
    let doc = json(&run);
    assert_eq!(doc["keys"]["sandbox.mode"]["source"], "session");
    assert_eq!(
        doc["keys"]["sandbox.mode"]["location"],
        "-c sandbox.mode=read-only"
    );
    assert_eq!(doc["keys"]["approvals.policy"]["value"], "on-request");
    assert_eq!(
        doc["keys"]["approvals.policy"]["rejected"][0]["source"],
        "session"
    );
    // An unknown key in -c is a usage error.
    let run = env.run(&["-c", "sandbox.mod=read-only", "show"]);
    assert_eq!(run.code, 2, "{}", run.text());
}

#[test]
fn the_real_user_config_never_leaks_in() {
    // A config in the spawned command's own HOME is not read under --root.
    let env = Env::demo();
    let own = env.path().join("home/.config/mandate");
    fs::create_dir_all(&own).unwrap();
    fs::write(own.join("config.toml"), "[sandbox]\nmode = \"read-only\"\n").unwrap();
    let run = env.run(&["get", "sandbox.mode"]);
    assert_eq!(run.stdout, "workspace-write\n");
}

#[test]
fn group_keys_for_show_get_and_explain() {
    let env = Env::demo();
    let run = env.run(&["get", "sandbox"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(run.stdout.starts_with("[sandbox]\n"), "{}", run.text());
    assert!(
        run.stdout.contains("mode = \"workspace-write\""),
        "{}",
        run.text()
    );
    let doc = json(&env.run(&["get", "sandbox", "--json"]));
    assert_eq!(doc["mode"], "workspace-write");
    let run = env.run(&["show", "sandbox"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("[sandbox]"), "{}", run.text());
    assert!(!run.stdout.contains("[approvals]"), "{}", run.text());
    let doc = json(&env.run(&["show", "sandbox", "--json"]));
    assert!(
        doc["keys"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| k.starts_with("sandbox."))
    );
    assert_eq!(doc["settings"]["sandbox"]["mode"], "workspace-write");
    let run = env.run(&["explain", "sandbox"]);
    assert_eq!(run.code, 0);
    for key in [
        "sandbox.mode =",
        "sandbox.network =",
        "sandbox.writable_roots =",
    ] {
        assert!(run.stdout.contains(key), "{key}: {}", run.text());
    }
    // An unknown group is still an unknown setting, with a suggestion.
    let run = env.run(&["get", "sandbx"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown setting \"sandbx\""),
        "{}",
        run.text()
    );
    assert!(run.stderr.contains("mandate settings"), "{}", run.text());
}

#[test]
fn explain_says_what_you_may_choose_and_where() {
    let env = Env::demo();
    let run = env.run(&["explain", "auth.method"]);
    assert!(run.stdout.contains("allowed   \"sso\""), "{}", run.text());
    assert!(
        run.stdout.contains("locked: your organisation's policy"),
        "{}",
        run.text()
    );
    let doc = json(&env.run(&["explain", "sandbox.mode", "--json"]));
    assert_eq!(
        doc["allowed"],
        serde_json::json!(["read-only", "workspace-write"])
    );
    assert_eq!(doc["lockdown"], "read-only");
}

#[test]
fn settings_table() {
    let env = Env::new();
    let run = env.run_plain(&["settings"]);
    assert_eq!(run.code, 0);
    let header = run.stdout.lines().next().unwrap();
    assert!(
        header.starts_with("KEY") && header.contains("LOCKDOWN"),
        "{header}"
    );
    let mode = run
        .stdout
        .lines()
        .find(|l| l.starts_with("sandbox.mode "))
        .unwrap();
    assert!(
        mode.contains("\"read-only\" < \"workspace-write\" < \"full-access\""),
        "{mode}"
    );
    assert!(
        run.stdout.len() < 8000,
        "a table, not the schema: {} bytes",
        run.stdout.len()
    );
    let rows = json(&env.run_plain(&["settings", "--json"]));
    let mode = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "sandbox.mode")
        .unwrap();
    assert_eq!(mode["lockdown"], "read-only");
}

#[test]
fn check_one_list_element_and_session_repeats() {
    let env = Env::demo();
    let run = env.run(&["check", "network.allowed_domains", "api.openai.com"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stdout
            .starts_with("refused: network.allowed_domains += api.openai.com"),
        "{}",
        run.text()
    );
    assert!(run.stdout.contains("is not within"), "{}", run.text());
    let run = env.run(&["check", "network.allowed_domains+=github.com"]);
    assert_eq!(run.code, 0, "{}", run.text());
    let run = env.run(&["check", "sandbox.mode", "read-only"]);
    assert_eq!(run.code, 0, "{}", run.text());
    // A type error names what was asked, never a flag that was not typed.
    let run = env.run(&["check", "sandbox.mode=5"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(!run.stderr.contains("-c "), "{}", run.text());
    assert!(run.stderr.contains("sandbox.mode=5"), "{}", run.text());
    // -c: the last one wins, and the repeat is warned about.
    let run = env.run(&[
        "-c",
        "sandbox.mode=read-only",
        "-c",
        "sandbox.mode=workspace-write",
        "get",
        "sandbox.mode",
    ]);
    assert_eq!(run.stdout.trim(), "workspace-write", "{}", run.text());
    assert!(
        run.stderr
            .contains("warning: -c sandbox.mode is given 2 times; the last one wins"),
        "{}",
        run.text()
    );
}

#[test]
fn explain_shows_an_untrusted_projects_proposal_and_why_it_does_not_count() {
    let env = Env::demo();
    let config = env.root().join("home/ana/.config/mandate/config.toml");
    fs::write(&config, "[sandbox]\nmode = \"read-only\"\n").unwrap();
    let run = env.run(&["explain", "approvals.reviewer"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(run.stdout.contains("not counted:"), "{}", run.text());
    assert!(
        run.stdout
            .contains(".mandate.toml:4:1 proposes \"auto-review\", but the project is not trusted"),
        "{}",
        run.text()
    );
    assert!(run.stdout.contains("trusted = true"), "{}", run.text());
}
