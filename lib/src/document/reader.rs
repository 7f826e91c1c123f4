//! A reader of TOML documents straight into JSON, for the documents it is
//! sure of.
//!
//! It walks the events of `toml_parser` (the grammar `toml` and `toml_edit`
//! run too) and builds the JSON tree as it goes, keeping only where each key
//! and list element starts. `toml` builds a whole table of its own first,
//! with every token and event kept, which costs several times the text in
//! memory and most of the time of reading a large file.
//!
//! The reader applies TOML's rules the way `toml` does (duplicate keys,
//! tables defined twice, dotted keys against tables, arrays of tables,
//! closed inline tables and arrays), but it is only ever trusted with what it
//! accepts: at the first error of the grammar, of a key or value, or of
//! those rules, and on anything it is not sure of (a number out of range, a
//! float that is not finite, a key path or nesting deep enough to meet
//! `toml`'s limit), it gives up, and the caller reads the document the old
//! way, so every message stays the one `toml` gives.
//!
//! Tokens are handed to the grammar a part at a time ([`CHUNK_TOKENS`]),
//! not all at once as `toml` does; `differential.rs` and the `toml_reader`
//! fuzz target check that reading in parts reads the same.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::value::Entry;
use crate::value::{Map, Number, Value};
use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::lexer::{Token, TokenKind};
use toml_parser::parser::{EventReceiver, RecursionGuard, ValidateWhitespace};
use toml_parser::{ErrorSink, ParseError, Raw, Source, Span};

use crate::hash::FastHasher;

/// `toml`'s and `toml_edit`'s nesting limit, which the grammar checks.
const NESTING_LIMIT: u32 = 80;

/// The longest key path (dotted key or table header) the reader takes;
/// `toml` refuses 80 parts, and anything near that is read the old way.
const KEY_LIMIT: usize = 64;

/// How many tokens are gathered before the grammar runs over them: they are
/// handed over at the end of a line outside brackets, or after a comma of a
/// long `key = [ … ]` statement (see [`Split`]), so a long document, or a
/// long list, is never held as tokens all at once (another statement is,
/// however long: a long inline table, string or table header).
pub(crate) const CHUNK_TOKENS: usize = 4096;

/// A node that is not a table or an array.
const LEAF: u32 = u32::MAX;

/// Flags of a table or an array, as `toml` keeps them.
mod flag {
    /// Created by a dotted key or a header's path, not defined itself.
    pub(super) const IMPLICIT: u8 = 1;
    /// Created, or extended, by a dotted key.
    pub(super) const DOTTED: u8 = 2;
    /// Written inline (`{ … }`), or created inside one: closed.
    pub(super) const INLINE: u8 = 4;
    /// An array (not a table).
    pub(super) const ARRAY: u8 = 8;
    /// An array of tables (`[[name]]`), which headers extend.
    pub(super) const TABLES: u8 = 16;
}

/// Where a child is written, and what it is.
#[derive(Clone, Copy, Debug)]
struct Place {
    /// Byte offset: a key's own start, or a list element's.
    start: u32,
    /// The child's node, or [`LEAF`].
    node: u32,
}

/// A table or an array of the document.
#[derive(Clone, Copy, Debug, Default)]
struct Node {
    /// `flag::*`.
    flags: u8,
    /// An inline array's elements: `elements[first..first + len]`; an array
    /// of tables': `tables[first]`.
    first: u32,
    len: u32,
}

/// Where every key and list element of a document read by
/// [`read_in_chunks`] is written: the record
/// [`crate::document::Locate`] answers from.
#[derive(Debug, Default)]
pub(crate) struct Places<'t> {
    /// Each key of each table, by the table's node (the root is node 0) and
    /// the key as decoded (borrowed from the text when it has no escapes).
    keys: HashMap<(u32, Cow<'t, str>), Place, BuildHasherDefault<FastHasher>>,
    /// Each table and array.
    nodes: Vec<Node>,
    /// The elements of inline arrays, each array's together.
    elements: Vec<Place>,
    /// The elements of each array of tables, which grows as headers come.
    tables: Vec<Vec<Place>>,
}

