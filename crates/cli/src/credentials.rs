//! Where the command finds passwords and tokens for IMAP accounts: the environment, a file,
//! the OS keychain, or a prompt on the terminal; never the command line. It answers the
//! engine's [`CredentialRequest`]s and stores a password in the keychain when asked to, once
//! the server has accepted it.

use std::path::PathBuf;
use std::sync::Arc;

use mailproof_engine::imap::{
    Access, CredentialRequest, Credentials, Secret, SecretKind, Side, keychain, spec::parse_pin,
};
use mailproof_engine::{Error, Result};

/// Options of every command that can read an IMAP account.
#[derive(clap::Args, Clone, Default)]
pub struct ServerArgs {
    /// Read the IMAP password from this file (its first line). Otherwise MAILPROOF_PASSWORD
    /// (for check: MAILPROOF_PASSWORD_BEFORE / _AFTER), the keychain, or a prompt.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Read the OAuth access token (for ?auth=xoauth2 or oauthbearer) from this file.
    /// Otherwise MAILPROOF_TOKEN (for check: MAILPROOF_TOKEN_BEFORE / _AFTER).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Store the password in the OS keychain once the server has accepted it.
    #[arg(long)]
    save_password: bool,
    /// Accept only the server certificate with this SHA-256 fingerprint (shown when a
    /// certificate is refused); the same as ?cert= in the spec.
    #[arg(long, value_name = "SHA256:…")]
    cert: Option<String>,
    /// IMAP connections to read with. By default reading starts with one and adds more, up to
    /// 4, while each makes it faster
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    connections: usize,
}

impl ServerArgs {
    pub fn access(&self) -> anyhow::Result<Access> {
        let pin = match &self.cert {
            Some(text) => Some(parse_pin(text).map_err(|e| anyhow::anyhow!("--cert: {e}"))?),
            None => None,
        };
        Ok(Access {
            credentials: Arc::new(CliCredentials {
                password_file: self.password_file.clone(),
                token_file: self.token_file.clone(),
                save: self.save_password,
            }),
            connections: self.connections,
            pin,
            side: None,
        })
    }
}

struct CliCredentials {
    password_file: Option<PathBuf>,
    token_file: Option<PathBuf>,
    save: bool,
}

impl Credentials for CliCredentials {
    fn secret(&self, request: &CredentialRequest) -> Result<Secret> {
        let account = request.account();
        let (base, file, what) = match request.kind {
            SecretKind::Password => ("MAILPROOF_PASSWORD", &self.password_file, "password"),
            SecretKind::BearerToken => ("MAILPROOF_TOKEN", &self.token_file, "access token"),
        };
        let sided = match request.side {
            Some(Side::Before) => Some(format!("{base}_BEFORE")),
            Some(Side::After) => Some(format!("{base}_AFTER")),
            None => None,
        };
        for name in sided.iter().map(String::as_str).chain([base]) {
            if let Ok(value) = std::env::var(name)
                && !value.is_empty()
            {
                return Ok(Secret::new(value));
            }
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io("cannot read the secret file", path, e))?;
            let line = text.lines().next().unwrap_or_default();
            if line.is_empty() {
                return Err(Error::Usage(format!("{} is empty", path.display())));
            }
            return Ok(Secret::new(line));
        }
        if request.kind == SecretKind::BearerToken {
            return Err(Error::Usage(format!(
                "no access token for {account}: set {base} or use --token-file"
            )));
        }
        if let Some(secret) = keychain::load(request) {
            return Ok(secret);
        }
        let side = match request.side {
            Some(Side::Before) => " (before)",
            Some(Side::After) => " (after)",
            None => "",
        };
        rpassword::prompt_password(format!("IMAP {what} for {account}{side}: "))
            .map(Secret::new)
            .map_err(|_| {
                Error::Usage(format!(
                    "no password for {account}: set {}, use --password-file, or run once at a terminal with --save-password to keep it in the keychain",
                    sided.as_deref().unwrap_or(base)
                ))
            })
    }

    fn password_sources(&self) -> Option<String> {
        Some("MAILPROOF_PASSWORD, --password-file, the keychain or the prompt".into())
    }

    fn accepted(&self, request: &CredentialRequest, secret: &Secret) {
        if !self.save || request.kind != SecretKind::Password {
            return;
        }
        match keychain::save(request, secret) {
            Ok(()) => eprintln!(
                "mailproof: the password for {} is saved in the keychain",
                request.account()
            ),
            Err(e) => eprintln!(
                "mailproof: warning: the password could not be saved in the keychain: {e}"
            ),
        }
    }
}
