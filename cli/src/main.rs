//! `mandate`: inspect, sign, package, sync and apply the managed
//! configuration of AI coding agents.
//!
//! This crate only parses arguments, renders results and maps errors to
//! exit codes; the work is done by the `mandate` library.

mod commands;
mod error;
mod output;
mod render;
mod style;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory as _, Parser, Subcommand};
use mandate::{Options, Platform};

pub use error::CliError;

/// One effective, non-overridable configuration for AI coding agents.
#[derive(Debug, Parser)]
#[command(name = "mandate", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// The machine options, before the command name.
    #[command(flatten)]
    machine: TopMachine,
    #[command(flatten)]
    output: OutputOptions,
    #[command(subcommand)]
    command: Command,
}

/// The help heading of the options that say which machine to read.
const MACHINE: &str = "Machine options (the commands that read a machine)";
/// The help heading of the output options.
const OUTPUT: &str = "Output options";

/// Defines a struct of the options that say which machine to read; one
/// list, so the two places they are taken cannot drift apart.
macro_rules! machine_options {
    ($(#[$meta:meta])* $name:ident, global = $global:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, Args)]
        pub struct $name {
            /// Read every path under DIR instead of `/` (tests, demos, a copied machine).
            #[arg(long, global = $global, value_name = "DIR", help_heading = MACHINE)]
            pub root: Option<PathBuf>,
            /// Which path table to use: linux or macos (default: under --root, the one
            /// platform whose paths the tree holds; else this machine's).
            #[arg(long, global = $global, value_name = "PLATFORM", help_heading = MACHINE)]
            pub platform: Option<Platform>,
            /// The preferences domain (default: dev.mandate).
            #[arg(long, global = $global, value_name = "DOMAIN", help_heading = MACHINE)]
            pub domain: Option<String>,
            /// Use this setting schema instead of the bundled agent policy schema.
            #[arg(long, global = $global, value_name = "FILE", help_heading = MACHINE)]
            pub schema: Option<PathBuf>,
            /// Look for the project file from DIR instead of the working directory.
            #[arg(short = 'C', global = $global, value_name = "DIR", help_heading = MACHINE)]
            pub cwd: Option<PathBuf>,
            /// Set a value for this invocation only (the `session` source); repeatable.
            #[arg(short = 'c', global = $global, value_name = "KEY=VALUE", help_heading = MACHINE)]
            pub config: Vec<String>,
            /// Under --root: whose user config and per-user managed preferences to read.
            #[arg(long, global = $global, value_name = "NAME", help_heading = MACHINE)]
            pub user: Option<String>,
        }
    };
}

machine_options!(
    /// The machine options given before the command name: accepted by
    /// every command, refused by the admin commands that do not use them.
    TopMachine,
    global = false
);
machine_options!(
    /// The machine options of a command that reads a machine, after its
    /// name (and, for a group such as `state`, after any of its commands').
    Machine,
    global = true
);

impl Machine {
    /// These options, with `top` (given before the command name) filling
    /// whatever was not given after it.
    fn or(&self, top: &TopMachine) -> TopMachine {
        TopMachine {
            root: self.root.clone().or_else(|| top.root.clone()),
            platform: self.platform.or(top.platform),
            domain: self.domain.clone().or_else(|| top.domain.clone()),
            schema: self.schema.clone().or_else(|| top.schema.clone()),
            cwd: self.cwd.clone().or_else(|| top.cwd.clone()),
            config: if self.config.is_empty() {
                top.config.clone()
            } else {
                self.config.clone()
            },
            user: self.user.clone().or_else(|| top.user.clone()),
        }
    }
}

/// The output options, which every command takes.
#[derive(Debug, Clone, Args)]
struct OutputOptions {
    /// Print data as JSON.
    #[arg(long, global = true, help_heading = OUTPUT)]
    json: bool,
    /// When to colour status words and refusals: auto (on a terminal, unless NO_COLOR is set),
    /// always or never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN",
        help_heading = OUTPUT
    )]
    color: style::ColorChoice,
}

