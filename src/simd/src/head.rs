//! The lm_head (vocabulary projection) of the SIMD engine.
//!
//! **Exact** (default): the golden pinned order of
//! [`tritium_golden::ops::dot`] — element `i` into lane `i % 16`, each term
//! a separate f32 multiply then add (never a fused multiply-add), lanes
//! combined by [`reduce_lanes`]. A 16-lane (AVX-512), 2 x 8-lane (AVX2) or
//! 4 x 4-lane (NEON) loop of `mul` then `add` is exactly that, so the logits
//! are bitwise the golden ones. The weights stay as stored (bf16, f16 or
//! f32) and are widened to f32 in registers, exactly, as the golden model
//! widens them: the head is read once per token, at its stored size. bf16
//! widens by a 16-bit shift; f16 by the conversion instruction where there
//! is one (`vcvtph2ps`: AVX-512F, or F16C next to AVX2, detected on its own
//! since CPUID reports it apart from AVX2) and elsewhere by the integer
//! steps of [`tritium_golden::ops::f16_to_f32`] (NEON: stable Rust has no
//! f16 vector type for `fcvtl`). An AVX2 CPU without F16C runs an f16 head
//! on the scalar path.
//!
//! **Q8** (opt-in fast mode, W8A8): each vocabulary row re-quantized at
//! load to int8 with its own f32 scale (`s_v = max|w_v| / 127`,
//! `q = rne(w / s_v)`), the final hidden row quantized per token to int8
//! (absmax, like a BitLinear input), the dot products exact in i32
//! (`vpdpbusd` on AVX-512 VNNI, `vpmaddwd` on AVX2, plain Rust elsewhere;
//! the same integers on every path), `logit = s_v * (dot / s_x)`. Half the bytes of a bf16 head;
//! not bit-exact with the golden model (the deviation is measured by the
//! tests and documented in the README).

// Index loops over small register arrays: they unroll to fixed registers
// and read closer to the instruction sequence than iterator chains.
#![allow(clippy::needless_range_loop)]

use tritium_golden::ops::{bf16_to_f32, f16_to_f32, reduce_lanes, DOT_LANES};
use tritium_golden::quant::round_clamp_i8;
use tritium_golden::{BlockType, DenseMatrix};

use super::kernels::{count_run, head_path, Isa};

