//! Folder names that would be dangerous or clash as paths: reserved Windows names, control
//! characters, names that differ only by case or Unicode normalisation, names far past any file
//! system's limit. The export gives each a safe, unique path inside `messages/`, keeps the real
//! name in the receipt, and the archive extracts without writing outside its folder.

use std::fs;
use std::path::Path;
use std::process::Command;

use mailproof_tests::cli::Mailproof;
use mailproof_tests::mbox::from_line;

/// One small message per folder, so each folder is easy to find again.
fn mbox(folder: &str) -> Vec<u8> {
    let mut out = from_line("a@example.org", 1_700_000_000).into_bytes();
    out.extend_from_slice(
        format!(
            "From: a@example.org\nMessage-ID: <{:x}@example.org>\nSubject: in {folder:?}\n\nbody\n\n",
            folder.len() * 7919 + folder.bytes().map(u64::from).sum::<u64>() as usize
        )
        .as_bytes(),
    );
    out
}

#[test]
fn hostile_folder_names_export_to_safe_unique_paths() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir(&tree).unwrap();
    let long = "L".repeat(250);
    let names = [
        "CON".to_string(),
        "nul.txt".to_string(),
        "aux".to_string(),
        "Inbox".to_string(),
        "INBOX".to_string(),
        "Caf\u{e9}".to_string(),
        "Cafe\u{301}".to_string(),
        "tab\there\u{1}bell".to_string(),
        "...".to_string(),
        "..hidden".to_string(),
        "trailing dot.".to_string(),
        "a\\b:c*d?e\"f<g>h|i".to_string(),
        long.clone(),
    ];
    for name in &names {
        fs::write(tree.join(name), mbox(name)).unwrap();
    }
    let zip = dir.path().join("out.zip");
    let run = Mailproof::run(&[
        "export",
        &format!("mbox-tree:{}", tree.display()),
        "-o",
        zip.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run}");

    let receipt = mailproof_engine::archive::read_receipt(&zip).unwrap();
    let mut real: Vec<String> = receipt.folders.iter().map(|f| f.name()).collect();
    real.sort();
    let mut expected: Vec<String> = names.to_vec();
    expected.sort();
    assert_eq!(real, expected, "the receipt keeps every real name");

    let entries: Vec<&str> = receipt
        .messages
        .iter()
        .map(|m| m.entry.as_deref().unwrap())
        .collect();
    assert_eq!(entries.len(), names.len());
    let mut folded: Vec<String> = entries
        .iter()
        .map(|e| e.rsplit_once('/').unwrap().0.to_lowercase())
        .collect();
    folded.sort();
    folded.dedup();
    assert_eq!(
        folded.len(),
        names.len(),
        "paths unique even ignoring case: {entries:?}"
    );
    for entry in &entries {
        assert!(entry.starts_with("messages/"), "{entry}");
        assert!(entry.len() < 400, "{entry}");
        for part in entry.split('/') {
            assert!(!part.is_empty() && part != "." && part != "..", "{entry}");
            assert!(part.len() <= 255, "{entry}");
            assert!(
                !part
                    .chars()
                    .any(|c| c.is_control() || "\\:*?\"<>|".contains(c)),
                "{entry:?}"
            );
            assert!(!part.ends_with(['.', ' ']), "{entry:?}");
            let stem = part.split('.').next().unwrap().to_uppercase();
            assert!(
                !["CON", "NUL", "AUX", "PRN"].contains(&stem.as_str()),
                "{entry}"
            );
        }
    }

    // Extracting with Info-ZIP stays inside the target folder and yields one file per message.
    let out = dir.path().join("extracted");
    let unzip = Command::new("unzip")
        .args(["-q", zip.to_str().unwrap(), "-d", out.to_str().unwrap()])
        .status()
        .expect("unzip runs");
    assert!(unzip.success());
    let mut files = 0;
    let mut stack = vec![out.join("messages")];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files += 1;
            }
        }
    }
    assert_eq!(files, names.len());
    let outside: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut outside = outside;
    outside.sort();
    assert_eq!(outside, ["extracted", "out.zip", "tree"]);
    assert!(Path::new(&out).join("receipt.jsonl").exists());
}
