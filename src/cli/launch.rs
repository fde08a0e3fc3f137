//! The launcher options shared by the commands that fan work out
//! (`cosim --shards`, `sweep`): where the tasks run and where their files go.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use tritium_launch::{Launcher, LocalLauncher, SlurmLauncher};

use super::applies::Needs;
use super::error::{Error, Result};

/// Where the tasks of a run execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LauncherKind {
    /// Processes on this machine, at most --jobs at a time.
    Local,
    /// One Slurm job array (sbatch --array), followed with squeue; the run
    /// directory must be on a file system every node sees.
    Slurm,
}

#[derive(Debug, Clone, Args)]
pub struct LaunchArgs {
    /// Where the tasks run.
    #[arg(long, value_enum, default_value = "local")]
    pub launcher: LauncherKind,
    /// Tasks running at once: local processes (default: the number of
    /// cores), or the array's limit under Slurm (default: none).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Directory of the run's files (one subdirectory per task: its command,
    /// output, exit status, times); must not exist (default:
    /// tritium-runs/KIND-TIME-PID in the current directory).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// An option passed to sbatch as it is (repeatable), e.g.
    /// --sbatch-arg=--partition=debug --sbatch-arg=--time=30.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<OsString>,
    /// Give up (cancelling what still runs) after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

/// Most tasks at once, and the longest --timeout (a year).
const MAX_JOBS: usize = 100_000;
const MAX_TIMEOUT: u64 = 365 * 24 * 3600;

impl LaunchArgs {
    /// What these flags need ([`super::applies()`]): `enabled` says whether
    /// the command runs a launcher at all (`what` is the flag that makes it).
    pub fn needs(&self, what: &'static str, enabled: bool) -> [Needs; 2] {
        [
            Needs::new(
                what,
                enabled,
                &["launcher", "jobs", "run_dir", "sbatch_arg", "timeout"],
            ),
            Needs::new(
                "--launcher slurm",
                self.launcher == LauncherKind::Slurm,
                &["sbatch_arg", "timeout"],
            ),
        ]
    }

    /// The launcher these options describe (checked).
    pub fn launcher(&self) -> Result<Box<dyn Launcher>> {
        if let Some(j) = self.jobs {
            if !(1..=MAX_JOBS).contains(&j) {
                return Err(Error::Usage(format!("--jobs {j}: expected 1..={MAX_JOBS}")));
            }
        }
        let timeout = match self.timeout {
            Some(t) if !(1..=MAX_TIMEOUT).contains(&t) => {
                return Err(Error::Usage(format!(
                    "--timeout {t}: expected 1..={MAX_TIMEOUT} seconds"
                )))
            }
            t => t.map(Duration::from_secs),
        };
        match self.launcher {
            LauncherKind::Local => Ok(Box::new(LocalLauncher::new(self.jobs))),
            LauncherKind::Slurm => Ok(Box::new(SlurmLauncher {
                timeout,
                max_parallel: self.jobs,
                sbatch_args: self.sbatch_arg.clone(),
                ..SlurmLauncher::default()
            })),
        }
    }

    /// The run directory (absolute): --run-dir, or a fresh
    /// `tritium-runs/KIND-TIME-PID` under the current directory. It must not
    /// exist yet.
    pub fn run_dir(&self, kind: &str) -> Result<PathBuf> {
        let cwd = std::env::current_dir().map_err(|e| tritium_util::FileError::new(".", e))?;
        let dir = match &self.run_dir {
            Some(d) => cwd.join(d),
            None => {
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                cwd.join("tritium-runs")
                    .join(format!("{kind}-{secs}-{}", std::process::id()))
            }
        };
        if dir.exists() {
            return Err(Error::Usage(format!(
                "--run-dir {}: already exists (every run gets a new directory)",
                dir.display()
            )));
        }
        Ok(dir)
    }
}

/// The current directory, absolute (the tasks' working directory).
pub fn workdir() -> Result<PathBuf> {
    std::env::current_dir().map_err(|e| tritium_util::FileError::new(Path::new("."), e).into())
}

/// The running executable: every task runs the same build (the Verilator
/// models are linked into it).
pub fn this_exe() -> Result<PathBuf> {
    std::env::current_exe()
        .map_err(|e| tritium_util::FileError::new("<current executable>", e).into())
}

/// `args` without the options named in `with_value` (and their values,
/// given as `--opt V` or `--opt=V`) and the flags in `flags`: the command
/// line a task of a fanned-out run repeats.
pub fn strip_options(args: &[OsString], with_value: &[&str], flags: &[&str]) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut skip_next = false;
    for a in args {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        let s = a.to_string_lossy();
        if flags.contains(&s.as_ref()) {
            continue;
        }
        if with_value.contains(&s.as_ref()) {
            skip_next = true;
            continue;
        }
        if let Some((name, _)) = s.split_once('=') {
            if with_value.contains(&name) || flags.contains(&name) {
                continue;
            }
        }
        out.push(a.clone());
    }
    out
}

/// Options of [`LaunchArgs`], for [`strip_options`].
pub const LAUNCH_OPTIONS: [&str; 5] = [
    "--launcher",
    "--jobs",
    "--run-dir",
    "--sbatch-arg",
    "--timeout",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_options_removes_both_spellings_and_keeps_the_rest() {
        let v = |s: &[&str]| s.iter().map(OsString::from).collect::<Vec<_>>();
        let args = v(&[
            "cosim",
            "--shards",
            "4",
            "--jobs=2",
            "--json",
            "-n",
            "3",
            "--run-dir",
            "x",
            "--preset",
            "tiny",
        ]);
        let got = strip_options(&args, &["--shards", "--jobs", "--run-dir"], &["--json"]);
        assert_eq!(got, v(&["cosim", "-n", "3", "--preset", "tiny"]));
    }
}
