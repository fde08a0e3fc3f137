//! Errors of the SIMD engine. Each names what was asked for; the command
//! line adds the flag or variable that asked.

use thiserror::Error;

/// What can go wrong starting or running the engine.
#[derive(Debug, Error)]
pub enum Error {
    /// A kernel path name that does not exist.
    #[error("unknown kernel `{name}`: one of scalar, avx2, avx2-lut, avx512, neon, amx")]
    UnknownKernel { name: String },
    /// A kernel path this CPU cannot run.
    #[error("kernel `{name}` is not supported by this CPU (present: {present})")]
    KernelUnavailable { name: String, present: String },
    /// A name in `TRITIUM_REQUIRE_KERNELS` that is no kernel path.
    #[error(
        "TRITIUM_REQUIRE_KERNELS: unknown kernel `{name}`: one of scalar, avx2, avx2-lut, avx512, neon, amx"
    )]
    UnknownRequiredKernel { name: String },
    /// A path `TRITIUM_REQUIRE_KERNELS` requires that this CPU cannot run.
    #[error("kernel `{name}` is required (TRITIUM_REQUIRE_KERNELS) but this CPU lacks it: it needs {needs} (present: {present})")]
    RequiredKernelMissing {
        name: &'static str,
        needs: &'static str,
        present: String,
    },
    /// A thread count of zero.
    #[error("the thread count must be at least 1")]
    ZeroThreads,
    /// More threads than [`crate::max_threads`] allows.
    #[error("{threads} threads is more than the {max} this machine allows (4 per core)")]
    TooManyThreads { threads: usize, max: usize },
    /// The operating system would not start the worker threads.
    #[error("cannot start {threads} worker threads")]
    Threads {
        threads: usize,
        #[source]
        source: std::io::Error,
    },
    /// A golden-model error (shapes, non-finite values).
    #[error(transparent)]
    Golden(#[from] tritium_golden::Error),
}

/// Result alias of the SIMD engine.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A thread pool that could not be built (rayon gives no `io::Error`).
    pub(crate) fn threads(threads: usize, e: impl std::fmt::Display) -> Error {
        Error::Threads {
            threads,
            source: std::io::Error::other(e.to_string()),
        }
    }
}