/// A head's weights as stored.
#[derive(Debug, Clone, Copy)]
pub enum HeadRows<'a> {
    Bf16(&'a [u16]),
    /// IEEE binary16 bit patterns.
    F16(&'a [u16]),
    F32(&'a [f32]),
    /// ggml blocks (Q8_0, Q6_K), row-major, each row whole blocks.
    Blocks(BlockType, &'a [u8]),
}

impl<'a> HeadRows<'a> {
    pub fn of(m: &'a DenseMatrix) -> HeadRows<'a> {
        match (m.as_bf16(), m.as_f16(), m.as_f32(), m.as_blocks()) {
            (Some(b), _, _, _) => HeadRows::Bf16(b),
            (_, Some(h), _, _) => HeadRows::F16(h),
            (_, _, Some(f), _) => HeadRows::F32(f),
            (_, _, _, Some((t, b))) => HeadRows::Blocks(t, b),
            _ => unreachable!("a DenseMatrix is bf16, f16, f32 or blocks"),
        }
    }

    /// Elements stored.
    pub fn len(&self) -> usize {
        match self {
            HeadRows::Bf16(b) | HeadRows::F16(b) => b.len(),
            HeadRows::F32(f) => f.len(),
            HeadRows::Blocks(t, b) => b.len() / t.bytes() * t.elems(),
        }
    }

    /// Whether no element is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes per element as stored (of an element type; blocks have none).
    fn elem_bytes(&self) -> usize {
        match self {
            HeadRows::Bf16(_) | HeadRows::F16(_) => 2,
            HeadRows::F32(_) => 4,
            HeadRows::Blocks(..) => unreachable!("blocks have their own kernels"),
        }
    }

    /// Bytes per full read.
    pub fn bytes(&self) -> usize {
        match self {
            HeadRows::Blocks(_, b) => b.len(),
            _ => self.len() * self.elem_bytes(),
        }
    }

    /// Address of the first byte.
    pub fn addr(&self) -> usize {
        match self {
            HeadRows::Bf16(b) | HeadRows::F16(b) => b.as_ptr() as usize,
            HeadRows::F32(f) => f.as_ptr() as usize,
            HeadRows::Blocks(_, b) => b.as_ptr() as usize,
        }
    }

    /// Element `i` widened to f32 (exact), as the golden model widens it.
    #[inline(always)]
    fn get(&self, i: usize) -> f32 {
        match self {
            HeadRows::Bf16(b) => bf16_to_f32(b[i]),
            HeadRows::F16(h) => f16_to_f32(h[i]),
            HeadRows::F32(f) => f[i],
            HeadRows::Blocks(..) => unreachable!("blocks have their own kernels"),
        }
    }
}

/// Exact logits of rows `v0 .. v0 + out.len()` (pinned order).
pub fn exact_rows(isa: Isa, w: HeadRows, cols: usize, x: &[f32], v0: usize, out: &mut [f32]) {
    if let HeadRows::Blocks(t, b) = w {
        return super::head_blocks::exact_rows(isa, t, b, cols, x, v0, out);
    }
    assert_eq!(x.len(), cols);
    let rows = out.len();
    assert!(w.len() >= (v0 + rows) * cols);
    let isa = isa.vector();
    let ran = if isa.available() { isa } else { Isa::Scalar };
    #[cfg(target_arch = "x86_64")]
    let ran = if ran == Isa::Avx2 && matches!(w, HeadRows::F16(_)) && !super::kernels::has_f16c() {
        Isa::Scalar
    } else {
        ran
    };
    count_run(ran);
    match ran {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: feature present (checked above); bounds above.
        Isa::Avx512 => unsafe { x86::exact_rows512(w, cols, x, v0, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above; an f16 head gets here only with F16C (checked above).
        Isa::Avx2 => unsafe {
            match w {
                HeadRows::F16(_) => x86::exact_rows256_f16c(w, cols, x, v0, out),
                _ => x86::exact_rows256(w, cols, x, v0, out),
            }
        },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as above.
        Isa::Neon => unsafe { neon::exact_rows(w, cols, x, v0, out) },
        _ => {
            for (i, o) in out.iter_mut().enumerate() {
                let r = (v0 + i) * cols;
                *o = match w {
                    HeadRows::Bf16(b) => lanes_dot(&b[r..r + cols], x, |v| bf16_to_f32(*v)),
                    HeadRows::F16(h) => lanes_dot(&h[r..r + cols], x, |v| f16_to_f32(*v)),
                    HeadRows::F32(f) => lanes_dot(&f[r..r + cols], x, |v| *v),
                    HeadRows::Blocks(..) => unreachable!("handled above"),
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
    /// Row stride of `q`: `cols` rounded up to 64 (zero padding).
    stride: usize,
    q: tritium_util::HugeBuf<i8>,
    scales: Vec<f32>,
    /// `sum_c q[v, c]` per row (the correction of the unsigned input).
    row_sums: Vec<i32>,
}

/// Widest input of the Q8 head: its i32 dot products stay exact while
/// `cols * 255 * 127 < 2^31`.
pub const Q8_MAX_COLS: usize = 65_536;

/// The final hidden row quantized for the Q8 head: per-token absmax int8
/// (`s = 127 / max|x|`, `xq = rne(x * s)`), stored offset by +128 as u8
/// (the unsigned operand of `vpdpbusd`), padded with 128 (zero).
#[derive(Debug, Clone, Default)]
pub struct Q8Input {
    pub data: Vec<u8>,
    pub scale: f32,
}

impl std::fmt::Debug for Q8Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Q8Head({} x {})", self.rows, self.cols)
    }
}

impl Q8Head {
    /// Quantizes every row of `m` (rows are independent: done in parallel):
    /// `s_v = max|w_v| / 127`, `q = rne(w / s_v)` in -127..=127.
    pub fn from_dense(m: &DenseMatrix) -> Q8Head {
        use rayon::prelude::*;
        let (rows, cols) = (m.rows(), m.cols());
        let stride = cols.div_ceil(64) * 64;
        let mut q = tritium_util::HugeBuf::filled(rows * stride, 0i8);
        let mut scales = vec![0.0f32; rows];
        let mut row_sums = vec![0i32; rows];
        q.par_chunks_mut(stride)
            .zip(scales.par_iter_mut().zip(row_sums.par_iter_mut()))
            .enumerate()
            .for_each_init(
                || vec![0.0f32; cols],
                |row, (v, (qr, (s, sum)))| {
                    m.row_into(v, row);
                    let max = row.iter().fold(0.0f32, |a, &x| a.max(x.abs()));
                    *s = if max > 0.0 { max / 127.0 } else { 1.0 };
                    let inv = 1.0 / *s;
                    // `round_clamp_i8`, not `round_ties_even` (a libm call
                    // per value: 27 % of a --fast-head start on 2B4T).
                    for (qv, &x) in qr.iter_mut().zip(row.iter()) {
                        *qv = round_clamp_i8(x * inv).max(-127);
                    }
                    *sum = qr.iter().map(|&v| i32::from(v)).sum();
                },
            );
        Q8Head {
            rows,
            cols,
            stride,
            q,
            scales,
            row_sums,
        }
    }

    /// Quantizes the final hidden row `x` (finite, `cols` long) into `xq`.
    pub fn quantize_input(&self, x: &[f32], xq: &mut Q8Input) {
        assert_eq!(x.len(), self.cols);
        let max = x.iter().fold(0.0f32, |a, &v| a.max(v.abs())).max(1e-5);
        let s = 127.0 / max;
        xq.data.clear();
        xq.data.resize(self.stride, 128);
        for (d, &v) in xq.data.iter_mut().zip(x) {
            *d = (i16::from(tritium_golden::quant::round_clamp_i8(v * s)) + 128) as u8;
        }
        xq.scale = s;
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Bytes per full read (codes, scales and row sums).
    pub fn bytes(&self) -> usize {
        self.q.len() + 8 * self.rows
    }

    /// The int8 codes: address of the first byte and length.
    pub fn code_range(&self) -> (usize, usize) {
        (self.q.as_ptr() as usize, self.q.len())
    }

    /// The logit of row `v` from its integer dot product with the input.
    #[inline]
    fn logit(&self, v: usize, dot: i32, xq: &Q8Input) -> f32 {
        let exact = dot - 128 * self.row_sums[v];
        self.scales[v] * (exact as f32 / xq.scale)
    }

    /// Logits of rows `v0 .. v0 + out.len()` for an input quantized by
    /// [`Q8Head::quantize_input`]. The dot products are exact integers, so
    /// every path gives the same logits.
    pub fn rows_into(&self, isa: Isa, xq: &Q8Input, v0: usize, out: &mut [f32]) {
        assert_eq!(xq.data.len(), self.stride);
        assert!(v0 + out.len() <= self.rows);
        match head_path(isa, true) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the features are present (`head_path`); bounds above.
            Isa::Avx512 => unsafe { x86::q8_rows(self, xq, v0, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Isa::Avx2 => unsafe { x86::q8_rows256(self, xq, v0, out) },
            // No NEON Q8 rows: the portable loop (integer dot products, so
            // the same logits).
            _ => {
                for (i, o) in out.iter_mut().enumerate() {
                    let v = v0 + i;
                    let row = &self.q[v * self.stride..(v + 1) * self.stride];
                    let dot: i32 = row
                        .iter()
                        .zip(&xq.data)
                        .map(|(&q, &x)| i32::from(q) * i32::from(x))
                        .sum();
                    *o = self.logit(v, dot, xq);
                }
            }
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
            lanes[c - full] += w.get(base + c) * x[c];
        }
        *o = reduce_lanes(*lanes);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{finish, HeadRows, Q8Head, Q8Input, R};
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

    /// Widens 16 f16 at `p` to f32 (`vcvtph2ps`: exact, subnormals kept).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn f16x16(p: *const u16) -> __m512 {
        _mm512_cvtph_ps(_mm256_loadu_si256(p as *const __m256i))
    }

    /// Widens 8 f16 at `p` to f32 (F16C `vcvtph2ps`: exact).
    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn f16x8(p: *const u16) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
    }

    /// Loads 16 weights of any stored type as f32.
    #[inline(always)]
    unsafe fn load16(w: HeadRows, off: usize) -> __m512 {
        match w {
            HeadRows::Bf16(b) => bf16x16(b.as_ptr().add(off)),
            HeadRows::F16(h) => f16x16(h.as_ptr().add(off)),
            HeadRows::F32(f) => _mm512_loadu_ps(f.as_ptr().add(off)),
            HeadRows::Blocks(..) => unreachable!("blocks have their own kernels"),
        }
    }

    /// Lane sums of `RR` consecutive rows from `v` over the full 16-element
    /// steps: fixed row count, so the accumulators stay in registers; each
    /// row stream is prefetched one block of rows ahead.
    #[inline(always)]
    unsafe fn rows512<const RR: usize>(
        w: HeadRows,
        cols: usize,
        x: &[f32],
        v: usize,
    ) -> [[f32; DOT_LANES]; R] {
        let full = cols / DOT_LANES * DOT_LANES;
        let (base, elem) = (w.addr() as *const u8, w.elem_bytes());
        // Prefetch distance: the same column of the same row in the next
        // block of R rows (R * cols elements, 20 KiB ahead for 2B4T's bf16
        // head). Measured on 2B4T's head (2 threads): 1 KiB ahead reached
        // 70-90% of the read bandwidth, a block ahead 98-120% (noisy VM).
        let ahead = R * cols * elem;
        let mut acc = [_mm512_setzero_ps(); RR];
        let mut c = 0;
        while c < full {
            let xv = _mm512_loadu_ps(x.as_ptr().add(c));
            for r in 0..RR {
                let off = (v + r) * cols + c;
                if c % 32 == 0 {
                    // A prefetch never faults; past the end it is only wasted.
                    let p = base.wrapping_add(off * elem + ahead);
                    _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
                }
                acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(load16(w, off), xv));
            }
            c += DOT_LANES;
        }
        let mut lanes = [[0.0f32; DOT_LANES]; R];
        for r in 0..RR {
            _mm512_storeu_ps(lanes[r].as_mut_ptr(), acc[r]);
        }
        lanes
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
        for (ci, o) in out.chunks_mut(R).enumerate() {
            let v = v0 + ci * R;
            let mut lanes = match o.len() {
                4 => rows512::<4>(w, cols, x, v),
                3 => rows512::<3>(w, cols, x, v),
                2 => rows512::<2>(w, cols, x, v),
                _ => rows512::<1>(w, cols, x, v),
            };
            finish(w, cols, x, v, &mut lanes, o);
        }
    }

    /// Stored element types of [`rows256`] (a const parameter, so each
    /// type gets a loop of its own with no branch on the type inside).
    const BF16: u8 = 0;
    const F16: u8 = 1;
    const F32: u8 = 2;

    /// Exact rows of a bf16 or f32 head on AVX2 (see [`rows256`]).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn exact_rows256(
        w: HeadRows,
        cols: usize,
        x: &[f32],
        v0: usize,
        out: &mut [f32],
    ) {
        match w {
            HeadRows::Bf16(_) => rows256::<BF16>(w, cols, x, v0, out),
            HeadRows::F32(_) => rows256::<F32>(w, cols, x, v0, out),
            _ => unreachable!("f16 heads take exact_rows256_f16c, blocks their own kernels"),
        }
    }

    /// Exact rows of an f16 head on AVX2 + F16C.
    #[target_feature(enable = "avx2,f16c")]
    pub(super) unsafe fn exact_rows256_f16c(
        w: HeadRows,
        cols: usize,
        x: &[f32],
        v0: usize,
        out: &mut [f32],
    ) {
        rows256::<F16>(w, cols, x, v0, out)
    }

    /// Exact rows, 16 lanes in two registers (lanes 0..8, 8..16), of a head
    /// stored as `T` ([`BF16`], [`F16`] or [`F32`], matching `w`). Inlined
    /// into its two callers, so the f16 load inlines only into the F16C one.
    #[inline(always)]
    unsafe fn rows256<const T: u8>(
        w: HeadRows,
        cols: usize,
        x: &[f32],
        v0: usize,
        out: &mut [f32],
    ) {
        let full = cols / DOT_LANES * DOT_LANES;
        let xp = x.as_ptr();
        // Each row stream is prefetched one block of R rows ahead, as in
        // `rows512`: without it the hardware prefetcher, which sees R short
        // streams per block, left this loop at 72-81 % of the read bandwidth.
        let (base, elem) = (w.addr() as *const u8, w.elem_bytes());
        let ahead = R * cols * elem;
        for (ci, o) in out.chunks_mut(R).enumerate() {
            let v = v0 + ci * R;
            let mut acc = [[_mm256_setzero_ps(); 2]; R];
            let mut c = 0;
            while c < full {
                let xv = [_mm256_loadu_ps(xp.add(c)), _mm256_loadu_ps(xp.add(c + 8))];
                for (r, acc) in acc.iter_mut().enumerate().take(o.len()) {
                    let off = (v + r) * cols + c;
                    if (c * elem) % 64 == 0 {
                        // A prefetch never faults; past the end it is only wasted.
                        let p = base.wrapping_add(off * elem + ahead);
                        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
                    }
                    for h in 0..2 {
                        let at = base.add((off + 8 * h) * elem);
                        let wv = match T {
                            BF16 => bf16x8(at as *const u16),
                            F16 => f16x8(at as *const u16),
                            _ => _mm256_loadu_ps(at as *const f32),
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

    /// Fast-mode rows on AVX2: both operands widened to i16 and
    /// `vpmaddwd` (exact: `|x q| <= 255 * 127`, pair sums fit i32), four rows
    /// at a time.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn q8_rows256(h: &Q8Head, xq: &Q8Input, v0: usize, out: &mut [f32]) {
        let steps = h.stride / 16;
        let xp = xq.data.as_ptr();
        for (ci, o) in out.chunks_mut(R).enumerate() {
            let v = v0 + ci * R;
            let rows: [*const i8; R] =
                std::array::from_fn(|r| h.q.as_ptr().add((v + r.min(o.len() - 1)) * h.stride));
            let mut acc = [_mm256_setzero_si256(); R];
            for c in 0..steps {
                let xv = _mm256_cvtepu8_epi16(_mm_loadu_si128(xp.add(16 * c) as *const __m128i));
                if c % 4 == 0 {
                    // The same line of the next block of R rows (see `rows256`).
                    for r in 0..R {
                        let p = rows[r].wrapping_add(16 * c + R * h.stride);
                        _mm_prefetch::<_MM_HINT_T0>(p);
                    }
                }
                for r in 0..R {
                    let qv = _mm256_cvtepi8_epi16(_mm_loadu_si128(
                        rows[r].add(16 * c) as *const __m128i
                    ));
                    acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(xv, qv));
                }
            }
            for (r, o) in o.iter_mut().enumerate() {
                let mut lanes = [0i32; 8];
                _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc[r]);
                *o = h.logit(v + r, lanes.iter().sum(), xq);
            }
        }
    }

    /// Fast-mode rows: `vpdpbusd` of the u8 input with four int8 rows at a
    /// time (64 multiply-adds per instruction, so the loop is load-bound).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn q8_rows(h: &Q8Head, xq: &Q8Input, v0: usize, out: &mut [f32]) {
        let steps = h.stride / 64;
        let xp = xq.data.as_ptr() as *const __m512i;
        for (ci, o) in out.chunks_mut(R).enumerate() {
            let v = v0 + ci * R;
            let rows: [*const __m512i; R] = std::array::from_fn(|r| {
                h.q.as_ptr().add((v + r.min(o.len() - 1)) * h.stride) as *const __m512i
            });
            let mut acc = [_mm512_setzero_si512(); R];
            for c in 0..steps {
                let xv = _mm512_loadu_si512(xp.add(c));
                for r in 0..R {
                    acc[r] = _mm512_dpbusd_epi32(acc[r], xv, _mm512_loadu_si512(rows[r].add(c)));
                }
            }
            for (r, o) in o.iter_mut().enumerate() {
                *o = h.logit(v + r, _mm512_reduce_add_epi32(acc[r]), xq);
            }
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    use std::arch::aarch64::*;

    use super::{finish, HeadRows, R};
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

    /// Widens 4 f16 (in the low halves of `h`'s 32-bit lanes) to f32 by the
    /// integer steps of [`tritium_golden::ops::f16_to_f32`], lane by lane:
    /// normal `(em << 13) + (112 << 23)`; subnormal `em as f32 * 2^-24`;
    /// infinity / NaN `0x7f80_0000 | em << 13` (NaN made quiet); sign last.
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn f16x4(h: uint32x4_t) -> float32x4_t {
        let em = vandq_u32(h, vdupq_n_u32(0x7fff));
        let sign = vshlq_n_u32::<16>(vandq_u32(h, vdupq_n_u32(0x8000)));
        let normal = vaddq_u32(vshlq_n_u32::<13>(em), vdupq_n_u32(112 << 23));
        let sub = vreinterpretq_u32_f32(vmulq_f32(
            vcvtq_f32_u32(em),
            vdupq_n_f32(1.0 / 16_777_216.0),
        ));
        let quiet = vandq_u32(vcgtq_u32(em, vdupq_n_u32(0x7c00)), vdupq_n_u32(0x0040_0000));
        let special = vorrq_u32(
            vorrq_u32(vshlq_n_u32::<13>(em), vdupq_n_u32(0x7f80_0000)),
            quiet,
        );
        let bits = vbslq_u32(vcltq_u32(em, vdupq_n_u32(0x0400)), sub, normal);
        let bits = vbslq_u32(vcgeq_u32(em, vdupq_n_u32(0x7c00)), special, bits);
        vreinterpretq_f32_u32(vorrq_u32(bits, sign))
    }

    /// Widens 8 f16 at `p` to f32 (exact).
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn f16x8(p: *const u16) -> [float32x4_t; 2] {
        let h = vld1q_u16(p);
        [f16x4(vmovl_u16(vget_low_u16(h))), f16x4(vmovl_high_u16(h))]
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
                        HeadRows::F16(p) => {
                            let [w0, w1] = f16x8(p.as_ptr().add(off));
                            let [w2, w3] = f16x8(p.as_ptr().add(off + 8));
                            [w0, w1, w2, w3]
                        }
                        HeadRows::F32(f) => {
                            std::array::from_fn(|u| vld1q_f32(f.as_ptr().add(off + 4 * u)))
                        }
                        HeadRows::Blocks(..) => unreachable!("blocks have their own kernels"),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The int8 copy's codes are `clamp(rne(w / s_v), -127, 127)` (the
    /// `round_ties_even` formula it used before `round_clamp_i8`): ties to
    /// even both ways, the row's extremes at +-127.
    #[test]
    fn q8_codes_round_half_to_even() {
        let mut w: Vec<f32> = (-2540..=2540).map(|i| i as f32 * 0.05).collect();
        w.extend([
            127.0, -127.0, 126.5, -126.5, 0.5, -0.5, 1.5, -1.5, 2.5, 1e-30,
        ]);
        let cols = w.len();
        let m = DenseMatrix::from_f32("w", 1, cols, w.clone()).unwrap();
        let h = Q8Head::from_dense(&m);
        let inv = 1.0 / h.scales[0];
        assert_eq!(h.scales[0], 127.0 / 127.0);
        for (c, &v) in w.iter().enumerate() {
            let want = (v * inv).round_ties_even().clamp(-127.0, 127.0) as i8;
            assert_eq!(h.q[c], want, "{v}");
        }
        assert_eq!(
            h.row_sums[0],
            h.q[..cols].iter().map(|&v| i32::from(v)).sum::<i32>()
        );
    }

    /// Infinity and NaN never reach a head through a [`DenseMatrix`] (its
    /// constructors reject them), but the raw kernels widen them as
    /// [`f16_to_f32`] defines on every path: logits agree bitwise, or are
    /// NaN together.
    #[test]
    fn f16_specials_widen_as_golden_defines_on_every_path() {
        let cols = 19; // one full 16-lane step and a tail of 3
        let specials = [0x7c00u16, 0xfc00, 0x7e00, 0x7c01, 0xfe00, 0x0001, 0x8000];
        let mut w = Vec::new();
        for (r, &s) in specials.iter().enumerate() {
            for c in 0..cols {
                // The special in a full step (column r) and in the tail (18).
                let v = if c == r || c == 18 { s } else { 0x3c00 };
                w.push(v);
            }
        }
        let rows = specials.len();
        let x: Vec<f32> = (0..cols).map(|c| c as f32 * 0.5 - 2.0).collect();
        let mut want = vec![0.0; rows];
        exact_rows(Isa::Scalar, HeadRows::F16(&w), cols, &x, 0, &mut want);
        for (r, &s) in specials.iter().enumerate() {
            let row: Vec<f32> = w[r * cols..(r + 1) * cols]
                .iter()
                .map(|&h| f16_to_f32(h))
                .collect();
            let golden = tritium_golden::ops::dot(&row, &x);
            assert!(
                golden.to_bits() == want[r].to_bits() || golden.is_nan() && want[r].is_nan(),
                "{s:#06x}"
            );
        }
        for isa in Isa::present() {
            let mut got = vec![0.0; rows];
            exact_rows(isa, HeadRows::F16(&w), cols, &x, 0, &mut got);
            for (r, (g, e)) in got.iter().zip(&want).enumerate() {
                assert!(
                    g.to_bits() == e.to_bits() || g.is_nan() && e.is_nan(),
                    "{isa:?} {:#06x}: {g} != {e}",
                    specials[r]
                );
            }
        }
    }
}
