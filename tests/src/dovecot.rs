//! A private Dovecot for IMAP tests: an ordinary process with its own base_dir, config,
//! passwd-file user, Maildir and a self-signed certificate made at start, listening on free
//! loopback ports; stopped when dropped. Mail is put in place as Maildir files before the
//! server starts, exactly as Dovecot itself stores it.

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The test account's user name and password.
pub const USER: &str = "ann";
pub const PASSWORD: &str = "Tr0ub4dor&3-correct-horse";
/// The one OAuth access token the server accepts (with [`Setup::oauth`]).
pub const TOKEN: &str = "ya29.test-access-token";

/// A message from the synthetic generator with CRLF line ends, as IMAP serves mail: Dovecot
/// then gives exactly these bytes, so digests from files and from IMAP can be compared.
pub fn message(rng: &mut crate::rng::Rng, n: usize, text_len: usize) -> Vec<u8> {
    let mut spec = crate::synth::Spec::basic(
        rng,
        1_600_000_000 + n as i64 * 3600,
        &format!("message {n}"),
    );
    spec.text_len = text_len;
    crlf(&crate::synth::build(rng, &spec).bytes)
}

/// LF line ends made CRLF (those already CRLF left alone).
pub fn crlf(lf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lf.len() + lf.len() / 40);
    for &b in lf {
        if b == b'\n' && out.last() != Some(&b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// The dovecot binary, if installed.
fn binary() -> Option<PathBuf> {
    ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| {
            let out = Command::new("sh")
                .args(["-c", "command -v dovecot"])
                .output()
                .ok()?;
            let path = String::from_utf8(out.stdout).ok()?;
            let path = PathBuf::from(path.trim());
            path.is_file().then_some(path)
        })
}

/// True when Dovecot can be run. Without it a test is skipped with a loud message, except
/// under CI (`CI` set), where a missing Dovecot fails the test.
pub fn available() -> bool {
    if binary().is_some() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "dovecot is not installed but CI is set: run scripts/setup.sh to install dovecot-imapd"
        );
    }
    eprintln!(
        "\n*** SKIPPED: dovecot is not installed, so the IMAP tests cannot run. ***\n*** Install it with scripts/setup.sh (Debian: dovecot-imapd).         ***\n"
    );
    false
}

/// How the server is set up.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// TLS on: STARTTLS offered on the imap port and an imaps port. Off: plain text only.
    pub tls: bool,
    /// XOAUTH2 and OAUTHBEARER accepted for [`TOKEN`], checked by Dovecot's oauth2 passdb
    /// against a token introspection endpoint run by the test.
    pub oauth: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            tls: true,
            oauth: false,
        }
    }
}

/// A Dovecot instance, prepared (mail can be written) and then started.
pub struct Dovecot {
    dir: tempfile::TempDir,
    pub imap_port: u16,
    pub imaps_port: u16,
    /// The certificate's SHA-256 fingerprint as `AB:CD:…` (openssl's spelling).
    pub fingerprint: String,
    setup: Setup,
    child: Option<Child>,
    serial: usize,
    /// Whether the server has answered once: its ports are then known to the test.
    answered: bool,
}

