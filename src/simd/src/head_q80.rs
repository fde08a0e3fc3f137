//! The int8 fast head (`--fast-head`) over a head stored as Q8_0: the
//! stored blocks times an int8 input quantized per block of 32, with
//! integer dot products (as llama.cpp's `ggml_vec_dot_q8_0_q8_0`), instead
//! of re-quantizing the head to int8 rows with one scale each
//! ([`crate::Q8Head`]), which loses the per-block scales. Every stored
//! weight is used exactly.
//!
//! The definition, per row (blocks `b` of 32 with fp16 scale `d_b` and
//! int8 codes `w`; eight lanes `l`, each the four elements `4l .. 4l + 4`
//! of every block):
//! - the input: per block of 32, `m = max(max|x|, 1e-5)`, `d_x = m / 127`,
//!   `xq = round_clamp_i8(x * (127 / m))` (so `|xq| <= 127`);
//! - `p_b[l] = sum_{i < 4} w[4l + i] xq[4l + i]`, exact in i32;
//! - `acc[l] += (d_b * d_x[b]) * f32(p_b[l])` in block order (f32, no
//!   fused multiply-add);
//! - `logit = ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 +
//!   acc7))`.
//!
//! The AVX2 kernel (also used where the CPU has AVX-512) computes exactly
//! these steps, so it gives the portable loop's logits bitwise.

// Index loops over small register arrays: they unroll to fixed registers.
#![allow(clippy::needless_range_loop)]

use tritium_golden::ops::f16_to_f32;
use tritium_golden::quant::{round_clamp_i8, SCALE_FLOOR};
use tritium_golden::BlockType;

use super::kernels::{has_f16c, head_path, Isa};

/// Elements and bytes of a Q8_0 block.
const QK: usize = BlockType::Q8_0.elems();
const BLOCK: usize = BlockType::Q8_0.bytes();

/// The final hidden row quantized for the Q8_0 head: int8 per block of 32
/// with an f32 scale each.
#[derive(Debug, Clone, Default)]
pub struct Q80Input {
    pub q: Vec<i8>,
    pub d: Vec<f32>,
}

impl Q80Input {
    /// Quantizes `x` (finite, a multiple of 32 long) into `self`.
    pub fn quantize(&mut self, x: &[f32]) {
        quantize_blocks(x, QK, &mut self.q, &mut self.d);
    }
}

/// `x` (finite, a multiple of `qk` long) quantized per block of `qk` into
/// `q` and `d` (replacing their contents): `m = max(max|x|, 1e-5)`, `d =
/// m / 127`, `q = round_clamp_i8(x * (127 / m))`. Shared with the Q6_K head.
pub(crate) fn quantize_blocks(x: &[f32], qk: usize, q: &mut Vec<i8>, d: &mut Vec<f32>) {
    assert!(x.len().is_multiple_of(qk));
    q.clear();
    d.clear();
    for blk in x.chunks_exact(qk) {
        let m = blk
            .iter()
            .fold(0.0f32, |a, &v| a.max(v.abs()))
            .max(SCALE_FLOOR);
        let s = 127.0 / m;
        q.extend(blk.iter().map(|&v| round_clamp_i8(v * s)));
        d.push(m / 127.0);
    }
}

/// Logits of rows `v0 .. v0 + out.len()` of the Q8_0 head `w` (`cols`
/// wide, row-major blocks) for the input `xq` (quantized from a row of
/// `cols`).
pub fn rows_into(isa: Isa, w: &[u8], cols: usize, xq: &Q80Input, v0: usize, out: &mut [f32]) {
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

/// The lane tree of the definition.
fn reduce8(a: [f32; 8]) -> f32 {
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

/// One row, portable: the definition.
fn row_scalar(row: &[u8], xq: &Q80Input) -> f32 {
    let mut acc = [0f32; 8];
    for (b, blk) in row.chunks_exact(BLOCK).enumerate() {
        let s = f16_to_f32(BlockType::Q8_0.d_bits(blk)) * xq.d[b];
        let x = &xq.q[b * QK..(b + 1) * QK];
        for l in 0..8 {
            let p: i32 = (4 * l..4 * l + 4)
                .map(|i| i32::from(blk[2 + i] as i8) * i32::from(x[i]))
                .sum();
            acc[l] += s * p as f32;
        }
    }
    reduce8(acc)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Q80Input, BLOCK, QK};
    use crate::head_blocks::x86::{f16_at, in_fours, prefetch_block, RowGroups, Rows, R};

    /// AVX2 rows, four at a time (then the rest one by one).
    #[target_feature(enable = "avx2,f16c")]
    pub(super) unsafe fn rows256(w: &[u8], cols: usize, xq: &Q80Input, v0: usize, out: &mut [f32]) {
        in_fours(&Rows { w, cols, xq }, v0, out)
    }

    impl RowGroups for Rows<'_, Q80Input> {
        /// Rows `v .. v + RR`: per block, `vpmaddubsw` of |w| with the input
        /// signed by `w` (exact: `|xq| <= 127`, so the sign flip cannot wrap;
        /// pair sums within i16), `vpmaddwd` by ones to the eight lane sums,
        /// then the f32 steps of [`super::row_scalar`].
        #[inline(always)]
        unsafe fn group<const RR: usize>(&self, v: usize, out: &mut [f32]) {
            let (w, cols, xq) = (self.w, self.cols, self.xq);
            let nb = cols / QK;
            let row_bytes = nb * BLOCK;
            let base = w.as_ptr();
            let ahead = R * row_bytes;
            let ones = _mm256_set1_epi16(1);
            let mut acc = [_mm256_setzero_ps(); RR];
            for b in 0..nb {
                let xv = _mm256_loadu_si256(xq.q.as_ptr().add(b * QK) as *const __m256i);
                let dx = xq.d[b];
                for r in 0..RR {
                    let blk = base.add((v + r) * row_bytes + b * BLOCK);
                    prefetch_block(blk.wrapping_add(ahead), BLOCK);
                    let wv = _mm256_loadu_si256(blk.add(2) as *const __m256i);
                    let p = _mm256_maddubs_epi16(_mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv));
                    let lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
                    let s = _mm256_set1_ps(f16_at(blk) * dx);
                    acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(s, lanes));
                }
            }
            for r in 0..RR {
                let mut a = [0f32; 8];
                _mm256_storeu_ps(a.as_mut_ptr(), acc[r]);
                out[r] = super::reduce8(a);
            }
        }
    }
}
