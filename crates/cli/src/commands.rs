//! One function per subcommand: call the engine, print the result, pick the exit code.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Result;
use mailproof_engine::archive::{self, Compression};
use mailproof_engine::check::{self, FolderOverride, html, text};
use mailproof_engine::code::normalise_code;
use mailproof_engine::pipeline::{self, Options, Summary};
use mailproof_engine::receipt::Receipt;
use mailproof_engine::restore::{self, Phase};
use mailproof_engine::source;
use mailproof_engine::sources;

use crate::credentials::ServerArgs;
use crate::display::{count, plural, size};
use crate::progress::Bar;

/// The exit code contract (design §8).
#[derive(Clone, Copy)]
pub enum Outcome {
    /// Everything is accounted for.
    Ok = 0,
    /// Something is missing, unreadable or corrupt.
    Problems = 1,
    /// Usage, connection or I/O error.
    Error = 2,
}

/// Options shared by the commands that read a whole mailbox.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Only this folder (repeat for several); `mailproof folders` lists the names.
    #[arg(long = "folder", value_name = "NAME")]
    folders: Vec<String>,
    /// Hashing threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
}

impl RunArgs {
    fn options(&self) -> Result<Options> {
        Ok(Options {
            threads: self.threads,
            folders: self.folders.clone(),
            overwrite: self.force,
            cancel: crate::interrupt().clone(),
            access: self.server.access()?,
        })
    }
}

/// Says what a stopped receipt or export leaves behind and how to go on; other errors pass.
fn stopped(error: mailproof_engine::Error, out: &Path) -> anyhow::Error {
    match error {
        mailproof_engine::Error::Cancelled => anyhow::anyhow!(
            "stopped on request. What was done is kept in {}.partial; run the same command \
             again to continue from there (or add --force to start over)",
            out.display()
        ),
        mailproof_engine::Error::Connection(why) if partial(out).exists() => anyhow::anyhow!(
            "{why}\nThe run could not finish, so there is no {} yet. What was read is kept in \
             {}.partial; run the same command again to continue from there",
            out.display(),
            out.display()
        ),
        other => other.into(),
    }
}

/// `<out>.partial`, where an unfinished receipt or export is kept.
fn partial(out: &Path) -> std::path::PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    name.into()
}

pub fn folders(spec: &str, json: bool, server: &ServerArgs) -> Result<Outcome> {
    let mut source = sources::open_source_with(spec, &server.access()?)?;
    let description = source.describe();
    let folders = source.folders()?;
    let mut rows = Vec::new();
    for folder in &folders {
        let (messages, bytes) = source::count(source.as_mut(), folder)?;
        rows.push((folder, messages, bytes));
    }
    let total: u64 = rows.iter().map(|r| r.1).sum();
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|(f, n, b)| {
                serde_json::json!({
                    "name": f.name(), "path": f.path, "role": f.role, "messages": n, "bytes": b,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "source": description, "folders": list, "messages": total,
            }))?
        );
        return Ok(Outcome::Ok);
    }
    println!("{} ({})", description.location, description.kind);
    let width = rows
        .iter()
        .map(|r| r.0.name().chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "  {:width$}  {:8}  {:>9}  {:>8}",
        "FOLDER", "ROLE", "MESSAGES", "SIZE"
    );
    for (f, n, b) in &rows {
        let role = f
            .role
            .map(|r| format!("{r:?}").to_lowercase())
            .unwrap_or_default();
        println!(
            "  {:width$}  {:8}  {:>9}  {:>8}",
            f.name(),
            role,
            count(*n),
            b.map(size).unwrap_or_default()
        );
    }
    println!(
        "{} in {}",
        plural(total, "message", "messages"),
        plural(rows.len() as u64, "folder", "folders")
    );
    for note in source.notes() {
        println!("note: {note}");
    }
    Ok(Outcome::Ok)
}

pub fn receipt(spec: &str, out: &Path, args: &RunArgs) -> Result<Outcome> {
    let opts = args.options()?;
    let mut source = sources::open_source_with(spec, &opts.access)?;
    let bar = Bar::new("Reading");
    let summary = pipeline::take_receipt(source.as_mut(), out, &opts, &|e| bar.observe(e))
        .map_err(|e| stopped(e, out))?;
    drop(bar);
    report_run("Receipt", out, &summary, args.json)
}

