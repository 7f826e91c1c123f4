//! A fast check of a value against a setting's JSON Schema, for the common
//! keywords only, so that start-up need not compile a JSON Schema validator
//! (and the draft 2020-12 meta-schema it is checked against) for every
//! setting a policy uses.
//!
//! It is an accelerator, never the judge of a refusal: [`Subset::check`]
//! answers [`Verdict::Valid`] only when the value is valid by the JSON
//! Schema rules; anything else (invalid, or a case it does not decide
//! exactly) goes to the compiled JSON Schema validator, which decides and
//! words the refusal. A schema node using any keyword outside the subset is
//! not compiled at all ([`Subset::compile`] gives `None`).
//!
//! The subset: `type`, `enum`, `minLength`, `maxLength`, `pattern` (regular
//! expressions whose meaning is the same in ECMA-262 and in the `regex`
//! crate: no `.`, no letter escapes), `minimum`, `maximum`, `items`,
//! `minItems`, `maxItems`, `uniqueItems` (of strings), `properties`, `required`, `additionalProperties`,
//! `propertyNames`, `oneOf`, `dependentRequired` and local `$ref`s
//! (`#/$defs/NAME`); annotations (`title`, `description`, `default`,
//! `examples`, `format` — an annotation in draft 2020-12 — and `x-` keys)
//! are ignored.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::value::{Map, Value};
use regex::Regex;

/// What the subset says of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Valid by the JSON Schema rules.
    Valid,
    /// Not valid, or not decided here: ask the JSON Schema validator.
    Ask,
}

/// A setting's schema node, compiled for the subset.
#[derive(Debug)]
pub(crate) struct Subset {
    /// Compiled nodes; the first is the setting's own, then `$defs`.
    nodes: Vec<Node>,
}

type NodeId = usize;

#[derive(Debug, Default)]
struct Node {
    types: Option<Vec<Type>>,
    enum_values: Option<Vec<Value>>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<Pattern>,
    minimum: Option<i64>,
    maximum: Option<i64>,
    items: Option<NodeId>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
    properties: Vec<(String, NodeId)>,
    required: Vec<String>,
    additional: Additional,
    property_names: Option<NodeId>,
    one_of: Vec<NodeId>,
    dependent_required: Vec<(String, Vec<String>)>,
    /// A `$ref`, checked beside the node's other keywords.
    reference: Option<NodeId>,
}

#[derive(Debug, Default)]
enum Additional {
    #[default]
    Any,
    Forbidden,
    Schema(NodeId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    String,
    Boolean,
    Integer,
    Number,
    Array,
    Object,
    Null,
}

const ANNOTATIONS: [&str; 9] = [
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "$comment",
    "readOnly",
    "writeOnly",
    "format",
];

struct Compiler<'a> {
    defs: Option<&'a Map>,
    nodes: Vec<Node>,
    by_name: HashMap<String, NodeId>,
}

impl Subset {
    /// Compiles a setting's schema node (with its `$defs`), or `None` when
    /// it uses anything outside the subset.
    pub(crate) fn compile(node: &Value) -> Option<Subset> {
        let mut compiler = Compiler {
            defs: node.get("$defs").and_then(Value::as_object),
            nodes: vec![Node::default()],
            by_name: HashMap::new(),
        };
        let root = compiler.node(node, true)?;
        compiler.nodes[0] = root;
        Some(Subset {
            nodes: compiler.nodes,
        })
    }

    /// Whether `value` is valid; [`Verdict::Ask`] when it is not, or when
    /// the subset cannot tell exactly.
    pub(crate) fn check(&self, value: &Value) -> Verdict {
        match self.valid(0, value) {
            Some(true) => Verdict::Valid,
            _ => Verdict::Ask,
        }
    }

