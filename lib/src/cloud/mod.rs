//! The cloud channel: a signed bundle served as a static file, fetched by
//! `mandate sync`, cached on the device, and re-verified on every read.
//!
//! The device trusts the bundle's signature, never the transport: TLS,
//! proxies, CDNs and object stores only move bytes. Three parts:
//!
//! - [`publish()`](publish::publish) lays out the static tree any web server, bucket or
//!   CDN can serve: `<out>/<org>/cloud/<id>.bundle`, plus an informational
//!   `index.json` (see [the `publish` module](mod@publish)).
//! - `sync` (crate feature `sync`, see the `fetch` module) fetches the URL
//!   named in the verified trust root's `[cloud]` section with ETag /
//!   `If-None-Match`, timeouts, a size cap and jittered retries, verifies the
//!   bundle fully and only then replaces the cache.
//! - [`read_cached_for`] is what resolution uses: it reads the cache with the
//!   same file-safety checks as every managed file and verifies it again
//!   ([`read_cached`]), building the layer from the payload as verification
//!   parsed it.
//!   **Resolution never touches the network**; only `sync` does.
//!
//! # The cache
//!
//! Under the state directory ([`Platform::state_dir`], `/var/lib/mandate` on
//! Linux; under `--root DIR` when one is given):
//!
//! | file | what | written |
//! | --- | --- | --- |
//! | `cloud/bundle` | the last known good bundle, byte for byte as served (a DSSE envelope) | atomically, mode 0644, only after full verification |
//! | `cloud/meta.json` | what `sync` knows about it: URL, ETag, when fetched and last checked, id, version, sha256 of `cloud/bundle`, the last failure | atomically, mode 0644 |
//! | `cloud/lock` | held (`flock`) while a sync runs, so two syncs never interleave | created once |
//! | `rollback.json` | rollback state of every channel (see [`crate::trust::state`]) | atomically, after the cache |
//!
//! `meta.json` is informational: nothing in it is trusted. The bundle is
//! verified on every read; a cache edited on disk is refused and reported.
//! The order of writes (bundle, then meta, then rollback state) means that a
//! crash at any point leaves a cache that still verifies: the worst case is
//! a `meta.json` that describes the previous bundle, which readers detect
//! (its `file_sha256` no longer matches) and ignore.
//!
//! ```json
//! {
//!   "format": "mandate-cloud-cache-v1",
//!   "url": "https://policy.example.com/acme/cloud/acme-baseline.bundle",
//!   "etag": "\"6650e2c1-5d3\"",
//!   "fetched_at": "2026-06-01T00:00:00Z",
//!   "checked_at": "2026-06-01T06:00:00Z",
//!   "id": "acme-baseline",
//!   "version": 7,
//!   "file_sha256": "<hex sha256 of cloud/bundle>",
//!   "last_error": { "at": "2026-06-01T06:15:00Z", "code": "http-status", "message": "…" }
//! }
//! ```

use std::path::{Path, PathBuf};

use crate::value::{Map, Value};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::error::DocumentErrors;
use crate::fsafe::{FileError, TrustedTree};
use crate::layer::Layer;
use crate::paths::Platform;
use crate::resolve::{Diagnostic, Severity, SourceReport, SourceStatus, Stack};
use crate::schema::Schema;
use crate::source::{Location, ManagedSource, SourceKind};
use crate::trust::header::SignedHeader;
use crate::trust::root::TrustRoot;
use crate::trust::state::{RollbackState, STATE_FILE_NAME, StateError};
use crate::trust::{
    BundleError, Expiry, Sha256, VerifiedBundle, VerifiedPayload, verify_bundle_with,
};

#[cfg(feature = "sync")]
pub mod fetch;
pub mod publish;

