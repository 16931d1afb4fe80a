//! A directory of mbox files, including Thunderbird profiles.
//!
//! Every file is looked at and either becomes a folder or is named in [`Source::notes`]:
//!
//! - a file that starts with a From line is an mbox folder named after the file (an mbox
//!   extension such as `.mbox` dropped); an empty file is an empty mbox folder when Thunderbird
//!   keeps an index or subfolders for it, or it has an mbox extension;
//! - `Name.sbd/` holds the subfolders of folder `Name` (Thunderbird);
//! - `Name.msf` is Thunderbird's index: never read (it can be stale), only counted in the notes;
//! - a loose RFC 5322 message file is a folder of one message, named after the file;
//! - anything else (`popstate.dat`, `msgFilterRules.dat`, ...) is named in the notes as not mail;
//! - `*.mozmsgs/` (copies of messages Thunderbird makes for Windows Search) is not read, so no
//!   message is counted twice; links to directories are not followed.
//!
//! Directories are path segments, so `ImapMail/imap.example.com/INBOX` becomes the folder
//! `ImapMail/imap.example.com/INBOX`, and a directory of `*.mbox` files (a Google Takeout, an
//! export of one mbox per folder) becomes one folder per file. Apple Mail exports
//! (`Name.mbox/mbox`) are folder `Name`. At the root of a Thunderbird profile (it has
//! `prefs.js`) only `Mail/` and `ImapMail/` are read. Folders are listed sorted by path, so
//! parents come before their children; names that would clash get the file's full name.

use std::collections::HashSet;
use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::mbox;
use crate::source::{
    Entry, Folder, FolderNotes, MAX_MESSAGE, RawMessage, Role, Sink, Source, SourceDescription,
};
use crate::{Error, Result};

/// How deep the walk goes; deeper trees are noted, not read.
const MAX_DEPTH: usize = 64;
/// How many not-mail files are named one by one in the notes.
const NAMED_FILES: usize = 50;

/// What a folder of the tree is read from.
#[derive(Debug, Clone)]
enum Kind {
    Mbox(PathBuf),
    /// A single message file.
    Loose(PathBuf),
}

/// A directory tree of mbox files.
pub struct MboxTreeSource {
    root: PathBuf,
    listing: Option<Listing>,
}

/// The result of one walk: folders with what to read them from, and the notes.
struct Listing {
    folders: Vec<(Folder, Kind)>,
    notes: Vec<String>,
}

impl MboxTreeSource {
    /// Checks that the path is a readable directory; the walk happens in [`Source::folders`].
    pub fn open(path: &Path) -> Result<Self> {
        let meta = fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
        if !meta.is_dir() {
            return Err(Error::NotAMailbox {
                path: path.to_path_buf(),
                what: "not a directory; a single mbox file opens as mbox:".into(),
            });
        }
        fs::read_dir(path).map_err(|e| Error::io("cannot list", path, e))?;
        Ok(MboxTreeSource {
            root: path.to_path_buf(),
            listing: None,
        })
    }

    fn listing(&mut self) -> Result<&Listing> {
        if self.listing.is_none() {
            self.listing = Some(walk(&self.root)?);
        }
        Ok(self.listing.as_ref().expect("set just above"))
    }
}

impl Source for MboxTreeSource {
    fn describe(&self) -> SourceDescription {
        SourceDescription {
            kind: "mbox-tree".into(),
            location: std::path::absolute(&self.root)
                .unwrap_or_else(|_| self.root.clone())
                .to_string_lossy()
                .into_owned(),
        }
    }

    fn folders(&mut self) -> Result<Vec<Folder>> {
        Ok(self
            .listing()?
            .folders
            .iter()
            .map(|(folder, _)| folder.clone())
            .collect())
    }

    fn read_folder(&mut self, folder: &Folder, sink: Sink<'_>) -> Result<FolderNotes> {
        let kind = self
            .listing()?
            .folders
            .iter()
            .find(|(f, _)| f.locator == folder.locator && f.path == folder.path)
            .map(|(_, kind)| kind.clone())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "there is no folder `{}` in this mbox tree",
                    folder.name()
                ))
            })?;
        match kind {
            Kind::Mbox(path) => mbox::read_file(&path, sink),
            Kind::Loose(path) => read_loose(&path, folder, sink),
        }
    }

    fn notes(&self) -> Vec<String> {
        self.listing
            .as_ref()
            .map(|l| l.notes.clone())
            .unwrap_or_default()
    }
}

