//! Machine options only where they mean something: admin commands refuse
//! `--root`, `--platform`, `--user`, `-C` and `-c` (and `--schema` and
//! `--domain` where unused), with a hint; help groups the options.

#![allow(clippy::unwrap_used)]

mod common;

use common::Admin;

fn usage(admin: &Admin, args: &[&str]) -> String {
    let out = admin.run(args);
    assert_eq!(out.status.code(), Some(2), "mandate {args:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn admin_commands_refuse_machine_options() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    admin.ok(&["keys", "generate", "--output", "keys/r1"]);

    // The classic slip: --root for --root-key.
    let err = usage(
        &admin,
        &["trust", "init", "--org", "acme", "--root", "keys/r1.pub"],
    );
    assert!(
        err.contains("`mandate trust` does not read a machine, so it takes no --root"),
        "{err}"
    );
    assert!(
        err.contains("hint: a root key of the trust root is given with --root-key FILE.pub"),
        "{err}"
    );
    // Before or after the command name.
    let err = usage(&admin, &["--root", "/tmp", "trust", "verify", "trust.toml"]);
    assert!(err.contains("takes no --root"), "{err}");

    let err = usage(
        &admin,
        &[
            "keys",
            "generate",
            "--output",
            "keys/x",
            "-c",
            "sandbox.mode=read-only",
        ],
    );
    assert!(err.contains("takes no -c"), "{err}");
    assert!(!admin.dir.join("keys/x.key").exists());
    let err = usage(
        &admin,
        &[
            "sign",
            "--user",
            "ana",
            "--key",
            "keys/r1.key",
            "p.toml",
            "-o",
            "p.bundle",
        ],
    );
    assert!(
        err.contains("`mandate sign` does not read a machine, so it takes no --user"),
        "{err}"
    );
    let err = usage(
        &admin,
        &[
            "publish",
            "--platform",
            "linux",
            "--output",
            "site",
            "p.bundle",
        ],
    );
    assert!(err.contains("takes no --platform"), "{err}");
    let err = usage(&admin, &["completions", "bash", "--schema", "x.json"]);
    assert!(err.contains("takes no --schema"), "{err}");
    let err = usage(&admin, &["package", "jamf-schema", "-C", "/tmp"]);
    assert!(err.contains("takes no -C"), "{err}");

    // What they do take still works: --domain for package, --root for install-preview.
    let out = admin.ok(&["package", "jamf-schema", "--domain", "com.acme.agents"]);
    assert!(
        out.contains("com.acme.agents") || out.contains("\"title\""),
        "{out}"
    );

    // A missing --root-key says so.
    let err = usage(
        &admin,
        &[
            "trust",
            "init",
            "--org",
            "acme",
            "--policy-key",
            "keys/r1.pub",
        ],
    );
    assert!(
        err.contains("trust init needs --root-key FILE.pub"),
        "{err}"
    );

    // Help puts the machine options under their own heading.
    let help = admin.ok(&["show", "--help"]);
    let machine = help.find("Machine options").unwrap();
    assert!(help[machine..].contains("--root <DIR>"), "{help}");
    assert!(
        help.find("--include-overridden").unwrap() < machine,
        "{help}"
    );
    assert!(help.contains("Output options"), "{help}");
}
