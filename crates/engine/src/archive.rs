//! Archives: one zip holding every message as `messages/<folder>/<n>.eml` and the receipt
//! (`receipt.jsonl`, the last entry), plus a short README for whoever opens it by hand.
//!
//! Entries are Stored by default: mail is mostly base64 of compressed attachments, which fast
//! Deflate cannot shrink. Deflate (fast level) is offered and runs on every core; it stores the
//! messages a sample shows it cannot shrink. Both open with the operating systems' own unzip
//! tools; ZIP64 is used when needed.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::ZipArchive;

mod output;
mod zipfile;

use output::ArchiveFile;
use zipfile::{Method, ZipWriter};

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
    /// Prepares a message for the archive on a worker thread: its CRC, and its bytes deflated
    /// when the archive asks for Deflate and that shrinks them.
    pub(crate) fn prepare(self, name: String, bytes: Vec<u8>) -> Ready {
        let crc = crc32fast::hash(&bytes);
        let size = bytes.len() as u64;
        let deflated = match self {
            Compression::Deflate if bytes.len() < SAMPLE_FROM || worth_deflating(&bytes) => {
                deflate(&bytes)
            }
            _ => None,
        };
        let (method, data) = match deflated {
            Some(data) => {
                crate::recycle::give_back(bytes);
                (Method::Deflated, data)
            }
            None => (Method::Stored, bytes),
        };
        Ready {
            name,
            method,
            crc,
            size,
            data,
        }
    }

    fn method(self) -> Method {
        match self {
            Compression::Stored => Method::Stored,
            Compression::Deflate => Method::Deflated,
        }
    }
}

/// Messages at least this long are sampled before they are deflated.
const SAMPLE_FROM: usize = 64 << 10;

/// The length of each sampled window.
const SAMPLE_WINDOW: usize = 8 << 10;

thread_local! {
    /// Each worker's compressor, at the archive's level, kept from one message to the next:
    /// setting one up costs more than deflating a small message.
    static DEFLATE: std::cell::RefCell<flate2::Compress> =
        std::cell::RefCell::new(flate2::Compress::new(flate2::Compression::new(1), false));
}

/// `bytes` deflated, or `None` when that does not make them shorter (stored as they are then,
/// as Info-ZIP stores them). The output is given room for the input's length and no more, so it
/// is allocated once, at a size known in advance.
fn deflate(bytes: &[u8]) -> Option<Vec<u8>> {
    use flate2::{FlushCompress, Status};
    DEFLATE.with_borrow_mut(|deflate| {
        deflate.reset();
        let mut out = Vec::with_capacity(bytes.len());
        match deflate.compress_vec(bytes, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) if out.len() < bytes.len() => {
                out.shrink_to_fit();
                Some(out)
            }
            _ => None,
        }
    })
}

/// Whether Deflate at the archive's level would shrink `bytes` by at least a tenth, judged from
/// three windows at a quarter, half and three quarters of the message.
///
/// Most of the bytes of real mail are attachments: base64 of files that are compressed already
/// (PDF, JPEG, Office documents). Fast Deflate codes them with fixed Huffman codes, eight bits
/// per base64 letter, and gains nothing while spending most of an export's time. Like Info-ZIP,
/// such entries are stored as they are; the samples decide before that time is spent.
fn worth_deflating(bytes: &[u8]) -> bool {
    thread_local! {
        // Room for a window and Deflate's worst-case overhead on it.
        static SAMPLE: std::cell::RefCell<Vec<u8>> =
            std::cell::RefCell::new(Vec::with_capacity(SAMPLE_WINDOW + 1024));
    }
    DEFLATE.with_borrow_mut(|deflate| {
        SAMPLE.with_borrow_mut(|out| {
            let mut deflated = 0;
            for quarter in 1..=3 {
                let start = bytes.len() * quarter / 4 - SAMPLE_WINDOW / 2;
                deflate.reset();
                out.clear();
                // A window whose output does not fit `out` is not worth deflating: counted as
                // full.
                let _ = deflate.compress_vec(
                    &bytes[start..start + SAMPLE_WINDOW],
                    out,
                    flate2::FlushCompress::Finish,
                );
                deflated += out.len();
            }
            deflated * 10 < 3 * SAMPLE_WINDOW * 9
        })
    })
}

