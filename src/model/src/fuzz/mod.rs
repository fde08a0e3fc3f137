//! A mutation fuzz campaign over the model loaders (stable Rust; cargo-fuzz
//! needs a nightly toolchain). Three targets, each a [`Target`]:
//!
//! - `gguf` ([`crate::gguf::fuzz::GgufTarget`]): mutants of small GGUF files
//!   (tiny I2_S, tiny256 TQ2_0 and TQ1_0), parsed, loaded into a model and
//!   their tokenizer built from metadata;
//! - `safetensors` ([`shard::SafetensorsTarget`]): mutants of the tiny
//!   preset's `model.safetensors` (packed and bf16), parsed as the loader
//!   parses a shard and assembled into a golden model as a checkpoint
//!   directory is;
//! - `config` ([`config::ConfigTarget`]): mutants of `config.json` text,
//!   through `parse_config`, `validate` and the shape checks the loader
//!   makes before it allocates anything.
//!
//! The promise under test: bad input gets an error, never a panic, a hang
//! or an abort. [`run`] runs every mutant under `catch_unwind` and times
//! it; a panic or an input slower than [`Campaign::max_input_time`] stops
//! the run and saves the input. An abort kills the process: runs are
//! deterministic (input `i` of seed `s` is the same on every machine and
//! does not depend on the inputs before it), so a crash replays from the
//! last progress line with `--seed s --skip i`.
//!
//! Used by the `fuzz` example (`make fuzz`) and, briefly, by the unit
//! tests; not part of the crate's API without the `fuzzing` feature.

pub mod config;
pub mod json;
pub mod shard;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tritium_golden::SplitMix64 as Rng;

/// A value in `0..n` (0 when `n` is 0).
pub fn below(rng: &mut Rng, n: usize) -> usize {
    rng.below(n as u64) as usize
}

/// One element of `items`, chosen uniformly.
pub fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[below(rng, items.len())]
}

/// How far an input got through the loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Refused by the parser (the expected fate of most mutants).
    Rejected,
    /// Parsed as valid (header or config), then refused by the loader.
    Parsed,
    /// Parsed and loaded (a model was built).
    Loaded,
}

/// One input of a target: the base it was mutated from and its bytes.
#[derive(Debug, Clone)]
pub struct Mutant {
    pub base: usize,
    pub bytes: Vec<u8>,
}

/// A fuzz target: valid base inputs, a mutator, and the loader path every
/// mutant goes through.
pub trait Target: Sync {
    /// The target's name (`--target`, reports, saved file names).
    fn name(&self) -> &'static str;
    /// The extension of saved inputs (`gguf`, `safetensors`, `json`).
    fn extension(&self) -> &'static str;
    /// A short name of base `i` (`tiny-i2s`, `tiny-packed`, ...).
    fn base_name(&self, base: usize) -> String;
    /// A mutant drawn from `rng` (which also picks the base).
    fn mutant(&self, rng: &mut Rng) -> Mutant;
    /// Runs `input` (a mutant of `base`) through the loader. Errors are
    /// expected; only panics, hangs and aborts are failures.
    fn check(&self, base: usize, input: Vec<u8>) -> Outcome;
}

/// The random stream of input `i` of a run seeded with `seed`: independent
/// of every other input, so `--skip i` starts at input `i` exactly.
pub fn input_rng(seed: u64, i: u64) -> Rng {
    let s = Rng::new(seed).next_u64();
    Rng::new(Rng::new(s ^ i).next_u64())
}

/// Input `i` of a run seeded with `seed`.
pub fn input(target: &dyn Target, seed: u64, i: u64) -> Mutant {
    target.mutant(&mut input_rng(seed, i))
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub seed: u64,
    /// The first input (inputs `0..skip` are not run).
    pub skip: u64,
    /// How many inputs to run.
    pub inputs: u64,
    /// Stop after this long, if set (whatever `inputs` says).
    pub budget: Option<Duration>,
    /// An input that takes longer than this counts as a hang.
    pub max_input_time: Duration,
    /// Where failing inputs are saved (not saved if `None`).
    pub out_dir: Option<PathBuf>,
    /// An input still running after this long is a hang that may never
    /// end: it is saved and the process exits with status 3 (for the
    /// command; tests leave this `None`).
    pub watchdog: Option<Duration>,
    /// Print every input's number to stderr before running it (to find the
    /// input that kills the process).
    pub trace: bool,
}

