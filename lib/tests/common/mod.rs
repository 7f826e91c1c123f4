//! What every library test crate may share.

/// Says loudly that a test could not run, and why: on stderr, and as a line
/// in the file `MANDATE_SKIP_LOG` names (`.ci/run` prints the count).
#[allow(clippy::disallowed_methods, clippy::print_stderr, dead_code)]
pub fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
    if let Some(log) = std::env::var_os("MANDATE_SKIP_LOG") {
        use std::io::Write as _;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(
                f,
                "{}: {reason}",
                std::thread::current().name().unwrap_or("?")
            );
        }
    }
}
