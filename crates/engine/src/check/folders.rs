//! Folder mapping: which folder of the new mailbox holds what a folder of the receipt held
//! (design §6), decided before any message is matched so that "moved" means moved.
//!
//! Migrations rename folders (Sent → Sent Items), translate them, add or drop an `INBOX.`
//! prefix, change the separator, encode names in modified UTF-7 and cut long names. The rules
//! below are tried in order, each pairing a folder at most once, and every pair carries the
//! rule and a sentence saying why, because a wrong guess must be visible to the user, who can
//! then override it with `--map OLD=NEW`.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::receipt::FolderRecord;
use crate::source::Role;
use crate::{Error, Result};

/// Why two folders were paired, in the order the rules are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The user said so (`--map`, `--map-file`).
    Override,
    /// Exactly the same name.
    SameName,
    /// Both carry the same special use (RFC 6154) in their receipts.
    SpecialUse,
    /// Both have a well-known name of the same special folder, in any of the known languages.
    WellKnownName,
    /// The same name apart from case, separator, `INBOX.` or `[Gmail]/` prefix, or modified
    /// UTF-7 encoding.
    SimilarName,
    /// The new name is the old one cut at 40 or 225 characters.
    CutName,
    /// The receipt has one folder, and the new mailbox has one folder or one Inbox (an mbox
    /// file read into a Maildir).
    OnlyFolder,
}

/// A user's `OLD=NEW`: the folder `before` of the receipt is the folder `after` now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderOverride {
    pub before: String,
    pub after: String,
}

impl FolderOverride {
    /// Parses `OLD=NEW` (split at the first `=`, blanks around the names ignored).
    pub fn parse(text: &str) -> Result<FolderOverride> {
        let usage = || {
            Error::Usage(format!(
                "a folder mapping is written OLD=NEW (the folder's name in the receipt, `=`, its name now), not `{text}`"
            ))
        };
        let (before, after) = text.split_once('=').ok_or_else(usage)?;
        let (before, after) = (before.trim(), after.trim());
        if before.is_empty() || after.is_empty() {
            return Err(usage());
        }
        Ok(FolderOverride {
            before: before.to_string(),
            after: after.to_string(),
        })
    }

    /// Parses a map file: one `OLD=NEW` per line; empty lines and lines starting with `#` are
    /// ignored. `origin` names the file in errors.
    pub fn parse_file(text: &str, origin: &str) -> Result<Vec<FolderOverride>> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|(i, l)| {
                FolderOverride::parse(l)
                    .map_err(|e| Error::Usage(format!("{origin}:{}: {e}", i + 1)))
            })
            .collect()
    }
}

/// One pair of folders and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderPair {
    /// Folder id in the receipt before.
    pub before: usize,
    /// Folder id in the receipt after.
    pub after: usize,
    pub rule: Rule,
    pub reason: String,
}

/// The mapping used for one check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolderMap {
    /// Every pair, by before folder id.
    pub pairs: Vec<FolderPair>,
    /// For each before folder id, the after folder id it maps to.
    pub target: Vec<Option<usize>>,
}

/// What the rules need to know about one folder.
struct Named {
    /// The real name, segments joined by `/`.
    raw: String,
    /// The name with modified UTF-7 decoded.
    decoded: String,
    /// The comparison key ([`name_key`]).
    key: String,
    /// The receipt's role.
    marked: Option<Role>,
    /// The role of a well-known name, for top-level keys.
    known: Option<Role>,
}

impl Named {
    fn new(folder: &FolderRecord) -> Named {
        let raw = folder.name();
        let decoded = folder
            .path
            .iter()
            .map(|s| decode_mutf7(s).unwrap_or_else(|| s.clone()))
            .collect::<Vec<_>>()
            .join("/");
        let key = name_key(&decoded);
        let top_level = !key.contains('/');
        Named {
            known: if top_level {
                WELL_KNOWN.get(&key).copied()
            } else {
                None
            },
            marked: folder.role.filter(|_| top_level),
            raw,
            decoded,
            key,
        }
    }

    fn role(&self) -> Option<Role> {
        self.marked.or(self.known)
    }
}

/// The role a folder plays, from its receipt or its well-known name: what the check uses to
/// recognise All Mail (labels) and the special folders.
pub fn effective_role(folder: &FolderRecord) -> Option<Role> {
    Named::new(folder).role()
}

