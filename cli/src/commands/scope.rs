//! Machine-reading options only where they mean something: the admin tools
//! (`keys`, `trust`, `sign`, `publish`, `package`, `completions`, `man`)
//! work on files, not on a machine. Their help does not list `--root`,
//! `--platform`, `--user`, `-C` or `-c`, and they refuse them, before or
//! after their name, rather than ignore them.

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
    if given.is_empty() {
        return Ok(());
    }
    Err(refusal(command, &given))
}

/// The refusal of machine options `given` to `command`, an admin command.
fn refusal(command: &str, given: &[&str]) -> CliError {
    let first = given[0];
    let mut error = CliError::usage(format!(
        "`mandate {command}` does not read a machine, so it takes no {}",
        given.join(", ")
    ));
    if first == "--root" && command.starts_with("trust") {
        error = error.hint("a root key of the trust root is given with --root-key FILE.pub");
    } else if first == "--root" && command == "package" {
        error = error.hint(
            "`mandate --root DIR package install-preview PROFILE` writes what macOS would under DIR",
        );
    } else {
        error = error.hint(format!(
            "{first} is for the commands that read a machine (show, get, explain, check, sources, doctor, verify --machine, apply, sync …)"
        ));
    }
    error
}

/// The machine options, as a command line spells them.
const MACHINE_FLAGS: [&str; 7] = [
    "--root",
    "--platform",
    "--user",
    "-C",
    "-c",
    "--schema",
    "--domain",
];

/// A parse error that is a machine option given after the name of a
/// command that does not read a machine (`trust init --root K`): the same
/// refusal, with the same hint, as when it is given before the name.
pub fn unknown_machine_option(error: &clap::Error) -> Option<CliError> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let flag = arg.split_once('=').map_or(arg.as_str(), |(f, _)| f);
    // `-cKEY=VALUE` and `-CDIR` are one token.
    let flag = MACHINE_FLAGS
        .into_iter()
        .find(|f| *f == flag || (f.len() == 2 && flag.starts_with(f) && !flag.starts_with("--")))?;
    let command = command_name()?;
    Some(refusal(&command, &[flag]))
}

/// The name of the command on the command line: the first argument that
/// names one.
fn command_name() -> Option<String> {
    let cli = <crate::Cli as clap::CommandFactory>::command();
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .find(|a| cli.find_subcommand(a).is_some())
}
