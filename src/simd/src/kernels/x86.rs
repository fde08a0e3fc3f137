//! x86-64 kernels: AVX-512 VNNI and AVX2, over the `T2P16` layout.
//!
//! Per 64-byte chunk (16 rows x 16 inputs): one aligned load, then for
//! `j = 0..4` a shift by `2j` and an AND with `0x03` give the codes of
//! inputs `4j..4j+4` for all 16 rows, which one `vpdpbusd` multiplies with
//! the four activations broadcast to every lane (AVX2: `vpmaddubsw` to i16
//! pair sums, added up in i16 over a few blocks, then `vpmaddwd` by ones
//! to i32; a pair sum is at most `2 * 2 * 128` in magnitude, so
//! `vpmaddubsw` never saturates).
//!
//! Decode (one token row) is bandwidth-bound where the dot product is
//! fast: the AVX-512 GEMV keeps four independent accumulators per panel
//! (one per `j`) so the dot-product latency never limits the load stream,
//! and walks several panels at once. The AVX2 one is limited by its
//! multiply ports on some cores and spends as few instructions per product
//! as it can (see `gemv256`). Prefill (several rows) is compute-bound:
//! the AVX-512 kernel unpacks K segments of three panels once into an L1
//! buffer and reuses them for every token row (`prompt512`; prompts of up
//! to 8 rows unpack each chunk in registers, `tile512`); the AVX2 one
//! likewise unpacks K segments of a panel into L1 for prompts of more than
//! 16 rows (`prompt256`) and otherwise unpacks a chunk in registers for
//! up to 4 token rows (`tile256`).

// Index loops over small register arrays: they unroll to fixed registers
// and read closer to the instruction sequence than iterator chains.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;
use std::cell::RefCell;

use super::{Acts, OutTiles, TILE_K, TILE_ROWS};
use crate::layout::{Chunk, PackedTernary, KBLOCK, PANEL};

/// Software prefetch distance of the AVX-512 and base-3 decode loops, in
/// 64-byte chunks.
pub(crate) const PREFETCH_CHUNKS: usize = 16;

/// The AVX2 2-bit decode loop's distance (2 KiB). That loop needs about
/// as many cycles per chunk as the memory takes to deliver it, and without
/// the prefetch the two hardly overlapped: 2B4T's decode kernels ran at
/// 53-67 % of one Zen 3 thread's read bandwidth, and at 75-98 % with it
/// (1 KiB ahead was 10-20 % slower on one thread in interleaved runs, 4 KiB
/// no better, 8 KiB worse); whole-model exact decode went from 21.7-24.7
/// to 27.8-28.1 tok/s (2 threads).
const GEMV256_AHEAD: usize = 32;

/// The software prefetch of a decode loop over `P` panel streams of
/// `len` chunks each, at chunk `i`: `AHEAD` chunks ahead in each stream,
/// and near its end the start of stream `q` of the thread's next GEMV step,
/// whose first panel starts at `next` ([`super::NextStep`]), so that step
/// does not begin with a run of demand misses. The address may lie outside
/// any matrix: computed with wrapping arithmetic and only prefetched (never
/// faults).
#[inline(always)]
pub(crate) fn prefetch_streams<const P: usize, const AHEAD: usize>(
    wp: &[*const Chunk; P],
    i: usize,
    len: usize,
    next: *const Chunk,
) {
    for (q, w) in wp.iter().enumerate() {
        let ahead = if i + AHEAD < len {
            w.wrapping_add(i + AHEAD)
        } else {
            next.wrapping_add(q * len + i + AHEAD - len)
        };
        // SAFETY: a prefetch hint never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(ahead as *const i8) };
    }
}

/// Broadcast of the four activations at `p` (unaligned).
#[inline(always)]
unsafe fn bcast4(p: *const i8) -> i32 {
    (p as *const i32).read_unaligned()
}

// ---------------------------------------------------------------- AVX-512

#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn unpack512(raw: __m512i, j: usize) -> __m512i {
    let m = _mm512_set1_epi8(3);
    match j {
        0 => _mm512_and_si512(raw, m),
        1 => _mm512_and_si512(_mm512_srli_epi16::<2>(raw), m),
        2 => _mm512_and_si512(_mm512_srli_epi16::<4>(raw), m),
        _ => _mm512_and_si512(_mm512_srli_epi16::<6>(raw), m),
    }
}

/// Blocks per segment of the decode kernel: its scaled accumulators (see
/// [`gemv512`]) grow by at most `4 * 128 * 128 = 2^16` per block and would
/// overflow i32 after 2^15 blocks (K = 2^19, below the 2^20 the configs
/// allow), so they are folded into the exact total every 2^12 blocks.
const SEGMENT_BLOCKS: usize = 1 << 12;

