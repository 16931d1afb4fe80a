//! Local mailbox sources, and the detection that picks one for a path.
//!
//! Each format lives in its own module behind [`Source`]. A spec is a path, optionally forced to
//! a kind with a prefix such as `mbox:`; without one the kind is detected from what is on disk.
//! `imap://` and `imaps://` specs open an account instead ([`crate::imap`]).

pub mod eml;
pub mod emlx;
pub mod maildir;
pub mod mbox;
pub mod mboxtree;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::imap::{self, Access};
use crate::source::Source;
use crate::{Error, Result};

/// The kinds of local input Mailproof understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mbox,
    MboxTree,
    Maildir,
    Eml,
    Emlx,
    Archive,
    Receipt,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Mbox,
        Kind::MboxTree,
        Kind::Maildir,
        Kind::Eml,
        Kind::Emlx,
        Kind::Archive,
        Kind::Receipt,
    ];

    /// The prefix that forces this kind in a spec, without the colon.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Mbox => "mbox",
            Kind::MboxTree => "mbox-tree",
            Kind::Maildir => "maildir",
            Kind::Eml => "eml",
            Kind::Emlx => "emlx",
            Kind::Archive => "archive",
            Kind::Receipt => "receipt",
        }
    }
}

/// What a spec opened as: something with messages to read, or a receipt (which has none).
pub enum Input {
    Source(Box<dyn Source>),
    Receipt(PathBuf),
}

/// Splits an optional `kind:` prefix off a spec. `thunderbird:` is accepted for `mbox-tree:`.
pub fn parse_spec(spec: &str) -> Result<(Option<Kind>, PathBuf)> {
    if let Some((prefix, rest)) = spec.split_once(':') {
        // A Windows drive letter ("C:\...") is a path, not a prefix.
        if prefix.len() > 1 {
            let kind = match prefix {
                "thunderbird" => Some(Kind::MboxTree),
                p => Kind::ALL.into_iter().find(|k| k.prefix() == p),
            };
            return match kind {
                Some(kind) => Ok((Some(kind), PathBuf::from(rest))),
                None if prefix.contains(['/', '\\', '.']) => Ok((None, PathBuf::from(spec))),
                None => Err(Error::Usage(format!(
                    "unknown mailbox kind `{prefix}:` in `{spec}`; known kinds: {}",
                    Kind::ALL.map(|k| format!("{}:", k.prefix())).join(" ")
                ))),
            };
        }
    }
    Ok((None, PathBuf::from(spec)))
}

/// Opens a spec as a source or a receipt.
pub fn open(spec: &str) -> Result<Input> {
    open_with(spec, &Access::default())
}

/// Opens a spec as a source or a receipt; `access` answers for an IMAP account's secrets.
pub fn open_with(spec: &str, access: &Access) -> Result<Input> {
    if imap::is_imap_spec(spec) {
        return Ok(Input::Source(Box::new(imap::open_source(spec, access)?)));
    }
    let (forced, path) = parse_spec(spec)?;
    if !path.exists() {
        return Err(Error::NotAMailbox {
            path,
            what: "no such file or directory".into(),
        });
    }
    let kind = match forced {
        Some(kind) => kind,
        None => detect(&path)?,
    };
    open_kind(kind, &path)
}

/// Opens a spec that must have messages to read (not a bare receipt).
pub fn open_source(spec: &str) -> Result<Box<dyn Source>> {
    open_source_with(spec, &Access::default())
}

/// [`open_source`] with access to IMAP accounts.
pub fn open_source_with(spec: &str, access: &Access) -> Result<Box<dyn Source>> {
    match open_with(spec, access)? {
        Input::Source(source) => Ok(source),
        Input::Receipt(path) => Err(Error::NotAMailbox {
            path,
            what:
                "this is a receipt: it lists messages but holds none; give a mailbox or an archive"
                    .into(),
        }),
    }
}

fn open_kind(kind: Kind, path: &Path) -> Result<Input> {
    Ok(Input::Source(match kind {
        Kind::Mbox => Box::new(mbox::MboxSource::open(path)?),
        Kind::MboxTree => Box::new(mboxtree::MboxTreeSource::open(path)?),
        Kind::Maildir => Box::new(maildir::MaildirSource::open(path)?),
        Kind::Eml => Box::new(eml::EmlSource::open(path)?),
        Kind::Emlx => Box::new(emlx::EmlxSource::open(path)?),
        Kind::Archive => Box::new(crate::archive::ArchiveSource::open(path)?),
        Kind::Receipt => {
            crate::receipt::check_magic(path)?;
            return Ok(Input::Receipt(path.to_path_buf()));
        }
    }))
}

