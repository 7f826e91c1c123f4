//! `mandate apply`: writes the machine's effective configuration where
//! agents read it: `effective.json` in the state directory, and each governed
//! agent's own managed files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mandate::agents::install::{Drift, InstallError, Installer, Outcome};
use mandate::agents::{self, AgentKind, RenderContext, RenderedFile, Support};
use mandate::resolve::Effective;
use mandate::{Environment, Resolver, Scope};

use crate::error::{EXIT_DEGRADED, EXIT_NO};
use crate::{CliError, Globals, output};

/// The file `apply` writes in the state directory.
pub const EFFECTIVE_FILE: &str = "effective.json";

/// `mandate apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Print what would be written instead of writing it.
    #[arg(long, conflicts_with_all = ["check", "remove"])]
    pub dry_run: bool,
    /// Write nothing; exit 1 and show a diff when an agent's managed file
    /// was edited, removed or is not what the policy renders now.
    #[arg(long, conflicts_with = "remove")]
    pub check: bool,
    /// Remove every agent file `apply` wrote (putting back any file it took over).
    #[arg(long)]
    pub remove: bool,
}

/// Resolves the machine: managed layers and defaults, never a user's config,
/// a project file or `-c`.
pub fn resolve_machine(globals: &Globals) -> Result<(Resolver, Effective), CliError> {
    let mut options = globals.options();
    options.scope = Scope::Machine;
    options.session.clear();
    options.cwd = None;
    options.user = None;
    let resolver = Resolver::with_schema_file(options)?;
    let effective = resolver.resolve(&Environment::capture())?;
    Ok((resolver, effective))
}

fn refuse_caller_options(globals: &Globals) -> Result<(), CliError> {
    let mut given = Vec::new();
    if !globals.config.is_empty() {
        given.push("-c");
    }
    if globals.cwd.is_some() {
        given.push("-C");
    }
    if globals.user.is_some() {
        given.push("--user");
    }
    if given.is_empty() {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "apply does not take {}: it renders the machine's managed policy and defaults for every user, never one person's session, project or config",
        given.join(", ")
    ))
    .hint("`mandate show` with those options shows what one user gets"))
}

/// The `mandate` executable to register as the agents' managed hook.
fn mandate_exe() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_else(|| PathBuf::from("/usr/bin/mandate"))
}

/// What rendering every governed agent gave.
pub struct Rendered {
    /// Every file to install.
    pub files: Vec<RenderedFile>,
    /// One line per agent, for people.
    pub lines: Vec<String>,
    /// Agents that could not be rendered (their files are kept as they are).
    pub failed: Vec<AgentKind>,
    /// Errors, one per failed agent.
    pub errors: Vec<String>,
}

/// Renders every governed agent's files for `effective`.
pub fn render_all(resolver: &Resolver, effective: &Effective) -> Rendered {
    let env = Environment::capture();
    let cx = RenderContext {
        platform: resolver.options().platform,
        mandate: mandate_exe(),
    };
    let mut out = Rendered {
        files: Vec::new(),
        lines: Vec::new(),
        failed: Vec::new(),
        errors: Vec::new(),
    };
    for status in agents::survey(effective, &env.search_path) {
        if !status.governed.is_governed() {
            continue;
        }
        let kind = status.agent;
        let agent = kind.agent();
        let version = match (&status.detection.version, status.support) {
            (Some(v), Some(Support::TooOld)) => {
                out.failed.push(kind);
                out.errors.push(format!(
                    "{kind} {v} is older than {}, the first version whose managed-file format mandate knows; its files are left as they are",
                    agent.min_version()
                ));
                continue;
            }
            (Some(v), Some(Support::Newer)) => format!(
                "{v} (newer than the tested {}; check it with `mandate agents`)",
                agent.tested_version()
            ),
            (Some(v), _) => v.to_string(),
            (None, _) if status.detection.installed() => "version unknown".into(),
            (None, _) => "not installed".into(),
        };
        match agents::render_checked(agent, effective, &cx) {
            Ok(files) => {
                out.lines
                    .push(format!("{kind} ({version}): {} file(s)", files.len()));
                out.files.extend(files);
            }
            Err(e) => {
                out.failed.push(kind);
                out.errors.push(format!(
                    "{e}; nothing was installed for {kind} and its previous files are kept"
                ));
            }
        }
    }
    out
}