/// One token row, `P` panels at once, four accumulators per panel.
///
/// Unpacking without shifts: code `j` of each byte is masked in place
/// (`raw & (3 << 2j)`, one AND, which runs on a different port than the
/// dot product) instead of shifted down and masked (a shift and an AND,
/// both competing with `vpdpbusd` for port 0 on AVX-512 cores). The masked
/// byte is `4^j * c` (at most 128, still an unsigned byte), so accumulator
/// `j` holds exactly `4^j` times its share of the dot product and an
/// arithmetic shift right by `2j` at the end recovers it without rounding.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn gemv512<const P: usize>(
    w: &PackedTernary,
    p: usize,
    a: &Acts,
    out: *mut i32,
    next: *const Chunk,
) {
    let kb = w.kblocks();
    let wp: [*const Chunk; P] = std::array::from_fn(|q| w.panel(p + q).as_ptr());
    let ap = a.data.as_ptr();
    let mut total = [_mm512_set1_epi32(a.sums[0].wrapping_neg()); P];
    let mut b0 = 0;
    while b0 < kb {
        let b1 = (b0 + SEGMENT_BLOCKS).min(kb);
        let mut acc = [[_mm512_setzero_si512(); 4]; P];
        for b in b0..b1 {
            // Each panel is its own stream: fetch ~1 KiB ahead of it.
            prefetch_streams::<P, PREFETCH_CHUNKS>(&wp, b, kb, next);
            let raw: [__m512i; P] =
                std::array::from_fn(|q| _mm512_load_si512(wp[q].add(b) as *const __m512i));
            for j in 0..4 {
                let av = _mm512_set1_epi32(bcast4(ap.add(b * KBLOCK + 4 * j)));
                let m = _mm512_set1_epi8((3u8 << (2 * j)) as i8);
                for q in 0..P {
                    acc[q][j] = _mm512_dpbusd_epi32(acc[q][j], _mm512_and_si512(raw[q], m), av);
                }
            }
        }
        for (t, acc) in total.iter_mut().zip(&acc) {
            let v = _mm512_add_epi32(
                _mm512_add_epi32(acc[0], _mm512_srai_epi32::<2>(acc[1])),
                _mm512_add_epi32(
                    _mm512_srai_epi32::<4>(acc[2]),
                    _mm512_srai_epi32::<6>(acc[3]),
                ),
            );
            *t = _mm512_add_epi32(*t, v);
        }
        b0 = b1;
    }
    for (q, t) in total.iter().enumerate() {
        _mm512_storeu_si512(out.add(q * PANEL) as *mut __m512i, *t);
    }
}

/// `P` panels x `T` token rows from row `r0`; `out` points at panel `p`'s
/// block (`a.rows * 16` values per panel).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile512<const P: usize, const T: usize>(
    w: &PackedTernary,
    p: usize,
    a: &Acts,
    r0: usize,
    out: *mut i32,
) {
    let kb = w.kblocks();
    let wp: [*const Chunk; P] = std::array::from_fn(|q| w.panel(p + q).as_ptr());
    let ap: [*const i8; T] = std::array::from_fn(|t| a.data.as_ptr().add((r0 + t) * a.stride));
    let mut acc = [[_mm512_setzero_si512(); T]; P];
    for b in 0..kb {
        let raw: [__m512i; P] =
            std::array::from_fn(|q| _mm512_load_si512(wp[q].add(b) as *const __m512i));
        for j in 0..4 {
            let wj: [__m512i; P] = std::array::from_fn(|q| unpack512(raw[q], j));
            for t in 0..T {
                let av = _mm512_set1_epi32(bcast4(ap[t].add(b * KBLOCK + 4 * j)));
                for q in 0..P {
                    acc[q][t] = _mm512_dpbusd_epi32(acc[q][t], wj[q], av);
                }
            }
        }
    }
    for (q, acc) in acc.iter().enumerate() {
        for (t, &v) in acc.iter().enumerate() {
            let s = _mm512_set1_epi32(a.sums[r0 + t]);
            let dst = out.add((q * a.rows + r0 + t) * PANEL);
            _mm512_storeu_si512(dst as *mut __m512i, _mm512_sub_epi32(v, s));
        }
    }
}

