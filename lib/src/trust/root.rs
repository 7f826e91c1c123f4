//! The trust root: `trust.toml`.
//!
//! A trust root says who may sign policy for an organisation and how the
//! managed sources combine. It is a human-readable TOML body followed by a
//! marker line and the signatures of its root keys:
//!
//! ```toml
//! # mandate trust root: who may sign policy for this org, and how managed sources combine.
//! # Signed below the marker line; any edit above it needs new signatures.
//! version = 1
//! org = "acme"
//! expires = 2027-06-01T00:00:00Z
//! offline_grace = "7d"
//! signed_sources = ["mdm", "cloud", "system", "mdm-user"]
//!
//! [keys.f6af5ca92d326b8245381cd78fa4be83]
//! public = "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w="
//!
//! [keys.087e30ebcff23dede5e1d75a0db28d94]
//! public = "Zr5+Myx6RTMyvZ0Kf32wVfXF7xoGraZtmLOftoEMRzo="
//!
//! [keys.ee15c7ccc042f5f4d0c037bdad3806b0]
//! public = "C1E62bSSQBXKCQLtB5BE06xdvsIwbwaUjBDajrbjny0="
//!
//! [roles.root]
//! threshold = 1
//! keys = ["f6af5ca92d326b8245381cd78fa4be83"]
//!
//! [roles.policy]
//! threshold = 1
//! keys = ["087e30ebcff23dede5e1d75a0db28d94", "ee15c7ccc042f5f4d0c037bdad3806b0"]
//!
//! [precedence]
//! order = ["mdm", "cloud", "system", "mdm-user"]
//!
//! [[precedence.rule]]
//! keys = "network.*"
//! mode = "replace"
//!
//! [cloud]
//! url = "https://policy.example.com/acme/baseline.bundle"
//! bundle = "acme-baseline"
//! ca = "/etc/mandate/policy-ca.pem"
//! # --- mandate signatures ---
//! [[signature]]
//! keyid = "f6af5ca92d326b8245381cd78fa4be83"
//! sig = "O9OAVIU79v3RbBOrTfVZLZ8JcW+uA2g4qobBTvXhpagiA+v+C6seQgzl8ft3mnsCAwnZw5tJ57NcZWFn2BnNAQ=="
//! ```
//!
//! The signatures cover [`pae`]`("application/vnd.mandate.trust+toml", body)`
//! where *body* is every byte before the line `# --- mandate signatures ---`,
//! exactly as stored. Below the marker only `[[signature]]` tables may appear.
//!
//! Body fields:
//!
//! | field | meaning |
//! | --- | --- |
//! | `version` | positive integer; each rotation adds exactly one |
//! | `org` | the organisation; bundles must name the same org |
//! | `expires` | after this instant the root verifies nothing |
//! | `offline_grace` | how long an expired bundle is still used (`30m`, `12h`, `7d`, `1d12h`); default `0s` |
//! | `signed_sources` | managed sources whose policy must be signed; default all four |
//! | `[keys.<keyid>] public` | a public key; `<keyid>` must be the id derived from it |
//! | `[keys.<keyid>] name` | optional: who holds the key, for people; trusted for nothing |
//! | `[roles.root]`, `[roles.policy]` | `threshold` and `keys` (key ids from `[keys]`) |
//! | `[[roles.policy.retired]]` | a policy key taken out of the role: `key`, `version` (the root version that removed it), optional `until` (its bundles count until then) |
//! | `[precedence] order` | the managed sources, highest first; a source left out is ignored; default `mdm, cloud, system, mdm-user` |
//! | `[[precedence.rule]]` | `keys` (a glob over setting keys, `*` matches any characters) and `mode` (`intersect` or `replace`); the first matching rule wins |
//! | `[cloud]` | `url` (https), optional `bundle` (the id a cloud bundle must carry) and `ca` (a PEM file to trust for TLS) |
//!
//! Unknown keys anywhere are errors. A key id that does not match its key, a
//! weak key, a role naming an unknown key or a threshold outside
//! `1..=keys` refuses the whole root.
//!
//! A root may be written unsigned or partly signed and signed in turn, one
//! key at a time ([`TrustRoot::add_signature`], [`TrustRoot::signatures`]),
//! by any [`Signer`] (a key file or an `ssh-agent` key).
//!
//! Rotation follows TUF: version N+1 must be signed by a threshold of
//! version N's root keys **and** a threshold of its own root keys
//! ([`TrustRoot::verify_rotation`], [`walk_chain`]). The org cannot change
//! by rotation.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use time::{Duration, OffsetDateTime};

use super::Sha256;
use super::envelope::{
    MAX_SIGNATURES, SignatureCount, SignatureEntry, TRUST_PAYLOAD_TYPE, count_signers, pae,
};
use super::fields::{self, Table, TomlProblem, format_datetime, toml_string};
use super::header::{valid_id, valid_org};
use super::keys::{KeyError, KeyId, PublicKey, SecretKey, decode_exact, encode};
use super::signer::{SignError, Signer, sign_checked};
use crate::source::ManagedSource;

/// The line that separates the signed body from its signatures.
pub const SIGNATURE_MARKER: &str = "# --- mandate signatures ---";
/// Largest trust root accepted, in bytes.
pub const MAX_ROOT_BYTES: usize = 256 * 1024;
/// Most keys a trust root may list.
pub const MAX_KEYS: usize = 64;

const ROOT_FIELDS: &[&str] = &[
    "version",
    "org",
    "expires",
    "offline_grace",
    "signed_sources",
    "keys",
    "roles",
    "precedence",
    "cloud",
];

/// The two roles of a trust root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleName {
    /// Signs trust roots (kept offline).
    Root,
    /// Signs policy bundles.
    Policy,
}

impl RoleName {
    /// `root` or `policy`.
    pub fn name(self) -> &'static str {
        match self {
            RoleName::Root => "root",
            RoleName::Policy => "policy",
        }
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The keys of a role and how many of them must sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// Signatures required, `1..=keys.len()`.
    pub threshold: u32,
    /// The role's keys, by id, in file order.
    pub keys: Vec<KeyId>,
}

/// A policy key taken out of the policy role by a rotation.
///
/// Until `until` it still counts for bundles (the overlap that lets bundles
/// in the field be re-signed without locking devices down); after that, or at
/// once without `until` (a compromised key), it counts for nothing and only
/// serves to name the cause when a bundle it signed is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetiredKey {
    /// The key (its public half stays under `[keys]`).
    pub key: KeyId,
    /// The trust root version that took it out of the policy role.
    pub version: u64,
    /// Bundles it signed are accepted until this instant.
    pub until: Option<OffsetDateTime>,
}

impl RetiredKey {
    /// Whether the key still counts for bundles at `now`.
    pub fn valid_at(&self, now: OffsetDateTime) -> bool {
        self.until.is_some_and(|until| now < until)
    }
}

/// How requirements for matching keys combine across managed sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Merge {
    /// Every layer can only tighten (the default).
    Intersect,
    /// The highest-precedence source's constraint replaces lower ones.
    Replace,
}

impl Merge {
    /// `intersect` or `replace`.
    pub fn name(self) -> &'static str {
        match self {
            Merge::Intersect => "intersect",
            Merge::Replace => "replace",
        }
    }

    /// Parses `intersect` or `replace`.
    pub fn from_name(name: &str) -> Option<Merge> {
        [Merge::Intersect, Merge::Replace]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

impl fmt::Display for Merge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A per-key-pattern merge rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrecedenceRule {
    /// A glob over dotted setting keys (`*` matches any run of characters).
    pub keys: String,
    /// How matching keys merge.
    pub mode: Merge,
}

/// The signed precedence: the managed source order and the merge rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Precedence {
    /// The managed sources in force, highest first; sources not listed are ignored.
    pub order: Vec<ManagedSource>,
    /// Rules in file order; the first whose pattern matches a key applies.
    pub rules: Vec<PrecedenceRule>,
}

impl Default for Precedence {
    fn default() -> Precedence {
        Precedence {
            order: ManagedSource::DEFAULT_ORDER.to_vec(),
            rules: Vec::new(),
        }
    }
}

impl Precedence {
    /// The rank of `source` (0 is highest), or `None` when the root ignores it.
    pub fn rank(&self, source: ManagedSource) -> Option<usize> {
        self.order.iter().position(|s| *s == source)
    }

    /// The first rule whose pattern matches `key`.
    pub fn rule_for(&self, key: &str) -> Option<&PrecedenceRule> {
        self.rules
            .iter()
            .find(|r| crate::glob::matches(&r.keys, key))
    }

    /// How requirements on `key` merge: the first matching rule's mode, else
    /// [`Merge::Intersect`].
    ///
    /// ```
    /// use mandate::trust::root::{Merge, Precedence, PrecedenceRule};
    /// let p = Precedence {
    ///     rules: vec![PrecedenceRule { keys: "network.*".into(), mode: Merge::Replace }],
    ///     ..Precedence::default()
    /// };
    /// assert_eq!(p.merge_for("network.allowed_domains"), Merge::Replace);
    /// assert_eq!(p.merge_for("sandbox.mode"), Merge::Intersect);
    /// ```
    pub fn merge_for(&self, key: &str) -> Merge {
        self.rule_for(key).map_or(Merge::Intersect, |r| r.mode)
    }
}

