//! Extreme input through the real command: a 200 MB message, a 1 MB header line, 100,000
//! messages in one folder, 5,000 folders, empty mailboxes, and files that are not mailboxes at
//! all. Each gets a clear result (counts, or an error naming the file and what it looks like,
//! with the exit code of the command-line contract) and bounded memory: the peak resident
//! memory of the `mailproof` process itself is measured (`wait4`) and must stay under a bound
//! that does not grow with the mailbox.
//!
//! Inputs are generated on the fly in a temporary folder, streamed to disk.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mailproof_engine::pipeline::load_receipt;
use mailproof_tests::cli::Mailproof;
use mailproof_tests::rng::Rng;
use mailproof_tests::synth;
use serde_json::Value;
use sha2::{Digest, Sha256};

const MB: u64 = 1 << 20;

/// For everything but a huge message: the program itself takes about 10 MB, the messages in
/// flight are capped at 32 MB (plus their records), and an archive's central directory grows by
/// about 400 bytes per message (40 MB for 100,000). 150 MB leaves room for allocator slack and
/// still fails anything that holds a mailbox, or a large part of it, in memory.
const BOUND: u64 = 150 * MB;

/// For a 200 MB message: it is held whole once (hashed where it lies, and streamed from there
/// into an archive), so the peak is its size plus the 150 MB above at most; 300 MB fails any
/// second copy of it (400 MB), which is what a reader growing its buffer by doubling or a
/// parser copying the body would cost.
const BIG_BOUND: u64 = 300 * MB;

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MB as f64)
}

fn hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `mailproof ARGS --json`, checks the exit code and the peak memory, and returns the
/// parsed summary.
fn run_json(args: &[&str], code: i32, bound: u64) -> Value {
    let mut all = args.to_vec();
    // `check` writes its JSON report to a file; `-` is standard output.
    all.extend(if args[0] == "check" {
        &["--json", "-"][..]
    } else {
        &["--json"]
    });
    let (run, peak) = Mailproof::run_measured(&all);
    eprintln!("mailproof {}: peak {}", args.join(" "), mib(peak));
    assert_eq!(run.code, code, "{run}");
    assert!(
        peak < bound,
        "mailproof {} peaked at {}, over {}",
        args.join(" "),
        mib(peak),
        mib(bound)
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run}"))
}

/// Takes a receipt and an export of `source`, each within `bound`; returns their totals.
fn receipt_and_export(source: &Path, out: &Path, bound: u64) -> [Value; 2] {
    let spec = source.to_str().unwrap();
    let receipt = out.join("mailbox.receipt");
    let archive = out.join("mailbox.zip");
    let r = run_json(
        &["receipt", spec, "-o", receipt.to_str().unwrap()],
        0,
        bound,
    );
    let e = run_json(&["export", spec, "-o", archive.to_str().unwrap()], 0, bound);
    assert_eq!(r["totals"], e["totals"]);
    [r, e]
}

/// Writes a message with a base64 attachment of at least `size` bytes; returns the SHA-256
/// of what was written and its length.
fn write_big_message(out: &mut impl Write, size: u64) -> (String, u64) {
    let mut rng = Rng::new(200);
    let mut data = vec![0u8; 57 * 13_797];
    rng.fill(&mut data);
    let mut block = synth::base64_wrapped(&data, 76);
    block.push(b'\n');
    let head = "From: Big Sender <big@example.org>\nTo: b@example.org\nSubject: a 200 MB \
                attachment\nMessage-ID: <big@example.org>\nDate: Mon, 1 Jan 2024 10:00:00 \
                +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\
                Content-Type: text/plain\n\nThe attachment follows.\n--b\nContent-Type: \
                application/octet-stream; name=\"big.bin\"\nContent-Transfer-Encoding: base64\n\n";
    let mut hash = Sha256::new();
    let mut len = 0u64;
    let mut put = |bytes: &[u8]| {
        out.write_all(bytes).unwrap();
        hash.update(bytes);
        len += bytes.len() as u64;
        len
    };
    let mut written = put(head.as_bytes());
    while written < size {
        written = put(&block);
    }
    put(b"--b--\n");
    (hex(hash.finalize()), len)
}

