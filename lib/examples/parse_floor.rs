//! The floor of reading policy files: parse each file given on the command
//! line with the TOML parser mandate reads documents with, and nothing
//! else. `lib/benches/whole_process.sh` runs it beside `mandate show` on the
//! same files, so the cost of merely parsing them is measured in the same
//! run as the whole job.
//!
//! ```sh
//! cargo build --release -p mandate --example parse_floor
//! target/release/examples/parse_floor FILE...
//! ```
//!
//! Each file is read, parsed and dropped before the next, as mandate does;
//! it exits 1 on the first file it cannot read or parse.

#![allow(clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    for path in std::env::args_os().skip(1) {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{}: {e}", path.to_string_lossy());
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = toml::de::DeTable::parse(&text) {
            eprintln!("{}: {e}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
