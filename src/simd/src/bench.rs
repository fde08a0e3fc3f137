//! `tritium bench`: speed of the SIMD engine, as ratios measured side by
//! side in one run (these machines are shared and noisy).
//!
//! 1. Memory read bandwidth of this machine with 1 and 2 threads (a 1 GiB
//!    buffer summed with wide loads; best of several passes).
//! 2. Kernel GB/s (packed weight bytes streamed per second) and GMAC/s for
//!    every BitLinear shape of 2B4T, decode (1 token) and prefill (a batch),
//!    the lm_head (exact and Q8), and one decode step's attention of one
//!    layer (`bench_attention.rs`). Decode calls, heads and attention from cold
//!    caches (weights come from memory, as in a forward pass); prefill
//!    calls warm (compute-bound), as a fraction of the compute peak of the
//!    instruction they use ([`crate::peak`]: `vpdpbusd`, `tdpbssd`),
//!    measured in the same run.
//! 3. Whole-model decode and prefill tokens/s of the 2B4T shape (synthetic
//!    weights), with decode expressed as a fraction of the bandwidth floor
//!    (`bandwidth / bytes per token`) two ways: the median over pairs of a
//!    bandwidth pass and two decode tokens measured back to back (both see
//!    the same moment of the shared machine), and, more conservatively,
//!    mean decode speed against the best bandwidth seen in the whole run.

use std::time::Instant;

use rayon::prelude::*;
use tritium_golden::{
    Backend, DenseMatrix, KvPrecision, LinearCall, LinearId, Logits, Model, ModelConfig, Proj,
    Session, SplitMix64, TernaryMatrix,
};

use crate::lut::{lut_matvec, LutMatrix};
use crate::peak::{self, MacOp, PeakRow};
use crate::select::pool;
use tritium_golden::BlockType;

use crate::base3::B3Matrix;
pub use crate::bench_report::{render, BandwidthRow, BenchReport, KernelRow, ModelRow};
use crate::bench_time::{time_cold, time_warm};
use crate::{Body, HeadMode, Isa, PackedTernary, Result, SimdBackend, SimdOptions};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The shape whose matrices are measured (the preset's, or the model
    /// file's).
    pub config: ModelConfig,
    /// What the report calls it: the preset name or the file.
    pub model_name: String,
    /// Bytes of the model file(s) on disk, when a file is measured.
    pub file_bytes: Option<u64>,
    pub threads: Vec<usize>,
    pub isa: Option<Isa>,
    pub prefill_tokens: usize,
    pub decode_tokens: usize,
    /// Positions cached (one prompt forward) before the timed decode steps.
    pub context: usize,
    /// Timed calls per kernel measurement, the fastest reported: decode
    /// rows each from cold caches; prompt rows warm, and at least a quarter
    /// second of them.
    pub cold_reps: usize,
    /// Time the kernels (matrix shapes and heads); `false`: only the
    /// bandwidth and the whole model.
    pub kernels: bool,
    /// Also time the lookup-table kernel family against the multiply-add
    /// one (AVX2, decode).
    pub families: bool,
    pub progress: bool,
}

