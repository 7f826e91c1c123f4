//! Ed25519 keys, key ids and the key file formats.
//!
//! # Key ids
//!
//! A [`KeyId`] is derived from the public key bytes and nothing else:
//! the first 16 bytes of `sha256("mandate-key-v1\0" ‖ public key)`, as 32
//! lowercase hex characters. Ids that appear in files (signature hints,
//! trust-root tables) are only names to look keys up by; they are always
//! recomputed from the key before they count for anything.
//!
//! # Files
//!
//! `NAME.pub` and `NAME.key` are one-line text files, optionally preceded by
//! comment lines starting with `#`:
//!
//! ```text
//! # mandate key "root-2026", id f6af5ca92d326b8245381cd78fa4be83
//! mandate-ed25519-public iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=
//! ```
//!
//! The secret file holds the 32-byte seed after `mandate-ed25519-secret`. It
//! is created with mode 0600 and never overwritten; reading refuses a secret
//! key file that group or others may access.
//!
//! Base64 is the standard alphabet with padding, strictly canonical: the
//! URL-safe alphabet, missing or extra padding, non-zero trailing bits,
//! whitespace inside the value and anything after the key line (other than
//! one final newline) are refused.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256 as Sha256Hasher};

use crate::atomic;

/// The first word of a public key file's key line.
pub const PUBLIC_KEY_TAG: &str = "mandate-ed25519-public";
/// The first word of a secret key file's key line.
pub const SECRET_KEY_TAG: &str = "mandate-ed25519-secret";
/// Domain separation prefix hashed before the key bytes to derive a [`KeyId`].
pub const KEY_ID_DOMAIN: &[u8] = b"mandate-key-v1\0";

/// Largest key file read, in bytes (comments included).
const MAX_KEY_FILE: u64 = 16 * 1024;

/// Errors reading, decoding or writing keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The text is not a key file of the expected kind.
    #[error(
        "{origin}: not a mandate {kind} key file: {problem}; expected one line `{tag} <base64>`"
    )]
    Format {
        /// The file, or `input`.
        origin: String,
        /// `public` or `secret`.
        kind: &'static str,
        /// The tag the key line must start with.
        tag: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The base64 value is not strict canonical standard base64 of the right length.
    #[error("{origin}: key is not canonical standard base64 of {expected} bytes: {problem}")]
    Encoding {
        /// The file, table or `input`.
        origin: String,
        /// The number of bytes the key must decode to.
        expected: usize,
        /// What is wrong.
        problem: String,
    },
    /// The bytes are not a point on the curve.
    #[error(
        "{origin}: the public key is not a valid ed25519 point; regenerate it with `mandate keys generate`"
    )]
    InvalidPoint {
        /// The file, table or `input`.
        origin: String,
    },
    /// The public key has small order: any signature would verify under it.
    #[error(
        "{origin}: public key {id} is a weak (small-order) ed25519 key and is refused; generate a new key with `mandate keys generate`"
    )]
    WeakKey {
        /// The file, table or `input`.
        origin: String,
        /// The id derived from the weak key.
        id: KeyId,
    },
    /// A key id is not 32 lowercase hex characters.
    #[error("`{text}` is not a key id (32 lowercase hex characters)")]
    BadKeyId {
        /// The text given.
        text: String,
    },
    /// A key name is not usable as a file name.
    #[error(
        "`{name}` is not a key name: use letters, digits, `.`, `_` and `-`, not starting with `.`"
    )]
    BadName {
        /// The name given.
        name: String,
    },
    /// A secret key file may be read by other users.
    #[error(
        "{path}: secret key file has mode {mode:o}; other users could read it. Run `chmod 600 {path}`"
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file already exists and would be overwritten.
    #[error(
        "{path} already exists; keys are never overwritten. Choose another name or move the old key away"
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The system random number generator failed.
    #[error("cannot generate a key: the system random number generator failed: {0}")]
    Random(String),
}

