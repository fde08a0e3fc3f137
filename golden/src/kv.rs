//! The KV cache of a [`crate::Session`]: each layer's keys and values of
//! past positions, held in f32 (the golden model's definition, bit-exact)
//! or, opt-in, in f16.
//!
//! Each KV head's positions lie contiguous ([`KvLayout::heads`]): room for
//! `cap` positions per head, head after head. Attention reads one KV head
//! at a time, position after position, so it streams one contiguous run
//! instead of `head_dim`-sized pieces `kv_dim` values apart (2B4T: 512-byte
//! pieces 2,560 bytes apart at f32), which the hardware prefetchers follow
//! late. Appending scatters a row's heads into their runs; growing past
//! `cap` copies each head's run into a larger buffer (amortized: at least
//! twice the room, up to the model's context; [`crate::Session::reserve`]
//! sizes it once up front).
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

/// One attention head's view of a layer's keys or values (f32 or f16,
/// in a [`KvLayout`]): position `j`'s vector is
/// `data[j * stride + off..j * stride + off + len]`.
#[derive(Debug, Clone, Copy)]
pub struct HeadView<'a, T = f32> {
    pub data: &'a [T],
    pub stride: usize,
    pub off: usize,
    pub len: usize,
}

impl<'a, T> HeadView<'a, T> {
    /// The vector of position `j`.
    #[inline]
    pub fn at(&self, j: usize) -> &'a [T] {
        &self.data[j * self.stride + self.off..j * self.stride + self.off + self.len]
    }
}

/// Where position `j` of KV head `h` lies in one layer's keys (or values):
/// its `head_dim` values start at `h * head_stride + j * pos_stride`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvLayout {
    pub head_stride: usize,
    pub pos_stride: usize,
    pub head_dim: usize,
}

impl KvLayout {
    /// Position-major: a position's `kv_heads` heads side by side, as the
    /// k and v projections write them (`kv_dim` values per position).
    pub fn positions(kv_heads: usize, head_dim: usize) -> KvLayout {
        KvLayout {
            head_stride: head_dim,
            pos_stride: kv_heads * head_dim,
            head_dim,
        }
    }

    /// Head-major: each head's positions contiguous, room for `cap` of
    /// them per head (the [`KvCache`]'s layout).
    pub fn heads(cap: usize, head_dim: usize) -> KvLayout {
        KvLayout {
            head_stride: cap * head_dim,
            pos_stride: head_dim,
            head_dim,
        }
    }

    /// KV head `kvh`'s view of `data`, keys or values in this layout.
    pub fn view<T>(self, data: &[T], kvh: usize) -> HeadView<'_, T> {
        HeadView {
            data,
            stride: self.pos_stride,
            off: kvh * self.head_stride,
            len: self.head_dim,
        }
    }
}

/// One layer's keys and values, in either element type.
#[derive(Debug, Clone, Copy)]
pub enum KvData<'a> {
    F32(&'a [f32], &'a [f32]),
    F16(&'a [f16], &'a [f16]),
}

/// One layer's keys and values, as attention reads them.
#[derive(Debug, Clone, Copy)]
pub struct LayerKv<'a> {
    pub data: KvData<'a>,
    pub layout: KvLayout,
}

/// A buffer of one layer's keys or values.
#[derive(Debug, Clone)]
enum Buf {
    F32(Vec<f32>),
    F16(Vec<f16>),
}

impl Buf {
    fn new(p: KvPrecision) -> Buf {
        match p {
            KvPrecision::F32 => Buf::F32(Vec::new()),
            KvPrecision::F16 => Buf::F16(Vec::new()),
        }
    }

    /// Writes `rows` (position-major, `kv_dim` values each) at positions
    /// `at..` of head-major runs of `cap` positions.
    fn scatter(&mut self, rows: &[f32], hd: usize, kv_dim: usize, cap: usize, at: usize) {
        fn go<T: KvElem>(
            dst: &mut [T],
            rows: &[f32],
            hd: usize,
            kvd: usize,
            cap: usize,
            at: usize,
        ) {
            for (r, row) in rows.chunks_exact(kvd).enumerate() {
                for (h, x) in row.chunks_exact(hd).enumerate() {
                    let d = &mut dst[(h * cap + at + r) * hd..][..hd];
                    for (d, &x) in d.iter_mut().zip(x) {
                        *d = T::narrow(x);
                    }
                }
            }
        }
        match self {
            Buf::F32(v) => go(v, rows, hd, kv_dim, cap, at),
            Buf::F16(v) => go(v, rows, hd, kv_dim, cap, at),
        }
    }

