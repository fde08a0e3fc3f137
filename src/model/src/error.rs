//! The error type of model loading and writing: every variant names the
//! file, tensor or key at fault. User input never causes a panic.

use std::path::PathBuf;

use thiserror::Error;

/// Errors from loading, writing and tokenizing models.
#[derive(Debug, Error)]
pub enum Error {
    /// Reading or writing a file.
    #[error(transparent)]
    File(#[from] tritium_util::FileError),
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("{path}: not a directory")]
    NotADirectory { path: PathBuf },
    #[error("{path}: neither a checkpoint directory (config.json + safetensors) nor a GGUF file")]
    NotAModel { path: PathBuf },
    #[error("{path}: no model.safetensors or model.safetensors.index.json (is this a Hugging Face checkpoint directory?)")]
    NoSafetensors { path: PathBuf },
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
    /// A model that the asked-for output format cannot hold.
    #[error("cannot write {what}: {message}")]
    Unrepresentable { what: String, message: String },
    #[error("tokenizer {path}: {message}")]
    Tokenizer { path: PathBuf, message: String },
    #[error(transparent)]
    Golden(#[from] tritium_golden::Error),
}

/// Result alias of the model crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn config(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::Config {
            path: path.into(),
            message: message.into(),
        }
    }
}
