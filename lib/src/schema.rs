//! The setting schema: which settings exist, their types, and how each one
//! merges, orders and locks down.
//!
//! The schema is a JSON Schema (draft 2020-12). A node that carries
//! `x-mandate-lockdown` is a **setting**; its dotted path is the setting key.
//! An object node with `properties` and no `x-mandate-lockdown` is a
//! **group**. Anything else is refused when the schema is loaded, so a new
//! setting cannot exist until someone decides its lockdown value (and, for
//! enums and lists, its order and merge strategy).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::value::{Map, Value};
use serde_json::value::RawValue;

use crate::kind::{KindError, ValueKind, normalise_value};
use crate::schema_subset::{Subset, Verdict};

/// The bundled agent policy schema, `schema/agent-policy.schema.json`.
pub const AGENT_POLICY_SCHEMA: &str = include_str!("../../schema/agent-policy.schema.json");

/// Errors in a schema document itself (not in a value checked against it).
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The schema file is not JSON.
    #[error("{origin}: the schema is not valid JSON: {source}")]
    Json {
        /// The schema file.
        origin: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A node of the schema breaks the setting rules.
    #[error("{origin}: {key}: {message}")]
    Node {
        /// The schema file.
        origin: String,
        /// The dotted path of the node.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The type of a setting's value, from its schema node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string (possibly an enum).
    String,
    /// `true` or `false`.
    Boolean,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// A list.
    Array,
    /// A map (such as HTTP headers).
    Object,
}

impl Kind {
    fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "string" => Kind::String,
            "boolean" => Kind::Boolean,
            "integer" => Kind::Integer,
            "number" => Kind::Number,
            "array" => Kind::Array,
            "object" => Kind::Object,
            _ => return None,
        })
    }

    /// The article and noun used in messages: "a string", "a list".
    pub fn noun(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Boolean => "a boolean",
            Kind::Integer => "an integer",
            Kind::Number => "a number",
            Kind::Array => "a list",
            Kind::Object => "a table",
        }
    }

    /// Whether `value` has this JSON type.
    pub fn matches(self, value: &Value) -> bool {
        match self {
            Kind::String => value.is_string(),
            Kind::Boolean => value.is_boolean(),
            Kind::Integer => value.is_i64() || value.is_u64(),
            Kind::Number => value.is_number(),
            Kind::Array => value.is_array(),
            Kind::Object => value.is_object(),
        }
    }
}

/// How candidate lists from several layers combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListMerge {
    /// The highest-ranked list wins whole.
    Replace,
    /// Every layer's elements apply (highest-ranked first, duplicates removed).
    Union,
}

/// One setting of the schema.
#[derive(Debug)]
pub struct Setting {
    /// The dotted key, such as `sandbox.mode`.
    pub key: String,
    /// The JSON type.
    pub kind: Kind,
    /// Short title.
    pub title: String,
    /// Description for admins.
    pub description: String,
    /// Enum values, strictest first, when the setting is an ordered enum.
    pub order: Option<Vec<Value>>,
    /// The enum values, if any.
    pub enum_values: Option<Vec<Value>>,
    /// How lists combine across layers (lists and maps only).
    pub merge: ListMerge,
    /// What the values (a list's elements) mean, and so how they compare
    /// (`x-mandate-kind`; required on lists, [`ValueKind::Text`] where absent).
    pub value_kind: ValueKind,
    /// The value used when managed policy is stale or unreadable; `None` means unset.
    pub lockdown: Option<Value>,
    /// The schema default.
    pub default: Option<Value>,
    /// The setting's schema node, with the root's `$defs` attached
    /// ([`Setting::node`]); built when first needed for the bundled schema.
    node: OnceLock<Value>,
    /// The bundled schema's text of the node, to build it from.
    lazy: Option<LazyNode>,
    /// Whether the node has no validation keyword beyond `type` and `enum`,
    /// which [`Setting::check`] tests itself: then the JSON Schema validator
    /// could refuse nothing those tests accept, and is not run.
    plain: bool,
    /// The node compiled for the common keywords, which accepts most values
    /// without a JSON Schema validator (`None` inside: not expressible).
    subset: OnceLock<Option<Subset>>,
    validator: OnceLock<Option<jsonschema::Validator>>,
}

