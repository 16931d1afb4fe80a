//! Interruptions that really happen: a receipt or an export killed with SIGKILL early, halfway
//! and at the very end, and stopped with Ctrl-C (SIGINT). Nothing ever carries the final name
//! until it is whole; running the same command again continues from what was written (and
//! says so), and the result is the same receipt an unbroken run writes. A restore killed
//! partway leaves only whole messages, and run again appends each missing one exactly once.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailproof_engine::pipeline::load_receipt;
use mailproof_engine::receipt::Receipt;
use mailproof_tests::cli::{Mailproof, bin};
use mailproof_tests::fixtures::bulky_maildir as mailbox;
use sha2::{Digest, Sha256};

/// A receipt's content, without the moment it was started.
fn content(receipt: &Receipt) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        receipt.folders, receipt.messages, receipt.unreadable, receipt.folder_ends, receipt.totals
    )
}

fn partial(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", out.display()))
}

fn start(command: &str, source: &Path, out: &Path, extra: &[&str]) -> Child {
    Command::new(bin())
        .args([
            command,
            source.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--threads",
            "1",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Starts `command` (with `extra` arguments) and sends `signal` once its unfinished file
/// reaches `at` bytes; returns the exit code (0 when it finished first) and what it printed on
/// stderr.
fn interrupt(
    command: &str,
    source: &Path,
    out: &Path,
    extra: &[&str],
    at: u64,
    signal: &str,
) -> (i32, String) {
    let mut child = start(command, source, out, extra);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let len = fs::metadata(partial(out)).map(|m| m.len()).unwrap_or(0);
        if len >= at.max(1) {
            let status = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            break;
        }
        // A run may finish between two looks at its file; the caller judges whether it may.
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{command} never reached {at} bytes"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Files in `dir` besides the mailbox.
fn outputs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "Maildir")
        .collect();
    names.sort();
    names
}

/// Runs `command` (with `extra` arguments) to the end, then kills it early, halfway and near the
/// end, and each time runs it again: the result is the same as the unbroken run's.
fn resume_after_kills(command: &str, file: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let source = mailbox(dir.path()).unwrap();
    let reference = dir.path().join(format!("reference-{file}"));
    let run_to_end = |out: &Path| {
        let mut args = vec![
            command,
            source.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        Mailproof::run(&args)
    };
    let run = run_to_end(&reference);
    assert_eq!(run.code, 0, "{run}");
    let expected = content(&load_receipt(&reference).unwrap());
    let full = fs::metadata(&reference).unwrap().len();

    let mut killed = 0;
    for (point, at) in [
        ("early", 1),
        ("halfway", full / 2),
        ("at the end", full * 97 / 100),
    ] {
        let out = dir
            .path()
            .join(format!("{}-{file}", point.replace(' ', "-")));
        let (code, stderr) = interrupt(command, &source, &out, extra, at, "-KILL");
        if code == 0 || out.exists() {
            // Near the end the run may finish between the size check and the signal, or be
            // killed once its output has its final name: then that output must simply be whole.
            assert!(
                at > full / 2,
                "{point}: finished before being killed: {stderr}"
            );
            assert_eq!(content(&load_receipt(&out).unwrap()), expected, "{point}");
            continue;
        }
        killed += 1;
        assert_eq!(code, -1, "{point}: killed by a signal: {stderr}");
        assert!(
            !out.exists(),
            "{point}: an unfinished output carries the final name"
        );
        assert!(
            partial(&out).exists(),
            "{point}: the unfinished output is kept"
        );

        let again = run_to_end(&out);
        assert_eq!(again.code, 0, "{point}: {again}");
        if at > 1 {
            assert!(
                again.stderr.contains("Continuing the interrupted run"),
                "{point}: the re-run does not say it continues: {again}"
            );
        }
        assert_eq!(content(&load_receipt(&out).unwrap()), expected, "{point}");
        if command == "export" {
            let verify = Mailproof::run(&["verify", out.to_str().unwrap()]);
            assert_eq!(verify.code, 0, "{point}: {verify}");
        }
    }
    assert!(killed >= 2, "only {killed} runs were really killed");
    // Nothing unfinished is left behind.
    assert!(
        outputs(dir.path()).iter().all(|n| !n.contains(".partial")),
        "{:?}",
        outputs(dir.path())
    );
}

#[test]
fn an_export_killed_anywhere_resumes_to_the_same_archive() {
    resume_after_kills("export", "archive.zip", &[]);
}

#[test]
fn a_deflate_export_killed_anywhere_resumes_to_the_same_archive() {
    resume_after_kills("export", "archive.zip", &["--compression", "deflate"]);
}

#[test]
fn a_receipt_killed_anywhere_resumes_to_the_same_receipt() {
    resume_after_kills("receipt", "mailbox.receipt", &[]);
}

#[test]
fn ctrl_c_stops_cleanly_and_says_how_to_continue() {
    let dir = tempfile::tempdir().unwrap();
    let source = mailbox(dir.path()).unwrap();
    let out = dir.path().join("archive.zip");
    let (code, stderr) = interrupt("export", &source, &out, &[], 20 << 20, "-INT");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("stopped on request"), "{stderr}");
    assert!(stderr.contains("run the same command again"), "{stderr}");
    assert!(!out.exists());
    assert!(partial(&out).exists());

    let again = Mailproof::run(&[
        "export",
        source.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(again.code, 0, "{again}");
    assert!(
        again.stderr.contains("Continuing the interrupted run"),
        "{again}"
    );
    assert_eq!(Mailproof::run(&["verify", out.to_str().unwrap()]).code, 0);
    assert_eq!(outputs(dir.path()), ["archive.zip"]);
}

#[test]
fn force_starts_over_and_another_mailbox_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = mailbox(dir.path()).unwrap();
    let out = dir.path().join("archive.zip");
    let (code, _) = interrupt("export", &source, &out, &[], 40 << 20, "-KILL");
    assert_eq!(code, -1);

    // Another mailbox into the same unfinished output: refused, and nothing is touched.
    let other = dir.path().join("Other");
    fs::create_dir_all(other.join("cur")).unwrap();
    fs::create_dir_all(other.join("new")).unwrap();
    fs::create_dir_all(other.join("tmp")).unwrap();
    let before = fs::metadata(partial(&out)).unwrap().len();
    let run = Mailproof::run(&[
        "export",
        other.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("another mailbox"), "{run}");
    assert_eq!(fs::metadata(partial(&out)).unwrap().len(), before);

    // --force discards it and starts from the beginning.
    let run = Mailproof::run(&[
        "export",
        source.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(run.code, 0, "{run}");
    assert!(!run.stderr.contains("Continuing"), "{run}");
    assert_eq!(Mailproof::run(&["verify", out.to_str().unwrap()]).code, 0);
}

/// The messages of a Maildir that a reader counts (`cur/` and `new/` of every folder), by
/// folder directory: the SHA-256 of each, sorted.
fn maildir_messages(root: &Path) -> BTreeMap<PathBuf, Vec<String>> {
    let mut found: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(sub) = path
                .parent()
                .filter(|p| p.ends_with("cur") || p.ends_with("new"))
            {
                let folder = sub.parent().unwrap().strip_prefix(root).unwrap();
                let digest = format!("{:x}", Sha256::digest(fs::read(&path).unwrap()));
                found.entry(folder.to_path_buf()).or_default().push(digest);
            }
        }
    }
    for digests in found.values_mut() {
        digests.sort();
    }
    found
}

#[test]
fn a_restore_killed_partway_appends_each_message_once_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let source = mailbox(dir.path()).unwrap();
    let expected = maildir_messages(&source);
    let total: usize = expected.values().map(Vec::len).sum();
    let archive = dir.path().join("archive.zip");
    let zip = archive.to_str().unwrap();
    let run = Mailproof::run(&["export", source.to_str().unwrap(), "-o", zip]);
    assert_eq!(run.code, 0, "{run}");

    // Into a new Maildir, so that every message is missing; killed once some are appended.
    let dest = dir.path().join("Restored");
    let mut child = Command::new(bin())
        .args(["restore", zip, dest.to_str().unwrap(), "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let appended = |dest: &Path| maildir_messages(dest).values().map(Vec::len).sum::<usize>();
    while appended(&dest) < total / 6 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("restore finished ({status}) before it was killed");
        }
        assert!(Instant::now() < deadline, "restore never appended anything");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by a signal");

    // What the killed run left in `cur/` and `new/` is whole messages of the archive, each
    // at most once: a half-written one is only ever in `tmp/`, which is not mail.
    let partly = maildir_messages(&dest);
    let left: usize = partly.values().map(Vec::len).sum();
    eprintln!("{left} of {total} messages appended before the kill");
    assert!(
        left > 0 && left < total,
        "{left} of {total} appended before the kill"
    );
    for (folder, digests) in &partly {
        let mut unmatched = expected[folder].clone();
        for digest in digests {
            let at = unmatched.iter().position(|d| d == digest);
            let at = at.unwrap_or_else(|| panic!("{folder:?}: {digest} is not a whole message"));
            unmatched.remove(at);
        }
    }

    // Running it again appends the rest, each message once, and nothing is missing.
    let again = Mailproof::run(&["restore", zip, dest.to_str().unwrap()]);
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(maildir_messages(&dest), expected);
    let check = Mailproof::run(&["check", zip, dest.to_str().unwrap(), "--json", "-"]);
    assert_eq!(check.code, 0, "{check}");
    let report: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    assert_eq!(report["totals"]["missing"], 0, "{}", report["verdict"]);
    assert_eq!(
        report["totals"]["identical"], total,
        "{}",
        report["verdict"]
    );
}
