//! IMAP end to end against a real, private Dovecot (`mailproof_tests::dovecot`): what the
//! `mailproof` command reads over IMAP must be what the same mail gives from Dovecot's own
//! files, nothing on the server may change, and connection, certificate and password problems
//! must be refused plainly with exit code 2. Skipped (loudly) without dovecot unless CI is set.
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use mailproof_engine::destination::NewMessage;
use mailproof_engine::identity::identify;
use mailproof_engine::imap::{self, Access, CredentialRequest, Credentials, Secret};
use mailproof_engine::receipt::Receipt;
use mailproof_engine::source::Entry;
use mailproof_tests::cli::Mailproof;
use mailproof_tests::dovecot::{self, Dovecot, PASSWORD, Proxy, Setup, TOKEN, USER, crlf, message};
use mailproof_tests::faults::{Fault, FaultProxy};
use mailproof_tests::rng::Rng;
use mailproof_tests::synth::{self, Spec};

fn env() -> [(&'static str, &'static str); 1] {
    [("MAILPROOF_PASSWORD", PASSWORD)]
}

fn run(args: &[&str]) -> Mailproof {
    Mailproof::run_with_env(args, &env())
}

/// Per folder (decoded name), the sorted (digest, flags) of its messages.
fn contents(receipt: &Receipt) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for f in &receipt.folders {
        let name = f
            .path
            .iter()
            .map(|s| imap::utf7::decode(s).unwrap_or_else(|| s.clone()))
            .collect::<Vec<_>>()
            .join("/");
        let mut list: Vec<_> = receipt
            .messages
            .iter()
            .filter(|m| m.folder == f.id)
            .map(|m| (m.identity.digest.clone(), m.flags.join(" ")))
            .collect();
        list.sort();
        out.insert(name, list);
    }
    out
}

/// Fails if the password occurs in any output or in any file under `dir`.
fn assert_no_password(runs: &[&Mailproof], dir: &Path) {
    for r in runs {
        assert!(
            !r.stdout.contains(PASSWORD) && !r.stderr.contains(PASSWORD),
            "{r}"
        );
    }
    for entry in mailproof_tests::tree::files(dir) {
        let bytes = fs::read(&entry).unwrap();
        assert!(
            !bytes
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "the password is in {}",
            entry.display()
        );
    }
}

/// A multi-folder account: INBOX with keywords, Sent and Trash (special use), a modified
/// UTF-7 folder with the \Drafts role, a \Noselect parent with a child, and a UTF-7 child.
fn account() -> (Dovecot, usize) {
    let mut d = Dovecot::prepare(Setup::default());
    let mut rng = Rng::new(7);
    d.keywords(&[], &["Work", "$Label1"]);
    let layout: [(&[&str], usize, &[&str]); 6] = [
        (&[], 12, &["", "S", "FS", "RS", "Sa", "Sab", "DS", "T"]),
        (&["Sent"], 5, &["S"]),
        (&["Trash"], 2, &["ST"]),
        (&["Entw&APw-rfe"], 3, &["D", "DS"]),
        (&["Projekte", "2024"], 4, &["", "F"]),
        (&["Projekte", "&ZeVnLIqe-"], 2, &["S"]),
    ];
    let mut n = 0;
    for (folder, count, flags) in layout {
        for i in 0..count {
            n += 1;
            let bytes = message(&mut rng, n, 300 + 97 * i);
            d.deliver(folder, &bytes, flags[i % flags.len()]);
        }
    }
    d.folder_dir(&["Empty"]);
    d.start();
    (d, n)
}

