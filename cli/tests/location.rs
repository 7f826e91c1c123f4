//! Locations in JSON: the human string (`location`) and beside it the
//! structure (`at`: path, plist key, bundle, line, column), for a user
//! config, a signed bundle and MDM managed preferences; and one key order
//! for the same kind of object in every command's JSON.

#![allow(clippy::unwrap_used)]

mod common;

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Admin, json_of};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// The 1-based line and column where `needle` starts in `text`.
fn position(text: &str, needle: &str) -> (u64, u64) {
    let offset = text.find(needle).unwrap();
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line as u64, column as u64)
}

fn write_0644(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
fn a_user_config_value_is_located_by_path_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    let config = admin.machine.join("home/ana/.config/mandate/config.toml");
    let text = "# ana's settings\n\n[approvals]\n  policy = \"on-request\"\n";
    write_0644(&config, text);

    let out = admin.on_machine(&["--user", "ana", "show", "--json"]);
    let doc = json_of(&out);
    let key = &doc["keys"]["approvals.policy"];
    assert_eq!(key["source"], "user", "{key:#}");
    let (line, column) = position(text, "policy =");
    assert_eq!((line, column), (4, 3));
    let path = config.display().to_string();
    assert_eq!(
        key["at"],
        serde_json::json!({ "path": path, "line": line, "column": column }),
        "{key:#}"
    );
    // The human string is the same place, rendered.
    assert_eq!(key["location"], format!("{path}:{line}:{column}"));

    // `explain --json` locates it the same way.
    let out = admin.on_machine(&["--user", "ana", "explain", "--json", "approvals.policy"]);
    let doc = json_of(&out);
    assert_eq!(doc["report"]["at"], key["at"]);
    assert_eq!(doc["report"]["location"], key["location"]);
}

#[test]
fn a_value_from_a_signed_bundle_names_the_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::with_keys(tmp.path(), &["root-1", "policy-1"]);
    admin.init_trust("system", &[]);
    admin.write_policy("base.toml", 4, "workspace-write");
    admin.sign("base.toml", "base.bundle");
    admin.install("trust.toml", "etc/mandate/trust.toml");
    admin.install("base.bundle", "etc/mandate/policy.d/10-base.bundle");

    let out = admin.on_machine(&["show", "--json"]);
    let doc = json_of(&out);
    assert_eq!(doc["trust"]["mode"], "signed", "{doc:#}");
    let key = &doc["keys"]["sandbox.mode"];
    assert_eq!(key["source"], "system", "{key:#}");
    let at = &key["at"];
    let bundle = admin.machine.join("etc/mandate/policy.d/10-base.bundle");
    assert_eq!(at["path"], bundle.display().to_string(), "{key:#}");
    assert_eq!(
        at["bundle"],
        serde_json::json!({ "id": "acme-baseline", "version": 4 })
    );
    assert!(at.get("plist_key").is_none(), "{key:#}");
    // The line and column are in the signed payload: `mandate cat` prints it.
    let (line, column) = (at["line"].as_u64().unwrap(), at["column"].as_u64().unwrap());
    let cat = admin.on_machine(&["cat", key["location"].as_str().unwrap()]);
    assert!(
        cat.status.success(),
        "{}",
        String::from_utf8_lossy(&cat.stderr)
    );
    let marked = String::from_utf8_lossy(&cat.stdout)
        .lines()
        .find(|l| l.starts_with('>'))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        marked.contains(&format!("{line} ")) && marked.contains("sandbox.mode"),
        "{marked}"
    );
    assert!(column >= 1);
    assert_eq!(
        key["location"],
        format!("{} [acme-baseline v4]:{line}:{column}", bundle.display())
    );
    // The source report: the file, and the bundle's id and version beside it.
    let source = doc["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "system" && s["status"] == "verified")
        .unwrap();
    assert_eq!(source["at"]["path"], bundle.display().to_string());
    assert_eq!(source["id"], "acme-baseline");
    assert_eq!(source["version"], 4);
}

const MDM_POLICY: &str = r#"[settings]
sandbox.mode = "read-only"

[requirements]
"sandbox.mode" = { allowed = ["read-only", "workspace-write"] }
"#;

