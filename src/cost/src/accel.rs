//! Analytic cycle model of the accelerator `rtl/tri_accel.sv` fed by the
//! weight memory of `tritium_sim::MemoryConfig`, as the RTL backend
//! (`tritium_rtl::RtlBackend`) drives it: pure functions of the
//! configuration, the memory, the shape and the batch.
//!
//! # Provenance
//! Derived from the timing written down in rtl/INTERFACE.md ("tri_accel",
//! "Timing (as implemented)") and in the memory model's docs
//! (sim/src/memory.rs), not fitted: there is no free parameter. Checked
//! against cycles measured on the RTL by `tests/accel_model.rs`
//! (tolerance stated there and in README.md; measured: exact to the cycle
//! on every case). One correction came from a measured mismatch: a
//! serializer's later words of a beat wait for its first (they were taken
//! as arriving on their own, 1-2 cycles early per job).
//!
//! # The model
//! A BitLinear call of `rows` token rows is cut into jobs of at most
//! `batch` rows x K segments (`ArrayConfig::segments`). A job of `tokens`
//! rows over a segment of `beats` words per tile:
//!
//! - **load**: `W = beats * tokens` buffer words, one per cycle (cycles
//!   `0 .. W-1`); the first command is taken in cycle `W`.
//! - **memory**: the job's run images (whole bus beats) stream from cycle
//!   0. With `rate` = bytes per cycle and `B` = bus bytes, beat `j` is read
//!   in cycle `ceil((j + 1) B / rate) - 1` (credit of `rate` per cycle,
//!   kept in thousandths of a byte as the memory model does) until
//!   `Q = max_outstanding + 2 (+ P - 1)` beats are prefetched (in flight or
//!   at the port; the 2-beat input FIFO; the deserializer's first `P - 1`
//!   beats of a word). The memory then waits, with at most one beat of
//!   credit, until the first word is taken frees a FIFO slot (cycle `U`),
//!   and reads beat `Q + i` in cycle `max(cold, U + max(i, ceil(i B /
//!   rate) - 1))`. A beat read in cycle `c` is at the FIFO head in
//!   `c + latency + 1`.
//! - **issues**: a word is taken into the decoded-word register when it is
//!   complete at the FIFO head, its run has started and the previous word's
//!   last issue is this cycle; it is then issued once per token in the next
//!   `tokens` cycles. A deserialized word needs `P` beats through the FIFO,
//!   one per cycle, so words follow each other every `svc = max(tokens, P)`
//!   cycles at best. With `a_w` the cycle word `w` is complete at the head
//!   and `S = max(W, a_0)` the first take, the last issue of run `r` is
//!   `X_r = max(X_{r-1} + svc (words_r - 1) + tokens,
//!   max_w (a_w + svc (words from w to the end of run r - 1) + tokens))`
//!   (`X_{-1} = S`): a single server fed in order. `a_w` is piecewise affine
//!   in `w` (steps of a beat for a serializer's `M` words per beat), so the
//!   maximum is taken at the ends of the pieces: each run's first and last
//!   beat and the beats either side of the prefetch limit `Q`.
//! - **end**: the last result is taken two cycles after the last issue:
//!   the job takes `X_last + 3` cycles (cycles `0 ..= X_last + 2`).
//! - Result backpressure never stalls (the backend takes a result every
//!   cycle; `ResDepth = 2 TMax` slots, each held 3 cycles), and a memory
//!   at `rate <= B` never hits its outstanding limit when it is the
//!   bottleneck: neither is modelled.
//!
//! Per call of a group (q/k/v or gate/up sharing one load), cycles are
//! attributed as the backend does: run `r`'s window runs from the cycle
//! after its command (the previous run's last issue) to its own last issue;
//! the load and the first command cycle go to the first call, the drain
//! (two cycles) to the last. DRAM bytes (whole beats of each image), buffer
//! reads (one per issue) and writes (the load) are exact counts.

use serde::{Deserialize, Serialize};
use tritium_golden::{AccelConfig, WeightFormat};

use crate::error::{Error, Result};

