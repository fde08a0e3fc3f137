//! The attention rows of `tritium bench`: one decode step's attention of
//! one layer (one token row against `positions` cached keys and values,
//! all heads), from cold caches as in a forward pass at that context, with
//! an f32 and an f16 cache; where the path has group functions
//! ([`tritium_golden::grouped`]), also without them (one item per pair of
//! heads), side by side.

use tritium_golden::attention::{attention, HeadFns};
use tritium_golden::kv::{f16, KvData, KvElem, KvLayout, LayerKv};
use tritium_golden::{Backend, ModelConfig, SplitMix64};

use crate::bench_report::KernelRow;
use crate::bench_time::time_cold;
use crate::{Result, SimdBackend};

/// Positions of the attention rows when `--context` is below
/// [`MIN_CONTEXT`] (the model's context if shorter): where attention, not
/// the weights, sets a decode step's pace.
pub const DEFAULT_POSITIONS: usize = 2048;

/// Contexts from which the attention rows use `--context` itself.
pub const MIN_CONTEXT: usize = 64;

/// The positions the attention rows attend to for a `--context` of
/// `context`.
pub fn positions(c: &ModelConfig, context: usize) -> usize {
    if context >= MIN_CONTEXT {
        context
    } else {
        DEFAULT_POSITIONS.min(c.max_position_embeddings)
    }
}

/// The attention rows for each thread count, on `backend(t)`'s path with
/// `t` threads (`bandwidth(t)`: the read bandwidth measured with `t`
/// threads); `flush` is read before each timed call. `positions` must be
/// checked against the model's context first.
pub fn attention_rows(
    c: &ModelConfig,
    backend: impl Fn(usize) -> Result<SimdBackend>,
    threads: &[usize],
    positions: usize,
    (flush, reps): (&[u64], usize),
    bandwidth: impl Fn(usize) -> f64,
) -> Result<Vec<KernelRow>> {
    let (hd, kvh) = (c.head_dim, c.num_kv_heads);
    let len = kvh * positions * hd;
    let mut r = SplitMix64::new(41);
    let mut val = || (r.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
    let (k, v): (Vec<f32>, Vec<f32>) = (
        (0..len).map(|_| val()).collect(),
        (0..len).map(|_| val()).collect(),
    );
    let half = |x: &[f32]| x.iter().map(|&x| f16::narrow(x)).collect::<Vec<f16>>();
    let (k16, v16) = (half(&k), half(&v));
    let q: Vec<f32> = (0..c.q_dim()).map(|_| val()).collect();
    let layout = KvLayout::heads(positions, hd);
    let mut rows = Vec::new();
    for &t in threads {
        let mut b = backend(t)?;
        let fns = b.attention_heads();
        let mut variants = vec![(fns, "")];
        if fns.groups.is_some() {
            let pairs = HeadFns {
                groups: None,
                ..fns
            };
            variants = vec![(fns, " (groups)"), (pairs, " (pairs)")];
        }
        for (data, elem) in [(KvData::F32(&k, &v), 4), (KvData::F16(&k16, &v16), 2)] {
            let kv = LayerKv { data, layout };
            for &(heads, how) in &variants {
                let (mut out, mut work) = (Vec::new(), Vec::new());
                let dt = time_cold(flush, reps, || {
                    attention(
                        c,
                        &q,
                        kv,
                        1,
                        positions - 1,
                        &mut out,
                        &mut work,
                        heads,
                        |w, d, f| b.for_each_row(w, d, f),
                    );
                    Ok(())
                })?
                .as_secs_f64();
                let bytes = 2 * len * elem;
                let gb_s = bytes as f64 / dt / 1e9;
                let cache = if elem == 4 { "f32" } else { "f16" };
                rows.push(KernelRow {
                    name: format!("attention {positions} pos {cache}"),
                    kernel: format!("{}{how}", b.name()),
                    n: c.num_heads,
                    k: positions,
                    tokens: 1,
                    threads: t,
                    bytes,
                    seconds_per_call: dt,
                    gb_s,
                    // Scores and outputs: a multiply-add per head, position
                    // and dimension each.
                    gmac_s: (2 * c.num_heads * positions * hd) as f64 / dt / 1e9,
                    fraction_of_bandwidth: gb_s / bandwidth(t),
                    fraction_of_peak: None,
                });
            }
        }
    }
    Ok(rows)
}