#[cfg(feature = "sync")]
pub use fetch::{
    BundleInfo, DEFAULT_BACKOFF, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_BYTES,
    DEFAULT_RETRIES, DEFAULT_TIMEOUT, Fetched, Fetcher, OnRetry, Phase, Retry, SyncChange,
    SyncError, SyncOptions, SyncOutcome, TlsProblem, sync,
};
pub use publish::{
    CONTENT_TYPES, INDEX_FILE, Previous, PublishCheck, PublishError, PublishOptions, Published,
    content_type, publish,
};

/// The media type of a bundle (a DSSE envelope as JSON), for `Content-Type`.
pub const BUNDLE_CONTENT_TYPE: &str = "application/vnd.mandate.bundle+json";

/// The cache directory, relative to the state directory.
pub const CACHE_DIR: &str = "cloud";
/// The cached bundle's file name, in [`CACHE_DIR`].
pub const CACHE_BUNDLE: &str = "bundle";
/// The cache metadata's file name, in [`CACHE_DIR`].
pub const CACHE_META: &str = "meta.json";
/// The lock file held while a sync runs, in [`CACHE_DIR`].
pub const CACHE_LOCK: &str = "lock";

const META_FORMAT: &str = "mandate-cloud-cache-v1";

/// The logical path of the cached bundle (`/var/lib/mandate/cloud/bundle` on Linux).
pub fn bundle_path(platform: Platform) -> PathBuf {
    platform.state_dir().join(CACHE_DIR).join(CACHE_BUNDLE)
}

/// The logical path of the cache metadata (`/var/lib/mandate/cloud/meta.json` on Linux).
pub fn meta_path(platform: Platform) -> PathBuf {
    platform.state_dir().join(CACHE_DIR).join(CACHE_META)
}

/// The logical path of the rollback state (`/var/lib/mandate/rollback.json` on Linux).
pub fn state_path(platform: Platform) -> PathBuf {
    platform.state_dir().join(STATE_FILE_NAME)
}

/// Reads the rollback state with the managed-file checks; an absent file
/// is an empty state (nothing seen yet).
pub fn load_state(tree: &TrustedTree, platform: Platform) -> Result<RollbackState, StateError> {
    let logical = state_path(platform);
    match tree.read(&logical) {
        Ok(bytes) => RollbackState::parse(&bytes).map_err(|e| match e {
            StateError::Malformed { problem, .. } => StateError::Malformed {
                path: tree.real(&logical),
                problem,
            },
            other => other,
        }),
        Err(e) if e.is_absent() => Ok(RollbackState::new()),
        Err(e) => Err(StateError::Io {
            path: tree.real(&logical),
            source: std::io::Error::other(e.to_string()),
        }),
    }
}

/// The last sync failure recorded in `meta.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastError {
    /// When (RFC 3339).
    pub at: String,
    /// The stable code of the error (`http-status`, `timeout`, `rollback-version` …).
    pub code: String,
    /// The message.
    pub message: String,
}

/// What `sync` recorded about the cached bundle (`cloud/meta.json`). Informational only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheMeta {
    /// Always `mandate-cloud-cache-v1`.
    pub format: String,
    /// The URL the bundle was fetched from.
    pub url: String,
    /// The server's `ETag` for it, sent back as `If-None-Match`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// When these bytes were downloaded (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<String>,
    /// When the server last confirmed them (a 200 or a 304; RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// The bundle id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The bundle version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Hex sha256 of `cloud/bundle` (the whole file, not the payload);
    /// written as `file_sha256`, read under its earlier name `sha256` too.
    #[serde(
        default,
        rename = "file_sha256",
        alias = "sha256",
        skip_serializing_if = "Option::is_none"
    )]
    pub sha256: Option<String>,
    /// The last failed sync, cleared by the next successful one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LastError>,
}

impl CacheMeta {
    /// Metadata for `url` with nothing known yet.
    pub fn new(url: impl Into<String>) -> CacheMeta {
        CacheMeta {
            format: META_FORMAT.to_owned(),
            url: url.into(),
            etag: None,
            fetched_at: None,
            checked_at: None,
            id: None,
            version: None,
            sha256: None,
            last_error: None,
        }
    }

