//! Running a [`Model`]: a [`Session`] holds the KV cache and the
//! statistics, and runs batches of tokens through the network.
//!
//! Per layer, for a batch of token rows `h`:
//! ```text
//! x = RMSNorm_in(h);  q, k, v = BitLinear_{q,k,v}(x);  RoPE(q, k)
//! a = causal GQA attention(q, K, V);  h += BitLinear_o(RMSNorm_attn_sub(a))
//! y = RMSNorm_post(h);  m = relu(BitLinear_gate(y))^2 * BitLinear_up(y)
//! h += BitLinear_down(RMSNorm_ffn_sub(m))
//! ```
//! then `logits = RMSNorm_final(h) . E^T` (tied) or `. lm_head^T`. Everything
//! here is shared f32 code; only the integer part of BitLinear goes to the
//! [`Backend`].

use std::collections::BTreeMap;

use crate::attention::{attention, each_row, each_row2};
use crate::backend::{Backend, ExecStats, LinearCall};
use crate::error::{check_finite, Error, Result};
use crate::kv::{KvCache, KvPrecision};
use crate::model::{LinearId, Model, Norm, Proj};
use crate::ops::{rms_norm, Rope};
use crate::quant::{add_dequantized, dequantize, quantize_activations, relu2_gate_acc};
use crate::ternary::TernaryMatrix;

/// [`Backend::matmul_group`] calls of one layer in one forward pass, of any
/// number of rows: q/k/v, o, gate/up, down. A sharded co-simulation cuts a
/// run into parts along these groups.
pub const GROUPS_PER_LAYER: usize = 4;

/// Which positions of a forward pass need logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// Logits of every token of the batch.
    All,
    /// Logits of the last token only (decoding).
    Last,
}

/// Per-BitLinear execution statistics of a session.
pub type StatsTable = BTreeMap<LinearId, ExecStats>;

/// An inference session: a model, its KV cache and the statistics gathered.
/// Cloning forks the session (same model, copied cache).
#[derive(Debug, Clone)]
pub struct Session<'m> {
    model: &'m Model,
    rope: Rope,
    cache: KvCache,
    stats: StatsTable,
    scratch: Scratch,
}

/// The buffers of a forward pass, kept by the session: once they have grown
/// to the largest batch, a decode step allocates nothing in the network
/// code (the KV cache grows amortized; the logits rows returned are the
/// caller's).
#[derive(Debug, Clone, Default)]
struct Scratch {
    h: Vec<f32>,
    normed: Vec<f32>,
    att: Vec<f32>,
    /// Attention work rows (each head's output and scores).
    att_work: Vec<f32>,
    /// The gate and up accumulators and their rows' activation scales
    /// while the down projection runs (swapped with the group buffers, so
    /// no layer allocates).
    gate: Vec<i32>,
    up: Vec<i32>,
    gu_scales: Vec<f32>,
    /// RoPE cosines and sines of each row's position ([`Rope::angles`]).
    rope_cs: Vec<f32>,
    lin: LinearBufs,
}

/// Buffers of one group of BitLinears on one input (at most three: q/k/v).
#[derive(Debug, Clone, Default)]
struct LinearBufs {
    q: Vec<i8>,
    scale_res: Vec<Result<f32>>,
    scales: Vec<f32>,
    acc: [Vec<i32>; 3],
    y: [Vec<f32>; 3],
    stats: [ExecStats; 3],
    /// The row buffers of a single-row call (a decode step runs on the
    /// calling thread: these, not a worker's, so it allocates nothing).
    one_row: [Vec<f32>; 2],
}

impl LinearBufs {
    /// Output `i` of the last group, as accumulators (weights `w`).
    fn acc_of(&self, i: usize, w: &TernaryMatrix) -> Acc<'_> {
        Acc {
            acc: &self.acc[i],
            scales: &self.scales,
            gamma: w.gamma(),
        }
    }
}