impl<'t> Places<'t> {
    /// A new node with `flags`.
    fn node(&mut self, flags: u8) -> Option<u32> {
        let id = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&id| id != LEAF)?;
        self.nodes.push(Node {
            flags,
            ..Node::default()
        });
        Some(id)
    }

    fn flags(&self, node: u32) -> u8 {
        self.nodes.get(node as usize).map_or(0, |n| n.flags)
    }

    fn set_flags(&mut self, node: u32, flags: u8) -> Option<()> {
        self.nodes.get_mut(node as usize)?.flags = flags;
        Some(())
    }

    /// The key `key` of table `node`.
    fn key<'a>(&'a self, node: u32, key: &'a str) -> Option<Place> {
        // `HashMap` is covariant in its key: a shorter-lived key looks it up.
        let keys: &'a HashMap<(u32, Cow<'a, str>), Place, _> = &self.keys;
        keys.get(&(node, Cow::Borrowed(key))).copied()
    }

    /// Records `key` of table `node`, replacing what was there.
    fn set_key(&mut self, node: u32, key: Cow<'t, str>, place: Place) {
        self.keys.insert((node, key), place);
    }

    /// The elements of array `node`.
    fn elements(&self, node: u32) -> &[Place] {
        let Some(n) = self.nodes.get(node as usize) else {
            return &[];
        };
        if n.flags & flag::TABLES != 0 {
            self.tables.get(n.first as usize).map_or(&[], Vec::as_slice)
        } else {
            let (first, len) = (n.first as usize, n.len as usize);
            self.elements.get(first..first + len).unwrap_or(&[])
        }
    }

    /// The byte offset where `path` (or its deepest written ancestor) is
    /// written, as [`crate::document::Locate`] reports it.
    pub(crate) fn start_of(&self, path: &[String]) -> Option<usize> {
        let mut best = None;
        let mut node = 0;
        for name in path {
            if node == LEAF {
                break;
            }
            let place = if self.flags(node) & flag::ARRAY != 0 {
                super::list_index(name).and_then(|i| self.elements(node).get(i).copied())
            } else {
                self.key(node, name)
            };
            let Some(place) = place else {
                break;
            };
            best = Some(place.start as usize);
            node = place.node;
        }
        best
    }
}

/// A document [`read_in_chunks`] accepted.
#[derive(Debug)]
pub(crate) struct Read<'t> {
    /// The document as JSON, as the `toml` conversion gives it.
    pub(crate) tree: Map,
    /// Where its keys and list elements are.
    pub(crate) places: Places<'t>,
    /// When the document has a top-level `policy` key: the length of the
    /// prefix of the text that holds every line touching it (the rest of
    /// the text does not), for the header reader.
    pub(crate) policy_end: Option<usize>,
}

/// Reads `text`, or `None` when the reader is not sure of it (an error of
/// any kind included): then only `toml` may read it. Tokens are handed to
/// the grammar in chunks of at least `chunk_tokens` (ending at a line end
/// outside brackets; [`CHUNK_TOKENS`] outside tests).
pub(crate) fn read_in_chunks(text: &str, chunk_tokens: usize) -> Option<Read<'_>> {
    // Offsets are kept as `u32`.
    u32::try_from(text.len()).ok()?;
    let source = Source::new(text);
    let mut reader = Reader::new(text);
    let mut error = Failed(false);
    // A part's own `k = [` and `]` (see `Split`).
    let frame: Vec<Token> = Source::new("k=[]").lex().collect();
    let [key, equals, open, close, ..] = frame.as_slice() else {
        return None;
    };
    let frame = [*key, *equals, *open];
    {
        let mut tokens: Vec<Token> =
            Vec::with_capacity(chunk_tokens.saturating_mul(2).min(text.len()) + frame.len() + 2);
        let mut depth = 0i64;
        // The current statement: where its tokens start, whether it is
        // `key = [ … ]` (its value an array), and whether the buffer starts
        // with a part's `k = [`.
        let mut statement = 0;
        let (mut after_equals, mut array_statement, mut framed) = (false, false, false);
        for token in source.lex() {
            let kind = token.kind();
            if depth == 0 {
                array_statement |= after_equals && kind == TokenKind::LeftSquareBracket;
                after_equals = match kind {
                    TokenKind::Equals => true,
                    TokenKind::Whitespace => after_equals,
                    _ => false,
                };
            }
            match kind {
                TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => depth += 1,
                TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => depth -= 1,
                _ => {}
            }
            tokens.push(token);
            if kind == TokenKind::Newline && depth == 0 {
                (after_equals, array_statement) = (false, false);
                statement = tokens.len();
                if tokens.len() >= chunk_tokens {
                    parse_part(&tokens, source, &mut reader, framed, false, &mut error)?;
                    framed = false;
                    tokens.clear();
                    statement = 0;
                }
            } else if kind == TokenKind::Comma
                && depth == 1
                && array_statement
                && tokens.len() - statement >= chunk_tokens
            {
                // The lines before the statement, then the statement so
                // far, closed after this comma.
                if statement > 0 {
                    let before = &tokens[..statement];
                    parse_part(before, source, &mut reader, framed, false, &mut error)?;
                    framed = false;
                }
                tokens.drain(..statement);
                tokens.push(*close);
                parse_part(&tokens, source, &mut reader, framed, true, &mut error)?;
                tokens.clear();
                tokens.extend_from_slice(&frame);
                (statement, framed) = (0, true);
            }
        }
        parse_part(&tokens, source, &mut reader, framed, false, &mut error)?;
    }
    if error.0 || reader.failed {
        return None;
    }
    reader.finish()
}

