//! # tritium-model: b1.58 models from disk or from a seed
//!
//! Everything needed to get a runnable golden [`tritium_golden::Model`]:
//! - [`load()`]: one entry for every model a user names, a Hugging Face
//!   checkpoint directory ([`checkpoint`]: packed offline format of
//!   microsoft/bitnet-b1.58-2B-4T, bf16 masters, sharded, tied or untied)
//!   or a GGUF file ([`gguf`]: bitnet.cpp I2_S, llama.cpp TQ1_0/TQ2_0);
//!   [`load_tokenizer`] finds the tokenizer that belongs to it.
//! - [`hfconfig`]: `config.json` of `BitNetForCausalLM`.
//! - [`tokenizer`]: `tokenizer.json` through the `tokenizers` crate.
//! - [`synthetic`]: deterministic synthetic checkpoints from a preset and a
//!   seed (`tritium gen-model`), so every demo and test runs offline.
//! - Writers: [`checkpoint::export`] (Hugging Face packed) and
//!   [`gguf::export`] (GGUF), for `tritium convert`.
//!
//! Bad input (truncated or corrupt files, missing tensors, wrong shapes or
//! dtypes, invalid codes, out-of-range config values) is an [`Error`]
//! naming the file, tensor or key, never a panic. The crate's only
//! `unsafe` is the two memory maps of checkpoint files (safetensors and
//! GGUF), each with its safety argument.

#![deny(unsafe_code)]

pub mod checkpoint;
mod error;
mod floats;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod gguf;
pub mod hfconfig;
mod load;
mod loaded;
pub mod synthetic;
pub mod tokenizer;

pub use error::{Error, Result};
pub use load::{load, load_config, load_tokenizer};
pub use loaded::{LoadedModel, SourceFormat};
