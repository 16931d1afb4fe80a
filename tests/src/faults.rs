//! A fault-injecting TCP proxy for IMAP tests: it sits between `mailproof` and the test
//! Dovecot, reads the server's responses whole (lines and their literals) and the client's
//! commands line by line, and does what its script says when it sees a message body go by:
//! cut the connection halfway through the body, stall, say `BYE`, refuse one UID with the
//! server's completion rewritten, answer body fetches with a throttling `NO`, run a hook
//! (e.g. delete a message file) before the first body fetch, or go away for good. It must
//! see the protocol, so it stands in front of the plain-text port (`?tls=none`, loopback).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does. Faults tied to "the first body" happen once in the proxy's life,
/// on whichever connection carries a message body first.
pub enum Fault {
    /// Forward half of the first message body, then reset the connection.
    CutMidLiteral,
    /// Forward half of the first message body, then send nothing more (the connection stays
    /// open until the client gives up on it).
    Stall,
    /// After the first whole message of a body fetch, send `* BYE` and close.
    ByeMidFetch,
    /// Every time the server sends this UID's body, drop that response and turn the command's
    /// tagged `OK` into `status words` (`status` is `NO` or `BAD`).
    Refuse {
        uid: u32,
        status: &'static str,
        words: String,
    },
    /// Answer the first `times` body fetch commands with `NO words` without passing them on.
    Throttle { times: usize, words: String },
    /// Run this once, just before passing on the first body fetch command.
    BeforeFirstFetch(Box<dyn FnOnce() + Send>),
    /// Like [`Fault::CutMidLiteral`], and from then on every new connection is closed at once:
    /// the server is gone.
    GoneMidLiteral,
    /// Reset the connection when the client sends an APPEND, once `skip` APPENDs have passed
    /// (for this fault, `skip` counts APPEND commands, not message bodies).
    CutAtAppend,
}

/// The proxy; it runs until the test process ends.
pub struct FaultProxy {
    pub port: u16,
    /// Connections accepted.
    pub connections: Arc<AtomicUsize>,
    /// Times a fault was applied (a cut, a stall, a BYE, a refusal, a throttle, the hook).
    pub fired: Arc<AtomicUsize>,
    script: Arc<Script>,
}

struct Script {
    fault: Mutex<Option<Fault>>,
    /// The one-time fault has happened.
    spent: AtomicBool,
    /// After [`Fault::GoneMidLiteral`]: refuse every new connection.
    gone: AtomicBool,
    /// Message bodies still to pass untouched before a one-time fault.
    skip: AtomicUsize,
    fired: Arc<AtomicUsize>,
}

impl FaultProxy {
    /// Starts the proxy in front of `upstream`; one-time faults wait until `skip` message
    /// bodies have gone by.
    pub fn start(upstream: u16, fault: Fault, skip: usize) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let fired = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(Script {
            fault: Mutex::new(Some(fault)),
            spent: AtomicBool::new(false),
            gone: AtomicBool::new(false),
            skip: AtomicUsize::new(skip),
            fired: fired.clone(),
        });
        let handle = script.clone();
        let count = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                count.fetch_add(1, Ordering::SeqCst);
                if script.gone.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let conn = Arc::new(Conn {
                    client: Mutex::new(client.try_clone().unwrap()),
                    refuse_next: AtomicBool::new(false),
                    closed: AtomicBool::new(false),
                });
                let (s1, c1, sc1) = (server.try_clone().unwrap(), conn.clone(), script.clone());
                std::thread::spawn(move || commands(client, s1, &c1, &sc1));
                let sc2 = script.clone();
                std::thread::spawn(move || responses(server, &conn, &sc2));
            }
        });
        FaultProxy {
            port,
            connections,
            fired,
            script: handle,
        }
    }

    /// From now on, pass everything on untouched: the server is back.
    pub fn heal(&self) {
        *self.script.fault.lock().unwrap() = None;
        self.script.gone.store(false, Ordering::SeqCst);
    }
}

/// One proxied connection: the client side is written by both directions (the proxy may
/// answer a command itself).
struct Conn {
    client: Mutex<TcpStream>,
    /// The next tagged completion is to be rewritten (a refused UID's response was dropped).
    refuse_next: AtomicBool,
    closed: AtomicBool,
}

