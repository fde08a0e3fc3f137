//! The exact lm_head over ggml blocks (Q8_0, Q6_K) kept as stored.
//!
//! Bitwise the golden logits ([`tritium_golden::dense::blocks_dot`]): each
//! block is decoded in registers to the f32 values of ggml's reference
//! dequantization, then multiplied by the hidden state and added into lane
//! `i % 16` exactly as the f32 head. Both decodes are exact rewrites of the
//! golden one:
//! - **Q8_0**: `w = q * d` (an int8 times an fp16 value: exact in f32), so
//!   the integer is converted and multiplied by the broadcast `d`.
//! - **Q6_K**: golden computes `(d * scale) * (q - 32)`; `d * scale` is
//!   exact (11 by 8 significant bits), so this is one rounding of the exact
//!   product, computed here as the f32 sub-block scale `s = d * scale`
//!   (16 per block, once) times the converted `q - 32`. The 6-bit codes are
//!   rebuilt from the low nibbles and high bit pairs with byte-wide
//!   shifts and masks on 32 codes at a time (AVX-512: 64, and four rows'
//!   runs interleaved; 8.2 -> 12.1 GB/s of Q6_K blocks per thread in
//!   cache, exact decode of a 2B4T-shaped file with a Q6_K head from
//!   65-69 % to 74-78 % of its floor, 2026-12-06).
//!
//! AVX-512 and AVX2 (+ F16C) kernels; elsewhere (NEON, scalar) the golden
//! loop.
//! Four rows share each load of the hidden state.

// Index loops over small register arrays: they unroll to fixed registers.
#![allow(clippy::needless_range_loop)]

use tritium_golden::dense::blocks_dot;
use tritium_golden::BlockType;

use super::kernels::{has_f16c, head_path, Isa};

