//! Trust: keys, signed policy bundles, the trust root and rollback protection.
//!
//! The resolver calls one function per managed policy file:
//! [`verify_managed`] for what it found (a `*.bundle` envelope or a plain
//! policy document) in a managed source. It answers with a three-valued
//! [`Verification`]: the verified bundle, unsigned-but-acceptable (and why),
//! or rejected (and why, with a reason code). [`verify_bundle`] is the
//! bundle half of it.
//!
//! Checks on a bundle, in order (each one's reason code in brackets; see
//! `docs/trust.md`):
//!
//! 1. the trust root has not expired (`root-expired`);
//! 2. the envelope parses strictly (`too-large`, `envelope-json`,
//!    `envelope-base64`, `envelope-limits`);
//! 3. its payload type is the policy type (`payload-type`);
//! 4. a threshold of distinct policy keys signed it (`threshold`);
//! 5. only now are the payload bytes parsed: valid TOML (`policy-syntax`)
//!    with a complete `[policy]` header (`header-missing`, `header-invalid`);
//! 6. the header's org is the root's (`org-mismatch`), its channel is the
//!    source's (`channel-mismatch`), and a cloud bundle has the id the root
//!    names (`bundle-id-mismatch`);
//! 7. rollback state: clock (`clock-stepped-back`), issue time
//!    (`issued-in-future`), version (`rollback-version`,
//!    `rollback-same-version`, `rollback-issued-earlier`);
//! 8. expiry, which does not reject: [`Expiry::Fresh`], [`Expiry::InGrace`]
//!    within the root's `offline_grace`, else [`Expiry::PastGrace`] (the
//!    resolver then holds settings at their lockdown values).
//!
//! After a bundle is accepted and applied, a root process records it with
//! [`state::RollbackState::record_bundle`] and saves the state atomically.

use std::fmt;

use sha2::Digest as _;
use time::{Duration, OffsetDateTime};
use toml::de::DeTable;

pub mod envelope;
pub(crate) mod fields;
pub mod header;
pub mod keys;
pub mod root;
pub mod signer;
pub mod state;

pub use fields::TomlProblem;

use envelope::{Envelope, EnvelopeError, POLICY_PAYLOAD_TYPE, SignatureCount};
use header::{Channel, HeaderError, PolicyHeader, SignedHeader};
use keys::KeyId;
use root::{RetiredKey, RoleName, TrustRoot};
use state::{RollbackError, RollbackState};

use crate::source::ManagedSource;

/// A sha256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256([u8; 32]);

impl Sha256 {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256 {
        Sha256(sha2::Sha256::digest(bytes).into())
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        keys::hex(&self.0)
    }

    /// Parses 64 lowercase hex characters.
    pub fn from_hex(text: &str) -> Option<Sha256> {
        if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Sha256(out))
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The outcome of verifying a managed policy file. Never a `bool`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification<T> {
    /// Signatures and every binding check passed.
    Verified(T),
    /// Not signed, and acceptable unsigned (the resolver still applies its
    /// file ownership checks).
    Unsigned(UnsignedReason),
    /// Refused; the layer fails closed.
    Rejected(BundleError),
}

impl<T> Verification<T> {
    /// The status word `mandate sources` shows: `verified`, `unsigned` or `rejected`.
    pub fn status(&self) -> &'static str {
        match self {
            Verification::Verified(_) => "verified",
            Verification::Unsigned(_) => "unsigned",
            Verification::Rejected(_) => "rejected",
        }
    }
}

/// Why an unsigned managed file is acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsignedReason {
    /// No trust root is installed: `mandate` runs in unsigned mode.
    NoTrustRoot,
    /// The trust root does not list this source in `signed_sources`.
    NotRequired,
}

impl fmt::Display for UnsignedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnsignedReason::NoTrustRoot => {
                "unsigned mode: no trust root is installed, so root-owned policy files are accepted without signatures"
            }
            UnsignedReason::NotRequired => "the trust root does not require this source to be signed",
        })
    }
}

