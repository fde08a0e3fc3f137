//! The second kernel family: activation lookup tables (T-MAC / TL1 style),
//! the decode kernel of the `avx2-lut` path ([`lut_panels`], called per job
//! item by the engine), chosen with `--kernel avx2-lut`. On the Xeon it
//! decoded the whole 2B4T shape 7-11 % faster than the multiply-add family
//! (`T2P16`), but the base-3 body was faster still, and on AMD Zen 3 the
//! multiply-add kernel is; so the default `avx2` path picks its body by a
//! run-time probe instead ([`crate::calibrate`]; the README's "Decode
//! families on AVX2" has the figures). `tritium bench` also times
//! [`lut_matvec`] against the multiply-add kernel per matrix shape.
//!
//! # Layout `L2B32`
//! Weights in pairs of inputs `(2p, 2p + 1)`; a pair of codes `(c0, c1)` is
//! the 4-bit index `c0 + 3 c1` (0..9). Rows in blocks of 32 (one byte lane
//! each), pairs in steps of two: the 32 bytes of step `m` of block `g` hold,
//! for row `32g + i`, the index of pair `2m` in the low nibble and of pair
//! `2m + 1` in the high nibble: 2 bits per weight, like `T2P16`.
//!
//! # Kernel
//! Per token, a table per pair: `T_p[c0 + 3 c1] = (c0 - 1) a_2p + (c1 - 1)
//! a_2p+1`, in -256..=254, split into a low-byte and a high-byte table of
//! 16 entries. Per step, two `vpshufb` per pair look the 32 rows' partial
//! sums up; `vpunpck{l,h}bw` rebuild the i16 values, which add into i16
//! accumulators (at most 512 per step of two pairs, so they are widened to
//! i32 every 32 steps: 64 steps would reach 32768 at the extremes, which the
//! worst-case test caught). No multiplies at all, and no sum-of-activations correction.

use rayon::prelude::*;
use tritium_golden::TernaryMatrix;

/// Rows per block (byte lanes of a 256-bit register).
pub const LUT_ROWS: usize = 32;

/// A ternary matrix in the `L2B32` layout.
#[derive(Clone)]
pub struct LutMatrix {
    n: usize,
    k: usize,
    /// Steps of two pairs (four inputs) per row block.
    steps: usize,
    data: Vec<u8>,
}

impl std::fmt::Debug for LutMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LutMatrix({} x {}, L2B32)", self.n, self.k)
    }
}

impl LutMatrix {
    /// Repacks `w` (lossless; padding is weight 0, index 4 = codes (1, 1)).
    pub fn from_matrix(w: &TernaryMatrix) -> LutMatrix {
        let (n, k) = (w.n(), w.k());
        let steps = k.div_ceil(4);
        let blocks = n.div_ceil(LUT_ROWS);
        let mut data = vec![0x44u8; blocks * steps * LUT_ROWS];
        data.par_chunks_mut(steps * LUT_ROWS)
            .enumerate()
            .for_each(|(g, blk)| {
                for i in 0..LUT_ROWS.min(n - g * LUT_ROWS) {
                    let r = g * LUT_ROWS + i;
                    let code = |c: usize| if c < k { (w.get(r, c) + 1) as u8 } else { 1 };
                    for m in 0..steps {
                        let idx = |p: usize| code(2 * p) + 3 * code(2 * p + 1);
                        blk[m * LUT_ROWS + i] = idx(2 * m) | (idx(2 * m + 1) << 4);
                    }
                }
            });
        LutMatrix { n, k, steps, data }
    }

    /// Bytes streamed per matvec.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Address of the first byte.
    pub fn addr(&self) -> usize {
        self.data.as_ptr() as usize
    }

    /// Pairs of inputs the tables cover (two per step).
    pub fn pairs(&self) -> usize {
        2 * self.steps
    }
}

