//! Realistic synthetic RFC 5322 messages, deterministic for a given [`Rng`].
//!
//! Readers and hashers are only as good as the mail they were tested on, and real mailboxes
//! cannot be shipped, so this builds mail that looks like what clients and servers really store:
//!
//! - headers: Received chains (with TLS details), DKIM and ARC signatures,
//!   Authentication-Results, spam scores, list headers, References; RFC 2047 encoded words
//!   (B and Q) in display names and subjects, and subjects in legacy charsets;
//! - bodies: text/plain (7bit, quoted-printable or 8bit UTF-8), multipart/alternative with
//!   HTML, newsletters with big HTML, multipart/mixed with base64 attachments (RFC 2231 file
//!   names), multipart/related with an inline image nested inside multipart/alternative, and
//!   forwarded messages as message/rfc822 parts;
//! - charsets: ISO-8859-1, windows-1252, ISO-8859-2, KOI8-R (raw 8bit), ISO-2022-JP (7bit
//!   escapes), Shift_JIS and GB2312 (base64); the sample texts are stored pre-encoded so no
//!   encoding library is needed;
//! - damage seen in the wild: raw 8-bit header bytes, missing Message-ID, malformed and
//!   duplicated header fields, a line of a megabyte, and body lines starting with `From `,
//!   `>From ` and `>>From ` (which mbox writers must quote).
//!
//! [`Spec`] says what a message holds; [`build`] turns it into bytes (LF line endings; use
//! [`to_crlf`] for CRLF). [`realistic`] draws a spec with the proportions of a real mailbox, for
//! the benchmark corpus; fixtures start from [`Spec::basic`] and switch features on one by one.
//! Only reserved names are used (`example.*` domains, documentation IP ranges).

use crate::rng::{ALNUM, HEX_LOWER, HEX_UPPER, Rng};

/// Filler vocabulary. It has no "from": a capitalised sentence start could then begin a line
/// with `From `, and such lines must appear only where a spec asks for them, so that fixtures
/// written without mbox quoting stay exact.
const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "this",
    "are",
    "or",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "there",
    "one",
    "all",
    "we",
    "can",
    "their",
    "has",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "about",
    "into",
    "than",
    "them",
    "these",
    "some",
    "could",
    "time",
    "only",
    "other",
    "new",
    "also",
    "people",
    "may",
    "over",
    "any",
    "first",
    "after",
    "most",
    "just",
    "where",
    "made",
    "like",
    "many",
    "through",
    "before",
    "back",
    "between",
    "because",
    "work",
    "should",
    "each",
    "well",
    "those",
    "much",
    "being",
    "same",
    "under",
    "while",
    "both",
    "during",
    "without",
    "found",
    "might",
    "group",
    "until",
    "report",
    "meeting",
    "project",
    "release",
    "build",
    "server",
    "client",
    "message",
    "mailbox",
    "archive",
    "folder",
    "export",
    "import",
    "backup",
    "restore",
    "invoice",
    "contract",
    "schedule",
    "deadline",
    "review",
    "draft",
    "proposal",
    "budget",
    "quarter",
    "customer",
    "support",
    "ticket",
    "update",
    "patch",
    "version",
    "branch",
    "merge",
    "commit",
    "test",
    "failure",
    "success",
    "deploy",
    "network",
    "storage",
    "migration",
    "please",
    "thanks",
    "regards",
    "attached",
    "document",
    "agenda",
    "minutes",
    "follow",
    "question",
    "answer",
    "issue",
    "problem",
    "solution",
    "performance",
    "memory",
    "latency",
    "throughput",
    "benchmark",
    "cache",
    "index",
    "search",
    "filter",
    "thread",
    "conversation",
    "calendar",
    "invitation",
    "tomorrow",
    "yesterday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "office",
    "remote",
    "team",
    "manager",
    "engineer",
    "design",
    "approval",
    "signature",
    "password",
    "account",
    "security",
    "notice",
    "newsletter",
    "subscription",
    "offer",
    "discount",
    "price",
    "order",
    "shipping",
    "delivery",
    "payment",
    "receipt",
];

const FIRST: &[&str] = &[
    "Alice",
    "Bob",
    "Carol",
    "David",
    "Erin",
    "Frank",
    "Grace",
    "Heidi",
    "Ivan",
    "Judy",
    "Mallory",
    "Niaj",
    "Olivia",
    "Peggy",
    "Rupert",
    "Sybil",
    "Trent",
    "Victor",
    "Walter",
    "Yasmin",
    "José",
    "Zoë",
    "Jürgen",
    "François",
    "Søren",
    "Łukasz",
    "Ольга",
    "Дмитрий",
    "田中",
    "佐藤",
    "王",
    "Ángel",
    "Chloé",
    "Björn",
];
const LAST: &[&str] = &[
    "Smith",
    "Jones",
    "Miller",
    "Garcia",
    "Brown",
    "Martin",
    "Bernard",
    "Dubois",
    "Müller",
    "Schröder",
    "Nowak",
    "Kowalski",
    "Иванова",
    "Петров",
    "太郎",
    "花子",
    "伟",
    "Núñez",
    "O'Brien",
    "Svensson",
    "Rossi",
    "Novák",
    "Andersen",
    "Lefèvre",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.net",
    "example.org",
    "mail.example",
    "corp.example.com",
    "univ.example.edu",
    "shop.example",
    "news.example.net",
    "lists.example.org",
    "partner.test",
    "bank.example",
    "cloud.example.net",
];
const MAILERS: &[&str] = &[
    "Mozilla Thunderbird 115.10.1",
    "Apple Mail (2.3774.500.171.1.1)",
    "Microsoft Outlook 16.0",
    "Mutt/2.2.9 (2022-11-12)",
    "Roundcube Webmail/1.6.6",
    "Evolution 3.46.4",
    "K-9 Mail for Android",
    "aerc 0.17.0",
];
const UTF8_SNIPPETS: &[&str] = &[
    "naïve café",
    "Grüße",
    "日本語のテキスト",
    "Ελληνικά",
    "emoji 🎉✅",
    "Привет",
    "crème brûlée",
    "€ 1 234,56",
    "Þorsteinn",
    "ñandú",
];
const ATTACH_NAMES: &[&str] = &[
    "report",
    "invoice",
    "scan",
    "photo",
    "slides",
    "budget",
    "Résumé",
    "contract",
    "export",
    "données",
    "議事録",
    "backup",
    "screenshot",
    "minutes",
];
/// (MIME type, file extension, compressible text?)
const ATTACH_TYPES: &[(&str, &str, bool)] = &[
    ("application/pdf", "pdf", false),
    ("image/jpeg", "jpg", false),
    ("image/png", "png", false),
    ("application/zip", "zip", false),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
        false,
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
        false,
    ),
    ("text/csv", "csv", true),
    ("text/plain", "log", true),
    ("application/octet-stream", "bin", false),
];

/// The mailbox owner: recipient of incoming mail, sender of outgoing mail.
pub const OWNER: (&str, &str) = ("Sam Example", "me@example.org");

/// A correspondent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub addr: String,
}

impl Person {
    pub fn new(name: &str, addr: &str) -> Person {
        Person {
            name: name.into(),
            addr: addr.into(),
        }
    }

    pub fn owner() -> Person {
        Person::new(OWNER.0, OWNER.1)
    }

