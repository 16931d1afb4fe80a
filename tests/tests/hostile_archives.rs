//! Archives built to attack the reader: names that escape a folder, links, duplicate names,
//! sizes that lie, a zip bomb. `verify` reports each entry by name and reads no entry further
//! than the size its receipt records; reading the archive as a mailbox refuses the same entries
//! as unreadable rather than holding them in memory; nothing is written anywhere.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use mailproof_engine::receipt::Receipt;
use mailproof_tests::cli::Mailproof;
use mailproof_tests::fixtures::{self, Kind};
use mailproof_tests::tree::files;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// A genuine export of the Maildir fixture, and its receipt.
fn genuine(dir: &Path) -> (PathBuf, Receipt) {
    let manifest = fixtures::write_all(dir).unwrap();
    let spec = manifest.of_kind(Kind::Maildir).next().unwrap().spec();
    let zip = dir.join("genuine.zip");
    let run = Mailproof::run(&["export", &spec, "-o", zip.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run}");
    let receipt = mailproof_engine::archive::read_receipt(&zip).unwrap();
    (zip, receipt)
}

/// The message entries the receipt names, in receipt order.
fn entries(receipt: &Receipt) -> Vec<String> {
    receipt
        .messages
        .iter()
        .filter_map(|m| m.entry.clone())
        .collect()
}

/// Copies `from` into a new archive at `to`, leaving out `skip`, then lets `add` append entries.
fn rebuild(from: &Path, to: &Path, skip: &[&str], add: impl FnOnce(&mut ZipWriter<fs::File>)) {
    let mut source = ZipArchive::new(fs::File::open(from).unwrap()).unwrap();
    let mut out = ZipWriter::new(fs::File::create(to).unwrap());
    for i in 0..source.len() {
        let entry = source.by_index_raw(i).unwrap();
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if !skip.contains(&name.as_str()) {
            out.raw_copy_file(entry).unwrap();
        }
    }
    add(&mut out);
    out.finish().unwrap();
}

fn stored() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Stored)
}

fn verify(zip: &Path) -> (Mailproof, serde_json::Value) {
    let run = Mailproof::run(&["verify", zip.to_str().unwrap(), "--json"]);
    let report = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run}"));
    (run, report)
}

/// The problems a JSON verify report lists, as (kind, entry, detail).
fn problems(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["entry"].as_str().unwrap().to_string(),
                p["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn escaping_names_and_links_are_reported_and_never_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let (genuine, receipt) = genuine(dir.path());
    let listed = entries(&receipt);
    let hostile = dir.path().join("hostile.zip");
    rebuild(&genuine, &hostile, &[listed[0].as_str()], |out| {
        for name in [
            "../evil.eml",
            "/abs/evil.eml",
            "messages/../../evil.eml",
            "C:/evil.eml",
        ] {
            out.start_file(name, stored()).unwrap();
            out.write_all(b"Subject: evil\r\n\r\nx\r\n").unwrap();
        }
        // A listed entry replaced by a link to a system file.
        out.add_symlink(listed[0].as_str(), "/etc/passwd", stored())
            .unwrap();
        out.add_symlink("messages/link.eml", "../../..", stored())
            .unwrap();
    });
    let before = files(dir.path());
    let (run, report) = verify(&hostile);
    assert_eq!(run.code, 1, "{run}");
    let found = problems(&report);
    for name in [
        "../evil.eml",
        "/abs/evil.eml",
        "messages/../../evil.eml",
        "C:/evil.eml",
    ] {
        assert!(
            found.iter().any(|(k, e, d)| k == "unexpected"
                && e == name
                && d.contains("outside the archive's folder")),
            "{name} not reported as escaping: {found:?}"
        );
    }
    assert!(
        found
            .iter()
            .any(|(k, e, d)| k == "corrupt" && *e == listed[0] && d.contains("symbolic link")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(k, e, d)| k == "unexpected" && e == "messages/link.eml" && d.contains("link")),
        "{found:?}"
    );
    // Everything else still verifies.
    assert_eq!(report["intact"].as_u64().unwrap(), listed.len() as u64 - 1);
    assert_eq!(files(dir.path()), before, "verify wrote something");
    assert!(!dir.path().parent().unwrap().join("evil.eml").exists());

    // Read as a mailbox, the linked entry is unreadable, never followed.
    let out = dir.path().join("from-hostile.receipt");
    let run = Mailproof::run(&[
        "receipt",
        hostile.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "an unreadable message is a problem: {run}");
    let again = Receipt::load(&out).unwrap();
    assert_eq!(again.unreadable.len(), 1, "{:?}", again.unreadable);
    assert!(again.unreadable[0].reason.contains("symbolic link"));
    assert_eq!(again.totals.found, receipt.totals.found);
}

#[test]
fn duplicate_names_and_lying_sizes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (genuine, receipt) = genuine(dir.path());
    let listed = entries(&receipt);

    // Duplicate: a second entry whose name differs in its last byte, then patched to match.
    let dup = dir.path().join("dup.zip");
    let twin = format!("{}#", &listed[1][..listed[1].len() - 1]);
    rebuild(&genuine, &dup, &[], |out| {
        out.start_file(twin.as_str(), stored()).unwrap();
        out.write_all(b"Subject: impostor\r\n\r\nx\r\n").unwrap();
    });
    let mut bytes = fs::read(&dup).unwrap();
    let patched = replace_all(&mut bytes, twin.as_bytes(), listed[1].as_bytes());
    assert_eq!(patched, 2, "local header and central directory");
    fs::write(&dup, &bytes).unwrap();
    let (run, report) = verify(&dup);
    assert_eq!(run.code, 1, "{run}");
    let found = problems(&report);
    assert!(
        found
            .iter()
            .any(|(_, e, d)| *e == listed[1]
                && (d.contains("more than once") || d.contains("changed"))),
        "{found:?}"
    );

    // Lying sizes: the central directory claims 7 bytes fewer for one stored entry.
    let liar = dir.path().join("liar.zip");
    let mut bytes = fs::read(&genuine).unwrap();
    let target = &listed[2];
    let at = central_entry(&bytes, target).expect("entry in the central directory");
    for field in [20, 24] {
        let size = u32::from_le_bytes(bytes[at + field..at + field + 4].try_into().unwrap());
        bytes[at + field..at + field + 4].copy_from_slice(&(size - 7).to_le_bytes());
    }
    fs::write(&liar, &bytes).unwrap();
    let (run, report) = verify(&liar);
    assert_eq!(run.code, 1, "{run}");
    let found = problems(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0.as_str(), &found[0].1), ("corrupt", target));
    assert_eq!(report["intact"].as_u64().unwrap(), listed.len() as u64 - 1);
}