/// Read bandwidth (GB/s) with `threads` threads over `buf`: best of `passes`.
pub fn read_bandwidth(buf: &[u64], threads: usize, passes: usize) -> Result<f64> {
    let pool = pool(threads)?;
    let mut best = f64::MAX;
    let chunk = buf.len().div_ceil(threads);
    for _ in 0..passes {
        let t = Instant::now();
        let s: u64 = pool.install(|| {
            buf.par_chunks(chunk)
                .map(sum_words)
                .reduce(|| 0, u64::wrapping_add)
        });
        std::hint::black_box(s);
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok((buf.len() * 8) as f64 / best / 1e9)
}

/// Sums `c` with the widest loads this CPU has (the read side of the
/// bandwidth measurement: it must be at least as good at streaming as the
/// kernels, or the floor would flatter them).
fn sum_words(c: &[u64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: feature checked.
            return unsafe { sum_words_avx512(c) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: feature checked.
            return unsafe { sum_words_avx2(c) };
        }
    }
    sum_words_portable(c)
}

#[inline(always)]
fn sum_words_portable(c: &[u64]) -> u64 {
    // Eight independent lanes: the compiler keeps them in vector registers
    // and the loop is load-bound.
    let mut acc = [0u64; 8];
    let mut it = c.chunks_exact(8);
    for b in &mut it {
        for l in 0..8 {
            acc[l] = acc[l].wrapping_add(b[l]);
        }
    }
    let tail = it.remainder().iter().fold(0u64, |a, &x| a.wrapping_add(x));
    acc.iter().fold(tail, |a, &x| a.wrapping_add(x))
}

/// 256 bytes per step into four independent accumulators (four cache
/// lines in flight per step).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn sum_words_avx512(c: &[u64]) -> u64 {
    use std::arch::x86_64::*;
    let steps = c.len() / 32;
    let p = c.as_ptr() as *const __m512i;
    let mut acc = [_mm512_setzero_si512(); 4];
    for i in 0..steps {
        for (u, a) in acc.iter_mut().enumerate() {
            *a = _mm512_add_epi64(*a, _mm512_loadu_si512(p.add(4 * i + u)));
        }
    }
    let v = _mm512_add_epi64(
        _mm512_add_epi64(acc[0], acc[1]),
        _mm512_add_epi64(acc[2], acc[3]),
    );
    let tail = sum_words_portable(&c[steps * 32..]);
    (_mm512_reduce_add_epi64(v) as u64).wrapping_add(tail)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_words_avx2(c: &[u64]) -> u64 {
    sum_words_portable(c)
}

/// Measures every compute peak present for each thread count into
/// `peaks`, keeping the higher of an earlier measurement and this one.
fn measure_peaks(threads: &[usize], peaks: &mut Vec<PeakRow>) -> Result<()> {
    for op in [MacOp::Vpdpbusd, MacOp::Tdpbssd, MacOp::Vpmaddubsw] {
        for &t in threads {
            let Some(row) = peak::measure(op, t)? else {
                continue;
            };
            match peaks
                .iter_mut()
                .find(|p| p.instruction == op && p.threads == t)
            {
                Some(p) => p.gmac_s = p.gmac_s.max(row.gmac_s),
                None => peaks.push(row),
            }
        }
    }
    Ok(())
}

fn random_matrix(n: usize, k: usize, seed: u64) -> Result<TernaryMatrix> {
    let mut r = SplitMix64::new(seed);
    let t: Vec<i8> = (0..n * k).map(|_| r.below(3) as i8 - 1).collect();
    Ok(TernaryMatrix::from_ternary("bench", n, k, &t, 1.0)?)
}

/// The distinct BitLinear shapes of a config, named by their projections.
fn shapes(c: &ModelConfig) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    for p in Proj::ALL {
        let (n, k) = p.shape(c);
        match out.iter_mut().find(|s| s.1 == n && s.2 == k) {
            Some(s) => s.0 = format!("{}/{}", s.0, p.hf_name()),
            None => out.push((p.hf_name().to_string(), n, k)),
        }
    }
    out
}

/// One BitLinear call of `rows` token rows on `w` (the id is a label only).
fn bench_call<'a>(w: &'a TernaryMatrix, acts: &'a [i8], rows: usize) -> LinearCall<'a> {
    let id = LinearId::new(0, Proj::Q);
    LinearCall::new(id, w, acts, rows, 0)
}

/// A random head of `rows x cols` stored as `ty` (bf16, f16, Q8_0, Q6_K);
/// `None` for a block type whose blocks do not divide `cols`.
fn bench_head(ty: &str, rows: usize, cols: usize) -> Result<Option<DenseMatrix>> {
    let mut r = SplitMix64::new(5);
    let n = rows * cols;
    let mut val = || (r.below(2001) as f32 - 1000.0) * 1e-5;
    let block = match ty {
        "Q8_0" => Some(BlockType::Q8_0),
        "Q6_K" => Some(BlockType::Q6K),
        _ => None,
    };
    Ok(Some(match block {
        Some(t) if !cols.is_multiple_of(t.elems()) => return Ok(None),
        Some(t) => {
            let mut data: Vec<u8> = (0..n / t.elems() * t.bytes())
                .map(|_| (val() * 1e5) as i32 as u8)
                .collect();
            let at = t.d_offset();
            for blk in data.chunks_exact_mut(t.bytes()) {
                blk[at..at + 2].copy_from_slice(&0x1400u16.to_le_bytes());
            }
            DenseMatrix::from_blocks("bench lm_head", t, rows, cols, data)?
        }
        _ if ty == "f16" => {
            // Small finite patterns (subnormal to 2^-9); timing needs no more.
            let data = (0..n).map(|_| (val().abs() * 3e6) as u16).collect();
            DenseMatrix::from_f16("bench lm_head", rows, cols, data)?
        }
        _ => {
            let data = (0..n)
                .map(|_| tritium_golden::ops::f32_to_bf16(val()))
                .collect();
            DenseMatrix::from_bf16("bench lm_head", rows, cols, data)?
        }
    }))
}

