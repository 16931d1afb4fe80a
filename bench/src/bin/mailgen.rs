//! Writes a realistic synthetic mailbox for benchmarks, deterministically.
//!
//! ```text
//! mailgen --messages 20000 --seed 1 --out DIR [--threads N] [--no-maildir] [--no-mbox] [--force]
//! ```
//!
//! Under DIR:
//! - `maildir/`: Maildir++ as Dovecot lays it out: INBOX is the root, `Archive/2019` is
//!   `.Archive.2019`, non-ASCII names in modified UTF-7 (`.Priv&AOk-`); file names carry the
//!   flags (`:2,FS`), `S=` and `W=` sizes, and the mtime is the message date. Some unread INBOX
//!   mail sits in `new/`.
//! - `mbox/`: one mboxrd file per folder (`mbox/Archive/2019.mbox`), the same bytes.
//! - `manifest.tsv`: per message, in generation order: folder, Maildir file, size, SHA-256 of
//!   the stored bytes, SHA-256 of the CRLF form (what an IMAP server serves), Message-ID.
//! - `summary.json`: parameters, totals, size percentiles, per-folder counts.
//!
//! The messages come from `mailproof_tests::synth::realistic`, one independent random stream per
//! message, so generation runs on all cores and message `i` does not depend on timing. The mix:
//! 12 folders weighted like a real account; ~0.5% exact duplicates of a recent small message
//! (often in another folder); ~0.25% reusing another message's Message-ID; ~0.15% without one;
//! 0.08% (at least 3) with a 10–20 MiB attachment and 10% with 100 KiB – 2 MiB of attachments.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use mailproof_tests::mbox;
use mailproof_tests::rng::Rng;
use mailproof_tests::synth::{self, FolderKind, MessageId, Profile, Spec};
use sha2::{Digest, Sha256};

const USAGE: &str = "usage: mailgen --messages N --seed S --out DIR [--threads N] [--no-maildir] [--no-mbox] [--force]";

/// (name, weight in %, first year, last year, kind)
const FOLDERS: [(&str, f64, i64, i64, FolderKind); 12] = [
    ("INBOX", 20.0, 2024, 2025, FolderKind::Incoming),
    ("Sent", 12.0, 2019, 2025, FolderKind::Sent),
    ("Drafts", 0.5, 2024, 2025, FolderKind::Drafts),
    ("Trash", 3.0, 2024, 2025, FolderKind::Incoming),
    ("Archive/2019", 9.0, 2019, 2019, FolderKind::Incoming),
    ("Archive/2020", 9.0, 2020, 2020, FolderKind::Incoming),
    ("Archive/2021", 9.0, 2021, 2021, FolderKind::Incoming),
    ("Archive/2022", 9.0, 2022, 2022, FolderKind::Incoming),
    ("Archive/2023", 9.0, 2023, 2023, FolderKind::Incoming),
    ("Lists/rust-users", 12.0, 2021, 2025, FolderKind::List),
    ("Work/Projects", 6.0, 2020, 2025, FolderKind::Incoming),
    ("Privé", 1.5, 2019, 2025, FolderKind::Incoming),
];

/// Random streams: one for the message's own content, one for the corpus-level decisions.
const STREAM_MESSAGE: u64 = 1;
const STREAM_PLAN: u64 = 2;
const STREAM_BIG: u64 = 3;

/// Share of messages with one 10–20 MiB attachment (at least 3 from 1,000 messages on).
const BIG_RATE: f64 = 0.0008;

const DUPLICATE_RATE: f64 = 0.005;
const REUSED_ID_RATE: f64 = 0.0025;
const MISSING_ID_RATE: f64 = 0.0015;
/// How far back duplicates and reused Message-IDs look (messages).
const WINDOW: usize = 300;
/// How far generation may run ahead of the (ordered) mbox writer, in messages.
const AHEAD: usize = 2048;

struct Args {
    messages: usize,
    seed: u64,
    out: PathBuf,
    threads: usize,
    maildir: bool,
    mbox: bool,
    force: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        messages: 0,
        seed: 1,
        out: PathBuf::new(),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        maildir: true,
        mbox: true,
        force: false,
    };
    let mut it = std::env::args().skip(1);
    let mut out = None;
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--messages" | "-n" => {
                a.messages = value(&arg)?
                    .parse()
                    .map_err(|e| format!("--messages: {e}"))?
            }
            "--seed" => a.seed = value(&arg)?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" | "-o" => out = Some(PathBuf::from(value(&arg)?)),
            "--threads" => {
                a.threads = value(&arg)?
                    .parse()
                    .map_err(|e| format!("--threads: {e}"))?;
                a.threads = a.threads.max(1);
            }
            "--no-maildir" => a.maildir = false,
            "--no-mbox" => a.mbox = false,
            "--force" => a.force = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    a.out = out.ok_or("--out is required")?;
    if a.messages == 0 {
        return Err("--messages must be at least 1".into());
    }
    Ok(a)
}

