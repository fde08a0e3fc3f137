//! The int4 lm_head of the fastest decode mode (opt-in, approximate).
//!
//! **Format** (tritium's own, made at load from the head as stored; the
//! README documents it and its measured deviation):
//! - every vocabulary row is cut into blocks of 64 values, each quantized
//!   symmetrically to 4 bits as ggml's Q4_0 does: `d = m / -8` where `m` is
//!   the block's value of largest magnitude (sign kept), `q = clamp(rne(w / d),
//!   -8, 7)`, stored as the nibble `q + 8`; `d` is kept as an f32 (4.5 bits
//!   per value in all, as Q4_K);
//! - two blocks share 64 bytes (a *group*): byte `j` holds value `j` of the
//!   even block in its low nibble and value `j` of the odd block in its high
//!   nibble, so one AND and one shift give 64 unsigned codes in input order.
//!   Rows are padded with zeros to a multiple of 128 values;
//! - rows are stored in panels of [`PANEL`] (the last one padded with zero
//!   rows), group-major inside a panel: group `g` of the panel's rows 0..4,
//!   then group `g + 1`, and the scales likewise (`2 * PANEL` per group). A
//!   kernel computing a panel's rows together reads one sequential stream,
//!   which the hardware prefetcher follows (rows one after another would be
//!   four short streams per step).
//!
//! **Input**: the final hidden row quantized per token to int8 (absmax,
//! `s = 127 / max|x|`, as a BitLinear input), and per block the 16 sums of
//! four consecutive inputs times -8 (the correction of the unsigned codes).
//!
//! **Arithmetic** (the same on every path, so every path gives the same
//! logits): per block `b` and lane `l` (values `4l .. 4l+3` of the block) the
//! exact integer `p = sum (q + 8) x - 8 sum x = sum q x` (`vpdpbusd` started
//! from the correction, or `vpmaddubsw` + `vpmaddwd` on AVX2); the lane adds
//! `f32(p) * d_b` (a product, then a sum: no fused multiply-add), blocks in
//! order; the 16 lanes combine by [`reduce_lanes`], and the logit is that
//! sum divided by `s`.

// Index loops over small register arrays: they unroll to fixed registers.
#![allow(clippy::needless_range_loop)]

use tritium_golden::ops::{reduce_lanes, DOT_LANES};
use tritium_golden::DenseMatrix;

use super::kernels::{head_path, Isa};

/// Values per block (one scale each).
pub const Q4_BLOCK: usize = 64;
/// Values per 64-byte group (two blocks).
const GROUP: usize = 2 * Q4_BLOCK;
/// Rows per panel (see the module docs); the kernels compute a panel's rows
/// together.
pub const PANEL: usize = 4;

/// The int4 head (see the module docs).
#[derive(Clone)]
pub struct Q4Head {
    rows: usize,
    cols: usize,
    /// Values per row as stored: `cols` rounded up to [`GROUP`].
    stride: usize,
    /// Panel-major codes and scales (see the module docs).
    codes: tritium_util::HugeBuf<u8>,
    scales: tritium_util::HugeBuf<f32>,
}

impl std::fmt::Debug for Q4Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Q4Head({} x {})", self.rows, self.cols)
    }
}

/// The final hidden row quantized for the int4 head.
#[derive(Debug, Clone, Default)]
pub struct Q4Input {
    /// int8 values, zero-padded to the head's stride.
    pub data: Vec<i8>,
    /// Per block, 16 lanes of `-8 * (x[4l] + .. + x[4l + 3])`.
    pub corr: Vec<i32>,
    /// `127 / max|x|`.
    pub scale: f32,
}

/// Divisors of the block's largest-magnitude value tried as the scale
/// (`d = m / -f`): 8 maps `m` onto code -8 exactly (ggml's Q4_0); larger
/// ones clip `m` and keep finer steps for the rest.
const DIVISORS: [f32; 4] = [8.0, 9.0, 10.0, 11.0];

