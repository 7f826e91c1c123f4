//! Typed, located reads from a parsed TOML document.
//!
//! Trust roots and policy headers are small, strict TOML tables: every key is
//! known, every value has one type, and every problem is reported at a
//! `line:column` taken from the parser's spans.

use std::fmt;
use std::ops::Range;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::document;

/// A problem at a place in a TOML document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TomlProblem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Dotted path of the key concerned; empty for the document as a whole.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TomlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`,
/// computed as every other position is ([`crate::document::LineIndex`]).
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let (line, column) = document::line_col(text, offset);
    (line as usize, column as usize)
}

/// The 1-based line of byte `offset` in `text`: [`line_col`]'s line,
/// without indexing the whole text for a column.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let before = &text.as_bytes()[..offset.min(text.len())];
    before.iter().filter(|&&b| b == b'\n').count() + 1
}

/// A problem at `span` (or the start of the document).
pub(crate) fn problem(
    text: &str,
    span: Option<Range<usize>>,
    key: &str,
    message: impl Into<String>,
) -> TomlProblem {
    let (line, column) = line_col(text, span.map_or(0, |s| s.start));
    TomlProblem {
        line,
        column,
        key: key.to_owned(),
        message: message.into(),
    }
}

/// `bytes` as UTF-8, or where the first invalid byte is.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, TomlProblem> {
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = &bytes[..error.valid_up_to()];
        let text = String::from_utf8_lossy(valid);
        problem(&text, Some(valid.len()..valid.len()), "", "not valid UTF-8")
    })
}

/// Parses `text` as TOML ([`document::parse_toml`]); duplicate keys and
/// other syntax errors are located.
pub(crate) fn parse(text: &str) -> Result<DeTable<'_>, TomlProblem> {
    document::parse_toml(text).map_err(|error| problem(text, error.span, "", error.message.trim()))
}

/// A value of a parsed document.
pub(crate) type Item<'a> = Spanned<DeValue<'a>>;

/// A value with the place it came from.
pub(crate) struct Located<T> {
    pub(crate) value: T,
    pub(crate) span: Option<Range<usize>>,
}

/// A table (or inline table) of a parsed document, with its dotted path.
#[derive(Clone)]
pub(crate) struct Table<'a> {
    text: &'a str,
    path: String,
    table: &'a DeTable<'a>,
    span: Option<Range<usize>>,
}

impl<'a> Table<'a> {
    /// The root table of `doc`, which was parsed from `text`.
    pub(crate) fn root(text: &'a str, doc: &'a DeTable<'a>) -> Table<'a> {
        Table {
            text,
            path: String::new(),
            table: doc,
            span: Some(0..0),
        }
    }

    /// The dotted path of `key` in this table.
    pub(crate) fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// A problem at `span` about `key` (a key of this table; empty for the table itself).
    pub(crate) fn problem(
        &self,
        span: Option<Range<usize>>,
        key: &str,
        message: impl Into<String>,
    ) -> TomlProblem {
        let path = if key.is_empty() {
            self.path.clone()
        } else {
            self.path_of(key)
        };
        problem(
            self.text,
            span.or_else(|| self.span.clone()),
            &path,
            message,
        )
    }

    /// Refuses any key not in `known`.
    pub(crate) fn deny_unknown(&self, known: &[&str]) -> Result<(), TomlProblem> {
        for (key, _) in self.table.iter() {
            let span = Some(key.span());
            let key: &str = key.get_ref();
            if !known.contains(&key) {
                let expected = known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(self.problem(
                    span,
                    key,
                    format!("unknown key (expected one of {expected})"),
                ));
            }
        }
        Ok(())
    }

    /// The entries of this table, in document order.
    pub(crate) fn entries(&self) -> Vec<(Located<&'a str>, &'a Item<'a>)> {
        self.table
            .iter()
            .map(|(key, item)| {
                let span = Some(key.span());
                (
                    Located {
                        value: key.get_ref().as_ref(),
                        span,
                    },
                    item,
                )
            })
            .collect()
    }

    fn get(&self, key: &str) -> Option<(&'a Item<'a>, Option<Range<usize>>)> {
        let item = self.table.get(key)?;
        Some((item, Some(item.span())))
    }

    /// The error for a required key that is absent.
    pub(crate) fn missing(&self, key: &str) -> TomlProblem {
        let what = if self.path.is_empty() {
            "the document".to_owned()
        } else {
            format!("[{}]", self.path)
        };
        self.problem(None, key, format!("missing; {what} must set it"))
    }

    /// The table at `key`, if present.
    pub(crate) fn opt_table(&self, key: &str) -> Result<Option<Table<'a>>, TomlProblem> {
        let Some((item, span)) = self.get(key) else {
            return Ok(None);
        };
        self.as_table(key, item, span).map(Some)
    }

