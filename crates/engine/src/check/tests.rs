//! Reconciliation on receipts built in memory: every tier, multisets, moves, labels, excluded
//! messages, causes, and counts that add up.

use sha2::{Digest, Sha256};

use super::*;
use crate::identity::{Eol, Identity};
use crate::receipt::{FolderEnd, FolderRecord, Header, MessageRecord, SealCheck};
use crate::source::SourceDescription;

/// When the receipt before was taken: 2025-01-01 00:00 UTC.
const TAKEN: i64 = 1_735_689_600;
const TAKEN_RFC3339: &str = "2025-01-01T00:00:00Z";

fn h(tag: &str) -> String {
    crate::receipt::hex(&Sha256::digest(tag.as_bytes()))
}

/// A message as a receipt lists it; the builder methods make the copies migrations produce.
#[derive(Clone)]
struct Msg {
    folder: &'static str,
    identity: Identity,
    excluded: Option<String>,
    /// Bumped by every change, so that changed bytes get a digest of their own.
    version: u32,
    name: &'static str,
}

fn msg(name: &'static str, folder: &'static str) -> Msg {
    Msg {
        folder,
        identity: Identity {
            digest: h(&format!("digest {name}")),
            canonical: h(&format!("canonical {name}")),
            fingerprint: h(&format!("fingerprint {name}")),
            tolerant: h(&format!("tolerant {name}")),
            message_id: Some(format!("{name}@example.com")),
            date: Some(TAKEN - 86_400),
            from: Some("alice@example.com".into()),
            subject: Some(format!("About {name}")),
            eol: Eol::Lf,
            stripped: vec!["received".into()],
            unparsed: None,
        },
        excluded: None,
        version: 0,
        name,
    }
}

impl Msg {
    fn changed(mut self, what: &str) -> Msg {
        self.version += 1;
        self.identity.digest = h(&format!("digest {} {what} {}", self.name, self.version));
        self
    }
    fn into_folder(mut self, folder: &'static str) -> Msg {
        self.folder = folder;
        self
    }
    /// CRLF line endings and an added trace header.
    fn normalised(mut self) -> Msg {
        self.identity.eol = Eol::Crlf;
        self.identity.stripped.push("x-tuid".into());
        self.changed("normalised")
    }
    fn reencoded(mut self) -> Msg {
        self.identity.canonical = h(&format!("canonical {} re-encoded", self.name));
        self.changed("re-encoded")
    }
    /// An attachment stripped: Message-ID, Date, From and the text kept.
    fn altered(mut self) -> Msg {
        self.identity.fingerprint = h(&format!("fingerprint {} altered", self.name));
        self.reencoded()
    }
    /// Rebuilt with another Message-ID: only the tolerant key still matches.
    fn with_message_id(mut self, id: Option<&str>) -> Msg {
        self.identity.message_id = id.map(str::to_string);
        self.identity.fingerprint = h(&format!("fingerprint {} {id:?}", self.name));
        self.reencoded()
    }
    fn without_message_id(mut self) -> Msg {
        self.identity.message_id = None;
        self
    }
    fn dated(mut self, t: i64) -> Msg {
        self.identity.date = Some(t);
        self
    }
    fn excluded(mut self, why: &str) -> Msg {
        self.excluded = Some(why.into());
        self
    }
}

