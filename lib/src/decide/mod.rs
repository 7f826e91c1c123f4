//! Decisions at the moment of action: may this command run, this URL be
//! fetched, this MCP server start, this file be read or written?
//!
//! A [`Decider`] is compiled once from an [`Effective`] configuration — a
//! token trie over `commands.rules`, suffix indexes over the domain lists,
//! prefix indexes over the path lists — and answers any number of
//! [`Action`]s with a [`Decision`]: allow, prompt or deny, the rule that
//! decided, its justification, the source and location that set it, and the
//! normalised form of what was judged.
//!
//! ```
//! use mandate::decide::{Action, Verdict};
//! use mandate::{Layer, Schema, SourceKind, resolve};
//!
//! let schema = Schema::bundled();
//! let policy = Layer::parse_policy(&schema, SourceKind::System, "/etc/mandate/policy.d/10.toml", r#"
//! [settings]
//! commands.rules = [{ pattern = ["git", "push", "--force"], decision = "forbidden", justification = "rewrites shared history" }]
//! network.denied_domains = ["pastebin.com"]
//! "#)?;
//! let effective = resolve(&schema, vec![policy]);
//! let decider = effective.decider(&Default::default());
//! let d = decider.decide(&Action::Shell("cd repo && git -C . push --force".into()), None);
//! assert_eq!(d.decision, Verdict::Deny);
//! assert_eq!(d.rule.unwrap().source, "system");
//! let d = decider.decide(&Action::Url("https://Pastebin.COM./raw/x".into()), None);
//! assert_eq!(d.decision, Verdict::Deny);
//! # Ok::<(), mandate::Error>(())
//! ```
//!
//! What is normalised, and how, is tabulated in `docs/decisions.md`; the
//! wrapper and option tables are in [`command`], the shell parser in
//! [`shell`].

pub mod command;
pub mod shell;
pub mod snapshot;
mod trie;

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::value::Value;
use serde::{Deserialize, Serialize};

use crate::constraint::UniqueValues;
use crate::kind::{self, KindContext, Norm, NormSet, ValueKind};
use crate::resolve::{Effective, KeyReport};
use crate::source::Location;
use command::{Inner, Token};
use shell::{RedirectOp, SimpleCommand, Stdin};
use trie::CommandIndex;

/// Something an agent is about to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run a program with these arguments (`argv[0]` is the program).
    Exec(Vec<String>),
    /// Run a shell command line (as `sh -c STRING`).
    Shell(String),
    /// Fetch a URL, or connect to a host.
    Url(String),
    /// Start or call an MCP server.
    Mcp(McpServer),
    /// Read a file.
    Read(String),
    /// Write (create, change or delete) a file.
    Write(String),
}

impl Action {
    /// `exec`, `shell`, `url`, `mcp`, `read` or `write`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Exec(_) => "exec",
            Action::Shell(_) => "shell",
            Action::Url(_) => "url",
            Action::Mcp(_) => "mcp",
            Action::Read(_) => "read",
            Action::Write(_) => "write",
        }
    }
}

/// An MCP server as the agent identifies it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct McpServer {
    /// The name it is configured under.
    pub name: String,
    /// The command a stdio server runs, when known.
    pub command: Option<String>,
    /// Its arguments, when known.
    pub args: Option<Vec<String>>,
    /// The URL of a remote server, when known.
    pub url: Option<String>,
}

/// The outcome, ordered from loosest to strictest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Ask the person first.
    Prompt,
    /// Do not do it.
    Deny,
}

impl Verdict {
    /// `allow`, `prompt` or `deny`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Prompt => "prompt",
            Verdict::Deny => "deny",
        }
    }

    /// The exit code of `mandate decide`: 0 allow, 1 deny, 4 prompt.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Allow => 0,
            Verdict::Deny => 1,
            Verdict::Prompt => 4,
        }
    }

    fn of_rule(decision: &str) -> Option<Verdict> {
        match decision {
            "allow" => Some(Verdict::Allow),
            "prompt" => Some(Verdict::Prompt),
            "forbidden" => Some(Verdict::Deny),
            _ => None,
        }
    }
}

/// The rule (or setting) that decided, and who set it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    /// The setting it belongs to, such as `commands.rules`.
    pub setting: String,
    /// The entry as written (a command rule, a domain pattern, a path), or the setting's value.
    pub entry: Value,
    /// Why the rule exists, when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// The source that set it (`mdm`, `cloud`, `system`, `user`, `default` …).
    pub source: String,
    /// Where it was set (file and line, plist key …).
    #[serde(flatten)]
    pub location: Location,
}

