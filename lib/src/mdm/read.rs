//! Reading `/Library/Managed Preferences/<domain>.plist` (the `mdm` and
//! `mdm-user` sources).
//!
//! The plist's root dictionary may hold:
//!
//! | key            | holds                                                                  |
//! |----------------|------------------------------------------------------------------------|
//! | `Policy`       | a signed bundle (JSON with `payloadType`) or a policy document (TOML): as a string, a base64 string, or `<data>` |
//! | `TrustRoot`    | the bytes of a `trust.toml`, in the same three forms                   |
//! | `TrustRootChain` | an `<array>` of trust roots (same forms) between a machine's pinned version and `TrustRoot`'s, so a Mac that missed rotations catches up |
//! | `Settings`     | native managed defaults: setting keys, dotted (`sandbox.mode`) or nested (`sandbox` → `mode`) |
//! | `Requirements` | native constraints: `sandbox.mode` → `{ allowed = [...] }`, keys dotted or nested |
//! | `Payload…`, `mcx_…` | metadata some tools leave behind; ignored                          |
//!
//! Any other key is an error. Native values are converted to JSON guided by
//! the setting schema: an `<integer>` is accepted where a number is
//! expected, a `<real>` with an integral value where an integer is expected,
//! a `<date>` becomes an RFC 3339 string and `<data>` a base64 string. Values
//! are never coerced across types: `<string>true</string>` for a boolean
//! setting is an error.

use std::collections::BTreeMap;

use crate::value::{Map, Value as Json};
use plist::{Dictionary, Value};

use super::parse::{decode_base64_text, describe, integer_json, parse_plist, to_json};
use super::{POLICY_KEY, REQUIREMENTS_KEY, SETTINGS_KEY, TRUST_ROOT_CHAIN_KEY, TRUST_ROOT_KEY};
use crate::document::{Locate, TomlTree};
use crate::error::{DocumentErrors, Problem};
use crate::layer::Layer;
use crate::schema::Schema;
use crate::source::{Location, SourceKind};

/// A policy found under the `Policy` key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyPayload {
    /// A signed bundle (the JSON envelope, exactly as found, base64 decoded
    /// if it was given that way). Not yet verified: verify it before use.
    Bundle(Vec<u8>),
    /// A policy document (TOML), already checked against the schema.
    Document(String),
}

/// What one managed preferences plist holds.
#[derive(Clone, Debug)]
pub struct MdmContent {
    /// The `Policy` key, when present.
    pub policy: Option<PolicyPayload>,
    /// The `TrustRoot` key: the bytes of a `trust.toml`, when present.
    pub trust_root: Option<Vec<u8>>,
    /// The `TrustRootChain` key: intermediate trust roots (unverified bytes;
    /// only a rotation walk from the pinned root gives them any weight).
    pub trust_root_chain: Vec<Vec<u8>>,
    /// The native `Settings` and `Requirements` dictionaries as a layer, when
    /// either is present. Entries are located by plist key path, such as
    /// `/Library/Managed Preferences/dev.mandate.plist: Requirements > sandbox.mode`.
    pub native: Option<Layer>,
}

impl MdmContent {
    /// Whether the plist holds nothing `mandate` uses.
    pub fn is_empty(&self) -> bool {
        self.policy.is_none() && self.trust_root.is_none() && self.native.is_none()
    }
}

/// The origin under which a policy document found in the plist at `origin`
/// is reported: `/Library/Managed Preferences/dev.mandate.plist > Policy`, so
/// that a line in it reads `… > Policy:4:1`.
pub fn document_origin(origin: &str) -> Location {
    Location::new(origin).with_detail(POLICY_KEY)
}

/// Locates keys of the native tree by plist key path.
struct PlistLocator {
    origin: Location,
}

impl Locate for PlistLocator {
    fn locate(&self, path: &[String]) -> Location {
        let parts: Vec<&str> = path
            .iter()
            .enumerate()
            .map(|(i, part)| match (i, part.as_str()) {
                (0, "settings") => SETTINGS_KEY,
                (0, "requirements") => REQUIREMENTS_KEY,
                (_, other) => other,
            })
            .collect();
        if parts.is_empty() {
            self.origin.clone()
        } else {
            self.origin.with_detail(parts.join(" > "))
        }
    }
}

