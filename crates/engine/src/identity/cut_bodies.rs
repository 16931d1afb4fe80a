//! Bodies kept away from the MIME parser.
//!
//! mail-parser decodes every base64 and quoted-printable part while it parses, a byte at a
//! time: a third of the time of a receipt went to base64 alone. Here the lines of such bodies
//! are cut out of the text the parser reads (it then sees an empty body, or the last lines of
//! a quoted-printable one), and decoded afterwards: base64 mostly by a vectorised decoder
//! (`base64-simd`), straight into the hash, quoted-printable by [`super::quoted_printable`].
//! The decoding reproduces mail-parser's `decode_base64_mime` and
//! `decode_quoted_printable_mime` byte for byte; the caller checks that every cut landed in a
//! part of that encoding the parser decoded without trouble and that the decoder accepts every
//! cut, and otherwise parses the original bytes instead.

use base64_simd::AsOut;
use memchr::memmem;

use super::quoted_printable;

/// Shorter bodies are left to the parser: cutting them saves less than the copy costs.
const MIN_CUT: usize = 1024;

/// The transfer encoding of a cut body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Base64,
    QuotedPrintable,
}

/// One body removed from the parser's view.
pub(super) struct Cut {
    /// Where the body was, in the view: the `offset_body` of the part it belongs to.
    pub(super) view_pos: usize,
    /// The removed bytes, in the original.
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) kind: Kind,
}

/// The message as the parser gets it: the original with the cut bodies left out.
pub(super) struct View {
    pub(super) bytes: Vec<u8>,
    /// In increasing order of `view_pos` (and of `start`).
    pub(super) cuts: Vec<Cut>,
}

/// Cuts the bodies of parts whose header says `Content-Transfer-Encoding: base64` or
/// `quoted-printable`, or returns `None` when there is nothing worth cutting.
///
/// A base64 cut spans whole lines, starts right after the empty line ending a header and ends
/// before the first `-` (which may start a boundary). When [`decode`] accepts it, it holds only
/// bytes the parser's decoder consumes without stopping, and a whole number of 4-letter groups:
/// that decoder then ends in the same state whether or not it has read the cut, so it finds
/// the same boundary afterwards, and the content is the cut's decoding followed by what the
/// parser decoded from the rest. A quoted-printable cut starts at the same place and ends as
/// [`quoted_printable::cut_end`] says, to the same effect.
pub(super) fn cut(raw: &[u8]) -> Option<View> {
    let finder = memmem::Finder::new(b"ransfer-");
    let mut cuts = Vec::new();
    let mut pos = 0;
    let mut removed = 0;
    let mut boundaries = None;
    while let Some(off) = finder.find(&raw[pos..]) {
        let at = pos + off;
        pos = at + 1;
        let Some(line_start) = at.checked_sub(9) else {
            continue;
        };
        if line_start > 0 && raw[line_start - 1] != b'\n' {
            continue;
        }
        let line_end = memchr::memchr(b'\n', &raw[at..]).map_or(raw.len(), |p| at + p);
        let Some(kind) = encoding_field(&raw[line_start..line_end]) else {
            continue;
        };
        let Some(body) = header_end(raw, line_end) else {
            break;
        };
        pos = body;
        let end = match kind {
            Kind::Base64 => {
                let stop = memchr::memchr(b'-', &raw[body..]).map_or(raw.len(), |p| body + p);
                memchr::memrchr(b'\n', &raw[body..stop]).map(|p| body + p + 1)
            }
            Kind::QuotedPrintable => {
                let boundaries =
                    boundaries.get_or_insert_with(|| quoted_printable::declared_boundaries(raw));
                quoted_printable::cut_end(raw, body, boundaries)
            }
        };
        if let Some(end) = end
            && end - body >= MIN_CUT
        {
            cuts.push(Cut {
                view_pos: body - removed,
                start: body,
                end,
                kind,
            });
            removed += end - body;
            pos = end;
        }
    }
    if cuts.is_empty() {
        return None;
    }
    let mut bytes = crate::recycle::take(raw.len() - removed);
    let mut from = 0;
    for c in &cuts {
        bytes.extend_from_slice(&raw[from..c.start]);
        from = c.end;
    }
    bytes.extend_from_slice(&raw[from..]);
    Some(View { bytes, cuts })
}