/// Runs `$e` with the const `$T` set to `$t` (1..=8: the row count of a
/// token group of the AVX-512 prompt kernels).
macro_rules! token_group {
    ($t:expr, $T:ident => $e:expr) => {
        match $t {
            8 => { const $T: usize = 8; $e }
            7 => { const $T: usize = 7; $e }
            6 => { const $T: usize = 6; $e }
            5 => { const $T: usize = 5; $e }
            4 => { const $T: usize = 4; $e }
            3 => { const $T: usize = 3; $e }
            2 => { const $T: usize = 2; $e }
            _ => { const $T: usize = 1; $e }
        }
    };
}

/// K blocks per segment of the prompt kernel [`prompt512`]: three panels'
/// unpacked segment is `3 * 32 * 4 * 64` bytes = 24 KiB, which stays in L1
/// next to a token group's 4 KiB of activations.
const PROMPT_SEG_BLOCKS: usize = 32;

/// K blocks per 64-input step of the tile layout of activations.
const BLOCKS_PER_STEP: usize = TILE_K / KBLOCK;

// Segments start at whole tile steps (see [`seg512`]).
const _: () = assert!(PROMPT_SEG_BLOCKS.is_multiple_of(BLOCKS_PER_STEP));

/// Unpacked operands of one segment, `(b * 4 + j) * P + q` for block `b`,
/// step `j`, panel `q` (see [`prompt512`]).
type PromptSeg = [__m512i; SEG_VECTORS];
/// Vectors of a [`PromptSeg`].
const SEG_VECTORS: usize = PROMPT_SEG_BLOCKS * 4 * PROMPT_PANELS;

/// Panels per pass of [`prompt512`]: 3 panels x 8 token rows are 24
/// accumulators, each 64-byte weight load serving 8 `vpdpbusd` and each
/// broadcast 3 (with 2 panels, 16 and 2). A loop of that mix alone, data in
/// L1, ran at 98-99 % of the register-only `vpdpbusd` peak against 92-97 %
/// for 2 x 8 (best of 15 rounds, Sapphire Rapids-class Xeon); whole calls
/// on one thread gained 2-5 points (interleaved runs).
pub(crate) const PROMPT_PANELS: usize = 3;

/// Unpacks blocks `b0 .. b0 + nb` of panels `p .. p + P` into `buf`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn unpack_seg<const P: usize>(
    w: &PackedTernary,
    p: usize,
    b0: usize,
    nb: usize,
    buf: &mut PromptSeg,
) {
    debug_assert!(P <= PROMPT_PANELS && nb <= PROMPT_SEG_BLOCKS);
    let wp: [*const Chunk; P] = std::array::from_fn(|q| w.panel(p + q).as_ptr().add(b0));
    let dst = buf.as_mut_ptr();
    for b in 0..nb {
        for q in 0..P {
            let raw = _mm512_load_si512(wp[q].add(b) as *const __m512i);
            for j in 0..4 {
                _mm512_store_si512(dst.add((b * 4 + j) * P + q), unpack512(raw, j));
            }
        }
    }
}

