//! A receipt reduced to what a check needs, in a compact form: per message its matching keys
//! (fixed-size integers) and the few fields a person recognises it by, the text of all
//! messages in one buffer.
//!
//! A receipt as [`Receipt`] holds a dozen separately allocated strings per message, about
//! 1.3 KB; a catalog holds about a third of that and is read straight from the receipt file,
//! one record at a time, so two receipts of a million messages fit in memory side by side, and
//! the keys are computed once, while each line is still in the cache.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::reconcile::Keys;
use crate::identity::Eol;
use crate::receipt::{
    FolderEnd, FolderRecord, Header, MessageRecord, Receipt, ReceiptReader, Record, SealCheck,
    Totals,
};
use crate::{Error, Result};

/// A receipt, compacted for checking.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub header: Header,
    pub folders: Vec<FolderRecord>,
    pub folder_ends: Vec<FolderEnd>,
    pub totals: Totals,
    pub seal: SealCheck,
    pub(crate) messages: Messages,
}

/// The messages of a catalog.
#[derive(Debug, Clone, Default)]
pub(crate) struct Messages {
    /// Messages counted as mail, in receipt order.
    pub(crate) mail: Part,
    /// Messages the source holds without counting them as mail (their `excluded`).
    pub(crate) excluded: Part,
    /// Header field names of `stripped` lists and reasons of `excluded`, each stored once.
    words: Words,
}

/// True for the messages a check counts as mail: all but those the source excluded. A
/// catalog's mail is these, in receipt order.
pub fn counts_as_mail(m: &MessageRecord) -> bool {
    m.excluded.is_none()
}

impl Messages {
    fn push(&mut self, m: &MessageRecord) {
        let part = if counts_as_mail(m) {
            &mut self.mail
        } else {
            &mut self.excluded
        };
        part.push(m, &mut self.words);
    }
}

/// One list of messages: keys for matching, and what to show.
#[derive(Debug, Clone, Default)]
pub(crate) struct Part {
    pub(crate) keys: Vec<Keys>,
    info: Vec<Info>,
    /// Digest, Message-ID, sender and subject of every message, one after another.
    text: Vec<u8>,
    /// Word ids of every message's `stripped` list, one after another.
    stripped: Vec<u32>,
}

/// Where a message's fields are in its [`Part`].
#[derive(Debug, Clone)]
struct Info {
    text: usize,
    /// Byte lengths of digest, Message-ID, sender, subject; [`ABSENT`] for a missing field.
    lengths: [u32; 4],
    date: Option<i64>,
    stripped: u32,
    stripped_len: u16,
    eol: Eol,
    /// Word id of the excluded reason, or [`ABSENT`].
    excluded: u32,
}

const ABSENT: u32 = u32::MAX;

/// Interned strings.
#[derive(Debug, Clone, Default)]
struct Words {
    list: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Words {
    fn id(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.list.len() as u32;
        self.list.push(word.to_string());
        self.ids.insert(word.to_string(), id);
        id
    }
}

/// A message of a catalog, borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message<'a> {
    pub(crate) folder: usize,
    pub(crate) digest: &'a str,
    pub(crate) message_id: Option<&'a str>,
    pub(crate) from: Option<&'a str>,
    pub(crate) subject: Option<&'a str>,
    pub(crate) date: Option<i64>,
    pub(crate) eol: Eol,
    stripped: &'a [u32],
    excluded: u32,
    words: &'a Words,
}

impl<'a> Message<'a> {
    /// Names of the header fields the canonical form removed.
    pub(crate) fn stripped(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let words = self.words;
        self.stripped
            .iter()
            .map(move |&id| words.list[id as usize].as_str())
    }

    /// Why the source does not count it as mail, for an excluded message.
    pub(crate) fn excluded(&self) -> Option<&'a str> {
        (self.excluded != ABSENT).then(|| self.words.list[self.excluded as usize].as_str())
    }
}

impl Catalog {
    /// Reads a receipt file record by record; the whole receipt is never in memory.
    pub fn load(path: &Path) -> Result<Catalog> {
        Catalog::read(ReceiptReader::open(path)?, path)
    }

    /// Reads a receipt from a reader (`path` names it in errors).
    pub fn read<R: Read>(mut reader: ReceiptReader<R>, path: &Path) -> Result<Catalog> {
        let mut builder = Builder::default();
        let mut at = 0usize;
        while let Some(record) = reader.next_record()? {
            at += 1;
            builder.add(record).map_err(|what| Error::Format {
                path: path.to_path_buf(),
                position: format!("line {at}"),
                what,
            })?;
        }
        let seal = reader.seal_check().cloned();
        builder.finish(seal).map_err(|what| Error::Format {
            path: path.to_path_buf(),
            position: format!("line {at}"),
            what,
        })
    }

