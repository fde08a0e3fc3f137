//! Jobs on the accelerator model: [`AccelSim::run`] loads a job's
//! activations, then issues its runs' commands back to back while a
//! [`MemoryModel`] streams their weight images to the weight port, and
//! collects the results, the timing and the counters of every run.
//!
//! Cycle numbers are [`AccelSim::cycle`] values: the cycle in which a
//! handshake happened (its rising edge ends the cycle). The debug samples
//! of a traced job are attributed to their issue cycle
//! ([`DBG_LATENCY`] cycles before they show).

use crate::accel::{AccelCounters, AccelErrors, AccelSim, JobDriver};
use crate::error::SimError;
use crate::memory::{MemoryConfig, MemoryModel};

/// Cycles from an issue to its sample on the debug port (`dbg_*_o`).
pub const DBG_LATENCY: u64 = 2;

/// One job: a buffer load (optional) and runs that all read it.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// Token rows, `1..=` the configuration's `tokens` (TMax).
    pub tokens: usize,
    /// Words per tile (K beats), `1..=ceil(k_max / lanes)`.
    pub beats: usize,
    /// The activation buffer image, `golden::image::act_image` of the job's
    /// K range (`beats * tokens * lanes` values), or empty: reuse the words
    /// the buffer holds (then it must hold `beats * tokens`).
    pub acts: &'a [i8],
    pub runs: &'a [RunSpec<'a>],
    /// Record every issue from the debug port ([`RunReport::issues`]).
    pub trace: bool,
}

/// One run (one command): `tiles` output tiles over the job's K range.
#[derive(Debug, Clone, Copy)]
pub struct RunSpec<'a> {
    pub tiles: usize,
    /// `golden::image::weight_image`: `AccelConfig::run_bytes(tiles * beats)` bytes.
    pub image: &'a [u8],
}

/// What a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    pub runs: Vec<RunReport>,
    /// Cycles of the activation load (first word to `ld_last_i`); 0 without.
    pub load_cycles: u64,
    /// Cycles of the whole job, its first cycle to the last result taken.
    pub cycles: u64,
    /// Counter deltas over the job.
    pub counters: AccelCounters,
    /// The sticky error flags after the job.
    pub errors: AccelErrors,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// `results[(tile * tokens + t) * cols + c]`.
    pub results: Vec<i32>,
    /// Cycle of its command handshake.
    pub start_cycle: u64,
    /// Command handshake to last result taken, both cycles included.
    pub cycles: u64,
    /// Counter deltas over this run's window: from the cycle after its
    /// command handshake to the next run's command handshake (included), or
    /// to the job's end. The next command is accepted in the cycle of this
    /// run's last issue, so the window holds exactly this run's issues
    /// (`busy`, `act_reads`, `adds`, `skips` are this run's own). Weight
    /// beats are prefetched across runs, so `dram_bytes` and `mem_stall`
    /// of a window are not exactly the run's; the job's are.
    pub counters: AccelCounters,
    /// Every issue, from the debug port (traced jobs only).
    pub issues: Vec<Issue>,
}

/// One issue as the debug port showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub tile: usize,
    pub beat: usize,
    pub token: usize,
    /// Cycle of the issue.
    pub cycle: u64,
    /// The token's accumulators after the issue (one per column); for the
    /// tile's last beat, the result.
    pub acc: Vec<i32>,
}

/// The checked shape of a job.
pub(crate) struct Plan {
    pub(crate) words: usize,
    /// Per run: (results, issues).
    pub(crate) runs: Vec<(usize, usize)>,
    pub(crate) max_cycles: u64,
}

/// Where a job that ran out of cycles stood in its handshakes.
pub(crate) struct Stuck {
    /// Activation words accepted, of `load_words`.
    pub(crate) ld_next: usize,
    pub(crate) load_words: usize,
    /// Commands accepted, of `runs`.
    pub(crate) cmd_next: usize,
    pub(crate) runs: usize,
    /// The run and its result awaited next.
    pub(crate) res_run: usize,
    pub(crate) res_in_run: usize,
}

