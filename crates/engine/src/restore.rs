//! Restore: append to a mailbox what it is missing, from an archive, then check again
//! (design §4: the reconciliation's missing messages + the archive → restore → check again).
//!
//! Three steps, each usable on its own:
//! - the check of the destination against the archive's receipt
//!   ([`check::check_reconciliation`]) says which copies are missing, and which folder of the
//!   destination each folder of the receipt is now;
//! - [`plan`] (pure) turns that into the messages to append, each with its folder: the one the
//!   check mapped its folder to or, for a folder with no counterpart, its own path (created);
//! - [`apply`] reads each message from the archive, checks its bytes against the receipt's
//!   digest (nothing else is ever appended), and appends it with its flags and internal date
//!   through a [`Destination`], which can only add.
//!
//! [`restore`] runs them in order and checks again; [`text`] says what happened for people. Nothing in the destination is deleted or
//! changed. Only missing copies are appended (re-encoded, altered and moved messages are
//! there), exactly as many as are missing, so a second run appends nothing, and a run after an
//! interruption appends what is still missing, each message once.

pub mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::archive::ArchiveSource;
use crate::check::{
    self, Catalog, CheckReport, FolderOverride, Reconciliation, Snapshot, counts_as_mail,
    folders::display_name,
};
use crate::destination::{Destination, DestinationSpec, NewMessage, open_destination};
use crate::pipeline;
use crate::progress::{CancelToken, Event, Observer};
use crate::receipt::{MessageRecord, Receipt};
use crate::source::{Folder, FolderNotes, Sink, Source, SourceDescription};
use crate::{Error, Result};

/// What to append, folder by folder.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub folders: Vec<PlannedFolder>,
    /// Grouped by folder (in the order of [`Plan::folders`]), receipt order within a folder.
    pub messages: Vec<PlannedMessage>,
}

/// A folder of the destination that messages go to.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedFolder {
    /// Its path in the destination, as segments (the real names, as receipts hold them).
    pub path: Vec<String>,
    /// Its name for people.
    pub name: String,
    /// No folder of the destination corresponds to the receipt's folder, so it is created
    /// under the receipt's path.
    pub create: bool,
    /// How many messages go there.
    pub messages: u64,
}

/// One missing copy to append.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedMessage {
    /// Index into [`Plan::folders`].
    pub folder: usize,
    /// The name of the folder it was in, in the receipt.
    pub receipt_folder: String,
    /// What the receipt recorded: archive entry, digest, flags, internal date, headers.
    pub record: MessageRecord,
}

/// The messages a check found missing, and where each goes: the folder the check mapped its
/// folder to, or its own folder's path when that has no counterpart. Pure: no I/O. Fails when
/// the check was made with another receipt.
pub fn plan(receipt: &Receipt, found: &Reconciliation) -> Result<Plan> {
    let mapped: HashMap<&[String], (&[String], &str)> = found
        .report
        .mapping
        .iter()
        .filter_map(|m| {
            Some((
                m.before_path.as_deref()?,
                (m.after_path.as_deref()?, m.after.as_deref()?),
            ))
        })
        .collect();
    let mail: Vec<&MessageRecord> = receipt
        .messages
        .iter()
        .filter(|m| counts_as_mail(m))
        .collect();
    let mut plan = Plan::default();
    let mut by_path: HashMap<Vec<String>, usize> = HashMap::new();
    for &i in &found.missing {
        let (record, origin) = mail
            .get(i)
            .and_then(|r| Some((*r, receipt.folders.get(r.folder)?)))
            .ok_or_else(|| {
                Error::Usage(
                    "the check being restored from was made with another receipt than the archive's"
                        .into(),
                )
            })?;
        let (path, name, create) = match mapped.get(origin.path.as_slice()) {
            Some((path, name)) => (path.to_vec(), name.to_string(), false),
            None => (origin.path.clone(), display_name(origin), true),
        };
        let folder = *by_path.entry(path.clone()).or_insert_with(|| {
            plan.folders.push(PlannedFolder {
                path,
                name,
                create,
                messages: 0,
            });
            plan.folders.len() - 1
        });
        plan.folders[folder].messages += 1;
        plan.messages.push(PlannedMessage {
            folder,
            receipt_folder: display_name(origin),
            record: record.clone(),
        });
    }
    // A stable sort keeps receipt order within each folder.
    plan.messages.sort_by_key(|m| m.folder);
    Ok(plan)
}

