//! Interruptions that really happen: a receipt or an export killed with SIGKILL early, halfway
//! and at the very end, and stopped with Ctrl-C (SIGINT). Nothing ever carries the final name
//! until it is whole; running the same command again continues from what was written (and
//! says so), and the result is the same receipt an unbroken run writes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailproof_engine::pipeline::load_receipt;
use mailproof_engine::receipt::Receipt;
use mailproof_tests::cli::{Mailproof, bin};
use mailproof_tests::fixtures::bulky_maildir as mailbox;

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

fn start(command: &str, source: &Path, out: &Path) -> Child {
    Command::new(bin())
        .args([
            command,
            source.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--threads",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Starts `command` and sends `signal` once its unfinished file reaches `at` bytes; returns
/// the exit code and what it printed on stderr.
fn interrupt(command: &str, source: &Path, out: &Path, at: u64, signal: &str) -> (i32, String) {
    let mut child = start(command, source, out);
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
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{command} finished ({status}) before reaching {at} bytes");
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

fn resume_after_kills(command: &str, file: &str) {
    let dir = tempfile::tempdir().unwrap();
    let source = mailbox(dir.path()).unwrap();
    let reference = dir.path().join(format!("reference-{file}"));
    let run = Mailproof::run(&[
        command,
        source.to_str().unwrap(),
        "-o",
        reference.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run}");
    let expected = content(&load_receipt(&reference).unwrap());
    let full = fs::metadata(&reference).unwrap().len();

    for (point, at) in [
        ("early", 1),
        ("halfway", full / 2),
        ("at the end", full * 99 / 100),
    ] {
        let out = dir
            .path()
            .join(format!("{}-{file}", point.replace(' ', "-")));
        let (code, _) = interrupt(command, &source, &out, at, "-KILL");
        assert_eq!(code, -1, "{point}: killed by a signal");
        assert!(
            !out.exists(),
            "{point}: an unfinished output carries the final name"
        );
        assert!(
            partial(&out).exists(),
            "{point}: the unfinished output is kept"
        );

        let again = Mailproof::run(&[
            command,
            source.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
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
    // Nothing unfinished is left behind.
    assert!(
        outputs(dir.path()).iter().all(|n| !n.contains(".partial")),
        "{:?}",
        outputs(dir.path())
    );
}

#[test]
fn an_export_killed_anywhere_resumes_to_the_same_archive() {
    resume_after_kills("export", "archive.zip");
}

#[test]
fn a_receipt_killed_anywhere_resumes_to_the_same_receipt() {
    resume_after_kills("receipt", "mailbox.receipt");
}

#[test]
fn ctrl_c_stops_cleanly_and_says_how_to_continue() {
    let dir = tempfile::tempdir().unwrap();
    let source = mailbox(dir.path()).unwrap();
    let out = dir.path().join("archive.zip");
    let (code, stderr) = interrupt("export", &source, &out, 20 << 20, "-INT");
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
    let (code, _) = interrupt("export", &source, &out, 40 << 20, "-KILL");
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
