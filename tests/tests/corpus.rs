//! Conformance over real public mail (the corpus named by `MAILPROOF_CORPUS`): exact digests
//! for a real mboxrd archive, the expected counts for tricky mbox samples, Apple Mail partials
//! reassembled, and every file of the corpus accounted for without a panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mailproof_engine::identity::identify;
use mailproof_engine::receipt::Receipt;
use mailproof_engine::sources::{self, Input};
use mailproof_tests::cli::{Mailproof, corpus};

/// Reads a receipt of `spec` taken through the real command.
fn receipt_of(spec: &Path) -> Receipt {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.receipt");
    let run = Mailproof::run(&[
        "receipt",
        spec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(run.code == 0 || run.code == 1, "{run}");
    Receipt::load(&out).unwrap()
}

#[test]
fn open_iscsi_digests_are_reproduced_exactly() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("mbox-open-iscsi");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let expected: Vec<&str> = manifest
        .lines()
        .filter(|l| !l.starts_with("index") && !l.trim().is_empty())
        .map(|l| l.split('\t').nth(3).unwrap())
        .collect();
    assert_eq!(expected.len(), 1233);
    let receipt = receipt_of(&dir.join("open-iscsi.mboxrd"));
    let got: Vec<&str> = receipt
        .messages
        .iter()
        .map(|m| m.identity.digest.as_str())
        .collect();
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "message {} differs", i + 1);
    }
    assert_eq!(receipt.totals.found, 1233);
    assert_eq!(receipt.totals.unreadable, 0);
    assert!(receipt.code().is_some());
}

#[test]
fn tricky_mbox_samples_give_the_expected_counts() {
    let Some(corpus) = corpus() else { return };
    let tb = corpus.join("thunderbird-mailnews/mailnews-test-data");
    for (path, expected) in [
        (tb.join("mbox_unquoted"), 2),
        (tb.join("mbox_modern"), 2),
        (tb.join("mbox_mboxrd"), 2),
        (corpus.join("cpython-email/mailbox_01.mbox"), 1),
    ] {
        let receipt = receipt_of(&path);
        assert_eq!(receipt.totals.read, expected, "{}", path.display());
        assert_eq!(receipt.totals.found, expected, "{}", path.display());
    }
}

#[test]
fn apple_mail_partials_are_reassembled() {
    let Some(corpus) = corpus() else { return };
    let base = corpus.join("emlx/partial-emlx-converter");
    let receipt = receipt_of(&base.join("input"));
    let expected_dir = base.join("expected_results");
    let (mut checked, mut partials) = (0, 0);
    for entry in std::fs::read_dir(&expected_dir).unwrap() {
        let path = entry.unwrap().path();
        let id = path.file_stem().unwrap().to_string_lossy().into_owned();
        let want = identify(&std::fs::read(&path).unwrap());
        let got = receipt
            .messages
            .iter()
            .find(|m| {
                m.source_id.ends_with(&format!("/{id}.emlx"))
                    || m.source_id.ends_with(&format!("/{id}.partial.emlx"))
            })
            .unwrap_or_else(|| panic!("no message for {id} in the receipt"));
        if got.source_id.ends_with(".partial.emlx") {
            assert!(
                got.notes.iter().any(|n| n.contains("reassembled")),
                "{id}: {:?}",
                got.notes
            );
            partials += 1;
        }
        assert_eq!(got.identity.fingerprint, want.fingerprint, "{id}");
        checked += 1;
    }
    assert_eq!((checked, partials), (2, 1));
    // Every partial message with a valid length line reads, with its attachments put back.
    let reassembled = receipt
        .messages
        .iter()
        .filter(|m| m.notes.iter().any(|n| n.contains("reassembled")))
        .count();
    assert!(reassembled >= 3, "{reassembled}");
}

/// What one corpus file turned out to be.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Mail { found: u64 },
    Rejected,
}

#[test]
fn every_corpus_file_is_accounted_for() {
    let Some(corpus) = corpus() else { return };
    let files = mailproof_tests::tree::files(&corpus);
    assert!(
        files.len() > 850,
        "the corpus looks incomplete: {}",
        files.len()
    );
    let mut outcomes: BTreeMap<PathBuf, Outcome> = BTreeMap::new();
    for file in &files {
        let outcome = match sources::open(file.to_str().unwrap()) {
            Ok(Input::Source(mut source)) => {
                let mut found = 0u64;
                for folder in source.folders().unwrap() {
                    source
                        .read_folder(&folder, &mut |_| {
                            found += 1;
                            std::ops::ControlFlow::Continue(())
                        })
                        .unwrap();
                }
                Outcome::Mail { found }
            }
            Ok(Input::Receipt(_)) => panic!("no receipts in the corpus: {}", file.display()),
            Err(e) => {
                let text = e.to_string();
                eprintln!("rejected: {text}");
                assert!(
                    text.contains(&*file.to_string_lossy()),
                    "error does not name the file: {text}"
                );
                Outcome::Rejected
            }
        };
        if let Outcome::Mail { found } = outcome {
            assert!(
                found >= 1,
                "{} opened as mail but yielded nothing",
                file.display()
            );
        }
        outcomes.insert(file.clone(), outcome);
    }
    let mail = outcomes
        .values()
        .filter(|o| matches!(o, Outcome::Mail { .. }))
        .count();
    let messages: u64 = outcomes
        .values()
        .map(|o| match o {
            Outcome::Mail { found } => *found,
            Outcome::Rejected => 0,
        })
        .sum();
    // Known non-mail files must be rejected, not read as mail.
    for name in ["SOURCES.md", "manifest.tsv", "bugmail-1.msf"] {
        let file = files.iter().find(|f| f.ends_with(name)).unwrap();
        assert_eq!(outcomes[file], Outcome::Rejected, "{name}");
    }
    eprintln!(
        "corpus: {} files, {mail} read as mail holding {messages} messages, {} rejected with a reason",
        files.len(),
        files.len() - mail
    );
    assert!(messages > 2100, "{messages}");
}