impl KeyError {
    /// A stable, machine-readable reason code (see `docs/trust.md`).
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::Format { .. } | KeyError::BadKeyId { .. } | KeyError::BadName { .. } => {
                "key-format"
            }
            KeyError::Encoding { .. } | KeyError::InvalidPoint { .. } => "key-encoding",
            KeyError::WeakKey { .. } => "weak-key",
            KeyError::InsecurePermissions { .. } => "key-permissions",
            KeyError::Exists { .. } => "key-exists",
            KeyError::Io { .. } | KeyError::Random(_) => "io",
        }
    }
}

/// Strictly decodes canonical standard base64 into exactly `N` bytes.
pub(crate) fn decode_exact<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let bytes = decode_strict(text)?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| format!("decodes to {} bytes, not {N}", bytes.len()))
}

/// Strictly decodes canonical standard base64 (padding required, no
/// whitespace, no URL-safe alphabet, zero trailing bits).
pub(crate) fn decode_strict(text: &str) -> Result<Vec<u8>, String> {
    if text.is_empty() {
        return Err("empty value".to_owned());
    }
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| e.to_string().trim_end_matches('.').to_owned())?;
    // The engine is already canonical; re-encoding is a belt-and-braces check.
    if STANDARD.encode(&bytes) != text {
        return Err("not in canonical form".to_owned());
    }
    Ok(bytes)
}

/// Encodes bytes as standard base64 with padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The identity of a public key, derived from its bytes.
///
/// ```
/// use mandate::trust::keys::SecretKey;
/// let key = SecretKey::from_seed(&[7; 32]);
/// assert_eq!(key.id().as_str().len(), 32);
/// assert_eq!(key.id(), key.public().id());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// The id of the public key `bytes`.
    pub fn of(bytes: &[u8; 32]) -> KeyId {
        let mut hasher = Sha256Hasher::new();
        hasher.update(KEY_ID_DOMAIN);
        hasher.update(bytes);
        let digest = hasher.finalize();
        KeyId(hex(&digest[..16]))
    }

    /// Parses the text form (32 lowercase hex characters).
    ///
    /// A parsed id is only a name: it proves nothing about any key.
    pub fn parse(text: &str) -> Result<KeyId, KeyError> {
        if text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(KeyId(text.to_owned()))
        } else {
            Err(KeyError::BadKeyId {
                text: text.to_owned(),
            })
        }
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// An ed25519 public key that is a valid, non-weak curve point.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    id: KeyId,
}

