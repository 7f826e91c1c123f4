//! `mandate project trust|untrust [DIR]`: record in the user's config
//! whether a project's `.mandate.toml` counts, without editing TOML by hand.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use mandate::{Environment, Resolver};

use crate::{CliError, Globals, output};

/// `mandate project …`.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Trust the project in DIR (default: -C DIR, else the working directory):
    /// its `.mandate.toml` then counts, within what managed policy allows.
    Trust {
        /// A directory in the project.
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Stop trusting the project in DIR.
    Untrust {
        /// A directory in the project.
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Records trust (or its withdrawal) in the user config, atomically.
pub fn run(globals: &Globals, command: &ProjectCommand) -> Result<ExitCode, CliError> {
    let (dir, trusted) = match command {
        ProjectCommand::Trust { dir } => (dir, true),
        ProjectCommand::Untrust { dir } => (dir, false),
    };
    let env = Environment::capture();
    let resolver = Resolver::with_schema_file(globals.options())?;
    let start = match dir.clone().or_else(|| globals.cwd.clone()) {
        Some(d) => d,
        None => std::env::current_dir()?,
    };
    let start = start
        .canonicalize()
        .map_err(|e| CliError::usage(format!("{}: {e}", start.display())))?;
    // The project is where its `.mandate.toml` is; a directory without
    // one is trusted as given (the file may come later).
    let project = mandate::loader::find_project_file(&start)
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| start.clone());
    let has_file = project.join(mandate::loader::PROJECT_FILE).is_file();
    let config = resolver.user_config_file(&env).ok_or_else(|| {
        CliError::usage(
            "no user config to record trust in: HOME is not set (under --root, give --user NAME)",
        )
    })?;
    let text = match std::fs::read_to_string(&config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(CliError::usage(format!("{}: {e}", config.display()))),
    };
    let key = resolver.machine_path(&project).display().to_string();
    let new = mandate::loader::set_project_trust(&text, &key, trusted)
        .map_err(|e| CliError::usage(format!("{}: {e}", config.display())))?;
    if new != text {
        if let Some(parent) = config.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CliError::usage(format!("{}: {e}", parent.display())))?;
        }
        let mode = std::fs::metadata(&config)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
            .unwrap_or(0o644);
        mandate::atomic::write_atomic(&config, new.as_bytes(), mode)
            .map_err(|e| CliError::usage(format!("{}: {e}", config.display())))?;
    }
    let verb = if trusted { "trusted" } else { "not trusted" };
    let mut text = format!("{key}: {verb} (recorded in {})", config.display());
    if trusted && !has_file {
        text.push_str(&format!(
            "\nnote: {} has no {} yet; it counts once there is one",
            project.display(),
            mandate::loader::PROJECT_FILE
        ));
    }
    if trusted {
        text.push_str(
            "\nits settings count within what managed policy allows; `mandate show` lists them",
        );
    }
    output::out(&text);
    Ok(ExitCode::SUCCESS)
}