    /// Parses `meta.json`.
    pub fn parse(bytes: &[u8]) -> Result<CacheMeta, String> {
        let meta: CacheMeta = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if meta.format != META_FORMAT {
            return Err(format!(
                "format is `{}`, expected `{META_FORMAT}`",
                meta.format
            ));
        }
        Ok(meta)
    }

    /// The JSON form, pretty, with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Whether this metadata describes exactly `bundle` (the cached file's bytes).
    pub fn describes(&self, bundle: &[u8]) -> bool {
        self.sha256.as_deref() == Some(Sha256::of(bundle).to_hex().as_str())
    }
}

/// Why the cached bundle does not count.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The file failed the managed-file checks (owner, mode, symlink, size).
    #[error("{0}")]
    File(FileError),
    /// The bundle does not verify (edited on disk, a trust root rotated
    /// away from its keys, a rollback …).
    #[error("{error}")]
    Bundle {
        /// The verification error; its `code()` is the stable reason code.
        error: BundleError,
    },
}

impl CacheError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            CacheError::File(_) => "unsafe-file",
            CacheError::Bundle { error } => error.code(),
        }
    }
}

/// What the cache holds, after verification.
#[derive(Debug)]
pub enum CacheState {
    /// No cached bundle: `mandate sync` has not succeeded yet.
    Absent,
    /// A bundle that verified (fresh, in grace or past grace: see its `expiry`).
    Verified(Box<VerifiedBundle>),
    /// A cached bundle that was refused.
    Rejected(CacheError),
}

/// Whether the cached policy is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Nothing cached: the cloud source contributes nothing.
    Absent,
    /// The cached policy is in force (fresh, or expired within the offline grace).
    InForce,
    /// The cache was refused or has expired past its grace: every setting is
    /// held at its lockdown value.
    Lockdown,
}

/// The cached cloud bundle as resolution sees it: verified again, with
/// what `sync` recorded about it.
#[derive(Debug)]
pub struct CachedCloud {
    /// The real path of the cached bundle.
    pub location: PathBuf,
    /// `meta.json`, when it is readable and describes the cached bundle.
    pub meta: Option<CacheMeta>,
    /// Whether the trust root names a cloud URL (a device expected to sync).
    pub configured: bool,
    /// Things worth saying that do not change the outcome (an unreadable `meta.json` …).
    pub notes: Vec<String>,
    /// The verification outcome.
    pub state: CacheState,
    /// The time of verification.
    pub now: OffsetDateTime,
    /// The layer of an in-force policy, built from the payload as
    /// verification parsed it ([`read_cached_for`]).
    layer: Option<Result<Layer, DocumentErrors>>,
}

/// Reads the cached cloud bundle and verifies it again: the managed-file
/// checks ([`TrustedTree::read`]) on `cloud/bundle`, then
/// [`crate::trust::verify_bundle`] against `root` and the rollback `state` at `now`.
/// Never touches the network.
///
/// Without a trust root a cached bundle cannot be verified and is refused
/// (`no-trust-root`).
pub fn read_cached(
    tree: &TrustedTree,
    platform: Platform,
    root: Option<&TrustRoot>,
    state: &RollbackState,
    now: OffsetDateTime,
) -> CachedCloud {
    read(tree, platform, root, state, now, None)
}

/// [`read_cached`], and the layer of an in-force policy built with `schema`
/// from the payload as verification parsed it (the payload is parsed once);
/// [`CachedCloud::add_to`] adds it.
pub fn read_cached_for(
    schema: &Schema,
    tree: &TrustedTree,
    platform: Platform,
    root: Option<&TrustRoot>,
    state: &RollbackState,
    now: OffsetDateTime,
) -> CachedCloud {
    read(tree, platform, root, state, now, Some(schema))
}

