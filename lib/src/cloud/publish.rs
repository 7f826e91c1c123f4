//! `mandate publish`: the static layout any web server, bucket or CDN can serve.
//!
//! ```text
//! <out>/
//!   index.json                         informational list of what is served
//!   <org>/cloud/<id>.bundle            the signed bundle, byte for byte
//! ```
//!
//! One path per org, channel and bundle id: a device's trust root names the
//! URL of one bundle (`[cloud] url`), and publishing a new version replaces
//! the file at the same path. `<org>` is the header's org with every
//! character other than ASCII letters, digits, `.`, `_` and `-` replaced by
//! `-` (and a leading `.` too), so it is always one safe path segment; the
//! channel is always `cloud` (a bundle signed for another channel is
//! refused: devices would refuse it); ids are already path-safe.
//!
//! Publishing the same bytes again leaves the file untouched, so a server's
//! `ETag` (nginx derives it from the modification time and size) stays the
//! same and devices keep getting `304 Not Modified`. Publishing an older
//! version, or the same version with other bytes, over a published bundle
//! is refused unless [`PublishOptions::allow_older`] is set: every device
//! that applied the newer one would refuse it (rollback protection) and keep
//! its last known good copy.
//!
//! # `index.json`
//!
//! When several bundles are served from one tree, `index.json` lists them
//! (path, org, channel, id, version, issue and expiry times, sha256 and size
//! of the file, the key ids named by its signatures, content type), sorted
//! by path. It is rebuilt from the tree on every publish and written only
//! when it changes. It is **informational** — for people, monitoring and
//! mirrors — and devices never read it: each bundle carries its own
//! signatures, and a device fetches exactly the URL its verified trust root
//! names. The index is therefore not signed separately (that would put a
//! signing key on the publishing host, which needs none: publishing moves
//! bundles that were signed offline). Its `signers` entries are the key ids
//! the signatures claim; they are verified only when `--trust` is given.
//!
//! # Content types
//!
//! [`CONTENT_TYPES`] is the table servers should be configured with:
//!
//! | file | `Content-Type` | `Cache-Control` |
//! | --- | --- | --- |
//! | `*.bundle` | `application/vnd.mandate.bundle+json` | `no-cache` (store, but revalidate with `If-None-Match` every time) |
//! | `index.json` | `application/json` | `no-cache` |
//!
//! `mandate sync` does not depend on the content type (it verifies the
//! bytes), but a correct one keeps proxies and CDNs from transforming the
//! body; never enable on-the-fly compression for `*.bundle`
//! (`mandate sync` refuses any `Content-Encoding` but identity).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Serialize;
use time::OffsetDateTime;

use super::{BUNDLE_CONTENT_TYPE, rfc3339};
use crate::atomic::write_atomic;
use crate::source::ManagedSource;
use crate::trust::envelope::{Envelope, EnvelopeError, POLICY_PAYLOAD_TYPE};
use crate::trust::header::{Channel, HeaderError, PolicyHeader, SignedHeader};
use crate::trust::keys::KeyId;
use crate::trust::root::TrustRoot;
use crate::trust::state::RollbackState;
use crate::trust::{BundleError, Sha256, verify_bundle};

/// File suffix → `Content-Type` and `Cache-Control` to serve it with.
pub const CONTENT_TYPES: &[(&str, &str, &str)] = &[
    (".bundle", BUNDLE_CONTENT_TYPE, "no-cache"),
    ("index.json", "application/json", "no-cache"),
];

/// The index file name, at the top of the published tree.
pub const INDEX_FILE: &str = "index.json";

const INDEX_FORMAT: &str = "mandate-publish-index-v1";

/// The `Content-Type` to serve a published file with, from [`CONTENT_TYPES`].
///
/// ```
/// use std::path::Path;
/// use mandate::cloud::content_type;
/// assert_eq!(content_type(Path::new("acme/cloud/base.bundle")), Some("application/vnd.mandate.bundle+json"));
/// assert_eq!(content_type(Path::new("index.json")), Some("application/json"));
/// assert_eq!(content_type(Path::new("notes.txt")), None);
/// ```
pub fn content_type(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?;
    CONTENT_TYPES
        .iter()
        .find(|(suffix, _, _)| name.ends_with(suffix))
        .map(|(_, content_type, _)| *content_type)
}

