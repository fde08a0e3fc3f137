//! Sharded co-simulation: a whole-network run cut into N independent parts
//! and joined again.
//!
//! Every shard runs the golden forward pass over the whole prompt and
//! decode (module `record`: the golden model supplies every BitLinear's
//! inputs), numbers its groups of calls in run order, and runs on the RTL
//! only the groups the plan gives it. The plan is deterministic and
//! balanced by MACs: the groups on RTL layers, largest first (ties by
//! sequence number), each to the least loaded shard (ties to the lowest
//! index), the longest-processing-time rule; golden-only groups are shard
//! 1's. [`merge`] checks that the files are the N parts of one run (same
//! model, accelerator, prompt, tokens and plan; every part present and
//! complete) and sums their groups in sequence order into the report a
//! single process gives: the same rows and totals, and the first
//! divergence in run order (step, layer, projection group, then token and
//! output row within the call), whichever shard found it. A single process
//! is shard 1 of 1 and goes through the same merge.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lockstep::FirstDivergence;
use crate::report::{build_report, ArrayInfo, CosimReport, FaultReport, Projection, ShardTiming};
use crate::tally::{rows_of, GroupResult};

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    pub index: usize,
    pub count: usize,
}

impl Default for ShardSpec {
    fn default() -> Self {
        ShardSpec { index: 1, count: 1 }
    }
}

/// Most shards of one run.
pub const MAX_SHARDS: usize = 100_000;

impl ShardSpec {
    /// Parses `I/N` (1 <= I <= N <= [`MAX_SHARDS`]).
    pub fn parse(s: &str) -> std::result::Result<ShardSpec, String> {
        let bad = || format!("{s:?}: expected I/N with 1 <= I <= N <= {MAX_SHARDS}, e.g. 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count || count > MAX_SHARDS {
            return Err(bad());
        }
        Ok(ShardSpec { index, count })
    }
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The owner (1-based shard) of each group: `macs[i]` is group `i`'s MACs,
/// `on_rtl[i]` whether it runs on the RTL. Longest processing time first.
pub fn plan(macs: &[u64], on_rtl: &[bool], shards: usize) -> Vec<u32> {
    let shards = shards.max(1);
    let mut owner = vec![1u32; macs.len()];
    let mut order: Vec<usize> = (0..macs.len()).filter(|&i| on_rtl[i]).collect();
    order.sort_by(|&a, &b| macs[b].cmp(&macs[a]).then(a.cmp(&b)));
    let mut load = vec![0u64; shards];
    for i in order {
        let s = (0..shards).min_by_key(|&s| (load[s], s)).unwrap_or(0);
        load[s] += macs[i];
        owner[i] = s as u32 + 1;
    }
    owner
}

/// The largest per-shard RTL MAC count if the same groups were cut into
/// `shards` parts: the critical path of a run on that many nodes.
pub fn critical_macs(macs: &[u64], on_rtl: &[bool], shards: usize) -> u64 {
    let owner = plan(macs, on_rtl, shards);
    let mut load = vec![0u64; shards.max(1)];
    for (i, &o) in owner.iter().enumerate() {
        if on_rtl[i] {
            load[o as usize - 1] += macs[i];
        }
    }
    load.into_iter().max().unwrap_or(0)
}

/// What every shard of one run must agree on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHeader {
    pub model: String,
    pub array: ArrayInfo,
    pub prompt_tokens: Vec<u32>,
    /// Greedy tokens of the golden pass.
    pub generated_tokens: Vec<u32>,
    /// Layers on the RTL (None: all).
    pub layers: Option<Vec<usize>>,
    /// The checker self-test's planted fault: layer, projection, row, col.
    pub planted_fault: Option<(usize, String, usize, usize)>,
    /// Per group (in run order): its MACs and whether it runs on the RTL.
    pub group_macs: Vec<u64>,
    pub group_on_rtl: Vec<bool>,
}

/// The first divergence a shard found, with its group's sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardDivergence {
    pub seq: usize,
    #[serde(flatten)]
    pub first: FirstDivergence,
}

