//! The crate's one error type. Messages follow `file:line:column: problem (fix)` so an editor
//! can jump to the place and the user knows what to write instead.

use berth_types::ErrorKind;

/// Everything parsing or expanding a Dockerfile can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The Dockerfile is malformed at a place.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// The file name given to the parser (`Dockerfile` by default).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Variable substitution failed (`${a:?msg}`, a missing `}`, a bad modifier).
    #[error("{0}")]
    Expand(String),
}

impl BuildError {
    /// How the API should classify this error: always the caller's input.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }

    /// The 1-based (line, column) of a syntax error.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            BuildError::Syntax { line, column, .. } => Some((*line, *column)),
            BuildError::Expand(_) => None,
        }
    }

    /// The message without the position prefix.
    pub fn message(&self) -> &str {
        match self {
            BuildError::Syntax { message, .. } | BuildError::Expand(message) => message,
        }
    }
}
