//! Check: reconcile the receipt taken before a migration with the mailbox after it, and say
//! message by message what arrived, what changed, what moved and what is missing (design §4–§6).
//!
//! The reconciliation ([`reconcile`]) is a pure function of two receipts, in the compact form
//! of a [`Catalog`], and the user's folder overrides: folders are mapped first ([`folders`]),
//! then messages matched tier by tier (`reconcile.rs`), then every message is given a status
//! and a cause in a [`CheckReport`] ([`report`]), which [`text`] and [`html`] render. The I/O
//! around it is here too: loading receipts or reading a live mailbox into one ([`snapshots`]),
//! reading a map file and saving reports.

mod catalog;
pub mod folders;
pub mod html;
mod reconcile;
pub mod report;
pub mod text;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub use catalog::{Catalog, counts_as_mail};
pub use folders::{FolderOverride, Rule};
pub use reconcile::Grade;
pub use report::{
    ByMatch, Cause, CheckReport, Difference, FolderRow, Mapping, SCHEMA, Side, Status, Totals,
};

use crate::imap::{self, is_imap_spec};
use crate::pipeline::{self, Options};
use crate::progress::Observer;
use crate::receipt::Receipt;
use crate::source::{Role, Source};
use crate::sources::{self, Kind};
use crate::{Error, Result};

/// Reconciles the receipt `before` with the receipt `after`: maps the folders (overrides
/// first), matches every message and builds the report. Fails only when an override names a
/// folder that does not exist.
pub fn reconcile(
    before: &Catalog,
    after: &Catalog,
    overrides: &[FolderOverride],
) -> Result<CheckReport> {
    Ok(reconciliation(before, after, overrides)?.report)
}

/// A check's report, and which messages of the receipt it found missing: what a restore needs
/// to know beside what a person reads.
#[derive(Debug, Clone)]
pub struct Reconciliation {
    pub report: CheckReport,
    /// The missing messages of the receipt before, in receipt order, as positions among its
    /// messages counted as mail ([`counts_as_mail`]); one entry per missing copy, so three
    /// copies before and two after give one entry.
    pub missing: Vec<usize>,
}

/// [`reconcile`], keeping the positions of the missing messages.
pub fn reconciliation(
    before: &Catalog,
    after: &Catalog,
    overrides: &[FolderOverride],
) -> Result<Reconciliation> {
    let map = folders::map_folders(&before.folders, &after.folders, overrides)?;
    let labels = |c: &Catalog| {
        c.folders
            .iter()
            .any(|f| folders::effective_role(f) == Some(Role::All))
    };
    let setting = reconcile::Setting {
        target: &map.target,
        tiers: reconcile::Tier::usable(
            before.header.identity_version,
            after.header.identity_version,
        ),
        labels_before: labels(before),
        labels_after: labels(after),
    };
    // Matching is one thread's work; counting unique messages fits beside it on a second core.
    let (fates, unique) = std::thread::scope(|scope| {
        let unique = scope.spawn(|| {
            (
                reconcile::distinct(&before.messages.mail.keys),
                reconcile::distinct(&after.messages.mail.keys),
            )
        });
        let fates = reconcile::run(before, after, &setting);
        (
            fates,
            unique
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p)),
        )
    });
    let labels = (setting.labels_before, setting.labels_after);
    let missing = fates
        .before
        .iter()
        .enumerate()
        .filter(|(_, fate)| matches!(fate, reconcile::BeforeFate::Missing(_)))
        .map(|(i, _)| i)
        .collect();
    Ok(Reconciliation {
        report: report::build(before, after, &map, &fates, unique, labels),
        missing,
    })
}

/// [`reconcile`] for receipts in memory.
pub fn reconcile_receipts(
    before: &Receipt,
    after: &Receipt,
    overrides: &[FolderOverride],
) -> Result<CheckReport> {
    reconcile(
        &Catalog::from_receipt(before),
        &Catalog::from_receipt(after),
        overrides,
    )
}

/// A receipt to check, and whether it was taken for this check.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub catalog: Catalog,
    /// True when the spec was a mailbox read just now, false for a receipt or an archive.
    pub read_now: bool,
}

