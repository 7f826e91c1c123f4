//! OpenAI Codex CLI.
//!
//! Three files, each with one job (learnt from Codex 0.171 itself):
//!
//! - `/etc/codex/requirements.toml`: constraints. Codex *clamps* rather than
//!   rejects: a configured approval policy outside `allowed_approval_policies`
//!   falls back to the list's **first** entry (so mandate's effective value
//!   goes first), and a refused sandbox mode always falls back to
//!   `read-only`, which must therefore be in `allowed_sandbox_modes`.
//!   Unknown keys are ignored in silence and a file Codex cannot parse stops
//!   every Codex command, so the file is checked against
//!   `schema/agents/codex-requirements.schema.json` first.
//! - `/etc/codex/config.toml`: Codex's system layer, *below* the user's own
//!   config: mandate's managed defaults, which users may change within the
//!   requirements.
//! - `/etc/codex/managed_config.toml`: pins that beat the user's config on
//!   every launch, only for settings mandate constrains and Codex has no
//!   requirement for. Never `approval_policy` or `sandbox_mode`: there they
//!   would *replace* the allow-lists of `requirements.toml`.

use std::path::PathBuf;

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table};

use super::{
    Agent, AgentKind, Coverage, Mapping, RenderContext, RenderError, RenderedFile, Version,
    admitted, command_rules, domains, is_constrained, mcp_servers, paths,
};
use crate::paths::Platform;
use crate::resolve::Effective;

/// The Codex adapter.
#[derive(Debug)]
pub struct Codex;

/// Codex's constraints file.
pub const REQUIREMENTS: &str = "/etc/codex/requirements.toml";
/// Codex's system config layer (managed defaults).
pub const CONFIG: &str = "/etc/codex/config.toml";
/// Codex's managed config (pins).
pub const MANAGED_CONFIG: &str = "/etc/codex/managed_config.toml";

const APPROVALS: [&str; 4] = ["untrusted", "on-request", "on-failure", "never"];
const SANDBOX: [&str; 3] = ["read-only", "workspace-write", "full-access"];
const REVIEWERS: [&str; 2] = ["user", "auto-review"];
const AUTH: [&str; 3] = ["sso", "device-code", "api-key"];

