//! mbox files: mboxo, mboxrd, mboxcl/cl2 and Thunderbird variants.

use std::path::Path;

use crate::Result;
use crate::source::{Folder, FolderNotes, Sink, Source, SourceDescription};

/// True when the bytes start like an mbox file (a From_ line).
pub fn looks_like_mbox(head: &[u8]) -> bool {
    head.starts_with(b"From ")
}

pub struct MboxSource;

impl MboxSource {
    pub fn open(path: &Path) -> Result<Self> {
        let _ = path;
        todo!()
    }
}

impl Source for MboxSource {
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
