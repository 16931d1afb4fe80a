//! Matching: which message of the new mailbox is which message of the receipt (design §5).
//!
//! Every message is reduced to fixed-size keys (128-bit prefixes of its digests, 128-bit hashes
//! of its Message-ID tuple), so a million messages match through hash maps of integers without
//! touching a string. Matching goes tier by tier, strongest first; within a tier, a message is
//! first looked for in its own (mapped) folder and only then anywhere, so "moved" is said only
//! when the same folder has no copy. Messages are multisets: each copy is matched at most once,
//! earliest first in receipt order, which makes the result deterministic.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use serde::{Deserialize, Serialize};

use super::catalog::Catalog;
use crate::receipt::MessageRecord;

/// How closely a found message matches its original, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    /// The same bytes.
    Identical,
    /// The same canonical form: only line endings, folding and store or trace headers differ.
    Normalised,
    /// The same fingerprint: the same message re-encoded.
    Reencoded,
    /// The same Message-ID, date and sender, or the same tolerant key: content altered.
    Altered,
}

/// The keys messages are matched by, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    Digest,
    Canonical,
    Fingerprint,
    /// Message-ID + Date + From.
    MessageId,
    /// The tolerant key, for messages without a Message-ID or whose Message-ID was rewritten.
    Tolerant,
}

impl Tier {
    pub(crate) const ALL: [Tier; 5] = [
        Tier::Digest,
        Tier::Canonical,
        Tier::Fingerprint,
        Tier::MessageId,
        Tier::Tolerant,
    ];

    /// The tiers usable between receipts of these identity versions: across versions only the
    /// raw digest means the same thing (docs/identity.md).
    pub(crate) fn usable(before: u32, after: u32) -> &'static [Tier] {
        if before == after {
            &Tier::ALL
        } else {
            &Tier::ALL[..1]
        }
    }

    pub(crate) fn grade(self) -> Grade {
        match self {
            Tier::Digest => Grade::Identical,
            Tier::Canonical => Grade::Normalised,
            Tier::Fingerprint => Grade::Reencoded,
            Tier::MessageId | Tier::Tolerant => Grade::Altered,
        }
    }

    /// A constant that keeps the keys of different tiers apart in shared maps.
    fn tag(self) -> u128 {
        (self as u128 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d_9e37_79b9_7f4a_7c15)
    }
}

/// One message reduced to what matching needs; 0 stands for an absent key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys {
    digest: u128,
    canonical: u128,
    fingerprint: u128,
    tolerant: u128,
    /// Hash of (Message-ID, Date, From); 0 without a Message-ID.
    message: u128,
    /// Hash of the Message-ID's part before the last `@`; 0 without a Message-ID.
    local: u64,
    /// Folder id in its receipt.
    pub(crate) folder: u32,
}

impl Keys {
    pub(crate) fn of(m: &MessageRecord) -> Keys {
        let id = &m.identity;
        let (message, local) = match &id.message_id {
            Some(mid) => {
                let local_part = mid.rsplit_once('@').map_or(mid.as_str(), |(l, _)| l);
                (
                    nonzero(hash128(&(mid, id.date, &id.from))),
                    nonzero(hash128(&local_part)) as u64,
                )
            }
            None => (0, 0),
        };
        Keys {
            digest: hex128(&id.digest),
            canonical: hex128(&id.canonical),
            fingerprint: hex128(&id.fingerprint),
            tolerant: hex128(&id.tolerant),
            message,
            local,
            folder: u32::try_from(m.folder).unwrap_or(u32::MAX),
        }
    }

    pub(crate) fn has_message_id(&self) -> bool {
        self.message != 0
    }