/// Reads a single message file as a folder of one.
fn read_loose(path: &Path, folder: &Folder, sink: Sink<'_>) -> Result<FolderNotes> {
    let source_id = folder.locator.clone();
    let len = fs::metadata(path)
        .map_err(|e| Error::io("cannot read", path, e))?
        .len();
    let entry = if len > MAX_MESSAGE as u64 {
        Entry::Unreadable {
            source_id,
            reason: format!(
                "message file of {len} bytes is larger than the {} byte limit; not read",
                MAX_MESSAGE
            ),
        }
    } else {
        match fs::read(path) {
            Ok(bytes) => Entry::Message(RawMessage {
                source_id,
                bytes,
                ..RawMessage::default()
            }),
            Err(e) => Entry::Unreadable {
                source_id,
                reason: format!("cannot read the file: {e}"),
            },
        }
    };
    let _: ControlFlow<()> = sink(entry);
    Ok(FolderNotes {
        notes: vec!["a single message file, not an mbox".into()],
    })
}

/// One folder found by the walk, before names are made unique.
struct Found {
    path: Vec<String>,
    /// The file's own name, used instead of the last segment when names clash.
    file_name: String,
    kind: Kind,
    /// Where the file is, relative to the root, with "/" (the locator).
    relative: String,
    bytes: u64,
}

#[derive(Default)]
struct Walk {
    found: Vec<Found>,
    indexes: usize,
    not_mail: Vec<String>,
    skipped: Vec<String>,
}

fn walk(root: &Path) -> Result<Listing> {
    let mut w = Walk::default();
    let mut notes = Vec::new();
    let profile = root.join("prefs.js").is_file()
        && (root.join("Mail").is_dir() || root.join("ImapMail").is_dir());
    if profile {
        notes.push("Thunderbird profile: only Mail/ and ImapMail/ are read".to_string());
        for top in ["ImapMail", "Mail"] {
            let dir = root.join(top);
            if dir.is_dir() {
                w.dir(&dir, &[top.to_string()], top, 1);
            }
        }
    } else {
        fs::read_dir(root).map_err(|e| Error::io("cannot list", root, e))?;
        w.dir(root, &[], "", 0);
    }

    if w.indexes > 0 {
        notes.push(format!(
            "ignored {} Thunderbird index files (.msf); messages are counted from the mbox files",
            w.indexes
        ));
    }
    if !w.not_mail.is_empty() {
        notes.push(format!("not mail, skipped: {}", name_list(&w.not_mail)));
    }
    notes.append(&mut w.skipped);
    let loose = w
        .found
        .iter()
        .filter(|f| matches!(f.kind, Kind::Loose(_)))
        .count();
    if loose > 0 {
        notes.push(format!(
            "loose message files read as one-message folders: {loose}"
        ));
    }
    Ok(Listing {
        folders: unique(w.found),
        notes,
    })
}

/// Names files one by one up to a bound, then says how many more there are.
fn name_list(names: &[String]) -> String {
    let shown = names[..names.len().min(NAMED_FILES)].join(", ");
    match names.len().saturating_sub(NAMED_FILES) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

fn join(relative: &str, name: &str) -> String {
    if relative.is_empty() {
        name.to_string()
    } else {
        format!("{relative}/{name}")
    }
}

/// The directory whose entries are being looked at.
struct Dir<'a> {
    /// Path segments of the folders found in it.
    prefix: &'a [String],
    /// The names of all its entries, to find a file's Thunderbird index or subfolders.
    names: &'a [&'a str],
    /// An Apple Mail export (`Name.mbox/`): its file `mbox` is folder `Name` itself.
    apple: bool,
}

