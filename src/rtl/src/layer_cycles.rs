//! Cycles of one decoder layer's BitLinears on the RTL, measured on a few
//! output tiles and extrapolated to the whole layer (`tritium sweep`).
//!
//! # Method
//! A 2B4T layer is ~70 M MACs per token row: on the KV260-class model that
//! is ~5 s of co-simulation per token, on the 4 x 5 array far more. But an
//! accelerator job streams the output tiles of a BitLinear one after the
//! other, each the same number of words (`beats(K)` per tile), through the
//! same pipeline: once the weight memory's prefetch has reached its steady
//! state, every further tile adds the same cycles, DRAM bytes and buffer
//! reads. So for a fixed K, token rows and memory, each counter of each
//! BitLinear of a group (q/k/v, o, gate/up, down: one load, one run each,
//! as [`RtlBackend`] runs them) is affine in the group's tile count.
//!
//! [`measure_group`] runs the group with every BitLinear cut to `c`,
//! `c + p` and `c + 2p` output tiles (random ternary weights and int8
//! activations: cycles do not depend on the values), `c` the first count
//! from `t = 2` that differs from the BitLinear's own by whole periods `p`
//! ([`tile_period`]: a serializer packs several words per bus beat, and
//! every image starts on a beat, so a tile of an odd number of words
//! alternates between beat phases). If both differences agree for every
//! counter of every BitLinear, the counters are affine there and each
//! BitLinear's are extrapolated to its own tile count exactly
//! ([`Method::Extrapolated`] with `affine: true`).
//! Otherwise `t` doubles (the prefetch window was not yet full) up to
//! [`MAX_T`]; a memory whose bytes per cycle do not divide the bus evenly
//! gives tiles that differ by a cycle now and then, and the extrapolation
//! (the slope over the two periods) is then approximate: `affine: false`,
//! with the largest disagreement recorded. A group with too few tiles for
//! the three cuts is measured whole ([`Method::Full`]).
//!
//! `tests/layer_cycles.rs` checks, for every built configuration and both
//! phases, that the extrapolation equals a full measurement on a shape
//! small enough to run whole.

use serde::{Deserialize, Serialize};
use tritium_golden::{
    Backend, ExecStats, LinearCall, LinearId, ModelConfig, Proj, SplitMix64, TernaryMatrix,
};

use crate::error::Result;
use crate::RtlBackend;

/// The BitLinears that share one input and one job (q/k/v, o, gate/up,
/// down), as indices into `Proj::ALL`: as the network calls them.
pub const GROUPS: [&[usize]; 4] = [&[0, 1, 2], &[3], &[4, 5], &[6]];

/// First tile count tried, and the largest.
pub const FIRST_T: usize = 2;
pub const MAX_T: usize = 8;

/// The counters of one BitLinear call, as [`ExecStats`] reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCounters {
    pub cycles: u64,
    pub dram_bytes: u64,
    pub buffer_reads: u64,
    pub buffer_writes: u64,
}

impl CallCounters {
    fn of(s: &ExecStats) -> CallCounters {
        CallCounters {
            cycles: s.cycles,
            dram_bytes: s.dram_bytes,
            buffer_reads: s.buffer_reads,
            buffer_writes: s.buffer_writes,
        }
    }

    fn fields(&self) -> [u64; 4] {
        [
            self.cycles,
            self.dram_bytes,
            self.buffer_reads,
            self.buffer_writes,
        ]
    }

    fn from_fields(f: [u64; 4]) -> CallCounters {
        CallCounters {
            cycles: f[0],
            dram_bytes: f[1],
            buffer_reads: f[2],
            buffer_writes: f[3],
        }
    }
}

/// How a group's counters were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Method {
    /// Every output tile simulated.
    Full,
    /// Measured at `c`, `c + period` and `c + 2 period` tiles per
    /// BitLinear (`c` the first count from `t` in the phase of its own
    /// count) and extrapolated; `affine`: both differences agreed for
    /// every counter (the extrapolation is exact), else `max_deviation` is
    /// the largest disagreement between them (in cycles, bytes or words).
    Extrapolated {
        t: usize,
        period: usize,
        affine: bool,
        max_deviation: u64,
    },
}

