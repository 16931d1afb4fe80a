//! `mailproof restore` end to end, through the real command: a mailbox exported before a
//! simulated migration (`mailproof_tests::migrate`) whose losses are known in advance (dropped
//! messages, a dropped copy of a duplicate, a whole folder lost), restored into the Maildir
//! after it. What must hold: exactly the missing copies are appended, in the mapped folders,
//! with their flags and internal dates; nothing already there changes; a second run and a dry
//! run change nothing; a corrupt archive copy is never appended; an interrupted restore
//! completes on the next run with each message appended once.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use mailproof_engine::check::CheckReport;
use mailproof_engine::progress::Event;
use mailproof_engine::receipt::Receipt;
use mailproof_engine::restore::{self, Phase};
use mailproof_tests::cli::Mailproof;
use mailproof_tests::migrate::{self, Account, Expect, Migration, Options, sha256_hex};
use mailproof_tests::tree::{Tree, files, tree};
use serde::Deserialize;

const SEED: u64 = 20_250_301;

/// An hour from now: the simulated migration happens after the archive is written.
fn soon() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    now.as_secs() as i64 + 3600
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// mbox files with delivery times in their From_ lines: every message has an internal date.
    MboxTree,
    /// Maildir files given a variety of flags.
    FlaggedMaildir,
}

/// A simulated migration on disk: BEFORE exported to an archive, AFTER as a Maildir.
struct Setup {
    dir: tempfile::TempDir,
    sim: Migration,
    archive: PathBuf,
    after: PathBuf,
    /// What BEFORE held, by (folder, digest), one entry per copy: the delivery time of an mbox
    /// message, the flag letters of a Maildir one.
    held: HashMap<(String, String), Vec<Held>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    Delivered(i64),
    Letters(String),
}

/// The flag sets given in turn to BEFORE's Maildir files.
const FLAG_SETS: [&str; 6] = ["", "S", "RS", "FS", "DS", "PST"];

