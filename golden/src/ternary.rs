//! Ternary weight matrices and their packed layouts.
//!
//! # Canonical layout (golden)
//! A `TernaryMatrix` of `n` output rows and `k` inputs stores 2-bit codes
//! row-major, four per byte along `k`: weight `(r, c)` lives in byte
//! `r * row_bytes + c / 4` at bits `2 * (c % 4) + 1 : 2 * (c % 4)`, with
//! code `t + 1` (0, 1, 2 = -1, 0, +1). Padding codes at the end of a row are 1
//! (weight 0). Code 3 is invalid and can never be stored: every constructor
//! checks its input.
//!
//! # Hugging Face packed layout (microsoft/bitnet-b1.58-2B-4T)
//! `uint8 [n / 4, k]`, packed along the OUTPUT dimension in four row blocks:
//! byte `P[p, c]` bits `2i + 1 : 2i` hold weight `(i * n / 4 + p, c)` as code
//! `t + 1`. `n` must be a multiple of 4.

use crate::error::{shape_err, Error, Result};

/// Largest weight scale accepted: a trained model's are around 0.01-1, and a
/// larger one would overflow f32 a few layers later, as a non-finite
/// activation that names neither the file nor the scale.
pub const MAX_GAMMA: f32 = 1e6;

/// Checks that a weight scale is usable: finite, positive, at most
/// [`MAX_GAMMA`].
pub fn check_gamma(what: &str, gamma: f32) -> Result<()> {
    if gamma.is_finite() && gamma > 0.0 && gamma <= MAX_GAMMA {
        Ok(())
    } else {
        Err(Error::BadScale {
            what: what.to_string(),
            value: gamma,
        })
    }
}

/// A ternary weight matrix (`n` x `k`, codes in {-1, 0, +1}) with its
/// per-tensor scale `gamma`: the real weight is `gamma * t`.
#[derive(Clone)]
pub struct TernaryMatrix {
    n: usize,
    k: usize,
    row_bytes: usize,
    packed: Vec<u8>,
    gamma: f32,
    nonzeros: u64,
    /// Identity of the contents (see [`TernaryMatrix::uid`]).
    uid: u64,
}

/// Equality of contents (shape, codes, scale); the uid is not compared.
impl PartialEq for TernaryMatrix {
    fn eq(&self, o: &Self) -> bool {
        (self.n, self.k, self.gamma.to_bits(), &self.packed)
            == (o.n, o.k, o.gamma.to_bits(), &o.packed)
    }
}

impl std::fmt::Debug for TernaryMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TernaryMatrix")
            .field("n", &self.n)
            .field("k", &self.k)
            .field("gamma", &self.gamma)
            .field("nonzeros", &self.nonzeros)
            .finish_non_exhaustive()
    }
}

/// Decodes a 2-bit code to its ternary value, or `None` for the invalid code 3.
#[inline]
pub fn decode_code(code: u8) -> Option<i8> {
    match code {
        0 => Some(-1),
        1 => Some(0),
        2 => Some(1),
        _ => None,
    }
}

/// Encodes a ternary value (-1, 0, +1) as its 2-bit code `t + 1`.
#[inline]
pub fn encode_code(t: i8) -> u8 {
    debug_assert!((-1..=1).contains(&t));
    (t + 1) as u8
}

/// Whether any of `c` is outside {-1, 0, +1}, and how many are nonzero if
/// none is. Byte-wide sums over runs of 255 values (a run's count fits a
/// u8), so the loop vectorizes on bytes: counting into a u32 per value
/// widened every byte to 32 bits and made this check the slowest step of
/// loading a checkpoint after the packing (2026-12-05).
#[inline]
fn check_count(c: &[i8]) -> (bool, u32) {
    let (mut bad, mut nz) = (0u8, 0u32);
    for run in c.chunks(255) {
        // `v + 1` (wrapping) is 0..=2 exactly for -1..=+1, so `v + 1 - 2`
        // saturates to 0 exactly for them; the low bit of a valid value is
        // set exactly when it is nonzero.
        let (b, n) = run.iter().fold((0u8, 0u8), |(b, n), &v| {
            let u = v as u8;
            (
                b | u.wrapping_add(1).saturating_sub(2),
                n.wrapping_add(u & 1),
            )
        });
        bad |= b;
        nz += u32::from(n);
    }
    (bad != 0, nz)
}

