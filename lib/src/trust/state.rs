//! Rollback protection: the state file that remembers what was seen.
//!
//! `<state dir>/rollback.json` (root-owned, mode 0644, replaced atomically)
//! records, per channel and bundle id, the highest version accepted, the
//! sha256 of its payload, the fingerprint of the policy key set that
//! verified it and its issue time; and, globally, the latest time seen.
//!
//! ```json
//! {
//!   "format": "mandate-rollback-v1",
//!   "latest_seen": "2026-06-01T00:00:00Z",
//!   "bundles": {
//!     "cloud/acme-baseline": {
//!       "version": 7,
//!       "sha256": "<hex of the payload's sha256>",
//!       "policy_keys": "<hex of the policy key set fingerprint>",
//!       "issued_at": "2026-05-01T00:00:00Z",
//!       "recorded_at": "2026-06-01T00:00:00Z"
//!     }
//!   }
//! }
//! ```
//!
//! [`RollbackState::check`] refuses, in this order: a clock more than
//! [`CLOCK_TOLERANCE`] behind the latest time seen; a bundle issued more than
//! [`MAX_ISSUED_AHEAD`] after `now`; a version lower than the one recorded;
//! the recorded version with other payload bytes.
//!
//! **Fast-forward recovery.** If a policy key is compromised and used to sign
//! a huge version, the high-water mark would lock out every honest bundle.
//! Rotating the policy keys (a new trust root) changes the key set
//! fingerprint, and a bundle verified under a new fingerprint is not held to
//! the recorded version. It must still not have been issued before the
//! recorded bundle, so an old bundle cannot be replayed through a rotation.
//!
//! The state is keyed by channel as well as id: the same policy id may be
//! delivered by MDM and by the cloud at different paces.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::Sha256;
use super::VerifiedBundle;
use super::fields::{format_datetime, parse_datetime};
use super::header::{Channel, SignedHeader, valid_id};
use crate::atomic::write_atomic;

/// The usual file name of the state, in the state directory.
pub const STATE_FILE_NAME: &str = "rollback.json";
/// How far the clock may be behind the latest time seen (NTP slews, VM restores).
pub const CLOCK_TOLERANCE: Duration = Duration::minutes(5);
/// How far in the future a bundle's `issued_at` may be.
pub const MAX_ISSUED_AHEAD: Duration = Duration::hours(1);
/// Largest state file read, in bytes.
pub const MAX_STATE_BYTES: u64 = 1024 * 1024;

const FORMAT: &str = "mandate-rollback-v1";

/// What was recorded for one channel and bundle id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleRecord {
    /// The highest version accepted.
    pub version: u64,
    /// The sha256 of that version's payload.
    pub sha256: Sha256,
    /// The fingerprint of the policy key set that verified it.
    pub policy_keys: Sha256,
    /// The key ids that signed it (empty in records written before they
    /// were kept): while one of them is still a policy key, its version binds
    /// even after other keys were added.
    pub signers: Vec<String>,
    /// Its `issued_at`.
    pub issued_at: OffsetDateTime,
    /// When it was recorded.
    pub recorded_at: OffsetDateTime,
}

/// Why a bundle was refused as a rollback or replay.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RollbackError {
    /// The clock is behind the latest time seen.
    #[error("the clock reads {}, before {} which was already seen; fix the system clock (NTP) rather than the policy", show(.now), show(.latest_seen))]
    ClockSteppedBack {
        /// The time given.
        now: OffsetDateTime,
        /// The latest time recorded.
        latest_seen: OffsetDateTime,
    },
    /// The bundle claims to be issued in the future.
    #[error("bundle {channel}/{id} was issued at {}, more than an hour after now ({}); check the signing machine's clock and sign again", show(.issued_at), show(.now))]
    IssuedInFuture {
        /// The channel.
        channel: Channel,
        /// The bundle id.
        id: String,
        /// Its `issued_at`.
        issued_at: OffsetDateTime,
        /// The time given.
        now: OffsetDateTime,
    },
    /// A lower version than the one recorded.
    #[error(
        "bundle {channel}/{id} version {version} is older than version {recorded} already applied; publish a bundle with a version above {recorded}"
    )]
    OlderVersion {
        /// The channel.
        channel: Channel,
        /// The bundle id.
        id: String,
        /// Its version.
        version: u64,
        /// The recorded version.
        recorded: u64,
    },
    /// The recorded version with other content.
    #[error(
        "bundle {channel}/{id} version {version} differs from the version {version} already applied; every change needs a new version number"
    )]
    SameVersionOtherBytes {
        /// The channel.
        channel: Channel,
        /// The bundle id.
        id: String,
        /// The version.
        version: u64,
    },
    /// After a policy key rotation, a bundle issued before the recorded one.
    #[error("bundle {channel}/{id} was issued at {}, before the bundle already applied ({}); after a key rotation, sign a fresh bundle", show(.issued_at), show(.recorded_issued_at))]
    IssuedBeforeRecorded {
        /// The channel.
        channel: Channel,
        /// The bundle id.
        id: String,
        /// Its `issued_at`.
        issued_at: OffsetDateTime,
        /// The recorded bundle's `issued_at`.
        recorded_issued_at: OffsetDateTime,
    },
}

