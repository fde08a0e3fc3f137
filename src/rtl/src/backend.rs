//! [`RtlBackend`]: every BitLinear executed cycle by cycle on the Verilator
//! model of the accelerator `tri_accel` (rtl/INTERFACE.md, "tri_accel").
//!
//! # Jobs
//! A call of `rows` token rows is cut into chunks of at most `batch` rows
//! (the activation buffer holds `batch <= TMax` rows) and, where K exceeds
//! the array's `k_max`, into K segments (the host adds the segments'
//! accumulators, exact in i32). Each (chunk, segment) is one job of
//! [`AccelSim::run`]: the chunk's activations of the segment are loaded
//! into the buffer once, then one run per BitLinear of the call streams the
//! BitLinear's weight image (q, k and v, or gate and up, share one load:
//! [`Backend::matmul_group`]). Every weight word fetched from memory is
//! applied to every row of the chunk (weight reuse), so a prefill of `T`
//! rows reads the weights `ceil(T / batch)` times.
//!
//! Weight images come from [`tritium_golden::image::weight_image`] in the
//! configuration's stored format and are kept per (matrix, K segment): the
//! memory holds them once, as a real accelerator's DRAM would.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use tritium_golden::image::{act_image, base3_pack, base3_unpack, weight_image};
use tritium_golden::{
    backend::check_group, AccelConfig, Backend, ExecStats, LinearCall, LinearId, TernaryMatrix,
    WeightFormat,
};
use tritium_sim::{
    AccelCounters, AccelSim, AccelSimConfig, Issue, Job, JobReport, MemoryConfig, RunSpec, SimError,
};

/// A weight code flipped in the memory image the RTL reads (not in the
/// model), to prove that the checker catches and locates a fault: +1
/// becomes -1, and -1 or 0 becomes +1. In the base-3 format this changes
/// the byte holding the weight to another valid byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlantedFault {
    pub id: LinearId,
    pub row: usize,
    pub col: usize,
}

impl PlantedFault {
    /// Whether `call` (of this fault's BitLinear) can show the fault: a flip
    /// from 0 to +1 always changes the adds issued; a sign flip changes an
    /// accumulator only where the activation of column `col` is not zero.
    pub fn exercised_by(&self, call: &LinearCall<'_>) -> bool {
        if call.id != self.id || self.row >= call.weights.n() || self.col >= call.weights.k() {
            return false;
        }
        let k = call.weights.k();
        call.weights.get(self.row, self.col) == 0
            || (0..call.rows).any(|r| call.acts[r * k + self.col] != 0)
    }
}

/// Where weight `(row, col)` of an `n`-row matrix sits in the weight image
/// of the K segment `k0..k1` (`col` inside it): byte offset and the
/// weight's position in the byte (2-bit field or base-3 digit).
pub fn image_position(
    cfg: &AccelConfig,
    k0: usize,
    k1: usize,
    row: usize,
    col: usize,
) -> (usize, usize) {
    let a = &cfg.array;
    let beats = a.beats(k1 - k0);
    let word = (row / a.cols) * beats + (col - k0) / a.lanes;
    let i = (row % a.cols) * a.lanes + (col - k0) % a.lanes;
    let per = cfg.format.weights_per_byte();
    (word * cfg.word_bytes + i / per, i % per)
}

/// Flips the weight at `digit` of `byte` as [`PlantedFault`] says.
pub fn flip_stored_weight(format: WeightFormat, byte: u8, digit: usize) -> u8 {
    let flip = |code: u8| if code == 2 { 0 } else { 2 };
    match format {
        WeightFormat::TwoBit => {
            let code = (byte >> (2 * digit)) & 3;
            (byte & !(3 << (2 * digit))) | (flip(code) << (2 * digit))
        }
        WeightFormat::Base3 => match base3_unpack(byte) {
            Some(mut d) => {
                d[digit] = flip(d[digit]);
                base3_pack(d).unwrap_or(byte)
            }
            None => byte,
        },
    }
}

/// Flips weight `(row, col)` in the weight image `img` of K segment `seg`
/// (as [`PlantedFault`] says), where it is stored.
fn plant(img: &mut [u8], cfg: &AccelConfig, seg: (usize, usize), row: usize, col: usize) {
    let (byte, digit) = image_position(cfg, seg.0, seg.1, row, col);
    img[byte] = flip_stored_weight(cfg.format, img[byte], digit);
}