/// Where a message's bytes come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Fresh,
    /// The exact bytes of an earlier message.
    Duplicate(usize),
}

struct Plan {
    folder: usize,
    origin: Origin,
    spec: Spec,
    /// The message stream's state after drawing the spec: building continues from here.
    rng: Rng,
    /// Maildir flags; `None` for unread mail waiting in `new/`.
    flags: Option<&'static str>,
}

#[derive(Default)]
struct Counts {
    duplicates: usize,
    reused_ids: usize,
    missing_ids: usize,
}

fn profile(folder: usize) -> Profile {
    let (_, _, y0, y1, kind) = FOLDERS[folder];
    let last = synth::unix_time(2025, 6, 30, 23, 59, 59);
    Profile {
        kind,
        start: synth::unix_time(y0, 1, 1, 0, 0, 0),
        end: synth::unix_time(y1, 12, 31, 23, 59, 59).min(last),
        // Very big messages are placed by `plan`, so that their number (which dominates the
        // corpus size) does not vary with the seed.
        big_frac: 0.0,
        attach_frac: 0.10,
    }
}

/// Decides every message cheaply (no bodies yet): folder, flags, duplicates, Message-IDs.
fn plan(seed: u64, n: usize) -> (Vec<Plan>, Counts) {
    let weights: Vec<f64> = FOLDERS.iter().map(|f| f.1).collect();
    let mut plans: Vec<Plan> = Vec::with_capacity(n);
    let mut own_id = vec![false; n];
    let mut counts = Counts::default();
    let mut big = vec![false; n];
    let mut d = Rng::derive(seed, STREAM_BIG, 0);
    let k = ((n as f64 * BIG_RATE).round() as usize).max(if n >= 1000 { 3 } else { 0 });
    let mut placed = 0;
    while placed < k.min(n) {
        let i = d.below(n as u64) as usize;
        if !big[i] {
            big[i] = true;
            placed += 1;
        }
    }
    for i in 0..n {
        let mut d = Rng::derive(seed, STREAM_PLAN, i as u64);
        let folder = d.weighted(&weights);
        let mut rng = Rng::derive(seed, STREAM_MESSAGE, i as u64);
        let mut spec = synth::realistic(&mut rng, &profile(folder));
        if big[i] {
            spec.attachments = vec![rng.range_usize(10 << 20, 20 << 20)];
        }
        let recent =
            |d: &mut Rng| i.saturating_sub(WINDOW) + d.below(i.min(WINDOW) as u64) as usize;
        let mut origin = Origin::Fresh;
        if i > 0 && d.chance(DUPLICATE_RATE) {
            for _ in 0..8 {
                let j = recent(&mut d);
                let p = &plans[j];
                if p.origin == Origin::Fresh
                    && p.spec.attachments.is_empty()
                    && p.spec.forward.is_none()
                    && !matches!(p.spec.body, synth::Body::Newsletter { .. })
                {
                    origin = Origin::Duplicate(j);
                    counts.duplicates += 1;
                    break;
                }
            }
        }
        if origin == Origin::Fresh {
            let r = d.f64();
            if r < MISSING_ID_RATE {
                spec.message_id = MessageId::Missing;
                counts.missing_ids += 1;
            } else if r < MISSING_ID_RATE + REUSED_ID_RATE && i > 0 {
                let j = recent(&mut d);
                if own_id[j] {
                    spec.message_id = plans[j].spec.message_id.clone();
                    counts.reused_ids += 1;
                } else {
                    own_id[i] = true;
                }
            } else {
                own_id[i] = true;
            }
        }
        let r = d.f64();
        let flags = match FOLDERS[folder].0 {
            "INBOX" if r < 0.02 => None,
            "INBOX" if r < 0.10 => Some(""),
            "INBOX" if r < 0.15 => Some("FS"),
            "INBOX" if r < 0.25 => Some("RS"),
            "Drafts" => Some("DS"),
            _ if r < 0.03 => Some("FS"),
            _ => Some("S"),
        };
        plans.push(Plan {
            folder,
            origin,
            spec,
            rng,
            flags,
        });
    }
    (plans, counts)
}