fn setup(account: Account, layout: Layout) -> Setup {
    let sim = migrate::simulate(&Options::new(SEED, account).migrated_at(soon()));
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before");
    let mut held: HashMap<(String, String), Vec<Held>> = HashMap::new();
    match layout {
        Layout::MboxTree => {
            sim.before.write_mbox_tree(&before).unwrap();
            for f in &sim.before.folders {
                for m in &f.messages {
                    held.entry((f.name(), sha256_hex(&m.bytes)))
                        .or_default()
                        .push(Held::Delivered(m.delivered));
                }
            }
        }
        Layout::FlaggedMaildir => {
            sim.before.write_maildir(&before).unwrap();
            let messages = files(&before)
                .into_iter()
                .filter(|f| f.parent().and_then(Path::file_name) == Some("cur".as_ref()));
            for (n, file) in messages.enumerate() {
                let name = file.file_name().unwrap().to_string_lossy().into_owned();
                let unique = name.strip_suffix(":2,S").expect("written with S");
                let flags = FLAG_SETS[n % FLAG_SETS.len()];
                let renamed = file.with_file_name(format!("{unique}:2,{flags}"));
                fs::rename(&file, &renamed).unwrap();
                let rel = renamed.strip_prefix(&before).unwrap();
                let digest = sha256_hex(&fs::read(&renamed).unwrap());
                held.entry((folder_of(rel), digest))
                    .or_default()
                    .push(Held::Letters(flags.to_string()));
            }
        }
    }
    let archive = dir.path().join("before.zip");
    let run = Mailproof::run(&[
        "export",
        before.to_str().unwrap(),
        "-o",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run}");
    let after = dir.path().join("after");
    sim.after.write_maildir(&after).unwrap();
    assert!(sim.count(Expect::Missing) > 0, "the plan loses mail");
    Setup {
        dir,
        sim,
        archive,
        after,
        held,
    }
}

impl Setup {
    fn restore(&self, extra: &[&str]) -> Mailproof {
        let mut args = vec![
            "restore",
            self.archive.to_str().unwrap(),
            self.after.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        Mailproof::run(&args)
    }

    /// `restore --json`: the run and its parsed output.
    fn restore_json(&self, extra: &[&str]) -> (Mailproof, RestoreJson) {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let run = self.restore(&args);
        assert!(run.code == 0 || run.code == 1, "{run}");
        let parsed = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("restore --json output: {e}\n{run}"));
        (run, parsed)
    }

    /// `check ARCHIVE AFTER --json`: the report.
    fn check(&self) -> CheckReport {
        let json = self.dir.path().join("check.json");
        let run = Mailproof::run(&[
            "check",
            self.archive.to_str().unwrap(),
            self.after.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ]);
        assert!(run.code == 0 || run.code == 1, "{run}");
        serde_json::from_str(&fs::read_to_string(json).unwrap()).unwrap()
    }

    /// The digests the plan says are missing (one per missing copy), sorted.
    fn missing_digests(&self) -> Vec<String> {
        let mut d: Vec<String> = self
            .sim
            .expected(Expect::Missing)
            .map(|f| f.digest.clone())
            .collect();
        d.sort();
        d
    }
}

#[derive(Debug, Deserialize)]
struct RestoreJson {
    plan: PlanJson,
    restore: SummaryJson,
    report: CheckReport,
}

#[derive(Debug, Deserialize)]
struct PlanJson {
    folders: Vec<PlannedFolderJson>,
    messages: Vec<PlannedMessageJson>,
}

#[derive(Debug, Deserialize)]
struct PlannedFolderJson {
    path: Vec<String>,
    create: bool,
}

#[derive(Debug, Deserialize)]
struct PlannedMessageJson {
    folder: usize,
    receipt_folder: String,
    record: RecordJson,
}

#[derive(Debug, Deserialize)]
struct RecordJson {
    digest: String,
    #[serde(default)]
    flags: Vec<String>,
    internal_date: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct SummaryJson {
    dry_run: bool,
    appended: u64,
    skipped: Vec<SkippedJson>,
    cancelled: bool,
}

#[derive(Debug, Deserialize)]
struct SkippedJson {
    entry: Option<String>,
    reason: String,
}

/// The folder a Maildir file is in, as the Maildir source names it (`INBOX`, `.A.B` → `A/B`,
/// verbatim `A/B/cur` → `A/B`).
fn folder_of(rel: &Path) -> String {
    let dir = rel.parent().and_then(Path::parent).unwrap();
    let text = dir.to_string_lossy().into_owned();
    if text.is_empty() {
        "INBOX".into()
    } else if let Some(rest) = text.strip_prefix('.') {
        rest.replace('.', "/")
    } else {
        text
    }
}

/// The IMAP flags of a Maildir file name, as the Maildir source gives them (letter order).
fn flags_of(rel: &Path) -> Vec<String> {
    let name = rel.file_name().unwrap().to_string_lossy().into_owned();
    let (_, info) = name.rsplit_once(":2,").expect("a Maildir info");
    info.chars()
        .map(|c| {
            match c {
                'D' => "\\Draft",
                'F' => "\\Flagged",
                'P' => "$Forwarded",
                'R' => "\\Answered",
                'S' => "\\Seen",
                'T' => "\\Deleted",
                other => panic!("unexpected flag letter {other} in {name}"),
            }
            .to_string()
        })
        .collect()
}

/// The files of `now` that were not in `then`; fails if anything of `then` changed or went.
fn added(then: &Tree, now: &Tree) -> Tree {
    for (path, was) in then {
        assert_eq!(
            now.get(path),
            Some(was),
            "{} changed or vanished",
            path.display()
        );
    }
    now.iter()
        .filter(|(p, _)| !then.contains_key(*p))
        .map(|(p, v)| (p.clone(), v.clone()))
        .collect()
}

fn restore_and_verify(account: Account, layout: Layout) {
    let s = setup(account, layout);
    let untouched = tree(&s.after);
    let missing = s.sim.count(Expect::Missing);

    // A dry run says what it would do and changes nothing.
    let dry = s.restore(&["--dry-run"]);
    assert_eq!(dry.code, 1, "{dry}");
    assert!(
        dry.stdout
            .contains(&format!("{missing} messages would be appended")),
        "{dry}"
    );
    for f in s.sim.expected(Expect::Missing) {
        if let Some(subject) = &f.subject {
            assert!(dry.stdout.contains(subject.as_str()), "{subject}\n{dry}");
        }
    }
    assert_eq!(tree(&s.after), untouched, "a dry run changed the mailbox");
    let (_, dry_json) = s.restore_json(&["--dry-run"]);
    assert!(dry_json.restore.dry_run);
    assert_eq!(tree(&s.after), untouched, "a dry run changed the mailbox");

    // The plan is the simulator's missing copies, exactly: nothing moved, re-encoded or
    // altered, and a duplicate once per lost copy.
    let mut planned: Vec<String> = dry_json
        .plan
        .messages
        .iter()
        .map(|m| m.record.digest.clone())
        .collect();
    planned.sort();
    assert_eq!(planned, s.missing_digests(), "{}", s.sim.table());
    // Each goes to its folder's counterpart, or to its own path when the folder was lost.
    for m in &dry_json.plan.messages {
        let folder = &dry_json.plan.folders[m.folder];
        match s.sim.after_name(&m.receipt_folder) {
            Some(after) => {
                assert_eq!(folder.path.join("/"), after);
                assert!(!folder.create);
            }
            None => {
                assert_eq!(folder.path.join("/"), m.receipt_folder);
                assert!(folder.create, "{folder:?}");
            }
        }
    }
    if account == Account::Imap {
        assert!(
            dry_json.plan.folders.iter().any(|f| f.create),
            "a folder is lost"
        );
    }

    // The restore appends exactly those, and says so per folder, then the new verdict.
    let (run, done) = s.restore_json(&[]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(done.restore.appended, missing as u64);
    assert!(done.restore.skipped.is_empty() && !done.restore.cancelled);
    assert!(done.report.complete, "{}", done.report.verdict);
    assert_eq!(done.report.totals.missing, 0);
    let now = tree(&s.after);
    let new_files: Vec<(PathBuf, Vec<u8>, SystemTime)> = added(&untouched, &now)
        .into_iter()
        .filter_map(|(p, v)| v.map(|(b, t)| (p, b, t)))
        .filter(|(p, _, _)| p.parent().and_then(Path::file_name) == Some("cur".as_ref()))
        .collect();
    let mut got: Vec<String> = new_files.iter().map(|(_, b, _)| sha256_hex(b)).collect();
    got.sort();
    assert_eq!(got, s.missing_digests(), "appended copies");
    // Each appended file is in its planned folder with its flags and internal date; copies of
    // one message are told apart by taking each planned copy once.
    let mut plan: Vec<&PlannedMessageJson> = done.plan.messages.iter().collect();
    for (rel, bytes, mtime) in &new_files {
        let digest = sha256_hex(bytes);
        let at = plan
            .iter()
            .position(|m| {
                m.record.digest == digest
                    && done.plan.folders[m.folder].path.join("/") == folder_of(rel)
                    && m.record.flags == flags_of(rel)
                    && m.record.internal_date.is_none_or(|t| {
                        *mtime == UNIX_EPOCH + std::time::Duration::from_secs(t as u64)
                    })
            })
            .unwrap_or_else(|| panic!("{} is not as planned", rel.display()));
        // And as BEFORE held it: the delivery time or the flags of one of its copies there.
        let was = &s.held[&(plan[at].receipt_folder.clone(), digest)];
        let secs = mtime.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let name = rel.file_name().unwrap().to_string_lossy().into_owned();
        let letters = name.rsplit_once(":2,").unwrap().1.to_string();
        let now = match layout {
            Layout::MboxTree => Held::Delivered(secs),
            Layout::FlaggedMaildir => Held::Letters(letters),
        };
        assert!(
            was.contains(&now),
            "{}: {now:?}, before {was:?}",
            rel.display()
        );
        plan.swap_remove(at);
    }
    match layout {
        Layout::MboxTree => assert!(
            done.plan
                .messages
                .iter()
                .all(|m| m.record.internal_date.is_some())
        ),
        Layout::FlaggedMaildir => {
            let flagged = done
                .plan
                .messages
                .iter()
                .filter(|m| !m.record.flags.is_empty());
            assert!(flagged.count() > 0, "some restored messages carry flags");
        }
    }
    // The check agrees, on its own.
    let report = s.check();
    assert!(
        report.complete && report.totals.missing == 0,
        "{}",
        report.verdict
    );
    let text = s.restore(&[]);
    assert_eq!(text.code, 0, "{text}");
    assert!(
        text.stdout.contains("Nothing to restore") && text.stdout.contains(&report.verdict),
        "{text}"
    );
    // A second run appended nothing.
    assert_eq!(tree(&s.after), now);
}

#[test]
fn restores_exactly_the_missing_messages_with_internal_dates() {
    restore_and_verify(Account::Imap, Layout::MboxTree);
}

#[test]
fn restores_flags() {
    restore_and_verify(Account::Imap, Layout::FlaggedMaildir);
}

#[test]
fn restores_label_style_mailboxes() {
    restore_and_verify(Account::Gmail, Layout::MboxTree);
}

#[test]
fn the_text_output_names_folders_and_the_new_verdict() {
    let s = setup(Account::Imap, Layout::MboxTree);
    let missing = s.sim.count(Expect::Missing);
    let run = s.restore(&[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.starts_with(&format!(
            "Appended {missing} messages to {}",
            s.after.display()
        )),
        "{run}"
    );
    assert!(run.stdout.contains("Newsletters"), "{run}");
    assert!(run.stdout.contains("(new folder)"), "{run}");
    assert!(run.stdout.contains("Checked again:"), "{run}");
    assert!(
        run.stdout.contains("Mailproof check: All ")
            && run.stdout.contains("are in your new mailbox"),
        "{run}"
    );
}

/// Changes one byte of an entry's stored data and puts the matching CRC-32 in its local and
/// central headers, so that only the receipt's SHA-256 can tell.
fn corrupt_entry(zip_path: &Path, name: &str) {
    let (data_start, size, local, central) = {
        let file = fs::File::open(zip_path).unwrap();
        let mut zip = zip::ZipArchive::new(file).unwrap();
        let entry = zip.by_name(name).unwrap();
        assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
        (
            entry.data_start().unwrap(),
            entry.size(),
            entry.header_start(),
            entry.central_header_start(),
        )
    };
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(zip_path)
        .unwrap();
    let mut data = vec![0u8; size as usize];
    f.seek(SeekFrom::Start(data_start)).unwrap();
    f.read_exact(&mut data).unwrap();
    let at = data.len() / 2;
    data[at] = if data[at] == b'x' { b'y' } else { b'x' };
    f.seek(SeekFrom::Start(data_start)).unwrap();
    f.write_all(&data).unwrap();
    let mut flags = [0u8; 2];
    f.seek(SeekFrom::Start(local + 6)).unwrap();
    f.read_exact(&mut flags).unwrap();
    assert_eq!(flags[0] & 0x08, 0, "no data descriptor to patch");
    let crc = crc32fast::hash(&data).to_le_bytes();
    for at in [local + 14, central + 16] {
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(&crc).unwrap();
    }
}

#[test]
fn a_corrupt_archive_copy_is_not_appended() {
    let s = setup(Account::Imap, Layout::MboxTree);
    let receipt = mailproof_engine::archive::read_receipt(&s.archive).unwrap();
    let lost = s
        .sim
        .expected(Expect::Missing)
        .find(|f| {
            s.sim
                .expected(Expect::Missing)
                .filter(|g| g.digest == f.digest)
                .count()
                == 1
        })
        .unwrap();
    let record = receipt
        .messages
        .iter()
        .find(|m| m.identity.digest == lost.digest)
        .unwrap();
    let entry = record.entry.clone().unwrap();
    corrupt_entry(&s.archive, &entry);
    // The zip itself is sound: only the digest catches it.
    let mut zip = zip::ZipArchive::new(fs::File::open(&s.archive).unwrap()).unwrap();
    let mut bytes = Vec::new();
    zip.by_name(&entry)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    assert_ne!(sha256_hex(&bytes), lost.digest);

    let untouched = tree(&s.after);
    let (run, out) = s.restore_json(&[]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(out.restore.skipped.len(), 1);
    assert_eq!(
        out.restore.skipped[0].entry.as_deref(),
        Some(entry.as_str())
    );
    assert!(out.restore.skipped[0].reason.contains("corrupt"), "{run}");
    assert_eq!(
        out.restore.appended,
        s.sim.count(Expect::Missing) as u64 - 1
    );
    assert_eq!(out.report.totals.missing, 1, "{}", out.report.verdict);
    let appended = added(&untouched, &tree(&s.after));
    assert!(
        appended
            .values()
            .flatten()
            .all(|(b, _)| sha256_hex(b) != lost.digest && sha256_hex(b) != sha256_hex(&bytes)),
        "the corrupt copy was appended"
    );
    // In text, the message is named with the reason, and the verdict says one is missing.
    let text = s.restore(&[]);
    assert_eq!(text.code, 1, "{text}");
    assert!(
        text.stdout.contains("1 message cannot be restored") && text.stdout.contains(&entry),
        "{text}"
    );
    assert!(text.stdout.contains("1 message is missing"), "{text}");
}

#[test]
fn an_interrupted_restore_appends_each_message_once_when_run_again() {
    let s = setup(Account::Imap, Layout::MboxTree);
    let untouched = tree(&s.after);
    let opts = restore::Options::default();
    let cancel = opts.read.cancel.clone();
    let stop_after = 3;
    let first = restore::restore(&s.archive, s.after.to_str().unwrap(), &opts, &|phase, e| {
        if let (Phase::Appending, Event::Advanced { messages_done, .. }) = (phase, e)
            && *messages_done == stop_after
        {
            cancel.cancel();
        }
    })
    .unwrap();
    assert!(first.summary.cancelled);
    assert_eq!(first.summary.appended, stop_after);
    // What a kill in the middle of an append leaves: a file in tmp/, never under cur/.
    fs::write(
        s.after.join("tmp/1700000000.M1P1Q1.host,S=12"),
        b"Subject: cut",
    )
    .unwrap();

    let run = s.restore(&[]);
    assert_eq!(run.code, 0, "{run}");
    let missing = s.sim.count(Expect::Missing) as u64;
    assert!(
        run.stdout
            .contains(&format!("Appended {} messages", missing - stop_after)),
        "{run}"
    );
    let mut got: Vec<String> = added(&untouched, &tree(&s.after))
        .iter()
        .filter(|(p, _)| p.parent().and_then(Path::file_name) == Some("cur".as_ref()))
        .filter_map(|(_, v)| v.as_ref().map(|(b, _)| sha256_hex(b)))
        .collect();
    got.sort();
    assert_eq!(got, s.missing_digests(), "each missing copy once");
}

#[test]
fn a_new_maildir_receives_the_whole_archive() {
    let s = setup(Account::Imap, Layout::MboxTree);
    let fresh = s.dir.path().join("fresh");
    let spec = fresh.to_str().unwrap();
    let dry = Mailproof::run(&["restore", s.archive.to_str().unwrap(), spec, "--dry-run"]);
    assert_eq!(dry.code, 1, "{dry}");
    assert!(!fresh.exists(), "a dry run created the mailbox");
    let run = Mailproof::run(&["restore", s.archive.to_str().unwrap(), spec]);
    assert_eq!(run.code, 0, "{run}");
    let receipt: Receipt = mailproof_engine::archive::read_receipt(&s.archive).unwrap();
    assert!(
        run.stdout
            .contains(&format!("Appended {} messages", receipt.messages.len())),
        "{run}"
    );
}

#[test]
fn destinations_that_cannot_be_appended_to_are_refused() {
    let s = setup(Account::Imap, Layout::MboxTree);
    let archive = s.archive.to_str().unwrap();
    // An account that cannot be reached: a connection error, before anything is read.
    let imap = Mailproof::run(&["restore", archive, "imaps://me@127.0.0.1:1"]);
    assert_eq!(imap.code, 2, "{imap}");
    assert!(imap.stderr.contains("cannot connect"), "{imap}");
    let mbox = s.dir.path().join("before/INBOX");
    let run = Mailproof::run(&["restore", archive, mbox.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("Maildir"), "{run}");
    let nowhere = s.dir.path().join("no/such/dir");
    let run = Mailproof::run(&["restore", archive, nowhere.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run}");
}
