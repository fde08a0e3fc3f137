//! The int8 fast head (`--fast-head`) over a head stored as Q6_K: the
//! stored blocks times an int8 input, with integer dot products, as
//! llama.cpp computes a Q6_K matrix (`ggml_vec_dot_q6_K_q8_K`), instead of
//! re-quantizing the head to int8 rows ([`crate::Q8Head`]). It reads the
//! head at its stored 6.5625 bits per weight (the int8 copy: 8 bits and a
//! scale per row) and keeps every stored weight exactly; the input is
//! quantized per block of 256, so that side's error is smaller too.
//!
//! The definition, per row (blocks `b`, sub-blocks `j` of 16 elements,
//! codes `q` in 0..=63, sub-block scales `sc_j`, the block's fp16 `d`):
//! - the input: per block of 256, `m = max(max|x|, 1e-5)` (the activation
//!   scale floor of BitLinear, so a block of zeros or of subnormals is
//!   safe), `d_x = m / 127`, `xq = round_clamp_i8(x * (127 / m))`, and the
//!   sums `bsum_j` of `xq` per sub-block;
//! - `isum_b = sum_j sc_j * (sum_{i in j} q_i xq_i - 32 bsum_j)`: exact in
//!   i32 (`|isum_b| < 2^29`);
//! - `logit = sum_b (d_b * d_x[b]) * f32(isum_b)`, in block order, f32, no
//!   fused multiply-add.
//!
//! The integers are exact and the f32 steps are the same on every path, so
//! every path gives the same logits: the AVX2 kernel (also used where the
//! CPU has AVX-512), and the portable loop elsewhere. Not bit-exact with
//! the golden model: the deviation is measured by the tests and given in
//! the README.

// Index loops over small register arrays: they unroll to fixed registers.
#![allow(clippy::needless_range_loop)]

use tritium_golden::ops::f16_to_f32;
use tritium_golden::BlockType;

use super::kernels::{has_f16c, head_path, Isa};

/// Elements and bytes of a Q6_K block, and its sub-blocks.
const QK: usize = BlockType::Q6K.elems();
const BLOCK: usize = BlockType::Q6K.bytes();
const SUBS: usize = QK / 16;

/// The final hidden row quantized for the Q6_K head: int8 per block of 256
/// with an f32 scale each, and the sums per sub-block of 16.
#[derive(Debug, Clone, Default)]
pub struct Q6kInput {
    pub q: Vec<i8>,
    pub d: Vec<f32>,
    pub bsums: Vec<i16>,
}

impl Q6kInput {
    /// Quantizes `x` (finite, a multiple of 256 long) into `self`.
    pub fn quantize(&mut self, x: &[f32]) {
        crate::head_q80::quantize_blocks(x, QK, &mut self.q, &mut self.d);
        self.bsums.clear();
        // |sum| <= 16 * 128: exact in i16.
        self.bsums.extend(
            self.q
                .chunks_exact(16)
                .map(|sub| sub.iter().map(|&v| i16::from(v)).sum::<i16>()),
        );
    }
}

/// Logits of rows `v0 .. v0 + out.len()` of the Q6_K head `w` (`cols`
/// wide, row-major blocks) for the input `xq` (quantized from a row of
/// `cols`).
pub fn rows_into(isa: Isa, w: &[u8], cols: usize, xq: &Q6kInput, v0: usize, out: &mut [f32]) {
    assert!(cols.is_multiple_of(QK) && xq.q.len() == cols);
    let row_bytes = cols / QK * BLOCK;
    assert!(w.len() >= (v0 + out.len()) * row_bytes);
    // The kernel widens each block's fp16 `d` with F16C.
    match head_path(isa, has_f16c()) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 and F16C are present (`head_path`; an AVX-512 CPU
        // has AVX2); bounds above.
        Isa::Avx2 | Isa::Avx512 => unsafe { x86::rows256(w, cols, xq, v0, out) },
        _ => {
            for (i, o) in out.iter_mut().enumerate() {
                let row = &w[(v0 + i) * row_bytes..(v0 + i + 1) * row_bytes];
                *o = row_scalar(row, xq);
            }
        }
    }
}

/// One row, portable: the definition.
fn row_scalar(row: &[u8], xq: &Q6kInput) -> f32 {
    let mut acc = 0.0f32;
    for (b, blk) in row.chunks_exact(BLOCK).enumerate() {
        let isum = block_isum(
            blk,
            &xq.q[b * QK..(b + 1) * QK],
            &xq.bsums[b * SUBS..(b + 1) * SUBS],
        );
        let d = f16_to_f32(BlockType::Q6K.d_bits(blk));
        acc += (d * xq.d[b]) * isum as f32;
    }
    acc
}