/// Rows `16 p0 .. 16 (p0 + np)` of one token into `out` (in row order: the
/// panel-major layout of a single token row), from tables built by
/// [`build_tables`] for that token: the kernel of the `avx2-lut` path,
/// called per job item like the `T2P16` kernels. `p0` must be even (a
/// block of 32 rows is two panels of 16).
#[cfg(target_arch = "x86_64")]
pub fn lut_panels(w: &LutMatrix, tables: &[u8], p0: usize, np: usize, out: &mut [i32]) {
    assert!(p0.is_multiple_of(2) && np > 0);
    assert!(16 * (p0 + np) <= w.n.next_multiple_of(LUT_ROWS));
    assert!(out.len() >= 16 * np);
    assert!(tables.len() >= 2 * w.steps * 32);
    assert!(std::arch::is_x86_feature_detected!("avx2"));
    let (g0, g1) = (p0 / 2, (p0 + np).div_ceil(2));
    for g in g0..g1 {
        let blk = &w.data[g * w.steps * LUT_ROWS..(g + 1) * w.steps * LUT_ROWS];
        let mut full = [0i32; LUT_ROWS];
        // SAFETY: AVX2 checked; blk holds steps * 32 bytes and tables
        // steps * 2 tables of 32 bytes (asserted above).
        unsafe { x86::block(blk, tables, w.steps, &mut full) };
        let at = (g - g0) * LUT_ROWS;
        let take = LUT_ROWS.min(16 * np - at);
        out[at..at + take].copy_from_slice(&full[..take]);
    }
}

/// The per-token tables: for each pair, 16 low bytes then 16 high bytes.
pub fn build_tables(acts: &[i8], pairs: usize, tables: &mut Vec<u8>) {
    tables.clear();
    tables.resize(pairs * 32, 0);
    for p in 0..pairs {
        let a0 = i16::from(acts.get(2 * p).copied().unwrap_or(0));
        let a1 = i16::from(acts.get(2 * p + 1).copied().unwrap_or(0));
        let t = &mut tables[p * 32..(p + 1) * 32];
        for idx in 0..9 {
            let (c0, c1) = ((idx % 3) as i16 - 1, (idx / 3) as i16 - 1);
            let v = (c0 * a0 + c1 * a1) as u16;
            t[idx] = v as u8;
            t[16 + idx] = (v >> 8) as u8;
        }
    }
}