impl<'m> Session<'m> {
    /// A session with an f32 KV cache (the golden model's definition).
    pub fn new(model: &'m Model) -> Session<'m> {
        Session::with_kv(model, KvPrecision::F32)
    }

    /// A session whose KV cache holds `kv` values ([`crate::kv`]: f16 is
    /// opt-in, half the bytes attention reads, not the golden model's
    /// logits).
    pub fn with_kv(model: &'m Model, kv: KvPrecision) -> Session<'m> {
        let c = model.config();
        Session {
            model,
            rope: Rope::new(c.head_dim, c.rope_theta),
            cache: KvCache::new(
                c.num_layers,
                c.num_kv_heads,
                c.head_dim,
                c.max_position_embeddings,
                kv,
            ),
            stats: StatsTable::new(),
            scratch: Scratch::default(),
        }
    }

    /// The KV cache's element type.
    pub fn kv_precision(&self) -> KvPrecision {
        self.cache.precision()
    }

    pub fn model(&self) -> &'m Model {
        self.model
    }
    /// Tokens processed so far (the next token's position).
    pub fn position(&self) -> usize {
        self.cache.len()
    }
    /// Statistics per BitLinear since the session started.
    pub fn stats(&self) -> &StatsTable {
        &self.stats
    }
    /// Makes room in the KV cache for `positions` more positions (at most
    /// up to the model's context) and writes it once now, so that the steps
    /// filling it neither reallocate nor fault fresh pages in: a page fault
    /// in a decode step stalls the backend's workers while the calling
    /// thread waits for the kernel (tens of microseconds each on a busy
    /// VM, measured). A hint: [`Session::forward`] grows the cache as
    /// needed either way. Fails (nothing allocated past what fit) when the
    /// memory cannot be had.
    pub fn reserve(&mut self, positions: usize) -> Result<()> {
        let c = self.model.config();
        let total = self
            .cache
            .len()
            .saturating_add(positions)
            .min(c.max_position_embeddings);
        self.cache.reserve(total, true)
    }

    /// Forgets all positions (the statistics are kept).
    pub fn reset(&mut self) {
        self.cache.set_len(0);
    }

    /// Runs `tokens` at the next positions, appending to the KV cache, and
    /// returns logits rows (all tokens, or the last one).
    ///
    /// All tokens of the batch go through each BitLinear in one backend call
    /// (prefill as a matmul). On error the cache is left as it was.
    pub fn forward(
        &mut self,
        backend: &mut dyn Backend,
        tokens: &[u32],
        want: Logits,
    ) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::new();
        self.forward_into(backend, tokens, want, &mut out)?;
        Ok(out)
    }

    /// [`Session::forward`] into `out`, reusing its rows: a decode loop
    /// that passes the same `out` every step allocates no logits row (a
    /// fresh 128,256-float row per token cost page faults and a zero-fill
    /// on the calling thread while the backend's workers waited). On error
    /// `out`'s contents are unspecified; the cache is left as it was.
    pub fn forward_into(
        &mut self,
        backend: &mut dyn Backend,
        tokens: &[u32],
        want: Logits,
        out: &mut Vec<Vec<f32>>,
    ) -> Result<()> {
        let c = self.model.config();
        if tokens.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        let start = self.cache.len();
        if start + tokens.len() > c.max_position_embeddings {
            return Err(Error::ContextOverflow {
                len: start + tokens.len(),
                max: c.max_position_embeddings,
            });
        }
        for (i, &t) in tokens.iter().enumerate() {
            if t as usize >= c.vocab_size {
                return Err(Error::TokenOutOfRange {
                    token: t,
                    position: start + i,
                    vocab: c.vocab_size,
                });
            }
        }
        let rows = tokens.len();
        self.cache.reserve(start + rows, false)?;
        let hd = c.hidden_size;
        let mut s = std::mem::take(&mut self.scratch);
        s.h.clear();
        s.h.resize(rows * hd, 0.0);
        for (r, &t) in tokens.iter().enumerate() {
            self.model
                .embed()
                .row_into(t as usize, &mut s.h[r * hd..(r + 1) * hd]);
        }
        let result = self
            .run_layers(backend, &mut s, rows, start)
            .and_then(|()| self.head_logits(backend, &mut s, rows, start, want, out));
        self.scratch = s;
        // The cache's length moves only when every layer and the head
        // succeeded: after a failure the rows the layers pushed lie past it,
        // and the next batch writes over them.
        if result.is_ok() {
            self.cache.set_len(start + rows);
        }
        result
    }