impl Campaign {
    /// `inputs` inputs from `seed`, the 1 s hang limit, nothing saved.
    pub fn new(seed: u64, inputs: u64) -> Campaign {
        Campaign {
            seed,
            skip: 0,
            inputs,
            budget: None,
            max_input_time: Duration::from_secs(1),
            out_dir: None,
            watchdog: None,
            trace: false,
        }
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone)]
pub enum FailureKind {
    /// The input panicked (the panic's message and location).
    Panic(String),
    /// The input took this long (more than the limit).
    Hang(Duration),
}

/// The first failing input of a run.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailureKind,
    /// Its number (replay with `--seed <seed> --skip <index> --inputs 1`).
    pub index: u64,
    pub base: String,
    pub input: Vec<u8>,
    /// The file it was saved to.
    pub saved: Option<PathBuf>,
}

/// Figures of a run (also passed to the progress callback while it runs).
#[derive(Debug, Clone)]
pub struct Report {
    pub target: &'static str,
    pub seed: u64,
    /// The first input run.
    pub first: u64,
    /// Inputs run.
    pub inputs: u64,
    /// Inputs the parser accepted (headers, configs).
    pub parsed: u64,
    /// Inputs that loaded as a model.
    pub loaded: u64,
    pub elapsed: Duration,
    /// The longest time one input took, and its number.
    pub slowest: Duration,
    pub slowest_index: u64,
    pub failure: Option<Failure>,
}

impl Report {
    /// Inputs per second.
    pub fn rate(&self) -> f64 {
        self.inputs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The one-line summary the command prints.
    pub fn summary(&self) -> String {
        let verdict = match &self.failure {
            None => "no panic, no hang".to_string(),
            Some(f) => {
                let what = match &f.kind {
                    FailureKind::Panic(m) => format!("PANIC ({m})"),
                    FailureKind::Hang(t) => format!("HANG ({:.3} s)", t.as_secs_f64()),
                };
                let saved = f
                    .saved
                    .as_ref()
                    .map_or("not saved".into(), |p| format!("saved to {}", p.display()));
                format!(
                    "{what} on input {} (base {}), {saved}; replay: --target {} --seed {} --skip {} --inputs 1",
                    f.index, f.base, self.target, self.seed, f.index
                )
            }
        };
        format!(
            "{}: {} inputs (seed {}, inputs {}..{}) in {:.1} s, {:.0} inputs/s; {} parsed as valid, {} loaded; slowest input {:.2} ms (#{}); {verdict}",
            self.target,
            self.inputs,
            self.seed,
            self.first,
            self.first + self.inputs,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.parsed,
            self.loaded,
            self.slowest.as_secs_f64() * 1e3,
            self.slowest_index,
        )
    }
}

/// The message and location of the last panic, recorded by the hook
/// [`quiet_panic_hook`] installs.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Replaces the panic hook by one that prints nothing and records the
/// message and location for the report (mutants that panic would otherwise
/// print through the default hook). For the command, not for tests.
pub fn quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = payload_text(info.payload());
        let at = info
            .location()
            .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(format!("{msg}{at}"));
        }
    }));
}

fn payload_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".into())
}

/// Saves a failing input as `<dir>/tritium-fuzz-<target>-<base>-seed<s>-input<i>.<ext>`.
fn save(target: &dyn Target, c: &Campaign, index: u64, m: &Mutant) -> Option<PathBuf> {
    let dir = c.out_dir.as_deref()?;
    let p = dir.join(format!(
        "tritium-fuzz-{}-{}-seed{}-input{index}.{}",
        target.name(),
        target.base_name(m.base),
        c.seed,
        target.extension()
    ));
    std::fs::write(&p, &m.bytes).ok().map(|_| p)
}

/// The input running now, for the watchdog: its number and its start (ns
/// since the run began; `u64::MAX` between inputs).
struct Live {
    index: AtomicU64,
    started_ns: AtomicU64,
    done: AtomicBool,
}

