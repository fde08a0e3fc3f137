//! The KV cache of a [`crate::Session`]: each layer's keys and values of
//! past positions (`len * kv_dim` values each), held in f32 (the golden
//! model's definition, bit-exact) or, opt-in, in f16.
//!
//! f16 keys and values are the rotated k and the v rows rounded to nearest
//! (ties to even) when they are cached, and widened exactly when attention
//! reads them: the same attention on slightly different inputs, and half
//! the bytes a decode step reads from the cache (what peers hold by
//! default). Past 65,504 a value becomes infinite and the logits then fail
//! the finiteness check with an error naming their position.

pub use half::f16;

use crate::error::{Error, Result};

/// Element type of a KV cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KvPrecision {
    /// f32: the golden model's definition.
    #[default]
    F32,
    /// IEEE binary16, rounded to nearest even when cached.
    F16,
}

impl KvPrecision {
    /// Bytes per cached value.
    pub fn bytes(self) -> usize {
        match self {
            KvPrecision::F32 => 4,
            KvPrecision::F16 => 2,
        }
    }
    /// `f32` or `f16`.
    pub fn name(self) -> &'static str {
        match self {
            KvPrecision::F32 => "f32",
            KvPrecision::F16 => "f16",
        }
    }
}

/// An element of a cached key or value: widened exactly to f32 when read.
pub trait KvElem: Copy + Default + Send + Sync + 'static {
    /// The f32 value (exact).
    fn widen(self) -> f32;
    /// `x` rounded to this type (to nearest, ties to even).
    fn narrow(x: f32) -> Self;
}

impl KvElem for f32 {
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
    #[inline(always)]
    fn narrow(x: f32) -> f32 {
        x
    }
}

impl KvElem for f16 {
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn narrow(x: f32) -> f16 {
        f16::from_f32(x)
    }
}

/// One layer's keys and values, as attention reads them.
#[derive(Debug, Clone, Copy)]
pub enum LayerKv<'a> {
    F32(&'a [f32], &'a [f32]),
    F16(&'a [f16], &'a [f16]),
}

/// The rows of one layer's keys or values.
#[derive(Debug, Clone)]
enum Rows {
    F32(Vec<f32>),
    F16(Vec<f16>),
}

impl Rows {
    fn new(p: KvPrecision) -> Rows {
        match p {
            KvPrecision::F32 => Rows::F32(Vec::new()),
            KvPrecision::F16 => Rows::F16(Vec::new()),
        }
    }
    fn truncate(&mut self, n: usize) {
        match self {
            Rows::F32(v) => v.truncate(n),
            Rows::F16(v) => v.truncate(n),
        }
    }
    fn push(&mut self, x: &[f32]) {
        match self {
            Rows::F32(v) => v.extend_from_slice(x),
            Rows::F16(v) => v.extend(x.iter().map(|&a| f16::narrow(a))),
        }
    }
    /// Capacity for `upto` values, every page written once; `len` kept.
    fn reserve(&mut self, upto: usize) -> std::result::Result<(), ()> {
        fn touch<T: KvElem>(v: &mut Vec<T>, upto: usize) -> std::result::Result<(), ()> {
            let len = v.len();
            let upto = upto.max(len);
            v.try_reserve_exact(upto - len).map_err(|_| ())?;
            v.resize(upto, T::default());
            v.truncate(len);
            Ok(())
        }
        match self {
            Rows::F32(v) => touch(v, upto),
            Rows::F16(v) => touch(v, upto),
        }
    }
    #[cfg(test)]
    fn addr(&self) -> usize {
        match self {
            Rows::F32(v) => v.as_ptr() as usize,
            Rows::F16(v) => v.as_ptr() as usize,
        }
    }
}

/// Keys and values of past positions, per layer.
#[derive(Debug, Clone)]
pub struct KvCache {
    k: Vec<Rows>,
    v: Vec<Rows>,
    len: usize,
    precision: KvPrecision,
}

