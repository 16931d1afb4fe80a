//! `UID FETCH` read straight from the connection. async-imap reads every response into a
//! buffer it grows by zero-filling, and a message's body is one response: each big message
//! was fresh pages faulted in and zeroed twice before the body arrived, and small ones were
//! read 4 KB at a time (together about a third of the CPU time of the connections' threads).
//! Here the framing (lines and literals) is read in 64 KB reads, a message's body goes
//! straight into a buffer that is lent again once hashed ([`crate::recycle`]), and the rest of
//! each response is still parsed by imap-proto, with an empty literal in the body's place.
//!
//! async-imap still writes the command (it hands out the tags) and runs every other command.
//! A fetch is read to the end of a response, so async-imap's next command starts at one. Its
//! own buffer holds nothing after a completion unless the server sent more right behind it; a
//! response split that way fails to parse here and counts as a dropped connection, which is
//! reopened and resumed like any other.

use async_imap::imap_proto::{self, AttributeValue, RequestId, Response, Status};
use bytes::BufMut;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::conn::{ImapSession, Lost, silence, words};
use crate::source::MAX_MESSAGE;

/// One message's data from a `UID FETCH`.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    pub uid: u32,
    pub size: Option<u32>,
    pub flags: Vec<String>,
    pub internal_date: Option<String>,
    pub body: Option<Vec<u8>>,
    pub gm_msgid: Option<u64>,
    pub gm_labels: Vec<String>,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Done {
    Ok,
    /// NO or BAD, with the server's words.
    Refused(String),
}

/// A `UID FETCH` read response by response. async-imap's own `uid_fetch` drops the tagged
/// completion, so a NO (and the server's reason, which Mailproof must record for each message
/// it could not read) would be lost; this reads the responses itself.
pub(crate) struct UidFetch<'a> {
    responses: Responses<&'a mut Box<dyn super::conn::Io>>,
    tag: RequestId,
    pub done: Option<Done>,
}

impl<'a> UidFetch<'a> {
    pub async fn start(
        session: &'a mut ImapSession,
        set: &str,
        items: &str,
    ) -> std::result::Result<Self, Lost> {
        let tag = session
            .run_command(format!("UID FETCH {set} {items}"))
            .await?;
        Ok(Self {
            responses: Responses::new(session.get_mut()),
            tag,
            done: None,
        })
    }

    /// The next message, or `None` once the command completed (see [`UidFetch::done`]).
    pub async fn next(&mut self) -> std::result::Result<Option<Fetched>, Lost> {
        if self.done.is_some() {
            return Ok(None);
        }
        loop {
            let Frame { text, mut body } = self.responses.next().await?;
            let (rest, response) = imap_proto::parser::parse_response(&text).map_err(|_| {
                Lost(format!(
                    "the server's answer could not be read: {}",
                    String::from_utf8_lossy(&text[..text.len().min(200)]).trim_end()
                ))
            })?;
            if !rest.is_empty() {
                return Err(Lost("the server sent more than one answer at once".into()));
            }
            match response {
                Response::Fetch(_, attrs) => {
                    let mut f = Fetched::default();
                    for attr in &attrs {
                        match attr {
                            AttributeValue::Uid(uid) => f.uid = *uid,
                            AttributeValue::Rfc822Size(n) => f.size = Some(*n),
                            AttributeValue::Flags(flags) => {
                                f.flags = flags.iter().map(|s| s.to_string()).collect()
                            }
                            AttributeValue::InternalDate(d) => {
                                f.internal_date = Some(d.to_string())
                            }
                            AttributeValue::BodySection {
                                section: None,
                                data,
                                ..
                            } => {
                                f.body = Some(body.take().unwrap_or_else(|| {
                                    data.as_deref().unwrap_or_default().to_vec()
                                }))
                            }
                            AttributeValue::GmailMsgId(id) => f.gm_msgid = Some(*id),
                            AttributeValue::GmailLabels(labels) => {
                                f.gm_labels = labels.iter().map(|s| s.to_string()).collect()
                            }
                            _ => {}
                        }
                    }
                    // A FETCH without a UID is an unsolicited flag update from another client.
                    if f.uid != 0 {
                        return Ok(Some(f));
                    }
                }
                Response::Done {
                    tag,
                    status,
                    information,
                    code,
                } if tag == self.tag => {
                    self.done = Some(match status {
                        Status::Ok => Done::Ok,
                        _ => Done::Refused(words(code.as_ref(), information.as_deref())),
                    });
                    // Whatever the server sent after the completion is read to the end of its
                    // answer, so async-imap's next command starts at an answer's start.
                    while self.responses.buffered() {
                        self.responses.next().await?;
                    }
                    return Ok(None);
                }
                Response::Data {
                    status: Status::Bye,
                    information,
                    ..
                } => {
                    return Err(Lost(format!(
                        "the server ended the session: {}",
                        information.as_deref().unwrap_or("BYE")
                    )));
                }
                _ => {}
            }
            if let Some(body) = body {
                crate::recycle::give_back(body);
            }
        }
    }
}

