//! The signed bundle envelope (DSSE style).
//!
//! A bundle is a JSON object carrying the exact payload bytes, their type and
//! signatures:
//!
//! ```json
//! {
//!   "payloadType": "application/vnd.mandate.policy+toml",
//!   "payload": "<standard base64 of the policy TOML>",
//!   "signatures": [{ "keyid": "<hint>", "sig": "<standard base64, 64 bytes>" }]
//! }
//! ```
//!
//! Each signature is an ed25519 signature over the pre-authentication
//! encoding [`pae`]`(payloadType, payload)`, so a signature made for one
//! payload type can never be replayed as another. Parsing is strict: unknown
//! or duplicate fields, trailing data after the object and non-canonical
//! base64 are refused. The payload is never handed out before verification:
//! [`Envelope::verify`] is the only way to get it.
//!
//! Verification counts *distinct trusted keys* with a valid signature:
//! `keyid` is only a hint (a wrong hint is tolerated; every trusted key is
//! tried), a key that signs twice counts once, and signatures from keys that
//! are not trusted are ignored.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::keys::{KeyId, PublicKey, SecretKey, decode_exact, decode_strict, encode};
use super::signer::{SignError, Signer, sign_checked};

/// The payload type of a policy bundle.
pub const POLICY_PAYLOAD_TYPE: &str = "application/vnd.mandate.policy+toml";
/// The payload type trust roots are signed under (never found in an envelope).
pub const TRUST_PAYLOAD_TYPE: &str = "application/vnd.mandate.trust+toml";
/// Most signatures accepted on one envelope or trust root.
pub const MAX_SIGNATURES: usize = 32;

/// The DSSE pre-authentication encoding that signatures cover:
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths in ASCII
/// decimal.
///
/// ```
/// use mandate::trust::envelope::pae;
/// assert_eq!(pae("t/x", b"hi"), b"DSSEv1 3 t/x 2 hi");
/// ```
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// One signature: the signer's key id as a hint, and the signature bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureEntry {
    /// The key id the signer claims; only a hint, possibly wrong or empty.
    pub keyid: String,
    /// The ed25519 signature.
    pub sig: [u8; 64],
}

impl fmt::Debug for SignatureEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignatureEntry({:?}, {})", self.keyid, encode(&self.sig))
    }
}

/// How many distinct trusted keys signed, against how many were required.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureCount {
    /// Signatures required.
    pub threshold: u32,
    /// The distinct trusted keys with a valid signature, sorted.
    pub valid: Vec<KeyId>,
    /// Key id hints of signatures that no trusted key verified (unknown keys,
    /// keys of another role, corrupted or non-canonical signatures).
    pub unverified_hints: Vec<String>,
}

impl SignatureCount {
    /// Whether the threshold is met.
    pub fn is_met(&self) -> bool {
        self.valid.len() >= self.threshold as usize
    }
}

impl SignatureCount {
    /// Which keys counted and which signatures did not, in parentheses
    /// (empty when there were no signatures at all).
    pub fn details(&self) -> String {
        let mut parts = Vec::new();
        if !self.valid.is_empty() {
            let ids: Vec<&str> = self.valid.iter().map(KeyId::as_str).collect();
            parts.push(format!("valid: {}", ids.join(", ")));
        }
        if !self.unverified_hints.is_empty() {
            let hints: Vec<&str> = self
                .unverified_hints
                .iter()
                .map(|h| {
                    if h.is_empty() {
                        "<no hint>"
                    } else {
                        h.as_str()
                    }
                })
                .collect();
            parts.push(format!(
                "not counted: signatures claiming {}",
                hints.join(", ")
            ));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join("; "))
        }
    }
}

impl fmt::Display for SignatureCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} required signatures",
            self.valid.len(),
            self.threshold
        )
    }
}

/// Counts the distinct keys of `keys` with a valid signature over `message`.
pub(crate) fn count_signers(
    message: &[u8],
    signatures: &[SignatureEntry],
    keys: &[&PublicKey],
    threshold: u32,
) -> SignatureCount {
    let mut valid = BTreeSet::new();
    let mut unverified_hints = Vec::new();
    for entry in signatures {
        // Try the hinted key first, then every other trusted key: the hint
        // only saves time, it decides nothing.
        let hinted = keys.iter().filter(|k| k.id().as_str() == entry.keyid);
        let others = keys.iter().filter(|k| k.id().as_str() != entry.keyid);
        match hinted.chain(others).find(|k| k.verify(message, &entry.sig)) {
            Some(key) => {
                valid.insert(key.id().clone());
            }
            None => unverified_hints.push(entry.keyid.clone()),
        }
    }
    SignatureCount {
        threshold,
        valid: valid.into_iter().collect(),
        unverified_hints,
    }
}

