//! Attention of the shared network code, below both the [`crate::Backend`]
//! trait (whose attention hooks default to these functions) and the
//! [`crate::Session`] forward pass that calls them.
//!
//! The golden order of one head is [`attend_head`]; [`attention`] applies it
//! to every (query row, head) pair of a batch, causal and grouped-query.

use half::f16;

use crate::config::ModelConfig;
use crate::grouped::{attend_row, GroupFns};
pub use crate::kv::HeadView;
use crate::kv::{KvData, KvElem, LayerKv};
use crate::ops::{dot_widened, softmax};
pub use crate::rows::{each_row, each_row2, RowFn};

/// The work of one (query row, head) pair: `scores` (length = positions
/// attended) and `out` (head_dim, zeroed) are written. See [`attend_head`].
/// `T` is the cache's element type.
pub type HeadFn<T = f32> = fn(
    q: &[f32],
    k: HeadView<'_, T>,
    v: HeadView<'_, T>,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
);

/// The golden order of one head: `s_j = dot(q, k_j) * scale`
/// ([`crate::ops::dot`]'s pinned order, f32 scale), [`softmax`], then
/// `out[d] += p_j * v_j[d]` sequentially over `j` (multiply, then add;
/// `out` starts at zero). Cached f16 values are widened exactly first.
pub fn attend_head<T: KvElem>(
    q: &[f32],
    k: HeadView<'_, T>,
    v: HeadView<'_, T>,
    scale: f32,
    sc: &mut [f32],
    o: &mut [f32],
) {
    for (j, s) in sc.iter_mut().enumerate() {
        *s = dot_widened(q, k.at(j)) * scale;
    }
    softmax(sc);
    for (j, &p) in sc.iter().enumerate() {
        for (od, &vd) in o.iter_mut().zip(v.at(j)) {
            *od += p * vd.widen();
        }
    }
}

/// Two query heads of one KV head at once: `q` holds both (`2 * head_dim`
/// values), `sc[i]` and `out[i]` are head `i`'s. Each head's result must be
/// [`HeadFn`]'s bits; a pair reads the shared keys and values once.
pub type PairFn<T = f32> = fn(
    q: &[f32],
    k: HeadView<'_, T>,
    v: HeadView<'_, T>,
    scale: f32,
    scores: [&mut [f32]; 2],
    out: [&mut [f32]; 2],
);

/// The golden [`PairFn`]: [`attend_head`] for each of the two heads (what
/// a pair function must reproduce, and a kernel's fallback).
pub fn attend_pair<T: KvElem>(
    q: &[f32],
    k: HeadView<'_, T>,
    v: HeadView<'_, T>,
    scale: f32,
    [sa, sb]: [&mut [f32]; 2],
    [oa, ob]: [&mut [f32]; 2],
) {
    let (qa, qb) = q.split_at(q.len() / 2);
    attend_head(qa, k, v, scale, sa, oa);
    attend_head(qb, k, v, scale, sb, ob);
}

/// Two consecutive token rows of a [`PairFn`]'s two heads at once: `q[r]`
/// holds row `r`'s two heads, `scores[2 r + i]` and `out[2 r + i]` are row
/// `r`'s head `i`'s, and row 1 attends to one position more than row 0 (its
/// scores are one longer). Each head's result must be [`HeadFn`]'s bits; a
/// prompt's keys and values are read once for the four.
pub type QuadFn<T = f32> = fn(
    q: [&[f32]; 2],
    k: HeadView<'_, T>,
    v: HeadView<'_, T>,
    scale: f32,
    scores: [&mut [f32]; 4],
    out: [&mut [f32]; 4],
);

/// The golden [`QuadFn`]: [`attend_pair`] for each of the two rows.
pub fn attend_quad<T: KvElem>(
    q: [&[f32]; 2],
    k: HeadView<'_, T>,
    v: HeadView<'_, T>,
    scale: f32,
    [s0, s1, s2, s3]: [&mut [f32]; 4],
    [o0, o1, o2, o3]: [&mut [f32]; 4],
) {
    attend_pair(q[0], k, v, scale, [s0, s1], [o0, o1]);
    attend_pair(q[1], k, v, scale, [s2, s3], [o2, o3]);
}

