//! Google Gemini CLI.
//!
//! Two files: the system `settings.json` (`/etc/gemini-cli/` on Linux,
//! `/Library/Application Support/GeminiCli/` on macOS), which overrides user
//! and workspace settings, and an admin policy file of its policy engine in
//! the `policies/` directory beside it, whose rules outrank every user and
//! workspace rule. Gemini CLI refuses a system settings file (and ignores
//! the admin policies) under a directory that others can write, so both are
//! written under root-owned 0755 directories.

use std::path::PathBuf;

use crate::json;
use crate::value::{Map, Value};
use toml_edit::{ArrayOfTables, DocumentMut, Table};

use super::{
    Agent, AgentKind, Coverage, Mapping, RenderContext, RenderError, RenderedFile, Version,
    admitted, command_rules, is_constrained, mcp_servers,
};
use crate::paths::Platform;
use crate::resolve::Effective;

/// The Gemini CLI adapter.
#[derive(Debug)]
pub struct GeminiCli;

const LINUX_DIR: &str = "/etc/gemini-cli";
const MACOS_DIR: &str = "/Library/Application Support/GeminiCli";

/// The admin policy file mandate writes, inside the policies directory.
pub const POLICY_FILE: &str = "mandate.toml";

/// What `mcp.allowed` holds when the policy allows no MCP server at all:
/// Gemini CLI reads an empty `mcp.allowed` as "no allowlist".
pub const NO_SERVER: &str = "none-allowed-by-mandate";

const APPROVALS: [&str; 4] = ["untrusted", "on-request", "on-failure", "never"];
const SANDBOX: [&str; 3] = ["read-only", "workspace-write", "full-access"];
const AUTH: [&str; 3] = ["sso", "device-code", "api-key"];