impl Walk {
    /// Looks at every entry of `dir`, whose folders have paths starting with `prefix`.
    fn dir(&mut self, dir: &Path, prefix: &[String], relative: &str, depth: usize) {
        if depth > MAX_DEPTH {
            self.skipped.push(format!(
                "not read, more than {MAX_DEPTH} directories deep: {relative}"
            ));
            return;
        }
        let listing = match fs::read_dir(dir) {
            Ok(listing) => listing,
            Err(e) => {
                self.skipped
                    .push(format!("could not list {}: {e}", display(relative)));
                return;
            }
        };
        let mut entries: Vec<(String, PathBuf)> = Vec::new();
        for entry in listing {
            match entry {
                Ok(e) => entries.push((e.file_name().to_string_lossy().into_owned(), e.path())),
                Err(e) => self.skipped.push(format!(
                    "could not list an entry of {}: {e}",
                    display(relative)
                )),
            }
        }
        entries.sort();
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        let here = Dir {
            prefix,
            names: &names,
            apple: dir
                .file_name()
                .is_some_and(|n| mbox::has_mbox_extension(&n.to_string_lossy())),
        };

        for (name, path) in &entries {
            let rel = join(relative, name);
            let link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            let meta = match fs::metadata(path) {
                Ok(meta) => meta,
                Err(e) => {
                    self.skipped.push(format!("could not read {rel}: {e}"));
                    continue;
                }
            };
            if meta.is_dir() {
                if link {
                    self.skipped
                        .push(format!("not followed, a link to a directory: {rel}"));
                } else if name.ends_with(".mozmsgs") {
                    self.skipped.push(format!(
                        "not read, copies of messages made for Windows Search: {rel}"
                    ));
                } else {
                    let segment = name
                        .strip_suffix(".sbd")
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .unwrap_or_else(|| mbox::folder_name(name));
                    let mut sub = prefix.to_vec();
                    sub.push(segment);
                    self.dir(path, &sub, &rel, depth + 1);
                }
            } else if meta.is_file() {
                self.file(&here, name, path, rel, meta.len());
            } else {
                self.not_mail.push(rel);
            }
        }
    }

    /// Decides what one file is: an mbox folder, a one-message folder, an index, or not mail.
    fn file(&mut self, dir: &Dir<'_>, name: &str, path: &Path, rel: String, bytes: u64) {
        if name.ends_with(".msf") {
            self.indexes += 1;
            return;
        }
        let head = match super::sniff(path) {
            Ok(head) => head,
            Err(e) => {
                self.skipped.push(format!("could not read {rel}: {e}"));
                return;
            }
        };
        let has_sibling = |suffix: &str| dir.names.contains(&format!("{name}{suffix}").as_str());
        let mut folder = dir.prefix.to_vec();
        let kind = if mbox::looks_like_mbox(&head)
            || (head.is_empty()
                && (has_sibling(".msf")
                    || has_sibling(".sbd")
                    || mbox::has_mbox_extension(name)
                    || dir.apple))
        {
            if !(dir.apple && name == "mbox") || folder.is_empty() {
                folder.push(mbox::folder_name(name));
            }
            Kind::Mbox(path.to_path_buf())
        } else if super::looks_like_message(&head) {
            folder.push(name.strip_suffix(".eml").unwrap_or(name).to_string());
            Kind::Loose(path.to_path_buf())
        } else {
            self.not_mail.push(if head.is_empty() {
                format!("{rel} (empty)")
            } else {
                rel
            });
            return;
        };
        self.found.push(Found {
            path: folder,
            file_name: name.to_string(),
            kind,
            relative: rel,
            bytes,
        });
    }
}

fn display(relative: &str) -> &str {
    if relative.is_empty() { "." } else { relative }
}

