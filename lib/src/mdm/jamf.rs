//! The JSON schema Jamf Pro uses to draw a form for the domain
//! (*Configuration Profiles → Application & Custom Settings → External
//! Applications → Add → Custom Schema*).
//!
//! Jamf Pro reads a JSON Schema with a `title`, a `description` and
//! `properties`; each property has a `title`, a `description`, a `type`, a
//! `property_order` (lower first), and optionally `enum` with
//! `options.enum_titles`, `default`, `options.infoText` and `links`. What
//! the admin fills in becomes the keys of a custom settings payload whose
//! `PayloadType` is the domain, which macOS writes to
//! `/Library/Managed Preferences/<domain>.plist`.
//!
//! The form produced here writes exactly what
//! [`read_managed_plist`](super::read_managed_plist) reads:
//!
//! * `Settings`: one nested dictionary per group (`sandbox` → `mode`);
//! * `Requirements`: one dictionary per setting, keyed by its dotted name
//!   (`sandbox.mode`), holding the operators filled in (`allowed`, `max` …);
//! * `Policy` and `TrustRoot`: text fields for a signed bundle, a policy
//!   document or a `trust.toml`.
//!
//! Every value is optional: each property is an `anyOf` of *Not Configured*
//! (`null`) and *Configured*, the convention Jamf Pro's own manifests use,
//! and `options.remove_empty_properties` drops what was left unset.

use crate::json;
use crate::value::{Map, Value as Json};

use super::read::setting_node;
use super::{POLICY_KEY, REQUIREMENTS_KEY, SETTINGS_KEY, TRUST_ROOT_KEY};
use crate::schema::{Kind, Schema, Setting};

/// Whether pattern-like keywords apply to the values a property holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Checks {
    /// Keep `pattern`, `minLength` … (values of the setting).
    Full,
    /// Keep only types and structure (`within` elements are glob patterns).
    TypesOnly,
}

/// Builds the Jamf Pro custom schema for `domain` from the setting schema.
///
/// ```
/// use mandate::Schema;
/// use mandate::mdm::jamf_schema;
///
/// let jamf = jamf_schema(Schema::bundled(), "dev.mandate");
/// let mode = &jamf["properties"]["Settings"]["properties"]["sandbox"]["properties"]["mode"];
/// assert_eq!(mode["type"], "string");
/// let configured = &mode["anyOf"][1];
/// assert_eq!(configured["enum"][0], "read-only");
/// assert_eq!(configured["options"]["enum_titles"][0], "read-only (strictest)");
/// assert!(jamf["properties"]["Requirements"]["properties"]["sandbox.mode"].is_object());
/// ```
pub fn jamf_schema(schema: &Schema, domain: &str) -> Json {
    let title = schema
        .raw()
        .get("title")
        .and_then(Json::as_str)
        .unwrap_or("mandate policy");
    let settings = json!({
        "title": "Settings (managed defaults)",
        "description": "Values every agent session starts with. Users may change them within the Requirements. Leave a setting Not Configured to say nothing about it.",
        "type": "object",
        "property_order": 5,
        "options": { "remove_empty_properties": true },
        "properties": settings_properties(schema, schema.raw(), ""),
    });
    let mut requirements = Map::new();
    for (i, setting) in schema.settings().enumerate() {
        requirements.insert(setting.key.clone(), requirement(schema, setting, order(i)));
    }
    let requirements = json!({
        "title": "Requirements (constraints)",
        "description": "Constraints no user, project or command-line setting can break; they combine with the requirements of every other managed source by intersection. Configure a setting, then fill in only the operators you need.",
        "type": "object",
        "property_order": 10,
        "options": { "remove_empty_properties": true },
        "properties": requirements,
    });
    let text_field = |title: &str, description: &str, position: u64| {
        optional(
            title,
            description,
            position,
            Some("string"),
            Some(&format!("Key: {title}")),
            json!({ "type": "string", "format": "textarea" }),
        )
    };
    let mut properties = Map::new();
    properties.insert(SETTINGS_KEY.into(), settings);
    properties.insert(REQUIREMENTS_KEY.into(), requirements);
    properties.insert(
        POLICY_KEY.into(),
        text_field(
            POLICY_KEY,
            "A whole policy instead of (or besides) the form: paste a signed bundle (the JSON `mandate sign` writes) or a policy document (TOML), as text or base64. A signed bundle is the only form that can be verified against a trust root.",
            15,
        ),
    );
    properties.insert(
        TRUST_ROOT_KEY.into(),
        text_field(
            TRUST_ROOT_KEY,
            "The text of a trust.toml (`mandate trust init`), as text or base64. Once a trust root is installed, managed policy must be signed by its keys.",
            20,
        ),
    );
    json!({
        "title": format!("{title} ({domain})"),
        "description": format!(
            "Managed policy for AI coding agents, read by mandate from /Library/Managed Preferences/{domain}.plist. Preference domain: {domain}. Generated from the setting schema by `mandate package jamf-schema`."
        ),
        "__preferencedomain": domain,
        "options": { "remove_empty_properties": true },
        "properties": properties,
    })
}

