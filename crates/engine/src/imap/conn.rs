//! Connecting and logging in: TCP, TLS (implicit or STARTTLS) with certificate checks and
//! pinning, SASL, and the few protocol exchanges async-imap does not expose in a usable way.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_imap::imap_proto::{self, Response, Status};
use async_imap::{Authenticator, Client, Session};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::secret::{CredentialRequest, Credentials, Secret, SecretKind, Side};
use super::spec::{Auth, ImapSpec, Tls, format_fingerprint};
use crate::{Error, Result};

/// The words of the error for credentials the server did not accept, for front ends that give
/// that case its own advice.
pub const LOGIN_REFUSED: &str = "the server refused the log-in";

/// Any byte stream a session runs over: plain TCP (loopback only) or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}

pub(crate) type ImapSession = Session<Box<dyn Io>>;

/// How long a server may stay silent before the connection counts as dropped: 120 s, or
/// `MAILPROOF_IMAP_TIMEOUT` seconds. The variable exists so tests of stalled servers finish
/// quickly; it also caps the pause between retries (see `source::backoff`).
pub(crate) fn silence() -> Duration {
    static SILENCE: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *SILENCE.get_or_init(|| {
        std::env::var("MAILPROOF_IMAP_TIMEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&s| s > 0)
            .map_or(Duration::from_secs(120), Duration::from_secs)
    })
}

/// A connection that failed or dropped; worth retrying after a pause.
#[derive(Debug)]
pub(crate) struct Lost(pub String);

impl From<async_imap::error::Error> for Lost {
    fn from(e: async_imap::error::Error) -> Self {
        Lost(e.to_string())
    }
}

impl From<std::io::Error> for Lost {
    fn from(e: std::io::Error) -> Self {
        Lost(e.to_string())
    }
}

/// Everything needed to open another session to the same account: the spec, the TLS set-up
/// and the secret once it is known.
pub(crate) struct Connector {
    pub spec: ImapSpec,
    tls: Option<(Arc<ClientConfig>, Arc<PinningVerifier>)>,
    credentials: Arc<dyn Credentials>,
    side: Option<Side>,
    secret: Mutex<Option<Secret>>,
}

impl Connector {
    pub fn new(spec: ImapSpec, credentials: Arc<dyn Credentials>, side: Option<Side>) -> Self {
        let tls = (spec.tls != Tls::None).then(|| tls_config(spec.pin));
        Self {
            spec,
            tls,
            credentials,
            side,
            secret: Mutex::new(None),
        }
    }

    fn request(&self) -> CredentialRequest {
        CredentialRequest {
            user: self.spec.user.clone(),
            host: self.spec.host.clone(),
            port: self.spec.port,
            kind: if self.spec.auth.uses_token() {
                SecretKind::BearerToken
            } else {
                SecretKind::Password
            },
            side: self.side,
        }
    }

    /// Opens a logged-in session. Errors are for people: what failed and what to try.
    pub async fn open(&self) -> Result<ImapSession> {
        let (client, caps) = self.greet().await?;
        let first = self
            .secret
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let secret = match first {
            Some(s) => s,
            None => self.credentials.secret(&self.request())?,
        };
        let location = self.spec.location();
        let refused = |e: async_imap::error::Error| {
            Error::Connection(format!(
                "{location}: {LOGIN_REFUSED} as {} ({}); check the user name and the {}",
                self.spec.user,
                server_words(&e),
                if self.spec.auth.uses_token() {
                    "access token (it may have expired)".to_string()
                } else {
                    let sources = self.credentials.password_sources();
                    format!(
                        "password{}; some providers need an app password",
                        sources.map(|s| format!(" ({s})")).unwrap_or_default()
                    )
                }
            ))
        };
        let user = self.spec.user.clone();
        let session = match self.spec.auth {
            Auth::Password if caps.iter().any(|c| c == "AUTH=PLAIN") => client
                .authenticate("PLAIN", Sasl::plain(&user, &secret))
                .await
                .map_err(|(e, _)| refused(e))?,
            Auth::Password | Auth::Login => {
                if caps.iter().any(|c| c == "LOGINDISABLED") {
                    return Err(Error::Connection(format!(
                        "{location}: the server does not allow LOGIN on this connection and offers no AUTH=PLAIN"
                    )));
                }
                client
                    .login(&user, secret.expose())
                    .await
                    .map_err(|(e, _)| refused(e))?
            }
            Auth::XOAuth2 => client
                .authenticate("XOAUTH2", Sasl::xoauth2(&user, &secret))
                .await
                .map_err(|(e, _)| refused(e))?,
            Auth::OAuthBearer => client
                .authenticate(
                    "OAUTHBEARER",
                    Sasl::oauthbearer(&user, &self.spec.host, self.spec.port, &secret),
                )
                .await
                .map_err(|(e, _)| refused(e))?,
        };
        let mut stored = self.secret.lock().unwrap_or_else(|p| p.into_inner());
        if stored.is_none() {
            self.credentials.accepted(&self.request(), &secret);
            *stored = Some(secret);
        }
        Ok(session)
    }

    /// Connects, protects the connection and reads the capabilities, before any secret is
    /// asked for: a wrong host or an untrusted certificate is reported first.
    async fn greet(&self) -> Result<(Client<Box<dyn Io>>, Vec<String>)> {
        let location = self.spec.location();
        let addr = (self.spec.host.as_str(), self.spec.port);
        let tcp = match tokio::time::timeout(Duration::from_secs(30), TcpStream::connect(addr))
            .await
        {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => {
                return Err(Error::Connection(format!(
                    "cannot connect to {}:{}: {e}; check the host name and the port, and that the server is reachable from here",
                    self.spec.host, self.spec.port
                )));
            }
            Err(_) => {
                return Err(Error::Connection(format!(
                    "cannot connect to {}:{}: no answer within 30 s; check the host name, the port and any firewall",
                    self.spec.host, self.spec.port
                )));
            }
        };
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Io> = match self.spec.tls {
            Tls::Implicit => Box::new(self.handshake(tcp).await?),
            Tls::StartTls | Tls::None => Box::new(tcp),
        };
        let mut client = Client::new(stream);
        let lost = |what: String| {
            Error::Connection(format!(
                "{location}: {what}; is this an IMAP server{}?",
                match self.spec.tls {
                    Tls::Implicit => " speaking TLS (imaps://, usually port 993)",
                    _ => " (imap://, usually port 143)",
                }
            ))
        };
        let greeting = tokio::time::timeout(silence(), client.read_response())
            .await
            .map_err(|_| lost("no greeting from the server".into()))?
            .map_err(|e| lost(format!("no greeting from the server ({e})")))?
            .ok_or_else(|| lost("the server closed the connection before greeting".into()))?;
        if let Response::Data {
            status: Status::Bye | Status::No | Status::Bad,
            information,
            ..
        } = greeting.parsed()
        {
            return Err(Error::Connection(format!(
                "{location}: the server refused the connection: {}",
                information.as_deref().unwrap_or("no reason given")
            )));
        }
        if self.spec.tls == Tls::StartTls {
            let caps = capabilities(&mut client).await.map_err(|e| lost(e.0))?;
            if !caps.iter().any(|c| c == "STARTTLS") {
                return Err(Error::Connection(format!(
                    "{location}: the server does not offer STARTTLS, so the password would travel unencrypted; use imaps:// if the server has it (usually port 993), or add ?tls=none only for a server on this machine"
                )));
            }
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| lost(format!("STARTTLS failed ({})", server_words(&e))))?;
            let plain = client.into_inner();
            client = Client::new(Box::new(self.handshake(plain).await?));
        }
        let caps = capabilities(&mut client).await.map_err(|e| lost(e.0))?;
        Ok((client, caps))
    }

    async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
    ) -> Result<tokio_rustls::client::TlsStream<S>> {
        let (config, verifier) = self.tls.as_ref().expect("TLS set up for TLS specs");
        let name = ServerName::try_from(self.spec.host.clone()).map_err(|_| {
            Error::Connection(format!("`{}` is not a valid host name", self.spec.host))
        })?;
        let connector = TlsConnector::from(config.clone());
        connector.connect(name, stream).await.map_err(|e| {
            let location = format!("{}:{}", self.spec.host, self.spec.port);
            let cert_problem = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .and_then(|r| match r {
                    rustls::Error::InvalidCertificate(c) => Some(c.clone()),
                    _ => None,
                });
            match (verifier.seen(), cert_problem) {
                (Some(seen), Some(problem)) => {
                    let shown = format_fingerprint(&seen);
                    let why = if self.spec.pin.is_some() {
                        "it is not the certificate pinned with ?cert=".to_string()
                    } else {
                        certificate_problem(&problem)
                    };
                    Error::Connection(format!(
                        "{location}: the server's TLS certificate was refused: {why}. Its fingerprint is {shown}. If you know this is your server's own certificate (ask its administrator to compare the fingerprint), pin it: add ?cert={shown} to the spec, or pass --cert {shown}"
                    ))
                }
                _ => Error::Connection(format!(
                    "{location}: the TLS handshake failed ({e}); check the port (imaps:// is usually 993, imap:// with STARTTLS 143)"
                )),
            }
        })
    }
}

