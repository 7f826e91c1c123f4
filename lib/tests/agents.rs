#![allow(clippy::unwrap_used)]
//! Agent adapters: golden files for the example profiles and the demo, and
//! a property test that every rendered file passes the agent's own schema
//! and no rendered constraint is looser than the requirement it comes from.

use std::fs;
use std::path::{Path, PathBuf};

use mandate::agents::{self, AgentKind, RenderContext, RenderedFile, validate};
use mandate::resolve::Effective;
use mandate::{Layer, Platform, Schema, SourceKind, resolve};
use proptest::prelude::*;
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cx() -> RenderContext {
    RenderContext {
        platform: Platform::Linux,
        mandate: PathBuf::from("/usr/bin/mandate"),
    }
}

/// The machine's effective configuration for policy files (managed layers only).
fn machine(files: &[PathBuf]) -> Effective {
    let layers = files
        .iter()
        .map(|p| {
            let text = fs::read_to_string(p).unwrap();
            Layer::parse_policy(
                Schema::bundled(),
                SourceKind::System,
                p.display().to_string(),
                &text,
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    resolve(Schema::bundled(), layers)
}

fn render(kind: AgentKind, effective: &Effective) -> Vec<RenderedFile> {
    agents::render_checked(kind.agent(), effective, &cx()).unwrap_or_else(|e| panic!("{e}"))
}

fn golden(kind: AgentKind, effective: &Effective) -> String {
    render(kind, effective)
        .iter()
        .map(|f| format!("# ==> {} <==\n{}", f.path.display(), f.text()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn profiles() -> Vec<(&'static str, Vec<PathBuf>)> {
    let w = workspace();
    vec![
        ("strict", vec![w.join("profiles/strict.toml")]),
        ("standard", vec![w.join("profiles/standard.toml")]),
        ("permissive", vec![w.join("profiles/permissive.toml")]),
        (
            "demo",
            vec![
                w.join("profiles/demo/etc/mandate/policy.d/10-security-baseline.toml"),
                w.join("profiles/demo/etc/mandate/policy.d/20-team-platform.toml"),
            ],
        ),
    ]
}

#[test]
fn golden_files_per_agent_and_profile() {
    for (name, files) in profiles() {
        let effective = machine(&files);
        for kind in AgentKind::ALL {
            insta::assert_snapshot!(format!("{}__{name}", kind.name()), golden(kind, &effective));
        }
    }
}

#[test]
fn codex_puts_the_effective_approval_first_and_always_allows_read_only() {
    let effective = machine(&[workspace().join("profiles/strict.toml")]);
    let files = render(AgentKind::Codex, &effective);
    let req = validate::parse(validate::FileSchema::CodexRequirements, files[0].text()).unwrap();
    assert_eq!(
        req["allowed_approval_policies"],
        mandate::json!(["untrusted", "on-request"])
    );
    assert_eq!(
        req["allowed_sandbox_modes"],
        mandate::json!(["read-only", "workspace-write"])
    );
    // `untrusted` is fatal in config.toml for Codex 0.171: never written there.
    assert!(
        !files[1].text().contains("untrusted"),
        "{}",
        files[1].text()
    );
    // approval_policy and sandbox_mode in managed_config.toml would replace the allow-lists.
    for f in &files {
        if f.path.ends_with("managed_config.toml") {
            assert!(!f.text().contains("approval_policy"));
            assert!(!f.text().contains("sandbox_mode"));
        }
    }
}

#[test]
fn claude_writes_companion_keys() {
    let effective = machine(&[workspace().join("profiles/strict.toml")]);
    let files = render(AgentKind::ClaudeCode, &effective);
    let s: Value = serde_json::from_slice(&files[0].bytes).unwrap();
    assert_eq!(s["allowManagedMcpServersOnly"], true);
    assert!(s["allowedMcpServers"].is_array());
    assert_eq!(s["enforceAvailableModels"], true);
    assert_eq!(s["availableModels"], mandate::json!(["claude-sonnet-4-5"]));
    assert_eq!(s["sandbox"]["enabled"], true);
    assert_eq!(s["sandbox"]["failIfUnavailable"], true);
    assert_eq!(s["allowManagedHooksOnly"], true);
    assert_eq!(
        s["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
        "/usr/bin/mandate hook claude"
    );
    assert_eq!(s["permissions"]["disableBypassPermissionsMode"], "disable");
}

#[test]
fn gemini_never_writes_an_empty_allowlist() {
    let effective =
        machine(&[workspace().join("profiles/demo/etc/mandate/policy.d/20-team-platform.toml")]);
    // The demo's platform team admits only acme-docs and sets no list: the
    // strictest admissible list is empty, which Gemini would read as "no allowlist".
    assert_eq!(
        effective.get("mcp.allowed_servers"),
        Some(&mandate::json!([]))
    );
    let files = render(AgentKind::GeminiCli, &effective);
    let s: Value = serde_json::from_slice(&files[0].bytes).unwrap();
    assert_eq!(
        s["mcp"]["allowed"],
        mandate::json!([agents::gemini::NO_SERVER])
    );
}

#[test]
fn model_names_go_to_their_own_vendor() {
    assert!(agents::is_vendor_model(
        AgentKind::ClaudeCode,
        "claude-opus-4-1"
    ));
    assert!(agents::is_vendor_model(AgentKind::ClaudeCode, "sonnet"));
    assert!(!agents::is_vendor_model(
        AgentKind::ClaudeCode,
        "gpt-5-codex"
    ));
    assert!(agents::is_vendor_model(AgentKind::Codex, "gpt-5-codex"));
    assert!(!agents::is_vendor_model(AgentKind::Codex, "gemini-2.5-pro"));
    assert!(agents::is_vendor_model(
        AgentKind::GeminiCli,
        "gemini-2.5-pro"
    ));
}

#[test]
fn a_broken_rendering_is_refused_by_the_schema() {
    // Only validated in memory: the path names the file, nothing is written.
    let file = RenderedFile {
        agent: AgentKind::GeminiCli,
        path: "/etc/gemini-cli/settings.json".into(),
        bytes: br#"{"general": {"defaultApprovalMode": "yolo"}}"#.to_vec(),
    };
    let e = validate::check(&file).unwrap_err().to_string();
    assert!(e.contains("/general/defaultApprovalMode"), "{e}");
}

// ---------------------------------------------------------------------------
// Property: random managed policies render files that pass the agents'
// schemas, and no rendered constraint is looser than mandate's.

const APPROVALS: [&str; 4] = ["untrusted", "on-request", "on-failure", "never"];
const SANDBOX: [&str; 3] = ["read-only", "workspace-write", "full-access"];
const AUTH: [&str; 3] = ["sso", "device-code", "api-key"];
const TOKENS: [&str; 6] = ["git", "push", "sudo", "rm", "-rf", "curl"];
const DOMAINS: [&str; 4] = ["github.com", "*.npmjs.org", "pastebin.com", "example.com"];
const PATHS: [&str; 3] = ["~/.ssh", "/etc/secrets", "~/.aws/credentials"];
const MODELS: [&str; 4] = [
    "gpt-5-codex",
    "claude-sonnet-4-5",
    "gemini-2.5-pro",
    "sonnet",
];

fn subset(all: &'static [&'static str]) -> impl Strategy<Value = Vec<&'static str>> {
    proptest::sample::subsequence(all, 1..=all.len())
}

fn quoted(values: &[&str]) -> String {
    let q: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    format!("[{}]", q.join(", "))
}

/// A requirement on an ordered enum: `allowed`, `max` or `value`.
fn enum_requirement(all: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        subset(all).prop_map(|s| Some(format!("{{ allowed = {} }}", quoted(&s)))),
        proptest::sample::select(all).prop_map(|v| Some(format!("{{ max = \"{v}\" }}"))),
        proptest::sample::select(all).prop_map(|v| Some(format!("{{ value = \"{v}\" }}"))),
    ]
}

fn rule() -> impl Strategy<Value = String> {
    (
        proptest::sample::subsequence(&TOKENS[..], 1..=3),
        proptest::sample::select(&["allow", "prompt", "forbidden"][..]),
        proptest::option::of("[a-z ]{1,12}"),
    )
        .prop_map(|(p, d, j)| {
            let j = j
                .filter(|j| !j.trim().is_empty())
                .map(|j| format!(", justification = \"{j}\""))
                .unwrap_or_default();
            format!("{{ pattern = {}, decision = \"{d}\"{j} }}", quoted(&p))
        })
}

fn server() -> impl Strategy<Value = String> {
    ("[a-z][a-z0-9-]{0,7}", any::<bool>()).prop_map(|(n, stdio)| {
        if stdio {
            format!("{{ name = \"{n}\", command = \"/opt/{n}/bin/mcp\" }}")
        } else {
            format!("{{ name = \"{n}\", url = \"https://mcp.example.com/{n}\" }}")
        }
    })
}

#[derive(Debug, Clone)]
struct Policy {
    text: String,
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        (
            proptest::option::of(proptest::sample::select(&APPROVALS[..])),
            enum_requirement(&APPROVALS),
            proptest::option::of(proptest::sample::select(&SANDBOX[..])),
            enum_requirement(&SANDBOX),
            enum_requirement(&AUTH),
            proptest::collection::vec(rule(), 0..4),
        ),
        (
            proptest::option::of(proptest::collection::vec(server(), 0..3)),
            proptest::sample::subsequence(&DOMAINS[..], 0..=2),
            proptest::sample::subsequence(&DOMAINS[..], 0..=2),
            proptest::sample::subsequence(&PATHS[..], 0..=3),
            proptest::option::of(proptest::sample::subsequence(&MODELS[..], 0..=4)),
            proptest::option::of(proptest::sample::select(
                &["none", "otlp-http", "otlp-grpc"][..],
            )),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (approval, approval_req, mode, mode_req, auth_req, rules),
                (servers, allowed, denied, deny_read, models, exporter, network),
            )| {
                let mut s = String::from(
                    "[policy]\nid = \"p\"\nversion = 1\nexpires = 2030-01-01T00:00:00Z\n\n[settings]\n",
                );
                if let Some(a) = approval {
                    s.push_str(&format!("approvals.policy = \"{a}\"\n"));
                }
                if let Some(m) = mode {
                    s.push_str(&format!("sandbox.mode = \"{m}\"\n"));
                }
                s.push_str(&format!("sandbox.network = {network}\n"));
                if !rules.is_empty() {
                    s.push_str(&format!("commands.rules = [{}]\n", rules.join(", ")));
                }
                if let Some(servers) = &servers {
                    s.push_str(&format!("mcp.allowed_servers = [{}]\n", servers.join(", ")));
                }
                s.push_str(&format!("network.allowed_domains = {}\n", quoted(&allowed)));
                s.push_str(&format!("network.denied_domains = {}\n", quoted(&denied)));
                s.push_str(&format!("sandbox.deny_read = {}\n", quoted(&deny_read)));
                if let Some(models) = &models {
                    s.push_str(&format!("models.allowed = {}\n", quoted(models)));
                }
                if let Some(e) = exporter {
                    s.push_str(&format!("telemetry.otel.exporter = \"{e}\"\n"));
                    s.push_str("telemetry.otel.endpoint = \"https://otel.example.com:4318\"\n");
                    s.push_str("telemetry.otel.headers = { \"x-api-key\" = \"k\" }\n");
                }
                s.push_str("\n[requirements]\n");
                if let Some(r) = approval_req {
                    s.push_str(&format!("\"approvals.policy\" = {r}\n"));
                }
                if let Some(r) = mode_req {
                    s.push_str(&format!("\"sandbox.mode\" = {r}\n"));
                }
                if let Some(r) = auth_req {
                    s.push_str(&format!("\"auth.method\" = {r}\n"));
                }
                Policy { text: s }
            },
        )
}

fn strings_at(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn rendered_files_pass_the_agents_schemas_and_are_never_looser(p in policy()) {
        let layer = Layer::parse_policy(Schema::bundled(), SourceKind::System, "/etc/mandate/policy.d/p.toml", &p.text);
        prop_assume!(layer.is_ok());
        let layer = layer.unwrap();
        let eff = resolve(Schema::bundled(), vec![layer]);
        let approvals = agents::admitted(&eff, "approvals.policy", &APPROVALS);
        let modes = agents::admitted(&eff, "sandbox.mode", &SANDBOX);
        let forbidden: Vec<String> = agents::command_rules(&eff)
            .into_iter()
            .filter(|r| r.decision == "forbidden")
            .map(|r| r.pattern.join(" "))
            .collect();

        for kind in AgentKind::ALL {
            let files = agents::render_checked(kind.agent(), &eff, &cx());
            prop_assert!(files.is_ok(), "{}\n{}", files.unwrap_err(), p.text);
            let files = files.unwrap();
            let parsed: Vec<(PathBuf, Value)> = files
                .iter()
                .map(|f| {
                    let schema = validate::FileSchema::for_path(&f.path).unwrap();
                    (f.path.clone(), validate::parse(schema, f.text()).unwrap())
                })
                .collect();
            let get = |name: &str| parsed.iter().find(|(path, _)| path.ends_with(name)).map(|(_, v)| v.clone());
            match kind {
                AgentKind::Codex => {
                    let req = get("requirements.toml").unwrap();
                    if let Some(admitted) = &approvals {
                        let listed = strings_at(&req["allowed_approval_policies"]);
                        prop_assert!(!listed.is_empty());
                        prop_assert!(listed.iter().all(|v| admitted.contains(v)), "{listed:?} ⊄ {admitted:?}");
                        if let Some(first) = eff.get_str("approvals.policy") {
                            prop_assert_eq!(&listed[0], first);
                        }
                    }
                    if let Some(admitted) = &modes {
                        let listed = strings_at(&req["allowed_sandbox_modes"]);
                        prop_assert!(listed.contains(&"read-only".to_owned()));
                        prop_assert!(
                            listed.iter().all(|v| v == "read-only" || admitted.contains(&v.replace("danger-full-access", "full-access"))),
                            "{listed:?} ⊄ {admitted:?}"
                        );
                    }
                    let rules = req["rules"]["prefix_rules"].as_array().cloned().unwrap_or_default();
                    for f in &forbidden {
                        prop_assert!(rules.iter().any(|r| {
                            r["decision"] == "forbidden"
                                && r["pattern"].as_array().unwrap().iter().map(|t| t["token"].as_str().unwrap()).collect::<Vec<_>>().join(" ") == *f
                        }), "forbidden {f} missing");
                    }
                    if let Some(config) = get("config.toml") {
                        prop_assert_ne!(config.get("approval_policy"), Some(&Value::from("untrusted")));
                    }
                    if let Some(pins) = get("managed_config.toml") {
                        prop_assert!(pins.get("approval_policy").is_none() && pins.get("sandbox_mode").is_none());
                    }
                }
                AgentKind::ClaudeCode => {
                    let s = get("managed-settings.json").unwrap();
                    if approvals.as_ref().is_some_and(|a| !a.iter().any(|v| v == "never")) {
                        prop_assert_eq!(&s["permissions"]["disableBypassPermissionsMode"], "disable");
                    }
                    if modes.as_ref().is_some_and(|m| !m.iter().any(|v| v == "full-access")) {
                        prop_assert_eq!(&s["sandbox"]["enabled"], true);
                        prop_assert_eq!(&s["sandbox"]["failIfUnavailable"], true);
                        prop_assert_eq!(&s["sandbox"]["allowUnsandboxedCommands"], false);
                    }
                    let deny = strings_at(&s["permissions"]["deny"]);
                    for f in &forbidden {
                        prop_assert!(deny.contains(&format!("Bash({f} *)")), "forbidden {f} missing: {deny:?}");
                    }
                    if s.get("allowedMcpServers").is_some() {
                        prop_assert_eq!(&s["allowManagedMcpServersOnly"], true);
                    }
                    if s.get("availableModels").is_some() {
                        prop_assert_eq!(&s["enforceAvailableModels"], true);
                    }
                    prop_assert_eq!(&s["allowManagedHooksOnly"], true);
                }
                AgentKind::GeminiCli => {
                    let s = get("settings.json").unwrap();
                    if approvals.as_ref().is_some_and(|a| !a.iter().any(|v| v == "never")) {
                        prop_assert_eq!(&s["security"]["disableYoloMode"], true);
                    }
                    if let Some(allowed) = s.get("mcp").and_then(|m| m.get("allowed")) {
                        prop_assert!(!strings_at(allowed).is_empty(), "an empty mcp.allowed admits every server");
                    }
                    if !forbidden.is_empty() {
                        let policy = get("mandate.toml").unwrap();
                        let rules = policy["rule"].as_array().unwrap();
                        for f in &forbidden {
                            prop_assert!(rules.iter().any(|r| r["decision"] == "deny" && r["commandPrefix"] == *f));
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn the_machine_scope_reads_managed_layers_only() {
    use mandate::{Environment, Options, Resolver, Scope};
    let env = Environment::fixed(time::macros::datetime!(2026-06-01 00:00 UTC));
    let options = |scope| Options {
        root: Some(workspace().join("profiles/demo")),
        platform: Platform::Linux,
        user: Some("ana".into()),
        cwd: Some(workspace().join("profiles/demo/home/ana/src/webapp")),
        session: vec!["sandbox.mode=read-only".into()],
        scope,
        ..Options::default()
    };
    let caller = Resolver::new(options(Scope::Caller)).resolve(&env).unwrap();
    let machine = Resolver::new(options(Scope::Machine))
        .resolve(&env)
        .unwrap();
    let names = |e: &Effective| e.sources.iter().map(|s| s.name.name()).collect::<Vec<_>>();
    assert!(names(&caller).contains(&"user"), "{:?}", names(&caller));
    assert!(names(&caller).contains(&"session"), "{:?}", names(&caller));
    for unmanaged in ["user", "project", "session", "mdm-user"] {
        assert!(
            !names(&machine).contains(&unmanaged),
            "{:?}",
            names(&machine)
        );
    }
    assert_eq!(caller.get_str("sandbox.mode"), Some("read-only"));
    assert_eq!(machine.get_str("sandbox.mode"), Some("workspace-write"));
    assert_eq!(machine.keys["sandbox.mode"].source, "system");
}

#[test]
fn docs_agents_md_has_every_mapping_row() {
    let doc = fs::read_to_string(workspace().join("docs/agents.md")).unwrap();
    for kind in AgentKind::ALL {
        let heading = format!("(`{}`)\n", kind.name());
        let start = doc
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/agents.md has no section for {kind}"));
        let section = &doc[start..];
        let section = &section[..section[1..].find("\n### ").map_or(section.len(), |i| i + 1)];
        for m in kind.agent().mappings() {
            if m.setting.starts_with("agents.") {
                continue;
            }
            let row = format!("| `{}` | {} |", m.setting, m.coverage.label());
            assert!(
                section.contains(&row),
                "docs/agents.md, {kind}: expected a row starting {row}"
            );
        }
    }
}

#[test]
fn domains_and_paths_reach_the_agents_in_canonical_form() {
    let layer = Layer::parse_policy(
        Schema::bundled(),
        SourceKind::System,
        "/etc/mandate/policy.d/10.toml",
        "[settings]\nnetwork.denied_domains = [\"PasteBin.COM\", \"pastebin.com\"]\nsandbox.deny_read = [\"/etc/x/../secrets/\"]\n",
    )
    .unwrap();
    let effective = resolve(Schema::bundled(), vec![layer]);
    let codex = render(AgentKind::Codex, &effective);
    let req = codex[0].text();
    assert!(req.contains("\"pastebin.com\" = \"deny\""), "{req}");
    assert!(!req.to_lowercase().contains("pastebin.com.\""), "{req}");
    assert!(
        req.contains("\"/etc/secrets\", \"/etc/secrets/**\""),
        "{req}"
    );
    let claude = render(AgentKind::ClaudeCode, &effective);
    let s: Value = serde_json::from_slice(&claude[0].bytes).unwrap();
    assert_eq!(
        s["sandbox"]["network"]["deniedDomains"],
        mandate::json!(["pastebin.com"])
    );
    assert!(
        strings_at(&s["permissions"]["deny"]).contains(&"Read(//etc/secrets/**)".to_owned()),
        "{s:#}"
    );
}
