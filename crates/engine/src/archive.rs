//! Archives: one zip holding every message as `messages/<folder>/<n>.eml` and the receipt
//! (`receipt.jsonl`, the last entry), plus a short README for whoever opens it by hand.
//!
//! Entries are Stored by default: mail is mostly base64 of compressed attachments, which fast
//! Deflate cannot shrink. Deflate (fast level) is offered and runs on every core; it stores the
//! messages a sample shows it cannot shrink. Both open with the operating systems' own unzip
//! tools; ZIP64 is used when needed.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};
use zip::write::{PreparedZipFile, SimpleFileOptions};
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::progress::{CancelToken, Event, Observer};
use crate::receipt::{
    self, MessageRecord, Receipt, ReceiptReader, ReceiptWriter, Record, Seal, SealCheck,
};
use crate::source::{
    Entry, Folder, FolderNotes, MAX_MESSAGE, RawMessage, Sink, Source, SourceDescription,
};
use crate::{Error, Result};

/// The receipt's name inside an archive.
pub const RECEIPT_ENTRY: &str = "receipt.jsonl";
/// A plain-text note for people who open the archive by hand.
pub const README_ENTRY: &str = "README.txt";

/// How message entries are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression: fastest, and what most mail (already base64) gains little from.
    #[default]
    Stored,
    /// Deflate at its fastest level, compressed in parallel on every core.
    Deflate,
}

impl Compression {
    fn options(self) -> SimpleFileOptions {
        let base = SimpleFileOptions::default().unix_permissions(0o644);
        match self {
            Compression::Stored => base.compression_method(CompressionMethod::Stored),
            Compression::Deflate => base
                .compression_method(CompressionMethod::Deflated)
                .compression_level(Some(1)),
        }
    }

    /// Compresses an entry off the writer's thread. Stored entries, and large messages, are
    /// left for the writer to stream, so that no second copy of them is held in memory.
    pub(crate) fn prepare(self, name: String, bytes: Vec<u8>) -> zip::result::ZipResult<EntryData> {
        if self == Compression::Stored {
            return Ok(EntryData::Whole { name, bytes });
        }
        if bytes.len() >= SAMPLE_FROM && !worth_deflating(&bytes) {
            return Ok(EntryData::Plain { name, bytes });
        }
        if bytes.len() > PREPARE_LIMIT {
            return Ok(EntryData::Whole { name, bytes });
        }
        PreparedZipFile::from_data(&name, self.options(), &bytes).map(EntryData::Prepared)
    }
}

/// Messages above this size are compressed by the writer while it streams them.
const PREPARE_LIMIT: usize = 1 << 20;

/// Messages at least this long are sampled before they are deflated.
const SAMPLE_FROM: usize = 64 << 10;

/// The length of each sampled window.
const SAMPLE_WINDOW: usize = 8 << 10;

/// Whether Deflate at the archive's level would shrink `bytes` by at least a tenth, judged from
/// three windows at a quarter, half and three quarters of the message.
///
/// Most of the bytes of real mail are attachments: base64 of files that are compressed already
/// (PDF, JPEG, Office documents). Fast Deflate codes them with fixed Huffman codes, eight bits
/// per base64 letter, and gains nothing while spending most of an export's time. Like Info-ZIP,
/// such entries are stored as they are; the samples decide before that time is spent.
fn worth_deflating(bytes: &[u8]) -> bool {
    use flate2::{Compress, FlushCompress};
    thread_local! {
        static SAMPLER: std::cell::RefCell<(Compress, Vec<u8>)> = std::cell::RefCell::new((
            Compress::new(flate2::Compression::new(1), false),
            // Room for a window and Deflate's worst-case overhead on it.
            Vec::with_capacity(SAMPLE_WINDOW + 1024),
        ));
    }
    SAMPLER.with_borrow_mut(|(deflate, out)| {
        let mut deflated = 0;
        for quarter in 1..=3 {
            let start = bytes.len() * quarter / 4 - SAMPLE_WINDOW / 2;
            deflate.reset();
            out.clear();
            // A window whose output does not fit `out` is not worth deflating: counted as full.
            let _ = deflate.compress_vec(
                &bytes[start..start + SAMPLE_WINDOW],
                out,
                FlushCompress::Finish,
            );
            deflated += out.len();
        }
        deflated * 10 < 3 * SAMPLE_WINDOW * 9
    })
}

