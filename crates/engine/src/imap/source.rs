//! Reading an IMAP account: LIST with roles and STATUS counts, then per folder EXAMINE, an
//! index of UIDs and sizes, and `UID FETCH … BODY.PEEK[]` in batches over several connections.
//! Messages reach the sink in UID order whatever connection fetched them; a dropped connection
//! is reopened and the batch resumes with the UIDs not yet received, so nothing is lost or
//! yielded twice. Nothing here changes the mailbox: EXAMINE is read-only and BODY.PEEK leaves
//! `\Seen` alone.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_imap::types::NameAttribute;
use crossbeam_channel::{Receiver, Sender, unbounded};
use futures_util::TryStreamExt;
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::conn::{Connector, ImapSession, Lost, server_words, silence};
use super::fetch::{Done, Fetched, UidFetch};
use super::tuner::Tuner;
use super::{Access, ImapSpec, connect, internal_date, utf7};
use crate::source::{
    Entry, Folder, FolderNotes, Gmail, RawMessage, Role, Sink, Source, SourceDescription,
};
use crate::{Error, Result};

/// A batch holds at most this many messages…
const BATCH_COUNT: usize = 200;
/// …and at most this many bytes by the server's sizes (one message may exceed it alone).
const BATCH_BYTES: u64 = 32 << 20;
/// Fetched bytes waiting for the reader beyond the batch it is on.
const AHEAD_BYTES: u64 = 32 << 20;
/// How often a connection is reopened, or a throttled command retried, before giving up.
const RETRIES: u32 = 8;

/// An IMAP account as a [`Source`].
pub struct ImapSource {
    rt: Runtime,
    connector: Arc<Connector>,
    tuner: Tuner,
    /// Logged-in sessions not in use.
    idle: Vec<ImapSession>,
    caps: Vec<String>,
    notes: Vec<String>,
}

impl ImapSource {
    /// Connects and logs in, so a wrong host, certificate or password is reported at once.
    pub fn open(spec: &ImapSpec, access: &Access) -> Result<Self> {
        let (rt, connector, mut session) = connect(spec, access)?;
        let caps = rt
            .block_on(super::conn::session_capabilities(&mut session))
            .map_err(|e| lost(&connector, e))?;
        Ok(Self {
            rt,
            connector,
            tuner: access.tuner(),
            idle: vec![session],
            caps,
            notes: Vec::new(),
        })
    }

    fn has(&self, cap: &str) -> bool {
        self.caps.iter().any(|c| c == cap)
    }

    fn session(&mut self) -> Result<ImapSession> {
        match self.idle.pop() {
            Some(s) => Ok(s),
            None => self.rt.block_on(self.connector.open()),
        }
    }
}

fn lost(connector: &Connector, e: Lost) -> Error {
    Error::Connection(format!(
        "{}: the connection failed: {}",
        connector.spec.location(),
        e.0
    ))
}

impl Source for ImapSource {
    fn describe(&self) -> SourceDescription {
        SourceDescription {
            kind: "imap".into(),
            location: self.connector.spec.location(),
        }
    }