fn read(
    tree: &TrustedTree,
    platform: Platform,
    root: Option<&TrustRoot>,
    state: &RollbackState,
    now: OffsetDateTime,
    schema: Option<&Schema>,
) -> CachedCloud {
    let logical = bundle_path(platform);
    let mut cached = CachedCloud {
        location: tree.real(&logical),
        meta: None,
        configured: root.is_some_and(|r| r.cloud().is_some()),
        notes: Vec::new(),
        state: CacheState::Absent,
        now,
        layer: None,
    };
    let bytes = match tree.read(&logical) {
        Ok(bytes) => bytes,
        Err(e) if e.is_absent() => return cached,
        Err(e) => {
            cached.state = CacheState::Rejected(CacheError::File(e));
            return cached;
        }
    };
    match tree.read(&meta_path(platform)) {
        Ok(meta) => match CacheMeta::parse(&meta) {
            Ok(meta) if meta.describes(&bytes) => cached.meta = Some(meta),
            Ok(meta) => {
                // An interrupted sync, or a bundle put there by hand.
                cached.notes.push(format!(
                    "{}: describes another bundle (version {}); ignored until the next `mandate sync`",
                    tree.real(&meta_path(platform)).display(),
                    meta.version.map_or_else(|| "?".to_owned(), |v| v.to_string())
                ));
                cached.meta = Some(CacheMeta {
                    etag: None,
                    fetched_at: None,
                    checked_at: None,
                    id: None,
                    version: None,
                    sha256: None,
                    ..meta
                });
            }
            Err(problem) => cached.notes.push(format!(
                "{}: not a cache metadata file ({problem}); the next `mandate sync` rewrites it",
                tree.real(&meta_path(platform)).display()
            )),
        },
        Err(e) if e.is_absent() => {}
        Err(e) => cached
            .notes
            .push(format!("{e}; the next `mandate sync` rewrites it")),
    }
    cached.state = match root {
        None => CacheState::Rejected(CacheError::Bundle {
            error: BundleError::NoTrustRoot {
                managed: ManagedSource::Cloud,
            },
        }),
        Some(root) => {
            let read = |payload: &VerifiedPayload<'_>| {
                let schema = schema?;
                if let Expiry::PastGrace { .. } = payload.expiry {
                    return None;
                }
                let origin = origin(&cached.location, Some(payload.header));
                Some(Layer::from_payload(
                    schema,
                    SourceKind::Cloud,
                    origin,
                    payload,
                ))
            };
            match verify_bundle_with(&bytes, root, ManagedSource::Cloud, now, state, read) {
                Ok((bundle, layer)) => {
                    cached.layer = layer;
                    CacheState::Verified(Box::new(bundle))
                }
                Err(error) => CacheState::Rejected(CacheError::Bundle { error }),
            }
        }
    };
    cached
}

/// Where a cloud policy is, as values show it ([`CachedCloud::origin`]):
/// the cached file, and the bundle in it.
fn origin(location: &Path, header: Option<&SignedHeader>) -> Location {
    let file = Location::new(location.display().to_string());
    match header {
        Some(h) => file.in_bundle(h.id.clone(), h.version),
        None => file,
    }
}

impl CachedCloud {
    /// Whether the cached policy applies.
    pub fn standing(&self) -> Standing {
        match &self.state {
            CacheState::Absent => Standing::Absent,
            CacheState::Rejected(_) => Standing::Lockdown,
            CacheState::Verified(bundle) => match bundle.expiry {
                Expiry::PastGrace { .. } => Standing::Lockdown,
                Expiry::Fresh { .. } | Expiry::InGrace { .. } => Standing::InForce,
            },
        }
    }

    /// The verified bundle, when the cache holds one.
    pub fn bundle(&self) -> Option<&VerifiedBundle> {
        match &self.state {
            CacheState::Verified(bundle) => Some(bundle),
            _ => None,
        }
    }