    /// The table at `key`.
    pub(crate) fn table(&self, key: &str) -> Result<Table<'a>, TomlProblem> {
        self.opt_table(key)?.ok_or_else(|| self.missing(key))
    }

    /// `item`, the value of `key` in this table, as a table.
    pub(crate) fn as_table(
        &self,
        key: &str,
        item: &'a Item<'a>,
        span: Option<Range<usize>>,
    ) -> Result<Table<'a>, TomlProblem> {
        let table = item
            .get_ref()
            .as_table()
            .ok_or_else(|| self.problem(span.clone(), key, "must be a table"))?;
        Ok(Table {
            text: self.text,
            path: self.path_of(key),
            table,
            span: span.or_else(|| self.span.clone()),
        })
    }

    /// The array of tables at `key`, if present.
    pub(crate) fn opt_array_of_tables(
        &self,
        key: &str,
    ) -> Result<Option<Vec<Table<'a>>>, TomlProblem> {
        let Some((item, span)) = self.get(key) else {
            return Ok(None);
        };
        let array = item
            .get_ref()
            .as_array()
            .filter(|a| document::is_array_of_tables(self.text, a))
            .ok_or_else(|| {
                self.problem(
                    span.clone(),
                    key,
                    format!("must be an array of tables ([[{}]])", self.path_of(key)),
                )
            })?;
        Ok(Some(
            array
                .iter()
                .enumerate()
                .filter_map(|(i, table)| {
                    Some(Table {
                        text: self.text,
                        path: format!("{}[{i}]", self.path_of(key)),
                        table: table.get_ref().as_table()?,
                        span: Some(table.span()),
                    })
                })
                .collect(),
        ))
    }

    /// The string at `key`, if present.
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<Located<&'a str>>, TomlProblem> {
        let Some((item, span)) = self.get(key) else {
            return Ok(None);
        };
        let value = item
            .get_ref()
            .as_str()
            .ok_or_else(|| self.problem(span.clone(), key, "must be a string"))?;
        Ok(Some(Located { value, span }))
    }

    /// The string at `key`.
    pub(crate) fn str(&self, key: &str) -> Result<Located<&'a str>, TomlProblem> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }

    /// The non-negative integer at `key`, if present.
    pub(crate) fn opt_u64(&self, key: &str) -> Result<Option<Located<u64>>, TomlProblem> {
        let Some((item, span)) = self.get(key) else {
            return Ok(None);
        };
        let value = item
            .get_ref()
            .as_integer()
            .and_then(document::integer)
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| self.problem(span.clone(), key, "must be a non-negative integer"))?;
        Ok(Some(Located { value, span }))
    }

    /// The non-negative integer at `key`.
    pub(crate) fn u64(&self, key: &str) -> Result<Located<u64>, TomlProblem> {
        self.opt_u64(key)?.ok_or_else(|| self.missing(key))
    }

    /// The offset date-time at `key` (normalised to UTC), if present.
    pub(crate) fn opt_datetime(
        &self,
        key: &str,
    ) -> Result<Option<Located<OffsetDateTime>>, TomlProblem> {
        let Some((item, span)) = self.get(key) else {
            return Ok(None);
        };
        let value = item
            .get_ref()
            .as_datetime()
            .ok_or_else(|| {
                "must be a date-time with an offset, such as 2027-06-01T00:00:00Z".to_owned()
            })
            .and_then(to_offset_datetime)
            .map_err(|message| self.problem(span.clone(), key, message))?;
        Ok(Some(Located { value, span }))
    }

    /// The offset date-time at `key` (normalised to UTC).
    pub(crate) fn datetime(&self, key: &str) -> Result<Located<OffsetDateTime>, TomlProblem> {
        self.opt_datetime(key)?.ok_or_else(|| self.missing(key))
    }

    /// The array of strings at `key`, if present.
    pub(crate) fn opt_str_array(
        &self,
        key: &str,
    ) -> Result<Option<Vec<Located<&'a str>>>, TomlProblem> {
        let Some((item, span)) = self.get(key) else {
            return Ok(None);
        };
        let array = item
            .get_ref()
            .as_array()
            .filter(|a| !document::is_array_of_tables(self.text, a))
            .ok_or_else(|| self.problem(span.clone(), key, "must be an array of strings"))?;
        array
            .iter()
            .map(|value| {
                let element_span = Some(value.span());
                value
                    .get_ref()
                    .as_str()
                    .map(|s| Located {
                        value: s,
                        span: element_span.clone(),
                    })
                    .ok_or_else(|| self.problem(element_span, key, "must be an array of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The array of strings at `key`.
    pub(crate) fn str_array(&self, key: &str) -> Result<Vec<Located<&'a str>>, TomlProblem> {
        self.opt_str_array(key)?.ok_or_else(|| self.missing(key))
    }
}

/// Converts a TOML date-time to a UTC `OffsetDateTime`; local date-times,
/// dates and times are refused because they name no instant.
fn to_offset_datetime(value: &toml_datetime::Datetime) -> Result<OffsetDateTime, String> {
    let (Some(date), Some(clock), Some(offset)) = (value.date, value.time, value.offset) else {
        return Err(format!(
            "`{value}` names no instant; use a date-time with an offset, such as 2027-06-01T00:00:00Z"
        ));
    };
    let invalid =
        |e: time::error::ComponentRange| format!("`{value}` is not a valid date-time: {e}");
    let month = Month::try_from(date.month).map_err(invalid)?;
    let date = Date::from_calendar_date(i32::from(date.year), month, date.day).map_err(invalid)?;
    let clock = Time::from_hms_nano(
        clock.hour,
        clock.minute,
        clock.second.unwrap_or(0),
        clock.nanosecond.unwrap_or(0),
    )
    .map_err(invalid)?;
    let offset = match offset {
        toml_datetime::Offset::Z => UtcOffset::UTC,
        toml_datetime::Offset::Custom { minutes } => {
            UtcOffset::from_whole_seconds(i32::from(minutes) * 60).map_err(invalid)?
        }
    };
    Ok(PrimitiveDateTime::new(date, clock)
        .assume_offset(offset)
        .to_offset(UtcOffset::UTC))
}

/// Formats an instant as RFC 3339 in UTC (`2027-06-01T00:00:00Z`), the form
/// used in every file this module writes.
pub(crate) fn format_datetime(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// Parses an RFC 3339 instant (used in JSON files).
pub(crate) fn parse_datetime(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.to_offset(UtcOffset::UTC))
}

/// Renders `s` as a TOML basic string, quotes included.
pub(crate) fn toml_string(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 9), (2, 3));
        // Inside `é`: the position of `é`.
        assert_eq!(line_col(text, 8), (2, 2));
        assert_eq!(line_col(text, 100), (3, 1));
        for offset in 0..=text.len() + 2 {
            assert_eq!(line_of(text, offset), line_col(text, offset).0, "{offset}");
        }
    }

    #[test]
    fn duplicate_keys_are_syntax_errors_with_a_location() {
        let err = parse("[policy]\nversion = 1\nversion = 2\n").err().unwrap();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("duplicate"), "{err}");
    }

    #[test]
    fn datetimes_need_an_offset() {
        let text = "a = 2027-06-01T02:00:00+02:00\nb = 2027-06-01T00:00:00\nc = 2027-06-01\n";
        let doc = parse(text).unwrap();
        let root = Table::root(text, &doc);
        let a = root.datetime("a").unwrap().value;
        assert_eq!(format_datetime(a), "2027-06-01T00:00:00Z");
        let b = root.datetime("b").err().unwrap();
        assert_eq!((b.line, b.column), (2, 5));
        assert!(root.datetime("c").is_err());
        assert_eq!(root.datetime("d").err().unwrap().key, "d");
    }

    #[test]
    fn types_are_checked_with_locations() {
        let text = "[t]\nn = -1\ns = 1\nl = [\"a\", 2]\n";
        let doc = parse(text).unwrap();
        let t = Table::root(text, &doc).table("t").unwrap();
        let n = t.u64("n").err().unwrap();
        assert_eq!((n.line, n.column, n.key.as_str()), (2, 5, "t.n"));
        assert!(t.str("s").is_err());
        let l = t.str_array("l").err().unwrap();
        assert_eq!((l.line, l.column), (4, 11));
        let unknown = t.deny_unknown(&["n", "s"]).err().unwrap();
        assert_eq!((unknown.line, unknown.key.as_str()), (4, "t.l"));
    }

    #[test]
    fn arrays_of_tables_are_not_arrays_of_values() {
        let text = "l = [{ a = 1 }]\n[[t]]\nk = \"x\"\n[[t]]\nk = \"y\"\n";
        let doc = parse(text).unwrap();
        let root = Table::root(text, &doc);
        let t = root.opt_array_of_tables("t").unwrap().unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].str("k").unwrap().value, "y");
        let missing = t[1].str("z").err().unwrap();
        assert_eq!((missing.line, missing.key.as_str()), (4, "t[1].z"));
        // An inline array of inline tables is not an array of tables.
        let l = root.opt_array_of_tables("l").err().unwrap();
        assert_eq!((l.line, l.column), (1, 5));
        assert!(l.message.contains("[[l]]"), "{l}");
        // An array of tables is not an array of strings.
        let s = root.str_array("t").err().unwrap();
        assert_eq!((s.line, s.column, s.key.as_str()), (2, 1, "t"));
    }

    #[test]
    fn integers_beyond_range_are_syntax_errors() {
        let err = parse("[t]\nx = 1\ny = 0x1_0000_0000_0000_0000\n")
            .err()
            .unwrap();
        assert_eq!((err.line, err.column), (3, 5), "{err}");
        assert_eq!(err.message, "integer number overflowed");
        let text = "[t]\nn = 0x10\n";
        let doc = parse(text).unwrap();
        let t = Table::root(text, &doc).table("t").unwrap();
        assert_eq!(t.u64("n").unwrap().value, 16);
    }

    #[test]
    fn strings_render_as_toml() {
        assert_eq!(toml_string("a\"b"), "'a\"b'");
        assert_eq!(toml_string("plain"), "\"plain\"");
    }

    #[test]
    fn invalid_utf8_is_located() {
        let err = utf8(b"a = 1\nb = \"\xff\"").err().unwrap();
        assert_eq!((err.line, err.column), (2, 6));
        // Characters before the bad byte count one column each.
        let err = utf8(
            "a = 1\nb = \"日本"
                .as_bytes()
                .iter()
                .chain(b"\xff")
                .copied()
                .collect::<Vec<_>>()
                .as_slice(),
        )
        .err()
        .unwrap();
        assert_eq!((err.line, err.column), (2, 8));
    }

    #[test]
    fn header_errors_after_non_ascii_text_name_the_character_column() {
        let text = "# 日本語のコメント\n[t]\n\"namé\" = \"ü\"\n";
        let doc = parse(text).unwrap();
        let t = Table::root(text, &doc).table("t").unwrap();
        let n = t.u64("namé").err().unwrap();
        assert_eq!((n.line, n.column), (3, 10));
        // An unquoted key may not hold `é`: the error is at the `é`.
        let err = parse("[t]\nnamé = 1\n").err().unwrap();
        assert_eq!((err.line, err.column), (2, 4), "{err}");
        let err = parse("[t]\nk = \"日本\" x\n").err().unwrap();
        assert_eq!((err.line, err.column), (2, 10), "{err}");
    }
}