/// Runs the grammar over `tokens`, one part of the document (`framed` when
/// it starts with a `k = [` of its own, `closed` when it ends with a `]` of
/// its own); `None` on the first error.
fn parse_part(
    tokens: &[Token],
    source: Source<'_>,
    reader: &mut Reader<'_>,
    framed: bool,
    closed: bool,
    error: &mut Failed,
) -> Option<()> {
    reader.split = Split {
        suspend: closed,
        resume: framed,
    };
    {
        // Neither keeps anything between parts: each part starts and ends
        // outside brackets.
        let mut whitespace = ValidateWhitespace::new(reader, source);
        let mut guard = RecursionGuard::new(&mut whitespace, NESTING_LIMIT);
        toml_parser::parser::parse_document(tokens, &mut guard, error);
    }
    // A part's own `k = [` and `]` are seen where they are.
    let framing = std::mem::take(&mut reader.split);
    (!error.0 && !reader.failed && !framing.suspend && !framing.resume).then_some(())
}

/// An error sink that only remembers that there was an error.
struct Failed(bool);

impl ErrorSink for Failed {
    fn report_error(&mut self, _error: ParseError) {
        self.0 = true;
    }
}

/// A key part: decoded, and where it starts.
type KeyPart<'t> = (Cow<'t, str>, u32);

/// A table or array being read.
enum Frame {
    /// An inline array; its elements, and where they are, are in
    /// `Reader::values` and `Reader::open` from `base` on.
    Array { node: u32, start: u32, base: usize },
    /// An inline table, and the key of the value being read in it.
    Inline {
        node: u32,
        start: u32,
        map: Map,
        /// How many parts at the end of `Reader::pending` are the key of the
        /// value being read in it (0 before its `=`).
        key: usize,
    },
}

/// A table header (`[a.b]` or `[[a.b]]`).
struct Header<'t> {
    /// The parent's path and the key.
    path: Vec<KeyPart<'t>>,
    key: KeyPart<'t>,
    /// An array of tables.
    array: bool,
    /// Where the header starts (its `[`).
    start: u32,
}

/// How the grammar sees a long `key = [ … ]` statement in parts: the first
/// part closed by a `]` of its own after one of the array's commas, each
/// next part opened by `k = [` of its own, so that only a part's tokens are
/// held at a time. The reader is told which `]` and which `k = [` are not
/// the document's.
#[derive(Debug, Default)]
struct Split {
    /// The part being read ends with a `]` that is not the document's.
    suspend: bool,
    /// The part being read starts with a `k = [` that is not the document's.
    resume: bool,
}