/// Where `mandate sync` fetches the cloud bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudConfig {
    /// The bundle URL (`https://…`).
    pub url: String,
    /// A PEM file of CA certificates to trust for this URL, if not the system roots.
    pub ca: Option<PathBuf>,
    /// The id a cloud bundle must carry in its header, when set.
    pub bundle: Option<String>,
}

/// Which set of root keys a trust root's signatures fell short of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedBy {
    /// Its own root keys, verifying a root on its own.
    Own,
    /// The installed (previous) version's root keys, in a rotation.
    Previous,
    /// Its own root keys, in a rotation.
    New,
}

impl SignedBy {
    fn whose(self) -> &'static str {
        match self {
            SignedBy::Own | SignedBy::New => "its own root keys",
            SignedBy::Previous => "the installed version's root keys",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            SignedBy::Own => "sign it with more of the root keys it lists",
            SignedBy::Previous => {
                "a rotated root must be signed by a threshold of the installed root's keys as well as its own"
            }
            SignedBy::New => {
                "a rotated root must be signed by a threshold of its own root keys as well as the installed root's"
            }
        }
    }
}

/// Why a trust root was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrustRootError {
    /// Larger than the limit.
    #[error("trust root is {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The body is not UTF-8 TOML (duplicate keys included).
    #[error("trust root is not valid TOML: {0}")]
    Syntax(TomlProblem),
    /// A body field is unknown, mistyped or inconsistent.
    #[error("invalid trust root: {0}")]
    Field(TomlProblem),
    /// No signature marker line, or the signature block is malformed.
    #[error(
        "trust root signature block: {problem}; sign the root with `mandate trust init` or `mandate trust rotate`, and do not edit below `{SIGNATURE_MARKER}`"
    )]
    SignatureBlock {
        /// What is wrong.
        problem: String,
    },
    /// A `[keys.<id>]` table whose id is not the id of its key.
    #[error(
        "line {line}: key table `{declared}` holds the key whose id is {actual}; rename the table to [keys.{actual}] and re-sign the root"
    )]
    KeyIdMismatch {
        /// The id in the table name.
        declared: KeyId,
        /// The id derived from the key.
        actual: KeyId,
        /// 1-based line of the table.
        line: usize,
    },
    /// A listed key is weak, invalid or badly encoded.
    #[error("line {line}: {source}")]
    Key {
        /// 1-based line of the key.
        line: usize,
        /// The key problem.
        #[source]
        source: KeyErrorSummary,
    },
    /// Not enough root keys signed.
    #[error("trust root{} has {count} from {}{}; {}", version_note(.version), .which.whose(), .count.details(), .which.hint())]
    Threshold {
        /// Which set of root keys fell short.
        which: SignedBy,
        /// The version being verified; unknown when the installed root's
        /// keys did not sign it, since its body is then never parsed.
        version: Option<u64>,
        /// The count.
        count: SignatureCount,
    },
    /// A rotation to a version other than installed + 1.
    #[error("trust root version {found} cannot follow installed version {installed}; rotations go one version at a time (expected {expected})", expected = .installed.saturating_add(1))]
    Version {
        /// The installed version.
        installed: u64,
        /// The candidate's version.
        found: u64,
    },
    /// A rotation that changes the org.
    #[error(
        "trust root for org `{found}` cannot replace the root of org `{installed}`; install a new root out of band instead"
    )]
    OrgChanged {
        /// The installed org.
        installed: String,
        /// The candidate's org.
        found: String,
    },
    /// The root has expired.
    #[error(
        "trust root version {version} expired at {expires}; publish a rotated root (`mandate trust rotate`) or reinstall one"
    )]
    Expired {
        /// The version.
        version: u64,
        /// When it expired.
        expires: String,
    },
    /// More rotation candidates than allowed.
    #[error("more than {max_steps} trust root rotations at once; install a recent root directly")]
    ChainTooLong {
        /// The limit.
        max_steps: usize,
    },
    /// A signer failed.
    #[error(transparent)]
    Signing(SignError),
    /// The key has already signed this root.
    #[error("{key} has already signed this trust root; the next signer adds theirs")]
    AlreadySigned {
        /// The key, as named in messages.
        key: String,
    },
    /// The key may not sign this root: it is not one of its root keys (nor,
    /// for a rotation, one of the previous version's).
    #[error(
        "{key} is not a root key of trust root version {version}{}; only root keys sign trust roots",
        previous.map(|p| format!(" nor of version {p}")).unwrap_or_default()
    )]
    NotARootKey {
        /// The key, as named in messages.
        key: String,
        /// The version being signed.
        version: u64,
        /// The previous version checked too, for a rotation.
        previous: Option<u64>,
    },
}

fn version_note(version: &Option<u64>) -> String {
    version.map(|v| format!(" version {v}")).unwrap_or_default()
}

/// A key problem inside a trust root, with its reason code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KeyErrorSummary {
    /// The reason code of the [`KeyError`] (`weak-key`, `key-encoding`, …).
    pub code: &'static str,
    /// Its message.
    pub message: String,
}

impl From<KeyError> for KeyErrorSummary {
    fn from(error: KeyError) -> KeyErrorSummary {
        KeyErrorSummary {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

impl TrustRootError {
    /// A stable, machine-readable reason code (see `docs/trust.md`).
    pub fn code(&self) -> &'static str {
        match self {
            TrustRootError::TooLarge { .. } => "too-large",
            TrustRootError::Syntax(_) => "root-syntax",
            TrustRootError::Field(_) => "root-invalid",
            TrustRootError::SignatureBlock { .. } => "root-signature-block",
            TrustRootError::KeyIdMismatch { .. } => "key-id-mismatch",
            TrustRootError::Key { source, .. } => source.code,
            TrustRootError::Threshold {
                which: SignedBy::Own,
                ..
            } => "root-threshold",
            TrustRootError::Threshold {
                which: SignedBy::Previous,
                ..
            } => "root-not-signed-by-previous",
            TrustRootError::Threshold {
                which: SignedBy::New,
                ..
            } => "root-not-signed-by-new",
            TrustRootError::Version { .. } => "root-version",
            TrustRootError::OrgChanged { .. } => "root-org-changed",
            TrustRootError::Expired { .. } => "root-expired",
            TrustRootError::ChainTooLong { .. } => "root-chain-too-long",
            TrustRootError::Signing(e) => e.code(),
            TrustRootError::AlreadySigned { .. } => "already-signed",
            TrustRootError::NotARootKey { .. } => "not-a-root-key",
        }
    }
}

/// A verified trust root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustRoot {
    version: u64,
    org: String,
    expires: OffsetDateTime,
    offline_grace: Duration,
    signed_sources: Vec<ManagedSource>,
    keys: BTreeMap<KeyId, PublicKey>,
    root: Role,
    policy: Role,
    precedence: Precedence,
    cloud: Option<CloudConfig>,
    names: BTreeMap<KeyId, String>,
    retired: Vec<RetiredKey>,
    signers: Vec<KeyId>,
    sha256: Sha256,
}

impl TrustRoot {
    /// Verifies a trust root on its own (first install): its body is valid,
    /// a threshold of the root keys it lists signed it, and it has not
    /// expired at `now`.
    pub fn verify_self(bytes: &[u8], now: OffsetDateTime) -> Result<TrustRoot, TrustRootError> {
        let split = split(bytes, MAX_ROOT_BYTES)?;
        let mut root = parse_body(split.body)?;
        let count = root.count(RoleName::Root, &split.message(), &split.signatures);
        if !count.is_met() {
            return Err(TrustRootError::Threshold {
                which: SignedBy::Own,
                version: Some(root.version),
                count,
            });
        }
        root.signers = count.valid;
        root.sha256 = Sha256::of(bytes);
        root.check_not_expired(now)?;
        Ok(root)
    }

    /// Verifies `next_bytes` as the rotation of this root: a threshold of
    /// this root's root keys signed it (checked before its body is parsed),
    /// its version is exactly this version + 1, its org is the same, and a
    /// threshold of its own root keys signed it.
    ///
    /// Expiry is not checked here: intermediate roots of a chain may have
    /// expired. Check the final root with [`TrustRoot::check_not_expired`].
    pub fn verify_rotation(&self, next_bytes: &[u8]) -> Result<TrustRoot, TrustRootError> {
        self.verify_rotation_capped(next_bytes, MAX_ROOT_BYTES)
    }

    fn verify_rotation_capped(
        &self,
        next_bytes: &[u8],
        max_bytes: usize,
    ) -> Result<TrustRoot, TrustRootError> {
        let split = split(next_bytes, max_bytes)?;
        let message = split.message();
        let previous = self.count(RoleName::Root, &message, &split.signatures);
        if !previous.is_met() {
            return Err(TrustRootError::Threshold {
                which: SignedBy::Previous,
                version: None,
                count: previous,
            });
        }
        let mut next = parse_body(split.body)?;
        if Some(next.version) != self.version.checked_add(1) {
            return Err(TrustRootError::Version {
                installed: self.version,
                found: next.version,
            });
        }
        if next.org != self.org {
            return Err(TrustRootError::OrgChanged {
                installed: self.org.clone(),
                found: next.org,
            });
        }
        let own = next.count(RoleName::Root, &message, &split.signatures);
        if !own.is_met() {
            return Err(TrustRootError::Threshold {
                which: SignedBy::New,
                version: Some(next.version),
                count: own,
            });
        }
        next.signers = own.valid;
        next.sha256 = Sha256::of(next_bytes);
        Ok(next)
    }

