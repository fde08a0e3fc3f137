//! Co-simulation runs: the whole network ([`run_cosim`]) or one random
//! BitLinear ([`run_layer_cosim`]) through [`Lockstep`], and the report
//! people read (`tritium cosim`, table or JSON).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use tritium_golden::sample::argmax;
use tritium_golden::{
    Backend, ExecStats, LinearCall, LinearId, Logits, Model, Proj, Session, SplitMix64,
    TernaryMatrix,
};
use tritium_util::Progress;

use crate::error::{Error, Result};
use crate::lockstep::{FirstDivergence, LinearRow, Lockstep};
use crate::RtlBackend;

/// What `tritium cosim` runs.
#[derive(Debug, Clone)]
pub struct CosimOptions {
    /// Layers whose BitLinears go to the RTL (None = all).
    pub layers: Option<BTreeSet<usize>>,
    /// Greedy decode steps after the prompt.
    pub decode_steps: usize,
    /// Where the waveform of a divergent tile is written.
    pub mismatch_wave: PathBuf,
    /// Clock of the accelerator, for times and tokens per second.
    pub clock_mhz: f64,
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
    /// The checker self-test's planted fault, and whether the workload
    /// exercised it (a fault that was not cannot be found: such a run
    /// proves nothing about the checker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planted_fault: Option<FaultReport>,
    pub wall_seconds: f64,
    /// The RTL-measured cycles at `array.clock_mhz`.
    pub simulated_seconds: f64,
    pub simulated_cycles_per_second: f64,
    pub verified_macs_per_second: f64,
}

/// A planted fault and whether the run exercised it.
#[derive(Debug, Clone, Serialize)]
pub struct FaultReport {
    pub layer: usize,
    pub proj: String,
    pub row: usize,
    pub col: usize,
    pub exercised: bool,
}

/// The accelerator configuration and memory of a run.
#[derive(Debug, Clone, Serialize)]
pub struct ArrayInfo {
    /// Configuration name (`tritium_sim::ACCEL_CONFIGS`).
    pub name: String,
    pub cols: usize,
    pub lanes: usize,
    pub k_max: usize,
    pub acc_width: usize,
    /// Token rows of the activation buffer (TMax) and rows per job.
    pub buffer_tokens: usize,
    pub batch: usize,
    /// Stored weight format (`2bit` or `base3`) and its bits per weight.
    pub weight_format: String,
    pub bits_per_weight: f64,
    pub bus_bytes: usize,
    pub word_bytes: usize,
    /// The memory feeding the weight port.
    pub mem_bytes_per_cycle: f64,
    pub mem_latency: u32,
    pub clock_mhz: f64,
}

/// [`LinearRow::memory_floor`] of `stats` at `bytes_per_cycle`.
fn memory_floor(stats: &ExecStats, bytes_per_cycle: f64) -> f64 {
    if stats.cycles == 0 {
        return 0.0;
    }
    stats.dram_bytes as f64 / bytes_per_cycle / stats.cycles as f64
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
    lock: &Lockstep<'_>,
    prompt: &[u32],
    generated: Vec<u32>,
    start: Instant,
    clock_mhz: f64,
) -> CosimReport {
    let rtl = lock.rtl();
    let cfg = rtl.config();
    let mem = rtl.memory();
    let mut rows = lock.rows();
    for r in &mut rows {
        r.memory_floor = memory_floor(&r.stats, mem.bytes_per_cycle);
    }
    let peak = cfg.array.macs_per_beat() as f64;
    let mut total = total_of(&rows, peak);
    total.memory_floor = memory_floor(&total.stats, mem.bytes_per_cycle);
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let verified: u64 = rows
        .iter()
        .filter(|r| r.stats.cycles > 0)
        .map(|r| r.stats.macs)
        .sum();
    CosimReport {
        schema_version: 2,
        model: model.to_string(),
        array: ArrayInfo {
            name: cfg.name.into(),
            cols: cfg.array.cols,
            lanes: cfg.array.lanes,
            k_max: cfg.array.k_max,
            acc_width: cfg.array.acc_width(),
            buffer_tokens: cfg.tokens,
            batch: rtl.batch(),
            weight_format: cfg.format.to_string(),
            bits_per_weight: cfg.format.bits_per_weight(),
            bus_bytes: cfg.bus_bytes,
            word_bytes: cfg.word_bytes,
            mem_bytes_per_cycle: mem.bytes_per_cycle,
            mem_latency: mem.latency,
            clock_mhz,
        },
        prompt_tokens: prompt.to_vec(),
        generated_tokens: generated,
        passed: lock.divergence().is_none(),
        planted_fault: lock.rtl().fault().map(|f| FaultReport {
            layer: f.id.layer,
            proj: f.id.proj.hf_name().to_string(),
            row: f.row,
            col: f.col,
            exercised: lock.fault_exercised(),
        }),
        first_divergence: lock.divergence().cloned(),
        simulated_seconds: total.stats.cycles as f64 / (clock_mhz * 1e6),
        simulated_cycles_per_second: total.stats.cycles as f64 / secs,
        verified_macs_per_second: verified as f64 / secs,
        wall_seconds: secs,
        rows,
        total,
    }
}

