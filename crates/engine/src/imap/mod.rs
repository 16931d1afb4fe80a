//! IMAP: reading an account as a [`Source`](crate::source::Source) and appending to one as a
//! [`Destination`](crate::destination::Destination).
//!
//! The protocol is async-imap's over tokio and rustls; the runtime belongs to the source (or
//! destination), so the engine's traits stay synchronous. Secrets come from the front end
//! through [`Credentials`]; nothing here reads a terminal or stores a password.
//!
//! - `spec.rs`: `imaps://` / `imap://` specs, certificate pins
//! - `secret.rs`: [`Secret`], [`Credentials`], the keychain
//! - `conn.rs`: TCP, TLS and STARTTLS, certificate checks, SASL, UID FETCH
//! - `source.rs`: LIST/STATUS, EXAMINE, batched fetching over several connections
//! - `tuner.rs`: how many connections pay
//! - `destination.rs`: CREATE and APPEND
//! - `utf7.rs`, `internal_date.rs`: wire encodings

mod conn;
mod destination;
mod fetch;
pub mod internal_date;
mod secret;
mod source;
pub mod spec;
mod tuner;
pub mod utf7;

use std::fmt;
use std::sync::Arc;

pub use conn::LOGIN_REFUSED;
pub use destination::ImapDestination;
pub use secret::{
    CredentialRequest, Credentials, NoCredentials, Secret, SecretKind, Side, keychain,
};
pub use source::ImapSource;
pub use spec::{ImapSpec, is_imap_spec};

use crate::{Error, Result};

/// The most connections an account is read with unless told otherwise (reading starts with one
/// and adds more while they make it faster: see `tuner.rs`).
pub const DEFAULT_CONNECTIONS: usize = 4;

/// What opening an account needs besides its spec: who answers for secrets, how many
/// connections to use, and a certificate pin given apart from the spec.
#[derive(Clone)]
pub struct Access {
    pub credentials: Arc<dyn Credentials>,
    /// Connections for reading: exactly this many, or 0 for as many as pay, up to
    /// [`DEFAULT_CONNECTIONS`].
    pub connections: usize,
    /// A pinned certificate fingerprint for specs that carry none (`--cert`).
    pub pin: Option<[u8; 32]>,
    /// Which side of a check this account is (set by the check itself).
    pub side: Option<Side>,
}

impl Default for Access {
    fn default() -> Self {
        Self {
            credentials: Arc::new(NoCredentials),
            connections: 0,
            pin: None,
            side: None,
        }
    }
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Access")
            .field("connections", &self.connections)
            .field("pinned", &self.pin.is_some())
            .field("side", &self.side)
            .finish_non_exhaustive()
    }
}

impl Access {
    fn tuner(&self) -> tuner::Tuner {
        match self.connections {
            0 => tuner::Tuner::adaptive(DEFAULT_CONNECTIONS),
            n => tuner::Tuner::fixed(n),
        }
    }

    /// The spec with this access's pin when the spec has none of its own.
    fn apply(&self, spec: &ImapSpec) -> ImapSpec {
        let mut spec = spec.clone();
        spec.pin = spec.pin.or(self.pin);
        spec
    }
}

/// Opens an `imap://` or `imaps://` spec for reading.
pub fn open_source(spec: &str, access: &Access) -> Result<ImapSource> {
    ImapSource::open(&ImapSpec::parse(spec)?, access)
}

/// Opens an `imap://` or `imaps://` spec for restoring into.
pub fn open_destination(
    spec: &str,
    access: &Access,
) -> Result<Box<dyn crate::destination::Destination>> {
    Ok(Box::new(ImapDestination::open(
        &ImapSpec::parse(spec)?,
        access,
    )?))
}

/// Starts the runtime, connects and logs in: what a source and a destination both do first,
/// so that a wrong host, certificate or password is reported at once.
fn connect(
    spec: &ImapSpec,
    access: &Access,
) -> Result<(
    tokio::runtime::Runtime,
    Arc<conn::Connector>,
    conn::ImapSession,
)> {
    let rt = runtime()?;
    let connector = Arc::new(conn::Connector::new(
        access.apply(spec),
        access.credentials.clone(),
        access.side,
    ));
    let session = rt.block_on(connector.open())?;
    Ok((rt, connector, session))
}

/// The runtime a source or destination drives its connections on: two threads, which is
/// plenty for network waits and TLS, and leaves the cores to hashing.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("mailproof-imap")
        .enable_all()
        .build()
        .map_err(|e| Error::Connection(format!("cannot start the network runtime: {e}")))
}
