//! # tritium-util: what every tritium crate shares below the domain crates
//!
//! - [`hugepage`]: buffers on transparent huge pages ([`HugeBuf`] for the
//!   SIMD engine's packed weights, [`huge_vec`] for the loaders' bf16
//!   embedding and head). This module holds the crate's only `unsafe`: one
//!   allocation wrapper and one `madvise` call, each with its safety argument.
//! - [`output`]: outputs that never replace an input, need `--force` to
//!   replace an existing file, and are written atomically.
//! - [`progress`]: the [`Progress`] callback long operations report to; the
//!   command line draws it with indicatif, libraries never do.
//! - [`mod@file`]: [`FileError`], a failed read or write with its path.
//! - [`filelist`]: the reader of `rtl/files.f`, for every tool that reads the RTL.

#![deny(unsafe_code)]

pub mod file;
pub mod filelist;
pub mod hugepage;
pub mod output;
pub mod progress;

pub use file::{AtPath, FileError};
pub use hugepage::{huge_vec, HugeBuf};
pub use output::{write_atomic, AtomicFile, Inputs, OutputError};
pub use progress::Progress;