/// A message on its way into the archive.
pub enum EntryData {
    /// Compressed on a worker thread, ready to copy in.
    Prepared(PreparedZipFile),
    /// Still to be compressed as the archive says, by the writer.
    Whole { name: String, bytes: Vec<u8> },
    /// Stored as it is whatever the archive's compression, because Deflate would not shrink it.
    Plain { name: String, bytes: Vec<u8> },
}

impl EntryData {
    /// The zip entry name.
    pub fn name(&self) -> String {
        match self {
            EntryData::Prepared(p) => String::from_utf8_lossy(p.file_name_raw()).into_owned(),
            EntryData::Whole { name, .. } | EntryData::Plain { name, .. } => name.clone(),
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "stored" | "store" | "none" => Ok(Compression::Stored),
            "deflate" | "deflated" => Ok(Compression::Deflate),
            other => Err(format!(
                "unknown compression `{other}`: use stored or deflate"
            )),
        }
    }
}

fn zip_error(action: &'static str, path: &Path, e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(io) => Error::io(action, path, io),
        other => Error::Format {
            path: path.to_path_buf(),
            position: "zip structure".into(),
            what: other.to_string(),
        },
    }
}

/// Writes an archive as messages arrive; the receipt goes to a side file next to it and is
/// added as the last entry.
pub struct ArchiveWriter {
    // Declared before `zip`, so dropped first: see `ArchiveFile`.
    _abandon: Abandon,
    zip: ZipWriter<ArchiveFile>,
    receipt: ReceiptWriter<File>,
    receipt_path: PathBuf,
    path: PathBuf,
    compression: Compression,
    entries: u64,
}

impl ArchiveWriter {
    pub fn create(path: &Path, compression: Compression) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io("cannot create", path, e))?;
        let receipt_path = side_receipt(path);
        let receipt = ReceiptWriter::create(&receipt_path)?;
        let abandoned = Arc::new(AtomicBool::new(false));
        let file = ArchiveFile {
            inner: BufWriter::with_capacity(ARCHIVE_BUFFER, file),
            abandoned: abandoned.clone(),
            pos: 0,
            end: 0,
        };
        Ok(Self {
            _abandon: Abandon(abandoned),
            zip: ZipWriter::new(file).set_auto_large_file(),
            receipt,
            receipt_path,
            path: path.to_path_buf(),
            compression,
            entries: 0,
        })
    }

    /// Writes one receipt record, and the message entry that goes with it.
    pub fn write(&mut self, record: &Record, entry: Option<EntryData>) -> Result<()> {
        match entry {
            Some(EntryData::Prepared(prepared)) => self
                .zip
                .add_prepared_file(prepared)
                .map_err(|e| zip_error("cannot write", &self.path, e))?,
            Some(EntryData::Whole { name, bytes }) => {
                self.stream(name, &bytes, self.compression)?
            }
            Some(EntryData::Plain { name, bytes }) => {
                self.stream(name, &bytes, Compression::Stored)?
            }
            None => return self.receipt.write(record),
        }
        self.entries += 1;
        self.receipt.write(record)
    }

    /// Writes an entry from the writer's thread, compressing it as it goes if asked.
    fn stream(&mut self, name: String, bytes: &[u8], compression: Compression) -> Result<()> {
        self.zip
            .start_file(name, compression.options())
            .map_err(|e| zip_error("cannot write", &self.path, e))?;
        self.zip
            .write_all(bytes)
            .map_err(|e| Error::io("cannot write", &self.path, e))
    }

    /// Seals the receipt, adds it and the README, closes the zip, and checks that the result
    /// opens and holds every entry the receipt names.
    pub fn finish(self) -> Result<(Seal, File)> {
        let Self {
            _abandon,
            mut zip,
            receipt,
            receipt_path,
            path,
            compression,
            entries,
        } = self;
        let (seal, receipt_file) = receipt.seal()?;
        drop(receipt_file);
        let zip_err = |e| zip_error("cannot write", &path, e);
        let options = compression.options();
        zip.start_file(README_ENTRY, options).map_err(zip_err)?;
        zip.write_all(readme(&seal).as_bytes())
            .map_err(|e| Error::io("cannot write", &path, e))?;
        zip.start_file(RECEIPT_ENTRY, options).map_err(zip_err)?;
        let mut side =
            File::open(&receipt_path).map_err(|e| Error::io("cannot read", &receipt_path, e))?;
        io::copy(&mut side, &mut zip).map_err(|e| Error::io("cannot write", &path, e))?;
        let file = zip
            .finish()
            .map_err(zip_err)?
            .inner
            .into_inner()
            .map_err(|e| Error::io("cannot write", &path, e.into_error()))?;
        check_structure(&path, entries)?;
        Ok((seal, file))
    }
}