/// A message on its way into the archive.
pub enum EntryData {
    /// Prepared by a worker ([`Compression::prepare`]).
    Ready(Ready),
    /// Still to be prepared, by the writer: an entry kept from an interrupted export.
    Whole { name: String, bytes: Vec<u8> },
}

/// An entry's bytes as they go into the archive, with what its headers say of them.
pub struct Ready {
    name: String,
    method: Method,
    crc: u32,
    /// Of the message, before compression.
    size: u64,
    data: Vec<u8>,
}

impl<W: Write + io::Seek> ZipWriter<W> {
    fn add_ready(&mut self, ready: &Ready) -> io::Result<()> {
        self.add(
            &ready.name,
            ready.method,
            ready.crc,
            ready.size,
            &ready.data,
        )
    }
}

impl EntryData {
    /// The zip entry name.
    pub fn name(&self) -> String {
        match self {
            EntryData::Ready(r) => r.name.clone(),
            EntryData::Whole { name, .. } => name.clone(),
        }
    }

    /// The bytes it holds until written.
    pub(crate) fn held(&self) -> usize {
        match self {
            EntryData::Ready(r) => r.data.len(),
            EntryData::Whole { bytes, .. } => bytes.len(),
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

/// Writes an archive as messages arrive; the receipt goes to a side file next to it and is
/// added as the last entry.
pub struct ArchiveWriter {
    zip: ZipWriter<ArchiveFile>,
    receipt: ReceiptWriter<File>,
    receipt_path: PathBuf,
    path: PathBuf,
    compression: Compression,
    entries: u64,
}

impl ArchiveWriter {
    pub fn create(path: &Path, compression: Compression) -> Result<Self> {
        Self::with_limits(path, compression, zipfile::LIMITS)
    }

    fn with_limits(path: &Path, compression: Compression, limits: zipfile::Limits) -> Result<Self> {
        let file = ArchiveFile::create(path).map_err(|e| Error::io("cannot create", path, e))?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let zip = ZipWriter::new(file, dir, limits)
            .map_err(|e| Error::io("cannot create a temporary file in", dir, e))?;
        let receipt_path = side_receipt(path);
        let receipt = ReceiptWriter::create(&receipt_path)?;
        Ok(Self {
            zip,
            receipt,
            receipt_path,
            path: path.to_path_buf(),
            compression,
            entries: 0,
        })
    }

    /// Writes one receipt record, and the message entry that goes with it.
    pub fn write(&mut self, record: &Record, entry: Option<EntryData>) -> Result<()> {
        let ready = match entry {
            Some(EntryData::Ready(ready)) => ready,
            Some(EntryData::Whole { name, bytes }) => self.compression.prepare(name, bytes),
            None => return self.receipt.write(record),
        };
        self.zip
            .add_ready(&ready)
            .map_err(|e| Error::io("cannot write", &self.path, e))?;
        crate::recycle::give_back(ready.data);
        self.entries += 1;
        self.receipt.write(record)
    }

    /// Seals the receipt, adds it and the README, closes the zip, and checks that the result
    /// opens and holds every entry the receipt names.
    pub fn finish(self) -> Result<(Seal, File)> {
        let Self {
            mut zip,
            receipt,
            receipt_path,
            path,
            compression,
            entries,
        } = self;
        let (seal, receipt_file) = receipt.seal()?;
        drop(receipt_file);
        let write_err = |e| Error::io("cannot write", &path, e);
        let readme = readme(&seal).into_bytes();
        zip.add_ready(&compression.prepare(README_ENTRY.into(), readme))
            .map_err(write_err)?;
        let side =
            File::open(&receipt_path).map_err(|e| Error::io("cannot read", &receipt_path, e))?;
        let size = side
            .metadata()
            .map_err(|e| Error::io("cannot read", &receipt_path, e))?
            .len();
        zip.add_streamed(
            RECEIPT_ENTRY,
            compression.method(),
            size,
            BufReader::new(side),
        )
        .map_err(write_err)?;
        let file = zip
            .finish()
            .and_then(ArchiveFile::into_file)
            .map_err(write_err)?;
        check_structure(&path, entries)?;
        Ok((seal, file))
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

/// Reopens a freshly written archive: its central directory must parse, list the receipt, and
/// list as many message entries as were written.
fn check_structure(path: &Path, entries: u64) -> Result<()> {
    let census = zipfile::census(path, "messages/", RECEIPT_ENTRY).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        position: "after writing".into(),
        what: format!("the archive does not read back: {e}"),
    })?;
    if census.under_prefix != entries || !census.named {
        return Err(Error::Format {
            path: path.to_path_buf(),
            position: "after writing".into(),
            what: format!(
                "the archive holds {} message entries, {entries} were written",
                census.under_prefix
            ),
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
    entries: EntryReader,
    receipt: Receipt,
}

impl ArchiveSource {
    pub fn open(path: &Path) -> Result<Self> {
        let mut zip = open_zip(path)?;
        let receipt = read_receipt_from(&mut zip, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            zip,
            entries: EntryReader::new(),
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
                Some(name) => read_entry(&mut self.zip, &mut self.entries, name, record.size)
                    .map_err(|e| e.to_string()),
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
        let bytes = read_entry(&mut self.zip, &mut self.entries, name, record.size)
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
/// [`EntryReader`] checks the CRC-32 of an entry read to its end.
fn read_entry(
    zip: &mut ZipArchive<BufReader<File>>,
    entries: &mut EntryReader,
    name: &str,
    size: u64,
) -> io::Result<Vec<u8>> {
    let mut file = zip.by_name_raw(name.as_bytes()).map_err(io::Error::other)?;
    if file.is_symlink() {
        return Err(io::Error::other(
            "stored as a symbolic link, not as a message",
        ));
    }
    let limit = size.min(MAX_MESSAGE as u64);
    let mut bytes = Vec::with_capacity(limit.min(file.size()) as usize);
    entries.read(&mut file, limit, |piece| bytes.extend_from_slice(piece))?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::other(format!(
            "holds more than the {size} bytes the receipt records; refused"
        )));
    }
    Ok(bytes)
}

/// Reads the bytes of entries opened raw, inflating those that are deflated with one inflater
/// for the whole archive, reset between entries. (The zip library sets up an inflater per entry;
/// its 64-byte-aligned buffers, allocated and freed once per message, fragmented the heap:
/// verifying a Deflate archive of 20,000 messages took 377 MB, a Stored one 43 MB.)
struct EntryReader {
    inflate: flate2::Decompress,
    input: Vec<u8>,
    output: Vec<u8>,
}

/// How much an [`EntryReader`] reads, and inflates, at a time.
const READ_CHUNK: usize = 64 << 10;

impl EntryReader {
    fn new() -> Self {
        Self {
            inflate: flate2::Decompress::new(false),
            input: vec![0; READ_CHUNK],
            output: vec![0; READ_CHUNK],
        }
    }

    /// Hands the entry's bytes to `emit` piece by piece, and checks them against the entry's
    /// CRC-32; stops once more than `limit` bytes came (a bomb is not read further). Returns
    /// how many bytes were handed on.
    fn read<R: Read>(
        &mut self,
        file: &mut zip::read::ZipFile<'_, R>,
        limit: u64,
        mut emit: impl FnMut(&[u8]),
    ) -> io::Result<u64> {
        let mut crc = crc32fast::Hasher::new();
        let mut n = 0u64;
        let mut out = |piece: &[u8]| {
            crc.update(piece);
            n += piece.len() as u64;
            emit(piece);
            n > limit
        };
        match file.compression() {
            zip::CompressionMethod::Stored => loop {
                let got = file.read(&mut self.input)?;
                if got == 0 || out(&self.input[..got]) {
                    break;
                }
            },
            zip::CompressionMethod::Deflated => {
                self.inflate.reset(false);
                let (mut held, mut at) = (0, 0);
                loop {
                    if at == held {
                        (held, at) = (file.read(&mut self.input)?, 0);
                    }
                    let (before_in, before_out) =
                        (self.inflate.total_in(), self.inflate.total_out());
                    let status = self
                        .inflate
                        .decompress(
                            &self.input[at..held],
                            &mut self.output,
                            flate2::FlushDecompress::None,
                        )
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                    at += (self.inflate.total_in() - before_in) as usize;
                    let produced = (self.inflate.total_out() - before_out) as usize;
                    if out(&self.output[..produced]) || status == flate2::Status::StreamEnd {
                        break;
                    }
                    if held == 0 && produced == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the compressed data ends early",
                        ));
                    }
                }
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("compressed with {other}, which Mailproof does not read"),
                ));
            }
        }
        if n <= limit && crc.finalize() != file.crc32() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "its CRC-32 does not match its bytes",
            ));
        }
        Ok(n)
    }
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

