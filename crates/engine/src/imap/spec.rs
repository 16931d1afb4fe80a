//! IMAP mailbox specs: `imaps://user@host[:port]`, `imap://user@host[:port]` (STARTTLS), with
//! `?tls=none` (loopback only), `?cert=SHA256:…` (a pinned certificate) and `?auth=…`.

use std::fmt;
use std::net::IpAddr;

use crate::{Error, Result};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// TLS from the first byte (`imaps://`, port 993).
    Implicit,
    /// Plain connection upgraded with STARTTLS, refused if the server does not offer it.
    StartTls,
    /// No encryption at all: only for a server on this machine.
    None,
}

/// How to log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// AUTHENTICATE PLAIN when offered, LOGIN otherwise.
    Password,
    /// LOGIN only (servers whose PLAIN is broken).
    Login,
    /// XOAUTH2 with a bearer token (Gmail, Microsoft 365).
    XOAuth2,
    /// OAUTHBEARER (RFC 7628) with a bearer token.
    OAuthBearer,
}

impl Auth {
    /// True when the secret is a bearer token rather than a password.
    pub fn uses_token(self) -> bool {
        matches!(self, Auth::XOAuth2 | Auth::OAuthBearer)
    }
}

/// A parsed IMAP spec. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapSpec {
    pub user: String,
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub auth: Auth,
    /// A pinned certificate: the SHA-256 of the server's certificate, as 32 bytes.
    pub pin: Option<[u8; 32]>,
}

/// True when a spec names an IMAP server rather than a path.
pub fn is_imap_spec(spec: &str) -> bool {
    let lower = spec.get(..8).unwrap_or(spec).to_ascii_lowercase();
    lower.starts_with("imap://") || lower.starts_with("imaps://")
}

impl ImapSpec {
    pub fn parse(spec: &str) -> Result<Self> {
        let shown = redact(spec);
        let bad = |what: &str| Error::Usage(format!("bad IMAP spec `{shown}`: {what}"));
        let (scheme, rest) = spec
            .split_once("://")
            .ok_or_else(|| bad("expected imaps://user@host or imap://user@host"))?;
        let mut tls = match scheme.to_ascii_lowercase().as_str() {
            "imaps" => Tls::Implicit,
            "imap" => Tls::StartTls,
            _ => return Err(bad("the scheme must be imaps:// or imap://")),
        };
        let (authority, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let authority = authority.trim_end_matches('/');
        if authority.contains('/') {
            return Err(bad(
                "a folder cannot be part of the spec; use --folder to choose folders",
            ));
        }
        let (user, hostport) = authority
            .rsplit_once('@')
            .ok_or_else(|| bad("the user name is missing (imaps://user@host)"))?;
        if user.contains(':') {
            return Err(bad(
                "a password cannot be part of the spec; use MAILPROOF_PASSWORD, --password-file, the keychain or the prompt",
            ));
        }
        let user = percent_decode(user).ok_or_else(|| bad("bad %-escape in the user name"))?;
        if user.is_empty() {
            return Err(bad("the user name is empty"));
        }
        let (host, port) = split_host_port(hostport).ok_or_else(|| bad("bad host or port"))?;
        let mut auth = Auth::Password;
        let mut pin = None;
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (key, value.to_ascii_lowercase().as_str()) {
                ("tls", "none") if tls == Tls::StartTls => tls = Tls::None,
                ("tls", "none") => return Err(bad("?tls=none goes with imap://, not imaps://")),
                ("tls", "starttls") if tls == Tls::StartTls => {}
                ("tls", _) => return Err(bad("?tls= takes only `none`")),
                ("cert", _) => pin = Some(parse_pin(value).map_err(|e| bad(&e))?),
                ("auth", "plain" | "password") => auth = Auth::Password,
                ("auth", "login") => auth = Auth::Login,
                ("auth", "xoauth2") => auth = Auth::XOAuth2,
                ("auth", "oauthbearer") => auth = Auth::OAuthBearer,
                ("auth", _) => {
                    return Err(bad("?auth= takes plain, login, xoauth2 or oauthbearer"));
                }
                _ => return Err(bad(&format!("unknown option `{key}`"))),
            }
        }
        if tls == Tls::None && !is_loopback(&host) {
            return Err(bad(&format!(
                "?tls=none sends the password in clear text and is allowed only for this machine (localhost, 127.0.0.1, ::1), not {host}"
            )));
        }
        let port = port.unwrap_or(if tls == Tls::Implicit { 993 } else { 143 });
        Ok(Self {
            user,
            host,
            port,
            tls,
            auth,
            pin,
        })
    }

