//! [`DenseMatrix`]: the embedding and untied lm_head in their stored type,
//! and [`BlockType`]: ggml's block-quantized types kept as stored (Q8_0,
//! Q6_K), with the reference dequantization that defines their values.

use crate::ops::{bf16_to_f32, dot, f16_to_f32, reduce_lanes, DOT_LANES};

const Q8_0_ELEMS: usize = 32;
const Q6K_ELEMS: usize = 256;

/// A ggml block-quantized type of a dense matrix, kept as stored.
///
/// Its values are ggml's reference dequantization (`dequantize_row_q8_0`,
/// `dequantize_row_q6_K`), in f32 and in its order of operations:
/// - **Q8_0**: 32 elements in 34 bytes: an fp16 `d`, then 32 int8 `q`;
///   `w = q * d`, one f32 product of an 8-bit integer and an 11-bit
///   significand, so exact.
/// - **Q6_K**: 256 elements in 210 bytes: `ql[128]` (low 4 bits), `qh[64]`
///   (high 2 bits), 16 int8 sub-block `scales`, an fp16 `d`;
///   `w = (d * scale) * (q - 32)`. Both products are exact in f32: `d`
///   has at most 11 significant bits, the scale 7 and `q - 32` 5, so `w`
///   needs at most 23 of f32's 24; `w` is the exact real product and any
///   order of the three factors gives its bits (a test checks every finite
///   `d` and scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockType {
    Q8_0,
    Q6K,
}

impl BlockType {
    /// Elements per block.
    pub const fn elems(self) -> usize {
        match self {
            BlockType::Q8_0 => Q8_0_ELEMS,
            BlockType::Q6K => Q6K_ELEMS,
        }
    }

    /// Bytes per block.
    pub const fn bytes(self) -> usize {
        match self {
            BlockType::Q8_0 => 2 + Q8_0_ELEMS,
            BlockType::Q6K => Q6K_ELEMS / 2 + Q6K_ELEMS / 4 + Q6K_ELEMS / 16 + 2,
        }
    }

    /// ggml's name of the type.
    pub const fn name(self) -> &'static str {
        match self {
            BlockType::Q8_0 => "Q8_0",
            BlockType::Q6K => "Q6_K",
        }
    }

    /// Where a block's fp16 `d` starts (Q8_0: first, Q6_K: last).
    pub const fn d_offset(self) -> usize {
        match self {
            BlockType::Q8_0 => 0,
            BlockType::Q6K => self.bytes() - 2,
        }
    }

    /// The fp16 `d` of a block (the one value that can be non-finite).
    pub fn d_bits(self, blk: &[u8]) -> u16 {
        let at = self.d_offset();
        u16::from_le_bytes([blk[at], blk[at + 1]])
    }

    /// Decodes one block (`self.bytes()` bytes) into `out`
    /// (`self.elems()` values): the definition of the block's values.
    pub fn decode(self, blk: &[u8], out: &mut [f32]) {
        assert_eq!((blk.len(), out.len()), (self.bytes(), self.elems()));
        let d = f16_to_f32(self.d_bits(blk));
        match self {
            BlockType::Q8_0 => {
                for (o, &q) in out.iter_mut().zip(&blk[2..]) {
                    *o = f32::from(q as i8) * d;
                }
            }
            BlockType::Q6K => {
                let (ql, rest) = blk.split_at(128);
                let (qh, sc) = rest.split_at(64);
                for half in 0..2 {
                    let (ql, qh, sc) = (&ql[64 * half..], &qh[32 * half..], &sc[8 * half..]);
                    let y = &mut out[128 * half..];
                    for l in 0..32 {
                        let is = l / 16;
                        let q = [
                            (ql[l] & 0xf) | ((qh[l] & 3) << 4),
                            (ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4),
                            (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4),
                            (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4),
                        ];
                        for (k, &q) in q.iter().enumerate() {
                            let s = d * f32::from(sc[is + 2 * k] as i8);
                            y[l + 32 * k] = s * f32::from(i16::from(q) - 32);
                        }
                    }
                }
            }
        }
    }
}