/// `sum_j sc_j * (sum_{i in j} q_i xq_i - 32 bsum_j)` of one block, from
/// the layout of ggml's `dequantize_row_q6_K`: element `128 h + 32 k + l`
/// has the low nibble (`k < 2`) or high nibble of `ql[64 h + 32 (k & 1) +
/// l]` and bits `2k+1:2k` of `qh[32 h + l]`. Looped by sub-block, so it
/// vectorizes (the portable path: 3.5 ns per 8 values in cache on Zen 3,
/// 22.6 with an index computed per element).
pub fn block_isum(blk: &[u8], xq: &[i8], bsums: &[i16]) -> i32 {
    let (ql, rest) = blk.split_at(128);
    let (qh, sc) = rest.split_at(64);
    let mut isum = 0i32;
    // Sub-block j = 8h + 2k + s holds l = 16s .. 16s + 16 of quarter k.
    for h in 0..2 {
        for k in 0..4 {
            for s in 0..2 {
                let mut dot = 0i32;
                for l in 16 * s..16 * s + 16 {
                    let byte = ql[64 * h + 32 * (k & 1) + l];
                    let lo = if k < 2 { byte & 0xf } else { byte >> 4 };
                    let hi = (qh[32 * h + l] >> (2 * k)) & 3;
                    dot += i32::from(lo | hi << 4) * i32::from(xq[128 * h + 32 * k + l]);
                }
                let j = 8 * h + 2 * k + s;
                isum += i32::from(sc[j] as i8) * (dot - 32 * i32::from(bsums[j]));
            }
        }
    }
    isum
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Q6kInput, BLOCK, QK};
    use crate::head_blocks::x86::{
        f16_at, in_fours, prefetch_block, q6k_codes_u, RowGroups, Rows, R,
    };

    /// `vpshufb` patterns: within each 128-bit lane, i16 element `2k` (low
    /// lane) or `2k + 1` (high lane) of a half's eight scales, repeated:
    /// the scales of quarter `k`'s sub-blocks `8h + 2k` (codes `l < 16`)
    /// and `8h + 2k + 1` (`l >= 16`).
    const PICK: [[i8; 32]; 4] = {
        let mut p = [[0i8; 32]; 4];
        let mut k = 0;
        while k < 4 {
            let mut i = 0;
            while i < 32 {
                let elem = if i < 16 { 2 * k } else { 2 * k + 1 };
                p[k][i] = (2 * elem + i % 2) as i8;
                i += 1;
            }
            k += 1;
        }
        p
    };

    /// AVX2 rows, four at a time (then the rest one by one).
    #[target_feature(enable = "avx2,f16c")]
    pub(super) unsafe fn rows256(w: &[u8], cols: usize, xq: &Q6kInput, v0: usize, out: &mut [f32]) {
        in_fours(&Rows { w, cols, xq }, v0, out)
    }

    impl RowGroups for Rows<'_, Q6kInput> {
        /// Rows `v .. v + RR`: per block, each row's `isum` in i32 lanes
        /// (`vpmaddubsw` of the codes with the input, `vpmaddwd` by the
        /// sub-block scales), the `-32 bsum` correction by one more `vpmaddwd`,
        /// lanes summed, then the f32 steps of [`super::row_scalar`].
        #[inline(always)]
        unsafe fn group<const RR: usize>(&self, v: usize, out: &mut [f32]) {
            let (w, cols, xq) = (self.w, self.cols, self.xq);
            let nb = cols / QK;
            let row_bytes = nb * BLOCK;
            let base = w.as_ptr();
            let ahead = R * row_bytes;
            // Plain loops, not `array::from_fn`: its closure would not inherit
            // the target features, and the intrinsics in it would become calls.
            let mut pick = [_mm256_setzero_si256(); 4];
            for k in 0..4 {
                pick[k] = _mm256_loadu_si256(PICK[k].as_ptr() as *const __m256i);
            }
            let mut acc = [0.0f32; RR];
            for b in 0..nb {
                let x = xq.q.as_ptr().add(b * QK);
                let bs = _mm256_loadu_si256(xq.bsums.as_ptr().add(b * 16) as *const __m256i);
                let mut isum = [_mm256_setzero_si256(); RR];
                let mut blk = [std::ptr::null::<u8>(); RR];
                for r in 0..RR {
                    blk[r] = base.add((v + r) * row_bytes + b * BLOCK);
                }
                for r in 0..RR {
                    // Each row's prefetch next to its work: all RR at the start
                    // of the block measured 1.3x slower from memory, one thread.
                    prefetch_block(blk[r].wrapping_add(ahead), BLOCK);
                    let sc16 =
                        _mm256_cvtepi8_epi16(_mm_loadu_si128(blk[r].add(192) as *const __m128i));
                    // -32 sum_j sc_j bsum_j, in lanes.
                    isum[r] = _mm256_slli_epi32::<5>(_mm256_madd_epi16(sc16, bs));
                    isum[r] = _mm256_sub_epi32(_mm256_setzero_si256(), isum[r]);
                    for h in 0..2 {
                        // The half's eight scales in both 128-bit lanes.
                        let s = if h == 0 {
                            _mm256_permute2x128_si256::<0x00>(sc16, sc16)
                        } else {
                            _mm256_permute2x128_si256::<0x11>(sc16, sc16)
                        };
                        for k in 0..4 {
                            let q = q6k_codes_u(blk[r], h, k);
                            let xv = _mm256_loadu_si256(x.add(128 * h + 32 * k) as *const __m256i);
                            // u8 codes <= 63 times i8: pair sums within i16.
                            let p = _mm256_maddubs_epi16(q, xv);
                            let sk = _mm256_shuffle_epi8(s, pick[k]);
                            isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(p, sk));
                        }
                    }
                }
                for r in 0..RR {
                    let t = _mm_add_epi32(
                        _mm256_castsi256_si128(isum[r]),
                        _mm256_extracti128_si256::<1>(isum[r]),
                    );
                    let t = _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
                    let t = _mm_add_epi32(t, _mm_shuffle_epi32::<0b01>(t));
                    let s = _mm_cvtsi128_si32(t);
                    acc[r] += (f16_at(blk[r].add(208)) * xq.d[b]) * s as f32;
                }
            }
            out.copy_from_slice(&acc);
        }
    }
}
