//! What a co-simulation measured, group by group, and the per-BitLinear
//! table rows summed from it. A [`GroupResult`] is one `matmul_group` of
//! the forward pass (q/k/v or gate/up together, o and down alone) with its
//! sequence number in the whole run: the unit shards are cut into and
//! merged from, so that a table summed from the groups of several shards is
//! the table of a single process, field for field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tritium_golden::{ExecStats, LinearId, Proj};

/// Statistics and verdict of one BitLinear (one layer, one projection).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// The memory floor (DRAM bytes over the memory's bytes per cycle) over
    /// the measured cycles: 1.0 when the weight stream never paused.
    pub memory_floor: f64,
    /// `match`, `MISMATCH`, or `golden only` (layer not selected).
    pub verdict: String,
}

/// One BitLinear call of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallResult {
    pub layer: usize,
    /// Hugging Face name (`q_proj`, ...).
    pub proj: String,
    /// Token rows of the call.
    pub rows: u64,
    /// Accumulators compared with `==` (0 for a golden-only call).
    pub compared: u64,
    /// Measured by the RTL, or counted by the golden model for a
    /// golden-only call.
    pub stats: ExecStats,
    /// This call's accumulators or activity differed (the divergence).
    pub mismatch: bool,
}

/// One group of calls on the same activations, in run order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupResult {
    /// Position of the group among all groups of the run (0-based).
    pub seq: usize,
    /// Executed on the RTL (its layer is selected) or on golden only.
    pub on_rtl: bool,
    /// The planted fault's BitLinear ran here with data that can show it.
    pub fault_exercised: bool,
    pub calls: Vec<CallResult>,
}

impl GroupResult {
    /// MACs of the group's calls.
    pub fn macs(&self) -> u64 {
        self.calls.iter().map(|c| c.stats.macs).sum()
    }
}

/// The projection called `hf_name`.
fn proj_of(hf_name: &str) -> Option<Proj> {
    Proj::ALL.into_iter().find(|p| p.hf_name() == hf_name)
}

/// Table rows in layer/projection order, summed over `groups` in the order
/// given. `peak`: the array's MACs per cycle (utilization).
pub fn rows_of<'a>(groups: impl IntoIterator<Item = &'a GroupResult>, peak: f64) -> Vec<LinearRow> {
    let mut rows: BTreeMap<(usize, usize, String), LinearRow> = BTreeMap::new();
    for g in groups {
        for c in &g.calls {
            // Unknown names (a hand-edited file) sort after the known ones.
            let order = proj_of(&c.proj).map_or(usize::MAX, Proj::index);
            let e = rows
                .entry((c.layer, order, c.proj.clone()))
                .or_insert_with(|| LinearRow {
                    layer: c.layer,
                    proj: c.proj.clone(),
                    verdict: "golden only".into(),
                    ..LinearRow::default()
                });
            e.stats += c.stats;
            e.token_rows += c.rows;
            if g.on_rtl {
                e.compared += c.compared;
                e.utilization = e.stats.macs as f64 / (e.stats.cycles.max(1) as f64 * peak);
                if c.mismatch {
                    e.verdict = "MISMATCH".into();
                } else if e.verdict != "MISMATCH" {
                    e.verdict = "match".into();
                }
            }
        }
    }
    rows.into_values().collect()
}

/// A call's id, for results built from a [`tritium_golden::LinearCall`].
pub(crate) fn call_result(
    id: LinearId,
    rows: usize,
    compared: usize,
    stats: ExecStats,
) -> CallResult {
    CallResult {
        layer: id.layer,
        proj: id.proj.hf_name().to_string(),
        rows: rows as u64,
        compared: compared as u64,
        stats,
        mismatch: false,
    }
}
