//! The floor of reading policy files: parse each file given on the command
//! line with the TOML parser mandate reads documents with, and nothing
//! else. `lib/benches/whole_process.sh` runs it beside `mandate show` on the
//! same files, so the cost of merely parsing them is measured in the same
//! run as the whole job.
//!
//! ```sh
//! cargo build --release -p mandate --example parse_floor
//! target/release/examples/parse_floor FILE...            # toml::de::DeTable::parse
//! target/release/examples/parse_floor --events FILE...   # toml_parser's lexer and grammar only
//! target/release/examples/parse_floor --reader FILE...   # mandate's reader (TomlTree::parse)
//! ```
//!
//! `--events` runs only `toml_parser`'s lexer and grammar, with a receiver
//! that decodes every key and scalar and keeps nothing: the floor of any
//! reader built on that crate's events, without `toml`'s tables
//! (docs/benchmarks.md, "Why the remaining targets need a different
//! reader").
//!
//! `--reader` reads each file as mandate does, into its JSON tree and the
//! positions of its keys (`TomlTree::parse`: the fast reader, or `toml`
//! for a document that reader leaves to it).
//!
//! Each file is read, parsed and dropped before the next, as mandate does;
//! it exits 1 on the first file it cannot read or parse.

#![allow(clippy::print_stderr)]

use std::borrow::Cow;
use std::process::ExitCode;

use toml_parser::decoder::Encoding;
use toml_parser::parser::EventReceiver;
use toml_parser::{ErrorSink, Raw, Source, Span};

/// Decodes each key and scalar as a reader would, and keeps nothing.
struct Decode<'i> {
    text: &'i str,
}

impl<'i> Decode<'i> {
    /// The text of `span`, with the encoding the lexer found for it.
    fn raw(&self, span: Span, encoding: Option<Encoding>) -> Option<Raw<'i>> {
        self.text
            .get(span.start()..span.end())
            .map(|text| Raw::new_unchecked(text, encoding, span))
    }
}

impl EventReceiver for Decode<'_> {
    fn simple_key(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        if let Some(raw) = self.raw(span, encoding) {
            let mut decoded = Cow::Borrowed("");
            raw.decode_key(&mut decoded, error);
            std::hint::black_box(decoded);
        }
    }

    fn scalar(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        if let Some(raw) = self.raw(span, encoding) {
            let mut decoded = Cow::Borrowed("");
            std::hint::black_box(raw.decode_scalar(&mut decoded, error));
            std::hint::black_box(decoded);
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).peekable();
    let mode = args
        .next_if(|a| a == "--events" || a == "--reader")
        .map(|a| a.to_string_lossy().into_owned());
    for path in args {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{}: {e}", path.to_string_lossy());
                return ExitCode::FAILURE;
            }
        };
        let problem = if mode.as_deref() == Some("--reader") {
            let origin = path.to_string_lossy().into_owned();
            mandate::document::TomlTree::parse(origin, &text)
                .err()
                .map(|p| p.to_string())
        } else if mode.as_deref() == Some("--events") {
            let source = Source::new(&text);
            let tokens = source.lex().into_vec();
            let mut errors: Vec<toml_parser::ParseError> = Vec::new();
            toml_parser::parser::parse_document(&tokens, &mut Decode { text: &text }, &mut errors);
            errors.first().map(|e| format!("{e:?}"))
        } else {
            toml::de::DeTable::parse(&text).err().map(|e| e.to_string())
        };
        if let Some(problem) = problem {
            eprintln!("{}: {problem}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
