//! Security test vectors for the trust layer.
//!
//! The files in `tests/vectors/` (at the workspace root) are data with
//! expected outcomes, listed in `tests/vectors/manifest.toml`. They are made
//! by a deterministic generator from fixed seed keys:
//!
//! ```text
//! cargo test -p mandate --test vectors -- --ignored regenerate_vectors
//! ```
//!
//! `vectors_match_the_manifest` checks every outcome; `vectors_are_fresh`
//! checks that the files on disk are what the generator makes, so a format
//! change cannot silently leave stale vectors behind.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mandate::source::ManagedSource;
use mandate::trust::envelope::{
    Envelope, EnvelopeError, POLICY_PAYLOAD_TYPE, TRUST_PAYLOAD_TYPE, pae,
};
use mandate::trust::header::{Channel, SignedHeader};
use mandate::trust::keys::{PublicKey, SecretKey};
use mandate::trust::root::{
    CloudConfig, MAX_ROOT_BYTES, Merge, Precedence, PrecedenceRule, RoleName, SIGNATURE_MARKER,
    TrustRoot, TrustRootBuilder, walk_chain,
};
use mandate::trust::state::RollbackState;
use mandate::trust::{Expiry, Sha256, verify_bundle};
use proptest::prelude::*;
use serde::Serialize;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The time every case is evaluated at unless it says otherwise.
const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);
const ROOT_EXPIRES: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);
const ISSUED: OffsetDateTime = datetime!(2026-05-01 00:00 UTC);
const EXPIRES: OffsetDateTime = datetime!(2026-12-01 00:00 UTC);
const DEFAULT_MAX_STEPS: usize = 16;

// Fixed seeds: root keys 1..=6, policy keys 11..=13, an unknown key 99.
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;
const R6: u8 = 6;
const P1: u8 = 11;
const P2: u8 = 12;
const P3: u8 = 13;
const UNKNOWN: u8 = 99;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

fn keys(seeds: &[u8]) -> Vec<SecretKey> {
    seeds.iter().map(|s| key(*s)).collect()
}

fn publics(seeds: &[u8]) -> Vec<PublicKey> {
    seeds.iter().map(|s| key(*s).public().clone()).collect()
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn quote(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_owned()
}

// ---------------------------------------------------------------- builders

fn root_builder(version: u64, root_seeds: &[u8], threshold: u32) -> TrustRootBuilder {
    TrustRootBuilder::new("acme", ROOT_EXPIRES)
        .version(version)
        .root_keys(publics(root_seeds), threshold)
        .policy_keys(publics(&[P1, P2, P3]), 2)
        .offline_grace(Duration::days(7))
        .precedence(Precedence {
            order: ManagedSource::DEFAULT_ORDER.to_vec(),
            rules: vec![PrecedenceRule {
                keys: "network.*".into(),
                mode: Merge::Replace,
            }],
        })
        .cloud(Some(CloudConfig {
            url: "https://policy.acme.example/mandate/acme-baseline.bundle".into(),
            ca: None,
            bundle: Some("acme-baseline".into()),
        }))
}

fn sign_body(body: &str, signers: &[u8]) -> Vec<u8> {
    let signers = keys(signers);
    let refs: Vec<&SecretKey> = signers.iter().collect();
    TrustRoot::sign(body, &refs).unwrap()
}

fn signed_root(builder: &TrustRootBuilder, signers: &[u8]) -> Vec<u8> {
    sign_body(&builder.body().unwrap(), signers)
}

/// A root file whose body is `body` exactly (possibly invalid), with
/// signatures by `signers` over PAE(`payload_type`, body).
fn raw_root(body: &str, payload_type: &str, signers: &[u8]) -> Vec<u8> {
    let mut out = body.as_bytes().to_vec();
    out.extend_from_slice(SIGNATURE_MARKER.as_bytes());
    out.push(b'\n');
    let message = pae(payload_type, body.as_bytes());
    for seed in signers {
        let k = key(*seed);
        out.extend_from_slice(
            format!(
                "[[signature]]\nkeyid = \"{}\"\nsig = \"{}\"\n",
                k.id(),
                b64(&k.sign(&message))
            )
            .as_bytes(),
        );
    }
    out
}

struct Policy {
    org: &'static str,
    channel: &'static str,
    id: &'static str,
    version: u64,
    issued_at: Option<OffsetDateTime>,
    expires: OffsetDateTime,
    /// More `[policy]` lines, after `version`.
    extra: &'static str,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            org: "acme",
            channel: "cloud",
            id: "acme-baseline",
            version: 7,
            issued_at: Some(ISSUED),
            expires: EXPIRES,
            extra: "",
        }
    }
}

impl Policy {
    fn bytes(&self) -> Vec<u8> {
        let issued = self
            .issued_at
            .map(|t| format!("issued_at = {}\n", fmt_time(t)))
            .unwrap_or_default();
        let mut text = format!(
            "# acme baseline policy\n[policy]\norg = \"{}\"\nchannel = \"{}\"\nid = \"{}\"\nversion = {}\n{}{issued}expires = {}\n\n[settings]\napprovals.policy = \"on-request\"\nsandbox.mode = \"workspace-write\"\n\n[requirements]\n\"sandbox.mode\" = {{ allowed = [\"read-only\", \"workspace-write\"] }}\n\"network.denied_domains\" = {{ includes = [\"pastebin.com\"] }}\n",
            self.org,
            self.channel,
            self.id,
            self.version,
            self.extra,
            fmt_time(self.expires)
        );
        // Keep the length off a multiple of three so the payload's base64
        // has padding and trailing bits (used by the non-canonical vectors).
        while text.len() % 3 == 0 {
            text.push('\n');
        }
        text.into_bytes()
    }
}

#[derive(Serialize)]
struct JsonEnvelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<JsonSignature>,
}

#[derive(Serialize, Clone)]
struct JsonSignature {
    keyid: String,
    sig: String,
}

impl JsonEnvelope {
    /// Signs `payload` as `payload_type` with each seed (duplicates kept).
    fn signed(payload_type: &str, payload: &[u8], signers: &[u8]) -> JsonEnvelope {
        let message = pae(payload_type, payload);
        JsonEnvelope {
            payload_type: payload_type.to_owned(),
            payload: b64(payload),
            signatures: signers
                .iter()
                .map(|seed| {
                    let k = key(*seed);
                    JsonSignature {
                        keyid: k.id().to_string(),
                        sig: b64(&k.sign(&message)),
                    }
                })
                .collect(),
        }
    }

