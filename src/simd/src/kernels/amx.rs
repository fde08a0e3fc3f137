//! The AMX-INT8 prefill kernel: ternary x int8 through `tdpbssd` tiles.
//!
//! A tile multiply `tdpbssd C, A, B` adds to the 16 x 16 i32 tile `C`
//!
//! ```text
//! C[m][n] += sum_{k < 64} A[m][k] * B[k / 4][4n + k % 4]     (signed bytes)
//! ```
//!
//! which is 16,384 multiply-accumulates in one instruction, eight times the
//! work of a 512-bit `vpdpbusd` in the time of about sixteen. Here `A` is
//! 16 token rows x 64 inputs of the int8 activations, stored as whole
//! contiguous tiles by [`tile_acts`](super::tile_acts) when the activations are copied for
//! the call (one 1 KiB load instead of 16 rows a whole activation row
//! apart: about 20 % faster from L2), and `B` is 64 inputs x 16
//! weight rows of codes (`t + 1`, in 0..=2) in the "four inputs per
//! column" order `B` wants. That order is exactly what the `T2P16` layout
//! unpacks to: `(chunk >> 2j) & 3` is a 64-byte vector whose byte `4i + q`
//! is the code of row `i` at input `16b + 4j + q` (see [`crate::layout`]),
//! i.e. one row of `B` (inputs `4j .. 4j + 4` of block `b` for the sixteen
//! rows). So a 1 KiB `B` tile is the sixteen unpacked vectors of four
//! consecutive chunks, in order: no transposition, one shift and one AND
//! per 64 weights.
//!
//! The loop keeps the eight tile registers busy: two panels (`B0`, `B1`)
//! x two groups of 16 token rows (`A0`, `A1`) into four accumulators
//! (`C00 .. C11`), 64 inputs per step, loads interleaved with the
//! multiplies that need them. K is cut into blocks of `KSTEPS` steps,
//! token groups inside: a block's `B` tiles of both panels (2 x 8 KiB) are
//! unpacked into a thread-local buffer that stays in L1 while every group
//! passes over them, and the accumulators are parked in L1 scratch between
//! blocks. The accumulators start from the token's negated activation sum,
//! so the last block leaves `sum_k c_k a_k - sum_k a_k = sum_k t_k a_k`
//! (`|c a| <= 256`, K < 2^20: exact in i32), `==` the golden accumulators,
//! and stores each whole tile straight into the caller's output
//! ([`super::OutTiles`]: panel-major, or a BitLinear's row-major accumulators, no
//! copy in between). Against the first version (whole-K `B` buffers of 40
//! KiB, a separate pass subtracting the sums, a panel-major copy scattered
//! afterwards) a 2560 x 2560 x 128-token call went from 1.3 to 1.0 ms on
//! one thread (warm caches; the panel-major kernel alone from 0.85 to 0.70
//! ms).
//!
//! Preconditions beyond [`super::Acts::check`] (asserted by
//! [`super::ternary_panels`]): the activations are in the [`tile_acts`](super::tile_acts)
//! layout, `stride` (`kp`) a multiple of 64 and the buffer whole groups of
//! 16 rows, zero past `k` and past the last row, so that every tile load
//! stays inside it and reads zeros in the padding.
//!
//! Linux gives a process the AMX register state only on request
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`); [`available`]
//! asks once and reports the path absent if the kernel refuses.

use std::arch::asm;
use std::arch::x86_64::*;
use std::cell::RefCell;
use std::sync::OnceLock;

use super::{Acts, OutTiles};
use crate::layout::{PackedTernary, KBLOCK, PANEL};

/// Inputs per tile step (bytes of one `A` row, 16 rows of `B` x 4).
pub const KTILE: usize = super::TILE_K;
/// Token rows per `A` tile.
pub const MTILE: usize = super::TILE_ROWS;
/// Bytes of one tile.
const TILE_BYTES: usize = MTILE * KTILE;
/// Chunks (of [`KBLOCK`] inputs) per tile step.
const CHUNKS_PER_TILE: usize = KTILE / KBLOCK;

/// `arch_prctl` request for an extended state component.
const ARCH_REQ_XCOMP_PERM: libc::c_int = 0x1023;
/// The AMX tile data state component.
const XFEATURE_XTILEDATA: libc::c_ulong = 18;

/// Whether the CPU has AMX-TILE and AMX-INT8, the OS saves the tile state
/// (XCR0 bits 17 and 18) and this process was granted it. Asked once.
pub fn available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let leaf7 = __cpuid_count(7, 0);
        let has_tile = leaf7.edx & (1 << 24) != 0;
        let has_int8 = leaf7.edx & (1 << 25) != 0;
        let has_xsave = __cpuid(1).ecx & (1 << 27) != 0; // OSXSAVE
        if !(has_tile && has_int8 && has_xsave) {
            return false;
        }
        // SAFETY: OSXSAVE is set, so XGETBV is enabled.
        let xcr0 = unsafe { _xgetbv(0) };
        if xcr0 & (0b11 << 17) != 0b11 << 17 {
            return false;
        }
        // SAFETY: a plain system call with integer arguments.
        let r = unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            )
        };
        r == 0
    })
}

/// The tile configuration (palette 1): all eight tiles 16 rows x 64 bytes.
#[repr(C, align(64))]
pub(crate) struct TileConfig(pub(crate) [u8; 64]);

pub(crate) static CONFIG: TileConfig = {
    let mut c = [0u8; 64];
    c[0] = 1; // palette
    let mut t = 0;
    while t < 8 {
        c[16 + 2 * t] = KTILE as u8; // bytes per row (low byte)
        c[48 + t] = MTILE as u8; // rows
        t += 1;
    }
    TileConfig(c)
};

/// One `B` tile: 16 rows of 64 bytes.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct BTile([u8; 1024]);

thread_local! {
    /// Unpacked `B` tiles of the (up to two) panels in flight.
    static BTILES: RefCell<Vec<BTile>> = const { RefCell::new(Vec::new()) };
    /// The initial accumulator tile of every token group, then scratch
    /// tiles for every pair of groups.
    static CTILES: RefCell<Vec<CTile>> = const { RefCell::new(Vec::new()) };
}

/// Tile steps (of 64 inputs) per K block: the block's `B` tiles of both
/// panels (2 x 8 KiB) stay in L1 while every token group passes over them.
const KSTEPS: usize = 8;

/// Unpacks panel `p`'s codes into `ktiles` `B` tiles (zero past its last
/// chunk: those inputs are zero activations anyway).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn unpack_panel(w: &PackedTernary, p: usize, k0: usize, dst: &mut [BTile]) {
    let src = w.panel(p);
    let m = _mm512_set1_epi8(3);
    for (i, tile) in dst.iter_mut().enumerate() {
        let kt = k0 + i;
        let t = tile.0.as_mut_ptr();
        for c in 0..CHUNKS_PER_TILE {
            let b = kt * CHUNKS_PER_TILE + c;
            let rows = t.add(4 * c * KTILE) as *mut __m512i;
            if b < src.len() {
                let raw = _mm512_load_si512(src.as_ptr().add(b) as *const __m512i);
                _mm512_store_si512(rows, _mm512_and_si512(raw, m));
                _mm512_store_si512(
                    rows.add(1),
                    _mm512_and_si512(_mm512_srli_epi16::<2>(raw), m),
                );
                _mm512_store_si512(
                    rows.add(2),
                    _mm512_and_si512(_mm512_srli_epi16::<4>(raw), m),
                );
                _mm512_store_si512(
                    rows.add(3),
                    _mm512_and_si512(_mm512_srli_epi16::<6>(raw), m),
                );
            } else {
                for r in 0..4 {
                    _mm512_store_si512(rows.add(r), _mm512_setzero_si512());
                }
            }
        }
    }
}

/// Accumulates `G` groups of 16 token rows (`a0`, `a1`: first tile of
/// each in the [`tile_acts`] layout, rows 64 bytes apart) times `P`
/// unpacked panels (`b0`, `b1`: `ktiles` tiles each) over `ktiles` steps
/// into the four accumulator tiles `(g, q)`, number `2g + q`: loaded from
/// `load` and stored to `store` (pointer and row stride in bytes of each
/// tile). Every pointer is valid even where `G` or `P` is 1 (the caller
/// points the missing tiles at scratch).
///
/// # Safety
/// Tile configuration [`CONFIG`] loaded in this thread; every tile load
/// and store within its buffer (see the module docs).
#[inline]
unsafe fn tile_loop<const G: usize, const P: usize>(
    (a0, a1): (*const i8, *const i8),
    (b0, b1): (*const BTile, *const BTile),
    ktiles: usize,
    load: Tiles,
    store: Tiles,
) {
    let (from, ldf) = (load.ptr, load.ld);
    asm!(
        "tileloadd tmm4, [{c0} + {l0}*1]",
        "tileloadd tmm5, [{c1} + {l1}*1]",
        "tileloadd tmm6, [{c2} + {l2}*1]",
        "tileloadd tmm7, [{c3} + {l3}*1]",
        c0 = in(reg) from[0], c1 = in(reg) from[1], c2 = in(reg) from[2], c3 = in(reg) from[3],
        l0 = in(reg) ldf[0], l1 = in(reg) ldf[1], l2 = in(reg) ldf[2], l3 = in(reg) ldf[3],
        options(nostack, preserves_flags),
    );
    for kt in 0..ktiles {
        // The second group / panel may not exist (G or P = 1): its pointers
        // are computed with wrapping arithmetic and never dereferenced.
        let (x0, x1) = (a0.add(kt * TILE_BYTES), a1.wrapping_add(kt * TILE_BYTES));
        let (y0, y1) = (b0.add(kt), b1.wrapping_add(kt));
        match (G, P) {
            (2, 2) => asm!(
                "tileloadd tmm0, [{x0} + {lda}*1]",
                "tileloadd tmm2, [{y0} + {ldb}*1]",
                "tdpbssd tmm4, tmm0, tmm2",
                "tileloadd tmm3, [{y1} + {ldb}*1]",
                "tdpbssd tmm5, tmm0, tmm3",
                "tileloadd tmm1, [{x1} + {lda}*1]",
                "tdpbssd tmm6, tmm1, tmm2",
                "tdpbssd tmm7, tmm1, tmm3",
                x0 = in(reg) x0, x1 = in(reg) x1, y0 = in(reg) y0, y1 = in(reg) y1,
                lda = in(reg) KTILE, ldb = in(reg) KTILE,
                options(nostack, preserves_flags),
            ),
            (2, _) => asm!(
                "tileloadd tmm0, [{x0} + {lda}*1]",
                "tileloadd tmm1, [{x1} + {lda}*1]",
                "tileloadd tmm2, [{y0} + {ldb}*1]",
                "tdpbssd tmm4, tmm0, tmm2",
                "tdpbssd tmm6, tmm1, tmm2",
                x0 = in(reg) x0, x1 = in(reg) x1, y0 = in(reg) y0,
                lda = in(reg) KTILE, ldb = in(reg) KTILE,
                options(nostack, preserves_flags),
            ),
            (_, 2) => asm!(
                "tileloadd tmm0, [{x0} + {lda}*1]",
                "tileloadd tmm2, [{y0} + {ldb}*1]",
                "tileloadd tmm3, [{y1} + {ldb}*1]",
                "tdpbssd tmm4, tmm0, tmm2",
                "tdpbssd tmm5, tmm0, tmm3",
                x0 = in(reg) x0, y0 = in(reg) y0, y1 = in(reg) y1,
                lda = in(reg) KTILE, ldb = in(reg) KTILE,
                options(nostack, preserves_flags),
            ),
            _ => asm!(
                "tileloadd tmm0, [{x0} + {lda}*1]",
                "tileloadd tmm2, [{y0} + {ldb}*1]",
                "tdpbssd tmm4, tmm0, tmm2",
                x0 = in(reg) x0, y0 = in(reg) y0,
                lda = in(reg) KTILE, ldb = in(reg) KTILE,
                options(nostack, preserves_flags),
            ),
        }
    }
    asm!(
        "tilestored [{c0} + {l0}*1], tmm4",
        "tilestored [{c1} + {l1}*1], tmm5",
        "tilestored [{c2} + {l2}*1], tmm6",
        "tilestored [{c3} + {l3}*1], tmm7",
        c0 = in(reg) store.ptr[0], c1 = in(reg) store.ptr[1],
        c2 = in(reg) store.ptr[2], c3 = in(reg) store.ptr[3],
        l0 = in(reg) store.ld[0], l1 = in(reg) store.ld[1],
        l2 = in(reg) store.ld[2], l3 = in(reg) store.ld[3],
        options(nostack, preserves_flags),
    );
}

/// Four accumulator tiles in memory: where each is and its row stride in
/// bytes.
#[derive(Clone, Copy)]
struct Tiles {
    ptr: [*mut i32; 4],
    ld: [usize; 4],
}

/// One accumulator tile: 16 rows of 16 i32.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct CTile([i32; 256]);

/// Accumulates the ternary panels `p0 .. p0 + np` of `w` times the token
/// rows of `a` (several: a single row is a GEMV, which the caller gives to
/// the AVX-512 kernel) into `out`.
///
/// The accumulators start from each token's negated activation sum (one
/// tile per group, row `m` all `-sums[16g + m]`), so after the last step
/// they hold `sum_k c_k a_k - sum_k a_k = sum_k t_k a_k`. Between K blocks
/// the accumulators are parked in L1 scratch; after the last block a tile
/// of 16 whole rows and 16 valid columns is stored straight into the
/// output (`tilestored` takes its row stride), and only a partial last
/// group or panel goes through scratch and has its valid part copied out.
///
/// # Safety
/// [`available`], AVX-512 F/BW, `a.check`-style bounds for `w`, `p0`,
/// `np`, the module's padding preconditions, and `out` addresses valid,
/// writable memory for every value it names, not read or written by
/// anyone else during the call.
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn panels_amx(w: &PackedTernary, p0: usize, np: usize, a: &Acts, out: OutTiles) {
    let ktiles = w.kblocks().div_ceil(CHUNKS_PER_TILE);
    let groups = a.rows.div_ceil(MTILE);
    let whole = a.rows / MTILE;
    let pairs = groups.div_ceil(2);
    let at = |g: usize, q: usize| out.base.add(q * out.panel_step + g * MTILE * out.ld);
    let direct = |g: usize, q: usize| g < whole && (q + 1) * PANEL <= out.cols;
    asm!("ldtilecfg [{0}]", in(reg) CONFIG.0.as_ptr(), options(nostack, preserves_flags));
    BTILES.with_borrow_mut(|bt| {
        CTILES.with_borrow_mut(|ct| {
            if bt.len() < 2 * KSTEPS {
                bt.resize(2 * KSTEPS, BTile([0; 1024]));
            }
            // Per group: its initial accumulator tile; then per pair: four
            // scratch tiles (a partial group's or panel's, and the missing
            // ones of a single group or panel, computed and never read).
            ct.clear();
            ct.resize(groups + 4 * pairs, CTile([0; 256]));
            let (init, scratch) = ct.split_at_mut(groups);
            for (r, &sum) in a.sums[..a.rows].iter().enumerate() {
                init[r / MTILE].0[(r % MTILE) * PANEL..][..PANEL].fill(-sum);
            }
            let (t0, t1) = bt.split_at_mut(KSTEPS);
            let mut q = 0;
            while q < np {
                let pn = (np - q).min(2);
                // Between K blocks a pair's four tiles are parked in its
                // scratch (L1); the last block stores a whole tile straight
                // to the output (a strided home, 16 rows a row width apart,
                // would cost a TLB walk per row on every park).
                let park = |pair: usize, scratch: &mut [CTile]| Tiles {
                    ptr: std::array::from_fn(|t| scratch[4 * pair + t].0.as_mut_ptr()),
                    ld: [PANEL * 4; 4],
                };
                let home = |pair: usize, scratch: &mut [CTile]| {
                    let mut h = park(pair, scratch);
                    for t in 0..4 {
                        let (g, qi) = (2 * pair + t / 2, q + t % 2);
                        if t % 2 < pn && direct(g, qi) {
                            (h.ptr[t], h.ld[t]) = (at(g, qi), out.ld * 4);
                        }
                    }
                    h
                };
                // K blocks outside, token groups inside: a block's B tiles
                // are unpacked into L1 and read by every group.
                let mut k0 = 0;
                while k0 < ktiles {
                    let steps = (ktiles - k0).min(KSTEPS);
                    unpack_panel(w, p0 + q, k0, &mut t0[..steps]);
                    if pn == 2 {
                        unpack_panel(w, p0 + q + 1, k0, &mut t1[..steps]);
                    }
                    let b = (t0.as_ptr(), t1.as_ptr());
                    for pair in 0..pairs {
                        let g = 2 * pair;
                        let gn = (groups - g).min(2);
                        // The [`super::tile_acts`] layout: group g's tiles start at
                        // 16 g kp, step k0's at + 1024 k0.
                        let a0 = a.data.as_ptr().add(g * MTILE * a.stride + k0 * TILE_BYTES);
                        let a = (a0, a0.wrapping_add(MTILE * a.stride));
                        let load = if k0 == 0 {
                            let (i0, i1) =
                                (init[g].0.as_mut_ptr(), init[g + gn - 1].0.as_mut_ptr());
                            Tiles {
                                ptr: [i0, i0, i1, i1],
                                ld: [PANEL * 4; 4],
                            }
                        } else {
                            park(pair, scratch)
                        };
                        let store = if k0 + steps == ktiles {
                            home(pair, scratch)
                        } else {
                            park(pair, scratch)
                        };
                        match (gn, pn) {
                            (2, 2) => tile_loop::<2, 2>(a, b, steps, load, store),
                            (2, _) => tile_loop::<2, 1>(a, b, steps, load, store),
                            (_, 2) => tile_loop::<1, 2>(a, b, steps, load, store),
                            _ => tile_loop::<1, 1>(a, b, steps, load, store),
                        }
                    }
                    k0 += steps;
                }
                // The tiles that went through scratch: their valid part.
                for g in 0..groups {
                    for qi in 0..pn {
                        if direct(g, q + qi) {
                            continue;
                        }
                        let tile = &scratch[4 * (g / 2) + 2 * (g % 2) + qi].0;
                        let rows = (a.rows - g * MTILE).min(MTILE);
                        let cols = (out.cols - (q + qi) * PANEL).min(PANEL);
                        for m in 0..rows {
                            let dst = at(g, q + qi).add(m * out.ld);
                            std::ptr::copy_nonoverlapping(tile.as_ptr().add(m * PANEL), dst, cols);
                        }
                    }
                }
                q += pn;
            }
        })
    });
    asm!("tilerelease", options(nostack, preserves_flags));
}