/// `P` panels x `T` token rows from row `r0` over one unpacked segment
/// (`nb` of the `kb` blocks, from block `b0`): the accumulators start from
/// the tokens' negated activation sums in the first segment and from
/// `park` (panel `q`, row `r` at `q * a.rows + r`) after it, and go back
/// to `park`, or after the last segment to `out` (seen from the first
/// panel), masked to its valid columns.
///
/// The activations are in the tile layout ([`super::tile_acts`]): `r0` is
/// a multiple of 8, so the `T <= 8` rows lie in one tile row group, and the
/// four activations of row `t` for block `b` sit at a fixed offset from
/// the block's pointer (`b0` is a multiple of 4: a 64-input tile step holds
/// blocks `4s .. 4s + 4`). Only that pointer moves.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn seg512<const P: usize, const T: usize>(
    buf: &PromptSeg,
    (b0, nb, kb): (usize, usize, usize),
    a: &Acts,
    r0: usize,
    park: *mut __m512i,
    out: OutTiles,
) {
    debug_assert!(r0.is_multiple_of(8) && T <= 8 && b0.is_multiple_of(BLOCKS_PER_STEP));
    let group = a
        .data
        .as_ptr()
        .add(r0 / TILE_ROWS * TILE_ROWS * a.stride + r0 % TILE_ROWS * TILE_K);
    let dst = |q: usize, t: usize| out.base.add(q * out.panel_step + (r0 + t) * out.ld);
    // The valid columns of each panel (a partial last panel of the matrix
    // is stored masked: its row-major neighbours belong to the next row).
    let valid: [__mmask16; P] = std::array::from_fn(|q| {
        let cols = out.cols.saturating_sub(q * PANEL).min(PANEL);
        ((1u32 << cols) - 1) as __mmask16
    });
    let mut acc = [[_mm512_setzero_si512(); T]; P];
    for q in 0..P {
        for t in 0..T {
            acc[q][t] = if b0 == 0 {
                _mm512_set1_epi32(a.sums[r0 + t].wrapping_neg())
            } else {
                _mm512_load_si512(park.add(q * a.rows + r0 + t))
            };
        }
    }
    let src = buf.as_ptr();
    // Block `b` of the segment: its unpacked operands and, at `ap`, its
    // 16 inputs of row `r0` (row `r0 + t` at `+ 64 t`).
    macro_rules! block {
        ($b:expr, $ap:expr) => {
            for j in 0..4 {
                let wj: [__m512i; P] =
                    std::array::from_fn(|q| _mm512_load_si512(src.add(($b * 4 + j) * P + q)));
                for t in 0..T {
                    let av = _mm512_set1_epi32(bcast4($ap.add(t * TILE_K + 4 * j)));
                    for q in 0..P {
                        acc[q][t] = _mm512_dpbusd_epi32(acc[q][t], wj[q], av);
                    }
                }
            }
        };
    }
    let mut b = 0;
    while b < nb {
        // The tile step holding blocks b0 + b .. b0 + b + 4.
        let step = group.add((b0 + b) / BLOCKS_PER_STEP * TILE_ROWS * TILE_K);
        if nb - b >= BLOCKS_PER_STEP {
            for u in 0..BLOCKS_PER_STEP {
                block!(b + u, step.add(u * KBLOCK));
            }
        } else {
            for u in 0..nb - b {
                block!(b + u, step.add(u * KBLOCK));
            }
        }
        b += BLOCKS_PER_STEP;
    }
    for q in 0..P {
        for t in 0..T {
            if b0 + nb == kb {
                _mm512_mask_storeu_epi32(dst(q, t), valid[q], acc[q][t]);
            } else {
                _mm512_store_si512(park.add(q * a.rows + r0 + t), acc[q][t]);
            }
        }
    }
}

/// Panels `p .. p + P` for every token row, K in segments of
/// [`PROMPT_SEG_BLOCKS`] blocks: each segment's chunks are unpacked once
/// into an L1 buffer and reused by every group of 8 token rows, so the
/// vector ports run `vpdpbusd` and little else (the shifts and masks of
/// [`tile512`], 14 per 64 dot products, are paid once per segment instead
/// of once per token group). The partial sums park in `park` (`P` x
/// `a.rows` vectors, panel-major and in cache: parked in a row-major
/// output, 256 lines a row apart, the kernel ran 2-3 % slower than with
/// the copy it saves) between segments.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn prompt512<const P: usize>(
    w: &PackedTernary,
    p: usize,
    a: &Acts,
    (buf, park): (&mut PromptSeg, *mut __m512i),
    out: OutTiles,
) {
    let kb = w.kblocks();
    let groups = a.rows.div_ceil(8);
    let mut b0 = 0;
    while b0 < kb {
        let nb = PROMPT_SEG_BLOCKS.min(kb - b0);
        unpack_seg::<P>(w, p, b0, nb, buf);
        // The chunks the next unpack reads (these panels' next segment, or
        // the next run's first), fetched a part per token group: in a
        // forward pass a prompt's weights come from memory (whole-model
        // prefill 1-3 % faster with it, interleaved runs).
        let (np, nb0) = if b0 + nb < kb {
            (p, b0 + nb)
        } else {
            (p + P, 0)
        };
        let lines = P * PROMPT_SEG_BLOCKS.min(kb - nb0);
        let line = |i: usize| {
            let (q, b) = (i / (lines / P), i % (lines / P));
            // Only prefetched, never read: wrapping arithmetic (the next
            // run may lie past the matrix).
            (w.addr() as *const Chunk).wrapping_add((np + q) * kb + nb0 + b)
        };
        let mut r = 0;
        let mut g = 0;
        while r < a.rows {
            for i in g * lines / groups..(g + 1) * lines / groups {
                _mm_prefetch::<_MM_HINT_T0>(line(i) as *const i8);
            }
            let t = (a.rows - r).min(8);
            token_group!(t, T => seg512::<P, T>(buf, (b0, nb, kb), a, r, park, out));
            r += t;
            g += 1;
        }
        b0 += nb;
    }
}

/// Where a decode loop streams after its current step: panel `p` (the
/// next step's first) while the call still covers it (`p < end`), else
/// the caller's `next`.
#[inline(always)]
pub(crate) fn step_after(
    panel: impl Fn(usize) -> *const Chunk,
    p: usize,
    end: usize,
    next: *const Chunk,
) -> *const Chunk {
    if p < end {
        panel(p)
    } else {
        next
    }
}

