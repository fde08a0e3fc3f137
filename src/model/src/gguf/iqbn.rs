//! ik_llama.cpp's BitNet row formats IQ1_BN (type id 134) and IQ2_BN (135).
//!
//! Both store a tensor row by row (a row is `ne0 = K` weights); every row
//! starts with its scale (ggml's `row_meta_size`: an fp16 for IQ1_BN, an
//! f32 for IQ2_BN), followed by `K / 64` blocks. A weight is `scale * t`
//! with `t` in {-1, 0, +1}; ik_llama.cpp's quantizer writes `max |w|` of the
//! row as its scale, which for a b1.58 tensor is the tensor scale `gamma`
//! (0 in a row whose weights are all zero). Facts from ik_llama.cpp:
//! `ggml/include/ggml.h` (ids), `ggml/src/ggml-common.h` (`block_iq1_bn`,
//! `block_iq2_bn`), `ggml/src/ggml.c` (`type_traits`: block size 64, type
//! size 13 / 16, `row_meta_size` 2 / 4), `ggml/src/iqk/iqk_quantize.cpp`
//! (`quantize_one_row_1bn`/`_2bn`, `dequantize_row_iq1_bn`/`_iq2_bn`).
//!
//! - **IQ2_BN**, 2 bits per weight (+ 32 bits per row): block byte `j`
//!   (0..16) holds elements `j`, `j + 16`, `j + 32`, `j + 48` in bits 1:0,
//!   3:2, 5:4, 7:6 — the four 16-element quarters of the block sit in the
//!   four bit pairs, so one shift and one mask unpack 16 consecutive
//!   weights. Code `c` is weight `c - 1`; code 3 (weight +2) is not ternary
//!   and is an error.
//! - **IQ1_BN**, 13 bytes per 64 weights = 1.625 bits per weight (+ 16 bits
//!   per row): the block is four groups of 16 elements. Group `g` has three
//!   bytes `ql[3g + i]` (i = 0..3), each holding elements `16g + 5i + j`
//!   (j = 0..5) as the base-3 number `sum_j q_j 3^j` (`q = t + 1`), and its
//!   last element `16g + 15` goes into the 13th byte `extra` as
//!   `sum_g q_(16g+15) 3^g`. Each base-3 number `v < 243` is stored as
//!   `ceil(256 v / 243)`, the fixed-point fraction TQ1_0 also uses
//!   ([`super::quants::pack_trits`]); the digit of weight `3^j` is read back
//!   by [`super::quants::unpack_trit`] at position `4 - j` (ik_llama.cpp
//!   multiplies by `3^(4 - j)` and takes the top trit). Every byte decodes
//!   (as in ik_llama.cpp); the unused fifth digit of `extra` is ignored.
//!
//! Tensor sizes: `rows * (2 + 13 K / 64)` and `rows * (4 + 16 K / 64)` bytes.

use half::f16;

use super::quants::{pack_trits, unpack_trit};

type R<T> = std::result::Result<T, String>;

// The block geometry lives with the type table (sizes of every type).
pub use super::types::{BLOCK_ELEMS, IQ1BN_BLOCK, IQ1BN_ROW_META, IQ2BN_BLOCK, IQ2BN_ROW_META};

const _: () = assert!(IQ1BN_BLOCK * 8 * 1000 / BLOCK_ELEMS == 1625); // 1.625 bpw
const _: () = assert!(IQ2BN_BLOCK * 8 / BLOCK_ELEMS == 2);

/// Bytes of one row of `k` weights, or a message if `k` is not whole blocks.
fn row_bytes(name: &str, k: usize, meta: usize, block: usize) -> R<usize> {
    if k == 0 || !k.is_multiple_of(BLOCK_ELEMS) {
        return Err(format!(
            "{name} rows hold whole {BLOCK_ELEMS}-element blocks: K = {k} is not a positive multiple of {BLOCK_ELEMS}"
        ));
    }
    (k / BLOCK_ELEMS)
        .checked_mul(block)
        .and_then(|b| b.checked_add(meta))
        .ok_or_else(|| format!("{name} row of {k} elements: size overflows"))
}

/// Checks that `bytes` holds exactly `rows` rows of `k` weights; the row size.
fn check_rows(
    name: &str,
    bytes: &[u8],
    rows: usize,
    k: usize,
    meta: usize,
    block: usize,
) -> R<usize> {
    let rb = row_bytes(name, k, meta, block)?;
    let want = rb
        .checked_mul(rows)
        .ok_or_else(|| format!("{name} of {rows} rows: size overflows"))?;
    if bytes.len() != want {
        return Err(format!(
            "{name} of {rows} rows x {k} needs {want} bytes ({rows} x ({meta} + {} x {block})), got {} (truncated or corrupt)",
            k / BLOCK_ELEMS,
            bytes.len()
        ));
    }
    Ok(rb)
}

