//! `mandate hook AGENT`: an agent's pre-tool hook. Reads the tool call the
//! agent is about to make (JSON on stdin), decides it, and answers in the
//! agent's own protocol (JSON on stdout, exit code).
//!
//! | agent | event | deny | prompt | allow by a rule | no rule applies |
//! |---|---|---|---|---|---|
//! | Claude Code | `PreToolUse` | `permissionDecision: "deny"` | `"ask"` | `"allow"` | no output |
//! | Codex | `PreToolUse` | `permissionDecision: "deny"` | `"deny"` (Codex hooks cannot ask) | no output (Codex refuses `allow`) | no output |
//! | Gemini CLI | `BeforeTool` | `decision: "deny"` | `"deny"` (hooks cannot ask) | `{}` | `{}` |
//!
//! Input that cannot be read, or a policy that cannot be loaded, blocks the
//! call: exit 2 with the reason on stderr, which all three agents document
//! as "block this tool call".

use std::io::Read;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use mandate::decide::{Action, Decision, McpServer, Verdict};
use mandate::json;
use mandate::value::Value;

use crate::commands::decide::Engine;
use crate::{Globals, output};

/// The largest hook input read (a tool call with a large file write).
const MAX_INPUT: u64 = 32 * 1024 * 1024;

/// Exit code that blocks the tool call in every agent's hook protocol.
const EXIT_BLOCK: u8 = 2;

/// Which agent's protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Agent {
    /// Claude Code (`hooks.PreToolUse` in managed-settings.json).
    Claude,
    /// Codex (`PreToolUse` hooks in requirements.toml / config.toml).
    Codex,
    /// Gemini CLI (`hooks.BeforeTool` in the system settings.json).
    Gemini,
}

impl Agent {
    fn name(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
        }
    }
}

/// `mandate hook`.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The agent whose hook protocol to speak.
    pub agent: Agent,
    /// Do not append decisions to the audit log.
    #[arg(long)]
    pub no_audit: bool,
}

/// One tool call, read from the hook input.
#[derive(Debug, PartialEq)]
pub struct ToolCall {
    /// The event the agent fired.
    pub event: Option<String>,
    /// The tool's name.
    pub tool: String,
    /// The working directory of the agent.
    pub cwd: Option<String>,
    /// The actions the call performs, each with its input as given.
    pub actions: Vec<(Action, String)>,
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The URLs in free text (Gemini's `web_fetch` takes a prompt holding them).
fn urls_in(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || "<>\"'()[]".contains(c))
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', ';', ':']).to_owned())
        .collect()
}

/// Maps an agent's tool call to actions. Unknown tools map to none (no opinion).
pub fn tool_call(agent: Agent, input: &Value) -> Result<ToolCall, String> {
    let tool = s(input, "tool_name").ok_or("the hook input has no tool_name")?;
    let ti = input.get("tool_input").cloned().unwrap_or(Value::Null);
    let mut actions = Vec::new();
    let path = |key: &str| s(&ti, key);
    let mut push = |a: Action, text: String| actions.push((a, text));
    match (agent, tool.as_str()) {
        (Agent::Claude | Agent::Codex, "Bash" | "shell" | "local_shell" | "exec_command")
        | (Agent::Gemini, "run_shell_command" | "shell") => {
            match ti.get("command") {
                Some(Value::String(c)) => push(Action::Shell(c.clone()), c.clone()),
                // Codex's internal form: an argv.
                Some(Value::Array(argv)) => {
                    let argv: Vec<String> = argv
                        .iter()
                        .map(|a| a.as_str().map(str::to_owned))
                        .collect::<Option<_>>()
                        .ok_or("tool_input.command holds a non-string")?;
                    let text = argv.join(" ");
                    push(Action::Exec(argv), text);
                }
                _ => return Err(format!("{tool}: tool_input.command is missing")),
            }
        }
        (Agent::Claude | Agent::Codex, "WebFetch") => {
            let url = path("url").ok_or("WebFetch: tool_input.url is missing")?;
            push(Action::Url(url.clone()), url);
        }
        (Agent::Gemini, "web_fetch") => {
            let prompt = path("prompt").or(path("url")).unwrap_or_default();
            for u in urls_in(&prompt) {
                push(Action::Url(u.clone()), u);
            }
        }
        (Agent::Claude | Agent::Codex, "Read" | "NotebookRead") | (Agent::Gemini, "read_file") => {
            if let Some(p) = path("file_path")
                .or(path("absolute_path"))
                .or(path("notebook_path"))
                .or(path("path"))
            {
                push(Action::Read(p.clone()), p);
            }
        }
        (Agent::Claude | Agent::Codex, "Glob" | "Grep" | "LS")
        | (Agent::Gemini, "list_directory" | "glob" | "search_file_content") => {
            if let Some(p) = path("path").or(path("dir_path")) {
                push(Action::Read(p.clone()), p);
            }
        }
        (Agent::Gemini, "read_many_files") => {
            for p in ti
                .get("paths")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                push(Action::Read(p.to_owned()), p.to_owned());
            }
        }
        (Agent::Claude | Agent::Codex, "Write" | "Edit" | "MultiEdit" | "NotebookEdit")
        | (Agent::Gemini, "write_file" | "replace" | "edit") => {
            let p = path("file_path")
                .or(path("absolute_path"))
                .or(path("notebook_path"))
                .ok_or(format!("{tool}: tool_input.file_path is missing"))?;
            push(Action::Write(p.clone()), p);
        }
        (Agent::Claude | Agent::Codex, name) if name.starts_with("mcp__") => {
            let server = name["mcp__".len()..]
                .split("__")
                .next()
                .unwrap_or_default()
                .to_owned();
            push(
                Action::Mcp(McpServer {
                    name: server.clone(),
                    ..McpServer::default()
                }),
                name.to_owned(),
            );
        }
        (Agent::Gemini, name) if name.starts_with("mcp_") || input.get("mcp_context").is_some() => {
            // Gemini names MCP tools `mcp_<server>_<tool>`; server names may
            // hold `_`, so prefer the server name in mcp_context.
            let ctx = input.get("mcp_context").cloned().unwrap_or(Value::Null);
            let server = s(&ctx, "server_name")
                .or_else(|| s(&ctx, "serverName"))
                .unwrap_or_else(|| {
                    name.trim_start_matches("mcp_")
                        .split('_')
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                });
            let url = s(&ctx, "url").or_else(|| s(&ctx, "httpUrl"));
            let command = s(&ctx, "command");
            let args = ctx.get("args").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            });
            push(
                Action::Mcp(McpServer {
                    name: server,
                    command,
                    args,
                    url,
                }),
                name.to_owned(),
            );
        }
        _ => {}
    }
    Ok(ToolCall {
        event: s(input, "hook_event_name"),
        tool,
        cwd: s(input, "cwd"),
        actions,
    })
}