    /// The keys this message is filed under for a tier (at most two).
    fn filed(&self, tier: Tier) -> impl Iterator<Item = u128> {
        let t = tier.tag();
        let keys = match tier {
            Tier::Tolerant if self.tolerant == 0 => [0, 0],
            // Tolerant matches need compatible Message-IDs: none on one side, or the same
            // local part (a rewritten domain). Filing under these sub-keys enforces that.
            Tier::Tolerant if self.has_message_id() => [
                mix(self.tolerant ^ LOCAL, self.local),
                self.tolerant ^ WITH_ID,
            ],
            Tier::Tolerant => [self.tolerant ^ WITHOUT_ID, 0],
            _ => [self.plain(tier), 0],
        };
        keys.into_iter().filter(|&k| k != 0).map(move |k| k ^ t)
    }

    /// The keys this message looks for in a tier, in order of preference (at most two).
    fn wanted(&self, tier: Tier) -> impl Iterator<Item = u128> {
        let t = tier.tag();
        let keys = match tier {
            Tier::Tolerant if self.tolerant == 0 => [0, 0],
            Tier::Tolerant if self.has_message_id() => [
                mix(self.tolerant ^ LOCAL, self.local),
                self.tolerant ^ WITHOUT_ID,
            ],
            Tier::Tolerant => [self.tolerant ^ WITHOUT_ID, self.tolerant ^ WITH_ID],
            _ => [self.plain(tier), 0],
        };
        keys.into_iter().filter(|&k| k != 0).map(move |k| k ^ t)
    }

    fn plain(&self, tier: Tier) -> u128 {
        match tier {
            Tier::Digest => self.digest,
            Tier::Canonical => self.canonical,
            Tier::Fingerprint => self.fingerprint,
            Tier::MessageId => self.message,
            Tier::Tolerant => self.tolerant,
        }
    }
}

const LOCAL: u128 = 0x6c6f_6361_6c00_0000_0000_0000_0000_0001;
const WITH_ID: u128 = 0x7769_7468_2d69_6400_0000_0000_0000_0002;
const WITHOUT_ID: u128 = 0x6e6f_2d69_6400_0000_0000_0000_0000_0003;

/// Combines a key with a folder (or another small value) into a new key.
fn mix(key: u128, salt: u64) -> u128 {
    key ^ u128::from(salt.wrapping_add(1)).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
}

fn nonzero(k: u128) -> u128 {
    k.max(1)
}

/// 128 bits of hash: two SipHash runs told apart by a first byte.
fn hash128<T: Hash + ?Sized>(value: &T) -> u128 {
    let run = |seed: u8| {
        let mut h = DefaultHasher::new();
        seed.hash(&mut h);
        value.hash(&mut h);
        h.finish()
    };
    (u128::from(run(1)) << 64) | u128::from(run(2))
}

/// The first 128 bits of a hex SHA-256; 0 when absent or malformed.
fn hex128(hex: &str) -> u128 {
    let Some(digits) = hex.as_bytes().get(..32) else {
        return 0;
    };
    let mut v = 0u128;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return 0,
        };
        v = (v << 4) | u128::from(d);
    }
    v
}

/// Keys are already uniformly distributed (SHA-256 and SipHash outputs), so hashing them again
/// would only cost time: fold the two halves.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(word)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u128(&mut self, k: u128) {
        self.0 ^= (k as u64) ^ ((k >> 64) as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type KeyMap<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;
type KeySet = HashSet<u128, BuildHasherDefault<KeyHasher>>;

/// Distinct raw digests: unique messages, however many folders hold them.
pub(crate) fn distinct(keys: &[Keys]) -> u64 {
    let mut seen = KeySet::with_capacity_and_hasher(keys.len(), Default::default());
    keys.iter().filter(|k| seen.insert(k.digest)).count() as u64
}

/// What became of a message of the receipt (indices are into the catalogs' mail and excluded
/// lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BeforeFate {
    Found {
        after: u32,
        tier: Tier,
    },
    /// Gone from this folder, but the message is still in the (label-style) mailbox.
    LostPlacement {
        seen: u32,
    },
    Missing(Missing),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// Not in the new mailbox at all.
    Gone,
    /// One copy too few: another copy of the same message is there.
    Collapsed { seen: u32 },
    /// In the new mailbox only as a message its source does not count (e.g. deleted).
    Deleted { excluded: u32 },
}