/// See [`super::ternary_panels`] (`next`: [`super::NextStep`]).
///
/// # Safety
/// AVX-512 F/BW/VNNI present; `a.check(w, p0, np, out)` holds.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn panels_avx512(
    w: &PackedTernary,
    p0: usize,
    np: usize,
    a: &Acts,
    out: &mut [i32],
    next: *const Chunk,
) {
    let o = out.as_mut_ptr();
    let blk = a.rows * PANEL;
    if a.rows == 1 {
        let panel = |p: usize| w.panel(p).as_ptr();
        let mut q = 0;
        while q + 4 <= np {
            let then = step_after(panel, p0 + q + 4, p0 + np, next);
            gemv512::<4>(w, p0 + q, a, o.add(q * blk), then);
            q += 4;
        }
        while q < np {
            let then = step_after(panel, p0 + q + 1, p0 + np, next);
            gemv512::<1>(w, p0 + q, a, o.add(q * blk), then);
            q += 1;
        }
        return;
    }
    // Up to 8 token rows (more run `prompt_avx512`): two panels at a
    // time, each chunk unpacked in registers.
    debug_assert!(a.rows <= 8);
    let mut q = 0;
    while q < np {
        let dst = o.add(q * blk);
        if q + 2 <= np {
            token_group!(a.rows, T => tile512::<2, T>(w, p0 + q, a, 0, dst));
        } else {
            token_group!(a.rows, T => tile512::<1, T>(w, p0 + q, a, 0, dst));
        }
        q += 2;
    }
}

/// Panels `p0 .. p0 + np` for a prompt of more than 8 token rows,
/// `PROMPT_PANELS` at a time (`prompt512`), into `out`.
///
/// # Safety
/// AVX-512 F/BW/VNNI present; `a` in the tile layout
/// ([`super::tile_acts`]) with the checks of [`super::prompt_rows`]; `out`
/// addresses writable memory for every value it names.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn prompt_avx512(w: &PackedTernary, p0: usize, np: usize, a: &Acts, out: OutTiles) {
    SCRATCH.with_borrow_mut(|(seg, park)| {
        let seg = seg.get_or_insert_with(|| Box::new([_mm512_setzero_si512(); SEG_VECTORS]));
        if park.len() < PROMPT_PANELS * a.rows {
            park.resize(PROMPT_PANELS * a.rows, _mm512_setzero_si512());
        }
        let park = park.as_mut_ptr();
        let mut q = 0;
        while q < np {
            let o = out.from_panel(q);
            match np - q {
                1 => prompt512::<1>(w, p0 + q, a, (seg, park), o),
                2 => prompt512::<2>(w, p0 + q, a, (seg, park), o),
                _ => prompt512::<PROMPT_PANELS>(w, p0 + q, a, (seg, park), o),
            }
            q += PROMPT_PANELS;
        }
    })
}

thread_local! {
    /// The unpacked segment of [`prompt512`] and its partial sums between
    /// K segments, kept per thread (instead of a fresh, zeroed 16 KiB
    /// segment on the stack for every run of panels).
    static SCRATCH: RefCell<(Option<Box<PromptSeg>>, Vec<__m512i>)> =
        const { RefCell::new((None, Vec::new())) };
}

// ---------------------------------------------------------------- AVX2

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn unpack256(raw: __m256i, j: usize) -> __m256i {
    let m = _mm256_set1_epi8(3);
    match j {
        0 => _mm256_and_si256(raw, m),
        1 => _mm256_and_si256(_mm256_srli_epi16::<2>(raw), m),
        2 => _mm256_and_si256(_mm256_srli_epi16::<4>(raw), m),
        _ => _mm256_and_si256(_mm256_srli_epi16::<6>(raw), m),
    }
}

/// Loads half `h` (rows `8h..8h+8`) of chunk `c`.
#[inline(always)]
unsafe fn half(c: *const Chunk, h: usize) -> __m256i {
    _mm256_load_si256((c as *const u8).add(32 * h) as *const __m256i)
}

/// Blocks per i16 segment of [`gemv256`]. Its scaled i16 sum gains two
/// `vpmaddubsw` pair sums per block, each within `[-2 * 8 * 128,
/// 2 * 8 * 127]` (codes `4c <= 8`, activations in `[-128, 127]`), so after
/// 8 blocks it lies in `[-32768, 32512]`: exactly i16, with no room for a
/// ninth block (the all-(+1) rows against all -128 activations reach
/// -32768).
const GEMV256_SEGMENT: usize = 8;
/// Blocks per i16 segment of [`tile256`]: four pair sums per block, each
/// within `[-2 * 2 * 128, 2 * 2 * 127]`, so 16 blocks stay in
/// `[-32768, 32512]`, with the same tight bound.
const TILE256_SEGMENT: usize = 16;

