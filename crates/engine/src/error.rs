//! Errors that stop an operation. Problems with single messages are not errors: they are
//! recorded as data (unreadable, excluded) so that every message is accounted for.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

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
    /// A server answered but refused one thing (a folder, its list of messages), with its
    /// words; unlike a lost connection, the rest of the account can still be read.
    #[error("{0}")]
    Refused(String),
    /// The user asked to stop.
    #[error("cancelled")]
    Cancelled,
    /// The disk holding an output is full (or the file too large for its file system).
    #[error(
        "not enough space to write {}: {}. Free some space or choose another place, then run \
         the command again",
        path.display(),
        space(*needed, *available)
    )]
    NoSpace {
        path: PathBuf,
        /// About how much the whole output needs, when known.
        needed: Option<u64>,
        /// Free space on that disk, when the system says.
        available: Option<u64>,
    },
}

fn space(needed: Option<u64>, available: Option<u64>) -> String {
    use crate::units::size;
    match (needed, available) {
        (Some(n), Some(a)) => format!("it needs about {}, and {} are free", size(n), size(a)),
        (Some(n), None) => format!("it needs about {}", size(n)),
        (None, Some(a)) => format!("the disk is full ({} free)", size(a)),
        (None, None) => "the disk is full".into(),
    }
}

/// Free space for new files in the folder `path` would be written to, when the system says.
pub fn free_space(path: &Path) -> Option<u64> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs4::available_space(dir).ok()
}

impl Error {
    /// Wraps an `io::Error` with the path and the action that failed.
    /// A full disk becomes [`Error::NoSpace`], which says so and what to do.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        match source.kind() {
            ErrorKind::StorageFull | ErrorKind::FileTooLarge | ErrorKind::QuotaExceeded => {
                Error::NoSpace {
                    available: free_space(&path),
                    path,
                    needed: None,
                }
            }
            _ => Error::Io {
                action,
                path,
                source,
            },
        }
    }

    /// Adds how much the whole output needs to a [`Error::NoSpace`].
    pub fn needing(self, bytes: Option<u64>) -> Self {
        match self {
            Error::NoSpace {
                path, available, ..
            } => Error::NoSpace {
                path,
                needed: bytes,
                available,
            },
            other => other,
        }
    }
}