/// One block quantized: its scale and its 64 codes `q + 8`. For each
/// divisor the codes `q = clamp(rne(w / d), -8, 7)`, then the least-squares
/// scale of those codes `d = sum w q / sum q^2`; the pair with the smallest
/// squared error is kept (as ggml's `make_qx_quants` searches scales). The
/// sums are taken in 8 lanes (element `i` into lane `i % 8`, lanes added in
/// order), so the loops vectorize: one running sum per block measured 1.9 s
/// of CPU time for the 2B4T head.
fn quantize_block(w: &[f32; Q4_BLOCK], codes: &mut [u8; Q4_BLOCK]) -> f32 {
    // The first value of largest magnitude, sign kept: the largest |w| in
    // lanes (exact, any order), then its first occurrence.
    let mut amax = [0f32; 8];
    for wc in w.chunks_exact(8) {
        for j in 0..8 {
            amax[j] = amax[j].max(wc[j].abs());
        }
    }
    let amax = amax.iter().fold(0f32, |a, &b| a.max(b));
    codes.fill(8);
    if amax == 0.0 {
        return 0.0;
    }
    let m = *w
        .iter()
        .find(|v| v.abs() == amax)
        .expect("amax is one of them");
    let mut best = (f32::INFINITY, 0f32);
    let mut q = [0f32; Q4_BLOCK];
    // |w * id| <= f <= 11: adding and subtracting 1.5 * 2^23 rounds to the
    // nearest integer, ties to even (what `round_ties_even` computes, but
    // inline: without SSE4.1 enabled that is a call to libm's `rintf`,
    // which made preparing a 2B4T head take seconds).
    const RNE: f32 = 12_582_912.0;
    let lanes = |l: [f32; 8]| l.iter().sum::<f32>();
    for f in DIVISORS {
        let id = -f / m;
        let (mut wq, mut qq) = ([0f32; 8], [0f32; 8]);
        for (qc, wc) in q.chunks_exact_mut(8).zip(w.chunks_exact(8)) {
            for j in 0..8 {
                qc[j] = ((wc[j] * id + RNE) - RNE).clamp(-8.0, 7.0);
                wq[j] += wc[j] * qc[j];
                qq[j] += qc[j] * qc[j];
            }
        }
        let d = lanes(wq) / lanes(qq);
        let mut err = [0f32; 8];
        for (qc, wc) in q.chunks_exact(8).zip(w.chunks_exact(8)) {
            for j in 0..8 {
                let e = wc[j] - d * qc[j];
                err[j] += e * e;
            }
        }
        let err = lanes(err);
        if err < best.0 {
            best = (err, d);
            for (c, &q) in codes.iter_mut().zip(&q) {
                *c = (q as i32 + 8) as u8;
            }
        }
    }
    best.1
}

impl Q4Head {
    /// Quantizes every row of `m` (in parallel; see the module docs).
    pub fn from_dense(m: &DenseMatrix) -> Q4Head {
        use rayon::prelude::*;
        let (rows, cols) = (m.rows(), m.cols());
        let stride = cols.div_ceil(GROUP) * GROUP;
        let (groups, blocks) = (stride / GROUP, stride / Q4_BLOCK);
        let panels = rows.div_ceil(PANEL);
        let mut codes = tritium_util::HugeBuf::filled(panels * PANEL * stride / 2, 0x88u8);
        let mut scales = tritium_util::HugeBuf::filled(panels * PANEL * blocks, 0f32);
        codes
            .par_chunks_mut(PANEL * stride / 2)
            .zip(scales.par_chunks_mut(PANEL * blocks))
            .enumerate()
            .for_each_init(
                || vec![0.0f32; stride],
                |row, (p, (cp, sp))| {
                    for r in 0..PANEL.min(rows - p * PANEL) {
                        m.row_into(p * PANEL + r, &mut row[..cols]);
                        let mut q = [[0u8; Q4_BLOCK]; 2];
                        for g in 0..groups {
                            let at = g * PANEL + r;
                            for h in 0..2 {
                                let b = 2 * g + h;
                                let vals = row[b * Q4_BLOCK..(b + 1) * Q4_BLOCK]
                                    .try_into()
                                    .expect("rows are padded to whole blocks");
                                sp[2 * at + h] = quantize_block(vals, &mut q[h]);
                            }
                            let bytes = &mut cp[at * Q4_BLOCK..(at + 1) * Q4_BLOCK];
                            for (j, byte) in bytes.iter_mut().enumerate() {
                                *byte = q[0][j] | (q[1][j] << 4);
                            }
                        }
                    }
                },
            );
        Q4Head {
            rows,
            cols,
            stride,
            codes,
            scales,
        }
    }

    /// Where group `g` of row `v` is: the index of its 64 code bytes (in
    /// units of 64 bytes) and of its first scale (in units of 2).
    fn group_at(&self, v: usize, g: usize) -> usize {
        ((v / PANEL) * (self.stride / GROUP) + g) * PANEL + v % PANEL
    }