/// The byte of four checked ternary values (as the bytes of `v`, first in
/// the low byte): `encode_code` of each, value `i` at bits `2i`. Without a
/// carry between bytes: `t + 1` is taken on the low two bits of each byte
/// (-1, 0, +1 are 3, 0, 1 there); branch-free, so a row vectorizes.
#[inline]
fn pack_quad(v: u32) -> u8 {
    let c = ((v & 0x0303_0303) + 0x0101_0101) & 0x0303_0303;
    let c = c | (c >> 6);
    ((c & 0x0f) | ((c >> 12) & 0xf0)) as u8
}

/// Transposes a 4 x 4 matrix of 2-bit codes held in a u32 (code `(j, m)`
/// at bits `8j + 2m`, moved to bits `8m + 2j`) with two delta swaps: the
/// off-diagonal 2 x 2 blocks (12 bits apart), then the off-diagonal codes
/// inside each block (6 bits apart). Packers use it to regroup four bytes of
/// four codes each (HF rows <-> canonical rows, canonical -> SIMD chunks).
#[inline]
pub fn transpose_code_quad(x: u32) -> u32 {
    #[inline]
    fn delta_swap(x: u32, mask: u32, delta: u32) -> u32 {
        let t = ((x >> delta) ^ x) & mask;
        x ^ t ^ (t << delta)
    }
    delta_swap(delta_swap(x, 0x0000_F0F0, 12), 0x00CC_00CC, 6)
}

impl TernaryMatrix {
    /// The one place a matrix is built from checked parts: every
    /// constructor goes through it, so every new matrix gets a new uid.
    fn assemble(n: usize, k: usize, packed: Vec<u8>, gamma: f32, nonzeros: u64) -> Self {
        TernaryMatrix {
            n,
            k,
            row_bytes: k.div_ceil(4),
            packed,
            gamma,
            nonzeros,
            uid: crate::uid::next_uid(),
        }
    }

    fn check_dims(what: &str, n: usize, k: usize) -> Result<()> {
        if n == 0 || k == 0 {
            return Err(shape_err(what, "non-empty matrix", format!("{n} x {k}")));
        }
        Ok(())
    }

    /// A matrix of uniformly random ternary weights from `seed`, scale 1
    /// (for tests).
    #[cfg(test)]
    pub(crate) fn random(n: usize, k: usize, seed: u64) -> TernaryMatrix {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let t: Vec<i8> = (0..n * k).map(|_| rng.below(3) as i8 - 1).collect();
        TernaryMatrix::from_ternary("w", n, k, &t, 1.0).expect("ternary by construction")
    }

    /// Builds a matrix from row-major ternary values; anything outside
    /// {-1, 0, +1} is an error naming the index.
    pub fn from_ternary(what: &str, n: usize, k: usize, t: &[i8], gamma: f32) -> Result<Self> {
        Self::check_dims(what, n, k)?;
        if t.len() != n * k {
            return Err(shape_err(
                what,
                format!("{n} x {k} = {} values", n * k),
                t.len(),
            ));
        }
        check_gamma(what, gamma)?;
        // Checked and counted in one pass, a chunk at a time: the fold has no
        // early exit, so it vectorizes, and only a chunk with a bad value is
        // searched for its position.
        const CHUNK: usize = 1 << 16;
        let mut nonzeros = 0u64;
        for (ci, c) in t.chunks(CHUNK).enumerate() {
            let (bad, nz) = check_count(c);
            if bad {
                let i = c.iter().position(|v| !(-1..=1).contains(v)).unwrap_or(0);
                return Err(Error::NotTernary {
                    what: what.to_string(),
                    index: ci * CHUNK + i,
                    value: c[i] as i32,
                });
            }
            nonzeros += u64::from(nz);
        }
        let row_bytes = k.div_ceil(4);
        let mut packed = vec![0u8; n * row_bytes];
        // Each byte written once from its four codes, a row's short last
        // byte padded with code 1 (weight 0): a read-modify-write per value
        // made this the slowest step of loading a checkpoint.
        for (row, src) in packed.chunks_exact_mut(row_bytes).zip(t.chunks_exact(k)) {
            let mut quads = src.chunks_exact(4);
            for (b, q) in row.iter_mut().zip(&mut quads) {
                *b = pack_quad(u32::from_le_bytes([
                    q[0] as u8, q[1] as u8, q[2] as u8, q[3] as u8,
                ]));
            }
            if let Some(b) = row.get_mut(k / 4) {
                let q = quads.remainder();
                *b = (0..4).fold(0u8, |b, i| {
                    b | encode_code(q.get(i).copied().unwrap_or(0)) << (2 * i)
                });
            }
        }
        Ok(Self::assemble(n, k, packed, gamma, nonzeros))
    }