/// Exact logits of block rows `v0 .. v0 + out.len()` of a `cols`-wide head.
pub fn exact_rows(
    isa: Isa,
    t: BlockType,
    w: &[u8],
    cols: usize,
    x: &[f32],
    v0: usize,
    out: &mut [f32],
) {
    assert_eq!(x.len(), cols);
    assert!(cols.is_multiple_of(t.elems()));
    let row_bytes = cols / t.elems() * t.bytes();
    assert!(w.len() >= (v0 + out.len()) * row_bytes);
    // Both x86 kernels widen `d` with F16C.
    match head_path(isa, has_f16c()) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the features are present (`head_path`); bounds above.
        Isa::Avx512 => unsafe { x86::rows512(t, w, cols, x, v0, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { x86::rows256(t, w, cols, x, v0, out) },
        _ => {
            for (i, o) in out.iter_mut().enumerate() {
                let r = (v0 + i) * row_bytes;
                *o = blocks_dot(t, &w[r..r + row_bytes], x);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use std::arch::x86_64::*;

    use tritium_golden::ops::{reduce_lanes, DOT_LANES};
    use tritium_golden::BlockType;

    /// Rows per step (independent accumulators sharing the `x` loads).
    pub(crate) const R: usize = 4;

    /// The fp16 at `p` widened to f32 (F16C `vcvtph2ps`: exact, as
    /// [`tritium_golden::ops::f16_to_f32`] for every finite pattern).
    ///
    /// Written as `vmovd` + `vcvtph2ps` (register-only asm): through the
    /// intrinsics, LLVM inserted the 16 bits with `vpinsrw` into whatever
    /// register it picked, merging into (so waiting for) that register's
    /// last value, which chained every block of the exact Q8_0 head behind
    /// the one before (6.1 GB/s in cache on one thread, latency-bound).
    #[inline(always)]
    pub(crate) unsafe fn f16_at(p: *const u8) -> f32 {
        let bits = u32::from(u16::from_le_bytes([*p, *p.add(1)]));
        let v: f32;
        std::arch::asm!(
            "vmovd {v}, {b:e}",
            "vcvtph2ps {v}, {v}",
            b = in(reg) bits, v = out(xmm_reg) v,
            options(pure, nomem, nostack, preserves_flags),
        );
        v
    }

    /// The fp16 at `p` widened to f32 in all 16 lanes (a broadcast of the
    /// bits, then `vcvtph2ps`; every lane is used, so no partial insert).
    #[inline(always)]
    pub(crate) unsafe fn f16_splat512(p: *const u8) -> __m512 {
        _mm512_cvtph_ps(_mm256_set1_epi16(i16::from_le_bytes([*p, *p.add(1)])))
    }

    /// A fast head over stored blocks ([`crate::head_q6k`],
    /// [`crate::head_q80`]) computing up to four rows at a time, the row
    /// count a constant (so the accumulators stay in registers).
    pub(crate) trait RowGroups {
        /// Rows `v .. v + RR` into `out` (`RR` long).
        unsafe fn group<const RR: usize>(&self, v: usize, out: &mut [f32]);
    }

    /// The operands of a fast head over stored blocks: the blocks of the
    /// whole head (`cols` wide, row-major) and the quantized input `xq`.
    pub(crate) struct Rows<'a, X> {
        pub w: &'a [u8],
        pub cols: usize,
        pub xq: &'a X,
    }

    /// Rows `v0 .. v0 + out.len()` of `k`, four at a time, then the rest.
    /// Generic, not a function pointer: the groups inline into the
    /// caller, with its target features.
    #[inline(always)]
    pub(crate) unsafe fn in_fours<K: RowGroups>(k: &K, v0: usize, out: &mut [f32]) {
        let mut i = 0;
        while i < out.len() {
            let n = (out.len() - i).min(R);
            let o = &mut out[i..i + n];
            match n {
                4 => k.group::<4>(v0 + i, o),
                3 => k.group::<3>(v0 + i, o),
                2 => k.group::<2>(v0 + i, o),
                _ => k.group::<1>(v0 + i, o),
            }
            i += n;
        }
    }

    /// Prefetches the `bytes` of a block at `p` (the same block of the next
    /// group of R rows). A prefetch never faults; past the end it is only
    /// wasted.
    #[inline(always)]
    pub(crate) unsafe fn prefetch_block(p: *const u8, bytes: usize) {
        let mut line = 0;
        while line < bytes {
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(line) as *const i8);
            line += 64;
        }
    }

    /// The 16 f32 sub-block scales `d * scale` of a Q6_K block (exact).
    #[inline(always)]
    unsafe fn q6k_scales(blk: *const u8) -> [f32; 16] {
        let d = _mm256_set1_ps(f16_at(blk.add(208)));
        let sc = _mm_loadu_si128(blk.add(192) as *const __m128i);
        let lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc));
        let hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128::<8>(sc)));
        let mut s = [0f32; 16];
        _mm256_storeu_ps(s.as_mut_ptr(), _mm256_mul_ps(d, lo));
        _mm256_storeu_ps(s.as_mut_ptr().add(8), _mm256_mul_ps(d, hi));
        s
    }

    /// The 32 codes `q - 32` (signed bytes) of quarter `k` of half `h` of
    /// a Q6_K block: elements `128 h + 32 k + l`, `l < 32`.
    #[inline(always)]
    unsafe fn q6k_codes(blk: *const u8, h: usize, k: usize) -> __m256i {
        _mm256_sub_epi8(q6k_codes_u(blk, h, k), _mm256_set1_epi8(32))
    }

    /// The 32 6-bit codes `q` (bytes 0..=63) of quarter `k` of half `h` of
    /// a Q6_K block: elements `128 h + 32 k + l`, `l < 32` (the low 16 in
    /// sub-block `8 h + 2 k`, the high 16 in the next).
    #[inline(always)]
    pub(crate) unsafe fn q6k_codes_u(blk: *const u8, h: usize, k: usize) -> __m256i {
        let ql = _mm256_loadu_si256(blk.add(64 * h + 32 * (k & 1)) as *const __m256i);
        let qh = _mm256_loadu_si256(blk.add(128 + 32 * h) as *const __m256i);
        let m4 = _mm256_set1_epi8(0x0f);
        let lo = if k >> 1 == 0 {
            _mm256_and_si256(ql, m4)
        } else {
            _mm256_and_si256(_mm256_srli_epi16::<4>(ql), m4)
        };
        // Bits 2k+1:2k of each qh byte, moved to bits 5:4 (masked first,
        // so a 16-bit shift never carries between bytes).
        let hi = match k {
            0 => _mm256_slli_epi16::<4>(_mm256_and_si256(qh, _mm256_set1_epi8(0x03))),
            1 => _mm256_slli_epi16::<2>(_mm256_and_si256(qh, _mm256_set1_epi8(0x0c))),
            2 => _mm256_and_si256(qh, _mm256_set1_epi8(0x30)),
            _ => _mm256_srli_epi16::<2>(_mm256_and_si256(qh, _mm256_set1_epi8(-64))),
        };
        _mm256_or_si256(lo, hi)
    }

    /// Calls `f(r, codes, scale, e)` for the 16 runs of 16 elements of the
    /// Q6_K blocks `blk[r]` of `RR` rows: the codes `q - 32` of elements
    /// `e .. e + 16` of row `r` (16 signed bytes at `codes`, in a stack
    /// buffer, so the AVX2 caller widens them with the memory form of
    /// `vpmovsxbd`, see [`sx8`]) and their f32 sub-block scale `d * scale`.
    /// All codes of the blocks are rebuilt first, then the runs follow:
    /// rebuilding 32 codes just before their widening loads measured
    /// 17-19 % slower in cache on Zen 3 and 9 % from memory with 2 threads
    /// (2026-12-05; likely the loads waiting on parts of a 32-byte store
    /// still in flight).
    /// Run by run across the rows, so that consecutive calls feed
    /// independent sums (row by row, a row's 32 adds of a block form two
    /// chains of 16 and a loop waits on the add latency); each row's runs
    /// come in element order.
    #[inline(always)]
    unsafe fn q6k_runs<const RR: usize>(
        blk: [*const u8; RR],
        mut f: impl FnMut(usize, *const i8, f32, usize),
    ) {
        // Plain loops, not `array::from_fn`: its closure would not inherit
        // the caller's target features, and the intrinsics in it would
        // become calls (10x slower).
        let mut s = [[0f32; 16]; RR];
        for r in 0..RR {
            s[r] = q6k_scales(blk[r]);
        }
        // All codes of the block first (element order), then the runs: the
        // widening loads then read stores long retired.
        let mut q = [[0i8; 256]; RR];
        for h in 0..2 {
            for k in 0..4 {
                for r in 0..RR {
                    let at = q[r].as_mut_ptr().add(128 * h + 32 * k);
                    _mm256_storeu_si256(at as *mut __m256i, q6k_codes(blk[r], h, k));
                }
            }
        }
        for run in 0..16 {
            for r in 0..RR {
                f(r, q[r].as_ptr().add(16 * run), s[r][run], 16 * run);
            }
        }
    }

    /// The 256 codes `q - 32` (signed bytes) of a Q6_K block into `dst`,
    /// 64 at a time: per half `h`, the 64 low-nibble bytes of `ql` hold
    /// quarters 0 and 1 (elements `128 h .. 128 h + 64`), their high
    /// nibbles quarters 2 and 3, and the 32 `qh` bytes, broadcast to both
    /// 256-bit halves, give each quarter its bit pair, masked per half
    /// and shifted into bits 5:4 by per-half counts (16-bit shifts: the
    /// masked bits never cross a byte). The same codes as [`q6k_codes`].
    #[inline(always)]
    unsafe fn q6k_codes512(blk: *const u8, dst: *mut i8) {
        let m4 = _mm512_set1_epi8(0x0f);
        let halves =
            |lo: __m256i, hi: __m256i| _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi);
        // Quarters 0 | 1: bits 1:0 << 4 | bits 3:2 << 2; 2 | 3: bits 5:4
        // as they are | bits 7:6 >> 2.
        let m01 = halves(_mm256_set1_epi8(0x03), _mm256_set1_epi8(0x0c));
        let m23 = halves(_mm256_set1_epi8(0x30), _mm256_set1_epi8(-64));
        let s01 = halves(_mm256_set1_epi16(4), _mm256_set1_epi16(2));
        let s23 = halves(_mm256_set1_epi16(0), _mm256_set1_epi16(2));
        let c32 = _mm512_set1_epi8(32);
        for h in 0..2 {
            let ql = _mm512_loadu_si512(blk.add(64 * h) as *const __m512i);
            let qh =
                _mm512_broadcast_i64x4(_mm256_loadu_si256(blk.add(128 + 32 * h) as *const __m256i));
            let h01 = _mm512_sllv_epi16(_mm512_and_si512(qh, m01), s01);
            let h23 = _mm512_srlv_epi16(_mm512_and_si512(qh, m23), s23);
            // (a & b) | c
            let c01 = _mm512_ternarylogic_epi32::<0xea>(ql, m4, h01);
            let c23 = _mm512_ternarylogic_epi32::<0xea>(_mm512_srli_epi16::<4>(ql), m4, h23);
            _mm512_storeu_si512(dst.add(128 * h) as *mut __m512i, _mm512_sub_epi8(c01, c32));
            _mm512_storeu_si512(
                dst.add(128 * h + 64) as *mut __m512i,
                _mm512_sub_epi8(c23, c32),
            );
        }
    }

    /// AVX-512: 16 lanes in one register, four rows at a time.
    #[target_feature(enable = "avx512f,avx512bw,avx2,f16c")]
    pub(super) unsafe fn rows512(
        t: BlockType,
        w: &[u8],
        cols: usize,
        x: &[f32],
        v0: usize,
        out: &mut [f32],
    ) {
        for (ci, o) in out.chunks_mut(R).enumerate() {
            let v = v0 + ci * R;
            let lanes = match o.len() {
                4 => block_rows512::<4>(t, w, cols, x, v),
                3 => block_rows512::<3>(t, w, cols, x, v),
                2 => block_rows512::<2>(t, w, cols, x, v),
                _ => block_rows512::<1>(t, w, cols, x, v),
            };
            for (o, l) in o.iter_mut().zip(lanes) {
                *o = reduce_lanes(l);
            }
        }
    }

    #[inline(always)]
    unsafe fn block_rows512<const RR: usize>(
        t: BlockType,
        w: &[u8],
        cols: usize,
        x: &[f32],
        v: usize,
    ) -> [[f32; DOT_LANES]; R] {
        let (eb, bb) = (t.elems(), t.bytes());
        let row_bytes = cols / eb * bb;
        let base = w.as_ptr();
        // Prefetch the same block of the next group of R rows.
        let ahead = R * row_bytes;
        let xp = x.as_ptr();
        let mut acc = [_mm512_setzero_ps(); RR];
        // The Q6_K codes `q - 32` of the group's blocks (see
        // `q6k_codes512`) and their sub-block scales.
        let mut codes = [[0i8; 256]; RR];
        let mut scales = [[0f32; 16]; RR];
        for b in 0..cols / eb {
            let xb = xp.add(b * eb);
            let mut blk = [base; RR];
            for r in 0..RR {
                blk[r] = base.add((v + r) * row_bytes + b * bb);
                prefetch_block(blk[r].wrapping_add(ahead), bb);
            }
            match t {
                BlockType::Q8_0 => {
                    for r in 0..RR {
                        let d = f16_splat512(blk[r]);
                        for j in 0..2 {
                            let q = _mm_loadu_si128(blk[r].add(2 + 16 * j) as *const __m128i);
                            let wv = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d);
                            let xv = _mm512_loadu_ps(xb.add(16 * j));
                            acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(wv, xv));
                        }
                    }
                }
                BlockType::Q6K => {
                    for r in 0..RR {
                        q6k_codes512(blk[r], codes[r].as_mut_ptr());
                        scales[r] = q6k_scales(blk[r]);
                    }
                    // Run by run across the rows: consecutive adds feed
                    // independent sums; each row's runs in element order.
                    for run in 0..16 {
                        let xv = _mm512_loadu_ps(xb.add(16 * run));
                        for r in 0..RR {
                            let q16 =
                                _mm_loadu_si128(codes[r].as_ptr().add(16 * run) as *const __m128i);
                            let sv = _mm512_set1_ps(scales[r][run]);
                            let wv =
                                _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q16)), sv);
                            acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(wv, xv));
                        }
                    }
                }
            }
        }
        let mut lanes = [[0.0f32; DOT_LANES]; R];
        for r in 0..RR {
            _mm512_storeu_ps(lanes[r].as_mut_ptr(), acc[r]);
        }
        lanes
    }

    /// AVX2: 16 lanes in two registers (lanes 0..8, 8..16), four rows at a
    /// time; one loop per block type (no branch on the type per block).
    #[target_feature(enable = "avx2,f16c")]
    pub(super) unsafe fn rows256(
        t: BlockType,
        w: &[u8],
        cols: usize,
        x: &[f32],
        v0: usize,
        out: &mut [f32],
    ) {
        match t {
            BlockType::Q8_0 => block_rows256::<false>(w, cols, x, v0, out),
            BlockType::Q6K => block_rows256::<true>(w, cols, x, v0, out),
        }
    }

    /// The 8 signed bytes at `p` widened to i32 lanes by the memory form
    /// of `vpmovsxbd`. Zen 3 runs that form at two per cycle and the
    /// register form at 0.8 (register-only loops of each, 2026-12-05), and
    /// LLVM keeps a 16-byte load and widens its halves from the register,
    /// hence the asm.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn sx8(p: *const i8) -> __m256i {
        let r: __m256i;
        std::arch::asm!(
            "vpmovsxbd {r}, qword ptr [{p}]",
            r = lateout(ymm_reg) r,
            p = in(reg) p,
            options(pure, readonly, nostack, preserves_flags),
        );
        r
    }

    /// 16 codes (signed bytes at `q`) to two f32 halves times `s`.
    #[inline(always)]
    unsafe fn widen(q: *const i8, s: __m256) -> [__m256; 2] {
        [
            _mm256_mul_ps(_mm256_cvtepi32_ps(sx8(q)), s),
            _mm256_mul_ps(_mm256_cvtepi32_ps(sx8(q.add(8))), s),
        ]
    }

    /// Adds 16 weights times `x[e..e + 16]` into the two lane registers.
    #[inline(always)]
    unsafe fn add16(acc: &mut [__m256; 2], wv: [__m256; 2], xb: *const f32, e: usize) {
        for hh in 0..2 {
            let xv = _mm256_loadu_ps(xb.add(e + 8 * hh));
            acc[hh] = _mm256_add_ps(acc[hh], _mm256_mul_ps(wv[hh], xv));
        }
    }

    /// [`rows256`] for Q6_K (`Q6`) or Q8_0 blocks: whole groups of [`R`]
    /// rows, then the rest, each group's row count a constant (with a
    /// count known only at run time, the loop branched per block and kept
    /// some accumulators in memory).
    #[inline(always)]
    unsafe fn block_rows256<const Q6: bool>(
        w: &[u8],
        cols: usize,
        x: &[f32],
        v0: usize,
        out: &mut [f32],
    ) {
        for (ci, o) in out.chunks_mut(R).enumerate() {
            let v = v0 + ci * R;
            let lanes = match o.len() {
                4 => group256::<Q6, 4>(w, cols, x, v),
                3 => group256::<Q6, 3>(w, cols, x, v),
                2 => group256::<Q6, 2>(w, cols, x, v),
                _ => group256::<Q6, 1>(w, cols, x, v),
            };
            for (o, l) in o.iter_mut().zip(lanes) {
                *o = reduce_lanes(l);
            }
        }
    }

    /// The fp16 `d` of Q8_0 blocks `b .. b + 8` (those below `nb`) of the
    /// `RR` rows from row `v`, widened to f32 eight at a time: gathered by
    /// scalar loads, one `vcvtph2ps`, then broadcast from memory per block.
    /// Widening each block's `d` on its own (an insert, a conversion and
    /// a broadcast, all on the vector pipes the dot product needs) made
    /// the AVX2 Q8_0 head 1.2x slower in cache on Zen 3 (2026-12-05).
    #[inline(always)]
    unsafe fn q8_scales<const RR: usize>(
        base: *const u8,
        row_bytes: usize,
        v: usize,
        b: usize,
        nb: usize,
        ds: &mut [[f32; 8]; RR],
    ) {
        let bb = BlockType::Q8_0.bytes();
        for r in 0..RR {
            let mut h = [0u16; 8];
            for (i, h) in h.iter_mut().enumerate().take(nb - b) {
                let p = base.add((v + r) * row_bytes + (b + i) * bb);
                *h = u16::from_le_bytes([*p, *p.add(1)]);
            }
            let d = _mm256_cvtph_ps(_mm_loadu_si128(h.as_ptr() as *const __m128i));
            _mm256_storeu_ps(ds[r].as_mut_ptr(), d);
        }
    }

    /// The lanes of `RR` rows from row `v`.
    #[inline(always)]
    unsafe fn group256<const Q6: bool, const RR: usize>(
        w: &[u8],
        cols: usize,
        x: &[f32],
        v: usize,
    ) -> [[f32; DOT_LANES]; R] {
        let t = if Q6 { BlockType::Q6K } else { BlockType::Q8_0 };
        let (eb, bb) = (t.elems(), t.bytes());
        let row_bytes = cols / eb * bb;
        let (base, xp) = (w.as_ptr(), x.as_ptr());
        // Prefetch the same block of the next group of R rows (as rows512).
        let ahead = R * row_bytes;
        let mut acc = [[_mm256_setzero_ps(); 2]; RR];
        let mut ds = [[0f32; 8]; RR];
        for b in 0..cols / eb {
            let xb = xp.add(b * eb);
            let blk: [*const u8; RR] =
                std::array::from_fn(|r| base.add((v + r) * row_bytes + b * bb));
            for p in blk {
                prefetch_block(p.wrapping_add(ahead), bb);
            }
            if Q6 {
                q6k_runs(blk, |r, codes, scale, e| {
                    add16(&mut acc[r], widen(codes, _mm256_set1_ps(scale)), xb, e)
                });
            } else {
                if b % 8 == 0 {
                    q8_scales(base, row_bytes, v, b, cols / eb, &mut ds);
                }
                for (r, acc) in acc.iter_mut().enumerate() {
                    let d = _mm256_set1_ps(ds[r][b % 8]);
                    for j in 0..2 {
                        let q = blk[r].add(2 + 16 * j) as *const i8;
                        add16(acc, widen(q, d), xb, 16 * j);
                    }
                }
            }
        }
        let mut lanes = [[0.0f32; DOT_LANES]; R];
        for (l, a) in lanes.iter_mut().zip(acc) {
            _mm256_storeu_ps(l.as_mut_ptr(), a[0]);
            _mm256_storeu_ps(l.as_mut_ptr().add(8), a[1]);
        }
        lanes
    }
}
