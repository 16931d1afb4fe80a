//! Every local mailbox format with its edge cases, written into a directory, with the answer
//! a correct reader must give.
//!
//! ```no_run
//! let (dir, manifest) = mailproof_tests::fixtures::temp().unwrap();
//! let mboxrd = manifest.get("mbox-mboxrd");
//! // open `mboxrd.spec()` (e.g. "mbox:/tmp/.../mbox/mboxrd.mbox") with the engine and compare
//! // each folder's messages with `mboxrd.folders[i].messages` (SHA-256, flags, excluded, trashed)
//! # drop(dir);
//! ```
//!
//! [`write_all`] writes into a given directory; [`temp`] into a fresh temporary one, deleted when
//! the returned guard drops. The [`Manifest`] lists each [`Fixture`]: its name, its [`Kind`], its
//! path, the files in it that are not mail, and per folder (path segments) the expected
//! messages in order: SHA-256 of the exact original bytes, length, flags, excluded, trashed.
//! Everything is a pure function of the seed ([`SEED`] by default).
//!
//! **Honest expectations.** Every message is generated first; its digest is taken from those
//! original bytes; only then is it written into its container (mbox quoting, From_ lines,
//! Content-Length, emlx length line and plist, partial emlx). Nothing is read back.
//!
//! # Conventions a correct reader follows
//!
//! - **Folders** are named relative to the fixture path. A single mbox file is one folder named
//!   after the file without its extension (`mbox/mboxrd.mbox` → `["mboxrd"]`). Thunderbird:
//!   file `Archives.sbd/2019` → `["Archives", "2019"]`. Maildir++: the root is `["INBOX"]`,
//!   `.Archive.2019` → `["Archive", "2019"]`. EML: each directory holding messages is a folder
//!   (`Work/Projects` → `["Work", "Projects"]`); the root holds no mail. Apple Mail:
//!   `Inbox.mbox` → `["Inbox"]`.
//! - **Order**: folders are listed sorted by their path segments (so parents come before
//!   children). mbox messages are in file order. For directory formats the expectation lists
//!   messages sorted by file name (Maildir `cur/` and `new/` merged; the names sort by their
//!   delivery time); readers may order them otherwise, so compare those folders as multisets if
//!   the reader does not sort.
//! - **mbox splitting**: only at a line starting with `From ` at the start of the file or right
//!   after an empty line; the line ending before a separator (and the one at the end of the
//!   file) belongs to the separator, not to the message. mboxrd: one `>` is removed from lines
//!   matching `^>+From `. Thunderbird modern (`From - ` separators): lines matching `^ From `
//!   keep their leading space, as Thunderbird itself reads them. `Content-Length` is honoured only when, counted from the
//!   start of the body, it ends exactly at a separator (the line ending plus `From `) or at the
//!   end of the file (or its final line ending); otherwise it is ignored.
//! - **Flags** are IMAP-style and listed sorted (compare as a set): `\Seen`, `\Answered`,
//!   `\Flagged`, `\Deleted`, `\Draft`, `$Forwarded` and keywords.
//!   - mbox `Status:` R → `\Seen`; `X-Status:` A → `\Answered`, F → `\Flagged`.
//!   - `X-Mozilla-Status` (hex): 0x0001 → `\Seen`, 0x0002 → `\Answered`, 0x0004 → `\Flagged`,
//!     0x1000 → `$Forwarded`, **0x0008 (expunged) → excluded**; `X-Mozilla-Keys`: blank-separated
//!     keywords, padded with spaces.
//!   - Maildir info (`:2,`, `;2,` or `!2,`): D → `\Draft`, F → `\Flagged`, R → `\Answered`,
//!     S → `\Seen`, **T → `\Deleted` and trashed** (counted as mail); `a`…`z` → the keywords
//!     named in the folder's `dovecot-keywords` file. A file in `new/` without info has no flags.
//!     Files in `tmp/` are not mail.
//!   - emlx plist `flags`: bit 0 → `\Seen`, bit 2 → `\Answered`, bit 4 → `\Flagged`, bit 6 →
//!     `\Draft`, bit 8 → `$Forwarded`, bit 24 → `$Junk`, bit 25 → `$NotJunk`; other bits
//!     (attachment count, priority, bits above 31) are not flags.
//!   - EML files have no flags.
//!
//! # The fixtures
//!
//! | name | kind | path | folders: messages |
//! |---|---|---|---|
//! | `mbox-mboxo` | mbox | `mbox/mboxo.mbox` | mboxo: 3 |
//! | `mbox-mboxrd` | mbox | `mbox/mboxrd.mbox` | mboxrd: 4 |
//! | `mbox-mboxcl2` | mbox | `mbox/mboxcl2.mbox` | mboxcl2: 3 |
//! | `mbox-mboxcl2-wrong-length` | mbox | `mbox/mboxcl2-wrong-length.mbox` | mboxcl2-wrong-length: 3 |
//! | `mbox-thunderbird-modern` | mbox | `mbox/thunderbird-modern` | thunderbird-modern: 5 (1 excluded) |
//! | `mbox-thunderbird-unquoted` | mbox | `mbox/thunderbird-unquoted` | thunderbird-unquoted: 2 |
//! | `mbox-crlf` | mbox | `mbox/crlf.mbox` | crlf: 3 |
//! | `mbox-from-line-text` | mbox | `mbox/from-line-text.mbox` | from-line-text: 3 |
//! | `mbox-missing-final-newline` | mbox | `mbox/missing-final-newline.mbox` | missing-final-newline: 2 |
//! | `mbox-empty` | mbox | `mbox/empty.mbox` | empty: 0 |
//! | `thunderbird-profile` | mbox-tree | `thunderbird/Local Folders` | Archives 1, Archives/2019 2, Inbox 3, Sent 2, Trash 0 |
//! | `maildir` | maildir | `maildir` | Archive 1, Archive/2019 2, Empty 0, INBOX 7 (1 trashed), Sent 2 |
//! | `eml-tree` | eml | `eml` | Inbox 4, Work 3, Work/Projects 3 |
//! | `apple-mail` | emlx | `applemail` | Inbox 3, Sent Messages 1 |
//!
//! In all: 14 fixtures, 62 messages (61 counted, 1 excluded, 1 trashed), 60 distinct digests.
//!
//! # How each case is built
//!
//! - `mbox-mboxo`: From_ lines `From <sender> <asctime date>`; body `From ` lines written as
//!   `>From ` (no original line starts with `>From `, so mboxo and mboxrd readings agree).
//!   1: `Status: RO`; 2: a `From ` line after an empty line, `Status: O` + `X-Status: AF`;
//!   3: multipart/alternative, RFC 2047 subject, no Message-ID.
//! - `mbox-mboxrd`: each line matching `^>*From ` gets one more `>`. 1: body lines `From `
//!   (after an empty line), `>From `, `>>From ` and a `From ` line after a non-empty line;
//!   2: the body's first line starts with `From `; 3: one body line of exactly 1 MiB;
//!   4: multipart/mixed with a base64 attachment and `>From` lines in the text part.
//! - `mbox-mboxcl2`: no quoting; `Content-Length: <body bytes>` added as the last header
//!   field. Message 2 has an unquoted `From ` line after an empty line: only a reader that
//!   honours Content-Length keeps it whole.
//! - `mbox-mboxcl2-wrong-length`: like mboxcl2, but message 1 claims 40 bytes too many and
//!   message 2 7 bytes too few (neither lands on a separator, which the generator checks);
//!   message 3 is right. No body line starts with `From `, so the From_ lines decide.
//! - `mbox-thunderbird-modern`: `From - <date>` separators; `X-Mozilla-Status`,
//!   `X-Mozilla-Status2` and `X-Mozilla-Keys` (value padded to 80 columns) first in each
//!   message; body lines starting `From ` written with a leading space. Statuses: 0001 with keys
//!   `$label1 work`; 0005 with two quoted `From ` lines; **0009 (expunged: excluded)**; 1001;
//!   0000.
//! - `mbox-thunderbird-unquoted` (Thunderbird before 2018): `From - <date>` separators and no
//!   quoting; message 1 has a body line `From here on…` right after a non-empty line (not a
//!   separator).
//! - `mbox-crlf`: every line ends in CRLF (From_ lines, messages, separator lines); mboxrd
//!   quoting; message 2 has a `From ` line after an empty line.
//! - `mbox-from-line-text`: From_ lines with text after the date (`remote from …`, a zone,
//!   a comment); no quoting; message 2 has an unquoted `From time to time…` line after a
//!   non-empty line.
//! - `mbox-missing-final-newline`: the last message's own last line has no line break and the
//!   file ends right there.
//! - `mbox-empty`: a file of 0 bytes (detected as an empty mbox).
//! - `thunderbird-profile`: a "Local Folders" directory: mbox files `Inbox`, `Sent`,
//!   `Archives`, `Archives.sbd/2019`, and an empty `Trash`, each with a (fake Mork) `.msf`
//!   index, and `popstate.dat`; Thunderbird modern format as above (Inbox message 2 has a
//!   space-quoted `From ` line).
//! - `maildir`: Maildir++ (Dovecot layout). INBOX: `:2,S`; `:2,RS` (whose exact bytes are
//!   also in Archive); `;2,FS`; `!2,S`; `:2,ST` (trashed); `:2,Sab` with `dovecot-keywords`
//!   `0 Work`, `1 $Forwarded`; and one file in `new/` without info. A mail file in `tmp/` is not
//!   mail. `.Sent` holds two copies of the same bytes; `.Archive` one; `.Archive.2019` two
//!   (one in KOI8-R); `.Empty` none. `maildirfolder`, `subscriptions` and `dovecot-keywords`
//!   are not mail. File names carry `S=<size>`; names with `:` are created at run time.
//! - `eml-tree`: `README.txt` (not mail) at the root. `Inbox`: LF file with encoded names,
//!   Received chain and multipart/alternative; a CRLF file with a base64 attachment; a file
//!   starting with a From_ line (an `.eml` file is the message as saved, so the expected bytes
//!   are the whole file, From_ line included); a
//!   file with malformed and duplicated fields, a raw 8-bit Subject and no Message-ID.
//!   `Work`: ISO-8859-1, windows-1252 and KOI8-R bodies and subjects (the KOI8-R one reuses
//!   the Message-ID of Inbox's first file). `Work/Projects`: ISO-2022-JP, Shift_JIS, and a
//!   nested message: multipart/mixed { multipart/alternative { text, multipart/related { html,
//!   inline png } }, attachment, message/rfc822 }.
//! - `apple-mail`: `Inbox.mbox/<uuid>/Data/Messages/` with `101.emlx`, `102.emlx` and
//!   `103.partial.emlx`, and `Sent Messages.mbox/<uuid>/Data/Messages/201.emlx`; `Info.plist`
//!   files (not mail). An `.emlx` is the byte count of the message on its own line, padded with
//!   spaces, then the message (LF), then an XML plist with `flags`. The partial message is
//!   built whole first (that is the expectation): multipart/mixed { multipart/alternative,
//!   PDF `Tübingen Bericht.pdf` (MIME part 2), PNG `photo.png` (part 3) }, both base64 in
//!   76-column lines with no line break after the last line. The `.partial.emlx` holds the same
//!   message with each attachment body removed and `X-Apple-Content-Length: <encoded body
//!   bytes>` appended to that part's header; the decoded files are in
//!   `Data/Attachments/103/<part>/<file name>`. Reassembly: drop the `X-Apple-Content-Length`
//!   line, insert the base64 of the file (76 columns, LF, no final line break) as the body.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::mbox::{is_gt_from, mboxrd_quote, space_quote};
use crate::rng::{HEX_UPPER, Rng};
use crate::synth::{self, Body, Built, Charset, MessageId, Multipart, Person, Spec, Subject};

