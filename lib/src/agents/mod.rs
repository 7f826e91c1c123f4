//! Agent adapters: the effective configuration, rendered as each coding
//! agent's own managed files.
//!
//! One module per agent ([`codex`], [`claude`], [`gemini`]), each behind the
//! [`Agent`] trait: its name, how to find its installed version, a table from
//! every mandate setting to the agent's keys with how far the agent enforces
//! it ([`Coverage`]), and [`Agent::render`], which turns an [`Effective`]
//! into the files the agent reads. Every rendered file is checked against the
//! agent's own schema ([`validate`]) before anyone installs it, and
//! [`install`] writes, checks and removes them with a manifest in the state
//! directory.
//!
//! Rendering is pure: it reads only the effective configuration and the
//! [`RenderContext`]. Detection ([`detect`]) runs the agent's `--version`.

pub mod claude;
pub mod codex;
pub mod gemini;
pub mod install;
pub mod validate;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::value::Value;
use serde::Serialize;

use crate::paths::Platform;
use crate::resolve::Effective;

/// The agents mandate governs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentKind {
    /// OpenAI Codex CLI (`@openai/codex`).
    Codex,
    /// Anthropic Claude Code (`@anthropic-ai/claude-code`).
    ClaudeCode,
    /// Google Gemini CLI (`@google/gemini-cli`).
    GeminiCli,
}

impl AgentKind {
    /// Every agent, in the order `mandate agents` lists them.
    pub const ALL: [AgentKind; 3] = [
        AgentKind::Codex,
        AgentKind::ClaudeCode,
        AgentKind::GeminiCli,
    ];

    /// The name used in `agents.enabled` and in output: `codex`, `claude-code`, `gemini-cli`.
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::Codex => "codex",
            AgentKind::ClaudeCode => "claude-code",
            AgentKind::GeminiCli => "gemini-cli",
        }
    }

    /// The agent for a name of `agents.enabled`.
    pub fn from_name(name: &str) -> Option<AgentKind> {
        AgentKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The argument of `mandate hook AGENT` for this agent.
    pub fn hook_name(self) -> &'static str {
        match self {
            AgentKind::Codex => "codex",
            AgentKind::ClaudeCode => "claude",
            AgentKind::GeminiCli => "gemini",
        }
    }

    /// The adapter.
    pub fn agent(self) -> &'static dyn Agent {
        match self {
            AgentKind::Codex => &codex::Codex,
            AgentKind::ClaudeCode => &claude::ClaudeCode,
            AgentKind::GeminiCli => &gemini::GeminiCli,
        }
    }
}

impl fmt::Display for AgentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How far an agent enforces one mandate setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    /// The agent enforces it with its own managed keys.
    Native,
    /// Enforced by `mandate hook AGENT`, registered as the agent's managed
    /// pre-tool hook (with the agent's "managed hooks only" switch where it has one).
    Hook,
    /// The agent has no way to enforce it; the policy holds only as far as
    /// the agent's defaults happen to agree.
    NotEnforceable,
}

impl Coverage {
    /// `native`, `hook` or `not enforceable`.
    pub fn label(self) -> &'static str {
        match self {
            Coverage::Native => "native",
            Coverage::Hook => "hook",
            Coverage::NotEnforceable => "not enforceable",
        }
    }
}

/// One row of an agent's mapping table.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Mapping {
    /// The mandate setting.
    pub setting: &'static str,
    /// How far the agent enforces it.
    pub coverage: Coverage,
    /// The agent's keys that carry it (file and key).
    pub keys: &'static str,
    /// What a reader needs to know: approximations, gaps, companion keys.
    pub note: &'static str,
}

/// A file rendered for an agent, at the path the agent reads on a real machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedFile {
    /// The agent it is for.
    pub agent: AgentKind,
    /// The absolute machine path, such as `/etc/codex/requirements.toml`.
    pub path: PathBuf,
    /// The exact bytes.
    pub bytes: Vec<u8>,
}

impl RenderedFile {
    /// The bytes as text (rendered files are always UTF-8).
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap_or("")
    }
}

/// What rendering needs besides the effective configuration.
#[derive(Clone, Debug)]
pub struct RenderContext {
    /// Which path table.
    pub platform: Platform,
    /// The `mandate` executable registered as each agent's managed hook
    /// (`<mandate> hook <agent>`); an absolute path, so that no user's
    /// `PATH` decides which program answers.
    pub mandate: PathBuf,
}