#[test]
fn an_account_reads_like_its_files_and_nothing_changes() {
    if !dovecot::available() {
        return;
    }
    let (d, total) = account();
    let spec = d.imaps();
    let before = d.snapshot();
    let out = tempfile::tempdir().unwrap();
    let o = |name: &str| out.path().join(name).to_string_lossy().into_owned();

    // Folders: decoded names, the \Noselect parent left out, its children listed in full,
    // roles from SPECIAL-USE, counts from STATUS.
    let folders = run(&["folders", &spec, "--json"]);
    assert_eq!(folders.code, 0, "{folders}");
    let listed: serde_json::Value = serde_json::from_str(&folders.stdout).unwrap();
    let names: BTreeMap<String, (u64, Option<String>)> = listed["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                (
                    f["messages"].as_u64().unwrap(),
                    f["role"].as_str().map(str::to_string),
                ),
            )
        })
        .collect();
    let expect: BTreeMap<String, (u64, Option<String>)> = [
        ("INBOX", 12, Some("inbox")),
        ("Sent", 5, Some("sent")),
        ("Trash", 2, Some("trash")),
        ("Entwürfe", 3, Some("drafts")),
        ("Projekte/2024", 4, None),
        ("Projekte/日本語", 2, None),
        ("Empty", 0, None),
    ]
    .into_iter()
    .map(|(n, c, r)| (n.to_string(), (c, r.map(str::to_string))))
    .collect();
    assert_eq!(names, expect, "{folders}");

    // A receipt over IMAP equals the receipt of Dovecot's files.
    let logins = || d.log().matches("Info: Login:").count();
    let logged_in = logins();
    let over_imap = run(&[
        "receipt",
        &spec,
        "-o",
        &o("imap.receipt"),
        "--connections",
        "3",
    ]);
    assert_eq!(over_imap.code, 0, "{over_imap}");
    // Each folder fits in one batch, so one connection reads them all, one after the other.
    assert_eq!(logins() - logged_in, 1, "{}", d.log());
    let files = run(&[
        "receipt",
        d.maildir().to_str().unwrap(),
        "-o",
        &o("files.receipt"),
    ]);
    assert_eq!(files.code, 0, "{files}");
    let imap_receipt = Receipt::load(&out.path().join("imap.receipt")).unwrap();
    let file_receipt = Receipt::load(&out.path().join("files.receipt")).unwrap();
    assert_eq!(contents(&imap_receipt), contents(&file_receipt));
    assert_eq!(imap_receipt.totals.read as usize, total);
    assert_eq!(imap_receipt.header.source.kind, "imap");
    // STATUS counts equal what was read, folder by folder.
    for (f, end) in imap_receipt.folders.iter().zip(&imap_receipt.folder_ends) {
        assert_eq!(f.claimed, Some(end.read), "{}", f.name());
        assert!(end.error.is_none(), "{:?}", end.error);
    }
    // Messages come in UID order and are named UIDVALIDITY:UID; each once.
    let mut seen = BTreeSet::new();
    for f in &imap_receipt.folders {
        let uids: Vec<u32> = imap_receipt
            .messages
            .iter()
            .filter(|m| m.folder == f.id)
            .map(|m| {
                assert!(seen.insert((f.id, m.source_id.clone())));
                m.source_id.split_once(':').unwrap().1.parse().unwrap()
            })
            .collect();
        assert!(uids.windows(2).all(|w| w[0] < w[1]), "{uids:?}");
        assert!(
            imap_receipt
                .messages
                .iter()
                .filter(|m| m.folder == f.id)
                .all(|m| m.internal_date.is_some())
        );
    }

    // Export, verify, and check the account against both receipts.
    let export = run(&["export", &spec, "-o", &o("imap.zip"), "--connections", "2"]);
    assert_eq!(export.code, 0, "{export}");
    let verify = run(&["verify", &o("imap.zip")]);
    assert_eq!(verify.code, 0, "{verify}");
    let archived = mailproof_engine::pipeline::load_receipt(&out.path().join("imap.zip")).unwrap();
    assert_eq!(contents(&archived), contents(&file_receipt));
    let check = run(&[
        "check",
        &o("files.receipt"),
        &spec,
        "--json",
        &o("check.json"),
    ]);
    assert_eq!(check.code, 0, "{check}");
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.path().join("check.json")).unwrap()).unwrap();
    assert_eq!(report["totals"]["missing"], 0, "{check}");
    assert_eq!(
        report["totals"]["identical"].as_u64().unwrap() as usize,
        total,
        "{check}"
    );
    // Both sides live, each with its own password variable.
    let both = Mailproof::run_with_env(
        &["check", &spec, &d.imap_starttls()],
        &[
            ("MAILPROOF_PASSWORD_BEFORE", PASSWORD),
            ("MAILPROOF_PASSWORD_AFTER", PASSWORD),
        ],
    );
    assert_eq!(both.code, 0, "{both}");

    // A second receipt: same UIDs, same flags: nothing was changed by reading.
    let again = run(&["receipt", &spec, "-o", &o("again.receipt")]);
    assert_eq!(again.code, 0, "{again}");
    let again = Receipt::load(&out.path().join("again.receipt")).unwrap();
    let ids = |r: &Receipt| -> Vec<(String, Vec<String>)> {
        r.messages
            .iter()
            .map(|m| (m.source_id.clone(), m.flags.clone()))
            .collect()
    };
    assert_eq!(ids(&again), ids(&imap_receipt));
    assert!(
        imap_receipt
            .messages
            .iter()
            .filter(|m| m.flags.iter().any(|f| f == "\\Seen"))
            .count()
            < total
    );
    assert_eq!(
        d.snapshot(),
        before,
        "a file of the mailbox changed (flags are in the names)"
    );
    assert_no_password(
        &[&folders, &over_imap, &export, &check, &verify],
        out.path(),
    );
}