fn order(index: usize) -> u64 {
    (index as u64 + 1) * 5
}

fn text(node: &Json, key: &str) -> String {
    node.get(key)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A property that is either Not Configured (`null`, then dropped) or `configured`.
fn optional(
    title: &str,
    description: &str,
    position: u64,
    kind: Option<&str>,
    info: Option<&str>,
    configured: Json,
) -> Json {
    let mut configured = match configured {
        Json::Object(map) => map,
        _ => Map::new(),
    };
    configured.insert("title".into(), json!("Configured"));
    if let Some(info) = info {
        let options = configured.entry("options").or_insert_with(|| json!({}));
        if let Some(options) = options.as_object_mut() {
            options.insert("infoText".into(), json!(info));
        }
    }
    let mut out = Map::new();
    out.insert("title".into(), json!(title));
    out.insert("description".into(), json!(description));
    out.insert("property_order".into(), json!(position));
    if let Some(kind) = kind {
        out.insert("type".into(), json!(kind));
    }
    out.insert(
        "anyOf".into(),
        json!([{ "title": "Not Configured", "type": "null" }, Json::Object(configured)]),
    );
    Json::Object(out)
}

/// The Jamf form of a value schema: type, enum with titles, structure.
fn value_schema(schema: &Schema, node: &Json, checks: Checks) -> Json {
    let node = schema.resolve_ref(node);
    let mut out = Map::new();
    let kind = node.get("type").and_then(Json::as_str);
    if let Some(kind) = kind {
        out.insert("type".into(), json!(kind));
    }
    match kind {
        Some("boolean") => {
            out.insert("enum".into(), json!([true, false]));
            out.insert(
                "options".into(),
                json!({ "enum_titles": ["true", "false"] }),
            );
        }
        Some("string" | "integer" | "number") => {
            let values = node
                .get("x-mandate-order")
                .or_else(|| node.get("enum"))
                .and_then(Json::as_array);
            if let Some(values) = values {
                let ordered = node.get("x-mandate-order").is_some() && values.len() > 1;
                let titles: Vec<String> = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let name = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                        match (ordered, i) {
                            (true, 0) => format!("{name} (strictest)"),
                            (true, i) if i + 1 == values.len() => format!("{name} (loosest)"),
                            _ => name,
                        }
                    })
                    .collect();
                out.insert("enum".into(), Json::Array(values.clone()));
                out.insert("options".into(), json!({ "enum_titles": titles }));
            }
            let keep: &[&str] = match checks {
                Checks::Full => &["minLength", "maxLength", "pattern", "minimum", "maximum"],
                Checks::TypesOnly => &[],
            };
            for key in keep {
                if let Some(v) = node.get(*key) {
                    out.insert((*key).into(), v.clone());
                }
            }
        }
        Some("array") => {
            if let Some(items) = node.get("items") {
                out.insert("items".into(), value_schema(schema, items, checks));
            }
            if let (Checks::Full, Some(min)) = (checks, node.get("minItems")) {
                out.insert("minItems".into(), min.clone());
            }
        }
        Some("object") => {
            out.insert("options".into(), json!({ "remove_empty_properties": true }));
            if let Some(properties) = node.get("properties").and_then(Json::as_object) {
                let required: Vec<&str> = node
                    .get("required")
                    .and_then(Json::as_array)
                    .map(|r| r.iter().filter_map(Json::as_str).collect())
                    .unwrap_or_default();
                let mut props = Map::new();
                for (i, (name, child)) in properties.iter().enumerate() {
                    let child = schema.resolve_ref(child);
                    let title = Some(text(child, "title"))
                        .filter(|t| !t.is_empty())
                        .unwrap_or_else(|| name.clone());
                    let description = text(child, "description");
                    let inner = value_schema(schema, child, checks);
                    let property = if required.contains(&name.as_str()) {
                        let mut inner = match inner {
                            Json::Object(map) => map,
                            _ => Map::new(),
                        };
                        inner.insert("title".into(), json!(title));
                        inner.insert("description".into(), json!(description));
                        inner.insert("property_order".into(), json!(order(i)));
                        Json::Object(inner)
                    } else {
                        let kind = child.get("type").and_then(Json::as_str);
                        optional(&title, &description, order(i), kind, None, inner)
                    };
                    props.insert(name.clone(), property);
                }
                out.insert("properties".into(), Json::Object(props));
                if !required.is_empty() {
                    out.insert("required".into(), json!(required));
                }
            }
            if let Some(additional) = node.get("additionalProperties").filter(|a| a.is_object()) {
                out.insert(
                    "additionalProperties".into(),
                    value_schema(schema, additional, checks),
                );
            }
        }
        _ => {}
    }
    Json::Object(out)
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::String => "string",
        Kind::Boolean => "boolean",
        Kind::Integer => "integer",
        Kind::Number => "number",
        Kind::Array => "array",
        Kind::Object => "object",
    }
}

