//! The audit log: one JSON object per line for every decision, `apply` and
//! `sync`.
//!
//! Lines are appended to a file opened with `O_APPEND` (so concurrent
//! writers never interleave within a line smaller than the pipe buffer, and
//! never overwrite each other), created mode 0640. When the file would grow
//! past [`AuditLog::max_bytes`] it is rotated first: `audit.log` becomes
//! `audit.log.1`, `.1` becomes `.2`, and so on up to [`AuditLog::keep`]
//! files. A failure to write (a full disk, a read-only file system, a log
//! the process may not write) is returned to the caller, which reports it
//! and still acts on the decision: the log never blocks a decision.
//!
//! Which file: the `audit.log` setting when the process runs as root; a
//! per-user log under the user's state directory otherwise (users cannot
//! write a root-owned log, and a log they can write is theirs to edit). See
//! [`user_log_path`].

use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::value::Value;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::decide::{Action, Decision};

/// Default size at which the log is rotated.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Default number of rotated files kept.
pub const DEFAULT_KEEP: usize = 5;

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When, RFC 3339 UTC.
    pub time: String,
    /// `decision`, `apply` or `sync`.
    pub event: String,
    /// The login name of the real user, from the user database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The real user id.
    pub uid: u32,
    /// The agent that asked (`claude`, `codex`, `gemini`), or `cli`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The kind of action (`exec`, `shell`, `url`, `mcp`, `read`, `write`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The action as the agent gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The action as normalised for the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged: Option<String>,
    /// `allow`, `prompt` or `deny`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The setting of the rule that decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
    /// The rule entry that decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Value>,
    /// Who set the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Where the rule was set.
    #[serde(default, flatten)]
    pub location: Option<crate::source::Location>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The digest of the effective configuration in force.
    pub digest: String,
    /// Anything else (what `apply` wrote, what `sync` fetched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl AuditEvent {
    /// The event for one decision.
    pub fn decision(
        now: OffsetDateTime,
        who: &Who,
        agent: Option<&str>,
        action: &Action,
        input: &str,
        d: &Decision,
    ) -> AuditEvent {
        AuditEvent {
            time: timestamp(now),
            event: "decision".into(),
            user: who.user.clone(),
            uid: who.uid,
            agent: agent.map(str::to_owned),
            action: Some(action.kind().into()),
            input: Some(input.to_owned()),
            judged: Some(d.judged.clone()),
            decision: Some(d.decision.name().into()),
            setting: d.rule.as_ref().map(|r| r.setting.clone()),
            rule: d.rule.as_ref().map(|r| r.entry.clone()),
            source: d.rule.as_ref().map(|r| r.source.clone()),
            location: d.rule.as_ref().map(|r| r.location.clone()),
            reason: Some(d.reason.clone()),
            digest: d.digest.clone(),
            details: None,
        }
    }

    /// An `apply` or `sync` event.
    pub fn operation(
        now: OffsetDateTime,
        who: &Who,
        event: &str,
        digest: &str,
        details: Value,
    ) -> AuditEvent {
        AuditEvent {
            time: timestamp(now),
            event: event.into(),
            user: who.user.clone(),
            uid: who.uid,
            agent: None,
            action: None,
            input: None,
            judged: None,
            decision: None,
            setting: None,
            rule: None,
            source: None,
            location: None,
            reason: None,
            digest: digest.into(),
            details: Some(details),
        }
    }
}

/// The user an event is recorded for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Who {
    /// Login name.
    pub user: Option<String>,
    /// Real user id.
    pub uid: u32,
}