    /// The logits rows asked for, from the final hidden rows in `s.h`.
    fn head_logits(
        &self,
        backend: &mut dyn Backend,
        s: &mut Scratch,
        rows: usize,
        start: usize,
        want: Logits,
        out: &mut Vec<Vec<f32>>,
    ) -> Result<()> {
        let c = self.model.config();
        let hd = c.hidden_size;
        let first = match want {
            Logits::All => 0,
            Logits::Last => rows - 1,
        };
        let head = self.model.head();
        s.normed.clear();
        s.normed.resize(hd, 0.0);
        out.truncate(rows - first);
        out.resize_with(rows - first, Vec::new);
        for (r, logits) in (first..rows).zip(out.iter_mut()) {
            rms_norm(
                &s.h[r * hd..(r + 1) * hd],
                self.model.final_norm(),
                c.rms_norm_eps,
                &mut s.normed,
            );
            // A reused row keeps its values: the backend writes every one.
            logits.resize(c.vocab_size, 0.0);
            backend.logits(head, &s.normed, logits)?;
            check_finite("logits", logits).map_err(|e| match e {
                Error::NonFinite { index, value, .. } => Error::NonFinite {
                    what: format!("logits at position {}", start + r),
                    index,
                    value,
                },
                e => e,
            })?;
        }
        Ok(())
    }

    fn run_layers(
        &mut self,
        backend: &mut dyn Backend,
        s: &mut Scratch,
        rows: usize,
        start: usize,
    ) -> Result<()> {
        let model = self.model;
        let c = model.config();
        let (hd, qd, kvd) = (c.hidden_size, c.q_dim(), c.kv_dim());
        let eps = c.rms_norm_eps;
        s.att.clear();
        s.att.resize(rows * qd, 0.0);
        let hdim = c.head_dim;
        s.rope_cs.clear();
        s.rope_cs.resize(rows * hdim, 0.0);
        each_row(&mut s.rope_cs, hdim, |r, cs| {
            self.rope.angles(start + r, cs)
        });
        let stats = &mut self.stats;
        for (l, layer) in model.layers().iter().enumerate() {
            let lin = |proj| LinearId { layer: l, proj };
            let qkv = [Proj::Q, Proj::K, Proj::V].map(|p| (lin(p), layer.linear(p)));
            let input = Input::Norm(&s.h, layer.norm(Norm::Input));
            bitlinear_group(
                stats, backend, &qkv, input, eps, rows, start, &mut s.lin, true,
            )?;
            let [q, k, v] = &mut s.lin.y;
            let (rope, cs) = (&self.rope, &s.rope_cs);
            for (t, d) in [(&mut *q, qd), (&mut *k, kvd)] {
                each_row(t, d, |r, row| {
                    for head in row.chunks_exact_mut(hdim) {
                        rope.rotate(head, &cs[r * hdim..(r + 1) * hdim]);
                    }
                });
            }
            self.cache.push(l, k, v);
            attention(
                c,
                q,
                self.cache.layer(l),
                rows,
                start,
                &mut s.att,
                &mut s.att_work,
                backend.attention_heads(),
                |rows, d, f| backend.for_each_row(rows, d, f),
            );
            bitlinear_group(
                stats,
                backend,
                &[(lin(Proj::O), layer.linear(Proj::O))],
                Input::Norm(&s.att, layer.norm(Norm::AttnSub)),
                eps,
                rows,
                start,
                &mut s.lin,
                false,
            )?;
            let o = s.lin.acc_of(0, layer.linear(Proj::O));
            add_rows(&mut s.h, hd, o);

            let gu = [Proj::Gate, Proj::Up].map(|p| (lin(p), layer.linear(p)));
            let input = Input::Norm(&s.h, layer.norm(Norm::PostAttn));
            bitlinear_group(
                stats, backend, &gu, input, eps, rows, start, &mut s.lin, false,
            )?;
            std::mem::swap(&mut s.gate, &mut s.lin.acc[0]);
            std::mem::swap(&mut s.up, &mut s.lin.acc[1]);
            std::mem::swap(&mut s.gu_scales, &mut s.lin.scales);
            let acc = |acc, proj| Acc {
                acc,
                scales: &s.gu_scales,
                gamma: layer.linear(proj).gamma(),
            };
            let (gate, up) = (acc(&s.gate, Proj::Gate), acc(&s.up, Proj::Up));
            bitlinear_group(
                stats,
                backend,
                &[(lin(Proj::Down), layer.linear(Proj::Down))],
                Input::GatedNorm(gate, up, layer.norm(Norm::FfnSub)),
                eps,
                rows,
                start,
                &mut s.lin,
                false,
            )?;
            let down = s.lin.acc_of(0, layer.linear(Proj::Down));
            add_rows(&mut s.h, hd, down);
        }
        Ok(())
    }
}

