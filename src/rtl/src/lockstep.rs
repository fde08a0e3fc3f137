//! Lockstep co-simulation: every BitLinear runs on the golden backend and on
//! the RTL, and every i32 accumulator is compared with `==`, then the
//! activity counters (adds issued, zero weights skipped). The first
//! divergence is located down to the token, output row, K tile (beat) and
//! simulator cycle, with a waveform of the offending tile
//! (OpenTitan OTBN trace-checker style: stop at the FIRST difference).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;
use tritium_golden::{Backend, ExecStats, GoldenBackend, LinearCall, LinearId, TernaryMatrix};
use tritium_util::Progress;

use crate::RtlBackend;

/// Statistics and verdict of one BitLinear (one layer, one projection).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinearRow {
    pub layer: usize,
    pub proj: String,
    /// Calls, MACs, adds, zero skips, cycles (busy, stalled): measured by
    /// the RTL for selected layers, counted by the golden model otherwise.
    #[serde(flatten)]
    pub stats: ExecStats,
    /// Token rows executed (over all calls).
    pub token_rows: u64,
    /// Accumulators compared with `==`.
    pub compared: u64,
    /// MACs per cycle over the array's peak (`cols * lanes` per cycle).
    pub utilization: f64,
    /// `match`, `MISMATCH`, or `golden only` (layer not selected).
    pub verdict: String,
}

/// The first place where the RTL and the golden model disagree.
#[derive(Debug, Clone, Serialize)]
pub struct FirstDivergence {
    pub layer: usize,
    pub proj: String,
    /// Position of the (first) token of the call in the sequence.
    pub token_position: usize,
    /// What differed there.
    #[serde(flatten)]
    pub what: Divergence,
}

/// What differed at the first divergence.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Divergence {
    /// An accumulator: the final sums of one output row differ.
    Accumulator(AccumulatorDivergence),
    /// Every accumulator of the call is equal, but the RTL's activity
    /// counters (adds issued, zero weights skipped; padding lanes excluded)
    /// differ from the golden count: a datapath that gets the right sums
    /// with the wrong operations (e.g. a zero weight not gated).
    Activity(ActivityDivergence),
}

/// Where an accumulator first differed, located to the beat and cycle.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccumulatorDivergence {
    /// Output row (channel) of the BitLinear.
    pub output_row: usize,
    /// Final accumulators.
    pub expected: i32,
    pub got: i32,
    /// Output tile (`output_row / cols`) and K tile (beat) where the
    /// running accumulator first differed, with the K range of that beat.
    pub output_tile: usize,
    pub k_tile: Option<usize>,
    pub k_range: Option<(usize, usize)>,
    /// Running accumulator after that beat: expected vs got.
    pub partial_expected: Option<i32>,
    pub partial_got: Option<i32>,
    /// Simulator cycle (since reset) in which that beat was accepted.
    pub cycle: Option<u64>,
    /// VCD waveform of the replayed tile.
    pub waveform: Option<PathBuf>,
}

/// Both activity counts of a call whose accumulators all agree.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityDivergence {
    /// Token rows of the call.
    pub token_rows: usize,
    pub rtl_adds: u64,
    pub rtl_zero_skips: u64,
    pub golden_adds: u64,
    pub golden_zero_skips: u64,
}

impl FirstDivergence {
    /// A divergence in `call`, at the token of position `token_position`.
    fn new(call: &LinearCall<'_>, token_position: usize, what: Divergence) -> FirstDivergence {
        FirstDivergence {
            layer: call.id.layer,
            proj: call.id.proj.hf_name().to_string(),
            token_position,
            what,
        }
    }
}

