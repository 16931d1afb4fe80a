//! The Mailproof engine: read mailboxes without changing them, hash every message, write
//! receipts and archives, verify them, check a mailbox against a receipt, restore what it is
//! missing.
//!
//! This crate knows nothing of GUIs, argument parsing or terminals: front ends drive it through
//! [`pipeline`] and receive [`progress::Event`]s through a callback.

pub mod archive;
pub mod check;
pub mod code;
pub mod destination;
pub mod error;
pub mod identity;
pub mod imap;
pub mod names;
pub mod pipeline;
pub mod progress;
pub mod receipt;
mod recycle;
pub mod restore;
pub mod source;
pub mod sources;
pub mod units;

#[cfg(test)]
mod test_rng;

pub use error::{Error, Result};

/// The version written into receipts and archives as the producing tool.
pub const TOOL: &str = concat!("mailproof ", env!("CARGO_PKG_VERSION"));
