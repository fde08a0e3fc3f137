//! Ternary x int8 kernels over the `T2P16` layout ([`super::layout`]).
//!
//! Every kernel computes, for output panels `p0 .. p0 + np` of `w` and every
//! token row `r` of `a`,
//!
//! ```text
//! out[((p - p0) * a.rows + r) * 16 + i] = sum_k t[16p + i, k] * a[r, k]
//! ```
//!
//! (panel-major, so that threads own disjoint slices), as
//! `dot4(codes, a) - sum(a)` (see the layout docs for why). All paths are
//! exact integer arithmetic and therefore equal to the golden backend with
//! `==`, which the tests check for every path the machine has.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::base3::{B3Acts, B3Matrix};
use super::layout::{Chunk, PackedTernary, PANEL};

#[cfg(target_arch = "x86_64")]
pub mod amx;
#[cfg(target_arch = "x86_64")]
pub mod base3_x86;
#[cfg(target_arch = "aarch64")]
pub mod neon;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86;

/// Quantized activations as the kernels read them: `rows` rows of
/// `stride >= w.k_padded()` int8 values, zero past `k`, and each row's sum.
#[derive(Debug, Clone, Copy)]
pub struct Acts<'a> {
    pub data: &'a [i8],
    pub stride: usize,
    pub sums: &'a [i32],
    pub rows: usize,
}

impl Acts<'_> {
    /// Checks everything the unsafe kernels rely on.
    pub fn check(&self, w: &PackedTernary, p0: usize, np: usize, out: &[i32]) {
        assert!(self.stride >= w.k_padded());
        assert!(self.data.len() >= self.rows * self.stride);
        assert!(self.sums.len() >= self.rows);
        assert!(p0 + np <= w.panels());
        assert!(out.len() >= np * self.rows * PANEL);
    }
}

/// Token rows per tile of the tile layout of activations ([`tile_acts`]).
pub const TILE_ROWS: usize = 16;
/// Inputs per tile of the tile layout of activations ([`tile_acts`]).
pub const TILE_K: usize = 64;

/// Whether `isa` runs a call of `rows` token rows on a tiled prompt
/// kernel: the AMX kernel for every prompt, the AVX-512 one for prompts of
/// more than 8 rows (the unpacked-segment kernel, `x86::prompt512`). Such
/// a kernel reads its activations in the tile layout ([`tile_acts`])
/// instead of row by row (row `r` at `r * stride`), and [`prompt_rows`]
/// runs it straight into a BitLinear's row-major output.
pub fn tiled_prompt(isa: Isa, rows: usize) -> bool {
    match isa {
        Isa::Amx => rows > 1,
        Isa::Avx512 => rows > 8,
        _ => false,
    }
}

/// Panels the prompt kernel of `isa` computes per pass over K for
/// `rows` token rows: a task's share is a whole number of them.
pub fn prompt_unit(isa: Isa, rows: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && tiled_prompt(isa, rows) {
        return x86::PROMPT_PANELS;
    }
    let _ = (isa, rows);
    2
}

/// Copies `rows` activation rows of `k` inputs (`src`, row-major) into
/// `dst` in the tile layout: whole tiles of 16 rows x 64 inputs, each
/// contiguous (1 KiB), tile `(g, kt)` (rows `16g ..`, inputs `64kt ..`) at
/// byte `16 g kp + 1024 kt`, row `m` of it at `+ 64 m`. An AMX `A` tile
/// load reads one contiguous KiB (the hardware prefetcher streams it from
/// L2) instead of 16 rows a whole activation row apart, and the AVX-512
/// prompt kernel finds the four activations of every row of a token group
/// at fixed offsets from one pointer (row-major, its loop spent as many
/// scalar instructions per block on row addresses as it has rows, on the
/// ports of its dot products). `dst` holds `rows.next_multiple_of(16) *
/// kp` bytes (`kp` a multiple of 64, `>= k`), every one written: the
/// padding rows and inputs are zeroed here, so `dst` needs no clearing.
pub fn tile_acts(src: &[i8], k: usize, rows: usize, kp: usize, dst: &mut [i8]) {
    assert!(src.len() >= rows * k);
    assert_eq!(dst.len(), rows.next_multiple_of(TILE_ROWS) * kp);
    for (g, group) in dst.chunks_exact_mut(TILE_ROWS * kp).enumerate() {
        let r0 = g * TILE_ROWS;
        let n = (rows - r0).min(TILE_ROWS);
        tile_group(&src[r0 * k..(r0 + n) * k], n, k, kp, group);
    }
}

