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

mod resume;
mod tally;

use resume::{Leftover, Resumed};
use tally::Tally;

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

/// Reads every folder of `source` and writes a receipt to `out`. When an interrupted run of
/// the same command left its unfinished file, continues from it (see [`resume`]).
pub fn take_receipt(
    source: &mut dyn Source,
    out: &Path,
    opts: &Options,
    observe: Observer<'_>,
) -> Result<Summary> {
    let output = Output::prepare(out, opts.overwrite)?;
    let leftover = Leftover::find(&output.partial, false, &source.describe())?;
    let mut writer = ReceiptWriter::create(&output.partial)?;
    let mut write = |record: &Record, _: Option<EntryData>| writer.write(record);
    let result = continue_from(leftover, &mut write)
        .and_then(|resumed| run(source, opts, observe, None, resumed, &mut write));
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
/// receipt) to `out`. When an interrupted run of the same command left its unfinished
/// archive, keeps every entry in it that is complete and intact and continues from there.
pub fn export(
    source: &mut dyn Source,
    out: &Path,
    compression: Compression,
    opts: &Options,
    observe: Observer<'_>,
) -> Result<Summary> {
    let output = Output::prepare(out, opts.overwrite)?;
    let leftover = Leftover::find(&output.partial, true, &source.describe())?;
    let mut archive = match ArchiveWriter::create(&output.partial, compression) {
        Ok(a) => a,
        Err(e) => return Err(output.abandon(e)),
    };
    let mut write = |record: &Record, entry: Option<EntryData>| archive.write(record, entry);
    let archive_out = ArchiveOut {
        compression,
        partial: &output.partial,
    };
    let result = continue_from(leftover, &mut write).and_then(|resumed| {
        run(
            source,
            opts,
            observe,
            Some(archive_out),
            resumed,
            &mut write,
        )
    });
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
    let side = crate::archive::side_receipt(&output.partial);
    output.commit(file)?;
    let _ = std::fs::remove_file(side);
    Ok(Summary { seal, ..summary })
}

/// Copies what can be kept from an interrupted run into the new output, then lets go of the
/// old files: from here on the new output holds everything they held.
fn continue_from(leftover: Option<Leftover>, write: WriteFn<'_>) -> Result<Option<Resumed>> {
    let Some(leftover) = leftover else {
        return Ok(None);
    };
    let resumed = leftover.replay(write)?;
    leftover.remove();
    Ok(resumed)
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
        let output = Self {
            target: target.to_path_buf(),
            partial: PathBuf::from(partial),
        };
        if overwrite {
            output.remove_unfinished();
        }
        Ok(output)
    }

    /// Flushes to disk, then gives the file its final name.
    fn commit(self, file: std::fs::File) -> Result<()> {
        file.sync_all()
            .map_err(|e| Error::io("cannot write", &self.partial, e))?;
        drop(file);
        std::fs::rename(&self.partial, &self.target)
            .map_err(|e| Error::io("cannot rename into place", &self.target, e))
    }

    /// After a failure: removes the unfinished files, and passes the error on. A cancelled run,
    /// or one whose server went away, keeps them, so that running the same command again
    /// continues where it stopped.
    fn abandon(self, error: Error) -> Error {
        if !matches!(error, Error::Cancelled | Error::Connection(_)) {
            self.remove_unfinished();
        }
        error
    }

    /// Every file an unfinished run of this output may have left.
    fn remove_unfinished(&self) {
        let side = crate::archive::side_receipt(&self.partial);
        for path in [&self.partial, &side] {
            let _ = std::fs::remove_file(path);
            let mut old = path.as_os_str().to_owned();
            old.push(".old");
            let _ = std::fs::remove_file(PathBuf::from(old));
        }
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
    Unreadable(UnreadableRecord),
    FolderEnd(usize, std::result::Result<FolderNotes, String>),
    /// The run cannot go on (a resumed run found the mailbox changed).
    Abort(Error),
}

/// What an item holds besides the message bytes, counted against the budget: its identity
/// (four hex digests, names), record, prepared zip entry and queue slots come to about 1.5 KB.
/// Counting less let a mailbox of small messages keep several times the budget in flight.
const ITEM_OVERHEAD: u64 = 2 << 10;

impl Item {
    /// What this item counts against the in-flight budget: the bytes it holds. A hashed
    /// message holds only its archive entry, if any, so the rest of its charge is given back
    /// as soon as it is hashed: otherwise one big message still being hashed would keep
    /// everything hashed after it charged at full size, and the reader would stop for room
    /// while the other workers had nothing to do.
    fn cost(&self) -> u64 {
        ITEM_OVERHEAD
            + match self {
                Item::Message { raw, .. } => raw.bytes.len() as u64,
                Item::Hashed(h) => h.prepared.as_ref().map_or(0, |p| p.held() as u64),
                _ => 0,
            }
    }
}

/// An item with its place in source order and what it was charged against the budget.
type Job = (u64, u64, Item);

/// Caps the bytes of messages between the reader and the writer.
struct Budget {
    state: Mutex<BudgetState>,
    freed: Condvar,
    limit: u64,
}

#[derive(Default)]
struct BudgetState {
    in_flight: u64,
    /// The run is being torn down: nobody waits any more.
    closed: bool,
    /// The reader waits for room: only then does a release wake it.
    waiting: bool,
}

impl Budget {
    fn new(limit: u64) -> Self {
        Self {
            state: Mutex::new(BudgetState::default()),
            freed: Condvar::new(),
            limit,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes room for `cost` if there is some now; a message larger than the whole budget
    /// passes when nothing else is in flight. `None` when the run is being torn down.
    fn try_acquire(&self, cost: u64) -> Option<bool> {
        Self::take(&mut self.lock(), cost, self.limit)
    }

    /// Waits for room. Returns false when the run is being torn down.
    fn acquire(&self, cost: u64) -> bool {
        let mut state = self.lock();
        loop {
            match Self::take(&mut state, cost, self.limit) {
                Some(true) => return true,
                None => return false,
                Some(false) => {
                    state.waiting = true;
                    state = self.freed.wait(state).unwrap_or_else(|p| p.into_inner());
                    state.waiting = false;
                }
            }
        }
    }

    /// Whether `cost` was taken; `None` when the run is being torn down.
    fn take(state: &mut BudgetState, cost: u64, limit: u64) -> Option<bool> {
        if state.closed {
            return None;
        }
        let room = state.in_flight == 0 || state.in_flight + cost <= limit;
        if room {
            state.in_flight += cost;
        }
        Some(room)
    }

    fn release(&self, cost: u64) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(cost);
        if state.waiting {
            self.freed.notify_all();
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.freed.notify_all();
    }
}

/// Items go from the reader to the workers, and from the workers to the writer, in batches of
/// consecutive items: one hand-off, and at most one thread woken, per batch. Per message, the
/// wake-ups and context switches of four threads on two cores cost about 5% of a receipt's CPU
/// time on a mailbox of mostly small messages.
type Batch = Vec<Job>;

/// A batch is sent once it holds this many items...
const BATCH_ITEMS: usize = 64;

/// ...or this many bytes of budget, so that big messages still spread over the workers.
const BATCH_BYTES: u64 = 1 << 20;

/// The reader's batch being filled: each item is charged to the budget as it is added.
struct Batcher<'a> {
    items: Batch,
    cost: u64,
    seq: u64,
    jobs: Sender<Batch>,
    budget: &'a Budget,
    cancel: &'a CancelToken,
}

impl Batcher<'_> {
    /// Adds an item, and sends the batch when it is full or when the workers have nothing
    /// left to do (so that a slow source, such as a server, is never held back).
    fn push(&mut self, item: Item) -> ControlFlow<()> {
        let cost = item.cost();
        if self.cancel.is_cancelled() {
            return ControlFlow::Break(());
        }
        match self.budget.try_acquire(cost) {
            Some(true) => {}
            None => return ControlFlow::Break(()),
            // What this batch holds must reach the writer, which frees room, before waiting.
            Some(false) => {
                self.flush()?;
                if !self.budget.acquire(cost) {
                    return ControlFlow::Break(());
                }
            }
        }
        self.seq += 1;
        self.items.push((self.seq, cost, item));
        self.cost += cost;
        if self.items.len() >= BATCH_ITEMS || self.cost >= BATCH_BYTES || self.jobs.is_empty() {
            return self.flush();
        }
        ControlFlow::Continue(())
    }

    fn flush(&mut self) -> ControlFlow<()> {
        if self.items.is_empty() {
            return ControlFlow::Continue(());
        }
        self.cost = 0;
        match self.jobs.send(std::mem::take(&mut self.items)) {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }
}

/// Bytes of messages allowed in flight: a few per core, whatever the mailbox size.
const BUDGET: u64 = 32 << 20;

type WriteFn<'a> = &'a mut dyn FnMut(&Record, Option<EntryData>) -> Result<()>;

/// Where an export writes, for the checks of free space.
#[derive(Clone, Copy)]
struct ArchiveOut<'a> {
    compression: Compression,
    partial: &'a Path,
}

/// Per-message room an archive takes besides the message: zip headers, receipt line.
const ENTRY_OVERHEAD: u64 = 1024;

/// Drives the reader, the workers and the writer callback; returns the counts. A resumed run
/// starts with the counts and position the interrupted one reached.
fn run(
    source: &mut dyn Source,
    opts: &Options,
    observe: Observer<'_>,
    archive: Option<ArchiveOut<'_>>,
    resumed: Option<Resumed>,
    write: WriteFn<'_>,
) -> Result<Summary> {
    let compression = archive.map(|a| a.compression);
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
    let (source_notes, tally, start) = match resumed {
        None => {
            let notes = source.notes();
            write(
                &Record::Header(Header {
                    format: crate::receipt::FORMAT.into(),
                    version: crate::receipt::VERSION,
                    identity_version: identity::IDENTITY_VERSION,
                    tool: crate::TOOL.into(),
                    created: now_rfc3339(),
                    source: description,
                    notes: notes.clone(),
                }),
                None,
            )?;
            (notes, Tally::default(), Start::default())
        }
        Some(resumed) => {
            let start = Start::after(&resumed, &folders)?;
            (resumed.header.notes, resumed.tally, start)
        }
    };
    observe(&Event::Started {
        folders: folders.len(),
        messages_total: folders.iter().map(|f| f.claimed).sum(),
        bytes_total: folders.iter().map(|f| f.bytes_hint).sum(),
    });
    if tally.messages_done > 0 || start.folder > 0 {
        observe(&Event::Resumed {
            messages_done: tally.messages_done,
            bytes_done: tally.bytes_done,
        });
    }
    // What the rest of an archive needs, when every folder says its size: refused up front
    // when it cannot fit uncompressed, rather than failing hours later.
    let needed = archive.and_then(|a| {
        let bytes: Option<u64> = folders.iter().map(|f| f.bytes_hint).sum();
        let messages: Option<u64> = folders.iter().map(|f| f.claimed).sum();
        let total = bytes? + messages.unwrap_or(0) * ENTRY_OVERHEAD;
        Some((a, total.saturating_sub(tally.bytes_done)))
    });
    if let Some((a, needed)) = needed
        && a.compression == Compression::Stored
        && let Some(free) = crate::error::free_space(a.partial)
        && free < needed
    {
        return Err(Error::NoSpace {
            path: a.partial.to_path_buf(),
            needed: Some(needed),
            available: Some(free),
        });
    }

    let budget = Budget::new(BUDGET);
    let workers = opts.worker_count();
    let (job_tx, job_rx) = bounded::<Batch>(workers * 2);
    let (done_tx, done_rx) = unbounded::<Batch>();
    let cancel = &opts.cancel;

    let outcome = std::thread::scope(|scope| {
        let budget = &budget;
        let folders = &folders;
        let start = &start;
        scope.spawn(move || {
            read_all(
                source,
                folders,
                start,
                compression.is_some(),
                cancel,
                budget,
                job_tx,
            );
        });
        for _ in 0..workers {
            let jobs = job_rx.clone();
            let done = done_tx.clone();
            scope.spawn(move || hash_worker(jobs, done, budget, compression, identity::identify));
        }
        drop(done_tx);
        drop(job_rx);
        let outcome = write_in_order(&done_rx, tally, budget, observe, write);
        // Stop the reader and the workers whatever happened, then let the scope join them.
        budget.close();
        drop(done_rx);
        outcome
    });
    let Tally {
        totals,
        ends,
        unreadable,
        ..
    } = outcome.map_err(|e| e.needing(needed.map(|(_, n)| n)))?;
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

/// Where the reader begins: at the first folder, or where an interrupted run stopped.
#[derive(Debug, Default)]
struct Start {
    /// Folders before this one are finished.
    folder: usize,
    /// The first folder was begun: its record is written, and these entries of it are kept
    /// (the source must yield the same ones first).
    begun: bool,
    kept: Vec<String>,
    /// Messages of the first folder already in the archive; new entries are numbered after.
    numbered: u64,
}

impl Start {
    /// Checks that the mailbox still lists the folders the interrupted run recorded.
    fn after(resumed: &Resumed, folders: &[Folder]) -> Result<Self> {
        let tally = &resumed.tally;
        let recorded = tally
            .ends
            .iter()
            .map(|(f, _)| f)
            .chain(tally.current.iter().map(|(f, _)| f));
        for (index, folder) in recorded.enumerate() {
            if folders.get(index).map(|f| &f.path) != Some(&folder.path) {
                return Err(changed(&format!(
                    "the folder `{}` is no longer where it was",
                    folder.name()
                )));
            }
        }
        Ok(Self {
            folder: tally.ends.len(),
            begun: tally.current.is_some(),
            kept: resumed.partial_ids.clone(),
            numbered: resumed.partial_messages,
        })
    }
}

/// The error for a mailbox that changed between an interrupted run and its resumption.
fn changed(what: &str) -> Error {
    Error::Usage(format!(
        "cannot continue the interrupted run: {what} (the mailbox changed since). Its unfinished \
         output was removed; run the same command again to start from the beginning"
    ))
}

/// The reader thread: streams every folder into the job queue, numbering items in order.
fn read_all(
    source: &mut dyn Source,
    folders: &[Folder],
    start: &Start,
    archive: bool,
    cancel: &CancelToken,
    budget: &Budget,
    jobs: Sender<Batch>,
) {
    let mut batcher = Batcher {
        items: Vec::new(),
        cost: 0,
        seq: 0,
        jobs,
        budget,
        cancel,
    };
    read_folders(source, folders, start, archive, &mut |item| {
        batcher.push(item)
    });
    let _ = batcher.flush();
}

/// Reads the folders from `start` on, handing every item to `send` in source order.
fn read_folders(
    source: &mut dyn Source,
    folders: &[Folder],
    start: &Start,
    archive: bool,
    send: &mut dyn FnMut(Item) -> ControlFlow<()>,
) {
    let mut paths = FolderPaths::default();
    for (index, folder) in folders.iter().enumerate() {
        let dir = archive.then(|| paths.assign(&folder.path));
        if index < start.folder {
            continue;
        }
        let resuming = index == start.folder && start.begun;
        if !resuming && send(Item::FolderStart(index, folder.clone())).is_break() {
            return;
        }
        let kept: &[String] = if resuming { &start.kept } else { &[] };
        let mut skipped = 0usize;
        let mut n = if resuming { start.numbered } else { 0 };
        let mut stopped = false;
        let read = catch_unwind(AssertUnwindSafe(|| {
            source.read_folder(folder, &mut |entry| {
                if let Some(expected) = kept.get(skipped) {
                    skipped += 1;
                    let id = match &entry {
                        Entry::Message(raw) => &raw.source_id,
                        Entry::Unreadable { source_id, .. } => source_id,
                    };
                    if id == expected {
                        return ControlFlow::Continue(());
                    }
                    stopped = true;
                    let _ = send(Item::Abort(changed(&format!(
                        "in `{}`, `{expected}` is no longer the next message",
                        folder.name()
                    ))));
                    return ControlFlow::Break(());
                }
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
                    Entry::Unreadable { source_id, reason } => {
                        send(Item::Unreadable(UnreadableRecord {
                            folder: index,
                            source_id,
                            reason,
                        }))
                    }
                };
                stopped |= flow.is_break();
                flow
            })
        }));
        if !stopped && skipped < kept.len() {
            let _ = send(Item::Abort(changed(&format!(
                "`{}` holds fewer messages than were already recorded",
                folder.name()
            ))));
            return;
        }
        let end = match read {
            Ok(Ok(notes)) => Ok(notes),
            // A server that went away mid-folder ends the run: recording it as this folder's
            // error would make a receipt that looks finished while the rest of the folder and
            // the folders after it were never read. What was read is kept for resuming.
            Ok(Err(e @ Error::Connection(_))) => {
                let _ = send(Item::Abort(e));
                return;
            }
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

/// How a worker computes a message's identity: [`identity::identify`], or in tests one that
/// fails on purpose.
type Identify = fn(&[u8]) -> Identity;

/// A worker: hashes messages (and prepares zip entries); passes everything else through.
fn hash_worker(
    jobs: Receiver<Batch>,
    done: Sender<Batch>,
    budget: &Budget,
    compression: Option<Compression>,
    identify: Identify,
) {
    for batch in jobs {
        let mut freed = 0;
        // Collected in place: the batch's allocation goes on to the writer.
        let batch: Batch = batch
            .into_iter()
            .map(|(seq, cost, item)| match item {
                Item::Message { folder, raw, entry } => {
                    let hashed = hash_one(folder, raw, entry, compression, identify);
                    let held = hashed.cost().min(cost);
                    freed += cost - held;
                    (seq, held, hashed)
                }
                other => (seq, cost, other),
            })
            .collect();
        budget.release(freed);
        if done.send(batch).is_err() {
            return;
        }
    }
}

fn hash_one(
    folder: usize,
    mut raw: RawMessage,
    entry: Option<String>,
    compression: Option<Compression>,
    identify: Identify,
) -> Item {
    let size = raw.bytes.len() as u64;
    // A panic is caught here, per message, so that it costs that message (recorded as
    // unreadable, with the panic's text) and neither the worker nor the run.
    let work = catch_unwind(AssertUnwindSafe(|| {
        let identity = identify(&raw.bytes);
        let prepared = match (entry, compression) {
            (Some(name), Some(c)) => Some(EntryData::Ready(
                c.prepare(name, std::mem::take(&mut raw.bytes)),
            )),
            _ => None,
        };
        (identity, prepared)
    }));
    match work {
        Ok((identity, prepared)) => {
            crate::recycle::give_back(std::mem::take(&mut raw.bytes));
            Item::Hashed(Box::new(Hashed {
                folder,
                raw,
                size,
                identity,
                prepared,
            }))
        }
        Err(panic) => Item::Unreadable(UnreadableRecord {
            folder,
            source_id: raw.source_id,
            reason: format!("internal error while hashing ({})", panic_text(&panic)),
        }),
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The writer: puts results back in source order, writes records, counts, reports progress.
fn write_in_order(
    done: &Receiver<Batch>,
    mut tally: Tally,
    budget: &Budget,
    observe: Observer<'_>,
    write: WriteFn<'_>,
) -> Result<Tally> {
    // A batch holds consecutive items: it waits, by the number of its first item, until
    // every item before it is written.
    let mut pending: BTreeMap<u64, Batch> = BTreeMap::new();
    let mut next = 1u64;
    for batch in done {
        let Some(&(first, ..)) = batch.first() else {
            continue;
        };
        pending.insert(first, batch);
        while let Some(batch) = pending.remove(&next) {
            let mut freed = 0;
            for (seq, cost, item) in batch {
                debug_assert_eq!(seq, next, "a batch holds consecutive items");
                next += 1;
                write_item(item, &mut tally, observe, write)?;
                freed += cost;
            }
            budget.release(freed);
        }
    }
    Ok(tally)
}

/// Writes one item's records, counts it and reports it.
fn write_item(
    item: Item,
    tally: &mut Tally,
    observe: Observer<'_>,
    write: WriteFn<'_>,
) -> Result<()> {
    let advanced = |tally: &Tally| {
        observe(&Event::Advanced {
            messages_done: tally.messages_done,
            bytes_done: tally.bytes_done,
        })
    };
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
            tally.folder_started(record);
        }
        Item::Hashed(h) => {
            let Hashed {
                folder,
                raw,
                size,
                identity,
                prepared,
            } = *h;
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
            tally.message(&record);
            write(&Record::Message(Box::new(record)), prepared)?;
            advanced(tally);
        }
        Item::Unreadable(record) => {
            tally.unreadable(&record);
            write(&Record::Unreadable(record), None)?;
            advanced(tally);
        }
        Item::FolderEnd(index, result) => {
            let (record, mut end) = tally.take_current();
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
            tally.folder_finished(record, end);
        }
        Item::Abort(error) => return Err(error),
        Item::Message { .. } => unreachable!("workers hash every message"),
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Sink, SourceDescription};

    /// Identifies like the real thing, but panics on a message that starts with `boom`.
    fn fragile(bytes: &[u8]) -> Identity {
        assert!(!bytes.starts_with(b"boom"), "boom at the worker");
        identity::identify(bytes)
    }

    fn message(id: &str, bytes: &[u8]) -> Item {
        Item::Message {
            folder: 0,
            raw: RawMessage {
                source_id: id.into(),
                bytes: bytes.to_vec(),
                ..RawMessage::default()
            },
            entry: None,
        }
    }

    /// Two folders; reading the first yields one message, then fails with `error`.
    struct Failing(fn() -> Error);

    impl Source for Failing {
        fn describe(&self) -> SourceDescription {
            SourceDescription {
                kind: "test".into(),
                location: "failing".into(),
            }
        }

        fn folders(&mut self) -> Result<Vec<Folder>> {
            Ok(["INBOX", "Sent"]
                .map(|name| Folder {
                    path: vec![name.into()],
                    role: None,
                    claimed: None,
                    bytes_hint: None,
                    locator: name.into(),
                })
                .to_vec())
        }

        fn read_folder(&mut self, folder: &Folder, sink: Sink<'_>) -> Result<FolderNotes> {
            if folder.locator == "Sent" {
                return Ok(FolderNotes::default());
            }
            let _ = sink(Entry::Message(RawMessage {
                source_id: "1".into(),
                bytes: b"Subject: one\n\nfirst\n".to_vec(),
                ..RawMessage::default()
            }));
            Err((self.0)())
        }
    }

    #[test]
    fn a_lost_connection_stops_the_run_and_keeps_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.receipt");
        let mut gone = Failing(|| Error::Connection("the server went away".into()));
        let err = take_receipt(&mut gone, &out, &Options::default(), &|_| {}).unwrap_err();
        assert!(matches!(err, Error::Connection(_)), "{err}");
        assert!(
            !out.exists(),
            "an unfinished receipt carries the final name"
        );
        let partial = std::fs::read_to_string(dir.path().join("r.receipt.partial")).unwrap();
        assert!(partial.contains("\"source_id\":\"1\""), "{partial}");

        // A folder the server refuses is that folder's error; the rest is read.
        let mut refused = Failing(|| Error::Refused("NO not allowed".into()));
        let opts = Options {
            overwrite: true,
            ..Options::default()
        };
        let summary = take_receipt(&mut refused, &out, &opts, &|_| {}).unwrap();
        assert_eq!(summary.folders.len(), 2);
        assert_eq!(
            summary.folders[0].1.error.as_deref(),
            Some("NO not allowed")
        );
    }

    #[test]
    fn a_panic_in_a_worker_makes_that_message_unreadable_and_the_run_goes_on() {
        let folder = Folder {
            path: vec!["INBOX".into()],
            role: None,
            claimed: Some(3),
            bytes_hint: None,
            locator: String::new(),
        };
        let items = [
            Item::FolderStart(0, folder),
            message("1", b"Subject: one\n\nfirst\n"),
            message("2", b"boom\n"),
            message("3", b"Subject: three\n\nthird\n"),
            Item::FolderEnd(0, Ok(FolderNotes::default())),
        ];
        let (job_tx, job_rx) = unbounded::<Batch>();
        let (done_tx, done_rx) = unbounded::<Batch>();
        let budget = Budget::new(BUDGET);
        let mut jobs: Batch = (1..)
            .zip(items)
            .map(|(seq, item)| {
                let cost = item.cost();
                assert_eq!(budget.try_acquire(cost), Some(true));
                (seq, cost, item)
            })
            .collect();
        // Two batches, the later one hashed first: the writer still keeps source order.
        let later = jobs.split_off(2);
        job_tx.send(later).unwrap();
        job_tx.send(jobs).unwrap();
        drop(job_tx);
        // One worker takes every message in turn: it must survive the panic to hash the third.
        hash_worker(job_rx, done_tx, &budget, None, fragile);
        // Hashed, the messages are charged only for their records until written.
        assert_eq!(budget.lock().in_flight, 5 * ITEM_OVERHEAD);

        let mut records = Vec::new();
        let mut write = |record: &Record, _: Option<EntryData>| {
            records.push(record.clone());
            Ok(())
        };
        let tally =
            write_in_order(&done_rx, Tally::default(), &budget, &|_| {}, &mut write).unwrap();
        assert_eq!(budget.lock().in_flight, 0, "all given back once written");

        let end = &tally.ends[0].1;
        assert_eq!((end.read, end.unreadable), (2, 1));
        let [(folder, unreadable)] = tally.unreadable.as_slice() else {
            panic!("{:?}", tally.unreadable);
        };
        assert_eq!(
            (folder.as_str(), unreadable.source_id.as_str()),
            ("INBOX", "2")
        );
        assert_eq!(
            unreadable.reason,
            "internal error while hashing (boom at the worker)"
        );
        let ids: Vec<&str> = records
            .iter()
            .filter_map(|r| match r {
                Record::Message(m) => Some(m.source_id.as_str()),
                Record::Unreadable(u) => Some(u.source_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(ids, ["1", "2", "3"], "every message in source order");
    }
}
