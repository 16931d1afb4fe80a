//! A folder tree of .eml files, or one message file.

use std::path::Path;

use crate::Result;
use crate::source::{Folder, FolderNotes, Sink, Source, SourceDescription};

pub struct EmlSource;

impl EmlSource {
    pub fn open(path: &Path) -> Result<Self> {
        let _ = path;
        todo!()
    }
}

impl Source for EmlSource {
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
