//! The archive reader: verify (including the damaged-archive scan) and reading as a source.
#![no_main]

#[path = "quiet.rs"]
mod quiet;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quiet::quiet_caught_panics();
    mailproof_fuzz::archive(data);
});
