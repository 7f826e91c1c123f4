#![allow(clippy::unwrap_used)]
//! Bad input on a `--root` machine: a valid `etc/mandate/policy.d/` plus one
//! bad managed file (or directory) at a time. The bad file never counts, the
//! status is `degraded` with every setting at its lockdown value, the source
//! report is `rejected` with a reason that names the file (and the line and
//! column for parse errors), and nothing panics or hangs. A bad unmanaged file
//! is skipped with a diagnostic and leaves the status `ok`.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use mandate::json;
use mandate::resolve::{Severity, SourceReport, SourceStatus, Stack};
use mandate::{Effective, Environment, Options, Platform, Resolver, Schema, SourceKind, Status};
use tempfile::TempDir;
use time::macros::datetime;

const BASE: &str = r#"[policy]
id = "base"
version = 1

[settings]
sandbox.mode = "workspace-write"
approvals.policy = "on-request"

[requirements]
"sandbox.mode" = { allowed = ["read-only", "workspace-write"] }
"#;

/// What a bad file would say if it counted.
const LOOSE: &str =
    "[settings]\nsandbox.network = true\nnetwork.allowed_domains = [\"evil.example\"]\n";

/// A machine under a temporary root with a valid `policy.d/10-base.toml`.
struct Machine {
    dir: TempDir,
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

impl Machine {
    fn new() -> Machine {
        let dir = tempfile::tempdir().unwrap();
        set_mode(dir.path(), 0o755);
        let m = Machine { dir };
        for d in ["etc", "etc/mandate", "etc/mandate/policy.d"] {
            let p = m.root().join(d);
            fs::create_dir(&p).unwrap();
            set_mode(&p, 0o755);
        }
        m.write("10-base.toml", BASE.as_bytes(), 0o644);
        m
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn policy_d(&self) -> PathBuf {
        self.root().join("etc/mandate/policy.d")
    }

    fn write(&self, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let path = self.policy_d().join(name);
        fs::write(&path, bytes).unwrap();
        set_mode(&path, mode);
        path
    }

    fn options(&self) -> Options {
        Options {
            root: Some(self.root().to_path_buf()),
            platform: Platform::Linux,
            ..Options::default()
        }
    }

    /// Loads and resolves on another thread; a resolution that takes more
    /// than 10 s (a FIFO read that blocks) fails the test instead of hanging it.
    fn resolve_with(&self, options: Options) -> (Stack, Effective) {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let resolver = Resolver::new(options);
            let env = Environment::fixed(datetime!(2026-11-28 12:00 UTC));
            let stack = resolver.load(&env).unwrap();
            let eff = resolver.resolve(&env).unwrap();
            let _ = tx.send((stack, eff));
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("resolution did not return within 10 s"),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("resolution panicked"),
        }
    }

    fn resolve(&self) -> (Stack, Effective) {
        self.resolve_with(self.options())
    }
}

fn report<'e>(eff: &'e Effective, location: &Path) -> &'e SourceReport {
    let location = location.display().to_string();
    eff.sources
        .iter()
        .find(|s| s.location == location)
        .unwrap_or_else(|| panic!("no source report for {location}: {:#?}", eff.sources))
}

/// Every managed setting is at its lockdown value (or unset where that is null).
fn assert_lockdown(eff: &Effective) {
    assert_eq!(eff.status, Status::Degraded);
    for setting in Schema::bundled().settings() {
        match (&setting.lockdown, eff.keys.get(&setting.key)) {
            (None, None) => {}
            (Some(lockdown), Some(k)) => {
                assert_eq!(&k.value, lockdown, "{}", setting.key);
                assert_eq!(k.source, "lockdown", "{}", setting.key);
                assert!(k.locked, "{}", setting.key);
            }
            (lockdown, k) => panic!("{}: lockdown {lockdown:?}, effective {k:?}", setting.key),
        }
    }
    assert_eq!(eff.get("sandbox.mode"), Some(&json!("read-only")));
    assert_eq!(eff.get("sandbox.network"), Some(&json!(false)));
    assert_eq!(eff.get("network.allowed_domains"), Some(&json!([])));
}

