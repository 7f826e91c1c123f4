//! A command line that feels native: shell completions and man pages
//! generated from the clap definition, colour on a terminal only, honouring
//! `NO_COLOR` and `--color`.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command as Process;

use assert_cmd::Command;

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

fn stdout(args: &[&str]) -> String {
    let out = mandate(args);
    assert!(
        out.status.success(),
        "mandate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&["completions", shell]);
        assert!(script.contains("trust"), "{shell}: {script}");
        assert!(script.contains("completions"), "{shell}");
    }
    // The bash script is valid bash and completes subcommands and flags.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mandate.bash");
    std::fs::write(&file, stdout(&["completions", "bash"])).unwrap();
    let probe = format!(
        "source {}; COMP_WORDS=(mandate trust ro); COMP_CWORD=2; _mandate mandate ro trust; echo \"${{COMPREPLY[@]}}\"; COMP_WORDS=(mandate sign --ch); COMP_CWORD=2; _mandate mandate --ch sign; echo \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = Process::new("bash").args(["-c", &probe]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("rotate"), "{text}");
    assert_eq!(lines.next(), Some("--channel"), "{text}");
    let out = mandate(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_from_the_command_line() {
    let page = stdout(&["man"]);
    assert!(page.contains(".TH mandate 1"), "{page}");
    assert!(page.contains("trust"), "{page}");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man");
    let out = stdout(&["man", "--out", dir.to_str().unwrap()]);
    assert!(out.contains("man pages"), "{out}");
    for page in [
        "mandate.1",
        "mandate-trust-init.1",
        "mandate-sign.1",
        "mandate-completions.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    let init = std::fs::read_to_string(dir.join("mandate-trust-init.1")).unwrap();
    assert!(init.contains("root\\-threshold"), "{init}");
    // man itself can render it, where installed.
    if Process::new("man").arg("--version").output().is_ok() {
        let out = Process::new("man")
            .arg("-l")
            .arg(dir.join("mandate-trust-init.1"))
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        common::skip("man is not installed; the page was checked as text only");
    }
}

/// Runs `mandate ARGS` on a pseudo-terminal (util-linux `script`).
fn on_tty(args: &str, no_color: bool) -> Option<String> {
    if Process::new("script").arg("--version").output().is_err() {
        common::skip("`script` (util-linux) is not installed, no pseudo-terminal to test on");
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("mandate");
    let mut cmd = Process::new("script");
    cmd.args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/nonexistent")
        .env("TERM", "xterm");
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd.output().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn colour_on_a_terminal_only() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    stdout(&["demo", "--out", demo.to_str().unwrap()]);
    let sources = format!("--root {} --platform linux sources", demo.display());
    // A pipe gets plain text, unless --color always.
    assert!(
        !stdout(&[
            "--root",
            demo.to_str().unwrap(),
            "--platform",
            "linux",
            "sources"
        ])
        .contains('\x1b')
    );
    let forced = stdout(&[
        "--color",
        "always",
        "--root",
        demo.to_str().unwrap(),
        "--platform",
        "linux",
        "sources",
    ]);
    assert!(forced.contains("\x1b[32mok\x1b[0m"), "{forced:?}");
    let Some(tty) = on_tty(&sources, false) else {
        return;
    };
    assert!(tty.contains("\x1b[32mok\x1b[0m"), "{tty:?}");
    assert!(tty.contains("\x1b[32mloaded"), "{tty:?}");
    let plain = on_tty(&sources, true).unwrap();
    assert!(!plain.contains('\x1b'), "{plain:?}");
    let never = on_tty(&format!("--color never {sources}"), false).unwrap();
    assert!(!never.contains('\x1b'), "{never:?}");
    // Refusals in colour: `error:` on stderr (the terminal shows both streams).
    let error = on_tty("get no.such.key", false).unwrap();
    assert!(error.contains("\x1b[1;31merror:\x1b[0m"), "{error:?}");
}

#[test]
fn plain_ascii_when_the_locale_is_not_utf8() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    stdout(&["demo", "--out", demo.to_str().unwrap()]);
    let explain = |lang: Option<&str>| {
        let mut cmd = Command::cargo_bin("mandate").unwrap();
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", "/nonexistent");
        if let Some(lang) = lang {
            cmd.env("LANG", lang);
        }
        let out = cmd
            .args([
                "--root",
                demo.to_str().unwrap(),
                "--platform",
                "linux",
                "--user",
                "ana",
            ])
            .args(["explain", "sandbox.mode"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let ascii = explain(Some("C"));
    assert!(ascii.is_ascii(), "{ascii}");
    assert!(ascii.contains("  x user "), "{ascii}");
    for utf8 in [explain(Some("en_US.UTF-8")), explain(None)] {
        assert!(utf8.contains("  ✗ user "), "{utf8}");
    }
}

#[test]
fn trust_init_asks_for_the_root_threshold_on_a_terminal() {
    if Process::new("script").arg("--version").output().is_err() {
        common::skip("`script` (util-linux) is not installed, no pseudo-terminal to test on");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for name in ["r1", "r2", "r3", "p1"] {
        let out = mandate(&[
            "keys",
            "generate",
            "--out",
            dir.join(name).to_str().unwrap(),
        ]);
        assert!(out.status.success());
    }
    let bin = assert_cmd::cargo::cargo_bin("mandate");
    let init = |answer: &str, output: &str| {
        let command = format!(
            "{} trust init --org acme --root-key r1.pub --root-key r2.pub --root-key r3.pub --policy-key p1.pub --unsigned -o {output}",
            bin.display()
        );
        let mut child = Process::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("TERM", "xterm")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Enter takes the majority offered.
    let text = init("\n", "majority.toml");
    assert!(
        text.contains("how many must sign each trust root (1-3)? [2]"),
        "{text}"
    );
    let root = std::fs::read_to_string(dir.join("majority.toml")).unwrap();
    assert!(root.contains("[roles.root]\nthreshold = 2\n"), "{root}");
    let text = init("3\n", "all.toml");
    assert!(text.contains("0 of 3"), "{text}");
    let text = init("9\n", "bad.toml");
    assert!(text.contains("`9` is not a number from 1 to 3"), "{text}");
    assert!(!dir.join("bad.toml").exists());
}
