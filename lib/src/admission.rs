//! Admission of managed policy: the trust root in force, verification of each
//! managed file, and the rollback state.
//!
//! The trust root is pinned: the first verified root is copied into the state
//! directory (`trust/root.toml`), and from then on an installed `trust.toml`
//! is accepted only if it is that same root or a rotation chain from it
//! (versions N+1, N+2 … each signed by a threshold of the previous root's
//! keys and of its own; intermediate versions may be placed in `trust.d/` as
//! `<version>.toml`). A trust root that does not verify never leaves the
//! machine unmanaged: the pinned copy stays in force, or — with none — every
//! setting is held at its lockdown value.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::fsafe::TrustedTree;
use crate::paths::Platform;
use crate::resolve::{Diagnostic, Severity, SourceStatus, Stack, TrustSummary};
use crate::source::{Location, ManagedSource, SourceKind};
use crate::trust::header::Channel;
use crate::trust::root::{Precedence, TrustRoot, walk_chain};
use crate::trust::state::{RollbackState, STATE_FILE_NAME};
use crate::trust::{
    ManagedDocument, Verification, VerifiedBundle, VerifiedPayload, verify_managed_with,
};

/// The most rotation steps walked in one run.
pub const MAX_CHAIN_STEPS: usize = 16;

/// How stale the recorded latest-seen time may get before a run that
/// changes nothing else rewrites the state to advance it.
pub const CLOCK_WRITE_INTERVAL: time::Duration = time::Duration::hours(1);

/// The directory of intermediate trust roots, beside `trust.toml`.
pub const TRUST_CHAIN_DIR: &str = "trust.d";

/// What admission needs across a whole load: the trust root, the rollback
/// state, and the bundles verified so far (recorded once resolution is done).
#[derive(Debug)]
pub struct Admission {
    /// The trust root in force, if any.
    pub root: Option<TrustRoot>,
    /// The rollback state as read.
    pub state: RollbackState,
    /// Bundles verified in this run.
    pub verified: Vec<VerifiedBundle>,
    /// The time of this run.
    pub now: OffsetDateTime,
    state_dir: PathBuf,
    /// Who must own the state directory (root, or the owner of `--root DIR`).
    state_owner: u32,
    /// The state file was there but refused: it is reported, and never
    /// replaced or merged into.
    state_refused: bool,
    pin_changed: Option<Vec<u8>>,
    mdm_chain: Vec<Vec<u8>>,
}

/// The logical path of the rollback state file.
pub fn state_file(platform: Platform) -> PathBuf {
    platform.state_dir().join(STATE_FILE_NAME)
}

/// The logical path of the pinned trust root copy.
pub fn pinned_root(platform: Platform) -> PathBuf {
    platform.state_dir().join("trust").join("root.toml")
}

/// The outcome of admitting one managed file.
#[derive(Debug)]
pub enum Admitted<T = ()> {
    /// Signed and verified, and what was read from its payload as
    /// verification parsed it ([`Admission::admit`]).
    Verified(Box<VerifiedBundle>, T),
    /// Acceptable unsigned: parse the file itself.
    Unsigned(crate::trust::UnsignedReason),
    /// Refused, with the reason for people.
    Rejected(String),
}

impl Admission {
    /// Reads the trust root (verifying rotations from the pinned copy) and
    /// the rollback state. Failures are recorded in `stack` and fail closed.
    ///
    /// `mdm_trust_root` is a trust root delivered in the machine's managed
    /// preferences (`TrustRoot` key); it stands in for `trust.toml` when no
    /// such file is installed.
    pub fn load(
        tree: &TrustedTree,
        platform: Platform,
        now: OffsetDateTime,
        mdm_trust_root: Option<Vec<u8>>,
        stack: &mut Stack,
    ) -> Admission {
        Admission::load_with_chain(tree, platform, now, mdm_trust_root, Vec::new(), stack)
    }

