//! Block codecs of the GGUF tensor types tritium reads and writes.
//!
//! Ternary values are `i8` in {-1, 0, +1}, in the tensor's flat order
//! (ggml rows of `ne0` elements, row-major), so a weight `[N, K]` stored
//! with `dims = [K, N]` decodes straight into tritium's row-major `N x K`.
//!
//! - **I2_S** (bitnet.cpp, x86 layout): the flattened tensor in blocks of 128
//!   elements / 32 bytes; byte `j` of a block holds elements `j`, `j + 32`,
//!   `j + 64`, `j + 96` in bits 7:6, 5:4, 3:2, 1:0; codes 0, 1, 2 = -1, 0,
//!   +1 (3 is invalid and an error). After the `n / 4` code bytes: one f32
//!   scale, padded to 32 bytes. (bitnet.cpp's ARM build quantizes with
//!   64-element blocks; such files are not this layout and not supported.)
//! - **TQ2_0** (llama.cpp): per 256 elements, `qs[64]` then fp16 `d` (66
//!   bytes). Element `e` of a block: half `h = e / 128`, `r = e % 128`; it is
//!   byte `32 h + r % 32`, bits `2 (r / 32) + 1 : 2 (r / 32)`, value `q - 1`.
//! - **TQ1_0** (llama.cpp): per 256 elements, `qs[48]` (5 trits per byte),
//!   `qh[4]` (4 trits per byte), fp16 `d` (54 bytes). A byte holding trits
//!   `t0..t4` (most significant first) is `ceil(sum t_i 3^(4-i) * 256 / 243)`;
//!   trit `n` is read back as `((byte * 3^n mod 256) * 3) >> 8` — multiplying
//!   by 3^n moves trit `n` to the top, and the top trit of a fixed-point
//!   fraction is its integer part after one more multiply by 3.
//!   Elements: `qs[0..32]` hold `n * 32 + m` (byte `m`, trit `n`),
//!   `qs[32..48]` hold `160 + n * 16 + m`, `qh[j]` holds `240 + n * 4 + j`
//!   for `n < 4` (its fifth trit is 0).
//! - F32, F16, BF16 widen exactly; Q8_0 (`d` fp16 + 32 i8) and Q6_K (210
//!   bytes per 256) dequantize in ggml's reference order.

use crate::floats::{self, FloatKind};
use half::f16;

type R<T> = std::result::Result<T, String>;

/// Bytes of an I2_S tensor of `n` elements (`n % 128 == 0`).
pub fn i2s_size(n: usize) -> usize {
    n / 4 + 32
}

/// Spreads 32 bytes of 2-bit codes into 128 values: value `32 g + j` is
/// code `(src[j] >> shift(g)) & 3` minus 1 (the I2_S and TQ2_0 layouts differ
/// only in `shift`). A run of 32 values at a time with no early exit, so
/// it vectorizes; the first value (in `out` order) whose code is 3, if
/// any, is looked for afterwards and returned.
#[inline]
fn spread_codes(src: &[u8], out: &mut [i8], shift: impl Fn(usize) -> usize) -> Option<usize> {
    let mut bad = false;
    for (g, run) in out.chunks_exact_mut(32).enumerate() {
        let sh = shift(g);
        for (o, &byte) in run.iter_mut().zip(src) {
            let q = (byte >> sh) & 3;
            bad |= q == 3;
            *o = q as i8 - 1;
        }
    }
    // Code 3 decodes to +2, which no valid code gives.
    bad.then(|| out.iter().position(|&v| v == 2).unwrap_or(0))
}

