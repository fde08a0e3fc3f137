//! `G16`: the 2-bit weight layout the shaders read, 16 codes per u32.
//!
//! Row-major: row `n` is `kw` u32 words (`kw = ceil(k / 64) * 4`, so a row
//! is whole 64-weight chunks of the GEMM kernel), word `w` of a row holds the
//! 16 weights `k = 16 w .. 16 w + 15` as codes `t + 1` (0, 1, 2 = -1, 0, +1;
//! padding is code 1, a zero weight).
//!
//! The trick: inside a word, weight `k = 16 w + 4 j + b` sits at bits
//! `8 b + 2 j` (byte `b`, code slot `j`). Then one shift and one mask,
//!
//! ```text
//! codes_j = (word >> 2 j) & 0x03030303      j = 0..3
//! ```
//!
//! give four bytes holding the codes of weights `16 w + 4 j + 0..3`: exactly
//! the four consecutive int8 activations of activation word `4 w + j`
//! (little-endian, as WGSL's `dot4I8Packed` and CUDA's `__dp4a` read them).
//! So one `dot4I8Packed(codes_j, acts_j)` is four multiply-adds with the
//! weights unpacked in place, no per-byte work. It multiplies the codes
//! `c = t + 1` rather than the weights, so the kernel subtracts the row's
//! activation sum once at the end: `sum t a = sum c a - sum a`.
//!
//! The canonical golden layout stores weight `4 B + i` of a 4-byte group at
//! bits `8 B + 2 i`; `G16` is that 4 x 4 code matrix transposed, which is
//! [`tritium_golden::ternary::transpose_code_quad`].

use tritium_golden::TernaryMatrix;

/// Weights per packed u32 word.
pub const CODES_PER_WORD: usize = 16;
/// Words per row are a multiple of this (the GEMM kernel's K chunk: 64 weights).
pub const WORDS_ALIGN: usize = 4;
/// Code of a zero weight, in all 16 slots: what padding holds.
const ZERO_WORD: u32 = 0x5555_5555;

/// Largest K the kernels accept: `|acc| <= 128 K < 2^31` (golden's bound).
/// The kernels may wrap in between (codes `c` up to 2 make `sum c a` up to
/// `256 K`), but WGSL / CUDA integer adds are modulo 2^32 and the final
/// `sum c a - sum a` fits in i32, so it comes out exact.
pub const MAX_K: usize = (1 << 24) - 1;

/// Words per packed row for `k` weights.
pub fn words_per_row(k: usize) -> usize {
    k.div_ceil(CODES_PER_WORD * WORDS_ALIGN) * WORDS_ALIGN
}

/// A matrix in the `G16` layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct G16 {
    pub n: usize,
    pub k: usize,
    /// Words per row.
    pub kw: usize,
    /// `n * kw` words, row-major.
    pub words: Vec<u32>,
}

impl G16 {
    /// Repacks golden's canonical bytes (4 codes per byte) into `G16`.
    pub fn from_matrix(m: &TernaryMatrix) -> G16 {
        let (n, k) = (m.n(), m.k());
        let kw = words_per_row(k);
        let mut words = vec![ZERO_WORD; n * kw];
        for r in 0..n {
            let src = m.packed_row(r);
            let dst = &mut words[r * kw..(r + 1) * kw];
            for (w, d) in dst.iter_mut().enumerate() {
                // Four canonical bytes: weights 16 w .. 16 w + 15, padding
                // (past k, or past the row) as zero-weight codes.
                let mut quad = 0u32;
                for b in 0..4 {
                    let byte = src.get(4 * w + b).copied().unwrap_or(0x55);
                    let first = 16 * w + 4 * b;
                    let valid = k.saturating_sub(first).min(4);
                    let keep = if valid == 4 {
                        0xFF
                    } else {
                        (1u32 << (2 * valid)) - 1
                    };
                    let byte = (u32::from(byte) & keep) | (0x55 & !keep);
                    quad |= byte << (8 * b);
                }
                *d = tritium_golden::ternary::transpose_code_quad(quad);
            }
        }
        G16 { n, k, kw, words }
    }

