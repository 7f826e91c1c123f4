//! Shared set-up for end-to-end tests: an admin's directory and a machine
//! tree read with `--root`, and the `mandate` binary run with a cleared
//! environment.

#![allow(clippy::unwrap_used, dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// An admin's working directory and a machine tree under `--root`.
pub struct Admin {
    /// Where keys, policies and bundles are written.
    pub dir: PathBuf,
    /// The machine's root directory.
    pub machine: PathBuf,
    /// An ssh-agent socket to pass as `SSH_AUTH_SOCK`.
    pub agent: Option<PathBuf>,
}

impl Admin {
    pub fn new(tmp: &Path) -> Admin {
        let dir = tmp.join("admin");
        let machine = tmp.join("machine");
        std::fs::create_dir_all(&dir).unwrap();
        for d in ["etc/mandate/policy.d", "var/lib/mandate"] {
            std::fs::create_dir_all(machine.join(d)).unwrap();
        }
        for d in [
            "",
            "etc",
            "etc/mandate",
            "etc/mandate/policy.d",
            "var",
            "var/lib",
            "var/lib/mandate",
        ] {
            std::fs::set_permissions(machine.join(d), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        Admin {
            dir,
            machine,
            agent: None,
        }
    }

    /// [`Admin::new`], with these keys generated under `keys/`.
    pub fn with_keys(tmp: &Path, names: &[&str]) -> Admin {
        let admin = Admin::new(tmp);
        for name in names {
            admin.ok(&["keys", "generate", "--out", &format!("keys/{name}")]);
        }
        admin
    }

    /// Writes `trust.toml`: a 1-of-1 trust root for org `acme` with root key
    /// `keys/root-1` and policy key `keys/policy-1` (both generated already),
    /// requiring signatures from `signed_sources`; `extra` adds options.
    pub fn init_trust(&self, signed_sources: &str, extra: &[&str]) {
        let mut args = vec![
            "trust",
            "init",
            "--org",
            "acme",
            "--root-key",
            "keys/root-1.pub",
            "--policy-key",
            "keys/policy-1.pub",
            "--signed-sources",
            signed_sources,
            "--sign",
            "keys/root-1.key",
            "-o",
            "trust.toml",
        ];
        args.extend_from_slice(extra);
        self.ok(&args);
    }

    /// Runs a command that must fail with `code`; returns stdout + stderr.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "mandate {args:?}: {text}");
        text
    }

    /// A file of the admin's directory, as text.
    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("mandate").unwrap();
        cmd.current_dir(&self.dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.dir);
        if let Some(sock) = &self.agent {
            cmd.env("SSH_AUTH_SOCK", sock);
        }
        cmd.args(args).output().unwrap()
    }

    /// Signs `policy` with `keys/policy-1.key` for 30 days into `out`.
    pub fn sign(&self, policy: &str, out: &str) -> String {
        self.ok(&[
            "sign",
            "--key",
            "keys/policy-1.key",
            "--expires",
            "30d",
            policy,
            "-o",
            out,
        ])
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "mandate {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn on_machine(&self, args: &[&str]) -> Output {
        let root = self.machine.display().to_string();
        let mut all = vec!["--root", root.as_str(), "--platform", "linux"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    pub fn sources(&self) -> Value {
        let out = self.on_machine(&["sources", "--json"]);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn install(&self, file: &str, to: &str) {
        let target = self.machine.join(to);
        std::fs::copy(self.dir.join(file), &target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    }

    pub fn write_policy(&self, name: &str, version: u64, mode_max: &str) {
        let text = format!(
            r#"[policy]
org = "acme"
channel = "system"
id = "acme-baseline"
version = {version}
issued_at = 2026-01-01T00:00:00Z
expires = 2099-01-01T00:00:00Z

[settings]
sandbox.mode = "{mode_max}"

[requirements]
"sandbox.mode" = {{ max = "{mode_max}" }}
"auth.method" = {{ value = "sso" }}
"#
        );
        std::fs::write(self.dir.join(name), text).unwrap();
    }
}

/// Says loudly that a test could not run, and why: on stderr, and as a line
/// in the file `MANDATE_SKIP_LOG` names (`.ci/run` prints the count).
#[allow(clippy::disallowed_methods, clippy::print_stderr)]
pub fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
    if let Some(log) = std::env::var_os("MANDATE_SKIP_LOG") {
        use std::io::Write as _;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(
                f,
                "{}: {reason}",
                std::thread::current().name().unwrap_or("?")
            );
        }
    }
}

/// The JSON a command printed, or a panic showing what it printed.
pub fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