impl PublicKey {
    /// Loads a public key from its 32 bytes, refusing invalid and
    /// small-order points.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        PublicKey::from_bytes_at(bytes, "input")
    }

    fn from_bytes_at(bytes: &[u8; 32], origin: &str) -> Result<PublicKey, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPoint {
            origin: origin.to_owned(),
        })?;
        let id = KeyId::of(bytes);
        if key.is_weak() {
            return Err(KeyError::WeakKey {
                origin: origin.to_owned(),
                id,
            });
        }
        Ok(PublicKey { key, id })
    }

    /// Loads a public key from strict canonical standard base64.
    pub fn from_base64(text: &str) -> Result<PublicKey, KeyError> {
        PublicKey::from_base64_at(text, "input")
    }

    /// [`PublicKey::from_base64`], naming `origin` in errors.
    pub(crate) fn from_base64_at(text: &str, origin: &str) -> Result<PublicKey, KeyError> {
        let bytes = decode_exact::<32>(text).map_err(|problem| KeyError::Encoding {
            origin: origin.to_owned(),
            expected: 32,
            problem,
        })?;
        PublicKey::from_bytes_at(&bytes, origin)
    }

    /// The key as standard base64.
    pub fn to_base64(&self) -> String {
        encode(self.key.as_bytes())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The id derived from the key bytes.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// Whether `signature` is valid for `message` under `verify_strict`
    /// (canonical `s`, no small-order `R` or key). Callers count signers;
    /// they never expose this as a result.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = Signature::from_bytes(signature);
        self.key.verify_strict(message, &signature).is_ok()
    }

    /// Parses the text of a `NAME.pub` file.
    pub fn parse_file(text: &[u8]) -> Result<PublicKey, KeyError> {
        PublicKey::parse_file_at(text, "input")
    }

    fn parse_file_at(text: &[u8], origin: &str) -> Result<PublicKey, KeyError> {
        let value = key_line(text, origin, "public", PUBLIC_KEY_TAG)?;
        PublicKey::from_base64_at(value, origin)
    }

    /// The text of a `NAME.pub` file, with a comment naming the key.
    pub fn to_file(&self, name: &str) -> String {
        format!(
            "# mandate key {name:?}, id {}\n{PUBLIC_KEY_TAG} {}\n",
            self.id,
            self.to_base64()
        )
    }

    /// Reads a `NAME.pub` file.
    pub fn read(path: &Path) -> Result<PublicKey, KeyError> {
        let text = read_capped(path, "public", PUBLIC_KEY_TAG)?;
        PublicKey::parse_file_at(&text, &path.display().to_string())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

/// An ed25519 signing key. Its bytes are zeroed when it is dropped.
pub struct SecretKey {
    key: SigningKey,
    public: PublicKey,
}

impl SecretKey {
    /// The key with the given 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> SecretKey {
        let key = SigningKey::from_bytes(seed);
        let verifying = key.verifying_key();
        // A clamped scalar times the base point lies in the prime-order
        // subgroup, so the public half of a seed-derived key is never weak.
        let public = PublicKey {
            id: KeyId::of(verifying.as_bytes()),
            key: verifying,
        };
        SecretKey { key, public }
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The id of the public half.
    pub fn id(&self) -> &KeyId {
        &self.public.id
    }

    /// Signs `message` (deterministic ed25519).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Parses the text of a `NAME.key` file.
    pub fn parse_file(text: &[u8]) -> Result<SecretKey, KeyError> {
        SecretKey::parse_file_at(text, "input")
    }

    fn parse_file_at(text: &[u8], origin: &str) -> Result<SecretKey, KeyError> {
        let value = key_line(text, origin, "secret", SECRET_KEY_TAG)?;
        let mut seed = decode_exact::<32>(value).map_err(|problem| KeyError::Encoding {
            origin: origin.to_owned(),
            expected: 32,
            problem,
        })?;
        let key = SecretKey::from_seed(&seed);
        seed.fill(0);
        std::hint::black_box(&seed);
        Ok(key)
    }

    /// The text of a `NAME.key` file.
    fn to_file(&self, name: &str) -> String {
        format!(
            "# mandate secret key {name:?}, id {}; keep offline, never share\n{SECRET_KEY_TAG} {}\n",
            self.public.id,
            encode(self.key.as_bytes())
        )
    }

    /// Reads a `NAME.key` file, refusing one that group or others may access.
    pub fn read(path: &Path) -> Result<SecretKey, KeyError> {
        let metadata = fs::metadata(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::InsecurePermissions {
                path: path.to_owned(),
                mode,
            });
        }
        let mut text = read_capped(path, "secret", SECRET_KEY_TAG)?;
        let key = SecretKey::parse_file_at(&text, &path.display().to_string());
        text.fill(0);
        std::hint::black_box(&text);
        key
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.public.id)
    }
}

/// Generates a new key pair from the system's random number generator.
pub fn generate() -> Result<(SecretKey, PublicKey), KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    let secret = SecretKey::from_seed(&seed);
    seed.fill(0);
    std::hint::black_box(&seed);
    let public = secret.public().clone();
    Ok((secret, public))
}

/// The files [`write_key_pair`] created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPairPaths {
    /// `DIR/NAME.key`, mode 0600.
    pub secret: PathBuf,
    /// `DIR/NAME.pub`, mode 0644.
    pub public: PathBuf,
}

