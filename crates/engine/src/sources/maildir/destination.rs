//! A Maildir as a restore destination: folders are created and messages added, never anything
//! changed or removed (design §7).
//!
//! Layout, the one the Maildir source reads ([`super`]):
//! - A folder that already exists (as the source lists it, in any layout) is used as it is.
//! - INBOX is the root's own `cur/`, `new/`, `tmp/`; a new folder `A/B` is the Maildir++
//!   directory `.A.B` with `cur/`, `new/`, `tmp/` and a `maildirfolder` file. Maildir++ needs
//!   no parent directory, so none is created for `A`.
//! - Maildir++ separates levels with `.`, so a name cannot hold one: `a.b` is stored as the two
//!   levels `a/b`, as Dovecot and Courier store it too, and the check maps it back by its
//!   similar name (the summary notes it). Each level is made safe the way archive paths are
//!   ([`safe_segment`]): no separators, control or reserved characters, bounded length.
//!
//! Messages:
//! - Written to `tmp/` under a unique name (`<time>.M<µs>P<pid>Q<n>.<host>,S=<size>`), flushed
//!   to disk with its modification time set to the internal date (which Dovecot serves as
//!   INTERNALDATE), then renamed into `cur/` with its flags after `:2,` and the directory
//!   flushed: after an interruption a message is wholly in `cur/` or not there at all (a file
//!   left in `tmp/` is never read as mail).
//! - Flags: `\Draft` D, `\Flagged` F, `$Forwarded` P, `\Answered` R, `\Seen` S, `\Deleted` T.
//!   Maildir has no place for other keywords except Dovecot's `dovecot-keywords` file: a
//!   keyword that file already names gets its letter; others are not stored, and the notes say
//!   which and how many (the file is never written: it belongs to the mail server).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Keywords, MAIL_DIRS, MaildirSource, has_mail_dirs};
use crate::destination::{Destination, NewMessage};
use crate::names::{safe_segment, truncate_utf8};
use crate::source::{Folder, Role, Source, SourceDescription};
use crate::{Error, Result};

/// The separator before the info (`:2,FS`); Windows file names cannot hold `:`.
const INFO: &str = if cfg!(windows) { ";2," } else { ":2," };

/// Longest Maildir++ directory name, in bytes, within every file system's 255.
const MAX_NAME: usize = 240;

pub struct MaildirDestination {
    root: PathBuf,
    /// The folders that exist, with their directories; listed on first use.
    folders: Option<Vec<(Folder, PathBuf)>>,
    host: String,
    seq: u64,
    /// Flags not stored, by (folder name, flag): how many messages had them.
    unstored: BTreeMap<(String, String), u64>,
    /// Folders whose names were changed to fit Maildir++, with the reason.
    renamed: Vec<String>,
}

impl MaildirDestination {
    /// Opens the Maildir at `path`. A path that does not exist yet (its parent must) or an
    /// empty directory becomes a new Maildir: INBOX's `cur/`, `new/` and `tmp/` are created.
    pub fn open(path: &Path) -> Result<Self> {
        match fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(path).map_err(|e| Error::io("cannot create", path, e))?;
                make_mail_dirs(path)?;
            }
            Err(e) => return Err(Error::io("cannot read", path, e)),
            Ok(_) if !path.is_dir() => {
                return Err(Error::NotAMailbox {
                    path: path.to_path_buf(),
                    what: "a file, not a Maildir".into(),
                });
            }
            Ok(_) => {
                let empty = fs::read_dir(path)
                    .map_err(|e| Error::io("cannot list", path, e))?
                    .next()
                    .is_none();
                if empty {
                    make_mail_dirs(path)?;
                }
            }
        }
        Ok(Self {
            root: super::absolute(path),
            folders: None,
            host: host_name(),
            seq: 0,
            unstored: BTreeMap::new(),
            renamed: Vec::new(),
        })
    }

    /// The folders that exist now, listed once by the Maildir source itself, so that a folder
    /// is found under the name a check reads it by.
    fn existing(&mut self) -> Result<&mut Vec<(Folder, PathBuf)>> {
        if self.folders.is_none() {
            let mut source = MaildirSource::open(&self.root)?;
            let listed = source.folders()?;
            let folders = listed
                .into_iter()
                .map(|f| {
                    let dir = source.dir(&f);
                    (f, dir)
                })
                .collect();
            self.folders = Some(folders);
        }
        Ok(self.folders.get_or_insert_with(Vec::new))
    }

    fn dir_of(&self, folder: &Folder) -> Result<PathBuf> {
        self.folders
            .iter()
            .flatten()
            .find(|(f, _)| f.locator == folder.locator)
            .map(|(_, dir)| dir.clone())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "the folder “{}” was not opened in {}",
                    folder.name(),
                    self.root.display()
                ))
            })
    }

    /// Writes one message into `dir` as described in the module documentation; returns the
    /// flags that could not be stored.
    fn write(&mut self, dir: &Path, message: NewMessage<'_>) -> Result<Vec<String>> {
        let keywords = Keywords::load(dir);
        let (letters, unstored) = info_letters(message.flags, &keywords);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let (tmp, cur) = loop {
            self.seq += 1;
            let unique = format!(
                "{}.M{}P{}Q{}.{},S={}",
                now.as_secs(),
                now.subsec_micros(),
                std::process::id(),
                self.seq,
                self.host,
                message.bytes.len()
            );
            let tmp = dir.join("tmp").join(&unique);
            let cur = dir.join("cur").join(format!("{unique}{INFO}{letters}"));
            if fs::symlink_metadata(&tmp).is_err() && fs::symlink_metadata(&cur).is_err() {
                break (tmp, cur);
            }
        };
        let written = (|| {
            let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            file.write_all(message.bytes)?;
            if let Some(t) = message.internal_date.and_then(system_time) {
                file.set_modified(t)?;
            }
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io("cannot write", &tmp, e));
        }
        if let Err(e) = fs::rename(&tmp, &cur) {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io("cannot move into cur/", &cur, e));
        }
        sync_dir(&dir.join("cur"))?;
        Ok(unstored)
    }
}

