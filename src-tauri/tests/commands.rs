//! The app's commands called as plain functions, without a window: the same calls the wizard
//! makes, against mailboxes written by the migration simulator, with progress collected.

use std::path::Path;
use std::sync::Mutex;

use mailproof_app::commands::{self, Session};
use mailproof_app::ipc::{ErrorKind, MailboxRef, Progress, ReportFormat, Task};
use mailproof_tests::migrate::{self, Account, Expect, Migration, Options};

fn local(path: &Path) -> MailboxRef {
    MailboxRef {
        spec: path.display().to_string(),
        password: None,
    }
}

fn migration(dir: &Path) -> Migration {
    let m = migrate::simulate(&Options::new(7, Account::Imap));
    m.before.write_maildir(&dir.join("before")).unwrap();
    m.after.write_maildir(&dir.join("after")).unwrap();
    m
}

/// Collects what the window would receive.
struct Collected(Mutex<Vec<Progress>>);

impl Collected {
    fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }
    fn send(&self) -> impl Fn(&Progress) + Sync + '_ {
        |p: &Progress| self.0.lock().unwrap().push(p.clone())
    }
    fn last(&self) -> Progress {
        self.0
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("progress was sent")
    }
}

#[test]
fn folders_then_receipt_then_export_of_a_maildir() {
    let dir = tempfile::tempdir().unwrap();
    let m = migration(dir.path());
    let before = local(&dir.path().join("before"));

    let list = commands::list_folders(&before).unwrap();
    assert_eq!(list.kind, "maildir");
    assert!(!list.is_receipt);
    let listed: u64 = list.folders.iter().map(|f| f.messages).sum();
    assert_eq!(listed, m.before.count() as u64);
    for folder in &m.before.folders {
        let shown = list.folders.iter().find(|f| f.name == folder.name());
        assert_eq!(
            shown.map(|f| f.messages),
            Some(folder.messages.len() as u64),
            "{}",
            folder.name()
        );
    }

    let session = Session::default();
    let progress = Collected::new();
    let out = dir.path().join("before.receipt");
    let run = commands::run(
        &session,
        Task::Receipt,
        &before,
        Vec::new(),
        &out,
        &progress.send(),
    )
    .unwrap();
    assert!(out.is_file());
    assert_eq!(run.output, out.display().to_string());
    assert_eq!(run.messages, m.before.count() as u64);
    assert!(run.complete, "{run:?}");
    assert_eq!(run.code.len(), 14, "{}", run.code);
    assert!(
        run.verdict.starts_with("Receipt taken: all "),
        "{}",
        run.verdict
    );
    let last = progress.last();
    assert!(last.finished);
    assert_eq!(last.messages_done, m.before.count() as u64);

    // One folder only: the export holds just that folder's messages.
    let inbox = m.before.folder("INBOX").unwrap();
    let zip = dir.path().join("inbox.zip");
    let run = commands::run(
        &session,
        Task::Export,
        &before,
        vec!["INBOX".into()],
        &zip,
        &Collected::new().send(),
    )
    .unwrap();
    assert_eq!(run.messages, inbox.messages.len() as u64);
    assert_eq!(run.folders.len(), 1);
    assert!(zip.is_file());

    // The same output again is refused, in plain words, and the file is left alone.
    let again = commands::run(
        &session,
        Task::Export,
        &before,
        Vec::new(),
        &zip,
        &Collected::new().send(),
    )
    .unwrap_err();
    assert_eq!(again.kind, ErrorKind::Usage);
    assert!(
        again.message.contains("already exists"),
        "{}",
        again.message
    );
}

#[test]
fn check_names_the_missing_messages_and_saves_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let m = migration(dir.path());
    let session = Session::default();
    let receipt = dir.path().join("before.receipt");
    commands::run(
        &session,
        Task::Receipt,
        &local(&dir.path().join("before")),
        Vec::new(),
        &receipt,
        &Collected::new().send(),
    )
    .unwrap();

    let html = dir.path().join("check.html");
    let progress = Collected::new();
    let result = commands::check(
        &session,
        &receipt.display().to_string(),
        &local(&dir.path().join("after")),
        Some(&html),
        &progress.send(),
    )
    .unwrap();
    assert!(!result.complete);
    assert!(result.verdict.contains("missing"), "{}", result.verdict);
    assert_eq!(progress.last().phase, "Reading the new mailbox");
    assert!(html.is_file());

    let expected_missing = m.count(Expect::Missing);
    assert!(expected_missing > 0);
    assert_eq!(result.missing_total as usize, expected_missing);
    for fate in m.expected(Expect::Missing) {
        let Some(subject) = &fate.subject else {
            continue;
        };
        assert!(
            result
                .missing
                .iter()
                .any(|d| &d.subject == subject && Some(&d.folder) == fate.before_folder.as_ref()),
            "missing message {subject:?} in {:?} not listed",
            fate.before_folder
        );
    }
    assert_eq!(result.moved_total as usize, m.count(Expect::Moved));

    for (format, name) in [
        (ReportFormat::Json, "r.json"),
        (ReportFormat::Csv, "r.csv"),
        (ReportFormat::Html, "r.html"),
    ] {
        let path = dir.path().join(name);
        commands::save_last_report(&session, format, &path).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 100, "{name}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(json["verdict"], result.verdict.as_str());

    let summary = commands::ticket_summary(&session).unwrap();
    assert!(summary.starts_with("Mailproof check: "), "{summary}");
    assert!(
        summary.contains(result.before.code.as_deref().unwrap()),
        "{summary}"
    );
}

