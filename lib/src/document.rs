//! Reading documents into trees with locations.
//!
//! Both TOML files and plists become the same thing before they meet the
//! schema: a JSON tree plus a way to locate every key in it. One walker
//! ([`crate::layer`]) then turns trees into settings and constraints, so the
//! rules (and messages) are the same whatever the format.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::{Map, Number, Value};
use toml_edit::{Item, Table};

use crate::error::Problem;
use crate::source::Location;

/// Maps a key path inside a document to where it is written.
pub trait Locate {
    /// The location of `path` (top-level table first, e.g. `["settings", "sandbox", "mode"]`).
    fn locate(&self, path: &[String]) -> Location;
}

/// Byte offsets to 1-based lines and columns.
#[derive(Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The 1-based line and column of a byte offset (columns count bytes).
    pub fn position(&self, offset: usize) -> (u32, u32) {
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let column = offset - self.starts[line];
        (line as u32 + 1, column as u32 + 1)
    }
}

/// A parsed TOML document: its tree, and the positions of its keys.
#[derive(Debug)]
pub struct TomlTree {
    /// The document as JSON (datetimes become RFC 3339 strings).
    pub tree: Map<String, Value>,
    origin: Location,
    index: LineIndex,
    spans: HashMap<Vec<String>, usize>,
}

impl Locate for TomlTree {
    fn locate(&self, path: &[String]) -> Location {
        // The deepest known ancestor: an inline table's inner keys have spans
        // too, but a path built by the walker may go deeper than the text.
        for len in (1..=path.len()).rev() {
            if let Some(&offset) = self.spans.get(&path[..len]) {
                let (line, column) = self.index.position(offset);
                return self.origin.at(line, column);
            }
        }
        self.origin.at(1, 1)
    }
}

impl TomlTree {
    /// Parses `text`; `origin` names the file in locations.
    pub fn parse(origin: &str, text: &str) -> Result<TomlTree, Problem> {
        let origin = Location::new(origin);
        let index = LineIndex::new(text);
        let doc = toml_edit::Document::parse(text).map_err(|e| {
            let (line, column) = index.position(e.span().map_or(0, |s| s.start));
            Problem {
                location: origin.at(line, column),
                key: None,
                message: format!("TOML parse error: {}", e.message().trim_end()),
            }
        })?;
        let mut tree = TomlTree {
            tree: Map::new(),
            origin,
            index,
            spans: HashMap::new(),
        };
        let mut path = Vec::new();
        tree.tree = tree.table(doc.as_table(), &mut path)?;
        Ok(tree)
    }

    fn note(&mut self, path: &[String], span: Option<Range<usize>>) {
        if let Some(span) = span {
            self.spans.entry(path.to_vec()).or_insert(span.start);
        }
    }

    fn table(
        &mut self,
        table: &Table,
        path: &mut Vec<String>,
    ) -> Result<Map<String, Value>, Problem> {
        let mut out = Map::new();
        for (key, item) in table.iter() {
            path.push(key.to_owned());
            let span = table.key(key).and_then(toml_edit::Key::span);
            self.note(path, span.or_else(|| item.span()));
            let value = self.item(item, path)?;
            out.insert(key.to_owned(), value);
            path.pop();
        }
        Ok(out)
    }

    fn item(&mut self, item: &Item, path: &mut Vec<String>) -> Result<Value, Problem> {
        match item {
            Item::None => Ok(Value::Null),
            Item::Value(v) => self.value(v, path),
            Item::Table(t) => Ok(Value::Object(self.table(t, path)?)),
            Item::ArrayOfTables(a) => {
                let mut out = Vec::new();
                for (i, t) in a.iter().enumerate() {
                    path.push(i.to_string());
                    self.note(path, t.span());
                    out.push(Value::Object(self.table(t, path)?));
                    path.pop();
                }
                Ok(Value::Array(out))
            }
        }
    }

    fn value(
        &mut self,
        value: &toml_edit::Value,
        path: &mut Vec<String>,
    ) -> Result<Value, Problem> {
        use toml_edit::Value as V;
        Ok(match value {
            V::String(s) => Value::String(s.value().clone()),
            V::Integer(i) => Value::Number((*i.value()).into()),
            V::Float(f) => match Number::from_f64(*f.value()) {
                Some(n) => Value::Number(n),
                None => {
                    return Err(Problem {
                        location: self.locate(path),
                        key: None,
                        message: format!("{} is not a finite number", f.value()),
                    });
                }
            },
            V::Boolean(b) => Value::Bool(*b.value()),
            V::Datetime(d) => Value::String(d.value().to_string()),
            V::Array(a) => {
                let mut out = Vec::new();
                for (i, v) in a.iter().enumerate() {
                    path.push(i.to_string());
                    self.note(path, v.span());
                    out.push(self.value(v, path)?);
                    path.pop();
                }
                Value::Array(out)
            }
            V::InlineTable(t) => {
                let mut out = Map::new();
                for (key, v) in t.iter() {
                    path.push(key.to_owned());
                    self.note(
                        path,
                        t.key(key)
                            .and_then(toml_edit::Key::span)
                            .or_else(|| v.span()),
                    );
                    out.insert(key.to_owned(), self.value(v, path)?);
                    path.pop();
                }
                Value::Object(out)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let idx = LineIndex::new("ab\ncd\n");
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(1), (1, 2));
        assert_eq!(idx.position(3), (2, 1));
        assert_eq!(idx.position(4), (2, 2));
    }

    #[test]
    fn keys_are_located() {
        let text = "[settings]\nsandbox.mode = \"read-only\"\n\n[requirements]\n\"auth.method\" = { value = \"sso\" }\n";
        let t = TomlTree::parse("f.toml", text).expect("parses");
        let p = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            t.locate(&p(&["settings", "sandbox", "mode"])).to_string(),
            "f.toml:2:9"
        );
        assert_eq!(
            t.locate(&p(&["requirements", "auth.method"])).to_string(),
            "f.toml:5:1"
        );
        assert_eq!(
            t.locate(&p(&["requirements", "auth.method", "value"]))
                .to_string(),
            "f.toml:5:19"
        );
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = TomlTree::parse("f.toml", "[settings]\nsandbox.mode = \n").expect_err("fails");
        assert!(e.to_string().starts_with("f.toml:2:"), "{e}");
        assert!(e.message.contains("TOML parse error"));
        let dup = TomlTree::parse("f.toml", "a = 1\na = 2\n").expect_err("duplicate keys fail");
        assert!(dup.to_string().contains("duplicate key"), "{dup}");
    }
}
