//! The check report as plain text (what the command prints), as a short summary for a helpdesk
//! ticket, as CSV for spreadsheets and as JSON. Every front end renders the same
//! [`CheckReport`], so the words and numbers agree wherever a person reads them.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::Grade;
use super::report::{
    Cause, CheckReport, Difference, FolderRow, Side, Status, plural, thousands, when,
};

/// The full text report: verdict, sides, folder table, missing and altered messages, other
/// differences grouped, folder mapping, notes.
pub fn write_text(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", r.verdict)?;
    writeln!(out)?;
    writeln!(out, "Before: {}", describe_side(&r.before))?;
    writeln!(out, "After:  {}", describe_side(&r.after))?;
    writeln!(out)?;
    write_folder_table(r, out)?;

    let missing = missing(r);
    if !missing.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Missing from your new mailbox ({}):",
            thousands(missing.len() as u64)
        )?;
        write_messages(&missing, out, |d| d.cause != Cause::NotFound)?;
    }
    let altered = altered(r);
    if !altered.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Arrived altered, to review ({}):",
            thousands(altered.len() as u64)
        )?;
        write_messages(&altered, out, |_| true)?;
    }

    let others = grouped(r);
    if !others.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Other differences (each message is in the JSON and CSV reports):"
        )?;
        for (n, what) in others {
            writeln!(out, "  {} {what}", plural(n, "message", "messages"))?;
        }
    }

    let renamed: Vec<_> = r
        .mapping
        .iter()
        .filter(|m| m.before != m.after || m.rule.is_none())
        .collect();
    if !renamed.is_empty() {
        writeln!(out)?;
        writeln!(out, "Folder mapping:")?;
        for m in renamed {
            let name = |n: &Option<String>| n.clone().unwrap_or_else(|| "—".to_string());
            writeln!(
                out,
                "  {} → {}: {}",
                name(&m.before),
                name(&m.after),
                m.reason
            )?;
        }
    }
    write_notes(r, out)
}

/// A few lines for a helpdesk ticket: verdict, counts, receipt codes. Subjects and addresses
/// only with `details`; never message bodies, paths or account names.
pub fn write_summary(r: &CheckReport, details: bool, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Mailproof check: {}", r.verdict)?;
    let b = &r.before;
    match &b.code {
        Some(code) => writeln!(out, "Receipt code: {code} (receipt taken {})", taken(b))?,
        None => writeln!(
            out,
            "Receipt code: none, the receipt's seal is broken (receipt taken {})",
            taken(b)
        )?,
    }
    let after = match (&r.after.code, r.after.read_now) {
        (_, true) => "read now".to_string(),
        (Some(code), false) => format!("receipt {code} taken {}", taken(&r.after)),
        (None, false) => format!("receipt taken {}, its seal broken", taken(&r.after)),
    };
    writeln!(
        out,
        "Before: {} in {}. After: {} in {} ({after}).",
        plural(b.messages, "message", "messages"),
        plural(b.folders, "folder", "folders"),
        plural(r.after.messages, "message", "messages"),
        plural(r.after.folders, "folder", "folders"),
    )?;
    let t = &r.totals;
    let mut counts = vec![
        format!("identical {}", thousands(t.identical)),
        format!("identical after normalisation {}", thousands(t.normalised)),
        format!("re-encoded {}", thousands(t.reencoded)),
        format!("altered {}", thousands(t.altered)),
        format!("moved {}", thousands(t.moved)),
        format!("missing {}", thousands(t.missing)),
        format!("new {}", thousands(t.new)),
        format!("duplicates {}", thousands(t.duplicates)),
    ];
    for (n, what) in [
        (t.lost_placements, "label placements lost"),
        (t.placements, "label placements added"),
        (t.excluded, "back after being excluded"),
    ] {
        if n > 0 {
            counts.push(format!("{what} {}", thousands(n)));
        }
    }
    writeln!(out, "Counts: {}.", counts.join(", "))?;
    let by_folder: Vec<String> = r
        .folders
        .iter()
        .filter(|f| f.missing > 0)
        .map(|f| {
            let name = f.before.as_deref().unwrap_or_default();
            match &f.after {
                Some(_) => format!("{name} {}", thousands(f.missing)),
                None => format!(
                    "{name} {} (folder not in the new mailbox)",
                    thousands(f.missing)
                ),
            }
        })
        .collect();
    if !by_folder.is_empty() {
        writeln!(out, "Missing by folder: {}.", by_folder.join(", "))?;
    }
    if details {
        for (title, list) in [("Missing:", missing(r)), ("Altered:", altered(r))] {
            if !list.is_empty() {
                writeln!(out, "{title}")?;
                write_messages(&list, out, |_| false)?;
            }
        }
    }
    for note in &r.notes {
        writeln!(out, "Note: {note}")?;
    }
    writeln!(out, "Checked by {}.", r.tool)
}

/// The missing messages.
fn missing(r: &CheckReport) -> Vec<&Difference> {
    r.differences
        .iter()
        .filter(|d| d.status == Status::Missing)
        .collect()
}

