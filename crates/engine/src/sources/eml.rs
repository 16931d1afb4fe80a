//! A folder tree of message files (`.eml` and loose RFC 5322 files), or one message file.
//!
//! Layout and rules:
//! - A directory: every sub-directory is a folder whose path is its relative directory
//!   segments; files directly in the root go to a folder named after the root directory
//!   (listed only when it holds something to count). Hidden directories (`.git`) and
//!   symbolic links to directories are skipped and named in [`Source::notes`].
//! - Every file ending in `.eml` (any case) is a message. One that is empty, binary or an
//!   Outlook `.msg` is yielded as [`Entry::Unreadable`] with the reason, never dropped. Text
//!   that does not start with a header field is still yielded, with a note: it is what the
//!   user saved as a message.
//! - Other files are messages when they start like RFC 5322: header fields (possibly after a
//!   From_ line) with plain names, one of them a field every message has (From, Date,
//!   Received, X-…), so one-line JSON or YAML is not mail. An Outlook `.msg` (OLE) file is
//!   unreadable with advice; anything else (README, COPYING, `.DS_Store`, `*.json`,
//!   AppleDouble `._*` files) is skipped and named in the source notes.
//! - One file given directly is one folder, named after the file stem, with one message.
//! - Files are sorted by name; `source_id` is the path relative to the root, `/`-separated.
//! - The bytes are the file's bytes exactly (a leading From_ line is kept).
//! - Symbolic links are never followed: a linked `.eml` is unreadable, other links are noted.
//!
//! The end of this module holds small helpers shared by the other file-based sources
//! (Maildir, emlx): sorted listings, read-only whole-file reads, readable I/O reasons, note
//! summaries and unique folder paths.