/// What `tritium cosim --shard I/N` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardReport {
    /// Always [`SHARD_FORMAT`].
    pub format: String,
    pub shard: ShardSpec,
    pub run: RunHeader,
    /// The owner of every group, by sequence number.
    pub plan: Vec<u32>,
    /// The groups this shard ran, in run order.
    pub groups: Vec<GroupResult>,
    /// Its first divergence (it stops there).
    pub divergence: Option<ShardDivergence>,
    /// The golden pass, then the whole shard.
    pub golden_seconds: f64,
    pub wall_seconds: f64,
}

impl ShardReport {
    /// MACs of the groups this shard ran on the RTL.
    pub fn rtl_macs(&self) -> u64 {
        self.groups
            .iter()
            .filter(|g| g.on_rtl)
            .map(GroupResult::macs)
            .sum()
    }
}

/// `format` of a shard file.
pub const SHARD_FORMAT: &str = "tritium-cosim-shard/1";

fn merge_error(what: String) -> Error {
    Error::Merge(what)
}

/// Joins the shards of one run (each given with the name it came from,
/// for messages) into the report of a single process.
pub fn merge(parts: &[(String, ShardReport)]) -> Result<CosimReport> {
    let Some((first_name, first)) = parts.first() else {
        return Err(merge_error("no shard files given".into()));
    };
    let count = first.shard.count;
    let mut by_index: Vec<Option<&(String, ShardReport)>> = vec![None; count];
    for p @ (name, s) in parts {
        if s.format != SHARD_FORMAT {
            return Err(merge_error(format!(
                "{name}: format {:?}, expected {SHARD_FORMAT:?} (a file of `tritium cosim --shard I/N --out FILE`)",
                s.format
            )));
        }
        if s.shard.count != count || s.shard.index == 0 || s.shard.index > count {
            return Err(merge_error(format!(
                "{name} is shard {} but {first_name} is shard {} (one run's shards share N)",
                s.shard, first.shard
            )));
        }
        if s.run != first.run {
            return Err(merge_error(format!(
                "{name} and {first_name} are shards of different runs (model, accelerator, prompt, tokens, layers or planted fault differ)"
            )));
        }
        if s.plan != first.plan || s.plan.len() != s.run.group_macs.len() {
            return Err(merge_error(format!(
                "{name} and {first_name} disagree on the plan of the run"
            )));
        }
        let slot = &mut by_index[s.shard.index - 1];
        if let Some((other, _)) = slot {
            return Err(merge_error(format!(
                "{name} and {other} are both shard {}",
                s.shard
            )));
        }
        *slot = Some(p);
    }
    let missing: Vec<String> = (0..count)
        .filter(|&i| by_index[i].is_none())
        .map(|i| format!("{}/{count}", i + 1))
        .collect();
    if !missing.is_empty() {
        return Err(merge_error(format!(
            "shard{} {} missing: a shard that did not run leaves its groups unchecked",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        )));
    }
    // Every shard ran each of its groups, up to its divergence.
    for (name, s) in parts {
        let stop = s.divergence.as_ref().map_or(usize::MAX, |d| d.seq);
        let want: Vec<usize> = (0..s.plan.len())
            .filter(|&i| s.plan[i] as usize == s.shard.index && i <= stop)
            .collect();
        let got: Vec<usize> = s.groups.iter().map(|g| g.seq).collect();
        if got != want {
            let lost = want.iter().find(|i| !got.contains(i));
            return Err(merge_error(match lost {
                Some(i) => format!(
                    "{name} (shard {}) is incomplete: group {i} of its plan has no result",
                    s.shard
                ),
                None => format!(
                    "{name} (shard {}) holds groups its plan does not give it",
                    s.shard
                ),
            }));
        }
    }
    let divergence = parts
        .iter()
        .filter_map(|(_, s)| s.divergence.as_ref())
        .min_by_key(|d| d.seq);
    let stop = divergence.map_or(usize::MAX, |d| d.seq);
    let mut groups: Vec<&GroupResult> = parts
        .iter()
        .flat_map(|(_, s)| s.groups.iter())
        .filter(|g| g.seq <= stop)
        .collect();
    groups.sort_by_key(|g| g.seq);
    let run = &first.run;
    let peak = run.array.macs_per_cycle as f64;
    let rows = rows_of(groups.iter().copied(), peak);
    let planted_fault = run
        .planted_fault
        .as_ref()
        .map(|(layer, proj, row, col)| FaultReport {
            layer: *layer,
            proj: proj.clone(),
            row: *row,
            col: *col,
            exercised: groups.iter().any(|g| g.fault_exercised),
        });
    let mut timings: Vec<ShardTiming> = by_index
        .iter()
        .flatten()
        .map(|(_, s)| ShardTiming {
            shard: s.shard.index,
            groups: s.groups.len(),
            rtl_macs: s.rtl_macs(),
            golden_seconds: s.golden_seconds,
            wall_seconds: s.wall_seconds,
        })
        .collect();
    let wall = timings.iter().map(|t| t.wall_seconds).fold(0.0, f64::max);
    let busy: f64 = timings.iter().map(|t| t.wall_seconds).sum();
    if count == 1 {
        timings.clear();
    }
    let mut report = build_report(
        &run.model,
        run.array.clone(),
        &run.prompt_tokens,
        run.generated_tokens.clone(),
        rows,
        divergence.map(|d| d.first.clone()),
        planted_fault,
        wall,
        busy,
    );
    if count > 1 {
        report.projection = project(run, &timings);
    }
    report.shards = timings;
    Ok(report)
}