/// What the resolver found in a managed source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManagedDocument<'a> {
    /// A signed bundle (`*.bundle`, or an envelope in an MDM `Policy` key).
    Bundle(&'a [u8]),
    /// A plain policy document or native MDM settings: nothing signed.
    Plain,
}

/// How fresh a verified bundle is at the time given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Not expired.
    Fresh {
        /// When it expires.
        expires: OffsetDateTime,
    },
    /// Expired, but within the trust root's `offline_grace`: still used.
    InGrace {
        /// When it expired.
        expired: OffsetDateTime,
        /// How much grace is left.
        left: Duration,
    },
    /// Expired beyond the grace: settings are held at their lockdown values.
    PastGrace {
        /// When it expired.
        expired: OffsetDateTime,
        /// When the grace ended.
        grace_ended: OffsetDateTime,
    },
}

impl Expiry {
    /// The expiry of a bundle expiring at `expires` with `grace`, at `now`.
    pub fn at(expires: OffsetDateTime, grace: Duration, now: OffsetDateTime) -> Expiry {
        let grace_ended = expires + grace;
        if now < expires {
            Expiry::Fresh { expires }
        } else if now < grace_ended {
            Expiry::InGrace {
                expired: expires,
                left: grace_ended - now,
            }
        } else {
            Expiry::PastGrace {
                expired: expires,
                grace_ended,
            }
        }
    }
}

/// A bundle that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// The source it was found in.
    pub source: ManagedSource,
    /// Its header.
    pub header: SignedHeader,
    /// The exact policy bytes that were signed; parse these, nothing else.
    pub payload: Vec<u8>,
    /// The distinct policy keys that signed it, sorted.
    pub signers: Vec<KeyId>,
    /// The sha256 of the payload (what rollback state records).
    pub sha256: Sha256,
    /// The fingerprint of the policy key set that verified it.
    pub policy_keys: Sha256,
    /// The ids of the trust root's policy keys when it was verified.
    pub policy_key_ids: Vec<KeyId>,
    /// The version of the trust root that verified it.
    pub root_version: u64,
    /// Freshness at the time of verification.
    pub expiry: Expiry,
}

impl VerifiedBundle {
    /// The keys rollback state judges and records it under.
    pub fn key_set(&self) -> state::KeySet {
        state::KeySet {
            fingerprint: self.policy_keys,
            policy: self
                .policy_key_ids
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
            signers: self.signers.iter().map(|k| k.as_str().to_owned()).collect(),
        }
    }

    /// The payload as text (verification checked it is UTF-8).
    pub fn text(&self) -> &str {
        // Verification parsed the payload as UTF-8 TOML; this cannot fail.
        std::str::from_utf8(&self.payload).unwrap_or_default()
    }
}

/// A bundle's payload while it is being verified, once every check has
/// passed: the header, and the document verification parsed to read it,
/// lent to whoever builds the layer ([`crate::Layer::from_payload`]) so
/// that the payload is parsed once ([`verify_bundle_with`]).
#[derive(Debug)]
pub struct VerifiedPayload<'p> {
    /// The signed header.
    pub header: &'p SignedHeader,
    /// Freshness at the time of verification.
    pub expiry: Expiry,
    text: &'p str,
    root: &'p DeTable<'p>,
}

impl<'p> VerifiedPayload<'p> {
    /// The payload as text.
    pub fn text(&self) -> &'p str {
        self.text
    }

    /// The parsed payload's root table; its spans are byte offsets into
    /// [`VerifiedPayload::text`].
    pub(crate) fn root(&self) -> &'p DeTable<'p> {
        self.root
    }
}

