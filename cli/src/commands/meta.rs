//! `mandate completions SHELL` and `mandate man`: generated from the command
//! line definition itself, so they never drift from it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::{CliError, output};

/// `mandate completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `mandate man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (mandate.1, mandate-trust-init.1, …) into DIR, instead of
    /// printing mandate.1.
    #[arg(short = 'o', long = "output", alias = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Prints the completion script for `args.shell`.
pub fn completions(
    mut command: clap::Command,
    args: &CompletionsArgs,
) -> Result<ExitCode, CliError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "mandate", &mut script);
    output::write_file(
        std::path::Path::new("-"),
        &script,
        output::Existing::Replace,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Prints `mandate.1`, or writes every page into `--output DIR`.
pub fn man(command: clap::Command, args: &ManArgs) -> Result<ExitCode, CliError> {
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::usage(format!("{}: {e}", dir.display())))?;
            clap_mangen::generate_to(command, dir)
                .map_err(|e| CliError::usage(format!("{}: {e}", dir.display())))?;
            let mut pages: Vec<String> = std::fs::read_dir(dir)
                .map_err(|e| CliError::usage(format!("{}: {e}", dir.display())))?
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("mandate") && n.ends_with(".1"))
                .collect();
            pages.sort();
            output::out(&format!(
                "wrote {} man pages in {}: {}",
                pages.len(),
                dir.display(),
                pages.join(", ")
            ));
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| CliError::usage(e.to_string()))?;
            output::write_file(std::path::Path::new("-"), &page, output::Existing::Replace)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
