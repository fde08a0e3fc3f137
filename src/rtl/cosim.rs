//! Lockstep co-simulation: every BitLinear runs on the golden backend and on
//! the RTL, and every i32 accumulator is compared with `==`. The first
//! divergence is located down to the token, output row, K tile (beat) and
//! simulator cycle, with a waveform of the offending tile
//! (OpenTitan OTBN trace-checker style: stop at the FIRST difference).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use indicatif::ProgressBar;
use serde::Serialize;
use tritium_golden::sample::argmax;
use tritium_golden::{
    Backend, ExecStats, GoldenBackend, LinearCall, LinearId, Logits, Model, Proj, Session,
    TernaryMatrix,
};

use super::RtlBackend;
use crate::error::{Error, Result};

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
    /// Position of the token in the sequence.
    pub token_position: usize,
    /// Output row (channel) of the BitLinear.
    pub output_row: usize,
    /// Final accumulators.
    pub expected: i32,
    pub got: i32,
    /// Output tile (`output_row / cols`) and K tile (beat) where the running
    /// accumulator first differed, with the K range of that beat.
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

impl std::fmt::Display for FirstDivergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "first divergence: layer {} {}, token {}, output row {}: expected {}, got {}",
            self.layer, self.proj, self.token_position, self.output_row, self.expected, self.got
        )?;
        if let (Some(kt), Some((a, b))) = (self.k_tile, self.k_range) {
            write!(
                f,
                "; output tile {}, K tile {} (k {}..{})",
                self.output_tile, kt, a, b
            )?;
        }
        if let (Some(e), Some(g)) = (self.partial_expected, self.partial_got) {
            write!(f, ", running sum expected {e}, got {g}")?;
        }
        if let Some(c) = self.cycle {
            write!(f, ", cycle {c}")?;
        }
        if let Some(w) = &self.waveform {
            write!(f, "; waveform of the tile: {}", w.display())?;
        }
        Ok(())
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
    progress: Option<ProgressBar>,
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

    pub fn with_progress(mut self, pb: ProgressBar) -> Self {
        self.progress = Some(pb);
        self
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
        let mut d = FirstDivergence {
            layer: call.id.layer,
            proj: call.id.proj.hf_name().to_string(),
            token_position: call.first_pos + row,
            output_row: j,
            expected: expected[idx],
            got: got[idx],
            output_tile: tile,
            k_tile: None,
            k_range: None,
            partial_expected: None,
            partial_got: None,
            cycle: None,
            waveform: None,
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
                let a = k0 + div.beat * cfg.lanes;
                d.k_tile = Some(div.beat);
                d.k_range = Some((a, (a + cfg.lanes).min(k1)));
                d.partial_expected = Some(div.expected);
                d.partial_got = Some(div.got);
                d.cycle = self.rtl.beat_cycle(call, row, tile, s, div.beat);
                d.waveform = Some(self.mismatch_wave.clone());
                break;
            }
        }
        d
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
        if let Some(pb) = &self.progress {
            pb.inc(1);
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
        let d = self.locate(call, out, &got);
        let message = if got == out {
            format!(
                "accumulators equal but activity differs: RTL adds {} skips {}, golden adds {} skips {}",
                rstats.adds, rstats.zero_skips, gstats.adds, gstats.zero_skips
            )
        } else {
            d.to_string()
        };
        self.divergence = Some(d);
        Err(tritium_golden::Error::Backend {
            backend: self.rtl.name().to_string(),
            site: call.id.to_string(),
            message,
        })
    }
}

/// What `tritium cosim` runs.
#[derive(Debug, Clone)]
pub struct CosimOptions {
    /// Layers whose BitLinears go to the RTL (None = all).
    pub layers: Option<BTreeSet<usize>>,
    /// Greedy decode steps after the prompt.
    pub decode_steps: usize,
    /// Where the waveform of a divergent tile is written.
    pub mismatch_wave: PathBuf,
    pub progress: bool,
}

/// Outcome of a co-simulation, for tables and `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct CosimReport {
    pub schema_version: u32,
    pub model: String,
    pub array: ArrayInfo,
    pub prompt_tokens: Vec<u32>,
    pub generated_tokens: Vec<u32>,
    pub rows: Vec<LinearRow>,
    pub total: LinearRow,
    pub passed: bool,
    pub first_divergence: Option<FirstDivergence>,
    pub wall_seconds: f64,
    pub simulated_cycles_per_second: f64,
    pub verified_macs_per_second: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArrayInfo {
    pub name: String,
    pub cols: usize,
    pub lanes: usize,
    pub k_max: usize,
    pub acc_width: usize,
}

fn total_of(rows: &[LinearRow], peak: f64) -> LinearRow {
    let mut t = LinearRow {
        proj: "total".into(),
        ..LinearRow::default()
    };
    for r in rows {
        t.stats += r.stats;
        t.token_rows += r.token_rows;
        t.compared += r.compared;
    }
    let checked_macs: u64 = rows
        .iter()
        .filter(|r| r.stats.cycles > 0)
        .map(|r| r.stats.macs)
        .sum();
    t.utilization = checked_macs as f64 / (t.stats.cycles.max(1) as f64 * peak);
    t.verdict = if rows.iter().any(|r| r.verdict == "MISMATCH") {
        "MISMATCH".into()
    } else {
        "match".into()
    };
    t
}