    /// A random person; about half the names are non-ASCII.
    pub fn random(rng: &mut Rng) -> Person {
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let ascii =
            |s: &str| -> String { s.to_lowercase().chars().flat_map(fold_letter).collect() };
        let mut a = ascii(first);
        if a.is_empty() {
            a = format!("user{}", rng.range(1, 999));
        }
        let mut b = ascii(last);
        if b.is_empty() {
            b = format!("x{}", rng.range(1, 99));
        }
        Person {
            name: format!("{first} {last}"),
            addr: format!("{a}.{b}@{}", rng.pick(DOMAINS)),
        }
    }

    pub fn domain(&self) -> &str {
        self.addr.rsplit('@').next().unwrap_or("example.org")
    }
}

/// A lower-case letter as ASCII for address local parts ("müller" → "muller"); other
/// characters are dropped.
fn fold_letter(c: char) -> Option<char> {
    let folded = match c {
        'a'..='z' => c,
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ł' => 'l',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        'š' => 's',
        'ž' => 'z',
        _ => return None,
    };
    Some(folded)
}

/// A legacy (non-UTF-8) charset with a pre-encoded sample text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    Iso8859_1,
    Windows1252,
    Iso8859_2,
    Koi8R,
    Iso2022Jp,
    ShiftJis,
    Gb2312,
}

/// How a part's body is transfer-encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cte {
    SevenBit,
    EightBit,
    QuotedPrintable,
    Base64,
}

impl Cte {
    pub fn name(self) -> &'static str {
        match self {
            Cte::SevenBit => "7bit",
            Cte::EightBit => "8bit",
            Cte::QuotedPrintable => "quoted-printable",
            Cte::Base64 => "base64",
        }
    }
}

impl Charset {
    pub const ALL: [Charset; 7] = [
        Charset::Iso8859_1,
        Charset::Windows1252,
        Charset::Iso8859_2,
        Charset::Koi8R,
        Charset::Iso2022Jp,
        Charset::ShiftJis,
        Charset::Gb2312,
    ];

    /// The MIME charset name as mailers write it.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Iso8859_1 => "ISO-8859-1",
            Charset::Windows1252 => "windows-1252",
            Charset::Iso8859_2 => "ISO-8859-2",
            Charset::Koi8R => "KOI8-R",
            Charset::Iso2022Jp => "ISO-2022-JP",
            Charset::ShiftJis => "Shift_JIS",
            Charset::Gb2312 => "GB2312",
        }
    }

    /// The transfer encoding typical mailers use for this charset.
    pub fn transfer_encoding(self) -> Cte {
        match self {
            Charset::Iso8859_1 | Charset::Windows1252 | Charset::Iso8859_2 => Cte::QuotedPrintable,
            Charset::Koi8R => Cte::EightBit,
            Charset::Iso2022Jp => Cte::SevenBit,
            Charset::ShiftJis | Charset::Gb2312 => Cte::Base64,
        }
    }

    /// A sentence in this charset's bytes (encoded once from Unicode text).
    pub fn body_sample(self) -> &'static [u8] {
        match self {
            // "Grüße aus München! Déjà vu, señor: ..."
            Charset::Iso8859_1 => b"Gr\xfc\xdfe aus M\xfcnchen! D\xe9j\xe0 vu, se\xf1or: la r\xe9union est report\xe9e \xe0 jeudi. \xc7a va tr\xe8s bien, merci.",
            // "“Smart quotes” – en dash … ellipsis; the café’s invoice is 120 € (naïve façade)."
            Charset::Windows1252 => b"\x93Smart quotes\x94 \x96 en dash \x85 ellipsis; the caf\xe9\x92s invoice is 120 \x80 (na\xefve fa\xe7ade).",
            // "Zażółć gęślą jaźń. Spotkanie przełożone na środę. ..."
            Charset::Iso8859_2 => b"Za\xbf\xf3\xb3\xe6 g\xea\xb6l\xb1 ja\xbc\xf1. Spotkanie prze\xb3o\xbfone na \xb6rod\xea. P\xf8\xedli\xb9 \xbelu\xbbou\xe8k\xfd k\xf9\xf2 \xfap\xecl \xef\xe1belsk\xe9 \xf3dy.",
            // "Привет! Встреча перенесена на четверг. ..."
            Charset::Koi8R => b"\xf0\xd2\xc9\xd7\xc5\xd4! \xf7\xd3\xd4\xd2\xc5\xde\xc1 \xd0\xc5\xd2\xc5\xce\xc5\xd3\xc5\xce\xc1 \xce\xc1 \xde\xc5\xd4\xd7\xc5\xd2\xc7. \xf0\xcf\xd6\xc1\xcc\xd5\xca\xd3\xd4\xc1, \xd0\xd2\xc9\xdb\xcc\xc9\xd4\xc5 \xcf\xd4\xde\xa3\xd4 \xc4\xcf \xd0\xd1\xd4\xce\xc9\xc3\xd9. \xf3\xd0\xc1\xd3\xc9\xc2\xcf.",
            // "お世話になっております。会議の資料を添付いたします。..."
            Charset::Iso2022Jp => b"\x1b$B$*@$OC$K$J$C$F$*$j$^$9!#2q5D$N;qNA$rE:IU$$$?$7$^$9!#$43NG'$N$[$I!\x22$h$m$7$/$*4j$$$$$?$7$^$9!#\x1b(B",
            // "いつもお世話になっております。来週の打ち合わせの件でご連絡いたしました。"
            Charset::ShiftJis => b"\x82\xa2\x82\xc2\x82\xe0\x82\xa8\x90\xa2\x98b\x82\xc9\x82\xc8\x82\xc1\x82\xc4\x82\xa8\x82\xe8\x82\xdc\x82\xb7\x81B\x97\x88\x8fT\x82\xcc\x91\xc5\x82\xbf\x8d\x87\x82\xed\x82\xb9\x82\xcc\x8c\x8f\x82\xc5\x82\xb2\x98A\x97\x8d\x82\xa2\x82\xbd\x82\xb5\x82\xdc\x82\xb5\x82\xbd\x81B",
            // "您好，附件是本季度的报告，请查收。如有问题请随时联系我。谢谢！"
            Charset::Gb2312 => b"\xc4\xfa\xba\xc3\xa3\xac\xb8\xbd\xbc\xfe\xca\xc7\xb1\xbe\xbc\xbe\xb6\xc8\xb5\xc4\xb1\xa8\xb8\xe6\xa3\xac\xc7\xeb\xb2\xe9\xca\xd5\xa1\xa3\xc8\xe7\xd3\xd0\xce\xca\xcc\xe2\xc7\xeb\xcb\xe6\xca\xb1\xc1\xaa\xcf\xb5\xce\xd2\xa1\xa3\xd0\xbb\xd0\xbb\xa3\xa1",
        }
    }

    /// A short subject in this charset's bytes, small enough for one encoded word.
    pub fn subject_sample(self) -> &'static [u8] {
        match self {
            Charset::Iso8859_1 => b"R\xe9union report\xe9e \xe0 jeudi",
            Charset::Windows1252 => b"Facture \x93caf\xe9\x94 \x96 120 \x80",
            Charset::Iso8859_2 => b"Spotkanie w \xb6rod\xea",
            Charset::Koi8R => b"\xf7\xd3\xd4\xd2\xc5\xde\xc1 \xd7 \xde\xc5\xd4\xd7\xc5\xd2\xc7",
            Charset::Iso2022Jp => b"\x1b$B2q5D$N;qNA\x1b(B",
            Charset::ShiftJis => b"\x91\xc5\x82\xbf\x8d\x87\x82\xed\x82\xb9\x82\xcc\x8c\x8f",
            Charset::Gb2312 => b"\xb1\xbe\xbc\xbe\xb6\xc8\xb5\xc4\xb1\xa8\xb8\xe6",
        }
    }
}

