//! Little-endian F32 / F16 / BF16 tensor bytes widened to f32 (exactly), a
//! range at a time: the one widening both checkpoint formats use, for whole
//! tensors and for master weights quantized at load.

use tritium_golden::quant::quantize_weights_absmean_chunked;
use tritium_golden::TernaryMatrix;

/// A float element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatKind {
    F32,
    F16,
    Bf16,
}

impl FloatKind {
    /// Bytes per element.
    pub(crate) fn size(self) -> usize {
        match self {
            FloatKind::F32 => 4,
            FloatKind::F16 | FloatKind::Bf16 => 2,
        }
    }
}

/// Elements `start .. start + out.len()` of `bytes` widened into `out`.
/// The caller checks the range against the bytes.
pub(crate) fn widen_into(kind: FloatKind, bytes: &[u8], start: usize, out: &mut [f32]) {
    let size = kind.size();
    let b = &bytes[start * size..(start + out.len()) * size];
    match kind {
        FloatKind::F32 => {
            for (o, c) in out.iter_mut().zip(b.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        FloatKind::F16 => {
            for (o, c) in out.iter_mut().zip(b.chunks_exact(2)) {
                *o = half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32();
            }
        }
        // A 16-bit shift (as `ops::bf16_to_f32`): `half`'s conversion
        // branches on NaN per value, which kept this loop scalar (21 % of
        // loading a bf16 2B4T checkpoint). NaN stays NaN either way, and
        // the loaders reject it.
        FloatKind::Bf16 => {
            for (o, c) in out.iter_mut().zip(b.chunks_exact(2)) {
                *o = tritium_golden::ops::bf16_to_f32(u16::from_le_bytes([c[0], c[1]]));
            }
        }
    }
}

/// Every whole element of `bytes`, widened.
pub(crate) fn widen(kind: FloatKind, bytes: &[u8]) -> Vec<f32> {
    let mut v = vec![0.0f32; bytes.len() / kind.size()];
    widen_into(kind, bytes, 0, &mut v);
    v
}

/// The `n x k` master weights in `bytes` quantized to ternary at load
/// ([`quantize_weights_absmean_chunked`]: widened a chunk at a time, never
/// copied whole to f32), once the bytes are checked to hold exactly them.
pub(crate) fn quantize_masters(
    what: &str,
    kind: FloatKind,
    bytes: &[u8],
    n: usize,
    k: usize,
) -> tritium_golden::Result<TernaryMatrix> {
    let size = kind.size();
    if n.checked_mul(k).and_then(|v| v.checked_mul(size)) != Some(bytes.len()) {
        return Err(tritium_golden::Error::Shape {
            what: what.to_string(),
            expected: format!("{n} x {k} values of {size} bytes"),
            got: format!("{} bytes", bytes.len()),
        });
    }
    quantize_weights_absmean_chunked(what, n, k, &|start, out| {
        widen_into(kind, bytes, start, out)
    })
}
