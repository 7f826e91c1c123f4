//! The real Claude Code obeys `mandate hook claude`.
//!
//! Claude Code runs in print mode (`claude -p`) against a local stand-in for
//! the Messages API (a loopback HTTP server in this test, so nothing leaves
//! the machine): the stand-in answers the first request with a `Bash` tool
//! call that creates a marker file, and the next one with plain text. The
//! hook is registered as a `PreToolUse` hook with `--settings`, the Bash tool
//! is allowed by Claude Code's own permissions (`--allowedTools Bash`), and
//! the policy lives under `--root` in a temporary directory.
//!
//! - With a policy forbidding `touch`, the marker is never created, Claude
//!   Code reports the call among its permission denials, and the tool result
//!   it sends back to the model carries mandate's reason.
//! - Control: with a policy allowing `touch`, the same run creates the marker.
//!
//! The binary comes from `MANDATE_TEST_AGENTS_BIN` or the npm prefix
//! `.ci/run` installs into (`$HOME/.cache/mandate-ci/npm/node_modules/.bin`);
//! without it the test says it is skipped.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

fn claude() -> Option<PathBuf> {
    let dir = match std::env::var_os("MANDATE_TEST_AGENTS_BIN") {
        Some(d) => PathBuf::from(d),
        None => {
            Path::new(&std::env::var_os("HOME")?).join(".cache/mandate-ci/npm/node_modules/.bin")
        }
    };
    let path = dir.join("claude");
    path.exists().then_some(path)
}

/// Request bodies the stand-in received.
type Seen = Arc<Mutex<Vec<Value>>>;

/// A loopback stand-in for the Messages API; returns its port.
fn stand_in(marker: &Path, seen: Seen) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let command = format!("touch {}", marker.display());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            let command = command.clone();
            std::thread::spawn(move || serve(stream, &seen, &command));
        }
    });
    port
}

fn serve(stream: TcpStream, seen: &Seen, command: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let mut out = stream;
    if !request_line.starts_with("POST") || !request_line.contains("/v1/messages") {
        let _ = out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        );
        return;
    }
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    seen.lock().unwrap().push(req.clone());
    let answered = req["messages"].as_array().into_iter().flatten().any(|m| {
        m["content"]
            .as_array()
            .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"))
    });
    let offers_bash = req["tools"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["name"] == "Bash"));
    let (block, stop) = if offers_bash && !answered {
        (
            json!({"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": command, "description": "create the marker"}}),
            "tool_use",
        )
    } else {
        (json!({"type": "text", "text": "done"}), "end_turn")
    };
    let model = req["model"].as_str().unwrap_or("claude");
    if req["stream"] == true {
        let mut text = String::new();
        let mut event = |name: &str, data: Value| {
            text.push_str(&format!("event: {name}\ndata: {data}\n\n"));
        };
        event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 1}}}),
        );
        if block["type"] == "tool_use" {
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": block["id"], "name": "Bash", "input": {}}}),
            );
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": block["input"].to_string()}}),
            );
        } else {
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            );
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "done"}}),
            );
        }
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        );
        event(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 5}}),
        );
        event("message_stop", json!({"type": "message_stop"}));
        let _ = out.write_all(
            format!("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n{text}").as_bytes(),
        );
    } else {
        let body = json!({"id": "msg_01", "type": "message", "role": "assistant", "model": model, "content": [block], "stop_reason": stop, "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 1}}).to_string();
        let _ = out.write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }
}

struct Run {
    marker_created: bool,
    result: Value,
    seen: Vec<Value>,
}

fn run(claude: &Path, decision: &str) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = tmp.path().join("root");
    let policy = root.join("etc/mandate/policy.d");
    std::fs::create_dir_all(&policy).unwrap();
    for d in [
        root.clone(),
        root.join("etc"),
        root.join("etc/mandate"),
        policy.clone(),
    ] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let file = policy.join("10-touch.toml");
    std::fs::write(
        &file,
        format!(
            "[settings]\ncommands.rules = [{{ pattern = [\"touch\"], decision = \"{decision}\", justification = \"markers are made by the build\" }}]\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let home = tmp.path().join("home");
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&project).unwrap();
    let marker = tmp.path().join("marker");
    let mandate = assert_cmd::cargo::cargo_bin("mandate");
    let settings = tmp.path().join("settings.json");
    std::fs::write(
        &settings,
        json!({
            "hooks": { "PreToolUse": [ { "matcher": "*", "hooks": [ {
                "type": "command",
                "command": format!("{} --root {} hook claude", mandate.display(), root.display())
            } ] } ] }
        })
        .to_string(),
    )
    .unwrap();
    let seen: Seen = Arc::default();
    let port = stand_in(&marker, seen.clone());
    let bin_dir = claude.parent().unwrap();
    let out = Command::new("timeout")
        .arg("120")
        .arg(claude)
        .args([
            "-p",
            "create the marker",
            "--allowedTools",
            "Bash",
            "--output-format",
            "json",
            "--settings",
        ])
        .arg(&settings)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
        )
        .env("HOME", &home)
        .env("ANTHROPIC_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_TELEMETRY", "1")
        .current_dir(&project)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "claude did not print a JSON result (exit {:?}):\n{stdout}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let seen = seen.lock().unwrap().clone();
    Run {
        marker_created: marker.exists(),
        result,
        seen,
    }
}

#[test]
fn claude_code_refuses_a_command_the_hook_forbids() {
    let Some(claude) = claude() else {
        common::skip("claude is not installed (run .ci/run or set MANDATE_TEST_AGENTS_BIN)");
        return;
    };
    let denied = run(&claude, "forbidden");
    assert!(
        !denied.marker_created,
        "the forbidden command ran: {}",
        denied.result
    );
    let denials = denied.result["permission_denials"].as_array().unwrap();
    assert_eq!(denials.len(), 1, "{}", denied.result);
    assert_eq!(denials[0]["tool_name"], "Bash");
    // The tool result Claude Code sent back to the model carries the reason.
    let results: Vec<String> = denied
        .seen
        .iter()
        .flat_map(|r| r["messages"].as_array().cloned().unwrap_or_default())
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|b| b["type"] == "tool_result")
        .map(|b| b["content"].to_string())
        .collect();
    assert!(
        results
            .iter()
            .any(|r| r.contains("mandate:") && r.contains("markers are made by the build")),
        "{results:?}"
    );

    // Control: the same run under a policy that allows `touch` creates it.
    let allowed = run(&claude, "allow");
    assert!(allowed.marker_created, "{}", allowed.result);
    assert_eq!(allowed.result["permission_denials"], json!([]));
}
