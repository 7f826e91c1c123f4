//! `--platform` inferred under `--root` from the paths the tree holds; on
//! Linux, the macOS-only sources are listed as not applicable.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const POLICY: &str =
    "[policy]\nid = \"base\"\nversion = 1\n\n[settings]\nsandbox.mode = \"read-only\"\n";

fn tree(root: &Path, dirs: &[&str]) {
    for dir in dirs {
        let path = root.join(dir);
        std::fs::create_dir_all(&path).unwrap();
        let mut p = path.as_path();
        while p != root {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p = p.parent().unwrap();
        }
        if dir.ends_with("policy.d") {
            let file = path.join("10-base.toml");
            std::fs::write(&file, POLICY).unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

fn sources(root: &Path) -> Vec<(String, String, String)> {
    let out = Command::cargo_bin("mandate")
        .unwrap()
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(["--root", root.to_str().unwrap(), "sources", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
                s["location"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn find<'a>(all: &'a [(String, String, String)], name: &str) -> &'a (String, String, String) {
    all.iter()
        .find(|s| s.0 == name)
        .unwrap_or_else(|| panic!("no {name} in {all:?}"))
}

#[test]
fn a_linux_tree_reads_as_linux_and_lists_mdm_as_not_applicable() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    tree(tmp.path(), &["etc/mandate/policy.d"]);
    let all = sources(tmp.path());
    let system = find(&all, "system");
    assert_eq!(system.1, "unsigned");
    assert!(
        system.2.ends_with("etc/mandate/policy.d/10-base.toml"),
        "{all:?}"
    );
    assert_eq!(find(&all, "mdm").1, "not-applicable");
    assert_eq!(find(&all, "mdm-user").1, "not-applicable");
}

#[test]
fn a_macos_tree_reads_as_macos_without_platform() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    tree(
        tmp.path(),
        &[
            "Library/Application Support/Mandate/policy.d",
            "Library/Managed Preferences",
        ],
    );
    let all = sources(tmp.path());
    let system = find(&all, "system");
    assert_eq!(system.1, "unsigned", "{all:?}");
    assert!(
        system
            .2
            .ends_with("Library/Application Support/Mandate/policy.d/10-base.toml"),
        "{all:?}"
    );
    let mdm = find(&all, "mdm");
    assert_eq!(mdm.1, "absent");
    assert!(mdm.2.starts_with(tmp.path().to_str().unwrap()), "{all:?}");
}

#[test]
fn a_tree_with_both_platforms_uses_this_machines_table() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    tree(
        tmp.path(),
        &[
            "etc/mandate/policy.d",
            "Library/Application Support/Mandate/policy.d",
        ],
    );
    let all = sources(tmp.path());
    let expected = if cfg!(target_os = "macos") {
        "Library/Application Support/Mandate/policy.d/10-base.toml"
    } else {
        "etc/mandate/policy.d/10-base.toml"
    };
    assert!(find(&all, "system").2.ends_with(expected), "{all:?}");
}
