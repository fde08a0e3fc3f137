//! The base-3 body of the fast decode mode, layout `T3P16`: five ternary
//! weights per byte (1.6 bits per weight, 80 % of `T2P16`'s bytes), decoded
//! with two 16-bit multiplies per 32 bytes (or, on AVX-512, two byte adds
//! per 64) and no division, lookup or per-digit extraction. Lossless: the single-token kernels over it are
//! exact and equal to the golden model with `==`.
//!
//! # Layout
//! Rows are grouped into panels of [`PANEL`] = 16 (the last one padded with
//! zero weights) and inputs into groups of [`GROUP`] = 20 (the last one
//! padded). Panel `p`, group `g` is one 64-byte chunk at `p * groups + g`,
//! so a panel is one contiguous stream, as in `T2P16`:
//!
//! ```text
//! chunk byte 4i + j (row 16p + i, j = 0..4) = ceil(v * 256 / 243),
//!   v = sum_{m=0..5} d_m 3^(4-m),
//!   d_m = code (t + 1) of input 20g + 4m + j
//! ```
//!
//! # Decoding by multiplication
//! With `q = ceil(v * 256 / 243)` (the fixed-point form llama.cpp's TQ1_0
//! also uses), digit `m` is the integer part of `3 * frac(3^m q / 256)`:
//!
//! ```text
//! N_m = floor(q * 3^(m+1) / 256)    (at most 242)
//! d_m = N_m - 3 N_(m-1)             (N_(-1) = 0)
//! ```
//!
//! `N_m` is one `vpmulhuw` of `q << 8` by `3^(m+1)`. The digits are never
//! formed: by linearity
//!
//! ```text
//! sum_m d_m a_m = sum_m N_m (a_m - 3 a_(m+1))     (a_5 = 0)
//! ```
//!
//! so each token's activations are turned once into 16-bit coefficients
//! `c_m = a_m - 3 a_(m+1)` (at most 511 in magnitude, [`B3Acts`]) and
//! the kernel is `vpmulhuw` plus a 16-bit dot product (`vpdpwssd`,
//! `vpmaddwd`) per 32 weights-bytes, with no dependency between the five
//! digits. A 16-bit lane holds two bytes, so the even bytes are shifted up
//! (`vpsllw 8`) and the odd ones masked (`& 0xff00`) first; the
//! coefficients of bytes `j = 0, 2` and `j = 1, 3` are paired to match.
//! `sum t a = sum d a - sum a` as in `T2P16`.
//!
//! # The byte form (AVX-512)
//! With `r_0 = q` and `r_(m+1) = 3 r_m mod 256`, digit `m` is
//! `floor(3 r_m / 256)` (it equals `N_m - 3 N_(m-1)`), so
//! `256 d_m = 3 r_m - r_(m+1)` exactly and
//!
//! ```text
//! 256 sum_m d_m a_m = 3 sum_m r_m a_m - sum_m r_(m+1) a_m
//! ```
//!
//! where each `r` is a byte stepped by two wrapping byte adds and each
//! product an unsigned byte times the int8 activation itself: `vpdpbusd`
//! over all 64 bytes of a chunk, no split and no coefficient table.
//!
//! The kernels are [`crate::kernels::base3_panels`] (AVX-512 in the byte
//! form, AVX2 and the portable twin in the 16-bit one).
//!
//! Exact in i32: a product `N_m c_m` is at most `242 * 511 < 2^17` in
//! magnitude, and after every whole chunk an accumulator holds an exact
//! partial dot product (at most `2 * 128` per input), so nothing overflows
//! for any K the configs allow. The byte form's two sums may wrap, but
//! their combination is exact per segment of 20,480 inputs (see
//! [`crate::kernels::base3_x86`]).

use tritium_golden::TernaryMatrix;

use crate::layout::{Chunk, CHUNK, PANEL};