/// The default seed: the one the documentation's counts were checked with.
pub const SEED: u64 = 0x6D61_696C_7072_6F66;

pub const SEEN: &str = "\\Seen";
pub const ANSWERED: &str = "\\Answered";
pub const FLAGGED: &str = "\\Flagged";
pub const DELETED: &str = "\\Deleted";
pub const DRAFT: &str = "\\Draft";
pub const FORWARDED: &str = "$Forwarded";
pub const NOT_JUNK: &str = "$NotJunk";

/// The kind of a fixture, named like the engine's spec prefixes (`mbox:`, `maildir:`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Mbox,
    MboxTree,
    Maildir,
    Eml,
    Emlx,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Mbox => "mbox",
            Kind::MboxTree => "mbox-tree",
            Kind::Maildir => "maildir",
            Kind::Eml => "eml",
            Kind::Emlx => "emlx",
        }
    }
}

/// What a correct reader must return for one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expected {
    /// SHA-256 (lower-case hex) of the exact original bytes.
    pub sha256: String,
    pub len: usize,
    /// IMAP-style flags and keywords, sorted.
    pub flags: Vec<String>,
    /// Held by the source but not mail to count (Thunderbird expunged).
    pub excluded: bool,
    /// Marked trashed but still mail (Maildir `T`).
    pub trashed: bool,
    /// For directory formats: the file, relative to the fixture path.
    pub file: Option<String>,
    /// What the message tests; also its subject where the subject is plain text.
    pub label: String,
    /// Brackets included; `None` when the message has no Message-ID.
    pub message_id: Option<String>,
}

/// One folder and its messages, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedFolder {
    pub path: Vec<String>,
    pub messages: Vec<Expected>,
}

impl ExpectedFolder {
    /// The folder's name as shown: segments joined by "/".
    pub fn name(&self) -> String {
        self.path.join("/")
    }

    /// Messages that count as mail (not excluded).
    pub fn counted(&self) -> usize {
        self.messages.iter().filter(|m| !m.excluded).count()
    }

    /// Digests sorted, for order-insensitive comparison.
    pub fn digests_sorted(&self) -> Vec<&str> {
        let mut d: Vec<&str> = self.messages.iter().map(|m| m.sha256.as_str()).collect();
        d.sort_unstable();
        d
    }
}

/// One mailbox in one format.
#[derive(Debug, Clone, Serialize)]
pub struct Fixture {
    pub name: String,
    pub kind: Kind,
    /// Absolute path of the file or directory to open.
    pub path: PathBuf,
    /// Files inside the fixture that are not mail, relative to `path`.
    pub not_mail: Vec<String>,
    pub folders: Vec<ExpectedFolder>,
}

impl Fixture {
    /// A mailbox spec forcing the kind, e.g. `maildir:/tmp/x/maildir`.
    pub fn spec(&self) -> String {
        format!("{}:{}", self.kind.prefix(), self.path.display())
    }

    pub fn folder(&self, path: &[&str]) -> Option<&ExpectedFolder> {
        self.folders.iter().find(|f| f.path == path)
    }

    pub fn messages(&self) -> usize {
        self.folders.iter().map(|f| f.messages.len()).sum()
    }

    pub fn counted(&self) -> usize {
        self.folders.iter().map(ExpectedFolder::counted).sum()
    }
}

/// Everything [`write_all`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub root: PathBuf,
    pub seed: u64,
    pub fixtures: Vec<Fixture>,
}

impl Manifest {
    /// The fixture with this name; panics with the list of names if there is none.
    pub fn get(&self, name: &str) -> &Fixture {
        self.fixtures
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| {
                let names: Vec<&str> = self.fixtures.iter().map(|f| f.name.as_str()).collect();
                panic!("no fixture {name:?}; there are {names:?}")
            })
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Fixture> {
        self.fixtures.iter().filter(move |f| f.kind == kind)
    }