    /// Refuses the root if it has expired at `now`.
    pub fn check_not_expired(&self, now: OffsetDateTime) -> Result<(), TrustRootError> {
        if now >= self.expires {
            Err(TrustRootError::Expired {
                version: self.version,
                expires: format_datetime(self.expires),
            })
        } else {
            Ok(())
        }
    }

    /// Signs a trust root body with `keys`: returns the file, body then the
    /// marker line then one `[[signature]]` per key. The body is checked
    /// first, so a typo is caught before anyone signs it.
    pub fn sign(body: &str, keys: &[&SecretKey]) -> Result<Vec<u8>, TrustRootError> {
        let signers: Vec<&dyn Signer> = keys.iter().map(|k| *k as &dyn Signer).collect();
        TrustRoot::sign_with(body, &signers)
    }

    /// [`TrustRoot::sign`] with any [`Signer`]s; with none, the file is
    /// unsigned (the marker line and no signature) and ready for
    /// [`TrustRoot::add_signature`].
    pub fn sign_with(body: &str, signers: &[&dyn Signer]) -> Result<Vec<u8>, TrustRootError> {
        let mut body = body.to_owned();
        if !body.is_empty() && !body.ends_with('\n') {
            body.push('\n');
        }
        if body.lines().any(|line| line == SIGNATURE_MARKER) {
            return Err(TrustRootError::SignatureBlock {
                problem: "the body already contains the signature marker line".to_owned(),
            });
        }
        parse_body(body.as_bytes())?;
        super::signer::distinct(signers).map_err(TrustRootError::Signing)?;
        let mut out = body.into_bytes();
        out.extend_from_slice(SIGNATURE_MARKER.as_bytes());
        out.push(b'\n');
        let mut signed = split(&out, usize::MAX)?;
        for signer in signers {
            signed.add(*signer).map_err(TrustRootError::Signing)?;
        }
        Ok(signed.render())
    }

    /// Adds signatures by `keys` to a signed trust root file (for roots signed
    /// by several people in turn); keys that already signed are skipped.
    pub fn add_signatures(signed: &[u8], keys: &[&SecretKey]) -> Result<Vec<u8>, TrustRootError> {
        let mut split = split(signed, MAX_ROOT_BYTES)?;
        parse_body(split.body)?;
        for key in keys {
            split
                .add(*key as &dyn Signer)
                .map_err(TrustRootError::Signing)?;
        }
        Ok(split.render())
    }

    /// Adds one signature to a (partly) signed trust root file: one step of
    /// a key ceremony. Refuses a key that already signed, and a key that is
    /// not a root key of this root — nor, with `previous` (for a rotation),
    /// of the previous version.
    pub fn add_signature(
        file: &[u8],
        signer: &dyn Signer,
        previous: Option<&TrustRoot>,
    ) -> Result<Vec<u8>, TrustRootError> {
        let mut split = split(file, MAX_ROOT_BYTES)?;
        let root = parse_body(split.body)?;
        let id = signer.public().id();
        let allowed =
            root.root.keys.contains(id) || previous.is_some_and(|p| p.root.keys.contains(id));
        if !allowed {
            return Err(TrustRootError::NotARootKey {
                key: root.describe_signer(signer),
                version: root.version,
                previous: previous.map(TrustRoot::version),
            });
        }
        if !split.add(signer).map_err(TrustRootError::Signing)? {
            return Err(TrustRootError::AlreadySigned {
                key: root.describe_signer(signer),
            });
        }
        Ok(split.render())
    }

    /// Where the signature collection of a (partly) signed trust root
    /// stands: how many of its own root keys signed, and — with `previous`,
    /// for a rotation — how many of the previous version's. The body is
    /// parsed but nothing is trusted: this is for people running a key
    /// ceremony, never for deciding policy.
    pub fn signatures(
        file: &[u8],
        previous: Option<&TrustRoot>,
    ) -> Result<RootSignatures, TrustRootError> {
        let split = split(file, MAX_ROOT_BYTES)?;
        let root = parse_body(split.body)?;
        let message = split.message();
        let report = |of: &TrustRoot| {
            let count = of.count(RoleName::Root, &message, &split.signatures);
            RoleSignatures {
                version: of.version,
                threshold: count.threshold,
                keys: of
                    .root
                    .keys
                    .iter()
                    .map(|id| (id.clone(), of.key_name(id).map(str::to_owned)))
                    .collect(),
                signed: count.valid,
                unverified_hints: count.unverified_hints,
            }
        };
        Ok(RootSignatures {
            version: root.version,
            org: root.org.clone(),
            body_sha256: Sha256::of(split.body),
            own: report(&root),
            previous: previous.map(report),
        })
    }

    /// The version a trust root file claims, without verifying anything:
    /// only for picking the candidate files of a rotation walk, which then
    /// verifies each of them.
    pub fn claimed_version(file: &[u8]) -> Option<u64> {
        let split = split(file, MAX_ROOT_BYTES).ok()?;
        parse_body(split.body).ok().map(|r| r.version)
    }

    /// `key <id> (<name>)` for a signer, naming it as this root does.
    fn describe_signer(&self, signer: &dyn Signer) -> String {
        let id = signer.public().id();
        let label = signer.label();
        match (self.key_name(id), label.contains(id.as_str())) {
            (Some(name), true) => format!("{label} ({name})"),
            (Some(name), false) => format!("{label} (key {id}, {name})"),
            (None, true) => label,
            (None, false) => format!("{label} (key {id})"),
        }
    }

    /// A key's id with its name when the root gives one: `3f2a… (root-2)`.
    pub fn describe_key(&self, id: &KeyId) -> String {
        match self.key_name(id) {
            Some(name) => format!("{id} ({name})"),
            None => id.to_string(),
        }
    }

    /// The name the root gives a key (`[keys.<id>] name`), a label for
    /// people that is trusted for nothing.
    pub fn key_name(&self, id: &KeyId) -> Option<&str> {
        self.names.get(id).map(String::as_str)
    }

    /// Policy keys taken out of the policy role (`[[roles.policy.retired]]`).
    pub fn retired_policy_keys(&self) -> &[RetiredKey] {
        &self.retired
    }

    /// The retirement record of `id`, if it is a retired policy key.
    pub fn retired_policy_key(&self, id: &KeyId) -> Option<&RetiredKey> {
        self.retired.iter().find(|r| &r.key == id)
    }

    /// The keys whose signatures count for bundles at `now`: the policy
    /// role's keys, and retired policy keys still within their overlap.
    pub fn policy_keys_at(&self, now: OffsetDateTime) -> Vec<&PublicKey> {
        let mut keys = self.role_keys(RoleName::Policy);
        keys.extend(
            self.retired
                .iter()
                .filter(|r| r.valid_at(now))
                .filter_map(|r| self.keys.get(&r.key)),
        );
        keys
    }

    fn count(
        &self,
        role: RoleName,
        message: &[u8],
        signatures: &[SignatureEntry],
    ) -> SignatureCount {
        let role_def = self.role(role);
        count_signers(
            message,
            signatures,
            &self.role_keys(role),
            role_def.threshold,
        )
    }

    /// The version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The organisation.
    pub fn org(&self) -> &str {
        &self.org
    }

    /// When the root expires.
    pub fn expires(&self) -> OffsetDateTime {
        self.expires
    }

    /// How long an expired bundle is still used.
    pub fn offline_grace(&self) -> Duration {
        self.offline_grace
    }

    /// The managed sources whose policy must be signed.
    pub fn signed_sources(&self) -> &[ManagedSource] {
        &self.signed_sources
    }

    /// Whether policy from `source` must be signed.
    pub fn must_be_signed(&self, source: ManagedSource) -> bool {
        self.signed_sources.contains(&source)
    }

    /// Every key listed, by id.
    pub fn keys(&self) -> &BTreeMap<KeyId, PublicKey> {
        &self.keys
    }

    /// A role's threshold and key ids.
    pub fn role(&self, role: RoleName) -> &Role {
        match role {
            RoleName::Root => &self.root,
            RoleName::Policy => &self.policy,
        }
    }

    /// A role's public keys.
    pub fn role_keys(&self, role: RoleName) -> Vec<&PublicKey> {
        self.role(role)
            .keys
            .iter()
            .filter_map(|id| self.keys.get(id))
            .collect()
    }

    /// The roles `id` belongs to.
    pub fn roles_of(&self, id: &KeyId) -> Vec<RoleName> {
        [RoleName::Root, RoleName::Policy]
            .into_iter()
            .filter(|r| self.role(*r).keys.contains(id))
            .collect()
    }

    /// The signed precedence.
    pub fn precedence(&self) -> &Precedence {
        &self.precedence
    }

    /// Where the cloud bundle comes from, if the root says.
    pub fn cloud(&self) -> Option<&CloudConfig> {
        self.cloud.as_ref()
    }

    /// The root keys whose signatures verified.
    pub fn signers(&self) -> &[KeyId] {
        &self.signers
    }

    /// The sha256 of the whole file as verified.
    pub fn sha256(&self) -> Sha256 {
        self.sha256
    }