/// Reads the bytes of a managed preferences plist (XML or binary).
///
/// `source` is [`SourceKind::Mdm`] or [`SourceKind::MdmUser`]; `origin` is
/// the real path of the file, used in every location and message. Every
/// problem found is returned, each located by plist key path. A bundle under
/// `Policy` is recognised but not verified (that needs the trust root); a
/// policy document is parsed and checked against `schema`.
///
/// ```
/// use mandate::mdm::read_managed_plist;
/// use mandate::{Schema, SourceKind};
///
/// let plist = br#"<?xml version="1.0" encoding="UTF-8"?>
/// <plist version="1.0"><dict>
///   <key>Requirements</key>
///   <dict><key>sandbox.mode</key><dict><key>allowed</key><array><string>read-only</string></array></dict></dict>
/// </dict></plist>"#;
/// let origin = "/Library/Managed Preferences/dev.mandate.plist";
/// let content = read_managed_plist(Schema::bundled(), SourceKind::Mdm, origin, plist)?;
/// let layer = content.native.expect("native dictionaries");
/// assert_eq!(layer.requirements[0].key, "sandbox.mode");
/// assert_eq!(
///     layer.requirements[0].location.to_string(),
///     "/Library/Managed Preferences/dev.mandate.plist: Requirements > sandbox.mode"
/// );
/// # Ok::<(), mandate::error::DocumentErrors>(())
/// ```
pub fn read_managed_plist(
    schema: &Schema,
    source: SourceKind,
    origin: &str,
    bytes: &[u8],
) -> Result<MdmContent, DocumentErrors> {
    let locator = PlistLocator {
        origin: Location::new(origin),
    };
    let whole = |message: String| {
        DocumentErrors(vec![Problem {
            location: Location::new(origin),
            key: None,
            message,
        }])
    };
    let parsed = parse_plist(bytes).map_err(|e| whole(e.to_string()))?;
    let Value::Dictionary(root) = parsed.value else {
        return Err(whole(format!(
            "the root of a managed preferences plist must be a <dict>, found {}",
            describe(&parsed.value)
        )));
    };

    if root.get("PayloadType").and_then(Value::as_string) == Some("Configuration") {
        return Err(whole(
            "a configuration profile (.mobileconfig), not a managed preferences plist: install it with the MDM, then read the file macOS writes"
                .into(),
        ));
    }
    let mut problems = Vec::new();
    let mut content = MdmContent {
        policy: None,
        trust_root: None,
        trust_root_chain: Vec::new(),
        native: None,
    };
    let mut tree = Map::new();
    for (key, value) in &root {
        let at = |message: String| Problem {
            location: locator.origin.with_detail(key.clone()),
            key: None,
            message,
        };
        match key.as_str() {
            POLICY_KEY => match policy_payload(schema, source, origin, value) {
                Ok(policy) => content.policy = Some(policy),
                Err(mut errors) => problems.append(&mut errors),
            },
            TRUST_ROOT_KEY => match trust_root(origin, TRUST_ROOT_KEY, value) {
                Ok(bytes) => content.trust_root = Some(bytes),
                Err(problem) => problems.push(problem),
            },
            TRUST_ROOT_CHAIN_KEY => {
                let Value::Array(items) = value else {
                    problems.push(at(format!(
                        "`{key}` must be an <array> of trust roots, found {}",
                        describe(value)
                    )));
                    continue;
                };
                for (i, item) in items.iter().enumerate() {
                    match trust_root(origin, &format!("{TRUST_ROOT_CHAIN_KEY} > {i}"), item) {
                        Ok(bytes) => content.trust_root_chain.push(bytes),
                        Err(problem) => problems.push(problem),
                    }
                }
            }
            SETTINGS_KEY | REQUIREMENTS_KEY => {
                let table = if key == SETTINGS_KEY {
                    "settings"
                } else {
                    "requirements"
                };
                let Value::Dictionary(dict) = value else {
                    problems.push(at(format!(
                        "`{key}` must be a <dict>, found {}",
                        describe(value)
                    )));
                    continue;
                };
                let mut path = vec![table.to_owned()];
                let converted = if table == "settings" {
                    settings_tree(schema, dict, "", &mut path, &locator, &mut problems)
                } else {
                    requirements_tree(schema, dict, "", &mut path, &locator, &mut problems)
                };
                tree.insert(table.to_owned(), Json::Object(converted));
            }
            other if other.starts_with("Payload") || other.starts_with("mcx_") => {}
            other => {
                let known = [
                    POLICY_KEY,
                    TRUST_ROOT_KEY,
                    TRUST_ROOT_CHAIN_KEY,
                    SETTINGS_KEY,
                    REQUIREMENTS_KEY,
                ];
                let hint = known
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(other))
                    .map(|k| format!(" (did you mean `{k}`? keys are case-sensitive)"))
                    .unwrap_or_default();
                problems.push(at(format!(
                    "unknown key `{other}`{hint}: a mandate managed preferences plist holds {POLICY_KEY}, {TRUST_ROOT_KEY}, {TRUST_ROOT_CHAIN_KEY}, {SETTINGS_KEY} and {REQUIREMENTS_KEY}"
                )));
            }
        }
    }
    if !tree.is_empty() {
        match Layer::from_policy_tree(schema, source, Location::new(origin), &tree, &locator) {
            Ok(layer) => {
                problems.extend(twice(&layer));
                content.native = Some(layer);
            }
            Err(mut errors) => problems.append(&mut errors.0),
        }
    }
    if problems.is_empty() {
        Ok(content)
    } else {
        Err(DocumentErrors(problems))
    }
}