    pub fn messages(&self) -> usize {
        self.fixtures.iter().map(Fixture::messages).sum()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Writes every fixture under `dir` (created if missing) with the default seed.
pub fn write_all(dir: &Path) -> io::Result<Manifest> {
    write_all_with_seed(dir, SEED)
}

/// Writes every fixture under `dir`; the same seed gives the same bytes.
pub fn write_all_with_seed(dir: &Path, seed: u64) -> io::Result<Manifest> {
    fs::create_dir_all(dir)?;
    let root = fs::canonicalize(dir)?;
    let mut g = Gen {
        rng: Rng::derive(seed, 0xF1C5, 0),
        clock: synth::unix_time(2019, 3, 4, 9, 15, 0),
    };
    let mut fixtures = Vec::new();
    fixtures.extend(mbox_files(&mut g, &root.join("mbox"))?);
    fixtures.push(thunderbird_profile(
        &mut g,
        &root.join("thunderbird/Local Folders"),
    )?);
    fixtures.push(maildir(&mut g, &root.join("maildir"))?);
    fixtures.push(eml_tree(&mut g, &root.join("eml"))?);
    fixtures.push(apple_mail(&mut g, &root.join("applemail"))?);
    for f in &mut fixtures {
        f.folders.sort_by(|a, b| a.path.cmp(&b.path));
    }
    Ok(Manifest {
        root,
        seed,
        fixtures,
    })
}

/// Writes every fixture into a new temporary directory, removed when the guard drops.
pub fn temp() -> io::Result<(tempfile::TempDir, Manifest)> {
    let dir = tempfile::Builder::new()
        .prefix("mailproof-fixtures-")
        .tempdir()?;
    let manifest = write_all(dir.path())?;
    Ok((dir, manifest))
}

/// The generator's state: one random stream and a clock that moves forward between messages.
struct Gen {
    rng: Rng,
    clock: i64,
}

impl Gen {
    /// A basic spec dated after the previous one, with `label` as its plain subject.
    fn spec(&mut self, label: &str) -> Spec {
        self.clock += self.rng.range(3_600, 3 * 86_400) as i64;
        Spec::basic(&mut self.rng, self.clock, label)
    }

    fn build(&mut self, spec: &Spec) -> Built {
        synth::build(&mut self.rng, spec)
    }

    /// Builds a message from a basic spec changed by `f`.
    fn msg(&mut self, label: &str, f: impl FnOnce(&mut Spec)) -> Built {
        let mut spec = self.spec(label);
        f(&mut spec);
        self.build(&spec)
    }
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn expect(bytes: &[u8], label: &str, message_id: Option<String>) -> Expected {
    Expected {
        sha256: sha256_hex(bytes),
        len: bytes.len(),
        flags: Vec::new(),
        excluded: false,
        trashed: false,
        file: None,
        label: label.into(),
        message_id,
    }
}

impl Expected {
    fn with_flags(mut self, flags: &[&str]) -> Expected {
        self.flags = flags.iter().map(|f| f.to_string()).collect();
        self.flags.sort();
        self
    }

    fn at(mut self, file: &str) -> Expected {
        self.file = Some(file.into());
        self
    }
}

fn folder(path: &[&str], messages: Vec<Expected>) -> ExpectedFolder {
    ExpectedFolder {
        path: path.iter().map(|s| s.to_string()).collect(),
        messages,
    }
}

fn write(path: &Path, data: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, data)
}

/// Inserts a header field as the last one, before the empty line that ends the header.
fn insert_header_last(msg: &[u8], field: &str) -> Vec<u8> {
    let end = header_end(msg);
    let mut out = Vec::with_capacity(msg.len() + field.len() + 1);
    out.extend_from_slice(&msg[..end]);
    out.extend_from_slice(field.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&msg[end..]);
    out
}

/// Offset just after the last header line's LF (where the empty line starts).
fn header_end(msg: &[u8]) -> usize {
    msg.windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| i + 1)
        .expect("message has a header/body separator")
}

/// Offsets at which lines start.
fn line_starts(msg: &[u8]) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(
        msg.iter()
            .enumerate()
            .filter(|(_, c)| **c == b'\n')
            .map(|(i, _)| i + 1)
            .filter(move |&i| i < msg.len()),
    )
}

/// True when a line starting with `From ` opens the message or follows an empty line: such a
/// message cannot be stored unquoted without a reader splitting it.
fn has_separator_like_line(msg: &[u8]) -> bool {
    line_starts(msg).any(|i| {
        msg[i..].starts_with(b"From ")
            && (i == 0 || msg[..i].ends_with(b"\n\n") || msg[..i].ends_with(b"\r\n\r\n"))
    })
}

fn has_quoted_from(msg: &[u8]) -> bool {
    line_starts(msg).any(|i| msg[i..].starts_with(b">") && is_gt_from(&msg[i..]))
}

/// An mbox file being assembled: From_ line, stored message, line ending; repeated.
struct MboxFile {
    data: Vec<u8>,
    eol: &'static [u8],
}

impl MboxFile {
    fn new(eol: &'static [u8]) -> MboxFile {
        MboxFile {
            data: Vec::new(),
            eol,
        }
    }

    fn push(&mut self, from_line: &str, stored: &[u8]) {
        self.push_open(from_line, stored);
        self.data.extend_from_slice(self.eol);
    }

    /// Without the line ending after the message (for the last message of a file).
    fn push_open(&mut self, from_line: &str, stored: &[u8]) {
        self.data.extend_from_slice(from_line.as_bytes());
        self.data.extend_from_slice(self.eol);
        self.data.extend_from_slice(stored);
    }
}

fn from_line(b: &Built) -> String {
    crate::mbox::from_line(&b.sender, b.date)
}

fn tb_from_line(b: &Built) -> String {
    format!("From - {}", synth::asctime(b.date))
}

/// Thunderbird's store headers, written first in the message.
fn mozilla_headers(status: u16, keys: &str) -> Vec<String> {
    vec![
        format!("X-Mozilla-Status: {status:04x}"),
        "X-Mozilla-Status2: 00000000".into(),
        format!("X-Mozilla-Keys: {keys:<80}"),
    ]
}

/// The flags an X-Mozilla-Status value and X-Mozilla-Keys stand for.
fn mozilla_flags(status: u16, keys: &str) -> Vec<&str> {
    let mut flags = Vec::new();
    for (bit, name) in [
        (0x1, SEEN),
        (0x2, ANSWERED),
        (0x4, FLAGGED),
        (0x1000, FORWARDED),
    ] {
        if status & bit != 0 {
            flags.push(name);
        }
    }
    flags.extend(keys.split_whitespace());
    flags
}

fn mbox_fixture(
    dir: &Path,
    file: &str,
    data: &[u8],
    messages: Vec<Expected>,
) -> io::Result<Fixture> {
    let path = dir.join(file);
    write(&path, data)?;
    let stem = file.strip_suffix(".mbox").unwrap_or(file);
    Ok(Fixture {
        name: format!("mbox-{stem}"),
        kind: Kind::Mbox,
        path,
        not_mail: Vec::new(),
        folders: vec![folder(&[stem], messages)],
    })
}

