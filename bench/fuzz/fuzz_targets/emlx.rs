//! Apple Mail `.emlx` and `.partial.emlx` files (length line, message, plist, attachments).
#![no_main]

#[path = "quiet.rs"]
mod quiet;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quiet::quiet_caught_panics();
    mailproof_fuzz::emlx(data);
});