/// The receiver of the grammar's events.
struct Reader<'t> {
    text: &'t str,
    /// Set on the first thing the reader is not sure of; nothing is read after.
    failed: bool,
    /// The parts of the key (or header) being read.
    key: Vec<KeyPart<'t>>,
    /// The keys whose values are being read, innermost last.
    pending: Vec<KeyPart<'t>>,
    /// How many parts at the start of `pending` are the key of the
    /// document-level key/value pair being read.
    pending_here: usize,
    /// The header being read: array of tables or not, and where it starts.
    opening: Option<(bool, u32)>,
    /// Inline tables and arrays being read, innermost last.
    stack: Vec<Frame>,
    /// The elements of the arrays being read, innermost last, and where
    /// each is.
    values: Vec<Value>,
    open: Vec<Place>,
    /// The document, without the table being read.
    root: Map,
    /// The table being read (the root's own keys before the first header),
    /// detached as `toml` keeps it, and its node.
    current: Map,
    current_node: u32,
    /// The header of the table being read.
    header: Option<Header<'t>>,
    /// Where a long statement is split.
    split: Split,
    places: Places<'t>,
    /// Whether a line touched the top-level `policy` key, and where the
    /// first table header after the last such line starts.
    policy_seen: bool,
    policy_end: Option<u32>,
}

impl<'t> Reader<'t> {
    fn new(text: &'t str) -> Reader<'t> {
        let mut places = Places::default();
        places.nodes.push(Node::default());
        Reader {
            text,
            failed: false,
            key: Vec::new(),
            pending: Vec::new(),
            pending_here: 0,
            opening: None,
            stack: Vec::new(),
            values: Vec::new(),
            open: Vec::new(),
            root: Map::new(),
            current: Map::new(),
            current_node: 0,
            header: None,
            split: Split::default(),
            places,
            policy_seen: false,
            policy_end: None,
        }
    }

    /// The document, once every event is in.
    fn finish(mut self) -> Option<Read<'t>> {
        if !self.stack.is_empty()
            || !self.open.is_empty()
            || !self.pending.is_empty()
            || self.opening.is_some()
            || !self.key.is_empty()
        {
            return None;
        }
        self.finish_table()?;
        let policy_end = self
            .policy_seen
            .then(|| self.policy_end.map_or(self.text.len(), |end| end as usize));
        Some(Read {
            tree: self.root,
            places: self.places,
            policy_end,
        })
    }

