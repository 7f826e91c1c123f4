//! Who makes a signature: a key file, or a key held by an `ssh-agent`.
//!
//! Everything that signs (trust roots, bundles) goes through [`Signer`], so a
//! root key can stay on a hardware token or in an agent and never be written
//! to disk. Two implementations:
//!
//! - [`SecretKey`]: a `NAME.key` file read into memory;
//! - [`AgentKey`]: an ed25519 key held by an OpenSSH agent, reached over the
//!   Unix socket named by `SSH_AUTH_SOCK` (read by the caller, see
//!   [`crate::env::ssh_auth_sock`]). The agent signs the exact message with
//!   plain ed25519, so its signatures verify like any other; each one is
//!   checked against the key before it is used.
//!
//! An agent key is named by its OpenSSH fingerprint
//! (`ssh-agent:SHA256:<base64>`, as `ssh-add -l` prints it) or by its
//! OpenSSH public key file (`ssh-agent:~/.ssh/id_ed25519.pub`).
//!
//! The agent protocol used is the small, stable part of
//! draft-miller-ssh-agent: `SSH_AGENTC_REQUEST_IDENTITIES` (11) answered by
//! `SSH_AGENT_IDENTITIES_ANSWER` (12), and `SSH_AGENTC_SIGN_REQUEST` (13)
//! answered by `SSH_AGENT_SIGN_RESPONSE` (14) or `SSH_AGENT_FAILURE` (5).
//! Every message is a big-endian `u32` length and that many bytes; strings
//! are a `u32` length and bytes.

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::Digest as _;

use super::keys::{KeyError, PublicKey, SecretKey};

/// The prefix that names an agent-held key on the command line.
pub const AGENT_PREFIX: &str = "ssh-agent:";

const SSH_AGENT_FAILURE: u8 = 5;
const SSH_AGENTC_REQUEST_IDENTITIES: u8 = 11;
const SSH_AGENT_IDENTITIES_ANSWER: u8 = 12;
const SSH_AGENTC_SIGN_REQUEST: u8 = 13;
const SSH_AGENT_SIGN_RESPONSE: u8 = 14;
const ED25519: &str = "ssh-ed25519";
/// Largest agent reply read (OpenSSH caps its own messages at 256 KiB).
const MAX_AGENT_MESSAGE: u32 = 256 * 1024;
/// How long to wait for the agent (it may be asking the user to confirm).
const AGENT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a signature could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// No agent socket is known.
    #[error(
        "no ssh-agent: SSH_AUTH_SOCK is not set; start one (`eval $(ssh-agent)`) and add the key (`ssh-add`)"
    )]
    NoAgent,
    /// The agent could not be reached or spoke nonsense.
    #[error("ssh-agent at {socket}: {problem}")]
    Agent {
        /// The socket.
        socket: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// The agent does not hold the key asked for.
    #[error(
        "ssh-agent at {socket} holds no ed25519 key {wanted}; it holds: {held}. Add it with `ssh-add`"
    )]
    NotInAgent {
        /// The socket.
        socket: PathBuf,
        /// The key asked for.
        wanted: String,
        /// The ed25519 fingerprints it does hold.
        held: String,
    },
    /// The agent refused to sign (a locked agent, a declined confirmation).
    #[error(
        "ssh-agent refused to sign with {key}; is the agent locked, or was confirmation declined?"
    )]
    Refused {
        /// The key.
        key: String,
    },
    /// The signature returned does not verify under the key.
    #[error(
        "the signature made by {key} does not verify under its public key; nothing was written"
    )]
    BadSignature {
        /// The key.
        key: String,
    },
    /// An OpenSSH public key file or fingerprint could not be read.
    #[error("{0}")]
    Key(String),
    /// The same key was given twice (as two files, or as a file and through
    /// ssh-agent): devices count one signature per key, so the second adds
    /// nothing towards the threshold.
    #[error(
        "{first} and {second} are the same key ({id}); devices count one signature per key, so give each signer's key once"
    )]
    SameKey {
        /// How the key was named the first time.
        first: String,
        /// How it was named again.
        second: String,
        /// Its key id.
        id: String,
    },
}

