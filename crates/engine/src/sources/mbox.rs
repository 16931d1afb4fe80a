//! mbox files: mboxo, mboxrd, mboxcl/cl2 and Thunderbird variants.
//!
//! An mbox file is messages laid end to end, each introduced by a *From line* (a line starting
//! with the five bytes `From `). Writers disagree on nearly everything else, and nothing in the
//! file says which writer made it, so the reader follows fixed rules and records in
//! [`FolderNotes`] what it assumed and what it saw.
//!
//! # Lines
//!
//! A line ends with LF; a CR just before that LF belongs to the line end (CRLF). A lone CR is
//! not a line end. The last line of the file may have no line end. Lines of any length are read.
//!
//! # Splitting
//!
//! The file must start with a From line (after an optional UTF-8 byte-order mark); otherwise it
//! is not an mbox file. Every later From line is body text unless one of these rules makes it a
//! separator:
//!
//! 1. **Content-Length (mboxcl, mboxcl2).** The current message has a `Content-Length: N`
//!    header, and N bytes counted from the first byte after the empty line that ends its header
//!    end exactly at a boundary: at the end of the file; before a final empty line; before a
//!    line end that is followed by a From line; or just before a From line that starts a line.
//!    That From line is then the separator, and every From line before it is body text (mboxcl2
//!    does not quote them). A Content-Length that ends anywhere else is ignored, and the next
//!    rule applies instead.
//! 2. **Position and shape (all other files).** Both must hold:
//!    - the From line is at the start of the file or follows an empty line; the one exception
//!      is Mozilla's own separator `From - `, which Netscape and old Thunderbird wrote with no
//!      empty line before it (and never wrote unquoted inside a body); and
//!    - the lines after it look like the start of a header: two header fields (`Name:` with a
//!      printable name; folded continuation lines allowed), or, after a dated envelope line,
//!      one field that ends the header (an empty line or the end of the file follows). This is
//!      the check Thunderbird makes; it tells a separator from unquoted body text such as
//!      `From time to time` or `From Russia with love`.
//!
//! The line end just before a separator belongs to the separator, not to the message; when the
//! separator follows an empty line, that empty line is what is dropped. At the end of the file,
//! a final empty line is the last message's separator and is dropped likewise; a file that ends
//! without a line end keeps its last line as it is.
//!
//! # Un-quoting
//!
//! mboxrd is assumed: a line of one or more `>` followed by `From ` loses exactly one `>`,
//! wherever it is in the message. That is exact for mboxrd and for Thunderbird (which un-quotes
//! the same way when it reads its own files), and it restores the original text of every line
//! that mboxo quoted. It is wrong only for a line that already began with `>From ` in an mboxo
//! or unquoted file, which no reader can tell apart. Thunderbird's older quoting with a leading
//! space (` From `) is kept as written, because Thunderbird itself reads those lines that way,
//! so that is what a migration carries. The notes say which variant was assumed and how many
//! lines were changed.
//!
//! # What else is read
//!
//! - `source_id` is `offset N`, the byte offset of the message's From line in the file.
//! - `internal_date` is the envelope date of the From line (asctime, or day-month order, with an
//!   optional numeric zone; UTC when there is none), in Unix seconds. The public-inbox
//!   placeholder `Thu Jan  1 00:00:00 1970` gives none.
//! - Flags come from `X-Mozilla-Status` (0x1 read, 0x2 replied, 0x4 marked, 0x1000 forwarded),
//!   `X-Mozilla-Status2` (0x00200000: deleted on the IMAP server), `X-Mozilla-Keys` and
//!   `X-Keywords` (keywords), `Status` (`R`) and `X-Status` (`A`, `F`, `T`, `D`). Only the first
//!   physical line of each of these fields is read.
//! - A message whose `X-Mozilla-Status` has the Expunged bit (0x0008) was deleted in
//!   Thunderbird but not compacted away: it is yielded with `excluded` set. The Partial bit
//!   (0x0400) adds the note "headers only (partial download)".
//!
//! The file is read once, front to back, through a buffer; only the message being read (plus
//! the few lines looked at after a From line) is held in memory. A message larger than
//! [`MAX_MESSAGE`] is skipped and reported as unreadable.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::source::{
    Entry, Folder, FolderNotes, MAX_MESSAGE, RawMessage, Role, Sink, Source, SourceDescription,
};
use crate::{Error, Result};

/// The reason given for messages Thunderbird deleted but has not yet compacted away.
pub const EXPUNGED_REASON: &str =
    "deleted in Thunderbird but not yet compacted (X-Mozilla-Status Expunged bit 0x0008)";

/// Buffer size for reading: large enough that system calls do not dominate.
const READ_BUFFER: usize = 256 << 10;
/// Lines examined after a From line before deciding it is a separator.
const LOOKAHEAD_LINES: usize = 64;
/// Bytes kept of each line while skipping an oversized message: enough to see a From line.
const SKIP_KEEP: usize = 4096;
/// The first allocation for a message: most mail fits, and growth doubles from there.
const INITIAL_CAPACITY: usize = 16 << 10;
/// Extra room past the message limit so the start of a long line can still be inspected.
const LINE_SLACK: usize = 4096;
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// File extensions that name an mbox file and are not part of the folder's name.
const MBOX_EXTENSIONS: [&str; 6] = ["mbox", "mboxrd", "mboxo", "mboxcl", "mboxcl2", "mbx"];

/// True when the bytes start like an mbox file (a From_ line, possibly after a UTF-8 BOM).
pub fn looks_like_mbox(head: &[u8]) -> bool {
    head.strip_prefix(BOM).unwrap_or(head).starts_with(b"From ")
}

/// True when the file name has an extension that marks an mbox file (`.mbox`, `.mboxrd`, ...).
pub fn has_mbox_extension(file_name: &str) -> bool {
    file_name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && MBOX_EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e))
    })
}

/// The folder name an mbox file stands for: its file name without an mbox extension.
pub fn folder_name(file_name: &str) -> String {
    match file_name.rsplit_once('.') {
        Some((stem, _)) if has_mbox_extension(file_name) => stem.to_string(),
        _ => file_name.to_string(),
    }
}

/// One mbox file, read as a single folder named after the file.
pub struct MboxSource {
    path: PathBuf,
    len: u64,
}

impl MboxSource {
    /// Checks that the path is a file that starts like an mbox (an empty file is an empty mbox).
    pub fn open(path: &Path) -> Result<Self> {
        let meta = fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
        if meta.is_dir() {
            return Err(Error::NotAMailbox {
                path: path.to_path_buf(),
                what: "a directory, not an mbox file (a folder of mbox files opens as mbox-tree:)"
                    .into(),
            });
        }
        let head = super::sniff(path)?;
        if !head.is_empty() && !looks_like_mbox(&head) {
            return Err(Error::NotAMailbox {
                path: path.to_path_buf(),
                what: not_mbox(&head),
            });
        }
        Ok(MboxSource {
            path: path.to_path_buf(),
            len: meta.len(),
        })
    }
}

impl Source for MboxSource {
    fn describe(&self) -> SourceDescription {
        SourceDescription {
            kind: "mbox".into(),
            location: absolute(&self.path),
        }
    }

    fn folders(&mut self) -> Result<Vec<Folder>> {
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "mbox".into());
        let name = folder_name(&file_name);
        Ok(vec![Folder {
            role: Role::from_name(&name),
            path: vec![name],
            claimed: None,
            bytes_hint: Some(self.len),
            locator: self.path.to_string_lossy().into_owned(),
        }])
    }

    fn read_folder(&mut self, _folder: &Folder, sink: Sink<'_>) -> Result<FolderNotes> {
        read_file(&self.path, sink)
    }
}

