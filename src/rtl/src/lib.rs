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
//! The beats are packed by the golden crate ([`tritium_golden::stream`]);
//! their 2-bit codes are the canonical codes of
//! [`tritium_golden::TernaryMatrix`] (`t + 1`), which are also the RTL's.
//!
//! - [`RtlBackend`]: the [`Backend`] on one Verilator model.
//! - [`lockstep`]: [`Lockstep`], golden and RTL side by side, every
//!   accumulator compared with `==`, the first divergence located.
//! - [`cosim`]: whole-network and single-layer co-simulation runs and their
//!   report (`tritium cosim`).

#![forbid(unsafe_code)]

pub mod cosim;
mod error;
pub mod lockstep;

use std::path::Path;

use tritium_golden::stream;
use tritium_golden::{ArrayConfig, Backend, ExecStats, LinearCall, LinearId, TernaryMatrix};
use tritium_sim::{ArraySim, TracedTile};

pub use cosim::{
    run_cosim, run_layer_cosim, CosimOptions, CosimReport, FaultReport, LayerCosimOptions,
};
pub use error::{Error, Result};
pub use lockstep::{
    AccumulatorDivergence, ActivityDivergence, Divergence, FirstDivergence, LinearRow, Lockstep,
};
pub use tritium_sim::{SimConfig, SimError, CONFIGS};

/// A weight code flipped in the weights fed to the RTL only, to prove that
/// the checker catches and locates a fault: +1 becomes -1, and -1 or 0
/// becomes +1.
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

/// The weight beats and activation beats of one tile.
type TileBeats = (Vec<Vec<u8>>, Vec<Vec<i8>>);

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
    cfg: &'static SimConfig,
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

/// Weight beats of output tile `tile` over K segment `seg = [k0, k1)`, in
/// the golden crate's stream format ([`tritium_golden::stream`]). `fault`
/// flips the code at `(row, col)` in the beats only: the sign of a non-zero
/// weight, or a zero into +1.
fn tile_weight_beats(
    w: &TernaryMatrix,
    geom: &ArrayConfig,
    tile: usize,
    seg: (usize, usize),
    fault: Option<(usize, usize)>,
) -> tritium_golden::Result<Vec<Vec<u8>>> {
    let (k0, k1) = seg;
    let mut beats = stream::weight_tile_beats(w, geom, tile, k0, k1)?;
    if let Some((row, col)) = fault {
        if row / geom.cols == tile && (k0..k1).contains(&col) {
            let slot = &mut beats[(col - k0) / geom.lanes]
                [(row % geom.cols) * geom.lanes + (col - k0) % geom.lanes];
            *slot = if *slot == 2 { 0 } else { 2 };
        }
    }
    Ok(beats)
}

fn sim_err(name: &str, site: &str, e: SimError) -> tritium_golden::Error {
    tritium_golden::Error::backend(name, site, e)
}

impl RtlBackend {
    /// Builds the model of `cfg` (one of `tritium_sim::CONFIGS`) and resets it.
    pub fn new(cfg: &'static SimConfig) -> std::result::Result<RtlBackend, SimError> {
        let sim = ArraySim::new(cfg)?;
        Ok(RtlBackend {
            sim,
            cfg,
            name: format!("rtl-{}-{}x{}", cfg.name, cfg.cols, cfg.lanes),
            fault: None,
            last_timings: Vec::new(),
        })
    }

    pub fn config(&self) -> &'static SimConfig {
        self.cfg
    }

    /// Flips one weight code in what is streamed to the RTL (not in the model).
    pub fn plant_fault(&mut self, fault: PlantedFault) {
        self.fault = Some(fault);
    }

    /// Starts writing a VCD waveform of everything simulated from now on.
    pub fn trace_to(&mut self, path: &Path) -> std::result::Result<(), SimError> {
        self.sim.trace_to(path)
    }

    /// Stops the waveform, if any.
    pub fn trace_stop(&mut self) -> std::result::Result<(), SimError> {
        self.sim.trace_stop()
    }

    fn geom(&self) -> &ArrayConfig {
        &self.cfg.array
    }

    /// K segments `[k0, k1)` so that no tile exceeds the array's `k_max`.
    fn segments(&self, k: usize) -> Vec<(usize, usize)> {
        self.cfg.segments(k).collect()
    }

    /// The planted fault, if any.
    pub fn fault(&self) -> Option<PlantedFault> {
        self.fault
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
    ) -> tritium_golden::Result<TileBeats> {
        let k = call.weights.k();
        let acts = &call.acts[row * k + seg.0..row * k + seg.1];
        let a = stream::act_beats(acts, self.geom());
        let w = tile_weight_beats(
            call.weights,
            self.geom(),
            tile,
            seg,
            self.fault_for(call.id),
        )?;
        Ok((w, a))
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
    ) -> tritium_golden::Result<(TracedTile, u64, (usize, usize))> {
        let segs = self.segments(call.weights.k());
        let name = self.name.clone();
        let site = format!(
            "{} (replay of row {row}, tile {tile}, K segment {segment})",
            call.id
        );
        let err = |e| sim_err(&name, &site, e);
        let &seg = segs.get(segment).ok_or_else(|| {
            err(SimError::Shape {
                what: "K segment index",
                expected: segs.len(),
                got: segment,
            })
        })?;
        let (w, a) = self.tile_inputs(call, row, tile, seg)?;
        if let Some(p) = trace {
            self.sim.trace_to(p).map_err(err)?;
        }
        let mut out = vec![0i32; self.cfg.cols];
        let traced = self.sim.run_tile_traced(&w, &a, &mut out);
        if trace.is_some() {
            self.sim.trace_stop().map_err(err)?;
        }
        let traced = traced.map_err(err)?;
        let tiles = call.weights.n().div_ceil(self.cfg.cols);
        let idx = (row * tiles + tile) * segs.len() + segment;
        let t = self.last_timings.get(idx).cloned().unwrap_or_default();
        Ok((traced, t.start_cycle, seg))
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
        let geom = &self.cfg.array;
        let beats_w: Vec<Vec<Vec<u8>>> = (0..tiles)
            .flat_map(|tile| segs.iter().map(move |&seg| (tile, seg)))
            .map(|(tile, seg)| tile_weight_beats(call.weights, geom, tile, seg, fault))
            .collect::<tritium_golden::Result<_>>()?;
        let mut tile_out = vec![0i32; cfg.cols];
        for row in 0..call.rows {
            let seg_acts: Vec<Vec<Vec<i8>>> = segs
                .iter()
                .map(|&(k0, k1)| stream::act_beats(&call.acts[row * k + k0..row * k + k1], geom))
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
            ..ExecStats::default()
        })
    }
}
