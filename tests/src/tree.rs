//! What a folder holds, for tests that must prove a command wrote nothing, changed nothing, or
//! only added.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Every directory and file under a folder, by path relative to it: `None` for a directory,
/// a file's bytes and modification time otherwise. Links are not followed.
pub type Tree = BTreeMap<PathBuf, Option<(Vec<u8>, SystemTime)>>;

pub fn tree(dir: &Path) -> Tree {
    let mut out = Tree::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("a readable folder") {
            let path = entry.expect("a folder entry").path();
            let rel = path
                .strip_prefix(dir)
                .expect("below the folder")
                .to_path_buf();
            let meta = fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                stack.push(path);
                out.insert(rel, None);
            } else {
                let bytes = fs::read(&path).unwrap_or_default();
                out.insert(rel, Some((bytes, meta.modified().expect("mtime"))));
            }
        }
    }
    out
}

/// Every file under a folder (full paths), sorted; nothing for a folder that does not exist.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("a readable folder") {
            let path = entry.expect("a folder entry").path();
            if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
