//! A seeded migration simulator: a generated mailbox as it was before a migration, the same
//! mailbox after it, and the plan that says what a correct `check` must report.
//!
//! Migrations rewrite mail in ways a person cannot tell apart from loss (counts that disagree,
//! messages that no longer match byte for byte), so `check` can only be trusted if it is tested
//! on mailboxes where the truth is known. [`simulate`] builds one from [`synth`] mail and plants
//! each kind of change on chosen messages, recording for every message copy the classification
//! a correct reconciliation gives ([`Fate`]). Everything is a pure function of the [`Options`].
//!
//! What is planted ([`Change`]; the expected status in brackets, see `docs/identity.md` §8):
//!
//! - store and trace header fields added: `Received` + `X-TUID`, `X-MS-Exchange-*`
//!   \[normalised\]; LF → CRLF and CRLF → LF \[normalised\]; header fields unfolded or refolded
//!   \[normalised\];
//! - a migration tool's own `X-` field added, base64 re-wrapped at another line length,
//!   quoted-printable turned into base64, new MIME boundaries \[reencoded\];
//! - the Message-ID's domain rewritten, attachments stripped \[altered\];
//! - messages moved to another folder \[moved\], dropped \[missing\], one copy of a duplicate
//!   dropped \[missing\], copied once more \[duplicate\], a whole folder lost \[missing\], new mail
//!   dated after the migration \[new\];
//! - folders renamed: well-known names (Sent → Sent Items, Trash → Deleted Items, Junk →
//!   Junk E-mail, `[Gmail]` → `[Google Mail]`, Trash → Bin), an `INBOX/` prefix, `/` → `.`, case,
//!   a name cut at 40 characters, and one name no rule can guess (its messages are reported
//!   moved unless the user maps the folder with `--map`);
//! - Gmail-style labels ([`Account::Gmail`]): every message in each of its label folders and in
//!   All Mail; a label placement dropped while the message survives in All Mail \[lost placement,
//!   not lost mail\];
//! - INTERNALDATE reset: [`Mailbox::write_mbox_tree`] stores each message's delivery time in
//!   its From_ line, which becomes its internal date; a Maildir has none, so checking an mbox
//!   BEFORE against the Maildir AFTER resets every internal date, which must change nothing.
//!
//! Messages with and without Message-ID, with base64 attachments and quoted-printable text,
//! and duplicates within and across folders are all present in the BEFORE mailbox. With
//! [`Options::lossless`] nothing is dropped and no folder is lost, so `check` must find every
//! message (exit 0) in spite of all the other differences.
//!
//! The [`mime`] module holds the small MIME rewriting helpers the changes need.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::mbox;
use crate::rng::{ALNUM, HEX_LOWER, HEX_UPPER, Rng};
use crate::synth::{self, Body, Charset, FolderKind, MessageId, Part, Profile, Subject};

/// When the simulated migration happens unless told otherwise: 2025-03-01 09:00 UTC. Mail in
/// BEFORE is older; new mail in AFTER is younger.
pub const DEFAULT_MIGRATED_AT: i64 = 1_740_819_600;

/// The kind of account migrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Account {
    /// An IMAP account moved to a Microsoft 365-like server: folder renames, Exchange headers.
    Imap,
    /// A Gmail account moved to another Google account: label folders and All Mail.
    Gmail,
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub seed: u64,
    pub account: Account,
    /// Plants losses: dropped messages, a dropped copy of a duplicate, a lost folder.
    pub losses: bool,
    /// Unix seconds of the migration; new mail in AFTER is dated after it.
    pub migrated_at: i64,
}

impl Options {
    pub fn new(seed: u64, account: Account) -> Options {
        Options {
            seed,
            account,
            losses: true,
            migrated_at: DEFAULT_MIGRATED_AT,
        }
    }

    /// The same migration with nothing lost: every dropped message is kept and no folder lost.
    pub fn lossless(mut self) -> Options {
        self.losses = false;
        self
    }

    /// Dates new mail after `t` (Unix seconds), e.g. after the moment a test takes its receipt.
    pub fn migrated_at(mut self, t: i64) -> Options {
        self.migrated_at = t;
        self
    }
}

/// How a correct reconciliation classifies one message copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Expect {
    Identical,
    Normalised,
    Reencoded,
    Altered,
    Moved,
    Missing,
    New,
    Duplicate,
    /// A Gmail label placement lost while the message is still in All Mail: not lost mail.
    LostPlacement,
}

impl Expect {
    pub const ALL: [Expect; 9] = [
        Expect::Identical,
        Expect::Normalised,
        Expect::Reencoded,
        Expect::Altered,
        Expect::Moved,
        Expect::Missing,
        Expect::New,
        Expect::Duplicate,
        Expect::LostPlacement,
    ];

    /// The status as the check report's JSON names it.
    pub fn status(self) -> &'static str {
        match self {
            Expect::Identical => "identical",
            Expect::Normalised => "normalised",
            Expect::Reencoded => "reencoded",
            Expect::Altered => "altered",
            Expect::Moved => "moved",
            Expect::Missing => "missing",
            Expect::New => "new",
            Expect::Duplicate => "duplicate",
            Expect::LostPlacement => "lost_placement",
        }
    }

    /// True for the copies that exist only in AFTER.
    pub fn after_only(self) -> bool {
        matches!(self, Expect::New | Expect::Duplicate)
    }
}

/// What the migration did to one message copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    Untouched,
    /// `Received` added on top, `X-TUID` at the end of the header (mbsync, imapsync).
    TraceHeaders,
    /// `X-MS-Exchange-*` fields added.
    ExchangeHeaders,
    /// LF line endings became CRLF.
    ToCrlf,
    /// CRLF line endings became LF.
    ToLf,
    /// Folded header fields unfolded.
    Unfolded,
    /// Long header fields folded at another width.
    Refolded,
    /// The migration tool's own `X-` field added (a watermark; not a store or trace field).
    ToolHeader,
    /// base64 bodies re-wrapped at another line length.
    Base64Rewrapped,
    /// quoted-printable bodies turned into base64.
    QpToBase64,
    /// Every MIME boundary replaced.
    NewBoundaries,
    /// The Message-ID's domain rewritten by the new server.
    MessageIdRewritten,
    /// Attachments removed (content altered).
    AttachmentStripped,
    /// In another folder after the migration.
    Moved,
    /// In a folder renamed to a name no mapping rule guesses.
    FolderRenamed,
    /// Not in AFTER.
    Dropped,
    /// One of several identical copies not in AFTER.
    DuplicateCopyDropped,
    /// One more copy in AFTER.
    Duplicated,
    /// The whole folder is not in AFTER.
    FolderLost,
    /// Arrived after the migration.
    NewMail,
    /// A Gmail label placement dropped, the message kept in All Mail.
    PlacementDropped,
}

impl Change {
    pub const ALL: [Change; 21] = [
        Change::Untouched,
        Change::TraceHeaders,
        Change::ExchangeHeaders,
        Change::ToCrlf,
        Change::ToLf,
        Change::Unfolded,
        Change::Refolded,
        Change::ToolHeader,
        Change::Base64Rewrapped,
        Change::QpToBase64,
        Change::NewBoundaries,
        Change::MessageIdRewritten,
        Change::AttachmentStripped,
        Change::Moved,
        Change::FolderRenamed,
        Change::Dropped,
        Change::DuplicateCopyDropped,
        Change::Duplicated,
        Change::FolderLost,
        Change::NewMail,
        Change::PlacementDropped,
    ];

    /// True for the changes that lose mail, which [`Options::lossless`] leaves out.
    pub fn is_loss(self) -> bool {
        matches!(
            self,
            Change::Dropped | Change::DuplicateCopyDropped | Change::FolderLost
        )
    }
}

/// How a folder's name changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FolderChange {
    Kept,
    /// A well-known name of the same special folder (Sent → Sent Items).
    WellKnownName,
    /// `INBOX/` put in front.
    InboxPrefix,
    /// `/` between levels became `.` in one name.
    Separator,
    /// Upper or lower case changed.
    Case,
    /// Cut at 40 characters.
    Cut,
    /// Renamed to something only the user can map (`--map OLD=NEW`).
    Unguessable,
    /// Not in AFTER.
    Lost,
}

/// One folder of BEFORE and what it became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderFate {
    pub before: String,
    /// `None` when the folder is lost.
    pub after: Option<String>,
    pub change: FolderChange,
}

/// One message copy and how `check` must classify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fate {
    pub change: Change,
    pub expect: Expect,
    /// Where the copy was (`None` for copies only in AFTER), folder names joined by `/`.
    pub before_folder: Option<String>,
    /// Where it is after the migration (`None` when it is not there).
    pub after_folder: Option<String>,
    /// SHA-256 of the BEFORE bytes; for new mail, of the AFTER bytes.
    pub digest: String,
    /// SHA-256 of the AFTER bytes, when there are some.
    pub after_digest: Option<String>,
    /// Normalised like a receipt's `message_id` (brackets gone, domain lower-case).
    pub message_id: Option<String>,
    /// The decoded subject when it is plain text (always so for changed messages).
    pub subject: Option<String>,
    /// Sender address, lower-case.
    pub from: String,
    /// The Date field, Unix seconds.
    pub date: i64,
    /// Which unique message this is a copy of: duplicates and Gmail placements share it.
    pub message: usize,
}

