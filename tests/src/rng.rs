//! A small seeded pseudo-random generator (SplitMix64).
//!
//! Generated mail must be byte-identical for a given seed on every machine and every compiler
//! version, so this avoids external generators whose streams may change between releases, and
//! avoids the platform maths library: the only floating-point operations used are the
//! correctly rounded basic ones (+ − × ÷), never `ln`/`exp`/`cos`.

/// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state, good statistical quality, and
/// trivially splittable into independent streams, which lets generators build message `i`
/// without building messages `0..i` first.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function, also used to derive stream seeds.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// An independent stream for `(seed, stream, index)`, e.g. message 1234 of corpus seed 1.
    pub fn derive(seed: u64, stream: u64, index: u64) -> Rng {
        let a = mix(seed.wrapping_add(GOLDEN));
        let b = mix(a ^ stream
            .wrapping_mul(GOLDEN)
            .wrapping_add(0x5851_F42D_4C95_7F2D));
        Rng::new(mix(b ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03)))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// Uniform in `0..n` (`n > 0`); the multiply-shift bias is below 2^-40 for our sizes.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform `usize` in `lo..=hi`.
    pub fn range_usize(&mut self, lo: usize, hi: usize) -> usize {
        self.range(lo as u64, hi as u64) as usize
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn with the given (non-negative, not all zero) weights.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// Approximately standard normal (Irwin–Hall: sum of 12 uniforms − 6), tails cut at ±6.
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.f64()).sum::<f64>() - 6.0
    }

    /// Log-normal with the given median and shape `sigma`.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * exp(sigma * self.normal())
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let bytes = self.next_u64().to_le_bytes();
            rest.copy_from_slice(&bytes[..rest.len()]);
        }
    }

    /// A random string of `n` characters drawn from an ASCII `alphabet`.
    pub fn token(&mut self, n: usize, alphabet: &[u8]) -> String {
        (0..n)
            .map(|_| *self.pick(alphabet) as char)
            .collect::<String>()
    }
}

/// Alphabets for [`Rng::token`].
pub const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const HEX_UPPER: &[u8] = b"0123456789ABCDEF";
pub const HEX_LOWER: &[u8] = b"0123456789abcdef";

/// `e^x` from basic operations only, so results are identical on every platform.
pub fn exp(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let k = (x / LN2).round();
    let r = x - k * LN2; // |r| <= ln2 / 2
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..=20 {
        term = term * r / n as f64;
        sum += term;
    }
    let mut k = k as i32;
    while k > 0 {
        sum *= 2.0;
        k -= 1;
    }
    while k < 0 {
        sum *= 0.5;
        k += 1;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // First outputs of SplitMix64 seeded with 0, as published with the algorithm.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn exp_is_close_to_std() {
        for x in [-5.0, -1.0, -0.1, 0.0, 0.3, 1.0, 2.5, 7.0] {
            let rel = (exp(x) - f64::exp(x)).abs() / f64::exp(x);
            assert!(rel < 1e-14, "{x}: {rel}");
        }
    }

    #[test]
    fn streams_differ() {
        let a = Rng::derive(1, 0, 0).next_u64();
        let b = Rng::derive(1, 0, 1).next_u64();
        let c = Rng::derive(1, 1, 0).next_u64();
        let d = Rng::derive(2, 0, 0).next_u64();
        assert!(a != b && a != c && a != d && b != c);
    }
}