/// How many bytes of a file detection looks at.
const SNIFF: usize = 4096;

/// Reads the first bytes of a file for detection.
pub(crate) fn sniff(path: &Path) -> Result<Vec<u8>> {
    let mut file = fs::File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let mut buf = Vec::with_capacity(SNIFF);
    file.by_ref()
        .take(SNIFF as u64)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("cannot read", path, e))?;
    Ok(buf)
}

/// True when the bytes start like an RFC 5322 header field (`Name: value`), possibly after a
/// From_ line as some tools write.
pub(crate) fn looks_like_message(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut lines = head.split(|&b| b == b'\n');
    let Some(mut first) = lines.next() else {
        return false;
    };
    if first.starts_with(b"From ") {
        first = lines.next().unwrap_or_default();
    }
    match first.iter().position(|&b| b == b':') {
        Some(colon) if colon > 0 => first[..colon]
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b':'),
        _ => false,
    }
}

/// Detects the kind of a path from its contents, or says plainly what was found instead.
pub fn detect(path: &Path) -> Result<Kind> {
    let meta = fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
    if meta.is_dir() {
        return detect_dir(path);
    }
    let head = sniff(path)?;
    let not = |what: String| Error::NotAMailbox {
        path: path.to_path_buf(),
        what,
    };
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Ok(Kind::Archive);
    }
    if crate::receipt::has_magic(&head) {
        return Ok(Kind::Receipt);
    }
    if head.starts_with(b"!BDN") {
        return Err(not(
            "an Outlook PST/OST file; Mailproof cannot read these yet: export the mail to mbox or EML first".into(),
        ));
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(not(
            "an OLE compound file (an Outlook .msg or an old Office document), not a mailbox; save Outlook messages as .eml to check them".into(),
        ));
    }
    let eml_name = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"));
    // mbox is the one format in which an empty file is a whole mailbox: a spool or a folder
    // whose messages were all deleted. An empty `.eml` is a message file that lost its message.
    if head.is_empty() && !eml_name {
        return Ok(Kind::Mbox);
    }
    if emlx::looks_like_emlx(path, &head) {
        return Ok(Kind::Emlx);
    }
    if head.starts_with(b"From ") {
        return Ok(Kind::Mbox);
    }
    if eml_name || eml::starts_like_message(&head) {
        return Ok(Kind::Eml);
    }
    Err(not(format!(
        "not a mailbox: {} ({} bytes); expected an mbox file, an e-mail message, a Maildir, a Mailproof archive or receipt",
        looks_like(&head),
        meta.len(),
    )))
}