/// A mailbox as folders of messages, written by [`Mailbox::write_maildir`] or
/// [`Mailbox::write_mbox_tree`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mailbox {
    pub folders: Vec<Folder>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Path segments, outermost first.
    pub path: Vec<String>,
    pub messages: Vec<Stored>,
}

/// One message copy as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub bytes: Vec<u8>,
    /// Envelope sender, for mbox From_ lines.
    pub sender: String,
    /// Delivery time, Unix seconds: the From_ line date in an mbox, the file name in a Maildir.
    pub delivered: i64,
}

/// The two mailboxes and the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub options: Options,
    pub before: Mailbox,
    pub after: Mailbox,
    pub folders: Vec<FolderFate>,
    /// One entry per copy in BEFORE, then one per copy only in AFTER.
    pub fates: Vec<Fate>,
}

impl Folder {
    pub fn name(&self) -> String {
        self.path.join("/")
    }
}

impl Mailbox {
    /// Messages in every folder.
    pub fn count(&self) -> usize {
        self.folders.iter().map(|f| f.messages.len()).sum()
    }

    pub fn folder(&self, name: &str) -> Option<&Folder> {
        self.folders.iter().find(|f| f.name() == name)
    }

    fn index(&mut self, name: &str) -> usize {
        if let Some(i) = self.folders.iter().position(|f| f.name() == name) {
            return i;
        }
        self.folders.push(Folder {
            path: name.split('/').map(str::to_string).collect(),
            messages: Vec::new(),
        });
        self.folders.len() - 1
    }

    /// Writes a Maildir++ tree as Dovecot lays it out: INBOX at the root, folder `A/B` in
    /// `.A.B/`. A folder whose name holds a `.` cannot be Maildir++ (the dot would split it), so
    /// it is written as nested plain directories instead, which readers take verbatim.
    pub fn write_maildir(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        let mut seq = 0u32;
        for folder in &self.folders {
            let path = if folder.path == ["INBOX"] {
                dir.to_path_buf()
            } else if folder.path.iter().any(|s| s.contains('.')) {
                folder.path.iter().fold(dir.to_path_buf(), |p, s| p.join(s))
            } else {
                dir.join(format!(".{}", folder.path.join(".")))
            };
            for leaf in ["cur", "new", "tmp"] {
                fs::create_dir_all(path.join(leaf))?;
            }
            if path != dir {
                fs::write(path.join("maildirfolder"), b"")?;
            }
            for m in &folder.messages {
                seq += 1;
                let name = format!(
                    "{}.M{seq}P7341.mailhost,S={}:2,S",
                    m.delivered,
                    m.bytes.len()
                );
                fs::write(path.join("cur").join(name), &m.bytes)?;
            }
        }
        Ok(())
    }

    /// Writes one mboxrd file per folder, nested the Thunderbird way (`Archive.sbd/2023`),
    /// each message after a From_ line carrying its delivery time.
    pub fn write_mbox_tree(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        for folder in &self.folders {
            let (last, parents) = folder.path.split_last().expect("a folder has a name");
            let mut path = dir.to_path_buf();
            for p in parents {
                path = path.join(format!("{p}.sbd"));
            }
            fs::create_dir_all(&path)?;
            let mut out = Vec::new();
            for m in &folder.messages {
                out.extend_from_slice(mbox::from_line(&m.sender, m.delivered).as_bytes());
                out.push(b'\n');
                mbox::mboxrd_quote_into(&m.bytes, &mut out);
                if !m.bytes.ends_with(b"\n") {
                    out.push(b'\n');
                }
                out.push(b'\n');
            }
            fs::write(path.join(last), out)?;
        }
        Ok(())
    }
}

impl Migration {
    /// The fates with this expectation.
    pub fn expected(&self, expect: Expect) -> impl Iterator<Item = &Fate> {
        self.fates.iter().filter(move |f| f.expect == expect)
    }

    pub fn count(&self, expect: Expect) -> usize {
        self.expected(expect).count()
    }

    /// The after name of a before folder, `None` when it is lost.
    pub fn after_name(&self, before: &str) -> Option<&str> {
        self.folders
            .iter()
            .find(|f| f.before == before)
            .and_then(|f| f.after.as_deref())
    }

    /// The plan as a table, one line per change: for failure messages and reports.
    pub fn table(&self) -> String {
        let mut out = String::new();
        for f in &self.folders {
            let _ = writeln!(
                out,
                "folder {:?} -> {:?} ({:?})",
                f.before, f.after, f.change
            );
        }
        for f in self.fates.iter().filter(|f| f.expect != Expect::Identical) {
            let _ = writeln!(
                out,
                "{:<15} {:<22} {:?} -> {:?}  {}  {:?}",
                f.expect.status(),
                format!("{:?}", f.change),
                f.before_folder.as_deref().unwrap_or("-"),
                f.after_folder.as_deref().unwrap_or("-"),
                &f.digest[..12],
                f.subject.as_deref().unwrap_or("")
            );
        }
        out
    }
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A Message-ID as receipts record it: the first `<…>` identifier (or the whole value) with
/// brackets and white space removed and the part after the last `@` lower-cased.
pub fn normalise_message_id(raw: &str) -> Option<String> {
    let inner = match (raw.find('<'), raw.find('>')) {
        (Some(a), Some(b)) if a < b => &raw[a + 1..b],
        _ => raw,
    };
    let s: String = inner
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '<' && *c != '>')
        .collect();
    if s.is_empty() {
        return None;
    }
    Some(match s.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => s,
    })
}

/// Runs the simulation.
pub fn simulate(options: &Options) -> Migration {
    let mut sim = Sim {
        rng: Rng::derive(options.seed, 0x6d69_6772, options.account as u64),
        options: options.clone(),
        before: Mailbox::default(),
        after: Mailbox::default(),
        folders: Vec::new(),
        fates: Vec::new(),
        unique: 0,
        subjects: 0,
    };
    match options.account {
        Account::Imap => sim.imap(),
        Account::Gmail => sim.gmail(),
    }
    Migration {
        options: options.clone(),
        before: sim.before,
        after: sim.after,
        folders: sim.folders,
        fates: sim.fates,
    }
}

/// A generated message before the migration.
#[derive(Debug, Clone)]
struct Msg {
    bytes: Vec<u8>,
    sender: String,
    from: String,
    date: i64,
    subject: Option<String>,
    message_id: Option<String>,
    unique: usize,
}

/// What kind of message to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Any realistic message (subject maybe encoded, charsets, From lines in the body).
    Background,
    /// A text/plain message.
    Plain,
    /// multipart/mixed with the text (maybe with an HTML alternative) and base64 attachments.
    WithAttachment,
    /// text/plain UTF-8, quoted-printable.
    QuotedPrintable,
    /// text/plain ISO-8859-1, quoted-printable.
    Latin1,
}

/// Two names for a folder: where a message was and where its folder went.
#[derive(Debug, Clone, Copy)]
struct Pair {
    before: usize,
    after: Option<usize>,
}

struct Sim {
    rng: Rng,
    options: Options,
    before: Mailbox,
    after: Mailbox,
    folders: Vec<FolderFate>,
    fates: Vec<Fate>,
    unique: usize,
    subjects: usize,
}

/// Subject openings for planted messages: plain ASCII, so a report shows them verbatim.
const TOPICS: &[&str] = &[
    "Quarterly budget review",
    "Contract renewal for the storage cluster",
    "Minutes of the steering meeting",
    "Invoice for March services",
    "Travel plans for the partner visit",
    "Draft proposal for the new office",
    "Release notes and deployment schedule",
    "Question about the support ticket",
    "Photos from the team offsite",
    "Updated agenda for Thursday",
    "Signed approval for the purchase order",
    "Backup restore test results",
];

impl Sim {
    fn pair(&mut self, before: &str, after: Option<&str>, change: FolderChange) -> Pair {
        let b = self.before.index(before);
        let a = after.map(|a| self.after.index(a));
        self.folders.push(FolderFate {
            before: before.into(),
            after: after.map(str::to_string),
            change,
        });
        Pair {
            before: b,
            after: a,
        }
    }

    fn profile(kind: FolderKind) -> Profile {
        Profile {
            kind,
            start: synth::unix_time(2022, 1, 1, 0, 0, 0),
            end: synth::unix_time(2024, 12, 31, 23, 59, 59),
            big_frac: 0.0,
            attach_frac: 0.0,
        }
    }

    /// A fresh message for a folder of this kind, dated in BEFORE's time range.
    fn msg(&mut self, kind: FolderKind, shape: Shape, with_id: bool) -> Msg {
        let p = Self::profile(kind);
        self.msg_between(kind, shape, with_id, p.start, p.end)
    }

