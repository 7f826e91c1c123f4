//! `mandate demo`: lays out the bundled demo machine with safe modes and shows it.
//!
//! The demo tree is embedded in the binary, so it works whatever the umask of
//! the checkout (a group-writable policy file is rightly refused).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::commands::inspect::{self, ShowArgs};
use crate::{CliError, Globals, output};

/// The demo machine: path under the root, contents.
pub const DEMO_FILES: &[(&str, &str)] = &[
    (
        "etc/mandate/policy.d/10-security-baseline.toml",
        include_str!("../../../profiles/demo/etc/mandate/policy.d/10-security-baseline.toml"),
    ),
    (
        "etc/mandate/policy.d/20-team-platform.toml",
        include_str!("../../../profiles/demo/etc/mandate/policy.d/20-team-platform.toml"),
    ),
    (
        "home/ana/.config/mandate/config.toml",
        include_str!("../../../profiles/demo/home/ana/.config/mandate/config.toml"),
    ),
    (
        "home/ana/src/webapp/.mandate.toml",
        include_str!("../../../profiles/demo/home/ana/src/webapp/.mandate.toml"),
    ),
];

/// `mandate demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo machine in DIR (created; must not exist) to explore it with --root DIR.
    #[arg(short = 'o', long = "output", alias = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also list compliant values that lost to a higher-ranked layer.
    #[arg(long)]
    pub include_overridden: bool,
}

/// Writes the demo tree under `dir`: directories 0755, files 0644.
pub fn lay_out(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    for (path, text) in DEMO_FILES {
        let target = dir.join(path);
        let mut parent = target.parent();
        let mut to_fix = Vec::new();
        while let Some(p) = parent {
            if p == dir {
                break;
            }
            to_fix.push(p.to_path_buf());
            parent = p.parent();
        }
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p)?;
        }
        for p in to_fix {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
        }
        std::fs::write(&target, text)?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}

/// Lays out the demo and runs `show` on it.
pub fn run(globals: &Globals, args: &DemoArgs) -> Result<ExitCode, CliError> {
    let (dir, keep) = match &args.out {
        Some(dir) => (dir.clone(), true),
        None => (
            std::env::temp_dir().join(format!("mandate-demo-{}", std::process::id())),
            false,
        ),
    };
    if keep && std::fs::symlink_metadata(&dir).is_ok() {
        let is_demo = DEMO_FILES.iter().all(|(path, _)| dir.join(path).is_file());
        let error = CliError::usage(format!(
            "{} already exists; the demo lays out a fresh machine and never writes into an existing directory",
            dir.display()
        ));
        let error = if is_demo {
            error.hint(format!(
                "it already holds the demo machine: explore it with `mandate --root {0} --platform linux --user ana -C {0}/home/ana/src/webapp show`",
                dir.display()
            ))
        } else {
            error
        };
        return Err(error.hint(format!(
            "to start over, remove it (`rm -r {}`) or give another --output DIR",
            dir.display()
        )));
    }
    lay_out(&dir).map_err(|e| {
        CliError::usage(format!(
            "{}: cannot lay out the demo machine: {e}",
            dir.display()
        ))
    })?;
    let mut g = globals.clone();
    g.root = Some(dir.clone());
    g.platform = Some(mandate::Platform::Linux);
    g.user = Some("ana".into());
    g.cwd = Some(dir.join("home/ana/src/webapp"));
    let result = inspect::show(
        &g,
        &ShowArgs {
            key: None,
            include_overridden: args.include_overridden,
            offline: true,
        },
    );
    if keep {
        output::error(&format!(
            "demo machine kept in {0}; explore it with: mandate --root {0} --platform linux --user ana -C {0}/home/ana/src/webapp explain sandbox.mode",
            dir.display()
        ));
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}