/// A prompt's `rows` activation rows (`src`, `k` inputs each) into `acts`
/// in the tile layout ([`tile_acts`], `kp` inputs per row) and their sums
/// into `sums`, the groups of 16 rows on the calling thread (`threads <=
/// 1`) or in parallel on `pool` (rayon's global pool if `None`). Every
/// byte is written (padding zeroed), so `acts` is resized without a
/// clearing fill. (Serial, the copy, the sums and that fill held one
/// thread ~40 us per 128 x 2,560 call while the other waited.)
pub fn tile_prompt(
    src: &[i8],
    (rows, k, kp): (usize, usize, usize),
    acts: &mut Vec<i8>,
    sums: &mut Vec<i32>,
    (threads, pool): (usize, Option<&rayon::ThreadPool>),
) {
    use rayon::prelude::*;
    acts.resize(rows.next_multiple_of(TILE_ROWS) * kp, 0);
    sums.clear();
    sums.resize(rows, 0);
    let group = |(g, (dst, s)): (usize, (&mut [i8], &mut [i32]))| {
        let r0 = g * TILE_ROWS;
        let src = &src[r0 * k..(r0 + s.len()) * k];
        tile_group(src, s.len(), k, kp, dst);
        for (sum, row) in s.iter_mut().zip(src.chunks_exact(k)) {
            *sum = act_sum(row);
        }
    };
    if threads <= 1 {
        acts.chunks_mut(TILE_ROWS * kp)
            .zip(sums.chunks_mut(TILE_ROWS))
            .enumerate()
            .for_each(group);
        return;
    }
    let groups = acts
        .par_chunks_mut(TILE_ROWS * kp)
        .zip(sums.par_chunks_mut(TILE_ROWS))
        .enumerate();
    match pool {
        Some(p) => p.install(|| groups.for_each(group)),
        None => groups.for_each(group),
    }
}

/// Group `g`'s `TILE_ROWS * kp` bytes of [`tile_acts`] from its `rows`
/// (`<= 16`) token rows `src`: one group's tiles (the backend lays out the
/// groups of a prompt in parallel).
fn tile_group(src: &[i8], rows: usize, k: usize, kp: usize, dst: &mut [i8]) {
    assert!(kp.is_multiple_of(TILE_K) && kp >= k && rows <= TILE_ROWS);
    assert!(src.len() >= rows * k && dst.len() == TILE_ROWS * kp);
    for m in 0..TILE_ROWS {
        let row = if m < rows {
            &src[m * k..(m + 1) * k]
        } else {
            &[]
        };
        for kt in 0..kp / TILE_K {
            let piece = &row[(kt * TILE_K).min(row.len())..((kt + 1) * TILE_K).min(row.len())];
            let at = kt * TILE_ROWS * TILE_K + m * TILE_K;
            dst[at..at + piece.len()].copy_from_slice(piece);
            dst[at + piece.len()..at + TILE_K].fill(0);
        }
    }
}

/// Where a tiled prompt kernel puts its results: the value of token row
/// `r`, column `c` of the call's panel `q` (relative to `p0`) goes to
/// `base + q * panel_step + r * ld + c`, for the `cols` valid columns of
/// the call (`c + 16 q < cols`). Panel-major (`ld` 16, `panel_step`
/// `rows * 16`, every column valid) is [`ternary_panels`]' output;
/// row-major (`ld` the row width, `panel_step` 16) is a BitLinear's.
#[derive(Debug, Clone, Copy)]
pub struct OutTiles {
    pub base: *mut i32,
    pub ld: usize,
    pub panel_step: usize,
    pub cols: usize,
}

impl OutTiles {
    /// The same output seen from the call's panel `q` on.
    pub fn from_panel(self, q: usize) -> OutTiles {
        OutTiles {
            base: self.base.wrapping_add(q * self.panel_step),
            cols: self.cols.saturating_sub(q * PANEL),
            ..self
        }
    }
}

/// Where the calling thread streams weights after a kernel call: the first
/// chunk of its next decode step's first panel. The single-token loops
/// prefetch the start of each of that step's panel streams while they
/// finish their own, so it does not begin with a run of demand misses. A
/// thread taking a job's items in order goes on with the panels after its
/// own; a worker taking them from the back ([`crate::spin::End::Back`])
/// with the ones before (or another matrix of the job). Only ever
/// prefetched, never read: any address is harmless. The prompt kernels
/// and the portable and NEON loops ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextStep(*const Chunk);

