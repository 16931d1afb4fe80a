//! The running counts of a receipt. The writer keeps them as records go out, and a resumed run
//! rebuilds them by replaying the records an interrupted run left behind, through the same
//! code, so that it counts exactly as an unbroken run would.

use crate::receipt::{FolderEnd, FolderRecord, MessageRecord, Totals, UnreadableRecord};

#[derive(Debug, Default)]
pub(super) struct Tally {
    pub totals: Totals,
    /// Finished folders, in receipt order.
    pub ends: Vec<(FolderRecord, FolderEnd)>,
    /// Messages found but not readable, with the folder's name.
    pub unreadable: Vec<(String, UnreadableRecord)>,
    /// The folder being read, with its counts so far.
    pub current: Option<(FolderRecord, FolderEnd)>,
    pub messages_done: u64,
    pub bytes_done: u64,
}

impl Tally {
    pub fn folder_started(&mut self, record: FolderRecord) {
        let end = FolderEnd {
            folder: record.id,
            ..FolderEnd::default()
        };
        self.current = Some((record, end));
    }

    pub fn message(&mut self, record: &MessageRecord) {
        let end = self.end();
        end.bytes += record.size;
        match &record.excluded {
            Some(reason) => {
                end.excluded += 1;
                *end.excluded_reasons.entry(reason.clone()).or_default() += 1;
            }
            None => {
                end.read += 1;
                end.trashed += u64::from(record.trashed);
            }
        }
        self.messages_done += 1;
        self.bytes_done += record.size;
    }

    pub fn unreadable(&mut self, record: &UnreadableRecord) {
        self.end().unreadable += 1;
        let name = self
            .current
            .as_ref()
            .map(|(r, _)| r.name())
            .unwrap_or_default();
        self.unreadable.push((name, record.clone()));
        self.messages_done += 1;
    }

    /// Closes the current folder: its counts so far, with `found` filled in, for the caller to
    /// complete (notes, error) and hand back to [`Tally::folder_finished`].
    pub fn take_current(&mut self) -> (FolderRecord, FolderEnd) {
        let (record, mut end) = self.current.take().expect("folder started");
        end.found = end.read + end.unreadable + end.excluded;
        (record, end)
    }

    pub fn folder_finished(&mut self, record: FolderRecord, end: FolderEnd) {
        self.totals.add(&end);
        self.ends.push((record, end));
    }

    fn end(&mut self) -> &mut FolderEnd {
        &mut self.current.as_mut().expect("folder started").1
    }
}