    fn raw(&self, span: Span, encoding: Option<Encoding>) -> Option<Raw<'t>> {
        self.text
            .get(span.start()..span.end())
            .map(|text| Raw::new_unchecked(text, encoding, span))
    }

    /// Runs `step`, and gives up for good when it does.
    fn attempt(&mut self, step: impl FnOnce(&mut Self) -> Option<()>) {
        if !self.failed && step(self).is_none() {
            self.failed = true;
        }
    }

    /// Notes a line touching the top-level key `first` (a header's or a
    /// document-level key's first part), for the policy header's prefix.
    fn touch(&mut self, first: &str, header_start: Option<u32>) {
        if first == "policy" {
            self.policy_seen = true;
            self.policy_end = None;
        } else if let Some(start) = header_start
            && self.policy_seen
            && self.policy_end.is_none()
        {
            self.policy_end = Some(start);
        }
    }

    /// A value read whole, which starts at `start` (`node` when it is a
    /// table or array): into the inline table or array around it, or the
    /// document's table.
    fn value(&mut self, value: Value, start: u32, node: u32) -> Option<()> {
        let Reader {
            stack,
            places,
            values,
            open,
            pending,
            pending_here,
            current,
            current_node,
            ..
        } = self;
        match stack.last_mut() {
            Some(Frame::Array { .. }) => {
                open.push(Place { start, node });
                values.push(value);
                Some(())
            }
            Some(Frame::Inline {
                node: table,
                map,
                key: parts,
                ..
            }) => {
                let parts = std::mem::take(parts);
                if parts == 0 {
                    return None;
                }
                let from = pending.len().checked_sub(parts)?;
                let (key, key_start) = pending.pop()?;
                let path = pending.get(from..)?;
                let (parent, parent_node) = descend_inline(map, *table, path, places)?;
                // What `toml` checks: a dotted key only in tables dotted keys made.
                if (places.flags(parent_node) & flag::DOTTED != 0) == path.is_empty() {
                    return None;
                }
                insert(parent, parent_node, key, key_start, value, node, places)?;
                pending.truncate(from);
                Some(())
            }
            None => {
                if std::mem::take(pending_here) != pending.len() {
                    return None;
                }
                let (key, key_start) = pending.pop()?;
                let dotted = !pending.is_empty();
                let (parent, parent_node) =
                    descend(current, *current_node, pending, dotted, places)?;
                if dotted && places.flags(parent_node) & flag::IMPLICIT == 0 {
                    return None;
                }
                insert(parent, parent_node, key, key_start, value, node, places)?;
                pending.clear();
                Some(())
            }
        }
    }

    /// Puts the table being read where its header says.
    fn finish_table(&mut self) -> Option<()> {
        let table = std::mem::take(&mut self.current);
        let Some(header) = self.header.take() else {
            // The root's own keys.
            self.root = table;
            return Some(());
        };
        let (parent, parent_node) =
            descend(&mut self.root, 0, &header.path, false, &mut self.places)?;
        let (key, key_start) = header.key;
        if !header.array {
            // `start_table` took any implicit table of that name out.
            if parent.contains_key(key.as_ref()) {
                return None;
            }
            let place = Place {
                start: key_start,
                node: self.current_node,
            };
            parent.insert(key.to_string(), Value::Object(table));
            self.places.set_key(parent_node, key, place);
            return Some(());
        }
        let element = Place {
            start: header.start,
            node: self.current_node,
        };
        match self.places.key(parent_node, &key) {
            None => {
                let array = self.places.node(flag::ARRAY | flag::TABLES)?;
                let list = u32::try_from(self.places.tables.len()).ok()?;
                self.places.nodes.get_mut(array as usize)?.first = list;
                self.places.tables.push(vec![element]);
                parent.insert(key.to_string(), Value::Array(vec![Value::Object(table)]));
                self.places.set_key(
                    parent_node,
                    key,
                    Place {
                        start: key_start,
                        node: array,
                    },
                );
            }
            Some(place) => {
                let node = self.places.nodes.get(place.node as usize).copied()?;
                if node.flags & flag::TABLES == 0 {
                    return None;
                }
                let Some(Value::Array(items)) = parent.get_mut(key.as_ref()) else {
                    return None;
                };
                items.push(Value::Object(table));
                self.places
                    .tables
                    .get_mut(node.first as usize)?
                    .push(element);
            }
        }
        Some(())
    }

    /// Starts the table of a header, as `toml` does: a table its path made
    /// (not a dotted key) may be defined once; anything else is defined already.
    fn start_table(&mut self, array: bool, start: u32) -> Option<()> {
        let mut path: Vec<KeyPart<'t>> = self.key.drain(..).collect();
        if path.len() >= KEY_LIMIT {
            return None;
        }
        let first = path.first()?.0.clone();
        self.touch(&first, Some(start));
        self.finish_table()?;
        let key = path.pop()?;
        let (parent, parent_node) = descend(&mut self.root, 0, &path, false, &mut self.places)?;
        let mut table = Map::new();
        let mut node = None;
        if !array && let Some(place) = self.places.key(parent_node, &key.0) {
            let flags = self.places.flags(place.node);
            if flags & (flag::ARRAY | flag::DOTTED | flag::INLINE) != 0
                || flags & flag::IMPLICIT == 0
            {
                return None;
            }
            let Some(Value::Object(existing)) = parent.remove(key.0.as_ref()) else {
                return None;
            };
            table = existing;
            node = Some(place.node);
        }
        let node = match node {
            Some(node) => node,
            None => self.places.node(0)?,
        };
        self.places.set_flags(node, 0)?;
        self.current = table;
        self.current_node = node;
        self.header = Some(Header {
            path,
            key,
            array,
            start,
        });
        Some(())
    }

    fn scalar_value(&mut self, span: Span, encoding: Option<Encoding>) -> Option<()> {
        let raw = self.raw(span, encoding)?;
        let mut decoded = Cow::Borrowed("");
        let mut failed = Failed(false);
        let kind = raw.decode_scalar(&mut decoded, &mut failed);
        if failed.0 {
            return None;
        }
        let value = match kind {
            ScalarKind::String => Value::String(decoded.into_owned()),
            ScalarKind::Boolean(b) => Value::Bool(b),
            ScalarKind::DateTime => {
                Value::String(decoded.parse::<toml_datetime::Datetime>().ok()?.to_string())
            }
            ScalarKind::Float => {
                Value::Number(Number::from_f64(super::float_text(&decoded).ok()?)?)
            }
            ScalarKind::Integer(radix) => {
                Value::Number(super::integer_text(&decoded, radix.value())?.into())
            }
        };
        self.value(value, u32::try_from(span.start()).ok()?, LEAF)
    }
}

