//! `mailproof check` end to end, through the real command: simulated migrations whose every
//! change is known in advance (`mailproof_tests::migrate`), and the same real mail stored two
//! ways (the corpus). Reports are read as docs/check-report.md describes them.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use mailproof_engine::identity::identify;
use mailproof_engine::receipt::Receipt;
use mailproof_tests::cli::{Mailproof, corpus};
use mailproof_tests::migrate::{
    self, Account, Change, Expect, Fate, FolderChange, Migration, Options, sha256_hex,
};
use serde::Deserialize;

const SEED: u64 = 20_240_917;

/// The JSON report; a field the issue requires that is absent fails the parse.
#[derive(Debug, Deserialize)]
struct Report {
    schema: String,
    verdict: String,
    complete: bool,
    totals: Totals,
    folders: Vec<FolderRow>,
    mapping: Vec<Mapping>,
    differences: Vec<Difference>,
}

#[derive(Debug, Deserialize, Clone, Default, PartialEq, Eq)]
struct Totals {
    before: u64,
    after: u64,
    identical: u64,
    normalised: u64,
    reencoded: u64,
    altered: u64,
    moved: u64,
    lost_placements: u64,
    missing: u64,
    new: u64,
    duplicates: u64,
    placements: u64,
    excluded: u64,
    unidentified: u64,
    duplicates_collapsed: u64,
    arrived_after: u64,
    unique_before: u64,
    unique_after: u64,
}

#[derive(Debug, Deserialize, Clone, Default, PartialEq, Eq)]
struct FolderRow {
    before: Option<String>,
    after: Option<String>,
    before_count: u64,
    after_count: u64,
    identical: u64,
    normalised: u64,
    reencoded: u64,
    altered: u64,
    moved: u64,
    lost_placements: u64,
    missing: u64,
    moved_in: u64,
    new: u64,
    duplicates: u64,
    placements: u64,
    excluded: u64,
}

#[derive(Debug, Deserialize)]
struct Mapping {
    before: Option<String>,
    after: Option<String>,
    rule: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
struct Difference {
    status: String,
    #[serde(rename = "match")]
    grade: Option<String>,
    cause: String,
    reason: String,
    before_folder: Option<String>,
    after_folder: Option<String>,
    message_id: Option<String>,
    digest: String,
    date: Option<i64>,
    from: Option<String>,
    subject: Option<String>,
}

impl Difference {
    /// The folder the difference is about: where the message was, or for copies only in the
    /// new mailbox, where it is.
    fn folder(&self) -> Option<String> {
        match self.status.as_str() {
            "new" | "duplicate" | "placement" | "excluded" => self.after_folder.clone(),
            _ => self.before_folder.clone(),
        }
    }
}

/// A simulated migration on disk, with a receipt of BEFORE taken through the command.
struct Setup {
    dir: tempfile::TempDir,
    sim: Migration,
    after: PathBuf,
    receipt: PathBuf,
    code: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Maildir,
    /// mbox files with delivery times in their From_ lines, which the Maildir AFTER lacks.
    MboxTree,
}

/// An hour from now: the simulated migration happens after the receipt is taken.
fn soon() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    now.as_secs() as i64 + 3600
}

fn setup(options: Options, layout: Layout) -> Setup {
    let sim = migrate::simulate(&options.migrated_at(soon()));
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before");
    match layout {
        Layout::Maildir => sim.before.write_maildir(&before).unwrap(),
        Layout::MboxTree => sim.before.write_mbox_tree(&before).unwrap(),
    }
    let after = dir.path().join("after");
    sim.after.write_maildir(&after).unwrap();
    let receipt = dir.path().join("before.receipt");
    let run = Mailproof::run(&[
        "receipt",
        before.to_str().unwrap(),
        "-o",
        receipt.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run}");
    let r = Receipt::load(&receipt).unwrap();
    // The receipt holds BEFORE exactly as the plan wrote it.
    let mut got: Vec<(String, String)> = r
        .messages
        .iter()
        .map(|m| (r.folders[m.folder].name(), m.identity.digest.clone()))
        .collect();
    let mut want: Vec<(String, String)> = sim
        .fates
        .iter()
        .filter_map(|f| Some((f.before_folder.clone()?, f.digest.clone())))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "the receipt of BEFORE differs from the plan");
    if layout == Layout::MboxTree {
        // Every internal date is set in BEFORE; the Maildir AFTER has none (reset).
        assert!(r.messages.iter().all(|m| m.internal_date.is_some()));
    }
    let code = r.code().expect("a sealed receipt has a code").to_string();
    Setup {
        dir,
        sim,
        after,
        receipt,
        code,
    }
}

impl Setup {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, extra: &[&str]) -> Mailproof {
        let mut args = vec![
            "check",
            self.receipt.to_str().unwrap(),
            self.after.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        Mailproof::run(&args)
    }