/// Why an envelope was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The envelope is larger than [`MAX_MANAGED_SIZE`](crate::fsafe::MAX_MANAGED_SIZE).
    #[error(
        "bundle is {size} bytes, more than the {max}-byte limit for managed files; split the policy into several bundles"
    )]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not a JSON envelope: a syntax error, trailing data, a missing, unknown
    /// or duplicate field.
    #[error("bundle is not a valid envelope: {message}; re-create it with `mandate sign`")]
    Json {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A field is not strict canonical standard base64 (or a signature is
    /// not 64 bytes).
    #[error(
        "bundle field `{field}` is not canonical standard base64: {problem}; re-create the bundle with `mandate sign`"
    )]
    Base64 {
        /// `payload` or `signatures[N].sig`.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// More than [`MAX_SIGNATURES`] signatures.
    #[error("bundle carries {count} signatures, more than the {max} allowed")]
    TooManySignatures {
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The payload type is not the one expected.
    #[error(
        "bundle payload type is `{found}`, expected `{expected}`; sign policy with `mandate sign`, not another tool or type"
    )]
    PayloadType {
        /// The expected type.
        expected: String,
        /// The type found.
        found: String,
    },
    /// The trusted key set cannot meet its threshold (a threshold of zero
    /// would accept anything and is refused too).
    #[error("threshold {threshold} cannot be met by {keys} trusted keys; fix the trust root")]
    InvalidThreshold {
        /// The threshold.
        threshold: u32,
        /// How many keys are trusted.
        keys: usize,
    },
    /// Not enough distinct trusted keys signed.
    #[error(
        "bundle has {count}{details}; sign it with more of the trusted keys (`mandate sign --key …`)",
        count = .0,
        details = .0.details()
    )]
    Threshold(SignatureCount),
}

/// The payload of an envelope whose signatures met the threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedPayload {
    /// The payload type (equal to the expected one).
    pub payload_type: String,
    /// The exact payload bytes that were signed.
    pub payload: Vec<u8>,
    /// The distinct trusted keys that signed, sorted.
    pub signers: Vec<KeyId>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope<'a> {
    #[serde(rename = "payloadType")]
    payload_type: String,
    /// Borrowed from the envelope's bytes when it can be (base64 has nothing
    /// to unescape): the payload's text is not copied before it is decoded.
    #[serde(borrow)]
    payload: Cow<'a, str>,
    signatures: Vec<RawSignature>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
}

/// A parsed, not yet verified, envelope.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    payload_type: String,
    payload: Vec<u8>,
    signatures: Vec<SignatureEntry>,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("payload_type", &self.payload_type)
            .field("payload_len", &self.payload.len())
            .field("signatures", &self.signatures)
            .finish()
    }
}

impl Envelope {
    /// Signs `payload` as `payload_type` with each of `keys`.
    ///
    /// ```
    /// use mandate::trust::envelope::{Envelope, POLICY_PAYLOAD_TYPE};
    /// use mandate::trust::keys::SecretKey;
    ///
    /// let key = SecretKey::from_seed(&[9; 32]);
    /// let json = Envelope::sign(POLICY_PAYLOAD_TYPE, b"[policy]\n", &[&key]).to_json();
    /// let verified = Envelope::parse(&json)?.verify(POLICY_PAYLOAD_TYPE, &[key.public()], 1)?;
    /// assert_eq!(verified.payload, b"[policy]\n");
    /// assert_eq!(verified.signers, [key.id().clone()]);
    /// # Ok::<(), mandate::trust::envelope::EnvelopeError>(())
    /// ```
    pub fn sign(payload_type: &str, payload: &[u8], keys: &[&SecretKey]) -> Envelope {
        let mut envelope = Envelope {
            payload_type: payload_type.to_owned(),
            payload: payload.to_vec(),
            signatures: Vec::new(),
        };
        for key in keys {
            envelope.add_signature(key);
        }
        envelope
    }

