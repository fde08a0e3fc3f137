//! Errors of the cost model and its reports.

use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong pricing a model or writing its report.
#[derive(Debug, Error)]
pub enum Error {
    /// Reading or writing a file.
    #[error(transparent)]
    File(#[from] tritium_util::FileError),
    /// A user's input file (energy table, co-simulation JSON) that is not
    /// what it should be; `message` names the key.
    #[error("{path}: invalid {what}: {message}")]
    Input {
        path: PathBuf,
        what: &'static str,
        message: String,
    },
    /// A cost option out of its range.
    #[error("cost option {name}: {message}")]
    Option { name: &'static str, message: String },
    /// Zero fractions given for another number of layers than the model has.
    #[error("zero fractions for {given} layers, the model has {layers}")]
    ZeroFractionLayers { given: usize, layers: usize },
    /// The inputs (an energy table's extreme values, say) produce a number
    /// that is NaN or infinite; the report is not written.
    #[error("the report would contain a non-finite number: {at}; check the energy table and the workload")]
    NonFinite { at: String },
    /// A plot could not be drawn or written.
    #[error("plot {path}: {message}")]
    Plot { path: PathBuf, message: String },
    /// The report could not be serialized.
    #[error("report JSON: {0}")]
    Json(#[source] serde_json::Error),
}

/// Result alias of the cost crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {}
