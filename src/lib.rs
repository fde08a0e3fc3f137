//! # tritium: design and co-simulation toolkit for ternary LLM accelerators
//!
//! BitNet b1.58 models have every weight in {-1, 0, +1} and 8-bit
//! activations, so a matrix multiply needs only adds, subtracts and skips.
//! tritium makes that concrete: a bit-exact golden model
//! ([`tritium_golden`]), checkpoint loading, and (in later parts) an RTL
//! ternary MAC array co-simulated against the golden model, a SIMD CPU engine
//! and an energy/latency cost model.
//!
//! This crate holds everything around the golden numerics:
//! - [`hfconfig`]: Hugging Face `config.json` of `BitNetForCausalLM`.
//! - [`checkpoint`]: safetensors checkpoints (packed offline and bf16 online
//!   formats, sharded, tied or untied) memory-mapped into a golden [`tritium_golden::Model`].
//! - [`gguf`]: GGUF files (bitnet.cpp I2_S, llama.cpp TQ1_0/TQ2_0): parser,
//!   loader into the same golden model, writer, tokenizer from metadata.
//! - [`synth`]: deterministic synthetic checkpoints (`tritium gen-model`).
//! - [`tokenizer`]: `tokenizer.json` via the `tokenizers` crate.
//! - [`generate`]: prefill + decode with timings.
//! - `rtl` (feature `rtl`, on by default): the RTL backend on the Verilator
//!   model of the ternary MAC array, and lockstep co-simulation against the
//!   golden model with first-divergence localisation.
//! - [`cost`]: energy/latency cost model and `tritium report`.
//! - [`fpga`]: the FPGA synthesis flow (`tritium synth`): Yosys resource
//!   counts and nextpnr Fmax of the ternary array vs INT8 and FP16 MACs.
//! - [`cli`]: the `tritium` command line (the binary is only glue).
//!
//! Design rule: backends are compared on integers. Every BitLinear goes
//! through [`tritium_golden::Backend`]; everything outside it is one shared
//! f32 code path, so equal accumulators imply equal logits.

pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod cost;
pub mod error;
pub mod fpga;
pub mod generate;
pub mod gguf;
pub mod hfconfig;
#[cfg(feature = "rtl")]
pub mod rtl;
pub mod simd;
pub mod synth;
pub mod tokenizer;

pub use error::{Error, Result};
