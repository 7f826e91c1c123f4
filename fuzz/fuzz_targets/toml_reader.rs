//! The fast TOML reader against `toml`: on any text, whatever the reader
//! accepts it reads as `toml` does (the tree, every key's and list
//! element's location, the policy header), and it accepts nothing `toml`
//! refuses; with tokens handed to the grammar at every line end outside
//! brackets, and in the chunks used outside tests.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for chunk in [0, 4096] {
        if let Err(e) = mandate::document::compare_readers(text, chunk) {
            panic!("{text:?}: {e}");
        }
    }
});
