//! Managed preferences plists (XML or binary): never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mandate::{Schema, SourceKind};

fuzz_target!(|data: &[u8]| {
    let _ = mandate::mdm::read::read_managed_plist(Schema::bundled(), SourceKind::Mdm, "fuzz.plist", data);
});
