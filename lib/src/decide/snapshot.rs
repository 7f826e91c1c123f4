//! The compiled snapshot: what decisions need from the machine's effective
//! configuration, written by `mandate apply` (root) so that a hook, run
//! before every tool call, does not read, verify and resolve every layer
//! each time.
//!
//! The snapshot (`decide-snapshot.json` in the state directory) holds the
//! [`Inputs`] of the machine resolution (managed layers and defaults only),
//! the sha256 of its own payload, and a fingerprint of every managed input:
//! for each file and directory the resolution looked at, its size, inode,
//! modification and change times, or its absence. It is used only when all
//! of these hold:
//!
//! - it passes the same checks as a managed file (owned by root, not group-
//!   or world-writable, not a symbolic link, under a size cap) and its digest
//!   matches its payload;
//! - it was made for the same `--root`, platform and domain, with the bundled
//!   schema;
//! - every fingerprinted file and directory is as it was (a new policy file,
//!   a new cloud bundle, a changed trust root or plist changes a directory's
//!   or file's times) — otherwise a newer policy has landed;
//! - no policy it used has expired since (the earliest expiry is recorded);
//! - nothing but managed policy is in play: no `-c`, no `--user`, no user
//!   config file (so no trusted project file either), no per-user managed
//!   preferences.
//!
//! Otherwise decisions resolve every layer, as `mandate show` does.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Inputs;
use crate::env::Environment;
use crate::fsafe::TrustedTree;
use crate::loader::{Options, Resolver};
use crate::resolve::{Effective, resolve_stack};

/// The snapshot's file name in the state directory.
pub const SNAPSHOT_FILE: &str = "decide-snapshot.json";

/// The snapshot's format: 2 since locations are written with their
/// structure (`at`); a snapshot of another format is stale and rebuilt.
const FORMAT: u32 = 2;

/// The state of one fingerprinted path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The path as read (under `--root`, the real path).
    pub path: String,
    /// `[size, inode, mtime ns, ctime ns]`, or `None` when absent.
    pub state: Option<[i128; 4]>,
}

impl Stamp {
    /// The current state of `path`.
    pub fn of(path: &Path) -> Stamp {
        let state = std::fs::symlink_metadata(path).ok().map(|m| {
            [
                i128::from(m.size()),
                i128::from(m.ino()),
                i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
                i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
            ]
        });
        Stamp {
            path: path.display().to_string(),
            state,
        }
    }
}

/// What the snapshot was made for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Made {
    /// `--root`, when one was given.
    pub root: Option<String>,
    /// The platform's name.
    pub platform: String,
    /// The preferences domain.
    pub domain: String,
}

/// The snapshot's payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The format version.
    pub format: u32,
    /// When it was made (RFC 3339).
    pub made_at: String,
    /// What it was made for.
    pub made_for: Made,
    /// Use it only before this time: the earliest expiry among the policies (RFC 3339).
    pub valid_until: Option<String>,
    /// Every managed input, as it was.
    pub fingerprint: Vec<Stamp>,
    /// What decisions need.
    pub inputs: Inputs,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    /// `sha256:` of the canonical JSON of `snapshot`.
    sha256: String,
    snapshot: Value,
}

/// Why a snapshot was not used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Stale(pub String);

fn made_for(o: &Options) -> Made {
    Made {
        root: o.root.as_ref().map(|r| r.display().to_string()),
        platform: o.platform.name().into(),
        domain: o.domain.clone(),
    }
}

/// The logical path of the snapshot.
pub fn logical_path(o: &Options) -> PathBuf {
    o.platform.state_dir().join(SNAPSHOT_FILE)
}

/// The tree managed files are read from, as the resolver reads them.
fn tree(o: &Options) -> Result<TrustedTree, Stale> {
    match &o.root {
        Some(root) => TrustedTree::under(root).map_err(|e| Stale(e.to_string())),
        None => Ok(TrustedTree::system()),
    }
}

/// Resolves the machine only (managed layers and defaults, as `apply` does)
/// and makes its snapshot.
pub fn machine(
    resolver: &Resolver,
    env: &Environment,
) -> Result<(Effective, Snapshot), crate::Error> {
    let mut stack = resolver.load(env)?;
    stack.layers.retain(|l| l.source.is_managed());
    stack
        .sources
        .retain(|s| s.name.is_managed() || s.name.name() == "default");
    let tree = resolver.tree()?;
    let platform = resolver.options().platform;
    // Every managed location the loader reported, and the directory holding
    // it (a file added or removed changes the directory).
    let mut paths: Vec<PathBuf> = Vec::new();
    for s in &stack.sources {
        if s.name.is_managed() {
            let p = PathBuf::from(&s.location.origin);
            if let Some(parent) = p.parent() {
                paths.push(parent.to_path_buf());
            }
            paths.push(p);
        }
    }
    for logical in [
        platform.policy_dir(),
        platform.trust_root(),
        platform.config_dir(),
        platform.mdm_plist(&resolver.options().domain),
    ] {
        paths.push(tree.real(&logical));
    }
    paths.sort();
    paths.dedup();
    let mut expiries: Vec<OffsetDateTime> = stack
        .sources
        .iter()
        .filter_map(|s| s.expires.as_deref())
        .chain(stack.trust.expires.as_deref())
        .filter_map(|e| OffsetDateTime::parse(e, &Rfc3339).ok())
        .collect();
    expiries.sort();
    let effective = resolve_stack(resolver.schema(), stack);
    let snapshot = Snapshot {
        format: FORMAT,
        made_at: env.now.format(&Rfc3339).unwrap_or_default(),
        made_for: made_for(resolver.options()),
        valid_until: expiries.first().and_then(|t| t.format(&Rfc3339).ok()),
        fingerprint: paths.iter().map(|p| Stamp::of(p)).collect(),
        inputs: Inputs::of(&effective),
    };
    Ok((effective, snapshot))
}

