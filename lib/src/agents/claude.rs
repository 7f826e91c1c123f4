//! Anthropic Claude Code.
//!
//! One file, `managed-settings.json` (`/etc/claude-code/` on Linux,
//! `/Library/Application Support/ClaudeCode/` on macOS), above every user,
//! project and command-line setting. Claude Code needs companion keys or
//! its controls fail open, so they are always written together:
//! `allowedMcpServers` with `allowManagedMcpServersOnly`, `availableModels`
//! with `enforceAvailableModels`, `sandbox.enabled` with
//! `sandbox.failIfUnavailable`, the managed hook with
//! `allowManagedHooksOnly`. It drops a whole top-level key when one value
//! inside it is invalid, so the file is checked against the SchemaStore
//! schema first, and every top-level key must be one that schema defines.

use std::path::PathBuf;

use crate::json;
use crate::value::{Map, Value};

use super::{
    Agent, AgentKind, Coverage, Mapping, RenderContext, RenderError, RenderedFile, Version,
    admitted, command_rules, domains, is_constrained, mcp_servers, paths, vendor_default_model,
    vendor_models,
};
use crate::paths::Platform;
use crate::resolve::Effective;

/// The Claude Code adapter.
#[derive(Debug)]
pub struct ClaudeCode;

/// The managed settings file on Linux.
pub const LINUX_PATH: &str = "/etc/claude-code/managed-settings.json";
/// The managed settings file on macOS.
pub const MACOS_PATH: &str = "/Library/Application Support/ClaudeCode/managed-settings.json";

const APPROVALS: [&str; 4] = ["untrusted", "on-request", "on-failure", "never"];
const SANDBOX: [&str; 3] = ["read-only", "workspace-write", "full-access"];
const REVIEWERS: [&str; 2] = ["user", "auto-review"];
const AUTH: [&str; 3] = ["sso", "device-code", "api-key"];

