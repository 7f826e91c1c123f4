//! Key ceremonies across people: trust roots and bundles signed one key at a
//! time, keys held by a real `ssh-agent`, policy key rotation with an
//! overlap, and what a device says about a bundle signed by a removed key.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::Admin;
use serde_json::Value;

const KEYS: [&str; 5] = ["root-1", "root-2", "root-3", "policy-1", "policy-2"];

/// A policy `base` at `version` under `name` in the admin's directory.
fn write_base(admin: &Admin, name: &str, version: u64) {
    std::fs::write(
        admin.dir.join(name),
        format!(
            "[policy]\norg = \"acme\"\nchannel = \"system\"\nid = \"base\"\nversion = {version}\n\n[requirements]\n\"sandbox.mode\" = {{ max = \"workspace-write\" }}\n"
        ),
    )
    .unwrap();
}

fn bundle_source(sources: &Value) -> Value {
    sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["location"].as_str().unwrap_or("").ends_with(".bundle"))
        .cloned()
        .unwrap()
}

fn key_id(admin: &Admin, name: &str) -> String {
    let text = admin.read(&format!("keys/{name}.pub"));
    text.split("id ").nth(1).unwrap()[..32].to_owned()
}

#[test]
fn a_trust_root_signed_by_three_people_in_turn() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::with_keys(tmp.path(), &KEYS);
    let content = [
        "--org",
        "acme",
        "--root-key",
        "keys/root-1.pub",
        "--root-key",
        "keys/root-2.pub",
        "--root-key",
        "keys/root-3.pub",
        "--policy-key",
        "keys/policy-1.pub",
    ];
    fn with<'a>(content: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["trust", "init"];
        args.extend_from_slice(content);
        args.extend_from_slice(extra);
        args
    }
    let init = |extra: &[&'static str]| with(&content, extra);

    // Several root keys and no threshold: refused, not silently 1.
    let text = admin.fails(2, &init(&["--unsigned", "-o", "trust.toml"]));
    assert!(
        text.contains("3 root keys and no --root-threshold"),
        "{text}"
    );
    assert!(text.contains("--root-threshold 2"), "{text}");
    assert!(!admin.dir.join("trust.toml").exists());

    // No signer at all needs --unsigned.
    let text = admin.fails(2, &init(&["--root-threshold", "2", "-o", "trust.toml"]));
    assert!(text.contains("--unsigned"), "{text}");

    // One signature below a threshold of two needs --partial.
    let text = admin.fails(
        2,
        &init(&[
            "--root-threshold",
            "2",
            "--sign",
            "keys/root-1.key",
            "-o",
            "trust.toml",
        ]),
    );
    assert!(text.contains("1 of 2 required signatures"), "{text}");

    let out = admin.ok(&init(&[
        "--root-threshold",
        "2",
        "--unsigned",
        "-o",
        "trust.toml",
    ]));
    assert!(out.contains("NOT yet valid"), "{out}");
    assert!(out.contains("0 of 2"), "{out}");
    assert!(out.contains("(root-3)"), "{out}");

    // trust init never overwrites.
    let before = admin.read("trust.toml");
    let text = admin.fails(
        2,
        &init(&["--root-threshold", "2", "--unsigned", "-o", "trust.toml"]),
    );
    assert!(text.contains("already exists"), "{text}");
    assert!(text.contains("trust rotate"), "{text}");
    assert_eq!(admin.read("trust.toml"), before);

    // verify says how many of how many, and who is missing.
    let text = admin.fails(1, &["trust", "verify", "trust.toml"]);
    assert!(text.contains("0 of 2 required signatures"), "{text}");
    let (r1, r2, r3) = (
        key_id(&admin, "root-1"),
        key_id(&admin, "root-2"),
        key_id(&admin, "root-3"),
    );
    assert!(text.contains(&format!("{r1} (root-1)")), "{text}");

    // First signer.
    let out = admin.ok(&["trust", "sign", "trust.toml", "--key", "keys/root-1.key"]);
    assert!(out.contains("1 of 2"), "{out}");
    // The same key again: refused, file unchanged.
    let once = admin.read("trust.toml");
    let text = admin.fails(
        1,
        &["trust", "sign", "trust.toml", "--key", "keys/root-1.key"],
    );
    assert!(text.contains("already signed"), "{text}");
    assert_eq!(admin.read("trust.toml"), once);
    // A policy key is not a root key.
    let text = admin.fails(
        1,
        &["trust", "sign", "trust.toml", "--key", "keys/policy-1.key"],
    );
    assert!(
        text.contains("is not a root key of trust root version 1"),
        "{text}"
    );
    let text = admin.fails(1, &["trust", "verify", "trust.toml"]);
    assert!(text.contains("1 of 2"), "{text}");
    let not_yet = text
        .split("not yet:")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    assert!(
        not_yet.contains(&r2) && not_yet.contains(&r3) && !not_yet.contains(&r1),
        "{text}"
    );

    // Second signer: the root verifies.
    let out = admin.ok(&["trust", "sign", "trust.toml", "--key", "keys/root-3.key"]);
    assert!(out.contains("every threshold is met"), "{out}");
    let out = admin.ok(&["trust", "verify", "trust.toml"]);
    assert!(out.contains("verified"), "{out}");

    // A rotation signed in turn: version 2 drops root-1, so root-1 signs as a
    // key of version 1 (--previous).
    let out = admin.ok(&[
        "trust",
        "rotate",
        "--from",
        "trust.toml",
        "--replace-root-keys",
        "--root-key",
        "keys/root-2.pub",
        "--root-key",
        "keys/root-3.pub",
        "--unsigned",
        "-o",
        "trust-v2.toml",
    ]);
    assert!(out.contains("NOT yet valid"), "{out}");
    let text = admin.fails(
        1,
        &["trust", "sign", "trust-v2.toml", "--key", "keys/root-1.key"],
    );
    assert!(text.contains("--previous"), "{text}");
    admin.ok(&[
        "trust",
        "sign",
        "trust-v2.toml",
        "--previous",
        "trust.toml",
        "--key",
        "keys/root-1.key",
    ]);
    let text = admin.fails(
        1,
        &[
            "trust",
            "verify",
            "--previous",
            "trust.toml",
            "trust-v2.toml",
        ],
    );
    assert!(
        text.contains("previous root keys (version 1): 1 of 2"),
        "{text}"
    );
    assert!(text.contains("root keys (version 2): 0 of 2"), "{text}");
    for key in ["root-2", "root-3"] {
        admin.ok(&[
            "trust",
            "sign",
            "trust-v2.toml",
            "--previous",
            "trust.toml",
            "--key",
            &format!("keys/{key}.key"),
        ]);
    }
    let out = admin.ok(&[
        "trust",
        "verify",
        "--previous",
        "trust.toml",
        "trust-v2.toml",
    ]);
    assert!(out.contains("version 2"), "{out}");

    // rotate never writes over the version it starts from; `-o -` is stdout.
    let text = admin.fails(
        2,
        &[
            "trust",
            "rotate",
            "--from",
            "trust.toml",
            "--unsigned",
            "-o",
            "./trust.toml",
        ],
    );
    assert!(text.contains("is the --from file"), "{text}");
    let out = admin.run(&[
        "trust",
        "rotate",
        "--from",
        "trust.toml",
        "--unsigned",
        "-o",
        "-",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("# mandate trust root"), "{stdout}");
    assert!(stdout.contains("version = 2\n"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT yet valid"));
}

#[test]
fn bundles_signed_in_turn_and_header_filled_at_signing() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::with_keys(tmp.path(), &KEYS);
    admin.ok(&[
        "trust",
        "init",
        "--org",
        "acme",
        "--root-key",
        "keys/root-1.pub",
        "--policy-key",
        "keys/policy-1.pub",
        "--policy-key",
        "keys/policy-2.pub",
        "--policy-threshold",
        "2",
        "--sign",
        "keys/root-1.key",
        "-o",
        "trust.toml",
    ]);
    // One file, every channel; issued_at and expires filled at signing.
    std::fs::write(
        admin.dir.join("p.toml"),
        "[policy]\norg = \"acme\"\nchannel = \"system\"\nid = \"base\"\nversion = 1\n\n[settings]\nsandbox.mode = \"full-access\"\n\n[requirements]\n\"sandbox.mode\" = { max = \"workspace-write\" }\n",
    )
    .unwrap();
    let out = admin.run(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "--trust",
        "trust.toml",
        "--channel",
        "cloud",
        "--expires",
        "30d",
        "p.toml",
        "-o",
        "p.bundle",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("/ cloud"), "{stdout}");
    assert!(stdout.contains("issued_at"), "{stdout}");
    assert!(
        stdout.contains("1 of 2 required signatures, NOT met"),
        "{stdout}"
    );
    // Its own settings break its own requirements: a warning, not a failure.
    assert!(
        stderr.contains("warning: p.toml: [settings] sandbox.mode = \"full-access\" breaks this policy's own [requirements]"),
        "{stderr}"
    );
    let text = admin.fails(1, &["verify", "--trust", "trust.toml", "p.bundle"]);
    assert!(text.contains("[threshold]"), "{text}");
    assert!(text.contains("1 of 2"), "{text}");
    assert!(text.contains("(policy-2)"), "{text}");

    // A root key is refused when the trust root is given.
    let text = admin.fails(
        2,
        &[
            "sign",
            "--add",
            "p.bundle",
            "--key",
            "keys/root-1.key",
            "--trust",
            "trust.toml",
        ],
    );
    assert!(text.contains("is a root key, not a policy key"), "{text}");
    // The same key twice is refused, the second one completes it.
    let text = admin.fails(
        1,
        &["sign", "--add", "p.bundle", "--key", "keys/policy-1.key"],
    );
    assert!(text.contains("already signed this bundle"), "{text}");
    let out = admin.ok(&[
        "sign",
        "--add",
        "p.bundle",
        "--key",
        "keys/policy-2.key",
        "--trust",
        "trust.toml",
    ]);
    assert!(out.contains("2 of 2 required signatures, met"), "{out}");
    let out = admin.ok(&["verify", "--trust", "trust.toml", "p.bundle"]);
    assert!(out.contains("base v1 for acme / cloud"), "{out}");

    // The version must go up over the bundle already at the output path.
    let text = admin.fails(
        1,
        &[
            "sign",
            "--key",
            "keys/policy-1.key",
            "--channel",
            "cloud",
            "--expires",
            "31d",
            "p.toml",
            "-o",
            "p.bundle",
        ],
    );
    assert!(text.contains("holds base v1 with other content"), "{text}");
    assert!(text.contains("set version = 2"), "{text}");
    let bumped = admin.read("p.toml").replace("version = 1", "version = 2");
    std::fs::write(admin.dir.join("p.toml"), bumped).unwrap();
    admin.ok(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "--channel",
        "cloud",
        "--expires",
        "30d",
        "p.toml",
        "-o",
        "p.bundle",
    ]);
    let older = admin.read("p.toml").replace("version = 2", "version = 1");
    std::fs::write(admin.dir.join("p.toml"), older).unwrap();
    let text = admin.fails(
        1,
        &[
            "sign",
            "--key",
            "keys/policy-1.key",
            "--channel",
            "cloud",
            "--expires",
            "30d",
            "p.toml",
            "-o",
            "p.bundle",
        ],
    );
    assert!(text.contains("v1 is older"), "{text}");

    // A public key file is not a signer.
    let text = admin.fails(
        2,
        &["sign", "--add", "p.bundle", "--key", "keys/policy-2.pub"],
    );
    assert!(text.contains("sign with keys/policy-2.key"), "{text}");

    // Every missing header field at once.
    std::fs::write(admin.dir.join("bare.toml"), "[policy]\nid = \"x\"\n").unwrap();
    let text = admin.fails(
        1,
        &[
            "sign",
            "--key",
            "keys/policy-1.key",
            "bare.toml",
            "-o",
            "b.bundle",
        ],
    );
    assert!(
        text.contains("[policy] lacks org, channel, version, expires"),
        "{text}"
    );
}

#[test]
fn policy_key_rotation_with_an_overlap_and_the_cause_on_the_device() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::with_keys(tmp.path(), &KEYS);
    admin.init_trust("system", &[]);
    write_base(&admin, "base.toml", 1);
    admin.sign("base.toml", "v1.bundle");
    admin.install("trust.toml", "etc/mandate/trust.toml");
    admin.install("v1.bundle", "etc/mandate/policy.d/10-base.bundle");
    assert_eq!(bundle_source(&admin.sources())["status"], "verified");

    // Version 2: policy-2 in, policy-1 retired with a 30-day overlap.
    let out = admin.ok(&[
        "trust",
        "rotate",
        "--from",
        "trust.toml",
        "--policy-key",
        "keys/policy-2.pub",
        "--remove-policy-key",
        "keys/policy-1.pub",
        "--overlap",
        "30d",
        "--sign",
        "keys/root-1.key",
        "-o",
        "trust-v2.toml",
    ]);
    assert!(out.contains("bundles in the field:"), "{out}");
    assert!(out.contains("retired with an overlap until"), "{out}");
    assert!(
        admin
            .read("trust-v2.toml")
            .contains("[[roles.policy.retired]]")
    );
    admin.install("trust-v2.toml", "etc/mandate/trust.toml");
    let sources = admin.sources();
    assert_eq!(sources["trust"]["version"], 2, "{sources:#}");
    assert_eq!(bundle_source(&sources)["status"], "verified", "{sources:#}");
    assert_eq!(sources["status"], "ok");

    // Version 3 ends the overlap (the key is compromised): the device names the cause.
    let out = admin.ok(&[
        "trust",
        "rotate",
        "--from",
        "trust-v2.toml",
        "--remove-policy-key",
        "keys/policy-1.pub",
        "--sign",
        "keys/root-1.key",
        "-o",
        "trust-v3.toml",
    ]);
    assert!(out.contains("ends now"), "{out}");
    std::fs::create_dir_all(admin.machine.join("etc/mandate/trust.d")).unwrap();
    std::fs::set_permissions(
        admin.machine.join("etc/mandate/trust.d"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    admin.install("trust-v3.toml", "etc/mandate/trust.toml");
    let sources = admin.sources();
    assert_eq!(sources["trust"]["version"], 3, "{sources:#}");
    let bundle = bundle_source(&sources);
    assert_eq!(bundle["status"], "rejected", "{sources:#}");
    let reason = bundle["reason"].as_str().unwrap();
    let id = key_id(&admin, "policy-1");
    assert!(
        reason.contains(&format!(
            "policy key {id} (policy-1) was removed by trust root version 2"
        )),
        "{reason}"
    );
    assert!(
        !reason.contains("sign it with more policy keys"),
        "{reason}"
    );

    // Old retirement records can be dropped in a later rotation.
    let out = admin.ok(&[
        "trust",
        "rotate",
        "--from",
        "trust-v3.toml",
        "--forget-retired",
        "--sign",
        "keys/root-1.key",
        "-o",
        "trust-v4.toml",
    ]);
    assert!(!out.contains("retired policy keys"), "{out}");
    assert!(
        !admin
            .read("trust-v4.toml")
            .contains("[[roles.policy.retired]]")
    );

    // Re-signed with the new key, the policy is back.
    write_base(&admin, "base.toml", 2);
    admin.ok(&[
        "sign",
        "--key",
        "keys/policy-2.key",
        "--expires",
        "30d",
        "base.toml",
        "-o",
        "v2.bundle",
    ]);
    admin.install("v2.bundle", "etc/mandate/policy.d/10-base.bundle");
    let sources = admin.sources();
    assert_eq!(bundle_source(&sources)["status"], "verified", "{sources:#}");
    assert_eq!(sources["status"], "ok");
}

/// `sign`, `validate` and `package mobileconfig` refuse what every device
/// would refuse: an expired policy, one key counted twice, a bundle signed
/// for another channel than the one it is delivered through. A header with
/// `description` and `contact` (documented fields) signs, installs and shows.
#[test]
fn signing_tools_refuse_what_devices_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::with_keys(tmp.path(), &KEYS);
    admin.ok(&[
        "trust",
        "init",
        "--org",
        "acme",
        "--root-key",
        "keys/root-1.pub",
        "--policy-key",
        "keys/policy-1.pub",
        "--policy-key",
        "keys/policy-2.pub",
        "--policy-threshold",
        "2",
        "--sign",
        "keys/root-1.key",
        "-o",
        "trust.toml",
    ]);
    write_base(&admin, "base.toml", 1);

    // The same key twice: as the same path, and as a copy of the file.
    std::fs::copy(
        admin.dir.join("keys/policy-1.key"),
        admin.dir.join("copy.key"),
    )
    .unwrap();
    for second in ["keys/policy-1.key", "copy.key"] {
        let text = admin.fails(
            2,
            &[
                "sign",
                "--key",
                "keys/policy-1.key",
                "--key",
                second,
                "--expires",
                "30d",
                "base.toml",
                "-o",
                "twice.bundle",
            ],
        );
        assert!(text.contains("are the same key"), "{text}");
        assert!(text.contains(&key_id(&admin, "policy-1")), "{text}");
        assert!(!admin.dir.join("twice.bundle").exists());
    }

    // Expired: in the file (with or without issued_at), or by --expires.
    let expired = |extra: &str| {
        std::fs::write(
            admin.dir.join("old.toml"),
            format!(
                "[policy]\norg = \"acme\"\nchannel = \"system\"\nid = \"old\"\nversion = 1\n{extra}expires = 2021-01-01T00:00:00Z\n\n[settings]\nsandbox.mode = \"read-only\"\n"
            ),
        )
        .unwrap();
        admin.fails(
            1,
            &[
                "sign",
                "--key",
                "keys/policy-1.key",
                "old.toml",
                "-o",
                "old.bundle",
            ],
        )
    };
    for extra in ["", "issued_at = 2020-01-01T00:00:00Z\n"] {
        let text = expired(extra);
        assert!(
            text.contains("expires = 2021-01-01T00:00:00Z is in the past"),
            "{text}"
        );
        assert!(text.contains("nothing was signed"), "{text}");
    }
    let text = admin.fails(
        1,
        &[
            "sign",
            "--key",
            "keys/policy-1.key",
            "--expires",
            "2021-01-01T00:00:00Z",
            "base.toml",
            "-o",
            "old.bundle",
        ],
    );
    assert!(
        text.contains("--expires: [policy] expires = 2021-01-01T00:00:00Z is in the past"),
        "{text}"
    );
    assert!(!admin.dir.join("old.bundle").exists());

    // description and contact are header fields: they sign and show in `sources`.
    std::fs::write(
        admin.dir.join("described.toml"),
        "[policy]\norg = \"acme\"\nchannel = \"system\"\nid = \"described\"\nversion = 1\ndescription = \"Baseline for every laptop\"\ncontact = \"security@acme.example\"\n\n[requirements]\n\"sandbox.mode\" = { max = \"workspace-write\" }\n",
    )
    .unwrap();
    admin.ok(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "--key",
        "keys/policy-2.key",
        "--trust",
        "trust.toml",
        "--expires",
        "30d",
        "described.toml",
        "-o",
        "described.bundle",
    ]);
    admin.ok(&["verify", "--trust", "trust.toml", "described.bundle"]);
    admin.ok(&["validate", "described.bundle"]);
    admin.install("trust.toml", "etc/mandate/trust.toml");
    admin.install(
        "described.bundle",
        "etc/mandate/policy.d/10-described.bundle",
    );
    let sources = admin.sources();
    let bundle = bundle_source(&sources);
    assert_eq!(bundle["status"], "verified", "{sources:#}");
    assert_eq!(
        bundle["description"], "Baseline for every laptop",
        "{sources:#}"
    );
    assert_eq!(bundle["contact"], "security@acme.example", "{sources:#}");

    // The system bundle is refused by validate under policy.d/ once signed for cloud,
    // and by package mobileconfig, which delivers through mdm.
    admin.ok(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "--key",
        "keys/policy-2.key",
        "--channel",
        "cloud",
        "--expires",
        "30d",
        "described.toml",
        "-o",
        "cloud.bundle",
    ]);
    std::fs::create_dir_all(admin.dir.join("staging/policy.d")).unwrap();
    std::fs::copy(
        admin.dir.join("cloud.bundle"),
        admin.dir.join("staging/policy.d/20-cloud.bundle"),
    )
    .unwrap();
    admin.ok(&["validate", "cloud.bundle"]);
    let text = admin.fails(1, &["validate", "staging/policy.d/20-cloud.bundle"]);
    assert!(text.contains("issued for the cloud channel"), "{text}");
    assert!(text.contains("channel-mismatch"), "{text}");
    assert!(text.contains("--channel system"), "{text}");
    let package = |bundle: &str| {
        admin.run(&[
            "package",
            "mobileconfig",
            bundle,
            "--identifier",
            "com.acme.mandate",
            "--organization",
            "Acme",
            "-o",
            "p.mobileconfig",
        ])
    };
    let out = package("described.bundle");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("issued for the system channel"), "{text}");
    assert!(text.contains("--channel mdm"), "{text}");
    assert!(!admin.dir.join("p.mobileconfig").exists());
    admin.ok(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "--key",
        "keys/policy-2.key",
        "--channel",
        "mdm",
        "--expires",
        "30d",
        "described.toml",
        "-o",
        "mdm.bundle",
    ]);
    let out = package("mdm.bundle");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    admin.ok(&["validate", "p.mobileconfig"]);
    // A profile holding a bundle for another channel (built by another tool)
    // is refused by validate, as a Mac would refuse the bundle.
    let profile = std::fs::read_to_string(admin.dir.join("p.mobileconfig")).unwrap();
    let mdm_b64 = base64_of(&std::fs::read(admin.dir.join("mdm.bundle")).unwrap());
    let cloud_b64 = base64_of(&std::fs::read(admin.dir.join("cloud.bundle")).unwrap());
    assert!(profile.contains(&mdm_b64[..40]), "{profile}");
    let (head, tail) = profile.split_once(&mdm_b64[..40]).unwrap();
    let end = tail.find("</data>").unwrap();
    std::fs::write(
        admin.dir.join("cloud.mobileconfig"),
        format!("{head}{cloud_b64}{}", &tail[end..]),
    )
    .unwrap();
    let text = admin.fails(1, &["validate", "cloud.mobileconfig"]);
    assert!(text.contains("issued for the cloud channel"), "{text}");
}