/// What a file that is not mail looks like, from its first bytes: a few common kinds by their
/// signature, else binary data (more than 1% control characters) or text (quoted, cut short).
fn looks_like(head: &[u8]) -> String {
    const SIGNATURES: [(&[u8], &str); 7] = [
        (b"%PDF-", "a PDF document"),
        (b"\x1F\x8B", "a gzip-compressed file (unpack it first)"),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive (unpack it first)"),
        (b"Rar!\x1A\x07", "a RAR archive (unpack it first)"),
        (b"\xFD7zXZ\x00", "an xz-compressed file (unpack it first)"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
    ];
    if let Some((_, what)) = SIGNATURES.iter().find(|(magic, _)| head.starts_with(magic)) {
        return what.to_string();
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !b"\t\n\r\x0C".contains(&b))
        .count();
    if controls * 100 > head.len() {
        return "binary data, not text".into();
    }
    let start: String = String::from_utf8_lossy(head).chars().take(24).collect();
    format!("text starting with {start:?}, not a message")
}

fn detect_dir(path: &Path) -> Result<Kind> {
    if maildir::is_maildir(path) {
        return Ok(Kind::Maildir);
    }
    let mut seen = DirSurvey::default();
    seen.walk(path, 0)?;
    if seen.emlx > 0 {
        Ok(Kind::Emlx)
    } else if seen.mbox > 0 || seen.thunderbird {
        Ok(Kind::MboxTree)
    } else if seen.messages > 0 || seen.files == 0 {
        // A folder with no files at all is an empty mailbox (read as a tree of .eml files
        // holding none), not an error; one with files that are not mail is not a mailbox.
        Ok(Kind::Eml)
    } else {
        Err(Error::NotAMailbox {
            path: path.to_path_buf(),
            what: format!(
                "a folder with {} files, none of which looks like mail (no Maildir cur/new, no mbox, no .eml or .emlx)",
                seen.files
            ),
        })
    }
}

/// What a bounded look through a directory tree found.
#[derive(Default)]
struct DirSurvey {
    files: usize,
    emlx: usize,
    mbox: usize,
    messages: usize,
    thunderbird: bool,
}

impl DirSurvey {
    /// Detection looks at most this many files and this deep, so it stays instant on big trees.
    const MAX_FILES: usize = 400;
    const MAX_DEPTH: usize = 6;

    fn walk(&mut self, dir: &Path, depth: usize) -> Result<()> {
        if depth > Self::MAX_DEPTH || self.files >= Self::MAX_FILES {
            return Ok(());
        }
        let mut entries: Vec<_> = fs::read_dir(dir)
            .map_err(|e| Error::io("cannot list", dir, e))?
            .filter_map(|e| e.ok())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                if name.ends_with(".sbd") {
                    self.thunderbird = true;
                }
                self.walk(&p, depth + 1)?;
            } else if ft.is_file() {
                self.files += 1;
                if self.files > Self::MAX_FILES {
                    return Ok(());
                }
                if name.ends_with(".emlx") {
                    self.emlx += 1;
                } else if name.ends_with(".msf") {
                    self.thunderbird = true;
                } else if let Ok(head) = sniff(&p) {
                    if mbox::looks_like_mbox(&head) {
                        self.mbox += 1;
                    } else if eml::starts_like_message(&head) {
                        self.messages += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_force_a_kind() {
        assert_eq!(
            parse_spec("mbox:/a/b").unwrap(),
            (Some(Kind::Mbox), "/a/b".into())
        );
        assert_eq!(
            parse_spec("thunderbird:prof").unwrap(),
            (Some(Kind::MboxTree), "prof".into())
        );
        assert_eq!(
            parse_spec("plain/path").unwrap(),
            (None, "plain/path".into())
        );
        assert_eq!(parse_spec("C:\\mail").unwrap(), (None, "C:\\mail".into()));
        let err = parse_spec("pst:x").unwrap_err().to_string();
        assert!(err.contains("unknown mailbox kind `pst:`"), "{err}");
    }

    #[test]
    fn empty_mailboxes_and_files_that_are_not_mail() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        fs::write(path("Inbox"), b"").unwrap();
        assert_eq!(detect(&path("Inbox")).unwrap(), Kind::Mbox);
        fs::write(path("lost.eml"), b"").unwrap();
        assert_eq!(detect(&path("lost.eml")).unwrap(), Kind::Eml);
        fs::create_dir_all(path("empty/sub")).unwrap();
        assert_eq!(detect(&path("empty")).unwrap(), Kind::Eml);

        let refused = |name: &str, bytes: &[u8]| {
            fs::write(path(name), bytes).unwrap();
            detect(&path(name)).unwrap_err().to_string()
        };
        let pdf = refused("a.pdf", b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
        assert!(
            pdf.contains("a.pdf: not a mailbox: a PDF document (15 bytes)"),
            "{pdf}"
        );
        let random: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let binary = refused("data.bin", &random);
        assert!(
            binary.contains("data.bin: not a mailbox: binary data, not text"),
            "{binary}"
        );
        let text = refused("notes.txt", "Liste des courses\n".as_bytes());
        assert!(
            text.contains("text starting with \"Liste des courses\\n\""),
            "{text}"
        );
        fs::create_dir(path("docs")).unwrap();
        fs::write(path("docs/a.txt"), b"x").unwrap();
        let folder = detect(&path("docs")).unwrap_err().to_string();
        assert!(
            folder.contains("a folder with 1 files, none of which looks like mail"),
            "{folder}"
        );
    }

    #[test]
    fn message_sniffing() {
        assert!(looks_like_message(b"Subject: hi\r\n\r\nbody"));
        assert!(looks_like_message(
            b"From a@b Sat Jan  1 00:00:00 2000\nTo: x\n"
        ));
        assert!(!looks_like_message(b"hello world\n"));
        assert!(!looks_like_message(b": nothing\n"));
    }
}