/// Sorts folders by path (parents first) and makes their names unique: of folders that would
/// share a name, the first (by file path) keeps it and the others are named after their full
/// file name, numbered if that is taken too.
fn unique(mut found: Vec<Found>) -> Vec<(Folder, Kind)> {
    found.sort_by(|a, b| a.path.cmp(&b.path).then(a.relative.cmp(&b.relative)));
    let original: HashSet<Vec<String>> = found.iter().map(|f| f.path.clone()).collect();
    let mut taken: HashSet<Vec<String>> = HashSet::new();
    for f in &mut found {
        if taken.contains(&f.path) {
            let last = f.path.len() - 1;
            let base = f.file_name.clone();
            f.path[last] = base.clone();
            let mut n = 2;
            while taken.contains(&f.path) || original.contains(&f.path) {
                f.path[last] = format!("{base} ({n})");
                n += 1;
            }
        }
        taken.insert(f.path.clone());
    }
    found.sort_by(|a, b| a.path.cmp(&b.path).then(a.relative.cmp(&b.relative)));
    found
        .into_iter()
        .map(|f| {
            let name = f.path.last().cloned().unwrap_or_default();
            let loose = matches!(f.kind, Kind::Loose(_));
            (
                Folder {
                    role: Role::from_name(&name),
                    path: f.path,
                    claimed: loose.then_some(1),
                    bytes_hint: Some(f.bytes),
                    locator: f.relative,
                },
                f.kind,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mbox_of(subjects: &[&str]) -> String {
        subjects
            .iter()
            .map(|s| format!("From - Sat Jan  1 00:00:00 2000\nX-Mozilla-Status: 0001\nSubject: {s}\n\nbody of {s}\n\n"))
            .collect()
    }

    fn write(root: &Path, rel: &str, content: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    fn paths(source: &mut MboxTreeSource) -> Vec<String> {
        source.folders().unwrap().iter().map(Folder::name).collect()
    }

    fn read(source: &mut MboxTreeSource, name: &str) -> (Vec<RawMessage>, FolderNotes) {
        let folder = source
            .folders()
            .unwrap()
            .into_iter()
            .find(|f| f.name() == name)
            .unwrap_or_else(|| panic!("no folder {name}"));
        let mut msgs = Vec::new();
        let notes = source
            .read_folder(&folder, &mut |e| {
                match e {
                    Entry::Message(m) => msgs.push(m),
                    Entry::Unreadable { source_id, reason } => panic!("{source_id}: {reason}"),
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        (msgs, notes)
    }

    #[test]
    fn thunderbird_local_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let inbox = format!(
            "{}From - Sat Jan  1 00:00:00 2000\nX-Mozilla-Status: 0009\nSubject: deleted\n\nx\n",
            mbox_of(&["a", "b"])
        );
        write(root, "Inbox", &inbox);
        write(root, "Inbox.msf", "// <!-- <mdb:mork:z v=\"1.4\"/> -->");
        write(root, "Trash", "");
        write(root, "Trash.msf", "//");
        write(root, "Archives", &mbox_of(&["c"]));
        write(root, "Archives.msf", "//");
        write(root, "Archives.sbd/2019", &mbox_of(&["d", "e"]));
        write(root, "Archives.sbd/2019.msf", "//");
        write(root, "Archives.sbd/2020.sbd/Q1", &mbox_of(&["f"]));
        write(root, "popstate.dat", "# POP3 State File\n");
        write(
            root,
            "msgFilterRules.dat",
            "version=\"9\"\nlogging=\"no\"\n",
        );
        write(root, "saved.eml", "Subject: loose\nFrom: a@b\n\nhello\n");
        write(root, "Inbox.mozmsgs/1.wdseml", "Subject: copy\n\nx\n");

        assert_eq!(
            super::super::detect(root).unwrap(),
            super::super::Kind::MboxTree
        );
        let mut source = MboxTreeSource::open(root).unwrap();
        assert_eq!(source.describe().kind, "mbox-tree");
        assert!(source.notes().is_empty(), "notes come with the listing");
        assert_eq!(
            paths(&mut source),
            [
                "Archives",
                "Archives/2019",
                "Archives/2020/Q1",
                "Inbox",
                "Trash",
                "saved"
            ]
        );
        let folders = source.folders().unwrap();
        assert_eq!(folders[1].path, ["Archives", "2019"]);
        assert_eq!(folders[0].role, Some(Role::Archive));
        assert_eq!(folders[3].role, Some(Role::Inbox));
        assert_eq!(folders[4].role, Some(Role::Trash));
        assert_eq!(folders[4].bytes_hint, Some(0));
        assert_eq!(folders[5].claimed, Some(1));
        assert_eq!(folders[1].locator, "Archives.sbd/2019");

        let notes = source.notes().join("\n");
        assert!(
            notes.contains("ignored 4 Thunderbird index files (.msf)"),
            "{notes}"
        );
        assert!(
            notes.contains("not mail, skipped: msgFilterRules.dat, popstate.dat"),
            "{notes}"
        );
        assert!(notes.contains("Windows Search: Inbox.mozmsgs"), "{notes}");
        assert!(
            notes.contains("loose message files read as one-message folders: 1"),
            "{notes}"
        );

        let (msgs, notes) = read(&mut source, "Inbox");
        assert_eq!(msgs.len(), 3);
        assert_eq!(
            msgs[0].bytes,
            b"X-Mozilla-Status: 0001\nSubject: a\n\nbody of a\n"
        );
        assert_eq!(msgs[0].flags, ["\\Seen"]);
        assert_eq!(msgs[2].excluded.as_deref(), Some(mbox::EXPUNGED_REASON));
        assert!(
            notes.notes.iter().any(|n| n.contains("excluded: 1")),
            "{notes:?}"
        );
        assert_eq!(read(&mut source, "Archives/2019").0.len(), 2);
        assert_eq!(read(&mut source, "Archives/2020/Q1").0.len(), 1);
        assert!(read(&mut source, "Trash").0.is_empty());
        let (msgs, _) = read(&mut source, "saved");
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].bytes, b"Subject: loose\nFrom: a@b\n\nhello\n");
        assert_eq!(msgs[0].source_id, "saved.eml");
    }

    #[test]
    fn thunderbird_profile_with_imap_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "prefs.js", "user_pref(\"x\", 1);\n");
        write(root, "places.sqlite", "SQLite format 3\0");
        write(root, "cache2/entries/ABC", "junk");
        write(root, "Mail/Local Folders/Inbox", &mbox_of(&["local"]));
        write(root, "Mail/Local Folders/Inbox.msf", "//");
        write(
            root,
            "ImapMail/imap.example.com/INBOX",
            &mbox_of(&["a", "b"]),
        );
        write(root, "ImapMail/imap.example.com/INBOX.msf", "//");
        write(
            root,
            "ImapMail/imap.example.com/INBOX.sbd/Sent",
            &mbox_of(&["s"]),
        );
        write(
            root,
            "ImapMail/imap.example.com/msgFilterRules.dat",
            "version=\"9\"\n",
        );

        let mut source = MboxTreeSource::open(root).unwrap();
        assert_eq!(
            paths(&mut source),
            [
                "ImapMail/imap.example.com/INBOX",
                "ImapMail/imap.example.com/INBOX/Sent",
                "Mail/Local Folders/Inbox",
            ]
        );
        let folders = source.folders().unwrap();
        assert_eq!(folders[0].role, Some(Role::Inbox));
        assert_eq!(folders[1].role, Some(Role::Sent));
        let notes = source.notes().join("\n");
        assert!(notes.contains("Thunderbird profile"), "{notes}");
        assert!(
            notes.contains("ignored 2 Thunderbird index files"),
            "{notes}"
        );
        assert!(
            notes.contains("not mail, skipped: ImapMail/imap.example.com/msgFilterRules.dat"),
            "{notes}"
        );
        assert!(
            !notes.contains("cache2") && !notes.contains("places"),
            "{notes}"
        );
        assert_eq!(
            read(&mut source, "ImapMail/imap.example.com/INBOX").0.len(),
            2
        );
        // Opening the account directory directly works too.
        let mut account = MboxTreeSource::open(&root.join("ImapMail/imap.example.com")).unwrap();
        assert_eq!(paths(&mut account), ["INBOX", "INBOX/Sent"]);
    }

    #[test]
    fn directory_of_mbox_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let plain = |s: &str| format!("From x@y Sat Jan  1 00:00:00 2000\nSubject: {s}\n\n{s}\n\n");
        write(
            root,
            "All mail Including Spam and Trash.mbox",
            &plain("all"),
        );
        write(root, "Sent.mbox", &plain("sent"));
        write(root, "Drafts.mbox", "");
        write(root, "Projects/Alpha.mbox", &plain("alpha"));
        write(root, "archive.tar", "\0\0\0binary");
        write(root, "stray", "");

        let mut source = MboxTreeSource::open(root).unwrap();
        assert_eq!(
            paths(&mut source),
            [
                "All mail Including Spam and Trash",
                "Drafts",
                "Projects/Alpha",
                "Sent"
            ]
        );
        let folders = source.folders().unwrap();
        assert_eq!(folders[1].role, Some(Role::Drafts));
        assert_eq!(folders[3].role, Some(Role::Sent));
        let notes = source.notes().join("\n");
        assert!(
            notes.contains("not mail, skipped: archive.tar, stray (empty)"),
            "{notes}"
        );
        let (msgs, _) = read(&mut source, "Projects/Alpha");
        assert_eq!(msgs[0].bytes, b"Subject: alpha\n\nalpha\n");
    }

    #[test]
    fn clashing_names_and_apple_mail_exports() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Inbox", &mbox_of(&["tb"]));
        write(root, "Inbox.mbox", &mbox_of(&["export", "export2"]));
        write(root, "Inbox.mboxrd", &mbox_of(&["rd"]));
        write(root, "Inbox.sbd/Child", &mbox_of(&["child"]));
        write(root, "Work.mbox/mbox", &mbox_of(&["w"]));
        write(
            root,
            "Work.mbox/Info.plist",
            "<?xml version=\"1.0\"?>\n<plist/>\n",
        );
        write(root, "Work.mbox/Old.mbox/mbox", &mbox_of(&["o"]));

        let mut source = MboxTreeSource::open(root).unwrap();
        let names = paths(&mut source);
        assert_eq!(
            names,
            [
                "Inbox",
                "Inbox/Child",
                "Inbox.mbox",
                "Inbox.mboxrd",
                "Work",
                "Work/Old"
            ]
        );
        assert_eq!(read(&mut source, "Inbox").0.len(), 1);
        assert_eq!(read(&mut source, "Inbox.mbox").0.len(), 2);
        assert_eq!(read(&mut source, "Work/Old").0.len(), 1);
        let notes = source.notes().join("\n");
        assert!(notes.contains("Work.mbox/Info.plist"), "{notes}");
    }

    #[test]
    fn errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("Inbox");
        fs::write(&file, mbox_of(&["a"])).unwrap();
        let err = MboxTreeSource::open(&file).err().unwrap().to_string();
        assert!(err.contains("not a directory"), "{err}");
        assert!(MboxTreeSource::open(&dir.path().join("missing")).is_err());

        let mut source = MboxTreeSource::open(dir.path()).unwrap();
        let mut folder = source.folders().unwrap().remove(0);
        folder.locator = "elsewhere".into();
        folder.path = vec!["elsewhere".into()];
        let err = source
            .read_folder(&folder, &mut |_| ControlFlow::Continue(()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no folder `elsewhere`"), "{err}");
    }

    #[test]
    fn corpus_thunderbird_test_data() {
        let Some(corpus) = std::env::var_os("MAILPROOF_CORPUS").map(PathBuf::from) else {
            println!("skipped: set MAILPROOF_CORPUS to the corpus directory to run this test");
            return;
        };
        let mut source =
            MboxTreeSource::open(&corpus.join("thunderbird-mailnews/mailnews-test-data")).unwrap();
        let folders = source.folders().unwrap();
        let notes = source.notes().join("\n");
        assert!(
            notes.contains("ignored 1 Thunderbird index files"),
            "{notes}"
        );
        for (name, count) in [
            ("mbox_unquoted", 2),
            ("mbox_modern", 2),
            ("mbox_mboxrd", 2),
            ("bugmail-1", 1),
            ("01-plaintext", 1),
            ("mime-torture", 1),
        ] {
            assert!(folders.iter().any(|f| f.name() == name), "{name}");
            assert_eq!(read(&mut source, name).0.len(), count, "{name}");
        }
        // Every file is accounted for: a folder, the index, or named as not mail.
        let files = fs::read_dir(corpus.join("thunderbird-mailnews/mailnews-test-data"))
            .unwrap()
            .count();
        let not_mail = notes
            .lines()
            .find_map(|l| l.strip_prefix("not mail, skipped: "))
            .map_or(0, |l| l.split(", ").count());
        assert_eq!(folders.len() + 1 + not_mail, files, "{notes}");

        let mut source =
            MboxTreeSource::open(&corpus.join("thunderbird-mailnews/panorama-migration")).unwrap();
        assert_eq!(paths(&mut source), ["migration"]);
        assert_eq!(read(&mut source, "migration").0.len(), 3);
    }
}
