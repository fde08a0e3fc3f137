//! The local launcher: the tasks as processes on this machine, at most
//! `jobs` at a time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tritium_util::Progress;

use crate::error::{Error, Result};
use crate::task::{task_dir, Batch, TaskOutcome};
use crate::Launcher;

/// Runs the tasks of a batch as child processes.
#[derive(Debug, Clone, Copy)]
pub struct LocalLauncher {
    /// Tasks running at once (at least 1).
    pub jobs: usize,
}

impl LocalLauncher {
    /// At most `jobs` at once; `None`: the number of cores.
    pub fn new(jobs: Option<usize>) -> LocalLauncher {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        LocalLauncher {
            jobs: jobs.unwrap_or(cores).max(1),
        }
    }
}

impl Launcher for LocalLauncher {
    fn name(&self) -> &'static str {
        "local"
    }

    fn launch(&self, batch: &Batch, progress: Option<&dyn Progress>) -> Result<Vec<TaskOutcome>> {
        batch.prepare()?;
        let n = batch.tasks.len();
        if let Some(p) = progress {
            p.set_total(n as u64);
        }
        let next = AtomicUsize::new(0);
        let spawn_error: Mutex<Option<Error>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..self.jobs.min(n) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let script = task_dir(&batch.run_dir, i).join("run.sh");
                    match std::process::Command::new("/bin/sh").arg(&script).status() {
                        Ok(_) => {}
                        Err(source) => {
                            let mut e = spawn_error.lock().unwrap_or_else(|e| e.into_inner());
                            e.get_or_insert(Error::Spawn {
                                program: "/bin/sh".into(),
                                source,
                            });
                        }
                    }
                    if let Some(p) = progress {
                        p.advance(1);
                    }
                });
            }
        });
        if let Some(e) = spawn_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        Ok((0..n).map(|i| batch.outcome(i)).collect())
    }
}