/// What [`apply`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Nothing was appended: the counts say what would have been.
    pub dry_run: bool,
    /// One per planned folder, in plan order.
    pub folders: Vec<FolderResult>,
    /// Messages appended (in a dry run: that would be, their archive copies intact).
    pub appended: u64,
    /// Messages not appended, with the reason (a corrupt or absent archive copy).
    pub skipped: Vec<Skipped>,
    /// What the destination says about what it stored (e.g. flags it cannot keep).
    pub notes: Vec<String>,
    /// Stopped on request before the end; a new run appends what is still missing.
    pub cancelled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FolderResult {
    pub name: String,
    pub path: Vec<String>,
    /// Created for this restore (its folder had no counterpart).
    pub create: bool,
    pub planned: u64,
    pub appended: u64,
    /// Not appended: see [`Summary::skipped`].
    pub skipped: u64,
}

/// A missing message that was not appended.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Its folder in the receipt.
    pub folder: String,
    pub entry: Option<String>,
    pub date: Option<i64>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub reason: String,
}

/// Appends the planned messages to `dest` (`None`: a dry run, which reads and checks every
/// archive copy and appends nothing). Each copy is read from the archive and its bytes checked
/// against the receipt's digest first; one that does not match is skipped with the reason,
/// never appended. Progress goes to `observe`; `cancel` stops at the next message, with what
/// was done in the summary. An error of the destination stops the run: what was appended
/// stays, and a new run appends the rest.
pub fn apply(
    plan: &Plan,
    archive: &mut ArchiveSource,
    mut dest: Option<&mut dyn Destination>,
    cancel: &CancelToken,
    observe: Observer<'_>,
) -> Result<Summary> {
    let mut summary = Summary {
        dry_run: dest.is_none(),
        folders: plan
            .folders
            .iter()
            .map(|f| FolderResult {
                name: f.name.clone(),
                path: f.path.clone(),
                create: f.create,
                planned: f.messages,
                appended: 0,
                skipped: 0,
            })
            .collect(),
        appended: 0,
        skipped: Vec::new(),
        notes: Vec::new(),
        cancelled: false,
    };
    observe(&Event::Started {
        folders: plan.folders.len(),
        messages_total: Some(plan.messages.len() as u64),
        bytes_total: Some(plan.messages.iter().map(|m| m.record.size).sum()),
    });
    let (mut done, mut bytes) = (0u64, 0u64);
    // The folder being appended to: its plan index, and the destination's folder.
    let mut open: Option<(usize, Option<Folder>)> = None;
    for m in &plan.messages {
        if cancel.is_cancelled() {
            summary.cancelled = true;
            break;
        }
        if open.as_ref().map(|o| o.0) != Some(m.folder) {
            if let Some((index, _)) = open.take() {
                finish_folder(&summary, index, observe);
            }
            let planned = &plan.folders[m.folder];
            observe(&Event::FolderStarted {
                index: m.folder,
                name: planned.name.clone(),
                claimed: Some(planned.messages),
            });
            let folder = match dest.as_deref_mut() {
                Some(d) => Some(
                    d.ensure_folder(&planned.path)
                        .map_err(|e| stopped(e, summary.appended, plan.messages.len()))?,
                ),
                None => None,
            };
            open = Some((m.folder, folder));
        }
        match archive.read_verified(&m.record) {
            Ok(message) => {
                if let (Some(d), Some((_, Some(folder)))) = (dest.as_deref_mut(), &open) {
                    d.append(
                        folder,
                        NewMessage {
                            bytes: &message,
                            flags: &m.record.flags,
                            internal_date: m.record.internal_date,
                        },
                    )
                    .map_err(|e| stopped(e, summary.appended, plan.messages.len()))?;
                }
                summary.folders[m.folder].appended += 1;
                summary.appended += 1;
            }
            Err(reason) => {
                observe(&Event::Warning {
                    message: format!("not restored: {reason}"),
                });
                let id = &m.record.identity;
                summary.folders[m.folder].skipped += 1;
                summary.skipped.push(Skipped {
                    folder: m.receipt_folder.clone(),
                    entry: m.record.entry.clone(),
                    date: id.date,
                    from: id.from.clone(),
                    subject: id.subject.clone(),
                    reason,
                });
            }
        }
        done += 1;
        bytes += m.record.size;
        observe(&Event::Advanced {
            messages_done: done,
            bytes_done: bytes,
        });
    }
    if let Some((index, _)) = open {
        finish_folder(&summary, index, observe);
    }
    if let Some(d) = dest {
        summary.notes = d.notes();
    }
    observe(&Event::Finished {
        messages_done: done,
        bytes_done: bytes,
    });
    Ok(summary)
}