/// A command that reads a machine: its own arguments, then the machine options.
#[derive(Debug, Args)]
struct Reads<A: Args> {
    #[command(flatten)]
    args: A,
    #[command(flatten)]
    machine: Machine,
}

/// A group of commands that read a machine (`state`, `project`, `audit`).
#[derive(Debug, Args)]
struct ReadsGroup<S: Subcommand> {
    #[command(subcommand)]
    command: S,
    #[command(flatten)]
    machine: Machine,
}

/// No arguments of its own.
#[derive(Debug, Args)]
struct NoArgs {}

/// `--schema` for `sign`: the policy is checked against it before signing.
#[derive(Debug, Clone, Default, Args)]
pub struct SchemaOption {
    /// Check the policy against this setting schema instead of the bundled one.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
}

/// `--schema` and `--domain` for `package`: the profile or Jamf schema is
/// built for them.
#[derive(Debug, Clone, Default, Args)]
pub struct PackageOptions {
    /// Build for this setting schema instead of the bundled one.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// The preferences domain the profile forces (default: dev.mandate).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
}

/// Options every command sees, once parsed: the machine options (given
/// before the command name, or after the name of one that reads a machine)
/// and the output options.
#[derive(Debug, Clone)]
pub struct Globals {
    /// `--root DIR`.
    pub root: Option<PathBuf>,
    /// `--platform`.
    pub platform: Option<Platform>,
    /// `--domain`, or the default domain.
    pub domain: String,
    /// `--schema FILE`.
    pub schema: Option<PathBuf>,
    /// `-C DIR`.
    pub cwd: Option<PathBuf>,
    /// `-c KEY=VALUE`, in order.
    pub config: Vec<String>,
    /// `--user NAME`.
    pub user: Option<String>,
    /// `--json`.
    pub json: bool,
    /// `--color`.
    pub color: style::ColorChoice,
}

impl Globals {
    fn new(machine: TopMachine, output: &OutputOptions) -> Globals {
        Globals {
            root: machine.root,
            platform: machine.platform,
            domain: machine
                .domain
                .unwrap_or_else(|| mandate::paths::DEFAULT_DOMAIN.to_owned()),
            schema: machine.schema,
            cwd: machine.cwd,
            config: machine.config,
            user: machine.user,
            json: output.json,
            color: output.color,
        }
    }