    /// `Some(valid)`, or `None` when the subset cannot tell exactly.
    fn valid(&self, id: NodeId, value: &Value) -> Option<bool> {
        let node = &self.nodes[id];
        if let Some(reference) = node.reference
            && !self.valid(reference, value)?
        {
            return Some(false);
        }
        if let Some(types) = &node.types {
            let mut matched = false;
            for t in types {
                matched |= t.matches(value)?;
            }
            if !matched {
                return Some(false);
            }
        }
        if let Some(values) = &node.enum_values {
            // JSON Schema compares numbers by value (1 equals 1.0): not decided here.
            if value.is_number() || !values.contains(value) {
                return None;
            }
        }
        match value {
            Value::String(s) => {
                if !length_within(s, node.min_length, node.max_length)
                    || node.pattern.as_ref().is_some_and(|p| !p.is_match(s))
                {
                    return Some(false);
                }
            }
            Value::Number(n) => {
                if node.minimum.is_some() || node.maximum.is_some() {
                    let n = n.as_i64()?;
                    if node.minimum.is_some_and(|min| n < min)
                        || node.maximum.is_some_and(|max| n > max)
                    {
                        return Some(false);
                    }
                }
            }
            Value::Array(items) => {
                let count = items.len() as u64;
                if node.min_items.is_some_and(|min| count < min)
                    || node.max_items.is_some_and(|max| count > max)
                {
                    return Some(false);
                }
                if node.unique_items {
                    // Strings are equal when their text is; anything else
                    // (numbers compare by value) is not decided here.
                    let mut seen = std::collections::HashSet::with_capacity(items.len());
                    for item in items {
                        if !seen.insert(item.as_str()?) {
                            return Some(false);
                        }
                    }
                }
                if let Some(item) = node.items {
                    for value in items {
                        if !self.valid(item, value)? {
                            return Some(false);
                        }
                    }
                }
            }
            Value::Object(map) => {
                if !node.required.iter().all(|k| map.contains_key(k)) {
                    return Some(false);
                }
                for (key, needs) in &node.dependent_required {
                    if map.contains_key(key) && !needs.iter().all(|k| map.contains_key(k)) {
                        return Some(false);
                    }
                }
                for (key, value) in map {
                    if let Some(names) = node.property_names
                        && !self.valid(names, &Value::String(key.clone()))?
                    {
                        return Some(false);
                    }
                    let declared = node.properties.iter().find(|(k, _)| k == key);
                    let schema = match (declared, &node.additional) {
                        (Some((_, id)), _) => Some(*id),
                        (None, Additional::Any) => None,
                        (None, Additional::Forbidden) => return Some(false),
                        (None, Additional::Schema(id)) => Some(*id),
                    };
                    if let Some(id) = schema
                        && !self.valid(id, value)?
                    {
                        return Some(false);
                    }
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
        if !node.one_of.is_empty() {
            let mut matched = 0;
            for &branch in &node.one_of {
                if self.valid(branch, value)? {
                    matched += 1;
                }
            }
            if matched != 1 {
                return Some(false);
            }
        }
        Some(true)
    }
}

/// Whether the length of `s` in characters (code points, as JSON Schema
/// counts) is within `min..=max`. A character takes one to four bytes, so
/// the byte length alone settles most strings; the characters are counted
/// only when it cannot.
fn length_within(s: &str, min: Option<u64>, max: Option<u64>) -> bool {
    let bytes = s.len() as u64;
    if max.is_none_or(|max| bytes <= max) && min.is_none_or(|min| bytes.div_ceil(4) >= min) {
        return true;
    }
    let chars = s.chars().count() as u64;
    min.is_none_or(|min| chars >= min) && max.is_none_or(|max| chars <= max)
}

impl Type {
    fn parse(name: &str) -> Option<Type> {
        Some(match name {
            "string" => Type::String,
            "boolean" => Type::Boolean,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "array" => Type::Array,
            "object" => Type::Object,
            "null" => Type::Null,
            _ => return None,
        })
    }

    /// Whether `value` has this type; `None` for a float where an integer
    /// is expected (JSON Schema accepts `1.0` as an integer).
    fn matches(self, value: &Value) -> Option<bool> {
        Some(match (self, value) {
            (Type::Integer, Value::Number(n)) if n.is_f64() => return None,
            (Type::Integer, Value::Number(_)) => true,
            (Type::Number, Value::Number(_)) => true,
            (Type::String, Value::String(_))
            | (Type::Boolean, Value::Bool(_))
            | (Type::Array, Value::Array(_))
            | (Type::Object, Value::Object(_))
            | (Type::Null, Value::Null) => true,
            _ => false,
        })
    }
}

impl Compiler<'_> {
    fn node(&mut self, schema: &Value, top: bool) -> Option<Node> {
        let map = schema.as_object()?;
        let mut node = Node::default();
        for (key, value) in map {
            let key = key.as_str();
            if key.starts_with("x-") || ANNOTATIONS.contains(&key) || (top && key == "$defs") {
                continue;
            }
            match key {
                "type" => {
                    node.types = Some(match value {
                        Value::String(name) => vec![Type::parse(name)?],
                        Value::Array(names) => names
                            .iter()
                            .map(|n| n.as_str().and_then(Type::parse))
                            .collect::<Option<_>>()?,
                        _ => return None,
                    });
                }
                "enum" => node.enum_values = Some(value.as_array()?.clone()),
                "minLength" => node.min_length = Some(value.as_u64()?),
                "maxLength" => node.max_length = Some(value.as_u64()?),
                "pattern" => node.pattern = Some(pattern(value.as_str()?)?),
                "minimum" => node.minimum = Some(value.as_i64()?),
                "maximum" => node.maximum = Some(value.as_i64()?),
                "minItems" => node.min_items = Some(value.as_u64()?),
                "maxItems" => node.max_items = Some(value.as_u64()?),
                "uniqueItems" => node.unique_items = value.as_bool()?,
                "items" => node.items = Some(self.child(value)?),
                "properties" => {
                    for (name, schema) in value.as_object()? {
                        let id = self.child(schema)?;
                        node.properties.push((name.clone(), id));
                    }
                }
                "required" => {
                    node.required = value
                        .as_array()?
                        .iter()
                        .map(|k| k.as_str().map(str::to_owned))
                        .collect::<Option<_>>()?;
                }
                "additionalProperties" => {
                    node.additional = match value {
                        Value::Bool(true) => Additional::Any,
                        Value::Bool(false) => Additional::Forbidden,
                        schema => Additional::Schema(self.child(schema)?),
                    };
                }
                "propertyNames" => node.property_names = Some(self.child(value)?),
                "oneOf" => {
                    for branch in value.as_array()? {
                        node.one_of.push(self.child(branch)?);
                    }
                }
                "dependentRequired" => {
                    for (name, needs) in value.as_object()? {
                        let needs = needs
                            .as_array()?
                            .iter()
                            .map(|k| k.as_str().map(str::to_owned))
                            .collect::<Option<_>>()?;
                        node.dependent_required.push((name.clone(), needs));
                    }
                }
                "$ref" => node.reference = Some(self.reference(value.as_str()?)?),
                _ => return None,
            }
        }
        Some(node)
    }

    fn child(&mut self, schema: &Value) -> Option<NodeId> {
        let node = self.node(schema, false)?;
        self.nodes.push(node);
        Some(self.nodes.len() - 1)
    }

    fn reference(&mut self, target: &str) -> Option<NodeId> {
        let name = target.strip_prefix("#/$defs/")?;
        if let Some(&id) = self.by_name.get(name) {
            return Some(id);
        }
        let schema = self.defs?.get(name)?;
        // Reserve the slot first, so that a definition may refer to itself.
        self.nodes.push(Node::default());
        let id = self.nodes.len() - 1;
        self.by_name.insert(name.to_owned(), id);
        self.nodes[id] = self.node(schema, false)?;
        Some(id)
    }
}

/// A compiled `pattern`.
#[derive(Clone, Debug)]
enum Pattern {
    Regex(Regex),
    /// One of [`KNOWN_PATTERNS`], matched by its function.
    Known(Matcher),
}

/// A hand-written matcher for one pattern.
type Matcher = fn(&str) -> bool;

impl Pattern {
    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Regex(r) => r.is_match(s),
            Pattern::Known(matches) => matches(s),
        }
    }
}