/// The Maildir++ directory of a folder, relative to the Maildir root ("" for INBOX).
fn maildir_dir(folder: &str) -> String {
    if folder == "INBOX" {
        return String::new();
    }
    let segs: Vec<String> = folder.split('/').map(synth::mutf7).collect();
    format!(".{}", segs.join("."))
}

/// One generated message, ready for the ordered writer.
struct Done {
    index: usize,
    maildir_file: String,
    len: usize,
    lines: usize,
    sha: String,
    sha_crlf: String,
    message_id: Option<String>,
    /// From_ line, quoted message and the separator line ending.
    mbox_chunk: Vec<u8>,
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of the message with every LF written as CRLF, without building that copy.
fn sha_crlf(msg: &[u8]) -> String {
    let mut h = Sha256::new();
    let mut lines = msg.split(|&c| c == b'\n').peekable();
    while let Some(line) = lines.next() {
        h.update(line);
        if lines.peek().is_some() {
            h.update(b"\r\n");
        }
    }
    hex(&h.finalize())
}

fn generate(i: usize, plans: &[Plan], args: &Args, maildir: &Path) -> std::io::Result<Done> {
    let p = &plans[i];
    let src = match p.origin {
        Origin::Fresh => p,
        Origin::Duplicate(j) => &plans[j],
    };
    let built = synth::build(&mut src.rng.clone(), &src.spec);
    let bytes = &built.bytes;
    let lines = bytes.iter().filter(|&&c| c == b'\n').count();
    let mut maildir_file = String::new();
    if args.maildir {
        let dir = maildir_dir(FOLDERS[p.folder].0);
        let base = format!(
            "{}.M{:06}P{}Q{i}.mailgen,S={},W={}",
            built.date,
            i % 1_000_000,
            4000 + i % 997,
            bytes.len(),
            bytes.len() + lines
        );
        let (leaf, name) = match p.flags {
            None => ("new", base),
            Some(f) => ("cur", format!("{base}:2,{f}")),
        };
        maildir_file = if dir.is_empty() {
            format!("{leaf}/{name}")
        } else {
            format!("{dir}/{leaf}/{name}")
        };
        let path = maildir.join(&maildir_file);
        let mut f = File::create(&path)?;
        f.write_all(bytes)?;
        f.set_modified(UNIX_EPOCH + Duration::from_secs(built.date.max(0) as u64))?;
    }
    let mut mbox_chunk = Vec::new();
    if args.mbox {
        mbox_chunk.reserve(bytes.len() + 128);
        mbox_chunk.extend_from_slice(mbox::from_line(&built.sender, built.date).as_bytes());
        mbox_chunk.push(b'\n');
        mbox::mboxrd_quote_into(bytes, &mut mbox_chunk);
        mbox_chunk.push(b'\n');
    }
    Ok(Done {
        index: i,
        maildir_file,
        len: bytes.len(),
        lines,
        sha: hex(&Sha256::digest(bytes)),
        sha_crlf: sha_crlf(bytes),
        message_id: built.message_id,
        mbox_chunk,
    })
}

fn run(args: &Args) -> Result<serde_json::Value, String> {
    let t0 = Instant::now();
    let io = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    let out = &args.out;
    let maildir = out.join("maildir");
    let mbox_root = out.join("mbox");
    let manifest = out.join("manifest.tsv");
    let summary = out.join("summary.json");
    for p in [&maildir, &mbox_root, &manifest, &summary] {
        if p.exists() {
            if !args.force {
                return Err(format!("{} exists; use --force to replace it", p.display()));
            }
            if p.is_dir() {
                fs::remove_dir_all(p).map_err(|e| io("cannot remove", p, e))?;
            } else {
                fs::remove_file(p).map_err(|e| io("cannot remove", p, e))?;
            }
        }
    }
    fs::create_dir_all(out).map_err(|e| io("cannot create", out, e))?;

    let (plans, counts) = plan(args.seed, args.messages);
    let mut mbox_files: Vec<Option<BufWriter<File>>> = Vec::new();
    for (name, ..) in FOLDERS {
        if args.maildir {
            let dir = maildir.join(maildir_dir(name));
            for leaf in ["cur", "new", "tmp"] {
                fs::create_dir_all(dir.join(leaf)).map_err(|e| io("cannot create", &dir, e))?;
            }
            if name != "INBOX" {
                let marker = dir.join("maildirfolder");
                File::create(&marker).map_err(|e| io("cannot create", &marker, e))?;
            }
        }
        mbox_files.push(if args.mbox {
            let p = mbox_root.join(format!("{name}.mbox"));
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).map_err(|e| io("cannot create", parent, e))?;
            }
            let f = File::create(&p).map_err(|e| io("cannot create", &p, e))?;
            Some(BufWriter::with_capacity(1 << 20, f))
        } else {
            None
        });
    }
    let mut man =
        BufWriter::new(File::create(&manifest).map_err(|e| io("cannot create", &manifest, e))?);
    writeln!(man, "folder\tfile\tsize\tsha256\tsha256_crlf\tmessage_id")
        .map_err(|e| io("cannot write", &manifest, e))?;

    let n = args.messages;
    let next = AtomicUsize::new(0);
    let written = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut sizes = Vec::with_capacity(n);
    let mut lines_total = 0usize;
    let mut per_folder = vec![(0usize, 0usize); FOLDERS.len()];
    let mut mbox_bytes = 0usize;
    let result: Result<(), String> = std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<std::io::Result<Done>>();
        for _ in 0..args.threads {
            let tx = tx.clone();
            let (plans, next, written, stop, maildir) = (&plans, &next, &written, &stop, &maildir);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    while i >= written.load(Ordering::Acquire) + AHEAD
                        && !stop.load(Ordering::Relaxed)
                    {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    if tx.send(generate(i, plans, args, maildir)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, Done> = BTreeMap::new();
        let mut next_out = 0;
        let fail = |msg: String| {
            stop.store(true, Ordering::Relaxed);
            Err(msg)
        };
        for done in rx {
            let done = match done {
                Ok(d) => d,
                Err(e) => return fail(format!("cannot write a message: {e}")),
            };
            pending.insert(done.index, done);
            while let Some(d) = pending.remove(&next_out) {
                let p = &plans[d.index];
                let folder = FOLDERS[p.folder].0;
                if let Some(w) = &mut mbox_files[p.folder] {
                    if let Err(e) = w.write_all(&d.mbox_chunk) {
                        return fail(format!("cannot write the mbox of {folder}: {e}"));
                    }
                    mbox_bytes += d.mbox_chunk.len();
                }
                if let Err(e) = writeln!(
                    man,
                    "{folder}\t{}\t{}\t{}\t{}\t{}",
                    d.maildir_file,
                    d.len,
                    d.sha,
                    d.sha_crlf,
                    d.message_id.as_deref().unwrap_or("")
                ) {
                    return fail(format!("cannot write the manifest: {e}"));
                }
                sizes.push(d.len);
                lines_total += d.lines;
                per_folder[p.folder].0 += 1;
                per_folder[p.folder].1 += d.len;
                next_out += 1;
                written.store(next_out, Ordering::Release);
                if next_out % 2000 == 0 || next_out == n {
                    eprintln!(
                        "  {next_out}/{n} messages, {:.0} MB, {:.1}s",
                        sizes.iter().sum::<usize>() as f64 / 1e6,
                        t0.elapsed().as_secs_f64()
                    );
                }
            }
        }
        if next_out == n {
            Ok(())
        } else {
            Err(format!("only {next_out} of {n} messages were generated"))
        }
    });
    result?;
    for w in mbox_files.iter_mut().flatten() {
        w.flush()
            .map_err(|e| format!("cannot write an mbox file: {e}"))?;
    }
    man.flush().map_err(|e| io("cannot write", &manifest, e))?;

    let total: usize = sizes.iter().sum();
    let mut sorted = sizes.clone();
    sorted.sort_unstable();
    let pct = |p: f64| sorted[((p / 100.0 * n as f64) as usize).min(n - 1)];
    let mut percentiles = serde_json::Map::new();
    for p in [10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9] {
        percentiles.insert(format!("p{p}"), pct(p).into());
    }
    let mut folders = serde_json::Map::new();
    for (k, (name, ..)) in FOLDERS.iter().enumerate() {
        folders.insert(
            name.to_string(),
            serde_json::json!({
                "messages": per_folder[k].0, "bytes": per_folder[k].1,
                "maildir": maildir_dir(name), "mbox": format!("{name}.mbox"),
            }),
        );
    }
    let summary_json = serde_json::json!({
        "generator": "mailgen",
        "seed": args.seed,
        "messages": n,
        "total_bytes": total,
        "total_bytes_crlf": total + lines_total,
        "mbox_bytes": mbox_bytes,
        "size_percentiles": percentiles,
        "max_size": sorted[n - 1],
        "messages_over_100k": sorted.iter().filter(|&&s| s > 100 * 1024).count(),
        "messages_over_10m": sorted.iter().filter(|&&s| s > 10 << 20).count(),
        "exact_duplicates": counts.duplicates,
        "reused_message_ids": counts.reused_ids,
        "missing_message_ids": counts.missing_ids,
        "folders": folders,
        "seconds": (t0.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    let text = serde_json::to_string_pretty(&summary_json).unwrap_or_default();
    fs::write(&summary, text + "\n").map_err(|e| io("cannot write", &summary, e))?;
    Ok(summary_json)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("mailgen: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(s) => {
            let keys = [
                "messages",
                "total_bytes",
                "mbox_bytes",
                "size_percentiles",
                "max_size",
                "messages_over_100k",
                "messages_over_10m",
                "exact_duplicates",
                "reused_message_ids",
                "missing_message_ids",
                "seconds",
            ];
            let brief: serde_json::Map<String, serde_json::Value> = keys
                .iter()
                .filter_map(|k| s.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect();
            println!("{}", serde_json::Value::Object(brief));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mailgen: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(out: &Path) -> Args {
        Args {
            messages: 400,
            seed: 7,
            out: out.to_path_buf(),
            threads: 2,
            maildir: true,
            mbox: true,
            force: false,
        }
    }

    /// Splits an mboxrd file by the usual rules and un-quotes it.
    fn read_mboxrd(data: &[u8]) -> Vec<Vec<u8>> {
        let mut starts = Vec::new();
        let mut i = 0;
        while i < data.len() {
            if data[i..].starts_with(b"From ") && (i == 0 || data[..i].ends_with(b"\n\n")) {
                starts.push(i);
            }
            i += data[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(data.len(), |p| p + 1);
        }
        let mut out = Vec::new();
        for (k, &s) in starts.iter().enumerate() {
            let body = s + data[s..].iter().position(|&c| c == b'\n').unwrap() + 1;
            let end = starts.get(k + 1).copied().unwrap_or(data.len()) - 1;
            let mut msg = Vec::new();
            let mut line = body;
            while line < end {
                let next = data[line..end]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(end, |p| line + p + 1);
                let l = &data[line..next];
                let quoted = l.starts_with(b">") && mbox::is_gt_from(l);
                msg.extend_from_slice(if quoted { &l[1..] } else { l });
                line = next;
            }
            out.push(msg);
        }
        out
    }

    #[test]
    fn deterministic_and_mbox_matches_manifest() {
        let a = std::env::temp_dir().join(format!("mailgen-test-a-{}", std::process::id()));
        let b = std::env::temp_dir().join(format!("mailgen-test-b-{}", std::process::id()));
        for d in [&a, &b] {
            let _ = fs::remove_dir_all(d);
        }
        run(&args(&a)).unwrap();
        let mut one_thread = args(&b);
        one_thread.threads = 1;
        run(&one_thread).unwrap();
        let man = fs::read_to_string(a.join("manifest.tsv")).unwrap();
        assert_eq!(man, fs::read_to_string(b.join("manifest.tsv")).unwrap());

        let rows: Vec<Vec<&str>> = man
            .lines()
            .skip(1)
            .map(|l| l.split('\t').collect())
            .collect();
        assert_eq!(rows.len(), 400);
        for (name, ..) in FOLDERS {
            let want: Vec<&str> = rows.iter().filter(|r| r[0] == name).map(|r| r[3]).collect();
            let data = fs::read(a.join("mbox").join(format!("{name}.mbox"))).unwrap();
            let got: Vec<String> = read_mboxrd(&data)
                .iter()
                .map(|m| hex(&Sha256::digest(m)))
                .collect();
            assert_eq!(got, want, "{name}");
        }
        for r in &rows {
            let bytes = fs::read(a.join("maildir").join(r[1])).unwrap();
            assert_eq!(hex(&Sha256::digest(&bytes)), r[3]);
            assert_eq!(
                sha_crlf(&bytes),
                hex(&Sha256::digest(synth::to_crlf(&bytes)))
            );
        }
        for d in [&a, &b] {
            fs::remove_dir_all(d).unwrap();
        }
    }
}