fn report(
    model: &str,
    rtl: &RtlBackend,
    lock: &Lockstep<'_>,
    prompt: &[u32],
    generated: Vec<u32>,
    start: Instant,
) -> CosimReport {
    let cfg = rtl.config();
    let rows = lock.rows();
    let peak = (cfg.cols * cfg.lanes) as f64;
    let total = total_of(&rows, peak);
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let verified: u64 = rows
        .iter()
        .filter(|r| r.stats.cycles > 0)
        .map(|r| r.stats.macs)
        .sum();
    CosimReport {
        schema_version: 1,
        model: model.to_string(),
        array: ArrayInfo {
            name: cfg.name.into(),
            cols: cfg.cols,
            lanes: cfg.lanes,
            k_max: cfg.k_max,
            acc_width: cfg.acc_width(),
        },
        prompt_tokens: prompt.to_vec(),
        generated_tokens: generated,
        passed: lock.divergence().is_none(),
        first_divergence: lock.divergence().cloned(),
        simulated_cycles_per_second: total.stats.cycles as f64 / secs,
        verified_macs_per_second: verified as f64 / secs,
        wall_seconds: secs,
        rows,
        total,
    }
}

/// Runs the whole network on `prompt` plus `decode_steps` greedy tokens with
/// every selected BitLinear in lockstep on golden and RTL.
pub fn run_cosim(
    model: &Model,
    name: &str,
    rtl: &mut RtlBackend,
    prompt: &[u32],
    opts: &CosimOptions,
) -> Result<CosimReport> {
    let c = model.config();
    if let Some(l) = &opts.layers {
        if let Some(&bad) = l.iter().find(|&&x| x >= c.num_layers) {
            return Err(Error::Usage(format!(
                "--layers: layer {bad} does not exist (the model has {})",
                c.num_layers
            )));
        }
    }
    let total = (1 + opts.decode_steps) * c.num_layers * Proj::ALL.len();
    let pb = if opts.progress {
        ProgressBar::new(total as u64)
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "cosim [{bar:30}] {pos}/{len} BitLinear calls {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    let mut generated = Vec::new();
    let mut lock = Lockstep::new(rtl, opts.layers.clone(), opts.mismatch_wave.clone())
        .with_progress(pb.clone());
    let mut session = Session::new(model);
    let mut step = session.forward(&mut lock, prompt, Logits::Last);
    for _ in 0..opts.decode_steps {
        let Ok(rows) = &step else { break };
        let tok = argmax(&rows[0]) as u32;
        generated.push(tok);
        step = session.forward(&mut lock, &[tok], Logits::Last);
    }
    pb.finish_and_clear();
    if let Err(e) = step {
        if lock.divergence().is_none() {
            return Err(e.into());
        }
    }
    let rtl_ref: &RtlBackend = lock.rtl;
    Ok(report(name, rtl_ref, &lock, prompt, generated, start))
}

/// `tritium cosim --layer`: one BitLinear of shape `n x k` with random
/// ternary weights and int8 activations (extremes mixed in) from `seed`.
#[derive(Debug, Clone, Copy)]
pub struct LayerCosimOptions {
    pub n: usize,
    pub k: usize,
    pub rows: usize,
    pub seed: u64,
}

pub fn run_layer_cosim(
    rtl: &mut RtlBackend,
    o: LayerCosimOptions,
    mismatch_wave: PathBuf,
) -> Result<CosimReport> {
    let mut rng = crate::synth::SplitMix::new(o.seed);
    let t: Vec<i8> = (0..o.n * o.k)
        .map(|_| (rng.next_u64() % 3) as i8 - 1)
        .collect();
    let w = TernaryMatrix::from_ternary("random layer", o.n, o.k, &t, 1.0)?;
    let acts: Vec<i8> = (0..o.rows * o.k)
        .map(|_| match rng.next_u64() % 8 {
            0 => -128,
            1 => 127,
            2 => 0,
            _ => rng.next_u64() as i8,
        })
        .collect();
    let start = Instant::now();
    let mut lock = Lockstep::new(rtl, None, mismatch_wave);
    let call = LinearCall {
        id: LinearId {
            layer: 0,
            proj: Proj::Q,
        },
        weights: &w,
        acts: &acts,
        rows: o.rows,
        first_pos: 0,
    };
    let mut out = vec![0i32; o.rows * o.n];
    if let Err(e) = lock.matmul(&call, &mut out) {
        if lock.divergence().is_none() {
            return Err(e.into());
        }
    }
    let name = format!(
        "random {} x {} layer, {} rows, seed {}",
        o.n, o.k, o.rows, o.seed
    );
    let rtl_ref: &RtlBackend = lock.rtl;
    let mut r = report(&name, rtl_ref, &lock, &[], Vec::new(), start);
    for row in &mut r.rows {
        row.proj = format!("{} x {}", o.n, o.k);
    }
    Ok(r)
}

impl CosimReport {
    /// The per-layer/projection table people read.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<6} {:<10} {:>12} {:>10} {:>6} {:>12} {:>12} {:>10}  {}\n",
            "layer", "proj", "MACs", "cycles", "util", "adds", "zero-skips", "compared", "verdict"
        );
        for r in self.rows.iter().chain(std::iter::once(&self.total)) {
            let layer = if r.proj == "total" {
                String::new()
            } else {
                r.layer.to_string()
            };
            s += &format!(
                "{:<6} {:<10} {:>12} {:>10} {:>5.1}% {:>12} {:>12} {:>10}  {}\n",
                layer,
                r.proj,
                r.stats.macs,
                r.stats.cycles,
                100.0 * r.utilization,
                r.stats.adds,
                r.stats.zero_skips,
                r.compared,
                r.verdict
            );
        }
        s
    }
}