fn code(v: i8) -> R<u8> {
    match v {
        -1..=1 => Ok((v + 1) as u8),
        _ => Err(format!("value {v} is not ternary")),
    }
}

fn check_encode(name: &str, t: &[i8], k: usize, rows: usize) -> R<()> {
    row_bytes(name, k, 0, 1)?;
    if Some(t.len()) != k.checked_mul(rows) {
        return Err(format!(
            "{name}: {} values are not {rows} rows of {k}",
            t.len()
        ));
    }
    Ok(())
}

/// Decodes IQ2_BN: `rows` x `k` ternary values and each row's f32 scale.
pub fn iq2bn_decode(bytes: &[u8], rows: usize, k: usize) -> R<(Vec<i8>, Vec<f32>)> {
    let rb = check_rows("IQ2_BN", bytes, rows, k, IQ2BN_ROW_META, IQ2BN_BLOCK)?;
    let mut t = vec![0i8; rows * k];
    let mut scales = Vec::with_capacity(rows);
    for (r, (row, out)) in bytes
        .chunks_exact(rb)
        .zip(t.chunks_exact_mut(k))
        .enumerate()
    {
        let (s, blocks) = row.split_at(IQ2BN_ROW_META);
        scales.push(f32::from_le_bytes([s[0], s[1], s[2], s[3]]));
        for (b, (blk, o)) in blocks
            .chunks_exact(IQ2BN_BLOCK)
            .zip(out.chunks_exact_mut(BLOCK_ELEMS))
            .enumerate()
        {
            // Branch-free over the block (it vectorizes), then a code 3
            // found anywhere in it is located: a check per value kept this
            // the slowest step of loading an IQ2_BN file.
            let mut bad = 0u8;
            for (quarter, o) in o.chunks_exact_mut(16).enumerate() {
                for (o, &byte) in o.iter_mut().zip(blk) {
                    let c = (byte >> (2 * quarter)) & 3;
                    bad |= c & (c >> 1);
                    *o = c as i8 - 1;
                }
            }
            if bad != 0 {
                let e = (0..BLOCK_ELEMS)
                    .find(|e| (blk[e % 16] >> (2 * (e / 16))) & 3 == 3)
                    .unwrap_or(0);
                return Err(format!(
                    "invalid IQ2_BN code 3 (weight +2) at row {r}, element {} (valid codes: 0, 1, 2 = -1, 0, +1)",
                    b * BLOCK_ELEMS + e
                ));
            }
        }
    }
    Ok((t, scales))
}

/// Encodes ternary values (`scales.len()` rows of `k`) as IQ2_BN with the
/// given f32 row scales.
pub fn iq2bn_encode(t: &[i8], k: usize, scales: &[f32]) -> R<Vec<u8>> {
    check_encode("IQ2_BN", t, k, scales.len())?;
    let rb = row_bytes("IQ2_BN", k, IQ2BN_ROW_META, IQ2BN_BLOCK)?;
    let mut out = vec![0u8; rb * scales.len()];
    for ((row, src), s) in out.chunks_exact_mut(rb).zip(t.chunks_exact(k)).zip(scales) {
        let (meta, blocks) = row.split_at_mut(IQ2BN_ROW_META);
        meta.copy_from_slice(&s.to_le_bytes());
        for (blk, w) in blocks
            .chunks_exact_mut(IQ2BN_BLOCK)
            .zip(src.chunks_exact(BLOCK_ELEMS))
        {
            for (j, byte) in blk.iter_mut().enumerate() {
                for quarter in 0..4 {
                    *byte |= code(w[quarter * 16 + j])? << (2 * quarter);
                }
            }
        }
    }
    Ok(out)
}

/// The elements of an IQ1_BN block held by byte `i` (0..13), as
/// (element, trit position for [`unpack_trit`]) pairs.
fn iq1bn_byte_elements(i: usize) -> impl Iterator<Item = (usize, usize)> {
    let (g, sub) = (i / 3, i % 3);
    let ql = (i < 12).then_some(0..5).into_iter().flatten();
    let extra = (i == 12).then_some(0..4).into_iter().flatten();
    // Digit of weight 3^j is trit position 4 - j (0 = most significant).
    ql.map(move |j| (16 * g + 5 * sub + j, 4 - j))
        .chain(extra.map(|g| (16 * g + 15, 4 - g)))
}