impl Conn {
    fn send(&self, bytes: &[u8]) -> bool {
        self.client.lock().unwrap().write_all(bytes).is_ok()
    }

    /// Closes the client's side: with a reset (RST, as a dropped link or a killed server
    /// gives) once both directions have let go of the socket, or with an orderly FIN.
    fn close(&self, reset: bool) {
        let c = self.client.lock().unwrap();
        self.closed.store(true, Ordering::SeqCst);
        if reset {
            let _ = reset_on_close(&c);
            // Wakes the other direction's read without sending anything; the last close
            // then resets.
            let _ = c.shutdown(Shutdown::Read);
        } else {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// Sets SO_LINGER to zero, so that closing the socket sends RST.
fn reset_on_close(socket: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a properly sized linger struct.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Client → server, line by line: throttles or runs the hook on body fetch commands.
fn commands(mut client: TcpStream, mut server: TcpStream, conn: &Conn, script: &Script) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    'read: loop {
        let n = match client.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = buf.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&line);
            if is_append(&text) {
                let mut fault = script.fault.lock().unwrap();
                if matches!(fault.as_ref(), Some(Fault::CutAtAppend)) {
                    if script.skip.load(Ordering::SeqCst) > 0 {
                        script.skip.fetch_sub(1, Ordering::SeqCst);
                    } else {
                        fault.take();
                        script.spent.store(true, Ordering::SeqCst);
                        script.fired.fetch_add(1, Ordering::SeqCst);
                        drop(fault);
                        conn.close(true);
                        break 'read;
                    }
                }
            }
            if text.contains("UID FETCH") && text.contains("BODY.PEEK[]") {
                let tag = text.split(' ').next().unwrap_or("*").to_string();
                let mut fault = script.fault.lock().unwrap();
                match fault.as_mut() {
                    Some(Fault::Throttle { times, words }) if *times > 0 => {
                        *times -= 1;
                        script.fired.fetch_add(1, Ordering::SeqCst);
                        let answer = format!("{tag} NO {words}\r\n");
                        drop(fault);
                        if !conn.send(answer.as_bytes()) {
                            break 'read;
                        }
                        continue;
                    }
                    Some(Fault::BeforeFirstFetch(_)) => {
                        if let Some(Fault::BeforeFirstFetch(hook)) = fault.take() {
                            script.fired.fetch_add(1, Ordering::SeqCst);
                            hook();
                        }
                    }
                    _ => {}
                }
            }
            if server.write_all(&line).is_err() {
                break 'read;
            }
        }
        // A partial line (a literal's bytes, e.g. in APPEND) is passed on as it comes.
        if !buf.is_empty() && buf.len() > 8192 {
            if server.write_all(&buf).is_err() {
                break;
            }
            buf.clear();
        }
    }
    if !conn.closed.swap(true, Ordering::SeqCst) {
        let _ = client.shutdown(Shutdown::Both);
    }
    let _ = server.shutdown(Shutdown::Both);
}

/// An APPEND command line: a tag, then APPEND.
fn is_append(line: &str) -> bool {
    line.split(' ')
        .nth(1)
        .is_some_and(|word| word.eq_ignore_ascii_case("APPEND"))
}

/// Length of the first complete response in `buf` (its lines and their literals).
fn response_len(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let end = pos + buf[pos..].windows(2).position(|w| w == b"\r\n")? + 2;
        let line = &buf[pos..end - 2];
        let literal = line
            .strip_suffix(b"}")
            .and_then(|l| l.iter().rposition(|&b| b == b'{').map(|at| &l[at + 1..]))
            .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok());
        match literal {
            Some(n) => {
                pos = end + n;
                if pos > buf.len() {
                    return None;
                }
            }
            None => return Some(end),
        }
    }
}

