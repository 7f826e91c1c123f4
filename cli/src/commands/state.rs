//! `mandate state`: the root admin's tools for the rollback state.

use std::process::ExitCode;

use clap::Subcommand;
use mandate::trust::header::Channel;
use mandate::trust::state::RollbackState;

use crate::{CliError, Globals, output};

/// Changes to the rollback state (as root).
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Show the records: per channel and bundle id, the version applied and when.
    Show,
    /// Retire a bundle: CHANNEL/ID (such as system/acme-team) no longer has to be present.
    Forget {
        /// The bundle, as CHANNEL/ID.
        bundle: String,
    },
    /// After a clock that ran ahead was corrected: record now as the latest time seen.
    ResetClock,
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// Runs a `state` subcommand.
pub fn run(globals: &Globals, cmd: &StateCommand) -> Result<ExitCode, CliError> {
    let options = globals.options();
    let path = match &options.root {
        Some(root) => root.join(
            mandate::admission::state_file(options.platform)
                .strip_prefix("/")
                .unwrap_or(&mandate::admission::state_file(options.platform)),
        ),
        None => mandate::admission::state_file(options.platform),
    };
    let failed = |e: mandate::trust::state::StateError| CliError::degraded(e.to_string());
    match cmd {
        StateCommand::Show => {
            let state = RollbackState::load(&path).map_err(failed)?;
            let records: Vec<serde_json::Value> = state
                .records()
                .map(|(channel, id, r)| {
                    serde_json::json!({
                        "channel": channel.name(),
                        "id": id,
                        "version": r.version,
                        "recorded_at": rfc3339(r.recorded_at),
                    })
                })
                .collect();
            if globals.json {
                output::json(&serde_json::json!({
                    "path": path.display().to_string(),
                    "latest_seen": state.latest_seen().map(rfc3339),
                    "records": records,
                }))?;
            } else {
                let mut text = format!("{}\n", path.display());
                for r in &records {
                    text.push_str(&format!(
                        "  {}/{}  v{}  (recorded {})\n",
                        r["channel"].as_str().unwrap_or_default(),
                        r["id"].as_str().unwrap_or_default(),
                        r["version"],
                        r["recorded_at"].as_str().unwrap_or_default()
                    ));
                }
                output::out(text.trim_end());
            }
        }
        StateCommand::Forget { bundle } => {
            let (channel, id) = bundle
                .split_once('/')
                .and_then(|(c, id)| Some((Channel::from_name(c)?, id)))
                .ok_or_else(|| {
                    CliError::usage("give the bundle as CHANNEL/ID, such as system/acme-team")
                })?;
            let removed =
                RollbackState::update(&path, |s| s.forget(channel, id)).map_err(failed)?;
            if !removed {
                return Err(CliError::no(format!(
                    "{}: no record of {bundle}; `mandate state show` lists them",
                    path.display()
                )));
            }
            output::out(&format!("forgot {bundle}: it no longer has to be present"));
        }
        StateCommand::ResetClock => {
            let now = time::OffsetDateTime::now_utc();
            let was = RollbackState::update(&path, |s| s.reset_clock(now)).map_err(failed)?;
            output::out(&format!(
                "latest time seen: {} -> {} (version records kept)",
                was.map_or("none".into(), rfc3339),
                rfc3339(now)
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