/// Runs the whole network on `prompt` plus `decode_steps` greedy tokens with
/// every selected BitLinear in lockstep on golden and RTL.
/// `progress` hears the number of BitLinear calls, then each one.
pub fn run_cosim(
    model: &Model,
    name: &str,
    rtl: &mut RtlBackend,
    prompt: &[u32],
    opts: &CosimOptions,
    progress: Option<&dyn Progress>,
) -> Result<CosimReport> {
    let c = model.config();
    if let Some(l) = &opts.layers {
        if let Some(&layer) = l.iter().find(|&&x| x >= c.num_layers) {
            return Err(Error::NoSuchLayer {
                layer,
                layers: c.num_layers,
            });
        }
    }
    let total = (1 + opts.decode_steps) * c.num_layers * Proj::ALL.len();
    if let Some(p) = progress {
        p.set_total(total as u64);
    }
    let start = Instant::now();
    let mut generated = Vec::new();
    let mut lock = Lockstep::new(rtl, opts.layers.clone(), opts.mismatch_wave.clone());
    if let Some(p) = progress {
        lock = lock.with_progress(p);
    }
    let mut session = Session::new(model);
    let mut step = session.forward(&mut lock, prompt, Logits::Last);
    for _ in 0..opts.decode_steps {
        let Ok(rows) = &step else { break };
        let tok = argmax(&rows[0]) as u32;
        generated.push(tok);
        step = session.forward(&mut lock, &[tok], Logits::Last);
    }
    if let Err(e) = step {
        if lock.divergence().is_none() {
            return Err(e.into());
        }
    }
    Ok(report(
        name,
        &lock,
        prompt,
        generated,
        start,
        opts.clock_mhz,
    ))
}

/// `tritium cosim --layer`: one BitLinear of shape `n x k` with random
/// ternary weights and int8 activations (extremes mixed in) from `seed`.
#[derive(Debug, Clone, Copy)]
pub struct LayerCosimOptions {
    pub n: usize,
    pub k: usize,
    pub rows: usize,
    pub seed: u64,
    /// Clock of the accelerator, for times.
    pub clock_mhz: f64,
}

pub fn run_layer_cosim(
    rtl: &mut RtlBackend,
    o: LayerCosimOptions,
    mismatch_wave: PathBuf,
) -> Result<CosimReport> {
    let mut rng = SplitMix64::new(o.seed);
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
    let id = LinearId::new(0, Proj::Q);
    let call = LinearCall::new(id, &w, &acts, o.rows, 0);
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
    let mut r = report(&name, &lock, &[], Vec::new(), start, o.clock_mhz);
    for row in &mut r.rows {
        row.proj = format!("{} x {}", o.n, o.k);
    }
    Ok(r)
}

impl CosimReport {
    /// The per-layer/projection table people read.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<6} {:<10} {:>12} {:>10} {:>6} {:>10} {:>12} {:>7} {:>12} {:>12} {:>10}  {}\n",
            "layer",
            "proj",
            "MACs",
            "cycles",
            "util",
            "mem-stall",
            "DRAM bytes",
            "floor",
            "adds",
            "zero-skips",
            "compared",
            "verdict"
        );
        for r in self.rows.iter().chain(std::iter::once(&self.total)) {
            let layer = if r.proj == "total" {
                String::new()
            } else {
                r.layer.to_string()
            };
            s += &format!(
                "{:<6} {:<10} {:>12} {:>10} {:>5.1}% {:>10} {:>12} {:>6.1}% {:>12} {:>12} {:>10}  {}\n",
                layer,
                r.proj,
                r.stats.macs,
                r.stats.cycles,
                100.0 * r.utilization,
                r.stats.mem_stall_cycles,
                r.stats.dram_bytes,
                100.0 * r.memory_floor,
                r.stats.adds,
                r.stats.zero_skips,
                r.compared,
                r.verdict
            );
        }
        s
    }
}