/// What the Subject field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// ASCII text, folded if long.
    Plain(String),
    /// Unicode text, written as RFC 2047 UTF-8 encoded words.
    Encoded(String),
    /// The charset's subject sample as one encoded word in that charset.
    Charset(Charset),
    /// Text written as raw ISO-8859-1 bytes with no encoding (a broken mailer).
    Raw8bit(String),
}

/// What the Message-ID field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageId {
    /// A fresh random one in a common style.
    Generate,
    /// No Message-ID field at all.
    Missing,
    /// Exactly this value, brackets included (e.g. one reused from another message).
    Given(String),
}

/// The shape of the main (non-attachment) content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Plain,
    /// multipart/alternative: the text and an HTML rendering of it.
    Alternative,
    /// multipart/alternative whose HTML is padded to about this many bytes (newsletters).
    Newsletter {
        html_bytes: usize,
    },
    /// One text/plain part in a legacy charset: the sample repeated `repeats` times.
    Charset {
        charset: Charset,
        repeats: usize,
    },
}

/// Everything that decides a message's bytes, apart from the random filler text.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Unix seconds, UTC.
    pub date: i64,
    /// The sender's zone offset in minutes, written in the Date field.
    pub zone_minutes: i32,
    pub from: Person,
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    pub subject: Subject,
    /// "Re: ", "Fwd: ", "[list] " and such, written before the subject.
    pub subject_prefix: String,
    pub message_id: MessageId,
    /// Adds Return-Path, Delivered-To, the Received chain and authentication results.
    pub incoming: bool,
    pub received_hops: usize,
    pub arc: bool,
    pub dkim: bool,
    /// List-Id and List-Unsubscribe of this list id (e.g. "rust-users.lists.example.org").
    pub list_id: Option<String>,
    /// In-Reply-To and References.
    pub reply: bool,
    pub body: Body,
    /// About how many characters of plain text to write.
    pub text_len: usize,
    /// Puts the HTML and an inline PNG into multipart/related inside the alternative.
    pub inline_image: bool,
    /// Encoded sizes in bytes of base64 attachments; any attachment makes it multipart/mixed.
    pub attachments: Vec<usize>,
    /// A message attached as message/rfc822.
    pub forward: Option<Box<Spec>>,
    /// Body lines starting with `From ` (one right after an empty line), `>From ` and `>>From `.
    pub from_lines: bool,
    /// Text that opens the body (e.g. a line starting with `From `).
    pub body_prefix: Option<String>,
    /// Text that closes the body, after which the message ends (no further line break is
    /// added when this does not end with one).
    pub body_suffix: Option<String>,
    /// Adds one body line of this many bytes (0: none); the text part is then sent as 8bit.
    pub huge_line: usize,
    /// Adds malformed fields: a line without a colon, a space before a colon, an empty value,
    /// an overlong unfolded value, and a second Subject and Date.
    pub malformed: bool,
    /// Header lines written first, before anything else (store headers such as
    /// X-Mozilla-Status, Status, Content-Length, or X-Apple-* fields).
    pub top_headers: Vec<String>,
}

impl Spec {
    /// A small incoming text/plain message to the owner, with a short Received chain.
    pub fn basic(rng: &mut Rng, date: i64, subject: &str) -> Spec {
        Spec {
            date,
            zone_minutes: *rng.pick(&[0, 60, 120, -300, 330, 540]),
            from: Person::random(rng),
            to: vec![Person::owner()],
            cc: Vec::new(),
            subject: Subject::Plain(subject.into()),
            subject_prefix: String::new(),
            message_id: MessageId::Generate,
            incoming: true,
            received_hops: 2,
            arc: false,
            dkim: false,
            list_id: None,
            reply: false,
            body: Body::Plain,
            text_len: 400,
            inline_image: false,
            attachments: Vec::new(),
            forward: None,
            from_lines: false,
            body_prefix: None,
            body_suffix: None,
            huge_line: 0,
            malformed: false,
            top_headers: Vec::new(),
        }
    }
}

/// What kind of folder a realistic message is drawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    Incoming,
    Sent,
    Drafts,
    List,
}

/// The parameters of [`realistic`].
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub kind: FolderKind,
    /// Dates are drawn uniformly in `start..=end` (Unix seconds).
    pub start: i64,
    pub end: i64,
    /// Fraction of messages with one 10–20 MiB attachment.
    pub big_frac: f64,
    /// Fraction of messages with 100 KiB – 2 MiB of attachments.
    pub attach_frac: f64,
}

/// A message built by [`build`].
#[derive(Debug, Clone)]
pub struct Built {
    /// The message, LF line endings.
    pub bytes: Vec<u8>,
    /// The Message-ID written, brackets included; `None` when there is none.
    pub message_id: Option<String>,
    /// The envelope sender, for mbox From_ lines.
    pub sender: String,
    /// Unix seconds.
    pub date: i64,
}

/// Draws a spec with the proportions of a real mailbox: ~45% multipart/alternative, ~10%
/// newsletters among incoming mail, ~3% legacy charsets, ~15% encoded subjects, attachments per
/// `profile`, ~2% body `From ` lines, ~1% forwarded messages, rare raw 8-bit subjects and
/// malformed headers. The Message-ID is drawn here (as [`MessageId::Given`]) so a caller can
/// reuse it for another message.
pub fn realistic(rng: &mut Rng, profile: &Profile) -> Spec {
    let date = rng.range(profile.start as u64, profile.end as u64) as i64;
    let outgoing = matches!(profile.kind, FolderKind::Sent | FolderKind::Drafts);
    let is_list = profile.kind == FolderKind::List;
    let newsletter = !outgoing && !is_list && rng.chance(0.10);
    let mut spec = Spec::basic(rng, date, "");
    spec.zone_minutes = *rng.pick(&[0, 60, 120, -300, -240, -420, 330, 540, 480, 60, 120, 0]);
    if outgoing {
        spec.from = Person::owner();
    }
    let n_rcpt = *rng.pick(&[1usize, 1, 1, 1, 2, 3, 5]);
    let mut rcpts: Vec<Person> = (0..n_rcpt).map(|_| Person::random(rng)).collect();
    if !outgoing {
        rcpts[0] = Person::owner();
    }
    spec.cc = if rcpts.len() > 2 {
        rcpts.split_off(2)
    } else {
        Vec::new()
    };
    spec.to = rcpts;
    spec.message_id = MessageId::Given(message_id(rng, spec.from.domain()));
    spec.incoming = !outgoing;
    spec.received_hops = rng.range_usize(2, 6);
    spec.arc = rng.chance(0.35);
    spec.dkim = rng.chance(0.75);
    if is_list {
        spec.list_id = Some("rust-users.lists.example.org".into());
    } else if newsletter {
        spec.list_id = Some("news.example.net".into());
    }
    let subject = sentence(rng, 3, 10);
    let subject = subject.trim_end_matches(['.', '?', '!']).to_string();
    let mut prefix = rng
        .pick(&["", "", "", "Re: ", "RE: ", "Fwd: ", "AW: "])
        .to_string();
    if is_list {
        prefix = format!("[rust-users] {prefix}");
    }
    let mut charset = None;
    if rng.chance(0.03) {
        let cs = *rng.pick(&Charset::ALL);
        charset = Some(cs);
        spec.subject = Subject::Charset(cs);
    } else if rng.chance(0.15) {
        spec.subject = Subject::Encoded(format!("{subject} {}", rng.pick(UTF8_SNIPPETS)));
    } else if rng.chance(0.002) {
        spec.subject = Subject::Raw8bit(format!("{subject} Grüße"));
    } else {
        spec.subject = Subject::Plain(subject);
    }
    let lower = prefix.to_ascii_lowercase();
    spec.reply = (lower.starts_with("re") || lower.starts_with("aw") || lower.starts_with("[rust"))
        && rng.chance(0.8);
    spec.subject_prefix = prefix;
    spec.text_len = rng.lognormal(1100.0, 0.9).clamp(80.0, 60_000.0) as usize;
    spec.from_lines = rng.chance(0.02);
    spec.body = if let Some(cs) = charset {
        Body::Charset {
            charset: cs,
            repeats: rng.range_usize(2, 20),
        }
    } else if newsletter {
        Body::Newsletter {
            html_bytes: rng.range_usize(15, 80) * 1024,
        }
    } else if rng.chance(0.45) {
        Body::Alternative
    } else {
        Body::Plain
    };
    spec.inline_image = spec.body == Body::Alternative && rng.chance(0.03);
    let u = rng.f64();
    if u < profile.big_frac {
        spec.attachments = vec![rng.range_usize(10 << 20, 20 << 20)];
    } else if u < profile.big_frac + profile.attach_frac {
        let total = rng
            .lognormal(230.0 * 1024.0, 0.8)
            .clamp(100.0 * 1024.0, 2.0 * 1024.0 * 1024.0);
        let k = *rng.pick(&[1usize, 1, 1, 2, 3]);
        spec.attachments = vec![(total / k as f64) as usize; k];
    }
    if rng.chance(0.01) {
        let earlier = date - rng.range(3600, 86_400 * 30) as i64;
        let mut inner = Spec::basic(rng, earlier, "");
        inner.subject =
            Subject::Plain(sentence(rng, 3, 8).trim_end_matches(['.', '?', '!']).into());
        inner.text_len = rng.range_usize(200, 3000);
        spec.forward = Some(Box::new(inner));
        if spec.subject_prefix.is_empty() {
            spec.subject_prefix = "Fwd: ".into();
        }
    }
    spec.malformed = rng.chance(0.001);
    spec
}

