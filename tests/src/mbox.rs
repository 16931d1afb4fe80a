//! Writing mbox files: From_ lines and body-line quoting, shared by the fixtures and the
//! benchmark corpus so both store messages the same way.

use crate::synth;

/// `From <sender> <asctime date>`, without the line ending.
pub fn from_line(sender: &str, date: i64) -> String {
    format!("From {sender} {}", synth::asctime(date))
}

/// True when `rest` (a line and what follows) starts with `>*From `.
pub fn is_gt_from(rest: &[u8]) -> bool {
    let n = rest.iter().take_while(|&&c| c == b'>').count();
    rest[n..].starts_with(b"From ")
}

/// mboxrd quoting: one more `>` before every line matching `^>*From `.
pub fn mboxrd_quote(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 16);
    mboxrd_quote_into(msg, &mut out);
    out
}

/// [`mboxrd_quote`] appending to `out`; copies whole runs of lines that need nothing.
pub fn mboxrd_quote_into(msg: &[u8], out: &mut Vec<u8>) {
    quote_into(msg, out, b">", |rest| {
        matches!(rest.first(), Some(b'>' | b'F')) && is_gt_from(rest)
    });
}

/// Thunderbird (2018+) quoting: a space before every line starting with `From `.
pub fn space_quote(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 16);
    quote_into(msg, &mut out, b" ", |rest| rest.starts_with(b"From "));
    out
}

fn quote_into(msg: &[u8], out: &mut Vec<u8>, prefix: &[u8], needs: impl Fn(&[u8]) -> bool) {
    let mut copied = 0;
    let mut start = 0;
    while start < msg.len() {
        if needs(&msg[start..]) {
            out.extend_from_slice(&msg[copied..start]);
            out.extend_from_slice(prefix);
            copied = start;
        }
        match msg[start..].iter().position(|&c| c == b'\n') {
            Some(nl) => start += nl + 1,
            None => break,
        }
    }
    out.extend_from_slice(&msg[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        let msg = b"From: a\n\nFrom x\n>From y\n>>From z\nFromage\n >From w\nFrom ";
        assert_eq!(
            mboxrd_quote(msg),
            b"From: a\n\n>From x\n>>From y\n>>>From z\nFromage\n >From w\n>From ".to_vec()
        );
        assert_eq!(
            space_quote(b"From a\nx From b\nFrom c\n"),
            b" From a\nx From b\n From c\n"
        );
    }
}
