//! The check report as one self-contained HTML page (`--html FILE`): nothing is fetched, every
//! style and the one script are inline. The verdict, both sides, the counts, the folder table,
//! the other differences, the folder mapping and how to restore are written here, so the page
//! reads and prints without JavaScript; the lists of missing and altered messages are drawn by
//! a small script from the differences embedded as JSON, in chunks, so that tens of thousands
//! of them stay responsive. Every text taken from mail or from a mailbox is escaped.

use std::io::{self, Write};

use sha2::{Digest, Sha256};

use super::Grade;
use super::report::{CheckReport, FolderRow, Side, Status, plural, thousands, when};

/// The whole page.
pub fn write_html(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let mut page = String::with_capacity(32 * 1024);
    head(r, &mut page);
    page.push_str("<body>\n<main>\n");
    banner(r, &mut page);
    counts(r, &mut page);
    sides(r, &mut page);
    notes(r, &mut page);
    folder_table(r, &mut page);
    let missing = r
        .differences
        .iter()
        .filter(|d| d.status == Status::Missing)
        .count();
    let altered = r
        .differences
        .iter()
        .filter(|d| d.grade == Some(Grade::Altered))
        .count();
    message_list(
        &mut page,
        "missing",
        "Missing from your new mailbox",
        "These messages are in the receipt and not in the new mailbox.",
        missing,
    );
    message_list(
        &mut page,
        "altered",
        "Arrived altered, to review",
        "These messages were found, but their content differs from the receipt: open each one and check it is complete.",
        altered,
    );
    others(r, &mut page);
    restore(r, &mut page);
    mapping(r, &mut page);
    page.push_str(&format!(
        "<footer>Checked by {}. Report schema <code>{}</code>.</footer>\n</main>\n",
        esc(&r.tool),
        esc(&r.schema)
    ));
    out.write_all(page.as_bytes())?;

    // The differences, streamed: a report can hold a great many.
    out.write_all(b"<script type=\"application/json\" id=\"mp-data\">")?;
    serde_json::to_writer(ScriptSafe(&mut *out), &r.differences)?;
    out.write_all(b"</script>\n<script>")?;
    out.write_all(SCRIPT.as_bytes())?;
    out.write_all(b"</script>\n</body>\n</html>\n")
}

/// Escapes text for HTML content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes JSON into a `<script>` element: `<`, `>` and `&` only occur inside JSON strings, where
/// `\u003c`, `\u003e` and `\u0026` mean the same, so no `</script>` or `<!--` can end it early.
struct ScriptSafe<'a>(&'a mut dyn Write);

impl Write for ScriptSafe<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        for (i, b) in buf.iter().enumerate() {
            let escaped: &[u8] = match b {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                b'&' => b"\\u0026",
                _ => continue,
            };
            self.0.write_all(&buf[start..i])?;
            self.0.write_all(escaped)?;
            start = i + 1;
        }
        self.0.write_all(&buf[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// How the verdict looks: red when mail is missing or the receipt was changed, amber when
/// something needs review, green otherwise.
fn tone(r: &CheckReport) -> (&'static str, &'static str) {
    let t = &r.totals;
    if !r.complete || t.missing > 0 || !r.before.intact {
        ("bad", "Messages are missing")
    } else if t.by_match.altered > 0
        || t.lost_placements > 0
        || r.after.unreadable > 0
        || r.after.folder_errors > 0
        || !r.after.intact
    {
        ("warn", "Nothing is missing; some messages need review")
    } else {
        ("ok", "Nothing is missing")
    }
}

fn head(r: &CheckReport, page: &mut String) {
    // Only this page's own script may run; nothing may be loaded from anywhere.
    let hash = base64(&Sha256::digest(SCRIPT.as_bytes()));
    page.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; img-src data:; base-uri 'none'; form-action 'none'\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n\
<meta name=\"generator\" content=\"{}\">\n\
<title>Mailproof check: {}</title>\n<style>{STYLE}</style>\n</head>\n",
        esc(&r.tool),
        esc(&r.verdict)
    ));
}

