//! Errors of the RTL backend and the co-simulation runs.

use thiserror::Error;

/// What can go wrong setting up or running a co-simulation (a divergence
/// is not an error: it is the report's verdict).
#[derive(Debug, Error)]
pub enum Error {
    /// The Verilator model could not be built, driven or traced.
    #[error("RTL simulation")]
    Sim(#[from] tritium_sim::SimError),
    /// The golden side (shapes, the model, the prompt).
    #[error(transparent)]
    Golden(#[from] tritium_golden::Error),
    /// A layer asked to run on the RTL that the model does not have.
    #[error("layer {layer} does not exist (the model has {layers})")]
    NoSuchLayer { layer: usize, layers: usize },
    /// Shard files that are not the parts of one run.
    #[error("cannot merge: {0}")]
    Merge(String),
}

/// Result alias of the RTL crate.
pub type Result<T> = std::result::Result<T, Error>;