impl std::fmt::Display for FirstDivergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "first divergence: layer {} {}, ", self.layer, self.proj)?;
        let pos = self.token_position;
        match &self.what {
            Divergence::Accumulator(a) => {
                write!(
                    f,
                    "token {pos}, output row {}: expected {}, got {}",
                    a.output_row, a.expected, a.got
                )?;
                if let (Some(kt), Some((k0, k1))) = (a.k_tile, a.k_range) {
                    write!(f, "; output tile {}, K tile {kt} (k {k0}..{k1})", a.output_tile)?;
                }
                if let (Some(e), Some(g)) = (a.partial_expected, a.partial_got) {
                    write!(f, ", running sum expected {e}, got {g}")?;
                }
                if let Some(c) = a.cycle {
                    write!(f, ", cycle {c}")?;
                }
                if let Some(w) = &a.waveform {
                    write!(f, "; waveform of the tile: {}", w.display())?;
                }
                Ok(())
            }
            Divergence::Activity(a) => write!(
                f,
                "tokens {pos}..{}: every accumulator equal, but the activity differs: RTL issued {} adds and skipped {} zero weights, the golden count is {} adds and {} skips",
                pos + a.token_rows,
                a.rtl_adds,
                a.rtl_zero_skips,
                a.golden_adds,
                a.golden_zero_skips
            ),
        }
    }
}

/// A backend that runs golden and RTL side by side and compares.
pub struct Lockstep<'r> {
    rtl: &'r mut RtlBackend,
    golden: GoldenBackend,
    layers: Option<BTreeSet<usize>>,
    rows: BTreeMap<LinearId, LinearRow>,
    divergence: Option<FirstDivergence>,
    mismatch_wave: PathBuf,
    progress: Option<&'r dyn Progress>,
    /// A call of the planted fault's BitLinear ran on the RTL with data
    /// that can show the fault.
    fault_exercised: bool,
}

impl<'r> Lockstep<'r> {
    /// `layers`: which layers go to the RTL (None = all); the others run on
    /// golden only. `mismatch_wave`: where the waveform of a divergent tile goes.
    pub fn new(
        rtl: &'r mut RtlBackend,
        layers: Option<BTreeSet<usize>>,
        mismatch_wave: PathBuf,
    ) -> Self {
        Lockstep {
            rtl,
            golden: GoldenBackend,
            layers,
            rows: BTreeMap::new(),
            divergence: None,
            mismatch_wave,
            progress: None,
            fault_exercised: false,
        }
    }

    /// Reports one step per BitLinear call to `p`.
    pub fn with_progress(mut self, p: &'r dyn Progress) -> Self {
        self.progress = Some(p);
        self
    }

    /// The RTL backend (its configuration, counters).
    pub fn rtl(&self) -> &RtlBackend {
        self.rtl
    }

    /// Whether the RTL's planted fault (if any) was exercised: a call of its
    /// BitLinear ran on the RTL with data that can show it.
    pub fn fault_exercised(&self) -> bool {
        self.fault_exercised
    }

    pub fn divergence(&self) -> Option<&FirstDivergence> {
        self.divergence.as_ref()
    }

    /// Rows in layer/projection order.
    pub fn rows(&self) -> Vec<LinearRow> {
        self.rows.values().cloned().collect()
    }

    fn locate(&mut self, call: &LinearCall<'_>, expected: &[i32], got: &[i32]) -> FirstDivergence {
        let n = call.weights.n();
        let idx = expected
            .iter()
            .zip(got)
            .position(|(e, g)| e != g)
            .unwrap_or(0);
        let (row, j) = (idx / n, idx % n);
        let cfg = self.rtl.config();
        let tile = j / cfg.cols;
        let mut a = AccumulatorDivergence {
            output_row: j,
            expected: expected[idx],
            got: got[idx],
            output_tile: tile,
            ..AccumulatorDivergence::default()
        };
        let k = call.weights.k();
        let acts = &call.acts[row * k..(row + 1) * k];
        let nsegs = k.div_ceil(cfg.max_beats() * cfg.lanes);
        for s in 0..nsegs {
            let Ok((traced, _, (k0, k1))) =
                self.rtl
                    .replay_tile(call, row, tile, s, Some(&self.mismatch_wave))
            else {
                continue;
            };
            let expect = prefix_sums(call.weights, acts, tile, cfg.cols, cfg.lanes, k0, k1);
            if let Some(div) = traced.first_divergence(&expect) {
                let k_first = k0 + div.beat * cfg.lanes;
                a.k_tile = Some(div.beat);
                a.k_range = Some((k_first, (k_first + cfg.lanes).min(k1)));
                a.partial_expected = Some(div.expected);
                a.partial_got = Some(div.got);
                a.cycle = self.rtl.beat_cycle(call, row, tile, s, div.beat);
                a.waveform = Some(self.mismatch_wave.clone());
                break;
            }
        }
        FirstDivergence::new(call, call.first_pos + row, Divergence::Accumulator(a))
    }
}

