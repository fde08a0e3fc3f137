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
    Accumulator {
        /// Output row (channel) of the BitLinear.
        output_row: usize,
        /// Final accumulators.
        expected: i32,
        got: i32,
        /// Output tile (`output_row / cols`) and K tile (beat) where the
        /// running accumulator first differed, with the K range of that beat.
        output_tile: usize,
        k_tile: Option<usize>,
        k_range: Option<(usize, usize)>,
        /// Running accumulator after that beat: expected vs got.
        partial_expected: Option<i32>,
        partial_got: Option<i32>,
        /// Simulator cycle (since reset) in which that beat was accepted.
        cycle: Option<u64>,
        /// VCD waveform of the replayed tile.
        waveform: Option<PathBuf>,
    },
    /// Every accumulator of the call is equal, but the RTL's activity
    /// counters (adds issued, zero weights skipped; padding lanes excluded)
    /// differ from the golden count: a datapath that gets the right sums
    /// with the wrong operations (e.g. a zero weight not gated).
    Activity {
        /// Token rows of the call.
        token_rows: usize,
        rtl_adds: u64,
        rtl_zero_skips: u64,
        golden_adds: u64,
        golden_zero_skips: u64,
    },
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
        match &self.what {
            Divergence::Accumulator {
                output_row,
                expected,
                got,
                output_tile,
                k_tile,
                k_range,
                partial_expected,
                partial_got,
                cycle,
                waveform,
            } => {
                write!(
                    f,
                    "token {}, output row {output_row}: expected {expected}, got {got}",
                    self.token_position
                )?;
                if let (Some(kt), Some((a, b))) = (k_tile, k_range) {
                    write!(f, "; output tile {output_tile}, K tile {kt} (k {a}..{b})")?;
                }
                if let (Some(e), Some(g)) = (partial_expected, partial_got) {
                    write!(f, ", running sum expected {e}, got {g}")?;
                }
                if let Some(c) = cycle {
                    write!(f, ", cycle {c}")?;
                }
                if let Some(w) = waveform {
                    write!(f, "; waveform of the tile: {}", w.display())?;
                }
                Ok(())
            }
            Divergence::Activity {
                token_rows,
                rtl_adds,
                rtl_zero_skips,
                golden_adds,
                golden_zero_skips,
            } => write!(
                f,
                "tokens {}..{}: every accumulator equal, but the activity differs: RTL issued {rtl_adds} adds and skipped {rtl_zero_skips} zero weights, the golden count is {golden_adds} adds and {golden_zero_skips} skips",
                self.token_position,
                self.token_position + token_rows
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
        let (mut k_tile, mut k_range, mut partial_expected, mut partial_got) =
            (None, None, None, None);
        let (mut cycle, mut waveform) = (None, None);
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
                let a = k0 + div.beat * cfg.lanes;
                k_tile = Some(div.beat);
                k_range = Some((a, (a + cfg.lanes).min(k1)));
                partial_expected = Some(div.expected);
                partial_got = Some(div.got);
                cycle = self.rtl.beat_cycle(call, row, tile, s, div.beat);
                waveform = Some(self.mismatch_wave.clone());
                break;
            }
        }
        FirstDivergence::new(
            call,
            call.first_pos + row,
            Divergence::Accumulator {
                output_row: j,
                expected: expected[idx],
                got: got[idx],
                output_tile: tile,
                k_tile,
                k_range,
                partial_expected,
                partial_got,
                cycle,
                waveform,
            },
        )
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
                Divergence::Activity {
                    token_rows: call.rows,
                    rtl_adds: rstats.adds,
                    rtl_zero_skips: rstats.zero_skips,
                    golden_adds: gstats.adds,
                    golden_zero_skips: gstats.zero_skips,
                },
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
