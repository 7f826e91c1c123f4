//! Shell strings: any text parses into simple commands or a located syntax
//! error, never a panic; a decision on it is made, and a string that does not
//! parse is never allowed.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mandate::decide::{Action, Decider, Verdict, shell};
use mandate::{Layer, Schema, SourceKind};

fn decider() -> &'static Decider {
    static D: OnceLock<Decider> = OnceLock::new();
    D.get_or_init(|| {
        let schema = Schema::bundled();
        let layer = Layer::parse_policy(
            schema,
            SourceKind::System,
            "fuzz.toml",
            "[settings]\ncommands.rules = [{ pattern = [\"rm\", \"-rf\"], decision = \"forbidden\" }, { pattern = [\"ls\"], decision = \"allow\" }]\n",
        )
        .expect("the fuzz policy parses");
        mandate::resolve(schema, vec![layer]).decider(&Default::default())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = shell::parse(text);
    if let Err(e) = &parsed {
        assert!(e.offset <= text.chars().count());
    }
    let d = decider().decide(&Action::Shell(text.to_owned()), Some("/work"));
    if parsed.is_err() {
        assert_ne!(d.decision, Verdict::Allow, "{text:?}");
    }
    // Anything containing the forbidden command as plain words stays denied.
    let wrapped = format!("{text}\nrm -rf /");
    if shell::parse(&wrapped).is_ok() {
        assert_eq!(decider().decide(&Action::Shell(wrapped), None).decision, Verdict::Deny);
    }
});