    fn msg_between(
        &mut self,
        kind: FolderKind,
        shape: Shape,
        with_id: bool,
        start: i64,
        end_time: i64,
    ) -> Msg {
        let mut profile = Self::profile(kind);
        profile.start = start;
        profile.end = end_time;
        let rng = &mut self.rng;
        let mut spec = synth::realistic(rng, &profile);
        spec.malformed = false;
        if shape != Shape::Background {
            self.subjects += 1;
            let topic = TOPICS[self.subjects % TOPICS.len()];
            spec.subject = Subject::Plain(format!("{topic} ({})", self.subjects));
            spec.subject_prefix = String::new();
            spec.forward = None;
            spec.from_lines = false;
        }
        if !with_id {
            spec.message_id = MessageId::Missing;
        }
        match shape {
            Shape::Background => {}
            Shape::Plain | Shape::QuotedPrintable => {
                spec.body = Body::Plain;
                spec.attachments.clear();
            }
            Shape::WithAttachment => {
                if !matches!(spec.body, Body::Plain | Body::Alternative) {
                    spec.body = Body::Plain;
                }
                let n = rng.range_usize(1, 2);
                spec.attachments = (0..n).map(|_| rng.range_usize(3_000, 12_000)).collect();
            }
            Shape::Latin1 => {
                spec.body = Body::Charset {
                    charset: Charset::Iso8859_1,
                    repeats: rng.range_usize(3, 8),
                };
                spec.attachments.clear();
            }
        }
        let (head, content) = synth::build_parts(rng, &spec);
        let content = if shape == Shape::QuotedPrintable {
            quoted_printable_text(&content)
        } else {
            content
        };
        let bytes = synth::assemble(&head, &content);
        // synth folds long address lists of encoded words with an empty line inside the field,
        // which ends the header early; a planted change needs the whole header, so draw again.
        let end = mime::header_end(&bytes);
        let intact = mime::field_value(&bytes[..end], "MIME-Version").is_some();
        if shape != Shape::Background && !intact {
            self.subjects -= 1;
            return self.msg_between(kind, shape, with_id, start, end_time);
        }
        let message_id = match &spec.message_id {
            MessageId::Given(m) => Some(m.clone()),
            MessageId::Missing => None,
            MessageId::Generate => head.iter().find_map(|h| {
                h.strip_prefix(b"Message-ID: ")
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            }),
        };
        let subject = match &spec.subject {
            Subject::Plain(s) if intact => Some(format!("{}{s}", spec.subject_prefix)),
            _ => None,
        };
        self.unique += 1;
        Msg {
            bytes,
            sender: spec.from.addr.clone(),
            from: spec.from.addr.to_lowercase(),
            date: spec.date,
            subject,
            message_id,
            unique: self.unique - 1,
        }
    }

    fn stored(&mut self, m: &Msg, bytes: Vec<u8>) -> Stored {
        let delay = self.rng.range(2, 600) as i64;
        Stored {
            bytes,
            sender: m.sender.clone(),
            delivered: m.date + delay,
        }
    }

    /// Puts one copy of `m` into BEFORE's folder `from` and, when `to` is given, `after` bytes
    /// into AFTER's folder `to`; records the fate.
    fn place(
        &mut self,
        m: &Msg,
        from: usize,
        to: Option<usize>,
        after: &[u8],
        change: Change,
        expect: Expect,
    ) {
        let s = self.stored(m, m.bytes.clone());
        self.before.folders[from].messages.push(s);
        if let Some(to) = to {
            let s = self.stored(m, after.to_vec());
            self.after.folders[to].messages.push(s);
        }
        self.fates.push(Fate {
            change,
            expect,
            before_folder: Some(self.before.folders[from].name()),
            after_folder: to.map(|t| self.after.folders[t].name()),
            digest: sha256_hex(&m.bytes),
            after_digest: to.map(|_| sha256_hex(after)),
            message_id: m.message_id.as_deref().and_then(normalise_message_id),
            subject: m.subject.clone(),
            from: m.from.clone(),
            date: m.date,
            message: m.unique,
        });
    }

    /// Puts a copy into AFTER only (new mail, an extra copy).
    fn after_only(&mut self, m: &Msg, to: usize, change: Change, expect: Expect) {
        let s = self.stored(m, m.bytes.clone());
        self.after.folders[to].messages.push(s);
        let digest = sha256_hex(&m.bytes);
        self.fates.push(Fate {
            change,
            expect,
            before_folder: None,
            after_folder: Some(self.after.folders[to].name()),
            after_digest: Some(digest.clone()),
            digest,
            message_id: m.message_id.as_deref().and_then(normalise_message_id),
            subject: m.subject.clone(),
            from: m.from.clone(),
            date: m.date,
            message: m.unique,
        });
    }

    /// An unchanged copy in the folder's AFTER counterpart.
    fn keep(&mut self, m: &Msg, p: Pair) {
        let after = m.bytes.clone();
        self.place(
            m,
            p.before,
            p.after,
            &after,
            Change::Untouched,
            Expect::Identical,
        );
    }

    /// A copy changed by `change`, expected to be classified `expect`.
    fn rewrite(&mut self, m: &Msg, p: Pair, change: Change, expect: Expect) {
        let after = self.apply(change, &m.bytes);
        assert_ne!(after, m.bytes, "{change:?} changed nothing");
        self.place(m, p.before, p.after, &after, change, expect);
    }

    /// A copy lost, or kept as it is in a lossless run.
    fn lose(&mut self, m: &Msg, p: Pair, change: Change) {
        if self.options.losses {
            self.place(m, p.before, None, &[], change, Expect::Missing);
        } else {
            self.keep(m, p);
        }
    }

    fn apply(&mut self, change: Change, msg: &[u8]) -> Vec<u8> {
        let rng = &mut self.rng;
        match change {
            Change::TraceHeaders => {
                let received = synth::fold(
                    "Received",
                    &format!(
                        "from imap.example.org (imap.example.org [192.0.2.{}]) by mx{}.migrate.example.com with IMAPS id {}; {}",
                        rng.range(1, 254),
                        rng.range(1, 9),
                        rng.token(10, HEX_UPPER),
                        synth::rfc5322_date(self.options.migrated_at, 0)
                    ),
                );
                let tuid = format!("X-TUID: {}", rng.token(12, ALNUM));
                mime::add_fields(msg, &[received], &[tuid])
            }
            Change::ExchangeHeaders => {
                let id = format!(
                    "{}-{}-{}-{}-{}",
                    rng.token(8, HEX_LOWER),
                    rng.token(4, HEX_LOWER),
                    rng.token(4, HEX_LOWER),
                    rng.token(4, HEX_LOWER),
                    rng.token(12, HEX_LOWER)
                );
                let fields = [
                    format!("X-MS-Exchange-Organization-Network-Message-Id: {id}"),
                    "X-MS-Exchange-Organization-AuthAs: Anonymous".to_string(),
                    format!(
                        "X-MS-Exchange-Organization-AuthSource:\n EXCH{:02}.corp.example.com",
                        rng.range(1, 20)
                    ),
                    format!(
                        "X-MS-Exchange-Transport-EndToEndLatency: 00:00:{:02}.{:07}",
                        rng.below(60),
                        rng.below(10_000_000)
                    ),
                    "X-MS-Exchange-Processed-By-BccFoldering: 15.20.7452.000".to_string(),
                ];
                mime::add_fields(msg, &[], &fields)
            }
            Change::ToCrlf => synth::to_crlf(msg),
            Change::ToLf => mime::to_lf(msg),
            Change::Unfolded => mime::unfold(msg),
            Change::Refolded => mime::refold(msg, 60),
            Change::ToolHeader => mime::add_fields(
                msg,
                &[],
                &[format!(
                    "X-Migrated-By: ExampleMove 4.2 (job {}; source imap.example.org)",
                    rng.token(16, HEX_LOWER)
                )],
            ),
            Change::Base64Rewrapped => {
                let width = *rng.pick(&[60, 64, 72]);
                mime::rewrap_base64(msg, width)
            }
            Change::QpToBase64 => mime::qp_to_base64(msg),
            Change::NewBoundaries => mime::new_boundaries(msg, rng),
            Change::MessageIdRewritten => {
                mime::rewrite_message_id(msg, "EURPRD04.prod.example.com")
            }
            Change::AttachmentStripped => mime::strip_attachments(msg),
            _ => msg.to_vec(),
        }
    }

