//! Two SHA-256 computations run side by side: any two of the streams of a message's identity
//! (its raw bytes, its canonical form, its decoded attachments, its body text and letters),
//! paired by [`super::lanes`].
//!
//! With the x86 SHA extensions, one SHA-256 is bound by the latency of its chain of
//! `sha256rnds2` instructions, each waiting for the one before; the processor can start a
//! second, independent chain in the gaps. Interleaving the rounds of two messages' blocks hashes
//! both in little more time than one (measured 1.8× the throughput of two passes on AMD Zen 4),
//! and those two digests were most of the CPU time of a receipt. The values are plain SHA-256,
//! the same as `sha2` computes (checked against it below); without the extensions, or on other
//! processors, the blocks go to `sha2`'s compression one stream after the other.

use sha2::digest::generic_array::GenericArray;

/// SHA-256's initial state.
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// One SHA-256 computation: its state, the bytes of its unfinished block and its length so far.
#[derive(Clone)]
pub(super) struct Stream {
    state: [u32; 8],
    block: [u8; 64],
    /// Bytes held in `block`.
    held: usize,
    len: u64,
}

impl Stream {
    pub(super) fn new() -> Stream {
        Stream {
            state: IV,
            block: [0; 64],
            held: 0,
            len: 0,
        }
    }