/// A Message-ID in one of the common styles (Gmail, hex with a counter, UUID-like).
pub fn message_id(rng: &mut Rng, domain: &str) -> String {
    match rng.below(3) {
        0 => format!("<CA{}@mail.gmail.com>", rng.token(40, ALNUM)),
        1 => format!(
            "<{}.{}@{domain}>",
            rng.token(16, HEX_LOWER),
            rng.range(1, 9_999_999)
        ),
        _ => format!(
            "<{}-{}-{}@{domain}>",
            rng.token(8, HEX_UPPER),
            rng.token(4, HEX_UPPER),
            rng.token(12, HEX_UPPER)
        ),
    }
}

/// One MIME entity: header lines (each may contain folded continuation lines) and a body.
#[derive(Debug, Clone, Default)]
pub struct Part {
    pub headers: Vec<Vec<u8>>,
    pub body: Vec<u8>,
}

impl Part {
    /// Header lines, an empty line, the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 512);
        self.write_to(&mut out);
        out
    }

    pub fn write_to(&self, out: &mut Vec<u8>) {
        for h in &self.headers {
            out.extend_from_slice(h);
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
    }
}

/// The parts of a multipart entity, kept so that callers can rewrite single parts (as Apple
/// Mail does when it stores attachments outside a `.partial.emlx`).
#[derive(Debug, Clone)]
pub struct Multipart {
    pub subtype: String,
    pub boundary: String,
    pub preamble: bool,
    pub parts: Vec<Part>,
}

impl Multipart {
    /// Layout: optional preamble line, then for each part `--boundary`, the part, a line break
    /// (the one before the next delimiter, which belongs to it), and the closing delimiter.
    pub fn to_part(&self) -> Part {
        let mut body = Vec::new();
        if self.preamble {
            body.extend_from_slice(b"This is a multi-part message in MIME format.\n\n");
        }
        for p in &self.parts {
            body.extend_from_slice(b"--");
            body.extend_from_slice(self.boundary.as_bytes());
            body.push(b'\n');
            p.write_to(&mut body);
            body.push(b'\n');
        }
        body.extend_from_slice(b"--");
        body.extend_from_slice(self.boundary.as_bytes());
        body.extend_from_slice(b"--\n");
        Part {
            headers: vec![
                format!(
                    "Content-Type: multipart/{};\n boundary=\"{}\"",
                    self.subtype, self.boundary
                )
                .into_bytes(),
            ],
            body,
        }
    }
}

/// Builds the message a spec describes.
pub fn build(rng: &mut Rng, spec: &Spec) -> Built {
    let (head, content) = build_parts(rng, spec);
    let bytes = assemble(&head, &content);
    let message_id = match &spec.message_id {
        MessageId::Missing => None,
        MessageId::Given(m) => Some(m.clone()),
        MessageId::Generate => head.iter().find_map(|h| {
            h.strip_prefix(b"Message-ID: ")
                .map(|v| String::from_utf8_lossy(v).into_owned())
        }),
    };
    Built {
        bytes,
        message_id,
        sender: spec.from.addr.clone(),
        date: spec.date,
    }
}

/// A message from its own header lines and its content entity: the header lines, the
/// content's MIME header lines, an empty line, the content body.
pub fn assemble(head: &[Vec<u8>], content: &Part) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(content.body.len() + 4096);
    for h in head.iter().chain(content.headers.iter()) {
        bytes.extend_from_slice(h);
        bytes.push(b'\n');
    }
    bytes.push(b'\n');
    bytes.extend_from_slice(&content.body);
    bytes
}

/// Like [`build`], but returns the message's own header lines and its content entity
/// separately (the content's headers are the MIME fields: Content-Type and such), so callers
/// can take the structure apart. Concatenating the header lines, the content headers, an empty
/// line and the content body gives exactly the bytes of [`build`].
pub fn build_parts(rng: &mut Rng, spec: &Spec) -> (Vec<Vec<u8>>, Part) {
    let head = headers(rng, spec);
    let content = content(rng, spec);
    (head, content)
}

