//! The desktop app end to end, through WebDriver: tauri-driver starts WebKitWebDriver, which
//! starts the real app binary with its real webview. The wizard is clicked through as a person
//! would: the whole *before* flow against a Maildir (receipt, then export), then the *after*
//! flow against the migrated Maildir, down to the named missing messages, restored from the
//! archive; and an email account on a private Dovecot exported, then restored over IMAP.
//!
//! Native file dialogs are answered by the app's test-only `--e2e-dialog=PATH` arguments
//! (src-tauri/src/dialogs.rs), in the order the dialogs open. A screenshot of every step goes
//! to `target/e2e-screenshots/`.
//!
//! Needs a display (Xvfb), `tauri-driver` and `WebKitWebDriver`, and the app built with
//! `tauri build --debug --no-bundle` (scripts/test.sh does all this):
//!
//! ```sh
//! xvfb-run -a cargo test -p mailproof-app-e2e -- --ignored
//! ```

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use mailproof_tests::dovecot::{self, Dovecot, Setup};
use mailproof_tests::migrate::{self, Account, Expect, Migration, Options};
use mailproof_tests::rng::Rng;
use serde_json::json;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The app under test: `MAILPROOF_APP_BIN`, or the debug build in the workspace target.
fn app_binary() -> PathBuf {
    let bin = std::env::var_os("MAILPROOF_APP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace().join("target"));
            target.join("debug/mailproof-app")
        });
    assert!(
        bin.is_file(),
        "{} is missing: build it with `TAURI_APP_PATH=src-tauri ui/node_modules/.bin/tauri build --debug --no-bundle` \
         (a plain cargo build loads the dev server instead of the bundled screens)",
        bin.display()
    );
    bin
}