    /// The library options these flags describe.
    pub fn options(&self) -> Options {
        Options {
            root: self.root.clone(),
            // Under --root, a tree holding one platform's paths names it.
            platform: self
                .platform
                .or_else(|| self.root.as_deref().and_then(Platform::infer_under))
                .unwrap_or_else(Platform::current),
            domain: self.domain.clone(),
            schema: self.schema.clone(),
            cwd: self.cwd.clone(),
            session: self.config.clone(),
            user: self.user.clone(),
            scope: mandate::Scope::Caller,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the effective configuration, with where each value came from.
    Show(Reads<commands::inspect::ShowArgs>),
    /// Print one effective value (exit 1 when it is unset).
    Get(Reads<commands::inspect::GetArgs>),
    /// Explain a setting: every layer's say, what was refused and why, who set each constraint.
    Explain(Reads<commands::inspect::ExplainArgs>),
    /// Would KEY=VALUE be accepted? Exit 0 if so, 1 with the reason if not.
    Check(Reads<commands::inspect::CheckArgs>),
    /// List every source: where it is, its status, and why.
    Sources(Reads<NoArgs>),
    /// Check policy and settings files against the schema.
    Validate(Reads<commands::validate::ValidateArgs>),
    /// Print the setting schema (JSON Schema with x-mandate annotations).
    Schema(Reads<NoArgs>),
    /// List every setting: type, default, lockdown value, values or merge.
    Settings(Reads<NoArgs>),
    /// Check the health of the whole set-up and suggest fixes.
    Doctor(Reads<NoArgs>),
    /// Lay out the bundled demo machine and show its effective configuration.
    Demo(commands::demo::DemoArgs),
    /// Generate signing keys.
    #[command(subcommand)]
    Keys(commands::trust::KeysCommand),
    /// Build, rotate and verify the trust root.
    #[command(subcommand)]
    Trust(commands::trust::TrustCommand),
    /// Sign a policy document into a bundle.
    Sign(commands::trust::SignArgs),
    /// Verify a bundle against a trust root, or ask whether this machine would accept a file.
    Verify(Reads<commands::trust::VerifyArgs>),
    /// Print a bundle's verified policy text (or a policy file) with line numbers.
    Cat(Reads<commands::staged::CatArgs>),
    /// Write the machine's effective configuration and each governed agent's managed files (root).
    Apply(Reads<commands::apply::ApplyArgs>),
    /// Show the governed agents, their versions, and how each enforces every setting.
    Agents(Reads<NoArgs>),
    /// Build configuration profiles and Jamf schemas for MDM.
    #[command(subcommand)]
    Package(commands::package::PackageCommand),
    /// Lay a signed bundle out for a static web server, bucket or CDN.
    Publish(commands::cloud::PublishArgs),
    /// Fetch the cloud bundle over HTTPS, verify it and replace the cache (root).
    Sync(Reads<commands::cloud::SyncArgs>),
    /// Inspect or repair the rollback state (root): retire a bundle, recover from a clock that ran ahead.
    State(ReadsGroup<commands::state::StateCommand>),
    /// Trust a project's .mandate.toml (or stop trusting it) in your user config.
    Project(ReadsGroup<commands::project::ProjectCommand>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::meta::CompletionsArgs),
    /// Print the man page, or write one per command with --output DIR.
    Man(commands::meta::ManArgs),
    /// Decide one action: exit 0 allow, 1 deny, 4 prompt.
    Decide(Reads<commands::decide::DecideArgs>),
    /// Answer an agent's pre-tool hook on stdin/stdout (claude, codex, gemini).
    Hook(Reads<commands::hook::HookArgs>),
    /// Read the audit log.
    Audit(ReadsGroup<commands::audit::AuditCommand>),
}

impl Command {
    /// The machine options given after the command name, for a command
    /// that reads a machine; `sign` and `package` bring their own
    /// `--schema` (and `--domain`) as machine options too.
    fn machine(&self) -> Option<Machine> {
        use commands::package::PackageCommand as P;
        Some(match self {
            Command::Show(r) => r.machine.clone(),
            Command::Get(r) => r.machine.clone(),
            Command::Explain(r) => r.machine.clone(),
            Command::Check(r) => r.machine.clone(),
            Command::Validate(r) => r.machine.clone(),
            Command::Verify(r) => r.machine.clone(),
            Command::Cat(r) => r.machine.clone(),
            Command::Apply(r) => r.machine.clone(),
            Command::Sync(r) => r.machine.clone(),
            Command::Decide(r) => r.machine.clone(),
            Command::Hook(r) => r.machine.clone(),
            Command::Sources(r)
            | Command::Schema(r)
            | Command::Settings(r)
            | Command::Doctor(r)
            | Command::Agents(r) => r.machine.clone(),
            Command::State(g) => g.machine.clone(),
            Command::Project(g) => g.machine.clone(),
            Command::Audit(g) => g.machine.clone(),
            Command::Package(P::InstallPreview(a)) => a.machine.clone(),
            Command::Package(P::Mobileconfig(commands::package::MobileconfigArgs {
                package,
                ..
            }))
            | Command::Package(P::JamfSchema(commands::package::JamfSchemaArgs {
                package, ..
            })) => Machine {
                schema: package.schema.clone(),
                domain: package.domain.clone(),
                ..Machine::default()
            },
            Command::Sign(a) => Machine {
                schema: a.schema.schema.clone(),
                ..Machine::default()
            },
            Command::Demo(_)
            | Command::Keys(_)
            | Command::Trust(_)
            | Command::Publish(_)
            | Command::Completions(_)
            | Command::Man(_) => return None,
        })
    }
}

/// The admin commands, which work on files rather than a machine, and what
/// they take of the machine options.
fn admin_command(command: &Command) -> Option<(&'static str, commands::scope::Takes)> {
    use commands::scope::Takes;
    Some(match command {
        Command::Keys(_) => ("keys", Takes::Nothing),
        Command::Trust(_) => ("trust", Takes::Nothing),
        Command::Sign(_) => ("sign", Takes::SchemaAndDomain),
        Command::Publish(_) => ("publish", Takes::Nothing),
        Command::Package(commands::package::PackageCommand::InstallPreview(_)) => return None,
        Command::Package(_) => ("package", Takes::SchemaAndDomain),
        Command::Completions(_) => ("completions", Takes::Nothing),
        Command::Man(_) => ("man", Takes::Nothing),
        _ => return None,
    })
}

/// The command line, parsed. The command definition clap builds for it is
/// left to process exit: freeing it costs as much as a small command's work.
fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    let parsed = command
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|matches| Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command)));
    std::mem::forget(command);
    parsed
}

