//! Quoted-printable bodies decoded apart from the MIME parser (see [`super::cut_bodies`]).
//!
//! mail-parser decodes them a byte at a time into a buffer it grows as it goes: 5% of the CPU
//! time of a receipt of ordinary mail, most of it spent on plain letters. Here runs of plain
//! letters are copied whole, and only `=`, CR and LF go through mail-parser's rules.

use memchr::memmem;

/// Value of each hexadecimal digit (either case); -1 for every other byte.
static HEX: [i8; 256] = {
    let mut table = [-1; 256];
    let digits = b"0123456789ABCDEF";
    let mut i = 0;
    while i < 16 {
        table[digits[i] as usize] = i as i8;
        table[digits[i].to_ascii_lowercase() as usize] = i as i8;
        i += 1;
    }
    table
};

/// The blanks mail-parser drops at the end of a line (its other whitespace, CR and LF, has a
/// meaning of its own).
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\x0c')
}

/// The boundaries a message seems to declare (the values of its `boundary=` parameters), to
/// know before it is parsed where a part may end. The parse of the text with cuts is checked
/// against the boundaries the parser found ([`holds_boundary`]), so one missed here (in an
/// unusual spelling) costs a second parse, not a wrong one.
pub(super) fn declared_boundaries(raw: &[u8]) -> Vec<&[u8]> {
    memmem::find_iter(raw, b"oundary=")
        .filter(|&p| p > 0 && matches!(raw[p - 1], b'b' | b'B'))
        .filter_map(|p| {
            let value = &raw[p + 8..];
            let value = match value.strip_prefix(b"\"") {
                Some(quoted) => &quoted[..memchr::memchr(b'"', quoted)?],
                None => {
                    let end = value.iter().position(|&b| b";\r\n \t".contains(&b));
                    &value[..end.unwrap_or(value.len())]
                }
            };
            (!value.is_empty()).then_some(value)
        })
        .collect()
}

/// Every offset from `from` (to `to`) where `--` starts, overlapping ones included.
fn dashes(raw: &[u8], from: usize, to: usize) -> impl Iterator<Item = usize> + '_ {
    let mut at = from;
    std::iter::from_fn(move || {
        let p = at + memmem::find(&raw[at..to], b"--")?;
        at = p + 1;
        Some(p)
    })
}

/// Whether `--` and one of `boundaries` start at `at`: where the parser's decoder ends a part
/// (anywhere, even inside a line).
fn boundary_at(raw: &[u8], at: usize, boundaries: &[&[u8]]) -> bool {
    boundaries.iter().any(|b| raw[at + 2..].starts_with(b))
}

/// Whether the cut `raw[start..end]` holds a place where the parser's decoder, with one of
/// `boundaries` as the part's, would have ended the part.
pub(super) fn holds_boundary(raw: &[u8], start: usize, end: usize, boundaries: &[&[u8]]) -> bool {
    dashes(raw, start, end).any(|p| boundary_at(raw, p, boundaries))
}

/// Where the cut of a quoted-printable body starting at `body` ends, or `None` when it would be
/// empty. Once the cut is taken out, the parser's decoder must read the rest of the part as it
/// would have after the cut, so the cut:
///
/// - ends before the first `--` followed by one of the `boundaries` (or before the first `--`
///   when none is known): no boundary can be found in it;
/// - ends at a line break that is not soft (`=` at the end of the line): the decoder is then
///   between lines with nothing pending, and the text decoded from the cut ends with a line
///   break, where a part's charset can be decoded in two pieces;
/// - is not followed by `--`: after a line break that decoder ends the part one line break
///   earlier than it would at the start of its text;
/// - when it holds a CR, is followed by a line that also ends in CR LF: the decoder writes line
///   breaks as CR LF from the first CR it meets in a part, and starts over without one.
///
/// The decoder checks the rest ([`decode`]).
pub(super) fn cut_end(raw: &[u8], body: usize, boundaries: &[&[u8]]) -> Option<usize> {
    let stop = dashes(raw, body, raw.len())
        .find(|&p| boundaries.is_empty() || boundary_at(raw, p, boundaries))
        .unwrap_or(raw.len());
    let line_start =
        |end: usize| memchr::memrchr(b'\n', &raw[body..end]).map_or(body, |p| body + p + 1);
    let mut end = line_start(stop);
    while end > body {
        let line = &raw[line_start(end - 1)..end - 1];
        let kept = line.iter().rposition(|&b| !is_blank(b) && b != b'\r');
        let soft = kept.is_some_and(|k| line[k] == b'=');
        if !soft && !raw[end..].starts_with(b"--") {
            break;
        }
        end = line_start(end - 1);
    }
    if end == body {
        return None;
    }
    if memchr::memchr(b'\r', &raw[body..end]).is_some()
        && let Some(lf) = memchr::memchr(b'\n', &raw[end..])
        && memchr::memchr(b'\r', &raw[end..end + lf]).is_none()
    {
        return None;
    }
    Some(end)
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    /// Between escapes.
    Plain,
    /// After `=`.
    Eq,
    /// After `=` and one hexadecimal digit.
    Hex1(u8),
}