/// Reads one mbox file and streams its messages to `sink`, following the rules in the module
/// documentation. Shared by [`MboxSource`] and the mbox tree.
///
/// A file that cannot be opened or does not start with a From line is an `Err`; a read error
/// later on is yielded as [`Entry::Unreadable`] for the message being read, and ends the file.
pub fn read_file(path: &Path, sink: Sink<'_>) -> Result<FolderNotes> {
    let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("cannot read", path, e))?
        .len();
    let mut probe = FileProbe {
        path,
        file: None,
        len,
    };
    let input = BufReader::with_capacity(READ_BUFFER, file);
    split(input, Some(&mut probe), MAX_MESSAGE, sink).map_err(|e| match e {
        SplitError::NotMbox(what) => Error::NotAMailbox {
            path: path.to_path_buf(),
            what,
        },
        SplitError::Io(e) => Error::io("cannot read", path, e),
    })
}

/// Says plainly what a file that is not an mbox starts with.
fn not_mbox(head: &[u8]) -> String {
    let head = head.strip_prefix(BOM).unwrap_or(head);
    let shown = String::from_utf8_lossy(&head[..head.len().min(40)]);
    format!("not an mbox file: it does not start with a \"From \" line (it starts with {shown:?})")
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------------------------
// Random access, only to check where a Content-Length points.

/// Reads a few bytes at a given position of the file being split.
trait Probe {
    fn len(&self) -> u64;
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<usize>;
}

/// A second read-only handle on the file, opened on first use, so the streaming reader's
/// position is never disturbed.
struct FileProbe<'a> {
    path: &'a Path,
    file: Option<File>,
    len: u64,
}

impl Probe for FileProbe<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(File::open(self.path)?),
        };
        file.seek(SeekFrom::Start(pos))?;
        let mut n = 0;
        while n < buf.len() {
            match file.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}

impl Probe for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(pos)
            .unwrap_or(usize::MAX)
            .min(<[u8]>::len(self));
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

/// Where a Content-Length says the message ends, when that is a message boundary: the offset
/// of the From line that follows, or the file length when nothing follows.
fn content_length_end(probe: &mut dyn Probe, body_start: u64, length: u64) -> Option<u64> {
    let end = body_start.checked_add(length)?;
    let file_len = probe.len();
    if end > file_len {
        return None;
    }
    if end == file_len {
        return Some(file_len);
    }
    // One byte before `end` (the body is never empty of its header's empty line) and seven at it.
    let mut window = [0u8; 8];
    let n = probe.read_at(end - 1, &mut window).ok()?;
    let (before, at) = (window[0], &window[1..n.max(1)]);
    let remaining = file_len - end;
    if (at == b"\n" && remaining == 1) || (at == b"\r\n" && remaining == 2) {
        return Some(file_len);
    }
    if at.starts_with(b"From ") && before == b'\n' {
        Some(end)
    } else if at.starts_with(b"\nFrom ") {
        Some(end + 1)
    } else if at.starts_with(b"\r\nFrom ") {
        Some(end + 2)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Lines.

#[derive(Debug, Clone, Copy)]
struct LineInfo {
    /// File offset of the line's first byte.
    offset: u64,
    /// Length of the whole line, line end included.
    total: u64,
    /// How many of its bytes were kept (fewer than `total` only past a length cap).
    kept: usize,
}

struct AheadLine {
    info: LineInfo,
    bytes: Vec<u8>,
}

/// Reads lines from a buffered reader, tracking file offsets; lines looked at ahead of time
/// are kept and handed out again in order.
struct Lines<R> {
    input: R,
    pos: u64,
    ahead: VecDeque<AheadLine>,
}

impl<R: BufRead> Lines<R> {
    fn new(input: R, pos: u64) -> Self {
        Lines {
            input,
            pos,
            ahead: VecDeque::new(),
        }
    }

    /// Appends the next line to `dst`, keeping at most `cap` bytes of it; `None` at the end.
    fn next(&mut self, dst: &mut Vec<u8>, cap: usize) -> io::Result<Option<LineInfo>> {
        match self.ahead.pop_front() {
            Some(line) => {
                let kept = line.bytes.len().min(cap);
                crate::recycle::extend(dst, &line.bytes[..kept]);
                Ok(Some(LineInfo { kept, ..line.info }))
            }
            None => self.read(dst, cap),
        }
    }

    /// The `i`-th line after the ones already handed out, read ahead if needed.
    fn peek(&mut self, i: usize, cap: usize) -> io::Result<Option<&[u8]>> {
        while self.ahead.len() <= i {
            let mut bytes = Vec::new();
            match self.read(&mut bytes, cap)? {
                Some(info) => self.ahead.push_back(AheadLine { info, bytes }),
                None => return Ok(None),
            }
        }
        Ok(Some(&self.ahead[i].bytes))
    }

    /// Reads one line from the input. On an error, `pos` is where reading failed.
    fn read(&mut self, dst: &mut Vec<u8>, cap: usize) -> io::Result<Option<LineInfo>> {
        let offset = self.pos;
        let mut kept = 0usize;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let (used, done) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let keep = used.min(cap.saturating_sub(kept));
            crate::recycle::extend(dst, &buf[..keep]);
            kept += keep;
            self.input.consume(used);
            self.pos += used as u64;
            if done {
                break;
            }
        }
        let total = self.pos - offset;
        Ok((total > 0).then_some(LineInfo {
            offset,
            total,
            kept,
        }))
    }
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

/// A header field line: a name of printable US-ASCII other than colon, then a colon.
fn is_header_field(line: &[u8]) -> bool {
    match line
        .iter()
        .position(|&b| !(33..=126).contains(&b) || b == b':')
    {
        Some(i) => i > 0 && line[i] == b':',
        None => false,
    }
}

fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Length of the line end that closes `bytes` (2 for CRLF, 1 for LF, 0 for none).
fn line_end_len(bytes: &[u8]) -> usize {
    if bytes.ends_with(b"\r\n") {
        2
    } else if bytes.ends_with(b"\n") {
        1
    } else {
        0
    }
}

// ---------------------------------------------------------------------------------------------
// From lines and their dates.

/// What a From line says about itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Envelope {
    /// A sender and a date that parses follow `From `.
    dated: bool,
    /// The date in Unix seconds (none for the 1970 placeholder).
    date: Option<i64>,
    /// Mozilla's `From -` form.
    mozilla: bool,
}

fn parse_envelope(line: &[u8]) -> Envelope {
    let rest = strip_line_end(line.get(5..).unwrap_or_default());
    let mozilla =
        rest.first() == Some(&b'-') && rest.get(1).is_none_or(|b| b.is_ascii_whitespace());
    let tokens: Vec<&str> = rest
        .split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| std::str::from_utf8(t).unwrap_or("\u{FFFD}"))
        .collect();
    // The date normally follows the sender; a missing or two-word sender is tolerated.
    let parsed = [1usize, 0, 2]
        .into_iter()
        .filter(|&skip| skip <= tokens.len())
        .find_map(|skip| parse_date(&tokens[skip..]));
    Envelope {
        dated: parsed.is_some(),
        date: parsed.filter(|&t| t != 0),
        mozilla,
    }
}

/// Parses an envelope date: `[Www] Mmm dd hh:mm[:ss] [zone] yyyy [zone]` (asctime, as mbox
/// writers use) or `[Www,] dd Mmm yyyy hh:mm[:ss] [zone]` (the RFC 5322 order some exporters
/// write). Text after the date is ignored. A numeric zone is applied; without one, UTC.
fn parse_date(tokens: &[&str]) -> Option<i64> {
    let tok = |i: usize| tokens.get(i).copied();
    let mut i = 0;
    if tok(i).is_some_and(is_weekday) {
        i += 1;
    }
    let (year, month, day, hms, mut zone);
    if let Some(m) = tok(i).and_then(month_number) {
        month = m;
        day = tok(i + 1)?.parse::<u8>().ok()?;
        hms = parse_time(tok(i + 2)?)?;
        i += 3;
        zone = None;
        let mut zone_names = 0;
        year = loop {
            let t = tok(i)?;
            i += 1;
            if let Some(y) = parse_year(t) {
                break y;
            } else if let Some(z) = parse_zone(t) {
                zone = Some(z);
            } else if zone_names < 2 && t.len() <= 5 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
                zone_names += 1;
            } else {
                return None;
            }
        };
        if zone.is_none() {
            zone = tok(i).and_then(parse_zone);
        }
    } else {
        day = tok(i)?.parse::<u8>().ok()?;
        month = month_number(tok(i + 1)?)?;
        year = parse_year(tok(i + 2)?)?;
        hms = parse_time(tok(i + 3)?)?;
        zone = tok(i + 4).and_then(parse_zone);
    }
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let (h, m, s) = hms;
    let time = time::Time::from_hms(h, m, s.min(59)).ok()?;
    let local = time::PrimitiveDateTime::new(date, time)
        .assume_utc()
        .unix_timestamp();
    Some(local - zone.unwrap_or(0))
}

