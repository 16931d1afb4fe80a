//! The archive file as it is written: past the page cache on local disks.
//!
//! An archive is as large as the mailbox and is not read again while it is written. Written
//! through the page cache, every byte was first copied into it by the kernel and then written
//! to disk by its flusher, while the export waited for both: on a 1.1 GB export the copy alone
//! was a sixth of the CPU time, and the whole export took half again as long. With `O_DIRECT`
//! (Linux) the disk reads the bytes from this writer's own buffer instead. Such writes must
//! start and end on block boundaries, from memory aligned to them, so only whole buffers are
//! written that way; the end of the archive (the receipt entry, whose header is patched in
//! place, and the central directory) goes through the page cache as any file does. Elsewhere
//! every write does, and the writes to disk are started as the archive grows.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

/// Bytes gathered before a write: a multiple of every block size `O_DIRECT` may require.
const BUFFER: usize = 4 << 20;

/// Alignment of the buffer in memory, for `O_DIRECT`.
const ALIGN: usize = 4096;

/// In the page cache, how many bytes are written between two calls of [`start_writeback`].
const WRITEBACK_STEP: u64 = 32 << 20;

pub(super) struct ArchiveFile {
    file: File,
    /// `BUFFER` bytes starting at an `ALIGN` boundary: `store[start..start + BUFFER]`.
    store: Vec<u8>,
    start: usize,
    /// Bytes gathered in the buffer.
    held: usize,
    /// Whether the file is open with `O_DIRECT`.
    direct: bool,
    /// Bytes written to the file, and where the last disk writes were started from.
    written: u64,
    written_back: u64,
}

impl ArchiveFile {
    /// Creates (or empties) the file at `path`.
    pub(super) fn create(path: &Path) -> io::Result<Self> {
        let (file, direct) = open(path)?;
        let store = vec![0; BUFFER + ALIGN];
        let start = store.as_ptr().align_offset(ALIGN);
        Ok(Self {
            file,
            store,
            start,
            held: 0,
            direct,
            written: 0,
            written_back: 0,
        })
    }

    /// Writes the buffer out. Unless it is full and the file open with `O_DIRECT`, the file
    /// leaves `O_DIRECT` first, for good.
    fn write_buffer(&mut self) -> io::Result<()> {
        if self.held < BUFFER && self.direct {
            self.leave_direct()?;
        }
        let mut done = 0;
        while done < self.held {
            let chunk = &self.store[self.start + done..self.start + self.held];
            match self.file.write(chunk) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A device that needs larger blocks than ALIGN refuses the write: the rest goes
                // through the page cache.
                Err(e) if self.direct && e.kind() == io::ErrorKind::InvalidInput => {
                    self.leave_direct()?
                }
                Err(e) => return Err(e),
            }
        }
        self.written += self.held as u64;
        self.held = 0;
        if !self.direct && self.written - self.written_back >= WRITEBACK_STEP {
            start_writeback(
                &self.file,
                self.written_back,
                self.written - self.written_back,
            );
            self.written_back = self.written;
        }
        Ok(())
    }

    fn leave_direct(&mut self) -> io::Result<()> {
        self.direct = false;
        set_direct(&self.file, false)
    }

    /// Writes what is gathered and returns the file, no longer `O_DIRECT`.
    pub(super) fn into_file(mut self) -> io::Result<File> {
        if self.direct {
            self.leave_direct()?;
        }
        self.write_buffer()?;
        // `self` still writes its (now empty) buffer when dropped, so the file is shared.
        self.file.try_clone()
    }
}

impl Write for ArchiveFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.held == BUFFER {
            self.write_buffer()?;
        }
        let n = data.len().min(BUFFER - self.held);
        let at = self.start + self.held;
        self.store[at..at + n].copy_from_slice(&data[..n]);
        self.held += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_buffer()?;
        self.file.flush()
    }
}

impl Seek for ArchiveFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.write_buffer()?;
        self.file.seek(to)
    }
}

impl Drop for ArchiveFile {
    /// Writes what is gathered, as a `BufWriter` does: an interrupted export continues from
    /// what its archive holds.
    fn drop(&mut self) {
        let _ = self.write_buffer();
    }
}