const MAPPINGS: &[Mapping] = &[
    Mapping {
        setting: "approvals.policy",
        coverage: Coverage::Native,
        keys: "permissions.disableBypassPermissionsMode, permissions.defaultMode",
        note: "Without `never`, bypass mode is disabled and sessions start in `default` mode (ask before acting). Claude Code has no sandbox-escalation-only mode: `untrusted`, `on-request` and `on-failure` all map to `default`.",
    },
    Mapping {
        setting: "approvals.reviewer",
        coverage: Coverage::Native,
        keys: "disableAutoMode",
        note: "Without `auto-review`, auto mode (the automatic classifier) is disabled.",
    },
    Mapping {
        setting: "sandbox.mode",
        coverage: Coverage::Native,
        keys: "sandbox.enabled, sandbox.failIfUnavailable, sandbox.allowUnsandboxedCommands",
        note: "Without `full-access`, Bash runs sandboxed, fails rather than running unsandboxed when bubblewrap is missing, and cannot opt out per command. Claude's sandbox always lets commands write the working directory: `read-only` is enforced as `workspace-write` plus the hook.",
    },
    Mapping {
        setting: "sandbox.network",
        coverage: Coverage::Native,
        keys: "sandbox.network.allowedDomains",
        note: "`false`: no domain is allowed without asking (or at all, with network.unknown_domains = deny).",
    },
    Mapping {
        setting: "sandbox.writable_roots",
        coverage: Coverage::Native,
        keys: "sandbox.filesystem.allowWrite",
        note: "",
    },
    Mapping {
        setting: "sandbox.deny_read",
        coverage: Coverage::Native,
        keys: "sandbox.filesystem.denyRead, permissions.deny Read(...)",
        note: "Both the sandbox and the Read tool.",
    },
    Mapping {
        setting: "network.allowed_domains",
        coverage: Coverage::Native,
        keys: "sandbox.network.allowedDomains",
        note: "",
    },
    Mapping {
        setting: "network.denied_domains",
        coverage: Coverage::Native,
        keys: "sandbox.network.deniedDomains, permissions.deny WebFetch(domain:...)",
        note: "",
    },
    Mapping {
        setting: "network.unknown_domains",
        coverage: Coverage::Native,
        keys: "sandbox.network.allowManagedDomainsOnly",
        note: "`deny` blocks other domains without asking; `ask` is Claude's own behaviour for a domain outside the list; `allow` cannot be expressed (Claude asks).",
    },
    Mapping {
        setting: "commands.rules",
        coverage: Coverage::Native,
        keys: "permissions.deny / ask / allow Bash(PREFIX *)",
        note: "`forbidden` → deny, `prompt` → ask, `allow` → allow. Claude matches deny and ask rules past leading variable assignments; other wrappers are judged by the hook.",
    },
    Mapping {
        setting: "mcp.allowed_servers",
        coverage: Coverage::Native,
        keys: "allowedMcpServers (serverCommand / serverUrl) + allowManagedMcpServersOnly",
        note: "Claude matches a server by command (with its exact arguments) or URL, not by name as well: a stdio entry without `args` admits only that command with no arguments.",
    },
    Mapping {
        setting: "mcp.managed_only",
        coverage: Coverage::Native,
        keys: "allowManagedMcpServersOnly",
        note: "Always on when an allowlist is written: without it a user's allowlist adds servers.",
    },
    Mapping {
        setting: "auth.method",
        coverage: Coverage::Native,
        keys: "forceLoginMethod",
        note: "`sso` and `device-code` are claude.ai sign-in (`claudeai`), `api-key` is Console (`console`); written only when the allowed methods map to one.",
    },
    Mapping {
        setting: "auth.workspace_ids",
        coverage: Coverage::Native,
        keys: "forceLoginOrgUUID",
        note: "Anthropic organisation UUIDs. An empty list blocks every login.",
    },
    Mapping {
        setting: "auth.credential_store",
        coverage: Coverage::NotEnforceable,
        keys: "—",
        note: "Claude Code chooses its own store (the macOS Keychain, a file on Linux).",
    },
    Mapping {
        setting: "models.allowed",
        coverage: Coverage::Native,
        keys: "availableModels + enforceAvailableModels",
        note: "Only Claude names (`claude-*`, `sonnet`, `opus`, `haiku`, `opusplan`) are written; `enforceAvailableModels` keeps the Default model inside the list.",
    },
    Mapping {
        setting: "models.default",
        coverage: Coverage::Native,
        keys: "model",
        note: "Written only when it is a Claude model name.",
    },
    Mapping {
        setting: "telemetry.otel.exporter",
        coverage: Coverage::Native,
        keys: "env CLAUDE_CODE_ENABLE_TELEMETRY, OTEL_LOGS_EXPORTER, OTEL_METRICS_EXPORTER",
        note: "",
    },
    Mapping {
        setting: "telemetry.otel.endpoint",
        coverage: Coverage::Native,
        keys: "env OTEL_EXPORTER_OTLP_ENDPOINT",
        note: "",
    },
    Mapping {
        setting: "telemetry.otel.protocol",
        coverage: Coverage::Native,
        keys: "env OTEL_EXPORTER_OTLP_PROTOCOL",
        note: "",
    },
    Mapping {
        setting: "telemetry.otel.headers",
        coverage: Coverage::Native,
        keys: "env OTEL_EXPORTER_OTLP_HEADERS",
        note: "",
    },
    Mapping {
        setting: "telemetry.log_user_prompt",
        coverage: Coverage::Native,
        keys: "env OTEL_LOG_USER_PROMPTS",
        note: "",
    },
    Mapping {
        setting: "audit.log",
        coverage: Coverage::Hook,
        keys: "hooks.PreToolUse → mandate hook claude, allowManagedHooksOnly",
        note: "Decisions the hook makes are logged by mandate.",
    },
    Mapping {
        setting: "agents.enabled",
        coverage: Coverage::Native,
        keys: "—",
        note: "Read by mandate apply.",
    },
    Mapping {
        setting: "agents.takeover",
        coverage: Coverage::Native,
        keys: "—",
        note: "Read by mandate apply.",
    },
];

/// A permission rule's path: `//abs/path` for absolute paths, `~/x` kept.
fn rule_path(path: &str) -> String {
    match path.strip_prefix('/') {
        Some(rest) => format!("//{rest}"),
        None => path.to_owned(),
    }
}

/// Whether a token can be written inside `Bash(...)`.
fn bash_safe(token: &str) -> bool {
    !token.contains(['(', ')'])
}

fn login(v: &str) -> &'static str {
    match v {
        "api-key" => "console",
        _ => "claudeai",
    }
}

fn push_unique(list: &mut Vec<Value>, v: String) {
    let v = Value::String(v);
    if !list.contains(&v) {
        list.push(v);
    }
}