/// Token rows, accumulators and run placement of one job of the last call.
#[derive(Debug, Clone)]
struct JobRecord {
    /// First token row of the call in the job, and how many.
    row0: usize,
    rows: usize,
    /// Index of the K segment.
    segment: usize,
}

/// How the last call (or group) was cut into jobs.
#[derive(Debug, Clone, Default)]
struct LastCall {
    ids: Vec<LinearId>,
    jobs: Vec<JobRecord>,
}

/// Where the running accumulator of one (token row, output row) first
/// differed from the prefix sum: found by replaying the job that computed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeatDivergence {
    /// K segment `[k0, k1)` and the beat (K tile) in it.
    pub k_range: (usize, usize),
    pub beat: usize,
    /// Running accumulator after the beat.
    pub expected: i32,
    pub got: i32,
    /// Cycle of the issue counted from the first cycle of its job (the
    /// job's activation load): the same in every process, whatever ran
    /// on the model before (a shard runs only part of the calls).
    pub cycle: u64,
    /// Byte of the memory image (of the segment) holding the first weight
    /// of the beat for this output row.
    pub image_byte: usize,
}

/// The RTL backend: one Verilator model of one accelerator configuration,
/// fed by a [`MemoryConfig`] memory.
pub struct RtlBackend {
    sim: AccelSim,
    cfg: &'static AccelSimConfig,
    batch: usize,
    mem: MemoryConfig,
    name: String,
    fault: Option<PlantedFault>,
    /// Weight images per (matrix uid, k0, k1), without the planted fault.
    images: HashMap<(u64, usize, usize), Arc<Vec<u8>>>,
    last: LastCall,
}

impl std::fmt::Debug for RtlBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RtlBackend({})", self.name)
    }
}

fn sim_err(name: &str, site: &str, e: SimError) -> tritium_golden::Error {
    tritium_golden::Error::backend(name, site, e)
}

impl RtlBackend {
    /// Builds the model of `cfg` (one of `tritium_sim::ACCEL_CONFIGS`), fed
    /// by memory `mem`, running jobs of up to `batch` token rows
    /// (`1..=cfg.tokens`).
    pub fn new(
        cfg: &'static AccelSimConfig,
        batch: usize,
        mem: MemoryConfig,
    ) -> std::result::Result<RtlBackend, SimError> {
        if !(1..=cfg.tokens).contains(&batch) {
            return Err(SimError::OutOfRange {
                what: "batch (token rows per job, the activation buffer's TMax)",
                value: batch,
                min: 1,
                max: cfg.tokens,
            });
        }
        mem.check(cfg.bus_bytes).map_err(SimError::Memory)?;
        let sim = AccelSim::new(cfg)?;
        let a = &cfg.array;
        Ok(RtlBackend {
            sim,
            cfg,
            batch,
            mem,
            name: format!("rtl-{}-{}x{}-{}", cfg.name, a.cols, a.lanes, cfg.format),
            fault: None,
            images: HashMap::new(),
            last: LastCall::default(),
        })
    }

    pub fn config(&self) -> &'static AccelSimConfig {
        self.cfg
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    pub fn memory(&self) -> MemoryConfig {
        self.mem
    }

    /// Flips one weight in the memory image streamed to the RTL.
    pub fn plant_fault(&mut self, fault: PlantedFault) {
        self.fault = Some(fault);
    }

    /// The planted fault, if any.
    pub fn fault(&self) -> Option<PlantedFault> {
        self.fault
    }

    /// Starts writing a VCD waveform of everything simulated from now on.
    pub fn trace_to(&mut self, path: &Path) -> std::result::Result<(), SimError> {
        self.sim.trace_to(path)
    }

    /// Stops the waveform, if any.
    pub fn trace_stop(&mut self) -> std::result::Result<(), SimError> {
        self.sim.trace_stop()
    }

    /// The model's counters since reset.
    pub fn counters(&self) -> AccelCounters {
        self.sim.counters()
    }