fn small_message(n: usize, extra_header: &str) -> String {
    format!(
        "From: sender{n}@example.org\nTo: b@example.org\nSubject: message {n}\n\
         Message-ID: <m{n}@example.org>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n{extra_header}\n\
         body of message {n}\n"
    )
}

const FROM_LINE: &str = "From sender@example.org Mon Jan  1 10:00:00 2024\n";

/// The receipt (of a receipt file or an archive) holds a message of this digest and size.
fn holds(receipt: &Path, digest: &str, len: u64) {
    let receipt = load_receipt(receipt).unwrap();
    assert!(
        receipt
            .messages
            .iter()
            .any(|m| m.identity.digest == digest && m.size == len),
        "no message of {len} bytes with digest {digest} in {}",
        receipt.header.source.location
    );
}

fn big_message_in(source: &Path, digest: &str, len: u64) {
    let out = source.parent().unwrap();
    let [receipt, _] = receipt_and_export(source, out, BIG_BOUND);
    assert_eq!(receipt["totals"]["read"], 2, "{receipt}");
    assert_eq!(receipt["totals"]["unreadable"], 0, "{receipt}");
    holds(&out.join("mailbox.receipt"), digest, len);
    holds(&out.join("mailbox.zip"), digest, len);
}

#[test]
fn a_200_mb_message_in_an_mbox() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("big.mbox");
    let mut file = BufWriter::new(File::create(&mbox).unwrap());
    file.write_all(FROM_LINE.as_bytes()).unwrap();
    let (digest, len) = write_big_message(&mut file, 200 * MB);
    write!(file, "\n{FROM_LINE}{}", small_message(2, "")).unwrap();
    file.into_inner().unwrap().sync_all().unwrap();
    big_message_in(&mbox, &digest, len);
}

#[test]
fn a_200_mb_message_in_a_maildir() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let big = maildir.join("cur/1700000000.M1P1.host:2,S");
    let mut file = BufWriter::new(File::create(&big).unwrap());
    let (digest, len) = write_big_message(&mut file, 200 * MB);
    file.into_inner().unwrap().sync_all().unwrap();
    fs::write(
        maildir.join("cur/1700000001.M2P1.host:2,S"),
        small_message(2, ""),
    )
    .unwrap();
    big_message_in(&maildir, &digest, len);
}

