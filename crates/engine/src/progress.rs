//! Progress reporting and cancellation, owned by the engine so every front end draws the same
//! events: the CLI as a progress bar, the desktop app through an IPC channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One thing that happened during a long operation.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The work ahead, as far as the source can tell before reading (counts may be unknown).
    Started {
        folders: usize,
        messages_total: Option<u64>,
        bytes_total: Option<u64>,
    },
    FolderStarted {
        index: usize,
        name: String,
        claimed: Option<u64>,
    },
    FolderFinished {
        index: usize,
        name: String,
        read: u64,
        unreadable: u64,
        excluded: u64,
    },
    /// An interrupted run is being continued: this much was already done and is kept.
    Resumed {
        messages_done: u64,
        bytes_done: u64,
    },
    /// Cumulative counts so far.
    Advanced {
        messages_done: u64,
        bytes_done: u64,
    },
    /// Something the user should know about that did not stop the run.
    Warning {
        message: String,
    },
    Finished {
        messages_done: u64,
        bytes_done: u64,
    },
}

/// A callback receiving events; it must be cheap, as it is called once per message.
pub type Observer<'a> = &'a (dyn Fn(&Event) + Sync);

/// A shared flag that asks a running operation to stop at the next message boundary.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