/// The strictest of several decisions (an explicit allow only when all are).
fn strictest(decisions: Vec<Decision>) -> Option<Decision> {
    let rank = |d: &Decision| match (d.decision, d.is_explicit()) {
        (Verdict::Allow, true) => 0,
        (Verdict::Allow, false) => 1,
        (Verdict::Prompt, _) => 2,
        (Verdict::Deny, _) => 3,
    };
    decisions
        .into_iter()
        .reduce(|a, b| if rank(&b) > rank(&a) { b } else { a })
}

fn reason(d: &Decision) -> String {
    let mut r = format!("mandate: {}", d.reason);
    if let Some(rule) = &d.rule {
        r.push_str(&format!(" (set by {} at {})", rule.source, rule.location));
    }
    r
}

/// The agent's answer: what to print on stdout (nothing when `None`).
pub fn answer(agent: Agent, d: Option<&Decision>) -> Option<Value> {
    let (verdict, explicit) = match d {
        Some(d) => (d.decision, d.is_explicit()),
        None => (Verdict::Allow, false),
    };
    match agent {
        Agent::Claude => {
            let decision = match (verdict, explicit) {
                (Verdict::Deny, _) => "deny",
                (Verdict::Prompt, _) => "ask",
                (Verdict::Allow, true) => "allow",
                (Verdict::Allow, false) => return None,
            };
            Some(json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": decision,
                    "permissionDecisionReason": d.map(reason).unwrap_or_default(),
                }
            }))
        }
        Agent::Codex => match verdict {
            Verdict::Allow => None,
            Verdict::Deny | Verdict::Prompt => {
                let mut why = d.map(reason).unwrap_or_default();
                if verdict == Verdict::Prompt {
                    why.push_str("; this needs approval, which a Codex hook cannot ask for: run it yourself or ask an admin");
                }
                Some(json!({
                    "hookSpecificOutput": {
                        "hookEventName": "PreToolUse",
                        "permissionDecision": "deny",
                        "permissionDecisionReason": why,
                    }
                }))
            }
        },
        Agent::Gemini => match verdict {
            Verdict::Allow => Some(json!({})),
            Verdict::Deny | Verdict::Prompt => {
                let mut why = d.map(reason).unwrap_or_default();
                if verdict == Verdict::Prompt {
                    why.push_str("; this needs approval, which a Gemini CLI hook cannot ask for: run it yourself or ask an admin");
                }
                Some(json!({ "decision": "deny", "reason": why }))
            }
        },
    }
}

