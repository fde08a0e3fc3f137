//! Co-simulation runs: the whole network ([`run_cosim`]) or one random
//! BitLinear ([`run_layer_cosim`]) through [`Lockstep`], and the report
//! people read (`tritium cosim`, table or JSON).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use tritium_golden::sample::argmax;
use tritium_golden::{
    Backend, LinearCall, LinearId, Logits, Model, Proj, Session, SplitMix64, TernaryMatrix,
};
use tritium_util::Progress;

use crate::error::{Error, Result};
use crate::lockstep::Lockstep;
use crate::record::Recorder;
use crate::report::{build_report, ArrayInfo, CosimReport, FaultReport};
use crate::shard::{merge, plan, RunHeader, ShardDivergence, ShardReport, ShardSpec, SHARD_FORMAT};
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
    /// Which part of the run this process checks on the RTL (1/1: all).
    pub shard: ShardSpec,
}

/// The configuration and memory of `rtl`.
fn array_info(rtl: &RtlBackend, clock_mhz: f64) -> ArrayInfo {
    let cfg = rtl.config();
    let mem = rtl.memory();
    ArrayInfo {
        name: cfg.name.into(),
        cols: cfg.array.cols,
        lanes: cfg.array.lanes,
        macs_per_cycle: cfg.array.macs_per_beat(),
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
    }
}

/// The report of a single-layer run on `lock`.
fn report(model: &str, lock: &Lockstep<'_>, start: Instant, clock_mhz: f64) -> CosimReport {
    let secs = start.elapsed().as_secs_f64();
    build_report(
        model,
        array_info(lock.rtl(), clock_mhz),
        &[],
        Vec::new(),
        lock.rows(),
        lock.divergence().cloned(),
        lock.rtl().fault().map(|f| FaultReport {
            layer: f.id.layer,
            proj: f.id.proj.hf_name().to_string(),
            row: f.row,
            col: f.col,
            exercised: lock.fault_exercised(),
        }),
        secs,
        secs,
    )
}

/// Runs the whole network on `prompt` plus `decode_steps` greedy tokens with
/// every selected BitLinear in lockstep on golden and RTL: shard 1 of 1,
/// merged (the same path as a sharded run's).
/// `progress` hears the number of BitLinear calls, then each one.
pub fn run_cosim(
    model: &Model,
    name: &str,
    rtl: &mut RtlBackend,
    prompt: &[u32],
    opts: &CosimOptions,
    progress: Option<&dyn Progress>,
) -> Result<CosimReport> {
    let shard = run_cosim_shard(model, name, rtl, prompt, opts, progress)?;
    merge(&[(name.to_string(), shard)])
}

/// `opts.shard` of a whole-network co-simulation: the golden pass over the
/// whole run, then this shard's groups on the RTL (module `shard`).
/// `progress` hears the calls of the golden pass plus the shard's RTL calls.
pub fn run_cosim_shard(
    model: &Model,
    name: &str,
    rtl: &mut RtlBackend,
    prompt: &[u32],
    opts: &CosimOptions,
    progress: Option<&dyn Progress>,
) -> Result<ShardReport> {
    let c = model.config();
    if let Some(l) = &opts.layers {
        if let Some(&layer) = l.iter().find(|&&x| x >= c.num_layers) {
            return Err(Error::NoSuchLayer {
                layer,
                layers: c.num_layers,
            });
        }
    }
    c.check_request(prompt.len(), opts.decode_steps)?;
    let calls = (1 + opts.decode_steps) * c.num_layers * Proj::ALL.len();
    if let Some(p) = progress {
        p.set_total(calls as u64);
        p.message("golden pass");
    }
    let start = Instant::now();
    // The golden pass: every group's inputs and results.
    let mut rec = Recorder::new(model, progress);
    let mut generated = Vec::new();
    {
        let mut session = Session::new(model);
        let mut step = session.forward(&mut rec, prompt, Logits::Last)?;
        for _ in 0..opts.decode_steps {
            let tok = argmax(&step[0]) as u32;
            generated.push(tok);
            step = session.forward(&mut rec, &[tok], Logits::Last)?;
        }
    }
    let golden_seconds = start.elapsed().as_secs_f64();
    let groups = rec.groups;
    let mut lock = Lockstep::new(rtl, opts.layers.clone(), opts.mismatch_wave.clone());
    let group_macs: Vec<u64> = groups.iter().map(|g| g.macs()).collect();
    let group_on_rtl: Vec<bool> = groups.iter().map(|g| lock.on_rtl(g.layer())).collect();
    let owner = plan(&group_macs, &group_on_rtl, opts.shard.count);
    let mine = |i: usize| owner[i] as usize == opts.shard.index;
    if let Some(p) = progress {
        let rtl_calls: usize = (0..groups.len())
            .filter(|&i| mine(i) && group_on_rtl[i])
            .map(|i| groups[i].calls.len())
            .sum();
        p.set_total((calls + rtl_calls) as u64);
        p.message(&format!("RTL, shard {}", opts.shard));
    }
    let run = RunHeader {
        model: name.to_string(),
        array: array_info(lock.rtl(), opts.clock_mhz),
        prompt_tokens: prompt.to_vec(),
        generated_tokens: generated,
        layers: opts.layers.as_ref().map(|l| l.iter().copied().collect()),
        planted_fault: lock
            .rtl()
            .fault()
            .map(|f| (f.id.layer, f.id.proj.hf_name().to_string(), f.row, f.col)),
        group_macs,
        group_on_rtl,
    };
    let mut divergence = None;
    for (seq, g) in groups.iter().enumerate() {
        if !mine(seq) {
            continue;
        }
        let calls = g.calls(model)?;
        let r = lock.check_group(seq, &calls, &g.outs, &g.stats);
        if let Some(p) = progress.filter(|_| run.group_on_rtl[seq]) {
            p.advance(calls.len() as u64);
        }
        if let Err(e) = r {
            match lock.divergence() {
                Some(d) => {
                    divergence = Some(ShardDivergence {
                        seq,
                        first: d.clone(),
                    });
                    break;
                }
                None => return Err(e.into()),
            }
        }
    }
    Ok(ShardReport {
        format: SHARD_FORMAT.to_string(),
        shard: opts.shard,
        run,
        plan: owner,
        groups: lock.groups().to_vec(),
        divergence,
        golden_seconds,
        wall_seconds: start.elapsed().as_secs_f64(),
    })
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
    let mut r = report(&name, &lock, start, o.clock_mhz);
    for row in &mut r.rows {
        row.proj = format!("{} x {}", o.n, o.k);
    }
    Ok(r)
}