/// Adds the i16 pair sums `s` to the i32 total `t` (`vpmaddwd` by ones).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn widen_add(t: __m256i, s: __m256i) -> __m256i {
    _mm256_add_epi32(t, _mm256_madd_epi16(s, _mm256_set1_epi16(1)))
}

/// One token row, one panel.
///
/// The multiply ports are the limit of this loop on AVX2 cores (Zen 3
/// computes it from L2 at about the 2-thread memory bandwidth), so it
/// spends as few instructions per product as it can:
/// - one shift per half: `r4 = raw >> 4` (16-bit lanes; the bits moved in
///   from the neighbouring byte are masked off) gives codes `j = 0, 2` as
///   `raw & 3` and `r4 & 3`, and codes `j = 1, 3` masked in place as
///   `raw & 12` and `r4 & 12`, which are `4c` (at most 8, still unsigned);
/// - the `vpmaddubsw` pair sums stay in i16, unscaled (`j = 0, 2`) and
///   scaled by 4 (`j = 1, 3`), for [`GEMV256_SEGMENT`] blocks before one
///   `vpmaddwd` by ones widens them to the i32 totals. The scaled total is
///   a multiple of 4 and is shifted right by 2 at the end, exactly.
///
/// Exact: a pair sum is at most `2 * 8 * 128` in magnitude, the segment's
/// i16 sums stay below 2^15 (see [`GEMV256_SEGMENT`]) and the i32 totals
/// below `2^10 K`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn gemv256(w: &PackedTernary, p: usize, a: &Acts, out: *mut i32, next: *const Chunk) {
    let wp = w.panel(p).as_ptr();
    let ap = a.data.as_ptr();
    let (m3, m12) = (_mm256_set1_epi8(3), _mm256_set1_epi8(12));
    let kb = w.kblocks();
    // [half][unscaled, scaled by 4]
    let mut total = [[_mm256_setzero_si256(); 2]; 2];
    let mut b0 = 0;
    while b0 < kb {
        let b1 = (b0 + GEMV256_SEGMENT).min(kb);
        let mut s16 = [[_mm256_setzero_si256(); 2]; 2];
        for b in b0..b1 {
            // One stream, 2 KiB ahead.
            prefetch_streams::<1, GEMV256_AHEAD>(&[wp], b, kb, next);
            let av: [__m256i; 4] =
                std::array::from_fn(|j| _mm256_set1_epi32(bcast4(ap.add(b * KBLOCK + 4 * j))));
            for h in 0..2 {
                let raw = half(wp.add(b), h);
                let r4 = _mm256_srli_epi16::<4>(raw);
                let lo = _mm256_add_epi16(
                    _mm256_maddubs_epi16(_mm256_and_si256(raw, m3), av[0]),
                    _mm256_maddubs_epi16(_mm256_and_si256(r4, m3), av[2]),
                );
                let hi = _mm256_add_epi16(
                    _mm256_maddubs_epi16(_mm256_and_si256(raw, m12), av[1]),
                    _mm256_maddubs_epi16(_mm256_and_si256(r4, m12), av[3]),
                );
                s16[h][0] = _mm256_add_epi16(s16[h][0], lo);
                s16[h][1] = _mm256_add_epi16(s16[h][1], hi);
            }
        }
        for h in 0..2 {
            for s in 0..2 {
                total[h][s] = widen_add(total[h][s], s16[h][s]);
            }
        }
        b0 = b1;
    }
    let sum = _mm256_set1_epi32(a.sums[0]);
    for (h, t) in total.iter().enumerate() {
        let v = _mm256_add_epi32(t[0], _mm256_srai_epi32::<2>(t[1]));
        _mm256_storeu_si256(out.add(8 * h) as *mut __m256i, _mm256_sub_epi32(v, sum));
    }
}

