//! The Slurm launcher: one job array (`sbatch --array=0-(N-1)`), task `i`
//! running `RUN/task-i/run.sh`, followed with `squeue` until it leaves the
//! queue. The run directory must be on a file system every node sees (it
//! holds the scripts and receives the results).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use tritium_util::{AtPath, Progress};

use crate::error::{Error, Result};
use crate::task::{shell_quote, Batch, TaskOutcome};
use crate::Launcher;

/// Submits a batch as a Slurm job array and follows it.
#[derive(Debug, Clone)]
pub struct SlurmLauncher {
    /// Between two `squeue` checks.
    pub poll: Duration,
    /// Cancel the array (`scancel`) and fail after this long.
    pub timeout: Option<Duration>,
    /// Tasks running at once (`--array=0-N%M`); None: as the cluster allows.
    pub max_parallel: Option<usize>,
    /// Passed to `sbatch` as they are (`--partition=debug`, `--account=x`,
    /// `--time=10`, `--mem=8G`, ...).
    pub sbatch_args: Vec<OsString>,
    /// The Slurm commands (found on PATH by default).
    pub sbatch: PathBuf,
    pub squeue: PathBuf,
    pub scancel: PathBuf,
}

impl Default for SlurmLauncher {
    fn default() -> Self {
        SlurmLauncher {
            poll: Duration::from_millis(500),
            timeout: None,
            max_parallel: None,
            sbatch_args: Vec::new(),
            sbatch: "sbatch".into(),
            squeue: "squeue".into(),
            scancel: "scancel".into(),
        }
    }
}

/// Job states that are not final (squeue's short names).
const ACTIVE_STATES: &str = "PD,CF,R,CG,S,RS,RH,RF,SE,SO,ST";

/// Consecutive failed `squeue` calls before the cluster counts as lost.
const SQUEUE_RETRIES: u32 = 10;

fn run(cmd: &mut Command, what: &str) -> Result<std::process::Output> {
    cmd.output().map_err(|source| Error::Spawn {
        program: what.to_string(),
        source,
    })
}

fn slurm_error(command: &str, out: &std::process::Output) -> Error {
    let mut message = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if message.is_empty() {
        message = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    Error::Slurm {
        command: command.to_string(),
        status: out.status.code(),
        message,
    }
}

impl SlurmLauncher {
    /// `sbatch --parsable ...`: the job id.
    fn submit(&self, batch: &Batch) -> Result<String> {
        let n = batch.tasks.len();
        let script = batch.run_dir.join("slurm-array.sh");
        let run_dir = shell_quote(&batch.name, batch.run_dir.as_os_str())?;
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n# Task i of the array runs task-iiii/run.sh (written by tritium).\n\
                 exec /bin/sh \"$(printf '%s/task-%04d/run.sh' {run_dir} \"$SLURM_ARRAY_TASK_ID\")\"\n"
            ),
        )
        .at(&script)?;
        let mut array = format!("--array=0-{}", n - 1);
        if let Some(m) = self.max_parallel {
            array += &format!("%{}", m.max(1));
        }
        let mut cmd = Command::new(&self.sbatch);
        cmd.arg("--parsable")
            .arg(array)
            .arg(format!("--job-name={}", batch.name))
            .arg(format!(
                "--output={}",
                batch.run_dir.join("slurm-%A_%a.out").display()
            ))
            .arg("--chdir")
            .arg(&batch.workdir)
            .args(&self.sbatch_args)
            .arg(&script);
        let out = run(&mut cmd, &self.sbatch.to_string_lossy())?;
        if !out.status.success() {
            return Err(slurm_error("sbatch", &out));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let id = text.trim().split(';').next().unwrap_or("").to_string();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Slurm {
                command: "sbatch --parsable".into(),
                status: out.status.code(),
                message: format!("expected a job id, got {:?}", text.trim()),
            });
        }
        Ok(id)
    }

    /// Whether job `id` (any of its array tasks) is still queued or running.
    fn in_queue(&self, id: &str) -> Result<bool> {
        let mut cmd = Command::new(&self.squeue);
        // Only states a task can still leave: `squeue -j` alone also lists
        // finished tasks (CD, F, ...) until the controller purges them
        // (MinJobAge, 300 s by default).
        cmd.args(["-h", "-o", "%i", "-t", ACTIVE_STATES, "-j", id]);
        let out = run(&mut cmd, &self.squeue.to_string_lossy())?;
        if out.status.success() {
            return Ok(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
        }
        // A job purged from the controller's memory is reported as invalid.
        if String::from_utf8_lossy(&out.stderr).contains("Invalid job id") {
            return Ok(false);
        }
        Err(slurm_error(&format!("squeue -j {id}"), &out))
    }

    fn cancel(&self, id: &str) {
        let _ = Command::new(&self.scancel).arg(id).output();
    }

    /// Polls until job `id` left the queue.
    fn follow(&self, batch: &Batch, id: &str, progress: Option<&dyn Progress>) -> Result<()> {
        let start = Instant::now();
        let n = batch.tasks.len();
        let (mut done, mut failures) = (0usize, 0u32);
        loop {
            std::thread::sleep(self.poll);
            let now_done = (0..n).filter(|&i| batch.finished(i)).count();
            if let Some(p) = progress {
                p.advance(now_done.saturating_sub(done) as u64);
            }
            done = done.max(now_done);
            match self.in_queue(id) {
                Ok(false) => return Ok(()),
                Ok(true) => failures = 0,
                Err(e) => {
                    failures += 1;
                    if failures >= SQUEUE_RETRIES {
                        self.cancel(id);
                        return Err(e);
                    }
                }
            }
            if let Some(t) = self.timeout {
                if start.elapsed() > t {
                    self.cancel(id);
                    return Err(Error::Timeout {
                        launcher: "slurm",
                        name: format!("{} (job {id})", batch.name),
                        seconds: t.as_secs(),
                    });
                }
            }
        }
    }
}

impl Launcher for SlurmLauncher {
    fn name(&self) -> &'static str {
        "slurm"
    }

    fn launch(&self, batch: &Batch, progress: Option<&dyn Progress>) -> Result<Vec<TaskOutcome>> {
        batch.prepare()?;
        let n = batch.tasks.len();
        if let Some(p) = progress {
            p.set_total(n as u64);
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let id = self.submit(batch)?;
        if let Some(p) = progress {
            p.message(&format!("slurm job {id}"));
        }
        self.follow(batch, &id, progress)?;
        // A shared file system may show a task's last files a moment after
        // the controller saw it end.
        let grace = Instant::now();
        while (0..n).any(|i| !batch.finished(i)) && grace.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok((0..n).map(|i| batch.outcome(i)).collect())
    }
}
