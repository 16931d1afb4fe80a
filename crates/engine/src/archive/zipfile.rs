//! The archive's zip structure, written here rather than by the zip library.
//!
//! The library keeps every entry's central-directory record in memory until the archive is
//! finished (about 260 bytes a message, so an export's memory grew with the mailbox), and grows
//! each entry it compresses by doubling, which fragmented the workers' heaps. Here each entry
//! arrives whole, compressed and with its CRC known, so it is appended once; its record goes to
//! an unnamed temporary file in the archive's folder, copied to the end when the archive is
//! finished. The result is an ordinary zip (PKWARE APPNOTE 6.3.x): ZIP64 wherever a size, an
//! offset or the number of entries needs it, UTF-8 names flagged as such. Reading stays with the
//! zip library; [`census`] only walks the central directory to check what was written.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const END64_LOCATOR: u32 = 0x0706_4b50;
/// The extra field that holds 64-bit sizes and offsets.
const ZIP64_EXTRA: u16 = 0x0001;
/// Entries are dated 1980-01-01 00:00, the zip epoch: the same archive for the same mailbox.
const DOS_DATE: u16 = (1 << 5) | 1;
/// Made on Unix, by a writer of APPNOTE 4.5 (ZIP64).
const MADE_BY: u16 = (3 << 8) | 45;
/// Regular files, rw-r--r--, as unzip tools restore them.
const UNIX_FILE: u32 = 0o100_644 << 16;
/// General-purpose flag: the name is UTF-8.
const UTF8_NAME: u16 = 1 << 11;

/// Values from which the 64-bit forms are needed (a 32-bit field holding all ones, or a 16-bit
/// count holding all ones, says "see the ZIP64 record"). Tests lower them to write ZIP64 into
/// small archives.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) size: u64,
    pub(super) entries: u64,
}

pub(super) const LIMITS: Limits = Limits {
    size: 0xFFFF_FFFF,
    entries: 0xFFFF,
};

/// How an entry's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflated,
}

impl Method {
    fn code(self) -> u16 {
        match self {
            Method::Stored => 0,
            Method::Deflated => 8,
        }
    }
}

/// What a header says of an entry.
struct Header<'a> {
    name: &'a str,
    method: Method,
    crc: u32,
    size: u64,
    compressed: u64,
    offset: u64,
}

impl Header<'_> {
    fn flags(&self) -> u16 {
        if self.name.is_ascii() { 0 } else { UTF8_NAME }
    }

    fn version_needed(&self, zip64: bool) -> u16 {
        match (zip64, self.method) {
            (true, _) => 45,
            (false, Method::Deflated) => 20,
            (false, Method::Stored) => 10,
        }
    }
}

/// A 32-bit field's value, or all ones when the value goes in the ZIP64 field instead.
fn field32(value: u64, limits: Limits) -> u32 {
    if value >= limits.size {
        u32::MAX
    } else {
        value as u32
    }
}

/// Writes a zip to `out`, entry by entry, from its first byte.
pub(super) struct ZipWriter<W: Write + Seek> {
    out: W,
    /// Where the next byte goes.
    pos: u64,
    /// The central directory so far.
    central: BufWriter<File>,
    central_len: u64,
    entries: u64,
    limits: Limits,
}

impl<W: Write + Seek> ZipWriter<W> {
    /// `dir` is the archive's folder, which holds the central directory until the end (in a
    /// file that has no name, or loses it at once, so nothing is left behind whatever happens).
    pub(super) fn new(out: W, dir: &Path, limits: Limits) -> io::Result<Self> {
        Ok(Self {
            out,
            pos: 0,
            central: BufWriter::new(tempfile::tempfile_in(dir)?),
            central_len: 0,
            entries: 0,
            limits,
        })
    }

    /// Appends an entry whose bytes are ready: `data` as stored, `size` and `crc` of the
    /// uncompressed bytes.
    pub(super) fn add(
        &mut self,
        name: &str,
        method: Method,
        crc: u32,
        size: u64,
        data: &[u8],
    ) -> io::Result<()> {
        let header = Header {
            name,
            method,
            crc,
            size,
            compressed: data.len() as u64,
            offset: self.pos,
        };
        let zip64 = header.size >= self.limits.size || header.compressed >= self.limits.size;
        self.put(&local_header(&header, zip64)?)?;
        self.put(data)?;
        self.central_record(&header)
    }