    fn folders(&mut self) -> Result<Vec<Folder>> {
        let mut session = self.session()?;
        let pattern = if self.has("SPECIAL-USE") && self.has("LIST-EXTENDED") {
            "\"*\" RETURN (SPECIAL-USE)"
        } else {
            "\"*\""
        };
        let connector = self.connector.clone();
        let fail = |what: &str, e: async_imap::error::Error| {
            Error::Connection(format!(
                "{}: {what} failed: {}",
                connector.spec.location(),
                server_words(&e)
            ))
        };
        let mut listed: Vec<(String, Option<String>, Option<Role>)> = Vec::new();
        self.rt.block_on(async {
            let names: Vec<_> = session
                .list(Some(""), Some(pattern))
                .await
                .map_err(|e| fail("LIST", e))?
                .try_collect()
                .await
                .map_err(|e| fail("LIST", e))?;
            for name in names {
                let attrs = name.attributes();
                let unselectable = attrs.iter().any(|a| match a {
                    NameAttribute::NoSelect => true,
                    NameAttribute::Extension(x) => x.eq_ignore_ascii_case("\\NonExistent"),
                    _ => false,
                });
                if unselectable {
                    continue;
                }
                let role = attrs.iter().find_map(|a| match a {
                    NameAttribute::All => Some(Role::All),
                    NameAttribute::Archive => Some(Role::Archive),
                    NameAttribute::Drafts => Some(Role::Drafts),
                    NameAttribute::Flagged => Some(Role::Flagged),
                    NameAttribute::Junk => Some(Role::Junk),
                    NameAttribute::Sent => Some(Role::Sent),
                    NameAttribute::Trash => Some(Role::Trash),
                    _ => None,
                });
                let wire = name.name().to_string();
                let role = if wire.eq_ignore_ascii_case("INBOX") {
                    Some(Role::Inbox)
                } else {
                    role
                };
                listed.push((wire, name.delimiter().map(str::to_string), role));
            }
            Ok::<_, Error>(())
        })?;
        let mut folders = Vec::with_capacity(listed.len());
        let mut refused = Vec::new();
        for (wire, delimiter, role) in listed {
            // A folder whose count the server will not give is still listed and read.
            let claimed = match self.rt.block_on(session.status(&wire, "(MESSAGES)")) {
                Ok(status) => Some(u64::from(status.exists)),
                Err(e @ (async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_))) => {
                    refused.push(format!("{wire}: {}", server_words(&e)));
                    None
                }
                Err(e) => return Err(fail(&format!("STATUS of {wire}"), e)),
            };
            let segments: Vec<&str> = match delimiter.as_deref() {
                Some(d) if !d.is_empty() => wire.split(d).collect(),
                _ => vec![wire.as_str()],
            };
            let path = segments
                .iter()
                .map(|s| utf7::decode(s).unwrap_or_else(|| s.to_string()))
                .collect();
            folders.push(Folder {
                path,
                role,
                claimed,
                bytes_hint: None,
                locator: wire,
            });
        }
        folders.sort_by(|a, b| {
            (a.role != Some(Role::Inbox), &a.path).cmp(&(b.role != Some(Role::Inbox), &b.path))
        });
        self.idle.push(session);
        self.notes.clear();
        if !refused.is_empty() {
            self.notes.push(format!(
                "the server gave no message count (STATUS) for: {}",
                refused.join("; ")
            ));
        }
        if self.has("X-GM-EXT-1") {
            let unique: u64 = folders
                .iter()
                .filter(|f| matches!(f.role, Some(Role::All | Role::Junk | Role::Trash)))
                .filter_map(|f| f.claimed)
                .sum();
            let note = if folders.iter().any(|f| f.role == Some(Role::All)) {
                format!(
                    "Gmail: folders are labels, so a message shows in each of its labels; {unique} unique messages are in All Mail, Spam and Trash"
                )
            } else {
                "Gmail: All Mail is hidden from IMAP (Gmail settings, Labels, Show in IMAP), so mail without a label is not listed".to_string()
            };
            self.notes.push(note);
        }
        Ok(folders)
    }

    fn read_folder(&mut self, folder: &Folder, sink: Sink<'_>) -> Result<FolderNotes> {
        let connector = self.connector.clone();
        let mut attempt = 0;
        let (uidvalidity, index) = loop {
            let mut session = self.session()?;
            match self.rt.block_on(index(&mut session, &folder.locator)) {
                Ok(found) => {
                    self.idle.push(session);
                    break found;
                }
                Err(Indexing::Lost(l)) => {
                    attempt += 1;
                    if attempt > RETRIES {
                        return Err(lost(&connector, l));
                    }
                    std::thread::sleep(backoff(attempt));
                }
                Err(Indexing::Refused(words)) => {
                    return Err(Error::Refused(format!(
                        "{}: the server refused to list the messages of {}: {words}",
                        connector.spec.location(),
                        folder.name()
                    )));
                }
            }
        };
        let gmail = self.has("X-GM-EXT-1");
        let items = format!(
            "(UID RFC822.SIZE FLAGS INTERNALDATE{} BODY.PEEK[])",
            if gmail { " X-GM-MSGID X-GM-LABELS" } else { "" }
        );
        let batches = batches(&index);
        let (tx, rx): (Vec<_>, Vec<_>) = batches.iter().map(|_| unbounded()).unzip();
        let shared = Arc::new(Shared {
            connector: connector.clone(),
            mailbox: folder.locator.clone(),
            uidvalidity,
            items,
            queue: Mutex::new(batches.iter().cloned().enumerate().collect()),
            budget: Budget::new(AHEAD_BYTES),
            stop: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            tx,
        });
        let mut order = Order {
            uidvalidity,
            expected: batches
                .iter()
                .enumerate()
                .flat_map(|(b, uids)| uids.iter().map(move |&(uid, size)| (uid, size, b)))
                .collect(),
            vanished: Vec::new(),
        };
        let mut crew = Crew {
            rt: &self.rt,
            shared: shared.clone(),
            most: batches.len(),
            slots: Vec::new(),
            spare: std::mem::take(&mut self.idle),
            tuner: &mut self.tuner,
        };
        crew.staff();
        let outcome = order.deliver(&shared, &rx, &mut crew, sink);
        shared.stop.store(true, Ordering::SeqCst);
        shared.budget.close();
        self.idle = crew.finish();
        // The folder could not be read to its end: the server went away or stopped answering.
        // That ends the run (a receipt must not look complete), not just this folder.
        outcome.map_err(|e| {
            Error::Connection(format!(
                "{}: reading {} stopped: {e}",
                self.connector.spec.location(),
                folder.name()
            ))
        })?;
        let mut notes = FolderNotes::default();
        notes.notes.push(format!("UIDVALIDITY {uidvalidity}"));
        if !order.vanished.is_empty() {
            notes.notes.push(format!(
                "{} listed at the start were deleted on the server while the folder was being read (UID {}); they are not counted",
                if order.vanished.len() == 1 { "1 message".to_string() } else { format!("{} messages", order.vanished.len()) },
                order.vanished.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ));
        }
        Ok(notes)
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

enum Indexing {
    Lost(Lost),
    Refused(String),
}

impl From<Lost> for Indexing {
    fn from(l: Lost) -> Self {
        Indexing::Lost(l)
    }
}

/// EXAMINE (read-only) and the list of UIDs with their sizes, in UID order.
async fn index(
    session: &mut ImapSession,
    mailbox: &str,
) -> std::result::Result<(u32, Vec<(u32, u32)>), Indexing> {
    let examined = tokio::time::timeout(silence(), session.examine(mailbox))
        .await
        .map_err(|_| Lost("no answer to EXAMINE".into()))?
        .map_err(|e| match e {
            async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => {
                Indexing::Refused(server_words(&e))
            }
            other => Indexing::Lost(other.into()),
        })?;
    let uidvalidity = examined.uid_validity.unwrap_or(0);
    let mut list = Vec::with_capacity(examined.exists as usize);
    if examined.exists > 0 {
        let mut fetch = UidFetch::start(session, "1:*", "(UID RFC822.SIZE)").await?;
        while let Some(f) = fetch.next().await? {
            list.push((f.uid, f.size.unwrap_or(0)));
        }
        if let Some(Done::Refused(words)) = fetch.done {
            return Err(Indexing::Refused(words));
        }
    }
    list.sort_unstable();
    list.dedup_by_key(|m| m.0);
    Ok((uidvalidity, list))
}

/// Cuts the index into runs bounded by [`BATCH_COUNT`] and [`BATCH_BYTES`].
fn batches(index: &[(u32, u32)]) -> Vec<Vec<(u32, u32)>> {
    let mut out: Vec<Vec<(u32, u32)>> = Vec::new();
    let mut bytes = 0u64;
    for &(uid, size) in index {
        let full = out.last().is_none_or(|b| {
            b.len() >= BATCH_COUNT || (bytes + u64::from(size) > BATCH_BYTES && !b.is_empty())
        });
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += u64::from(size);
        out.last_mut().expect("just pushed").push((uid, size));
    }
    out
}

/// A compact UID set: `1:5,9,12:14`.
pub(crate) fn uid_set(uids: impl IntoIterator<Item = u32>) -> String {
    let mut out = String::new();
    let mut run: Option<(u32, u32)> = None;
    let push = |out: &mut String, (a, b): (u32, u32)| {
        if !out.is_empty() {
            out.push(',');
        }
        if a == b {
            out.push_str(&a.to_string());
        } else {
            out.push_str(&format!("{a}:{b}"));
        }
    };
    for uid in uids {
        run = match run {
            Some((a, b)) if uid == b + 1 => Some((a, uid)),
            Some(r) => {
                push(&mut out, r);
                Some((uid, uid))
            }
            None => Some((uid, uid)),
        };
    }
    if let Some(r) = run {
        push(&mut out, r);
    }
    out
}

/// What a connection hands to the reader.
enum Delivery {
    Message(u32, Box<Fetched>),
    /// The server answered for this UID without the message: `None` when it is simply gone
    /// (expunged meanwhile), or the server's words when it refused.
    Gone(u32, Option<String>),
    /// A batch could not be fetched even after reconnecting; the folder stops here.
    Failed(String),
}

/// A batch's number and its UIDs with their sizes.
type Batch = (usize, Vec<(u32, u32)>);

/// State shared by the connections reading one folder.
struct Shared {
    connector: Arc<Connector>,
    mailbox: String,
    uidvalidity: u32,
    items: String,
    queue: Mutex<VecDeque<Batch>>,
    budget: Budget,
    stop: AtomicBool,
    /// Connections meant to be fetching: a connection whose number is not below it takes no
    /// further batch.
    connections: AtomicUsize,
    /// One channel per batch, so that the reader is woken only by the batch it is on, not by
    /// every message the other connections fetch ahead of it.
    tx: Vec<Sender<Delivery>>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Hands a message of `batch` to the reader; false when the reader has gone.
    fn deliver(&self, batch: usize, delivery: Delivery) -> bool {
        self.tx[batch].send(delivery).is_ok()
    }

    /// Ends the folder: every batch the reader may be waiting on says why.
    fn fail(&self, why: String) {
        self.stop.store(true, Ordering::SeqCst);
        for tx in &self.tx {
            let _ = tx.send(Delivery::Failed(why.clone()));
        }
    }

    fn next_batch(&self) -> Option<Batch> {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
    }
}

/// One connection: takes batches until none are left. Returns its session for the next
/// folder; a session left in the middle of a command was dropped already (`fetch_batch` does
/// so), so what comes back is always between commands, even when the reader stopped the
/// folder while this connection was reading the completion of its last batch.
async fn worker(
    shared: Arc<Shared>,
    number: usize,
    mut session: Option<ImapSession>,
) -> Option<ImapSession> {
    let mut examined = false;
    while number < shared.connections.load(Ordering::SeqCst)
        && let Some((batch, uids)) = shared.next_batch()
    {
        if shared.stopped() {
            break;
        }
        if let Err(e) = fetch_batch(&shared, &mut session, &mut examined, batch, &uids).await {
            shared.fail(e);
            return None;
        }
    }
    session
}

/// Opens (or reopens) the connection and the folder, checking that UIDs still mean the same
/// messages (same UIDVALIDITY).
async fn ready<'s>(
    shared: &Shared,
    session: &'s mut Option<ImapSession>,
    examined: &mut bool,
) -> std::result::Result<&'s mut ImapSession, Retry> {
    if session.is_none() {
        *examined = false;
        *session = Some(
            shared
                .connector
                .open()
                .await
                .map_err(|e| Retry::Lost(e.to_string()))?,
        );
    }
    let s = session.as_mut().expect("opened above");
    if !*examined {
        let mailbox = tokio::time::timeout(silence(), s.examine(&shared.mailbox))
            .await
            .map_err(|_| Retry::Lost("no answer to EXAMINE".into()))?
            .map_err(|e| match e {
                async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => {
                    Retry::Fatal(format!(
                        "the server refused to open the folder again: {}",
                        server_words(&e)
                    ))
                }
                other => Retry::Lost(other.to_string()),
            })?;
        if mailbox.uid_validity.unwrap_or(0) != shared.uidvalidity {
            return Err(Retry::Fatal(format!(
                "the folder's UIDVALIDITY changed from {} to {} while it was being read (the server renumbered its messages); read it again",
                shared.uidvalidity,
                mailbox.uid_validity.unwrap_or(0)
            )));
        }
        *examined = true;
    }
    Ok(s)
}

