//! Reading documents into trees with locations.
//!
//! Both TOML files and plists become the same thing before they meet the
//! schema: a JSON tree plus a way to locate every key in it. One walker
//! ([`crate::layer`]) then turns trees into settings and constraints, so the
//! rules (and messages) are the same whatever the format.

use std::ops::Range;
use std::sync::Arc;

use serde_json::{Map, Number, Value};
use toml_edit::{Item, Table};

use crate::error::Problem;
use crate::source::Location;

/// Maps a key path inside a document to where it is written.
pub trait Locate {
    /// The location of `path` (top-level table first, e.g. `["settings", "sandbox", "mode"]`).
    fn locate(&self, path: &[String]) -> Location;
}

/// Byte offsets to 1-based lines and columns: the one place positions are
/// computed, for every message that names a `line:column` (TOML documents,
/// trust roots, policy headers, invalid UTF-8).
///
/// Columns count characters (Unicode scalar values), as `rustc` and the
/// `toml` crate do, so `é` or `日` before an error moves the column by one.
/// An offset inside a character is the position of that character; an offset
/// past the end is the end.
///
/// ```
/// use mandate::document::LineIndex;
/// let text = "a = 1\nnamé = \"日本\" x\n";
/// let index = LineIndex::new(text);
/// assert_eq!(index.position(text.find('x').unwrap()), (2, 13));
/// ```
#[derive(Debug)]
pub struct LineIndex {
    /// Byte offset where each line starts.
    starts: Vec<usize>,
    /// Every character longer than one byte: its offset and how many bytes
    /// it has beyond the first (empty for ASCII text).
    wide: Vec<(usize, usize)>,
    /// The length of the text.
    len: usize,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let wide = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .filter(|(_, c)| c.len_utf8() > 1)
                .map(|(i, c)| (i, c.len_utf8() - 1))
                .collect()
        };
        LineIndex {
            starts,
            wide,
            len: text.len(),
        }
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.len);
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts[line];
        let first = self.wide.partition_point(|&(at, _)| at < start);
        let last = self.wide.partition_point(|&(at, _)| at < offset);
        // A character counts one column whatever its length; an offset
        // inside one is at its start.
        let extra: usize = self.wide[first..last]
            .iter()
            .map(|&(at, more)| more.min(offset - at))
            .sum();
        let column = offset - start - extra;
        (
            u32::try_from(line + 1).unwrap_or(u32::MAX),
            u32::try_from(column + 1).unwrap_or(u32::MAX),
        )
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`;
/// [`LineIndex`] for one position.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    LineIndex::new(text).position(offset)
}

/// A parsed TOML document: its tree, and the positions of its keys.
#[derive(Debug)]
pub struct TomlTree {
    /// The document as JSON (datetimes become RFC 3339 strings).
    pub tree: Map<String, Value>,
    origin: Location,
    index: LineIndex,
    /// The parsed document, kept for its spans: a key is located by walking
    /// it when asked, instead of recording every key's position up front.
    /// Shared with whoever parsed it (a verified bundle), never copied.
    root: Arc<Table>,
}

impl Locate for TomlTree {
    fn locate(&self, path: &[String]) -> Location {
        // The deepest known ancestor: an inline table's inner keys have spans
        // too, but a path built by the walker may go deeper than the text.
        let mut best = None;
        let mut node = Some(Node::Table(&self.root));
        for name in path {
            let Some((span, next)) = node.and_then(|n| n.child(name)) else {
                break;
            };
            if let Some(span) = span {
                best = Some(span.start);
            }
            node = next;
        }
        self.at(best)
    }
}

/// A place in the parsed document that may have children.
#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    Tables(&'a toml_edit::ArrayOfTables),
    Value(&'a toml_edit::Value),
}

impl<'a> Node<'a> {
    fn of(item: &'a Item) -> Option<Node<'a>> {
        match item {
            Item::None => None,
            Item::Value(v) => Some(Node::Value(v)),
            Item::Table(t) => Some(Node::Table(t)),
            Item::ArrayOfTables(a) => Some(Node::Tables(a)),
        }
    }

    /// The child `name` (a key, or a list index written in decimal): the
    /// span it is located at, and the child itself. The spans are the ones
    /// [`TomlTree::parse`] converts along: a key's own span where it has one,
    /// else its value's.
    fn child(self, name: &str) -> Option<(Option<Range<usize>>, Option<Node<'a>>)> {
        use toml_edit::Value as V;
        match self {
            Node::Table(t) => {
                let item = t.get(name)?;
                let span = t
                    .key(name)
                    .and_then(toml_edit::Key::span)
                    .or_else(|| item.span());
                Some((span, Node::of(item)))
            }
            Node::Tables(a) => {
                let t = a.iter().nth(list_index(name)?)?;
                Some((t.span(), Some(Node::Table(t))))
            }
            Node::Value(V::Array(a)) => {
                let v = a.iter().nth(list_index(name)?)?;
                Some((v.span(), Some(Node::Value(v))))
            }
            Node::Value(V::InlineTable(t)) => {
                let v = t.get(name)?;
                let span = t
                    .key(name)
                    .and_then(toml_edit::Key::span)
                    .or_else(|| v.span());
                Some((span, Some(Node::Value(v))))
            }
            Node::Value(_) => None,
        }
    }
}

/// A list index as paths write it: decimal, no sign, no leading zeros.
fn list_index(name: &str) -> Option<usize> {
    name.parse::<usize>().ok().filter(|i| i.to_string() == name)
}

/// The start of a span, or of the deepest ancestor that has one.
fn start(span: Option<Range<usize>>, ancestor: Option<usize>) -> Option<usize> {
    span.map(|s| s.start).or(ancestor)
}

impl TomlTree {
    /// Parses `text`; `origin` names the file (and plist key or bundle) in locations.
    pub fn parse(origin: impl Into<Location>, text: &str) -> Result<TomlTree, Problem> {
        let origin = origin.into();
        let doc = toml_edit::Document::parse(text).map_err(|e| {
            let (line, column) = line_col(text, e.span().map_or(0, |s| s.start));
            Problem {
                location: origin.at(line, column),
                key: None,
                message: format!("TOML parse error: {}", e.message().trim_end()),
            }
        })?;
        TomlTree::from_parsed(origin, text, Arc::new(doc.into_table()))
    }

    /// A document already parsed from `text` (`root` is its root table),
    /// such as a verified bundle's payload: converted, not parsed again.
    pub fn from_parsed(
        origin: impl Into<Location>,
        text: &str,
        root: Arc<Table>,
    ) -> Result<TomlTree, Problem> {
        let mut tree = TomlTree {
            tree: Map::new(),
            origin: origin.into(),
            index: LineIndex::new(text),
            root,
        };
        tree.tree = tree.table(&tree.root, None)?;
        Ok(tree)
    }

    /// The parsed document's root table.
    pub(crate) fn root(&self) -> &Table {
        &self.root
    }

    /// The location of a byte offset, or the start of the document.
    fn at(&self, offset: Option<usize>) -> Location {
        match offset {
            Some(offset) => {
                let (line, column) = self.index.position(offset);
                self.origin.at(line, column)
            }
            None => self.origin.at(1, 1),
        }
    }

    /// Converts a table; `at` is where its nearest located ancestor starts.
    fn table(&self, table: &Table, at: Option<usize>) -> Result<Map<String, Value>, Problem> {
        let mut out = Map::new();
        for (key, item) in table.iter() {
            let span = table.key(key).and_then(toml_edit::Key::span);
            let value = self.item(item, start(span.or_else(|| item.span()), at))?;
            out.insert(key.to_owned(), value);
        }
        Ok(out)
    }

    fn item(&self, item: &Item, at: Option<usize>) -> Result<Value, Problem> {
        match item {
            Item::None => Ok(Value::Null),
            Item::Value(v) => self.value(v, at),
            Item::Table(t) => Ok(Value::Object(self.table(t, at)?)),
            Item::ArrayOfTables(a) => {
                let mut out = Vec::with_capacity(a.len());
                for t in a.iter() {
                    out.push(Value::Object(self.table(t, start(t.span(), at))?));
                }
                Ok(Value::Array(out))
            }
        }
    }

    fn value(&self, value: &toml_edit::Value, at: Option<usize>) -> Result<Value, Problem> {
        use toml_edit::Value as V;
        Ok(match value {
            V::String(s) => Value::String(s.value().clone()),
            V::Integer(i) => Value::Number((*i.value()).into()),
            V::Float(f) => match Number::from_f64(*f.value()) {
                Some(n) => Value::Number(n),
                None => {
                    return Err(Problem {
                        location: self.at(at),
                        key: None,
                        message: format!("{} is not a finite number", f.value()),
                    });
                }
            },
            V::Boolean(b) => Value::Bool(*b.value()),
            V::Datetime(d) => Value::String(d.value().to_string()),
            V::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for v in a.iter() {
                    out.push(self.value(v, start(v.span(), at))?);
                }
                Value::Array(out)
            }
            V::InlineTable(t) => {
                let mut out = Map::new();
                for (key, v) in t.iter() {
                    let span = t
                        .key(key)
                        .and_then(toml_edit::Key::span)
                        .or_else(|| v.span());
                    out.insert(key.to_owned(), self.value(v, start(span, at))?);
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
        assert_eq!(idx.position(100), (3, 1));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // 2-, 3- and 4-byte characters before the offset, on this line and the one before.
        let text = "é = 1\nnamé = \"日本🦀\" x\n";
        let idx = LineIndex::new(text);
        let x = text.find('x').expect("x");
        assert_eq!(idx.position(x), (2, 14));
        assert_eq!(idx.position(text.find('=').expect("=")), (1, 3));
        // Inside a character: the character's own position.
        let crab = text.find('🦀').expect("crab");
        assert_eq!(idx.position(crab), (2, 11));
        assert_eq!(idx.position(crab + 2), (2, 11));
        assert_eq!(idx.position(crab + 4), (2, 12));
        // Every char boundary agrees with counting characters directly.
        for (offset, _) in text.char_indices() {
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before[start..].chars().count() + 1;
            assert_eq!(
                idx.position(offset),
                (line as u32, column as u32),
                "{offset}"
            );
        }
    }

    #[test]
    fn errors_after_non_ascii_text_name_the_character_column() {
        let e = TomlTree::parse("f.toml", "[s]\n\"ключ\" = [1.0, -inf]\n").expect_err("not finite");
        assert_eq!(e.to_string(), "f.toml:2:16: -inf is not a finite number");
        let e = TomlTree::parse("f.toml", "[s]\nnom = \"été\" x\n").expect_err("syntax");
        assert!(e.to_string().starts_with("f.toml:2:13:"), "{e}");
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
    fn nested_lists_and_tables_are_located() {
        let text = "a = 1\n[[x]]\nb = 2\n[[x]]\nc = { d = [1, {e = 2}], f.g = 3 }\n[y.z]\nw = [[1,2],[3]]\n";
        let t = TomlTree::parse("f.toml", text).expect("parses");
        let at = |s: &[&str]| {
            t.locate(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .to_string()
        };
        assert_eq!(at(&["x", "1"]), "f.toml:4:1");
        assert_eq!(at(&["x", "1", "c", "d", "1", "e"]), "f.toml:5:16");
        assert_eq!(at(&["x", "1", "c", "f", "g"]), "f.toml:5:27");
        assert_eq!(at(&["y", "z", "w", "1", "0"]), "f.toml:7:13");
        // Deeper than the text, or not an index as written: the deepest known ancestor.
        assert_eq!(at(&["x", "1", "c", "d", "1", "e", "deeper"]), "f.toml:5:16");
        assert_eq!(at(&["x", "1", "c", "d", "01"]), "f.toml:5:7");
        assert_eq!(at(&["x", "7"]), "f.toml:2:3");
        assert_eq!(at(&["nothing"]), "f.toml:1:1");
        let e = TomlTree::parse("f.toml", "[s]\nx = [1.0, -inf]\n").expect_err("not finite");
        assert_eq!(e.to_string(), "f.toml:2:11: -inf is not a finite number");
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