/// Keywords of a setting's node that [`Setting::check`] tests itself (`type`,
/// `enum`) or that validate nothing (annotations). `x-` keys are ours.
const PLAIN_KEYWORDS: [&str; 9] = [
    "type",
    "enum",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "$comment",
    "readOnly",
];

/// A setting's schema node in the bundled schema, as text: parsed, with
/// the definitions it refers to, only when a value first needs it.
#[derive(Debug)]
struct LazyNode {
    node: RawNode<'static>,
    defs: Arc<LazyDefs>,
}

/// A schema node read in one pass without building its JSON: the text of
/// each member, and the nodes of its `properties` read the same way.
#[derive(Debug, Default)]
struct RawNode<'a> {
    /// Every member but `properties`.
    members: BTreeMap<&'a str, &'a RawValue>,
    properties: Option<BTreeMap<&'a str, RawNode<'a>>>,
}

impl<'de> serde::Deserialize<'de> for RawNode<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawNode<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a schema node")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawNode<'de>, A::Error> {
                let mut node = RawNode::default();
                while let Some(name) = map.next_key::<&'de str>()? {
                    if name == "properties" {
                        node.properties = Some(map.next_value()?);
                    } else {
                        node.members.insert(name, map.next_value()?);
                    }
                }
                Ok(node)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

impl RawNode<'_> {
    /// The node as JSON.
    fn to_map(&self) -> Option<Map> {
        let mut map = Map::new();
        for (name, text) in &self.members {
            map.insert((*name).to_owned(), serde_json::from_str(text.get()).ok()?);
        }
        if let Some(properties) = &self.properties {
            let mut children = Map::new();
            for (name, child) in properties {
                children.insert((*name).to_owned(), Value::Object(child.to_map()?));
            }
            map.insert("properties".to_owned(), Value::Object(children));
        }
        Some(map)
    }
}

/// The bundled schema's `$defs`, parsed when a setting's node first needs them.
#[derive(Debug)]
struct LazyDefs {
    text: Option<&'static RawValue>,
    parsed: OnceLock<Option<Map>>,
}

impl LazyDefs {
    fn get(&self) -> Option<&Map> {
        self.parsed
            .get_or_init(|| match serde_json::from_str(self.text?.get()) {
                Ok(Value::Object(defs)) => Some(defs),
                _ => None,
            })
            .as_ref()
    }
}

impl LazyNode {
    /// The node as [`Schema::load`] builds it: its members, and the
    /// definitions it refers to.
    fn build(&self) -> Value {
        let node = self.node.to_map().unwrap_or_default();
        Value::Object(with_defs(node, self.defs.get()))
    }
}

/// `node` with the definitions of `defs` it refers to attached as its
/// `$defs` (when it refers to any).
fn with_defs(node: Map, defs: Option<&Map>) -> Map {
    let mut sub = node;
    if let Some(defs) = defs {
        let used = referenced_defs(&sub, defs);
        if !used.is_empty() {
            sub.insert("$defs".into(), Value::Object(used));
        }
    }
    sub
}

impl Setting {
    /// The setting's schema node, with the definitions it refers to.
    pub(crate) fn node(&self) -> &Value {
        self.node
            .get_or_init(|| self.lazy.as_ref().map_or(Value::Null, LazyNode::build))
    }