/// The messages that arrived altered, in their folder or moved: the ones to review.
fn altered(r: &CheckReport) -> Vec<&Difference> {
    r.differences
        .iter()
        .filter(|d| d.grade == Some(Grade::Altered))
        .collect()
}

/// The differences as CSV (RFC 4180, UTF-8, CRLF), one row each.
pub fn write_csv(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    const HEADER: [&str; 12] = [
        "status",
        "match",
        "cause",
        "before_folder",
        "after_folder",
        "date",
        "from",
        "subject",
        "message_id",
        "digest",
        "after_digest",
        "reason",
    ];
    write_csv_row(out, HEADER.iter().map(|h| (h.to_string(), false)))?;
    for d in &r.differences {
        let opt = |v: Option<&str>| v.unwrap_or_default().to_string();
        let date = d.date.and_then(|t| {
            time::OffsetDateTime::from_unix_timestamp(t)
                .ok()?
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        });
        let cells = [
            (word(&d.status), false),
            (d.grade.as_ref().map(word).unwrap_or_default(), false),
            (word(&d.cause), false),
            (opt(d.before_folder.as_deref()), true),
            (opt(d.after_folder.as_deref()), true),
            (date.unwrap_or_default(), false),
            (opt(d.from.as_deref()), true),
            (opt(d.subject.as_deref()), true),
            (opt(d.message_id.as_deref()), true),
            (d.digest.clone(), false),
            (opt(d.after_digest.as_deref()), false),
            (d.reason.to_string(), false),
        ];
        write_csv_row(out, cells.into_iter())?;
    }
    Ok(())
}

/// The report as pretty-printed JSON (docs/check-report.md).
pub fn write_json(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    writeln!(out)
}

/// The name an enum value has in the JSON report.
fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Writes one CSV row. Cells marked as taken from mail get a leading `'` when they start like a
/// spreadsheet formula (`=`, `+`, `-`, `@`), so that opening the file cannot run one.
fn write_csv_row(
    out: &mut dyn Write,
    cells: impl Iterator<Item = (String, bool)>,
) -> io::Result<()> {
    let mut line = String::new();
    for (i, (cell, from_mail)) in cells.enumerate() {
        if i > 0 {
            line.push(',');
        }
        let guarded = if from_mail && cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{cell}")
        } else {
            cell
        };
        if guarded.contains([',', '"', '\r', '\n']) {
            line.push('"');
            line.push_str(&guarded.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&guarded);
        }
    }
    line.push_str("\r\n");
    out.write_all(line.as_bytes())
}

/// "/path (mbox), receipt 7KQM-2XHD-P9TA taken 2026-01-02 10:00 UTC: 1,233 messages in 1
/// folder".
fn describe_side(s: &Side) -> String {
    let how = match (&s.code, s.read_now) {
        (_, true) => "read now".to_string(),
        (Some(code), false) => format!("receipt {code} taken {}", taken(s)),
        (None, false) => format!("receipt taken {}, its seal broken", taken(s)),
    };
    format!(
        "{} ({}), {how}: {} in {}",
        s.source.location,
        s.source.kind,
        plural(s.messages, "message", "messages"),
        plural(s.folders, "folder", "folders")
    )
}

/// When a side's receipt was taken, as `2026-01-02 10:00 UTC`.
fn taken(s: &Side) -> String {
    time::OffsetDateTime::parse(&s.created, &time::format_description::well_known::Rfc3339)
        .map(|t| when(t.unix_timestamp()))
        .unwrap_or_else(|_| s.created.clone())
}

