//! The check report: everything a front end shows or saves, built from the matching, with no
//! formatting decisions left except layout. Serialised as the JSON report (docs/check-report.md).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, Message};
use super::folders::{self, FolderMap, Rule};
use super::reconcile::{AfterFate, BeforeFate, Fates, Grade, Missing, Tier};
use crate::identity::Eol;
use crate::receipt::SealCheck;
use crate::source::SourceDescription;

/// The JSON report's schema name and version; a change of meaning raises the version.
pub const SCHEMA: &str = "mailproof-check-report/1";

/// The whole result of a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The program that made the report.
    pub tool: String,
    /// One plain sentence: what a person needs to know first.
    pub verdict: String,
    /// Nothing is missing (differences may remain).
    pub complete: bool,
    pub before: Side,
    pub after: Side,
    pub totals: Totals,
    /// One row per folder pair, receipt order first, then folders only in the new mailbox.
    pub folders: Vec<FolderRow>,
    /// The folder mapping used, and why each pair was made.
    pub mapping: Vec<Mapping>,
    /// One entry per message that is not identical in place; see [`Status`].
    pub differences: Vec<Difference>,
    /// Facts that bear on the result: unreadable messages, damaged receipts, version changes.
    pub notes: Vec<String>,
}

/// One side of the check, as its receipt describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub source: SourceDescription,
    /// The receipt code; `None` when the seal does not match.
    pub code: Option<String>,
    /// The receipt's seal matches its contents.
    pub intact: bool,
    /// When the receipt was taken, RFC 3339 UTC.
    pub created: String,
    pub tool: String,
    pub identity_version: u32,
    /// The receipt was taken by this check (a live mailbox), not loaded from a file.
    pub read_now: bool,
    pub folders: u64,
    /// Messages counted as mail.
    pub messages: u64,
    /// Messages the source holds but does not count as mail (e.g. deleted, not compacted).
    pub not_mail: u64,
    pub unreadable: u64,
    /// Folders that could not be read to the end.
    pub folder_errors: u64,
    /// The mailbox files one message in several folders, as labels (it has an All Mail folder);
    /// its folders are placements of unique messages.
    pub labels: bool,
}

/// The counts of the whole check. Before-side statuses add up to `before`, after-side ones to
/// `after`:
///
/// - before = identical + normalised + reencoded + altered + moved + lost_placements + missing
/// - after = identical + normalised + reencoded + altered + moved + new + duplicates +
///   placements + excluded
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub before: u64,
    pub after: u64,
    pub identical: u64,
    pub normalised: u64,
    pub reencoded: u64,
    pub altered: u64,
    /// Found, in another folder than the one mapped from its own (any grade).
    pub moved: u64,
    /// Label-style mailboxes: a folder lost a message that is still in another folder.
    pub lost_placements: u64,
    pub missing: u64,
    pub new: u64,
    /// Extra copies of messages that are in the receipt.
    pub duplicates: u64,
    /// Label-style mailboxes: a message of the receipt filed in one more folder.
    pub placements: u64,
    /// Messages the receipt did not count as mail (excluded by the source) that are back.
    pub excluded: u64,
    /// Of `missing`: without a Message-ID, so recognisable by content only.
    pub unidentified: u64,
    /// Of `missing`: one copy too few of a message that is still there.
    pub duplicates_collapsed: u64,
    /// Of `missing`: distinct messages (by raw digest). In a label-style mailbox a message lost
    /// from every folder it was in is one message missing, however many placements it had.
    pub missing_messages: u64,
    /// Of `new`: dated after the receipt was taken.
    pub arrived_after: u64,
    /// Distinct messages (by raw digest), however many folders hold them.
    pub unique_before: u64,
    pub unique_after: u64,
    /// Every found message by how it matched, moved ones included.
    pub by_match: ByMatch,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByMatch {
    pub identical: u64,
    pub normalised: u64,
    pub reencoded: u64,
    pub altered: u64,
}

