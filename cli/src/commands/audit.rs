//! `mandate audit tail|query`: reading the audit log.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mandate::Environment;
use mandate::audit::{AuditEvent, AuditLog, Filter};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{CliError, Globals, output};

/// `mandate audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the last events.
    Tail(TailArgs),
    /// Print the events that pass the filters.
    Query(QueryArgs),
}

/// Which log to read.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Read this log instead of the one this user's decisions go to.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// `mandate audit tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// How many events.
    #[arg(short = 'n', long, default_value_t = 20)]
    pub lines: usize,
}

/// `mandate audit query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// Only this decision: allow, prompt or deny.
    #[arg(long, value_parser = ["allow", "prompt", "deny"])]
    pub decision: Option<String>,
    /// Only this agent (claude, codex, gemini, cli).
    #[arg(long)]
    pub agent: Option<String>,
    /// Only events whose rule or judged action contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub rule: Option<String>,
    /// Only this kind of event: decision, apply or sync.
    #[arg(long)]
    pub event: Option<String>,
    /// Only events at or after this time (RFC 3339, such as 2026-06-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
}

fn open(globals: &Globals, args: &LogArgs) -> Result<AuditLog, CliError> {
    if let Some(file) = &args.file {
        return Ok(AuditLog::new(file.clone()));
    }
    let env = Environment::capture();
    let (_, effective) = crate::commands::inspect::resolve(globals)?;
    let inputs = mandate::decide::Inputs::of(&effective);
    let cx = mandate::decide::context_for_uid(env.uid);
    crate::commands::decide::audit_log(globals, &inputs, &env, cx.home.as_deref()).ok_or_else(
        || {
            CliError::no("no audit log: audit.log is unset")
                .hint("set audit.log in managed policy, or pass --file")
        },
    )
}

fn print(globals: &Globals, events: &[&AuditEvent]) -> Result<(), CliError> {
    if globals.json {
        return output::json(&events);
    }
    let mut text = String::new();
    for e in events {
        let what = match (&e.decision, &e.judged) {
            (Some(d), Some(j)) => format!("{d} {} {j}", e.action.as_deref().unwrap_or("?")),
            _ => e.event.clone(),
        };
        let rule = match (&e.setting, &e.source) {
            (Some(s), Some(src)) => format!(" [{s}, set by {src}]"),
            _ => String::new(),
        };
        text.push_str(&format!(
            "{} {} {} {what}{rule}\n",
            e.time,
            e.user.clone().unwrap_or_else(|| e.uid.to_string()),
            e.agent.as_deref().unwrap_or("-"),
        ));
    }
    output::out(text.trim_end());
    Ok(())
}

fn read(log: &AuditLog) -> Result<Vec<AuditEvent>, CliError> {
    let (events, bad) = log
        .read()
        .map_err(|e| CliError::no(format!("{}: {e}", log.path.display())))?;
    if bad > 0 {
        output::error(&format!(
            "warning: {}: {bad} lines are not audit events and were skipped",
            log.path.display()
        ));
    }
    Ok(events)
}

/// Runs `audit tail` or `audit query`.
pub fn run(globals: &Globals, cmd: &AuditCommand) -> Result<ExitCode, CliError> {
    match cmd {
        AuditCommand::Tail(args) => {
            let events = read(&open(globals, &args.log)?)?;
            let start = events.len().saturating_sub(args.lines);
            print(globals, &events[start..].iter().collect::<Vec<_>>())?;
        }
        AuditCommand::Query(args) => {
            let since = match &args.since {
                Some(t) => Some(OffsetDateTime::parse(t, &Rfc3339).map_err(|e| {
                    CliError::usage(format!("--since {t}: {e}"))
                        .hint("use RFC 3339, such as 2026-06-01T00:00:00Z")
                })?),
                None => None,
            };
            let filter = Filter {
                decision: args.decision.clone(),
                agent: args.agent.clone(),
                rule: args.rule.clone(),
                event: args.event.clone(),
                since,
            };
            let events = read(&open(globals, &args.log)?)?;
            print(
                globals,
                &events
                    .iter()
                    .filter(|e| filter.matches(e))
                    .collect::<Vec<_>>(),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