    /// Appends an entry read from `data`, `size` bytes long, compressing it as it goes; its CRC
    /// and compressed size are written into its header once known. For entries too large to
    /// hold in memory, such as the receipt.
    pub(super) fn add_streamed(
        &mut self,
        name: &str,
        method: Method,
        size: u64,
        data: impl Read,
    ) -> io::Result<()> {
        let mut header = Header {
            name,
            method,
            crc: 0,
            size,
            compressed: size,
            offset: self.pos,
        };
        // Room for what Deflate at its fastest level can add to bytes it cannot shrink.
        let zip64 = size.saturating_add(size / 8 + 1024) >= self.limits.size;
        self.put(&local_header(&header, zip64)?)?;
        let mut input = Checked {
            inner: data,
            crc: crc32fast::Hasher::new(),
            len: 0,
        };
        let start = self.pos;
        match method {
            Method::Stored => {
                io::copy(&mut input, &mut Counted(self))?;
            }
            Method::Deflated => {
                let mut deflate =
                    flate2::write::DeflateEncoder::new(Counted(self), flate2::Compression::new(1));
                io::copy(&mut input, &mut deflate)?;
                deflate.finish()?;
            }
        }
        if input.len != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{name}: {} bytes read, {size} expected", input.len),
            ));
        }
        header.crc = input.crc.finalize();
        header.compressed = self.pos - start;
        if !zip64 && header.compressed >= self.limits.size {
            return Err(io::Error::other(format!(
                "{name}: too large once compressed"
            )));
        }
        // The header again, now with the CRC and sizes: the same length, written over the first.
        let end = self.pos;
        self.out.seek(SeekFrom::Start(header.offset))?;
        self.out.write_all(&local_header(&header, zip64)?)?;
        self.out.seek(SeekFrom::Start(end))?;
        self.central_record(&header)
    }

    /// Appends the central directory and its end records; returns the output, flushed.
    pub(super) fn finish(mut self) -> io::Result<W> {
        let start = self.pos;
        let mut central = self.central.into_inner().map_err(|e| e.into_error())?;
        central.seek(SeekFrom::Start(0))?;
        let copied = io::copy(&mut central, &mut self.out)?;
        if copied != self.central_len {
            return Err(io::Error::other(
                "the central directory was not read back whole",
            ));
        }
        self.pos += copied;
        let (entries, len, limits) = (self.entries, self.central_len, self.limits);
        let zip64 = entries >= limits.entries || len >= limits.size || start >= limits.size;
        let mut end = Vec::with_capacity(56 + 20 + 22);
        if zip64 {
            let record = self.pos;
            put32(&mut end, END64);
            put64(&mut end, 44);
            put16(&mut end, MADE_BY);
            put16(&mut end, 45);
            put32(&mut end, 0);
            put32(&mut end, 0);
            put64(&mut end, entries);
            put64(&mut end, entries);
            put64(&mut end, len);
            put64(&mut end, start);
            put32(&mut end, END64_LOCATOR);
            put32(&mut end, 0);
            put64(&mut end, record);
            put32(&mut end, 1);
        }
        let count = if entries >= limits.entries {
            u16::MAX
        } else {
            entries as u16
        };
        put32(&mut end, END);
        put16(&mut end, 0);
        put16(&mut end, 0);
        put16(&mut end, count);
        put16(&mut end, count);
        put32(&mut end, field32(len, limits));
        put32(&mut end, field32(start, limits));
        put16(&mut end, 0);
        self.out.write_all(&end)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn put(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)?;
        self.pos += data.len() as u64;
        Ok(())
    }

    fn central_record(&mut self, h: &Header<'_>) -> io::Result<()> {
        let limits = self.limits;
        // The central ZIP64 field holds only the values too large for their own field, in
        // this order.
        let mut extra = Vec::new();
        for value in [h.size, h.compressed, h.offset] {
            if value >= limits.size {
                put64(&mut extra, value);
            }
        }
        let mut b = Vec::with_capacity(46 + h.name.len() + 28);
        put32(&mut b, CENTRAL_HEADER);
        put16(&mut b, MADE_BY);
        put16(&mut b, h.version_needed(!extra.is_empty()));
        put16(&mut b, h.flags());
        put16(&mut b, h.method.code());
        put16(&mut b, 0);
        put16(&mut b, DOS_DATE);
        put32(&mut b, h.crc);
        put32(&mut b, field32(h.compressed, limits));
        put32(&mut b, field32(h.size, limits));
        put16(&mut b, name_len(h.name)?);
        put16(
            &mut b,
            if extra.is_empty() {
                0
            } else {
                4 + extra.len() as u16
            },
        );
        put16(&mut b, 0);
        put16(&mut b, 0);
        put16(&mut b, 0);
        put32(&mut b, UNIX_FILE);
        put32(&mut b, field32(h.offset, limits));
        b.extend_from_slice(h.name.as_bytes());
        if !extra.is_empty() {
            put16(&mut b, ZIP64_EXTRA);
            put16(&mut b, extra.len() as u16);
            b.extend_from_slice(&extra);
        }
        self.central.write_all(&b)?;
        self.central_len += b.len() as u64;
        self.entries += 1;
        Ok(())
    }
}