    /// Checks a value against the setting's type and schema; the error says
    /// what was expected.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        if !self.kind.matches(value) {
            return Err(format!(
                "expected {}, found {}",
                self.kind.noun(),
                describe_json_type(value)
            ));
        }
        if let Some(values) = &self.enum_values
            && !values.contains(value)
        {
            return Err(format!("{} is not one of {}", value, join_values(values)));
        }
        if self.plain {
            return Ok(());
        }
        // Most values are valid: the subset says so without compiling a
        // validator. A refusal is the validator's to decide and word.
        if self
            .subset
            .get_or_init(|| Subset::compile(self.node()))
            .as_ref()
            .is_some_and(|s| s.check(value) == Verdict::Valid)
        {
            return Ok(());
        }
        let validator = self
            .validator
            .get_or_init(|| jsonschema::validator_for(&self.node().into()).ok());
        if let Some(validator) = validator
            && let Some(error) = validator.iter_errors(&value.into()).next()
        {
            let path = error.instance_path().to_string();
            return Err(if path.is_empty() {
                error.to_string()
            } else {
                format!("at {path}: {error}")
            });
        }
        Ok(())
    }

    /// Checks one element of a list setting.
    pub fn check_item(&self, item: &Value) -> Result<(), String> {
        self.check(&Value::Array(vec![item.clone()]))
            .map_err(|e| e.replacen("at /0: ", "", 1))
    }

    /// The canonical form of a value (a list element by element) under the
    /// setting's [`ValueKind`]: what every comparison uses.
    pub fn canonical(&self, value: &Value) -> Result<Value, KindError> {
        match value {
            Value::Array(items) if self.kind == Kind::Array => items
                .iter()
                .map(|item| normalise_value(self.value_kind, item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other if self.kind == Kind::Array || self.kind == Kind::String => {
                normalise_value(self.value_kind, other)
            }
            other => Ok(other.clone()),
        }
    }

    /// The canonical form of one element of a list setting.
    pub fn canonical_item(&self, item: &Value) -> Result<Value, KindError> {
        normalise_value(self.value_kind, item)
    }

    /// [`Setting::canonical_item`] of an element it may take: moved when
    /// already canonical; given back with the error when its kind cannot
    /// read it.
    pub fn canonical_item_owned(&self, item: Value) -> Result<Value, (KindError, Value)> {
        crate::kind::normalise_value_owned(self.value_kind, item)
    }

    /// Whether every layer's list of this setting applies (a list merged by union).
    pub fn merges_by_union(&self) -> bool {
        self.kind == Kind::Array && self.merge == ListMerge::Union
    }

    /// Whether the setting is a list of strings (so `pattern` applies element-wise).
    pub fn items_are_strings(&self) -> bool {
        if self.kind != Kind::Array {
            return false;
        }
        let node = self.node();
        let mut items = &node["items"];
        if let Some(target) = items.get("$ref").and_then(Value::as_str)
            && let Some(name) = target.strip_prefix("#/$defs/")
        {
            items = &node["$defs"][name];
        }
        items.get("type").and_then(Value::as_str) == Some("string")
    }

    /// Position of an enum value in the strictness order (0 = strictest).
    pub fn rank(&self, value: &Value) -> Option<usize> {
        self.order.as_ref()?.iter().position(|v| v == value)
    }

    /// Whether `min`/`max` constraints make sense for this setting.
    pub fn is_ordered(&self) -> bool {
        self.order.is_some() || matches!(self.kind, Kind::Integer | Kind::Number)
    }

    /// Every value the setting can take, when that set is finite and small.
    pub fn finite_domain(&self) -> Option<Vec<Value>> {
        if let Some(order) = &self.order {
            return Some(order.clone());
        }
        if let Some(values) = &self.enum_values {
            return Some(values.clone());
        }
        (self.kind == Kind::Boolean).then(|| vec![Value::Bool(false), Value::Bool(true)])
    }
}

/// A setting's schema node as [`Schema::setting`] reads it: parsed JSON
/// (a schema file), or the text of each member (the bundled schema).
trait Members {
    /// The member `name`.
    fn member(&self, name: &str) -> Option<Cow<'_, Value>>;
    /// The names of the members.
    fn names(&self) -> impl Iterator<Item = &str>;
}

impl Members for Map {
    fn member(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.get(name).map(Cow::Borrowed)
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.keys().map(String::as_str)
    }
}

impl Members for RawNode<'_> {
    fn member(&self, name: &str) -> Option<Cow<'_, Value>> {
        if name == "properties" {
            return self.to_map()?.remove(name).map(Cow::Owned);
        }
        serde_json::from_str(self.members.get(name)?.get())
            .ok()
            .map(Cow::Owned)
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        let properties = self.properties.as_ref().map(|_| "properties");
        self.members.keys().copied().chain(properties)
    }
}