    /// Where the policy is, as values show it: the cached file and the
    /// bundle in it (`/var/lib/mandate/cloud/bundle [acme-baseline v7]`),
    /// which `mandate cat` follows; the URL it was fetched from is in
    /// [`CachedCloud::source_report`].
    pub fn origin(&self) -> Location {
        origin(&self.location, self.bundle().map(|b| &b.header))
    }

    /// The layer of the verified payload, when the policy is in force
    /// ([`Standing::InForce`]); `Err` when the signed policy does not fit
    /// the schema (the source then fails closed).
    ///
    /// This parses the verified payload (for tools that read the cache with
    /// [`read_cached`]); resolution reads it with [`read_cached_for`], whose
    /// layer is built from verification's parse and taken by
    /// [`CachedCloud::add_to`].
    pub fn layer(&self, schema: &Schema) -> Option<Result<Layer, DocumentErrors>> {
        if self.standing() != Standing::InForce {
            return None;
        }
        let bundle = self.bundle()?;
        let origin = self.origin();
        Some(Layer::parse_policy(
            schema,
            SourceKind::Cloud,
            &origin,
            bundle.text(),
        ))
    }

    /// The report `mandate sources` shows: `absent`, `verified`, `expired`
    /// (in grace: still in force; past grace: lockdown) or `rejected`, with
    /// the version, fetched-at, last check, expiry and grace left in
    /// `details`.
    pub fn source_report(&self) -> SourceReport {
        let location = self.location.display().to_string();
        let mut report = match &self.state {
            CacheState::Absent => {
                let report = SourceReport::new(SourceKind::Cloud, SourceStatus::Absent, location);
                if self.configured {
                    report.because("no cached bundle yet: run `mandate sync` (as root) to fetch it")
                } else {
                    report
                }
            }
            CacheState::Rejected(e) => {
                let mut report =
                    SourceReport::new(SourceKind::Cloud, SourceStatus::Rejected, location)
                        .because(format!("{e}; run `mandate sync` to fetch a good copy"));
                report.details.insert("code".into(), e.code().into());
                report
            }
            CacheState::Verified(bundle) => {
                let (status, reason) = match bundle.expiry {
                    Expiry::Fresh { .. } => (SourceStatus::Verified, None),
                    Expiry::InGrace { expired, left } => (
                        SourceStatus::Expired,
                        Some(format!(
                            "expired at {}; still in force for {} of offline grace: run `mandate sync` or publish a fresh bundle",
                            rfc3339(expired),
                            human_duration(left)
                        )),
                    ),
                    Expiry::PastGrace {
                        expired,
                        grace_ended,
                    } => (
                        SourceStatus::Expired,
                        Some(format!(
                            "expired at {} and the offline grace ended at {}; every setting is held at its lockdown value until a fresh bundle is synced",
                            rfc3339(expired),
                            rfc3339(grace_ended)
                        )),
                    ),
                };
                let mut report = SourceReport::new(SourceKind::Cloud, status, location);
                report.reason = reason;
                report.id = Some(bundle.header.id.clone());
                report.version = Some(bundle.header.version);
                report.expires = Some(rfc3339(bundle.header.expires));
                report.signers = bundle.signers.iter().map(|k| k.to_string()).collect();
                let details = &mut report.details;
                details.insert("issued_at".into(), rfc3339(bundle.header.issued_at).into());
                details.insert("payload_sha256".into(), bundle.sha256.to_hex().into());
                details.insert("trust_root_version".into(), bundle.root_version.into());
                let grace_left = match bundle.expiry {
                    Expiry::Fresh { expires } => Some(expires - self.now),
                    Expiry::InGrace { left, .. } => Some(left),
                    Expiry::PastGrace { .. } => None,
                };
                if let Some(left) = grace_left {
                    let key = if matches!(bundle.expiry, Expiry::Fresh { .. }) {
                        "expires_in"
                    } else {
                        "grace_left"
                    };
                    details.insert(key.into(), human_duration(left).into());
                }
                report
            }
        };
        if let Some(meta) = &self.meta {
            let details = &mut report.details;
            details.insert("url".into(), meta.url.clone().into());
            for (key, value) in [
                ("fetched_at", &meta.fetched_at),
                ("checked_at", &meta.checked_at),
                ("etag", &meta.etag),
            ] {
                if let Some(value) = value {
                    details.insert(key.into(), value.clone().into());
                }
            }
            if let Some(last) = &meta.last_error {
                details.insert(
                    "last_sync_error".into(),
                    Value::Object(Map::from_iter([
                        ("at".to_owned(), last.at.clone().into()),
                        ("code".to_owned(), last.code.clone().into()),
                        ("message".to_owned(), last.message.clone().into()),
                    ])),
                );
            }
        }
        report
    }

