//! The `Rtl` backend: every BitLinear executed cycle by cycle on the
//! Verilator model of `tri_mac_array` (crate `tritium-sim`).
//!
//! # Tiling (rtl/INTERFACE.md)
//! An `N x K` BitLinear for one token row is cut into `ceil(N / cols)`
//! output tiles of `cols` rows. Each tile streams `ceil(K / lanes)` beats
//! (one weight beat of `cols x lanes` 2-bit codes with one activation beat of
//! `lanes` int8). Rows past `N` and lanes past `K` are padded with code 1
//! (weight 0) and activation 0. When K exceeds what one tile may hold
//! (`k_max` of the array, which sizes its accumulators), K is split into
//! segments and the host adds the segments' accumulators (exact in i32).
//!
//! The 2-bit codes streamed are the canonical codes of
//! [`tritium_golden::TernaryMatrix`] (`t + 1`), which are also the RTL's.

mod cosim;

use std::path::Path;

use tritium_golden::{Backend, ExecStats, LinearCall, LinearId, TernaryMatrix};
use tritium_sim::{ArrayConfig, ArraySim, SimError, TracedTile};

pub use cosim::{
    run_cosim, run_layer_cosim, CosimOptions, CosimReport, FirstDivergence, LayerCosimOptions,
    LinearRow, Lockstep,
};

/// A weight code flipped in the weights fed to the RTL only, to prove that
/// the checker catches and locates a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlantedFault {
    pub id: LinearId,
    pub row: usize,
    pub col: usize,
}

/// Where the beats of one (token row, tile, K segment) ran.
#[derive(Debug, Clone, Default)]
struct TileTiming {
    /// Simulator cycle at which the tile started.
    start_cycle: u64,
    /// Cycle (relative to `start_cycle`) each beat was accepted in.
    accept_cycles: Vec<u64>,
}

/// The RTL backend: one Verilator model of one array configuration.
pub struct RtlBackend {
    sim: ArraySim,
    cfg: &'static ArrayConfig,
    name: String,
    fault: Option<PlantedFault>,
    /// Timings of the last call, indexed by `(row * tiles + tile) * segments + segment`.
    last_timings: Vec<TileTiming>,
}

impl std::fmt::Debug for RtlBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RtlBackend({})", self.name)
    }
}

/// Weight beats of output tile `tile` over K segment `seg = [k0, k1)`: per
/// beat `cols * lanes` codes, column-major as rtl/INTERFACE.md, padded with
/// code 1. `fault` flips the code at `(row, col)`: the sign of a non-zero
/// weight, or a zero into +1.
fn tile_weight_beats(
    w: &TernaryMatrix,
    cfg: &ArrayConfig,
    tile: usize,
    seg: (usize, usize),
    fault: Option<(usize, usize)>,
) -> Vec<Vec<u8>> {
    let (k0, k1) = seg;
    let beats = (k1 - k0).div_ceil(cfg.lanes);
    let mut out = vec![vec![1u8; cfg.cols * cfg.lanes]; beats];
    for c in 0..cfg.cols {
        let row = tile * cfg.cols + c;
        if row >= w.n() {
            break;
        }
        let packed = w.packed_row(row);
        for col in k0..k1 {
            let mut code = (packed[col / 4] >> (2 * (col % 4))) & 3;
            if fault == Some((row, col)) {
                code = if code == 2 { 0 } else { 2 };
            }
            let (beat, lane) = ((col - k0) / cfg.lanes, (col - k0) % cfg.lanes);
            out[beat][c * cfg.lanes + lane] = code;
        }
    }
    out
}

fn act_beats(acts: &[i8], lanes: usize) -> Vec<Vec<i8>> {
    acts.chunks(lanes)
        .map(|c| {
            let mut b = c.to_vec();
            b.resize(lanes, 0);
            b
        })
        .collect()
}

fn sim_err(name: &str, site: &str, e: SimError) -> tritium_golden::Error {
    tritium_golden::Error::Backend {
        backend: name.to_string(),
        site: site.to_string(),
        message: e.to_string(),
    }
}

impl RtlBackend {
    /// Builds the model of `cfg` (one of `tritium_sim::CONFIGS`) and resets it.
    pub fn new(cfg: &'static ArrayConfig) -> Result<RtlBackend, SimError> {
        let sim = ArraySim::new(cfg)?;
        Ok(RtlBackend {
            sim,
            cfg,
            name: format!("rtl-{}-{}x{}", cfg.name, cfg.cols, cfg.lanes),
            fault: None,
            last_timings: Vec::new(),
        })
    }