/// Resolves the machine and writes `<state dir>/effective.json` and every
/// governed agent's files atomically (mode 0644). A degraded resolution is
/// still written (lockdown values are what agents must obey) and exits 3.
pub fn run(globals: &Globals, args: &ApplyArgs) -> Result<ExitCode, CliError> {
    refuse_caller_options(globals)?;
    let (resolver, effective) = resolve_machine(globals)?;
    let tree = resolver.tree()?;
    let state_dir = resolver.options().platform.state_dir();
    let installer = Installer::new(resolver.options().root.clone(), state_dir.clone());
    let install_error = |e: InstallError| CliError::degraded(e.to_string()).hint("run as root");

    if args.remove {
        let steps = installer.remove_all().map_err(install_error)?;
        if globals.json {
            output::json(&serde_json::json!({ "removed": steps }))?;
        } else if steps.is_empty() {
            output::out("nothing to remove: apply has written no agent file here");
        } else {
            let lines: Vec<String> = steps
                .iter()
                .map(|s| {
                    let what = match s.outcome {
                        Outcome::Gone => "already gone",
                        _ => "removed",
                    };
                    format!("{what} {}", installer.real(&s.path).display())
                })
                .collect();
            output::out(&lines.join("\n"));
        }
        return Ok(ExitCode::SUCCESS);
    }

    let rendered = render_all(&resolver, &effective);
    for e in &rendered.errors {
        output::error(&format!("error: {e}"));
    }

    if args.check {
        let drifts = installer.check(&rendered.files).map_err(install_error)?;
        if globals.json {
            output::json(&serde_json::json!({ "drift": drifts }))?;
        } else if drifts.is_empty() {
            output::out(&format!(
                "no drift: {} agent file(s) are as the policy renders them",
                rendered.files.len()
            ));
        } else {
            let mut text = String::new();
            for d in &drifts {
                let path = installer.real(&d.path);
                let path = path.display();
                match &d.drift {
                    Drift::Missing => text.push_str(&format!("missing: {path}\n")),
                    Drift::Foreign => text.push_str(&format!(
                        "not written by mandate: {path} (apply leaves it alone unless agents.takeover = true)\n"
                    )),
                    Drift::Stale => text.push_str(&format!(
                        "no longer rendered: {path} (apply removes it)\n"
                    )),
                    Drift::Differs { diff, edited } => {
                        let why = if *edited {
                            "edited since apply wrote it"
                        } else {
                            "the policy now renders it differently"
                        };
                        text.push_str(&format!(
                            "differs: {path} ({why})\n--- on disk\n+++ rendered\n{diff}"
                        ));
                    }
                }
            }
            text.push_str("run `mandate apply` to restore");
            output::out(&text);
        }
        return Ok(ExitCode::from(if drifts.is_empty() {
            if rendered.errors.is_empty() {
                0
            } else {
                EXIT_DEGRADED
            }
        } else {
            EXIT_NO
        }));
    }

    let path = tree.real(&state_dir).join(EFFECTIVE_FILE);
    let mut json =
        mandate::json::to_vec_pretty(&effective).map_err(|e| CliError::usage(e.to_string()))?;
    json.push(b'\n');
    if args.dry_run {
        output::out(&String::from_utf8_lossy(&json));
        for f in &rendered.files {
            output::out(&format!(
                "# {}\n{}",
                installer.real(&f.path).display(),
                f.text()
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }

    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::degraded(format!("{}: {e}", dir.display())))?;
    }
    mandate::atomic::write_atomic(&path, &json, 0o644).map_err(|e| {
        CliError::degraded(format!("{}: cannot write: {e}", path.display())).hint("run as root")
    })?;
    let takeover = effective.get_bool("agents.takeover").unwrap_or(false);
    let steps = installer
        .install(&rendered.files, takeover, &rendered.failed)
        .map_err(install_error)?;
    let refused: Vec<_> = steps
        .iter()
        .filter(|s| s.outcome == Outcome::Refused)
        .collect();
    let mut wrote = vec![path.display().to_string()];
    wrote.extend(
        steps
            .iter()
            .filter(|s| {
                matches!(
                    s.outcome,
                    Outcome::Created | Outcome::Updated | Outcome::TakenOver { .. }
                )
            })
            .map(|s| installer.real(&s.path).display().to_string()),
    );
    crate::commands::decide::after_operation(
        globals,
        &resolver,
        "apply",
        Some(&effective),
        mandate::json!({ "wrote": wrote }),
    );
    if globals.json {
        output::json(&serde_json::json!({
            "effective": path,
            "status": effective.status,
            "digest": effective.digest,
            "agents": rendered.lines,
            "files": steps,
            "errors": rendered.errors,
        }))?;
    } else {
        let mut text = format!(
            "wrote {} (status {}, digest {})",
            path.display(),
            crate::render::status_name(&effective),
            effective.digest
        );
        for line in &rendered.lines {
            text.push_str(&format!("\n{line}"));
        }
        for s in &steps {
            let real = installer.real(&s.path);
            let what = match &s.outcome {
                Outcome::Created => "created".to_owned(),
                Outcome::Updated => "updated".to_owned(),
                Outcome::Unchanged => "unchanged".to_owned(),
                Outcome::TakenOver { backup } => format!(
                    "took over (the previous file is kept at {})",
                    installer.real(backup).display()
                ),
                Outcome::Refused => "left alone (not written by mandate)".to_owned(),
                Outcome::Removed => "removed (no longer rendered)".to_owned(),
                Outcome::Gone => "already gone".to_owned(),
            };
            text.push_str(&format!("\n  {what}: {}", real.display()));
        }
        output::out(&text);
    }
    for s in &refused {
        output::error(&format!(
            "error: {} exists and was not written by mandate; it was left alone, so {} does not get this policy from it",
            installer.real(&s.path).display(),
            s.agent
        ));
    }
    if !refused.is_empty() {
        output::error(
            "hint: move the file aside, or set `agents.takeover = true` in managed policy to replace it (a backup is kept and `apply --remove` restores it)",
        );
    }
    if effective.is_degraded() {
        output::error(
            "error: managed policy could not be applied as written; lockdown values were written",
        );
        return Ok(ExitCode::from(EXIT_DEGRADED));
    }
    if !refused.is_empty() || !rendered.errors.is_empty() {
        return Ok(ExitCode::from(EXIT_DEGRADED));
    }
    Ok(ExitCode::SUCCESS)
}