pub fn export(spec: &str, out: &Path, compression: Compression, args: &RunArgs) -> Result<Outcome> {
    let opts = args.options()?;
    let mut source = sources::open_source_with(spec, &opts.access)?;
    let bar = Bar::new("Exporting");
    let summary = pipeline::export(source.as_mut(), out, compression, &opts, &|e| {
        bar.observe(e)
    })
    .map_err(|e| stopped(e, out))?;
    drop(bar);
    report_run("Archive", out, &summary, args.json)
}

/// Prints what a receipt or export did, and decides the exit code.
fn report_run(what: &str, out: &Path, s: &Summary, json: bool) -> Result<Outcome> {
    let t = &s.totals;
    let outcome = if t.unreadable > 0 || t.folder_errors > 0 {
        Outcome::Problems
    } else {
        Outcome::Ok
    };
    if json {
        let folders: Vec<_> = s
            .folders
            .iter()
            .map(|(f, e)| {
                serde_json::json!({
                    "name": f.name(), "path": f.path, "role": f.role, "claimed": f.claimed,
                    "found": e.found, "read": e.read, "unreadable": e.unreadable,
                    "excluded": e.excluded, "excluded_reasons": e.excluded_reasons,
                    "trashed": e.trashed, "bytes": e.bytes, "notes": e.notes, "error": e.error,
                })
            })
            .collect();
        let unreadable: Vec<_> = s
            .unreadable
            .iter()
            .map(|(folder, u)| serde_json::json!({"folder": folder, "source_id": u.source_id, "reason": u.reason}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "output": out, "code": s.seal.code, "sha256": s.seal.sha256, "totals": t,
                "folders": folders, "unreadable": unreadable, "notes": s.source_notes,
            }))?
        );
        return Ok(outcome);
    }
    println!("{what} written to {}", out.display());
    println!(
        "Receipt code: {}  (say it to your helpdesk to confirm which receipt you hold)",
        s.seal.code
    );
    println!();
    let width = s
        .folders
        .iter()
        .map(|(f, _)| f.name().chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "  {:width$}  {:>9}  {:>10}  {:>8}  {:>8}",
        "FOLDER", "MESSAGES", "UNREADABLE", "EXCLUDED", "SIZE"
    );
    for (f, e) in &s.folders {
        println!(
            "  {:width$}  {:>9}  {:>10}  {:>8}  {:>8}{}",
            f.name(),
            count(e.read),
            count(e.unreadable),
            count(e.excluded),
            size(e.bytes),
            e.error
                .as_ref()
                .map(|err| format!("  (stopped: {err})"))
                .unwrap_or_default()
        );
    }
    println!();
    if t.found == 0 && t.folder_errors == 0 {
        match t.folders {
            0 => println!("The mailbox is empty: no folders, no messages."),
            n => println!(
                "The mailbox is empty: no messages in {}.",
                plural(n, "folder", "folders")
            ),
        }
    } else if t.unreadable == 0 && t.folder_errors == 0 {
        println!(
            "All {} in {} were read ({}).",
            plural(t.read, "message", "messages"),
            plural(t.folders, "folder", "folders"),
            size(t.bytes)
        );
    } else {
        println!(
            "{} of {} were read; {} could not be read:",
            count(t.read),
            plural(t.read + t.unreadable, "message", "messages"),
            count(t.unreadable)
        );
        for (folder, u) in &s.unreadable {
            println!("  {folder}  {}  {}", u.source_id, u.reason);
        }
        for (f, e) in &s.folders {
            if let Some(err) = &e.error {
                println!("  {}: folder not read to the end: {err}", f.name());
            }
        }
    }
    let mut excluded: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, e) in &s.folders {
        for (reason, n) in &e.excluded_reasons {
            *excluded.entry(reason).or_default() += n;
        }
    }
    for (reason, n) in excluded {
        println!(
            "{} not counted as mail: {reason}.",
            plural(n, "message", "messages")
        );
    }
    if t.trashed > 0 {
        println!(
            "{} marked as trashed are included.",
            plural(t.trashed, "message", "messages")
        );
    }
    for note in &s.source_notes {
        println!("note: {note}");
    }
    Ok(outcome)
}

