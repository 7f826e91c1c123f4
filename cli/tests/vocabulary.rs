//! One vocabulary: `--output` everywhere (with `--out` as an alias),
//! `expires` as a duration (`1y`, `12mo`) or a date, whole seconds; `sync`
//! progress on a terminal and the machine's status after a sync.

#![allow(clippy::unwrap_used)]

mod common;

use common::Admin;
use serde_json::Value;

#[test]
fn output_and_out_are_one_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    admin.ok(&["keys", "generate", "--output", "keys/a"]);
    admin.ok(&["keys", "generate", "--out", "keys/b"]);
    admin.ok(&["keys", "generate", "-o", "keys/c"]);
    for name in ["a", "b", "c"] {
        assert!(admin.dir.join(format!("keys/{name}.pub")).is_file());
    }
    admin.ok(&["demo", "--output", "d1"]);
    admin.ok(&["demo", "--out", "d2"]);
    assert!(admin.dir.join("d2/etc/mandate/policy.d").is_dir());
    // `--out` is hidden from help: one spelling is shown.
    let help = admin.ok(&["keys", "generate", "--help"]);
    assert!(help.contains("--output <NAME>"), "{help}");
    assert!(!help.contains("--out "), "{help}");
}

#[test]
fn expires_takes_years_months_and_dates_in_whole_seconds() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    admin.ok(&["keys", "generate", "--output", "keys/p"]);
    std::fs::write(
        admin.dir.join("p.toml"),
        "[policy]\norg = \"acme\"\nchannel = \"system\"\nid = \"p\"\nversion = 1\n\n[settings]\nsandbox.mode = \"read-only\"\n",
    )
    .unwrap();
    let sign = |expires: &str, out: &str| -> Value {
        let o = admin.run(&[
            "sign",
            "--json",
            "--key",
            "keys/p.key",
            "--expires",
            expires,
            "p.toml",
            "-o",
            out,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let v = sign("2027-12-31", "a.bundle");
    assert_eq!(v["expires"], "2027-12-31T00:00:00Z");
    let parse = |v: &Value, k: &str| {
        time::OffsetDateTime::parse(
            v[k].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let v = sign("1y", "b.bundle");
    let (issued, expires) = (parse(&v, "issued_at"), parse(&v, "expires"));
    assert_eq!(expires - issued, time::Duration::days(365));
    assert_eq!(expires.nanosecond(), 0);
    let v = sign("12mo", "c.bundle");
    assert_eq!(
        parse(&v, "expires") - parse(&v, "issued_at"),
        time::Duration::days(360)
    );
    let out = admin.run(&[
        "sign",
        "--key",
        "keys/p.key",
        "--expires",
        "soon",
        "p.toml",
        "-o",
        "d.bundle",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("12mo or 1y"));
}

/// A sync that cannot connect: on a terminal, one progress line per failed
/// attempt on stderr; the failure states the machine's status.
#[test]
fn sync_reports_progress_on_a_terminal_and_the_machine_status() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    for name in ["root", "policy"] {
        admin.ok(&["keys", "generate", "--output", &format!("keys/{name}")]);
    }
    admin.ok(&[
        "trust",
        "init",
        "--org",
        "acme",
        "--root-key",
        "keys/root.pub",
        "--policy-key",
        "keys/policy.pub",
        "--sign",
        "keys/root.key",
        "-o",
        "trust.toml",
    ]);
    admin.install("trust.toml", "etc/mandate/trust.toml");
    // A port nothing listens on: connection refused, a transient failure.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("https://127.0.0.1:{port}/acme/cloud/base.bundle");
    let root = admin.machine.display().to_string();
    let args = ["--root", &root, "sync", "--url", &url, "--retries", "1"];

    // Not a terminal: no progress lines, the error and the machine status.
    let out = admin.run(&args);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("sync: attempt"), "{err}");
    assert!(err.contains("hint: machine: ok"), "{err}");

    // On a terminal (a pseudo-terminal from script(1)).
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        common::skip("script(1) is not installed: no pseudo-terminal for the progress test");
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("mandate");
    let line = format!("{} {}", bin.display(), args.join(" "));
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &admin.dir)
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&out.stdout);
    assert!(
        all.contains(&format!("sync: fetching {url} (up to 2 attempts)")),
        "{all}"
    );
    assert!(all.contains("sync: attempt 1 of 2 failed: "), "{all}");
    assert!(all.contains("connection refused"), "{all}");
    assert!(all.contains("; next attempt in 1s"), "{all}");
    assert!(all.contains("machine: ok"), "{all}");
}