/// What a message of the new mailbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterFate {
    Found {
        before: u32,
        tier: Tier,
    },
    /// A message the receipt did not count as mail (its `excluded`), now back.
    Excluded {
        before: u32,
    },
    /// One copy more of a message that is in the receipt.
    Duplicate {
        of: u32,
    },
    /// In a label-style mailbox, the message filed in one more folder.
    Placement {
        of: u32,
    },
    New,
}

/// The matching of one check.
pub(crate) struct Fates {
    pub(crate) before: Vec<BeforeFate>,
    pub(crate) after: Vec<AfterFate>,
}

/// What matching needs to know besides the messages.
pub(crate) struct Setting<'a> {
    /// For each before folder id, the after folder id it maps to.
    pub(crate) target: &'a [Option<usize>],
    pub(crate) tiers: &'a [Tier],
    /// The receipt before is label-style (it has an All Mail folder): a message lives once
    /// and its folders are placements.
    pub(crate) labels_before: bool,
    pub(crate) labels_after: bool,
}

/// Matches every message of the receipt `before` with the one `after`, then explains the
/// leftovers: excluded messages back, copies lost while the message is still there (a
/// collapsed duplicate, or a lost placement in a label-style mailbox), messages there only as
/// deleted ones, extra copies and placements. Whatever stays unexplained is missing or new.
pub(crate) fn run(before: &Catalog, after: &Catalog, s: &Setting<'_>) -> Fates {
    let (b, a) = (&before.messages, &after.messages);
    let target: Vec<Option<u32>> = s
        .target
        .iter()
        .map(|t| t.and_then(|t| u32::try_from(t).ok()))
        .collect();
    let target_of = |k: &Keys| target.get(k.folder as usize).copied().flatten();

    let mut free = vec![true; a.mail.len()];
    let everything: Vec<u32> = (0..b.mail.len() as u32).collect();
    let mut before = vec![BeforeFate::Missing(Missing::Gone); b.mail.len()];
    let mut after = vec![AfterFate::New; a.mail.len()];
    for (bi, ai, tier) in pair(
        &b.mail.keys,
        &everything,
        &a.mail.keys,
        &mut free,
        &target_of,
        s.tiers,
    ) {
        before[bi as usize] = BeforeFate::Found { after: ai, tier };
        after[ai as usize] = AfterFate::Found { before: bi, tier };
    }

    // Messages the receipt did not count as mail that are in the new mailbox again.
    let excluded: Vec<u32> = (0..b.excluded.len() as u32).collect();
    for (bi, ai, _) in pair(
        &b.excluded.keys,
        &excluded,
        &a.mail.keys,
        &mut free,
        &target_of,
        s.tiers,
    ) {
        after[ai as usize] = AfterFate::Excluded { before: bi };
    }

    let lost: Vec<u32> = everything
        .iter()
        .copied()
        .filter(|&i| matches!(before[i as usize], BeforeFate::Missing(_)))
        .collect();
    let extra: Vec<u32> = (0..a.mail.len() as u32)
        .filter(|&i| after[i as usize] == AfterFate::New)
        .collect();
    if lost.is_empty() && extra.is_empty() {
        return Fates { before, after };
    }

    // Where else the leftovers' messages are: only their keys are indexed, so this stays cheap
    // however large the mailboxes.
    let mut wanted = KeySet::default();
    for (side, list) in [(&b.mail.keys, &lost), (&a.mail.keys, &extra)] {
        for &i in list.iter() {
            for &tier in s.tiers {
                wanted.extend(side[i as usize].wanted(tier));
            }
        }
    }
    let in_after = Presence::index(&a.mail.keys, &wanted, s.tiers);

    let mut deleted_candidates = Vec::new();
    for &bi in &lost {
        let k = &b.mail.keys[bi as usize];
        let here = target_of(k).is_some_and(|f| in_after.in_folder(k, f, s.tiers) > 0);
        before[bi as usize] = match in_after.first(k, s.tiers) {
            Some(seen) if s.labels_before && !here => BeforeFate::LostPlacement { seen },
            Some(seen) => BeforeFate::Missing(Missing::Collapsed { seen }),
            None => {
                deleted_candidates.push(bi);
                BeforeFate::Missing(Missing::Gone)
            }
        };
    }
    let mut all_excluded = vec![true; a.excluded.len()];
    for (bi, ai, _) in pair(
        &b.mail.keys,
        &deleted_candidates,
        &a.excluded.keys,
        &mut all_excluded,
        &target_of,
        s.tiers,
    ) {
        before[bi as usize] = BeforeFate::Missing(Missing::Deleted { excluded: ai });
    }

    let in_before = if extra.is_empty() {
        Presence::default()
    } else {
        Presence::index(&b.mail.keys, &wanted, s.tiers)
    };
    for &ai in &extra {
        let k = &a.mail.keys[ai as usize];
        if let Some(of) = in_before.first(k, s.tiers) {
            // A second copy in the same folder is a duplicate even where folders are labels.
            // Digest, canonical and fingerprint (the first three tiers) are the keys a copy
            // shares with itself, so the count includes this copy.
            let twin_here = in_after.in_folder(k, k.folder, &s.tiers[..s.tiers.len().min(3)]) > 1;
            after[ai as usize] = if s.labels_after && !twin_here {
                AfterFate::Placement { of }
            } else {
                AfterFate::Duplicate { of }
            };
        }
    }
    Fates { before, after }
}