impl SignError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            SignError::NoAgent => "no-agent",
            SignError::Agent { .. } => "agent",
            SignError::NotInAgent { .. } => "not-in-agent",
            SignError::Refused { .. } => "agent-refused",
            SignError::BadSignature { .. } => "bad-signature",
            SignError::Key(_) => "key-format",
            SignError::SameKey { .. } => "same-key",
        }
    }
}

impl From<KeyError> for SignError {
    fn from(e: KeyError) -> SignError {
        SignError::Key(e.to_string())
    }
}

/// Refuses a list of signers that names one key twice, compared by key id
/// whatever the form it was given in (key file, ssh-agent fingerprint,
/// OpenSSH public key file).
pub fn distinct(signers: &[&dyn Signer]) -> Result<(), SignError> {
    for (i, later) in signers.iter().enumerate() {
        let id = later.public().id();
        if let Some(first) = signers[..i].iter().find(|s| s.public().id() == id) {
            return Err(SignError::SameKey {
                first: first.label(),
                second: later.label(),
                id: id.to_string(),
            });
        }
    }
    Ok(())
}

/// Something that can sign with one ed25519 key.
pub trait Signer {
    /// The public half of the key that signs.
    fn public(&self) -> &PublicKey;

    /// How the key is named in messages (`keys/root-1.key`,
    /// `ssh-agent:SHA256:…`).
    fn label(&self) -> String;

    /// Signs `message` with plain ed25519.
    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], SignError>;
}

impl Signer for SecretKey {
    fn public(&self) -> &PublicKey {
        SecretKey::public(self)
    }

    fn label(&self) -> String {
        format!("key {}", self.id())
    }

    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        Ok(self.sign(message))
    }
}

/// Signs `message` with `signer` and checks the result under its public key.
pub(crate) fn sign_checked(signer: &dyn Signer, message: &[u8]) -> Result<[u8; 64], SignError> {
    let sig = signer.sign_message(message)?;
    if signer.public().verify(message, &sig) {
        Ok(sig)
    } else {
        Err(SignError::BadSignature {
            key: signer.label(),
        })
    }
}

/// The OpenSSH wire form of an ed25519 public key (`string "ssh-ed25519",
/// string key`).
pub fn openssh_blob(key: &PublicKey) -> Vec<u8> {
    let mut blob = Vec::new();
    put_string(&mut blob, ED25519.as_bytes());
    put_string(&mut blob, key.as_bytes());
    blob
}

/// The OpenSSH fingerprint of a key blob: `SHA256:` and unpadded base64.
pub fn fingerprint(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(sha2::Sha256::digest(blob))
    )
}

/// An OpenSSH public key line (`ssh-ed25519 AAAA… comment`) and its comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenSshPublic {
    /// The key.
    pub key: PublicKey,
    /// The comment after the key, often `user@host`.
    pub comment: String,
}

/// Parses one OpenSSH public key line (the content of `id_ed25519.pub`).
/// Only `ssh-ed25519` keys are accepted.
pub fn parse_openssh_public(text: &str, origin: &str) -> Result<OpenSshPublic, SignError> {
    let bad = |problem: &str| {
        SignError::Key(format!(
            "{origin}: not an OpenSSH ed25519 public key ({problem}); expected `ssh-ed25519 AAAA… comment`"
        ))
    };
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| bad("empty"))?;
    let mut parts = line.splitn(3, ' ');
    let kind = parts.next().unwrap_or_default();
    if kind != ED25519 {
        return Err(bad(&format!("key type `{kind}`")));
    }
    let blob = STANDARD
        .decode(parts.next().unwrap_or_default())
        .map_err(|_| bad("the key is not base64"))?;
    let key = key_from_blob(&blob).ok_or_else(|| bad("the key blob is malformed"))??;
    Ok(OpenSshPublic {
        key,
        comment: parts.next().unwrap_or_default().trim().to_owned(),
    })
}

/// Whether `text` looks like an OpenSSH public key line rather than a
/// mandate key file.
pub fn is_openssh_public(text: &[u8]) -> bool {
    text.starts_with(ED25519.as_bytes()) || text.starts_with(b"ssh-")
}