/// Why a managed policy file was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// A signed bundle was found but no trust root is installed to verify it.
    #[error(
        "{managed} holds a signed bundle but no trust root is installed; install trust.toml (`mandate trust init`, or the MDM `TrustRoot` key)"
    )]
    NoTrustRoot {
        /// The source.
        managed: ManagedSource,
    },
    /// An unsigned policy file in a source the trust root requires to be signed.
    #[error(
        "{managed} policy must be signed (the trust root lists it in `signed_sources`); sign it with `mandate sign` and install the .bundle"
    )]
    UnsignedNotAllowed {
        /// The source.
        managed: ManagedSource,
    },
    /// The trust root has expired.
    #[error("trust root version {version} expired at {}; rotate it (`mandate trust rotate`) or reinstall a current one", fields::format_datetime(*.expires))]
    RootExpired {
        /// The root version.
        version: u64,
        /// When it expired.
        expires: OffsetDateTime,
    },
    /// The envelope is malformed, or of the wrong payload type.
    #[error(transparent)]
    Envelope(EnvelopeError),
    /// Not enough distinct policy keys signed.
    #[error("{}", threshold_message(.count, .other_role, .retired, *.root_version))]
    Threshold {
        /// The count of valid policy signatures.
        count: Box<SignatureCount>,
        /// Keys of the trust root outside the policy role that signed validly.
        other_role: Vec<KeyId>,
        /// Retired policy keys (past their overlap) that signed validly, as
        /// the trust root names them, with their retirement record.
        retired: Vec<(String, RetiredKey)>,
        /// The version of the trust root.
        root_version: u64,
    },
    /// The verified payload is not a valid signed policy document.
    #[error("bundle payload: {0}")]
    Header(HeaderError),
    /// The header's org is not the trust root's.
    #[error(
        "bundle is for org `{found}` but the trust root is for `{expected}`; it was not issued for this machine"
    )]
    OrgMismatch {
        /// The root's org.
        expected: String,
        /// The header's org.
        found: String,
    },
    /// The header's channel does not match the source.
    #[error(
        "bundle was issued for the {found} channel but found in the {managed} source (which takes {expected}); publish it through the right channel"
    )]
    ChannelMismatch {
        /// Where it was found.
        managed: ManagedSource,
        /// The channel that source takes.
        expected: Channel,
        /// The header's channel.
        found: Channel,
    },
    /// A cloud bundle whose id is not the one the trust root names.
    #[error(
        "cloud bundle has id `{found}` but the trust root expects `{expected}`; check [cloud] bundle in trust.toml"
    )]
    BundleIdMismatch {
        /// The id the root names.
        expected: String,
        /// The header's id.
        found: String,
    },
    /// Rollback protection refused it.
    #[error(transparent)]
    Rollback(RollbackError),
}

fn threshold_message(
    count: &SignatureCount,
    other_role: &[KeyId],
    retired: &[(String, RetiredKey)],
    root_version: u64,
) -> String {
    if retired.is_empty() {
        return format!(
            "bundle has {count} from policy keys{}{}; sign it with more policy keys of trust root version {root_version} (`mandate sign --key …`)",
            count.details(),
            other_role_note(other_role)
        );
    }
    let causes: Vec<String> = retired
        .iter()
        .map(|(name, r)| {
            let overlap = r
                .until
                .map(|u| format!(", and its overlap ended at {}", fields::format_datetime(u)))
                .unwrap_or_default();
            format!(
                "policy key {name} was removed by trust root version {}{overlap}",
                r.version
            )
        })
        .collect();
    format!(
        "bundle is signed by a key that no longer signs policy: {}; it has {count} from current policy keys. Re-sign it with a policy key of trust root version {root_version} and publish it again (`mandate sign --key …`)",
        causes.join("; ")
    )
}

fn other_role_note(keys: &[KeyId]) -> String {
    if keys.is_empty() {
        String::new()
    } else {
        let ids: Vec<&str> = keys.iter().map(KeyId::as_str).collect();
        format!(
            " (also signed by {}, which may not sign policy)",
            ids.join(", ")
        )
    }
}

