//! Errors of the launchers.

use std::path::PathBuf;

use thiserror::Error;
use tritium_util::file::FileError;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    File(#[from] FileError),
    /// The run directory exists already (every batch gets a fresh one).
    #[error("run directory {}: already exists (choose another, or remove it)", .0.display())]
    RunDirExists(PathBuf),
    /// A task's command line cannot be written for the shell (not UTF-8,
    /// or a NUL byte).
    #[error("task {task}: argument {arg:?} cannot be passed through a shell script")]
    BadArgument { task: String, arg: String },
    /// A program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// A Slurm command failed (the cluster is unreachable, the options are
    /// refused, ...).
    #[error("{command} failed{}: {message}\n(is a Slurm cluster reachable? `sinfo` must answer; SLURM_CONF names the configuration)", .status.map(|s| format!(" (exit status {s})")).unwrap_or_default())]
    Slurm {
        command: String,
        status: Option<i32>,
        message: String,
    },
    /// The batch did not end within its time limit (its tasks were
    /// cancelled).
    #[error("{launcher} batch {name}: not finished after {seconds} s (--timeout); cancelled")]
    Timeout {
        launcher: &'static str,
        name: String,
        seconds: u64,
    },
    /// Tasks ran and failed.
    #[error("{failed} of {total} tasks failed:\n{details}")]
    TasksFailed {
        failed: usize,
        total: usize,
        details: String,
    },
}