impl RenderContext {
    /// The hook command line for `agent`.
    pub fn hook_command(&self, agent: AgentKind) -> String {
        let exe = self.mandate.display().to_string();
        let exe = if exe.contains([' ', '\'', '"', '\\', '$', '`']) {
            format!("'{}'", exe.replace('\'', r"'\''"))
        } else {
            exe
        };
        format!("{exe} hook {}", agent.hook_name())
    }
}

/// Why an agent's files could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A rendered file does not pass the agent's schema: a bug in the
    /// adapter, or a schema that moved. Nothing is installed.
    #[error("{agent}: {path}: the rendered file does not pass {schema}: {message}")]
    Invalid {
        /// The agent.
        agent: AgentKind,
        /// The machine path of the file.
        path: PathBuf,
        /// Which schema refused it.
        schema: &'static str,
        /// The first problem, with its JSON pointer.
        message: String,
    },
    /// The agent does not run on this platform's path table.
    #[error("{agent}: no managed file location is known on {platform}")]
    Unsupported {
        /// The agent.
        agent: AgentKind,
        /// The platform.
        platform: &'static str,
    },
}

/// A version number `MAJOR.MINOR.PATCH` (serialised as that string).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Version {
    /// The first `N.N.N` in `text` (what `AGENT --version` prints).
    pub fn find(text: &str) -> Option<Version> {
        text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .find_map(|word| {
                let mut parts = word.split('.');
                let major = parts.next()?.parse().ok()?;
                let minor = parts.next()?.parse().ok()?;
                let patch = parts.next()?.parse().ok()?;
                Some(Version(major, minor, patch))
            })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Whether mandate knows the managed-file format of an agent version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Support {
    /// The version was tested with the files mandate renders.
    Tested,
    /// Newer than the tested versions: the files are rendered (formats only
    /// grow), and `mandate agents`/`doctor` say it is untested.
    Newer,
    /// Older than the first version whose format mandate knows: nothing is
    /// rendered for it.
    TooOld,
}

/// One agent adapter.
pub trait Agent: Sync {
    /// Which agent.
    fn kind(&self) -> AgentKind;

    /// The executable's name on `PATH`.
    fn executable(&self) -> &'static str;

    /// The oldest version whose managed-file format this adapter renders.
    fn min_version(&self) -> Version;

    /// The newest version tested (by `cli/tests/agents_interop.rs`).
    fn tested_version(&self) -> Version;

    /// The mapping table: one row per mandate setting.
    fn mappings(&self) -> &'static [Mapping];

    /// Renders the agent's managed files for `effective`.
    fn render(
        &self,
        effective: &Effective,
        cx: &RenderContext,
    ) -> Result<Vec<RenderedFile>, RenderError>;

    /// Every path this adapter can write on `platform` (what `apply --remove`
    /// and takeover checks consider).
    fn paths(&self, platform: Platform) -> Vec<PathBuf>;

    /// Whether a detected version is one whose format is known.
    fn support(&self, version: Version) -> Support {
        if version < self.min_version() {
            Support::TooOld
        } else if (version.0, version.1) > (self.tested_version().0, self.tested_version().1) {
            Support::Newer
        } else {
            Support::Tested
        }
    }

    /// The coverage of one setting.
    fn coverage(&self, setting: &str) -> Option<&'static Mapping> {
        self.mappings().iter().find(|m| m.setting == setting)
    }
}

/// Renders and validates every file of `agent`.
pub fn render_checked(
    agent: &dyn Agent,
    effective: &Effective,
    cx: &RenderContext,
) -> Result<Vec<RenderedFile>, RenderError> {
    let files = agent.render(effective, cx)?;
    for file in &files {
        validate::check(file)?;
    }
    Ok(files)
}

/// An agent found (or not) on this machine.
#[derive(Clone, Debug, Serialize)]
pub struct Detection {
    /// The executable, when found on the search path.
    pub path: Option<PathBuf>,
    /// Its version, when `--version` printed one.
    pub version: Option<Version>,
    /// What went wrong running `--version`, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl Detection {
    /// Whether the executable was found.
    pub fn installed(&self) -> bool {
        self.path.is_some()
    }
}

