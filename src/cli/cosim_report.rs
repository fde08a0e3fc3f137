//! Showing a co-simulation report: the table or JSON on stdout, the JSON
//! file of --out, and the exit status of the verdict (shared by `cosim`,
//! `cosim --shards` and `cosim-merge`).

use std::process::ExitCode;

use super::error::{Error, Result};
use super::output::{print, print_json};

/// Exit status of a self-test whose planted fault the workload never
/// exercised (so the run proves nothing about the checker).
const NOT_EXERCISED: u8 = 2;

/// The last line of the table.
fn verdict(report: &tritium_rtl::CosimReport) -> String {
    let site = |f: &tritium_rtl::FaultReport| {
        format!("layer {} {} weight ({}, {})", f.layer, f.proj, f.row, f.col)
    };
    match (&report.first_divergence, &report.planted_fault) {
        (Some(d), _) => format!("FAIL: {d}"),
        (None, Some(f)) if !f.exercised => format!(
            "NOT EXERCISED: the planted fault at {} never reached the RTL with a nonzero activation in its column, so this run cannot show whether the checker finds it; pick another site",
            site(f)
        ),
        (None, Some(f)) => format!(
            "FAIL: the planted fault at {} was exercised but no divergence was found (a checker bug)",
            site(f)
        ),
        (None, None) => "PASS: every accumulator of the RTL equals the golden model's".to_string(),
    }
}

/// Writes `v` as pretty JSON to `path` (atomically; --force to replace).
pub fn write_json<T: serde::Serialize>(
    path: &std::path::Path,
    v: &T,
    force: bool,
    inputs: &tritium_util::Inputs,
) -> Result<()> {
    tritium_util::output::check_output_file("--out", path, force, inputs)?;
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| Error::Usage(format!("--out {}: {e}", path.display())))?;
    Ok(tritium_util::write_atomic(path, (text + "\n").as_bytes())?)
}

/// Prints `report` (table or JSON) and returns the exit status of its verdict.
pub fn show(report: &tritium_rtl::CosimReport, json: bool) -> Result<ExitCode> {
    if json {
        print_json(report)?;
    } else {
        let verdict = verdict(report);
        print(&format!(
            "co-simulation of {} on accelerator {} ({} cols x {} lanes, {}-bit accumulators, {} weights, {} token rows per job; memory {} B/cycle, latency {}), prompt {} tokens, {} decoded\n{}{:.3} ms at {} MHz (floor: DRAM bytes / bandwidth over cycles)\n{:.2} s wall, {:.2} M simulated cycles/s, {:.2} M verified MACs/s{}\n{}{verdict}\n",
            report.model,
            report.array.name,
            report.array.cols,
            report.array.lanes,
            report.array.acc_width,
            report.array.weight_format,
            report.array.batch,
            report.array.mem_bytes_per_cycle,
            report.array.mem_latency,
            report.prompt_tokens.len(),
            report.generated_tokens.len(),
            report.table(),
            report.simulated_seconds * 1e3,
            report.array.clock_mhz,
            report.wall_seconds,
            report.simulated_cycles_per_second / 1e6,
            report.verified_macs_per_second / 1e6,
            if report.shards.is_empty() { "" } else { " per core" },
            report.shard_table(),
        ))?;
    }
    Ok(match (&report.first_divergence, &report.planted_fault) {
        (Some(_), _) => ExitCode::FAILURE,
        (None, Some(f)) if !f.exercised => ExitCode::from(NOT_EXERCISED),
        (None, Some(_)) => ExitCode::FAILURE,
        (None, None) => ExitCode::SUCCESS,
    })
}
