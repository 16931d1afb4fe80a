//! Folder names on the wire are modified UTF-7 (RFC 3501 §5.1.3). Decoding is shared with the
//! check's folder mapping ([`crate::check::folders::decode_mutf7`]); encoding, needed to create
//! folders, is here.

pub use crate::check::folders::decode_mutf7 as decode;

/// Encodes a name as modified UTF-7: printable ASCII as itself (`&` as `&-`), everything else
/// as `&` + base64 of UTF-16BE with `,` for `/`, + `-`.
pub fn encode(name: &str) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
            let digits = (chunk.len() * 8).div_ceil(6);
            for i in 0..digits {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_rfc_3501() {
        for (plain, wire) in [
            ("Privé", "Priv&AOk-"),
            ("日本語", "&ZeVnLIqe-"),
            ("R&D", "R&-D"),
            ("Éléments envoyés", "&AMk-l&AOk-ments envoy&AOk-s"),
            ("😀", "&2D3eAA-"),
            ("~peter/mail/&U,BTFw-", "~peter/mail/&-U,BTFw-"),
            ("台北", "&U,BTFw-"),
        ] {
            assert_eq!(encode(plain), wire, "{plain}");
            assert_eq!(decode(wire).as_deref(), Some(plain), "{wire}");
        }
    }
}
