//! Colour for people at a terminal: status words, refusals, `error:`,
//! `warning:` and `hint:`.
//!
//! `--color auto` (the default) colours a stream only when it is a terminal
//! and `NO_COLOR` is not set (<https://no-color.org>); `--color always` and
//! `--color never` decide for both streams. Pipes and files get plain text.

use std::io::IsTerminal as _;
use std::sync::OnceLock;

/// When to colour output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always, even into a pipe.
    Always,
    /// Never.
    Never,
}

/// Which stream a text is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
}

/// What a word means to the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// All is well.
    Good,
    /// Works, but look at it.
    Warn,
    /// Refused, failed.
    Bad,
    /// Advice.
    Hint,
}

static ENABLED: OnceLock<(bool, bool)> = OnceLock::new();
static ASCII: OnceLock<bool> = OnceLock::new();

/// The plain ASCII stand-ins for the symbols people see, used when the
/// locale is not UTF-8.
const ASCII_GLYPHS: [(char, &str); 7] = [
    ('✓', "+"),
    ('✗', "x"),
    ('·', "-"),
    ('→', "->"),
    ('—', "-"),
    ('…', "..."),
    ('≤', "<="),
];

/// `text` with symbols replaced by ASCII when the locale is not UTF-8.
pub fn localise(text: &str) -> std::borrow::Cow<'_, str> {
    let ascii = *ASCII.get_or_init(|| !mandate::env::locale_is_utf8());
    if !ascii || text.is_ascii() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match ASCII_GLYPHS.iter().find(|(g, _)| *g == c) {
            Some((_, plain)) => out.push_str(plain),
            None => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Decides, once, whether each stream gets colour.
pub fn init(choice: ColorChoice) {
    let decide = |tty: bool| match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && !mandate::env::no_color(),
    };
    let _ = ENABLED.set((
        decide(std::io::stdout().is_terminal()),
        decide(std::io::stderr().is_terminal()),
    ));
}

fn enabled(stream: Stream) -> bool {
    let (out, err) = ENABLED.get().copied().unwrap_or((false, false));
    match stream {
        Stream::Out => out,
        Stream::Err => err,
    }
}

/// `text` in the colour of `tone`, when `stream` gets colour.
pub fn paint(stream: Stream, tone: Tone, text: &str) -> String {
    if !enabled(stream) {
        return text.to_owned();
    }
    let code = match tone {
        Tone::Good => "32",
        Tone::Warn => "33",
        Tone::Bad => "1;31",
        Tone::Hint => "36",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// The tone of a status word (`verified`, `rejected`, `degraded`, …).
pub fn tone_of(word: &str) -> Option<Tone> {
    match word.trim() {
        "ok" | "verified" | "loaded" | "accepted" | "met" | "✓" => Some(Tone::Good),
        "unsigned" | "expired" | "ignored" | "degraded" | "warning" | "!" | "NOT met" => {
            Some(Tone::Warn)
        }
        "rejected" | "refused" | "error" | "✗" => Some(Tone::Bad),
        _ => None,
    }
}

/// A (possibly padded) status word, coloured by its meaning.
pub fn status(stream: Stream, word: &str) -> String {
    match tone_of(word) {
        Some(tone) => paint(stream, tone, word),
        None => word.to_owned(),
    }
}

/// A diagnostic line with its `error:`, `warning:` or `hint:` prefix coloured.
pub fn diagnostic(line: &str) -> String {
    for (prefix, tone) in [
        ("error:", Tone::Bad),
        ("warning:", Tone::Warn),
        ("hint:", Tone::Hint),
    ] {
        if let Some(rest) = line.strip_prefix(prefix) {
            return format!("{}{rest}", paint(Stream::Err, tone, prefix));
        }
    }
    line.to_owned()
}
