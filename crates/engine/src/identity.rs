//! Message identity: digest, canonical digest, fingerprint and tolerant key (docs/identity.md).
//!
//! Migrations rewrite messages, so one hash cannot both prove an export intact and recognise a
//! message after a move. Each value here survives a different amount of rewriting; the rules are
//! specified in docs/identity.md, and any change to them must raise [`IDENTITY_VERSION`].

mod cut_bodies;
mod lanes;
mod quoted_printable;
mod sha256x2;

use std::borrow::Cow;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::LazyLock;

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{
    Encoding, GetHeader, HeaderName, HeaderValue, Message, MessageParser, MessagePart, PartType,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use cut_bodies::Kind;
use lanes::{Job, Piece};
use sha256x2::Stream;

/// Version of the canonical form, fingerprint and tolerant key; stored in every receipt.
pub const IDENTITY_VERSION: u32 = 1;

/// Line-ending style of the raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Eol {
    #[default]
    None,
    Lf,
    Crlf,
    Mixed,
}

/// Everything the receipt records to recognise one message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// SHA-256 of the raw bytes, lower-case hex.
    pub digest: String,
    /// SHA-256 of the canonical form, lower-case hex.
    pub canonical: String,
    /// SHA-256 over the versioned identity tuple, lower-case hex.
    pub fingerprint: String,
    /// SHA-256 over the tolerant tuple (date to the minute, sender, subject, letters and digits
    /// of the body), for messages rebuilt by a migration.
    pub tolerant: String,
    /// Normalised Message-ID: no brackets or blanks, domain lower-cased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Date header as UTC seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
    /// From address, lower-cased, without display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Subject: decoded, NFC, blanks collapsed and trimmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Line endings of the raw bytes, because a change of them alone explains a digest mismatch.
    pub eol: Eol,
    /// Lower-case names of the headers the canonical form removed, sorted, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stripped: Vec<String>,
    /// Why the message could not be parsed, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unparsed: Option<String>,
}

/// Computes the identity of one message. Never panics on any input.
pub fn identify(bytes: &[u8]) -> Identity {
    let (scan, mut own) = Own::of(bytes);

    let rest = bytes.get(scan.from_line..).unwrap_or_default();
    let body_section = scan
        .body_start
        .and_then(|start| bytes.get(start..))
        .unwrap_or_default();
    let (facts, unparsed) =
        if scan.body_start.is_none() && !rest.is_empty() && !rest.ends_with(b"\n") {
            // The parser drops a header field that is not ended by a line break; a header-only
            // message must not change identity for lack of a final LF (the canonical form ignores
            // it too). Such messages are small, so the copy is cheap.
            let mut terminated = Vec::with_capacity(rest.len() + 1);
            terminated.extend_from_slice(rest);
            terminated.push(b'\n');
            message_facts(&terminated, b"", &mut own)
        } else {
            message_facts(rest, body_section, &mut own)
        };
    let (digest, canonical, mut eol) = own.finish();
    eol.merge(&scan.eol);

    Identity {
        digest: hex(&digest),
        canonical: hex(&canonical),
        fingerprint: hex(&fingerprint(&facts)),
        tolerant: hex(&tolerant(&facts)),
        message_id: facts.message_id,
        date: facts.date,
        from: facts.from,
        subject: facts.subject,
        eol: eol.style(),
        stripped: scan.stripped,
        unparsed,
    }
}

/// The message's own streams, its raw bytes and its canonical form, until they are hashed
/// beside the first streams of its facts; then their digests and the line endings of its body.
struct Own<'a> {
    jobs: Option<[Job<'a>; 2]>,
    digests: Option<([u8; 32], [u8; 32], EolCount)>,
}

impl<'a> Own<'a> {
    /// The streams of `bytes`, and what the header section says: its canonical form is
    /// gathered (and, when long, hashed beside the raw bytes); the rest of both is hashed later,
    /// beside the streams of the facts.
    fn of(bytes: &'a [u8]) -> (Scan, Own<'a>) {
        let mut head = HashSink::with(WithRaw {
            canonical: Stream::new(),
            raw: Stream::new(),
            rest: bytes,
        });
        let scan = canonical_head(bytes, &mut head);
        let (with_raw, held) = head.into_parts();
        let mut canonical = vec![Piece::Held(held, 0)];
        if let Some(start) = scan.body_start {
            canonical.push(Piece::Canonical(CanonicalBody::new(bytes, start)));
        }
        let own = Own {
            jobs: Some([
                Job::resume(with_raw.raw, vec![Piece::Bytes(with_raw.rest)]),
                Job::resume(with_raw.canonical, canonical),
            ]),
            digests: None,
        };
        (scan, own)
    }

    /// For a nested message, whose own bytes are not hashed.
    fn none() -> Own<'static> {
        Own {
            jobs: None,
            digests: None,
        }
    }

    /// Moves the streams into `jobs`, if not hashed yet: they are hashed beside those.
    fn lend<'j>(&mut self, jobs: &mut Vec<Job<'j>>) -> bool
    where
        'a: 'j,
    {
        let lent = self.jobs.take();
        let some = lent.is_some();
        jobs.extend(lent.into_iter().flatten());
        some
    }

    /// Takes the digests of the streams lent to `jobs` (first in it), once hashed.
    fn take_back(&mut self, jobs: &[Job<'_>]) {
        let digest = |job: &Job<'_>| job.digest().map_or([0; 32], |(digest, _)| digest);
        let eol = jobs[1]
            .pieces()
            .iter()
            .find_map(|piece| match piece {
                Piece::Canonical(body) => Some(body.eol),
                _ => None,
            })
            .unwrap_or_default();
        self.digests = Some((digest(&jobs[0]), digest(&jobs[1]), eol));
    }

    /// The raw digest, the canonical digest and the line endings of the body section.
    fn finish(mut self) -> ([u8; 32], [u8; 32], EolCount) {
        let mut jobs = Vec::new();
        if self.lend(&mut jobs) {
            lanes::hash_all(&mut jobs);
            self.take_back(&jobs);
        }
        // Lent and not taken back only if hashing panicked (caught while parsing): better the
        // message reported as failed than given digests of nothing.
        self.digests
            .expect("the streams lent were hashed and taken back")
    }
}

// ---------------------------------------------------------------------------------------------
// Hashing plumbing

/// Receives the canonical form piece by piece, so it never has to exist as one copy.
trait Sink {
    fn put(&mut self, data: &[u8]);
}

/// Size of [`HashSink`]'s buffer: small pieces (a line, a CRLF) are gathered so SHA-256 sees
/// few, large updates; pieces at least half this size go straight to the hasher.
const SINK_BUF: usize = 16 * 1024;

/// What a [`HashSink`] feeds: a SHA-256 hasher, or [`WithRaw`].
trait Absorb {
    type Digest;
    fn absorb(&mut self, data: &[u8]);
    fn result(self) -> Self::Digest;
}

impl Absorb for Sha256 {
    type Digest = [u8; 32];

    fn absorb(&mut self, data: &[u8]) {
        self.update(data);
    }

    fn result(self) -> [u8; 32] {
        self.finalize().into()
    }
}

/// The canonical form's SHA-256 computed side by side with the raw digest: each piece of the
/// canonical form goes with as many of the raw bytes not hashed yet (they are nearly as long).
struct WithRaw<'a> {
    canonical: Stream,
    raw: Stream,
    /// The raw bytes not hashed yet.
    rest: &'a [u8],
}

impl Absorb for WithRaw<'_> {
    /// The canonical digest.
    type Digest = [u8; 32];

    fn absorb(&mut self, data: &[u8]) {
        let (raw, rest) = self.rest.split_at(data.len().min(self.rest.len()));
        sha256x2::update_pair(&mut self.canonical, data, &mut self.raw, raw);
        self.rest = rest;
    }

    fn result(self) -> [u8; 32] {
        self.canonical.finish()
    }
}

/// A hasher fed through a buffer, because per-call overhead dominates for short lines.
struct HashSink<H = Sha256> {
    hasher: H,
    buf: Vec<u8>,
}

impl HashSink {
    fn new() -> HashSink {
        HashSink::with(Sha256::new())
    }
}

impl<H: Absorb> HashSink<H> {
    fn with(hasher: H) -> HashSink<H> {
        HashSink {
            hasher,
            buf: Vec::new(),
        }
    }

    fn finish(mut self) -> H::Digest {
        self.hasher.absorb(&self.buf);
        self.hasher.result()
    }

    /// The hasher and what it was not given yet.
    fn into_parts(self) -> (H, Vec<u8>) {
        (self.hasher, self.buf)
    }
}

impl<H: Absorb> Sink for HashSink<H> {
    fn put(&mut self, data: &[u8]) {
        if self.buf.len() + data.len() <= SINK_BUF {
            if self.buf.capacity() == 0 {
                self.buf.reserve(SINK_BUF);
            }
            self.buf.extend_from_slice(data);
            return;
        }
        if !self.buf.is_empty() {
            self.hasher.absorb(&self.buf);
            self.buf.clear();
        }
        if data.len() >= SINK_BUF / 2 {
            self.hasher.absorb(data);
        } else {
            self.buf.extend_from_slice(data);
        }
    }
}

#[cfg(test)]
impl Sink for Vec<u8> {
    fn put(&mut self, data: &[u8]) {
        self.extend_from_slice(data);
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Bytes examined at once by the vectorised scans below ([`ascii_letters`], [`ascii_prefix`]).
const CHUNK: usize = 32;

/// Position of the first LF.
fn find_lf(s: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', s)
}

/// Position of the first CR or LF.
fn find_line_break(s: &[u8]) -> Option<usize> {
    memchr::memchr2(b'\n', b'\r', s)
}

// ---------------------------------------------------------------------------------------------
// Canonical form

/// What the canonical pass over the header section learns besides the hash.
struct Scan {
    /// Line endings of the `From ` line and the header section.
    eol: EolCount,
    stripped: Vec<String>,
    /// Length of the leading mbox `From ` line, terminator included (0 when there is none).
    from_line: usize,
    /// Offset of the body section, when there is an empty line.
    body_start: Option<usize>,
}

#[derive(Default, Clone, Copy)]
struct EolCount {
    lf: usize,
    crlf: usize,
}

impl EolCount {
    fn add(&mut self, crlf: bool) {
        self.lf += 1;
        self.crlf += usize::from(crlf);
    }

    fn merge(&mut self, other: &EolCount) {
        self.lf += other.lf;
        self.crlf += other.crlf;
    }

    fn style(&self) -> Eol {
        match (self.lf, self.crlf) {
            (0, _) => Eol::None,
            (lf, crlf) if lf == crlf => Eol::Crlf,
            (_, 0) => Eol::Lf,
            _ => Eol::Mixed,
        }
    }
}

/// One physical line: `content` excludes the LF and a CR right before it.
struct Line {
    content_end: usize,
    next: usize,
    lf: bool,
    crlf: bool,
}

fn line_at(bytes: &[u8], start: usize) -> Line {
    match bytes.get(start..).and_then(find_lf) {
        Some(off) => {
            let lf = start + off;
            let crlf = lf > start && bytes[lf - 1] == b'\r';
            Line {
                content_end: if crlf { lf - 1 } else { lf },
                next: lf + 1,
                lf: true,
                crlf,
            }
        }
        None => Line {
            content_end: bytes.len(),
            next: bytes.len(),
            lf: false,
            crlf: false,
        },
    }
}

/// Header fields that stores and transports add or rewrite, by exact lower-case name.
const STORE_FIELDS: &[&str] = &[
    "status",
    "x-status",
    "x-keywords",
    "x-uid",
    "content-length",
    "x-gm-thrid",
    "x-gmail-labels",
    "received",
    "return-path",
    "delivered-to",
    "x-tuid",
    "x-offlineimap",
    "authentication-results",
];

/// Header fields that stores and transports add or rewrite, by lower-case name prefix.
const STORE_PREFIXES: &[&str] = &["x-mozilla-", "x-ms-exchange-", "arc-"];

fn is_store_field(name: &[u8]) -> bool {
    // Most fields are kept: rule them out by their first letter before comparing names.
    if !matches!(
        name.first().map(u8::to_ascii_lowercase),
        Some(b'a' | b'c' | b'd' | b'r' | b's' | b'x')
    ) {
        return false;
    }
    STORE_FIELDS
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f.as_bytes()))
        || STORE_PREFIXES.iter().any(|p| {
            name.get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p.as_bytes()))
        })
}

/// The lower-case name of a field the canonical form removes, or `None` to keep it.
fn removable_name(first_line: &[u8]) -> Option<String> {
    let colon = first_line.iter().position(|&b| b == b':')?;
    let mut name = &first_line[..colon];
    while let [rest @ .., b' ' | b'\t'] = name {
        name = rest;
    }
    if name.is_empty() || !is_store_field(name) {
        return None;
    }
    Some(String::from_utf8_lossy(name).to_ascii_lowercase())
}