fn mbox_files(g: &mut Gen, dir: &Path) -> io::Result<Vec<Fixture>> {
    let mut out = Vec::new();

    // mboxo: only `From ` lines in the originals, so quoting is the same as mboxrd's.
    {
        let mut file = MboxFile::new(b"\n");
        let mut exp = Vec::new();
        let l1 = "mboxo 1: Status RO";
        let m1 = g.msg(l1, |_| {});
        let b1 = insert_header_last(&m1.bytes, "Status: RO");
        let l2 = "mboxo 2: From line after an empty line, Status O, X-Status AF";
        let m2 = g.msg(l2, |s| {
            s.body_suffix = Some("\nFrom the archive, as promised.\nRegards\n".into());
        });
        let b2 = insert_header_last(&insert_header_last(&m2.bytes, "Status: O"), "X-Status: AF");
        let l3 = "mboxo 3: alternative, encoded subject, no Message-ID";
        let m3 = g.msg(l3, |s| {
            s.subject = Subject::Encoded(format!("{l3} — Grüße, naïve café"));
            s.body = Body::Alternative;
            s.message_id = MessageId::Missing;
        });
        for (m, b, l, flags) in [
            (&m1, &b1, l1, vec![SEEN]),
            (&m2, &b2, l2, vec![ANSWERED, FLAGGED]),
            (&m3, &m3.bytes, l3, vec![]),
        ] {
            assert!(
                !has_quoted_from(b),
                "mboxo originals must not hold >From lines"
            );
            file.push(&from_line(m), &mboxrd_quote(b));
            exp.push(expect(b, l, m.message_id.clone()).with_flags(&flags));
        }
        out.push(mbox_fixture(dir, "mboxo.mbox", &file.data, exp)?);
    }

    // mboxrd
    {
        let mut file = MboxFile::new(b"\n");
        let mut exp = Vec::new();
        let l1 = "mboxrd 1: From, >From and >>From body lines";
        let m1 = g.msg(l1, |s| s.from_lines = true);
        let l2 = "mboxrd 2: the body starts with a From line";
        let m2 = g.msg(l2, |s| {
            s.body_prefix = Some("From the first body line, right after the header.\n".into());
        });
        let l3 = "mboxrd 3: a body line of 1 MiB";
        let m3 = g.msg(l3, |s| s.huge_line = 1 << 20);
        let l4 = "mboxrd 4: attachment, >From lines inside a part";
        let m4 = g.msg(l4, |s| {
            s.attachments = vec![30_000];
            s.body_suffix = Some("\n>From inside the text part.\n>>>From deeper.\n".into());
        });
        for (m, l) in [(&m1, l1), (&m2, l2), (&m3, l3), (&m4, l4)] {
            file.push(&from_line(m), &mboxrd_quote(&m.bytes));
            exp.push(expect(&m.bytes, l, m.message_id.clone()));
        }
        out.push(mbox_fixture(dir, "mboxrd.mbox", &file.data, exp)?);
    }

    // mboxcl2, right and wrong Content-Length
    for wrong in [false, true] {
        let mut file = MboxFile::new(b"\n");
        let mut exp = Vec::new();
        let mut landings = Vec::new();
        let name = if wrong {
            "mboxcl2-wrong-length"
        } else {
            "mboxcl2"
        };
        for i in 1..=3 {
            let (label, delta): (String, i64) = match (wrong, i) {
                (false, 2) => (
                    "mboxcl2 2: unquoted From line kept whole by Content-Length".into(),
                    0,
                ),
                (true, 1) => (format!("{name} 1: Content-Length 40 bytes too long"), 40),
                (true, 2) => (format!("{name} 2: Content-Length 7 bytes too short"), -7),
                _ => (format!("{name} {i}: right Content-Length"), 0),
            };
            let m = g.msg(&label, |s| {
                if !wrong && i == 2 {
                    s.body_suffix = Some(
                        "\nFrom the archive, unquoted: only Content-Length keeps this whole.\n"
                            .into(),
                    );
                }
                if i == 3 {
                    s.attachments = vec![8_000];
                }
            });
            let body_len = m.bytes.len() - header_end(&m.bytes) - 1;
            let claimed = body_len as i64 + delta;
            let stored = insert_header_last(&m.bytes, &format!("Content-Length: {claimed}"));
            if wrong {
                assert!(!has_separator_like_line(&stored));
            }
            let body_at = file.data.len() + from_line(&m).len() + 1 + header_end(&stored) + 1;
            landings.push((body_at as i64 + claimed) as usize);
            file.push(&from_line(&m), &stored);
            exp.push(expect(&stored, &label, m.message_id.clone()));
        }
        for (i, &at) in landings.iter().enumerate() {
            let d = &file.data;
            let on_separator = at == d.len()
                || (at + 1 == d.len() && d[at] == b'\n')
                || d.get(at..).is_some_and(|r| r.starts_with(b"\nFrom "));
            let right = !(wrong && i < 2);
            assert_eq!(on_separator, right, "{name} message {}", i + 1);
        }
        out.push(mbox_fixture(dir, &format!("{name}.mbox"), &file.data, exp)?);
    }

    // Thunderbird modern
    {
        let mut file = MboxFile::new(b"\n");
        let mut exp = Vec::new();
        let cases: [(u16, &str, &str); 5] = [
            (
                0x0001,
                "$label1 work",
                "thunderbird-modern 1: read, keywords",
            ),
            (
                0x0005,
                "",
                "thunderbird-modern 2: flagged, space-quoted From lines",
            ),
            (
                0x0009,
                "",
                "thunderbird-modern 3: expunged, not yet compacted",
            ),
            (0x1001, "", "thunderbird-modern 4: forwarded, alternative"),
            (0x0000, "", "thunderbird-modern 5: unread"),
        ];
        for (i, (status, keys, label)) in cases.into_iter().enumerate() {
            let m = g.msg(label, |s| {
                s.top_headers = mozilla_headers(status, keys);
                if i == 1 {
                    s.body_suffix = Some(
                        "\nFrom here on Thunderbird quotes such lines with a space.\nFrom - Fri Aug 24 11:55:47 2018 looks like a separator too.\n"
                            .into(),
                    );
                }
                if i == 3 {
                    s.body = Body::Alternative;
                    s.subject = Subject::Encoded(format!("{label} — Zoë’s notes"));
                }
            });
            // Thunderbird reads its space-quoted lines back as written, so that is the message.
            let stored = space_quote(&m.bytes);
            file.push(&tb_from_line(&m), &stored);
            let mut e = expect(&stored, label, m.message_id.clone())
                .with_flags(&mozilla_flags(status, keys));
            e.excluded = status & 0x0008 != 0;
            exp.push(e);
        }
        out.push(mbox_fixture(dir, "thunderbird-modern", &file.data, exp)?);
    }

    // Thunderbird before 2018: nothing quoted
    {
        let mut file = MboxFile::new(b"\n");
        let mut exp = Vec::new();
        for (i, label) in [
            "thunderbird-unquoted 1: From line after a non-empty line",
            "thunderbird-unquoted 2: plain",
        ]
        .into_iter()
        .enumerate()
        {
            let m = g.msg(label, |s| {
                s.top_headers = mozilla_headers(1, "");
                if i == 0 {
                    s.body_suffix = Some(
                        "Earlier versions of Thunderbird did not quote lines like this:\nFrom here on nothing is quoted.\nA reader must not split the message here.\n"
                            .into(),
                    );
                }
            });
            assert!(!has_separator_like_line(&m.bytes));
            file.push(&tb_from_line(&m), &m.bytes);
            exp.push(expect(&m.bytes, label, m.message_id.clone()).with_flags(&[SEEN]));
        }
        out.push(mbox_fixture(dir, "thunderbird-unquoted", &file.data, exp)?);
    }

    // CRLF
    {
        let mut file = MboxFile::new(b"\r\n");
        let mut exp = Vec::new();
        for (i, label) in [
            "crlf 1: plain",
            "crlf 2: From line after an empty line",
            "crlf 3: attachment",
        ]
        .into_iter()
        .enumerate()
        {
            let m = g.msg(label, |s| {
                if i == 1 {
                    s.body_suffix = Some("\nFrom the notes, stored as >From.\n".into());
                }
                if i == 2 {
                    s.attachments = vec![12_000];
                }
            });
            let crlf = synth::to_crlf(&m.bytes);
            file.push(&from_line(&m), &mboxrd_quote(&crlf));
            exp.push(expect(&crlf, label, m.message_id.clone()));
        }
        out.push(mbox_fixture(dir, "crlf.mbox", &file.data, exp)?);
    }

    // Text after the From_ line's date
    {
        let mut file = MboxFile::new(b"\n");
        let mut exp = Vec::new();
        let tails = [
            " remote from relay.example.org",
            " +0100",
            " (written by a migration tool)",
        ];
        for (i, tail) in tails.into_iter().enumerate() {
            let label = format!("from-line-text {}: From_ line ends with{tail}", i + 1);
            let m = g.msg(&label, |s| {
                if i == 1 {
                    s.body_suffix = Some(
                        "Closing words.\nFrom time to time a line starts like this after a non-empty line.\n"
                            .into(),
                    );
                }
            });
            assert!(!has_separator_like_line(&m.bytes));
            let sender = if i == 0 {
                "MAILER-DAEMON"
            } else {
                m.sender.as_str()
            };
            let line = format!("From {sender} {}{tail}", synth::asctime(m.date));
            file.push(&line, &m.bytes);
            exp.push(expect(&m.bytes, &label, m.message_id.clone()));
        }
        out.push(mbox_fixture(dir, "from-line-text.mbox", &file.data, exp)?);
    }

    // No line break at the end of the file
    {
        let mut file = MboxFile::new(b"\n");
        let l1 = "missing-final-newline 1: plain";
        let m1 = g.msg(l1, |_| {});
        let l2 = "missing-final-newline 2: last line without a line break";
        let m2 = g.msg(l2, |s| {
            s.body_suffix = Some("This last line has no line break.".into());
        });
        assert!(!m2.bytes.ends_with(b"\n"));
        file.push(&from_line(&m1), &mboxrd_quote(&m1.bytes));
        file.push_open(&from_line(&m2), &mboxrd_quote(&m2.bytes));
        let exp = vec![
            expect(&m1.bytes, l1, m1.message_id.clone()),
            expect(&m2.bytes, l2, m2.message_id.clone()),
        ];
        out.push(mbox_fixture(
            dir,
            "missing-final-newline.mbox",
            &file.data,
            exp,
        )?);
    }

    out.push(mbox_fixture(dir, "empty.mbox", b"", Vec::new())?);
    Ok(out)
}

