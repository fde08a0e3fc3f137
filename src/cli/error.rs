//! The command line's error: a mistake in what the user typed ([`Error::Usage`],
//! [`Error::Arg`]), or a failure of one of the library crates, carried with
//! its own type so that `main` can print the whole chain of causes.

use thiserror::Error;

/// Everything a `tritium` command can fail with.
#[derive(Debug, Error)]
pub enum Error {
    /// A combination of arguments that makes no sense, explained.
    #[error("{0}")]
    Usage(String),
    /// The value of one flag was refused by the crate that uses it.
    #[error("{flag}")]
    Arg {
        flag: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Golden(#[from] tritium_golden::Error),
    #[error(transparent)]
    Model(#[from] tritium_model::Error),
    #[error(transparent)]
    Simd(#[from] tritium_simd::Error),
    #[cfg(feature = "rtl")]
    #[error(transparent)]
    Rtl(#[from] tritium_rtl::Error),
    #[cfg(feature = "gpu")]
    #[error(transparent)]
    Gpu(#[from] tritium_gpu::Error),
    #[error(transparent)]
    Cost(#[from] tritium_cost::Error),
    #[error(transparent)]
    Fpga(#[from] tritium_fpga::Error),
    /// Running a batch of tasks (local processes, a Slurm job array).
    #[error(transparent)]
    Launch(#[from] tritium_launch::Error),
    /// An output path that would replace an input or an existing file.
    #[error(transparent)]
    Output(#[from] tritium_util::OutputError),
    /// The reader of stdout went away (`| head`): not a failure, the
    /// command ends quietly.
    #[error("stdout was closed")]
    StdoutClosed,
    /// Reading or writing a file.
    #[error(transparent)]
    File(#[from] tritium_util::FileError),
}

/// Result alias of the command line.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// `flag` (as the user wrote it, e.g. `--kernel avx9`) was refused: `source` says why.
    pub fn arg(
        flag: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Arg {
            flag: flag.into(),
            source: source.into(),
        }
    }
}