fn receipt(folders: &[&'static str], messages: &[Msg]) -> Receipt {
    let folder_records: Vec<FolderRecord> = folders
        .iter()
        .enumerate()
        .map(|(id, name)| FolderRecord {
            id,
            path: name.split('/').map(str::to_string).collect(),
            role: None,
            claimed: None,
        })
        .collect();
    let id_of = |name: &str| {
        folders
            .iter()
            .position(|f| *f == name)
            .unwrap_or_else(|| panic!("no folder {name}"))
    };
    let records: Vec<MessageRecord> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| MessageRecord {
            folder: id_of(m.folder),
            source_id: format!("offset {i}"),
            size: 100,
            identity: m.identity.clone(),
            flags: vec![],
            internal_date: None,
            excluded: m.excluded.clone(),
            trashed: false,
            notes: vec![],
            entry: None,
            gmail: None,
        })
        .collect();
    let mut folder_ends: Vec<FolderEnd> = (0..folders.len())
        .map(|folder| FolderEnd {
            folder,
            ..FolderEnd::default()
        })
        .collect();
    let mut totals = crate::receipt::Totals::default();
    for m in &records {
        let end = &mut folder_ends[m.folder];
        end.found += 1;
        match &m.excluded {
            Some(why) => {
                end.excluded += 1;
                *end.excluded_reasons.entry(why.clone()).or_default() += 1;
            }
            None => end.read += 1,
        }
    }
    for end in &folder_ends {
        totals.add(end);
    }
    Receipt {
        header: Header {
            format: crate::receipt::FORMAT.into(),
            version: crate::receipt::VERSION,
            identity_version: crate::identity::IDENTITY_VERSION,
            tool: crate::TOOL.into(),
            created: TAKEN_RFC3339.into(),
            source: SourceDescription {
                kind: "maildir".into(),
                location: "/mail".into(),
            },
            notes: vec![],
        },
        folders: folder_records,
        messages: records,
        unreadable: vec![],
        folder_ends,
        totals,
        seal: SealCheck::Valid {
            code: "7KQM-2XHD-P9TA".into(),
        },
    }
}

/// Checks the report against itself: totals are the rows' sums, both sides reconcile per row
/// and in total, the differences agree with the counts, and it survives a JSON round trip.
fn checked(r: CheckReport) -> CheckReport {
    let t = &r.totals;
    let found = t.identical + t.normalised + t.reencoded + t.altered + t.moved;
    assert_eq!(t.before, found + t.lost_placements + t.missing, "{t:?}");
    assert_eq!(
        t.after,
        found + t.new + t.duplicates + t.placements + t.excluded,
        "{t:?}"
    );
    let by = &t.by_match;
    assert_eq!(
        by.identical + by.normalised + by.reencoded + by.altered,
        found
    );
    for row in &r.folders {
        assert_eq!(
            row.before_count,
            row.identical
                + row.normalised
                + row.reencoded
                + row.altered
                + row.moved
                + row.lost_placements
                + row.missing,
            "{row:?}"
        );
        assert_eq!(
            row.after_count + row.moved + row.lost_placements + row.missing,
            row.before_count
                + row.moved_in
                + row.new
                + row.duplicates
                + row.placements
                + row.excluded,
            "{row:?}"
        );
    }
    let count = |s: Status| r.differences.iter().filter(|d| d.status == s).count() as u64;
    for (status, total) in [
        (Status::Missing, t.missing),
        (Status::Altered, t.altered),
        (Status::Reencoded, t.reencoded),
        (Status::Normalised, t.normalised),
        (Status::Moved, t.moved),
        (Status::LostPlacement, t.lost_placements),
        (Status::New, t.new),
        (Status::Duplicate, t.duplicates),
        (Status::Placement, t.placements),
        (Status::Excluded, t.excluded),
    ] {
        assert_eq!(count(status), total, "{status:?}");
    }
    assert!(r.differences.iter().all(|d| !d.reason.is_empty()));
    assert_eq!(r.complete, t.missing == 0);
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<CheckReport>(&json).unwrap(), r);
    r
}