    /// Diagnostics worth showing: an expired bundle, a refused cache, a
    /// failed last sync, notes.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let location = Some(Location::new(self.location.display().to_string()));
        let diagnostic = |severity, code: &str, message: String| Diagnostic {
            severity,
            code: code.to_owned(),
            message,
            source: Some(SourceKind::Cloud),
            location: location.clone(),
            key: None,
            operator: None,
        };
        let mut out = Vec::new();
        let report = self.source_report();
        match (&self.state, self.standing()) {
            (CacheState::Absent, _) if self.configured => out.push(diagnostic(
                Severity::Error,
                "cloud-not-synced",
                "the trust root names a cloud URL but no cloud policy has been synced: the machine is not managed as configured, so every setting is held at its lockdown value until `mandate sync` (as root) fetches the first bundle".into(),
            )),
            (CacheState::Rejected(e), _) => out.push(diagnostic(
                Severity::Error,
                "cloud-cache-rejected",
                format!(
                    "{}: {e}; the cached cloud policy does not count and every setting is held at its lockdown value until `mandate sync` fetches a good copy",
                    self.location.display()
                ),
            )),
            (CacheState::Verified(_), Standing::Lockdown) => out.push(diagnostic(
                Severity::Error,
                "cloud-expired",
                report.reason.clone().unwrap_or_default(),
            )),
            (CacheState::Verified(b), _) if matches!(b.expiry, Expiry::InGrace { .. }) => out.push(diagnostic(
                Severity::Warning,
                "cloud-expired-in-grace",
                report.reason.clone().unwrap_or_default(),
            )),
            _ => {}
        }
        if let Some(last) = self.meta.as_ref().and_then(|m| m.last_error.as_ref()) {
            let standing = match self.standing() {
                Standing::InForce => "the last known good copy stays in force",
                Standing::Lockdown => "settings are held at their lockdown values",
                Standing::Absent => "no cloud policy is in force",
            };
            out.push(diagnostic(
                Severity::Warning,
                "cloud-sync-failed",
                format!(
                    "the last `mandate sync` failed at {} ({}): {}; {standing}",
                    last.at, last.code, last.message
                ),
            ));
        }
        for note in &self.notes {
            out.push(diagnostic(Severity::Info, "cloud-cache-note", note.clone()));
        }
        out
    }

    /// Adds everything to a stack: the source report, the layer when in
    /// force, the diagnostics; a refused cache or one expired past its grace
    /// degrades the result and holds every setting at its lockdown value.
    /// This is the whole of the loader's work for the cloud source.
    pub fn add_to(mut self, schema: &Schema, stack: &mut Stack) {
        let mut diagnostics = self.diagnostics();
        let mut report = self.source_report();
        let standing = self.standing();
        let fails_closed = match standing {
            // Configured but never delivered is not "absent": it fails closed.
            Standing::Absent => self.configured,
            Standing::Lockdown => true,
            Standing::InForce => false,
        };
        if fails_closed {
            // The error that says why the cache does not count.
            let why = diagnostics
                .iter()
                .position(|d| d.severity == Severity::Error)
                .map(|i| diagnostics.remove(i))
                .unwrap_or_else(|| Diagnostic {
                    severity: Severity::Error,
                    code: "cloud-cache-rejected".into(),
                    message: "the cloud policy cannot be used: every setting is held at its lockdown value until `mandate sync` (as root) fetches a good copy".into(),
                    source: Some(SourceKind::Cloud),
                    location: Some(Location::new(self.location.display().to_string())),
                    key: None,
                    operator: None,
                });
            stack.fail_closed(why);
        }
        stack.diagnostics.extend(diagnostics);
        match standing {
            Standing::Absent if self.configured => {
                report.status = SourceStatus::Absent;
                report.reason = Some(
                    "configured by the trust root but never synced: run `mandate sync` as root"
                        .into(),
                );
            }
            Standing::Absent | Standing::Lockdown => {}
            Standing::InForce => match self.layer.take().or_else(|| self.layer(schema)) {
                Some(Ok(layer)) => stack.layers.push(layer),
                Some(Err(errors)) => {
                    report.status = SourceStatus::Rejected;
                    report.reason = Some(format!(
                        "the signed policy does not fit the schema: {errors}"
                    ));
                    stack.fail_closed(Diagnostic {
                        severity: Severity::Error,
                        code: "rejected-file".into(),
                        message: format!(
                            "{errors}\n  this cloud policy does not count and every setting is held at its lockdown value until a corrected bundle is published and synced"
                        ),
                        source: Some(SourceKind::Cloud),
                        location: Some(Location::new(self.location.display().to_string())),
                        key: None,
                        operator: None,
                    });
                }
                None => {}
            },
        }
        stack.sources.push(report);
    }
}

