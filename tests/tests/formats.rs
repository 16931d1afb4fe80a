//! Every local format, generated with its edge cases, read through the real `mailproof receipt`:
//! each folder and message must come out exactly as the generator wrote it.

use std::collections::BTreeMap;

use mailproof_engine::receipt::{MessageRecord, Receipt};
use mailproof_tests::cli::Mailproof;
use mailproof_tests::fixtures::{self, Fixture, Kind};

fn receipt(fixture: &Fixture, dir: &std::path::Path) -> (Receipt, Mailproof) {
    let out = dir.join(format!("{}.receipt", fixture.name));
    let run = Mailproof::run(&["receipt", &fixture.spec(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}: {run}", fixture.name);
    (Receipt::load(&out).unwrap(), run)
}

/// What the comparison looks at for one message.
fn key(sha256: &str, flags: &[String], excluded: bool, trashed: bool) -> String {
    let mut flags = flags.to_vec();
    flags.sort();
    format!("{sha256} {flags:?} excluded={excluded} trashed={trashed}")
}

#[test]
fn every_fixture_reads_exactly_as_generated() {
    let (dir, manifest) = fixtures::temp().unwrap();
    assert!(manifest.fixtures.len() >= 10, "{}", manifest.fixtures.len());
    for fixture in &manifest.fixtures {
        let (receipt, run) = receipt(fixture, dir.path());
        let got_folders: Vec<Vec<String>> =
            receipt.folders.iter().map(|f| f.path.clone()).collect();
        let want_folders: Vec<Vec<String>> =
            fixture.folders.iter().map(|f| f.path.clone()).collect();
        assert_eq!(
            got_folders, want_folders,
            "{}: folders\n{run}",
            fixture.name
        );
        for (folder, want) in receipt.folders.iter().zip(&fixture.folders) {
            let got: Vec<&MessageRecord> = receipt
                .messages
                .iter()
                .filter(|m| m.folder == folder.id)
                .collect();
            let got_keys: Vec<String> = got
                .iter()
                .map(|m| {
                    key(
                        &m.identity.digest,
                        &m.flags,
                        m.excluded.is_some(),
                        m.trashed,
                    )
                })
                .collect();
            let want_keys: Vec<String> = want
                .messages
                .iter()
                .map(|m| key(&m.sha256, &m.flags, m.excluded, m.trashed))
                .collect();
            let context = format!("{} / {}", fixture.name, want.name());
            if fixture.kind == Kind::Mbox || fixture.kind == Kind::MboxTree {
                assert_eq!(got_keys, want_keys, "{context}: in file order");
            } else {
                let mut g = got_keys.clone();
                let mut w = want_keys.clone();
                g.sort();
                w.sort();
                assert_eq!(g, w, "{context}: as a multiset");
            }
            let end = receipt
                .folder_ends
                .iter()
                .find(|e| e.folder == folder.id)
                .unwrap();
            assert_eq!(
                end.found,
                end.read + end.unreadable + end.excluded,
                "{context}"
            );
            assert_eq!(
                end.read as usize,
                want.counted(),
                "{context}: counted as mail"
            );
            assert_eq!(end.unreadable, 0, "{context}");
            let trashed = want.messages.iter().filter(|m| m.trashed).count() as u64;
            assert_eq!(end.trashed, trashed, "{context}: trashed");
        }
        assert_eq!(
            receipt.totals.read as usize,
            fixture.counted(),
            "{}",
            fixture.name
        );
        assert_eq!(
            receipt.totals.found as usize,
            fixture.messages(),
            "{}",
            fixture.name
        );
        assert!(receipt.code().is_some());
    }
}

#[test]
fn excluded_messages_are_reported_with_their_reason() {
    let (dir, manifest) = fixtures::temp().unwrap();
    let with_excluded: Vec<&Fixture> = manifest
        .fixtures
        .iter()
        .filter(|f| f.messages() > f.counted())
        .collect();
    assert!(
        !with_excluded.is_empty(),
        "the fixtures plant an expunged message"
    );
    for fixture in with_excluded {
        let (receipt, run) = receipt(fixture, dir.path());
        let reasons: BTreeMap<String, u64> = receipt
            .folder_ends
            .iter()
            .flat_map(|e| e.excluded_reasons.clone())
            .collect();
        assert!(!reasons.is_empty(), "{}", fixture.name);
        assert!(run.stdout.contains("not counted as mail"), "{run}");
    }
}

#[test]
fn the_same_mail_gives_the_same_receipt_whatever_the_threads() {
    let (dir, manifest) = fixtures::temp().unwrap();
    let fixture = manifest.of_kind(Kind::Maildir).next().unwrap();
    let mut digests = Vec::new();
    for threads in ["1", "2", "7"] {
        let out = dir.path().join(format!("t{threads}.receipt"));
        let run = Mailproof::run(&[
            "receipt",
            &fixture.spec(),
            "-o",
            out.to_str().unwrap(),
            "--threads",
            threads,
        ]);
        assert_eq!(run.code, 0, "{run}");
        let r = Receipt::load(&out).unwrap();
        let lines: Vec<String> = r
            .messages
            .iter()
            .map(|m| format!("{} {} {}", m.folder, m.source_id, m.identity.digest))
            .collect();
        digests.push(lines);
    }
    assert_eq!(digests[0], digests[1]);
    assert_eq!(digests[0], digests[2]);
}