/// An entry's local header; with `zip64`, its sizes go in the ZIP64 field.
fn local_header(h: &Header<'_>, zip64: bool) -> io::Result<Vec<u8>> {
    let name_len = name_len(h.name)?;
    let mut b = Vec::with_capacity(30 + h.name.len() + 20);
    put32(&mut b, LOCAL_HEADER);
    put16(&mut b, h.version_needed(zip64));
    put16(&mut b, h.flags());
    put16(&mut b, h.method.code());
    put16(&mut b, 0);
    put16(&mut b, DOS_DATE);
    put32(&mut b, h.crc);
    if zip64 {
        // Both sizes go in the ZIP64 field of a local header, or neither.
        put32(&mut b, u32::MAX);
        put32(&mut b, u32::MAX);
    } else {
        put32(&mut b, h.compressed as u32);
        put32(&mut b, h.size as u32);
    }
    put16(&mut b, name_len);
    put16(&mut b, if zip64 { 20 } else { 0 });
    b.extend_from_slice(h.name.as_bytes());
    if zip64 {
        put16(&mut b, ZIP64_EXTRA);
        put16(&mut b, 16);
        put64(&mut b, h.size);
        put64(&mut b, h.compressed);
    }
    Ok(b)
}

fn name_len(name: &str) -> io::Result<u16> {
    u16::try_from(name.len()).map_err(|_| io::Error::other(format!("entry name too long: {name}")))
}

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

/// Writes through a [`ZipWriter`], keeping its position.
struct Counted<'a, W: Write + Seek>(&'a mut ZipWriter<W>);

impl<W: Write + Seek> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.0.out.write(buf)?;
        self.0.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.out.flush()
    }
}

/// Reads through, computing the CRC and length of what was read.
struct Checked<R> {
    inner: R,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// What a zip's central directory lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Census {
    /// Entry names starting with `prefix`.
    pub(super) under_prefix: u64,
    /// Whether an entry has the name asked about.
    pub(super) named: bool,
}

/// Walks the central directory of the zip at `path`, one record at a time (so in constant
/// memory whatever the number of entries), counting names under `prefix` and looking for
/// `name`. Fails when the end records or the directory do not parse, or list a different
/// number of entries than the directory holds.
pub(super) fn census(path: &Path, prefix: &str, name: &str) -> io::Result<Census> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    // Archives written here have no comment: the end record is the last 22 bytes.
    let mut end = [0u8; 22];
    let at = len
        .checked_sub(22)
        .ok_or_else(|| bad("too short for a zip"))?;
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(&mut end)?;
    if get32(&end, 0) != END {
        return Err(bad("no end-of-central-directory record at the end"));
    }
    let mut entries = u64::from(get16(&end, 10));
    let mut start = u64::from(get32(&end, 16));
    if entries == 0xFFFF || start == u64::from(u32::MAX) || get32(&end, 12) == u32::MAX {
        let mut locator = [0u8; 20];
        file.seek(SeekFrom::Start(
            at.checked_sub(20).ok_or_else(|| bad("no ZIP64 locator"))?,
        ))?;
        file.read_exact(&mut locator)?;
        if get32(&locator, 0) != END64_LOCATOR {
            return Err(bad("no ZIP64 locator before the end record"));
        }
        let mut record = [0u8; 56];
        file.seek(SeekFrom::Start(get64(&locator, 8)))?;
        file.read_exact(&mut record)?;
        if get32(&record, 0) != END64 {
            return Err(bad("no ZIP64 end record where its locator points"));
        }
        entries = get64(&record, 32);
        start = get64(&record, 48);
    }
    file.seek(SeekFrom::Start(start))?;
    let mut input = BufReader::new(file);
    let mut census = Census::default();
    let mut fixed = [0u8; 46];
    let mut entry_name = Vec::new();
    for _ in 0..entries {
        input.read_exact(&mut fixed)?;
        if get32(&fixed, 0) != CENTRAL_HEADER {
            return Err(bad("a central directory record is damaged"));
        }
        entry_name.resize(usize::from(get16(&fixed, 28)), 0);
        input.read_exact(&mut entry_name)?;
        let skip = i64::from(get16(&fixed, 30)) + i64::from(get16(&fixed, 32));
        input.seek_relative(skip)?;
        census.under_prefix += u64::from(entry_name.starts_with(prefix.as_bytes()));
        census.named |= entry_name == name.as_bytes();
    }
    let mut next = [0u8; 4];
    input.read_exact(&mut next)?;
    if get32(&next, 0) == CENTRAL_HEADER {
        return Err(bad(
            "the central directory holds more entries than its end record says",
        ));
    }
    Ok(census)
}

fn get16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("four bytes"))
}

fn get64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}