/// Inputs per 64-byte chunk (4 bytes per row, 5 digits per byte).
pub const GROUP: usize = 20;
/// The powers `3^(m+1)` whose 16-bit high products are the `N_m`.
pub const POW3: [u16; 5] = [3, 9, 27, 81, 243];
/// i32 coefficient pairs per group in the token's table: 5 digits x the
/// even (`j = 0, 2`) and odd (`j = 1, 3`) bytes.
pub const TABLE_PER_GROUP: usize = 10;

/// The byte of five codes (`0..3` each, the first the most significant).
pub fn encode(d: [u8; 5]) -> u8 {
    let v = d.iter().fold(0u32, |v, &c| v * 3 + u32::from(c));
    debug_assert!(d.iter().all(|&c| c < 3));
    // v <= 242, so the result is at most 255.
    ((v * 256).div_ceil(243)) as u8
}

/// `N_m` of byte `q` (see the module docs).
#[inline]
pub fn n_of(q: u8, m: usize) -> i32 {
    ((u32::from(q) * u32::from(POW3[m])) >> 8) as i32
}

/// Digit `m` of byte `q`.
pub fn digit(q: u8, m: usize) -> u8 {
    let prev = if m == 0 { 0 } else { n_of(q, m - 1) };
    (n_of(q, m) - 3 * prev) as u8
}

/// `DIGITS[m][x]`: the four codes of canonical byte `x` (code `j` at bits
/// `2j`), each times `3^(4-m)`, in the four bytes of a u32. Adding the five
/// entries of a group's five canonical bytes gives the four `v` of its
/// chunk bytes at once (each at most 242: no carry between the bytes).
static DIGITS: [[u32; 256]; 5] = {
    let mut t = [[0u32; 256]; 5];
    let mut m = 0;
    while m < 5 {
        let w = 3u32.pow(4 - m as u32);
        let mut x = 0;
        while x < 256 {
            let mut j = 0;
            while j < 4 {
                t[m][x] |= ((((x as u32) >> (2 * j)) & 3) * w) << (8 * j);
                j += 1;
            }
            x += 1;
        }
        m += 1;
    }
    t
};

/// `ENCODE[v]` = `ceil(v * 256 / 243)`: the byte of digit string `v`.
static ENCODE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut v = 0;
    while v < 243 {
        t[v] = ((v * 256).div_ceil(243)) as u8;
        v += 1;
    }
    t
};

/// Packs canonical row `src` (`k` codes, 2 bits each, code `c` at bits
/// `2 (c % 4)` of byte `c / 4`) as row `i` of a panel's chunks.
fn pack_row(src: &[u8], k: usize, i: usize, panel: &mut [Chunk]) {
    for (g, chunk) in panel.iter_mut().enumerate() {
        let dst = &mut chunk.0[4 * i..4 * i + 4];
        if (g + 1) * GROUP <= k {
            // Inputs 20g + 4m + j are code j of canonical byte 5g + m.
            let b = &src[5 * g..5 * g + 5];
            let v = (0..5).fold(0u32, |v, m| v + DIGITS[m][usize::from(b[m])]);
            for (j, d) in dst.iter_mut().enumerate() {
                *d = ENCODE[((v >> (8 * j)) & 0xff) as usize];
            }
        } else {
            // The ragged last group: inputs past k are zero weights.
            for (j, d) in dst.iter_mut().enumerate() {
                *d = encode(std::array::from_fn(|m| {
                    let c = GROUP * g + 4 * m + j;
                    if c < k {
                        (src[c / 4] >> (2 * (c % 4))) & 3
                    } else {
                        1
                    }
                }));
            }
        }
    }
}

/// A ternary matrix in the `T3P16` layout (see the module docs).
#[derive(Clone, PartialEq, Eq)]
pub struct B3Matrix {
    n: usize,
    k: usize,
    groups: usize,
    chunks: tritium_util::HugeBuf<Chunk>,
}