/// The archive file's write buffer. The zip library seeks back to each entry's header when the
/// entry ends, which empties the buffer, so it only gathers the pieces of one entry: a message at
/// least this long goes to the file directly instead of being copied through it first.
const ARCHIVE_BUFFER: usize = 64 << 10;

/// The archive's file. When its writer is dropped unfinished (after an error, or a cancel),
/// the zip library would append a central directory to the unfinished file and complain on
/// stderr when it cannot; once abandoned, the file takes no more writes, so the unfinished
/// archive ends after its last entry (what a resumed export reads) and nothing is printed.
struct ArchiveFile {
    inner: BufWriter<File>,
    abandoned: Arc<AtomicBool>,
    /// Where the next byte goes, and the end of the file: kept here so that an abandoned file
    /// still answers seeks consistently (the zip library checks them) without touching disk.
    pos: u64,
    end: u64,
}

impl ArchiveFile {
    fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Relaxed)
    }

    fn moved(&mut self, pos: u64) -> u64 {
        self.pos = pos;
        self.end = self.end.max(pos);
        pos
    }
}

impl Write for ArchiveFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = if self.abandoned() {
            buf.len()
        } else {
            self.inner.write(buf)?
        };
        self.moved(self.pos + n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.abandoned() {
            return Ok(());
        }
        self.inner.flush()
    }
}

impl Seek for ArchiveFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        if !self.abandoned() {
            let pos = self.inner.seek(to)?;
            return Ok(self.moved(pos));
        }
        let pos = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.end.checked_add_signed(d),
        };
        pos.map(|p| self.moved(p))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))
    }
}

/// Marks the archive file abandoned when an [`ArchiveWriter`] is dropped without `finish`.
struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Where an archive being written at `path` keeps its receipt lines until they go in as the
/// last entry. Left behind by an interrupted export, it is what a resumed export starts from;
/// so it is removed only once the archive has its final name.
pub(crate) fn side_receipt(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".receipt");
    PathBuf::from(name)
}

/// Reopens a freshly written archive: it must parse, hold the receipt, and hold as many
/// message entries as were written.
fn check_structure(path: &Path, entries: u64) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io("cannot reopen", path, e))?;
    let zip =
        ZipArchive::new(BufReader::new(file)).map_err(|e| zip_error("cannot reopen", path, e))?;
    let messages = zip
        .file_names()
        .filter(|n| n.as_ref().is_ok_and(|n| n.starts_with("messages/")))
        .count() as u64;
    if messages != entries || zip.index_for_name(RECEIPT_ENTRY).is_none() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            position: "after writing".into(),
            what: format!("the archive holds {messages} message entries, {entries} were written"),
        });
    }
    Ok(())
}

fn readme(seal: &Seal) -> String {
    format!(
        "This archive was written by {tool}.\r\n\
         \r\n\
         messages/  every message, one .eml file each, in one folder per mailbox folder.\r\n\
         receipt.jsonl  the receipt: every folder and message with its SHA-256 and real name.\r\n\
         \r\n\
         Receipt code: {code}\r\n\
         \r\n\
         To check that nothing in this archive changed:  mailproof verify <this file>\r\n",
        tool = crate::TOOL,
        code = seal.code
    )
}

/// Reads the receipt stored in an archive.
pub fn read_receipt(path: &Path) -> Result<Receipt> {
    let mut zip = open_zip(path)?;
    read_receipt_from(&mut zip, path)
}

fn open_zip(path: &Path) -> Result<ZipArchive<BufReader<File>>> {
    let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    ZipArchive::new(BufReader::new(file)).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        position: "zip structure".into(),
        what: format!("{e}; the archive is damaged or cut short (was its export interrupted?)"),
    })
}