/// How long `AGENT --version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// Looks for the agent's executable in `search_path` and asks it for its
/// version. Never fails: what could not be found out is in the result.
pub fn detect(agent: &dyn Agent, search_path: &[PathBuf]) -> Detection {
    let Some(path) = find_executable(agent.executable(), search_path) else {
        return Detection {
            path: None,
            version: None,
            problem: None,
        };
    };
    let (version, problem) = match run_version(&path, search_path) {
        Ok(out) => match Version::find(&out) {
            Some(v) => (Some(v), None),
            None => (
                None,
                Some(format!("`--version` printed no version: {}", out.trim())),
            ),
        },
        Err(e) => (None, Some(e)),
    };
    Detection {
        path: Some(path),
        version,
        problem,
    }
}

fn find_executable(name: &str, search_path: &[PathBuf]) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    search_path.iter().map(|dir| dir.join(name)).find(|p| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

fn run_version(path: &Path, search_path: &[PathBuf]) -> Result<String, String> {
    let joined = std::env::join_paths(search_path).map_err(|e| e.to_string())?;
    let mut child = Command::new(path)
        .arg("--version")
        .env("PATH", joined)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {} --version: {e}", path.display()))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > VERSION_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} --version did not finish within {}s",
                    path.display(),
                    VERSION_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Why an agent is governed or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Governed {
    /// Listed in `agents.enabled`.
    Listed,
    /// `agents.enabled` is unset and the agent is installed.
    Installed,
    /// Not listed in `agents.enabled`.
    NotListed,
    /// `agents.enabled` is unset and the agent is not installed.
    NotInstalled,
}

impl Governed {
    /// Whether `apply` writes the agent's files.
    pub fn is_governed(self) -> bool {
        matches!(self, Governed::Listed | Governed::Installed)
    }
}

/// One agent on this machine: found or not, governed or not.
#[derive(Clone, Debug, Serialize)]
pub struct AgentStatus {
    /// Which agent.
    pub agent: AgentKind,
    /// What detection found.
    pub detection: Detection,
    /// Whether mandate's format knowledge covers the detected version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support: Option<Support>,
    /// Whether `apply` governs it, and why.
    pub governed: Governed,
}

/// Every agent: detected in `search_path`, and governed per `agents.enabled`
/// (unset: the installed ones).
pub fn survey(effective: &Effective, search_path: &[PathBuf]) -> Vec<AgentStatus> {
    let enabled = effective.get_strings("agents.enabled");
    AgentKind::ALL
        .into_iter()
        .map(|kind| {
            let agent = kind.agent();
            let detection = detect(agent, search_path);
            let governed = match &enabled {
                Some(list) if list.contains(&kind.name()) => Governed::Listed,
                Some(_) => Governed::NotListed,
                None if detection.installed() => Governed::Installed,
                None => Governed::NotInstalled,
            };
            AgentStatus {
                agent: kind,
                support: detection.version.map(|v| agent.support(v)),
                detection,
                governed,
            }
        })
        .collect()
}

/// A vendor channel that takes precedence over the files mandate writes.
#[derive(Clone, Debug, Serialize)]
pub struct VendorChannel {
    /// The agent.
    pub agent: AgentKind,
    /// The user whose home holds it.
    pub user: String,
    /// The machine path of what was found.
    pub path: PathBuf,
    /// What it means.
    pub note: &'static str,
}

/// Looks in every home directory for vendor channels that outrank the
/// rendered files: today Claude Code's cache of server-managed settings
/// (`~/.claude/remote-settings.json`), which Claude Code applies *instead
/// of* `managed-settings.json` when it holds any policy key. `root` is
/// `--root` (`None`: `/`).
pub fn vendor_channels(root: Option<&Path>, platform: Platform) -> Vec<VendorChannel> {
    let real = |p: &Path| match root {
        Some(r) => r.join(p.strip_prefix("/").unwrap_or(p)),
        None => p.to_path_buf(),
    };
    let homes_dir = platform.home_under_root("");
    let mut homes: Vec<(String, PathBuf)> = std::fs::read_dir(real(&homes_dir))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name.clone(), homes_dir.join(name))
        })
        .collect();
    if platform == Platform::Linux {
        homes.push(("root".into(), PathBuf::from("/root")));
    }
    homes.sort();
    let mut found = Vec::new();
    for (user, home) in homes {
        let path = home.join(".claude/remote-settings.json");
        if std::fs::metadata(real(&path)).is_ok_and(|m| m.is_file() && m.len() > 2) {
            found.push(VendorChannel {
                agent: AgentKind::ClaudeCode,
                user,
                path,
                note: "Claude Code server-managed settings (claude.ai admin console or gateway) are cached here; when they hold any policy key Claude Code uses them and ignores managed-settings.json for this user",
            });
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Reading the effective configuration, for the adapters.

/// The values of an enum setting that the machine's requirements admit, in
/// the setting's order (strictest first); `None` when nothing constrains it.
///
/// Held at its lockdown value, a setting admits only that value.
pub fn admitted(effective: &Effective, key: &str, order: &[&str]) -> Option<Vec<String>> {
    let report = effective.keys.get(key)?;
    if report.source == "lockdown" {
        return report.value.as_str().map(|v| vec![v.to_owned()]);
    }
    let c = report.constraint.as_ref()?;
    let rank = |v: &Value| v.as_str().and_then(|s| order.iter().position(|o| *o == s));
    let strings = |v: Option<&Value>| -> Option<Vec<String>> {
        v?.as_array().map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
    };
    let pinned = c.get("value").and_then(Value::as_str);
    let allowed = strings(c.get("allowed"));
    let denied = strings(c.get("denied")).unwrap_or_default();
    let min = c.get("min").and_then(rank);
    let max = c.get("max").and_then(rank);
    let constrains = pinned.is_some()
        || allowed.is_some()
        || !denied.is_empty()
        || min.is_some()
        || max.is_some();
    if !constrains {
        return None;
    }
    Some(
        order
            .iter()
            .enumerate()
            .filter(|(i, v)| {
                pinned.is_none_or(|p| p == **v)
                    && allowed.as_ref().is_none_or(|a| a.iter().any(|x| x == *v))
                    && !denied.iter().any(|x| x == *v)
                    && min.is_none_or(|m| *i >= m)
                    && max.is_none_or(|m| *i <= m)
            })
            .map(|(_, v)| (*v).to_owned())
            .collect(),
    )
}

/// Whether managed policy constrains `key` (any requirement, or lockdown).
pub fn is_constrained(effective: &Effective, key: &str) -> bool {
    effective.keys.get(key).is_some_and(|r| {
        r.source == "lockdown"
            || r.locked
            || r.constraint
                .as_ref()
                .is_some_and(|c| c.keys().any(|op| op != "sources" && op != "default"))
    })
}

/// The effective value of a list setting, or `None` when unset.
pub fn list<'e>(effective: &'e Effective, key: &str) -> Option<&'e Vec<Value>> {
    effective.get(key)?.as_array()
}

