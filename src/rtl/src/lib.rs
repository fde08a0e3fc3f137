//! The `Rtl` backend: every BitLinear executed cycle by cycle on the
//! Verilator model of the accelerator `tri_accel` (crate `tritium-sim`):
//! weights streamed from a memory model in their stored format (2-bit or
//! base-3), activations held in the on-chip buffer and reused by every
//! weight word, results drained while the next tile computes.
//!
//! - [`RtlBackend`] (module `backend`): the [`tritium_golden::Backend`] on
//!   one model, with its memory ([`MemoryConfig`]) and batch (token rows per
//!   job); how calls become jobs is in the module's docs.
//! - [`lockstep`]: [`Lockstep`], golden and RTL side by side, every
//!   accumulator compared with `==`, the first divergence located to the
//!   beat, the cycle and the memory image byte.
//! - [`cosim`]: whole-network and single-layer co-simulation runs and their
//!   report (`tritium cosim`).
//! - [`shard`]: a whole-network run cut into N balanced, independent parts
//!   (`tritium cosim --shard I/N`) and merged back into the report of one
//!   process ([`merge`]); [`tally`]: the per-group results both sum.
//! - [`layer_cycles`]: a layer's BitLinears measured on a few output tiles
//!   and extrapolated over the rest (`tritium sweep`).

#![forbid(unsafe_code)]

mod backend;
pub mod cosim;
mod error;
pub mod layer_cycles;
pub mod lockstep;
mod record;
mod report;
pub mod shard;
pub mod tally;

pub use backend::{flip_stored_weight, image_position, BeatDivergence, PlantedFault, RtlBackend};
pub use cosim::{run_cosim, run_cosim_shard, run_layer_cosim, CosimOptions, LayerCosimOptions};
pub use error::{Error, Result};
pub use lockstep::{
    AccumulatorDivergence, ActivityDivergence, Divergence, FirstDivergence, Lockstep,
};
pub use report::{ArrayInfo, CosimReport, FaultReport, Projection, ShardTiming};
pub use shard::{merge, ShardReport, ShardSpec};
pub use tally::{CallResult, GroupResult, LinearRow};
pub use tritium_sim::{AccelSimConfig, MemoryConfig, SimError, ACCEL_CONFIGS, RTL_DIGEST};
