//! The native job driver: [`AccelSim::run`] of an untraced job in one FFI
//! call, `tri_accel_run_job` (csrc/accel_job.h), instead of a handful of
//! calls per simulated cycle.
//!
//! The C++ loop is a transcription of the per-cycle loop of `accel_job.rs`
//! (and of [`MemoryModel`]'s arithmetic): it drives every port with the
//! same values in the same cycles, so results, cycle counts and counters
//! are identical; `tests/accel_native.rs` runs both drivers on random jobs
//! and compares whole reports. This side checks nothing the plan has not
//! checked, builds the same errors from the state the loop returns, and
//! keeps [`AccelSim`]'s own bookkeeping (cycle count, activation load) as
//! its per-cycle `tick` would have.

use crate::accel::{AccelCounters, AccelSim};
use crate::accel_job::{Job, JobReport, Plan, RunReport, Stuck};
use crate::error::SimError;
use crate::ffi;
use crate::memory::{MemoryConfig, MemoryModel};
use crate::sim::{status_of, unpack_columns};

impl AccelSim {
    /// Runs an untraced job through `tri_accel_run_job`; the same contract
    /// and results as the per-cycle `drive`.
    pub(crate) fn drive_native(
        &mut self,
        job: &Job<'_>,
        mem: &MemoryConfig,
        plan: &Plan,
    ) -> Result<JobReport, SimError> {
        let cfg = self.cfg;
        let (lanes, cols) = (cfg.array.lanes, cfg.array.cols);
        let memory = MemoryModel::new(mem, cfg.bus_bytes).map_err(SimError::Memory)?;
        let (rate, latency) = memory.rate_and_latency();
        let n = job.runs.len();
        let load_words = if job.acts.is_empty() { 0 } else { plan.words };
        let rwords = cfg.array.result_bits().div_ceil(32);
        let total_results: usize = plan.runs.iter().map(|r| r.0).sum();

        let runs: Vec<ffi::TriJobRun> = job
            .runs
            .iter()
            .zip(&plan.runs)
            .map(|(r, &(results, _))| ffi::TriJobRun {
                image: r.image.as_ptr(),
                image_len: r.image.len(),
                tiles: r.tiles as u32, // checked <= u32::MAX by the plan
                _pad: 0,
                results: results as u64,
            })
            .collect();
        let desc = ffi::TriJobDesc {
            tokens: job.tokens as u32,
            beats: job.beats as u32,
            lanes: lanes as u32,
            bus: cfg.bus_bytes as u32,
            acts: if load_words == 0 {
                std::ptr::null()
            } else {
                job.acts.as_ptr()
            },
            load_words: load_words as u64,
            runs: runs.as_ptr(),
            n_runs: n as u64,
            max_cycles: plan.max_cycles,
            result_every: u64::from(self.result_every),
            mem_rate: rate,
            mem_latency: latency,
            mem_max_outstanding: memory.max_outstanding() as u64,
        };
        let mut starts = vec![0u64; n];
        let mut start_counters = vec![0u64; n * ffi::ACC_COUNTERS];
        let mut ends = vec![0u64; n];
        let mut words = vec![0u32; total_results * rwords];
        let mut out = ffi::TriJobOut {
            starts: starts.as_mut_ptr(),
            start_counters: start_counters.as_mut_ptr(),
            ends: ends.as_mut_ptr(),
            result_words: words.as_mut_ptr(),
            result_words_len: words.len() as u64,
            rwords: rwords as u64,
            cycles: 0,
            ld_next: 0,
            ld_end: u64::MAX,
            cmd_next: 0,
            res_run: 0,
            res_in_run: 0,
            delivered_beats: 0,
            mem_idle: 0,
            last_flag: 0,
            end: ffi::JOB_MODEL_ERROR,
            _pad: 0,
        };
        let t0 = self.cycle;
        let c0 = self.counters();
        // SAFETY: live model; `desc` points at the job's activations (the
        // plan checked their length: load_words * lanes) and at `runs`,
        // whose images outlive the call and have the lengths the plan
        // checked (positive multiples of the bus); the output buffers have
        // the sizes the contract asks for; lanes and bus are the model's
        // (its configuration was checked against the library in `new`).
        let st = unsafe { ffi::tri_accel_run_job(self.raw.as_ptr(), &desc, &mut out) };
        if st == -1 {
            return Err(SimError::Protocol(
                "tri_accel_run_job refused its arguments (a bug of the native driver)".into(),
            ));
        }
        // What the per-cycle ticks would have counted: the cycles run, and
        // the load handshakes (the last one completes the load).
        self.cycle += out.cycles;
        self.count_load_handshakes(out.ld_next as usize, out.ld_next == load_words as u64);
        status_of(self.raw, st)?;

        let (ld_next, cmd_next) = (out.ld_next as usize, out.cmd_next as usize);
        let (res_run, res_in_run) = (out.res_run as usize, out.res_in_run as usize);
        match out.end {
            ffi::JOB_DONE => {}
            ffi::JOB_TIMEOUT => {
                let at = Stuck {
                    ld_next,
                    load_words,
                    cmd_next,
                    runs: n,
                    res_run,
                    res_in_run,
                };
                return Err(plan.timeout(out.cycles, at));
            }
            ffi::JOB_NEVER_VALID => {
                return Err(SimError::Protocol(
                    "a result was taken that was never valid before".into(),
                ))
            }
            ffi::JOB_EXTRA_RESULT => {
                return Err(SimError::Protocol(format!(
                    "more results than the job's {n} runs produce"
                )))
            }
            ffi::JOB_WRONG_LAST => {
                return Err(SimError::Protocol(format!(
                    "run {res_run}: r_last_o was {} on result {res_in_run} of {}",
                    out.last_flag != 0,
                    plan.runs[res_run].0
                )))
            }
            other => {
                return Err(SimError::Protocol(format!(
                    "tri_accel_run_job ended with {other} (a bug of the native driver)"
                )))
            }
        }

        let busy = self.outputs().busy;
        if busy || out.mem_idle == 0 {
            return Err(SimError::Protocol(format!(
                "the accelerator is {} after the job's last result ({} of the images' beats taken)",
                if busy { "still busy" } else { "idle" },
                out.delivered_beats
            )));
        }
        let c_end = self.counters();
        let snap = |r: usize| {
            let c = &start_counters[r * ffi::ACC_COUNTERS..(r + 1) * ffi::ACC_COUNTERS];
            AccelCounters::from_array(c.try_into().expect("9 counters"))
        };
        let mut at = 0usize;
        let runs = (0..n)
            .map(|r| {
                let count = plan.runs[r].0;
                let mut results = vec![0i32; count * cols];
                for (i, res) in results.chunks_exact_mut(cols).enumerate() {
                    let w = &words[(at + i) * rwords..(at + i + 1) * rwords];
                    unpack_columns(w, cfg.array.acc_width(), res);
                }
                at += count;
                let until = if r + 1 < n { snap(r + 1) } else { c_end };
                RunReport {
                    results,
                    start_cycle: t0 + starts[r],
                    cycles: ends[r] - starts[r] + 1,
                    counters: until.since(&snap(r)),
                    issues: Vec::new(),
                }
            })
            .collect();
        Ok(JobReport {
            runs,
            load_cycles: if out.ld_end == u64::MAX {
                0
            } else {
                out.ld_end + 1
            },
            cycles: out.cycles,
            counters: c_end.since(&c0),
            errors: self.errors(),
        })
    }
}