fn backend(isa: Option<Isa>, threads: usize, head: HeadMode, body: Body) -> Result<SimdBackend> {
    SimdBackend::new(SimdOptions {
        isa,
        threads: Some(threads),
        head,
        body,
    })
}

/// Runs the whole benchmark: the bandwidth, the kernels of `o.preset`'s
/// shapes, and, when `model` is given (built by the caller: the synthetic
/// model of that preset, or a checkpoint of its shape), the whole-model rows.
pub fn run_bench(
    o: &BenchOptions,
    model: Option<&Model>,
    mut log: impl FnMut(&str),
) -> Result<BenchReport> {
    let c = o.config.clone();
    let bw_of = |rows: &[BandwidthRow], t: usize| {
        rows.iter()
            .find(|b| b.threads == t)
            .map_or(f64::NAN, |b| b.read_gb_s)
    };

    log("measuring memory read bandwidth (1 GiB buffer)");
    // On huge pages where the kernel allows, like the weights the floor is
    // compared with (a 4 KiB-page buffer would measure a lower bandwidth).
    let mut buf: Vec<u64> = tritium_util::huge_vec(1 << 27);
    buf.extend(0..(1u64 << 27));
    let mut bandwidth = Vec::new();
    for &t in &o.threads {
        bandwidth.push(BandwidthRow {
            threads: t,
            read_gb_s: read_bandwidth(&buf, t, 6)?,
        });
    }
    let mut compute_peaks = Vec::new();
    if o.kernels {
        log("measuring the compute peaks (vpdpbusd, tdpbssd, vpmaddubsw)");
        measure_peaks(&o.threads, &mut compute_peaks)?;
    }
    // Prompt rows (index, path, threads): their fraction of the peak is
    // set once the peaks are measured again after the kernels.
    let mut prompt_rows: Vec<(usize, Isa, usize)> = Vec::new();
    let mut kernels = Vec::new();
    let kernel_shapes = if o.kernels { shapes(&c) } else { Vec::new() };
    for (i, (name, n, k)) in kernel_shapes.into_iter().enumerate() {
        log(&format!("kernels: {name} {n} x {k}"));
        let w = random_matrix(n, k, 7 + i as u64)?;
        let bytes2 = PackedTernary::from_matrix(&w).bytes();
        let bytes3 = B3Matrix::from_matrix(&w).bytes();
        for &t in &o.threads {
            // Decode from each body layout; prompts always run on T2P16.
            for (body, tokens) in [
                (Body::Bit2, 1),
                (Body::Base3, 1),
                (Body::Bit2, o.prefill_tokens),
            ] {
                let mut b = backend(o.isa, t, HeadMode::Exact, body)?;
                let bytes = if body == Body::Base3 { bytes3 } else { bytes2 };
                let mut r = SplitMix64::new(99);
                let acts: Vec<i8> = (0..tokens * k).map(|_| r.next_u64() as i8).collect();
                let mut out = vec![0i32; tokens * n];
                let call = bench_call(&w, &acts, tokens);
                // A decode call streams its weights from memory: timed from
                // cold caches. A prompt call is compute-bound (each weight
                // serves every row) and, in a forward pass, finds its
                // activations in cache: timed warm, so "of peak" is the
                // kernel's own.
                // Both from a worker of the backend's pool, as in a forward
                // pass (`model_row`): a call made from outside would also
                // time waking the pool's threads.
                let pool = b.pool();
                let mut timed = || {
                    let run = || {
                        b.matmul(&call, &mut out)?;
                        Ok(())
                    };
                    if tokens == 1 {
                        time_cold(&buf, o.cold_reps, run)
                    } else {
                        time_warm(o.cold_reps, run)
                    }
                };
                let dt = match pool {
                    Some(p) => p.install(timed),
                    None => timed(),
                }?
                .as_secs_f64();
                let gb_s = bytes as f64 / dt / 1e9;
                let gmac_s = (tokens * n * k) as f64 / dt / 1e9;
                if tokens > 1 {
                    prompt_rows.push((kernels.len(), b.isa(), t));
                }
                kernels.push(KernelRow {
                    name: name.clone(),
                    kernel: b.name().to_string(),
                    n,
                    k,
                    tokens,
                    threads: t,
                    bytes,
                    seconds_per_call: dt,
                    gb_s,
                    gmac_s,
                    fraction_of_bandwidth: gb_s / bw_of(&bandwidth, t),
                    fraction_of_peak: None,
                });
            }
        }
        // The other kernel family, side by side with the multiply-add one
        // on the same instruction set (AVX2), decode.
        if o.families && Isa::Avx2.available() {
            let lut = LutMatrix::from_matrix(&w);
            let mut r = SplitMix64::new(99);
            let acts: Vec<i8> = (0..k).map(|_| r.next_u64() as i8).collect();
            let mut out = vec![0i32; n];
            for &t in &o.threads {
                let pool = pool(t)?;
                let mut tables = Vec::new();
                let dt = time_cold(&buf, o.cold_reps, || {
                    pool.install(|| lut_matvec(&lut, &acts, &mut tables, &mut out));
                    Ok(())
                })?
                .as_secs_f64();
                let mut mad = backend(Some(Isa::Avx2), t, HeadMode::Exact, Body::Bit2)?;
                let call = bench_call(&w, &acts, 1);
                let dt_mad = time_cold(&buf, o.cold_reps, || {
                    mad.matmul(&call, &mut out)?;
                    Ok(())
                })?
                .as_secs_f64();
                for (kernel, dt, bytes) in [
                    ("lut-avx2 (L2B32)".to_string(), dt, lut.bytes()),
                    (format!("{} (T2P16)", mad.name()), dt_mad, bytes2),
                ] {
                    kernels.push(KernelRow {
                        name: name.clone(),
                        kernel,
                        n,
                        k,
                        tokens: 1,
                        threads: t,
                        bytes,
                        seconds_per_call: dt,
                        gb_s: bytes as f64 / dt / 1e9,
                        gmac_s: (n * k) as f64 / dt / 1e9,
                        fraction_of_bandwidth: 0.0,
                        fraction_of_peak: None,
                    });
                }
            }
        }
    }
    if o.kernels {
        // Again after the kernels, keeping the faster of the two: on a
        // shared or virtual machine a few milliseconds' loop can lose its
        // second core, which once made the 2-thread peak look like the
        // 1-thread one and the prompt kernels "105 % of peak".
        measure_peaks(&o.threads, &mut compute_peaks)?;
    }
    for (i, isa, t) in prompt_rows {
        let peak = MacOp::of_prompt_kernel(isa).and_then(|op| {
            compute_peaks
                .iter()
                .find(|p| p.instruction == op && p.threads == t)
        });
        kernels[i].fraction_of_peak = peak.map(|p| kernels[i].gmac_s / p.gmac_s);
    }
    // The lm_head, one token: exact over each stored type (bf16 as the HF
    // checkpoints, f16 as microsoft's GGUF, Q8_0 and Q6_K blocks as other
    // GGUFs), the fast int8 head (an int8 copy of a bf16 head; computed
    // from the blocks of a Q8_0 or Q6_K one) and the int4 head.
    if o.kernels {
        log(&format!(
            "kernels: lm_head {} x {}",
            c.vocab_size, c.hidden_size
        ));
    }
    let x: Vec<f32> = (0..c.hidden_size)
        .map(|i| (i % 17) as f32 * 0.1 - 0.8)
        .collect();
    let mut logits = vec![0.0f32; c.vocab_size];
    let heads = [
        ("bf16", HeadMode::Exact),
        ("f16", HeadMode::Exact),
        ("Q8_0", HeadMode::Exact),
        ("Q6_K", HeadMode::Exact),
        ("bf16", HeadMode::Q8),
        ("Q8_0", HeadMode::Q8),
        ("Q6_K", HeadMode::Q8),
        ("bf16", HeadMode::Q4),
    ];
    for (ty, mode) in heads.into_iter().filter(|_| o.kernels) {
        let Some(head) = bench_head(ty, c.vocab_size, c.hidden_size)? else {
            continue;
        };
        for &t in &o.threads {
            let mut b = backend(o.isa, t, mode, Body::Bit2)?;
            let bytes = b.head_bytes(&head); // (prepares the Q8 copy)
            let dt = time_cold(&buf, o.cold_reps, || {
                Ok(b.logits(&head, &x, &mut logits)?)
            })?
            .as_secs_f64();
            let gb_s = bytes as f64 / dt / 1e9;
            let name = match mode {
                HeadMode::Exact => format!("lm_head {ty}"),
                HeadMode::Q8 => format!("lm_head {ty} as int8"),
                HeadMode::Q4 => format!("lm_head {ty} as int4"),
            };
            kernels.push(KernelRow {
                name,
                kernel: b.name().to_string(),
                n: c.vocab_size,
                k: c.hidden_size,
                tokens: 1,
                threads: t,
                bytes,
                seconds_per_call: dt,
                gb_s,
                gmac_s: (c.vocab_size * c.hidden_size) as f64 / dt / 1e9,
                fraction_of_bandwidth: gb_s / bw_of(&bandwidth, t),
                fraction_of_peak: None,
            });
        }
    }
    if o.kernels {
        // One decode step's attention of one layer, at a context where it
        // sets the pace.
        let positions = crate::bench_attention::positions(&c, o.context);
        if positions > c.max_position_embeddings {
            return Err(tritium_golden::Error::ContextOverflow {
                len: positions,
                max: c.max_position_embeddings,
            }
            .into());
        }
        log(&format!("kernels: attention at {positions} positions"));
        kernels.extend(crate::bench_attention::attention_rows(
            &c,
            |t| backend(o.isa, t, HeadMode::Exact, Body::Bit2),
            &o.threads,
            positions,
            (&buf, o.cold_reps),
            |t| bw_of(&bandwidth, t),
        )?);
    }

    let mut models = Vec::new();
    if let Some(model) = model {
        let c = model.config();
        let steps = o.decode_tokens.div_ceil(TOKENS_PER_PAIR).max(1) * TOKENS_PER_PAIR;
        let positions = o.context.saturating_add(steps);
        if positions > c.max_position_embeddings {
            return Err(tritium_golden::Error::ContextOverflow {
                len: positions,
                max: c.max_position_embeddings,
            }
            .into());
        }
        for &t in &o.threads {
            for (mode, body, kv) in MODEL_MODES {
                let mut b = backend(o.isa, t, mode, body)?;
                log(&format!(
                    "model: {} with {t} thread(s), {} KV cache",
                    b.name(),
                    kv.name()
                ));
                b.prepare(model);
                // The machine is shared: re-measure the bandwidth right
                // before each model run (and during its decode pairs) and
                // keep the best figure seen, so the best-bandwidth floor is
                // never flattered by a slow moment.
                let again = read_bandwidth(&buf, t, 3)?;
                let row = match b.pool() {
                    Some(pool) => pool.install(|| model_row(model, &mut b, kv, o, &buf)),
                    None => model_row(model, &mut b, kv, o, &buf),
                };
                let (row, pairs_bw) = row?;
                if let Some(bw) = bandwidth.iter_mut().find(|b| b.threads == t) {
                    bw.read_gb_s = bw.read_gb_s.max(again).max(pairs_bw);
                }
                models.push(row);
            }
        }
    }
    drop(buf);
    // Ratios against the best bandwidth measured in this run.
    for k in &mut kernels {
        k.fraction_of_bandwidth = k.gb_s / bw_of(&bandwidth, k.threads);
    }
    for m in &mut models {
        m.floor_tok_s = bw_of(&bandwidth, m.threads) * 1e9 / m.bytes_per_token as f64;
        m.decode_fraction_of_best_floor = m.decode_tok_s / m.floor_tok_s;
    }
    Ok(BenchReport {
        schema_version: 4,
        cpu_kernels_present: Isa::present().iter().map(|i| i.name().into()).collect(),
        preset: o.model_name.clone(),
        file_bytes: o.file_bytes,
        bandwidth,
        compute_peaks,
        avx2_body_probe: crate::calibrate::avx2_probe(),
        kernels,
        models,
    })
}

