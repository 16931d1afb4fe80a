//! Export, verify and damage, through the real command: an archive holds every message, opens
//! with `unzip`, reads back as the same mailbox, and `verify` names each damaged entry.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use mailproof_engine::receipt::Receipt;
use mailproof_tests::cli::Mailproof;
use mailproof_tests::fixtures::{self, Kind, Manifest};
use mailproof_tests::rng::Rng;
use mailproof_tests::synth;

fn export(spec: &str, out: &Path, extra: &[&str]) -> Mailproof {
    let mut args = vec!["export", spec, "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    Mailproof::run(&args)
}

/// Takes a receipt of `source` into `out` and loads it.
fn receipt_of(source: &str, out: &Path) -> Receipt {
    let run = Mailproof::run(&["receipt", source, "-o", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run}");
    Receipt::load(out).unwrap()
}

fn maildir_spec(manifest: &Manifest) -> String {
    manifest.of_kind(Kind::Maildir).next().unwrap().spec()
}

/// Content of a receipt that does not depend on where or when it was taken.
fn content(r: &Receipt) -> Vec<String> {
    r.messages
        .iter()
        .map(|m| {
            format!(
                "{} {} {} {} {:?} {:?}",
                r.folders[m.folder].name(),
                m.source_id,
                m.identity.digest,
                m.identity.fingerprint,
                m.flags,
                m.excluded
            )
        })
        .collect()
}

#[test]
fn export_verify_and_read_back() {
    let (dir, manifest) = fixtures::temp().unwrap();
    for compression in ["stored", "deflate"] {
        for fixture in &manifest.fixtures {
            let zip = dir
                .path()
                .join(format!("{}-{compression}.zip", fixture.name));
            let run = export(&fixture.spec(), &zip, &["--compression", compression]);
            assert_eq!(run.code, 0, "{}: {run}", fixture.name);
            assert!(!PathBuf::from(format!("{}.partial", zip.display())).exists());

            let verify = Mailproof::run(&["verify", zip.to_str().unwrap()]);
            assert_eq!(verify.code, 0, "{verify}");
            assert!(verify.stdout.contains("match the receipt"), "{verify}");

            // The archive read back as a mailbox gives the same messages.
            let direct = dir
                .path()
                .join(format!("{}-{compression}.receipt", fixture.name));
            let again = dir
                .path()
                .join(format!("{}-{compression}-again.receipt", fixture.name));
            let (a, b) = (
                receipt_of(&fixture.spec(), &direct),
                receipt_of(zip.to_str().unwrap(), &again),
            );
            assert_eq!(content(&a), content(&b), "{}", fixture.name);
            assert_eq!(a.totals.found, b.totals.found);
            assert_eq!(b.header.source.kind, "archive");
        }
    }
}

#[test]
fn archives_open_with_unzip() {
    if Command::new("unzip").arg("-v").output().is_err() {
        eprintln!("skipped: no unzip on this machine");
        return;
    }
    let (dir, manifest) = fixtures::temp().unwrap();
    let zip = dir.path().join("a.zip");
    assert_eq!(export(&maildir_spec(&manifest), &zip, &[]).code, 0);
    let test = Command::new("unzip").arg("-tq").arg(&zip).output().unwrap();
    assert!(
        test.status.success(),
        "{}",
        String::from_utf8_lossy(&test.stdout)
    );
    let out = dir.path().join("unzipped");
    let x = Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&out)
        .output()
        .unwrap();
    assert!(x.status.success());
    assert!(out.join("receipt.jsonl").is_file());
    assert!(out.join("messages/INBOX").is_dir());
}

/// More entries than a zip's 16-bit count holds: the archive takes its ZIP64 end records, and
/// `verify`, `unzip` and a receipt of the archive all see every message.
#[test]
fn more_than_65535_messages_take_zip64() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("eml/INBOX");
    std::fs::create_dir_all(&inbox).unwrap();
    let count = 66_000;
    for n in 1..=count {
        let message = format!("Message-ID: <{n}@example.org>\nSubject: note {n}\n\nbody {n}\n");
        std::fs::write(inbox.join(format!("{n}.eml")), message).unwrap();
    }
    let zip = dir.path().join("many.zip");
    let spec = format!("eml:{}", dir.path().join("eml").display());
    let run = export(&spec, &zip, &[]);
    assert_eq!(run.code, 0, "{run}");
    let bytes = std::fs::read(&zip).unwrap();
    // The ZIP64 end record, its locator, then the classic end record, which says "see ZIP64".
    let end = &bytes[bytes.len() - 22..];
    assert_eq!(&end[..4], b"PK\x05\x06");
    assert_eq!(&end[10..12], &[0xff, 0xff]);
    assert_eq!(&bytes[bytes.len() - 42..bytes.len() - 38], b"PK\x06\x07");

    let verify = Mailproof::run(&["verify", zip.to_str().unwrap()]);
    assert_eq!(verify.code, 0, "{verify}");
    assert!(verify.stdout.contains("All 66,000 messages"), "{verify}");
    let again = receipt_of(zip.to_str().unwrap(), &dir.path().join("again.receipt"));
    assert_eq!(again.totals.found, count);
    if let Ok(test) = Command::new("unzip").arg("-tq").arg(&zip).output() {
        assert!(
            test.status.success(),
            "{}",
            String::from_utf8_lossy(&test.stdout)
        );
    }
}