impl KvCache {
    /// An empty cache of `layers` layers.
    pub(crate) fn new(layers: usize, precision: KvPrecision) -> KvCache {
        KvCache {
            k: (0..layers).map(|_| Rows::new(precision)).collect(),
            v: (0..layers).map(|_| Rows::new(precision)).collect(),
            len: 0,
            precision,
        }
    }
    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The element type.
    pub fn precision(&self) -> KvPrecision {
        self.precision
    }
    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len;
    }
    /// Appends rows of keys and values to layer `l`.
    pub(crate) fn push(&mut self, l: usize, k: &[f32], v: &[f32]) {
        self.k[l].push(k);
        self.v[l].push(v);
    }
    /// Layer `l`'s keys and values.
    pub(crate) fn layer(&self, l: usize) -> LayerKv<'_> {
        match (&self.k[l], &self.v[l]) {
            (Rows::F32(k), Rows::F32(v)) => LayerKv::F32(k, v),
            (Rows::F16(k), Rows::F16(v)) => LayerKv::F16(k, v),
            _ => unreachable!("one precision per cache"),
        }
    }
    /// Keeps the first `values` values of every layer's rows.
    pub(crate) fn truncate(&mut self, values: usize) {
        for r in self.k.iter_mut().chain(&mut self.v) {
            r.truncate(values);
        }
    }
    /// Room for `upto` values in every layer's rows, written once now.
    /// `positions` names the size in the error.
    pub(crate) fn reserve(&mut self, upto: usize, positions: usize) -> Result<()> {
        let layers = self.k.len();
        let bytes = upto
            .saturating_mul(self.precision.bytes())
            .saturating_mul(2 * layers);
        for r in self.k.iter_mut().chain(&mut self.v) {
            r.reserve(upto).map_err(|()| Error::Alloc {
                what: format!(
                    "a KV cache of {positions} positions ({})",
                    self.precision.name()
                ),
                bytes,
            })?;
        }
        Ok(())
    }
    /// Where each layer's rows start (a test's check that they never move).
    #[cfg(test)]
    pub(crate) fn addrs(&self) -> Vec<usize> {
        self.k.iter().chain(&self.v).map(Rows::addr).collect()
    }
    /// Each layer's rows' capacity in values.
    #[cfg(test)]
    pub(crate) fn capacities(&self) -> Vec<usize> {
        self.k
            .iter()
            .chain(&self.v)
            .map(|r| match r {
                Rows::F32(v) => v.capacity(),
                Rows::F16(v) => v.capacity(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f16 rows hold each value rounded to nearest even, and read back as
    /// its exact f32 widening; f32 rows hold the values themselves.
    #[test]
    fn rows_round_to_nearest_even_and_widen_exactly() {
        let xs = [
            0.0f32,
            -0.0,
            1.0 + f32::EPSILON,
            1.0 + 2f32.powi(-11),       // a tie: to even (1.0)
            1.0 + 3.0 * 2f32.powi(-11), // a tie: to even (1 + 2^-9)
            65504.0,
            65520.0, // rounds up to infinity
            -3.1e-6, // a subnormal
            1e-9,    // to zero
        ];
        let want = [
            0.0f32,
            -0.0,
            1.0,
            1.0,
            1.0 + 2f32.powi(-9),
            65504.0,
            f32::INFINITY,
            -52.0 * 2f32.powi(-24), // 52 f16 subnormal steps
            0.0,
        ];
        let mut c = KvCache::new(1, KvPrecision::F16);
        c.push(0, &xs, &xs);
        let LayerKv::F16(k, v) = c.layer(0) else {
            panic!("f16 rows")
        };
        for (i, w) in want.iter().enumerate() {
            assert_eq!(k[i].widen().to_bits(), w.to_bits(), "{}", xs[i]);
            assert_eq!(v[i].widen().to_bits(), w.to_bits(), "{}", xs[i]);
        }
        let mut c = KvCache::new(2, KvPrecision::F32);
        c.push(1, &xs, &want);
        let LayerKv::F32(k, v) = c.layer(1) else {
            panic!("f32 rows")
        };
        assert_eq!((k, v), (&xs[..], &want[..]));
    }

    /// Reserving keeps what is cached and makes appends stay in place.
    #[test]
    fn reserve_keeps_values_and_addresses() {
        for p in [KvPrecision::F32, KvPrecision::F16] {
            let mut c = KvCache::new(3, p);
            c.push(2, &[1.5, 2.5], &[3.5, 4.5]);
            c.reserve(64, 32).unwrap();
            let before = c.addrs();
            for _ in 0..31 {
                for l in 0..3 {
                    c.push(l, &[0.25, 0.5], &[0.75, 1.0]);
                }
            }
            assert_eq!(c.addrs(), before, "{p:?}");
            match c.layer(2) {
                LayerKv::F32(k, v) => assert_eq!((k[..2].to_vec(), v[1]), (vec![1.5, 2.5], 4.5)),
                LayerKv::F16(k, v) => {
                    assert_eq!((k[0].widen(), k[1].widen(), v[1].widen()), (1.5, 2.5, 4.5))
                }
            }
            let e = c.reserve(usize::MAX / 4, 7).unwrap_err().to_string();
            assert!(e.contains("7 positions") && e.contains(p.name()), "{e}");
        }
    }
}