/// The bad path never counts: it is rejected, named, and no layer comes from it.
fn assert_rejected(
    stack: &Stack,
    eff: &Effective,
    bad: &Path,
    reason_starts: &str,
    reason_has: &str,
) {
    let r = report(eff, bad);
    assert_eq!(r.name, SourceKind::System);
    assert_eq!(r.status, SourceStatus::Rejected, "{r:?}");
    let reason = r.reason.as_deref().unwrap();
    // The report's location names the file; the reason does not repeat it.
    assert_eq!(r.location, bad.display().to_string());
    let prefix = format!("{}: ", bad.display());
    let reason_starts = reason_starts.strip_prefix(&prefix).unwrap_or(reason_starts);
    assert!(
        reason.starts_with(reason_starts),
        "{reason:?} should start with {reason_starts:?}"
    );
    assert!(
        reason.contains(reason_has),
        "{reason:?} should contain {reason_has:?}"
    );
    let bad_text = bad.display().to_string();
    assert!(
        stack
            .layers
            .iter()
            .all(|l| !l.location.origin.starts_with(&bad_text)),
        "a layer from {bad_text} counts"
    );
    let d = eff
        .diagnostics
        .iter()
        .find(|d| d.code == "rejected-file" && d.location.as_ref().is_some_and(|l| *l == bad_text))
        .unwrap_or_else(|| {
            panic!(
                "no rejected-file diagnostic for {bad_text}: {:#?}",
                eff.diagnostics
            )
        });
    assert_eq!(d.severity, Severity::Error);
    assert!(
        d.message.contains("held at its lockdown value"),
        "{}",
        d.message
    );
    assert!(stack.degraded && stack.lockdown);
    assert_lockdown(eff);
}

/// One bad file next to the good one: rejected, while the good file is still read.
fn assert_bad_file(m: &Machine, bad: &Path, reason_starts: &str, reason_has: &str) {
    let (stack, eff) = m.resolve();
    assert_rejected(&stack, &eff, bad, reason_starts, reason_has);
    let good = report(&eff, &m.policy_d().join("10-base.toml"));
    assert_eq!(good.status, SourceStatus::Unsigned);
    assert_eq!(good.id.as_deref(), Some("base"));
}

#[test]
fn a_valid_machine_under_tmp_resolves_ok() {
    let m = Machine::new();
    assert!(m.root().starts_with(std::env::temp_dir()));
    let (stack, eff) = m.resolve();
    assert_eq!(eff.status, Status::Ok, "{:#?}", eff.diagnostics);
    assert!(!stack.degraded && !stack.lockdown);
    assert_eq!(
        eff.root.as_deref(),
        Some(m.root().display().to_string().as_str())
    );
    assert_eq!(eff.get("sandbox.mode"), Some(&json!("workspace-write")));
    assert_eq!(eff.keys["sandbox.mode"].source, "system");
    assert_eq!(
        eff.keys["sandbox.mode"].location,
        format!("{}/10-base.toml:6:9", m.policy_d().display())
    );
    assert_eq!(
        report(&eff, &m.policy_d().join("10-base.toml")).status,
        SourceStatus::Unsigned
    );
}

#[test]
fn a_world_writable_file_is_rejected() {
    let m = Machine::new();
    let bad = m.write("20-loose.toml", LOOSE.as_bytes(), 0o646);
    assert_bad_file(
        &m,
        &bad,
        &format!("{}: writable by others (mode 646)", bad.display()),
        "chmod go-w",
    );
}

#[test]
fn a_group_writable_file_is_rejected() {
    let m = Machine::new();
    let bad = m.write("20-loose.toml", LOOSE.as_bytes(), 0o664);
    assert_bad_file(
        &m,
        &bad,
        &format!("{}: writable by group (mode 664)", bad.display()),
        "chmod go-w",
    );
}

#[test]
fn a_file_owned_by_someone_else_is_rejected() {
    if !rustix::process::getuid().is_root() {
        common::skip("only root can give a file to another user");
        return;
    }
    let m = Machine::new();
    let bad = m.write("20-loose.toml", LOOSE.as_bytes(), 0o644);
    std::os::unix::fs::chown(&bad, Some(12345), None).unwrap();
    assert_bad_file(
        &m,
        &bad,
        &format!("{}: owned by uid 12345, not by uid 0", bad.display()),
        "chown 0",
    );
}