use std::collections::{HashMap, HashSet};
use std::fs::{self, DirEntry, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::source::{
    Entry, Folder, FolderNotes, MAX_MESSAGE, RawMessage, Role, Sink, Source, SourceDescription,
};
use crate::{Error, Result};

/// How many bytes decide whether a file that is not named `.eml` is a message.
const HEAD: usize = 4096;
/// At most this many names are spelled out in one note.
const NOTE_NAMES: usize = 10;

pub struct EmlSource {
    /// Absolute path of the directory or the single file.
    root: PathBuf,
    single: bool,
    /// Folder locator → directory (or the single file).
    dirs: HashMap<String, PathBuf>,
    notes: Vec<String>,
}

impl EmlSource {
    /// Opens a directory of message files or one message file. Nothing is read yet.
    pub fn open(path: &Path) -> Result<Self> {
        let meta = fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
        Ok(EmlSource {
            root: absolute(path),
            single: !meta.is_dir(),
            dirs: HashMap::new(),
            notes: Vec::new(),
        })
    }
}

impl Source for EmlSource {
    fn describe(&self) -> SourceDescription {
        SourceDescription {
            kind: "eml".into(),
            location: self.root.display().to_string(),
        }
    }

    fn folders(&mut self) -> Result<Vec<Folder>> {
        self.dirs.clear();
        self.notes.clear();
        if self.single {
            let name = file_name(&self.root);
            let stem = Path::new(&name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| name.clone());
            let size = fs::metadata(&self.root).map(|m| m.len()).ok();
            self.dirs.insert(name.clone(), self.root.clone());
            return Ok(vec![Folder {
                role: Role::from_name(&stem),
                path: vec![stem],
                claimed: Some(1),
                bytes_hint: size,
                locator: name,
            }]);
        }
        let mut survey = Survey::default();
        let mut found = Vec::new();
        let root = self.root.clone();
        walk(&root, &root, &mut Vec::new(), 0, &mut found, &mut survey)?;
        let root_name = file_name(&root);
        let root_name = if root_name.is_empty() {
            "EML".to_string()
        } else {
            root_name
        };
        let mut folders = Vec::new();
        for dir in found {
            // The root folder is listed only when it holds something; sub-directories always.
            if dir.segments.is_empty() && dir.claimed == 0 {
                continue;
            }
            let path = if dir.segments.is_empty() {
                vec![root_name.clone()]
            } else {
                dir.segments.clone()
            };
            let locator = if dir.segments.is_empty() {
                ".".to_string()
            } else {
                dir.segments.join("/")
            };
            self.dirs.insert(locator.clone(), dir.path);
            folders.push(Folder {
                role: path.last().and_then(|n| Role::from_name(n)),
                path,
                claimed: Some(dir.claimed),
                bytes_hint: Some(dir.bytes),
                locator,
            });
        }
        folders.sort_by(|a, b| a.path.cmp(&b.path));
        let mut paths: Vec<Vec<String>> = folders.iter().map(|f| f.path.clone()).collect();
        self.notes.extend(make_unique(&mut paths));
        for (folder, path) in folders.iter_mut().zip(paths) {
            folder.path = path;
        }
        if folders.is_empty() {
            self.notes.push("no message files found".into());
        }
        self.notes.extend(survey.notes());
        Ok(folders)
    }

    fn read_folder(&mut self, folder: &Folder, sink: Sink<'_>) -> Result<FolderNotes> {
        let path = self
            .dirs
            .get(&folder.locator)
            .cloned()
            .unwrap_or_else(|| self.root.join(&folder.locator));
        if self.single {
            let entry = read_eml(&path, file_name(&path));
            let _ = sink(entry);
            return Ok(FolderNotes::default());
        }
        let entries = list_dir(&path).map_err(|e| Error::io("cannot list", &path, e))?;
        for entry in entries {
            let Ok(ft) = entry.file_type() else {
                continue;
            };
            if ft.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let file = entry.path();
            let source_id = relative_id(&self.root, &file);
            let item = if ft.is_symlink() {
                if is_eml_name(&name) {
                    Some(Entry::Unreadable {
                        source_id,
                        reason: "symbolic link, not followed".into(),
                    })
                } else {
                    None
                }
            } else if is_eml_name(&name) {
                Some(read_eml(&file, source_id))
            } else {
                read_other(&file, source_id)
            };
            if let Some(item) = item
                && sink(item).is_break()
            {
                break;
            }
        }
        Ok(FolderNotes::default())
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

/// One directory found by the walk, with what it holds.
struct FoundDir {
    segments: Vec<String>,
    path: PathBuf,
    claimed: u64,
    bytes: u64,
}

/// What the walk skipped, for the source notes.
#[derive(Default)]
struct Survey {
    not_mail: Vec<String>,
    links: Vec<String>,
    hidden_dirs: Vec<String>,
    unlisted: Vec<String>,
}

impl Survey {
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.not_mail.is_empty() {
            notes.push(format!(
                "skipped {} that {} not mail: {}",
                count(self.not_mail.len(), "file"),
                if self.not_mail.len() == 1 {
                    "is"
                } else {
                    "are"
                },
                summarise(&self.not_mail)
            ));
        }
        if !self.links.is_empty() {
            notes.push(format!(
                "skipped {}, not followed: {}",
                count(self.links.len(), "symbolic link"),
                summarise(&self.links)
            ));
        }
        if !self.hidden_dirs.is_empty() {
            notes.push(format!(
                "skipped {}: {}",
                count(self.hidden_dirs.len(), "hidden directory"),
                summarise(&self.hidden_dirs)
            ));
        }
        if !self.unlisted.is_empty() {
            notes.push(format!(
                "could not list {}: {}",
                count(self.unlisted.len(), "directory"),
                summarise(&self.unlisted)
            ));
        }
        notes
    }
}

/// Depth beyond which the walk stops, so a pathological tree cannot recurse without end.
const MAX_DEPTH: usize = 64;

fn walk(
    root: &Path,
    dir: &Path,
    segments: &mut Vec<String>,
    depth: usize,
    found: &mut Vec<FoundDir>,
    survey: &mut Survey,
) -> Result<()> {
    let entries = match list_dir(dir) {
        Ok(entries) => entries,
        // The root must be listable; a sub-directory that is not is noted and still listed
        // (reading it will report the error for that folder).
        Err(e) if depth == 0 => return Err(Error::io("cannot list", dir, e)),
        Err(e) => {
            survey
                .unlisted
                .push(format!("{} ({})", relative_id(root, dir), io_reason(&e)));
            found.push(FoundDir {
                segments: segments.clone(),
                path: dir.to_path_buf(),
                claimed: 0,
                bytes: 0,
            });
            return Ok(());
        }
    };
    let index = found.len();
    found.push(FoundDir {
        segments: segments.clone(),
        path: dir.to_path_buf(),
        claimed: 0,
        bytes: 0,
    });
    let mut subdirs = Vec::new();
    for entry in entries {
        let Ok(ft) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let rel = relative_id(root, &path);
        if ft.is_symlink() {
            if is_eml_name(&name) {
                found[index].claimed += 1;
            } else {
                survey.links.push(rel);
            }
        } else if ft.is_dir() {
            if name.starts_with('.') {
                survey.hidden_dirs.push(rel);
            } else if depth < MAX_DEPTH {
                subdirs.push((name, path));
            }
        } else if is_eml_name(&name) {
            found[index].claimed += 1;
            found[index].bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
        } else {
            let counted = match super::sniff(&path) {
                Ok(head) => head.starts_with(OLE_MAGIC) || starts_like_message(&head),
                // Unreadable now: count it, reading will report why.
                Err(_) => true,
            };
            if counted {
                found[index].claimed += 1;
                found[index].bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            } else {
                survey.not_mail.push(rel);
            }
        }
    }
    for (name, path) in subdirs {
        segments.push(name);
        walk(root, &path, segments, depth + 1, found, survey)?;
        segments.pop();
    }
    Ok(())
}

/// The first bytes of an OLE compound file, which is what Outlook `.msg` files are.
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];

/// True for names that claim to be a message: `*.eml` in any case, but not AppleDouble
/// `._*` resource files, which macOS leaves next to files on foreign disks.
fn is_eml_name(name: &str) -> bool {
    !name.starts_with("._")
        && name.len() > 4
        && name.is_char_boundary(name.len() - 4)
        && name[name.len() - 4..].eq_ignore_ascii_case(".eml")
}

/// Reads a file that claims to be a message (named `.eml`, or given on its own).
fn read_eml(path: &Path, source_id: String) -> Entry {
    match read_file(path) {
        Ok(bytes) => match not_a_message(&bytes) {
            Some(reason) => Entry::Unreadable { source_id, reason },
            None => Entry::Message(message(source_id, bytes)),
        },
        Err(reason) => Entry::Unreadable { source_id, reason },
    }
}

/// Reads a file not named `.eml`: a message when it starts like one, an Outlook `.msg` is
/// unreadable, anything else is skipped (the walk already named it in the notes).
fn read_other(path: &Path, source_id: String) -> Option<Entry> {
    let unreadable = |reason| {
        Some(Entry::Unreadable {
            source_id: source_id.clone(),
            reason,
        })
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) => return unreadable(io_reason(&e)),
    };
    let mut bytes = Vec::with_capacity(HEAD);
    if let Err(e) = file.by_ref().take(HEAD as u64).read_to_end(&mut bytes) {
        return unreadable(io_reason(&e));
    }
    if bytes.starts_with(OLE_MAGIC) {
        return unreadable(MSG_REASON.into());
    }
    if !starts_like_message(&bytes) {
        return None;
    }
    let rest = (MAX_MESSAGE + 1 - bytes.len()) as u64;
    if let Err(e) = file.by_ref().take(rest).read_to_end(&mut bytes) {
        return unreadable(io_reason(&e));
    }
    if bytes.len() > MAX_MESSAGE {
        let size = file.metadata().map_or(bytes.len() as u64, |m| m.len());
        return unreadable(too_large(size));
    }
    Some(Entry::Message(message(source_id, bytes)))
}