#[test]
fn a_40_mb_message() {
    if !dovecot::available() {
        return;
    }
    let mut d = Dovecot::prepare(Setup::default());
    let mut rng = Rng::new(40);
    let mut spec = Spec::basic(&mut rng, 1_650_000_000, "forty megabytes");
    spec.attachments = vec![40 << 20];
    let big = crlf(&synth::build(&mut rng, &spec).bytes);
    assert!(big.len() >= 40 << 20);
    d.deliver(&[], &message(&mut rng, 1, 500), "S");
    d.deliver(&[], &big, "");
    d.deliver(&[], &message(&mut rng, 2, 500), "");
    d.start();
    let out = tempfile::tempdir().unwrap();
    let receipt = out.path().join("big.receipt");
    let r = run(&["receipt", &d.imaps(), "-o", receipt.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r}");
    let receipt = Receipt::load(&receipt).unwrap();
    assert_eq!(receipt.messages.len(), 3);
    assert_eq!(receipt.messages[1].size as usize, big.len());
    assert_eq!(receipt.messages[1].identity.digest, identify(&big).digest);
}

#[test]
fn a_connection_cut_mid_fetch_loses_and_repeats_nothing() {
    if !dovecot::available() {
        return;
    }
    let mut d = Dovecot::prepare(Setup::default());
    let mut rng = Rng::new(99);
    let mut digests = Vec::new();
    for n in 0..500 {
        let bytes = message(&mut rng, n, 8_000);
        digests.push(identify(&bytes).digest);
        d.deliver(&[], &bytes, if n % 3 == 0 { "S" } else { "" });
    }
    d.start();
    // The second connection (a fetching one) is cut after 600 kB from the server.
    let proxy = Proxy::cutting(d.imaps_port, 600_000);
    let spec = through(&d, &proxy);
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("cut.receipt");
    let r = run(&[
        "receipt",
        &spec,
        "-o",
        path.to_str().unwrap(),
        "--connections",
        "2",
    ]);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), 1, "the proxy never cut");
    assert!(
        proxy.connections.load(Ordering::SeqCst) >= 3,
        "no reconnection"
    );
    let receipt = Receipt::load(&path).unwrap();
    assert_eq!(receipt.messages.len(), 500);
    assert_each_once(&receipt, digests);
    let uids: Vec<u32> = receipt
        .messages
        .iter()
        .map(|m| m.source_id.split_once(':').unwrap().1.parse().unwrap())
        .collect();
    assert!(uids.windows(2).all(|w| w[0] < w[1]), "not in UID order");
}

