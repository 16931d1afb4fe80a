//! How fast `mailproof check` reconciles two large receipts, and with how much memory.
//!
//! ```text
//! reconcile [--messages N] [--seed S] [--profile typical|rewritten] [--dir DIR] [--keep] [--json]
//! ```
//!
//! Writes the receipt of a mailbox of N messages (default 1,000,000) in 12 folders and the
//! receipt of the same mailbox after a simulated migration, deterministically, with realistic
//! field sizes (hex digests, Message-IDs, senders, subjects, stripped header names as real
//! receipts hold them), streamed to DIR (default: a folder in the system temp dir, removed
//! afterwards unless `--keep`). Then, as `mailproof check` does, loads both as check catalogs
//! (`check::snapshots`: the two files on two threads), reconciles them, and serialises the
//! JSON report (to nowhere).
//!
//! Planted in AFTER (`typical`): 0.1% dropped, 0.2% moved, 5% normalised (CRLF, a trace header),
//! 0.5% re-encoded, 0.1% altered, 0.05% with a rewritten Message-ID domain, 0.1% duplicated,
//! 0.1% new mail, and Sent renamed Sent Items; BEFORE holds 0.5% duplicates. `rewritten`: every
//! message normalised (an mbox receipt checked against an IMAP server), the case where the
//! first tier finds nothing and every message is a difference. The report's totals are checked
//! against the plan.
//!
//! Each step is timed, and its peak resident size read from /proc/self/status after resetting
//! the peak through /proc/self/clear_refs; the peaks include what earlier steps still hold.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use mailproof_engine::check::{self, CheckReport, text};
use mailproof_engine::identity::{Eol, IDENTITY_VERSION, Identity};
use mailproof_engine::pipeline::Options;
use mailproof_engine::receipt::{
    FORMAT, FolderEnd, FolderRecord, Header, MessageRecord, ReceiptWriter, Record, Totals, VERSION,
};
use mailproof_engine::source::{Role, SourceDescription};

const USAGE: &str = "usage: reconcile [--messages N] [--seed S] [--profile typical|rewritten] [--dir DIR] [--keep] [--json]";

/// (name, role, weight in %) as in `mailgen`; Sent is renamed Sent Items in AFTER.
const FOLDERS: [(&str, Option<Role>, u32); 12] = [
    ("INBOX", Some(Role::Inbox), 20),
    ("Sent", Some(Role::Sent), 12),
    ("Drafts", Some(Role::Drafts), 1),
    ("Trash", Some(Role::Trash), 3),
    ("Archive/2019", None, 9),
    ("Archive/2020", None, 9),
    ("Archive/2021", None, 9),
    ("Archive/2022", None, 9),
    ("Archive/2023", None, 9),
    ("Lists/rust-users", None, 12),
    ("Work/Projects", None, 6),
    ("Priv&AOk-", None, 1),
];

const WORDS: [&str; 32] = [
    "quarterly",
    "budget",
    "review",
    "contract",
    "renewal",
    "storage",
    "cluster",
    "minutes",
    "meeting",
    "invoice",
    "services",
    "travel",
    "partner",
    "visit",
    "draft",
    "proposal",
    "office",
    "release",
    "notes",
    "deployment",
    "schedule",
    "question",
    "support",
    "ticket",
    "photos",
    "team",
    "agenda",
    "Thursday",
    "approval",
    "purchase",
    "order",
    "backup",
];

const STRIPPED: [&[&str]; 3] = [
    &[
        "arc-authentication-results",
        "arc-message-signature",
        "arc-seal",
        "authentication-results",
        "delivered-to",
        "received",
        "return-path",
    ],
    &["received", "return-path"],
    &[
        "delivered-to",
        "received",
        "return-path",
        "x-ms-exchange-organization-authas",
    ],
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    Typical,
    Rewritten,
}

struct Args {
    messages: usize,
    seed: u64,
    profile: Profile,
    dir: PathBuf,
    keep: bool,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        messages: 1_000_000,
        seed: 1,
        profile: Profile::Typical,
        dir: std::env::temp_dir().join(format!("mailproof-bench-reconcile-{}", std::process::id())),
        keep: false,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--messages" | "-n" => {
                a.messages = value(&arg)?
                    .parse()
                    .map_err(|e| format!("--messages: {e}"))?
            }
            "--seed" => a.seed = value(&arg)?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--profile" => {
                a.profile = match value(&arg)?.as_str() {
                    "typical" => Profile::Typical,
                    "rewritten" => Profile::Rewritten,
                    other => return Err(format!("unknown profile {other:?}")),
                }
            }
            "--dir" => a.dir = PathBuf::from(value(&arg)?),
            "--keep" => a.keep = true,
            "--json" => a.json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.messages == 0 {
        return Err("--messages must be at least 1".into());
    }
    Ok(a)
}