fn permissions(effective: &Effective) -> Map {
    let mut deny = Vec::new();
    let mut ask = Vec::new();
    let mut allow = Vec::new();
    for rule in command_rules(effective) {
        if !rule.pattern.iter().all(|t| bash_safe(t)) {
            continue;
        }
        let text = format!("Bash({} *)", rule.pattern.join(" "));
        match rule.decision.as_str() {
            "forbidden" => push_unique(&mut deny, text),
            "prompt" => push_unique(&mut ask, text),
            _ => push_unique(&mut allow, text),
        }
    }
    for p in paths(effective, "sandbox.deny_read") {
        let p = rule_path(p.trim_end_matches('/'));
        if bash_safe(&p) {
            push_unique(&mut deny, format!("Read({p})"));
            push_unique(&mut deny, format!("Read({p}/**)"));
        }
    }
    for d in domains(effective, "network.denied_domains") {
        push_unique(&mut deny, format!("WebFetch(domain:{d})"));
    }
    let mut m = Map::new();
    if !deny.is_empty() {
        m.insert("deny".into(), Value::Array(deny));
    }
    if !ask.is_empty() {
        m.insert("ask".into(), Value::Array(ask));
    }
    if !allow.is_empty() {
        m.insert("allow".into(), Value::Array(allow));
    }
    if let Some(allowed) = admitted(effective, "approvals.policy", &APPROVALS)
        && !allowed.iter().any(|v| v == "never")
    {
        m.insert("defaultMode".into(), json!("default"));
        m.insert("disableBypassPermissionsMode".into(), json!("disable"));
    }
    m
}

fn sandbox(effective: &Effective) -> Option<Value> {
    let mode = effective.get_str("sandbox.mode")?;
    if mode == "full-access" {
        return None;
    }
    let mut s = Map::new();
    s.insert("enabled".into(), json!(true));
    s.insert("failIfUnavailable".into(), json!(true));
    let may_escape = admitted(effective, "sandbox.mode", &SANDBOX)
        .is_none_or(|a| a.iter().any(|v| v == "full-access"));
    if !may_escape {
        s.insert("allowUnsandboxedCommands".into(), json!(false));
    }
    let mut network = Map::new();
    let allowed = if effective.get_bool("sandbox.network") == Some(true) {
        domains(effective, "network.allowed_domains")
    } else {
        Vec::new()
    };
    network.insert("allowedDomains".into(), json!(allowed));
    let denied = domains(effective, "network.denied_domains");
    if !denied.is_empty() {
        network.insert("deniedDomains".into(), json!(denied));
    }
    if effective.get_str("network.unknown_domains") == Some("deny") {
        network.insert("allowManagedDomainsOnly".into(), json!(true));
    }
    s.insert("network".into(), Value::Object(network));
    let mut fs = Map::new();
    let deny_read = paths(effective, "sandbox.deny_read");
    if !deny_read.is_empty() {
        fs.insert("denyRead".into(), json!(deny_read));
    }
    let roots = paths(effective, "sandbox.writable_roots");
    if !roots.is_empty() {
        fs.insert("allowWrite".into(), json!(roots));
    }
    if !fs.is_empty() {
        s.insert("filesystem".into(), Value::Object(fs));
    }
    Some(Value::Object(s))
}

fn telemetry_env(effective: &Effective) -> Map {
    let mut env = Map::new();
    let Some(kind) = effective.get_str("telemetry.otel.exporter") else {
        return env;
    };
    if kind == "none" {
        if is_constrained(effective, "telemetry.otel.exporter") {
            env.insert("CLAUDE_CODE_ENABLE_TELEMETRY".into(), json!("0"));
        }
        return env;
    }
    env.insert("CLAUDE_CODE_ENABLE_TELEMETRY".into(), json!("1"));
    env.insert("OTEL_LOGS_EXPORTER".into(), json!("otlp"));
    env.insert("OTEL_METRICS_EXPORTER".into(), json!("otlp"));
    let protocol = match (kind, effective.get_str("telemetry.otel.protocol")) {
        ("otlp-grpc", _) => "grpc",
        (_, Some("json")) => "http/json",
        _ => "http/protobuf",
    };
    env.insert("OTEL_EXPORTER_OTLP_PROTOCOL".into(), json!(protocol));
    if let Some(endpoint) = effective.get_str("telemetry.otel.endpoint") {
        env.insert("OTEL_EXPORTER_OTLP_ENDPOINT".into(), json!(endpoint));
    }
    if let Some(headers) = effective
        .get("telemetry.otel.headers")
        .and_then(Value::as_object)
        .filter(|h| !h.is_empty())
    {
        let text: Vec<String> = headers
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
            .collect();
        env.insert("OTEL_EXPORTER_OTLP_HEADERS".into(), json!(text.join(",")));
    }
    if let Some(b) = effective.get_bool("telemetry.log_user_prompt") {
        env.insert(
            "OTEL_LOG_USER_PROMPTS".into(),
            json!(if b { "1" } else { "0" }),
        );
    }
    env
}

