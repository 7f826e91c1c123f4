//! Parsing plists with limits, recognising what is not a plist, and turning
//! plist values into JSON.

use std::cell::{Cell, RefCell};
use std::fmt;

use crate::value::{Map, Number, Value as Json};
use base64::Engine as _;
use plist::{Dictionary, Value};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::{MAX_DECODED_BYTES, MAX_DEPTH, MAX_ELEMENTS, MAX_VALUES};

/// How a plist was encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlistEncoding {
    /// `<?xml …?><plist>…</plist>`.
    Xml,
    /// `bplist00…`, what macOS writes to `/Library/Managed Preferences`.
    Binary,
}

/// Why bytes could not be read as a plist.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlistError {
    /// The bytes are a CMS (PKCS #7) signed message: a signed configuration profile.
    #[error(
        "a signed configuration profile (CMS), not a managed preferences plist: install it with the MDM, then read the file macOS writes"
    )]
    SignedProfile,
    /// Nothing but whitespace.
    #[error("the file is empty: expected an XML or binary property list")]
    Empty,
    /// Not well-formed, truncated, or an encoding other than XML and binary.
    #[error("not a valid property list: {0}")]
    Malformed(String),
    /// Arrays and dictionaries nested deeper than [`MAX_DEPTH`](super::MAX_DEPTH).
    #[error(
        "arrays and dictionaries are nested deeper than {limit} levels; preferences never need that many"
    )]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// One array or dictionary with more than [`MAX_ELEMENTS`](super::MAX_ELEMENTS) elements.
    #[error("an array or dictionary has more than {limit} elements")]
    TooManyElements {
        /// The limit.
        limit: usize,
    },
    /// More than [`MAX_VALUES`](super::MAX_VALUES) values, or more than
    /// [`MAX_DECODED_BYTES`](super::MAX_DECODED_BYTES) of strings and data, in all.
    #[error(
        "the property list expands to more than {limit} (binary plists can share objects; this one shares too much)"
    )]
    TooLarge {
        /// What was exceeded, such as "200000 values".
        limit: String,
    },
    /// A dictionary names the same key twice.
    #[error("the key \"{key}\" appears twice in one dictionary")]
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// A `UID` object, which only keyed archives (not preferences) use.
    #[error(
        "the property list holds a UID (an NSKeyedArchiver reference), which preferences never contain"
    )]
    Uid,
}

/// A parsed plist and how it was encoded.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedPlist {
    /// The root value.
    pub value: Value,
    /// XML or binary.
    pub encoding: PlistEncoding,
}

/// Whether `bytes` start like a DER/BER SEQUENCE with a long or indefinite
/// length (as every real CMS signed message does), or like a short CMS
/// `ContentInfo` naming a PKCS #7 content type. No plist starts with 0x30.
pub(crate) fn looks_like_der(bytes: &[u8]) -> bool {
    const PKCS7_OID: &[u8] = &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07];
    match bytes {
        [0x30, 0x80..=0x84, ..] => true,
        [0x30, _, rest @ ..] => rest.starts_with(PKCS7_OID),
        _ => false,
    }
}

/// Strips what some tools leave around an XML plist: a UTF-8 byte order
/// mark, leading whitespace before `<?xml`, trailing whitespace and NUL bytes.
pub(crate) fn trim_plist(bytes: &[u8]) -> &[u8] {
    if bytes.starts_with(b"bplist") {
        return bytes;
    }
    let mut bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    while let [first, rest @ ..] = bytes
        && first.is_ascii_whitespace()
    {
        bytes = rest;
    }
    while let [rest @ .., last] = bytes
        && (*last == 0 || last.is_ascii_whitespace())
    {
        bytes = rest;
    }
    bytes
}