/// Pairs the listed messages of `b` (in order) with free messages of `a`, tier by tier, in
/// the mapped folder first, then anywhere. Marks the messages of `a` it takes as not free.
fn pair(
    b: &[Keys],
    order: &[u32],
    a: &[Keys],
    free: &mut [bool],
    target: &dyn Fn(&Keys) -> Option<u32>,
    tiers: &[Tier],
) -> Vec<(u32, u32, Tier)> {
    let mut pending = order.to_vec();
    let mut open: Vec<u32> = (0..a.len() as u32).filter(|&i| free[i as usize]).collect();
    let mut pairs = Vec::new();
    for &tier in tiers {
        for same_folder in [true, false] {
            if pending.is_empty() || open.is_empty() {
                return pairs;
            }
            let scope = |key: u128, folder: u32| {
                if same_folder {
                    mix(key, u64::from(folder))
                } else {
                    key
                }
            };
            let mut pool = Pool::with_capacity(open.len());
            for &ai in open.iter().rev() {
                let k = &a[ai as usize];
                for key in k.filed(tier) {
                    pool.push(scope(key, k.folder), ai);
                }
            }
            pending.retain(|&bi| {
                let k = &b[bi as usize];
                let folder = match (same_folder, target(k)) {
                    (true, Some(f)) => f,
                    (true, None) => return true,
                    (false, _) => 0,
                };
                for key in k.wanted(tier) {
                    if let Some(ai) = pool.take(scope(key, folder), free) {
                        free[ai as usize] = false;
                        pairs.push((bi, ai, tier));
                        return false;
                    }
                }
                true
            });
            open.retain(|&ai| free[ai as usize]);
        }
    }
    pairs
}

/// Messages filed by key, each key's messages chained in receipt order.
struct Pool {
    heads: KeyMap<u32>,
    /// (message, next node) per node; a message filed under two keys has two nodes.
    nodes: Vec<(u32, u32)>,
}

const END: u32 = u32::MAX;

