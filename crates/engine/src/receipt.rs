//! Receipts: one JSON Lines file listing every folder and message of a mailbox with digests,
//! fingerprints and recognisable headers, never bodies (docs/receipt-format.md).
//!
//! Written as it goes, so a million messages stream; sealed by a last line holding the SHA-256
//! of every byte before it and the receipt code derived from that digest.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::Identity;
use crate::source::{Gmail, Role, SourceDescription};
use crate::{Error, Result};

/// Format name in the header line; detection looks for it.
pub const FORMAT: &str = "mailproof-receipt";
/// Version of this file layout.
pub const VERSION: u32 = 1;
/// What every receipt starts with (the header record serialises its tag and format first).
const MAGIC: &[u8] = b"{\"type\":\"header\",\"format\":\"mailproof-receipt\"";

/// True when the bytes start like a Mailproof receipt.
pub fn has_magic(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// Fails with a clear error unless the file starts like a receipt.
pub fn check_magic(path: &Path) -> Result<()> {
    let head = crate::sources::sniff(path)?;
    if has_magic(&head) {
        Ok(())
    } else {
        Err(Error::Format {
            path: path.to_path_buf(),
            position: "line 1".into(),
            what: "not a Mailproof receipt (it does not start with a receipt header)".into(),
        })
    }
}

/// One line of a receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Header(Header),
    Folder(FolderRecord),
    Message(Box<MessageRecord>),
    Unreadable(UnreadableRecord),
    FolderEnd(FolderEnd),
    Totals(Totals),
    Seal(Seal),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    pub version: u32,
    /// Version of the canonical form and fingerprint (identity::IDENTITY_VERSION).
    pub identity_version: u32,
    /// The program that wrote it, e.g. `mailproof 0.1.0`.
    pub tool: String,
    /// When the receipt was started, RFC 3339 UTC.
    pub created: String,
    pub source: SourceDescription,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderRecord {
    /// Index of the folder in this receipt; messages refer to it.
    pub id: usize,
    /// The real name, as segments.
    pub path: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// What the source said the folder holds before reading, when it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed: Option<u64>,
}

impl FolderRecord {
    pub fn name(&self) -> String {
        self.path.join("/")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub folder: usize,
    pub source_id: String,
    pub size: u64,
    #[serde(flatten)]
    pub identity: Identity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_date: Option<i64>,
    /// Why the source holds this message without it counting as mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trashed: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The zip entry holding the message, in an archive's receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Gmail's message id and labels, for mail read from a Gmail server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmail: Option<Gmail>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnreadableRecord {
    pub folder: usize,
    pub source_id: String,
    pub reason: String,
}

/// A folder's counts, written when it has been read. found = read + unreadable + excluded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FolderEnd {
    pub folder: usize,
    pub found: u64,
    pub read: u64,
    pub unreadable: u64,
    pub excluded: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub excluded_reasons: BTreeMap<String, u64>,
    /// Read messages the source marks as trashed but still holds (counted in `read`).
    #[serde(default)]
    pub trashed: u64,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Set when the folder could not be read to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub folders: u64,
    pub found: u64,
    pub read: u64,
    pub unreadable: u64,
    pub excluded: u64,
    pub trashed: u64,
    pub bytes: u64,
    /// Folders that could not be read to the end.
    #[serde(default)]
    pub folder_errors: u64,
}

impl Totals {
    /// Adds one folder's counts.
    pub fn add(&mut self, end: &FolderEnd) {
        self.folders += 1;
        self.found += end.found;
        self.read += end.read;
        self.unreadable += end.unreadable;
        self.excluded += end.excluded;
        self.trashed += end.trashed;
        self.bytes += end.bytes;
        self.folder_errors += u64::from(end.error.is_some());
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seal {
    /// SHA-256 of every byte of the file before this line.
    pub sha256: String,
    /// The receipt code derived from `sha256`.
    pub code: String,
}

/// A message line read without serde's buffering of internally tagged and flattened types,
/// which made loading large receipts several times slower. Its fields are those of
/// [`MessageRecord`] with [`Identity`] spelt out; unknown fields are ignored either way.
#[derive(Deserialize)]
struct MessageLine {
    folder: usize,
    source_id: String,
    size: u64,
    digest: String,
    canonical: String,
    fingerprint: String,
    tolerant: String,
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    date: Option<i64>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    eol: crate::identity::Eol,
    #[serde(default)]
    stripped: Vec<String>,
    #[serde(default)]
    unparsed: Option<String>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    internal_date: Option<i64>,
    #[serde(default)]
    excluded: Option<String>,
    #[serde(default)]
    trashed: bool,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    entry: Option<String>,
    #[serde(default)]
    gmail: Option<Gmail>,
}

impl From<MessageLine> for MessageRecord {
    fn from(m: MessageLine) -> Self {
        MessageRecord {
            folder: m.folder,
            source_id: m.source_id,
            size: m.size,
            identity: Identity {
                digest: m.digest,
                canonical: m.canonical,
                fingerprint: m.fingerprint,
                tolerant: m.tolerant,
                message_id: m.message_id,
                date: m.date,
                from: m.from,
                subject: m.subject,
                eol: m.eol,
                stripped: m.stripped,
                unparsed: m.unparsed,
            },
            flags: m.flags,
            internal_date: m.internal_date,
            excluded: m.excluded,
            trashed: m.trashed,
            notes: m.notes,
            entry: m.entry,
            gmail: m.gmail,
        }
    }
}

/// How every message line written by [`ReceiptWriter`] starts.
const MESSAGE_PREFIX: &[u8] = b"{\"type\":\"message\",";

/// Parses one line; message lines, nearly all of a receipt, take the direct path.
fn parse_line(line: &[u8]) -> serde_json::Result<Record> {
    if line.starts_with(MESSAGE_PREFIX)
        && let Ok(m) = serde_json::from_slice::<MessageLine>(line)
    {
        return Ok(Record::Message(Box::new(m.into())));
    }
    serde_json::from_slice(line)
}

/// A `Write` that hashes everything passing through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a receipt line by line and seals it.
pub struct ReceiptWriter<W: Write> {
    out: HashingWriter<BufWriter<W>>,
    path: PathBuf,
}

impl ReceiptWriter<File> {
    /// Creates (truncates) the file at `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io("cannot create", path, e))?;
        Ok(Self::new(file, path))
    }
}

impl<W: Write> ReceiptWriter<W> {
    /// Wraps any writer; `path` is only used to name it in errors.
    pub fn new(inner: W, path: &Path) -> Self {
        Self {
            out: HashingWriter {
                inner: BufWriter::with_capacity(1 << 16, inner),
                hasher: Sha256::new(),
            },
            path: path.to_path_buf(),
        }
    }

    pub fn write(&mut self, record: &Record) -> Result<()> {
        debug_assert!(!matches!(record, Record::Seal(_)), "use seal()");
        let io = |e: io::Error| Error::io("cannot write", &self.path, e);
        serde_json::to_writer(&mut self.out, record).map_err(|e| io(e.into()))?;
        self.out.write_all(b"\n").map_err(io)
    }

    /// Writes the seal line and returns it together with the inner writer, flushed.
    pub fn seal(mut self) -> Result<(Seal, W)> {
        let sha256 = hex(&self.out.hasher.clone().finalize());
        let seal = Seal {
            code: crate::code::receipt_code(&sha256),
            sha256,
        };
        let path = self.path.clone();
        let io = |e: io::Error| Error::io("cannot write", &path, e);
        serde_json::to_writer(&mut self.out.inner, &Record::Seal(seal.clone()))
            .map_err(|e| io(e.into()))?;
        self.out.inner.write_all(b"\n").map_err(io)?;
        let inner = self
            .out
            .inner
            .into_inner()
            .map_err(|e| io(e.into_error()))?;
        Ok((seal, inner))
    }
}

/// Lower-case hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Streams the records of a receipt, checking the seal at the end.
pub struct ReceiptReader<R> {
    input: BufReader<R>,
    hasher: Sha256,
    line: Vec<u8>,
    line_no: usize,
    path: PathBuf,
    seal: Option<SealCheck>,
}

/// What the reader found about the seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealCheck {
    /// The seal matches every byte before it.
    Valid { code: String },
    /// The receipt was changed after it was sealed.
    Mismatch { expected: String, actual: String },
}

impl ReceiptReader<File> {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
        Ok(Self::new(file, path))
    }
}

