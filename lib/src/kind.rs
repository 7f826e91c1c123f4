//! Value kinds: what a string *means* to the agent that reads it, and the
//! one normaliser per kind that every comparison goes through.
//!
//! Constraints (`within`, `excludes`, `includes`, `denied`, `allowed`,
//! `value`, `pattern`), `mandate check`, decisions and the agent adapters
//! never compare raw strings: they compare the canonical forms made here, so
//! `SECRET.acme.example.`, `/usr/../etc/` or `" GPT-5 "` mean what the agent
//! makes of them.
//!
//! | kind      | canonical form                                                           | a pattern entry                                  |
//! |-----------|--------------------------------------------------------------------------|--------------------------------------------------|
//! | `domain`  | lower case, IDNA to ASCII (punycode), no trailing dot; a URL, `user@`, `:port` reduced to the host; IPv4 in any form (`2130706433`, `0177.0.0.1`, `0x7f.1`) as a dotted quad, IPv6 as `[compressed]` | `*.example.com`: every subdomain at any depth, not `example.com`; `*`: every host |
//! | `path`    | absolute or `~`-rooted, `.` and repeated or trailing `/` removed, `..` applied (refused above the root) | `/x/*`: everything below `/x`; a plain path covers itself and everything below it |
//! | `name`    | trimmed, lower case (model and server names)                             | glob over the canonical text                     |
//! | `command`, `mcp-server`, `text` | as written                                          | glob over the text (strings), equality (tables)  |
//!
//! Every kind is a set of *things* (hosts, files, names); a canonical entry
//! denotes a set, and the relations the constraints need are set relations:
//! [`Norm::covers`] (`within`: the entry's set contains the element's) and
//! [`Norm::intersects`] (`excludes`: an element is removed when its set meets
//! the excluded one, so `*.acme.example` cannot smuggle
//! `secret.acme.example` past `excludes = ["secret.acme.example"]`).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

use crate::value::Value;

use crate::constraint::{Prehashed, value_hash};
use crate::glob;

/// The kind of a setting's values (the schema's `x-mandate-kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// Host names and domain patterns (`*.example.com`).
    Domain,
    /// File system paths (absolute, or `~/` for the user's home).
    Path,
    /// Command rules (`{ pattern, decision, justification }`); compared as written.
    Command,
    /// Identifiers such as model names: trimmed, case-insensitive.
    Name,
    /// MCP server identities (`{ name, command | url }`): the name as a [`ValueKind::Name`].
    McpServer,
    /// Anything else: compared as written.
    Text,
}