/// tauri-driver on its own ports, stopped with SIGTERM so it stops WebKitWebDriver too.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Its output (and that of WebKitWebDriver and the app) goes to `log`, never to the test's
    /// own pipes, which a stray process would otherwise keep open after the test.
    /// The app runs with `home` as its home and its XDG folders under `scratch`.
    fn start(port: u16, log: &Path, scratch: &Path, home: &Path) -> Driver {
        let xdg = scratch.join("xdg");
        let env = [
            ("HOME", home.to_path_buf()),
            ("XDG_DATA_HOME", xdg.join("data")),
            ("XDG_CACHE_HOME", xdg.join("cache")),
            ("XDG_CONFIG_HOME", xdg.join("config")),
        ];
        let log = std::fs::File::create(log).expect("driver log");
        let mut cmd = Command::new("tauri-driver");
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &(port + 1).to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("driver log"))
        .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .expect("tauri-driver runs (cargo install tauri-driver --locked)");
        let driver = Driver { child, port };
        // tauri-driver listens at once but forwards to WebKitWebDriver, which it starts on the
        // next port and which may take a while on a busy machine: a session asked for before
        // that one listens is refused.
        let deadline = Instant::now() + Duration::from_secs(60);
        for (listener, who) in [(port, "tauri-driver"), (port + 1, "WebKitWebDriver")] {
            while TcpStream::connect(("127.0.0.1", listener)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "{who} did not listen on {listener}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        driver
    }

    async fn session(&self, args: &[String]) -> Client {
        let caps = json!({
            "browserName": "wry",
            "tauri:options": { "application": app_binary(), "args": args },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session with the app")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // WebKitWebDriver may be stopped before it has closed the app it started, which then
        // lives on: so the driver's own descendants are noted first, and stopped after it.
        let ours = descendants(self.child.id());
        // SAFETY: sending signals to processes this test started; no memory is involved.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
        for pid in ours {
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        }
    }
}

/// Every process below `root`, from /proc (children before grandchildren).
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name is in parentheses and may hold spaces; the parent follows it.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// The wizard in one WebDriver session, with helpers that wait as a person would.
struct App {
    c: Client,
    shots: PathBuf,
    prefix: &'static str,
    n: usize,
}

const WAIT: Duration = Duration::from_secs(30);

impl App {
    async fn el(&self, css: &str) -> Element {
        self.c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Types `text` into the field `css`.
    async fn type_into(&self, css: &str, text: &str) {
        self.el(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    async fn click(&self, css: &str) {
        self.el(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn text(&self, css: &str) -> String {
        self.el(css).await.text().await.unwrap()
    }

    /// Waits until the element's text contains `needle`, and returns the text.
    async fn text_with(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = match self.c.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return text;
            }
            if Instant::now() > deadline {
                // What the screen says went wrong, if anything: the likeliest cause.
                let error = match self.c.find(Locator::Css("#error")).await {
                    Ok(e) => e.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                panic!(
                    "{css} never said {needle:?}; it says {text:?}; the screen's error: {error:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn value(&self, css: &str) -> String {
        self.el(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Waits until a form field holds `expected`.
    async fn value_becomes(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.value(css).await;
            if value == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} holds {value:?}, never {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn step(&self, n: usize) {
        self.text_with("#step-label", &format!("Step {n} of 6"))
            .await;
    }

    async fn shot(&mut self, name: &str) {
        self.n += 1;
        // Let the webview paint what the DOM already shows: a screenshot taken right after a
        // change (or as a session's first) can show the page before it.
        let frames = "requestAnimationFrame(() => requestAnimationFrame(arguments[0]))";
        self.c
            .execute_async(frames, Vec::new())
            .await
            .expect("two frames");
        tokio::time::sleep(Duration::from_millis(150)).await;
        let png = self.c.screenshot().await.expect("screenshot");
        let path = self
            .shots
            .join(format!("{}-{:02}-{name}.png", self.prefix, self.n));
        std::fs::write(&path, png).unwrap();
    }

    async fn rows(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for row in self.c.find_all(Locator::Css(css)).await.unwrap() {
            out.push(row.text().await.unwrap());
        }
        out
    }
}

/// Where the screenshots of every step go; each test's files carry its own prefixes.
fn shots_dir() -> PathBuf {
    let shots = workspace().join("target/e2e-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

fn dialog(path: &Path) -> String {
    format!("--e2e-dialog={}", path.display())
}

struct Scene {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    plan: Migration,
}

fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let plan = migrate::simulate(&Options::new(11, Account::Imap));
    plan.before.write_maildir(&root.join("before")).unwrap();
    plan.after.write_maildir(&root.join("after")).unwrap();
    // A home with a Thunderbird profile, for the detection on the mailbox screen.
    let home = root.join("home");
    plan.before
        .write_mbox_tree(&home.join(".thunderbird/e2e.default-release/Mail/Local Folders"))
        .unwrap();
    std::fs::write(root.join("notes.txt"), "not mail\n").unwrap();
    let profile = json!({
        "format": "mailproof-connection-profile/1",
        "label": "Example Corp IT",
        "provider": "other",
        "host": "imap.mailproof.invalid",
        "port": 993,
        "security": "tls",
        "username": "ann.smith@example.org",
    });
    std::fs::write(root.join("profile.json"), profile.to_string()).unwrap();
    Scene {
        _dir: dir,
        root,
        home,
        plan,
    }
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and the app built with tauri build --debug"]
async fn before_then_after_migration() {
    let s = scene();
    let shots = shots_dir();
    let driver = Driver::start(
        4444,
        &shots.join("tauri-driver-maildir.log"),
        &s.root,
        &s.home,
    );

    let receipt = s.root.join("before.receipt");
    let archive = s.root.join("before.zip");
    let before_session = driver
        .session(&[
            dialog(&s.root.join("notes.txt")),
            dialog(&s.root.join("profile.json")),
            dialog(&s.root.join("before")),
            dialog(&receipt),
            dialog(&archive),
        ])
        .await;
    let mut app = App {
        c: before_session,
        shots: shots.clone(),
        prefix: "before",
        n: 0,
    };
    before_flow(&mut app, &s, &receipt, &archive).await;
    app.c.close().await.unwrap();

    let report = s.root.join("check.html");
    let csv = s.root.join("check.csv");
    let after_session = driver
        .session(&[
            dialog(&s.root.join("after")),
            dialog(&receipt),
            dialog(&report),
            dialog(&csv),
            dialog(&archive),
        ])
        .await;
    let mut app = App {
        c: after_session,
        shots,
        prefix: "after",
        n: 0,
    };
    after_flow(&mut app, &s, &receipt, &archive, &report, &csv).await;
    app.c.close().await.unwrap();
}

async fn before_flow(app: &mut App, s: &Scene, receipt: &Path, archive: &Path) {
    let plan = &s.plan;
    let total = plan.before.count();
    let folders = plan.before.folders.len();
    app.c.set_window_size(900, 600).await.ok();

    // 1. Start.
    app.step(1).await;
    app.shot("start").await;
    app.click("#goal-receipt").await;

    // 2. Mailbox: Thunderbird is detected; a file that is not mail is refused in plain words
    //    on this screen; then the Maildir folder is chosen.
    app.step(2).await;
    app.text_with(
        "body",
        "Thunderbird: Local Folders (profile e2e.default-release)",
    )
    .await;
    app.click("#pick-file").await;
    app.text_with("#chosen-mailbox", "notes.txt").await;
    app.click("#next").await;
    let error = app.text_with("#error", "notes.txt").await;
    assert!(error.contains("not a mailbox"), "{error}");
    app.step(2).await;
    app.shot("mailbox-error").await;
    // An email account: the engine's answer is shown, never a fake success.
    app.click("#source-account").await;
    app.el("#account-preset")
        .await
        .select_by_value("fastmail")
        .await
        .unwrap();
    assert_eq!(app.value("#account-host").await, "imap.fastmail.com");
    // A helpdesk's connection profile fills the form; the password is typed.
    app.click("#load-profile").await;
    app.text_with("#profile-from", "Example Corp IT").await;
    assert_eq!(app.value("#account-host").await, "imap.mailproof.invalid");
    assert_eq!(app.value("#account-user").await, "ann.smith@example.org");
    assert_eq!(app.value("#account-password").await, "");
    app.type_into("#account-password", "not-a-real-password")
        .await;
    app.click("#test-connection").await;
    let said = app.text("#error").await;
    assert!(
        !said.is_empty() && !said.contains("not-a-real-password"),
        "{said}"
    );
    assert!(
        app.c.find(Locator::Css("#connection-ok")).await.is_err(),
        "a connection test pretended to work"
    );
    app.shot("account").await;
    app.click("#source-files").await;
    app.click("#pick-folder").await;
    app.text_with("#chosen-mailbox", "before").await;
    app.shot("mailbox").await;
    app.click("#next").await;

    // 3. Folders: every folder with its count, all selected.
    app.step(3).await;
    let rows = app.rows("#folder-table tbody tr").await;
    assert_eq!(rows.len(), folders, "{rows:?}");
    for f in &plan.before.folders {
        let row = rows
            .iter()
            .find(|r| r.starts_with(&f.name()))
            .unwrap_or_else(|| panic!("{} not listed", f.name()));
        assert!(row.contains(&f.messages.len().to_string()), "{row}");
    }
    app.text_with(
        "#folder-total",
        &format!("{folders} folders with {total} messages"),
    )
    .await;
    app.shot("folders").await;
    app.click("#next").await;

    // 4. Where to save, with the free space there.
    app.step(4).await;
    app.click("#choose-output").await;
    app.text_with("#chosen-output", "Free space there").await;
    app.shot("save").await;
    app.click("#start").await;

    // 5–6. Progress, then the result with the receipt code of the file written.
    app.shot("working").await;
    let verdict = app.text_with("#verdict", "Receipt taken").await;
    assert_eq!(
        verdict,
        format!("Receipt taken: all {total} messages in {folders} folders were read.")
    );
    app.step(6).await;
    app.text_with("#output-path", &receipt.display().to_string())
        .await;
    let code = app.text("#receipt-code").await;
    let written =
        mailproof_engine::receipt::Receipt::load(receipt).expect("the receipt was written");
    assert_eq!(Some(code.as_str()), written.code());
    assert_eq!(written.messages.len(), total);
    app.shot("receipt-result").await;

    // The export, of every folder but the first: Back works from the result, and Start again.
    app.click("#start-over").await;
    app.step(1).await;
    app.click("#goal-export").await;
    app.step(2).await;
    app.click("#next").await;
    app.step(3).await;
    let first = app.el("#folder-table tbody tr:first-child input").await;
    let label = first.attr("aria-label").await.unwrap().unwrap_or_default();
    let skipped = label
        .strip_prefix("Include ")
        .and_then(|name| plan.before.folder(name));
    let skipped = skipped.unwrap_or_else(|| panic!("{label:?} names no folder of the mailbox"));
    first.click().await.unwrap();
    let kept = total - skipped.messages.len();
    app.text_with(
        "#folder-total",
        &format!("{} folders with {kept} messages", folders - 1),
    )
    .await;
    // Chosen again: the archive holds everything, to restore from after the migration.
    first.click().await.unwrap();
    app.text_with(
        "#folder-total",
        &format!("{folders} folders with {total} messages"),
    )
    .await;
    app.click("#next").await;
    app.step(4).await;
    app.click("#choose-output").await;
    app.text_with("#chosen-output", "before.zip").await;
    app.click("#start").await;
    app.text_with(
        "#verdict",
        &format!("Export finished: all {total} messages in {folders} folders were read."),
    )
    .await;
    assert!(archive.is_file());
    app.shot("export-result").await;
    app.click("#back").await;
    app.step(4).await;
}

async fn after_flow(
    app: &mut App,
    s: &Scene,
    receipt: &Path,
    archive: &Path,
    report: &Path,
    csv: &Path,
) {
    let plan = &s.plan;
    app.c.set_window_size(900, 600).await.ok();
    app.step(1).await;
    app.click("#goal-check").await;

    // 2. The new mailbox and the receipt taken before.
    app.step(2).await;
    app.click("#pick-folder").await;
    app.text_with("#chosen-mailbox", "after").await;
    app.click("#pick-receipt").await;
    app.text_with("#chosen-receipt", "before.receipt").await;
    app.shot("mailbox").await;
    app.click("#next").await;

    // 3. The new mailbox's folders.
    app.step(3).await;
    assert_eq!(
        app.rows("#folder-table tbody tr").await.len(),
        plan.after.folders.len()
    );
    app.shot("folders").await;
    app.click("#next").await;

    // 4. Where the report goes.
    app.step(4).await;
    app.click("#choose-output").await;
    app.text_with("#chosen-output", "check.html").await;
    app.shot("save").await;
    app.click("#start").await;

    // 6. The verdict, and every missing message by subject and folder.
    let missing = plan.count(Expect::Missing);
    let verdict = app.text_with("#verdict", "missing").await;
    assert!(
        verdict.contains(&missing.to_string()),
        "{verdict} (expected {missing} missing)"
    );
    assert!(report.is_file(), "the HTML report was not saved");
    app.step(6).await;
    app.text_with("#tab-missing", &format!("Missing ({missing})"))
        .await;
    let rows = app.rows("#messages tbody tr").await;
    assert_eq!(rows.len(), missing, "{rows:#?}");
    let mut a_subject = None;
    for fate in plan.expected(Expect::Missing) {
        let folder = fate.before_folder.as_deref().unwrap();
        if let Some(subject) = &fate.subject {
            assert!(
                rows.iter()
                    .any(|r| r.contains(subject.as_str()) && r.contains(folder)),
                "missing {subject:?} in {folder} not shown: {rows:#?}"
            );
            a_subject.get_or_insert(subject.clone());
        }
    }
    app.shot("missing").await;

    // Search narrows the list to what matches.
    let subject = a_subject.expect("a missing message with a subject");
    app.type_into("#search", &subject).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let rows = app.rows("#messages tbody tr").await;
        if rows.iter().all(|r| r.contains(&subject)) && !rows.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "search for {subject:?} left {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.shot("search").await;

    app.click("#tab-moved").await;
    app.text_with(
        "#tab-moved",
        &format!("Moved ({})", plan.count(Expect::Moved)),
    )
    .await;
    app.shot("moved").await;
    app.click("#tab-folders").await;
    app.el("#check-folders").await;
    app.shot("folders-table").await;

    // Actions: a CSV report through the engine, the ticket summary, the receipt code, restore.
    app.click("#save-csv").await;
    app.text_with("#notice", "check.csv").await;
    let csv_text = std::fs::read_to_string(csv).unwrap();
    assert!(
        csv_text.lines().count() > missing,
        "the CSV has a row per difference"
    );
    app.click("#copy-summary").await;
    app.text_with("#notice", "The summary is copied").await;
    let summary = app
        .el("#summary-text")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(summary.starts_with("Mailproof check: "), "{summary}");
    app.click("#show-code").await;
    let code = app.text("#receipt-code").await;
    let written = mailproof_engine::receipt::Receipt::load(receipt).unwrap();
    assert_eq!(Some(code.as_str()), written.code());
    app.shot("actions").await;

    // Restore: the check used a receipt, so the archive is asked for; then a confirmation,
    // progress, and the check again, down to zero missing.
    app.click("#restore").await;
    let asked = app
        .text_with("#confirm-title", "Put the missing messages back?")
        .await;
    assert!(!asked.is_empty());
    app.text_with("dialog[open]", &format!("{missing} missing messages"))
        .await;
    app.text_with("dialog[open]", &archive.display().to_string())
        .await;
    app.shot("restore-confirm").await;
    app.click("#confirm-yes").await;
    let said = app.text_with("#restored-said", "put back").await;
    assert_eq!(
        said,
        format!("{missing} messages were put back into your mailbox.")
    );
    app.step(6).await;
    let verdict = app.text_with("#verdict", "All ").await;
    assert!(verdict.contains("are in your new mailbox"), "{verdict}");
    app.text_with("#tab-missing", "Missing (0)").await;
    assert!(
        !app.el("#restore").await.is_enabled().await.unwrap(),
        "restore is still offered with nothing missing"
    );
    app.shot("restored").await;

    // The mailbox on disk agrees: a check of its own finds nothing missing.
    let opts = mailproof_engine::pipeline::Options::default();
    let (b, a) = mailproof_engine::check::snapshots(
        &receipt.display().to_string(),
        &s.root.join("after").display().to_string(),
        &opts,
        &|_| {},
        &|_| {},
    )
    .unwrap();
    let report = mailproof_engine::check::check(&b, &a, &[]).unwrap();
    assert!(report.complete, "{}", report.verdict);
}

/// An email account on a private Dovecot, with a certificate no authority signed: a helpdesk's
/// profile fills the form (certificate included), the user types the password, exports; the
/// server then loses messages, and the *restore* goal checks against the archive and puts them
/// back over IMAP.
#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver, Dovecot and the app built with tauri build --debug"]
async fn an_email_account_exported_then_restored() {
    if !dovecot::available() {
        return;
    }
    let mut d = Dovecot::prepare(Setup::default());
    let mut rng = Rng::new(23);
    let layout: [(&[&str], usize); 3] = [(&[], 6), (&["Sent"], 3), (&["Projekte", "2024"], 2)];
    let mut delivered = Vec::new();
    for (folder, count) in layout {
        for i in 0..count {
            let bytes = dovecot::message(&mut rng, delivered.len() + 1, 400 + 131 * i);
            delivered.push(d.deliver(folder, &bytes, "S"));
        }
    }
    d.start();
    let total = delivered.len();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let profile = json!({
        "format": "mailproof-connection-profile/1",
        "label": "Example Corp IT",
        "provider": "domino",
        "host": "127.0.0.1",
        "port": d.imaps_port,
        "security": "tls",
        "username": dovecot::USER,
        "certificate": format!("SHA256:{}", d.fingerprint),
    });
    std::fs::write(root.join("profile.json"), profile.to_string()).unwrap();
    let mut unpinned = profile.clone();
    unpinned.as_object_mut().unwrap().remove("certificate");
    std::fs::write(root.join("unpinned.json"), unpinned.to_string()).unwrap();
    let archive = root.join("account.zip");
    let report = root.join("account-check.html");

    let shots = shots_dir();
    let driver = Driver::start(4454, &shots.join("tauri-driver-account.log"), root, &home);
    let session = driver
        .session(&[
            dialog(&root.join("unpinned.json")),
            dialog(&root.join("profile.json")),
            dialog(&root.join("profile.json")),
            dialog(&archive),
            dialog(&archive),
            dialog(&report),
        ])
        .await;
    let mut app = App {
        c: session,
        shots,
        prefix: "account",
        n: 0,
    };
    app.c.set_window_size(900, 600).await.ok();

    // Before: export the account.
    app.step(1).await;
    app.click("#goal-export").await;
    app.step(2).await;
    app.click("#source-account").await;
    // Without the fingerprint, the server's own certificate is refused, and the screen says
    // what to do about it here.
    app.click("#load-profile").await;
    app.text_with("#profile-from", "Example Corp IT").await;
    app.type_into("#account-password", dovecot::PASSWORD).await;
    app.click("#test-connection").await;
    let error = app.text_with("#error", "certificate was refused").await;
    assert!(error.contains("Certificate field"), "{error}");
    assert!(!error.contains("--cert"), "{error}");
    app.shot("certificate-refused").await;
    // The helpdesk's profile with the fingerprint; a wrong password first.
    app.click("#load-profile").await;
    let pin = format!("SHA256:{}", d.fingerprint);
    app.value_becomes("#account-certificate", &pin).await;
    assert_eq!(
        app.value("#account-password").await,
        "",
        "a new profile kept the password"
    );
    app.type_into("#account-password", "not-the-password").await;
    app.click("#test-connection").await;
    let error = app.text_with("#error", "refused the log-in").await;
    assert!(!error.contains("not-the-password"), "{error}");
    // The app's words: no command-line options.
    assert!(error.starts_with("ann@127.0.0.1"), "{error}");
    assert!(!error.contains("--password-file"), "{error}");
    // The advice is about the password, not the server's name or port.
    assert!(
        error.contains("did not accept this user name and password"),
        "{error}"
    );
    app.shot("wrong-password").await;
    app.click("#load-profile").await;
    app.value_becomes("#account-password", "").await;
    assert_eq!(app.value("#account-host").await, "127.0.0.1");
    assert_eq!(app.value("#account-certificate").await, pin);
    app.type_into("#account-password", dovecot::PASSWORD).await;
    app.click("#test-connection").await;
    app.text_with("#connection-ok", "It works: 3 folders found.")
        .await;
    app.shot("connected").await;
    app.click("#next").await;
    app.step(3).await;
    assert_eq!(app.rows("#folder-table tbody tr").await.len(), 3);
    app.text_with("#folder-total", &format!("3 folders with {total} messages"))
        .await;
    app.click("#next").await;
    app.step(4).await;
    app.click("#choose-output").await;
    app.text_with("#chosen-output", "account.zip").await;
    app.click("#start").await;
    app.text_with(
        "#verdict",
        &format!("Export finished: all {total} messages in 3 folders were read."),
    )
    .await;
    app.shot("exported").await;
    let exported = mailproof_engine::archive::ArchiveSource::open(&archive).unwrap();
    assert_eq!(exported.receipt().messages.len(), total);

    // The migration loses three messages, in two folders.
    for lost in [&delivered[0], &delivered[4], &delivered[7]] {
        std::fs::remove_file(lost).unwrap();
    }

    // After: the restore goal checks against the archive, then puts the three back.
    app.click("#start-over").await;
    app.step(1).await;
    app.click("#goal-restore").await;
    app.step(2).await;
    assert_eq!(
        app.value("#account-password").await,
        "",
        "the password outlived a fresh start"
    );
    app.type_into("#account-password", dovecot::PASSWORD).await;
    app.click("#pick-receipt").await;
    app.text_with("#chosen-receipt", "account.zip").await;
    app.shot("restore-mailbox").await;
    app.click("#next").await;
    app.step(3).await;
    app.click("#next").await;
    app.step(4).await;
    app.click("#choose-output").await;
    app.text_with("#chosen-output", "account-check.html").await;
    app.click("#start").await;
    app.text_with("#verdict", "3 messages are missing").await;
    app.text_with("#tab-missing", "Missing (3)").await;
    app.shot("missing").await;
    // The check was made against the archive: no dialog, straight to the confirmation.
    app.click("#restore").await;
    app.text_with("dialog[open]", "3 missing messages").await;
    app.click("#confirm-yes").await;
    app.text_with(
        "#restored-said",
        "3 messages were put back into your mailbox.",
    )
    .await;
    app.text_with(
        "#verdict",
        &format!("All {total} messages are in your new mailbox"),
    )
    .await;
    app.shot("restored").await;
    app.c.close().await.unwrap();

    // On the server: every message is there again, each once.
    let stored: usize = mailproof_tests::tree::files(&d.maildir())
        .iter()
        .filter(|p| {
            p.parent()
                .and_then(|p| p.file_name())
                .is_some_and(|n| n == "cur" || n == "new")
        })
        .count();
    assert_eq!(stored, total, "{}", d.log());
}