fn headers(rng: &mut Rng, spec: &Spec) -> Vec<Vec<u8>> {
    let mut h: Vec<Vec<u8>> = spec
        .top_headers
        .iter()
        .map(|s| s.clone().into_bytes())
        .collect();
    let s = |v: String| v.into_bytes();
    let sdom = spec.from.domain().to_string();
    if spec.incoming {
        let rp = if spec.list_id.as_deref() == Some("news.example.net") {
            format!("bounces+{}@news.example.net", rng.token(20, ALNUM))
        } else {
            spec.from.addr.clone()
        };
        h.push(s(format!("Return-Path: <{rp}>")));
        h.push(s(format!("Delivered-To: {}", OWNER.1)));
        h.extend(
            received_chain(rng, spec.date, &sdom, spec.received_hops)
                .into_iter()
                .map(s),
        );
        if spec.arc {
            h.extend(arc_set(rng, &sdom).into_iter().map(s));
        }
        if spec.dkim {
            h.push(s(dkim(rng, &sdom, spec.list_id.is_some())));
        }
        h.push(s(fold(
            "Authentication-Results",
            &format!(
                "mx1.example.org; dkim=pass (2048-bit key; unprotected) header.d={sdom} header.i=@{sdom} header.b={}; spf=pass (mx1.example.org: domain of {} designates 192.0.2.{} as permitted sender) smtp.mailfrom={}; dmarc=pass (p=reject dis=none) header.from={sdom}",
                rng.token(8, ALNUM),
                spec.from.addr,
                rng.range(1, 254),
                spec.from.addr
            ),
        )));
        let score = rng.below(80) as f64 / 10.0 - 5.0;
        h.push(s(format!(
            "X-Spam-Status: No, score={score:.1} required=5.0 tests=BAYES_00,DKIM_SIGNED,DKIM_VALID,SPF_PASS autolearn=ham version=3.4.6"
        )));
    }
    match &spec.message_id {
        MessageId::Missing => {}
        MessageId::Given(m) => h.push(s(format!("Message-ID: {m}"))),
        MessageId::Generate => {
            let m = message_id(rng, &sdom);
            h.push(s(format!("Message-ID: {m}")));
        }
    }
    let mut date = rfc5322_date(spec.date, spec.zone_minutes);
    if rng.chance(0.1) {
        date.push_str(match spec.zone_minutes {
            0 => " (UTC)",
            60 => " (CET)",
            _ => "",
        });
    }
    h.push(s(format!("Date: {date}")));
    h.push(s(format!("From: {}", format_addr(rng, &spec.from))));
    let to: Vec<String> = spec.to.iter().map(|p| format_addr(rng, p)).collect();
    h.push(s(fold("To", &to.join(", "))));
    if !spec.cc.is_empty() {
        let cc: Vec<String> = spec.cc.iter().map(|p| format_addr(rng, p)).collect();
        h.push(s(fold("Cc", &cc.join(", "))));
    }
    if spec.malformed {
        h.push(s("This header line has no colon at all".into()));
        h.push(s(
            "X-Spaced-Name : value after a space before the colon".into()
        ));
        h.push(s("X-Empty:".into()));
        h.push(s(format!(
            "X-Overlong: {}",
            (0..150)
                .map(|i| WORDS[i % WORDS.len()])
                .collect::<Vec<_>>()
                .join("-")
        )));
        h.push(s(format!(
            "Date: {}",
            rfc5322_date(spec.date + 3600, spec.zone_minutes)
        )));
        h.push(s("Subject: a second, conflicting subject".into()));
    }
    let prefix = &spec.subject_prefix;
    match &spec.subject {
        Subject::Plain(t) => h.push(s(fold("Subject", &format!("{prefix}{t}")))),
        Subject::Encoded(t) => h.push(s(format!("Subject: {prefix}{}", encode_words(rng, t)))),
        Subject::Charset(cs) => {
            let word = encoded_word(cs.name(), cs.subject_sample(), rng.chance(0.5));
            h.push(s(format!("Subject: {prefix}{word}")));
        }
        Subject::Raw8bit(t) => {
            let mut line = format!("Subject: {prefix}").into_bytes();
            line.extend(latin1(t));
            h.push(line);
        }
    }
    if spec.reply {
        let n = rng.range_usize(1, 8);
        let refs: Vec<String> = (0..n)
            .map(|_| format!("<{}@{}>", rng.token(20, ALNUM), rng.pick(DOMAINS)))
            .collect();
        h.push(s(format!("In-Reply-To: {}", refs[n - 1])));
        h.push(s(fold("References", &refs.join(" "))));
    }
    if let Some(lid) = &spec.list_id {
        let is_news = lid == "news.example.net";
        h.push(s(format!(
            "List-Id: {} <{lid}>",
            if is_news {
                "Example News"
            } else {
                "Rust users"
            }
        )));
        h.push(s(fold(
            "List-Unsubscribe",
            &format!(
                "<mailto:unsubscribe+{}@{lid}>, <https://{lid}/unsubscribe/{}>",
                rng.token(24, ALNUM),
                rng.token(40, ALNUM)
            ),
        )));
        h.push(s("List-Unsubscribe-Post: List-Unsubscribe=One-Click".into()));
        h.push(s(if is_news {
            "Precedence: bulk"
        } else {
            "Precedence: list"
        }
        .into()));
    }
    let agent = if rng.chance(0.5) {
        "User-Agent"
    } else {
        "X-Mailer"
    };
    h.push(s(format!("{agent}: {}", rng.pick(MAILERS))));
    h.push(s("MIME-Version: 1.0".into()));
    h
}

fn content(rng: &mut Rng, spec: &Spec) -> Part {
    let mut text = String::new();
    if let Some(p) = &spec.body_prefix {
        text.push_str(p);
    }
    text.push_str(&text_body(rng, spec.text_len, spec.from_lines));
    let huge = if spec.huge_line > 0 {
        let mut line = String::with_capacity(spec.huge_line + 1);
        while line.len() < spec.huge_line {
            line.push_str(rng.pick::<&str>(WORDS));
            line.push(' ');
        }
        line.truncate(spec.huge_line);
        Some(line)
    } else {
        None
    };
    if let Some(line) = &huge {
        text.push_str("\nThe log line below was pasted whole:\n");
        text.push_str(line);
        text.push('\n');
    }
    if let Some(sfx) = &spec.body_suffix {
        text.push_str(sfx);
    }
    let mut main = match &spec.body {
        Body::Plain if huge.is_some() => Part {
            headers: vec![
                b"Content-Type: text/plain; charset=UTF-8".to_vec(),
                b"Content-Transfer-Encoding: 8bit".to_vec(),
            ],
            body: text.into_bytes(),
        },
        Body::Plain => text_part(rng, &text, "plain"),
        Body::Alternative | Body::Newsletter { .. } => {
            let html_pad = match spec.body {
                Body::Newsletter { html_bytes } => html_bytes,
                _ => 0,
            };
            let plain = text_part(rng, &text, "plain");
            let html_text = html_from_text(rng, &text, html_pad);
            let html = text_part(rng, &html_text, "html");
            let second = if spec.inline_image {
                let cid = format!("part1.{}@{}", rng.token(16, ALNUM), spec.from.domain());
                let mut html = html;
                html.body = inject_img(&html.body, &cid);
                let png_size = rng.range_usize(2_000, 40_000);
                let png = png_bytes(rng, png_size);
                let image = Part {
                    headers: vec![
                        b"Content-Type: image/png; name=\"image001.png\"".to_vec(),
                        b"Content-Disposition: inline; filename=\"image001.png\"".to_vec(),
                        format!("Content-ID: <{cid}>").into_bytes(),
                        b"Content-Transfer-Encoding: base64".to_vec(),
                    ],
                    body: base64_wrapped(&png, 76),
                };
                Multipart {
                    subtype: "related".into(),
                    boundary: boundary(rng),
                    preamble: false,
                    parts: vec![html, image],
                }
                .to_part()
            } else {
                html
            };
            Multipart {
                subtype: "alternative".into(),
                boundary: boundary(rng),
                preamble: false,
                parts: vec![plain, second],
            }
            .to_part()
        }
        Body::Charset { charset, repeats } => charset_part(*charset, *repeats),
    };
    if !spec.attachments.is_empty() || spec.forward.is_some() {
        let mut parts = vec![main];
        for &size in &spec.attachments {
            parts.push(attachment(rng, size));
        }
        if let Some(inner) = &spec.forward {
            let inner = build(rng, inner);
            parts.push(Part {
                headers: vec![
                    b"Content-Type: message/rfc822".to_vec(),
                    b"Content-Disposition: attachment; filename=\"forwarded message.eml\"".to_vec(),
                ],
                body: inner.bytes,
            });
        }
        main = Multipart {
            subtype: "mixed".into(),
            boundary: boundary(rng),
            preamble: true,
            parts,
        }
        .to_part();
    }
    main
}