    /// Runs `check RECEIPT AFTER --json F EXTRA…`; returns the run and the parsed report.
    fn check(&self, extra: &[&str]) -> (Mailproof, Report) {
        let json = self.path(&format!(
            "report-{}.json",
            extra.join("-").replace('/', "_")
        ));
        let mut args = vec!["--json", json.to_str().unwrap()];
        args.extend_from_slice(extra);
        let run = self.run(&args);
        assert!(run.code == 0 || run.code == 1, "{run}");
        (run, read_report(&json))
    }
}

fn read_report(path: &Path) -> Report {
    let text = fs::read_to_string(path).unwrap();
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the JSON report lacks a required field: {e}\n{text}"))
}

/// What the plan expects of one copy once the user's folder mappings are applied: a folder
/// no rule can guess holds messages reported moved until the user maps it.
fn effective(f: &Fate, mapped: &[&str]) -> Expect {
    let by_user = f
        .before_folder
        .as_deref()
        .is_some_and(|b| mapped.contains(&b));
    if f.change == Change::FolderRenamed && by_user {
        Expect::Identical
    } else {
        f.expect
    }
}

/// The cause the report must name for a planted change.
fn expected_cause(f: &Fate) -> &'static str {
    match f.change {
        Change::TraceHeaders
        | Change::ExchangeHeaders
        | Change::ToCrlf
        | Change::ToLf
        | Change::Unfolded
        | Change::Refolded => "headers_or_line_endings",
        Change::ToolHeader
        | Change::Base64Rewrapped
        | Change::QpToBase64
        | Change::NewBoundaries => "reencoded",
        Change::MessageIdRewritten => "message_id_rewritten",
        Change::AttachmentStripped if f.message_id.is_some() => "content_altered",
        Change::AttachmentStripped => "recognised_by_content",
        Change::Moved => "moved",
        Change::FolderRenamed | Change::FolderLost => "folder_missing_after",
        Change::Dropped if f.message_id.is_some() => "not_found",
        Change::Dropped => "unidentified",
        Change::DuplicateCopyDropped => "duplicate_collapsed",
        Change::Duplicated => "extra_copy",
        Change::NewMail => "arrived_after_receipt",
        Change::PlacementDropped => "label_removed",
        Change::Untouched => unreachable!("untouched copies are no differences"),
    }
}

/// Key of a difference: status, digest, the folder it is about.
type Key = (String, String, Option<String>);

fn expected_key(f: &Fate, expect: Expect) -> Key {
    let folder = if expect.after_only() {
        f.after_folder.clone()
    } else {
        f.before_folder.clone()
    };
    (expect.status().to_string(), f.digest.clone(), folder)
}

fn report_key(d: &Difference) -> Key {
    (d.status.clone(), d.digest.clone(), d.folder())
}

/// Removes one of each `take` from `from`, returning what `take` had that `from` lacked.
fn multiset_minus(from: &mut Vec<Key>, take: &[Key]) -> Vec<Key> {
    let mut lacking = Vec::new();
    for k in take {
        match from.iter().position(|x| x == k) {
            Some(i) => {
                from.swap_remove(i);
            }
            None => lacking.push(k.clone()),
        }
    }
    lacking
}

