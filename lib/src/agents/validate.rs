//! Every rendered file is checked against the agent's own schema before it
//! is installed: agents ignore misspelt keys in silence, drop a whole key
//! when one value inside it is wrong, or refuse to start on a file they
//! cannot parse. The schemas are copies under `schema/agents/` (see the
//! README there for their origin).

use std::sync::OnceLock;

use serde_json::Value;

use super::{RenderError, RenderedFile};

/// Codex's `config.toml` schema (for `config.toml` and `managed_config.toml`).
pub const CODEX_CONFIG_SCHEMA: &str =
    include_str!("../../../schema/agents/codex-config.schema.json");
/// The `requirements.toml` keys mandate renders, as Codex accepts them.
pub const CODEX_REQUIREMENTS_SCHEMA: &str =
    include_str!("../../../schema/agents/codex-requirements.schema.json");
/// SchemaStore's Claude Code settings schema.
pub const CLAUDE_CODE_SETTINGS_SCHEMA: &str =
    include_str!("../../../schema/agents/claude-code-settings.schema.json");
/// Gemini CLI's settings schema.
pub const GEMINI_CLI_SETTINGS_SCHEMA: &str =
    include_str!("../../../schema/agents/gemini-cli-settings.schema.json");
/// The Gemini CLI admin policy rules mandate renders.
pub const GEMINI_CLI_POLICY_SCHEMA: &str =
    include_str!("../../../schema/agents/gemini-cli-policy.schema.json");

/// Which schema a file is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileSchema {
    /// Codex `config.toml` / `managed_config.toml`.
    CodexConfig,
    /// Codex `requirements.toml`.
    CodexRequirements,
    /// Claude Code `managed-settings.json`.
    ClaudeCodeSettings,
    /// Gemini CLI `settings.json`.
    GeminiCliSettings,
    /// Gemini CLI admin policy TOML.
    GeminiCliPolicy,
}

impl FileSchema {
    /// The schema for a rendered file, by its name.
    pub fn for_path(path: &std::path::Path) -> Option<FileSchema> {
        let name = path.file_name()?.to_str()?;
        let parent = path.parent()?.file_name()?.to_str()?;
        Some(match (parent, name) {
            (_, "requirements.toml") => FileSchema::CodexRequirements,
            (_, "config.toml" | "managed_config.toml") => FileSchema::CodexConfig,
            (_, "managed-settings.json") => FileSchema::ClaudeCodeSettings,
            ("policies", _) => FileSchema::GeminiCliPolicy,
            (_, "settings.json") => FileSchema::GeminiCliSettings,
            _ => return None,
        })
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            FileSchema::CodexConfig => "Codex's config.schema.json",
            FileSchema::CodexRequirements => "the Codex requirements.toml schema",
            FileSchema::ClaudeCodeSettings => "the SchemaStore Claude Code settings schema",
            FileSchema::GeminiCliSettings => "Gemini CLI's settings.schema.json",
            FileSchema::GeminiCliPolicy => "the Gemini CLI admin policy schema",
        }
    }

    fn is_toml(self) -> bool {
        matches!(
            self,
            FileSchema::CodexConfig | FileSchema::CodexRequirements | FileSchema::GeminiCliPolicy
        )
    }

    fn validator(self) -> Result<&'static jsonschema::Validator, String> {
        static CELLS: [OnceLock<Result<jsonschema::Validator, String>>; 5] =
            [const { OnceLock::new() }; 5];
        let (index, text) = match self {
            FileSchema::CodexConfig => (0, CODEX_CONFIG_SCHEMA),
            FileSchema::CodexRequirements => (1, CODEX_REQUIREMENTS_SCHEMA),
            FileSchema::ClaudeCodeSettings => (2, CLAUDE_CODE_SETTINGS_SCHEMA),
            FileSchema::GeminiCliSettings => (3, GEMINI_CLI_SETTINGS_SCHEMA),
            FileSchema::GeminiCliPolicy => (4, GEMINI_CLI_POLICY_SCHEMA),
        };
        CELLS[index]
            .get_or_init(|| {
                let schema: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
                jsonschema::validator_for(&schema).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Parses a rendered file (TOML or JSON) into JSON for schema checks.
pub fn parse(schema: FileSchema, text: &str) -> Result<Value, String> {
    if schema.is_toml() {
        let doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("not TOML: {e}"))?;
        Ok(toml_to_json(doc.as_item()))
    } else {
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))
    }
}

