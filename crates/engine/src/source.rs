//! The one trait every mailbox source implements, and the types it yields.
//!
//! A source lists its folders, then streams each folder's messages to a sink. Reading never
//! changes the source. Problems with single messages are yielded as [`Entry::Unreadable`] so
//! the pipeline can account for every message; only a folder that cannot be read at all is an
//! `Err`.

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use crate::Result;

/// The largest message any reader holds in memory. Anything bigger is almost surely damage (no
/// mail server accepts such mail), and holding it would exhaust memory.
pub const MAX_MESSAGE: usize = 1 << 30;

/// What kind of mailbox this is and where it lives. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceDescription {
    /// Short kind name: `mbox`, `mbox-tree`, `maildir`, `eml`, `emlx`, `archive`, `receipt`, `imap`.
    pub kind: String,
    /// Where: an absolute path, or `user@host:port` for a server.
    pub location: String,
}

/// The special use of a folder (RFC 6154), when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Inbox,
    Sent,
    Drafts,
    Trash,
    Junk,
    Archive,
    All,
    Flagged,
}

impl Role {
    /// Guesses a role from a folder's own name, for sources that have no SPECIAL-USE flags
    /// (mbox files, Maildir folders). Only unambiguous English names; the check's folder
    /// mapping knows many more.
    pub fn from_name(name: &str) -> Option<Role> {
        let lower = name.trim().to_lowercase();
        Some(match lower.as_str() {
            "inbox" => Role::Inbox,
            "sent" | "sent items" | "sent messages" | "sent mail" => Role::Sent,
            "drafts" | "draft" => Role::Drafts,
            "trash" | "deleted items" | "deleted messages" | "bin" => Role::Trash,
            "junk" | "spam" | "junk e-mail" | "junk email" => Role::Junk,
            "archive" | "archives" => Role::Archive,
            "all mail" => Role::All,
            _ => return None,
        })
    }
}

/// A folder as listed by its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Path segments, outermost first; shown joined by "/".
    pub path: Vec<String>,
    pub role: Option<Role>,
    /// How many messages the source says the folder holds before reading it, when it says.
    pub claimed: Option<u64>,
    /// Total bytes the source says the folder holds, when known cheaply (for progress only).
    pub bytes_hint: Option<u64>,
    /// Source-private locator (a file or directory path, a server-side name).
    pub locator: String,
}

impl Folder {
    /// The display name: segments joined by "/".
    pub fn name(&self) -> String {
        self.path.join("/")
    }
}

/// One message exactly as the source gave it, plus what the source knows about it.
#[derive(Debug, Clone, Default)]
pub struct RawMessage {
    /// Where the message sits in the source: `offset 1234`, a file name, `UIDVALIDITY:UID`.
    pub source_id: String,
    /// The RFC 5322 bytes (mbox: after un-quoting; emlx: without the length line and plist).
    pub bytes: Vec<u8>,
    /// IMAP-style flags: `\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`, and keywords.
    pub flags: Vec<String>,
    /// The store's arrival time (IMAP INTERNALDATE, file mtime is *not* used), Unix seconds.
    pub internal_date: Option<i64>,
    /// Set when the source holds this message but it is not mail to count, with the reason
    /// (e.g. deleted but not yet compacted).
    pub excluded: Option<String>,
    /// Set when the source marks the message as trashed but still holds it (Maildir `T`): it is
    /// counted as mail, and the folder reports how many are trashed.
    pub trashed: bool,
    /// Free-form notes about how the bytes were obtained (e.g. attachments reassembled).
    pub notes: Vec<String>,
    /// Gmail's message id and labels, from a Gmail server (X-GM-EXT-1).
    pub gmail: Option<Gmail>,
}

/// What Gmail says of a message: its id, the same in every folder (label) the message shows
/// in, and its labels (system labels start with a backslash: `\\Inbox`, `\\Important`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gmail {
    /// X-GM-MSGID, a 64-bit number kept as decimal text so JSON readers lose no digit.
    pub msgid: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// What a source yields for each message it finds.
#[derive(Debug)]
pub enum Entry {
    Message(RawMessage),
    /// Found but could not be read; counted, never dropped.
    Unreadable {
        source_id: String,
        reason: String,
    },
}

/// What the source learnt about a folder while reading it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolderNotes {
    /// Human-readable facts, e.g. "mbox variant: mboxrd (>From lines un-quoted)".
    pub notes: Vec<String>,
}

/// Receives entries; returning `ControlFlow::Break` asks the source to stop early.
pub type Sink<'a> = &'a mut dyn FnMut(Entry) -> ControlFlow<()>;

/// A readable mailbox.
pub trait Source: Send {
    fn describe(&self) -> SourceDescription;
    /// Lists every folder, in a stable order (parents before children).
    fn folders(&mut self) -> Result<Vec<Folder>>;
    /// Streams the folder's messages to `sink`, in source order.
    fn read_folder(&mut self, folder: &Folder, sink: Sink<'_>) -> Result<FolderNotes>;
    /// Facts about the source as a whole, such as files that were looked at and are not mail
    /// (e.g. "ignored Inbox.msf: Thunderbird index"). Valid after [`Source::folders`].
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// How many messages a folder holds, and their size when known: what the source claims, or
/// counted by reading the folder (no hashing) when it cannot tell up front (mbox).
pub fn count(source: &mut dyn Source, folder: &Folder) -> Result<(u64, Option<u64>)> {
    if let Some(n) = folder.claimed {
        return Ok((n, folder.bytes_hint));
    }
    let (mut n, mut bytes) = (0u64, 0u64);
    source.read_folder(folder, &mut |entry| {
        n += 1;
        if let Entry::Message(m) = entry {
            bytes += m.bytes.len() as u64;
        }
        ControlFlow::Continue(())
    })?;
    Ok((n, Some(bytes)))
}