/// The answer to one [`Action`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    /// Allow, prompt or deny.
    pub decision: Verdict,
    /// The kind of action (`exec`, `shell`, `url`, `mcp`, `read`, `write`).
    pub action: &'static str,
    /// The normalised form of what decided: the command as matched, the
    /// canonical host, the canonical path, the server name.
    pub judged: String,
    /// Why, in one sentence.
    pub reason: String,
    /// The rule that decided; `None` when no rule applies (then the decision is `allow`
    /// and the agent's own approval flow governs).
    pub rule: Option<Rule>,
    /// For commands: every command judged, normalised, after looking through
    /// wrappers and shell syntax.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// The digest of the effective configuration that decided.
    pub digest: String,
}

impl Decision {
    /// Whether a rule said so (rather than nothing applying).
    pub fn is_explicit(&self) -> bool {
        self.rule.is_some()
    }
}

/// One command rule, compiled.
#[derive(Clone, Debug)]
struct CommandRule {
    pattern: Vec<String>,
    verdict: Verdict,
    rule: Rule,
}

/// An effective configuration compiled for decisions. Build it once
/// ([`Effective::decider`]) and ask it many times.
#[derive(Clone, Debug)]
pub struct Decider {
    digest: String,
    cx: KindContext,
    commands: CommandIndex<CommandRule>,
    denied: NormSet<Rule>,
    allowed: NormSet<Rule>,
    unknown: (Verdict, Rule),
    deny_read: NormSet<Rule>,
    writable: NormSet<Rule>,
    mode: (String, Rule),
    mcp: Option<Vec<(Value, Rule)>>,
    resolve_symlinks: bool,
}

/// The normalisation context for a user: their home directory from the user
/// database (never `$HOME`, which the agent's environment could change).
pub fn context_for_uid(uid: u32) -> KindContext {
    KindContext {
        home: uzers::get_user_by_uid(uid).map(|u| {
            use uzers::os::unix::UserExt;
            u.home_dir().to_string_lossy().into_owned()
        }),
    }
}

/// The settings decisions read.
pub const DECISION_KEYS: &[&str] = &[
    "commands.rules",
    "network.allowed_domains",
    "network.denied_domains",
    "network.unknown_domains",
    "sandbox.mode",
    "sandbox.deny_read",
    "sandbox.writable_roots",
    "mcp.allowed_servers",
    "audit.log",
];

/// What a decision needs from an effective configuration: the decision
/// settings with their provenance, and the digest. This is what the compiled
/// snapshot stores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// The digest of the effective configuration.
    pub digest: String,
    /// Whether it was degraded (lockdown values in force).
    pub degraded: bool,
    /// The decision settings, by key.
    pub keys: BTreeMap<String, KeyInput>,
}

/// One setting's value and who set it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyInput {
    /// The effective value.
    pub value: Value,
    /// Who supplied it.
    pub source: String,
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// For union lists: each contributing layer's list, highest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<Contribution>,
}

/// One layer's contribution to a union list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The layer's list.
    pub value: Value,
    /// Its source.
    pub source: String,
    /// Its location.
    #[serde(flatten)]
    pub location: Location,
}

impl Inputs {
    /// The decision inputs of `effective`.
    pub fn of(effective: &Effective) -> Inputs {
        let keys = DECISION_KEYS
            .iter()
            .filter_map(|k| {
                effective
                    .keys
                    .get(*k)
                    .map(|r| ((*k).to_owned(), KeyInput::of(r)))
            })
            .collect();
        Inputs {
            digest: effective.digest.clone(),
            degraded: effective.is_degraded(),
            keys,
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.keys.get(key).map(|k| &k.value)
    }

    fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

impl KeyInput {
    fn of(r: &KeyReport) -> KeyInput {
        KeyInput {
            value: r.value.clone(),
            source: r.source.clone(),
            location: r.location.clone(),
            merged: r
                .merged
                .iter()
                .map(|m| Contribution {
                    value: m.value.clone(),
                    source: m.source.clone(),
                    location: m.location.clone(),
                })
                .collect(),
        }
    }
}

/// Who set each entry of a list setting: the highest-ranked layer whose list
/// holds it, else the setting's source. Built once per setting, so that
/// compiling many entries stays linear.
struct Provenance<'a> {
    key: &'a str,
    /// The setting's source and location (none when the setting is unset).
    fallback: (&'a str, Option<&'a Location>),
    /// Every entry of the layers' lists, first proposer first, and who that was.
    entries: UniqueValues<&'a Value>,
    by_entry: Vec<(&'a str, Option<&'a Location>)>,
}

impl<'a> Provenance<'a> {
    fn new(inputs: &'a Inputs, key: &'a str) -> Provenance<'a> {
        let mut entries = UniqueValues::default();
        let mut by_entry = Vec::new();
        let Some(k) = inputs.keys.get(key) else {
            return Provenance {
                key,
                fallback: ("default", None),
                entries,
                by_entry,
            };
        };
        for m in &k.merged {
            for item in m.value.as_array().into_iter().flatten() {
                if entries.insert_owned(item) {
                    by_entry.push((m.source.as_str(), Some(&m.location)));
                }
            }
        }
        Provenance {
            key,
            fallback: (k.source.as_str(), Some(&k.location)),
            entries,
            by_entry,
        }
    }