    fn policy(policy: &Policy, signers: &[u8]) -> JsonEnvelope {
        JsonEnvelope::signed(POLICY_PAYLOAD_TYPE, &policy.bytes(), signers)
    }

    fn json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap();
        out.push(b'\n');
        out
    }
}

fn golden_policy() -> Policy {
    Policy::default()
}

fn golden_bundle() -> Vec<u8> {
    let bytes = JsonEnvelope::policy(&golden_policy(), &[P1, P2]).json();
    // The generator's JSON is exactly what `mandate sign` writes.
    let signers = keys(&[P1, P2]);
    let refs: Vec<&SecretKey> = signers.iter().collect();
    assert_eq!(
        bytes,
        Envelope::sign(POLICY_PAYLOAD_TYPE, &golden_policy().bytes(), &refs).to_json()
    );
    bytes
}

fn golden_root_builder() -> TrustRootBuilder {
    root_builder(1, &[R1, R2, R3], 2)
}

fn golden_root() -> Vec<u8> {
    signed_root(&golden_root_builder(), &[R1, R2])
}

/// Adds the group order L to the `s` half of a signature: the same
/// signature, non-canonically encoded.
fn s_plus_l(sig: &[u8; 64]) -> [u8; 64] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = *sig;
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(out[32 + i]) + u16::from(L[i]) + carry;
        out[32 + i] = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    out
}

/// Sets the unused low bits of the last base64 character before the padding.
fn with_trailing_bits(b64: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let padding = b64.len() - b64.trim_end_matches('=').len();
    assert!(padding > 0, "no trailing bits without padding");
    let mut chars: Vec<char> = b64.chars().collect();
    let at = chars.len() - padding - 1;
    let index = ALPHABET.find(chars[at]).unwrap();
    chars[at] = ALPHABET.chars().nth(index | 1).unwrap();
    let out: String = chars.into_iter().collect();
    assert_ne!(out, b64);
    assert_eq!(
        STANDARD.decode(b64).unwrap(),
        base64::engine::general_purpose::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        )
        .decode(&out)
        .unwrap()
    );
    out
}

fn url_safe(b64: &str) -> String {
    b64.replace('+', "-").replace('/', "_")
}

fn rollback_state(
    version: u64,
    payload: &[u8],
    policy_keys: Sha256,
    issued_at: OffsetDateTime,
    seen: OffsetDateTime,
) -> Vec<u8> {
    let mut state = RollbackState::new();
    let header = SignedHeader {
        org: "acme".into(),
        channel: Channel::Cloud,
        id: "acme-baseline".into(),
        version,
        issued_at,
        expires: EXPIRES,
    };
    state
        .record(&header, Sha256::of(payload), seen, policy_keys)
        .unwrap();
    state.to_json()
}

// ---------------------------------------------------------------- generator

#[derive(Default)]
struct Case {
    name: &'static str,
    kind: &'static str,
    description: &'static str,
    root: Option<String>,
    bundle: Option<String>,
    key: Option<String>,
    chain: Vec<String>,
    source: Option<&'static str>,
    state: Option<String>,
    now: Option<OffsetDateTime>,
    max_steps: Option<usize>,
    expect: String,
    expect_version: Option<u64>,
}

#[derive(Default)]
struct Generator {
    files: BTreeMap<String, Vec<u8>>,
    cases: Vec<Case>,
}

impl Generator {
    fn file(&mut self, path: &str, bytes: Vec<u8>) -> String {
        if let Some(existing) = self.files.get(path) {
            assert_eq!(
                existing, &bytes,
                "{path} generated twice with different content"
            );
        }
        self.files.insert(path.to_owned(), bytes);
        path.to_owned()
    }

    fn bundle_case(
        &mut self,
        name: &'static str,
        description: &'static str,
        bundle: Vec<u8>,
        expect: &str,
    ) -> &mut Case {
        let root = self.file("roots/golden.trust.toml", golden_root());
        let bundle = self.file(&format!("bundles/{name}.bundle"), bundle);
        self.cases.push(Case {
            name,
            kind: "bundle",
            description,
            root: Some(root),
            bundle: Some(bundle),
            source: Some("cloud"),
            expect: expect.to_owned(),
            ..Case::default()
        });
        self.cases.last_mut().unwrap()
    }

    fn state(&mut self, name: &str, bytes: Vec<u8>) -> String {
        self.file(&format!("state/{name}.json"), bytes)
    }

    fn root_case(
        &mut self,
        name: &'static str,
        description: &'static str,
        root: Vec<u8>,
        expect: &str,
    ) -> &mut Case {
        let root = self.file(&format!("roots/{name}.trust.toml"), root);
        self.cases.push(Case {
            name,
            kind: "root",
            description,
            root: Some(root),
            expect: expect.to_owned(),
            ..Case::default()
        });
        self.cases.last_mut().unwrap()
    }

    fn key_case(
        &mut self,
        name: &'static str,
        description: &'static str,
        text: Vec<u8>,
        expect: &str,
    ) {
        let key = self.file(&format!("keys/{name}.pub"), text);
        self.cases.push(Case {
            name,
            kind: "public-key",
            description,
            key: Some(key),
            expect: expect.to_owned(),
            ..Case::default()
        });
    }

