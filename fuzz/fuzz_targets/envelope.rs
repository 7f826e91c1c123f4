//! Bundle envelopes: parsing and verification never panic, and nothing but
//! a correctly signed payload is ever returned.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mandate::trust::envelope::{Envelope, POLICY_PAYLOAD_TYPE};
use mandate::trust::keys::SecretKey;

fuzz_target!(|data: &[u8]| {
    let key = SecretKey::from_seed(&[7; 32]);
    if let Ok(envelope) = Envelope::parse(data) {
        // A fuzzer cannot forge an ed25519 signature: verification must fail
        // unless the input is a re-encoding of a genuinely signed envelope.
        if let Ok(verified) = envelope.verify(POLICY_PAYLOAD_TYPE, &[key.public()], 1) {
            let again = Envelope::sign(POLICY_PAYLOAD_TYPE, &verified.payload, &[&key]);
            assert!(again.verify(POLICY_PAYLOAD_TYPE, &[key.public()], 1).is_ok());
        }
        let _ = envelope.to_json();
    }
});
