//! What each screen asks of the engine, as plain functions: no Tauri types here, so they are
//! tested without a window (the glue in `lib.rs` only moves arguments and progress across).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mailproof_engine::archive::Compression;
use mailproof_engine::check::report::{plural, when};
use mailproof_engine::check::{self, CheckReport, Difference, Grade, Status, html, text};
use mailproof_engine::pipeline::{self, Options, Summary};
use mailproof_engine::progress::CancelToken;
use mailproof_engine::receipt::Receipt;
use mailproof_engine::restore::{self, Phase};
use mailproof_engine::source;
use mailproof_engine::sources::Input;

use crate::errors::{app_error, busy};
use crate::ipc::{
    AppError, CheckFolder, CheckMessage, CheckResult, CheckSide, FolderDone, FolderInfo,
    FolderList, FoundMailbox, MailboxRef, MessageProblem, Progress, ReportFormat, RestoreResult,
    RunResult, SaveTarget, Task,
};
use crate::progress::Forwarder;
use crate::remote;

/// Rows of each message list sent to the screen; the saved reports hold every message.
pub const LIST_LIMIT: usize = 20_000;

/// What the app remembers between commands: the run in progress (to cancel it) and the last
/// check report (to save it or summarise it). Never a password.
#[derive(Default)]
pub struct Session {
    running: Mutex<Option<CancelToken>>,
    report: Mutex<Option<CheckReport>>,
}

/// Marks a run as the one in progress for as long as it lives.
struct Running<'a>(&'a Session);

