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

#[test]
fn admin_help_lists_no_machine_options() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    let machine = [
        "--root ",
        "--platform ",
        "--user ",
        "-C ",
        "-c ",
        "--domain ",
    ];
    for args in [
        &["trust", "init", "--help"][..],
        &["trust", "--help"],
        &["sign", "--help"],
        &["keys", "generate", "--help"],
        &["publish", "--help"],
        &["package", "mobileconfig", "--help"],
    ] {
        let help = admin.ok(args);
        assert!(!help.contains("Machine options"), "{args:?}: {help}");
        for flag in machine {
            // `package` builds for a domain: its own --domain, not a machine's.
            if flag == "--domain " && args[0] == "package" {
                continue;
            }
            assert!(!help.contains(flag), "{args:?} lists {flag}: {help}");
        }
        if args[0] != "sign" && args[0] != "package" {
            assert!(!help.contains("--schema"), "{args:?}: {help}");
        }
        assert!(help.contains("Output options"), "{args:?}: {help}");
    }
    // `sign` checks the policy against a schema: its own option, described as such.
    let help = admin.ok(&["sign", "--help"]);
    assert!(
        help.contains("Check the policy against this setting schema"),
        "{help}"
    );

    // The commands that read a machine list them under their heading, and
    // take them after their name as well as before it.
    for args in [
        &["show", "--help"][..],
        &["explain", "--help"],
        &["sources", "--help"],
        &["state", "show", "--help"],
        &["decide", "exec", "--help"],
        &["package", "install-preview", "--help"],
    ] {
        let help = admin.ok(args);
        let heading = help
            .find("Machine options")
            .unwrap_or_else(|| panic!("{args:?}: {help}"));
        for flag in [
            "--root <DIR>",
            "--platform <PLATFORM>",
            "--user <NAME>",
            "--schema <FILE>",
            "--domain <DOMAIN>",
            "-C <DIR>",
            "-c <KEY=VALUE>",
        ] {
            assert!(
                help[heading..].contains(flag),
                "{args:?} lacks {flag}: {help}"
            );
        }
    }
    let root = admin.machine.display().to_string();
    let before = admin.ok(&["--root", &root, "--platform", "linux", "sources", "--json"]);
    let after = admin.ok(&["sources", "--json", "--root", &root, "--platform", "linux"]);
    assert_eq!(before, after);
    assert!(before.contains(&root), "{before}");

    // Completions and man pages come from the same definition.
    let bash = admin.ok(&["completions", "bash"]);
    let init = bash
        .lines()
        .skip_while(|l| !l.contains("mandate__subcmd__trust__subcmd__init)"))
        .find(|l| l.contains("opts="))
        .unwrap();
    assert!(
        init.contains("--root-key") && !init.contains("--root "),
        "{init}"
    );
    assert!(
        !init.contains("--platform") && !init.contains("--user"),
        "{init}"
    );
    let show = bash
        .lines()
        .skip_while(|l| !l.contains("mandate__subcmd__show)"))
        .find(|l| l.contains("opts="))
        .unwrap();
    assert!(
        show.contains("--root ") && show.contains("--platform"),
        "{show}"
    );
    admin.ok(&["man", "--output", "man"]);
    let page = admin.read("man/mandate-trust-init.1");
    assert!(
        page.contains("root\\-key") && !page.contains("\\-\\-platform"),
        "{page}"
    );
    let page = admin.read("man/mandate-show.1");
    assert!(page.contains("\\-\\-platform"), "{page}");
}