impl NextStep {
    /// Panel `p` of a matrix whose `len`-chunk panels start at `addr` (`p`
    /// may lie past the last panel: wrapping arithmetic, never read).
    fn at(addr: usize, len: usize, p: usize) -> NextStep {
        NextStep((addr as *const Chunk).wrapping_add(p.wrapping_mul(len)))
    }
    /// Panel `p` of the 2-bit matrix `w`.
    pub fn of(w: &PackedTernary, p: usize) -> NextStep {
        Self::at(w.addr(), w.kblocks(), p)
    }
    /// Panel `p` of the base-3 matrix `w`.
    pub fn of_base3(w: &B3Matrix, p: usize) -> NextStep {
        Self::at(w.addr(), w.groups(), p)
    }
    /// The chunk address (x86 loops prefetch from it).
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn ptr(self) -> *const Chunk {
        self.0
    }
}

/// Which instruction set a kernel uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// Portable Rust, the twin every other path is checked against.
    Scalar,
    /// x86-64 AVX2 (`vpmaddubsw` + `vpmaddwd`).
    Avx2,
    /// x86-64 AVX2, the other kernel family for single-token decode:
    /// activation lookup tables (`vpshufb`, layout `L2B32`, `crate::lut`);
    /// prompts of several rows, the head and attention on the AVX2 path.
    /// Since both 2-bit families prefetch their weight stream, it decodes
    /// the 2B4T shape slower than [`Isa::Avx2`] (Zen 3, 2026-12-05: 0.89-0.93x
    /// with 1 and 2 threads and the exact head; README, "Decode families on
    /// AVX2"), so it is never the default.
    Avx2Lut,
    /// x86-64 AVX-512 BW + VNNI (`vpdpbusd`).
    Avx512,
    /// AArch64 NEON (`smull` + `sadalp`).
    Neon,
    /// x86-64 AMX-INT8 tiles (`tdpbssd`) for prompts of several token rows;
    /// everything else (single-row GEMV, lm_head, attention) on AVX-512.
    Amx,
}

impl Isa {
    pub const ALL: [Isa; 6] = [
        Isa::Scalar,
        Isa::Avx2,
        Isa::Avx2Lut,
        Isa::Avx512,
        Isa::Neon,
        Isa::Amx,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx2Lut => "avx2-lut",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
            Isa::Amx => "amx",
        }
    }

    pub fn from_name(s: &str) -> Option<Isa> {
        Isa::ALL.into_iter().find(|i| i.name() == s)
    }

    /// The CPU features the path needs (what a missing path lacks).
    pub fn features(self) -> &'static str {
        match self {
            Isa::Scalar => "none",
            Isa::Avx2 | Isa::Avx2Lut => "x86-64 avx2",
            Isa::Avx512 => "x86-64 avx512f, avx512bw and avx512vnni",
            Isa::Neon => "aarch64 neon",
            Isa::Amx => {
                "x86-64 amx-tile and amx-int8 (granted by the OS) next to the avx512 path's"
            }
        }
    }

    /// Whether this CPU can run the path (runtime detection).
    pub fn available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 | Isa::Avx2Lut => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[cfg(target_arch = "x86_64")]
            Isa::Amx => Isa::Avx512.available() && amx::available(),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The paths this CPU can run, in [`Isa::ALL`] order (see [`Isa::best`]
    /// for which is fastest).
    pub fn present() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.available()).collect()
    }

    /// The path of everything but the path's own kernel: the vector
    /// instruction set behind `self` (AMX runs single rows, the head and
    /// attention on AVX-512; the lookup-table path runs prompts, the head
    /// and attention on AVX2).
    pub fn vector(self) -> Isa {
        match self {
            Isa::Amx => Isa::Avx512,
            Isa::Avx2Lut => Isa::Avx2,
            i => i,
        }
    }

    /// The fastest path present. Where AVX2 is the best instruction set
    /// that is [`Isa::Avx2`], not the lookup tables: its decode body
    /// ([`crate::Body::Auto`]) is the 2-bit or the base-3 one, whichever a
    /// run-time probe finds faster on this core, and either was measured
    /// faster than the lookup tables where it was picked.
    pub fn best() -> Isa {
        Isa::present()
            .into_iter()
            .rfind(|&i| i != Isa::Avx2Lut)
            .unwrap_or(Isa::Scalar)
    }
}

