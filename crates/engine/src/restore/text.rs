//! A restore for people: what was (or would be) appended per folder, what could not be, then
//! the verdict of the check, in the check's own words ([`text::write_summary`]).

use std::io::{self, Write};

use super::{Outcome, PlannedMessage};
use crate::check::report::plural;
use crate::check::text::{self, Line};
use crate::units::thousands;

/// The text `mailproof restore` prints.
pub fn write_text(o: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    let s = &o.summary;
    let dest = &o.before.after.source.location;
    if o.plan.messages.is_empty() {
        writeln!(out, "Nothing to restore: {dest} is missing nothing.")?;
    } else if s.dry_run {
        writeln!(out, "Dry run: nothing was changed in {dest}.")?;
        writeln!(
            out,
            "{} would be appended:",
            plural(s.appended, "message", "messages")
        )?;
    } else {
        writeln!(
            out,
            "Appended {} to {dest}:",
            plural(s.appended, "message", "messages")
        )?;
    }
    if !o.plan.messages.is_empty() {
        write_folders(o, out)?;
    }
    if s.dry_run && s.appended > 0 {
        writeln!(out)?;
        write_list(o, out)?;
    }
    if !s.skipped.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{} cannot be restored from the archive:",
            plural(s.skipped.len() as u64, "message", "messages")
        )?;
        let lines: Vec<Line<'_>> = s
            .skipped
            .iter()
            .map(|k| Line {
                date: k.date,
                folder: Some(&k.folder),
                from: k.from.as_deref(),
                subject: k.subject.as_deref(),
                detail: Some(&k.reason),
            })
            .collect();
        text::write_lines(&lines, out)?;
    }
    if s.cancelled {
        let planned = o.plan.messages.len() as u64;
        writeln!(out)?;
        writeln!(
            out,
            "Stopped before the end: {} of {planned} appended. Run the same command again to append the rest.",
            plural(s.appended, "message was", "messages were")
        )?;
    }
    for note in &s.notes {
        writeln!(out, "Note: {note}")?;
    }
    writeln!(out)?;
    let now = o.current();
    if o.after.is_some() {
        writeln!(out, "Checked again:")?;
    }
    // A dry run has just listed the missing messages; a run lists what is still missing.
    text::write_summary(now, !now.complete && !s.dry_run, out)
}

/// Per folder: how many messages, and whether the folder is new.
fn write_folders(o: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    let s = &o.summary;
    let width = s
        .folders
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(0);
    for f in &s.folders {
        let mut extra = Vec::new();
        if f.create {
            extra.push("new folder".to_string());
        }
        if f.skipped > 0 {
            extra.push(format!("{} not restorable", thousands(f.skipped)));
        }
        if f.appended + f.skipped < f.planned {
            extra.push(format!(
                "{} not reached",
                thousands(f.planned - f.appended - f.skipped)
            ));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("  ({})", extra.join(", "))
        };
        let pad = width - f.name.chars().count();
        writeln!(
            out,
            "  {}{:pad$}  {:>9}{extra}",
            f.name,
            "",
            thousands(f.appended)
        )?;
    }
    Ok(())
}

/// Every message to append: date, the folder it goes to, sender, subject.
fn write_list(o: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    let plan = &o.plan;
    let skipped = |m: &&PlannedMessage| o.summary.skipped.iter().any(|k| k.entry == m.record.entry);
    let lines: Vec<Line<'_>> = plan
        .messages
        .iter()
        .filter(|m| !skipped(m))
        .map(|m| Line {
            date: m.record.identity.date,
            folder: Some(&plan.folders[m.folder].name),
            from: m.record.identity.from.as_deref(),
            subject: m.record.identity.subject.as_deref(),
            detail: None,
        })
        .collect();
    text::write_lines(&lines, out)
}