/// One token: `out[j] = sum_c t[j, c] * acts[c]`, row blocks in parallel on
/// the current rayon pool. `tables` is scratch. Returns `false` (and does
/// nothing) when the CPU has no AVX2.
pub fn lut_matvec(w: &LutMatrix, acts: &[i8], tables: &mut Vec<u8>, out: &mut [i32]) -> bool {
    assert_eq!(acts.len(), w.k);
    assert_eq!(out.len(), w.n);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        build_tables(acts, 2 * w.steps, tables);
        let t: &[u8] = tables;
        out.par_chunks_mut(LUT_ROWS * 4)
            .enumerate()
            .for_each(|(c, o)| {
                for (b, ob) in o.chunks_mut(LUT_ROWS).enumerate() {
                    let g = c * 4 + b;
                    let blk = &w.data[g * w.steps * LUT_ROWS..(g + 1) * w.steps * LUT_ROWS];
                    let mut full = [0i32; LUT_ROWS];
                    // SAFETY: AVX2 checked; blk holds steps * 32 bytes and
                    // t steps * 2 tables of 32 bytes.
                    unsafe { x86::block(blk, t, w.steps, &mut full) };
                    ob.copy_from_slice(&full[..ob.len()]);
                }
            });
        return true;
    }
    let _ = (tables, out);
    false
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Bytes of the weight stream prefetched ahead of the step computed.
    const LUT_AHEAD: usize = 2048;

    /// One block of 32 rows over all steps into `out` (row order).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn block(blk: &[u8], tables: &[u8], steps: usize, out: &mut [i32; 32]) {
        let nib = _mm256_set1_epi8(0x0f);
        // i32 accumulators: rows 0-7, 8-15, 16-23, 24-31.
        let mut acc32 = [_mm256_setzero_si256(); 4];
        let mut m = 0;
        while m < steps {
            let end = (m + 32).min(steps);
            // i16: a = rows 0-7 | 16-23, b = rows 8-15 | 24-31 (lane-wise unpack).
            let (mut a16, mut b16) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            while m < end {
                // The weight stream, 2 KiB ahead (as `kernels::x86`'s
                // GEMV); a prefetch never faults, past the end it is wasted.
                let ahead = blk.as_ptr().wrapping_add(m * 32 + LUT_AHEAD);
                _mm_prefetch::<_MM_HINT_T0>(ahead as *const i8);
                let w = _mm256_loadu_si256(blk.as_ptr().add(m * 32) as *const __m256i);
                let idx = [
                    _mm256_and_si256(w, nib),
                    _mm256_and_si256(_mm256_srli_epi16::<4>(w), nib),
                ];
                for (h, &ix) in idx.iter().enumerate() {
                    let t = tables.as_ptr().add((2 * m + h) * 32);
                    let lo_t = _mm256_broadcastsi128_si256(_mm_loadu_si128(t as *const __m128i));
                    let hi_t =
                        _mm256_broadcastsi128_si256(_mm_loadu_si128(t.add(16) as *const __m128i));
                    let lo = _mm256_shuffle_epi8(lo_t, ix);
                    let hi = _mm256_shuffle_epi8(hi_t, ix);
                    a16 = _mm256_add_epi16(a16, _mm256_unpacklo_epi8(lo, hi));
                    b16 = _mm256_add_epi16(b16, _mm256_unpackhi_epi8(lo, hi));
                }
                m += 1;
            }
            let widen = |v: __m128i| _mm256_cvtepi16_epi32(v);
            acc32[0] = _mm256_add_epi32(acc32[0], widen(_mm256_castsi256_si128(a16)));
            acc32[1] = _mm256_add_epi32(acc32[1], widen(_mm256_castsi256_si128(b16)));
            acc32[2] = _mm256_add_epi32(acc32[2], widen(_mm256_extracti128_si256::<1>(a16)));
            acc32[3] = _mm256_add_epi32(acc32[3], widen(_mm256_extracti128_si256::<1>(b16)));
        }
        for (q, a) in acc32.iter().enumerate() {
            _mm256_storeu_si256(out.as_mut_ptr().add(8 * q) as *mut __m256i, *a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Whether the AVX2 path is checked here (fails if it is required by
    /// `TRITIUM_REQUIRE_KERNELS` and missing): the LUT kernel is AVX2 only.
    fn avx2_tested() -> bool {
        crate::present_kernels()
            .unwrap()
            .contains(&crate::Isa::Avx2)
    }

    proptest! {
        #[test]
        fn lut_matvec_equals_golden(
            (n, k, t, a) in (1usize..100, 1usize..300).prop_flat_map(|(n, k)| (
                Just(n), Just(k),
                proptest::collection::vec(-1i8..=1, n * k),
                proptest::collection::vec(prop_oneof![Just(-128i8), Just(127), any::<i8>()], k),
            ))
        ) {
            let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
            let mut want = vec![0i32; n];
            tritium_golden::backend::golden_matvec(&w, &a, &mut want);
            let lut = LutMatrix::from_matrix(&w);
            let mut got = vec![0i32; n];
            if lut_matvec(&lut, &a, &mut Vec::new(), &mut got) {
                prop_assert_eq!(got, want);
            } else {
                prop_assert!(!avx2_tested(), "AVX2 present but the LUT kernel did not run");
            }
        }
    }

    /// i16 accumulators are widened often enough at the extremes.
    #[test]
    fn worst_case_magnitudes() {
        let k = 8192;
        for (wv, av) in [(1i8, -128i8), (-1, -128), (1, 127)] {
            let w = TernaryMatrix::from_ternary("w", 33, k, &vec![wv; 33 * k], 1.0).unwrap();
            let mut got = vec![0i32; 33];
            let ran = lut_matvec(
                &LutMatrix::from_matrix(&w),
                &vec![av; k],
                &mut Vec::new(),
                &mut got,
            );
            assert_eq!(ran, avx2_tested(), "LUT kernel ran: {ran}");
            if ran {
                assert!(got
                    .iter()
                    .all(|&g| g == i32::from(wv) * i32::from(av) * k as i32));
            }
        }
    }
}