impl ValueKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [ValueKind; 6] = [
        ValueKind::Domain,
        ValueKind::Path,
        ValueKind::Command,
        ValueKind::Name,
        ValueKind::McpServer,
        ValueKind::Text,
    ];

    /// The name used in the schema (`x-mandate-kind`).
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Domain => "domain",
            ValueKind::Path => "path",
            ValueKind::Command => "command",
            ValueKind::Name => "name",
            ValueKind::McpServer => "mcp-server",
            ValueKind::Text => "text",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<ValueKind> {
        ValueKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What normalisation knows about the user the agent runs as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindContext {
    /// The user's home directory (from the user database), for `~`. Without
    /// one, `~/x` compares only with other `~` paths.
    pub home: Option<String>,
}

/// Why a value cannot be normalised.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a usable {kind}: {why}")]
pub struct KindError {
    /// The kind it was read as.
    pub kind: ValueKind,
    /// The value as written.
    pub value: String,
    /// What is wrong.
    pub why: String,
}

fn kind_error(kind: ValueKind, value: &str, why: impl Into<String>) -> KindError {
    KindError {
        kind,
        value: value.to_owned(),
        why: why.into(),
    }
}

/// The canonical text of one value of `kind` (see the module table).
///
/// ```
/// use mandate::kind::{ValueKind, normalise};
/// assert_eq!(normalise(ValueKind::Domain, "https://ana@Pastebin.COM.:443/raw").unwrap(), "pastebin.com");
/// assert_eq!(normalise(ValueKind::Domain, "0177.0.0.1").unwrap(), "127.0.0.1");
/// assert_eq!(normalise(ValueKind::Path, "/usr/../etc//").unwrap(), "/etc");
/// assert_eq!(normalise(ValueKind::Name, " GPT-5 ").unwrap(), "gpt-5");
/// assert!(normalise(ValueKind::Path, "/../etc").is_err());
/// ```
pub fn normalise(kind: ValueKind, raw: &str) -> Result<String, KindError> {
    match kind {
        ValueKind::Domain => domain::normalise(raw),
        ValueKind::Path => path::normalise(raw),
        ValueKind::Name => Ok(name(raw)),
        ValueKind::Command | ValueKind::McpServer | ValueKind::Text => Ok(raw.to_owned()),
    }
}

/// The canonical form of a name: trimmed, lower case.
pub fn name(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// The canonical form of a JSON value of `kind`: strings through
/// [`normalise`]; an MCP server's `name` as a name and its `url` host as a
/// domain; anything else as it is.
pub fn normalise_value(kind: ValueKind, value: &Value) -> Result<Value, KindError> {
    match (kind, value) {
        (_, Value::String(s)) => normalise(kind, s).map(Value::String),
        (ValueKind::McpServer, Value::Object(map)) => {
            let mut map = map.clone();
            if let Some(Value::String(n)) = map.get("name") {
                let n = name(n);
                map.insert("name".into(), Value::String(n));
            }
            if let Some(Value::String(u)) = map.get("url") {
                let u = domain::url(u)?;
                map.insert("url".into(), Value::String(u));
            }
            Ok(Value::Object(map))
        }
        _ => Ok(value.clone()),
    }
}

/// [`normalise_value`] of a value it may take apart: one already in its
/// canonical form is moved, not copied (most elements of a long list are).
/// On error the value comes back with the reason.
pub fn normalise_value_owned(kind: ValueKind, value: Value) -> Result<Value, (KindError, Value)> {
    let canonical = match (kind, &value) {
        (ValueKind::Domain, Value::String(s)) => domain::is_canonical(s),
        (ValueKind::Path | ValueKind::Name, Value::String(_))
        | (ValueKind::McpServer, Value::Object(_)) => false,
        // Kept as written (see `normalise`, `normalise_value`).
        _ => true,
    };
    if canonical {
        return Ok(value);
    }
    normalise_value(kind, &value).map_err(|e| (e, value))
}

/// Domains: hosts and domain patterns.
pub mod domain {
    use super::{KindError, ValueKind, kind_error};

    fn error(raw: &str, why: impl Into<String>) -> KindError {
        kind_error(ValueKind::Domain, raw, why)
    }

    /// The canonical host of a URL, `host`, `host:port`, `user@host` or
    /// `[v6]`, or of a pattern `*.host` / `*`.
    pub fn normalise(raw: &str) -> Result<String, KindError> {
        let text = raw.trim();
        if text == "*" {
            return Ok("*".into());
        }
        // Most entries are already canonical names or `*.` patterns of one.
        if is_canonical(text) {
            return Ok(text.to_owned());
        }
        let is_url = text.contains("://");
        if let Some(rest) = text.strip_prefix("*.")
            && !super::has_wildcard(rest)
        {
            let h = host(rest).map_err(|e| error(raw, e.why))?;
            if h.starts_with('[') || h.parse::<std::net::Ipv4Addr>().is_ok() {
                return Err(error(
                    raw,
                    "a `*.` pattern needs a domain name, not an IP address",
                ));
            }
            return Ok(format!("*.{h}"));
        }
        if !is_url && super::has_wildcard(text) {
            // A glob other than `*.` (only `within` entries may be one):
            // lower case, compared as text.
            return Ok(text.trim_end_matches('.').to_ascii_lowercase());
        }
        host(text)
    }

    /// The canonical host a URL or host names (never a pattern).
    pub fn host(raw: &str) -> Result<String, KindError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(error(raw, "it is empty"));
        }
        // A plain name holds neither white space nor control characters.
        if is_plain_name(text) {
            return Ok(text.to_owned());
        }
        if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(error(raw, "it holds white space or control characters"));
        }
        // Parse as a URL (adding a scheme where there is none) with the
        // WHATWG rules that browsers and fetch libraries apply: lower case,
        // IDNA, every IPv4 spelling, IPv6 compression.
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let parsed = url::Url::parse(&with_scheme).map_err(|e| error(raw, e.to_string()))?;
        let host = match parsed.host() {
            // One trailing dot is the root of a fully qualified name; more
            // are empty labels, refused below.
            Some(url::Host::Domain(d)) => d.strip_suffix('.').unwrap_or(d).to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            // An IPv4-mapped IPv6 address reaches the IPv4 host.
            Some(url::Host::Ipv6(ip)) => match ip.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => format!("[{ip}]"),
            },
            None => return Err(error(raw, "it names no host")),
        };
        if host.is_empty() || host.contains("..") || host.ends_with('.') {
            return Err(error(raw, "it names no host"));
        }
        // A scheme the URL standard does not know (`foo://Host`) leaves its
        // host opaque: not lower-cased, no IPv4 spellings. Read it as the
        // network host it names, so that every spelling has one form.
        if !matches!(
            parsed.scheme(),
            "http" | "https" | "ws" | "wss" | "ftp" | "file"
        ) {
            return self::host(&host);
        }
        Ok(host)
    }

    /// Whether `text` is a plain name ([`is_plain_name`]) or a `*.` pattern
    /// of one: already canonical, as [`normalise`] would write it.
    pub(super) fn is_canonical(text: &str) -> bool {
        is_plain_name(text) || text.strip_prefix("*.").is_some_and(is_plain_name)
    }

    /// Whether `text` is already a canonical host name, one the URL parser
    /// would give back unchanged: lower-case ASCII letters, digits and
    /// hyphens in labels of 1 to 63 characters, none of them punycode
    /// (`xn--`, which IDNA must check), the last one starting with a letter
    /// (so no spelling of an IPv4 address). Most names in policy are; they
    /// skip the parser, which is most of the cost of a long list.
    pub(super) fn is_plain_name(text: &str) -> bool {
        let bytes = text.as_bytes();
        if bytes.is_empty() || bytes.len() > 253 {
            return false;
        }
        // One pass: each label is checked when the dot (or the end) after
        // it is reached.
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'.' {
                if !is_plain_label(&bytes[start..i]) {
                    return false;
                }
                start = i + 1;
            } else if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                return false;
            }
        }
        let last = &bytes[start..];
        is_plain_label(last) && last[0].is_ascii_lowercase()
    }

    fn is_plain_label(label: &[u8]) -> bool {
        (1..=63).contains(&label.len()) && !label.starts_with(b"xn--")
    }

    /// A URL with its host canonical (scheme and host lower case, IDNA,
    /// default port dropped), for remote MCP servers.
    pub fn url(raw: &str) -> Result<String, KindError> {
        let parsed = url::Url::parse(raw.trim()).map_err(|e| error(raw, e.to_string()))?;
        let mut s = parsed.to_string();
        if let Some(url::Host::Domain(d)) = parsed.host()
            && d.ends_with('.')
        {
            s = s.replacen(d, d.trim_end_matches('.'), 1);
        }
        Ok(s)
    }
}