/// A minimal Mork index, enough to look like Thunderbird's `.msf` files.
fn msf(folder: &str) -> Vec<u8> {
    format!(
        "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n< <(a=c)> // (f=iso-8859-1)\n  (B8=ns:msg:db:row:scope:dbfolderinfo:all)\n  (80=ns:msg:db:row:scope:msgs:all)(81=subject)(82=sender)(83=message-id)>\n<(80=0)(81={folder})>\n{{1:^80 {{(k^B8:c)(s=9)}}\n  [1:^B8(^81^81)]}}\n"
    )
    .into_bytes()
}

fn thunderbird_profile(g: &mut Gen, dir: &Path) -> io::Result<Fixture> {
    fs::create_dir_all(dir)?;
    let mut folders = Vec::new();
    let mut not_mail = Vec::new();
    let layout: [(&str, &[&str], usize); 5] = [
        ("Inbox", &["Inbox"], 3),
        ("Sent", &["Sent"], 2),
        ("Archives", &["Archives"], 1),
        ("Archives.sbd/2019", &["Archives", "2019"], 2),
        ("Trash", &["Trash"], 0),
    ];
    for (file_name, path, n) in layout {
        let mut file = MboxFile::new(b"\n");
        let mut exp = Vec::new();
        for i in 0..n {
            let label = format!("thunderbird {} {}", path.join("/"), i + 1);
            let (status, keys): (u16, &str) = match (file_name, i) {
                ("Inbox", 1) => (0x0005, "$label1"),
                ("Inbox", 2) => (0x0000, ""),
                ("Sent", _) => (0x0001, ""),
                _ => (0x0003, ""),
            };
            let m = g.msg(&label, |s| {
                s.top_headers = mozilla_headers(status, keys);
                match (file_name, i) {
                    ("Inbox", 0) => {
                        s.body = Body::Alternative;
                        s.from = Person::new("Jürgen Müller", "juergen.mueller@example.net");
                    }
                    ("Inbox", 1) => {
                        s.body_suffix = Some("\nFrom now on, this line is space-quoted.\n".into())
                    }
                    ("Inbox", 2) => s.attachments = vec![20_000],
                    ("Sent", _) => {
                        s.from = Person::owner();
                        s.to = vec![Person::new("Olivia Rossi", "olivia.rossi@example.com")];
                        s.incoming = false;
                    }
                    _ => {}
                }
            });
            let stored = space_quote(&m.bytes);
            file.push(&tb_from_line(&m), &stored);
            exp.push(
                expect(&stored, &label, m.message_id.clone())
                    .with_flags(&mozilla_flags(status, keys)),
            );
        }
        write(&dir.join(file_name), &file.data)?;
        let msf_name = format!("{file_name}.msf");
        write(
            &dir.join(&msf_name),
            &msf(path.last().copied().unwrap_or_default()),
        )?;
        not_mail.push(msf_name);
        folders.push(folder(path, exp));
    }
    write(
        &dir.join("popstate.dat"),
        b"# POP3 State File\n# This is a generated file!  Do not edit.\n\n*pop.example.org me\nk UID0001-1559631360 1559631360\nk UID0002-1559717760 1559717760\n",
    )?;
    not_mail.push("popstate.dat".into());
    Ok(Fixture {
        name: "thunderbird-profile".into(),
        kind: Kind::MboxTree,
        path: dir.to_path_buf(),
        not_mail,
        folders,
    })
}

fn maildir(g: &mut Gen, dir: &Path) -> io::Result<Fixture> {
    let subdirs: [(&str, &[&str]); 5] = [
        ("", &["INBOX"]),
        (".Sent", &["Sent"]),
        (".Archive", &["Archive"]),
        (".Archive.2019", &["Archive", "2019"]),
        (".Empty", &["Empty"]),
    ];
    let mut not_mail = Vec::new();
    for (sub, _) in subdirs {
        for leaf in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub).join(leaf))?;
        }
        if !sub.is_empty() {
            write(&dir.join(sub).join("maildirfolder"), b"")?;
            not_mail.push(format!("{sub}/maildirfolder"));
        }
    }
    write(&dir.join("dovecot-keywords"), b"0 Work\n1 $Forwarded\n")?;
    write(
        &dir.join("subscriptions"),
        b"Sent\nArchive\nArchive.2019\nEmpty\n",
    )?;
    not_mail.extend(["dovecot-keywords".into(), "subscriptions".into()]);

    let mut seq = 0u32;
    // Stores `bytes` as `<sub>/<leaf>/<time>.M<n>P4242.mailhost,S=<size><info>`.
    let mut store =
        |g: &mut Gen, sub: &str, leaf: &str, bytes: &[u8], info: &str| -> io::Result<String> {
            seq += 1;
            g.clock += 60;
            let name = format!("{}.M{seq}P4242.mailhost,S={}{info}", g.clock, bytes.len());
            let rel = if sub.is_empty() {
                format!("{leaf}/{name}")
            } else {
                format!("{sub}/{leaf}/{name}")
            };
            write(&dir.join(&rel), bytes)?;
            Ok(rel)
        };

    let mut inbox = Vec::new();
    let cases: [(&str, &str, &[&str], &str); 6] = [
        (":2,S", "seen", &[SEEN], ""),
        (":2,RS", "answered, also in Archive", &[ANSWERED, SEEN], ""),
        (
            ";2,FS",
            "semicolon separator, flagged",
            &[FLAGGED, SEEN],
            "",
        ),
        ("!2,S", "bang separator", &[SEEN], ""),
        (":2,ST", "trashed", &[DELETED, SEEN], "trashed"),
        (":2,Sab", "keywords", &[SEEN, "Work", FORWARDED], ""),
    ];
    let mut archived = None;
    for (i, (info, what, flags, extra)) in cases.into_iter().enumerate() {
        let label = format!("maildir INBOX {}: {what}", i + 1);
        let m = g.msg(&label, |s| {
            if i == 1 {
                s.body = Body::Alternative;
            }
            if i == 5 {
                s.attachments = vec![15_000];
            }
        });
        let rel = store(g, "", "cur", &m.bytes, info)?;
        let mut e = expect(&m.bytes, &label, m.message_id.clone())
            .with_flags(flags)
            .at(&rel);
        e.trashed = extra == "trashed";
        if i == 1 {
            archived = Some(m.clone());
        }
        inbox.push(e);
    }
    let label = "maildir INBOX 7: new, no info";
    let m = g.msg(label, |s| {
        s.subject = Subject::Encoded(format!("{label} — ¡nuevo!"))
    });
    let rel = store(g, "", "new", &m.bytes, "")?;
    inbox.push(expect(&m.bytes, label, m.message_id.clone()).at(&rel));
    // Delivery in progress: not mail yet.
    let pending = g.msg("maildir tmp: not mail yet", |_| {});
    let rel = store(g, "", "tmp", &pending.bytes, "")?;
    not_mail.push(rel);

    let mut sent = Vec::new();
    let label = "maildir Sent 1 and 2: the same bytes twice";
    let m = g.msg(label, |s| {
        s.from = Person::owner();
        s.to = vec![Person::new("Ángel Núñez", "angel.nunez@example.com")];
        s.incoming = false;
    });
    for _ in 0..2 {
        let rel = store(g, ".Sent", "cur", &m.bytes, ":2,S")?;
        sent.push(
            expect(&m.bytes, label, m.message_id.clone())
                .with_flags(&[SEEN])
                .at(&rel),
        );
    }

    let copy = archived.expect("INBOX 2 was built");
    let rel = store(g, ".Archive", "cur", &copy.bytes, ":2,S")?;
    let archive = vec![
        expect(
            &copy.bytes,
            "maildir Archive 1: copy of INBOX 2",
            copy.message_id.clone(),
        )
        .with_flags(&[SEEN])
        .at(&rel),
    ];

    let mut a2019 = Vec::new();
    for (i, info) in [":2,S", ":2,FS"].into_iter().enumerate() {
        let label = format!("maildir Archive/2019 {}", i + 1);
        let m = g.msg(&label, |s| {
            if i == 1 {
                s.subject = Subject::Charset(Charset::Koi8R);
                s.body = Body::Charset {
                    charset: Charset::Koi8R,
                    repeats: 3,
                };
            }
        });
        let rel = store(g, ".Archive.2019", "cur", &m.bytes, info)?;
        let flags: &[&str] = if i == 1 { &[FLAGGED, SEEN] } else { &[SEEN] };
        a2019.push(
            expect(&m.bytes, &label, m.message_id.clone())
                .with_flags(flags)
                .at(&rel),
        );
    }

    let mut folders = vec![
        folder(&["INBOX"], inbox),
        folder(&["Sent"], sent),
        folder(&["Archive"], archive),
        folder(&["Archive", "2019"], a2019),
        folder(&["Empty"], Vec::new()),
    ];
    for f in &mut folders {
        f.messages.sort_by(|a, b| file_name(a).cmp(file_name(b)));
    }
    not_mail.sort();
    Ok(Fixture {
        name: "maildir".into(),
        kind: Kind::Maildir,
        path: dir.to_path_buf(),
        not_mail,
        folders,
    })
}