const MAPPINGS: &[Mapping] = &[
    Mapping {
        setting: "approvals.policy",
        coverage: Coverage::Native,
        keys: "requirements.toml allowed_approval_policies; config.toml approval_policy",
        note: "Effective value first: Codex falls back to the first allowed entry. A default of `untrusted` cannot be written to config.toml (fatal there since 0.171), so sessions then start at Codex's default `on-request` when the requirements allow it.",
    },
    Mapping {
        setting: "approvals.reviewer",
        coverage: Coverage::Native,
        keys: "requirements.toml allowed_approvals_reviewers; config.toml approvals_reviewer",
        note: "`auto-review` is Codex's `auto_review`.",
    },
    Mapping {
        setting: "sandbox.mode",
        coverage: Coverage::Native,
        keys: "requirements.toml allowed_sandbox_modes; config.toml sandbox_mode",
        note: "`full-access` is `danger-full-access`. `read-only` is always allowed: Codex falls back to it when a mode is refused.",
    },
    Mapping {
        setting: "sandbox.network",
        coverage: Coverage::Native,
        keys: "config.toml (default) or managed_config.toml (when constrained) sandbox_workspace_write.network_access",
        note: "Codex has no requirement for it: a constrained value is pinned in managed_config.toml.",
    },
    Mapping {
        setting: "sandbox.writable_roots",
        coverage: Coverage::Native,
        keys: "config.toml (default) or managed_config.toml (when constrained) sandbox_workspace_write.writable_roots",
        note: "A constrained list is pinned to the effective value.",
    },
    Mapping {
        setting: "sandbox.deny_read",
        coverage: Coverage::Native,
        keys: "requirements.toml [permissions.filesystem] deny_read",
        note: "Each path and everything under it (`path`, `path/**`).",
    },
    Mapping {
        setting: "network.allowed_domains",
        coverage: Coverage::Native,
        keys: "requirements.toml [permissions.network.domains] = \"allow\"",
        note: "Applies to Codex's managed network proxy.",
    },
    Mapping {
        setting: "network.denied_domains",
        coverage: Coverage::Native,
        keys: "requirements.toml [permissions.network.domains] = \"deny\"",
        note: "",
    },
    Mapping {
        setting: "network.unknown_domains",
        coverage: Coverage::Hook,
        keys: "requirements.toml permissions.network.managed_allowed_domains_only (deny)",
        note: "`deny` is native; `ask` has no Codex equivalent and is left to the hook for the commands it sees.",
    },
    Mapping {
        setting: "commands.rules",
        coverage: Coverage::Native,
        keys: "requirements.toml [rules] prefix_rules",
        note: "`prompt` and `forbidden` rules only: requirements may not allow. Codex matches literal prefixes; wrappers (`sudo -u`, `bash -c`) are judged by the hook.",
    },
    Mapping {
        setting: "mcp.allowed_servers",
        coverage: Coverage::Native,
        keys: "requirements.toml [mcp_servers.NAME] identity",
        note: "Name and command or URL must match; `args` are not compared by Codex. An empty list disables every server.",
    },
    Mapping {
        setting: "mcp.managed_only",
        coverage: Coverage::Native,
        keys: "requirements.toml [mcp_servers]",
        note: "The requirements allowlist cannot be widened by any user or project config.",
    },
    Mapping {
        setting: "auth.method",
        coverage: Coverage::Native,
        keys: "requirements.toml allowed_login_methods; config.toml forced_login_method",
        note: "`sso` and `device-code` are both ChatGPT sign-in (`chatgpt`); `api-key` is `api`. Codex cannot tell SSO from device code.",
    },
    Mapping {
        setting: "auth.workspace_ids",
        coverage: Coverage::Native,
        keys: "requirements.toml allowed_chatgpt_workspaces",
        note: "",
    },
    Mapping {
        setting: "auth.credential_store",
        coverage: Coverage::Native,
        keys: "config.toml (default) or managed_config.toml (when constrained) cli_auth_credentials_store",
        note: "Codex has no allow-list: a constrained setting is pinned to its effective value.",
    },
    Mapping {
        setting: "models.allowed",
        coverage: Coverage::NotEnforceable,
        keys: "—",
        note: "Codex has no model allowlist (`models.allowed` in requirements.toml is ignored by Codex 0.171).",
    },
    Mapping {
        setting: "models.default",
        coverage: Coverage::Native,
        keys: "config.toml (default) or managed_config.toml (when constrained) model",
        note: "Written only when it is not a Claude or Gemini model name.",
    },
    Mapping {
        setting: "telemetry.otel.exporter",
        coverage: Coverage::Native,
        keys: "requirements.toml (when constrained) or config.toml [otel] exporter",
        note: "",
    },
    Mapping {
        setting: "telemetry.otel.endpoint",
        coverage: Coverage::Native,
        keys: "[otel] exporter.<kind>.endpoint",
        note: "",
    },
    Mapping {
        setting: "telemetry.otel.protocol",
        coverage: Coverage::Native,
        keys: "[otel] exporter.otlp-http.protocol",
        note: "",
    },
    Mapping {
        setting: "telemetry.otel.headers",
        coverage: Coverage::Native,
        keys: "[otel] exporter.<kind>.headers",
        note: "",
    },
    Mapping {
        setting: "telemetry.log_user_prompt",
        coverage: Coverage::Native,
        keys: "requirements.toml (when constrained) or config.toml otel.log_user_prompt",
        note: "",
    },
    Mapping {
        setting: "audit.log",
        coverage: Coverage::Hook,
        keys: "requirements.toml [[hooks.PreToolUse]] → mandate hook codex",
        note: "Decisions the hook makes are logged by mandate; Codex itself keeps no audit log.",
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

fn approval(v: &str) -> &str {
    v
}

fn sandbox(v: &str) -> &str {
    match v {
        "full-access" => "danger-full-access",
        other => other,
    }
}

fn reviewer(v: &str) -> &str {
    match v {
        "auto-review" => "auto_review",
        other => other,
    }
}

fn login(v: &str) -> &str {
    match v {
        "api-key" => "api",
        _ => "chatgpt",
    }
}

/// `values` as a TOML array with `first` (when present) leading.
fn first_then(first: Option<&str>, values: &[String], map: fn(&str) -> &str) -> Array {
    let mut out: Vec<&str> = Vec::new();
    for v in first.into_iter().chain(values.iter().map(String::as_str)) {
        let mapped = map(v);
        if values.iter().any(|x| x == v) && !out.contains(&mapped) {
            out.push(mapped);
        }
    }
    out.into_iter().collect()
}

fn inline(pairs: &[(&str, toml_edit::Value)]) -> InlineTable {
    let mut t = InlineTable::new();
    for (k, v) in pairs {
        t.insert(*k, v.clone());
    }
    t
}

fn string_array<I: IntoIterator<Item = S>, S: AsRef<str>>(values: I) -> Array {
    values
        .into_iter()
        .map(|s| s.as_ref().to_owned())
        .collect::<Array>()
}

fn headers(effective: &Effective) -> Option<InlineTable> {
    let map = effective.get("telemetry.otel.headers")?.as_object()?;
    if map.is_empty() {
        return None;
    }
    let mut t = InlineTable::new();
    for (k, v) in map {
        if let Some(s) = v.as_str() {
            t.insert(k, s.into());
        }
    }
    Some(t)
}

/// `[otel] exporter` for the effective telemetry settings.
fn exporter(effective: &Effective) -> Option<toml_edit::Value> {
    let kind = effective.get_str("telemetry.otel.exporter")?;
    if kind == "none" {
        return Some("none".into());
    }
    let endpoint = effective.get_str("telemetry.otel.endpoint")?;
    let mut inner = InlineTable::new();
    inner.insert("endpoint", endpoint.into());
    let name = if kind == "otlp-grpc" {
        "otlp-grpc"
    } else {
        let protocol = match effective.get_str("telemetry.otel.protocol") {
            Some("json") => "json",
            _ => "binary",
        };
        inner.insert("protocol", protocol.into());
        "otlp-http"
    };
    if let Some(h) = headers(effective) {
        inner.insert("headers", toml_edit::Value::InlineTable(h));
    }
    Some(toml_edit::Value::InlineTable(inline(&[(
        name,
        toml_edit::Value::InlineTable(inner),
    )])))
}

fn table<'d>(doc: &'d mut DocumentMut, key: &str) -> &'d mut Table {
    if !doc.contains_key(key) {
        let mut t = Table::new();
        t.set_implicit(true);
        doc.insert(key, Item::Table(t));
    }
    doc[key].as_table_mut().expect("just inserted as a table")
}