impl Destination for MaildirDestination {
    fn describe(&self) -> SourceDescription {
        SourceDescription {
            kind: "maildir".into(),
            location: self.root.display().to_string(),
        }
    }

    fn ensure_folder(&mut self, path: &[String]) -> Result<Folder> {
        let root = self.root.clone();
        let levels = levels(path);
        let existing = self.existing()?;
        let found = existing
            .iter()
            .find(|(f, _)| f.path == path)
            .or_else(|| existing.iter().find(|(f, _)| f.path == levels));
        if let Some((folder, dir)) = found {
            // A folder may lack `tmp/` (or `new/`); adding it changes nothing that is there.
            let folder = folder.clone();
            make_mail_dirs(dir)?;
            return Ok(folder);
        }
        let inbox = matches!(levels.as_slice(), [one] if one.eq_ignore_ascii_case("INBOX"));
        let (dir, locator) = if inbox {
            (root.clone(), ".".to_string())
        } else {
            let mut name = format!(".{}", levels.join("."));
            truncate_utf8(&mut name, MAX_NAME);
            let name = name.trim_end_matches('.').to_string();
            (root.join(&name), name)
        };
        if !inbox {
            match fs::symlink_metadata(&dir) {
                Ok(meta) if !meta.is_dir() => {
                    return Err(Error::NotAMailbox {
                        path: dir,
                        what: "in the way of a new folder: not a directory".into(),
                    });
                }
                Ok(_) => {}
                Err(_) => fs::create_dir(&dir).map_err(|e| Error::io("cannot create", &dir, e))?,
            }
            make_mail_dirs(&dir)?;
            let marker = dir.join("maildirfolder");
            if fs::symlink_metadata(&marker).is_err() {
                File::create(&marker).map_err(|e| Error::io("cannot create", &marker, e))?;
            }
        } else {
            make_mail_dirs(&dir)?;
        }
        sync_dir(&root)?;
        let shown = |p: &[String]| p.join("/");
        let stored: Vec<String> = if inbox {
            vec!["INBOX".to_string()]
        } else {
            locator[1..].split('.').map(str::to_string).collect()
        };
        if stored != path {
            self.renamed.push(format!(
                "the folder “{}” was created as “{}”: Maildir++ separates levels with “.” and folder names must be safe file names",
                shown(path),
                shown(&stored)
            ));
        }
        let folder = Folder {
            role: stored.last().and_then(|s| Role::from_name(s)),
            path: stored,
            claimed: Some(0),
            bytes_hint: None,
            locator,
        };
        self.existing()?.push((folder.clone(), dir));
        Ok(folder)
    }

    fn append(&mut self, folder: &Folder, message: NewMessage<'_>) -> Result<()> {
        let dir = self.dir_of(folder)?;
        for flag in self.write(&dir, message)? {
            *self.unstored.entry((folder.name(), flag)).or_default() += 1;
        }
        Ok(())
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = self.renamed.clone();
        for ((folder, flag), n) in &self.unstored {
            notes.push(format!(
                "the flag {flag} of {} in “{folder}” was not stored: a Maildir keeps keywords only where the mail server's dovecot-keywords file already names them",
                if *n == 1 {
                    "1 message".to_string()
                } else {
                    format!("{n} messages")
                }
            ));
        }
        notes
    }
}