fn file_name(e: &Expected) -> &str {
    e.file
        .as_deref()
        .and_then(|f| f.rsplit('/').next())
        .unwrap_or_default()
}

fn eml_tree(g: &mut Gen, dir: &Path) -> io::Result<Fixture> {
    fs::create_dir_all(dir)?;
    write(
        &dir.join("README.txt"),
        b"Mail saved from the old laptop, one message per file.\nSorted by hand into folders in 2019.\n",
    )?;
    let put = |rel: &str,
               stored: &[u8],
               original: &[u8],
               label: &str,
               mid: Option<String>|
     -> io::Result<Expected> {
        write(&dir.join(rel), stored)?;
        Ok(expect(original, label, mid).at(rel))
    };

    let mut inbox = Vec::new();
    let label = "eml Inbox 1: LF, encoded names, alternative";
    let first = g.msg(label, |s| {
        s.from = Person::new("Zoë Lefèvre", "zoe.lefevre@example.com");
        s.cc = vec![Person::new("田中 太郎", "tanaka@example.net")];
        s.body = Body::Alternative;
        s.received_hops = 5;
        s.dkim = true;
        s.arc = true;
        s.subject = Subject::Encoded(format!("{label} — Réunion: ordre du jour"));
    });
    inbox.push(put(
        "Inbox/01-plain-lf.eml",
        &first.bytes,
        &first.bytes,
        label,
        first.message_id.clone(),
    )?);
    let label = "eml Inbox 2: CRLF, attachment";
    let m = g.msg(label, |s| s.attachments = vec![24_000]);
    let crlf = synth::to_crlf(&m.bytes);
    inbox.push(put(
        "Inbox/02-crlf.eml",
        &crlf,
        &crlf,
        label,
        m.message_id.clone(),
    )?);
    let label = "eml Inbox 3: file starts with a From_ line";
    let m = g.msg(label, |_| {});
    // An .eml file is the message as saved: its digest covers the whole file, From_ line too.
    let mut stored = format!("{}\n", from_line(&m)).into_bytes();
    stored.extend_from_slice(&m.bytes);
    inbox.push(put(
        "Inbox/03-from-line.eml",
        &stored,
        &stored,
        label,
        m.message_id.clone(),
    )?);
    let label = "eml Inbox 4: malformed fields, raw 8-bit subject, no Message-ID";
    let m = g.msg(label, |s| {
        s.malformed = true;
        s.subject = Subject::Raw8bit(format!("{label} Grüße"));
        s.message_id = MessageId::Missing;
    });
    inbox.push(put(
        "Inbox/04-malformed.eml",
        &m.bytes,
        &m.bytes,
        label,
        None,
    )?);

    let mut work = Vec::new();
    for (i, cs) in [Charset::Iso8859_1, Charset::Windows1252, Charset::Koi8R]
        .into_iter()
        .enumerate()
    {
        let label = format!("eml Work {}: {}", i + 1, cs.name());
        let m = g.msg(&label, |s| {
            s.subject = Subject::Charset(cs);
            s.body = Body::Charset {
                charset: cs,
                repeats: 4,
            };
            if cs == Charset::Koi8R {
                s.message_id = MessageId::Given(first.message_id.clone().unwrap_or_default());
            }
        });
        let rel = format!("Work/{:02}-{}.eml", i + 1, cs.name().to_lowercase());
        work.push(put(&rel, &m.bytes, &m.bytes, &label, m.message_id.clone())?);
    }

    let mut projects = Vec::new();
    for (i, cs) in [Charset::Iso2022Jp, Charset::ShiftJis]
        .into_iter()
        .enumerate()
    {
        let label = format!("eml Work/Projects {}: {}", i + 1, cs.name());
        let m = g.msg(&label, |s| {
            s.subject = Subject::Charset(cs);
            s.body = Body::Charset {
                charset: cs,
                repeats: 5,
            };
            s.from = Person::new("佐藤 花子", "sato.hanako@example.net");
        });
        let rel = format!(
            "Work/Projects/{:02}-{}.eml",
            i + 1,
            cs.name().to_lowercase()
        );
        projects.push(put(&rel, &m.bytes, &m.bytes, &label, m.message_id.clone())?);
    }
    let label = "eml Work/Projects 3: nested multipart and message/rfc822";
    let inner = g.spec("the forwarded message");
    let m = g.msg(label, |s| {
        s.body = Body::Alternative;
        s.inline_image = true;
        s.attachments = vec![9_000];
        s.forward = Some(Box::new(inner));
    });
    projects.push(put(
        "Work/Projects/03-nested.eml",
        &m.bytes,
        &m.bytes,
        label,
        m.message_id.clone(),
    )?);

    Ok(Fixture {
        name: "eml-tree".into(),
        kind: Kind::Eml,
        path: dir.to_path_buf(),
        not_mail: vec!["README.txt".into()],
        folders: vec![
            folder(&["Inbox"], inbox),
            folder(&["Work"], work),
            folder(&["Work", "Projects"], projects),
        ],
    })
}

/// Apple Mail flag bits that map to IMAP flags.
const EMLX_READ: u64 = 1 << 0;
const EMLX_ANSWERED: u64 = 1 << 2;
const EMLX_FLAGGED: u64 = 1 << 4;
const EMLX_NOT_JUNK: u64 = 1 << 25;

fn emlx_bytes(message: &[u8], flags: u64, date: i64, remote_id: u32, pad: usize) -> Vec<u8> {
    let mut out = format!("{:<pad$}\n", message.len()).into_bytes();
    out.extend_from_slice(message);
    out.extend_from_slice(
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n\t<key>date-last-viewed</key>\n\t<integer>{}</integer>\n\t<key>date-received</key>\n\t<integer>{date}</integer>\n\t<key>flags</key>\n\t<integer>{flags}</integer>\n\t<key>remote-id</key>\n\t<string>{remote_id}</string>\n</dict>\n</plist>",
            date + 120
        )
        .as_bytes(),
    );
    out
}