/// A BitLinear's output kept as its integer accumulators: row `r` is
/// `dequantize(acc_r, scales[r], gamma)`, computed where it is consumed
/// (the same two f32 roundings as a dequantized copy, without writing and
/// reading one).
#[derive(Clone, Copy)]
struct Acc<'a> {
    acc: &'a [i32],
    scales: &'a [f32],
    gamma: f32,
}

impl<'a> Acc<'a> {
    /// The accumulators of row `r` (of `n`), its scale and gamma.
    fn row(self, r: usize, n: usize) -> (&'a [i32], f32, f32) {
        (&self.acc[r * n..(r + 1) * n], self.scales[r], self.gamma)
    }
}

/// The f32 input rows of a BitLinear group, each an RMSNorm computed right
/// before its row is quantized (no f32 copy of the batch is written and
/// read back).
#[derive(Clone, Copy)]
enum Input<'a> {
    /// `RMSNorm(x_r) * w`.
    Norm(&'a [f32], &'a [f32]),
    /// `RMSNorm(relu(gate_r)^2 * up_r) * w` (transformers'
    /// ReLUSquaredActivation, then the product with up), gate and up
    /// dequantized from their accumulators.
    GatedNorm(Acc<'a>, Acc<'a>, &'a [f32]),
}

thread_local! {
    /// Row buffers of one worker for batches of several rows: a group's
    /// input row and the gated product before its norm.
    static ROWS: std::cell::RefCell<[Vec<f32>; 2]> =
        const { std::cell::RefCell::new([Vec::new(), Vec::new()]) };
}

/// The first `k` values of each of `bufs`: a buffer grows (zero-filled
/// once) when shorter and never shrinks. Resized to `k` instead, the
/// buffers of a layer's 2,560- and 6,912-value groups were zero-filled
/// again at every switch (~110 KB before each down projection, when there
/// were four: the serial gap before it went from 18.5-19.7 to 16.5-16.7 us,
/// 2B4T, measured).
fn sized(bufs: &mut [Vec<f32>; 2], k: usize) -> [&mut [f32]; 2] {
    bufs.each_mut().map(|b| {
        if b.len() < k {
            b.resize(k, 0.0);
        }
        &mut b[..k]
    })
}

impl Input<'_> {
    /// Row `r` (of `k` values) into `out`, with `tmp` for the gated
    /// product.
    fn row(self, r: usize, eps: f32, [out, tmp]: [&mut [f32]; 2]) {
        let k = out.len();
        match self {
            Input::Norm(x, w) => rms_norm(&x[r * k..(r + 1) * k], w, eps, out),
            Input::GatedNorm(gate, up, w) => {
                let (ga, gs, gg) = gate.row(r, k);
                let (ua, us, ug) = up.row(r, k);
                relu2_gate_acc(ga, gs, gg, ua, us, ug, tmp);
                rms_norm(tmp, w, eps, out);
            }
        }
    }
}

/// `h_r += dequantize(acc_r)` for every `d`-sized row (the residual add).
fn add_rows(h: &mut [f32], d: usize, acc: Acc<'_>) {
    each_row(h, d, |r, hr| {
        let (a, s, gamma) = acc.row(r, d);
        add_dequantized(hr, a, s, gamma);
    });
}