/// A dense matrix (embedding, untied lm_head), kept in the checkpoint's
/// stored type (bf16, f16, f32, or ggml's Q8_0 / Q6_K blocks) and widened
/// to f32 on use: bf16 and f16 widen exactly, and a block widens by its
/// format's reference dequantization ([`BlockType::decode`]), so every
/// stored type has the values, dot products and logits of its widened f32
/// copy while a full read costs only its stored bytes.
#[derive(Clone)]
pub struct DenseMatrix {
    rows: usize,
    cols: usize,
    data: DenseData,
    /// Identity of the contents (see [`DenseMatrix::uid`]).
    uid: u64,
}

/// Equality of contents (shape and values); the uid is not compared.
impl PartialEq for DenseMatrix {
    fn eq(&self, o: &Self) -> bool {
        (self.rows, self.cols, &self.data) == (o.rows, o.cols, &o.data)
    }
}

#[derive(Clone, PartialEq)]
enum DenseData {
    Bf16(Vec<u16>),
    F16(Vec<u16>),
    F32(Vec<f32>),
    /// Whole blocks, row-major: row `r` is blocks `r * cols / elems ..`.
    Blocks(BlockType, Vec<u8>),
}

impl std::fmt::Debug for DenseMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.data {
            DenseData::Bf16(_) => "bf16",
            DenseData::F16(_) => "f16",
            DenseData::F32(_) => "f32",
            DenseData::Blocks(t, _) => t.name(),
        };
        write!(f, "DenseMatrix({} x {}, {kind})", self.rows, self.cols)
    }
}

impl DenseMatrix {
    /// A bf16 matrix, row-major. Checks the length and that every value is finite.
    pub fn from_bf16(what: &str, rows: usize, cols: usize, data: Vec<u16>) -> crate::Result<Self> {
        if data.len() != rows * cols || rows == 0 || cols == 0 {
            return Err(crate::error::shape_err(
                what,
                format!("{rows} x {cols}"),
                data.len(),
            ));
        }
        if let Some(index) = first_all_ones(&data, 0x7f80) {
            return Err(crate::Error::NonFinite {
                what: what.to_string(),
                index,
                value: bf16_to_f32(data[index]),
            });
        }
        Ok(DenseMatrix {
            rows,
            cols,
            data: DenseData::Bf16(data),
            uid: crate::uid::next_uid(),
        })
    }

    /// An f16 (IEEE binary16) matrix, row-major. Checks the length and that
    /// every value is finite.
    pub fn from_f16(what: &str, rows: usize, cols: usize, data: Vec<u16>) -> crate::Result<Self> {
        if data.len() != rows * cols || rows == 0 || cols == 0 {
            return Err(crate::error::shape_err(
                what,
                format!("{rows} x {cols}"),
                data.len(),
            ));
        }
        if let Some(index) = first_all_ones(&data, 0x7c00) {
            return Err(crate::Error::NonFinite {
                what: what.to_string(),
                index,
                value: f16_to_f32(data[index]),
            });
        }
        Ok(DenseMatrix {
            rows,
            cols,
            data: DenseData::F16(data),
            uid: crate::uid::next_uid(),
        })
    }

    /// An f32 matrix, row-major. Checks the length and that every value is finite.
    pub fn from_f32(what: &str, rows: usize, cols: usize, data: Vec<f32>) -> crate::Result<Self> {
        if data.len() != rows * cols || rows == 0 || cols == 0 {
            return Err(crate::error::shape_err(
                what,
                format!("{rows} x {cols}"),
                data.len(),
            ));
        }
        crate::error::check_finite(what, &data)?;
        Ok(DenseMatrix {
            rows,
            cols,
            data: DenseData::F32(data),
            uid: crate::uid::next_uid(),
        })
    }