/// A column of the folder table: its heading and its count.
type Column = (&'static str, fn(&FolderRow) -> u64);

/// The per-status columns of the folder table.
const COLUMNS: [Column; 13] = [
    ("IDENTICAL", |f| f.identical),
    ("NORMALISED", |f| f.normalised),
    ("RE-ENCODED", |f| f.reencoded),
    ("ALTERED", |f| f.altered),
    ("MOVED OUT", |f| f.moved),
    ("LABELS LOST", |f| f.lost_placements),
    ("MISSING", |f| f.missing),
    ("MOVED IN", |f| f.moved_in),
    ("NEW", |f| f.new),
    ("DUPLICATES", |f| f.duplicates),
    ("PLACEMENTS", |f| f.placements),
    ("EXCLUDED", |f| f.excluded),
    ("UNREADABLE", |f| f.unreadable_after),
];

/// The folder table: before → after, counts on each side and per status. Columns that are zero
/// everywhere are left out, except identical and missing.
fn write_folder_table(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    const NAME_MAX: usize = 48;
    let label = |f: &FolderRow| {
        let name = |n: &Option<String>| n.clone().unwrap_or_else(|| "—".to_string());
        let text = if f.before.is_some() && f.before == f.after {
            name(&f.before)
        } else {
            format!("{} → {}", name(&f.before), name(&f.after))
        };
        cut(&text, NAME_MAX)
    };
    let columns: Vec<_> = COLUMNS
        .iter()
        .filter(|(h, get)| {
            matches!(*h, "IDENTICAL" | "MISSING") || r.folders.iter().any(|f| get(f) > 0)
        })
        .collect();
    let labels: Vec<String> = r.folders.iter().map(label).collect();
    let width = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max("FOLDER".len());
    let mut head = format!("{:width$}  {:>9}  {:>9}", "FOLDER", "BEFORE", "AFTER");
    for (h, _) in &columns {
        head.push_str(&format!("  {h:>9}"));
    }
    writeln!(out, "{}", head.trim_end())?;
    for (f, l) in r.folders.iter().zip(&labels) {
        let pad = width - l.chars().count();
        let mut line = format!(
            "{l}{:pad$}  {:>9}  {:>9}",
            "",
            thousands(f.before_count),
            thousands(f.after_count)
        );
        for (h, get) in &columns {
            let w = h.len().max(9);
            line.push_str(&format!("  {:>w$}", thousands(get(f))));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A list of messages as a person recognises them: date, folder, sender, subject; with the
/// reason on the next line where `explain` says so.
fn write_messages(
    list: &[&Difference],
    out: &mut dyn Write,
    explain: impl Fn(&Difference) -> bool,
) -> io::Result<()> {
    let lines: Vec<Line<'_>> = list
        .iter()
        .map(|d| Line {
            date: d.date,
            folder: d.before_folder.as_deref().or(d.after_folder.as_deref()),
            from: d.from.as_deref(),
            subject: d.subject.as_deref(),
            detail: explain(d).then_some(&*d.reason),
        })
        .collect();
    write_lines(&lines, out)
}

/// One message in a list for people: what they recognise it by, and a line of detail.
pub struct Line<'a> {
    pub date: Option<i64>,
    pub folder: Option<&'a str>,
    pub from: Option<&'a str>,
    pub subject: Option<&'a str>,
    /// Printed on its own line below, indented.
    pub detail: Option<&'a str>,
}

/// A table of messages (date, folder, sender, subject), as every message list is printed.
pub fn write_lines(list: &[Line<'_>], out: &mut dyn Write) -> io::Result<()> {
    const FOLDER_MAX: usize = 30;
    const FROM_MAX: usize = 36;
    let folder = |d: &Line<'_>| cut(d.folder.unwrap_or("—"), FOLDER_MAX);
    let from = |d: &Line<'_>| cut(d.from.unwrap_or("(no sender)"), FROM_MAX);
    let fw = list
        .iter()
        .map(|d| folder(d).chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let sw = list
        .iter()
        .map(|d| from(d).chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    writeln!(
        out,
        "  {:20}  {:fw$}  {:sw$}  SUBJECT",
        "DATE", "FOLDER", "FROM"
    )?;
    for d in list {
        let date = d.date.map(when).unwrap_or_else(|| "(no date)".to_string());
        let (f, s) = (folder(d), from(d));
        let (fp, sp) = (fw - f.chars().count(), sw - s.chars().count());
        writeln!(
            out,
            "  {date:20}  {f}{:fp$}  {s}{:sp$}  {}",
            "",
            "",
            d.subject.unwrap_or("(no subject)")
        )?;
        if let Some(detail) = d.detail {
            writeln!(out, "      {detail}")?;
        }
    }
    Ok(())
}

/// The differences that are not listed message by message, grouped by what happened and where:
/// (how many, what happened), in plain text; the HTML report escapes it.
pub(crate) fn grouped(r: &CheckReport) -> Vec<(u64, String)> {
    let mut groups: BTreeMap<(Status, String), u64> = BTreeMap::new();
    for d in &r.differences {
        let quote = |n: Option<&str>| format!("“{}”", n.unwrap_or("—"));
        let (from, to) = (
            quote(d.before_folder.as_deref()),
            quote(d.after_folder.as_deref()),
        );
        let what = match d.status {
            Status::Missing | Status::Altered => continue,
            Status::Moved if d.grade == Some(Grade::Altered) => continue,
            Status::Moved if d.cause == Cause::FolderMissingAfter => format!(
                "moved from {from} to {to}: {from} is not in the new mailbox; if it was renamed, map {from} to {to}"
            ),
            Status::Moved => format!("moved from {from} to {to}"),
            Status::Normalised => format!("identical after normalisation in {from}"),
            Status::Reencoded => format!("re-encoded in {from}"),
            Status::LostPlacement => {
                format!("no longer in {from}, but still in another folder (a label was lost)")
            }
            Status::New if d.cause == Cause::ArrivedAfterReceipt => {
                format!("new in {to}, dated after the receipt was taken")
            }
            Status::New => format!("new in {to}"),
            Status::Duplicate => format!("duplicated in {to}"),
            Status::Placement => format!("also filed in {to} (labels)"),
            Status::Excluded => {
                format!("in {to}, not counted as mail by the receipt (excluded by the source)")
            }
        };
        *groups.entry((d.status, what)).or_default() += 1;
    }
    groups.into_iter().map(|((_, what), n)| (n, what)).collect()
}

fn write_notes(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    if !r.notes.is_empty() {
        writeln!(out)?;
        for note in &r.notes {
            writeln!(out, "Note: {note}")?;
        }
    }
    Ok(())
}

/// Cuts a text to `max` characters, ending in "…" when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}