fn describe(keys: &[Key], sim: &Migration) -> String {
    keys.iter()
        .map(|(status, digest, folder)| {
            let f = sim.fates.iter().find(|f| &f.digest == digest);
            format!(
                "  {status} {} in {folder:?}: {:?} planted as {:?}",
                &digest[..12],
                f.and_then(|f| f.subject.clone()),
                f.map(|f| (f.change, f.expect.status()))
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The report's differences are exactly the plan's non-identical copies, each with the cause,
/// the folders and the fields a person recognises the message by.
fn assert_differences(sim: &Migration, report: &Report, mapped: &[&str]) {
    let planned: Vec<(&Fate, Expect)> = sim
        .fates
        .iter()
        .map(|f| (f, effective(f, mapped)))
        .filter(|(_, e)| *e != Expect::Identical)
        .collect();
    let want: Vec<Key> = planned.iter().map(|(f, e)| expected_key(f, *e)).collect();
    let mut unexpected: Vec<Key> = report.differences.iter().map(report_key).collect();
    let lacking = multiset_minus(&mut unexpected, &want);
    assert!(
        lacking.is_empty() && unexpected.is_empty(),
        "differences not as planned\nplanned but not reported:\n{}\nreported but not planned:\n{}\nplan:\n{}",
        describe(&lacking, sim),
        describe(&unexpected, sim),
        sim.table()
    );
    for d in &report.differences {
        let (f, _) = planned
            .iter()
            .find(|(f, e)| expected_key(f, *e) == report_key(d))
            .expect("matched above");
        assert_eq!(d.message_id, f.message_id, "message_id of {d:?}");
        assert_eq!(d.from.as_deref(), Some(f.from.as_str()), "from of {d:?}");
        assert_eq!(d.date, Some(f.date), "date of {d:?}");
        if let Some(subject) = &f.subject {
            assert_eq!(d.subject.as_ref(), Some(subject), "subject of {d:?}");
        }
        assert_eq!(d.cause, expected_cause(f), "cause of {d:?}");
        assert!(!d.reason.trim().is_empty(), "no reason given: {d:?}");
        match f.expect {
            Expect::Moved => {
                assert_eq!(d.after_folder, f.after_folder, "after_folder of {d:?}");
                assert_eq!(d.grade.as_deref(), Some("identical"), "{d:?}");
            }
            Expect::Normalised | Expect::Reencoded | Expect::Altered => {
                assert_eq!(d.after_folder, f.after_folder, "after_folder of {d:?}");
                assert_eq!(d.grade.as_deref(), Some(f.expect.status()), "{d:?}");
            }
            Expect::Missing | Expect::LostPlacement => {
                assert_eq!(d.after_folder, None, "{d:?}");
            }
            Expect::New | Expect::Duplicate | Expect::Identical => {
                assert_eq!(d.before_folder, None, "{d:?}");
            }
        }
    }
    // Nothing that arrived (moved, re-encoded, a label lost…) is called missing.
    for d in report.differences.iter().filter(|d| d.status == "missing") {
        assert!(
            sim.fates
                .iter()
                .any(|f| f.digest == d.digest && f.expect == Expect::Missing),
            "reported missing but it arrived: {d:?}"
        );
    }
}

fn distinct<'a>(digests: impl Iterator<Item = &'a String>) -> u64 {
    digests.collect::<BTreeSet<_>>().len() as u64
}

fn planned_totals(sim: &Migration, mapped: &[&str]) -> Totals {
    let n = |e: Expect| {
        sim.fates
            .iter()
            .filter(|f| effective(f, mapped) == e)
            .count() as u64
    };
    let missing = || sim.expected(Expect::Missing);
    Totals {
        before: sim.before.count() as u64,
        after: sim.after.count() as u64,
        identical: n(Expect::Identical),
        normalised: n(Expect::Normalised),
        reencoded: n(Expect::Reencoded),
        altered: n(Expect::Altered),
        moved: n(Expect::Moved),
        lost_placements: n(Expect::LostPlacement),
        missing: n(Expect::Missing),
        new: n(Expect::New),
        duplicates: n(Expect::Duplicate),
        placements: 0,
        excluded: 0,
        unidentified: missing()
            .filter(|f| f.message_id.is_none() && f.change != Change::DuplicateCopyDropped)
            .count() as u64,
        duplicates_collapsed: missing()
            .filter(|f| f.change == Change::DuplicateCopyDropped)
            .count() as u64,
        arrived_after: n(Expect::New),
        unique_before: distinct(
            sim.fates
                .iter()
                .filter(|f| f.before_folder.is_some())
                .map(|f| &f.digest),
        ),
        unique_after: distinct(sim.fates.iter().filter_map(|f| f.after_digest.as_ref())),
    }
}

/// The totals are the plan's, and they reconcile both ways as docs/check-report.md says.
fn assert_totals(sim: &Migration, t: &Totals, mapped: &[&str]) {
    assert_eq!(
        t,
        &planned_totals(sim, mapped),
        "totals (reported, planned)"
    );
    let arrived = t.identical + t.normalised + t.reencoded + t.altered + t.moved;
    assert_eq!(
        t.before,
        arrived + t.lost_placements + t.missing,
        "before does not reconcile: {t:?}"
    );
    assert_eq!(
        t.after,
        arrived + t.new + t.duplicates + t.placements + t.excluded,
        "after does not reconcile: {t:?}"
    );
}

/// The folder rows the plan predicts: one per BEFORE folder (with its AFTER counterpart, if
/// mapped), then one per AFTER folder nothing maps to.
fn planned_rows(sim: &Migration, mapped: &[&str]) -> Vec<FolderRow> {
    let mut rows: Vec<FolderRow> = sim
        .folders
        .iter()
        .map(|f| {
            let by_rule = f.change != FolderChange::Unguessable;
            FolderRow {
                before: Some(f.before.clone()),
                after: f
                    .after
                    .clone()
                    .filter(|_| by_rule || mapped.contains(&f.before.as_str())),
                ..FolderRow::default()
            }
        })
        .collect();
    for f in &sim.after.folders {
        if !rows.iter().any(|r| r.after.as_deref() == Some(&f.name())) {
            rows.push(FolderRow {
                after: Some(f.name()),
                ..FolderRow::default()
            });
        }
    }
    let row_of_before = |rows: &[FolderRow], name: &str| {
        rows.iter()
            .position(|r| r.before.as_deref() == Some(name))
            .unwrap()
    };
    let row_of_after = |rows: &[FolderRow], name: &str| {
        rows.iter()
            .position(|r| r.after.as_deref() == Some(name))
            .unwrap()
    };
    for f in &sim.fates {
        let e = effective(f, mapped);
        if let Some(b) = &f.before_folder {
            let i = row_of_before(&rows, b);
            let r = &mut rows[i];
            r.before_count += 1;
            match e {
                Expect::Identical => r.identical += 1,
                Expect::Normalised => r.normalised += 1,
                Expect::Reencoded => r.reencoded += 1,
                Expect::Altered => r.altered += 1,
                Expect::Moved => r.moved += 1,
                Expect::Missing => r.missing += 1,
                Expect::LostPlacement => r.lost_placements += 1,
                Expect::New | Expect::Duplicate => unreachable!(),
            }
        }
        if let Some(a) = &f.after_folder {
            let i = row_of_after(&rows, a);
            let r = &mut rows[i];
            r.after_count += 1;
            match e {
                Expect::Moved => r.moved_in += 1,
                Expect::New => r.new += 1,
                Expect::Duplicate => r.duplicates += 1,
                _ => {}
            }
        }
    }
    rows
}

/// Every folder has its row, mapped as planned, with the plan's counts, and each row adds up.
fn assert_folders(sim: &Migration, report: &Report, mapped: &[&str]) {
    let key = |r: &FolderRow| (r.before.clone(), r.after.clone());
    let mut want = planned_rows(sim, mapped);
    let mut got = report.folders.clone();
    want.sort_by_key(key);
    got.sort_by_key(key);
    assert_eq!(got, want, "folder rows (reported, planned)");
    for r in &report.folders {
        assert_eq!(
            r.before_count,
            r.identical
                + r.normalised
                + r.reencoded
                + r.altered
                + r.moved
                + r.lost_placements
                + r.missing,
            "before_count of {r:?} does not add up"
        );
        assert_eq!(
            r.after_count + r.moved + r.lost_placements + r.missing,
            r.before_count + r.moved_in + r.new + r.duplicates + r.placements + r.excluded,
            "after_count of {r:?} does not add up"
        );
    }
}

/// The report shows the mapping it used, with the rule that made each pair.
fn assert_mapping(sim: &Migration, report: &Report, mapped: &[&str]) {
    for f in &sim.folders {
        let m = report
            .mapping
            .iter()
            .find(|m| m.before.as_deref() == Some(f.before.as_str()))
            .unwrap_or_else(|| panic!("{} not in the mapping: {:?}", f.before, report.mapping));
        let rules: &[&str] = if mapped.contains(&f.before.as_str()) {
            &["override"]
        } else {
            match f.change {
                FolderChange::Kept => &["same_name"],
                FolderChange::WellKnownName => &["special_use", "well_known_name"],
                FolderChange::InboxPrefix | FolderChange::Separator | FolderChange::Case => {
                    &["similar_name"]
                }
                FolderChange::Cut => &["cut_name"],
                FolderChange::Unguessable | FolderChange::Lost => &[],
            }
        };
        match &m.rule {
            Some(rule) => {
                assert!(rules.contains(&rule.as_str()), "{}: {m:?}", f.before);
                assert_eq!(m.after, f.after, "{}: {m:?}", f.before);
            }
            None => assert!(rules.is_empty() && m.after.is_none(), "{}: {m:?}", f.before),
        }
    }
}

/// A tiny RFC 4180 reader: quoted fields may hold commas, quotes and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => row.push(std::mem::take(&mut field)),
            '\r' if !quoted => {}
            '\n' if !quoted => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// One CSV row per difference, with the same status, digest, folder and subject.
fn assert_csv(path: &Path, report: &Report) {
    let text = fs::read_to_string(path).unwrap();
    let rows = parse_csv(text.trim_start_matches('\u{feff}'));
    let (header, rows) = rows.split_first().expect("a CSV header");
    assert_eq!(
        rows.len(),
        report.differences.len(),
        "one CSV row per difference\n{text}"
    );
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column: {header:?}"))
    };
    let cols = [
        col("status"),
        col("digest"),
        col("before_folder"),
        col("after_folder"),
        col("subject"),
    ];
    let mut from_csv: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            cols.iter().map(|&i| r[i].clone()).collect()
        })
        .collect();
    let mut from_json: Vec<Vec<String>> = report
        .differences
        .iter()
        .map(|d| {
            vec![
                d.status.clone(),
                d.digest.clone(),
                d.before_folder.clone().unwrap_or_default(),
                d.after_folder.clone().unwrap_or_default(),
                d.subject.clone().unwrap_or_default(),
            ]
        })
        .collect();
    from_csv.sort();
    from_json.sort();
    assert_eq!(from_csv, from_json);
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn messages(n: u64) -> String {
    if n == 1 {
        "1 message is".into()
    } else {
        format!("{} messages are", thousands(n))
    }
}

#[test]
fn planted_changes_are_what_the_engine_sees() {
    for (seed, account) in (SEED..SEED + 8).flat_map(|s| [(s, Account::Imap), (s, Account::Gmail)])
    {
        let sim = migrate::simulate(&Options::new(seed, account));
        let bytes: HashMap<String, &[u8]> = sim
            .before
            .folders
            .iter()
            .chain(&sim.after.folders)
            .flat_map(|f| &f.messages)
            .map(|s| (sha256_hex(&s.bytes), s.bytes.as_slice()))
            .collect();
        for f in &sim.fates {
            let b = identify(bytes[&f.digest]);
            assert_eq!(b.message_id, f.message_id, "{f:?}");
            assert_eq!(b.from.as_deref(), Some(f.from.as_str()), "{f:?}");
            assert_eq!(b.date, Some(f.date), "{f:?}");
            if f.subject.is_some() {
                assert_eq!(b.subject, f.subject, "{f:?}");
            }
            let Some(after) = &f.after_digest else {
                continue;
            };
            let a = identify(bytes[after]);
            match f.expect {
                Expect::Identical | Expect::Moved | Expect::Duplicate | Expect::New => {
                    assert_eq!(a.digest, b.digest, "{f:?}");
                }
                Expect::Normalised => {
                    assert_ne!(a.digest, b.digest, "{f:?}");
                    assert_eq!(a.canonical, b.canonical, "{f:?}");
                }
                Expect::Reencoded => {
                    assert_ne!(a.canonical, b.canonical, "{f:?}");
                    assert_eq!(a.fingerprint, b.fingerprint, "{f:?}");
                }
                Expect::Altered => {
                    assert_ne!(a.fingerprint, b.fingerprint, "{f:?}");
                    assert_eq!(a.tolerant, b.tolerant, "{f:?}");
                    assert_eq!((a.date, &a.from), (b.date, &b.from), "{f:?}");
                }
                Expect::Missing | Expect::LostPlacement => unreachable!("{f:?}"),
            }
        }
    }
}

#[test]
fn every_planted_change_is_classified_exactly() {
    let s = setup(Options::new(SEED, Account::Imap), Layout::MboxTree);
    let csv = s.path("report.csv");
    let (run, report) = s.check(&["--csv", csv.to_str().unwrap()]);
    assert!(report.schema.starts_with("mailproof-check-report/"));
    assert_differences(&s.sim, &report, &[]);
    assert_totals(&s.sim, &report.totals, &[]);
    assert_folders(&s.sim, &report, &[]);
    assert_mapping(&s.sim, &report, &[]);
    assert_csv(&csv, &report);

    let missing = s.sim.count(Expect::Missing) as u64;
    assert!(missing > 0);
    assert_eq!(run.code, 1, "something is missing: {run}");
    assert!(!report.complete);
    let altered = s.sim.count(Expect::Altered) as u64;
    assert_eq!(
        report.verdict,
        format!(
            "{} missing from your new mailbox; {altered} arrived altered.",
            messages(missing)
        )
    );
    // stdout: the verdict first, then every missing message by subject and folder.
    assert!(run.stdout.starts_with(&report.verdict), "{run}");
    for f in s.sim.expected(Expect::Missing) {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(f.subject.as_deref().unwrap()))
            .unwrap_or_else(|| panic!("{:?} not listed: {run}", f.subject));
        let folder = f.before_folder.as_deref().unwrap();
        assert!(line.contains(&folder[..folder.len().min(28)]), "{line}");
    }
}