/// Streams the canonical form of the header section of `bytes` into `sink` (docs/identity.md,
/// "Canonical form"); [`CanonicalBody`] gives that of the body section.
fn canonical_head(bytes: &[u8], sink: &mut impl Sink) -> Scan {
    let mut eol = EolCount::default();
    let mut stripped = Vec::new();
    let mut pos = 0;

    if bytes.starts_with(b"From ") {
        let line = line_at(bytes, 0);
        if line.lf {
            eol.add(line.crlf);
        }
        pos = line.next;
        stripped.push("from_".to_owned());
    }
    let from_line = pos;

    // Header section: unfold, drop store fields, end every field with CRLF.
    let mut field_open = false;
    let mut field_kept = false;
    let mut body_start = None;
    while pos < bytes.len() {
        let line = line_at(bytes, pos);
        if line.lf {
            eol.add(line.crlf);
        }
        let content = &bytes[pos..line.content_end];
        pos = line.next;
        let Some(&first) = content.first() else {
            // An empty line (terminated, as pos < len): the header section ends here.
            body_start = Some(pos);
            break;
        };
        if field_open && (first == b' ' || first == b'\t') {
            if field_kept {
                sink.put(content);
            }
            continue;
        }
        if field_open && field_kept {
            sink.put(b"\r\n");
        }
        field_open = true;
        match removable_name(content) {
            Some(name) => {
                field_kept = false;
                stripped.push(name);
            }
            None => {
                field_kept = true;
                sink.put(content);
            }
        }
    }
    if field_open && field_kept {
        sink.put(b"\r\n");
    }
    sink.put(b"\r\n");

    stripped.sort();
    stripped.dedup();
    Scan {
        eol,
        stripped,
        from_line,
        body_start,
    }
}

/// The body section (from its start to the end) with CRLF line endings and one trailing empty
/// line dropped, produced a window of the original at a time as it is hashed: a window already
/// in CRLF is given as it is, any other converted into a buffer.
struct CanonicalBody<'a> {
    bytes: &'a [u8],
    /// The next byte of the original not given yet, and the end of what is given.
    pos: usize,
    end: usize,
    /// Whether a CRLF closes the last line, which has no line ending.
    close: bool,
    /// The window given: `bytes[window]`, or `buf` when it needed converting.
    window: std::ops::Range<usize>,
    buf: Vec<u8>,
    converted: bool,
    /// How much of the window was consumed.
    at: usize,
    /// Line endings of the body section, counted as it is given.
    eol: EolCount,
}

/// Bytes of the original converted at once.
const WINDOW: usize = 16 * 1024;

impl<'a> CanonicalBody<'a> {
    /// The canonical form of the body section of `bytes`, which starts at `start`, right after
    /// an LF.
    fn new(bytes: &'a [u8], start: usize) -> CanonicalBody<'a> {
        let mut eol = EolCount::default();
        let mut end = bytes.len();
        if end > start && bytes[end - 1] == b'\n' {
            let lf = end - 1;
            let crlf = lf > start && bytes[lf - 1] == b'\r';
            let content_end = if crlf { lf - 1 } else { lf };
            if content_end == start || bytes[content_end - 1] == b'\n' {
                // The last line is empty: drop it (counting its line ending for `eol`).
                eol.add(crlf);
                end = content_end;
            }
        }
        CanonicalBody {
            bytes,
            pos: start,
            end,
            close: end > start && bytes[end - 1] != b'\n',
            window: start..start,
            buf: Vec::new(),
            converted: false,
            at: 0,
            eol,
        }
    }

    fn given(&self) -> &[u8] {
        if self.converted {
            &self.buf
        } else {
            &self.bytes[self.window.clone()]
        }
    }

    /// About how many bytes are left.
    fn left(&self) -> usize {
        self.end - self.pos + self.given().len() - self.at + 2 * usize::from(self.close)
    }

    /// The next bytes: empty at the end.
    fn peek(&mut self) -> &[u8] {
        if self.at == self.given().len() {
            self.next_window();
        }
        &self.given()[self.at..]
    }

    fn consume(&mut self, n: usize) {
        self.at += n;
    }

    fn next_window(&mut self) {
        self.at = 0;
        self.buf.clear();
        self.converted = false;
        if self.pos == self.end {
            self.window = self.pos..self.pos;
            if std::mem::take(&mut self.close) {
                self.buf.extend_from_slice(b"\r\n");
                self.converted = true;
            }
            return;
        }
        let (bytes, start) = (self.bytes, self.pos);
        let stop = self.end.min(start + WINDOW);
        self.window = start..stop;
        self.pos = stop;
        if let Some(n) = crlf_lines(bytes, start, stop) {
            self.eol.lf += n;
            self.eol.crlf += n;
            return;
        }
        let out = &mut self.buf;
        // The body section starts after an LF, so `bytes[lf - 1]` below is always in range.
        let mut segment = start;
        let mut i = start;
        while let Some(off) = find_lf(&bytes[i..stop]) {
            let lf = i + off;
            let crlf = bytes[lf - 1] == b'\r';
            self.eol.add(crlf);
            if !crlf {
                if !self.converted {
                    out.reserve(2 * WINDOW);
                    self.converted = true;
                }
                out.extend_from_slice(&bytes[segment..lf]);
                out.extend_from_slice(b"\r\n");
                segment = lf + 1;
            }
            i = lf + 1;
        }
        if self.converted {
            out.extend_from_slice(&bytes[segment..stop]);
        }
    }
}

/// How many lines end in `bytes[start..stop]` when each of them ends in CR LF, so that the
/// window is already canonical; `None` at the first bare LF. Mail from a server is CR LF
/// throughout: counting 64 bytes at a time (which the compiler turns into vector compares)
/// costs a fraction of finding each LF in turn. `bytes[start - 1]` must exist.
fn crlf_lines(bytes: &[u8], start: usize, stop: usize) -> Option<usize> {
    let mut lines = 0;
    let (blocks, _) = bytes[start..stop].as_chunks::<64>();
    let (before, _) = bytes[start - 1..stop - 1].as_chunks::<64>();
    for (block, before) in blocks.iter().zip(before) {
        let (mut lf, mut crlf) = (0u8, 0u8);
        for (&b, &p) in block.iter().zip(before) {
            let is_lf = u8::from(b == b'\n');
            lf += is_lf;
            crlf += is_lf & u8::from(p == b'\r');
        }
        if lf != crlf {
            return None;
        }
        lines += usize::from(lf);
    }
    for i in start + 64 * blocks.len()..stop {
        if bytes[i] == b'\n' {
            if bytes[i - 1] != b'\r' {
                return None;
            }
            lines += 1;
        }
    }
    Some(lines)
}

// ---------------------------------------------------------------------------------------------
// Parsed facts: what the fingerprint and tolerant key are computed from

/// Attached messages nested deeper than this are hashed as bytes instead of by their own
/// fingerprint, to bound recursion on crafted input.
const MAX_NESTING: usize = 8;

/// The parser is configured once: only the fields identity reads are decoded, all others are
/// skipped, which saves parsing Received chains and DKIM signatures of every message.
static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .header_content_type(HeaderName::ContentType)
        .header_content_type(HeaderName::ContentDisposition)
        .header_text(HeaderName::ContentTransferEncoding)
        .header_id(HeaderName::MessageId)
        .header_date(HeaderName::Date)
        .header_address(HeaderName::From)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_text(HeaderName::Subject)
        .default_header_ignore()
});

#[derive(Default)]
struct Facts {
    message_id: Option<String>,
    date: Option<i64>,
    from: Option<String>,
    to: Vec<String>,
    cc: Vec<String>,
    subject: Option<String>,
    /// SHA-256 of the normalised body text.
    body: [u8; 32],
    /// SHA-256 of the body's letters and digits, lower-cased.
    letters: [u8; 32],
    /// One entry per attachment, sorted.
    attachments: Vec<String>,
}

/// Owns a parsed message and drops nested messages one by one: the derived drop recurses once
/// per level, and a crafted message nesting message/rfc822 parts thousands deep would
/// otherwise overflow the stack, which no `catch_unwind` can stop.
struct Parsed<'x>(Message<'x>);

impl Drop for Parsed<'_> {
    fn drop(&mut self) {
        let mut pending = vec![std::mem::take(&mut self.0)];
        while let Some(mut message) = pending.pop() {
            for part in &mut message.parts {
                if let PartType::Message(inner) = &mut part.body {
                    pending.push(std::mem::take(inner));
                }
            }
        }
    }
}

/// Parses `rest` (the message without its `From ` line) and extracts the facts, hashing their
/// streams beside those of `own`; falls back to what is available when the parser finds no
/// header or fails.
fn message_facts(rest: &[u8], body_section: &[u8], own: &mut Own<'_>) -> (Facts, Option<String>) {
    if rest.is_empty() {
        return (
            fallback_facts(None, b"").hash(own).0,
            Some("the message is empty".to_owned()),
        );
    }
    if u32::try_from(rest.len()).is_err() {
        // The parser keeps offsets in 32 bits.
        return (
            fallback_facts(None, rest).hash(own).0,
            Some("the message is too large to parse (4 GiB or more)".to_owned()),
        );
    }
    if let Some(facts) = cut_facts(rest, own) {
        return (facts, None);
    }
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        // The parser also accepts text with no header field at all, as a body.
        let message = Parsed(PARSER.parse(rest)?);
        let has_fields = message
            .0
            .parts
            .first()
            .is_some_and(|p| !p.headers.is_empty());
        has_fields.then(|| facts_of(&message.0, 0, None).hash(own).0)
    }));
    match parsed {
        Ok(Some(facts)) => (facts, None),
        Ok(None) => (
            fallback_facts(None, rest).hash(own).0,
            Some("no header fields found".to_owned()),
        ),
        Err(_) => {
            let headers = catch_unwind(AssertUnwindSafe(|| {
                let message = Parsed(PARSER.parse_headers(rest)?);
                let has_fields = message
                    .0
                    .parts
                    .first()
                    .is_some_and(|p| !p.headers.is_empty());
                has_fields.then(|| header_facts(&message.0))
            }))
            .ok()
            .flatten();
            let text = if headers.is_some() {
                body_section
            } else {
                rest
            };
            (
                fallback_facts(headers, text).hash(own).0,
                Some("the MIME structure could not be parsed".to_owned()),
            )
        }
    }
}

/// Facts from a parse of `rest` with its large encoded bodies cut out (see [`cut_bodies`]),
/// or `None` when it has none or the parse of the cut text cannot be shown to be that of `rest`
/// (the caller then parses `rest` itself; `own` may have been hashed meanwhile).
fn cut_facts(rest: &[u8], own: &mut Own<'_>) -> Option<Facts> {
    let view = cut_bodies::cut(rest)?;
    let facts = catch_unwind(AssertUnwindSafe(|| {
        let message = Parsed(PARSER.parse(&view.bytes)?);
        let has_fields = message
            .0
            .parts
            .first()
            .is_some_and(|p| !p.headers.is_empty());
        if !has_fields || !cuts_match(&message.0, rest, &view.cuts) {
            return None;
        }
        let cuts = CutBodies {
            raw: rest,
            cuts: &view.cuts,
            decoded: vec![Cell::new(false); view.cuts.len()],
            unusable: Cell::new(false),
        };
        let unhashed = facts_of(&message.0, 0, Some(&cuts));
        if !cuts.all_valid() {
            return None;
        }
        let (facts, accepted) = unhashed.hash(own);
        accepted.then_some(facts)
    }))
    .ok()
    .flatten();
    crate::recycle::give_back(view.bytes);
    facts
}

/// Whether every cut is the body of a distinct part the parser read in the cut's encoding
/// without trouble (all of it for base64, all that the parser did not decode itself for
/// quoted-printable text), and no quoted-printable cut of `raw` holds a boundary the parser
/// found, so that (cuts being valid) the parse equals that of the original but for those
/// bodies. Only parts whose offsets refer to the cut text are examined: not those of messages
/// the parser decoded from an encoded part.
fn cuts_match(message: &Message<'_>, raw: &[u8], cuts: &[cut_bodies::Cut]) -> bool {
    let mut found = vec![false; cuts.len()];
    let mut boundaries = Vec::new();
    let mut pending = vec![message];
    while let Some(message) = pending.pop() {
        for part in &message.parts {
            if let PartType::Message(inner) = &part.body
                && part.encoding == Encoding::None
            {
                pending.push(inner);
            }
            if let Some(b) = part
                .headers
                .header_value(&HeaderName::ContentType)
                .and_then(|c| c.as_content_type())
                .and_then(|ct| ct.attribute("boundary"))
            {
                boundaries.push(b.as_bytes());
            }
            let Ok(i) = cuts.binary_search_by_key(&(part.offset_body as usize), |c| c.view_pos)
            else {
                continue;
            };
            let whole = !part.is_encoding_problem
                && match (cuts[i].kind, &part.body) {
                    (Kind::Base64, PartType::Binary(_) | PartType::InlineBinary(_)) => true,
                    (Kind::Base64, PartType::Text(text) | PartType::Html(text)) => text.is_empty(),
                    (Kind::QuotedPrintable, PartType::Text(_) | PartType::Html(_)) => true,
                    _ => false,
                };
            if !whole || part.encoding != encoding_of(cuts[i].kind) || found[i] {
                return false;
            }
            found[i] = true;
        }
    }
    found.iter().all(|&f| f)
        && cuts.iter().all(|c| {
            c.kind != Kind::QuotedPrintable
                || !quoted_printable::holds_boundary(raw, c.start, c.end, &boundaries)
        })
}

