//! Exporting to a disk that is too small: a clear error naming the path and the space needed,
//! no file under the final name, nothing unfinished left taking space, the source unchanged.
//!
//! The small disk is a 5 MB tmpfs when this process may mount one (root with the capability);
//! otherwise a 5 MB file-size limit on the exporting process, which fails writes the same way.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use mailproof_tests::cli::bin;
use mailproof_tests::fixtures::bulky_maildir;
use mailproof_tests::tree::tree;

const LIMIT: u64 = 5 << 20;

/// A small disk, unmounted when dropped; `None` when mounting is not allowed here.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path) -> Option<Self> {
        fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={LIMIT}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(at.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Runs an export into `out`; under a file-size limit when there is no small disk.
fn export(source: &Path, out: &Path, limited: bool, extra: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(bin());
    cmd.args([
        "export",
        source.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .args(extra);
    if limited {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: LIMIT,
                    rlim_max: LIMIT,
                };
                libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
                // Fail the write (EFBIG) instead of killing the process.
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
    }
    let output = cmd.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_full_disk_is_named_with_the_space_needed() {
    let dir = tempfile::tempdir().unwrap();
    let source = bulky_maildir(dir.path()).unwrap();
    let before = tree(&source);
    let disk = SmallDisk::mount(&dir.path().join("small"));
    let out_dir = dir.path().join("small");
    let limited = disk.is_none();

    // Stored: the size is known before starting, so a small disk is refused at once (under a
    // file-size limit the free space looks ample, and the write fails instead).
    // Deflate: the size cannot be known, so the write fails partway.
    for extra in [&[][..], &["--compression", "deflate"][..]] {
        let out = out_dir.join("archive.zip");
        let (code, stderr) = export(&source, &out, limited, extra);
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        let partial = format!("{}.partial", out.display());
        assert!(
            stderr.contains(&format!("not enough space to write {partial}")),
            "{extra:?}: the error names the path: {stderr}"
        );
        assert!(
            stderr.contains("it needs about 7"),
            "{extra:?}: and the space needed: {stderr}"
        );
        assert!(stderr.contains("Free some space"), "{stderr}");
        assert!(!out.exists(), "{extra:?}: a final file exists");
        let left: Vec<_> = fs::read_dir(&out_dir).unwrap().collect();
        assert!(
            left.is_empty(),
            "{extra:?}: unfinished files left: {left:?}"
        );
    }
    assert_eq!(tree(&source), before, "the source changed");
    drop(disk);
}