/// Parses an XML or binary plist, within the module's limits.
///
/// A leading byte order mark or whitespace and trailing NUL bytes are
/// tolerated (some profile editors leave them); ASCII (OpenStep) plists are
/// not accepted. A CMS signed message is recognised and refused with
/// [`PlistError::SignedProfile`].
///
/// ```
/// use mandate::mdm::{PlistEncoding, parse_plist};
///
/// let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
/// <plist version="1.0"><dict><key>a</key><integer>1</integer></dict></plist>"#;
/// let parsed = parse_plist(xml)?;
/// assert_eq!(parsed.encoding, PlistEncoding::Xml);
/// assert_eq!(parsed.value.as_dictionary().and_then(|d| d.get("a")).and_then(|v| v.as_signed_integer()), Some(1));
/// # Ok::<(), mandate::mdm::PlistError>(())
/// ```
pub fn parse_plist(bytes: &[u8]) -> Result<ParsedPlist, PlistError> {
    if looks_like_der(bytes) {
        return Err(PlistError::SignedProfile);
    }
    let bytes = trim_plist(bytes);
    if bytes.is_empty() {
        return Err(PlistError::Empty);
    }
    if bytes.starts_with(b"bplist") {
        check_binary_dates(bytes)?;
        let value = build(bytes, PlistEncoding::Binary)?;
        return Ok(ParsedPlist {
            value,
            encoding: PlistEncoding::Binary,
        });
    }
    if !bytes.starts_with(b"<") {
        let hint = if bytes.starts_with(b"{") || bytes.starts_with(b"[") {
            " (it looks like JSON or TOML: put it under the Policy key of a plist instead)"
        } else {
            ""
        };
        return Err(PlistError::Malformed(format!(
            "expected an XML plist (<?xml …>) or a binary plist (bplist00){hint}"
        )));
    }
    let value = build(bytes, PlistEncoding::Xml)?;
    Ok(ParsedPlist {
        value,
        encoding: PlistEncoding::Xml,
    })
}

thread_local! {
    /// The limit a parse on this thread ran into, if any (serde errors can
    /// only carry text, so the structured error travels beside them).
    static LIMIT: RefCell<Option<PlistError>> = const { RefCell::new(None) };
}

/// Parses with the plist crate's serde deserializer into a [`Value`] built
/// by [`Node`], which enforces every limit as it goes: nothing deeper, larger
/// or more expanded than allowed is ever built.
fn build(bytes: &[u8], encoding: PlistEncoding) -> Result<Value, PlistError> {
    LIMIT.with(|l| l.borrow_mut().take());
    // A panic inside the third-party parser is a refused file, not a dead
    // process (`crate::contain`).
    let result = crate::contain(|| match encoding {
        PlistEncoding::Binary => plist::from_bytes::<Limited>(bytes),
        PlistEncoding::Xml => plist::from_reader_xml::<_, Limited>(bytes),
    })
    .map_err(PlistError::Malformed)?;
    let limit = LIMIT.with(|l| l.borrow_mut().take());
    match (result, limit) {
        (_, Some(limit)) => Err(limit),
        (Ok(Limited(value)), None) => Ok(value),
        (Err(e), None) => Err(PlistError::Malformed(humanize(&e.to_string()))),
    }
}