    /// A fingerprint of the policy key set (the sorted key bytes, domain
    /// separated). Rollback state resets a bundle's high-water mark when it
    /// changes; see [`super::state`].
    pub fn policy_keys_fingerprint(&self) -> Sha256 {
        let mut keys: Vec<&[u8; 32]> = self
            .role_keys(RoleName::Policy)
            .into_iter()
            .map(PublicKey::as_bytes)
            .collect();
        keys.sort();
        let mut input = b"mandate-policy-keys-v1\0".to_vec();
        for key in keys {
            input.extend_from_slice(key);
        }
        Sha256::of(&input)
    }
}

/// How far the signature collection of a trust root has come; see
/// [`TrustRoot::signatures`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootSignatures {
    /// The version being signed.
    pub version: u64,
    /// Its org.
    pub org: String,
    /// The sha256 of the signed body, for signers to compare out of band.
    pub body_sha256: Sha256,
    /// Signatures by its own root keys.
    pub own: RoleSignatures,
    /// Signatures by the previous version's root keys (a rotation).
    pub previous: Option<RoleSignatures>,
}

impl RootSignatures {
    /// Whether every threshold is met.
    pub fn is_complete(&self) -> bool {
        self.own.is_met() && self.previous.as_ref().is_none_or(RoleSignatures::is_met)
    }
}

/// The signatures of one set of root keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSignatures {
    /// The trust root version whose root keys these are.
    pub version: u64,
    /// Signatures required.
    pub threshold: u32,
    /// The root keys, with the names the root gives them.
    pub keys: Vec<(KeyId, Option<String>)>,
    /// The keys that signed validly.
    pub signed: Vec<KeyId>,
    /// Hints of signatures none of these keys verified.
    pub unverified_hints: Vec<String>,
}

impl RoleSignatures {
    /// Whether the threshold is met.
    pub fn is_met(&self) -> bool {
        self.signed.len() >= self.threshold as usize
    }

    /// The keys that have not signed, with their names.
    pub fn missing(&self) -> Vec<&(KeyId, Option<String>)> {
        self.keys
            .iter()
            .filter(|(id, _)| !self.signed.contains(id))
            .collect()
    }
}

/// Walks a rotation chain from `installed` through `candidates` (the files of
/// versions N+1, N+2, … in order), verifying each with
/// [`TrustRoot::verify_rotation`] and refusing any larger than `max_bytes`
/// or more than `max_steps` of them.
///
/// Returns the newest verified root. On failure the error carries the last
/// root that did verify, which the caller should keep (TUF persists every
/// verified step). Expiry of the result is the caller's to check.
pub fn walk_chain(
    installed: &TrustRoot,
    candidates: &[&[u8]],
    max_steps: usize,
    max_bytes: usize,
) -> Result<TrustRoot, ChainError> {
    let mut current = installed.clone();
    for (step, candidate) in candidates.iter().enumerate() {
        let result = if step >= max_steps {
            Err(TrustRootError::ChainTooLong { max_steps })
        } else {
            current.verify_rotation_capped(candidate, max_bytes)
        };
        match result {
            Ok(next) => current = next,
            Err(error) => {
                return Err(ChainError {
                    step,
                    last_verified: Box::new(current),
                    error,
                });
            }
        }
    }
    Ok(current)
}

/// A rotation chain that stopped before its end.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("trust root rotation stopped at candidate {step_number}: {error}; keeping version {kept}", step_number = .step + 1, kept = .last_verified.version())]
pub struct ChainError {
    /// The 0-based index of the candidate that failed.
    pub step: usize,
    /// The newest root that verified (the installed one if `step` is 0).
    pub last_verified: Box<TrustRoot>,
    /// Why the candidate failed.
    #[source]
    pub error: TrustRootError,
}

impl ChainError {
    /// The reason code of the failing step.
    pub fn code(&self) -> &'static str {
        self.error.code()
    }
}

/// Builds a trust root body for `trust init` and `trust rotate`.
///
/// ```
/// use mandate::trust::keys::SecretKey;
/// use mandate::trust::root::{TrustRoot, TrustRootBuilder};
/// use time::macros::datetime;
///
/// let root_key = SecretKey::from_seed(&[1; 32]);
/// let policy_key = SecretKey::from_seed(&[2; 32]);
/// let body = TrustRootBuilder::new("acme", datetime!(2030-01-01 00:00 UTC))
///     .root_keys(vec![root_key.public().clone()], 1)
///     .policy_keys(vec![policy_key.public().clone()], 1)
///     .body()?;
/// let file = TrustRoot::sign(&body, &[&root_key])?;
/// let root = TrustRoot::verify_self(&file, datetime!(2026-06-01 00:00 UTC))?;
/// assert_eq!((root.version(), root.org()), (1, "acme"));
/// # Ok::<(), mandate::trust::root::TrustRootError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TrustRootBuilder {
    version: u64,
    org: String,
    expires: OffsetDateTime,
    offline_grace: Duration,
    signed_sources: Vec<ManagedSource>,
    root_keys: Vec<PublicKey>,
    root_threshold: u32,
    policy_keys: Vec<PublicKey>,
    policy_threshold: u32,
    precedence: Precedence,
    cloud: Option<CloudConfig>,
    names: BTreeMap<KeyId, String>,
    retired: Vec<(PublicKey, RetiredKey)>,
}

impl TrustRootBuilder {
    /// A version 1 root for `org`: every managed source must be signed,
    /// default precedence, seven days of offline grace, no keys yet.
    pub fn new(org: impl Into<String>, expires: OffsetDateTime) -> TrustRootBuilder {
        TrustRootBuilder {
            version: 1,
            org: org.into(),
            expires,
            offline_grace: Duration::days(7),
            signed_sources: ManagedSource::DEFAULT_ORDER.to_vec(),
            root_keys: Vec::new(),
            root_threshold: 1,
            policy_keys: Vec::new(),
            policy_threshold: 1,
            precedence: Precedence::default(),
            cloud: None,
            names: BTreeMap::new(),
            retired: Vec::new(),
        }
    }

    /// The next version of `root`, with the same content, ready to change.
    pub fn next_version(root: &TrustRoot) -> TrustRootBuilder {
        let keys = |role| root.role_keys(role).into_iter().cloned().collect();
        TrustRootBuilder {
            version: root.version.saturating_add(1),
            org: root.org.clone(),
            expires: root.expires,
            offline_grace: root.offline_grace,
            signed_sources: root.signed_sources.clone(),
            root_keys: keys(RoleName::Root),
            root_threshold: root.root.threshold,
            policy_keys: keys(RoleName::Policy),
            policy_threshold: root.policy.threshold,
            precedence: root.precedence.clone(),
            cloud: root.cloud.clone(),
            names: root.names.clone(),
            retired: root
                .retired
                .iter()
                .filter_map(|r| Some((root.keys.get(&r.key)?.clone(), r.clone())))
                .collect(),
        }
    }

    /// Names a key for people (`[keys.<id>] name`): who holds it. Not trusted
    /// for anything; shown when signatures are counted.
    pub fn key_name(mut self, id: &KeyId, name: impl Into<String>) -> TrustRootBuilder {
        self.names.insert(id.clone(), name.into());
        self
    }

    /// The name given to a key, if any.
    pub fn current_key_name(&self, id: &KeyId) -> Option<&str> {
        self.names.get(id).map(String::as_str)
    }

    /// The version this builder renders.
    pub fn current_version(&self) -> u64 {
        self.version
    }

    /// The policy keys set so far.
    pub fn current_policy_keys(&self) -> &[PublicKey] {
        &self.policy_keys
    }

    /// The retired policy keys carried so far.
    pub fn current_retired(&self) -> impl Iterator<Item = &RetiredKey> {
        self.retired.iter().map(|(_, r)| r)
    }

    /// Records `key` as a retired policy key (replacing an earlier record of
    /// it): retired by `version`, valid for bundles until `until` (never,
    /// without one).
    pub fn retire_policy_key(
        mut self,
        key: PublicKey,
        version: u64,
        until: Option<OffsetDateTime>,
    ) -> TrustRootBuilder {
        self.retired.retain(|(k, _)| k.id() != key.id());
        let record = RetiredKey {
            key: key.id().clone(),
            version,
            until,
        };
        self.retired.push((key, record));
        self
    }

    /// Forgets the retirement record of `id` (it becomes unknown to the root).
    pub fn forget_retired(mut self, id: &KeyId) -> TrustRootBuilder {
        self.retired.retain(|(k, _)| k.id() != id);
        self
    }

    /// Sets the version.
    pub fn version(mut self, version: u64) -> TrustRootBuilder {
        self.version = version;
        self
    }

    /// Sets the expiry.
    pub fn expires(mut self, expires: OffsetDateTime) -> TrustRootBuilder {
        self.expires = expires;
        self
    }

    /// Sets the offline grace of expired bundles.
    pub fn offline_grace(mut self, grace: Duration) -> TrustRootBuilder {
        self.offline_grace = grace;
        self
    }

    /// Sets which managed sources must be signed.
    pub fn signed_sources(mut self, sources: Vec<ManagedSource>) -> TrustRootBuilder {
        self.signed_sources = sources;
        self
    }

    /// Sets the root keys and their threshold.
    pub fn root_keys(mut self, keys: Vec<PublicKey>, threshold: u32) -> TrustRootBuilder {
        self.root_keys = keys;
        self.root_threshold = threshold;
        self
    }

