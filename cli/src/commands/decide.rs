//! `mandate decide`: one decision on one action, for people and scripts.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mandate::Environment;
use mandate::audit::{self, AuditEvent, AuditLog, Who};
use mandate::decide::{Action, Decider, Decision, McpServer};
use mandate::resolve::Effective;

use crate::{CliError, Globals, output};

/// `mandate decide`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    #[command(subcommand)]
    pub action: DecideCommand,
    /// The agent asking, as recorded in the audit log.
    #[arg(long, global = true, default_value = "cli")]
    pub agent: String,
    /// Also judge the target of a path that exists and is a symbolic link.
    #[arg(long, global = true)]
    pub resolve_symlinks: bool,
    /// Do not append the decision to the audit log.
    #[arg(long, global = true)]
    pub no_audit: bool,
}

/// What to judge.
#[derive(Debug, Subcommand)]
pub enum DecideCommand {
    /// A program and its arguments: `mandate decide exec -- git push --force`.
    Exec {
        /// The program and its arguments.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        argv: Vec<String>,
    },
    /// A shell command line, as `sh -c` would run it.
    Shell {
        /// The command line.
        line: String,
    },
    /// A URL or host.
    Url {
        /// The URL (or host).
        url: String,
    },
    /// An MCP server.
    Mcp {
        /// The name the server is configured under.
        name: String,
        /// The command a stdio server runs.
        #[arg(long)]
        command: Option<String>,
        /// One argument of that command (repeat for each, in order).
        #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
        args: Vec<String>,
        /// The URL of a remote server.
        #[arg(long)]
        url: Option<String>,
    },
    /// Reading a file.
    Read {
        /// The path (relative to the working directory, or absolute, or ~/…).
        path: String,
    },
    /// Writing a file.
    Write {
        /// The path (relative to the working directory, or absolute, or ~/…).
        path: String,
    },
}

impl DecideCommand {
    fn action(&self) -> Action {
        match self {
            DecideCommand::Exec { argv } => Action::Exec(argv.clone()),
            DecideCommand::Shell { line } => Action::Shell(line.clone()),
            DecideCommand::Url { url } => Action::Url(url.clone()),
            DecideCommand::Mcp {
                name,
                command,
                args,
                url,
            } => Action::Mcp(McpServer {
                name: name.clone(),
                command: command.clone(),
                args: (!args.is_empty()).then(|| args.clone()),
                url: url.clone(),
            }),
            DecideCommand::Read { path } => Action::Read(path.clone()),
            DecideCommand::Write { path } => Action::Write(path.clone()),
        }
    }
}

/// Everything a decision needs, loaded once per process.
pub struct Engine {
    /// The compiled configuration.
    pub decider: Decider,
    /// Where decisions are recorded.
    audit: Option<AuditLog>,
    /// Whether to copy decisions to the journal.
    journal: bool,
    env: Environment,
    /// Whether the effective configuration is degraded.
    pub degraded: bool,
}

impl Engine {
    /// Resolves the effective configuration and compiles it.
    pub fn load(globals: &Globals, resolve_symlinks: bool) -> Result<Engine, CliError> {
        let env = Environment::capture();
        let (resolver, effective) = crate::commands::inspect::resolve(globals)?;
        let cx = mandate::decide::context_for_uid(env.uid);
        let decider = effective.decider(&cx).resolve_symlinks(resolve_symlinks);
        let audit = audit_log(globals, &resolver, &effective, &env, cx.home.as_deref());
        Ok(Engine {
            decider,
            audit,
            journal: globals.root.is_none()
                && std::path::Path::new(audit::JOURNAL_SOCKET).exists(),
            degraded: effective.is_degraded(),
            env,
        })
    }

    /// The working directory decisions are made in.
    pub fn cwd(&self, globals: &Globals) -> Option<String> {
        globals
            .cwd
            .clone()
            .or_else(|| self.env.cwd.clone())
            .map(|p| p.to_string_lossy().into_owned())
    }

    /// Decides and records one action; a failure to record is reported, never fatal.
    pub fn decide(
        &self,
        action: &Action,
        cwd: Option<&str>,
        agent: &str,
        input: &str,
        record: bool,
    ) -> Decision {
        let decision = self.decider.decide(action, cwd);
        if record {
            self.record(action, agent, input, &decision);
        }
        decision
    }

    /// Appends a decision to the audit log (and the journal).
    pub fn record(&self, action: &Action, agent: &str, input: &str, decision: &Decision) {
        let who = Who {
            user: self.env.user_name.clone(),
            uid: self.env.uid,
        };
        let event = AuditEvent::decision(self.env.now, &who, Some(agent), action, input, decision);
        if let Some(log) = &self.audit
            && let Err(e) = log.append(&event)
        {
            output::error(&format!(
                "warning: the decision stands, but it was not recorded: {e}"
            ));
        }
        if self.journal {
            // Best effort: the journal may not be running.
            let _ = audit::journal(std::path::Path::new(audit::JOURNAL_SOCKET), &event);
        }
    }
}

/// The audit log this process writes: the `audit.log` setting for root, the
/// per-user log otherwise.
pub fn audit_log(
    globals: &Globals,
    resolver: &mandate::Resolver,
    effective: &Effective,
    env: &Environment,
    home: Option<&str>,
) -> Option<AuditLog> {
    let tree = resolver.tree().ok()?;
    if env.uid == 0 {
        let path = effective.get_str("audit.log")?;
        return Some(AuditLog::new(tree.real(std::path::Path::new(path))));
    }
    let home = PathBuf::from(home?);
    let path = audit::user_log_path(&home, globals.options().platform);
    Some(AuditLog::new(if globals.root.is_some() {
        tree.real(&path)
    } else {
        path
    }))
}

/// One line for people: the decision, why, and who set the rule.
pub fn human_line(d: &Decision) -> String {
    let mut line = format!("{}: {}", d.decision.name(), d.reason);
    if let Some(rule) = &d.rule {
        line.push_str(&format!(
            " [{}, set by {} at {}]",
            rule.setting, rule.source, rule.location
        ));
    }
    line
}

/// Decides one action; exit 0 allow, 1 deny, 4 prompt.
pub fn run(globals: &Globals, args: &DecideArgs) -> Result<ExitCode, CliError> {
    let engine = Engine::load(globals, args.resolve_symlinks)?;
    let action = args.action.action();
    let input = match &action {
        Action::Exec(argv) => mandate::decide::command::display(
            &argv
                .iter()
                .map(|a| mandate::decide::command::Token::Lit(a.clone()))
                .collect::<Vec<_>>(),
        ),
        Action::Shell(s) | Action::Url(s) | Action::Read(s) | Action::Write(s) => s.clone(),
        Action::Mcp(m) => m.name.clone(),
    };
    let cwd = engine.cwd(globals);
    let decision = engine.decide(&action, cwd.as_deref(), &args.agent, &input, !args.no_audit);
    if globals.json {
        output::json(&decision)?;
    } else {
        output::out(&human_line(&decision));
    }
    if engine.degraded {
        output::error(
            "warning: managed policy could not be applied as written (status: degraded); this decision uses lockdown values",
        );
    }
    Ok(ExitCode::from(decision.decision.exit_code()))
}
