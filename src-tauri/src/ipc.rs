//! The types that cross the IPC boundary, and only those: the front end sees these shapes, never
//! the engine's own types. TypeScript declarations are generated from them with ts-rs into
//! `ui/src/ipc/bindings.ts` ([`typescript`]); a test fails when the committed file drifts.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A failure shown on the screen where it happened: what went wrong and what to try next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppError {
    pub kind: ErrorKind,
    /// What happened, in plain words.
    pub message: String,
    /// What to try next.
    pub hint: String,
}

/// Lets the front end choose words and actions without matching message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// The path holds nothing Mailproof can read as mail.
    NotAMailbox,
    /// A file or folder could not be read or written.
    Io,
    /// No room left on the disk.
    DiskFull,
    /// A receipt or archive is damaged.
    Damaged,
    /// The output exists, or a spec or setting is wrong.
    Usage,
    /// The mail server could not be reached, refused the password, or its certificate.
    Connection,
    /// The user cancelled.
    Cancelled,
    /// Another long operation is still running.
    Busy,
}

/// Which operation a run performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Task {
    /// A receipt only: digests and headers, no message bodies.
    Receipt,
    /// An archive of every message, with its receipt inside.
    Export,
    /// Check a mailbox against a receipt or archive taken before.
    Check,
}

/// A mailbox to open: a spec as the CLI takes it, and the password for an account, which is
/// kept in memory for this call only and never written anywhere.
#[derive(Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MailboxRef {
    /// A path, `kind:path`, or `imaps://user@host:port`.
    pub spec: String,
    #[ts(optional)]
    pub password: Option<String>,
}

impl std::fmt::Debug for MailboxRef {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxRef")
            .field("spec", &self.spec)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// A mailbox found on this computer without asking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FoundMailbox {
    /// What the user sees, e.g. "Thunderbird: Local Folders (default-release)".
    pub label: String,
    /// `thunderbird` or `apple-mail`.
    pub app: String,
    pub spec: String,
}

/// A folder of a mailbox, with what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FolderInfo {
    /// Display name: path segments joined by "/"; what the engine's folder filter takes.
    pub name: String,
    pub messages: u64,
    #[ts(type = "number | null")]
    pub bytes: Option<u64>,
}

/// The folders of a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FolderList {
    /// The kind of mailbox, e.g. `maildir`, `mbox-tree`, `archive`, `receipt`.
    pub kind: String,
    pub location: String,
    pub folders: Vec<FolderInfo>,
    /// A receipt lists what was there but holds no messages: nothing to read or export.
    pub is_receipt: bool,
    pub notes: Vec<String>,
}

/// Where an output will go and whether it fits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SaveTarget {
    pub path: String,
    /// Free space on the disk holding `path`, when the system tells.
    #[ts(type = "number | null")]
    pub free_bytes: Option<u64>,
}

/// What the result of a connection test says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionReport {
    pub folders: u64,
    pub messages: u64,
}

/// The state of a long operation, sent over its channel at most about ten times a second;
/// the last one (`finished` set) is always delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// What is being done, e.g. "Reading the new mailbox".
    pub phase: String,
    pub folders_total: u64,
    /// Folders finished so far.
    pub folders_done: u64,
    /// The folder being read.
    pub folder: Option<String>,
    pub messages_done: u64,
    #[ts(type = "number | null")]
    pub messages_total: Option<u64>,
    pub bytes_done: u64,
    #[ts(type = "number | null")]
    pub bytes_total: Option<u64>,
    /// Things worth knowing that did not stop the run, newest last.
    pub warnings: Vec<String>,
    pub finished: bool,
}

/// One folder of a finished receipt or export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FolderDone {
    pub name: String,
    pub read: u64,
    pub unreadable: u64,
    pub excluded: u64,
    pub bytes: u64,
    /// Why the folder could not be read to the end, if it could not.
    pub error: Option<String>,
}

/// A finished receipt or export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    pub task: Task,
    pub output: String,
    /// The read-aloud receipt code.
    pub code: String,
    /// One plain sentence: what a person needs to know first.
    pub verdict: String,
    /// Every message was read.
    pub complete: bool,
    pub messages: u64,
    pub bytes: u64,
    pub folders: Vec<FolderDone>,
    /// Messages found but not readable: folder, where, why.
    pub unreadable: Vec<MessageProblem>,
    pub notes: Vec<String>,
}