/// Inserts `key = value` (`node` when a table or array) into `table`, at
/// `key_start`, unless the key is there already.
fn insert<'t>(
    table: &mut Map,
    table_node: u32,
    key: Cow<'t, str>,
    key_start: u32,
    value: Value,
    node: u32,
    places: &mut Places<'t>,
) -> Option<()> {
    match table.entry(key.as_ref()) {
        Entry::Occupied(_) => None,
        Entry::Vacant(entry) => {
            entry.insert(value);
            places.set_key(
                table_node,
                key,
                Place {
                    start: key_start,
                    node,
                },
            );
            Some(())
        }
    }
}

/// Walks `path` down from `table` (`node`), creating implicit tables, as
/// `toml` does for a header's path (`dotted` false) or a dotted key: an
/// array of tables is entered at its last table; an inline table, another
/// array or a value cannot be; a dotted key enters only implicit tables.
fn descend<'m, 't>(
    mut table: &'m mut Map,
    mut node: u32,
    path: &[KeyPart<'t>],
    dotted: bool,
    places: &mut Places<'t>,
) -> Option<(&'m mut Map, u32)> {
    for part @ (key, _) in path {
        match places.key(node, key) {
            None => {
                let flags = flag::IMPLICIT | if dotted { flag::DOTTED } else { 0 };
                (table, node) = implicit_table(table, node, part, flags, places)?;
            }
            Some(place) => {
                let flags = places.flags(place.node);
                match table.get_mut(key.as_ref())? {
                    Value::Array(items) => {
                        if flags & flag::TABLES == 0 {
                            return None;
                        }
                        let element = *places.elements(place.node).last()?;
                        let Value::Object(inner) = items.last_mut()? else {
                            return None;
                        };
                        table = inner;
                        node = element.node;
                    }
                    Value::Object(inner) => {
                        if flags & (flag::INLINE | flag::ARRAY) != 0 {
                            return None;
                        }
                        if dotted {
                            if flags & flag::IMPLICIT == 0 {
                                return None;
                            }
                            places.set_flags(place.node, flags | flag::DOTTED)?;
                        }
                        table = inner;
                        node = place.node;
                    }
                    _ => return None,
                }
            }
        }
    }
    Some((table, node))
}

/// A new table of `table` (node `node`) at `part`, made by a key path that
/// goes through it: its node with `flags`, its place, and the empty JSON
/// table, which is returned with its node.
fn implicit_table<'m, 't>(
    table: &'m mut Map,
    node: u32,
    part: &KeyPart<'t>,
    flags: u8,
    places: &mut Places<'t>,
) -> Option<(&'m mut Map, u32)> {
    let (key, start) = part;
    let child = places.node(flags)?;
    places.set_key(
        node,
        key.clone(),
        Place {
            start: *start,
            node: child,
        },
    );
    match table
        .entry(key.as_ref())
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(inner) => Some((inner, child)),
        _ => None,
    }
}