/// The memory feeding the weight port: the numbers of
/// `tritium_sim::MemoryConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AccelMemory {
    /// Bytes per cycle, in `0.001 ..= bus_bytes`.
    pub bytes_per_cycle: f64,
    /// Cycles from a read to its data on the port, `1 ..= 2^20`.
    pub latency: u32,
}

impl AccelMemory {
    /// Checks the memory against a bus of `bus_bytes` (the ranges of
    /// `tritium_sim::MemoryConfig::check`).
    pub fn check(&self, bus_bytes: usize) -> Result<()> {
        let b = self.bytes_per_cycle;
        if !(b.is_finite() && b >= 0.001 && b <= bus_bytes as f64) {
            return Err(Error::Option {
                name: "memory bytes per cycle",
                message: format!(
                    "must be in 0.001..={bus_bytes} (the weight port is {bus_bytes} bytes wide), got {b}"
                ),
            });
        }
        if !(1..=1 << 20).contains(&self.latency) {
            return Err(Error::Option {
                name: "memory latency",
                message: format!("must be in 1..=1048576 cycles, got {}", self.latency),
            });
        }
        Ok(())
    }

    /// Thousandths of a byte per cycle, as the memory model counts them.
    fn milli(&self) -> u64 {
        ((self.bytes_per_cycle * 1000.0).round() as u64).max(1)
    }
}

/// What one BitLinear of a group costs on the accelerator, attributed as
/// the RTL backend attributes its counters (`ExecStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccelCounts {
    pub cycles: u64,
    /// Issues (one word x one token through the array): also the
    /// activation buffer words read.
    pub issues: u64,
    /// Buffer words written (the loads; the group's first call).
    pub buffer_writes: u64,
    /// Weight bytes read from memory (whole bus beats of each image).
    pub dram_bytes: u64,
    /// Weight words taken and decoded (each decoded once, used `tokens` times).
    pub words: u64,
    /// Jobs (load + runs) the call took part in.
    pub jobs: u64,
}

impl std::ops::AddAssign for AccelCounts {
    fn add_assign(&mut self, o: Self) {
        self.cycles += o.cycles;
        self.issues += o.issues;
        self.buffer_writes += o.buffer_writes;
        self.dram_bytes += o.dram_bytes;
        self.words += o.words;
        self.jobs += o.jobs;
    }
}

/// Cycle of the first read of beat `j` by a memory that never waited:
/// `ceil((j + 1) beat / rate) - 1` (`beat` and `rate` in thousandths).
fn cold(j: u64, beat: u64, rate: u64) -> u64 {
    ((j + 1) * beat).div_ceil(rate) - 1
}

/// One run of a job as the model sees it.
struct Run {
    words: u64,
    /// First beat of the run's image in the job's stream, and its beats.
    beat0: u64,
    beats: u64,
}

/// The job's timing: its runs' last issues and its length.
struct JobTiming {
    load: u64,
    last_issue: Vec<u64>,
}

struct Job<'a> {
    cfg: &'a AccelConfig,
    tokens: u64,
    beats: u64,
    runs: Vec<Run>,
    rate: u64,
    beat: u64,
    latency: u64,
}

