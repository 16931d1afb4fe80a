//! Picking up an interrupted receipt or export where it stopped.
//!
//! A receipt is written line by line to `<output>.partial`; an export writes its zip to
//! `<output>.partial` and its receipt lines to `<output>.partial.receipt`. After a crash, a
//! kill or a cancel, those files hold a prefix of the run. A resumed run keeps each record
//! whose line is complete and, for an export, whose zip entry is complete and hashes to the
//! digest its record gives; it copies them into a fresh output and asks the source only for
//! what follows. Nothing is kept that cannot be checked.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::WriteFn;
use super::tally::Tally;
use crate::archive::{EntryData, side_receipt};
use crate::receipt::{Header, Record, hex};
use crate::source::{MAX_MESSAGE, SourceDescription};
use crate::{Error, Result};

/// What an interrupted run left that a new run continues from.
pub(super) struct Resumed {
    pub header: Header,
    pub tally: Tally,
    /// Source ids of the unfinished folder's entries already kept, in order: the source must
    /// yield the same ones first, or the mailbox changed and resuming would be wrong.
    pub partial_ids: Vec<String>,
    /// Messages of the unfinished folder already kept; new entries are numbered after them.
    pub partial_messages: u64,
}

/// The files an interrupted run left, moved aside (`.old`) so the new run writes fresh ones.
pub(super) struct Leftover {
    lines: PathBuf,
    zip: Option<PathBuf>,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

impl Leftover {
    /// Finds what an interrupted run of the same command left next to `partial`, and moves it
    /// aside. A leftover from a resume that was itself interrupted (the `.old` files) wins:
    /// the fresh files it was copying into hold less.
    pub fn find(
        partial: &Path,
        archive: bool,
        expected: &SourceDescription,
    ) -> Result<Option<Self>> {
        let lines = if archive {
            side_receipt(partial)
        } else {
            partial.to_path_buf()
        };
        let old_lines = with_suffix(&lines, ".old");
        let old_zip = with_suffix(partial, ".old");
        if !old_lines.exists() {
            if !lines.exists() {
                return Ok(None);
            }
            check_source(&lines, expected)?;
            rename(&lines, &old_lines)?;
            if archive {
                rename(partial, &old_zip)?;
            }
        }
        Ok(Some(Self {
            lines: old_lines,
            zip: archive.then_some(old_zip),
        }))
    }

    /// Removes the files once their content lives on in the new output.
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.lines);
        if let Some(zip) = &self.zip {
            let _ = std::fs::remove_file(zip);
        }
    }

    /// Writes every record (and entry) that can be kept through `write`, and returns where
    /// the run stands. `None` when nothing is usable (the new run starts from the beginning).
    pub fn replay(&self, write: WriteFn<'_>) -> Result<Option<Resumed>> {
        let open = |p: &Path| File::open(p).map_err(|e| Error::io("cannot read", p, e));
        let mut lines = BufReader::new(open(&self.lines)?);
        let mut zip = match &self.zip {
            Some(p) => Some(BufReader::new(open(p)?)),
            None => None,
        };
        let Some(Record::Header(header)) = next_record(&mut lines) else {
            return Ok(None);
        };
        if header.version != crate::receipt::VERSION
            || header.identity_version != crate::identity::IDENTITY_VERSION
        {
            return Ok(None);
        }
        write(&Record::Header(header.clone()), None)?;
        let mut resumed = Resumed {
            header,
            tally: Tally::default(),
            partial_ids: Vec::new(),
            partial_messages: 0,
        };
        while let Some(record) = next_record(&mut lines) {
            let entry = match (&record, zip.as_mut()) {
                (Record::Message(m), Some(zip)) => match &m.entry {
                    Some(name) => match kept_entry(zip, name, m.size, &m.identity.digest) {
                        Some(bytes) => Some(EntryData::Whole {
                            name: name.clone(),
                            bytes,
                        }),
                        None => break,
                    },
                    None => None,
                },
                _ => None,
            };
            let tally = &mut resumed.tally;
            match &record {
                Record::Folder(f) => {
                    tally.folder_started(f.clone());
                    resumed.partial_ids.clear();
                    resumed.partial_messages = 0;
                }
                Record::Message(m) => {
                    tally.message(m);
                    resumed.partial_ids.push(m.source_id.clone());
                    resumed.partial_messages += 1;
                }
                Record::Unreadable(u) => {
                    tally.unreadable(u);
                    resumed.partial_ids.push(u.source_id.clone());
                }
                Record::FolderEnd(end) => {
                    let (folder, _) = tally.take_current();
                    tally.folder_finished(folder, end.clone());
                    resumed.partial_ids.clear();
                    resumed.partial_messages = 0;
                }
                // Totals and seal are written again at the end of the new run.
                Record::Header(_) | Record::Totals(_) | Record::Seal(_) => break,
            }
            write(&record, entry)?;
        }
        Ok(Some(resumed))
    }
}

/// Refuses to resume into an output that another mailbox's run left behind.
fn check_source(lines: &Path, expected: &SourceDescription) -> Result<()> {
    let file = File::open(lines).map_err(|e| Error::io("cannot read", lines, e))?;
    if let Some(Record::Header(header)) = next_record(&mut BufReader::new(file))
        && header.source != *expected
    {
        return Err(Error::Usage(format!(
            "{} is an unfinished run from another mailbox ({} {}); give another output name, \
             or pass --force to discard it and start over",
            lines.display(),
            header.source.kind,
            header.source.location
        )));
    }
    Ok(())
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::io("cannot rename", from, e))
}

/// The next complete, well-formed line; `None` at the end or at the first torn line.
fn next_record(lines: &mut impl BufRead) -> Option<Record> {
    let mut line = Vec::new();
    lines.read_until(b'\n', &mut line).ok()?;
    if line.last() != Some(&b'\n') {
        return None;
    }
    serde_json::from_slice(&line).ok()
}

/// The next zip entry's bytes, when it is the one named, complete, and hashes to `digest`.
fn kept_entry(zip: &mut impl Read, name: &str, size: u64, digest: &str) -> Option<Vec<u8>> {
    let mut entry = zip::read::read_zipfile_from_stream(zip).ok()??;
    if entry.name_raw() != name.as_bytes() || entry.is_symlink() {
        return None;
    }
    let limit = size.min(MAX_MESSAGE as u64);
    let mut bytes = Vec::with_capacity(limit as usize);
    (&mut entry).take(limit + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 == size && hex(&Sha256::digest(&bytes)) == digest).then_some(bytes)
}