/// [`descend`] inside an inline table: only tables its own dotted keys made.
fn descend_inline<'m, 't>(
    mut table: &'m mut Map,
    mut node: u32,
    path: &[KeyPart<'t>],
    places: &mut Places<'t>,
) -> Option<(&'m mut Map, u32)> {
    for part @ (key, _) in path {
        match places.key(node, key) {
            None => {
                let flags = flag::IMPLICIT | flag::DOTTED | flag::INLINE;
                (table, node) = implicit_table(table, node, part, flags, places)?;
            }
            Some(place) => {
                let flags = places.flags(place.node);
                if flags & flag::ARRAY != 0 || flags & flag::IMPLICIT == 0 {
                    return None;
                }
                let Value::Object(inner) = table.get_mut(key.as_ref())? else {
                    return None;
                };
                table = inner;
                node = place.node;
            }
        }
    }
    Some((table, node))
}

impl EventReceiver for Reader<'_> {
    fn std_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.attempt(|r| {
            if r.opening.is_some() || !r.stack.is_empty() || !r.key.is_empty() {
                return None;
            }
            r.opening = Some((false, u32::try_from(span.start()).ok()?));
            Some(())
        });
    }

    fn std_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.attempt(|r| match r.opening.take()? {
            (false, start) => r.start_table(false, start),
            (true, _) => None,
        });
    }

    fn array_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.attempt(|r| {
            if r.opening.is_some() || !r.stack.is_empty() || !r.key.is_empty() {
                return None;
            }
            r.opening = Some((true, u32::try_from(span.start()).ok()?));
            Some(())
        });
    }

    fn array_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.attempt(|r| match r.opening.take()? {
            (true, start) => r.start_table(true, start),
            (false, _) => None,
        });
    }

    fn inline_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.attempt(|r| {
            let node = r.places.node(flag::INLINE)?;
            r.stack.push(Frame::Inline {
                node,
                start: u32::try_from(span.start()).ok()?,
                map: Map::new(),
                key: 0,
            });
            Some(())
        });
        true
    }

    fn inline_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.attempt(|r| {
            let Some(Frame::Inline {
                node,
                start,
                map,
                key,
            }) = r.stack.pop()
            else {
                return None;
            };
            if key != 0 || !r.key.is_empty() {
                return None;
            }
            r.value(Value::Object(map), start, node)
        });
    }

    fn array_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.attempt(|r| {
            if std::mem::take(&mut r.split.resume) {
                // The array a split statement goes on with.
                return matches!(r.stack.as_slice(), [Frame::Array { .. }]).then_some(());
            }
            let node = r.places.node(flag::ARRAY)?;
            r.stack.push(Frame::Array {
                node,
                start: u32::try_from(span.start()).ok()?,
                base: r.open.len(),
            });
            Some(())
        });
        true
    }

    fn array_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.attempt(|r| {
            if r.split.suspend && r.stack.len() == 1 {
                // The end of a part of a split statement: the array goes on.
                r.split.suspend = false;
                return matches!(r.stack.as_slice(), [Frame::Array { .. }]).then_some(());
            }
            let Some(Frame::Array { node, start, base }) = r.stack.pop() else {
                return None;
            };
            if r.values.len() != r.open.len() {
                return None;
            }
            let items: Vec<Value> = r.values.drain(base..).collect();
            let places = &mut r.places;
            let first = u32::try_from(places.elements.len()).ok()?;
            let len = u32::try_from(r.open.len().checked_sub(base)?).ok()?;
            places.elements.extend(r.open.drain(base..));
            let entry = places.nodes.get_mut(node as usize)?;
            (entry.first, entry.len) = (first, len);
            r.value(Value::Array(items), start, node)
        });
    }

    fn simple_key(&mut self, span: Span, encoding: Option<Encoding>, _error: &mut dyn ErrorSink) {
        self.attempt(|r| {
            if r.split.resume {
                return Some(());
            }
            let raw = r.raw(span, encoding)?;
            let mut decoded = Cow::Borrowed("");
            let mut failed = Failed(false);
            raw.decode_key(&mut decoded, &mut failed);
            if failed.0 {
                return None;
            }
            if r.key.len() >= KEY_LIMIT {
                return None;
            }
            r.key.push((decoded, u32::try_from(span.start()).ok()?));
            Some(())
        });
    }

    fn key_val_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.attempt(|r| {
            if r.split.resume {
                return Some(());
            }
            if r.opening.is_some() || r.key.is_empty() {
                return None;
            }
            let parts = r.key.len();
            match r.stack.last_mut() {
                Some(Frame::Inline { key, .. }) if *key == 0 => *key = parts,
                Some(_) => return None,
                None => {
                    if !r.pending.is_empty() || r.pending_here != 0 {
                        return None;
                    }
                    if r.header.is_none() {
                        let first = r.key.first()?.0.clone();
                        r.touch(&first, None);
                    }
                    r.pending_here = parts;
                }
            }
            r.pending.append(&mut r.key);
            Some(())
        });
    }

    fn scalar(&mut self, span: Span, encoding: Option<Encoding>, _error: &mut dyn ErrorSink) {
        self.attempt(|r| r.scalar_value(span, encoding));
    }

    fn error(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.failed = true;
    }
}
