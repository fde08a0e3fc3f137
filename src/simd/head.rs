//! The lm_head (vocabulary projection) of the SIMD engine.
//!
//! **Exact** (default): the golden pinned order of
//! [`tritium_golden::ops::dot`] — element `i` into lane `i % 16`, each term
//! a separate f32 multiply then add (never a fused multiply-add), lanes
//! combined by [`reduce_lanes`]. A 16-lane (AVX-512), 2 x 8-lane (AVX2) or
//! 4 x 4-lane (NEON) loop of `mul` then `add` is exactly that, so the logits
//! are bitwise the golden ones. The weights stay as stored (bf16 or f32):
//! the head is read once per token, at its stored size.
//!
//! **Q8** (opt-in fast mode): each vocabulary row re-quantized at load to
//! int8 with its own f32 scale (`s = max|w| / 127`, `q = rne(w / s)`),
//! computed as `s * sum(q * x)` with fused multiply-adds: half the bytes of
//! a bf16 head, not bit-exact (the deviation is measured by `tritium bench`
//! and the tests).

// Index loops over small register arrays: they unroll to fixed registers
// and read closer to the instruction sequence than iterator chains.
#![allow(clippy::needless_range_loop)]

use tritium_golden::ops::{bf16_to_f32, reduce_lanes, DOT_LANES};
use tritium_golden::DenseMatrix;

use super::kernels::Isa;

