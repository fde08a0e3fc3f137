//! What a loader returns: the golden model and what was learned on the way.

use std::path::PathBuf;

use tritium_golden::Model;

use crate::hfconfig::QuantSpec;

/// The file format a model was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// A Hugging Face checkpoint directory (config.json + safetensors).
    HfSafetensors,
    /// A GGUF file (bitnet.cpp or llama.cpp).
    Gguf,
}

/// A model read from disk.
#[derive(Debug)]
pub struct LoadedModel {
    pub model: Model,
    /// How the BitLinear weights were stored and their scales applied.
    pub quant: QuantSpec,
    /// The directory or file it was read from.
    pub path: PathBuf,
    pub format: SourceFormat,
}