    /// The same heads' first `len` positions in runs of `cap` positions
    /// instead of `old` (`cap >= old`), every page written once now; `None`
    /// when the memory cannot be had.
    fn regrow(&self, heads: usize, hd: usize, old: usize, cap: usize, len: usize) -> Option<Buf> {
        fn go<T: KvElem>(
            src: &[T],
            heads: usize,
            hd: usize,
            old: usize,
            cap: usize,
            len: usize,
        ) -> Option<Vec<T>> {
            let values = heads.checked_mul(cap)?.checked_mul(hd)?;
            let mut v = Vec::new();
            v.try_reserve_exact(values).ok()?;
            v.resize(values, T::default());
            if old > 0 {
                for (h, run) in src.chunks_exact(old * hd).enumerate() {
                    v[h * cap * hd..][..len * hd].copy_from_slice(&run[..len * hd]);
                }
            }
            Some(v)
        }
        Some(match self {
            Buf::F32(v) => Buf::F32(go(v, heads, hd, old, cap, len)?),
            Buf::F16(v) => Buf::F16(go(v, heads, hd, old, cap, len)?),
        })
    }

    #[cfg(test)]
    fn addr(&self) -> usize {
        match self {
            Buf::F32(v) => v.as_ptr() as usize,
            Buf::F16(v) => v.as_ptr() as usize,
        }
    }
}

/// One layer's keys and values: `cap` positions of room per KV head.
#[derive(Debug, Clone)]
struct Layer {
    k: Buf,
    v: Buf,
    cap: usize,
}

/// Keys and values of past positions, per layer, head-major.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<Layer>,
    len: usize,
    kv_heads: usize,
    head_dim: usize,
    /// The most positions there can be (the model's context).
    max: usize,
    precision: KvPrecision,
}

impl KvCache {
    /// An empty cache of `layers` layers of `kv_heads` heads of `head_dim`
    /// values, for up to `max` positions.
    pub(crate) fn new(
        layers: usize,
        kv_heads: usize,
        head_dim: usize,
        max: usize,
        precision: KvPrecision,
    ) -> KvCache {
        let layer = Layer {
            k: Buf::new(precision),
            v: Buf::new(precision),
            cap: 0,
        };
        KvCache {
            layers: vec![layer; layers],
            len: 0,
            kv_heads,
            head_dim,
            max,
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
    /// Sets the number of cached positions: after a batch every layer
    /// pushed, or back (what lies past it is written over by the next push).
    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len;
    }
    /// Writes rows of keys and values (position-major, `kv_dim` values
    /// each) of layer `l` at positions `len..`, which [`KvCache::reserve`]
    /// made room for.
    pub(crate) fn push(&mut self, l: usize, k: &[f32], v: &[f32]) {
        let (hd, kvd) = (self.head_dim, self.kv_heads * self.head_dim);
        let layer = &mut self.layers[l];
        debug_assert!(self.len + k.len() / kvd <= layer.cap, "room reserved");
        layer.k.scatter(k, hd, kvd, layer.cap, self.len);
        layer.v.scatter(v, hd, kvd, layer.cap, self.len);
    }
    /// Layer `l`'s keys and values.
    pub(crate) fn layer(&self, l: usize) -> LayerKv<'_> {
        let layer = &self.layers[l];
        let data = match (&layer.k, &layer.v) {
            (Buf::F32(k), Buf::F32(v)) => KvData::F32(k, v),
            (Buf::F16(k), Buf::F16(v)) => KvData::F16(k, v),
            _ => unreachable!("one precision per cache"),
        };
        LayerKv {
            data,
            layout: KvLayout::heads(layer.cap, self.head_dim),
        }
    }
    /// Room for `positions` positions in every layer, the cached ones kept,
    /// the new room written once now. `exact`: that much; otherwise at
    /// least twice the present room, up to the context (appending a token
    /// at a time copies each value a bounded number of times). Fails
    /// (naming `positions`) when the memory cannot be had; layers grown
    /// before then keep their room.
    pub(crate) fn reserve(&mut self, positions: usize, exact: bool) -> Result<()> {
        let (heads, hd, len) = (self.kv_heads, self.head_dim, self.len);
        for i in 0..self.layers.len() {
            let old = self.layers[i].cap;
            if positions <= old {
                continue;
            }
            let cap = match exact {
                true => positions,
                false => positions.max(old.saturating_mul(2).min(self.max)),
            };
            let layer = &self.layers[i];
            let grown = layer
                .k
                .regrow(heads, hd, old, cap, len)
                .zip(layer.v.regrow(heads, hd, old, cap, len));
            let Some((k, v)) = grown else {
                let bytes = positions
                    .saturating_mul(heads * hd)
                    .saturating_mul(self.precision.bytes())
                    .saturating_mul(2 * self.layers.len());
                return Err(Error::Alloc {
                    what: format!(
                        "a KV cache of {positions} positions ({})",
                        self.precision.name()
                    ),
                    bytes,
                });
            };
            self.layers[i] = Layer { k, v, cap };
        }
        Ok(())
    }
    /// Where each layer's keys and values start (a test's check that they
    /// never move).
    #[cfg(test)]
    pub(crate) fn addrs(&self) -> Vec<usize> {
        self.layers
            .iter()
            .flat_map(|l| [l.k.addr(), l.v.addr()])
            .collect()
    }
    /// Each layer's room in positions.
    #[cfg(test)]
    pub(crate) fn capacities(&self) -> Vec<usize> {
        self.layers.iter().map(|l| l.cap).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Head `h`, position `j`, value `d` of layer `l` in a cache `c`.
    fn at(c: &KvCache, l: usize, h: usize, j: usize) -> (Vec<f32>, Vec<f32>) {
        let kv = c.layer(l);
        let row = |d: &[f32]| kv.layout.view(d, h).at(j).to_vec();
        let wide = |d: &[f16]| {
            kv.layout
                .view(d, h)
                .at(j)
                .iter()
                .map(|x| x.widen())
                .collect()
        };
        match kv.data {
            KvData::F32(k, v) => (row(k), row(v)),
            KvData::F16(k, v) => (wide(k), wide(v)),
        }
    }

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
        let mut c = KvCache::new(1, 1, 9, 4, KvPrecision::F16);
        c.reserve(1, true).unwrap();
        c.push(0, &xs, &xs);
        let (k, v) = at(&c, 0, 0, 0);
        for (i, w) in want.iter().enumerate() {
            assert_eq!(k[i].to_bits(), w.to_bits(), "{}", xs[i]);
            assert_eq!(v[i].to_bits(), w.to_bits(), "{}", xs[i]);
        }
        let mut c = KvCache::new(2, 1, 9, 4, KvPrecision::F32);
        c.reserve(1, false).unwrap();
        c.push(1, &xs, &want);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let (k, v) = at(&c, 1, 0, 0);
        assert_eq!((bits(&k), bits(&v)), (bits(&xs), bits(&want)));
    }