#[test]
fn a_zip_bomb_is_refused_without_being_inflated() {
    let dir = tempfile::tempdir().unwrap();
    let (genuine, receipt) = genuine(dir.path());
    let listed = entries(&receipt);
    let bomb = dir.path().join("bomb.zip");
    // 2 GiB of zeros under a listed name: deflate makes it about 2 MB.
    rebuild(&genuine, &bomb, &[listed[0].as_str()], |out| {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(9))
            .large_file(true);
        out.start_file(listed[0].as_str(), options).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..2048 {
            out.write_all(&zeros).unwrap();
        }
    });
    assert!(fs::metadata(&bomb).unwrap().len() < 64 << 20);
    let (run, report) = verify(&bomb);
    assert_eq!(run.code, 1, "{run}");
    let found = problems(&report);
    assert!(
        found
            .iter()
            .any(|(k, e, d)| k == "corrupt" && *e == listed[0] && d.contains("more than")),
        "{found:?}"
    );
    let out = dir.path().join("from-bomb.receipt");
    let run = Mailproof::run(&[
        "receipt",
        bomb.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "an unreadable message is a problem: {run}");
    let again = Receipt::load(&out).unwrap();
    assert_eq!(again.unreadable.len(), 1);
    assert!(
        again.unreadable[0].reason.contains("refused"),
        "{:?}",
        again.unreadable
    );
}

#[test]
fn a_receipt_from_another_export_matches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (genuine, receipt) = genuine(dir.path());
    let manifest = fixtures::write_all(&dir.path().join("other")).unwrap();
    let other = dir.path().join("other.zip");
    let spec = manifest.of_kind(Kind::Eml).next().unwrap().spec();
    assert_eq!(
        Mailproof::run(&["export", &spec, "-o", other.to_str().unwrap()]).code,
        0
    );
    let mut foreign = String::new();
    ZipArchive::new(fs::File::open(&other).unwrap())
        .unwrap()
        .by_name("receipt.jsonl")
        .unwrap()
        .read_to_string(&mut foreign)
        .unwrap();
    let swapped = dir.path().join("swapped.zip");
    rebuild(&genuine, &swapped, &["receipt.jsonl"], |out| {
        out.start_file("receipt.jsonl", stored()).unwrap();
        out.write_all(foreign.as_bytes()).unwrap();
    });
    let (run, report) = verify(&swapped);
    assert_eq!(run.code, 1, "{run}");
    let found = problems(&report);
    let unexpected = found.iter().filter(|(k, ..)| k == "unexpected").count();
    assert_eq!(unexpected, entries(&receipt).len(), "{found:?}");
    assert_eq!(report["intact"].as_u64().unwrap(), 0);
}

/// Replaces every occurrence of `from` by `to` (same length); returns how many.
fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut count = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            count += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    count
}

/// The offset of `name`'s central directory header.
fn central_entry(bytes: &[u8], name: &str) -> Option<usize> {
    (0..bytes.len().saturating_sub(46)).find(|&i| {
        bytes[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] && {
            let len = u16::from_le_bytes([bytes[i + 28], bytes[i + 29]]) as usize;
            bytes.get(i + 46..i + 46 + len) == Some(name.as_bytes())
        }
    })
}