impl Job<'_> {
    /// Words per bus beat (serializer) and beats per word (deserializer).
    fn m_p(&self) -> (u64, u64) {
        (
            self.cfg.words_per_beat() as u64,
            self.cfg.beats_per_word() as u64,
        )
    }

    /// Cycles between two words at best: `tokens` issues each, and a
    /// deserialized word's `P` beats through the FIFO.
    fn service(&self) -> u64 {
        self.tokens.max(self.m_p().1)
    }

    /// Stream beat holding the end of word `w` of run `r`.
    fn beat_of(&self, r: usize, w: u64) -> u64 {
        let (m, p) = self.m_p();
        self.runs[r].beat0 + if p > 1 { w * p + p - 1 } else { w / m }
    }

    fn timing(&self) -> JobTiming {
        let (m, p) = self.m_p();
        let load = self.beats * self.tokens;
        let max_out = (self.latency * self.rate).div_ceil(self.beat) + 2;
        let q = max_out + 2 + (p - 1);
        let svc = self.service();
        // Cycle the first word is complete at the head, with the cold
        // schedule (it is among the first Q beats whenever Q >= P).
        let head_cold = |j: u64| cold(j, self.beat, self.rate) + self.latency + 1;
        let s = load.max(head_cold(self.beat_of(0, 0)));
        // The first FIFO slot freed after the first take: at once
        // (deserializer, one word per beat) or after the head beat's last
        // word (serializer of M words per beat).
        let u = s + 1 + if p > 1 { 0 } else { (m - 1) * svc };
        let head = |j: u64| {
            let mut c = cold(j, self.beat, self.rate);
            if j >= q {
                let i = j - q;
                let n = i.max((i * self.beat).div_ceil(self.rate).saturating_sub(1));
                c = c.max(u + n);
            }
            c + self.latency + 1
        };
        // Candidate words (the ends of the affine pieces of a_w): each
        // run's first and last word, and the words either side of the
        // first one whose last beat is read after the prefetch limit Q.
        // A serializer's words of one beat arrive together and leave one
        // service apart: of them only the beat's first word can bind.
        let mut cands: Vec<(usize, u64)> = Vec::new();
        for (r, run) in self.runs.iter().enumerate() {
            let w_q = if p > 1 {
                q.saturating_sub(run.beat0 + p - 1).div_ceil(p)
            } else {
                q.saturating_sub(run.beat0) * m
            };
            for w in [0, w_q.saturating_sub(1), w_q, run.words - 1] {
                let w = w - w % m;
                if w < run.words && !cands.contains(&(r, w)) {
                    cands.push((r, w));
                }
            }
        }
        let mut last_issue = Vec::with_capacity(self.runs.len());
        // The first word is taken at S, each later one `svc` after the
        // previous, the first of a later run in the cycle of the previous
        // run's last issue.
        let mut prev = s;
        for (r, run) in self.runs.iter().enumerate() {
            let mut x = prev + svc * (run.words - 1) + self.tokens;
            // Word w complete at the head in a_w, then every word after it
            // to the end of run r one service apart.
            for &(cr, w) in cands.iter().filter(|c| c.0 <= r) {
                let rem = self.runs[cr].words - w
                    + self.runs[cr + 1..=r].iter().map(|x| x.words).sum::<u64>();
                x = x.max(head(self.beat_of(cr, w)) + svc * (rem - 1) + self.tokens);
            }
            last_issue.push(x);
            prev = x;
        }
        JobTiming { load, last_issue }
    }
}

/// The cost of one job (`tokens` rows, one K segment of `beats` words per
/// tile, one run per BitLinear of `tiles`), per run: window cycles and
/// counts as the backend attributes them.
fn job(
    cfg: &AccelConfig,
    mem: &AccelMemory,
    tokens: usize,
    beats: usize,
    tiles: &[usize],
) -> Vec<AccelCounts> {
    let mut runs = Vec::with_capacity(tiles.len());
    let mut beat0 = 0u64;
    for &t in tiles {
        let words = cfg.run_words(t * cfg.array.cols, beats * cfg.array.lanes) as u64;
        let b = cfg.run_beats(words as usize) as u64;
        runs.push(Run {
            words,
            beat0,
            beats: b,
        });
        beat0 += b;
    }
    let j = Job {
        cfg,
        tokens: tokens as u64,
        beats: beats as u64,
        runs,
        rate: mem.milli(),
        beat: cfg.bus_bytes as u64 * 1000,
        latency: u64::from(mem.latency),
    };
    let t = j.timing();
    let n = j.runs.len();
    (0..n)
        .map(|r| {
            let from = if r == 0 { 0 } else { t.last_issue[r - 1] + 1 };
            let mut cycles = t.last_issue[r] + 1 - from;
            if r + 1 == n {
                cycles += 2;
            }
            let run = &j.runs[r];
            AccelCounts {
                cycles,
                issues: run.words * j.tokens,
                buffer_writes: if r == 0 { t.load } else { 0 },
                dram_bytes: run.beats * cfg.bus_bytes as u64,
                words: run.words,
                jobs: 1,
            }
        })
        .collect()
}