fn uuid(rng: &mut Rng) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        rng.token(8, HEX_UPPER),
        rng.token(4, HEX_UPPER),
        rng.token(4, HEX_UPPER),
        rng.token(4, HEX_UPPER),
        rng.token(12, HEX_UPPER)
    )
}

fn apple_mail(g: &mut Gen, dir: &Path) -> io::Result<Fixture> {
    let info_plist = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n\t<key>DisplayName</key>\n\t<string>Mailbox</string>\n</dict>\n</plist>\n";
    let inbox_data = format!("Inbox.mbox/{}/Data", uuid(&mut g.rng));
    let sent_data = format!("Sent Messages.mbox/{}/Data", uuid(&mut g.rng));
    write(&dir.join("Inbox.mbox/Info.plist"), info_plist)?;
    write(&dir.join("Sent Messages.mbox/Info.plist"), info_plist)?;
    let mut not_mail = vec![
        "Inbox.mbox/Info.plist".to_string(),
        "Sent Messages.mbox/Info.plist".to_string(),
    ];

    let mut inbox = Vec::new();
    let label = "emlx Inbox 101: read, not junk";
    let m = g.msg(label, |_| {});
    let rel = format!("{inbox_data}/Messages/101.emlx");
    write(
        &dir.join(&rel),
        &emlx_bytes(&m.bytes, EMLX_READ | EMLX_NOT_JUNK, m.date, 5101, 10),
    )?;
    inbox.push(
        expect(&m.bytes, label, m.message_id.clone())
            .with_flags(&[SEEN, NOT_JUNK])
            .at(&rel),
    );

    let label = "emlx Inbox 102: read, answered, flagged, windows-1252";
    let m = g.msg(label, |s| {
        s.subject = Subject::Charset(Charset::Windows1252);
        s.body = Body::Charset {
            charset: Charset::Windows1252,
            repeats: 3,
        };
    });
    let rel = format!("{inbox_data}/Messages/102.emlx");
    let flags = EMLX_READ | EMLX_ANSWERED | EMLX_FLAGGED | 3 << 16 | 1 << 33;
    write(
        &dir.join(&rel),
        &emlx_bytes(&m.bytes, flags, m.date, 5102, 10),
    )?;
    inbox.push(
        expect(&m.bytes, label, m.message_id.clone())
            .with_flags(&[SEEN, ANSWERED, FLAGGED])
            .at(&rel),
    );

    // The partial message: build it whole, then take the attachment bodies out.
    let label = "emlx Inbox 103: partial, two attachments stored outside";
    let mut spec = g.spec(label);
    spec.body = Body::Alternative;
    let (head, alternative) = synth::build_parts(&mut g.rng, &spec);
    let pdf = synth::binary_data(&mut g.rng, "pdf", 45_000);
    let png = synth::binary_data(&mut g.rng, "png", 12_345);
    let attachments = [
        ("2", "Tübingen Bericht.pdf", &pdf),
        ("3", "photo.png", &png),
    ];
    let mut mixed = Multipart {
        subtype: "mixed".into(),
        boundary: synth::boundary(&mut g.rng),
        preamble: false,
        parts: vec![alternative],
    };
    mixed.parts.push(synth::attachment_part(
        &mut g.rng,
        "application/pdf",
        attachments[0].1,
        &pdf,
    ));
    mixed.parts.push(synth::attachment_part(
        &mut g.rng,
        "image/png",
        attachments[1].1,
        &png,
    ));
    let full = synth::assemble(&head, &mixed.to_part());
    let mut partial = mixed.clone();
    for part in &mut partial.parts[1..] {
        let encoded = std::mem::take(&mut part.body);
        part.headers
            .push(format!("X-Apple-Content-Length: {}", encoded.len()).into_bytes());
    }
    let partial_bytes = synth::assemble(&head, &partial.to_part());
    let rel = format!("{inbox_data}/Messages/103.partial.emlx");
    let flags = EMLX_READ | 2 << 10;
    write(
        &dir.join(&rel),
        &emlx_bytes(&partial_bytes, flags, spec.date, 5103, 10),
    )?;
    for (part_id, name, data) in attachments {
        let att = format!("{inbox_data}/Attachments/103/{part_id}/{name}");
        write(&dir.join(&att), data)?;
        not_mail.push(att);
    }
    let message_id = head.iter().find_map(|h| {
        h.strip_prefix(b"Message-ID: ")
            .map(|v| String::from_utf8_lossy(v).into_owned())
    });
    inbox.push(
        expect(&full, label, message_id)
            .with_flags(&[SEEN])
            .at(&rel),
    );

    let label = "emlx Sent Messages 201: sent";
    let m = g.msg(label, |s| {
        s.from = Person::owner();
        s.to = vec![Person::new("Chloé Dubois", "chloe.dubois@example.org")];
        s.incoming = false;
        s.attachments = vec![5_000];
    });
    let rel = format!("{sent_data}/Messages/201.emlx");
    write(
        &dir.join(&rel),
        &emlx_bytes(&m.bytes, EMLX_READ, m.date, 201, 6),
    )?;
    let sent = vec![
        expect(&m.bytes, label, m.message_id.clone())
            .with_flags(&[SEEN])
            .at(&rel),
    ];

    Ok(Fixture {
        name: "apple-mail".into(),
        kind: Kind::Emlx,
        path: dir.to_path_buf(),
        not_mail,
        folders: vec![folder(&["Inbox"], inbox), folder(&["Sent Messages"], sent)],
    })
}