fn check_folders(
    before_folders: &[&'static str],
    before: &[Msg],
    after_folders: &[&'static str],
    after: &[Msg],
) -> CheckReport {
    checked(
        reconcile_receipts(
            &receipt(before_folders, before),
            &receipt(after_folders, after),
            &[],
        )
        .unwrap(),
    )
}

fn check(before: &[Msg], after: &[Msg]) -> CheckReport {
    let folders = &["INBOX", "Archive", "Sent"];
    check_folders(folders, before, folders, after)
}

/// (status, subject) of every difference.
fn statuses(r: &CheckReport) -> Vec<(Status, String)> {
    r.differences
        .iter()
        .map(|d| (d.status, d.subject.clone().unwrap_or_default()))
        .collect()
}

fn only(r: &CheckReport) -> &Difference {
    assert_eq!(r.differences.len(), 1, "{:?}", r.differences);
    &r.differences[0]
}

#[test]
fn identical_messages_are_counted_not_listed() {
    let m = [msg("a", "INBOX"), msg("b", "INBOX"), msg("c", "Sent")];
    let r = check(&m, &m);
    assert!(r.differences.is_empty());
    assert_eq!((r.totals.before, r.totals.identical), (3, 3));
    assert_eq!(r.verdict, "All 3 messages are in your new mailbox.");
    assert!(r.complete);
}

#[test]
fn identical_after_normalisation_says_what_changed() {
    let r = check(&[msg("a", "INBOX")], &[msg("a", "INBOX").normalised()]);
    let d = only(&r);
    assert_eq!(
        (d.status, d.grade),
        (Status::Normalised, Some(Grade::Normalised))
    );
    assert_eq!(d.cause, Cause::HeadersOrLineEndings);
    assert!(d.reason.contains("line endings LF → CRLF"), "{}", d.reason);
    assert!(
        d.reason.contains("header fields added: x-tuid"),
        "{}",
        d.reason
    );
    // A receipt cannot tell a second `Received` from one: it names where the rest can be.
    assert!(
        d.reason
            .ends_with("any other difference only in header folding, a trailing empty line or the store and trace fields received"),
        "{}",
        d.reason
    );
    assert_eq!(
        d.digest,
        msg("a", "INBOX").identity.digest,
        "the before side's digest"
    );
    assert_eq!(
        d.after_digest.as_deref(),
        Some(msg("a", "INBOX").normalised().identity.digest.as_str())
    );
    assert_eq!(r.totals.normalised, 1);
}

#[test]
fn reencoded_and_altered() {
    let before = [msg("a", "INBOX"), msg("b", "INBOX")];
    let after = [msg("a", "INBOX").reencoded(), msg("b", "INBOX").altered()];
    let r = check(&before, &after);
    assert_eq!(
        statuses(&r),
        [
            (Status::Altered, "About b".into()),
            (Status::Reencoded, "About a".into())
        ]
    );
    assert_eq!(r.differences[0].cause, Cause::ContentAltered);
    assert_eq!(r.differences[1].cause, Cause::Reencoded);
    assert_eq!(
        r.verdict,
        "All 2 messages are in your new mailbox; 1 arrived altered."
    );
}

#[test]
fn a_rewritten_message_id_domain_is_altered_not_missing() {
    let before = [msg("a", "INBOX")];
    let after = [msg("a", "INBOX").with_message_id(Some("a@eurprd04.prod.example.com"))];
    let d = only(&check(&before, &after)).clone();
    assert_eq!(
        (d.status, d.cause),
        (Status::Altered, Cause::MessageIdRewritten)
    );
    assert!(
        d.reason
            .contains("a@example.com → a@eurprd04.prod.example.com"),
        "{}",
        d.reason
    );
    // Another local part is another message, however alike.
    let after = [msg("a", "INBOX").with_message_id(Some("zz@example.com"))];
    let r = check(&before, &after);
    assert_eq!(
        statuses(&r),
        [
            (Status::Missing, "About a".into()),
            (Status::New, "About a".into())
        ]
    );
}

#[test]
fn messages_without_message_id_match_by_the_tolerant_key() {
    let plain = msg("a", "Sent").without_message_id();
    let r = check(std::slice::from_ref(&plain), &[plain.clone().altered()]);
    let d = only(&r);
    assert_eq!(
        (d.status, d.cause),
        (Status::Altered, Cause::RecognisedByContent)
    );
    // A message that gained or lost a Message-ID is recognised too.
    let r = check(
        std::slice::from_ref(&plain),
        &[plain.clone().with_message_id(Some("x@new.example"))],
    );
    assert_eq!(only(&r).cause, Cause::MessageIdRewritten);
    let r = check(
        &[msg("a", "Sent")],
        &[msg("a", "Sent").with_message_id(None)],
    );
    assert_eq!(only(&r).status, Status::Altered);
    // Not found at all: unidentified.
    let r = check(&[plain], &[]);
    let d = only(&r);
    assert_eq!((d.status, d.cause), (Status::Missing, Cause::Unidentified));
    assert_eq!(r.totals.unidentified, 1);
}

#[test]
fn stronger_tiers_win() {
    // The identical copy is matched, even though a re-encoded one comes first.
    let before = [msg("a", "INBOX")];
    let after = [msg("a", "INBOX").reencoded(), msg("a", "INBOX")];
    let r = check(&before, &after);
    assert_eq!(statuses(&r), [(Status::Duplicate, "About a".into())]);
    let reencoded = msg("a", "INBOX").reencoded().identity.digest;
    assert_eq!(
        r.differences[0].digest, reencoded,
        "the re-encoded copy is the extra one"
    );
}

#[test]
fn multisets_three_copies_before_two_after() {
    let a = msg("a", "INBOX");
    let r = check(&[a.clone(), a.clone(), a.clone()], &[a.clone(), a.clone()]);
    let d = only(&r);
    assert_eq!(
        (d.status, d.cause),
        (Status::Missing, Cause::DuplicateCollapsed)
    );
    assert_eq!(r.totals.missing, 1);
    assert_eq!(r.totals.duplicates_collapsed, 1);
    assert_eq!(r.verdict, "1 message is missing from your new mailbox.");
    // Extra copies after are duplicates, not new mail.
    let r = check(&[a.clone(), a.clone()], &[a.clone(), a.clone(), a.clone()]);
    let d = only(&r);
    assert_eq!((d.status, d.cause), (Status::Duplicate, Cause::ExtraCopy));
    assert_eq!(r.totals.new, 0);
    assert!(r.complete);
}

#[test]
fn moved_only_when_the_folder_has_no_copy() {
    // One copy in each folder before; after, the INBOX copy is gone: the Archive copy stays
    // where it was (not "moved" from INBOX), and the INBOX copy is one copy too few.
    let a = msg("a", "INBOX");
    let r = check(
        &[a.clone(), a.clone().into_folder("Archive")],
        &[a.clone().into_folder("Archive")],
    );
    let d = only(&r);
    assert_eq!(
        (d.status, d.cause),
        (Status::Missing, Cause::DuplicateCollapsed)
    );
    assert_eq!(d.before_folder.as_deref(), Some("INBOX"));
    assert!(d.reason.contains("“Archive”"), "{}", d.reason);
    // A message in another folder is moved, not missing.
    let r = check(&[msg("b", "INBOX")], &[msg("b", "Archive")]);
    let d = only(&r);
    assert_eq!(
        (d.status, d.grade, d.cause),
        (Status::Moved, Some(Grade::Identical), Cause::Moved)
    );
    assert_eq!(
        (d.before_folder.as_deref(), d.after_folder.as_deref()),
        (Some("INBOX"), Some("Archive"))
    );
    let inbox = &r.folders[0];
    let archive = &r.folders[1];
    assert_eq!((inbox.moved, archive.moved_in), (1, 1));
    assert!(r.complete);
    // Moved and re-encoded: one difference, moved, with its grade.
    let r = check(&[msg("c", "INBOX")], &[msg("c", "Archive").reencoded()]);
    let d = only(&r);
    assert_eq!((d.status, d.grade), (Status::Moved, Some(Grade::Reencoded)));
    assert!(d.reason.contains("re-encoded"), "{}", d.reason);
    assert_eq!((r.totals.moved, r.totals.by_match.reencoded), (1, 1));
}

#[test]
fn same_folder_first_within_each_tier() {
    // Two identical copies before (INBOX, Archive), two after in the same folders but listed
    // in the opposite order: each is matched in its own folder.
    let a = msg("a", "INBOX");
    let before = [a.clone(), a.clone().into_folder("Archive")];
    let after = [a.clone().into_folder("Archive"), a.clone()];
    assert!(check(&before, &after).differences.is_empty());
    // Re-encoded in its folder, identical elsewhere: the identical copy is the stronger match
    // (tiers come first), the re-encoded one an extra copy.
    let r = check(
        std::slice::from_ref(&a),
        &[a.clone().reencoded(), a.clone().into_folder("Archive")],
    );
    assert_eq!(
        statuses(&r),
        [
            (Status::Moved, "About a".into()),
            (Status::Duplicate, "About a".into())
        ]
    );
}

#[test]
fn folders_are_mapped_before_matching() {
    let before = [msg("a", "Sent"), msg("b", "Receipts")];
    let after = [msg("a", "Sent Items"), msg("b", "Quittungen")];
    let r = check_folders(
        &["Sent", "Receipts"],
        &before,
        &["Sent Items", "Quittungen"],
        &after,
    );
    // The renamed Sent folder is recognised; the translated one is not, so its message moved.
    assert_eq!(statuses(&r), [(Status::Moved, "About b".into())]);
    let d = &r.differences[0];
    assert_eq!(d.cause, Cause::FolderMissingAfter);
    assert!(
        d.reason.contains("“Receipts” is not in the new mailbox"),
        "{}",
        d.reason
    );
    assert_eq!(r.folders[0].rule, Some(Rule::WellKnownName));
    assert_eq!(
        (
            r.folders[1].before.as_deref(),
            r.folders[1].after.as_deref()
        ),
        (Some("Receipts"), None)
    );
    assert_eq!(
        (
            r.folders[2].before.as_deref(),
            r.folders[2].after.as_deref()
        ),
        (None, Some("Quittungen"))
    );
    assert!(
        r.mapping
            .iter()
            .any(|m| m.rule == Some(Rule::WellKnownName) && m.reason.contains("Sent Items"))
    );
    // Mapped by the user: identical.
    let mapped = checked(
        reconcile_receipts(
            &receipt(&["Sent", "Receipts"], &before),
            &receipt(&["Sent Items", "Quittungen"], &after),
            &[FolderOverride::parse("Receipts=Quittungen").unwrap()],
        )
        .unwrap(),
    );
    assert!(mapped.differences.is_empty());
    assert_eq!(mapped.folders[1].rule, Some(Rule::Override));
}

#[test]
fn a_lost_folder_is_named_as_the_cause() {
    let r = check_folders(
        &["INBOX", "Newsletters"],
        &[msg("a", "INBOX"), msg("n", "Newsletters")],
        &["INBOX"],
        &[msg("a", "INBOX")],
    );
    let d = only(&r);
    assert_eq!(
        (d.status, d.cause),
        (Status::Missing, Cause::FolderMissingAfter)
    );
    assert_eq!(r.folders[1].after, None);
    assert_eq!(r.folders[1].missing, 1);
}

const GMAIL: &[&str] = &["INBOX", "Work", "[Gmail]/All Mail", "[Gmail]/Trash"];

#[test]
fn labels_lose_placements_not_mail() {
    let m = msg("m", "INBOX");
    let archived = msg("x", "[Gmail]/All Mail");
    let before = [
        m.clone(),
        m.clone().into_folder("Work"),
        m.clone().into_folder("[Gmail]/All Mail"),
        archived.clone(),
    ];
    // Work lost its label on m; m is still in INBOX and All Mail.
    let after = [
        m.clone(),
        m.clone().into_folder("[Gmail]/All Mail"),
        archived.clone(),
    ];
    let r = check_folders(GMAIL, &before, GMAIL, &after);
    let d = only(&r);
    assert_eq!(
        (d.status, d.cause),
        (Status::LostPlacement, Cause::LabelRemoved)
    );
    assert_eq!(d.before_folder.as_deref(), Some("Work"));
    assert!(r.complete, "a lost placement is not lost mail");
    assert_eq!((r.totals.unique_before, r.totals.before), (2, 4));
    assert_eq!(
        r.verdict,
        "All 2 messages are in your new mailbox; 1 of their 4 folder placements (labels) were lost."
    );
    // A message gone from All Mail and every label is missing.
    let r = check_folders(
        GMAIL,
        &before,
        GMAIL,
        &[
            m.clone(),
            m.clone().into_folder("Work"),
            m.into_folder("[Gmail]/All Mail"),
        ],
    );
    let d = only(&r);
    assert_eq!(
        (d.status, d.subject.as_deref()),
        (Status::Missing, Some("About x"))
    );
    // Lost from every folder it was in: one message missing, three placements.
    let r = check_folders(GMAIL, &before, GMAIL, std::slice::from_ref(&archived));
    assert_eq!((r.totals.missing, r.totals.missing_messages), (3, 1));
    assert!(r.before.labels && r.after.labels);
    assert_eq!(
        r.verdict,
        "1 message is missing from your new mailbox (3 of 4 folder placements)."
    );
}

#[test]
fn labels_added_are_placements_not_duplicates() {
    // Into a label-style mailbox: All Mail holds every message once more.
    let before = [msg("a", "INBOX"), msg("b", "Work")];
    let after = [
        msg("a", "INBOX"),
        msg("b", "Work"),
        msg("a", "[Gmail]/All Mail"),
        msg("b", "[Gmail]/All Mail"),
    ];
    let r = check_folders(&["INBOX", "Work"], &before, GMAIL, &after);
    assert_eq!(r.totals.placements, 2);
    assert_eq!(r.totals.duplicates, 0);
    assert!(
        r.differences
            .iter()
            .all(|d| d.cause == Cause::ExtraPlacement)
    );
    // Two copies in one label folder are still a duplicate.
    let after = [msg("a", "INBOX"), msg("a", "INBOX"), msg("b", "Work")];
    let r = check_folders(&["INBOX", "Work"], &before, GMAIL, &after);
    assert_eq!(statuses(&r), [(Status::Duplicate, "About a".into())]);
}

#[test]
fn excluded_messages_are_not_new_when_they_come_back() {
    let deleted = msg("d", "INBOX").excluded("deleted but not compacted");
    let before = [msg("a", "INBOX"), deleted.clone()];
    let after = [msg("a", "INBOX"), msg("d", "INBOX")];
    let r = check(&before, &after);
    let d = only(&r);
    assert_eq!(
        (d.status, d.cause),
        (Status::Excluded, Cause::ExcludedBySource)
    );
    assert!(
        d.reason.contains("deleted but not compacted"),
        "{}",
        d.reason
    );
    assert_eq!((r.totals.before, r.totals.after, r.totals.new), (1, 2, 0));
    assert_eq!(r.folders[0].not_mail_before, 1);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("deleted but not compacted"))
    );
    // The other way: in the new mailbox only as a deleted message.
    let r = check(
        &[msg("a", "INBOX")],
        &[msg("a", "INBOX").excluded("deleted")],
    );
    let d = only(&r);
    assert_eq!((d.status, d.cause), (Status::Missing, Cause::DeletedInNew));
    assert_eq!(r.totals.after, 0);
}

