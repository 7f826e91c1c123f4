//! Where output goes: data and results to stdout, diagnostics to stderr.

use std::io::Write;

/// Writes text to stdout exactly as given; a closed pipe is not an error
/// worth reporting.
pub fn out(text: &str) {
    raw(text);
}

/// Writes prose for people to stdout: its symbols (`✓`, `✗`, `→` …) in ASCII
/// when the locale is not UTF-8. Not for data a program may parse.
pub fn prose(text: &str) {
    raw(&crate::style::localise(text));
}

fn raw(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
}

/// Writes a line to stderr (an `error:`, `warning:` or `hint:` prefix in
/// colour on a terminal).
pub fn error(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "{}",
        crate::style::localise(&crate::style::diagnostic(line))
    );
}

/// Writes a value as pretty JSON to stdout, and a newline.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<(), crate::CliError> {
    // The writer gathers the text and hands it over in large blocks: a long
    // result is never one string in memory, and a token is not a call.
    let mut stdout = std::io::stdout().lock();
    match mandate::json::to_writer_pretty(&mut stdout, value) {
        Ok(()) => {
            let _ = stdout.write_all(b"\n");
            let _ = stdout.flush();
            Ok(())
        }
        // A closed pipe is not an error worth reporting (as in `out`).
        Err(e) if e.is_io() => Ok(()),
        Err(e) => Err(crate::CliError::usage(e.to_string())),
    }
}

/// Whether an output path means standard output (`-o -`).
pub fn is_stdout(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

/// What to do when the output file exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Replace it (atomically).
    Replace,
    /// Refuse: the command never overwrites.
    Refuse,
}

/// Writes `bytes` to `path` (atomically, mode 0644), or to standard output
/// when `path` is `-`. Returns how to name the destination in messages.
pub fn write_file(
    path: &std::path::Path,
    bytes: &[u8],
    existing: Existing,
) -> Result<String, crate::CliError> {
    if is_stdout(path) {
        let mut stdout = std::io::stdout().lock();
        match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
            // A reader that stopped early (`| head`) is not an error.
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(e) => return Err(crate::CliError::usage(format!("standard output: {e}"))),
        }
        return Ok("standard output".to_owned());
    }
    if existing == Existing::Refuse && std::fs::symlink_metadata(path).is_ok() {
        return Err(crate::CliError::usage(format!(
            "{} already exists; it is never overwritten",
            path.display()
        ))
        .hint("write to another file with -o, or move the existing one away first"));
    }
    mandate::atomic::write_atomic(path, bytes, 0o644)
        .map_err(|e| crate::CliError::usage(format!("{}: cannot write: {e}", path.display())))?;
    Ok(path.display().to_string())
}

/// Where messages about a file written to `path` go: stderr when the file
/// itself went to stdout, else stdout.
pub fn report(path: &std::path::Path, text: &str) {
    if is_stdout(path) {
        for line in text.lines() {
            error(line);
        }
    } else {
        prose(text);
    }
}

/// Asks a question on the terminal: `None` when standard input or standard
/// error is not a terminal (scripts get an error, never a hidden default).
pub fn ask(question: &str) -> Option<String> {
    use std::io::IsTerminal as _;
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return None;
    }
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "{question}");
    let _ = stderr.flush();
    drop(stderr);
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).ok()?;
    Some(line)
}