#[test]
fn a_symlink_is_rejected_even_to_a_good_file() {
    let m = Machine::new();
    let target = m.root().join("elsewhere.toml");
    fs::write(&target, LOOSE).unwrap();
    set_mode(&target, 0o644);
    let bad = m.policy_d().join("20-link.toml");
    symlink(&target, &bad).unwrap();
    assert_bad_file(
        &m,
        &bad,
        &format!("{}: is a symbolic link", bad.display()),
        "regular file",
    );
}

#[test]
fn a_directory_named_like_a_policy_is_rejected() {
    let m = Machine::new();
    let bad = m.policy_d().join("x.toml");
    fs::create_dir(&bad).unwrap();
    set_mode(&bad, 0o755);
    assert_bad_file(
        &m,
        &bad,
        &format!("{}: is a directory, not a regular file", bad.display()),
        "",
    );
}

#[test]
fn a_fifo_is_rejected_without_blocking() {
    let m = Machine::new();
    let bad = m.policy_d().join("20-pipe.toml");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &bad,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    set_mode(&bad, 0o644);
    assert_bad_file(
        &m,
        &bad,
        &format!("{}: is a FIFO, not a regular file", bad.display()),
        "",
    );
}

/// Decision (the library's behaviour): an empty file is a valid, empty policy
/// document. It is read (`unsigned` in unsigned mode), contributes nothing,
/// and does not degrade the result.
#[test]
fn an_empty_file_is_a_valid_empty_policy() {
    let m = Machine::new();
    let empty = m.write("20-empty.toml", b"", 0o644);
    let (stack, eff) = m.resolve();
    assert_eq!(eff.status, Status::Ok, "{:#?}", eff.diagnostics);
    let r = report(&eff, &empty);
    assert_eq!(r.status, SourceStatus::Unsigned);
    assert_eq!(r.reason, None);
    let layer = stack
        .layers
        .iter()
        .find(|l| l.location.origin == empty.display().to_string())
        .unwrap();
    assert!(layer.settings.is_empty() && layer.requirements.is_empty() && layer.policy.is_none());
    assert_eq!(eff.get("sandbox.mode"), Some(&json!("workspace-write")));
}

#[test]
fn a_file_over_the_size_cap_is_rejected() {
    let m = Machine::new();
    let mut big = LOOSE.as_bytes().to_vec();
    let cap = mandate::fsafe::MAX_MANAGED_SIZE;
    big.resize(cap as usize + 1, b'#');
    let bad = m.write("20-big.toml", &big, 0o644);
    assert_bad_file(
        &m,
        &bad,
        &format!(
            "{}: {} bytes, more than the {cap}-byte limit",
            bad.display(),
            cap + 1
        ),
        "",
    );
}

#[test]
fn invalid_utf8_is_rejected_at_its_line_and_column() {
    let m = Machine::new();
    let bad = m.write(
        "20-latin1.toml",
        b"[settings]\nsandbox.mode = \"r\xe9ad-only\"\n",
        0o644,
    );
    assert_bad_file(
        &m,
        &bad,
        &format!("{}:2:18: invalid UTF-8", bad.display()),
        "",
    );
}

#[test]
fn a_toml_syntax_error_is_rejected_at_its_line_and_column() {
    let m = Machine::new();
    let bad = m.write(
        "20-syntax.toml",
        b"[settings\nsandbox.network = true\n",
        0o644,
    );
    assert_bad_file(
        &m,
        &bad,
        &format!("{}:1:10: TOML parse error", bad.display()),
        "",
    );
}

#[test]
fn an_unknown_key_is_rejected_at_its_line_and_column() {
    let m = Machine::new();
    let bad = m.write(
        "20-typo.toml",
        b"[settings]\nsandbox.network = true\nsandbox.mod = \"full-access\"\n",
        0o644,
    );
    assert_bad_file(
        &m,
        &bad,
        &format!("{}:3:9: unknown setting \"sandbox.mod\"", bad.display()),
        "did you mean \"sandbox.mode\"?",
    );
}