/// A setting given twice, once dotted and once nested (`sandbox.mode` and
/// `sandbox` → `mode`): TOML refuses that as a duplicate key, and so do we.
fn twice(layer: &Layer) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut check = |entries: Vec<(&String, &Location)>| {
        let mut seen: BTreeMap<&String, &Location> = BTreeMap::new();
        for (key, location) in entries {
            if let Some(first) = seen.insert(key, location) {
                problems.push(Problem {
                    location: location.clone(),
                    key: Some(key.clone()),
                    message: format!(
                        "\"{key}\" is given twice, here and at {}; keep one",
                        first.plist_key().unwrap_or(&first.origin)
                    ),
                });
            }
        }
    };
    check(
        layer
            .settings
            .iter()
            .map(|e| (&e.key, &e.location))
            .collect(),
    );
    check(
        layer
            .requirements
            .iter()
            .map(|e| (&e.key, &e.location))
            .collect(),
    );
    problems
}

/// Text or bytes under `Policy` or `TrustRoot`, whatever form they were given in.
enum Given {
    /// A `<string>` that was not base64.
    Text(String),
    /// `<data>`, or a base64 `<string>`, decoded.
    Bytes(Vec<u8>),
}

fn given(origin: &str, key: &str, value: &Value, what: &str) -> Result<Given, Problem> {
    let at = Location::new(origin).with_detail(key);
    match value {
        Value::String(text) if text.trim().is_empty() => Err(Problem {
            location: at,
            key: None,
            message: format!("`{key}` is empty"),
        }),
        Value::String(text) if text.trim_start().starts_with('{') => Ok(Given::Text(text.clone())),
        Value::String(text) => {
            Ok(decode_base64_text(text).map_or_else(|| Given::Text(text.clone()), Given::Bytes))
        }
        Value::Data(bytes) => Ok(Given::Bytes(bytes.clone())),
        other => Err(Problem {
            location: at,
            key: None,
            message: format!(
                "`{key}` must be {what} as a <string>, a base64 <string> or <data>, found {}",
                describe(other)
            ),
        }),
    }
}

fn policy_payload(
    schema: &Schema,
    source: SourceKind,
    origin: &str,
    value: &Value,
) -> Result<PolicyPayload, Vec<Problem>> {
    let at = Location::new(origin).with_detail(POLICY_KEY);
    let problem = |message: String| {
        vec![Problem {
            location: at.clone(),
            key: None,
            message,
        }]
    };
    let text = match given(
        origin,
        POLICY_KEY,
        value,
        "a signed bundle or a policy document",
    )
    .map_err(|p| vec![p])?
    {
        Given::Text(text) => text,
        Given::Bytes(bytes) => {
            let start = bytes
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(bytes.len());
            if bytes[start..].starts_with(b"{") {
                check_bundle(&bytes).map_err(problem)?;
                return Ok(PolicyPayload::Bundle(bytes));
            }
            String::from_utf8(bytes).map_err(|_| {
                problem(
                    "`Policy` decodes to bytes that are neither a signed bundle (JSON) nor a policy document (UTF-8 TOML)"
                        .into(),
                )
            })?
        }
    };
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text);
    if text.trim_start().starts_with('{') {
        let bytes = text.trim().as_bytes().to_vec();
        check_bundle(&bytes).map_err(problem)?;
        return Ok(PolicyPayload::Bundle(bytes));
    }
    match Layer::parse_policy(schema, source, document_origin(origin), &text) {
        Ok(_) => Ok(PolicyPayload::Document(text)),
        Err(errors) => {
            let mut problems = errors.0;
            if problems
                .iter()
                .any(|p| p.message.starts_with("TOML parse error"))
            {
                for p in &mut problems {
                    p.message.push_str(
                        " (`Policy` must be a signed bundle, a policy document, or either encoded as base64)",
                    );
                }
            }
            Err(problems)
        }
    }
}

/// Checks that `bytes` are shaped like a bundle envelope (a JSON object with
/// a string `payloadType`); the signatures are verified later.
fn check_bundle(bytes: &[u8]) -> Result<(), String> {
    let value: Json = serde_json::from_slice(bytes).map_err(|e| {
        format!("`Policy` starts with `{{`, so it should be a signed bundle, but it is not valid JSON: {e}")
    })?;
    match value.get("payloadType") {
        Some(Json::String(_)) => Ok(()),
        _ => Err(
            "`Policy` is JSON but not a signed bundle: a bundle is an object with `payloadType`, `payload` and `signatures` (made by `mandate sign`)"
                .into(),
        ),
    }
}

