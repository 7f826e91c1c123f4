//! Machines that grow: generated policy documents for the growth benchmark
//! (`benches/scale.rs`) and the large-input test (`tests/scale.rs`).
//!
//! Every case is deterministic text, built in memory: managed policy
//! documents (`[policy]`, `[settings]`, `[requirements]`) and a user config,
//! each of a size set by `n`.

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::fmt::Write as _;

use mandate::resolve::Stack;
use mandate::{Layer, Schema, SourceKind};

/// One generated document.
#[derive(Clone, Debug)]
pub struct Doc {
    pub source: SourceKind,
    pub origin: String,
    pub rank: u32,
    pub text: String,
}

impl Doc {
    fn system(i: usize, text: String) -> Doc {
        Doc {
            source: SourceKind::System,
            origin: format!("/etc/mandate/policy.d/{i:05}-policy.toml"),
            rank: i as u32 + 1,
            text,
        }
    }

    fn user(text: String) -> Doc {
        Doc {
            source: SourceKind::User,
            origin: "/home/ana/.config/mandate/config.toml".into(),
            rank: 0,
            text,
        }
    }

    /// The document as a layer, as the loader would read it.
    pub fn layer(&self, schema: &Schema) -> Layer {
        let mut layer = if self.source.is_managed() {
            Layer::parse_policy(schema, self.source, &self.origin, &self.text)
        } else {
            Layer::parse_settings(schema, self.source, &self.origin, &self.text)
        }
        .unwrap_or_else(|e| {
            panic!(
                "{}: the generated document does not parse:\n{e}",
                self.origin
            )
        });
        layer.rank = self.rank;
        layer
    }
}

/// A `[policy]` header; complete enough to be signed for the system channel.
pub fn header(id: &str) -> String {
    format!(
        "[policy]\norg = \"acme\"\nchannel = \"system\"\nid = \"{id}\"\nversion = 1\nissued_at = 2026-01-01T00:00:00Z\nexpires = 2099-01-01T00:00:00Z\n\n"
    )
}

/// `n` small files in `policy.d/`, each with a setting and two requirements
/// (one intersecting across files, one adding to a union list).
pub fn files(n: usize) -> Vec<Doc> {
    (0..n)
        .map(|i| {
            let mut t = header(&format!("p{i}"));
            t.push_str("[settings]\n\"sandbox.mode\" = \"read-only\"\n\n[requirements]\n");
            let _ = writeln!(
                t,
                "\"approvals.policy\" = {{ allowed = [\"untrusted\", \"on-request\"] }}"
            );
            let _ = writeln!(
                t,
                "\"network.denied_domains\" = {{ includes = [\"bad{i}.example.com\"] }}"
            );
            Doc::system(i, t)
        })
        .collect()
}

fn rule(t: &mut String, who: &str, i: usize) {
    let _ = writeln!(
        t,
        "  {{ pattern = [\"{who}tool{}\", \"sub{i}\"], decision = \"{}\" }},",
        i % 101,
        ["allow", "prompt", "forbidden"][i % 3]
    );
}

/// `n` command rules proposed by a managed file and `n` by the user
/// (`commands.rules` merges by union).
pub fn rules(n: usize) -> Vec<Doc> {
    let mut managed = header("rules");
    managed.push_str("[settings]\ncommands.rules = [\n");
    let mut user = String::from("commands.rules = [\n");
    for i in 0..n {
        rule(&mut managed, "m", i);
        rule(&mut user, "u", i);
    }
    managed.push_str("]\n");
    user.push_str("]\n");
    vec![Doc::system(0, managed), Doc::user(user)]
}

/// A managed `within` of `n` domain patterns on `network.allowed_domains`
/// (half literal hosts, half `*.` suffixes) and a user list of `n` domains,
/// a tenth of them outside the `within` (removed).
pub fn domains(n: usize) -> Vec<Doc> {
    let mut managed = header("domains");
    managed.push_str("[requirements]\n\"network.allowed_domains\" = { within = [\n");
    let mut user = String::from("[network]\nallowed_domains = [\n");
    for i in 0..n {
        if i % 2 == 0 {
            let _ = writeln!(managed, "  \"host{i}.example.com\",");
        } else {
            let _ = writeln!(managed, "  \"*.corp{i}.example.net\",");
        }
        let domain = match i % 10 {
            9 => format!("elsewhere{i}.example.org"),
            k if k % 2 == 0 => format!("host{i}.example.com"),
            _ => format!("api.corp{i}.example.net"),
        };
        let _ = writeln!(user, "  \"{domain}\",");
    }
    managed.push_str("] }\n");
    user.push_str("]\n");
    vec![Doc::system(0, managed), Doc::user(user)]
}

/// A managed `within` of `n` path globs (`/opt/pN/*`) on
/// `sandbox.writable_roots` and a user list of `n` paths, a tenth of them
/// outside (removed).
pub fn globs(n: usize) -> Vec<Doc> {
    let mut managed = header("globs");
    managed.push_str("[requirements]\n\"sandbox.writable_roots\" = { within = [\n");
    let mut user = String::from("[sandbox]\nwritable_roots = [\n");
    for i in 0..n {
        let _ = writeln!(managed, "  \"/opt/p{i}/*\",");
        if i % 10 == 9 {
            let _ = writeln!(user, "  \"/srv/elsewhere{i}\",");
        } else {
            let _ = writeln!(user, "  \"/opt/p{i}/work\",");
        }
    }
    managed.push_str("] }\n");
    user.push_str("]\n");
    vec![Doc::system(0, managed), Doc::user(user)]
}

/// A user config of about `bytes` bytes adding domains to the union list
/// `network.denied_domains`, half of which a managed `excludes` removes.
pub fn union_removals(bytes: usize) -> Vec<Doc> {
    let mut user = String::from("[network]\ndenied_domains = [\n");
    let mut excluded = Vec::new();
    let mut i = 0;
    while user.len() < bytes - 64 {
        let domain = format!("blocked{i}.example.org");
        let _ = writeln!(user, "  \"{domain}\",");
        if i % 2 == 0 {
            excluded.push(domain);
        }
        i += 1;
    }
    user.push_str("]\n");
    let mut managed = header("removals");
    managed.push_str("[requirements]\n\"network.denied_domains\" = { excludes = [\n");
    for d in &excluded {
        let _ = writeln!(managed, "  \"{d}\",");
    }
    managed.push_str("] }\n");
    vec![Doc::system(0, managed), Doc::user(user)]
}

/// The documents as layers.
pub fn layers(schema: &Schema, docs: &[Doc]) -> Vec<Layer> {
    docs.iter().map(|d| d.layer(schema)).collect()
}

/// A stack of layers, as the loader hands it to resolution.
pub fn stack(layers: Vec<Layer>) -> Stack {
    Stack {
        layers,
        domain: mandate::paths::DEFAULT_DOMAIN.into(),
        ..Stack::default()
    }
}

/// The total size of the documents' text.
pub fn bytes(docs: &[Doc]) -> usize {
    docs.iter().map(|d| d.text.len()).sum()
}