#[test]
fn a_wrong_type_is_rejected_at_its_line_and_column() {
    let m = Machine::new();
    let bad = m.write(
        "20-type.toml",
        b"[settings]\nsandbox.network = \"yes\"\n",
        0o644,
    );
    assert_bad_file(
        &m,
        &bad,
        &format!(
            "{}:2:9: \"sandbox.network\": expected a boolean, found a string",
            bad.display()
        ),
        "",
    );
}

#[test]
fn an_unknown_operator_is_rejected_and_the_rest_of_the_file_does_not_count() {
    let m = Machine::new();
    let bad = m.write(
        "20-op.toml",
        b"[settings]\nsandbox.network = true\n\n[requirements]\n\"sandbox.mode\" = { alowed = [\"read-only\"] }\n",
        0o644,
    );
    assert_bad_file(
        &m,
        &bad,
        &format!("{}:5:20: unknown operator `alowed`", bad.display()),
        "",
    );
}

#[test]
fn a_world_writable_policy_directory_rejects_every_file_in_it() {
    let m = Machine::new();
    set_mode(&m.policy_d(), 0o777);
    let (stack, eff) = m.resolve();
    let dir = m.policy_d();
    assert_rejected(
        &stack,
        &eff,
        &dir,
        &format!("{}: writable by group and others (mode 777)", dir.display()),
        "chmod go-w",
    );
    assert!(
        stack.layers.is_empty(),
        "no file of a writable directory counts"
    );
    assert!(
        eff.sources
            .iter()
            .all(|s| !s.location.origin.ends_with("10-base.toml"))
    );
}

#[test]
fn a_group_writable_ancestor_rejects_every_file_below_it() {
    let m = Machine::new();
    let etc = m.root().join("etc/mandate");
    set_mode(&etc, 0o775);
    let (stack, eff) = m.resolve();
    assert_rejected(
        &stack,
        &eff,
        &m.policy_d(),
        &format!("{}: writable by group (mode 775)", etc.display()),
        "",
    );
    assert!(stack.layers.is_empty());
}

#[test]
fn a_symlinked_policy_directory_is_rejected() {
    let m = Machine::new();
    let real = m.root().join("real-policy.d");
    fs::rename(m.policy_d(), &real).unwrap();
    symlink(&real, m.policy_d()).unwrap();
    let (stack, eff) = m.resolve();
    let dir = m.policy_d();
    assert_rejected(
        &stack,
        &eff,
        &dir,
        &format!("{}: is a symbolic link", dir.display()),
        "",
    );
    assert!(stack.layers.is_empty());
}

#[test]
fn files_that_are_not_policies_are_ignored_not_rejected() {
    let m = Machine::new();
    let readme = m.write("README.md", b"not a policy", 0o666);
    m.write(".20-hidden.toml", b"[settings\n", 0o666);
    let (_, eff) = m.resolve();
    assert_eq!(eff.status, Status::Ok, "{:#?}", eff.diagnostics);
    let r = report(&eff, &readme);
    assert_eq!(r.status, SourceStatus::Ignored);
    assert_eq!(r.reason.as_deref(), Some("not a *.toml or *.bundle file"));
    assert!(
        eff.sources
            .iter()
            .all(|s| !s.location.origin.contains(".20-hidden"))
    );
}

