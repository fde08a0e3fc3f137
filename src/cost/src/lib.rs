//! # tritium-cost: energy and latency of ternary versus FP16 and INT8
//!
//! The cost model behind `tritium report`, usable without the command line:
//! - [`energy`]: energy per operation as data with provenance (built-in
//!   tables for 45 nm and 7 nm in `reports/energy/`, or the user's own).
//! - [`accel`]: the analytic cycle model of the accelerator `tri_accel`
//!   with its weight memory ([`accel_cycles`], [`accel_group`]), checked
//!   against the RTL by `tests/accel_model.rs`.
//! - [`inputs`] and [`count`]: what is priced and how (paper and detailed
//!   mode): the ternary variants on the accelerator (one configuration per
//!   stored format), FP16 and INT8 on a MAC array of a
//!   [`tritium_golden::ArrayConfig`]; latency per variant.
//! - [`decoder`]: the base-3 decoder's energy and the accelerator's areas
//!   from the FPGA flow's results (or the stated assumption).
//! - [`shapes`]: the b1.58 paper's model sizes; [`papers`]: the b1.58
//!   and 2B4T papers' published energy figures, recomputed.
//! - [`ReportRequest`]: what to report on (model, zero weights, energy
//!   table, options, co-simulations, FPGA results, a published design); its
//!   `build` makes the [`Report`] of [`report`], with the sweeps;
//!   [`cosim_input`]: measured cycles, DRAM bytes, buffer accesses and zero
//!   weights from `tritium cosim --json`; [`published`]: published designs
//!   to compare with.
//! - Rendering: [`markdown`] (report.md), [`plots`] (the figures),
//!   [`mod@write`] (the files); [`fpga_plot`]: the FPGA flow's resource plot.
//!   This crate is the only one of tritium that draws (plotters, with the
//!   system's fontconfig and freetype).
//! - [`sweep`]: design points priced from their RTL-measured cycles, with
//!   areas and FPGA resources, and their Pareto fronts (`tritium sweep`);
//!   [`sweep_report`]: its JSON, Markdown and plots.
//!
//! The energy figures are estimates from published per-operation energies
//! and counted operations; they are not validated against RTL switching
//! activity (cycles, DRAM bytes, buffer accesses and zero-weight skips can
//! come from the RTL, see [`cosim_input`]; the counts are priced with the
//! same table).

#![forbid(unsafe_code)]

pub mod accel;
pub mod cosim_input;
pub mod count;
pub mod decoder;
pub mod energy;
mod error;
pub mod fpga_plot;
pub mod inputs;
pub mod log_axis;
pub mod markdown;
mod markdown_accel;
pub mod papers;
pub mod plots;
pub mod published;
pub mod report;
mod request;
pub mod shapes;
pub mod sweep;
pub mod sweep_report;
pub mod write;

pub use accel::{accel_cycles, accel_group, AccelCounts, AccelMemory};
pub use count::{evaluate, Evaluation};
pub use energy::{EnergyTable, Node};
pub use error::{Error, Result};
pub use inputs::{
    AccelOptions, CostOptions, EvalInputs, Measured, MeasuredCall, Variant, Workload, ZeroFractions,
};
pub use report::{Mode, Report};
pub use request::{
    accel_pair, ReportRequest, DEFAULT_OPTIONS, MAX_DECODE_TOKENS, MAX_PROMPT_TOKENS,
};

use tritium_golden::ModelConfig;

/// Zero-weight fraction of each projection of the 2B4T shape, averaged over
/// its 30 layers, in `Proj::ALL` order (q, k, v, o, gate, up, down); used
/// for the `2b4t` preset when no weights are given.
///
/// Counted by `tritium report --model` on a *synthetic* checkpoint in the
/// microsoft/bitnet-b1.58-2B-4T format and shape (Gaussian weights,
/// absmean-quantized; about 31 % of such weights round to zero), not on the
/// real microsoft weights, which this project's machines cannot download.
/// (An earlier version of this comment said they were the real model's.)
/// Pass `--model DIR` with the real checkpoint to count its own.
pub const B2B4T_ZERO_FRACTIONS: [f64; 7] = [
    0.302592, 0.302669, 0.302689, 0.302645, 0.302568, 0.302562, 0.303745,
];

/// Zero fractions of the 2B4T shape without its weights: the measured
/// per-projection averages above, repeated for every layer.
pub fn b2b4t_zero_fractions(c: &ModelConfig) -> ZeroFractions {
    ZeroFractions {
        per_linear: vec![B2B4T_ZERO_FRACTIONS; c.num_layers],
        source: "per-projection averages counted from a synthetic checkpoint of the 2B4T shape (Gaussian weights, absmean-quantized; not the real microsoft weights: pass --model DIR to count those)".into(),
    }
}