    fn rule(&self, entry: &Value) -> Rule {
        let (source, location) = self
            .entries
            .position(entry)
            .map_or(self.fallback, |i| self.by_entry[i]);
        Rule {
            setting: self.key.into(),
            entry: entry.clone(),
            justification: entry
                .get("justification")
                .and_then(Value::as_str)
                .map(str::to_owned),
            source: source.into(),
            location: location.map_or_else(|| Location::described("unset"), Location::clone),
        }
    }
}

fn setting_rule(inputs: &Inputs, key: &str) -> Rule {
    match inputs.keys.get(key) {
        Some(r) => Rule {
            setting: key.into(),
            entry: r.value.clone(),
            justification: None,
            source: r.source.clone(),
            location: r.location.clone(),
        },
        None => Rule {
            setting: key.into(),
            entry: Value::Null,
            justification: None,
            source: "default".into(),
            location: Location::described("unset"),
        },
    }
}

/// A list setting's string entries in a fixed order (so that which entry is
/// reported never depends on the order they were written in).
fn sorted_strings(inputs: &Inputs, key: &str) -> Vec<Value> {
    let mut items: Vec<Value> = inputs
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.is_string())
        .cloned()
        .collect();
    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    items.dedup();
    items
}

fn norm_set(inputs: &Inputs, key: &str, kind: ValueKind, cx: &KindContext) -> NormSet<Rule> {
    let mut set = NormSet::new();
    let provenance = Provenance::new(inputs, key);
    for entry in sorted_strings(inputs, key) {
        // Entries were validated by the schema; one that still does not
        // normalise is skipped (resolution already reported it).
        if let Ok(canonical) = kind::normalise_value(kind, &entry) {
            set.insert(Norm::of(kind, &canonical, cx), provenance.rule(&entry));
        }
    }
    set
}

impl Effective {
    /// Compiles this configuration for decisions; `cx` says whose home `~` is.
    pub fn decider(&self, cx: &KindContext) -> Decider {
        Decider::new(&Inputs::of(self), cx)
    }

    /// Decides one action with a decider compiled for this call (compile once
    /// with [`Effective::decider`] to ask many times). `~` is not expanded and
    /// relative paths are not resolved.
    pub fn decide(&self, action: &Action) -> Decision {
        self.decider(&KindContext::default()).decide(action, None)
    }
}