/// A message that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MessageProblem {
    pub folder: String,
    pub source_id: String,
    pub reason: String,
}

/// One side of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CheckSide {
    pub kind: String,
    pub location: String,
    /// The receipt code; none when the receipt's seal is broken.
    pub code: Option<String>,
    /// When the receipt was taken, RFC 3339 UTC.
    pub created: String,
    pub messages: u64,
    pub folders: u64,
    /// Read just now (a live mailbox), not loaded from a receipt.
    pub read_now: bool,
}

/// One folder pair of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CheckFolder {
    pub before: Option<String>,
    pub after: Option<String>,
    pub before_count: u64,
    pub after_count: u64,
    pub found: u64,
    pub altered: u64,
    pub moved: u64,
    pub missing: u64,
    pub new: u64,
}

/// One message of the missing, altered or moved lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CheckMessage {
    /// `2025-03-01 09:00 UTC`, or empty when the message has no date.
    pub date: String,
    pub from: String,
    pub subject: String,
    /// The folder in the receipt.
    pub folder: String,
    /// Where it is now, for moved and altered messages.
    pub now_in: Option<String>,
    /// The cause in plain words.
    pub reason: String,
}

/// A finished check, as the result screen shows it. The full report stays in the app, for the
/// report files and the ticket summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub verdict: String,
    /// Nothing is missing.
    pub complete: bool,
    pub before: CheckSide,
    pub after: CheckSide,
    pub folders: Vec<CheckFolder>,
    pub missing: Vec<CheckMessage>,
    pub altered: Vec<CheckMessage>,
    pub moved: Vec<CheckMessage>,
    /// How many messages each list holds in the report; a list on screen is cut at
    /// [`crate::commands::LIST_LIMIT`] and the saved reports have them all.
    pub missing_total: u64,
    pub altered_total: u64,
    pub moved_total: u64,
    pub notes: Vec<String>,
}

/// What a restore did, and the check of the mailbox afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RestoreResult {
    /// What happened, in one sentence: how many messages were put back, and where.
    pub said: String,
    pub appended: u64,
    /// Missing messages whose archive copy is damaged or absent: never appended.
    pub skipped: Vec<CheckMessage>,
    /// Stopped on request; running the restore again appends what is still missing.
    pub cancelled: bool,
    /// What the destination could not keep (e.g. flags), in its own words.
    pub notes: Vec<String>,
    /// The mailbox as it is now, checked against the archive's receipt.
    pub check: CheckResult,
}

/// The engine's summary of a check for a helpdesk ticket, and whether it is on the clipboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TicketSummary {
    pub text: String,
    pub copied: bool,
}

/// The report file formats the engine writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ReportFormat {
    Html,
    Json,
    Csv,
}

/// What a file dialog is for: it picks the title, filters and the suggested name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Pick {
    /// A mailbox folder (Maildir, EML folder, Thunderbird profile, Apple Mail).
    MailboxFolder,
    /// A mailbox file (mbox, .eml).
    MailboxFile,
    /// A receipt or archive taken before.
    Receipt,
    /// An archive exported before, to restore from.
    Archive,
    /// A connection profile from a helpdesk.
    Profile,
}

/// Every IPC type's TypeScript declaration, in one file.
pub fn typescript() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let decls = [
        AppError::decl(&cfg),
        ErrorKind::decl(&cfg),
        Task::decl(&cfg),
        MailboxRef::decl(&cfg),
        FoundMailbox::decl(&cfg),
        FolderInfo::decl(&cfg),
        FolderList::decl(&cfg),
        SaveTarget::decl(&cfg),
        ConnectionReport::decl(&cfg),
        Progress::decl(&cfg),
        FolderDone::decl(&cfg),
        RunResult::decl(&cfg),
        MessageProblem::decl(&cfg),
        CheckSide::decl(&cfg),
        CheckFolder::decl(&cfg),
        CheckMessage::decl(&cfg),
        CheckResult::decl(&cfg),
        RestoreResult::decl(&cfg),
        TicketSummary::decl(&cfg),
        ReportFormat::decl(&cfg),
        Pick::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from src-tauri/src/ipc.rs by ts-rs; do not edit.\n\
         // Regenerate: MAILPROOF_UPDATE_BINDINGS=1 cargo test -p mailproof-app --features custom-protocol --test bindings\n",
    );
    for decl in decls {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}
