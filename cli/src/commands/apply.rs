//! `mandate apply`: writes the effective configuration where agents read it.

use std::process::ExitCode;

use clap::Args;

use crate::commands::inspect::resolve;
use crate::error::EXIT_DEGRADED;
use crate::{CliError, Globals, output};

/// The file `apply` writes in the state directory.
pub const EFFECTIVE_FILE: &str = "effective.json";

/// `mandate apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Print what would be written instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
}

/// Resolves and writes `<state dir>/effective.json` atomically (mode 0644).
/// A degraded resolution is still written (lockdown values are what agents
/// must obey) and exits 3.
pub fn run(globals: &Globals, args: &ApplyArgs) -> Result<ExitCode, CliError> {
    let (resolver, effective) = resolve(globals)?;
    let tree = resolver.tree()?;
    let path = tree
        .real(&resolver.options().platform.state_dir())
        .join(EFFECTIVE_FILE);
    let mut json =
        serde_json::to_vec_pretty(&effective).map_err(|e| CliError::usage(e.to_string()))?;
    json.push(b'\n');
    if args.dry_run {
        output::out(&String::from_utf8_lossy(&json));
    } else {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::degraded(format!("{}: {e}", dir.display())))?;
        }
        mandate::atomic::write_atomic(&path, &json, 0o644).map_err(|e| {
            CliError::degraded(format!("{}: cannot write: {e}", path.display())).hint("run as root")
        })?;
        crate::commands::decide::after_operation(
            globals,
            &resolver,
            "apply",
            Some(&effective),
            serde_json::json!({ "wrote": [path.display().to_string()] }),
        );
        if globals.json {
            output::json(&serde_json::json!({
                "wrote": path,
                "status": crate::render::status_name(&effective),
                "digest": effective.digest,
            }))?;
        } else {
            output::out(&format!(
                "wrote {} (status {}, digest {})",
                path.display(),
                crate::render::status_name(&effective),
                effective.digest
            ));
        }
    }
    if effective.is_degraded() {
        output::error(
            "error: managed policy could not be applied as written; lockdown values were written",
        );
        return Ok(ExitCode::from(EXIT_DEGRADED));
    }
    Ok(ExitCode::SUCCESS)
}
