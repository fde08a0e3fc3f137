//! SplitMix64: the one pseudo-random generator of tritium (sampling,
//! synthetic weights, random co-simulation data, fuzzing, tests).
//!
//! Tiny, platform-independent and fully determined by its seed, so a seed
//! names the same weights and the same samples on every machine. Not for
//! cryptography.

/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit counter stepped by the
/// golden-ratio increment, each output a bijective mix of the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

/// The golden-ratio increment of the counter.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// An independent stream per `(seed, name)`: the FNV-1a hash of `name`
    /// mixed with the seed (synthetic tensors each get their own stream, so
    /// a tensor's values do not depend on the order tensors are generated in).
    pub fn for_name(seed: u64, name: &str) -> SplitMix64 {
        let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        SplitMix64::new(h ^ seed.wrapping_mul(GAMMA))
    }

    /// Skips `n` draws of [`next_u64`](Self::next_u64) in constant time (the
    /// state is a counter): a stream can be cut into parts made in parallel,
    /// each part's generator skipped to its first draw, with the same values.
    pub fn skip(&mut self, n: u64) {
        self.state = self.state.wrapping_add(GAMMA.wrapping_mul(n));
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`0` when `n` is 0); the modulo bias is below
    /// `n / 2^64`.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A uniform draw in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately standard normal: the Irwin-Hall sum of four 16-bit
    /// uniforms of one draw, exact integer arithmetic up to one final
    /// scaling (mean `2 * 65535`, variance `4 * (65536^2 - 1) / 12`).
    #[inline]
    pub fn normal(&mut self) -> f32 {
        let s = field_sum(self.next_u64());
        (s as f32 - 131_070.0) * (3.0f32.sqrt() / 65_536.0)
    }
}

/// The sum of the four 16-bit fields of `r`, added in two steps side by
/// side in one register (no carry crosses a 32-bit half: each sum is below
/// 2^18).
#[inline]
fn field_sum(r: u64) -> u32 {
    let pairs = (r & 0x0000_ffff_0000_ffff) + ((r >> 16) & 0x0000_ffff_0000_ffff);
    ((pairs & 0xffff_ffff) + (pairs >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::{field_sum, SplitMix64};

    /// The reference outputs of SplitMix64 seeded with 0 (as in the
    /// reference C implementation): a changed constant changes every seed's
    /// weights, so it is pinned.
    #[test]
    fn matches_the_reference_sequence() {
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn skip_jumps_to_the_same_draws() {
        let mut seq = SplitMix64::for_name(3, "w");
        let draws: Vec<u64> = (0..1000).map(|_| seq.next_u64()).collect();
        for n in [0u64, 1, 2, 63, 999] {
            let mut r = SplitMix64::for_name(3, "w");
            r.skip(n);
            assert_eq!(r.next_u64(), draws[n as usize], "skip {n}");
        }
        // Skips add up, wrapping past 2^64 draws like the stream.
        let mut a = SplitMix64::new(9);
        a.skip(u64::MAX);
        a.skip(2);
        let mut b = SplitMix64::new(9);
        b.skip(1);
        assert_eq!(a, b);
    }

    /// `normal` adds the four 16-bit fields of a draw side by side in one
    /// register: the same sum as adding them one by one, so the same
    /// synthetic weights as before that change.
    #[test]
    fn normal_is_the_sum_of_the_four_fields() {
        let plain = |r: u64| {
            let s: u32 = (0..4).map(|i| ((r >> (16 * i)) & 0xffff) as u32).sum();
            (s as f32 - 131_070.0) * (3.0f32.sqrt() / 65_536.0)
        };
        let mut draws = SplitMix64::new(5);
        let mut normals = SplitMix64::new(5);
        for _ in 0..100_000 {
            let want = plain(draws.next_u64());
            assert_eq!(normals.normal().to_bits(), want.to_bits());
        }
        // Extremes: every field 0, every field 0xffff, alternating.
        for r in [0u64, u64::MAX, 0xffff_0000_ffff_0000, 0x0000_ffff_0000_ffff] {
            let want: u32 = (0..4).map(|i| ((r >> (16 * i)) & 0xffff) as u32).sum();
            assert_eq!(field_sum(r), want, "{r:#x}");
        }
    }

    #[test]
    fn named_streams_differ_and_repeat() {
        let a = SplitMix64::for_name(1, "a").next_u64();
        assert_eq!(a, SplitMix64::for_name(1, "a").next_u64());
        assert_ne!(a, SplitMix64::for_name(1, "b").next_u64());
        assert_ne!(a, SplitMix64::for_name(2, "a").next_u64());
    }

    #[test]
    fn draws_stay_in_range() {
        let mut r = SplitMix64::new(7);
        for n in [1u64, 2, 3, 1000] {
            assert!((0..1000).all(|_| r.below(n) < n));
        }
        assert_eq!(r.below(0), 0);
        assert!((0..1000)
            .map(|_| r.uniform())
            .all(|u| (0.0..1.0).contains(&u)));
        let mean: f32 = (0..10_000).map(|_| r.normal()).sum::<f32>() / 10_000.0;
        assert!(mean.abs() < 0.05, "{mean}");
    }
}
