//! Big message buffers kept for the next big message.
//!
//! Allocators serve a buffer of a megabyte or more with fresh pages from the system and give
//! them back when it is freed, so every page of every big message (and of its copy with the
//! encoded bodies cut out) was faulted in and zeroed by the kernel before the message was copied
//! over it: 4% of a receipt's CPU time on mail with attachments. Buffers under [`SMALLEST`] are
//! left to the allocator, which reuses them well. What is kept is bounded by [`KEPT`], and a
//! kept buffer is lent only for a request of at least half its size (or grown to it), so a
//! lent buffer holds at most twice the room asked for.

use std::sync::Mutex;

/// Buffers smaller than this are not kept.
const SMALLEST: usize = 1 << 20;

/// The most bytes kept at once; the oldest buffers are dropped first.
const KEPT: usize = 32 << 20;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// `bytes` with room for `room` bytes in all: grown in place when small, moved into a kept
/// buffer when big.
pub(crate) fn grow(mut bytes: Vec<u8>, room: usize) -> Vec<u8> {
    if room < SMALLEST || room <= bytes.capacity() {
        bytes.reserve_exact(room.saturating_sub(bytes.len()));
        return bytes;
    }
    let mut big = take(room);
    big.extend_from_slice(&bytes);
    give_back(bytes);
    big
}

/// Appends `data` to `bytes`, which grows as a `Vec` does (doubling) but into kept buffers
/// once it is big: for messages whose size is known only at their end (mbox).
pub(crate) fn extend(bytes: &mut Vec<u8>, data: &[u8]) {
    let need = bytes.len() + data.len();
    if need > bytes.capacity() && need >= SMALLEST {
        let room = need.max(bytes.capacity() * 2);
        *bytes = grow(std::mem::take(bytes), room);
    }
    bytes.extend_from_slice(data);
}

/// Gives up the spare room of a small buffer; a big one keeps it, to be lent again whole.
pub(crate) fn fit(bytes: &mut Vec<u8>) {
    if bytes.capacity() < SMALLEST && bytes.capacity() - bytes.len() > 4096 {
        bytes.shrink_to_fit();
    }
}

/// An empty buffer with room for at least `room` bytes: the smallest kept buffer that holds
/// it if that is at most twice the size; else the biggest kept buffer that is too small, grown
/// (the pages it has are not faulted again); else a new one.
pub(crate) fn take(room: usize) -> Vec<u8> {
    if room < SMALLEST {
        return Vec::with_capacity(room);
    }
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let holds = |b: &Vec<u8>| (room..=room.saturating_mul(2)).contains(&b.capacity());
    let chosen = pool
        .iter()
        .enumerate()
        .filter(|(_, b)| holds(b))
        .min_by_key(|(_, b)| b.capacity())
        .or_else(|| {
            pool.iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() < room)
                .max_by_key(|(_, b)| b.capacity())
        })
        .map(|(i, _)| i);
    let Some(mut bytes) = chosen.map(|i| pool.remove(i)) else {
        return Vec::with_capacity(room);
    };
    drop(pool);
    bytes.reserve_exact(room);
    bytes
}

/// Keeps a buffer that is no longer needed for a later [`take`] or [`grow`], if it is big.
pub(crate) fn give_back(mut bytes: Vec<u8>) {
    if bytes.capacity() < SMALLEST || bytes.capacity() > KEPT {
        return;
    }
    bytes.clear();
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    pool.push(bytes);
    let mut kept: usize = pool.iter().map(Vec::capacity).sum();
    while kept > KEPT {
        kept -= pool.remove(0).capacity();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test, because the pool is shared: the sizes here are used by no other test.
    #[test]
    fn big_buffers_are_lent_again_small_ones_grow_and_the_pool_stays_bounded() {
        let first = grow(b"head".to_vec(), 3 * SMALLEST + 17);
        assert_eq!(first, b"head");
        assert!(first.capacity() >= 3 * SMALLEST + 17);
        let address = first.as_ptr();
        give_back(first);

        let second = grow(b"next".to_vec(), 3 * SMALLEST + 5);
        assert_eq!(
            second, b"next",
            "a kept buffer is cleared before it is lent"
        );
        assert_eq!(second.as_ptr(), address, "the kept buffer is lent again");

        // Far smaller than the kept buffer: a buffer of its own, not one twice its size.
        give_back(second);
        let other = grow(Vec::new(), SMALLEST + 3);
        assert!(other.capacity() < 2 * (SMALLEST + 3));
        assert_ne!(other.as_ptr(), address);

        let mut grown = b"start".to_vec();
        let line = vec![b'x'; 1000];
        for _ in 0..4 * SMALLEST / line.len() {
            extend(&mut grown, &line);
        }
        assert_eq!(grown.len(), 5 + 4 * SMALLEST / line.len() * line.len());
        assert!(grown.starts_with(b"startxxx") && grown.ends_with(b"xxx"));
        assert!(grown.capacity() < 2 * grown.len() + SMALLEST);

        let small = grow(vec![1, 2, 3], 100);
        assert_eq!(small, [1, 2, 3]);
        assert!(small.capacity() >= 100);

        for _ in 0..3 * KEPT / (5 * SMALLEST) {
            give_back(Vec::with_capacity(5 * SMALLEST + 1));
        }
        let kept: usize = POOL.lock().unwrap().iter().map(Vec::capacity).sum();
        assert!(kept <= KEPT, "{kept} bytes kept");
        assert!(kept > KEPT - 5 * SMALLEST - 1, "{kept} bytes kept");
    }
}
