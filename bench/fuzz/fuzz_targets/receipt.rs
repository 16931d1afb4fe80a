//! The receipt reader (JSON Lines, seal check) over an arbitrary file.
#![no_main]

#[path = "quiet.rs"]
mod quiet;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quiet::quiet_caught_panics();
    mailproof_fuzz::receipt(data);
});
