//! A layer: what one file (or plist, or flag set) says, before any merging.

use crate::value::{Map, Value};

use crate::constraint::Constraint;
use crate::document::{Locate, TomlTree};
use crate::error::{DocumentErrors, Problem};
use crate::schema::{Kind, Schema, Setting};
use crate::source::{Location, SourceKind};
use crate::trust::VerifiedPayload;
use crate::trust::fields::format_datetime;
use crate::trust::header::{HeaderError, PolicyHeader};

/// One value proposed for one setting, and where it was written.
#[derive(Clone, Debug)]
pub struct Entry<T> {
    /// The dotted setting key.
    pub key: String,
    /// The value or constraint.
    pub value: T,
    /// Where it was written.
    pub location: Location,
}

/// The `[policy]` header of a managed document, as far as resolution needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PolicyInfo {
    /// The policy id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// When it expires (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// What the policy is for, in the admin's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whom developers ask to change it (a team, an address, a URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

impl From<&PolicyHeader> for PolicyInfo {
    fn from(header: &PolicyHeader) -> PolicyInfo {
        PolicyInfo {
            id: Some(header.id.clone()),
            version: Some(header.version),
            expires: header.expires.map(format_datetime),
            description: header.description.clone(),
            contact: header.contact.clone(),
        }
    }
}

/// What one source location says: settings and, for managed sources,
/// requirements. Layers are kept unmerged; [`crate::resolve()`] reads them all.
#[derive(Clone, Debug)]
pub struct Layer {
    /// The source.
    pub source: SourceKind,
    /// Where the layer came from (the file, plist, URL or flag).
    pub location: Location,
    /// Position within its source: a higher rank wins (a later file in `policy.d/`).
    pub rank: u32,
    /// The `[policy]` header, when there is one.
    pub policy: Option<PolicyInfo>,
    /// Proposed values (`[settings]` in a policy document; everything in a plain settings file).
    pub settings: Vec<Entry<Value>>,
    /// Constraints (`[requirements]`; managed sources only).
    pub requirements: Vec<Entry<Constraint>>,
}

impl Layer {
    /// An empty layer.
    pub fn new(source: SourceKind, location: Location) -> Layer {
        Layer {
            source,
            location,
            rank: 0,
            policy: None,
            settings: Vec::new(),
            requirements: Vec::new(),
        }
    }

    /// Parses a policy document (`[policy]`, `[settings]`, `[requirements]`).
    pub fn parse_policy(
        schema: &Schema,
        source: SourceKind,
        origin: impl Into<Location>,
        text: &str,
    ) -> Result<Layer, DocumentErrors> {
        let origin = origin.into();
        let tree = TomlTree::parse(&origin, text).map_err(|p| DocumentErrors(vec![p]))?;
        Layer::from_toml_tree(schema, source, origin, text, tree)
    }

    /// The layer of a verified bundle's payload, read from the document
    /// verification parsed ([`crate::trust::verify_bundle_with`]) as
    /// [`Layer::parse_policy`] reads text, without parsing it again.
    pub fn from_payload(
        schema: &Schema,
        source: SourceKind,
        origin: impl Into<Location>,
        payload: &VerifiedPayload<'_>,
    ) -> Result<Layer, DocumentErrors> {
        let origin = origin.into();
        let text = payload.text();
        let tree = TomlTree::from_parsed(&origin, text, payload.root())
            .map_err(|p| DocumentErrors(vec![p]))?;
        Layer::from_toml_tree(schema, source, origin, text, tree)
    }

    /// The layer of a converted TOML policy document: the header read by
    /// [`PolicyHeader`] (the one reader, which signed bundles use too), the
    /// values moved into the layer's entries, not copied.
    fn from_toml_tree(
        schema: &Schema,
        source: SourceKind,
        origin: Location,
        text: &str,
        mut tree: TomlTree<'_>,
    ) -> Result<Layer, DocumentErrors> {
        let header = PolicyHeader::of_document(text, tree.root())
            .map_err(|e| header_problem(&origin, e))
            .map(|h| h.map(|h| PolicyInfo::from(&h)));
        let map = std::mem::take(&mut tree.tree);
        Layer::from_owned_policy_tree(schema, source, origin, map, &tree, Some(header))
    }

    /// Parses a plain settings file (user config, project file). A user
    /// config's `[projects]` table (which projects are trusted) is skipped.
    pub fn parse_settings(
        schema: &Schema,
        source: SourceKind,
        origin: impl Into<Location>,
        text: &str,
    ) -> Result<Layer, DocumentErrors> {
        let origin = origin.into();
        let tree = TomlTree::parse(&origin, text).map_err(|p| DocumentErrors(vec![p]))?;
        Layer::from_settings_tree(schema, source, origin, tree).0
    }

