//! The input of `tritium report --from-cosim`: a `tritium cosim --json`
//! output, checked against the report's model, turned into measured cycles
//! and measured zero fractions.

use std::path::Path;

use serde::Deserialize;
use tritium_golden::{linear_shape, ArrayConfig, ModelConfig, Proj};

use crate::error::{Error, Result};
use crate::report::{CosimCheck, CycleCheckRow};

#[derive(Deserialize)]
struct CosimArray {
    cols: usize,
    lanes: usize,
    k_max: usize,
}

#[derive(Deserialize)]
struct CosimRow {
    layer: usize,
    proj: String,
    macs: u64,
    zero_skips: u64,
    cycles: u64,
    token_rows: u64,
}

#[derive(Deserialize)]
struct CosimFile {
    schema_version: u32,
    model: String,
    array: CosimArray,
    rows: Vec<CosimRow>,
    passed: bool,
}

/// Reads a `tritium cosim --json` output and checks it against the model:
/// every measured BitLinear must have the model's shape. Returns the cycle
/// comparison and the measured zero fractions (`None` where the RTL did not
/// run that BitLinear).
pub fn read_cosim(path: &Path, c: &ModelConfig) -> Result<(CosimCheck, Vec<[Option<f64>; 7]>)> {
    let bad = |m: String| Error::Input {
        path: path.to_path_buf(),
        what: "co-simulation JSON (from `tritium cosim --json`)",
        message: m,
    };
    let text = tritium_util::file::read_to_string_regular(path)?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let f: CosimFile = serde_path_to_error::deserialize(de).map_err(|e| bad(e.to_string()))?;
    if f.schema_version != 1 {
        return Err(bad(format!(
            "schema_version {} (this tritium reads 1)",
            f.schema_version
        )));
    }
    if !f.passed {
        return Err(bad(
            "the co-simulation failed (RTL and golden model disagree): its cycles are not evidence"
                .into(),
        ));
    }
    let array = ArrayConfig::new(f.array.cols, f.array.lanes, f.array.k_max)
        .map_err(|e| bad(format!("array: {e}")))?;
    let mut zeros = vec![[None; 7]; c.num_layers];
    let mut rows = Vec::new();
    let (mut zs, mut ms) = (0f64, 0f64);
    for r in &f.rows {
        let Some(pi) = Proj::ALL.iter().position(|p| p.hf_name() == r.proj) else {
            return Err(bad(format!("row with unknown projection {:?}", r.proj)));
        };
        if r.layer >= c.num_layers {
            return Err(bad(format!(
                "layer {} does not exist in the model of the report ({} layers); was the co-simulation run on this model?",
                r.layer, c.num_layers
            )));
        }
        if r.token_rows == 0 || r.macs == 0 {
            continue;
        }
        let (n, k) = linear_shape(c, Proj::ALL[pi]);
        if r.token_rows.checked_mul((n * k) as u64) != Some(r.macs) || r.zero_skips > r.macs {
            return Err(bad(format!(
                "layer {} {}: {} MACs over {} token rows is not the model's {n} x {k} shape; was the co-simulation run on this model?",
                r.layer, r.proj, r.macs, r.token_rows
            )));
        }
        zeros[r.layer][pi] = Some(r.zero_skips as f64 / r.macs as f64);
        // Counted in f64 (a ratio is all that is needed; no overflow).
        zs += r.zero_skips as f64;
        ms += r.macs as f64;
        if r.cycles > 0 {
            rows.push(CycleCheckRow {
                layer: r.layer,
                proj: r.proj.clone(),
                n,
                k,
                token_rows: r.token_rows,
                measured_cycles: r.cycles,
                analytic_cycles: r
                    .token_rows
                    .checked_mul(array.cycles_per_row(n, k))
                    .ok_or_else(|| {
                        bad(format!("layer {} {}: too many token rows", r.layer, r.proj))
                    })?,
            });
        }
    }
    if rows.is_empty() {
        return Err(bad("no BitLinear with measured cycles".into()));
    }
    let total = |f: fn(&CycleCheckRow) -> u64| {
        rows.iter()
            .try_fold(0u64, |a, r| a.checked_add(f(r)))
            .ok_or_else(|| bad("cycle counts add up to more than 2^64".into()))
    };
    let (meas, ana) = (total(|r| r.measured_cycles)?, total(|r| r.analytic_cycles)?);
    Ok((
        CosimCheck {
            file: path.display().to_string(),
            model: f.model,
            array,
            rows,
            measured_over_analytic: meas as f64 / ana as f64,
            measured_zero_fraction: if ms == 0.0 { 0.0 } else { zs / ms },
        },
        zeros,
    ))
}