    /// Adds a signature by `key` (for signing by several people in turn);
    /// a key that already signed is not added again.
    pub fn add_signature(&mut self, key: &SecretKey) {
        let message = pae(&self.payload_type, &self.payload);
        if self
            .signatures
            .iter()
            .any(|s| key.public().verify(&message, &s.sig))
        {
            return;
        }
        self.signatures.push(SignatureEntry {
            keyid: key.id().to_string(),
            sig: key.sign(&message),
        });
    }

    /// [`Envelope::sign`] with any [`Signer`]s (key files, agent keys); each
    /// signature is checked under its key before it is added. The same key
    /// given twice is refused ([`SignError::SameKey`]).
    pub fn sign_with(
        payload_type: &str,
        payload: &[u8],
        signers: &[&dyn Signer],
    ) -> Result<Envelope, SignError> {
        super::signer::distinct(signers)?;
        let mut envelope = Envelope {
            payload_type: payload_type.to_owned(),
            payload: payload.to_vec(),
            signatures: Vec::new(),
        };
        for signer in signers {
            envelope.add_signature_with(*signer)?;
        }
        Ok(envelope)
    }

    /// Adds a signature by `signer`; `Ok(false)` (and nothing added) when
    /// that key has already signed.
    pub fn add_signature_with(&mut self, signer: &dyn Signer) -> Result<bool, SignError> {
        if self.signed_by(signer.public()) {
            return Ok(false);
        }
        let message = pae(&self.payload_type, &self.payload);
        let sig = sign_checked(signer, &message)?;
        self.signatures.push(SignatureEntry {
            keyid: signer.public().id().to_string(),
            sig,
        });
        Ok(true)
    }

    /// Whether `key` has a valid signature on this envelope.
    pub fn signed_by(&self, key: &PublicKey) -> bool {
        let message = pae(&self.payload_type, &self.payload);
        self.signatures.iter().any(|s| key.verify(&message, &s.sig))
    }

    /// The keys among `keys` with a valid signature, whatever their number
    /// (for people collecting signatures; verification is
    /// [`Envelope::verify`]).
    pub fn signers_among(&self, keys: &[&PublicKey]) -> Vec<KeyId> {
        self.valid_signers(keys)
    }