/// How to publish.
#[derive(Clone, Copy, Debug)]
pub struct PublishOptions<'a> {
    /// Verify the bundle against this trust root first (recommended); without
    /// one the header is read from the unverified payload.
    pub trust: Option<&'a TrustRoot>,
    /// The time to check expiry against.
    pub now: OffsetDateTime,
    /// Replace a published bundle with an older version (or the same version
    /// with other bytes) anyway. Devices that applied the newer one refuse it.
    pub allow_older: bool,
}

/// Whether the bundle was checked against a trust root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishCheck {
    /// Verified against the trust root given: signatures, org, channel, id.
    Verified {
        /// The policy keys whose signatures verified.
        signers: Vec<KeyId>,
        /// The trust root's version.
        root_version: u64,
    },
    /// No trust root given: the header was read from the unverified payload.
    Unverified,
}

/// What was there before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Previous {
    /// Nothing was published at that path.
    Nothing,
    /// The very same bytes were already published: nothing was written.
    Same,
    /// Another bundle was replaced.
    Replaced {
        /// Its version, when its header could be read.
        version: Option<u64>,
    },
}

/// A bundle laid out for serving.
#[derive(Clone, Debug)]
pub struct Published {
    /// The file written.
    pub path: PathBuf,
    /// Its path relative to the output directory, with `/` (append it to the server's base URL).
    pub url_path: String,
    /// The bundle's header.
    pub header: SignedHeader,
    /// Whether it was verified.
    pub check: PublishCheck,
    /// What it replaced.
    pub previous: Previous,
    /// The index file.
    pub index: PathBuf,
    /// How many bundles the index lists.
    pub indexed: usize,
}

/// Why a bundle was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Not a bundle envelope.
    #[error("not a signed bundle: {0}")]
    Envelope(EnvelopeError),
    /// The envelope carries something other than policy.
    #[error(
        "the bundle carries `{found}`, not policy (`{POLICY_PAYLOAD_TYPE}`); publish a bundle made by `mandate sign`"
    )]
    PayloadType {
        /// The payload type found.
        found: String,
    },
    /// The payload's header is missing or malformed.
    #[error("the bundle's policy header: {0}")]
    Header(HeaderError),
    /// Verification against the trust root failed.
    #[error("the bundle does not verify against the trust root: {0}")]
    Verify(BundleError),
    /// Signed for another channel.
    #[error(
        "the bundle was signed for the {found} channel; devices only accept `channel = \"cloud\"` from the cloud: sign it again for the cloud channel"
    )]
    Channel {
        /// The header's channel.
        found: Channel,
    },
    /// Already expired.
    #[error(
        "bundle {id} version {version} expired at {expires}; devices would refuse it: sign a fresh one with a later `expires`"
    )]
    Expired {
        /// The id.
        id: String,
        /// The version.
        version: u64,
        /// When it expired.
        expires: String,
    },
    /// Older than what is published.
    #[error(
        "{path} holds version {published} of {id}; publishing version {version} would be refused by every device that applied {published} (rollback protection): sign a version above {published}, or pass --allow-older to serve it anyway"
    )]
    Older {
        /// The file.
        path: PathBuf,
        /// The id.
        id: String,
        /// The version being published.
        version: u64,
        /// The version already published.
        published: u64,
    },
    /// Same version, other bytes.
    #[error("{path} holds other bytes for version {version} of {id}; devices that applied them refuse a second version {version}: sign it as version {next}, or pass --allow-older to serve it anyway", next = .version + 1)]
    SameVersion {
        /// The file.
        path: PathBuf,
        /// The id.
        id: String,
        /// The version.
        version: u64,
    },
    /// Writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Lays `bundle` out under `out` for serving (see the module documentation)