/// Running accumulators of output tile `tile` after each beat of K segment
/// `[k0, k1)`: `[beat][column]`, columns past N are 0.
fn prefix_sums(
    w: &TernaryMatrix,
    acts: &[i8],
    tile: usize,
    cols: usize,
    lanes: usize,
    k0: usize,
    k1: usize,
) -> Vec<Vec<i32>> {
    let beats = (k1 - k0).div_ceil(lanes);
    let mut acc = vec![0i32; cols];
    let mut out = Vec::with_capacity(beats);
    for b in 0..beats {
        for (c, a) in acc.iter_mut().enumerate() {
            let row = tile * cols + c;
            if row >= w.n() {
                continue;
            }
            let (lo, hi) = (k0 + b * lanes, (k0 + (b + 1) * lanes).min(k1));
            for (col, &x) in acts.iter().enumerate().take(hi).skip(lo) {
                *a += w.get(row, col) as i32 * x as i32;
            }
        }
        out.push(acc.clone());
    }
    out
}

impl Backend for Lockstep<'_> {
    fn name(&self) -> &str {
        "lockstep"
    }

    fn matmul(
        &mut self,
        call: &LinearCall<'_>,
        out: &mut [i32],
    ) -> tritium_golden::Result<ExecStats> {
        let gstats = self.golden.matmul(call, out)?;
        if let Some(p) = self.progress {
            p.advance(1);
        }
        let entry = self.rows.entry(call.id).or_insert_with(|| LinearRow {
            layer: call.id.layer,
            proj: call.id.proj.hf_name().to_string(),
            verdict: "golden only".into(),
            ..LinearRow::default()
        });
        entry.token_rows += call.rows as u64;
        if self
            .layers
            .as_ref()
            .is_some_and(|l| !l.contains(&call.id.layer))
        {
            entry.stats += gstats;
            return Ok(gstats);
        }
        if self.rtl.fault().is_some_and(|f| f.exercised_by(call)) {
            self.fault_exercised = true;
        }
        let mut got = vec![0i32; out.len()];
        let rstats = self.rtl.matmul(call, &mut got)?;
        let entry = self.rows.get_mut(&call.id).expect("inserted above");
        entry.stats += rstats;
        entry.compared += out.len() as u64;
        let peak = (self.rtl.config().cols * self.rtl.config().lanes) as f64;
        entry.utilization = entry.stats.macs as f64 / (entry.stats.cycles.max(1) as f64 * peak);
        let counts_agree = rstats.adds == gstats.adds && rstats.zero_skips == gstats.zero_skips;
        if got == out && counts_agree {
            entry.verdict = "match".into();
            return Ok(gstats);
        }
        entry.verdict = "MISMATCH".into();
        let d = if got != out {
            self.locate(call, out, &got)
        } else {
            FirstDivergence::new(
                call,
                call.first_pos,
                Divergence::Activity(ActivityDivergence {
                    token_rows: call.rows,
                    rtl_adds: rstats.adds,
                    rtl_zero_skips: rstats.zero_skips,
                    golden_adds: gstats.adds,
                    golden_zero_skips: gstats.zero_skips,
                }),
            )
        };
        let message = d.to_string();
        self.divergence = Some(d);
        Err(tritium_golden::Error::backend(
            self.rtl.name(),
            call.id.to_string(),
            message,
        ))
    }
}