/// Paths: lexical normalisation, `~` for the user's home.
pub mod path {
    use super::{KindError, ValueKind, kind_error};

    /// The canonical path: absolute (`/…`) or home-rooted (`~`, `~/…`),
    /// `.` and empty components removed, `..` applied. A `..` above the
    /// root is refused, as is a relative path or `~user`. A trailing `/*`
    /// (a pattern: everything below) is kept.
    pub fn normalise(raw: &str) -> Result<String, KindError> {
        let error = |why: &str| kind_error(ValueKind::Path, raw, why);
        if raw.chars().any(char::is_control) {
            return Err(error("it holds control characters"));
        }
        let (root, rest) = if let Some(rest) = raw.strip_prefix('/') {
            ("", rest)
        } else if raw == "~" {
            ("~", "")
        } else if let Some(rest) = raw.strip_prefix("~/") {
            ("~", rest)
        } else if raw.starts_with('~') {
            return Err(error("only `~` and `~/…` name a home directory"));
        } else {
            return Err(error(
                "it is relative: use an absolute path, or `~/` for the home directory",
            ));
        };
        let (rest, star) = match rest.strip_suffix("/*") {
            Some(r) => (r, true),
            None if rest == "*" => ("", true),
            None => (rest, false),
        };
        let mut parts: Vec<&str> = Vec::new();
        for part in rest.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(error("`..` climbs above the root"));
                    }
                }
                p => parts.push(p),
            }
        }
        let mut out = String::from(root);
        for p in &parts {
            out.push('/');
            out.push_str(p);
        }
        if out.is_empty() {
            out.push('/');
        }
        if star {
            if !out.ends_with('/') {
                out.push('/');
            }
            out.push('*');
        }
        Ok(out)
    }

    /// `~` expanded with `home` (already canonical), when there is one.
    pub fn expand(canonical: &str, home: Option<&str>) -> String {
        match (canonical.strip_prefix('~'), home) {
            (Some(rest), Some(home)) => {
                let home = home.trim_end_matches('/');
                format!("{home}{rest}")
            }
            _ => canonical.to_owned(),
        }
    }
}

/// How much of the tree below its key an entry denotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reach {
    /// The node itself only (`example.com`, a model name).
    Exact,
    /// The node and everything below it (a plain path).
    Subtree,
    /// Everything strictly below the node (`*.example.com`, `/x/*`, `*`).
    Below,
}

/// A canonical value placed in its kind's tree, for set relations.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Norm {
    /// A node of the tree: its key lists its components from the root
    /// (a domain's labels right to left, a path's components), joined by
    /// `/` ([`Norm::key`] reads it).
    Node {
        /// The key, then the canonical text (for globs), in one string
        /// (one allocation per entry of a long list, not two).
        parts: String,
        /// Where the key ends and the text begins in `parts`.
        split: usize,
        /// What the entry covers.
        reach: Reach,
    },
    /// A glob matched against the canonical text (any other `*` or `?`).
    Glob(String),
    /// A value compared by equality (tables, kinds without a tree).
    Equal(Value),
}

/// Whether `text` holds a glob wildcard (`*` or `?`): a byte scan, as both
/// are ASCII and never part of a longer UTF-8 character.
fn has_wildcard(text: &str) -> bool {
    text.bytes().any(|b| b == b'*' || b == b'?')
}