impl<R: Read> ReceiptReader<R> {
    pub fn new(inner: R, path: &Path) -> Self {
        Self {
            input: BufReader::with_capacity(1 << 16, inner),
            hasher: Sha256::new(),
            line: Vec::new(),
            line_no: 0,
            path: path.to_path_buf(),
            seal: None,
        }
    }

    fn format_error(&self, what: impl Into<String>) -> Error {
        Error::Format {
            path: self.path.clone(),
            position: format!("line {}", self.line_no),
            what: what.into(),
        }
    }

    /// The next record, or `None` after the seal. A receipt that ends without a seal is an
    /// error: it was cut short.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        if self.seal.is_some() {
            return Ok(None);
        }
        self.line.clear();
        self.line_no += 1;
        let n = self
            .input
            .read_until(b'\n', &mut self.line)
            .map_err(|e| Error::io("cannot read", &self.path, e))?;
        if n == 0 {
            return Err(self.format_error(
                "the receipt ends without its seal line: it is incomplete (was it cut short or still being written?)",
            ));
        }
        if !self.line.ends_with(b"\n") {
            return Err(self.format_error("the last line is cut short"));
        }
        let record = parse_line(&self.line)
            .map_err(|e| self.format_error(format!("not a receipt record: {e}")))?;
        if self.line_no == 1 {
            match &record {
                Record::Header(h) if h.format == FORMAT => {
                    if h.version > VERSION {
                        return Err(self.format_error(format!(
                            "receipt format version {} is newer than this program understands ({VERSION}); update Mailproof",
                            h.version
                        )));
                    }
                }
                _ => return Err(self.format_error("not a Mailproof receipt: no header line")),
            }
        }
        if let Record::Seal(seal) = &record {
            let actual = hex(&self.hasher.clone().finalize());
            self.seal = Some(if actual == seal.sha256 {
                SealCheck::Valid {
                    code: crate::code::receipt_code(&actual),
                }
            } else {
                SealCheck::Mismatch {
                    expected: seal.sha256.clone(),
                    actual,
                }
            });
        } else {
            self.hasher.update(&self.line);
        }
        Ok(Some(record))
    }

    /// The seal check, once the last record has been read.
    pub fn seal_check(&self) -> Option<&SealCheck> {
        self.seal.as_ref()
    }
}