/// The encoding a `Content-Transfer-Encoding` field names, if it is one cut (any case, blanks
/// around the value, optional CR).
fn encoding_field(line: &[u8]) -> Option<Kind> {
    const NAME: &[u8] = b"content-transfer-encoding:";
    let value = line
        .get(..NAME.len())
        .filter(|name| name.eq_ignore_ascii_case(NAME))
        .map(|_| line[NAME.len()..].trim_ascii())?;
    if value.eq_ignore_ascii_case(b"base64") {
        Some(Kind::Base64)
    } else if value.eq_ignore_ascii_case(b"quoted-printable") {
        Some(Kind::QuotedPrintable)
    } else {
        None
    }
}

/// Offset after the empty line that ends the header containing the line ending at `lf`.
fn header_end(raw: &[u8], lf: usize) -> Option<usize> {
    let mut next = lf + 1;
    loop {
        let rest = raw.get(next..)?;
        match rest {
            [b'\n', ..] => return Some(next + 1),
            [b'\r', b'\n', ..] => return Some(next + 2),
            _ => next += memchr::memchr(b'\n', rest)? + 1,
        }
    }
}

/// Value of each base64 letter; 0xff for every other byte.
static BASE64: [u8; 256] = {
    let mut table = [0xff; 256];
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        table[letters[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Bytes of a cut gathered (line breaks left out) before they are decoded at once: a multiple
/// of 4, so that a batch of whole lines of whole groups is whole groups.
const BATCH: usize = 16 * 1024;

/// Decoded bytes handed to the caller at once: room for a batch and a group begun before it.
const OUT: usize = BATCH / 4 * 3 + 3;

/// Decodes a cut exactly as mail-parser's `decode_base64_mime` does, passing the output to
/// `emit` in pieces (see [`Decoder`]). Returns the decoded length, or `None` when `src` is not
/// a valid cut.
pub(super) fn decode(src: &[u8], mut emit: impl FnMut(&[u8])) -> Option<usize> {
    let mut decoder = Decoder::new(src);
    loop {
        let piece = decoder.peek()?;
        if piece.is_empty() {
            return Some(decoder.total);
        }
        emit(piece);
        let n = piece.len();
        decoder.consume(n);
    }
}

/// Decodes a cut a batch at a time, as the bytes are asked for, exactly as mail-parser's
/// `decode_base64_mime` does (SP, HT, CR and LF skipped; `=` ends a group early, a lone letter
/// included, and decoding carries on after it). A cut is refused ([`Decoder::peek`] gives
/// `None`) at a byte at which that decoder stops, or when it ends inside a group.
///
/// Lines are gathered into batches without their line breaks. A vectorised strict decoder
/// takes what is whole groups of letters only, which is the usual batch and all of the last
/// one but its padded group; it refuses anything else (no blank, no `=`), and that is decoded
/// by [`Groups`], which follows mail-parser's rules and carries a group begun from one batch to
/// the next. Either way the result is the same as decoding `src` whole by those rules.
pub(super) struct Decoder<'a> {
    /// The text not gathered yet.
    rest: &'a [u8],
    /// Gathered letters, then decoded bytes; allocated at the first batch, freed at the end.
    batch: Vec<u8>,
    out: Vec<u8>,
    /// Decoded bytes in `out`, and how many of them were consumed.
    decoded: usize,
    at: usize,
    groups: Groups,
    total: usize,
    invalid: bool,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(src: &'a [u8]) -> Decoder<'a> {
        Decoder {
            rest: src,
            batch: Vec::new(),
            out: Vec::new(),
            decoded: 0,
            at: 0,
            groups: Groups::default(),
            total: 0,
            invalid: false,
        }
    }

    /// About how many decoded bytes are left.
    pub(super) fn left(&self) -> usize {
        self.rest.len() / 4 * 3 + (self.decoded - self.at)
    }

    /// The decoded bytes not consumed yet, decoding the next batch when there are none: empty
    /// at the end, `None` when the cut is refused.
    pub(super) fn peek(&mut self) -> Option<&[u8]> {
        while self.at == self.decoded && !self.invalid {
            if self.rest.is_empty() {
                if self.groups.letters != 0 {
                    self.invalid = true;
                }
                (self.batch, self.out) = (Vec::new(), Vec::new());
                (self.decoded, self.at) = (0, 0);
                break;
            }
            if self.next_batch().is_none() {
                self.invalid = true;
            }
        }
        (!self.invalid).then(|| &self.out[self.at..self.decoded])
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.at += n;
    }

    /// Gathers up to a batch of letters from the lines left and decodes them into `out`.
    fn next_batch(&mut self) -> Option<()> {
        if self.batch.capacity() == 0 {
            self.batch.reserve_exact(BATCH);
            self.out.resize(OUT, 0);
        }
        self.batch.clear();
        while self.batch.len() < BATCH && !self.rest.is_empty() {
            let (line, next) = match memchr::memchr(b'\n', self.rest) {
                Some(lf) => (&self.rest[..lf], &self.rest[lf + 1..]),
                None => (self.rest, &[][..]),
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let take = line.len().min(BATCH - self.batch.len());
            self.batch.extend_from_slice(&line[..take]);
            // A line longer than the room left is taken up again at the next batch.
            self.rest = if take < line.len() {
                &self.rest[take..]
            } else {
                next
            };
        }
        // Whole groups of letters go to the vectorised decoder: the whole batch, or, when it is
        // the last, all but the group holding the padding. Groups decodes what is left.
        let letters = &self.batch[..];
        let (mut fast, mut decoded) = (0, 0);
        if self.groups.letters == 0 && letters.len().is_multiple_of(4) {
            for head in [letters.len(), letters.len().saturating_sub(4)] {
                let simd = base64_simd::STANDARD_NO_PAD;
                if let Ok(d) = simd.decode(&letters[..head], self.out.as_mut_slice().as_out()) {
                    (fast, decoded) = (head, d.len());
                    break;
                }
            }
        }
        decoded += self
            .groups
            .decode(&letters[fast..], &mut self.out[decoded..])?;
        (self.decoded, self.at) = (decoded, 0);
        self.total += decoded;
        Some(())
    }
}

/// mail-parser's base64 decoder, one letter at a time, with its state kept between batches:
/// the letters of the group begun.
#[derive(Default)]
struct Groups {
    group: u32,
    letters: u8,
}

impl Groups {
    /// Decodes `src` into `out`, which has room for it (a batch at most, and a group begun
    /// before); returns the length written, or `None` at a byte that stops the decoder.
    fn decode(&mut self, src: &[u8], out: &mut [u8]) -> Option<usize> {
        let mut n = 0;
        for &ch in src {
            let v = BASE64[usize::from(ch)];
            if v < 64 {
                self.group = self.group << 6 | u32::from(v);
                self.letters = (self.letters + 1) & 3;
                if self.letters == 0 {
                    out[n..n + 3].copy_from_slice(&self.group.to_be_bytes()[1..]);
                    n += 3;
                }
            } else if ch == b'=' {
                let group = self.group;
                let tail: &[u8] = match self.letters {
                    1 => &[(group << 2) as u8],
                    2 => &[(group >> 4) as u8],
                    3 => &[(group >> 10) as u8, (group >> 2) as u8],
                    _ => &[],
                };
                out[n..n + tail.len()].copy_from_slice(tail);
                n += tail.len();
                self.letters = 0;
            } else if !matches!(ch, b'\n' | b'\r' | b' ' | b'\t') {
                return None;
            }
        }
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::parsers::MessageStream;

    fn decoded(src: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let len = decode(src, |piece| out.extend_from_slice(piece));
        (len == Some(out.len())).then_some(out)
    }

    /// What mail-parser's decoder makes of `src`, or `None` where [`decode`] must refuse it: a
    /// byte other than a letter, `=` or a blank (mail-parser stops at most of them and skips a
    /// lone `-`, which no cut holds), or a group left open at the end.
    fn reference(src: &[u8]) -> Option<Vec<u8>> {
        let (end, bytes) = MessageStream::new(src).decode_base64_mime(b"");
        let allowed = |b: &u8| BASE64[usize::from(*b)] < 64 || b"= \t\r\n".contains(b);
        let letters = src.iter().rev().take_while(|&&b| b != b'=');
        let open = letters.filter(|&&b| BASE64[usize::from(b)] < 64).count() % 4 != 0;
        (end == src.len() && src.iter().all(allowed) && !open).then(|| bytes.into_owned())
    }

    /// The decoder agrees with mail-parser's on random text made of the bytes a cut may hold.
    #[test]
    fn decoding_matches_mail_parser() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/\
                         AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\
                         ==\n\n\r \t";
        let mut next = crate::test_rng::xorshift(0x2545_f491_4f6c_dd1d);
        for round in 0..2000 {
            let len = if round % 100 == 0 {
                70_000
            } else {
                next() % 300
            };
            let src: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            assert_eq!(
                MessageStream::new(&src).decode_base64_mime(b"").0,
                src.len()
            );
            assert_eq!(decoded(&src), reference(&src), "{src:?}");
        }
        // Bytes at which the parser's decoder stops are refused.
        assert_eq!(decoded(b"QUJD\n-QUJD\n"), None);
        assert_eq!(decoded(b"QUJD.\n"), None);
        assert_eq!(decoded(b"QUJD\xc3\xa9\n"), None);
    }

    /// Bodies as mail carries them (lines of whole groups, padding at the end, LF or CRLF,
    /// up to several batches long), intact and with a few bytes changed: the vectorised path
    /// and the one letter at a time give together what mail-parser's decoder gives.
    #[test]
    fn wrapped_bodies_decode_as_mail_parser_does() {
        let changes = b"==  \t\r\n\nAz+/.-\x80";
        let mut next = crate::test_rng::xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..400u64 {
            let data: Vec<u8> = (0..next() % 50_000).map(|_| next() as u8).collect();
            let text = base64_simd::STANDARD.encode_to_string(&data);
            let width = [76, 72, 64, 4, 77, 1 << 20][(round % 6) as usize];
            let eol: &[u8] = if round % 2 == 0 { b"\n" } else { b"\r\n" };
            let mut src = Vec::new();
            for line in text.as_bytes().chunks(width) {
                src.extend_from_slice(line);
                src.extend_from_slice(eol);
            }
            if round % 4 == 0 {
                assert_eq!(decoded(&src).as_deref(), Some(data.as_slice()));
            }
            for _ in 0..round % 4 {
                let at = (next() % (src.len() as u64 + 1)) as usize;
                let byte = changes[(next() % changes.len() as u64) as usize];
                if next().is_multiple_of(2) && at < src.len() {
                    src[at] = byte;
                } else {
                    src.insert(at, byte);
                }
            }
            assert_eq!(decoded(&src), reference(&src), "round {round}");
        }
    }

    #[test]
    fn cuts_only_whole_base64_lines() {
        let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\n";
        let body = line.repeat(40);
        let raw = format!(
            "Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
             Content-Transfer-Encoding: Base64 \nContent-Type: application/pdf\n\n{body}--b--\n"
        );
        let view = cut(raw.as_bytes()).unwrap();
        assert_eq!(view.cuts.len(), 1);
        let c = &view.cuts[0];
        assert_eq!(&raw.as_bytes()[c.start..c.end], body.as_bytes());
        assert_eq!(&view.bytes[c.view_pos..], b"--b--\n");

        // A short body is not worth a cut.
        let short = raw.replace(&body, line);
        assert!(cut(short.as_bytes()).is_none());
    }
}