/// The UID of a `* n FETCH (… UID u … BODY[] {…}` response that carries a body.
fn body_uid(first_line: &str) -> Option<u32> {
    if !first_line.starts_with("* ") || !first_line.contains(" FETCH (") {
        return None;
    }
    if !first_line.contains("BODY[]") {
        return None;
    }
    let at = first_line.find("UID ")? + 4;
    first_line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

/// Server → client, response by response, applying the script.
fn responses(mut server: TcpStream, conn: &Conn, script: &Script) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match server.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(len) = response_len(&buf) {
            let response: Vec<u8> = buf.drain(..len).collect();
            let line_end = response.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
            let first = String::from_utf8_lossy(&response[..line_end]).into_owned();
            match act(&first, script, conn) {
                Act::Forward => {
                    if !conn.send(&response) {
                        return;
                    }
                }
                Act::Drop => {}
                Act::Replace(text) => {
                    if !conn.send(text.as_bytes()) {
                        return;
                    }
                }
                Act::Half { then } => {
                    // The response line and half of its body, then the fault.
                    let half = line_end + 2 + (response.len() - line_end - 2) / 2;
                    conn.send(&response[..half]);
                    match then {
                        Then::Reset => {
                            conn.close(true);
                            let _ = server.shutdown(Shutdown::Both);
                            return;
                        }
                        Then::Stall => {
                            while !conn.closed.load(Ordering::SeqCst) {
                                std::thread::sleep(Duration::from_millis(50));
                            }
                            let _ = server.shutdown(Shutdown::Both);
                            return;
                        }
                    }
                }
                Act::ByeAfter => {
                    conn.send(&response);
                    conn.send(b"* BYE Server shutting down for maintenance\r\n");
                    conn.close(false);
                    let _ = server.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
    }
    if !conn.closed.swap(true, Ordering::SeqCst) {
        let _ = conn.client.lock().unwrap().shutdown(Shutdown::Both);
    }
}

enum Act {
    Forward,
    Drop,
    Replace(String),
    Half { then: Then },
    ByeAfter,
}

enum Then {
    Reset,
    Stall,
}

fn act(first: &str, script: &Script, conn: &Conn) -> Act {
    let fault = script.fault.lock().unwrap();
    let Some(fault) = fault.as_ref() else {
        return Act::Forward;
    };
    let uid = body_uid(first);
    if let Fault::Refuse {
        uid: refused,
        status,
        words,
    } = fault
    {
        if uid == Some(*refused) {
            conn.refuse_next.store(true, Ordering::SeqCst);
            return Act::Drop;
        }
        let mut parts = first.splitn(3, ' ');
        let (tag, state) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if tag != "*"
            && tag != "+"
            && state == "OK"
            && conn.refuse_next.swap(false, Ordering::SeqCst)
        {
            script.fired.fetch_add(1, Ordering::SeqCst);
            return Act::Replace(format!("{tag} {status} {words}\r\n"));
        }
        return Act::Forward;
    }
    let once = match fault {
        Fault::CutMidLiteral | Fault::GoneMidLiteral => Act::Half { then: Then::Reset },
        Fault::Stall => Act::Half { then: Then::Stall },
        Fault::ByeMidFetch => Act::ByeAfter,
        // Acted on in the client's direction.
        _ => return Act::Forward,
    };
    if uid.is_none() || script.spent.load(Ordering::SeqCst) {
        return Act::Forward;
    }
    if script
        .skip
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return Act::Forward;
    }
    if script.spent.swap(true, Ordering::SeqCst) {
        return Act::Forward;
    }
    if matches!(fault, Fault::GoneMidLiteral) {
        script.gone.store(true, Ordering::SeqCst);
    }
    script.fired.fetch_add(1, Ordering::SeqCst);
    once
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_cut_whole() {
        let buf = b"* 1 FETCH (UID 7 BODY[] {5}\r\nab\r\nc)\r\nA1 OK done\r\n";
        let first = response_len(buf).unwrap();
        assert_eq!(
            &buf[..first],
            b"* 1 FETCH (UID 7 BODY[] {5}\r\nab\r\nc)\r\n"
        );
        assert_eq!(response_len(&buf[first..]), Some(12));
        assert_eq!(response_len(b"* 1 FETCH (UID 7 BODY[] {5}\r\nab"), None);
        assert_eq!(
            body_uid("* 1 FETCH (UID 7 RFC822.SIZE 5 BODY[] {5}"),
            Some(7)
        );
        assert_eq!(body_uid("* 1 FETCH (UID 7 RFC822.SIZE 5)"), None);
    }
}