fn show(at: &OffsetDateTime) -> String {
    format_datetime(*at)
}

impl RollbackError {
    /// A stable, machine-readable reason code (see `docs/trust.md`).
    pub fn code(&self) -> &'static str {
        match self {
            RollbackError::ClockSteppedBack { .. } => "clock-stepped-back",
            RollbackError::IssuedInFuture { .. } => "issued-in-future",
            RollbackError::OlderVersion { .. } => "rollback-version",
            RollbackError::SameVersionOtherBytes { .. } => "rollback-same-version",
            RollbackError::IssuedBeforeRecorded { .. } => "rollback-issued-earlier",
        }
    }
}

/// The state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file is not a rollback state file.
    #[error(
        "{path}: not a mandate rollback state file: {problem}; move it away and run `mandate sync` again (rollback protection restarts from the next bundle)"
    )]
    Malformed {
        /// The file, or `input`.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latest_seen: Option<String>,
    #[serde(default)]
    bundles: BTreeMap<String, RawRecord>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    version: u64,
    sha256: String,
    policy_keys: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    signers: Vec<String>,
    issued_at: String,
    recorded_at: String,
}

/// The policy keys a bundle is judged under: the fingerprint of the trust
/// root's policy key set, the ids in that set, and the ids that signed the
/// bundle. A bundle's recorded version stops binding only when every key
/// that signed it has left the policy role (a signed statement: the trust
/// root that removed them), not when keys are merely added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySet {
    /// [`super::root::TrustRoot::policy_keys_fingerprint`].
    pub fingerprint: Sha256,
    /// The ids of the policy role's keys.
    pub policy: Vec<String>,
    /// The ids of the keys that signed this bundle.
    pub signers: Vec<String>,
}

impl From<Sha256> for KeySet {
    fn from(fingerprint: Sha256) -> KeySet {
        KeySet {
            fingerprint,
            policy: Vec::new(),
            signers: Vec::new(),
        }
    }
}

impl From<&Sha256> for KeySet {
    fn from(fingerprint: &Sha256) -> KeySet {
        KeySet::from(*fingerprint)
    }
}

/// What the machine has seen: per channel and bundle id, and the latest time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RollbackState {
    latest_seen: Option<OffsetDateTime>,
    bundles: BTreeMap<(Channel, String), BundleRecord>,
}

impl RollbackState {
    /// An empty state (nothing seen yet).
    pub fn new() -> RollbackState {
        RollbackState::default()
    }

