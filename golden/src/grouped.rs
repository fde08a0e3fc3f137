//! Attention of one token row (a decode step) by KV head groups, in three
//! jobs whose items spread over any number of threads while each KV head's
//! keys and values are read once for all of its query heads:
//!
//! 1. scores: one item per (KV head, run of positions), the dot products
//!    of the KV head's query heads with the run's keys;
//! 2. softmax: one item per query head, its scores gathered from the runs;
//! 3. outputs: one item per (KV head, part of the head dimensions), the
//!    query heads' sums over every position of the values' part.
//!
//! Each head's operations are [`crate::attention::attend_head`]'s, in its
//! order: a score is `dot(q, k_j) * scale` whatever run it is in, softmax
//! is over the whole row, and an output dimension's sum runs over the
//! positions in order from zero (dimensions are independent, so a part of
//! them is the same bits as all of them). Per (row, head) or per pair of
//! heads ([`crate::attention::HeadFns`]), a decode step has as many items
//! as heads or pairs, each reading its KV head's keys and values again
//! (2B4T: four query heads per KV head), and whole-group items would be
//! as few as KV heads (five: three on one of two threads, two on the other).

use half::f16;

use crate::config::ModelConfig;
use crate::kv::{HeadView, KvData, KvElem, LayerKv};
use crate::ops::{dot_widened, softmax};
use crate::rows::RowFn;