/// Checks one rendered file against its agent's schema.
pub fn check(file: &RenderedFile) -> Result<(), RenderError> {
    let invalid = |schema: &'static str, message: String| RenderError::Invalid {
        agent: file.agent,
        path: file.path.clone(),
        schema,
        message,
    };
    let Some(schema) = FileSchema::for_path(&file.path) else {
        return Err(invalid(
            "any schema",
            "no schema is known for this file".into(),
        ));
    };
    let value = parse(schema, file.text()).map_err(|e| invalid(schema.name(), e))?;
    let validator = schema.validator().map_err(|e| invalid(schema.name(), e))?;
    if let Some(error) = validator.iter_errors(&value).next() {
        let at = error.instance_path().to_string();
        let at = if at.is_empty() { "/".to_owned() } else { at };
        return Err(invalid(schema.name(), format!("at {at}: {error}")));
    }
    if schema == FileSchema::ClaudeCodeSettings {
        // SchemaStore's schema admits unknown top-level keys, and Claude
        // Code ignores a misspelt one in silence: refuse them here.
        let known = claude_top_level_keys();
        if let Some(key) = value
            .as_object()
            .and_then(|o| o.keys().find(|k| !known.contains(k)))
        {
            return Err(invalid(
                schema.name(),
                format!("at /{key}: not a Claude Code setting"),
            ));
        }
    }
    Ok(())
}

fn claude_top_level_keys() -> &'static Vec<String> {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        serde_json::from_str::<Value>(CLAUDE_CODE_SETTINGS_SCHEMA)
            .ok()
            .and_then(|s| {
                s.get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().collect())
            })
            .unwrap_or_default()
    })
}

/// A TOML item as JSON (datetimes as strings).
pub fn toml_to_json(item: &toml_edit::Item) -> Value {
    match item {
        toml_edit::Item::None => Value::Null,
        toml_edit::Item::Value(v) => toml_value_to_json(v),
        toml_edit::Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), toml_to_json(v)))
                .collect(),
        ),
        toml_edit::Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| {
                    Value::Object(
                        t.iter()
                            .map(|(k, v)| (k.to_owned(), toml_to_json(v)))
                            .collect(),
                    )
                })
                .collect(),
        ),
    }
}

fn toml_value_to_json(v: &toml_edit::Value) -> Value {
    match v {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::from(*i.value()),
        toml_edit::Value::Float(f) => Value::from(*f.value()),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::Array(a.iter().map(toml_value_to_json).collect()),
        toml_edit::Value::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), toml_value_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles() {
        for s in [
            FileSchema::CodexConfig,
            FileSchema::CodexRequirements,
            FileSchema::ClaudeCodeSettings,
            FileSchema::GeminiCliSettings,
            FileSchema::GeminiCliPolicy,
        ] {
            assert!(
                s.validator().is_ok(),
                "{}: {:?}",
                s.name(),
                s.validator().err()
            );
        }
    }

    #[test]
    fn a_misspelt_claude_key_or_a_bad_enum_is_refused() {
        let file = |text: &str| RenderedFile {
            agent: super::super::AgentKind::ClaudeCode,
            path: "/etc/claude-code/managed-settings.json".into(),
            bytes: text.as_bytes().to_vec(),
        };
        assert!(check(&file(r#"{"permissions": {"defaultMode": "bogus"}}"#)).is_err());
        let e = check(&file(r#"{"allowManagedMcpServerOnly": true}"#)).unwrap_err();
        assert!(e.to_string().contains("/allowManagedMcpServerOnly"), "{e}");
        assert!(check(&file(r#"{"permissions": {"deny": ["Bash(sudo *)"]}}"#)).is_ok());
    }

    #[test]
    fn codex_requirements_refuse_unknown_keys_and_allow_rules() {
        let file = |text: &str| RenderedFile {
            agent: super::super::AgentKind::Codex,
            path: "/etc/codex/requirements.toml".into(),
            bytes: text.as_bytes().to_vec(),
        };
        assert!(check(&file("allowed_sandbox_modes = [\"read-only\"]\n")).is_ok());
        assert!(check(&file("allowed_sandbox_mode = [\"read-only\"]\n")).is_err());
        assert!(check(&file("allowed_sandbox_modes = [\"workspace-write\"]\n")).is_err());
        assert!(check(&file("allowed_approval_policies = []\n")).is_err());
        assert!(
            check(&file(
                "[rules]\nprefix_rules = [{ pattern = [{ token = \"ls\" }], decision = \"allow\" }]\n"
            ))
            .is_err()
        );
        assert!(
            check(&file(
                "[rules]\nprefix_rules = [{ pattern = [{ token = \"ls\" }], decision = \"forbidden\", justification = \"\" }]\n"
            ))
            .is_err()
        );
    }
}