/// A whole receipt in memory, for checks and verification.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub header: Header,
    pub folders: Vec<FolderRecord>,
    pub messages: Vec<MessageRecord>,
    pub unreadable: Vec<UnreadableRecord>,
    pub folder_ends: Vec<FolderEnd>,
    pub totals: Totals,
    pub seal: SealCheck,
}

impl Receipt {
    /// Reads and checks a whole receipt file.
    pub fn load(path: &Path) -> Result<Self> {
        Self::read(ReceiptReader::open(path)?)
    }

    /// Reads a whole receipt from a reader.
    pub fn read<R: Read>(mut reader: ReceiptReader<R>) -> Result<Self> {
        let mut header = None;
        let mut folders = Vec::new();
        let mut messages = Vec::new();
        let mut unreadable = Vec::new();
        let mut folder_ends = Vec::new();
        let mut totals = None;
        while let Some(record) = reader.next_record()? {
            match record {
                Record::Header(h) => header = Some(h),
                Record::Folder(f) => {
                    if f.id != folders.len() {
                        return Err(reader.format_error(format!(
                            "folder id {} out of order (expected {})",
                            f.id,
                            folders.len()
                        )));
                    }
                    folders.push(f)
                }
                Record::Message(m) => {
                    if m.folder >= folders.len() {
                        return Err(reader.format_error("message refers to an unknown folder"));
                    }
                    messages.push(*m)
                }
                Record::Unreadable(u) => unreadable.push(u),
                Record::FolderEnd(e) => folder_ends.push(e),
                Record::Totals(t) => totals = Some(t),
                Record::Seal(_) => {}
            }
        }
        let seal = reader.seal_check().cloned().unwrap_or(SealCheck::Mismatch {
            expected: String::new(),
            actual: String::new(),
        });
        let header = header.ok_or_else(|| reader.format_error("no header"))?;
        let totals = totals.ok_or_else(|| reader.format_error("no totals line"))?;
        Ok(Self {
            header,
            folders,
            messages,
            unreadable,
            folder_ends,
            totals,
            seal,
        })
    }