/// One folder of the receipt (or several the user merged) and its counterpart, with the same
/// counts as [`Totals`]; they reconcile per row:
/// after_count = before_count − moved − lost_placements − missing + moved_in + new +
/// duplicates + placements + excluded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderRow {
    /// The folder's name in the receipt (modified UTF-7 decoded; several joined by " + ");
    /// `None` for a folder only in the new mailbox.
    pub before: Option<String>,
    /// Its counterpart in the new mailbox; `None` when it has none.
    pub after: Option<String>,
    /// How the two were paired.
    pub rule: Option<Rule>,
    pub before_count: u64,
    pub after_count: u64,
    pub identical: u64,
    pub normalised: u64,
    pub reencoded: u64,
    pub altered: u64,
    /// Found in another folder.
    pub moved: u64,
    pub lost_placements: u64,
    pub missing: u64,
    /// Messages of other folders found here.
    pub moved_in: u64,
    pub new: u64,
    pub duplicates: u64,
    pub placements: u64,
    pub excluded: u64,
    pub not_mail_before: u64,
    pub not_mail_after: u64,
    pub unreadable_before: u64,
    pub unreadable_after: u64,
    /// Why the new folder could not be read to the end, when it could not.
    pub error_after: Option<String>,
}

/// One line of the folder mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub before: Option<String>,
    pub after: Option<String>,
    /// The real names, as path segments (what the receipts hold).
    pub before_path: Option<Vec<String>>,
    pub after_path: Option<Vec<String>>,
    /// `None` when the folder has no counterpart.
    pub rule: Option<Rule>,
    pub reason: String,
}

/// What a difference is. The first seven are the issue's; the others exist because label-style
/// mailboxes and messages a source excludes need their own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In the receipt, not in the new mailbox.
    Missing,
    /// Found with its content altered (to review).
    Altered,
    /// Found re-encoded.
    Reencoded,
    /// Found identical after normalisation.
    Normalised,
    /// Found in another folder (its grade in `match`).
    Moved,
    /// Gone from this folder, still in another one of a label-style mailbox.
    LostPlacement,
    /// Only in the new mailbox.
    New,
    /// One copy more of a message of the receipt.
    Duplicate,
    /// A message of the receipt filed in one more folder of a label-style mailbox.
    Placement,
    /// A message the receipt did not count as mail, now in the new mailbox.
    Excluded,
}

impl Status {
    /// Every status, in the order of the report's differences.
    pub const ALL: [Status; 10] = [
        Status::Missing,
        Status::Altered,
        Status::Reencoded,
        Status::Normalised,
        Status::Moved,
        Status::LostPlacement,
        Status::New,
        Status::Duplicate,
        Status::Placement,
        Status::Excluded,
    ];

    /// True for the statuses of messages that exist only in the new mailbox.
    pub fn after_only(self) -> bool {
        matches!(
            self,
            Status::New | Status::Duplicate | Status::Placement | Status::Excluded
        )
    }
}

/// Why a difference happened, as far as the two receipts tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Line endings, header folding or store and trace header fields changed.
    HeadersOrLineEndings,
    /// Altered by re-encoding: MIME encoding, boundaries, header order or other fields.
    Reencoded,
    /// Same Message-ID, date and sender; other content.
    ContentAltered,
    /// Recognised by the tolerant key; its Message-ID was rewritten.
    MessageIdRewritten,
    /// Recognised by the tolerant key; one side has no Message-ID.
    RecognisedByContent,
    Moved,
    /// Its folder has no counterpart in the new mailbox.
    FolderMissingAfter,
    /// A label-style folder lost it.
    LabelRemoved,
    /// One copy too few of a message that is still there.
    DuplicateCollapsed,
    /// In the new mailbox only as a message its source does not count (e.g. deleted).
    DeletedInNew,
    /// Its folder in the new mailbox could not be read to the end.
    FolderUnreadable,
    /// Not found, and without Message-ID: recognisable by content only.
    Unidentified,
    NotFound,
    /// New mail dated after the receipt was taken.
    ArrivedAfterReceipt,
    NotInReceipt,
    ExtraCopy,
    ExtraPlacement,
    /// The receipt's source held it but did not count it as mail (e.g. deleted).
    ExcludedBySource,
}

/// One message that is not simply identical in its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub status: Status,
    /// How the message was recognised, for found messages.
    #[serde(rename = "match")]
    pub grade: Option<Grade>,
    pub cause: Cause,
    /// The cause in plain words. (Reasons and folder names are shared between differences:
    /// a million differences often have a handful of distinct reasons.)
    pub reason: Arc<str>,
    pub before_folder: Option<Arc<str>>,
    pub after_folder: Option<Arc<str>>,
    pub message_id: Option<String>,
    /// The raw digest before; for messages only in the new mailbox, the raw digest after.
    pub digest: String,
    /// The raw digest of the copy in the new mailbox, when there is one.
    pub after_digest: Option<String>,
    /// The Date header, Unix seconds UTC.
    pub date: Option<i64>,
    pub from: Option<String>,
    pub subject: Option<String>,
}