/// The ed25519 key in an OpenSSH blob: `None` when the blob is not an
/// ed25519 key; an error when it is one but the point is weak or invalid.
fn key_from_blob(blob: &[u8]) -> Option<Result<PublicKey, SignError>> {
    let mut reader = Reader(blob);
    if reader.string().ok()? != ED25519.as_bytes() {
        return None;
    }
    let bytes: [u8; 32] = reader.string().ok()?.try_into().ok()?;
    if !reader.0.is_empty() {
        return None;
    }
    Some(PublicKey::from_bytes(&bytes).map_err(SignError::from))
}

/// Which agent key to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentSelector {
    /// By OpenSSH fingerprint (`SHA256:…`).
    Fingerprint(String),
    /// By public key.
    Key(PublicKey),
}

impl AgentSelector {
    /// Parses what follows `ssh-agent:`: a fingerprint, or the path of an
    /// OpenSSH (or mandate) public key file.
    pub fn parse(spec: &str) -> Result<AgentSelector, SignError> {
        if spec.starts_with("SHA256:") {
            return Ok(AgentSelector::Fingerprint(spec.to_owned()));
        }
        let path = Path::new(spec);
        let text = std::fs::read(path).map_err(|e| SignError::Key(format!("{spec}: {e}")))?;
        let key = if is_openssh_public(&text) {
            parse_openssh_public(&String::from_utf8_lossy(&text), spec)?.key
        } else {
            PublicKey::read(path)?
        };
        Ok(AgentSelector::Key(key))
    }
}

/// An OpenSSH agent reached over its Unix socket.
#[derive(Clone, Debug)]
pub struct SshAgent {
    socket: PathBuf,
}

/// An ed25519 key held by an agent.
#[derive(Clone, Debug)]
pub struct AgentKey {
    socket: PathBuf,
    blob: Vec<u8>,
    public: PublicKey,
    /// The agent's comment for the key (usually its file name or `user@host`).
    pub comment: String,
    /// The OpenSSH fingerprint (`SHA256:…`).
    pub fingerprint: String,
}

impl SshAgent {
    /// The agent at `socket` (the value of `SSH_AUTH_SOCK`).
    pub fn new(socket: impl Into<PathBuf>) -> SshAgent {
        SshAgent {
            socket: socket.into(),
        }
    }

    /// The agent named by the environment, if any.
    pub fn from_env() -> Result<SshAgent, SignError> {
        crate::env::ssh_auth_sock()
            .map(SshAgent::new)
            .ok_or(SignError::NoAgent)
    }

    fn error(&self, problem: impl Into<String>) -> SignError {
        SignError::Agent {
            socket: self.socket.clone(),
            problem: problem.into(),
        }
    }

    /// Sends one request and reads one reply (type byte and body).
    fn request(&self, message: &[u8]) -> Result<(u8, Vec<u8>), SignError> {
        let io = |e: std::io::Error| self.error(e.to_string());
        let mut stream = UnixStream::connect(&self.socket).map_err(io)?;
        stream.set_read_timeout(Some(AGENT_TIMEOUT)).map_err(io)?;
        stream.set_write_timeout(Some(AGENT_TIMEOUT)).map_err(io)?;
        let mut framed = Vec::with_capacity(message.len() + 4);
        put_u32(&mut framed, message.len());
        framed.extend_from_slice(message);
        stream.write_all(&framed).map_err(io)?;
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).map_err(io)?;
        let len = u32::from_be_bytes(len);
        if len == 0 || len > MAX_AGENT_MESSAGE {
            return Err(self.error(format!("reply of {len} bytes")));
        }
        let mut reply = vec![0u8; len as usize];
        stream.read_exact(&mut reply).map_err(io)?;
        let kind = reply.remove(0);
        Ok((kind, reply))
    }

    /// The ed25519 keys the agent holds (other key types are skipped).
    pub fn identities(&self) -> Result<Vec<AgentKey>, SignError> {
        let (kind, body) = self.request(&[SSH_AGENTC_REQUEST_IDENTITIES])?;
        if kind != SSH_AGENT_IDENTITIES_ANSWER {
            return Err(self.error(format!("answered message type {kind} to a key listing")));
        }
        let malformed = || self.error("malformed key listing");
        let mut reader = Reader(&body);
        let count = reader.u32().map_err(|()| malformed())?;
        let mut keys = Vec::new();
        for _ in 0..count {
            let blob = reader.string().map_err(|()| malformed())?.to_vec();
            let comment = reader.string().map_err(|()| malformed())?;
            // Keys of other types (RSA, ECDSA, certificates) are not ours to use.
            if let Some(Ok(public)) = key_from_blob(&blob) {
                keys.push(AgentKey {
                    socket: self.socket.clone(),
                    fingerprint: fingerprint(&blob),
                    blob,
                    public,
                    comment: String::from_utf8_lossy(comment).into_owned(),
                });
            }
        }
        Ok(keys)
    }

    /// The key `selector` names.
    pub fn find(&self, selector: &AgentSelector) -> Result<AgentKey, SignError> {
        let keys = self.identities()?;
        let wanted = match selector {
            AgentSelector::Fingerprint(fp) => fp.clone(),
            AgentSelector::Key(key) => fingerprint(&openssh_blob(key)),
        };
        let held: Vec<String> = keys.iter().map(|k| k.fingerprint.clone()).collect();
        keys.into_iter()
            .find(|k| k.fingerprint == wanted)
            .ok_or_else(|| SignError::NotInAgent {
                socket: self.socket.clone(),
                wanted,
                held: if held.is_empty() {
                    "no ed25519 keys".to_owned()
                } else {
                    held.join(", ")
                },
            })
    }
}

