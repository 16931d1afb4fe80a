//! The long operations: read a source, hash every message on all cores, and write a receipt
//! or an archive as it goes.
//!
//! One reader thread streams the source; worker threads hash (and, for archives, compress)
//! messages; the calling thread writes results in source order, so the output is the same
//! whatever the number of threads. Memory is bounded by a byte budget on messages in flight,
//! not by mailbox size.

use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use crate::archive::{ArchiveWriter, Compression, EntryData};
use crate::identity::{self, Identity};
use crate::names::FolderPaths;
use crate::progress::{CancelToken, Event, Observer};
use crate::receipt::{
    FolderEnd, FolderRecord, Header, MessageRecord, Receipt, ReceiptWriter, Record, Seal, Totals,
    UnreadableRecord,
};
use crate::source::{Entry, Folder, FolderNotes, RawMessage, Source};
use crate::{Error, Result};

/// Settings shared by every long operation.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Worker threads for hashing; 0 means one per core.
    pub threads: usize,
    /// When not empty, only folders whose display name is listed are read.
    pub folders: Vec<String>,
    /// Replace an existing output file.
    pub overwrite: bool,
    pub cancel: CancelToken,
    /// Secrets and connections for IMAP accounts.
    pub access: crate::imap::Access,
}

impl Options {
    fn worker_count(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }
}

/// What a finished receipt or export produced.
#[derive(Debug, Clone)]
pub struct Summary {
    pub output: PathBuf,
    pub seal: Seal,
    pub totals: Totals,
    /// Per-folder counts, in receipt order, with the folder's real name.
    pub folders: Vec<(FolderRecord, FolderEnd)>,
    /// Messages found but not readable, with the folder's name.
    pub unreadable: Vec<(String, UnreadableRecord)>,
    pub source_notes: Vec<String>,
}

/// Reads every folder of `source` and writes a receipt to `out`.
pub fn take_receipt(
    source: &mut dyn Source,
    out: &Path,
    opts: &Options,
    observe: Observer<'_>,
) -> Result<Summary> {
    let output = Output::prepare(out, opts.overwrite)?;
    let mut writer = ReceiptWriter::create(&output.partial)?;
    let result = run(source, opts, observe, None, &mut |record, _| {
        writer.write(record)
    });
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            drop(writer);
            return Err(output.abandon(e));
        }
    };
    let (seal, file) = writer.seal()?;
    output.commit(file)?;
    Ok(Summary { seal, ..summary })
}

/// Reads every folder of `source` and writes an archive (every message as .eml, and the
/// receipt) to `out`.
pub fn export(
    source: &mut dyn Source,
    out: &Path,
    compression: Compression,
    opts: &Options,
    observe: Observer<'_>,
) -> Result<Summary> {
    let output = Output::prepare(out, opts.overwrite)?;
    let mut archive = match ArchiveWriter::create(&output.partial, compression) {
        Ok(a) => a,
        Err(e) => return Err(output.abandon(e)),
    };
    let result = run(
        source,
        opts,
        observe,
        Some(compression),
        &mut |record, prepared| archive.write(record, prepared),
    );
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            drop(archive);
            return Err(output.abandon(e));
        }
    };
    let (seal, file) = match archive.finish() {
        Ok(done) => done,
        Err(e) => return Err(output.abandon(e)),
    };
    output.commit(file)?;
    Ok(Summary { seal, ..summary })
}

/// An output written under a temporary name next to the final one, and renamed only when
/// complete, so that nothing half-written ever carries the final name.
struct Output {
    target: PathBuf,
    partial: PathBuf,
}

impl Output {
    fn prepare(target: &Path, overwrite: bool) -> Result<Self> {
        if target.is_dir() {
            return Err(Error::Usage(format!(
                "{} is a folder; give a file name for the output",
                target.display()
            )));
        }
        if target.exists() && !overwrite {
            return Err(Error::Usage(format!(
                "{} already exists; choose another name, or pass --force to replace it",
                target.display()
            )));
        }
        let mut partial = target.as_os_str().to_owned();
        partial.push(".partial");
        Ok(Self {
            target: target.to_path_buf(),
            partial: PathBuf::from(partial),
        })
    }

    /// Flushes to disk, then gives the file its final name.
    fn commit(self, file: std::fs::File) -> Result<()> {
        file.sync_all()
            .map_err(|e| Error::io("cannot write", &self.partial, e))?;
        drop(file);
        std::fs::rename(&self.partial, &self.target)
            .map_err(|e| Error::io("cannot rename into place", &self.target, e))
    }

