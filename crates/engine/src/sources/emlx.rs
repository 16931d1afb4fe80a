//! Apple Mail .emlx and .partial.emlx.

use std::path::Path;

use crate::Result;
use crate::source::{Folder, FolderNotes, Sink, Source, SourceDescription};

pub struct EmlxSource;

impl EmlxSource {
    pub fn open(path: &Path) -> Result<Self> {
        let _ = path;
        todo!()
    }
}

impl Source for EmlxSource {
    fn describe(&self) -> SourceDescription {
        todo!()
    }
    fn folders(&mut self) -> Result<Vec<Folder>> {
        todo!()
    }
    fn read_folder(&mut self, folder: &Folder, sink: Sink<'_>) -> Result<FolderNotes> {
        let _ = (folder, sink);
        todo!()
    }
}

/// True when a file is an Apple Mail message: `.emlx` name, or a first line that is only a
/// byte count padded with spaces.
pub fn looks_like_emlx(path: &Path, head: &[u8]) -> bool {
    let _ = head;
    path.extension().is_some_and(|e| e == "emlx")
}
