//! Reading never changes a source: the complete state of every local fixture (Maildir with its
//! `tmp/` and keyword files, every mbox variant, a Thunderbird profile with `.msf` indexes, an
//! EML tree, Apple Mail `.emlx` with a partial message) is taken before and after each command
//! that reads it — `folders`, `receipt`, `export`, `check` with mailboxes on both sides — and
//! must be identical: every entry's type, permissions, size, bytes, modification and change
//! times, and every directory's listing. For `verify` and `restore` the archive is the source
//! and must be untouched too; a restore's destination may only gain files, every file it held
//! before stays exactly as it was.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use mailproof_tests::cli::Mailproof;
use mailproof_tests::fixtures;
use sha2::{Digest, Sha256};

/// What is recorded of one entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    kind: &'static str,
    mode: u32,
    len: u64,
    /// SHA-256 of a file's bytes, a link's target, a directory's sorted listing.
    content: String,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// Every entry under `root` (itself included), links not followed.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, State> {
    let mut all = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path).unwrap();
        let (kind, content) = if meta.is_dir() {
            let mut names: Vec<_> = fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            names.sort();
            stack.extend(names.iter().map(|n| path.join(n)));
            let listing: Vec<_> = names.iter().map(|n| n.to_string_lossy()).collect();
            ("dir", hex(Sha256::digest(listing.join("\n"))))
        } else if meta.is_symlink() {
            let target = fs::read_link(&path).unwrap();
            ("link", target.display().to_string())
        } else {
            ("file", hex(Sha256::digest(fs::read(&path).unwrap())))
        };
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        all.insert(
            rel,
            State {
                kind,
                mode: meta.mode(),
                len: meta.len(),
                content,
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ctime: (meta.ctime(), meta.ctime_nsec()),
            },
        );
    }
    all
}

fn hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The entries that differ between two snapshots, for the failure message.
fn differences(before: &BTreeMap<PathBuf, State>, after: &BTreeMap<PathBuf, State>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, was) in before {
        match after.get(path) {
            None => out.push(format!("removed: {}", path.display())),
            Some(now) if now != was => {
                out.push(format!("changed: {}: {was:?} → {now:?}", path.display()))
            }
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        out.push(format!("added: {}", path.display()));
    }
    out
}

/// Runs the command; it must have done its work (exit 0, or 1 for a mailbox with problems),
/// so that a refusal cannot pass for "changed nothing".
fn run(args: &[&str]) {
    let run = Mailproof::run(args);
    assert!(run.code == 0 || run.code == 1, "{args:?}: {run}");
}

#[test]
fn reading_commands_never_change_a_source() {
    let (dir, manifest) = fixtures::temp().unwrap();
    let out = tempfile::tempdir().unwrap();
    assert_eq!(manifest.fixtures.len(), 14);
    for (kind, expected) in [
        (fixtures::Kind::Mbox, 10),
        (fixtures::Kind::MboxTree, 1),
        (fixtures::Kind::Maildir, 1),
        (fixtures::Kind::Eml, 1),
        (fixtures::Kind::Emlx, 1),
    ] {
        assert_eq!(manifest.of_kind(kind).count(), expected, "{kind:?}");
    }
    let tree = snapshot(dir.path());
    // The files that make these formats tricky are there to be left alone.
    for name in [
        "maildir/tmp",
        "maildir/dovecot-keywords",
        "thunderbird/Local Folders/Inbox.msf",
        "thunderbird/Local Folders/Archives.sbd/2019.msf",
    ] {
        assert!(
            tree.contains_key(Path::new(name)),
            "{name} is not in the fixtures"
        );
    }

    for fixture in &manifest.fixtures {
        let name = &fixture.name;
        let spec = fixture.spec();
        let path = fixture.path.to_str().unwrap();
        let receipt = out.path().join(format!("{name}.receipt"));
        let archive = out.path().join(format!("{name}.zip"));
        let report = out.path().join(format!("{name}.json"));
        let commands = [
            vec!["folders", path],
            vec!["receipt", &spec, "-o", receipt.to_str().unwrap()],
            vec!["export", &spec, "-o", archive.to_str().unwrap()],
            vec!["check", path, &spec, "--json", report.to_str().unwrap()],
            vec!["check", receipt.to_str().unwrap(), path],
        ];
        for args in &commands {
            run(args);
            let changed = differences(&tree, &snapshot(dir.path()));
            assert!(
                changed.is_empty(),
                "{args:?} changed the source: {changed:#?}"
            );
        }
    }
}

/// Copies a tree (files and directories).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn verify_and_restore_leave_the_archive_alone_and_only_add_to_the_destination() {
    let (_dir, manifest) = fixtures::temp().unwrap();
    let out = tempfile::tempdir().unwrap();
    // The destination: the Maildir fixture (with its `tmp/` file and keywords), less two
    // messages of INBOX, which its own archive then restores.
    let maildir = manifest.get("maildir");
    let dest = out.path().join("dest");
    copy_tree(&maildir.path, &dest);
    let mut inbox: Vec<PathBuf> = fs::read_dir(dest.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    inbox.sort();
    let mut lost = Vec::new();
    for file in &inbox[..2] {
        lost.push(hex(Sha256::digest(fs::read(file).unwrap())));
        fs::remove_file(file).unwrap();
    }
    let dest_spec = dest.to_str().unwrap();
    let start = snapshot(&dest);

    for fixture in &manifest.fixtures {
        let archive = out.path().join(format!("{}.zip", fixture.name));
        run(&["export", &fixture.spec(), "-o", archive.to_str().unwrap()]);
        let sealed = snapshot(&archive);
        let zip = archive.to_str().unwrap();
        for args in [
            vec!["verify", zip],
            vec!["restore", zip, dest_spec, "--dry-run"],
            vec!["restore", zip, dest_spec],
        ] {
            let held = snapshot(&dest);
            run(&args);
            let changed = differences(&sealed, &snapshot(&archive));
            assert!(
                changed.is_empty(),
                "{args:?} changed the archive: {changed:#?}"
            );
            // The destination only gains: every file it held is as it was, every directory
            // is still there.
            let now = snapshot(&dest);
            for (path, was) in &held {
                let now = now.get(path);
                let same = match was.kind {
                    "dir" => now.is_some_and(|n| n.kind == "dir"),
                    _ => now == Some(was),
                };
                assert!(
                    same,
                    "{args:?} changed {}: {was:?} → {now:?}",
                    path.display()
                );
            }
            if args.contains(&"--dry-run") {
                assert_eq!(differences(&held, &now), Vec::<String>::new(), "{args:?}");
            }
        }
    }
    // The two messages INBOX lost are back in its `cur/`, as new files.
    let end = snapshot(&dest);
    for digest in &lost {
        let back = end.iter().any(|(p, state)| {
            !start.contains_key(p)
                && p.parent() == Some(Path::new("cur"))
                && &state.content == digest
        });
        assert!(back, "{digest} was not restored");
    }
}
