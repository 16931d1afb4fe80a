//! Maildir and Maildir++.

use std::path::Path;

use crate::Result;
use crate::source::{Folder, FolderNotes, Sink, Source, SourceDescription};

pub struct MaildirSource;

impl MaildirSource {
    pub fn open(path: &Path) -> Result<Self> {
        let _ = path;
        todo!()
    }
}

impl Source for MaildirSource {
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

/// True when the directory is a Maildir (has `cur/` or `new/`) or a Maildir++ root.
pub fn is_maildir(path: &Path) -> bool {
    path.join("cur").is_dir() || path.join("new").is_dir()
}