/// Decodes IQ1_BN: `rows` x `k` ternary values and each row's fp16 scale (bits).
pub fn iq1bn_decode(bytes: &[u8], rows: usize, k: usize) -> R<(Vec<i8>, Vec<u16>)> {
    let rb = check_rows("IQ1_BN", bytes, rows, k, IQ1BN_ROW_META, IQ1BN_BLOCK)?;
    let mut t = vec![0i8; rows * k];
    let mut scales = Vec::with_capacity(rows);
    for (row, out) in bytes.chunks_exact(rb).zip(t.chunks_exact_mut(k)) {
        let (s, blocks) = row.split_at(IQ1BN_ROW_META);
        scales.push(u16::from_le_bytes([s[0], s[1]]));
        for (blk, o) in blocks
            .chunks_exact(IQ1BN_BLOCK)
            .zip(out.chunks_exact_mut(BLOCK_ELEMS))
        {
            // Fixed loops (no iterator chain per byte): that chain made
            // this the slowest step of loading an IQ1_BN file
            // (2026-12-05). The element order of `iq1bn_byte_elements`;
            // checked against an independent decoder in the tests.
            for (g, o) in o.chunks_exact_mut(16).enumerate() {
                for i in 0..3 {
                    let byte = blk[3 * g + i];
                    for j in 0..5 {
                        o[5 * i + j] = unpack_trit(byte, 4 - j) as i8 - 1;
                    }
                }
                o[15] = unpack_trit(blk[12], 4 - g) as i8 - 1;
            }
        }
    }
    Ok((t, scales))
}

/// Encodes ternary values (`scales.len()` rows of `k`) as IQ1_BN with the
/// given fp16 row scales (bits).
pub fn iq1bn_encode(t: &[i8], k: usize, scales: &[u16]) -> R<Vec<u8>> {
    check_encode("IQ1_BN", t, k, scales.len())?;
    let rb = row_bytes("IQ1_BN", k, IQ1BN_ROW_META, IQ1BN_BLOCK)?;
    let mut out = vec![0u8; rb * scales.len()];
    for ((row, src), s) in out.chunks_exact_mut(rb).zip(t.chunks_exact(k)).zip(scales) {
        let (meta, blocks) = row.split_at_mut(IQ1BN_ROW_META);
        meta.copy_from_slice(&s.to_le_bytes());
        for (blk, w) in blocks
            .chunks_exact_mut(IQ1BN_BLOCK)
            .zip(src.chunks_exact(BLOCK_ELEMS))
        {
            for (i, byte) in blk.iter_mut().enumerate() {
                // pack_trits takes the most significant trit first.
                let mut trits = [0u8; 5];
                for (e, pos) in iq1bn_byte_elements(i) {
                    trits[pos] = code(w[e])?;
                }
                *byte = pack_trits(&trits);
            }
        }
    }
    Ok(out)
}

/// The one gamma of a row-scaled tensor: the common scale of every row that
/// has a non-zero code (rows of zeros contribute nothing whatever their
/// scale). Different scales are refused: b1.58 has one scale per tensor.
/// Scales are compared bit for bit.
pub fn common_row_scale(t: &[i8], k: usize, scales: &[f32]) -> R<f32> {
    let mut common: Option<(usize, f32)> = None;
    for (r, (row, &s)) in t.chunks(k.max(1)).zip(scales).enumerate() {
        if row.iter().all(|&v| v == 0) {
            continue;
        }
        match common {
            None => common = Some((r, s)),
            Some((r0, s0)) if s0.to_bits() != s.to_bits() => {
                return Err(format!(
                    "rows {r0} and {r} have different scales ({s0} and {s}): per-row scales are not representable by tritium's W1.58A8 golden model, which has one gamma per tensor"
                ))
            }
            Some(_) => {}
        }
    }
    // An all-zero tensor: gamma multiplies nothing.
    Ok(common.map_or(1.0, |(_, s)| s))
}

/// Widens fp16 row scales (bits) exactly to f32.
pub fn widen_f16(scales: &[u16]) -> Vec<f32> {
    scales.iter().map(|&b| f16::from_bits(b).to_f32()).collect()
}

/// The row scales a converter writes for a b1.58 tensor of scale `gamma`:
/// ik_llama.cpp writes each row's `max |w|`, i.e. `gamma` in a row with a
/// non-zero weight and 0 in a row of zeros.
pub fn row_scales<S: Copy>(t: &[i8], k: usize, gamma: S, zero: S) -> Vec<S> {
    t.chunks(k.max(1))
        .map(|row| {
            if row.iter().any(|&v| v != 0) {
                gamma
            } else {
                zero
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "iqbn_tests.rs"]
mod tests;