/// What an error that stopped a restore ends with: it is safe to run again.
pub const RUN_AGAIN: &str = "Running the same restore again puts back only what is still missing";

/// An error from the destination that stops the appending, with how far it got and what to do:
/// a restore appends only what is still missing, so running it again is always safe.
fn stopped(e: Error, appended: u64, total: usize) -> Error {
    let so_far = format!("Messages put back before this: {appended} of {total}. {RUN_AGAIN}");
    match e {
        Error::Connection(m) => Error::Connection(format!("{m}. {so_far}")),
        Error::Refused(m) => Error::Refused(format!("{m}. {so_far}")),
        other => other,
    }
}

fn finish_folder(summary: &Summary, index: usize, observe: Observer<'_>) {
    let f = &summary.folders[index];
    observe(&Event::FolderFinished {
        index,
        name: f.name.clone(),
        read: f.appended,
        unreadable: f.skipped,
        excluded: 0,
    });
}

/// Settings of a [`restore`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Check and plan, read and verify every archive copy, append nothing.
    pub dry_run: bool,
    /// The user's folder mapping, as for a check (`--map OLD=NEW`).
    pub overrides: Vec<FolderOverride>,
    /// How the destination is read for the checks; its cancel token also stops appending.
    pub read: pipeline::Options,
}

/// Which part of a restore an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the destination to find what is missing.
    Checking,
    Appending,
    /// Reading the destination again for the new verdict.
    Rechecking,
}

/// Everything a restore found and did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The check before restoring.
    pub before: CheckReport,
    pub plan: Plan,
    pub summary: Summary,
    /// The check after restoring; `None` after a dry run, a cancelled run, or when nothing
    /// was appended (nothing missing, or nothing restorable), in which case `before` still
    /// describes the destination, apart from what a cancelled run appended.
    pub after: Option<CheckReport>,
}

impl Outcome {
    /// The report that describes the destination now.
    pub fn current(&self) -> &CheckReport {
        self.after.as_ref().unwrap_or(&self.before)
    }

    /// Nothing is missing now, and the receipt is intact (a check's exit status 0).
    pub fn complete(&self) -> bool {
        let now = self.current();
        now.complete && now.before.intact && !self.summary.cancelled
    }
}

