//! Where restored messages go: the one trait a restore target implements.
//!
//! A destination only ever adds. It creates folders that are missing and appends messages;
//! nothing here can delete or change what the destination already holds (design §7), which is
//! what makes a restore safe to run twice or after an interruption.

use crate::Result;
use crate::source::{Folder, SourceDescription};

/// One message to add, with what the archive's receipt recorded about it.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    /// The RFC 5322 bytes exactly as archived.
    pub bytes: &'a [u8],
    /// IMAP-style flags (`\Seen`, `\Flagged`, keywords) to set on the copy.
    pub flags: &'a [String],
    /// The original arrival time, Unix seconds, when the receipt knows it.
    pub internal_date: Option<i64>,
}

/// A mailbox that messages can be added to.
pub trait Destination: Send {
    fn describe(&self) -> SourceDescription;
    /// Returns the folder at `path`, creating it (and any missing parents) first if it does not
    /// exist. Asking for a folder that exists is not an error.
    fn ensure_folder(&mut self, path: &[String]) -> Result<Folder>;
    /// Adds one message to `folder` as a single step: after an interruption the message is
    /// either wholly there or not there at all, so a re-run never appends it twice.
    fn append(&mut self, folder: &Folder, message: NewMessage<'_>) -> Result<()>;
}