pub fn verify(path: &Path, expect_code: Option<&str>, json: bool) -> Result<Outcome> {
    if sources::detect(path)? == sources::Kind::Receipt {
        return verify_receipt(path, expect_code, json);
    }
    let bar = Bar::new("Verifying");
    let report = archive::verify(path, crate::interrupt(), &|e| bar.observe(e))?;
    drop(bar);
    let code_ok = code_matches(report.code.as_deref(), expect_code);
    let outcome = if report.ok() && code_ok {
        Outcome::Ok
    } else {
        Outcome::Problems
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(outcome);
    }
    if report.ok() {
        println!(
            "All {} in {} match the receipt.",
            plural(report.intact, "message", "messages"),
            path.display()
        );
    } else {
        println!(
            "{} {} found in {}:",
            count(report.problems.len() as u64),
            if report.problems.len() == 1 {
                "problem"
            } else {
                "problems"
            },
            path.display()
        );
        for p in &report.problems {
            let kind = format!("{:?}", p.kind).to_lowercase();
            let context = match (&p.folder, &p.subject) {
                (Some(f), Some(s)) => format!(" [{f}: \"{s}\"]"),
                (Some(f), None) => format!(" [{f}]"),
                _ => String::new(),
            };
            println!("  {kind:10}  {}{context}  {}", p.entry, p.detail);
        }
        println!(
            "{} of {} intact.",
            count(report.intact),
            plural(report.expected, "message is", "messages are")
        );
    }
    print_code(report.code.as_deref(), expect_code);
    Ok(outcome)
}

fn verify_receipt(path: &Path, expect_code: Option<&str>, json: bool) -> Result<Outcome> {
    let receipt = Receipt::load(path)?;
    let code = receipt.code();
    let outcome = if code_matches(code, expect_code) && code.is_some() {
        Outcome::Ok
    } else {
        Outcome::Problems
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "receipt": path, "intact": code.is_some(), "code": code,
                "totals": receipt.totals, "source": receipt.header.source,
                "created": receipt.header.created,
            }))?
        );
        return Ok(outcome);
    }
    if code.is_some() {
        println!(
            "The receipt {} is intact: {} in {}, taken {} from {}.",
            path.display(),
            plural(receipt.totals.read, "message", "messages"),
            plural(receipt.totals.folders, "folder", "folders"),
            receipt.header.created,
            receipt.header.source.location
        );
    }
    print_code(code, expect_code);
    Ok(outcome)
}

/// True when no code was expected, or the receipt's code is the expected one.
fn code_matches(actual: Option<&str>, expected: Option<&str>) -> bool {
    match expected {
        None => true,
        Some(expected) => actual.is_some_and(|a| normalise_code(a) == normalise_code(expected)),
    }
}

fn print_code(actual: Option<&str>, expected: Option<&str>) {
    match actual {
        Some(code) => println!("Receipt code: {code}"),
        None => println!("The receipt's seal does not match: it was changed after it was written."),
    }
    if let (Some(expected), Some(actual)) = (expected, actual) {
        if code_matches(Some(actual), Some(expected)) {
            println!(
                "This is the expected receipt ({}).",
                normalise_code(expected)
            );
        } else {
            println!(
                "This is NOT the expected receipt: expected {}, this one is {actual}.",
                normalise_code(expected)
            );
        }
    }
}

/// Options of `mailproof check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// The folder OLD of the receipt is now called NEW (repeat for several).
    #[arg(long = "map", value_name = "OLD=NEW")]
    map: Vec<String>,
    /// A file of OLD=NEW lines (# starts a comment).
    #[arg(long, value_name = "FILE")]
    map_file: Option<PathBuf>,
    /// Write the full report as JSON to FILE (`-` for standard output instead of the text).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the differences as CSV to FILE, one row each.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write the report as one self-contained HTML page to FILE, to open, read and print.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Print a short summary for a helpdesk ticket instead of the full report.
    #[arg(long)]
    summary: bool,
    /// With --summary: also list the missing and altered messages (dates, senders, subjects).
    #[arg(long, requires = "summary")]
    with_details: bool,
    /// Hashing threads when a mailbox is read (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    server: ServerArgs,
}