/// A text part: 7bit when ASCII, else UTF-8 as quoted-printable or 8bit.
pub fn text_part(rng: &mut Rng, text: &str, subtype: &str) -> Part {
    let (ct, cte, body) = if text.is_ascii() {
        let ct = if rng.chance(0.5) {
            format!("Content-Type: text/{subtype}; charset=\"us-ascii\"")
        } else {
            format!("Content-Type: text/{subtype}; charset=UTF-8")
        };
        (ct, Cte::SevenBit, text.as_bytes().to_vec())
    } else if rng.chance(0.5) {
        (
            format!("Content-Type: text/{subtype}; charset=UTF-8"),
            Cte::QuotedPrintable,
            quoted_printable(text.as_bytes()),
        )
    } else {
        (
            format!("Content-Type: text/{subtype}; charset=utf-8"),
            Cte::EightBit,
            text.as_bytes().to_vec(),
        )
    };
    Part {
        headers: vec![
            ct.into_bytes(),
            format!("Content-Transfer-Encoding: {}", cte.name()).into_bytes(),
        ],
        body,
    }
}

/// A text/plain part in a legacy charset, transfer-encoded the way mailers do for it.
pub fn charset_part(cs: Charset, repeats: usize) -> Part {
    let mut raw = Vec::new();
    for _ in 0..repeats.max(1) {
        raw.extend_from_slice(cs.body_sample());
        raw.push(b'\n');
    }
    let cte = cs.transfer_encoding();
    let body = match cte {
        Cte::QuotedPrintable => quoted_printable(&raw),
        Cte::Base64 => {
            let mut b = base64_wrapped(&raw, 76);
            b.push(b'\n');
            b
        }
        Cte::SevenBit | Cte::EightBit => raw,
    };
    Part {
        headers: vec![
            format!("Content-Type: text/plain; charset={}", cs.name()).into_bytes(),
            format!("Content-Transfer-Encoding: {}", cte.name()).into_bytes(),
        ],
        body,
    }
}

/// A base64 attachment of about `encoded_size` bytes as written, of a random type.
pub fn attachment(rng: &mut Rng, encoded_size: usize) -> Part {
    let &(mime, ext, textlike) = rng.pick(ATTACH_TYPES);
    let raw_size = (encoded_size * 57 / 77).max(16);
    let data = if textlike {
        text_attachment(rng, ext, raw_size)
    } else {
        binary_data(rng, ext, raw_size)
    };
    let name = format!("{}-{}.{ext}", rng.pick(ATTACH_NAMES), rng.range(1, 999));
    attachment_part(rng, mime, &name, &data)
}

/// A base64 attachment part with this type, file name and content. Non-ASCII names are
/// written the way real clients do: RFC 2231 `filename*` plus an RFC 2047 `name`.
pub fn attachment_part(rng: &mut Rng, mime: &str, name: &str, data: &[u8]) -> Part {
    let (ct, disp) = if name.is_ascii() {
        (
            format!("Content-Type: {mime}; name=\"{name}\""),
            format!("Content-Disposition: attachment; filename=\"{name}\""),
        )
    } else {
        let pct: String = name
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        (
            format!(
                "Content-Type: {mime};\n name=\"{}\"",
                encode_words(rng, name).replace("\n ", "")
            ),
            format!("Content-Disposition: attachment;\n filename*=UTF-8''{pct}"),
        )
    };
    Part {
        headers: vec![
            ct.into_bytes(),
            disp.into_bytes(),
            b"Content-Transfer-Encoding: base64".to_vec(),
        ],
        body: base64_wrapped(data, 76),
    }
}

/// Random bytes behind the file type's magic number (incompressible, like real media).
pub fn binary_data(rng: &mut Rng, ext: &str, size: usize) -> Vec<u8> {
    let magic: &[u8] = match ext {
        "pdf" => b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        "jpg" => b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        "png" => b"\x89PNG\r\n\x1a\n",
        "zip" | "docx" | "xlsx" => b"PK\x03\x04",
        _ => b"",
    };
    let mut data = vec![0u8; size.max(magic.len())];
    data[..magic.len()].copy_from_slice(magic);
    rng.fill(&mut data[magic.len()..]);
    data
}

fn png_bytes(rng: &mut Rng, size: usize) -> Vec<u8> {
    binary_data(rng, "png", size)
}

/// Compressible CSV or log lines.
fn text_attachment(rng: &mut Rng, ext: &str, size: usize) -> Vec<u8> {
    let mut out = String::with_capacity(size + 128);
    while out.len() < size {
        if ext == "csv" {
            out.push_str(&format!(
                "{},{},{},{}.{:02},{}\n",
                rng.range(1, 1_000_000),
                rng.pick(WORDS),
                rng.pick(WORDS),
                rng.below(10_000),
                rng.below(100),
                rng.token(8, ALNUM)
            ));
        } else {
            out.push_str(&format!(
                "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z INFO {}: {}\n",
                rng.range(1, 12),
                rng.range(1, 28),
                rng.below(24),
                rng.below(60),
                rng.below(60),
                rng.below(1000),
                rng.pick(WORDS),
                sentence(rng, 4, 12)
            ));
        }
    }
    out.truncate(size);
    out.into_bytes()
}

/// A MIME boundary in one of the styles big mailers use.
pub fn boundary(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!(
            "----=_Part_{}_{}.{}",
            rng.range(1, 99_999),
            rng.range(1, 1_000_000_000),
            rng.range(1_000_000_000_000, 9_999_999_999_999)
        ),
        1 => format!("000000000000{}", rng.token(16, HEX_LOWER)),
        2 => format!(
            "Apple-Mail=_{}-{}-{}-{}-{}",
            rng.token(8, HEX_UPPER),
            rng.token(4, HEX_UPPER),
            rng.token(4, HEX_UPPER),
            rng.token(4, HEX_UPPER),
            rng.token(12, HEX_UPPER)
        ),
        _ => format!("_=_boundary_{}", rng.token(20, ALNUM)),
    }
}

fn sentence(rng: &mut Rng, lo: usize, hi: usize) -> String {
    let n = rng.range_usize(lo, hi);
    let mut s = String::new();
    for i in 0..n {
        let w = *rng.pick(WORDS);
        if i == 0 {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                s.extend(f.to_uppercase());
                s.push_str(c.as_str());
            }
        } else {
            s.push(' ');
            s.push_str(w);
        }
    }
    s.push(*rng.pick(&['.', '.', '.', '?', '!']));
    s
}

/// Paragraphs of about `target` characters, wrapped at 72 columns.
fn paragraphs(rng: &mut Rng, target: usize) -> String {
    let mut out = String::with_capacity(target + 200);
    while out.len() < target {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        let mut para = String::new();
        for i in 0..rng.range_usize(2, 6) {
            if i > 0 {
                para.push(' ');
            }
            para.push_str(&sentence(rng, 6, 18));
        }
        if rng.chance(0.08) {
            para.push(' ');
            para.push_str(rng.pick::<&str>(UTF8_SNIPPETS));
        }
        let mut col = 0;
        for (i, w) in para.split(' ').enumerate() {
            let wl = w.chars().count();
            if i > 0 {
                if col + 1 + wl > 72 {
                    out.push('\n');
                    col = 0;
                } else {
                    out.push(' ');
                    col += 1;
                }
            }
            out.push_str(w);
            col += wl;
        }
    }
    out
}