    /// Completes the unfinished block from `data` and hashes it; returns what is left of `data`
    /// (all of it when no block was begun).
    fn top_up<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        if self.held == 0 {
            return data;
        }
        let take = data.len().min(64 - self.held);
        self.block[self.held..self.held + take].copy_from_slice(&data[..take]);
        self.held += take;
        if self.held == 64 {
            compress(&mut self.state, std::slice::from_ref(&self.block));
            self.held = 0;
        }
        &data[take..]
    }

    /// Keeps the bytes of an incomplete block for later: what followed the whole blocks of the
    /// input (when `top_up` finished a block or had none begun, `tail` is empty otherwise).
    fn hold(&mut self, tail: &[u8]) {
        self.block[self.held..self.held + tail.len()].copy_from_slice(tail);
        self.held += tail.len();
    }

    /// Bytes added so far.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// Adds `data` alone.
    pub(super) fn update(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        let (blocks, tail) = self.top_up(data).as_chunks::<64>();
        compress(&mut self.state, blocks);
        self.hold(tail);
    }

    pub(super) fn finish(mut self) -> [u8; 32] {
        let bits = self.len.wrapping_mul(8);
        let mut pad = [0u8; 72];
        pad[0] = 0x80;
        // Room for the 0x80, then zeros up to the length in the last 8 bytes of a block.
        let zeros = (119 - self.held) % 64;
        pad[1 + zeros..9 + zeros].copy_from_slice(&bits.to_be_bytes());
        let pad = &pad[..9 + zeros];
        let rest = self.top_up(pad);
        let (blocks, tail) = rest.as_chunks::<64>();
        debug_assert!(tail.is_empty() && self.held == 0);
        compress(&mut self.state, blocks);
        let mut out = [0u8; 32];
        for (bytes, word) in out.chunks_exact_mut(4).zip(self.state) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// Adds `a` to `first` and `b` to `second`; as many of their whole blocks as both have are
/// hashed side by side.
pub(super) fn update_pair(first: &mut Stream, a: &[u8], second: &mut Stream, b: &[u8]) {
    first.len += a.len() as u64;
    second.len += b.len() as u64;
    let (a, a_tail) = first.top_up(a).as_chunks::<64>();
    let (b, b_tail) = second.top_up(b).as_chunks::<64>();
    let both = a.len().min(b.len());
    compress_pair(&mut first.state, &mut second.state, &a[..both], &b[..both]);
    compress(&mut first.state, &a[both..]);
    compress(&mut second.state, &b[both..]);
    first.hold(a_tail);
    second.hold(b_tail);
}

/// Hashes blocks of one stream with `sha2`'s compression (which uses the SHA extensions when
/// the processor has them).
fn compress(state: &mut [u32; 8], blocks: &[[u8; 64]]) {
    for block in blocks {
        sha2::compress256(
            state,
            std::slice::from_ref(GenericArray::from_slice(&block[..])),
        );
    }
}

/// Hashes `a` into `first` and `b` into `second`, block by block side by side (as many
/// blocks in each).
fn compress_pair(first: &mut [u32; 8], second: &mut [u32; 8], a: &[[u8; 64]], b: &[[u8; 64]]) {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sha")
        && std::arch::is_x86_feature_detected!("sse4.1")
        && std::arch::is_x86_feature_detected!("ssse3")
    {
        // SAFETY: the processor has the features the function is compiled for.
        unsafe { shani::compress_pair(first, second, a, b) };
        return;
    }
    compress(first, a);
    compress(second, b);
}

#[cfg(target_arch = "x86_64")]
mod shani {
    //! The two-lane compression with the SHA extensions. The round structure is the one Intel
    //! documents for SHA-NI (state as ABEF/CDGH, four rounds per message word vector), written
    //! twice over, each instruction of one lane next to the same one of the other.

    use std::arch::x86_64::*;

    /// SHA-256's round constants.
    #[rustfmt::skip]
    static K: [u32; 64] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4,
        0xab1c_5ed5, 0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe,
        0x9bdc_06a7, 0xc19b_f174, 0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f,
        0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da, 0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7,
        0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967, 0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc,
        0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85, 0xa2bf_e8a1, 0xa81a_664b,
        0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070, 0x19a4_c116,
        0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7,
        0xc671_78f2,
    ];

    /// The next four message words from the previous sixteen.
    macro_rules! schedule {
        ($w0:expr, $w1:expr, $w2:expr, $w3:expr) => {
            _mm_sha256msg2_epu32(
                _mm_add_epi32(_mm_sha256msg1_epu32($w0, $w1), _mm_alignr_epi8($w3, $w2, 4)),
                $w3,
            )
        };
    }

    /// Four rounds of each lane, interleaved.
    macro_rules! rounds {
        ($s:ident, $wa:expr, $wb:expr, $i:expr) => {{
            let k = _mm_loadu_si128(K.as_ptr().add(4 * $i).cast());
            let (ta, tb) = (_mm_add_epi32($wa, k), _mm_add_epi32($wb, k));
            $s[1] = _mm_sha256rnds2_epu32($s[1], $s[0], ta);
            $s[3] = _mm_sha256rnds2_epu32($s[3], $s[2], tb);
            $s[0] = _mm_sha256rnds2_epu32($s[0], $s[1], _mm_shuffle_epi32(ta, 0x0E));
            $s[2] = _mm_sha256rnds2_epu32($s[2], $s[3], _mm_shuffle_epi32(tb, 0x0E));
        }};
    }

    /// Message words `$n` (from the four before it) and their rounds, in both lanes.
    macro_rules! scheduled_rounds {
        ($s:ident, $a:ident, $b:ident, $n:expr) => {{
            $a[$n % 5] = schedule!(
                $a[($n + 1) % 5],
                $a[($n + 2) % 5],
                $a[($n + 3) % 5],
                $a[($n + 4) % 5]
            );
            $b[$n % 5] = schedule!(
                $b[($n + 1) % 5],
                $b[($n + 2) % 5],
                $b[($n + 3) % 5],
                $b[($n + 4) % 5]
            );
            rounds!($s, $a[$n % 5], $b[$n % 5], $n);
        }};
    }

    /// A state as the two registers the round instruction works on: ABEF and CDGH.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn load(state: &[u32; 8]) -> (__m128i, __m128i) {
        // SAFETY: two unaligned 16-byte loads within the 32-byte state.
        let (dcba, efgh) = unsafe {
            let p = state.as_ptr().cast::<__m128i>();
            (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)))
        };
        let cdab = _mm_shuffle_epi32(dcba, 0xB1);
        let hgfe = _mm_shuffle_epi32(efgh, 0x1B);
        (
            _mm_alignr_epi8(cdab, hgfe, 8),
            _mm_blend_epi16(hgfe, cdab, 0xF0),
        )
    }

    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn store(state: &mut [u32; 8], abef: __m128i, cdgh: __m128i) {
        let feba = _mm_shuffle_epi32(abef, 0x1B);
        let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
        // SAFETY: two unaligned 16-byte stores within the 32-byte state.
        unsafe {
            let p = state.as_mut_ptr().cast::<__m128i>();
            _mm_storeu_si128(p, _mm_blend_epi16(feba, dchg, 0xF0));
            _mm_storeu_si128(p.add(1), _mm_alignr_epi8(dchg, feba, 8));
        }
    }

    /// The first four message words of a block, as big-endian words.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn words(block: &[u8; 64]) -> [__m128i; 5] {
        let swap = _mm_set_epi64x(0x0C0D_0E0F_0809_0A0B, 0x0405_0607_0001_0203);
        let p = block.as_ptr().cast::<__m128i>();
        // SAFETY: four unaligned 16-byte loads within the 64-byte block.
        unsafe {
            [
                _mm_shuffle_epi8(_mm_loadu_si128(p), swap),
                _mm_shuffle_epi8(_mm_loadu_si128(p.add(1)), swap),
                _mm_shuffle_epi8(_mm_loadu_si128(p.add(2)), swap),
                _mm_shuffle_epi8(_mm_loadu_si128(p.add(3)), swap),
                _mm_setzero_si128(),
            ]
        }
    }

    /// Compresses `a` into `first` and `b` into `second`, the same number of blocks each.
    ///
    /// # Safety
    /// The processor must have the SHA extensions, SSSE3 and SSE4.1.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn compress_pair(
        first: &mut [u32; 8],
        second: &mut [u32; 8],
        a: &[[u8; 64]],
        b: &[[u8; 64]],
    ) {
        let (abef, cdgh) = load(first);
        let (abef2, cdgh2) = load(second);
        // ABEF and CDGH of the first lane, then of the second.
        let mut s = [abef, cdgh, abef2, cdgh2];
        for (block_a, block_b) in a.iter().zip(b) {
            let saved = s;
            // The last five message word vectors of each lane, by index modulo 5.
            let mut wa = words(block_a);
            let mut wb = words(block_b);
            // SAFETY (every `rounds!`): the constant loads read K[4i..4i + 4], i < 16.
            unsafe {
                rounds!(s, wa[0], wb[0], 0);
                rounds!(s, wa[1], wb[1], 1);
                rounds!(s, wa[2], wb[2], 2);
                rounds!(s, wa[3], wb[3], 3);
                scheduled_rounds!(s, wa, wb, 4);
                scheduled_rounds!(s, wa, wb, 5);
                scheduled_rounds!(s, wa, wb, 6);
                scheduled_rounds!(s, wa, wb, 7);
                scheduled_rounds!(s, wa, wb, 8);
                scheduled_rounds!(s, wa, wb, 9);
                scheduled_rounds!(s, wa, wb, 10);
                scheduled_rounds!(s, wa, wb, 11);
                scheduled_rounds!(s, wa, wb, 12);
                scheduled_rounds!(s, wa, wb, 13);
                scheduled_rounds!(s, wa, wb, 14);
                scheduled_rounds!(s, wa, wb, 15);
            }
            for (reg, old) in s.iter_mut().zip(saved) {
                *reg = _mm_add_epi32(*reg, old);
            }
        }
        store(first, s[0], s[1]);
        store(second, s[2], s[3]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Any lengths, fed in any pieces, side by side or alone, give `sha2`'s digests.
    #[test]
    fn pairs_give_the_digests_of_each_stream() {
        let mut next = crate::test_rng::xorshift(0x853c_49e6_748f_ea9b);
        for round in 0..300 {
            let lens = [next() % 5000, next() % 5000];
            let lens = if round % 10 == 0 { [0, lens[1]] } else { lens };
            let data = lens.map(|n| (0..n).map(|_| next() as u8).collect::<Vec<u8>>());
            let mut pair = [Stream::new(), Stream::new()];
            let (mut a, mut b) = (&data[0][..], &data[1][..]);
            while !a.is_empty() || !b.is_empty() {
                let piece = |rest: &[u8], n: u64| rest.len().min((n % 300) as usize);
                let (i, j) = (piece(a, next()), piece(b, next()));
                let [first, second] = &mut pair;
                if next().is_multiple_of(4) {
                    first.update(&a[..i]);
                    second.update(&b[..j]);
                } else {
                    update_pair(first, &a[..i], second, &b[..j]);
                }
                (a, b) = (&a[i..], &b[j..]);
            }
            assert_eq!(pair[0].len(), lens[0]);
            let expected = data.clone().map(|d| <[u8; 32]>::from(Sha256::digest(d)));
            assert_eq!(pair.map(Stream::finish), expected, "{lens:?}");
        }
        // Long runs of whole blocks, side by side.
        let a = vec![0x5a; 1 << 20];
        let b: Vec<u8> = (0..(1 << 20) + 100).map(|i| i as u8).collect();
        let [mut first, mut second] = [Stream::new(), Stream::new()];
        update_pair(&mut first, &a, &mut second, &b);
        assert_eq!(
            [first.finish(), second.finish()],
            [
                <[u8; 32]>::from(Sha256::digest(&a)),
                Sha256::digest(&b).into()
            ]
        );
    }
}