/// The user's folder mapping from `--map` and `--map-file`.
fn overrides(map: &[String], map_file: Option<&Path>) -> Result<Vec<FolderOverride>> {
    let mut overrides = map
        .iter()
        .map(|m| FolderOverride::parse(m))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(file) = map_file {
        overrides.extend(check::read_map_file(file)?);
    }
    Ok(overrides)
}

pub fn check(before: &str, after: &str, args: &CheckArgs) -> Result<Outcome> {
    let overrides = overrides(&args.map, args.map_file.as_deref())?;
    let opts = Options {
        threads: args.threads,
        cancel: crate::interrupt().clone(),
        access: args.server.access()?,
        ..Options::default()
    };
    // A bar only for a side that reports progress (a mailbox being read), so that a receipt
    // loading beside it draws nothing.
    let (bar_before, bar_after) = (OnceLock::new(), OnceLock::new());
    let (before, after) = check::snapshots(
        before,
        after,
        &opts,
        &|e| {
            bar_before
                .get_or_init(|| Bar::new("Reading the mailbox before"))
                .observe(e)
        },
        &|e| {
            bar_after
                .get_or_init(|| Bar::new("Reading the new mailbox"))
                .observe(e)
        },
    )?;
    drop((bar_before, bar_after));
    let report = check::check(&before, &after, &overrides)?;
    drop((before, after));

    let stdout_json = args.json.as_deref() == Some(Path::new("-"));
    if let Some(path) = args.json.as_deref().filter(|_| !stdout_json) {
        check::save(path, |out| text::write_json(&report, out))?;
    }
    if let Some(path) = &args.csv {
        check::save(path, |out| text::write_csv(&report, out))?;
    }
    if let Some(path) = &args.html {
        check::save(path, |out| html::write_html(&report, out))?;
    }
    let mut out = std::io::stdout().lock();
    if stdout_json {
        text::write_json(&report, &mut out)?;
    } else if args.summary {
        text::write_summary(&report, args.with_details, &mut out)?;
    } else {
        text::write_text(&report, &mut out)?;
    }
    out.flush()?;
    Ok(if report.complete && report.before.intact {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}

/// Options of `mailproof restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// Say what would be appended (per folder, and each message), change nothing.
    #[arg(long)]
    dry_run: bool,
    /// The folder OLD of the receipt is now called NEW (repeat for several), as for check.
    #[arg(long = "map", value_name = "OLD=NEW")]
    map: Vec<String>,
    /// A file of OLD=NEW lines (# starts a comment).
    #[arg(long, value_name = "FILE")]
    map_file: Option<PathBuf>,
    /// Print JSON (the plan, what was done, the report of the last check) instead of text.
    #[arg(long)]
    json: bool,
    /// Hashing threads when the mailbox is read (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    server: ServerArgs,
}

pub fn restore(archive: &Path, dest: &str, args: &RestoreArgs) -> Result<Outcome> {
    let opts = restore::Options {
        dry_run: args.dry_run,
        overrides: overrides(&args.map, args.map_file.as_deref())?,
        read: Options {
            threads: args.threads,
            cancel: crate::interrupt().clone(),
            access: args.server.access()?,
            ..Options::default()
        },
    };
    let bars: [OnceLock<Bar>; 3] = Default::default();
    let outcome = restore::restore(archive, dest, &opts, &|phase, e| {
        let (bar, verb) = match phase {
            Phase::Checking => (&bars[0], "Reading the mailbox"),
            Phase::Appending if args.dry_run => (&bars[1], "Verifying the archive"),
            Phase::Appending => (&bars[1], "Appending"),
            Phase::Rechecking => (&bars[2], "Checking again"),
        };
        bar.get_or_init(|| Bar::new(verb)).observe(e)
    })?;
    drop(bars);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({
                "plan": outcome.plan, "restore": outcome.summary, "report": outcome.current(),
            }),
        )?;
        writeln!(out)?;
    } else {
        restore::text::write_text(&outcome, &mut out)?;
    }
    out.flush()?;
    Ok(if outcome.complete() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}