    /// Parses a user config once: its layer (or why it is skipped), and the
    /// directories its `[projects]` table trusts (`[projects."DIR"] trusted
    /// = true`), which count even when a setting in the file is wrong.
    pub fn parse_user_config(
        schema: &Schema,
        origin: impl Into<Location>,
        text: &str,
    ) -> (Result<Layer, DocumentErrors>, Vec<String>) {
        let origin = origin.into();
        match TomlTree::parse(&origin, text) {
            Ok(tree) => {
                let (layer, projects) =
                    Layer::from_settings_tree(schema, SourceKind::User, origin, tree);
                let trusted = match projects {
                    Some(Value::Object(projects)) => projects
                        .into_iter()
                        .filter(|(_, p)| p.get("trusted") == Some(&Value::Bool(true)))
                        .map(|(dir, _)| dir)
                        .collect(),
                    _ => Vec::new(),
                };
                (layer, trusted)
            }
            Err(p) => (Err(DocumentErrors(vec![p])), Vec::new()),
        }
    }

    /// The layer of a settings file, and a user config's `projects` value.
    fn from_settings_tree(
        schema: &Schema,
        source: SourceKind,
        origin: Location,
        mut tree: TomlTree<'_>,
    ) -> (Result<Layer, DocumentErrors>, Option<Value>) {
        let mut map = std::mem::take(&mut tree.tree);
        let projects = if source == SourceKind::User {
            map.remove("projects")
        } else {
            None
        };
        let mut layer = Layer::new(source, origin);
        let mut problems = Vec::new();
        walk_settings(
            schema,
            map,
            &mut Vec::new(),
            &tree,
            &mut layer.settings,
            &mut problems,
        );
        (finish(layer, problems), projects)
    }

    /// Builds a layer from a policy tree of any format: top-level keys
    /// `settings` and `requirements`. A `policy` header is read only from
    /// TOML ([`Layer::parse_policy`]), by the same reader as signed
    /// bundles; a tree of another format that carries one is refused.
    pub fn from_policy_tree(
        schema: &Schema,
        source: SourceKind,
        location: Location,
        tree: &Map,
        locate: &dyn Locate,
    ) -> Result<Layer, DocumentErrors> {
        Layer::from_owned_policy_tree(schema, source, location, tree.clone(), locate, None)
    }

    /// `header` is the `[policy]` header as [`PolicyHeader`] read it, for
    /// TOML documents; `None` for trees that cannot carry one.
    fn from_owned_policy_tree(
        schema: &Schema,
        source: SourceKind,
        location: Location,
        tree: Map,
        locate: &dyn Locate,
        header: Option<Result<Option<PolicyInfo>, Problem>>,
    ) -> Result<Layer, DocumentErrors> {
        let mut layer = Layer::new(source, location);
        let mut problems = Vec::new();
        let header_read = header.is_some();
        match header {
            Some(Ok(info)) => layer.policy = info,
            Some(Err(problem)) => problems.push(problem),
            None => {}
        }
        for (table, value) in tree {
            let path = vec![table.clone()];
            if table == "policy" {
                // Read (and checked) by the header reader already.
                if !header_read {
                    problems.push(problem(
                        locate,
                        &path,
                        None,
                        "a [policy] header is read only from a TOML policy document; give the document (or a signed bundle) instead".into(),
                    ));
                }
                continue;
            }
            let Value::Object(map) = value else {
                problems.push(problem(
                    locate,
                    &path,
                    None,
                    format!("`{table}` must be a table"),
                ));
                continue;
            };
            match table.as_str() {
                "settings" => {
                    let mut path = path;
                    walk_settings(schema, map, &mut path, locate, &mut layer.settings, &mut problems);
                }
                "requirements" => {
                    let mut path = path;
                    walk_requirements(schema, map, &mut path, locate, &mut layer.requirements, &mut problems);
                }
                other => problems.push(problem(
                    locate,
                    &path,
                    None,
                    format!(
                        "unknown top-level table `{other}`: a policy document has [policy], [settings] and [requirements]"
                    ),
                )),
            }
        }
        finish(layer, problems)
    }
}

fn finish(layer: Layer, problems: Vec<Problem>) -> Result<Layer, DocumentErrors> {
    if problems.is_empty() {
        Ok(layer)
    } else {
        Err(DocumentErrors(problems))
    }
}