/// The bundled schema's patterns, each with a function that matches what
/// the expression matches. Compiling one regular expression costs about
/// 100,000 instructions (the domain pattern a million), most of a small
/// resolve's start-up; a test holds each function to its compiled
/// expression, and another checks that the bundled schema uses no other
/// pattern. A pattern not listed here is compiled as usual.
const KNOWN_PATTERNS: [(&str, Matcher); 6] = [
    (HOST_PATTERN, is_host_pattern),
    (ABSOLUTE_PATH, is_absolute_path),
    (ABSOLUTE_OR_HOME_PATH, is_absolute_or_home_path),
    (HTTP_URL, is_http_url),
    (HEADER_NAME, is_header_name),
    (SERVER_NAME, is_server_name),
];

/// An absolute POSIX path, or a Windows path with a drive letter.
const ABSOLUTE_PATH: &str = r"^(/|[A-Za-z]:[\\/])";
/// [`ABSOLUTE_PATH`], or a path under the home directory (`~/`).
const ABSOLUTE_OR_HOME_PATH: &str = r"^(/|~/|[A-Za-z]:[\\/])";
/// An `http` or `https` URL.
const HTTP_URL: &str = "^https?://";
/// An HTTP header name (an RFC 9110 token).
const HEADER_NAME: &str = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";
/// An MCP server name.
const SERVER_NAME: &str = "^[A-Za-z0-9_-]+$";

