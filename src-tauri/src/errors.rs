//! Engine errors in plain words, with what to try next, for the screen where they happened.

use std::io::ErrorKind as Io;

use mailproof_engine::{Error, imap, restore};

use crate::ipc::{AppError, ErrorKind};

/// Turns an engine error into what the screen shows. `what` names the mailbox or file the
/// user chose, when the error does not already say it.
pub fn app_error(error: Error, what: Option<&str>) -> AppError {
    let (kind, hint) = match &error {
        Error::NotAMailbox { .. } => (
            ErrorKind::NotAMailbox,
            "Choose the folder that holds the mail (for Maildir, the one with cur and new inside), \
             an mbox or .eml file, or a Mailproof receipt or archive.",
        ),
        Error::Io { source, .. } if source.kind() == Io::PermissionDenied => (
            ErrorKind::Io,
            "You may not read or write there. Choose another place, or ask your helpdesk.",
        ),
        Error::Io { .. } => (
            ErrorKind::Io,
            "Check that the disk or folder is still there (a USB stick may have been removed), then try again.",
        ),
        Error::Format { .. } => (
            ErrorKind::Damaged,
            "This file is damaged or was not written by Mailproof. Use another copy of your receipt or archive.",
        ),
        Error::Usage(_) => (
            ErrorKind::Usage,
            "Change the choice on this screen and try again.",
        ),
        Error::NoSpace { .. } => (
            ErrorKind::DiskFull,
            "The disk is full. Free some space, or choose another place to save, then try again.",
        ),
        Error::Connection(m) | Error::Refused(m) if m.contains(restore::RUN_AGAIN) => (
            ErrorKind::Connection,
            "What was put back stays. Check that this computer is online, then choose Restore \
             again: only the messages still missing are put back.",
        ),
        Error::Refused(_) => (
            ErrorKind::Connection,
            "The server refused to open this folder; the message above gives its words. Try \
             again later, or ask your helpdesk.",
        ),
        Error::Connection(m) if m.contains(imap::LOGIN_REFUSED) => (
            ErrorKind::Connection,
            "The server was reached but did not accept this user name and password. Check both \
             (the user name is often the full email address). Accounts with two-step sign-in, \
             such as Gmail or Microsoft 365, need an app password: your helpdesk can tell you.",
        ),
        Error::Connection(m) if m.contains(CERTIFICATE_REFUSED) => (
            ErrorKind::Connection,
            "Ask your helpdesk whether this fingerprint is your server's. If it is, type it in \
             the Certificate field under the password (or load the connection profile they send), \
             then try again. Never accept a fingerprint nobody confirmed.",
        ),
        Error::Connection(_) => (
            ErrorKind::Connection,
            "Check the server name and port, the password, and that this computer is online; \
             the message above says which step failed. Your helpdesk can send a connection \
             profile with the right settings.",
        ),
        Error::Cancelled => (
            ErrorKind::Cancelled,
            "Your mailbox is unchanged and nothing unfinished carries the file's name. Start \
             again with the same file when you are ready: what was done is kept and the run \
             continues from there.",
        ),
    };
    let message = match (what, &error) {
        (_, Error::Cancelled) => "Stopped before the end, as you asked.".to_string(),
        // The engine goes on to say how to pin it on the command line; the hint says it here.
        (_, Error::Connection(m)) if m.contains(CERTIFICATE_REFUSED) => {
            m.split(". If you know").next().unwrap_or(m).to_string() + "."
        }
        (Some(what), Error::Usage(m)) if !m.contains(what) => format!("{what}: {m}"),
        _ => error.to_string(),
    };
    AppError {
        kind,
        message: capitalise(&message),
        hint: hint.to_string(),
    }
}

/// The engine's words when a server's certificate is not trusted.
const CERTIFICATE_REFUSED: &str = "TLS certificate was refused";

/// Another run is in progress.
pub fn busy() -> AppError {
    AppError {
        kind: ErrorKind::Busy,
        message: "Mailproof is already working on something.".into(),
        hint: "Wait until it finishes, or cancel it first.".into(),
    }
}

/// Capitalises a sentence that starts with a word; one that starts with a name the user gave
/// (`ann@mail.example.com:993: …`, a path) keeps it as it is.
fn capitalise(s: &str) -> String {
    let first_word = s.split_whitespace().next().unwrap_or_default();
    if !first_word.chars().all(char::is_alphabetic) {
        return s.to_string();
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_named_as_such() {
        let e = Error::io(
            "cannot write",
            "/media/usb/a.zip",
            std::io::Error::from(Io::StorageFull),
        );
        let shown = app_error(e, None);
        assert_eq!(shown.kind, ErrorKind::DiskFull);
        assert!(
            shown
                .message
                .starts_with("Not enough space to write /media/usb/a.zip"),
            "{}",
            shown.message
        );
        assert!(shown.hint.contains("Free some space"));
    }

    #[test]
    fn an_untrusted_certificate_says_what_to_do_in_the_app() {
        let e = Error::Connection(
            "imaps://ann@mail.example.com:993: the server's TLS certificate was refused: it is \
             self-signed. Its fingerprint is SHA256:AB:CD. If you know this is your server's own \
             certificate, pin it: add ?cert=SHA256:AB:CD to the spec, or pass --cert SHA256:AB:CD"
                .into(),
        );
        let shown = app_error(e, None);
        assert_eq!(shown.kind, ErrorKind::Connection);
        assert!(
            shown.message.ends_with("Its fingerprint is SHA256:AB:CD."),
            "{}",
            shown.message
        );
        assert!(!shown.message.contains("--cert"), "{}", shown.message);
        assert!(shown.hint.contains("Certificate field"), "{}", shown.hint);
    }

    #[test]
    fn a_refused_log_in_points_at_the_password_not_the_server() {
        let e = Error::Connection(format!(
            "ann@mail.example.com:993: {} as ann ([AUTHENTICATIONFAILED] Authentication \
             failed.); check the user name and the password",
            imap::LOGIN_REFUSED
        ));
        let shown = app_error(e, None);
        assert_eq!(shown.kind, ErrorKind::Connection);
        assert!(shown.hint.contains("app password"), "{}", shown.hint);
        assert!(!shown.hint.contains("server name"), "{}", shown.hint);
    }

    #[test]
    fn a_restore_cut_short_says_to_restore_again() {
        let e = Error::Connection(format!(
            "ann@mail.example.com:993: APPEND to INBOX failed: connection reset. Messages put \
             back before this: 2 of 9. {}",
            restore::RUN_AGAIN
        ));
        let shown = app_error(e, None);
        assert!(shown.message.contains("2 of 9"), "{}", shown.message);
        assert!(shown.hint.contains("Restore again"), "{}", shown.hint);
    }

    #[test]
    fn usage_errors_name_what_was_chosen() {
        let shown = app_error(Error::Usage("unknown mailbox kind".into()), Some("x:y"));
        assert_eq!(shown.message, "x:y: unknown mailbox kind");
        let shown = app_error(Error::Usage("the port is wrong".into()), None);
        assert_eq!(shown.message, "The port is wrong");
        assert_eq!(shown.kind, ErrorKind::Usage);
    }
}