/// The parser's name for a cut's encoding.
fn encoding_of(kind: Kind) -> Encoding {
    match kind {
        Kind::Base64 => Encoding::Base64,
        Kind::QuotedPrintable => Encoding::QuotedPrintable,
    }
}

/// The bodies cut from the text the parser read, found again by the part they belong to.
struct CutBodies<'a> {
    raw: &'a [u8],
    cuts: &'a [cut_bodies::Cut],
    /// Which cuts [`CutBodies::decode`] has decoded.
    decoded: Vec<Cell<bool>>,
    /// Set when a cut is not valid, or a value would depend on bytes the parser did not see.
    unusable: Cell<bool>,
}

impl<'a> CutBodies<'a> {
    /// An upper bound of the decoded length of the body cut from `part`, to reserve room.
    fn decoded_len(&self, part: &MessagePart<'_>) -> usize {
        self.cuts
            .binary_search_by_key(&(part.offset_body as usize), |c| c.view_pos)
            .map_or(0, |i| match self.cuts[i].kind {
                Kind::Base64 => self.text(i).len() / 4 * 3,
                Kind::QuotedPrintable => self.text(i).len(),
            })
    }

    fn text(&self, i: usize) -> &[u8] {
        &self.raw[self.cuts[i].start..self.cuts[i].end]
    }

    /// The body cut from `part`, if any.
    fn cut_of(&self, part: &MessagePart<'_>) -> Option<usize> {
        let i = self
            .cuts
            .binary_search_by_key(&(part.offset_body as usize), |c| c.view_pos)
            .ok()
            .filter(|&i| encoding_of(self.cuts[i].kind) == part.encoding)?;
        self.decoded[i].set(true);
        Some(i)
    }

    /// Decodes the body cut from `part` onto `out`: its encoding, or `None` when no body was
    /// cut from `part`.
    fn decode(&self, part: &MessagePart<'_>, out: &mut Vec<u8>) -> Option<Kind> {
        let i = self.cut_of(part)?;
        if !self.valid(i, Some(out)) {
            self.unusable.set(true);
        }
        Some(self.cuts[i].kind)
    }

    /// Decodes cut `i` onto `out`, or only checks it without one: whether its decoder accepts
    /// it.
    fn valid(&self, i: usize, out: Option<&mut Vec<u8>>) -> bool {
        match (self.cuts[i].kind, out) {
            (Kind::Base64, Some(out)) => {
                cut_bodies::decode(self.text(i), |p| out.extend_from_slice(p)).is_some()
            }
            (Kind::Base64, None) => cut_bodies::decode(self.text(i), |_| {}).is_some(),
            (Kind::QuotedPrintable, Some(out)) => quoted_printable::decode(self.text(i), out),
            (Kind::QuotedPrintable, None) => {
                quoted_printable::decode(self.text(i), &mut Vec::with_capacity(self.text(i).len()))
            }
        }
    }

    /// A decoder of the base64 body cut from `part`, if any; whether the cut is valid is known
    /// once it has decoded everything.
    fn decoder(&self, part: &MessagePart<'_>) -> Option<cut_bodies::Decoder<'a>> {
        self.cut_of(part)
            .filter(|&i| self.cuts[i].kind == Kind::Base64)
            .map(|i| cut_bodies::Decoder::new(&self.raw[self.cuts[i].start..self.cuts[i].end]))
    }

    /// Whether the facts hold, but for cuts given to a [`CutBodies::decoder`]: every cut is
    /// valid (those of parts the facts do not use are checked here) and no value depended on
    /// bytes the parser did not see.
    fn all_valid(&self) -> bool {
        !self.unusable.get()
            && (0..self.cuts.len()).all(|i| self.decoded[i].get() || self.valid(i, None))
    }
}

/// The text of a text part: what the parser decoded, or, for a part whose body was cut, the
/// cut decoded and read in the part's charset as the parser reads it, followed by what the
/// parser decoded after the cut.
fn part_text<'a>(
    part: &MessagePart<'_>,
    text: &'a str,
    cuts: Option<&CutBodies<'_>>,
) -> Cow<'a, str> {
    let Some(cuts) = cuts else {
        return Cow::Borrowed(text);
    };
    let mut bytes = Vec::with_capacity(cuts.decoded_len(part));
    let Some(kind) = cuts.decode(part, &mut bytes) else {
        return Cow::Borrowed(text);
    };
    let name = part
        .headers
        .header_value(&HeaderName::ContentType)
        .and_then(|c| c.as_content_type())
        .and_then(|ct| ct.attribute("charset"));
    let charset = name.and_then(|c| charset_decoder(c.as_bytes()));
    if kind == Kind::QuotedPrintable && charset.is_some() && !name.is_some_and(single_byte) {
        // Read in two pieces, text in this charset might not read as it does whole.
        cuts.unusable.set(true);
    }
    let mut decoded = match charset {
        Some(decode) => decode(&bytes),
        None => String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    };
    decoded.push_str(text);
    Cow::Owned(decoded)
}

/// Whether a charset the parser has a decoder for maps each byte to a character on its own
/// (ASCII and the ISO 8859 and Windows code pages): text in it then reads the same in two
/// pieces as whole. Text with no decoder is read as UTF-8, which is the same after a line
/// break, where pieces are cut.
fn single_byte(charset: &str) -> bool {
    let name: String = charset
        .chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    ["iso8859", "windows125", "cp125", "xcp125"]
        .iter()
        .any(|p| name.starts_with(p))
        || matches!(name.as_str(), "usascii" | "ascii" | "latin1")
}

/// Facts for a message the parser could not handle: whatever header facts were recovered, and
/// `text` taken as the whole body (UTF-8, invalid bytes replaced), with no attachments.
fn fallback_facts(headers: Option<Facts>, text: &[u8]) -> Unhashed<'static> {
    let mut text_hashes = TextHashes::default();
    text_hashes.add_part(&String::from_utf8_lossy(text));
    Unhashed {
        facts: headers.unwrap_or_default(),
        text: text_hashes,
        attachments: Vec::new(),
    }
}

/// Facts whose digests of body text, letters and binary attachments are still to be computed,
/// so that their streams are hashed together, and beside the message's own.
struct Unhashed<'m> {
    facts: Facts,
    text: TextHashes,
    /// One stream per binary attachment.
    attachments: Vec<Job<'m>>,
}

impl<'m> Unhashed<'m> {
    /// Hashes the streams, beside those of `own` if not hashed yet: the facts, and whether every
    /// base64 body cut from the parser's view was valid (when not, the facts do not hold).
    fn hash<'a: 'm>(self, own: &mut Own<'a>) -> (Facts, bool) {
        let Unhashed {
            mut facts,
            text,
            attachments,
        } = self;
        let mut jobs = Vec::with_capacity(attachments.len() + 4);
        let lent = own.lend(&mut jobs);
        let first = jobs.len();
        let body = match text.streamed {
            Some(sink) => Some(sink.finish()),
            None => {
                jobs.push(Job::new(vec![Piece::Held(text.body, 0)]));
                None
            }
        };
        jobs.push(Job::new(vec![Piece::Held(text.letters, 0)]));
        let attachments_at = jobs.len();
        jobs.extend(attachments);
        lanes::hash_all(&mut jobs);
        if lent {
            own.take_back(&jobs);
        }

        let digest = |job: &Job<'_>| job.digest().map_or([0; 32], |(digest, _)| digest);
        (facts.body, facts.letters) = match body {
            Some(body) => (body, digest(&jobs[first])),
            None => (digest(&jobs[first]), digest(&jobs[first + 1])),
        };
        let mut accepted = true;
        for job in &jobs[attachments_at..] {
            let Some((digest, len)) = job.digest() else {
                accepted = false;
                continue;
            };
            facts.attachments.push(format!("{} {len}", hex(&digest)));
        }
        facts.attachments.sort_unstable();
        (facts, accepted)
    }
}

/// The facts of a parsed message, to be hashed; `cuts` are the bodies cut from the text its
/// part offsets refer to, if any.
fn facts_of<'m>(
    message: &'m Message<'_>,
    depth: usize,
    cuts: Option<&CutBodies<'m>>,
) -> Unhashed<'m> {
    let mut facts = header_facts(message);

    let mut hashes = TextHashes::default();
    for &id in &message.text_body {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Text(text) => hashes.add_part(&part_text(part, text, cuts)),
            PartType::Html(html) => hashes.add_part(&html_to_text(&part_text(part, html, cuts))),
            _ => {}
        }
    }
    let mut attachments = Vec::new();
    for &id in &message.attachments {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let entry = match &part.body {
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                // A cut body is decoded as it is hashed; what the parser decoded after it
                // follows.
                let cut = cuts.and_then(|c| c.decoder(part)).map(Piece::Base64);
                let pieces = cut.into_iter().chain([Piece::Bytes(bytes)]);
                attachments.push(Job::new(pieces.collect()));
                continue;
            }
            PartType::Text(text) | PartType::Html(text) => {
                let text = LfText::new(part_text(part, text, cuts));
                attachments.push(Job::new(vec![Piece::LfText(text)]));
                continue;
            }
            PartType::Message(inner) if depth < MAX_NESTING => {
                // An unencoded nested message was parsed from the same text as its parent.
                let inner_cuts = cuts.filter(|_| part.encoding == Encoding::None);
                let (inner_facts, accepted) =
                    facts_of(inner, depth + 1, inner_cuts).hash(&mut Own::none());
                if let Some(cuts) = cuts
                    && !accepted
                {
                    cuts.unusable.set(true);
                }
                format!("message {}", hex(&fingerprint(&inner_facts)))
            }
            PartType::Message(inner) => {
                if let Some(cuts) = cuts
                    && part.encoding == Encoding::None
                {
                    cuts.unusable.set(true);
                }
                format!("message {}", hex(&Sha256::digest(inner.raw_message())))
            }
            PartType::Multipart(_) => continue,
        };
        facts.attachments.push(entry);
    }
    Unhashed {
        facts,
        text: hashes,
        attachments,
    }
}

/// The first top-level field with this name: the one a reader sees first, and the one tools
/// leave alone when they prepend their own.
fn first_field<'a>(
    message: &'a Message<'_>,
    name: HeaderName<'static>,
) -> Option<&'a HeaderValue<'a>> {
    message
        .headers()
        .iter()
        .find(|h| h.name == name)
        .map(|h| &h.value)
}

fn header_facts(message: &Message<'_>) -> Facts {
    let message_id = match first_field(message, HeaderName::MessageId) {
        Some(HeaderValue::Text(id)) => normalise_message_id(id),
        Some(HeaderValue::TextList(ids)) => ids.first().and_then(|id| normalise_message_id(id)),
        _ => None,
    };
    let date = match first_field(message, HeaderName::Date) {
        Some(HeaderValue::DateTime(dt)) if dt.is_valid() => Some(dt.to_timestamp()),
        _ => None,
    };
    let from = match first_field(message, HeaderName::From) {
        Some(HeaderValue::Address(address)) => address
            .iter()
            .find_map(|a| a.address().and_then(normalise_address)),
        _ => None,
    };
    let addresses = |name: HeaderName<'static>| -> Vec<String> {
        let mut list: Vec<String> = message
            .headers()
            .iter()
            .filter(|h| h.name == name)
            .filter_map(|h| h.value.as_address())
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address().and_then(normalise_address))
            .collect();
        list.sort_unstable();
        list
    };
    let subject = match first_field(message, HeaderName::Subject) {
        Some(HeaderValue::Text(text)) => normalise_subject(text),
        _ => None,
    };
    Facts {
        message_id,
        date,
        from,
        to: addresses(HeaderName::To),
        cc: addresses(HeaderName::Cc),
        subject,
        ..Facts::default()
    }
}