fn timestamp(now: OffsetDateTime) -> String {
    now.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Why a line could not be appended.
#[derive(Debug, thiserror::Error)]
#[error("audit log {path}: {source}")]
pub struct AuditError {
    /// The log file.
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub source: io::Error,
}

/// An append-only, size-rotated JSON-lines file.
#[derive(Clone, Debug)]
pub struct AuditLog {
    /// The current file.
    pub path: PathBuf,
    /// Rotate before a write would take the file past this size.
    pub max_bytes: u64,
    /// How many rotated files to keep (`.1` … `.keep`).
    pub keep: usize,
}

impl AuditLog {
    /// A log at `path` with the default rotation.
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog {
            path: path.into(),
            max_bytes: DEFAULT_MAX_BYTES,
            keep: DEFAULT_KEEP,
        }
    }

    /// Appends one event as one line; creates the file (0640) and its
    /// directory (0750) when missing.
    pub fn append(&self, event: &AuditEvent) -> Result<(), AuditError> {
        let err = |source| AuditError {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(event).map_err(|e| err(io::Error::other(e)))?;
        line.push(b'\n');
        if let Some(dir) = self.path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(dir)
                .map_err(err)?;
        }
        if let Ok(meta) = fs::metadata(&self.path)
            && meta.len() > 0
            && meta.len() + line.len() as u64 > self.max_bytes
        {
            self.rotate().map_err(err)?;
        }
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&self.path)
            .map_err(err)?;
        // One write call per line: with O_APPEND the kernel places it at the
        // end atomically with respect to other appenders.
        file.write_all(&line).map_err(err)?;
        Ok(())
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Shifts `.N` to `.N+1` (dropping the oldest) and the log to `.1`.
    pub fn rotate(&self) -> io::Result<()> {
        if self.keep == 0 {
            return match fs::remove_file(&self.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        for n in (1..self.keep).rev() {
            let from = self.rotated(n);
            if from.exists() {
                fs::rename(&from, self.rotated(n + 1))?;
            }
        }
        match fs::rename(&self.path, self.rotated(1)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every event in the log and its rotated files, oldest first; lines
    /// that are not events are skipped and counted.
    pub fn read(&self) -> io::Result<(Vec<AuditEvent>, usize)> {
        let mut events = Vec::new();
        let mut bad = 0;
        let mut files: Vec<PathBuf> = (1..=self.keep).rev().map(|n| self.rotated(n)).collect();
        files.push(self.path.clone());
        for path in files {
            let file = match fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for line in io::BufReader::new(file).lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<AuditEvent>(&line) {
                    Ok(e) => events.push(e),
                    Err(_) => bad += 1,
                }
            }
        }
        Ok((events, bad))
    }
}

/// What `mandate audit query` filters on.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this decision (`allow`, `prompt`, `deny`).
    pub decision: Option<String>,
    /// Only this agent.
    pub agent: Option<String>,
    /// Only events whose rule (setting, entry or judged form) contains this text.
    pub rule: Option<String>,
    /// Only this event kind (`decision`, `apply`, `sync`).
    pub event: Option<String>,
    /// Only events at or after this time.
    pub since: Option<OffsetDateTime>,
}

impl Filter {
    /// Whether `e` passes.
    pub fn matches(&self, e: &AuditEvent) -> bool {
        if let Some(d) = &self.decision
            && e.decision.as_deref() != Some(d.as_str())
        {
            return false;
        }
        if let Some(a) = &self.agent
            && e.agent.as_deref() != Some(a.as_str())
        {
            return false;
        }
        if let Some(ev) = &self.event
            && &e.event != ev
        {
            return false;
        }
        if let Some(r) = &self.rule {
            let hay = format!(
                "{} {} {}",
                e.setting.as_deref().unwrap_or_default(),
                e.rule.as_ref().map(Value::to_string).unwrap_or_default(),
                e.judged.as_deref().unwrap_or_default()
            );
            if !hay.contains(r.as_str()) {
                return false;
            }
        }
        if let Some(since) = self.since {
            match OffsetDateTime::parse(&e.time, &Rfc3339) {
                Ok(t) if t >= since => {}
                _ => return false,
            }
        }
        true
    }
}

/// The per-user audit log under `home`: `~/.local/state/mandate/audit.log`
/// on Linux, `~/Library/Logs/mandate/audit.log` on macOS. It records what a
/// user's own processes decided; the user can edit it, so it is evidence for
/// the user, not for an admin (the journal copy is; see docs/decisions.md).
pub fn user_log_path(home: &Path, platform: crate::Platform) -> PathBuf {
    match platform {
        crate::Platform::Linux => home.join(".local/state/mandate/audit.log"),
        crate::Platform::Macos => home.join("Library/Logs/mandate/audit.log"),
    }
}

/// Sends one event to the systemd journal over its native socket, with the
/// event's fields as `MANDATE_*` fields. The journal adds trusted fields
/// (`_UID`, `_PID`, `_COMM`) the sender cannot forge. Best effort: returns
/// an error when there is no journal.
pub fn journal(socket: &Path, event: &AuditEvent) -> io::Result<()> {
    use std::os::unix::net::UnixDatagram;
    let mut msg = String::new();
    let mut field = |k: &str, v: &str| {
        // Values with a newline would need the binary form; keep one line.
        msg.push_str(k);
        msg.push('=');
        msg.push_str(&v.replace('\n', " "));
        msg.push('\n');
    };
    let summary = match (&event.decision, &event.judged) {
        (Some(d), Some(j)) => format!("{d}: {j}"),
        _ => event.event.clone(),
    };
    field("MESSAGE", &summary);
    field("SYSLOG_IDENTIFIER", "mandate");
    field("PRIORITY", "6");
    field(
        "MANDATE_EVENT",
        &serde_json::to_string(event).unwrap_or_default(),
    );
    if let Some(d) = &event.decision {
        field("MANDATE_DECISION", d);
    }
    if let Some(a) = &event.agent {
        field("MANDATE_AGENT", a);
    }
    field("MANDATE_DIGEST", &event.digest);
    let sock = UnixDatagram::unbound()?;
    sock.send_to(msg.as_bytes(), socket)?;
    Ok(())
}

/// The journal's native socket.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn event(n: u32) -> AuditEvent {
        AuditEvent::operation(
            OffsetDateTime::UNIX_EPOCH,
            &Who {
                user: Some("ana".into()),
                uid: n,
            },
            "apply",
            "sha256:x",
            Value::Null,
        )
    }

    #[test]
    fn appends_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog {
            path: dir.path().join("sub/audit.log"),
            max_bytes: 400,
            keep: 2,
        };
        for n in 0..20 {
            log.append(&event(n)).unwrap();
        }
        assert!(log.rotated(1).exists());
        assert!(log.rotated(2).exists());
        assert!(!log.rotated(3).exists());
        for p in [log.path.clone(), log.rotated(1), log.rotated(2)] {
            assert!(fs::metadata(&p).unwrap().len() <= 400, "{}", p.display());
        }
        let (events, bad) = log.read().unwrap();
        assert_eq!(bad, 0);
        // The newest events survive, in order.
        assert_eq!(events.last().unwrap().uid, 19);
        let uids: Vec<u32> = events.iter().map(|e| e.uid).collect();
        let mut sorted = uids.clone();
        sorted.sort();
        assert_eq!(uids, sorted);
    }

    #[test]
    fn a_failed_write_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        // The log path is a directory: nothing can be appended.
        let log = AuditLog::new(dir.path());
        assert!(log.append(&event(1)).is_err());
    }

    #[test]
    fn filters() {
        let mut e = event(1);
        e.decision = Some("deny".into());
        e.agent = Some("claude".into());
        e.setting = Some("commands.rules".into());
        e.time = "2026-06-01T00:00:00Z".into();
        let f = Filter {
            decision: Some("deny".into()),
            agent: Some("claude".into()),
            rule: Some("commands".into()),
            event: Some("apply".into()),
            since: Some(time::macros::datetime!(2026-05-01 00:00 UTC)),
        };
        assert!(f.matches(&e));
        let late = Filter {
            since: Some(time::macros::datetime!(2026-07-01 00:00 UTC)),
            ..Filter::default()
        };
        assert!(!late.matches(&e));
        assert!(
            !Filter {
                agent: Some("codex".into()),
                ..Filter::default()
            }
            .matches(&e)
        );
    }
}