    /// Sets the policy keys and their threshold.
    pub fn policy_keys(mut self, keys: Vec<PublicKey>, threshold: u32) -> TrustRootBuilder {
        self.policy_keys = keys;
        self.policy_threshold = threshold;
        self
    }

    /// Sets the precedence.
    pub fn precedence(mut self, precedence: Precedence) -> TrustRootBuilder {
        self.precedence = precedence;
        self
    }

    /// Sets (or clears) the cloud configuration.
    pub fn cloud(mut self, cloud: Option<CloudConfig>) -> TrustRootBuilder {
        self.cloud = cloud;
        self
    }

    /// Renders the body and checks it parses back as a valid trust root.
    pub fn body(&self) -> Result<String, TrustRootError> {
        let body = self.render()?;
        parse_body(body.as_bytes())?;
        Ok(body)
    }

    fn render(&self) -> Result<String, TrustRootError> {
        use fmt::Write as _;
        let list = |items: Vec<String>| format!("[{}]", items.join(", "));
        let names = |sources: &[ManagedSource]| {
            list(sources.iter().map(|s| toml_string(s.name())).collect())
        };
        let ids =
            |keys: &[PublicKey]| list(keys.iter().map(|k| toml_string(k.id().as_str())).collect());

        let mut out = String::new();
        let _ = writeln!(
            out,
            "# mandate trust root: who may sign policy for this org, and how managed sources combine."
        );
        let _ = writeln!(
            out,
            "# Signed below the marker line; any edit above it needs new signatures."
        );
        let _ = writeln!(out, "version = {}", self.version);
        let _ = writeln!(out, "org = {}", toml_string(&self.org));
        let _ = writeln!(out, "expires = {}", format_datetime(self.expires));
        let _ = writeln!(
            out,
            "offline_grace = {}",
            toml_string(&format_duration(self.offline_grace))
        );
        let _ = writeln!(out, "signed_sources = {}", names(&self.signed_sources));

        let mut listed = BTreeSet::new();
        let retired = self.retired.iter().map(|(k, _)| k);
        for key in self
            .root_keys
            .iter()
            .chain(&self.policy_keys)
            .chain(retired)
        {
            if listed.insert(key.id().clone()) {
                let _ = write!(
                    out,
                    "\n[keys.{}]\npublic = {}\n",
                    key.id(),
                    toml_string(&key.to_base64())
                );
                if let Some(name) = self.names.get(key.id()) {
                    let _ = writeln!(out, "name = {}", toml_string(name));
                }
            }
        }
        for (role, keys, threshold) in [
            (RoleName::Root, &self.root_keys, self.root_threshold),
            (RoleName::Policy, &self.policy_keys, self.policy_threshold),
        ] {
            let _ = write!(
                out,
                "\n[roles.{role}]\nthreshold = {threshold}\nkeys = {}\n",
                ids(keys)
            );
        }
        for (_, retired) in &self.retired {
            let _ = write!(
                out,
                "\n[[roles.policy.retired]]\nkey = {}\nversion = {}\n",
                toml_string(retired.key.as_str()),
                retired.version
            );
            if let Some(until) = retired.until {
                let _ = writeln!(out, "until = {}", format_datetime(until));
            }
        }
        let _ = write!(
            out,
            "\n[precedence]\norder = {}\n",
            names(&self.precedence.order)
        );
        for rule in &self.precedence.rules {
            let _ = write!(
                out,
                "\n[[precedence.rule]]\nkeys = {}\nmode = {}\n",
                toml_string(&rule.keys),
                toml_string(rule.mode.name())
            );
        }
        if let Some(cloud) = &self.cloud {
            let _ = write!(out, "\n[cloud]\nurl = {}\n", toml_string(&cloud.url));
            if let Some(bundle) = &cloud.bundle {
                let _ = writeln!(out, "bundle = {}", toml_string(bundle));
            }
            if let Some(ca) = &cloud.ca {
                let ca = ca.to_str().ok_or_else(|| {
                    TrustRootError::Field(TomlProblem {
                        line: 1,
                        column: 1,
                        key: "cloud.ca".to_owned(),
                        message: format!("{} is not a UTF-8 path", ca.display()),
                    })
                })?;
                let _ = writeln!(out, "ca = {}", toml_string(ca));
            }
        }
        Ok(out)
    }
}

/// Parses a duration such as `30m`, `12h`, `7d`, `2w`, `12mo`, `1y` or
/// `1d12h` (units `s`, `m`, `h`, `d`, `w`, `mo` = 30 days, `y` = 365 days).
///
/// ```
/// use mandate::trust::root::parse_duration;
/// assert_eq!(parse_duration("1d12h"), Ok(time::Duration::hours(36)));
/// assert_eq!(parse_duration("1y"), Ok(time::Duration::days(365)));
/// assert_eq!(parse_duration("12mo"), Ok(time::Duration::days(360)));
/// assert_eq!(parse_duration("1mo30m"), Ok(time::Duration::days(30) + time::Duration::minutes(30)));
/// assert!(parse_duration("7 days").is_err());
/// assert!(parse_duration("3o").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration such as 30m, 12h, 7d, 12mo or 1y");
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            // `mo` is a month of 30 days; `m` alone is a minute.
            'm' if chars.peek() == Some(&'o') => {
                chars.next();
                30 * 86_400
            }
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            'y' => 365 * 86_400,
            _ => return Err(invalid()),
        };
        let n: i64 = digits.parse().map_err(|_| invalid())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .filter(|s| *s <= 100 * 365 * 86_400)
            .ok_or_else(|| format!("`{text}` is too long a duration"))?;
    }
    if !digits.is_empty() {
        return Err(invalid());
    }
    Ok(Duration::seconds(total))
}

/// Formats a duration in the largest unit that divides it (`7d`, `36h`, `90s`).
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.whole_seconds();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if seconds != 0 && seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

/// A trust root file split at the marker line.
struct Split<'a> {
    body: &'a [u8],
    signatures: Vec<SignatureEntry>,
}

impl Split<'_> {
    fn message(&self) -> Vec<u8> {
        pae(TRUST_PAYLOAD_TYPE, self.body)
    }

    /// Adds `signer`'s signature; `false` when it had already signed.
    fn add(&mut self, signer: &dyn Signer) -> Result<bool, SignError> {
        let message = self.message();
        if self
            .signatures
            .iter()
            .any(|s| signer.public().verify(&message, &s.sig))
        {
            return Ok(false);
        }
        let sig = sign_checked(signer, &message)?;
        self.signatures.push(SignatureEntry {
            keyid: signer.public().id().to_string(),
            sig,
        });
        Ok(true)
    }

    fn render(&self) -> Vec<u8> {
        let mut out = self.body.to_vec();
        out.extend_from_slice(SIGNATURE_MARKER.as_bytes());
        out.push(b'\n');
        for signature in &self.signatures {
            out.extend_from_slice(
                format!(
                    "[[signature]]\nkeyid = {}\nsig = {}\n",
                    toml_string(&signature.keyid),
                    toml_string(&encode(&signature.sig))
                )
                .as_bytes(),
            );
        }
        out
    }
}

fn split(bytes: &[u8], max_bytes: usize) -> Result<Split<'_>, TrustRootError> {
    if bytes.len() > max_bytes {
        return Err(TrustRootError::TooLarge {
            size: bytes.len(),
            max: max_bytes,
        });
    }
    let mut start = 0;
    let mut marker_line = 1;
    let (body, tail) = loop {
        if start > bytes.len() {
            return Err(TrustRootError::SignatureBlock {
                problem: format!("no `{SIGNATURE_MARKER}` line; the root is unsigned"),
            });
        }
        let end = bytes[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |i| start + i);
        if &bytes[start..end] == SIGNATURE_MARKER.as_bytes() {
            break (&bytes[..start], &bytes[(end + 1).min(bytes.len())..]);
        }
        start = end + 1;
        marker_line += 1;
    };
    // Problems in the block are reported at their line in the whole file.
    let located = |p: TomlProblem| {
        let key = if p.key.is_empty() {
            String::new()
        } else {
            format!("`{}`: ", p.key)
        };
        TrustRootError::SignatureBlock {
            problem: format!("line {}: {key}{}", marker_line + p.line, p.message),
        }
    };
    let text = fields::utf8(tail).map_err(located)?;
    let doc = fields::parse(text).map_err(located)?;
    let table = Table::root(text, &doc);
    table.deny_unknown(&["signature"]).map_err(located)?;
    let entries = table
        .opt_array_of_tables("signature")
        .map_err(located)?
        .unwrap_or_default();
    if entries.len() > MAX_SIGNATURES {
        return Err(TrustRootError::SignatureBlock {
            problem: format!(
                "{} signatures, more than the {MAX_SIGNATURES} allowed",
                entries.len()
            ),
        });
    }
    let mut signatures = Vec::new();
    for entry in entries {
        entry.deny_unknown(&["keyid", "sig"]).map_err(located)?;
        let keyid = entry
            .opt_str("keyid")
            .map_err(located)?
            .map_or("", |k| k.value)
            .to_owned();
        let sig = entry.str("sig").map_err(located)?;
        let bytes = decode_exact::<64>(sig.value).map_err(|problem| {
            located(entry.problem(
                sig.span.clone(),
                "sig",
                format!("not canonical standard base64 of 64 bytes: {problem}"),
            ))
        })?;
        signatures.push(SignatureEntry { keyid, sig: bytes });
    }
    Ok(Split { body, signatures })
}