impl Session {
    fn start(&self) -> Result<(Running<'_>, CancelToken), AppError> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.is_some() {
            return Err(busy());
        }
        let token = CancelToken::new();
        *running = Some(token.clone());
        Ok((Running(self), token))
    }

    /// True while a receipt, export or check runs.
    pub fn is_running(&self) -> bool {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Asks the run in progress to stop at the next message; false when nothing runs.
    pub fn cancel(&self) -> bool {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.as_ref().inspect(|t| t.cancel()).is_some()
    }

    fn with_report<T>(
        &self,
        f: impl FnOnce(&CheckReport) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let report = self.report.lock().unwrap_or_else(|p| p.into_inner());
        match report.as_ref() {
            Some(r) => f(r),
            None => Err(app_error(
                mailproof_engine::Error::Usage("there is no check result yet".into()),
                None,
            )),
        }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        *self.0.running.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Thunderbird profiles and Apple Mail stores under `home`, each account's folder tree once.
pub fn find_mailboxes(home: &Path) -> Vec<FoundMailbox> {
    let mut found = Vec::new();
    let thunderbird_roots = [
        home.join(".thunderbird"),
        home.join("Library/Thunderbird/Profiles"),
        home.join("AppData/Roaming/Thunderbird/Profiles"),
    ];
    for root in thunderbird_roots {
        for profile in subdirs(&root) {
            let profile_name = file_name(&profile);
            for store in ["Mail", "ImapMail"] {
                for account in subdirs(&profile.join(store)) {
                    found.push(FoundMailbox {
                        label: format!(
                            "Thunderbird: {} (profile {profile_name})",
                            file_name(&account)
                        ),
                        app: "thunderbird".into(),
                        spec: format!("thunderbird:{}", account.display()),
                    });
                }
            }
        }
    }
    // Apple Mail keeps one versioned store (V2 … V10) holding every account.
    for store in subdirs(&home.join("Library/Mail")) {
        let name = file_name(&store);
        if name.starts_with('V') && name[1..].chars().all(|c| c.is_ascii_digit()) {
            found.push(FoundMailbox {
                label: format!("Apple Mail ({name})"),
                app: "apple-mail".into(),
                spec: format!("emlx:{}", store.display()),
            });
        }
    }
    found
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The folders of a mailbox with their message counts and sizes.
pub fn list_folders(mailbox: &MailboxRef) -> Result<FolderList, AppError> {
    let err = |e| app_error(e, Some(&mailbox.spec));
    match remote::open(mailbox)? {
        Input::Receipt(path) => {
            let receipt = Receipt::load(&path).map_err(err)?;
            let folders = receipt
                .folders
                .iter()
                .map(|f| {
                    let end = receipt.folder_ends.iter().find(|e| e.folder == f.id);
                    FolderInfo {
                        name: f.name(),
                        messages: end.map_or(0, |e| e.read),
                        bytes: end.map(|e| e.bytes),
                    }
                })
                .collect();
            Ok(FolderList {
                kind: "receipt".into(),
                location: path.display().to_string(),
                folders,
                is_receipt: true,
                notes: Vec::new(),
            })
        }
        Input::Source(mut source) => {
            let description = source.describe();
            let mut folders = Vec::new();
            for folder in source.folders().map_err(err)? {
                let (messages, bytes) = source::count(source.as_mut(), &folder).map_err(err)?;
                folders.push(FolderInfo {
                    name: folder.name(),
                    messages,
                    bytes,
                });
            }
            Ok(FolderList {
                kind: description.kind,
                location: description.location,
                folders,
                is_receipt: false,
                notes: source.notes(),
            })
        }
    }
}

/// A file name to suggest in the save dialog, e.g. `Maildir-2026-11-23.receipt`.
pub fn suggested_name(task: Task, location: &str, today: &str) -> String {
    let base = Path::new(location.trim_end_matches(['/', '\\']))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Account locations (`user@host:port`) and odd names become plain, portable file names.
    let base: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base = match base.trim_matches(['-', '.']) {
        "" => "mailbox",
        b => b,
    };
    match task {
        Task::Receipt => format!("{base}-{today}.receipt"),
        Task::Export => format!("{base}-{today}.zip"),
        Task::Check => format!("check-{base}-{today}.html"),
    }
}

/// Where an output goes, with the free space of its disk.
pub fn save_target(path: &Path) -> SaveTarget {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    SaveTarget {
        path: path.display().to_string(),
        free_bytes: fs4::available_space(dir).ok(),
    }
}

/// Takes a receipt of `mailbox`, or exports it, into `output`, sending progress as it goes.
pub fn run(
    session: &Session,
    task: Task,
    mailbox: &MailboxRef,
    folders: Vec<String>,
    output: &Path,
    send: &(dyn Fn(&Progress) + Sync),
) -> Result<RunResult, AppError> {
    let (_running, cancel) = session.start()?;
    let err = |e| app_error(e, Some(&mailbox.spec));
    let mut source = match remote::open(mailbox)? {
        Input::Source(source) => source,
        Input::Receipt(path) => {
            return Err(err(mailproof_engine::Error::NotAMailbox {
                path,
                what:
                    "this is a receipt: it lists messages but holds none; choose the mailbox itself"
                        .into(),
            }));
        }
    };
    let opts = Options {
        folders,
        cancel,
        ..Options::default()
    };
    let summary = match task {
        Task::Receipt => {
            let forward = Forwarder::new("Taking the receipt", send);
            pipeline::take_receipt(source.as_mut(), output, &opts, &|e| forward.observe(e))
        }
        Task::Export => {
            let forward = Forwarder::new("Exporting", send);
            pipeline::export(
                source.as_mut(),
                output,
                Compression::default(),
                &opts,
                &|e| forward.observe(e),
            )
        }
        Task::Check => {
            return Err(err(mailproof_engine::Error::Usage(
                "a check compares two mailboxes; it is not a receipt or an export".into(),
            )));
        }
    }
    .map_err(|e| app_error(e, Some(&output.display().to_string())))?;
    Ok(run_result(task, output, &summary))
}

fn run_result(task: Task, output: &Path, s: &Summary) -> RunResult {
    let t = &s.totals;
    let complete = t.unreadable == 0 && t.folder_errors == 0;
    let what = match task {
        Task::Export => "Export finished",
        _ => "Receipt taken",
    };
    let verdict = if complete {
        format!(
            "{what}: all {} in {} were read.",
            plural(t.read, "message", "messages"),
            plural(t.folders, "folder", "folders")
        )
    } else {
        format!(
            "{what}, but {} of {} could not be read.",
            plural(t.unreadable, "message", "messages"),
            plural(t.read + t.unreadable, "message", "messages"),
        )
    };
    RunResult {
        task,
        output: output.display().to_string(),
        code: s.seal.code.clone(),
        verdict,
        complete,
        messages: t.read,
        bytes: t.bytes,
        folders: s
            .folders
            .iter()
            .map(|(f, e)| FolderDone {
                name: f.name(),
                read: e.read,
                unreadable: e.unreadable,
                excluded: e.excluded,
                bytes: e.bytes,
                error: e.error.clone(),
            })
            .collect(),
        unreadable: s
            .unreadable
            .iter()
            .map(|(folder, u)| MessageProblem {
                folder: folder.clone(),
                source_id: u.source_id.clone(),
                reason: u.reason.clone(),
            })
            .collect(),
        notes: s.source_notes.clone(),
    }
}

/// Checks `after` against the receipt or archive `before`, keeps the report for saving, and
/// writes it as HTML to `report_path` when one is given.
pub fn check(
    session: &Session,
    before: &str,
    after: &MailboxRef,
    report_path: Option<&Path>,
    send: &(dyn Fn(&Progress) + Sync),
) -> Result<CheckResult, AppError> {
    let (_running, cancel) = session.start()?;
    let opts = Options {
        cancel,
        access: remote::access(after),
        ..Options::default()
    };
    let after_spec = remote::check_spec(after)?;
    let forward_before = Forwarder::new("Reading the receipt", send);
    let forward_after = Forwarder::new("Reading the new mailbox", send);
    let (b, a) = check::snapshots(
        before,
        &after_spec,
        &opts,
        &|e| forward_before.observe(e),
        &|e| forward_after.observe(e),
    )
    .map_err(|e| app_error(e, Some(&after.spec)))?;
    let report = check::check(&b, &a, &[]).map_err(|e| app_error(e, None))?;
    if let Some(path) = report_path {
        save_report(&report, ReportFormat::Html, path)?;
    }
    let result = check_result(&report);
    *session.report.lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
    Ok(result)
}

/// Puts back into `mailbox` what it is missing from the archive at `archive`, then checks it
/// again; the new report replaces the last one, for saving and the ticket summary. Only
/// missing copies are appended, each checked against its digest first; nothing in the mailbox
/// is changed or deleted, so running it again appends nothing.
pub fn restore(
    session: &Session,
    archive: &Path,
    mailbox: &MailboxRef,
    send: &(dyn Fn(&Progress) + Sync),
) -> Result<RestoreResult, AppError> {
    let (_running, cancel) = session.start()?;
    let spec = remote::check_spec(mailbox)?;
    let opts = restore::Options {
        read: Options {
            cancel,
            access: remote::access(mailbox),
            ..Options::default()
        },
        ..restore::Options::default()
    };
    let checking = Forwarder::new("Checking your mailbox", send);
    let appending = Forwarder::new("Putting the missing messages back", send);
    let rechecking = Forwarder::new("Checking your mailbox again", send);
    let outcome = restore::restore(archive, &spec, &opts, &|phase, e| match phase {
        Phase::Checking => checking.observe(e),
        Phase::Appending => appending.observe(e),
        Phase::Rechecking => rechecking.observe(e),
    })
    .map_err(|e| app_error(e, Some(&mailbox.spec)))?;
    let s = &outcome.summary;
    let planned = outcome.plan.messages.len() as u64;
    let said = if planned == 0 {
        "Nothing to put back: your mailbox is missing nothing from this archive.".to_string()
    } else if s.cancelled {
        format!(
            "Stopped: {} of {planned} put back. Restore again to put back the rest.",
            plural(s.appended, "message was", "messages were")
        )
    } else {
        format!(
            "{} put back into your mailbox.",
            plural(s.appended, "message was", "messages were")
        )
    };
    let result = RestoreResult {
        said,
        appended: s.appended,
        skipped: s
            .skipped
            .iter()
            .map(|k| CheckMessage {
                date: k.date.map(when).unwrap_or_default(),
                from: k.from.clone().unwrap_or_default(),
                subject: k.subject.clone().unwrap_or_default(),
                folder: k.folder.clone(),
                now_in: None,
                reason: k.reason.clone(),
            })
            .collect(),
        cancelled: s.cancelled,
        notes: s.notes.clone(),
        check: check_result(outcome.current()),
    };
    *session.report.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome.current().clone());
    Ok(result)
}

/// The screen's view of a report.
pub fn check_result(r: &CheckReport) -> CheckResult {
    let list = |keep: &dyn Fn(&Difference) -> bool| {
        let all: Vec<&Difference> = r.differences.iter().filter(|d| keep(d)).collect();
        let total = all.len() as u64;
        (
            all.into_iter()
                .take(LIST_LIMIT)
                .map(message)
                .collect::<Vec<_>>(),
            total,
        )
    };
    // The same lists as the engine's text report: missing, altered (in place or moved), moved.
    let (missing, missing_total) = list(&|d| d.status == Status::Missing);
    let (altered, altered_total) = list(&|d| d.grade == Some(Grade::Altered));
    let (moved, moved_total) = list(&|d| d.status == Status::Moved);
    let side = |s: &check::Side| CheckSide {
        kind: s.source.kind.clone(),
        location: s.source.location.clone(),
        code: s.code.clone(),
        created: s.created.clone(),
        messages: s.messages,
        folders: s.folders,
        read_now: s.read_now,
    };
    CheckResult {
        verdict: r.verdict.clone(),
        complete: r.complete,
        before: side(&r.before),
        after: side(&r.after),
        folders: r
            .folders
            .iter()
            .map(|f| CheckFolder {
                before: f.before.clone(),
                after: f.after.clone(),
                before_count: f.before_count,
                after_count: f.after_count,
                found: f.identical + f.normalised + f.reencoded + f.altered,
                altered: f.altered,
                moved: f.moved,
                missing: f.missing,
                new: f.new,
            })
            .collect(),
        missing,
        altered,
        moved,
        missing_total,
        altered_total,
        moved_total,
        notes: r.notes.clone(),
    }
}

fn message(d: &Difference) -> CheckMessage {
    CheckMessage {
        date: d.date.map(when).unwrap_or_default(),
        from: d.from.clone().unwrap_or_default(),
        subject: d.subject.clone().unwrap_or_default(),
        folder: d.before_folder.as_deref().unwrap_or_default().to_string(),
        now_in: d
            .after_folder
            .as_deref()
            .filter(|a| Some(*a) != d.before_folder.as_deref())
            .map(str::to_string),
        reason: d.reason.to_string(),
    }
}

/// Writes the report in `format` through the engine's writers.
pub fn save_report(
    report: &CheckReport,
    format: ReportFormat,
    path: &Path,
) -> Result<(), AppError> {
    check::save(path, |out| match format {
        ReportFormat::Html => html::write_html(report, out),
        ReportFormat::Json => text::write_json(report, out),
        ReportFormat::Csv => text::write_csv(report, out),
    })
    .map_err(|e| app_error(e, Some(&path.display().to_string())))
}

/// Saves the last check's report.
pub fn save_last_report(
    session: &Session,
    format: ReportFormat,
    path: &Path,
) -> Result<(), AppError> {
    session.with_report(|r| save_report(r, format, path))
}

/// The engine's short summary of the last check, for a helpdesk ticket.
pub fn ticket_summary(session: &Session) -> Result<String, AppError> {
    session.with_report(|r| {
        let mut out = Vec::new();
        text::write_summary(r, false, &mut out).map_err(|e| {
            app_error(
                mailproof_engine::Error::io("cannot write", "summary", e),
                None,
            )
        })?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    })
}

/// The text of a connection profile; the screen parses it. Profiles are small: a large file
/// is not one.
pub fn read_profile(path: &Path) -> Result<String, AppError> {
    const LIMIT: u64 = 64 * 1024;
    let shown = path.display().to_string();
    let io = |e| {
        app_error(
            mailproof_engine::Error::io("cannot read", path, e),
            Some(&shown),
        )
    };
    if std::fs::metadata(path).map_err(io)?.len() > LIMIT {
        return Err(app_error(
            mailproof_engine::Error::Usage(
                "this file is too large to be a connection profile".into(),
            ),
            Some(&shown),
        ));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    String::from_utf8(bytes).map_err(|_| {
        app_error(
            mailproof_engine::Error::Usage(
                "this file is not text, so not a connection profile".into(),
            ),
            Some(&shown),
        )
    })
}
