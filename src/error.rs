//! The error type of the tritium crate: every variant names the file, tensor
//! or value at fault. User input never causes a panic.

use std::path::PathBuf;

use thiserror::Error;

/// Errors from loading, writing, tokenizing and running models.
#[derive(Debug, Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid safetensors file: {message}")]
    Safetensors { path: PathBuf, message: String },
    #[error("{path}: invalid config: {message}")]
    Config { path: PathBuf, message: String },
    #[error("{path}: tensor {tensor} is missing")]
    MissingTensor { path: PathBuf, tensor: String },
    #[error("{path}: tensor {tensor} has dtype {got}, expected {expected}")]
    TensorDtype {
        path: PathBuf,
        tensor: String,
        expected: String,
        got: String,
    },
    #[error("{path}: tensor {tensor} has shape {got:?}, expected {expected:?}")]
    TensorShape {
        path: PathBuf,
        tensor: String,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    #[error("{path}: {source}")]
    Tensor {
        path: PathBuf,
        #[source]
        source: tritium_golden::Error,
    },
    #[error("{path}: unexpected tensor {tensor} (not part of a b1.58 model)")]
    UnexpectedTensor { path: PathBuf, tensor: String },
    #[error("{path}: GGUF: {message}")]
    Gguf { path: PathBuf, message: String },
    #[error("tokenizer {path}: {message}")]
    Tokenizer { path: PathBuf, message: String },
    #[error(transparent)]
    Golden(#[from] tritium_golden::Error),
    #[error("{path}: invalid {what}: {message}")]
    Input {
        path: PathBuf,
        what: &'static str,
        message: String,
    },
    #[error("plot {path}: {message}")]
    Plot { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    /// An external tool of the FPGA flow (yosys, nextpnr) is missing, failed,
    /// or wrote output that could not be parsed; `message` ends with the
    /// tail of the tool's log where there is one.
    #[error("{tool}: {message}")]
    Tool { tool: String, message: String },
}

/// Result alias of the tritium crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn config(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::Config {
            path: path.into(),
            message: message.into(),
        }
    }
}