impl std::fmt::Debug for B3Matrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "B3Matrix({} x {}, T3P16)", self.n, self.k)
    }
}

impl B3Matrix {
    /// Repacks `w` (lossless), panels in parallel.
    pub fn from_matrix(w: &TernaryMatrix) -> B3Matrix {
        use rayon::prelude::*;
        let (n, k) = (w.n(), w.k());
        let groups = k.div_ceil(GROUP);
        let panels = n.div_ceil(PANEL);
        let zero = encode([1; 5]);
        let mut chunks = tritium_util::HugeBuf::filled(panels * groups, Chunk([zero; CHUNK]));
        chunks
            .par_chunks_mut(groups.max(1))
            .enumerate()
            .for_each(|(p, panel)| {
                for i in 0..PANEL.min(n - p * PANEL) {
                    pack_row(w.packed_row(p * PANEL + i), k, i, panel);
                }
            });
        B3Matrix {
            n,
            k,
            groups,
            chunks,
        }
    }

    /// Output rows.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Inputs.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Groups of [`GROUP`] inputs per panel.
    pub fn groups(&self) -> usize {
        self.groups
    }
    /// Panels of [`PANEL`] rows.
    pub fn panels(&self) -> usize {
        self.n.div_ceil(PANEL)
    }
    /// The chunks of panel `p` (`groups` of them).
    pub fn panel(&self, p: usize) -> &[Chunk] {
        &self.chunks[p * self.groups..(p + 1) * self.groups]
    }
    /// Bytes streamed per full pass (padding included).
    pub fn bytes(&self) -> usize {
        self.chunks.len() * CHUNK
    }
    /// Address of the first chunk (for prefetch hints).
    pub fn addr(&self) -> usize {
        self.chunks.as_ptr() as usize
    }

    /// The code (`t + 1`) of weight `(r, c)`, padding included.
    pub fn code(&self, r: usize, c: usize) -> u8 {
        let (p, i) = (r / PANEL, r % PANEL);
        let (g, kin) = (c / GROUP, c % GROUP);
        let byte = self.chunks[p * self.groups + g].0[4 * i + kin % 4];
        digit(byte, kin / 4)
    }

    /// All weights back as ternary values, row-major `n x k`.
    pub fn to_ternary(&self) -> Vec<i8> {
        let mut t = Vec::with_capacity(self.n * self.k);
        for r in 0..self.n {
            for c in 0..self.k {
                t.push(self.code(r, c) as i8 - 1);
            }
        }
        t
    }
}

/// One token's activations as the base-3 kernels read them: the
/// coefficient table and the activation sum.
///
/// For group `g`, digit `m`, parity `e`, the table's i32 at `10 g + 2 m + e`
/// holds the 16-bit pair `(c_m[j = e], c_m[j = e + 2])`, `c_m[j] = a[20g +
/// 4m + j] - 3 a[20g + 4m + 4 + j]` (the last digit's `a_5` is 0).
///
/// It also keeps the activations themselves, zero-padded to whole groups
/// (`groups * GROUP` bytes), for the AVX-512 kernel's byte form of the
/// identity ([`crate::kernels::base3_x86`]).
#[derive(Debug, Clone, Default)]
pub struct B3Acts {
    table: Vec<i32>,
    raw: Vec<i8>,
    sum: i32,
}

impl B3Acts {
    /// Builds the token `a` (its `k` activations; inputs past them are
    /// zero) for matrices of `groups` groups, reusing the allocations: the
    /// padded activations and their sum, and the coefficient table if
    /// `with_table` (the AVX2 and portable kernels read it, the AVX-512 one
    /// does not: [`crate::kernels::base3_needs_table`]). Built serially
    /// before every decode job, so kept to fixed-size loops the compiler
    /// unrolls (a few microseconds for K = 6912).
    pub fn set(&mut self, a: &[i8], groups: usize, with_table: bool) {
        let a = &a[..a.len().min(groups * GROUP)];
        self.raw.clear();
        self.raw.extend_from_slice(a);
        self.raw.resize(groups * GROUP, 0);
        self.sum = a.iter().map(|&x| i32::from(x)).sum();
        let out = &mut self.table;
        out.clear();
        if !with_table {
            return;
        }
        out.reserve(groups * TABLE_PER_GROUP);
        for g in self.raw.chunks_exact(GROUP) {
            out.extend_from_slice(&group_coefficients(g.try_into().expect("GROUP")));
        }
    }