enum Retry {
    Lost(String),
    Fatal(String),
}

/// Fetches one batch until every UID in it is delivered, reported gone, or the connection
/// could not be restored. After a NO, or when the server silently left UIDs out, the rest
/// are fetched one at a time so each refusal is recorded with the server's own words.
async fn fetch_batch(
    shared: &Shared,
    session: &mut Option<ImapSession>,
    examined: &mut bool,
    batch: usize,
    uids: &[(u32, u32)],
) -> std::result::Result<(), String> {
    let mut pending: BTreeSet<u32> = uids.iter().map(|&(uid, _)| uid).collect();
    let mut failures = 0u32;
    let mut single = false;
    let mut lost_on = None;
    while !pending.is_empty() && !shared.stopped() {
        let s = match ready(shared, session, examined).await {
            Ok(s) => s,
            Err(Retry::Fatal(e)) => return Err(e),
            Err(Retry::Lost(e)) => {
                *session = None;
                failures += 1;
                if failures > RETRIES {
                    return Err(format!("could not reconnect after {RETRIES} attempts: {e}"));
                }
                tokio::time::sleep(backoff(failures)).await;
                continue;
            }
        };
        let first = *pending.first().expect("not empty");
        let set = if single {
            first.to_string()
        } else {
            uid_set(pending.iter().copied())
        };
        let before = pending.len();
        let result = fetch_set(shared, s, &set, batch, uids, &mut pending).await;
        if pending.len() < before {
            failures = 0;
        }
        match result {
            Ok(Done::Ok) if single => {
                if pending.remove(&first) {
                    shared.deliver(batch, Delivery::Gone(first, None));
                }
            }
            Ok(Done::Ok) => single = true,
            Ok(Done::Refused(words)) => {
                if let Some(pause) = throttled(&words) {
                    failures += 1;
                    if failures > RETRIES {
                        return Err(format!("the server kept refusing: {words}"));
                    }
                    tokio::time::sleep(pause.max(backoff(failures))).await;
                } else if single {
                    if pending.remove(&first) {
                        // "No longer exists" (RFC 5530 EXPUNGEISSUED) is a deletion by
                        // someone else, noted as such; any other refusal is recorded.
                        let why = (!expunged(&words))
                            .then(|| format!("the server refused to give this message: {words}"));
                        shared.deliver(batch, Delivery::Gone(first, why));
                    }
                } else {
                    single = true;
                }
            }
            Err(e) => {
                *session = None;
                if shared.stopped() {
                    // The folder was abandoned (by the reader, or after another connection
                    // failed): nothing is retried, and nothing waits for a back-off.
                    break;
                }
                if pending.len() == before && single && lost_on == Some(first) {
                    // The server drops the connection on this very message (Dovecot does so
                    // on a damaged file): record it with the server's words and go on.
                    pending.remove(&first);
                    let why = format!(
                        "the server dropped the connection each time it was asked for this message ({})",
                        e.0
                    );
                    shared.deliver(batch, Delivery::Gone(first, Some(why)));
                    lost_on = None;
                    continue;
                }
                if pending.len() == before {
                    single = true;
                    lost_on = Some(first);
                }
                failures += 1;
                if failures > RETRIES {
                    return Err(format!(
                        "the connection dropped {RETRIES} times in a row: {}",
                        e.0
                    ));
                }
                tokio::time::sleep(backoff(failures)).await;
            }
        }
    }
    Ok(())
}

