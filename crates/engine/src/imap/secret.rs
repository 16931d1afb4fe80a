//! Secrets and how a front end supplies them.
//!
//! The engine never reads a terminal, an environment variable or a file for a password: it
//! asks the front end through [`Credentials`] with a [`CredentialRequest`] saying which account
//! and which kind of secret it needs. The CLI answers from the environment, a file, the keychain
//! or a prompt; the desktop app from a password field. A [`Secret`] never shows its value in
//! `Debug` or `Display`, so it cannot leak into logs, errors or reports by formatting.

use std::fmt;

use crate::{Error, Result};

/// A password or bearer token. Its value is reachable only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that sends it to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What kind of secret an account needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    Password,
    /// An OAuth 2 access token (XOAUTH2 / OAUTHBEARER).
    BearerToken,
}

/// Which side of a check an account is on, so a front end can tell two accounts apart
/// (`MAILPROOF_PASSWORD_BEFORE` / `_AFTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Before,
    After,
}

/// The account a secret is wanted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRequest {
    pub user: String,
    pub host: String,
    pub port: u16,
    pub kind: SecretKind,
    pub side: Option<Side>,
}

impl CredentialRequest {
    /// The keychain entry name: `user@host:port`.
    pub fn account(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

/// Answers requests for secrets; implemented by each front end.
pub trait Credentials: Send + Sync {
    /// The secret for this account, or an error saying why there is none.
    fn secret(&self, request: &CredentialRequest) -> Result<Secret>;
    /// Called once the server accepted `secret`, e.g. to store it in the keychain when the
    /// user asked for that. Errors are the front end's to report.
    fn accepted(&self, _request: &CredentialRequest, _secret: &Secret) {}
    /// Where passwords come from, in the front end's words (e.g. its option names), for the
    /// error that says the server refused one; `None` when the user typed it just now.
    fn password_sources(&self) -> Option<String> {
        None
    }
}

/// Credentials for front ends that have none to give: every request is refused plainly.
pub struct NoCredentials;

impl Credentials for NoCredentials {
    fn secret(&self, request: &CredentialRequest) -> Result<Secret> {
        Err(Error::Connection(format!(
            "no password was given for {}",
            request.account()
        )))
    }
}

/// The OS keychain (macOS Keychain, Windows Credential Manager, the Linux kernel keyring),
/// under the service name `mailproof` and the account `user@host:port`.
pub mod keychain {
    use super::{CredentialRequest, Secret};

    const SERVICE: &str = "mailproof";

    fn entry(request: &CredentialRequest) -> Result<keyring::Entry, String> {
        keyring::Entry::new(SERVICE, &request.account()).map_err(|e| e.to_string())
    }

    /// The stored secret, if there is one (a missing keychain is the same as an empty one).
    pub fn load(request: &CredentialRequest) -> Option<Secret> {
        entry(request).ok()?.get_password().ok().map(Secret::new)
    }

    /// Stores the secret; the error says why the keychain refused it.
    pub fn save(request: &CredentialRequest, secret: &Secret) -> Result<(), String> {
        entry(request)?
            .set_password(secret.expose())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "hunter2");
    }
}