/// A folder's name for people: modified UTF-7 decoded (`Priv&AOk-` is `Privé`).
pub fn display_name(folder: &FolderRecord) -> String {
    Named::new(folder).decoded
}

/// Maps the folders of the receipt before onto those after. Fails when an override names a
/// folder that does not exist.
pub fn map_folders(
    before: &[FolderRecord],
    after: &[FolderRecord],
    overrides: &[FolderOverride],
) -> Result<FolderMap> {
    let b: Vec<Named> = before.iter().map(Named::new).collect();
    let a: Vec<Named> = after.iter().map(Named::new).collect();
    let mut map = Mapper {
        target: vec![None; b.len()],
        taken: vec![false; a.len()],
        pairs: Vec::new(),
    };

    for o in overrides {
        let bi = resolve(&b, &o.before, "the receipt (before)")?;
        let ai = resolve(&a, &o.after, "the new mailbox (after)")?;
        if let Some(previous) = map.target[bi]
            && previous != ai
        {
            return Err(Error::Usage(format!(
                "the folder `{}` is mapped twice: to `{}` and to `{}`",
                b[bi].raw, a[previous].raw, a[ai].raw
            )));
        }
        if map.target[bi].is_none() {
            // Several old folders may be merged into one new folder; the user decides.
            map.target[bi] = Some(ai);
            map.taken[ai] = true;
            map.pairs.push(FolderPair {
                before: bi,
                after: ai,
                rule: Rule::Override,
                reason: format!("mapped by you: {}={}", o.before, o.after),
            });
        }
    }

    map.pair_by(&b, &a, Rule::SameName, |x, y| {
        (x.raw == y.raw).then(|| "same name".to_string())
    });
    map.pair_by(&b, &a, Rule::SpecialUse, |x, y| {
        match (x.marked, y.marked) {
            (Some(r), Some(s)) if r == s => {
                Some(format!("both are marked as the {} folder", role_name(r)))
            }
            _ => None,
        }
    });
    map.pair_by(&b, &a, Rule::WellKnownName, |x, y| {
        match (x.role(), y.role()) {
            (Some(r), Some(s)) if r == s => Some(format!(
                "“{}” and “{}” are both names of the {} folder",
                x.decoded,
                y.decoded,
                role_name(r)
            )),
            _ => None,
        }
    });
    map.pair_by(&b, &a, Rule::SimilarName, |x, y| {
        (x.key == y.key).then(|| similar_reason(x, y))
    });
    map.pair_by(&b, &a, Rule::CutName, |x, y| {
        CUTS.iter()
            .find(|&&n| is_cut(&x.decoded, &y.key, n))
            .map(|n| format!("“{}” was cut to {n} characters", x.decoded))
    });
    if b.len() == 1 {
        // One mbox file read into a mailbox with an Inbox: the file's name says nothing.
        let inboxes = a.iter().filter(|y| y.role() == Some(Role::Inbox)).count();
        map.pair_by(&b, &a, Rule::OnlyFolder, |_, y| {
            if a.len() == 1 {
                Some("the only folder in each mailbox".to_string())
            } else {
                (inboxes == 1 && y.role() == Some(Role::Inbox)).then(|| {
                    "the only folder of the receipt, and the Inbox of the new mailbox".to_string()
                })
            }
        });
    }

    map.pairs.sort_by_key(|p| p.before);
    Ok(FolderMap {
        pairs: map.pairs,
        target: map.target,
    })
}

struct Mapper {
    target: Vec<Option<usize>>,
    taken: Vec<bool>,
    pairs: Vec<FolderPair>,
}

impl Mapper {
    /// Pairs each unmapped before folder, in receipt order, with the first unpaired after
    /// folder the rule accepts.
    fn pair_by(
        &mut self,
        b: &[Named],
        a: &[Named],
        rule: Rule,
        accept: impl Fn(&Named, &Named) -> Option<String>,
    ) {
        for (bi, x) in b.iter().enumerate() {
            if self.target[bi].is_some() {
                continue;
            }
            let found = a
                .iter()
                .enumerate()
                .filter(|&(ai, _)| !self.taken[ai])
                .find_map(|(ai, y)| accept(x, y).map(|reason| (ai, reason)));
            if let Some((ai, reason)) = found {
                self.target[bi] = Some(ai);
                self.taken[ai] = true;
                self.pairs.push(FolderPair {
                    before: bi,
                    after: ai,
                    rule,
                    reason,
                });
            }
        }
    }
}

