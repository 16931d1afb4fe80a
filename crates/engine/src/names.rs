//! Turning names taken from mail (folder names) into archive paths that are safe and open on
//! Windows, macOS and Linux. The receipt keeps the real names; these are only locations.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;

/// Longest segment, in bytes: well under every file system's 255 and leaves room for nesting.
const MAX_SEGMENT: usize = 80;
/// Longest folder path in bytes, so that `messages/<path>/<n>.eml` stays under Windows' 260.
const MAX_PATH: usize = 200;

/// Windows device names, reserved with any extension.
const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Makes one path segment safe: no separators, control or reserved characters, no `.`/`..`,
/// no reserved device name, no trailing dot or blank, NFC, bounded length.
pub fn safe_segment(name: &str) -> String {
    let mut s: String = name
        .nfc()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    while s.ends_with(['.', ' ']) {
        s.pop();
    }
    let s = s.trim_start().to_string();
    let stem = s
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end()
        .to_ascii_uppercase();
    let mut s = if s.is_empty() || s.starts_with('.') || RESERVED.contains(&stem.as_str()) {
        format!("_{s}")
    } else {
        s
    };
    truncate_utf8(&mut s, MAX_SEGMENT);
    s
}

pub(crate) fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// Hands out unique safe directory paths for folders. Uniqueness ignores case and Unicode
/// normalisation, because macOS and Windows file systems do.
#[derive(Default)]
pub struct FolderPaths {
    used: HashSet<String>,
}

impl FolderPaths {
    /// Returns a relative path (segments joined by `/`) for a folder's path segments.
    pub fn assign(&mut self, path: &[String]) -> String {
        let mut joined = path
            .iter()
            .map(|s| safe_segment(s))
            .collect::<Vec<_>>()
            .join("/");
        if joined.is_empty() {
            joined = "_".into();
        }
        truncate_utf8(&mut joined, MAX_PATH);
        while joined.ends_with(['.', ' ', '/']) {
            joined.pop();
        }
        let mut candidate = joined.clone();
        let mut n = 2;
        while !self.used.insert(fold(&candidate)) {
            candidate = format!("{joined}~{n}");
            n += 1;
        }
        // A later folder must not land inside this one by accident of truncation or suffix;
        // reserving the exact key is enough, as each message file name is unique within it.
        candidate
    }
}

fn fold(s: &str) -> String {
    s.nfc().flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(s: &str) -> String {
        safe_segment(s)
    }

    #[test]
    fn hostile_names_become_safe() {
        assert_eq!(seg(".."), "_");
        assert_eq!(seg("."), "_");
        assert_eq!(seg(""), "_");
        assert_eq!(seg("../../etc"), "_.._.._etc");
        assert_eq!(seg("/abs"), "_abs");
        assert_eq!(seg("CON"), "_CON");
        assert_eq!(seg("nul.txt"), "_nul.txt");
        assert_eq!(seg("a\u{7}b\nc"), "a_b_c");
        assert_eq!(seg("trailing. "), "trailing");
        assert_eq!(seg("Privé"), "Privé");
        assert!(seg(&"x".repeat(300)).len() <= MAX_SEGMENT);
        assert!(seg(&"é".repeat(300)).len() <= MAX_SEGMENT);
        for s in ["..", "../x", "/", "C:", "a/b", "a\\b"] {
            let out = seg(s);
            assert!(!out.contains(['/', '\\', ':']), "{s} -> {out}");
            assert!(out != "." && out != "..");
        }
    }

    #[test]
    fn paths_are_unique_across_case_and_normalisation() {
        let mut p = FolderPaths::default();
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(p.assign(&v(&["INBOX"])), "INBOX");
        assert_eq!(p.assign(&v(&["inbox"])), "inbox~2");
        assert_eq!(p.assign(&v(&["Caf\u{e9}"])), "Café");
        assert_eq!(p.assign(&v(&["Cafe\u{301}"])), "Café~2");
        assert_eq!(p.assign(&v(&["a", "b"])), "a/b");
        assert_eq!(p.assign(&v(&["a/b"])), "a_b");
        let long = "y".repeat(300);
        let first = p.assign(&v(&[&long, &long, &long]));
        let second = p.assign(&v(&[&long, &long, &long, "z"]));
        assert!(first.len() <= MAX_PATH && second.len() <= MAX_PATH + 3);
        assert_ne!(first, second);
    }
}
