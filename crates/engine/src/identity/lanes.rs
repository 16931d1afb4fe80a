//! Every stream of a message's identity hashed two at a time.
//!
//! A message gives several SHA-256 streams: its raw bytes, its canonical form, each decoded
//! attachment, its body text and its letters. Two streams hash side by side in little more
//! time than one ([`sha256x2`]), so the streams are paired until all are done, each step taking
//! the two with the most left: for a message with an attachment, the raw bytes, the canonical
//! form and the attachment take turns, instead of the attachment being hashed alone after the
//! other two. The canonical form and the attachments are produced a window at a time as they
//! are hashed ([`Piece`]), so none of them is ever held whole.

use super::cut_bodies::Decoder;
use super::sha256x2::{self, Stream};
use super::{CanonicalBody, LfText};

/// Bytes of a held stream given at once: the pairs are chosen again after each step.
const STEP: usize = 16 * 1024;

/// Streams begun and not finished at most, since each may hold a window of its bytes (a decoded
/// batch of base64, 28 KB): three let the raw bytes, the canonical form and an attachment take
/// turns, while a message with thousands of attachments still opens them one after another.
const MAX_OPEN: usize = 3;

/// Where some of a stream's bytes come from.
pub(super) enum Piece<'a> {
    Bytes(&'a [u8]),
    /// Bytes held, and how many were hashed.
    Held(Vec<u8>, usize),
    /// A base64 body, decoded as it is hashed.
    Base64(Decoder<'a>),
    /// The body section of a message in canonical form, converted as it is hashed.
    Canonical(CanonicalBody<'a>),
    /// A text attachment, its line endings converted as it is hashed.
    LfText(LfText<'a>),
}

impl Piece<'_> {
    /// The next bytes: empty once all were consumed, `None` when a base64 body is refused.
    fn peek(&mut self) -> Option<&[u8]> {
        match self {
            Piece::Bytes(bytes) => Some(&bytes[..bytes.len().min(STEP)]),
            Piece::Held(bytes, at) => Some(&bytes[*at..bytes.len().min(*at + STEP)]),
            Piece::Base64(decoder) => decoder.peek(),
            Piece::Canonical(body) => Some(body.peek()),
            Piece::LfText(text) => Some(text.peek()),
        }
    }

    fn consume(&mut self, n: usize) {
        match self {
            Piece::Bytes(bytes) => *bytes = &bytes[n..],
            Piece::Held(_, at) => *at += n,
            Piece::Base64(decoder) => decoder.consume(n),
            Piece::Canonical(body) => body.consume(n),
            Piece::LfText(text) => text.consume(n),
        }
    }

    /// About how many bytes are left.
    fn left(&self) -> usize {
        match self {
            Piece::Bytes(bytes) => bytes.len(),
            Piece::Held(bytes, at) => bytes.len() - at,
            Piece::Base64(decoder) => decoder.left(),
            Piece::Canonical(body) => body.left(),
            Piece::LfText(text) => text.left(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Open,
    Done,
    /// A base64 body of the stream was refused: its digest means nothing.
    Refused,
}

/// One stream to hash: its SHA-256 so far and where its remaining bytes come from, in order.
pub(super) struct Job<'a> {
    stream: Stream,
    pieces: Vec<Piece<'a>>,
    /// The piece being hashed.
    next: usize,
    state: State,
}

impl<'a> Job<'a> {
    pub(super) fn new(pieces: Vec<Piece<'a>>) -> Job<'a> {
        Job::resume(Stream::new(), pieces)
    }

    /// A stream of which some bytes are hashed already.
    pub(super) fn resume(stream: Stream, pieces: Vec<Piece<'a>>) -> Job<'a> {
        Job {
            stream,
            pieces,
            next: 0,
            state: State::Waiting,
        }
    }

    fn left(&self) -> usize {
        self.pieces[self.next..].iter().map(Piece::left).sum()
    }

    /// Moves to the next bytes at hand, from the next piece at the end of one: how many there
    /// are, or `None` once the job is done or refused.
    fn ready(&mut self) -> Option<usize> {
        while let Some(piece) = self.pieces.get_mut(self.next) {
            match piece.peek().map(<[u8]>::len) {
                None => {
                    self.state = State::Refused;
                    return None;
                }
                Some(0) => self.next += 1,
                Some(n) => return Some(n),
            }
        }
        self.state = State::Done;
        None
    }

    /// Hashes the first `n` bytes at hand (after [`Job::ready`]) alone.
    fn hash_alone(&mut self, n: usize) {
        let piece = &mut self.pieces[self.next];
        self.stream.update(&at_hand(piece)[..n]);
        piece.consume(n);
    }

    /// Its digest and length, or `None` when one of its base64 bodies was refused. Only for a
    /// job [`hash_all`] has finished.
    pub(super) fn digest(&self) -> Option<([u8; 32], u64)> {
        debug_assert!(matches!(self.state, State::Done | State::Refused));
        (self.state == State::Done).then(|| (self.stream.clone().finish(), self.stream.len()))
    }

    /// The pieces, for what they learned while hashed (the line endings of a canonical body).
    pub(super) fn pieces(&self) -> &[Piece<'a>] {
        &self.pieces
    }
}

/// Hashes every job to its end, two at a time, each step taking the two with the most left
/// among those begun, and those not begun while fewer than [`MAX_OPEN`] are.
pub(super) fn hash_all(jobs: &mut [Job<'_>]) {
    // Jobs not begun, most bytes first; what is left of them does not change while they wait.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].left()));
    let mut first_waiting = 0;
    let mut open: Vec<usize> = Vec::with_capacity(MAX_OPEN);
    let mut candidates: Vec<(usize, usize)> = Vec::with_capacity(MAX_OPEN + 2);
    loop {
        open.retain(|&i| jobs[i].state == State::Open);
        while order
            .get(first_waiting)
            .is_some_and(|&i| jobs[i].state != State::Waiting)
        {
            first_waiting += 1;
        }
        candidates.clear();
        candidates.extend(open.iter().map(|&i| (jobs[i].left(), i)));
        let room = (MAX_OPEN - open.len()).min(2);
        let waiting = order[first_waiting..].iter().copied();
        let waiting = waiting.filter(|&i| jobs[i].state == State::Waiting);
        candidates.extend(waiting.take(room).map(|i| (jobs[i].left(), i)));
        // Stable: of equal ones, those begun first.
        candidates.sort_by_key(|&(left, _)| std::cmp::Reverse(left));
        for &(_, i) in candidates.iter().take(2) {
            if jobs[i].state == State::Waiting {
                jobs[i].state = State::Open;
                open.push(i);
            }
        }
        match candidates[..] {
            [(_, i), (_, j), ..] => {
                let (a, b) = two(jobs, i, j);
                step(a, b);
            }
            [(_, i)] => {
                let job = &mut jobs[i];
                while let Some(n) = job.ready() {
                    job.hash_alone(n);
                }
            }
            [] => return,
        }
    }
}

/// Hashes the next bytes of two jobs side by side: as many of each as both have at hand.
fn step(a: &mut Job<'_>, b: &mut Job<'_>) {
    let (Some(x), Some(y)) = (a.ready(), b.ready()) else {
        // One of them is finished; the other goes on at the next step.
        return;
    };
    let n = x.min(y);
    let (first, second) = (&mut a.pieces[a.next], &mut b.pieces[b.next]);
    sha256x2::update_pair(
        &mut a.stream,
        &at_hand(first)[..n],
        &mut b.stream,
        &at_hand(second)[..n],
    );
    first.consume(n);
    second.consume(n);
}

/// The bytes at hand of a piece [`Job::ready`] found some in.
fn at_hand<'p>(piece: &'p mut Piece<'_>) -> &'p [u8] {
    piece.peek().unwrap_or_default()
}

/// Two distinct elements of a slice, mutably.
fn two<T>(items: &mut [T], i: usize, j: usize) -> (&mut T, &mut T) {
    debug_assert_ne!(i, j);
    if i < j {
        let (low, high) = items.split_at_mut(j);
        (&mut low[i], &mut high[0])
    } else {
        let (low, high) = items.split_at_mut(i);
        (&mut high[0], &mut low[j])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Any number of streams made of any pieces, of any lengths, get `sha2`'s digests of their
    /// bytes and their lengths; a stream with a refused base64 body is reported as such, and
    /// the others are not disturbed by it.
    #[test]
    fn every_stream_gets_its_digest() {
        let mut next = crate::test_rng::xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..200u64 {
            let count = [0, 1, 2, 3, 7, 40][(round % 6) as usize];
            let mut texts = Vec::new();
            let mut expected = Vec::new();
            for _ in 0..count {
                let size = |n: u64| (n % [10, 3000, 70_000][(n % 3) as usize]) as usize;
                let data: Vec<u8> = (0..size(next())).map(|_| next() as u8).collect();
                let mut text = base64_simd::STANDARD.encode_to_string(&data).into_bytes();
                let refused = next().is_multiple_of(11);
                if refused {
                    text.push(b'!');
                }
                let lines: Vec<&[u8]> = text.chunks(76).collect();
                let tail: Vec<u8> = (0..size(next())).map(|_| next() as u8).collect();
                let held: Vec<u8> = (0..size(next())).map(|_| next() as u8).collect();
                let whole = [data, tail.clone(), held.clone()].concat();
                let digest = <[u8; 32]>::from(Sha256::digest(&whole));
                expected.push((!refused).then_some((digest, whole.len() as u64)));
                texts.push((lines.join(&b"\r\n"[..]), tail, held));
            }
            let mut jobs: Vec<Job<'_>> = texts
                .iter()
                .map(|(text, tail, held)| {
                    Job::new(vec![
                        Piece::Base64(Decoder::new(text)),
                        Piece::Bytes(tail),
                        Piece::Held(held.clone(), 0),
                    ])
                })
                .collect();
            hash_all(&mut jobs);
            let digests: Vec<_> = jobs.iter().map(Job::digest).collect();
            assert_eq!(digests, expected, "round {round}");
        }
    }
}
