//! Trust roots: verification of arbitrary bytes, alone and as a rotation,
//! never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mandate::trust::root::{TrustRoot, TrustRootBuilder};
use mandate::trust::keys::SecretKey;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let _ = TrustRoot::verify_self(data, now);
    let key = SecretKey::from_seed(&[3; 32]);
    let body = TrustRootBuilder::new("acme", now + time::Duration::days(365))
        .root_keys(vec![key.public().clone()], 1)
        .policy_keys(vec![key.public().clone()], 1)
        .body();
    if let Ok(body) = body
        && let Ok(file) = TrustRoot::sign(&body, &[&key])
        && let Ok(root) = TrustRoot::verify_self(&file, now)
    {
        let _ = root.verify_rotation(data);
    }
});