pub use crate::units::{plural, thousands};

/// Unix seconds as `2025-03-01 09:00 UTC`.
pub fn when(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// The sentence a person reads first. In a label-style mailbox (`labels`) a message filed in
/// several folders is one message, so missing mail is counted in messages, not placements.
pub fn verdict(t: &Totals, labels: bool) -> String {
    let altered = t.by_match.altered;
    let altered = (altered > 0).then(|| format!("{} arrived altered", thousands(altered)));
    let mut clauses = Vec::new();
    if t.missing > 0 && labels {
        clauses.push(format!(
            "{} missing from your new mailbox ({} of {} folder placements)",
            plural(t.missing_messages, "message is", "messages are"),
            thousands(t.missing),
            thousands(t.before)
        ));
    } else if t.missing > 0 {
        clauses.push(format!(
            "{} missing from your new mailbox",
            plural(t.missing, "message is", "messages are")
        ));
    } else if t.before == 0 {
        clauses.push("The receipt lists no messages, so none can be missing".to_string());
    } else if t.lost_placements > 0 {
        clauses.push(format!(
            "All {} are in your new mailbox",
            plural(t.unique_before, "message", "messages")
        ));
        clauses.push(format!(
            "{} of their {} folder placements (labels) were lost",
            thousands(t.lost_placements),
            thousands(t.before)
        ));
    } else if t.before == 1 {
        clauses.push("The one message is in your new mailbox".to_string());
    } else {
        clauses.push(format!(
            "All {} messages are in your new mailbox",
            thousands(t.before)
        ));
    }
    clauses.extend(altered);
    format!("{}.", clauses.join("; "))
}

/// Builds the report from the matching; `unique` are the distinct messages of each side,
/// `labels` whether each side is label-style.
pub(crate) fn build(
    before: &Catalog,
    after: &Catalog,
    map: &FolderMap,
    fates: &Fates,
    unique: (u64, u64),
    labels: (bool, bool),
) -> CheckReport {
    let ctx = Context::new(before, after, map);
    let (mut rows, row_of_before, row_of_after) = layout(before, after, map, &ctx);
    let mut totals = Totals {
        unique_before: unique.0,
        unique_after: unique.1,
        ..Totals::default()
    };
    // Differences are counted first and built afterwards, status by status: the list, which can
    // hold a million entries, is allocated once at its final size and needs no sorting.
    let mut buckets: [Vec<u32>; Status::ALL.len()] = Default::default();

    for (i, fate) in fates.before.iter().enumerate() {
        let m = before.mail(i);
        let row = row_of_before[m.folder];
        rows[row].before_count += 1;
        let status = match *fate {
            BeforeFate::Found { after: ai, tier } => {
                let am = after.mail(ai as usize);
                let grade = tier.grade();
                count_grade(&mut totals.by_match, grade);
                if ctx.target(m.folder) == Some(am.folder) {
                    count_grade_row(&mut rows[row], grade);
                    in_place(grade)
                } else {
                    rows[row].moved += 1;
                    rows[row_of_after[am.folder]].moved_in += 1;
                    Some(Status::Moved)
                }
            }
            BeforeFate::LostPlacement { .. } => {
                rows[row].lost_placements += 1;
                Some(Status::LostPlacement)
            }
            BeforeFate::Missing(why) => {
                rows[row].missing += 1;
                match ctx.missing_cause(&m, why) {
                    Cause::DuplicateCollapsed => totals.duplicates_collapsed += 1,
                    Cause::DeletedInNew => {}
                    _ if m.message_id.is_none() => totals.unidentified += 1,
                    _ => {}
                }
                Some(Status::Missing)
            }
        };
        if let Some(status) = status {
            buckets[status as usize].push(i as u32);
        }
    }

    for (i, fate) in fates.after.iter().enumerate() {
        let m = after.mail(i);
        let row = &mut rows[row_of_after[m.folder]];
        row.after_count += 1;
        let status = match *fate {
            AfterFate::Found { .. } => continue,
            AfterFate::Excluded { .. } => {
                row.excluded += 1;
                Status::Excluded
            }
            AfterFate::Duplicate { .. } => {
                row.duplicates += 1;
                Status::Duplicate
            }
            AfterFate::Placement { .. } => {
                row.placements += 1;
                Status::Placement
            }
            AfterFate::New => {
                row.new += 1;
                if ctx.arrived_after(&m) {
                    totals.arrived_after += 1;
                }
                Status::New
            }
        };
        buckets[status as usize].push(i as u32);
    }

    for row in &rows {
        add_row(&mut totals, row);
    }
    totals.missing_messages = distinct_messages(before, &buckets[Status::Missing as usize]);
    let mut differences = Vec::with_capacity(buckets.iter().map(Vec::len).sum());
    for (status, bucket) in Status::ALL.iter().zip(&buckets) {
        for &i in bucket {
            differences.push(if status.after_only() {
                ctx.after_difference(i as usize, fates.after[i as usize])
            } else {
                ctx.before_difference(i as usize, fates.before[i as usize])
            });
        }
    }

    let mapping = mapping(before, after, map, &ctx);
    let notes = notes(before, after, &rows);
    let complete = totals.missing == 0;
    CheckReport {
        schema: SCHEMA.to_string(),
        tool: crate::TOOL.to_string(),
        verdict: verdict(&totals, labels.0),
        complete,
        before: side(before, totals.before, labels.0),
        after: side(after, totals.after, labels.1),
        totals,
        folders: rows,
        mapping,
        differences,
        notes,
    }
}

/// Names and facts the builders share.
struct Context<'a> {
    map: &'a FolderMap,
    before_names: Vec<Arc<str>>,
    after_names: Vec<Arc<str>>,
    /// Every distinct reason once.
    reasons: RefCell<HashSet<Arc<str>>>,
    /// Error of each after folder that could not be read to the end.
    after_errors: Vec<Option<&'a str>>,
    before: &'a Catalog,
    after: &'a Catalog,
    /// When the receipt before was taken, Unix seconds.
    created: Option<i64>,
}