/// The Maildir++ levels of a folder path: every `.` separates levels, each level made safe.
fn levels(path: &[String]) -> Vec<String> {
    let levels: Vec<String> = path
        .iter()
        .flat_map(|s| s.split('.'))
        .filter(|l| !l.trim().is_empty())
        .map(safe_segment)
        .collect();
    if levels.is_empty() {
        vec!["_".to_string()]
    } else {
        levels
    }
}

/// The Maildir info letters for IMAP flags, in ASCII order, and the flags that have none.
/// `\Recent` belongs to a session, not to a message, and is never stored anywhere.
fn info_letters(flags: &[String], keywords: &Keywords) -> (String, Vec<String>) {
    let mut letters = Vec::new();
    let mut unstored = Vec::new();
    for flag in flags {
        let letter = match flag.to_ascii_lowercase().as_str() {
            "\\draft" => Some('D'),
            "\\flagged" => Some('F'),
            "$forwarded" => Some('P'),
            "\\answered" => Some('R'),
            "\\seen" => Some('S'),
            "\\deleted" => Some('T'),
            "\\recent" => continue,
            _ => keywords.letter(flag),
        };
        match letter {
            Some(l) if !letters.contains(&l) => letters.push(l),
            Some(_) => {}
            None => unstored.push(flag.clone()),
        }
    }
    letters.sort_unstable();
    (letters.into_iter().collect(), unstored)
}

/// Creates whichever of `cur/`, `new/` and `tmp/` is missing.
fn make_mail_dirs(dir: &Path) -> Result<()> {
    for sub in MAIL_DIRS {
        let path = dir.join(sub);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::NotAMailbox {
                    path,
                    what: "not a directory, where a Maildir keeps its messages".into(),
                });
            }
            Err(_) => fs::create_dir(&path).map_err(|e| Error::io("cannot create", &path, e))?,
        }
    }
    debug_assert!(has_mail_dirs(dir));
    Ok(())
}

/// Flushes a directory's entries (a rename, a new file) to disk. Only Unix can open a
/// directory for this; elsewhere the file system orders renames itself.
fn sync_dir(dir: &Path) -> Result<()> {
    if cfg!(unix) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io("cannot flush to disk", dir, e))?;
    }
    Ok(())
}

/// Unix seconds as a file time, when representable.
fn system_time(t: i64) -> Option<SystemTime> {
    if t >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(t as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(t.unsigned_abs()))
    }
}