#[test]
fn header_lines_of_1_mb() {
    let long = |name: &str, unit: &str| {
        let mut line = format!("{name}: ");
        while line.len() < MB as usize {
            line.push_str(unit);
        }
        line.push('\n');
        line
    };
    let references: String = {
        let mut line = String::from("References:");
        let mut n = 0;
        while line.len() < MB as usize {
            line.push_str(&format!(" <ref{n}@example.org>"));
            n += 1;
        }
        line + "\n"
    };
    let messages = [
        small_message(1, &long("X-Long", "abcdefgh")),
        small_message(2, &references),
        small_message(3, "").replacen("Subject: message 3\n", &long("Subject", "message 3 "), 1),
        small_message(4, ""),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("long-headers.mbox");
    let text: Vec<String> = messages.iter().map(|m| format!("{FROM_LINE}{m}")).collect();
    fs::write(&mbox, text.join("\n")).unwrap();

    let [receipt, _] = receipt_and_export(&mbox, dir.path(), BOUND);
    assert_eq!(receipt["totals"]["read"], 4, "{receipt}");
    assert_eq!(receipt["totals"]["unreadable"], 0, "{receipt}");
    // Every message is read whole and its header parsed: the Message-ID after the long line
    // is found, and the long subject is kept.
    for path in ["mailbox.receipt", "mailbox.zip"] {
        let read = load_receipt(&dir.path().join(path)).unwrap();
        for (n, (record, bytes)) in read.messages.iter().zip(&messages).enumerate() {
            assert_eq!(record.identity.digest, hex(Sha256::digest(bytes)), "{n}");
            assert_eq!(
                record.identity.message_id.as_deref(),
                Some(format!("m{}@example.org", n + 1).as_str())
            );
            assert_eq!(record.identity.unparsed, None, "{n}");
        }
        let subject = read.messages[2].identity.subject.as_deref().unwrap();
        assert!(subject.len() > 1_000_000, "{}", subject.len());
    }
}

#[test]
fn a_hundred_thousand_messages_in_one_folder() {
    const COUNT: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("Inbox");
    let mut file = BufWriter::new(File::create(&mbox).unwrap());
    for n in 0..COUNT {
        if n > 0 {
            file.write_all(b"\n").unwrap();
        }
        write!(file, "{FROM_LINE}{}", small_message(n, "")).unwrap();
    }
    file.into_inner().unwrap().sync_all().unwrap();
    let spec = mbox.to_str().unwrap();

    let folders = run_json(&["folders", spec], 0, BOUND);
    assert_eq!(folders["messages"], COUNT, "{folders}");
    // An export is the heavier of the two runs: every entry also goes into the archive's
    // central directory, which is written at the end.
    let archive = dir.path().join("inbox.zip");
    let export = run_json(&["export", spec, "-o", archive.to_str().unwrap()], 0, BOUND);
    assert_eq!(export["totals"]["found"], COUNT, "{export}");
    assert_eq!(export["totals"]["read"], COUNT, "{export}");
    assert_eq!(export["folders"][0]["read"], COUNT, "{export}");
}

/// Thunderbird's layout: 50 folders (`Area NN` mbox files), each with 99 subfolders (in
/// `Area NN.sbd/`), every folder with its `.msf` index and one message. (Files, rather than a
/// directory per folder as in Maildir++: removing tens of thousands of directories afterwards
/// takes longer than the test itself on some disks.)
#[test]
fn five_thousand_folders() {
    const AREAS: usize = 50;
    const FOLDERS: usize = AREAS * 100;
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("Local Folders");
    let mut n = 0;
    let mut folder = |path: PathBuf| {
        n += 1;
        fs::write(&path, format!("{FROM_LINE}{}", small_message(n, ""))).unwrap();
        let mut index = path.into_os_string();
        index.push(".msf");
        fs::write(index, "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n").unwrap();
    };
    for area in 0..AREAS {
        let name = format!("Area {area:02}");
        let sub = tree.join(format!("{name}.sbd"));
        fs::create_dir_all(&sub).unwrap();
        folder(tree.join(&name));
        for child in 1..100 {
            folder(sub.join(format!("Folder {child:02}")));
        }
    }
    let spec = tree.to_str().unwrap();

    let listed = run_json(&["folders", spec], 0, BOUND);
    assert_eq!(listed["folders"].as_array().unwrap().len(), FOLDERS);
    assert_eq!(listed["messages"], FOLDERS);
    assert_eq!(
        listed["folders"][1]["path"],
        serde_json::json!(["Area 00", "Folder 01"])
    );
    let receipt = dir.path().join("tree.receipt");
    let taken = run_json(
        &["receipt", spec, "-o", receipt.to_str().unwrap()],
        0,
        BOUND,
    );
    assert_eq!(taken["totals"]["folders"], FOLDERS, "{taken}");
    assert_eq!(taken["totals"]["read"], FOLDERS, "{taken}");
    let archive = dir.path().join("tree.zip");
    let export = run_json(&["export", spec, "-o", archive.to_str().unwrap()], 0, BOUND);
    assert_eq!(export["totals"], taken["totals"]);
    // Checked against itself, each of the 5,000 folders maps to itself and all mail is found.
    let report = run_json(&["check", receipt.to_str().unwrap(), spec], 0, BOUND);
    assert_eq!(
        report["totals"]["identical"], FOLDERS,
        "{}",
        report["verdict"]
    );
    assert_eq!(report["totals"]["missing"], 0, "{}", report["verdict"]);
    assert_eq!(report["folders"].as_array().unwrap().len(), FOLDERS);
}

#[test]
fn empty_mailboxes_give_receipts_of_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let mbox = dir.path().join("Inbox");
    fs::write(&mbox, b"").unwrap();
    let folder = dir.path().join("Empty folder");
    fs::create_dir(&folder).unwrap();

    for (source, folders, kind) in [
        (&maildir, 1, "maildir"),
        (&mbox, 1, "mbox"),
        (&folder, 0, "eml"),
    ] {
        let spec = source.to_str().unwrap();
        let name = source.file_name().unwrap().to_str().unwrap();
        let out = dir.path().join(format!("{name}.receipt"));
        let json = run_json(&["receipt", spec, "-o", out.to_str().unwrap()], 0, BOUND);
        assert_eq!(json["totals"]["found"], 0, "{name}: {json}");
        assert_eq!(json["totals"]["folders"], folders, "{name}: {json}");
        let receipt = load_receipt(&out).unwrap();
        assert_eq!(receipt.header.source.kind, kind, "{name}");
        assert!(receipt.messages.is_empty(), "{name}");

        // In words: the mailbox is empty, which is all accounted for (exit 0).
        let archive = dir.path().join(format!("{name}.zip"));
        let text = Mailproof::run(&["export", spec, "-o", archive.to_str().unwrap()]);
        assert_eq!(text.code, 0, "{name}: {text}");
        assert!(
            text.stdout.contains("The mailbox is empty: no"),
            "{name}: {text}"
        );
        let verify = Mailproof::run(&["verify", archive.to_str().unwrap()]);
        assert_eq!(verify.code, 0, "{name}: {verify}");
        let listed = Mailproof::run(&["folders", spec]);
        assert_eq!(listed.code, 0, "{name}: {listed}");
        assert!(listed.stdout.contains("0 messages in"), "{name}: {listed}");
    }
}