    /// Takes bytes already in the canonical layout (`n` rows of `ceil(k / 4)`
    /// bytes, see the module docs). Code 3 anywhere, including the padding of
    /// a row's last byte, is an error naming its row and column.
    pub fn from_packed(
        what: &str,
        n: usize,
        k: usize,
        packed: Vec<u8>,
        gamma: f32,
    ) -> Result<Self> {
        Self::check_dims(what, n, k)?;
        check_gamma(what, gamma)?;
        let row_bytes = k.div_ceil(4);
        if packed.len() != n * row_bytes {
            return Err(shape_err(
                what,
                format!("{n} rows x {row_bytes} bytes"),
                packed.len(),
            ));
        }
        let mut nonzeros = 0u64;
        for (i, &byte) in packed.iter().enumerate() {
            for j in 0..4 {
                let code = (byte >> (2 * j)) & 3;
                let col = (i % row_bytes) * 4 + j;
                if code == 3 {
                    return Err(Error::InvalidCode {
                        what: what.to_string(),
                        row: i / row_bytes,
                        col,
                        code,
                    });
                }
                if col >= k && code != 1 {
                    return Err(Error::InvalidCode {
                        what: format!("{what} (row padding must be code 1)"),
                        row: i / row_bytes,
                        col,
                        code,
                    });
                }
                nonzeros += (code != 1) as u64;
            }
        }
        Ok(Self::assemble(n, k, packed, gamma, nonzeros))
    }

    /// Reads the Hugging Face packed layout (`uint8 [n / 4, k]`, see the
    /// module docs). Code 3 is an error naming the row and column it decodes to.
    pub fn from_hf_packed(
        what: &str,
        n: usize,
        k: usize,
        bytes: &[u8],
        gamma: f32,
    ) -> Result<Self> {
        Self::check_dims(what, n, k)?;
        if !n.is_multiple_of(4) {
            return Err(shape_err(
                what,
                "output rows a multiple of 4 (HF packing)",
                n,
            ));
        }
        let q = n / 4;
        if bytes.len() != q * k {
            return Err(shape_err(
                what,
                format!("[{q}, {k}] = {} bytes", q * k),
                bytes.len(),
            ));
        }
        check_gamma(what, gamma)?;
        // Straight into the canonical layout. Four HF bytes (columns
        // 4cb..4cb+4 of HF row p) hold, at bit pair i, the codes of row
        // i * q + p: transposing the 4 x 4 fields gives that row's canonical
        // byte cb as byte i.
        let row_bytes = k.div_ceil(4);
        let mut packed = vec![0x55u8; n * row_bytes];
        let mut nonzeros = 0u64;
        for p in 0..q {
            let src = &bytes[p * k..(p + 1) * k];
            for (cb, cols) in src.chunks(4).enumerate() {
                // Missing columns of the last group: 0x55 = code 1 in all rows.
                let mut v = [0x55u8; 4];
                v[..cols.len()].copy_from_slice(cols);
                let x = u32::from_le_bytes(v);
                // A field is 3 iff both its bits are set.
                let bad = x & (x >> 1) & 0x5555_5555;
                if bad != 0 {
                    let bit = bad.trailing_zeros() as usize;
                    return Err(Error::InvalidCode {
                        what: what.to_string(),
                        row: (bit % 8) / 2 * q + p,
                        col: cb * 4 + bit / 8,
                        code: 3,
                    });
                }
                // Code 1 (weight 0) is 01: fields differing from 01 are non-zero.
                let z = x ^ 0x5555_5555;
                nonzeros += u64::from(((z | (z >> 1)) & 0x5555_5555).count_ones());
                for (i, &b) in transpose_code_quad(x).to_le_bytes().iter().enumerate() {
                    packed[(i * q + p) * row_bytes + cb] = b;
                }
            }
        }
        Ok(Self::assemble(n, k, packed, gamma, nonzeros))
    }