/// and rebuilds `index.json`.
pub fn publish(
    bundle: &[u8],
    out: &Path,
    options: &PublishOptions<'_>,
) -> Result<Published, PublishError> {
    let (header, check) = read_header(bundle, options)?;
    if header.channel != Channel::Cloud {
        return Err(PublishError::Channel {
            found: header.channel,
        });
    }
    if header.expires <= options.now {
        return Err(PublishError::Expired {
            id: header.id,
            version: header.version,
            expires: rfc3339(header.expires),
        });
    }
    let url_path = format!(
        "{}/{}/{}.bundle",
        path_segment(&header.org),
        header.channel,
        header.id
    );
    let path = out.join(&url_path);
    let previous = match std::fs::read(&path) {
        Ok(existing) if existing == bundle => Previous::Same,
        Ok(existing) => {
            let version = unverified_header(&existing).ok().map(|h| h.version);
            if let Some(published) = version
                && !options.allow_older
            {
                if header.version < published {
                    return Err(PublishError::Older {
                        path,
                        id: header.id,
                        version: header.version,
                        published,
                    });
                }
                if header.version == published {
                    return Err(PublishError::SameVersion {
                        path,
                        id: header.id,
                        version: header.version,
                    });
                }
            }
            Previous::Replaced { version }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Previous::Nothing,
        Err(source) => return Err(PublishError::Io { path, source }),
    };
    if previous != Previous::Same {
        if let Some(dir) = path.parent() {
            super::ensure_dir(dir).map_err(|source| PublishError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        write_atomic(&path, bundle, 0o644).map_err(|source| PublishError::Io {
            path: path.clone(),
            source,
        })?;
    }
    let (index, indexed) = write_index(out)?;
    Ok(Published {
        path,
        url_path,
        header,
        check,
        previous,
        index,
        indexed,
    })
}

fn read_header(
    bundle: &[u8],
    options: &PublishOptions<'_>,
) -> Result<(SignedHeader, PublishCheck), PublishError> {
    let envelope = Envelope::parse(bundle).map_err(PublishError::Envelope)?;
    if envelope.payload_type() != POLICY_PAYLOAD_TYPE {
        return Err(PublishError::PayloadType {
            found: envelope.payload_type().to_owned(),
        });
    }
    match options.trust {
        Some(root) => {
            // A fresh state: the publisher has no rollback history to apply.
            let verified = verify_bundle(
                bundle,
                root,
                ManagedSource::Cloud,
                options.now,
                &RollbackState::new(),
            )
            .map_err(|e| match e {
                BundleError::ChannelMismatch { found, .. } => PublishError::Channel { found },
                other => PublishError::Verify(other),
            })?;
            Ok((
                verified.header,
                PublishCheck::Verified {
                    signers: verified.signers,
                    root_version: verified.root_version,
                },
            ))
        }
        None => Ok((unverified_header(bundle)?, PublishCheck::Unverified)),
    }
}

/// The header of a bundle's payload, read **without** verifying anything
/// (publishing only: a device never does this).
fn unverified_header(bundle: &[u8]) -> Result<SignedHeader, PublishError> {
    // The envelope was parsed strictly already (or is a published file);
    // take the payload field again since the envelope keeps it private
    // until verified.
    #[derive(serde::Deserialize)]
    struct Payload {
        payload: String,
    }
    let raw: Payload = serde_json::from_slice(bundle).map_err(|e| {
        PublishError::Envelope(EnvelopeError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    })?;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(raw.payload.as_bytes())
        .map_err(|e| {
            PublishError::Envelope(EnvelopeError::Base64 {
                field: "payload".into(),
                problem: e.to_string(),
            })
        })?;
    PolicyHeader::parse(&payload)
        .map_err(PublishError::Header)?
        .ok_or(PublishError::Header(HeaderError::Missing))?
        .require_signed_fields()
        .map_err(PublishError::Header)
}

/// `org` as one safe path segment.
fn path_segment(org: &str) -> String {
    org.chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || (c == '.' && i > 0) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[derive(Serialize)]
struct Index {
    format: &'static str,
    note: &'static str,
    bundles: Vec<IndexEntry>,
}

#[derive(Serialize)]
struct IndexEntry {
    path: String,
    org: String,
    channel: Channel,
    id: String,
    version: u64,
    issued_at: String,
    expires: String,
    /// Of the bundle file as served (not of its payload).
    file_sha256: String,
    size: usize,
    signers: Vec<String>,
    content_type: &'static str,
}

fn write_index(out: &Path) -> Result<(PathBuf, usize), PublishError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PublishError::Io { path, source }
    };
    let mut entries = Vec::new();
    for org in sorted_dirs(out).map_err(io(out))? {
        let channel_dir = out.join(&org).join(Channel::Cloud.name());
        if !channel_dir.is_dir() {
            continue;
        }
        let mut names: Vec<String> = std::fs::read_dir(&channel_dir)
            .map_err(io(&channel_dir))?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".bundle") && !n.starts_with('.'))
            .collect();
        names.sort();
        for name in names {
            let path = channel_dir.join(&name);
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let Ok(header) = unverified_header(&bytes) else {
                continue;
            };
            let signers = Envelope::parse(&bytes)
                .map(|e| e.signatures().iter().map(|s| s.keyid.clone()).collect())
                .unwrap_or_default();
            entries.push(IndexEntry {
                path: format!("{org}/{}/{name}", Channel::Cloud.name()),
                org: header.org,
                channel: header.channel,
                id: header.id,
                version: header.version,
                issued_at: rfc3339(header.issued_at),
                expires: rfc3339(header.expires),
                file_sha256: Sha256::of(&bytes).to_hex(),
                size: bytes.len(),
                signers,
                content_type: BUNDLE_CONTENT_TYPE,
            });
        }
    }
    let index = Index {
        format: INDEX_FORMAT,
        note: "informational: devices never read this file; each bundle is verified by its own signatures",
        bundles: entries,
    };
    let count = index.bundles.len();
    let mut bytes = serde_json::to_vec_pretty(&index).unwrap_or_default();
    bytes.push(b'\n');
    let path = out.join(INDEX_FILE);
    if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
        write_atomic(&path, &bytes, 0o644).map_err(io(&path))?;
    }
    Ok((path, count))
}