impl Decider {
    /// Compiles decision inputs (from [`Inputs::of`] or a snapshot).
    pub fn new(effective: &Inputs, cx: &KindContext) -> Decider {
        let rule_provenance = Provenance::new(effective, "commands.rules");
        let mcp_provenance = Provenance::new(effective, "mcp.allowed_servers");
        let mut rules = Vec::new();
        for entry in effective
            .get("commands.rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let pattern: Option<Vec<String>> = entry
                .get("pattern")
                .and_then(Value::as_array)
                .and_then(|p| p.iter().map(|t| t.as_str().map(str::to_owned)).collect());
            let verdict = entry
                .get("decision")
                .and_then(Value::as_str)
                .and_then(Verdict::of_rule);
            if let (Some(mut pattern), Some(verdict)) = (pattern, verdict)
                && !pattern.is_empty()
            {
                // The program is matched case-insensitively (see `command::program_name`).
                pattern[0] = pattern[0].to_lowercase();
                rules.push(CommandRule {
                    pattern,
                    verdict,
                    rule: rule_provenance.rule(entry),
                });
            }
        }
        let commands = CommandIndex::new(rules.into_iter().map(|r| (r.pattern.clone(), r)));
        let unknown = match effective.get_str("network.unknown_domains") {
            Some("allow") => Verdict::Allow,
            Some("deny") => Verdict::Deny,
            _ => Verdict::Prompt,
        };
        let mcp = effective
            .get("mcp.allowed_servers")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|e| (e.clone(), mcp_provenance.rule(e)))
                    .collect()
            });
        Decider {
            digest: effective.digest.clone(),
            cx: cx.clone(),
            commands,
            denied: norm_set(effective, "network.denied_domains", ValueKind::Domain, cx),
            allowed: norm_set(effective, "network.allowed_domains", ValueKind::Domain, cx),
            unknown: (unknown, setting_rule(effective, "network.unknown_domains")),
            deny_read: norm_set(effective, "sandbox.deny_read", ValueKind::Path, cx),
            writable: norm_set(effective, "sandbox.writable_roots", ValueKind::Path, cx),
            mode: (
                effective
                    .get_str("sandbox.mode")
                    .unwrap_or("read-only")
                    .to_owned(),
                setting_rule(effective, "sandbox.mode"),
            ),
            mcp,
            resolve_symlinks: false,
        }
    }

    /// Also judge the target of a path that exists and is (or passes through)
    /// a symbolic link; the stricter outcome wins. Off by default: it reads the
    /// file system.
    pub fn resolve_symlinks(mut self, on: bool) -> Decider {
        self.resolve_symlinks = on;
        self
    }

    /// The digest of the configuration this was compiled from.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Decides one action. `cwd` is the working directory the agent acts in:
    /// relative paths are resolved against it and, in `workspace-write` mode,
    /// it is writable.
    pub fn decide(&self, action: &Action, cwd: Option<&str>) -> Decision {
        let mut j = Judge {
            d: self,
            cwd,
            worst: None,
            commands: Vec::new(),
        };
        let judged = match action {
            Action::Exec(argv) => {
                let tokens: Vec<Token> = argv.iter().map(|a| Token::Lit(a.clone())).collect();
                j.exec(&tokens, false, 0, &Stdin::Inherited);
                // Replaced by what decided, below.
                String::new()
            }
            Action::Shell(s) => {
                j.shell(s, 0);
                s.clone()
            }
            Action::Url(u) => j.url(u),
            Action::Mcp(server) => j.mcp(server),
            Action::Read(p) => j.path(p, false),
            Action::Write(p) => j.path(p, true),
        };
        let commands = std::mem::take(&mut j.commands);
        let worst = j.worst.take().unwrap_or_else(|| Judgement {
            verdict: Verdict::Allow,
            reason: "no rule applies".into(),
            rule: None,
            subject: judged.clone(),
        });
        Decision {
            decision: worst.verdict,
            action: action.kind(),
            judged: if matches!(action, Action::Exec(_) | Action::Shell(_)) {
                worst.subject
            } else {
                judged
            },
            reason: worst.reason,
            rule: worst.rule.map(Cow::into_owned),
            commands,
            digest: self.digest.clone(),
        }
    }
}

/// One finding while judging an action.
struct Judgement<'a> {
    verdict: Verdict,
    reason: String,
    rule: Option<Cow<'a, Rule>>,
    /// The normalised thing judged (a command, a host, a path).
    subject: String,
}

impl Judgement<'_> {
    /// Strictness: an explicit allow is looser than "no rule applies", which
    /// is looser than prompt and deny (so an action is explicitly allowed
    /// only when every part of it is).
    fn rank(&self) -> u8 {
        rank(self.verdict, self.rule.is_some())
    }
}

fn rank(verdict: Verdict, explicit: bool) -> u8 {
    match (verdict, explicit) {
        (Verdict::Allow, true) => 0,
        (Verdict::Allow, false) => 1,
        (Verdict::Prompt, _) => 2,
        (Verdict::Deny, _) => 3,
    }
}

/// Network tools whose `scheme://` arguments are judged as URLs.
const NETWORK_TOOLS: &[&str] = &[
    "curl", "wget", "http", "https", "xh", "aria2c", "axel", "lynx", "links", "w3m", "git", "pip",
    "pip3", "npm", "pnpm", "yarn", "uv", "cargo", "go", "docker", "podman", "helm", "kubectl",
    "ftp", "sftp", "scp", "rsync", "nc", "ncat", "socat", "telnet", "openssl", "python", "python3",
    "node", "deno", "bun", "gh",
];

/// Environment variables that change which program runs or what it loads:
/// assigning one makes a command's identity depend on it.
pub const RISKY_VARIABLES: &[&str] = &[
    "PATH",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_LIBRARY_PATH",
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "IFS",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_EXTERNAL_DIFF",
    "GIT_PAGER",
    "GIT_EDITOR",
    "GIT_ASKPASS",
    "GIT_EXEC_PATH",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "PAGER",
    "EDITOR",
    "VISUAL",
    "PYTHONSTARTUP",
    "PYTHONPATH",
    "NODE_OPTIONS",
    "PERL5OPT",
    "RUBYOPT",
];

