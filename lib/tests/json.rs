//! `mandate::json` writes the bytes `serde_json` writes, pretty and compact,
//! for any value: trees of `serde_json::Value`, derived structs and enums of
//! every shape serde has, raw values, map keys that are not strings, and the
//! errors, with what was written before them.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io;

use proptest::prelude::*;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// Both forms of `value` are `serde_json`'s, byte for byte.
fn assert_same<T: Serialize + ?Sized>(value: &T) {
    let pretty = mandate::json::to_vec_pretty(value).unwrap();
    let expected = serde_json::to_vec_pretty(value).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&pretty),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(pretty, expected);
    let compact = mandate::json::to_vec(value).unwrap();
    assert_eq!(compact, serde_json::to_vec(value).unwrap());
}

/// Characters a JSON writer can get wrong: every control byte, quotes,
/// backslashes, DEL, non-ASCII of every length, and plain letters between.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        2 => prop::char::range('\u{0}', '\u{1f}'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('/'),
        1 => Just('\u{7f}'),
        1 => Just('é'),
        1 => Just('€'),
        1 => Just('\u{2028}'),
        1 => Just('𝄞'),
        1 => any::<char>(),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..40).prop_map(|c| c.into_iter().collect())
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(-1),
            Just(0),
            Just(9),
            Just(10)
        ]
        .prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just(-0.0),
            Just(0.0),
            Just(1e300),
            Just(-1e300),
            Just(5e-324),
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
            Just(0.1),
            Just(1e16),
            Just(1e15),
            Just(123_456.789),
            Just(-2.5e-7),
        ]
        .prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 200, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(tricky_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_value_is_written_as_serde_json_writes_it(v in value()) {
        assert_same(&v);
    }

    #[test]
    fn any_string_is_escaped_as_serde_json_escapes_it(s in tricky_string()) {
        assert_same(&s);
        // Long runs take the eight-bytes-at-a-time path, with the tricky
        // bytes at every offset.
        let long = format!("{s}abcdefghijklmnopqrstuvwxyz{s}{s}0123456789");
        assert_same(&long);
    }

    #[test]
    fn any_sample_struct_is_written_as_serde_json_writes_it(
        name in tricky_string(),
        note in prop::option::of(tricky_string()),
        maybe in prop::option::of(any::<u8>()),
        small in any::<i8>(),
        wide in any::<i128>(),
        unsigned_wide in any::<u128>(),
        single in any::<f32>(),
        letter in tricky_char(),
        data in prop::collection::vec(any::<u8>(), 0..5),
        kinds in prop::collection::vec(0..7usize, 0..5),
    ) {
        let sample = Sample {
            name: name.clone(),
            note,
            maybe,
            kind: kind(3, &name),
            kinds: kinds.iter().map(|k| kind(*k, &name)).collect(),
            tuple: (small, unsigned_wide, single),
            wide,
            unit: (),
            letter,
            bytes: Bytes(data),
            int_keys: [(i32::from(small), true), (-7, false)].into_iter().collect(),
            bool_keys: [(true, 1), (false, 0)].into_iter().collect(),
            char_keys: [(letter, name.clone())].into_iter().collect(),
            flat: [("flat".to_owned(), Value::from(name))].into_iter().collect(),
            tagged: Tagged::Struct { x: maybe },
            untagged: Untagged::Text("x".into()),
            nothing: Empty,
            newtype: Newtype(wide),
        };
        assert_same(&sample);
    }
}

#[derive(Serialize)]
struct Sample {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    maybe: Option<u8>,
    kind: Kind,
    kinds: Vec<Kind>,
    tuple: (i8, u128, f32),
    wide: i128,
    unit: (),
    letter: char,
    bytes: Bytes,
    int_keys: BTreeMap<i32, bool>,
    bool_keys: BTreeMap<bool, u8>,
    char_keys: BTreeMap<char, String>,
    #[serde(flatten)]
    flat: BTreeMap<String, Value>,
    tagged: Tagged,
    untagged: Untagged,
    nothing: Empty,
    newtype: Newtype,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    Unit,
    Newtype(String),
    Tuple(i32, String),
    EmptyTuple(),
    Struct {
        a: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<bool>,
    },
    EmptyStruct {},
    Nested(Vec<Kind>),
}

fn kind(which: usize, text: &str) -> Kind {
    match which {
        0 => Kind::Unit,
        1 => Kind::Newtype(text.to_owned()),
        2 => Kind::Tuple(-1, text.to_owned()),
        3 => Kind::EmptyTuple(),
        4 => Kind::Struct { a: 7, b: None },
        5 => Kind::EmptyStruct {},
        _ => Kind::Nested(vec![
            Kind::Unit,
            Kind::Struct {
                a: 1,
                b: Some(true),
            },
        ]),
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Tagged {
    Struct { x: Option<u8> },
}

#[derive(Serialize)]
#[serde(untagged)]
enum Untagged {
    Text(String),
}

#[derive(Serialize)]
struct Empty;

#[derive(Serialize)]
struct Newtype(i128);

/// Serialized through `serialize_bytes`.
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

/// A map with whatever keys, in the order given.
struct Pairs<K>(Vec<(K, u8)>);

impl<K: Serialize> Serialize for Pairs<K> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// Serialized through `collect_str`.
struct Shown(String);

impl Serialize for Shown {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("<{}>", self.0))
    }
}

