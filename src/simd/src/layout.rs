//! The weight layout of the SIMD engine, `T2P16`: ternary codes at 2 bits,
//! in panels of 16 output rows, arranged so that one 64-byte load unpacks
//! with four shift-and-mask steps straight into the operand of a 4-way
//! byte dot product (`vpdpbusd`, `vpmaddubsw`, `sdot`).
//!
//! # Layout
//! Rows are grouped into panels of [`PANEL`] = 16 (the last panel padded
//! with zero weights); inputs into blocks of [`KBLOCK`] = 16 (the last block
//! padded with zero weights). Panel `p`, block `b` is one 64-byte chunk at
//! index `p * kblocks + b`, so a panel is one contiguous stream:
//!
//! ```text
//! chunk byte i (0..64), bits 2j+1:2j (j = 0..4)
//!   = code (t + 1) of row 16p + i/4, input 16b + 4j + i%4
//! ```
//!
//! # The trick
//! `(chunk >> 2j) & 3` (per byte) is a 64-byte vector whose byte `i` is the
//! code of row `i/4` at input `16b + 4j + i%4`: exactly the layout of a
//! 4-way dot product with rows across the sixteen i32 lanes and the four
//! activations `a[16b + 4j .. 16b + 4j + 4]` broadcast to every lane. The
//! codes are unsigned (0, 1, 2) and the activations signed, which is the
//! operand order of `vpdpbusd` / `vpmaddubsw`, so
//!
//! ```text
//! sum_k t_k a_k = sum_k (c_k - 1) a_k = sum_k c_k a_k - sum_k a_k
//! ```
//!
//! costs one unsigned-by-signed dot product per 64 multiply-accumulates and
//! one subtraction of the activation sum (computed once per token) per
//! output. No sign handling, no lookup, no multiplier beyond the dot
//! product unit; exact in i32 (`|c a| <= 256` per term, K < 2^20).
//!
//! The AVX-512 single-token kernel skips even the shift: `chunk & (3 << 2j)`
//! is `4^j` times the codes, still unsigned bytes (at most 128), so its
//! accumulator `j` is exactly `4^j` times the sum and one arithmetic shift
//! per output recovers it (see `kernels::x86::gemv512`).
//!
//! The layout is converted losslessly from [`TernaryMatrix`] (every
//! checkpoint format loads into it) and back ([`PackedTernary::to_ternary`]).

use tritium_golden::ternary::transpose_code_quad;
use tritium_golden::TernaryMatrix;

/// Output rows per panel (i32 lanes of a 512-bit register).
pub const PANEL: usize = 16;
/// Inputs per 64-byte chunk.
pub const KBLOCK: usize = 16;
/// Bytes per chunk.
pub const CHUNK: usize = 64;

/// One 64-byte chunk, aligned for full-width loads.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Chunk(pub [u8; CHUNK]);

// A chunk holds one panel's codes for one K block, 2 bits each, and is
// exactly one 64-byte vector load, aligned to it.
const _: () = assert!(PANEL * KBLOCK * 2 / 8 == CHUNK);
const _: () = assert!(std::mem::size_of::<Chunk>() == CHUNK);
const _: () = assert!(std::mem::align_of::<Chunk>() == CHUNK);

/// A ternary matrix in the `T2P16` layout (see the module docs).
#[derive(Clone, PartialEq, Eq)]
pub struct PackedTernary {
    n: usize,
    k: usize,
    kblocks: usize,
    chunks: tritium_util::HugeBuf<Chunk>,
}

impl std::fmt::Debug for PackedTernary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackedTernary({} x {}, T2P16)", self.n, self.k)
    }
}