/// Finds the folder an override names: its exact name, else the one folder with the same key.
fn resolve(folders: &[Named], name: &str, side: &str) -> Result<usize> {
    if let Some(i) = folders
        .iter()
        .position(|f| f.raw == name || f.decoded == name)
    {
        return Ok(i);
    }
    let key = name_key(name);
    let similar: Vec<usize> = (0..folders.len())
        .filter(|&i| folders[i].key == key)
        .collect();
    if let [i] = similar[..] {
        return Ok(i);
    }
    const SHOWN: usize = 30;
    let mut names: Vec<&str> = folders
        .iter()
        .map(|f| f.decoded.as_str())
        .take(SHOWN)
        .collect();
    if folders.len() > SHOWN {
        names.push("…");
    }
    Err(Error::Usage(format!(
        "--map: there is no folder named `{name}` in {side}; its folders are: {}",
        names.join(", ")
    )))
}

/// The lengths at which migrations are known to cut folder names: Gmail labels (40), HCL Notes
/// to Microsoft 365 (225).
const CUTS: [usize; 2] = [40, 225];

/// True when `after_key` is the key of `before` cut at `n` characters: the whole name, or its
/// last level under the same parent.
fn is_cut(before: &str, after_key: &str, n: usize) -> bool {
    let cut = |s: &str| -> Option<String> {
        (s.chars().count() > n).then(|| s.chars().take(n).collect())
    };
    if cut(before).is_some_and(|c| name_key(&c) == after_key) {
        return true;
    }
    let Some((parent, last)) = before.rsplit_once('/') else {
        return false;
    };
    cut(last).is_some_and(|c| name_key(&format!("{parent}/{c}")) == after_key)
}

/// Says how two names with the same key differ.
fn similar_reason(x: &Named, y: &Named) -> String {
    let mut what = Vec::new();
    if x.decoded != x.raw || y.decoded != y.raw {
        what.push("modified UTF-7 encoding");
    }
    let (lx, px) = levels(&x.decoded);
    let (ly, py) = levels(&y.decoded);
    if px != py {
        what.push("an INBOX or [Gmail] level");
    }
    let seps = |n: &Named| {
        let dot = n.decoded.contains('.');
        let slash = n.decoded.contains('/');
        (dot || slash).then_some((dot, slash))
    };
    if let (Some(sx), Some(sy)) = (seps(x), seps(y))
        && sx != sy
    {
        what.push("the separator between levels (“.” or “/”)");
    }
    if lx != ly {
        what.push("upper and lower case");
    }
    if what.is_empty() {
        what.push("blanks or Unicode normalisation");
    }
    format!("the same name apart from {}", what.join(" and "))
}

/// The levels of a (decoded) folder name in NFC with blanks collapsed, `.` and `/` both taken
/// as separators, without a first `INBOX` or `[Gmail]` level; and whether one was removed.
fn levels(decoded: &str) -> (Vec<String>, bool) {
    let nfc: String = decoded.nfc().collect();
    let mut levels: Vec<String> = nfc
        .split(['/', '.'])
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    let mut prefixed = false;
    for prefix in [&["inbox"][..], &["[gmail]", "[google mail]"]] {
        if levels.len() > 1 && prefix.contains(&levels[0].to_lowercase().as_str()) {
            levels.remove(0);
            prefixed = true;
        }
    }
    (levels, prefixed)
}

/// The comparison key of a (decoded) folder name: its [`levels`] in lower case, joined by `/`.
fn name_key(decoded: &str) -> String {
    levels(decoded)
        .0
        .iter()
        .map(|l| l.to_lowercase())
        .collect::<Vec<_>>()
        .join("/")
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Inbox => "Inbox",
        Role::Sent => "Sent",
        Role::Drafts => "Drafts",
        Role::Trash => "Trash",
        Role::Junk => "Junk",
        Role::Archive => "Archive",
        Role::All => "All Mail",
        Role::Flagged => "Flagged",
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Override => "your mapping",
            Rule::SameName => "same name",
            Rule::SpecialUse => "special use",
            Rule::WellKnownName => "well-known name",
            Rule::SimilarName => "similar name",
            Rule::CutName => "cut name",
            Rule::OnlyFolder => "only folder",
        })
    }
}