/// Bytes asked of the connection at once.
const READ: usize = 64 << 10;

/// The longest response kept whole apart from a message's body (lines and other literals):
/// flags, labels and dates never come near it, so more is a broken or hostile server.
const MOST_TEXT: usize = 16 << 20;

/// One response: its text with an empty literal (`{0}`) in place of the message's body, which
/// is kept apart.
struct Frame {
    text: Vec<u8>,
    body: Option<Vec<u8>>,
}

/// Responses cut from the connection's bytes.
struct Responses<R> {
    io: R,
    /// Bytes read and not yet used: `buf[at..]`.
    buf: Vec<u8>,
    at: usize,
}

impl<R: AsyncRead + Unpin> Responses<R> {
    fn new(io: R) -> Self {
        Self {
            io,
            buf: Vec::with_capacity(READ),
            at: 0,
        }
    }

    /// Whether bytes of a further response were read already.
    fn buffered(&self) -> bool {
        self.at < self.buf.len()
    }

    /// Reads more of the connection into `buf`, after what is unused.
    async fn fill(&mut self) -> std::result::Result<(), Lost> {
        if self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        } else if self.at > 0 && self.buf.capacity() - self.buf.len() < READ / 2 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        self.buf.reserve(READ);
        read(&mut self.io, &mut self.buf).await.map(drop)
    }

    /// The next line (up to and including its LF), appended to `text`.
    async fn line(&mut self, text: &mut Vec<u8>) -> std::result::Result<(), Lost> {
        // Bytes after `at` already searched for the LF.
        let mut searched = 0;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.at + searched..]) {
                let end = self.at + searched + i + 1;
                text.extend_from_slice(&self.buf[self.at..end]);
                self.at = end;
                return Ok(());
            }
            searched = self.buf.len() - self.at;
            if text.len() + searched > MOST_TEXT {
                return Err(too_long());
            }
            self.fill().await?;
        }
    }

    /// `n` bytes of a literal, appended to `out`; bytes not read yet go straight into `out`
    /// when they are many.
    async fn literal(&mut self, n: usize, out: &mut Vec<u8>) -> std::result::Result<(), Lost> {
        let mut left = n;
        loop {
            let take = left.min(self.buf.len() - self.at);
            out.extend_from_slice(&self.buf[self.at..self.at + take]);
            self.at += take;
            left -= take;
            if left == 0 {
                return Ok(());
            }
            if left >= READ / 2 {
                out.reserve(left);
                left -= read(&mut self.io, &mut (&mut *out).limit(left)).await?;
                if left == 0 {
                    return Ok(());
                }
            } else {
                self.fill().await?;
            }
        }
    }

    /// The next response.
    async fn next(&mut self) -> std::result::Result<Frame, Lost> {
        let mut text = Vec::new();
        let mut body = None;
        loop {
            self.line(&mut text).await?;
            let Some((open, n)) = literal_at_end(&text) else {
                return Ok(Frame { text, body });
            };
            if body.is_none() && names_body(&text[..open]) {
                if n > MAX_MESSAGE {
                    return Err(Lost(format!(
                        "the server announced a message of {n} bytes, more than the {} GiB Mailproof reads",
                        MAX_MESSAGE >> 30
                    )));
                }
                text.truncate(open);
                text.extend_from_slice(b"{0}\r\n");
                let mut bytes = crate::recycle::take(n);
                self.literal(n, &mut bytes).await?;
                body = Some(bytes);
            } else {
                if text.len() + n > MOST_TEXT {
                    return Err(too_long());
                }
                self.literal(n, &mut text).await?;
            }
        }
    }
}

fn too_long() -> Lost {
    Lost(format!(
        "the server sent an answer of more than {} MB besides the message",
        MOST_TEXT >> 20
    ))
}

