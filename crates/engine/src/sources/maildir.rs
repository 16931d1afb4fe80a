//! Maildir, Maildir++ and nested ("verbatim") Maildir trees.
//!
//! Layout:
//! - The root's own `cur/` and `new/` are the folder INBOX (a Maildir++ sub-folder `.A.B`,
//!   marked by its `maildirfolder` file, opened on its own keeps its name `A/B`).
//! - Maildir++: a root sub-directory `.A.B` holding `cur/` or `new/` is the folder `A/B` (dots
//!   separate levels; names are kept as stored, modified UTF-7 included).
//! - Verbatim (mbsync `SubFolders Verbatim`, Dovecot `LAYOUT=fs`, notmuch trees): a plain
//!   sub-directory at any depth holding `cur/` or `new/` is a folder named by its relative
//!   segments; directories between them are walked but are not folders themselves.
//! - Folders are sorted by path (parents before children); the role comes from the last
//!   segment's name. A folder with no messages is still listed, with `claimed` 0.
//!
//! Messages:
//! - Every file in `cur/` and `new/` is a message, sorted by name, `cur/` first; `source_id`
//!   is `cur/<name>` or `new/<name>`. `tmp/` holds deliveries in progress and is never read;
//!   its files, hidden files (`.DS_Store`) and files outside `cur/` and `new/` are named in
//!   [`Source::notes`].
//! - Flags come from the info after `:2,`, `;2,` or `!2,` (Windows copies use `;` and `!`):
//!   D `\Draft`, F `\Flagged`, P `$Forwarded`, R `\Answered`, S `\Seen`, T `\Deleted` plus
//!   [`RawMessage::trashed`] (still counted as mail). Lowercase letters are Dovecot keywords,
//!   named by the folder's `dovecot-keywords` file (`N name`, `a` = 0); a letter it does not
//!   name is kept as `$a`, `$b`… and the folder notes say so. Other uppercase letters are
//!   reserved by the Maildir spec and ignored. Flags come out in letter order.
//! - `,S=` and `,W=` size hints in names are never trusted; sizes come from the files.
//! - There is no internal date: Maildir has none apart from the file's mtime, which copies
//!   change.
//! - Unreadable files and symbolic links (never followed) are [`Entry::Unreadable`] with the
//!   reason; so is an empty file. A file moved from `new/` to `cur/` by a running mail client
//!   while the folder is read is found again in `cur/`.
//!
//! Cost: one directory listing per `cur/`/`new/` for `folders` (with sizes for the progress
//! total) and one for reading; then one open and read per message, no extra stat.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, DirEntry};
use std::io;
use std::path::{Path, PathBuf};

mod destination;

pub use destination::MaildirDestination;

use super::eml::{
    absolute, count, io_reason, list_dir, make_unique, read_file, summarise, total_len,
};
use crate::source::{
    Entry, Folder, FolderNotes, RawMessage, Role, Sink, Source, SourceDescription,
};
use crate::{Error, Result};

pub struct MaildirSource {
    root: PathBuf,
    /// Folder locator → the Maildir directory holding `cur/` and `new/`.
    dirs: HashMap<String, PathBuf>,
    notes: Vec<String>,
}

impl MaildirSource {
    /// Opens a Maildir root. Nothing is read until [`Source::folders`].
    pub fn open(path: &Path) -> Result<Self> {
        let meta = fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
        if !meta.is_dir() {
            return Err(Error::NotAMailbox {
                path: path.to_path_buf(),
                what: "a file, not a directory: a Maildir is a directory with cur/ and new/".into(),
            });
        }
        Ok(MaildirSource {
            root: absolute(path),
            dirs: HashMap::new(),
            notes: Vec::new(),
        })
    }
}

impl MaildirSource {
    /// The Maildir directory (holding `cur/` and `new/`) of a folder listed by
    /// [`Source::folders`].
    fn dir(&self, folder: &Folder) -> PathBuf {
        self.dirs
            .get(&folder.locator)
            .cloned()
            .unwrap_or_else(|| self.root.join(&folder.locator))
    }
}

impl Source for MaildirSource {
    fn describe(&self) -> SourceDescription {
        SourceDescription {
            kind: "maildir".into(),
            location: self.root.display().to_string(),
        }
    }

