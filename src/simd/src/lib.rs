//! The SIMD CPU engine: a [`tritium_golden::Backend`] running every BitLinear on
//! AVX-512 VNNI, AVX2, NEON or the portable scalar twin, threaded with
//! rayon, bit-exact with the golden backend (integer accumulators, and the
//! lm_head in the golden pinned f32 order unless the fast Q8 head is asked
//! for).
//!
//! - [`layout`]: the `T2P16` weight layout and why it is shaped so.
//! - [`base3`]: the `T3P16` base-3 copy single-token decode can read
//!   instead ([`Body`]), 1.6 bits per weight, lossless.
//! - [`kernels`]: the ternary x int8 kernels per instruction set.
//! - [`head`]: the exact and the Q8 lm_head; [`head_blocks`]: the exact
//!   head over ggml blocks (Q8_0, Q6_K) as stored; [`head_q4`]: the int4
//!   head of the fastest (approximate) decode mode.
//!
//! The path is detected once per backend ([`Isa::best`]) and can be forced
//! with `TRITIUM_KERNEL=scalar|avx2|avx2-lut|avx512|neon|amx` (an unavailable path is an
//! error, not a silent fallback); `TRITIUM_REQUIRE_KERNELS` declares the
//! paths a machine must have ([`present_kernels`], what the tests loop
//! over, fails naming a missing one). Weights are repacked when the backend is
//! prepared for a model ([`SimdBackend::prepare`]) and otherwise on first
//! use; a call whose weights are not the prepared ones (another model, a
//! replaced layer) is repacked again, never served stale. Scratch buffers
//! are kept between calls, so a decode step allocates nothing in the
//! kernels.

pub mod attention;
mod backend;
pub mod base3;
pub mod bench;
mod bench_attention;
mod bench_report;
mod bench_time;
pub mod calibrate;
mod error;
pub mod head;
pub mod head_blocks;
pub mod head_q4;
pub mod head_q6k;
pub mod head_q80;
pub mod kernels;
pub mod layout;
mod lut;
pub mod peak;
mod select;
pub mod spin;

use std::collections::HashMap;

use rayon::prelude::*;
use tritium_golden::{DenseMatrix, LinearCall, LinearId, Model, Result as GResult};

pub use head::{HeadRows, Q8Head, Q8Input};
pub use head_q4::{Q4Head, Q4Input};
pub use kernels::{Acts, Isa};
pub use layout::PackedTernary;

pub use error::{Error, Result};
use layout::PANEL;
pub use select::{
    check_threads, isa_from_env, max_threads, parse_isa, present_kernels, required_kernels,
    ENV_REQUIRE_KERNELS,
};

/// The backend's maps (per BitLinear, looked up several times per decode
/// job): Fx hashing, not SipHash (0.43 -> 0.34 us of a decode job's set-up
/// went to the lookups and the next-step record).
type Map<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

/// How the lm_head is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeadMode {
    /// Bitwise the golden logits (pinned f32 order, weights as stored).
    #[default]
    Exact,
    /// Int8 rows with per-row scales: half the bytes of bf16, approximate.
    /// A head stored as Q6_K or Q8_0 blocks is computed from them with an
    /// int8 input instead ([`head_q6k`], [`head_q80`]).
    Q8,
    /// Int4 blocks of 64 with f32 scales ([`head_q4`]): 4.5 bits per
    /// weight, a quarter of bf16's bytes; approximate (the fastest decode).
    Q4,
}

/// The layout single-token (decode) jobs read the ternary weights from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Body {
    /// The faster of the two on the backend's path, as measured (README):
    /// [`Body::Base3`] on [`Isa::Avx512`] and [`Isa::Amx`] (4-9 % faster
    /// decode); on [`Isa::Avx2`] the one this CPU's core computes faster,
    /// timed once per process ([`calibrate`]: 2-bit as measured on AMD
    /// Zen 3; base-3 expected on the Xeon whose AVX2 units decoded 1.3x
    /// faster from it, the probe not yet run there); [`Body::Bit2`]
    /// on the others (the lookup tables are a 2-bit family; NEON and the
    /// scalar twin have no vector base-3 kernel).
    #[default]
    Auto,
    /// `T2P16` at 2 bits per weight ([`layout`]), what prompts also use.
    Bit2,
    /// A second, base-3 copy at 1.6 bits per weight ([`base3`]): lossless
    /// (logits unchanged), a fifth fewer bytes per token, more arithmetic
    /// per byte. Prompts still run on `T2P16`.
    Base3,
}

