//! Reading documents into trees with locations.
//!
//! Both TOML files and plists become the same thing before they meet the
//! schema: a JSON tree plus a way to locate every key in it. One walker
//! ([`crate::layer`]) then turns trees into settings and constraints, so the
//! rules (and messages) are the same whatever the format.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use crate::value::{Map, Number, Value};
use toml::Spanned;
use toml::de::{DeFloat, DeInteger, DeTable, DeValue};

use crate::error::Problem;
use crate::source::Location;

mod reader;

#[cfg(test)]
mod differential;

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
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
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
    // Only the text before the offset is read: a header near the top of a
    // long document is found without indexing the rest.
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text.as_bytes()[..offset];
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before[..start].iter().filter(|&&b| b == b'\n').count();
    let column = 1 + text[start..offset].chars().count();
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// A TOML syntax error: the bytes it is about, and what is wrong.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    /// Where, as byte offsets into the text.
    pub(crate) span: Option<Range<usize>>,
    /// What is wrong, in the parser's words.
    pub(crate) message: String,
}

/// Parses `text` as a TOML document: every reader of TOML (policy and
/// settings files, trust roots, policy headers) goes through here.
///
/// The tree borrows `text`: strings without escapes are not copied, and
/// numbers stay text until they are read ([`integer`], [`float`]). What is
/// refused, and the first error reported, are what the `toml_edit` parser
/// gives (both run the same `toml_parser` passes): a number out of range
/// is a syntax error too, found in document order among the errors of the
/// second (building) pass, after every error of the first (syntax) pass.
pub(crate) fn parse_toml(text: &str) -> Result<DeTable<'_>, SyntaxError> {
    let root = parse_toml_unchecked(text)?;
    match first_bad_number(&root) {
        Some(bad) => Err(bad),
        None => Ok(root),
    }
}

/// [`parse_toml`], but a document that is otherwise valid is returned
/// without looking at its numbers: for a reader that reads every number
/// anyway ([`TomlTree`]), and asks [`first_bad_number`] when one is bad.
fn parse_toml_unchecked(text: &str) -> Result<DeTable<'_>, SyntaxError> {
    let (root, errors) = DeTable::parse_recoverable(text);
    let root = root.into_inner();
    let Some(error) = errors.into_iter().next() else {
        return Ok(root);
    };
    let error = SyntaxError {
        span: error.span(),
        message: error.message().to_owned(),
    };
    let error_at = error.span.as_ref().map_or(0, |s| s.start);
    Err(match first_bad_number(&root) {
        // A bad number is reported before an error of the building pass in
        // a later value (an error in the number itself, up to its end, comes
        // first), and after any syntax error of the first pass.
        Some(bad)
            if bad.span.as_ref().is_some_and(|s| s.end < error_at) && !has_syntax_error(text) =>
        {
            bad
        }
        _ => error,
    })
}

/// The top-level keys of a TOML document, in the order written; `None`
/// when `text` is not valid TOML.
///
/// ```
/// let keys = mandate::document::top_level_keys("[policy]\nid = \"a\"\n[settings]\n");
/// assert_eq!(keys, Some(vec!["policy".to_owned(), "settings".to_owned()]));
/// assert_eq!(mandate::document::top_level_keys("a = "), None);
/// ```
pub fn top_level_keys(text: &str) -> Option<Vec<String>> {
    let root = parse_toml(text).ok()?;
    Some(root.keys().map(|k| k.get_ref().to_string()).collect())
}

/// Whether the first pass over `text` (tokens and grammar, before any key
/// or value is decoded) finds an error; the same pass, with the same
/// nesting limit, as [`DeTable::parse`] runs.
fn has_syntax_error(text: &str) -> bool {
    use toml_parser::parser::{RecursionGuard, ValidateWhitespace};
    /// `toml`'s and `toml_edit`'s nesting limit.
    const NESTING_LIMIT: u32 = 80;
    let source = toml_parser::Source::new(text);
    let tokens = source.lex().into_vec();
    let mut events = ();
    let mut whitespace = ValidateWhitespace::new(&mut events, source);
    let mut receiver = RecursionGuard::new(&mut whitespace, NESTING_LIMIT);
    let mut error: Option<toml_parser::ParseError> = None;
    toml_parser::parser::parse_document(&tokens, &mut receiver, &mut error);
    error.is_some()
}

/// The first (in the text) number of `table` that is out of range or
/// malformed, with the message the `toml_edit` parser gives.
pub(crate) fn first_bad_number(table: &DeTable<'_>) -> Option<SyntaxError> {
    let mut first = None;
    bad_number(table, &mut first);
    first
}