fn problem(locate: &dyn Locate, path: &[String], key: Option<&str>, message: String) -> Problem {
    Problem {
        location: locate.locate(path),
        key: key.map(str::to_owned),
        message,
    }
}

/// A header problem as a document problem at its line and column.
fn header_problem(origin: &Location, error: HeaderError) -> Problem {
    let (HeaderError::Syntax(p) | HeaderError::Field(p)) = &error else {
        // Only signed bundles require a header or its signed fields.
        return Problem {
            location: origin.clone(),
            key: None,
            message: error.to_string(),
        };
    };
    let line = u32::try_from(p.line).unwrap_or(u32::MAX);
    let column = u32::try_from(p.column).unwrap_or(u32::MAX);
    Problem {
        location: origin.at(line, column),
        key: None,
        message: if p.key.is_empty() {
            p.message.clone()
        } else {
            format!("`{}`: {}", p.key, p.message)
        },
    }
}

fn join(path: &[String], from: usize) -> String {
    path[from..].join(".")
}

fn unknown_setting(schema: &Schema, key: &str) -> String {
    match schema.suggest(key) {
        Some(s) => format!("unknown setting \"{key}\" (did you mean \"{s}\"?)"),
        None => format!("unknown setting \"{key}\"; `mandate schema` lists every setting"),
    }
}

/// What [`walk`] does at a setting: given the setting, its dotted key, the
/// value found (moved out of the tree), its path in the document and the
/// problem list.
type Leaf<'a> = dyn FnMut(&Setting, String, Value, &[String], &mut Vec<Problem>) + 'a;

/// Walks a tree of dotted keys, nested tables, or a mix, down to the
/// settings the schema knows, calling `leaf` for each; unknown keys and
/// values where a group is expected are problems. `table` names the
/// top-level table (`settings`, `requirements`) whose keys start at the root.
fn walk(
    schema: &Schema,
    table: &str,
    map: Map,
    path: &mut Vec<String>,
    locate: &dyn Locate,
    problems: &mut Vec<Problem>,
    leaf: &mut Leaf<'_>,
) {
    let base = path.iter().position(|p| p == table).map_or(0, |i| i + 1);
    for (name, value) in map {
        path.push(name);
        let key = join(path, base);
        if let Some(setting) = schema.get(&key) {
            leaf(setting, key, value, path, problems);
        } else if schema.is_group(&key) {
            match value {
                Value::Object(inner) => walk(schema, table, inner, path, locate, problems, leaf),
                _ => problems.push(problem(
                    locate,
                    path,
                    Some(&key),
                    format!(
                        "\"{key}\" is a group of settings, not a setting: write {key}.<name> = …"
                    ),
                )),
            }
        } else {
            problems.push(problem(
                locate,
                path,
                Some(&key),
                unknown_setting(schema, &key),
            ));
        }
        path.pop();
    }
}

/// Walks a settings tree into proposed values.
fn walk_settings(
    schema: &Schema,
    map: Map,
    path: &mut Vec<String>,
    locate: &dyn Locate,
    out: &mut Vec<Entry<Value>>,
    problems: &mut Vec<Problem>,
) {
    walk(
        schema,
        "settings",
        map,
        path,
        locate,
        problems,
        &mut |setting, key, value, path, problems| match setting.check(&value) {
            Ok(()) => out.push(Entry {
                key,
                value,
                location: locate.locate(path),
            }),
            Err(e) => problems.push(problem(locate, path, Some(&key), format!("\"{key}\": {e}"))),
        },
    );
}

/// Walks a requirements tree (`"dotted.key" = { op = … }` or nested tables) into constraints.
fn walk_requirements(
    schema: &Schema,
    map: Map,
    path: &mut Vec<String>,
    locate: &dyn Locate,
    out: &mut Vec<Entry<Constraint>>,
    problems: &mut Vec<Problem>,
) {
    walk(
        schema,
        "requirements",
        map,
        path,
        locate,
        problems,
        &mut |setting, key, value, path, problems| {
            match value {
            Value::Object(table) => match Constraint::from_owned_table(setting, table) {
                Ok(c) => out.push(Entry {
                    key,
                    value: c,
                    location: locate.locate(path),
                }),
                Err(e) => {
                    let mut at = path.to_vec();
                    at.extend(e.op);
                    problems.push(problem(locate, &at, Some(&key), e.message));
                }
            },
            _ => problems.push(problem(
                locate,
                path,
                Some(&key),
                format!(
                    "the requirement on \"{key}\" must be a table of operators, such as {{ allowed = [...] }} or {{ value = ... }}"
                ),
            )),
        }
        },
    );
}