impl Norm {
    /// Places a canonical value of `kind` (see [`normalise_value`]) in its
    /// tree; `~` is expanded with the context's home.
    pub fn of(kind: ValueKind, canonical: &Value, cx: &KindContext) -> Norm {
        let Value::String(text) = canonical else {
            return Norm::Equal(canonical.clone());
        };
        match kind {
            ValueKind::Domain => {
                if text == "*" {
                    return node(String::new(), Reach::Below, text);
                }
                let (host, reach) = match text.strip_prefix("*.") {
                    Some(h) => (h, Reach::Below),
                    None => (text.as_str(), Reach::Exact),
                };
                if has_wildcard(host) {
                    return Norm::Glob(text.clone());
                }
                // A canonical IPv4 address ends in a digit; a name never does.
                if host.starts_with('[')
                    || (host.ends_with(|c: char| c.is_ascii_digit())
                        && host.parse::<std::net::Ipv4Addr>().is_ok())
                {
                    return node(format!("#{host}"), reach, text);
                }
                // The labels right to left: `a.example.com` is `com/example/a`,
                // in one backward pass over the bytes (a dot is never part
                // of a longer UTF-8 character).
                let mut key = String::with_capacity(host.len() + text.len());
                let mut end = host.len();
                for (at, _) in host.bytes().enumerate().rev().filter(|&(_, b)| b == b'.') {
                    key.push_str(&host[at + 1..end]);
                    key.push('/');
                    end = at;
                }
                key.push_str(&host[..end]);
                node(key, reach, text)
            }
            ValueKind::Path => {
                let full = path::expand(text, cx.home.as_deref());
                let (base, reach) = match full.strip_suffix("/*") {
                    Some(b) => (b, Reach::Below),
                    None => (full.as_str(), Reach::Subtree),
                };
                if has_wildcard(base) {
                    return Norm::Glob(full.clone());
                }
                node(base.trim_start_matches('/').to_owned(), reach, &full)
            }
            ValueKind::Name | ValueKind::Text if has_wildcard(text) => Norm::Glob(text.clone()),
            ValueKind::Name => node(text.replace('/', "\u{0}"), Reach::Exact, text),
            _ => Norm::Equal(canonical.clone()),
        }
    }

    /// The text globs are matched against.
    fn text(&self) -> Option<&str> {
        match self {
            Norm::Glob(g) => Some(g),
            Norm::Equal(Value::String(s)) => Some(s),
            Norm::Equal(_) => None,
            Norm::Node { parts, split, .. } => Some(&parts[*split..]),
        }
    }

    /// A node's key and reach; `None` for globs and values compared by equality.
    pub fn key(&self) -> Option<(&str, Reach)> {
        match self {
            Norm::Node {
                parts,
                split,
                reach,
            } => Some((&parts[..*split], *reach)),
            Norm::Glob(_) | Norm::Equal(_) => None,
        }
    }

    /// Whether every thing `other` denotes is one this entry denotes.
    pub fn covers(&self, other: &Norm) -> bool {
        match (self.key(), other.key(), self, other) {
            (Some((k, m)), Some((e, n)), ..) => {
                if k == e {
                    match m {
                        Reach::Exact => n == Reach::Exact,
                        Reach::Subtree => true,
                        Reach::Below => n == Reach::Below,
                    }
                } else {
                    m != Reach::Exact && is_below(e, k)
                }
            }
            (.., Norm::Glob(g), other) => other.text().is_some_and(|t| glob::matches(g, t)),
            (.., Norm::Equal(a), Norm::Equal(b)) => a == b,
            _ => false,
        }
    }

    /// Whether some thing is denoted by both.
    pub fn intersects(&self, other: &Norm) -> bool {
        match (self.key(), other.key(), self, other) {
            (Some((k, m)), Some((e, n)), ..) => {
                if k == e {
                    !matches!(
                        (m, n),
                        (Reach::Exact, Reach::Below) | (Reach::Below, Reach::Exact)
                    )
                } else if is_below(e, k) {
                    m != Reach::Exact
                } else if is_below(k, e) {
                    n != Reach::Exact
                } else {
                    false
                }
            }
            (.., Norm::Glob(g), other) | (.., other, Norm::Glob(g)) => {
                other.text().is_some_and(|t| glob::matches(g, t))
                    || other.covers(&Norm::Glob(g.clone()))
            }
            (.., Norm::Equal(a), Norm::Equal(b)) => a == b,
            _ => false,
        }
    }
}

fn node(mut key: String, reach: Reach, text: &str) -> Norm {
    let split = key.len();
    key.push_str(text);
    Norm::Node {
        parts: key,
        split,
        reach,
    }
}

/// Whether `key` lies strictly below `ancestor` in the tree.
fn is_below(key: &str, ancestor: &str) -> bool {
    if ancestor.is_empty() {
        return !key.is_empty();
    }
    key.len() > ancestor.len()
        && key.starts_with(ancestor)
        && key.as_bytes()[ancestor.len()] == b'/'
}