#[test]
fn new_mail_dated_after_the_receipt_arrived_after_it() {
    let after = [
        msg("a", "INBOX"),
        msg("later", "INBOX").dated(TAKEN + 3600),
        msg("older", "INBOX"),
    ];
    let r = check(&[msg("a", "INBOX")], &after);
    let causes: Vec<Cause> = r.differences.iter().map(|d| d.cause).collect();
    assert_eq!(causes, [Cause::ArrivedAfterReceipt, Cause::NotInReceipt]);
    assert_eq!((r.totals.new, r.totals.arrived_after), (2, 1));
    assert_eq!(r.differences[0].before_folder, None);
    assert_eq!(r.differences[0].after_folder.as_deref(), Some("INBOX"));
    assert_eq!(
        r.differences[0].digest,
        msg("later", "INBOX").identity.digest
    );
}

#[test]
fn different_identity_versions_compare_digests_only() {
    let before = receipt(&["INBOX"], &[msg("a", "INBOX"), msg("b", "INBOX")]);
    let mut after = receipt(
        &["INBOX"],
        &[msg("a", "INBOX"), msg("b", "INBOX").normalised()],
    );
    after.header.identity_version += 1;
    let r = checked(reconcile_receipts(&before, &after, &[]).unwrap());
    assert_eq!(r.totals.missing, 1);
    assert!(r.notes.iter().any(|n| n.contains("identity versions")));
}