impl Dovecot {
    /// Writes the configuration, the user and the certificate; the server is not started.
    pub fn prepare(setup: Setup) -> Dovecot {
        let dir = tempfile::Builder::new()
            .prefix("mailproof-dovecot-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path();
        for sub in ["run", "state", "home"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        let mut d = Dovecot {
            imap_port: free_port(),
            imaps_port: free_port(),
            fingerprint: String::new(),
            setup,
            child: None,
            serial: 0,
            answered: false,
            dir,
        };
        fs::create_dir_all(d.maildir()).unwrap();
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(d.maildir().join(sub)).unwrap();
        }
        d.make_certificate();
        d
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The account's Maildir (Maildir++: sub-folders are `.A.B`).
    pub fn maildir(&self) -> PathBuf {
        self.root().join("home").join(USER).join("Maildir")
    }

    /// Puts a message into a folder given by its on-disk (modified UTF-7) segments, `[]` for
    /// INBOX, with Maildir flag letters (e.g. "FS"). Returns the file's path.
    pub fn deliver(&mut self, folder: &[&str], bytes: &[u8], flags: &str) -> PathBuf {
        let dir = self.folder_dir(folder);
        self.serial += 1;
        let name = format!(
            "{}.M{}P1.mailproof:2,{flags}",
            1_700_000_000 + self.serial,
            self.serial
        );
        let path = dir.join("cur").join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    /// Creates an empty folder (on-disk segments).
    pub fn folder_dir(&self, folder: &[&str]) -> PathBuf {
        let dir = if folder.is_empty() {
            self.maildir()
        } else {
            self.maildir().join(format!(".{}", folder.join(".")))
        };
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        if !folder.is_empty() {
            fs::write(dir.join("maildirfolder"), b"").unwrap();
        }
        dir
    }

    /// Writes `dovecot-keywords` for a folder: keyword letters a, b, … in order.
    pub fn keywords(&self, folder: &[&str], names: &[&str]) {
        let text: String = names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{i} {n}\n"))
            .collect();
        fs::write(self.folder_dir(folder).join("dovecot-keywords"), text).unwrap();
    }

    /// An `imaps://` spec with the certificate pinned.
    pub fn imaps(&self) -> String {
        format!(
            "imaps://{USER}@127.0.0.1:{}?cert=SHA256:{}",
            self.imaps_port, self.fingerprint
        )
    }

    /// An `imap://` spec (STARTTLS) with the certificate pinned.
    pub fn imap_starttls(&self) -> String {
        format!(
            "imap://{USER}@127.0.0.1:{}?cert=SHA256:{}",
            self.imap_port, self.fingerprint
        )
    }

    fn make_certificate(&mut self) {
        let root = self.root().to_path_buf();
        let status = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(root.join("key.pem"))
            .arg("-out")
            .arg(root.join("cert.pem"))
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs (scripts/setup.sh installs it)");
        assert!(status.success(), "openssl could not make a certificate");
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(root.join("cert.pem"))
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        self.fingerprint = text
            .trim()
            .split_once('=')
            .expect("openssl prints NAME=FINGERPRINT")
            .1
            .to_uppercase();
    }

    /// Starts the server with the mail written so far and waits until it answers.
    ///
    /// Its ports were free when picked, but another process may take one before Dovecot binds
    /// it (any outgoing connection gets such a port as its own); a first start then moves to
    /// other free ports. A restart keeps its ports, which the test may have handed out.
    pub fn start(&mut self) {
        for _ in 0..5 {
            if self.launch() {
                self.answered = true;
                return;
            }
            assert!(
                !self.answered,
                "dovecot did not restart; its log:\n{}",
                self.log()
            );
            let _ = fs::remove_file(self.root().join("dovecot.log"));
            (self.imap_port, self.imaps_port) = (free_port(), free_port());
        }
        panic!("dovecot found no free port; its log:\n{}", self.log());
    }

    /// Starts the server and waits until it answers: false when it could not listen on its
    /// ports because they were taken.
    fn launch(&mut self) -> bool {
        let root = self.root().to_path_buf();
        let root_user = id(&["-u"]) == "0";
        // Dovecot refuses to run its login and mail processes as root; as root they run as
        // the package's own users, which then must own the mail.
        let (login_user, internal_user, internal_group, uid, gid) = if root_user {
            (
                "dovenull".to_string(),
                "dovecot".to_string(),
                id(&["-gn", "dovecot"]),
                id(&["-u", "dovecot"]),
                id(&["-g", "dovecot"]),
            )
        } else {
            let me = id(&["-un"]);
            (me.clone(), me, id(&["-gn"]), id(&["-u"]), id(&["-g"]))
        };
        if root_user {
            chown_tree(
                &root.join("home"),
                uid.parse().unwrap(),
                gid.parse().unwrap(),
            );
        }
        fs::write(
            root.join("users"),
            format!(
                "{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{}::\n",
                root.join("home").join(USER).display()
            ),
        )
        .unwrap();
        let r = root.display();
        let tls = if self.setup.tls {
            format!(
                "ssl = yes\nssl_cert = <{r}/cert.pem\nssl_key = <{r}/key.pem\nssl_min_protocol = TLSv1.2\n"
            )
        } else {
            "ssl = no\n".to_string()
        };
        let imaps = if self.setup.tls {
            format!(
                "  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {}\n    ssl = yes\n  }}\n",
                self.imaps_port
            )
        } else {
            String::new()
        };
        let (mechanisms, oauth_passdb) = if self.setup.oauth {
            let port = introspection_endpoint();
            fs::write(
                root.join("oauth2.conf.ext"),
                format!(
                    "introspection_url = http://127.0.0.1:{port}/introspect\nintrospection_mode = post\nusername_attribute = username\nactive_attribute = active\nactive_value = true\n"
                ),
            )
            .unwrap();
            (
                "plain login xoauth2 oauthbearer",
                format!(
                    "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {r}/oauth2.conf.ext\n}}\n"
                ),
            )
        } else {
            ("plain login", String::new())
        };
        let conf = format!(
            r#"base_dir = {r}/run
state_dir = {r}/state
instance_name = mailproof-test-{port}
log_path = {r}/dovecot.log
protocols = imap
listen = 127.0.0.1
{tls}disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:~/Maildir
{oauth_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {r}/users
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \Sent
  }}
  mailbox Trash {{
    special_use = \Trash
  }}
  mailbox Entwürfe {{
    special_use = \Drafts
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
{imaps}}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"#,
            port = self.imap_port,
        );
        fs::write(root.join("dovecot.conf"), conf).unwrap();
        let child = Command::new(binary().expect("dovecot installed"))
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.imap_port)) {
                let mut greeting = [0u8; 64];
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                if s.read(&mut greeting).is_ok_and(|n| n > 0) {
                    return true;
                }
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().is_ok_and(|status| status.is_some()));
            if exited && self.log().contains("Address already in use") {
                self.child = None;
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "dovecot did not start; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Dovecot's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.root().join("dovecot.log")).unwrap_or_default()
    }

    /// Every file under the Maildir with its name and bytes, to show nothing changed.
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let root = self.maildir();
        collect(&root, &mut out);
        out.retain(|(p, _)| {
            let name = p.file_name().unwrap().to_string_lossy();
            // Dovecot's own caches and indexes may be rewritten by any session; `tmp/` inside
            // the Maildir is its scratch space (the path above it may hold a `tmp` too).
            let inside = p.strip_prefix(&root).expect("under the Maildir");
            !name.starts_with("dovecot") && !inside.components().any(|c| c.as_os_str() == "tmp")
        });
        out.sort();
        out
    }
}

fn collect(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push((p.clone(), fs::read(&p).unwrap_or_default()));
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn id(args: &[&str]) -> String {
    let out = Command::new("id").args(args).output().expect("id runs");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for entry in fs::read_dir(path).unwrap().flatten() {
            chown_tree(&entry.path(), uid, gid);
        }
    }
}

/// A token introspection endpoint (RFC 7662) that calls [`TOKEN`] active for [`USER`] and any
/// other token inactive. Returns its port.
fn introspection_endpoint() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            std::thread::spawn(move || answer_introspection(conn));
        }
    });
    port
}