/// The effective value of a list-of-strings setting (empty when unset).
pub fn strings(effective: &Effective, key: &str) -> Vec<String> {
    effective
        .get_strings(key)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The effective domain list `key` in canonical form (lower case, IDNA as
/// punycode, no trailing dot; `*.` patterns kept), duplicates removed. What
/// does not normalise is left out: the resolver has refused it already.
pub fn domains(effective: &Effective, key: &str) -> Vec<String> {
    canonical(effective, key, crate::kind::domain::normalise)
}

/// The effective path list `key` in canonical form (`.`/`..` applied,
/// no trailing `/`; `~/` kept for the agent to expand), duplicates removed.
pub fn paths(effective: &Effective, key: &str) -> Vec<String> {
    canonical(effective, key, crate::kind::path::normalise)
}

fn canonical(
    effective: &Effective,
    key: &str,
    normalise: fn(&str) -> Result<String, crate::kind::KindError>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in strings(effective, key) {
        if let Ok(c) = normalise(&raw)
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    out
}

/// A command rule of `commands.rules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRule {
    /// The leading tokens.
    pub pattern: Vec<String>,
    /// `allow`, `prompt` or `forbidden`.
    pub decision: String,
    /// Why, when given.
    pub justification: Option<String>,
}

/// The effective `commands.rules`.
pub fn command_rules(effective: &Effective) -> Vec<CommandRule> {
    list(effective, "commands.rules")
        .into_iter()
        .flatten()
        .filter_map(|rule| {
            let pattern: Vec<String> = rule
                .get("pattern")?
                .as_array()?
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<_>>()?;
            Some(CommandRule {
                pattern,
                decision: rule.get("decision")?.as_str()?.to_owned(),
                justification: rule
                    .get("justification")
                    .and_then(Value::as_str)
                    .filter(|j| !j.trim().is_empty())
                    .map(str::to_owned),
            })
        })
        .collect()
}

/// An MCP server of `mcp.allowed_servers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpServer {
    /// The configured name.
    pub name: String,
    /// The command of a stdio server.
    pub command: Option<String>,
    /// Its arguments, when pinned.
    pub args: Option<Vec<String>>,
    /// The URL of a remote server.
    pub url: Option<String>,
}

/// The effective `mcp.allowed_servers`; `None` when unset (no allowlist).
pub fn mcp_servers(effective: &Effective) -> Option<Vec<McpServer>> {
    let servers = list(effective, "mcp.allowed_servers")?;
    Some(
        servers
            .iter()
            .filter_map(|s| {
                Some(McpServer {
                    name: s.get("name")?.as_str()?.to_owned(),
                    command: s.get("command").and_then(Value::as_str).map(str::to_owned),
                    args: s.get("args").and_then(Value::as_array).map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    }),
                    url: s.get("url").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .collect(),
    )
}

/// Whether a model identifier names one of `agent`'s vendor's models.
///
/// `models.allowed` and `models.default` are one list for every agent, so
/// each agent gets only its own vendor's names: Claude Code `claude-*` and
/// its aliases (`sonnet`, `opus`, `haiku`, `opusplan`); Gemini CLI
/// `gemini-*`; Codex every other name (`gpt-*`, `o3`, `codex-*` …).
pub fn is_vendor_model(agent: AgentKind, model: &str) -> bool {
    let m = model.trim().to_ascii_lowercase();
    let claude =
        m.starts_with("claude") || ["sonnet", "opus", "haiku", "opusplan"].contains(&m.as_str());
    let gemini = m.starts_with("gemini");
    match agent {
        AgentKind::ClaudeCode => claude,
        AgentKind::GeminiCli => gemini,
        AgentKind::Codex => !claude && !gemini,
    }
}

/// `models.allowed` for `agent`'s vendor (`None` when unset).
pub fn vendor_models(effective: &Effective, agent: AgentKind) -> Option<Vec<String>> {
    Some(
        effective
            .get_strings("models.allowed")?
            .into_iter()
            .filter(|m| is_vendor_model(agent, m))
            .map(str::to_owned)
            .collect(),
    )
}

/// `models.default` when it names one of `agent`'s vendor's models.
pub fn vendor_default_model(effective: &Effective, agent: AgentKind) -> Option<&str> {
    effective
        .get_str("models.default")
        .filter(|m| is_vendor_model(agent, m))
}

/// The strictest decision first.
pub fn decision_rank(decision: &str) -> u8 {
    match decision {
        "forbidden" => 0,
        "prompt" => 1,
        _ => 2,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_what_each_agent_prints() {
        // What `--version` prints for the tested releases.
        assert_eq!(
            Version::find("codex-cli 0.171.0\n"),
            Some(Version(0, 171, 0))
        );
        assert_eq!(
            Version::find("2.1.332 (Claude Code)\n"),
            Some(Version(2, 1, 332))
        );
        assert_eq!(Version::find("0.61.0\n"), Some(Version(0, 61, 0)));
        assert_eq!(Version::find("no version here"), None);
    }

    #[test]
    fn formats_older_than_known_are_refused_and_newer_ones_flagged() {
        let codex = AgentKind::Codex.agent();
        assert_eq!(codex.support(Version(0, 170, 9)), Support::TooOld);
        assert_eq!(codex.support(Version(0, 171, 3)), Support::Tested);
        assert_eq!(codex.support(Version(0, 172, 0)), Support::Newer);
        let claude = AgentKind::ClaudeCode.agent();
        assert_eq!(claude.support(Version(2, 1, 174)), Support::TooOld);
        assert_eq!(claude.support(Version(2, 1, 400)), Support::Tested);
        assert_eq!(claude.support(Version(3, 0, 0)), Support::Newer);
    }

    #[test]
    fn hook_commands_quote_awkward_paths() {
        let cx = RenderContext {
            platform: Platform::Linux,
            mandate: PathBuf::from("/opt/my tools/mandate"),
        };
        assert_eq!(
            cx.hook_command(AgentKind::ClaudeCode),
            "'/opt/my tools/mandate' hook claude"
        );
    }
}