/// For files not named `.eml`: [`super::looks_like_message`], plus header names made of the
/// characters real header fields use and at least one field every message has, so that a
/// one-line JSON or YAML file (`{"a": 1}`, `title: x`) is not taken for mail.
pub(crate) fn starts_like_message(head: &[u8]) -> bool {
    if !super::looks_like_message(head) {
        return false;
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut known = false;
    for (i, line) in head.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if i == 0 && line.starts_with(b"From ") {
            continue;
        }
        if line.is_empty() {
            break;
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return known;
        };
        let name = &line[..colon];
        if !name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return known;
        }
        known |= KNOWN_FIELDS
            .iter()
            .any(|k| name.eq_ignore_ascii_case(k.as_bytes()))
            || name.len() > 2 && name[..2].eq_ignore_ascii_case(b"x-");
    }
    known
}

/// Header fields at least one of which starts nearly every message.
const KNOWN_FIELDS: [&str; 14] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Received",
    "Return-Path",
    "MIME-Version",
    "Content-Type",
    "Delivered-To",
    "Sender",
    "Reply-To",
    "In-Reply-To",
];

const MSG_REASON: &str = "Outlook .msg file; save it as .eml";

/// Why bytes that claim to be a message cannot be one, if they cannot.
fn not_a_message(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return Some("empty file (0 bytes)".into());
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Some(format!(
            "only blank space ({} bytes), no message",
            bytes.len()
        ));
    }
    if bytes.starts_with(OLE_MAGIC) {
        return Some(MSG_REASON.into());
    }
    if super::looks_like_message(bytes) {
        return None;
    }
    const MAGIC: [(&[u8], &str); 7] = [
        (b"PK\x03\x04", "a zip archive"),
        (b"%PDF", "a PDF document"),
        (b"\x00\x05\x16\x07", "an AppleDouble resource file"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"!BDN", "an Outlook PST file"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(format!("not an e-mail message: this is {what}"));
    }
    let head = &bytes[..bytes.len().min(512)];
    if head.contains(&0) {
        return Some(format!(
            "not an e-mail message: binary data starting with {:?}",
            String::from_utf8_lossy(&head[..head.len().min(16)])
        ));
    }
    None
}