#[test]
fn a_changed_receipt_is_noted() {
    let mut before = receipt(&["INBOX"], &[msg("a", "INBOX")]);
    before.seal = SealCheck::Mismatch {
        expected: "x".into(),
        actual: "y".into(),
    };
    let r = checked(
        reconcile_receipts(&before, &receipt(&["INBOX"], &[msg("a", "INBOX")]), &[]).unwrap(),
    );
    assert!(!r.before.intact && r.before.code.is_none());
    assert!(r.notes.iter().any(|n| n.contains("seal")));
}

#[test]
fn the_result_is_deterministic_and_complete() {
    // A mix of everything, twice: the same report, and the per-folder counts reconcile.
    let a = msg("a", "INBOX");
    let before = [
        a.clone(),
        a.clone(),
        a.clone().into_folder("Archive"),
        msg("b", "INBOX"),
        msg("c", "Sent").without_message_id(),
        msg("d", "Archive"),
        msg("e", "INBOX"),
        msg("f", "INBOX").excluded("deleted"),
    ];
    let after = [
        msg("e", "Archive").normalised(),
        a.clone().normalised(),
        msg("c", "Sent").without_message_id().altered(),
        a.clone().into_folder("Archive"),
        msg("b", "INBOX").reencoded(),
        msg("b", "INBOX").reencoded(),
        msg("new", "Sent").dated(TAKEN + 1),
        msg("f", "Archive"),
    ];
    let first = check(&before, &after);
    let second = check(&before, &after);
    assert_eq!(first, second);
    let t = &first.totals;
    assert_eq!(
        (
            t.missing,
            t.moved,
            t.duplicates,
            t.new,
            t.excluded,
            t.altered,
            t.reencoded,
            t.normalised
        ),
        (2, 1, 1, 1, 1, 1, 1, 1)
    );
    assert_eq!(
        first.verdict,
        "2 messages are missing from your new mailbox; 1 arrived altered."
    );
}