/// Creates the file, with `O_DIRECT` on the file systems of local disks that take it. Network
/// and FUSE file systems would turn each direct write into a wait for the server, and memory
/// file systems have no disk to write to, so they keep the page cache.
#[cfg(target_os = "linux")]
fn open(path: &Path) -> io::Result<(File, bool)> {
    let file = File::create(path)?;
    let direct = on_local_disk(&file) && set_direct(&file, true).is_ok();
    Ok((file, direct))
}

#[cfg(not(target_os = "linux"))]
fn open(path: &Path) -> io::Result<(File, bool)> {
    Ok((File::create(path)?, false))
}

/// Whether the file is on ext4, XFS, Btrfs or F2FS.
#[cfg(target_os = "linux")]
fn on_local_disk(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    const LOCAL: [u64; 4] = [0xEF53, 0x5846_5342, 0x9123_683E, 0xF2F5_2010];
    let mut fs = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: fstatfs fills `fs` for a descriptor that `file` keeps open, and it is read only
    // when the call succeeded.
    let kind = unsafe {
        if libc::fstatfs(file.as_raw_fd(), fs.as_mut_ptr()) != 0 {
            return false;
        }
        fs.assume_init().f_type
    };
    // The magic numbers are 32 bits; `f_type` is signed on some platforms.
    LOCAL.contains(&(kind as u64 & 0xFFFF_FFFF))
}

#[cfg(target_os = "linux")]
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL and F_SETFL only read and change the status flags of a descriptor that
    // `file` keeps open.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags == -1 {
        return Err(io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_DIRECT
    } else {
        flags & !libc::O_DIRECT
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_direct(_file: &File, _on: bool) -> io::Result<()> {
    Ok(())
}

/// Asks the system to start writing this range of the file to disk now, without waiting for it.
/// An archive is flushed to disk before it is renamed; left to the end, that flush wrote the
/// whole archive while nothing else happened (0.33 s of a 2.4 s export of 1.1 GB); started as
/// the archive grows, it overlaps with the hashing.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, from: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(from), Ok(len)) = (i64::try_from(from), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor is open for as long as `file` is borrowed; the call only schedules
    // writes of the file's own pages. Its result does not matter: the flush at the end decides.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), from, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _from: u64, _len: u64) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes of every size, across several buffers, with a patch written over earlier bytes
    /// (as the receipt entry's header is): the file holds exactly what was written, whether it
    /// went past the page cache or not.
    #[test]
    fn the_file_holds_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        for through_cache in [false, true] {
            let path = dir.path().join(format!("a{through_cache}.zip"));
            let mut out = ArchiveFile::create(&path).unwrap();
            if through_cache && out.direct {
                out.leave_direct().unwrap();
            }
            let mut expected = Vec::new();
            let mut next = crate::test_rng::xorshift(0x0123_4567_89ab_cdef);
            while expected.len() < 3 * BUFFER + 12_345 {
                let len = match next() % 10 {
                    0 => BUFFER + (next() % 5000) as usize,
                    1..=3 => (next() % 200_000) as usize,
                    _ => (next() % 300) as usize,
                };
                let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                out.write_all(&data).unwrap();
                expected.extend_from_slice(&data);
            }
            let at = expected.len() - 100_000;
            out.seek(SeekFrom::Start(at as u64)).unwrap();
            out.write_all(b"patched").unwrap();
            expected[at..at + 7].copy_from_slice(b"patched");
            out.seek(SeekFrom::Start(expected.len() as u64)).unwrap();
            out.write_all(b"end").unwrap();
            expected.extend_from_slice(b"end");
            drop(out.into_file().unwrap());
            assert!(
                std::fs::read(&path).unwrap() == expected,
                "{}",
                path.display()
            );
        }
    }

    /// An archive dropped unfinished (an interrupted export) keeps every byte written to it.
    #[test]
    fn a_dropped_file_keeps_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        let mut out = ArchiveFile::create(&path).unwrap();
        let data: Vec<u8> = (0..BUFFER + 777).map(|i| (i % 251) as u8).collect();
        out.write_all(&data).unwrap();
        drop(out);
        assert!(std::fs::read(&path).unwrap() == data);
    }
}