/// This machine's name for unique file names, with the characters Maildir reserves replaced.
fn host_name() -> String {
    let raw = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    let host: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if host.is_empty() {
        "localhost".into()
    } else {
        host
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::ControlFlow;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    /// Reads every folder back with the Maildir source: (folder name, bytes, flags).
    fn read_back(root: &Path) -> Vec<(String, Vec<u8>, Vec<String>)> {
        let mut source = MaildirSource::open(root).unwrap();
        let mut out = Vec::new();
        for f in source.folders().unwrap() {
            source
                .read_folder(&f, &mut |e| {
                    if let crate::source::Entry::Message(m) = e {
                        out.push((f.name(), m.bytes, m.flags));
                    }
                    ControlFlow::Continue(())
                })
                .unwrap();
        }
        out
    }

    #[test]
    fn appends_read_back_with_flags_and_date() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("new-maildir");
        let mut dest = MaildirDestination::open(&root).unwrap();
        let inbox = dest.ensure_folder(&v(&["INBOX"])).unwrap();
        let work = dest.ensure_folder(&v(&["Work", "2024"])).unwrap();
        assert_eq!(work.path, v(&["Work", "2024"]));
        assert!(root.join(".Work.2024/cur").is_dir());
        assert!(root.join(".Work.2024/maildirfolder").is_file());
        let flags = v(&["\\Seen", "\\Answered", "$Forwarded", "\\Recent", "$Label1"]);
        dest.append(
            &inbox,
            NewMessage {
                bytes: b"Subject: one\r\n\r\nbody\r\n",
                flags: &flags,
                internal_date: Some(1_600_000_000),
            },
        )
        .unwrap();
        dest.append(
            &work,
            NewMessage {
                bytes: b"Subject: two\n\nbody\n",
                flags: &[],
                internal_date: None,
            },
        )
        .unwrap();
        let got = read_back(&root);
        assert_eq!(
            got,
            vec![
                (
                    "INBOX".to_string(),
                    b"Subject: one\r\n\r\nbody\r\n".to_vec(),
                    v(&["$Forwarded", "\\Answered", "\\Seen"])
                ),
                (
                    "Work/2024".to_string(),
                    b"Subject: two\n\nbody\n".to_vec(),
                    vec![]
                ),
            ]
        );
        let file = fs::read_dir(root.join("cur"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let name = file.file_name().to_string_lossy().into_owned();
        assert!(name.ends_with(":2,PRS"), "{name}");
        assert!(name.contains(",S=22"), "{name}");
        let mtime = file.metadata().unwrap().modified().unwrap();
        assert_eq!(mtime, UNIX_EPOCH + Duration::from_secs(1_600_000_000));
        assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
        let notes = dest.notes();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("$Label1") && notes[0].contains("“INBOX”"));
    }

    #[test]
    fn existing_folders_are_reused_and_nothing_is_changed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["cur", "new", "tmp", ".Sent/cur", "Archive/2023/cur"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        fs::write(root.join("cur/1.a:2,S"), b"Subject: kept\n\nx\n").unwrap();
        fs::write(root.join(".Sent/dovecot-keywords"), b"0 $Label1\n3 Work\n").unwrap();
        let mut dest = MaildirDestination::open(root).unwrap();
        let sent = dest.ensure_folder(&v(&["Sent"])).unwrap();
        assert_eq!(sent.locator, ".Sent");
        // A verbatim folder (mbsync layout) is found as it is.
        let archive = dest.ensure_folder(&v(&["Archive", "2023"])).unwrap();
        assert_eq!(archive.locator, "Archive/2023");
        dest.append(
            &sent,
            NewMessage {
                bytes: b"Subject: s\n\nx\n",
                flags: &v(&["Work", "$Label1", "Other"]),
                internal_date: None,
            },
        )
        .unwrap();
        let names: Vec<String> = fs::read_dir(root.join(".Sent/cur"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1);
        assert!(names[0].ends_with(":2,ad"), "{names:?}");
        assert_eq!(
            fs::read(root.join("cur/1.a:2,S")).unwrap(),
            b"Subject: kept\n\nx\n"
        );
        assert_eq!(
            fs::read(root.join(".Sent/dovecot-keywords")).unwrap(),
            b"0 $Label1\n3 Work\n"
        );
        assert!(!root.join("Archive/2023/maildirfolder").exists());
        assert!(dest.notes().iter().any(|n| n.contains("Other")));
    }

    #[test]
    fn hostile_and_dotted_names_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("m");
        let mut dest = MaildirDestination::open(&root).unwrap();
        for (path, want) in [
            (v(&[".."]), "._"),
            (v(&["..", "etc"]), ".etc"),
            (v(&["a/b\\c"]), ".a_b_c"),
            (v(&["a.b"]), ".a.b"),
            (v(&["CON"]), "._CON"),
            (v(&[""]), "._"),
        ] {
            let f = dest.ensure_folder(&path).unwrap();
            assert_eq!(f.locator, want, "{path:?}");
            assert!(root.join(want).join("cur").is_dir());
        }
        // Everything created is directly inside the Maildir.
        for entry in fs::read_dir(dir.path()).unwrap() {
            assert_eq!(entry.unwrap().file_name(), "m");
        }
        let notes = dest.notes();
        assert!(
            notes
                .iter()
                .any(|n| n.contains("“a.b” was created as “a/b”")),
            "{notes:?}"
        );
        // Asking again finds the folder as created, under its own or its stored name.
        let again = dest.ensure_folder(&v(&["a.b"])).unwrap();
        assert_eq!(again.locator, ".a.b");
    }

    #[test]
    fn a_leftover_in_tmp_is_not_mail() {
        let dir = tempfile::tempdir().unwrap();
        let mut dest = MaildirDestination::open(dir.path()).unwrap();
        let inbox = dest.ensure_folder(&v(&["INBOX"])).unwrap();
        // What an interrupted append leaves: a file in tmp/, never in cur/.
        fs::write(dir.path().join("tmp/1.M1P1Q1.host,S=3"), b"Sub").unwrap();
        dest.append(
            &inbox,
            NewMessage {
                bytes: b"Subject: whole\n\nx\n",
                flags: &[],
                internal_date: None,
            },
        )
        .unwrap();
        let got = read_back(dir.path());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, b"Subject: whole\n\nx\n");
    }
}