#[test]
fn an_existing_output_is_not_replaced_without_force() {
    let (dir, manifest) = fixtures::temp().unwrap();
    let zip = dir.path().join("a.zip");
    std::fs::write(&zip, b"precious").unwrap();
    let run = export(&maildir_spec(&manifest), &zip, &[]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("already exists"), "{run}");
    assert_eq!(std::fs::read(&zip).unwrap(), b"precious");
    assert_eq!(export(&maildir_spec(&manifest), &zip, &["--force"]).code, 0);
}

/// Byte offset of an entry's data in a stored archive.
fn data_offset(zip: &Path, name: &str) -> u64 {
    let file = std::fs::File::open(zip).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let entry = archive.by_name(name).unwrap();
    entry.data_start().unwrap()
}

/// The first message entry of an archive, and its folder's name.
fn first_message_entry(zip: &Path) -> (String, String) {
    let r = mailproof_engine::archive::read_receipt(zip).unwrap();
    let m = r.messages.iter().find(|m| m.entry.is_some()).unwrap();
    (m.entry.clone().unwrap(), r.folders[m.folder].name())
}

#[test]
fn verify_names_a_flipped_byte() {
    let (dir, manifest) = fixtures::temp().unwrap();
    let zip = dir.path().join("a.zip");
    assert_eq!(export(&maildir_spec(&manifest), &zip, &[]).code, 0);
    let (entry, _) = first_message_entry(&zip);
    let at = data_offset(&zip, &entry) + 10;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&zip)
        .unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    let mut b = [0u8];
    f.read_exact(&mut b).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&[b[0] ^ 0x20]).unwrap();
    drop(f);
    let run = Mailproof::run(&["verify", zip.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stdout.contains("corrupt") && run.stdout.contains(&entry),
        "{run}"
    );
    assert!(run.stdout.contains("1 problem"), "{run}");
}