fn header(doc: &mut DocumentMut, text: &str) {
    doc.decor_mut().set_prefix(text);
}

fn requirements(effective: &Effective, cx: &RenderContext) -> DocumentMut {
    let mut doc = DocumentMut::new();
    if let Some(allowed) = admitted(effective, "approvals.policy", &APPROVALS) {
        let first = effective.get_str("approvals.policy");
        doc["allowed_approval_policies"] = toml_edit::value(first_then(first, &allowed, approval));
    }
    if let Some(mut allowed) = admitted(effective, "sandbox.mode", &SANDBOX) {
        // Codex falls back to read-only whatever the list says: it must be allowed.
        if !allowed.iter().any(|v| v == "read-only") {
            allowed.push("read-only".into());
        }
        let first = effective.get_str("sandbox.mode");
        doc["allowed_sandbox_modes"] = toml_edit::value(first_then(first, &allowed, sandbox));
    }
    if let Some(allowed) = admitted(effective, "approvals.reviewer", &REVIEWERS) {
        let first = effective.get_str("approvals.reviewer");
        doc["allowed_approvals_reviewers"] =
            toml_edit::value(first_then(first, &allowed, reviewer));
    }
    if let Some(allowed) = admitted(effective, "auth.method", &AUTH) {
        let first = effective.get_str("auth.method");
        doc["allowed_login_methods"] = toml_edit::value(first_then(first, &allowed, login));
    }
    if is_constrained(effective, "auth.workspace_ids")
        && let Some(ids) = effective.get_strings("auth.workspace_ids")
    {
        doc["allowed_chatgpt_workspaces"] = toml_edit::value(string_array(ids));
    }

    let deny_read = paths(effective, "sandbox.deny_read");
    if !deny_read.is_empty() {
        let mut paths = Vec::new();
        for p in &deny_read {
            let p = p.trim_end_matches('/');
            paths.push(p.to_owned());
            paths.push(format!("{p}/**"));
        }
        let permissions = table(&mut doc, "permissions");
        let mut fs = Table::new();
        fs.insert("deny_read", toml_edit::value(string_array(paths)));
        permissions.insert("filesystem", Item::Table(fs));
    }

    let allowed_domains = domains(effective, "network.allowed_domains");
    let denied_domains = domains(effective, "network.denied_domains");
    let unknown = effective.get_str("network.unknown_domains");
    let domains_managed = is_constrained(effective, "network.allowed_domains")
        || !allowed_domains.is_empty()
        || !denied_domains.is_empty();
    if domains_managed {
        let permissions = table(&mut doc, "permissions");
        let mut network = Table::new();
        if unknown == Some("deny") {
            network.insert("managed_allowed_domains_only", toml_edit::value(true));
        }
        let mut domains = Table::new();
        for d in &allowed_domains {
            domains.insert(d, toml_edit::value("allow"));
        }
        // Denied entries win: written last, they replace an equal allowed entry.
        for d in &denied_domains {
            domains.insert(d, toml_edit::value("deny"));
        }
        network.insert("domains", Item::Table(domains));
        permissions.insert("network", Item::Table(network));
    }

    if let Some(servers) = mcp_servers(effective) {
        let mut t = Table::new();
        for s in &servers {
            let identity = match (&s.command, &s.url) {
                (Some(c), _) => inline(&[("command", c.as_str().into())]),
                (None, Some(u)) => inline(&[("url", u.as_str().into())]),
                (None, None) => continue,
            };
            let mut entry = Table::new();
            entry.insert(
                "identity",
                toml_edit::value(toml_edit::Value::InlineTable(identity)),
            );
            t.insert(&s.name, Item::Table(entry));
        }
        doc.insert("mcp_servers", Item::Table(t));
    }

    let rules: Vec<_> = command_rules(effective)
        .into_iter()
        .filter(|r| r.decision == "forbidden" || r.decision == "prompt")
        .collect();
    if !rules.is_empty() {
        let mut list = Array::new();
        for r in &rules {
            let pattern: Array = r
                .pattern
                .iter()
                .map(|t| toml_edit::Value::InlineTable(inline(&[("token", t.as_str().into())])))
                .collect();
            let mut rule = inline(&[
                ("pattern", toml_edit::Value::Array(pattern)),
                ("decision", r.decision.as_str().into()),
            ]);
            if let Some(j) = &r.justification {
                rule.insert("justification", j.as_str().into());
            }
            list.push(toml_edit::Value::InlineTable(rule));
        }
        for v in list.iter_mut() {
            v.decor_mut().set_prefix("\n  ");
        }
        list.set_trailing("\n");
        list.set_trailing_comma(true);
        let mut t = Table::new();
        t.insert("prefix_rules", toml_edit::value(list));
        doc.insert("rules", Item::Table(t));
    }

    let mut otel = Table::new();
    if (is_constrained(effective, "telemetry.otel.exporter")
        || is_constrained(effective, "telemetry.otel.endpoint"))
        && let Some(e) = exporter(effective)
    {
        otel.insert("exporter", toml_edit::value(e));
    }
    if is_constrained(effective, "telemetry.log_user_prompt")
        && let Some(b) = effective.get_bool("telemetry.log_user_prompt")
    {
        otel.insert("log_user_prompt", toml_edit::value(b));
    }
    if !otel.is_empty() {
        doc.insert("otel", Item::Table(otel));
    }

    doc["allow_managed_hooks_only"] = toml_edit::value(true);
    let mut hooks = Table::new();
    let mut group = Table::new();
    group.insert("matcher", toml_edit::value("*"));
    let handler = inline(&[
        ("type", "command".into()),
        ("command", cx.hook_command(AgentKind::Codex).into()),
    ]);
    group.insert(
        "hooks",
        toml_edit::value(
            [toml_edit::Value::InlineTable(handler)]
                .into_iter()
                .collect::<Array>(),
        ),
    );
    let mut groups = toml_edit::ArrayOfTables::new();
    groups.push(group);
    hooks.insert("PreToolUse", Item::ArrayOfTables(groups));
    doc.insert("hooks", Item::Table(hooks));
    header(
        &mut doc,
        "# Written by `mandate apply` from the machine's managed policy; do not edit.\n# Constraints: Codex clamps any other value to the first allowed entry.\n",
    );
    doc
}