/// Refuses a binary plist holding a date outside the years 0000–9999 before
/// the plist crate sees it: the crate formats every date it reads as XML
/// text and panics on such a date (valid to Apple's own tools). Dates are
/// found through the binary format's offset table: marker `0x33`, then a
/// big-endian `f64` of seconds since 2001-01-01. A table this walk cannot
/// follow is left to the parser, which refuses it.
fn check_binary_dates(bytes: &[u8]) -> Result<(), PlistError> {
    // Seconds from 2001-01-01T00:00:00Z to 0000-01-01T00:00:00Z and to
    // 9999-12-31T23:59:59Z.
    const EARLIEST: f64 = -63_145_526_400.0;
    const LATEST: f64 = 252_423_993_599.0;
    let Some(trailer) = bytes.len().checked_sub(32).map(|at| &bytes[at..]) else {
        return Ok(());
    };
    let be = |b: &[u8]| b.iter().fold(0u64, |n, &x| (n << 8) | u64::from(x));
    let offset_size = usize::from(trailer[6]);
    let count = be(&trailer[8..16]);
    let table = be(&trailer[24..32]);
    if !(1..=8).contains(&offset_size) {
        return Ok(());
    }
    for i in 0..count.min(bytes.len() as u64) {
        let at = usize::try_from(table + i * offset_size as u64).unwrap_or(usize::MAX);
        let Some(entry) = bytes.get(at..at.saturating_add(offset_size)) else {
            return Ok(());
        };
        let offset = usize::try_from(be(entry)).unwrap_or(usize::MAX);
        if bytes.get(offset) != Some(&0x33) {
            continue;
        }
        let Some(raw) = bytes.get(offset + 1..offset + 9) else {
            continue;
        };
        let mut eight = [0u8; 8];
        eight.copy_from_slice(raw);
        let seconds = f64::from_be_bytes(eight);
        if !(EARLIEST..=LATEST).contains(&seconds) {
            return Err(PlistError::Malformed(format!(
                "a <date> lies outside the years 0000–9999 ({seconds} seconds from 2001-01-01): no preference needs one"
            )));
        }
    }
    Ok(())
}

/// `RecursiveObject (offset 8)` → `recursive object (offset 8)`.
fn humanize(message: &str) -> String {
    let split = message
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(message.len());
    let (name, rest) = message.split_at(split);
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out.push_str(rest);
    out
}

/// The plist crate's name for "deserialize a plist value": dates and UIDs
/// then arrive as themselves instead of as strings and integers.
const PLIST_VALUE: &str = "PLIST-VALUE";
/// How the plist crate names a date inside a plist value.
const PLIST_DATE: &str = "PLIST-DATE";

/// A plist value parsed within the limits.
struct Limited(Value);

impl<'de> Deserialize<'de> for Limited {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Limited, D::Error> {
        struct Root;
        impl<'de> Visitor<'de> for Root {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a property list")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                let budget = Budget::default();
                Node {
                    depth: 0,
                    budget: &budget,
                }
                .deserialize(d)
            }
        }
        deserializer
            .deserialize_newtype_struct(PLIST_VALUE, Root)
            .map(Limited)
    }
}

#[derive(Default)]
struct Budget {
    values: Cell<usize>,
    bytes: Cell<usize>,
}

fn exceeded<E: de::Error>(limit: PlistError) -> E {
    let message = limit.to_string();
    LIMIT.with(|l| *l.borrow_mut() = Some(limit));
    E::custom(message)
}

impl Budget {
    fn spend<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        self.values.set(self.values.get() + 1);
        self.bytes.set(self.bytes.get().saturating_add(bytes));
        if self.values.get() > MAX_VALUES {
            return Err(exceeded(PlistError::TooLarge {
                limit: format!("{MAX_VALUES} values"),
            }));
        }
        if self.bytes.get() > MAX_DECODED_BYTES {
            return Err(exceeded(PlistError::TooLarge {
                limit: format!("{MAX_DECODED_BYTES} bytes of strings and data"),
            }));
        }
        Ok(())
    }
}