    /// Removes the partial file after a failure, and passes the error on.
    fn abandon(self, error: Error) -> Error {
        let _ = std::fs::remove_file(&self.partial);
        error
    }
}

/// A message hashed by a worker, ready to be written.
struct Hashed {
    folder: usize,
    raw: RawMessage,
    size: u64,
    identity: Identity,
    prepared: Option<EntryData>,
}

/// Work travelling from the reader through the workers to the writer, in source order.
enum Item {
    FolderStart(usize, Folder),
    Message {
        folder: usize,
        raw: RawMessage,
        entry: Option<String>,
    },
    Hashed(Box<Hashed>),
    Unreadable(usize, UnreadableRecord),
    FolderEnd(usize, std::result::Result<FolderNotes, String>),
}

impl Item {
    /// What this item counts against the in-flight budget.
    fn cost(&self) -> u64 {
        256 + match self {
            Item::Message { raw, .. } => raw.bytes.len() as u64,
            _ => 0,
        }
    }
}

/// An item with its place in source order and what it was charged against the budget.
type Job = (u64, u64, Item);

/// Caps the bytes of messages between the reader and the writer.
struct Budget {
    state: Mutex<(u64, bool)>,
    freed: Condvar,
    limit: u64,
}

impl Budget {
    fn new(limit: u64) -> Self {
        Self {
            state: Mutex::new((0, false)),
            freed: Condvar::new(),
            limit,
        }
    }

    /// Waits for room; a message larger than the whole budget still passes when nothing else
    /// is in flight. Returns false when the run is being torn down.
    fn acquire(&self, cost: u64) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while !state.1 && state.0 > 0 && state.0 + cost > self.limit {
            state = self.freed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        if state.1 {
            return false;
        }
        state.0 += cost;
        true
    }

    fn release(&self, cost: u64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0 = state.0.saturating_sub(cost);
        self.freed.notify_all();
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
        self.freed.notify_all();
    }
}

/// Bytes of messages allowed in flight: a few per core, whatever the mailbox size.
const BUDGET: u64 = 32 << 20;

type WriteFn<'a> = &'a mut dyn FnMut(&Record, Option<EntryData>) -> Result<()>;

/// Drives the reader, the workers and the writer callback; returns the counts.
fn run(
    source: &mut dyn Source,
    opts: &Options,
    observe: Observer<'_>,
    compression: Option<Compression>,
    write: WriteFn<'_>,
) -> Result<Summary> {
    let description = source.describe();
    let mut folders = source.folders()?;
    if !opts.folders.is_empty() {
        let wanted: HashSet<&str> = opts.folders.iter().map(String::as_str).collect();
        let known: HashSet<String> = folders.iter().map(Folder::name).collect();
        if let Some(unknown) = opts.folders.iter().find(|f| !known.contains(f.as_str())) {
            return Err(Error::Usage(format!(
                "there is no folder named `{unknown}` in {}; `mailproof folders` lists them",
                description.location
            )));
        }
        folders.retain(|f| wanted.contains(f.name().as_str()));
    }
    let source_notes = source.notes();
    write(
        &Record::Header(Header {
            format: crate::receipt::FORMAT.into(),
            version: crate::receipt::VERSION,
            identity_version: identity::IDENTITY_VERSION,
            tool: crate::TOOL.into(),
            created: now_rfc3339(),
            source: description,
            notes: source_notes.clone(),
        }),
        None,
    )?;
    observe(&Event::Started {
        folders: folders.len(),
        messages_total: folders.iter().map(|f| f.claimed).sum(),
        bytes_total: folders.iter().map(|f| f.bytes_hint).sum(),
    });

    let budget = Budget::new(BUDGET);
    let workers = opts.worker_count();
    let (job_tx, job_rx) = bounded::<Job>(workers * 4);
    let (done_tx, done_rx) = unbounded::<Job>();
    let cancel = &opts.cancel;

    let outcome = std::thread::scope(|scope| {
        let budget = &budget;
        let folders = &folders;
        scope.spawn(move || {
            read_all(
                source,
                folders,
                compression.is_some(),
                cancel,
                budget,
                job_tx,
            );
        });
        for _ in 0..workers {
            let jobs = job_rx.clone();
            let done = done_tx.clone();
            scope.spawn(move || hash_worker(jobs, done, compression));
        }
        drop(done_tx);
        drop(job_rx);
        let outcome = write_in_order(&done_rx, folders, budget, observe, write);
        // Stop the reader and the workers whatever happened, then let the scope join them.
        budget.close();
        drop(done_rx);
        outcome
    });
    let (totals, ends, unreadable) = outcome?;
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    write(&Record::Totals(totals.clone()), None)?;
    observe(&Event::Finished {
        messages_done: totals.found,
        bytes_done: totals.bytes,
    });
    Ok(Summary {
        output: PathBuf::new(),
        seal: Seal {
            sha256: String::new(),
            code: String::new(),
        },
        totals,
        folders: ends,
        unreadable,
        source_notes,
    })
}

