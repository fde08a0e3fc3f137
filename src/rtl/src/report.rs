//! The report of a co-simulation, for tables and `--json`: per-BitLinear
//! rows and totals, the first divergence, and for a sharded run each
//! shard's work and the projection to more nodes.

use serde::{Deserialize, Serialize};
use tritium_golden::ExecStats;

use crate::lockstep::FirstDivergence;
use crate::tally::LinearRow;

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
    /// Per core: over the sum of the shards' wall times.
    pub simulated_cycles_per_second: f64,
    pub verified_macs_per_second: f64,
    /// A sharded run: each shard's work and times (empty for one process).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardTiming>,
    /// A sharded run: projected wall time on more nodes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub projection: Vec<Projection>,
}

/// One shard of a merged run.
#[derive(Debug, Clone, Serialize)]
pub struct ShardTiming {
    /// 1-based.
    pub shard: usize,
    /// Groups of calls it ran (on the RTL, or golden only).
    pub groups: usize,
    pub rtl_macs: u64,
    /// Its golden pass, then its whole run.
    pub golden_seconds: f64,
    pub wall_seconds: f64,
}

/// The wall time the same run would take on `nodes` shards.
#[derive(Debug, Clone, Serialize)]
pub struct Projection {
    pub nodes: usize,
    /// RTL MACs of the largest shard.
    pub critical_macs: u64,
    pub wall_seconds: f64,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrayInfo {
    /// Configuration name (`tritium_sim::ACCEL_CONFIGS`).
    pub name: String,
    pub cols: usize,
    pub lanes: usize,
    /// Peak MACs per cycle (one issue: every column and lane).
    pub macs_per_cycle: usize,
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

/// The report of `rows` (summed in layer/projection order): totals, memory
/// floors, times. `wall`: the run's wall time; `busy`: the processes' time
/// summed (the per-core rates' denominator; `wall` for one process).
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_report(
    model: &str,
    array: ArrayInfo,
    prompt: &[u32],
    generated: Vec<u32>,
    mut rows: Vec<LinearRow>,
    divergence: Option<FirstDivergence>,
    planted_fault: Option<FaultReport>,
    wall: f64,
    busy: f64,
) -> CosimReport {
    for r in &mut rows {
        r.memory_floor = memory_floor(&r.stats, array.mem_bytes_per_cycle);
    }
    let peak = array.macs_per_cycle as f64;
    let mut total = total_of(&rows, peak);
    total.memory_floor = memory_floor(&total.stats, array.mem_bytes_per_cycle);
    let busy = busy.max(1e-9);
    let verified: u64 = rows
        .iter()
        .filter(|r| r.stats.cycles > 0)
        .map(|r| r.stats.macs)
        .sum();
    CosimReport {
        schema_version: 2,
        model: model.to_string(),
        prompt_tokens: prompt.to_vec(),
        generated_tokens: generated,
        passed: divergence.is_none(),
        planted_fault,
        first_divergence: divergence,
        simulated_seconds: total.stats.cycles as f64 / (array.clock_mhz * 1e6),
        simulated_cycles_per_second: total.stats.cycles as f64 / busy,
        verified_macs_per_second: verified as f64 / busy,
        wall_seconds: wall,
        array,
        rows,
        total,
        shards: Vec::new(),
        projection: Vec::new(),
    }
}

impl CosimReport {
    /// The shards of a merged run and the projection to more nodes (empty
    /// for one process).
    pub fn shard_table(&self) -> String {
        if self.shards.is_empty() {
            return String::new();
        }
        let mut s = format!(
            "{:<6} {:>7} {:>14} {:>10} {:>10}\n",
            "shard", "groups", "RTL MACs", "golden s", "wall s"
        );
        for t in &self.shards {
            s += &format!(
                "{:<6} {:>7} {:>14} {:>10.2} {:>10.2}\n",
                t.shard, t.groups, t.rtl_macs, t.golden_seconds, t.wall_seconds
            );
        }
        if !self.projection.is_empty() {
            s +=
                "projected wall time once the model is loaded (same plan, measured per-core rate):";
            for p in &self.projection {
                s += &format!(" {} nodes {:.1} s;", p.nodes, p.wall_seconds);
            }
            s.pop();
            s.push('\n');
        }
        s
    }

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