fn settings_properties(schema: &Schema, node: &Json, prefix: &str) -> Json {
    let mut out = Map::new();
    let Some(properties) = node.get("properties").and_then(Json::as_object) else {
        return Json::Object(out);
    };
    for (i, (name, child)) in properties.iter().enumerate() {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let property = if let Some(setting) = schema.get(&key) {
            let mut configured = value_schema(schema, child, Checks::Full);
            if let (Some(default), Some(map)) = (&setting.default, configured.as_object_mut()) {
                map.insert("default".into(), default.clone());
            }
            optional(
                &title_of(setting),
                &setting.description,
                order(i),
                Some(kind_name(setting.kind)),
                Some(&format!("Key: {key}")),
                configured,
            )
        } else if schema.is_group(&key) {
            json!({
                "title": text(child, "title"),
                "description": text(child, "description"),
                "type": "object",
                "property_order": order(i),
                "options": { "remove_empty_properties": true },
                "properties": settings_properties(schema, child, &key),
            })
        } else {
            continue;
        };
        out.insert(name.clone(), property);
    }
    Json::Object(out)
}

fn title_of(setting: &Setting) -> String {
    if setting.title.is_empty() {
        setting.key.clone()
    } else {
        setting.title.clone()
    }
}

/// The requirement form of one setting: its operators, each optional.
fn requirement(schema: &Schema, setting: &Setting, position: u64) -> Json {
    let Some(node) = setting_node(schema, &setting.key) else {
        return json!({});
    };
    let kind = kind_name(setting.kind);
    let value = || value_schema(schema, node, Checks::Full);
    let list_of = |item: Json| json!({ "type": "array", "items": item });
    let items = schema.resolve_ref(node).get("items");
    let is_list = setting.kind == Kind::Array;
    let mut ops: Vec<(&str, &str, Option<&str>, Json)> = vec![
        (
            "value",
            "Pinned value: the only value allowed.",
            Some(kind),
            value(),
        ),
        (
            "allowed",
            "Allowed values: the value must be one of these.",
            Some("array"),
            list_of(value()),
        ),
        (
            "denied",
            "Denied values: the value must be none of these.",
            Some("array"),
            list_of(value()),
        ),
    ];
    if setting.is_ordered() {
        ops.push((
            "min",
            "At least this (for ordered settings: at least this strict-to-loose position).",
            Some(kind),
            value(),
        ));
        ops.push((
            "max",
            "At most this (for ordered settings: no looser than this).",
            Some(kind),
            value(),
        ));
    }
    if setting.kind == Kind::String || setting.items_are_strings() {
        ops.push((
            "pattern",
            "A regular expression the value (each element of a list) must match as a whole.",
            Some("string"),
            json!({ "type": "string" }),
        ));
    }
    if let (true, Some(items)) = (is_list, items) {
        let element = || value_schema(schema, items, Checks::Full);
        ops.push((
            "includes",
            "Elements the list must contain; missing ones are added.",
            Some("array"),
            list_of(element()),
        ));
        ops.push((
            "within",
            "The only elements the list may contain (strings may be glob patterns such as *.example.com); others are removed.",
            Some("array"),
            list_of(value_schema(schema, items, Checks::TypesOnly)),
        ));
        ops.push((
            "excludes",
            "Elements the list must not contain; they are removed.",
            Some("array"),
            list_of(element()),
        ));
    }
    ops.push((
        "default",
        "The fallback value when nobody sets one.",
        Some(kind),
        value(),
    ));
    let mut properties = Map::new();
    for (i, (op, description, op_kind, configured)) in ops.into_iter().enumerate() {
        properties.insert(
            op.into(),
            optional(op, description, order(i), op_kind, None, configured),
        );
    }
    optional(
        &format!("{} ({})", title_of(setting), setting.key),
        &format!("Constraints on {}. {}", setting.key, setting.description),
        position,
        Some("object"),
        Some(&format!("Key: {}", setting.key)),
        json!({
            "type": "object",
            "options": { "remove_empty_properties": true },
            "properties": properties,
        }),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_a_settings_field_and_a_requirement() {
        let schema = Schema::bundled();
        let jamf = jamf_schema(schema, "dev.mandate");
        assert_eq!(jamf["__preferencedomain"], "dev.mandate");
        assert!(jamf["title"].as_str().unwrap().ends_with("(dev.mandate)"));
        for setting in schema.settings() {
            let mut node = &jamf["properties"]["Settings"];
            for part in setting.key.split('.') {
                node = &node["properties"][part];
            }
            assert_eq!(node["type"], kind_name(setting.kind), "{}", setting.key);
            assert_eq!(node["anyOf"][0]["type"], "null", "{}", setting.key);
            assert_eq!(
                node["anyOf"][1]["options"]["infoText"],
                format!("Key: {}", setting.key)
            );
            assert!(node["property_order"].is_u64());
            let req = &jamf["properties"]["Requirements"]["properties"][&setting.key];
            assert_eq!(req["type"], "object", "{}", setting.key);
            let ops = &req["anyOf"][1]["properties"];
            assert!(
                ops["value"].is_object() && ops["default"].is_object(),
                "{}",
                setting.key
            );
            assert_eq!(
                ops["min"].is_object(),
                setting.is_ordered(),
                "{}",
                setting.key
            );
            assert_eq!(
                ops["within"].is_object(),
                setting.kind == Kind::Array,
                "{}",
                setting.key
            );
        }
    }

    #[test]
    fn enums_booleans_and_nested_items() {
        let jamf = jamf_schema(Schema::bundled(), "dev.mandate");
        let settings = &jamf["properties"]["Settings"]["properties"];
        let policy = &settings["approvals"]["properties"]["policy"]["anyOf"][1];
        assert_eq!(
            policy["enum"],
            json!(["untrusted", "on-request", "on-failure", "never"])
        );
        assert_eq!(
            policy["options"]["enum_titles"],
            json!([
                "untrusted (strictest)",
                "on-request",
                "on-failure",
                "never (loosest)"
            ])
        );
        assert_eq!(policy["default"], "on-request");
        let network = &settings["sandbox"]["properties"]["network"]["anyOf"][1];
        assert_eq!(network["enum"], json!([true, false]));
        let rule = &settings["commands"]["properties"]["rules"]["anyOf"][1]["items"];
        assert_eq!(rule["type"], "object");
        assert_eq!(rule["required"], json!(["pattern", "decision"]));
        assert_eq!(rule["properties"]["pattern"]["type"], "array");
        assert_eq!(
            rule["properties"]["justification"]["anyOf"][0]["type"],
            "null"
        );
        let headers =
            &settings["telemetry"]["properties"]["otel"]["properties"]["headers"]["anyOf"][1];
        assert_eq!(headers["additionalProperties"]["type"], "string");
        let within = &jamf["properties"]["Requirements"]["properties"]["network.allowed_domains"]["anyOf"]
            [1]["properties"]["within"]["anyOf"][1]["items"];
        assert_eq!(within, &json!({"type": "string"}));
        assert!(jamf["properties"]["Policy"]["anyOf"][1]["format"] == "textarea");
    }

    #[test]
    fn property_orders_are_unique_per_level() {
        fn check(node: &Json) {
            if let Some(props) = node.get("properties").and_then(Json::as_object) {
                let mut orders: Vec<u64> = props
                    .values()
                    .filter_map(|p| p["property_order"].as_u64())
                    .collect();
                let n = orders.len();
                orders.sort_unstable();
                orders.dedup();
                assert_eq!(orders.len(), n);
                props.values().for_each(check);
            }
            for branch in node
                .get("anyOf")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                check(branch);
            }
            if let Some(items) = node.get("items") {
                check(items);
            }
        }
        check(&jamf_schema(Schema::bundled(), "dev.mandate"));
    }

    #[test]
    fn the_schema_compiles() {
        let jamf = jamf_schema(Schema::bundled(), "dev.mandate");
        assert!(jsonschema::validator_for(&(&jamf).into()).is_ok());
    }
}