    /// Reads the state file; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<RollbackState, StateError> {
        use std::io::Read as _;
        let io_error = |source| StateError::Io {
            path: path.to_owned(),
            source,
        };
        let file = match fs::File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(RollbackState::new());
            }
            Err(error) => return Err(io_error(error)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_STATE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        RollbackState::parse_at(&bytes, path)
    }

    /// Parses the JSON form.
    pub fn parse(bytes: &[u8]) -> Result<RollbackState, StateError> {
        RollbackState::parse_at(bytes, Path::new("input"))
    }

    fn parse_at(bytes: &[u8], path: &Path) -> Result<RollbackState, StateError> {
        let malformed = |problem: String| StateError::Malformed {
            path: path.to_owned(),
            problem,
        };
        if bytes.len() as u64 > MAX_STATE_BYTES {
            return Err(malformed(format!("larger than {MAX_STATE_BYTES} bytes")));
        }
        let raw: RawState = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if raw.format != FORMAT {
            return Err(malformed(format!(
                "format is `{}`, expected `{FORMAT}`",
                raw.format
            )));
        }
        let time = |field: &str, text: &str| {
            parse_datetime(text)
                .ok_or_else(|| malformed(format!("`{field}` is not an RFC 3339 time: `{text}`")))
        };
        let hash = |field: &str, text: &str| {
            Sha256::from_hex(text)
                .ok_or_else(|| malformed(format!("`{field}` is not a hex sha256: `{text}`")))
        };
        let latest_seen = raw
            .latest_seen
            .as_deref()
            .map(|t| time("latest_seen", t))
            .transpose()?;
        let mut bundles = BTreeMap::new();
        for (key, record) in raw.bundles {
            let parsed = key
                .split_once('/')
                .and_then(|(channel, id)| Some((Channel::from_name(channel)?, id)))
                .filter(|(_, id)| valid_id(id));
            let Some((channel, id)) = parsed else {
                return Err(malformed(format!("`{key}` is not `<channel>/<bundle id>`")));
            };
            bundles.insert(
                (channel, id.to_owned()),
                BundleRecord {
                    version: record.version,
                    sha256: hash("sha256", &record.sha256)?,
                    policy_keys: hash("policy_keys", &record.policy_keys)?,
                    signers: record.signers,
                    issued_at: time("issued_at", &record.issued_at)?,
                    recorded_at: time("recorded_at", &record.recorded_at)?,
                },
            );
        }
        Ok(RollbackState {
            latest_seen,
            bundles,
        })
    }

    /// The JSON form, pretty, with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let raw = RawState {
            format: FORMAT.to_owned(),
            latest_seen: self.latest_seen.map(format_datetime),
            bundles: self
                .bundles
                .iter()
                .map(|((channel, id), r)| {
                    (
                        format!("{channel}/{id}"),
                        RawRecord {
                            version: r.version,
                            sha256: r.sha256.to_hex(),
                            policy_keys: r.policy_keys.to_hex(),
                            signers: r.signers.clone(),
                            issued_at: format_datetime(r.issued_at),
                            recorded_at: format_datetime(r.recorded_at),
                        },
                    )
                })
                .collect(),
        };
        let mut out = serde_json::to_vec_pretty(&raw).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Writes the state atomically (mode 0644: readers need it to check,
    /// only root writes it).
    ///
    /// Several processes may save at once (`mandate sync` and a resolution
    /// run as root): under an exclusive lock on `<path>.lock`, the state on
    /// disk is read again and merged with this one ([`RollbackState::merge`]),
    /// so no record is lost to a concurrent writer.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.to_owned(),
            source,
        };
        let _lock = crate::atomic::lock(&path.with_extension("lock"), crate::atomic::LOCK_TIMEOUT)
            .map_err(|e| io(io::Error::other(e.to_string())))?;
        // A state file that cannot be read is evidence to report, not to
        // overwrite: the save fails instead.
        let mut merged = self.clone();
        merged.merge(&RollbackState::load(path)?);
        write_atomic(path, &merged.to_json(), 0o644).map_err(io)
    }

    /// Changes the state file in place under its lock: reads what is on
    /// disk (a refused file fails the update, it is never replaced), applies
    /// `change`, and writes the result atomically. This is how a root admin
    /// retires a record or recovers from a clock that ran ahead
    /// ([`RollbackState::forget`], [`RollbackState::reset_clock`]).
    pub fn update<T>(
        path: &Path,
        change: impl FnOnce(&mut RollbackState) -> T,
    ) -> Result<T, StateError> {
        let io = |source| StateError::Io {
            path: path.to_owned(),
            source,
        };
        let _lock = crate::atomic::lock(&path.with_extension("lock"), crate::atomic::LOCK_TIMEOUT)
            .map_err(|e| io(io::Error::other(e.to_string())))?;
        let mut state = RollbackState::load(path)?;
        let out = change(&mut state);
        write_atomic(path, &state.to_json(), 0o644).map_err(io)?;
        Ok(out)
    }

    /// Removes the record of a retired bundle; says whether there was one.
    /// Its version no longer binds, so only do this for an id that will not
    /// come back (or that comes back re-keyed).
    pub fn forget(&mut self, channel: Channel, id: &str) -> bool {
        self.bundles.remove(&(channel, id.to_owned())).is_some()
    }

    /// Sets the latest time seen to `now`, after a clock that ran ahead was
    /// corrected (every later run would otherwise see the clock stepped
    /// back). Every version record is kept, so rollback protection holds.
    pub fn reset_clock(&mut self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.latest_seen.replace(now)
    }

    /// Merges another state into this one: the latest time seen is the later
    /// of the two; for each bundle the higher version wins, or, where the
    /// policy keys differ (a key rotation reset the high-water mark), the
    /// record made later.
    pub fn merge(&mut self, other: &RollbackState) {
        if let Some(t) = other.latest_seen {
            self.observe(t);
        }
        for (key, theirs) in &other.bundles {
            let keep_theirs = match self.bundles.get(key) {
                None => true,
                Some(ours) if ours.policy_keys != theirs.policy_keys => {
                    theirs.recorded_at > ours.recorded_at
                }
                Some(ours) => {
                    (theirs.version, theirs.recorded_at) > (ours.version, ours.recorded_at)
                }
            };
            if keep_theirs {
                self.bundles.insert(key.clone(), theirs.clone());
            }
        }
    }

    /// The latest time recorded.
    pub fn latest_seen(&self) -> Option<OffsetDateTime> {
        self.latest_seen
    }

    /// What was recorded for `channel` and `id`.
    pub fn record_for(&self, channel: Channel, id: &str) -> Option<&BundleRecord> {
        self.bundles.get(&(channel, id.to_owned()))
    }

    /// Every record, by channel and id.
    pub fn records(&self) -> impl Iterator<Item = (Channel, &str, &BundleRecord)> {
        self.bundles.iter().map(|((c, id), r)| (*c, id.as_str(), r))
    }

    /// Checks a verified bundle's header against the state: refuses a clock
    /// stepped back, a bundle issued in the future, an older version, and
    /// the same version with other payload bytes (`sha256`). Under a new
    /// policy key set (`policy_keys`), the recorded version does not bind
    /// (fast-forward recovery) but the issue time still must not go back.
    pub fn check(
        &self,
        header: &SignedHeader,
        sha256: &Sha256,
        now: OffsetDateTime,
        keys: impl Into<KeySet>,
    ) -> Result<(), RollbackError> {
        let keys = keys.into();
        if let Some(latest_seen) = self.latest_seen
            && now < latest_seen - CLOCK_TOLERANCE
        {
            return Err(RollbackError::ClockSteppedBack { now, latest_seen });
        }
        if header.issued_at > now + MAX_ISSUED_AHEAD {
            return Err(RollbackError::IssuedInFuture {
                channel: header.channel,
                id: header.id.clone(),
                issued_at: header.issued_at,
                now,
            });
        }
        let Some(record) = self.record_for(header.channel, &header.id) else {
            return Ok(());
        };
        // Keys added beside a key that signed the record change nothing.
        let signer_still_trusted = record.signers.iter().any(|s| keys.policy.contains(s));
        if record.policy_keys != keys.fingerprint && !signer_still_trusted {
            if header.issued_at < record.issued_at {
                return Err(RollbackError::IssuedBeforeRecorded {
                    channel: header.channel,
                    id: header.id.clone(),
                    issued_at: header.issued_at,
                    recorded_issued_at: record.issued_at,
                });
            }
            return Ok(());
        }
        if header.version < record.version {
            return Err(RollbackError::OlderVersion {
                channel: header.channel,
                id: header.id.clone(),
                version: header.version,
                recorded: record.version,
            });
        }
        if header.version == record.version && record.sha256 != *sha256 {
            return Err(RollbackError::SameVersionOtherBytes {
                channel: header.channel,
                id: header.id.clone(),
                version: header.version,
            });
        }
        Ok(())
    }

    /// Checks (as [`RollbackState::check`]) and then records the bundle and
    /// `now` as the latest time seen. Save with [`RollbackState::save`].
    pub fn record(
        &mut self,
        header: &SignedHeader,
        sha256: Sha256,
        now: OffsetDateTime,
        keys: impl Into<KeySet>,
    ) -> Result<(), RollbackError> {
        let keys = keys.into();
        self.check(header, &sha256, now, keys.clone())?;
        self.bundles.insert(
            (header.channel, header.id.clone()),
            BundleRecord {
                version: header.version,
                sha256,
                policy_keys: keys.fingerprint,
                signers: keys.signers,
                issued_at: header.issued_at,
                recorded_at: now,
            },
        );
        self.observe(now);
        Ok(())
    }

    /// Records a bundle that [`super::verify_bundle`] accepted.
    pub fn record_bundle(
        &mut self,
        bundle: &VerifiedBundle,
        now: OffsetDateTime,
    ) -> Result<(), RollbackError> {
        self.record(&bundle.header, bundle.sha256, now, bundle.key_set())
    }

    /// Advances the latest time seen to `now` (never backwards).
    pub fn observe(&mut self, now: OffsetDateTime) {
        if self.latest_seen.is_none_or(|latest| now > latest) {
            self.latest_seen = Some(now);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod merge_tests {
    use super::*;

    #[test]
    fn adding_a_policy_key_keeps_the_version_binding_removing_the_signer_resets_it() {
        let mut h = SignedHeader {
            org: "acme".into(),
            channel: Channel::System,
            id: "base".into(),
            version: 8,
            issued_at: OffsetDateTime::UNIX_EPOCH + Duration::days(20_000),
            expires: OffsetDateTime::UNIX_EPOCH + Duration::days(30_000),
        };
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_001);
        let keys = |fp: &[u8], policy: &[&str], signers: &[&str]| KeySet {
            fingerprint: Sha256::of(fp),
            policy: policy.iter().map(|s| (*s).to_owned()).collect(),
            signers: signers.iter().map(|s| (*s).to_owned()).collect(),
        };
        let mut state = RollbackState::new();
        state
            .record(&h, Sha256::of(b"v8"), now, keys(b"A", &["A"], &["A"]))
            .unwrap();
        // Key B is added: an older version (even one B signs) is still refused.
        h.version = 3;
        assert!(matches!(
            state.check(
                &h,
                &Sha256::of(b"v3"),
                now,
                keys(b"AB", &["A", "B"], &["B"])
            ),
            Err(RollbackError::OlderVersion { .. })
        ));
        // A is removed by the trust root: the signed statement that resets.
        h.issued_at += Duration::days(1);
        assert!(
            state
                .check(
                    &h,
                    &Sha256::of(b"v3"),
                    now + Duration::days(1),
                    keys(b"B", &["B"], &["B"])
                )
                .is_ok()
        );
    }

    #[test]
    fn concurrent_savers_lose_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE_NAME);
        let at = |h| OffsetDateTime::UNIX_EPOCH + Duration::hours(h);
        let record = |version, h| BundleRecord {
            version,
            sha256: Sha256::of(&[version as u8]),
            policy_keys: Sha256::of(b"keys"),
            signers: Vec::new(),
            issued_at: at(h),
            recorded_at: at(h),
        };
        // Two writers read the same (empty) state, each records another bundle.
        let mut a = RollbackState::new();
        a.bundles
            .insert((Channel::Cloud, "base".into()), record(7, 1));
        a.observe(at(1));
        let mut b = RollbackState::new();
        b.bundles
            .insert((Channel::System, "team".into()), record(3, 2));
        b.bundles
            .insert((Channel::Cloud, "base".into()), record(6, 0));
        b.observe(at(2));
        a.save(&path).unwrap();
        b.save(&path).unwrap();
        let disk = RollbackState::load(&path).unwrap();
        assert_eq!(
            disk.record_for(Channel::Cloud, "base").unwrap().version,
            7,
            "the higher version survives"
        );
        assert_eq!(disk.record_for(Channel::System, "team").unwrap().version, 3);
        assert_eq!(disk.latest_seen(), Some(at(2)));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

    fn header(version: u64) -> SignedHeader {
        SignedHeader {
            org: "acme".into(),
            channel: Channel::Cloud,
            id: "acme-baseline".into(),
            version,
            issued_at: datetime!(2026-05-01 00:00 UTC),
            expires: datetime!(2026-12-01 00:00 UTC),
        }
    }

    fn keys() -> Sha256 {
        Sha256::of(b"keys")
    }

    fn state_with(version: u64, bytes: &[u8]) -> RollbackState {
        let mut state = RollbackState::new();
        state
            .record(&header(version), Sha256::of(bytes), NOW, keys())
            .unwrap();
        state
    }

    #[test]
    fn versions_only_go_up() {
        let state = state_with(7, b"v7");
        let code = |h: &SignedHeader, bytes: &[u8]| {
            state
                .check(h, &Sha256::of(bytes), NOW, keys())
                .map_err(|e| e.code())
        };
        assert_eq!(code(&header(6), b"v6"), Err("rollback-version"));
        assert_eq!(code(&header(7), b"other"), Err("rollback-same-version"));
        assert_eq!(code(&header(7), b"v7"), Ok(()));
        assert_eq!(code(&header(8), b"v8"), Ok(()));
        // Other channels and ids are independent.
        let mdm = SignedHeader {
            channel: Channel::Mdm,
            ..header(1)
        };
        assert_eq!(code(&mdm, b"v1"), Ok(()));
    }

    #[test]
    fn clocks_and_issue_times() {
        let state = state_with(7, b"v7");
        let h = header(8);
        let at = |now| {
            state
                .check(&h, &Sha256::of(b"v8"), now, keys())
                .map_err(|e| e.code())
        };
        assert_eq!(at(NOW - Duration::minutes(4)), Ok(()));
        assert_eq!(at(NOW - Duration::minutes(6)), Err("clock-stepped-back"));
        let future = SignedHeader {
            issued_at: NOW + Duration::minutes(61),
            ..header(8)
        };
        let err = state
            .check(&future, &Sha256::of(b"v8"), NOW, keys())
            .unwrap_err();
        assert_eq!(err.code(), "issued-in-future");
        let soon = SignedHeader {
            issued_at: NOW + Duration::minutes(59),
            ..header(8)
        };
        assert!(state.check(&soon, &Sha256::of(b"v8"), NOW, keys()).is_ok());
    }

    #[test]
    fn key_rotation_resets_the_high_water_mark() {
        let state = state_with(1_000_000, b"attack");
        let rotated = Sha256::of(b"new keys");
        let h = SignedHeader {
            issued_at: datetime!(2026-05-02 00:00 UTC),
            ..header(8)
        };
        assert!(state.check(&h, &Sha256::of(b"v8"), NOW, rotated).is_ok());
        assert_eq!(
            state
                .check(&header(8), &Sha256::of(b"v8"), NOW, keys())
                .unwrap_err()
                .code(),
            "rollback-version"
        );
        let older = SignedHeader {
            issued_at: datetime!(2026-04-01 00:00 UTC),
            ..header(8)
        };
        assert_eq!(
            state
                .check(&older, &Sha256::of(b"v8"), NOW, rotated)
                .unwrap_err()
                .code(),
            "rollback-issued-earlier"
        );
    }

    #[test]
    fn record_refuses_what_check_refuses_and_tracks_time() {
        let mut state = state_with(7, b"v7");
        assert!(
            state
                .record(&header(6), Sha256::of(b"v6"), NOW, keys())
                .is_err()
        );
        assert_eq!(
            state
                .record_for(Channel::Cloud, "acme-baseline")
                .unwrap()
                .version,
            7
        );
        state
            .record(
                &header(8),
                Sha256::of(b"v8"),
                NOW + Duration::hours(1),
                keys(),
            )
            .unwrap();
        assert_eq!(state.latest_seen(), Some(NOW + Duration::hours(1)));
        state.observe(NOW);
        assert_eq!(state.latest_seen(), Some(NOW + Duration::hours(1)));
    }

    #[test]
    fn file_round_trip_and_strictness() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE_NAME);
        assert_eq!(RollbackState::load(&path).unwrap(), RollbackState::new());
        let state = state_with(7, b"v7");
        state.save(&path).unwrap();
        let loaded = RollbackState::load(&path).unwrap();
        assert_eq!(loaded, state);
        let text = String::from_utf8(state.to_json()).unwrap();
        assert!(text.contains("\"cloud/acme-baseline\""), "{text}");
        for bad in [
            text.replacen("mandate-rollback-v1", "v2", 1),
            text.replacen("\"version\"", "\"extra\": 1, \"version\"", 1),
            text.replacen("cloud/", "web/", 1),
            text.replacen("2026-06-01T00:00:00Z", "yesterday", 1),
            "[]".to_owned(),
        ] {
            assert!(
                matches!(
                    RollbackState::parse(bad.as_bytes()),
                    Err(StateError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }
}