    /// `user@host:port`: what receipts and messages show (never a secret).
    pub fn location(&self) -> String {
        if self.host.contains(':') {
            format!("{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            format!("{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

impl fmt::Display for ImapSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls == Tls::Implicit {
            "imaps"
        } else {
            "imap"
        };
        write!(f, "{scheme}://{}", self.location())
    }
}

/// The spec as it may be shown: a password someone put before the `@` is hidden.
fn redact(spec: &str) -> String {
    let Some((scheme, rest)) = spec.split_once("://") else {
        return spec.to_string();
    };
    match rest.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{name}:***@{host}")
        }
        _ => spec.to_string(),
    }
}

fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p.parse().ok()?)),
        None => (s, None),
    };
    (!host.is_empty() && !host.contains(':')).then(|| (host.to_ascii_lowercase(), port))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses a certificate pin: `SHA256:` (optional) and 64 hex digits, colons allowed.
pub fn parse_pin(text: &str) -> std::result::Result<[u8; 32], String> {
    let trimmed = text.trim();
    let hex: String = trimmed
        .strip_prefix("SHA256:")
        .or_else(|| trimmed.strip_prefix("sha256:"))
        .unwrap_or(trimmed)
        .chars()
        .filter(|&c| c != ':')
        .collect();
    let wrong = || format!("`{text}` is not a SHA-256 fingerprint (SHA256: and 64 hex digits)");
    if hex.len() != 64 {
        return Err(wrong());
    }
    let mut pin = [0u8; 32];
    for (i, byte) in pin.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| wrong())?;
    }
    Ok(pin)
}

/// A fingerprint as shown to people and accepted back by [`parse_pin`]: `SHA256:AB:CD:…`.
pub fn format_fingerprint(digest: &[u8]) -> String {
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256:{}", hex.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let s = ImapSpec::parse("imaps://ann@mail.example.org").unwrap();
        assert_eq!(
            (s.tls, s.port, s.user.as_str()),
            (Tls::Implicit, 993, "ann")
        );
        assert_eq!(s.location(), "ann@mail.example.org:993");
        let s = ImapSpec::parse("imap://ann%40x.org@Mail.example.org:1143").unwrap();
        assert_eq!((s.tls, s.port), (Tls::StartTls, 1143));
        assert_eq!(s.user, "ann@x.org");
        assert_eq!(s.host, "mail.example.org");
        let s = ImapSpec::parse("imap://u@127.0.0.1:1143?tls=none&auth=login").unwrap();
        assert_eq!((s.tls, s.auth), (Tls::None, Auth::Login));
        let s = ImapSpec::parse("imap://u@[::1]:1?tls=none").unwrap();
        assert_eq!(s.host, "::1");
        assert!(is_imap_spec("IMAPS://x@y"));
        assert!(!is_imap_spec("maildir:/x"));
    }

    #[test]
    fn refused_specs() {
        for (spec, why) in [
            (
                "imap://u@mail.example.org?tls=none",
                "only for this machine",
            ),
            ("imaps://u@127.0.0.1?tls=none", "goes with imap://"),
            ("imaps://u:secret@host", "password cannot be part"),
            ("imaps://host", "user name is missing"),
            ("imaps://u@host/INBOX", "folder cannot be part"),
            ("imaps://u@host?cert=SHA256:AB", "not a SHA-256"),
            ("imaps://u@host?x=1", "unknown option"),
            ("imaps://u@host:99999", "bad host or port"),
        ] {
            let err = ImapSpec::parse(spec).unwrap_err().to_string();
            assert!(err.contains(why), "{spec}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn pins_round_trip() {
        let digest: Vec<u8> = (0u8..32).collect();
        let shown = format_fingerprint(&digest);
        assert!(shown.starts_with("SHA256:00:01:02"));
        assert_eq!(parse_pin(&shown).unwrap().to_vec(), digest);
        let bare: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse_pin(&bare).unwrap().to_vec(), digest);
    }
}