#[test]
fn files_that_are_not_mailboxes_are_named_with_what_they_look_like() {
    let dir = tempfile::tempdir().unwrap();
    let random = dir.path().join("mailbox.dat");
    let mut bytes = vec![0u8; 100_000];
    Rng::new(3).fill(&mut bytes);
    fs::write(&random, &bytes).unwrap();
    let pdf = dir.path().join("Inbox.pdf");
    let mut document =
        b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n".to_vec();
    document.extend_from_slice(&bytes[..4000]);
    fs::write(&pdf, &document).unwrap();
    let zip_path = dir.path().join("backup.zip");
    {
        let mut zip = zip::ZipWriter::new(File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("notes.txt", options).unwrap();
        zip.write_all(b"not mail").unwrap();
        zip.start_file("photos/1.jpg", options).unwrap();
        zip.write_all(&bytes[..1000]).unwrap();
        zip.finish().unwrap();
    }
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let receipt = out.join("r.receipt");
    let archive = out.join("a.zip");

    for (file, looks_like) in [
        (
            &random,
            "not a mailbox: binary data, not text (100000 bytes)",
        ),
        (&pdf, "not a mailbox: a PDF document"),
        (&zip_path, "a zip file, but not a Mailproof archive"),
    ] {
        let spec = file.to_str().unwrap();
        let mut runs = vec![
            vec!["folders", spec],
            vec!["receipt", spec, "-o", receipt.to_str().unwrap()],
            vec!["export", spec, "-o", archive.to_str().unwrap()],
            vec!["check", spec, spec],
            vec!["verify", spec],
        ];
        if file == &zip_path {
            runs.push(vec!["restore", spec, out.to_str().unwrap(), "--dry-run"]);
        }
        for args in runs {
            let (run, peak) = Mailproof::run_measured(&args);
            assert_eq!(run.code, 2, "{args:?}: {run}");
            let said = format!("mailproof: error: {spec}: ");
            assert!(
                run.stderr.starts_with(&said) && run.stderr.contains(looks_like),
                "{args:?}: expected `{said}…{looks_like}`: {run}"
            );
            assert!(peak < BOUND, "{args:?} peaked at {}", mib(peak));
        }
        assert_eq!(
            fs::read_dir(&out).unwrap().count(),
            0,
            "nothing is written for {spec}"
        );
    }
}