    /// Whether [`B3Acts::set`] built the coefficient table.
    pub fn has_table(&self) -> bool {
        self.table.len() == self.groups() * TABLE_PER_GROUP
    }
    /// The coefficient table (`TABLE_PER_GROUP` entries per group; empty
    /// unless built).
    pub fn table(&self) -> &[i32] {
        &self.table
    }
    /// The activations, zero-padded to `groups() * GROUP` bytes.
    pub fn raw(&self) -> &[i8] {
        &self.raw
    }
    /// The sum of the activations.
    pub fn sum(&self) -> i32 {
        self.sum
    }
    /// Groups the activations cover.
    pub fn groups(&self) -> usize {
        self.raw.len() / GROUP
    }
}

/// The ten table entries of one group of activations.
#[inline(always)]
fn group_coefficients(s: &[i8; GROUP]) -> [i32; TABLE_PER_GROUP] {
    let c = |i: usize| {
        let next = if i + 4 < GROUP {
            i32::from(s[i + 4])
        } else {
            0
        };
        // |c| <= 128 + 3 * 127 = 509: a 16-bit value.
        (i32::from(s[i]) - 3 * next) as i16 as u16 as i32
    };
    std::array::from_fn(|e| {
        let (m, odd) = (e / 2, e % 2);
        c(4 * m + odd) | (c(4 * m + odd + 2) << 16)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every one of the 243 digit strings survives encode and decode.
    #[test]
    fn every_byte_decodes_to_its_digits() {
        for v in 0..243u32 {
            let d: [u8; 5] = std::array::from_fn(|m| (v / 3u32.pow(4 - m as u32) % 3) as u8);
            let q = encode(d);
            for (m, &dm) in d.iter().enumerate() {
                assert_eq!(digit(q, m), dm, "v = {v}, digit {m}, byte {q}");
            }
        }
    }

    proptest! {
        /// Lossless, and the padding is zero weights (the kernels' products
        /// are checked against the golden model in `tests/base3.rs`).
        #[test]
        fn round_trip_and_padding(
            (n, k, t) in (1usize..40, 1usize..90).prop_flat_map(|(n, k)| (
                Just(n), Just(k),
                proptest::collection::vec(-1i8..=1, n * k)))
        ) {
            let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
            let b = B3Matrix::from_matrix(&w);
            prop_assert_eq!(b.to_ternary(), t.clone());
            for r in 0..b.panels() * PANEL {
                for c in 0..b.groups() * GROUP {
                    if r >= n || c >= k {
                        prop_assert_eq!(b.code(r, c), 1);
                    }
                }
            }
            prop_assert_eq!(b.bytes(), b.panels() * b.groups() * CHUNK);
        }
    }

    #[test]
    fn documented_byte_positions() {
        // Row 5, input 20 + 4*3 + 2 = 34: chunk (0, 1), byte 5*4+2 = 22, digit 3.
        let mut t = vec![0i8; 6 * 40];
        t[5 * 40 + 34] = 1;
        let w = TernaryMatrix::from_ternary("w", 6, 40, &t, 1.0).unwrap();
        let b = B3Matrix::from_matrix(&w);
        let q = b.panel(0)[1].0[22];
        assert_eq!(q, encode([1, 1, 1, 2, 1]));
        assert_eq!(b.panel(0)[1].0[21], encode([1; 5]));
    }
}