fn banner(r: &CheckReport, page: &mut String) {
    let (class, label) = tone(r);
    page.push_str(&format!(
        "<header class=\"verdict {class}\">\n<p class=\"label\">Mailproof check · {label}</p>\n<h1>{}</h1>\n",
        esc(&r.verdict)
    ));
    let code = match (&r.before.code, r.before.intact) {
        (Some(code), true) => format!("Receipt code <b class=\"code\">{}</b>", esc(code)),
        _ => "No receipt code: the receipt's seal is broken, it was changed after it was written"
            .to_string(),
    };
    page.push_str(&format!(
        "<p class=\"sub\">{code} · receipt taken {}</p>\n</header>\n",
        esc(&taken(&r.before))
    ));
}

fn counts(r: &CheckReport, page: &mut String) {
    let t = &r.totals;
    let tiles: [(&str, u64, &str); 10] = [
        ("Before", t.before, ""),
        ("After", t.after, ""),
        ("Identical", t.identical, ""),
        ("Normalised", t.normalised, ""),
        ("Re-encoded", t.reencoded, ""),
        ("Altered", t.by_match.altered, "warn"),
        ("Moved", t.moved, ""),
        ("Missing", t.missing, "bad"),
        ("New", t.new, ""),
        ("Duplicates", t.duplicates, ""),
    ];
    page.push_str("<section aria-label=\"Counts\"><ul class=\"tiles\">\n");
    for (name, n, alert) in tiles {
        let class = if n == 0 && !matches!(name, "Before" | "After") {
            " zero"
        } else if n > 0 && !alert.is_empty() {
            if alert == "bad" { " bad" } else { " warn" }
        } else {
            ""
        };
        page.push_str(&format!(
            "<li class=\"tile{class}\"><span class=\"n\">{}</span><span class=\"k\">{name}</span></li>\n",
            thousands(n)
        ));
    }
    page.push_str("</ul></section>\n");
}

fn sides(r: &CheckReport, page: &mut String) {
    page.push_str("<section class=\"sides\">\n");
    for (title, s) in [
        ("Before the migration", &r.before),
        ("The new mailbox", &r.after),
    ] {
        page.push_str(&format!("<div class=\"side\">\n<h2>{title}</h2>\n<dl>\n"));
        let mut row = |k: &str, v: String| {
            page.push_str(&format!("<dt>{k}</dt><dd>{v}</dd>\n"));
        };
        row(
            "Source",
            format!(
                "<span class=\"path\">{}</span> <span class=\"muted\">({})</span>",
                esc(&s.source.location),
                esc(&s.source.kind)
            ),
        );
        let code = match (&s.code, s.read_now, s.intact) {
            (_, true, _) => "none: read by this check".to_string(),
            (Some(code), false, true) => format!("<b class=\"code\">{}</b>", esc(code)),
            _ => "<span class=\"alert\">none: the seal is broken</span>".to_string(),
        };
        row("Receipt code", code);
        row(if s.read_now { "Read" } else { "Taken" }, esc(&taken(s)));
        row(
            "Messages",
            format!(
                "{} in {}",
                plural(s.messages, "message", "messages"),
                plural(s.folders, "folder", "folders")
            ),
        );
        if s.not_mail > 0 {
            row(
                "Not counted",
                format!(
                    "{} not counted as mail (e.g. deleted)",
                    plural(s.not_mail, "message", "messages")
                ),
            );
        }
        if s.unreadable > 0 {
            row(
                "Unreadable",
                format!(
                    "<span class=\"alert\">{}</span>",
                    plural(s.unreadable, "message", "messages")
                ),
            );
        }
        if s.folder_errors > 0 {
            row(
                "Folder errors",
                format!(
                    "<span class=\"alert\">{} not read to the end</span>",
                    plural(s.folder_errors, "folder", "folders")
                ),
            );
        }
        if s.labels {
            row(
                "Labels",
                "one message may be in several folders (it has an All Mail folder)".to_string(),
            );
        }
        page.push_str("</dl>\n</div>\n");
    }
    page.push_str("</section>\n");
}

fn notes(r: &CheckReport, page: &mut String) {
    if r.notes.is_empty() {
        return;
    }
    page.push_str("<section class=\"notes\">\n<h2>Notes</h2>\n<ul>\n");
    for note in &r.notes {
        page.push_str(&format!("<li>{}</li>\n", esc(note)));
    }
    page.push_str("</ul>\n</section>\n");
}