fn message(source_id: String, bytes: Vec<u8>) -> RawMessage {
    let mut notes = Vec::new();
    if !super::looks_like_message(&bytes) {
        notes.push("does not start with a header field (malformed message)".into());
    }
    if bytes.starts_with(b"From ") && holds_several_from_lines(&bytes) {
        notes.push(
            "looks like an mbox file holding several messages; read here as one message".into(),
        );
    }
    RawMessage {
        source_id,
        bytes,
        notes,
        ..RawMessage::default()
    }
}

/// True when a From_ line follows an empty line somewhere after the first line.
fn holds_several_from_lines(bytes: &[u8]) -> bool {
    bytes
        .windows(7)
        .any(|w| w == b"\n\nFrom " || (w.starts_with(b"\n\r\nFrom") && w[6] == b' '))
}

// ---- Helpers shared by the file-based sources (Maildir, emlx). ----

/// The path made absolute without resolving links, for describing a source.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The last component of a path as text ("" when it has none).
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A directory's entries sorted by name, so every listing is in a stable order.
pub(crate) fn list_dir(dir: &Path) -> io::Result<Vec<DirEntry>> {
    let mut entries = fs::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

/// The total size of the files listed, for a progress total. One stat per file is most of the
/// time a large folder takes to list (60 ms for 20,000 files), time in which nothing else can
/// start, so a long listing is measured by a few threads at once.
pub(crate) fn total_len(entries: &[DirEntry]) -> u64 {
    let len = |e: &DirEntry| e.metadata().map_or(0, |m| m.len());
    const PER_THREAD: usize = 500;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(entries.len() / PER_THREAD);
    if threads < 2 {
        return entries.iter().map(len).sum();
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = entries
            .chunks(entries.len().div_ceil(threads))
            .map(|part| scope.spawn(move || part.iter().map(len).sum::<u64>()))
            .collect();
        parts.into_iter().map(|p| p.join().unwrap_or(0)).sum()
    })
}