impl<'a> Context<'a> {
    fn new(before: &'a Catalog, after: &'a Catalog, map: &'a FolderMap) -> Context<'a> {
        let mut after_errors = vec![None; after.folders.len()];
        for end in &after.folder_ends {
            if let Some(slot) = after_errors.get_mut(end.folder) {
                *slot = end.error.as_deref();
            }
        }
        Context {
            map,
            before_names: before
                .folders
                .iter()
                .map(|f| folders::display_name(f).into())
                .collect(),
            after_names: after
                .folders
                .iter()
                .map(|f| folders::display_name(f).into())
                .collect(),
            reasons: RefCell::default(),
            after_errors,
            before,
            after,
            created: time::OffsetDateTime::parse(
                &before.header.created,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
            .map(|t| t.unix_timestamp()),
        }
    }

    fn target(&self, before_folder: usize) -> Option<usize> {
        self.map.target.get(before_folder).copied().flatten()
    }

    /// The one shared copy of a reason.
    fn shared(&self, reason: String) -> Arc<str> {
        let mut reasons = self.reasons.borrow_mut();
        if let Some(r) = reasons.get(reason.as_str()) {
            return r.clone();
        }
        let r: Arc<str> = reason.into();
        reasons.insert(r.clone());
        r
    }

    fn before_name(&self, folder: usize) -> &str {
        &self.before_names[folder]
    }

    fn after_name(&self, folder: usize) -> &str {
        &self.after_names[folder]
    }

    /// A difference about a message of the receipt, with its recognisable fields.
    fn about(
        &self,
        m: &Message<'_>,
        status: Status,
        cause: Cause,
        reason: String,
        copy: Option<&Message<'_>>,
    ) -> Difference {
        Difference {
            status,
            grade: None,
            cause,
            reason: self.shared(reason),
            before_folder: Some(self.before_names[m.folder].clone()),
            after_folder: copy.map(|c| self.after_names[c.folder].clone()),
            message_id: m.message_id.map(str::to_string),
            digest: m.digest.to_string(),
            after_digest: copy.map(|c| c.digest.to_string()),
            date: m.date,
            from: m.from.map(str::to_string),
            subject: m.subject.map(str::to_string),
        }
    }

    fn found(&self, m: &Message<'_>, am: &Message<'_>, tier: Tier, moved: bool) -> Difference {
        let grade = tier.grade();
        let (cause, what) = match tier {
            Tier::Digest => (Cause::Moved, String::new()),
            Tier::Canonical => (Cause::HeadersOrLineEndings, normalised_reason(m, am)),
            Tier::Fingerprint => (Cause::Reencoded, reencoded_reason(m, am)),
            Tier::MessageId => (
                Cause::ContentAltered,
                "the same Message-ID, date and sender, but the content differs: review it"
                    .to_string(),
            ),
            Tier::Tolerant => tolerant_reason(m, am),
        };
        let mut d = if moved {
            let from = match self.target(m.folder) {
                Some(_) => format!(
                    "moved from “{}” to “{}”",
                    self.before_name(m.folder),
                    self.after_name(am.folder)
                ),
                None => format!(
                    "its folder “{}” is not in the new mailbox (if it was renamed, map it to its new name); the message is in “{}”",
                    self.before_name(m.folder),
                    self.after_name(am.folder)
                ),
            };
            let reason = if what.is_empty() {
                from
            } else {
                format!("{from}; {what}")
            };
            let cause = match self.target(m.folder) {
                Some(_) => Cause::Moved,
                None => Cause::FolderMissingAfter,
            };
            self.about(m, Status::Moved, cause, reason, Some(am))
        } else {
            let status = in_place(grade).unwrap_or(Status::Normalised);
            self.about(m, status, cause, what, Some(am))
        };
        d.grade = Some(grade);
        d
    }

    /// The difference a message of the receipt makes, for one that is not identical in place.
    fn before_difference(&self, i: usize, fate: BeforeFate) -> Difference {
        let m = self.before.mail(i);
        match fate {
            BeforeFate::Found { after, tier } => {
                let am = self.after.mail(after as usize);
                let moved = self.target(m.folder) != Some(am.folder);
                self.found(&m, &am, tier, moved)
            }
            BeforeFate::LostPlacement { seen } => {
                self.lost_placement(&m, &self.after.mail(seen as usize))
            }
            BeforeFate::Missing(why) => self.missing(&m, why),
        }
    }

    /// The difference a message only in the new mailbox makes.
    fn after_difference(&self, i: usize, fate: AfterFate) -> Difference {
        let m = self.after.mail(i);
        let (status, cause, reason) = match fate {
            AfterFate::Found { .. } => unreachable!("found messages are no difference"),
            AfterFate::Excluded { before } => {
                let bm = self.before.excluded(before as usize);
                (
                    Status::Excluded,
                    Cause::ExcludedBySource,
                    format!(
                        "the receipt did not count it as mail: excluded by the source ({}); it was in “{}”",
                        bm.excluded().unwrap_or("excluded"),
                        self.before_name(bm.folder)
                    ),
                )
            }
            AfterFate::Duplicate { of } => (
                Status::Duplicate,
                Cause::ExtraCopy,
                format!(
                    "one copy more of a message of the receipt (it was in “{}”)",
                    self.before_name(self.before.mail(of as usize).folder)
                ),
            ),
            AfterFate::Placement { of } => (
                Status::Placement,
                Cause::ExtraPlacement,
                format!(
                    "a message of the receipt (it was in “{}”) is also filed here: labels put one message in several folders",
                    self.before_name(self.before.mail(of as usize).folder)
                ),
            ),
            AfterFate::New if self.arrived_after(&m) => (
                Status::New,
                Cause::ArrivedAfterReceipt,
                format!(
                    "dated {}, after the receipt was taken ({})",
                    m.date.map(when).unwrap_or_default(),
                    self.created.map(when).unwrap_or_default()
                ),
            ),
            AfterFate::New => (
                Status::New,
                Cause::NotInReceipt,
                "not in the receipt".to_string(),
            ),
        };
        Difference {
            status,
            grade: None,
            cause,
            reason: self.shared(reason),
            before_folder: None,
            after_folder: Some(self.after_names[m.folder].clone()),
            message_id: m.message_id.map(str::to_string),
            digest: m.digest.to_string(),
            after_digest: Some(m.digest.to_string()),
            date: m.date,
            from: m.from.map(str::to_string),
            subject: m.subject.map(str::to_string),
        }
    }

    /// New mail dated after the receipt was taken.
    fn arrived_after(&self, m: &Message<'_>) -> bool {
        matches!((m.date, self.created), (Some(d), Some(c)) if d > c)
    }

    fn lost_placement(&self, m: &Message<'_>, seen: &Message<'_>) -> Difference {
        let reason = format!(
            "no longer in “{}”, but the message is still in “{}”: labels put one message in several folders, and this one lost a label",
            self.before_name(m.folder),
            self.after_name(seen.folder)
        );
        let cause = match self.target(m.folder) {
            Some(_) => Cause::LabelRemoved,
            None => Cause::FolderMissingAfter,
        };
        self.about(m, Status::LostPlacement, cause, reason, None)
    }

    fn missing_cause(&self, m: &Message<'_>, why: Missing) -> Cause {
        match (why, self.target(m.folder)) {
            (Missing::Collapsed { .. }, _) => Cause::DuplicateCollapsed,
            (Missing::Deleted { .. }, _) => Cause::DeletedInNew,
            (Missing::Gone, None) => Cause::FolderMissingAfter,
            (Missing::Gone, Some(t)) if self.after_errors[t].is_some() => Cause::FolderUnreadable,
            (Missing::Gone, Some(_)) if m.message_id.is_none() => Cause::Unidentified,
            (Missing::Gone, Some(_)) => Cause::NotFound,
        }
    }

    fn missing(&self, m: &Message<'_>, why: Missing) -> Difference {
        let cause = self.missing_cause(m, why);
        let target = self.target(m.folder).unwrap_or_default();
        let reason = match (cause, why) {
            (_, Missing::Collapsed { seen }) => format!(
                "a duplicate collapsed: the receipt had more copies of this message than the new mailbox; a copy is in “{}”",
                self.after_name(self.after.mail(seen as usize).folder)
            ),
            (_, Missing::Deleted { excluded }) => {
                let am = self.after.excluded(excluded as usize);
                format!(
                    "in the new mailbox (in “{}”) only as a message it does not count as mail: {}",
                    self.after_name(am.folder),
                    am.excluded().unwrap_or("excluded")
                )
            }
            (Cause::FolderMissingAfter, _) => format!(
                "its folder “{}” is not in the new mailbox",
                self.before_name(m.folder)
            ),
            (Cause::FolderUnreadable, _) => format!(
                "not found; the folder “{}” of the new mailbox could not be read to the end ({})",
                self.after_name(target),
                self.after_errors[target].unwrap_or_default()
            ),
            (Cause::Unidentified, _) => "not in the new mailbox; it has no Message-ID, so it is recognised by its content only, and a migration that rebuilt it would hide it".to_string(),
            _ => "not in the new mailbox".to_string(),
        };
        self.about(m, Status::Missing, cause, reason, None)
    }
}

fn eol_name(eol: Eol) -> &'static str {
    match eol {
        Eol::None => "none",
        Eol::Lf => "LF",
        Eol::Crlf => "CRLF",
        Eol::Mixed => "mixed",
    }
}

fn header_names(names: Vec<&str>) -> String {
    names
        .iter()
        .map(|&n| match n {
            "from_" => "the mbox From_ line",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which line endings and store or trace header fields differ between two copies.
fn changes(b: &Message<'_>, a: &Message<'_>) -> Vec<String> {
    let mut parts = Vec::new();
    if b.eol != a.eol {
        parts.push(format!(
            "line endings {} → {}",
            eol_name(b.eol),
            eol_name(a.eol)
        ));
    }
    let added: Vec<&str> = a
        .stripped()
        .filter(|h| !b.stripped().any(|x| x == *h))
        .collect();
    let removed: Vec<&str> = b
        .stripped()
        .filter(|h| !a.stripped().any(|x| x == *h))
        .collect();
    if !added.is_empty() {
        parts.push(format!("header fields added: {}", header_names(added)));
    }
    if !removed.is_empty() {
        parts.push(format!("header fields removed: {}", header_names(removed)));
    }
    parts
}

/// A receipt lists which store and trace fields a copy has, not how many, so a second
/// `Received` added to one that was there is invisible: the reason names what is known to
/// differ, then where any other difference can only be.
fn normalised_reason(b: &Message<'_>, a: &Message<'_>) -> String {
    let mut parts = changes(b, a);
    let mut others: Vec<&str> = Vec::new();
    for name in b.stripped().chain(a.stripped()) {
        if b.stripped().any(|x| x == name) == a.stripped().any(|x| x == name)
            && !others.contains(&name)
        {
            others.push(name);
        }
    }
    let rest = if others.is_empty() {
        "header folding or a trailing empty line".to_string()
    } else {
        format!(
            "header folding, a trailing empty line or the store and trace fields {}",
            header_names(others)
        )
    };
    if parts.is_empty() {
        parts.push(format!("only {rest} differ"));
    } else {
        parts.push(format!("any other difference only in {rest}"));
    }
    format!("identical after normalisation: {}", parts.join("; "))
}

fn reencoded_reason(b: &Message<'_>, a: &Message<'_>) -> String {
    let mut text = "re-encoded: the sender, date, recipients, subject, text and attachments are the same; the MIME encoding, header order or other header fields changed".to_string();
    for part in changes(b, a) {
        text.push_str("; ");
        text.push_str(&part);
    }
    text
}

fn tolerant_reason(b: &Message<'_>, a: &Message<'_>) -> (Cause, String) {
    const SAME: &str = "the date (to the minute), sender, subject and text are the same";
    match (b.message_id, a.message_id) {
        (Some(x), Some(y)) if x != y => (
            Cause::MessageIdRewritten,
            format!("its Message-ID was rewritten ({x} → {y}); {SAME}: review it"),
        ),
        (Some(_), Some(_)) => (
            Cause::ContentAltered,
            format!("the same Message-ID, but its exact date or sender differs; {SAME}: review it"),
        ),
        (None, None) => (
            Cause::RecognisedByContent,
            format!(
                "it has no Message-ID; recognised because {SAME}, but its content differs: review it"
            ),
        ),
        (Some(_), None) => (
            Cause::MessageIdRewritten,
            format!("its Message-ID was removed; {SAME}: review it"),
        ),
        (None, Some(_)) => (
            Cause::MessageIdRewritten,
            format!("a Message-ID was added; {SAME}: review it"),
        ),
    }
}

/// Distinct messages (by digest) among these messages of the receipt.
fn distinct_messages(before: &Catalog, list: &[u32]) -> u64 {
    let keys: Vec<_> = list
        .iter()
        .map(|&i| before.messages.mail.keys[i as usize])
        .collect();
    super::reconcile::distinct(&keys)
}

/// The status of a message found in its own folder; none when it is identical.
fn in_place(grade: Grade) -> Option<Status> {
    match grade {
        Grade::Identical => None,
        Grade::Normalised => Some(Status::Normalised),
        Grade::Reencoded => Some(Status::Reencoded),
        Grade::Altered => Some(Status::Altered),
    }
}

fn count_grade(m: &mut ByMatch, grade: Grade) {
    match grade {
        Grade::Identical => m.identical += 1,
        Grade::Normalised => m.normalised += 1,
        Grade::Reencoded => m.reencoded += 1,
        Grade::Altered => m.altered += 1,
    }
}

fn count_grade_row(row: &mut FolderRow, grade: Grade) {
    match grade {
        Grade::Identical => row.identical += 1,
        Grade::Normalised => row.normalised += 1,
        Grade::Reencoded => row.reencoded += 1,
        Grade::Altered => row.altered += 1,
    }
}

fn add_row(t: &mut Totals, r: &FolderRow) {
    t.before += r.before_count;
    t.after += r.after_count;
    t.identical += r.identical;
    t.normalised += r.normalised;
    t.reencoded += r.reencoded;
    t.altered += r.altered;
    t.moved += r.moved;
    t.lost_placements += r.lost_placements;
    t.missing += r.missing;
    t.new += r.new;
    t.duplicates += r.duplicates;
    t.placements += r.placements;
    t.excluded += r.excluded;
}

/// The rows of the folder table and, for each folder of each side, its row.
fn layout(
    before: &Catalog,
    after: &Catalog,
    map: &FolderMap,
    ctx: &Context<'_>,
) -> (Vec<FolderRow>, Vec<usize>, Vec<usize>) {
    let mut rows: Vec<FolderRow> = Vec::new();
    let mut row_of_before = vec![0; before.folders.len()];
    let mut row_of_after: Vec<Option<usize>> = vec![None; after.folders.len()];
    for (bf, &target) in map.target.iter().enumerate() {
        if let Some(row) = target.and_then(|af| row_of_after[af]) {
            // Several folders the user merged into one share its row.
            let names = rows[row].before.get_or_insert_with(String::new);
            names.push_str(" + ");
            names.push_str(ctx.before_name(bf));
            row_of_before[bf] = row;
            continue;
        }
        row_of_before[bf] = rows.len();
        if let Some(af) = target {
            row_of_after[af] = Some(rows.len());
        }
        rows.push(FolderRow {
            before: Some(ctx.before_name(bf).to_string()),
            after: target.map(|af| ctx.after_name(af).to_string()),
            rule: map.pairs.iter().find(|p| p.before == bf).map(|p| p.rule),
            ..FolderRow::default()
        });
    }
    for (af, row) in row_of_after.iter_mut().enumerate() {
        if row.is_none() {
            *row = Some(rows.len());
            rows.push(FolderRow {
                after: Some(ctx.after_name(af).to_string()),
                ..FolderRow::default()
            });
        }
    }
    let row_of_after: Vec<usize> = row_of_after.into_iter().map(|r| r.unwrap_or(0)).collect();
    for end in &before.folder_ends {
        if let Some(&r) = row_of_before.get(end.folder) {
            rows[r].not_mail_before += end.excluded;
            rows[r].unreadable_before += end.unreadable;
        }
    }
    for end in &after.folder_ends {
        if let Some(&r) = row_of_after.get(end.folder) {
            rows[r].not_mail_after += end.excluded;
            rows[r].unreadable_after += end.unreadable;
            if let Some(e) = &end.error {
                rows[r].error_after = Some(e.clone());
            }
        }
    }
    (rows, row_of_before, row_of_after)
}

fn mapping(before: &Catalog, after: &Catalog, map: &FolderMap, ctx: &Context<'_>) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = map
        .pairs
        .iter()
        .map(|p| Mapping {
            before: Some(ctx.before_name(p.before).to_string()),
            after: Some(ctx.after_name(p.after).to_string()),
            before_path: Some(before.folders[p.before].path.clone()),
            after_path: Some(after.folders[p.after].path.clone()),
            rule: Some(p.rule),
            reason: p.reason.clone(),
        })
        .collect();
    for (bf, f) in before.folders.iter().enumerate() {
        if map.target[bf].is_none() {
            out.push(Mapping {
                before: Some(ctx.before_name(bf).to_string()),
                after: None,
                before_path: Some(f.path.clone()),
                after_path: None,
                rule: None,
                reason: "no folder of the new mailbox has its name or role".to_string(),
            });
        }
    }
    let mut mapped = vec![false; after.folders.len()];
    for p in &map.pairs {
        mapped[p.after] = true;
    }
    for (af, f) in after.folders.iter().enumerate() {
        if !mapped[af] {
            out.push(Mapping {
                before: None,
                after: Some(ctx.after_name(af).to_string()),
                before_path: None,
                after_path: Some(f.path.clone()),
                rule: None,
                reason: "not in the receipt".to_string(),
            });
        }
    }
    out
}

fn side(r: &Catalog, messages: u64, labels: bool) -> Side {
    Side {
        source: r.header.source.clone(),
        code: r.code().map(str::to_string),
        intact: matches!(r.seal, SealCheck::Valid { .. }),
        created: r.header.created.clone(),
        tool: r.header.tool.clone(),
        identity_version: r.header.identity_version,
        read_now: false,
        folders: r.folders.len() as u64,
        messages,
        not_mail: r.totals.excluded,
        unreadable: r.totals.unreadable,
        folder_errors: r.totals.folder_errors,
        labels,
    }
}

fn notes(before: &Catalog, after: &Catalog, rows: &[FolderRow]) -> Vec<String> {
    let mut notes = Vec::new();
    if before.code().is_none() {
        notes.push("The receipt's seal does not match: it was changed after it was written, so it no longer proves what the mailbox held.".to_string());
    }
    if after.code().is_none() {
        notes.push("The receipt of the new mailbox was changed after it was written.".to_string());
    }
    if before.header.identity_version != after.header.identity_version {
        notes.push(format!(
            "The receipts were taken with different identity versions ({} and {}): only byte-identical messages can be recognised; take both receipts with the same Mailproof version for a full check.",
            before.header.identity_version, after.header.identity_version
        ));
    }
    if before.totals.unreadable > 0 {
        notes.push(format!(
            "{} could not be read when the receipt was taken; they cannot be checked.",
            plural(before.totals.unreadable, "message", "messages")
        ));
    }
    if after.totals.unreadable > 0 {
        notes.push(format!(
            "{} of the new mailbox could not be read; a missing message may be among them.",
            plural(after.totals.unreadable, "message", "messages")
        ));
    }
    for (r, end) in before
        .folder_ends
        .iter()
        .filter_map(|e| Some((before.folders.get(e.folder)?, e.error.as_deref()?)))
    {
        notes.push(format!(
            "The receipt did not read the folder “{}” to the end ({end}); what came after is not listed.",
            folders::display_name(r)
        ));
    }
    for row in rows {
        if let (Some(name), Some(e)) = (&row.after, &row.error_after) {
            notes.push(format!(
                "The folder “{name}” of the new mailbox could not be read to the end ({e})."
            ));
        }
    }
    let mut excluded: BTreeMap<&str, u64> = BTreeMap::new();
    for end in &before.folder_ends {
        for (reason, n) in &end.excluded_reasons {
            *excluded.entry(reason).or_default() += n;
        }
    }
    for (reason, n) in excluded {
        notes.push(format!(
            "{} in the receipt were not counted as mail: {reason}.",
            plural(n, "message", "messages")
        ));
    }
    notes
}