/// Brackets and blanks removed, the part after the last `@` lower-cased. IDs that imapsync
/// invents for messages that had none (`…@imapsync`) count as absent, so the copy still
/// matches the original.
fn normalise_message_id(id: &str) -> Option<String> {
    let id: String = id
        .chars()
        .filter(|&c| c != '<' && c != '>' && !c.is_whitespace())
        .collect();
    let id = match id.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => id,
    };
    if id.is_empty() || id.ends_with("@imapsync") {
        None
    } else {
        Some(id)
    }
}

fn normalise_address(address: &str) -> Option<String> {
    let address = address.trim();
    (!address.is_empty()).then(|| address.to_lowercase())
}

/// NFC, every run of white space made one space, trimmed.
fn normalise_subject(subject: &str) -> Option<String> {
    let subject = nfc(subject);
    let mut out = String::with_capacity(subject.len());
    for word in subject.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    (!out.is_empty()).then_some(out)
}

fn nfc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

/// Calls `f` for each line of `text`; lines end at CRLF, LF or a lone CR. The piece after the
/// last line break is a line too (possibly empty), so parts joined by LF split the same way.
fn for_each_line(text: &str, mut f: impl FnMut(&str)) {
    let b = text.as_bytes();
    let mut start = 0;
    while let Some(off) = find_line_break(&b[start..]) {
        let brk = start + off;
        f(&text[start..brk]);
        start = if b[brk] == b'\r' && b.get(brk + 1) == Some(&b'\n') {
            brk + 2
        } else {
            brk + 1
        };
    }
    f(&text[start..]);
}

/// Body text as it is normalised, for the text hash of the fingerprint, and its letters and
/// digits, for the tolerant key; hashed by [`Unhashed::hash`].
#[derive(Default)]
struct TextHashes {
    body: Vec<u8>,
    /// The body text once it outgrew [`TEXT_HELD`]: hashed as it comes, alone.
    streamed: Option<HashSink>,
    letters: Vec<u8>,
    /// Empty lines seen but not yet written: written only if a non-empty line follows.
    pending_empty: usize,
}

impl TextHashes {
    fn add_part(&mut self, text: &str) {
        let text = nfc(text);
        if self.streamed.is_none() {
            self.body.reserve(text.len().min(TEXT_HELD));
        }
        for_each_line(&text, |line| self.line(line));
        // Line breaks and trimmed blanks are never letters or digits, so the letters can be
        // taken from the whole part at once.
        self.letters.reserve(text.len());
        let mut rest = text.as_ref();
        while !rest.is_empty() {
            // ASCII runs take the fast path; other characters are classified one by one.
            let ascii = ascii_prefix(rest.as_bytes());
            ascii_letters(&rest.as_bytes()[..ascii], &mut self.letters);
            rest = &rest[ascii..];
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                if c.is_alphanumeric() {
                    let mut utf8 = [0; 4];
                    for l in c.to_lowercase() {
                        self.letters
                            .extend_from_slice(l.encode_utf8(&mut utf8).as_bytes());
                    }
                }
                rest = chars.as_str();
            }
        }
    }

    fn line(&mut self, line: &str) {
        let line = line.trim_end();
        if line.is_empty() {
            self.pending_empty += 1;
            return;
        }
        for _ in 0..std::mem::take(&mut self.pending_empty) {
            self.put(b"\n");
        }
        self.put(line.as_bytes());
        self.put(b"\n");
    }

    fn put(&mut self, data: &[u8]) {
        if let Some(sink) = &mut self.streamed {
            sink.put(data);
            return;
        }
        self.body.extend_from_slice(data);
        if self.body.len() > TEXT_HELD {
            let mut sink = HashSink::new();
            sink.put(&std::mem::take(&mut self.body));
            self.streamed = Some(sink);
        }
    }
}

/// Body text held for [`Unhashed::hash`] at most; a longer text (a log, a book) is hashed as it comes,
/// so that a huge text message is not held once more.
const TEXT_HELD: usize = 1 << 20;

/// Appends the ASCII letters (lower-cased) and digits of `src` to `out`. Finds them 32 bytes at
/// a time with a vectorised mask, since this runs over every byte of every text body.
fn ascii_letters(src: &[u8], out: &mut Vec<u8>) {
    // Letters and digits both have bit 0x20 set once lower-cased.
    let keep = |b: u8| (b | 0x20).wrapping_sub(b'a') < 26 || b.wrapping_sub(b'0') < 10;
    let start = out.len();
    out.resize(start + src.len(), 0);
    let buf = &mut out[start..];
    let mut n = 0;
    let mut chunks = src.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        let mut m = chunk
            .iter()
            .enumerate()
            .fold(0u32, |m, (i, &b)| m | (u32::from(keep(b)) << i));
        while m != 0 {
            buf[n] = chunk[m.trailing_zeros() as usize] | 0x20;
            n += 1;
            m &= m - 1;
        }
    }
    for &b in chunks.remainder() {
        if keep(b) {
            buf[n] = b | 0x20;
            n += 1;
        }
    }
    out.truncate(start + n);
}

/// Length of the leading ASCII run of `s`, found 32 bytes at a time.
fn ascii_prefix(s: &[u8]) -> usize {
    let mut i = 0;
    while let Some(chunk) = s.get(i..).and_then(|r| r.first_chunk::<CHUNK>()) {
        let m = chunk
            .iter()
            .enumerate()
            .fold(0u32, |m, (i, &b)| m | (u32::from(b >= 0x80) << i));
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += CHUNK;
    }
    i + s[i..].iter().take_while(|b| b.is_ascii()).count()
}

/// A text attachment as it is hashed: its decoded text as UTF-8 with CRLF and lone CR turned
/// into LF, because stores convert the line endings of unencoded text parts; converted a window
/// at a time.
struct LfText<'a> {
    text: Cow<'a, str>,
    /// The next byte of the text not converted yet.
    pos: usize,
    /// The window converted, and how much of it was consumed.
    buf: Vec<u8>,
    at: usize,
}

impl<'a> LfText<'a> {
    fn new(text: Cow<'a, str>) -> LfText<'a> {
        LfText {
            text,
            pos: 0,
            buf: Vec::new(),
            at: 0,
        }
    }

    /// About how many bytes are left.
    fn left(&self) -> usize {
        self.text.len() - self.pos + self.buf.len() - self.at
    }

    /// The next bytes: empty at the end.
    fn peek(&mut self) -> &[u8] {
        if self.at == self.buf.len() {
            self.next_window();
        }
        &self.buf[self.at..]
    }

    fn consume(&mut self, n: usize) {
        self.at += n;
    }

    fn next_window(&mut self) {
        let b = self.text.as_bytes();
        let stop = b.len().min(self.pos + WINDOW);
        self.buf.clear();
        self.at = 0;
        let mut segment = self.pos;
        while let Some(off) = memchr::memchr(b'\r', &b[segment..stop]) {
            let cr = segment + off;
            self.buf.extend_from_slice(&b[segment..cr]);
            // A CR before an LF is dropped (the LF follows, in this window or the next).
            if b.get(cr + 1) != Some(&b'\n') {
                self.buf.push(b'\n');
            }
            segment = cr + 1;
        }
        self.buf.extend_from_slice(&b[segment..stop]);
        self.pos = stop;
    }
}

// ---------------------------------------------------------------------------------------------
// HTML to text

/// Elements whose content is not text; skipped up to their closing tag when there is one.
const HTML_SKIPPED: &[&str] = &["head", "script", "style", "template"];

/// Elements that break the line, opening or closing.
const HTML_BREAKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
];

/// Elements that separate words, opening or closing.
const HTML_SPACES: &[&str] = &["td", "th"];

/// Position of `needle` (ASCII, lower-case) in `hay` at or after `from`, ignoring ASCII case.
fn find_ascii_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let tail = hay.get(from..)?;
    tail.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