#[test]
fn empty_and_nested_empty_containers_are_written_as_serde_json_writes_them() {
    for text in [
        "[]",
        "{}",
        "[[]]",
        "[{}]",
        r#"{"a":[]}"#,
        r#"{"a":{}}"#,
        r#"[[],[[]],{},{"b":{}}]"#,
        r#"{"a":[1,[],{"c":[{}]}],"b":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
    ] {
        let v: Value = serde_json::from_str(text).unwrap();
        assert_same(&v);
    }
    // Deeper than any one run of indent the writer keeps.
    let mut deep = serde_json::json!({"leaf": [1, {}]});
    for depth in 0..300 {
        deep = if depth % 2 == 0 {
            Value::Array(vec![deep, Value::Array(Vec::new())])
        } else {
            serde_json::json!({ "k": deep })
        };
        assert_same(&deep);
    }
    assert_same(&Vec::<u8>::new());
    assert_same(&Bytes(Vec::new()));
    assert_same(&Kind::EmptyTuple());
    assert_same(&Kind::EmptyStruct {});
}

#[test]
fn scalars_at_their_extremes_are_written_as_serde_json_writes_them() {
    assert_same(&(i64::MIN, i64::MAX, u64::MAX, 0u64, -1i8, i8::MIN, u8::MAX));
    assert_same(&(i128::MIN, i128::MAX, u128::MAX, 0u128, -1i128));
    assert_same(&(
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0f64,
        5e-324f64,
    ));
    assert_same(&(
        f32::NAN,
        f32::MAX,
        f32::MIN_POSITIVE,
        -0.0f32,
        0.1f32,
        16_777_216f32,
    ));
    assert_same(&('\u{0}', '"', '\\', '\u{7f}', 'é', '𝄞'));
    assert_same(&((), Some(()), None::<u8>, Empty, Newtype(-5)));
}

#[test]
fn map_keys_that_are_numbers_booleans_or_chars_are_quoted_as_serde_json_quotes_them() {
    assert_same(&Pairs(vec![(i64::MIN, 1), (u64::MAX as i64, 2)]));
    assert_same(&Pairs(vec![(u128::MAX, 1)]));
    assert_same(&Pairs(vec![(i128::MIN, 1)]));
    assert_same(&Pairs(vec![
        (1.5f64, 1),
        (-0.0, 2),
        (1e300, 3),
        (5e-324, 4),
    ]));
    assert_same(&Pairs(vec![(0.1f32, 1)]));
    assert_same(&Pairs(vec![(true, 1), (false, 2)]));
    assert_same(&Pairs(vec![('"', 1), ('\n', 2)]));
    assert_same(&Pairs(vec![(Some("k"), 1)]));
    assert_same(&Pairs(vec![(Kind::Unit, 1)]));
    assert_same(&Pairs(vec![(Shown("a\"b".into()), 1)]));
}

#[test]
fn collected_strings_are_escaped_as_serde_json_escapes_them() {
    assert_same(&Shown("tab\there \"quoted\" \\ \u{1}".into()));
    assert_same(&vec![Shown(String::new()), Shown("é".into())]);
}

#[test]
fn raw_values_are_written_verbatim_as_serde_json_writes_them() {
    #[derive(Serialize)]
    struct Holder<'a> {
        raw: &'a RawValue,
        boxed: Box<RawValue>,
        list: Vec<&'a RawValue>,
    }
    let raw: &RawValue = serde_json::from_str(r#"{ "spaced" :  [1, 2] }"#).unwrap();
    let boxed = RawValue::from_string("\"text\"".into()).unwrap();
    let holder = Holder {
        raw,
        boxed,
        list: vec![raw, raw],
    };
    assert_same(&holder);
    assert_same(raw);
}

/// Both writers fail on the value, and leave the same bytes behind.
fn assert_same_failure<T: Serialize + ?Sized>(value: &T) {
    for pretty in [false, true] {
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        let (a, b) = if pretty {
            (
                mandate::json::to_writer_pretty(&mut ours, value).map_err(|e| e.to_string()),
                serde_json::to_writer_pretty(&mut theirs, value).map_err(|e| e.to_string()),
            )
        } else {
            (
                mandate::json::to_writer(&mut ours, value).map_err(|e| e.to_string()),
                serde_json::to_writer(&mut theirs, value).map_err(|e| e.to_string()),
            )
        };
        assert!(a.is_err(), "ours wrote {}", String::from_utf8_lossy(&ours));
        assert!(b.is_err());
        assert_eq!(a, b);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }
}