/// Reads once into `buf`'s spare room (never zero-filled), waiting at most [`silence`]: how
/// many bytes came, never none.
async fn read<R: AsyncRead + Unpin, B: BufMut>(
    io: &mut R,
    buf: &mut B,
) -> std::result::Result<usize, Lost> {
    let n = tokio::time::timeout(silence(), io.read_buf(buf))
        .await
        .map_err(|_| {
            Lost(format!(
                "the server sent nothing for {} s",
                silence().as_secs()
            ))
        })?
        .map_err(Lost::from)?;
    if n == 0 {
        return Err(Lost("the server closed the connection".into()));
    }
    Ok(n)
}

/// A line ending in a literal's announcement `{n}` (CRLF): where the `{` is, and `n`.
fn literal_at_end(line: &[u8]) -> Option<(usize, usize)> {
    let line = line.strip_suffix(b"\r\n")?.strip_suffix(b"}")?;
    let open = line.iter().rposition(|&b| b == b'{')?;
    let digits = &line[open + 1..];
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((open, usize::try_from(n).ok()?))
}

/// Whether a literal announced after `before` is the whole message: `BODY[] {n}`.
fn names_body(before: &[u8]) -> bool {
    before.len() >= 7 && before[before.len() - 7..].eq_ignore_ascii_case(b"BODY[] ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn frames(wire: &[u8]) -> Vec<(String, Option<Vec<u8>>)> {
        block_on(async {
            let mut r = Responses::new(wire);
            let mut out = Vec::new();
            loop {
                match r.next().await {
                    Ok(f) => out.push((String::from_utf8(f.text).unwrap(), f.body)),
                    Err(Lost(e)) => {
                        assert_eq!(e, "the server closed the connection");
                        return out;
                    }
                }
            }
        })
    }

    #[test]
    fn bodies_are_cut_out_and_other_literals_kept() {
        let big = vec![b'x'; 3 * READ + 5];
        let mut wire = Vec::new();
        wire.extend_from_slice(b"* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {5}\r\nab\r\nc)\r\n");
        wire.extend_from_slice(b"* 2 FETCH (UID 9 X-GM-LABELS ({3}\r\nl\"b) body[] ");
        wire.extend_from_slice(format!("{{{}}}\r\n", big.len()).as_bytes());
        wire.extend_from_slice(&big);
        wire.extend_from_slice(b")\r\n* 3 EXISTS\r\na1 OK done\r\n");
        let got = frames(&wire);
        assert_eq!(got.len(), 4);
        assert_eq!(
            got[0].0,
            "* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {0}\r\n)\r\n"
        );
        assert_eq!(got[0].1.as_deref(), Some(&b"ab\r\nc"[..]));
        assert_eq!(
            got[1].0,
            "* 2 FETCH (UID 9 X-GM-LABELS ({3}\r\nl\"b) body[] {0}\r\n)\r\n"
        );
        assert_eq!(got[1].1.as_deref(), Some(&big[..]));
        assert_eq!(got[2], ("* 3 EXISTS\r\n".into(), None));
        assert_eq!(got[3], ("a1 OK done\r\n".into(), None));
    }

    #[test]
    fn literal_announcements() {
        assert_eq!(
            literal_at_end(b"* 1 FETCH (BODY[] {12}\r\n"),
            Some((18, 12))
        );
        assert_eq!(literal_at_end(b"* OK {x}\r\n"), None);
        assert_eq!(literal_at_end(b"* OK {}\r\n"), None);
        assert_eq!(literal_at_end(b"* OK {12}\n"), None);
        assert_eq!(literal_at_end(b"* OK {99999999999}\r\n"), None);
        assert!(names_body(b"* 1 FETCH (UID 3 BODY[] "));
        assert!(!names_body(b"* 1 FETCH (UID 3 BODY[HEADER] "));
    }

    #[test]
    fn a_body_over_the_limit_is_refused_before_anything_is_held() {
        let wire = format!("* 1 FETCH (UID 1 BODY[] {{{}}}\r\nabc", MAX_MESSAGE + 1);
        let Err(Lost(e)) = block_on(Responses::new(wire.as_bytes()).next()) else {
            panic!("a body over the limit was accepted");
        };
        assert!(e.contains("more than the 1 GiB"), "{e}");
    }

    #[test]
    fn a_truncated_body_is_a_lost_connection() {
        let got = frames(b"* 1 FETCH (UID 1 BODY[] {10}\r\nabc");
        assert!(got.is_empty());
    }
}