fn digest(value: &Value) -> String {
    let mut text = String::new();
    crate::resolve::canonical_json(value, &mut text);
    format!(
        "sha256:{}",
        crate::resolve::hex(&Sha256::digest(text.as_bytes()))
    )
}

/// The file's bytes: the payload and its digest.
pub fn to_bytes(snapshot: &Snapshot) -> Vec<u8> {
    let value = serde_json::to_value(snapshot).unwrap_or(Value::Null);
    let envelope = Envelope {
        sha256: digest(&value),
        snapshot: value,
    };
    let mut bytes = serde_json::to_vec(&envelope).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Writes the snapshot atomically (0644) where `logical_path` says, under the tree.
pub fn write(resolver: &Resolver, snapshot: &Snapshot) -> Result<PathBuf, std::io::Error> {
    let tree = resolver
        .tree()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let path = tree.real(&logical_path(resolver.options()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::atomic::write_atomic(&path, &to_bytes(snapshot), 0o644)?;
    Ok(path)
}

/// Whether anything but managed policy would take part in a full resolution.
fn unmanaged_in_play(o: &Options, env: &Environment) -> Option<String> {
    if !o.session.is_empty() {
        return Some("-c values are given".into());
    }
    if o.user.is_some() {
        return Some("--user is given".into());
    }
    if o.schema.is_some() {
        return Some("--schema is given".into());
    }
    let user_config = match &o.root {
        None => env.user_config.clone(),
        Some(root) => {
            // As the loader does: the only home under --root, if there is one.
            let homes = root.join(
                o.platform
                    .home_under_root("")
                    .strip_prefix("/")
                    .unwrap_or(Path::new("")),
            );
            let users: Vec<PathBuf> = std::fs::read_dir(&homes)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            match users.as_slice() {
                [home] => Some(home.join(o.platform.user_config_in_home())),
                _ => None,
            }
        }
    };
    if let Some(p) = user_config
        && std::fs::symlink_metadata(&p).is_ok()
    {
        return Some(format!("the user config {} exists", p.display()));
    }
    if let (Some(user), Ok(tree)) = (&env.user_name, tree(o)) {
        let plist = tree.real(&o.platform.mdm_user_plist(user, &o.domain));
        if std::fs::symlink_metadata(&plist).is_ok() {
            return Some(format!(
                "per-user managed preferences {} exist",
                plist.display()
            ));
        }
    }
    None
}

/// Whether a snapshot could stand in for a full resolution with these
/// options: nothing but managed policy is in play.
pub fn eligible(o: &Options, env: &Environment) -> Result<(), Stale> {
    match unmanaged_in_play(o, env) {
        Some(why) => Err(Stale(why)),
        None => Ok(()),
    }
}

/// The snapshot's decision inputs, when it may stand in for a full
/// resolution with these options (see the module docs); otherwise why not.
/// Reads no schema and no policy: only the snapshot and the fingerprinted
/// paths' metadata.
pub fn load(o: &Options, env: &Environment) -> Result<Inputs, Stale> {
    if let Some(why) = unmanaged_in_play(o, env) {
        return Err(Stale(why));
    }
    let bytes = tree(o)?
        .read(&logical_path(o))
        .map_err(|e| Stale(e.to_string()))?;
    let envelope: Envelope =
        serde_json::from_slice(&bytes).map_err(|e| Stale(format!("unreadable snapshot: {e}")))?;
    if digest(&envelope.snapshot) != envelope.sha256 {
        return Err(Stale("the snapshot does not match its digest".into()));
    }
    let snapshot: Snapshot = serde_json::from_value(envelope.snapshot)
        .map_err(|e| Stale(format!("unreadable snapshot: {e}")))?;
    if snapshot.format != FORMAT {
        return Err(Stale(format!("snapshot format {}", snapshot.format)));
    }
    if snapshot.made_for != made_for(o) {
        return Err(Stale("the snapshot was made for other options".into()));
    }
    if let Some(until) = &snapshot.valid_until {
        match OffsetDateTime::parse(until, &Rfc3339) {
            Ok(t) if env.now < t => {}
            _ => {
                return Err(Stale(format!(
                    "a policy in the snapshot expired at {until}"
                )));
            }
        }
    }
    for stamp in &snapshot.fingerprint {
        if Stamp::of(Path::new(&stamp.path)) != *stamp {
            return Err(Stale(format!(
                "{} changed since the snapshot was made",
                stamp.path
            )));
        }
    }
    Ok(snapshot.inputs)
}