/// Standard base64, as plists write `<data>` (without line breaks).
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A running `ssh-agent`, killed when dropped.
struct Agent {
    pid: u32,
    socket: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.pid.to_string())
            .status();
    }
}

fn start_agent(dir: &Path) -> Option<Agent> {
    for tool in ["ssh-agent", "ssh-add", "ssh-keygen"] {
        let found = std::process::Command::new(tool)
            .arg("-?")
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok();
        if !found {
            common::skip(&format!(
                "{tool} is not installed (apt-get install openssh-client)"
            ));
            return None;
        }
    }
    let socket = dir.join("agent.sock");
    let out = std::process::Command::new("ssh-agent")
        .args(["-s", "-a"])
        .arg(&socket)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let pid = text
        .split("SSH_AGENT_PID=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    Some(Agent { pid, socket })
}

#[test]
fn root_and_policy_keys_held_by_a_real_ssh_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let mut admin = Admin::with_keys(tmp.path(), &KEYS);
    let Some(agent) = start_agent(tmp.path()) else {
        return;
    };
    // Two ed25519 keys, and an RSA key the signer must skip over.
    for (name, kind) in [("alice", "ed25519"), ("bob", "ed25519"), ("carol", "rsa")] {
        let path = admin.dir.join(name);
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", "", "-C"])
            .arg(format!("{name}@acme"))
            .arg("-f")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let status = std::process::Command::new("ssh-add")
            .arg("-q")
            .arg(&path)
            .env("SSH_AUTH_SOCK", &agent.socket)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let listing = std::process::Command::new("ssh-add")
        .arg("-l")
        .env("SSH_AUTH_SOCK", &agent.socket)
        .output()
        .unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    let bob_fp = listing
        .lines()
        .find(|l| l.contains("bob@acme"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_owned();

    // Without SSH_AUTH_SOCK: a clear error.
    let text = admin.fails(
        2,
        &[
            "trust",
            "init",
            "--org",
            "acme",
            "--root-key",
            "alice.pub",
            "--policy-key",
            "bob.pub",
            "--sign",
            "ssh-agent:alice.pub",
            "-o",
            "trust.toml",
        ],
    );
    assert!(text.contains("SSH_AUTH_SOCK is not set"), "{text}");

    admin.agent = Some(agent.socket.clone());
    // An OpenSSH public key names the key in the root; the agent signs.
    let out = admin.ok(&[
        "trust",
        "init",
        "--org",
        "acme",
        "--root-key",
        "alice.pub",
        "--root-key",
        "keys/root-1.pub",
        "--root-threshold",
        "2",
        "--policy-key",
        "bob.pub",
        "--sign",
        "ssh-agent:alice.pub",
        "--partial",
        "-o",
        "trust.toml",
    ]);
    assert!(out.contains("1 of 2"), "{out}");
    assert!(out.contains("(alice@acme)"), "{out}");
    admin.ok(&["trust", "sign", "trust.toml", "--key", "keys/root-1.key"]);
    let out = admin.ok(&["trust", "verify", "trust.toml"]);
    assert!(out.contains("signed by"), "{out}");
    assert!(out.contains("(alice@acme)"), "{out}");

    // A bundle signed by the agent, named by fingerprint.
    write_base(&admin, "base.toml", 1);
    let by_fp = format!("ssh-agent:{bob_fp}");
    admin.ok(&[
        "sign",
        "--key",
        &by_fp,
        "--trust",
        "trust.toml",
        "--expires",
        "30d",
        "base.toml",
        "-o",
        "base.bundle",
    ]);
    let out = admin.ok(&["verify", "--trust", "trust.toml", "base.bundle"]);
    assert!(out.contains("(bob@acme)"), "{out}");
    // The OpenSSH public key file alone names the agent's key too.
    let text = admin.fails(1, &["sign", "--add", "base.bundle", "--key", "bob.pub"]);
    assert!(text.contains("already signed this bundle"), "{text}");
    // The same agent key named twice (public key file and fingerprint) is one key.
    let text = admin.fails(
        2,
        &[
            "sign",
            "--key",
            "bob.pub",
            "--key",
            &by_fp,
            "--expires",
            "30d",
            "base.toml",
            "-o",
            "twice.bundle",
        ],
    );
    assert!(text.contains("are the same key"), "{text}");
    // The agent key is a policy key, not a root key.
    let text = admin.fails(1, &["trust", "sign", "trust.toml", "--key", &by_fp]);
    assert!(text.contains("is not a root key"), "{text}");
    // A key the agent does not hold, and an RSA key, are refused by name.
    let text = admin.fails(
        2,
        &[
            "sign",
            "--key",
            "ssh-agent:SHA256:AAAA",
            "base.toml",
            "-o",
            "x.bundle",
        ],
    );
    assert!(text.contains("holds no ed25519 key SHA256:AAAA"), "{text}");
    let text = admin.fails(
        2,
        &[
            "sign",
            "--key",
            "ssh-agent:carol.pub",
            "base.toml",
            "-o",
            "x.bundle",
        ],
    );
    assert!(text.contains("not an OpenSSH ed25519 public key"), "{text}");
}

#[test]
fn non_destructive_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::with_keys(tmp.path(), &KEYS);
    // demo --out on an existing directory says what to do and writes nothing.
    admin.ok(&["demo", "--out", "demo"]);
    let text = admin.fails(2, &["demo", "--out", "demo"]);
    assert!(text.contains("already exists"), "{text}");
    assert!(text.contains("it already holds the demo machine"), "{text}");
    assert!(text.contains("rm -r demo"), "{text}");
    std::fs::create_dir(admin.dir.join("other")).unwrap();
    let text = admin.fails(2, &["demo", "--out", "other"]);
    assert!(!text.contains("already holds the demo"), "{text}");
    assert_eq!(
        std::fs::read_dir(admin.dir.join("other")).unwrap().count(),
        0
    );

    // `-o -` is standard output: bundles, profiles and schemas.
    admin.ok(&[
        "trust",
        "init",
        "--org",
        "acme",
        "--root-key",
        "keys/root-1.pub",
        "--policy-key",
        "keys/policy-1.pub",
        "--sign",
        "keys/root-1.key",
        "-o",
        "trust.toml",
    ]);
    write_base(&admin, "p.toml", 1);
    let out = admin.run(&[
        "sign",
        "--key",
        "keys/policy-1.key",
        "--expires",
        "1d",
        "p.toml",
        "-o",
        "-",
    ]);
    assert!(out.status.success());
    let bundle: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bundle["payloadType"], "application/vnd.mandate.policy+toml");
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote standard output"));
    let out = admin.run(&["package", "jamf-schema", "-o", "-"]);
    assert!(out.status.success());
    let _: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!admin.dir.join("-").exists());

    // validate warns about a policy that breaks its own requirements.
    std::fs::write(
        admin.dir.join("self.toml"),
        "[settings]\nsandbox.mode = \"full-access\"\n\n[requirements]\n\"sandbox.mode\" = { max = \"read-only\" }\n",
    )
    .unwrap();
    let out = admin.run(&["validate", "self.toml"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("breaks this policy's own [requirements]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