fn parse_body(body: &[u8]) -> Result<TrustRoot, TrustRootError> {
    let text = fields::utf8(body).map_err(TrustRootError::Syntax)?;
    let doc = fields::parse(text).map_err(TrustRootError::Syntax)?;
    let table = Table::root(text, &doc);
    let field = TrustRootError::Field;
    table.deny_unknown(ROOT_FIELDS).map_err(field)?;

    let version = table.u64("version").map_err(field)?;
    if version.value == 0 {
        return Err(field(table.problem(
            version.span,
            "version",
            "must be 1 or more",
        )));
    }
    let org = table.str("org").map_err(field)?;
    if !valid_org(org.value) {
        return Err(field(table.problem(
            org.span,
            "org",
            "must be 1 to 128 printable characters",
        )));
    }
    let expires = table.datetime("expires").map_err(field)?.value;
    let offline_grace = match table.opt_str("offline_grace").map_err(field)? {
        Some(grace) => parse_duration(grace.value)
            .map_err(|m| field(table.problem(grace.span, "offline_grace", m)))?,
        None => Duration::ZERO,
    };
    let signed_sources = match table.opt_str_array("signed_sources").map_err(field)? {
        Some(list) => sources(&table, "signed_sources", list)?,
        None => ManagedSource::DEFAULT_ORDER.to_vec(),
    };
    let (keys, names) = parse_keys(text, &table)?;
    let roles = table.table("roles").map_err(field)?;
    roles.deny_unknown(&["root", "policy"]).map_err(field)?;
    let root = parse_role(&roles, "root", &keys)?;
    let policy = parse_role(&roles, "policy", &keys)?;
    let retired = parse_retired(&roles, &keys, &policy, version.value)?;
    let precedence = parse_precedence(&table)?;
    let cloud = parse_cloud(&table)?;
    Ok(TrustRoot {
        version: version.value,
        org: org.value.to_owned(),
        expires,
        offline_grace,
        signed_sources,
        keys,
        root,
        policy,
        precedence,
        cloud,
        names,
        retired,
        signers: Vec::new(),
        sha256: Sha256::of(b""),
    })
}

fn sources(
    table: &Table<'_>,
    key: &str,
    list: Vec<fields::Located<&str>>,
) -> Result<Vec<ManagedSource>, TrustRootError> {
    let mut out = Vec::new();
    for item in list {
        let source = ManagedSource::from_name(item.value).ok_or_else(|| {
            TrustRootError::Field(table.problem(
                item.span.clone(),
                key,
                format!(
                    "`{}` is not a managed source (mdm, cloud, system, mdm-user)",
                    item.value
                ),
            ))
        })?;
        if out.contains(&source) {
            return Err(TrustRootError::Field(table.problem(
                item.span,
                key,
                format!("`{source}` is listed twice"),
            )));
        }
        out.push(source);
    }
    Ok(out)
}

/// The longest key name accepted.
const MAX_KEY_NAME: usize = 64;

type Keys = (BTreeMap<KeyId, PublicKey>, BTreeMap<KeyId, String>);

fn parse_keys(text: &str, table: &Table<'_>) -> Result<Keys, TrustRootError> {
    let field = TrustRootError::Field;
    let keys_table = table.table("keys").map_err(field)?;
    let entries = keys_table.entries();
    if entries.len() > MAX_KEYS {
        return Err(field(table.problem(
            None,
            "keys",
            format!("more than {MAX_KEYS} keys"),
        )));
    }
    let mut keys = BTreeMap::new();
    let mut names = BTreeMap::new();
    for (name, item) in entries {
        let line = || fields::line_of(text, name.span.as_ref().map_or(0, |s| s.start));
        let declared = KeyId::parse(name.value)
            .map_err(|e| field(keys_table.problem(name.span.clone(), name.value, e.to_string())))?;
        let key_table = keys_table
            .as_table(name.value, item, name.span.clone())
            .map_err(field)?;
        key_table.deny_unknown(&["public", "name"]).map_err(field)?;
        let public = key_table.str("public").map_err(field)?;
        if let Some(label) = key_table.opt_str("name").map_err(field)? {
            if label.value.is_empty()
                || label.value.chars().count() > MAX_KEY_NAME
                || label.value.chars().any(char::is_control)
            {
                return Err(field(key_table.problem(
                    label.span,
                    "name",
                    format!("must be 1 to {MAX_KEY_NAME} printable characters"),
                )));
            }
            names.insert(declared.clone(), label.value.to_owned());
        }
        let key = PublicKey::from_base64_at(public.value, &format!("keys.{declared}.public"))
            .map_err(|e| TrustRootError::Key {
                line: fields::line_of(text, public.span.as_ref().map_or(0, |s| s.start)),
                source: e.into(),
            })?;
        if key.id() != &declared {
            return Err(TrustRootError::KeyIdMismatch {
                declared,
                actual: key.id().clone(),
                line: line(),
            });
        }
        keys.insert(declared, key);
    }
    Ok((keys, names))
}

/// `[[roles.policy.retired]]`: policy keys taken out of the role, each with
/// the version that retired it and an optional overlap end.
fn parse_retired(
    roles: &Table<'_>,
    keys: &BTreeMap<KeyId, PublicKey>,
    policy: &Role,
    version: u64,
) -> Result<Vec<RetiredKey>, TrustRootError> {
    let field = TrustRootError::Field;
    let role = roles.table("policy").map_err(field)?;
    let mut out: Vec<RetiredKey> = Vec::new();
    for entry in role
        .opt_array_of_tables("retired")
        .map_err(field)?
        .unwrap_or_default()
    {
        entry
            .deny_unknown(&["key", "version", "until"])
            .map_err(field)?;
        let key = entry.str("key").map_err(field)?;
        let id = KeyId::parse(key.value)
            .map_err(|e| field(entry.problem(key.span.clone(), "key", e.to_string())))?;
        let problem = |message: String| field(entry.problem(key.span.clone(), "key", message));
        if !keys.contains_key(&id) {
            return Err(problem(format!("key {id} is not listed in [keys]")));
        }
        if policy.keys.contains(&id) {
            return Err(problem(format!(
                "key {id} is both a policy key and retired; remove it from one of them"
            )));
        }
        if out.iter().any(|r| r.key == id) {
            return Err(problem(format!("key {id} is retired twice")));
        }
        let retired_in = entry.u64("version").map_err(field)?;
        if retired_in.value == 0 || retired_in.value > version {
            return Err(field(entry.problem(
                retired_in.span,
                "version",
                format!("must be a version from 1 to this root's version ({version})"),
            )));
        }
        let until = entry.opt_datetime("until").map_err(field)?.map(|u| u.value);
        out.push(RetiredKey {
            key: id,
            version: retired_in.value,
            until,
        });
    }
    Ok(out)
}

fn parse_role(
    roles: &Table<'_>,
    name: &str,
    keys: &BTreeMap<KeyId, PublicKey>,
) -> Result<Role, TrustRootError> {
    let field = TrustRootError::Field;
    let role = roles.table(name).map_err(field)?;
    let known: &[&str] = if name == "policy" {
        &["threshold", "keys", "retired"]
    } else {
        &["threshold", "keys"]
    };
    role.deny_unknown(known).map_err(field)?;
    let threshold = role.u64("threshold").map_err(field)?;
    let mut ids = Vec::new();
    for item in role.str_array("keys").map_err(field)? {
        let id = KeyId::parse(item.value)
            .map_err(|e| field(role.problem(item.span.clone(), "keys", e.to_string())))?;
        if !keys.contains_key(&id) {
            return Err(field(role.problem(
                item.span,
                "keys",
                format!("key {id} is not listed in [keys]"),
            )));
        }
        if ids.contains(&id) {
            return Err(field(role.problem(
                item.span,
                "keys",
                format!("key {id} is listed twice"),
            )));
        }
        ids.push(id);
    }
    let count = ids.len();
    let threshold_value = u32::try_from(threshold.value)
        .ok()
        .filter(|t| (1..=count).contains(&(*t as usize)));
    let Some(threshold_value) = threshold_value else {
        return Err(field(role.problem(
            threshold.span,
            "threshold",
            format!("must be between 1 and the number of keys ({count})"),
        )));
    };
    Ok(Role {
        threshold: threshold_value,
        keys: ids,
    })
}

fn parse_precedence(table: &Table<'_>) -> Result<Precedence, TrustRootError> {
    let field = TrustRootError::Field;
    let Some(precedence) = table.opt_table("precedence").map_err(field)? else {
        return Ok(Precedence::default());
    };
    precedence.deny_unknown(&["order", "rule"]).map_err(field)?;
    let order = match precedence.opt_str_array("order").map_err(field)? {
        Some(list) => {
            let order = sources(&precedence, "order", list)?;
            if order.is_empty() {
                return Err(field(precedence.problem(
                    None,
                    "order",
                    "must list at least one managed source",
                )));
            }
            order
        }
        None => ManagedSource::DEFAULT_ORDER.to_vec(),
    };
    let mut rules = Vec::new();
    for rule in precedence
        .opt_array_of_tables("rule")
        .map_err(field)?
        .unwrap_or_default()
    {
        rule.deny_unknown(&["keys", "mode"]).map_err(field)?;
        let keys = rule.str("keys").map_err(field)?;
        let valid = !keys.value.is_empty()
            && keys.value.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'*' | b'?')
            });
        if !valid {
            return Err(field(rule.problem(
                keys.span,
                "keys",
                "must be a setting key pattern such as `network.*`",
            )));
        }
        let mode = rule.str("mode").map_err(field)?;
        let mode_value = Merge::from_name(mode.value).ok_or_else(|| {
            field(rule.problem(
                mode.span.clone(),
                "mode",
                format!("`{}` is not a mode (intersect or replace)", mode.value),
            ))
        })?;
        rules.push(PrecedenceRule {
            keys: keys.value.to_owned(),
            mode: mode_value,
        });
    }
    Ok(Precedence { order, rules })
}