fn bad_number(table: &DeTable<'_>, first: &mut Option<SyntaxError>) {
    for (_, value) in table.iter() {
        bad_number_in(value, first);
    }
}

fn bad_number_in(value: &Spanned<DeValue<'_>>, first: &mut Option<SyntaxError>) {
    let message = match value.get_ref() {
        DeValue::Integer(i) if integer(i).is_none() => "integer number overflowed",
        DeValue::Float(f) => match float(f) {
            Err(message) => message,
            Ok(_) => return,
        },
        DeValue::Array(a) => {
            for v in a.iter() {
                bad_number_in(v, first);
            }
            return;
        }
        DeValue::Table(t) => return bad_number(t, first),
        _ => return,
    };
    let span = value.span();
    if first
        .as_ref()
        .is_none_or(|f| f.span.as_ref().is_some_and(|s| span.start < s.start))
    {
        *first = Some(SyntaxError {
            span: Some(span),
            message: message.to_owned(),
        });
    }
}

/// A TOML integer's value, as TOML reads it (`0x`, `0o`, `0b`, `_`
/// already taken apart by the parser); `None` when out of range.
pub(crate) fn integer(i: &DeInteger<'_>) -> Option<i64> {
    integer_text(i.as_str(), i.radix())
}

/// [`integer`] of a decoded integer's digits in `radix`.
fn integer_text(digits: &str, radix: u32) -> Option<i64> {
    i64::from_str_radix(digits, radix).ok()
}

/// A TOML float's value; `inf` and `nan` are values here (the caller
/// decides what to do with them), a finite number too large for `f64` is not.
pub(crate) fn float(f: &DeFloat<'_>) -> Result<f64, &'static str> {
    float_text(f.as_str())
}

/// [`float`] of a decoded float's text.
fn float_text(text: &str) -> Result<f64, &'static str> {
    match text.parse::<f64>() {
        Ok(value)
            if value.is_infinite()
                && !text
                    .strip_prefix(['+', '-'])
                    .unwrap_or(text)
                    .chars()
                    .all(|c| c.is_ascii_alphabetic()) =>
        {
            Err("floating-point number overflowed")
        }
        Ok(value) => Ok(value),
        Err(_) => Err("invalid float"),
    }
}

/// Whether `array` is an array of tables (`[[name]]`), not an inline array:
/// its elements are tables whose text starts with their `[[` header.
pub(crate) fn is_array_of_tables(text: &str, array: &[Spanned<DeValue<'_>>]) -> bool {
    array.first().is_some_and(|first| {
        matches!(first.get_ref(), DeValue::Table(_))
            && text.as_bytes().get(first.span().start) == Some(&b'[')
    })
}

/// A syntax error as a problem at its `line:column` of the file `origin`.
fn syntax_problem(origin: &Location, text: &str, error: SyntaxError) -> Problem {
    let (line, column) = line_col(text, error.span.map_or(0, |s| s.start));
    Problem {
        location: origin.at(line, column),
        key: None,
        message: format!("TOML parse error: {}", error.message.trim_end()),
    }
}

/// A parsed TOML document: its tree, and the positions of its keys.
///
/// It borrows the text it was parsed from, and lives while a layer is
/// built from it.
#[derive(Debug)]
pub struct TomlTree<'t> {
    /// The document as JSON (datetimes become RFC 3339 strings).
    pub tree: Map,
    origin: Location,
    text: &'t str,
    /// The line index, built when a position is first asked for (an
    /// entry's location, a problem): a document nothing is located in is
    /// never indexed.
    index: OnceLock<LineIndex>,
    /// Where its keys are written.
    places: Places<'t>,
}

/// Where the keys of a [`TomlTree`] are written, and its policy header's table.
#[derive(Debug)]
enum Places<'t> {
    /// The document as `toml` parsed it, kept for its spans: a key is
    /// located by walking it when asked. Borrowed from whoever parsed it (a
    /// bundle being verified), never copied.
    Parsed(Cow<'t, DeTable<'t>>),
    /// The document as [`reader`] read it: where each key and list element
    /// starts, and the part of the document that holds its `policy` table
    /// as `toml` parsed it (empty when there is none).
    Read {
        places: reader::Places<'t>,
        head: DeTable<'t>,
    },
}

