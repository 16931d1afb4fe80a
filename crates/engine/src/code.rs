//! Receipt codes: a short, read-aloud-friendly name for one exact receipt, so a helpdesk can
//! confirm over the phone which receipt a user holds.

/// 32 symbols with none that sound or look alike: no 0/O, 1/I.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Formats the first 60 bits of a SHA-256 (hex) as `XXXX-XXXX-XXXX`.
///
/// 60 bits make an accidental match between two receipts of one user practically impossible,
/// while staying short enough to read out.
pub fn receipt_code(sha256_hex: &str) -> String {
    let mut bits: u64 = 0;
    for c in sha256_hex.chars().take(15) {
        bits = (bits << 4) | u64::from(c.to_digit(16).unwrap_or(0));
    }
    let mut out = String::with_capacity(14);
    for i in 0..12u32 {
        if i > 0 && i.is_multiple_of(4) {
            out.push('-');
        }
        let shift = 55 - 5 * i;
        out.push(ALPHABET[((bits >> shift) & 31) as usize] as char);
    }
    out
}

/// Normalises a code typed by a person: case, blanks and dashes do not matter.
pub fn normalise_code(typed: &str) -> String {
    let clean: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    clean
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_shape_and_stability() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let code = receipt_code(hex);
        assert_eq!(code.len(), 14);
        assert_eq!(code, receipt_code(hex));
        assert!(
            code.chars()
                .all(|c| c == '-' || ALPHABET.contains(&(c as u8)))
        );
        assert_ne!(code, receipt_code(&hex.replace('e', "f")));
        assert_eq!(receipt_code(&"0".repeat(64)), "2222-2222-2222");
    }

    #[test]
    fn typed_codes_are_forgiving() {
        let code = receipt_code("00ff00ff00ff00ff");
        assert_eq!(normalise_code(&code.to_lowercase().replace('-', " ")), code);
        assert_eq!(normalise_code(" ab2c 3d-ef"), "AB2C-3DEF");
    }
}