    /// Quantizes the final hidden row `x` (finite, `cols` long) into `xq`.
    pub fn quantize_input(&self, x: &[f32], xq: &mut Q4Input) {
        assert_eq!(x.len(), self.cols);
        let max = x.iter().fold(0.0f32, |a, &v| a.max(v.abs())).max(1e-5);
        let s = 127.0 / max;
        xq.data.clear();
        xq.data.resize(self.stride, 0);
        for (d, &v) in xq.data.iter_mut().zip(x) {
            *d = tritium_golden::quant::round_clamp_i8(v * s);
        }
        xq.corr.clear();
        xq.corr.extend(
            xq.data
                .chunks_exact(4)
                .map(|q| -8 * q.iter().map(|&v| i32::from(v)).sum::<i32>()),
        );
        xq.scale = s;
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Bytes per full read (codes and scales, with the padding rows of the
    /// last panel).
    pub fn bytes(&self) -> usize {
        self.codes.len() + 4 * self.scales.len()
    }

    /// The values row `v` stands for (`d q` per value; `cols` of them).
    pub fn row_values(&self, v: usize, out: &mut [f32]) {
        for (c, o) in out[..self.cols].iter_mut().enumerate() {
            let (b, i) = (c / Q4_BLOCK, c % Q4_BLOCK);
            let at = self.group_at(v, b / 2);
            let q = (self.codes[at * Q4_BLOCK + i] >> (4 * (b % 2))) & 0x0f;
            *o = self.scales[2 * at + b % 2] * f32::from(i16::from(q) - 8);
        }
    }

    /// The codes: address of the first byte and length.
    pub fn code_range(&self) -> (usize, usize) {
        (self.codes.as_ptr() as usize, self.codes.len())
    }

    /// Logits of rows `v0 .. v0 + out.len()` for an input quantized by
    /// [`Q4Head::quantize_input`]; the same on every path.
    pub fn rows_into(&self, isa: Isa, xq: &Q4Input, v0: usize, out: &mut [f32]) {
        assert_eq!(xq.data.len(), self.stride);
        assert_eq!(xq.corr.len(), self.stride / 4);
        assert!(v0 + out.len() <= self.rows);
        match head_path(isa, true) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the features are present (`head_path`); bounds above.
            Isa::Avx512 => unsafe { x86::rows512(self, xq, v0, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Isa::Avx2 => unsafe { x86::rows256(self, xq, v0, out) },
            _ => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = self.row_scalar(v0 + i, xq);
                }
            }
        }
    }

    /// The portable definition of one logit (see the module docs).
    fn row_scalar(&self, v: usize, xq: &Q4Input) -> f32 {
        let blocks = self.stride / Q4_BLOCK;
        let mut acc = [0f32; DOT_LANES];
        for b in 0..blocks {
            let (at, h) = (self.group_at(v, b / 2), b % 2);
            let codes = &self.codes[at * Q4_BLOCK..(at + 1) * Q4_BLOCK];
            let d = self.scales[2 * at + h];
            for l in 0..DOT_LANES {
                let mut p = xq.corr[b * DOT_LANES + l];
                for i in 4 * l..4 * l + 4 {
                    let q = (codes[i] >> (4 * h)) & 0x0f;
                    p += i32::from(q) * i32::from(xq.data[b * Q4_BLOCK + i]);
                }
                acc[l] += p as f32 * d;
            }
        }
        reduce_lanes(acc) / xq.scale
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Q4Head, Q4Input, GROUP, PANEL, Q4_BLOCK};
    use tritium_golden::ops::{reduce_lanes, DOT_LANES};

    /// Calls `panel(codes, scales)` for every panel holding rows
    /// `v0 .. v0 + out.len()` (the pointers to its first group) and stores
    /// the logits it returns for the rows in that range.
    #[inline(always)]
    unsafe fn for_panels(
        h: &Q4Head,
        v0: usize,
        out: &mut [f32],
        mut panel: impl FnMut(*const u8, *const f32) -> [f32; PANEL],
    ) {
        let end = v0 + out.len();
        for p in v0 / PANEL..end.div_ceil(PANEL) {
            let at = h.group_at(p * PANEL, 0);
            let logits = panel(
                h.codes.as_ptr().add(at * Q4_BLOCK),
                h.scales.as_ptr().add(2 * at),
            );
            for (r, l) in logits.into_iter().enumerate() {
                let v = p * PANEL + r;
                if (v0..end).contains(&v) {
                    out[v - v0] = l;
                }
            }
        }
    }

    /// AVX-512 VNNI: 16 lanes per register, `vpdpbusd` from the correction.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn rows512(h: &Q4Head, xq: &Q4Input, v0: usize, out: &mut [f32]) {
        let groups = h.stride / GROUP;
        let (xp, cp) = (xq.data.as_ptr(), xq.corr.as_ptr());
        let m4 = _mm512_set1_epi8(0x0f);
        // Prefetch the same group of the next panel.
        let ahead = PANEL * h.stride / 2;
        let sahead = PANEL * h.stride / Q4_BLOCK * 4;
        for_panels(h, v0, out, |codes, scales| {
            let mut acc = [_mm512_setzero_ps(); PANEL];
            for g in 0..groups {
                let x = [
                    _mm512_loadu_si512(xp.add(g * GROUP) as *const __m512i),
                    _mm512_loadu_si512(xp.add(g * GROUP + Q4_BLOCK) as *const __m512i),
                ];
                let c = [
                    _mm512_loadu_si512(cp.add(2 * g * DOT_LANES) as *const __m512i),
                    _mm512_loadu_si512(cp.add((2 * g + 1) * DOT_LANES) as *const __m512i),
                ];
                let sg = scales.add(2 * PANEL * g);
                if g % 2 == 0 {
                    // One line of scales per two groups.
                    _mm_prefetch::<_MM_HINT_T0>((sg as *const u8).wrapping_add(sahead) as *const i8);
                }
                for r in 0..PANEL {
                    let p = codes.add((g * PANEL + r) * Q4_BLOCK);
                    _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(ahead) as *const i8);
                    let w = _mm512_loadu_si512(p as *const __m512i);
                    let q = [
                        _mm512_and_si512(w, m4),
                        _mm512_and_si512(_mm512_srli_epi16::<4>(w), m4),
                    ];
                    for b in 0..2 {
                        let dot = _mm512_dpbusd_epi32(c[b], q[b], x[b]);
                        let d = _mm512_set1_ps(*sg.add(2 * r + b));
                        acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(_mm512_cvtepi32_ps(dot), d));
                    }
                }
            }
            std::array::from_fn(|r| {
                let mut lanes = [0f32; DOT_LANES];
                _mm512_storeu_ps(lanes.as_mut_ptr(), acc[r]);
                reduce_lanes(lanes) / xq.scale
            })
        });
    }

    /// Bytes of codes the AVX2 loop prefetches ahead (scales: an eighth).
    const Q4_AHEAD: usize = 2048;

    /// AVX2: lanes 0..8 and 8..16 of a block in two registers;
    /// `vpmaddubsw` (pairs of `(q + 8) x`, at most 2 * 15 * 128: no
    /// saturation) then `vpmaddwd` by ones gives the same lane integers.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn rows256(h: &Q4Head, xq: &Q4Input, v0: usize, out: &mut [f32]) {
        let groups = h.stride / GROUP;
        let (xp, cp) = (xq.data.as_ptr(), xq.corr.as_ptr());
        let m4 = _mm256_set1_epi8(0x0f);
        let ones = _mm256_set1_epi16(1);
        for_panels(h, v0, out, |codes, scales| {
            let mut acc = [[_mm256_setzero_ps(); 2]; PANEL];
            for g in 0..groups {
                let sg = scales.add(2 * PANEL * g);
                // The codes and the scales are two sequential streams;
                // prefetched ahead as the 2-bit GEMV's (`kernels::x86`).
                // A prefetch never faults; past the end it is only wasted.
                if g % 2 == 0 {
                    let s = (sg as *const u8).wrapping_add(Q4_AHEAD / 8);
                    _mm_prefetch::<_MM_HINT_T0>(s as *const i8);
                }
                for r in 0..PANEL {
                    let p = codes.add((g * PANEL + r) * Q4_BLOCK);
                    _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(Q4_AHEAD) as *const i8);
                }
                for half in 0..2 {
                    // Values 32 half .. 32 half + 32 of both blocks.
                    let off = 32 * half;
                    let x = [
                        _mm256_loadu_si256(xp.add(g * GROUP + off) as *const __m256i),
                        _mm256_loadu_si256(xp.add(g * GROUP + Q4_BLOCK + off) as *const __m256i),
                    ];
                    let c = [
                        _mm256_loadu_si256(cp.add(2 * g * DOT_LANES + 8 * half) as *const __m256i),
                        _mm256_loadu_si256(
                            cp.add((2 * g + 1) * DOT_LANES + 8 * half) as *const __m256i
                        ),
                    ];
                    for r in 0..PANEL {
                        let p = codes.add((g * PANEL + r) * Q4_BLOCK + off);
                        let w = _mm256_loadu_si256(p as *const __m256i);
                        let q = [
                            _mm256_and_si256(w, m4),
                            _mm256_and_si256(_mm256_srli_epi16::<4>(w), m4),
                        ];
                        for b in 0..2 {
                            let pairs = _mm256_maddubs_epi16(q[b], x[b]);
                            let dot = _mm256_add_epi32(c[b], _mm256_madd_epi16(pairs, ones));
                            let d = _mm256_set1_ps(*sg.add(2 * r + b));
                            acc[r][half] = _mm256_add_ps(
                                acc[r][half],
                                _mm256_mul_ps(_mm256_cvtepi32_ps(dot), d),
                            );
                        }
                    }
                }
            }
            std::array::from_fn(|r| {
                let mut lanes = [0f32; DOT_LANES];
                _mm256_storeu_ps(lanes.as_mut_ptr(), acc[r][0]);
                _mm256_storeu_ps(lanes.as_mut_ptr().add(8), acc[r][1]);
                reduce_lanes(lanes) / xq.scale
            })
        });
    }
}