/// Node counts of `project`.
pub const PROJECTED_NODES: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// Projected wall time of the same run on more nodes (one shard each):
/// the mean golden pass of the shards, plus the critical path's RTL MACs
/// (the same plan cut into that many shards) at the measured per-core rate
/// (RTL MACs over the shards' time after their golden pass).
fn project(run: &RunHeader, timings: &[ShardTiming]) -> Vec<Projection> {
    let n = timings.len().max(1) as f64;
    let golden = timings.iter().map(|t| t.golden_seconds).sum::<f64>() / n;
    let rtl_secs: f64 = timings
        .iter()
        .map(|t| (t.wall_seconds - t.golden_seconds).max(0.0))
        .sum();
    let macs: u64 = timings.iter().map(|t| t.rtl_macs).sum();
    if macs == 0 || rtl_secs <= 0.0 {
        return Vec::new();
    }
    let rate = macs as f64 / rtl_secs;
    PROJECTED_NODES
        .iter()
        .map(|&nodes| {
            let critical = critical_macs(&run.group_macs, &run.group_on_rtl, nodes);
            Projection {
                nodes,
                critical_macs: critical,
                wall_seconds: golden + critical as f64 / rate,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse_and_refuse() {
        assert_eq!(
            ShardSpec::parse("2/4"),
            Ok(ShardSpec { index: 2, count: 4 })
        );
        assert_eq!(
            ShardSpec::parse(" 1 / 1 ").map(|s| s.to_string()),
            Ok("1/1".into())
        );
        for bad in [
            "0/4", "5/4", "4", "a/b", "1/0", "-1/2", "1/100001", "/", "1/4/2",
        ] {
            let e = ShardSpec::parse(bad).unwrap_err();
            assert!(e.contains("expected I/N"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_plan_balances_macs_and_is_deterministic() {
        let macs = [10, 35, 18, 7, 10, 35, 18, 7, 0];
        let on = [true, true, true, true, true, true, true, true, false];
        let p = plan(&macs, &on, 2);
        assert_eq!(p, plan(&macs, &on, 2));
        assert_eq!(p[8], 1, "golden-only groups are shard 1's");
        let load = |s: u32| -> u64 { (0..9).filter(|&i| p[i] == s).map(|i| macs[i]).sum() };
        assert_eq!(load(1) + load(2), 140);
        assert_eq!(load(1), 70);
        assert_eq!(critical_macs(&macs, &on, 2), 70);
        assert_eq!(critical_macs(&macs, &on, 1), 140);
        // More shards than groups: the largest group is the critical path.
        assert_eq!(critical_macs(&macs, &on, 64), 35);
        assert!(plan(&macs, &on, 64).iter().all(|&o| (1..=64).contains(&o)));
    }
}