/// A head's weights as stored.
#[derive(Debug, Clone, Copy)]
pub enum HeadRows<'a> {
    Bf16(&'a [u16]),
    F32(&'a [f32]),
}

impl<'a> HeadRows<'a> {
    pub fn of(m: &'a DenseMatrix) -> HeadRows<'a> {
        match (m.as_bf16(), m.as_f32()) {
            (Some(b), _) => HeadRows::Bf16(b),
            (_, Some(f)) => HeadRows::F32(f),
            _ => unreachable!("a DenseMatrix is bf16 or f32"),
        }
    }

    /// Bytes per full read.
    pub fn bytes(&self) -> usize {
        match self {
            HeadRows::Bf16(b) => b.len() * 2,
            HeadRows::F32(f) => f.len() * 4,
        }
    }
}

/// Exact logits of rows `v0 .. v0 + out.len()` (pinned order).
pub fn exact_rows(isa: Isa, w: HeadRows, cols: usize, x: &[f32], v0: usize, out: &mut [f32]) {
    assert_eq!(x.len(), cols);
    let rows = out.len();
    match w {
        HeadRows::Bf16(b) => assert!(b.len() >= (v0 + rows) * cols),
        HeadRows::F32(f) => assert!(f.len() >= (v0 + rows) * cols),
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: feature present (checked by the caller's Isa); bounds above.
        Isa::Avx512 if isa.available() => unsafe { x86::exact_rows512(w, cols, x, v0, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 if isa.available() => unsafe { x86::exact_rows256(w, cols, x, v0, out) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as above.
        Isa::Neon if isa.available() => unsafe { neon::exact_rows(w, cols, x, v0, out) },
        _ => {
            for (i, o) in out.iter_mut().enumerate() {
                let r = (v0 + i) * cols;
                *o = match w {
                    HeadRows::Bf16(b) => lanes_dot(&b[r..r + cols], x, |v| bf16_to_f32(*v)),
                    HeadRows::F32(f) => lanes_dot(&f[r..r + cols], x, |v| *v),
                };
            }
        }
    }
}

/// The pinned-order dot product over any stored element type.
#[inline]
fn lanes_dot<T>(w: &[T], x: &[f32], widen: impl Fn(&T) -> f32) -> f32 {
    let mut acc = [0.0f32; DOT_LANES];
    for (i, (wv, xv)) in w.iter().zip(x).enumerate() {
        acc[i % DOT_LANES] += widen(wv) * xv;
    }
    reduce_lanes(acc)
}

/// The int8 per-row-scaled head of the fast mode.
#[derive(Clone)]
pub struct Q8Head {
    rows: usize,
    cols: usize,
    q: Vec<i8>,
    scales: Vec<f32>,
}

impl std::fmt::Debug for Q8Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Q8Head({} x {})", self.rows, self.cols)
    }
}

impl Q8Head {
    /// Quantizes every row of `m` (rows are independent: done in parallel).
    pub fn from_dense(m: &DenseMatrix) -> Q8Head {
        use rayon::prelude::*;
        let (rows, cols) = (m.rows(), m.cols());
        let mut q = vec![0i8; rows * cols];
        let mut scales = vec![0.0f32; rows];
        q.par_chunks_mut(cols)
            .zip(scales.par_iter_mut())
            .enumerate()
            .for_each_init(
                || vec![0.0f32; cols],
                |row, (v, (qr, s))| {
                    m.row_into(v, row);
                    let max = row.iter().fold(0.0f32, |a, &x| a.max(x.abs()));
                    *s = if max > 0.0 { max / 127.0 } else { 1.0 };
                    let inv = 1.0 / *s;
                    for (qv, &x) in qr.iter_mut().zip(row.iter()) {
                        *qv = (x * inv).round_ties_even().clamp(-127.0, 127.0) as i8;
                    }
                },
            );
        Q8Head {
            rows,
            cols,
            q,
            scales,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Bytes per full read (codes and scales).
    pub fn bytes(&self) -> usize {
        self.q.len() + 4 * self.scales.len()
    }

    /// Logits of rows `v0 .. v0 + out.len()`.
    pub fn rows_into(&self, isa: Isa, x: &[f32], v0: usize, out: &mut [f32]) {
        assert_eq!(x.len(), self.cols);
        assert!(v0 + out.len() <= self.rows);
        #[cfg(target_arch = "x86_64")]
        if isa == Isa::Avx512 && isa.available() {
            // SAFETY: feature present; bounds above.
            unsafe { x86::q8_rows(self, x, v0, out) };
            return;
        }
        #[cfg(target_arch = "aarch64")]
        if isa == Isa::Neon && isa.available() {
            // SAFETY: feature present; bounds above.
            unsafe { neon::q8_rows(self, x, v0, out) };
            return;
        }
        let _ = isa;
        for (i, o) in out.iter_mut().enumerate() {
            let v = v0 + i;
            let row = &self.q[v * self.cols..(v + 1) * self.cols];
            let mut acc = [0.0f32; DOT_LANES];
            for (j, (&qv, &xv)) in row.iter().zip(x).enumerate() {
                acc[j % DOT_LANES] = (qv as f32).mul_add(xv, acc[j % DOT_LANES]);
            }
            *o = self.scales[v] * acc.iter().sum::<f32>();
        }
    }
}

/// Rows per step of the SIMD exact heads (independent accumulators).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const R: usize = 4;

/// Adds the tail of each row (`cols % 16` elements, scalar, into lanes
/// `0..`) and combines the lanes in the pinned order (shared by the SIMD
/// exact heads, whose full 16-element steps fill `lanes`).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn finish(
    w: HeadRows,
    cols: usize,
    x: &[f32],
    v: usize,
    lanes: &mut [[f32; DOT_LANES]; R],
    out: &mut [f32],
) {
    let full = cols / DOT_LANES * DOT_LANES;
    for (r, (lanes, o)) in lanes.iter_mut().zip(out.iter_mut()).enumerate() {
        let base = (v + r) * cols;
        for c in full..cols {
            let wv = match w {
                HeadRows::Bf16(b) => bf16_to_f32(b[base + c]),
                HeadRows::F32(f) => f[base + c],
            };
            lanes[c - full] += wv * x[c];
        }
        *o = reduce_lanes(*lanes);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{finish, HeadRows, Q8Head, R};
    use tritium_golden::ops::DOT_LANES;

    /// Widens 16 bf16 at `p` to f32 (exact: a 16-bit left shift).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn bf16x16(p: *const u16) -> __m512 {
        let h = _mm256_loadu_si256(p as *const __m256i);
        _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h)))
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn bf16x8(p: *const u16) -> __m256 {
        let h = _mm_loadu_si128(p as *const __m128i);
        _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(h)))
    }

    /// Exact rows, 16 lanes in one register, four rows at a time.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn exact_rows512(
        w: HeadRows,
        cols: usize,
        x: &[f32],
        v0: usize,
        out: &mut [f32],
    ) {
        let full = cols / DOT_LANES * DOT_LANES;
        let xp = x.as_ptr();
        for (ci, o) in out.chunks_mut(R).enumerate() {
            let v = v0 + ci * R;
            let mut acc = [_mm512_setzero_ps(); R];
            let mut c = 0;
            while c < full {
                let xv = _mm512_loadu_ps(xp.add(c));
                for (r, acc) in acc.iter_mut().enumerate().take(o.len()) {
                    let off = (v + r) * cols + c;
                    let wv = match w {
                        HeadRows::Bf16(b) => bf16x16(b.as_ptr().add(off)),
                        HeadRows::F32(f) => _mm512_loadu_ps(f.as_ptr().add(off)),
                    };
                    *acc = _mm512_add_ps(*acc, _mm512_mul_ps(wv, xv));
                }
                c += DOT_LANES;
            }
            let mut lanes = [[0.0f32; DOT_LANES]; R];
            for (l, a) in lanes.iter_mut().zip(acc) {
                _mm512_storeu_ps(l.as_mut_ptr(), a);
            }
            finish(w, cols, x, v, &mut lanes, o);
        }
    }

    /// Exact rows, 16 lanes in two registers (lanes 0..8, 8..16).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn exact_rows256(
        w: HeadRows,
        cols: usize,
        x: &[f32],
        v0: usize,
        out: &mut [f32],
    ) {
        let full = cols / DOT_LANES * DOT_LANES;
        let xp = x.as_ptr();
        for (ci, o) in out.chunks_mut(R).enumerate() {
            let v = v0 + ci * R;
            let mut acc = [[_mm256_setzero_ps(); 2]; R];
            let mut c = 0;
            while c < full {
                let xv = [_mm256_loadu_ps(xp.add(c)), _mm256_loadu_ps(xp.add(c + 8))];
                for (r, acc) in acc.iter_mut().enumerate().take(o.len()) {
                    let off = (v + r) * cols + c;
                    for h in 0..2 {
                        let wv = match w {
                            HeadRows::Bf16(b) => bf16x8(b.as_ptr().add(off + 8 * h)),
                            HeadRows::F32(f) => _mm256_loadu_ps(f.as_ptr().add(off + 8 * h)),
                        };
                        acc[h] = _mm256_add_ps(acc[h], _mm256_mul_ps(wv, xv[h]));
                    }
                }
                c += DOT_LANES;
            }
            let mut lanes = [[0.0f32; DOT_LANES]; R];
            for (l, a) in lanes.iter_mut().zip(acc) {
                _mm256_storeu_ps(l.as_mut_ptr(), a[0]);
                _mm256_storeu_ps(l.as_mut_ptr().add(8), a[1]);
            }
            finish(w, cols, x, v, &mut lanes, o);
        }
    }

    /// Fast-mode rows: int8 widened to f32, fused multiply-add.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) unsafe fn q8_rows(h: &Q8Head, x: &[f32], v0: usize, out: &mut [f32]) {
        let cols = h.cols;
        let full = cols / 16 * 16;
        for (i, o) in out.iter_mut().enumerate() {
            let v = v0 + i;
            let row = h.q.as_ptr().add(v * cols);
            let mut acc = [_mm512_setzero_ps(); 2];
            let mut c = 0;
            while c + 32 <= full {
                for (u, acc) in acc.iter_mut().enumerate() {
                    let q = _mm_loadu_si128(row.add(c + 16 * u) as *const __m128i);
                    let wv = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q));
                    *acc = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x.as_ptr().add(c + 16 * u)), *acc);
                }
                c += 32;
            }
            while c < full {
                let q = _mm_loadu_si128(row.add(c) as *const __m128i);
                let wv = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q));
                acc[0] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x.as_ptr().add(c)), acc[0]);
                c += 16;
            }
            let mut s = _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
            for c in full..cols {
                s += *row.add(c) as f32 * x[c];
            }
            *o = h.scales[v] * s;
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    use std::arch::aarch64::*;

    use super::{finish, HeadRows, Q8Head, R};
    use tritium_golden::ops::DOT_LANES;

    /// Widens 8 bf16 at `p` to f32 (exact: a 16-bit left shift).
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn bf16x8(p: *const u16) -> [float32x4_t; 2] {
        let h = vld1q_u16(p);
        [
            vreinterpretq_f32_u32(vshll_n_u16::<16>(vget_low_u16(h))),
            vreinterpretq_f32_u32(vshll_high_n_u16::<16>(h)),
        ]
    }

    /// Exact rows, 16 lanes in four registers (lanes `4u .. 4u + 4`), four
    /// rows at a time. Each term is `fmul` then `fadd`, never `fmla`: the
    /// pinned order rounds the product before the sum.
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn exact_rows(
        w: HeadRows,
        cols: usize,
        x: &[f32],
        v0: usize,
        out: &mut [f32],
    ) {
        let full = cols / DOT_LANES * DOT_LANES;
        let xp = x.as_ptr();
        for (ci, o) in out.chunks_mut(R).enumerate() {
            let v = v0 + ci * R;
            let mut acc = [[vdupq_n_f32(0.0); 4]; R];
            let mut c = 0;
            while c < full {
                let xv: [float32x4_t; 4] = std::array::from_fn(|u| vld1q_f32(xp.add(c + 4 * u)));
                for (r, acc) in acc.iter_mut().enumerate().take(o.len()) {
                    let off = (v + r) * cols + c;
                    let wv: [float32x4_t; 4] = match w {
                        HeadRows::Bf16(b) => {
                            let [w0, w1] = bf16x8(b.as_ptr().add(off));
                            let [w2, w3] = bf16x8(b.as_ptr().add(off + 8));
                            [w0, w1, w2, w3]
                        }
                        HeadRows::F32(f) => {
                            std::array::from_fn(|u| vld1q_f32(f.as_ptr().add(off + 4 * u)))
                        }
                    };
                    for u in 0..4 {
                        acc[u] = vaddq_f32(acc[u], vmulq_f32(wv[u], xv[u]));
                    }
                }
                c += DOT_LANES;
            }
            let mut lanes = [[0.0f32; DOT_LANES]; R];
            for (l, a) in lanes.iter_mut().zip(acc) {
                for u in 0..4 {
                    vst1q_f32(l.as_mut_ptr().add(4 * u), a[u]);
                }
            }
            finish(w, cols, x, v, &mut lanes, o);
        }
    }

    /// Fast-mode rows: int8 widened to f32, fused multiply-add.
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn q8_rows(h: &Q8Head, x: &[f32], v0: usize, out: &mut [f32]) {
        let cols = h.cols;
        let full = cols / 16 * 16;
        let xp = x.as_ptr();
        for (i, o) in out.iter_mut().enumerate() {
            let v = v0 + i;
            let row = h.q.as_ptr().add(v * cols);
            let mut acc = [vdupq_n_f32(0.0); 4];
            let mut c = 0;
            while c < full {
                let q = vld1q_s8(row.add(c));
                let (lo, hi) = (vmovl_s8(vget_low_s8(q)), vmovl_high_s8(q));
                let wv = [
                    vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))),
                    vcvtq_f32_s32(vmovl_high_s16(lo)),
                    vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))),
                    vcvtq_f32_s32(vmovl_high_s16(hi)),
                ];
                for u in 0..4 {
                    acc[u] = vfmaq_f32(acc[u], wv[u], vld1q_f32(xp.add(c + 4 * u)));
                }
                c += 16;
            }
            let mut s = vaddvq_f32(vaddq_f32(
                vaddq_f32(acc[0], acc[1]),
                vaddq_f32(acc[2], acc[3]),
            ));
            for c in full..cols {
                s += *row.add(c) as f32 * x[c];
            }
            *o = h.scales[v] * s;
        }
    }
}