fn trust_root(origin: &str, key: &str, value: &Value) -> Result<Vec<u8>, Problem> {
    let bytes = match given(origin, key, value, "a trust root (the text of trust.toml)")? {
        Given::Text(text) => text.into_bytes(),
        Given::Bytes(bytes) => bytes,
    };
    let problem = |message: String| Problem {
        location: Location::new(origin).with_detail(key),
        key: None,
        message,
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        problem(format!(
            "`{key}` is not UTF-8 text: it must hold the text of a trust.toml"
        ))
    })?;
    TomlTree::parse(Location::new(origin).with_detail(key), text)?;
    Ok(bytes)
}

/// What a plist value is expected to be, from the setting schema.
#[derive(Clone, Copy)]
enum Expect<'a> {
    /// No guidance: convert as is.
    Any,
    /// A JSON Schema node.
    Node(&'a Json),
    /// A list whose elements follow the node.
    ListOf(&'a Json),
    /// A string (`pattern`).
    Text,
}

/// The schema node of the setting `key`.
pub(crate) fn setting_node<'a>(schema: &'a Schema, key: &str) -> Option<&'a Json> {
    let mut node = schema.raw();
    for part in key.split('.') {
        node = node.get("properties")?.get(part)?;
    }
    Some(node)
}

struct Converter<'a, 'p> {
    schema: &'a Schema,
    locator: &'p PlistLocator,
    problems: &'p mut Vec<Problem>,
}

impl Converter<'_, '_> {
    fn fail(&mut self, path: &[String], key: Option<&str>, message: String) -> Option<Json> {
        self.problems.push(Problem {
            location: self.locator.locate(path),
            key: key.map(str::to_owned),
            message,
        });
        None
    }

    /// Converts `value`, reporting a type mismatch at `path` (and returning `None`).
    fn convert(
        &mut self,
        value: &Value,
        expect: Expect<'_>,
        path: &mut Vec<String>,
        key: &str,
    ) -> Option<Json> {
        let node = match expect {
            Expect::Any => return self.generic(value, path, key),
            Expect::Text => {
                return match value {
                    Value::String(_) => self.generic(value, path, key),
                    _ => self.fail(
                        path,
                        Some(key),
                        format!(
                            "\"{key}\": expected a regular expression as a <string>, found {}",
                            describe(value)
                        ),
                    ),
                };
            }
            Expect::ListOf(items) => {
                let Value::Array(values) = value else {
                    return self.fail(
                        path,
                        Some(key),
                        format!(
                            "\"{key}\": expected a list (<array>), found {}",
                            describe(value)
                        ),
                    );
                };
                return self.list(values, Some(items), path, key);
            }
            Expect::Node(node) => node,
        };
        let node = self.schema.resolve_ref(node);
        let Some(kind) = node.get("type").and_then(Json::as_str) else {
            return self.generic(value, path, key);
        };
        let mismatch =
            |expected: &str| format!("\"{key}\": expected {expected}, found {}", describe(value));
        match (kind, value) {
            ("boolean", Value::Boolean(b)) => Some(Json::Bool(*b)),
            ("boolean", _) => {
                let hint = match value {
                    Value::String(s)
                        if matches!(s.as_str(), "true" | "false" | "YES" | "NO" | "yes" | "no") =>
                    {
                        " (a string is not a boolean)"
                    }
                    Value::Integer(_) => " (an integer is not a boolean)",
                    _ => "",
                };
                self.fail(
                    path,
                    Some(key),
                    format!("{}{hint}", mismatch("a boolean, <true/> or <false/>")),
                )
            }
            ("integer", Value::Integer(i)) => Some(integer_json(*i)),
            ("integer", Value::Real(r))
                if r.is_finite() && r.fract() == 0.0 && r.abs() < 9.0e15 =>
            {
                Some(Json::Number((*r as i64).into()))
            }
            ("integer", _) => self.fail(path, Some(key), mismatch("an integer (<integer>)")),
            ("number", Value::Integer(i)) => Some(integer_json(*i)),
            ("number", Value::Real(_)) => self.generic(value, path, key),
            ("number", _) => self.fail(path, Some(key), mismatch("a number (<integer> or <real>)")),
            ("string", Value::String(_) | Value::Date(_) | Value::Data(_)) => {
                self.generic(value, path, key)
            }
            ("string", _) => self.fail(path, Some(key), mismatch("a string (<string>)")),
            ("array", Value::Array(values)) => self.list(values, node.get("items"), path, key),
            ("array", _) => self.fail(path, Some(key), mismatch("a list (<array>)")),
            ("object", Value::Dictionary(dict)) => {
                let mut out = Map::new();
                for (name, inner) in dict {
                    let child = node
                        .get("properties")
                        .and_then(|p| p.get(name))
                        .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()));
                    path.push(name.clone());
                    let expect = child.map_or(Expect::Any, Expect::Node);
                    if let Some(converted) = self.convert(inner, expect, path, key) {
                        out.insert(name.clone(), converted);
                    }
                    path.pop();
                }
                Some(Json::Object(out))
            }
            ("object", _) => self.fail(path, Some(key), mismatch("a dictionary (<dict>)")),
            _ => self.generic(value, path, key),
        }
    }

    fn list(
        &mut self,
        values: &[Value],
        items: Option<&Json>,
        path: &mut Vec<String>,
        key: &str,
    ) -> Option<Json> {
        let mut out = Vec::with_capacity(values.len());
        let mut ok = true;
        for (i, item) in values.iter().enumerate() {
            path.push(i.to_string());
            match self.convert(item, items.map_or(Expect::Any, Expect::Node), path, key) {
                Some(converted) => out.push(converted),
                None => ok = false,
            }
            path.pop();
        }
        ok.then_some(Json::Array(out))
    }

    fn generic(&mut self, value: &Value, path: &[String], key: &str) -> Option<Json> {
        match to_json(value) {
            Ok(json) => Some(json),
            Err(message) => self.fail(path, Some(key), format!("\"{key}\": {message}")),
        }
    }
}