    /// Writes the Hugging Face packed layout (`uint8 [n / 4, k]`).
    pub fn to_hf_packed(&self) -> Result<Vec<u8>> {
        if !self.n.is_multiple_of(4) {
            return Err(shape_err(
                "HF packing",
                "output rows a multiple of 4",
                self.n,
            ));
        }
        // The inverse of `from_hf_packed`'s transpose, which is its own
        // inverse: canonical byte cb of rows i * q + p (i = 0..4) becomes
        // HF bytes 4cb..4cb+4 of HF row p.
        let (q, k) = (self.n / 4, self.k);
        let mut out = vec![0u8; q * k];
        for (p, dst) in out.chunks_exact_mut(k.max(1)).enumerate().take(q) {
            let rows = [0, 1, 2, 3].map(|i| self.packed_row(i * q + p));
            for (cb, cols) in dst.chunks_mut(4).enumerate() {
                let x = u32::from_le_bytes(rows.map(|r| r[cb]));
                cols.copy_from_slice(&transpose_code_quad(x).to_le_bytes()[..cols.len()]);
            }
        }
        Ok(out)
    }

    /// A process-unique id of these contents: every constructor gives a new
    /// one, clones share it (same contents). Backends that keep a converted
    /// copy of the weights key it by this, never by address (a freed
    /// matrix's address is reused by the next allocation).
    pub fn uid(&self) -> u64 {
        self.uid
    }