/// Reads a whole file, opened read-only; the error is a reason for [`Entry::Unreadable`].
///
/// Reading a mail store is mostly open, read, close: this does exactly that (the read that
/// returns 0 included), without the stat and seek `File::read_to_end` spends on a size hint.
/// Only a file that fills the first buffer is measured, so that the buffer grows once to its
/// size (doubling would touch up to twice the message) and a file over [`MAX_MESSAGE`] is
/// refused before it is read. Bytes are read into the buffer's spare capacity, which
/// `read_to_end` does not zero first: zeroing every buffer cost more than the extra reads
/// its growing read sizes make for large files.
pub(crate) fn read_file(path: &Path) -> std::result::Result<Vec<u8>, String> {
    const FIRST: usize = 16 * 1024;
    let mut file = File::open(path).map_err(|e| io_reason(&e))?;
    let mut bytes = Vec::with_capacity(FIRST);
    let mut room = FIRST;
    loop {
        let want = (room - bytes.len()) as u64;
        (&mut file)
            .take(want)
            .read_to_end(&mut bytes)
            .map_err(|e| io_reason(&e))?;
        let len = bytes.len();
        if len < room {
            break;
        }
        let size = file.metadata().map_or(0, |m| m.len());
        if size > MAX_MESSAGE as u64 || len > MAX_MESSAGE {
            return Err(too_large(size.max(len as u64)));
        }
        // One byte more than the file holds, so that the end is seen without growing
        // again; a file that grows while it is read doubles from there.
        room = if size >= len as u64 {
            size as usize + 1
        } else {
            len * 2
        };
        room = room.min(MAX_MESSAGE + 1);
        bytes = crate::recycle::grow(bytes, room);
    }
    crate::recycle::fit(&mut bytes);
    Ok(bytes)
}

/// The reason for a message file no reader holds in memory.
fn too_large(size: u64) -> String {
    format!("message file of {size} bytes is larger than the {MAX_MESSAGE} byte limit; not read")
}

/// An I/O error as a short reason a person can act on.
pub(crate) fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "the file disappeared while reading (moved or deleted)".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "is a directory, not a file".into(),
        _ => format!("cannot read: {e}"),
    }
}

/// A path below `root` as a `/`-separated id; the file name when it is not below it.
pub(crate) fn relative_id(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        _ => file_name(path),
    }
}

/// "3 files", "1 file": counts in notes read naturally.
pub(crate) fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else if let Some(stem) = what.strip_suffix('y') {
        format!("{n} {stem}ies")
    } else {
        format!("{n} {what}s")
    }
}

/// Names for a note: the first few, then how many more.
pub(crate) fn summarise(names: &[String]) -> String {
    let shown = names[..names.len().min(NOTE_NAMES)].join(", ");
    if names.len() > NOTE_NAMES {
        format!("{shown} and {} more", names.len() - NOTE_NAMES)
    } else {
        shown
    }
}