fn check(cfg: &AccelConfig, mem: &AccelMemory, rows: usize, batch: usize) -> Result<()> {
    cfg.check().map_err(|e| Error::Option {
        name: "accelerator",
        message: e.to_string(),
    })?;
    mem.check(cfg.bus_bytes)?;
    if !(1..=cfg.tokens).contains(&batch) {
        return Err(Error::Option {
            name: "batch",
            message: format!(
                "must be in 1..={} (the activation buffer's token rows), got {batch}",
                cfg.tokens
            ),
        });
    }
    if rows == 0 {
        return Err(Error::Option {
            name: "rows",
            message: "a call has at least one token row".into(),
        });
    }
    Ok(())
}

/// Several BitLinears of `ns[i]` outputs on the same `rows` token rows of
/// `k` inputs (q/k/v or gate/up), run as the RTL backend runs a group: jobs
/// of at most `batch` rows x K segments, one load per job, one run per
/// BitLinear. Returns each BitLinear's cycles and counts.
pub fn accel_group(
    cfg: &AccelConfig,
    mem: &AccelMemory,
    ns: &[usize],
    k: usize,
    rows: usize,
    batch: usize,
) -> Result<Vec<AccelCounts>> {
    check(cfg, mem, rows, batch)?;
    if ns.is_empty() || ns.contains(&0) || k == 0 {
        return Err(Error::Option {
            name: "shape",
            message: format!("every BitLinear needs outputs and inputs, got N {ns:?}, K {k}"),
        });
    }
    let a = &cfg.array;
    let tiles: Vec<usize> = ns.iter().map(|&n| a.tiles(n)).collect();
    let mut out = vec![AccelCounts::default(); ns.len()];
    // Jobs of the same size cost the same: count them instead of running
    // each (a long prefill has many).
    let (full, tail) = (rows / batch, rows % batch);
    for (tokens, times) in [(batch, full), (tail, 1)] {
        if tokens == 0 || times == 0 {
            continue;
        }
        for (k0, k1) in a.segments(k) {
            for (o, c) in out
                .iter_mut()
                .zip(job(cfg, mem, tokens, a.beats(k1 - k0), &tiles))
            {
                let t = times as u64;
                *o += AccelCounts {
                    cycles: c.cycles * t,
                    issues: c.issues * t,
                    buffer_writes: c.buffer_writes * t,
                    dram_bytes: c.dram_bytes * t,
                    words: c.words * t,
                    jobs: t,
                };
            }
        }
    }
    Ok(out)
}

/// Cycles of one BitLinear of `n` outputs over `k` inputs for `rows` token
/// rows in jobs of `batch` rows, on accelerator `cfg` fed by a memory of
/// `bytes_per_cycle` and `latency` (see the module docs).
pub fn accel_cycles(
    cfg: &AccelConfig,
    bytes_per_cycle: f64,
    latency: u32,
    n: usize,
    k: usize,
    rows: usize,
    batch: usize,
) -> Result<u64> {
    let mem = AccelMemory {
        bytes_per_cycle,
        latency,
    };
    Ok(accel_group(cfg, &mem, &[n], k, rows, batch)?[0].cycles)
}

