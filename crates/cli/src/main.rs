//! `mailproof`: the command-line front end. It parses arguments, calls the engine, and prints:
//! human output on stdout, progress and logs on stderr, JSON with `--json`.
//!
//! Exit codes: 0 all accounted for; 1 something is missing, unreadable or corrupt; 2 usage,
//! connection or I/O error.

mod commands;
mod credentials;
mod display;
mod progress;

use std::process::ExitCode;
use std::sync::OnceLock;

use clap::{Parser, Subcommand};
use mailproof_engine::progress::CancelToken;

const EXAMPLES: &str = "\
Examples:
  mailproof folders ~/Maildir
  mailproof receipt ~/.thunderbird/abc.default/Mail/Local\\ Folders -o before.receipt
  mailproof export mbox:inbox.mbox -o before.zip
  mailproof verify before.zip
  mailproof check before.receipt ~/Maildir --json report.json
  mailproof restore before.zip ~/Maildir --dry-run

A SOURCE (and BEFORE, AFTER) is a path: an mbox file, a folder of mbox files (Thunderbird), a
Maildir, a folder of .eml files, Apple Mail .emlx files, or a Mailproof archive or receipt. The
kind is detected; force it with a prefix: mbox: mbox-tree: thunderbird: maildir: eml: emlx:
archive: receipt:

Or an IMAP account: imaps://user@host[:port] (TLS), imap://user@host[:port] (STARTTLS), with
?cert=SHA256:… to accept a self-signed certificate, ?auth=xoauth2 for an access token, and
?tls=none for a server on this machine only. The password comes from MAILPROOF_PASSWORD (check:
MAILPROOF_PASSWORD_BEFORE / _AFTER), --password-file, the keychain, or a prompt.
  mailproof receipt imaps://ann@mail.example.org -o before.receipt

Exit codes: 0 all accounted for; 1 something is missing, unreadable or corrupt; 2 usage,
connection or I/O error.";

#[derive(Parser)]
#[command(
    name = "mailproof",
    version,
    about = "Prove a mailbox survived a migration: take a receipt before, check after.",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the folders of a mailbox with their message counts.
    #[command(after_help = "Example:\n  mailproof folders ~/Maildir")]
    Folders {
        /// The mailbox: a path, optionally with a kind prefix such as `mbox:`.
        source: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: credentials::ServerArgs,
    },
    /// Take a receipt: every folder and message with its SHA-256, no message bodies.
    #[command(after_help = "Example:\n  mailproof receipt ~/Maildir -o before.receipt")]
    Receipt {
        /// The mailbox: a path, optionally with a kind prefix such as `mbox:`.
        source: String,
        /// Where to write the receipt (JSON Lines).
        #[arg(short, long, value_name = "RECEIPT")]
        output: std::path::PathBuf,
        #[command(flatten)]
        run: commands::RunArgs,
    },
    /// Export every message into one zip archive, with its receipt inside.
    #[command(after_help = "Example:\n  mailproof export ~/Maildir -o before.zip")]
    Export {
        /// The mailbox: a path, optionally with a kind prefix such as `mbox:`.
        source: String,
        /// Where to write the archive (.zip).
        #[arg(short, long, value_name = "ARCHIVE.zip")]
        output: std::path::PathBuf,
        /// How to store messages: `stored` (default: fastest, mail is mostly base64 already)
        /// or `deflate` (a fifth smaller on typical mail, slower; attachments it cannot shrink
        /// are stored).
        #[arg(long, default_value = "stored", value_name = "stored|deflate")]
        compression: mailproof_engine::archive::Compression,
        #[command(flatten)]
        run: commands::RunArgs,
    },
    /// Re-hash every message of an archive and compare it with the receipt inside; for a
    /// receipt file, check that it is unchanged since it was written.
    #[command(
        after_help = "Examples:\n  mailproof verify before.zip\n  mailproof verify before.receipt --expect-code 7KQM-2XHD-P9TA"
    )]
    Verify {
        /// The archive written by `mailproof export`, or a receipt.
        archive: std::path::PathBuf,
        /// Fail unless the receipt code is this one (as read out by a helpdesk).
        #[arg(long, value_name = "CODE")]
        expect_code: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a mailbox after a migration against its receipt: what is identical, altered,
    /// moved, new, and which messages are missing.
    #[command(after_help = "\
Examples:
  mailproof check before.receipt ~/Maildir
  mailproof check before.zip ~/Maildir --map \"Sent=Sent Items\" --json report.json
  mailproof check before.receipt after.receipt --summary
  mailproof check before.receipt ~/Maildir --html report.html

BEFORE is normally a receipt (or an archive); AFTER a mailbox, which is read first, or a
receipt of it. Exit codes: 0 nothing is missing (other differences are allowed); 1 messages are
missing, or the receipt was changed after it was written; 2 usage or I/O error.")]
    Check {
        /// The mailbox before the migration: a receipt, an archive or a mailbox.
        before: String,
        /// The mailbox after the migration: a mailbox, a receipt or an archive.
        after: String,
        #[command(flatten)]
        args: commands::CheckArgs,
    },
    /// Append to a mailbox the messages it is missing, from an archive, then check again.
    #[command(after_help = "\
Examples:
  mailproof restore before.zip ~/Maildir --dry-run
  mailproof restore before.zip ~/Maildir
  mailproof restore before.zip ~/Maildir --map \"Sent=Sent Items\"

Only the messages the check finds missing are appended, with their flags and internal date,
into the folder the check maps their folder to (a folder with no counterpart is created).
Nothing already in DEST is changed or removed, and running it again appends nothing. DEST is
a Maildir; a path that does not exist yet is made one. Exit codes: 0 nothing is missing now; 1
something is still missing (e.g. an archive copy is corrupt) or the receipt was changed; 2
usage or I/O error.")]
    Restore {
        /// The archive written by `mailproof export` before the migration.
        archive: std::path::PathBuf,
        /// The mailbox to restore into: a Maildir path.
        dest: String,
        #[command(flatten)]
        args: commands::RestoreArgs,
    },
}

