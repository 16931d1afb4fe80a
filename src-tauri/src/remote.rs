//! Email accounts and restore: the parts of the app that wait on the engine. Opening an
//! `imaps://` or `imap://` spec goes through the engine like any other, so once the engine
//! reads IMAP the account form works; until then the engine's own error is shown in plain
//! words. The password stays in memory, in the call that needs it.

use mailproof_engine::sources::{self, Input};

use crate::errors::app_error;
use crate::ipc::{AppError, Capabilities, ConnectionReport, ErrorKind, MailboxRef};

/// True for a server account rather than a path.
pub fn is_account(spec: &str) -> bool {
    spec.starts_with("imaps://") || spec.starts_with("imap://")
}

/// Opens a mailbox: a local path, or an account with its password.
pub fn open(mailbox: &MailboxRef) -> Result<Input, AppError> {
    if is_account(&mailbox.spec) {
        require_password(mailbox)?;
    }
    sources::open(&mailbox.spec).map_err(|e| explain(e, mailbox))
}

/// The spec to give the engine's check for the new mailbox.
pub fn check_spec(mailbox: &MailboxRef) -> Result<String, AppError> {
    if is_account(&mailbox.spec) {
        require_password(mailbox)?;
        sources::parse_spec(&mailbox.spec).map_err(|e| explain(e, mailbox))?;
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

/// What this build can do beyond receipts, exports and checks.
pub fn capabilities() -> crate::ipc::Capabilities {
    Capabilities {
        restore: false,
        restore_note: Some(
            "Restoring missing messages is not available in this version of Mailproof. Your \
             archive holds every message as an .eml file, which most mail programs can import; \
             the report lists which ones are missing."
                .into(),
        ),
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

/// An engine error about an account, in the words of someone who typed an account: when the
/// engine does not know the spec's kind at all, it cannot read accounts yet.
fn explain(error: mailproof_engine::Error, mailbox: &MailboxRef) -> AppError {
    let shown = app_error(error, Some(&mailbox.spec));
    if is_account(&mailbox.spec)
        && shown
            .message
            .to_lowercase()
            .contains("unknown mailbox kind")
    {
        return AppError {
            kind: ErrorKind::Unsupported,
            message: format!(
                "This version of Mailproof cannot connect to email accounts yet. (The engine said: {})",
                shown.message
            ),
            hint: "Use files on this computer instead: your Thunderbird or Apple Mail folders, \
                   or an export your helpdesk made."
                .into(),
        };
    }
    shown
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
    fn an_account_the_engine_cannot_open_is_explained_not_faked() {
        let Err(e) = test_connection(&account(Some("secret"))) else {
            panic!("an account connected although the engine has no IMAP")
        };
        assert_eq!(e.kind, ErrorKind::Unsupported, "{e:?}");
        assert!(e.message.contains("imaps"), "{}", e.message);
        assert!(!e.message.contains("secret") && !e.hint.contains("secret"));
    }
}