impl Plan {
    /// The timeout of a job stopped after `cycles` at `at`: what it was
    /// waiting for (the same message from both job drivers).
    pub(crate) fn timeout(&self, cycles: u64, at: Stuck) -> SimError {
        let waiting_for = if at.ld_next < at.load_words {
            format!(
                "activation word {} of {} to be accepted (ld_ready_o)",
                at.ld_next, at.load_words
            )
        } else if at.cmd_next < at.runs {
            format!(
                "the command of run {} of {} to be accepted (cmd_ready_o)",
                at.cmd_next, at.runs
            )
        } else {
            format!(
                "result {} of {} of run {} (r_valid_o)",
                at.res_in_run + 1,
                self.runs[at.res_run].0,
                at.res_run
            )
        };
        SimError::Timeout {
            cycles,
            waiting_for,
        }
    }
}

fn in_range(what: &'static str, value: usize, min: usize, max: usize) -> Result<(), SimError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(SimError::OutOfRange {
            what,
            value,
            min,
            max,
        })
    }
}

impl AccelSim {
    /// Loads `job.acts` (unless empty: the buffer is reused), then runs
    /// every run of the job back to back: each command is presented as soon
    /// as the previous one is accepted, while `mem` streams the runs' images
    /// in order from the job's first cycle (so weights are prefetched during
    /// the load). Results are taken as they come (see
    /// [`set_result_backpressure`](Self::set_result_backpressure)).
    ///
    /// Every size is checked before anything is driven; then errors are RTL
    /// assertion failures, protocol violations by the RTL, or a timeout
    /// (after those, [`reset`](Self::reset) before the next job). Faults
    /// the RTL flags (an invalid stored weight, `w_last_i` misplaced, a
    /// load that does not match) are not errors: the job completes and
    /// [`JobReport::errors`] shows the sticky flags. The accelerator must
    /// be idle (no run, no result waiting).
    pub fn run(&mut self, job: &Job<'_>, mem: &MemoryConfig) -> Result<JobReport, SimError> {
        let plan = self.plan(job, mem)?;
        self.check()?;
        let out = self.outputs();
        if out.busy || out.r_valid {
            return Err(SimError::Protocol(
                "the accelerator is not idle at the start of a job (a run or results from before); reset it first".into(),
            ));
        }
        // The native loop drives no debug port, and keeps the load
        // bookkeeping only for loads it starts itself.
        let native = self.driver == JobDriver::Native && !job.trace && !self.load_valid_driven();
        let r = if native {
            self.drive_native(job, mem, &plan)
        } else {
            self.drive(job, mem, &plan)
        };
        self.idle_inputs();
        r
    }

    fn plan(&self, job: &Job<'_>, mem: &MemoryConfig) -> Result<Plan, SimError> {
        let cfg = self.cfg;
        let a = &cfg.array;
        in_range("job tokens (token rows)", job.tokens, 1, cfg.tokens)?;
        in_range("job beats (words per tile)", job.beats, 1, a.max_beats())?;
        let words = job.beats * job.tokens;
        if job.acts.is_empty() {
            if self.loaded != Some(words) {
                return Err(SimError::BufferMismatch {
                    loaded: self.loaded,
                    needed: words,
                });
            }
        } else if job.acts.len() != words * a.lanes {
            return Err(SimError::Shape {
                what: "job activations (beats * tokens * lanes, golden::image::act_image)",
                expected: words * a.lanes,
                got: job.acts.len(),
            });
        }
        mem.check(cfg.bus_bytes).map_err(SimError::Memory)?;
        let mut runs = Vec::with_capacity(job.runs.len());
        // Cycles per bus beat at this bandwidth, rounded up.
        let beat_cycles = (cfg.bus_bytes as f64 / mem.bytes_per_cycle).ceil() as u64 + 1;
        let mut budget = (words as u64) + u64::from(mem.latency);
        for (i, r) in job.runs.iter().enumerate() {
            in_range("run tiles", r.tiles, 1, u32::MAX as usize)?;
            let words = r.tiles * job.beats; // < 2^32 * 2^23: no overflow
            let beats = if cfg.bus_bytes >= cfg.word_bytes {
                Some(words.div_ceil(cfg.words_per_beat()))
            } else {
                words.checked_mul(cfg.beats_per_word())
            };
            let expected =
                beats
                    .and_then(|b| b.checked_mul(cfg.bus_bytes))
                    .ok_or(SimError::OutOfRange {
                        what: "run tiles (the image would not fit in memory)",
                        value: r.tiles,
                        min: 1,
                        max: u32::MAX as usize,
                    })?;
            if r.image.len() != expected {
                return Err(SimError::ImageLength {
                    run: i,
                    expected,
                    got: r.image.len(),
                });
            }
            let issues = words * job.tokens;
            runs.push((r.tiles * job.tokens, issues));
            budget = budget
                .saturating_add(issues as u64)
                .saturating_add((expected / cfg.bus_bytes) as u64 * beat_cycles);
        }
        let max_cycles = budget
            .saturating_mul(2)
            .saturating_add(1000)
            .saturating_mul(u64::from(self.result_every));
        Ok(Plan {
            words,
            runs,
            max_cycles,
        })
    }