/// Names of the special folders as providers and mail programs show them, in English, German,
/// French, Spanish, Italian, Dutch, Portuguese, Swedish, Danish, Norwegian, Finnish, Polish,
/// Czech, Russian, Japanese and Chinese. Keys are compared after [`name_key`], so case, an
/// `INBOX.` level and a `[Gmail]/` level do not matter.
const WELL_KNOWN_NAMES: &[(Role, &[&str])] = &[
    (
        Role::Inbox,
        &[
            "Inbox",
            "Posteingang",
            "Boîte de réception",
            "Bandeja de entrada",
            "Posta in arrivo",
            "Postvak IN",
            "Caixa de entrada",
            "Inkorgen",
            "Indbakke",
            "Innboks",
            "Saapuneet",
            "Odebrane",
            "Doručená pošta",
            "Входящие",
            "受信トレイ",
            "收件箱",
        ],
    ),
    (
        Role::Sent,
        &[
            "Sent",
            "Sent Items",
            "Sent Messages",
            "Sent Mail",
            "Gesendet",
            "Gesendete Elemente",
            "Gesendete Objekte",
            "Gesendete Nachrichten",
            "Envoyés",
            "Éléments envoyés",
            "Messages envoyés",
            "Enviados",
            "Elementos enviados",
            "Correo enviado",
            "Posta inviata",
            "Elementi inviati",
            "Verzonden",
            "Verzonden items",
            "Verzonden berichten",
            "Itens enviados",
            "Mensagens enviadas",
            "Skickat",
            "Skickade objekt",
            "Sendt",
            "Sendte elementer",
            "Sendt post",
            "Lähetetyt",
            "Lähetetyt kohteet",
            "Wysłane",
            "Elementy wysłane",
            "Odeslaná pošta",
            "Odeslané",
            "Отправленные",
            "送信済み",
            "送信済みアイテム",
            "已发送",
            "已發送",
        ],
    ),
    (
        Role::Drafts,
        &[
            "Drafts",
            "Draft",
            "Entwürfe",
            "Brouillons",
            "Borradores",
            "Bozze",
            "Concepten",
            "Rascunhos",
            "Utkast",
            "Kladder",
            "Luonnokset",
            "Kopie robocze",
            "Koncepty",
            "Черновики",
            "下書き",
            "草稿",
            "草稿箱",
        ],
    ),
    (
        Role::Trash,
        &[
            "Trash",
            "Bin",
            "Deleted",
            "Deleted Items",
            "Deleted Messages",
            "Papierkorb",
            "Gelöschte Elemente",
            "Gelöschte Objekte",
            "Corbeille",
            "Éléments supprimés",
            "Papelera",
            "Elementos eliminados",
            "Cestino",
            "Posta eliminata",
            "Elementi eliminati",
            "Prullenbak",
            "Verwijderde items",
            "Lixeira",
            "Lixo",
            "Itens excluídos",
            "Papperskorgen",
            "Borttagna objekt",
            "Papirkurv",
            "Slettede elementer",
            "Slettet post",
            "Roskakori",
            "Poistetut",
            "Kosz",
            "Elementy usunięte",
            "Koš",
            "Odstraněná pošta",
            "Корзина",
            "Удаленные",
            "Удалённые",
            "ゴミ箱",
            "削除済みアイテム",
            "已删除",
            "已刪除",
            "垃圾箱",
        ],
    ),
    (
        Role::Junk,
        &[
            "Junk",
            "Spam",
            "Junk E-mail",
            "Junk Email",
            "Junk Mail",
            "Bulk Mail",
            "Junk-E-Mail",
            "Spamverdacht",
            "Unerwünscht",
            "Courrier indésirable",
            "Pourriel",
            "Correo no deseado",
            "Posta indesiderata",
            "Ongewenste e-mail",
            "Lixo eletrônico",
            "Skräppost",
            "Uønsket e-mail",
            "Uønsket post",
            "Roskaposti",
            "Wiadomości-śmieci",
            "Nevyžádaná pošta",
            "Спам",
            "Нежелательная почта",
            "迷惑メール",
            "垃圾邮件",
        ],
    ),
    (
        Role::Archive,
        &[
            "Archive",
            "Archives",
            "Archiv",
            "Archivo",
            "Archivio",
            "Archief",
            "Arquivo",
            "Arkiv",
            "Arkisto",
            "Archiwum",
            "Архив",
            "アーカイブ",
            "归档",
            "存档",
        ],
    ),
    (
        Role::All,
        &[
            "All Mail",
            "Alle Nachrichten",
            "Tous les messages",
            "Todos",
            "Todos los correos",
            "Tutti i messaggi",
            "Alle berichten",
            "Todos os e-mails",
            "Alla mail",
            "Alle e-mails",
            "Вся почта",
            "すべてのメール",
            "所有邮件",
        ],
    ),
    (
        Role::Flagged,
        &[
            "Starred",
            "Flagged",
            "Markiert",
            "Suivis",
            "Destacados",
            "Speciali",
        ],
    ),
];