/// Reduces HTML to text by the fixed rules of docs/identity.md ("HTML to text"): a small,
/// specified reduction rather than a renderer, so that anyone can reproduce the hash.
fn html_to_text(html: &str) -> String {
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    let mut space = false;
    let mut line_has_text = false;
    // A skipped element with no closing tag after some point has none after any later point.
    let mut unclosed = [false; HTML_SKIPPED.len()];
    let mut i = 0;

    fn emit(out: &mut String, c: char, space: &mut bool, line_has_text: &mut bool) {
        if *space && *line_has_text {
            out.push(' ');
        }
        *space = false;
        *line_has_text = true;
        out.push(c);
    }

    while i < b.len() {
        match b[i] {
            b'<' if b[i..].starts_with(b"<!--") => {
                i = find_ascii_ci(b, i + 4, b"-->").map_or(b.len(), |p| p + 3);
            }
            b'<' if b
                .get(i + 1)
                .is_some_and(|&c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?')) =>
            {
                let tag_end = b[i..].iter().position(|&c| c == b'>').map(|p| i + p);
                let mut j = i + 1;
                let closing = b[j] == b'/';
                if closing {
                    j += 1;
                }
                let name_len = b[j..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .count();
                let name = &b[j..j + name_len];
                let Some(tag_end) = tag_end else {
                    i = b.len();
                    continue;
                };
                i = tag_end + 1;
                if let Some(k) = HTML_SKIPPED
                    .iter()
                    .position(|s| name.eq_ignore_ascii_case(s.as_bytes()))
                    && !closing
                    && !unclosed[k]
                {
                    let mut close = Vec::with_capacity(name.len() + 2);
                    close.extend_from_slice(b"</");
                    close.extend_from_slice(HTML_SKIPPED[k].as_bytes());
                    match find_ascii_ci(b, i, &close)
                        .and_then(|p| b[p..].iter().position(|&c| c == b'>').map(|q| p + q))
                    {
                        Some(end) => i = end + 1,
                        None => unclosed[k] = true,
                    }
                } else if HTML_BREAKS
                    .iter()
                    .any(|s| name.eq_ignore_ascii_case(s.as_bytes()))
                {
                    out.push('\n');
                    space = false;
                    line_has_text = false;
                } else if HTML_SPACES
                    .iter()
                    .any(|s| name.eq_ignore_ascii_case(s.as_bytes()))
                {
                    space = true;
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' => {
                space = true;
                i += 1;
            }
            b'&' => {
                let (c, len) = html_entity(&b[i..]).unwrap_or(('&', 1));
                emit(&mut out, c, &mut space, &mut line_has_text);
                i += len;
            }
            _ => {
                let c = html[i..].chars().next().unwrap_or('\u{fffd}');
                emit(&mut out, c, &mut space, &mut line_has_text);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// Decodes an entity at the start of `s` (which starts with `&`): the character and the
/// entity's length in bytes.
fn html_entity(s: &[u8]) -> Option<(char, usize)> {
    let semi = s.iter().take(12).position(|&c| c == b';')?;
    let body = &s[1..semi];
    let c = match body {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        b"nbsp" => '\u{a0}',
        [b'#', b'x' | b'X', digits @ ..] if !digits.is_empty() => numeric_char(digits, 16)?,
        [b'#', digits @ ..] if !digits.is_empty() => numeric_char(digits, 10)?,
        _ => return None,
    };
    Some((c, semi + 1))
}

fn numeric_char(digits: &[u8], radix: u32) -> Option<char> {
    let mut n: u32 = 0;
    for &d in digits {
        let v = char::from(d).to_digit(radix)?;
        n = n.saturating_mul(radix).saturating_add(v);
    }
    Some(match char::from_u32(n) {
        Some(c) if n != 0 => c,
        _ => '\u{fffd}',
    })
}

// ---------------------------------------------------------------------------------------------
// Tuples

/// Writes a labelled, length-prefixed tuple into SHA-256 (docs/identity.md, "Tuple encoding").
struct Tuple(Sha256);

impl Tuple {
    fn new(kind: &str) -> Tuple {
        let mut h = Sha256::new();
        h.update(format!("{kind} {IDENTITY_VERSION}\n"));
        Tuple(h)
    }

    fn field(&mut self, label: &str, value: Option<&str>) {
        match value {
            Some(v) => {
                self.0.update(format!("{label}={}:", v.len()));
                self.0.update(v);
                self.0.update(b"\n");
            }
            None => self.0.update(format!("{label}=-\n")),
        }
    }

    fn list(&mut self, label: &str, items: &[String]) {
        self.0.update(format!("{label}#{}\n", items.len()));
        for item in items {
            self.field(label, Some(item));
        }
    }

    fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

fn fingerprint(f: &Facts) -> [u8; 32] {
    let mut t = Tuple::new("mailproof-fingerprint");
    t.field("message-id", f.message_id.as_deref());
    t.field("date", f.date.map(|d| d.to_string()).as_deref());
    t.field("from", f.from.as_deref());
    t.list("to", &f.to);
    t.list("cc", &f.cc);
    t.field("subject", f.subject.as_deref());
    t.field("body", Some(&hex(&f.body)));
    t.list("attachment", &f.attachments);
    t.finish()
}

fn tolerant(f: &Facts) -> [u8; 32] {
    let mut t = Tuple::new("mailproof-tolerant");
    t.field(
        "date",
        f.date
            .map(|d| (d.div_euclid(60) * 60).to_string())
            .as_deref(),
    );
    t.field("from", f.from.as_deref());
    t.field(
        "subject",
        f.subject.as_ref().map(|s| s.to_lowercase()).as_deref(),
    );
    t.field("letters", Some(&hex(&f.letters)));
    t.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical_bytes(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(start) = canonical_head(bytes, &mut out).body_start {
            let mut body = CanonicalBody::new(bytes, start);
            loop {
                let piece = body.peek();
                if piece.is_empty() {
                    break;
                }
                out.extend_from_slice(piece);
                let n = piece.len();
                body.consume(n);
            }
        }
        out
    }

    fn to_crlf(s: &str) -> String {
        s.replace("\r\n", "\n").replace('\n', "\r\n")
    }

    fn base64(data: &[u8], width: usize) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut flat = String::new();
        for c in data.chunks(3) {
            let n = u32::from(c[0]) << 16
                | u32::from(*c.get(1).unwrap_or(&0)) << 8
                | u32::from(*c.get(2).unwrap_or(&0));
            flat.push(T[(n >> 18) as usize & 63] as char);
            flat.push(T[(n >> 12) as usize & 63] as char);
            flat.push(if c.len() > 1 {
                T[(n >> 6) as usize & 63] as char
            } else {
                '='
            });
            flat.push(if c.len() > 2 {
                T[n as usize & 63] as char
            } else {
                '='
            });
        }
        let mut out = String::new();
        for chunk in flat.as_bytes().chunks(width) {
            out.push_str(std::str::from_utf8(chunk).unwrap());
            out.push('\n');
        }
        out
    }

    fn quoted_printable(text: &str) -> String {
        quoted_printable_bytes(text.as_bytes())
    }

    /// Quoted-printable of bytes (text in a single-byte charset too).
    fn quoted_printable_bytes(bytes: &[u8]) -> String {
        let mut out = String::new();
        for line in bytes.split(|&b| b == b'\n') {
            let mut col = 0;
            for &b in line {
                let piece = if (b == b' ' || b.is_ascii_graphic()) && b != b'=' {
                    (b as char).to_string()
                } else {
                    format!("={b:02X}")
                };
                if col + piece.len() > 75 {
                    out.push_str("=\n");
                    col = 0;
                }
                col += piece.len();
                out.push_str(&piece);
            }
            out.push('\n');
        }
        out.pop();
        out
    }

    const TEXT: &str = "Hello Zoë,\n\nthe quarterly report is attached; figures are final.\n\
                        Café meeting moved to Friday 10:30.\n\n-- \nAlice\n";
    const ATTACHMENT: &[u8] = b"%PDF-1.4 fake pdf bytes \x00\x01\x02\xff with a tail of data \
                                that is long enough to need several base64 lines when encoded.";

    fn headers(extra: &str) -> String {
        format!(
            "{extra}Message-ID: <Report.42@Mail.Example.COM>\n\
             Date: Tue, 1 Jul 2003 10:52:37 +0200\n\
             From: Alice Example <Alice@Example.com>\n\
             To: bob@example.org, \"Carol\" <carol@example.net>\n\
             Cc: dave@example.com\n\
             Subject: =?UTF-8?Q?Quarterly_r=C3=A9port?=\n\
             MIME-Version: 1.0\n"
        )
    }

    /// The reference message: multipart/mixed, QP text, base64 attachment wrapped at 76.
    fn message(
        extra: &str,
        boundary: &str,
        text_qp: bool,
        width: usize,
        attachment: &[u8],
    ) -> String {
        let text_part = if text_qp {
            format!(
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n{}\n",
                quoted_printable(TEXT)
            )
        } else {
            format!(
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n{}",
                base64(TEXT.as_bytes(), width)
            )
        };
        format!(
            "{}Content-Type: multipart/mixed; boundary=\"{boundary}\"\n\n\
             This is a multi-part message in MIME format.\n\
             --{boundary}\n{text_part}--{boundary}\n\
             Content-Type: application/pdf; name=\"report.pdf\"\n\
             Content-Disposition: attachment; filename=\"report.pdf\"\n\
             Content-Transfer-Encoding: base64\n\n{}--{boundary}--\n",
            headers(extra),
            base64(attachment, width)
        )
    }

    fn reference() -> String {
        message("", "==b1==", true, 76, ATTACHMENT)
    }

    #[test]
    fn crlf_and_lf_share_canonical_and_fingerprint() {
        let lf = identify(reference().as_bytes());
        let crlf = identify(to_crlf(&reference()).as_bytes());
        assert_ne!(lf.digest, crlf.digest);
        assert_eq!(lf.canonical, crlf.canonical);
        assert_eq!(lf.fingerprint, crlf.fingerprint);
        assert_eq!(lf.tolerant, crlf.tolerant);
        assert_eq!((lf.eol, crlf.eol), (Eol::Lf, Eol::Crlf));
        assert!(lf.unparsed.is_none() && lf.stripped.is_empty());
        let mixed = reference().replacen('\n', "\r\n", 3);
        assert_eq!(identify(mixed.as_bytes()).eol, Eol::Mixed);
        assert_eq!(identify(b"Subject: x").eol, Eol::None);
    }

    #[test]
    fn fields_are_normalised() {
        let id = identify(reference().as_bytes());
        assert_eq!(id.message_id.as_deref(), Some("Report.42@mail.example.com"));
        assert_eq!(id.date, Some(1_057_049_557));
        assert_eq!(id.from.as_deref(), Some("alice@example.com"));
        assert_eq!(id.subject.as_deref(), Some("Quarterly réport"));
        assert_eq!(id.digest.len(), 64);
        assert!(
            id.fingerprint
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn store_and_trace_headers_are_stripped() {
        let plain = identify(reference().as_bytes());
        let extra = "From alice@example.com Tue Jul  1 10:52:37 2003\n\
                     Received: from mx.example.net by mail.example.com\n\tfor <bob@example.org>; \
                     Tue, 1 Jul 2003 10:52:40 +0200\n\
                     X-TUID: 7h3Yq9l2\n\
                     X-Mozilla-Status: 0001\n\
                     X-Mozilla-Status2: 00000000\n\
                     received : another hop\n";
        let mut added = reference();
        added.insert_str(0, extra);
        let id = identify(added.as_bytes());
        assert_ne!(id.digest, plain.digest);
        assert_eq!(id.canonical, plain.canonical);
        assert_eq!(id.fingerprint, plain.fingerprint);
        assert_eq!(
            id.stripped,
            [
                "from_",
                "received",
                "x-mozilla-status",
                "x-mozilla-status2",
                "x-tuid"
            ]
        );
    }

    #[test]
    fn every_listed_store_field_is_stripped() {
        let names = [
            "X-Mozilla-Keys",
            "Status",
            "X-Status",
            "X-Keywords",
            "X-UID",
            "Content-Length",
            "X-GM-THRID",
            "X-Gmail-Labels",
            "Received",
            "Return-Path",
            "Delivered-To",
            "X-MS-Exchange-Organization-AuthAs",
            "X-TUID",
            "X-OfflineIMAP",
            "ARC-Seal",
            "Authentication-Results",
        ];
        let base = "Subject: s\n\nbody\n";
        for name in names {
            let msg = format!("{name}: v\n  folded\n{base}");
            let id = identify(msg.as_bytes());
            assert_eq!(id.canonical, identify(base.as_bytes()).canonical, "{name}");
            assert_eq!(id.stripped, [name.to_ascii_lowercase()]);
        }
        // Look-alikes stay.
        for kept in ["X-Received: v", "Statuses: v", "Archive: v", "X-Mozilla: v"] {
            let msg = format!("{kept}\n{base}");
            assert_ne!(
                identify(msg.as_bytes()).canonical,
                identify(base.as_bytes()).canonical
            );
        }
    }

    #[test]
    fn canonical_form_is_exact() {
        let raw = b"From x@y Mon Jan  1 00:00:00 2024\n\
                    Subject: one\n two\r\n\
                    X-UID: 5\n\
                    \tcontinued\n\
                    To: a@example.com\n\
                    \n\
                    line 1\r\n\
                    line 2\n\
                    \n";
        assert_eq!(
            canonical_bytes(raw),
            b"Subject: one two\r\nTo: a@example.com\r\n\r\nline 1\r\nline 2\r\n"
        );
        // No empty line: all header; empty body; the separator is still written.
        assert_eq!(canonical_bytes(b"Subject: x"), b"Subject: x\r\n\r\n");
        assert_eq!(canonical_bytes(b"Subject: x\n\n"), b"Subject: x\r\n\r\n");
        assert_eq!(canonical_bytes(b"Subject: x\n\n\n"), b"Subject: x\r\n\r\n");
        assert_eq!(
            canonical_bytes(b"Subject: x\n\n\n\n"),
            b"Subject: x\r\n\r\n\r\n"
        );
        assert_eq!(canonical_bytes(b"S: x\n\nbody"), b"S: x\r\n\r\nbody\r\n");
        assert_eq!(canonical_bytes(b""), b"\r\n");
        assert_eq!(canonical_bytes(b"\n\nb"), b"\r\n\r\nb\r\n");
        // One trailing empty line only.
        assert_eq!(
            canonical_bytes(b"S: x\n\nb\r\n\r\n\r\n"),
            b"S: x\r\n\r\nb\r\n\r\n"
        );
        let one = identify(b"Subject: x\n\nbody\n");
        assert_eq!(one.canonical, identify(b"Subject: x\n\nbody\n\n").canonical);
        assert_eq!(one.canonical, identify(b"Subject: x\r\n\r\nbody").canonical);
        assert_eq!(
            one.canonical,
            hex(&Sha256::digest(b"Subject: x\r\n\r\nbody\r\n"))
        );
    }

    #[test]
    fn reencoding_keeps_fingerprint_but_not_canonical() {
        let reference = identify(reference().as_bytes());
        let variants = [
            (
                "base64 rewrapped",
                message("", "==b1==", true, 60, ATTACHMENT),
            ),
            (
                "QP text as base64",
                message("", "==b1==", false, 76, ATTACHMENT),
            ),
            (
                "new boundary",
                message("", "----=_Part_0_99.1700000", true, 76, ATTACHMENT),
            ),
            (
                "refolded, CRLF, trace headers",
                to_crlf(&message(
                    "Received: from a by b\nX-OfflineIMAP: 1-2\n",
                    "x",
                    false,
                    72,
                    ATTACHMENT,
                ))
                .replace("To: bob@example.org, ", "To: bob@example.org,\r\n\t")
                .replace(
                    "Subject: =?UTF-8?Q?Quarterly_r=C3=A9port?=",
                    "Subject:\r\n =?UTF-8?B?UXVhcnRlcmx5IHLDqXBvcnQ=?=",
                ),
            ),
        ];
        for (what, raw) in variants {
            let id = identify(raw.as_bytes());
            assert_eq!(id.fingerprint, reference.fingerprint, "{what}");
            assert_eq!(id.tolerant, reference.tolerant, "{what}");
            assert_ne!(id.canonical, reference.canonical, "{what}");
            assert_eq!(id.subject, reference.subject, "{what}");
        }
    }

    #[test]
    fn changed_body_or_attachment_changes_fingerprint() {
        let reference = identify(reference().as_bytes());
        let body = identify(
            reference_with_text(
                "the quarterly report is attached",
                "the annual report is attached",
            )
            .as_bytes(),
        );
        assert_ne!(body.fingerprint, reference.fingerprint);
        assert_ne!(body.tolerant, reference.tolerant);
        assert_eq!(
            (&body.message_id, body.date, &body.from),
            (&reference.message_id, reference.date, &reference.from)
        );

        let mut changed = ATTACHMENT.to_vec();
        changed[30] ^= 1;
        let attachment = identify(message("", "==b1==", true, 76, &changed).as_bytes());
        assert_ne!(attachment.fingerprint, reference.fingerprint);
        assert_eq!(attachment.message_id, reference.message_id);

        let mut longer = ATTACHMENT.to_vec();
        longer.push(b'!');
        assert_ne!(
            identify(message("", "==b1==", true, 76, &longer).as_bytes()).fingerprint,
            reference.fingerprint
        );
    }

    fn reference_with_text(from: &str, to: &str) -> String {
        let text = TEXT.replace(from, to);
        assert_ne!(text, TEXT);
        reference().replace(&quoted_printable(TEXT), &quoted_printable(&text))
    }

    #[test]
    fn whitespace_only_changes_keep_fingerprint() {
        let reference = identify(reference().as_bytes());
        let trailing = reference_with_text("are final.\n", "are final.   \n");
        assert_eq!(
            identify(trailing.as_bytes()).fingerprint,
            reference.fingerprint
        );
        let more_lines = reference_with_text("Alice\n", "Alice\n\n\n");
        assert_eq!(
            identify(more_lines.as_bytes()).fingerprint,
            reference.fingerprint
        );
        // An inner blank line is content.
        let inner = reference_with_text("final.\n", "final.\n\n");
        assert_ne!(
            identify(inner.as_bytes()).fingerprint,
            reference.fingerprint
        );
        // Letters and digits only for the tolerant key.
        assert_eq!(identify(inner.as_bytes()).tolerant, reference.tolerant);
        let nfd = reference_with_text("Café", "Cafe\u{301}");
        assert_eq!(identify(nfd.as_bytes()).fingerprint, reference.fingerprint);
    }

    #[test]
    fn missing_message_id_still_has_fingerprint() {
        let without = reference().replace("Message-ID: <Report.42@Mail.Example.COM>\n", "");
        let id = identify(without.as_bytes());
        assert_eq!(id.message_id, None);
        assert_eq!(id.fingerprint.len(), 64);
        assert_ne!(id.fingerprint, identify(reference().as_bytes()).fingerprint);
        assert_eq!(id.tolerant, identify(reference().as_bytes()).tolerant);
        assert!(id.unparsed.is_none());
        // imapsync's invented IDs count as absent.
        let invented = reference().replace("<Report.42@Mail.Example.COM>", "<1234@imapsync>");
        let invented = identify(invented.as_bytes());
        assert_eq!(invented.message_id, None);
        assert_eq!(invented.fingerprint, id.fingerprint);
    }

    #[test]
    fn message_id_normalisation() {
        for (raw, want) in [
            ("<abc@EXAMPLE.com>", Some("abc@example.com")),
            ("  < ABC.def @ Example.Org >", Some("ABC.def@example.org")),
            ("no-brackets@Host.Example", Some("no-brackets@host.example")),
            ("<a@b.example> <c@d.example>", Some("a@b.example")),
            ("<>", None),
            ("", None),
        ] {
            let msg = format!("Message-ID: {raw}\nSubject: s\n\nbody\n");
            assert_eq!(
                identify(msg.as_bytes()).message_id.as_deref(),
                want,
                "{raw:?}"
            );
        }
        // The first field wins.
        let two = "Message-ID: <one@x.example>\nMessage-ID: <two@x.example>\n\nb\n";
        assert_eq!(
            identify(two.as_bytes()).message_id.as_deref(),
            Some("one@x.example")
        );
    }

    #[test]
    fn recipients_order_and_case_do_not_matter() {
        let a = identify(reference().as_bytes());
        let swapped = reference().replace(
            "To: bob@example.org, \"Carol\" <carol@example.net>",
            "To: Carol <CAROL@example.net>, Bob <bob@example.org>",
        );
        assert_eq!(identify(swapped.as_bytes()).fingerprint, a.fingerprint);
        let moved = reference().replace(
            "Cc: dave@example.com\n",
            "Cc: dave@example.com, x@example.com\n",
        );
        assert_ne!(identify(moved.as_bytes()).fingerprint, a.fingerprint);
        // To and Cc are distinct lists.
        let to_cc = reference()
            .replace(
                "To: bob@example.org, \"Carol\" <carol@example.net>",
                "To: bob@example.org",
            )
            .replace(
                "Cc: dave@example.com",
                "Cc: carol@example.net, dave@example.com",
            );
        assert_ne!(identify(to_cc.as_bytes()).fingerprint, a.fingerprint);
    }

    #[test]
    fn subjects_are_decoded() {
        let cases = [
            ("=?UTF-8?B?UXVhcnRlcmx5IHLDqXBvcnQ=?=", "Quarterly réport"),
            ("=?iso-8859-1?q?Quarterly_r=E9port?=", "Quarterly réport"),
            (
                "  Quarterly \t  =?utf-8?q?r=C3=A9?=\n =?utf-8?q?port?=  ",
                "Quarterly réport",
            ),
            ("Quarterly re\u{301}port", "Quarterly réport"),
            ("=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "テスト"),
        ];
        for (raw, want) in cases {
            let msg = format!("Subject: {raw}\n\nbody\n");
            assert_eq!(
                identify(msg.as_bytes()).subject.as_deref(),
                Some(want),
                "{raw}"
            );
        }
        assert_eq!(identify(b"Subject:   \n\nbody\n").subject, None);
        // A header-only message reads the same with or without its final line break.
        let bare = identify(b"Message-ID: <a@b.example>\nSubject: s");
        assert_eq!(bare.subject.as_deref(), Some("s"));
        assert_eq!(
            bare.fingerprint,
            identify(b"Message-ID: <a@b.example>\nSubject: s\n").fingerprint
        );
    }

    #[test]
    fn dates() {
        let date = |d: &str| identify(format!("Date: {d}\n\nb\n").as_bytes()).date;
        assert_eq!(date("Thu, 01 Jan 1970 00:00:00 +0000"), Some(0));
        assert_eq!(date("Thu, 1 Jan 1970 01:00:00 +0100 (CET)"), Some(0));
        assert_eq!(date("1 Jan 70 00:00:59 GMT"), Some(59));
        assert_eq!(date("yesterday"), None);
        assert_eq!(date("Thu, 01 Jan 2020"), None);
        // Seconds differ within one minute: fingerprint differs, tolerant key does not.
        let a = identify(b"Date: Thu, 1 Jan 2004 10:00:05 +0000\nFrom: a@x.example\n\nHi there\n");
        let b =
            identify(b"Date: Thu, 1 Jan 2004 10:00:55 +0000\nFrom: A@X.example\n\nHi,  there!\n");
        assert_ne!(a.fingerprint, b.fingerprint);
        assert_eq!(a.tolerant, b.tolerant);
    }

    #[test]
    fn html_bodies() {
        let html = "<html><head><title>T</title><style>p{color:red}</style></head><body>\
                    <p>Hello&nbsp;<b>World</b> &amp; friends</p><div>line&#32;two&#x21;</div>\
                    <!-- hidden --><table><tr><td>a</td><td>b</td></tr></table></body></html>";
        assert_eq!(
            html_to_text(html),
            "\nHello\u{a0}World & friends\n\nline two!\n\n\na b\n\n"
        );
        assert_eq!(html_to_text("a <unclosed"), "a");
        assert_eq!(
            html_to_text("1 < 2 &bogus; <script>never closed"),
            "1 < 2 &bogus; never closed"
        );
        assert_eq!(html_to_text("<head>no end<p>x"), "no end\nx");

        let msg = |cte: &str, body: &str| {
            format!(
                "Subject: h\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: {cte}\n\n{body}"
            )
        };
        let page = "<p>Caf\u{e9} ol\u{e9}</p>\n<p>second   paragraph</p>\n";
        let qp = identify(msg("quoted-printable", &quoted_printable(page)).as_bytes());
        let b64 = identify(msg("base64", &base64(page.as_bytes(), 76)).as_bytes());
        assert_eq!(qp.fingerprint, b64.fingerprint);
        let plain = identify(b"Subject: h\nContent-Type: text/plain; charset=utf-8\n\nCaf\xc3\xa9 ol\xc3\xa9\nsecond paragraph\n");
        // The HTML text keeps an empty line between paragraphs; letters and digits agree.
        assert_eq!(plain.tolerant, qp.tolerant);
    }

    #[test]
    fn alternative_uses_plain_text() {
        let alt = |html: &str| {
            format!(
                "Subject: a\nContent-Type: multipart/alternative; boundary=b\n\n--b\n\
                 Content-Type: text/plain\n\nplain words\n--b\nContent-Type: text/html\n\n{html}\n--b--\n"
            )
        };
        let one = identify(alt("<p>html words</p>").as_bytes());
        let two = identify(alt("<p>other html</p>").as_bytes());
        assert_eq!(one.fingerprint, two.fingerprint);
        let plain = identify(b"Subject: a\n\nplain words\n");
        assert_eq!(one.fingerprint, plain.fingerprint);
    }

    #[test]
    fn nested_messages_compare_by_fingerprint() {
        let outer = |inner: &str, cte: &str| {
            format!(
                "Subject: fwd\nContent-Type: multipart/mixed; boundary=o\n\n--o\n\
                 Content-Type: text/plain\n\nsee below\n--o\nContent-Type: message/rfc822\n\
                 Content-Transfer-Encoding: {cte}\n\n{inner}\n--o--\n"
            )
        };
        let inner = message("", "in", true, 76, ATTACHMENT);
        let a = identify(outer(&inner, "7bit").as_bytes());
        let b = identify(outer(&message("", "other", false, 64, ATTACHMENT), "7bit").as_bytes());
        let c = identify(outer(&base64(inner.as_bytes(), 76), "base64").as_bytes());
        let d = identify(outer(&message("", "in", true, 76, b"other bytes"), "7bit").as_bytes());
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.fingerprint, c.fingerprint);
        assert_ne!(a.fingerprint, d.fingerprint);
    }

    #[test]
    fn text_attachments_ignore_line_endings() {
        let msg = |body: &str, cte: &str| {
            format!(
                "Subject: t\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
                 Content-Type: text/plain\n\nsee attached\n--b\n\
                 Content-Type: text/x-diff; name=fix.patch\nContent-Disposition: attachment\n\
                 Content-Transfer-Encoding: {cte}\n\n{body}\n--b--\n"
            )
        };
        let patch = "--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new";
        let lf = identify(msg(patch, "7bit").as_bytes());
        let crlf = identify(to_crlf(&msg(patch, "7bit")).as_bytes());
        let b64 = identify(msg(&base64(to_crlf(patch).as_bytes(), 76), "base64").as_bytes());
        assert_eq!(lf.fingerprint, crlf.fingerprint);
        assert_eq!(lf.fingerprint, b64.fingerprint);
        let changed = identify(msg(&patch.replace("+new", "+newer"), "7bit").as_bytes());
        assert_ne!(lf.fingerprint, changed.fingerprint);
    }

    /// Text attachments converted a window at a time give the text with every CRLF and lone CR
    /// made LF, wherever the line breaks fall against the windows.
    #[test]
    fn text_attachment_windows_convert_every_line_break() {
        let mut next = crate::test_rng::xorshift(0x6a09_e667_f3bc_c908);
        for round in 0..300 {
            let len = (next() % (3 * WINDOW as u64)) as usize;
            let text: String = (0..len)
                .map(|_| match next() % 12 {
                    0 => '\r',
                    1 => '\n',
                    2 => 'é',
                    _ => 'a',
                })
                .collect();
            let expected = text.replace("\r\n", "\n").replace('\r', "\n");
            let mut lf = LfText::new(Cow::Borrowed(&text));
            let mut out = Vec::new();
            loop {
                let piece = lf.peek();
                if piece.is_empty() {
                    break;
                }
                let n = piece.len().min((next() % 5000) as usize + 1);
                out.extend_from_slice(&piece[..n]);
                lf.consume(n);
            }
            assert_eq!(String::from_utf8(out).unwrap(), expected, "round {round}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let empty = identify(b"");
        assert_eq!(empty.digest, hex(&Sha256::digest(b"")));
        assert_eq!(empty.unparsed.as_deref(), Some("the message is empty"));
        assert_eq!(empty.eol, Eol::None);

        let binary: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let id = identify(&binary);
        assert_eq!(id.fingerprint.len(), 64);

        let no_headers = identify(b"\x00\x01\x02 just some words\n\nand more\n");
        assert_eq!(
            no_headers.unparsed.as_deref(),
            Some("no header fields found")
        );
        assert_ne!(
            no_headers.fingerprint,
            identify(b"\x00\x01\x02 other words\n").fingerprint
        );
        assert_eq!(
            identify(b"From only-a-from-line").unparsed.as_deref(),
            Some("the message is empty")
        );

        for raw in [
            &b"\n"[..],
            b"\r",
            b"\r\n",
            b":",
            b": \n\n",
            b" \n folded\n",
            b"From \n",
            b"Subject: x\n\n--",
            b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--\n",
            b"Content-Type: multipart/mixed\n\nbody",
            b"Content-Type: message/rfc822\n\n",
            b"Content-Transfer-Encoding: base64\n\n!!!!====",
            b"Content-Type: text/html\n\n<",
            b"Content-Type: text/html\n\n&#99999999999;&#x;&;<!--",
            b"\xff\xfe\xfd: \xff\n\n\xff",
        ] {
            let id = identify(raw);
            assert_eq!(id.canonical.len(), 64, "{raw:?}");
        }
    }

    #[test]
    fn huge_lines_and_deep_nesting_are_handled() {
        let mut long_header = b"Subject: ".to_vec();
        long_header.extend(std::iter::repeat_n(b'a', 1 << 20));
        long_header.extend_from_slice(b"\n\nbody\n");
        assert!(
            identify(&long_header)
                .subject
                .is_some_and(|s| s.len() == 1 << 20)
        );

        let mut no_newline = vec![b'x'; 1 << 20];
        no_newline.extend_from_slice(b": y");
        assert_eq!(identify(&no_newline).canonical.len(), 64);

        let many_headers = "X-A: b\n".repeat(100_000) + "\nbody\n";
        assert!(identify(many_headers.as_bytes()).unparsed.is_none());

        // Nested message/rfc822 parts, far deeper than recursion could bear on a 2 MiB stack.
        let deep =
            "Subject: x\nContent-Type: message/rfc822\n\n".repeat(60_000) + "Subject: y\n\nend\n";
        let nested =
            "Content-Type: multipart/mixed; boundary=b\n\n--b\n".repeat(20_000) + "\nend\n";
        let html = "<script>".repeat(100_000) + &"<td>".repeat(100_000);
        let html = format!("Content-Type: text/html\n\n{html}");
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                for raw in [deep, nested, html] {
                    let start = std::time::Instant::now();
                    assert_eq!(identify(raw.as_bytes()).fingerprint.len(), 64);
                    assert!(start.elapsed().as_secs() < 20);
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }

    /// The canonical form written the obvious way, with whole lines and fields in memory, to
    /// check the streaming version against.
    fn naive_canonical(raw: &[u8]) -> Vec<u8> {
        let mut rest = raw;
        if rest.starts_with(b"From ") {
            rest = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(&[][..], |p| &rest[p + 1..]);
        }
        // (content, terminated by LF)
        let mut lines: Vec<(&[u8], bool)> = Vec::new();
        while !rest.is_empty() {
            match rest.iter().position(|&b| b == b'\n') {
                Some(p) => {
                    let line = &rest[..p];
                    lines.push((line.strip_suffix(b"\r").unwrap_or(line), true));
                    rest = &rest[p + 1..];
                }
                None => {
                    lines.push((rest, false));
                    rest = &[];
                }
            }
        }
        let split = lines.iter().position(|&(c, lf)| c.is_empty() && lf);
        let (header, body) = match split {
            Some(i) => (&lines[..i], &lines[i + 1..]),
            None => (&lines[..], &[][..]),
        };
        let mut fields: Vec<(Vec<u8>, bool)> = Vec::new();
        for &(line, _) in header {
            match fields.last_mut() {
                Some((field, _)) if line[0] == b' ' || line[0] == b'\t' => {
                    field.extend_from_slice(line)
                }
                _ => fields.push((line.to_vec(), removable_name(line).is_none())),
            }
        }
        let mut out = Vec::new();
        for (field, kept) in fields {
            if kept {
                out.extend_from_slice(&field);
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b"\r\n");
        let mut body = body.to_vec();
        if body.last().is_some_and(|(c, _)| c.is_empty()) {
            body.pop();
        }
        for (line, _) in body {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    fn naive_eol(raw: &[u8]) -> Eol {
        let lf = raw.iter().filter(|&&b| b == b'\n').count();
        let crlf = raw.windows(2).filter(|w| w == b"\r\n").count();
        match (lf, crlf) {
            (0, _) => Eol::None,
            (a, b) if a == b => Eol::Crlf,
            (_, 0) => Eol::Lf,
            _ => Eol::Mixed,
        }
    }

    /// Random messages built from mail-like pieces, then mangled: identify must never panic.
    #[test]
    fn random_inputs_never_panic() {
        let pieces: &[&[u8]] = &[
            b"Subject: ",
            b"From: ",
            b"To: ",
            b"Content-Type: ",
            b"multipart/mixed; boundary=",
            b"\"b\"",
            b"message/rfc822",
            b"text/html",
            b"text/plain; charset=",
            b"iso-2022-jp",
            b"Content-Transfer-Encoding: ",
            b"base64",
            b"quoted-printable",
            b"--b",
            b"--b--",
            b"\n",
            b"\r\n",
            b"\r",
            b" ",
            b"\t",
            b"=?utf-8?b?",
            b"?=",
            b"=?",
            b"=C3=A9",
            b"=\n",
            b"<",
            b">",
            b"&#",
            b";",
            b"@",
            b"From ",
            b"Date: ",
            b"Mon, 1 Jan 2024 00:00:00 +0000",
            b"\xff",
            b"\xc3",
            b"\x00",
            b"QUJD",
            b"Message-ID: ",
            b"Received: ",
            b"X-Mozilla-Status: ",
            b"received\t: ",
            b":",
            b"\n\n",
            b"\r\n\r\n",
            b"<!--",
            b"<p>",
            b"<head>",
        ];
        let mut next = crate::test_rng::xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let mut raw = Vec::new();
            for _ in 0..(next() % 80) {
                raw.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let id = identify(&raw);
            assert_eq!(
                id.canonical,
                hex(&Sha256::digest(naive_canonical(&raw))),
                "{raw:?}"
            );
            assert_eq!(id.eol, naive_eol(&raw), "{raw:?}");
            assert_eq!(identify(&raw), id, "deterministic");
        }
    }

    /// Bodies longer than a window, in CRLF with a few bare LFs and lone CRs, and with a CRLF
    /// split by a window's end: the canonical form and `eol` are those of the naive reading.
    #[test]
    fn long_bodies_convert_across_windows() {
        let head = b"Subject: x\r\n\r\n";
        let mut next = crate::test_rng::xorshift(0x0dd_ba11_cafe_f00d);
        for round in 0..60u64 {
            let mut raw = head.to_vec();
            let len = WINDOW * (1 + round as usize % 3) + (next() % 300) as usize;
            while raw.len() < len {
                raw.extend((0..next() % 90).map(|_| b'a' + (next() % 26) as u8));
                raw.extend_from_slice(match next() % 40 {
                    0 if round % 3 != 0 => b"\n",
                    1 if round % 3 != 0 => b"\r",
                    2 => b"\r\n\r\n",
                    _ => b"\r\n",
                });
            }
            if round % 5 == 0 {
                // A CR as the last byte of the first window, its LF opening the next.
                raw.truncate(head.len() + WINDOW - 1);
                raw.extend_from_slice(b"\r\nz\r\n");
            }
            let id = identify(&raw);
            let canonical = naive_canonical(&raw);
            assert_eq!(
                id.canonical,
                hex(&Sha256::digest(&canonical)),
                "round {round}"
            );
            assert_eq!(id.eol, naive_eol(&raw), "round {round}");
        }
    }

    /// Pins the version-1 encoding: if this changes, IDENTITY_VERSION must change too.
    #[test]
    fn version_one_values_are_stable() {
        let raw = b"Message-ID: <a@B.example>\nDate: Thu, 01 Jan 2004 00:00:00 +0000\n\
                    From: X <x@example.com>\nTo: z@example.com, y@example.com\nSubject: Hi\n\nHello\n";
        let id = identify(raw);
        let body = hex(&Sha256::digest(b"Hello\n"));
        let expect_fp = format!(
            "mailproof-fingerprint 1\nmessage-id=11:a@b.example\ndate=10:1072915200\n\
             from=13:x@example.com\nto#2\nto=13:y@example.com\nto=13:z@example.com\ncc#0\n\
             subject=2:Hi\nbody=64:{body}\nattachment#0\n"
        );
        assert_eq!(id.fingerprint, hex(&Sha256::digest(expect_fp.as_bytes())));
        let letters = hex(&Sha256::digest(b"hello"));
        let expect_tol = format!(
            "mailproof-tolerant 1\ndate=10:1072915200\nfrom=13:x@example.com\nsubject=2:hi\n\
             letters=64:{letters}\n"
        );
        assert_eq!(id.tolerant, hex(&Sha256::digest(expect_tol.as_bytes())));

        // The test vectors of docs/identity.md.
        assert_eq!(
            id.digest,
            "4746c662ae56ff624b4a733be8ee05aad6edadd0f3d6361344e87c579abe4771"
        );
        assert_eq!(
            id.canonical,
            "4d41f1e7fd0dfaef59f43a582e43a8c15a4c386a20b961f3e2661e4808f3abf6"
        );
        assert_eq!(
            id.fingerprint,
            "4fd736789803e397a17d4f48a74bfd32fd3840667ce78b411f0f06c82e214387"
        );
        assert_eq!(
            id.tolerant,
            "85e7b387a1d82627307c452c1c1db78559bc86af2df444ac5f7d93d086927153"
        );
        let moved = b"From alice@example.org Thu Jan  1 00:00:00 2004\n\
                      Received: from a by b; Thu, 1 Jan 2004 00:00:01 +0000\n\
                      Message-ID: <a@B.example>\nDate: Thu, 01 Jan 2004 00:00:00 +0000\n\
                      From: X <x@example.com>\nTo: z@example.com,\n y@example.com\nSubject: Hi\n\
                      X-TUID: abc\n\nHello   \n\n";
        let moved = identify(moved);
        assert_eq!(
            moved.digest,
            "d143cc03b758e9ac26b39f87cfc473cb1ab756ed878585b5452a47a8f1e0fdab"
        );
        assert_eq!(
            moved.canonical,
            "f1a1ebca42a2a6adffeb1b8dea2890d15955c2f323eeac33c2c5bf3d831f79d7"
        );
        assert_eq!(
            (&moved.fingerprint, &moved.tolerant),
            (&id.fingerprint, &id.tolerant)
        );
        assert_eq!(moved.stripped, ["from_", "received", "x-tuid"]);

        // Attachments: one entry per part, "<sha256> <size>", sorted.
        let raw = b"Subject: a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
                    Content-Type: text/plain\n\nsee\n--b\nContent-Type: application/octet-stream\n\
                    Content-Transfer-Encoding: base64\n\naGVsbG8=\n--b--\n";
        let expect = format!(
            "mailproof-fingerprint 1\nmessage-id=-\ndate=-\nfrom=-\nto#0\ncc#0\nsubject=1:a\n\
             body=64:{}\nattachment#1\nattachment=66:{} 5\n",
            hex(&Sha256::digest(b"see\n")),
            hex(&Sha256::digest(b"hello"))
        );
        assert_eq!(
            identify(raw).fingerprint,
            hex(&Sha256::digest(expect.as_bytes()))
        );
    }

    /// Attachments hashed beside the body text, the letters and the message's own streams,
    /// whatever their number, lengths and pieces, get the digests each would get alone; so do
    /// the text, the letters and the raw and canonical forms. An attachment whose base64 body
    /// is refused is reported.
    #[test]
    fn streams_hashed_together_keep_their_digests() {
        let mut next = crate::test_rng::xorshift(0x2545_f491_4f6c_dd1d);
        let bytes = |n: u64| -> Vec<u8> { (0..n).map(|i| (i * 7 + n) as u8).collect() };
        let sha = |data: &[u8]| <[u8; 32]>::from(Sha256::digest(data));
        for round in 0..400u64 {
            let len = |r: u64| if r.is_multiple_of(5) { 0 } else { r % 3000 };
            let mut text = TextHashes {
                letters: bytes(len(next())),
                ..TextHashes::default()
            };
            // Lines, sometimes more than are held.
            let body = bytes(len(next()) * if round % 50 == 7 { 1000 } else { 1 });
            for line in body.chunks(77) {
                text.put(line);
            }
            assert_eq!(text.streamed.is_some(), body.len() > TEXT_HELD);
            let letters = sha(&text.letters);

            // Attachments: a base64 body (sometimes refused), then bytes the parser decoded.
            let mut expected = Vec::new();
            let mut encoded = Vec::new();
            let mut refused = false;
            let count = round % 5;
            for _ in 0..count {
                let (cut, tail) = (bytes(len(next()) * (next() % 40)), bytes(len(next()) / 8));
                let mut text = base64_simd::STANDARD.encode_to_string(&cut);
                if next().is_multiple_of(9) {
                    text.push('.');
                    refused = true;
                }
                let lines: Vec<&[u8]> = text.as_bytes().chunks(76).collect();
                encoded.push((lines.join(&b"\n"[..]), tail.clone()));
                let whole = [cut, tail].concat();
                expected.push(format!("{} {}", hex(&sha(&whole)), whole.len()));
            }
            let attachments = encoded
                .iter()
                .map(|(text, tail)| {
                    let decoder = cut_bodies::Decoder::new(text);
                    Job::new(vec![Piece::Base64(decoder), Piece::Bytes(tail)])
                })
                .collect();
            let unhashed = Unhashed {
                facts: Facts::default(),
                text,
                attachments,
            };

            // Sometimes the message's own streams too: a message of any size, LF or CRLF.
            let message = format!(
                "Subject: {round}\nReceived: x\n\n{}",
                String::from_utf8_lossy(&bytes(len(next()) * (next() % 20)))
            );
            let message = if round % 2 == 0 {
                message.replace('\n', "\r\n")
            } else {
                message
            };
            let raw = message.as_bytes();
            let (_, mut own) = Own::of(raw);
            let (facts, accepted) = if round % 3 == 0 {
                unhashed.hash(&mut Own::none())
            } else {
                unhashed.hash(&mut own)
            };
            let (digest, canonical, _) = own.finish();
            assert_eq!(
                (digest, canonical),
                (sha(raw), sha(&canonical_bytes(raw))),
                "round {round}"
            );
            assert_eq!((facts.body, facts.letters), (sha(&body), letters));
            assert_eq!(accepted, !refused, "round {round}");
            if !refused {
                expected.sort_unstable();
                assert_eq!(facts.attachments, expected, "round {round}");
            }
        }
    }

    /// Runs identify over every file of the shared corpus (read-only): nothing may panic.
    #[test]
    #[ignore = "needs /work/shared/corpus"]
    fn corpus_never_panics() {
        let root = std::path::Path::new("/work/shared/corpus");
        let mut stack = vec![root.to_path_buf()];
        let (mut files, mut unparsed) = (0, 0);
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    files += 1;
                    let id = identify(&bytes);
                    if let Some(why) = &id.unparsed {
                        unparsed += 1;
                        eprintln!("{}: {why}", path.display());
                    }
                }
            }
        }
        eprintln!("{files} files, {unparsed} unparsed");
        assert!(files > 100);
    }

    /// Throughput over a real mailing-list archive, split crudely at `\nFrom ` lines. Run with
    /// `cargo test --release -p mailproof-engine --lib identity::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "measurement; needs /work/shared/corpus"]
    fn throughput() {
        let mbox = std::fs::read("/work/shared/corpus/mbox-open-iscsi/open-iscsi.mboxrd").unwrap();
        let mut messages = Vec::new();
        let mut start = 0;
        for i in 1..mbox.len() {
            if mbox[i - 1] == b'\n' && mbox[i..].starts_with(b"From ") {
                messages.push(&mbox[start..i]);
                start = i;
            }
        }
        messages.push(&mbox[start..]);
        // CPU time of this thread (Linux), so that other load on the machine does not count.
        let cpu_seconds = || {
            let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
            stat.split(' ').next().unwrap().parse::<f64>().unwrap() / 1e9
        };
        let measure = |name: &str, set: &[&[u8]]| {
            let bytes: usize = set.iter().map(|m| m.len()).sum();
            let rounds = (200 << 20) / bytes.max(1) + 1;
            let t = cpu_seconds();
            for _ in 0..rounds {
                for m in set {
                    std::hint::black_box(identify(m));
                }
            }
            let secs = cpu_seconds() - t;
            let t = cpu_seconds();
            for _ in 0..rounds {
                for m in set {
                    std::hint::black_box(Sha256::digest(m));
                }
            }
            let raw = cpu_seconds() - t;
            eprintln!(
                "{name}: {} messages, {:.1} MB; identify {:.0} MB/s; SHA-256 of the raw bytes alone \
                 {:.0} MB/s (per CPU second)",
                set.len(),
                bytes as f64 / 1e6,
                (bytes * rounds) as f64 / 1e6 / secs,
                (bytes * rounds) as f64 / 1e6 / raw
            );
        };
        measure("open-iscsi (LF)", &messages);
        let crlf: Vec<Vec<u8>> = messages
            .iter()
            .map(|m| to_crlf(&String::from_utf8_lossy(m)).into_bytes())
            .collect();
        measure(
            "open-iscsi (CRLF)",
            &crlf.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        );
        // A mailbox-like mix: 90% text messages, 10% with a base64 attachment, one of 12 MB.
        let mut mix: Vec<Vec<u8>> = messages.iter().take(900).map(|m| m.to_vec()).collect();
        for i in 0..100usize {
            let size = if i == 0 { 12 << 20 } else { 40_000 + i * 3_000 };
            let data: Vec<u8> = (0..size)
                .map(|j| (j.wrapping_mul(2_654_435_761) >> 7) as u8)
                .collect();
            mix.push(message("", "mix", true, 76, &data).into_bytes());
        }
        measure(
            "mix with attachments (LF)",
            &mix.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        );
    }

    /// Facts from a parse of the whole of `rest`, without cuts.
    fn uncut_facts(rest: &[u8]) -> Option<Facts> {
        let message = Parsed(PARSER.parse(rest)?);
        Some(facts_of(&message.0, 0, None).hash(&mut Own::none()).0)
    }

    /// Checks the facts from the cut text against those of the whole message, when cuts are
    /// used; returns whether they were.
    fn check_cut(raw: &[u8]) -> bool {
        let Some(cut) = cut_facts(raw, &mut Own::none()) else {
            return false;
        };
        let whole = uncut_facts(raw).expect("the whole message parses");
        assert_eq!(
            (fingerprint(&cut), tolerant(&cut)),
            (fingerprint(&whole), tolerant(&whole)),
            "{}",
            String::from_utf8_lossy(raw)
        );
        true
    }

    /// `part` (with a header of its own) as the only part, an alternative, a part of a
    /// message attached to another, or twice among others: layout 0 to 3, in that order.
    fn in_layout(part: &str, layout: u64) -> String {
        match layout {
            0 => format!("Subject: single\n{part}"),
            1 => format!(
                "Subject: alt\nContent-Type: multipart/alternative; boundary=b\n\n--b\n\
                 Content-Type: text/plain\n\nplain\n--b\n{part}--b--\n"
            ),
            2 => format!(
                "Subject: nested\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
                 Content-Type: message/rfc822\n\nSubject: inner\n\
                 Content-Type: multipart/mixed; boundary=c\n\n--c\n{part}--c--\n\n--b--\n"
            ),
            _ => format!(
                "Subject: mixed\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
                 Content-Type: text/plain\n\nsee\n--b\n{part}--b\n{part}--b--\n"
            ),
        }
    }

    /// Base64 parts of every kind, cleanly encoded and then damaged at random: whenever the
    /// parse of the cut text is used, it gives the values of the parse of the whole message.
    #[test]
    fn cut_bodies_give_the_values_of_the_whole_parse() {
        let mut next = crate::test_rng::xorshift(0x51_7cc1_b727_220a);
        let data: Vec<u8> = (0..6000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let text = "Grüße, Zoë! Ça va? ".repeat(200);
        let html = format!("<p>{}</p><script>x</script>", "Café &amp; thé ".repeat(200));
        let kinds = [
            "application/octet-stream",
            "image/png",
            "text/plain; charset=utf-8",
            "text/plain; charset=iso-8859-1",
            "text/plain",
            "text/html; charset=utf-8",
            "message/rfc822",
            "multipart/mixed; boundary=inner",
        ];
        let damage: &[&[u8]] = &[
            b"-",
            b".",
            b" ",
            b"=",
            b"\r",
            b"\n",
            b"\n\n",
            b"\xc3\xa9",
            b"--b",
        ];
        let (mut used, mut total) = (0, 0);
        for round in 0..1500 {
            let kind = kinds[(next() % kinds.len() as u64) as usize];
            let content: Vec<u8> = match kind {
                k if k.starts_with("text/html") => html.clone().into_bytes(),
                k if k.starts_with("text/plain; charset=iso") => {
                    text.chars().map(|c| c as u32 as u8).collect()
                }
                k if k.starts_with("text/") => text.clone().into_bytes(),
                "message/rfc822" => message("", "n", false, 76, &data[..3000]).into_bytes(),
                _ => data[..(next() % data.len() as u64) as usize].to_vec(),
            };
            let width = [76, 64, 72, 1000][(next() % 4) as usize];
            let mut body = base64(&content, width).into_bytes();
            if next().is_multiple_of(3) {
                for _ in 0..=(next() % 3) {
                    let at = (next() % (body.len() as u64 + 1)) as usize;
                    let piece = damage[(next() % damage.len() as u64) as usize];
                    body.splice(at..at, piece.iter().copied());
                }
            }
            let body = String::from_utf8_lossy(&body);
            let part = format!(
                "Content-Type: {kind}\nContent-Transfer-Encoding: base64\n\n{body}{}",
                ["", "\n", "\n\n"][(next() % 3) as usize]
            );
            let raw = in_layout(&part, next() % 4);
            let raw = if round % 2 == 0 { raw } else { to_crlf(&raw) };
            total += 1;
            used += usize::from(check_cut(raw.as_bytes()));
        }
        // Most of them are cut, so the comparisons above are not vacuous.
        assert!(used * 2 > total, "{used} of {total} cut");
    }

    /// The same for quoted-printable parts: text in several charsets (one that cannot be read
    /// in pieces), HTML with comments, signatures, soft breaks, and damage of the kinds that
    /// change how the parser's decoder goes on (`=` in an escape, a lone CR, a bare LF, `--`).
    #[test]
    fn quoted_printable_cuts_give_the_values_of_the_whole_parse() {
        let mut next = crate::test_rng::xorshift(0x6a09_e667_f3bc_c908);
        let prose = "Grüße, Zoë! Ça va? Prix: 3 × 4 € = 12 €.\t \nA long line that goes on \
                     and on past the seventy-six letters a quoted-printable line may hold.\n\n";
        let kinds = [
            "text/plain; charset=utf-8",
            "text/plain; charset=iso-8859-1",
            "text/plain",
            "text/plain; charset=utf-16",
            "text/html; charset=utf-8",
        ];
        let damage: &[&[u8]] = &[
            b"=", b"==", b"=4", b"=\n", b"\r", b"\n", b" \n", b"--", b"--b", b"-", b"\xc3",
        ];
        let (mut used, mut total) = (0, 0);
        for round in 0..1500 {
            let kind = kinds[(next() % kinds.len() as u64) as usize];
            let mut text = prose.repeat(6 + (next() % 40) as usize);
            if kind.starts_with("text/html") {
                text = format!("<html><p>{text}</p><!-- x --></html>\n");
            }
            if next().is_multiple_of(4) {
                text.push_str("-- \nAlice\n");
            }
            let content: Vec<u8> = if kind.contains("iso-8859-1") {
                text.chars().map(|c| c as u32 as u8).collect()
            } else {
                text.into_bytes()
            };
            let mut body = quoted_printable_bytes(&content).into_bytes();
            if next().is_multiple_of(3) {
                for _ in 0..=(next() % 3) {
                    let at = (next() % (body.len() as u64 + 1)) as usize;
                    let piece = damage[(next() % damage.len() as u64) as usize];
                    body.splice(at..at, piece.iter().copied());
                }
            }
            // A spelling of the boundary the search before the parse misses, a value it takes
            // for one, that value in the text, and the real boundary before it.
            let odd_spelling = round % 5 == 0;
            if odd_spelling {
                let at = (next() % (body.len() as u64 + 1)) as usize;
                body.splice(at..at, *b"--b");
                body.extend_from_slice(b"note --zzz\n");
            }
            let body = String::from_utf8_lossy(&body);
            let part = format!(
                "Content-Type: {kind}\nContent-Transfer-Encoding: quoted-printable\n\n{body}{}",
                ["", "\n", "\n\n"][(next() % 3) as usize]
            );
            let raw = in_layout(&part, next() % 4);
            let raw = if odd_spelling {
                format!(
                    "X-Note: boundary=zzz\n{}",
                    raw.replace("boundary=b", "BOUNDARY=b")
                )
            } else {
                raw
            };
            let raw = if round % 2 == 0 { raw } else { to_crlf(&raw) };
            total += 1;
            used += usize::from(check_cut(raw.as_bytes()));
        }
        assert!(used * 2 > total, "{used} of {total} cut");
    }

    /// The same comparison over real mail. Run with `cargo test --release -p mailproof-engine
    /// --lib identity::tests::cut_bodies_on_corpora -- --ignored --nocapture`.
    #[test]
    #[ignore = "needs /work/shared/corpus and /tmp/mailproof-bench/corpus"]
    fn cut_bodies_on_corpora() {
        for root in ["/work/shared/corpus", "/tmp/mailproof-bench/corpus/maildir"] {
            let (mut files, mut cuttable, mut cut) = (0, 0, 0);
            let mut stack = vec![std::path::PathBuf::from(root)];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if let Ok(bytes) = std::fs::read(&path) {
                        let rest = if bytes.starts_with(b"From ") {
                            bytes
                                .iter()
                                .position(|&b| b == b'\n')
                                .map_or(&[][..], |p| &bytes[p + 1..])
                        } else {
                            &bytes[..]
                        };
                        files += 1;
                        cuttable += usize::from(cut_bodies::cut(rest).is_some());
                        let used = catch_unwind(|| check_cut(rest));
                        assert!(used.is_ok(), "{}", path.display());
                        cut += usize::from(used.unwrap_or(false));
                    }
                }
            }
            eprintln!(
                "{root}: {files} files, {cuttable} with bodies to cut, {cut} parsed with them cut"
            );
        }
    }
}
