//! Machine-reading options only where they mean something: the admin tools
//! (`keys`, `trust`, `sign`, `publish`, `package`, `completions`, `man`)
//! work on files, not on a machine, and refuse `--root`, `--platform`,
//! `--user`, `-C` and `-c` rather than ignore them.

use crate::{CliError, Globals};

/// What an admin command may take of the machine-reading options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Takes {
    /// None of them.
    Nothing,
    /// `--schema` and `--domain` (the policy is checked against the schema,
    /// or packaged for the domain).
    SchemaAndDomain,
}

/// Refuses machine-reading options given to `command`, an admin command.
pub fn check(globals: &Globals, command: &str, takes: Takes) -> Result<(), CliError> {
    let mut given: Vec<&str> = Vec::new();
    if globals.root.is_some() {
        given.push("--root");
    }
    if globals.platform.is_some() {
        given.push("--platform");
    }
    if globals.user.is_some() {
        given.push("--user");
    }
    if globals.cwd.is_some() {
        given.push("-C");
    }
    if !globals.config.is_empty() {
        given.push("-c");
    }
    if takes == Takes::Nothing {
        if globals.schema.is_some() {
            given.push("--schema");
        }
        if globals.domain != mandate::paths::DEFAULT_DOMAIN {
            given.push("--domain");
        }
    }
    let Some(first) = given.first() else {
        return Ok(());
    };
    let mut error = CliError::usage(format!(
        "`mandate {command}` does not read a machine, so it takes no {}",
        given.join(", ")
    ));
    if *first == "--root" && command.starts_with("trust") {
        error = error.hint("a root key of the trust root is given with --root-key FILE.pub");
    } else if *first == "--root" && command == "package" {
        error = error.hint(
            "`mandate --root DIR package install-preview PROFILE` writes what macOS would under DIR",
        );
    } else {
        error = error.hint(format!(
            "{first} is for the commands that read a machine (show, get, explain, check, sources, doctor, verify --machine, apply, sync …)"
        ));
    }
    Err(error)
}