    /// A matrix of ggml blocks, row-major (each row whole blocks, as ggml
    /// stores a 2-D tensor). Checks the shape, the length, and that every
    /// block's `d` is finite (then every value is: `|w| <= 65504 * 128 * 32`).
    pub fn from_blocks(
        what: &str,
        t: BlockType,
        rows: usize,
        cols: usize,
        data: Vec<u8>,
    ) -> crate::Result<Self> {
        let want = (cols / t.elems())
            .checked_mul(t.bytes())
            .and_then(|b| b.checked_mul(rows));
        if rows == 0 || cols == 0 || !cols.is_multiple_of(t.elems()) || want != Some(data.len()) {
            return Err(crate::error::shape_err(
                what,
                format!(
                    "{rows} x {cols} in whole {} blocks of {} elements ({} bytes each)",
                    t.name(),
                    t.elems(),
                    t.bytes()
                ),
                format!("{} bytes", data.len()),
            ));
        }
        for (b, blk) in data.chunks_exact(t.bytes()).enumerate() {
            let d = t.d_bits(blk);
            if d & 0x7c00 == 0x7c00 {
                return Err(crate::Error::NonFinite {
                    what: format!("{what} (the scale d of {} block {b})", t.name()),
                    index: b * t.elems(),
                    value: f16_to_f32(d),
                });
            }
        }
        Ok(DenseMatrix {
            rows,
            cols,
            data: DenseData::Blocks(t, data),
            uid: crate::uid::next_uid(),
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    /// A process-unique id of these contents: every constructor gives a new
    /// one, clones share it. Backends that keep a converted copy (the SIMD
    /// engine's int8 head) key it by this, never by address.
    pub fn uid(&self) -> u64 {
        self.uid
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// The bf16 bit patterns, if stored as bf16.
    pub fn as_bf16(&self) -> Option<&[u16]> {
        match &self.data {
            DenseData::Bf16(v) => Some(v),
            _ => None,
        }
    }

    /// The f16 bit patterns, if stored as f16.
    pub fn as_f16(&self) -> Option<&[u16]> {
        match &self.data {
            DenseData::F16(v) => Some(v),
            _ => None,
        }
    }

    /// The f32 values, if stored as f32.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            DenseData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The stored blocks and their type, if stored as ggml blocks.
    pub fn as_blocks(&self) -> Option<(BlockType, &[u8])> {
        match &self.data {
            DenseData::Blocks(t, v) => Some((*t, v)),
            _ => None,
        }
    }

    /// Bytes of the stored values (what one full read of the matrix costs).
    pub fn bytes(&self) -> usize {
        match &self.data {
            DenseData::Bf16(v) | DenseData::F16(v) => 2 * v.len(),
            DenseData::F32(v) => 4 * v.len(),
            DenseData::Blocks(_, v) => v.len(),
        }
    }

    /// The stored bytes of row `r`'s blocks.
    fn row_blocks(&self, t: BlockType, r: usize) -> std::ops::Range<usize> {
        let len = self.cols / t.elems() * t.bytes();
        r * len..(r + 1) * len
    }

    /// Writes row `r` widened to f32 into `out`.
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        let range = r * self.cols..(r + 1) * self.cols;
        match &self.data {
            DenseData::Bf16(v) => {
                for (o, &b) in out.iter_mut().zip(&v[range]) {
                    *o = bf16_to_f32(b);
                }
            }
            DenseData::F16(v) => {
                for (o, &h) in out.iter_mut().zip(&v[range]) {
                    *o = f16_to_f32(h);
                }
            }
            DenseData::F32(v) => out[..self.cols].copy_from_slice(&v[range]),
            DenseData::Blocks(t, v) => {
                let blocks = &v[self.row_blocks(*t, r)];
                for (blk, o) in blocks
                    .chunks_exact(t.bytes())
                    .zip(out.chunks_exact_mut(t.elems()))
                {
                    t.decode(blk, o);
                }
            }
        }
    }

    /// `dot(row r, x)` in the pinned order of [`dot`]: a bf16 or f16 row is
    /// widened element by element (exactly), a block row block by block
    /// (every block holds a whole number of 16-lane chunks, so the lanes
    /// line up), then summed as the f32 row would be, so every stored type
    /// gives its widened copy's bits.
    pub fn dot_row(&self, r: usize, x: &[f32]) -> f32 {
        let range = r * self.cols..(r + 1) * self.cols;
        match &self.data {
            DenseData::F32(v) => dot(&v[range], x),
            DenseData::Bf16(v) => widening_dot(&v[range], x, bf16_to_f32),
            DenseData::F16(v) => widening_dot(&v[range], x, f16_to_f32),
            DenseData::Blocks(t, v) => blocks_dot(*t, &v[self.row_blocks(*t, r)], x),
        }
    }
}

/// The index of the first 16-bit pattern with every bit of `mask` set (an
/// all-ones exponent: a bf16 or f16 NaN or infinity). A branch-free pass
/// first, which vectorizes (`position` alone ran a value per cycle over
/// the 2B4T embedding and head, on the load's critical path).
fn first_all_ones(data: &[u16], mask: u16) -> Option<usize> {
    let any = data.chunks(64).fold(0u16, |a, c| {
        a | c.iter().fold(0u16, |b, &h| b | u16::from(h & mask == mask))
    });
    if any == 0 {
        return None;
    }
    data.iter().position(|&h| h & mask == mask)
}

/// [`dot`] of a row stored as 16-bit patterns, each widened by `widen`.
#[inline]
fn widening_dot(row: &[u16], x: &[f32], widen: fn(u16) -> f32) -> f32 {
    debug_assert_eq!(row.len(), x.len());
    let mut acc = [0.0f32; DOT_LANES];
    let mut cr = row.chunks_exact(DOT_LANES);
    let mut cx = x.chunks_exact(DOT_LANES);
    for (w, y) in (&mut cr).zip(&mut cx) {
        for l in 0..DOT_LANES {
            acc[l] += widen(w[l]) * y[l];
        }
    }
    for (l, (w, y)) in cr.remainder().iter().zip(cx.remainder()).enumerate() {
        acc[l] += widen(*w) * y;
    }
    reduce_lanes(acc)
}

/// [`dot`] of a row of whole blocks, each decoded by [`BlockType::decode`]
/// (the golden definition a SIMD block kernel must match bitwise).
pub fn blocks_dot(t: BlockType, row: &[u8], x: &[f32]) -> f32 {
    debug_assert_eq!(row.len() / t.bytes() * t.elems(), x.len());
    let mut acc = [0.0f32; DOT_LANES];
    let mut w = [0.0f32; Q6K_ELEMS];
    let w = &mut w[..t.elems()];
    for (blk, xb) in row.chunks_exact(t.bytes()).zip(x.chunks_exact(t.elems())) {
        t.decode(blk, w);
        for (w16, x16) in w.chunks_exact(DOT_LANES).zip(xb.chunks_exact(DOT_LANES)) {
            for l in 0..DOT_LANES {
                acc[l] += w16[l] * x16[l];
            }
        }
    }
    reduce_lanes(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::f32_to_bf16;

    #[test]
    fn bf16_dot_matches_widened_f32_dot() {
        let vals: Vec<f32> = (0..37).map(|i| (i as f32 - 18.0) * 0.37).collect();
        let bf: Vec<u16> = vals.iter().map(|&v| f32_to_bf16(v)).collect();
        let wide: Vec<f32> = bf.iter().map(|&b| bf16_to_f32(b)).collect();
        let x: Vec<f32> = (0..37).map(|i| 1.0 / (i as f32 + 1.0)).collect();
        let m16 = DenseMatrix::from_bf16("e", 1, 37, bf).unwrap();
        let m32 = DenseMatrix::from_f32("e", 1, 37, wide.clone()).unwrap();
        assert_eq!(m16.dot_row(0, &x).to_bits(), dot(&wide, &x).to_bits());
        assert_eq!(m32.dot_row(0, &x).to_bits(), dot(&wide, &x).to_bits());
    }

    #[test]
    fn f16_dot_matches_widened_f32_dot() {
        // Ragged length (37 = 2 * 16 + 5), subnormals and the largest finite.
        let mut bits: Vec<u16> = (0..37u16).map(|i| 0x3000 + i * 0x0137).collect();
        bits[3] = 0x0001;
        bits[20] = 0x83ff;
        bits[33] = 0xfbff;
        let wide: Vec<f32> = bits.iter().map(|&h| f16_to_f32(h)).collect();
        let x: Vec<f32> = (0..37).map(|i| 1.0 / (i as f32 - 17.5)).collect();
        let m16 = DenseMatrix::from_f16("e", 1, 37, bits).unwrap();
        let m32 = DenseMatrix::from_f32("e", 1, 37, wide.clone()).unwrap();
        assert_eq!(m16.dot_row(0, &x).to_bits(), dot(&wide, &x).to_bits());
        assert_eq!(m16.dot_row(0, &x).to_bits(), m32.dot_row(0, &x).to_bits());
        let mut row = vec![0.0; 37];
        m16.row_into(0, &mut row);
        assert_eq!(row, wide);
        assert_eq!((m16.bytes(), m32.bytes()), (74, 148));
        // Infinity and NaN are rejected like the other stored types.
        for bad in [0x7c00, 0xfc00, 0x7e00] {
            let e = DenseMatrix::from_f16("embed", 1, 2, vec![0x3c00, bad]).unwrap_err();
            assert!(matches!(e, crate::Error::NonFinite { index: 1, .. }));
            // Past the first chunks of the fast pass, among the largest finite values.
            let mut v = vec![0x7bffu16; 200];
            v[150] = bad;
            let e = DenseMatrix::from_f16("embed", 2, 100, v).unwrap_err();
            assert!(matches!(e, crate::Error::NonFinite { index: 150, .. }));
        }
        assert!(DenseMatrix::from_f16("embed", 2, 100, vec![0xfbff; 200]).is_ok());
    }

    #[test]
    fn bf16_rounding_and_non_finite_rows() {
        assert_eq!(f32_to_bf16(1.0), 0x3f80);
        // 1 + 2^-8 is exactly half way between bf16 1.0 and 1 + 2^-7: ties to even.
        assert_eq!(f32_to_bf16(1.0 + 2f32.powi(-8)), 0x3f80);
        assert_eq!(f32_to_bf16(1.0 + 3.0 * 2f32.powi(-8)), 0x3f82);
        let e = DenseMatrix::from_bf16("embed", 1, 2, vec![0x3f80, 0x7f80]).unwrap_err();
        assert!(matches!(e, crate::Error::NonFinite { index: 1, .. }));
        assert!(DenseMatrix::from_f32("e", 1, 1, vec![f32::NAN]).is_err());
        assert!(DenseMatrix::from_f32("e", 2, 1, vec![0.0]).is_err());
    }

    /// Random blocks of `t` with finite scales of a sane size.
    fn blocks(t: BlockType, n: usize, seed: u64) -> Vec<u8> {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let mut v: Vec<u8> = (0..n * t.bytes()).map(|_| rng.next_u64() as u8).collect();
        for blk in v.chunks_exact_mut(t.bytes()) {
            // |d| in [2^-10, 2^-5): finite, and products far from overflow.
            let d = 0x1400 | (rng.next_u64() as u16 & 0x83ff);
            let at = t.d_offset();
            blk[at..at + 2].copy_from_slice(&d.to_le_bytes());
        }
        v
    }

    #[test]
    fn q8_0_block_hand_worked() {
        let mut blk = vec![0u8; 34];
        blk[..2].copy_from_slice(&0x3800u16.to_le_bytes()); // d = 0.5
        blk[2] = 3;
        blk[3] = (-128i8) as u8;
        blk[33] = 127;
        let mut w = [9.0f32; 32];
        BlockType::Q8_0.decode(&blk, &mut w);
        assert_eq!((w[0], w[1], w[2], w[31]), (1.5, -64.0, 0.0, 63.5));
    }

    #[test]
    fn q6_k_block_hand_worked() {
        // Element 0: ql[0] low nibble 5, qh[0] bits 1:0 = 2 -> q = 37 - 32 = 5,
        // sub-block scale 0 = -3, d = 0.25: (0.25 * -3) * 5 = -3.75.
        // Element 200 (half 1, l = 8, quarter 2): ql[72] high nibble, qh[40]
        // bits 5:4, scale 8 + 0 + 4 = 12.
        let mut blk = vec![0u8; 210];
        blk[0] = 0x05;
        blk[128] = 0x02;
        blk[192] = (-3i8) as u8;
        blk[72] = 0xf0;
        blk[128 + 40] = 0x30;
        blk[192 + 12] = 7;
        blk[208..210].copy_from_slice(&0x3400u16.to_le_bytes());
        let mut w = [0f32; 256];
        BlockType::Q6K.decode(&blk, &mut w);
        assert_eq!(w[0], -3.75);
        assert_eq!(w[200], (0.25 * 7.0) * 31.0);
        // Every other element of sub-block 0 is q = 0 - 32 with scale -3.
        assert_eq!(w[1], (0.25 * -3.0) * -32.0);
    }

    /// `(d * scale) * q`, `d * (scale * q)` and `(d * q) * scale` are all
    /// the exact product, in f32, for every finite f16 `d`, every int8
    /// scale and the q with the most significant bits (odd magnitudes up
    /// to 31) and the extremes.
    #[test]
    fn q6_k_weights_are_exact_products() {
        let qs = [-32i32, -31, -29, -27, -23, -17, -1, 1, 17, 23, 27, 29, 31];
        for h in (0..=u16::MAX).filter(|h| h & 0x7c00 != 0x7c00) {
            let d = f16_to_f32(h);
            for sc in -128i32..=127 {
                let scf = sc as f32;
                for &q in &qs {
                    let exact = f64::from(d) * f64::from(sc) * f64::from(q);
                    let qf = q as f32;
                    let orders = [(d * scf) * qf, d * (scf * qf), (d * qf) * scf];
                    assert!(
                        orders.iter().all(|&w| f64::from(w) == exact),
                        "d {h:#06x} scale {sc} q {q}: {orders:?} vs {exact}"
                    );
                }
            }
        }
    }

    #[test]
    fn block_shapes_and_scales_are_checked() {
        for t in [BlockType::Q8_0, BlockType::Q6K] {
            let ok = blocks(t, 4, 1);
            let m =
                DenseMatrix::from_blocks("output.weight", t, 2, 2 * t.elems(), ok.clone()).unwrap();
            assert_eq!(m.bytes(), 4 * t.bytes());
            assert_eq!(m.as_blocks().unwrap().0, t);
            assert!(format!("{m:?}").contains(t.name()));
            // Not whole blocks, wrong length, zero rows.
            for (rows, cols, len) in [
                (2, 2 * t.elems() + 16, ok.len()),
                (2, 2 * t.elems(), ok.len() - 1),
                (0, t.elems(), 0),
            ] {
                let e =
                    DenseMatrix::from_blocks("output.weight", t, rows, cols, ok[..len].to_vec())
                        .unwrap_err();
                assert!(e.to_string().contains("output.weight"), "{e}");
            }
            // A non-finite d in block 3.
            let mut bad = ok;
            let at = if t == BlockType::Q8_0 {
                3 * 34
            } else {
                3 * 210 + 208
            };
            bad[at..at + 2].copy_from_slice(&0x7c00u16.to_le_bytes());
            let e =
                DenseMatrix::from_blocks("output.weight", t, 2, 2 * t.elems(), bad).unwrap_err();
            assert!(matches!(e, crate::Error::NonFinite { index, .. } if index == 3 * t.elems()));
        }
    }

    proptest::proptest! {
        /// A block row's dot product is that of its decoded f32 copy, bitwise.
        #[test]
        fn block_dot_matches_decoded_f32_dot(q6 in proptest::bool::ANY, nb in 1usize..5, seed in 0u64..1000) {
            let t = if q6 { BlockType::Q6K } else { BlockType::Q8_0 };
            let cols = nb * t.elems();
            let m = DenseMatrix::from_blocks("h", t, 3, cols, blocks(t, 3 * nb, seed)).unwrap();
            let mut rng = crate::rng::SplitMix64::new(seed ^ 7);
            let x: Vec<f32> = (0..cols).map(|_| rng.normal()).collect();
            let mut row = vec![0f32; cols];
            for r in 0..3 {
                m.row_into(r, &mut row);
                proptest::prop_assert_eq!(m.dot_row(r, &x).to_bits(), dot(&row, &x).to_bits());
            }
        }
    }
}