impl Body {
    /// What [`Body::Auto`] means on path `isa`; the others as they are.
    pub fn resolve(self, isa: Isa) -> Body {
        match self {
            Body::Auto if matches!(isa, Isa::Avx512 | Isa::Amx) => Body::Base3,
            Body::Auto if isa == Isa::Avx2 => match calibrate::avx2_probe() {
                Some(p) if p.base3_wins() => Body::Base3,
                _ => Body::Bit2,
            },
            Body::Auto => Body::Bit2,
            b => b,
        }
    }
}

/// Options of [`SimdBackend::new`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SimdOptions {
    /// Kernel path; `None` = `TRITIUM_KERNEL` or the best present.
    pub isa: Option<Isa>,
    /// Worker threads; `None` = all cores.
    pub threads: Option<usize>,
    pub head: HeadMode,
    pub body: Body,
}

struct Prepared {
    /// Uid and shape of the golden weights this was packed from.
    src: (u64, usize, usize),
    w: PackedTernary,
    /// The `L2B32` copy the `avx2-lut` path decodes from (prompts use `w`).
    lut: Option<lut::LutMatrix>,
    /// The base-3 copy single rows decode from ([`Body::Base3`]).
    b3: Option<base3::B3Matrix>,
}

impl Prepared {
    fn new(isa: Isa, body: Body, w: &tritium_golden::TernaryMatrix) -> Prepared {
        let b3 = body == Body::Base3;
        Prepared {
            src: src_key(w),
            w: PackedTernary::from_matrix(w),
            lut: (isa == Isa::Avx2Lut && !b3).then(|| lut::LutMatrix::from_matrix(w)),
            b3: b3.then(|| base3::B3Matrix::from_matrix(w)),
        }
    }

    /// The bytes a single-token (decode) job streams: address and length.
    fn decode_range(&self) -> (usize, usize) {
        match (&self.b3, &self.lut) {
            (Some(b), _) => (b.addr(), b.bytes()),
            (None, Some(l)) => (l.addr(), l.bytes()),
            (None, None) => (self.w.addr(), self.w.bytes()),
        }
    }
}

/// The SIMD backend.
pub struct SimdBackend {
    isa: Isa,
    /// Own pool when a thread count was given; else rayon's current pool.
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    head_mode: HeadMode,
    body: Body,
    name: String,
    prepared: Map<LinearId, Prepared>,
    q8: Option<((u64, usize, usize), Q8Head)>,
    q8_input: Q8Input,
    /// The input of the int8 head over stored Q6_K blocks.
    q6k_input: head_q6k::Q6kInput,
    q80_input: head_q80::Q80Input,
    q4: Option<((u64, usize, usize), Q4Head)>,
    q4_input: Q4Input,
    acts: Vec<i8>,
    sums: Vec<i32>,
    panel_out: Vec<i32>,
    /// The per-token tables of the `avx2-lut` path's decode jobs.
    lut_tables: Vec<u8>,
    /// The token as the base-3 decode jobs read it.
    b3_acts: base3::B3Acts,
    /// Runs the decode steps (one token row): see [`spin`].
    spin: spin::SpinPool,
    /// The decode job that ran last (its first matrix, or the head).
    last_step: Option<Step>,
    /// For each decode job, the last member of the job that followed it the
    /// last time: what the workers prefetch while the caller works serially.
    next_of: Map<Step, Step>,
    /// The head rows' byte range, once [`Backend::logits`] has run.
    head_range: Option<(usize, usize)>,
    /// What the workers prefetch after the last decode job: repeated after
    /// the small jobs in between (attention), which would otherwise cut it off.
    pending_prefetch: [spin::Prefetch; 4],
}

/// A decode job, for predicting the next one (the network runs the same
/// sequence of jobs for every token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Step {
    Linear(LinearId),
    Head,
}

