//! Where output goes: data and results to stdout, diagnostics to stderr.

use std::io::Write;

/// Writes text to stdout; a closed pipe is not an error worth reporting.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
}

/// Writes a line to stderr.
pub fn error(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// Writes a value as pretty JSON to stdout.
pub fn json<T: serde::Serialize>(value: &T) -> Result<(), crate::CliError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| crate::CliError::usage(e.to_string()))?;
    out(&text);
    Ok(())
}