/// A server that paces each connection: reading, which starts with one connection, adds more
/// because they make it faster, and reads every message once.
#[test]
fn connections_are_added_when_the_server_paces_each_one() {
    if !dovecot::available() {
        return;
    }
    let mut d = Dovecot::prepare(Setup::default());
    let mut rng = Rng::new(7);
    let mut digests = Vec::new();
    // Five batches (a batch is 200 messages) of 8 MB: the first connection cannot have taken
    // them all by the time two measurements (8 MB each) have shown what a second one brings.
    for n in 0..1000 {
        let mut spec = Spec::basic(&mut rng, 1_600_000_000 + n * 60, &format!("report {n}"));
        spec.attachments = vec![40_000];
        let bytes = crlf(&synth::build(&mut rng, &spec).bytes);
        digests.push(identify(&bytes).digest);
        d.deliver(&[], &bytes, "");
    }
    d.start();
    // 4 MB/s per connection: well below what even a debug build hashes.
    let proxy = Proxy::paced(d.imaps_port, 4 << 20);
    let spec = through(&d, &proxy);
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("paced.receipt");
    let r = run(&["receipt", &spec, "-o", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        proxy.connections.load(Ordering::SeqCst) >= 2,
        "read over one connection only"
    );
    assert_each_once(&Receipt::load(&path).unwrap(), digests);
}

/// The `imaps://` spec of `d`'s account reached through `proxy`.
fn through(d: &Dovecot, proxy: &Proxy) -> String {
    format!(
        "imaps://{USER}@127.0.0.1:{}?cert=SHA256:{}",
        proxy.port, d.fingerprint
    )
}

/// Asserts that `receipt` holds each of the delivered `digests` once, in any order.
fn assert_each_once(receipt: &Receipt, mut digests: Vec<String>) {
    let mut got: Vec<_> = receipt
        .messages
        .iter()
        .map(|m| m.identity.digest.clone())
        .collect();
    got.sort();
    digests.sort();
    assert_eq!(got, digests, "a message was lost or read twice");
}

#[test]
fn starttls_is_required_and_plain_text_is_for_loopback_only() {
    if !dovecot::available() {
        return;
    }
    let mut plain = Dovecot::prepare(Setup {
        tls: false,
        ..Setup::default()
    });
    let mut rng = Rng::new(3);
    plain.deliver(&[], &message(&mut rng, 1, 200), "S");
    plain.start();
    let refused = run(&[
        "folders",
        &format!("imap://{USER}@127.0.0.1:{}", plain.imap_port),
    ]);
    assert_eq!(refused.code, 2, "{refused}");
    assert!(
        refused.stderr.contains("does not offer STARTTLS"),
        "{refused}"
    );
    // Explicit plain text on loopback works, with LOGIN as well as PLAIN.
    for auth in ["", "&auth=login"] {
        let spec = format!("imap://{USER}@127.0.0.1:{}?tls=none{auth}", plain.imap_port);
        let ok = run(&["folders", &spec]);
        assert_eq!(ok.code, 0, "{ok}");
        assert!(ok.stdout.contains("1 message in 1 folder"), "{ok}");
    }
    let remote = run(&["folders", "imap://ann@mail.example.org?tls=none"]);
    assert_eq!(remote.code, 2, "{remote}");
    assert!(remote.stderr.contains("only for this machine"), "{remote}");

    // A TLS server: STARTTLS on imap:// works.
    let mut tls = Dovecot::prepare(Setup::default());
    tls.deliver(&[], &message(&mut rng, 2, 200), "");
    tls.start();
    let ok = run(&["folders", &tls.imap_starttls()]);
    assert_eq!(ok.code, 0, "{ok}");
}

#[test]
fn a_self_signed_certificate_is_refused_until_pinned() {
    if !dovecot::available() {
        return;
    }
    let mut d = Dovecot::prepare(Setup::default());
    d.deliver(&[], &message(&mut Rng::new(5), 1, 200), "");
    d.start();
    let bare = format!("imaps://{USER}@127.0.0.1:{}", d.imaps_port);
    let refused = run(&["folders", &bare]);
    assert_eq!(refused.code, 2, "{refused}");
    let shown = format!("SHA256:{}", d.fingerprint);
    assert!(
        refused.stderr.contains(&shown),
        "fingerprint {shown} not shown: {refused}"
    );
    assert!(refused.stderr.contains("--cert"), "{refused}");
    let pinned = run(&["folders", &bare, "--cert", &shown]);
    assert_eq!(pinned.code, 0, "{pinned}");
    // A pin of another certificate is refused.
    let other = format!("SHA256:{}", "AB:".repeat(31) + "AB");
    let wrong = run(&["folders", &bare, "--cert", &other]);
    assert_eq!(wrong.code, 2, "{wrong}");
    assert!(
        wrong.stderr.contains("not the certificate pinned"),
        "{wrong}"
    );
    // STARTTLS checks the certificate the same way.
    let starttls = run(&[
        "folders",
        &format!("imap://{USER}@127.0.0.1:{}", d.imap_port),
    ]);
    assert_eq!(starttls.code, 2, "{starttls}");
    assert!(starttls.stderr.contains(&shown), "{starttls}");
}

#[test]
fn a_wrong_password_is_a_clear_error_and_no_secret_leaks() {
    if !dovecot::available() {
        return;
    }
    let mut d = Dovecot::prepare(Setup::default());
    d.deliver(&[], &message(&mut Rng::new(6), 1, 200), "");
    d.start();
    let out = tempfile::tempdir().unwrap();
    let wrong_password = "not-the-Password-42";
    let receipt = out.path().join("r.receipt");
    let wrong = Mailproof::run_with_env(
        &["receipt", &d.imaps(), "-o", receipt.to_str().unwrap()],
        &[("MAILPROOF_PASSWORD", wrong_password)],
    );
    assert_eq!(wrong.code, 2, "{wrong}");
    assert!(wrong.stderr.contains("refused the log-in"), "{wrong}");
    // The command names where it takes passwords from.
    assert!(wrong.stderr.contains("--password-file"), "{wrong}");
    assert!(!wrong.stderr.contains(wrong_password) && !wrong.stdout.contains(wrong_password));
    assert!(!receipt.exists());
    // From a file, the right one works; the file's content appears nowhere else.
    let secret_file = out.path().join("secret");
    fs::write(&secret_file, format!("{PASSWORD}\n")).unwrap();
    let ok = Mailproof::run(&[
        "receipt",
        &d.imaps(),
        "-o",
        receipt.to_str().unwrap(),
        "--password-file",
        secret_file.to_str().unwrap(),
    ]);
    assert_eq!(ok.code, 0, "{ok}");
    fs::remove_file(&secret_file).unwrap();
    assert_no_password(&[&wrong, &ok], out.path());
    // No password at all, and no terminal to ask on: a plain refusal, exit 2.
    let none = Mailproof::run(&["folders", &d.imaps()]);
    assert_eq!(none.code, 2, "{none}");
    assert!(none.stderr.contains("no password"), "{none}");
}

struct Fixed;

impl Credentials for Fixed {
    fn secret(&self, _: &CredentialRequest) -> mailproof_engine::Result<Secret> {
        Ok(Secret::new(PASSWORD))
    }
}

#[test]
fn appending_restores_bytes_flags_and_dates_into_new_utf7_folders() {
    if !dovecot::available() {
        return;
    }
    let mut d = Dovecot::prepare(Setup::default());
    d.deliver(&[], &message(&mut Rng::new(8), 1, 200), "");
    d.start();
    let access = Access {
        credentials: Arc::new(Fixed),
        ..Access::default()
    };
    let mut rng = Rng::new(9);
    let first = message(&mut rng, 1, 900);
    let second = message(&mut rng, 2, 300);
    let path = vec!["Archiv".to_string(), "Entwürfe 2024".to_string()];
    {
        let mut dest = imap::open_destination(&d.imaps(), &access).unwrap();
        let folder = dest.ensure_folder(&path).unwrap();
        assert_eq!(folder.locator, "Archiv/Entw&APw-rfe 2024");
        // Asking again is not an error and creates nothing new.
        assert_eq!(dest.ensure_folder(&path).unwrap().locator, folder.locator);
        let flags = vec![
            "\\Seen".to_string(),
            "\\Flagged".to_string(),
            "Work".to_string(),
        ];
        dest.append(
            &folder,
            NewMessage {
                bytes: &first,
                flags: &flags,
                internal_date: Some(1_500_000_000),
            },
        )
        .unwrap();
        dest.append(
            &folder,
            NewMessage {
                bytes: &second,
                flags: &[],
                internal_date: None,
            },
        )
        .unwrap();
        let inbox = dest.ensure_folder(&["INBOX".to_string()]).unwrap();
        assert_eq!(inbox.locator, "INBOX");
    }
    assert!(d.maildir().join(".Archiv.Entw&APw-rfe 2024").is_dir());
    let mut source = imap::open_source(&d.imaps(), &access).unwrap();
    use mailproof_engine::source::Source;
    let folders = source.folders().unwrap();
    let folder = folders
        .iter()
        .find(|f| f.path == path)
        .expect("created folder listed");
    let mut read = Vec::new();
    source
        .read_folder(folder, &mut |e| {
            if let Entry::Message(m) = e {
                read.push(m);
            }
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(identify(&read[0].bytes).digest, identify(&first).digest);
    assert_eq!(read[0].flags, ["\\Flagged", "\\Seen", "Work"]);
    assert_eq!(read[0].internal_date, Some(1_500_000_000));
    assert_eq!(read[1].bytes, second);
    assert!(read[1].flags.is_empty());
}

#[test]
fn a_message_the_server_cannot_read_is_recorded_with_its_words() {
    if !dovecot::available() {
        return;
    }
    let mut d = Dovecot::prepare(Setup::default());
    let mut rng = Rng::new(11);
    let mut good = Vec::new();
    let mut broken = None;
    for n in 0..6 {
        let bytes = message(&mut rng, n, 400);
        let path = d.deliver(&[], &bytes, "S");
        if n == 2 {
            // Sizes in the name, as Dovecot writes them, so listing does not open the file;
            // then the file cannot be opened by the server at all.
            let crlf_size = bytes.len();
            let named = path.with_file_name(format!(
                "{},S={crlf_size},W={crlf_size}:2,S",
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .split(':')
                    .next()
                    .unwrap()
            ));
            fs::rename(&path, &named).unwrap();
            broken = Some(named);
        } else {
            good.push(identify(&bytes).digest);
        }
    }
    d.start();
    // The server's processes (never root) cannot open a file of mode 000.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(broken.unwrap(), fs::Permissions::from_mode(0o000)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("r.receipt");
    let r = run(&[
        "receipt",
        &d.imaps(),
        "-o",
        path.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(r.code, 1, "{r}");
    let receipt = Receipt::load(&path).unwrap();
    let mut got: Vec<_> = receipt
        .messages
        .iter()
        .map(|m| m.identity.digest.clone())
        .collect();
    got.sort();
    good.sort();
    assert_eq!(got, good);
    assert_eq!(receipt.unreadable.len(), 1, "{r}");
    let reason = &receipt.unreadable[0].reason;
    assert!(reason.contains("server"), "{reason}");
    assert_eq!(receipt.folder_ends[0].found, 6);
}

#[test]
fn bearer_tokens_log_in_with_xoauth2_and_oauthbearer() {
    if !dovecot::available() {
        return;
    }
    let mut d = Dovecot::prepare(Setup {
        oauth: true,
        ..Setup::default()
    });
    d.deliver(&[], &message(&mut Rng::new(12), 1, 200), "");
    d.start();
    let out = tempfile::tempdir().unwrap();
    let token_file = out.path().join("token");
    fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    for mechanism in ["xoauth2", "oauthbearer"] {
        let spec = format!("{}&auth={mechanism}", d.imaps());
        let ok = Mailproof::run_with_env(&["folders", &spec], &[("MAILPROOF_TOKEN", TOKEN)]);
        assert_eq!(ok.code, 0, "{mechanism}: {ok}");
        assert!(ok.stdout.contains("1 message in 1 folder"), "{ok}");
        let from_file = Mailproof::run(&[
            "folders",
            &spec,
            "--token-file",
            token_file.to_str().unwrap(),
        ]);
        assert_eq!(from_file.code, 0, "{mechanism}: {from_file}");
        // A refused token: the server's error challenge is answered and the log-in ends with
        // a plain error instead of hanging.
        let expired = "ya29.expired";
        let refused = Mailproof::run_with_env(&["folders", &spec], &[("MAILPROOF_TOKEN", expired)]);
        assert_eq!(refused.code, 2, "{mechanism}: {refused}");
        assert!(refused.stderr.contains("access token"), "{refused}");
        for r in [&ok, &from_file, &refused] {
            assert!(
                !r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN),
                "{r}"
            );
            assert!(!r.stderr.contains(expired), "{r}");
        }
    }
    // Without a token there is no prompt: a plain refusal.
    let none = Mailproof::run(&["folders", &format!("{}&auth=xoauth2", d.imaps())]);
    assert_eq!(none.code, 2, "{none}");
    assert!(none.stderr.contains("MAILPROOF_TOKEN"), "{none}");
}

/// A migration onto a running server, with planted losses (dropped messages, a dropped copy
/// of a duplicate, a lost folder), and the archive taken before it.
struct LossyMigration {
    _dir: tempfile::TempDir,
    archive: std::path::PathBuf,
    d: Dovecot,
    missing: usize,
    /// The server's files before any restore.
    on_server: Vec<(std::path::PathBuf, Vec<u8>)>,
}

fn lossy_migration(seed: u64) -> LossyMigration {
    use mailproof_tests::migrate::{self, Account, Expect, Options};
    let dir = tempfile::tempdir().unwrap();
    let migrated_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 3600;
    let sim = migrate::simulate(&Options::new(seed, Account::Imap).migrated_at(migrated_at));
    let missing = sim.count(Expect::Missing);
    assert!(missing > 0, "the plan loses mail");

    let before = dir.path().join("before");
    sim.before.write_maildir(&before).unwrap();
    let archive = dir.path().join("before.zip");
    let export = run(&[
        "export",
        before.to_str().unwrap(),
        "-o",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(export.code, 0, "{export}");

    // AFTER lives on the server: Dovecot's own Maildir++ layout is what write_maildir writes.
    // A folder name with a `.` (the plan's separator change) is a hierarchy on a Maildir++
    // server, as it would be after a real migration to one.
    let mut after = sim.after.clone();
    for folder in &mut after.folders {
        folder.path = folder
            .path
            .iter()
            .flat_map(|s| s.split('.').map(str::to_string))
            .collect();
    }
    let mut d = Dovecot::prepare(Setup::default());
    after.write_maildir(&d.maildir()).unwrap();
    d.start();
    let on_server = d.snapshot();
    LossyMigration {
        _dir: dir,
        archive,
        d,
        missing,
        on_server,
    }
}

impl LossyMigration {
    fn restore(&self, spec: &str, extra: &[&str]) -> Mailproof {
        let mut args = vec!["restore", self.archive.to_str().unwrap(), spec];
        args.extend_from_slice(extra);
        run(&args)
    }

    /// Everything that was on the server before is still there, byte for byte.
    fn assert_untouched(&self) {
        let now: BTreeMap<_, _> = self.d.snapshot().into_iter().collect();
        for (path, bytes) in &self.on_server {
            assert_eq!(now.get(path), Some(bytes), "{} changed", path.display());
        }
    }
}

/// Message files in a snapshot of the server's Maildir.
fn messages(snapshot: &[(std::path::PathBuf, Vec<u8>)]) -> usize {
    snapshot
        .iter()
        .filter(|(p, _)| {
            p.parent()
                .and_then(Path::file_name)
                .is_some_and(|d| d == "cur" || d == "new")
        })
        .count()
}

fn json(run: &Mailproof) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run}"))
}

/// The lossy migration restored from the archive taken before: afterwards nothing is missing,
/// what was already on the server is untouched, and a second restore appends nothing.
#[test]
fn restore_brings_a_lossy_migration_back_to_nothing_missing() {
    if !dovecot::available() {
        return;
    }
    let m = lossy_migration(20_251_124);
    let spec = m.d.imaps();
    let dry = m.restore(&spec, &["--dry-run", "--json"]);
    assert_eq!(dry.code, 1, "still missing after a dry run: {dry}");
    assert_eq!(
        json(&dry)["plan"]["messages"].as_array().unwrap().len(),
        m.missing
    );
    assert_eq!(m.d.snapshot(), m.on_server, "a dry run changed the server");

    let first = m.restore(&spec, &["--json"]);
    assert_eq!(first.code, 0, "{first}");
    let first = json(&first);
    assert_eq!(
        first["restore"]["appended"].as_u64(),
        Some(m.missing as u64)
    );
    assert_eq!(
        first["report"]["totals"]["missing"].as_u64(),
        Some(0),
        "{first}"
    );
    m.assert_untouched();

    let second = m.restore(&spec, &["--json"]);
    assert_eq!(second.code, 0, "{second}");
    assert_eq!(json(&second)["restore"]["appended"].as_u64(), Some(0));

    let check = run(&["check", m.archive.to_str().unwrap(), &spec]);
    assert_eq!(check.code, 0, "{check}");
}

/// The connection drops as the third message is being appended: the restore stops with a
/// plain error, keeping the two it put back; run again, it appends only the rest, each once.
#[test]
fn a_restore_cut_mid_append_puts_each_message_back_once_when_run_again() {
    if !dovecot::available() {
        return;
    }
    let m = lossy_migration(20_251_125);
    assert!(m.missing > 3, "too few losses to cut in between");
    let proxy = FaultProxy::start(m.d.imap_port, Fault::CutAtAppend, 2);
    let through = format!("imap://{USER}@127.0.0.1:{}?tls=none", proxy.port);

    let cut = m.restore(&through, &[]);
    assert_eq!(cut.code, 2, "{cut}");
    assert_eq!(
        proxy.fired.load(Ordering::SeqCst),
        1,
        "the cut never happened"
    );
    assert!(cut.stderr.contains("APPEND"), "{cut}");
    assert!(
        cut.stderr.contains(&format!(
            "Messages put back before this: 2 of {}",
            m.missing
        )),
        "{cut}"
    );
    assert!(
        cut.stderr.contains("Running the same restore again"),
        "{cut}"
    );
    let before = messages(&m.on_server);
    assert_eq!(
        messages(&m.d.snapshot()),
        before + 2,
        "the two appends before the cut"
    );
    m.assert_untouched();

    let again = m.restore(&m.d.imaps(), &["--json"]);
    assert_eq!(again.code, 0, "{again}");
    let again = json(&again);
    assert_eq!(
        again["restore"]["appended"].as_u64(),
        Some(m.missing as u64 - 2)
    );
    assert_eq!(again["report"]["totals"]["missing"].as_u64(), Some(0));
    assert_eq!(
        messages(&m.d.snapshot()),
        before + m.missing,
        "each missing message exactly once"
    );
    m.assert_untouched();
}
