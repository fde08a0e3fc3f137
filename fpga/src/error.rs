//! Errors of the FPGA flow.

use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong running the flow or reading its results.
#[derive(Debug, Error)]
pub enum Error {
    /// Reading or writing a file.
    #[error(transparent)]
    File(#[from] tritium_util::FileError),
    /// `rtl/files.f` (or a file it names) is missing or malformed.
    #[error(transparent)]
    FileList(#[from] tritium_util::filelist::FileListError),
    /// A results file that is not one this build reads.
    #[error("{path}: {message}")]
    Results { path: PathBuf, message: String },
    /// An array size that is not `COLSxLANES` within range.
    #[error("array size `{text}`: expected COLSxLANES with both in 1..=64, e.g. 4x8")]
    BadArraySize { text: String },
    /// An accelerator configuration that is not `CxL:FORMAT:kK:tT:bB` or a
    /// preset name.
    #[error("accelerator `{text}`: {message}")]
    BadAccel { text: String, message: String },
    /// A sweep with no sizes, no PE-level designs and no accelerators.
    #[error("nothing to synthesize: no sizes, no PEs and no accelerators")]
    NothingToDo,
    /// The Liberty file of the `asic` family is missing or unreadable.
    #[error("Liberty file {path}: {message}")]
    Liberty { path: PathBuf, message: String },
    /// An array configuration the RTL does not accept.
    #[error(transparent)]
    Array(#[from] tritium_golden::Error),
    /// An external tool (yosys, nextpnr) is missing, failed, or wrote output
    /// that could not be parsed; `message` ends with the tail of the tool's
    /// log where there is one.
    #[error("{tool}: {message}")]
    Tool { tool: String, message: String },
}

/// Result alias of the FPGA flow.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn results(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::Results {
            path: path.into(),
            message: message.into(),
        }
    }
}