fn is_weekday(t: &str) -> bool {
    let t = t.strip_suffix(',').unwrap_or(t);
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .any(|d| t.eq_ignore_ascii_case(d))
}

fn month_number(t: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if t.len() != 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| t.eq_ignore_ascii_case(m))
        .map(|i| i as u8 + 1)
}

fn parse_time(t: &str) -> Option<(u8, u8, u8)> {
    let mut parts = t.split(':');
    let num = |p: Option<&str>| -> Option<u8> {
        let p = p?;
        (!p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let h = num(parts.next())?;
    let m = num(parts.next())?;
    let s = match parts.next() {
        Some(p) => num(Some(p))?,
        None => 0,
    };
    parts.next().is_none().then_some((h, m, s))
}

fn parse_year(t: &str) -> Option<i32> {
    (t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
}

/// A numeric zone such as `+0100` or `-0700`, as seconds east of UTC.
fn parse_zone(t: &str) -> Option<i64> {
    let (sign, digits) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some(sign * (hours * 3600 + minutes * 60))
}

// ---------------------------------------------------------------------------------------------
// Headers that carry store metadata.

#[derive(Debug, Default)]
struct StoreHeaders {
    mozilla_status: Option<u32>,
    mozilla_status2: Option<u32>,
    mozilla_keys: Option<String>,
    x_keywords: Option<String>,
    status: Option<String>,
    x_status: Option<String>,
    content_length: Option<Option<u64>>,
}

impl StoreHeaders {
    /// Notes one header line; only the first occurrence of each field counts.
    fn take(&mut self, line: &[u8]) {
        // Cheap filter: every field of interest starts with C, S or X.
        if !matches!(line.first(), Some(b'C' | b'c' | b'S' | b's' | b'X' | b'x')) {
            return;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return;
        };
        let name = &line[..colon];
        let value = || {
            String::from_utf8_lossy(strip_line_end(&line[colon + 1..]))
                .trim()
                .to_string()
        };
        let hex = |v: String| u32::from_str_radix(&v, 16).ok();
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("x-mozilla-status") {
            if self.mozilla_status.is_none() {
                self.mozilla_status = hex(value());
            }
        } else if is("x-mozilla-status2") {
            if self.mozilla_status2.is_none() {
                self.mozilla_status2 = hex(value());
            }
        } else if is("x-mozilla-keys") {
            self.mozilla_keys.get_or_insert_with(value);
        } else if is("x-keywords") {
            self.x_keywords.get_or_insert_with(value);
        } else if is("status") {
            self.status.get_or_insert_with(value);
        } else if is("x-status") {
            self.x_status.get_or_insert_with(value);
        } else if is("content-length") {
            self.content_length
                .get_or_insert_with(|| value().parse::<u64>().ok());
        }
    }

    fn flags(&self) -> Vec<String> {
        let mut flags: Vec<String> = Vec::new();
        let mut add = |f: &str| {
            if !flags.iter().any(|x| x == f) {
                flags.push(f.to_string());
            }
        };
        let status = self.mozilla_status.unwrap_or(0);
        let chars = |v: &Option<String>, c: char| v.as_deref().is_some_and(|v| v.contains(c));
        if status & 0x1 != 0 || chars(&self.status, 'R') {
            add("\\Seen");
        }
        if status & 0x2 != 0 || chars(&self.x_status, 'A') {
            add("\\Answered");
        }
        if status & 0x4 != 0 || chars(&self.x_status, 'F') {
            add("\\Flagged");
        }
        if self.mozilla_status2.unwrap_or(0) & 0x0020_0000 != 0 || chars(&self.x_status, 'D') {
            add("\\Deleted");
        }
        if chars(&self.x_status, 'T') {
            add("\\Draft");
        }
        if status & 0x1000 != 0 {
            add("$Forwarded");
        }
        for keys in [&self.mozilla_keys, &self.x_keywords].into_iter().flatten() {
            for key in keys.split(|c: char| c.is_whitespace() || c == ',') {
                if !key.is_empty() {
                    add(key);
                }
            }
        }
        flags
    }
}

// ---------------------------------------------------------------------------------------------
// The splitter.

enum SplitError {
    NotMbox(String),
    Io(io::Error),
}

/// What was seen while splitting one file, turned into [`FolderNotes`] at the end.
#[derive(Debug, Default)]
struct Stats {
    messages: u64,
    unquoted: u64,
    space_quoted: u64,
    mozilla_separators: u64,
    body_from_lines: u64,
    first_body_from: Option<u64>,
    content_length_used: u64,
    content_length_ignored: u64,
    from_in_counted_body: u64,
    crlf_lines: u64,
    lf_lines: u64,
    expunged: u64,
    partial: u64,
    imap_deleted: u64,
    oversized: u64,
    empty: u64,
    bom: bool,
    empty_file: bool,
    no_final_newline: bool,
    stopped: Option<String>,
}

impl Stats {
    fn count_envelope(&mut self, envelope: Envelope) {
        if envelope.mozilla {
            self.mozilla_separators += 1;
        }
    }

    fn notes(&self, max_message: usize) -> FolderNotes {
        let mut notes = Vec::new();
        if self.empty_file {
            notes.push("empty file: no messages".to_string());
            return FolderNotes { notes };
        }
        let mut kinds = Vec::new();
        if self.mozilla_separators > 0 {
            kinds.push("Thunderbird ('From - ' separators)".to_string());
        }
        if self.content_length_used > 0 {
            kinds.push(format!(
                "mboxcl (Content-Length marks the end of {} of {} messages)",
                self.content_length_used, self.messages
            ));
        }
        let unquoting = match self.unquoted {
            0 => "no quoted From lines, nothing un-quoted".to_string(),
            1 => "one '>' removed from 1 quoted From line".to_string(),
            n => format!("one '>' removed from {n} quoted From lines"),
        };
        if kinds.is_empty() {
            let assumed = if self.unquoted == 0 { " assumed" } else { "" };
            notes.push(format!("mbox variant: mboxrd{assumed} ({unquoting})"));
        } else {
            notes.push(format!(
                "mbox variant: {}; mboxrd un-quoting assumed ({unquoting})",
                kinds.join(", ")
            ));
        }
        fn count(notes: &mut Vec<String>, n: u64, what: &str) {
            if n > 0 {
                notes.push(format!("{what}: {n}"));
            }
        }
        if self.mozilla_separators > 0 {
            count(
                &mut notes,
                self.space_quoted,
                "lines quoted by Thunderbird with a leading space (' From '), kept as written as Thunderbird reads them",
            );
        }
        if let Some(first) = self.first_body_from {
            notes.push(format!(
                "unquoted 'From ' lines kept as message text, not taken as separators: {} (the first at byte {first})",
                self.body_from_lines
            ));
        }
        count(
            &mut notes,
            self.from_in_counted_body,
            "'From ' lines kept as body text inside bodies delimited by Content-Length",
        );
        count(
            &mut notes,
            self.content_length_ignored,
            "Content-Length headers ignored because they do not end at a message boundary",
        );
        count(
            &mut notes,
            self.expunged,
            "messages deleted in Thunderbird but not yet compacted (X-Mozilla-Status 0x0008), excluded",
        );
        count(
            &mut notes,
            self.partial,
            "messages that are headers only (partial download)",
        );
        count(
            &mut notes,
            self.imap_deleted,
            "messages marked deleted on the IMAP server (X-Mozilla-Status2 0x00200000), still counted",
        );
        count(
            &mut notes,
            self.empty,
            "empty messages (nothing between a From line and the next)",
        );
        count(
            &mut notes,
            self.oversized,
            &format!("messages larger than {max_message} bytes, not read"),
        );
        match (self.crlf_lines, self.lf_lines) {
            (0, _) => {}
            (_, 0) => notes.push("line endings: CRLF".to_string()),
            (crlf, lf) => notes.push(format!(
                "mixed line endings: {crlf} lines end in CRLF, {lf} in LF"
            )),
        }
        if self.bom {
            notes.push("a UTF-8 byte-order mark before the first From line was skipped".into());
        }
        if self.no_final_newline {
            notes.push(
                "the file does not end with a line break: the last message may be cut short".into(),
            );
        }
        if let Some(stopped) = &self.stopped {
            notes.push(stopped.clone());
        }
        FolderNotes { notes }
    }
}

/// The message being read.
struct Message {
    offset: u64,
    date: Option<i64>,
    bytes: Vec<u8>,
    /// Bytes of the message seen in the file, whether kept or not.
    size: u64,
    oversized: bool,
    in_header: bool,
    prev_blank: bool,
    headers: StoreHeaders,
    /// Where a Content-Length that lands on a boundary says the next message starts.
    counted_end: Option<u64>,
}

impl Message {
    fn new(offset: u64, envelope: Envelope) -> Self {
        Message {
            offset,
            date: envelope.date,
            bytes: Vec::with_capacity(INITIAL_CAPACITY),
            size: 0,
            oversized: false,
            in_header: true,
            prev_blank: false,
            headers: StoreHeaders::default(),
            counted_end: None,
        }
    }

    fn source_id(&self) -> String {
        format!("offset {}", self.offset)
    }
}

/// How a message ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Separator,
    Eof,
}

/// Splits an mbox stream; see the module documentation for the rules.
fn split<R: BufRead>(
    mut input: R,
    mut probe: Option<&mut dyn Probe>,
    max_message: usize,
    sink: Sink<'_>,
) -> std::result::Result<FolderNotes, SplitError> {
    let mut stats = Stats::default();
    let mut start = 0u64;
    let head = loop {
        match input.fill_buf() {
            Ok(buf) => break buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(SplitError::Io(e)),
        }
    };
    if head.starts_with(BOM) {
        input.consume(BOM.len());
        start = BOM.len() as u64;
        stats.bom = true;
    }
    let mut lines = Lines::new(input, start);
    let mut scratch = Vec::new();
    let Some(first) = lines
        .next(&mut scratch, LINE_SLACK)
        .map_err(SplitError::Io)?
    else {
        stats.empty_file = true;
        return Ok(stats.notes(max_message));
    };
    if !scratch.starts_with(b"From ") {
        return Err(SplitError::NotMbox(not_mbox(&scratch)));
    }
    let envelope = parse_envelope(&scratch);
    stats.count_envelope(envelope);
    let mut msg = Message::new(first.offset, envelope);

    loop {
        // Read the next line into the message, or into scratch while skipping an oversized one.
        let oversized = msg.oversized;
        let (dst, cap) = if oversized {
            scratch.clear();
            (&mut scratch, SKIP_KEEP)
        } else {
            let room = max_message.saturating_sub(msg.bytes.len());
            (&mut msg.bytes, room.saturating_add(LINE_SLACK))
        };
        let at = dst.len();
        let info = match lines.next(dst, cap) {
            Ok(Some(info)) => info,
            Ok(None) => {
                let _ = emit(msg, End::Eof, &mut stats, max_message, sink);
                break;
            }
            Err(e) => {
                stop_on_error(msg, lines.pos, &e, &mut stats, sink);
                break;
            }
        };
        let envelope = dst[at..]
            .starts_with(b"From ")
            .then(|| parse_envelope(&dst[at..]));

        if let Some(envelope) = envelope {
            let decision = match separator(&msg, envelope, info.offset, &mut lines, max_message) {
                Ok(d) => d,
                Err(e) => {
                    stop_on_error(msg, lines.pos, &e, &mut stats, sink);
                    break;
                }
            };
            match decision {
                Decision::Separator => {
                    if !oversized {
                        msg.bytes.truncate(at);
                    }
                    stats.count_envelope(envelope);
                    let done = std::mem::replace(&mut msg, Message::new(info.offset, envelope));
                    if emit(done, End::Separator, &mut stats, max_message, sink).is_break() {
                        return Ok(stats.notes(max_message));
                    }
                    continue;
                }
                Decision::CountedBody => stats.from_in_counted_body += 1,
                Decision::Body => {
                    stats.body_from_lines += 1;
                    stats.first_body_from.get_or_insert(info.offset);
                }
            }
        }

        msg.size += info.total;
        if !oversized && ((info.kept as u64) < info.total || msg.bytes.len() > max_message) {
            msg.oversized = true;
            msg.bytes = Vec::new();
        }
        let line: &[u8] = if oversized {
            &scratch
        } else if msg.oversized {
            &[]
        } else {
            &msg.bytes[at..]
        };
        let kind = take_line(&mut msg.headers, msg.in_header, line, &mut stats);
        if msg.in_header && kind.blank {
            msg.in_header = false;
            if let (Some(Some(length)), Some(probe)) =
                (msg.headers.content_length, probe.as_deref_mut())
            {
                let body_start = info.offset + info.total;
                msg.counted_end = content_length_end(probe, body_start, length);
                match msg.counted_end {
                    Some(_) => stats.content_length_used += 1,
                    None => stats.content_length_ignored += 1,
                }
            }
        }
        msg.prev_blank = kind.blank;
        if kind.quoted && !msg.oversized {
            msg.bytes.remove(at);
        }
    }
    Ok(stats.notes(max_message))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Separator,
    /// Inside a body whose Content-Length lands on a boundary further on.
    CountedBody,
    Body,
}

/// Decides whether a From line (at `offset`, inside `msg`) starts a new message.
fn separator<R: BufRead>(
    msg: &Message,
    envelope: Envelope,
    offset: u64,
    lines: &mut Lines<R>,
    max_message: usize,
) -> io::Result<Decision> {
    if let Some(end) = msg.counted_end {
        if offset < end {
            return Ok(Decision::CountedBody);
        }
        if offset == end {
            return Ok(Decision::Separator);
        }
    }
    if !(msg.prev_blank || envelope.mozilla) {
        return Ok(Decision::Body);
    }
    let cap = max_message.saturating_add(LINE_SLACK);
    let mut fields = 0;
    for i in 0..LOOKAHEAD_LINES {
        let Some(line) = lines.peek(i, cap)? else {
            return Ok(verdict(fields == 1 && envelope.dated));
        };
        if fields > 0 && matches!(line.first(), Some(b' ' | b'\t')) {
            continue;
        }
        if is_blank(line) {
            return Ok(verdict(fields == 1 && envelope.dated));
        }
        if !is_header_field(line) {
            return Ok(Decision::Body);
        }
        fields += 1;
        if fields == 2 {
            return Ok(Decision::Separator);
        }
    }
    // A field folded over very many lines: nothing contradicts a header.
    Ok(verdict(fields > 0))
}

fn verdict(separator: bool) -> Decision {
    if separator {
        Decision::Separator
    } else {
        Decision::Body
    }
}

/// What one message line turned out to be.
struct LineKind {
    blank: bool,
    /// An mboxrd-quoted From line: its first `>` is to be removed.
    quoted: bool,
}

fn take_line(
    headers: &mut StoreHeaders,
    in_header: bool,
    line: &[u8],
    stats: &mut Stats,
) -> LineKind {
    let blank = is_blank(line);
    if line.ends_with(b"\r\n") {
        stats.crlf_lines += 1;
    } else if line.ends_with(b"\n") {
        stats.lf_lines += 1;
    }
    if in_header && !blank {
        headers.take(line);
    }
    let mut quoted = false;
    match line.first() {
        Some(b'>') => {
            let depth = line.iter().take_while(|&&b| b == b'>').count();
            if line[depth..].starts_with(b"From ") {
                quoted = true;
                stats.unquoted += 1;
            }
        }
        Some(b' ') if line.starts_with(b" From ") => stats.space_quoted += 1,
        _ => {}
    }
    LineKind { blank, quoted }
}

/// Finishes a message and hands it to the sink.
fn emit(
    msg: Message,
    end: End,
    stats: &mut Stats,
    max_message: usize,
    sink: Sink<'_>,
) -> ControlFlow<()> {
    let source_id = msg.source_id();
    if msg.oversized {
        stats.oversized += 1;
        return sink(Entry::Unreadable {
            source_id,
            reason: format!(
                "message of {} bytes is larger than the {} byte limit; not read",
                msg.size, max_message
            ),
        });
    }
    let mut bytes = msg.bytes;
    match end {
        End::Separator => {
            let n = line_end_len(&bytes);
            bytes.truncate(bytes.len() - n);
        }
        End::Eof => {
            let n = line_end_len(&bytes);
            let before = &bytes[..bytes.len() - n];
            if n > 0 && (before.is_empty() || before.ends_with(b"\n")) {
                bytes.truncate(bytes.len() - n);
            } else if n == 0 && !bytes.is_empty() {
                stats.no_final_newline = true;
            }
        }
    }
    // Messages queue up downstream, counted by length: do not let them carry much slack.
    if bytes.capacity() - bytes.len() > bytes.len() / 4 + 4096 {
        bytes.shrink_to_fit();
    }
    let status = msg.headers.mozilla_status.unwrap_or(0);
    let excluded = (status & 0x0008 != 0).then(|| EXPUNGED_REASON.to_string());
    let mut notes = Vec::new();
    if status & 0x0400 != 0 {
        notes.push("headers only (partial download)".to_string());
        stats.partial += 1;
    }
    if bytes.is_empty() {
        notes.push("empty message: nothing between its From line and the next".to_string());
        stats.empty += 1;
    }
    if excluded.is_some() {
        stats.expunged += 1;
    }
    if msg.headers.mozilla_status2.unwrap_or(0) & 0x0020_0000 != 0 {
        stats.imap_deleted += 1;
    }
    stats.messages += 1;
    sink(Entry::Message(RawMessage {
        source_id,
        flags: msg.headers.flags(),
        bytes,
        internal_date: msg.date,
        excluded,
        trashed: false,
        notes,
        gmail: None,
    }))
}

/// A read error: the message being read is unreadable and the rest of the file is not read.
fn stop_on_error(msg: Message, pos: u64, e: &io::Error, stats: &mut Stats, sink: Sink<'_>) {
    let reason = format!(
        "read error at byte {pos}: {e}; this message and the rest of the file were not read"
    );
    stats.stopped = Some(format!("reading stopped at byte {pos}: {e}"));
    let _ = sink(Entry::Unreadable {
        source_id: msg.source_id(),
        reason,
    });
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use sha2::{Digest, Sha256};

    use super::*;

    /// Splits bytes held in memory, with Content-Length checks against the same bytes.
    fn split_all(data: &[u8]) -> (Vec<Entry>, FolderNotes) {
        split_limited(data, MAX_MESSAGE)
    }

    fn split_limited(data: &[u8], max: usize) -> (Vec<Entry>, FolderNotes) {
        let mut entries = Vec::new();
        let mut probe: &[u8] = data;
        let notes = split(data, Some(&mut probe), max, &mut |e| {
            entries.push(e);
            ControlFlow::Continue(())
        })
        .unwrap_or_else(|e| match e {
            SplitError::NotMbox(what) => panic!("not an mbox: {what}"),
            SplitError::Io(e) => panic!("i/o: {e}"),
        });
        (entries, notes)
    }

    fn messages(data: &[u8]) -> Vec<RawMessage> {
        split_all(data)
            .0
            .into_iter()
            .map(|e| match e {
                Entry::Message(m) => m,
                Entry::Unreadable { source_id, reason } => panic!("{source_id}: {reason}"),
            })
            .collect()
    }

    fn bodies(data: &[u8]) -> Vec<String> {
        messages(data)
            .into_iter()
            .map(|m| String::from_utf8(m.bytes).unwrap())
            .collect()
    }

    fn notes_of(data: &[u8]) -> String {
        split_all(data).1.notes.join("\n")
    }

    #[test]
    fn mboxrd_split_and_unquote() {
        let data = b"From a@b Sat Jan  1 00:00:00 2000\n\
Subject: one\n\
\n\
>From the start\n\
>>From quoted\n\
> From not a quote\n\
>>>Fromage\n\
\n\
From c@d Sun Jan  2 00:00:00 2000\n\
Subject: two\n\
\n\
body\n\
\n";
        assert_eq!(
            bodies(data),
            [
                "Subject: one\n\nFrom the start\n>From quoted\n> From not a quote\n>>>Fromage\n",
                "Subject: two\n\nbody\n",
            ]
        );
        let notes = notes_of(data);
        assert!(
            notes.contains("mbox variant: mboxrd (one '>' removed from 2 quoted From lines)"),
            "{notes}"
        );
    }

    #[test]
    fn no_quoted_lines_says_mboxrd_is_assumed() {
        let notes = notes_of(b"From a Sat Jan  1 00:00:00 2000\nSubject: x\n\nhi\n");
        assert!(notes.contains("mbox variant: mboxrd assumed"), "{notes}");
    }

    #[test]
    fn from_in_body_not_after_blank_line_is_body() {
        let data = b"From a Sat Jan  1 00:00:00 2000\n\
Subject: x\n\
\n\
I wrote this\n\
From me to you\n\
with love\n";
        let got = bodies(data);
        assert_eq!(got.len(), 1);
        assert!(got[0].contains("\nFrom me to you\n"));
        assert!(
            notes_of(data).contains(
                "unquoted 'From ' lines kept as message text, not taken as separators: 1"
            )
        );
    }

    #[test]
    fn prose_from_line_after_blank_line_is_body() {
        // The shape of cpython's mailbox_01.mbox: extra text after the date, and an unquoted
        // "From" paragraph at the very end.
        let data = b"From MAILER-DAEMON Sun Aug  7 11:40:37 2022 extra info\n\
From: foo\n\
Subject: unquoted\n\
\n\
Hello\n\
\n\
From time to time\n";
        let msgs = messages(data);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].bytes.ends_with(b"Hello\n\nFrom time to time\n"));
        assert_eq!(msgs[0].internal_date, Some(1_659_872_437));
        // One header line and an empty line is not enough after a bare "From" paragraph.
        let data = b"From - \nSubject: a\nTo: b\n\nMy favourite film:\n\nFrom Russia with love\nYear: 1963\n\nthe end\n";
        assert_eq!(messages(data).len(), 1);
    }

    #[test]
    fn old_thunderbird_unquoted_bodies() {
        let data = b"From \n\
From: Author <author@example.com>\n\
Subject: Sample message 1\n\
\n\
Earlier versions do not quote:\n\
From \n\
This could cause problems.\n\
\n\
From \n\
From: Author <author@example.com>\n\
Subject: Sample message 2\n\
\n\
second\n";
        let got = bodies(data);
        assert_eq!(got.len(), 2);
        assert!(got[0].ends_with("quote:\nFrom \nThis could cause problems.\n"));
        assert_eq!(
            got[1],
            "From: Author <author@example.com>\nSubject: Sample message 2\n\nsecond\n"
        );
    }

    #[test]
    fn thunderbird_separators_and_space_quoting() {
        let data = b"From - Fri Aug 24 11:55:47 2018\n\
X-Mozilla-Status: 0001\n\
Subject: one\n\
\n\
quoted with a space:\n \
From - Fri Aug 24 11:55:47 2018\n\
\n\
From - Thu Aug 23 09:10:23 2018\n\
X-Mozilla-Status: 0000\n\
Subject: two\n\
\n\
second\n";
        let msgs = messages(data);
        assert_eq!(msgs.len(), 2);
        assert!(
            msgs[0]
                .bytes
                .ends_with(b"space:\n From - Fri Aug 24 11:55:47 2018\n")
        );
        assert_eq!(msgs[0].flags, ["\\Seen"]);
        assert!(msgs[1].flags.is_empty());
        let notes = notes_of(data);
        assert!(
            notes.contains("Thunderbird ('From - ' separators)"),
            "{notes}"
        );
        assert!(
            notes.contains(
                "with a leading space (' From '), kept as written as Thunderbird reads them: 1"
            ),
            "{notes}"
        );
    }

    #[test]
    fn netscape_separators_without_blank_line() {
        // Netscape wrote "From - " right after the last line: a Mozilla From line followed by
        // header fields is a separator even there. Any other From line needs an empty line.
        let data = b"From - \n\
Subject: one\n\
\n\
--boundary--\n\
From - \n\
Message-ID: <2@x>\n\
Subject: two\n\
\n\
body\n\
\n\
From a@b Sat Jan  1 00:00:00 2000\n\
Subject: three\n\
\n\
last\n\
From a@b Sat Jan  1 00:00:00 2000\n\
Subject: not a separator\n\
To: x\n";
        assert_eq!(
            bodies(data),
            [
                "Subject: one\n\n--boundary--",
                "Message-ID: <2@x>\nSubject: two\n\nbody\n",
                "Subject: three\n\nlast\nFrom a@b Sat Jan  1 00:00:00 2000\nSubject: not a separator\nTo: x\n",
            ]
        );
        // A body line that merely starts with "From " and is followed by header-like lines
        // is not a separator without an empty line or an envelope date before it.
        let data = b"From a Sat Jan  1 00:00:00 2000\nSubject: x\n\nforwarded:\nFrom Bob\nSubject: y\nTo: z\n";
        assert_eq!(messages(data).len(), 1);
    }

    #[test]
    fn crlf_file() {
        let data = b"From a Sat Jan  1 00:00:00 2000\r\n\
Subject: one\r\n\
\r\n\
>From here\r\n\
\r\n\
From b Sat Jan  1 00:00:01 2000\r\n\
Subject: two\r\n\
\r\n\
body\r\n\
\r\n";
        assert_eq!(
            bodies(data),
            [
                "Subject: one\r\n\r\nFrom here\r\n",
                "Subject: two\r\n\r\nbody\r\n"
            ]
        );
        assert!(notes_of(data).contains("line endings: CRLF"));
    }

    #[test]
    fn missing_final_newline() {
        let data = b"From a Sat Jan  1 00:00:00 2000\nSubject: x\n\nno end";
        assert_eq!(bodies(data), ["Subject: x\n\nno end"]);
        assert!(notes_of(data).contains("does not end with a line break"));
        // A From line as the very last bytes, with no line end and nothing after it.
        let data = b"From a Sat Jan  1 00:00:00 2000\nSubject: x\n\nbody\n\nFrom b";
        assert_eq!(bodies(data), ["Subject: x\n\nbody\n\nFrom b"]);
    }

    #[test]
    fn trailing_blank_line_only_dropped_once() {
        let data = b"From a Sat Jan  1 00:00:00 2000\nSubject: x\n\nbody\n\n\n";
        assert_eq!(bodies(data), ["Subject: x\n\nbody\n\n"]);
        let data = b"From a Sat Jan  1 00:00:00 2000\nSubject: x\n\nbody\n";
        assert_eq!(bodies(data), ["Subject: x\n\nbody\n"]);
    }

    #[test]
    fn source_ids_and_dates() {
        let data = b"From mboxrd@z Thu Jan  1 00:00:00 1970\nSubject: a\n\nx\n\n\
From someone@example.com Fri Sep 26 17:19:25 +0000 2025\nSubject: b\n\ny\n\n\
From - Mon, 3 Jun 1996 12:50:27 +0200\nSubject: c\n\nz\n\n\
From x@y Tue Mar  4 03:33:20 MET DST 2003\nSubject: d\n\nw\n\n\
From x@y not a date at all\nSubject: e\nTo: f\n\nv\n";
        let msgs = messages(data);
        let ids: Vec<String> = msgs.iter().map(|m| m.source_id.clone()).collect();
        let starts: Vec<String> = std::iter::once(0)
            .chain(memchr::memmem::find_iter(data, b"\n\nFrom ").map(|i| i + 2))
            .map(|i| format!("offset {i}"))
            .collect();
        assert_eq!(ids, starts);
        let dates: Vec<Option<i64>> = msgs.iter().map(|m| m.internal_date).collect();
        assert_eq!(
            dates,
            [
                None,
                Some(1_758_907_165),
                Some(833_799_027),
                Some(1_046_748_800),
                None
            ]
        );
    }

    #[test]
    fn date_parsing() {
        let date = |s: &str| parse_envelope(format!("From {s}\n").as_bytes());
        assert_eq!(date("a@b Sat Jan  1 00:00:00 2000").date, Some(946_684_800));
        assert_eq!(date("a@b Sat Jan 1 00:00 2000").date, Some(946_684_800));
        assert_eq!(
            date("a@b Sat Jan  1 01:00:00 2000 +0100").date,
            Some(946_684_800)
        );
        assert_eq!(
            date("a@b Sat Jan  1 01:00:00 +0100 2000").date,
            Some(946_684_800)
        );
        assert_eq!(date("Sat Jan  1 00:00:00 2000").date, Some(946_684_800));
        assert_eq!(
            date("a@b 1 Jan 2000 00:00:00 -0000").date,
            Some(946_684_800)
        );
        assert_eq!(
            date("a@b Sat Jan  1 00:00:00 2000 remote from x").date,
            Some(946_684_800)
        );
        assert!(!date("a@b Sat Feb 30 00:00:00 2000").dated);
        assert!(!date("a@b Sat Jan  1 25:00:00 2000").dated);
        assert!(!date("time to time").dated);
        assert!(!date("").dated);
        assert!(date("- ").mozilla && date("-").mozilla && date("- Mon Jun  3 1:2 1996").mozilla);
        assert!(!date("-x").mozilla);
        let epoch = date("mboxrd@z Thu Jan  1 00:00:00 1970");
        assert!(epoch.dated && epoch.date.is_none());
    }

    /// A Content-Length'd message whose body holds an unquoted envelope and header lines.
    fn counted(extra_before_from: &str, length_delta: i64) -> Vec<u8> {
        let body = "intro\n\nFrom x@y Sat Jan  1 00:00:00 2000\nSubject: inner\nTo: z\n\nend\n";
        let length = body.len() as i64 + length_delta;
        format!(
            "From a Sat Jan  1 00:00:00 2000\nSubject: outer\nContent-Length: {length}\n\n{body}{extra_before_from}From b Sat Jan  1 00:00:00 2000\nSubject: next\n\nbye\n"
        )
        .into_bytes()
    }

    #[test]
    fn content_length_landing_on_separator() {
        // mboxcl2: an empty line after the counted body, then the next From line.
        let got = bodies(&counted("\n", 0));
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("To: z\n\nend\n"));
        assert_eq!(got[1], "Subject: next\n\nbye\n");
        let notes = notes_of(&counted("\n", 0));
        assert!(
            notes.contains("mboxcl (Content-Length marks the end of 1 of 2 messages)"),
            "{notes}"
        );
        assert!(
            notes.contains("inside bodies delimited by Content-Length: 1"),
            "{notes}"
        );
        // No empty line: the count ends right where the From line starts.
        let got = bodies(&counted("", 0));
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("\nend"), "{got:?}");
        // Netscape: the count leaves out the last line end, and no empty line follows.
        let got = bodies(&counted("", -1));
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("\nend"), "{got:?}");
    }

    #[test]
    fn content_length_not_landing_is_ignored() {
        for delta in [-3, 5, 100_000] {
            let data = counted("\n", delta);
            let got = bodies(&data);
            // The heuristic splits at the inner envelope (it follows an empty line and is
            // followed by header fields).
            assert_eq!(got.len(), 3, "delta {delta}: {got:?}");
            let notes = notes_of(&data);
            assert!(
                notes.contains("do not end at a message boundary: 1"),
                "{notes}"
            );
        }
        // Without random access nothing is counted either.
        let data = counted("\n", 0);
        let mut n = 0;
        split(&data[..], None, MAX_MESSAGE, &mut |_| {
            n += 1;
            ControlFlow::Continue(())
        })
        .ok()
        .unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn content_length_to_end_of_file() {
        let data = b"From a Sat Jan  1 00:00:00 2000\nContent-Length: 45\n\n\
x\n\nFrom b Sat Jan  1 00:00:00 2000\nA: 1\nB: 2\n\n";
        assert_eq!(data.len() - 53, 45);
        let got = bodies(data);
        assert_eq!(got.len(), 1, "{got:?}");
        // The final empty line is the separator, as always.
        assert!(got[0].ends_with("\nB: 2\n"), "{got:?}");
        let crlf = b"From a Sat Jan  1 00:00:00 2000\r\nContent-Length: 3\r\n\r\nx\r\n\r\n";
        assert_eq!(bodies(crlf), ["Content-Length: 3\r\n\r\nx\r\n"]);
    }

    #[test]
    fn mozilla_flags_and_keywords() {
        let data = b"From - Sat Jan  1 00:00:00 2000\n\
X-Mozilla-Status: 1007\n\
X-Mozilla-Status2: 00200000\n\
X-Mozilla-Keys: $label1 nonjunk                                       \n\
Subject: a\n\
\n\
x\n\
\n\
From a Sat Jan  1 00:00:00 2000\n\
Status: RO\n\
X-Status: AFTD\n\
X-Keywords: work, home\n\
\n\
y\n";
        let msgs = messages(data);
        assert_eq!(
            msgs[0].flags,
            [
                "\\Seen",
                "\\Answered",
                "\\Flagged",
                "\\Deleted",
                "$Forwarded",
                "$label1",
                "nonjunk"
            ]
        );
        assert_eq!(
            msgs[1].flags,
            [
                "\\Seen",
                "\\Answered",
                "\\Flagged",
                "\\Deleted",
                "\\Draft",
                "work",
                "home"
            ]
        );
        assert!(msgs.iter().all(|m| m.excluded.is_none()));
        assert!(notes_of(data).contains(
            "marked deleted on the IMAP server (X-Mozilla-Status2 0x00200000), still counted: 1"
        ));
    }

    #[test]
    fn expunged_and_partial_messages() {
        let data = b"From - Sat Jan  1 00:00:00 2000\n\
X-Mozilla-Status: 0009\n\
Subject: gone\n\
\n\
x\n\
\n\
From - Sat Jan  1 00:00:00 2000\n\
X-Mozilla-Status: 0401\n\
Subject: partial\n\
\n\
\n\
From - Sat Jan  1 00:00:00 2000\n\
x-mozilla-status: 0001\n\
Subject: kept\n\
\n\
z\n";
        let msgs = messages(data);
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[0].excluded.as_deref(), Some(EXPUNGED_REASON));
        assert_eq!(msgs[0].flags, ["\\Seen"]);
        assert!(msgs[1].excluded.is_none());
        assert_eq!(msgs[1].notes, ["headers only (partial download)"]);
        assert!(msgs[2].excluded.is_none() && msgs[2].notes.is_empty());
        let notes = notes_of(data);
        assert!(
            notes.contains("not yet compacted (X-Mozilla-Status 0x0008), excluded: 1"),
            "{notes}"
        );
        assert!(
            notes.contains("headers only (partial download): 1"),
            "{notes}"
        );
    }

    #[test]
    fn empty_input_and_empty_message() {
        let (entries, notes) = split_all(b"");
        assert!(entries.is_empty());
        assert_eq!(notes.notes, ["empty file: no messages"]);
        let data =
            b"From a Sat Jan  1 00:00:00 2000\nFrom b Sat Jan  1 00:00:00 2000\nSubject: x\n\ny\n";
        // The second From line follows no empty line: it is body text of the first message.
        let msgs = messages(data);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].bytes.starts_with(b"From b "));
        let data = b"From a Sat Jan  1 00:00:00 2000\n\nFrom b Sat Jan  1 00:00:00 2000\nSubject: x\nTo: y\n\ny\n";
        let msgs = messages(data);
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].bytes.is_empty());
        assert_eq!(msgs[0].notes.len(), 1);
    }

    #[test]
    fn not_starting_with_from_is_refused() {
        let err = split(
            &b"Subject: hi\n\nFrom x\n"[..],
            None,
            MAX_MESSAGE,
            &mut |_| ControlFlow::Continue(()),
        );
        match err {
            Err(SplitError::NotMbox(what)) => {
                assert!(
                    what.contains("does not start with a \"From \" line"),
                    "{what}"
                );
                assert!(what.contains("Subject: hi"), "{what}");
            }
            _ => panic!("expected NotMbox"),
        }
        assert!(!looks_like_mbox(b"Subject: x"));
        assert!(!looks_like_mbox(b">From x"));
        assert!(looks_like_mbox(b"From x"));
        assert!(looks_like_mbox(b"\xEF\xBB\xBFFrom x"));
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let data = b"\xEF\xBB\xBFFrom -\nSubject: a\n\nx\n";
        let msgs = messages(data);
        assert_eq!(msgs[0].source_id, "offset 3");
        assert_eq!(msgs[0].bytes, b"Subject: a\n\nx\n");
        assert!(notes_of(data).contains("byte-order mark"));
    }

    #[test]
    fn very_long_lines() {
        let long = "y".repeat(5 << 20);
        let data = format!(
            "From a Sat Jan  1 00:00:00 2000\nSubject: x\n\n{long}\n\nFrom b Sat Jan  1 00:00:00 2000\nSubject: z\n\n{long}"
        );
        let msgs = messages(data.as_bytes());
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].bytes.len(), "Subject: x\n\n".len() + long.len() + 1);
        assert_eq!(msgs[1].bytes.len(), "Subject: z\n\n".len() + long.len());
    }

    #[test]
    fn oversized_message_is_unreadable_and_reading_goes_on() {
        let big = "z".repeat(300);
        let data = format!(
            "From a Sat Jan  1 00:00:00 2000\nSubject: x\n\n{big}\n{big}\n\nFrom b Sat Jan  1 00:00:00 2000\nSubject: y\n\nsmall\n"
        );
        let (entries, notes) = split_limited(data.as_bytes(), 200);
        assert_eq!(entries.len(), 2);
        match &entries[0] {
            Entry::Unreadable { source_id, reason } => {
                assert_eq!(source_id, "offset 0");
                assert!(
                    reason.contains("larger than the 200 byte limit"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        match &entries[1] {
            Entry::Message(m) => assert_eq!(m.bytes, b"Subject: y\n\nsmall\n"),
            other => panic!("{other:?}"),
        }
        assert!(
            notes
                .notes
                .iter()
                .any(|n| n == "messages larger than 200 bytes, not read: 1")
        );
    }

    /// Gives `good` bytes, then fails.
    struct Failing {
        data: Vec<u8>,
        pos: usize,
        good: usize,
    }

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pos >= self.good {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf
                .len()
                .min(self.good - self.pos)
                .min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn read_error_mid_file_is_an_unreadable_entry() {
        let data = b"From a Sat Jan  1 00:00:00 2000\nSubject: a\n\nx\n\nFrom b Sat Jan  1 00:00:00 2000\nSubject: b\n\nyyyyyyyyyy\n".to_vec();
        let good = data.len() - 5;
        let data_copy = data.clone();
        let input = BufReader::with_capacity(16, Failing { data, pos: 0, good });
        let mut entries = Vec::new();
        let notes = split(input, None, MAX_MESSAGE, &mut |e| {
            entries.push(e);
            ControlFlow::Continue(())
        })
        .ok()
        .unwrap();
        assert_eq!(entries.len(), 2);
        assert!(matches!(&entries[0], Entry::Message(m) if m.bytes == b"Subject: a\n\nx\n"));
        match &entries[1] {
            Entry::Unreadable { source_id, reason } => {
                let second = memchr::memmem::find(&data_copy, b"\n\nFrom b").unwrap() + 2;
                assert_eq!(source_id, &format!("offset {second}"));
                assert!(reason.contains("read error at byte"), "{reason}");
                assert!(reason.contains("disk on fire"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            notes
                .notes
                .iter()
                .any(|n| n.starts_with("reading stopped at byte"))
        );
    }

    #[test]
    fn sink_can_stop_early() {
        let data = b"From a Sat Jan  1 00:00:00 2000\nA: 1\n\nx\n\nFrom b Sat Jan  1 00:00:00 2000\nA: 1\n\ny\n\nFrom c Sat Jan  1 00:00:00 2000\nA: 1\n\nz\n";
        let mut n = 0;
        split(&data[..], None, MAX_MESSAGE, &mut |_| {
            n += 1;
            ControlFlow::Break(())
        })
        .ok()
        .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn names_and_source() {
        assert_eq!(folder_name("Inbox.mbox"), "Inbox");
        assert_eq!(folder_name("Sent.MBOXRD"), "Sent");
        assert_eq!(folder_name("list.mbx"), "list");
        assert_eq!(folder_name("Inbox"), "Inbox");
        assert_eq!(folder_name("notes.txt"), "notes.txt");
        assert_eq!(folder_name(".mbox"), ".mbox");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Sent.mbox");
        let data = b"From a Sat Jan  1 00:00:00 2000\nSubject: a\n\nx\n\nFrom b Sat Jan  1 00:00:00 2000\nSubject: b\n\ny\n";
        std::fs::write(&path, data).unwrap();
        let mut source = MboxSource::open(&path).unwrap();
        assert_eq!(source.describe().kind, "mbox");
        let folders = source.folders().unwrap();
        assert_eq!(folders.len(), 1);
        assert_eq!(folders[0].path, ["Sent"]);
        assert_eq!(folders[0].role, Some(Role::Sent));
        assert_eq!(folders[0].claimed, None);
        assert_eq!(folders[0].bytes_hint, Some(data.len() as u64));
        let mut got = Vec::new();
        source
            .read_folder(&folders[0], &mut |e| {
                if let Entry::Message(m) = e {
                    got.push(m.bytes);
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(
            got,
            [b"Subject: a\n\nx\n".to_vec(), b"Subject: b\n\ny\n".to_vec()]
        );
    }

    #[test]
    fn files_that_are_not_mbox() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("letter.txt");
        std::fs::write(&path, b"Dear all,\nFrom now on...\n").unwrap();
        let err = MboxSource::open(&path).err().unwrap().to_string();
        assert!(err.contains("not an mbox file"), "{err}");
        assert!(err.contains("Dear all"), "{err}");
        let err = read_file(&path, &mut |_| ControlFlow::Continue(()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("does not start with a \"From \" line"),
            "{err}"
        );
        assert!(MboxSource::open(dir.path()).is_err());

        let empty = dir.path().join("Trash");
        std::fs::File::create(&empty).unwrap();
        let mut source = MboxSource::open(&empty).unwrap();
        let folder = source.folders().unwrap().remove(0);
        assert_eq!(folder.role, Some(Role::Trash));
        let mut n = 0;
        let notes = source
            .read_folder(&folder, &mut |_| {
                n += 1;
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(notes.notes, ["empty file: no messages"]);
    }

    #[test]
    fn reading_from_a_file_uses_content_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cl");
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&counted("\n", 0)).unwrap();
        drop(f);
        let mut n = 0;
        let notes = read_file(&path, &mut |_| {
            n += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(n, 2, "{notes:?}");
    }

    // ---- the shared corpus (set MAILPROOF_CORPUS to its directory) ----

    fn corpus() -> Option<PathBuf> {
        match std::env::var_os("MAILPROOF_CORPUS") {
            Some(dir) => Some(PathBuf::from(dir)),
            None => {
                println!("skipped: set MAILPROOF_CORPUS to the corpus directory to run this test");
                None
            }
        }
    }

    fn read_corpus(path: &Path) -> (Vec<RawMessage>, FolderNotes) {
        let mut msgs = Vec::new();
        let notes = read_file(path, &mut |e| {
            match e {
                Entry::Message(m) => msgs.push(m),
                Entry::Unreadable { source_id, reason } => {
                    panic!("{}: {source_id}: {reason}", path.display())
                }
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        (msgs, notes)
    }

    #[test]
    fn corpus_open_iscsi_digests() {
        let Some(corpus) = corpus() else { return };
        let dir = corpus.join("mbox-open-iscsi");
        let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
        let expected: Vec<(usize, String)> = manifest
            .lines()
            .skip(1)
            .map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                (cols[2].parse().unwrap(), cols[3].to_string())
            })
            .collect();
        assert_eq!(expected.len(), 1233);
        let (msgs, notes) = read_corpus(&dir.join("open-iscsi.mboxrd"));
        assert_eq!(msgs.len(), expected.len(), "{notes:?}");
        for (i, (msg, (len, sha))) in msgs.iter().zip(&expected).enumerate() {
            assert_eq!(
                msg.bytes.len(),
                *len,
                "message {} ({})",
                i + 1,
                msg.source_id
            );
            let got = format!("{:x}", Sha256::digest(&msg.bytes));
            assert_eq!(&got, sha, "message {} ({})", i + 1, msg.source_id);
            assert_eq!(msg.internal_date, None);
        }
        let notes = notes.notes.join("\n");
        assert!(
            notes.contains("mbox variant: mboxrd (one '>' removed from 5 quoted From lines)"),
            "{notes}"
        );
    }

    #[test]
    fn corpus_message_counts() {
        let Some(corpus) = corpus() else { return };
        let cases: [(&str, usize); 13] = [
            ("thunderbird-mailnews/mailnews-test-data/mbox_unquoted", 2),
            ("thunderbird-mailnews/mailnews-test-data/mbox_modern", 2),
            ("thunderbird-mailnews/mailnews-test-data/mbox_mboxrd", 2),
            ("thunderbird-mailnews/mailnews-test-data/bugmail-1", 1),
            ("thunderbird-mailnews/panorama-migration/migration", 3),
            ("thunderbird-mailnews/local/movemailspool", 3),
            ("cpython-email/mailbox_01.mbox", 1),
            ("mimekit/mbox/content-length.mbox.txt", 29),
            ("mimekit/mbox/simple.mbox.txt", 3),
            ("mimekit/mbox/issue1189.mbox.txt", 4),
            ("mimekit/mbox/unmunged.mbox.txt", 2),
            ("mime4j/mbox/mbox.rlug", 5),
            ("spamassassin-t-data/nice.mbox", 3),
        ];
        for (file, count) in cases {
            let (msgs, notes) = read_corpus(&corpus.join(file));
            assert_eq!(msgs.len(), count, "{file}: {notes:?}");
            for m in &msgs {
                // Every message starts with a header field, never with a stray line.
                assert!(
                    is_header_field(&m.bytes),
                    "{file} {}: {:?}",
                    m.source_id,
                    String::from_utf8_lossy(&m.bytes[..m.bytes.len().min(60)])
                );
            }
        }
        // Thunderbird's own expectations for the mboxrd sample.
        let (msgs, _) =
            read_corpus(&corpus.join("thunderbird-mailnews/mailnews-test-data/mbox_mboxrd"));
        assert!(
            msgs[0]
                .bytes
                .ends_with(b"This is the body.\nFrom (should be escaped).\nThere are 3 lines.\n")
        );
        // mime4j keeps each message of mbox.rlug in its own file, with the separator's line
        // end still attached.
        let (msgs, _) = read_corpus(&corpus.join("mime4j/mbox/mbox.rlug"));
        for (i, m) in msgs.iter().enumerate() {
            let part = std::fs::read(corpus.join(format!("mime4j/mbox/mbox.rlug-{i}"))).unwrap();
            assert!([&m.bytes[..], b"\n"].concat() == part, "rlug-{i}");
        }
    }

    #[test]
    fn corpus_content_length_file() {
        let Some(corpus) = corpus() else { return };
        let (msgs, notes) = read_corpus(&corpus.join("mimekit/mbox/content-length.mbox.txt"));
        assert_eq!(msgs.len(), 29);
        let notes = notes.notes.join("\n");
        assert!(
            notes.contains("Content-Length marks the end of 25 of 29 messages"),
            "{notes}"
        );
        assert!(
            notes.contains("do not end at a message boundary: 4"),
            "{notes}"
        );
        // Netscape wrote no date on some separators, and status 0011 is read + 0x10.
        assert_eq!(msgs[0].internal_date, None);
        assert_eq!(msgs[0].flags, ["\\Seen"]);
        assert_eq!(msgs[3].internal_date, Some(833_806_227));
    }
}