/// Why a certificate was refused, in words.
fn certificate_problem(problem: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match problem {
        C::UnknownIssuer | C::Other(_) => {
            "it is self-signed or issued by an authority this system does not trust".into()
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "it was issued for another host name".into()
        }
        C::Expired | C::ExpiredContext { .. } => "it has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "it is not valid yet (check this computer's clock)".into()
        }
        C::Revoked => "it has been revoked".into(),
        other => format!("it is not valid ({other:?})"),
    }
}

/// The capabilities, asked for explicitly: async-imap's `Client` offers no CAPABILITY, so the
/// untagged answer is collected from the responses it passes on.
async fn capabilities(client: &mut Client<Box<dyn Io>>) -> std::result::Result<Vec<String>, Lost> {
    let (tx, rx) = async_channel::unbounded();
    tokio::time::timeout(
        silence(),
        client.run_command_and_check_ok("CAPABILITY", Some(tx)),
    )
    .await
    .map_err(|_| Lost("no answer to CAPABILITY".into()))??;
    let mut caps = Vec::new();
    while let Ok(async_imap::types::UnsolicitedResponse::Other(data)) = rx.try_recv() {
        if let Response::Capabilities(list) = data.parsed() {
            caps.extend(list.iter().map(capability_name));
        }
    }
    Ok(caps)
}