/// Restores from the archive at `archive` into the mailbox `dest` what it is missing, then
/// checks again. A Maildir that does not exist yet is read as empty, and created when there is
/// something to append (never in a dry run). Progress goes to `observe`, tagged with the phase.
pub fn restore(
    archive: &Path,
    dest: &str,
    opts: &Options,
    observe: &(dyn Fn(Phase, &Event) + Sync),
) -> Result<Outcome> {
    let spec = DestinationSpec::parse(dest)?;
    let mut source = ArchiveSource::open(archive)?;
    let before = Snapshot {
        catalog: Catalog::from_receipt(source.receipt()),
        read_now: false,
    };
    // An IMAP destination is opened first, so that a wrong password or certificate fails
    // before any reading; a Maildir only once there is something to append, so that nothing
    // is created for a dry run, an error, or nothing to do.
    let mut destination = match spec {
        DestinationSpec::Imap(_) => Some(open_destination(dest, &opts.read.access)?),
        DestinationSpec::Maildir { .. } => None,
    };
    let checking = |e: &Event| observe(Phase::Checking, e);
    let after = match spec {
        DestinationSpec::Maildir { path, new: true } => {
            check::read_snapshot(&mut NotYetCreated(path), &opts.read, &checking)?
        }
        _ => check::snapshot(dest, &opts.read, &checking)?,
    };
    let found = check::check_reconciliation(&before, &after, &opts.overrides)?;
    drop(after);
    let plan = plan(source.receipt(), &found)?;
    if destination.is_none() && !opts.dry_run && !plan.messages.is_empty() {
        destination = Some(open_destination(dest, &opts.read.access)?);
    }
    let target: Option<&mut dyn Destination> = match &mut destination {
        Some(d) if !opts.dry_run => Some(d.as_mut()),
        _ => None,
    };
    let summary = apply(&plan, &mut source, target, &opts.read.cancel, &|e| {
        observe(Phase::Appending, e)
    })?;
    drop(destination);
    let after = if summary.dry_run || summary.cancelled || summary.appended == 0 {
        None
    } else {
        let now = check::snapshot(dest, &opts.read, &|e| observe(Phase::Rechecking, e))?;
        Some(check::check(&before, &now, &opts.overrides)?)
    };
    Ok(Outcome {
        before: found.report,
        plan,
        summary,
        after,
    })
}

/// A Maildir not made yet (a path that does not exist, or an empty directory), read as the
/// empty mailbox it starts as.
struct NotYetCreated(PathBuf);

impl Source for NotYetCreated {
    fn describe(&self) -> SourceDescription {
        SourceDescription {
            kind: "maildir".into(),
            location: crate::sources::eml::absolute(&self.0).display().to_string(),
        }
    }

    fn folders(&mut self) -> Result<Vec<Folder>> {
        Ok(Vec::new())
    }