impl Signer for AgentKey {
    fn public(&self) -> &PublicKey {
        &self.public
    }

    fn label(&self) -> String {
        format!("{AGENT_PREFIX}{}", self.fingerprint)
    }

    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        let agent = SshAgent::new(self.socket.clone());
        let mut request = vec![SSH_AGENTC_SIGN_REQUEST];
        put_string(&mut request, &self.blob);
        put_string(&mut request, message);
        put_u32(&mut request, 0);
        let (kind, body) = agent.request(&request)?;
        match kind {
            SSH_AGENT_SIGN_RESPONSE => {}
            SSH_AGENT_FAILURE => return Err(SignError::Refused { key: self.label() }),
            other => {
                return Err(agent.error(format!(
                    "answered message type {other} to a signature request"
                )));
            }
        }
        let malformed = || agent.error("malformed signature reply");
        let mut outer = Reader(&body);
        let signature = outer.string().map_err(|()| malformed())?;
        let mut inner = Reader(signature);
        if inner.string().map_err(|()| malformed())? != ED25519.as_bytes() {
            return Err(malformed());
        }
        let sig: [u8; 64] = inner
            .string()
            .map_err(|()| malformed())?
            .try_into()
            .map_err(|_| malformed())?;
        Ok(sig)
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    // Messages here are far below 4 GiB; saturate rather than wrap.
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reads agent wire types from a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<u32, ()> {
        let (head, rest) = self.0.split_first_chunk::<4>().ok_or(())?;
        self.0 = rest;
        Ok(u32::from_be_bytes(*head))
    }

    fn string(&mut self) -> Result<&'a [u8], ()> {
        let len = self.u32()? as usize;
        if len > self.0.len() {
            return Err(());
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn openssh_public_round_trip() {
        let key = SecretKey::from_seed(&[5; 32]);
        let line = format!(
            "ssh-ed25519 {} ana@laptop\n",
            STANDARD.encode(openssh_blob(key.public()))
        );
        let parsed = parse_openssh_public(&line, "id.pub").unwrap();
        assert_eq!(&parsed.key, key.public());
        assert_eq!(parsed.comment, "ana@laptop");
        assert!(is_openssh_public(line.as_bytes()));
        let rsa = "ssh-rsa AAAAB3NzaC1yc2E= x";
        assert_eq!(
            parse_openssh_public(rsa, "r").unwrap_err().code(),
            "key-format"
        );
        assert!(fingerprint(&openssh_blob(key.public())).starts_with("SHA256:"));
    }

    #[test]
    fn a_missing_agent_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let agent = SshAgent::new(dir.path().join("no-such.sock"));
        assert_eq!(agent.identities().unwrap_err().code(), "agent");
    }

    #[test]
    fn reader_refuses_truncated_strings() {
        let mut r = Reader(&[0, 0, 0, 5, 1, 2]);
        assert!(r.string().is_err());
        let mut r = Reader(&[0, 0]);
        assert!(r.u32().is_err());
    }
}