#[test]
fn normalised_reasons_name_the_changed_headers() {
    let s = setup(Options::new(SEED, Account::Imap), Layout::Maildir);
    let (_, report) = s.check(&[]);
    for f in s.sim.expected(Expect::Normalised) {
        let d = report
            .differences
            .iter()
            .find(|d| d.digest == f.digest)
            .unwrap();
        let named: &[&str] = match f.change {
            Change::TraceHeaders => &["received", "x-tuid"],
            Change::ExchangeHeaders => &["x-ms-exchange-organization-authas"],
            Change::ToCrlf => &["LF → CRLF"],
            Change::ToLf => &["CRLF → LF"],
            Change::Unfolded | Change::Refolded => &["folding"],
            other => panic!("{other:?}"),
        };
        for n in named {
            assert!(
                d.reason.contains(n),
                "{:?}: {n} not named in {d:?}",
                f.change
            );
        }
    }
}

#[test]
fn a_migration_without_losses_exits_0() {
    let s = setup(
        Options::new(SEED, Account::Imap).lossless(),
        Layout::Maildir,
    );
    let (run, report) = s.check(&[]);
    assert_differences(&s.sim, &report, &[]);
    assert_totals(&s.sim, &report.totals, &[]);
    assert_folders(&s.sim, &report, &[]);
    assert_eq!(report.totals.missing, 0);
    assert!(report.complete);
    assert_eq!(run.code, 0, "nothing is missing: {run}");
    assert_eq!(
        report.verdict,
        format!(
            "All {} messages are in your new mailbox; {} arrived altered.",
            s.sim.before.count(),
            s.sim.count(Expect::Altered)
        )
    );
}