async fn fetch_set(
    shared: &Shared,
    session: &mut ImapSession,
    set: &str,
    batch: usize,
    listed: &[(u32, u32)],
    pending: &mut BTreeSet<u32>,
) -> std::result::Result<Done, Lost> {
    let mut fetch = UidFetch::start(session, set, &shared.items).await?;
    while let Some(f) = fetch.next().await? {
        if f.body.is_none() || !pending.contains(&f.uid) {
            continue;
        }
        // An empty body for a message the server gave a size to is not the message: Dovecot
        // answers so for one whose file was deleted since the index was made. It stays
        // pending, so it is asked for alone and ends as gone or refused, never as empty mail.
        // (Its RFC822.SIZE then says 0 as well, so the size from the index decides.)
        let indexed = listed
            .binary_search_by_key(&f.uid, |&(uid, _)| uid)
            .map_or(0, |i| listed[i].1);
        let sized = indexed > 0 || f.size.is_some_and(|n| n > 0);
        if f.body.as_ref().is_some_and(Vec::is_empty) && sized {
            continue;
        }
        let size = f.body.as_ref().map_or(0, |b| b.len() as u64);
        if !shared.budget.admit(batch, size).await {
            return Err(Lost("stopped".into()));
        }
        pending.remove(&f.uid);
        if !shared.deliver(batch, Delivery::Message(f.uid, Box::new(f))) {
            return Err(Lost("stopped".into()));
        }
    }
    Ok(fetch.done.unwrap_or(Done::Ok))
}