impl PackedTernary {
    /// Repacks `w` (lossless), panels in parallel.
    pub fn from_matrix(w: &TernaryMatrix) -> PackedTernary {
        use rayon::prelude::*;
        let (n, k) = (w.n(), w.k());
        let kblocks = k.div_ceil(KBLOCK);
        let panels = n.div_ceil(PANEL);
        let row_bytes = w.row_bytes();
        // Code 1 (weight 0) in every pair: 0b01010101.
        let mut chunks = tritium_util::HugeBuf::filled(panels * kblocks, Chunk([0x55; CHUNK]));
        chunks
            .par_chunks_mut(kblocks.max(1))
            .enumerate()
            .for_each(|(p, panel)| {
                let rows = PANEL.min(n - p * PANEL);
                let src: [&[u8]; PANEL] =
                    std::array::from_fn(|i| w.packed_row(p * PANEL + i.min(rows - 1)));
                // Chunk by chunk (each written whole, once), with the
                // bytes of whole quads read directly: per row and
                // through a padded copy of every quad, this was the
                // slowest step of preparing a model (2026-12-05).
                for (b, chunk) in panel.iter_mut().enumerate() {
                    for (i, src) in src.iter().enumerate().take(rows) {
                        // The row's canonical bytes 4b..4b+4 hold inputs
                        // 16b..16b+16 (padded with code 1 past the row).
                        let v = match src.get(4 * b..4 * b + 4) {
                            Some(q) => [q[0], q[1], q[2], q[3]],
                            None => {
                                let mut v = [0x55u8; 4];
                                let tail = &src[(4 * b).min(row_bytes)..];
                                v[..tail.len()].copy_from_slice(tail);
                                v
                            }
                        };
                        let t = transpose_code_quad(u32::from_le_bytes(v));
                        chunk.0[4 * i..4 * i + 4].copy_from_slice(&t.to_le_bytes());
                    }
                }
            });
        PackedTernary {
            n,
            k,
            kblocks,
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
    /// Inputs rounded up to whole blocks (the activation row stride the
    /// kernels read).
    pub fn k_padded(&self) -> usize {
        self.kblocks * KBLOCK
    }
    /// Blocks of [`KBLOCK`] inputs per panel.
    pub fn kblocks(&self) -> usize {
        self.kblocks
    }
    /// Panels of [`PANEL`] rows.
    pub fn panels(&self) -> usize {
        self.n.div_ceil(PANEL)
    }
    /// The chunks of panel `p` (`kblocks` of them).
    pub fn panel(&self, p: usize) -> &[Chunk] {
        &self.chunks[p * self.kblocks..(p + 1) * self.kblocks]
    }
    /// Bytes of weight data streamed per full pass (padding included).
    pub fn bytes(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    /// Address of the first chunk (for prefetch hints).
    pub fn addr(&self) -> usize {
        self.chunks.as_ptr() as usize
    }

    /// The code (`t + 1`) of weight `(r, c)`, padding included.
    #[inline]
    pub fn code(&self, r: usize, c: usize) -> u8 {
        let (p, i) = (r / PANEL, r % PANEL);
        let (b, kin) = (c / KBLOCK, c % KBLOCK);
        let byte = self.chunks[p * self.kblocks + b].0[i * 4 + kin % 4];
        (byte >> (2 * (kin / 4))) & 3
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Lossless, and the padding is zero weights.
        #[test]
        fn round_trip_and_padding(
            (n, k, t) in (1usize..40, 1usize..70).prop_flat_map(|(n, k)| (
                Just(n), Just(k), proptest::collection::vec(-1i8..=1, n * k)))
        ) {
            let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
            let p = PackedTernary::from_matrix(&w);
            prop_assert_eq!(p.to_ternary(), t);
            for r in 0..p.panels() * PANEL {
                for c in 0..p.k_padded() {
                    if r >= n || c >= k {
                        prop_assert_eq!(p.code(r, c), 1);
                    }
                }
            }
            prop_assert_eq!(p.bytes(), p.panels() * p.kblocks() * CHUNK);
        }
    }

    #[test]
    fn documented_bit_positions() {
        // Row 5, input 16 + 4*2 + 3 = 27: chunk (0, 1), byte 5*4+3 = 23, bits 5:4.
        let mut t = vec![0i8; 6 * 40];
        t[5 * 40 + 27] = 1;
        let w = TernaryMatrix::from_ternary("w", 6, 40, &t, 1.0).unwrap();
        let p = PackedTernary::from_matrix(&w);
        let byte = p.panel(0)[1].0[23];
        assert_eq!((byte >> 4) & 3, 2);
        assert_eq!(byte & !(3 << 4), 0x55 & !(3 << 4));
    }
}