    /// An IMAP account moved to a Microsoft 365-like server.
    fn imap(&mut self) {
        use Change::*;
        use FolderChange as F;
        use FolderKind::{Drafts, Incoming, List, Sent};
        let long_name = "Customer Correspondence and Project Documents 2023";
        let inbox = self.pair("INBOX", Some("INBOX"), F::Kept);
        let sent = self.pair("Sent", Some("Sent Items"), F::WellKnownName);
        let drafts = self.pair("Drafts", Some("Drafts"), F::Kept);
        let trash = self.pair("Trash", Some("Deleted Items"), F::WellKnownName);
        let junk = self.pair("Junk", Some("Junk E-mail"), F::WellKnownName);
        let archive = self.pair("Archive/2023", Some("INBOX/Archive/2023"), F::InboxPrefix);
        let long = self.pair(long_name, Some(&long_name[..40]), F::Cut);
        let alpha = self.pair("Projects/Alpha", Some("Projects.Alpha"), F::Separator);
        let travel = self.pair("Travel", Some("TRAVEL"), F::Case);
        let receipts = self.pair("Receipts", Some("Quittungen"), F::Unguessable);
        let news = if self.options.losses {
            self.pair("Newsletters", None, F::Lost)
        } else {
            self.pair("Newsletters", Some("Newsletters"), F::Kept)
        };

        // Mail nobody touched, with all the variety of real mailboxes.
        for (p, kind, n) in [
            (inbox, Incoming, 14),
            (sent, Sent, 6),
            (drafts, Drafts, 2),
            (trash, Incoming, 3),
            (junk, Incoming, 2),
            (archive, Incoming, 5),
            (long, Incoming, 3),
            (alpha, List, 3),
            (travel, Incoming, 2),
        ] {
            for _ in 0..n {
                let m = self.msg(kind, Shape::Background, true);
                self.keep(&m, p);
            }
        }
        for i in 0..3 {
            let m = self.msg(Incoming, Shape::Plain, i != 1);
            let after = m.bytes.clone();
            self.place(
                &m,
                receipts.before,
                receipts.after,
                &after,
                FolderRenamed,
                Expect::Moved,
            );
        }
        for _ in 0..3 {
            let m = self.msg(List, Shape::Plain, true);
            if self.options.losses {
                self.place(&m, news.before, None, &[], FolderLost, Expect::Missing);
            } else {
                self.keep(&m, news);
            }
        }

        // Identical after normalisation.
        let m = self.msg(Incoming, Shape::Plain, true);
        self.rewrite(&m, inbox, TraceHeaders, Expect::Normalised);
        let m = self.msg(Incoming, Shape::WithAttachment, true);
        self.rewrite(&m, inbox, ExchangeHeaders, Expect::Normalised);
        let m = self.msg(Incoming, Shape::Plain, false);
        self.rewrite(&m, archive, TraceHeaders, Expect::Normalised);
        let m = self.msg(Sent, Shape::WithAttachment, true);
        self.rewrite(&m, sent, ToCrlf, Expect::Normalised);
        let mut m = self.msg(Incoming, Shape::Plain, true);
        m.bytes = synth::to_crlf(&m.bytes);
        self.rewrite(&m, inbox, ToLf, Expect::Normalised);
        let m = self.incoming_with_folds();
        self.rewrite(&m, inbox, Unfolded, Expect::Normalised);
        let m = self.incoming_with_folds();
        self.rewrite(&m, long, Refolded, Expect::Normalised);

        // The same message, re-encoded.
        let m = self.msg(Incoming, Shape::Plain, true);
        self.rewrite(&m, inbox, ToolHeader, Expect::Reencoded);
        let m = self.msg(Incoming, Shape::WithAttachment, true);
        self.rewrite(&m, inbox, Base64Rewrapped, Expect::Reencoded);
        let m = self.msg(Sent, Shape::WithAttachment, true);
        self.rewrite(&m, sent, Base64Rewrapped, Expect::Reencoded);
        let m = self.msg(Incoming, Shape::QuotedPrintable, true);
        self.rewrite(&m, inbox, QpToBase64, Expect::Reencoded);
        let m = self.msg(List, Shape::Latin1, false);
        self.rewrite(&m, alpha, QpToBase64, Expect::Reencoded);
        let m = self.msg(Incoming, Shape::WithAttachment, true);
        self.rewrite(&m, archive, NewBoundaries, Expect::Reencoded);

        // The same message with its content altered.
        let m = self.msg(Incoming, Shape::Plain, true);
        self.rewrite(&m, inbox, MessageIdRewritten, Expect::Altered);
        let m = self.msg(Incoming, Shape::WithAttachment, true);
        self.rewrite(&m, inbox, AttachmentStripped, Expect::Altered);
        let m = self.msg(Sent, Shape::WithAttachment, false);
        self.rewrite(&m, sent, AttachmentStripped, Expect::Altered);

        // Moved to another folder.
        let m = self.msg(Incoming, Shape::Plain, true);
        self.place(
            &m,
            inbox.before,
            archive.after,
            &m.bytes,
            Moved,
            Expect::Moved,
        );
        let m = self.msg(Incoming, Shape::Plain, false);
        self.place(&m, long.before, inbox.after, &m.bytes, Moved, Expect::Moved);

        // Dropped.
        let m = self.msg(Incoming, Shape::WithAttachment, true);
        self.lose(&m, inbox, Dropped);
        let m = self.msg(Sent, Shape::Plain, false);
        self.lose(&m, sent, Dropped);
        let m = self.msg(Incoming, Shape::Plain, true);
        self.lose(&m, long, Dropped);
        let m = self.msg(Incoming, Shape::Plain, true);
        self.lose(&m, trash, Dropped);

        // Duplicates in BEFORE: kept, or one copy dropped.
        let m = self.msg(Incoming, Shape::Plain, true);
        self.keep(&m, inbox);
        self.keep(&m, inbox);
        let m = self.msg(Incoming, Shape::Plain, true);
        self.keep(&m, inbox);
        self.lose(&m, inbox, DuplicateCopyDropped);
        let m = self.msg(Incoming, Shape::Plain, true);
        self.keep(&m, inbox);
        self.keep(&m, archive);
        let m = self.msg(Incoming, Shape::Plain, true);
        self.lose(&m, inbox, DuplicateCopyDropped);
        self.keep(&m, archive);

        // Duplicated by the migration, in the same folder and in another one.
        let m = self.msg(Incoming, Shape::Plain, true);
        self.keep(&m, inbox);
        self.after_only(
            &m,
            inbox.after.expect("INBOX kept"),
            Duplicated,
            Expect::Duplicate,
        );
        let m = self.msg(Incoming, Shape::Plain, true);
        self.keep(&m, inbox);
        self.after_only(
            &m,
            archive.after.expect("Archive kept"),
            Duplicated,
            Expect::Duplicate,
        );

        // New mail, dated after the migration.
        self.new_mail(inbox, Incoming);
        self.new_mail(inbox, Incoming);
        self.new_mail(sent, Sent);
    }

    /// A Gmail account moved to another Google account (with the UK folder names).
    fn gmail(&mut self) {
        use Change::*;
        use FolderChange as F;
        use FolderKind::{Drafts, Incoming, List, Sent};
        let inbox = self.pair("INBOX", Some("INBOX"), F::Kept);
        let all = self.pair(
            "[Gmail]/All Mail",
            Some("[Google Mail]/All Mail"),
            F::WellKnownName,
        );
        let sent = self.pair(
            "[Gmail]/Sent Mail",
            Some("[Google Mail]/Sent Mail"),
            F::WellKnownName,
        );
        let drafts = self.pair(
            "[Gmail]/Drafts",
            Some("[Google Mail]/Drafts"),
            F::WellKnownName,
        );
        let trash = self.pair("[Gmail]/Trash", Some("[Google Mail]/Bin"), F::WellKnownName);
        let work = self.pair("Work", Some("Work"), F::Kept);
        let travel = self.pair("Travel", Some("Travel"), F::Kept);
        let kids = self.pair("Family/Kids", Some("Family/Kids"), F::Kept);

        let background: [(&[Pair], FolderKind, usize); 9] = [
            (&[inbox], Incoming, 8),
            (&[inbox, work], Incoming, 3),
            (&[work], List, 3),
            (&[travel], Incoming, 2),
            (&[inbox, kids], Incoming, 2),
            (&[sent], Sent, 4),
            (&[sent, work], Sent, 2),
            (&[drafts], Drafts, 1),
            // Archived: only in All Mail.
            (&[], Incoming, 3),
        ];
        for (labels, kind, n) in background {
            for _ in 0..n {
                let m = self.msg(kind, Shape::Background, true);
                for &l in labels {
                    self.keep(&m, l);
                }
                self.keep(&m, all);
            }
        }
        // Trash is not in All Mail.
        for _ in 0..2 {
            let m = self.msg(Incoming, Shape::Background, true);
            self.keep(&m, trash);
        }

        // A label placement lost; the message is still in INBOX and All Mail.
        let m = self.msg(Incoming, Shape::Plain, true);
        self.keep(&m, inbox);
        self.place(
            &m,
            work.before,
            None,
            &[],
            PlacementDropped,
            Expect::LostPlacement,
        );
        self.keep(&m, all);
        // The only label lost; the message is still in All Mail.
        let m = self.msg(Incoming, Shape::WithAttachment, true);
        self.place(
            &m,
            travel.before,
            None,
            &[],
            PlacementDropped,
            Expect::LostPlacement,
        );
        self.keep(&m, all);

        // Trace headers added to every placement.
        let m = self.msg(Incoming, Shape::Plain, true);
        let after = self.apply(TraceHeaders, &m.bytes);
        for p in [inbox, kids, all] {
            self.place(
                &m,
                p.before,
                p.after,
                &after,
                TraceHeaders,
                Expect::Normalised,
            );
        }
        // Attachments stripped in every placement.
        let m = self.msg(Incoming, Shape::WithAttachment, true);
        let after = self.apply(AttachmentStripped, &m.bytes);
        for p in [work, all] {
            self.place(
                &m,
                p.before,
                p.after,
                &after,
                AttachmentStripped,
                Expect::Altered,
            );
        }

        // Lost everywhere: labelled, archived, and in the bin (Gmail empties it after 30 days).
        let m = self.msg(Incoming, Shape::Plain, true);
        for p in [inbox, work, all] {
            self.lose(&m, p, Dropped);
        }
        let m = self.msg(Incoming, Shape::Plain, false);
        self.lose(&m, all, Dropped);
        let m = self.msg(Incoming, Shape::Plain, true);
        self.lose(&m, trash, Dropped);

        // New mail: in INBOX and All Mail.
        let m = self.new_msg(Incoming);
        for p in [inbox, all] {
            self.after_only(&m, p.after.expect("kept"), NewMail, Expect::New);
        }
    }