/// splitmix64: a fast, well-mixed function of a counter, so message `i` never depends on
/// generation order.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn hex256(seed: u64) -> String {
    (0..4)
        .map(|k| format!("{:016x}", mix(seed ^ (k << 60))))
        .collect()
}

/// What the simulated migration did to one message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Kept,
    Dropped,
    Moved,
    Normalised,
    Reencoded,
    Altered,
    IdRewritten,
    Duplicated,
}

/// One message of BEFORE: its folder, the message it copies (itself, or an earlier one for a
/// duplicate) and its fate.
struct Plan {
    folder: usize,
    original: usize,
    fate: Fate,
}

fn plan(args: &Args) -> Vec<Plan> {
    let total_weight: u32 = FOLDERS.iter().map(|f| f.2).sum();
    (0..args.messages)
        .map(|i| {
            let r = mix(args.seed ^ (i as u64).wrapping_mul(0x1000_0000_01b3));
            let mut w = (r % u64::from(total_weight)) as u32;
            let folder = FOLDERS
                .iter()
                .position(|f| {
                    let hit = w < f.2;
                    w = w.saturating_sub(f.2);
                    hit
                })
                .unwrap_or(0);
            let per_10k = (r >> 32) % 10_000;
            let original = if (r >> 16) % 1000 < 5 && i > 300 {
                i - 1 - ((r >> 40) % 300) as usize
            } else {
                i
            };
            let fate = match args.profile {
                Profile::Rewritten => Fate::Normalised,
                Profile::Typical => match per_10k {
                    0..10 => Fate::Dropped,
                    10..30 => Fate::Moved,
                    30..530 => Fate::Normalised,
                    530..580 => Fate::Reencoded,
                    580..590 => Fate::Altered,
                    590..595 => Fate::IdRewritten,
                    595..605 => Fate::Duplicated,
                    _ => Fate::Kept,
                },
            };
            Plan {
                folder,
                original,
                fate,
            }
        })
        .collect()
}

/// The identity of message `n` (an original), as changed by `fate`.
fn identity(seed: u64, n: usize, fate: Fate) -> Identity {
    let base = seed.wrapping_mul(0x517c_c1b7_2722_0a95) ^ (n as u64) << 8;
    let r = mix(base);
    let changed = |tier: u64, stage: u64, what: u64| {
        if stage >= tier {
            hex256(base ^ (what << 56) ^ 0xff)
        } else {
            hex256(base ^ (what << 56))
        }
    };
    // How deep the change goes: 0 none, 1 digest, 2 canonical, 3 fingerprint, 4 tolerant.
    let stage = match fate {
        Fate::Normalised => 1,
        Fate::Reencoded => 2,
        Fate::Altered | Fate::IdRewritten => 3,
        _ => 0,
    };
    let subject: Vec<&str> = (0..(5 + r % 5))
        .map(|k| WORDS[(mix(r ^ k) % WORDS.len() as u64) as usize])
        .collect();
    let domain = if fate == Fate::IdRewritten {
        "eurprd04.prod.example.com".to_string()
    } else {
        format!("mail{}.example.com", r % 50)
    };
    let stripped = STRIPPED[(r % 3) as usize];
    let mut stripped: Vec<String> = stripped.iter().map(|s| s.to_string()).collect();
    if stage == 1 {
        stripped.push("x-tuid".into());
        stripped.sort();
    }
    Identity {
        digest: changed(1, stage, 1),
        canonical: changed(2, stage, 2),
        fingerprint: changed(3, stage, 3),
        tolerant: hex256(base ^ (4 << 56)),
        message_id: (!r.is_multiple_of(1000)).then(|| format!("{:016x}.{n}@{domain}", mix(r))),
        date: Some(1_546_300_800 + (r % 200_000_000) as i64),
        from: Some(format!("user{}@example{}.org", r % 5000, (r >> 20) % 300)),
        subject: Some(subject.join(" ")),
        eol: if stage == 1 { Eol::Crlf } else { Eol::Lf },
        stripped,
        unparsed: None,
    }
}