/// One group measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupCycles {
    /// Counters per BitLinear of the group, for its whole shape.
    pub calls: Vec<CallCounters>,
    pub method: Method,
    /// Cycles actually simulated for it (all attempts).
    pub simulated_cycles: u64,
}

/// Random ternary weights and int8 activations of a call.
fn random_weights(n: usize, k: usize, rng: &mut SplitMix64) -> Result<TernaryMatrix> {
    let t: Vec<i8> = (0..n * k).map(|_| (rng.next_u64() % 3) as i8 - 1).collect();
    Ok(TernaryMatrix::from_ternary("sweep", n, k, &t, 1.0)?)
}

/// Runs the group of `ns` outputs over `k` inputs for `rows` token rows
/// once; the counters of each BitLinear.
fn run_group(
    rtl: &mut RtlBackend,
    ids: &[LinearId],
    ns: &[usize],
    k: usize,
    rows: usize,
    seed: u64,
) -> Result<Vec<CallCounters>> {
    let mut rng = SplitMix64::new(seed);
    let acts: Vec<i8> = (0..rows * k).map(|_| rng.next_u64() as i8).collect();
    let ws = ns
        .iter()
        .map(|&n| random_weights(n, k, &mut rng))
        .collect::<Result<Vec<_>>>()?;
    let calls: Vec<LinearCall<'_>> = ws
        .iter()
        .zip(ids)
        .map(|(w, &id)| LinearCall::new(id, w, &acts, rows, 0))
        .collect();
    let mut outs: Vec<Vec<i32>> = ns.iter().map(|&n| vec![0; rows * n]).collect();
    let mut stats = vec![ExecStats::default(); calls.len()];
    rtl.matmul_group(&calls, &mut outs, &mut stats)?;
    Ok(stats.iter().map(CallCounters::of).collect())
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Tiles after which a BitLinear's image is again aligned to the bus
/// beats: a serializer packs `M` words per beat and each run's image
/// starts on a beat, so with `w` words per tile (in each K segment) the
/// counters repeat every `M / gcd(w, M)` tiles; 1 for a deserializer.
pub fn tile_period(cfg: &tritium_golden::AccelConfig, k: usize) -> usize {
    let m = cfg.words_per_beat().max(1);
    cfg.array.segments(k).fold(1, |p, (k0, k1)| {
        let q = m / gcd(cfg.array.beats(k1 - k0), m);
        p / gcd(p, q) * q
    })
}

/// Measures the group `ids` (outputs `ns`, inputs `k`) for `rows` token
/// rows on `rtl`, extrapolating over output tiles as the module docs
/// describe; `full` simulates every tile.
pub fn measure_group(
    rtl: &mut RtlBackend,
    ids: &[LinearId],
    ns: &[usize],
    k: usize,
    rows: usize,
    full: bool,
) -> Result<GroupCycles> {
    let cfg = rtl.config().accel;
    let a = cfg.array;
    let tiles: Vec<usize> = ns.iter().map(|&n| a.tiles(n)).collect();
    let p = tile_period(&cfg, k);
    let seed = ((k as u64) << 32) ^ rows as u64;
    let mut simulated = 0u64;
    let mut t = FIRST_T;
    let mut approx = None;
    // Each BitLinear cut to c, c + p and c + 2p tiles, c the first count
    // from t in its own tile count's phase (so that T - c is whole
    // periods), all below its own count (else the whole group costs no
    // more); t doubles while the counters are not affine there.
    loop {
        let cut: Vec<usize> = tiles.iter().map(|&n| t + (n + p - t % p) % p).collect();
        if full || t > MAX_T || cut.iter().zip(&tiles).any(|(&c, &n)| c + 2 * p >= n) {
            break;
        }
        let mut m = Vec::with_capacity(3);
        for i in 0..3 {
            let rows_n: Vec<usize> = cut.iter().map(|&c| (c + i * p) * a.cols).collect();
            let r = run_group(rtl, ids, &rows_n, k, rows, seed + i as u64)?;
            simulated += r.iter().map(|x| x.cycles).sum::<u64>();
            m.push(r);
        }
        let mut dev = 0u64;
        for ((a0, a1), a2) in m[0].iter().zip(&m[1]).zip(&m[2]) {
            let (f0, f1, f2) = (a0.fields(), a1.fields(), a2.fields());
            for x in 0..4 {
                let d1 = i128::from(f1[x]) - i128::from(f0[x]);
                let d2 = i128::from(f2[x]) - i128::from(f1[x]);
                dev = dev.max(u64::try_from((d2 - d1).unsigned_abs()).unwrap_or(u64::MAX));
            }
        }
        let done = dev == 0;
        approx = Some((t, cut, m, dev));
        if done {
            break;
        }
        t *= 2;
    }
    // Not affine up to MAX_T: the last attempt, approximately; a shape too
    // small to need it: measured whole.
    let last = approx.filter(|(_, _, _, dev)| *dev == 0 || t > MAX_T);
    let Some((t, cut, m, dev)) = last else {
        let calls = run_group(rtl, ids, ns, k, rows, seed)?;
        simulated += calls.iter().map(|x| x.cycles).sum::<u64>();
        return Ok(GroupCycles {
            calls,
            method: Method::Full,
            simulated_cycles: simulated,
        });
    };
    // Each counter at tile count T: c(cut) + (c(cut + 2p) - c(cut))
    // (T - cut) / 2p, rounded (exact when affine: the two differences are
    // equal and T - cut is whole periods).
    let calls = (0..ns.len())
        .map(|j| {
            let (f0, f2) = (m[0][j].fields(), m[2][j].fields());
            let span = (tiles[j] - cut[j]) as i128;
            let two_p = 2 * p as i128;
            CallCounters::from_fields(std::array::from_fn(|x| {
                let d = i128::from(f2[x]) - i128::from(f0[x]);
                let v = i128::from(f0[x]) + (2 * d * span + two_p) / (2 * two_p);
                u64::try_from(v.max(0)).unwrap_or(u64::MAX)
            }))
        })
        .collect();
    Ok(GroupCycles {
        calls,
        method: Method::Extrapolated {
            t,
            period: p,
            affine: dev == 0,
            max_deviation: dev,
        },
        simulated_cycles: simulated,
    })
}

/// The counters of one call of every BitLinear of a layer (`Proj::ALL`
/// order) for one number of token rows, with how each group was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseCycles {
    pub rows: usize,
    pub calls: [CallCounters; 7],
    /// Per group of [`GROUPS`].
    pub methods: [Method; 4],
    pub simulated_cycles: u64,
}