/// Where a non-requirement setting goes: defaults to config.toml, constrained ones pinned.
struct Split {
    defaults: DocumentMut,
    pins: DocumentMut,
}

impl Split {
    fn doc(&mut self, effective: &Effective, key: &str) -> &mut DocumentMut {
        if is_constrained(effective, key) {
            &mut self.pins
        } else {
            &mut self.defaults
        }
    }
}

fn configs(effective: &Effective) -> Split {
    let mut split = Split {
        defaults: DocumentMut::new(),
        pins: DocumentMut::new(),
    };
    let d = &mut split.defaults;
    if let Some(v) = effective.get_str("approvals.policy")
        && v != "untrusted"
    {
        d["approval_policy"] = toml_edit::value(approval(v));
    }
    if let Some(v) = effective.get_str("sandbox.mode") {
        d["sandbox_mode"] = toml_edit::value(sandbox(v));
    }
    if let Some(v) = effective.get_str("approvals.reviewer") {
        d["approvals_reviewer"] = toml_edit::value(reviewer(v));
    }
    if let Some(v) = effective.get_str("auth.method")
        && !is_constrained(effective, "auth.method")
    {
        d["forced_login_method"] = toml_edit::value(login(v));
    }
    if let Some(v) = effective.get_str("auth.credential_store") {
        split.doc(effective, "auth.credential_store")["cli_auth_credentials_store"] =
            toml_edit::value(v);
    }
    if let Some(v) = super::vendor_default_model(effective, AgentKind::Codex) {
        split.doc(effective, "models.default")["model"] = toml_edit::value(v);
    }
    if let Some(v) = effective.get_bool("sandbox.network") {
        let doc = split.doc(effective, "sandbox.network");
        table(doc, "sandbox_workspace_write").insert("network_access", toml_edit::value(v));
    }
    let roots = paths(effective, "sandbox.writable_roots");
    if !roots.is_empty() || is_constrained(effective, "sandbox.writable_roots") {
        let doc = split.doc(effective, "sandbox.writable_roots");
        table(doc, "sandbox_workspace_write")
            .insert("writable_roots", toml_edit::value(string_array(roots)));
    }
    if !is_constrained(effective, "telemetry.otel.exporter")
        && !is_constrained(effective, "telemetry.otel.endpoint")
        && let Some(e) = exporter(effective)
    {
        table(&mut split.defaults, "otel").insert("exporter", toml_edit::value(e));
    }
    if !is_constrained(effective, "telemetry.log_user_prompt")
        && let Some(b) = effective.get_bool("telemetry.log_user_prompt")
    {
        table(&mut split.defaults, "otel").insert("log_user_prompt", toml_edit::value(b));
    }
    header(
        &mut split.defaults,
        "# Written by `mandate apply`: the machine's managed defaults (Codex's system layer).\n# Your own ~/.codex/config.toml may change them within /etc/codex/requirements.toml.\n",
    );
    header(
        &mut split.pins,
        "# Written by `mandate apply`: values managed policy constrains and Codex has no\n# requirement for. Codex applies them over every user setting at each launch.\n",
    );
    split
}