#[test]
fn restore_puts_back_exactly_the_missing_messages_then_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let m = migration(dir.path());
    let session = Session::default();
    let archive = dir.path().join("before.zip");
    commands::run(
        &session,
        Task::Export,
        &local(&dir.path().join("before")),
        Vec::new(),
        &archive,
        &Collected::new().send(),
    )
    .unwrap();
    let after = local(&dir.path().join("after"));
    let missing = m.count(Expect::Missing) as u64;
    assert!(missing > 0);

    let progress = Collected::new();
    let restored = commands::restore(&session, &archive, &after, &progress.send()).unwrap();
    assert_eq!(restored.appended, missing, "{}", restored.said);
    assert!(!restored.cancelled && restored.skipped.is_empty());
    assert!(
        restored
            .said
            .starts_with(&format!("{missing} messages were put back")),
        "{}",
        restored.said
    );
    assert!(restored.check.complete, "{}", restored.check.verdict);
    assert_eq!(restored.check.missing_total, 0);
    let phases: Vec<String> = progress
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.phase.clone())
        .collect();
    for phase in [
        "Checking your mailbox",
        "Putting the missing messages back",
        "Checking your mailbox again",
    ] {
        assert!(
            phases.iter().any(|p| p == phase),
            "no {phase:?} in {phases:?}"
        );
    }
    // The saved report and the summary describe the mailbox as it is now.
    let summary = commands::ticket_summary(&session).unwrap();
    assert!(summary.contains(&restored.check.verdict), "{summary}");

    // A check of its own agrees, and a second restore appends nothing.
    let check = commands::check(
        &session,
        &archive.display().to_string(),
        &after,
        None,
        &Collected::new().send(),
    )
    .unwrap();
    assert!(check.complete, "{}", check.verdict);
    let again = commands::restore(&session, &archive, &after, &Collected::new().send()).unwrap();
    assert_eq!(again.appended, 0);
    assert!(
        again.said.starts_with("Nothing to put back"),
        "{}",
        again.said
    );

    // A receipt holds no messages to put back: said plainly.
    let receipt = dir.path().join("before.receipt");
    commands::run(
        &session,
        Task::Receipt,
        &local(&dir.path().join("before")),
        Vec::new(),
        &receipt,
        &Collected::new().send(),
    )
    .unwrap();
    let refused =
        commands::restore(&session, &receipt, &after, &Collected::new().send()).unwrap_err();
    assert!(
        !refused.message.is_empty() && !refused.hint.is_empty(),
        "{refused:?}"
    );
}

#[test]
fn a_cancelled_run_leaves_nothing_under_the_final_name() {
    let dir = tempfile::tempdir().unwrap();
    migration(dir.path());
    let session = Session::default();
    let out = dir.path().join("cancelled.zip");
    // Cancel as soon as the first progress arrives.
    let send = |_: &Progress| {
        session.cancel();
    };
    let err = commands::run(
        &session,
        Task::Export,
        &local(&dir.path().join("before")),
        Vec::new(),
        &out,
        &send,
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Cancelled, "{err:?}");
    // Nothing carries the final name; what was done is kept for the same run to continue.
    assert!(!out.exists());
    assert!(dir.path().join("cancelled.zip.partial").exists());
    // Nothing runs any more: cancelling again says so.
    assert!(!session.cancel());
}

#[test]
fn what_is_not_a_mailbox_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "just some notes\n").unwrap();
    let err = commands::list_folders(&local(&file)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotAMailbox);
    assert!(err.message.contains("notes.txt"), "{}", err.message);
    assert!(!err.hint.is_empty());

    let err = commands::list_folders(&local(&dir.path().join("nowhere"))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotAMailbox);
    assert!(err.message.contains("no such file"), "{}", err.message);
}

#[test]
fn thunderbird_and_apple_mail_are_found_under_home() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::create_dir_all(h.join(".thunderbird/abc.default-release/Mail/Local Folders")).unwrap();
    std::fs::create_dir_all(h.join(".thunderbird/abc.default-release/ImapMail/imap.example.org"))
        .unwrap();
    std::fs::create_dir_all(h.join("Library/Mail/V10")).unwrap();
    std::fs::create_dir_all(h.join("Library/Mail/Bundles")).unwrap();
    let found = commands::find_mailboxes(h);
    let labels: Vec<&str> = found.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Thunderbird: Local Folders (profile abc.default-release)",
            "Thunderbird: imap.example.org (profile abc.default-release)",
            "Apple Mail (V10)"
        ]
    );
    assert!(found[0].spec.starts_with("thunderbird:"));
    assert!(found[2].spec.starts_with("emlx:"));
    assert!(commands::find_mailboxes(&h.join("empty")).is_empty());
}

#[test]
fn suggested_names_are_plain_file_names() {
    assert_eq!(
        commands::suggested_name(Task::Receipt, "/home/ann/Maildir/", "2026-01-05"),
        "Maildir-2026-01-05.receipt"
    );
    assert_eq!(
        commands::suggested_name(Task::Export, "ann@imap.example.org:993", "2026-01-05"),
        "ann-imap.example.org-993-2026-01-05.zip"
    );
    assert_eq!(
        commands::suggested_name(Task::Check, "", "2026-01-05"),
        "check-mailbox-2026-01-05.html"
    );
}

#[test]
fn a_profile_is_read_as_text_and_a_big_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("p.json");
    std::fs::write(&ok, r#"{"format":"mailproof-connection-profile/1"}"#).unwrap();
    assert!(
        commands::read_profile(&ok)
            .unwrap()
            .contains("connection-profile")
    );
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 100_000]).unwrap();
    assert_eq!(
        commands::read_profile(&big).unwrap_err().kind,
        ErrorKind::Usage
    );
}