/// Makes folder paths unique (in order), renaming later duplicates `Name (2)`, and says so.
/// Two folders with one name would merge in a receipt.
pub(crate) fn make_unique(paths: &mut [Vec<String>]) -> Vec<String> {
    let mut used: HashSet<Vec<String>> = HashSet::new();
    let mut notes = Vec::new();
    for path in paths.iter_mut() {
        if used.insert(path.clone()) {
            continue;
        }
        let original = path.join("/");
        let last = path.pop().unwrap_or_default();
        let mut n = 2;
        loop {
            path.push(format!("{last} ({n})"));
            if used.insert(path.clone()) {
                break;
            }
            path.pop();
            n += 1;
        }
        notes.push(format!(
            "two folders are both called {original}; the second is listed as {}",
            path.join("/")
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::ControlFlow;

    fn write(path: &Path, bytes: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    /// Reads every folder: (folder name, claimed, entries as "id" or "id!reason").
    fn read_all(source: &mut dyn Source) -> Vec<(String, Option<u64>, Vec<String>)> {
        let folders = source.folders().unwrap();
        folders
            .iter()
            .map(|f| {
                let mut items = Vec::new();
                source
                    .read_folder(f, &mut |e| {
                        items.push(match e {
                            Entry::Message(m) => m.source_id,
                            Entry::Unreadable { source_id, reason } => {
                                format!("{source_id}!{reason}")
                            }
                        });
                        ControlFlow::Continue(())
                    })
                    .unwrap();
                (f.name(), f.claimed, items)
            })
            .collect()
    }

    const MAIL: &[u8] = b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";

    /// Long listings are measured by several threads: the total is the same.
    #[test]
    fn total_len_of_short_and_long_listings() {
        let tmp = tempfile::tempdir().unwrap();
        let mut expected = 0;
        for i in 0..1_300usize {
            let path = tmp.path().join(format!("{i:05}"));
            fs::write(&path, vec![b'x'; i % 97]).unwrap();
            expected += (i % 97) as u64;
        }
        let entries = list_dir(tmp.path()).unwrap();
        assert_eq!(total_len(&entries), expected);
        let first: u64 = (0..10).map(|i| (i % 97) as u64).sum();
        assert_eq!(total_len(&entries[..10]), first);
        assert_eq!(total_len(&[]), 0);
    }

    #[test]
    fn a_tree_of_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("Export");
        write(&root.join("b.eml"), MAIL);
        write(&root.join("a.EML"), MAIL);
        write(&root.join("Sent/1.eml"), MAIL);
        write(&root.join("Sent/Old/2.eml"), MAIL);
        fs::create_dir_all(root.join("Empty")).unwrap();
        let mut source = EmlSource::open(&root).unwrap();
        let got = read_all(&mut source);
        assert_eq!(
            got,
            vec![
                ("Empty".into(), Some(0), vec![]),
                (
                    "Export".into(),
                    Some(2),
                    vec!["a.EML".into(), "b.eml".into()]
                ),
                ("Sent".into(), Some(1), vec!["Sent/1.eml".into()]),
                ("Sent/Old".into(), Some(1), vec!["Sent/Old/2.eml".into()]),
            ]
        );
        let folders = source.folders().unwrap();
        assert_eq!(folders[2].role, Some(Role::Sent));
        assert_eq!(folders[1].bytes_hint, Some(2 * MAIL.len() as u64));
        assert!(source.notes().is_empty(), "{:?}", source.notes());
        assert_eq!(source.describe().kind, "eml");
    }

    #[test]
    fn the_root_folder_appears_only_with_messages() {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("Inbox/1.eml"), MAIL);
        write(&tmp.path().join("README"), b"just text\n");
        let mut source = EmlSource::open(tmp.path()).unwrap();
        let folders = source.folders().unwrap();
        assert_eq!(folders.len(), 1);
        assert_eq!(folders[0].path, vec!["Inbox".to_string()]);
        assert_eq!(folders[0].role, Some(Role::Inbox));
        assert_eq!(
            source.notes(),
            vec!["skipped 1 file that is not mail: README".to_string()]
        );
    }

    #[test]
    fn bad_eml_files_are_unreadable_never_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("m");
        write(&root.join("1-empty.eml"), b"");
        write(&root.join("2-blank.eml"), b"\r\n\r\n");
        write(
            &root.join("3-outlook.eml"),
            &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
        );
        write(&root.join("4-zip.eml"), b"PK\x03\x04rest");
        write(&root.join("5-binary.eml"), b"abc\0def");
        write(
            &root.join("6-noheader.eml"),
            b"This message has no header.\n",
        );
        let mut source = EmlSource::open(&root).unwrap();
        let got = read_all(&mut source);
        assert_eq!(got[0].1, Some(6));
        let items = &got[0].2;
        assert_eq!(items[0], "1-empty.eml!empty file (0 bytes)");
        assert_eq!(
            items[1],
            "2-blank.eml!only blank space (4 bytes), no message"
        );
        assert_eq!(items[2], "3-outlook.eml!Outlook .msg file; save it as .eml");
        assert_eq!(
            items[3],
            "4-zip.eml!not an e-mail message: this is a zip archive"
        );
        assert!(items[4].starts_with("5-binary.eml!not an e-mail message: binary data"));
        assert_eq!(items[5], "6-noheader.eml");
    }

    #[test]
    fn other_files_are_messages_only_when_they_look_like_one() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("m");
        write(&root.join("msg_01.txt"), MAIL);
        write(
            &root.join("with-from-line"),
            b"From a@b Sat Jan  1 00:00:00 2000\nSubject: x\n\nb\n",
        );
        write(&root.join("outlook.msg"), &[0xD0, 0xCF, 0x11, 0xE0, 0, 0]);
        write(&root.join("COPYING"), b"GNU GENERAL PUBLIC LICENSE\n");
        write(&root.join(".DS_Store"), b"\0\0\0\x01Bud1");
        write(&root.join("data.json"), b"{\"a\": 1}");
        write(&root.join("._x.eml"), b"\x00\x05\x16\x07\x00\x02");
        let mut source = EmlSource::open(&root).unwrap();
        let got = read_all(&mut source);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, Some(3));
        assert_eq!(
            got[0].2,
            vec![
                "msg_01.txt".to_string(),
                "outlook.msg!Outlook .msg file; save it as .eml".into(),
                "with-from-line".into(),
            ]
        );
        assert_eq!(
            source.notes(),
            vec![
                "skipped 4 files that are not mail: .DS_Store, ._x.eml, COPYING, data.json"
                    .to_string()
            ]
        );
    }

    #[test]
    fn bytes_are_kept_exactly_with_the_from_line() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = b"From someone Sat Jan  1 00:00:00 2000\r\nSubject: x\r\n\r\nbody";
        write(&tmp.path().join("d/x.eml"), bytes);
        let mut source = EmlSource::open(&tmp.path().join("d")).unwrap();
        let folders = source.folders().unwrap();
        let mut got = Vec::new();
        source
            .read_folder(&folders[0], &mut |e| {
                if let Entry::Message(m) = e {
                    got.push(m);
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(got[0].bytes, bytes);
        assert!(got[0].notes.is_empty());
        assert!(got[0].flags.is_empty() && got[0].internal_date.is_none());
    }

    #[test]
    fn an_mbox_read_as_one_file_says_so() {
        let m = message(
            "x".into(),
            b"From a Sat Jan  1 00:00:00 2000\nSubject: 1\n\nb\n\nFrom b Sat Jan  1 00:00:00 2000\nSubject: 2\n\nc\n".to_vec(),
        );
        assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
    }

    #[test]
    fn a_single_file() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("Sent.eml");
        write(&file, MAIL);
        let mut source = EmlSource::open(&file).unwrap();
        let got = read_all(&mut source);
        assert_eq!(got, vec![("Sent".into(), Some(1), vec!["Sent.eml".into()])]);
        assert_eq!(source.folders().unwrap()[0].role, Some(Role::Sent));
        assert_eq!(
            source.folders().unwrap()[0].bytes_hint,
            Some(MAIL.len() as u64)
        );

        let empty = tmp.path().join("empty.eml");
        write(&empty, b"");
        let got = read_all(&mut EmlSource::open(&empty).unwrap());
        assert_eq!(got[0].2, vec!["empty.eml!empty file (0 bytes)".to_string()]);
    }

    #[test]
    fn hidden_directories_are_skipped_and_noted() {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("r/.git/config.eml"), MAIL);
        write(&tmp.path().join("r/a.eml"), MAIL);
        let mut source = EmlSource::open(&tmp.path().join("r")).unwrap();
        let got = read_all(&mut source);
        assert_eq!(got, vec![("r".into(), Some(1), vec!["a.eml".into()])]);
        assert_eq!(
            source.notes(),
            vec!["skipped 1 hidden directory: .git".to_string()]
        );
    }

    #[test]
    fn stopping_early_is_honoured() {
        let tmp = tempfile::tempdir().unwrap();
        for i in 0..5 {
            write(&tmp.path().join(format!("r/{i}.eml")), MAIL);
        }
        let mut source = EmlSource::open(&tmp.path().join("r")).unwrap();
        let folders = source.folders().unwrap();
        let mut n = 0;
        source
            .read_folder(&folders[0], &mut |_| {
                n += 1;
                ControlFlow::Break(())
            })
            .unwrap();
        assert_eq!(n, 1);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("r");
        write(&tmp.path().join("outside.eml"), MAIL);
        fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside.eml"), root.join("link.eml")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside.eml"), root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), root.join("loop")).unwrap();
        let mut source = EmlSource::open(&root).unwrap();
        let got = read_all(&mut source);
        assert_eq!(
            got,
            vec![(
                "r".into(),
                Some(1),
                vec!["link.eml!symbolic link, not followed".into()]
            )]
        );
        assert_eq!(
            source.notes(),
            vec!["skipped 2 symbolic links, not followed: link.txt, loop".to_string()]
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_file_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("r/locked.eml");
        write(&file, MAIL);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o000)).unwrap();
        if File::open(&file).is_ok() {
            // Running as root: permissions do not apply.
            return;
        }
        let got = read_all(&mut EmlSource::open(&tmp.path().join("r")).unwrap());
        assert_eq!(got[0].2, vec!["locked.eml!permission denied".to_string()]);
    }

    #[test]
    fn whole_files_of_any_size() {
        let tmp = tempfile::tempdir().unwrap();
        for size in [0, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 100_000] {
            let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let path = tmp.path().join(format!("{size}"));
            fs::write(&path, &bytes).unwrap();
            assert_eq!(read_file(&path).unwrap(), bytes);
        }
        // A file over the limit is refused from its size, without being read (sparse here).
        let huge = tmp.path().join("huge");
        File::create(&huge)
            .unwrap()
            .set_len(MAX_MESSAGE as u64 + 1)
            .unwrap();
        let refused = read_file(&huge).unwrap_err();
        assert!(refused.contains("larger than the"), "{refused}");
        assert_eq!(
            read_file(&tmp.path().join("missing")).unwrap_err(),
            "the file disappeared while reading (moved or deleted)"
        );
        assert_eq!(
            read_file(tmp.path()).unwrap_err(),
            "is a directory, not a file"
        );
    }

    #[test]
    fn unique_paths() {
        let mut paths = vec![
            vec!["A".to_string()],
            vec!["A".to_string()],
            vec!["A".to_string()],
            vec!["A (2)".to_string()],
        ];
        let notes = make_unique(&mut paths);
        assert_eq!(paths[1], vec!["A (2)".to_string()]);
        assert_eq!(paths[2], vec!["A (3)".to_string()]);
        assert_eq!(paths[3], vec!["A (2) (2)".to_string()]);
        assert_eq!(notes.len(), 3);
    }

    #[test]
    fn eml_names() {
        assert!(is_eml_name("a.eml") && is_eml_name("A.EML") && is_eml_name("x.Eml"));
        assert!(!is_eml_name(".eml"));
        assert!(!is_eml_name("a.emlx") && !is_eml_name("._a.eml") && !is_eml_name("eml"));
        assert!(!is_eml_name("é.ml"));
    }

    /// With MAILPROOF_CORPUS set: every loose-message folder of the corpus reads without a
    /// panic, and every file is either read, unreadable with a reason, or named in the notes.
    /// (mbox files in these trees count as one message each here; detection sends such trees
    /// to the mbox-tree reader.)
    #[test]
    fn corpus_loose_messages() {
        let Some(corpus) = std::env::var_os("MAILPROOF_CORPUS") else {
            eprintln!("MAILPROOF_CORPUS not set; skipping the corpus check");
            return;
        };
        let corpus = PathBuf::from(corpus);
        for (dir, expect_read) in [
            ("mail-parser-eml", 107),
            ("cpython-email", 48),
            ("spamassassin-t-data", 158),
            ("mime4j", 86),
            ("mimekit", 38),
            ("thunderbird-mailnews", 110),
        ] {
            let root = corpus.join(dir);
            let mut source = EmlSource::open(&root).unwrap();
            let got = read_all(&mut source);
            let read: usize = got
                .iter()
                .map(|(_, _, items)| items.iter().filter(|i| !i.contains('!')).count())
                .sum();
            let claimed: u64 = got.iter().filter_map(|(_, c, _)| *c).sum();
            let yielded: usize = got.iter().map(|(_, _, items)| items.len()).sum();
            assert_eq!(claimed as usize, yielded, "{dir}: claimed = yielded");
            eprintln!(
                "{dir}: {read} read, {yielded} yielded; notes {:?}",
                source.notes()
            );
            assert_eq!(read, expect_read, "{dir}");
        }
    }
}