    pub fn config(&self) -> &'static ArrayConfig {
        self.cfg
    }

    /// Flips one weight code in what is streamed to the RTL (not in the model).
    pub fn plant_fault(&mut self, fault: PlantedFault) {
        self.fault = Some(fault);
    }

    /// Starts writing a VCD waveform of everything simulated from now on.
    pub fn trace_to(&mut self, path: &Path) -> Result<(), SimError> {
        self.sim.trace_to(path)
    }

    /// Stops the waveform, if any.
    pub fn trace_stop(&mut self) -> Result<(), SimError> {
        self.sim.trace_stop()
    }

    /// K segments `[k0, k1)` so that no tile exceeds the array's `k_max`.
    fn segments(&self, k: usize) -> Vec<(usize, usize)> {
        let seg = self.cfg.max_beats() * self.cfg.lanes;
        (0..k.div_ceil(seg))
            .map(|s| (s * seg, ((s + 1) * seg).min(k)))
            .collect()
    }

    fn fault_for(&self, id: LinearId) -> Option<(usize, usize)> {
        self.fault.filter(|f| f.id == id).map(|f| (f.row, f.col))
    }

    fn tile_inputs(
        &self,
        call: &LinearCall<'_>,
        row: usize,
        tile: usize,
        seg: (usize, usize),
    ) -> (Vec<Vec<u8>>, Vec<Vec<i8>>) {
        let k = call.weights.k();
        let acts = &call.acts[row * k + seg.0..row * k + seg.1];
        let a = act_beats(acts, self.cfg.lanes);
        let w = tile_weight_beats(call.weights, self.cfg, tile, seg, self.fault_for(call.id));
        (w, a)
    }

    /// Re-runs one tile of the last call with `acc_o` recorded after every
    /// beat (and a waveform to `trace`, if given), to find the first beat at
    /// which the datapath diverged. Returns the traced run and the absolute
    /// cycle at which that tile's beats started in the original run.
    pub fn replay_tile(
        &mut self,
        call: &LinearCall<'_>,
        row: usize,
        tile: usize,
        segment: usize,
        trace: Option<&Path>,
    ) -> Result<(TracedTile, u64, (usize, usize)), SimError> {
        let segs = self.segments(call.weights.k());
        let seg = segs[segment];
        let (w, a) = self.tile_inputs(call, row, tile, seg);
        if let Some(p) = trace {
            self.sim.trace_to(p)?;
        }
        let mut out = vec![0i32; self.cfg.cols];
        let traced = self.sim.run_tile_traced(&w, &a, &mut out);
        if trace.is_some() {
            self.sim.trace_stop()?;
        }
        let tiles = call.weights.n().div_ceil(self.cfg.cols);
        let idx = (row * tiles + tile) * segs.len() + segment;
        let t = self.last_timings.get(idx).cloned().unwrap_or_default();
        Ok((traced?, t.start_cycle, seg))
    }

    /// Cycle (absolute) at which beat `beat` of a tile was accepted in the last call.
    fn beat_cycle(
        &self,
        call: &LinearCall<'_>,
        row: usize,
        tile: usize,
        segment: usize,
        beat: usize,
    ) -> Option<u64> {
        let segs = self.segments(call.weights.k()).len();
        let tiles = call.weights.n().div_ceil(self.cfg.cols);
        let t = self
            .last_timings
            .get((row * tiles + tile) * segs + segment)?;
        Some(t.start_cycle + t.accept_cycles.get(beat)?)
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
        let (n, k) = (call.weights.n(), call.weights.k());
        let cfg = self.cfg;
        let tiles = n.div_ceil(cfg.cols);
        let segs = self.segments(k);
        let site = call.id.to_string();
        let before = self.sim.counters();
        self.last_timings.clear();
        let fault = self.fault_for(call.id);
        // Weight beats depend only on (tile, segment): build them once per call.
        let beats_w: Vec<Vec<Vec<u8>>> = (0..tiles)
            .flat_map(|tile| segs.iter().map(move |&seg| (tile, seg)))
            .map(|(tile, seg)| tile_weight_beats(call.weights, cfg, tile, seg, fault))
            .collect();
        let mut tile_out = vec![0i32; cfg.cols];
        for row in 0..call.rows {
            let seg_acts: Vec<Vec<Vec<i8>>> = segs
                .iter()
                .map(|&(k0, k1)| act_beats(&call.acts[row * k + k0..row * k + k1], cfg.lanes))
                .collect();
            let out_row = &mut out[row * n..(row + 1) * n];
            out_row.fill(0);
            for tile in 0..tiles {
                for (s, acts) in seg_acts.iter().enumerate() {
                    let start_cycle = self.sim.cycle();
                    let rep = self
                        .sim
                        .run_tile(&beats_w[tile * segs.len() + s], acts, &mut tile_out)
                        .map_err(|e| sim_err(&self.name, &site, e))?;
                    self.last_timings.push(TileTiming {
                        start_cycle,
                        accept_cycles: rep.accept_cycles,
                    });
                    for (c, &v) in tile_out.iter().enumerate() {
                        let j = tile * cfg.cols + c;
                        if j < n {
                            out_row[j] += v;
                        }
                    }
                }
            }
        }
        let after = self.sim.counters();
        let lanes_streamed: usize = segs
            .iter()
            .map(|&(k0, k1)| (k1 - k0).div_ceil(cfg.lanes) * cfg.lanes)
            .sum();
        let padding = (call.rows * (tiles * cfg.cols * lanes_streamed - n * k)) as u64;
        Ok(ExecStats {
            calls: 1,
            macs: call.macs(),
            adds: after.adds - before.adds,
            // Measured skips minus the padding lanes: the zero weights proper.
            zero_skips: (after.skips - before.skips).saturating_sub(padding),
            cycles: after.cycles - before.cycles,
            busy_cycles: after.busy - before.busy,
            stall_cycles: after.stalls - before.stalls,
        })
    }
}