#[test]
fn an_empty_receipt() {
    let r = check(&[], &[msg("a", "INBOX").dated(TAKEN - 10)]);
    assert_eq!(
        r.verdict,
        "The receipt lists no messages, so none can be missing."
    );
    assert!(r.complete);
}

#[test]
fn text_summary_and_csv() {
    let before = [msg("a", "INBOX"), msg("b", "INBOX"), msg("c", "Sent")];
    let mut tricky = msg("c", "Sent").altered();
    tricky.identity.subject = Some("=HYPERLINK(\"x\"), \"quoted\"".into());
    let after = [msg("a", "INBOX"), tricky];
    let mut r = check(&before, &after);
    r.differences[1].subject = Some("=HYPERLINK(\"x\"), \"quoted\"\nnext".into());

    let mut text = Vec::new();
    text::write_text(&r, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with(&r.verdict), "{text}");
    assert!(
        text.contains("About b") && text.contains("alice@example.com"),
        "{text}"
    );
    assert!(text.contains("Arrived altered"), "{text}");

    let mut summary = Vec::new();
    text::write_summary(&r, false, &mut summary).unwrap();
    let summary = String::from_utf8(summary).unwrap();
    assert!(
        summary.contains(&r.verdict) && summary.contains("7KQM-2XHD-P9TA"),
        "{summary}"
    );
    assert!(
        !summary.contains('@') && !summary.contains("About b"),
        "{summary}"
    );
    let mut detailed = Vec::new();
    text::write_summary(&r, true, &mut detailed).unwrap();
    assert!(String::from_utf8(detailed).unwrap().contains("About b"));

    let mut csv = Vec::new();
    text::write_csv(&r, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert!(
        lines[0].starts_with("status,match,cause,before_folder"),
        "{csv}"
    );
    assert!(lines[1].starts_with("missing,,not_found,INBOX,,"), "{csv}");
    // Quoted, quotes doubled, a formula defused, the line break kept inside the cell.
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"x\"\"), \"\"quoted\"\"\nnext\","),
        "{csv}"
    );
}

