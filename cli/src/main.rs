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
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Globals {
    /// Read every path under DIR instead of `/` (tests, demos, a copied machine).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Which path table to use: linux or macos (default: this machine's).
    #[arg(long, global = true, value_name = "PLATFORM")]
    pub platform: Option<Platform>,
    /// The preferences domain.
    #[arg(long, global = true, default_value = mandate::paths::DEFAULT_DOMAIN)]
    pub domain: String,
    /// Use this setting schema instead of the bundled agent policy schema.
    #[arg(long, global = true, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Look for the project file from DIR instead of the working directory.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Set a value for this invocation only (the `session` source); repeatable.
    #[arg(short = 'c', global = true, value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Under --root: whose user config and per-user managed preferences to read.
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,
    /// Print data as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// When to colour status words and refusals: auto (on a terminal, unless NO_COLOR is set),
    /// always or never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: style::ColorChoice,
}

impl Globals {
    /// The library options these flags describe.
    pub fn options(&self) -> Options {
        Options {
            root: self.root.clone(),
            platform: self.platform.unwrap_or_else(Platform::current),
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
    Show(commands::inspect::ShowArgs),
    /// Print one effective value (exit 1 when it is unset).
    Get(commands::inspect::GetArgs),
    /// Explain a setting: every layer's say, what was refused and why, who set each constraint.
    Explain(commands::inspect::ExplainArgs),
    /// Would KEY=VALUE be accepted? Exit 0 if so, 1 with the reason if not.
    Check(commands::inspect::CheckArgs),
    /// List every source: where it is, its status, and why.
    Sources,
    /// Check policy and settings files against the schema.
    Validate(commands::validate::ValidateArgs),
    /// Print the setting schema (JSON Schema with x-mandate annotations).
    Schema,
    /// List every setting: type, default, lockdown value, values or merge.
    Settings,
    /// Check the health of the whole set-up and suggest fixes.
    Doctor,
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
    /// Verify a bundle against a trust root.
    Verify(commands::trust::VerifyArgs),
    /// Write the machine's effective configuration and each governed agent's managed files (root).
    Apply(commands::apply::ApplyArgs),
    /// Show the governed agents, their versions, and how each enforces every setting.
    Agents,
    /// Build configuration profiles and Jamf schemas for MDM.
    #[command(subcommand)]
    Package(commands::package::PackageCommand),
    /// Lay a signed bundle out for a static web server, bucket or CDN.
    Publish(commands::cloud::PublishArgs),
    /// Fetch the cloud bundle over HTTPS, verify it and replace the cache (root).
    Sync(commands::cloud::SyncArgs),
    /// Inspect or repair the rollback state (root): retire a bundle, recover from a clock that ran ahead.
    #[command(subcommand)]
    State(commands::state::StateCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::meta::CompletionsArgs),
    /// Print the man page, or write one per command with --out DIR.
    Man(commands::meta::ManArgs),
    /// Decide one action: exit 0 allow, 1 deny, 4 prompt.
    Decide(commands::decide::DecideArgs),
    /// Answer an agent's pre-tool hook on stdin/stdout (claude, codex, gemini).
    Hook(commands::hook::HookArgs),
    /// Read the audit log.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    style::init(cli.globals.color);
    for (key, times) in mandate::layer::repeated_session_keys(&cli.globals.config) {
        output::error(&format!(
            "warning: -c {key} is given {times} times; the last one wins"
        ));
    }
    let result = match &cli.command {
        Command::Show(args) => commands::inspect::show(&cli.globals, args),
        Command::Get(args) => commands::inspect::get(&cli.globals, args),
        Command::Explain(args) => commands::inspect::explain(&cli.globals, args),
        Command::Check(args) => commands::inspect::check(&cli.globals, args),
        Command::Sources => commands::inspect::sources(&cli.globals),
        Command::Validate(args) => commands::validate::run(&cli.globals, args),
        Command::Schema => commands::inspect::schema(&cli.globals),
        Command::Settings => commands::settings::run(&cli.globals),
        Command::Doctor => commands::doctor::run(&cli.globals),
        Command::Demo(args) => commands::demo::run(&cli.globals, args),
        Command::Keys(cmd) => commands::trust::keys(&cli.globals, cmd),
        Command::Trust(cmd) => commands::trust::trust(&cli.globals, cmd),
        Command::Sign(args) => commands::trust::sign(&cli.globals, args),
        Command::Verify(args) => commands::trust::verify(&cli.globals, args),
        Command::Apply(args) => commands::apply::run(&cli.globals, args),
        Command::Agents => commands::agents::run(&cli.globals),
        Command::Package(cmd) => commands::package::run(&cli.globals, cmd),
        Command::Publish(args) => commands::cloud::publish(&cli.globals, args),
        Command::Sync(args) => commands::cloud::sync(&cli.globals, args),
        Command::State(cmd) => commands::state::run(&cli.globals, cmd),
        Command::Completions(args) => commands::meta::completions(Cli::command(), args),
        Command::Man(args) => commands::meta::man(Cli::command(), args),
        Command::Decide(args) => commands::decide::run(&cli.globals, args),
        Command::Hook(args) => commands::hook::run(&cli.globals, args),
        Command::Audit(cmd) => commands::audit::run(&cli.globals, cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}