impl Locate for TomlTree<'_> {
    fn locate(&self, path: &[String]) -> Location {
        // The deepest known ancestor: an inline table's inner keys have spans
        // too, but a path built by the walker may go deeper than the text.
        match &self.places {
            Places::Parsed(root) => {
                let mut best = None;
                let mut node = Node::Table(root);
                for name in path {
                    let Some((start, next)) = node.child(name) else {
                        break;
                    };
                    best = Some(start);
                    node = next;
                }
                self.at(best)
            }
            Places::Read { places, .. } => self.at(places.start_of(path)),
        }
    }
}

/// A place in the parsed document that may have children.
#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a DeTable<'a>),
    Array(&'a [Spanned<DeValue<'a>>]),
    Leaf,
}

impl<'a> Node<'a> {
    fn of(value: &'a DeValue<'a>) -> Node<'a> {
        match value {
            DeValue::Table(t) => Node::Table(t),
            DeValue::Array(a) => Node::Array(a),
            _ => Node::Leaf,
        }
    }

    /// The child `name` (a key, or a list index written in decimal): where
    /// it is located, and the child itself. The positions are the ones
    /// [`TomlTree::parse`] converts along: a key's own, or a list element's.
    fn child(self, name: &str) -> Option<(usize, Node<'a>)> {
        match self {
            Node::Table(t) => {
                let (key, value) = t.get_key_value(name)?;
                Some((key.span().start, Node::of(value.get_ref())))
            }
            Node::Array(a) => {
                let v = a.get(list_index(name)?)?;
                Some((v.span().start, Node::of(v.get_ref())))
            }
            Node::Leaf => None,
        }
    }
}

/// A list index as paths write it: decimal, no sign, no leading zeros.
fn list_index(name: &str) -> Option<usize> {
    name.parse::<usize>().ok().filter(|i| i.to_string() == name)
}

impl<'t> TomlTree<'t> {
    /// Parses `text`; `origin` names the file (and plist key or bundle) in locations.
    pub fn parse(origin: impl Into<Location>, text: &'t str) -> Result<TomlTree<'t>, Problem> {
        let origin = origin.into();
        if let Some(tree) = TomlTree::read(&origin, text) {
            return Ok(tree);
        }
        let root = parse_toml_unchecked(text).map_err(|e| syntax_problem(&origin, text, e))?;
        TomlTree::convert(origin, text, Cow::Owned(root))
    }

    /// A document already parsed from `text` (`root` is its root table),
    /// such as a bundle's payload being verified: converted, not parsed again.
    pub(crate) fn from_parsed(
        origin: impl Into<Location>,
        text: &'t str,
        root: &'t DeTable<'t>,
    ) -> Result<TomlTree<'t>, Problem> {
        TomlTree::convert(origin.into(), text, Cow::Borrowed(root))
    }

    /// The document read by [`reader`], when it is sure of it: the same
    /// tree and locations as [`TomlTree::convert`] gives, without `toml`'s
    /// table of the whole document. A `policy` table is parsed by `toml` as
    /// before, from the start of the text to the end of the lines that
    /// touch it, for the header reader.
    fn read(origin: &Location, text: &'t str) -> Option<TomlTree<'t>> {
        TomlTree::read_in_chunks(origin, text, reader::CHUNK_TOKENS)
    }

    /// [`TomlTree::read`], with the reader's tokens handed over in chunks
    /// of at least `chunk_tokens`.
    fn read_in_chunks(
        origin: &Location,
        text: &'t str,
        chunk_tokens: usize,
    ) -> Option<TomlTree<'t>> {
        let read = reader::read_in_chunks(text, chunk_tokens)?;
        let head = match read.policy_end {
            None => DeTable::default(),
            Some(end) => parse_toml_unchecked(text.get(..end)?).ok()?,
        };
        Some(TomlTree {
            tree: read.tree,
            origin: origin.clone(),
            text,
            index: OnceLock::new(),
            places: Places::Read {
                places: read.places,
                head,
            },
        })
    }