/// [`ABSOLUTE_PATH`]: `/`, or a letter, `:` and `\` or `/`. Bytes are
/// compared: an ASCII byte is never part of a longer UTF-8 character.
fn is_absolute_path(s: &str) -> bool {
    match s.as_bytes() {
        [b'/', ..] => true,
        [drive, b':', b'\\' | b'/', ..] => drive.is_ascii_alphabetic(),
        _ => false,
    }
}

/// [`ABSOLUTE_OR_HOME_PATH`].
fn is_absolute_or_home_path(s: &str) -> bool {
    s.starts_with("~/") || is_absolute_path(s)
}

/// [`HTTP_URL`].
fn is_http_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// [`HEADER_NAME`]: one or more token characters, and nothing else.
fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b))
}

/// [`SERVER_NAME`]: one or more letters, digits, `_` and `-`, and nothing else.
fn is_server_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The bundled schema's `domainPattern`: a host name, or `*.` and one. Its
/// bounded repetitions make a large automaton (about a million
/// instructions to compile, most of a small resolve's), so it is matched by
/// [`is_host_pattern`], which a test holds to the compiled expression.
const HOST_PATTERN: &str = r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$";

/// [`HOST_PATTERN`] without a regular expression: an optional `*.`, then
/// dot-separated labels of 1 to 63 ASCII letters, digits and hyphens that
/// start and end with a letter or digit.
fn is_host_pattern(s: &str) -> bool {
    let host = s.strip_prefix("*.").unwrap_or(s);
    // One pass: `label` is the length of the label so far, `last` its last
    // byte (a dot before the first).
    let mut label = 0;
    let mut last = b'.';
    for &b in host.as_bytes() {
        if b == b'.' {
            if label == 0 || last == b'-' {
                return false;
            }
            label = 0;
        } else if b.is_ascii_alphanumeric() || (b == b'-' && label > 0) {
            label += 1;
            if label > 63 {
                return false;
            }
        } else {
            return false;
        }
        last = b;
    }
    label > 0 && last != b'-'
}