/// Writes a receipt as `mailproof receipt` would, through the receipt writer.
fn write(r: &Receipt, path: &std::path::Path) {
    use crate::receipt::{ReceiptWriter, Record};
    let mut w = ReceiptWriter::create(path).unwrap();
    w.write(&Record::Header(r.header.clone())).unwrap();
    for (f, end) in r.folders.iter().zip(&r.folder_ends) {
        w.write(&Record::Folder(f.clone())).unwrap();
        for m in r.messages.iter().filter(|m| m.folder == f.id) {
            w.write(&Record::Message(Box::new(m.clone()))).unwrap();
        }
        w.write(&Record::FolderEnd(end.clone())).unwrap();
    }
    w.write(&Record::Totals(r.totals.clone())).unwrap();
    w.seal().unwrap();
}

#[test]
fn a_catalog_read_from_a_file_is_the_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let before = receipt(
        &["INBOX", "Sent"],
        &[
            msg("a", "INBOX"),
            msg("b", "Sent").without_message_id(),
            msg("c", "INBOX").excluded("deleted"),
        ],
    );
    let after = receipt(
        &["INBOX", "Sent"],
        &[msg("a", "INBOX").normalised(), msg("c", "Sent")],
    );
    let (b, a) = (dir.path().join("b.receipt"), dir.path().join("a.receipt"));
    write(&before, &b);
    write(&after, &a);
    let (cb, ca) = (Catalog::load(&b).unwrap(), Catalog::load(&a).unwrap());
    assert!(cb.code().is_some(), "the seal is checked while reading");
    let from_files = checked(reconcile(&cb, &ca, &[]).unwrap());
    let mut in_memory = reconcile_receipts(&before, &after, &[]).unwrap();
    // The receipts in memory carry a made-up code; the files their real seal.
    in_memory.before.code = from_files.before.code.clone();
    in_memory.after.code = from_files.after.code.clone();
    assert_eq!(from_files, in_memory);
    assert_eq!(
        statuses(&from_files),
        [
            (Status::Missing, "About b".into()),
            (Status::Normalised, "About a".into()),
            (Status::Excluded, "About c".into()),
        ]
    );
    // A damaged receipt is an error naming the file and the line.
    std::fs::write(&b, "{\"type\":\"header\"}\n").unwrap();
    let err = Catalog::load(&b).unwrap_err().to_string();
    assert!(err.contains("b.receipt") && err.contains("line"), "{err}");
}

#[test]
fn a_mailbox_is_read_into_a_receipt_first() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("Inbox.mbox");
    std::fs::write(
        &mbox,
        "From a@example.com Thu Jan  1 00:00:00 2004\nMessage-ID: <1@example.com>\nFrom: a@example.com\nSubject: One\n\nHello\n\nFrom b@example.com Thu Jan  1 00:00:00 2004\nMessage-ID: <2@example.com>\nFrom: b@example.com\nSubject: Two\n\nWorld\n",
    )
    .unwrap();
    let spec = mbox.to_str().unwrap();
    let live = snapshot(spec, &crate::pipeline::Options::default(), &|_| {}).unwrap();
    assert!(live.read_now);
    assert_eq!(live.catalog.messages.mail.len(), 2);
    // Checked against itself: everything is there, and the receipt of the mailbox was removed.
    let (b, a) = snapshots(spec, spec, &Default::default(), &|_| {}, &|_| {}).unwrap();
    let report = super::check(&b, &a, &[]).unwrap();
    assert!(report.before.read_now && report.after.read_now);
    assert_eq!(report.verdict, "All 2 messages are in your new mailbox.");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing written beside the mailbox");
    let err = snapshot("/no/such/mailbox", &Default::default(), &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such file"), "{err}");
}