/// A column of the folder table: its heading and its count.
type Column = (&'static str, fn(&FolderRow) -> u64);

/// The per-status columns of the folder table (as in the text report).
const COLUMNS: [Column; 13] = [
    ("Identical", |f| f.identical),
    ("Normalised", |f| f.normalised),
    ("Re-encoded", |f| f.reencoded),
    ("Altered", |f| f.altered),
    ("Moved out", |f| f.moved),
    ("Labels lost", |f| f.lost_placements),
    ("Missing", |f| f.missing),
    ("Moved in", |f| f.moved_in),
    ("New", |f| f.new),
    ("Duplicates", |f| f.duplicates),
    ("Placements", |f| f.placements),
    ("Excluded", |f| f.excluded),
    ("Unreadable", |f| f.unreadable_after),
];

/// Folder names as a cell: "A → B", or "A" when they are the same.
fn folder_pair(before: Option<&str>, after: Option<&str>) -> String {
    let name = |n: Option<&str>| match n {
        Some(n) => esc(n),
        None => "<span class=\"muted\">—</span>".to_string(),
    };
    if before.is_some() && before == after {
        name(before)
    } else {
        format!(
            "{} <span class=\"arrow\">→</span> {}",
            name(before),
            name(after)
        )
    }
}

/// The folder table, written into the page: it must read without JavaScript. Columns that are
/// zero everywhere are left out, except identical and missing.
fn folder_table(r: &CheckReport, page: &mut String) {
    let columns: Vec<&Column> = COLUMNS
        .iter()
        .filter(|(h, get)| {
            matches!(*h, "Identical" | "Missing") || r.folders.iter().any(|f| get(f) > 0)
        })
        .collect();
    page.push_str(&format!(
        "<section>\n<h2>Folders <span class=\"count\">{}</span></h2>\n<div class=\"scroll\"><table class=\"folders\">\n<thead><tr><th scope=\"col\">Folder</th><th scope=\"col\" class=\"num\">Before</th><th scope=\"col\" class=\"num\">After</th>",
        thousands(r.folders.len() as u64)
    ));
    for (h, _) in &columns {
        page.push_str(&format!("<th scope=\"col\" class=\"num\">{h}</th>"));
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    let mut sums = vec![0u64; columns.len()];
    for f in &r.folders {
        let bad = f.missing > 0 || f.lost_placements > 0;
        page.push_str(&format!(
            "<tr{}><th scope=\"row\">{}",
            if bad { " class=\"bad\"" } else { "" },
            folder_pair(f.before.as_deref(), f.after.as_deref())
        ));
        if f.before.is_some() && f.after.is_none() {
            page.push_str("<div class=\"why\">not in the new mailbox</div>");
        }
        if let Some(e) = &f.error_after {
            page.push_str(&format!(
                "<div class=\"why alert\">could not be read to the end: {}</div>",
                esc(e)
            ));
        }
        page.push_str(&format!(
            "</th><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            thousands(f.before_count),
            thousands(f.after_count)
        ));
        for (i, (h, get)) in columns.iter().enumerate() {
            let n = get(f);
            sums[i] += n;
            let class = match (n, *h) {
                (0, _) => "num zero",
                (_, "Missing" | "Labels lost" | "Unreadable") => "num alert",
                (_, "Altered") => "num warn",
                _ => "num",
            };
            page.push_str(&format!("<td class=\"{class}\">{}</td>", thousands(n)));
        }
        page.push_str("</tr>\n");
    }
    page.push_str(&format!(
        "</tbody>\n<tfoot><tr><th scope=\"row\">All folders</th><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        thousands(r.totals.before),
        thousands(r.totals.after)
    ));
    for n in sums {
        page.push_str(&format!("<td class=\"num\">{}</td>", thousands(n)));
    }
    page.push_str("</tr></tfoot>\n</table></div>\n</section>\n");
}

/// A list drawn by the script from the embedded differences: a heading with its count written
/// here, a search box, sortable columns.
fn message_list(page: &mut String, id: &str, title: &str, intro: &str, n: usize) {
    if n == 0 {
        return;
    }
    let n = thousands(n as u64);
    page.push_str(&format!(
        "<section class=\"list\" id=\"{id}\">\n<h2>{title} <span class=\"count\">{n}</span></h2>\n<p>{intro}</p>\n\
<noscript><p class=\"muted\">The list of these {n} messages needs JavaScript. They are also in the JSON and CSV reports (<code>--json</code>, <code>--csv</code>).</p></noscript>\n\
<div class=\"tools\" hidden><label>Search <input type=\"search\" placeholder=\"date, sender, subject, folder…\" autocomplete=\"off\"></label><span class=\"mp-status\" aria-live=\"polite\"></span></div>\n\
<div class=\"scroll\" hidden><table class=\"messages\">\n<thead><tr>\
<th scope=\"col\" data-key=\"date\"><button type=\"button\">Date</button></th>\
<th scope=\"col\" data-key=\"from\"><button type=\"button\">From</button></th>\
<th scope=\"col\" data-key=\"subject\"><button type=\"button\">Subject</button></th>\
<th scope=\"col\" data-key=\"folder\"><button type=\"button\">Folder</button></th>\
<th scope=\"col\" data-key=\"reason\"><button type=\"button\">Reason</button></th>\
</tr></thead>\n<tbody></tbody>\n</table></div>\n\
<button type=\"button\" class=\"mp-more\" hidden>Show more</button>\n</section>\n"
    ));
}

/// The differences that are not listed message by message, grouped by what happened and
/// where, in the words of the text report.
fn others(r: &CheckReport, page: &mut String) {
    let groups = super::text::grouped(r);
    if groups.is_empty() {
        return;
    }
    page.push_str("<section>\n<h2>Other differences</h2>\n<p class=\"muted\">These messages are accounted for; each one is in the JSON and CSV reports.</p>\n<ul class=\"others\">\n");
    for (n, what) in groups {
        page.push_str(&format!(
            "<li><span class=\"n\">{}</span> {}</li>\n",
            plural(n, "message", "messages"),
            esc(&what)
        ));
    }
    page.push_str("</ul>\n</section>\n");
}

fn restore(r: &CheckReport, page: &mut String) {
    let code = match &r.before.code {
        Some(code) => format!(" (receipt code <b class=\"code\">{}</b>)", esc(code)),
        None => String::new(),
    };
    page.push_str("<section class=\"restore\">\n<h2>How to restore the missing messages</h2>\n");
    if r.totals.missing == 0 {
        page.push_str("<p>Nothing is missing. Still, keep the archive you made before the migration until you are sure you no longer need it.</p>\n");
    }
    page.push_str(&format!(
        "<ol>\n<li><b>Keep the archive</b> you made before the migration with <code>mailproof export</code>{code}, and keep this report. Do not delete the archive, or the old mailbox if you still have it, until every message is back.</li>\n\
<li>Restore the missing messages from the archive with <code>mailproof restore ARCHIVE DEST</code>, where DEST is the new mailbox (a Maildir); add <code>--dry-run</code> first to see what it would append. It appends only the messages listed as missing, with their flags and dates, changes nothing that is already there, and checks again.</li>\n\
<li>If you have no archive but the old mailbox still exists, copy the messages listed above from it: search it by date, sender and subject.</li>\n\
<li>Check again afterwards: <code>mailproof check RECEIPT NEW-MAILBOX</code>.</li>\n</ol>\n</section>\n"
    ));
}

fn mapping(r: &CheckReport, page: &mut String) {
    if r.mapping.is_empty() {
        return;
    }
    page.push_str("<section>\n<h2>Folder mapping</h2>\n<div class=\"scroll\"><table class=\"mapping\">\n<thead><tr><th scope=\"col\">Before</th><th scope=\"col\">After</th><th scope=\"col\">Why</th></tr></thead>\n<tbody>\n");
    for m in &r.mapping {
        let name = |n: &Option<String>| match n {
            Some(n) => esc(n),
            None => "<span class=\"muted\">—</span>".to_string(),
        };
        page.push_str(&format!(
            "<tr{}><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            if m.before.is_some() && m.after.is_none() {
                " class=\"unmapped\""
            } else {
                ""
            },
            name(&m.before),
            name(&m.after),
            esc(&m.reason)
        ));
    }
    page.push_str("</tbody>\n</table></div>\n</section>\n");
}

/// When a side's receipt was taken, as `2026-01-02 10:00 UTC`.
fn taken(s: &Side) -> String {
    time::OffsetDateTime::parse(&s.created, &time::format_description::well_known::Rfc3339)
        .map(|t| when(t.unix_timestamp()))
        .unwrap_or_else(|_| s.created.clone())
}

/// Standard base64 with padding (for the script's hash in the content security policy).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const STYLE: &str = r#"
:root{color-scheme:light;--ink:#1d232b;--muted:#5d6773;--line:#dde2e8;--soft:#f5f7f9;
--ok:#17663f;--ok-bg:#e6f4ec;--warn:#8a5300;--warn-bg:#fdf2dc;--bad:#a4161a;--bad-bg:#fce9e9;}
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;
font-size:15px;line-height:1.5;color:var(--ink);background:#fff}
body{margin:0}
main{max-width:1180px;margin:0 auto;padding:32px 28px 48px}
h1{font-size:1.9rem;line-height:1.25;margin:.1em 0 .3em;font-weight:650}
h2{font-size:1.2rem;margin:0 0 .6em;font-weight:620}
section{margin:0 0 36px}
p{margin:.4em 0 .8em}
code,.code,.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.92em}
.code{letter-spacing:.04em;font-weight:650}
.path{word-break:break-all}
.muted,.zero{color:var(--muted)}
.alert{color:var(--bad)}
.warn{color:var(--warn)}
.count{font-weight:500;color:var(--muted);font-variant-numeric:tabular-nums;margin-left:.3em}
.verdict{border-radius:10px;padding:22px 26px;margin:0 0 26px;border-left:8px solid}
.verdict.ok{background:var(--ok-bg);border-color:var(--ok);color:#0f3f27}
.verdict.warn{background:var(--warn-bg);border-color:#d08a00;color:#4f3000}
.verdict.bad{background:var(--bad-bg);border-color:var(--bad);color:#5e0b0e}
.verdict .label{margin:0;text-transform:uppercase;letter-spacing:.08em;font-size:.78rem;font-weight:650;opacity:.85}
.verdict .sub{margin:0;font-size:.98rem}
.tiles{list-style:none;margin:0;padding:0;display:grid;grid-template-columns:repeat(auto-fit,minmax(96px,1fr));gap:10px}
.tile{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:#fff}
.tile .n{display:block;font-size:1.35rem;font-weight:650;font-variant-numeric:tabular-nums}
.tile .k{font-size:.82rem;color:var(--muted)}
.tile.zero .n{color:#a7b0ba;font-weight:500}
.tile.bad{border-color:var(--bad);background:var(--bad-bg)}.tile.bad .n{color:var(--bad)}
.tile.warn{border-color:#d08a00;background:var(--warn-bg)}.tile.warn .n{color:var(--warn)}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.side{border:1px solid var(--line);border-radius:8px;padding:16px 18px}
.side h2{font-size:1.05rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dt{color:var(--muted)}dd{margin:0;font-variant-numeric:tabular-nums;min-width:0}
.notes ul{margin:0;padding-left:1.2em}.notes li{margin:.2em 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{font-size:.8rem;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;border-bottom:2px solid var(--line);white-space:nowrap}
tbody th{font-weight:500}
.num{text-align:right;white-space:nowrap}
td.alert{font-weight:650}
tfoot th,tfoot td{font-weight:650;border-top:2px solid var(--line);border-bottom:0}
table.folders tbody tr.bad th{color:var(--bad)}
.why{font-size:.82rem;color:var(--muted)}.why.alert{color:var(--bad)}
.arrow{color:var(--muted)}
tbody tr:nth-child(even){background:var(--soft)}
.tools{display:flex;gap:16px;align-items:center;flex-wrap:wrap;margin:0 0 10px}
.tools label{color:var(--muted);font-size:.9rem}
.tools input{font:inherit;color:var(--ink);margin-left:6px;padding:6px 10px;border:1px solid #c4ccd5;border-radius:6px;width:22rem;max-width:70vw}
.tools input:focus{outline:2px solid #5b8def;outline-offset:1px}
.mp-status{color:var(--muted);font-size:.9rem;font-variant-numeric:tabular-nums}
table.messages{table-layout:fixed}
table.messages th:nth-child(1){width:12.5rem}
table.messages th:nth-child(2){width:19%}
table.messages th:nth-child(4){width:14%}
table.messages th:nth-child(5){width:24%}
table.messages td{overflow-wrap:anywhere}
td.mp-date{white-space:nowrap}
td.mp-subject{font-weight:500}
td.mp-reason{font-size:.86rem;color:var(--muted)}
td.mp-none{color:#a7b0ba;font-style:italic;font-weight:400}
th button{all:unset;cursor:pointer}
th button:focus-visible{outline:2px solid #5b8def}
th[aria-sort=ascending] button::after{content:" ▲";font-size:.7em}
th[aria-sort=descending] button::after{content:" ▼";font-size:.7em}
.mp-more{font:inherit;margin:12px 0 0;padding:6px 14px;border:1px solid #c4ccd5;border-radius:6px;background:#fff;cursor:pointer}
.others{margin:0;padding-left:1.2em}.others li{margin:.15em 0}
.others .n{font-variant-numeric:tabular-nums;font-weight:600}
.restore ol{padding-left:1.3em;margin:0}.restore li{margin:.35em 0}
table.mapping tr.unmapped td{color:var(--bad)}
footer{color:var(--muted);font-size:.85rem;border-top:1px solid var(--line);padding-top:14px}
[hidden]{display:none !important}
@media (max-width:760px){.sides{grid-template-columns:1fr}main{padding:18px 14px}}
@media print{
@page{margin:14mm}
html{font-size:10.5pt}
main{max-width:none;padding:0}
.tools,.mp-more,noscript{display:none !important}
.verdict,.tile.bad,.tile.warn{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.scroll{overflow:visible}
th button::after{content:"" !important}
tr,.side,.tile{break-inside:avoid}
thead{display:table-header-group}
h2{break-after:avoid}
tbody tr:nth-child(even){background:none}
}
"#;

/// Draws the lists of missing and altered messages from the embedded differences. Rows are
/// built with `textContent`, never as HTML; a list shows its rows in chunks, more as the reader
/// scrolls, and every row before printing. Searching is one pass over lower-cased text made
/// once per row; sorting is one sort of precomputed keys.
const SCRIPT: &str = r#"
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("mp-data").textContent);
  const CHUNK = 200;
  const nf = new Intl.NumberFormat("en-US");
  const coll = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });
  const pad = (n) => String(n).padStart(2, "0");
  const when = (t) => {
    if (t === null || t === undefined) return "";
    const d = new Date(t * 1000);
    if (isNaN(d.getTime())) return String(t);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " UTC";
  };
  const folderOf = (d) => {
    const b = d.before_folder, a = d.after_folder;
    return b && a && b !== a ? b + " \u2192 " + a : (b || a || "\u2014");
  };
  const lists = [];

  function list(id, keep) {
    const root = document.getElementById(id);
    if (!root) return;
    const rows = [];
    for (let i = 0; i < data.length; i++) {
      const d = data[i];
      if (!keep(d)) continue;
      const r = {
        i: i,
        date: typeof d.date === "number" ? d.date : -8.64e15,
        when: when(d.date),
        from: d.from || "",
        subject: d.subject || "",
        folder: folderOf(d),
        reason: d.reason || "",
      };
      r.hay = [r.when, r.from, r.subject, r.folder, r.reason, d.message_id || ""].join("\n").toLowerCase();
      rows.push(r);
    }
    const body = root.querySelector("tbody");
    const input = root.querySelector("input");
    const status = root.querySelector(".mp-status");
    const more = root.querySelector(".mp-more");
    const heads = root.querySelectorAll("th[data-key]");
    root.querySelector(".tools").hidden = false;
    root.querySelector(".scroll").hidden = false;
    let view = rows, shown = 0, query = "", key = null, dir = 1, timer = 0;

    const cell = (tr, text, empty, cls) => {
      const td = document.createElement("td");
      td.className = (cls || "") + (text ? "" : " mp-none");
      td.textContent = text || empty;
      tr.appendChild(td);
    };
    function draw(n) {
      const end = Math.min(view.length, shown + n);
      const frag = document.createDocumentFragment();
      for (let k = shown; k < end; k++) {
        const r = view[k];
        const tr = document.createElement("tr");
        cell(tr, r.when, "(no date)", "mp-date");
        cell(tr, r.from, "(no sender)");
        cell(tr, r.subject, "(no subject)", "mp-subject");
        cell(tr, r.folder, "");
        cell(tr, r.reason, "", "mp-reason");
        frag.appendChild(tr);
      }
      body.appendChild(frag);
      shown = end;
      const total = nf.format(rows.length);
      let text = query ? nf.format(view.length) + " of " + total + " match" : total + (rows.length === 1 ? " message" : " messages");
      if (shown < view.length) text += ", showing " + nf.format(shown);
      status.textContent = text;
      more.hidden = shown >= view.length;
      more.textContent = "Show " + nf.format(Math.min(CHUNK * 5, view.length - shown)) + " more";
    }
    function apply(q) {
      query = q.trim();
      const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
      view = terms.length ? rows.filter((r) => terms.every((t) => r.hay.includes(t))) : rows;
      body.textContent = "";
      shown = 0;
      draw(CHUNK);
    }
    function sortBy(k) {
      dir = key === k ? -dir : 1;
      key = k;
      const c = k === "date" ? (a, b) => a.date - b.date : (a, b) => coll.compare(a[k], b[k]);
      rows.sort((a, b) => c(a, b) * dir || a.i - b.i);
      heads.forEach((th) => {
        if (th.dataset.key === k) th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
        else th.removeAttribute("aria-sort");
      });
      apply(input.value);
    }
    heads.forEach((th) => th.querySelector("button").addEventListener("click", () => sortBy(th.dataset.key)));
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => apply(input.value), 120);
    });
    more.addEventListener("click", () => draw(CHUNK * 5));
    if ("IntersectionObserver" in window) {
      new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting) && shown < view.length) draw(CHUNK);
      }, { rootMargin: "600px" }).observe(more);
    }
    lists.push({
      print: () => { apply(""); draw(Infinity); },
      restore: () => apply(input.value),
    });
    apply("");
  }

  list("missing", (d) => d.status === "missing");
  list("altered", (d) => d.match === "altered");
  window.addEventListener("beforeprint", () => lists.forEach((l) => l.print()));
  window.addEventListener("afterprint", () => lists.forEach((l) => l.restore()));
})();
"#;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::check::report::{Cause, Difference, Mapping, SCHEMA, Totals};
    use crate::check::{ByMatch, Rule};
    use crate::source::SourceDescription;

    const NASTY: &str = "<script>alert(1)</script> \"&' </script><!--";

    fn side(code: &str, location: &str) -> Side {
        Side {
            source: SourceDescription {
                kind: "maildir".into(),
                location: location.into(),
            },
            code: Some(code.into()),
            intact: true,
            created: "2025-01-01T00:00:00Z".into(),
            tool: "mailproof 0.1.0".into(),
            identity_version: 1,
            read_now: false,
            folders: 2,
            messages: 3,
            not_mail: 0,
            unreadable: 0,
            folder_errors: 0,
            labels: false,
        }
    }

    fn diff(status: Status, grade: Option<Grade>, subject: &str, folder: &str) -> Difference {
        Difference {
            status,
            grade,
            cause: Cause::NotFound,
            reason: Arc::from("not in the new mailbox"),
            before_folder: Some(Arc::from(folder)),
            after_folder: Some(Arc::from(folder)),
            message_id: Some("m1@example.com".into()),
            digest: "ab".repeat(32),
            after_digest: None,
            date: Some(1_735_603_200),
            from: Some("Zoë <zoe@example.com>".into()),
            subject: Some(subject.into()),
        }
    }

    fn report() -> CheckReport {
        let folder = "In<b>box</b> & \"Co\"";
        CheckReport {
            schema: SCHEMA.into(),
            tool: "mailproof 0.1.0".into(),
            verdict: "1 message is missing from your new mailbox; 1 arrived altered.".into(),
            complete: false,
            before: side("7KQM-2XHD-P9TA", "/home/me/old<mail>"),
            after: side("3JXW-8RTB-QQ2C", "/home/me/Maildir"),
            totals: Totals {
                before: 3,
                after: 2,
                identical: 1,
                altered: 1,
                missing: 1,
                missing_messages: 1,
                by_match: ByMatch {
                    identical: 1,
                    altered: 1,
                    ..ByMatch::default()
                },
                ..Totals::default()
            },
            folders: vec![
                FolderRow {
                    before: Some(folder.into()),
                    after: Some(folder.into()),
                    rule: Some(Rule::SameName),
                    before_count: 2,
                    after_count: 1,
                    identical: 1,
                    missing: 1,
                    ..FolderRow::default()
                },
                FolderRow {
                    before: Some("Sent".into()),
                    after: Some("Sent Items".into()),
                    rule: Some(Rule::WellKnownName),
                    before_count: 1,
                    after_count: 1,
                    altered: 1,
                    ..FolderRow::default()
                },
            ],
            mapping: vec![Mapping {
                before: Some("Sent".into()),
                after: Some("Sent Items".into()),
                before_path: Some(vec!["Sent".into()]),
                after_path: Some(vec!["Sent Items".into()]),
                rule: Some(Rule::WellKnownName),
                reason: "both are the Sent folder".into(),
            }],
            differences: vec![
                diff(Status::Missing, None, NASTY, folder),
                diff(
                    Status::Altered,
                    Some(Grade::Altered),
                    "Plain & simple",
                    "Sent",
                ),
                diff(Status::Moved, Some(Grade::Reencoded), "moved one", "Sent"),
            ],
            notes: vec!["A note with <tags> & more.".into()],
        }
    }

    fn render(r: &CheckReport) -> String {
        let mut out = Vec::new();
        write_html(r, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The text of the embedded JSON block.
    fn data_block(html: &str) -> &str {
        let open = "<script type=\"application/json\" id=\"mp-data\">";
        let start = html.find(open).unwrap() + open.len();
        let len = html[start..].find("</script>").unwrap();
        &html[start..start + len]
    }

    #[test]
    fn escapes_everything_taken_from_mail() {
        assert_eq!(
            esc("<script>alert(1)</script> \"&'"),
            "&lt;script&gt;alert(1)&lt;/script&gt; &quot;&amp;&#39;"
        );
        let html = render(&report());
        // The only script elements are the page's own two.
        assert_eq!(html.matches("<script").count(), 2);
        assert_eq!(html.matches("</script>").count(), 2);
        assert!(!html.contains("alert(1)</script>"));
        assert!(!html.contains("<b>box</b>"));
        assert!(!html.contains("old<mail>"));
        assert!(!html.contains("<tags>"));
        assert!(html.contains("In&lt;b&gt;box&lt;/b&gt; &amp; &quot;Co&quot;"));
        assert!(html.contains("/home/me/old&lt;mail&gt;"));
        // In the JSON block, `<` never appears raw.
        let block = data_block(&html);
        assert!(!block.contains('<'));
        assert!(block.contains("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
    }

    #[test]
    fn shows_verdict_codes_folders_and_restore() {
        let html = render(&report());
        assert!(
            html.contains(
                "<h1>1 message is missing from your new mailbox; 1 arrived altered.</h1>"
            )
        );
        assert!(html.contains("class=\"verdict bad\""));
        assert!(html.contains("7KQM-2XHD-P9TA"));
        assert!(html.contains("3JXW-8RTB-QQ2C"));
        assert!(html.contains("2025-01-01 00:00 UTC"));
        assert!(html.contains("Sent <span class=\"arrow\">→</span> Sent Items"));
        assert!(html.contains("<th scope=\"row\">In&lt;b&gt;box"));
        assert!(html.contains("both are the Sent folder"));
        assert!(html.contains("mailproof restore ARCHIVE DEST"));
        assert!(html.contains("id=\"missing\""));
        assert!(html.contains("id=\"altered\""));
        // The moved, re-encoded message is summarised, not listed.
        assert!(html.contains("1 message</span> moved from “Sent” to “Sent”"));
    }

    #[test]
    fn tone_follows_the_result() {
        let mut r = report();
        assert_eq!(tone(&r).0, "bad");
        r.complete = true;
        r.totals.missing = 0;
        assert_eq!(tone(&r).0, "warn");
        r.totals.by_match.altered = 0;
        assert_eq!(tone(&r).0, "ok");
        r.before.intact = false;
        assert_eq!(tone(&r).0, "bad");
    }

    #[test]
    fn embedded_differences_parse_back() {
        let r = report();
        let html = render(&r);
        let back: Vec<Difference> = serde_json::from_str(data_block(&html)).unwrap();
        assert_eq!(back, r.differences);
    }

    #[test]
    fn is_self_contained() {
        let html = render(&report());
        for banned in [
            "http://", "https://", "<link", "src=", "@import", "url(", "//cdn",
        ] {
            assert!(!html.contains(banned), "{banned} in the page");
        }
        let hash = base64(&Sha256::digest(SCRIPT.as_bytes()));
        assert!(html.contains(&format!("script-src 'sha256-{hash}'")));
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn reads_without_differences() {
        let mut r = report();
        r.differences.clear();
        r.complete = true;
        r.totals.missing = 0;
        r.verdict = "All 3 messages are in your new mailbox.".into();
        let html = render(&r);
        assert!(!html.contains("id=\"missing\""));
        assert!(html.contains("Nothing is missing."));
        let back: Vec<Difference> = serde_json::from_str(data_block(&html)).unwrap();
        assert!(back.is_empty());
    }
}