impl BundleError {
    /// A stable, machine-readable reason code (see `docs/trust.md`).
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::NoTrustRoot { .. } => "no-trust-root",
            BundleError::UnsignedNotAllowed { .. } => "unsigned-not-allowed",
            BundleError::RootExpired { .. } => "root-expired",
            BundleError::Envelope(e) => match e {
                EnvelopeError::TooLarge { .. } => "too-large",
                EnvelopeError::Json { .. } => "envelope-json",
                EnvelopeError::Base64 { .. } => "envelope-base64",
                EnvelopeError::TooManySignatures { .. } => "envelope-limits",
                EnvelopeError::PayloadType { .. } => "payload-type",
                EnvelopeError::InvalidThreshold { .. } | EnvelopeError::Threshold(_) => "threshold",
            },
            BundleError::Threshold { retired, .. } if !retired.is_empty() => "key-retired",
            BundleError::Threshold { .. } => "threshold",
            BundleError::Header(e) => e.code(),
            BundleError::OrgMismatch { .. } => "org-mismatch",
            BundleError::ChannelMismatch { .. } => "channel-mismatch",
            BundleError::BundleIdMismatch { .. } => "bundle-id-mismatch",
            BundleError::Rollback(e) => e.code(),
        }
    }
}

/// The signed header of a bundle about to be delivered through `source`,
/// read **without** verifying signatures (for tools that package or check
/// bundles before they reach a device: `validate`, `package mobileconfig`),
/// refused with the error a device would give when the bundle was signed
/// for another channel (`channel-mismatch`) or its header is incomplete.
pub fn check_unverified_channel(
    bytes: &[u8],
    source: ManagedSource,
) -> Result<SignedHeader, BundleError> {
    let envelope = Envelope::parse(bytes).map_err(BundleError::Envelope)?;
    let header = PolicyHeader::parse(envelope.unverified_payload())
        .map_err(BundleError::Header)?
        .ok_or(BundleError::Header(HeaderError::Missing))?
        .require_signed_fields()
        .map_err(BundleError::Header)?;
    let expected = Channel::for_source(source);
    if header.channel != expected {
        return Err(BundleError::ChannelMismatch {
            managed: source,
            expected,
            found: header.channel,
        });
    }
    Ok(header)
}

/// Verifies a bundle found in managed `source` against `root` and the
/// rollback `state`, at `now`. See the module documentation for the checks
/// and their order. Nothing is recorded: call
/// [`RollbackState::record_bundle`] once the bundle is applied.
pub fn verify_bundle(
    bytes: &[u8],
    root: &TrustRoot,
    source: ManagedSource,
    now: OffsetDateTime,
    state: &RollbackState,
) -> Result<VerifiedBundle, BundleError> {
    verify_bundle_with(bytes, root, source, now, state, |_| ()).map(|(bundle, ())| bundle)
}

