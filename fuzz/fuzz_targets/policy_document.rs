//! Policy documents: any bytes give a layer or located problems, never a
//! panic; a layer that parses resolves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mandate::{Layer, Schema, SourceKind};

fuzz_target!(|data: &[u8]| {
    let schema = Schema::bundled();
    let _ = mandate::trust::header::PolicyHeader::parse(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Layer::parse_policy(schema, SourceKind::System, "fuzz.toml", text) {
        Ok(layer) => {
            let effective = mandate::resolve(schema, vec![layer]);
            assert!(effective.digest.starts_with("sha256:"));
        }
        Err(errors) => assert!(!errors.0.is_empty()),
    }
    let _ = Layer::parse_settings(schema, SourceKind::User, "fuzz.toml", text);
});