/// The head, body and KV cache of each whole-model row: exact (as stored,
/// then from the lossless base-3 body), the int8 head, the int4 head with
/// each body, and the fastest of these with an f16 KV cache.
const MODEL_MODES: [(HeadMode, Body, KvPrecision); 6] = [
    (HeadMode::Exact, Body::Bit2, KvPrecision::F32),
    (HeadMode::Exact, Body::Base3, KvPrecision::F32),
    (HeadMode::Q8, Body::Bit2, KvPrecision::F32),
    (HeadMode::Q4, Body::Bit2, KvPrecision::F32),
    (HeadMode::Q4, Body::Base3, KvPrecision::F32),
    (HeadMode::Q4, Body::Base3, KvPrecision::F16),
];

/// Whole-prompt forwards timed per model row (the fastest is reported).
const PREFILL_RUNS: usize = 3;

/// Decode tokens per interleaved pair (with one bandwidth pass each).
const TOKENS_PER_PAIR: usize = 2;

/// One model row, and the best bandwidth its interleaved passes saw.
fn model_row(
    model: &Model,
    b: &mut SimdBackend,
    kv: KvPrecision,
    o: &BenchOptions,
    buf: &[u64],
) -> Result<(ModelRow, f64)> {
    let c = model.config();
    let vocab = c.vocab_size as u32;
    let tokens =
        |n: usize| -> Vec<u32> { (0..n as u32).map(|i| (i * 7919 + 13) % vocab).collect() };
    let prompt = tokens(o.prefill_tokens);
    // Prefill: the whole prompt as one batched forward, logits of the last,
    // PREFILL_RUNS times on fresh sessions; the fastest counts (the first
    // also pays one-time costs: scratch growth, each thread's first AMX
    // use, the pool waking up).
    let mut prefill = f64::MAX;
    for _ in 0..PREFILL_RUNS {
        let mut s = Session::with_kv(model, kv);
        let t = Instant::now();
        s.forward(b, &prompt, Logits::Last)?;
        prefill = prefill.min(t.elapsed().as_secs_f64());
    }
    // Decode: single-token steps after a short context, in pairs of one
    // bandwidth pass and TOKENS_PER_PAIR tokens.
    let bytes = b.bytes_per_token(model) as f64;
    let threads = b.threads();
    let pairs = o.decode_tokens.div_ceil(TOKENS_PER_PAIR).max(1);
    let context = tokens(o.context);
    let mut s = Session::with_kv(model, kv);
    // The whole run's KV cache up front, and one logits row reused: as a
    // peer allocates its context once (a decode step that faults fresh
    // pages in waits for the kernel with every worker idle).
    s.reserve(context.len() + pairs * TOKENS_PER_PAIR)?;
    let mut logits = Vec::new();
    s.forward_into(b, &context, Logits::Last, &mut logits)?;
    let (mut decode, mut best_bw, mut ratios) = (0.0, 0.0f64, Vec::with_capacity(pairs));
    let mut token = 0u32;
    for _ in 0..pairs {
        let bw = read_bandwidth(buf, threads, 1)?;
        best_bw = best_bw.max(bw);
        let t = Instant::now();
        for _ in 0..TOKENS_PER_PAIR {
            s.forward_into(b, &[(token * 31 + 5) % vocab], Logits::Last, &mut logits)?;
            token += 1;
        }
        let dt = t.elapsed().as_secs_f64();
        decode += dt;
        ratios.push((TOKENS_PER_PAIR as f64 / dt) / (bw * 1e9 / bytes));
    }
    ratios.sort_by(f64::total_cmp);
    let row = ModelRow {
        backend: match kv {
            KvPrecision::F32 => b.name().to_string(),
            KvPrecision::F16 => format!("{}-kv16", b.name()),
        },
        threads,
        bytes_per_token: bytes as usize,
        decode_tok_s: token as f64 / decode,
        floor_tok_s: 0.0,
        decode_fraction_of_floor: ratios[ratios.len() / 2],
        decode_fraction_of_best_floor: 0.0,
        decode_pairs: pairs,
        prefill_tokens: prompt.len(),
        prefill_tok_s: prompt.len() as f64 / prefill,
        kv_cache: kv.name().into(),
        context: context.len(),
        // Step i attends to context + i + 1 positions (keys and values of
        // every layer).
        kv_bytes_per_token: (2 * context.len() + token as usize + 1)
            * c.kv_dim()
            * 2
            * c.num_layers
            * kv.bytes()
            / 2,
    };
    Ok((row, best_bw))
}