/// One message copy in a receipt: where, its number (for its source id), and which message in
/// which state.
struct Copy {
    folder: usize,
    n: usize,
    original: usize,
    fate: Fate,
    /// Dated after the receipt before was taken (new mail).
    date: Option<i64>,
}

/// The copies of BEFORE and AFTER, and the totals a correct check reports.
fn generate(args: &Args) -> (Vec<Copy>, Vec<Copy>, Expected) {
    let plans = plan(args);
    let mut before = Vec::with_capacity(plans.len());
    let mut after = Vec::with_capacity(plans.len() + plans.len() / 500);
    let mut e = Expected::default();
    for (i, p) in plans.iter().enumerate() {
        let original = plans[p.original].original;
        let copy = |folder, fate| Copy {
            folder,
            n: i,
            original,
            fate,
            date: None,
        };
        before.push(copy(p.folder, Fate::Kept));
        // A changed copy of a duplicate keeps the change to itself.
        let fate = if p.original != i && p.fate != Fate::Kept {
            Fate::Kept
        } else {
            p.fate
        };
        let folder = match fate {
            Fate::Moved => (p.folder + 1 + i % 5) % FOLDERS.len(),
            _ => p.folder,
        };
        match fate {
            Fate::Dropped => e.missing += 1,
            Fate::Moved => e.moved += 1,
            Fate::Normalised => e.normalised += 1,
            Fate::Reencoded => e.reencoded += 1,
            Fate::Altered | Fate::IdRewritten => e.altered += 1,
            Fate::Kept | Fate::Duplicated => e.identical += 1,
        }
        if fate != Fate::Dropped {
            after.push(copy(folder, fate));
        }
        if fate == Fate::Duplicated {
            e.duplicates += 1;
            after.push(copy(folder, Fate::Kept));
        }
        if args.profile == Profile::Typical && i % 1000 == 999 {
            e.new += 1;
            let n = args.messages + i;
            after.push(Copy {
                folder: 0,
                n,
                original: n,
                fate: Fate::Kept,
                date: Some(TAKEN + 60 + (i / 1000) as i64),
            });
        }
    }
    (before, after, e)
}

/// When the receipt before was taken: 2025-03-01 00:00 UTC.
const TAKEN: i64 = 1_740_787_200;

/// Streams a receipt of these copies to `path`, folder by folder.
fn write_receipt(
    path: &Path,
    folders: &[(&str, Option<Role>)],
    mut copies: Vec<Copy>,
    seed: u64,
) -> Result<(), String> {
    let err = |e: mailproof_engine::Error| e.to_string();
    copies.sort_by_key(|c| c.folder);
    let mut w = ReceiptWriter::create(path).map_err(err)?;
    w.write(&Record::Header(Header {
        format: FORMAT.into(),
        version: VERSION,
        identity_version: IDENTITY_VERSION,
        tool: mailproof_engine::TOOL.into(),
        created: "2025-03-01T00:00:00Z".into(),
        source: SourceDescription {
            kind: "maildir".into(),
            location: "/bench".into(),
        },
        notes: vec![],
    }))
    .map_err(err)?;
    let mut totals = Totals::default();
    let mut at = 0;
    for (id, (name, role)) in folders.iter().enumerate() {
        w.write(&Record::Folder(FolderRecord {
            id,
            path: name.split('/').map(str::to_string).collect(),
            role: *role,
            claimed: None,
        }))
        .map_err(err)?;
        let mut end = FolderEnd {
            folder: id,
            ..FolderEnd::default()
        };
        while let Some(c) = copies.get(at).filter(|c| c.folder == id) {
            let mut identity = identity(seed, c.original, c.fate);
            if c.date.is_some() {
                identity.date = c.date;
            }
            let m = MessageRecord {
                folder: id,
                source_id: format!(
                    "cur/{}.M{}P7341.mailhost,S=12345:2,S",
                    1_600_000_000 + c.n,
                    c.n
                ),
                size: 12_345,
                identity,
                flags: vec!["\\Seen".into()],
                internal_date: None,
                excluded: None,
                trashed: false,
                notes: vec![],
                entry: None,
                gmail: None,
            };
            end.found += 1;
            end.read += 1;
            end.bytes += m.size;
            w.write(&Record::Message(Box::new(m))).map_err(err)?;
            at += 1;
        }
        totals.add(&end);
        w.write(&Record::FolderEnd(end)).map_err(err)?;
    }
    w.write(&Record::Totals(totals)).map_err(err)?;
    w.seal().map_err(err)?;
    Ok(())
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    identical: u64,
    normalised: u64,
    reencoded: u64,
    altered: u64,
    moved: u64,
    missing: u64,
    new: u64,
    duplicates: u64,
}