#[test]
fn a_bad_user_config_is_skipped_and_the_status_stays_ok() {
    let m = Machine::new();
    let mut dir = m.root().to_path_buf();
    for d in ["home", "ana", ".config", "mandate"] {
        dir.push(d);
        fs::create_dir(&dir).unwrap();
        set_mode(&dir, 0o755);
    }
    let config = dir.join("config.toml");
    fs::write(&config, "[sandbox]\nnetwork = true\nmode = \n").unwrap();
    set_mode(&config, 0o644);
    let (stack, eff) = m.resolve_with(Options {
        user: Some("ana".into()),
        ..m.options()
    });
    assert_eq!(eff.status, Status::Ok, "{:#?}", eff.diagnostics);
    assert!(!stack.degraded && !stack.lockdown);
    // Managed policy still applies; the user's file does not count at all.
    assert_eq!(eff.get("sandbox.mode"), Some(&json!("workspace-write")));
    assert_eq!(eff.get("sandbox.network"), Some(&json!(false)));
    let r = report(&eff, &config);
    assert_eq!(r.name, SourceKind::User);
    assert_eq!(r.status, SourceStatus::Rejected);
    let reason = r.reason.as_deref().unwrap();
    assert!(
        reason.starts_with(&format!("{}:3:", config.display()))
            && reason.contains("TOML parse error"),
        "{reason}"
    );
    let d = eff
        .diagnostics
        .iter()
        .find(|d| d.code == "skipped-file")
        .unwrap();
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.source, Some(SourceKind::User));
    assert!(
        d.message.contains("managed policy is unaffected"),
        "{}",
        d.message
    );
}

#[test]
fn a_user_config_with_an_unknown_key_is_skipped_whole() {
    let m = Machine::new();
    let mut dir = m.root().to_path_buf();
    for d in ["home", "ana", ".config", "mandate"] {
        dir.push(d);
        fs::create_dir(&dir).unwrap();
        set_mode(&dir, 0o755);
    }
    let config = dir.join("config.toml");
    // Group-writable is fine for an unmanaged file; the unknown key is not.
    fs::write(&config, "[sandbox]\nnetwork = true\nmod = \"read-only\"\n").unwrap();
    set_mode(&config, 0o664);
    let (_, eff) = m.resolve_with(Options {
        user: Some("ana".into()),
        ..m.options()
    });
    assert_eq!(eff.status, Status::Ok);
    assert_eq!(eff.get("sandbox.network"), Some(&json!(false)));
    let reason = report(&eff, &config).reason.clone().unwrap();
    assert!(
        reason.starts_with(&format!(
            "{}:3:1: unknown setting \"sandbox.mod\"",
            config.display()
        )),
        "{reason}"
    );
}

/// A user config over the unmanaged cap, or a FIFO in its place, is skipped
/// (never read past the cap, never blocking); managed policy is unaffected.
#[test]
fn an_oversized_or_fifo_user_config_is_skipped() {
    let cap = mandate::loader::MAX_UNMANAGED_SIZE;
    for fifo in [false, true] {
        let m = Machine::new();
        let mut dir = m.root().to_path_buf();
        for d in ["home", "ana", ".config", "mandate"] {
            dir.push(d);
            fs::create_dir(&dir).unwrap();
            set_mode(&dir, 0o755);
        }
        let config = dir.join("config.toml");
        if fifo {
            rustix::fs::mknodat(
                rustix::fs::CWD,
                &config,
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(0o644),
                0,
            )
            .unwrap();
        } else {
            let mut text = String::from("[sandbox]\nnetwork = true\n");
            text.push_str(&"#".repeat(cap as usize + 1 - text.len() + 1));
            fs::write(&config, text).unwrap();
        }
        let (_, eff) = m.resolve_with(Options {
            user: Some("ana".into()),
            ..m.options()
        });
        assert_eq!(eff.status, Status::Ok, "{:#?}", eff.diagnostics);
        assert_eq!(eff.get("sandbox.network"), Some(&json!(false)));
        let r = report(&eff, &config);
        assert_eq!(r.status, SourceStatus::Rejected);
        let reason = r.reason.as_deref().unwrap();
        let expected = if fifo {
            "not a regular file".to_owned()
        } else {
            format!("{} bytes, more than the {cap}-byte limit", cap + 2)
        };
        assert!(reason.contains(&expected), "{reason}");
    }
}