fn main() -> ExitCode {
    let json = std::env::args_os().any(|a| a == "--json");
    let cli = match parse() {
        Ok(cli) => cli,
        // A machine option after the name of a command that does not read
        // a machine: the command's own refusal, with its hint.
        Err(e) if let Some(refusal) = commands::scope::unknown_machine_option(&e) => {
            return if json {
                refusal.report_json()
            } else {
                refusal.report()
            };
        }
        // A command line that does not parse, under --json: say so in JSON too.
        Err(e) if e.use_stderr() && json => {
            let message = e.kind().to_string();
            let _ = e.print();
            return CliError::usage(message).report_json_only();
        }
        Err(e) => e.exit(),
    };
    let machine = match cli.command.machine() {
        Some(after) => after.or(&cli.machine),
        None => cli.machine.clone(),
    };
    let globals = Globals::new(machine, &cli.output);
    style::init(globals.color);
    for (key, times) in mandate::layer::repeated_session_keys(&globals.config) {
        output::error(&format!(
            "warning: -c {key} is given {times} times; the last one wins"
        ));
    }
    if let Some((name, takes)) = admin_command(&cli.command)
        && let Err(e) = commands::scope::check(&globals, name, takes)
    {
        return if globals.json {
            e.report_json()
        } else {
            e.report()
        };
    }
    let result = match &cli.command {
        Command::Show(r) => commands::inspect::show(&globals, &r.args),
        Command::Get(r) => commands::inspect::get(&globals, &r.args),
        Command::Explain(r) => commands::inspect::explain(&globals, &r.args),
        Command::Check(r) => commands::inspect::check(&globals, &r.args),
        Command::Sources(_) => commands::inspect::sources(&globals),
        Command::Validate(r) => commands::validate::run(&globals, &r.args),
        Command::Schema(_) => commands::inspect::schema(&globals),
        Command::Settings(_) => commands::settings::run(&globals),
        Command::Doctor(_) => commands::doctor::run(&globals),
        Command::Demo(args) => commands::demo::run(&globals, args),
        Command::Keys(cmd) => commands::trust::keys(&globals, cmd),
        Command::Trust(cmd) => commands::trust::trust(&globals, cmd),
        Command::Sign(args) => commands::trust::sign(&globals, args),
        Command::Verify(r) => commands::trust::verify(&globals, &r.args),
        Command::Cat(r) => commands::staged::cat(&globals, &r.args),
        Command::Apply(r) => commands::apply::run(&globals, &r.args),
        Command::Agents(_) => commands::agents::run(&globals),
        Command::Package(cmd) => commands::package::run(&globals, cmd),
        Command::Publish(args) => commands::cloud::publish(&globals, args),
        Command::Sync(r) => commands::cloud::sync(&globals, &r.args),
        Command::State(g) => commands::state::run(&globals, &g.command),
        Command::Project(g) => commands::project::run(&globals, &g.command),
        Command::Completions(args) => commands::meta::completions(Cli::command(), args),
        Command::Man(args) => commands::meta::man(Cli::command(), args),
        Command::Decide(r) => commands::decide::run(&globals, &r.args),
        Command::Hook(r) => commands::hook::run(&globals, &r.args),
        Command::Audit(g) => commands::audit::run(&globals, &g.command),
    };
    match result {
        Ok(code) => code,
        Err(e) if globals.json => e.report_json(),
        Err(e) => e.report(),
    }
}