/// Parses the value of `-c KEY=VALUE`: TOML when it parses as a TOML value,
/// otherwise the text as a string.
pub fn parse_session_value(text: &str) -> Value {
    let wrapped = format!("v = {text}");
    match TomlTree::parse("-c", &wrapped) {
        Ok(tree) => tree.tree.get("v").cloned().unwrap_or(Value::Null),
        Err(_) => Value::String(text.to_owned()),
    }
}

/// The keys given more than once in `-c KEY=VALUE` arguments, each with how
/// many times; the last value given is the one used.
pub fn repeated_session_keys(args: &[String]) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for arg in args {
        let Some((key, _)) = arg.split_once('=') else {
            continue;
        };
        let key = key.trim();
        match counts.iter_mut().find(|(k, _)| k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key.to_owned(), 1)),
        }
    }
    counts.retain(|(_, n)| *n > 1);
    counts
}

/// Builds the session layer from `-c KEY=VALUE` arguments; a key given again
/// replaces the earlier value (the last one wins, as with `git -c`).
pub fn session_layer(schema: &Schema, args: &[String]) -> Result<Layer, DocumentErrors> {
    let mut layer = Layer::new(SourceKind::Session, Location::described("command line"));
    let mut problems = Vec::new();
    for arg in args {
        let at = Location::described(format!("-c {arg}"));
        let Some((key, text)) = arg.split_once('=') else {
            problems.push(Problem {
                location: at,
                key: None,
                message: "expected KEY=VALUE, such as -c sandbox.mode=read-only".into(),
            });
            continue;
        };
        let key = key.trim();
        let Some(setting) = schema.get(key) else {
            problems.push(Problem {
                location: at,
                key: Some(key.into()),
                message: unknown_setting(schema, key),
            });
            continue;
        };
        let mut value = parse_session_value(text.trim());
        // A bare word that TOML reads as something else stays a string for string settings.
        if setting.kind == Kind::String && !value.is_string() {
            value = Value::String(text.trim().to_owned());
        }
        match setting.check(&value) {
            Ok(()) => {
                // Like `git -c`: a key given again replaces the earlier value.
                layer.settings.retain(|e| e.key != key);
                layer.settings.push(Entry {
                    key: key.to_owned(),
                    value,
                    location: at,
                });
            }
            Err(e) => problems.push(Problem {
                location: at,
                key: Some(key.into()),
                message: format!("\"{key}\": {e}"),
            }),
        }
    }
    finish(layer, problems)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn session_values_last_one_wins() {
        let args = vec![
            "sandbox.mode=read-only".to_owned(),
            "sandbox.network=true".to_owned(),
            "sandbox.mode=workspace-write".to_owned(),
        ];
        let layer = session_layer(Schema::bundled(), &args).unwrap();
        let modes: Vec<&Value> = layer
            .settings
            .iter()
            .filter(|e| e.key == "sandbox.mode")
            .map(|e| &e.value)
            .collect();
        assert_eq!(modes, [&Value::String("workspace-write".into())]);
        assert_eq!(
            repeated_session_keys(&args),
            [("sandbox.mode".to_owned(), 2)]
        );
    }

    /// One parse gives the user's settings and the projects they trust; the
    /// trust counts even when a setting is wrong, and only `trusted = true`
    /// trusts.
    #[test]
    fn a_user_config_is_parsed_once_for_settings_and_trust() {
        let schema = Schema::bundled();
        let text = "[sandbox]\nnetwork = true\n\n[projects.\"/src/a\"]\ntrusted = true\n\n[projects.\"/src/b\"]\ntrusted = false\n\n[projects]\n\"/src/c\" = { trusted = true }\n\"/src/d\" = { trusted = \"yes\" }\n";
        let (layer, trusted) = Layer::parse_user_config(schema, "config.toml", text);
        assert_eq!(trusted, ["/src/a", "/src/c"]);
        let layer = layer.expect("valid settings");
        assert_eq!(layer.settings.len(), 1);
        assert_eq!(layer.settings[0].key, "sandbox.network");

        let wrong = format!(
            "[sandbox]\nmod = \"x\"\n\n{}",
            &text[text.find("[projects").unwrap_or(0)..]
        );
        let (layer, trusted) = Layer::parse_user_config(schema, "config.toml", &wrong);
        assert!(layer.is_err());
        assert_eq!(trusted, ["/src/a", "/src/c"]);

        let (layer, trusted) = Layer::parse_user_config(schema, "config.toml", "[projects\n");
        assert!(layer.is_err() && trusted.is_empty());
    }
}