/// Back-off before retry `n` (1-based): 250 ms doubling, at most 30 s, and never longer than
/// the server may stay silent (so a short `MAILPROOF_IMAP_TIMEOUT` also shortens the waits).
fn backoff(n: u32) -> Duration {
    Duration::from_millis(250u64 << n.saturating_sub(1).min(7))
        .min(Duration::from_secs(30))
        .min(silence())
}

/// When a refusal is the server asking to slow down, how long to wait. Microsoft 365 says
/// `Request is throttled. Suggested Backoff Time: N milliseconds`; others use `[LIMIT]` or
/// `[UNAVAILABLE]`.
fn throttled(words: &str) -> Option<Duration> {
    let lower = words.to_ascii_lowercase();
    if let Some(at) = lower.find("backoff time:") {
        let ms: String = lower[at + 13..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        return Some(Duration::from_millis(ms.parse().unwrap_or(1000)));
    }
    (lower.contains("throttl") || lower.contains("limit") || lower.contains("unavailable"))
        .then(|| Duration::from_secs(1))
}

/// True when a refusal says the message was deleted meanwhile (RFC 5530 `EXPUNGEISSUED`,
/// or the words servers use for it).
fn expunged(words: &str) -> bool {
    let lower = words.to_ascii_lowercase();
    lower.contains("expungeissued") || lower.contains("no longer exist")
}

/// Bytes fetched but not yet taken by the reader. Messages of the batch the reader is on are
/// always let through, so the reader can never wait for a connection that waits for room.
struct Budget {
    state: Mutex<Room>,
    freed: Notify,
    limit: u64,
}

#[derive(Default)]
struct Room {
    /// Bytes admitted and not yet taken.
    used: u64,
    /// The batch the reader is on.
    reading: usize,
    /// The folder is being abandoned.
    closed: bool,
    /// The smallest message a connection waits to admit.
    waiting: Option<u64>,
}

impl Budget {
    fn new(limit: u64) -> Self {
        Self {
            state: Mutex::new(Room::default()),
            freed: Notify::new(),
            limit,
        }
    }

    fn room(&self) -> std::sync::MutexGuard<'_, Room> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for room; false when the folder is being abandoned.
    async fn admit(&self, batch: usize, size: u64) -> bool {
        loop {
            let freed = self.freed.notified();
            {
                let mut r = self.room();
                if r.closed {
                    return false;
                }
                if batch <= r.reading || r.used + size <= self.limit {
                    r.used += size;
                    return true;
                }
                r.waiting = Some(r.waiting.map_or(size, |w| w.min(size)));
            }
            freed.await;
        }
    }

    /// Waiting connections are woken when one of them fits and half the room is free (or the
    /// one message needs more than half), not at every message taken: they then go on with
    /// several messages each, instead of all waking to find room for none.
    fn release(&self, size: u64) {
        let mut r = self.room();
        r.used = r.used.saturating_sub(size);
        let fits = r
            .waiting
            .is_some_and(|w| r.used + w.max(self.limit / 2) <= self.limit);
        if fits {
            r.waiting = None;
            drop(r);
            self.freed.notify_waiters();
        }
    }

    fn reading(&self, batch: usize) {
        let mut r = self.room();
        r.reading = batch;
        r.waiting = None;
        drop(r);
        self.freed.notify_waiters();
    }

    fn close(&self) {
        self.room().closed = true;
        self.freed.notify_waiters();
    }
}

/// The connections reading a folder, as many as the [`Tuner`] says pay.
struct Crew<'a> {
    rt: &'a Runtime,
    shared: Arc<Shared>,
    /// More connections than batches would have nothing to do.
    most: usize,
    /// Connection `i` runs in `slots[i]`.
    slots: Vec<JoinHandle<Option<ImapSession>>>,
    /// Logged-in sessions for connections that start.
    spare: Vec<ImapSession>,
    tuner: &'a mut Tuner,
}