    /// [`Admission::load`], with the intermediate trust roots an MDM profile
    /// delivered (`TrustRootChain`): when a rotation walk needs version N
    /// and `trust.d/N.toml` is absent, the chain entry claiming version N is
    /// tried (and verified like any other step).
    pub fn load_with_chain(
        tree: &TrustedTree,
        platform: Platform,
        now: OffsetDateTime,
        mdm_trust_root: Option<Vec<u8>>,
        mdm_chain: Vec<Vec<u8>>,
        stack: &mut Stack,
    ) -> Admission {
        let state_path = state_file(platform);
        let mut state_refused = false;
        let state = match tree.read(&state_path) {
            Ok(bytes) => match RollbackState::parse(&bytes) {
                Ok(state) => state,
                Err(e) => {
                    state_refused = true;
                    fail_closed(
                        stack,
                        &tree.real(&state_path),
                        &format!(
                            "the rollback state is unreadable: {e} (it is left as it is: move it aside as root once you know why, and the next run starts a new one)"
                        ),
                    );
                    RollbackState::new()
                }
            },
            Err(e) if e.is_absent() => RollbackState::new(),
            Err(e) => {
                state_refused = true;
                fail_closed(stack, &tree.real(&state_path), &e.to_string());
                RollbackState::new()
            }
        };
        let mut admission = Admission {
            root: None,
            state,
            verified: Vec::new(),
            now,
            state_dir: tree.real(&platform.state_dir()),
            state_owner: tree.owner(),
            state_refused,
            pin_changed: None,
            mdm_chain,
        };
        admission.load_root(tree, platform, mdm_trust_root, stack);
        if let Some(root) = &admission.root {
            stack.precedence = root.precedence().clone();
        }
        admission
    }

