//! macOS packaging, checked here: the launch daemon finds `mandate`
//! wherever the .pkg or Homebrew put it, and `packaging/build-pkg.sh` lays
//! out the package (payload and scripts) that `pkgbuild` turns into a .pkg.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn daemon() -> plist::Dictionary {
    let path = repo().join("packaging/launchd/dev.mandate.sync.plist");
    plist::from_file::<_, plist::Dictionary>(path).unwrap()
}

/// Runs the daemon's command with every directory of its PATH moved under
/// `fake`, as launchd would run it, and returns which `mandate` ran.
fn run_job(fake: &Path) -> (i32, String) {
    let d = daemon();
    let args: Vec<String> = d["ProgramArguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_string().unwrap().to_owned())
        .collect();
    let path = d["EnvironmentVariables"].as_dictionary().unwrap()["PATH"]
        .as_string()
        .unwrap()
        .to_owned();
    let moved: Vec<String> = path
        .split(':')
        .map(|p| {
            if p == "/usr/bin" || p == "/bin" {
                p.to_owned()
            } else {
                fake.join(p.trim_start_matches('/')).display().to_string()
            }
        })
        .collect();
    let out = std::process::Command::new(&args[0])
        .args(&args[1..])
        .env_clear()
        .env("PATH", moved.join(":"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A stand-in `mandate` that says where it is and what it was asked.
fn stub(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("mandate");
    std::fs::write(&file, format!("#!/bin/sh\necho \"{} $1\"\n", dir.display())).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_launch_daemon_finds_mandate_from_the_pkg_or_homebrew() {
    let d = daemon();
    assert_eq!(d["Label"].as_string(), Some("dev.mandate.sync"));
    assert_eq!(d["UserName"].as_string(), Some("root"));
    let path = d["EnvironmentVariables"].as_dictionary().unwrap()["PATH"]
        .as_string()
        .unwrap();
    let dirs: Vec<&str> = path.split(':').collect();
    assert!(dirs.contains(&"/opt/homebrew/bin") && dirs.contains(&"/usr/local/bin"));

    // Apple Silicon Homebrew only.
    let tmp = tempfile::tempdir().unwrap();
    let brew = tmp.path().join("opt/homebrew/bin");
    stub(&brew);
    let (code, out) = run_job(tmp.path());
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, format!("{0} sync\n{0} apply\n", brew.display()));

    // The .pkg (or Intel Homebrew) location wins when both are there.
    let local = tmp.path().join("usr/local/bin");
    stub(&local);
    let (_, out) = run_job(tmp.path());
    assert_eq!(out, format!("{0} sync\n{0} apply\n", local.display()));

    // Nowhere: a clear message and exit 127, not a silent success.
    let empty = tempfile::tempdir().unwrap();
    let (code, out) = run_job(empty.path());
    assert_eq!(code, 127);
    assert!(out.contains("mandate: not found in"), "{out}");
}

#[test]
fn build_pkg_lays_out_the_payload_and_scripts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let bin = assert_cmd::cargo::cargo_bin("mandate");
    let run = std::process::Command::new("bash")
        .arg(repo().join("packaging/build-pkg.sh"))
        .arg(&out)
        .env("MANDATE_BIN", &bin)
        .env("PKG_LAYOUT_ONLY", "1")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let root = out.join("root");
    let mode = |p: &str| {
        std::fs::metadata(root.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    // The payload, as installed at /.
    assert_eq!(mode("usr/local/bin/mandate"), 0o755);
    assert_eq!(
        std::fs::read(root.join("usr/local/bin/mandate")).unwrap(),
        std::fs::read(&bin).unwrap()
    );
    assert_eq!(mode("Library/LaunchDaemons/dev.mandate.sync.plist"), 0o644);
    assert_eq!(
        std::fs::read(root.join("Library/LaunchDaemons/dev.mandate.sync.plist")).unwrap(),
        std::fs::read(repo().join("packaging/launchd/dev.mandate.sync.plist")).unwrap()
    );
    let page = std::fs::read_to_string(root.join("usr/local/share/man/man1/mandate.1")).unwrap();
    assert!(
        page.contains(".TH mandate 1"),
        "{}",
        &page[..page.len().min(200)]
    );
    assert!(
        root.join("usr/local/share/man/man1/mandate-verify.1")
            .is_file()
    );
    assert!(
        std::fs::read_to_string(root.join("usr/local/share/zsh/site-functions/_mandate"))
            .unwrap()
            .starts_with("#compdef mandate")
    );
    assert!(
        root.join("usr/local/share/bash-completion/completions/mandate")
            .is_file()
    );
    assert!(
        root.join("usr/local/share/fish/vendor_completions.d/mandate.fish")
            .is_file()
    );
    for schema in ["agent-policy.schema.json", "effective.schema.json"] {
        assert_eq!(
            mode(&format!("usr/local/share/mandate/schema/{schema}")),
            0o644
        );
    }
    assert!(
        root.join("usr/local/share/mandate/profiles/strict.toml")
            .is_file()
    );
    // Nothing outside the known top-level directories.
    let mut top: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["Library", "usr"]);
    // Every directory is 0755 and every file 0644 or 0755: nothing writable by others.
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let m = std::fs::symlink_metadata(&path).unwrap();
            let mode = m.permissions().mode() & 0o7777;
            if m.is_dir() {
                assert_eq!(mode, 0o755, "{}", path.display());
                stack.push(path);
            } else {
                assert!(
                    mode == 0o644 || mode == 0o755,
                    "{} {mode:o}",
                    path.display()
                );
            }
        }
    }
    // The payload binary runs.
    let version = std::process::Command::new(root.join("usr/local/bin/mandate"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("mandate "));

    // The scripts: executable, valid sh, and loading the job the payload installs.
    for script in ["preinstall", "postinstall"] {
        let path = out.join("scripts").join(script);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o755
        );
        let check = std::process::Command::new("sh")
            .arg("-n")
            .arg(&path)
            .status()
            .unwrap();
        assert!(check.success(), "{script} is not valid sh");
    }
    let post = std::fs::read_to_string(out.join("scripts/postinstall")).unwrap();
    assert!(
        post.contains("launchctl bootstrap system /Library/LaunchDaemons/dev.mandate.sync.plist")
    );

    // Without PKG_LAYOUT_ONLY and without pkgbuild (any system but macOS),
    // the script says so and fails rather than pretending.
    if std::process::Command::new("pkgbuild")
        .arg("--help")
        .output()
        .is_err()
    {
        let run = std::process::Command::new("bash")
            .arg(repo().join("packaging/build-pkg.sh"))
            .arg(&out)
            .env("MANDATE_BIN", &bin)
            .env_remove("PKG_LAYOUT_ONLY")
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&run.stderr).contains("pkgbuild runs on macOS only"));
    }
}
