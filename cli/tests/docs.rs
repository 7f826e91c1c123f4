//! Every command in the admin docs runs as written.
//!
//! For each page, the ` ```sh ` blocks are joined into one bash script (run
//! with `set -euo pipefail`) and run in a fresh temporary directory, with the
//! `mandate` under test first on `PATH`, `HOME` in the temporary directory
//! and the example machine paths (`/tmp/machine`, `/tmp/mac`) moved under
//! it. A ` ```toml file=NAME ` block is written to `NAME` at its place in the
//! page. A block preceded by `<!-- docs-test: skip … -->` (commands that need
//! a real Mac, a bucket or root on a real device) is not run.
//!
//! Pages that continue from another (mdm.md and cloud.md assume the keys and
//! trust root of the walk-through) get the walk-through's first steps as a
//! prelude, stated below.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

/// The runnable script of a page.
fn script(page: &str) -> String {
    let text = std::fs::read_to_string(docs().join(page)).unwrap();
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    let mut previous = "";
    while let Some(line) = lines.next() {
        let skip = previous.starts_with("<!-- docs-test: skip");
        if let Some(info) = line.strip_prefix("```") {
            let info = info.trim();
            let mut body = Vec::new();
            for inner in lines.by_ref() {
                if inner.starts_with("```") {
                    break;
                }
                body.push(inner);
            }
            let body = body.join("\n");
            if skip {
                // not run
            } else if info == "sh" {
                out.push_str(&body);
                out.push('\n');
            } else if let Some(file) = info
                .split_whitespace()
                .find_map(|w| w.strip_prefix("file="))
            {
                out.push_str(&format!(
                    "cat > {file} <<'MANDATE_DOC_EOF'\n{body}\nMANDATE_DOC_EOF\n"
                ));
            }
            previous = "";
            continue;
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    out
}

/// Runs `prelude` then the page's script; returns stdout and stderr.
fn run(page: &str, prelude: &str) -> (String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("mandate");
    let bin_dir = bin.parent().unwrap();
    let body = format!("{prelude}\n{}", script(page))
        .replace(
            "/tmp/machine",
            &tmp.path().join("machine").display().to_string(),
        )
        .replace("/tmp/mac", &tmp.path().join("mac").display().to_string());
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &format!("set -x\n{body}")])
        .current_dir(&work)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin:/usr/sbin:/sbin", bin_dir.display()),
        )
        .env("HOME", &home)
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "docs/{page} did not run as written (exit {:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status.code()
    );
    (stdout, stderr)
}

/// Keys, a trust root and a policy, as the walk-through's steps 1–3 make them.
const WALKTHROUGH_KEYS: &str = r#"
mandate keys generate --out keys/root-1 >/dev/null
mandate keys generate --out keys/policy-1 >/dev/null
mandate trust init --org acme --root-key keys/root-1.pub --policy-key keys/policy-1.pub \
  --sign keys/root-1.key -o trust.toml >/dev/null
"#;

#[test]
fn walkthrough_runs_as_written() {
    let (stdout, _) = run("walkthrough.md", "");
    assert!(stdout.contains("verified"), "{stdout}");
    assert!(stdout.contains("exit 3"), "{stdout}");
}

#[test]
fn trust_runbooks_run_as_written() {
    let (stdout, _) = run("trust.md", "");
    // The ceremony: a root signed in turn.
    assert!(stdout.contains("0 of 2 required signatures"), "{stdout}");
    assert!(stdout.contains("every threshold is met"), "{stdout}");
    // The policy key rotation says what happens in the field.
    assert!(stdout.contains("retired with an overlap until"), "{stdout}");
    // The compromised key: a bundle it signs is refused with the cause named.
    assert!(
        stdout.contains("(policy-1) was removed by trust root version 3"),
        "{stdout}"
    );
}

#[test]
fn mdm_commands_run_as_written() {
    let prelude = format!(
        "{WALKTHROUGH_KEYS}\ncat > baseline.toml <<'EOF'\n[policy]\norg = \"acme\"\nchannel = \"mdm\"\nid = \"acme-baseline\"\nversion = 1\n\n[requirements]\n\"sandbox.mode\" = {{ max = \"workspace-write\" }}\nEOF\n"
    );
    let (stdout, _) = run("mdm.md", &prelude);
    assert!(stdout.contains("wrote"), "{stdout}");
}

#[test]
fn cloud_commands_run_as_written() {
    let prelude = format!(
        "{WALKTHROUGH_KEYS}\ncp keys/policy-1.key policy.key\ncat > policy.toml <<'EOF'\n[policy]\norg = \"acme\"\nchannel = \"cloud\"\nid = \"acme-baseline\"\nversion = 1\n\n[requirements]\n\"sandbox.mode\" = {{ max = \"workspace-write\" }}\nEOF\n"
    );
    let (stdout, _) = run("cloud.md", &prelude);
    assert!(stdout.contains("acme-baseline"), "{stdout}");
}