/// Calls served by each path's code in this process, by [`Isa`] order, in
/// one shard per thread: the first `SHARDS - 1` threads each own one and
/// count with a plain load and store, the others share the last one and
/// count with a locked add. One locked counter for all took 2 % of a
/// decode step on a 2-core Zen 3 (2026-12-06): its cache line moved
/// between the cores on every call, and each locked add waited for the
/// kernel's stores to drain.
static RUNS: [Shard; SHARDS] =
    [const { Shard([const { AtomicU64::new(0) }; Isa::ALL.len()]) }; SHARDS];

/// Shards of [`RUNS`].
const SHARDS: usize = 64;

/// One thread's counters, on cache lines of their own (128 bytes: the
/// adjacent-line prefetchers fetch lines in pairs).
#[repr(align(128))]
struct Shard([AtomicU64; Isa::ALL.len()]);

/// Counts one call served by `isa`'s code (a ternary panel range, a block
/// of head rows).
pub(crate) fn count_run(isa: Isa) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    MINE.with(|&m| {
        let c = &RUNS[m.min(SHARDS - 1)].0[isa as usize];
        if m < SHARDS - 1 {
            // This thread is the shard's only writer.
            c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        } else {
            c.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// Whether this CPU converts f16 to f32 in vector registers (F16C, which
/// CPUID reports apart from AVX2); false off x86.
pub(crate) fn has_f16c() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("f16c");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The path a head kernel family with an AVX-512 and an AVX2 version and a
/// portable loop runs for `isa`: its vector path where that is one of the
/// two, present, and `also` holds (a feature the kernels need besides),
/// else [`Isa::Scalar`]. Counts the call on the path returned.
pub(crate) fn head_path(isa: Isa, also: bool) -> Isa {
    let v = isa.vector();
    let ran = match v {
        Isa::Avx512 | Isa::Avx2 if also && v.available() => v,
        _ => Isa::Scalar,
    };
    count_run(ran);
    ran
}

/// How many calls the code of `isa` (ternary kernels and lm_head rows) has
/// served in this process: lets a test check that the path it asked for is
/// the one that ran, not a fallback.
pub fn runs(isa: Isa) -> u64 {
    RUNS.iter()
        .map(|s| s.0[isa as usize].load(Ordering::Relaxed))
        .sum()
}

/// The sum of one activation row (what every kernel subtracts from its
/// `sum c_k a_k`), vectorized where AVX2 is present.
pub fn act_sum(a: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 detected.
        return unsafe { x86::act_sum_avx2(a) };
    }
    a.iter().map(|&x| i32::from(x)).sum()
}

/// Checks activations in the tile layout ([`tile_acts`]): the kernels
/// read whole 64-input steps of 16 rows.
#[cfg(target_arch = "x86_64")]
fn check_tiled(a: &Acts) {
    assert_eq!(a.stride % TILE_K, 0, "tiled activation stride");
    assert!(a.data.len() >= a.rows.div_ceil(TILE_ROWS) * TILE_ROWS * a.stride);
}

/// The tiled prompt kernel of `isa` ([`tiled_prompt`] holds) writing
/// straight into a row-major output of row width `n` (a BitLinear's
/// accumulators): panels `p0 .. p0 + np` are its columns `16 p0 ..`, no
/// panel-major copy in between.
///
/// # Safety
/// `out` points at `a.rows * n` writable `i32`s, and no one else reads or
/// writes its columns `16 p0 .. min(16 (p0 + np), n)` during the call.
#[cfg(target_arch = "x86_64")]
pub unsafe fn prompt_rows(
    isa: Isa,
    w: &PackedTernary,
    p0: usize,
    np: usize,
    a: &Acts,
    out: *mut i32,
    n: usize,
) {
    assert!(tiled_prompt(isa, a.rows), "no tiled prompt kernel");
    assert!(n == w.n() && p0 + np <= w.panels());
    assert!(a.stride >= w.k_padded() && a.sums.len() >= a.rows);
    check_tiled(a);
    let out = OutTiles {
        base: out.add(p0 * PANEL),
        ld: n,
        panel_step: PANEL,
        cols: n - p0 * PANEL,
    };
    // SAFETY: as documented, plus the checks above.
    prompt_tiles(isa, w, p0, np, a, out)
}

/// Runs the tiled prompt kernel of `isa` into `out`.
///
/// # Safety
/// [`tiled_prompt`] and the checks of [`prompt_rows`]; `out` addresses
/// writable memory for every value it names, not used by anyone else
/// during the call.
#[cfg(target_arch = "x86_64")]
unsafe fn prompt_tiles(isa: Isa, w: &PackedTernary, p0: usize, np: usize, a: &Acts, out: OutTiles) {
    if isa == Isa::Amx {
        assert!(Isa::Amx.available(), "kernel amx not available on this CPU");
        count_run(Isa::Amx);
        amx::panels_amx(w, p0, np, a, out)
    } else {
        assert!(
            Isa::Avx512.available(),
            "kernel avx512 not available on this CPU"
        );
        count_run(Isa::Avx512);
        x86::prompt_avx512(w, p0, np, a, out)
    }
}

/// Runs the ternary kernel of `isa` (which must be [`Isa::available`]) on
/// activations `a` in the tile layout where [`tiled_prompt`] says so, row by
/// row elsewhere; `next` is where this thread streams afterwards
/// ([`NextStep`]).
pub fn ternary_panels(
    isa: Isa,
    w: &PackedTernary,
    p0: usize,
    np: usize,
    a: &Acts,
    out: &mut [i32],
    next: NextStep,
) {
    a.check(w, p0, np, out);
    assert!(
        isa.available(),
        "kernel {} not available on this CPU",
        isa.name()
    );
    #[cfg(target_arch = "x86_64")]
    if tiled_prompt(isa, a.rows) {
        check_tiled(a);
        let out = OutTiles {
            base: out.as_mut_ptr(),
            ld: PANEL,
            panel_step: a.rows * PANEL,
            cols: np * PANEL,
        };
        // SAFETY: checked above; the activations by `a.check` and
        // `check_tiled` (the rest of the padding is zero by contract);
        // `out` holds `np * rows * 16` values (`a.check`), exactly what the
        // panel-major `OutTiles` names, and is borrowed mutably.
        unsafe { prompt_tiles(isa, w, p0, np, a, out) };
        return;
    }
    let isa = isa.vector();
    count_run(isa);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: features checked above; bounds checked by `a.check`.
        Isa::Avx512 => unsafe { x86::panels_avx512(w, p0, np, a, out, next.ptr()) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { x86::panels_avx2(w, p0, np, a, out, next.ptr()) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as above.
        Isa::Neon => unsafe { neon::panels_neon(w, p0, np, a, out) },
        _ => {
            let _ = next;
            scalar::panels(w, p0, np, a, out)
        }
    }
}

/// Whether [`base3_panels`] on `isa` reads the activations' coefficient
/// table ([`B3Acts::set`]): every path but AVX-512's byte form.
pub fn base3_needs_table(isa: Isa) -> bool {
    isa.vector() != Isa::Avx512
}

/// Single-token products of panels `p0 .. p0 + np` of the base-3 body `w`
/// with the token `a`: `out[16 (p - p0) + i] = sum_k t[16p + i, k] a[k]`.
/// Runs the `isa` path's kernel (AVX-512 VNNI, AVX2, else portable Rust);
/// `next` as for [`ternary_panels`].
pub fn base3_panels(
    isa: Isa,
    w: &B3Matrix,
    p0: usize,
    np: usize,
    a: &B3Acts,
    out: &mut [i32],
    next: NextStep,
) {
    assert!(p0 + np <= w.panels());
    assert!(a.groups() >= w.groups());
    assert!(!base3_needs_table(isa) || a.has_table());
    assert!(out.len() >= np * PANEL);
    assert!(
        isa.available(),
        "kernel {} not available on this CPU",
        isa.name()
    );
    #[cfg(target_arch = "x86_64")]
    match isa.vector() {
        Isa::Avx512 => {
            count_run(Isa::Avx512);
            // SAFETY: features checked above, bounds by the asserts.
            return unsafe { base3_x86::panels_avx512(w, p0, np, a, out, next.ptr()) };
        }
        Isa::Avx2 => {
            count_run(Isa::Avx2);
            // SAFETY: as above.
            return unsafe { base3_x86::panels_avx2(w, p0, np, a, out, next.ptr()) };
        }
        _ => {}
    }
    let _ = next;
    count_run(Isa::Scalar);
    scalar::base3_panels(w, p0, np, a, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every thread's counts reach [`runs`]: the threads that own a shard
    /// and those past them, which share the last one.
    #[test]
    fn run_counts_add_up_across_threads() {
        // A path no code of this architecture runs: no other test moves it.
        let isa = if cfg!(target_arch = "x86_64") {
            Isa::Neon
        } else {
            Isa::Avx512
        };
        let (threads, each) = (SHARDS + 6, 1000);
        let before = runs(isa);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| (0..each).for_each(|_| count_run(isa)));
            }
        });
        assert_eq!(runs(isa) - before, (threads * each) as u64);
    }
}
