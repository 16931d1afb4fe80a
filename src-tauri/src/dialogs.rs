//! Native file dialogs, and the test-only way to answer them.
//!
//! End-to-end tests cannot drive a native dialog, so debug builds (and builds with the `e2e`
//! feature) accept `--e2e-dialog=PATH` arguments: each dialog the app opens takes the next
//! answer instead of asking, in order. Release builds ignore them.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;

use tauri::{AppHandle, Runtime};
use tauri_plugin_dialog::{DialogExt, FilePath};

use crate::ipc::Pick;

/// Answers given on the command line, consumed one per dialog.
#[derive(Default)]
pub struct Answers(Mutex<VecDeque<PathBuf>>);

impl Answers {
    /// Reads `--e2e-dialog=PATH` arguments, in debug and `e2e` builds only.
    pub fn from_args() -> Self {
        #[cfg(any(debug_assertions, feature = "e2e"))]
        {
            Self(Mutex::new(
                std::env::args()
                    .filter_map(|a| a.strip_prefix("--e2e-dialog=").map(PathBuf::from))
                    .collect(),
            ))
        }
        #[cfg(not(any(debug_assertions, feature = "e2e")))]
        Self::default()
    }

    fn next(&self) -> Option<PathBuf> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
    }
}

/// Asks for a file or folder to open.
pub fn open<R: Runtime>(app: &AppHandle<R>, answers: &Answers, pick: Pick) -> Option<PathBuf> {
    if let Some(answer) = answers.next() {
        return Some(answer);
    }
    let dialog = app.dialog().file();
    let chosen = match pick {
        Pick::MailboxFolder => dialog
            .set_title("Choose the folder holding your mail")
            .blocking_pick_folder(),
        Pick::MailboxFile => dialog
            .set_title("Choose a mailbox file")
            .add_filter("Mail files", &["mbox", "mbx", "eml", "emlx", "zip"])
            .add_filter("All files", &["*"])
            .blocking_pick_file(),
        Pick::Receipt => dialog
            .set_title("Choose the receipt or archive taken before the migration")
            .add_filter("Receipts and archives", &["receipt", "zip"])
            .add_filter("All files", &["*"])
            .blocking_pick_file(),
        Pick::Archive => dialog
            .set_title("Choose the archive exported before the migration")
            .add_filter("Archives", &["zip"])
            .add_filter("All files", &["*"])
            .blocking_pick_file(),
        Pick::Profile => dialog
            .set_title("Choose the connection profile from your helpdesk")
            .add_filter("Connection profiles", &["json", "mailproof"])
            .blocking_pick_file(),
    };
    chosen.and_then(into_path)
}

/// Asks where to save, suggesting `name`.
pub fn save<R: Runtime>(
    app: &AppHandle<R>,
    answers: &Answers,
    title: &str,
    name: &str,
) -> Option<PathBuf> {
    if let Some(answer) = answers.next() {
        return Some(answer);
    }
    let mut dialog = app.dialog().file().set_title(title).set_file_name(name);
    if let Some(ext) = name.rsplit_once('.').map(|(_, e)| e) {
        dialog = dialog.add_filter(ext.to_uppercase(), &[ext]);
    }
    dialog.blocking_save_file().and_then(into_path)
}

fn into_path(chosen: FilePath) -> Option<PathBuf> {
    chosen.into_path().ok()
}
