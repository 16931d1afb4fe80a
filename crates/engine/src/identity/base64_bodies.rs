//! Base64 bodies kept away from the MIME parser.
//!
//! mail-parser decodes every base64 part while it parses, a byte at a time, and that was a third
//! of the time of a receipt. Here the base64 lines of a part are cut out of the text the parser
//! reads (it then sees an empty body), and decoded afterwards by a table decoder, four bytes at a
//! time, straight into the hash. The decoder reproduces mail-parser's `decode_base64_mime` byte
//! for byte; the caller checks that every cut landed in a base64 part the parser decoded without
//! trouble and that the decoder accepts every cut, and otherwise parses the original bytes
//! instead.

use memchr::memmem;

/// Shorter bodies are left to the parser: cutting them saves less than the copy costs.
const MIN_CUT: usize = 1024;

/// One body removed from the parser's view.
pub(super) struct Cut {
    /// Where the body was, in the view: the `offset_body` of the part it belongs to.
    pub(super) view_pos: usize,
    /// The removed bytes, in the original.
    pub(super) start: usize,
    pub(super) end: usize,
}

/// The message as the parser gets it: the original with the cut bodies left out.
pub(super) struct View {
    pub(super) bytes: Vec<u8>,
    /// In increasing order of `view_pos` (and of `start`).
    pub(super) cuts: Vec<Cut>,
}

/// Cuts the bodies of parts whose header says `Content-Transfer-Encoding: base64`, or returns
/// `None` when there is nothing worth cutting.
///
/// A cut spans whole lines, starts right after the empty line ending a header and ends before
/// the first `-` (which may start a boundary). When [`decode`] accepts it, it holds only bytes
/// the parser's decoder consumes without stopping, and a whole number of 4-letter groups: that
/// decoder then ends in the same state whether or not it has read the cut, so it finds the same
/// boundary afterwards, and the content is the cut's decoding followed by what the parser
/// decoded from the rest.
pub(super) fn cut(raw: &[u8]) -> Option<View> {
    let finder = memmem::Finder::new(b"ransfer-");
    let mut cuts = Vec::new();
    let mut pos = 0;
    let mut removed = 0;
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
        if !is_base64_field(&raw[line_start..line_end]) {
            continue;
        }
        let Some(body) = header_end(raw, line_end) else {
            break;
        };
        pos = body;
        let stop = memchr::memchr(b'-', &raw[body..]).map_or(raw.len(), |p| body + p);
        if let Some(end) = memchr::memrchr(b'\n', &raw[body..stop]).map(|p| body + p + 1)
            && end - body >= MIN_CUT
        {
            cuts.push(Cut {
                view_pos: body - removed,
                start: body,
                end,
            });
            removed += end - body;
            pos = end;
        }
    }
    if cuts.is_empty() {
        return None;
    }
    let mut bytes = Vec::with_capacity(raw.len() - removed);
    let mut from = 0;
    for c in &cuts {
        bytes.extend_from_slice(&raw[from..c.start]);
        from = c.end;
    }
    bytes.extend_from_slice(&raw[from..]);
    Some(View { bytes, cuts })
}

/// `Content-Transfer-Encoding: base64` (any case, blanks around the value, optional CR).
fn is_base64_field(line: &[u8]) -> bool {
    const NAME: &[u8] = b"content-transfer-encoding:";
    let Some(value) = line
        .get(..NAME.len())
        .filter(|name| name.eq_ignore_ascii_case(NAME))
        .map(|_| &line[NAME.len()..])
    else {
        return false;
    };
    value.trim_ascii().eq_ignore_ascii_case(b"base64")
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

/// Decoded bytes handed to the caller at once.
const OUT: usize = 16 * 1024;

/// Decodes a cut exactly as mail-parser's `decode_base64_mime` does (SP, HT, CR and LF skipped;
/// `=` ends a group early, a lone letter included, and decoding carries on after it), passing
/// the output to `emit` in pieces. Returns the decoded length, or `None` when `src` holds a byte
/// at which that decoder stops or ends inside a group, that is when it is not a valid cut.
pub(super) fn decode(src: &[u8], mut emit: impl FnMut(&[u8])) -> Option<usize> {
    let mut out = [0u8; OUT];
    let mut n = 0;
    let mut total = 0;
    let mut group: u32 = 0;
    let mut letters = 0u8;
    let mut i = 0;
    while i < src.len() {
        if n + 3 > OUT {
            emit(&out[..n]);
            total += n;
            n = 0;
        }
        if letters == 0 {
            // Whole groups, up to the end of the line or of the buffer.
            while let Some(&[a, b, c, d]) = src.get(i..).and_then(|r| r.first_chunk::<4>())
                && n + 3 <= OUT
            {
                let (a, b, c, d) = (
                    BASE64[usize::from(a)],
                    BASE64[usize::from(b)],
                    BASE64[usize::from(c)],
                    BASE64[usize::from(d)],
                );
                if (a | b | c | d) >= 64 {
                    break;
                }
                let w = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
                out[n..n + 3].copy_from_slice(&w.to_be_bytes()[1..]);
                n += 3;
                i += 4;
            }
            if n + 3 > OUT || i >= src.len() {
                continue;
            }
        }
        let ch = src[i];
        i += 1;
        let v = BASE64[usize::from(ch)];
        if v < 64 {
            group = group << 6 | u32::from(v);
            letters = (letters + 1) & 3;
            if letters == 0 {
                out[n..n + 3].copy_from_slice(&group.to_be_bytes()[1..]);
                n += 3;
            }
        } else if ch == b'=' {
            match letters {
                1 => {
                    out[n] = (group << 2) as u8;
                    n += 1;
                }
                2 => {
                    out[n] = (group >> 4) as u8;
                    n += 1;
                }
                3 => {
                    out[n..n + 2].copy_from_slice(&[(group >> 10) as u8, (group >> 2) as u8]);
                    n += 2;
                }
                _ => {}
            }
            letters = 0;
        } else if !matches!(ch, b'\n' | b'\r' | b' ' | b'\t') {
            return None;
        }
    }
    emit(&out[..n]);
    (letters == 0).then_some(total + n)
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

    /// The decoder agrees with mail-parser's on random text made of the bytes a cut may hold.
    #[test]
    fn decoding_matches_mail_parser() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/\
                         AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\
                         ==\n\n\r \t";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..2000 {
            let len = if round % 100 == 0 {
                70_000
            } else {
                next() % 300
            };
            let src: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let (end, reference) = MessageStream::new(&src).decode_base64_mime(b"");
            assert_eq!(end, src.len());
            let letters = src.iter().rev().take_while(|&&b| b != b'=');
            if letters.filter(|&&b| BASE64[usize::from(b)] < 64).count() % 4 == 0 {
                assert_eq!(
                    decoded(&src).as_deref(),
                    Some(reference.as_ref()),
                    "{src:?}"
                );
            } else {
                assert_eq!(decoded(&src), None, "{src:?}");
            }
        }
        // Bytes at which the parser's decoder stops are refused.
        assert_eq!(decoded(b"QUJD\n-QUJD\n"), None);
        assert_eq!(decoded(b"QUJD.\n"), None);
        assert_eq!(decoded(b"QUJD\xc3\xa9\n"), None);
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