    /// Output rows (N).
    pub fn n(&self) -> usize {
        self.n
    }
    /// Inputs per row (K).
    pub fn k(&self) -> usize {
        self.k
    }
    /// Per-tensor scale.
    pub fn gamma(&self) -> f32 {
        self.gamma
    }
    /// Number of non-zero weights.
    pub fn nonzeros(&self) -> u64 {
        self.nonzeros
    }
    /// Bytes per packed row in the canonical layout (`ceil(k / 4)`).
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }
    /// The canonical packed bytes (row-major, `n * row_bytes`).
    pub fn packed(&self) -> &[u8] {
        &self.packed
    }
    /// One packed row in the canonical layout.
    pub fn packed_row(&self, r: usize) -> &[u8] {
        &self.packed[r * self.row_bytes..(r + 1) * self.row_bytes]
    }

    /// Weight `(r, c)` in {-1, 0, +1}. Panics if out of range (internal use).
    #[inline]
    pub fn get(&self, r: usize, c: usize) -> i8 {
        let byte = self.packed[r * self.row_bytes + c / 4];
        ((byte >> (2 * (c % 4))) & 3) as i8 - 1
    }

    /// Decodes row `r` into `out` (`k` values in {-1, 0, +1}).
    pub fn row_into(&self, r: usize, out: &mut [i8]) {
        let row = self.packed_row(r);
        for (c, o) in out[..self.k].iter_mut().enumerate() {
            *o = ((row[c / 4] >> (2 * (c % 4))) & 3) as i8 - 1;
        }
    }

    /// All weights, row-major.
    pub fn to_ternary(&self) -> Vec<i8> {
        let mut t = vec![0i8; self.n * self.k];
        for r in 0..self.n {
            self.row_into(r, &mut t[r * self.k..(r + 1) * self.k]);
        }
        t
    }

    /// A copy with one weight replaced (used to plant faults in checkers).
    pub fn with_weight(&self, r: usize, c: usize, t: i8) -> Result<Self> {
        let mut all = self.to_ternary();
        if r >= self.n || c >= self.k {
            return Err(shape_err(
                "with_weight",
                format!("index < {} x {}", self.n, self.k),
                format!("({r}, {c})"),
            ));
        }
        all[r * self.k + c] = t;
        Self::from_ternary("with_weight", self.n, self.k, &all, self.gamma)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn transpose_code_quad_moves_every_code() {
        for j in 0..4 {
            for m in 0..4 {
                for v in 1..4u32 {
                    let x = v << (8 * j + 2 * m);
                    assert_eq!(
                        super::transpose_code_quad(x),
                        v << (8 * m + 2 * j),
                        "({j}, {m})"
                    );
                }
            }
        }
    }

    use super::*;
    use proptest::prelude::*;

    /// Every byte value, alone and in runs longer than 255: flagged exactly
    /// when outside {-1, 0, +1}; nonzeros counted.
    #[test]
    fn check_count_flags_every_bad_byte() {
        for v in i8::MIN..=i8::MAX {
            assert_eq!(check_count(&[v]).0, !(-1..=1).contains(&v), "{v}");
            let mut run = vec![1i8; 600];
            run[599] = v;
            let (bad, nz) = check_count(&run);
            assert_eq!(bad, !(-1..=1).contains(&v), "{v}");
            if !bad {
                assert_eq!(nz, 599 + u32::from(v != 0));
            }
        }
    }

    /// All 81 quads: the branch-free byte equals the per-value encoding.
    #[test]
    fn pack_quad_is_encode_code_of_each_value() {
        for i in 0..81u32 {
            let t: [i8; 4] = std::array::from_fn(|j| (i / 3u32.pow(j as u32) % 3) as i8 - 1);
            let want = (0..4).fold(0u8, |b, j| b | encode_code(t[j]) << (2 * j));
            let v = u32::from_le_bytes(t.map(|x| x as u8));
            assert_eq!(pack_quad(v), want, "{t:?}");
        }
    }

    #[test]
    fn hf_layout_hand_worked() {
        // n = 4, k = 2: one packed row; byte c holds rows 0..4 of column c.
        // column 0: rows -1, 0, +1, +1 -> codes 0,1,2,2 -> 0b10_10_01_00 = 0xA4
        // column 1: rows +1, -1, 0, -1 -> codes 2,0,1,0 -> 0b00_01_00_10 = 0x12
        let t = TernaryMatrix::from_hf_packed("w", 4, 2, &[0xA4, 0x12], 1.0).unwrap();
        assert_eq!(t.to_ternary(), vec![-1, 1, 0, -1, 1, 0, 1, -1]);
        assert_eq!(t.to_hf_packed().unwrap(), vec![0xA4, 0x12]);
        assert_eq!(t.nonzeros(), 6);
    }

    #[test]
    fn invalid_code_is_located() {
        // bits 5:4 of byte (p = 1, c = 2) -> row 2 * 2 + 1 = 5, column 2.
        let mut bytes = vec![0x55u8; 2 * 3];
        bytes[3 + 2] = 0x55 | (3 << 4);
        let e = TernaryMatrix::from_hf_packed("layers.0.q", 8, 3, &bytes, 1.0).unwrap_err();
        assert!(
            matches!(
                &e,
                Error::InvalidCode { what, row: 5, col: 2, code: 3 } if what == "layers.0.q"
            ),
            "{e:?}"
        );
    }

    #[test]
    fn canonical_packed_rejects_code_three_and_dirty_padding() {
        // k = 5: two bytes per row; row 1 byte 0 bits 5:4 = column 2.
        let mut p = vec![0x55u8; 4];
        p[2] = 0x55 | (3 << 4);
        let e = TernaryMatrix::from_packed("w", 2, 5, p, 1.0).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidCode {
                    row: 1,
                    col: 2,
                    code: 3,
                    ..
                }
            ),
            "{e}"
        );
        // Column 6 of row 0 is padding and must hold code 1 (weight 0).
        let mut p = vec![0x55u8; 4];
        p[1] = 0x55 & !(3 << 4);
        let e = TernaryMatrix::from_packed("w", 2, 5, p, 1.0).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidCode {
                    row: 0,
                    col: 6,
                    code: 0,
                    ..
                }
            ),
            "{e}"
        );
        assert!(TernaryMatrix::from_packed("w", 2, 5, vec![0x55; 3], 1.0).is_err());
    }

    #[test]
    fn bad_shapes_and_values_are_errors() {
        assert!(TernaryMatrix::from_hf_packed("w", 6, 2, &[0; 3], 1.0).is_err());
        assert!(TernaryMatrix::from_hf_packed("w", 4, 2, &[0x55; 3], 1.0).is_err());
        assert!(TernaryMatrix::from_ternary("w", 1, 2, &[0, 2], 1.0).is_err());
        assert!(TernaryMatrix::from_ternary("w", 0, 2, &[], 1.0).is_err());
        assert!(TernaryMatrix::from_ternary("w", 1, 1, &[0], f32::NAN).is_err());
        assert!(TernaryMatrix::from_ternary("w", 1, 1, &[0], -1.0).is_err());
        // The first bad value is named, past the first chunk of the check.
        let mut t = vec![1i8; 2 * 40_000];
        t[70_001] = 2;
        t[79_000] = -3;
        match TernaryMatrix::from_ternary("w", 2, 40_000, &t, 1.0) {
            Err(Error::NotTernary { index, value, .. }) => assert_eq!((index, value), (70_001, 2)),
            other => panic!("{other:?}"),
        }
    }

    fn ternary_matrix() -> impl Strategy<Value = (usize, usize, Vec<i8>)> {
        (1usize..12, 1usize..40).prop_flat_map(|(n4, k)| {
            let n = n4 * 4;
            (Just(n), Just(k), proptest::collection::vec(-1i8..=1, n * k))
        })
    }

    proptest! {
        #[test]
        fn canonical_round_trip((n, k, t) in ternary_matrix()) {
            let m = TernaryMatrix::from_ternary("w", n, k, &t, 0.7).unwrap();
            prop_assert_eq!(m.to_ternary(), t.clone());
            prop_assert_eq!(m.nonzeros(), t.iter().filter(|v| **v != 0).count() as u64);
            // A short last byte is padded with code 1 (weight 0).
            let (rb, tail) = (k.div_ceil(4), k % 4);
            if tail != 0 {
                for r in 0..n {
                    prop_assert_eq!(m.packed()[r * rb + rb - 1] >> (2 * tail), 0x55 >> (2 * tail));
                }
            }
            for r in 0..n { for c in 0..k { prop_assert_eq!(m.get(r, c), t[r * k + c]); } }
        }

        #[test]
        fn canonical_packed_round_trip((n, k, t) in ternary_matrix()) {
            let m = TernaryMatrix::from_ternary("w", n, k, &t, 0.7).unwrap();
            let back = TernaryMatrix::from_packed("w", n, k, m.packed().to_vec(), 0.7).unwrap();
            prop_assert_eq!(back, m);
        }

        #[test]
        fn hf_packed_round_trip((n, k, t) in ternary_matrix()) {
            let m = TernaryMatrix::from_ternary("w", n, k, &t, 0.7).unwrap();
            let bytes = m.to_hf_packed().unwrap();
            prop_assert_eq!(bytes.len(), n / 4 * k);
            prop_assert!(bytes.iter().all(|b| (0..4).all(|i| (b >> (2 * i)) & 3 != 3)));
            // Byte (p, c) holds rows i * q + p of column c at bit pair i.
            let q = n / 4;
            for p in 0..q {
                for c in 0..k {
                    let want = (0..4).fold(0u8, |b, i| b | encode_code(t[(i * q + p) * k + c]) << (2 * i));
                    prop_assert_eq!(bytes[p * k + c], want, "({}, {})", p, c);
                }
            }
            let back = TernaryMatrix::from_hf_packed("w", n, k, &bytes, 0.7).unwrap();
            prop_assert_eq!(back, m);
        }
    }
}