/// A `pattern` whose matches are the same in ECMA-262 (what JSON Schema
/// means) and in the `regex` crate: `.` outside a class, letter and digit
/// escapes (`\d`, `\w`, `\b`, `\p{…}` …), nested classes and class set
/// operations (`&&`, `--`, `~~`), and anything the `regex` crate refuses are
/// left to the JSON Schema validator.
fn pattern(source: &str) -> Option<Pattern> {
    if let Some((_, matches)) = KNOWN_PATTERNS.iter().find(|(known, _)| *known == source) {
        return Some(Pattern::Known(*matches));
    }
    let mut chars = source.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) if escaped.is_ascii_punctuation() => {}
                _ => return None,
            },
            c if !c.is_ascii() => return None,
            '.' if !in_class => return None,
            '[' if in_class => return None, // a nested class in `regex`, a bracket in ECMA-262
            '[' => in_class = true,
            ']' => in_class = false,
            // Set operations in `regex`, plain characters in ECMA-262.
            '&' | '-' | '~' if in_class && chars.peek() == Some(&c) => return None,
            _ => {}
        }
    }
    // Settings share patterns (every list of domains uses the same one):
    // each is compiled once per process; a clone shares the program.
    static COMPILED: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(Mutex::default);
    if let Some(regex) = compiled.lock().ok().and_then(|c| c.get(source).cloned()) {
        return Some(Pattern::Regex(regex));
    }
    let regex = regex::RegexBuilder::new(source)
        .size_limit(1 << 20)
        .build()
        .ok()?;
    if let Ok(mut c) = compiled.lock() {
        c.insert(source.to_owned(), regex.clone());
    }
    Some(Pattern::Regex(regex))
}

#[cfg(test)]
mod tests {
    use crate::json;

    use super::*;

    /// What the JSON Schema validator says.
    fn reference(schema: &Value, value: &Value) -> bool {
        jsonschema::validator_for(&schema.into())
            .map(|v| v.is_valid(&value.into()))
            .unwrap_or(false)
    }

    /// Every bundled setting compiles for the subset, and the subset agrees
    /// with the JSON Schema validator on a battery of values: it never calls
    /// valid what the validator refuses, and calls valid what it accepts.
    #[test]
    fn agrees_with_the_json_schema_validator() {
        let schema = crate::Schema::bundled();
        let mut values = vec![
            json!(null),
            json!(true),
            json!(0),
            json!(1.5),
            json!(-3),
            json!(""),
            json!("x"),
            json!("/abs/path"),
            json!("~/home"),
            json!("C:\\dir"),
            json!("relative"),
            json!("https://otel.example/v1"),
            json!("ftp://x"),
            json!("github.com"),
            json!("*.npmjs.org"),
            json!("-bad-.com"),
            json!("a.b\nc"),
            json!("bad domain"),
            json!("x".repeat(300)),
            json!({"Authorization": "Bearer x"}),
            json!({"bad header": "x"}),
            json!({"X-Key": 3}),
            json!({"pattern": ["git", "push"], "decision": "forbidden"}),
            json!({"pattern": ["git"], "decision": "allow", "justification": "ok"}),
            json!({"pattern": [], "decision": "allow"}),
            json!({"pattern": ["git"], "decision": "maybe"}),
            json!({"pattern": ["git"]}),
            json!({"pattern": [""], "decision": "allow"}),
            json!({"pattern": ["git"], "decision": "allow", "extra": 1}),
            json!({"name": "docs", "command": "/opt/docs-mcp"}),
            json!({"name": "docs", "url": "https://mcp.example"}),
            json!({"name": "docs", "command": "x", "url": "https://mcp.example"}),
            json!({"name": "docs"}),
            json!({"name": "docs", "args": ["a"], "url": "https://mcp.example"}),
            json!({"name": "docs", "command": "x", "args": ["a"]}),
            json!({"name": "bad name", "command": "x"}),
            json!({"name": "docs", "url": "mailto:x"}),
        ];
        let singles = values.clone();
        values.extend(singles.iter().map(|v| json!([v])));
        values.push(json!([]));
        values.push(json!(["a", 1]));
        values.push(json!(["codex", "codex"]));
        values.push(json!(["codex", "gemini-cli"]));
        let mut compiled = 0;
        for setting in schema.settings() {
            let Some(subset) = Subset::compile(setting.node()) else {
                panic!("{}: outside the subset", setting.key)
            };
            compiled += 1;
            for value in &values {
                let expected = reference(setting.node(), value);
                let verdict = subset.check(value);
                assert_eq!(
                    verdict == Verdict::Valid,
                    expected,
                    "{}: {value}: subset {verdict:?}, JSON Schema {expected}",
                    setting.key
                );
            }
        }
        assert_eq!(compiled, schema.settings().count());
    }