    fn load_root(
        &mut self,
        tree: &TrustedTree,
        platform: Platform,
        mdm_trust_root: Option<Vec<u8>>,
        stack: &mut Stack,
    ) {
        let logical = platform.trust_root();
        let location = tree.real(&logical).display().to_string();
        let summary = |mode: &str, reason: Option<String>| TrustSummary {
            mode: mode.into(),
            location: Location::new(&location),
            reason,
            ..TrustSummary::default()
        };
        let pinned = match tree.read(&pinned_root(platform)) {
            Ok(bytes) => match TrustRoot::verify_self(&bytes, self.now) {
                Ok(root) => Some(root),
                Err(e) => {
                    // An expired pin still anchors the chain; anything else is a broken state dir.
                    match TrustRoot::verify_self(&bytes, OffsetDateTime::UNIX_EPOCH) {
                        Ok(root) => Some(root),
                        Err(_) => {
                            fail_closed(
                                stack,
                                &tree.real(&pinned_root(platform)),
                                &format!("the pinned trust root does not verify: {e}"),
                            );
                            stack.trust = summary(
                                "rejected",
                                Some(format!(
                                    "the pinned copy in the state directory does not verify: {e}"
                                )),
                            );
                            return;
                        }
                    }
                }
            },
            Err(e) if e.is_absent() => None,
            Err(e) => {
                fail_closed(stack, &tree.real(&pinned_root(platform)), &e.to_string());
                stack.trust = summary("rejected", Some(e.to_string()));
                return;
            }
        };
        let pinned_location =
            Location::new(tree.real(&pinned_root(platform)).display().to_string());
        // Where the installed root came from: trust.toml, or the MDM plist.
        let mut installed_location = Location::new(&location);
        let installed = match tree.read(&logical) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.is_absent() => {
                if mdm_trust_root.is_some() {
                    installed_location = Location::new(
                        tree.real(&platform.mdm_plist(&stack.domain))
                            .display()
                            .to_string(),
                    )
                    .with_detail("TrustRoot");
                }
                mdm_trust_root
            }
            Err(e) => {
                fail_closed(stack, Path::new(&location), &e.to_string());
                stack.trust = summary("rejected", Some(e.to_string()));
                return;
            }
        };
        // The root in force and where it is, as `sources` names it.
        let mut in_force = installed_location.clone();
        let root = match (pinned, installed) {
            (None, None) => {
                stack.trust = summary(
                    "unsigned",
                    Some("no trust root installed: root-owned policy files are accepted without signatures".into()),
                );
                return;
            }
            (Some(pin), None) => {
                // The trust root was removed: keep enforcing the pinned one.
                stack.diagnostics.push(Diagnostic {
                    severity: Severity::Warning,
                    code: "trust-root-missing".into(),
                    message: format!(
                        "{location} is gone, but this machine pinned trust root version {}: it stays in force (reinstall trust.toml to silence this)",
                        pin.version()
                    ),
                    source: None,
                    location: Some(Location::new(&location)),
                    key: None,
                    operator: None,
                });
                in_force = pinned_location.noted(format!("the pinned copy: {location} is gone"));
                pin
            }
            (None, Some(bytes)) => match TrustRoot::verify_self(&bytes, self.now) {
                Ok(root) => {
                    self.pin_changed = Some(bytes);
                    root
                }
                Err(e) => {
                    fail_closed(
                        stack,
                        Path::new(&location),
                        &format!("the trust root does not verify: {e}"),
                    );
                    stack.trust = summary("rejected", Some(e.to_string()));
                    return;
                }
            },
            (Some(pin), Some(bytes)) => match self.advance(tree, platform, &pin, &bytes) {
                Ok(root) => {
                    if root.version() > pin.version() {
                        in_force = installed_location
                            .noted(format!("rotated from the pinned version {}", pin.version()));
                    }
                    root
                }
                Err(message) => {
                    stack.degraded = true;
                    stack.diagnostics.push(Diagnostic {
                        severity: Severity::Error,
                        code: "trust-root-refused".into(),
                        message: format!("{location}: {message}; the pinned trust root version {} stays in force", pin.version()),
                        source: None,
                        location: Some(Location::new(&location)),
                        key: None,
                        operator: None,
                    });
                    in_force = pinned_location
                        .noted("the pinned copy: the installed trust root was refused");
                    pin
                }
            },
        };
        if let Err(e) = root.check_not_expired(self.now) {
            fail_closed(stack, Path::new(&location), &e.to_string());
            stack.trust = summary("rejected", Some(e.to_string()));
            return;
        }
        stack.trust = TrustSummary {
            mode: "signed".into(),
            location: in_force,
            version: Some(root.version()),
            expires: root
                .expires()
                .format(&time::format_description::well_known::Rfc3339)
                .ok(),
            org: Some(root.org().to_owned()),
            reason: None,
        };
        self.root = Some(root);
    }

    /// Moves from the pinned root to the installed one: the same root, or a
    /// rotation chain through `trust.d/`.
    fn advance(
        &mut self,
        tree: &TrustedTree,
        platform: Platform,
        pin: &TrustRoot,
        installed: &[u8],
    ) -> Result<TrustRoot, String> {
        if crate::trust::Sha256::of(installed) == pin.sha256() {
            return Ok(pin.clone());
        }
        let target = TrustRoot::verify_self(installed, OffsetDateTime::UNIX_EPOCH)
            .map_err(|e| format!("the installed trust root does not verify: {e}"))?;
        if target.version() <= pin.version() {
            return Err(format!(
                "the installed trust root is version {}, not newer than the pinned version {} (a rollback, or the same version with other bytes)",
                target.version(),
                pin.version()
            ));
        }
        let chain_dir = platform.config_dir().join(TRUST_CHAIN_DIR);
        let mut candidates: Vec<Vec<u8>> = Vec::new();
        for version in pin.version() + 1..target.version() {
            if candidates.len() >= MAX_CHAIN_STEPS {
                break;
            }
            let from_mdm = || {
                self.mdm_chain
                    .iter()
                    .find(|c| TrustRoot::claimed_version(c) == Some(version))
                    .cloned()
            };
            match tree.read(&chain_dir.join(format!("{version}.toml"))) {
                Ok(bytes) => candidates.push(bytes),
                Err(e) if e.is_absent() && from_mdm().is_some() => {
                    candidates.extend(from_mdm());
                }
                Err(e) => {
                    return Err(format!(
                        "rotation from version {} to {} needs version {version} in {} or in the MDM profile's TrustRootChain: {e}",
                        pin.version(),
                        target.version(),
                        tree.real(&chain_dir).display()
                    ));
                }
            }
        }
        candidates.push(installed.to_vec());
        let refs: Vec<&[u8]> = candidates.iter().map(Vec::as_slice).collect();
        let root = walk_chain(
            pin,
            &refs,
            MAX_CHAIN_STEPS,
            crate::trust::root::MAX_ROOT_BYTES,
        )
        .map_err(|e| e.to_string())?;
        self.pin_changed = Some(installed.to_vec());
        Ok(root)
    }

    /// Verifies one managed policy file found in `source`; `read` is given
    /// a verified bundle's payload as verification parsed it (the resolver
    /// builds its layer there, from the one parse).
    pub fn admit<T>(
        &self,
        source: ManagedSource,
        bytes: &[u8],
        is_bundle: bool,
        read: impl FnOnce(&VerifiedPayload<'_>) -> T,
    ) -> Admitted<T> {
        let document = if is_bundle {
            ManagedDocument::Bundle(bytes)
        } else {
            ManagedDocument::Plain
        };
        match verify_managed_with(
            document,
            self.root.as_ref(),
            source,
            self.now,
            &self.state,
            read,
        ) {
            Verification::Verified((bundle, read)) => Admitted::Verified(Box::new(bundle), read),
            Verification::Unsigned(reason) => Admitted::Unsigned(reason),
            Verification::Rejected(e) => Admitted::Rejected(e.to_string()),
        }
    }

    /// Records the verified bundles and the pinned root, atomically, where
    /// this process may write the state directory. A run that cannot write
    /// (an unprivileged `show`) changes nothing and says nothing.
    ///
    /// The state is rewritten only when it would say something new: a bundle
    /// not yet recorded (or another version of one), a new pinned root, or a
    /// latest-seen time more than [`CLOCK_WRITE_INTERVAL`] old. Repeated runs
    /// on an unchanged machine write nothing.
    pub fn commit(mut self, stack: &mut Stack) {
        let new_bundle = self.verified.iter().any(|b| {
            self.state
                .record_for(b.header.channel, &b.header.id)
                .is_none_or(|r| {
                    r.version != b.header.version
                        || r.sha256 != b.sha256
                        || r.policy_keys != b.policy_keys
                })
        });
        let clock_stale = !self.verified.is_empty()
            && self
                .state
                .latest_seen()
                .is_none_or(|t| self.now - t > CLOCK_WRITE_INTERVAL);
        if !new_bundle && !clock_stale && self.pin_changed.is_none() {
            return;
        }
        for bundle in std::mem::take(&mut self.verified) {
            if let Err(e) = self.state.record_bundle(&bundle, self.now) {
                stack.diagnostics.push(Diagnostic {
                    severity: Severity::Warning,
                    code: "rollback-state".into(),
                    message: format!(
                        "bundle {} v{} not recorded: {e}",
                        bundle.header.id, bundle.header.version
                    ),
                    source: Some(bundle.source.kind()),
                    location: None,
                    key: None,
                    operator: None,
                });
            }
        }
        let owner = self.state_owner;
        let create_parent = |path: &Path| match path.parent() {
            Some(dir) => crate::atomic::ensure_owned_dir(dir, owner),
            None => Ok(()),
        };
        let state_path = self.state_dir.join(STATE_FILE_NAME);
        let mut results = Vec::new();
        // A state file that was refused is evidence: it is never replaced.
        if !self.state_refused {
            // `save` merges with what is on disk under a lock: a concurrent
            // `mandate sync` loses nothing.
            results.push((
                state_path.clone(),
                create_parent(&state_path).and_then(|()| {
                    self.state.save(&state_path).map_err(|e| match e {
                        crate::trust::state::StateError::Io { source, .. } => source,
                        other => std::io::Error::other(other.to_string()),
                    })
                }),
            ));
        }
        if let Some(bytes) = self.pin_changed.take() {
            let path = self.state_dir.join("trust").join("root.toml");
            let result = create_parent(&path)
                .and_then(|()| crate::atomic::write_atomic(&path, &bytes, 0o644));
            results.push((path, result));
        }
        // Only the owner of the state (root) is expected to write it; anyone
        // else resolving reads it and moves on.
        let writer = rustix::process::geteuid().as_raw() == owner;
        for (path, result) in results {
            match result {
                Ok(()) => {}
                Err(e)
                    if !writer
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::PermissionDenied
                                | std::io::ErrorKind::ReadOnlyFilesystem
                        ) => {}
                Err(e) => stack.diagnostics.push(Diagnostic {
                    severity: Severity::Warning,
                    code: "state-unwritable".into(),
                    message: format!(
                        "{}: could not record the rollback state: {e}; rollback protection cannot advance until the state directory is writable by root (read-only or immutable /var?)",
                        path.display()
                    ),
                    source: None,
                    location: Some(Location::new(path.display().to_string())),
                    key: None,
                    operator: None,
                }),
            }
        }
    }
}