/// A setting's schema node (with the definitions it refers to) as
/// [`Schema::setting`] is given it.
enum SettingNode {
    /// Built.
    Built(Value),
    /// To be built from the bundled schema's text when first needed (the
    /// caller gives the setting its [`LazyNode`]).
    Later,
}

/// When a setting's JSON Schema validator is compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compile {
    /// At load, with the lockdown value and default checked: a schema file.
    Now,
    /// When a value first needs it: the bundled schema, checked by a test.
    OnUse,
}

/// How the bundled schema is named in locations.
const BUNDLED_ORIGIN: &str = "schema/agent-policy.schema.json";

/// A loaded schema: the settings it defines, by key.
#[derive(Debug)]
pub struct Schema {
    origin: String,
    settings: BTreeMap<String, Setting>,
    groups: BTreeMap<String, ()>,
    /// The schema as JSON ([`Schema::raw`]); parsed when first asked for
    /// when the schema was read from [`Schema::text`].
    raw: OnceLock<Value>,
    /// The bundled schema's text.
    text: Option<&'static str>,
}

impl Schema {
    /// The bundled agent policy schema.
    ///
    /// Its validators are compiled when a value first needs one, not at
    /// start-up: the schema is checked in, and a test compiles every
    /// setting's validator and checks every lockdown value and default
    /// (what [`Schema::from_json`] does for a schema file at load time).
    /// Only what resolution reads of each setting is parsed at start-up;
    /// a setting's schema node, and the whole schema as JSON, are parsed
    /// when first needed (a test holds this to a full load).
    pub fn bundled() -> &'static Schema {
        static BUNDLED: OnceLock<Schema> = OnceLock::new();
        BUNDLED.get_or_init(|| {
            // Read without building what no value needs yet. A schema the
            // quick reader does not take is loaded in full, which says
            // what is wrong with it.
            Schema::load_static(BUNDLED_ORIGIN, AGENT_POLICY_SCHEMA).unwrap_or_else(|| {
                Schema::load(BUNDLED_ORIGIN, AGENT_POLICY_SCHEMA, Compile::OnUse)
                    .unwrap_or_else(|e| panic!("the bundled schema is invalid: {e}"))
            })
        })
    }

    /// Loads a schema from JSON text; `origin` names it in messages.
    ///
    /// Every setting's JSON Schema is compiled now, and every lockdown value
    /// and default checked against it, so a schema file that cannot work is
    /// refused when it is loaded rather than when a value meets it.
    pub fn from_json(origin: &str, text: &str) -> Result<Schema, SchemaError> {
        Schema::load(origin, text, Compile::Now)
    }

    fn load(origin: &str, text: &str, compile: Compile) -> Result<Schema, SchemaError> {
        let raw: Value = serde_json::from_str(text).map_err(|source| SchemaError::Json {
            origin: origin.to_owned(),
            source,
        })?;
        let mut schema = Schema {
            origin: origin.to_owned(),
            settings: BTreeMap::new(),
            groups: BTreeMap::new(),
            raw: OnceLock::new(),
            text: None,
        };
        let root = raw
            .as_object()
            .ok_or_else(|| schema.node_error("", "the root is not an object"))?;
        let defs = root.get("$defs").and_then(Value::as_object);
        schema.walk("", root, defs, compile)?;
        if schema.settings.is_empty() {
            return Err(schema.node_error(
                "",
                "the schema defines no settings (no node has x-mandate-lockdown)",
            ));
        }
        schema.raw = OnceLock::from(raw);
        Ok(schema)
    }

    /// [`Schema::load`] of a schema built into the binary, without building
    /// its JSON: each node is read as the text of its members, and only the
    /// members a [`Setting`] holds are parsed. A setting's node is parsed
    /// when a value first needs it ([`Setting::node`]), the whole schema
    /// when [`Schema::raw`] is first asked for. `None` for anything
    /// [`Schema::load`] would refuse (and for keys written with escapes),
    /// so that a full load says what is wrong.
    fn load_static(origin: &str, text: &'static str) -> Option<Schema> {
        let root: RawNode<'static> = serde_json::from_str(text).ok()?;
        let defs = Arc::new(LazyDefs {
            text: root.members.get("$defs").copied(),
            parsed: OnceLock::new(),
        });
        let mut schema = Schema {
            origin: origin.to_owned(),
            settings: BTreeMap::new(),
            groups: BTreeMap::new(),
            raw: OnceLock::new(),
            text: Some(text),
        };
        schema.walk_static("", root, &defs)?;
        (!schema.settings.is_empty()).then_some(schema)
    }

    /// [`Schema::walk`] over a node read as text.
    fn walk_static(
        &mut self,
        prefix: &str,
        node: RawNode<'static>,
        defs: &Arc<LazyDefs>,
    ) -> Option<()> {
        if node.members.contains_key("x-mandate-lockdown") {
            let mut setting = self
                .setting(prefix, &node, SettingNode::Later, Compile::OnUse)
                .ok()?;
            setting.lazy = Some(LazyNode {
                node,
                defs: Arc::clone(defs),
            });
            self.settings.insert(prefix.to_owned(), setting);
            return Some(());
        }
        if !prefix.is_empty() {
            self.groups.insert(prefix.to_owned(), ());
        }
        for (name, child) in node.properties? {
            let key = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            };
            self.walk_static(&key, child, defs)?;
        }
        Some(())
    }

    fn node_error(&self, key: &str, message: &str) -> SchemaError {
        SchemaError::Node {
            origin: self.origin.clone(),
            key: if key.is_empty() {
                "(root)".into()
            } else {
                key.into()
            },
            message: message.into(),
        }
    }

    fn walk(
        &mut self,
        prefix: &str,
        node: &Map,
        defs: Option<&Map>,
        compile: Compile,
    ) -> Result<(), SchemaError> {
        if node.contains_key("x-mandate-lockdown") {
            let sub = Value::Object(with_defs(node.clone(), defs));
            let setting = self.setting(prefix, node, SettingNode::Built(sub), compile)?;
            self.settings.insert(prefix.to_owned(), setting);
            return Ok(());
        }
        let Some(properties) = node.get("properties").and_then(Value::as_object) else {
            return Err(self.node_error(
                prefix,
                "neither a setting (no x-mandate-lockdown) nor a group (no properties)",
            ));
        };
        if !prefix.is_empty() {
            self.groups.insert(prefix.to_owned(), ());
        }
        for (name, child) in properties {
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            let child = child
                .as_object()
                .ok_or_else(|| self.node_error(&key, "the schema node is not an object"))?;
            self.walk(&key, child, defs, compile)?;
        }
        Ok(())
    }

    fn setting(
        &self,
        key: &str,
        node: &impl Members,
        sub: SettingNode,
        compile: Compile,
    ) -> Result<Setting, SchemaError> {
        let kind = node
            .member("type")
            .and_then(|t| Kind::from_name(t.as_str()?))
            .ok_or_else(|| self.node_error(key, "a setting needs a single \"type\""))?;
        let text = |name: &str| match node.member(name)?.into_owned() {
            Value::String(text) => Some(text),
            _ => None,
        };
        let enum_values = match node.member("enum").map(Cow::into_owned) {
            Some(Value::Array(values)) => Some(values),
            _ => None,
        };
        let order = match node.member("x-mandate-order").as_deref() {
            None => None,
            Some(Value::Array(order)) => {
                let Some(values) = &enum_values else {
                    return Err(self.node_error(key, "x-mandate-order needs an enum"));
                };
                if order.len() != values.len() || values.iter().any(|v| !order.contains(v)) {
                    return Err(self.node_error(
                        key,
                        "x-mandate-order must list every enum value exactly once",
                    ));
                }
                Some(order.clone())
            }
            Some(_) => return Err(self.node_error(key, "x-mandate-order must be a list")),
        };
        if enum_values.is_some() && order.is_none() {
            return Err(self.node_error(
                key,
                "an enum setting needs x-mandate-order (strictest first)",
            ));
        }
        let merge = match node
            .member("x-mandate-merge")
            .as_deref()
            .and_then(Value::as_str)
        {
            Some("replace") => ListMerge::Replace,
            Some("union") => ListMerge::Union,
            None if !matches!(kind, Kind::Array | Kind::Object) => ListMerge::Replace,
            _ => {
                return Err(self.node_error(
                    key,
                    "a list or map setting needs x-mandate-merge: \"replace\" or \"union\"",
                ));
            }
        };
        let value_kind = match node.member("x-mandate-kind").as_deref() {
            None if kind == Kind::Array => {
                return Err(self.node_error(
                    key,
                    "a list setting needs x-mandate-kind (domain, path, command, name, mcp-server or text): it decides how elements compare",
                ));
            }
            None => ValueKind::Text,
            Some(Value::String(name)) => ValueKind::from_name(name).ok_or_else(|| {
                self.node_error(
                    key,
                    &format!(
                        "x-mandate-kind {name:?} is not one of domain, path, command, name, mcp-server, text"
                    ),
                )
            })?,
            Some(_) => return Err(self.node_error(key, "x-mandate-kind must be a string")),
        };
        let plain = node
            .names()
            .all(|k| k.starts_with("x-") || PLAIN_KEYWORDS.contains(&k));
        let (node_value, lazy) = match sub {
            SettingNode::Built(sub) => (OnceLock::from(sub), None),
            SettingNode::Later => (OnceLock::new(), None),
        };
        let validator = match compile {
            // Compiled once: to refuse a schema that does not compile, and
            // then kept for `check`.
            Compile::Now => match node_value
                .get()
                .map(|n| jsonschema::validator_for(&n.into()))
            {
                Some(Ok(validator)) => OnceLock::from(Some(validator)),
                _ => {
                    return Err(self.node_error(key, "the setting's schema does not compile"));
                }
            },
            Compile::OnUse => OnceLock::new(),
        };
        let setting = Setting {
            key: key.to_owned(),
            kind,
            title: text("title").unwrap_or_default(),
            description: text("description").unwrap_or_default(),
            order,
            enum_values,
            merge,
            value_kind,
            lockdown: node
                .member("x-mandate-lockdown")
                .filter(|v| !v.is_null())
                .map(Cow::into_owned),
            default: node.member("default").map(Cow::into_owned),
            node: node_value,
            lazy,
            plain,
            subset: OnceLock::new(),
            validator,
        };
        if compile == Compile::OnUse {
            return Ok(setting);
        }
        for (what, value) in [
            ("x-mandate-lockdown", &setting.lockdown),
            ("default", &setting.default),
        ] {
            if let Some(value) = value
                && let Err(e) = setting.check(value)
            {
                return Err(self.node_error(key, &format!("{what} is invalid: {e}")));
            }
        }
        Ok(setting)
    }

    /// Follows a local `$ref` (`#/$defs/NAME`) of a schema node into the
    /// schema's `$defs`; any other node is returned as it is.
    pub fn resolve_ref<'a>(&'a self, node: &'a Value) -> &'a Value {
        node.get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .and_then(|name| self.raw().get("$defs").and_then(|d| d.get(name)))
            .unwrap_or(node)
    }

    /// Where the schema came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Where the schema's defaults are written: its file, or for the bundled
    /// schema (built into the binary, at no path on a device) its name.
    pub fn location(&self) -> crate::source::Location {
        if self.origin == BUNDLED_ORIGIN {
            crate::source::Location::described(BUNDLED_ORIGIN)
        } else {
            crate::source::Location::new(&self.origin)
        }
    }

    /// The schema as JSON.
    pub fn raw(&self) -> &Value {
        self.raw.get_or_init(|| {
            self.text
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or(Value::Null)
        })
    }

    /// Every setting, sorted by key.
    pub fn settings(&self) -> impl Iterator<Item = &Setting> {
        self.settings.values()
    }

    /// The setting named `key`.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key)
    }

    /// Whether `key` names a group of settings (such as `sandbox`).
    pub fn is_group(&self, key: &str) -> bool {
        self.groups.contains_key(key)
    }

    /// The closest known setting to a misspelt key, for "did you mean".
    pub fn suggest(&self, key: &str) -> Option<&str> {
        self.settings
            .keys()
            .map(|k| (strsim::damerau_levenshtein(k, key), k))
            .filter(|(d, k)| *d <= 3.max(k.len() / 5))
            .min()
            .map(|(_, k)| k.as_str())
    }
}