    fn convert(
        origin: Location,
        text: &'t str,
        root: Cow<'t, DeTable<'t>>,
    ) -> Result<TomlTree<'t>, Problem> {
        let mut tree = TomlTree {
            tree: Map::new(),
            origin,
            text,
            index: OnceLock::new(),
            places: Places::Parsed(root),
        };
        match tree.table(tree.root()) {
            Ok(map) => tree.tree = map,
            // A bad number is a syntax error, reported before anything
            // converting finds (a number not finite).
            Err(problem) => {
                return Err(match first_bad_number(tree.root()) {
                    Some(bad) => syntax_problem(&tree.origin, text, bad),
                    None => problem,
                });
            }
        }
        Ok(tree)
    }

    /// The parsed document's root table.
    /// (For a document [`reader`] read, the part of it that holds the
    /// `policy` table, which is all the header reader looks at.)
    pub(crate) fn root(&self) -> &DeTable<'t> {
        match &self.places {
            Places::Parsed(root) => root,
            Places::Read { head, .. } => head,
        }
    }

    /// The location of a byte offset, or the start of the document.
    fn at(&self, offset: Option<usize>) -> Location {
        match offset {
            Some(offset) => {
                let index = self.index.get_or_init(|| LineIndex::new(self.text));
                let (line, column) = index.position(offset);
                self.origin.at(line, column)
            }
            None => self.origin.at(1, 1),
        }
    }

    /// The placeholder for a number out of range, which the caller words.
    fn bad_number(&self) -> Problem {
        Problem {
            location: self.at(None),
            key: None,
            message: "TOML parse error: a number is out of range".to_owned(),
        }
    }

    /// Converts a table; each value is located at its key.
    fn table(&self, table: &DeTable<'_>) -> Result<Map, Problem> {
        let mut out = Map::new();
        for (key, value) in table.iter() {
            let value = self.value(value.get_ref(), key.span().start)?;
            out.insert(key.get_ref().to_string(), value);
        }
        Ok(out)
    }

    /// Converts a value located at byte `at` (its key, or its own start in a list).
    fn value(&self, value: &DeValue<'_>, at: usize) -> Result<Value, Problem> {
        Ok(match value {
            DeValue::String(s) => Value::String(s.to_string()),
            DeValue::Integer(i) => match integer(i) {
                Some(i) => Value::Number(i.into()),
                // Worded by the caller ([`first_bad_number`]).
                None => return Err(self.bad_number()),
            },
            DeValue::Float(f) => {
                let Ok(f) = float(f) else {
                    return Err(self.bad_number());
                };
                match Number::from_f64(f) {
                    Some(n) => Value::Number(n),
                    None => {
                        return Err(Problem {
                            location: self.at(Some(at)),
                            key: None,
                            message: format!("{f} is not a finite number"),
                        });
                    }
                }
            }
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Datetime(d) => Value::String(d.to_string()),
            DeValue::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for v in a.iter() {
                    out.push(self.value(v.get_ref(), v.span().start)?);
                }
                Value::Array(out)
            }
            DeValue::Table(t) => Value::Object(self.table(t)?),
        })
    }
}

/// Reads `text` with the fast reader (tokens in chunks of at least
/// `chunk_tokens`) and with `toml`, and says how they disagree: `Ok(true)`
/// when the reader accepted `text` and gave the same tree, the same
/// location for every key and list element (and paths beside them) and the
/// same policy header as `toml`; `Ok(false)` when it left `text` to `toml`.
/// For the differential tests and the fuzz target.
#[doc(hidden)]
pub fn compare_readers(text: &str, chunk_tokens: usize) -> Result<bool, String> {
    let origin = Location::new("t.toml");
    let Some(fast) = TomlTree::read_in_chunks(&origin, text, chunk_tokens) else {
        return Ok(false);
    };
    let slow = parse_toml_unchecked(text)
        .map_err(|e| format!("the reader accepts what toml refuses: {}", e.message))
        .and_then(|root| {
            TomlTree::convert(origin, text, Cow::Owned(root))
                .map_err(|p| format!("the reader accepts what toml refuses: {p}"))
        })?;
    let (a, b) = (
        serde_json::to_string(&fast.tree).unwrap_or_default(),
        serde_json::to_string(&slow.tree).unwrap_or_default(),
    );
    if a != b {
        return Err(format!("trees differ:\n reader: {a}\n   toml: {b}"));
    }
    let mut paths = Vec::new();
    every_path(&slow.tree, &mut Vec::new(), &mut paths);
    for path in &paths {
        let (a, b) = (fast.locate(path).to_string(), slow.locate(path).to_string());
        if a != b {
            return Err(format!("{path:?} is at {a} for the reader, {b} for toml"));
        }
    }
    let header = |tree: &TomlTree<'_>| {
        format!(
            "{:?}",
            crate::trust::header::PolicyHeader::of_document(text, tree.root())
        )
    };
    let (a, b) = (header(&fast), header(&slow));
    if a != b {
        return Err(format!(
            "policy headers differ:\n reader: {a}\n   toml: {b}"
        ));
    }
    Ok(true)
}