/// The per-head functions of a backend, one per cache element type, and
/// optionally per pair of query heads sharing a KV head, and per two token
/// rows of such a pair.
#[derive(Debug, Clone, Copy)]
pub struct HeadFns {
    pub f32: HeadFn<f32>,
    pub f16: HeadFn<f16>,
    /// With grouped-query attention (an even number of query heads per KV
    /// head), the work items are pairs of heads run by these, when given.
    pub pairs: Option<(PairFn<f32>, PairFn<f16>)>,
    /// With pairs, a prompt's items are two token rows of a pair run by
    /// these, when given (a last odd row by the pair function), once a KV
    /// head's keys and values take more than `min_kv_bytes`.
    pub quads: Option<Quads>,
    /// A decode step's (one token row's) items by KV head groups
    /// ([`crate::grouped`]), when given, once a KV head's keys and values
    /// take more than their `min_kv_bytes`.
    pub groups: Option<GroupFns>,
}

/// A backend's [`QuadFn`]s and from what size of a KV head's keys and
/// values (bytes, both) on they pay: each key and value row serves four
/// heads' rows instead of two, which saves the trips to memory once they
/// no longer stay in a core's cache, and costs a little where they do.
#[derive(Debug, Clone, Copy)]
pub struct Quads {
    pub f32: QuadFn<f32>,
    pub f16: QuadFn<f16>,
    pub min_kv_bytes: usize,
}

impl Quads {
    /// The golden ones, from any size on (for tests).
    pub fn golden() -> Quads {
        Quads {
            f32: attend_quad::<f32>,
            f16: attend_quad::<f16>,
            min_kv_bytes: 0,
        }
    }
}

impl Default for HeadFns {
    /// The golden ones (one head per item).
    fn default() -> HeadFns {
        HeadFns {
            f32: attend_head::<f32>,
            f16: attend_head::<f16>,
            pairs: None,
            quads: None,
            groups: None,
        }
    }
}

