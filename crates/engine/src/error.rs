//! Errors that stop an operation. Problems with single messages are not errors: they are
//! recorded as data (unreadable, excluded) so that every message is accounted for.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O failure on a named file, with what we were doing.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The path exists but is not something Mailproof can read.
    #[error("{path}: {what}")]
    NotAMailbox { path: PathBuf, what: String },
    /// A receipt or archive that is damaged or not ours, with the position of the problem.
    #[error("{path}: {position}: {what}")]
    Format {
        path: PathBuf,
        position: String,
        what: String,
    },
    /// A usage problem: a bad spec, an unknown kind prefix, an output that already exists.
    #[error("{0}")]
    Usage(String),
    /// A server could not be reached, refused the connection or the log-in, or dropped it:
    /// what failed and what to try.
    #[error("{0}")]
    Connection(String),
    /// The user asked to stop.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// Wraps an `io::Error` with the path and the action that failed.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