/// Every key path of `map` (list indices included), and a few paths beside
/// them that are not in it.
fn every_path(map: &Map, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut missing = prefix.clone();
    missing.push("not.there".to_owned());
    out.push(missing);
    for (key, value) in map {
        prefix.push(key.clone());
        every_path_in(value, prefix, out);
        prefix.pop();
    }
}

fn every_path_in(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match value {
        Value::Object(map) => every_path(map, prefix, out),
        Value::Array(items) => {
            for extra in [items.len().to_string(), "00".to_owned(), "x".to_owned()] {
                let mut beside = prefix.clone();
                beside.push(extra);
                out.push(beside);
            }
            for (i, item) in items.iter().enumerate() {
                prefix.push(i.to_string());
                every_path_in(item, prefix, out);
                prefix.pop();
            }
        }
        _ => {
            let mut deeper = prefix.clone();
            deeper.push("0".to_owned());
            out.push(deeper);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// One position read directly is the one the index gives.
        #[test]
        fn line_col_is_the_index_position(
            text in "(a|é|\n|\r\n|\u{1F600}|xyz){0,40}",
            offset in 0usize..200,
        ) {
            proptest::prop_assert_eq!(line_col(&text, offset), LineIndex::new(&text).position(offset));
        }
    }

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

    /// What `toml_edit` refuses, and where, is what is refused here: the
    /// same first error, message and position, numbers out of range
    /// included (which `toml` leaves as text).
    #[test]
    fn errors_are_the_ones_toml_edit_gives() {
        let cases = [
            "a = 99999999999999999999\n",
            "a = 1\nb = 1e999\nc = 99999999999999999999\n",
            "[x]\nc = -9223372036854775809\n[a]\nb = 1e999\n",
            // A later error of the building pass comes after the number.
            "a = 99999999999999999999\na = 1\n",
            "x = 99999999999999999999\ny = \"bad \\q\"\n",
            "y = \"bad \\q\"\nx = 99999999999999999999\n",
            "x = 99999999999999999999\n[a]\n[a]\n",
            // A syntax error comes before any number.
            "a = 99999999999999999999\nb = = 1\n",
            "x = 99999999999999999999\ny = [1,\n",
            // The number's own error comes first.
            "a = 1e\nb =\n",
            "version = 11.\n",
            "x = [1, 2, 0xffffffffffffffff]\n",
            "[[a]]\nb = 1\n[[a]]\nc = 1e400\n",
            "a = 1\na = 2\n",
            "a.b = 1\n[a]\n",
            "a = [1]\n[[a]]\n",
            "x = 1979-13-27T07:32:00Z\n",
            "x = tru\n",
            "x = 1__2\n",
            "[t]\nnamé = 1\n",
        ];
        for text in cases {
            let ours = parse_toml(text).expect_err(text);
            let theirs = toml_edit::Document::parse(text).expect_err(text);
            assert_eq!(ours.message, theirs.message(), "{text:?}");
            assert_eq!(ours.span, theirs.span(), "{text:?}");
        }
    }

    #[test]
    fn numbers_read_as_toml_writes_them() {
        let text = "a = 0x7fffffffffffffff\nb = 0o755\nc = 0b1010\nd = 1_000\ne = -0\nf = +5\ng = 1_0.5e1_0\nh = -9223372036854775808\ni = 2.5\nj = 1979-05-27T07:32:00.5-07:00\nk = 07:32:00\n";
        let t = TomlTree::parse("f.toml", text).expect("parses");
        let v = Value::Object(t.tree);
        assert_eq!(v["a"], i64::MAX);
        assert_eq!(v["b"], 0o755);
        assert_eq!(v["c"], 10);
        assert_eq!(v["d"], 1000);
        assert_eq!(v["e"], 0);
        assert_eq!(v["f"], 5);
        assert_eq!(v["g"], 10.5e10);
        assert_eq!(v["h"], i64::MIN);
        assert_eq!(v["i"], 2.5);
        assert_eq!(v["j"], "1979-05-27T07:32:00.5-07:00");
        assert_eq!(v["k"], "07:32:00");
        for (text, message) in [
            ("x = nan\n", "f.toml:1:1: NaN is not a finite number"),
            ("x = +inf\n", "f.toml:1:1: inf is not a finite number"),
            (
                "x = -inf\ny = 1e999\n",
                "f.toml:2:5: TOML parse error: floating-point number overflowed",
            ),
        ] {
            let e = TomlTree::parse("f.toml", text).expect_err(text);
            assert_eq!(e.to_string(), message);
        }
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