#[test]
fn what_has_no_json_form_fails_as_in_serde_json_after_the_same_output() {
    assert_same_failure(&(1, Pairs(vec![((), 1)])));
    assert_same_failure(&(1, Pairs(vec![(None::<u8>, 1)])));
    assert_same_failure(&Pairs(vec![(vec![1], 1)]));
    assert_same_failure(&[Pairs(vec![(f64::NAN, 1)])]);
    assert_same_failure(&Pairs(vec![(1.0f64, 1), (f64::INFINITY, 2)]));
    assert_same_failure(&Pairs(vec![(Kind::Newtype("k".into()), 1)]));
    assert_same_failure(&(Pairs(vec![("fine", 1)]), Pairs(vec![(Bytes(vec![1]), 2)])));
}

/// A writer that takes at most `limit` bytes, then fails as a closed pipe.
struct ClosedAfter {
    limit: usize,
    written: usize,
    calls: Vec<usize>,
}

impl io::Write for ClosedAfter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.written >= self.limit {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        let n = bytes.len().min(self.limit - self.written);
        self.written += n;
        self.calls.push(n);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn long_value() -> Value {
    (0..20_000)
        .map(|i| serde_json::json!({"pattern": [format!("tool{i}"), "sub"], "decision": "allow"}))
        .collect()
}

#[test]
fn a_long_value_reaches_the_writer_in_large_blocks() {
    let value = long_value();
    let mut sink = ClosedAfter {
        limit: usize::MAX,
        written: 0,
        calls: Vec::new(),
    };
    mandate::json::to_writer_pretty(&mut sink, &value).unwrap();
    let expected = serde_json::to_vec_pretty(&value).unwrap();
    assert_eq!(sink.written, expected.len());
    let (last, blocks) = sink.calls.split_last().unwrap();
    assert!(!blocks.is_empty());
    assert!(
        blocks.iter().all(|n| *n >= mandate::json::BLOCK),
        "{:?}",
        sink.calls
    );
    assert!(*last > 0);
    assert_same(&value);
}

#[test]
fn a_closed_writer_is_an_io_error() {
    let value = long_value();
    let mut sink = ClosedAfter {
        limit: 1000,
        written: 0,
        calls: Vec::new(),
    };
    let error = mandate::json::to_writer_pretty(&mut sink, &value).unwrap_err();
    assert!(error.is_io(), "{error}");
    assert_eq!(sink.written, 1000);
    let error = mandate::json::to_vec(&Pairs(vec![((), 1)])).unwrap_err();
    assert!(!error.is_io(), "{error}");
}

/// `sha256:<hex>` of serde_json's compact form: how the digest was always
/// defined.
fn serde_json_digest(value: &Value) -> String {
    use sha2::Digest as _;
    let bytes = serde_json::to_vec(value).unwrap();
    format!(
        "sha256:{}",
        mandate::resolve::hex(&sha2::Sha256::digest(&bytes))
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_digest_of_any_value_is_over_serde_json_compact_bytes(v in value()) {
        // The engine's value of the same JSON: its tables are compact, its
        // bytes must be serde_json's.
        let ours = mandate::value::Value::from(v.clone());
        prop_assert_eq!(mandate::resolve::digest(&ours), serde_json_digest(&v));
        let mut text = String::new();
        mandate::resolve::canonical_json(&ours, &mut text);
        prop_assert_eq!(&text, &serde_json::to_string(&v).unwrap());
        prop_assert_eq!(&text, &serde_json::to_string(&ours).unwrap());
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        prop_assert_eq!(&mandate::json::to_vec_pretty(&ours).unwrap(), pretty.as_bytes());
        prop_assert_eq!(serde_json::from_str::<mandate::value::Value>(&pretty).unwrap(), ours);
    }
}

#[test]
fn the_effective_digest_is_over_serde_json_compact_bytes_of_the_settings() {
    use mandate::{Layer, Schema, SourceKind, resolve};
    // Long enough to be hashed in several blocks, with strings to escape.
    let mut rules = String::from("commands.rules = [\n");
    for i in 0..3000 {
        rules.push_str(&format!(
            "  {{ pattern = [\"tool{i}\", \"a \\\"quoted\\\" \\\\ tab\\t é\"], decision = \"allow\" }},\n"
        ));
    }
    rules.push_str("]\n[sandbox]\nmode = \"read-only\"\n");
    let schema = Schema::bundled();
    let user = Layer::parse_settings(
        schema,
        SourceKind::User,
        "/home/ana/.config/mandate/config.toml",
        &rules,
    )
    .unwrap();
    let effective = resolve(schema, vec![user]);
    let settings = effective.settings();
    assert!(serde_json::to_vec(&settings).unwrap().len() > 2 * mandate::json::BLOCK);
    assert_eq!(effective.digest, serde_json_digest(&Value::from(&settings)));
    // And the whole record prints as serde_json prints it.
    assert_same(&effective);
}