fn read_receipt_from(zip: &mut ZipArchive<BufReader<File>>, path: &Path) -> Result<Receipt> {
    let entry = zip.by_name(RECEIPT_ENTRY).map_err(|_| Error::Format {
        path: path.to_path_buf(),
        position: RECEIPT_ENTRY.into(),
        what: "a zip file, but not a Mailproof archive: it holds no receipt".into(),
    })?;
    let label = path.join(RECEIPT_ENTRY);
    Receipt::read(ReceiptReader::new(entry, &label))
}

/// An archive read back as a mailbox: its folders and messages as the receipt recorded them.
pub struct ArchiveSource {
    path: PathBuf,
    zip: ZipArchive<BufReader<File>>,
    receipt: Receipt,
}

impl ArchiveSource {
    pub fn open(path: &Path) -> Result<Self> {
        let mut zip = open_zip(path)?;
        let receipt = read_receipt_from(&mut zip, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            zip,
            receipt,
        })
    }

    /// The receipt stored in the archive.
    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }
}

impl Source for ArchiveSource {
    fn describe(&self) -> SourceDescription {
        SourceDescription {
            kind: "archive".into(),
            location: self.path.display().to_string(),
        }
    }

    fn folders(&mut self) -> Result<Vec<Folder>> {
        Ok(self
            .receipt
            .folders
            .iter()
            .map(|f| Folder {
                path: f.path.clone(),
                role: f.role,
                claimed: self
                    .receipt
                    .folder_ends
                    .iter()
                    .find(|e| e.folder == f.id)
                    .map(|e| e.found),
                bytes_hint: None,
                locator: f.id.to_string(),
            })
            .collect())
    }

    fn read_folder(&mut self, folder: &Folder, sink: Sink<'_>) -> Result<FolderNotes> {
        let id: usize = folder.locator.parse().unwrap_or(usize::MAX);
        let messages = self.receipt.messages.iter().filter(|m| m.folder == id);
        for record in messages {
            let entry = match &record.entry {
                Some(name) => {
                    read_entry(&mut self.zip, name, record.size).map_err(|e| e.to_string())
                }
                None => Err(NO_COPY.to_string()),
            };
            let item = match entry {
                Ok(bytes) => Entry::Message(RawMessage {
                    source_id: record.source_id.clone(),
                    bytes,
                    flags: record.flags.clone(),
                    internal_date: record.internal_date,
                    excluded: record.excluded.clone(),
                    trashed: record.trashed,
                    notes: record.notes.clone(),
                    gmail: record.gmail.clone(),
                }),
                Err(reason) => Entry::Unreadable {
                    source_id: record.source_id.clone(),
                    reason,
                },
            };
            if sink(item).is_break() {
                return Ok(FolderNotes::default());
            }
        }
        for u in self.receipt.unreadable.iter().filter(|u| u.folder == id) {
            let item = Entry::Unreadable {
                source_id: u.source_id.clone(),
                reason: format!("unreadable in the original mailbox: {}", u.reason),
            };
            if sink(item).is_break() {
                break;
            }
        }
        let notes = self
            .receipt
            .folder_ends
            .iter()
            .find(|e| e.folder == id)
            .map(|e| e.notes.clone())
            .unwrap_or_default();
        Ok(FolderNotes { notes })
    }
}

impl ArchiveSource {
    /// Reads the message a record of the receipt names and checks its bytes against the
    /// record's digest, so that only the message exactly as archived is ever handed on (to a
    /// restore). The error says, for a person, why the message cannot be used.
    pub fn read_verified(
        &mut self,
        record: &MessageRecord,
    ) -> std::result::Result<Vec<u8>, String> {
        let name = record.entry.as_deref().ok_or(NO_COPY)?;
        let bytes = read_entry(&mut self.zip, name, record.size)
            .map_err(|e| format!("the archive entry {name} cannot be read: {e}"))?;
        let digest = receipt::hex(&Sha256::digest(&bytes));
        if digest != record.identity.digest {
            return Err(format!(
                "the archive entry {name} is corrupt: {}",
                changed(&digest, bytes.len() as u64, record)
            ));
        }
        Ok(bytes)
    }
}

const NO_COPY: &str = "the archive holds no copy of this message";

/// Says how an entry's bytes differ from what the receipt records.
fn changed(digest: &str, n: u64, record: &MessageRecord) -> String {
    format!(
        "its content changed: SHA-256 {} where the receipt says {} ({n} bytes, receipt says {})",
        short(digest),
        short(&record.identity.digest),
        record.size
    )
}