    /// An incoming message whose header has folded fields and long unfolded ones.
    fn incoming_with_folds(&mut self) -> Msg {
        loop {
            let m = self.msg(FolderKind::Incoming, Shape::Plain, true);
            let header = &m.bytes[..mime::header_end(&m.bytes)];
            let folded = header.windows(2).any(|w| w == b"\n\t" || w == b"\n ");
            if folded && mime::refold(&m.bytes, 60) != m.bytes {
                return m;
            }
        }
    }

    fn new_msg(&mut self, kind: FolderKind) -> Msg {
        let start = self.options.migrated_at + 60;
        self.msg_between(kind, Shape::Plain, true, start, start + 2 * 86_400)
    }

    fn new_mail(&mut self, p: Pair, kind: FolderKind) {
        let m = self.new_msg(kind);
        self.after_only(&m, p.after.expect("kept"), Change::NewMail, Expect::New);
    }
}

/// The same text as a UTF-8 quoted-printable text/plain part, with a line of non-ASCII text
/// added so that the encoding is needed.
fn quoted_printable_text(content: &Part) -> Part {
    let entity = mime::parse(&content.to_bytes());
    let mut text = entity.decoded();
    text.extend_from_slice("Grüße aus Zürich, à bientôt — naïve café.\n".as_bytes());
    Part {
        headers: vec![
            b"Content-Type: text/plain; charset=UTF-8".to_vec(),
            b"Content-Transfer-Encoding: quoted-printable".to_vec(),
        ],
        body: synth::quoted_printable(&text),
    }
}

/// Small MIME helpers: an entity tree that writes back exactly the bytes it was read from,
/// transfer decoding, and the rewrites migrations make. They handle what [`synth`] writes and
/// ordinary mail; malformed structure is left alone (a multipart without its closing delimiter
/// stays one leaf).
pub mod mime {
    use crate::rng::{HEX_UPPER, Rng};
    use crate::synth;

    /// An entity: its header section (with the empty line that ends it) and its body.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Entity {
        pub header: Vec<u8>,
        pub body: Content,
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Content {
        Leaf(Vec<u8>),
        Multipart(Multipart),
    }