impl Pool {
    fn with_capacity(n: usize) -> Pool {
        Pool {
            heads: KeyMap::with_capacity_and_hasher(n, Default::default()),
            nodes: Vec::with_capacity(n),
        }
    }

    /// Files a message; messages must be pushed in reverse receipt order.
    fn push(&mut self, key: u128, message: u32) {
        let node = self.nodes.len() as u32;
        let next = self.heads.insert(key, node).unwrap_or(END);
        self.nodes.push((message, next));
    }

    /// Takes the earliest message filed under `key` that is still free.
    fn take(&mut self, key: u128, free: &[bool]) -> Option<u32> {
        let head = self.heads.get_mut(&key)?;
        while *head != END {
            let (message, next) = self.nodes[*head as usize];
            *head = next;
            if free[message as usize] {
                return Some(message);
            }
        }
        None
    }
}

/// Where the messages with some keys are on one side: the first message having each key, and
/// how many messages have it in each folder.
#[derive(Default)]
struct Presence {
    first: KeyMap<u32>,
    per_folder: KeyMap<u32>,
}

impl Presence {
    fn index(side: &[Keys], wanted: &KeySet, tiers: &[Tier]) -> Presence {
        let mut p = Presence {
            first: KeyMap::default(),
            per_folder: KeyMap::default(),
        };
        for (i, k) in side.iter().enumerate() {
            for &tier in tiers {
                for key in k.filed(tier).filter(|key| wanted.contains(key)) {
                    p.first.entry(key).or_insert(i as u32);
                    *p.per_folder
                        .entry(mix(key, u64::from(k.folder)))
                        .or_default() += 1;
                }
            }
        }
        p
    }

    /// The first message sharing a key with `k`.
    fn first(&self, k: &Keys, tiers: &[Tier]) -> Option<u32> {
        tiers
            .iter()
            .flat_map(|&t| k.wanted(t))
            .find_map(|key| self.first.get(&key).copied())
    }

    /// How many messages of `folder` share some key with `k` (the most for any one key).
    fn in_folder(&self, k: &Keys, folder: u32, tiers: &[Tier]) -> u32 {
        tiers
            .iter()
            .flat_map(|&t| k.wanted(t))
            .filter_map(|key| self.per_folder.get(&mix(key, u64::from(folder))).copied())
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn hex_prefixes() {
        assert_eq!(hex128(&"0".repeat(64)), 0);
        assert_eq!(
            hex128(&format!("{}{}", "f".repeat(32), "0".repeat(32))),
            u128::MAX
        );
        assert_eq!(hex128("ab"), 0);
        assert_eq!(hex128(&"g".repeat(64)), 0);
        assert_eq!(
            hex128(&"1".repeat(64)),
            0x1111_1111_1111_1111_1111_1111_1111_1111
        );
    }

    #[test]
    fn tolerant_keys_need_compatible_message_ids() {
        let base = Keys {
            digest: 1,
            canonical: 2,
            fingerprint: 3,
            tolerant: 4,
            message: 0,
            local: 0,
            folder: 0,
        };
        let with = |local| Keys {
            message: 10 + u128::from(local),
            local,
            ..base
        };
        let meets = |x: &Keys, y: &Keys| {
            let filed: Vec<u128> = y.filed(Tier::Tolerant).collect();
            x.wanted(Tier::Tolerant).any(|k| filed.contains(&k))
        };
        // No Message-ID on either side, or on one side: compatible, both ways.
        assert!(meets(&base, &base));
        assert!(meets(&base, &with(7)) && meets(&with(7), &base));
        // The same local part (domain rewritten): compatible; another local part: not.
        assert!(meets(&with(7), &with(7)));
        assert!(!meets(&with(7), &with(8)));
        // Other tiers never meet the tolerant keys.
        let other: Vec<u128> = base.filed(Tier::Fingerprint).collect();
        assert!(!base.wanted(Tier::Tolerant).any(|k| other.contains(&k)));
    }
}