struct Judge<'a> {
    d: &'a Decider,
    cwd: Option<&'a str>,
    worst: Option<Judgement<'a>>,
    commands: Vec<String>,
}

impl<'a> Judge<'a> {
    fn note(&mut self, j: Judgement<'a>) {
        if self.worst.as_ref().is_none_or(|w| j.rank() > w.rank()) {
            self.worst = Some(j);
        }
    }

    /// Whether a finding would change the outcome (so that its reason is
    /// only written when it does).
    fn stricter(&self, verdict: Verdict, explicit: bool) -> bool {
        self.worst
            .as_ref()
            .is_none_or(|w| rank(verdict, explicit) > w.rank())
    }

    fn prompt(&mut self, subject: impl Into<String>, reason: impl Into<String>) {
        self.note(Judgement {
            verdict: Verdict::Prompt,
            reason: reason.into(),
            rule: None,
            subject: subject.into(),
        });
    }

    fn shell(&mut self, src: &str, depth: usize) {
        if depth > shell::MAX_DEPTH {
            self.prompt(
                src,
                format!("shell strings nest deeper than {} levels", shell::MAX_DEPTH),
            );
            return;
        }
        let script = match shell::parse_at_depth(src, depth) {
            Ok(s) => s,
            Err(e) => {
                self.prompt(
                    src,
                    format!("the command line could not be parsed ({e}), so it cannot be judged"),
                );
                return;
            }
        };
        for why in &script.unresolved {
            self.prompt(src, format!("{why}: cannot be judged before it runs"));
        }
        for cmd in &script.commands {
            self.simple(cmd, depth);
        }
    }

    fn simple(&mut self, cmd: &SimpleCommand, depth: usize) {
        let argv: Vec<Token> = cmd
            .words
            .iter()
            .map(|w| {
                if w.literal {
                    Token::Lit(w.text.clone())
                } else {
                    Token::Unknown(w.text.clone())
                }
            })
            .collect();
        for (name, _) in &cmd.assignments {
            if RISKY_VARIABLES.contains(&name.as_str()) && !argv.is_empty() {
                self.prompt(
                    command::display(&argv),
                    format!("`{name}=…` changes which program runs or what it loads"),
                );
            }
        }
        for r in &cmd.redirects {
            let target = &r.target;
            match r.op {
                RedirectOp::Write | RedirectOp::Append | RedirectOp::ReadWrite => {
                    if target.literal {
                        self.path(&target.text, true);
                    } else if self.d.mode.0 != "full-access" {
                        self.prompt(
                            target.text.clone(),
                            format!("writes to `{}`, a file only known at run time", target.text),
                        );
                    }
                }
                RedirectOp::Read => {
                    if target.literal {
                        self.path(&target.text, false);
                    } else if !self.d.deny_read.is_empty() {
                        self.prompt(
                            target.text.clone(),
                            format!("reads `{}`, a file only known at run time", target.text),
                        );
                    }
                }
                RedirectOp::Duplicate | RedirectOp::HereDoc | RedirectOp::HereString => {}
            }
        }
        if !argv.is_empty() {
            self.exec(&argv, false, depth, &cmd.stdin);
        }
    }