/// A set of entries indexed for the two questions constraints ask of every
/// element: does some entry cover it (`within`), does some entry meet it
/// (`excludes`). Each question costs a walk up the element's ancestors and
/// one range look-up, not a scan of the entries; only globs other than the
/// kind's own patterns are tried one by one.
#[derive(Clone, Debug)]
pub struct NormSet<T> {
    /// The last entry of each node key, by [`key_hash`]; earlier entries
    /// with the same hash are chained through `same_key`.
    nodes: HashMap<u64, usize, BuildHasherDefault<Prehashed>>,
    same_key: Vec<Option<usize>>,
    /// Every node key, sorted, for "is anything below this key": built the
    /// first time a question needs it (only `meeting` does), kept up to
    /// date after that.
    keys: OnceLock<BTreeSet<String>>,
    globs: Vec<(String, usize)>,
    /// Entries compared by equality, by [`value_hash`].
    equal: HashMap<u64, Vec<usize>, BuildHasherDefault<Prehashed>>,
    /// The entries and their payloads, by insertion order.
    items: Vec<(Norm, T)>,
}

impl<T> Default for NormSet<T> {
    fn default() -> NormSet<T> {
        NormSet::new()
    }
}

/// The hash a node key is indexed by. The keys inserted are a managed
/// requirement's entries; a user's elements are only looked up.
fn key_hash(key: &str) -> u64 {
    crate::hash::FastHasher::hash_bytes(key.as_bytes())
}

impl<T> NormSet<T> {
    /// An empty set.
    pub fn new() -> NormSet<T> {
        NormSet::with_capacity(0)
    }

    /// An empty set with room for `n` entries, for a list of known length.
    pub fn with_capacity(n: usize) -> NormSet<T> {
        NormSet {
            nodes: HashMap::with_capacity_and_hasher(n, BuildHasherDefault::default()),
            same_key: Vec::with_capacity(n),
            keys: OnceLock::new(),
            globs: Vec::new(),
            equal: HashMap::default(),
            items: Vec::with_capacity(n),
        }
    }

    /// Adds an entry with its payload.
    pub fn insert(&mut self, norm: Norm, payload: T) {
        let i = self.items.len();
        let mut same_key = None;
        match &norm {
            Norm::Node { parts, split, .. } => {
                let key = &parts[..*split];
                same_key = self.nodes.insert(key_hash(key), i);
                if let Some(keys) = self.keys.get_mut() {
                    keys.insert(key.to_owned());
                }
            }
            Norm::Glob(g) => self.globs.push((g.clone(), i)),
            Norm::Equal(v) => self.equal.entry(value_hash(v)).or_default().push(i),
        }
        self.same_key.push(same_key);
        self.items.push((norm, payload));
    }

    /// Takes back the entry inserted last, with its payload.
    pub fn pop(&mut self) -> Option<(Norm, T)> {
        let (norm, payload) = self.items.pop()?;
        let i = self.items.len();
        let previous = self.same_key.pop().flatten();
        match &norm {
            Norm::Node { parts, split, .. } => {
                let key = &parts[..*split];
                let hash = key_hash(key);
                match previous {
                    Some(p) => self.nodes.insert(hash, p),
                    None => self.nodes.remove(&hash),
                };
                let last = self.entries_at(key).next().is_none();
                if let Some(keys) = self.keys.get_mut()
                    && last
                {
                    keys.remove(key);
                }
            }
            Norm::Glob(_) => {
                self.globs.retain(|&(_, j)| j != i);
            }
            Norm::Equal(v) => {
                let hash = value_hash(v);
                if let Some(entries) = self.equal.get_mut(&hash) {
                    entries.retain(|&j| j != i);
                    if entries.is_empty() {
                        self.equal.remove(&hash);
                    }
                }
            }
        }
        Some((norm, payload))
    }

