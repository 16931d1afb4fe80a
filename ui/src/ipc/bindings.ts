// Generated from src-tauri/src/ipc.rs by ts-rs; do not edit.
// Regenerate: MAILPROOF_UPDATE_BINDINGS=1 cargo test -p mailproof-app --features custom-protocol --test bindings

export type AppError = { kind: ErrorKind, 
/**
 * What happened, in plain words.
 */
message: string, 
/**
 * What to try next.
 */
hint: string, };

export type ErrorKind = "notAMailbox" | "io" | "diskFull" | "damaged" | "usage" | "connection" | "cancelled" | "busy";

export type Task = "receipt" | "export" | "check";

export type MailboxRef = { 
/**
 * A path, `kind:path`, or `imaps://user@host:port`.
 */
spec: string, password?: string, };

export type FoundMailbox = { 
/**
 * What the user sees, e.g. "Thunderbird: Local Folders (default-release)".
 */
label: string, 
/**
 * `thunderbird` or `apple-mail`.
 */
app: string, spec: string, };

export type FolderInfo = { 
/**
 * Display name: path segments joined by "/"; what the engine's folder filter takes.
 */
name: string, messages: number, bytes: number | null, };

export type FolderList = { 
/**
 * The kind of mailbox, e.g. `maildir`, `mbox-tree`, `archive`, `receipt`.
 */
kind: string, location: string, folders: Array<FolderInfo>, 
/**
 * A receipt lists what was there but holds no messages: nothing to read or export.
 */
isReceipt: boolean, notes: Array<string>, };

export type SaveTarget = { path: string, 
/**
 * Free space on the disk holding `path`, when the system tells.
 */
freeBytes: number | null, };

export type ConnectionReport = { folders: number, messages: number, };

export type Progress = { 
/**
 * What is being done, e.g. "Reading the new mailbox".
 */
phase: string, foldersTotal: number, 
/**
 * Folders finished so far.
 */
foldersDone: number, 
/**
 * The folder being read.
 */
folder: string | null, messagesDone: number, messagesTotal: number | null, bytesDone: number, bytesTotal: number | null, 
/**
 * Things worth knowing that did not stop the run, newest last.
 */
warnings: Array<string>, finished: boolean, };

export type FolderDone = { name: string, read: number, unreadable: number, excluded: number, bytes: number, 
/**
 * Why the folder could not be read to the end, if it could not.
 */
error: string | null, };

export type RunResult = { task: Task, output: string, 
/**
 * The read-aloud receipt code.
 */
code: string, 
/**
 * One plain sentence: what a person needs to know first.
 */
verdict: string, 
/**
 * Every message was read.
 */
complete: boolean, messages: number, bytes: number, folders: Array<FolderDone>, 
/**
 * Messages found but not readable: folder, where, why.
 */
unreadable: Array<MessageProblem>, notes: Array<string>, };

export type MessageProblem = { folder: string, sourceId: string, reason: string, };

export type CheckSide = { kind: string, location: string, 
/**
 * The receipt code; none when the receipt's seal is broken.
 */
code: string | null, 
/**
 * When the receipt was taken, RFC 3339 UTC.
 */
created: string, messages: number, folders: number, 
/**
 * Read just now (a live mailbox), not loaded from a receipt.
 */
readNow: boolean, };

export type CheckFolder = { before: string | null, after: string | null, beforeCount: number, afterCount: number, found: number, altered: number, moved: number, missing: number, new: number, };

export type CheckMessage = { 
/**
 * `2025-03-01 09:00 UTC`, or empty when the message has no date.
 */
date: string, from: string, subject: string, 
/**
 * The folder in the receipt.
 */
folder: string, 
/**
 * Where it is now, for moved and altered messages.
 */
nowIn: string | null, 
/**
 * The cause in plain words.
 */
reason: string, };

export type CheckResult = { verdict: string, 
/**
 * Nothing is missing.
 */
complete: boolean, before: CheckSide, after: CheckSide, folders: Array<CheckFolder>, missing: Array<CheckMessage>, altered: Array<CheckMessage>, moved: Array<CheckMessage>, 
/**
 * How many messages each list holds in the report; a list on screen is cut at
 * [`crate::commands::LIST_LIMIT`] and the saved reports have them all.
 */
missingTotal: number, alteredTotal: number, movedTotal: number, notes: Array<string>, };

export type RestoreResult = { 
/**
 * What happened, in one sentence: how many messages were put back, and where.
 */
said: string, appended: number, 
/**
 * Missing messages whose archive copy is damaged or absent: never appended.
 */
skipped: Array<CheckMessage>, 
/**
 * Stopped on request; running the restore again appends what is still missing.
 */
cancelled: boolean, 
/**
 * What the destination could not keep (e.g. flags), in its own words.
 */
notes: Array<string>, 
/**
 * The mailbox as it is now, checked against the archive's receipt.
 */
check: CheckResult, };

export type TicketSummary = { text: string, copied: boolean, };

export type ReportFormat = "html" | "json" | "csv";

export type Pick = "mailboxFolder" | "mailboxFile" | "receipt" | "archive" | "profile";
