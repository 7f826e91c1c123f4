//! URLs and hosts: any text normalises to a host or a reason, never a panic;
//! normalising is idempotent; a host the denied list names is denied
//! whatever the case or a trailing dot.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mandate::decide::{Action, Decider, Verdict};
use mandate::kind::domain;
use mandate::{Layer, Schema, SourceKind};

fn decider() -> &'static Decider {
    static D: OnceLock<Decider> = OnceLock::new();
    D.get_or_init(|| {
        let schema = Schema::bundled();
        let layer = Layer::parse_policy(
            schema,
            SourceKind::System,
            "fuzz.toml",
            "[settings]\nnetwork.denied_domains = [\"pastebin.com\", \"127.0.0.1\"]\nnetwork.unknown_domains = \"allow\"\n",
        )
        .expect("the fuzz policy parses");
        mandate::resolve(schema, vec![layer]).decider(&Default::default())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let d = decider().decide(&Action::Url(text.to_owned()), None);
    if let Ok(host) = domain::host(text) {
        assert_eq!(domain::host(&host).as_deref(), Ok(host.as_str()), "{text:?}");
        if host == "pastebin.com" || host == "127.0.0.1" {
            assert_eq!(d.decision, Verdict::Deny, "{text:?}");
        }
    } else if !text.trim().starts_with("file://") {
        // A `file://` URL is judged as a read of its path, not as a host.
        assert_ne!(d.decision, Verdict::Allow, "{text:?}");
    }
});