/// Bytes of the predicted next job each worker prefetches after a decode
/// job: a quarter of a 2 MiB L2 (1 and 2 MiB measured slower on a 2 MiB-L2
/// Xeon: the prefetched lines start evicting each other and the job's own).
const PREFETCH_AHEAD: usize = 512 << 10;

impl std::fmt::Debug for SimdBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimdBackend({}, {} threads)", self.name, self.threads())
    }
}

/// Which golden weights a packed copy was made from: their uid (never the
/// address, which a later allocation can reuse) and shape.
fn src_key(w: &tritium_golden::TernaryMatrix) -> (u64, usize, usize) {
    (w.uid(), w.n(), w.k())
}

/// Which dense head a Q8 copy was made from: its uid (never the address:
/// a dropped head's allocation is reused by the next one) and shape.
fn dense_key(m: &DenseMatrix) -> (u64, usize, usize) {
    (m.uid(), m.rows(), m.cols())
}

impl SimdBackend {
    pub fn new(opts: SimdOptions) -> Result<SimdBackend> {
        let isa = match opts.isa {
            Some(i) => parse_isa(i.name())?,
            None => isa_from_env()?.unwrap_or_else(Isa::best),
        };
        if let Some(n) = opts.threads {
            check_threads(n)?;
        }
        let pool = match opts.threads {
            None => None,
            Some(n) => Some(std::sync::Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("tritium-simd-{i}"))
                    .build()
                    .map_err(|e| Error::threads(n, e))?,
            )),
        };
        let threads = match &pool {
            Some(p) => p.current_num_threads(),
            None => rayon::current_num_threads(),
        };
        // Before the spin pool starts: `Body::Auto` may time kernels on this
        // thread (`calibrate`), and its idle workers would compete.
        let body = opts.body.resolve(isa);
        let spin =
            spin::SpinPool::new(threads).map_err(|source| Error::Threads { threads, source })?;
        let mut name = match opts.head {
            HeadMode::Exact => format!("simd-{}", isa.name()),
            HeadMode::Q8 => format!("simd-{}-q8head", isa.name()),
            HeadMode::Q4 => format!("simd-{}-q4head", isa.name()),
        };
        if body == Body::Base3 {
            name.push_str("-b3body");
        }
        Ok(SimdBackend {
            isa,
            pool,
            head_mode: opts.head,
            body,
            name,
            prepared: Map::default(),
            q8: None,
            q8_input: Q8Input::default(),
            q6k_input: Default::default(),
            q80_input: Default::default(),
            q4: None,
            q4_input: Q4Input::default(),
            acts: Vec::new(),
            sums: Vec::new(),
            panel_out: Vec::new(),
            lut_tables: Vec::new(),
            b3_acts: Default::default(),
            spin,
            last_step: None,
            next_of: Map::default(),
            head_range: None,
            pending_prefetch: Default::default(),
        })
    }

    pub fn isa(&self) -> Isa {
        self.isa
    }
    /// Worker threads the kernels run on.
    pub fn threads(&self) -> usize {
        // Not `install(rayon::current_num_threads)`: from outside the pool
        // that is a job sent to a sleeping worker and waited for (~8 us,
        // paid by every decode matmul).
        match &self.pool {
            Some(p) => p.current_num_threads(),
            None => rayon::current_num_threads(),
        }
    }

    /// Runs `f` in the backend's pool (its own, or the current one).
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(p) => p.install(f),
            None => f(),
        }
    }
    pub fn head_mode(&self) -> HeadMode {
        self.head_mode
    }
    pub fn body(&self) -> Body {
        self.body
    }

    /// The backend's own thread pool, if it was given a thread count. Run
    /// the forward pass inside it (`pool.install(|| ...)`) so the shared
    /// network code (rows, heads) uses the same threads as the kernels.
    pub fn pool(&self) -> Option<std::sync::Arc<rayon::ThreadPool>> {
        self.pool.clone()
    }

    /// Repacks every BitLinear of `model` (and the Q8 head if asked for)
    /// now, in parallel, instead of on first use.
    pub fn prepare(&mut self, model: &Model) {
        let mut todo: Vec<(LinearId, &tritium_golden::TernaryMatrix)> = Vec::new();
        for (l, layer) in model.layers().iter().enumerate() {
            for proj in tritium_golden::Proj::ALL {
                todo.push((LinearId { layer: l, proj }, layer.linear(proj)));
            }
        }
        let (isa, body) = (self.isa, self.body);
        let packed: Vec<(LinearId, Prepared)> = self.install(|| {
            todo.par_iter()
                .map(|&(id, w)| (id, Prepared::new(isa, body, w)))
                .collect()
        });
        self.prepared.extend(packed);
        match self.head_mode {
            HeadMode::Q8 if model.head().as_blocks().is_none() => {
                self.q8_head(model.head());
            }
            HeadMode::Q8 => {}
            HeadMode::Q4 => {
                self.q4_head(model.head());
            }
            HeadMode::Exact => {}
        }
    }

    /// Bytes of weights one decode step reads: every packed BitLinear plus
    /// the head as this backend reads it.
    pub fn bytes_per_token(&mut self, model: &Model) -> usize {
        self.prepare_missing(model);
        let ternary: usize = self.prepared.values().map(|p| p.decode_range().1).sum();
        ternary + self.head_bytes(model.head())
    }

    /// Bytes of `head` this backend reads per token (as stored, or the Q8
    /// copy, which this prepares).
    pub fn head_bytes(&mut self, head: &DenseMatrix) -> usize {
        match self.head_mode {
            HeadMode::Exact => HeadRows::of(head).bytes(),
            HeadMode::Q8 => match head.as_blocks() {
                Some(_) => HeadRows::of(head).bytes(),
                None => self.q8_head(head).bytes(),
            },
            HeadMode::Q4 => self.q4_head(head).bytes(),
        }
    }

    fn prepare_missing(&mut self, model: &Model) {
        let missing = model.layers().iter().enumerate().any(|(l, layer)| {
            tritium_golden::Proj::ALL.iter().any(|&proj| {
                let id = LinearId { layer: l, proj };
                self.prepared.get(&id).map(|p| p.src) != Some(src_key(layer.linear(proj)))
            })
        });
        if missing {
            self.prepare(model);
        }
    }

    fn q8_head(&mut self, m: &DenseMatrix) -> &Q8Head {
        let key = dense_key(m);
        if self.q8.as_ref().map(|q| q.0) != Some(key) {
            let q = self.install(|| Q8Head::from_dense(m));
            self.q8 = Some((key, q));
        }
        &self.q8.as_ref().expect("just set").1
    }

    fn q4_head(&mut self, m: &DenseMatrix) -> &Q4Head {
        let key = dense_key(m);
        if self.q4.as_ref().map(|q| q.0) != Some(key) {
            let q = self.install(|| Q4Head::from_dense(m));
            self.q4 = Some((key, q));
        }
        &self.q4.as_ref().expect("just set").1
    }

    /// Runs `calls` (1..=MAX_GROUP BitLinears on the same activations, shapes
    /// already checked) as one job: the activations are copied once (padded
    /// to whole blocks) with their row sums, every matrix's panels are cut
    /// into tasks, all tasks run in one parallel region, and the panel-major
    /// results are scattered into `outs`. Allocation-free once the scratch
    /// buffers have grown to the largest call.
    fn run<O: AsMut<[i32]>>(&mut self, calls: &[LinearCall<'_>], outs: &mut [O]) -> GResult<()> {
        let m = calls.len();
        debug_assert!((1..=MAX_GROUP).contains(&m) && outs.len() == m);
        let rows = calls[0].rows;
        let chunk = prompt_chunk_rows(calls[0].weights.k());
        if rows > chunk {
            return self.run_chunked(calls, outs, chunk);
        }
        for c in calls {
            self.ensure_packed(c);
        }
        let prefetch = if rows == 1 {
            self.decode_step(Step::Linear(calls[0].id), Step::Linear(calls[m - 1].id))
        } else {
            Default::default()
        };
        let isa = self.isa;
        let threads = self.threads();
        let k = calls[0].weights.k();
        let ws: [Option<&PackedTernary>; MAX_GROUP] =
            std::array::from_fn(|i| calls.get(i).map(|c| &self.prepared[&c.id].w));
        // The lookup-table family decodes single rows from its own layout
        // with one set of tables per call (the calls share the activations).
        let luts: [Option<&lut::LutMatrix>; MAX_GROUP] = std::array::from_fn(|i| {
            calls
                .get(i)
                .and_then(|c| self.prepared[&c.id].lut.as_ref())
                .filter(|_| rows == 1)
        });
        if let Some(l) = luts[0] {
            lut::build_tables(
                &calls[0].acts[..calls[0].weights.k()],
                l.pairs(),
                &mut self.lut_tables,
            );
        }
        let tables = &self.lut_tables;
        // So does the base-3 body, from one coefficient table.
        let b3s: [Option<&base3::B3Matrix>; MAX_GROUP] = std::array::from_fn(|i| {
            calls
                .get(i)
                .and_then(|c| self.prepared[&c.id].b3.as_ref())
                .filter(|_| rows == 1)
        });
        if let Some(b) = b3s[0] {
            let table = kernels::base3_needs_table(self.isa);
            self.b3_acts.set(&calls[0].acts[..b.k()], b.groups(), table);
        }
        let b3_acts = &self.b3_acts;
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (tables, &luts);
        let w0 = ws[0].expect("at least one call");
        // The AMX and AVX-512 prompt kernels read 64 inputs x 16 rows at a
        // time: the buffer is zero-padded to whole tiles, in their layout
        // (`kernels::tile_acts`).
        let tiled = kernels::tiled_prompt(isa, rows);
        let (kp, rows_padded) = if tiled {
            (
                w0.k_padded().next_multiple_of(kernels::TILE_K),
                rows.next_multiple_of(kernels::TILE_ROWS),
            )
        } else {
            (w0.k_padded(), rows)
        };
        // A base-3 decode job reads only `b3_acts` (its own padded copy and
        // sum): no padded copy here and no row sums.
        let reads_acts = !b3s[..m].iter().all(Option::is_some);
        let (acts, sums, panel_out) = (&mut self.acts, &mut self.sums, &mut self.panel_out);
        sums.clear();
        if tiled {
            let pool = (threads, self.pool.as_deref());
            kernels::tile_prompt(calls[0].acts, (rows, k, kp), acts, sums, pool);
        } else if reads_acts {
            acts.clear();
            acts.resize(rows_padded * kp, 0);
            for r in 0..rows {
                let src = &calls[0].acts[r * k..(r + 1) * k];
                acts[r * kp..r * kp + k].copy_from_slice(src);
                sums.push(kernels::act_sum(src));
            }
        }
        // Panel offsets, task splits and task offsets of each matrix.
        let (mut base, mut split, mut first) = (
            [0usize; MAX_GROUP + 1],
            [Split::default(); MAX_GROUP],
            [0usize; MAX_GROUP + 1],
        );
        for i in 0..m {
            let p = ws[i].expect("call").panels();
            base[i + 1] = base[i] + p;
            split[i] = Split::new(p, rows, threads, kernels::prompt_unit(isa, rows));
            first[i + 1] = first[i] + split[i].tasks;
        }
        // Grown, never cleared: the kernels write every value of their
        // panels (padding rows included) before anything reads them. The
        // tiled prompt kernels need none of it.
        let need = if tiled { 0 } else { base[m] * rows * PANEL };
        if panel_out.len() < need {
            panel_out.resize(need, 0);
        }
        // Each task also copies its panels' columns into the row-major
        // outputs (disjoint column ranges), while they are still in cache.
        let dst: [(spin::SharedOut<i32>, usize); MAX_GROUP] =
            std::array::from_fn(|i| match outs.get_mut(i) {
                Some(o) => {
                    let (o, n) = (o.as_mut(), calls[i].weights.n());
                    // Checked by the callers (`LinearCall::check`); the copies
                    // below rely on it.
                    assert_eq!(o.len(), rows * n, "output of {}", calls[i].id);
                    (spin::SharedOut(o.as_mut_ptr()), n)
                }
                None => (spin::SharedOut(std::ptr::null_mut()), 0),
            });
        let dst = &dst;
        let a = Acts {
            data: acts,
            stride: kp,
            sums,
            rows,
        };
        let out = spin::SharedOut(panel_out.as_mut_ptr());
        let out = &out;
        let tasks = first[m];
        // Task t: its matrix and first panel.
        let locate = |t: usize| {
            let i = (0..m).find(|&i| t < first[i + 1]).expect("task in range");
            let (p0, np) = split[i].span(t - first[i]);
            (i, p0, np)
        };
        let task = |t: usize, end: spin::End| {
            let (i, p0, np) = locate(t);
            let w = ws[i].expect("call");
            // The task this thread most likely runs next (decode jobs hand
            // out items from both ends): the kernel prefetches its start.
            let then = match end {
                spin::End::Front => (t + 1 < tasks).then_some(t + 1),
                spin::End::Back => t.checked_sub(1),
            };
            let (j, p) = then.map_or((i, p0 + np), |t| {
                let (j, p, _) = locate(t);
                (j, p)
            });
            let next = match b3s[j] {
                Some(b) => kernels::NextStep::of_base3(b, p),
                None => kernels::NextStep::of(ws[j].expect("call"), p),
            };
            let (d, n) = (dst[i].0 .0, dst[i].1);
            // The tiled prompt kernels go straight into the row-major
            // output.
            #[cfg(target_arch = "x86_64")]
            if tiled {
                // SAFETY: `d` is output i (`rows * n` values, checked by
                // the caller); this task alone writes its columns (its
                // own panels).
                unsafe { kernels::prompt_rows(isa, w, p0, np, &a, d, n) };
                return;
            }
            // SAFETY: task t owns panels base[i] + p0 .. + np of panel_out,
            // disjoint from every other task's, all inside the buffer
            // (sized base[m] * rows * PANEL above), which outlives the job.
            let o = unsafe {
                std::slice::from_raw_parts_mut(
                    out.0.add((base[i] + p0) * rows * PANEL),
                    np * rows * PANEL,
                )
            };
            match (b3s[i], luts[i]) {
                (Some(b), _) => kernels::base3_panels(isa, b, p0, np, b3_acts, o, next),
                #[cfg(target_arch = "x86_64")]
                (None, Some(l)) => {
                    kernels::count_run(Isa::Avx2Lut);
                    lut::lut_panels(l, tables, p0, np, o);
                }
                _ => kernels::ternary_panels(isa, w, p0, np, &a, o, next),
            }
            for lp in 0..np {
                let c0 = (p0 + lp) * PANEL;
                let width = PANEL.min(n - c0);
                for r in 0..rows {
                    let src = &o[(lp * rows + r) * PANEL..][..width];
                    // SAFETY: row r, columns c0 .. c0 + width of output i
                    // (`rows * n` values, checked by the caller): inside
                    // it, and written by this task only (its own panels).
                    // A whole panel is a fixed-size copy (inlined: a
                    // `memcpy` call per 64 bytes cost 5 % of a prefill).
                    unsafe {
                        let to = d.add(r * n + c0);
                        if width == PANEL {
                            (to as *mut [i32; PANEL])
                                .write_unaligned(*(src.as_ptr() as *const [i32; PANEL]));
                        } else {
                            std::ptr::copy_nonoverlapping(src.as_ptr(), to, width);
                        }
                    };
                }
            }
        };
        if rows == 1 {
            self.spin.run(tasks, &task, &prefetch);
        } else if threads <= 1 || tasks == 1 {
            (0..tasks).for_each(|t| task(t, spin::End::Front));
        } else {
            let work = || {
                (0..tasks)
                    .into_par_iter()
                    .for_each(|t| task(t, spin::End::Front))
            };
            match &self.pool {
                Some(p) => p.install(work),
                None => work(),
            }
        }
        Ok(())
    }

    /// [`Self::run`] over the token rows `chunk` at a time (the rows'
    /// outputs are contiguous runs of each output).
    fn run_chunked<O: AsMut<[i32]>>(
        &mut self,
        calls: &[LinearCall<'_>],
        outs: &mut [O],
        chunk: usize,
    ) -> GResult<()> {
        let (m, rows, k) = (calls.len(), calls[0].rows, calls[0].weights.k());
        let mut r0 = 0;
        while r0 < rows {
            let r1 = (r0 + chunk).min(rows);
            let part: [LinearCall<'_>; MAX_GROUP] = std::array::from_fn(|i| {
                let c = &calls[i.min(m - 1)];
                LinearCall::new(
                    c.id,
                    c.weights,
                    &c.acts[r0 * k..r1 * k],
                    r1 - r0,
                    c.first_pos + r0,
                )
            });
            let mut part_outs: Vec<&mut [i32]> = outs
                .iter_mut()
                .zip(calls)
                .map(|(o, c)| {
                    let n = c.weights.n();
                    &mut o.as_mut()[r0 * n..r1 * n]
                })
                .collect();
            self.run(&part[..m], &mut part_outs)?;
            r0 = r1;
        }
        Ok(())
    }

    /// Records that a decode job `first ..= last` runs now, and returns what
    /// each worker should prefetch after it: the tail of the job that
    /// followed this one last time (the workers claim items from the back).
    fn decode_step(&mut self, first: Step, last: Step) -> [spin::Prefetch; 4] {
        if let Some(prev) = self.last_step {
            self.next_of.insert(prev, last);
        }
        self.last_step = Some(first);
        let (addr, len) = match self.next_of.get(&first) {
            Some(Step::Linear(id)) => match self.prepared.get(id) {
                Some(p) => p.decode_range(),
                None => (0, 0),
            },
            Some(Step::Head) => self.head_range.unwrap_or((0, 0)),
            None => (0, 0),
        };
        self.pending_prefetch = std::array::from_fn(|w| {
            let end = len.saturating_sub(w * PREFETCH_AHEAD);
            let start = end.saturating_sub(PREFETCH_AHEAD);
            spin::Prefetch {
                addr: addr + start,
                len: end - start,
            }
        });
        self.pending_prefetch
    }

    /// Repacks `call`'s weights if they are not the prepared ones.
    fn ensure_packed(&mut self, call: &LinearCall<'_>) {
        let key = src_key(call.weights);
        let fresh = self.prepared.get(&call.id).map(|p| p.src) == Some(key);
        if !fresh {
            self.prepared
                .insert(call.id, Prepared::new(self.isa, self.body, call.weights));
        }
    }
}