/// Reads one entry whole, but never more than the `size` its receipt records (and never more
/// than [`MAX_MESSAGE`]): an entry that decompresses to more is refused, not held in memory.
/// The zip reader checks the CRC-32 of an entry read to its end.
fn read_entry(zip: &mut ZipArchive<BufReader<File>>, name: &str, size: u64) -> io::Result<Vec<u8>> {
    let file = zip.by_name(name).map_err(io::Error::other)?;
    if file.is_symlink() {
        return Err(io::Error::other(
            "stored as a symbolic link, not as a message",
        ));
    }
    let limit = size.min(MAX_MESSAGE as u64);
    let mut bytes = Vec::with_capacity(limit.min(file.size()) as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::other(format!(
            "holds more than the {size} bytes the receipt records; refused"
        )));
    }
    Ok(bytes)
}

/// What is wrong with one entry of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The entry's bytes differ from the digest in the receipt.
    Corrupt,
    /// The receipt names the entry, the archive lacks it.
    Missing,
    /// The archive holds an entry the receipt does not name.
    Unexpected,
    /// The receipt itself was changed after it was sealed, or cannot be read.
    Receipt,
    /// The archive's end (its directory) is damaged or cut off.
    Truncated,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The zip entry concerned.
    pub entry: String,
    /// The folder's real name, when the receipt knows the entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub detail: String,
}

/// The outcome of re-hashing an archive against its receipt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    pub archive: PathBuf,
    /// The receipt code, when the receipt's seal is intact.
    pub code: Option<String>,
    /// Messages the receipt lists with an entry.
    pub expected: u64,
    /// Entries re-hashed and found identical.
    pub intact: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One entry as read back: its name and the SHA-256 of its bytes, or why it was not read.
struct Scanned {
    name: String,
    digest: std::result::Result<(String, u64), String>,
    /// Stored as a symbolic link (Unix mode bits), which no export writes.
    symlink: bool,
}

/// Hashes one zip entry as it streams, reading at most `limit` bytes so that a zip bomb or an
/// entry whose declared size lies costs no more than the message it claims to be; the zip
/// reader checks the CRC-32 of an entry read to its end.
fn hash_entry(file: &mut impl Read, limit: u64) -> std::result::Result<(String, u64), String> {
    let mut hasher = Sha256::new();
    let n = io::copy(&mut file.take(limit + 1), &mut HashWrite(&mut hasher))
        .map_err(|e| format!("cannot be read: {e}"))?;
    if n > limit {
        return Err(format!(
            "holds more than the {limit} bytes expected; not read further"
        ));
    }
    Ok((receipt::hex(&hasher.finalize()), n))
}