#[test]
fn mdm_values_name_the_plist_key_path() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    std::fs::write(admin.dir.join("mdm.toml"), MDM_POLICY).unwrap();
    for native in [true, false] {
        let mac = tmp.path().join(format!("mac-{native}"));
        std::fs::create_dir_all(&mac).unwrap();
        std::fs::set_permissions(&mac, std::fs::Permissions::from_mode(0o755)).unwrap();
        let profile = format!("p-{native}.mobileconfig");
        let mut args = vec![
            "package",
            "mobileconfig",
            "mdm.toml",
            "--identifier",
            "com.example.mandate",
            "-o",
            profile.as_str(),
        ];
        if native {
            args.push("--native");
        }
        admin.ok(&args);
        let root = mac.display().to_string();
        admin.ok(&["--root", &root, "package", "install-preview", &profile]);

        let out = admin.run(&["--root", &root, "--platform", "macos", "show", "--json"]);
        let doc = json_of(&out);
        let key = &doc["keys"]["sandbox.mode"];
        assert_eq!(key["source"], "mdm", "{key:#}");
        let at = &key["at"];
        let plist = mac.join("Library/Managed Preferences/dev.mandate.plist");
        assert_eq!(at["path"], plist.display().to_string(), "{key:#}");
        let plist_key = at["plist_key"].as_str().unwrap();
        if native {
            // A value in the plist's own dictionaries: a key path, no line.
            assert!(plist_key.starts_with("Settings > sandbox"), "{key:#}");
            assert!(at.get("line").is_none(), "{key:#}");
            assert_eq!(key["location"], format!("{}: {plist_key}", plist.display()));
        } else {
            // A policy document held in the `Policy` key: lines count in it.
            assert_eq!(plist_key, "Policy", "{key:#}");
            // A dotted key is located at its last part, as in any TOML file.
            let (line, column) = position(MDM_POLICY, "mode = \"read-only\"");
            assert_eq!(
                (at["line"].as_u64(), at["column"].as_u64()),
                (Some(line), Some(column))
            );
            assert_eq!(
                key["location"],
                format!("{} > Policy:{line}:{column}", plist.display())
            );
            // `mandate cat` follows it into the plist's document.
            let out = admin.run(&[
                "--root",
                &root,
                "--platform",
                "macos",
                "cat",
                key["location"].as_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let marked = text
                .lines()
                .find(|l| l.starts_with('>'))
                .unwrap_or_default();
            assert!(marked.contains("sandbox.mode = \"read-only\""), "{text}");
        }
        // The constraint that refuses a value is located the same way.
        let out = admin.run(&[
            "--root",
            &root,
            "--platform",
            "macos",
            "check",
            "--json",
            "sandbox.mode=full-access",
        ]);
        assert_eq!(out.status.code(), Some(1));
        let doc = json_of(&out);
        let by = &doc["refused"][0]["constraint"];
        assert_eq!(by["source"], "mdm", "{doc:#}");
        assert_eq!(by["at"]["path"], plist.display().to_string());
        assert!(by["at"]["plist_key"].is_string(), "{doc:#}");
    }
}

/// A JSON value that remembers the order of object keys.
#[derive(Debug)]
enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    /// A string's text; other scalars are not kept.
    Scalar(Option<String>),
}

impl Ordered {
    fn parse(text: &[u8]) -> Ordered {
        let mut de = serde_json::Deserializer::from_slice(text);
        Ordered::deserialize(&mut de).unwrap()
    }

    fn get(&self, key: &str) -> &Ordered {
        match self {
            Ordered::Object(entries) => entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no {key} in {self:?}")),
            _ => panic!("not an object: {self:?}"),
        }
    }

    fn index(&self, i: usize) -> &Ordered {
        match self {
            Ordered::Array(items) => &items[i],
            _ => panic!("not an array: {self:?}"),
        }
    }

    /// The first object of an array whose `key` is the string `value`.
    fn find(&self, key: &str, value: &str) -> &Ordered {
        match self {
            Ordered::Array(items) => items
                .iter()
                .find(|i| matches!(i, Ordered::Object(e) if e.iter().any(|(k, v)| k == key && matches!(v, Ordered::Scalar(Some(s)) if s == value))))
                .unwrap_or_else(|| panic!("no {key} = {value} in {self:?}")),
            _ => panic!("not an array: {self:?}"),
        }
    }

    fn keys(&self) -> Vec<&str> {
        match self {
            Ordered::Object(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            _ => panic!("not an object: {self:?}"),
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Ordered, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(None))
            }
            fn visit_str<E>(self, s: &str) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(Some(s.to_owned())))
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    entries.push((k, v));
                }
                Ok(Ordered::Object(entries))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[test]
