//! One resolve of a `scale` benchmark case, for counting its instructions:
//! the growth of the work itself, which a noisy machine does not move.
//!
//! ```sh
//! cargo build --release -p mandate --example scale_count
//! for n in 1000 10000 100000; do
//!     valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!         target/release/examples/scale_count rules $n values
//! done
//! ```
//!
//! Arguments: the group (`files`, `rules`, `domains`, `globs`), the size,
//! and `full`, `values` (the whole job, as `resolve` and `resolve_values`
//! in `lib/benches/scale.rs`), `read` (every document through
//! `TomlTree::parse` only) or `floor` (every document through
//! `toml_edit::Document::parse`, the benchmark's `parse_only`). The documents are generated before anything
//! is measured; callgrind's count includes generating them, so run
//! `gen` (generation only) too and subtract.

#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use mandate::Schema;
use mandate::document::TomlTree;
use mandate::resolve::{Detail, Stack, resolve_stack};

#[path = "../tests/support/scale.rs"]
mod cases;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [group, n, what] = args.as_slice() else {
        eprintln!("usage: scale_count files|rules|domains|globs N full|values|read|floor|gen");
        return ExitCode::FAILURE;
    };
    let Ok(n) = n.parse::<usize>() else {
        eprintln!("not a size: {n}");
        return ExitCode::FAILURE;
    };
    let make = match group.as_str() {
        "files" => cases::files,
        "rules" => cases::rules,
        "domains" => cases::domains,
        "globs" => cases::globs,
        _ => {
            eprintln!("unknown group: {group}");
            return ExitCode::FAILURE;
        }
    };
    let docs = make(n);
    let schema = Schema::bundled();
    match what.as_str() {
        "gen" => {}
        "floor" => {
            for d in &docs {
                std::hint::black_box(toml_edit::Document::parse(d.text.as_str()).ok());
            }
        }
        "read" => {
            for d in &docs {
                std::hint::black_box(TomlTree::parse("count.toml", &d.text).ok());
            }
        }
        "full" | "values" => {
            let detail = if what == "full" {
                Detail::Full
            } else {
                Detail::Values
            };
            let stack = Stack {
                detail,
                ..cases::stack(cases::layers(schema, &docs))
            };
            let effective = resolve_stack(schema, stack);
            std::hint::black_box(&effective.digest);
            // Left to exit, as the command line does.
            std::mem::forget(effective);
        }
        _ => {
            eprintln!("unknown job: {what}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