/// Writes `DIR/NAME.key` (mode 0600) and `DIR/NAME.pub` (mode 0644), refusing
/// to overwrite either.
pub fn write_key_pair(
    dir: &Path,
    name: &str,
    secret: &SecretKey,
) -> Result<KeyPairPaths, KeyError> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !valid {
        return Err(KeyError::BadName {
            name: name.to_owned(),
        });
    }
    let paths = KeyPairPaths {
        secret: dir.join(format!("{name}.key")),
        public: dir.join(format!("{name}.pub")),
    };
    for path in [&paths.secret, &paths.public] {
        if fs::symlink_metadata(path).is_ok() {
            return Err(KeyError::Exists { path: path.clone() });
        }
    }
    let mut text = secret.to_file(name).into_bytes();
    let written = write_new(&paths.secret, &text, 0o600);
    text.fill(0);
    std::hint::black_box(&text);
    written?;
    if let Err(error) = write_new(
        &paths.public,
        secret.public().to_file(name).as_bytes(),
        0o644,
    ) {
        let _ = fs::remove_file(&paths.secret);
        return Err(error);
    }
    Ok(paths)
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    atomic::write_new(path, bytes, mode).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_owned(),
            }
        } else {
            KeyError::Io {
                path: path.to_owned(),
                source,
            }
        }
    })
}

fn read_capped(path: &Path, kind: &'static str, tag: &'static str) -> Result<Vec<u8>, KeyError> {
    use std::io::Read as _;
    let io_error = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let file = fs::File::open(path).map_err(io_error)?;
    let mut text = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut text)
        .map_err(io_error)?;
    if text.len() as u64 > MAX_KEY_FILE {
        return Err(KeyError::Format {
            origin: path.display().to_string(),
            kind,
            tag,
            problem: format!("larger than {MAX_KEY_FILE} bytes"),
        });
    }
    Ok(text)
}