fn found(r: &CheckReport) -> Expected {
    let t = &r.totals;
    Expected {
        identical: t.identical,
        normalised: t.normalised,
        reencoded: t.reencoded,
        altered: t.altered,
        moved: t.moved,
        missing: t.missing,
        new: t.new,
        duplicates: t.duplicates,
    }
}

/// (VmRSS, VmHWM) in MB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak resident size to the current one, so the next peak is the next step's.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs `step`, returning its result, seconds, and the peak resident size (MB) while it ran.
fn measured<T>(step: impl FnOnce() -> T) -> (T, f64, f64) {
    reset_peak();
    let t0 = Instant::now();
    let out = step();
    let seconds = t0.elapsed().as_secs_f64();
    (out, seconds, memory().1)
}

fn run(args: &Args) -> Result<serde_json::Value, String> {
    let t0 = Instant::now();
    let (before, after, expected) = generate(args);
    let copies = (before.len(), after.len());
    std::fs::create_dir_all(&args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    let (b, a) = (
        args.dir.join("before.receipt"),
        args.dir.join("after.receipt"),
    );
    let before_folders: Vec<(&str, Option<Role>)> = FOLDERS.iter().map(|f| (f.0, f.1)).collect();
    let mut after_folders = before_folders.clone();
    after_folders[1].0 = "Sent Items";
    write_receipt(&b, &before_folders, before, args.seed)?;
    write_receipt(&a, &after_folders, after, args.seed)?;
    let generate_s = t0.elapsed().as_secs_f64();
    let bytes = [&b, &a]
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum::<u64>();

    let (loaded, load_s, load_peak) = measured(|| {
        let spec = |p: &Path| p.to_string_lossy().into_owned();
        check::snapshots(&spec(&b), &spec(&a), &Options::default(), &|_| {}, &|_| {})
    });
    let (before, after) = loaded.map_err(|e| e.to_string())?;
    let (before, after) = (before.catalog, after.catalog);
    let (catalogs_mb, _) = memory();
    if !args.keep {
        let _ = std::fs::remove_dir_all(&args.dir);
    }

    let (report, reconcile_s, reconcile_peak) = measured(|| check::reconcile(&before, &after, &[]));
    let report = report.map_err(|e| e.to_string())?;
    let got = found(&report);
    if got != expected {
        return Err(format!(
            "the check disagrees with the plan: {got:?} != {expected:?}"
        ));
    }
    let (json, json_s, json_peak) = measured(|| text::write_json(&report, &mut std::io::sink()));
    json.map_err(|e| e.to_string())?;

    Ok(serde_json::json!({
        "messages_before": copies.0,
        "messages_after": copies.1,
        "profile": match args.profile { Profile::Typical => "typical", Profile::Rewritten => "rewritten" },
        "differences": report.differences.len(),
        "generate_s": round(generate_s),
        "receipt_bytes": bytes,
        "load_s": round(load_s),
        "load_peak_rss_mb": round(load_peak),
        "catalogs_rss_mb": round(catalogs_mb),
        "reconcile_s": round(reconcile_s),
        "reconcile_peak_rss_mb": round(reconcile_peak),
        "json_s": round(json_s),
        "peak_rss_mb": round(load_peak.max(reconcile_peak).max(json_peak)),
    }))
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("reconcile: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(r) => {
            if args.json {
                println!("{r}");
            } else {
                println!(
                    "{} + {} messages ({}, {} differences): reconciled in {} s, peak RSS {} MB ({} MB of it the two catalogs)",
                    r["messages_before"],
                    r["messages_after"],
                    r["profile"].as_str().unwrap_or_default(),
                    r["differences"],
                    r["reconcile_s"],
                    r["reconcile_peak_rss_mb"],
                    r["catalogs_rss_mb"],
                );
                println!(
                    "receipts of {} bytes loaded in {} s (peak RSS {} MB); JSON report in {} s; peak RSS overall {} MB",
                    r["receipt_bytes"],
                    r["load_s"],
                    r["load_peak_rss_mb"],
                    r["json_s"],
                    r["peak_rss_mb"]
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reconcile: {e}");
            ExitCode::from(2)
        }
    }
}
