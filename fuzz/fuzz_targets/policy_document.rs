//! Policy documents: any bytes give a layer or located problems, never a
//! panic; a layer that parses resolves. The `[policy]` header has one
//! reader: a document whose header it refuses never becomes a layer, and a
//! layer's header is the one it read. Positions count characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mandate::{Layer, Schema, SourceKind};

fuzz_target!(|data: &[u8]| {
    let schema = Schema::bundled();
    let header = mandate::trust::header::PolicyHeader::parse(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Every char boundary: the one line/column computation agrees with
    // counting characters directly.
    let index = mandate::document::LineIndex::new(text);
    for (offset, _) in text.char_indices().step_by(7).take(64) {
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[start..].chars().count() + 1;
        assert_eq!(index.position(offset), (line as u32, column as u32));
    }
    match Layer::parse_policy(schema, SourceKind::System, "fuzz.toml", text) {
        Ok(layer) => {
            let header = header.expect("a document the layer accepts has a header the header reader accepts");
            assert_eq!(
                layer.policy.as_ref().and_then(|p| p.id.clone()),
                header.map(|h| h.id)
            );
            let effective = mandate::resolve(schema, vec![layer]);
            assert!(effective.digest.starts_with("sha256:"));
        }
        Err(errors) => assert!(!errors.0.is_empty()),
    }
    let _ = Layer::parse_settings(schema, SourceKind::User, "fuzz.toml", text);
});