const MAPPINGS: &[Mapping] = &[
    Mapping {
        setting: "approvals.policy",
        coverage: Coverage::Native,
        keys: "security.disableYoloMode, general.defaultApprovalMode",
        note: "Without `never`, YOLO mode is disabled even when asked for by flag, and sessions start in `default` mode (ask). The other values all map to `default`.",
    },
    Mapping {
        setting: "approvals.reviewer",
        coverage: Coverage::Native,
        keys: "—",
        note: "Gemini CLI has no automatic reviewer: every request goes to the user.",
    },
    Mapping {
        setting: "sandbox.mode",
        coverage: Coverage::Native,
        keys: "tools.sandbox",
        note: "Without `full-access`, tools run in Gemini's container sandbox (docker, podman or sandbox-exec must be installed). It has no read-only mode: `read-only` is enforced as `workspace-write` plus the hook.",
    },
    Mapping {
        setting: "sandbox.network",
        coverage: Coverage::NotEnforceable,
        keys: "—",
        note: "The network of Gemini's sandbox is set by its sandbox profile, not by settings.",
    },
    Mapping {
        setting: "sandbox.writable_roots",
        coverage: Coverage::Hook,
        keys: "hooks.BeforeTool → mandate hook gemini",
        note: "",
    },
    Mapping {
        setting: "sandbox.deny_read",
        coverage: Coverage::Hook,
        keys: "hooks.BeforeTool → mandate hook gemini",
        note: "Reads through Gemini's file tools; a shell command's own reads are not seen.",
    },
    Mapping {
        setting: "network.allowed_domains",
        coverage: Coverage::Hook,
        keys: "hooks.BeforeTool → mandate hook gemini",
        note: "web_fetch URLs and shell commands the hook can parse.",
    },
    Mapping {
        setting: "network.denied_domains",
        coverage: Coverage::Hook,
        keys: "hooks.BeforeTool → mandate hook gemini",
        note: "",
    },
    Mapping {
        setting: "network.unknown_domains",
        coverage: Coverage::Hook,
        keys: "hooks.BeforeTool → mandate hook gemini",
        note: "",
    },
    Mapping {
        setting: "commands.rules",
        coverage: Coverage::Native,
        keys: "policies/mandate.toml [[rule]] run_shell_command commandPrefix",
        note: "Admin tier of the policy engine: `forbidden` → deny, `prompt` → ask_user, `allow` → allow.",
    },
    Mapping {
        setting: "mcp.allowed_servers",
        coverage: Coverage::Hook,
        keys: "mcp.allowed (names); hooks.BeforeTool → mandate hook gemini",
        note: "Gemini matches names only, and `--allowed-mcp-server-names` on the command line replaces the list; the hook judges each MCP tool call. An empty list is written as a name no server has, because Gemini reads an empty list as no allowlist.",
    },
    Mapping {
        setting: "mcp.managed_only",
        coverage: Coverage::Native,
        keys: "mcp.allowed in the system settings",
        note: "System settings override user and workspace settings.",
    },
    Mapping {
        setting: "auth.method",
        coverage: Coverage::Native,
        keys: "security.auth.enforcedType",
        note: "`sso` and `device-code` are Google sign-in (`oauth-personal`), `api-key` is `gemini-api-key`; written only when the allowed methods map to one.",
    },
    Mapping {
        setting: "auth.workspace_ids",
        coverage: Coverage::NotEnforceable,
        keys: "—",
        note: "Gemini CLI cannot restrict which Google account or project signs in.",
    },
    Mapping {
        setting: "auth.credential_store",
        coverage: Coverage::NotEnforceable,
        keys: "—",
        note: "",
    },
    Mapping {
        setting: "models.allowed",
        coverage: Coverage::NotEnforceable,
        keys: "—",
        note: "Gemini CLI has no model allowlist.",
    },
    Mapping {
        setting: "models.default",
        coverage: Coverage::Native,
        keys: "model.name",
        note: "Written only when it is a Gemini model name (`gemini-*`).",
    },
    Mapping {
        setting: "telemetry.otel.exporter",
        coverage: Coverage::Native,
        keys: "telemetry.enabled, telemetry.target",
        note: "",
    },
    Mapping {
        setting: "telemetry.otel.endpoint",
        coverage: Coverage::Native,
        keys: "telemetry.otlpEndpoint",
        note: "",
    },
    Mapping {
        setting: "telemetry.otel.protocol",
        coverage: Coverage::NotEnforceable,
        keys: "telemetry.otlpProtocol",
        note: "Gemini picks http or grpc; the OTLP/HTTP encoding is its own.",
    },
    Mapping {
        setting: "telemetry.otel.headers",
        coverage: Coverage::NotEnforceable,
        keys: "—",
        note: "No settings key; OTEL_EXPORTER_OTLP_HEADERS in the user's environment.",
    },
    Mapping {
        setting: "telemetry.log_user_prompt",
        coverage: Coverage::Native,
        keys: "telemetry.logPrompts",
        note: "",
    },
    Mapping {
        setting: "audit.log",
        coverage: Coverage::Hook,
        keys: "hooks.BeforeTool → mandate hook gemini",
        note: "Gemini CLI has no managed-hooks-only switch: user hooks run too.",
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

fn dir(platform: Platform) -> PathBuf {
    PathBuf::from(match platform {
        Platform::Linux => LINUX_DIR,
        Platform::Macos => MACOS_DIR,
    })
}

fn auth_type(v: &str) -> &'static str {
    match v {
        "api-key" => "gemini-api-key",
        _ => "oauth-personal",
    }
}

/// The system settings for `effective`, as JSON.
pub fn settings(effective: &Effective, cx: &RenderContext) -> Value {
    let mut root = Map::new();
    let mut security = Map::new();
    if let Some(allowed) = admitted(effective, "approvals.policy", &APPROVALS)
        && !allowed.iter().any(|v| v == "never")
    {
        root.insert(
            "general".into(),
            json!({ "defaultApprovalMode": "default" }),
        );
        security.insert("disableYoloMode".into(), json!(true));
    }
    if let Some(allowed) = admitted(effective, "auth.method", &AUTH) {
        let mut types: Vec<&str> = allowed.iter().map(|m| auth_type(m)).collect();
        types.dedup();
        if let [only] = types.as_slice() {
            security.insert("auth".into(), json!({ "enforcedType": only }));
        }
    }
    if !security.is_empty() {
        root.insert("security".into(), Value::Object(security));
    }
    if let Some(allowed) = admitted(effective, "sandbox.mode", &SANDBOX)
        && !allowed.iter().any(|v| v == "full-access")
    {
        root.insert("tools".into(), json!({ "sandbox": true }));
    }
    if let Some(servers) = mcp_servers(effective) {
        let mut names: Vec<String> = servers.into_iter().map(|s| s.name).collect();
        if names.is_empty() {
            names.push(NO_SERVER.into());
        }
        root.insert("mcp".into(), json!({ "allowed": names }));
    }
    if let Some(model) = super::vendor_default_model(effective, AgentKind::GeminiCli) {
        root.insert("model".into(), json!({ "name": model }));
    }
    if let Some(kind) = effective.get_str("telemetry.otel.exporter")
        && (kind != "none" || is_constrained(effective, "telemetry.otel.exporter"))
    {
        let mut t = Map::new();
        t.insert("enabled".into(), json!(kind != "none"));
        if kind != "none" {
            t.insert("target".into(), json!("local"));
            t.insert(
                "otlpProtocol".into(),
                json!(if kind == "otlp-grpc" { "grpc" } else { "http" }),
            );
            if let Some(endpoint) = effective.get_str("telemetry.otel.endpoint") {
                t.insert("otlpEndpoint".into(), json!(endpoint));
            }
        }
        if let Some(b) = effective.get_bool("telemetry.log_user_prompt") {
            t.insert("logPrompts".into(), json!(b));
        }
        root.insert("telemetry".into(), Value::Object(t));
    }
    root.insert("hooksConfig".into(), json!({ "enabled": true }));
    root.insert(
        "hooks".into(),
        json!({
            "BeforeTool": [{
                "matcher": "*",
                "hooks": [{
                    "name": "mandate",
                    "type": "command",
                    "command": cx.hook_command(AgentKind::GeminiCli)
                }]
            }]
        }),
    );
    Value::Object(root)
}

/// The admin policy rules for `effective`, or `None` when there are none.
pub fn policy(effective: &Effective) -> Option<DocumentMut> {
    let rules = command_rules(effective);
    if rules.is_empty() {
        return None;
    }
    let mut doc = DocumentMut::new();
    let mut list = ArrayOfTables::new();
    for r in rules {
        let (decision, priority) = match r.decision.as_str() {
            "forbidden" => ("deny", 900),
            "prompt" => ("ask_user", 800),
            _ => ("allow", 100),
        };
        let mut t = Table::new();
        t.insert("toolName", toml_edit::value("run_shell_command"));
        t.insert("commandPrefix", toml_edit::value(r.pattern.join(" ")));
        t.insert("decision", toml_edit::value(decision));
        t.insert("priority", toml_edit::value(priority));
        list.push(t);
    }
    doc.insert("rule", toml_edit::Item::ArrayOfTables(list));
    doc.decor_mut().set_prefix(
        "# Written by `mandate apply` from commands.rules; do not edit.\n# Admin tier: these rules outrank every user and workspace policy.\n",
    );
    Some(doc)
}

impl Agent for GeminiCli {
    fn kind(&self) -> AgentKind {
        AgentKind::GeminiCli
    }

    fn executable(&self) -> &'static str {
        "gemini"
    }

    fn min_version(&self) -> Version {
        Version(0, 61, 0)
    }

    fn tested_version(&self) -> Version {
        Version(0, 61, 0)
    }

    fn mappings(&self) -> &'static [Mapping] {
        MAPPINGS
    }

    fn paths(&self, platform: Platform) -> Vec<PathBuf> {
        let dir = dir(platform);
        vec![
            dir.join("settings.json"),
            dir.join("policies").join(POLICY_FILE),
        ]
    }

    fn render(
        &self,
        effective: &Effective,
        cx: &RenderContext,
    ) -> Result<Vec<RenderedFile>, RenderError> {
        let [settings_path, policy_path]: [PathBuf; 2] = self
            .paths(cx.platform)
            .try_into()
            .expect("two paths, as listed above");
        let mut bytes = serde_json::to_vec_pretty(&settings(effective, cx))
            .expect("a JSON value always serialises");
        bytes.push(b'\n');
        let mut files = vec![RenderedFile {
            agent: AgentKind::GeminiCli,
            path: settings_path,
            bytes,
        }];
        if let Some(doc) = policy(effective) {
            files.push(RenderedFile {
                agent: AgentKind::GeminiCli,
                path: policy_path,
                bytes: doc.to_string().into_bytes(),
            });
        }
        Ok(files)
    }
}