impl Admission {
    /// Fails closed when a signed `system` bundle this machine applied
    /// before (the rollback state knows its id) was not seen in this run:
    /// deleting a bundle must not quietly unmanage the machine. A deliberate
    /// retirement is recorded with `mandate state forget system/ID` as root.
    pub fn require_known_bundles(&self, stack: &mut Stack) {
        if self.root.is_none() {
            return;
        }
        let seen: Vec<(&str, Channel)> = self
            .verified
            .iter()
            .map(|b| (b.header.id.as_str(), b.header.channel))
            .collect();
        let rejected_system = stack.sources.iter().any(|r| {
            r.name == SourceKind::System && r.status != SourceStatus::Absent && r.id.is_none()
        });
        for (channel, id, record) in self.state.records() {
            if channel != Channel::System || seen.contains(&(id, channel)) {
                continue;
            }
            // A bundle that is there but refused is reported as such already.
            if rejected_system && stack.degraded {
                continue;
            }
            stack.fail_closed(Diagnostic {
                severity: Severity::Error,
                code: "bundle-missing".into(),
                message: format!(
                    "the signed system bundle {id} (v{} applied here before) is gone from policy.d: every setting is held at its lockdown value; reinstall it, or if it was retired on purpose run `mandate state forget system/{id}` as root",
                    record.version
                ),
                source: Some(SourceKind::System),
                location: None,
                key: None,
                operator: None,
            });
        }
    }
}

fn fail_closed(stack: &mut Stack, path: &Path, reason: &str) {
    stack.fail_closed(Diagnostic {
        severity: Severity::Error,
        code: "trust".into(),
        message: format!(
            "{}: {reason}; managed policy cannot be verified, so every setting is held at its lockdown value",
            path.display()
        ),
        source: None,
        location: Some(Location::new(path.display().to_string())),
        key: None,
        operator: None,
    });
}

/// Whether `source` is listed in the precedence in force (a signed trust
/// root may leave a source out, which then does not count).
pub fn in_precedence(precedence: &Precedence, source: SourceKind) -> bool {
    source
        .managed()
        .is_none_or(|m| precedence.rank(m).is_some())
}