fn answer_introspection(mut conn: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // One request: headers, then Content-Length bytes of form data.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
        buf.drain(..head_end + length);
        let active = body.split('&').any(|kv| kv == format!("token={TOKEN}"));
        let json = if active {
            format!("{{\"active\":true,\"username\":\"{USER}\"}}")
        } else {
            "{\"active\":false}".to_string()
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            json.len()
        );
        if conn.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP proxy in front of a server: one that cuts a connection as a dropped network link
/// would, or one that paces each connection as a distant or busy server does.
pub struct Proxy {
    pub port: u16,
    pub connections: Arc<AtomicUsize>,
    pub cuts: Arc<AtomicUsize>,
}

impl Proxy {
    /// Cuts the second connection (the first one that fetches) once it has carried
    /// `cut_after` bytes from the server.
    pub fn cutting(upstream: u16, cut_after: usize) -> Proxy {
        Proxy::start(upstream, Some(cut_after), None)
    }

    /// Lets every connection carry at most `rate` bytes a second from the server.
    pub fn paced(upstream: u16, rate: u64) -> Proxy {
        Proxy::start(upstream, None, Some(rate))
    }

    fn start(upstream: u16, cut_after: Option<usize>, rate: Option<u64>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (conns, cut_count) = (connections.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let n = conns.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let limit = cut_after.filter(|_| n == 1);
                let (up, down) = (cut_count.clone(), cut_count.clone());
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pipe(c2, s2, None, None, &up));
                std::thread::spawn(move || pipe(server, client, limit, rate, &down));
            }
        });
        Proxy {
            port,
            connections,
            cuts,
        }
    }
}

/// Copies `from` to `to`; with a limit, shuts both down after that many bytes; with a rate,
/// never faster than that many bytes a second.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    limit: Option<usize>,
    rate: Option<u64>,
    cuts: &AtomicUsize,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut moved = 0usize;
    let began = std::time::Instant::now();
    loop {
        if let Some(rate) = rate {
            let due = std::time::Duration::from_secs_f64(moved as f64 / rate as f64);
            std::thread::sleep(due.saturating_sub(began.elapsed()));
        }
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(limit) = limit
            && moved + n >= limit
        {
            let _ = to.write_all(&buf[..limit - moved]);
            cuts.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        moved += n;
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
