//! Batches, tasks, their run directories and outcomes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tritium_util::AtPath;

use crate::error::{Error, Result};

/// One command line of a batch.
#[derive(Debug, Clone)]
pub struct Task {
    /// For messages (`shard 2/4`, `point 7`).
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// Tasks and the directory their files go to.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Job name (Slurm `--job-name`), for messages.
    pub name: String,
    /// Created by [`Batch::prepare`]; must not exist before. Absolute, so
    /// that every node of a cluster finds it (on a shared file system).
    pub run_dir: PathBuf,
    /// Where the tasks run (their working directory): relative paths in
    /// their arguments are relative to it. Absolute.
    pub workdir: PathBuf,
    pub tasks: Vec<Task>,
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Exit status (a process killed by signal `s` reports `128 + s`, as
    /// shells do).
    Exited(i32),
    /// No exit status was written: the task never ran, was cancelled or
    /// killed with its wrapper, or its node was lost.
    Lost,
}

impl TaskStatus {
    pub fn success(self) -> bool {
        self == TaskStatus::Exited(0)
    }
}

/// A task after the batch ended.
#[derive(Debug, Clone)]
pub struct TaskOutcome {
    pub index: usize,
    pub name: String,
    /// The task's directory (its files).
    pub dir: PathBuf,
    pub status: TaskStatus,
    /// From the task's start to its end, as its wrapper recorded them
    /// (None when it did not finish).
    pub wall_seconds: Option<f64>,
}

impl TaskOutcome {
    pub fn stdout(&self) -> PathBuf {
        self.dir.join("stdout")
    }

    pub fn stderr(&self) -> PathBuf {
        self.dir.join("stderr")
    }

    /// `task NAME (DIR): exit status S` and the last lines of its stderr.
    pub fn describe_failure(&self) -> String {
        let status = match self.status {
            TaskStatus::Exited(s) => format!("exit status {s}"),
            TaskStatus::Lost => "no exit status (never ran, cancelled, or lost)".to_string(),
        };
        let tail = std::fs::read_to_string(self.stderr())
            .map(|s| {
                let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
                lines[lines.len().saturating_sub(5)..].join("\n    ")
            })
            .unwrap_or_default();
        let mut d = format!("  {} ({}): {status}", self.name, self.dir.display());
        if !tail.is_empty() {
            d += &format!("\n    {tail}");
        }
        d
    }
}

/// Directory of task `index` under `run_dir`.
pub(crate) fn task_dir(run_dir: &Path, index: usize) -> PathBuf {
    run_dir.join(format!("task-{index:04}"))
}

/// `arg` quoted for a POSIX shell (single quotes; `'` as `'\''`).
pub(crate) fn shell_quote(task: &str, arg: &std::ffi::OsStr) -> Result<String> {
    let bad = || Error::BadArgument {
        task: task.to_string(),
        arg: arg.to_string_lossy().into_owned(),
    };
    let s = arg.to_str().ok_or_else(bad)?;
    if s.contains('\0') {
        return Err(bad());
    }
    Ok(format!("'{}'", s.replace('\'', r"'\''")))
}

impl Batch {
    /// Creates the run directory and every task's directory, each with a
    /// `run.sh` that runs the task in the batch's working directory and
    /// records its output, status and times in the task's directory (the
    /// script both launchers execute). Fails if the run directory exists.
    pub fn prepare(&self) -> Result<()> {
        if self.run_dir.exists() {
            return Err(Error::RunDirExists(self.run_dir.clone()));
        }
        std::fs::create_dir_all(&self.run_dir).at(&self.run_dir)?;
        for (i, t) in self.tasks.iter().enumerate() {
            let dir = task_dir(&self.run_dir, i);
            std::fs::create_dir(&dir).at(&dir)?;
            let mut cmd = shell_quote(&t.name, t.program.as_os_str())?;
            for a in &t.args {
                cmd.push(' ');
                cmd += &shell_quote(&t.name, a)?;
            }
            let script = format!(
                "#!/bin/sh\n# {name}: written by tritium, run by its launcher.\n\
                 d={d}\n\
                 rm -f \"$d/rc\" \"$d/end\"\n\
                 date +%s.%N > \"$d/start\"\n\
                 if cd {wd}; then\n  {cmd} > \"$d/stdout\" 2> \"$d/stderr\"\n  s=$?\n\
                 else\n  echo \"cannot enter the working directory\" > \"$d/stderr\"\n  s=127\nfi\n\
                 date +%s.%N > \"$d/end\"\n\
                 echo $s > \"$d/rc.tmp\" && mv \"$d/rc.tmp\" \"$d/rc\"\n\
                 exit $s\n",
                name = t.name.replace('\n', " "),
                d = shell_quote(&t.name, dir.as_os_str())?,
                wd = shell_quote(&t.name, self.workdir.as_os_str())?,
            );
            let path = dir.join("run.sh");
            std::fs::write(&path, script).at(&path)?;
        }
        Ok(())
    }

    /// The outcome of task `index` from the files in its directory.
    pub(crate) fn outcome(&self, index: usize) -> TaskOutcome {
        let dir = task_dir(&self.run_dir, index);
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
        let status = read("rc")
            .and_then(|s| s.trim().parse::<i32>().ok())
            .map_or(TaskStatus::Lost, TaskStatus::Exited);
        let time = |f: &str| read(f).and_then(|s| s.trim().parse::<f64>().ok());
        let wall_seconds = match (time("start"), time("end"), status) {
            (Some(a), Some(b), TaskStatus::Exited(_)) => Some((b - a).max(0.0)),
            _ => None,
        };
        TaskOutcome {
            index,
            name: self.tasks[index].name.clone(),
            dir,
            status,
            wall_seconds,
        }
    }

    /// Whether task `index` has written its exit status.
    pub(crate) fn finished(&self, index: usize) -> bool {
        task_dir(&self.run_dir, index).join("rc").exists()
    }
}