    /// Compacts a receipt already in memory.
    pub fn from_receipt(r: &Receipt) -> Catalog {
        let mut messages = Messages::default();
        for m in &r.messages {
            messages.push(m);
        }
        Catalog {
            header: r.header.clone(),
            folders: r.folders.clone(),
            folder_ends: r.folder_ends.clone(),
            totals: r.totals.clone(),
            seal: r.seal.clone(),
            messages,
        }
    }

    /// The receipt code, when the seal is intact.
    pub fn code(&self) -> Option<&str> {
        match &self.seal {
            SealCheck::Valid { code } => Some(code),
            SealCheck::Mismatch { .. } => None,
        }
    }

    pub(crate) fn mail(&self, i: usize) -> Message<'_> {
        self.messages.mail.message(i, &self.messages.words)
    }

    pub(crate) fn excluded(&self, i: usize) -> Message<'_> {
        self.messages.excluded.message(i, &self.messages.words)
    }
}

impl Part {
    fn push(&mut self, m: &MessageRecord, words: &mut Words) {
        let id = &m.identity;
        let start = self.text.len();
        let mut lengths = [ABSENT; 4];
        let fields = [
            Some(&id.digest),
            id.message_id.as_ref(),
            id.from.as_ref(),
            id.subject.as_ref(),
        ];
        for (len, field) in lengths.iter_mut().zip(fields) {
            if let Some(s) = field {
                // A field of 4 GiB cannot come from a receipt line; cut rather than wrap.
                let s = &s.as_bytes()[..s.len().min(ABSENT as usize - 1)];
                self.text.extend_from_slice(s);
                *len = s.len() as u32;
            }
        }
        let stripped = self.stripped.len() as u32;
        let names = &id.stripped[..id.stripped.len().min(usize::from(u16::MAX))];
        self.stripped.extend(names.iter().map(|n| words.id(n)));
        self.keys.push(Keys::of(m));
        self.info.push(Info {
            text: start,
            lengths,
            date: id.date,
            stripped,
            stripped_len: names.len() as u16,
            eol: id.eol,
            excluded: m.excluded.as_deref().map_or(ABSENT, |e| words.id(e)),
        });
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    fn message<'a>(&'a self, i: usize, words: &'a Words) -> Message<'a> {
        let info = &self.info[i];
        let mut at = info.text;
        let mut field = |len: u32| {
            (len != ABSENT).then(|| {
                let s = &self.text[at..at + len as usize];
                at += len as usize;
                // Every field was a `str` and is cut only at a length the receipt cannot reach.
                std::str::from_utf8(s).unwrap_or_default()
            })
        };
        let [digest, message_id, from, subject] = info.lengths.map(&mut field);
        let stripped = info.stripped as usize;
        Message {
            folder: self.keys[i].folder as usize,
            digest: digest.unwrap_or_default(),
            message_id,
            from,
            subject,
            date: info.date,
            eol: info.eol,
            stripped: &self.stripped[stripped..stripped + usize::from(info.stripped_len)],
            excluded: info.excluded,
            words,
        }
    }
}

/// Assembles a catalog from records in receipt order, checking what later steps rely on.
#[derive(Default)]
struct Builder {
    header: Option<Header>,
    folders: Vec<FolderRecord>,
    folder_ends: Vec<FolderEnd>,
    totals: Option<Totals>,
    messages: Messages,
}

impl Builder {
    fn add(&mut self, record: Record) -> std::result::Result<(), String> {
        match record {
            Record::Header(h) => self.header = Some(h),
            Record::Folder(f) => {
                if f.id != self.folders.len() {
                    return Err(format!(
                        "folder id {} out of order (expected {})",
                        f.id,
                        self.folders.len()
                    ));
                }
                self.folders.push(f);
            }
            Record::Message(m) => {
                if m.folder >= self.folders.len() {
                    return Err("message refers to an unknown folder".into());
                }
                self.messages.push(&m);
            }
            Record::FolderEnd(e) => self.folder_ends.push(e),
            Record::Totals(t) => self.totals = Some(t),
            Record::Unreadable(_) | Record::Seal(_) => {}
        }
        Ok(())
    }

    fn finish(self, seal: Option<SealCheck>) -> std::result::Result<Catalog, String> {
        Ok(Catalog {
            header: self.header.ok_or("no header")?,
            folders: self.folders,
            folder_ends: self.folder_ends,
            totals: self.totals.ok_or("no totals line")?,
            seal: seal.unwrap_or(SealCheck::Mismatch {
                expected: String::new(),
                actual: String::new(),
            }),
            messages: self.messages,
        })
    }
}