    fn rotation_case(
        &mut self,
        name: &'static str,
        description: &'static str,
        installed: Vec<u8>,
        chain: Vec<Vec<u8>>,
        expect: &str,
        expect_version: u64,
    ) -> &mut Case {
        let root = self.file(&format!("rotation/{name}/installed.trust.toml"), installed);
        let chain = chain
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| {
                self.file(
                    &format!("rotation/{name}/candidate-{}.trust.toml", i + 1),
                    bytes,
                )
            })
            .collect();
        self.cases.push(Case {
            name,
            kind: "rotation",
            description,
            root: Some(root),
            chain,
            expect: expect.to_owned(),
            expect_version: Some(expect_version),
            ..Case::default()
        });
        self.cases.last_mut().unwrap()
    }

    fn manifest(&self) -> Vec<u8> {
        let mut out = String::from(
            "# mandate trust security vectors: each case names its files (relative to this\n\
             # directory) and the expected outcome, `accept` (bundles: fresh), `accept:in-grace`,\n\
             # `accept:past-grace` or `reject:<reason code>` (see docs/trust.md).\n\
             # Generated by `cargo test -p mandate --test vectors -- --ignored regenerate_vectors`\n\
             # from fixed seed keys; do not edit by hand.\n",
        );
        out.push_str(&format!("now = {}\n", fmt_time(NOW)));
        out.push_str(&format!("max_steps = {DEFAULT_MAX_STEPS}\n"));
        for case in &self.cases {
            out.push_str("\n[[case]]\n");
            out.push_str(&format!("name = {}\n", quote(case.name)));
            out.push_str(&format!("kind = {}\n", quote(case.kind)));
            out.push_str(&format!("description = {}\n", quote(case.description)));
            let mut field = |name: &str, value: &Option<String>| {
                if let Some(value) = value {
                    out.push_str(&format!("{name} = {}\n", quote(value)));
                }
            };
            field("root", &case.root);
            field("bundle", &case.bundle);
            field("key", &case.key);
            field("state", &case.state);
            if !case.chain.is_empty() {
                let items: Vec<String> = case.chain.iter().map(|c| quote(c)).collect();
                out.push_str(&format!("chain = [{}]\n", items.join(", ")));
            }
            if let Some(source) = case.source {
                out.push_str(&format!("source = {}\n", quote(source)));
            }
            if let Some(now) = case.now {
                out.push_str(&format!("now = {}\n", fmt_time(now)));
            }
            if let Some(max_steps) = case.max_steps {
                out.push_str(&format!("max_steps = {max_steps}\n"));
            }
            out.push_str(&format!("expect = {}\n", quote(&case.expect)));
            if let Some(version) = case.expect_version {
                out.push_str(&format!("expect_version = {version}\n"));
            }
        }
        out.into_bytes()
    }
}