    /// Bytes of the packed weights.
    pub fn bytes(&self) -> usize {
        self.words.len() * 4
    }

    /// Weight `(r, c)` as the shader unpacks it (for tests).
    pub fn get(&self, r: usize, c: usize) -> i8 {
        let word = self.words[r * self.kw + c / CODES_PER_WORD];
        let (j, b) = ((c % 16) / 4, c % 4);
        let codes = (word >> (2 * j)) & 0x0303_0303;
        ((codes >> (8 * b)) & 0xFF) as i8 - 1
    }
}

/// Activation rows padded to `kw * 4` bytes each (zeros past `k`), as
/// little-endian u32 words, followed by each row's activation sum (i32 bits):
/// what the shaders' activation binding holds.
pub fn pack_acts(acts: &[i8], rows: usize, k: usize, kw: usize, out: &mut Vec<u32>) {
    out.clear();
    out.resize(rows * kw * 4 + rows, 0);
    for r in 0..rows {
        let row = &acts[r * k..(r + 1) * k];
        let dst = &mut out[r * kw * 4..(r + 1) * kw * 4];
        for (d, quad) in dst.iter_mut().zip(row.chunks(4)) {
            let mut b = [0u8; 4];
            for (x, &a) in b.iter_mut().zip(quad) {
                *x = a as u8;
            }
            *d = u32::from_le_bytes(b);
        }
        let sum: i32 = row.iter().map(|&a| i32::from(a)).sum();
        out[rows * kw * 4 + r] = sum as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weights of a pseudo-random matrix, seeded.
    fn ternary(n: usize, k: usize, seed: u64) -> Vec<i8> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n * k)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 3) as i8 - 1
            })
            .collect()
    }

    #[test]
    fn unpack_by_shift_and_mask_gives_every_weight_back() {
        for (n, k) in [
            (1, 1),
            (3, 15),
            (2, 16),
            (5, 17),
            (4, 63),
            (2, 64),
            (3, 65),
            (2, 300),
        ] {
            let t = ternary(n, k, (n * 1000 + k) as u64);
            let m = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
            let g = G16::from_matrix(&m);
            assert_eq!(g.kw, words_per_row(k));
            assert_eq!(g.kw % WORDS_ALIGN, 0);
            for r in 0..n {
                for c in 0..k {
                    assert_eq!(g.get(r, c), t[r * k + c], "{n}x{k} at ({r}, {c})");
                }
                // Padding is zero weights.
                for c in k..g.kw * 16 {
                    assert_eq!(g.get(r, c), 0, "{n}x{k} padding at ({r}, {c})");
                }
            }
        }
    }

    #[test]
    fn layout_of_one_word_is_the_documented_one() {
        // Weight 16w + 4j + b at bits 8b + 2j: only weight 6 (j = 1, b = 2)
        // is +1 (code 2), the rest zero (code 1).
        let mut t = vec![0i8; 16];
        t[6] = 1;
        let g = G16::from_matrix(&TernaryMatrix::from_ternary("w", 1, 16, &t, 1.0).unwrap());
        assert_eq!(g.words[0], ZERO_WORD ^ (3 << (8 * 2 + 2)));
    }

    #[test]
    fn acts_are_padded_words_then_sums() {
        let acts: Vec<i8> = vec![
            1, -2, 3, -128, 127, 5, /* row 2 */ -1, -1, -1, -1, -1, -1,
        ];
        let mut out = Vec::new();
        pack_acts(&acts, 2, 6, 4, &mut out);
        assert_eq!(out.len(), 2 * 16 + 2);
        assert_eq!(out[0], u32::from_le_bytes([1, 0xFE, 3, 0x80]));
        assert_eq!(out[1], u32::from_le_bytes([127, 5, 0, 0]));
        assert!(out[2..16].iter().all(|&w| w == 0));
        assert_eq!(out[16], u32::MAX);
        assert_eq!(out[17], 0xFFFF);
        assert_eq!(out[32] as i32, 1 - 2 + 3 - 128 + 127 + 5);
        assert_eq!(out[33] as i32, -6);
    }
}