fn parse_cloud(table: &Table<'_>) -> Result<Option<CloudConfig>, TrustRootError> {
    let field = TrustRootError::Field;
    let Some(cloud) = table.opt_table("cloud").map_err(field)? else {
        return Ok(None);
    };
    cloud
        .deny_unknown(&["url", "ca", "bundle"])
        .map_err(field)?;
    let url = cloud.str("url").map_err(field)?;
    let host = url.value.strip_prefix("https://").unwrap_or("");
    if host.is_empty()
        || host.starts_with('/')
        || url
            .value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(field(cloud.problem(
            url.span,
            "url",
            "must be an https:// URL",
        )));
    }
    let ca = match cloud.opt_str("ca").map_err(field)? {
        Some(ca) if !ca.value.starts_with('/') => {
            return Err(field(cloud.problem(
                ca.span,
                "ca",
                "must be an absolute path to a PEM file",
            )));
        }
        other => other.map(|ca| PathBuf::from(ca.value)),
    };
    let bundle = match cloud.opt_str("bundle").map_err(field)? {
        Some(bundle) if !valid_id(bundle.value) => {
            return Err(field(cloud.problem(
                bundle.span,
                "bundle",
                "must be a policy id (letters, digits, `.`, `_`, `-`)",
            )));
        }
        other => other.map(|b| b.value.to_owned()),
    };
    Ok(Some(CloudConfig {
        url: url.value.to_owned(),
        ca,
        bundle,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);
    const EXPIRES: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);

    fn key(i: u8) -> SecretKey {
        SecretKey::from_seed(&[i; 32])
    }

    fn publics(keys: &[&SecretKey]) -> Vec<PublicKey> {
        keys.iter().map(|k| k.public().clone()).collect()
    }

    fn builder(root: &[&SecretKey], threshold: u32) -> TrustRootBuilder {
        TrustRootBuilder::new("acme", EXPIRES)
            .root_keys(publics(root), threshold)
            .policy_keys(publics(&[&key(11), &key(12)]), 1)
    }

    fn signed(builder: &TrustRootBuilder, signers: &[&SecretKey]) -> Vec<u8> {
        TrustRoot::sign(&builder.body().unwrap(), signers).unwrap()
    }

    #[test]
    fn built_root_round_trips() {
        let (r1, r2) = (key(1), key(2));
        let b = builder(&[&r1, &r2], 2)
            .offline_grace(Duration::hours(12))
            .signed_sources(vec![ManagedSource::Cloud, ManagedSource::Mdm])
            .precedence(Precedence {
                order: vec![
                    ManagedSource::Cloud,
                    ManagedSource::Mdm,
                    ManagedSource::System,
                ],
                rules: vec![PrecedenceRule {
                    keys: "network.*".into(),
                    mode: Merge::Replace,
                }],
            })
            .cloud(Some(CloudConfig {
                url: "https://policy.example.com/acme.bundle".into(),
                ca: Some("/etc/mandate/ca.pem".into()),
                bundle: Some("acme-baseline".into()),
            }));
        let file = signed(&b, &[&r1, &r2]);
        let text = String::from_utf8(file.clone()).unwrap();
        assert!(
            text.contains("\n# --- mandate signatures ---\n[[signature]]\n"),
            "{text}"
        );
        let root = TrustRoot::verify_self(&file, NOW).unwrap();
        assert_eq!(root.version(), 1);
        assert_eq!(root.offline_grace(), Duration::hours(12));
        assert!(root.must_be_signed(ManagedSource::Mdm));
        assert!(!root.must_be_signed(ManagedSource::System));
        assert_eq!(root.precedence().rank(ManagedSource::MdmUser), None);
        assert_eq!(root.precedence().rank(ManagedSource::Cloud), Some(0));
        assert_eq!(
            root.precedence().merge_for("network.allowed_domains"),
            Merge::Replace
        );
        assert_eq!(
            root.cloud().unwrap().bundle.as_deref(),
            Some("acme-baseline")
        );
        assert_eq!(root.signers().len(), 2);
        assert_eq!(root.role_keys(RoleName::Policy).len(), 2);
        assert_eq!(root.roles_of(r1.id()), [RoleName::Root]);
        assert_eq!(root.sha256(), Sha256::of(&file));
        // Re-building from the verified root gives the same body, one version up.
        let next = TrustRootBuilder::next_version(&root).body().unwrap();
        assert_eq!(next, b.clone().version(2).body().unwrap());
    }

    #[test]
    fn signatures_must_meet_the_root_threshold() {
        let (r1, r2) = (key(1), key(2));
        let b = builder(&[&r1, &r2], 2);
        let one = signed(&b, &[&r1]);
        let err = TrustRoot::verify_self(&one, NOW).unwrap_err();
        assert_eq!(err.code(), "root-threshold", "{err}");
        // A second signer added later completes it.
        let both = TrustRoot::add_signatures(&one, &[&r2, &r1]).unwrap();
        assert!(TrustRoot::verify_self(&both, NOW).is_ok());
        // Policy keys do not count for the root role.
        let policy = signed(&b, &[&r1, &key(11)]);
        assert_eq!(
            TrustRoot::verify_self(&policy, NOW).unwrap_err().code(),
            "root-threshold"
        );
    }

    #[test]
    fn any_edit_of_the_body_breaks_the_signature() {
        let r1 = key(1);
        let file = signed(&builder(&[&r1], 1), &[&r1]);
        let text = String::from_utf8(file).unwrap();
        let edited = text.replacen("offline_grace = \"7d\"", "offline_grace = \"70d\"", 1);
        assert_ne!(edited, text);
        assert_eq!(
            TrustRoot::verify_self(edited.as_bytes(), NOW)
                .unwrap_err()
                .code(),
            "root-threshold"
        );
        let spaced = text.replacen("version = 1\n", "version = 1 \n", 1);
        assert_eq!(
            TrustRoot::verify_self(spaced.as_bytes(), NOW)
                .unwrap_err()
                .code(),
            "root-threshold"
        );
    }

    #[test]
    fn signature_block_is_strict() {
        let r1 = key(1);
        let body = builder(&[&r1], 1).body().unwrap();
        let file = String::from_utf8(TrustRoot::sign(&body, &[&r1]).unwrap()).unwrap();
        let cases = [
            body.clone(),
            format!("{file}version = 2\n"),
            format!("{file}[[signature]]\nsig = \"AAAA\"\n"),
            file.replacen("keyid", "kid", 1),
            file.replacen(SIGNATURE_MARKER, "# --- mandate signatures ---  ", 1),
        ];
        for case in cases {
            let err = TrustRoot::verify_self(case.as_bytes(), NOW).unwrap_err();
            assert_eq!(err.code(), "root-signature-block", "{err}\n{case}");
        }
        let err = TrustRoot::sign(&file, &[&r1]).unwrap_err();
        assert_eq!(err.code(), "root-signature-block");
    }

    #[test]
    fn body_errors_are_located() {
        let r1 = key(1);
        let body = builder(&[&r1], 1).body().unwrap();
        let bad = body.replacen("threshold = 1", "threshold = 2", 1);
        let err = TrustRoot::sign(&bad, &[&r1]).unwrap_err();
        let TrustRootError::Field(problem) = &err else {
            panic!("{err}")
        };
        assert_eq!(problem.key, "roles.root.threshold", "{err}");
        let dup = body.replacen("version = 1\n", "version = 1\nversion = 1\n", 1);
        assert_eq!(
            TrustRoot::sign(&dup, &[&r1]).unwrap_err().code(),
            "root-syntax"
        );
        let unknown = body.replacen("version = 1\n", "version = 1\nsignature = 1\n", 1);
        assert_eq!(
            TrustRoot::sign(&unknown, &[&r1]).unwrap_err().code(),
            "root-invalid"
        );
        let http = builder(&[&r1], 1).cloud(Some(CloudConfig {
            url: "http://policy.example.com/b".into(),
            ca: None,
            bundle: None,
        }));
        assert_eq!(http.body().unwrap_err().code(), "root-invalid");
    }

    #[test]
    fn key_ids_must_match_keys() {
        let (r1, r2) = (key(1), key(2));
        let body = builder(&[&r1], 1).body().unwrap();
        // Give r1's table the key of r2: the declared id no longer matches.
        let swapped = body.replacen(&r1.public().to_base64(), &r2.public().to_base64(), 1);
        let err = TrustRoot::sign(&swapped, &[&r1]).unwrap_err();
        assert!(
            matches!(err, TrustRootError::KeyIdMismatch { ref declared, ref actual, .. } if declared == r1.id() && actual == r2.id()),
            "{err}"
        );
        assert_eq!(err.code(), "key-id-mismatch");
    }

    #[test]
    fn rotation_rules() {
        let (r1, r2, r3, r4) = (key(1), key(2), key(3), key(4));
        let v1 = builder(&[&r1, &r2, &r3], 2);
        let installed = TrustRoot::verify_self(&signed(&v1, &[&r1, &r2]), NOW).unwrap();
        let v2 = v1
            .clone()
            .version(2)
            .root_keys(publics(&[&r1, &r2, &r4]), 2);
        // Old threshold (r1, r2) and new threshold (r1, r2) are met.
        let next = installed
            .verify_rotation(&signed(&v2, &[&r1, &r2]))
            .unwrap();
        assert_eq!(next.version(), 2);
        // Only one old key.
        let err = installed
            .verify_rotation(&signed(&v2, &[&r1, &r4]))
            .unwrap_err();
        assert_eq!(err.code(), "root-not-signed-by-previous", "{err}");
        // Old keys only, none of the new set beyond one.
        let v2_new = v1.clone().version(2).root_keys(publics(&[&r4]), 1);
        let err = installed
            .verify_rotation(&signed(&v2_new, &[&r1, &r2]))
            .unwrap_err();
        assert_eq!(err.code(), "root-not-signed-by-new", "{err}");
        // Versions go one at a time.
        let v3 = v1.clone().version(3);
        assert_eq!(
            installed
                .verify_rotation(&signed(&v3, &[&r1, &r2]))
                .unwrap_err()
                .code(),
            "root-version"
        );
        assert_eq!(
            installed
                .verify_rotation(&signed(&v1, &[&r1, &r2]))
                .unwrap_err()
                .code(),
            "root-version"
        );
        // The org is fixed.
        let globex = TrustRootBuilder {
            org: "globex".into(),
            ..v1.clone().version(2)
        };
        assert_eq!(
            installed
                .verify_rotation(&signed(&globex, &[&r1, &r2]))
                .unwrap_err()
                .code(),
            "root-org-changed"
        );
    }

    #[test]
    fn chains() {
        let (r1, r2, r3) = (key(1), key(2), key(3));
        let v1 = builder(&[&r1], 1);
        let installed = TrustRoot::verify_self(&signed(&v1, &[&r1]), NOW).unwrap();
        let v2 = v1.clone().version(2).root_keys(publics(&[&r2]), 1);
        let v3 = v1.clone().version(3).root_keys(publics(&[&r3]), 1);
        let f2 = signed(&v2, &[&r1, &r2]);
        let f3 = signed(&v3, &[&r2, &r3]);
        let bad3 = signed(&v3, &[&r1, &r3]);
        let last = walk_chain(&installed, &[&f2, &f3], 10, MAX_ROOT_BYTES).unwrap();
        assert_eq!(last.version(), 3);
        assert_eq!(
            walk_chain(&installed, &[], 10, MAX_ROOT_BYTES).unwrap(),
            installed
        );
        let err = walk_chain(&installed, &[&f2, &bad3], 10, MAX_ROOT_BYTES).unwrap_err();
        assert_eq!(
            (err.step, err.last_verified.version(), err.code()),
            (1, 2, "root-not-signed-by-previous")
        );
        let err = walk_chain(&installed, &[&f2, &f3], 1, MAX_ROOT_BYTES).unwrap_err();
        assert_eq!((err.step, err.code()), (1, "root-chain-too-long"));
        let err = walk_chain(&installed, &[&f2], 10, 100).unwrap_err();
        assert_eq!(err.code(), "too-large");
    }

    #[test]
    fn expiry_is_checked_against_the_given_time() {
        let r1 = key(1);
        let file = signed(&builder(&[&r1], 1), &[&r1]);
        assert!(TrustRoot::verify_self(&file, EXPIRES - Duration::SECOND).is_ok());
        assert_eq!(
            TrustRoot::verify_self(&file, EXPIRES).unwrap_err().code(),
            "root-expired"
        );
    }

    #[test]
    fn durations() {
        for (text, seconds) in [
            ("30m", 1800),
            ("12h", 43_200),
            ("7d", 604_800),
            ("1w", 604_800),
            ("1d12h", 129_600),
            ("0s", 0),
            ("90s", 90),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::seconds(seconds)),
                "{text}"
            );
        }
        for bad in ["", "7", "d", "7 d", "-1d", "1.5h", "7x", "999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::days(7)), "7d");
        assert_eq!(format_duration(Duration::hours(36)), "36h");
        assert_eq!(format_duration(Duration::seconds(90)), "90s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn ceremony_one_signature_at_a_time() {
        let (r1, r2, r3) = (key(1), key(2), key(3));
        let b = builder(&[&r1, &r2, &r3], 2).key_name(r3.id(), "carol");
        let unsigned = TrustRoot::sign_with(&b.body().unwrap(), &[]).unwrap();
        let status = TrustRoot::signatures(&unsigned, None).unwrap();
        assert_eq!((status.own.signed.len(), status.own.threshold), (0, 2));
        assert_eq!(status.own.missing().len(), 3);
        assert!(
            status
                .own
                .keys
                .contains(&(r3.id().clone(), Some("carol".into())))
        );
        let one = TrustRoot::add_signature(&unsigned, &r1, None).unwrap();
        assert_eq!(
            TrustRoot::add_signature(&one, &r1, None)
                .unwrap_err()
                .code(),
            "already-signed"
        );
        assert_eq!(
            TrustRoot::add_signature(&one, &key(11), None)
                .unwrap_err()
                .code(),
            "not-a-root-key"
        );
        assert_eq!(
            TrustRoot::verify_self(&one, NOW).unwrap_err().code(),
            "root-threshold"
        );
        let two = TrustRoot::add_signature(&one, &r3, None).unwrap();
        let root = TrustRoot::verify_self(&two, NOW).unwrap();
        assert_eq!(root.key_name(r3.id()), Some("carol"));
        assert!(TrustRoot::signatures(&two, None).unwrap().is_complete());
        // A rotation: a key of the previous version only may sign with --previous.
        let v2 = b.clone().version(2).root_keys(publics(&[&r2, &r3]), 2);
        let file = TrustRoot::sign_with(&v2.body().unwrap(), &[]).unwrap();
        assert_eq!(
            TrustRoot::add_signature(&file, &r1, None)
                .unwrap_err()
                .code(),
            "not-a-root-key"
        );
        let file = TrustRoot::add_signature(&file, &r1, Some(&root)).unwrap();
        let status = TrustRoot::signatures(&file, Some(&root)).unwrap();
        let previous = status.previous.as_ref().unwrap();
        assert_eq!((previous.signed.len(), status.own.signed.len()), (1, 0));
        assert!(!status.is_complete());
    }

    #[test]
    fn retired_policy_keys_overlap_then_stop_counting() {
        let r1 = key(1);
        let until = NOW + Duration::days(30);
        let b = builder(&[&r1], 1)
            .version(2)
            .policy_keys(publics(&[&key(12)]), 1)
            .retire_policy_key(key(11).public().clone(), 2, Some(until));
        let root = TrustRoot::verify_self(&signed(&b, &[&r1]), NOW).unwrap();
        assert_eq!(root.retired_policy_keys().len(), 1);
        assert_eq!(root.policy_keys_at(NOW).len(), 2);
        assert_eq!(root.policy_keys_at(until).len(), 1);
        // Carried by the next version, and the fingerprint ignores retired keys.
        let next = TrustRootBuilder::next_version(&root).body().unwrap();
        assert!(next.contains("[[roles.policy.retired]]"), "{next}");
        let plain = builder(&[&r1], 1).policy_keys(publics(&[&key(12)]), 1);
        let plain = TrustRoot::verify_self(&signed(&plain, &[&r1]), NOW).unwrap();
        assert_eq!(
            root.policy_keys_fingerprint(),
            plain.policy_keys_fingerprint()
        );
        // A key cannot be both, nor retired by a future version.
        let body = b.body().unwrap();
        let both = body.replacen(
            &format!("keys = [\"{}\"]\n\n[[roles", key(12).id()),
            &format!(
                "keys = [\"{}\", \"{}\"]\n\n[[roles",
                key(12).id(),
                key(11).id()
            ),
            1,
        );
        assert_ne!(both, body);
        assert_eq!(
            TrustRoot::sign(&both, &[&r1]).unwrap_err().code(),
            "root-invalid"
        );
        let future = body.replacen("version = 2\nuntil", "version = 3\nuntil", 1);
        assert_ne!(future, body);
        assert_eq!(
            TrustRoot::sign(&future, &[&r1]).unwrap_err().code(),
            "root-invalid"
        );
    }

    #[test]
    fn policy_fingerprint_depends_on_the_key_set_only() {
        let r1 = key(1);
        let a = TrustRoot::verify_self(&signed(&builder(&[&r1], 1), &[&r1]), NOW).unwrap();
        let reordered = builder(&[&r1], 1).policy_keys(publics(&[&key(12), &key(11)]), 2);
        let b = TrustRoot::verify_self(&signed(&reordered, &[&r1]), NOW).unwrap();
        assert_eq!(a.policy_keys_fingerprint(), b.policy_keys_fingerprint());
        let other = builder(&[&r1], 1).policy_keys(publics(&[&key(13)]), 1);
        let c = TrustRoot::verify_self(&signed(&other, &[&r1]), NOW).unwrap();
        assert_ne!(a.policy_keys_fingerprint(), c.policy_keys_fingerprint());
    }
}