/// Most BitLinears run as one job by [`SimdBackend`] (q/k/v).
const MAX_GROUP: usize = 4;

/// Token rows per call of a long prompt's matmuls over `k` inputs: every
/// panel pair of the prompt kernels reads all the call's activation rows,
/// which stay in a core's L2 (2 MB on the Xeons measured) next to the
/// weights streaming through it while they take at most 1 MiB; longer
/// prompts run in chunks of rows (whole tile groups of 16), each chunk
/// reading the weights again. (1,024 rows of 2B4T read 2.6-7 MB of
/// activations per panel pair from L3.)
fn prompt_chunk_rows(k: usize) -> usize {
    const ACT_BYTES: usize = 1 << 20;
    let tiles = ACT_BYTES / k.max(1) / kernels::TILE_ROWS;
    tiles.max(1) * kernels::TILE_ROWS
}

/// How a matrix's panels are cut into the parallel tasks of a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Split {
    panels: usize,
    /// Panels per unit: tasks start at whole units.
    unit: usize,
    tasks: usize,
}

impl Split {
    /// A decode job (one token row): single GEMV steps of 4 panels, handed
    /// out one at a time by the spin pool. A prompt: whole runs of `unit`
    /// panels (the prompt kernel's pass, [`kernels::prompt_unit`]: 3 for
    /// the AVX-512 one, 2 for AMX and the rest), spread evenly over up to
    /// 8 tasks per thread, enough to balance `threads` workers. (Tasks of
    /// a fixed size, rounded up to whole GEMV steps, left one thread 4-5 %
    /// more panels than the other at 2 threads on the 2B4T shapes.)
    fn new(panels: usize, rows: usize, threads: usize, unit: usize) -> Split {
        let (unit, tasks) = if rows == 1 {
            (4, panels.div_ceil(4))
        } else if threads <= 1 {
            (panels.max(1), 1)
        } else {
            (unit, (threads * 8).min(panels.div_ceil(unit)))
        };
        Split {
            panels,
            unit,
            tasks: tasks.max(1),
        }
    }

    /// The panels of task `j` (`< tasks`): first panel and count.
    fn span(&self, j: usize) -> (usize, usize) {
        let units = self.panels.div_ceil(self.unit);
        let at = |j: usize| (self.unit * (j * units / self.tasks)).min(self.panels);
        (at(j), at(j + 1) - at(j))
    }
}
