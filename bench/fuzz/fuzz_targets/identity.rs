//! Digest, canonical digest and fingerprint of arbitrary bytes: never a panic, and the digest
//! is always the SHA-256 of the input.
#![no_main]

#[path = "quiet.rs"]
mod quiet;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quiet::quiet_caught_panics();
    mailproof_fuzz::identity(data);
});