/// The managed settings for `effective`, as JSON.
pub fn settings(effective: &Effective, cx: &RenderContext) -> Value {
    let mut root = Map::new();
    let permissions = permissions(effective);
    if !permissions.is_empty() {
        root.insert("permissions".into(), Value::Object(permissions));
    }
    if let Some(allowed) = admitted(effective, "approvals.reviewer", &REVIEWERS)
        && !allowed.iter().any(|v| v == "auto-review")
    {
        root.insert("disableAutoMode".into(), json!("disable"));
    }
    if let Some(s) = sandbox(effective) {
        root.insert("sandbox".into(), s);
    }
    if let Some(servers) = mcp_servers(effective) {
        let entries: Vec<Value> = servers
            .iter()
            .filter_map(|s| match (&s.command, &s.url) {
                (Some(c), _) => {
                    let mut argv = vec![c.clone()];
                    argv.extend(s.args.clone().unwrap_or_default());
                    Some(json!({ "serverCommand": argv }))
                }
                (None, Some(u)) => Some(json!({ "serverUrl": u })),
                (None, None) => None,
            })
            .collect();
        root.insert("allowedMcpServers".into(), Value::Array(entries));
        root.insert("allowManagedMcpServersOnly".into(), json!(true));
    }
    if let Some(allowed) = admitted(effective, "auth.method", &AUTH) {
        let mut methods: Vec<&str> = allowed.iter().map(|m| login(m)).collect();
        methods.dedup();
        if let [only] = methods.as_slice() {
            root.insert("forceLoginMethod".into(), json!(only));
        }
    }
    if is_constrained(effective, "auth.workspace_ids")
        && let Some(ids) = effective.get_strings("auth.workspace_ids")
    {
        root.insert("forceLoginOrgUUID".into(), json!(ids));
    }
    if let Some(models) = vendor_models(effective, AgentKind::ClaudeCode) {
        root.insert("availableModels".into(), json!(models));
        root.insert("enforceAvailableModels".into(), json!(true));
    }
    if let Some(model) = vendor_default_model(effective, AgentKind::ClaudeCode) {
        root.insert("model".into(), json!(model));
    }
    let env = telemetry_env(effective);
    if !env.is_empty() {
        root.insert("env".into(), Value::Object(env));
    }
    root.insert(
        "hooks".into(),
        json!({
            "PreToolUse": [{
                "matcher": "*",
                "hooks": [{ "type": "command", "command": cx.hook_command(AgentKind::ClaudeCode) }]
            }]
        }),
    );
    root.insert("allowManagedHooksOnly".into(), json!(true));
    Value::Object(root)
}

impl Agent for ClaudeCode {
    fn kind(&self) -> AgentKind {
        AgentKind::ClaudeCode
    }

    fn executable(&self) -> &'static str {
        "claude"
    }

    fn min_version(&self) -> Version {
        // enforceAvailableModels needs 2.1.175.
        Version(2, 1, 175)
    }

    fn tested_version(&self) -> Version {
        Version(2, 1, 332)
    }

    fn mappings(&self) -> &'static [Mapping] {
        MAPPINGS
    }

    fn paths(&self, platform: Platform) -> Vec<PathBuf> {
        vec![PathBuf::from(match platform {
            Platform::Linux => LINUX_PATH,
            Platform::Macos => MACOS_PATH,
        })]
    }

    fn render(
        &self,
        effective: &Effective,
        cx: &RenderContext,
    ) -> Result<Vec<RenderedFile>, RenderError> {
        let mut bytes = serde_json::to_vec_pretty(&settings(effective, cx))
            .expect("a JSON value always serialises");
        bytes.push(b'\n');
        Ok(vec![RenderedFile {
            agent: AgentKind::ClaudeCode,
            path: self.paths(cx.platform).remove(0),
            bytes,
        }])
    }
}