fn has_content(doc: &DocumentMut) -> bool {
    doc.iter().next().is_some()
}

impl Agent for Codex {
    fn kind(&self) -> AgentKind {
        AgentKind::Codex
    }

    fn executable(&self) -> &'static str {
        "codex"
    }

    fn min_version(&self) -> Version {
        Version(0, 171, 0)
    }

    fn tested_version(&self) -> Version {
        Version(0, 171, 0)
    }

    fn mappings(&self) -> &'static [Mapping] {
        MAPPINGS
    }

    fn paths(&self, _platform: Platform) -> Vec<PathBuf> {
        [REQUIREMENTS, CONFIG, MANAGED_CONFIG]
            .into_iter()
            .map(PathBuf::from)
            .collect()
    }

    fn render(
        &self,
        effective: &Effective,
        cx: &RenderContext,
    ) -> Result<Vec<RenderedFile>, RenderError> {
        let file = |path: &str, doc: &DocumentMut| RenderedFile {
            agent: AgentKind::Codex,
            path: PathBuf::from(path),
            bytes: doc.to_string().into_bytes(),
        };
        let split = configs(effective);
        let mut files = vec![
            file(REQUIREMENTS, &requirements(effective, cx)),
            file(CONFIG, &split.defaults),
        ];
        if has_content(&split.pins) {
            files.push(file(MANAGED_CONFIG, &split.pins));
        }
        Ok(files)
    }
}

/// The `allowed_approval_policies` a rendered requirements file holds (for tests and `doctor`).
pub fn allowed_approval_policies(requirements: &str) -> Option<Vec<String>> {
    let doc: DocumentMut = requirements.parse().ok()?;
    let value = super::validate::toml_to_json(doc.get("allowed_approval_policies")?);
    value.as_array().map(|a| {
        a.iter()
            .filter_map(serde_json::Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}
