//! Launchers for batches of independent tasks, with one interface (after
//! OpenTitan's dvsim: Local, LSF, SGE, Slurm launchers behind one class).
//!
//! A [`Batch`] is a run directory and a list of [`Task`]s, each a command
//! line. Task `i` runs in its own directory `RUN/task-iiii/` (its working
//! directory), with its standard output and error in `stdout` and `stderr`
//! there; when it ends, the launcher's wrapper writes its exit status to
//! `rc` and its start and end times (Unix seconds) to `start` and `end`.
//! The files are the interface: a task that left no `rc` did not finish
//! (killed, cancelled, its node lost), which is an error, never a gap.
//!
//! * [`LocalLauncher`]: up to `jobs` processes at a time on this machine;
//! * [`SlurmLauncher`]: one `sbatch --array` job, followed with `squeue`
//!   (not `sbatch --wait`, which backs off to ~40 s between checks).
//!
//! The program of a task is run as given: for tritium it is the running
//! executable (`std::env::current_exe`), so every task reuses the one
//! build, Verilator models included (they are linked into the binary).

mod error;
mod local;
mod slurm;
mod task;

pub use error::{Error, Result};
pub use local::LocalLauncher;
pub use slurm::SlurmLauncher;
pub use task::{Batch, Task, TaskOutcome, TaskStatus};

use tritium_util::Progress;

/// Runs every task of a batch and reports how each ended.
pub trait Launcher {
    /// `local`, `slurm`.
    fn name(&self) -> &'static str;

    /// Runs `batch` to the end (every task finished, failed or lost);
    /// `progress` hears the number of tasks, then each one that ends.
    /// An error means the batch could not be run or followed (no such
    /// program, cluster unreachable); tasks that ran and failed are
    /// reported in their outcomes ([`check_outcomes`] turns them into an
    /// error).
    fn launch(&self, batch: &Batch, progress: Option<&dyn Progress>) -> Result<Vec<TaskOutcome>>;
}

/// `Ok` when every task exited with status 0; otherwise an error listing
/// the failed tasks with the last lines of their standard error.
pub fn check_outcomes(outcomes: &[TaskOutcome]) -> Result<()> {
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.status.success())
        .map(TaskOutcome::describe_failure)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::TasksFailed {
            failed: failed.len(),
            total: outcomes.len(),
            details: failed.join("\n"),
        })
    }
}
