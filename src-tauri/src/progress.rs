//! Engine progress events folded into one [`Progress`] state and forwarded to the window at
//! most about ten times a second: the engine calls its observer once per message, far more
//! often than a screen can show, and an IPC message per message would slow the run down.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use mailproof_engine::progress::Event;

use crate::ipc::Progress;

/// The shortest time between two updates sent to the window.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// Receives engine events for one phase of a run and forwards the state through `send`.
pub struct Forwarder<'a> {
    send: &'a (dyn Fn(&Progress) + Sync),
    state: Mutex<(Progress, Option<Instant>)>,
}

impl<'a> Forwarder<'a> {
    pub fn new(phase: &str, send: &'a (dyn Fn(&Progress) + Sync)) -> Self {
        let progress = Progress {
            phase: phase.to_string(),
            folders_total: 0,
            folders_done: 0,
            folder: None,
            messages_done: 0,
            messages_total: None,
            bytes_done: 0,
            bytes_total: None,
            warnings: Vec::new(),
            finished: false,
        };
        Self {
            send,
            state: Mutex::new((progress, None)),
        }
    }

    /// The engine's observer: folds the event in, and sends when the interval has passed, or
    /// at once for a warning or the end.
    pub fn observe(&self, event: &Event) {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (progress, last_sent) = &mut *guard;
        let mut urgent = false;
        match event {
            Event::Started {
                folders,
                messages_total,
                bytes_total,
            } => {
                progress.folders_total = *folders as u64;
                progress.messages_total = *messages_total;
                progress.bytes_total = *bytes_total;
            }
            Event::FolderStarted { name, .. } => progress.folder = Some(name.clone()),
            Event::FolderFinished { .. } => progress.folders_done += 1,
            Event::Advanced {
                messages_done,
                bytes_done,
            } => {
                progress.messages_done = *messages_done;
                progress.bytes_done = *bytes_done;
            }
            Event::Resumed {
                messages_done,
                bytes_done,
            } => {
                progress.messages_done = *messages_done;
                progress.bytes_done = *bytes_done;
                progress.warnings.push(format!(
                    "Continuing the interrupted run: {} already done are kept.",
                    mailproof_engine::units::plural(*messages_done, "message", "messages")
                ));
                urgent = true;
            }
            Event::Warning { message } => {
                progress.warnings.push(message.clone());
                urgent = true;
            }
            Event::Finished {
                messages_done,
                bytes_done,
            } => {
                progress.messages_done = *messages_done;
                progress.bytes_done = *bytes_done;
                progress.folder = None;
                progress.finished = true;
                urgent = true;
            }
        }
        let now = Instant::now();
        if urgent || last_sent.is_none_or(|t| now.duration_since(t) >= INTERVAL) {
            *last_sent = Some(now);
            (self.send)(progress);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_throttled_and_the_end_always_arrives() {
        let sent = Mutex::new(Vec::<Progress>::new());
        let send = |p: &Progress| sent.lock().unwrap().push(p.clone());
        let forwarder = Forwarder::new("Reading", &send);
        forwarder.observe(&Event::Started {
            folders: 1,
            messages_total: Some(10_000),
            bytes_total: None,
        });
        for i in 1..=10_000u64 {
            forwarder.observe(&Event::Advanced {
                messages_done: i,
                bytes_done: i * 10,
            });
        }
        forwarder.observe(&Event::Finished {
            messages_done: 10_000,
            bytes_done: 100_000,
        });
        let sent = sent.into_inner().unwrap();
        // 10,000 events in well under a second: the first, perhaps a few timed ones, the end.
        assert!(sent.len() < 20, "{} updates sent", sent.len());
        let last = sent.last().unwrap();
        assert!(last.finished);
        assert_eq!(last.messages_done, 10_000);
        assert_eq!(last.messages_total, Some(10_000));
        assert_eq!(last.phase, "Reading");
    }

    #[test]
    fn updates_resume_after_the_interval() {
        let sent = Mutex::new(0usize);
        let send = |_: &Progress| *sent.lock().unwrap() += 1;
        let forwarder = Forwarder::new("Reading", &send);
        let advance = |n| {
            forwarder.observe(&Event::Advanced {
                messages_done: n,
                bytes_done: n,
            })
        };
        advance(1);
        advance(2);
        std::thread::sleep(INTERVAL + Duration::from_millis(20));
        advance(3);
        assert_eq!(*sent.lock().unwrap(), 2);
    }
}
