//! Maildir and Maildir++: file names carrying flags, Dovecot keyword files, subfolder names.
//!
//! Input layout: a file name, a NUL, a keywords file, a NUL, a subfolder name, a NUL, the
//! message. Missing parts are empty.
#![no_main]

#[path = "quiet.rs"]
mod quiet;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quiet::quiet_caught_panics();
    mailproof_fuzz::maildir(data);
});