#[test]
fn the_summary_has_the_verdict_and_code_and_no_details() {
    let s = setup(Options::new(SEED, Account::Imap), Layout::Maildir);
    let (_, report) = s.check(&[]);
    let run = s.run(&["--summary"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains(&report.verdict), "{run}");
    assert!(run.stdout.contains(&s.code), "no receipt code: {run}");
    assert!(
        run.stdout.lines().count() <= 10,
        "a summary is short: {run}"
    );
    let leaks = |text: &str| -> Vec<String> {
        let mut found = Vec::new();
        for f in &s.sim.fates {
            for v in [
                f.subject.clone(),
                Some(f.from.clone()),
                f.message_id.clone(),
            ]
            .into_iter()
            .flatten()
            {
                if text.contains(&v) {
                    found.push(v);
                }
            }
        }
        found
    };
    assert_eq!(leaks(&run.stdout), Vec::<String>::new(), "{run}");
    assert!(
        !run.stdout.contains('@'),
        "an address in the summary: {run}"
    );
    assert!(
        !run.stdout.contains(s.dir.path().to_str().unwrap()),
        "a path in the summary: {run}"
    );
    // With details, the missing messages are named.
    let run = s.run(&["--summary", "--with-details"]);
    assert_eq!(run.code, 1, "{run}");
    for f in s.sim.expected(Expect::Missing) {
        let subject = f.subject.as_deref().unwrap();
        assert!(run.stdout.contains(subject), "{subject}: {run}");
    }
}

#[test]
fn a_user_mapping_overrides_the_folder_map() {
    let s = setup(Options::new(SEED, Account::Imap), Layout::Maildir);
    let (_, plain) = s.check(&[]);
    let (run, mapped) = s.check(&["--map", "Receipts=Quittungen"]);
    assert_eq!(run.code, 1, "{run}");
    let renamed = s
        .sim
        .fates
        .iter()
        .filter(|f| f.change == Change::FolderRenamed)
        .count() as u64;
    assert_eq!(renamed, 3);
    assert_eq!(mapped.totals.moved, plain.totals.moved - renamed);
    assert_eq!(mapped.totals.identical, plain.totals.identical + renamed);
    assert_differences(&s.sim, &mapped, &["Receipts"]);
    assert_totals(&s.sim, &mapped.totals, &["Receipts"]);
    assert_folders(&s.sim, &mapped, &["Receipts"]);
    assert_mapping(&s.sim, &mapped, &["Receipts"]);
    // The same from a map file; a user mapping wins over a rule.
    let file = s.path("folders.map");
    fs::write(
        &file,
        "# old = new\nReceipts = Quittungen\n\nTrash=Junk E-mail\n",
    )
    .unwrap();
    let (_, from_file) = s.check(&["--map-file", file.to_str().unwrap()]);
    let row = |name: &str| {
        from_file
            .folders
            .iter()
            .find(|r| r.before.as_deref() == Some(name))
            .unwrap()
            .clone()
    };
    assert_eq!(row("Receipts").after.as_deref(), Some("Quittungen"));
    assert_eq!(row("Trash").after.as_deref(), Some("Junk E-mail"));
    assert_eq!(row("Receipts").identical, renamed);
    // Mappings that are malformed or name no folder are usage errors.
    for bad in ["no equals sign", "Nowhere=INBOX", "INBOX=Nowhere"] {
        let run = s.run(&["--map", bad]);
        assert_eq!(run.code, 2, "{bad}: {run}");
        assert!(run.stdout.is_empty(), "{run}");
    }
}

#[test]
fn gmail_labels_lose_placements_not_mail() {
    let s = setup(
        Options::new(SEED, Account::Gmail).lossless(),
        Layout::Maildir,
    );
    let (run, report) = s.check(&[]);
    assert_differences(&s.sim, &report, &[]);
    assert_totals(&s.sim, &report.totals, &[]);
    assert_folders(&s.sim, &report, &[]);
    assert_mapping(&s.sim, &report, &[]);
    assert_eq!(report.totals.missing, 0, "{:?}", report.totals);
    assert_eq!(report.totals.lost_placements, 2, "{:?}", report.totals);
    assert_eq!(run.code, 0, "only placements were lost: {run}");
    let unique = planned_totals(&s.sim, &[]).unique_before;
    assert!(
        report.verdict.starts_with(&format!(
            "All {unique} messages are in your new mailbox; 2 of their {} folder placements",
            s.sim.before.count()
        )),
        "{}",
        report.verdict
    );
}

#[test]
fn gmail_messages_lost_everywhere_are_missing() {
    let s = setup(Options::new(SEED, Account::Gmail), Layout::Maildir);
    let (run, report) = s.check(&[]);
    assert_differences(&s.sim, &report, &[]);
    assert_totals(&s.sim, &report.totals, &[]);
    assert_folders(&s.sim, &report, &[]);
    assert_eq!(run.code, 1, "{run}");
}

/// In a label-style mailbox a message is one message however many folders hold it; the issue
/// asks for unique messages and placements to be counted separately.
#[test]
fn gmail_verdict_counts_messages_not_placements() {
    let s = setup(Options::new(SEED, Account::Gmail), Layout::Maildir);
    let (_, report) = s.check(&[]);
    let lost: BTreeSet<usize> = s.sim.expected(Expect::Missing).map(|f| f.message).collect();
    let placements = s.sim.count(Expect::Missing);
    assert!(lost.len() < placements, "the plan loses a labelled message");
    let sentence = format!(
        "{} missing from your new mailbox",
        messages(lost.len() as u64)
    );
    assert!(
        report.verdict.starts_with(&sentence),
        "{} messages ({placements} placements) are missing, the verdict says: {}",
        lost.len(),
        report.verdict
    );
}

/// Splits an mboxrd file into messages: a separator is a `From ` line at the start or after an
/// empty line (which belongs to it), and one `>` is removed from lines matching `^>+From `.
fn split_mboxrd(data: &[u8]) -> Vec<Vec<u8>> {
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut prev_empty = true;
    for line in data.split_inclusive(|&c| c == b'\n') {
        if prev_empty && line.starts_with(b"From ") {
            if let Some(last) = messages.last_mut() {
                last.pop();
            }
            messages.push(Vec::new());
            prev_empty = false;
            continue;
        }
        prev_empty = line == b"\n";
        let msg = messages
            .last_mut()
            .expect("the file starts with a From line");
        let gt = line.iter().take_while(|&&c| c == b'>').count();
        if gt > 0 && line[gt..].starts_with(b"From ") {
            msg.extend_from_slice(&line[1..]);
        } else {
            msg.extend_from_slice(line);
        }
    }
    if let Some(last) = messages.last_mut()
        && last.ends_with(b"\n\n")
    {
        last.pop();
    }
    messages
}

/// The open-iscsi mbox, its messages checked against the corpus manifest, and a receipt.
fn open_iscsi(corpus: &Path, dir: &Path) -> (PathBuf, Vec<Vec<u8>>, Receipt) {
    let base = corpus.join("mbox-open-iscsi");
    let mbox = base.join("open-iscsi.mboxrd");
    let messages = split_mboxrd(&fs::read(&mbox).unwrap());
    let manifest = fs::read_to_string(base.join("manifest.tsv")).unwrap();
    let digests: Vec<&str> = manifest
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').nth(3).unwrap())
        .collect();
    let ours: Vec<String> = messages.iter().map(|m| sha256_hex(m)).collect();
    assert_eq!(ours, digests, "the split differs from the corpus manifest");
    let receipt = dir.join("mbox.receipt");
    let run = Mailproof::run(&[
        "receipt",
        mbox.to_str().unwrap(),
        "-o",
        receipt.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run}");
    (mbox, messages, Receipt::load(&receipt).unwrap())
}

/// Writes the messages as a Maildir: a Maildir++ folder of that name, or the root (INBOX) when
/// `folder` is `None`; the messages at the indices in `skip` are left out.
fn write_maildir(dir: &Path, folder: Option<&str>, messages: &[Vec<u8>], skip: &[usize]) {
    let sub = match folder {
        Some(name) => dir.join(format!(".{name}")),
        None => dir.to_path_buf(),
    };
    for leaf in ["cur", "new", "tmp"] {
        fs::create_dir_all(sub.join(leaf)).unwrap();
    }
    if folder.is_some() {
        fs::write(sub.join("maildirfolder"), b"").unwrap();
    }
    for (i, m) in messages.iter().enumerate() {
        if !skip.contains(&i) {
            let name = format!("{}.M{i}P1.corpus,S={}:2,S", 1_600_000_000 + i, m.len());
            fs::write(sub.join("cur").join(name), m).unwrap();
        }
    }
}

fn check_json(before: &Path, after: &Path, json: &Path) -> (Mailproof, Report) {
    let run = Mailproof::run(&[
        "check",
        before.to_str().unwrap(),
        after.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(run.code == 0 || run.code == 1, "{run}");
    (run, read_report(json))
}

#[test]
fn an_mbox_and_the_same_mail_as_maildir_match() {
    let Some(corpus) = corpus() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mbox, messages, receipt) = open_iscsi(&corpus, dir.path());
    let folder = receipt.folders[0].name();
    // The same folder name, and a plain Maildir whose one folder is INBOX.
    for (i, name) in [Some(folder.as_str()), None].into_iter().enumerate() {
        let maildir = dir.path().join(format!("maildir-{i}"));
        write_maildir(&maildir, name, &messages, &[]);
        // From the receipt and from the mbox itself.
        for before in [dir.path().join("mbox.receipt"), mbox.clone()] {
            let (run, report) = check_json(&before, &maildir, &dir.path().join("r.json"));
            assert_eq!(run.code, 0, "{run}");
            let t = &report.totals;
            assert_eq!(
                (t.before, t.after, t.identical),
                (1233, 1233, 1233),
                "{t:?}"
            );
            assert!(report.differences.is_empty(), "{:?}", report.differences);
            assert_eq!(
                report.verdict,
                "All 1,233 messages are in your new mailbox."
            );
            assert_eq!(report.folders.len(), 1, "{:?}", report.folders);
        }
    }
}

#[test]
fn messages_deleted_from_the_maildir_are_named() {
    let Some(corpus) = corpus() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, messages, receipt) = open_iscsi(&corpus, dir.path());
    let folder = receipt.folders[0].name();
    let maildir = dir.path().join("maildir");
    let deleted = [0, 1, 404, 1000, 1232];
    write_maildir(&maildir, Some(&folder), &messages, &deleted);
    let (run, report) = check_json(
        &dir.path().join("mbox.receipt"),
        &maildir,
        &dir.path().join("r.json"),
    );
    assert_eq!(run.code, 1, "{run}");
    // A copy of the same bytes elsewhere in the file would make a deleted one a collapsed
    // duplicate; there is none here.
    let all: BTreeSet<&Vec<u8>> = messages.iter().collect();
    assert_eq!(all.len(), messages.len());
    let mut want: Vec<(String, Option<String>, Option<String>)> = deleted
        .iter()
        .map(|&i| {
            let r = &receipt.messages[i];
            (
                r.identity.digest.clone(),
                r.identity.subject.clone(),
                r.identity.message_id.clone(),
            )
        })
        .collect();
    let mut got: Vec<(String, Option<String>, Option<String>)> = report
        .differences
        .iter()
        .map(|d| {
            assert_eq!(d.status, "missing", "{d:?}");
            assert_eq!(d.before_folder.as_deref(), Some(folder.as_str()), "{d:?}");
            (d.digest.clone(), d.subject.clone(), d.message_id.clone())
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let t = &report.totals;
    assert_eq!((t.missing, t.identical, t.after), (5, 1228, 1228), "{t:?}");
    assert_eq!(
        report.verdict,
        "5 messages are missing from your new mailbox."
    );
    for (_, subject, _) in &want {
        assert!(run.stdout.contains(subject.as_deref().unwrap()), "{run}");
    }
}

/// Identity is by content: a receipt against itself and a mailbox against its own receipt
/// report nothing missing, and the check is the same whichever form AFTER takes.
#[test]
fn receipts_and_mailboxes_check_alike() {
    let s = setup(Options::new(SEED, Account::Imap), Layout::Maildir);
    let after_receipt = s.path("after.receipt");
    let run = Mailproof::run(&[
        "receipt",
        s.after.to_str().unwrap(),
        "-o",
        after_receipt.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run}");
    let (_, live) = s.check(&[]);
    let (_, from_receipt) = check_json(&s.receipt, &after_receipt, &s.path("r2.json"));
    assert_eq!(live.totals, from_receipt.totals);
    assert_eq!(live.folders, from_receipt.folders);
    let same = check_json(&s.receipt, &s.receipt, &s.path("r3.json"));
    assert_eq!(same.0.code, 0, "{}", same.0);
    let t = &same.1.totals;
    assert_eq!(
        (t.identical, t.before, t.after),
        (t.before, t.after, t.before)
    );
    assert!(same.1.differences.is_empty());
}

/// `mailproof check … | head`: the reader goes away after one line. The command stops quietly
/// with the status of a command ended by SIGPIPE, not an error message.
#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    // 1,500 missing messages: a listing larger than a pipe holds.
    let dir = tempfile::tempdir().unwrap();
    let (before, after) = (dir.path().join("before"), dir.path().join("after"));
    for d in [&before, &after] {
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
    }
    for n in 0..1500 {
        let message = format!(
            "From: a{n}@example.org\nTo: b@example.org\nSubject: listed message number {n}\n\
             Message-ID: <{n}@example.org>\nDate: Mon, 2 Jan 2023 10:00:00 +0000\n\nbody {n}\n"
        );
        fs::write(before.join(format!("cur/{n}.mail:2,S")), message).unwrap();
    }
    let receipt = dir.path().join("before.receipt");
    let run = Mailproof::run(&[
        "receipt",
        before.to_str().unwrap(),
        "-o",
        receipt.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run}");
    let whole = Mailproof::run(&["check", receipt.to_str().unwrap(), after.to_str().unwrap()]);
    assert_eq!(whole.code, 1, "{whole}");
    assert!(
        whole.stdout.len() > 96 * 1024,
        "{} bytes",
        whole.stdout.len()
    );

    let mut child = Command::new(mailproof_tests::cli::bin())
        .arg("check")
        .arg(&receipt)
        .arg(&after)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("1,500 messages are missing"), "{first}");
    // The pipe is closed here, with most of the listing still to write.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("error"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}