/// Measures one call of `rows` token rows of every BitLinear of a layer of
/// `c` on `rtl` (layer 0's shapes: every layer of a b1.58 model has the
/// same).
pub fn measure_layer(
    rtl: &mut RtlBackend,
    c: &ModelConfig,
    rows: usize,
    full: bool,
) -> Result<PhaseCycles> {
    let mut calls = [CallCounters::default(); 7];
    let mut methods = [Method::Full; 4];
    let mut simulated = 0;
    for (gi, g) in GROUPS.iter().enumerate() {
        let ids: Vec<LinearId> = g.iter().map(|&i| LinearId::new(0, Proj::ALL[i])).collect();
        let ns: Vec<usize> = g.iter().map(|&i| Proj::ALL[i].shape(c).0).collect();
        let k = Proj::ALL[g[0]].shape(c).1;
        let r = measure_group(rtl, &ids, &ns, k, rows, full)?;
        for (&i, x) in g.iter().zip(&r.calls) {
            calls[i] = *x;
        }
        methods[gi] = r.method;
        simulated += r.simulated_cycles;
    }
    Ok(PhaseCycles {
        rows,
        calls,
        methods,
        simulated_cycles: simulated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_round_trip_through_fields() {
        let c = CallCounters {
            cycles: 1,
            dram_bytes: 2,
            buffer_reads: 3,
            buffer_writes: 4,
        };
        assert_eq!(CallCounters::from_fields(c.fields()), c);
    }
}
