//! Email accounts: opening an `imaps://` or `imap://` spec goes through the engine like any
//! other mailbox, with the password the user typed. The password stays in memory, in the call
//! that needs it, and reaches the engine only as a [`Secret`], which never prints.

use std::sync::Arc;

use mailproof_engine::imap::{Access, CredentialRequest, Credentials, ImapSpec, Secret};
use mailproof_engine::sources::{self, Input};

use crate::errors::app_error;
use crate::ipc::{AppError, ConnectionReport, ErrorKind, MailboxRef};

/// True for a server account rather than a path.
pub fn is_account(spec: &str) -> bool {
    mailproof_engine::imap::is_imap_spec(spec)
}

/// The password typed on the mailbox screen, given to the engine when it asks.
struct Typed(Option<Secret>);

impl Credentials for Typed {
    fn secret(&self, request: &CredentialRequest) -> mailproof_engine::Result<Secret> {
        self.0.clone().ok_or_else(|| {
            mailproof_engine::Error::Connection(format!(
                "no password was given for {}",
                request.account()
            ))
        })
    }
}

/// How the engine reaches the account: with the typed password.
pub fn access(mailbox: &MailboxRef) -> Access {
    Access {
        credentials: Arc::new(Typed(mailbox.password.clone().map(Secret::new))),
        ..Access::default()
    }
}

/// Opens a mailbox: a local path, or an account with its password.
pub fn open(mailbox: &MailboxRef) -> Result<Input, AppError> {
    if is_account(&mailbox.spec) {
        require_password(mailbox)?;
    }
    sources::open_with(&mailbox.spec, &access(mailbox)).map_err(|e| explain(e, mailbox))
}

/// The spec to give the engine's check for the new mailbox.
pub fn check_spec(mailbox: &MailboxRef) -> Result<String, AppError> {
    if is_account(&mailbox.spec) {
        require_password(mailbox)?;
        ImapSpec::parse(&mailbox.spec).map_err(|e| explain(e, mailbox))?;
    }
    Ok(mailbox.spec.clone())
}

/// Opens the account and lists its folders: a plain answer to "does this work?".
pub fn test_connection(mailbox: &MailboxRef) -> Result<ConnectionReport, AppError> {
    match open(mailbox)? {
        Input::Source(mut source) => {
            let folders = source.folders().map_err(|e| explain(e, mailbox))?;
            Ok(ConnectionReport {
                folders: folders.len() as u64,
                messages: folders.iter().filter_map(|f| f.claimed).sum(),
            })
        }
        Input::Receipt(_) => Err(AppError {
            kind: ErrorKind::NotAMailbox,
            message: "This is a receipt, not a mailbox to connect to.".into(),
            hint: "Choose the account or mailbox itself.".into(),
        }),
    }
}

fn require_password(mailbox: &MailboxRef) -> Result<(), AppError> {
    if mailbox.password.as_deref().is_none_or(str::is_empty) {
        return Err(AppError {
            kind: ErrorKind::Usage,
            message: "The password is empty.".into(),
            hint: "Type the password of this email account.".into(),
        });
    }
    Ok(())
}

/// An engine error about the mailbox the user chose.
fn explain(error: mailproof_engine::Error, mailbox: &MailboxRef) -> AppError {
    app_error(error, Some(&mailbox.spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(password: Option<&str>) -> MailboxRef {
        MailboxRef {
            spec: "imaps://ann@imap.mailproof.invalid:993".into(),
            password: password.map(str::to_string),
        }
    }

    #[test]
    fn an_account_needs_a_password() {
        let Err(e) = test_connection(&account(None)) else {
            panic!("no password accepted")
        };
        assert_eq!(e.kind, ErrorKind::Usage);
        assert!(e.message.contains("password"));
    }

    #[test]
    fn an_account_is_a_spec_a_check_takes() {
        let mut pinned = account(Some("secret"));
        pinned
            .spec
            .push_str(&format!("?cert=SHA256:{}", ["AB"; 32].join(":")));
        assert_eq!(check_spec(&pinned).unwrap(), pinned.spec);
        pinned.spec = "imaps://ann@imap.mailproof.invalid:993?cert=SHA256:AB".into();
        let e = check_spec(&pinned).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Usage, "{e:?}");
        assert!(e.message.contains("not a SHA-256"), "{}", e.message);
    }

    #[test]
    fn an_account_that_cannot_be_reached_is_a_connection_error() {
        let mut unreachable = account(Some("secret"));
        unreachable.spec = "imaps://ann@127.0.0.1:1".into();
        let Err(e) = test_connection(&unreachable) else {
            panic!("a closed port connected")
        };
        assert_eq!(e.kind, ErrorKind::Connection, "{e:?}");
        assert!(e.message.contains("127.0.0.1:1"), "{}", e.message);
        assert!(!e.message.contains("secret") && !e.hint.contains("secret"));
    }
}