    /// A multipart body cut at its delimiter lines, every byte kept.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Multipart {
        pub boundary: String,
        /// Everything before the first delimiter line.
        pub preamble: Vec<u8>,
        pub parts: Vec<Piece>,
        /// The closing delimiter line and the epilogue.
        pub rest: Vec<u8>,
    }

    /// One body part with the delimiter line before it and the line break after it (which
    /// belongs to the next delimiter, RFC 2046 §5.1.1).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Piece {
        pub delimiter: Vec<u8>,
        pub entity: Entity,
        pub gap: Vec<u8>,
    }

    /// The line ending a message uses: CRLF when its first line ends so.
    pub fn eol_of(bytes: &[u8]) -> &'static [u8] {
        match bytes.iter().position(|&c| c == b'\n') {
            Some(i) if i > 0 && bytes[i - 1] == b'\r' => b"\r\n",
            _ => b"\n",
        }
    }

    /// Lines with their line endings.
    fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
        bytes.split_inclusive(|&c| c == b'\n')
    }

    fn trim_eol(line: &[u8]) -> &[u8] {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        line.strip_suffix(b"\r").unwrap_or(line)
    }

    /// Where the body starts: after the first empty line, or at the end when there is none.
    pub fn header_end(bytes: &[u8]) -> usize {
        let mut pos = 0;
        for line in lines(bytes) {
            pos += line.len();
            if line == b"\n" || line == b"\r\n" {
                return pos;
            }
        }
        bytes.len()
    }

    /// The header fields of a header section, each with its continuation lines and line
    /// endings; the empty line that ends the section is not a field.
    pub fn fields(header: &[u8]) -> Vec<&[u8]> {
        let mut out: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        let mut pos = 0;
        for line in lines(header) {
            if line == b"\n" || line == b"\r\n" {
                break;
            }
            let continuation = matches!(line.first(), Some(b' ' | b'\t'));
            if !continuation && pos > start {
                out.push(&header[start..pos]);
                start = pos;
            }
            pos += line.len();
        }
        if pos > start {
            out.push(&header[start..pos]);
        }
        out
    }

    fn field_name(field: &[u8]) -> &[u8] {
        let colon = field.iter().position(|&c| c == b':').unwrap_or(0);
        field[..colon].trim_ascii()
    }

    /// The first field of that name, unfolded, without its name, trimmed.
    pub fn field_value(header: &[u8], name: &str) -> Option<String> {
        fields(header).into_iter().find_map(|f| {
            if !field_name(f).eq_ignore_ascii_case(name.as_bytes()) {
                return None;
            }
            let colon = f.iter().position(|&c| c == b':')?;
            let value: Vec<u8> = f[colon + 1..]
                .iter()
                .copied()
                .filter(|&c| c != b'\r' && c != b'\n')
                .collect();
            Some(String::from_utf8_lossy(&value).trim().to_string())
        })
    }

    /// `type/subtype` lower-cased (text/plain when absent) and the boundary parameter.
    pub fn content_type(header: &[u8]) -> (String, Option<String>) {
        let Some(value) = field_value(header, "Content-Type") else {
            return ("text/plain".into(), None);
        };
        let mut params = split_params(&value).into_iter();
        let mime = params
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let boundary = params.find_map(|p| {
            let (k, v) = p.split_once('=')?;
            if !k.trim().eq_ignore_ascii_case("boundary") {
                return None;
            }
            let v = v.trim();
            Some(
                match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                    Some(q) => q.replace("\\\"", "\""),
                    None => v.to_string(),
                },
            )
        });
        (mime, boundary)
    }

    /// Splits a parameter list at `;` outside quotes.
    fn split_params(value: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut escaped = false;
        for c in value.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ';' if !quoted => {
                    out.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        out.push(cur);
        out
    }

    /// The Content-Transfer-Encoding, lower-cased; `7bit` when absent.
    pub fn transfer_encoding(header: &[u8]) -> String {
        field_value(header, "Content-Transfer-Encoding")
            .map(|v| v.to_ascii_lowercase())
            .unwrap_or_else(|| "7bit".into())
    }

    /// Reads an entity; multiparts are cut into their parts, recursively.
    pub fn parse(bytes: &[u8]) -> Entity {
        let end = header_end(bytes);
        let header = bytes[..end].to_vec();
        let body = &bytes[end..];
        let (mime, boundary) = content_type(&header);
        if mime.starts_with("multipart/")
            && let Some(b) = boundary
            && let Some(m) = split_multipart(body, &b)
        {
            return Entity {
                header,
                body: Content::Multipart(m),
            };
        }
        Entity {
            header,
            body: Content::Leaf(body.to_vec()),
        }
    }

    fn split_multipart(body: &[u8], boundary: &str) -> Option<Multipart> {
        let open = format!("--{boundary}").into_bytes();
        let close = format!("--{boundary}--").into_bytes();
        // (line start, line end, closing?)
        let mut delims: Vec<(usize, usize, bool)> = Vec::new();
        let mut pos = 0;
        for line in lines(body) {
            let content = trim_eol(line).trim_ascii_end();
            let start = pos;
            pos += line.len();
            if content == open.as_slice() {
                delims.push((start, pos, false));
            } else if content == close.as_slice() {
                delims.push((start, pos, true));
                break;
            }
        }
        let (&(close_at, _, closing), opens) = delims.split_last()?;
        if !closing || opens.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        for (i, &(start, end, _)) in opens.iter().enumerate() {
            let next = delims[i + 1].0;
            let mut content_end = next;
            if content_end > end && body[content_end - 1] == b'\n' {
                content_end -= 1;
                if content_end > end && body[content_end - 1] == b'\r' {
                    content_end -= 1;
                }
            }
            parts.push(Piece {
                delimiter: body[start..end].to_vec(),
                entity: parse(&body[end..content_end]),
                gap: body[content_end..next].to_vec(),
            });
        }
        Some(Multipart {
            boundary: boundary.to_string(),
            preamble: body[..opens[0].0].to_vec(),
            parts,
            rest: body[close_at..].to_vec(),
        })
    }

    impl Entity {
        pub fn to_bytes(&self) -> Vec<u8> {
            let mut out = Vec::new();
            self.write_to(&mut out);
            out
        }

        fn write_to(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.header);
            match &self.body {
                Content::Leaf(b) => out.extend_from_slice(b),
                Content::Multipart(m) => {
                    out.extend_from_slice(&m.preamble);
                    for p in &m.parts {
                        out.extend_from_slice(&p.delimiter);
                        p.entity.write_to(out);
                        out.extend_from_slice(&p.gap);
                    }
                    out.extend_from_slice(&m.rest);
                }
            }
        }

        /// The leaves, depth first.
        pub fn leaves(&self) -> Vec<&Entity> {
            match &self.body {
                Content::Leaf(_) => vec![self],
                Content::Multipart(m) => m.parts.iter().flat_map(|p| p.entity.leaves()).collect(),
            }
        }

        fn for_each_leaf(&mut self, f: &mut dyn FnMut(&mut Entity)) {
            match &mut self.body {
                Content::Leaf(_) => f(self),
                Content::Multipart(m) => {
                    for p in &mut m.parts {
                        p.entity.for_each_leaf(f);
                    }
                }
            }
        }

        /// A leaf's body after transfer decoding (base64, quoted-printable); other bodies as
        /// they are.
        pub fn decoded(&self) -> Vec<u8> {
            let Content::Leaf(body) = &self.body else {
                return Vec::new();
            };
            match transfer_encoding(&self.header).as_str() {
                "base64" => base64_decode(body),
                "quoted-printable" => qp_decode(body),
                _ => body.clone(),
            }
        }

        /// True for a part sent as an attachment.
        pub fn is_attachment(&self) -> bool {
            field_value(&self.header, "Content-Disposition")
                .is_some_and(|d| d.to_ascii_lowercase().starts_with("attachment"))
        }
    }

    /// Replaces the first field of that name (folded lines included) by `Name: value`, or
    /// adds it at the end of the header section.
    pub fn set_field(header: &[u8], name: &str, value: &str) -> Vec<u8> {
        let eol = eol_of(header);
        let mut line = format!("{name}: {value}").into_bytes();
        line.extend_from_slice(eol);
        let mut out = Vec::with_capacity(header.len() + line.len());
        let mut done = false;
        let all = fields(header);
        let fields_len: usize = all.iter().map(|f| f.len()).sum();
        for f in all {
            if !done && field_name(f).eq_ignore_ascii_case(name.as_bytes()) {
                out.extend_from_slice(&line);
                done = true;
            } else {
                out.extend_from_slice(f);
            }
        }
        if !done {
            out.extend_from_slice(&line);
        }
        out.extend_from_slice(&header[fields_len..]);
        out
    }

    /// Adds header fields (each may hold folded lines written with LF) at the top and at the
    /// end of the message header, in the message's line-ending style.
    pub fn add_fields(msg: &[u8], top: &[String], bottom: &[String]) -> Vec<u8> {
        let eol = eol_of(msg);
        let render = |fields: &[String]| -> Vec<u8> {
            let mut out = Vec::new();
            for f in fields {
                for (i, l) in f.split('\n').enumerate() {
                    if i > 0 {
                        out.extend_from_slice(eol);
                    }
                    out.extend_from_slice(l.as_bytes());
                }
                out.extend_from_slice(eol);
            }
            out
        };
        let end = header_end(msg);
        let fields_len: usize = fields(&msg[..end]).iter().map(|f| f.len()).sum();
        let mut out = render(top);
        out.extend_from_slice(&msg[..fields_len]);
        out.extend(render(bottom));
        out.extend_from_slice(&msg[fields_len..]);
        out
    }

    /// Every CRLF becomes LF.
    pub fn to_lf(msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(msg.len());
        let mut i = 0;
        while i < msg.len() {
            if msg[i] == b'\r' && msg.get(i + 1) == Some(&b'\n') {
                i += 1;
                continue;
            }
            out.push(msg[i]);
            i += 1;
        }
        out
    }

    /// RFC 5322 unfolding of the message header: the line break before each continuation line
    /// is removed, its leading blank kept.
    pub fn unfold(msg: &[u8]) -> Vec<u8> {
        let end = header_end(msg);
        let fields_len: usize = fields(&msg[..end]).iter().map(|f| f.len()).sum();
        let mut out = Vec::with_capacity(msg.len());
        for line in lines(&msg[..fields_len]) {
            if matches!(line.first(), Some(b' ' | b'\t')) {
                let cut = if out.ends_with(b"\r\n") { 2 } else { 1 };
                out.truncate(out.len() - cut);
            }
            out.extend_from_slice(line);
        }
        out.extend_from_slice(&msg[fields_len..]);
        out
    }

    /// Folds every one-line header field longer than `width` by inserting line breaks before
    /// existing spaces, as servers that rewrap headers do.
    pub fn refold(msg: &[u8], width: usize) -> Vec<u8> {
        let eol = eol_of(msg);
        let end = header_end(msg);
        let all = fields(&msg[..end]);
        let fields_len: usize = all.iter().map(|f| f.len()).sum();
        let mut out = Vec::with_capacity(msg.len() + 64);
        for f in all {
            let content = trim_eol(f);
            if content.contains(&b'\n') || content.len() <= width {
                out.extend_from_slice(f);
                continue;
            }
            let colon = content.iter().position(|&c| c == b':').unwrap_or(0);
            let mut start = 0;
            let mut rest = content;
            loop {
                let limit = width.min(rest.len());
                let floor = if start == 0 { colon + 2 } else { 1 };
                let cut = (floor..limit).rev().find(|&i| rest[i] == b' ');
                match cut {
                    Some(i) if rest.len() > width => {
                        out.extend_from_slice(&rest[..i]);
                        out.extend_from_slice(eol);
                        rest = &rest[i..];
                        start += i;
                    }
                    _ => break,
                }
            }
            out.extend_from_slice(rest);
            out.extend_from_slice(&f[content.len()..]);
        }
        out.extend_from_slice(&msg[fields_len..]);
        out
    }

    /// Gives the Message-ID another domain, as servers that rewrite it do.
    pub fn rewrite_message_id(msg: &[u8], domain: &str) -> Vec<u8> {
        let end = header_end(msg);
        let Some(value) = field_value(&msg[..end], "Message-ID") else {
            return msg.to_vec();
        };
        let local = value
            .trim_start_matches('<')
            .split('@')
            .next()
            .unwrap_or_default();
        let header = set_field(&msg[..end], "Message-ID", &format!("<{local}@{domain}>"));
        [header.as_slice(), &msg[end..]].concat()
    }

    fn rewrite_leaves(msg: &[u8], f: &mut dyn FnMut(&mut Entity)) -> Vec<u8> {
        let mut e = parse(msg);
        e.for_each_leaf(f);
        e.to_bytes()
    }

    /// Re-wraps every base64 body at `width` characters per line (a multiple of 4).
    pub fn rewrap_base64(msg: &[u8], width: usize) -> Vec<u8> {
        rewrite_leaves(msg, &mut |leaf| {
            if transfer_encoding(&leaf.header) != "base64" {
                return;
            }
            let data = leaf.decoded();
            let eol = eol_of(&leaf.header);
            if let Content::Leaf(body) = &mut leaf.body {
                let ends = body.ends_with(b"\n");
                *body = base64_lines(&data, width, eol, ends);
            }
        })
    }

    /// Turns every quoted-printable body into base64 of the same decoded bytes.
    pub fn qp_to_base64(msg: &[u8]) -> Vec<u8> {
        rewrite_leaves(msg, &mut |leaf| {
            if transfer_encoding(&leaf.header) != "quoted-printable" {
                return;
            }
            let data = leaf.decoded();
            let eol = eol_of(&leaf.header);
            leaf.header = set_field(&leaf.header, "Content-Transfer-Encoding", "base64");
            if let Content::Leaf(body) = &mut leaf.body {
                let ends = body.ends_with(b"\n");
                *body = base64_lines(&data, 76, eol, ends);
            }
        })
    }

    /// Replaces every multipart boundary by a new one in Exchange's style.
    pub fn new_boundaries(msg: &[u8], rng: &mut Rng) -> Vec<u8> {
        fn walk(e: &mut Entity, rng: &mut Rng, msg: &[u8], level: usize) {
            let Content::Multipart(m) = &mut e.body else {
                return;
            };
            let new = loop {
                let b = format!(
                    "_{level:03}_{}{}EURPRD04_",
                    rng.token(16, HEX_UPPER),
                    rng.token(8, HEX_UPPER)
                );
                if !msg.windows(b.len()).any(|w| w == b.as_bytes()) {
                    break b;
                }
            };
            let old = m.boundary.clone();
            let ct = field_value(&e.header, "Content-Type").unwrap_or_default();
            e.header = set_field(&e.header, "Content-Type", &ct.replacen(&old, &new, 1));
            let swap = |line: &[u8]| -> Vec<u8> {
                let tail = &line[2 + old.len()..];
                [b"--", new.as_bytes(), tail].concat()
            };
            for p in &mut m.parts {
                p.delimiter = swap(&p.delimiter);
                walk(&mut p.entity, rng, msg, level + 1);
            }
            m.rest = swap(&m.rest);
            m.boundary = new;
        }
        let mut e = parse(msg);
        walk(&mut e, rng, msg, 0);
        e.to_bytes()
    }

    /// Removes every attachment from multipart/mixed entities (keeping at least one part).
    pub fn strip_attachments(msg: &[u8]) -> Vec<u8> {
        fn walk(e: &mut Entity) {
            let mixed = content_type(&e.header).0 == "multipart/mixed";
            let Content::Multipart(m) = &mut e.body else {
                return;
            };
            if mixed {
                let keep_first = m.parts.iter().all(|p| p.entity.is_attachment());
                let mut i = 0;
                m.parts.retain(|p| {
                    i += 1;
                    !p.entity.is_attachment() || (keep_first && i == 1)
                });
            }
            for p in &mut m.parts {
                walk(&mut p.entity);
            }
        }
        let mut e = parse(msg);
        walk(&mut e);
        e.to_bytes()
    }

    /// base64 in lines of `width` characters joined by `eol`, with `eol` after the last line
    /// when `final_eol`.
    pub fn base64_lines(data: &[u8], width: usize, eol: &[u8], final_eol: bool) -> Vec<u8> {
        let per_line = (width / 4 * 3).max(3);
        let mut out = Vec::with_capacity(data.len() * 4 / 3 + data.len() / per_line * 2 + 4);
        for (i, chunk) in data.chunks(per_line).enumerate() {
            if i > 0 {
                out.extend_from_slice(eol);
            }
            out.extend(synth::base64(chunk));
        }
        if final_eol {
            out.extend_from_slice(eol);
        }
        out
    }

    /// base64 decoding that skips line breaks and anything outside the alphabet (RFC 2045).
    pub fn base64_decode(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 3 / 4);
        let (mut acc, mut bits) = (0u32, 0u32);
        for &c in text {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => break,
                _ => continue,
            };
            acc = acc << 6 | v as u32;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        out
    }

    /// quoted-printable decoding (RFC 2045 §6.7): `=XX` escapes and soft line breaks.
    pub fn qp_decode(text: &[u8]) -> Vec<u8> {
        let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let c = text[i];
            if c != b'=' {
                out.push(c);
                i += 1;
                continue;
            }
            match (text.get(i + 1), text.get(i + 2)) {
                (Some(b'\n'), _) => i += 2,
                (Some(b'\r'), Some(b'\n')) => i += 3,
                (Some(&a), Some(&b)) if hex(a).is_some() && hex(b).is_some() => {
                    out.push(hex(a).unwrap_or(0) << 4 | hex(b).unwrap_or(0));
                    i += 3;
                }
                _ => {
                    out.push(b'=');
                    i += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    use super::mime::{self, Content};
    use super::*;

    fn all_runs() -> Vec<Migration> {
        let mut out = Vec::new();
        for account in [Account::Imap, Account::Gmail] {
            out.push(simulate(&Options::new(11, account)));
            out.push(simulate(&Options::new(11, account).lossless()));
        }
        out
    }

    /// Digest → bytes over both mailboxes.
    fn by_digest(m: &Migration) -> HashMap<String, Vec<u8>> {
        m.before
            .folders
            .iter()
            .chain(&m.after.folders)
            .flat_map(|f| &f.messages)
            .map(|s| (sha256_hex(&s.bytes), s.bytes.clone()))
            .collect()
    }

    /// The canonical form of docs/identity.md §3, written again from the text, so that the
    /// plan's "normalised" claims are checked without the engine.
    fn canonical(raw: &[u8]) -> Vec<u8> {
        const REMOVED: &[&str] = &[
            "status",
            "x-status",
            "x-keywords",
            "x-uid",
            "content-length",
            "x-gm-thrid",
            "x-gmail-labels",
            "received",
            "return-path",
            "delivered-to",
            "x-tuid",
            "x-offlineimap",
            "authentication-results",
        ];
        let content = |l: &[u8]| -> Vec<u8> {
            match l.strip_suffix(b"\n") {
                Some(x) => x.strip_suffix(b"\r").unwrap_or(x).to_vec(),
                None => l.to_vec(),
            }
        };
        let empty = |l: &[u8]| l == b"\n" || l == b"\r\n";
        let mut lines: Vec<&[u8]> = raw.split_inclusive(|&c| c == b'\n').collect();
        if raw.starts_with(b"From ") {
            lines.remove(0);
        }
        let (head, body) = match lines.iter().position(|l| empty(l)) {
            Some(i) => (&lines[..i], &lines[i + 1..]),
            None => (&lines[..], &[][..]),
        };
        let mut fields: Vec<Vec<u8>> = Vec::new();
        for l in head {
            let c = content(l);
            match fields.last_mut() {
                Some(f) if c.starts_with(b" ") || c.starts_with(b"\t") => f.extend(c),
                _ => fields.push(c),
            }
        }
        let mut out = Vec::new();
        for f in fields {
            let name = f.iter().position(|&c| c == b':').map(|i| {
                String::from_utf8_lossy(&f[..i])
                    .trim_end()
                    .to_ascii_lowercase()
            });
            let gone = name.is_some_and(|n| {
                REMOVED.contains(&n.as_str())
                    || ["x-mozilla-", "x-ms-exchange-", "arc-"]
                        .iter()
                        .any(|p| n.starts_with(p))
            });
            if !gone {
                out.extend(f);
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b"\r\n");
        let mut body = body.to_vec();
        if body.last().is_some_and(|l| empty(l)) {
            body.pop();
        }
        for l in body {
            out.extend(content(l));
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// (type, decoded bytes) of every leaf, with text line endings made LF.
    fn decoded_leaves(msg: &[u8]) -> Vec<(String, Vec<u8>)> {
        mime::parse(msg)
            .leaves()
            .into_iter()
            .map(|l| (mime::content_type(&l.header).0, mime::to_lf(&l.decoded())))
            .collect()
    }

    #[test]
    fn the_same_options_give_the_same_mailboxes() {
        for account in [Account::Imap, Account::Gmail] {
            let o = Options::new(5, account);
            assert_eq!(simulate(&o), simulate(&o));
            let other = simulate(&Options::new(6, account));
            assert_ne!(simulate(&o).before, other.before);
        }
    }

    #[test]
    fn the_plan_covers_every_kind_of_change() {
        let runs = all_runs();
        let changes: BTreeSet<Change> = runs
            .iter()
            .flat_map(|m| &m.fates)
            .map(|f| f.change)
            .collect();
        let expects: BTreeSet<Expect> = runs
            .iter()
            .flat_map(|m| &m.fates)
            .map(|f| f.expect)
            .collect();
        assert_eq!(changes, Change::ALL.into_iter().collect());
        assert_eq!(expects, Expect::ALL.into_iter().collect());
        let imap = &runs[0];
        let renames: BTreeSet<_> = imap
            .folders
            .iter()
            .map(|f| format!("{:?}", f.change))
            .collect();
        for c in [
            "Kept",
            "WellKnownName",
            "InboxPrefix",
            "Separator",
            "Case",
            "Cut",
            "Unguessable",
            "Lost",
        ] {
            assert!(renames.contains(c), "{c}");
        }
        let cut = imap
            .folders
            .iter()
            .find(|f| f.change == FolderChange::Cut)
            .unwrap();
        assert!(cut.before.chars().count() > 40);
        assert_eq!(cut.after.as_deref().unwrap().chars().count(), 40);
        assert!(cut.before.starts_with(cut.after.as_deref().unwrap()));
    }

    #[test]
    fn lossless_runs_lose_nothing_but_placements() {
        for m in all_runs().iter().filter(|m| !m.options.losses) {
            assert_eq!(m.count(Expect::Missing), 0, "{}", m.table());
            assert!(m.fates.iter().all(|f| !f.change.is_loss()));
            assert!(m.folders.iter().all(|f| f.after.is_some()));
        }
        let gmail = simulate(&Options::new(11, Account::Gmail).lossless());
        assert_eq!(gmail.count(Expect::LostPlacement), 2);
    }

    #[test]
    fn the_mailboxes_hold_what_the_plan_says() {
        for m in all_runs() {
            let mut before: BTreeMap<String, usize> = BTreeMap::new();
            let mut after: BTreeMap<String, usize> = BTreeMap::new();
            for f in &m.fates {
                if let Some(b) = &f.before_folder {
                    *before.entry(b.clone()).or_default() += 1;
                }
                if let Some(a) = &f.after_folder {
                    *after.entry(a.clone()).or_default() += 1;
                }
            }
            for f in &m.before.folders {
                assert_eq!(
                    before.get(&f.name()).copied().unwrap_or(0),
                    f.messages.len()
                );
            }
            for f in &m.after.folders {
                assert_eq!(after.get(&f.name()).copied().unwrap_or(0), f.messages.len());
            }
            assert_eq!(before.values().sum::<usize>(), m.before.count());
            assert_eq!(after.values().sum::<usize>(), m.after.count());
            // Every recorded digest is the digest of stored bytes.
            let bytes = by_digest(&m);
            for f in &m.fates {
                assert!(bytes.contains_key(&f.digest), "{f:?}");
                if let Some(a) = &f.after_digest {
                    assert!(bytes.contains_key(a), "{f:?}");
                }
            }
        }
    }

    #[test]
    fn before_has_the_variety_of_a_real_mailbox() {
        let m = simulate(&Options::new(11, Account::Imap));
        for name in ["INBOX", "Sent", "Drafts", "Trash", "Archive/2023"] {
            assert!(m.before.folder(name).is_some(), "{name}");
        }
        assert!(m.before.folders.iter().any(|f| f.name().len() > 40));
        let all: Vec<&[u8]> = m
            .before
            .folders
            .iter()
            .flat_map(|f| f.messages.iter().map(|s| s.bytes.as_slice()))
            .collect();
        let header = |b: &[u8]| b[..mime::header_end(b)].to_vec();
        let without_id = all
            .iter()
            .filter(|b| mime::field_value(&header(b), "Message-ID").is_none())
            .count();
        assert!(without_id >= 4, "{without_id}");
        let has = |b: &[u8], cte: &str, attachment: bool| {
            mime::parse(b).leaves().iter().any(|l| {
                mime::transfer_encoding(&l.header) == cte && (!attachment || l.is_attachment())
            })
        };
        assert!(all.iter().filter(|b| has(b, "base64", true)).count() >= 8);
        assert!(
            all.iter()
                .filter(|b| has(b, "quoted-printable", false))
                .count()
                >= 2
        );
        // Duplicates within one folder and across folders.
        let mut seen: HashMap<&[u8], Vec<String>> = HashMap::new();
        for f in &m.before.folders {
            for s in &f.messages {
                seen.entry(&s.bytes).or_default().push(f.name());
            }
        }
        assert!(seen.values().any(|v| v.len() > 1 && v[0] == v[1]));
        assert!(seen.values().any(|v| v.len() > 1 && v[0] != v[1]));
    }

    #[test]
    fn every_message_reads_back_exactly() {
        for m in all_runs() {
            for f in m.before.folders.iter().chain(&m.after.folders) {
                for s in &f.messages {
                    assert_eq!(mime::parse(&s.bytes).to_bytes(), s.bytes);
                }
            }
        }
    }

    #[test]
    fn each_planted_change_is_of_the_kind_it_claims() {
        for m in all_runs() {
            let bytes = by_digest(&m);
            for f in &m.fates {
                let before = &bytes[&f.digest];
                let after = f.after_digest.as_ref().map(|d| &bytes[d]);
                match f.expect {
                    Expect::Identical | Expect::Moved | Expect::Duplicate => {
                        assert_eq!(after, Some(before), "{f:?}");
                    }
                    Expect::Normalised => {
                        let after = after.unwrap();
                        assert_ne!(after, before, "{f:?}");
                        assert_eq!(canonical(after), canonical(before), "{f:?}");
                    }
                    Expect::Reencoded | Expect::Altered => {
                        let after = after.unwrap();
                        assert_ne!(canonical(after), canonical(before), "{f:?}");
                    }
                    Expect::Missing | Expect::LostPlacement => assert!(after.is_none()),
                    Expect::New => assert!(f.date > m.options.migrated_at),
                }
            }
        }
    }

    #[test]
    fn reencoded_messages_decode_to_the_same_content() {
        let mut checked = BTreeSet::new();
        for m in all_runs() {
            let bytes = by_digest(&m);
            for f in &m.fates {
                let Some(after) = f.after_digest.as_ref().map(|d| &bytes[d]) else {
                    continue;
                };
                let before = &bytes[&f.digest];
                let (b, a) = (decoded_leaves(before), decoded_leaves(after));
                match f.change {
                    Change::Base64Rewrapped | Change::QpToBase64 | Change::NewBoundaries => {
                        assert_eq!(a, b, "{f:?}");
                        let lines = |m: &[u8]| -> BTreeSet<Vec<u8>> {
                            m.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect()
                        };
                        assert_ne!(lines(after), lines(before), "{f:?}");
                        checked.insert(f.change);
                    }
                    Change::AttachmentStripped => {
                        let kept: Vec<_> = mime::parse(before)
                            .leaves()
                            .into_iter()
                            .filter(|l| !l.is_attachment())
                            .map(|l| (mime::content_type(&l.header).0, mime::to_lf(&l.decoded())))
                            .collect();
                        assert_eq!(a, kept, "{f:?}");
                        assert!(a.len() < b.len());
                        checked.insert(f.change);
                    }
                    _ => {}
                }
            }
        }
        assert_eq!(checked.len(), 4, "{checked:?}");
    }

    #[test]
    fn rewrites_do_what_they_say() {
        let mut rng = Rng::new(1);
        let spec = synth::Spec {
            attachments: vec![4000],
            ..synth::Spec::basic(&mut rng, 1_700_000_000, "Hello")
        };
        let msg = synth::build(&mut rng, &spec).bytes;
        let b64_lines = |m: &[u8]| -> BTreeSet<usize> {
            let e = mime::parse(m);
            let leaf = e.leaves().into_iter().find(|l| l.is_attachment()).unwrap();
            let Content::Leaf(body) = &leaf.body else {
                unreachable!()
            };
            body.split(|&c| c == b'\n')
                .map(<[u8]>::len)
                .filter(|&n| n > 0)
                .collect()
        };
        assert_eq!(b64_lines(&msg).iter().max(), Some(&76));
        assert_eq!(
            b64_lines(&mime::rewrap_base64(&msg, 64)).iter().max(),
            Some(&64)
        );
        let qp = "Grüße = ok\n".repeat(10);
        let msg = synth::assemble(
            &[b"Subject: x".to_vec()],
            &Part {
                headers: vec![
                    b"Content-Type: text/plain; charset=UTF-8".to_vec(),
                    b"Content-Transfer-Encoding: quoted-printable".to_vec(),
                ],
                body: synth::quoted_printable(qp.as_bytes()),
            },
        );
        let b64 = mime::qp_to_base64(&msg);
        let e = mime::parse(&b64);
        assert_eq!(mime::transfer_encoding(&e.header), "base64");
        assert_eq!(e.decoded(), qp.as_bytes());
        let id = b"Message-ID: <abc.1@Example.com>\nSubject: x\n\nbody\n";
        assert_eq!(
            mime::rewrite_message_id(id, "other.example"),
            b"Message-ID: <abc.1@other.example>\nSubject: x\n\nbody\n"
        );
        let folded = b"To: a@example.com,\n\tb@example.com\nSubject: x\n\nbody\n";
        assert_eq!(
            mime::unfold(folded),
            b"To: a@example.com,\tb@example.com\nSubject: x\n\nbody\n"
        );
        let long = b"X-Long: aaaa bbbb cccc dddd eeee ffff\n\nbody\n";
        assert_eq!(
            mime::refold(long, 20),
            b"X-Long: aaaa bbbb\n cccc dddd eeee ffff\n\nbody\n"
        );
        assert_eq!(
            mime::add_fields(b"A: 1\r\n\r\nb\r\n", &["T: 0".into()], &["Z: 2\n 3".into()]),
            b"T: 0\r\nA: 1\r\nZ: 2\r\n 3\r\n\r\nb\r\n"
        );
    }

    #[test]
    fn codecs_round_trip() {
        let mut rng = Rng::new(9);
        for n in [0usize, 1, 2, 3, 57, 58, 1000] {
            let mut data = vec![0u8; n];
            rng.fill(&mut data);
            assert_eq!(mime::base64_decode(&synth::base64_wrapped(&data, 76)), data);
            assert_eq!(
                mime::base64_decode(&mime::base64_lines(&data, 64, b"\r\n", true)),
                data
            );
            assert_eq!(mime::qp_decode(&synth::quoted_printable(&data)), data);
        }
        assert_eq!(
            normalise_message_id(" <A.b@Mail.Example> (x)"),
            Some("A.b@mail.example".into())
        );
        assert_eq!(normalise_message_id("<>"), None);
    }

    #[test]
    fn writes_maildir_and_mbox_trees() {
        let m = simulate(&Options::new(11, Account::Imap));
        let dir = tempfile::tempdir().unwrap();
        m.before.write_maildir(&dir.path().join("md")).unwrap();
        m.after.write_maildir(&dir.path().join("after")).unwrap();
        m.before.write_mbox_tree(&dir.path().join("mb")).unwrap();
        let count = |p: &Path| fs::read_dir(p.join("cur")).unwrap().count();
        assert_eq!(
            count(&dir.path().join("md")),
            m.before.folder("INBOX").unwrap().messages.len()
        );
        assert_eq!(
            count(&dir.path().join("md/.Archive.2023")),
            m.before.folder("Archive/2023").unwrap().messages.len()
        );
        assert_eq!(
            count(&dir.path().join("after/Projects.Alpha")),
            m.after.folder("Projects.Alpha").unwrap().messages.len()
        );
        assert!(
            dir.path()
                .join("after/.INBOX.Archive.2023/maildirfolder")
                .is_file()
        );
        let inbox = fs::read(dir.path().join("mb/INBOX")).unwrap();
        let froms = inbox
            .split(|&c| c == b'\n')
            .filter(|l| l.starts_with(b"From "))
            .count();
        assert_eq!(froms, m.before.folder("INBOX").unwrap().messages.len());
        assert!(dir.path().join("mb/Archive.sbd/2023").is_file());
    }
}