/// Decodes I2_S: the ternary values and the per-tensor scale.
pub fn i2s_decode(bytes: &[u8], n: usize) -> R<(Vec<i8>, f32)> {
    if !n.is_multiple_of(128) || bytes.len() != i2s_size(n) {
        return Err(format!(
            "I2_S of {n} elements needs a multiple of 128 elements and {} bytes, got {}",
            n / 4 + 32,
            bytes.len()
        ));
    }
    let mut t = vec![0i8; n];
    for (b, (block, out)) in bytes[..n / 4]
        .chunks_exact(32)
        .zip(t.chunks_exact_mut(128))
        .enumerate()
    {
        if let Some(e) = spread_codes(block, out, |g| 6 - 2 * g) {
            return Err(format!(
                "invalid I2_S code 3 at element {} (valid codes: 0, 1, 2 = -1, 0, +1)",
                b * 128 + e
            ));
        }
    }
    let s = &bytes[n / 4..n / 4 + 4];
    Ok((t, f32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}

/// Encodes ternary values (length a multiple of 128) and a scale as I2_S.
pub fn i2s_encode(t: &[i8], scale: f32) -> R<Vec<u8>> {
    if !t.len().is_multiple_of(128) {
        return Err(format!(
            "I2_S needs a multiple of 128 elements, the tensor has {}",
            t.len()
        ));
    }
    let mut out = vec![0u8; i2s_size(t.len())];
    for (block, src) in out.chunks_exact_mut(32).zip(t.chunks_exact(128)) {
        for (j, byte) in block.iter_mut().enumerate() {
            for g in 0..4 {
                *byte |= ternary_code(src[g * 32 + j])? << (6 - 2 * g);
            }
        }
    }
    let n4 = t.len() / 4;
    out[n4..n4 + 4].copy_from_slice(&scale.to_le_bytes());
    Ok(out)
}

fn ternary_code(v: i8) -> R<u8> {
    match v {
        -1..=1 => Ok((v + 1) as u8),
        _ => Err(format!("value {v} is not ternary")),
    }
}

// Sizes of a 256-element TQ block (with the type table).
pub use super::types::{TQ1_BLOCK, TQ2_BLOCK};

// The block sizes from their parts (llama.cpp's ggml-common.h layouts):
// TQ1_0 = 240 elements 5 per byte (qs) + 16 elements 4 per byte (qh) + fp16 d;
// TQ2_0 = 256 elements 4 per byte + fp16 d.
const _: () = assert!(TQ1_BLOCK == 240 / 5 + 16 / 4 + 2);
const _: () = assert!(TQ2_BLOCK == 256 / 4 + 2);

fn check_blocks(bytes: &[u8], n: usize, block: usize, name: &str) -> R<usize> {
    if !n.is_multiple_of(256) || bytes.len() != n / 256 * block {
        return Err(format!(
            "{name} of {n} elements needs a multiple of 256 elements and {} bytes, got {}",
            n / 256 * block,
            bytes.len()
        ));
    }
    Ok(n / 256)
}

/// Decodes TQ2_0: ternary values and each block's fp16 `d` (bits).
pub fn tq2_decode(bytes: &[u8], n: usize) -> R<(Vec<i8>, Vec<u16>)> {
    let nb = check_blocks(bytes, n, TQ2_BLOCK, "TQ2_0")?;
    let mut t = vec![0i8; n];
    let mut d = Vec::with_capacity(nb);
    for (b, (blk, out)) in bytes
        .chunks_exact(TQ2_BLOCK)
        .zip(t.chunks_exact_mut(256))
        .enumerate()
    {
        for (h, (src, half)) in blk[..64]
            .chunks_exact(32)
            .zip(out.chunks_exact_mut(128))
            .enumerate()
        {
            if let Some(e) = spread_codes(src, half, |s| 2 * s) {
                return Err(format!(
                    "invalid TQ2_0 code 3 (value +2) at element {}",
                    b * 256 + h * 128 + e
                ));
            }
        }
        d.push(u16::from_le_bytes([blk[64], blk[65]]));
    }
    Ok((t, d))
}

/// Encodes TQ2_0 with block scales `d` (fp16 bits, one per 256 elements).
pub fn tq2_encode(t: &[i8], d: &[u16]) -> R<Vec<u8>> {
    if !t.len().is_multiple_of(256) || d.len() != t.len() / 256 {
        return Err(format!(
            "TQ2_0 needs a multiple of 256 elements and one scale per block ({} elements, {} scales)",
            t.len(),
            d.len()
        ));
    }
    let mut out = vec![0u8; t.len() / 256 * TQ2_BLOCK];
    for ((blk, src), &db) in out
        .chunks_exact_mut(TQ2_BLOCK)
        .zip(t.chunks_exact(256))
        .zip(d)
    {
        for (i, byte) in blk[..64].iter_mut().enumerate() {
            let (h, m) = (i / 32, i % 32);
            let mut q = 0u8;
            for s in 0..4 {
                q |= ternary_code(src[h * 128 + s * 32 + m])? << (2 * s);
            }
            *byte = q;
        }
        blk[64..66].copy_from_slice(&db.to_le_bytes());
    }
    Ok(out)
}

/// Packs up to 5 trits (values 0..=2, most significant first) into one
/// byte as TQ1_0 does: the base-3 number as a fixed-point fraction of 3^5,
/// rounded up to /256. Fewer than 5 trits are followed by zero trits.
pub fn pack_trits(trits: &[u8]) -> u8 {
    let mut q: u16 = 0;
    for i in 0..5 {
        q = q * 3 + u16::from(trits.get(i).copied().unwrap_or(0));
    }
    (q * 256).div_ceil(243) as u8
}

/// Trit `n` (0 = most significant) of a TQ1_0 byte, in 0..=2.
/// In 16-bit arithmetic: the byte product `byte * 3^n mod 256` is the low
/// byte of the 16-bit one, and SSE2 has no byte multiply (on bytes the
/// decoders' loops were unrolled to scalar code, the slowest step of
/// loading a TQ1_0 or IQ1_BN file).
#[inline]
pub fn unpack_trit(byte: u8, n: usize) -> u8 {
    trit_by(byte, TRIT_POW3[n])
}

/// `3^n` for trit `n` of [`unpack_trit`].
const TRIT_POW3: [u16; 5] = [1, 3, 9, 27, 81];

/// [`unpack_trit`] with its power `3^n` given: a loop over the trits that
/// takes the powers from [`TRIT_POW3`] as it goes (not an index `n`)
/// vectorizes, where indexing by `n` left the TQ1_0 decode a third of a
/// load again.
#[inline]
fn trit_by(byte: u8, pow3: u16) -> u8 {
    let q = (u16::from(byte) * pow3) & 0xff;
    ((q * 3) >> 8) as u8
}

/// Element index (within a block) of trit `n` of TQ1_0 byte `i`
/// (`i < 48` in `qs`, `48..52` in `qh`).
fn tq1_element(i: usize, n: usize) -> Option<usize> {
    match i {
        0..=31 => Some(n * 32 + i),
        32..=47 => Some(160 + n * 16 + (i - 32)),
        48..=51 if n < 4 => Some(240 + n * 4 + (i - 48)),
        _ => None,
    }
}

/// Decodes TQ1_0: ternary values and each block's fp16 `d` (bits). Every
/// byte decodes (as in ggml); there is no invalid code.
pub fn tq1_decode(bytes: &[u8], n: usize) -> R<(Vec<i8>, Vec<u16>)> {
    let nb = check_blocks(bytes, n, TQ1_BLOCK, "TQ1_0")?;
    let mut t = vec![0i8; n];
    let mut d = Vec::with_capacity(nb);
    // Run `n` of a byte group is its bytes' trit `n` (the element order
    // of `tq1_element`), a run at a time so the loops vectorize.
    let spread = |src: &[u8], out: &mut [i8]| {
        for (run, p) in out.chunks_exact_mut(src.len()).zip(TRIT_POW3) {
            for (o, &byte) in run.iter_mut().zip(src) {
                *o = trit_by(byte, p) as i8 - 1;
            }
        }
    };
    for (blk, out) in bytes.chunks_exact(TQ1_BLOCK).zip(t.chunks_exact_mut(256)) {
        let (a, rest) = out.split_at_mut(160);
        let (b, c) = rest.split_at_mut(80);
        spread(&blk[..32], a);
        spread(&blk[32..48], b);
        // qh: four trits of each byte (its fifth is 0).
        spread(&blk[48..52], c);
        d.push(u16::from_le_bytes([blk[52], blk[53]]));
    }
    Ok((t, d))
}

/// Encodes TQ1_0 with block scales `d` (fp16 bits, one per 256 elements).
pub fn tq1_encode(t: &[i8], d: &[u16]) -> R<Vec<u8>> {
    if !t.len().is_multiple_of(256) || d.len() != t.len() / 256 {
        return Err(format!(
            "TQ1_0 needs a multiple of 256 elements and one scale per block ({} elements, {} scales)",
            t.len(),
            d.len()
        ));
    }
    let mut out = vec![0u8; t.len() / 256 * TQ1_BLOCK];
    for ((blk, src), &db) in out
        .chunks_exact_mut(TQ1_BLOCK)
        .zip(t.chunks_exact(256))
        .zip(d)
    {
        for (i, byte) in blk[..52].iter_mut().enumerate() {
            let mut trits = [0u8; 5];
            for (n, tr) in trits.iter_mut().enumerate() {
                if let Some(e) = tq1_element(i, n) {
                    *tr = ternary_code(src[e])?;
                }
            }
            *byte = pack_trits(&trits);
        }
        blk[52..54].copy_from_slice(&db.to_le_bytes());
    }
    Ok(out)
}

/// The float element type of `ty` (F32, F16, BF16), if it is one.
pub(crate) fn float_kind(ty: super::GgmlType) -> Option<FloatKind> {
    use super::GgmlType as T;
    match ty {
        T::F32 => Some(FloatKind::F32),
        T::F16 => Some(FloatKind::F16),
        T::BF16 => Some(FloatKind::Bf16),
        _ => None,
    }
}

/// Widens F32 / F16 / BF16 / Q8_0 / Q6_K data of `n` elements to f32.
pub fn to_f32(ty: super::GgmlType, bytes: &[u8], n: usize) -> R<Vec<f32>> {
    use super::GgmlType as T;
    let want = match ty {
        T::F32 => n.checked_mul(4),
        T::F16 | T::BF16 => n.checked_mul(2),
        T::Q8_0 if n.is_multiple_of(32) => Some(n / 32 * 34),
        T::Q6_K if n.is_multiple_of(256) => Some(n / 256 * 210),
        _ => None,
    };
    if want != Some(bytes.len()) {
        return Err(format!(
            "{} data of {n} elements has {} bytes (or the type holds no floats)",
            ty.name(),
            bytes.len()
        ));
    }
    Ok(match ty {
        T::F32 | T::F16 | T::BF16 => floats::widen(float_kind(ty).expect("a float type"), bytes),
        T::Q8_0 | T::Q6_K => {
            // The golden model's definition of the block values.
            let bt = block_type(ty).expect("a block type");
            let mut out = vec![0f32; n];
            for (blk, o) in bytes
                .chunks_exact(bt.bytes())
                .zip(out.chunks_exact_mut(bt.elems()))
            {
                bt.decode(blk, o);
            }
            out
        }
        T::TQ1_0 | T::TQ2_0 | T::I2_S | T::IQ1_BN | T::IQ2_BN => {
            return Err(format!("{} is not a float type", ty.name()))
        }
    })
}

/// Appends `x` (a multiple of 32 values) as Q8_0 blocks, as llama.cpp's
/// reference `quantize_row_q8_0_ref`: `d = amax / 127` (f32), stored as
/// fp16; `q = round(x * (1 / d))` with halves away from zero (C `roundf`),
/// the reciprocal of the f32 `d` (not of the stored fp16), 0 when `d = 0`.
pub fn q8_0_encode(x: &[f32], out: &mut Vec<u8>) {
    for blk in x.chunks_exact(32) {
        let amax = blk.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend(f16::from_f32(d).to_bits().to_le_bytes());
        out.extend(blk.iter().map(|&v| (v * id).round() as i8 as u8));
    }
}

/// The golden model's block type of a ggml type kept as blocks in a
/// [`tritium_golden::DenseMatrix`].
pub fn block_type(ty: super::GgmlType) -> Option<tritium_golden::BlockType> {
    match ty {
        super::GgmlType::Q8_0 => Some(tritium_golden::BlockType::Q8_0),
        super::GgmlType::Q6_K => Some(tritium_golden::BlockType::Q6K),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn five_trits_per_byte_round_trip_exhaustively() {
        // All 3^5 combinations: every packed byte decodes to its trits.
        for v in 0..243u16 {
            let mut trits = [0u8; 5];
            let mut x = v;
            for i in (0..5).rev() {
                trits[i] = (x % 3) as u8;
                x /= 3;
            }
            let b = pack_trits(&trits);
            for (n, &t) in trits.iter().enumerate() {
                assert_eq!(unpack_trit(b, n), t, "value {v} trit {n} byte {b}");
            }
        }
    }

    #[test]
    fn i2s_layout_hand_worked() {
        // Element 0 = +1 (code 2, bits 7:6 of byte 0), element 33 = -1
        // (code 0, bits 5:4 of byte 1), everything else 0 (code 1).
        let mut t = vec![0i8; 128];
        t[0] = 1;
        t[33] = -1;
        let b = i2s_encode(&t, 0.5).unwrap();
        assert_eq!(b.len(), 64);
        assert_eq!(b[0], 0b10_01_01_01);
        assert_eq!(b[1], 0b01_00_01_01);
        assert_eq!(b[2], 0x55);
        assert_eq!(&b[32..36], &0.5f32.to_le_bytes());
        assert!(b[36..].iter().all(|&x| x == 0));
        assert_eq!(i2s_decode(&b, 128).unwrap(), (t, 0.5));
        let mut bad = b.clone();
        bad[5] = 0xFF;
        assert!(i2s_decode(&bad, 128).unwrap_err().contains("element 5"));
        assert!(i2s_decode(&b[..63], 128).is_err());
    }

    #[test]
    fn tq2_layout_hand_worked() {
        // Element 130 = 128 + 0*32 + 2: byte 32 + 2, bits 1:0.
        let mut t = vec![0i8; 256];
        t[130] = 1;
        t[64 + 5] = -1; // half 0, s = 2, m = 5: byte 5, bits 5:4
        let b = tq2_encode(&t, &[0x3C00]).unwrap();
        assert_eq!(b[34], 0b01_01_01_10);
        assert_eq!(b[5], 0b01_00_01_01);
        assert_eq!(tq2_decode(&b, 256).unwrap(), (t, vec![0x3C00]));
    }

    fn ternary(n: usize) -> impl Strategy<Value = Vec<i8>> {
        proptest::collection::vec(-1i8..=1, n)
    }

    proptest! {
        #[test]
        fn i2s_round_trip(t in (1usize..6).prop_flat_map(|b| ternary(b * 128)), s in 1e-6f32..10.0) {
            let bytes = i2s_encode(&t, s).unwrap();
            prop_assert_eq!(i2s_decode(&bytes, t.len()).unwrap(), (t, s));
        }

        #[test]
        fn tq2_round_trip(t in (1usize..4).prop_flat_map(|b| ternary(b * 256)), d in any::<u16>()) {
            let ds = vec![d; t.len() / 256];
            let bytes = tq2_encode(&t, &ds).unwrap();
            prop_assert_eq!(bytes.len(), t.len() / 256 * TQ2_BLOCK);
            prop_assert_eq!(tq2_decode(&bytes, t.len()).unwrap(), (t, ds));
        }

        #[test]
        fn tq1_round_trip(t in (1usize..4).prop_flat_map(|b| ternary(b * 256)), d in any::<u16>()) {
            let ds = vec![d; t.len() / 256];
            let bytes = tq1_encode(&t, &ds).unwrap();
            prop_assert_eq!(bytes.len(), t.len() / 256 * TQ1_BLOCK);
            prop_assert_eq!(tq1_decode(&bytes, t.len()).unwrap(), (t, ds));
        }

        /// One code 3 anywhere: the error names its element.
        #[test]
        fn a_code_3_is_named_by_its_element(
            t in (1usize..4).prop_flat_map(|b| ternary(b * 256)),
            at in any::<prop::sample::Index>(),
        ) {
            let e = at.index(t.len());
            let mut i2s = i2s_encode(&t, 1.0).unwrap();
            let (b, r) = (e / 128, e % 128);
            i2s[32 * b + r % 32] |= 3 << (6 - 2 * (r / 32));
            let err = i2s_decode(&i2s, t.len()).unwrap_err();
            prop_assert!(err.contains(&format!("element {e} ")), "{}", err);
            let mut tq2 = tq2_encode(&t, &vec![0x3C00; t.len() / 256]).unwrap();
            let (b, r) = (e / 256, e % 256);
            tq2[TQ2_BLOCK * b + 32 * (r / 128) + r % 32] |= 3 << (2 * (r % 128 / 32));
            let err = tq2_decode(&tq2, t.len()).unwrap_err();
            prop_assert!(err.ends_with(&format!("element {e}")), "{}", err);
        }

        #[test]
        fn tq1_decodes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), TQ1_BLOCK)) {
            let (t, _) = tq1_decode(&bytes, 256).unwrap();
            prop_assert!(t.iter().all(|v| (-1..=1).contains(v)));
        }
    }
}
