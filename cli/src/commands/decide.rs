//! `mandate decide`: one decision on one action, for people and scripts.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mandate::Environment;
use mandate::Resolver;
use mandate::audit::{self, AuditEvent, AuditLog, Who};
use mandate::decide::{Action, Decider, Decision, Inputs, McpServer, snapshot};
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
    /// Resolve every layer even when the compiled snapshot is current.
    #[arg(long, global = true)]
    pub no_snapshot: bool,
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
    /// Where the configuration came from: `snapshot`, or why it was resolved.
    pub origin: String,
}

impl Engine {
    /// Loads the decision inputs — from the compiled snapshot when it stands,
    /// by resolving every layer otherwise — and compiles them.
    pub fn load(
        globals: &Globals,
        resolve_symlinks: bool,
        use_snapshot: bool,
    ) -> Result<Engine, CliError> {
        let env = Environment::capture();
        let options = globals.options();
        let snap = if use_snapshot {
            snapshot::load(&options, &env)
        } else {
            Err(snapshot::Stale("--no-snapshot".into()))
        };
        let (inputs, origin) = match snap {
            Ok(inputs) => (inputs, "snapshot".to_owned()),
            Err(stale) => {
                let resolver = Resolver::with_schema_file(options.clone())?;
                let effective = resolver.resolve(&env)?;
                // The first resolution by root leaves a snapshot for the next call.
                if use_snapshot && env.uid == 0 && snapshot::eligible(&options, &env).is_ok() {
                    write_snapshot(&resolver, &env);
                }
                (Inputs::of(&effective), format!("resolved ({stale})"))
            }
        };
        let cx = mandate::decide::context_for_uid(env.uid);
        let decider = Decider::new(&inputs, &cx).resolve_symlinks(resolve_symlinks);
        let audit = audit_log(globals, &inputs, &env, cx.home.as_deref());
        Ok(Engine {
            decider,
            audit,
            journal: globals.root.is_none() && std::path::Path::new(audit::JOURNAL_SOCKET).exists(),
            degraded: inputs.degraded,
            env,
            origin,
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
            let who = Who {
                user: self.env.user_name.clone(),
                uid: self.env.uid,
            };
            let event =
                AuditEvent::decision(self.env.now, &who, Some(agent), action, input, &decision);
            self.record(&event);
        }
        decision
    }

    /// Appends an event to the audit log (and the journal).
    fn record(&self, event: &AuditEvent) {
        if let Some(log) = &self.audit
            && let Err(e) = log.append(event)
        {
            output::error(&format!(
                "warning: the decision stands, but it was not recorded: {e}"
            ));
        }
        if self.journal {
            // Best effort: the journal may not be running.
            let _ = audit::journal(std::path::Path::new(audit::JOURNAL_SOCKET), event);
        }
    }
}

/// Writes the compiled snapshot of the machine; a failure is reported, not fatal.
fn write_snapshot(resolver: &Resolver, env: &Environment) -> Option<PathBuf> {
    let result = snapshot::machine(resolver, env)
        .map_err(|e| e.to_string())
        .and_then(|(_, snap)| snapshot::write(resolver, &snap).map_err(|e| e.to_string()));
    match result {
        Ok(path) => Some(path),
        Err(e) => {
            output::error(&format!(
                "warning: the decision snapshot was not written ({e}); decisions resolve every layer until it is"
            ));
            None
        }
    }
}

/// After `apply` or `sync` (root): refresh the decision snapshot and record
/// the operation in the audit log. Failures are reported, never fatal.
pub fn after_operation(
    globals: &Globals,
    resolver: &Resolver,
    event: &str,
    effective: Option<&Effective>,
    details: mandate::value::Value,
) {
    let env = Environment::capture();
    let snapshot_path = write_snapshot(resolver, &env);
    let Some(effective) = effective else { return };
    let inputs = Inputs::of(effective);
    let cx = mandate::decide::context_for_uid(env.uid);
    let mut details = details;
    if let (Some(map), Some(p)) = (details.as_object_mut(), &snapshot_path) {
        map.insert("snapshot".into(), p.display().to_string().into());
    }
    let who = Who {
        user: env.user_name.clone(),
        uid: env.uid,
    };
    let line = AuditEvent::operation(env.now, &who, event, &effective.digest, details);
    if let Some(log) = audit_log(globals, &inputs, &env, cx.home.as_deref())
        && let Err(e) = log.append(&line)
    {
        output::error(&format!("warning: `{event}` was not recorded: {e}"));
    }
}

/// The audit log this process writes: the `audit.log` setting for root, the
/// per-user log otherwise.
pub fn audit_log(
    globals: &Globals,
    inputs: &Inputs,
    env: &Environment,
    home: Option<&str>,
) -> Option<AuditLog> {
    let options = globals.options();
    let real = |p: &std::path::Path| -> PathBuf {
        match &options.root {
            Some(root) => {
                let mut r = root.clone();
                r.extend(
                    p.components()
                        .filter(|c| matches!(c, std::path::Component::Normal(_))),
                );
                r
            }
            None => p.to_path_buf(),
        }
    };
    if env.uid == 0 {
        let path = inputs.get("audit.log").and_then(|v| v.as_str())?;
        return Some(AuditLog::new(real(std::path::Path::new(path))));
    }
    let home = PathBuf::from(home?);
    Some(AuditLog::new(real(&audit::user_log_path(
        &home,
        options.platform,
    ))))
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

/// `decide --json`: the decision (its rule's location as everywhere else)
/// and which configuration decided it.
#[derive(serde::Serialize)]
struct DecisionJson<'a> {
    #[serde(flatten)]
    decision: &'a Decision,
    configuration: &'a str,
}

/// Decides one action; exit 0 allow, 1 deny, 4 prompt.
pub fn run(globals: &Globals, args: &DecideArgs) -> Result<ExitCode, CliError> {
    let engine = Engine::load(globals, args.resolve_symlinks, !args.no_snapshot)?;
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
        output::json(&DecisionJson {
            decision: &decision,
            configuration: &engine.origin,
        })?;
    } else {
        output::out(&human_line(&decision));
    }
    if engine.degraded {
        output::error(
            "warning: managed policy could not be applied as written (status: degraded); this decision uses lockdown values",
        );
    }
    let code = ExitCode::from(decision.decision.exit_code());
    super::inspect::release_at_exit(engine);
    Ok(code)
}