    /// The receipt code, when the seal is intact.
    pub fn code(&self) -> Option<&str> {
        match &self.seal {
            SealCheck::Valid { code } => Some(code),
            SealCheck::Mismatch { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Record> {
        vec![
            Record::Header(Header {
                format: FORMAT.into(),
                version: VERSION,
                identity_version: 1,
                tool: crate::TOOL.into(),
                created: "2026-01-01T00:00:00Z".into(),
                source: SourceDescription {
                    kind: "mbox".into(),
                    location: "/tmp/x".into(),
                },
                notes: vec![],
            }),
            Record::Folder(FolderRecord {
                id: 0,
                path: vec!["INBOX".into()],
                role: Some(Role::Inbox),
                claimed: None,
            }),
            Record::Message(Box::new(MessageRecord {
                folder: 0,
                source_id: "offset 0".into(),
                size: 3,
                identity: Identity {
                    digest: "ab".into(),
                    ..Identity::default()
                },
                flags: vec!["\\Seen".into()],
                internal_date: None,
                excluded: None,
                trashed: false,
                notes: vec![],
                entry: None,
                gmail: None,
            })),
            Record::FolderEnd(FolderEnd {
                folder: 0,
                found: 1,
                read: 1,
                bytes: 3,
                ..FolderEnd::default()
            }),
            Record::Totals(Totals {
                folders: 1,
                found: 1,
                read: 1,
                bytes: 3,
                ..Totals::default()
            }),
        ]
    }

    fn write_sample() -> (Vec<u8>, Seal) {
        let mut w = ReceiptWriter::new(Vec::new(), Path::new("mem"));
        for r in sample() {
            w.write(&r).unwrap();
        }
        let (seal, bytes) = w.seal().unwrap();
        (bytes, seal)
    }

    #[test]
    fn round_trip_and_seal() {
        let (bytes, seal) = write_sample();
        assert!(has_magic(&bytes));
        let receipt = Receipt::read(ReceiptReader::new(&bytes[..], Path::new("mem"))).unwrap();
        assert_eq!(receipt.code(), Some(seal.code.as_str()));
        assert_eq!(receipt.messages.len(), 1);
        assert_eq!(receipt.messages[0].flags, vec!["\\Seen".to_string()]);
        assert_eq!(receipt.totals.read, 1);
    }

    #[test]
    fn tampering_breaks_the_seal() {
        let (bytes, _) = write_sample();
        let text = String::from_utf8(bytes)
            .unwrap()
            .replace("offset 0", "offset 9");
        let receipt = Receipt::read(ReceiptReader::new(text.as_bytes(), Path::new("mem"))).unwrap();
        assert!(matches!(receipt.seal, SealCheck::Mismatch { .. }));
        assert_eq!(receipt.code(), None);
    }

    #[test]
    fn message_lines_read_the_same_by_either_path() {
        let (bytes, _) = write_sample();
        let text = String::from_utf8(bytes).unwrap();
        let line = text.lines().find(|l| l.contains("\"message\"")).unwrap();
        assert!(line.as_bytes().starts_with(MESSAGE_PREFIX));
        let fast = parse_line(line.as_bytes()).unwrap();
        let generic: Record = serde_json::from_str(line).unwrap();
        assert_eq!(fast, generic);
    }

    #[test]
    fn truncation_is_named() {
        let (bytes, _) = write_sample();
        let cut = &bytes[..bytes.len() - 40];
        let err = Receipt::read(ReceiptReader::new(cut, Path::new("r.jsonl")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("r.jsonl") && err.contains("line"), "{err}");
    }
}