/// Hashes one zip entry as `read` streams it into the hasher, reading at most `limit` bytes
/// (and returning how many) so that a zip bomb or an entry whose declared size lies costs no
/// more than the message it claims to be; the CRC-32 of an entry read to its end is checked.
fn hash_entry(
    limit: u64,
    read: impl FnOnce(&mut Sha256) -> io::Result<u64>,
) -> std::result::Result<(String, u64), String> {
    let mut hasher = Sha256::new();
    let n = read(&mut hasher).map_err(|e| format!("cannot be read: {e}"))?;
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
            let mut entries = EntryReader::new();
            for index in 0..zip.len() {
                if cancel.is_cancelled() {
                    return Err(Error::Cancelled);
                }
                let item = match zip.by_index_raw(index) {
                    Ok(mut file) if !file.is_dir() => {
                        let name = String::from_utf8_lossy(file.name_raw()).into_owned();
                        let symlink = file.is_symlink();
                        let digest = match sizes.get(name.as_str()) {
                            Some(&size) if !symlink => hash_entry(size, |hasher| {
                                entries.read(&mut file, size, |piece| hasher.update(piece))
                            }),
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
        let limit = MAX_MESSAGE as u64;
        let digest = hash_entry(limit, |hasher| {
            io::copy(&mut (&mut entry).take(limit + 1), &mut HashWrite(hasher))
        });
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

    fn method(c: Compression, bytes: Vec<u8>) -> Method {
        let ready = c.prepare("m.eml".into(), bytes.clone());
        assert_eq!(ready.crc, crc32fast::hash(&bytes));
        assert_eq!(ready.size, bytes.len() as u64);
        if ready.method == Method::Stored {
            assert_eq!(ready.data, bytes);
        }
        ready.method
    }

    #[test]
    fn only_what_deflate_shrinks_is_deflated() {
        let deflate = Compression::Deflate;
        assert!(worth_deflating(&message(200 << 10, false)));
        assert!(!worth_deflating(&message(200 << 10, true)));
        // Text is deflated, whatever its size.
        assert_eq!(method(deflate, message(200 << 10, false)), Method::Deflated);
        assert_eq!(method(deflate, message(3 << 20, false)), Method::Deflated);
        // Attachments are stored, whatever their size; small messages are not sampled.
        assert_eq!(method(deflate, message(200 << 10, true)), Method::Stored);
        assert_eq!(method(deflate, message(3 << 20, true)), Method::Stored);
        assert_eq!(
            method(deflate, message(SAMPLE_FROM - 1, true)),
            Method::Deflated
        );
        assert_eq!(method(deflate, message(SAMPLE_FROM, true)), Method::Stored);
        // What Deflate would make longer is stored: an empty message, a few random bytes.
        assert_eq!(method(deflate, Vec::new()), Method::Stored);
        assert_eq!(method(deflate, vec![0x8f, 0x11, 0xd2]), Method::Stored);
        // A stored archive stores every message as it is.
        assert_eq!(
            method(Compression::Stored, message(200 << 10, false)),
            Method::Stored
        );
    }

    /// Writes an archive of a few entries, with `limits` deciding where ZIP64 is used, and
    /// reads it back with the zip library (by its central directory, and from the front as
    /// a resumed export does), with Info-ZIP's `unzip` and with Python's `zipfile` where they
    /// are installed.
    fn round_trip(limits: zipfile::Limits) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        let messages = [
            ("messages/INBOX/1.eml", message(3000, false)),
            ("messages/INBOX/2.eml", message(SAMPLE_FROM + 10, true)),
            (
                "messages/Priv\u{e9}/1.eml",
                b"Subject: \xe9t\xe9\n\nbody\n".to_vec(),
            ),
            ("messages/Empty/1.eml", Vec::new()),
        ];
        let mut writer = ArchiveWriter::with_limits(&path, Compression::Deflate, limits).unwrap();
        for (name, bytes) in &messages {
            let ready = Compression::Deflate.prepare(name.to_string(), bytes.clone());
            writer.zip.add_ready(&ready).unwrap();
        }
        let receipt = message(100 << 10, false);
        writer
            .zip
            .add_streamed(
                RECEIPT_ENTRY,
                Method::Deflated,
                receipt.len() as u64,
                &receipt[..],
            )
            .unwrap();
        drop(writer.zip.finish().unwrap().into_file().unwrap());
        let zip64_end = 0x0606_4b50u32.to_le_bytes();
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(
            raw.windows(4).any(|w| w == zip64_end),
            limits.entries < zipfile::LIMITS.entries
        );

        let mut expected: Vec<(&str, &[u8])> =
            messages.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        expected.push((RECEIPT_ENTRY, &receipt));
        let mut zip = ZipArchive::new(BufReader::new(File::open(&path).unwrap())).unwrap();
        assert_eq!(zip.len(), expected.len());
        for (name, bytes) in &expected {
            let mut read = Vec::new();
            zip.by_name(name).unwrap().read_to_end(&mut read).unwrap();
            assert_eq!(&read, bytes, "{name}");
        }
        let mut front = BufReader::new(File::open(&path).unwrap());
        for (name, bytes) in &expected {
            let mut entry = zip::read::read_zipfile_from_stream(&mut front)
                .unwrap()
                .unwrap();
            assert_eq!(entry.name().unwrap(), *name);
            let mut read = Vec::new();
            entry.read_to_end(&mut read).unwrap();
            assert_eq!(&read, bytes, "{name}");
        }
        assert_eq!(
            zipfile::census(&path, "messages/", RECEIPT_ENTRY).unwrap(),
            zipfile::Census {
                under_prefix: 4,
                named: true
            }
        );
        if let Ok(out) = std::process::Command::new("unzip")
            .arg("-tq")
            .arg(&path)
            .output()
        {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let python = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\n\
                      assert z.testzip() is None\nprint(len(z.namelist()))";
        if let Ok(out) = std::process::Command::new("python3")
            .args(["-c", python])
            .arg(&path)
            .output()
        {
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5", "{out:?}");
        }
    }

    #[test]
    fn entries_read_back_only_when_whole_and_matching_their_crc() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        let text = message(100 << 10, false);
        let deflated = deflate(&text).unwrap();
        let crc = crc32fast::hash(&text);
        let size = text.len() as u64;
        let file = ArchiveFile::create(&path).unwrap();
        let mut zip = ZipWriter::new(file, dir.path(), zipfile::LIMITS).unwrap();
        let entries: [(&str, Method, u32, &[u8]); 5] = [
            ("stored", Method::Stored, crc, &text),
            ("deflated", Method::Deflated, crc, &deflated),
            ("stored, wrong CRC", Method::Stored, crc ^ 1, &text),
            ("deflated, wrong CRC", Method::Deflated, crc ^ 1, &deflated),
            (
                "deflated, cut short",
                Method::Deflated,
                crc,
                &deflated[..deflated.len() / 2],
            ),
        ];
        for (name, method, crc, data) in entries {
            zip.add(name, method, crc, size, data).unwrap();
        }
        drop(zip.finish().unwrap());

        let mut zip = ZipArchive::new(BufReader::new(File::open(&path).unwrap())).unwrap();
        let mut reader = EntryReader::new();
        let mut read = |name: &str, limit: u64| {
            let mut file = zip.by_name_raw(name.as_bytes()).unwrap();
            let mut bytes = Vec::new();
            reader
                .read(&mut file, limit, |piece| bytes.extend_from_slice(piece))
                .map(|n| (n, bytes))
                .map_err(|e| e.to_string())
        };
        // The same inflater serves entry after entry.
        for _ in 0..2 {
            assert_eq!(read("stored", size).unwrap(), (size, text.clone()));
            assert_eq!(read("deflated", size).unwrap(), (size, text.clone()));
        }
        assert!(
            read("stored, wrong CRC", size)
                .unwrap_err()
                .contains("CRC-32")
        );
        assert!(
            read("deflated, wrong CRC", size)
                .unwrap_err()
                .contains("CRC-32")
        );
        assert!(
            read("deflated, cut short", size)
                .unwrap_err()
                .contains("ends early")
        );
        // Past the limit, reading stops: more than the limit came, and nothing is checked.
        let (n, _) = read("deflated", 1000).unwrap();
        assert!(n > 1000 && n < size, "{n}");
    }

    #[test]
    fn archives_read_back_with_every_reader() {
        round_trip(zipfile::LIMITS);
    }

    #[test]
    fn zip64_records_read_back_with_every_reader() {
        // Every size, offset and count at or over these limits takes its ZIP64 form.
        round_trip(zipfile::Limits {
            size: 2000,
            entries: 3,
        });
    }
}