/// Watches `live`: if one input runs longer than `limit`, saves it (it is
/// regenerated from its number) and exits the process with status 3.
fn watchdog(target: &dyn Target, c: &Campaign, live: &Live, t0: Instant, limit: Duration) {
    while !live.done.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(50));
        let started = live.started_ns.load(Ordering::Acquire);
        let now = t0.elapsed().as_nanos() as u64;
        if started == u64::MAX || now.saturating_sub(started) < limit.as_nanos() as u64 {
            continue;
        }
        let i = live.index.load(Ordering::Acquire);
        let m = input(target, c.seed, i);
        let saved = save(target, c, i, &m)
            .map_or("not saved".into(), |p| format!("saved to {}", p.display()));
        println!(
            "{}: HANG: input {i} (base {}) still running after {:.0} s, {saved}; replay: --target {} --seed {} --skip {i} --inputs 1",
            target.name(),
            target.base_name(m.base),
            limit.as_secs_f64(),
            target.name(),
            c.seed
        );
        std::process::exit(3);
    }
}

/// Runs the campaign `c` on `target`; `progress` hears the running figures
/// every `progress_every` inputs (0: never).
pub fn run(
    target: &dyn Target,
    c: &Campaign,
    progress_every: u64,
    progress: &mut dyn FnMut(&Report),
) -> Report {
    let live = Live {
        index: AtomicU64::new(c.skip),
        started_ns: AtomicU64::new(u64::MAX),
        done: AtomicBool::new(false),
    };
    let t0 = Instant::now();
    std::thread::scope(|s| {
        if let Some(limit) = c.watchdog {
            let live = &live;
            s.spawn(move || watchdog(target, c, live, t0, limit));
        }
        let r = run_inputs(target, c, &live, t0, progress_every, progress);
        live.done.store(true, Ordering::Release);
        r
    })
}

fn run_inputs(
    target: &dyn Target,
    c: &Campaign,
    live: &Live,
    t0: Instant,
    progress_every: u64,
    progress: &mut dyn FnMut(&Report),
) -> Report {
    let mut r = Report {
        target: target.name(),
        seed: c.seed,
        first: c.skip,
        inputs: 0,
        parsed: 0,
        loaded: 0,
        elapsed: Duration::ZERO,
        slowest: Duration::ZERO,
        slowest_index: c.skip,
        failure: None,
    };
    let end = c.skip.saturating_add(c.inputs);
    for i in c.skip..end {
        if c.budget.is_some_and(|b| t0.elapsed() >= b) {
            break;
        }
        if c.trace {
            eprintln!("{} input {i}", target.name());
        }
        let m = input(target, c.seed, i);
        let base = m.base;
        live.index.store(i, Ordering::Release);
        let start = Instant::now();
        live.started_ns
            .store(t0.elapsed().as_nanos() as u64, Ordering::Release);
        let outcome = catch_unwind(AssertUnwindSafe(|| target.check(base, m.bytes)));
        let took = start.elapsed();
        live.started_ns.store(u64::MAX, Ordering::Release);
        r.inputs += 1;
        if took > r.slowest {
            r.slowest = took;
            r.slowest_index = i;
        }
        let kind = match outcome {
            Ok(o) => {
                r.parsed += u64::from(o != Outcome::Rejected);
                r.loaded += u64::from(o == Outcome::Loaded);
                (took > c.max_input_time).then_some(FailureKind::Hang(took))
            }
            Err(payload) => {
                let recorded = LAST_PANIC.lock().ok().and_then(|mut l| l.take());
                Some(FailureKind::Panic(
                    recorded.unwrap_or_else(|| payload_text(&*payload)),
                ))
            }
        };
        if let Some(kind) = kind {
            // The input was consumed by the check: regenerate it.
            let m = input(target, c.seed, i);
            r.failure = Some(Failure {
                kind,
                index: i,
                base: target.base_name(m.base),
                saved: save(target, c, i, &m),
                input: m.bytes,
            });
            break;
        }
        if progress_every > 0 && r.inputs.is_multiple_of(progress_every) {
            r.elapsed = t0.elapsed();
            progress(&r);
        }
    }
    r.elapsed = t0.elapsed();
    r
}

#[cfg(test)]
mod tests;