/// The scores of one KV head's query heads at `len` positions from `from`:
/// `q` holds the `g` heads (`g * k.len` values), `out` `g` rows of `len`,
/// `out[h * len + j] = dot(q_h, k_{from + j}) * scale` in the golden order
/// ([`group_scores`]).
pub type ScoresFn<T = f32> =
    fn(q: &[f32], k: HeadView<'_, T>, scale: f32, from: usize, out: &mut [f32]);

/// The outputs of one KV head's `g` query heads over the dimensions of
/// `v` (a part of a head's: `v.len` of them): `p` holds `g` rows of `n`
/// probabilities (positions `0..n`), `out` (`g` rows of `v.len`, zeroed)
/// gets `out[h * v.len + d] += p_h[j] * v_j[d]` for `j` in order (the
/// golden [`group_outputs`]).
pub type OutputsFn<T = f32> = fn(p: &[f32], v: HeadView<'_, T>, out: &mut [f32]);

/// A backend's [`ScoresFn`]s and [`OutputsFn`]s (f32 and f16 caches), and
/// from what size of one KV head's keys and values (bytes, both) on a
/// decode step runs by groups ([`attend_row`]).
#[derive(Debug, Clone, Copy)]
pub struct GroupFns {
    pub scores: (ScoresFn<f32>, ScoresFn<f16>),
    pub outputs: (OutputsFn<f32>, OutputsFn<f16>),
    pub min_kv_bytes: usize,
}

impl GroupFns {
    /// The golden ones, from any size on (for tests).
    pub fn golden() -> GroupFns {
        GroupFns {
            scores: (group_scores::<f32>, group_scores::<f16>),
            outputs: (group_outputs::<f32>, group_outputs::<f16>),
            min_kv_bytes: 0,
        }
    }
}

/// The golden [`ScoresFn`].
pub fn group_scores<T: KvElem>(
    q: &[f32],
    k: HeadView<'_, T>,
    scale: f32,
    from: usize,
    out: &mut [f32],
) {
    let Some((_, len)) = group_rows(q.len(), k.len, out.len()) else {
        return;
    };
    let hd = k.len;
    for (qh, oh) in q.chunks_exact(hd).zip(out.chunks_exact_mut(len)) {
        for (j, s) in oh.iter_mut().enumerate() {
            *s = dot_widened(qh, k.at(from + j)) * scale;
        }
    }
}

/// The golden [`OutputsFn`].
pub fn group_outputs<T: KvElem>(p: &[f32], v: HeadView<'_, T>, out: &mut [f32]) {
    let Some((_, n)) = group_rows(out.len(), v.len, p.len()) else {
        return;
    };
    let dims = v.len;
    for (ph, oh) in p.chunks_exact(n).zip(out.chunks_exact_mut(dims)) {
        for (j, &pj) in ph.iter().enumerate() {
            for (od, &vd) in oh.iter_mut().zip(v.at(j)) {
                *od += pj * vd.widen();
            }
        }
    }
}

/// A group function's heads and row length: `g = a / unit` heads of `unit`
/// values in `a` (the queries or outputs), and rows of `b / g` in `b` (the
/// scores or probabilities); `None` where there is nothing to compute.
pub fn group_rows(a: usize, unit: usize, b: usize) -> Option<(usize, usize)> {
    let g = a.checked_div(unit)?;
    let len = b.checked_div(g)?;
    (len > 0).then_some((g, len))
}

/// Positions per scores item at most (a run of 2B4T keys: 256 KB f32).
/// On Zen 3 (2 threads, 2,048 positions from memory) 256 and 2,048 (one
/// item per KV head) took 1.03-1.1x the time.
const SCORE_RUN: usize = 512;

/// Head dimensions per outputs item (where the head's are a multiple):
/// whole 2B4T heads. Parts of 32 and 64 took 1.2-1.5x the time on Zen 3
/// (2 threads, 2,048 positions from memory): each item then reads a part
/// of every value row, strided, and the items of a KV head read the
/// same rows' lines in turn, where whole rows are one stream per item.
const DIM_PART: usize = 128;

/// The attention of one token row: `q` (its query heads), positions
/// `0..n` of `kv` (the row's own last), into `out` (`q_dim` values);
/// `work` is scratch. Needs `c.num_heads` a multiple of `c.num_kv_heads`
/// (as [`crate::attention::attention`]) and `n` >= 1.
#[allow(clippy::too_many_arguments)]
pub fn attend_row(
    c: &ModelConfig,
    q: &[f32],
    kv: LayerKv<'_>,
    n: usize,
    out: &mut Vec<f32>,
    work: &mut Vec<f32>,
    fns: GroupFns,
    run_rows: impl FnMut(&mut [f32], usize, &RowFn<'_>),
) {
    let shape = Shape::new(c, n);
    out.clear();
    out.resize(c.q_dim(), 0.0);
    match kv.data {
        KvData::F32(k, v) => shape.run(
            q,
            (k, v),
            kv.layout,
            (fns.scores.0, fns.outputs.0),
            out,
            work,
            run_rows,
        ),
        KvData::F16(k, v) => shape.run(
            q,
            (k, v),
            kv.layout,
            (fns.scores.1, fns.outputs.1),
            out,
            work,
            run_rows,
        ),
    }
}

/// How [`attend_row`] splits its work.
#[derive(Debug, Clone, Copy)]
struct Shape {
    hd: usize,
    /// Query heads per KV head, and KV heads.
    g: usize,
    kvh: usize,
    /// Positions, the positions per scores item and items per KV head.
    n: usize,
    run: usize,
    runs: usize,
    /// Dimensions per outputs item and items per KV head.
    part: usize,
    parts: usize,
}

impl Shape {
    fn new(c: &ModelConfig, n: usize) -> Shape {
        let hd = c.head_dim;
        // Runs of equal length (a multiple of 8), the last one shorter.
        let runs = n.div_ceil(SCORE_RUN);
        let run = n.div_ceil(runs).next_multiple_of(8);
        let part = if hd.is_multiple_of(DIM_PART) {
            DIM_PART
        } else {
            hd
        };
        Shape {
            hd,
            g: c.num_heads / c.num_kv_heads,
            kvh: c.num_kv_heads,
            n,
            run,
            runs: n.div_ceil(run),
            part,
            parts: hd / part,
        }
    }

    /// Run `r`'s first position and length.
    fn run_of(self, r: usize) -> (usize, usize) {
        let from = r * self.run;
        (from, self.run.min(self.n - from))
    }

    #[allow(clippy::too_many_arguments)]
    fn run<T: KvElem>(
        self,
        q: &[f32],
        (k, v): (&[T], &[T]),
        layout: crate::kv::KvLayout,
        (scores, outputs): (ScoresFn<T>, OutputsFn<T>),
        out: &mut [f32],
        work: &mut Vec<f32>,
        mut run_rows: impl FnMut(&mut [f32], usize, &RowFn<'_>),
    ) {
        let Shape {
            hd,
            g,
            n,
            run,
            runs,
            part,
            parts,
            ..
        } = self;
        let heads = g * self.kvh;
        let scale = (1.0 / (hd as f64).sqrt()) as f32;
        // Three regions: the scores items' rows (g rows of a run each), the
        // softmax items' (one head's n probabilities), the outputs items'
        // (g rows of a part each). Every value is written before it is read.
        let (sa, sb) = (self.kvh * runs * g * run, heads * n);
        work.resize(sa + sb + heads * hd, 0.0);
        let (wa, rest) = work.split_at_mut(sa);
        let (wb, wc) = rest.split_at_mut(sb);
        run_rows(wa, g * run, &|i, row| {
            let (kh, (from, len)) = (i / runs, self.run_of(i % runs));
            let qg = &q[kh * g * hd..][..g * hd];
            scores(qg, layout.view(k, kh), scale, from, &mut row[..g * len]);
        });
        let wa = &*wa;
        run_rows(wb, n, &|h, row| {
            let (kh, hh) = (h / g, h % g);
            for r in 0..runs {
                let (from, len) = self.run_of(r);
                let src = &wa[(kh * runs + r) * g * run + hh * len..][..len];
                row[from..from + len].copy_from_slice(src);
            }
            softmax(row);
        });
        let wb = &*wb;
        run_rows(wc, g * part, &|i, row| {
            let (kh, pi) = (i / parts, i % parts);
            let mut view = layout.view(v, kh);
            view.off += pi * part;
            view.len = part;
            row.fill(0.0);
            outputs(&wb[kh * g * n..][..g * n], view, row);
        });
        for (i, item) in wc.chunks_exact(g * part).enumerate() {
            let (kh, pi) = (i / parts, i % parts);
            for (hh, o) in item.chunks_exact(part).enumerate() {
                out[(kh * g + hh) * hd + pi * part..][..part].copy_from_slice(o);
            }
        }
    }
}