/// Deserializes one value at `depth`, spending from the budget.
#[derive(Clone, Copy)]
struct Node<'b> {
    depth: usize,
    budget: &'b Budget,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a plist value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.budget.spend(0)?;
        Ok(Value::Boolean(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.budget.spend(0)?;
        Ok(Value::Integer(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.budget.spend(0)?;
        Ok(Value::Integer(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.budget.spend(0)?;
        Ok(Value::Real(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.budget.spend(v.len())?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.budget.spend(v.len())?;
        Ok(Value::String(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        self.budget.spend(v.len())?;
        Ok(Value::Data(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        self.budget.spend(v.len())?;
        Ok(Value::Data(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.enter(seq.size_hint())?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(inner)? {
            if items.len() >= MAX_ELEMENTS {
                return Err(exceeded(PlistError::TooManyElements {
                    limit: MAX_ELEMENTS,
                }));
            }
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.enter(map.size_hint())?;
        let mut dict = Dictionary::new();
        while let Some(key) = map.next_key::<String>()? {
            self.budget.spend(key.len())?;
            if dict.len() >= MAX_ELEMENTS {
                return Err(exceeded(PlistError::TooManyElements {
                    limit: MAX_ELEMENTS,
                }));
            }
            if dict.contains_key(&key) {
                return Err(exceeded(PlistError::DuplicateKey { key }));
            }
            let value = map.next_value_seed(inner)?;
            dict.insert(key, value);
        }
        Ok(Value::Dictionary(dict))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (name, variant): (String, _) = data.variant()?;
        if name != PLIST_DATE {
            return Err(exceeded(PlistError::Uid));
        }
        let text: String = variant.newtype_variant()?;
        self.budget.spend(0)?;
        let date = plist::Date::from_xml_format(&text)
            .map_err(|_| de::Error::custom(format!("invalid date {text:?}")))?;
        Ok(Value::Date(date))
    }
}

impl<'b> Node<'b> {
    /// The node for the elements of a collection opened at this node.
    fn enter<E: de::Error>(self, len: Option<usize>) -> Result<Node<'b>, E> {
        self.budget.spend(0)?;
        if self.depth >= MAX_DEPTH {
            return Err(exceeded(PlistError::TooDeep { limit: MAX_DEPTH }));
        }
        if len.is_some_and(|n| n > MAX_ELEMENTS) {
            return Err(exceeded(PlistError::TooManyElements {
                limit: MAX_ELEMENTS,
            }));
        }
        Ok(Node {
            depth: self.depth + 1,
            budget: self.budget,
        })
    }
}

/// Describes a plist value the way it is written in XML, for messages:
/// `<string>true</string>`, `<integer>3</integer>`, `an <array>`.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() <= 40 && !s.contains('\n') => {
            format!("<string>{s}</string>")
        }
        Value::String(_) => "a <string>".into(),
        Value::Boolean(true) => "<true/>".into(),
        Value::Boolean(false) => "<false/>".into(),
        Value::Integer(i) => format!("<integer>{i}</integer>"),
        Value::Real(r) => format!("<real>{r}</real>"),
        Value::Date(d) => format!("<date>{}</date>", d.to_xml_format()),
        Value::Data(_) => "a <data> value".into(),
        Value::Array(_) => "an <array>".into(),
        Value::Dictionary(_) => "a <dict>".into(),
        _ => "an unsupported value".into(),
    }
}

/// Converts a plist value to JSON without type guidance: integers stay
/// integers, reals become floats, dates become RFC 3339 strings and data
/// becomes a standard base64 string.
pub(crate) fn to_json(value: &Value) -> Result<Json, String> {
    Ok(match value {
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => integer_json(*i),
        Value::Real(r) => Number::from_f64(*r)
            .map(Json::Number)
            .ok_or_else(|| format!("<real>{r}</real> is not a finite number"))?,
        Value::String(s) => Json::String(s.clone()),
        Value::Date(d) => Json::String(d.to_xml_format()),
        Value::Data(d) => Json::String(base64::engine::general_purpose::STANDARD.encode(d)),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Dictionary(dict) => {
            let mut map = Map::new();
            for (k, v) in dict {
                map.insert(k.clone(), to_json(v)?);
            }
            Json::Object(map)
        }
        _ => return Err("a UID or unsupported value".into()),
    })
}

pub(crate) fn integer_json(i: plist::Integer) -> Json {
    match (i.as_signed(), i.as_unsigned()) {
        (Some(s), _) => Json::Number(s.into()),
        (None, Some(u)) => Json::Number(u.into()),
        (None, None) => Json::Null,
    }
}

/// Converts JSON to a plist value; `null` has no plist form.
pub(crate) fn from_json(value: &Json) -> Result<Value, String> {
    Ok(match value {
        Json::Null => return Err("null has no plist form".into()),
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Integer(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Integer(u.into())
            } else {
                Value::Real(n.as_f64().ok_or("a number out of range")?)
            }
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(from_json).collect::<Result<_, _>>()?),
        Json::Object(map) => {
            let mut dict = Dictionary::new();
            for (k, v) in map {
                dict.insert(k.clone(), from_json(v)?);
            }
            Value::Dictionary(dict)
        }
    })
}

/// Decodes `text` as standard base64 (padding optional, whitespace and line
/// breaks ignored). `None` when it is not base64.
pub(crate) fn decode_base64_text(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    LENIENT.decode(compact.as_bytes()).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn xml(body: &str) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">{body}</plist>\n"
        )
        .into_bytes()
    }

    fn binary(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        value.to_writer_binary(&mut out).unwrap();
        out
    }

    #[test]
    fn xml_and_binary_parse_to_the_same_value() {
        let from_xml = parse_plist(&xml(
            "<dict><key>a</key><array><true/><real>1.5</real></array></dict>",
        ))
        .unwrap();
        assert_eq!(from_xml.encoding, PlistEncoding::Xml);
        let from_binary = parse_plist(&binary(&from_xml.value)).unwrap();
        assert_eq!(from_binary.encoding, PlistEncoding::Binary);
        assert_eq!(from_binary.value, from_xml.value);
    }

    /// A binary plist whose only object is a date `seconds` from 2001-01-01.
    fn binary_date(seconds: f64) -> Vec<u8> {
        let mut body = b"bplist00\x33".to_vec();
        body.extend_from_slice(&seconds.to_be_bytes());
        let table = body.len() as u64;
        body.push(8);
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 1]);
        for n in [1u64, 0, table] {
            body.extend_from_slice(&n.to_be_bytes());
        }
        body
    }

    #[test]
    fn dates_outside_years_0_to_9999_are_refused_not_a_panic() {
        // Year 2027 reads; years 20000 and -100 (valid to Apple's tools) are
        // refused with a message, as is a NaN.
        let ok = parse_plist(&binary_date(8.0e8)).unwrap();
        assert!(matches!(ok.value, Value::Date(_)));
        for seconds in [6.0e11, -6.5e10, f64::NAN, f64::INFINITY] {
            let err = parse_plist(&binary_date(seconds)).unwrap_err();
            assert!(
                err.to_string().contains("outside the years 0000–9999"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_panicking_parser_is_contained() {
        let r: Result<(), String> = crate::contain(|| panic!("boom"));
        assert!(r.unwrap_err().contains("boom"));
    }

    #[test]
    fn dates_stay_dates_and_uids_are_refused() {
        let parsed = parse_plist(&xml(
            "<array><date>2027-06-01T00:00:00Z</date><string>2027-06-01T00:00:00Z</string></array>",
        ))
        .unwrap();
        let items = parsed.value.as_array().unwrap();
        assert!(matches!(items[0], Value::Date(_)), "{items:?}");
        assert!(matches!(items[1], Value::String(_)), "{items:?}");
        let binary_date = parse_plist(&binary(&parsed.value)).unwrap();
        assert_eq!(binary_date.value, parsed.value);
        // A UID object (marker 0x80, one byte): only keyed archives use them.
        assert_eq!(
            parse_plist(&raw_bplist(&[&[0x80, 0x05]], 0)),
            Err(PlistError::Uid)
        );
    }

    #[test]
    fn leading_space_bom_and_trailing_nuls_are_tolerated() {
        let mut bytes = b"\xEF\xBB\xBF \n".to_vec();
        bytes.extend(xml("<dict/>"));
        bytes.extend([0, 0, 0, b'\n']);
        assert_eq!(
            parse_plist(&bytes).unwrap().value,
            Value::Dictionary(Dictionary::new())
        );
    }

    #[test]
    fn cms_and_other_formats_are_recognised() {
        assert_eq!(
            parse_plist(&[0x30, 0x82, 0x10, 0x30, 0x06]),
            Err(PlistError::SignedProfile)
        );
        assert_eq!(
            parse_plist(&[0x30, 0x80, 0x06, 0x09]),
            Err(PlistError::SignedProfile)
        );
        assert_eq!(parse_plist(b"  \n"), Err(PlistError::Empty));
        let json = parse_plist(b"{\"payloadType\": 1}").unwrap_err();
        assert!(json.to_string().contains("looks like JSON"), "{json}");
        // OpenStep (ASCII) plists are not accepted.
        assert!(matches!(
            parse_plist(b"{ a = 1; }"),
            Err(PlistError::Malformed(_))
        ));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!(
            "{}{}",
            "<array>".repeat(MAX_DEPTH + 1),
            "</array>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(
            parse_plist(&xml(&deep)),
            Err(PlistError::TooDeep { limit: MAX_DEPTH })
        );
        // A hundred thousand levels must not overflow the stack either.
        let very = format!("{}{}", "<dict><key>k</key>".repeat(100_000), "<true/>");
        assert_eq!(
            parse_plist(&xml(&very)),
            Err(PlistError::TooDeep { limit: MAX_DEPTH })
        );
        let ok = format!(
            "{}{}",
            "<array>".repeat(MAX_DEPTH),
            "</array>".repeat(MAX_DEPTH)
        );
        assert!(parse_plist(&xml(&ok)).is_ok());
    }

    #[test]
    fn huge_collections_are_refused() {
        let many = "<true/>".repeat(MAX_ELEMENTS + 1);
        assert_eq!(
            parse_plist(&xml(&format!("<array>{many}</array>"))),
            Err(PlistError::TooManyElements {
                limit: MAX_ELEMENTS
            })
        );
        let big = Value::Array(vec![Value::Boolean(true); MAX_ELEMENTS + 1]);
        assert_eq!(
            parse_plist(&binary(&big)),
            Err(PlistError::TooManyElements {
                limit: MAX_ELEMENTS
            })
        );
    }

    #[test]
    fn duplicate_keys_and_dangling_keys_are_refused() {
        let dup = parse_plist(&xml("<dict><key>a</key><true/><key>a</key><false/></dict>"));
        assert_eq!(dup, Err(PlistError::DuplicateKey { key: "a".into() }));
        assert!(parse_plist(&xml("<dict><key>a</key></dict>")).is_err());
    }

    #[test]
    fn truncated_input_is_an_error() {
        let full = binary(&Value::Array(vec![Value::String("x".repeat(50)); 3]));
        for len in [8, 9, 20, full.len() - 1] {
            assert!(parse_plist(&full[..len]).is_err(), "prefix of {len} bytes");
        }
        let text = xml("<dict><key>a</key><string>b</string></dict>");
        let cut = &text[..text.len() - 20];
        assert!(matches!(parse_plist(cut), Err(PlistError::Malformed(_))));
    }

    /// A binary plist from raw objects (one-byte offsets and references).
    fn raw_bplist(objects: &[&[u8]], top: u8) -> Vec<u8> {
        let mut out = b"bplist00".to_vec();
        let mut offsets = Vec::new();
        for object in objects {
            offsets.push(u8::try_from(out.len()).unwrap());
            out.extend_from_slice(object);
        }
        let table = out.len() as u64;
        out.extend(&offsets);
        out.extend([0u8; 6]);
        out.extend([1u8, 1u8]);
        out.extend((objects.len() as u64).to_be_bytes());
        out.extend(u64::from(top).to_be_bytes());
        out.extend(table.to_be_bytes());
        out
    }

    #[test]
    fn circular_binary_plists_are_refused_without_hanging() {
        // An array whose only element is itself.
        let array = raw_bplist(&[&[0xA1, 0x00]], 0);
        assert!(
            matches!(parse_plist(&array), Err(PlistError::Malformed(_))),
            "{:?}",
            parse_plist(&array)
        );
        // A dictionary whose value is itself.
        let dict = raw_bplist(&[&[0xD1, 0x01, 0x00], &[0x51, b'k']], 0);
        assert!(matches!(parse_plist(&dict), Err(PlistError::Malformed(_))));
        // A cycle of two arrays.
        let pair = raw_bplist(&[&[0xA1, 0x01], &[0xA1, 0x00]], 0);
        assert!(parse_plist(&pair).is_err());
        // A reference past the object table.
        let dangling = raw_bplist(&[&[0xA1, 0x07]], 0);
        assert!(parse_plist(&dangling).is_err());
    }

    #[test]
    fn exponentially_shared_binary_objects_are_refused() {
        // Each array holds 15 references to the next: 15^8 leaves from 9 objects.
        let mut objects: Vec<Vec<u8>> = Vec::new();
        for i in 0..8u8 {
            let mut o = vec![0xAF, 0x10, 15];
            o.extend(std::iter::repeat_n(i + 1, 15));
            objects.push(o);
        }
        objects.push(vec![0x09]); // true
        let refs: Vec<&[u8]> = objects.iter().map(Vec::as_slice).collect();
        let bomb = raw_bplist(&refs, 0);
        let error = parse_plist(&bomb).unwrap_err();
        assert!(matches!(error, PlistError::TooLarge { .. }), "{error}");
        // A long string shared many times exhausts the byte budget instead.
        let long = {
            let mut s = vec![0x5F, 0x12];
            s.extend(60_000u32.to_be_bytes());
            s.extend(std::iter::repeat_n(b'x', 60_000));
            s
        };
        let mut objects: Vec<Vec<u8>> = Vec::new();
        for i in 0..3u8 {
            let mut o = vec![0xAF, 0x10, 200];
            o.extend(std::iter::repeat_n(i + 1, 200));
            objects.push(o);
        }
        objects.push(long);
        let mut bytes = b"bplist00".to_vec();
        let mut offsets: Vec<u32> = Vec::new();
        for object in &objects {
            offsets.push(bytes.len() as u32);
            bytes.extend(object);
        }
        let table = bytes.len() as u64;
        for o in &offsets {
            bytes.extend(o.to_be_bytes());
        }
        bytes.extend([0u8; 6]);
        bytes.extend([4u8, 1u8]);
        bytes.extend((objects.len() as u64).to_be_bytes());
        bytes.extend(0u64.to_be_bytes());
        bytes.extend(table.to_be_bytes());
        let error = parse_plist(&bytes).unwrap_err();
        assert!(matches!(error, PlistError::TooLarge { .. }), "{error}");
    }

    #[test]
    fn base64_text_is_lenient_about_padding_and_whitespace() {
        assert_eq!(decode_base64_text("aGVs\nbG8="), Some(b"hello".to_vec()));
        assert_eq!(decode_base64_text("aGVsbG8"), Some(b"hello".to_vec()));
        assert_eq!(decode_base64_text("[settings]\na = 1"), None);
        assert_eq!(decode_base64_text("  "), None);
    }

    #[test]
    fn json_conversion() {
        let date = plist::Date::from_xml_format("2013-12-06T18:58:51Z").unwrap();
        let mut dict = Dictionary::new();
        dict.insert("d".into(), Value::Date(date));
        dict.insert("b".into(), Value::Data(b"hi".to_vec()));
        dict.insert("n".into(), Value::Integer(u64::MAX.into()));
        let json = to_json(&Value::Dictionary(dict)).unwrap();
        assert_eq!(
            json,
            crate::json!({"d": "2013-12-06T18:58:51Z", "b": "aGk=", "n": u64::MAX})
        );
        assert!(to_json(&Value::Real(f64::NAN)).is_err());
        let back = from_json(&crate::json!({"a": [1, 1.5, "x", true]})).unwrap();
        assert_eq!(describe(&back), "a <dict>");
        assert!(from_json(&Json::Null).is_err());
    }
}