fn join_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Converts the `Settings` dictionary: setting values by the setting's type,
/// groups recursively, anything else as is (the layer walker reports unknown keys).
fn settings_tree(
    schema: &Schema,
    dict: &Dictionary,
    prefix: &str,
    path: &mut Vec<String>,
    locator: &PlistLocator,
    problems: &mut Vec<Problem>,
) -> Map {
    let mut out = Map::new();
    for (name, value) in dict {
        let key = join_key(prefix, name);
        path.push(name.clone());
        let converted = match (schema.get(&key), value) {
            (Some(_), _) => {
                let node = setting_node(schema, &key);
                let mut converter = Converter {
                    schema,
                    locator,
                    problems,
                };
                converter.convert(value, node.map_or(Expect::Any, Expect::Node), path, &key)
            }
            (None, Value::Dictionary(inner)) if schema.is_group(&key) => Some(Json::Object(
                settings_tree(schema, inner, &key, path, locator, problems),
            )),
            (None, _) => Converter {
                schema,
                locator,
                problems,
            }
            .generic(value, path, &key),
        };
        if let Some(converted) = converted {
            out.insert(name.clone(), converted);
        }
        path.pop();
    }
    out
}

/// Converts the `Requirements` dictionary: each setting's operators by what
/// they hold. An empty dictionary for a setting (what a form leaves when no
/// operator was filled in) constrains nothing and is left out.
fn requirements_tree(
    schema: &Schema,
    dict: &Dictionary,
    prefix: &str,
    path: &mut Vec<String>,
    locator: &PlistLocator,
    problems: &mut Vec<Problem>,
) -> Map {
    let mut out = Map::new();
    for (name, value) in dict {
        let key = join_key(prefix, name);
        path.push(name.clone());
        let mut converter = Converter {
            schema,
            locator,
            problems,
        };
        let converted = match (schema.get(&key), value) {
            (Some(_), Value::Dictionary(ops)) if ops.is_empty() => None,
            (Some(setting), Value::Dictionary(ops)) => {
                let node = setting_node(schema, &key);
                let items = node
                    .map(|n| schema.resolve_ref(n))
                    .and_then(|n| n.get("items"));
                let mut table = Map::new();
                let mut ok = true;
                for (op, operand) in ops {
                    let expect = match (op.as_str(), node) {
                        ("value" | "default" | "min" | "max", Some(node)) => Expect::Node(node),
                        ("allowed" | "denied", Some(node)) => Expect::ListOf(node),
                        ("includes" | "within" | "excludes", _)
                            if setting.kind == crate::schema::Kind::Array =>
                        {
                            items.map_or(Expect::Any, Expect::ListOf)
                        }
                        ("pattern", _) => Expect::Text,
                        _ => Expect::Any,
                    };
                    path.push(op.clone());
                    match converter.convert(operand, expect, path, &key) {
                        Some(converted) => {
                            table.insert(op.clone(), converted);
                        }
                        None => ok = false,
                    }
                    path.pop();
                }
                ok.then_some(Json::Object(table))
            }
            (None, Value::Dictionary(inner)) if schema.is_group(&key) => {
                let nested =
                    requirements_tree(schema, inner, &key, path, locator, converter.problems);
                Some(Json::Object(nested))
            }
            _ => converter.generic(value, path, &key),
        };
        if let Some(converted) = converted {
            out.insert(name.clone(), converted);
        }
        path.pop();
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use crate::json;
    use base64::Engine as _;

    use super::*;

    const ORIGIN: &str = "/Library/Managed Preferences/dev.mandate.plist";

    fn xml(body: &str) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n{body}\n</dict>\n</plist>\n"
        )
        .into_bytes()
    }

    fn read(body: &str) -> Result<MdmContent, DocumentErrors> {
        read_managed_plist(Schema::bundled(), SourceKind::Mdm, ORIGIN, &xml(body))
    }

    fn errors(body: &str) -> String {
        read(body).expect_err("should fail").to_string()
    }

    const DOC: &str = "[policy]\nid = \"acme\"\nversion = 3\n\n[requirements]\n\"sandbox.mode\" = { allowed = [\"read-only\"] }\n";

    #[test]
    fn native_settings_dotted_and_nested() {
        let content = read(
            "<key>Settings</key><dict>
               <key>sandbox.mode</key><string>read-only</string>
               <key>sandbox</key><dict><key>network</key><false/></dict>
               <key>approvals</key><dict><key>policy</key><string>untrusted</string></dict>
             </dict>",
        )
        .unwrap();
        let layer = content.native.unwrap();
        assert_eq!(layer.source, SourceKind::Mdm);
        let found: Vec<(String, Json, String)> = layer
            .settings
            .iter()
            .map(|e| (e.key.clone(), e.value.clone(), e.location.to_string()))
            .collect();
        assert!(found.contains(&(
            "sandbox.mode".into(),
            json!("read-only"),
            format!("{ORIGIN}: Settings > sandbox.mode")
        )));
        assert!(found.contains(&(
            "sandbox.network".into(),
            json!(false),
            format!("{ORIGIN}: Settings > sandbox > network")
        )));
        assert!(found.contains(&(
            "approvals.policy".into(),
            json!("untrusted"),
            format!("{ORIGIN}: Settings > approvals > policy")
        )));
        assert!(content.policy.is_none() && content.trust_root.is_none());
    }

    #[test]
    fn native_requirements_with_locations() {
        let content = read(
            "<key>Requirements</key><dict>
               <key>sandbox.mode</key><dict><key>allowed</key><array><string>read-only</string><string>workspace-write</string></array><key>default</key><string>read-only</string></dict>
               <key>network</key><dict><key>denied_domains</key><dict><key>includes</key><array><string>pastebin.com</string></array></dict></dict>
               <key>commands.rules</key><dict><key>includes</key><array><dict>
                   <key>pattern</key><array><string>sudo</string></array><key>decision</key><string>forbidden</string></dict></array></dict>
               <key>auth.method</key><dict/>
             </dict>",
        )
        .unwrap();
        let layer = content.native.unwrap();
        let keys: Vec<(&str, String)> = layer
            .requirements
            .iter()
            .map(|e| (e.key.as_str(), e.location.to_string()))
            .collect();
        assert_eq!(
            keys,
            [
                (
                    "commands.rules",
                    format!("{ORIGIN}: Requirements > commands.rules")
                ),
                (
                    "network.denied_domains",
                    format!("{ORIGIN}: Requirements > network > denied_domains")
                ),
                (
                    "sandbox.mode",
                    format!("{ORIGIN}: Requirements > sandbox.mode")
                ),
            ]
        );
        let mode = &layer.requirements[2].value;
        assert_eq!(
            mode.allowed.as_deref(),
            Some(&[json!("read-only"), json!("workspace-write")][..])
        );
        assert_eq!(mode.default, Some(json!("read-only")));
    }

    #[test]
    fn constraint_errors_name_the_plist_path() {
        let e = errors(
            "<key>Requirements</key><dict><key>sandbox.mode</key><dict><key>allowed</key><array><string>everything</string></array></dict></dict>",
        );
        assert!(
            e.starts_with(&format!(
                "{ORIGIN}: Requirements > sandbox.mode > allowed: "
            )),
            "{e}"
        );
        let e = errors(
            "<key>Requirements</key><dict><key>sandbox.mode</key><dict><key>sometimes</key><true/></dict></dict>",
        );
        assert!(e.contains("Requirements > sandbox.mode > sometimes"), "{e}");
        let e = errors(
            "<key>Settings</key><dict><key>sandbox.mod</key><string>read-only</string></dict>",
        );
        assert!(e.contains("Settings > sandbox.mod: unknown setting \"sandbox.mod\" (did you mean \"sandbox.mode\"?)"), "{e}");
    }

    #[test]
    fn a_setting_given_twice_is_an_error() {
        let e = errors(
            "<key>Settings</key><dict>
               <key>sandbox.mode</key><string>read-only</string>
               <key>sandbox</key><dict><key>mode</key><string>full-access</string></dict>
             </dict>",
        );
        assert_eq!(
            e,
            format!(
                "{ORIGIN}: Settings > sandbox.mode: \"sandbox.mode\" is given twice, here and at Settings > sandbox > mode; keep one"
            )
        );
        let e = errors(
            "<key>Requirements</key><dict>
               <key>sandbox.network</key><dict><key>value</key><false/></dict>
               <key>sandbox</key><dict><key>network</key><dict><key>value</key><true/></dict></dict>
             </dict>",
        );
        assert!(e.contains("\"sandbox.network\" is given twice"), "{e}");
    }

    #[test]
    fn types_are_converted_by_the_schema_never_coerced() {
        let e = errors(
            "<key>Settings</key><dict><key>sandbox.network</key><string>true</string></dict>",
        );
        assert_eq!(
            e,
            format!(
                "{ORIGIN}: Settings > sandbox.network: \"sandbox.network\": expected a boolean, <true/> or <false/>, found <string>true</string> (a string is not a boolean)"
            )
        );
        let e = errors(
            "<key>Settings</key><dict><key>sandbox.network</key><integer>1</integer></dict>",
        );
        assert!(e.contains("an integer is not a boolean"), "{e}");
        let e = errors("<key>Settings</key><dict><key>sandbox.mode</key><array/></dict>");
        assert!(
            e.contains("expected a string (<string>), found an <array>"),
            "{e}"
        );
        let e = errors(
            "<key>Settings</key><dict><key>network.allowed_domains</key><array><string>a.com</string><integer>3</integer></array></dict>",
        );
        assert!(e.contains("Settings > network.allowed_domains > 1:"), "{e}");
        let e = errors(
            "<key>Requirements</key><dict><key>sandbox.network</key><dict><key>value</key><string>no</string></dict></dict>",
        );
        assert!(e.contains("Requirements > sandbox.network > value:"), "{e}");
        // Enum values are still checked by the schema.
        let e =
            errors("<key>Settings</key><dict><key>sandbox.mode</key><string>chaos</string></dict>");
        assert!(e.contains("\"chaos\" is not one of"), "{e}");
    }

    #[test]
    fn numbers_dates_and_data() {
        let schema = Schema::from_json(
            "test.json",
            r#"{"type": "object", "properties": {
                "n": {"type": "integer", "x-mandate-lockdown": 0},
                "f": {"type": "number", "x-mandate-lockdown": 0},
                "when": {"type": "string", "x-mandate-lockdown": null},
                "blob": {"type": "string", "x-mandate-lockdown": null}
            }}"#,
        )
        .unwrap();
        let body = "<key>Settings</key><dict>
            <key>n</key><real>3</real>
            <key>f</key><integer>2</integer>
            <key>when</key><date>2027-06-01T00:00:00Z</date>
            <key>blob</key><data>aGk=</data>
          </dict>";
        let layer = read_managed_plist(&schema, SourceKind::MdmUser, ORIGIN, &xml(body))
            .unwrap()
            .native
            .unwrap();
        let values: Map = layer
            .settings
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect();
        assert_eq!(
            Json::Object(values),
            json!({"n": 3, "f": 2, "when": "2027-06-01T00:00:00Z", "blob": "aGk="})
        );
        assert_eq!(layer.source, SourceKind::MdmUser);
        let bad = "<key>Settings</key><dict><key>n</key><real>3.5</real></dict>";
        let e = read_managed_plist(&schema, SourceKind::Mdm, ORIGIN, &xml(bad)).unwrap_err();
        assert!(
            e.to_string()
                .contains("expected an integer (<integer>), found <real>3.5</real>"),
            "{e}"
        );
    }

    #[test]
    fn policy_in_every_form() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(DOC);
        let wrapped: String = b64
            .as_bytes()
            .chunks(20)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        let escaped = DOC.replace('"', "&quot;");
        for body in [
            format!("<key>Policy</key><string>{escaped}</string>"),
            format!("<key>Policy</key><string>{b64}</string>"),
            format!("<key>Policy</key><string>\n{wrapped}\n</string>"),
            format!("<key>Policy</key><data>{b64}</data>"),
        ] {
            let content = read(&body).unwrap();
            assert_eq!(
                content.policy,
                Some(PolicyPayload::Document(DOC.into())),
                "{body}"
            );
            assert!(content.native.is_none());
        }
        let bundle = r#"{"payloadType": "application/vnd.mandate.policy+toml", "payload": "", "signatures": []}"#;
        let content = read(&format!(
            "<key>Policy</key><string>{}</string>",
            bundle.replace('"', "&quot;")
        ))
        .unwrap();
        assert_eq!(
            content.policy,
            Some(PolicyPayload::Bundle(bundle.as_bytes().to_vec()))
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(bundle);
        let content = read(&format!("<key>Policy</key><data>{encoded}</data>")).unwrap();
        assert_eq!(
            content.policy,
            Some(PolicyPayload::Bundle(bundle.as_bytes().to_vec()))
        );
    }

    #[test]
    fn bad_policies_are_clear_errors() {
        let e = errors("<key>Policy</key><string>hello world</string>");
        assert!(e.starts_with(&format!("{ORIGIN} > Policy:1:")), "{e}");
        assert!(
            e.contains("Policy` must be a signed bundle, a policy document"),
            "{e}"
        );
        let e = errors("<key>Policy</key><string>{not json</string>");
        assert!(
            e.contains("should be a signed bundle, but it is not valid JSON"),
            "{e}"
        );
        let e = errors("<key>Policy</key><string>{\"a\": 1}</string>");
        assert!(e.contains("not a signed bundle"), "{e}");
        let e = errors("<key>Policy</key><data>//79/A==</data>");
        assert!(e.contains("neither a signed bundle"), "{e}");
        let e = errors("<key>Policy</key><integer>3</integer>");
        assert!(e.contains("found <integer>3</integer>"), "{e}");
        let e = errors("<key>Policy</key><string>  </string>");
        assert!(e.contains("`Policy` is empty"), "{e}");
        let e = errors("<key>Policy</key><string>[settings]\nsandbox.mode = \"chaos\"\n</string>");
        assert!(e.starts_with(&format!("{ORIGIN} > Policy:2:")), "{e}");
        assert!(!e.contains("must be a signed bundle"), "{e}");
    }

    #[test]
    fn trust_root_forms() {
        let trust = "version = 1\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(trust);
        for body in [
            format!("<key>TrustRoot</key><string>{trust}</string>"),
            format!("<key>TrustRoot</key><string>{b64}</string>"),
            format!("<key>TrustRoot</key><data>{b64}</data>"),
        ] {
            assert_eq!(
                read(&body).unwrap().trust_root.as_deref(),
                Some(trust.as_bytes()),
                "{body}"
            );
        }
        let e = errors("<key>TrustRoot</key><string>version = = 1</string>");
        assert!(e.starts_with(&format!("{ORIGIN} > TrustRoot:1:")), "{e}");
        let e = errors("<key>TrustRoot</key><true/>");
        assert!(e.contains("`TrustRoot` must be a trust root"), "{e}");
    }

    #[test]
    fn trust_root_chain_forms() {
        let (v2, v3) = ("version = 2\n", "version = 3\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(v3);
        let body = format!(
            "<key>TrustRootChain</key><array><string>{v2}</string><data>{b64}</data></array>"
        );
        let chain = read(&body).unwrap().trust_root_chain;
        assert_eq!(chain, [v2.as_bytes().to_vec(), v3.as_bytes().to_vec()]);
        let e = errors("<key>TrustRootChain</key><string>version = 2</string>");
        assert!(e.contains("must be an <array> of trust roots"), "{e}");
        let e = errors("<key>TrustRootChain</key><array><string>version = = 2</string></array>");
        assert!(
            e.starts_with(&format!("{ORIGIN} > TrustRootChain > 0:1:")),
            "{e}"
        );
    }

    #[test]
    fn top_level_keys() {
        let content = read(&format!(
            "<key>PayloadUUID</key><string>x</string><key>mcx_data_timestamp</key><date>2020-01-01T00:00:00Z</date>
             <key>Policy</key><string>{}</string>
             <key>Settings</key><dict><key>sandbox.network</key><false/></dict>",
            DOC.replace('"', "&quot;")
        ))
        .unwrap();
        assert!(content.policy.is_some() && content.native.is_some());
        let e = errors("<key>settings</key><dict/><key>Extra</key><true/>");
        assert!(
            e.contains(&format!(
                "{ORIGIN}: settings: unknown key `settings` (did you mean `Settings`?"
            )),
            "{e}"
        );
        assert!(
            e.contains(&format!("{ORIGIN}: Extra: unknown key `Extra`")),
            "{e}"
        );
        let e = errors("<key>Settings</key><string>x</string>");
        assert!(e.contains("`Settings` must be a <dict>"), "{e}");
        let empty = read("").unwrap();
        assert!(empty.is_empty());
        let e = errors(
            "<key>PayloadType</key><string>Configuration</string><key>PayloadContent</key><array/>",
        );
        assert!(
            e.contains("a configuration profile (.mobileconfig), not a managed preferences plist"),
            "{e}"
        );
    }

    #[test]
    fn not_a_plist() {
        let schema = Schema::bundled();
        let cms = [0x30, 0x82, 0x10, 0x30, 0x06, 0x09, 0x2a, 0x86];
        let e = read_managed_plist(schema, SourceKind::Mdm, ORIGIN, &cms)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "{ORIGIN}: a signed configuration profile (CMS), not a managed preferences plist: install it with the MDM, then read the file macOS writes"
            )
        );
        let e = read_managed_plist(
            schema,
            SourceKind::Mdm,
            ORIGIN,
            b"<?xml version=\"1.0\"?><plist><array/></plist>",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("must be a <dict>, found an <array>"), "{e}");
        let e = read_managed_plist(schema, SourceKind::Mdm, ORIGIN, b"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn binary_plists_read_like_xml() {
        let parsed = parse_plist(&xml(
            "<key>Requirements</key><dict><key>sandbox.network</key><dict><key>value</key><false/></dict></dict>",
        ))
        .unwrap();
        let mut bytes = Vec::new();
        parsed.value.to_writer_binary(&mut bytes).unwrap();
        let layer = read_managed_plist(Schema::bundled(), SourceKind::Mdm, ORIGIN, &bytes)
            .unwrap()
            .native
            .unwrap();
        assert_eq!(layer.requirements[0].value.value, Some(json!(false)));
    }
}