/// The base64 value of the single key line of a key file.
fn key_line<'t>(
    text: &'t [u8],
    origin: &str,
    kind: &'static str,
    tag: &'static str,
) -> Result<&'t str, KeyError> {
    let format = |problem: String| KeyError::Format {
        origin: origin.to_owned(),
        kind,
        tag,
        problem,
    };
    let text = std::str::from_utf8(text).map_err(|_| format("not UTF-8 text".to_owned()))?;
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut value = None;
    for (index, line) in body.split('\n').enumerate() {
        let number = index + 1;
        if value.is_some() {
            return Err(format(format!(
                "line {number}: unexpected content after the key line"
            )));
        }
        if line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) else {
            return Err(format(format!(
                "line {number} is neither a comment nor the key line"
            )));
        };
        value = Some(rest);
    }
    let value = value.ok_or_else(|| format("no key line".to_owned()))?;
    if value.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(KeyError::Encoding {
            origin: origin.to_owned(),
            expected: 32,
            problem: "whitespace inside the value".to_owned(),
        });
    }
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_seed(&[1; 32])
    }

    #[test]
    fn key_id_is_derived_from_bytes() {
        let public = key().public().clone();
        let mut hasher = Sha256Hasher::new();
        hasher.update(b"mandate-key-v1\0");
        hasher.update(public.as_bytes());
        assert_eq!(public.id().as_str(), hex(&hasher.finalize()[..16]));
        assert_ne!(public.id(), SecretKey::from_seed(&[2; 32]).id());
        assert!(KeyId::parse(public.id().as_str()).is_ok());
        assert!(KeyId::parse("ABCDEF0123456789abcdef0123456789").is_err());
        assert!(KeyId::parse("abc").is_err());
    }

    #[test]
    fn public_file_round_trips() {
        let public = key().public().clone();
        let text = public.to_file("root-1");
        assert!(text.starts_with("# mandate key \"root-1\", id "));
        assert_eq!(PublicKey::parse_file(text.as_bytes()).unwrap(), public);
        let bare = format!("{PUBLIC_KEY_TAG} {}", public.to_base64());
        assert_eq!(PublicKey::parse_file(bare.as_bytes()).unwrap(), public);
    }

    #[test]
    fn secret_file_round_trips_and_signs() {
        let secret = key();
        let parsed = SecretKey::parse_file(secret.to_file("k").as_bytes()).unwrap();
        assert_eq!(parsed.id(), secret.id());
        let sig = parsed.sign(b"message");
        assert!(secret.public().verify(b"message", &sig));
        assert!(!secret.public().verify(b"other", &sig));
        // A public key file is not a secret key file and vice versa.
        assert_eq!(
            SecretKey::parse_file(secret.public().to_file("k").as_bytes())
                .unwrap_err()
                .code(),
            "key-format"
        );
        assert_eq!(
            PublicKey::parse_file(secret.to_file("k").as_bytes())
                .unwrap_err()
                .code(),
            "key-format"
        );
    }

    #[test]
    fn strict_base64() {
        let b64 = key().public().to_base64();
        assert!(b64.ends_with('='));
        let cases = [
            // URL-safe alphabet.
            b64.replace('+', "-").replace('/', "_"),
            // Missing padding.
            b64.trim_end_matches('=').to_owned(),
            // Whitespace inside.
            format!("{} {}", &b64[..10], &b64[10..]),
            // Trailing garbage.
            format!("{b64}AAAA"),
            // Too short.
            b64[..40].to_owned(),
        ];
        for case in cases {
            if case == b64 {
                continue;
            }
            let text = format!("{PUBLIC_KEY_TAG} {case}\n");
            let err = PublicKey::parse_file(text.as_bytes()).unwrap_err();
            assert_eq!(err.code(), "key-encoding", "{case}: {err}");
        }
        // Non-zero trailing bits: the last character before `=` carries 2
        // unused bits for 32 bytes.
        let mut chars: Vec<char> = b64.chars().collect();
        let last = chars.len() - 2;
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let index = alphabet.find(chars[last]).unwrap();
        chars[last] = alphabet.chars().nth(index ^ 1).unwrap();
        let noncanonical: String = chars.into_iter().collect();
        let err = PublicKey::from_base64(&noncanonical).unwrap_err();
        assert_eq!(err.code(), "key-encoding", "{err}");
    }

    #[test]
    fn file_layout_is_strict() {
        let line = format!("{PUBLIC_KEY_TAG} {}", key().public().to_base64());
        for bad in [
            format!("{line}\n\n"),
            format!("{line}\ngarbage"),
            format!("{line}\n# trailing comment\n"),
            format!("{line}\r\n"),
            format!(" {line}"),
            format!("{PUBLIC_KEY_TAG}  {}", key().public().to_base64()),
            String::new(),
            "# only a comment\n".to_owned(),
        ] {
            assert!(PublicKey::parse_file(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (order 1) and a point of order 8.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let err = PublicKey::from_bytes(&identity).unwrap_err();
        assert_eq!(err.code(), "weak-key");
        let order8: [u8; 32] = [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10,
            0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77,
            0x92, 0xac, 0x03, 0x7a,
        ];
        assert_eq!(
            PublicKey::from_bytes(&order8).unwrap_err().code(),
            "weak-key"
        );
        let text = format!("{PUBLIC_KEY_TAG} {}\n", encode(&identity));
        assert_eq!(
            PublicKey::parse_file(text.as_bytes()).unwrap_err().code(),
            "weak-key"
        );
    }

    #[test]
    fn non_canonical_s_is_refused() {
        // s + L verifies under the lax check of some libraries; verify_strict refuses it.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let secret = key();
        let mut sig = secret.sign(b"m");
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
            sig[32 + i] = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        assert!(!secret.public().verify(b"m", &sig));
    }

    #[test]
    fn key_pair_files() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public) = generate().unwrap();
        let paths = write_key_pair(dir.path(), "root-1", &secret).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&paths.secret), 0o600);
        assert_eq!(mode(&paths.public), 0o644);
        assert_eq!(SecretKey::read(&paths.secret).unwrap().id(), public.id());
        assert_eq!(PublicKey::read(&paths.public).unwrap(), public);

        let err = write_key_pair(dir.path(), "root-1", &secret).unwrap_err();
        assert_eq!(err.code(), "key-exists");
        for name in ["", ".hidden", "a/b", "a b"] {
            assert_eq!(
                write_key_pair(dir.path(), name, &secret)
                    .unwrap_err()
                    .code(),
                "key-format"
            );
        }

        fs::set_permissions(&paths.secret, fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(
            SecretKey::read(&paths.secret).unwrap_err().code(),
            "key-permissions"
        );
    }

    #[test]
    fn debug_never_shows_secret_bytes() {
        let secret = key();
        let shown = format!("{secret:?}");
        assert_eq!(shown, format!("SecretKey({})", secret.id()));
    }
}
