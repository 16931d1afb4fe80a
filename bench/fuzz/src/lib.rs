//! The bodies of the fuzz targets, kept apart from libFuzzer so that the regression test in
//! `tests/` replays every saved crashing input through exactly the same code.
//!
//! Each function takes arbitrary bytes; any error is fine, a panic or a failed assertion is a
//! bug.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use mailproof_engine::archive::{self, ArchiveSource};
use mailproof_engine::identity::identify;
use mailproof_engine::progress::CancelToken;
use mailproof_engine::receipt::{Receipt, ReceiptReader, hex};
use mailproof_engine::source::{Entry, Source};
use mailproof_engine::sources::{emlx::EmlxSource, maildir::MaildirSource, mbox::MboxSource};
use sha2::{Digest, Sha256};

/// A target: arbitrary bytes in, a panic when something is wrong.
pub type Target = fn(&[u8]);

/// The targets by name, as `bench/fuzz/run.sh` and the regression test know them.
pub const TARGETS: [(&str, Target); 6] = [
    ("mbox", mbox),
    ("maildir", maildir),
    ("emlx", emlx),
    ("receipt", receipt),
    ("archive", archive),
    ("identity", identity),
];

/// The mbox splitter and un-quoting, over an arbitrary file.
pub fn mbox(data: &[u8]) {
    let dir = scratch();
    let path = dir.join("Inbox.mbox");
    std::fs::write(&path, data).unwrap();
    if let Ok(source) = MboxSource::open(&path) {
        drain(Box::new(source));
    }
}

/// Apple Mail `.emlx` and `.partial.emlx` files (length line, message, plist, attachments).
pub fn emlx(data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let dir = scratch();
    let messages = dir.join("Inbox.mbox").join("Messages");
    std::fs::create_dir_all(&messages).unwrap();
    let name = if mode & 1 == 0 {
        "1.emlx"
    } else {
        "1.partial.emlx"
    };
    std::fs::write(messages.join(name), data).unwrap();
    if mode & 2 != 0 {
        // An attachment beside a partial message, as Apple Mail stores it.
        let part = dir
            .join("Inbox.mbox")
            .join("Attachments")
            .join("1")
            .join("2");
        std::fs::create_dir_all(&part).unwrap();
        std::fs::write(part.join("file.bin"), &data[..data.len() / 2]).unwrap();
    }
    if let Ok(source) = EmlxSource::open(&dir) {
        drain(Box::new(source));
    }
}

/// Turns arbitrary bytes into one valid file-name component (or None).
fn component(bytes: &[u8]) -> Option<String> {
    let mut name = String::new();
    for c in String::from_utf8_lossy(bytes).chars() {
        // File systems cap a name at 255 bytes; stay under it.
        if name.len() + c.len_utf8() > 200 {
            break;
        }
        if c != '/' && c != '\0' {
            name.push(c);
        }
    }
    (!name.is_empty() && name != "." && name != "..").then_some(name)
}

/// Maildir and Maildir++: file names carrying flags, Dovecot keyword files, subfolder names.
///
/// Input layout: a file name, a NUL, a keywords file, a NUL, a subfolder name, a NUL, the
/// message. Missing parts are empty.
pub fn maildir(data: &[u8]) {
    let mut parts = data.splitn(4, |&b| b == 0);
    let name = parts.next().unwrap_or_default();
    let keywords = parts.next().unwrap_or_default();
    let sub = parts.next().unwrap_or_default();
    let message = parts.next().unwrap_or_default();

    let dir = scratch();
    let root = dir.join("Maildir");
    for d in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("dovecot-keywords"), keywords).unwrap();
    let file = component(name).unwrap_or_else(|| "1.host:2,S".into());
    std::fs::write(root.join("cur").join(&file), message).unwrap();
    std::fs::write(root.join("new").join(&file), message).unwrap();
    if let Some(sub) = component(sub) {
        let folder = root.join(format!(".{sub}"));
        if std::fs::create_dir_all(folder.join("cur")).is_ok() {
            let _ = std::fs::write(folder.join("cur").join(&file), message);
        }
    }
    if let Ok(source) = MaildirSource::open(&root) {
        drain(Box::new(source));
    }
}

/// The receipt reader (JSON Lines, seal check) over an arbitrary file.
pub fn receipt(data: &[u8]) {
    let dir = scratch();
    let path = dir.join("fuzz.receipt");
    std::fs::write(&path, data).unwrap();
    let _ = Receipt::load(&path);
    if let Ok(mut reader) = ReceiptReader::open(&path) {
        while let Ok(Some(_)) = reader.next_record() {}
        let _ = reader.seal_check();
    }
}

/// The archive reader: verify (including the damaged-archive scan) and reading as a source.
pub fn archive(data: &[u8]) {
    let dir = scratch();
    let path = dir.join("fuzz.zip");
    std::fs::write(&path, data).unwrap();
    let _ = archive::verify(&path, &CancelToken::new(), &|_| {});
    if let Ok(source) = ArchiveSource::open(&path) {
        drain(Box::new(source));
    }
}

/// Digest, canonical digest and fingerprint of arbitrary bytes: never a panic, and the digest
/// is always the SHA-256 of the input.
pub fn identity(data: &[u8]) {
    let id = identify(data);
    let again = identify(data);
    assert_eq!(id.digest, hex(&Sha256::digest(data)));
    assert_eq!(id.digest, again.digest);
    assert_eq!(id.fingerprint, again.fingerprint);
}

/// A fresh, empty folder for one input, removed when dropped.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Memory-backed when possible: the targets write every input to disk.
fn scratch() -> Scratch {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!(
        "mailproof-fuzz-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    Scratch(dir)
}

/// Lists every folder and reads every message; errors are fine, panics are not.
fn drain(mut source: Box<dyn Source>) {
    let Ok(folders) = source.folders() else {
        return;
    };
    for folder in &folders {
        let _ = source.read_folder(folder, &mut |entry| {
            match entry {
                Entry::Message(m) => assert!(!m.source_id.is_empty()),
                Entry::Unreadable { reason, .. } => assert!(!reason.is_empty()),
            }
            ControlFlow::Continue(())
        });
    }
}