impl Crew<'_> {
    /// Starts connections up to the tuner's count; those beyond it stop after their batch.
    fn staff(&mut self) {
        let want = self.tuner.now().min(self.most);
        self.shared.connections.store(want, Ordering::SeqCst);
        for number in 0..want {
            if self.slots.get(number).is_some_and(|h| !h.is_finished()) {
                continue;
            }
            // A connection that stopped earlier lends its session to the one taking its place.
            let session = match self.slots.get_mut(number) {
                Some(done) => self.rt.block_on(done).ok().flatten(),
                None => None,
            }
            .or_else(|| self.spare.pop());
            let handle = self.rt.spawn(worker(self.shared.clone(), number, session));
            if number < self.slots.len() {
                self.slots[number] = handle;
            } else {
                self.slots.push(handle);
            }
        }
    }

    /// Whether a connection is still at work.
    fn alive(&self) -> bool {
        self.slots.iter().any(|h| !h.is_finished())
    }

    /// Tells the tuner of a message handed on, and follows what it decides.
    fn delivered(&mut self, bytes: u64) {
        if self.tuner.delivered(bytes, Instant::now()) {
            self.staff();
        }
    }

    /// Waits for the connections to stop; the sessions left for the next folder.
    fn finish(self) -> Vec<ImapSession> {
        let mut sessions = self.spare;
        for handle in self.slots {
            if let Ok(Some(session)) = self.rt.block_on(handle) {
                sessions.push(session);
            }
        }
        sessions
    }
}