    /// The memory image of `w` over `k0..k1` as the RTL reads it (with the
    /// planted fault, if it falls there).
    fn image(
        &mut self,
        id: LinearId,
        w: &TernaryMatrix,
        seg: (usize, usize),
    ) -> tritium_golden::Result<Arc<Vec<u8>>> {
        let (k0, k1) = seg;
        let key = (w.uid(), k0, k1);
        let img = match self.images.get(&key) {
            Some(i) => Arc::clone(i),
            None => {
                let i = Arc::new(weight_image(w, &self.cfg.accel, k0, k1)?);
                self.images.insert(key, Arc::clone(&i));
                i
            }
        };
        match self.fault {
            Some(f) if f.id == id && f.row < w.n() && (k0..k1).contains(&f.col) => {
                let mut v = (*img).clone();
                plant(&mut v, &self.cfg.accel, seg, f.row, f.col);
                Ok(Arc::new(v))
            }
            _ => Ok(img),
        }
    }

    /// Runs one job: rows `row0..row0 + rows` of every call over segment
    /// `seg`, one run per call.
    fn run_job(
        &mut self,
        calls: &[LinearCall<'_>],
        row0: usize,
        rows: usize,
        seg: (usize, usize),
        trace: bool,
    ) -> tritium_golden::Result<JobReport> {
        let first = &calls[0];
        let k = first.weights.k();
        let site = first.id.to_string();
        let lanes = self.cfg.array.lanes;
        let acts = act_image(
            &first.acts[row0 * k..(row0 + rows) * k],
            rows,
            k,
            seg.0,
            seg.1,
            lanes,
        )?;
        let images = calls
            .iter()
            .map(|c| self.image(c.id, c.weights, seg))
            .collect::<tritium_golden::Result<Vec<_>>>()?;
        let runs: Vec<RunSpec<'_>> = calls
            .iter()
            .zip(&images)
            .map(|(c, img)| RunSpec {
                tiles: self.cfg.array.tiles(c.weights.n()),
                image: img,
            })
            .collect();
        let job = Job {
            tokens: rows,
            beats: self.cfg.array.beats(seg.1 - seg.0),
            acts: &acts,
            runs: &runs,
            trace,
        };
        let name = self.name.clone();
        let r = self
            .sim
            .run(&job, &self.mem)
            .map_err(|e| sim_err(&name, &site, e));
        if r.is_err() {
            // A failed job leaves the model mid-run: start the next from reset.
            let _ = self.sim.reset();
        }
        let r = r?;
        if !r.errors.none() {
            return Err(sim_err(
                &name,
                &site,
                SimError::Protocol(format!(
                    "the accelerator raised its error flags: {:?}",
                    r.errors
                )),
            ));
        }
        Ok(r)
    }

    /// Bytes of the weight image of `call` over `seg`.
    fn image_len(&self, call: &LinearCall<'_>, seg: (usize, usize)) -> u64 {
        let words = self.cfg.run_words(call.weights.n(), seg.1 - seg.0);
        self.cfg.run_bytes(words) as u64
    }

    /// Runs `calls` (one BitLinear, or several on the same activations) as
    /// jobs; `outs[i]` receives call `i`'s accumulators, `stats[i]` its
    /// measured statistics.
    fn execute(
        &mut self,
        calls: &[LinearCall<'_>],
        outs: &mut [Vec<i32>],
        stats: &mut [ExecStats],
    ) -> tritium_golden::Result<()> {
        let first = &calls[0];
        let (k, rows) = (first.weights.k(), first.rows);
        let a = self.cfg.array;
        let segs: Vec<(usize, usize)> = a.segments(k).collect();
        self.last = LastCall {
            ids: calls.iter().map(|c| c.id).collect(),
            jobs: Vec::new(),
        };
        for (o, c) in outs.iter_mut().zip(calls) {
            o.clear();
            o.resize(c.rows * c.weights.n(), 0);
        }
        for s in stats.iter_mut() {
            *s = ExecStats::default();
        }
        let mut raw = vec![AccelCounters::default(); calls.len()];
        for row0 in (0..rows).step_by(self.batch) {
            let n_rows = self.batch.min(rows - row0);
            for (si, &seg) in segs.iter().enumerate() {
                let rep = self.run_job(calls, row0, n_rows, seg, false)?;
                self.last.jobs.push(JobRecord {
                    row0,
                    rows: n_rows,
                    segment: si,
                });
                let mut in_runs = AccelCounters::default();
                for (i, run) in rep.runs.iter().enumerate() {
                    let n = calls[i].weights.n();
                    for t in 0..n_rows {
                        let out = &mut outs[i][(row0 + t) * n..(row0 + t + 1) * n];
                        for (j, o) in out.iter_mut().enumerate() {
                            let (tile, c) = (j / a.cols, j % a.cols);
                            *o += run.results[(tile * n_rows + t) * a.cols + c];
                        }
                    }
                    raw[i] += run.counters;
                    in_runs += run.counters;
                }
                // Weight beats are prefetched across runs: a run's window
                // does not hold exactly its own DRAM bytes, the job does.
                // Each call is given its image, and the job's counter must
                // equal their sum.
                let mut image_bytes = 0u64;
                for (i, c) in calls.iter().enumerate() {
                    let b = self.image_len(c, seg);
                    raw[i].dram_bytes = raw[i].dram_bytes - rep.runs[i].counters.dram_bytes + b;
                    image_bytes += b;
                }
                if rep.counters.dram_bytes != image_bytes {
                    return Err(sim_err(
                        &self.name,
                        &first.id.to_string(),
                        SimError::Protocol(format!(
                            "the accelerator counted {} DRAM bytes for a job whose images hold {image_bytes}",
                            rep.counters.dram_bytes
                        )),
                    ));
                }
                // The load (and anything outside the runs' windows) is the
                // first call's.
                let mut rest = rep.counters.since(&in_runs);
                rest.dram_bytes = 0; // given to the calls by image above
                raw[0] += rest;
            }
        }
        for (i, c) in calls.iter().enumerate() {
            let n = c.weights.n();
            let streamed: u64 = segs
                .iter()
                .map(|&(k0, k1)| (a.tiles(n) * a.macs_per_beat() * a.beats(k1 - k0)) as u64)
                .sum();
            let padding = c.rows as u64 * (streamed - (n * k) as u64);
            let r = &raw[i];
            stats[i] = ExecStats {
                calls: 1,
                macs: c.macs(),
                adds: r.adds,
                // Measured skips minus the padding lanes: the zero weights proper.
                zero_skips: r.skips.saturating_sub(padding),
                cycles: r.cycles,
                busy_cycles: r.busy,
                stall_cycles: r.res_stall,
                mem_stall_cycles: r.mem_stall,
                dram_bytes: r.dram_bytes,
                buffer_reads: r.act_reads,
                buffer_writes: r.act_writes,
            };
        }
        Ok(())
    }

    /// Replays the job of the last call that computed token row `row` over
    /// K segment `segment`, with every issue recorded, and finds the first
    /// beat at which output row `j` of call `call` differs from its prefix
    /// sum; with `wave`, a waveform of a replay of that output tile alone is
    /// written there. `None` when the job is not found or every running sum
    /// agrees (the difference is elsewhere).
    pub fn locate_beat(
        &mut self,
        calls: &[LinearCall<'_>],
        call: usize,
        row: usize,
        j: usize,
        segment: usize,
        wave: Option<&Path>,
    ) -> tritium_golden::Result<Option<BeatDivergence>> {
        if !self.last.ids.iter().eq(calls.iter().map(|c| &c.id)) {
            return Ok(None);
        }
        let Some(rec) = self
            .last
            .jobs
            .iter()
            .find(|r| r.segment == segment && (r.row0..r.row0 + r.rows).contains(&row))
            .cloned()
        else {
            return Ok(None);
        };
        let a = self.cfg.array;
        let k = calls[0].weights.k();
        let Some(seg) = a.segments(k).nth(segment) else {
            return Ok(None);
        };
        let replay_start = self.sim.cycle();
        let rep = self.run_job(calls, rec.row0, rec.rows, seg, true)?;
        let t = row - rec.row0;
        let w = calls[call].weights;
        let acts = &calls[0].acts[row * k..(row + 1) * k];
        let (tile, c) = (j / a.cols, j % a.cols);
        let issues: Vec<&Issue> = rep.runs[call]
            .issues
            .iter()
            .filter(|i| i.tile == tile && i.token == t)
            .collect();
        let mut acc = 0i32;
        let mut found = None;
        for is in issues {
            let lo = seg.0 + is.beat * a.lanes;
            let hi = (lo + a.lanes).min(seg.1);
            acc += (lo..hi)
                .map(|col| i32::from(w.get(j, col)) * i32::from(acts[col]))
                .sum::<i32>();
            if is.acc[c] != acc {
                found = Some(BeatDivergence {
                    k_range: (lo, hi),
                    beat: is.beat,
                    expected: acc,
                    got: is.acc[c],
                    cycle: is.cycle - replay_start,
                    image_byte: image_position(&self.cfg.accel, seg.0, seg.1, j, lo).0,
                });
                break;
            }
        }
        if let (Some(path), Some(_)) = (wave, found) {
            self.replay_tile(&calls[call], rec.row0, rec.rows, seg, tile, path)?;
        }
        Ok(found)
    }

    /// Runs output tile `tile` of `call` alone (same rows, same segment,
    /// same memory image bytes) with a waveform to `path`.
    fn replay_tile(
        &mut self,
        call: &LinearCall<'_>,
        row0: usize,
        rows: usize,
        seg: (usize, usize),
        tile: usize,
        path: &Path,
    ) -> tritium_golden::Result<()> {
        let a = self.cfg.array;
        let w = call.weights;
        let (r0, r1) = (tile * a.cols, ((tile + 1) * a.cols).min(w.n()));
        let sub: Vec<i8> = (r0..r1)
            .flat_map(|r| (0..w.k()).map(move |c| w.get(r, c)))
            .collect();
        let sub = TernaryMatrix::from_ternary(
            &format!("{} tile {tile}", call.id),
            r1 - r0,
            w.k(),
            &sub,
            1.0,
        )?;
        let mut img = weight_image(&sub, &self.cfg.accel, seg.0, seg.1)?;
        if let Some(f) = self.fault.filter(|f| {
            f.id == call.id && (r0..r1).contains(&f.row) && (seg.0..seg.1).contains(&f.col)
        }) {
            plant(&mut img, &self.cfg.accel, seg, f.row - r0, f.col);
        }
        let k = w.k();
        let acts = act_image(
            &call.acts[row0 * k..(row0 + rows) * k],
            rows,
            k,
            seg.0,
            seg.1,
            a.lanes,
        )?;
        let runs = [RunSpec {
            tiles: 1,
            image: &img,
        }];
        let job = Job {
            tokens: rows,
            beats: a.beats(seg.1 - seg.0),
            acts: &acts,
            runs: &runs,
            trace: false,
        };
        let name = self.name.clone();
        let site = format!("{} (waveform of tile {tile})", call.id);
        self.sim
            .trace_to(path)
            .map_err(|e| sim_err(&name, &site, e))?;
        let r = self.sim.run(&job, &self.mem);
        let stop = self.sim.trace_stop();
        if r.is_err() {
            let _ = self.sim.reset();
        }
        r.map_err(|e| sim_err(&name, &site, e))?;
        stop.map_err(|e| sim_err(&name, &site, e))
    }
}

impl Backend for RtlBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn matmul(
        &mut self,
        call: &LinearCall<'_>,
        out: &mut [i32],
    ) -> tritium_golden::Result<ExecStats> {
        call.check(out)?;
        let mut outs = [Vec::new()];
        let mut stats = [ExecStats::default()];
        self.execute(std::slice::from_ref(call), &mut outs, &mut stats)?;
        out.copy_from_slice(&outs[0]);
        Ok(stats[0])
    }

    /// One job per (row chunk, K segment) for the whole group when its calls
    /// read the same activations (q/k/v, gate/up: one buffer load); one by
    /// one otherwise.
    fn matmul_group(
        &mut self,
        calls: &[LinearCall<'_>],
        outs: &mut [Vec<i32>],
        stats: &mut [ExecStats],
    ) -> tritium_golden::Result<()> {
        check_group(calls, outs, stats)?;
        if calls.is_empty() {
            return Ok(());
        }
        for (c, o) in calls.iter().zip(outs.iter()) {
            c.check(o)?;
        }
        if tritium_golden::backend::shares_activations(calls) {
            self.execute(calls, outs, stats)
        } else {
            tritium_golden::backend::matmul_each(self, calls, outs, stats)
        }
    }
}