#[test]
fn verify_names_a_deleted_entry() {
    if Command::new("zip").arg("-v").output().is_err() {
        eprintln!("skipped: no zip on this machine");
        return;
    }
    let (dir, manifest) = fixtures::temp().unwrap();
    let zip = dir.path().join("a.zip");
    assert_eq!(export(&maildir_spec(&manifest), &zip, &[]).code, 0);
    let (entry, folder) = first_message_entry(&zip);
    let del = Command::new("zip")
        .arg("-qd")
        .arg(&zip)
        .arg(&entry)
        .output()
        .unwrap();
    assert!(del.status.success());
    let run = Mailproof::run(&["verify", zip.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 1, "{run}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{run}");
    assert_eq!(problems[0]["kind"], "missing");
    assert_eq!(problems[0]["entry"], entry.as_str());
    assert_eq!(problems[0]["folder"], folder.as_str());
}

#[test]
fn verify_reports_a_truncated_archive() {
    let (dir, manifest) = fixtures::temp().unwrap();
    let zip = dir.path().join("a.zip");
    assert_eq!(export(&maildir_spec(&manifest), &zip, &[]).code, 0);
    let len = std::fs::metadata(&zip).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&zip).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let run = Mailproof::run(&["verify", zip.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("truncated"), "{run}");
    assert!(run.stdout.contains("entries are complete"), "{run}");
}

#[test]
fn verify_detects_an_altered_receipt() {
    let (dir, manifest) = fixtures::temp().unwrap();
    let receipt = dir.path().join("r.receipt");
    let run = Mailproof::run(&[
        "receipt",
        &maildir_spec(&manifest),
        "-o",
        receipt.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run}");
    let ok = Mailproof::run(&["verify", receipt.to_str().unwrap()]);
    assert_eq!(ok.code, 0, "{ok}");
    let code = Receipt::load(&receipt).unwrap().code().unwrap().to_string();
    let expect = Mailproof::run(&[
        "verify",
        receipt.to_str().unwrap(),
        "--expect-code",
        &code.to_lowercase(),
    ]);
    assert_eq!(expect.code, 0, "{expect}");
    let wrong = Mailproof::run(&[
        "verify",
        receipt.to_str().unwrap(),
        "--expect-code",
        "2222-2222-2222",
    ]);
    assert_eq!(wrong.code, 1, "{wrong}");
    assert!(wrong.stdout.contains("NOT the expected receipt"), "{wrong}");

    let text = std::fs::read_to_string(&receipt).unwrap();
    let altered = text.replacen("\"size\":", "\"size\":1", 1);
    std::fs::write(&receipt, altered).unwrap();
    let bad = Mailproof::run(&["verify", receipt.to_str().unwrap()]);
    assert_eq!(bad.code, 1, "{bad}");
    assert!(bad.stdout.contains("changed after it was written"), "{bad}");
}

/// With Deflate, a message that is mostly an attachment of a compressed file is stored as it
/// is (Deflate would not shrink it), a text message is compressed, and both verify.
#[test]
fn deflate_stores_what_it_cannot_shrink() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let mut rng = Rng::new(7);
    let data = synth::binary_data(&mut rng, "pdf", 300_000);
    let pdf = synth::attachment_part(&mut rng, "application/pdf", "report.pdf", &data);
    let mut attached = b"From: a@example.org\nSubject: report\nMIME-Version: 1.0\n".to_vec();
    attached.extend_from_slice(&pdf.to_bytes());
    let mut text = b"From: a@example.org\nSubject: minutes\n\n".to_vec();
    for n in 0..6000 {
        text.extend_from_slice(format!("Item {n}: the budget was agreed.\n").as_bytes());
    }
    std::fs::write(maildir.join("cur/1.host:2,S"), &attached).unwrap();
    std::fs::write(maildir.join("cur/2.host:2,S"), &text).unwrap();

    let zip = dir.path().join("a.zip");
    let spec = format!("maildir:{}", maildir.display());
    let run = export(&spec, &zip, &["--compression", "deflate"]);
    assert_eq!(run.code, 0, "{run}");
    let verify = Mailproof::run(&["verify", zip.to_str().unwrap()]);
    assert_eq!(verify.code, 0, "{verify}");

    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let mut methods = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        if entry.name().unwrap().starts_with("messages/") {
            let method = entry.compression();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            let subject = if bytes == attached {
                "report"
            } else {
                "minutes"
            };
            assert!(bytes == attached || bytes == text);
            methods.push((subject, method));
        }
    }
    methods.sort_by_key(|(subject, _)| *subject);
    assert_eq!(
        methods,
        [
            ("minutes", zip::CompressionMethod::Deflated),
            ("report", zip::CompressionMethod::Stored)
        ]
    );
}