/// Causal grouped-query attention of `rows` new queries (positions
/// `start..start + rows`) against all cached keys/values `kv` (which
/// already hold the new rows). Query head `h` reads KV head
/// `h / (heads / kv_heads)`. Each (row, head) is computed by `heads`' function
/// for the cache's element type (the golden [`attend_head`] or a backend's
/// bit-identical version), or with `heads.pairs` by its function for two
/// query heads of one KV head at once (where the group size is even: the
/// shared keys and values are read half as often); `run_rows(work, w, f)`
/// runs `f` over the independent `w`-sized work rows, one per (row, head)
/// or (row, pair of heads), head by head, in any order and on any threads
/// ([`each_row`], or a backend's [`crate::Backend::for_each_row`]). With
/// `heads.groups`, one token row runs by KV head groups instead, in three
/// such jobs ([`attend_row`]).
#[allow(clippy::too_many_arguments)]
pub fn attention(
    c: &ModelConfig,
    q: &[f32],
    kv: LayerKv<'_>,
    rows: usize,
    start: usize,
    out: &mut Vec<f32>,
    work: &mut Vec<f32>,
    heads: HeadFns,
    mut run_rows: impl FnMut(&mut [f32], usize, &RowFn<'_>),
) {
    let (hd, qd) = (c.head_dim, c.q_dim());
    let group = c.num_heads / c.num_kv_heads;
    let scale = (1.0 / (hd as f64).sqrt()) as f32;
    let max_len = start + rows;
    // One work row per (token row, head): its output, then its scores.
    // Only the outputs start at zero (the head functions add into them);
    // every score is written before it is read, so the scores are not
    // cleared (a 1,024-token prompt's work rows are 94 MB per layer).
    let w = hd + max_len;
    // Query heads per work item: 2 (consecutive heads, one KV head, and
    // adjacent work rows) where the backend has a pair function; token rows
    // per item: 2 where it also has a quad function (the rows padded to
    // whole items; a last odd row runs alone).
    let per = match heads.pairs {
        Some(_) if group.is_multiple_of(2) => 2,
        _ => 1,
    };
    let pairs = heads.pairs.filter(|_| per == 2);
    let elem = match kv.data {
        KvData::F32(..) => std::mem::size_of::<f32>(),
        KvData::F16(..) => std::mem::size_of::<f16>(),
    };
    let kv_bytes = 2 * max_len * hd * elem;
    if let Some(g) = heads
        .groups
        .filter(|g| rows == 1 && kv_bytes > g.min_kv_bytes)
    {
        return attend_row(c, q, kv, max_len, out, work, g, run_rows);
    }
    let quads = heads
        .quads
        .filter(|qf| per == 2 && kv_bytes > qf.min_kv_bytes);
    let rb = if quads.is_some() { 2 } else { 1 };
    let blocks = rows.div_ceil(rb);
    let size = rb * per * w;
    work.resize(c.num_heads / per * blocks * size, 0.0);
    for row in work.chunks_exact_mut(w) {
        row[..hd].fill(0.0);
    }
    // Items head by head (item i: heads from i / blocks * per, token rows
    // from i % blocks * rb): items taken in order share their KV head's
    // keys and values, which a long prompt's thread then finds in its
    // cache (row by row, each item read another KV head's, and at 1,024
    // positions the five of 2B4T, 5 MB, streamed from memory for every row).
    let first = |i: usize| (i / blocks * per, i % blocks * rb);
    run_rows(work, size, &|i, item| {
        let (h, r0) = first(i);
        let nr = rb.min(rows - r0);
        let kvh = h / group;
        let qr = |r: usize| &q[r * qd + h * hd..r * qd + (h + per) * hd];
        let qs = [qr(r0), qr(r0 + nr - 1)];
        let wr = WorkRows {
            hd,
            w,
            len: start + r0 + 1,
            rows: nr,
        };
        match kv.data {
            KvData::F32(kc, vc) => {
                let view = |d| kv.layout.view(d, kvh);
                let fns = (heads.f32, pairs.map(|p| p.0), quads.map(|p| p.f32));
                wr.attend(fns, qs, view(kc), view(vc), scale, item)
            }
            KvData::F16(kc, vc) => {
                let view = |d| kv.layout.view(d, kvh);
                let fns = (heads.f16, pairs.map(|p| p.1), quads.map(|p| p.f16));
                wr.attend(fns, qs, view(kc), view(vc), scale, item)
            }
        }
    });
    out.clear();
    out.resize(rows * qd, 0.0);
    for (j, row) in work.chunks_exact(w).enumerate() {
        // Work row j: token row rr, head p of item j / (rb * per).
        let (i, rr, p) = (j / (rb * per), j / per % rb, j % per);
        let (h, r) = first(i);
        let (r, h) = (r + rr, h + p);
        if r < rows {
            out[r * qd + h * hd..][..hd].copy_from_slice(&row[..hd]);
        }
    }
}

/// The shape of one work item's rows: each `w` values, a head's output
/// (`hd`) then its scores (the first `len` used by the item's first token
/// row, one more by each next); `rows` token rows (of one or two heads).
#[derive(Clone, Copy)]
struct WorkRows {
    hd: usize,
    w: usize,
    len: usize,
    rows: usize,
}

/// A cache type's head, pair and quad functions.
type Fns<T> = (HeadFn<T>, Option<PairFn<T>>, Option<QuadFn<T>>);

impl WorkRows {
    /// Runs one item: two rows of two heads with the quad function when
    /// given and the item has two rows, two heads with the pair function
    /// when given, else one head with the head function (`q[0]`, and for
    /// a second row `q[1]`, hold the item's heads of each row).
    fn attend<T>(
        self,
        (head, pair, quad): Fns<T>,
        q: [&[f32]; 2],
        k: HeadView<'_, T>,
        v: HeadView<'_, T>,
        scale: f32,
        item: &mut [f32],
    ) {
        let WorkRows { hd, w, len, rows } = self;
        // Work row j of the item (of head j % 2 with two heads) as its
        // output and the scores of its `len + r` positions (token row r).
        let mut parts = item.chunks_exact_mut(w).map(|row| row.split_at_mut(hd));
        let mut next = |r: usize| {
            let (o, sc) = parts.next().expect("the item's work rows");
            (o, &mut sc[..len + r])
        };
        match (pair, quad) {
            (Some(_), Some(quad)) if rows == 2 => {
                let (a, b, c, d) = (next(0), next(0), next(1), next(1));
                quad(q, k, v, scale, [a.1, b.1, c.1, d.1], [a.0, b.0, c.0, d.0])
            }
            (Some(pair), _) => {
                let ((oa, sa), (ob, sb)) = (next(0), next(0));
                pair(q[0], k, v, scale, [sa, sb], [oa, ob])
            }
            (None, _) => {
                let (o, sc) = next(0);
                head(q[0], k, v, scale, sc, o)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;
    use crate::kv::KvLayout;

    /// Position-major keys and values `k`, `v` of `c`'s layers as attention
    /// reads them.
    fn by_pos<'a>(c: &ModelConfig, k: &'a [f32], v: &'a [f32]) -> LayerKv<'a> {
        LayerKv {
            data: KvData::F32(k, v),
            layout: KvLayout::positions(c.num_kv_heads, c.head_dim),
        }
    }

    /// The same keys (or values) head-major, `spare` positions of room
    /// past the `n` there are.
    fn by_head(c: &ModelConfig, x: &[f32], n: usize, spare: usize) -> Vec<f32> {
        let (hd, cap) = (c.head_dim, n + spare);
        let mut out = vec![f32::NAN; c.num_kv_heads * cap * hd];
        for (j, row) in x.chunks_exact(c.kv_dim()).enumerate() {
            for (h, head) in row.chunks_exact(hd).enumerate() {
                out[(h * cap + j) * hd..][..hd].copy_from_slice(head);
            }
        }
        out
    }

    /// Items of two heads give every head's output in its place: the same
    /// bits as one head per item, for batches of rows after a cached
    /// prefix, with 2 and 4 query heads per KV head, and one (where the
    /// pairs are not used).
    #[test]
    fn pairs_of_heads_give_the_per_head_outputs() {
        for (heads, kv_heads) in [(4, 2), (8, 2), (3, 3)] {
            let c = ModelConfig {
                num_heads: heads,
                num_kv_heads: kv_heads,
                head_dim: 16,
                hidden_size: 16 * heads,
                ..Preset::Tiny.config()
            };
            let (rows, start) = (3, 5);
            let n = start + rows;
            let f = |i: usize| ((i * 7919 % 211) as f32 - 105.0) / 50.0;
            let q: Vec<f32> = (0..rows * c.q_dim()).map(f).collect();
            let k: Vec<f32> = (0..n * c.kv_dim()).map(|i| f(i + 3)).collect();
            let v: Vec<f32> = (0..n * c.kv_dim()).map(|i| f(i + 11)).collect();
            let run_on = |kv: LayerKv<'_>, heads: HeadFns| {
                let (mut out, mut work) = (Vec::new(), Vec::new());
                let each = |w: &mut [f32], d, f: &RowFn<'_>| each_row(w, d, f);
                attention(&c, &q, kv, rows, start, &mut out, &mut work, heads, each);
                out
            };
            let run = |heads: HeadFns| run_on(by_pos(&c, &k, &v), heads);
            let want = run(HeadFns::default());
            // The same keys and values head-major (the cache's layout).
            let (kh, vh) = (by_head(&c, &k, n, 2), by_head(&c, &v, n, 2));
            let heads_kv = LayerKv {
                data: KvData::F32(&kh, &vh),
                layout: KvLayout::heads(n + 2, c.head_dim),
            };
            assert!(run_on(heads_kv, HeadFns::default()) == want, "head-major");
            let pairs = HeadFns {
                pairs: Some((attend_pair::<f32>, attend_pair::<f16>)),
                ..HeadFns::default()
            };
            assert!(run(pairs) == want, "{heads} heads, {kv_heads} KV heads");
            assert!(run_on(heads_kv, pairs) == want, "{heads} heads, head-major");
            // A pair function that swaps its heads' outputs is caught.
            fn swapped(
                q: &[f32],
                k: HeadView<'_>,
                v: HeadView<'_>,
                s: f32,
                [sa, sb]: [&mut [f32]; 2],
                [oa, ob]: [&mut [f32]; 2],
            ) {
                attend_pair(q, k, v, s, [sa, sb], [ob, oa]);
            }
            let wrong = HeadFns {
                pairs: Some((swapped, attend_pair::<f16>)),
                ..HeadFns::default()
            };
            assert_eq!(run(wrong) == want, heads == kv_heads, "{heads} heads");
            // Two token rows per item (3 rows: one item of two, one of a
            // single row through the pair function), and 1, 2 and 4 rows.
            let quads = HeadFns {
                quads: Some(Quads::golden()),
                ..pairs
            };
            assert!(run(quads) == want, "{heads} heads, quads");
            assert!(run_on(heads_kv, quads) == want, "{heads} heads, quads");
            // A quad function that swaps its rows' outputs is caught.
            let wrong = HeadFns {
                quads: Some(Quads {
                    f32: swap_rows,
                    ..Quads::golden()
                }),
                ..pairs
            };
            assert_eq!(
                run(wrong) == want,
                heads == kv_heads,
                "{heads} heads, quads"
            );
        }
    }

    /// A quad function that swaps its two rows' outputs.
    fn swap_rows(
        q: [&[f32]; 2],
        k: HeadView<'_>,
        v: HeadView<'_>,
        s: f32,
        sc: [&mut [f32]; 4],
        [o0, o1, o2, o3]: [&mut [f32]; 4],
    ) {
        attend_quad(q, k, v, s, sc, [o2, o3, o0, o1]);
    }

    /// Two-row items over 1, 2, 4 and 5 rows after 0 and 3 cached
    /// positions: the per-head bits, from the quad function's size on.
    #[test]
    fn two_row_items_give_the_per_head_outputs() {
        let c = ModelConfig {
            num_heads: 4,
            num_kv_heads: 2,
            head_dim: 16,
            hidden_size: 64,
            ..Preset::Tiny.config()
        };
        for (rows, start) in [(1, 0), (2, 0), (4, 3), (5, 3)] {
            let n = start + rows;
            let f = |i: usize| ((i * 7919 % 211) as f32 - 105.0) / 50.0;
            let q: Vec<f32> = (0..rows * c.q_dim()).map(f).collect();
            let k: Vec<f32> = (0..n * c.kv_dim()).map(|i| f(i + 3)).collect();
            let v: Vec<f32> = (0..n * c.kv_dim()).map(|i| f(i + 11)).collect();
            let run = |heads: HeadFns| {
                let (mut out, mut work) = (Vec::new(), Vec::new());
                let kv = by_pos(&c, &k, &v);
                let each = |w: &mut [f32], d, f: &RowFn<'_>| each_row(w, d, f);
                attention(&c, &q, kv, rows, start, &mut out, &mut work, heads, each);
                out
            };
            let quads = |min_kv_bytes| HeadFns {
                pairs: Some((attend_pair::<f32>, attend_pair::<f16>)),
                quads: Some(Quads {
                    min_kv_bytes,
                    ..Quads::golden()
                }),
                ..HeadFns::default()
            };
            assert!(run(quads(0)) == run(HeadFns::default()), "{rows} rows");
            // Below its size the quad function is not used: one that swaps
            // its rows changes nothing there, and is caught above it.
            let kv_bytes = 2 * n * c.head_dim * 4;
            let wrong = |min_kv_bytes| HeadFns {
                quads: Some(Quads {
                    f32: swap_rows,
                    ..quads(min_kv_bytes).quads.unwrap()
                }),
                ..quads(0)
            };
            let caught = rows >= 2;
            assert_eq!(run(wrong(kv_bytes - 1)) == run(HeadFns::default()), !caught);
            assert!(run(wrong(kv_bytes)) == run(HeadFns::default()));
        }
    }

    /// One token row by KV head groups ([`crate::grouped`]): the per-head
    /// bits for 1, 2 and 4 query heads per KV head, head sizes split into
    /// parts (256) and not, one run of positions and several (a short last
    /// one), f32 and f16 caches, position- and head-major; wrong scores or
    /// outputs functions are caught, and below its size it is not used.
    #[test]
    fn one_row_by_groups_gives_the_per_head_outputs() {
        use crate::grouped::{group_outputs, group_scores, GroupFns};
        for (heads, kv_heads, hd) in [(4, 2, 64), (8, 2, 48), (3, 3, 32), (8, 2, 16), (4, 2, 256)] {
            let c = ModelConfig {
                num_heads: heads,
                num_kv_heads: kv_heads,
                head_dim: hd,
                hidden_size: hd * heads,
                ..Preset::Tiny.config()
            };
            for n in [1, 7, 8, 9, 513, 1100] {
                let f = |i: usize| ((i * 7919 % 211) as f32 - 105.0) / 50.0;
                let q: Vec<f32> = (0..c.q_dim()).map(f).collect();
                let k: Vec<f32> = (0..n * c.kv_dim()).map(|i| f(i + 3)).collect();
                let v: Vec<f32> = (0..n * c.kv_dim()).map(|i| f(i + 11)).collect();
                let (kh, vh) = (by_head(&c, &k, n, 3), by_head(&c, &v, n, 3));
                let k16: Vec<f16> = kh.iter().map(|&x| f16::from_f32(x)).collect();
                let v16: Vec<f16> = vh.iter().map(|&x| f16::from_f32(x)).collect();
                let head_major = |data| LayerKv {
                    data,
                    layout: KvLayout::heads(n + 3, hd),
                };
                let run_on = |kv: LayerKv<'_>, heads: HeadFns| {
                    let (mut out, mut work) = (Vec::new(), Vec::new());
                    let each = |w: &mut [f32], d, f: &RowFn<'_>| each_row(w, d, f);
                    attention(&c, &q, kv, 1, n - 1, &mut out, &mut work, heads, each);
                    out
                };
                let groups = |g: GroupFns| HeadFns {
                    groups: Some(g),
                    ..HeadFns::default()
                };
                let at = format!("{heads} heads, {kv_heads} KV heads, hd {hd}, {n} positions");
                let want = run_on(by_pos(&c, &k, &v), HeadFns::default());
                let got = run_on(by_pos(&c, &k, &v), groups(GroupFns::golden()));
                assert!(got == want, "{at}");
                let got = run_on(
                    head_major(KvData::F32(&kh, &vh)),
                    groups(GroupFns::golden()),
                );
                assert!(got == want, "{at}, head-major");
                let f16_kv = head_major(KvData::F16(&k16, &v16));
                let want16 = run_on(f16_kv, HeadFns::default());
                assert!(
                    run_on(f16_kv, groups(GroupFns::golden())) == want16,
                    "{at}, f16"
                );
                // Wrong functions are caught: the first head's first and
                // last scores of a run swapped, the group's outputs in
                // reverse head order.
                fn swapped(q: &[f32], k: HeadView<'_>, s: f32, from: usize, out: &mut [f32]) {
                    let last = out.len() / (q.len() / k.len) - 1;
                    group_scores(q, k, s, from, out);
                    out.swap(0, last);
                }
                fn reversed(p: &[f32], v: HeadView<'_>, out: &mut [f32]) {
                    group_outputs(p, v, out);
                    let dims = v.len;
                    let rows: Vec<Vec<f32>> = out.chunks(dims).rev().map(<[f32]>::to_vec).collect();
                    out.copy_from_slice(&rows.concat());
                }
                let wrong_scores = GroupFns {
                    scores: (swapped, group_scores::<f16>),
                    ..GroupFns::golden()
                };
                let caught = n > 1;
                assert_eq!(
                    run_on(by_pos(&c, &k, &v), groups(wrong_scores)) == want,
                    !caught,
                    "{at}"
                );
                let wrong_outputs = GroupFns {
                    outputs: (reversed, group_outputs::<f16>),
                    ..GroupFns::golden()
                };
                // (One position: every head of a group outputs its value.)
                let caught = heads != kv_heads && n > 1;
                let got = run_on(by_pos(&c, &k, &v), groups(wrong_outputs));
                assert_eq!(got == want, !caught, "{at}");
                // Not used at or below its size: the wrong one changes nothing.
                let kv_bytes = 2 * n * hd * 4;
                let unused = GroupFns {
                    min_kv_bytes: kv_bytes,
                    ..wrong_outputs
                };
                assert!(run_on(by_pos(&c, &k, &v), groups(unused)) == want, "{at}");
            }
        }
    }

    #[test]
    fn gqa_query_heads_share_kv_heads_in_groups() {
        // One position: softmax over one key is 1, so each query head outputs its KV head's value.
        let c = Preset::Tiny.config(); // 4 query heads, 2 KV heads, head_dim 16
        let q = vec![0.5f32; c.q_dim()];
        let k = vec![0.25f32; c.kv_dim()];
        let v: Vec<f32> = (0..c.kv_dim()).map(|i| i as f32).collect();
        let (mut out, mut work) = (Vec::new(), Vec::new());
        attention(
            &c,
            &q,
            by_pos(&c, &k, &v),
            1,
            0,
            &mut out,
            &mut work,
            HeadFns::default(),
            |w, d, f| each_row(w, d, f),
        );
        for h in 0..c.num_heads {
            let kvh = h / 2;
            assert_eq!(
                &out[h * 16..(h + 1) * 16],
                &v[kvh * 16..(kvh + 1) * 16],
                "head {h}"
            );
        }
    }
}