/// One panel x `T` token rows from `r0`: each chunk unpacked once and
/// reused for the `T` rows, whose `vpmaddubsw` pair sums stay in i16 for
/// [`TILE256_SEGMENT`] blocks before one `vpmaddwd` widens them (a third
/// fewer instructions per product than widening every one).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn tile256<const T: usize>(w: &PackedTernary, p: usize, a: &Acts, r0: usize, out: *mut i32) {
    let wp = w.panel(p).as_ptr();
    let ap: [*const i8; T] = std::array::from_fn(|t| a.data.as_ptr().add((r0 + t) * a.stride));
    let kb = w.kblocks();
    let mut total = [[_mm256_setzero_si256(); T]; 2];
    let mut b0 = 0;
    while b0 < kb {
        let b1 = (b0 + TILE256_SEGMENT).min(kb);
        let mut s16 = [[_mm256_setzero_si256(); T]; 2];
        for b in b0..b1 {
            let raw = [half(wp.add(b), 0), half(wp.add(b), 1)];
            for j in 0..4 {
                let wj = [unpack256(raw[0], j), unpack256(raw[1], j)];
                for t in 0..T {
                    let av = _mm256_set1_epi32(bcast4(ap[t].add(b * KBLOCK + 4 * j)));
                    for h in 0..2 {
                        s16[h][t] = _mm256_add_epi16(s16[h][t], _mm256_maddubs_epi16(wj[h], av));
                    }
                }
            }
        }
        for h in 0..2 {
            for t in 0..T {
                total[h][t] = widen_add(total[h][t], s16[h][t]);
            }
        }
        b0 = b1;
    }
    for (h, total) in total.iter().enumerate() {
        for (t, &v) in total.iter().enumerate() {
            let s = _mm256_set1_epi32(a.sums[r0 + t]);
            let dst = out.add((r0 + t) * PANEL + 8 * h);
            _mm256_storeu_si256(dst as *mut __m256i, _mm256_sub_epi32(v, s));
        }
    }
}

/// K blocks per unpacked segment of [`prompt256`]: `32 * 4 * 2` vectors
/// of 32 bytes (8 KiB), in L1 next to a token group's 2 KiB of
/// activations; whole i16 segments of [`TILE256_SEGMENT`] blocks.
const SEG256_BLOCKS: usize = 32;
const _: () = assert!(SEG256_BLOCKS.is_multiple_of(TILE256_SEGMENT));

/// Token rows per group of [`seg256`]: `2 T` i16 accumulators, two
/// weight vectors and a broadcast in the 16 registers.
const SEG256_ROWS: usize = 4;

/// Prompts of more than this many token rows run [`prompt256`]; up to it,
/// [`tile256`]. Whole calls of 2B4T's shapes, one Zen 3 core, interleaved
/// in one process (2026-12-06): 8 rows 4-8 % slower than [`tile256`], 16
/// rows alike, 32 rows 3-6 % faster, 64 and 128 rows 3-9 % faster.
const SEG256_MIN_ROWS: usize = 16;

/// The unpacked codes of one segment, `(b * 4 + j) * 2 + h` for block
/// `b`, step `j`, half `h`.
type Seg256 = [std::mem::MaybeUninit<__m256i>; SEG256_BLOCKS * 8];

/// `T` token rows from `r0` of one panel over an unpacked segment (`nb`
/// blocks from block `b0`): the `vpmaddubsw` pair sums stay in i16 for
/// [`TILE256_SEGMENT`] blocks, then are widened and added into the rows'
/// totals in `out` (row `r` at `out + 16 r`; the first i16 segment of the
/// matrix starts them from the negated activation sums). Each weight
/// vector is loaded once for the `T` rows; the ports run `vpmaddubsw` and
/// its `vpaddw` and nothing else.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn seg256<const T: usize>(
    buf: *const __m256i,
    (b0, nb): (usize, usize),
    a: &Acts,
    r0: usize,
    out: *mut i32,
) {
    let ap: [*const i8; T] =
        std::array::from_fn(|t| a.data.as_ptr().add((r0 + t) * a.stride + b0 * KBLOCK));
    let ones = _mm256_set1_epi16(1);
    let mut b = 0;
    while b < nb {
        let b1 = (b + TILE256_SEGMENT).min(nb);
        let mut s16 = [[_mm256_setzero_si256(); T]; 2];
        for bb in b..b1 {
            for j in 0..4 {
                let w0 = _mm256_load_si256(buf.add((bb * 4 + j) * 2));
                let w1 = _mm256_load_si256(buf.add((bb * 4 + j) * 2 + 1));
                for t in 0..T {
                    let av = _mm256_set1_epi32(bcast4(ap[t].add(bb * KBLOCK + 4 * j)));
                    s16[0][t] = _mm256_add_epi16(s16[0][t], _mm256_maddubs_epi16(w0, av));
                    s16[1][t] = _mm256_add_epi16(s16[1][t], _mm256_maddubs_epi16(w1, av));
                }
            }
        }
        for t in 0..T {
            for h in 0..2 {
                let dst = out.add((r0 + t) * PANEL + 8 * h) as *mut __m256i;
                let before = if b0 + b == 0 {
                    _mm256_set1_epi32(a.sums[r0 + t].wrapping_neg())
                } else {
                    _mm256_loadu_si256(dst)
                };
                let v = _mm256_add_epi32(before, _mm256_madd_epi16(s16[h][t], ones));
                _mm256_storeu_si256(dst, v);
            }
        }
        b = b1;
    }
}