static WELL_KNOWN: LazyLock<HashMap<String, Role>> = LazyLock::new(|| {
    WELL_KNOWN_NAMES
        .iter()
        .flat_map(|(role, names)| names.iter().map(move |n| (name_key(n), *role)))
        .collect()
});

/// Decodes an IMAP modified UTF-7 name (RFC 3501 §5.1.3): `&` starts base64 of UTF-16 (with
/// `,` for `/`) ended by `-`, and `&-` is `&`. `None` when the name has nothing encoded or is
/// not valid modified UTF-7 (then it is taken as it is: `R&D` stays `R&D`).
pub fn decode_mutf7(name: &str) -> Option<String> {
    if !name.contains('&') || !name.is_ascii() {
        return None;
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    let mut decoded_any = false;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find('-')?;
        let encoded = &after[..end];
        if encoded.is_empty() {
            out.push('&');
            decoded_any = true;
        } else {
            let mut units = Vec::with_capacity(encoded.len() * 6 / 16);
            let (mut bits, mut count) = (0u32, 0u32);
            for c in encoded.bytes() {
                let v = match c {
                    b'A'..=b'Z' => c - b'A',
                    b'a'..=b'z' => c - b'a' + 26,
                    b'0'..=b'9' => c - b'0' + 52,
                    b'+' => 62,
                    b',' => 63,
                    _ => return None,
                };
                bits = (bits << 6) | u32::from(v);
                count += 6;
                if count >= 16 {
                    count -= 16;
                    units.push((bits >> count) as u16);
                    bits &= (1 << count) - 1;
                }
            }
            // Leftover bits are padding: fewer than six, all zero.
            if units.is_empty() || count >= 6 || bits != 0 {
                return None;
            }
            for c in char::decode_utf16(units) {
                out.push(c.ok()?);
            }
            decoded_any = true;
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    decoded_any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(id: usize, name: &str, role: Option<Role>) -> FolderRecord {
        FolderRecord {
            id,
            path: name.split('/').map(str::to_string).collect(),
            role,
            claimed: None,
        }
    }

    fn folders(names: &[&str]) -> Vec<FolderRecord> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| folder(i, n, None))
            .collect()
    }

    /// The after name each before name maps to, and by which rule.
    fn mapped(before: &[&str], after: &[&str]) -> Vec<(String, Option<(String, Rule)>)> {
        mapped_with(&folders(before), &folders(after), &[])
    }

    fn mapped_with(
        before: &[FolderRecord],
        after: &[FolderRecord],
        overrides: &[FolderOverride],
    ) -> Vec<(String, Option<(String, Rule)>)> {
        let map = map_folders(before, after, overrides).unwrap();
        before
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let pair = map.pairs.iter().find(|p| p.before == i);
                assert_eq!(pair.map(|p| p.after), map.target[i]);
                (f.name(), pair.map(|p| (after[p.after].name(), p.rule)))
            })
            .collect()
    }

    fn one(before: &str, after: &str) -> Option<Rule> {
        let m = mapped(&[before], &[after, "Unrelated"]);
        m[0].1.as_ref().map(|(name, rule)| {
            assert_eq!(name, after);
            *rule
        })
    }

    #[test]
    fn same_name_first() {
        assert_eq!(one("INBOX", "INBOX"), Some(Rule::SameName));
        assert_eq!(one("Work/2024", "Work/2024"), Some(Rule::SameName));
    }

    #[test]
    fn special_use_roles() {
        let before = vec![folder(0, "Gesendet", Some(Role::Sent))];
        let after = vec![
            folder(0, "Outbox", None),
            folder(1, "Envoyés", Some(Role::Sent)),
        ];
        let m = mapped_with(&before, &after, &[]);
        assert_eq!(m[0].1, Some(("Envoyés".into(), Rule::SpecialUse)));
        // A role is no reason to map a nested folder: `Projects/Archive` is not the Archive.
        let before = vec![folder(0, "Projects/Archive", Some(Role::Archive))];
        let after = vec![
            folder(0, "Archive", Some(Role::Archive)),
            folder(1, "Other", None),
        ];
        assert_eq!(mapped_with(&before, &after, &[])[0].1, None);
    }

    #[test]
    fn special_use_before_names() {
        // The folder marked \Sent wins over one that merely has a Sent-like name.
        let before = vec![folder(0, "Sent", Some(Role::Sent))];
        let after = vec![
            folder(0, "Sent Messages", None),
            folder(1, "Gesendete Objekte", Some(Role::Sent)),
        ];
        let m = mapped_with(&before, &after, &[]);
        assert_eq!(m[0].1, Some(("Gesendete Objekte".into(), Rule::SpecialUse)));
    }

    #[test]
    fn well_known_names_in_every_language() {
        for (role, names) in WELL_KNOWN_NAMES {
            let canonical = names[0];
            for name in *names {
                assert_eq!(
                    WELL_KNOWN.get(&name_key(name)),
                    Some(role),
                    "{name} is a name of {role:?}"
                );
                if *name != canonical {
                    assert_eq!(
                        one(canonical, name),
                        Some(Rule::WellKnownName),
                        "{canonical} → {name}"
                    );
                    assert_eq!(one(name, canonical), Some(Rule::WellKnownName));
                }
            }
        }
    }

    #[test]
    fn the_names_providers_use() {
        for (before, after) in [
            ("Sent", "Sent Items"),
            ("Sent", "Sent Messages"),
            ("Sent", "[Gmail]/Sent Mail"),
            ("Sent Items", "Gesendete Elemente"),
            ("Sent Items", "Éléments envoyés"),
            ("Sent Items", "Enviados"),
            ("Sent Items", "Posta inviata"),
            ("Sent Items", "Verzonden items"),
            ("INBOX.Sent", "Sent Items"),
            ("Trash", "Deleted Items"),
            ("Trash", "Deleted Messages"),
            ("[Gmail]/Trash", "[Google Mail]/Bin"),
            ("Deleted Items", "Papierkorb"),
            ("Deleted Items", "Corbeille"),
            ("Junk", "Junk E-mail"),
            ("Spam", "Junk"),
            ("[Gmail]/Spam", "Junk-E-Mail"),
            ("Drafts", "Entwürfe"),
            ("Drafts", "Brouillons"),
            ("Archive", "Archiv"),
            ("[Gmail]/All Mail", "[Google Mail]/All Mail"),
            ("[Gmail]/All Mail", "[Gmail]/Alle Nachrichten"),
        ] {
            assert_eq!(
                one(before, after),
                Some(Rule::WellKnownName),
                "{before} → {after}"
            );
        }
        // Different special folders are never paired by name.
        assert_eq!(one("Sent", "Drafts"), None);
        assert_eq!(one("Trash", "Junk"), None);
        assert_eq!(one("Archive", "[Gmail]/All Mail"), None);
    }

    #[test]
    fn case_separator_and_prefixes() {
        for (before, after) in [
            ("Travel", "TRAVEL"),
            ("Projects/Alpha", "Projects.Alpha"),
            ("INBOX.Projects.Alpha", "Projects/Alpha"),
            ("Archive/2023", "INBOX/Archive/2023"),
            ("Family/Kids", "[Gmail]/Family/Kids"),
            ("Clients/ ACME ", "clients/acme"),
        ] {
            assert_eq!(
                one(before, after),
                Some(Rule::SimilarName),
                "{before} → {after}"
            );
        }
        let map = map_folders(
            &folders(&["Projects/Alpha"]),
            &folders(&["PROJECTS.Alpha", "x"]),
            &[],
        )
        .unwrap();
        assert_eq!(
            map.pairs[0].reason,
            "the same name apart from the separator between levels (“.” or “/”) and upper and lower case"
        );
        let map = map_folders(
            &folders(&["Archive/2023"]),
            &folders(&["INBOX/Archive/2023", "x"]),
            &[],
        )
        .unwrap();
        assert!(
            map.pairs[0].reason.contains("INBOX"),
            "{}",
            map.pairs[0].reason
        );
    }

    #[test]
    fn modified_utf7() {
        assert_eq!(decode_mutf7("Priv&AOk-").as_deref(), Some("Privé"));
        assert_eq!(decode_mutf7("&ZeVnLIqe-").as_deref(), Some("日本語"));
        assert_eq!(decode_mutf7("R&-D").as_deref(), Some("R&D"));
        assert_eq!(
            decode_mutf7("&AMk-l&AOk-ments envoy&AOk-s").as_deref(),
            Some("Éléments envoyés")
        );
        // Astral characters come as surrogate pairs.
        assert_eq!(decode_mutf7("&2D3eAA-").as_deref(), Some("😀"));
        for not in [
            "Plain",
            "R&D",
            "Q&A-list",
            "&AOk",
            "&A-",
            "&AO!-",
            "Privé &AOk-",
            "&2D0-",
        ] {
            assert_eq!(decode_mutf7(not), None, "{not}");
        }
        assert_eq!(one("Priv&AOk-", "Privé"), Some(Rule::SimilarName));
        assert_eq!(one("Privé", "INBOX.Priv&AOk-"), Some(Rule::SimilarName));
        assert_eq!(
            one("&AMk-l&AOk-ments envoy&AOk-s", "Sent"),
            Some(Rule::WellKnownName)
        );
        let map = map_folders(&folders(&["Priv&AOk-"]), &folders(&["Privé", "x"]), &[]).unwrap();
        assert!(
            map.pairs[0].reason.contains("UTF-7"),
            "{}",
            map.pairs[0].reason
        );
        assert_eq!(
            display_name(&folder(0, "Priv&AOk-/Caf&AOk-", None)),
            "Privé/Café"
        );
    }

    #[test]
    fn cut_names() {
        let long = "Customer Correspondence and Project Documents 2023";
        assert_eq!(one(long, &long[..40]), Some(Rule::CutName));
        // Cut, with the blank at the cut dropped.
        let spaced = "Customer Correspondence and Project Docu ments";
        assert_eq!(
            one(spaced, "Customer Correspondence and Project Docu"),
            Some(Rule::CutName)
        );
        // Only the last level cut, under the same parent, and a different separator.
        let nested = format!("Clients/{long}");
        assert_eq!(
            one(&nested, &format!("Clients.{}", &long[..40])),
            Some(Rule::CutName)
        );
        let notes: String = "Notes correspondence ".repeat(12);
        let cut: String = notes.chars().take(225).collect();
        assert_eq!(one(&notes, &cut), Some(Rule::CutName));
        let map = map_folders(&folders(&[long]), &folders(&[&long[..40], "x"]), &[]).unwrap();
        assert!(map.pairs[0].reason.contains("cut to 40 characters"));
        // Not a cut: shorter than the limit, or cut elsewhere.
        assert_eq!(one("Customer Correspondence", "Customer"), None);
        assert_eq!(one(long, &long[..39]), None);
        assert_eq!(one(long, &long[..41]), None);
        // Characters, not bytes.
        let accents = "Éléments de la correspondance privée de l’équipe 2023";
        let cut: String = accents.chars().take(40).collect();
        assert_eq!(one(accents, &cut), Some(Rule::CutName));
    }

    #[test]
    fn the_only_folder_on_each_side() {
        assert_eq!(
            mapped(&["open-iscsi"], &["INBOX"])[0].1,
            Some(("INBOX".into(), Rule::OnlyFolder))
        );
        assert_eq!(
            mapped(&["open-iscsi"], &["INBOX", "Sent"])[0].1,
            Some(("INBOX".into(), Rule::OnlyFolder))
        );
        assert_eq!(mapped(&["open-iscsi"], &["Work", "Sent"])[0].1, None);
        assert_eq!(
            mapped(&["open-iscsi", "Sent"], &["INBOX", "Sent"])[0].1,
            None
        );
    }

    #[test]
    fn each_folder_is_paired_once_in_receipt_order() {
        let m = mapped(
            &["Sent", "Sent Items", "Receipts"],
            &["Sent Items", "Quittungen"],
        );
        assert_eq!(m[0].1, None, "Sent Items is taken by the same name");
        assert_eq!(m[1].1, Some(("Sent Items".into(), Rule::SameName)));
        assert_eq!(
            m[2].1, None,
            "no rule guesses a translation of an ordinary name"
        );
        let m = mapped(&["Trash", "Deleted Items"], &["Bin"]);
        assert_eq!(m[0].1, Some(("Bin".into(), Rule::WellKnownName)));
        assert_eq!(m[1].1, None);
    }

    #[test]
    fn overrides_come_first_and_may_merge() {
        let before = folders(&["Receipts", "Sent", "Sent Items", "Travel"]);
        let after = folders(&["Quittungen", "Sent", "TRAVEL"]);
        let overrides = [
            FolderOverride::parse("Receipts=Quittungen").unwrap(),
            FolderOverride::parse(" Sent Items = Sent ").unwrap(),
            FolderOverride::parse("travel=Travel").unwrap(),
        ];
        let m = mapped_with(&before, &after, &overrides);
        assert_eq!(m[0].1, Some(("Quittungen".into(), Rule::Override)));
        assert_eq!(m[1].1, None, "Sent was given to Sent Items by the user");
        assert_eq!(m[2].1, Some(("Sent".into(), Rule::Override)));
        // Names are found by their key when not exact.
        assert_eq!(m[3].1, Some(("TRAVEL".into(), Rule::Override)));
        let merged = mapped_with(
            &before,
            &after,
            &[
                FolderOverride::parse("Sent=Sent").unwrap(),
                FolderOverride::parse("Sent Items=Sent").unwrap(),
            ],
        );
        assert_eq!(merged[1].1, Some(("Sent".into(), Rule::Override)));
        assert_eq!(merged[2].1, Some(("Sent".into(), Rule::Override)));
    }

    #[test]
    fn overrides_that_name_nothing_are_errors() {
        for bad in ["no equals sign", "=Sent", "Sent=", " = "] {
            assert!(FolderOverride::parse(bad).is_err(), "{bad}");
        }
        let before = folders(&["Receipts"]);
        let after = folders(&["Quittungen"]);
        let err = map_folders(
            &before,
            &after,
            &[FolderOverride::parse("Receipt=Quittungen").unwrap()],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`Receipt`") && err.contains("Receipts"),
            "{err}"
        );
        let err = map_folders(
            &before,
            &after,
            &[FolderOverride::parse("Receipts=Q").unwrap()],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("new mailbox"), "{err}");
        let twice = [
            FolderOverride::parse("Receipts=Quittungen").unwrap(),
            FolderOverride::parse("Receipts=Other").unwrap(),
        ];
        let after = folders(&["Quittungen", "Other"]);
        assert!(map_folders(&before, &after, &twice).is_err());
    }

    #[test]
    fn map_files() {
        let text = "# moved by the helpdesk\n\nReceipts=Quittungen\n  Sent Items = Sent\n";
        let parsed = FolderOverride::parse_file(text, "map.txt").unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].before, "Sent Items");
        let err = FolderOverride::parse_file("A=B\noops\n", "map.txt")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("map.txt:2:"), "{err}");
    }

    #[test]
    fn roles_for_label_detection() {
        assert_eq!(
            effective_role(&folder(0, "[Gmail]/All Mail", None)),
            Some(Role::All)
        );
        assert_eq!(
            effective_role(&folder(0, "[Google Mail]/Alle Nachrichten", None)),
            Some(Role::All)
        );
        assert_eq!(
            effective_role(&folder(0, "Archive", Some(Role::All))),
            Some(Role::All)
        );
        assert_eq!(effective_role(&folder(0, "Work/All Mail", None)), None);
    }
}