    fn drive(
        &mut self,
        job: &Job<'_>,
        mem: &MemoryConfig,
        plan: &Plan,
    ) -> Result<JobReport, SimError> {
        let cfg = self.cfg;
        let (lanes, cols) = (cfg.array.lanes, cfg.array.cols);
        let mut memory = MemoryModel::new(mem, cfg.bus_bytes).map_err(SimError::Memory)?;
        for r in job.runs {
            memory
                .push_image(r.image.to_vec())
                .map_err(SimError::Memory)?;
        }
        let n = job.runs.len();
        let load_words = if job.acts.is_empty() { 0 } else { plan.words };
        let t0 = self.cycle;
        let c0 = self.counters();

        let mut ld_next = 0usize; // next buffer word to offer
        let mut ld_shown = usize::MAX; // word on the port
        let mut ld_end: Option<u64> = None;
        let mut cmd_next = 0usize; // next run to command
                                   // The command on the port is run `cmd_next` (set when presented,
                                   // cleared when accepted), and whether cmd_valid_i is driven high.
        let mut cmd_shown = false;
        let mut cmd_valid = false;
        let mut starts: Vec<(u64, AccelCounters)> = Vec::with_capacity(n);
        let mut w_shown: Option<u64> = None; // delivered-beat count of the beat on the port
        let mut r_ready = false;
        self.set_result_ready(false);

        let mut results: Vec<Vec<i32>> = plan
            .runs
            .iter()
            .map(|&(res, _)| Vec::with_capacity(res * cols))
            .collect();
        let mut ends: Vec<u64> = Vec::with_capacity(n);
        let (mut res_run, mut res_in_run) = (0usize, 0usize);
        let mut head: Option<(Vec<i32>, bool)> = None; // r_data_o read for the head result
        let mut col_buf = vec![0i32; cols];

        let mut issues: Vec<Vec<Issue>> = vec![Vec::new(); n];
        let (mut iss_run, mut iss_tile, mut iss_beat, mut iss_tok) =
            (0usize, 0usize, 0usize, 0usize);

        let every = u64::from(self.result_every);
        loop {
            let t = self.cycle - t0;
            let loading = ld_next < load_words;
            if t >= plan.max_cycles {
                let at = Stuck {
                    ld_next,
                    load_words,
                    cmd_next,
                    runs: n,
                    res_run,
                    res_in_run,
                };
                return Err(plan.timeout(t, at));
            }

            // Inputs of this cycle.
            if loading {
                if ld_shown != ld_next {
                    let w = &job.acts[ld_next * lanes..(ld_next + 1) * lanes];
                    self.set_load(true, w, ld_next + 1 == load_words)?;
                    ld_shown = ld_next;
                }
            } else if ld_shown != usize::MAX {
                self.set_load_valid(false, false);
                ld_shown = usize::MAX;
            }
            let cmd_on = !loading && cmd_next < n;
            if cmd_on {
                if !cmd_shown {
                    let r = &job.runs[cmd_next];
                    self.set_cmd(true, r.tiles as u32, job.beats as u32, job.tokens as u32);
                    cmd_shown = true;
                    cmd_valid = true;
                }
            } else if cmd_valid {
                // The last command was accepted (or none is left): drop
                // cmd_valid_i, else the accelerator would take it again.
                self.set_cmd_valid(false);
                cmd_valid = false;
            }
            let w_on = match memory.port() {
                Some((data, last)) => {
                    let id = memory.delivered_beats();
                    if w_shown != Some(id) {
                        self.set_weight(true, data, last)?;
                        w_shown = Some(id);
                    }
                    true
                }
                None => {
                    if w_shown.is_some() {
                        self.set_weight_valid(false, false);
                        w_shown = None;
                    }
                    false
                }
            };
            let ready = t.is_multiple_of(every);
            if ready != r_ready {
                self.set_result_ready(ready);
                r_ready = ready;
            }

            let now = self.cycle;
            let pre = self.tick()?;

            // Handshakes of this cycle.
            if loading && pre.ld_ready {
                ld_next += 1;
                if ld_next == load_words {
                    ld_end = Some(now);
                }
            }
            if cmd_on && pre.cmd_ready {
                // The counters after the handshake cycle: the run's window
                // starts in the next cycle.
                starts.push((now, self.counters()));
                cmd_next += 1;
                cmd_shown = false;
            }
            memory.tick(w_on && pre.w_ready);
            if r_ready && pre.r_valid {
                let (vals, last) = head.take().ok_or_else(|| {
                    SimError::Protocol("a result was taken that was never valid before".into())
                })?;
                if res_run >= n {
                    return Err(SimError::Protocol(format!(
                        "more results than the job's {} runs produce",
                        n
                    )));
                }
                results[res_run].extend_from_slice(&vals);
                res_in_run += 1;
                let want_last = res_in_run == plan.runs[res_run].0;
                if last != want_last {
                    return Err(SimError::Protocol(format!(
                        "run {res_run}: r_last_o was {last} on result {res_in_run} of {}",
                        plan.runs[res_run].0
                    )));
                }
                if want_last {
                    ends.push(now);
                    res_run += 1;
                    res_in_run = 0;
                }
            }

            // Outputs of the next cycle.
            let post = self.outputs();
            if post.r_valid && head.is_none() {
                self.result(&mut col_buf)?;
                head = Some((col_buf.clone(), post.r_last));
            }
            if job.trace && post.dbg_valid {
                let tags = self.dbg_tags();
                if iss_run >= n {
                    return Err(SimError::Protocol(
                        "the debug port showed more issues than the job has".into(),
                    ));
                }
                let got = (tags.tile as usize, tags.beat as usize, tags.token as usize);
                if got != (iss_tile, iss_beat, iss_tok) {
                    return Err(SimError::Protocol(format!(
                        "run {iss_run}: the debug port showed issue (tile, beat, token) = {got:?}, expected {:?}",
                        (iss_tile, iss_beat, iss_tok)
                    )));
                }
                self.dbg_acc(&mut col_buf)?;
                issues[iss_run].push(Issue {
                    tile: iss_tile,
                    beat: iss_beat,
                    token: iss_tok,
                    cycle: now + 1 - DBG_LATENCY,
                    acc: col_buf.clone(),
                });
                iss_tok += 1;
                if iss_tok == job.tokens {
                    iss_tok = 0;
                    iss_beat += 1;
                    if iss_beat == job.beats {
                        iss_beat = 0;
                        iss_tile += 1;
                        if iss_tile == job.runs[iss_run].tiles {
                            iss_tile = 0;
                            iss_run += 1;
                        }
                    }
                }
            }

            if ld_next == load_words && cmd_next == n && res_run == n {
                break;
            }
        }

        // Every result is taken: the accelerator must be idle again, with
        // every weight beat of the job consumed.
        if self.outputs().busy || !memory.is_idle() {
            return Err(SimError::Protocol(format!(
                "the accelerator is {} after the job's last result ({} of the images' beats taken)",
                if self.outputs().busy {
                    "still busy"
                } else {
                    "idle"
                },
                memory.delivered_beats()
            )));
        }
        let end = self.cycle - 1; // the last cycle run
        let c_end = self.counters();
        let runs = (0..n)
            .map(|r| {
                let (start, snap) = starts[r];
                let until = starts.get(r + 1).map_or(c_end, |s| s.1);
                RunReport {
                    results: std::mem::take(&mut results[r]),
                    start_cycle: start,
                    cycles: ends[r] - start + 1,
                    counters: until.since(&snap),
                    issues: std::mem::take(&mut issues[r]),
                }
            })
            .collect();
        Ok(JobReport {
            runs,
            load_cycles: ld_end.map_or(0, |e| e - t0 + 1),
            cycles: end - t0 + 1,
            counters: c_end.since(&c0),
            errors: self.errors(),
        })
    }
}