    fn read_folder(&mut self, _: &Folder, _: Sink<'_>) -> Result<FolderNotes> {
        Ok(FolderNotes::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Compression;
    use crate::sources::maildir::MaildirSource;
    use std::fs;
    use std::sync::Mutex;

    fn message(n: u32) -> Vec<u8> {
        format!(
            "From: a@example.com\nTo: b@example.com\nSubject: message {n}\nMessage-ID: <m{n}@example.com>\nDate: Mon, 1 Jan 2024 10:{n:02}:00 +0000\n\nbody {n}\n"
        )
        .into_bytes()
    }

    /// Writes messages into a Maildir folder directory (the root for INBOX).
    fn put(dir: &Path, files: &[(&str, Vec<u8>)]) {
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for (name, bytes) in files {
            fs::write(dir.join("cur").join(name), bytes).unwrap();
        }
    }

    /// BEFORE: INBOX with three copies of 1, and 2, 3; Old with 6 (flagged); Work with 4, 5.
    /// AFTER: two copies of 1, 2 with CRLF line endings, 3 moved to Work; Work with 4 only;
    /// no Old. Missing: one copy of 1, 5, 6.
    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let before = dir.path().join("before");
        put(
            &before,
            &[
                ("1.a:2,S", message(1)),
                ("1.b:2,S", message(1)),
                ("1.c:2,S", message(1)),
                ("2:2,S", message(2)),
                ("3:2,RS", message(3)),
            ],
        );
        put(
            &before.join(".Work"),
            &[("4:2,", message(4)), ("5:2,S", message(5))],
        );
        put(&before.join(".Old"), &[("6:2,FS", message(6))]);
        let archive = dir.path().join("before.zip");
        let mut source = MaildirSource::open(&before).unwrap();
        pipeline::export(
            &mut source,
            &archive,
            Compression::Stored,
            &pipeline::Options::default(),
            &|_| {},
        )
        .unwrap();
        let after = dir.path().join("after");
        let crlf = String::from_utf8(message(2)).unwrap().replace('\n', "\r\n");
        put(
            &after,
            &[
                ("1.a:2,S", message(1)),
                ("1.b:2,S", message(1)),
                ("2:2,S", crlf.into_bytes()),
            ],
        );
        put(
            &after.join(".Work"),
            &[("3:2,S", message(3)), ("4:2,", message(4))],
        );
        (dir, archive, after)
    }

    /// Every file under a directory with its bytes.
    fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    fn subjects(plan: &Plan) -> Vec<(String, String, bool)> {
        plan.messages
            .iter()
            .map(|m| {
                let f = &plan.folders[m.folder];
                (
                    f.name.clone(),
                    m.record.identity.subject.clone().unwrap_or_default(),
                    f.create,
                )
            })
            .collect()
    }

    #[test]
    fn plans_exactly_the_missing_copies() {
        let (_dir, archive, after) = setup();
        let source = ArchiveSource::open(&archive).unwrap();
        let before = Catalog::from_receipt(source.receipt());
        let snapshot = check::snapshot(
            after.to_str().unwrap(),
            &pipeline::Options::default(),
            &|_| {},
        )
        .unwrap();
        let found = check::reconciliation(&before, &snapshot.catalog, &[]).unwrap();
        assert_eq!(found.report.totals.missing, 3);
        let plan = plan(source.receipt(), &found).unwrap();
        assert_eq!(
            subjects(&plan),
            vec![
                ("INBOX".into(), "message 1".into(), false),
                ("Old".into(), "message 6".into(), true),
                ("Work".into(), "message 5".into(), false),
            ]
        );
        let flags: Vec<_> = plan
            .messages
            .iter()
            .map(|m| m.record.flags.clone())
            .collect();
        assert_eq!(
            flags[1],
            vec!["\\Flagged".to_string(), "\\Seen".to_string()]
        );
    }

    #[test]
    fn restores_then_nothing_more_and_changes_nothing_there() {
        let (_dir, archive, after) = setup();
        let dest = after.to_str().unwrap();
        let untouched = tree(&after);
        let dry = restore(
            &archive,
            dest,
            &Options {
                dry_run: true,
                ..Options::default()
            },
            &|_, _| {},
        )
        .unwrap();
        assert!(dry.summary.dry_run && dry.after.is_none());
        assert_eq!(dry.summary.appended, 3);
        assert_eq!(tree(&after), untouched, "a dry run changed the destination");

        let done = restore(&archive, dest, &Options::default(), &|_, _| {}).unwrap();
        assert_eq!(done.summary.appended, 3);
        let now = done.after.as_ref().expect("checked again");
        assert!(now.complete && done.complete(), "{}", now.verdict);
        assert_eq!(now.totals.missing, 0);
        assert!(after.join(".Old/cur").is_dir());
        // Every file that was there is there, unchanged.
        let files = tree(&after);
        for f in &untouched {
            assert!(files.contains(f), "{} changed or vanished", f.0.display());
        }
        assert_eq!(
            files.len(),
            untouched.len() + 3 + 1,
            "3 messages and .Old/maildirfolder"
        );

        let again = restore(&archive, dest, &Options::default(), &|_, _| {}).unwrap();
        assert_eq!(again.summary.appended, 0);
        assert!(again.plan.messages.is_empty() && again.complete());
        assert_eq!(tree(&after), files);
    }

    #[test]
    fn an_interrupted_restore_completes_each_message_once() {
        let (_dir, archive, after) = setup();
        let dest = after.to_str().unwrap();
        let opts = Options::default();
        let cancel = opts.read.cancel.clone();
        let phases = Mutex::new(Vec::new());
        let first = restore(&archive, dest, &opts, &|phase, e| {
            phases.lock().unwrap().push(phase);
            if let (
                Phase::Appending,
                Event::Advanced {
                    messages_done: 1, ..
                },
            ) = (phase, e)
            {
                cancel.cancel();
            }
        })
        .unwrap();
        assert!(first.summary.cancelled && first.after.is_none());
        assert_eq!(first.summary.appended, 1);
        assert!(!first.complete());
        let phases = phases.into_inner().unwrap();
        assert!(phases.contains(&Phase::Checking) && !phases.contains(&Phase::Rechecking));

        let second = restore(&archive, dest, &Options::default(), &|_, _| {}).unwrap();
        assert_eq!(second.summary.appended, 2);
        assert!(second.complete());
        // Each message of the receipt is there as many times as it was before.
        let mut source = MaildirSource::open(&after).unwrap();
        let mut subjects = Vec::new();
        for f in source.folders().unwrap() {
            source
                .read_folder(&f, &mut |e| {
                    if let crate::source::Entry::Message(m) = e {
                        let text = String::from_utf8_lossy(&m.bytes).into_owned();
                        let subject = text.lines().find(|l| l.starts_with("Subject:"));
                        subjects.push(subject.unwrap_or_default().trim().to_string());
                    }
                    std::ops::ControlFlow::Continue(())
                })
                .unwrap();
        }
        subjects.sort();
        let want: Vec<String> = [1, 1, 1, 2, 3, 4, 5, 6]
            .iter()
            .map(|n| format!("Subject: message {n}"))
            .collect();
        assert_eq!(subjects, want);
    }

    #[test]
    fn a_copy_that_does_not_match_its_digest_is_never_appended() {
        let (_dir, archive, after) = setup();
        let mut source = ArchiveSource::open(&archive).unwrap();
        let mut record = source
            .receipt()
            .messages
            .iter()
            .find(|m| m.identity.subject.as_deref() == Some("message 5"))
            .unwrap()
            .clone();
        record.identity.digest = "0".repeat(64);
        let plan = Plan {
            folders: vec![PlannedFolder {
                path: vec!["Work".into()],
                name: "Work".into(),
                create: false,
                messages: 1,
            }],
            messages: vec![PlannedMessage {
                folder: 0,
                receipt_folder: "Work".into(),
                record,
            }],
        };
        let before = tree(&after);
        let mut dest = crate::sources::maildir::MaildirDestination::open(&after).unwrap();
        let warnings = Mutex::new(0);
        let summary = apply(
            &plan,
            &mut source,
            Some(&mut dest),
            &CancelToken::new(),
            &|e| {
                if let Event::Warning { .. } = e {
                    *warnings.lock().unwrap() += 1;
                }
            },
        )
        .unwrap();
        assert_eq!(summary.appended, 0);
        assert_eq!(summary.skipped.len(), 1);
        assert!(
            summary.skipped[0].reason.contains("corrupt"),
            "{:?}",
            summary.skipped
        );
        assert_eq!(summary.folders[0].skipped, 1);
        assert_eq!(*warnings.lock().unwrap(), 1);
        assert_eq!(tree(&after), before);
    }

    #[test]
    fn a_new_maildir_is_planned_in_full_and_made_only_for_real() {
        let (dir, archive, _) = setup();
        let fresh = dir.path().join("fresh");
        let dest = fresh.to_str().unwrap();
        let dry = restore(
            &archive,
            dest,
            &Options {
                dry_run: true,
                ..Options::default()
            },
            &|_, _| {},
        )
        .unwrap();
        assert_eq!(dry.summary.appended, 8);
        assert!(!fresh.exists());
        let done = restore(&archive, dest, &Options::default(), &|_, _| {}).unwrap();
        assert_eq!(done.summary.appended, 8);
        assert!(done.complete(), "{}", done.current().verdict);
        assert_eq!(done.current().totals.identical, 8);
        // An empty directory is a new mailbox too; nothing is made of it by a dry run.
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        let dest = empty.to_str().unwrap();
        let dry_run = Options {
            dry_run: true,
            ..Options::default()
        };
        let dry = restore(&archive, dest, &dry_run, &|_, _| {}).unwrap();
        assert_eq!(dry.summary.appended, 8);
        assert_eq!(fs::read_dir(&empty).unwrap().count(), 0);
        let done = restore(&archive, dest, &Options::default(), &|_, _| {}).unwrap();
        assert!(done.complete() && done.summary.appended == 8);
    }
}
