//! Cycle-accurate simulation of the tritium RTL (`rtl/`), driven from safe
//! Rust: the MAC array `tri_mac_array` ([`ArraySim`]) and the accelerator
//! around it, `tri_accel` ([`AccelSim`], see module [`accel`] and
//! [`AccelSim::run`]); also the comparison designs of the FPGA flow, the
//! INT8 array `int8_mac_array` ([`Int8Sim`]) and the FP16 PE ([`Fp16Sim`]).
//!
//! `build.rs` verilates the RTL once per [`SimConfig`] of [`CONFIGS`] and
//! per [`AccelSimConfig`] of [`ACCEL_CONFIGS`] (Verilator >= 5.006, with
//! assertions and VCD tracing compiled in) and links the C++ models with a
//! small C shim (`csrc/shim.cpp`). [`ArraySim`] owns one array model:
//!
//! * low level: drive ports ([`ArraySim::set_weights`],
//!   [`ArraySim::set_acts`], ...), [`ArraySim::tick`], read outputs
//!   ([`ArraySim::result`], [`ArraySim::counters`], ...);
//! * high level: [`ArraySim::run_tile`] streams one tile with the
//!   valid/ready protocol of `rtl/INTERFACE.md` and returns the result and
//!   its timing; [`ArraySim::run_tile_traced`] also records the accumulators
//!   after every beat, to find where a datapath first diverges;
//! * [`ArraySim::trace_to`] writes a VCD waveform.
//!
//! RTL assertion failures are returned as [`SimError::Assertion`] instead of
//! aborting the process.
//!
//! ```no_run
//! use tritium_sim::{reference, ArraySim, SMALL};
//! let mut sim = ArraySim::new(&SMALL)?;
//! // One beat: column c, lane l weight code at c * lanes + l (2 = +1).
//! let w = vec![vec![2u8; SMALL.cols * SMALL.lanes]];
//! let a = vec![vec![3i8; SMALL.lanes]];
//! let mut out = vec![0i32; SMALL.cols];
//! let report = sim.run_tile(&w, &a, &mut out)?;
//! assert_eq!(out, reference::tile_result(&SMALL, &w, &a));
//! println!("{} cycles", report.cycles);
//! # Ok::<(), tritium_sim::SimError>(())
//! ```

pub mod accel;
mod accel_job;
mod accel_native;
mod configs;
mod error;
mod ffi;
mod fp16;
mod int8;
pub mod memory;
pub mod reference;
mod sim;
mod tile;

pub use accel::{AccelBits, AccelCounters, AccelErrors, AccelSim, DbgTags, JobDriver};
pub use accel_job::{Issue, Job, JobReport, RunReport, RunSpec, DBG_LATENCY};
pub use configs::{
    AccelSimConfig, SimConfig, ACC2, ACC3, ACCEL_CONFIGS, CONFIGS, INT8, KV260, KV260_2BIT, LARGE,
    SMALL,
};
pub use error::SimError;
pub use fp16::{Fp16Sim, FP16_CANONICAL_NAN};
pub use int8::Int8Sim;
pub use memory::{MemoryConfig, MemoryModel};
pub use sim::{ArraySim, Counters, EdgeSample};
pub use tile::{tile_beats, Divergence, TileBeats, TileOptions, TileReport, TracedTile};

/// Digest (FNV-1a, hex) of the RTL the models were built from: the
/// contents of every file of `rtl/files.f` and the Verilator
/// configuration files, with their paths relative to the tree. Keys
/// caches of results measured on the models.
pub const RTL_DIGEST: &str = env!("TRITIUM_RTL_DIGEST");