/// A plain text body: paragraphs, maybe a quoted reply and a signature; ends with a newline.
fn text_body(rng: &mut Rng, target: usize, from_lines: bool) -> String {
    let mut body = paragraphs(rng, target);
    if from_lines {
        // The first `From ` line follows an empty line: the case that breaks unquoted mbox.
        body.push_str("\n\nFrom the minutes of the last meeting:\n");
        body.push_str(">From the previous thread, see above.\n");
        body.push_str(">>From an older message, quoted twice.\n");
        body.push_str("From time to time this line is not after an empty one.\n");
        body.push_str(&paragraphs(rng, 200));
    }
    if rng.chance(0.3) {
        let n = rng.range_usize(200, 3000);
        let q = paragraphs(rng, n);
        body.push_str("\n\nOn a previous day, someone wrote:\n");
        for (i, l) in q.split('\n').enumerate() {
            if i > 0 {
                body.push('\n');
            }
            if l.is_empty() {
                body.push('>');
            } else {
                body.push_str("> ");
                body.push_str(l);
            }
        }
    }
    if rng.chance(0.4) {
        body.push_str(&format!(
            "\n\n-- \n{}\n{}",
            rng.pick(FIRST),
            rng.pick(&[
                "Sent from my phone",
                "Example Corp., Engineering",
                "https://www.example.com/"
            ])
        ));
    }
    body.push('\n');
    body
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An HTML rendering of the text; newsletters are padded with product rows to `pad` bytes.
fn html_from_text(rng: &mut Rng, text: &str, pad: usize) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n<style>body{font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222}p{margin:0 0 12px}</style></head>\n<body>\n",
    );
    for p in text.split("\n\n").filter(|p| !p.is_empty()) {
        out.push_str("<p>");
        out.push_str(&html_escape(p).replace('\n', "<br>\n"));
        out.push_str("</p>\n");
    }
    if pad > 0 {
        out.push_str("<div class=\"products\">\n");
        while out.len() < pad {
            out.push_str(&format!(
                "<table width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\"><tr><td class=\"item\" style=\"padding:8px;border-bottom:1px solid #eee\"><a href=\"https://shop.example/p/{}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign={}\">{}</a></td><td style=\"text-align:right\">{}.{:02} &euro;</td></tr></table>\n",
                rng.token(10, ALNUM),
                rng.token(8, ALNUM),
                html_escape(&sentence(rng, 3, 8)),
                rng.range(1, 999),
                rng.below(100)
            ));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn inject_img(html: &[u8], cid: &str) -> Vec<u8> {
    let tag = format!("<p><img src=\"cid:{cid}\" alt=\"logo\"></p>\n");
    let end = b"</body>";
    match html.windows(end.len()).rposition(|w| w == end) {
        Some(i) => {
            let mut out = html[..i].to_vec();
            out.extend_from_slice(tag.as_bytes());
            out.extend_from_slice(&html[i..]);
            out
        }
        None => html.to_vec(),
    }
}

/// `Name <addr>`, `"Name" <addr>`, or encoded words for non-ASCII names.
pub fn format_addr(rng: &mut Rng, p: &Person) -> String {
    if p.name.is_ascii() {
        if p.name.contains('\'') || rng.chance(0.3) {
            format!("\"{}\" <{}>", p.name, p.addr)
        } else {
            format!("{} <{}>", p.name, p.addr)
        }
    } else {
        format!("{} <{}>", encode_words(rng, &p.name), p.addr)
    }
}

/// RFC 2047: UTF-8 text as encoded words (B or Q, chosen at random), each at most 75
/// characters, split between characters, separated by folding whitespace.
pub fn encode_words(rng: &mut Rng, text: &str) -> String {
    let b = rng.chance(0.5);
    let overhead = "=?UTF-8?B??=".len();
    let enc_len = |raw: &[u8]| -> usize {
        if b {
            overhead + raw.len().div_ceil(3) * 4
        } else {
            overhead
                + raw
                    .iter()
                    .map(|&c| if q_plain(c) { 1 } else { 3 })
                    .sum::<usize>()
        }
    };
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4];
    for ch in text.chars() {
        let cb = ch.encode_utf8(&mut buf).as_bytes();
        let mut cand = cur.clone();
        cand.extend_from_slice(cb);
        if enc_len(&cand) > 75 && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
            cur.extend_from_slice(cb);
        } else {
            cur = cand;
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
        .iter()
        .map(|w| encoded_word("UTF-8", w, b))
        .collect::<Vec<_>>()
        .join("\n ")
}

fn q_plain(c: u8) -> bool {
    c == b' ' || c.is_ascii_alphanumeric()
}

/// One RFC 2047 encoded word of raw bytes in `charset`, B (base64) or Q encoding.
pub fn encoded_word(charset: &str, raw: &[u8], b: bool) -> String {
    if b {
        format!(
            "=?{charset}?B?{}?=",
            String::from_utf8(base64(raw)).unwrap_or_default()
        )
    } else {
        let q: String = raw
            .iter()
            .map(|&c| match c {
                b' ' => "_".to_string(),
                c if q_plain(c) => (c as char).to_string(),
                c => format!("={c:02X}"),
            })
            .collect();
        format!("=?{charset}?Q?{q}?=")
    }
}

/// Folds `Name: value` at spaces so lines stay within 76 columns where possible.
pub fn fold(name: &str, value: &str) -> String {
    let mut out = format!("{name}:");
    let mut col = out.len();
    for (i, tok) in value.split(' ').enumerate() {
        if i > 0 && col + 1 + tok.len() > 76 {
            out.push_str("\n\t");
            col = 8;
        } else {
            out.push(' ');
            col += 1;
        }
        out.push_str(tok);
        col += tok.len();
    }
    out
}

fn received_chain(rng: &mut Rng, date: i64, sdom: &str, hops: usize) -> Vec<String> {
    let hosts = [
        format!("mx{}.example.org", rng.range(1, 4)),
        format!("relay{}.{sdom}", rng.range(1, 9)),
        format!("mail-{}.outbound.example.net", rng.token(6, HEX_LOWER)),
        format!("smtp.{sdom}"),
        format!("filter{}.example.org", rng.range(1, 3)),
    ];
    let mut t = date;
    let mut out = Vec::with_capacity(hops);
    for h in 0..hops {
        t -= rng.below(20) as i64;
        let from = &hosts[(h + 1) % hosts.len()];
        let by = &hosts[h % hosts.len()];
        let ip = if h % 2 == 1 {
            format!("192.0.2.{}", rng.range(1, 254))
        } else {
            format!("198.51.100.{}", rng.range(1, 254))
        };
        let tls = if rng.chance(0.5) {
            "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256) "
        } else {
            ""
        };
        out.push(fold(
            "Received",
            &format!(
                "from {from} ({from} [{ip}]) by {by} (Postfix) {tls}with ESMTPS id {} for <{}>; {} (UTC)",
                rng.token(12, HEX_UPPER),
                OWNER.1,
                rfc5322_date(t, 0)
            ),
        ));
    }
    out
}

fn chunked(name: &str, val: &str) -> String {
    let mut out = format!("{name}: ");
    for (i, chunk) in val.as_bytes().chunks(70).enumerate() {
        if i > 0 {
            out.push_str("\n\t");
        }
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

fn random_b64(rng: &mut Rng, n: usize) -> String {
    let mut raw = vec![0u8; n];
    rng.fill(&mut raw);
    String::from_utf8(base64(&raw)).unwrap_or_default()
}

fn dkim(rng: &mut Rng, dom: &str, heavy: bool) -> String {
    let hdrs = if heavy {
        "From:To:Subject:Date:Message-ID:MIME-Version:Content-Type:List-Id:List-Unsubscribe:Reply-To:Cc:In-Reply-To:References"
    } else {
        "From:To:Subject:Date:Message-ID:MIME-Version:Content-Type"
    };
    let val = format!(
        "v=1; a=rsa-sha256; c=relaxed/relaxed; d={dom}; s=sel{}; t={}; h={hdrs}; bh={}; b={}",
        rng.range(1, 9),
        rng.range(1_500_000_000, 1_750_000_000),
        random_b64(rng, 32),
        random_b64(rng, if heavy { 256 } else { 128 })
    );
    chunked("DKIM-Signature", &val)
}

fn arc_set(rng: &mut Rng, dom: &str) -> Vec<String> {
    [
        "ARC-Seal",
        "ARC-Message-Signature",
        "ARC-Authentication-Results",
    ]
    .iter()
    .map(|name| {
        let val = format!(
            "i=1; a=rsa-sha256; d={dom}; s=arc-{}; cv=none; b={}",
            rng.range(2019, 2025),
            random_b64(rng, 256)
        );
        chunked(name, &val)
    })
    .collect()
}

/// Text as ISO-8859-1 bytes (characters outside it become `?`).
pub fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| {
            if (c as u32) < 256 {
                c as u32 as u8
            } else {
                b'?'
            }
        })
        .collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, no line breaks.
pub fn base64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    b64_into(data, &mut out);
    out
}

fn b64_into(data: &[u8], out: &mut Vec<u8>) {
    let mut chunks = data.chunks_exact(3);
    for c in &mut chunks {
        let n = (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32;
        out.extend_from_slice(&[
            B64[(n >> 18) as usize & 63],
            B64[(n >> 12) as usize & 63],
            B64[(n >> 6) as usize & 63],
            B64[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = (a as u32) << 16;
            out.extend_from_slice(&[
                B64[(n >> 18) as usize & 63],
                B64[(n >> 12) as usize & 63],
                b'=',
                b'=',
            ]);
        }
        [a, b] => {
            let n = (a as u32) << 16 | (b as u32) << 8;
            out.extend_from_slice(&[
                B64[(n >> 18) as usize & 63],
                B64[(n >> 12) as usize & 63],
                B64[(n >> 6) as usize & 63],
                b'=',
            ]);
        }
        _ => {}
    }
}

/// Base64 in lines of `width` characters (a multiple of 4) joined by LF, with no line break
/// after the last line: the line break before the next MIME delimiter belongs to the delimiter.
pub fn base64_wrapped(data: &[u8], width: usize) -> Vec<u8> {
    let per_line = width / 4 * 3;
    let lines = data.len().div_ceil(per_line.max(1));
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4 + lines);
    for (i, chunk) in data.chunks(per_line).enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        b64_into(chunk, &mut out);
    }
    out
}

/// Quoted-printable (RFC 2045) with LF line breaks and soft breaks at 76 columns.
pub fn quoted_printable(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 11 / 10 + 16);
    for (li, line) in data.split(|&b| b == b'\n').enumerate() {
        if li > 0 {
            out.push(b'\n');
        }
        let mut col = 0;
        for (i, &c) in line.iter().enumerate() {
            let last = i + 1 == line.len();
            let literal =
                (c == b' ' || c == b'\t') && !last || (33..=126).contains(&c) && c != b'=';
            let w = if literal { 1 } else { 3 };
            if col + w > 75 {
                out.extend_from_slice(b"=\n");
                col = 0;
            }
            if literal {
                out.push(c);
            } else {
                out.extend_from_slice(format!("={c:02X}").as_bytes());
            }
            col += w;
        }
    }
    out
}

/// The same message with CRLF line endings (bare LF becomes CRLF; existing CRLF is kept).
pub fn to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 30);
    let mut prev = 0u8;
    for &c in data {
        if c == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(c);
        prev = c;
    }
    out
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix seconds of a UTC date and time.
pub fn unix_time(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    days_from_civil(y, mo, d) * 86_400 + (h * 3600 + mi * 60 + s) as i64
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

struct Tm {
    wday: &'static str,
    year: i64,
    mon: &'static str,
    day: u32,
    h: i64,
    m: i64,
    s: i64,
}

fn tm(t: i64) -> Tm {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (year, mon, day) = civil_from_days(days);
    Tm {
        wday: DAYS[days.rem_euclid(7) as usize],
        year,
        mon: MONTHS[mon as usize - 1],
        day,
        h: secs / 3600,
        m: secs / 60 % 60,
        s: secs % 60,
    }
}

/// `Tue, 05 Mar 2024 14:03:09 +0100`: the instant `t` shown in the zone `zone_minutes`.
pub fn rfc5322_date(t: i64, zone_minutes: i32) -> String {
    let l = tm(t + zone_minutes as i64 * 60);
    let sign = if zone_minutes < 0 { '-' } else { '+' };
    let z = zone_minutes.unsigned_abs();
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        l.wday,
        l.day,
        l.mon,
        l.year,
        l.h,
        l.m,
        l.s,
        z / 60,
        z % 60
    )
}

/// `Tue Mar  5 13:03:09 2024` (UTC, C `asctime` layout), as in mbox From_ lines.
pub fn asctime(t: i64) -> String {
    let l = tm(t);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        l.wday, l.mon, l.day, l.h, l.m, l.s, l.year
    )
}