/// Re-reads every entry of an archive, recomputes its SHA-256, and compares with the receipt;
/// names each entry that is corrupt, missing or unexpected, and checks the receipt's seal.
/// An archive whose end is damaged or cut off is read from the front, entry by entry, so the
/// report still says what survives.
pub fn verify(path: &Path, cancel: &CancelToken, observe: Observer<'_>) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        archive: path.to_path_buf(),
        code: None,
        expected: 0,
        intact: 0,
        problems: Vec::new(),
    };
    let (receipt, scanned) = match open_zip(path) {
        Ok(mut zip) => {
            let receipt = read_receipt_from(&mut zip, path)?;
            let total = receipt
                .messages
                .iter()
                .filter(|m| m.entry.is_some())
                .count();
            observe(&Event::Started {
                folders: receipt.folders.len(),
                messages_total: Some(total as u64),
                bytes_total: Some(receipt.messages.iter().map(|m| m.size).sum()),
            });
            // Only entries the receipt names are read, each no further than its recorded size.
            let sizes: HashMap<&str, u64> = receipt
                .messages
                .iter()
                .filter_map(|m| m.entry.as_deref().map(|e| (e, m.size)))
                .collect();
            let mut scanned = Vec::with_capacity(zip.len());
            let mut bytes_done = 0u64;
            for index in 0..zip.len() {
                if cancel.is_cancelled() {
                    return Err(Error::Cancelled);
                }
                let item = match zip.by_index(index) {
                    Ok(mut file) if !file.is_dir() => {
                        let name = String::from_utf8_lossy(file.name_raw()).into_owned();
                        let symlink = file.is_symlink();
                        let digest = match sizes.get(name.as_str()) {
                            Some(&size) if !symlink => hash_entry(&mut file, size),
                            _ => Err("not read".into()),
                        };
                        Scanned {
                            name,
                            digest,
                            symlink,
                        }
                    }
                    Ok(_) => continue,
                    Err(e) => Scanned {
                        name: format!("entry #{}", index + 1),
                        digest: Err(format!("cannot be opened: {e}")),
                        symlink: false,
                    },
                };
                if let Ok((_, n)) = &item.digest {
                    bytes_done += n;
                }
                observe(&Event::Advanced {
                    messages_done: scanned.len() as u64 + 1,
                    bytes_done,
                });
                scanned.push(item);
            }
            (Some(receipt), scanned)
        }
        Err(damage) => {
            let (receipt, scanned, end) = scan_damaged(path, cancel)?;
            report.problems.push(Problem {
                kind: ProblemKind::Truncated,
                entry: "(whole archive)".into(),
                folder: None,
                subject: None,
                detail: format!(
                    "{damage}. Read from the front instead: {} entries are complete{}{}",
                    scanned.iter().filter(|s| s.digest.is_ok()).count(),
                    end.map(|e| format!("; the data stops inside {e}")).unwrap_or_default(),
                    if receipt.is_none() {
                        "; the receipt, stored last, is lost, so the entries cannot be named against it"
                    } else {
                        ""
                    }
                ),
            });
            (receipt, scanned)
        }
    };
    if let Some(receipt) = receipt {
        compare(&receipt, &scanned, &mut report);
    }
    observe(&Event::Finished {
        messages_done: report.intact,
        bytes_done: 0,
    });
    Ok(report)
}

/// Reads a damaged archive from the front: every complete entry, the receipt if it survived,
/// and the name of the entry the data stops in.
fn scan_damaged(
    path: &Path,
    cancel: &CancelToken,
) -> Result<(Option<Receipt>, Vec<Scanned>, Option<String>)> {
    let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let mut input = BufReader::new(file);
    let mut scanned = Vec::new();
    let mut receipt = None;
    loop {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let mut entry = match zip::read::read_zipfile_from_stream(&mut input) {
            Ok(Some(entry)) => entry,
            Ok(None) => return Ok((receipt, scanned, None)),
            Err(_) => {
                return Ok((
                    receipt,
                    scanned,
                    Some("the local header after the last complete entry".into()),
                ));
            }
        };
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if name == RECEIPT_ENTRY {
            let label = path.join(RECEIPT_ENTRY);
            receipt = Receipt::read(ReceiptReader::new(&mut entry, &label)).ok();
            continue;
        }
        let symlink = entry.is_symlink();
        let digest = hash_entry(&mut entry, MAX_MESSAGE as u64);
        if digest.is_err() {
            return Ok((receipt, scanned, Some(name)));
        }
        scanned.push(Scanned {
            name,
            digest,
            symlink,
        });
    }
}

/// Why an entry the receipt does not name is suspicious, beyond being unlisted: a name that
/// would escape a folder it were extracted into, or a link. Such entries are never read.
fn unexpected_detail(item: &Scanned) -> String {
    let name = &item.name;
    let mut detail = "not listed in the receipt".to_string();
    let escapes = name.starts_with(['/', '\\'])
        || name.as_bytes().get(1) == Some(&b':')
        || name.split(['/', '\\']).any(|part| part == "..");
    if escapes {
        detail.push_str("; its name points outside the archive's folder (unsafe to extract)");
    }
    if item.symlink {
        detail.push_str("; stored as a symbolic link");
    }
    detail
}