/// Decodes a cut exactly as mail-parser's `decode_quoted_printable_mime` does, appending to
/// `out` (its quirks included: CR is dropped wherever it is, blanks before a line break are
/// dropped, an `=` followed by anything but hexadecimal digits or blanks is kept as it is).
/// Returns false where that decoder fails (`=` inside an escape) or when `src` does not end
/// with a line break outside an escape, as a cut does ([`cut_end`]).
pub(super) fn decode(src: &[u8], out: &mut Vec<u8>) -> bool {
    let mut state = State::Plain;
    // Blanks written since the last other byte; dropped at a line break.
    let mut blanks = 0;
    let mut crlf: &[u8] = b"\n";
    let mut last = 0u8;
    let mut hard = false;
    let mut i = 0;
    while i < src.len() {
        if state == State::Plain {
            let end = memchr::memchr3(b'=', b'\n', b'\r', &src[i..]).map_or(src.len(), |p| i + p);
            if end > i {
                let run = &src[i..end];
                out.extend_from_slice(run);
                let trailing = run.iter().rev().take_while(|&&b| is_blank(b)).count();
                blanks = if trailing == run.len() {
                    blanks + trailing
                } else {
                    trailing
                };
                last = run[run.len() - 1];
                i = end;
                if i == src.len() {
                    break;
                }
            }
        }
        let ch = src[i];
        i += 1;
        match ch {
            b'=' if state != State::Plain => return false,
            b'=' => state = State::Eq,
            b'\n' => {
                // A soft break ends an escape. Anything else is a line break, written; an
                // escape begun with one digit carries on after it.
                if state == State::Eq {
                    state = State::Plain;
                    hard = false;
                } else {
                    out.truncate(out.len() - blanks);
                    out.extend_from_slice(crlf);
                    hard = state == State::Plain;
                }
                blanks = 0;
            }
            b'\r' => crlf = b"\r\n",
            _ => match state {
                State::Plain => {
                    out.push(ch);
                    blanks = if is_blank(ch) { blanks + 1 } else { 0 };
                }
                State::Eq => {
                    if let Ok(digit) = u8::try_from(HEX[usize::from(ch)]) {
                        state = State::Hex1(digit);
                    } else if !is_blank(ch) {
                        out.extend_from_slice(&[b'=', ch]);
                        blanks = 0;
                        state = State::Plain;
                    }
                }
                State::Hex1(high) => {
                    if let Ok(low) = u8::try_from(HEX[usize::from(ch)]) {
                        out.push(high << 4 | low);
                    } else {
                        out.extend_from_slice(&[b'=', last, ch]);
                    }
                    blanks = 0;
                    state = State::Plain;
                }
            },
        }
        last = ch;
    }
    hard && state == State::Plain && src.last() == Some(&b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::parsers::MessageStream;

    fn decoded(src: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        decode(src, &mut out).then_some(out)
    }

    /// The decoder agrees with mail-parser's wherever it accepts a cut, and refuses where that
    /// decoder fails, on random text made of the bytes that matter to it.
    #[test]
    fn decoding_matches_mail_parser() {
        let alphabet = b"abcdefABCDEF0123456789xyz=====\n\n\r\r  \t\x0c-\xc3\xa9";
        let mut next = crate::test_rng::xorshift(0x3c6e_f372_fe94_f82b);
        let (mut accepted, mut refused) = (0, 0);
        for round in 0..20_000 {
            let len = if round % 1000 == 0 {
                20_000
            } else {
                next() % 60
            };
            let mut src: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            if round % 2 == 0 {
                src.extend_from_slice(b"\r\n");
            }
            let (end, bytes) = MessageStream::new(&src).decode_quoted_printable_mime(b"");
            match decoded(&src) {
                Some(ours) => {
                    assert_eq!(end, src.len(), "{src:?}");
                    assert_eq!(ours, bytes.as_ref(), "{src:?}");
                    accepted += 1;
                }
                None => refused += 1,
            }
            if end == usize::MAX {
                assert_eq!(decoded(&src), None, "{src:?}");
            }
        }
        assert!(accepted > 2_000 && refused > 2_000, "{accepted} {refused}");
    }

    /// Quoted-printable text as mail carries it: accepted, and decoded as mail-parser does.
    #[test]
    fn encoded_text_decodes_as_mail_parser_does() {
        let text = "Grüße aus Zürich = 3 × 4 \t\r\n".repeat(40) + &"x".repeat(300) + "\r\n";
        for eol in ["\r\n", "\n"] {
            let mut src = String::new();
            for line in text.lines() {
                let mut width = 0;
                for b in line.bytes() {
                    let piece = if b == b'=' || !b.is_ascii() || b == b'\t' {
                        format!("={b:02X}")
                    } else {
                        (b as char).to_string()
                    };
                    if width + piece.len() > 75 {
                        src.push('=');
                        src.push_str(eol);
                        width = 0;
                    }
                    width += piece.len();
                    src.push_str(&piece);
                }
                src.push_str(eol);
            }
            let (_, bytes) = MessageStream::new(src.as_bytes()).decode_quoted_printable_mime(b"");
            assert_eq!(decoded(src.as_bytes()).as_deref(), Some(bytes.as_ref()));
        }
        // A soft break at the end, an escape left open, and `=` inside an escape are refused.
        assert_eq!(decoded(b"abc=\r\n"), None);
        assert_eq!(decoded(b"abc=4\r\n"), None);
        assert_eq!(decoded(b"a==41\r\n"), None);
        assert_eq!(decoded(b"abc"), None);
    }

    #[test]
    fn cuts_stop_before_boundaries_soft_breaks_and_changes_of_line_break() {
        let body = "line of plain text\r\n-- \r\n<!-- a comment -->\r\n".repeat(3);
        let raw = format!("H: x\r\n\r\n{body}last line\r\n--b--\r\n");
        let at = raw.find("\r\n\r\n").unwrap() + 4;
        let b: &[&[u8]] = &[b"b"];
        // The line before the boundary stays with the parser.
        assert_eq!(cut_end(raw.as_bytes(), at, b), Some(at + body.len()));
        // Not knowing the boundary, the cut ends before the first `--`.
        let plain = format!("H: x\r\n\r\n{}x -- y\r\nz\r\n", "plain\r\n".repeat(3));
        assert_eq!(cut_end(plain.as_bytes(), at, &[]), Some(at + 21));
        // A boundary inside a line: the cut ends before that line.
        let raw = format!("H: x\r\n\r\n{body}a ---b\r\nmore\r\n");
        assert_eq!(cut_end(raw.as_bytes(), at, b), Some(at + body.len()));
        assert!(holds_boundary(raw.as_bytes(), at, raw.len(), b));
        assert!(!holds_boundary(raw.as_bytes(), at, at + body.len(), b));
        // No boundary at all: every whole line.
        let raw = format!("H: x\r\n\r\n{body}tail");
        assert_eq!(cut_end(raw.as_bytes(), at, b), Some(at + body.len()));
        // A soft break is not an end.
        let raw = format!("H: x\r\n\r\n{body}soft =\r\nlast\r\n--b");
        assert_eq!(cut_end(raw.as_bytes(), at, b), Some(at + body.len()));
        // CR LF in the cut and a bare LF after it.
        let raw = format!("H: x\r\n\r\n{body}bare\n--b");
        assert_eq!(cut_end(raw.as_bytes(), at, b), None);
        // Nothing before the boundary.
        assert_eq!(cut_end(b"H: x\r\n\r\n--b--\r\n", at, b), None);
    }

    #[test]
    fn boundaries_are_found_quoted_or_not() {
        let raw = b"Content-Type: multipart/mixed; boundary=\"a b\"\r\n\r\n--a b\r\n\
                    Content-Type: multipart/alternative;\r\n Boundary=inner; x=y\r\n";
        assert_eq!(declared_boundaries(raw), [&b"a b"[..], b"inner"]);
    }
}
