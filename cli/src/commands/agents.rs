//! `mandate agents`: the governed agents, their versions, and per setting
//! whether each enforces it natively, through the mandate hook, or not at all.

use std::process::ExitCode;

use mandate::agents::{self, AgentStatus, Coverage, Governed, Support};
use mandate::resolve::Effective;
use mandate::{Environment, Schema};
use serde::Serialize;

use crate::commands::apply::resolve_machine;
use crate::{CliError, Globals, output};

#[derive(Debug, Serialize)]
struct Row {
    setting: &'static str,
    coverage: Coverage,
    /// Whether the machine's managed policy constrains the setting.
    constrained: bool,
    keys: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    note: &'static str,
}

#[derive(Debug, Serialize)]
struct Report {
    #[serde(flatten)]
    status: AgentStatus,
    tested_version: String,
    settings: Vec<Row>,
}

fn rows(status: &AgentStatus, effective: &Effective, schema: &Schema) -> Vec<Row> {
    let agent = status.agent.agent();
    schema
        .settings()
        .filter_map(|s| agent.coverage(&s.key))
        .map(|m| Row {
            setting: m.setting,
            coverage: m.coverage,
            constrained: agents::is_constrained(effective, m.setting),
            keys: m.keys,
            note: m.note,
        })
        .collect()
}

fn governed_text(g: Governed) -> &'static str {
    match g {
        Governed::Listed => "governed (agents.enabled)",
        Governed::Installed => "governed (installed; agents.enabled is unset)",
        Governed::NotListed => "not governed (not in agents.enabled)",
        Governed::NotInstalled => "not governed (not installed; agents.enabled is unset)",
    }
}

/// Prints every agent's detection and coverage table.
pub fn run(globals: &Globals) -> Result<ExitCode, CliError> {
    let (resolver, effective) = resolve_machine(globals)?;
    let env = Environment::capture();
    let reports: Vec<Report> = agents::survey(&effective, &env.search_path)
        .into_iter()
        .map(|status| Report {
            tested_version: status.agent.agent().tested_version().to_string(),
            settings: rows(&status, &effective, resolver.schema()),
            status,
        })
        .collect();
    let channels = agents::vendor_channels(
        resolver.options().root.as_deref(),
        resolver.options().platform,
    );
    if globals.json {
        output::json(&serde_json::json!({ "agents": reports, "vendor_channels": channels }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::new();
    for r in &reports {
        let d = &r.status.detection;
        let found = match (&d.path, &d.version) {
            (Some(p), Some(v)) => format!("{v} at {}", p.display()),
            (Some(p), None) => format!(
                "version unknown at {}{}",
                p.display(),
                d.problem
                    .as_deref()
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default()
            ),
            _ => "not installed".into(),
        };
        let support = match r.status.support {
            Some(Support::Newer) => format!(", newer than the tested {}", r.tested_version),
            Some(Support::TooOld) => ", too old: apply renders nothing for it".into(),
            _ => String::new(),
        };
        text.push_str(&format!(
            "{}: {found}{support}; {}\n",
            r.status.agent,
            governed_text(r.status.governed)
        ));
        let width = r
            .settings
            .iter()
            .map(|x| x.setting.len())
            .max()
            .unwrap_or(0);
        for row in &r.settings {
            let mark = if row.constrained { "*" } else { " " };
            text.push_str(&format!(
                "  {mark} {:width$}  {:15}  {}\n",
                row.setting,
                row.coverage.label(),
                row.keys
            ));
            if !row.note.is_empty() && row.coverage != Coverage::Native {
                text.push_str(&format!("    {:width$}  {}\n", "", row.note));
            }
        }
        text.push('\n');
    }
    for c in &channels {
        text.push_str(&format!(
            "! {} for {}: {} ({})\n\n",
            c.agent,
            c.user,
            c.path.display(),
            c.note
        ));
    }
    text.push_str("* constrained by this machine's managed policy");
    output::out(&text);
    Ok(ExitCode::SUCCESS)
}

/// `doctor`'s findings about agents: `(level, what, fix)`.
pub fn doctor_findings(
    effective: &Effective,
    env: &Environment,
    root: Option<&std::path::Path>,
    platform: mandate::Platform,
) -> Vec<(&'static str, String, Option<String>)> {
    let mut out = Vec::new();
    for c in agents::vendor_channels(root, platform) {
        out.push((
            "warning",
            format!(
                "{} for {}: {} ({})",
                c.agent,
                c.user,
                c.path.display(),
                c.note
            ),
            Some(
                "manage that channel from the vendor's console too, or turn it off there"
                    .to_owned(),
            ),
        ));
    }
    for status in agents::survey(effective, &env.search_path) {
        let kind = status.agent;
        let agent = kind.agent();
        if !status.detection.installed() {
            continue;
        }
        if !status.governed.is_governed() {
            out.push((
                "warning",
                format!("{kind} is installed but not governed: it is not in agents.enabled"),
                Some("add it to agents.enabled, or uninstall it".to_owned()),
            ));
            continue;
        }
        match (status.detection.version, status.support) {
            (Some(v), Some(Support::TooOld)) => out.push((
                "error",
                format!(
                    "{kind} {v} is older than {}: apply renders nothing for it",
                    agent.min_version()
                ),
                Some(format!("upgrade {kind}")),
            )),
            (Some(v), Some(Support::Newer)) => out.push((
                "info",
                format!(
                    "{kind} {v} is newer than the tested {}",
                    agent.tested_version()
                ),
                None,
            )),
            _ => {}
        }
        for m in agent.mappings() {
            if m.coverage == Coverage::NotEnforceable
                && agents::is_constrained(effective, m.setting)
            {
                out.push((
                    "warning",
                    format!(
                        "{kind} cannot enforce {}, which managed policy constrains{}",
                        m.setting,
                        if m.note.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", m.note)
                        }
                    ),
                    Some(
                        "`mandate agents` shows every agent's coverage; see docs/agents.md"
                            .to_owned(),
                    ),
                ));
            }
        }
    }
    out
}