fn sorted_dirs(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::trust::keys::SecretKey;
    use crate::trust::root::TrustRootBuilder;

    const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

    fn key(i: u8) -> SecretKey {
        SecretKey::from_seed(&[i; 32])
    }

    fn root() -> TrustRoot {
        let body = TrustRootBuilder::new("Acme Corp", datetime!(2030-01-01 00:00 UTC))
            .root_keys(vec![key(1).public().clone()], 1)
            .policy_keys(vec![key(11).public().clone()], 1)
            .body()
            .unwrap();
        TrustRoot::verify_self(&TrustRoot::sign(&body, &[&key(1)]).unwrap(), NOW).unwrap()
    }

    fn bundle(channel: &str, version: u64, setting: &str) -> Vec<u8> {
        let payload = format!(
            "[policy]\norg = \"Acme Corp\"\nchannel = \"{channel}\"\nid = \"base\"\nversion = {version}\nissued_at = 2026-05-01T00:00:00Z\nexpires = 2026-12-01T00:00:00Z\n\n[settings]\n\"sandbox.mode\" = \"{setting}\"\n"
        );
        Envelope::sign(POLICY_PAYLOAD_TYPE, payload.as_bytes(), &[&key(11)]).to_json()
    }

    fn options(trust: Option<&TrustRoot>) -> PublishOptions<'_> {
        PublishOptions {
            trust,
            now: NOW,
            allow_older: false,
        }
    }

    #[test]
    fn lays_out_one_path_per_org_channel_id() {
        let out = tempfile::tempdir().unwrap();
        let root = root();
        let published = publish(
            &bundle("cloud", 3, "read-only"),
            out.path(),
            &options(Some(&root)),
        )
        .unwrap();
        assert_eq!(published.url_path, "Acme-Corp/cloud/base.bundle");
        assert_eq!(published.previous, Previous::Nothing);
        assert!(matches!(
            published.check,
            PublishCheck::Verified {
                root_version: 1,
                ..
            }
        ));
        assert_eq!(published.indexed, 1);
        let index: crate::value::Value =
            serde_json::from_slice(&std::fs::read(&published.index).unwrap()).unwrap();
        assert_eq!(index["bundles"][0]["version"], 3);
        assert_eq!(index["bundles"][0]["path"], "Acme-Corp/cloud/base.bundle");

        // The same bytes again: nothing written (the server's ETag stays).
        let before = std::fs::metadata(&published.path)
            .unwrap()
            .modified()
            .unwrap();
        let again = publish(&bundle("cloud", 3, "read-only"), out.path(), &options(None)).unwrap();
        assert_eq!(again.previous, Previous::Same);
        assert_eq!(again.check, PublishCheck::Unverified);
        assert_eq!(
            std::fs::metadata(&published.path)
                .unwrap()
                .modified()
                .unwrap(),
            before
        );

        let newer = publish(&bundle("cloud", 4, "read-only"), out.path(), &options(None)).unwrap();
        assert_eq!(newer.previous, Previous::Replaced { version: Some(3) });
    }

    #[test]
    fn refuses_what_devices_would_refuse() {
        let out = tempfile::tempdir().unwrap();
        publish(&bundle("cloud", 5, "read-only"), out.path(), &options(None)).unwrap();
        let older =
            publish(&bundle("cloud", 4, "read-only"), out.path(), &options(None)).unwrap_err();
        assert!(
            matches!(
                older,
                PublishError::Older {
                    published: 5,
                    version: 4,
                    ..
                }
            ),
            "{older}"
        );
        let same = publish(
            &bundle("cloud", 5, "workspace-write"),
            out.path(),
            &options(None),
        )
        .unwrap_err();
        assert!(
            matches!(same, PublishError::SameVersion { version: 5, .. }),
            "{same}"
        );
        let forced = PublishOptions {
            allow_older: true,
            ..options(None)
        };
        assert!(publish(&bundle("cloud", 4, "read-only"), out.path(), &forced).is_ok());

        let mdm = publish(&bundle("mdm", 9, "read-only"), out.path(), &options(None)).unwrap_err();
        assert!(
            matches!(
                mdm,
                PublishError::Channel {
                    found: Channel::Mdm
                }
            ),
            "{mdm}"
        );
        let root = root();
        let mdm = publish(
            &bundle("mdm", 9, "read-only"),
            out.path(),
            &options(Some(&root)),
        )
        .unwrap_err();
        assert!(matches!(mdm, PublishError::Channel { .. }), "{mdm}");

        let late = PublishOptions {
            now: datetime!(2027-01-01 00:00 UTC),
            ..options(None)
        };
        let expired = publish(&bundle("cloud", 6, "read-only"), out.path(), &late).unwrap_err();
        assert!(matches!(expired, PublishError::Expired { .. }), "{expired}");

        let other_key = Envelope::sign(
            POLICY_PAYLOAD_TYPE,
            b"[policy]\norg = \"Acme Corp\"\nchannel = \"cloud\"\nid = \"base\"\nversion = 6\nissued_at = 2026-05-01T00:00:00Z\nexpires = 2026-12-01T00:00:00Z\n",
            &[&key(42)],
        )
        .to_json();
        let refused = publish(&other_key, out.path(), &options(Some(&root))).unwrap_err();
        assert!(matches!(refused, PublishError::Verify(_)), "{refused}");
        assert!(matches!(
            publish(b"not json", out.path(), &options(None)).unwrap_err(),
            PublishError::Envelope(_)
        ));
    }

    #[test]
    fn org_is_one_safe_segment() {
        assert_eq!(path_segment("acme"), "acme");
        assert_eq!(path_segment("../etc"), "-.-etc");
        assert_eq!(path_segment(".hidden"), "-hidden");
        assert_eq!(path_segment("a/b c.d"), "a-b-c.d");
        assert_eq!(path_segment("Ünï"), "-n-");
    }
}