fn capability_name(c: &imap_proto::Capability<'_>) -> String {
    match c {
        imap_proto::Capability::Imap4rev1 => "IMAP4REV1".into(),
        imap_proto::Capability::Auth(m) => format!("AUTH={}", m.to_ascii_uppercase()),
        imap_proto::Capability::Atom(a) => a.to_ascii_uppercase(),
    }
}

/// The capabilities of a logged-in session, upper-cased.
pub(crate) async fn session_capabilities(
    session: &mut ImapSession,
) -> std::result::Result<Vec<String>, Lost> {
    let caps = tokio::time::timeout(silence(), session.capabilities())
        .await
        .map_err(|_| Lost("no answer to CAPABILITY".into()))??;
    Ok(caps
        .iter()
        .map(|c| match c {
            async_imap::types::Capability::Imap4rev1 => "IMAP4REV1".into(),
            async_imap::types::Capability::Auth(m) => format!("AUTH={}", m.to_ascii_uppercase()),
            async_imap::types::Capability::Atom(a) => a.to_ascii_uppercase(),
        })
        .collect())
}

/// The text a server gave with a NO or BAD, without async-imap's debug wrapping.
pub(crate) fn server_words(e: &async_imap::error::Error) -> String {
    use async_imap::error::Error as E;
    match e {
        E::No(text) | E::Bad(text) => match text.split_once("info: Some(\"") {
            Some((_, rest)) => rest.trim_end_matches("\")").replace("\\\"", "\""),
            None => text.clone(),
        },
        E::ConnectionLost => "the connection was closed".into(),
        other => other.to_string(),
    }
}

