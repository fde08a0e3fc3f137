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
//! 16 token rows x 64 inputs of the int8 activations, loaded straight from
//! the activation buffer with its row stride, and `B` is 64 inputs x 16
//! weight rows of codes (`t + 1`, in 0..=2) in the "four inputs per
//! column" order `B` wants. That order is exactly what the `T2P16` layout
//! unpacks to: `(chunk >> 2j) & 3` is a 64-byte vector whose byte `4i + q`
//! is the code of row `i` at input `16b + 4j + q` (see [`crate::layout`]),
//! i.e. one row of `B` (inputs `4j .. 4j + 4` of block `b` for the sixteen
//! rows). So a 1 KiB `B` tile is the sixteen unpacked vectors of four
//! consecutive chunks, in order: no transposition, one shift and one AND
//! per 64 weights.
//!
//! Each panel's codes are unpacked once per call into a thread-local
//! buffer of `B` tiles (its whole K: 40 KiB at K = 2560) and reused by
//! every token row of the prompt. The loop keeps the eight tile registers
//! busy: two panels (`B0`, `B1`) x two groups of 16 token rows (`A0`,
//! `A1`) into four accumulators (`C00 .. C11`), 64 inputs per step. The
//! result is `sum_k c_k a_k`; subtracting the row's activation sum gives
//! `sum_k t_k a_k` as in every other kernel (`|c a| <= 256`, K < 2^20:
//! exact in i32), so the accumulators are `==` the golden ones.
//!
//! Preconditions beyond [`super::Acts::check`] (asserted by
//! [`super::ternary_panels`]): the activation row stride is a multiple of
//! 64 and the buffer holds whole groups of 16 rows, zero past `k` and past
//! the last row, so that every tile load stays inside it and reads zeros
//! in the padding.
//!
//! Linux gives a process the AMX register state only on request
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`); [`available`]
//! asks once and reports the path absent if the kernel refuses.

use std::arch::asm;
use std::arch::x86_64::*;
use std::cell::RefCell;
use std::sync::OnceLock;

use super::Acts;
use crate::layout::{PackedTernary, KBLOCK, PANEL};

/// Inputs per tile step (bytes of one `A` row, 16 rows of `B` x 4).
pub const KTILE: usize = 64;
/// Token rows per `A` tile.
pub const MTILE: usize = 16;
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
struct TileConfig([u8; 64]);

static CONFIG: TileConfig = {
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
}

/// Unpacks panel `p`'s codes into `ktiles` `B` tiles (zero past its last
/// chunk: those inputs are zero activations anyway).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn unpack_panel(w: &PackedTernary, p: usize, dst: &mut [BTile]) {
    let src = w.panel(p);
    let m = _mm512_set1_epi8(3);
    for (kt, tile) in dst.iter_mut().enumerate() {
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

/// Accumulates `G` groups of 16 token rows (`a0`, `a1`: first row of each,
/// stride `lda` bytes) times `P` unpacked panels (`b0`, `b1`: `ktiles`
/// tiles each) over `ktiles` steps, and stores the `G x P` accumulator
/// tiles to `c` (tile `(g, q)` at `c[(2g + q) * 256 ..]`, rows of 16 i32).
///
/// # Safety
/// Tile configuration [`CONFIG`] loaded in this thread; every tile load
/// within its buffer (see the module docs).
#[inline]
unsafe fn tile_loop<const G: usize, const P: usize>(
    a0: *const i8,
    a1: *const i8,
    lda: usize,
    b0: *const BTile,
    b1: *const BTile,
    ktiles: usize,
    c: *mut i32,
) {
    asm!(
        "tilezero tmm4",
        "tilezero tmm5",
        "tilezero tmm6",
        "tilezero tmm7"
    );
    for kt in 0..ktiles {
        // The second group / panel may not exist (G or P = 1): its pointers
        // are computed with wrapping arithmetic and never dereferenced.
        let (x0, x1) = (a0.add(kt * KTILE), a1.wrapping_add(kt * KTILE));
        let (y0, y1) = (b0.add(kt), b1.wrapping_add(kt));
        match (G, P) {
            (2, 2) => asm!(
                "tileloadd tmm0, [{x0} + {lda}*1]",
                "tileloadd tmm1, [{x1} + {lda}*1]",
                "tileloadd tmm2, [{y0} + {ldb}*1]",
                "tileloadd tmm3, [{y1} + {ldb}*1]",
                "tdpbssd tmm4, tmm0, tmm2",
                "tdpbssd tmm5, tmm0, tmm3",
                "tdpbssd tmm6, tmm1, tmm2",
                "tdpbssd tmm7, tmm1, tmm3",
                x0 = in(reg) x0, x1 = in(reg) x1, y0 = in(reg) y0, y1 = in(reg) y1,
                lda = in(reg) lda, ldb = in(reg) KTILE,
                options(nostack, preserves_flags),
            ),
            (2, _) => asm!(
                "tileloadd tmm0, [{x0} + {lda}*1]",
                "tileloadd tmm1, [{x1} + {lda}*1]",
                "tileloadd tmm2, [{y0} + {ldb}*1]",
                "tdpbssd tmm4, tmm0, tmm2",
                "tdpbssd tmm6, tmm1, tmm2",
                x0 = in(reg) x0, x1 = in(reg) x1, y0 = in(reg) y0,
                lda = in(reg) lda, ldb = in(reg) KTILE,
                options(nostack, preserves_flags),
            ),
            (_, 2) => asm!(
                "tileloadd tmm0, [{x0} + {lda}*1]",
                "tileloadd tmm2, [{y0} + {ldb}*1]",
                "tileloadd tmm3, [{y1} + {ldb}*1]",
                "tdpbssd tmm4, tmm0, tmm2",
                "tdpbssd tmm5, tmm0, tmm3",
                x0 = in(reg) x0, y0 = in(reg) y0, y1 = in(reg) y1,
                lda = in(reg) lda, ldb = in(reg) KTILE,
                options(nostack, preserves_flags),
            ),
            _ => asm!(
                "tileloadd tmm0, [{x0} + {lda}*1]",
                "tileloadd tmm2, [{y0} + {ldb}*1]",
                "tdpbssd tmm4, tmm0, tmm2",
                x0 = in(reg) x0, y0 = in(reg) y0,
                lda = in(reg) lda, ldb = in(reg) KTILE,
                options(nostack, preserves_flags),
            ),
        }
    }
    let ldc = PANEL * 4;
    asm!(
        "tilestored [{c0} + {ldc}*1], tmm4",
        "tilestored [{c1} + {ldc}*1], tmm5",
        "tilestored [{c2} + {ldc}*1], tmm6",
        "tilestored [{c3} + {ldc}*1], tmm7",
        c0 = in(reg) c, c1 = in(reg) c.add(256), c2 = in(reg) c.add(512), c3 = in(reg) c.add(768),
        ldc = in(reg) ldc,
        options(nostack, preserves_flags),
    );
}

/// Aligned scratch for the four accumulator tiles.
#[repr(C, align(64))]
struct CTiles([i32; 4 * 256]);

/// See [`super::ternary_panels`] (several token rows; a single row is a
/// GEMV, which the caller gives to the AVX-512 kernel).
///
/// # Safety
/// [`available`], AVX-512 F/BW, `a.check(w, p0, np, out)`, and the
/// module's padding preconditions hold.
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn panels_amx(w: &PackedTernary, p0: usize, np: usize, a: &Acts, out: &mut [i32]) {
    let ktiles = w.kblocks().div_ceil(CHUNKS_PER_TILE);
    let groups = a.rows.div_ceil(MTILE);
    let o = out.as_mut_ptr();
    let mut c = CTiles([0; 4 * 256]);
    asm!("ldtilecfg [{0}]", in(reg) CONFIG.0.as_ptr(), options(nostack, preserves_flags));
    BTILES.with_borrow_mut(|bt| {
        if bt.len() < 2 * ktiles {
            bt.resize(2 * ktiles, BTile([0; 1024]));
        }
        let (t0, t1) = bt.split_at_mut(ktiles);
        let mut q = 0;
        while q < np {
            let pn = (np - q).min(2);
            unpack_panel(w, p0 + q, &mut t0[..ktiles]);
            if pn == 2 {
                unpack_panel(w, p0 + q + 1, &mut t1[..ktiles]);
            }
            let (b0, b1) = (t0.as_ptr(), t1.as_ptr());
            let mut g = 0;
            while g < groups {
                let gn = (groups - g).min(2);
                let a0 = a.data.as_ptr().add(g * MTILE * a.stride);
                let a1 = a0.wrapping_add(MTILE * a.stride);
                let cp = c.0.as_mut_ptr();
                match (gn, pn) {
                    (2, 2) => tile_loop::<2, 2>(a0, a1, a.stride, b0, b1, ktiles, cp),
                    (2, _) => tile_loop::<2, 1>(a0, a1, a.stride, b0, b1, ktiles, cp),
                    (_, 2) => tile_loop::<1, 2>(a0, a1, a.stride, b0, b1, ktiles, cp),
                    _ => tile_loop::<1, 1>(a0, a1, a.stride, b0, b1, ktiles, cp),
                }
                // Accumulator tile (gi, qi) row m is token g*16 + gi*16 + m
                // of panel q + qi: subtract the token's activation sum and
                // store the valid rows into the panel-major output.
                for gi in 0..gn {
                    for qi in 0..pn {
                        let tile = &c.0[(2 * gi + qi) * 256..][..256];
                        for m in 0..MTILE {
                            let r = (g + gi) * MTILE + m;
                            if r >= a.rows {
                                break;
                            }
                            let acc = _mm512_loadu_si512(tile.as_ptr().add(m * PANEL) as *const _);
                            let s = _mm512_set1_epi32(a.sums[r]);
                            let dst = o.add(((q + qi) * a.rows + r) * PANEL);
                            _mm512_storeu_si512(dst as *mut _, _mm512_sub_epi32(acc, s));
                        }
                    }
                }
                g += gn;
            }
            q += pn;
        }
    });
    asm!("tilerelease", options(nostack, preserves_flags));
}