/// The definitions of `defs` that `node` refers to (`#/$defs/NAME`), with
/// those they refer to in turn: what a setting's validator needs, and no
/// more (each one would be checked and compiled with every setting).
fn referenced_defs(node: &Map, defs: &Map) -> Map {
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    match (key.as_str(), child) {
                        ("$ref", Value::String(target)) => {
                            if let Some(path) = target.strip_prefix("#/$defs/") {
                                out.push(path.split('/').next().unwrap_or(path));
                            }
                        }
                        _ => refs(child, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    node.values().for_each(|v| refs(v, &mut pending));
    let mut used = Map::new();
    while let Some(name) = pending.pop() {
        if used.contains_key(name) {
            continue;
        }
        match defs.get(name) {
            Some(def) => {
                used.insert(name.to_owned(), def.clone());
                refs(def, &mut pending);
            }
            // A name written with JSON Pointer escapes: keep every definition.
            None => return defs.clone(),
        }
    }
    used
}

/// Names a JSON value's type for messages.
pub fn describe_json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

/// Joins values for a one-line reason: at most [`SHORT_LIST`] of them, then
/// how many there are in all (`mandate explain` shows every one).
pub fn join_values_short(values: &[Value]) -> String {
    if values.len() <= SHORT_LIST {
        return join_values(values);
    }
    format!(
        "{}, … ({} in all)",
        join_values(&values[..SHORT_LIST - 2]),
        values.len()
    )
}

/// How many values a one-line reason lists before it abbreviates.
pub const SHORT_LIST: usize = 12;

/// Joins values for messages: `"a", "b"`.
pub fn join_values(values: &[Value]) -> String {
    values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod join_tests {
    use super::*;
    use crate::source::Location;

    /// The bundled schema compiles lazily; loaded as a schema file it
    /// passes every load-time check (validators, lockdown values, defaults).
    #[test]
    fn bundled_schema_passes_the_load_time_checks() {
        let eager = Schema::from_json("bundled", AGENT_POLICY_SCHEMA);
        assert!(eager.is_ok(), "{:?}", eager.err());
        // A fresh instance: the shared one may have met values in other tests.
        let lazy = Schema::load("bundled", AGENT_POLICY_SCHEMA, Compile::OnUse)
            .expect("the bundled schema loads");
        assert_eq!(
            lazy.settings().count(),
            eager.map_or(0, |s| s.settings().count())
        );
        assert!(lazy.settings().all(|s| s.validator.get().is_none()));
        // What only the JSON Schema validator refuses is still refused, by
        // a validator compiled on first use.
        let Some(log) = lazy.get("audit.log") else {
            panic!("audit.log is a bundled setting")
        };
        assert!(log.check(&Value::from("relative/path")).is_err());
        assert!(log.check(&Value::from("/var/log/agent.log")).is_ok());
        assert!(log.validator.get().is_some_and(Option::is_some));
    }

    /// Every value found in the schema fixtures, the profiles and the demo
    /// machine (each table, list and element at any depth), and a few more.
    fn fixture_values() -> Vec<Value> {
        fn collect(value: &Value, out: &mut Vec<Value>) {
            out.push(value.clone());
            match value {
                Value::Object(map) => map.values().for_each(|v| collect(v, out)),
                Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
                _ => {}
            }
        }
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    files(&path, out);
                } else if path.extension().is_some_and(|e| e == "toml") {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut paths = Vec::new();
        files(&root.join("tests/fixtures"), &mut paths);
        files(&root.join("profiles"), &mut paths);
        assert!(
            paths.len() > 20,
            "fixtures not found under {}",
            root.display()
        );
        let mut values = vec![
            Value::Null,
            Value::from(1.5),
            Value::from(-3),
            Value::from(""),
            Value::from("x".repeat(300)),
            Value::from("a.b\nc"),
            crate::json!({"bad header": "x"}),
            crate::json!({"name": "docs", "command": "x", "url": "https://mcp.example"}),
        ];
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if let Ok(tree) =
                crate::document::TomlTree::parse(Location::new(path.display().to_string()), &text)
            {
                collect(&Value::Object(tree.tree), &mut values);
            }
        }
        values
    }

    /// The bundled schema read as text, parsing only what resolution reads
    /// of each setting, is the full load: every setting's fields and node,
    /// the whole schema, and the verdict and message on every fixture value.
    #[test]
    fn the_quick_load_of_the_bundled_schema_is_the_full_load() {
        let Some(quick) = Schema::load_static(BUNDLED_ORIGIN, AGENT_POLICY_SCHEMA) else {
            panic!("the quick reader refuses the bundled schema")
        };
        let full = Schema::load(BUNDLED_ORIGIN, AGENT_POLICY_SCHEMA, Compile::OnUse)
            .expect("the bundled schema loads");
        // Nothing beyond what resolution reads was parsed.
        assert!(quick.raw.get().is_none());
        assert!(quick.settings().all(|s| s.node.get().is_none()));
        let keys = |s: &Schema| s.settings().map(|s| s.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&quick), keys(&full));
        assert_eq!(quick.groups, full.groups);
        let values = fixture_values();
        assert!(values.len() > 500, "{}", values.len());
        let mut refused = 0;
        for (q, f) in quick.settings().zip(full.settings()) {
            let key = &q.key;
            assert_eq!(q.kind, f.kind, "{key}");
            assert_eq!(q.title, f.title, "{key}");
            assert_eq!(q.description, f.description, "{key}");
            assert_eq!(q.order, f.order, "{key}");
            assert_eq!(q.enum_values, f.enum_values, "{key}");
            assert_eq!(q.merge, f.merge, "{key}");
            assert_eq!(q.value_kind, f.value_kind, "{key}");
            assert_eq!(q.lockdown, f.lockdown, "{key}");
            assert_eq!(q.default, f.default, "{key}");
            assert_eq!(q.plain, f.plain, "{key}");
            for value in &values {
                let verdict = q.check(value);
                refused += usize::from(verdict.is_err());
                assert_eq!(verdict, f.check(value), "{key}: {value}");
                assert_eq!(q.check_item(value), f.check_item(value), "{key}: {value}");
            }
            assert_eq!(q.node(), f.node(), "{key}");
            assert_eq!(q.items_are_strings(), f.items_are_strings(), "{key}");
        }
        // The battery holds values each setting refuses, with messages.
        assert!(refused > values.len(), "{refused}");
        assert_eq!(quick.raw(), full.raw());
        let rule = crate::json!({"$ref": "#/$defs/commandRule"});
        assert_eq!(quick.resolve_ref(&rule), full.resolve_ref(&rule));
        assert_ne!(quick.resolve_ref(&rule), &rule);
    }

    /// The schema every caller gets is the quick load.
    #[test]
    fn the_bundled_schema_is_read_quickly() {
        assert!(Schema::bundled().text.is_some());
    }

    #[test]
    fn long_lists_are_abbreviated_in_reasons() {
        let few: Vec<Value> = (0..3).map(|i| Value::from(format!("d{i}"))).collect();
        assert_eq!(join_values_short(&few), join_values(&few));
        let many: Vec<Value> = (0..1000).map(|i| Value::from(format!("d{i}"))).collect();
        let short = join_values_short(&many);
        assert!(short.starts_with("\"d0\", \"d1\""), "{short}");
        assert!(short.ends_with("\"d9\", … (1000 in all)"), "{short}");
        assert!(!short.contains("d10\""), "{short}");
    }
}