/// Puts what the connections deliver back into UID order for the sink.
struct Order {
    uidvalidity: u32,
    /// Every UID of the index with its size and batch, in UID order.
    expected: Vec<(u32, u32, usize)>,
    vanished: Vec<u32>,
}

impl Order {
    fn deliver(
        &mut self,
        shared: &Shared,
        rx: &[Receiver<Delivery>],
        crew: &mut Crew<'_>,
        sink: Sink<'_>,
    ) -> std::result::Result<(), String> {
        let mut ready: HashMap<u32, Delivery> = HashMap::new();
        let mut at = 0;
        while at < self.expected.len() {
            let (uid, listed, batch) = self.expected[at];
            let Some(delivery) = ready.remove(&uid) else {
                let rx = &rx[batch];
                match rx.recv_timeout(Duration::from_millis(500)) {
                    Ok(Delivery::Failed(e)) => return Err(e),
                    Ok(d) => {
                        let uid = match &d {
                            Delivery::Message(uid, _) | Delivery::Gone(uid, _) => *uid,
                            Delivery::Failed(_) => unreachable!("handled above"),
                        };
                        ready.entry(uid).or_insert(d);
                    }
                    Err(_) if crew.alive() || !rx.is_empty() => {}
                    Err(_) => {
                        return Err(
                            "every connection stopped before the folder was read to the end".into(),
                        );
                    }
                }
                continue;
            };
            at += 1;
            if let Some(&(_, _, next)) = self.expected.get(at)
                && next != batch
            {
                shared.budget.reading(next);
            }
            let source_id = format!("{}:{uid}", self.uidvalidity);
            let entry = match delivery {
                Delivery::Message(_, fetched) => {
                    let size = fetched.body.as_ref().map_or(0, |b| b.len() as u64);
                    let raw = raw_message(source_id, listed, *fetched);
                    shared.budget.release(size);
                    crew.delivered(size);
                    Entry::Message(raw)
                }
                Delivery::Gone(_, None) => {
                    self.vanished.push(uid);
                    continue;
                }
                Delivery::Gone(_, Some(reason)) => Entry::Unreadable { source_id, reason },
                Delivery::Failed(_) => unreachable!("never stored"),
            };
            if let ControlFlow::Break(()) = sink(entry) {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// The order Maildir gives flags in (D F P R S T), so receipts of the same mail read over IMAP
/// and from Dovecot's files agree; keywords follow in the server's order.
const FLAG_ORDER: [&str; 6] = [
    "\\Draft",
    "\\Flagged",
    "$Forwarded",
    "\\Answered",
    "\\Seen",
    "\\Deleted",
];

fn raw_message(source_id: String, listed: u32, f: Fetched) -> RawMessage {
    let bytes = f.body.unwrap_or_default();
    let mut notes = Vec::new();
    let said = f.size.unwrap_or(listed);
    if said as usize != bytes.len() {
        notes.push(format!(
            "the server gave its size as {said} bytes (RFC822.SIZE) but sent {} bytes; the bytes sent were hashed",
            bytes.len()
        ));
    }
    let mut flags: Vec<String> = FLAG_ORDER
        .iter()
        .filter(|want| f.flags.iter().any(|g| g.eq_ignore_ascii_case(want)))
        .map(|s| s.to_string())
        .collect();
    for flag in &f.flags {
        let known = FLAG_ORDER.iter().any(|k| k.eq_ignore_ascii_case(flag));
        if !known && !flag.eq_ignore_ascii_case("\\Recent") && !flags.contains(flag) {
            flags.push(flag.clone());
        }
    }
    let trashed = flags.iter().any(|f| f == "\\Deleted");
    RawMessage {
        source_id,
        bytes,
        flags,
        internal_date: f.internal_date.as_deref().and_then(internal_date::parse),
        excluded: None,
        trashed,
        notes,
        gmail: f.gm_msgid.map(|id| Gmail {
            msgid: id.to_string(),
            labels: f.gm_labels,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set([1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set([42]), "42");
        assert_eq!(uid_set([]), "");
    }

    #[test]
    fn batches_respect_count_and_bytes() {
        let index: Vec<(u32, u32)> = (1..=450).map(|u| (u, 1000)).collect();
        let b = batches(&index);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [200, 200, 50]);
        let big = [(1, 40 << 20), (2, 10), (3, 30 << 20), (4, 5 << 20)];
        let b = batches(&big);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [1, 2, 1]);
    }

    #[test]
    fn throttling_is_recognised() {
        assert_eq!(
            throttled("Request is throttled. Suggested Backoff Time: 1500 milliseconds"),
            Some(Duration::from_millis(1500))
        );
        assert!(throttled("[LIMIT] Too many commands").is_some());
        assert!(throttled("Message not found").is_none());
        assert!(expunged(
            "[EXPUNGEISSUED] Some of the requested messages no longer exist"
        ));
        assert!(!expunged("[SERVERBUG] Internal error"));
    }

    #[test]
    fn flags_in_maildir_order() {
        let f = Fetched {
            flags: vec![
                "\\Seen".into(),
                "\\Recent".into(),
                "Work".into(),
                "\\Answered".into(),
                "\\Deleted".into(),
            ],
            body: Some(b"x".to_vec()),
            size: Some(1),
            ..Fetched::default()
        };
        let raw = raw_message("1:1".into(), 1, f);
        assert_eq!(raw.flags, ["\\Answered", "\\Seen", "\\Deleted", "Work"]);
        assert!(raw.trashed && raw.notes.is_empty());
    }
}