    /// Parses an envelope strictly. Nothing is verified yet.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        let max = crate::fsafe::MAX_MANAGED_SIZE as usize;
        if bytes.len() > max {
            return Err(EnvelopeError::TooLarge {
                size: bytes.len(),
                max,
            });
        }
        let raw: RawEnvelope = serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if raw.signatures.len() > MAX_SIGNATURES {
            return Err(EnvelopeError::TooManySignatures {
                count: raw.signatures.len(),
                max: MAX_SIGNATURES,
            });
        }
        let payload = decode_strict(&raw.payload).or_else(|problem| {
            // An empty payload is valid base64 of nothing.
            if raw.payload.is_empty() {
                Ok(Vec::new())
            } else {
                Err(EnvelopeError::Base64 {
                    field: "payload".to_owned(),
                    problem,
                })
            }
        })?;
        let signatures = raw
            .signatures
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let sig = decode_exact::<64>(&s.sig).map_err(|problem| EnvelopeError::Base64 {
                    field: format!("signatures[{i}].sig"),
                    problem,
                })?;
                Ok(SignatureEntry {
                    keyid: s.keyid,
                    sig,
                })
            })
            .collect::<Result<Vec<_>, EnvelopeError>>()?;
        Ok(Envelope {
            payload_type: raw.payload_type,
            payload,
            signatures,
        })
    }

    /// The envelope as pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let raw = RawEnvelope {
            payload_type: self.payload_type.clone(),
            payload: Cow::Owned(encode(&self.payload)),
            signatures: self
                .signatures
                .iter()
                .map(|s| RawSignature {
                    keyid: s.keyid.clone(),
                    sig: encode(&s.sig),
                })
                .collect(),
        };
        let mut out = serde_json::to_vec_pretty(&raw).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The declared payload type (unverified until [`Envelope::verify`]).
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The payload bytes **before any verification**: for linting a bundle
    /// (`mandate validate`) and publishing, never for deciding policy —
    /// resolution only ever parses [`VerifiedPayload::payload`].
    pub fn unverified_payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signatures as found (unverified).
    pub fn signatures(&self) -> &[SignatureEntry] {
        &self.signatures
    }

    /// The keys among `keys` with a valid signature over this envelope,
    /// whatever their number (for diagnostics only).
    pub(crate) fn valid_signers(&self, keys: &[&PublicKey]) -> Vec<KeyId> {
        count_signers(
            &pae(&self.payload_type, &self.payload),
            &self.signatures,
            keys,
            1,
        )
        .valid
    }

    /// Checks the payload type, then counts the distinct `keys` with a valid
    /// signature over `pae(type, payload)`; returns the payload only when at
    /// least `threshold` of them signed.
    pub fn verify(
        &self,
        expected_type: &str,
        keys: &[&PublicKey],
        threshold: u32,
    ) -> Result<VerifiedPayload, EnvelopeError> {
        if self.payload_type != expected_type {
            return Err(EnvelopeError::PayloadType {
                expected: expected_type.to_owned(),
                found: self.payload_type.clone(),
            });
        }
        let distinct: BTreeSet<&KeyId> = keys.iter().map(|k| k.id()).collect();
        if threshold == 0 || threshold as usize > distinct.len() {
            return Err(EnvelopeError::InvalidThreshold {
                threshold,
                keys: distinct.len(),
            });
        }
        let count = count_signers(
            &pae(&self.payload_type, &self.payload),
            &self.signatures,
            keys,
            threshold,
        );
        if !count.is_met() {
            return Err(EnvelopeError::Threshold(count));
        }
        Ok(VerifiedPayload {
            payload_type: self.payload_type.clone(),
            payload: self.payload.clone(),
            signers: count.valid,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn keys() -> [SecretKey; 3] {
        [1, 2, 3].map(|i| SecretKey::from_seed(&[i; 32]))
    }

    fn publics(keys: &[SecretKey]) -> Vec<&PublicKey> {
        keys.iter().map(SecretKey::public).collect()
    }

    const BODY: &[u8] = b"[policy]\nid = \"x\"\nversion = 1\n";

    #[test]
    fn pae_matches_dsse() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn the_same_key_twice_is_refused() {
        let k = keys();
        // Two copies of one key (as if read from two files) are one key.
        let copy = SecretKey::from_seed(&[1; 32]);
        let err =
            Envelope::sign_with(POLICY_PAYLOAD_TYPE, BODY, &[&k[0], &k[1], &copy]).unwrap_err();
        assert_eq!(err.code(), "same-key");
        assert!(
            err.to_string().contains(&format!("({})", k[0].id())),
            "{err}"
        );
        let ok = Envelope::sign_with(POLICY_PAYLOAD_TYPE, BODY, &[&k[0], &k[1]]).unwrap();
        assert_eq!(ok.signers_among(&publics(&k)).len(), 2);
    }

    #[test]
    fn round_trip_and_threshold() {
        let k = keys();
        let env = Envelope::sign(POLICY_PAYLOAD_TYPE, BODY, &[&k[0], &k[1]]);
        let parsed = Envelope::parse(&env.to_json()).unwrap();
        assert_eq!(parsed, env);
        let ok = parsed.verify(POLICY_PAYLOAD_TYPE, &publics(&k), 2).unwrap();
        assert_eq!(ok.payload, BODY);
        let mut expected = vec![k[0].id().clone(), k[1].id().clone()];
        expected.sort();
        assert_eq!(ok.signers, expected);
        let err = parsed
            .verify(POLICY_PAYLOAD_TYPE, &publics(&k), 3)
            .unwrap_err();
        assert!(
            matches!(err, EnvelopeError::Threshold(ref c) if c.valid.len() == 2),
            "{err}"
        );
    }

    #[test]
    fn duplicate_signatures_count_once() {
        let k = keys();
        let mut env = Envelope::sign(POLICY_PAYLOAD_TYPE, BODY, &[&k[0]]);
        // add_signature does not duplicate, so duplicate by hand.
        env.add_signature(&k[0]);
        assert_eq!(env.signatures.len(), 1);
        let copy = env.signatures[0].clone();
        env.signatures.push(copy.clone());
        env.signatures.push(SignatureEntry {
            keyid: k[1].id().to_string(),
            ..copy
        });
        let err = env
            .verify(POLICY_PAYLOAD_TYPE, &publics(&k), 2)
            .unwrap_err();
        let EnvelopeError::Threshold(count) = err else {
            panic!("{err}")
        };
        assert_eq!(count.valid, [k[0].id().clone()]);
    }

    #[test]
    fn hints_are_only_hints() {
        let k = keys();
        let mut env = Envelope::sign(POLICY_PAYLOAD_TYPE, BODY, &[&k[0], &k[1]]);
        env.signatures[0].keyid = k[1].id().to_string();
        env.signatures[1].keyid = "nonsense".to_owned();
        assert!(env.verify(POLICY_PAYLOAD_TYPE, &publics(&k), 2).is_ok());
        // A correct hint for an untrusted key does not make it trusted.
        let stranger = SecretKey::from_seed(&[9; 32]);
        let env = Envelope::sign(POLICY_PAYLOAD_TYPE, BODY, &[&stranger]);
        assert!(env.verify(POLICY_PAYLOAD_TYPE, &publics(&k), 1).is_err());
    }

    #[test]
    fn payload_type_is_bound() {
        let k = keys();
        let env = Envelope::sign(TRUST_PAYLOAD_TYPE, BODY, &[&k[0]]);
        let err = env
            .verify(POLICY_PAYLOAD_TYPE, &publics(&k), 1)
            .unwrap_err();
        assert!(matches!(err, EnvelopeError::PayloadType { .. }));
        // Relabelling the type breaks the signatures.
        let mut relabelled = env.clone();
        relabelled.payload_type = POLICY_PAYLOAD_TYPE.to_owned();
        let err = relabelled
            .verify(POLICY_PAYLOAD_TYPE, &publics(&k), 1)
            .unwrap_err();
        assert!(matches!(err, EnvelopeError::Threshold(_)));
    }

    #[test]
    fn bad_thresholds_are_refused() {
        let k = keys();
        let env = Envelope::sign(POLICY_PAYLOAD_TYPE, BODY, &[&k[0]]);
        for (threshold, keys) in [(0, publics(&k)), (2, vec![k[0].public(), k[0].public()])] {
            let err = env
                .verify(POLICY_PAYLOAD_TYPE, &keys, threshold)
                .unwrap_err();
            assert!(
                matches!(err, EnvelopeError::InvalidThreshold { .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn strict_json() {
        let k = keys();
        let good = String::from_utf8(Envelope::sign(POLICY_PAYLOAD_TYPE, BODY, &[&k[0]]).to_json())
            .unwrap();
        let sig = encode(&Envelope::parse(good.as_bytes()).unwrap().signatures[0].sig);
        let payload = encode(BODY);
        let cases = [
            (format!("{good}x"), "trailing"),
            (
                good.replacen("\"payload\"", "\"payloadType\": \"a\", \"payload\"", 1),
                "duplicate field",
            ),
            (
                good.replacen("\"signatures\"", "\"extra\": 1, \"signatures\"", 1),
                "unknown field",
            ),
            (
                good.replacen("\"sig\"", "\"other\": 1, \"sig\"", 1),
                "unknown field",
            ),
            (
                format!("{{\"payloadType\": \"{POLICY_PAYLOAD_TYPE}\", \"signatures\": []}}"),
                "missing field",
            ),
            (good.replacen(&payload, &format!("{payload} "), 1), "base64"),
            (good.replacen(&sig, &sig.replace('=', ""), 1), "base64"),
        ];
        for (text, why) in cases {
            let err = Envelope::parse(text.as_bytes()).unwrap_err();
            let shown = err.to_string();
            assert!(
                shown.contains(why)
                    || (why == "base64" && matches!(err, EnvelopeError::Base64 { .. })),
                "{why}: {shown}"
            );
        }
        // Trailing whitespace is not data.
        assert!(Envelope::parse(format!("{good}\n  \n").as_bytes()).is_ok());
    }

    #[test]
    fn limits() {
        let k = keys();
        let mut env = Envelope::sign(POLICY_PAYLOAD_TYPE, BODY, &[&k[0]]);
        let one = env.signatures[0].clone();
        env.signatures = vec![one; MAX_SIGNATURES + 1];
        let err = Envelope::parse(&env.to_json()).unwrap_err();
        assert!(matches!(err, EnvelopeError::TooManySignatures { .. }));
        let big = vec![b' '; crate::fsafe::MAX_MANAGED_SIZE as usize + 1];
        assert!(matches!(
            Envelope::parse(&big).unwrap_err(),
            EnvelopeError::TooLarge { .. }
        ));
    }
}