/// RFC 3339, `Z` for UTC.
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// A duration for people: the two largest units (`6d 23h`, `4h 10m`, `42s`).
pub fn human_duration(duration: Duration) -> String {
    let mut seconds = duration.whole_seconds().max(0);
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if seconds >= size || (unit == "s" && parts.is_empty()) {
            parts.push(format!("{}{unit}", seconds / size));
            seconds %= size;
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

/// Creates a directory and any missing parents with mode 0755 exactly
/// (whatever the umask: agents running as users must be able to read the
/// cache); existing directories are left as they are.
pub(crate) fn ensure_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let missing: Vec<&Path> = path
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
        .collect();
    std::fs::create_dir_all(path)?;
    for dir in missing {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn created_directories_are_world_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("var/lib/mandate/cloud");
        ensure_dir(&deep).unwrap();
        for d in [&deep, &dir.path().join("var")] {
            assert_eq!(
                std::fs::metadata(d).unwrap().permissions().mode() & 0o777,
                0o755
            );
        }
        ensure_dir(&deep).unwrap();
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::seconds(42)), "42s");
        assert_eq!(human_duration(Duration::seconds(0)), "0s");
        assert_eq!(human_duration(Duration::minutes(250)), "4h 10m");
        assert_eq!(
            human_duration(Duration::days(7) - Duration::hours(1)),
            "6d 23h"
        );
        assert_eq!(human_duration(Duration::days(2)), "2d");
    }

    #[test]
    fn meta_round_trips_and_describes_its_bundle() {
        let mut meta = CacheMeta::new("https://example.invalid/a.bundle");
        meta.sha256 = Some(Sha256::of(b"bundle").to_hex());
        meta.version = Some(3);
        let parsed = CacheMeta::parse(&meta.to_json()).unwrap();
        assert_eq!(parsed, meta);
        assert!(parsed.describes(b"bundle"));
        assert!(!parsed.describes(b"other"));
        assert!(CacheMeta::parse(b"{\"format\":\"x\",\"url\":\"u\"}").is_err());
        assert!(
            CacheMeta::parse(b"{\"format\":\"mandate-cloud-cache-v1\",\"url\":\"u\",\"extra\":1}")
                .is_err()
        );
    }
}