    #[test]
    fn the_bundled_domain_pattern_is_the_host_pattern() {
        let schema: Value =
            serde_json::from_str(include_str!("../../schema/agent-policy.schema.json"))
                .expect("bundled schema");
        assert_eq!(
            schema["$defs"]["domainPattern"]["pattern"].as_str(),
            Some(HOST_PATTERN),
            "the hand-written matcher no longer stands for the bundled pattern"
        );
        let host = |s: &str| is_host_pattern(s);
        assert!(host("github.com") && host("*.npmjs.org") && host("A-1.b") && host("x"));
        let long = "a".repeat(63);
        assert!(host(&format!("{long}.com")));
        assert!(!host(&format!("a{long}.com")));
        for bad in [
            "", "*.", "*", "a.", ".a", "a..b", "-a.com", "a-.com", "*.*.a", "a_b.com", "é.com",
            "a.com\n",
        ] {
            assert!(!host(bad), "{bad:?}");
        }
    }

    /// Every pattern of the bundled schema has a hand-written matcher.
    #[test]
    fn every_bundled_pattern_is_known() {
        fn patterns<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    for (key, child) in map {
                        match (key.as_str(), child) {
                            ("pattern", Value::String(p)) => out.push(p),
                            _ => patterns(child, out),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| patterns(v, out)),
                _ => {}
            }
        }
        let schema: Value =
            serde_json::from_str(include_str!("../../schema/agent-policy.schema.json"))
                .expect("bundled schema");
        let mut found = Vec::new();
        patterns(&schema, &mut found);
        assert!(found.len() >= KNOWN_PATTERNS.len(), "{found:?}");
        for p in found {
            assert!(
                KNOWN_PATTERNS.iter().any(|(known, _)| *known == p),
                "{p:?} has no hand-written matcher: add one to KNOWN_PATTERNS"
            );
            assert!(matches!(pattern(p), Some(Pattern::Known(_))), "{p:?}");
        }
    }

    /// Each hand-written matcher against its compiled expression, on
    /// strings near the edges it tests.
    #[test]
    fn the_known_matchers_are_their_expressions() {
        let samples = [
            "",
            "/",
            "//",
            "/x",
            "~",
            "~/",
            "~/x",
            "~x",
            "C:",
            "C:/",
            "C:\\",
            "c:\\x",
            "C;/",
            "1:/",
            "é:/",
            "C:x",
            " /",
            "x/",
            "http://",
            "https://",
            "http:/",
            "https:",
            "HTTP://x",
            "httpx://",
            "http://x",
            "ftp://x",
            "a",
            "A-1",
            "a_b",
            "a b",
            "a.b",
            "X-Key",
            "x!#$%&'*+.^_`|~-",
            "a\n",
            "a\nb",
            "é",
            "a,b",
            "a:b",
            "a/b",
            "-",
            "_",
            "(x)",
            "[x]",
            "\"",
            "a\u{0}",
        ];
        for (source, matches) in KNOWN_PATTERNS {
            let regex = Regex::new(source).expect("compiles");
            for s in samples {
                assert_eq!(matches(s), regex.is_match(s), "{source}: {s:?}");
            }
        }
    }

    proptest::proptest! {
        /// The hand-written matchers and the compiled expressions agree.
        #[test]
        fn the_known_matchers_agree_with_the_expressions(
            s in "[/~:\\\\a-zA-Z0-9 !#$%&'*+.^_`|~()-]{0,6}|(https?|HTTP|ftp)://?[a-z]{0,3}|.{0,4}"
        ) {
            for (source, matches) in KNOWN_PATTERNS {
                let regex = Regex::new(source).expect("compiles");
                proptest::prop_assert_eq!(matches(&s), regex.is_match(&s), "{}: {:?}", source, s);
            }
        }

        /// The length bounds settled from the byte length agree with
        /// counting the characters.
        #[test]
        fn length_bounds_agree_with_counting_characters(
            s in "[aé\u{10348}\u{20ac}]{0,12}",
            min in proptest::option::of(0u64..14),
            max in proptest::option::of(0u64..14),
        ) {
            let chars = s.chars().count() as u64;
            let counted = min.is_none_or(|m| chars >= m) && max.is_none_or(|m| chars <= m);
            proptest::prop_assert_eq!(length_within(&s, min, max), counted);
        }

        /// The hand-written matcher and the compiled expression agree.
        #[test]
        fn the_host_matcher_is_the_expression(
            s in "(\\*\\.)?[a-zA-Z0-9.*_-]{0,12}|([a-z0-9-]{0,3}\\.){0,3}[a-z0-9-]{60,66}"
        ) {
            let regex = Regex::new(HOST_PATTERN).expect("compiles");
            proptest::prop_assert_eq!(is_host_pattern(&s), regex.is_match(&s), "{:?}", s);
        }
    }

    #[test]
    fn unknown_keywords_and_risky_patterns_are_not_compiled() {
        assert!(Subset::compile(&json!({"type": "string", "contains": {}})).is_none());
        assert!(Subset::compile(&json!({"type": "string", "pattern": "^a.b$"})).is_none());
        assert!(Subset::compile(&json!({"type": "string", "pattern": "^\\d+$"})).is_none());
        assert!(Subset::compile(&json!({"$ref": "https://example.com/s"})).is_none());
        let ok =
            Subset::compile(&json!({"type": "string", "pattern": "^a\\.b$"})).expect("compiles");
        assert_eq!(ok.check(&json!("a.b")), Verdict::Valid);
        assert_eq!(ok.check(&json!("axb")), Verdict::Ask);
    }

    #[test]
    fn undecided_cases_are_asked() {
        let integer = Subset::compile(&json!({"type": "integer", "minimum": 1})).expect("compiles");
        assert_eq!(integer.check(&json!(2)), Verdict::Valid);
        assert_eq!(integer.check(&json!(2.0)), Verdict::Ask);
        assert_eq!(integer.check(&json!(0)), Verdict::Ask);
        let numbers = Subset::compile(&json!({"enum": [1, 2]})).expect("compiles");
        assert_eq!(numbers.check(&json!(1)), Verdict::Ask);
        let unique =
            Subset::compile(&json!({"type": "array", "uniqueItems": true})).expect("compiles");
        assert_eq!(unique.check(&json!(["a", "b"])), Verdict::Valid);
        assert_eq!(unique.check(&json!(["a", "a"])), Verdict::Ask);
        assert_eq!(unique.check(&json!([1, 2])), Verdict::Ask);
        let recursive = Subset::compile(&json!({
            "$ref": "#/$defs/tree",
            "$defs": {"tree": {"type": "array", "items": {"$ref": "#/$defs/tree"}}}
        }))
        .expect("compiles");
        assert_eq!(recursive.check(&json!([[[]], []])), Verdict::Valid);
        assert_eq!(recursive.check(&json!([[1]])), Verdict::Ask);
    }
}
