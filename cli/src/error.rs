//! Errors as people see them: a message, hints, and an exit code.

use std::process::ExitCode;

use mandate::error::Problem;
use serde::Serialize;

use crate::output;

/// Exit code: a check or validation said no.
pub const EXIT_NO: u8 = 1;
/// Exit code: the command line is wrong.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: managed policy could not be applied.
pub const EXIT_DEGRADED: u8 = 3;

/// A failed command.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// What happened.
    pub message: String,
    /// What to do about it.
    pub hints: Vec<String>,
    /// The exit code.
    pub code: u8,
    /// The command already printed this error as JSON (under `--json`).
    pub json_done: bool,
    /// Each problem in a document, at its location (under `--json`, as
    /// `problems` beside the message, which already names them).
    pub problems: Vec<Problem>,
}

/// An error as JSON: `{"error": {…}}`.
#[derive(Serialize)]
struct ErrorJson<'e> {
    error: ErrorBody<'e>,
}

/// The body of an error as JSON.
#[derive(Serialize)]
struct ErrorBody<'e> {
    exit: u8,
    kind: &'e str,
    message: &'e str,
    hints: &'e [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    problems: &'e [Problem],
}

impl CliError {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            hints: Vec::new(),
            code: EXIT_USAGE,
            json_done: false,
            problems: Vec::new(),
        }
    }

    /// A failure to apply managed policy (exit 3).
    pub fn degraded(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            hints: Vec::new(),
            code: EXIT_DEGRADED,
            json_done: false,
            problems: Vec::new(),
        }
    }

    /// A "no" from a check or validation (exit 1).
    pub fn no(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            hints: Vec::new(),
            code: EXIT_NO,
            json_done: false,
            problems: Vec::new(),
        }
    }

    /// A document that does not fit (exit 1): every problem in the
    /// message, and located under `--json` (`problems`).
    pub fn invalid(errors: mandate::error::DocumentErrors) -> CliError {
        CliError {
            problems: errors.0.clone(),
            ..CliError::no(errors.to_string())
        }
    }

    /// The same error, marked as already printed as JSON by the command.
    pub fn json_printed(mut self) -> CliError {
        self.json_done = true;
        self
    }

    /// The same error with a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hints.push(hint.into());
        self
    }

    /// Under `--json`: the error as JSON on stdout (`{"error": {"exit",
    /// "kind", "message", "hints"}}`), as well as for people on stderr.
    pub fn report_json(&self) -> ExitCode {
        if self.json_done {
            return self.report();
        }
        let kind = match self.code {
            EXIT_NO => "no",
            EXIT_DEGRADED => "degraded",
            _ => "usage",
        };
        let _ = output::json(&self.as_json(kind));
        self.report()
    }

    /// The JSON half of [`CliError::report_json`] only (clap has already
    /// told people what is wrong).
    pub fn report_json_only(&self) -> ExitCode {
        let _ = output::json(&self.as_json("usage"));
        ExitCode::from(self.code)
    }

    fn as_json<'e>(&'e self, kind: &'e str) -> ErrorJson<'e> {
        ErrorJson {
            error: ErrorBody {
                exit: self.code,
                kind,
                message: &self.message,
                hints: &self.hints,
                problems: &self.problems,
            },
        }
    }

    /// Prints the error to stderr and returns its exit code.
    pub fn report(&self) -> ExitCode {
        output::error(&format!("error: {}", self.message));
        for hint in &self.hints {
            output::error(&format!("hint: {hint}"));
        }
        ExitCode::from(self.code)
    }
}

impl From<mandate::Error> for CliError {
    fn from(e: mandate::Error) -> CliError {
        match e {
            mandate::Error::Document(errors) => CliError {
                problems: errors.0.clone(),
                ..CliError::usage(errors.to_string())
            },
            mandate::Error::Session { .. } => CliError::usage(e.to_string()),
            mandate::Error::Schema(e) => CliError::usage(e.to_string())
                .hint("check the --schema file: every setting needs x-mandate-lockdown"),
            mandate::Error::File(e) => CliError::degraded(e.to_string()),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::usage(e.to_string())
    }
}