/// A machine whose only policy is a system bundle signed with `payload`,
/// under a trust root that requires signatures.
fn signed_machine(payload: &str) -> (Machine, PathBuf) {
    use mandate::trust::envelope::{Envelope, POLICY_PAYLOAD_TYPE};
    use mandate::trust::keys::SecretKey;
    use mandate::trust::root::{TrustRoot, TrustRootBuilder};
    let m = Machine::new();
    fs::remove_file(m.policy_d().join("10-base.toml")).unwrap();
    let root_key = SecretKey::from_seed(&[1; 32]);
    let policy_key = SecretKey::from_seed(&[11; 32]);
    let body = TrustRootBuilder::new("acme", datetime!(2030-01-01 00:00 UTC))
        .root_keys(vec![root_key.public().clone()], 1)
        .policy_keys(vec![policy_key.public().clone()], 1)
        .body()
        .unwrap();
    let trust = m.root().join("etc/mandate/trust.toml");
    fs::write(&trust, TrustRoot::sign(&body, &[&root_key]).unwrap()).unwrap();
    set_mode(&trust, 0o644);
    let bundle = Envelope::sign(POLICY_PAYLOAD_TYPE, payload.as_bytes(), &[&policy_key]).to_json();
    let path = m.write("10-base.bundle", &bundle, 0o644);
    (m, path)
}

#[test]
fn a_signed_bundle_expired_past_its_grace_fails_closed_with_a_diagnostic() {
    // Resolved at 2026-11-28: 27 days after expiry, past the 7-day grace.
    let (m, path) = signed_machine(
        "[policy]\norg = \"acme\"\nchannel = \"system\"\nid = \"base\"\nversion = 1\nissued_at = 2026-10-01T00:00:00Z\nexpires = 2026-11-01T00:00:00Z\n\n[settings]\nsandbox.network = true\n",
    );
    let (stack, eff) = m.resolve();
    assert_eq!(report(&eff, &path).status, SourceStatus::Expired);
    let d = eff
        .diagnostics
        .iter()
        .find(|d| d.code == "expired-past-grace")
        .unwrap_or_else(|| panic!("no expired-past-grace diagnostic: {:#?}", eff.diagnostics));
    assert_eq!(d.severity, Severity::Error);
    assert!(
        d.message.contains("policy base v1 expired"),
        "{}",
        d.message
    );
    assert!(
        d.message.contains("held at its lockdown value"),
        "{}",
        d.message
    );
    assert!(stack.degraded && stack.lockdown);
    assert_lockdown(&eff);
}

#[test]
fn a_signed_bundle_with_description_and_contact_is_verified_and_shows_them() {
    let (m, path) = signed_machine(
        "[policy]\norg = \"acme\"\nchannel = \"system\"\nid = \"base\"\nversion = 1\nissued_at = 2026-10-01T00:00:00Z\nexpires = 2027-11-01T00:00:00Z\ndescription = \"\"\"\nBaseline.\nÉquipe sécurité.\"\"\"\ncontact = \"security@acme.example\"\n\n[settings]\nsandbox.network = true\n",
    );
    let (stack, eff) = m.resolve();
    let r = report(&eff, &path);
    assert_eq!(r.status, SourceStatus::Verified, "{r:?}");
    assert_eq!(
        r.description.as_deref(),
        Some("Baseline.\nÉquipe sécurité.")
    );
    assert_eq!(r.contact.as_deref(), Some("security@acme.example"));
    assert!(!stack.lockdown, "{:#?}", eff.diagnostics);
    assert_eq!(eff.get("sandbox.network"), Some(&json!(true)));
}

#[test]
fn a_header_error_after_non_ascii_text_names_the_character_column() {
    let m = Machine::new();
    let bad = m.write(
        "20-header.toml",
        "[policy]\nid = \"team\"\nversion = 1\ndescription = \"Équipe sécurité\"\ncontact = 3\n"
            .as_bytes(),
        0o644,
    );
    assert_bad_file(
        &m,
        &bad,
        &format!("{}:5:11: `policy.contact`: must be a string", bad.display()),
        "",
    );
    let bad2 = m.write(
        "30-header.toml",
        "# Équipe\npolicy = { description = \"Équipe sécurité\", id = \"x y\", version = 1 }\n"
            .as_bytes(),
        0o644,
    );
    let (_, eff) = m.resolve();
    let reason = report(&eff, &bad2).reason.clone().unwrap();
    assert!(
        reason.contains(":2:50: `policy.id`: must be 1 to 128 letters"),
        "{reason}"
    );
}