/// Files under `dir`, relative, sorted, with their contents.
#[cfg(test)]
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A Maildir++ of 600 messages of about 120 KB of incompressible data in three folders
/// (`Maildir/`, 73 MB): long enough to stop midway, too big for a small disk.
pub fn bulky_maildir(dir: &Path) -> io::Result<PathBuf> {
    let root = dir.join("Maildir");
    let mut rng = Rng::new(7);
    for (folder, count) in [("", 300), (".Archive", 200), (".Sent", 100)] {
        let cur = root.join(folder).join("cur");
        fs::create_dir_all(&cur)?;
        fs::create_dir_all(root.join(folder).join("new"))?;
        fs::create_dir_all(root.join(folder).join("tmp"))?;
        for i in 0..count {
            let data: Vec<u8> = (0..90_000).map(|_| rng.below(256) as u8).collect();
            let message = format!(
                "From: a@example.org\r\nTo: b@example.org\r\nMessage-ID: <{folder}{i}@example.org>\r\n\
                 Subject: message {i} of {folder}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
                 MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n{}",
                String::from_utf8(synth::base64_wrapped(&data, 76)).unwrap()
            );
            let name = format!("17000{i:05}.M{i}P1.host,S={}:2,S", message.len());
            fs::write(cur.join(name), message)?;
        }
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn same_seed_same_bytes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ma = write_all(a.path()).unwrap();
        let mb = write_all(b.path()).unwrap();
        let (sa, sb) = (snapshot(a.path()), snapshot(b.path()));
        assert_eq!(sa.len(), sb.len());
        for ((na, da), (nb, db)) in sa.iter().zip(&sb) {
            assert_eq!(na, nb);
            assert!(da == db, "{na} differs between two runs");
        }
        let strip = |m: &Manifest| m.to_json().replace(&m.root.display().to_string(), "ROOT");
        assert_eq!(strip(&ma), strip(&mb));
        let c = tempfile::tempdir().unwrap();
        write_all_with_seed(c.path(), SEED + 1).unwrap();
        assert_ne!(snapshot(c.path()), sa, "another seed gives other bytes");
    }

    #[test]
    fn counts_match_the_documentation() {
        let (_dir, m) = temp().unwrap();
        type Row = (&'static str, Kind, &'static [(&'static str, usize)]);
        let table: &[Row] = &[
            ("mbox-mboxo", Kind::Mbox, &[("mboxo", 3)]),
            ("mbox-mboxrd", Kind::Mbox, &[("mboxrd", 4)]),
            ("mbox-mboxcl2", Kind::Mbox, &[("mboxcl2", 3)]),
            (
                "mbox-mboxcl2-wrong-length",
                Kind::Mbox,
                &[("mboxcl2-wrong-length", 3)],
            ),
            (
                "mbox-thunderbird-modern",
                Kind::Mbox,
                &[("thunderbird-modern", 5)],
            ),
            (
                "mbox-thunderbird-unquoted",
                Kind::Mbox,
                &[("thunderbird-unquoted", 2)],
            ),
            ("mbox-crlf", Kind::Mbox, &[("crlf", 3)]),
            ("mbox-from-line-text", Kind::Mbox, &[("from-line-text", 3)]),
            (
                "mbox-missing-final-newline",
                Kind::Mbox,
                &[("missing-final-newline", 2)],
            ),
            ("mbox-empty", Kind::Mbox, &[("empty", 0)]),
            (
                "thunderbird-profile",
                Kind::MboxTree,
                &[
                    ("Archives", 1),
                    ("Archives/2019", 2),
                    ("Inbox", 3),
                    ("Sent", 2),
                    ("Trash", 0),
                ],
            ),
            (
                "maildir",
                Kind::Maildir,
                &[
                    ("Archive", 1),
                    ("Archive/2019", 2),
                    ("Empty", 0),
                    ("INBOX", 7),
                    ("Sent", 2),
                ],
            ),
            (
                "eml-tree",
                Kind::Eml,
                &[("Inbox", 4), ("Work", 3), ("Work/Projects", 3)],
            ),
            (
                "apple-mail",
                Kind::Emlx,
                &[("Inbox", 3), ("Sent Messages", 1)],
            ),
        ];
        assert_eq!(m.fixtures.len(), table.len());
        for ((name, kind, folders), f) in table.iter().zip(&m.fixtures) {
            assert_eq!(&f.name, name);
            assert_eq!(f.kind, *kind, "{name}");
            assert!(f.path.exists(), "{name}: {}", f.path.display());
            let got: Vec<(String, usize)> = f
                .folders
                .iter()
                .map(|x| (x.name(), x.messages.len()))
                .collect();
            let want: Vec<(String, usize)> =
                folders.iter().map(|(n, c)| (n.to_string(), *c)).collect();
            assert_eq!(got, want, "{name}");
            for rel in &f.not_mail {
                assert!(f.path.join(rel).is_file(), "{name}: {rel}");
            }
            for e in f.folders.iter().flat_map(|x| &x.messages) {
                if let Some(rel) = &e.file {
                    assert!(f.path.join(rel).is_file(), "{name}: {rel}");
                }
            }
        }
        let all: Vec<&Expected> = m
            .fixtures
            .iter()
            .flat_map(|f| &f.folders)
            .flat_map(|f| &f.messages)
            .collect();
        assert_eq!(all.len(), 62);
        assert_eq!(all.iter().filter(|e| e.excluded).count(), 1);
        assert_eq!(all.iter().filter(|e| e.trashed).count(), 1);
        assert_eq!(
            all.iter().map(|e| &e.sha256).collect::<HashSet<_>>().len(),
            60
        );
        assert_eq!(all.iter().filter(|e| e.message_id.is_none()).count(), 2);
        assert_eq!(m.get("mbox-thunderbird-modern").counted(), 4);
    }

    /// Splits an mbox by the documented rules (no Content-Length), to check the writers.
    fn split_mbox(data: &[u8], eol: &[u8]) -> Vec<Vec<u8>> {
        let mut sep_lines = Vec::new();
        for i in line_starts(data) {
            let after_empty = i == 0 || data[..i].ends_with(&[eol, eol].concat());
            if data[i..].starts_with(b"From ") && after_empty {
                sep_lines.push(i);
            }
        }
        let mut out = Vec::new();
        for (k, &s) in sep_lines.iter().enumerate() {
            let body_start =
                s + data[s..].windows(eol.len()).position(|w| w == eol).unwrap() + eol.len();
            let end = match sep_lines.get(k + 1) {
                Some(&next) => next - eol.len(),
                None if data.ends_with(eol) => data.len() - eol.len(),
                None => data.len(),
            };
            out.push(data[body_start..end].to_vec());
        }
        out
    }

    /// mboxrd un-quoting: one `>` off every `^>+From ` line.
    fn unquote(msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(msg.len());
        let mut last = 0;
        for i in line_starts(msg) {
            if msg[i..].starts_with(b">") && is_gt_from(&msg[i..]) {
                out.extend_from_slice(&msg[last..i]);
                last = i + 1;
            }
        }
        out.extend_from_slice(&msg[last..]);
        out
    }

    #[test]
    fn reference_reading_gives_the_expected_digests() {
        let (_dir, m) = temp().unwrap();
        let cases = [
            ("mbox-mboxo", b"\n" as &[u8], true),
            ("mbox-mboxrd", b"\n", true),
            ("mbox-crlf", b"\r\n", true),
            ("mbox-missing-final-newline", b"\n", true),
            // Space-quoted lines are kept as written, as Thunderbird reads them.
            ("mbox-thunderbird-modern", b"\n", false),
            ("mbox-thunderbird-unquoted", b"\n", false),
            ("mbox-from-line-text", b"\n", false),
            ("mbox-mboxcl2-wrong-length", b"\n", false),
        ];
        for (name, eol, rd) in cases {
            let f = m.get(name);
            let data = fs::read(&f.path).unwrap();
            let got: Vec<String> = split_mbox(&data, eol)
                .iter()
                .map(|x| sha256_hex(&if rd { unquote(x) } else { x.clone() }))
                .collect();
            let want: Vec<String> = f.folders[0]
                .messages
                .iter()
                .map(|e| e.sha256.clone())
                .collect();
            assert_eq!(got, want, "{name}");
        }
        // Without Content-Length, the right-length mboxcl2 file splits in one place too many.
        let f = m.get("mbox-mboxcl2");
        assert_eq!(split_mbox(&fs::read(&f.path).unwrap(), b"\n").len(), 4);
        // EML files are messages as saved, whole.
        let f = m.get("eml-tree");
        for e in f.folders.iter().flat_map(|x| &x.messages) {
            let data = fs::read(f.path.join(e.file.as_ref().unwrap())).unwrap();
            assert_eq!(sha256_hex(&data), e.sha256, "{}", e.label);
        }
    }

    #[test]
    fn emlx_partial_reassembles_to_the_expected_message() {
        let (_dir, m) = temp().unwrap();
        let f = m.get("apple-mail");
        for e in &f.folders[0].messages {
            let path = f.path.join(e.file.as_ref().unwrap());
            let data = fs::read(&path).unwrap();
            let nl = data.iter().position(|&c| c == b'\n').unwrap();
            let len: usize = std::str::from_utf8(&data[..nl])
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            let mut msg = data[nl + 1..nl + 1 + len].to_vec();
            assert!(data[nl + 1 + len..].starts_with(b"<?xml"));
            if path.to_string_lossy().ends_with(".partial.emlx") {
                let atts = path
                    .parent()
                    .unwrap()
                    .parent()
                    .unwrap()
                    .join("Attachments/103");
                for part in ["2", "3"] {
                    let dir = atts.join(part);
                    let file = fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
                    let encoded = synth::base64_wrapped(&fs::read(file).unwrap(), 76);
                    let marker = format!("X-Apple-Content-Length: {}\n\n", encoded.len());
                    let at = msg
                        .windows(marker.len())
                        .position(|w| w == marker.as_bytes())
                        .unwrap();
                    let mut fixed = msg[..at].to_vec();
                    fixed.push(b'\n');
                    fixed.extend_from_slice(&encoded);
                    fixed.extend_from_slice(&msg[at + marker.len()..]);
                    msg = fixed;
                }
            }
            assert_eq!(sha256_hex(&msg), e.sha256, "{}", e.label);
        }
    }
}