/// The accelerator of the other stored format on the same bus: the same
/// columns, `k_max`, token rows and bus, and the lanes that fill the same
/// word bytes (`lanes * 4 / 5` for 2-bit from base-3, `lanes * 5 / 4` the
/// other way, at least 1), so both formats stream the same bytes per cycle.
pub fn twin(cfg: &AccelConfig, format: WeightFormat) -> Result<AccelConfig> {
    if cfg.format == format {
        return Ok(*cfg);
    }
    let mut a = cfg.array;
    a.lanes = (a.lanes * format.weights_per_byte() / cfg.format.weights_per_byte()).max(1);
    AccelConfig::new(a, cfg.tokens, cfg.bus_bytes, format).map_err(|e| Error::Option {
        name: "accelerator",
        message: format!("the {format} twin of {cfg}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tritium_golden::ArrayConfig;

    fn cfg(cols: usize, lanes: usize, tokens: usize, bus: usize, f: WeightFormat) -> AccelConfig {
        AccelConfig::new(ArrayConfig::new(cols, lanes, 8192).unwrap(), tokens, bus, f).unwrap()
    }

    /// rtl/INTERFACE.md: a run of N issues whose command is taken in C with
    /// its weights prefetched: issues C+1 .. C+N, last result taken in
    /// C+N+2. The command is taken after the W-word load (C = W).
    #[test]
    fn compute_bound_job_is_load_plus_issues_plus_three() {
        let c = cfg(4, 8, 4, 8, WeightFormat::TwoBit);
        let mem = AccelMemory {
            bytes_per_cycle: 8.0,
            latency: 1,
        };
        // 3 tiles x 10 beats x 4 tokens = 120 issues; load 40 words.
        let r = accel_group(&c, &mem, &[12], 80, 4, 4).unwrap();
        assert_eq!(r[0].cycles, 40 + 120 + 3);
        assert_eq!((r[0].issues, r[0].buffer_writes), (120, 40));
        assert_eq!(r[0].dram_bytes, 30 * 8);
        // Two runs on one load: the second run's window is its issues.
        let r = accel_group(&c, &mem, &[12, 4], 80, 4, 4).unwrap();
        assert_eq!(r[0].cycles, 40 + 1 + 120);
        assert_eq!(r[1].cycles, 40 + 2);
    }

    /// Decode at a memory of a quarter of the bus: the stream sets the pace.
    #[test]
    fn memory_bound_decode_runs_at_the_stream_rate() {
        let c = cfg(4, 8, 4, 8, WeightFormat::TwoBit);
        let mem = AccelMemory {
            bytes_per_cycle: 2.0,
            latency: 10,
        };
        let r = accel_group(&c, &mem, &[400], 800, 1, 1).unwrap();
        // 100 tiles x 100 beats = 10^4 words of 8 bytes at 2 B/cycle.
        let floor = 10_000.0 * 8.0 / 2.0;
        let ratio = r[0].cycles as f64 / floor;
        assert!((1.0..1.01).contains(&ratio), "{}", r[0].cycles);
    }

    #[test]
    fn jobs_split_rows_and_k() {
        let c = cfg(4, 8, 4, 8, WeightFormat::TwoBit);
        let mem = AccelMemory {
            bytes_per_cycle: 8.0,
            latency: 1,
        };
        // 10 rows in jobs of 4: 3 jobs; K = 9000 > 8192: 2 segments.
        let r = accel_group(&c, &mem, &[4], 9000, 10, 4).unwrap();
        assert_eq!(r[0].jobs, 6);
        assert_eq!(r[0].buffer_writes, 10 * (1024 + 101));
        assert_eq!(r[0].issues, 10 * (1024 + 101));
        assert_eq!(r[0].dram_bytes, 3 * (1024 + 101) * 8);
        assert!(accel_group(&c, &mem, &[4], 8, 1, 5).is_err());
        assert!(accel_cycles(&c, 9.0, 1, 4, 8, 1, 1).is_err());
        assert!(accel_cycles(&c, 8.0, 0, 4, 8, 1, 1).is_err());
    }

    #[test]
    fn twins_stream_the_same_bytes() {
        let b3 = cfg(64, 5, 16, 64, WeightFormat::Base3);
        let t2 = twin(&b3, WeightFormat::TwoBit).unwrap();
        assert_eq!((t2.array.lanes, t2.word_bytes), (4, 64));
        assert_eq!(twin(&t2, WeightFormat::Base3).unwrap(), b3);
        let t = cfg(16, 32, 16, 128, WeightFormat::TwoBit);
        let b = twin(&t, WeightFormat::Base3).unwrap();
        assert_eq!((b.array.lanes, b.word_bytes), (40, 128));
    }
}