fn block(message: &str) -> ExitCode {
    output::error(&format!("mandate: {message}; the tool call is blocked"));
    ExitCode::from(EXIT_BLOCK)
}

/// Reads one hook input, decides, answers.
pub fn run(globals: &Globals, args: &HookArgs) -> Result<ExitCode, crate::CliError> {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().take(MAX_INPUT).read_to_string(&mut text) {
        return Ok(block(&format!("cannot read the hook input: {e}")));
    }
    let input: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return Ok(block(&format!("the hook input is not JSON: {e}"))),
    };
    let call = match tool_call(args.agent, &input) {
        Ok(c) => c,
        Err(e) => return Ok(block(&e)),
    };
    if let Some(event) = &call.event
        && !matches!(event.as_str(), "PreToolUse" | "BeforeTool")
    {
        // Not a pre-tool event: nothing to decide.
        return Ok(ExitCode::SUCCESS);
    }
    if call.actions.is_empty() {
        if let Some(v) = answer(args.agent, None) {
            output::out(&v.to_string());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let engine = match Engine::load(globals, false, true) {
        Ok(e) => e,
        Err(e) => {
            return Ok(block(&format!(
                "the policy could not be loaded: {}",
                e.message
            )));
        }
    };
    let cwd = call.cwd.clone().or_else(|| engine.cwd(globals));
    let decisions: Vec<Decision> = call
        .actions
        .iter()
        .map(|(action, text)| {
            engine.decide(
                action,
                cwd.as_deref(),
                args.agent.name(),
                text,
                !args.no_audit,
            )
        })
        .collect();
    let d = strictest(decisions);
    if let Some(v) = answer(args.agent, d.as_ref()) {
        output::out(&v.to_string());
    }
    super::inspect::release_at_exit(engine);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn claude_tools_map_to_actions() {
        let call = |v: Value| tool_call(Agent::Claude, &v).unwrap().actions;
        assert_eq!(
            call(json!({"tool_name": "Bash", "tool_input": {"command": "ls"}})),
            vec![(Action::Shell("ls".into()), "ls".into())]
        );
        assert_eq!(
            call(
                json!({"tool_name": "WebFetch", "tool_input": {"url": "https://x", "prompt": "p"}})
            )[0]
            .0,
            Action::Url("https://x".into())
        );
        assert_eq!(
            call(json!({"tool_name": "Edit", "tool_input": {"file_path": "/a", "old_string": "", "new_string": ""}}))[0].0,
            Action::Write("/a".into())
        );
        assert_eq!(
            call(json!({"tool_name": "mcp__github__create_issue", "tool_input": {}}))[0].0,
            Action::Mcp(McpServer {
                name: "github".into(),
                ..McpServer::default()
            })
        );
        assert!(call(json!({"tool_name": "TodoWrite", "tool_input": {}})).is_empty());
        assert!(tool_call(Agent::Claude, &json!({"tool_input": {}})).is_err());
        assert!(
            tool_call(
                Agent::Claude,
                &json!({"tool_name": "Bash", "tool_input": {}})
            )
            .is_err()
        );
    }

    #[test]
    fn gemini_tools_map_to_actions() {
        let call = |v: Value| tool_call(Agent::Gemini, &v).unwrap().actions;
        assert_eq!(
            call(json!({"tool_name": "web_fetch", "tool_input": {"prompt": "summarise https://a.example/x and (https://b.example)."}}))
                .into_iter()
                .map(|a| a.1)
                .collect::<Vec<_>>(),
            vec!["https://a.example/x", "https://b.example"]
        );
        assert_eq!(
            call(json!({"tool_name": "mcp_my_server_tool", "mcp_context": {"server_name": "my_server"}, "tool_input": {}}))[0].0,
            Action::Mcp(McpServer { name: "my_server".into(), ..McpServer::default() })
        );
        assert_eq!(
            call(json!({"tool_name": "read_many_files", "tool_input": {"paths": ["/a", "/b"]}}))
                .len(),
            2
        );
    }
}
