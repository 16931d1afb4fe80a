//! Where restored messages go: the one trait a restore target implements.
//!
//! A destination only ever adds. It creates folders that are missing and appends messages;
//! nothing here can delete or change what the destination already holds (design §7), which is
//! what makes a restore safe to run twice or after an interruption.

use std::path::PathBuf;

use crate::source::{Folder, SourceDescription};
use crate::sources::{self, Kind};
use crate::{Error, Result};

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
    /// Facts about what was added that the user should know, such as flags this kind of
    /// mailbox cannot store. Valid after appending.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What a destination spec names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationSpec {
    /// A local Maildir (Maildir++). `new` when the path does not exist yet or is an empty
    /// directory: an empty mailbox, made a Maildir when it is first opened for appending.
    Maildir { path: PathBuf, new: bool },
    /// An IMAP account: `imaps://user@host[:port]` or `imap://…`.
    Imap(String),
}

impl DestinationSpec {
    /// Reads a spec: `imap://`/`imaps://` an account, anything else a local path (optionally
    /// `maildir:`). A path must be a Maildir, an empty directory, or not exist yet (its parent
    /// must); other mailboxes cannot be appended to.
    pub fn parse(spec: &str) -> Result<DestinationSpec> {
        if crate::imap::is_imap_spec(spec) {
            return Ok(DestinationSpec::Imap(spec.to_string()));
        }
        let (forced, path) = sources::parse_spec(spec)?;
        let cannot = |what: &str| {
            Err(Error::Usage(format!(
                "{}: {what}; restore appends to a Maildir (a new one is created if the path does not exist yet) or an IMAP account",
                path.display()
            )))
        };
        if let Some(kind) = forced.filter(|&k| k != Kind::Maildir) {
            return cannot(&format!("a `{}:` mailbox", kind.prefix()));
        }
        if !path.exists() {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            if parent.is_some_and(|p| !p.is_dir()) {
                return cannot(
                    "does not exist, and neither does the folder it would be created in",
                );
            }
            return Ok(DestinationSpec::Maildir { path, new: true });
        }
        if !path.is_dir() {
            return cannot("a file, not a Maildir");
        }
        let empty = std::fs::read_dir(&path)
            .map_err(|e| Error::io("cannot list", &path, e))?
            .next()
            .is_none();
        if !empty && !sources::maildir::is_maildir(&path) {
            return match sources::detect(&path) {
                Ok(kind) => cannot(&format!("a `{}:` mailbox, not a Maildir", kind.prefix())),
                Err(_) => cannot("a folder that is neither empty nor a Maildir"),
            };
        }
        Ok(DestinationSpec::Maildir { path, new: empty })
    }
}

/// Opens the mailbox `spec` names for appending ([`DestinationSpec::parse`]); `access`
/// answers for an IMAP account's secrets. A Maildir path that does not exist yet, or an empty
/// directory, becomes a new empty Maildir, so an archive can be restored into a fresh mailbox.
pub fn open_destination(spec: &str, access: &crate::imap::Access) -> Result<Box<dyn Destination>> {
    match DestinationSpec::parse(spec)? {
        DestinationSpec::Maildir { path, .. } => Ok(Box::new(
            crate::sources::maildir::MaildirDestination::open(&path)?,
        )),
        DestinationSpec::Imap(account) => crate::imap::open_destination(&account, access),
    }
}