    /// Rows pushed a batch at a time through growth by doubling and exact
    /// reserves read back head by head where they were pushed; a reserve
    /// within the room moves nothing.
    #[test]
    fn pushed_rows_read_back_by_head_through_growth() {
        let (layers, heads, hd, max) = (2, 3, 4, 40);
        // Distinct and exact in f16 (integers of at most 11 bits), the layers
        // told apart by their sign.
        let val = |l: usize, j: usize, i: usize| (1 + i + 64 * j) as f32 * [1.0, -1.0][l];
        for p in [KvPrecision::F32, KvPrecision::F16] {
            let mut c = KvCache::new(layers, heads, hd, max, p);
            let mut caps = Vec::new();
            for batch in [3usize, 1, 1, 2, 1, 9, 1, 5] {
                let len = c.len();
                if batch == 9 {
                    c.reserve(len + 20, true).unwrap();
                } else {
                    c.reserve(len + batch, false).unwrap();
                }
                caps.push(c.capacities()[0]);
                let before = c.addrs();
                c.reserve(len + batch, false).unwrap();
                assert_eq!(c.addrs(), before, "{p:?} a reserve within the room");
                for l in 0..layers {
                    let rows = |off: usize| -> Vec<f32> {
                        (len..len + batch)
                            .flat_map(|j| (0..heads * hd).map(move |i| val(l, j, i + off)))
                            .collect()
                    };
                    c.push(l, &rows(0), &rows(50));
                }
                c.set_len(len + batch);
                for l in 0..layers {
                    for h in 0..heads {
                        for j in 0..c.len() {
                            let want = |off| (0..hd).map(|d| val(l, j, h * hd + d + off)).collect();
                            assert_eq!(at(&c, l, h, j), (want(0), want(50)), "{p:?} {l} {h} {j}");
                        }
                    }
                }
            }
            // 3, doubled (6), kept, doubled (12), kept, exactly 8 + 20,
            // kept while the rows fit.
            assert_eq!(caps, [3, 6, 6, 12, 12, 28, 28, 28], "{p:?}");
            let e = c.reserve(usize::MAX / 4, true).unwrap_err().to_string();
            assert!(e.contains(&format!("{} positions", usize::MAX / 4)), "{e}");
            assert!(e.contains(p.name()), "{e}");
            assert_eq!(
                at(&c, 1, 2, 22).0[3],
                val(1, 22, 11),
                "kept after a failure"
            );
        }
    }

    /// Growth by doubling stops at the context.
    #[test]
    fn doubling_stops_at_the_context() {
        let mut c = KvCache::new(1, 1, 2, 10, KvPrecision::F32);
        for (want, cap) in [(6, 6), (7, 10), (10, 10)] {
            c.reserve(want, false).unwrap();
            assert_eq!(c.capacities(), [cap]);
        }
    }
}