/// Panel `p` for every token row into `out` (row `r` at `out + 16 r`), K
/// in segments of [`SEG256_BLOCKS`] blocks: each segment's chunks are
/// unpacked once into an L1 buffer and reused by every group of
/// [`SEG256_ROWS`] token rows, so the shifts and masks of [`tile256`] (14
/// per 32 `vpmaddubsw` with 4 rows) are paid once per segment instead of
/// once per token group.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn prompt256(w: &PackedTernary, p: usize, a: &Acts, out: *mut i32) {
    let mut seg: Seg256 = [const { std::mem::MaybeUninit::uninit() }; SEG256_BLOCKS * 8];
    let buf = seg.as_mut_ptr() as *mut __m256i;
    let wp = w.panel(p).as_ptr();
    let kb = w.kblocks();
    let mut b0 = 0;
    while b0 < kb {
        let nb = SEG256_BLOCKS.min(kb - b0);
        for b in 0..nb {
            for h in 0..2 {
                let raw = half(wp.add(b0 + b), h);
                for j in 0..4 {
                    _mm256_store_si256(buf.add((b * 4 + j) * 2 + h), unpack256(raw, j));
                }
            }
        }
        let mut r = 0;
        while r < a.rows {
            match (a.rows - r).min(SEG256_ROWS) {
                4 => seg256::<4>(buf, (b0, nb), a, r, out),
                3 => seg256::<3>(buf, (b0, nb), a, r, out),
                2 => seg256::<2>(buf, (b0, nb), a, r, out),
                _ => seg256::<1>(buf, (b0, nb), a, r, out),
            }
            r += SEG256_ROWS;
        }
        b0 += nb;
    }
}

/// See [`super::ternary_panels`] (`next`: [`super::NextStep`]).
///
/// # Safety
/// AVX2 present; `a.check(w, p0, np, out)` holds.
#[target_feature(enable = "avx2")]
pub unsafe fn panels_avx2(
    w: &PackedTernary,
    p0: usize,
    np: usize,
    a: &Acts,
    out: &mut [i32],
    next: *const Chunk,
) {
    let o = out.as_mut_ptr();
    let blk = a.rows * PANEL;
    let panel = |p: usize| w.panel(p).as_ptr();
    for q in 0..np {
        let dst = o.add(q * blk);
        if a.rows == 1 {
            let then = step_after(panel, p0 + q + 1, p0 + np, next);
            gemv256(w, p0 + q, a, dst, then);
            continue;
        }
        if a.rows > SEG256_MIN_ROWS {
            prompt256(w, p0 + q, a, dst);
            continue;
        }
        let mut r = 0;
        while r < a.rows {
            let t = (a.rows - r).min(4);
            match t {
                4 => tile256::<4>(w, p0 + q, a, r, dst),
                3 => tile256::<3>(w, p0 + q, a, r, dst),
                2 => tile256::<2>(w, p0 + q, a, r, dst),
                _ => tile256::<1>(w, p0 + q, a, r, dst),
            }
            r += t;
        }
    }
}

/// The sum of `a`: `sum (a_i + 128) - 128 len`, the biased bytes summed 32
/// at a time by `vpsadbw` into 64-bit lanes (exact: at most 255 per byte).
///
/// # Safety
/// AVX2 present.
#[target_feature(enable = "avx2")]
pub unsafe fn act_sum_avx2(a: &[i8]) -> i32 {
    let bias = _mm256_set1_epi8(-128);
    let mut acc = _mm256_setzero_si256();
    let chunks = a.chunks_exact(32);
    let tail = chunks.remainder();
    for c in chunks {
        let v = _mm256_loadu_si256(c.as_ptr() as *const __m256i);
        let biased = _mm256_xor_si256(v, bias);
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(biased, _mm256_setzero_si256()));
    }
    let mut lanes = [0i64; 4];
    _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc);
    let body = lanes.iter().sum::<i64>() - 128 * (a.len() - tail.len()) as i64;
    let tail: i64 = tail.iter().map(|&x| i64::from(x)).sum();
    // |sum| <= 128 len; callers' rows are far below 2^24 values.
    (body + tail) as i32
}
