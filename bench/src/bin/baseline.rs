//! The physical floor for `mailproof receipt`: read every file of a directory tree and SHA-256
//! it, on all cores, and nothing else (no parsing, no output files).
//!
//! With `--copy-to FILE`, also the floor for a stored `mailproof export`: every file is appended
//! to FILE as soon as it is hashed (one writer at a time, through a 1 MB buffer), and FILE is
//! flushed to disk at the end, as an archive is.
//!
//! ```text
//! baseline [--threads N] [--copy-to FILE] [--json] DIR
//! ```
//!
//! Prints files, bytes, seconds (walk included, as a reader must walk too) and MB/s
//! (10^6 bytes per second), plus an XOR of all digests so the work cannot be skipped.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use sha2::{Digest, Sha256};

const USAGE: &str = "usage: baseline [--threads N] [--copy-to FILE] [--json] DIR";

/// Regular files under `dir` with their sizes; symbolic links are not followed.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(&entry.path(), out)?;
        } else if ft.is_file() {
            out.push((entry.path(), entry.metadata()?.len()));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut json = false;
    let mut copy_to = None;
    let mut dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) if n > 0 => threads = n,
                _ => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--copy-to" => match args.next() {
                Some(path) => copy_to = Some(PathBuf::from(path)),
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--json" => json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if dir.is_none() && !a.starts_with('-') => dir = Some(PathBuf::from(a)),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(dir) = dir else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };

    let t0 = Instant::now();
    let mut files = Vec::new();
    if let Err(e) = walk(&dir, &mut files) {
        eprintln!("baseline: cannot walk {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let walk_s = t0.elapsed().as_secs_f64();
    // Largest first, so the last big file does not leave the other cores idle.
    files.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    let sink = match copy_to.as_deref().map(File::create).transpose() {
        Ok(file) => file.map(|f| Mutex::new(BufWriter::with_capacity(1 << 20, f))),
        Err(e) => {
            eprintln!("baseline: cannot create the copy: {e}");
            return ExitCode::from(2);
        }
    };
    let next = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let combined = Mutex::new([0u8; 32]);
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut buf = vec![0u8; 256 * 1024];
                let mut acc = [0u8; 32];
                let mut done = 0u64;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, _)) = files.get(i) else { break };
                    let mut hasher = Sha256::new();
                    let read = File::open(path).and_then(|mut f| match &sink {
                        // Whole files, so that each lands in one piece.
                        Some(sink) => {
                            let mut whole = Vec::new();
                            f.read_to_end(&mut whole)?;
                            hasher.update(&whole);
                            let mut out = sink.lock().unwrap_or_else(|p| p.into_inner());
                            out.write_all(&whole)?;
                            Ok(whole.len() as u64)
                        }
                        None => {
                            let mut n = 0u64;
                            loop {
                                let k = f.read(&mut buf)?;
                                if k == 0 {
                                    return Ok(n);
                                }
                                hasher.update(&buf[..k]);
                                n += k as u64;
                            }
                        }
                    });
                    match read {
                        Ok(n) => {
                            done += n;
                            for (a, b) in acc.iter_mut().zip(hasher.finalize()) {
                                *a ^= b;
                            }
                        }
                        Err(e) => failed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(format!("{}: {e}", path.display())),
                    }
                }
                bytes.fetch_add(done, Ordering::Relaxed);
                let mut c = combined.lock().unwrap_or_else(|p| p.into_inner());
                for (a, b) in c.iter_mut().zip(acc) {
                    *a ^= b;
                }
            });
        }
    });
    if let Some(sink) = sink {
        let flushed = sink
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all());
        if let Err(e) = flushed {
            eprintln!("baseline: cannot write the copy: {e}");
            return ExitCode::from(2);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let bytes = bytes.load(Ordering::Relaxed);
    let xor: String = combined
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    for f in &failed {
        eprintln!("baseline: cannot read {f}");
    }
    let mb_s = bytes as f64 / 1e6 / secs;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "files": files.len(), "bytes": bytes, "seconds": secs, "walk_seconds": walk_s,
                "mb_per_s": mb_s, "threads": threads, "unreadable": failed.len(), "xor_of_digests": xor,
            })
        );
    } else {
        println!(
            "files {} bytes {bytes} seconds {secs:.3} MB/s {mb_s:.1} threads {threads} (walk {walk_s:.3}s) xor-of-digests {xor}",
            files.len()
        );
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