/// The receipts of both sides of a check ([`snapshot`]). A side given as a receipt or an
/// archive is loaded on its own thread while the other side is read or loaded, so the receipt
/// of a million messages costs no time beside a mailbox being read. Two mailboxes are read one
/// after the other, each on every core. Progress of each side goes to its own observer.
pub fn snapshots(
    before: &str,
    after: &str,
    opts: &Options,
    observe_before: Observer<'_>,
    observe_after: Observer<'_>,
) -> Result<(Snapshot, Snapshot)> {
    let stored = |spec: &str| {
        Ok::<_, Error>(
            !is_imap_spec(spec) && matches!(kind_of(spec)?.0, Kind::Receipt | Kind::Archive),
        )
    };
    let side = |side| {
        let mut opts = opts.clone();
        opts.access.side = Some(side);
        opts
    };
    let (opts_before, opts_after) = (side(imap::Side::Before), side(imap::Side::After));
    if !stored(before)? && !stored(after)? {
        return Ok((
            snapshot(before, &opts_before, observe_before)?,
            snapshot(after, &opts_after, observe_after)?,
        ));
    }
    std::thread::scope(|scope| {
        let b = scope.spawn(|| snapshot(before, &opts_before, observe_before));
        let a = snapshot(after, &opts_after, observe_after);
        let b = b.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        Ok((b?, a?))
    })
}

/// The kind of a spec, forced by its prefix or detected, and its path.
fn kind_of(spec: &str) -> Result<(Kind, PathBuf)> {
    let (forced, path) = sources::parse_spec(spec)?;
    let kind = match forced {
        Some(kind) => kind,
        None if !path.exists() => {
            return Err(Error::NotAMailbox {
                path,
                what: "no such file or directory".into(),
            });
        }
        None => sources::detect(&path)?,
    };
    Ok((kind, path))
}

/// The receipt of any spec: a receipt file or an archive's receipt is loaded; a mailbox is read
/// into a receipt first (in a private temporary folder, removed afterwards), with progress.
pub fn snapshot(spec: &str, opts: &Options, observe: Observer<'_>) -> Result<Snapshot> {
    let kind = if is_imap_spec(spec) {
        None
    } else {
        Some(kind_of(spec)?)
    };
    match kind {
        Some((Kind::Receipt, path)) => {
            return Ok(Snapshot {
                catalog: Catalog::load(&path)?,
                read_now: false,
            });
        }
        Some((Kind::Archive, path)) => {
            return Ok(Snapshot {
                catalog: Catalog::from_receipt(&pipeline::load_receipt(&path)?),
                read_now: false,
            });
        }
        _ => {}
    }
    let mut source = sources::open_source_with(spec, &opts.access)?;
    read_snapshot(source.as_mut(), opts, observe)
}

/// The receipt of a mailbox already open, read now (in a private temporary folder, removed
/// afterwards), with progress.
pub fn read_snapshot(
    source: &mut dyn Source,
    opts: &Options,
    observe: Observer<'_>,
) -> Result<Snapshot> {
    let dir = tempfile::Builder::new()
        .prefix("mailproof-check-")
        .tempdir()
        .map_err(|e| {
            Error::io(
                "cannot create a temporary folder in",
                std::env::temp_dir(),
                e,
            )
        })?;
    let out = dir.path().join("mailbox.receipt");
    pipeline::take_receipt(source, &out, opts, observe)?;
    let catalog = Catalog::load(&out)?;
    dir.close()
        .map_err(|e| Error::io("cannot remove the temporary receipt", &out, e))?;
    Ok(Snapshot {
        catalog,
        read_now: true,
    })
}

/// Reconciles two snapshots ([`reconcile`]) and records which side was read just now.
pub fn check(
    before: &Snapshot,
    after: &Snapshot,
    overrides: &[FolderOverride],
) -> Result<CheckReport> {
    Ok(check_reconciliation(before, after, overrides)?.report)
}

/// [`check`], keeping the positions of the missing messages ([`Reconciliation`]).
pub fn check_reconciliation(
    before: &Snapshot,
    after: &Snapshot,
    overrides: &[FolderOverride],
) -> Result<Reconciliation> {
    let mut r = reconciliation(&before.catalog, &after.catalog, overrides)?;
    r.report.before.read_now = before.read_now;
    r.report.after.read_now = after.read_now;
    Ok(r)
}

/// Reads a map file of `OLD=NEW` lines ([`FolderOverride::parse_file`]).
pub fn read_map_file(path: &Path) -> Result<Vec<FolderOverride>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    FolderOverride::parse_file(&text, &path.display().to_string())
}

/// Writes a report file through `write`, under a temporary name renamed into place when
/// complete, so a half-written report never carries the final name.
pub fn save(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let result = (|| {
        let file = File::create(&partial)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::io("cannot write", path, e));
    }
    std::fs::rename(&partial, path).map_err(|e| Error::io("cannot rename into place", path, e))
}

#[cfg(test)]
mod tests;