/// W1.58A8 BitLinears reading the same input (one, or q/k/v, gate/up): per
/// row the input (`input`, an RMSNorm) and its int8 quantization (once for
/// the group: each would compute the same int8 rows and scales), the
/// integer matmuls on the backend as one [`Backend::matmul_group`] (which
/// may run them as a single job) into `b.acc[i]` with the rows' scales in
/// `b.scales`, and, if `dequant`, per-row dequantization into `b.y[i]`
/// (otherwise the consumer dequantizes rows as it reads them: [`Acc`]).
#[allow(clippy::too_many_arguments)]
fn bitlinear_group(
    stats: &mut StatsTable,
    backend: &mut dyn Backend,
    group: &[(LinearId, &TernaryMatrix)],
    input: Input<'_>,
    eps: f32,
    rows: usize,
    first_pos: usize,
    b: &mut LinearBufs,
    dequant: bool,
) -> Result<()> {
    let g = group.len();
    debug_assert!((1..=3).contains(&g));
    let (id, k) = (group[0].0, group[0].1.k());
    // No `clear()` before these resizes: every value is written below (by
    // the quantizer, the backend's matmul and the dequantizer), so zeroing
    // megabytes per call first would only cost time.
    b.q.resize(rows * k, 0);
    b.scale_res.clear();
    b.scale_res.extend((0..rows).map(|_| Ok(0.0)));
    let row = |r: usize, qr: &mut [i8], bufs: &mut [Vec<f32>; 2]| {
        let [out, tmp] = sized(bufs, k);
        input.row(r, eps, [&mut *out, tmp]);
        quantize_activations(out, qr)
    };
    if rows == 1 {
        b.scale_res[0] = row(0, &mut b.q, &mut b.one_row);
    } else {
        each_row2(&mut b.q, k, &mut b.scale_res, 1, |r, qr, sr| {
            sr[0] = ROWS.with_borrow_mut(|bufs| row(r, qr, bufs));
        });
    }
    b.scales.clear();
    for (r, res) in b.scale_res.iter_mut().enumerate() {
        match std::mem::replace(res, Ok(0.0)) {
            Ok(s) => b.scales.push(s),
            Err(Error::NonFinite { index, value, .. }) => {
                return Err(Error::NonFinite {
                    what: format!("input activations of {id} at position {}", first_pos + r),
                    index,
                    value,
                })
            }
            Err(other) => return Err(other),
        }
    }
    let q = &b.q;
    let call = |i: usize| LinearCall::new(group[i].0, group[i].1, q, rows, first_pos);
    let calls = [call(0), call(g.min(2) - 1), call(g - 1)];
    for (acc, &(_, w)) in b.acc.iter_mut().zip(group) {
        acc.resize(rows * w.n(), 0);
    }
    backend.matmul_group(&calls[..g], &mut b.acc[..g], &mut b.stats[..g])?;
    for (i, &(id, w)) in group.iter().enumerate() {
        *stats.entry(id).or_default() += b.stats[i];
        if !dequant {
            continue;
        }
        let n = w.n();
        let (acc, y, scales) = (&b.acc[i], &mut b.y[i], &b.scales);
        y.resize(rows * n, 0.0);
        let gamma = w.gamma();
        each_row(y, n, |r, yr| {
            dequantize(&acc[r * n..(r + 1) * n], scales[r], gamma, yr)
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::GoldenBackend;
    use crate::config::Preset;
    use crate::dense::DenseMatrix;
    use crate::model::{linear_shape, Layer};

    /// A tiny model with deterministic pseudo-random weights.
    pub(crate) fn model() -> Model {
        let c = Preset::Tiny.config();
        let mut seed = 12345u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        let mut lin = |p: Proj| {
            let (n, k) = linear_shape(&c, p);
            let t: Vec<i8> = (0..n * k).map(|_| (next() % 3) as i8 - 1).collect();
            TernaryMatrix::from_ternary("w", n, k, &t, 1.0 / (k as f32).sqrt()).unwrap()
        };
        let layers = (0..c.num_layers)
            .map(|_| Layer::build(|n| Ok::<_, Error>(vec![1.0; n.dim(&c)]), |p| Ok(lin(p))))
            .collect::<Result<Vec<_>>>()
            .unwrap();
        let embed: Vec<f32> = (0..c.vocab_size * c.hidden_size)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 400.0)
            .collect();
        let embed = DenseMatrix::from_f32("embed", c.vocab_size, c.hidden_size, embed).unwrap();
        Model::new(c.clone(), embed, None, vec![1.0; c.hidden_size], layers).unwrap()
    }

    /// [`GROUPS_PER_LAYER`] is what a forward pass does, prompt or decode
    /// step (sharded co-simulation bounds its parts with it).
    #[test]
    fn each_layer_runs_groups_per_layer_groups_per_forward() {
        struct Count(usize);
        impl Backend for Count {
            fn name(&self) -> &str {
                "count"
            }
            fn matmul(&mut self, call: &LinearCall<'_>, out: &mut [i32]) -> Result<ExecStats> {
                GoldenBackend.matmul(call, out)
            }
            fn matmul_group(
                &mut self,
                calls: &[LinearCall<'_>],
                outs: &mut [Vec<i32>],
                stats: &mut [ExecStats],
            ) -> Result<()> {
                self.0 += 1;
                GoldenBackend.matmul_group(calls, outs, stats)
            }
        }
        let m = model();
        let layers = m.config().num_layers;
        let mut s = Session::new(&m);
        let mut b = Count(0);
        s.forward(&mut b, &[1, 2, 3], Logits::Last).unwrap();
        assert_eq!(b.0, layers * GROUPS_PER_LAYER, "prompt");
        s.forward(&mut b, &[4], Logits::Last).unwrap();
        assert_eq!(b.0, 2 * layers * GROUPS_PER_LAYER, "decode step");
    }

    /// Reused rows (of another length, holding other values, more or fewer
    /// of them) give the logits of a fresh `forward`, bit for bit.
    #[test]
    fn forward_into_reused_rows_equals_forward() {
        let m = model();
        let bits = |rows: &[Vec<f32>]| -> Vec<Vec<u32>> {
            rows.iter()
                .map(|r| r.iter().map(|v| v.to_bits()).collect())
                .collect()
        };
        let (mut a, mut b) = (Session::new(&m), Session::new(&m));
        let mut rows = vec![vec![f32::NAN; 3]; 5];
        let steps: [(&[u32], Logits); 4] = [
            (&[5, 6, 7], Logits::All),
            (&[8], Logits::Last),
            (&[9, 10], Logits::All),
            (&[11], Logits::Last),
        ];
        for (tokens, want) in steps {
            let fresh = a.forward(&mut GoldenBackend, tokens, want).unwrap();
            b.forward_into(&mut GoldenBackend, tokens, want, &mut rows)
                .unwrap();
            assert_eq!(bits(&rows), bits(&fresh), "{tokens:?}");
        }
    }

    /// `reserve` makes room for its positions (clamped to the context) up
    /// front: the steps that fill it move no cache row, and the logits are
    /// those of a session that grew as it went.
    #[test]
    fn reserved_positions_fill_without_reallocating() {
        let m = model();
        let c = m.config();
        for kv in [KvPrecision::F32, KvPrecision::F16] {
            let mut plain = Session::with_kv(&m, kv);
            let mut s = Session::with_kv(&m, kv);
            s.reserve(usize::MAX).unwrap();
            let cap = c.max_position_embeddings;
            assert!(s.cache.capacities().iter().all(|&n| n == cap), "{kv:?}");
            s.forward(&mut GoldenBackend, &[1, 2], Logits::Last)
                .unwrap();
            plain
                .forward(&mut GoldenBackend, &[1, 2], Logits::Last)
                .unwrap();
            s.reserve(4).unwrap();
            let before = s.cache.addrs();
            for t in 3..7 {
                let x = s.forward(&mut GoldenBackend, &[t], Logits::Last).unwrap();
                let y = plain
                    .forward(&mut GoldenBackend, &[t], Logits::Last)
                    .unwrap();
                assert!(x == y, "{kv:?} token {t}");
            }
            assert_eq!(s.cache.addrs(), before, "{kv:?}");
            assert_eq!(s.position(), 6);
            assert_eq!(s.kv_precision(), kv);
        }
    }

    /// A session fed a token at a time grows its cache by doubling (the
    /// head-major runs copied to larger buffers five times here) and gives
    /// the logits of one batch, bit for bit, in both element types.
    #[test]
    fn a_cache_grown_token_by_token_gives_the_batch_logits() {
        let m = model();
        let tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3];
        for kv in [KvPrecision::F32, KvPrecision::F16] {
            let batch = Session::with_kv(&m, kv)
                .forward(&mut GoldenBackend, &tokens, Logits::All)
                .unwrap();
            let mut s = Session::with_kv(&m, kv);
            let mut caps = Vec::new();
            for (i, &t) in tokens.iter().enumerate() {
                let row = s.forward(&mut GoldenBackend, &[t], Logits::Last).unwrap();
                assert!(row[0] == batch[i], "{kv:?} position {i}");
                caps.push(s.cache.capacities()[0]);
            }
            caps.dedup();
            assert_eq!(caps, [1, 2, 4, 8, 16, 32], "{kv:?}");
        }
    }

    #[test]
    fn earlier_positions_do_not_see_later_tokens() {
        let m = model();
        let one = Session::new(&m)
            .forward(&mut GoldenBackend, &[7], Logits::All)
            .unwrap();
        let three = Session::new(&m)
            .forward(&mut GoldenBackend, &[7, 99, 300], Logits::All)
            .unwrap();
        assert!(one[0] == three[0]);
        assert!(three[0] != three[2]);
    }

    #[test]
    fn replacing_weights_checks_the_shape_and_changes_the_output() {
        let mut m = model();
        let id = LinearId::new(1, Proj::Down);
        let wrong = TernaryMatrix::from_ternary("w", 2, 2, &[0; 4], 1.0).unwrap();
        let e = m.replace_linear(id, wrong).unwrap_err().to_string();
        assert!(e.contains("replacement for layer 1 down_proj"), "{e}");
        let before = Session::new(&m)
            .forward(&mut GoldenBackend, &[3, 4], Logits::All)
            .unwrap();
        // Negate layer 0's q_proj: same shape, different integers.
        let q = LinearId::new(0, Proj::Q);
        let old = m.linear(q).unwrap().clone();
        let neg: Vec<i8> = old.to_ternary().iter().map(|t| -t).collect();
        let neg = TernaryMatrix::from_ternary("neg", old.n(), old.k(), &neg, old.gamma()).unwrap();
        assert_eq!(m.replace_linear(q, neg).unwrap(), old);
        let after = Session::new(&m)
            .forward(&mut GoldenBackend, &[3, 4], Logits::All)
            .unwrap();
        assert!(before != after, "negating q_proj changed nothing");
    }

    #[test]
    fn statistics_count_every_bitlinear() {
        let m = model();
        let mut s = Session::new(&m);
        s.forward(&mut GoldenBackend, &[1, 2, 3], Logits::Last)
            .unwrap();
        s.forward(&mut GoldenBackend, &[4], Logits::Last).unwrap();
        assert_eq!(s.stats().len(), 2 * 7);
        let c = m.config();
        let q = s.stats()[&LinearId::new(0, Proj::Q)];
        assert_eq!(q.calls, 2);
        assert_eq!(q.macs, 4 * (c.q_dim() * c.hidden_size) as u64);
        assert_eq!(q.adds + q.zero_skips, q.macs);
    }

    /// Golden BitLinears, a head that fails.
    struct FailingHead;

    impl Backend for FailingHead {
        fn name(&self) -> &str {
            "failing-head"
        }
        fn matmul(&mut self, call: &LinearCall<'_>, out: &mut [i32]) -> Result<ExecStats> {
            GoldenBackend.matmul(call, out)
        }
        fn logits(&mut self, _: &DenseMatrix, _: &[f32], _: &mut [f32]) -> Result<()> {
            Err(Error::backend("failing-head", "lm_head", "planted failure"))
        }
    }

    /// Regression: an error in the head (after every layer had appended its
    /// keys and values) used to leave the cache one batch longer.
    #[test]
    fn a_failing_head_leaves_the_cache_as_it_was() {
        let m = model();
        let mut s = Session::new(&m);
        s.forward(&mut GoldenBackend, &[1, 2], Logits::Last)
            .unwrap();
        let e = s.forward(&mut FailingHead, &[3], Logits::Last).unwrap_err();
        let cause = std::error::Error::source(&e).map(|c| c.to_string());
        assert_eq!(cause.as_deref(), Some("planted failure"), "{e}");
        assert_eq!(s.position(), 2);
        let after = s.forward(&mut GoldenBackend, &[4], Logits::Last).unwrap();
        let mut fresh = Session::new(&m);
        fresh
            .forward(&mut GoldenBackend, &[1, 2], Logits::Last)
            .unwrap();
        let want = fresh
            .forward(&mut GoldenBackend, &[4], Logits::Last)
            .unwrap();
        assert!(after == want, "the failed batch left keys or values behind");
    }
}