/// The reader thread: streams every folder into the job queue, numbering items in order.
fn read_all(
    source: &mut dyn Source,
    folders: &[Folder],
    archive: bool,
    cancel: &CancelToken,
    budget: &Budget,
    jobs: Sender<Job>,
) {
    let mut seq = 0u64;
    let mut paths = FolderPaths::default();
    let mut send = |item: Item| -> ControlFlow<()> {
        let cost = item.cost();
        if cancel.is_cancelled() || !budget.acquire(cost) {
            return ControlFlow::Break(());
        }
        seq += 1;
        match jobs.send((seq, cost, item)) {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    };
    for (index, folder) in folders.iter().enumerate() {
        if send(Item::FolderStart(index, folder.clone())).is_break() {
            return;
        }
        let dir = archive.then(|| paths.assign(&folder.path));
        let mut n = 0u64;
        let mut stopped = false;
        let read = catch_unwind(AssertUnwindSafe(|| {
            source.read_folder(folder, &mut |entry| {
                let flow = match entry {
                    Entry::Message(raw) => {
                        n += 1;
                        let entry = dir.as_ref().map(|d| format!("messages/{d}/{n}.eml"));
                        send(Item::Message {
                            folder: index,
                            raw,
                            entry,
                        })
                    }
                    Entry::Unreadable { source_id, reason } => send(Item::Unreadable(
                        index,
                        UnreadableRecord {
                            folder: index,
                            source_id,
                            reason,
                        },
                    )),
                };
                stopped |= flow.is_break();
                flow
            })
        }));
        let end = match read {
            Ok(Ok(notes)) => Ok(notes),
            Ok(Err(e)) => Err(e.to_string()),
            Err(panic) => Err(format!(
                "internal error while reading this folder ({}); the messages before it are recorded",
                panic_text(&panic)
            )),
        };
        if stopped || send(Item::FolderEnd(index, end)).is_break() {
            return;
        }
    }
}

/// A worker: hashes messages (and prepares zip entries); passes everything else through.
fn hash_worker(jobs: Receiver<Job>, done: Sender<Job>, compression: Option<Compression>) {
    for (seq, cost, item) in jobs {
        let item = match item {
            Item::Message { folder, raw, entry } => hash_one(folder, raw, entry, compression),
            other => other,
        };
        if done.send((seq, cost, item)).is_err() {
            return;
        }
    }
}

fn hash_one(
    folder: usize,
    mut raw: RawMessage,
    entry: Option<String>,
    compression: Option<Compression>,
) -> Item {
    let size = raw.bytes.len() as u64;
    let work = catch_unwind(AssertUnwindSafe(|| {
        let identity = identity::identify(&raw.bytes);
        let prepared = match (entry, compression) {
            (Some(name), Some(c)) => Some(c.prepare(name, std::mem::take(&mut raw.bytes))),
            _ => None,
        };
        (identity, prepared)
    }));
    match work {
        Ok((identity, prepared)) => {
            let prepared = match prepared.transpose() {
                Ok(p) => p,
                Err(e) => {
                    return Item::Unreadable(
                        folder,
                        UnreadableRecord {
                            folder,
                            source_id: raw.source_id,
                            reason: format!("could not be compressed for the archive: {e}"),
                        },
                    );
                }
            };
            raw.bytes = Vec::new();
            Item::Hashed(Box::new(Hashed {
                folder,
                raw,
                size,
                identity,
                prepared,
            }))
        }
        Err(panic) => Item::Unreadable(
            folder,
            UnreadableRecord {
                folder,
                source_id: raw.source_id,
                reason: format!("internal error while hashing ({})", panic_text(&panic)),
            },
        ),
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

type Written = (
    Totals,
    Vec<(FolderRecord, FolderEnd)>,
    Vec<(String, UnreadableRecord)>,
);

/// The writer: puts results back in source order, writes records, counts, reports progress.
fn write_in_order(
    done: &Receiver<Job>,
    folders: &[Folder],
    budget: &Budget,
    observe: Observer<'_>,
    write: WriteFn<'_>,
) -> Result<Written> {
    let mut pending: BTreeMap<u64, (u64, Item)> = BTreeMap::new();
    let mut next = 1u64;
    let mut totals = Totals::default();
    let mut ends = Vec::new();
    let mut unreadable_list = Vec::new();
    let mut current: Option<(FolderRecord, FolderEnd)> = None;
    let (mut messages_done, mut bytes_done) = (0u64, 0u64);
    for (seq, cost, item) in done {
        pending.insert(seq, (cost, item));
        while let Some((cost, item)) = pending.remove(&next) {
            next += 1;
            match item {
                Item::FolderStart(index, folder) => {
                    let record = FolderRecord {
                        id: index,
                        path: folder.path.clone(),
                        role: folder.role,
                        claimed: folder.claimed,
                    };
                    write(&Record::Folder(record.clone()), None)?;
                    observe(&Event::FolderStarted {
                        index,
                        name: folder.name(),
                        claimed: folder.claimed,
                    });
                    current = Some((
                        record,
                        FolderEnd {
                            folder: index,
                            ..FolderEnd::default()
                        },
                    ));
                }
                Item::Hashed(h) => {
                    let Hashed {
                        folder,
                        raw,
                        size,
                        identity,
                        prepared,
                    } = *h;
                    let end = &mut current.as_mut().expect("folder started").1;
                    end.bytes += size;
                    match &raw.excluded {
                        Some(reason) => {
                            end.excluded += 1;
                            *end.excluded_reasons.entry(reason.clone()).or_default() += 1;
                        }
                        None => {
                            end.read += 1;
                            end.trashed += u64::from(raw.trashed);
                        }
                    }
                    let entry = prepared.as_ref().map(EntryData::name);
                    let record = MessageRecord {
                        folder,
                        source_id: raw.source_id,
                        size,
                        identity,
                        flags: raw.flags,
                        internal_date: raw.internal_date,
                        excluded: raw.excluded,
                        trashed: raw.trashed,
                        notes: raw.notes,
                        entry,
                        gmail: raw.gmail,
                    };
                    write(&Record::Message(Box::new(record)), prepared)?;
                    messages_done += 1;
                    bytes_done += size;
                    observe(&Event::Advanced {
                        messages_done,
                        bytes_done,
                    });
                }
                Item::Unreadable(folder, record) => {
                    let end = &mut current.as_mut().expect("folder started").1;
                    end.unreadable += 1;
                    write(&Record::Unreadable(record.clone()), None)?;
                    unreadable_list.push((folders[folder].name(), record));
                    messages_done += 1;
                    observe(&Event::Advanced {
                        messages_done,
                        bytes_done,
                    });
                }
                Item::FolderEnd(index, result) => {
                    let (record, mut end) = current.take().expect("folder started");
                    end.found = end.read + end.unreadable + end.excluded;
                    match result {
                        Ok(notes) => end.notes = notes.notes,
                        Err(error) => {
                            observe(&Event::Warning {
                                message: format!("{}: {error}", record.name()),
                            });
                            end.error = Some(error);
                        }
                    }
                    write(&Record::FolderEnd(end.clone()), None)?;
                    observe(&Event::FolderFinished {
                        index,
                        name: record.name(),
                        read: end.read,
                        unreadable: end.unreadable,
                        excluded: end.excluded,
                    });
                    totals.add(&end);
                    ends.push((record, end));
                }
                Item::Message { .. } => unreachable!("workers hash every message"),
            }
            budget.release(cost);
        }
    }
    Ok((totals, ends, unreadable_list))
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Loads the receipt a path holds: a receipt file, or the one inside an archive.
pub fn load_receipt(path: &Path) -> Result<Receipt> {
    match crate::sources::detect(path)? {
        crate::sources::Kind::Archive => crate::archive::read_receipt(path),
        _ => Receipt::load(path),
    }
}
