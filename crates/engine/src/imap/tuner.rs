//! How many connections to read an account with.
//!
//! More connections help when each one is held back on its own: a remote server's
//! per-connection rate, a long round trip, a slow disk behind one server process. They cost
//! CPU when the client is what limits (hashing on a small machine next to the server: on two
//! cores, four connections took more client and server CPU than one and finished later). Which
//! case applies cannot be told in advance, so unless the user fixes the number, reading starts
//! with one connection and adds one at a time while each addition makes messages arrive clearly
//! faster, up to a maximum; an addition that does not pay is taken back. Every so often the
//! next step is tried again, as a long run's conditions change.

use std::time::{Duration, Instant};

/// A measurement covers at least this many bytes...
const WINDOW_BYTES: u64 = 8 << 20;

/// ...and at least this long, so that one big message or a pause between folders does not
/// decide alone.
const WINDOW_TIME: Duration = Duration::from_millis(300);

/// An added connection is kept when the rate with it is at least this much higher.
const GAIN: f64 = 1.25;

/// Measurements after which a settled count is questioned again.
const REPROBE: u32 = 64;

pub(super) struct Tuner {
    max: usize,
    now: usize,
    /// The first window, and the one after each change, are not measured: reading is still
    /// starting (the first folder's index, the pipeline filling), or the new connection still
    /// logs in and opens the folder.
    settling: bool,
    /// The rate with one connection fewer, while a step up is measured.
    before: Option<f64>,
    /// Measurements left before the next step up is tried.
    wait: u32,
    /// The current window: its start and the bytes delivered since.
    start: Option<Instant>,
    bytes: u64,
}

impl Tuner {
    /// Starts with one connection and adds up to `max`.
    pub(super) fn adaptive(max: usize) -> Tuner {
        Tuner {
            max: max.max(1),
            now: 1,
            settling: true,
            before: None,
            wait: 1,
            start: None,
            bytes: 0,
        }
    }

    /// Always `n` connections.
    pub(super) fn fixed(n: usize) -> Tuner {
        let n = n.max(1);
        Tuner {
            now: n,
            ..Tuner::adaptive(n)
        }
    }

    /// The connections to read with now.
    pub(super) fn now(&self) -> usize {
        self.now
    }

    /// Counts `bytes` delivered at `at`; true when the count of connections changed.
    pub(super) fn delivered(&mut self, bytes: u64, at: Instant) -> bool {
        if self.max == 1 {
            return false;
        }
        let start = *self.start.get_or_insert(at);
        self.bytes += bytes;
        let took = at.duration_since(start);
        if self.bytes < WINDOW_BYTES || took < WINDOW_TIME {
            return false;
        }
        let rate = self.bytes as f64 / took.as_secs_f64();
        (self.start, self.bytes) = (Some(at), 0);
        if std::mem::take(&mut self.settling) {
            return false;
        }
        let was = self.now;
        match self.before.take() {
            // A step up that paid: keep it and try the next.
            Some(before) if rate >= before * GAIN => self.step_up(rate),
            // One that did not: take it back, and try again much later.
            Some(_) => {
                self.now -= 1;
                self.wait = REPROBE;
            }
            None => {
                self.wait = self.wait.saturating_sub(1);
                if self.wait == 0 {
                    self.step_up(rate);
                }
            }
        }
        self.settling = self.now != was;
        self.now != was
    }

    fn step_up(&mut self, rate: f64) {
        if self.now < self.max {
            self.now += 1;
            self.before = Some(rate);
        } else {
            self.wait = REPROBE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds a tuner with messages of 1 MB arriving at the rate `rate(connections)` (MB/s),
    /// for `seconds`; returns the counts it used, in order, each once per change.
    fn run(tuner: &mut Tuner, seconds: f64, rate: impl Fn(usize) -> f64) -> Vec<usize> {
        let t0 = Instant::now();
        let mut at = 0.0;
        let mut counts = vec![tuner.now()];
        while at < seconds {
            at += 1.0 / rate(tuner.now());
            if tuner.delivered(1 << 20, t0 + Duration::from_secs_f64(at)) {
                counts.push(tuner.now());
            }
        }
        counts
    }

    #[test]
    fn connections_are_added_while_each_one_pays() {
        // A server that gives each connection 20 MB/s.
        let mut tuner = Tuner::adaptive(4);
        let counts = run(&mut tuner, 10.0, |n| 20.0 * n as f64);
        assert_eq!(counts, [1, 2, 3, 4]);
        assert_eq!(tuner.now(), 4);
    }

    #[test]
    fn a_connection_that_does_not_pay_is_taken_back() {
        // A client that hashes 500 MB/s whatever the number of connections: one probe, then
        // one connection, tried again now and then.
        let mut tuner = Tuner::adaptive(4);
        let counts = run(&mut tuner, 2.0, |_| 500.0);
        assert_eq!(counts, [1, 2, 1]);
        let later = run(&mut tuner, 60.0, |_| 500.0);
        assert!(later.len() > 2, "never tried again: {later:?}");
        assert!(later.iter().all(|&n| n <= 2), "{later:?}");
    }

    #[test]
    fn growth_stops_where_the_gain_ends() {
        // Two connections double the rate; a third adds 5%, the limit of the link.
        let mut tuner = Tuner::adaptive(4);
        let counts = run(&mut tuner, 5.0, |n| match n {
            1 => 100.0,
            2 => 200.0,
            _ => 210.0,
        });
        assert_eq!(&counts[..4], [1, 2, 3, 2]);
        assert_eq!(tuner.now(), 2);
    }

    #[test]
    fn a_fixed_count_never_changes() {
        let mut tuner = Tuner::fixed(3);
        assert_eq!(run(&mut tuner, 10.0, |n| 20.0 * n as f64), [3]);
        let mut one = Tuner::adaptive(1);
        assert_eq!(run(&mut one, 10.0, |n| 20.0 * n as f64), [1]);
    }
}
