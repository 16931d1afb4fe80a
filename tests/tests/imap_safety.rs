//! IMAP under server faults, and the promises that hold whatever happens: through a
//! fault-injecting proxy (`mailproof_tests::faults`) in front of a private Dovecot, every run
//! ends with each message read, noted as gone, or recorded unreadable with the server's words,
//! or with a plain connection error that keeps what was read for resuming; never a gap or a
//! duplicate. No command, whatever its outcome, lets the password or token out, and no reading
//! command changes anything on the server. Skipped (loudly) without dovecot unless CI is set.
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use mailproof_engine::identity::identify;
use mailproof_engine::imap::{self, Access, CredentialRequest, Credentials, Secret};
use mailproof_engine::receipt::Receipt;
use mailproof_engine::source::{Entry, Source};
use mailproof_tests::cli::Mailproof;
use mailproof_tests::dovecot::{self, Dovecot, PASSWORD, Setup, TOKEN, USER, message};
use mailproof_tests::faults::{Fault, FaultProxy};
use mailproof_tests::rng::Rng;

/// Seconds of server silence before a connection counts as dropped, in these tests.
const TIMEOUT: &str = "2";

struct Fixed(&'static str);

impl Credentials for Fixed {
    fn secret(&self, _: &CredentialRequest) -> mailproof_engine::Result<Secret> {
        Ok(Secret::new(self.0))
    }
}

/// One message as the server lists it: folder, `UIDVALIDITY:UID`, flags, digest.
type Listed = (Vec<String>, String, Vec<String>, String);

/// Everything about the account that reading must not change: every Maildir file (name,
/// which holds the flags, and bytes) and, over IMAP, the folder list, UIDVALIDITY, UIDs,
/// flags and message digests.
#[derive(Debug, PartialEq)]
struct State {
    files: Vec<(PathBuf, Vec<u8>)>,
    folders: Vec<Vec<String>>,
    listed: Vec<Listed>,
}

fn state(d: &Dovecot) -> State {
    let files = d.snapshot();
    assert!(
        files
            .iter()
            .any(|(p, _)| p.parent().unwrap().ends_with("cur")),
        "no message files seen"
    );
    let access = Access {
        credentials: Arc::new(Fixed(PASSWORD)),
        connections: 1,
        ..Access::default()
    };
    let mut source = imap::open_source(&d.imaps(), &access).unwrap();
    let folders = source.folders().unwrap();
    let mut listed = Vec::new();
    for folder in &folders {
        source
            .read_folder(folder, &mut |e| {
                match e {
                    Entry::Message(m) => listed.push((
                        folder.path.clone(),
                        m.source_id,
                        m.flags,
                        identify(&m.bytes).digest,
                    )),
                    Entry::Unreadable { source_id, reason } => {
                        panic!("{source_id} unreadable when listing the server: {reason}")
                    }
                }
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
    }
    State {
        files,
        folders: folders.into_iter().map(|f| f.path).collect(),
        listed,
    }
}

/// An account of two folders: INBOX with `inbox` messages of about `size` bytes, and Sent
/// with 4.
fn account(seed: u64, inbox: usize, size: usize) -> Dovecot {
    let mut d = Dovecot::prepare(Setup::default());
    let mut rng = Rng::new(seed);
    for n in 0..inbox {
        d.deliver(
            &[],
            &message(&mut rng, n, size),
            if n % 4 == 0 { "S" } else { "" },
        );
    }
    for n in 0..4 {
        d.deliver(&["Sent"], &message(&mut rng, 1000 + n, 500), "S");
    }
    d.start();
    d
}

/// The account through the proxy, which must see the protocol: plain text, allowed for a
/// server on this machine.
fn through(proxy: &FaultProxy) -> String {
    format!("imap://{USER}@127.0.0.1:{}?tls=none", proxy.port)
}

fn run(args: &[&str]) -> Mailproof {
    Mailproof::run_with_env(
        args,
        &[
            ("MAILPROOF_PASSWORD", PASSWORD),
            ("MAILPROOF_IMAP_TIMEOUT", TIMEOUT),
        ],
    )
}

fn receipt_through(spec: &str, out: &Path) -> Mailproof {
    run(&[
        "receipt",
        spec,
        "-o",
        out.to_str().unwrap(),
        "--connections",
        "2",
    ])
}

/// The receipt accounts for every message the server listed: per folder, found = read +
/// unreadable, no message twice, the digests read are exactly those listed except `failed`
/// (recorded unreadable, each with a reason containing `why`) and `gone` (not counted, and
/// named in the folder's notes).
fn assert_accounted(
    receipt: &Receipt,
    listed: &[Listed],
    failed: &[&str],
    why: &str,
    gone: &[&str],
) {
    let mut want: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for (folder, id, _, digest) in listed {
        if !failed.contains(&id.as_str()) && !gone.contains(&id.as_str()) {
            want.entry(folder.clone()).or_default().push(digest.clone());
        }
    }
    let mut seen = BTreeSet::new();
    for (f, end) in receipt.folders.iter().zip(&receipt.folder_ends) {
        assert_eq!(end.error, None, "{}", f.name());
        assert_eq!(end.found, end.read + end.unreadable + end.excluded);
        assert_eq!(end.excluded, 0);
        let mut got: Vec<String> = receipt
            .messages
            .iter()
            .filter(|m| m.folder == f.id)
            .map(|m| {
                assert!(
                    seen.insert((f.id, m.source_id.clone())),
                    "{} twice",
                    m.source_id
                );
                m.identity.digest.clone()
            })
            .collect();
        got.sort();
        let mut expected = want.remove(&f.path).unwrap_or_default();
        expected.sort();
        assert_eq!(got, expected, "{}", f.name());
        assert_eq!(end.read as usize, got.len());
        let gone_here: Vec<&str> = gone
            .iter()
            .copied()
            .filter(|id| listed.iter().any(|l| l.0 == f.path && l.1 == *id))
            .collect();
        for id in &gone_here {
            let uid = id.split_once(':').unwrap().1;
            assert!(
                end.notes
                    .iter()
                    .any(|n| n.contains("deleted on the server") && n.contains(uid)),
                "UID {uid} gone without a note: {:?}",
                end.notes
            );
        }
    }
    assert!(want.is_empty(), "folders not read: {want:?}");
    let unreadable: BTreeSet<&str> = receipt
        .unreadable
        .iter()
        .map(|u| {
            assert!(u.reason.contains(why), "{}", u.reason);
            u.source_id.as_str()
        })
        .collect();
    assert_eq!(unreadable, failed.iter().copied().collect());
    assert_eq!(
        receipt.totals.found as usize,
        listed.len() - gone.len(),
        "totals"
    );
}

/// A fault that a reconnection cures: the run ends complete, exit 0, with nothing lost or
/// repeated, and the server as it was.
/// Returns how long the run took.
fn survives(fault: Fault, seed: u64) -> std::time::Duration {
    let d = account(seed, 40, 6_000);
    let before = state(&d);
    let proxy = FaultProxy::start(d.imap_port, fault, 5);
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("r.receipt");
    // Built (on first use) before the clock starts.
    mailproof_tests::cli::bin();
    let started = Instant::now();
    let r = receipt_through(&through(&proxy), &path);
    let took = started.elapsed();
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(
        proxy.fired.load(Ordering::SeqCst),
        1,
        "the fault never happened"
    );
    assert!(
        proxy.connections.load(Ordering::SeqCst) >= 2,
        "no reconnection"
    );
    assert_accounted(&Receipt::load(&path).unwrap(), &before.listed, &[], "", &[]);
    assert_eq!(state(&d), before, "the server changed");
    took
}

#[test]
fn a_connection_reset_mid_literal_is_retried() {
    if dovecot::available() {
        survives(Fault::CutMidLiteral, 21);
    }
}

#[test]
fn a_stalled_server_is_abandoned_after_the_timeout_and_retried() {
    if !dovecot::available() {
        return;
    }
    let took = survives(Fault::Stall, 22);
    // The stalled connection was given up after MAILPROOF_IMAP_TIMEOUT (2 s), not the default
    // 120 s.
    assert!(took.as_secs() >= 2 && took.as_secs() < 30, "{took:?}");
}

#[test]
fn a_bye_in_the_middle_of_a_fetch_is_retried() {
    if dovecot::available() {
        survives(Fault::ByeMidFetch, 23);
    }
}

#[test]
fn throttling_is_waited_out() {
    if !dovecot::available() {
        return;
    }
    for (seed, words) in [
        (
            24,
            "[THROTTLED] Request is throttled. Suggested Backoff Time: 300 milliseconds",
        ),
        (25, "[LIMIT] Too many commands, slow down"),
    ] {
        let d = account(seed, 20, 2_000);
        let before = state(&d);
        let times = 3;
        let proxy = FaultProxy::start(
            d.imap_port,
            Fault::Throttle {
                times,
                words: words.into(),
            },
            0,
        );
        let out = tempfile::tempdir().unwrap();
        let path = out.path().join("r.receipt");
        let r = receipt_through(&through(&proxy), &path);
        assert_eq!(r.code, 0, "{words}: {r}");
        assert_eq!(proxy.fired.load(Ordering::SeqCst), times);
        assert_accounted(&Receipt::load(&path).unwrap(), &before.listed, &[], "", &[]);
        assert_eq!(state(&d), before);
    }
}

#[test]
fn a_uid_the_server_refuses_is_recorded_with_its_words() {
    if !dovecot::available() {
        return;
    }
    for (seed, status, words) in [
        (
            26,
            "NO",
            "[SERVERBUG] Internal error occurred. Refer to server log for more information.",
        ),
        (
            27,
            "BAD",
            "Error in IMAP command UID FETCH: Invalid messageset",
        ),
    ] {
        let d = account(seed, 30, 2_000);
        let before = state(&d);
        let victim = &before.listed[7];
        let uid: u32 = victim.1.split_once(':').unwrap().1.parse().unwrap();
        let proxy = FaultProxy::start(
            d.imap_port,
            Fault::Refuse {
                uid,
                status,
                words: words.into(),
            },
            0,
        );
        let out = tempfile::tempdir().unwrap();
        let path = out.path().join("r.receipt");
        let r = receipt_through(&through(&proxy), &path);
        assert_eq!(r.code, 1, "{status}: {r}");
        assert!(
            r.stdout.contains(words.split(' ').next_back().unwrap()),
            "{r}"
        );
        let receipt = Receipt::load(&path).unwrap();
        let why = words.split_once(' ').unwrap().1;
        assert_accounted(&receipt, &before.listed, &[&victim.1], why, &[]);
        assert_eq!(state(&d), before);
    }
}

#[test]
fn a_message_expunged_between_listing_and_fetching_is_noted() {
    if !dovecot::available() {
        return;
    }
    let d = account(28, 30, 2_000);
    let before = state(&d);
    let victim = before.listed[12].clone();
    // The file holding that message, found by its bytes.
    let file = before
        .files
        .iter()
        .find(|(_, bytes)| identify(bytes).digest == victim.3)
        .unwrap_or_else(|| {
            panic!(
                "no file holds {victim:?}: {:?}",
                before
                    .files
                    .iter()
                    .map(|f| (&f.0, f.1.len()))
                    .collect::<Vec<_>>()
            )
        })
        .0
        .clone();
    let doomed = file.clone();
    let proxy = FaultProxy::start(
        d.imap_port,
        Fault::BeforeFirstFetch(Box::new(move || fs::remove_file(&doomed).unwrap())),
        0,
    );
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("r.receipt");
    let r = receipt_through(&through(&proxy), &path);
    assert_eq!(proxy.fired.load(Ordering::SeqCst), 1);
    assert_eq!(r.code, 0, "{r}");
    assert_accounted(
        &Receipt::load(&path).unwrap(),
        &before.listed,
        &[],
        "",
        &[&victim.1],
    );
    // Nothing changed but the deletion made for the test.
    let after = state(&d);
    let mut files = before.files.clone();
    files.retain(|(p, _)| *p != file);
    assert_eq!(after.files, files);
    let mut listed = before.listed.clone();
    listed.retain(|l| l.1 != victim.1 || l.0 != victim.0);
    assert_eq!(after.listed, listed);
}

/// The server goes away for good partway: the run is a connection error (exit 2), no
/// receipt carries the final name, and what was read is kept; once the server is back, the
/// same command continues and ends with a complete receipt.
#[test]
fn a_server_gone_for_good_is_a_connection_error_and_the_run_resumes() {
    if !dovecot::available() {
        return;
    }
    let d = account(29, 40, 6_000);
    let before = state(&d);
    let proxy = FaultProxy::start(d.imap_port, Fault::GoneMidLiteral, 15);
    let spec = through(&proxy);
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("r.receipt");
    let cut = receipt_through(&spec, &path);
    assert_eq!(cut.code, 2, "{cut}");
    assert!(cut.stderr.contains("reading INBOX stopped"), "{cut}");
    assert!(
        cut.stderr.contains("could not reconnect after"),
        "the connection's own reason reaches the user: {cut}"
    );
    assert!(
        cut.stderr
            .contains("run the same command again to continue"),
        "{cut}"
    );
    assert!(
        !path.exists(),
        "an unfinished receipt carries the final name"
    );
    let partial = out.path().join("r.receipt.partial");
    let kept = fs::read_to_string(&partial).unwrap();
    assert!(kept.lines().filter(|l| l.contains("\"source_id\"")).count() >= 10);
    assert_eq!(state(&d), before);
    proxy.heal();
    let resumed = receipt_through(&spec, &path);
    assert_eq!(resumed.code, 0, "{resumed}");
    assert!(!partial.exists());
    assert_accounted(&Receipt::load(&path).unwrap(), &before.listed, &[], "", &[]);
    assert_eq!(state(&d), before);
}

/// An export cut partway, then the server renumbers the folder (a new UIDVALIDITY, as after a
/// server move or a rebuilt index): the resumed run does not mix old and new numbering, it
/// stops with a plain error and removes the unfinished output; the next run starts over and
/// is complete, with the new UIDVALIDITY throughout.
#[test]
fn a_resume_after_uidvalidity_changed_is_refused_plainly() {
    if !dovecot::available() {
        return;
    }
    let d = account(30, 40, 6_000);
    let before = state(&d);
    let proxy = FaultProxy::start(d.imap_port, Fault::GoneMidLiteral, 15);
    let spec = through(&proxy);
    let out = tempfile::tempdir().unwrap();
    let zip = out.path().join("a.zip");
    let export = || {
        run(&[
            "export",
            &spec,
            "-o",
            zip.to_str().unwrap(),
            "--connections",
            "2",
        ])
    };
    let cut = export();
    assert_eq!(cut.code, 2, "{cut}");
    assert!(out.path().join("a.zip.partial").exists(), "{cut}");
    // Dovecot renumbers a Maildir whose UID list and indexes are gone.
    for entry in fs::read_dir(d.maildir()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("dovecot-uidlist") || name.starts_with("dovecot.index") {
            fs::remove_file(entry.path()).unwrap();
        }
    }
    proxy.heal();
    let renumbered = state(&d);
    let validity = |l: &Listed| l.1.split_once(':').unwrap().0.to_string();
    assert_ne!(
        validity(&renumbered.listed[0]),
        validity(&before.listed[0]),
        "UIDVALIDITY did not change"
    );
    let refused = export();
    assert_eq!(refused.code, 2, "{refused}");
    assert!(
        refused
            .stderr
            .contains("cannot continue the interrupted run")
            && refused.stderr.contains("is no longer the next message"),
        "{refused}"
    );
    assert!(!zip.exists() && !out.path().join("a.zip.partial").exists());
    let fresh = export();
    assert_eq!(fresh.code, 0, "{fresh}");
    let receipt = mailproof_engine::pipeline::load_receipt(&zip).unwrap();
    assert_accounted(&receipt, &renumbered.listed, &[], "", &[]);
    let inbox = validity(&renumbered.listed[0]);
    assert!(
        receipt
            .messages
            .iter()
            .filter(|m| m.folder == 0)
            .all(|m| m.source_id.starts_with(&format!("{inbox}:")))
    );
}

/// Fails if `secret` is in any output, or in any file under `dirs` (each zip entry inflated
/// and searched too).
fn assert_secret_absent(secret: &str, runs: &[(&str, &Mailproof)], dirs: &[&Path]) {
    let needle = secret.as_bytes();
    let holds = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for (what, r) in runs {
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "{what} printed the secret: {r}"
        );
    }
    let mut zips = 0;
    for dir in dirs {
        for file in mailproof_tests::tree::files(dir) {
            let bytes = fs::read(&file).unwrap_or_default();
            assert!(!holds(&bytes), "the secret is in {}", file.display());
            if !bytes.starts_with(b"PK\x03\x04") {
                continue;
            }
            zips += 1;
            // Entry by entry from the start, which also reads an unfinished archive (kept for
            // resuming) up to where it stops.
            let mut stream = bytes.as_slice();
            let mut entries = 0;
            while let Ok(Some(mut entry)) = zip::read::read_zipfile_from_stream(&mut stream) {
                let mut inflated = Vec::new();
                let whole = entry.read_to_end(&mut inflated).is_ok();
                assert!(
                    !holds(&inflated),
                    "the secret is in {:?} of {}",
                    entry.name(),
                    file.display()
                );
                entries += 1;
                if !whole {
                    break;
                }
            }
            assert!(entries > 0, "nothing inflated in {}", file.display());
            if let Ok(mut archive) = zip::ZipArchive::new(fs::File::open(&file).unwrap()) {
                for i in 0..archive.len() {
                    let mut entry = archive.by_index(i).unwrap();
                    let mut inflated = Vec::new();
                    entry.read_to_end(&mut inflated).unwrap();
                    assert!(
                        !holds(&inflated),
                        "the secret is in {:?} of {}",
                        entry.name(),
                        file.display()
                    );
                }
            }
        }
    }
    assert!(zips > 0, "no archive was searched");
}

/// Runs `mailproof` with the secret in the environment and `TMPDIR` pointing at `tmp`, with
/// backtraces on, so a crash would print everything it has.
fn run_secret(args: &[&str], env: &[(&str, &str)], tmp: &Path) -> Mailproof {
    let mut all = vec![
        ("TMPDIR", tmp.to_str().unwrap()),
        ("RUST_BACKTRACE", "1"),
        ("MAILPROOF_IMAP_TIMEOUT", TIMEOUT),
    ];
    all.extend_from_slice(env);
    Mailproof::run_with_env(args, &all)
}

/// Every command, with a known password, including failures (a wrong password, a refused
/// certificate, a run cut for good by the proxy) and every report format: the password is in
/// no output, receipt, report, archive entry, temporary file or anything left on the server;
/// and the reading commands change nothing on the server.
#[test]
fn no_command_leaks_the_password_or_changes_the_server() {
    if !dovecot::available() {
        return;
    }
    let d = account(31, 12, 1_500);
    let other = account(32, 6, 800);
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let tmp = work.path().join("tmp");
    fs::create_dir_all(&out).unwrap();
    fs::create_dir_all(&tmp).unwrap();
    let o = |name: &str| out.join(name).to_string_lossy().into_owned();
    let pw = [("MAILPROOF_PASSWORD", PASSWORD)];
    let both = [
        ("MAILPROOF_PASSWORD_BEFORE", PASSWORD),
        ("MAILPROOF_PASSWORD_AFTER", PASSWORD),
    ];
    let spec = d.imaps();
    let before = state(&d);
    let mut runs: Vec<(&str, Mailproof)> = Vec::new();
    let unchanged = |what: &str| assert_eq!(state(&d), before, "{what} changed the server");

    let r = run_secret(&["folders", &spec, "--json"], &pw, &tmp);
    assert_eq!(r.code, 0, "{r}");
    unchanged("folders");
    runs.push(("folders", r));
    let r = run_secret(
        &["receipt", &spec, "-o", &o("a.receipt"), "--json"],
        &pw,
        &tmp,
    );
    assert_eq!(r.code, 0, "{r}");
    unchanged("receipt");
    runs.push(("receipt", r));
    let r = run_secret(&["export", &spec, "-o", &o("a.zip")], &pw, &tmp);
    assert_eq!(r.code, 0, "{r}");
    unchanged("export");
    runs.push(("export", r));
    let r = run_secret(&["verify", &o("a.zip"), "--json"], &[], &tmp);
    assert_eq!(r.code, 0, "{r}");
    runs.push(("verify", r));
    // Both sides on IMAP (the other account differs: a report with rows), every format.
    let r = run_secret(
        &[
            "check",
            &spec,
            &other.imaps(),
            "--json",
            &o("check.json"),
            "--html",
            &o("check.html"),
            "--csv",
            &o("check.csv"),
        ],
        &both,
        &tmp,
    );
    assert_eq!(r.code, 1, "{r}");
    unchanged("check");
    runs.push(("check", r));
    let r = run_secret(&["check", &o("a.zip"), &spec, "--summary"], &pw, &tmp);
    assert_eq!(r.code, 0, "{r}");
    unchanged("check against an archive");
    runs.push(("check --summary", r));
    // A wrong password: the one given is refused and printed nowhere either.
    let wrong = "Wr0ng-but-secret-too";
    let r = run_secret(
        &["receipt", &spec, "-o", &o("wrong.receipt")],
        &[("MAILPROOF_PASSWORD", wrong)],
        &tmp,
    );
    assert_eq!(r.code, 2, "{r}");
    assert!(
        !r.stderr.contains(wrong) && !r.stdout.contains(wrong),
        "{r}"
    );
    runs.push(("wrong password", r));
    // A certificate refused (not pinned): refused before any password is sent.
    let bare = format!("imaps://{USER}@127.0.0.1:{}", d.imaps_port);
    let r = run_secret(&["folders", &bare], &pw, &tmp);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("certificate was refused"), "{r}");
    runs.push(("refused certificate", r));
    // A run cut for good by the proxy.
    let proxy = FaultProxy::start(d.imap_port, Fault::GoneMidLiteral, 3);
    let r = run_secret(
        &["export", &through(&proxy), "-o", &o("cut.zip")],
        &pw,
        &tmp,
    );
    assert_eq!(r.code, 2, "{r}");
    unchanged("a cut export");
    runs.push(("cut export", r));
    // Restore into the other account (over IMAP), with JSON.
    let r = run_secret(
        &["restore", &o("a.zip"), &other.imaps(), "--json"],
        &pw,
        &tmp,
    );
    assert_eq!(r.code, 0, "{r}");
    runs.push(("restore", r));

    let runs: Vec<(&str, &Mailproof)> = runs.iter().map(|(w, r)| (*w, r)).collect();
    let maildirs = [d.maildir(), other.maildir()];
    let dirs = [
        out.as_path(),
        tmp.as_path(),
        maildirs[0].as_path(),
        maildirs[1].as_path(),
    ];
    assert_secret_absent(PASSWORD, &runs, &dirs);
    assert_secret_absent(wrong, &runs, &dirs);
}

/// The same with a bearer token (XOAUTH2): reading, exporting and checking, a refused token,
/// and a run cut by the proxy.
#[test]
fn no_command_leaks_the_token() {
    if !dovecot::available() {
        return;
    }
    let mut d = Dovecot::prepare(Setup {
        oauth: true,
        ..Setup::default()
    });
    let mut rng = Rng::new(33);
    for n in 0..10 {
        d.deliver(&[], &message(&mut rng, n, 1_500), "");
    }
    d.start();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let tmp = work.path().join("tmp");
    fs::create_dir_all(&out).unwrap();
    fs::create_dir_all(&tmp).unwrap();
    let o = |name: &str| out.join(name).to_string_lossy().into_owned();
    let spec = format!("{}&auth=xoauth2", d.imaps());
    let token = [("MAILPROOF_TOKEN", TOKEN)];
    let before = state(&d);
    let mut runs = Vec::new();
    for (args, code) in [
        (vec!["folders", &spec, "--json"], 0),
        (vec!["receipt", &spec, "-o", &o("t.receipt")], 0),
        (vec!["export", &spec, "-o", &o("t.zip")], 0),
        (
            vec![
                "check",
                &o("t.zip"),
                &spec,
                "--json",
                &o("t.json"),
                "--html",
                &o("t.html"),
            ],
            0,
        ),
    ] {
        let r = run_secret(&args, &token, &tmp);
        assert_eq!(r.code, code, "{r}");
        assert_eq!(state(&d), before, "{args:?} changed the server");
        runs.push(r);
    }
    let refused = run_secret(
        &["folders", &spec],
        &[("MAILPROOF_TOKEN", "ya29.expired")],
        &tmp,
    );
    assert_eq!(refused.code, 2, "{refused}");
    runs.push(refused);
    let proxy = FaultProxy::start(d.imap_port, Fault::GoneMidLiteral, 2);
    let cut_spec = format!("{}&auth=xoauth2", through(&proxy));
    let cut = run_secret(&["export", &cut_spec, "-o", &o("cut.zip")], &token, &tmp);
    assert_eq!(cut.code, 2, "{cut}");
    runs.push(cut);
    let named: Vec<(&str, &Mailproof)> = runs.iter().map(|r| ("run", r)).collect();
    assert_secret_absent(TOKEN, &named, &[out.as_path(), tmp.as_path(), &d.maildir()]);
}