    /// Judges one argv: the rules on it (as written, by program name, without
    /// global options), then what it wraps.
    fn exec(&mut self, argv: &[Token], open_tail: bool, depth: usize, stdin: &Stdin) {
        let Some(first) = argv.first() else { return };
        let Some(raw) = first.lit() else {
            self.prompt(
                command::display(argv),
                format!("the program `{first}` is only known at run time"),
            );
            return;
        };
        if depth > shell::MAX_DEPTH {
            self.prompt(
                command::display(argv),
                "wrappers nest too deeply to be judged",
            );
            return;
        }
        let program = command::program_name(raw);
        let by_name: Cow<'_, [Token]> = if program == raw {
            Cow::Borrowed(argv)
        } else {
            let mut v = argv.to_vec();
            v[0] = Token::Lit(program.clone());
            Cow::Owned(v)
        };
        let by_name = &*by_name;
        let shown = command::display(by_name);
        let mut matched = false;
        let raw_lower = raw.to_lowercase();
        if raw_lower != program {
            let mut as_written = argv.to_vec();
            as_written[0] = Token::Lit(raw_lower);
            let shown = command::display(&as_written);
            matched |= self.rules(&as_written, &shown, open_tail);
        }
        matched |= self.rules(by_name, &shown, open_tail);
        self.commands.push(shown);
        if let Some(skipped) = command::skip_global_options(&program, by_name) {
            matched |= self.inner(&skipped, by_name, open_tail, depth, stdin, false);
        }
        let unwrapped = command::unwrap(&program, &by_name[1..]);
        if let Some(unwrapped) = &unwrapped {
            self.inner(unwrapped, by_name, open_tail, depth + 1, stdin, true);
        }
        // A command no rule names is not explicitly allowed, and neither is
        // one run through a wrapper that changes who runs it or with what.
        let transparent = unwrapped
            .as_ref()
            .is_some_and(|u| !u.inner.is_empty() && command::is_transparent(&program));
        if !matched && !transparent && self.stricter(Verdict::Allow, false) {
            self.note(Judgement {
                verdict: Verdict::Allow,
                reason: format!("no rule applies to `{}`", command::display(by_name)),
                rule: None,
                subject: command::display(by_name),
            });
        }
        if NETWORK_TOOLS.contains(&program.as_str()) {
            for t in &argv[1..] {
                if let Some(s) = t.lit()
                    && let Some((scheme, _)) = s.split_once("://")
                    && !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                {
                    self.url(s);
                }
            }
        }
    }

    fn inner(
        &mut self,
        u: &command::Unwrapped,
        outer: &[Token],
        open_tail: bool,
        depth: usize,
        stdin: &Stdin,
        wrapper: bool,
    ) -> bool {
        let mut matched = false;
        let shown = command::display(outer);
        if let Some(doubt) = &u.doubt {
            self.prompt(
                shown.clone(),
                format!("{doubt}, so the command cannot be fully judged"),
            );
        }
        if wrapper {
            // `env`/`sudo` assignments that change what runs.
            for t in outer.iter().skip(1).filter_map(Token::lit) {
                if let Some((name, _)) = t.split_once('=')
                    && RISKY_VARIABLES.contains(&name)
                {
                    self.prompt(
                        shown.clone(),
                        format!("`{name}=…` changes which program runs or what it loads"),
                    );
                }
            }
        }
        for inner in &u.inner {
            match inner {
                Inner::Argv {
                    argv,
                    open_tail: more,
                } => {
                    let stdin = if wrapper { stdin } else { &Stdin::Inherited };
                    if wrapper {
                        self.exec(argv, open_tail || *more, depth, stdin);
                    } else {
                        // The same command without its global options: rules only.
                        let mut canonical = argv.clone();
                        canonical[0] = outer[0].clone();
                        let shown = command::display(&canonical);
                        matched |= self.rules(&canonical, &shown, open_tail || *more);
                        self.commands.push(shown);
                    }
                }
                Inner::Shell(s) => self.shell(s, depth + 1),
                Inner::ShellStdin => match stdin {
                    Stdin::Inherited => {}
                    Stdin::Text(w) if w.literal => self.shell(&w.text, depth + 1),
                    Stdin::Text(_) => self.prompt(
                        shown.clone(),
                        "a shell reads commands from a here-document only known at run time",
                    ),
                    Stdin::Pipe => self.prompt(
                        shown.clone(),
                        "a shell reads commands from a pipe: what it runs cannot be judged",
                    ),
                    Stdin::File(f) => self.prompt(
                        shown.clone(),
                        format!("a shell reads commands from `{f}`, which is not judged"),
                    ),
                },
                Inner::Unresolvable(why) => {
                    self.prompt(
                        shown.clone(),
                        format!("{why}: cannot be judged before it runs"),
                    );
                }
            }
        }
        matched
    }

    /// The command rules matching `argv`; whether one matched.
    fn rules(&mut self, argv: &[Token], shown: &str, open_tail: bool) -> bool {
        let found = self.d.commands.lookup(argv, open_tail);
        // Strictest, then most specific, then by content: never by position.
        fn key(r: &CommandRule) -> impl Ord + '_ {
            (
                r.verdict,
                r.pattern.len(),
                &r.pattern,
                &r.rule.justification,
                &r.rule.source,
                &r.rule.location,
            )
        }
        let definite = found
            .definite
            .iter()
            .copied()
            .max_by(|a, b| key(a).cmp(&key(b)));
        let maybe = found
            .maybe
            .iter()
            .copied()
            .max_by(|a, b| key(a).cmp(&key(b)));
        if let Some(r) = definite
            && self.stricter(r.verdict, true)
        {
            let pattern = command::display(
                &r.pattern
                    .iter()
                    .map(|t| Token::Lit(t.clone()))
                    .collect::<Vec<_>>(),
            );
            let reason = match r.verdict {
                Verdict::Allow => format!("`{pattern}` is allowed"),
                Verdict::Prompt => format!("`{pattern}` needs approval"),
                Verdict::Deny => format!("`{pattern}` is forbidden"),
            };
            let reason = match &r.rule.justification {
                Some(j) => format!("{reason}: {j}"),
                None => reason,
            };
            self.note(Judgement {
                verdict: r.verdict,
                reason,
                rule: Some(Cow::Borrowed(&r.rule)),
                subject: shown.to_owned(),
            });
        }
        if let Some(m) = maybe
            && m.verdict > definite.map_or(Verdict::Allow, |d| d.verdict)
            && self.stricter(Verdict::Prompt, true)
        {
            let pattern = m.pattern.join(" ");
            self.note(Judgement {
                verdict: Verdict::Prompt,
                reason: format!(
                    "`{shown}` may turn out to be `{pattern}` ({}) once its arguments are known",
                    if m.verdict == Verdict::Deny {
                        "forbidden"
                    } else {
                        "needs approval"
                    }
                ),
                rule: Some(Cow::Borrowed(&m.rule)),
                subject: shown.to_owned(),
            });
        }
        definite.is_some()
    }

    /// Judges a URL or host; returns the canonical host.
    fn url(&mut self, raw: &str) -> String {
        if let Some(rest) = raw.trim().strip_prefix("file://") {
            let path = rest.trim_start_matches("localhost");
            return self.path(path, false);
        }
        let host = match kind::domain::host(raw) {
            Ok(h) => h,
            Err(e) => {
                self.prompt(raw, format!("{e}, so it cannot be judged"));
                return raw.to_owned();
            }
        };
        let norm = Norm::of(ValueKind::Domain, &Value::String(host.clone()), &self.d.cx);
        if let Some(rule) = self.d.denied.covering(&norm) {
            self.note(Judgement {
                verdict: Verdict::Deny,
                reason: format!(
                    "{host} is on the denied domains ({})",
                    rule.entry.as_str().unwrap_or_default()
                ),
                rule: Some(Cow::Borrowed(rule)),
                subject: host.clone(),
            });
        } else if let Some(rule) = self.d.allowed.covering(&norm) {
            self.note(Judgement {
                verdict: Verdict::Allow,
                reason: format!(
                    "{host} is on the allowed domains ({})",
                    rule.entry.as_str().unwrap_or_default()
                ),
                rule: Some(Cow::Borrowed(rule)),
                subject: host.clone(),
            });
        } else {
            let (verdict, rule) = &self.d.unknown;
            self.note(Judgement {
                verdict: *verdict,
                reason: format!(
                    "{host} is on neither domain list, and network.unknown_domains is {}",
                    rule.entry.as_str().unwrap_or("ask")
                ),
                rule: Some(Cow::Borrowed(rule)),
                subject: host.clone(),
            });
        }
        host
    }

    fn mcp(&mut self, server: &McpServer) -> String {
        let name = kind::name(&server.name);
        let Some(list) = &self.d.mcp else {
            return name;
        };
        let same_name: Vec<&(Value, Rule)> = list
            .iter()
            .filter(|(e, _)| {
                e.get("name").and_then(Value::as_str).map(kind::name) == Some(name.clone())
            })
            .collect();
        if same_name.is_empty() {
            let rule = list.first().map(|(_, r)| Rule {
                entry: Value::Array(list.iter().map(|(e, _)| e.clone()).collect()),
                ..r.clone()
            });
            self.note(Judgement {
                verdict: Verdict::Deny,
                reason: format!("the MCP server `{name}` is not on mcp.allowed_servers"),
                rule: Some(Cow::Owned(rule.unwrap_or(Rule {
                    setting: "mcp.allowed_servers".into(),
                    entry: Value::Array(Vec::new()),
                    justification: None,
                    source: "default".into(),
                    location: Location::described("empty list"),
                }))),
                subject: name.clone(),
            });
            return name;
        }
        let identity_known = server.command.is_some() || server.url.is_some();
        let matching = same_name
            .iter()
            .find(|(e, _)| !identity_known || identity_matches(e, server));
        match matching {
            Some((_, rule)) => self.note(Judgement {
                verdict: Verdict::Allow,
                reason: format!("the MCP server `{name}` is on mcp.allowed_servers"),
                rule: Some(Cow::Borrowed(rule)),
                subject: name.clone(),
            }),
            None => self.note(Judgement {
                verdict: Verdict::Deny,
                reason: format!(
                    "the MCP server `{name}` is allowed only with another command or URL"
                ),
                rule: Some(Cow::Borrowed(&same_name[0].1)),
                subject: name.clone(),
            }),
        }
        name
    }

    /// Judges a read or a write of `raw`; returns the canonical path.
    fn path(&mut self, raw: &str, write: bool) -> String {
        if write
            && matches!(
                raw,
                "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty"
            )
            || raw.starts_with("/dev/fd/")
        {
            return raw.to_owned();
        }
        let joined = if raw.starts_with('/') || raw == "~" || raw.starts_with("~/") {
            raw.to_owned()
        } else if let Some(cwd) = self.cwd {
            format!("{}/{raw}", cwd.trim_end_matches('/'))
        } else {
            self.prompt(
                raw,
                format!("`{raw}` is relative and the working directory is not known"),
            );
            return raw.to_owned();
        };
        let canonical = match kind::path::normalise(&joined) {
            Ok(p) => kind::path::expand(&p, self.d.cx.home.as_deref()),
            Err(e) => {
                self.prompt(raw, format!("{e}, so it cannot be judged"));
                return raw.to_owned();
            }
        };
        self.path_canonical(&canonical, write);
        if self.d.resolve_symlinks
            && let Ok(real) = std::fs::canonicalize(&canonical)
            && let Some(real) = real.to_str()
            && real != canonical
        {
            self.path_canonical(real, write);
        }
        canonical
    }

    fn path_canonical(&mut self, canonical: &str, write: bool) {
        let norm = Norm::of(
            ValueKind::Path,
            &Value::String(canonical.to_owned()),
            &self.d.cx,
        );
        if let Some(rule) = self.d.deny_read.covering(&norm) {
            self.note(Judgement {
                verdict: Verdict::Deny,
                reason: format!(
                    "{canonical} is under sandbox.deny_read ({})",
                    rule.entry.as_str().unwrap_or_default()
                ),
                rule: Some(Cow::Borrowed(rule)),
                subject: canonical.to_owned(),
            });
            return;
        }
        if !write {
            return;
        }
        let (mode, rule) = &self.d.mode;
        match mode.as_str() {
            "full-access" => self.note(Judgement {
                verdict: Verdict::Allow,
                reason: "sandbox.mode is full-access".into(),
                rule: Some(Cow::Borrowed(rule)),
                subject: canonical.to_owned(),
            }),
            "workspace-write" => {
                let in_workspace = self
                    .cwd
                    .and_then(|c| kind::path::normalise(c).ok())
                    .is_some_and(|cwd| {
                        let ws = Norm::of(ValueKind::Path, &Value::String(cwd), &self.d.cx);
                        ws.covers(&norm)
                    });
                if in_workspace {
                    self.note(Judgement {
                        verdict: Verdict::Allow,
                        reason: format!(
                            "{canonical} is in the workspace (sandbox.mode is workspace-write)"
                        ),
                        rule: Some(Cow::Borrowed(rule)),
                        subject: canonical.to_owned(),
                    });
                } else if let Some(root) = self.d.writable.covering(&norm) {
                    self.note(Judgement {
                        verdict: Verdict::Allow,
                        reason: format!(
                            "{canonical} is under a writable root ({})",
                            root.entry.as_str().unwrap_or_default()
                        ),
                        rule: Some(Cow::Borrowed(root)),
                        subject: canonical.to_owned(),
                    });
                } else {
                    self.note(Judgement {
                        verdict: Verdict::Prompt,
                        reason: format!(
                            "{canonical} is outside the workspace and sandbox.writable_roots"
                        ),
                        rule: Some(Cow::Borrowed(rule)),
                        subject: canonical.to_owned(),
                    });
                }
            }
            _ => self.note(Judgement {
                verdict: Verdict::Deny,
                reason: format!("sandbox.mode is {mode}: nothing may be written"),
                rule: Some(Cow::Borrowed(rule)),
                subject: canonical.to_owned(),
            }),
        }
    }
}

fn identity_matches(entry: &Value, server: &McpServer) -> bool {
    if let Some(url) = entry.get("url").and_then(Value::as_str) {
        let want = kind::domain::url(url).ok();
        let have = server
            .url
            .as_deref()
            .and_then(|u| kind::domain::url(u).ok());
        return want.is_some() && want == have;
    }
    if let Some(cmd) = entry.get("command").and_then(Value::as_str) {
        if server.command.as_deref() != Some(cmd) {
            return false;
        }
        return match entry.get("args").and_then(Value::as_array) {
            None => true,
            Some(args) => {
                let want: Vec<&str> = args.iter().filter_map(Value::as_str).collect();
                server
                    .args
                    .as_ref()
                    .is_some_and(|a| a.iter().map(String::as_str).eq(want.iter().copied()))
            }
        };
    }
    false
}