    /// The entries whose node key is `key`, latest first.
    fn entries_at<'a>(&'a self, key: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.entries_hashed(key, key_hash(key))
    }

    /// [`NormSet::entries_at`] with the key's hash already known.
    fn entries_hashed<'a>(&'a self, key: &'a str, hash: u64) -> impl Iterator<Item = usize> + 'a {
        let mut at = self.nodes.get(&hash).copied();
        std::iter::from_fn(move || {
            let i = at?;
            at = self.same_key[i];
            Some(i)
        })
        .filter(move |&i| self.items[i].0.key().is_some_and(|(k, _)| k == key))
    }

    /// Every node key, sorted.
    fn sorted_keys(&self) -> &BTreeSet<String> {
        self.keys.get_or_init(|| {
            self.items
                .iter()
                .filter_map(|(n, _)| n.key().map(|(key, _)| key.to_owned()))
                .collect()
        })
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The first entry (by insertion) that covers `item`.
    pub fn covering(&self, item: &Norm) -> Option<&T> {
        self.find(item, Norm::covers, false)
    }

    /// The first entry (by insertion) whose set meets `item`'s.
    pub fn meeting(&self, item: &Norm) -> Option<&T> {
        self.find(item, Norm::intersects, true)
    }

    fn find(&self, item: &Norm, rel: fn(&Norm, &Norm) -> bool, below: bool) -> Option<&T> {
        // An empty set (a requirement without `excludes`, say) answers
        // without hashing the item's ancestors.
        if self.items.is_empty() {
            return None;
        }
        let mut best: Option<usize> = None;
        let mut consider = |i: usize| best = Some(best.map_or(i, |b| b.min(i)));
        match item {
            Norm::Node {
                parts,
                split,
                reach,
            } => {
                let key = &parts[..*split];
                // The key and every ancestor (each prefix that ends before
                // a `/`, and the root).
                let mut visit = |k: &str| {
                    for i in self.entries_hashed(k, key_hash(k)) {
                        if rel(&self.items[i].0, item) {
                            consider(i);
                        }
                    }
                };
                if !key.is_empty() {
                    visit("");
                }
                for (at, _) in key.bytes().enumerate().filter(|&(_, b)| b == b'/') {
                    visit(&key[..at]);
                }
                visit(key);
                // Entries strictly below the item meet it when it reaches below.
                if below && *reach != Reach::Exact {
                    let prefix = if key.is_empty() {
                        String::new()
                    } else {
                        format!("{key}/")
                    };
                    for k in self
                        .sorted_keys()
                        .range(prefix.clone()..)
                        .take_while(|k| k.starts_with(&prefix))
                    {
                        if k != key {
                            self.entries_at(k).for_each(&mut consider);
                        }
                    }
                }
            }
            Norm::Equal(v) => {
                for &i in self.equal.get(&value_hash(v)).into_iter().flatten() {
                    if &self.items[i].0 == item {
                        consider(i);
                    }
                }
            }
            Norm::Glob(_) => {
                // A glob element (rare: only `within` entries are globs)
                // is compared with every entry.
                for (i, (entry, _)) in self.items.iter().enumerate() {
                    if rel(entry, item) {
                        consider(i);
                    }
                }
            }
        }
        for &(_, i) in &self.globs {
            if rel(&self.items[i].0, item) {
                consider(i);
            }
        }
        best.map(|i| &self.items[i].1)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::json;
    use proptest::prelude::*;

    fn d(s: &str) -> Norm {
        Norm::of(
            ValueKind::Domain,
            &Value::String(normalise(ValueKind::Domain, s).unwrap()),
            &KindContext::default(),
        )
    }

    fn p(s: &str, home: Option<&str>) -> Norm {
        Norm::of(
            ValueKind::Path,
            &Value::String(normalise(ValueKind::Path, s).unwrap()),
            &KindContext {
                home: home.map(str::to_owned),
            },
        )
    }

    #[test]
    fn domains_normalise_the_way_a_fetch_would() {
        for (raw, want) in [
            ("Pastebin.COM", "pastebin.com"),
            ("pastebin.com.", "pastebin.com"),
            (
                "https://user:pw@Pastebin.com:8443/raw/x?y#z",
                "pastebin.com",
            ),
            ("pastebin.com:443", "pastebin.com"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
            ("2130706433", "127.0.0.1"),
            ("0177.0.0.1", "127.0.0.1"),
            ("0x7f.1", "127.0.0.1"),
            ("[::FFFF:127.0.0.1]", "127.0.0.1"),
            ("[2001:DB8:0:0::1]", "[2001:db8::1]"),
            ("*.Acme.Example.", "*.acme.example"),
            ("*", "*"),
            // An unknown scheme's host is read as a network host too.
            ("a.pastebinhtt.comp://167", "0.0.0.167"),
            ("foo://PASTEBIN.com/x", "pastebin.com"),
        ] {
            assert_eq!(normalise(ValueKind::Domain, raw).unwrap(), want, "{raw}");
        }
        for bad in [
            "",
            " ",
            "a b.com",
            "*.127.0.0.1",
            "http://",
            "a..b",
            "a.b..",
            "A.9.5..",
        ] {
            assert!(normalise(ValueKind::Domain, bad).is_err(), "{bad:?}");
        }
    }

    /// The host the URL parser gives, without the fast path for plain names.
    fn host_by_url(raw: &str) -> Option<String> {
        let parsed = url::Url::parse(&format!("http://{raw}")).ok()?;
        match parsed.host()? {
            url::Host::Domain(d) => Some(d.trim_end_matches('.').to_owned()),
            url::Host::Ipv4(ip) => Some(ip.to_string()),
            url::Host::Ipv6(ip) => Some(format!("[{ip}]")),
        }
    }

    #[test]
    fn plain_names_skip_the_parser_only_where_it_changes_nothing() {
        for plain in [
            "example.com",
            "a-b.c0",
            "x.y.z.example",
            "localhost",
            "a1.b2.c",
        ] {
            assert!(domain::is_plain_name(plain), "{plain}");
            assert_eq!(host_by_url(plain).as_deref(), Some(plain));
        }
        // Each of these goes to the parser, which changes or refuses it.
        for other in [
            "Example.com",
            "example.com.",
            "1.2.3.4",
            "0x7f.1",
            "a.0x1",
            "a.123",
            "xn--bcher-kva.example",
            "b\u{fc}cher.example",
            "a..b",
            ".a",
            "a_b.com",
            "",
        ] {
            assert!(!domain::is_plain_name(other), "{other}");
        }
    }

    proptest! {
        /// Wherever the fast path answers, the URL parser answers the same.
        #[test]
        fn plain_names_are_what_the_url_parser_makes_of_them(
            raw in "[a-z0-9.-]{1,12}|([a-z0-9-]{1,6}\\.){1,4}[a-z0-9x-]{1,6}"
        ) {
            if domain::is_plain_name(&raw) {
                prop_assert_eq!(host_by_url(&raw), Some(raw.clone()));
                prop_assert_eq!(domain::host(&raw).ok(), Some(raw.clone()));
                // A `*.` pattern of one is what the parser makes of its host.
                let pattern = format!("*.{raw}");
                prop_assert_eq!(
                    normalise(ValueKind::Domain, &pattern).ok(),
                    host_by_url(&raw).map(|h| format!("*.{h}"))
                );
            }
        }
    }

    /// A domain or path entry of one to four parts from a small alphabet,
    /// with or without the kind's "below" pattern, or the kind's root.
    fn node_entry(kind: ValueKind) -> impl Strategy<Value = String> {
        let parts = proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 1..5);
        (parts, 0u8..5).prop_map(move |(parts, shape)| match (kind, shape) {
            (ValueKind::Domain, 0) => "*".to_owned(),
            (ValueKind::Domain, 1 | 2) => format!("*.{}", parts.join(".")),
            (ValueKind::Domain, _) => parts.join("."),
            (_, 0) => "/*".to_owned(),
            (_, 1 | 2) => format!("/{}/*", parts.join("/")),
            (_, _) => format!("/{}", parts.join("/")),
        })
    }

    fn entries_and_items() -> impl Strategy<Value = (ValueKind, Vec<String>, Vec<String>, usize)> {
        prop_oneof![Just(ValueKind::Domain), Just(ValueKind::Path)].prop_flat_map(|kind| {
            (
                Just(kind),
                proptest::collection::vec(node_entry(kind), 0..8),
                proptest::collection::vec(node_entry(kind), 1..6),
                0usize..4,
            )
        })
    }

    proptest! {
        /// The index answers as trying every entry in order would, for
        /// entries and elements of every depth, and after entries are
        /// taken back.
        #[test]
        fn norm_set_answers_as_a_scan((kind, entries, items, popped) in entries_and_items()) {
            let cx = KindContext::default();
            let norm = |s: &str| {
                let canonical = Value::String(normalise(kind, s).expect("a valid entry"));
                Norm::of(kind, &canonical, &cx)
            };
            let mut set = NormSet::new();
            for (i, e) in entries.iter().enumerate() {
                set.insert(norm(e), i);
            }
            let kept = entries.len().saturating_sub(popped);
            for _ in kept..entries.len() {
                set.pop();
            }
            for item in &items {
                let item = norm(item);
                let first = |rel: fn(&Norm, &Norm) -> bool| {
                    entries[..kept].iter().position(|e| rel(&norm(e), &item))
                };
                prop_assert_eq!(set.covering(&item).copied(), first(Norm::covers));
                prop_assert_eq!(set.meeting(&item).copied(), first(Norm::intersects));
            }
        }
    }

    proptest! {
        /// Taking a value gives what copying it gives, for every kind.
        #[test]
        fn owned_normalisation_is_normalisation(
            raw in "[ a-zA-Z0-9.*/~:-]{0,16}|(\\*\\.)?([a-z0-9-]{1,6}\\.){0,3}[a-z][a-z0-9-]{0,5}",
            kind in proptest::sample::select(vec![
                ValueKind::Domain, ValueKind::Path, ValueKind::Name,
                ValueKind::Command, ValueKind::McpServer, ValueKind::Text,
            ]),
        ) {
            let value = Value::String(raw);
            let copied = normalise_value(kind, &value).map_err(|e| e.to_string());
            let taken = normalise_value_owned(kind, value.clone())
                .map_err(|(e, back)| { assert_eq!(back, value); e.to_string() });
            prop_assert_eq!(copied, taken);
        }
    }

    #[test]
    fn paths_normalise_lexically() {
        for (raw, want) in [
            ("/etc/", "/etc"),
            ("//etc", "/etc"),
            ("/usr/../etc", "/etc"),
            ("/./etc/./ssh/", "/etc/ssh"),
            ("/", "/"),
            ("~", "~"),
            ("~/.ssh/../.aws", "~/.aws"),
            ("/home/ana/src/*", "/home/ana/src/*"),
            ("/home/ana/src/../*", "/home/ana/*"),
            ("/*", "/*"),
        ] {
            assert_eq!(normalise(ValueKind::Path, raw).unwrap(), want, "{raw}");
        }
        for bad in ["/../etc", "~/../..", "etc", "~ana/x", "./x", "/a\n/b"] {
            assert!(normalise(ValueKind::Path, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn domain_set_relations() {
        assert!(d("*.acme.example").intersects(&d("SECRET.acme.example")));
        assert!(d("secret.acme.example").intersects(&d("*.acme.example")));
        assert!(!d("acme.example").intersects(&d("*.acme.example")));
        assert!(d("*.npmjs.org").covers(&d("*.eu.npmjs.org")));
        assert!(d("*.npmjs.org").covers(&d("registry.npmjs.org")));
        assert!(!d("*.npmjs.org").covers(&d("npmjs.org")));
        assert!(!d("*.npmjs.org").covers(&d("*.org")));
        assert!(d("*").covers(&d("*.org")));
        assert!(d("*").intersects(&d("github.com")));
        assert!(!d("github.com").covers(&d("api.github.com")));
        assert!(d("127.0.0.1").covers(&d("2130706433")));
    }

    #[test]
    fn path_set_relations() {
        assert!(!p("/home/ana/src/*", None).covers(&p("/home/ana/src/../.ssh", None)));
        assert!(p("/home/ana/src/*", None).covers(&p("/home/ana/src/x/../y", None)));
        assert!(!p("/home/ana/src/*", None).covers(&p("/home/ana/src", None)));
        assert!(p("/etc", None).intersects(&p("/usr/../etc/", None)));
        assert!(p("/etc", None).intersects(&p("/etc/ssh", None)));
        assert!(p("/etc", None).intersects(&p("/", None)));
        assert!(!p("/etc", None).intersects(&p("/etcetera", None)));
        assert!(p("~/.ssh", Some("/home/ana")).intersects(&p("/home/ana/.ssh/id", None)));
        assert!(!p("~/.ssh", None).intersects(&p("/home/ana/.ssh", None)));
    }

    #[test]
    fn sets_answer_like_a_scan() {
        let entries = [
            "*.acme.example",
            "github.com",
            "*.eu.npmjs.org",
            "api-*.example.com",
        ];
        let mut set = NormSet::new();
        for (i, e) in entries.iter().enumerate() {
            set.insert(d(e), i);
        }
        for probe in [
            "secret.acme.example",
            "acme.example",
            "*.example",
            "*",
            "github.com",
            "api.github.com",
            "x.eu.npmjs.org",
            "*.npmjs.org",
            "api-1.example.com",
        ] {
            let item = d(probe);
            let scan_cover = entries.iter().position(|e| d(e).covers(&item));
            let scan_meet = entries.iter().position(|e| d(e).intersects(&item));
            assert_eq!(set.covering(&item).copied(), scan_cover, "covers {probe}");
            assert_eq!(set.meeting(&item).copied(), scan_meet, "meets {probe}");
        }
    }

    #[test]
    fn mcp_servers_compare_by_canonical_name_and_url() {
        let a = normalise_value(
            ValueKind::McpServer,
            &json!({ "name": " Docs ", "url": "HTTPS://Docs.Example.com:443/mcp" }),
        )
        .unwrap();
        assert_eq!(
            a,
            json!({ "name": "docs", "url": "https://docs.example.com/mcp" })
        );
    }

    fn label() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just("Ä".to_owned()),
            Just("xn--4ca".to_owned()),
            Just("c".to_owned()),
        ]
    }

    fn domain_spelling() -> impl Strategy<Value = (String, String)> {
        // (canonical-ish host, a spelling of it)
        (
            proptest::collection::vec(label(), 1..4),
            any::<bool>(),
            any::<bool>(),
            0u8..3,
        )
            .prop_map(|(labels, upper, dot, wrap)| {
                let host = labels.join(".");
                let mut spelled = if upper {
                    host.to_uppercase()
                } else {
                    host.clone()
                };
                if dot {
                    spelled.push('.');
                }
                let spelled = match wrap {
                    0 => spelled,
                    1 => format!("https://u@{spelled}:8080/p"),
                    _ => format!("{spelled}:443"),
                };
                (host, spelled)
            })
    }

    proptest! {
        #[test]
        fn a_spelling_normalises_like_the_host((host, spelled) in domain_spelling()) {
            prop_assert_eq!(normalise(ValueKind::Domain, &spelled).unwrap(), normalise(ValueKind::Domain, &host).unwrap());
        }

        #[test]
        fn within_admits_only_what_lies_inside(
            base in proptest::collection::vec("[a-c.]{1,2}", 1..4),
            tail in proptest::collection::vec(prop_oneof![Just(".."), Just("."), Just(""), Just("x"), Just("b")], 0..6),
        ) {
            let root = format!("/{}", base.join("/"));
            let pattern = format!("{root}/*");
            let candidate = format!("{root}/{}", tail.join("/"));
            if let Ok(canon) = normalise(ValueKind::Path, &candidate) {
                let root = normalise(ValueKind::Path, &root).unwrap();
                let inside = canon != root && (root == "/" || canon.starts_with(&format!("{root}/")));
                prop_assert_eq!(p(&pattern, None).covers(&p(&canon, None)), inside, "{} in {}", canon, pattern);
            }
        }
    }
}