/// IMAP modified UTF-7 (RFC 3501 §5.1.3) of one folder name segment, as Dovecot names
/// Maildir++ folders on disk.
pub fn mutf7(name: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        let b = String::from_utf8(base64(&bytes)).unwrap_or_default();
        out.push('&');
        out.push_str(&b.trim_end_matches('=').replace('/', ","));
        out.push('-');
        pending.clear();
    };
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut pending, &mut out);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let t = unix_time(1996, 1, 3, 1, 5, 34);
        assert_eq!(t, 820_631_134);
        assert_eq!(asctime(t), "Wed Jan  3 01:05:34 1996");
        assert_eq!(rfc5322_date(t, 60), "Wed, 03 Jan 1996 02:05:34 +0100");
        assert_eq!(rfc5322_date(t, -300), "Tue, 02 Jan 1996 20:05:34 -0500");
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn encodings() {
        assert_eq!(base64(b"hello!?"), b"aGVsbG8hPw==");
        assert_eq!(
            base64_wrapped(&[0u8; 60], 76)
                .iter()
                .filter(|&&c| c == b'\n')
                .count(),
            1
        );
        assert_eq!(
            quoted_printable("café = ok \nx".as_bytes()),
            b"caf=C3=A9 =3D ok=20\nx"
        );
        assert_eq!(to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert_eq!(mutf7("Privé"), "Priv&AOk-");
        assert_eq!(mutf7("A&B"), "A&-B");
        let mut rng = Rng::new(3);
        for w in encode_words(&mut rng, &"Zoë Ångström ".repeat(10)).split("\n ") {
            assert!(w.len() <= 75, "{w}");
        }
    }

    #[test]
    fn built_messages_have_headers_and_body() {
        let mut rng = Rng::new(7);
        for i in 0..200 {
            let profile = Profile {
                kind: [FolderKind::Incoming, FolderKind::Sent, FolderKind::List][i % 3],
                start: unix_time(2020, 1, 1, 0, 0, 0),
                end: unix_time(2024, 12, 31, 0, 0, 0),
                big_frac: 0.0,
                attach_frac: 0.2,
            };
            let spec = realistic(&mut rng, &profile);
            let m = build(&mut rng, &spec);
            assert!(m.bytes.windows(2).any(|w| w == b"\n\n"));
            assert!(m.bytes.ends_with(b"\n"));
            assert!(m.bytes.starts_with(b"Return-Path: ") || m.bytes.starts_with(b"Message-ID: "));
            assert_eq!(
                m.message_id.is_some(),
                spec.message_id != MessageId::Missing
            );
        }
    }
}