/// glibc raises its mmap threshold to the size of the largest block freed (up to 32 MB), after
/// which big messages are carved from per-thread heaps that never shrink: resident memory
/// then follows the largest messages seen, not the work in flight. A fixed 1 MB threshold
/// gives big buffers back to the system as soon as they are freed.
///
/// Fixing it also leaves the trim threshold at 128 KB: freeing almost any message at the top
/// of a heap then returned its pages, and the next message faulted them in again, zeroed by the
/// kernel (215,000 page faults in a receipt of 20,000 messages). Heaps keep up to 8 MB free
/// instead (a quarter of the pipeline's in-flight budget), so buffers under 1 MB are recycled;
/// the engine keeps a few bigger ones itself (35,000 faults now).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn bound_allocator() {
    // SAFETY: mallopt only changes allocator tuning; it is called before any other thread runs.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 8 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn bound_allocator() {}

/// The token Ctrl-C cancels: the first press asks the running command to stop at the next
/// message, cleanly; a second press quits at once.
fn interrupt() -> &'static CancelToken {
    static TOKEN: OnceLock<CancelToken> = OnceLock::new();
    TOKEN.get_or_init(CancelToken::new)
}

fn broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    bound_allocator();
    let token = interrupt();
    let _ = ctrlc::set_handler(move || {
        if token.is_cancelled() {
            std::process::exit(130);
        }
        token.cancel();
        eprintln!("\nStopping after the current message (press Ctrl-C again to quit at once)...");
    });
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Folders {
            source,
            json,
            server,
        } => commands::folders(&source, json, &server),
        Command::Receipt {
            source,
            output,
            run,
        } => commands::receipt(&source, &output, &run),
        Command::Export {
            source,
            output,
            compression,
            run,
        } => commands::export(&source, &output, compression, &run),
        Command::Verify {
            archive,
            expect_code,
            json,
        } => commands::verify(&archive, expect_code.as_deref(), json),
        Command::Check {
            before,
            after,
            args,
        } => commands::check(&before, &after, &args),
        Command::Restore {
            archive,
            dest,
            args,
        } => commands::restore(&archive, &dest, &args),
    };
    match result {
        Ok(outcome) => ExitCode::from(outcome as u8),
        // The reader of the output went away (`mailproof check … | head`): nobody is left to
        // tell, so no message; the status is the one a command stopped by SIGPIPE has.
        Err(error) if broken_pipe(&error) => ExitCode::from(141),
        Err(error) => {
            eprintln!("mailproof: error: {error:#}");
            ExitCode::from(commands::Outcome::Error as u8)
        }
    }
}