fn one_key_order_for_diagnostics_and_refusals_in_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    // Two managed files that contradict each other (a `conflict` diagnostic
    // on sandbox.mode) and a user value the requirement refuses.
    write_0644(
        &admin.machine.join("etc/mandate/policy.d/10-base.toml"),
        "[requirements]\n\"sandbox.mode\" = { value = \"read-only\" }\n",
    );
    write_0644(
        &admin.machine.join("etc/mandate/policy.d/20-team.toml"),
        "[requirements]\n\"sandbox.mode\" = { allowed = [\"workspace-write\"] }\n",
    );
    write_0644(
        &admin.machine.join("home/ana/.config/mandate/config.toml"),
        "[sandbox]\nmode = \"full-access\"\n",
    );
    let run = |args: &[&str]| {
        let mut all = vec!["--user", "ana"];
        all.extend_from_slice(args);
        let out = admin.on_machine(&all);
        Ordered::parse(&out.stdout)
    };
    let show = run(&["show", "--json"]);
    let explain = run(&["explain", "--json", "sandbox.mode"]);
    let sources = run(&["sources", "--json"]);
    let check = run(&["check", "--json", "sandbox.mode=full-access"]);

    // A conflict: severity, code, message, source, location, at, key, operator.
    let diagnostic = show.get("diagnostics").find("code", "conflict").keys();
    assert_eq!(
        diagnostic,
        [
            "severity", "code", "message", "source", "location", "at", "key", "operator"
        ]
    );
    assert_eq!(
        explain.get("diagnostics").find("code", "conflict").keys(),
        diagnostic
    );
    assert_eq!(
        sources.get("diagnostics").find("code", "conflict").keys(),
        diagnostic
    );
    let at = show
        .get("diagnostics")
        .find("code", "conflict")
        .get("at")
        .keys();
    assert_eq!(at, ["path", "line", "column"]);
    assert_eq!(
        explain
            .get("diagnostics")
            .find("code", "conflict")
            .get("at")
            .keys(),
        at
    );
    assert_eq!(
        sources
            .get("diagnostics")
            .find("code", "conflict")
            .get("at")
            .keys(),
        at
    );

    // A refusal and the constraint that refused it.
    let refusal = show
        .get("keys")
        .get("sandbox.mode")
        .get("rejected")
        .index(0);
    assert_eq!(
        refusal.keys(),
        ["value", "source", "location", "at", "reason", "constraint"]
    );
    let by = refusal.get("constraint").keys();
    assert_eq!(by, ["op", "source", "location", "at"]);
    let in_explain = explain.get("report").get("rejected").index(0);
    assert_eq!(in_explain.keys(), refusal.keys());
    assert_eq!(in_explain.get("constraint").keys(), by);
    // `check` proposes the value on the command line, a place no file
    // holds: no `at`, every other key where `show` puts it.
    let in_check = check.get("refused").index(0);
    let without_at: Vec<&str> = refusal.keys().into_iter().filter(|k| *k != "at").collect();
    assert_eq!(in_check.keys(), without_at);
    assert_eq!(in_check.get("constraint").keys(), by);

    // Sources and the trust summary: the same in `show` and `sources`.
    assert_eq!(
        show.get("sources").index(0).keys(),
        sources.get("sources").index(0).keys()
    );
    assert_eq!(show.get("trust").keys(), sources.get("trust").keys());
}

#[test]
fn problems_are_located_in_verify_validate_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::new(tmp.path());
    let text = "[settings]\nsandbox.mode = \"read-only\"\nsandbox.nope = 1\n";
    std::fs::write(admin.dir.join("bad.toml"), text).unwrap();
    let bad = admin.dir.join("bad.toml").display().to_string();
    let (line, column) = position(text, "nope");

    // `verify --machine`: refused, with each problem at its place.
    let out = admin.on_machine(&["verify", "--machine", "--json", "bad.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    assert_eq!(v["code"], "policy-invalid", "{v:#}");
    let problem = &v["problems"][0];
    assert_eq!(
        problem["at"],
        serde_json::json!({ "path": "bad.toml", "line": line, "column": column }),
        "{v:#}"
    );
    assert_eq!(problem["location"], format!("bad.toml:{line}:{column}"));

    // `validate --json`: the same shape.
    let out = admin.run(&["validate", "--json", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    assert_eq!(v[0]["problems"][0]["at"]["path"], bad, "{v:#}");
    assert_eq!(v[0]["problems"][0]["at"]["line"], line);

    // `sign` refuses a policy that does not fit: under --json, each problem located.
    admin.ok(&["keys", "generate", "--out", "keys/p"]);
    let policy = "[policy]\norg = \"acme\"\nchannel = \"system\"\nid = \"x\"\nversion = 1\nexpires = 2099-01-01T00:00:00Z\n\n[settings]\nsandbox.nope = 1\n";
    std::fs::write(admin.dir.join("p.toml"), policy).unwrap();
    let out = admin.run(&[
        "sign",
        "--json",
        "--key",
        "keys/p.key",
        "p.toml",
        "-o",
        "p.bundle",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    let problem = &v["error"]["problems"][0];
    assert_eq!(problem["at"]["path"], "p.toml", "{v:#}");
    assert!(
        problem["at"]["line"].as_u64().is_some_and(|l| l >= 9),
        "{v:#}"
    );
    assert!(!admin.dir.join("p.bundle").exists());

    // An error under --json about a `-c` value: located, with no file.
    let out = admin.on_machine(&["show", "--json", "-c", "sandbox.mode=3"]);
    assert_eq!(out.status.code(), Some(2));
    let v = json_of(&out);
    let problem = &v["error"]["problems"][0];
    assert_eq!(problem["location"], "-c sandbox.mode=3", "{v:#}");
    assert_eq!(problem["key"], "sandbox.mode");
    assert!(problem.get("at").is_none(), "{v:#}");
}