    fn folders(&mut self) -> Result<Vec<Folder>> {
        self.dirs.clear();
        self.notes.clear();
        let mut found = Vec::new();
        let mut stray = Stray::default();
        let root = self.root.clone();
        if has_mail_dirs(&root) {
            // A Maildir++ sub-folder opened on its own (marked by its `maildirfolder` file)
            // keeps its name; any other root (`~/Maildir`, `~/.mail`) is INBOX.
            let own = super::eml::file_name(&root);
            let segments: Vec<String> = match own.strip_prefix('.') {
                Some(rest) if root.join("maildirfolder").is_file() => rest
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            };
            let path = if segments.is_empty() {
                vec!["INBOX".to_string()]
            } else {
                segments
            };
            found.push((path, root.clone()));
        }
        let entries = list_dir(&root).map_err(|e| Error::io("cannot list", &root, e))?;
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if !is_real_dir(&entry) {
                stray.file(&root, &path, &entry);
                continue;
            }
            if MAIL_DIRS.contains(&name.as_str()) {
                continue;
            }
            if let Some(rest) = name.strip_prefix('.') {
                let segments: Vec<String> = rest
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                if !segments.is_empty() && has_mail_dirs(&path) {
                    found.push((segments, path));
                } else if !STORE_DIRS.contains(&name.as_str()) {
                    stray.dirs.push(name);
                }
            } else {
                walk_verbatim(&root, &path, &mut vec![name], 1, &mut found, &mut stray);
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let mut paths: Vec<Vec<String>> = found.iter().map(|(p, _)| p.clone()).collect();
        self.notes.extend(make_unique(&mut paths));

        let mut folders = Vec::new();
        let mut tmp_notes = Vec::new();
        let mut hidden = Vec::new();
        for (path, (_, dir)) in paths.into_iter().zip(found) {
            let locator = super::eml::relative_id(&root, &dir);
            let locator = if dir == root {
                ".".to_string()
            } else {
                locator
            };
            let name = path.join("/");
            let mut messages = Vec::new();
            let mut listed = true;
            for sub in ["cur", "new"] {
                match list_dir(&dir.join(sub)) {
                    Ok(entries) => {
                        for entry in entries {
                            match classify(&entry) {
                                Kind::Message => messages.push(entry),
                                Kind::Hidden => {
                                    hidden.push(super::eml::relative_id(&root, &entry.path()))
                                }
                                Kind::Dir => stray
                                    .dirs
                                    .push(super::eml::relative_id(&root, &entry.path())),
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    // Reading the folder will report the error; no count to claim.
                    Err(_) => listed = false,
                }
            }
            let (claimed, bytes) = if listed {
                (Some(messages.len() as u64), Some(total_len(&messages)))
            } else {
                (None, None)
            };
            if let Ok(entries) = fs::read_dir(dir.join("tmp")) {
                let n = entries.filter(|e| e.is_ok()).count();
                if n > 0 {
                    tmp_notes.push(format!(
                        "{name}: ignored {} in tmp/ (deliveries in progress)",
                        count(n, "file")
                    ));
                }
            }
            self.dirs.insert(locator.clone(), dir);
            folders.push(Folder {
                role: path.last().and_then(|s| Role::from_name(s)),
                path,
                claimed,
                bytes_hint: bytes,
                locator,
            });
        }
        if folders.is_empty() {
            self.notes
                .push("no Maildir folders found: no directory here holds cur/ or new/".into());
        }
        self.notes.extend(tmp_notes);
        if !hidden.is_empty() {
            self.notes.push(format!(
                "ignored {} in cur/ and new/ (not Maildir messages): {}",
                count(hidden.len(), "hidden file"),
                summarise(&hidden)
            ));
        }
        self.notes.extend(stray.notes());
        Ok(folders)
    }

    fn read_folder(&mut self, folder: &Folder, sink: Sink<'_>) -> Result<FolderNotes> {
        let dir = self.dir(folder);
        let mut notes = FolderNotes::default();
        let keywords = Keywords::load(&dir);
        let mut unnamed: Vec<char> = Vec::new();
        let mut listings = Vec::new();
        for sub in ["cur", "new"] {
            let path = dir.join(sub);
            match list_dir(&path) {
                Ok(entries) => listings.push((sub, entries)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("cannot list", path, e)),
            }
        }
        'listings: for (sub, entries) in listings {
            for entry in entries {
                if classify(&entry) != Kind::Message {
                    continue;
                }
                let name = entry.file_name();
                let mut source_id = format!("{sub}/{}", name.to_string_lossy());
                let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
                let read = if is_link {
                    Err("symbolic link, not followed".to_string())
                } else {
                    match read_file(&entry.path()) {
                        Err(_) if sub == "new" && !entry.path().exists() => {
                            match find_moved(&dir, &name) {
                                Some((moved, bytes)) => {
                                    source_id = format!("cur/{}", moved.to_string_lossy());
                                    Ok(bytes)
                                }
                                None => Err(io_reason(&io::ErrorKind::NotFound.into())),
                            }
                        }
                        other => other,
                    }
                };
                let entry = match read {
                    Ok(bytes) if bytes.is_empty() => Entry::Unreadable {
                        source_id,
                        reason: "empty file (0 bytes)".into(),
                    },
                    Ok(bytes) => {
                        let (flags, trashed) =
                            flags(parse_info(&source_id[4..]), &keywords, &mut unnamed);
                        Entry::Message(RawMessage {
                            source_id,
                            bytes,
                            flags,
                            trashed,
                            ..RawMessage::default()
                        })
                    }
                    Err(reason) => Entry::Unreadable { source_id, reason },
                };
                if sink(entry).is_break() {
                    break 'listings;
                }
            }
        }
        if !unnamed.is_empty() {
            unnamed.sort_unstable();
            let letters: Vec<String> = unnamed.iter().map(char::to_string).collect();
            let kept: Vec<String> = unnamed.iter().map(|c| format!("${c}")).collect();
            notes.notes.push(format!(
                "keyword letters {} are not named in dovecot-keywords; kept as {}",
                letters.join(", "),
                kept.join(", ")
            ));
        }
        Ok(notes)
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

/// The three directories of a Maildir.
const MAIL_DIRS: [&str; 3] = ["cur", "new", "tmp"];

/// Files a Maildir store keeps beside its messages: indexes and state, not mail.
const STORE_FILES: [&str; 12] = [
    "dovecot-uidlist",
    "dovecot-keywords",
    "dovecot-uidvalidity",
    "maildirfolder",
    "maildirsize",
    "subscriptions",
    "courierimapuidlist",
    "courierimapsubscribed",
    ".uidvalidity",
    ".mbsyncstate",
    ".isyncuidmap.db",
    ".notmuch-config",
];

/// Directories a Maildir store keeps beside its folders: indexes and state, not mail.
const STORE_DIRS: [&str; 4] = [
    ".notmuch",
    "courierimapkeywords",
    "courierimaphieracl",
    "courierimapacl",
];

/// Depth beyond which nested folders are not looked for.
const MAX_DEPTH: usize = 32;

/// True when a directory holds `cur/` or `new/`.
fn has_mail_dirs(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

/// A directory entry that is a directory itself (a link to one is not followed).
fn is_real_dir(entry: &DirEntry) -> bool {
    entry.file_type().is_ok_and(|t| t.is_dir())
}

/// Finds verbatim sub-folders: plain directories with `cur/` or `new/`, at any depth.
fn walk_verbatim(
    root: &Path,
    dir: &Path,
    segments: &mut Vec<String>,
    depth: usize,
    found: &mut Vec<(Vec<String>, PathBuf)>,
    stray: &mut Stray,
) {
    let is_folder = has_mail_dirs(dir);
    if is_folder {
        found.push((segments.clone(), dir.to_path_buf()));
    }
    if depth >= MAX_DEPTH {
        return;
    }
    let Ok(entries) = list_dir(dir) else {
        if !is_folder {
            stray.dirs.push(segments.join("/"));
        }
        return;
    };
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if !is_real_dir(&entry) {
            stray.file(root, &path, &entry);
        } else if MAIL_DIRS.contains(&name.as_str()) || STORE_DIRS.contains(&name.as_str()) {
            continue;
        } else if name.starts_with('.') {
            stray.dirs.push(super::eml::relative_id(root, &path));
        } else {
            segments.push(name);
            walk_verbatim(root, &path, segments, depth + 1, found, stray);
            segments.pop();
        }
    }
}

/// Files and directories found outside `cur/` and `new/`, for the source notes.
#[derive(Default)]
struct Stray {
    store_files: usize,
    files: Vec<String>,
    dirs: Vec<String>,
}

impl Stray {
    fn file(&mut self, root: &Path, path: &Path, entry: &DirEntry) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if STORE_FILES.contains(&name.as_str())
            || name.starts_with("dovecot.")
            || name.starts_with(".mbsyncstate")
            || name == ".DS_Store"
        {
            self.store_files += 1;
        } else {
            self.files.push(super::eml::relative_id(root, path));
        }
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.store_files > 0 {
            notes.push(format!(
                "skipped {} of the mail store, not mail",
                count(self.store_files, "index or state file")
            ));
        }
        if !self.files.is_empty() {
            notes.push(format!(
                "skipped {} outside cur/ and new/, not read as mail (read loose message files with eml:): {}",
                count(self.files.len(), "file"),
                summarise(&self.files)
            ));
        }
        if !self.dirs.is_empty() {
            notes.push(format!(
                "skipped {} without cur/ or new/ (not Maildir folders): {}",
                count(self.dirs.len(), "directory"),
                summarise(&self.dirs)
            ));
        }
        notes
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// A message file (or a link or oddity that will be reported as unreadable).
    Message,
    /// Hidden files such as `.DS_Store`: Maildir names never start with a dot.
    Hidden,
    Dir,
}

fn classify(entry: &DirEntry) -> Kind {
    if entry.file_name().to_string_lossy().starts_with('.') {
        Kind::Hidden
    } else if is_real_dir(entry) {
        Kind::Dir
    } else {
        Kind::Message
    }
}

/// The flag letters of a Maildir file name: what follows the last `:2,`, `;2,` or `!2,`.
fn parse_info(name: &str) -> &str {
    let bytes = name.as_bytes();
    (0..bytes.len().saturating_sub(2))
        .rev()
        .find(|&i| matches!(bytes[i], b':' | b';' | b'!') && &bytes[i + 1..i + 3] == b"2,")
        .map_or("", |i| &name[i + 3..])
}

/// IMAP flags for the letters of a Maildir info, in letter order whatever order the name has
/// (so equal flags compare equal), and whether `T` (trashed) is among them. Keyword letters
/// without a name are kept as `$x` and collected in `unnamed` for the folder notes.
fn flags(info: &str, keywords: &Keywords, unnamed: &mut Vec<char>) -> (Vec<String>, bool) {
    let mut letters: Vec<char> = info.chars().collect();
    letters.sort_unstable();
    letters.dedup();
    let mut flags = Vec::new();
    let mut trashed = false;
    for letter in letters {
        let flag = match letter {
            'D' => "\\Draft".to_string(),
            'F' => "\\Flagged".to_string(),
            'P' => "$Forwarded".to_string(),
            'R' => "\\Answered".to_string(),
            'S' => "\\Seen".to_string(),
            'T' => {
                trashed = true;
                "\\Deleted".to_string()
            }
            'a'..='z' => match keywords.name(letter) {
                Some(name) => name.to_string(),
                None => {
                    if !unnamed.contains(&letter) {
                        unnamed.push(letter);
                    }
                    format!("${letter}")
                }
            },
            _ => continue,
        };
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    (flags, trashed)
}

/// When `new/<name>` vanished, the mail client probably moved it to `cur/<name>:2,<flags>`.
fn find_moved(dir: &Path, name: &OsString) -> Option<(OsString, Vec<u8>)> {
    let name = name.to_string_lossy();
    let unique = name
        .split([':', ';', '!'])
        .next()
        .unwrap_or(&name)
        .to_string();
    let entries = list_dir(&dir.join("cur")).ok()?;
    entries.into_iter().find_map(|entry| {
        let candidate = entry.file_name();
        let text = candidate.to_string_lossy();
        let rest = text.strip_prefix(unique.as_str())?;
        if !(rest.is_empty() || rest.starts_with([':', ';', '!']))
            || !entry.file_type().ok()?.is_file()
        {
            return None;
        }
        let bytes = read_file(&entry.path()).ok()?;
        Some((candidate, bytes))
    })
}

/// Dovecot's keyword names for the lowercase flag letters of one folder.
#[derive(Default)]
struct Keywords {
    names: [Option<String>; 26],
}

impl Keywords {
    /// The file is tiny; a broken or oversized one just leaves letters unnamed.
    fn load(dir: &Path) -> Self {
        let mut keywords = Keywords::default();
        let path = dir.join("dovecot-keywords");
        let Ok(meta) = fs::symlink_metadata(&path) else {
            return keywords;
        };
        if !meta.is_file() || meta.len() > 64 * 1024 {
            return keywords;
        }
        let Ok(bytes) = read_file(&path) else {
            return keywords;
        };
        for line in String::from_utf8_lossy(&bytes).lines() {
            let Some((index, name)) = line.trim().split_once(' ') else {
                continue;
            };
            if let Ok(index) = index.parse::<usize>()
                && index < 26
                && !name.trim().is_empty()
            {
                keywords.names[index] = Some(name.trim().to_string());
            }
        }
        keywords
    }

    fn name(&self, letter: char) -> Option<&str> {
        let index = (letter as usize).checked_sub('a' as usize)?;
        self.names.get(index)?.as_deref()
    }

    /// The letter the file gives a keyword, if it names it.
    fn letter(&self, keyword: &str) -> Option<char> {
        let index = self
            .names
            .iter()
            .position(|n| n.as_deref() == Some(keyword))?;
        char::from_u32('a' as u32 + index as u32)
    }
}

/// True when the directory is a Maildir (has `cur/` or `new/`), a Maildir++ root (a `.Name`
/// sub-directory with them), or a tree of Maildirs (a plain sub-directory a few levels down
/// with them, as mbsync and notmuch lay them out). The look is bounded so it stays instant.
pub fn is_maildir(path: &Path) -> bool {
    if has_mail_dirs(path) {
        return true;
    }
    let mut budget = 200usize;
    let mut level = vec![path.to_path_buf()];
    for depth in 0..3 {
        let mut next = Vec::new();
        for dir in level {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if budget == 0 {
                    return false;
                }
                budget -= 1;
                if !is_real_dir(&entry) {
                    continue;
                }
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if MAIL_DIRS.contains(&name.as_ref()) {
                    continue;
                }
                let hidden = name.starts_with('.');
                // Maildir++ folders sit only at the root; elsewhere hidden directories are
                // not folders (.git, .notmuch).
                if hidden && depth > 0 {
                    continue;
                }
                let child = entry.path();
                if has_mail_dirs(&child) {
                    return true;
                }
                if !hidden {
                    next.push(child);
                }
            }
        }
        level = next;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::ControlFlow;

    fn write(path: &Path, bytes: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    const MAIL: &[u8] = b"From: a@example.com\nSubject: hi\n\nbody\n";

    /// Reads one folder into (messages, unreadable "id!reason", notes).
    fn read(
        source: &mut MaildirSource,
        folder: &Folder,
    ) -> (Vec<RawMessage>, Vec<String>, Vec<String>) {
        let mut messages = Vec::new();
        let mut unreadable = Vec::new();
        let notes = source
            .read_folder(folder, &mut |e| {
                match e {
                    Entry::Message(m) => messages.push(m),
                    Entry::Unreadable { source_id, reason } => {
                        unreadable.push(format!("{source_id}!{reason}"))
                    }
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        (messages, unreadable, notes.notes)
    }

    fn names(folders: &[Folder]) -> Vec<String> {
        folders.iter().map(Folder::name).collect()
    }

    #[test]
    fn maildir_plus_plus_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(&root.join("cur/1.host:2,S"), MAIL);
        write(&root.join("new/2.host"), MAIL);
        fs::create_dir_all(root.join("tmp")).unwrap();
        write(&root.join(".Sent/cur/3.host:2,S"), MAIL);
        write(&root.join(".Work.Project/new/4.host"), MAIL);
        fs::create_dir_all(root.join(".Work/cur")).unwrap();
        fs::create_dir_all(root.join(".Trash/new")).unwrap();
        write(&root.join("dovecot-uidlist"), b"3 V1 N5\n");
        fs::create_dir_all(root.join(".notmuch/xapian")).unwrap();
        let mut source = MaildirSource::open(root).unwrap();
        let folders = source.folders().unwrap();
        assert_eq!(
            names(&folders),
            ["INBOX", "Sent", "Trash", "Work", "Work/Project"]
        );
        let roles: Vec<_> = folders.iter().map(|f| f.role).collect();
        assert_eq!(
            roles,
            [
                Some(Role::Inbox),
                Some(Role::Sent),
                Some(Role::Trash),
                None,
                None
            ]
        );
        let claimed: Vec<_> = folders.iter().map(|f| f.claimed).collect();
        assert_eq!(claimed, [Some(2), Some(1), Some(0), Some(0), Some(1)]);
        assert_eq!(folders[0].bytes_hint, Some(2 * MAIL.len() as u64));
        assert_eq!(folders[2].bytes_hint, Some(0));
        let (messages, unreadable, _) = read(&mut source, &folders[0]);
        let ids: Vec<_> = messages.iter().map(|m| m.source_id.as_str()).collect();
        assert_eq!(ids, ["cur/1.host:2,S", "new/2.host"]);
        assert!(unreadable.is_empty());
        assert_eq!(messages[0].bytes, MAIL);
        assert_eq!(messages[0].flags, ["\\Seen"]);
        assert!(messages[1].flags.is_empty());
        assert_eq!(
            source.notes(),
            ["skipped 1 index or state file of the mail store, not mail"]
        );
        assert_eq!(source.describe().kind, "maildir");
    }

    #[test]
    fn a_maildir_plus_plus_folder_opened_alone_keeps_its_name() {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join(".Work.Sent/cur/1.h:2,S"), MAIL);
        write(&tmp.path().join(".Work.Sent/maildirfolder"), b"");
        let mut source = MaildirSource::open(&tmp.path().join(".Work.Sent")).unwrap();
        let folders = source.folders().unwrap();
        assert_eq!(names(&folders), ["Work/Sent"]);
        assert_eq!(folders[0].role, Some(Role::Sent));
        assert_eq!(folders[0].locator, ".");
    }

    #[test]
    fn every_flag_and_every_separator() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(&root.join("cur/1.h:2,DFPRST"), MAIL);
        write(&root.join("cur/2.h;2,S"), MAIL);
        write(&root.join("cur/3.h!2,RS"), MAIL);
        write(&root.join("cur/4.h,S=999,W=1010:2,"), MAIL);
        write(&root.join("cur/5.h:2,SXZ"), MAIL);
        write(&root.join("cur/6.h:1,S"), MAIL);
        write(&root.join("cur/7.h:2,S:2,F"), MAIL);
        let mut source = MaildirSource::open(root).unwrap();
        let folders = source.folders().unwrap();
        let (messages, _, _) = read(&mut source, &folders[0]);
        let flags: Vec<_> = messages.iter().map(|m| m.flags.join(" ")).collect();
        assert_eq!(
            flags,
            [
                "\\Draft \\Flagged $Forwarded \\Answered \\Seen \\Deleted",
                "\\Seen",
                "\\Answered \\Seen",
                "",
                "\\Seen",
                "",
                "\\Flagged",
            ]
        );
        let trashed: Vec<_> = messages.iter().map(|m| m.trashed).collect();
        assert_eq!(trashed, [true, false, false, false, false, false, false]);
        assert!(messages.iter().all(|m| m.internal_date.is_none()));
    }

    #[test]
    fn keywords_from_dovecot_keywords_or_kept_as_letters() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(&root.join("cur/1.h:2,Sab"), MAIL);
        write(&root.join("cur/2.h:2,c"), MAIL);
        write(
            &root.join("dovecot-keywords"),
            b"0 $Junk\n1 Work\nnonsense\n99 TooFar\n",
        );
        write(&root.join(".Other/cur/3.h:2,a"), MAIL);
        let mut source = MaildirSource::open(root).unwrap();
        let folders = source.folders().unwrap();
        let (messages, _, notes) = read(&mut source, &folders[0]);
        assert_eq!(messages[0].flags, ["\\Seen", "$Junk", "Work"]);
        assert_eq!(messages[1].flags, ["$c"]);
        assert_eq!(
            notes,
            ["keyword letters c are not named in dovecot-keywords; kept as $c"]
        );
        // Each folder has its own keyword file.
        let (messages, _, _) = read(&mut source, &folders[1]);
        assert_eq!(messages[0].flags, ["$a"]);
    }

    #[test]
    fn tmp_hidden_and_stray_files_are_noted_not_read() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(&root.join("cur/1.h:2,S"), MAIL);
        write(&root.join("cur/.DS_Store"), b"\0\0");
        write(&root.join("tmp/9.h"), MAIL);
        write(&root.join("tmp/10.h"), MAIL);
        write(&root.join("stray.eml"), MAIL);
        fs::create_dir_all(root.join("cur/subdir")).unwrap();
        let mut source = MaildirSource::open(root).unwrap();
        let folders = source.folders().unwrap();
        assert_eq!(folders[0].claimed, Some(1));
        let (messages, unreadable, _) = read(&mut source, &folders[0]);
        assert_eq!(messages.len(), 1);
        assert!(unreadable.is_empty());
        assert_eq!(
            source.notes(),
            [
                "INBOX: ignored 2 files in tmp/ (deliveries in progress)",
                "ignored 1 hidden file in cur/ and new/ (not Maildir messages): cur/.DS_Store",
                "skipped 1 file outside cur/ and new/, not read as mail (read loose message files with eml:): stray.eml",
                "skipped 1 directory without cur/ or new/ (not Maildir folders): cur/subdir",
            ]
        );
    }

    #[test]
    fn nested_verbatim_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(&root.join("INBOX/cur/1.h:2,S"), MAIL);
        write(&root.join("Archive/2024/cur/2.h:2,"), MAIL);
        write(&root.join("Archive/2024/Q1/new/3.h"), MAIL);
        write(&root.join("Sent Items/cur/4.h:2,S"), MAIL);
        fs::create_dir_all(root.join("Empty/cur")).unwrap();
        fs::create_dir_all(root.join("Nothing/here")).unwrap();
        assert!(is_maildir(root));
        let mut source = MaildirSource::open(root).unwrap();
        let folders = source.folders().unwrap();
        assert_eq!(
            names(&folders),
            [
                "Archive/2024",
                "Archive/2024/Q1",
                "Empty",
                "INBOX",
                "Sent Items"
            ]
        );
        assert_eq!(folders[3].role, Some(Role::Inbox));
        assert_eq!(folders[4].role, Some(Role::Sent));
        assert_eq!(folders[2].claimed, Some(0));
        let (messages, _, _) = read(&mut source, &folders[1]);
        assert_eq!(messages[0].source_id, "new/3.h");
        assert!(source.notes().is_empty(), "{:?}", source.notes());
    }

    #[test]
    fn empty_files_and_links_are_unreadable() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("m");
        write(&root.join("cur/1.h:2,S"), b"");
        write(&tmp.path().join("elsewhere"), MAIL);
        #[cfg(unix)]
        std::os::unix::fs::symlink(tmp.path().join("elsewhere"), root.join("cur/2.h:2,S")).unwrap();
        let mut source = MaildirSource::open(&root).unwrap();
        let folders = source.folders().unwrap();
        let (messages, unreadable, _) = read(&mut source, &folders[0]);
        assert!(messages.is_empty());
        let mut expected = vec!["cur/1.h:2,S!empty file (0 bytes)".to_string()];
        if cfg!(unix) {
            expected.push("cur/2.h:2,S!symbolic link, not followed".into());
        }
        assert_eq!(unreadable, expected);
        assert_eq!(folders[0].claimed, Some(expected.len() as u64));
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_files_are_reported() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("cur/1.h:2,S");
        write(&file, MAIL);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::File::open(&file).is_ok() {
            return; // root ignores permissions
        }
        let mut source = MaildirSource::open(tmp.path()).unwrap();
        let folders = source.folders().unwrap();
        let (_, unreadable, _) = read(&mut source, &folders[0]);
        assert_eq!(unreadable, ["cur/1.h:2,S!permission denied"]);
    }

    #[test]
    fn a_message_moved_to_cur_while_reading_is_found() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        write(&root.join("cur/1.h:2,S"), MAIL);
        write(&root.join("new/5.h"), b"Subject: moved\n\nx\n");
        let mut source = MaildirSource::open(&root).unwrap();
        let folders = source.folders().unwrap();
        assert_eq!(folders[0].claimed, Some(2));
        let mut ids = Vec::new();
        source
            .read_folder(&folders[0], &mut |e| {
                match e {
                    Entry::Message(m) => ids.push(m.source_id),
                    Entry::Unreadable { source_id, reason } => {
                        ids.push(format!("{source_id}!{reason}"))
                    }
                }
                // A mail client moves the new message while the first one is being handled.
                if ids.len() == 1 {
                    fs::rename(root.join("new/5.h"), root.join("cur/5.h:2,S")).unwrap();
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(ids, ["cur/1.h:2,S", "cur/5.h:2,S"]);
        // Gone for good: unreadable with the reason.
        fs::remove_file(root.join("cur/5.h:2,S")).unwrap();
        write(&root.join("new/6.h"), MAIL);
        let folders = source.folders().unwrap();
        let mut got = Vec::new();
        source
            .read_folder(&folders[0], &mut |e| {
                if let Entry::Unreadable { reason, .. } = e {
                    got.push(reason);
                }
                // The first call removes it; later calls find it gone.
                let _ = fs::remove_file(root.join("new/6.h"));
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(
            got,
            ["the file disappeared while reading (moved or deleted)"]
        );
    }

    #[test]
    fn a_file_is_not_a_maildir() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("x");
        write(&file, MAIL);
        assert!(MaildirSource::open(&file).is_err());
        assert!(!is_maildir(tmp.path()));
        let mut source = MaildirSource::open(tmp.path()).unwrap();
        assert!(source.folders().unwrap().is_empty());
        assert_eq!(source.notes().len(), 2, "{:?}", source.notes());
    }

    #[test]
    fn detection() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("plain/cur")).unwrap();
        assert!(is_maildir(&root.join("plain")));
        fs::create_dir_all(root.join("pp/.Sent/new")).unwrap();
        assert!(is_maildir(&root.join("pp")));
        fs::create_dir_all(root.join("deep/a/b/c/cur")).unwrap();
        assert!(is_maildir(&root.join("deep")));
        fs::create_dir_all(root.join("toodeep/a/b/c/d/cur")).unwrap();
        assert!(!is_maildir(&root.join("toodeep")));
        fs::create_dir_all(root.join("hidden/x/.git/cur")).unwrap();
        assert!(!is_maildir(&root.join("hidden")));
        write(&root.join("emls/a.eml"), MAIL);
        assert!(!is_maildir(&root.join("emls")));
    }

    #[test]
    fn info_parsing() {
        assert_eq!(parse_info("1.h:2,FS"), "FS");
        assert_eq!(parse_info("1.h;2,S"), "S");
        assert_eq!(parse_info("1.h!2,"), "");
        assert_eq!(parse_info("1.h"), "");
        assert_eq!(parse_info("1.h:1,S"), "");
        assert_eq!(parse_info(":2"), "");
        assert_eq!(parse_info("x,S=1;2,RDF,"), "RDF,");
    }

    #[cfg(unix)]
    #[test]
    fn colon_names_and_non_utf8_names_on_unix() {
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(&root.join("cur/1.h:2,RS"), MAIL);
        let odd = std::ffi::OsStr::from_bytes(b"2.\xFF:2,F");
        write(&root.join("cur").join(odd), MAIL);
        let mut source = MaildirSource::open(root).unwrap();
        let folders = source.folders().unwrap();
        let (messages, unreadable, _) = read(&mut source, &folders[0]);
        assert!(unreadable.is_empty(), "{unreadable:?}");
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].flags, ["\\Answered", "\\Seen"]);
        assert_eq!(messages[1].flags, ["\\Flagged"]);
        assert_eq!(messages[1].source_id, "cur/2.\u{FFFD}:2,F");
    }

    /// With MAILPROOF_CORPUS set: the notmuch trees and the mail-parser Maildir++ layout.
    #[test]
    fn corpus_maildirs() {
        let Some(corpus) = std::env::var_os("MAILPROOF_CORPUS") else {
            eprintln!("MAILPROOF_CORPUS not set; skipping the corpus check");
            return;
        };
        let corpus = PathBuf::from(corpus);

        // maildir-notmuch: 276 files. As a Maildir tree, default/ (nested folders) and lkml/
        // are Maildirs with 43 + 210 messages in cur/ and new/. 23 files sit outside cur/
        // and new/: 10 loose in default/ and its sub-folders, duplicate/ (9) and broken/ (4).
        // A Maildir reader does not read them (no Maildir client shows them); the notes name
        // them, so every file is accounted for.
        let root = corpus.join("maildir-notmuch");
        assert!(is_maildir(&root));
        assert_eq!(
            super::super::detect(&root).unwrap(),
            super::super::Kind::Maildir
        );
        let mut source = MaildirSource::open(&root).unwrap();
        let folders = source.folders().unwrap();
        assert_eq!(
            names(&folders),
            [
                "default",
                "default/bar",
                "default/bar/baz",
                "default/foo",
                "default/foo/baz",
                "lkml"
            ]
        );
        let mut total = 0;
        let mut per_tree: HashMap<String, usize> = HashMap::new();
        for folder in &folders {
            let (messages, unreadable, _) = read(&mut source, folder);
            assert!(unreadable.is_empty(), "{unreadable:?}");
            assert_eq!(folder.claimed, Some(messages.len() as u64));
            total += messages.len();
            *per_tree.entry(folder.path[0].clone()).or_default() += messages.len();
        }
        assert_eq!(per_tree["default"], 43);
        assert_eq!(per_tree["lkml"], 210);
        assert_eq!(total, 253);
        let notes = source.notes();
        eprintln!("maildir-notmuch notes: {notes:?}");
        let outside = "skipped 23 files outside cur/ and new/, not read as mail (read loose message files with eml:): ";
        assert!(notes.iter().any(|n| n.starts_with(outside)), "{notes:?}");
        assert_eq!(total + 23, 276);
        // The two trees without cur/ or new/ are not Maildirs; read as EML they give 13.
        let mut loose = 0;
        for tree in ["duplicate", "broken"] {
            assert!(!is_maildir(&root.join(tree)));
            let mut eml = super::super::eml::EmlSource::open(&root.join(tree)).unwrap();
            for folder in eml.folders().unwrap() {
                eml.read_folder(&folder, &mut |e| {
                    assert!(matches!(e, Entry::Message(_)));
                    loose += 1;
                    ControlFlow::Continue(())
                })
                .unwrap();
            }
        }
        assert_eq!(loose, 13);
        // The `;2,` names carry an empty flag list.
        let (messages, _, _) = read(&mut source, &folders[0]);
        assert_eq!(messages[0].source_id, "cur/29;2,");
        assert!(messages.iter().all(|m| m.flags.is_empty()));

        // maildir-mail-parser: Maildir++ with a space in names, `;2,`, lying S= sizes.
        let root = corpus.join("maildir-mail-parser");
        assert!(is_maildir(&root));
        assert_eq!(
            super::super::detect(&root).unwrap(),
            super::super::Kind::Maildir
        );
        let mut source = MaildirSource::open(&root).unwrap();
        let folders = source.folders().unwrap();
        assert_eq!(
            names(&folders),
            ["INBOX", "My Folder", "My Folder/Nested Folder"]
        );
        assert_eq!(folders[1].path, ["My Folder"]);
        assert_eq!(folders[2].path, ["My Folder", "Nested Folder"]);
        let claimed: Vec<_> = folders.iter().map(|f| f.claimed).collect();
        assert_eq!(claimed, [Some(2), Some(2), Some(2)]);
        // The S= hints say thousands of bytes; the files hold placeholders.
        assert!(folders.iter().all(|f| f.bytes_hint.unwrap() < 100));
        let (messages, _, _) = read(&mut source, &folders[1]);
        let flags: Vec<_> = messages
            .iter()
            .map(|m| (m.flags.join(" "), m.trashed))
            .collect();
        assert_eq!(
            flags,
            [
                ("\\Draft \\Answered \\Deleted".to_string(), true),
                (String::new(), false)
            ]
        );
        let (messages, _, notes) = read(&mut source, &folders[0]);
        assert_eq!(messages[0].flags, ["\\Seen", "\\Deleted", "$l", "$n"]);
        assert_eq!(messages[1].flags, ["\\Seen", "$b"]);
        assert_eq!(
            notes,
            ["keyword letters b, l, n are not named in dovecot-keywords; kept as $b, $l, $n"]
        );
    }
}