/// SASL client responses (RFC 4616, Google's XOAUTH2, RFC 7628).
struct Sasl {
    first: Vec<u8>,
    sent: bool,
}

impl Sasl {
    fn plain(user: &str, secret: &Secret) -> Self {
        Self::new(format!("\0{user}\0{}", secret.expose()))
    }

    fn xoauth2(user: &str, secret: &Secret) -> Self {
        Self::new(format!(
            "user={user}\x01auth=Bearer {}\x01\x01",
            secret.expose()
        ))
    }

    fn oauthbearer(user: &str, host: &str, port: u16, secret: &Secret) -> Self {
        Self::new(format!(
            "n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {}\x01\x01",
            secret.expose()
        ))
    }

    fn new(first: String) -> Self {
        Self {
            first: first.into_bytes(),
            sent: false,
        }
    }
}

impl Authenticator for Sasl {
    type Response = Vec<u8>;

    /// The first challenge gets the credentials; a second one is the server's error report
    /// (XOAUTH2 and OAUTHBEARER send it as a challenge) and must be answered empty, or the
    /// exchange never ends.
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        if std::mem::replace(&mut self.sent, true) {
            Vec::new()
        } else {
            self.first.clone()
        }
    }
}

/// The TLS client configuration: the system's roots, or only the pinned certificate.
fn tls_config(pin: Option<[u8; 32]>) -> (Arc<ClientConfig>, Arc<PinningVerifier>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .ok();
    let verifier = Arc::new(PinningVerifier {
        webpki,
        pin,
        seen: Mutex::new(None),
        provider: provider.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    (Arc::new(config), verifier)
}

/// Verifies the server's certificate against the system's roots, or, when the user pinned a
/// fingerprint, accepts exactly that certificate and no other. It remembers the fingerprint
/// of the certificate it saw, so a refusal can show it.
#[derive(Debug)]
struct PinningVerifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pin: Option<[u8; 32]>,
    seen: Mutex<Option<[u8; 32]>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl PinningVerifier {
    fn seen(&self) -> Option<[u8; 32]> {
        *self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let digest: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(digest);
        match (&self.pin, &self.webpki) {
            (Some(pin), _) if *pin == digest => Ok(ServerCertVerified::assertion()),
            (Some(_), _) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
            (None, Some(webpki)) => webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            (None, None) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A response code and text as the server sent them, e.g. `[LIMIT] Too many commands`.
pub(crate) fn words(code: Option<&imap_proto::ResponseCode<'_>>, text: Option<&str>) -> String {
    let text = text.unwrap_or("no reason given").trim();
    match code {
        Some(imap_proto::ResponseCode::ReadOnly) => format!("[READ-ONLY] {text}"),
        Some(other) => format!("[{other:?}] {text}"),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_payloads() {
        let secret = Secret::new("tok");
        let mut x = Sasl::xoauth2("ann@example.org", &secret);
        assert_eq!(
            x.process(b""),
            b"user=ann@example.org\x01auth=Bearer tok\x01\x01"
        );
        // The error challenge after a refused token is answered empty, ending the exchange.
        assert_eq!(x.process(b"{\"status\":\"401\"}"), b"");
        let mut o = Sasl::oauthbearer("ann", "imap.example.org", 993, &secret);
        assert_eq!(
            o.process(b""),
            b"n,a=ann,\x01host=imap.example.org\x01port=993\x01auth=Bearer tok\x01\x01"
        );
        let mut p = Sasl::plain("ann", &Secret::new("pw"));
        assert_eq!(p.process(b""), b"\0ann\0pw");
    }
}