fn generate() -> BTreeMap<String, Vec<u8>> {
    let mut g = Generator::default();
    let golden_payload = golden_policy().bytes();
    let golden_fingerprint = TrustRoot::verify_self(&golden_root(), NOW)
        .unwrap()
        .policy_keys_fingerprint();

    // Reference public keys of the fixed seeds.
    for (name, seed) in [
        ("root-1", R1),
        ("root-2", R2),
        ("root-3", R3),
        ("root-4", R4),
        ("root-5", R5),
        ("root-6", R6),
        ("policy-1", P1),
        ("policy-2", P2),
        ("policy-3", P3),
        ("unknown", UNKNOWN),
    ] {
        g.file(
            &format!("keys/seed/{name}.pub"),
            key(seed).public().to_file(name).into_bytes(),
        );
    }

    // ------------------------------------------------------------ bundles
    g.bundle_case(
        "golden",
        "policy bundle signed by 2 of the 3 policy keys (threshold 2)",
        golden_bundle(),
        "accept",
    );
    g.bundle_case(
        "all-policy-keys",
        "signed by all 3 policy keys",
        JsonEnvelope::policy(&golden_policy(), &[P1, P2, P3]).json(),
        "accept",
    );
    let root_body = golden_root_builder().body().unwrap();
    g.bundle_case(
        "payload-type-trust-root",
        "the trust root body and its valid root signatures lifted into an envelope of the trust payload type",
        JsonEnvelope::signed(TRUST_PAYLOAD_TYPE, root_body.as_bytes(), &[R1, R2]).json(),
        "reject:payload-type",
    );
    let mut relabelled = JsonEnvelope::signed(TRUST_PAYLOAD_TYPE, &golden_payload, &[P1, P2]);
    relabelled.payload_type = POLICY_PAYLOAD_TYPE.to_owned();
    g.bundle_case(
        "payload-type-relabelled",
        "signed under the trust payload type, then relabelled as policy: the signatures no longer verify",
        relabelled.json(),
        "reject:threshold",
    );
    g.bundle_case(
        "unknown-key",
        "one policy key and one key the trust root does not list",
        JsonEnvelope::policy(&golden_policy(), &[P1, UNKNOWN]).json(),
        "reject:threshold",
    );
    g.bundle_case(
        "wrong-role-key",
        "one policy key and one root key: root keys may not sign policy",
        JsonEnvelope::policy(&golden_policy(), &[P1, R1]).json(),
        "reject:threshold",
    );
    g.bundle_case(
        "threshold-minus-one",
        "one policy signature where two are required",
        JsonEnvelope::policy(&golden_policy(), &[P1]).json(),
        "reject:threshold",
    );
    g.bundle_case(
        "no-signatures",
        "an envelope with an empty signature list",
        JsonEnvelope::policy(&golden_policy(), &[]).json(),
        "reject:threshold",
    );
    g.bundle_case(
        "same-signature-twice",
        "the same policy signature twice counts once",
        JsonEnvelope::policy(&golden_policy(), &[P1, P1]).json(),
        "reject:threshold",
    );
    let mut same_key = JsonEnvelope::policy(&golden_policy(), &[P1, P1]);
    same_key.signatures[1].keyid = key(P2).id().to_string();
    g.bundle_case(
        "same-key-twice",
        "one key's signature twice under different key id hints counts once",
        same_key.json(),
        "reject:threshold",
    );
    let mut swapped_hints = JsonEnvelope::policy(&golden_policy(), &[P1, P2]);
    swapped_hints.signatures[0].keyid = key(P2).id().to_string();
    swapped_hints.signatures[1].keyid = key(P1).id().to_string();
    g.bundle_case(
        "wrong-key-id-hints",
        "key id hints swapped between the two signatures: hints are only hints",
        swapped_hints.json(),
        "accept",
    );
    let mut junk_hints = JsonEnvelope::policy(&golden_policy(), &[P1, P2]);
    junk_hints.signatures[0].keyid = "not-a-key-id".into();
    junk_hints.signatures[1].keyid = String::new();
    g.bundle_case(
        "junk-key-id-hints",
        "a malformed and an empty key id hint are tolerated",
        junk_hints.json(),
        "accept",
    );
    let mut high_s = JsonEnvelope::policy(&golden_policy(), &[P1, P2]);
    let sig: [u8; 64] = STANDARD
        .decode(&high_s.signatures[1].sig)
        .unwrap()
        .try_into()
        .unwrap();
    high_s.signatures[1].sig = b64(&s_plus_l(&sig));
    g.bundle_case(
        "non-canonical-signature-s",
        "the second signature re-encoded with s + L (s >= L): verify_strict refuses it, leaving one signature",
        high_s.json(),
        "reject:threshold",
    );
    let mut trailing_bits = JsonEnvelope::policy(&golden_policy(), &[P1, P2]);
    trailing_bits.signatures[0].sig = with_trailing_bits(&trailing_bits.signatures[0].sig);
    g.bundle_case(
        "non-canonical-base64-signature",
        "a signature whose base64 has non-zero trailing bits (decodes to the same bytes under a lax decoder)",
        trailing_bits.json(),
        "reject:envelope-base64",
    );
    let mut payload_bits = JsonEnvelope::policy(&golden_policy(), &[P1, P2]);
    payload_bits.payload = with_trailing_bits(&payload_bits.payload);
    g.bundle_case(
        "non-canonical-base64-payload",
        "a payload whose base64 has non-zero trailing bits",
        payload_bits.json(),
        "reject:envelope-base64",
    );
    let mut unpadded = JsonEnvelope::policy(&golden_policy(), &[P1, P2]);
    unpadded.payload = unpadded.payload.trim_end_matches('=').to_owned();
    g.bundle_case(
        "unpadded-base64-payload",
        "a payload without its base64 padding",
        unpadded.json(),
        "reject:envelope-base64",
    );
    let mut wrapped = JsonEnvelope::policy(&golden_policy(), &[P1, P2]);
    wrapped.payload.insert(76, '\n');
    g.bundle_case(
        "line-wrapped-base64-payload",
        "a payload with a line break inside its base64",
        wrapped.json(),
        "reject:envelope-base64",
    );
    let mut url = JsonEnvelope::policy(&golden_policy(), &[P1, P2]);
    let index = url
        .signatures
        .iter()
        .position(|s| s.sig.contains(['+', '/']))
        .expect("a signature with + or / in its base64");
    url.signatures[index].sig = url_safe(&url.signatures[index].sig);
    g.bundle_case(
        "url-safe-base64-signature",
        "a signature in the URL-safe base64 alphabet",
        url.json(),
        "reject:envelope-base64",
    );
    let mut garbage = golden_bundle();
    garbage.extend_from_slice(b"garbage\n");
    g.bundle_case(
        "trailing-garbage",
        "bytes after the JSON object",
        garbage,
        "reject:envelope-json",
    );
    let mut twice = golden_bundle();
    twice.extend_from_slice(&golden_bundle());
    g.bundle_case(
        "two-objects",
        "two JSON objects back to back",
        twice,
        "reject:envelope-json",
    );
    let evil = Policy {
        version: 8,
        ..golden_policy()
    };
    let good = JsonEnvelope::policy(&golden_policy(), &[P1, P2]);
    let duplicate_payload = format!(
        "{{\n  \"payloadType\": \"{POLICY_PAYLOAD_TYPE}\",\n  \"payload\": \"{}\",\n  \"payload\": \"{}\",\n  \"signatures\": {}\n}}\n",
        good.payload,
        b64(&evil.bytes()),
        serde_json::to_string(&good.signatures).unwrap()
    );
    g.bundle_case(
        "duplicate-json-key",
        "two payload fields: a parser keeping the last would read unsigned bytes",
        duplicate_payload.into_bytes(),
        "reject:envelope-json",
    );
    let duplicate_sig = format!(
        "{{\"payloadType\": \"{POLICY_PAYLOAD_TYPE}\", \"payload\": \"{}\", \"signatures\": [{{\"keyid\": \"{}\", \"sig\": \"{}\", \"sig\": \"{}\"}}, {{\"keyid\": \"{}\", \"sig\": \"{}\"}}]}}\n",
        good.payload,
        good.signatures[0].keyid,
        good.signatures[0].sig,
        good.signatures[1].sig,
        good.signatures[1].keyid,
        good.signatures[1].sig,
    );
    g.bundle_case(
        "duplicate-json-key-in-signature",
        "a signature object with two sig fields",
        duplicate_sig.into_bytes(),
        "reject:envelope-json",
    );
    let unknown_field = String::from_utf8(golden_bundle()).unwrap().replacen(
        "\"payload\":",
        "\"payloadEncoding\": \"base64\",\n  \"payload\":",
        1,
    );
    g.bundle_case(
        "unknown-json-field",
        "an envelope field mandate does not know",
        unknown_field.into_bytes(),
        "reject:envelope-json",
    );
    let duplicate_toml = String::from_utf8(golden_payload.clone()).unwrap().replacen(
        "version = 7\n",
        "version = 7\nversion = 8\n",
        1,
    );
    g.bundle_case(
        "duplicate-toml-key",
        "a properly signed payload whose TOML sets version twice",
        JsonEnvelope::signed(POLICY_PAYLOAD_TYPE, duplicate_toml.as_bytes(), &[P1, P2]).json(),
        "reject:policy-syntax",
    );
    g.bundle_case(
        "payload-not-toml",
        "properly signed bytes that are not TOML",
        JsonEnvelope::signed(POLICY_PAYLOAD_TYPE, b"\x00\x01 not toml [", &[P1, P2]).json(),
        "reject:policy-syntax",
    );
    g.bundle_case(
        "no-policy-header",
        "a signed payload without a [policy] table",
        JsonEnvelope::signed(
            POLICY_PAYLOAD_TYPE,
            b"[settings]\nsandbox.mode = \"read-only\"\n",
            &[P1, P2],
        )
        .json(),
        "reject:header-missing",
    );
    g.bundle_case(
        "incomplete-policy-header",
        "a signed header without issued_at",
        JsonEnvelope::policy(
            &Policy {
                issued_at: None,
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "reject:header-missing",
    );
    g.bundle_case(
        "header-description-contact",
        "a header with the documented description (several lines, non-ASCII) and contact fields",
        JsonEnvelope::policy(
            &Policy {
                extra: "description = \"\"\"\nBaseline for every laptop.\nÉquipe sécurité: see contact.\"\"\"\ncontact = \"security@acme.example\"\n",
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "accept",
    );
    g.bundle_case(
        "header-unknown-field",
        "a header with a field no reader knows (`descripton`, misspelt)",
        JsonEnvelope::policy(
            &Policy {
                extra: "descripton = \"Baseline\"\n",
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "reject:header-invalid",
    );
    g.bundle_case(
        "header-contact-two-lines",
        "a contact with a newline, which could forge a line in `sources`",
        JsonEnvelope::policy(
            &Policy {
                extra: "contact = \"security@acme.example\\nstatus: ok\"\n",
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "reject:header-invalid",
    );
    g.bundle_case(
        "expired-at-signing",
        "expires a day before issued_at: expired when it was signed",
        JsonEnvelope::policy(
            &Policy {
                expires: ISSUED - Duration::days(1),
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "reject:header-invalid",
    );

    // Rollback.
    let state = g.state(
        "version-8",
        rollback_state(8, b"version 8", golden_fingerprint, ISSUED, NOW),
    );
    g.bundle_case(
        "rollback-lower-version",
        "version 7 after version 8 was applied",
        golden_bundle(),
        "reject:rollback-version",
    )
    .state = Some(state);
    let state = g.state(
        "version-7-other",
        rollback_state(7, b"other bytes", golden_fingerprint, ISSUED, NOW),
    );
    g.bundle_case(
        "rollback-same-version-other-bytes",
        "version 7 with other payload bytes than the version 7 applied",
        golden_bundle(),
        "reject:rollback-same-version",
    )
    .state = Some(state);
    let state = g.state(
        "version-7-same",
        rollback_state(7, &golden_payload, golden_fingerprint, ISSUED, NOW),
    );
    g.bundle_case(
        "rollback-same-version-same-bytes",
        "the version 7 already applied, seen again",
        golden_bundle(),
        "accept",
    )
    .state = Some(state);
    let state = g.state(
        "seen-tomorrow",
        rollback_state(
            6,
            b"version 6",
            golden_fingerprint,
            ISSUED,
            NOW + Duration::days(1),
        ),
    );
    g.bundle_case(
        "clock-stepped-back",
        "the clock reads a day before a time already seen",
        golden_bundle(),
        "reject:clock-stepped-back",
    )
    .state = Some(state);
    let state = g.state(
        "seen-in-4-minutes",
        rollback_state(
            6,
            b"version 6",
            golden_fingerprint,
            ISSUED,
            NOW + Duration::minutes(4),
        ),
    );
    g.bundle_case(
        "clock-within-tolerance",
        "the clock reads 4 minutes before a time already seen (tolerance 5 minutes)",
        golden_bundle(),
        "accept",
    )
    .state = Some(state);
    g.bundle_case(
        "issued-far-future",
        "issued_at two hours after now",
        JsonEnvelope::policy(
            &Policy {
                issued_at: Some(NOW + Duration::hours(2)),
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "reject:issued-in-future",
    );
    let state = g.state(
        "compromised-key-version",
        rollback_state(
            1_000_000,
            b"signed with a compromised key",
            Sha256::of(b"old policy key set"),
            datetime!(2026-04-01 00:00 UTC),
            NOW,
        ),
    );
    g.bundle_case(
        "fast-forward-recovery",
        "after a policy key rotation the recorded huge version no longer binds",
        golden_bundle(),
        "accept",
    )
    .state = Some(state);
    let state = g.state(
        "other-keys-issued-later",
        rollback_state(
            9,
            b"version 9 under the old keys",
            Sha256::of(b"old policy key set"),
            datetime!(2026-05-15 00:00 UTC),
            NOW,
        ),
    );
    g.bundle_case(
        "replay-across-key-rotation",
        "after a policy key rotation, a bundle issued before the one applied is still refused",
        golden_bundle(),
        "reject:rollback-issued-earlier",
    )
    .state = Some(state);

    // Expiry.
    g.bundle_case(
        "expired-within-grace",
        "expired a day ago; offline_grace is 7 days",
        JsonEnvelope::policy(
            &Policy {
                expires: NOW - Duration::days(1),
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "accept:in-grace",
    );
    g.bundle_case(
        "expired-past-grace",
        "expired 8 days ago; offline_grace is 7 days",
        JsonEnvelope::policy(
            &Policy {
                expires: NOW - Duration::days(8),
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "accept:past-grace",
    );
    g.bundle_case(
        "root-expired",
        "the golden bundle checked after the trust root expired",
        golden_bundle(),
        "reject:root-expired",
    )
    .now = Some(ROOT_EXPIRES + Duration::days(1));

    // Bindings.
    g.bundle_case(
        "org-replay",
        "a bundle for org globex, signed by the same policy keys, replayed to acme",
        JsonEnvelope::policy(
            &Policy {
                org: "globex",
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "reject:org-mismatch",
    );
    g.bundle_case(
        "channel-replay-mdm-as-cloud",
        "a bundle issued for the mdm channel served as the cloud bundle",
        JsonEnvelope::policy(
            &Policy {
                channel: "mdm",
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "reject:channel-mismatch",
    );
    g.bundle_case(
        "channel-replay-cloud-as-system",
        "the golden cloud bundle dropped into policy.d",
        golden_bundle(),
        "reject:channel-mismatch",
    )
    .source = Some("system");
    g.bundle_case(
        "mdm-bundle-in-mdm-user",
        "an mdm channel bundle in the per-user MDM source",
        JsonEnvelope::policy(
            &Policy {
                channel: "mdm",
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "accept",
    )
    .source = Some("mdm-user");
    g.bundle_case(
        "cloud-bundle-id",
        "a cloud bundle whose id is not the one the trust root names",
        JsonEnvelope::policy(
            &Policy {
                id: "acme-other",
                ..golden_policy()
            },
            &[P1, P2],
        )
        .json(),
        "reject:bundle-id-mismatch",
    );

    // ------------------------------------------------------------ roots
    g.root_case(
        "golden",
        "version 1, root keys 2 of 3, policy keys 2 of 3",
        golden_root(),
        "accept",
    );
    let r1 = key(R1);
    let r2 = key(R2);
    let mismatched = root_body.replacen(&r1.public().to_base64(), &key(R4).public().to_base64(), 1);
    g.root_case(
        "key-id-mismatch",
        "the table [keys.<id of root-1>] holds root-4's key; signed by root-2 and root-3",
        raw_root(&mismatched, TRUST_PAYLOAD_TYPE, &[R2, R3]),
        "reject:key-id-mismatch",
    );
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak_id = mandate::trust::keys::KeyId::of(&identity);
    let p3 = key(P3);
    let weak = root_body
        .replacen(&p3.public().to_base64(), &b64(&identity), 1)
        .replace(p3.id().as_str(), weak_id.as_str());
    g.root_case(
        "small-order-key",
        "policy-3 replaced by the identity point (small order) under its correct key id",
        raw_root(&weak, TRUST_PAYLOAD_TYPE, &[R1, R2]),
        "reject:weak-key",
    );
    let noncanonical_key = root_body.replacen(
        &r1.public().to_base64(),
        &with_trailing_bits(&r1.public().to_base64()),
        1,
    );
    g.root_case(
        "non-canonical-base64-key",
        "root-1's public key with non-zero base64 trailing bits",
        raw_root(&noncanonical_key, TRUST_PAYLOAD_TYPE, &[R1, R2]),
        "reject:key-encoding",
    );
    let url_key = [R1, R2, R3, P1, P2, P3]
        .into_iter()
        .map(|s| key(s).public().to_base64())
        .find(|b| b.contains(['+', '/']))
        .expect("a key with + or / in its base64");
    g.root_case(
        "url-safe-base64-key",
        "a public key in the URL-safe base64 alphabet",
        raw_root(
            &root_body.replacen(&url_key, &url_safe(&url_key), 1),
            TRUST_PAYLOAD_TYPE,
            &[R1, R2],
        ),
        "reject:key-encoding",
    );
    g.root_case(
        "duplicate-toml-key",
        "version set twice in the body",
        raw_root(
            &root_body.replacen("version = 1\n", "version = 1\nversion = 2\n", 1),
            TRUST_PAYLOAD_TYPE,
            &[R1, R2],
        ),
        "reject:root-syntax",
    );
    g.root_case(
        "unsigned",
        "a body without the signature marker",
        root_body.clone().into_bytes(),
        "reject:root-signature-block",
    );
    g.root_case(
        "threshold-minus-one",
        "one root signature where two are required",
        signed_root(&golden_root_builder(), &[R1]),
        "reject:root-threshold",
    );
    g.root_case(
        "same-key-twice",
        "root-1's signature twice",
        raw_root(&root_body, TRUST_PAYLOAD_TYPE, &[R1, R1]),
        "reject:root-threshold",
    );
    g.root_case(
        "signed-as-policy",
        "root signatures over PAE(policy payload type, body): a bundle signature cannot sign a root",
        raw_root(&root_body, POLICY_PAYLOAD_TYPE, &[R1, R2]),
        "reject:root-threshold",
    );
    g.root_case(
        "signed-by-policy-keys",
        "signed by two policy keys instead of root keys",
        raw_root(&root_body, TRUST_PAYLOAD_TYPE, &[P1, P2]),
        "reject:root-threshold",
    );
    let edited = String::from_utf8(golden_root()).unwrap().replacen(
        "offline_grace = \"7d\"",
        "offline_grace = \"700d\"",
        1,
    );
    g.root_case(
        "edited-after-signing",
        "offline_grace changed after signing",
        edited.into_bytes(),
        "reject:root-threshold",
    );
    let mut appended = golden_root();
    appended.extend_from_slice(b"[roles.policy]\nthreshold = 1\n");
    g.root_case(
        "content-after-signatures",
        "a table appended below the signatures, outside what they cover",
        appended,
        "reject:root-signature-block",
    );
    g.root_case(
        "expired",
        "the golden root checked after it expired",
        golden_root(),
        "reject:root-expired",
    )
    .now = Some(ROOT_EXPIRES);
    g.root_case(
        "threshold-zero",
        "a policy threshold of zero",
        raw_root(
            &root_body.replacen(
                "[roles.policy]\nthreshold = 2",
                "[roles.policy]\nthreshold = 0",
                1,
            ),
            TRUST_PAYLOAD_TYPE,
            &[R1, R2],
        ),
        "reject:root-invalid",
    );
    g.root_case(
        "threshold-above-keys",
        "a root threshold of 4 with 3 keys",
        raw_root(
            &root_body.replacen("threshold = 2", "threshold = 4", 1),
            TRUST_PAYLOAD_TYPE,
            &[R1, R2],
        ),
        "reject:root-invalid",
    );
    let stranger = key(UNKNOWN);
    g.root_case(
        "role-names-unlisted-key",
        "the policy role names a key id missing from [keys]",
        raw_root(
            &root_body.replacen(
                &format!("\"{}\"", key(P3).id()),
                &format!("\"{}\"", stranger.id()),
                1,
            ),
            TRUST_PAYLOAD_TYPE,
            &[R1, R2],
        ),
        "reject:root-invalid",
    );

    // ------------------------------------------------------------ public keys
    g.key_case(
        "good",
        "a public key file as `mandate keys generate` writes it",
        r1.public().to_file("root-1").into_bytes(),
        "accept",
    );
    let tag = mandate::trust::keys::PUBLIC_KEY_TAG;
    g.key_case(
        "small-order-identity",
        "the identity point (order 1)",
        format!("{tag} {}\n", b64(&identity)).into_bytes(),
        "reject:weak-key",
    );
    let order8: [u8; 32] = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ];
    g.key_case(
        "small-order-8",
        "a point of order 8",
        format!("{tag} {}\n", b64(&order8)).into_bytes(),
        "reject:weak-key",
    );
    let off_curve = (2u8..=255)
        .map(|b| {
            let mut bytes = [0u8; 32];
            bytes[0] = b;
            bytes
        })
        .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
        .unwrap();
    g.key_case(
        "not-on-curve",
        "32 bytes that decode to no curve point",
        format!("{tag} {}\n", b64(&off_curve)).into_bytes(),
        "reject:key-encoding",
    );
    g.key_case(
        "non-canonical-base64",
        "non-zero base64 trailing bits",
        format!("{tag} {}\n", with_trailing_bits(&r1.public().to_base64())).into_bytes(),
        "reject:key-encoding",
    );
    g.key_case(
        "url-safe-base64",
        "the URL-safe base64 alphabet",
        format!("{tag} {}\n", url_safe(&url_key)).into_bytes(),
        "reject:key-encoding",
    );
    let spaced = r2.public().to_base64();
    g.key_case(
        "whitespace-inside",
        "a space inside the base64 value",
        format!("{tag} {} {}\n", &spaced[..20], &spaced[20..]).into_bytes(),
        "reject:key-encoding",
    );
    g.key_case(
        "trailing-garbage",
        "a second line after the key line",
        format!("{tag} {}\nmore\n", r2.public().to_base64()).into_bytes(),
        "reject:key-format",
    );
    g.key_case(
        "secret-key-file",
        "a secret key file where a public key is expected",
        format!(
            "{} {}\n",
            mandate::trust::keys::SECRET_KEY_TAG,
            b64(&[R1; 32])
        )
        .into_bytes(),
        "reject:key-format",
    );

    // ------------------------------------------------------------ rotation
    let one_of_one = signed_root(&root_builder(1, &[R1], 1), &[R1]);
    g.rotation_case(
        "1-of-1-rotated",
        "root-1 (1 of 1) hands over to root-4 (1 of 1), signed by both",
        one_of_one.clone(),
        vec![signed_root(&root_builder(2, &[R4], 1), &[R1, R4])],
        "accept",
        2,
    );
    let two_of_three = golden_root();
    g.rotation_case(
        "2-of-3-one-key-rotated",
        "root-3 replaced by root-4; signed by root-1 and root-2, a threshold of both versions",
        two_of_three.clone(),
        vec![signed_root(&root_builder(2, &[R1, R2, R4], 2), &[R1, R2])],
        "accept",
        2,
    );
    g.rotation_case(
        "2-of-3-all-keys-rotated",
        "root-1..3 replaced by root-4..6; signed by two old and two new keys",
        two_of_three.clone(),
        vec![signed_root(
            &root_builder(2, &[R4, R5, R6], 2),
            &[R1, R2, R4, R5],
        )],
        "accept",
        2,
    );
    g.rotation_case(
        "2-of-3-all-keys-rotated-one-old-signer",
        "all keys rotated but only one old key signed",
        two_of_three.clone(),
        vec![signed_root(
            &root_builder(2, &[R4, R5, R6], 2),
            &[R1, R4, R5],
        )],
        "reject:root-not-signed-by-previous",
        1,
    );
    g.rotation_case(
        "2-of-3-all-keys-rotated-one-new-signer",
        "all keys rotated but only one new key signed",
        two_of_three.clone(),
        vec![signed_root(
            &root_builder(2, &[R4, R5, R6], 2),
            &[R1, R2, R4],
        )],
        "reject:root-not-signed-by-new",
        1,
    );
    g.rotation_case(
        "threshold-raised",
        "1 of 1 raised to 3 of 3, signed by all three",
        one_of_one.clone(),
        vec![signed_root(
            &root_builder(2, &[R1, R2, R3], 3),
            &[R1, R2, R3],
        )],
        "accept",
        2,
    );
    g.rotation_case(
        "threshold-raised-short",
        "1 of 1 raised to 3 of 3, signed by two",
        one_of_one.clone(),
        vec![signed_root(&root_builder(2, &[R1, R2, R3], 3), &[R1, R2])],
        "reject:root-not-signed-by-new",
        1,
    );
    let three_of_three = signed_root(&root_builder(1, &[R1, R2, R3], 3), &[R1, R2, R3]);
    g.rotation_case(
        "threshold-lowered",
        "3 of 3 lowered to 1 of 3, signed by all three",
        three_of_three.clone(),
        vec![signed_root(
            &root_builder(2, &[R1, R2, R3], 1),
            &[R1, R2, R3],
        )],
        "accept",
        2,
    );
    g.rotation_case(
        "threshold-lowered-short",
        "3 of 3 lowered to 1 of 3, signed by one: the old threshold still applies",
        three_of_three,
        vec![signed_root(&root_builder(2, &[R1, R2, R3], 1), &[R1])],
        "reject:root-not-signed-by-previous",
        1,
    );
    g.rotation_case(
        "not-signed-by-old-keys",
        "version 2 signed only by its own new key",
        one_of_one.clone(),
        vec![signed_root(&root_builder(2, &[R4], 1), &[R4])],
        "reject:root-not-signed-by-previous",
        1,
    );
    g.rotation_case(
        "not-signed-by-new-keys",
        "version 2 signed only by the old key it removes",
        one_of_one.clone(),
        vec![signed_root(&root_builder(2, &[R4], 1), &[R1])],
        "reject:root-not-signed-by-new",
        1,
    );
    g.rotation_case(
        "skips-a-version",
        "version 3 offered after version 1",
        one_of_one.clone(),
        vec![signed_root(&root_builder(3, &[R4], 1), &[R1, R4])],
        "reject:root-version",
        1,
    );
    g.rotation_case(
        "same-version",
        "another version 1, validly signed",
        one_of_one.clone(),
        vec![signed_root(
            &root_builder(1, &[R1], 1).offline_grace(Duration::days(30)),
            &[R1],
        )],
        "reject:root-version",
        1,
    );
    let v2 = signed_root(&root_builder(2, &[R4], 1), &[R1, R4]);
    g.rotation_case(
        "two-steps",
        "versions 2 and 3 in order",
        one_of_one.clone(),
        vec![
            v2.clone(),
            signed_root(&root_builder(3, &[R5], 1), &[R4, R5]),
        ],
        "accept",
        3,
    );
    g.rotation_case(
        "revoked-key-signs-next",
        "after root-1 was rotated out in version 2, it signs version 3",
        one_of_one.clone(),
        vec![
            v2.clone(),
            signed_root(&root_builder(3, &[R5], 1), &[R1, R5]),
        ],
        "reject:root-not-signed-by-previous",
        2,
    );
    g.rotation_case(
        "too-many-steps",
        "two rotations offered with max_steps = 1",
        one_of_one.clone(),
        vec![v2, signed_root(&root_builder(3, &[R5], 1), &[R4, R5])],
        "reject:root-chain-too-long",
        2,
    )
    .max_steps = Some(1);
    let globex =
        root_builder(2, &[R1], 1)
            .body()
            .unwrap()
            .replacen("org = \"acme\"", "org = \"globex\"", 1);
    g.rotation_case(
        "org-changed",
        "version 2 names another org",
        one_of_one,
        vec![sign_body(&globex, &[R1])],
        "reject:root-org-changed",
        1,
    );

    let manifest = g.manifest();
    g.files.insert("manifest.toml".into(), manifest);
    g.files
}

fn on_disk(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// Writes the vectors. Run after a deliberate format change:
/// `cargo test -p mandate --test vectors -- --ignored regenerate_vectors`.
#[test]
#[ignore = "rewrites tests/vectors/; run by hand after a format change"]
fn regenerate_vectors() {
    let dir = vectors_dir();
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    for (path, bytes) in generate() {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
    }
}

#[test]
fn vectors_are_fresh() {
    let generated = generate();
    let disk = on_disk(&vectors_dir());
    let missing: Vec<_> = generated
        .keys()
        .filter(|k| !disk.contains_key(*k))
        .collect();
    let extra: Vec<_> = disk
        .keys()
        .filter(|k| !generated.contains_key(*k))
        .collect();
    let changed: Vec<_> = generated
        .iter()
        .filter(|(k, v)| disk.get(*k).is_some_and(|d| d != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && changed.is_empty(),
        "tests/vectors is stale (missing {missing:?}, extra {extra:?}, changed {changed:?}); \
         regenerate with `cargo test -p mandate --test vectors -- --ignored regenerate_vectors`"
    );
}

// ---------------------------------------------------------------- runner

fn outcome<T>(result: Result<T, &'static str>, accept: impl FnOnce(T) -> String) -> String {
    match result {
        Ok(value) => accept(value),
        Err(code) => format!("reject:{code}"),
    }
}

fn run_case(
    dir: &Path,
    case: &toml_edit::Table,
    default_now: OffsetDateTime,
    default_steps: usize,
) -> (String, Option<u64>) {
    let read = |field: &str| fs::read(dir.join(case[field].as_str().unwrap())).unwrap();
    let now = case
        .get("now")
        .and_then(|v| v.as_datetime())
        .map(|d| {
            OffsetDateTime::parse(
                &d.to_string(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        })
        .unwrap_or(default_now);
    match case["kind"].as_str().unwrap() {
        "bundle" => {
            let root = TrustRoot::verify_self(&read("root"), NOW)
                .expect("the root of a bundle case verifies");
            let state = match case.get("state") {
                Some(_) => RollbackState::parse(&read("state")).unwrap(),
                None => RollbackState::new(),
            };
            let source = ManagedSource::from_name(case["source"].as_str().unwrap()).unwrap();
            let result =
                verify_bundle(&read("bundle"), &root, source, now, &state).map_err(|e| e.code());
            let text = outcome(result, |b| match b.expiry {
                Expiry::Fresh { .. } => "accept".into(),
                Expiry::InGrace { .. } => "accept:in-grace".into(),
                Expiry::PastGrace { .. } => "accept:past-grace".into(),
            });
            (text, None)
        }
        "root" => {
            let result = TrustRoot::verify_self(&read("root"), now).map_err(|e| e.code());
            (outcome(result, |_| "accept".into()), None)
        }
        "public-key" => {
            let result = PublicKey::parse_file(&read("key")).map_err(|e| e.code());
            (outcome(result, |_| "accept".into()), None)
        }
        "rotation" => {
            let installed =
                TrustRoot::verify_self(&read("root"), now).expect("the installed root verifies");
            let chain: Vec<Vec<u8>> = case["chain"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| fs::read(dir.join(p.as_str().unwrap())).unwrap())
                .collect();
            let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
            let steps = case
                .get("max_steps")
                .and_then(|v| v.as_integer())
                .map_or(default_steps, |v| usize::try_from(v).unwrap());
            match walk_chain(&installed, &refs, steps, MAX_ROOT_BYTES) {
                Ok(root) => ("accept".into(), Some(root.version())),
                Err(error) => (
                    format!("reject:{}", error.code()),
                    Some(error.last_verified.version()),
                ),
            }
        }
        other => panic!("unknown case kind {other}"),
    }
}

#[test]
fn vectors_match_the_manifest() {
    let dir = vectors_dir();
    let text = fs::read_to_string(dir.join("manifest.toml")).unwrap();
    let manifest: toml_edit::DocumentMut = text.parse().unwrap();
    let now = OffsetDateTime::parse(
        &manifest["now"].as_datetime().unwrap().to_string(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let steps = usize::try_from(manifest["max_steps"].as_integer().unwrap()).unwrap();
    let cases = manifest["case"].as_array_of_tables().unwrap();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for case in cases {
        let name = format!(
            "{}/{}",
            case["kind"].as_str().unwrap(),
            case["name"].as_str().unwrap()
        );
        assert!(names.insert(name.clone()), "duplicate case {name}");
        let expect = case["expect"].as_str().unwrap();
        let expect_version = case
            .get("expect_version")
            .and_then(|v| v.as_integer())
            .map(|v| v as u64);
        let (got, version) = run_case(&dir, case, now, steps);
        if got != expect || (expect_version.is_some() && version != expect_version) {
            failures.push(format!(
                "{name}: expected {expect} (version {expect_version:?}), got {got} (version {version:?})"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------- mutation

struct GoldenParts {
    root: TrustRoot,
    payload_type: String,
    payload: Vec<u8>,
    sigs: Vec<[u8; 64]>,
    hints: Vec<String>,
}

static GOLDEN: std::sync::LazyLock<GoldenParts> = std::sync::LazyLock::new(|| {
    let envelope = JsonEnvelope::policy(&golden_policy(), &[P1, P2]);
    GoldenParts {
        root: TrustRoot::verify_self(&golden_root(), NOW).unwrap(),
        payload_type: envelope.payload_type.clone(),
        payload: golden_policy().bytes(),
        sigs: envelope
            .signatures
            .iter()
            .map(|s| STANDARD.decode(&s.sig).unwrap().try_into().unwrap())
            .collect(),
        hints: envelope
            .signatures
            .iter()
            .map(|s| s.keyid.clone())
            .collect(),
    }
});

fn rebuild(payload_type: &str, payload: &[u8], sigs: &[[u8; 64]], hints: &[String]) -> Vec<u8> {
    JsonEnvelope {
        payload_type: payload_type.to_owned(),
        payload: b64(payload),
        signatures: sigs
            .iter()
            .zip(hints)
            .map(|(s, h)| JsonSignature {
                keyid: h.clone(),
                sig: b64(s),
            })
            .collect(),
    }
    .json()
}

#[test]
fn unmutated_golden_parts_verify() {
    let g = &*GOLDEN;
    let bytes = rebuild(&g.payload_type, &g.payload, &g.sigs, &g.hints);
    assert_eq!(bytes, golden_bundle());
    assert!(
        verify_bundle(
            &bytes,
            &g.root,
            ManagedSource::Cloud,
            NOW,
            &RollbackState::new()
        )
        .is_ok()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Flipping any bits of any single byte of the payload, the payload type
    /// or a signature of the golden bundle gets it refused by signature
    /// verification (the payload is never parsed).
    #[test]
    fn any_single_byte_flip_is_refused(field in 0usize..4, index in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let g = &*GOLDEN;
        let (mut payload_type, mut payload, mut sigs) = (g.payload_type.clone().into_bytes(), g.payload.clone(), g.sigs.clone());
        match field {
            0 => { let i = index.index(payload.len()); payload[i] ^= mask; }
            1 => { let i = index.index(payload_type.len()); payload_type[i] ^= mask; }
            n => { let i = index.index(64); sigs[n - 2][i] ^= mask; }
        }
        // JSON strings carry only UTF-8: a type flipped out of UTF-8 cannot
        // even be written as an envelope, so there is nothing to check.
        let Ok(payload_type) = String::from_utf8(payload_type) else {
            return Ok(());
        };
        let bytes = rebuild(&payload_type, &payload, &sigs, &g.hints);
        let policy = g.root.role(RoleName::Policy);
        let result = Envelope::parse(&bytes).unwrap().verify(POLICY_PAYLOAD_TYPE, &g.root.role_keys(RoleName::Policy), policy.threshold);
        prop_assert!(
            matches!(result, Err(EnvelopeError::Threshold(_) | EnvelopeError::PayloadType { .. })),
            "field {} mask {:#04x}: {:?}", field, mask, result
        );
    }
}
