//! The mbox splitter and un-quoting, over an arbitrary file.
#![no_main]

#[path = "quiet.rs"]
mod quiet;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quiet::quiet_caught_panics();
    mailproof_fuzz::mbox(data);
});