/// [`verify_bundle`], and `read` given the payload as verification parsed
/// it, once every check has passed: how a resolver builds a bundle's layer
/// from the one parse of its payload (the header is read from the same
/// document), instead of parsing the verified bytes again.
pub fn verify_bundle_with<T>(
    bytes: &[u8],
    root: &TrustRoot,
    source: ManagedSource,
    now: OffsetDateTime,
    state: &RollbackState,
    read: impl FnOnce(&VerifiedPayload<'_>) -> T,
) -> Result<(VerifiedBundle, T), BundleError> {
    if root.check_not_expired(now).is_err() {
        return Err(BundleError::RootExpired {
            version: root.version(),
            expires: root.expires(),
        });
    }
    let envelope = Envelope::parse(bytes).map_err(BundleError::Envelope)?;
    let policy = root.role(RoleName::Policy);
    // Retired policy keys still within their overlap count like policy keys.
    let signing_keys = root.policy_keys_at(now);
    let verified = match envelope.verify(POLICY_PAYLOAD_TYPE, &signing_keys, policy.threshold) {
        Ok(verified) => verified,
        Err(EnvelopeError::Threshold(count)) => {
            // Name keys of the root that signed but may not sign policy:
            // retired policy keys (the real cause after a rotation) apart.
            let counted = |k: &&keys::PublicKey| signing_keys.iter().any(|s| s.id() == k.id());
            let retired_keys: Vec<_> = root
                .keys()
                .values()
                .filter(|k| !counted(k) && root.retired_policy_key(k.id()).is_some())
                .collect();
            let others: Vec<_> = root
                .keys()
                .values()
                .filter(|k| !counted(k) && root.retired_policy_key(k.id()).is_none())
                .collect();
            let other_role = envelope.valid_signers(&others);
            let retired = envelope
                .valid_signers(&retired_keys)
                .iter()
                .filter_map(|id| {
                    let record = root.retired_policy_key(id)?.clone();
                    Some((root.describe_key(id), record))
                })
                .collect();
            return Err(BundleError::Threshold {
                count: Box::new(count),
                other_role,
                retired,
                root_version: root.version(),
            });
        }
        Err(other) => return Err(BundleError::Envelope(other)),
    };

    // The one parse of the payload: the header is read from it here, and
    // `read` (the resolver) reads the rest from the same document below.
    let text =
        fields::utf8(&verified.payload).map_err(|p| BundleError::Header(HeaderError::Syntax(p)))?;
    let doc = fields::parse(text).map_err(|p| BundleError::Header(HeaderError::Syntax(p)))?;
    let header = PolicyHeader::of_document(text, &doc)
        .map_err(BundleError::Header)?
        .ok_or(BundleError::Header(HeaderError::Missing))?
        .require_signed_fields()
        .map_err(BundleError::Header)?;
    if header.org != root.org() {
        return Err(BundleError::OrgMismatch {
            expected: root.org().to_owned(),
            found: header.org,
        });
    }
    let expected = Channel::for_source(source);
    if header.channel != expected {
        return Err(BundleError::ChannelMismatch {
            managed: source,
            expected,
            found: header.channel,
        });
    }
    if source == ManagedSource::Cloud
        && let Some(bundle) = root.cloud().and_then(|c| c.bundle.as_deref())
        && header.id != bundle
    {
        return Err(BundleError::BundleIdMismatch {
            expected: bundle.to_owned(),
            found: header.id,
        });
    }
    let sha256 = Sha256::of(&verified.payload);
    let policy_keys = root.policy_keys_fingerprint();
    let policy_key_ids = root.role(RoleName::Policy).keys.clone();
    let key_set = state::KeySet {
        fingerprint: policy_keys,
        policy: policy_key_ids
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect(),
        signers: verified
            .signers
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect(),
    };
    state
        .check(&header, &sha256, now, key_set)
        .map_err(BundleError::Rollback)?;
    let expiry = Expiry::at(header.expires, root.offline_grace(), now);
    let read = read(&VerifiedPayload {
        header: &header,
        expiry,
        text,
        root: &doc,
    });
    // The document borrows the payload; it is dropped here, and the
    // payload moves into the bundle.
    drop(doc);
    let bundle = VerifiedBundle {
        source,
        header,
        payload: verified.payload,
        signers: verified.signers,
        sha256,
        policy_keys,
        policy_key_ids,
        root_version: root.version(),
        expiry,
    };
    Ok((bundle, read))
}

/// Decides what to make of a managed policy file:
///
/// | trust root | source must be signed | bundle | plain document |
/// | --- | --- | --- | --- |
/// | none | — | `Rejected(no-trust-root)` | `Unsigned(NoTrustRoot)` |
/// | installed | yes | [`verify_bundle`] | `Rejected(unsigned-not-allowed)` |
/// | installed | no | [`verify_bundle`] | `Unsigned(NotRequired)` |
///
/// A bundle is always verified when a root is installed: a bundle that
/// fails is rejected, never downgraded to unsigned.
pub fn verify_managed(
    document: ManagedDocument<'_>,
    root: Option<&TrustRoot>,
    source: ManagedSource,
    now: OffsetDateTime,
    state: &RollbackState,
) -> Verification<VerifiedBundle> {
    match verify_managed_with(document, root, source, now, state, |_| ()) {
        Verification::Verified((bundle, ())) => Verification::Verified(bundle),
        Verification::Unsigned(reason) => Verification::Unsigned(reason),
        Verification::Rejected(error) => Verification::Rejected(error),
    }
}

/// [`verify_managed`], with `read` given a verified bundle's payload as
/// verification parsed it ([`verify_bundle_with`]).
pub fn verify_managed_with<T>(
    document: ManagedDocument<'_>,
    root: Option<&TrustRoot>,
    source: ManagedSource,
    now: OffsetDateTime,
    state: &RollbackState,
    read: impl FnOnce(&VerifiedPayload<'_>) -> T,
) -> Verification<(VerifiedBundle, T)> {
    match (document, root) {
        (ManagedDocument::Bundle(_), None) => {
            Verification::Rejected(BundleError::NoTrustRoot { managed: source })
        }
        (ManagedDocument::Plain, None) => Verification::Unsigned(UnsignedReason::NoTrustRoot),
        (ManagedDocument::Plain, Some(root)) if root.must_be_signed(source) => {
            Verification::Rejected(BundleError::UnsignedNotAllowed { managed: source })
        }
        (ManagedDocument::Plain, Some(_)) => Verification::Unsigned(UnsignedReason::NotRequired),
        (ManagedDocument::Bundle(bytes), Some(root)) => {
            match verify_bundle_with(bytes, root, source, now, state, read) {
                Ok(verified) => Verification::Verified(verified),
                Err(error) => Verification::Rejected(error),
            }
        }
    }
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
        let body = TrustRootBuilder::new("acme", datetime!(2030-01-01 00:00 UTC))
            .root_keys(vec![key(1).public().clone()], 1)
            .policy_keys(vec![key(11).public().clone(), key(12).public().clone()], 1)
            .signed_sources(vec![ManagedSource::Cloud, ManagedSource::Mdm])
            .body()
            .unwrap();
        TrustRoot::verify_self(&TrustRoot::sign(&body, &[&key(1)]).unwrap(), NOW).unwrap()
    }

    fn policy(channel: &str, expires: &str) -> Vec<u8> {
        format!(
            "[policy]\norg = \"acme\"\nchannel = \"{channel}\"\nid = \"base\"\nversion = 3\nissued_at = 2026-05-01T00:00:00Z\nexpires = {expires}\n\n[settings]\n\"sandbox.mode\" = \"read-only\"\n"
        )
        .into_bytes()
    }

    fn bundle(payload: &[u8], signers: &[&SecretKey]) -> Vec<u8> {
        Envelope::sign(POLICY_PAYLOAD_TYPE, payload, signers).to_json()
    }

    #[test]
    fn accepts_a_good_bundle() {
        let payload = policy("cloud", "2026-12-01T00:00:00Z");
        let bytes = bundle(&payload, &[&key(11)]);
        let ok = verify_bundle(
            &bytes,
            &root(),
            ManagedSource::Cloud,
            NOW,
            &RollbackState::new(),
        )
        .unwrap();
        assert_eq!(ok.payload, payload);
        assert_eq!(ok.signers, [key(11).id().clone()]);
        assert_eq!(ok.header.version, 3);
        assert_eq!(ok.sha256, Sha256::of(&payload));
        assert!(matches!(ok.expiry, Expiry::Fresh { .. }));
        let mut state = RollbackState::new();
        state.record_bundle(&ok, NOW).unwrap();
        assert!(verify_bundle(&bytes, &root(), ManagedSource::Cloud, NOW, &state).is_ok());
    }

    /// The resolver reads a verified bundle from the document verification
    /// parsed, and reads exactly what parsing the payload again would give.
    #[test]
    fn the_verified_document_is_read_without_parsing_again() {
        let payload = policy("cloud", "2026-12-01T00:00:00Z");
        let bytes = bundle(&payload, &[&key(11)]);
        let schema = crate::Schema::bundled();
        let source = crate::SourceKind::Cloud;
        let (ok, shared) = verify_bundle_with(
            &bytes,
            &root(),
            ManagedSource::Cloud,
            NOW,
            &RollbackState::new(),
            |payload| {
                assert!(payload.root().contains_key("policy"));
                assert_eq!(payload.header.id, "base");
                crate::Layer::from_payload(schema, source, "b", payload)
            },
        )
        .unwrap();
        let shared = shared.unwrap();
        assert_eq!(ok.text().as_bytes(), payload.as_slice());
        let again = crate::Layer::parse_policy(schema, source, "b", ok.text()).unwrap();
        assert_eq!(format!("{shared:?}"), format!("{again:?}"));
        assert_eq!(shared.settings[0].location.to_string(), "b:10:1");
        // Equality of bundles is equality of what was verified.
        assert_eq!(ok, ok.clone());
    }

    #[test]
    fn names_keys_of_the_wrong_role() {
        let bytes = bundle(&policy("cloud", "2026-12-01T00:00:00Z"), &[&key(1)]);
        let err = verify_bundle(
            &bytes,
            &root(),
            ManagedSource::Cloud,
            NOW,
            &RollbackState::new(),
        )
        .unwrap_err();
        let BundleError::Threshold { other_role, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(other_role, &[key(1).id().clone()]);
        assert!(err.to_string().contains("may not sign policy"), "{err}");
        assert_eq!(err.code(), "threshold");
    }

    #[test]
    fn a_bundle_by_a_retired_key_names_the_rotation() {
        let until = NOW + Duration::days(10);
        let body = TrustRootBuilder::new("acme", datetime!(2030-01-01 00:00 UTC))
            .version(4)
            .root_keys(vec![key(1).public().clone()], 1)
            .policy_keys(vec![key(12).public().clone()], 1)
            .retire_policy_key(key(11).public().clone(), 4, Some(until))
            .key_name(key(11).id(), "policy-2025")
            .body()
            .unwrap();
        let root =
            TrustRoot::verify_self(&TrustRoot::sign(&body, &[&key(1)]).unwrap(), NOW).unwrap();
        let bytes = bundle(&policy("cloud", "2026-12-01T00:00:00Z"), &[&key(11)]);
        let state = RollbackState::new();
        // Within the overlap it verifies.
        let ok = verify_bundle(&bytes, &root, ManagedSource::Cloud, NOW, &state).unwrap();
        assert_eq!(ok.signers, [key(11).id().clone()]);
        // After it, the message names the key and the version that removed it.
        let err = verify_bundle(&bytes, &root, ManagedSource::Cloud, until, &state).unwrap_err();
        assert_eq!(err.code(), "key-retired");
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "policy key {} (policy-2025) was removed by trust root version 4",
                key(11).id()
            )),
            "{text}"
        );
        assert!(!text.contains("sign it with more policy keys"), "{text}");
    }

    #[test]
    fn binds_channel_and_reports_expiry() {
        let bytes = bundle(&policy("mdm", "2026-05-30T00:00:00Z"), &[&key(12)]);
        let state = RollbackState::new();
        let err = verify_bundle(&bytes, &root(), ManagedSource::Cloud, NOW, &state).unwrap_err();
        assert_eq!(err.code(), "channel-mismatch");
        let ok = verify_bundle(&bytes, &root(), ManagedSource::MdmUser, NOW, &state).unwrap();
        // The builder's default grace is seven days.
        assert_eq!(
            ok.expiry,
            Expiry::InGrace {
                expired: datetime!(2026-05-30 00:00 UTC),
                left: Duration::days(5)
            }
        );
        let later = NOW + Duration::days(6);
        let past = verify_bundle(&bytes, &root(), ManagedSource::Mdm, later, &state).unwrap();
        assert!(matches!(past.expiry, Expiry::PastGrace { .. }));
    }

    #[test]
    fn tools_check_the_channel_a_device_would() {
        let bytes = bundle(&policy("cloud", "2026-12-01T00:00:00Z"), &[&key(11)]);
        let err = check_unverified_channel(&bytes, ManagedSource::Mdm).unwrap_err();
        assert_eq!(err.code(), "channel-mismatch");
        assert!(
            err.to_string().contains("issued for the cloud channel"),
            "{err}"
        );
        let header = check_unverified_channel(&bytes, ManagedSource::Cloud).unwrap();
        assert_eq!(header.id, "base");
        // A header with `description` (a documented field) is accepted too.
        let text = String::from_utf8(policy("mdm", "2026-12-01T00:00:00Z"))
            .unwrap()
            .replace(
                "version = 3\n",
                "version = 3\ndescription = \"Baseline\"\ncontact = \"it@acme.example\"\n",
            );
        let bytes = bundle(text.as_bytes(), &[&key(11)]);
        check_unverified_channel(&bytes, ManagedSource::MdmUser).unwrap();
        let ok = verify_bundle(
            &bytes,
            &root(),
            ManagedSource::Mdm,
            NOW,
            &RollbackState::new(),
        )
        .unwrap();
        assert_eq!(ok.header.version, 3);
        let incomplete = bundle(b"[policy]\nid = \"a\"\nversion = 1\n", &[&key(11)]);
        assert_eq!(
            check_unverified_channel(&incomplete, ManagedSource::Mdm)
                .unwrap_err()
                .code(),
            "header-missing"
        );
    }

    #[test]
    fn managed_documents_table() {
        let state = RollbackState::new();
        let root = root();
        let bytes = bundle(&policy("system", "2026-12-01T00:00:00Z"), &[&key(11)]);
        let check = |doc, root, source| verify_managed(doc, root, source, NOW, &state);
        assert_eq!(
            check(ManagedDocument::Plain, None, ManagedSource::System),
            Verification::Unsigned(UnsignedReason::NoTrustRoot)
        );
        assert_eq!(
            check(ManagedDocument::Bundle(&bytes), None, ManagedSource::System).status(),
            "rejected"
        );
        let plain_cloud = check(ManagedDocument::Plain, Some(&root), ManagedSource::Cloud);
        assert!(
            matches!(plain_cloud, Verification::Rejected(ref e) if e.code() == "unsigned-not-allowed")
        );
        assert_eq!(
            check(ManagedDocument::Plain, Some(&root), ManagedSource::System),
            Verification::Unsigned(UnsignedReason::NotRequired)
        );
        assert_eq!(
            check(
                ManagedDocument::Bundle(&bytes),
                Some(&root),
                ManagedSource::System
            )
            .status(),
            "verified"
        );
        // A bundle in a source that need not be signed is still verified, never downgraded.
        let bad = bundle(&policy("system", "2026-12-01T00:00:00Z"), &[&key(99)]);
        assert_eq!(
            check(
                ManagedDocument::Bundle(&bad),
                Some(&root),
                ManagedSource::System
            )
            .status(),
            "rejected"
        );
    }

    /// The examples in docs/trust.md are real, verifiable files.
    #[test]
    fn docs_examples_verify() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/trust.md");
        let docs = std::fs::read_to_string(path).unwrap();
        let block = |fence: &str, start: &str| {
            let open = docs.find(&format!("{fence}\n{start}")).unwrap() + fence.len() + 1;
            let len = docs[open..].find("```\n").unwrap();
            docs[open..open + len].to_owned()
        };
        let root = TrustRoot::verify_self(block("```toml", "# mandate trust root").as_bytes(), NOW)
            .unwrap();
        assert_eq!(
            root.cloud().unwrap().bundle.as_deref(),
            Some("acme-baseline")
        );
        let bundle = block("```json", "{\n  \"payloadType\"");
        let ok = verify_bundle(
            bundle.as_bytes(),
            &root,
            ManagedSource::Cloud,
            NOW,
            &RollbackState::new(),
        )
        .unwrap();
        assert_eq!(ok.header.id, "acme-baseline");
        let key = block("```text", "# mandate key");
        assert_eq!(
            keys::PublicKey::parse_file(key.as_bytes()).unwrap().id(),
            &root.role(RoleName::Root).keys[0]
        );
    }

    #[test]
    fn sha256_hex_round_trip() {
        let digest = Sha256::of(b"abc");
        assert_eq!(
            digest.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256::from_hex(&digest.to_hex()), Some(digest));
        assert_eq!(Sha256::from_hex("BA7816"), None);
        assert_eq!(digest.to_string(), format!("sha256:{}", digest.to_hex()));
    }
}