/// Compares what was read with what the receipt lists.
fn compare(receipt: &Receipt, scanned: &[Scanned], report: &mut VerifyReport) {
    report.code = receipt.code().map(str::to_string);
    if let SealCheck::Mismatch { expected, actual } = &receipt.seal {
        report.problems.push(Problem {
            kind: ProblemKind::Receipt,
            entry: RECEIPT_ENTRY.into(),
            folder: None,
            subject: None,
            detail: format!(
                "the receipt was changed after it was sealed (seal says {}, contents hash to {})",
                short(expected),
                short(actual)
            ),
        });
    }
    let folder_names: HashMap<usize, String> =
        receipt.folders.iter().map(|f| (f.id, f.name())).collect();
    let by_entry: BTreeMap<&str, &MessageRecord> = receipt
        .messages
        .iter()
        .filter_map(|m| m.entry.as_deref().map(|e| (e, m)))
        .collect();
    report.expected = by_entry.len() as u64;
    let problem = |kind, entry: &str, record: Option<&&MessageRecord>, detail: String| Problem {
        kind,
        entry: entry.to_string(),
        folder: record.and_then(|r| folder_names.get(&r.folder).cloned()),
        subject: record.and_then(|r| r.identity.subject.clone()),
        detail,
    };
    let mut seen = std::collections::HashSet::new();
    for item in scanned {
        if item.name == RECEIPT_ENTRY || item.name == README_ENTRY {
            continue;
        }
        let record = by_entry.get(item.name.as_str());
        let detail = match (record, &item.digest) {
            (None, _) => Some((ProblemKind::Unexpected, unexpected_detail(item))),
            (Some(_), _) if item.symlink => Some((
                ProblemKind::Corrupt,
                "stored as a symbolic link, not as a message; not read".to_string(),
            )),
            (Some(_), _) if !seen.insert(item.name.as_str()) => Some((
                ProblemKind::Unexpected,
                "appears more than once in the archive".to_string(),
            )),
            (Some(_), Err(e)) => Some((ProblemKind::Corrupt, e.clone())),
            (Some(r), Ok((digest, n))) if *digest != r.identity.digest => {
                Some((ProblemKind::Corrupt, changed(digest, *n, r)))
            }
            (Some(_), Ok(_)) => None,
        };
        match detail {
            Some((kind, detail)) => report
                .problems
                .push(problem(kind, &item.name, record, detail)),
            None => report.intact += 1,
        }
    }
    for (name, record) in &by_entry {
        if !seen.contains(name) {
            report.problems.push(problem(
                ProblemKind::Missing,
                name,
                Some(record),
                "listed in the receipt, absent from the archive".into(),
            ));
        }
    }
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}

struct HashWrite<'a>(&'a mut Sha256);

impl Write for HashWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message of `len` bytes: a text part, or base64 of bytes that do not compress (as an
    /// attachment of a compressed file is).
    fn message(len: usize, attachment: bool) -> Vec<u8> {
        let mut text = b"Subject: minutes\n\n".to_vec();
        if attachment {
            let mut next = crate::test_rng::xorshift(0x9e37_79b9_7f4a_7c15);
            let noise: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let encoded = base64_simd::STANDARD.encode_to_string(&noise);
            for line in encoded.as_bytes().chunks(76) {
                text.extend_from_slice(line);
                text.push(b'\n');
            }
        } else {
            for n in 0.. {
                if text.len() >= len {
                    break;
                }
                let line = format!("Item {n}: the budget for the quarter was agreed.\n");
                text.extend_from_slice(line.as_bytes());
            }
        }
        text.truncate(len);
        text
    }

    fn kind(entry: EntryData) -> &'static str {
        match entry {
            EntryData::Prepared(_) => "prepared",
            EntryData::Whole { .. } => "whole",
            EntryData::Plain { .. } => "plain",
        }
    }

    #[test]
    fn only_what_deflate_shrinks_is_deflated() {
        let prepare =
            |c: Compression, bytes: Vec<u8>| kind(c.prepare("m.eml".into(), bytes).unwrap());
        let deflate = Compression::Deflate;
        assert!(worth_deflating(&message(200 << 10, false)));
        assert!(!worth_deflating(&message(200 << 10, true)));
        // Compressed by a worker, or by the writer when large.
        assert_eq!(prepare(deflate, message(200 << 10, false)), "prepared");
        assert_eq!(prepare(deflate, message(3 << 20, false)), "whole");
        // Attachments are stored, whatever their size; small messages are not sampled.
        assert_eq!(prepare(deflate, message(200 << 10, true)), "plain");
        assert_eq!(prepare(deflate, message(3 << 20, true)), "plain");
        assert_eq!(prepare(deflate, message(SAMPLE_FROM - 1, true)), "prepared");
        assert_eq!(prepare(deflate, message(SAMPLE_FROM, true)), "plain");
        // A stored archive leaves every message to the writer, as it is.
        assert_eq!(
            prepare(Compression::Stored, message(200 << 10, false)),
            "whole"
        );
    }
}
