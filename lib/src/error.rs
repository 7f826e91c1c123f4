//! Library errors. Each names what failed, where, and what to do.

use std::fmt;

use crate::source::Location;

/// One problem in a document, at a location.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Where: file, line and column (or plist key path).
    #[serde(flatten)]
    pub location: Location,
    /// The setting concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Every problem found in one document (at least one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentErrors(pub Vec<Problem>);

impl fmt::Display for DocumentErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DocumentErrors {}

/// The errors of the library's top-level operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A document is malformed or does not fit the schema.
    #[error("{0}")]
    Document(#[from] DocumentErrors),
    /// The schema itself is broken.
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    /// A file could not be read safely.
    #[error(transparent)]
    File(#[from] crate::fsafe::FileError),
    /// A command-line setting is malformed.
    #[error("-c {arg}: {message}")]
    Session {
        /// The argument as given.
        arg: String,
        /// What is wrong.
        message: String,
    },
}
