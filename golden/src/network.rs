//! The b1.58 decoder network (microsoft/bitnet-b1.58-2B-4T architecture).
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

use crate::backend::{Backend, ExecStats, LinearCall, LinearId, Proj};
use crate::config::ModelConfig;
use crate::error::{check_finite, shape_err, Error, Result};
use crate::ops::{dot, rms_norm, softmax, DenseMatrix, Rope};
use crate::quant::{dequantize, quantize_activations};
use crate::ternary::TernaryMatrix;

/// The weights of one decoder layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub input_norm: Vec<f32>,
    pub q: TernaryMatrix,
    pub k: TernaryMatrix,
    pub v: TernaryMatrix,
    pub attn_sub_norm: Vec<f32>,
    pub o: TernaryMatrix,
    pub post_attn_norm: Vec<f32>,
    pub gate: TernaryMatrix,
    pub up: TernaryMatrix,
    pub ffn_sub_norm: Vec<f32>,
    pub down: TernaryMatrix,
}

impl Layer {
    /// The ternary matrix of projection `p`.
    pub fn linear(&self, p: Proj) -> &TernaryMatrix {
        match p {
            Proj::Q => &self.q,
            Proj::K => &self.k,
            Proj::V => &self.v,
            Proj::O => &self.o,
            Proj::Gate => &self.gate,
            Proj::Up => &self.up,
            Proj::Down => &self.down,
        }
    }
}

/// Expected `(n, k)` of projection `p` under `c`.
pub fn linear_shape(c: &ModelConfig, p: Proj) -> (usize, usize) {
    let (h, i) = (c.hidden_size, c.intermediate_size);
    match p {
        Proj::Q => (c.q_dim(), h),
        Proj::K | Proj::V => (c.kv_dim(), h),
        Proj::O => (h, c.q_dim()),
        Proj::Gate | Proj::Up => (i, h),
        Proj::Down => (h, i),
    }
}

/// A whole b1.58 model: config, embedding, layers, final norm, optional
/// untied head.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    config: ModelConfig,
    embed: DenseMatrix,
    lm_head: Option<DenseMatrix>,
    final_norm: Vec<f32>,
    layers: Vec<Layer>,
}

fn check_vec(what: String, v: &[f32], len: usize) -> Result<()> {
    if v.len() != len {
        return Err(shape_err(what, len, v.len()));
    }
    check_finite(&what, v)
}

impl Model {
    /// Assembles a model, checking every shape against the config and every
    /// norm weight for finiteness.
    pub fn new(
        config: ModelConfig,
        embed: DenseMatrix,
        lm_head: Option<DenseMatrix>,
        final_norm: Vec<f32>,
        layers: Vec<Layer>,
    ) -> Result<Model> {
        config.validate()?;
        let c = &config;
        let dense = |what: &str, m: &DenseMatrix| {
            if (m.rows(), m.cols()) != (c.vocab_size, c.hidden_size) {
                return Err(shape_err(
                    what,
                    format!("[{}, {}]", c.vocab_size, c.hidden_size),
                    format!("[{}, {}]", m.rows(), m.cols()),
                ));
            }
            Ok(())
        };
        dense("model.embed_tokens.weight", &embed)?;
        if let Some(h) = &lm_head {
            dense("lm_head.weight", h)?;
        }
        check_vec("model.norm.weight".into(), &final_norm, c.hidden_size)?;
        if layers.len() != c.num_layers {
            return Err(shape_err("decoder layers", c.num_layers, layers.len()));
        }
        for (l, layer) in layers.iter().enumerate() {
            let p = |s: &str| format!("model.layers.{l}.{s}");
            check_vec(
                p("input_layernorm.weight"),
                &layer.input_norm,
                c.hidden_size,
            )?;
            check_vec(
                p("self_attn.attn_sub_norm.weight"),
                &layer.attn_sub_norm,
                c.q_dim(),
            )?;
            check_vec(
                p("post_attention_layernorm.weight"),
                &layer.post_attn_norm,
                c.hidden_size,
            )?;
            check_vec(
                p("mlp.ffn_sub_norm.weight"),
                &layer.ffn_sub_norm,
                c.intermediate_size,
            )?;
            for proj in Proj::ALL {
                let (n, k) = linear_shape(c, proj);
                let w = layer.linear(proj);
                if (w.n(), w.k()) != (n, k) {
                    return Err(shape_err(
                        p(&format!("{}.{}.weight", proj.hf_module(), proj.hf_name())),
                        format!("{n} x {k} (out x in)"),
                        format!("{} x {}", w.n(), w.k()),
                    ));
                }
            }
        }
        Ok(Model {
            config,
            embed,
            lm_head,
            final_norm,
            layers,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }
    pub fn embed(&self) -> &DenseMatrix {
        &self.embed
    }
    /// The untied head, if the checkpoint has one.
    pub fn lm_head(&self) -> Option<&DenseMatrix> {
        self.lm_head.as_ref()
    }
    /// The matrix the logits are computed with (`lm_head` or the embedding).
    pub fn head(&self) -> &DenseMatrix {
        self.lm_head.as_ref().unwrap_or(&self.embed)
    }
    pub fn final_norm(&self) -> &[f32] {
        &self.final_norm
    }
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }
    /// Replaces one BitLinear's weights (fault planting, conversions); the
    /// new matrix must have the shape of the old one.
    pub fn replace_linear(&mut self, id: LinearId, w: TernaryMatrix) -> Result<TernaryMatrix> {
        let layer = self.layers.get_mut(id.layer).ok_or_else(|| {
            shape_err(
                "replace_linear layer",
                format!("< {}", self.config.num_layers),
                id.layer,
            )
        })?;
        let slot = match id.proj {
            Proj::Q => &mut layer.q,
            Proj::K => &mut layer.k,
            Proj::V => &mut layer.v,
            Proj::O => &mut layer.o,
            Proj::Gate => &mut layer.gate,
            Proj::Up => &mut layer.up,
            Proj::Down => &mut layer.down,
        };
        if (slot.n(), slot.k()) != (w.n(), w.k()) {
            return Err(shape_err(
                format!("replacement for {id}"),
                format!("{} x {}", slot.n(), slot.k()),
                format!("{} x {}", w.n(), w.k()),
            ));
        }
        Ok(std::mem::replace(slot, w))
    }
    /// The ternary matrix of a BitLinear.
    pub fn linear(&self, id: LinearId) -> Option<&TernaryMatrix> {
        self.layers.get(id.layer).map(|l| l.linear(id.proj))
    }
    /// Every BitLinear in execution order.
    pub fn linears(&self) -> impl Iterator<Item = (LinearId, &TernaryMatrix)> {
        self.layers.iter().enumerate().flat_map(|(layer, l)| {
            Proj::ALL
                .into_iter()
                .map(move |proj| (LinearId { layer, proj }, l.linear(proj)))
        })
    }
}

/// Which positions of a forward pass need logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// Logits of every token of the batch.
    All,
    /// Logits of the last token only (decoding).
    Last,
}

/// Keys and values of past positions, per layer (`len * kv_dim` f32 each).
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    len: usize,
}

impl KvCache {
    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
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
}

impl<'m> Session<'m> {
    pub fn new(model: &'m Model) -> Session<'m> {
        let c = model.config();
        Session {
            model,
            rope: Rope::new(c.head_dim, c.rope_theta),
            cache: KvCache {
                k: vec![Vec::new(); c.num_layers],
                v: vec![Vec::new(); c.num_layers],
                len: 0,
            },
            stats: StatsTable::new(),
        }
    }

    pub fn model(&self) -> &'m Model {
        self.model
    }
    /// Tokens processed so far (the next token's position).
    pub fn position(&self) -> usize {
        self.cache.len
    }
    /// Statistics per BitLinear since the session started.
    pub fn stats(&self) -> &StatsTable {
        &self.stats
    }
    /// Forgets all positions (the statistics are kept).
    pub fn reset(&mut self) {
        for (k, v) in self.cache.k.iter_mut().zip(&mut self.cache.v) {
            k.clear();
            v.clear();
        }
        self.cache.len = 0;
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
        let c = self.model.config().clone();
        if tokens.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        let start = self.cache.len;
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
        let hd = c.hidden_size;
        let mut h = vec![0.0f32; rows * hd];
        for (r, &t) in tokens.iter().enumerate() {
            self.model
                .embed()
                .row_into(t as usize, &mut h[r * hd..(r + 1) * hd]);
        }
        let saved = (self.cache.k.iter().map(Vec::len).collect::<Vec<_>>(), start);
        let result = self.run_layers(backend, &mut h, rows, start);
        if let Err(e) = result {
            for ((k, v), &len) in self.cache.k.iter_mut().zip(&mut self.cache.v).zip(&saved.0) {
                k.truncate(len);
                v.truncate(len);
            }
            self.cache.len = saved.1;
            return Err(e);
        }
        self.cache.len = start + rows;

        let first = match want {
            Logits::All => 0,
            Logits::Last => rows - 1,
        };
        let head = self.model.head();
        let mut normed = vec![0.0f32; hd];
        let mut out = Vec::with_capacity(rows - first);
        for r in first..rows {
            rms_norm(
                &h[r * hd..(r + 1) * hd],
                self.model.final_norm(),
                c.rms_norm_eps,
                &mut normed,
            );
            let mut logits = vec![0.0f32; c.vocab_size];
            backend.logits(head, &normed, &mut logits)?;
            check_finite(&format!("logits at position {}", start + r), &logits)?;
            out.push(logits);
        }
        Ok(out)
    }

    fn run_layers(
        &mut self,
        backend: &mut dyn Backend,
        h: &mut [f32],
        rows: usize,
        start: usize,
    ) -> Result<()> {
        let model = self.model;
        let c = model.config();
        let (hd, qd, kvd, id_) = (c.hidden_size, c.q_dim(), c.kv_dim(), c.intermediate_size);
        let eps = c.rms_norm_eps;
        let mut x = vec![0.0f32; rows * hd];
        for (l, layer) in model.layers().iter().enumerate() {
            let lin = |proj| LinearId { layer: l, proj };
            norm_rows(h, &layer.input_norm, eps, &mut x, hd);
            let qkv = [
                (lin(Proj::Q), &layer.q),
                (lin(Proj::K), &layer.k),
                (lin(Proj::V), &layer.v),
            ];
            let [mut q, mut k, v]: [Vec<f32>; 3] = self
                .bitlinear_group(backend, &qkv, &x, rows, start)?
                .try_into()
                .expect("three outputs");
            let rope = &self.rope;
            for (t, d) in [(&mut q, qd), (&mut k, kvd)] {
                each_row(t, d, |r, row| {
                    for head in row.chunks_exact_mut(c.head_dim) {
                        rope.apply(head, start + r);
                    }
                });
            }
            self.cache.k[l].extend_from_slice(&k);
            self.cache.v[l].extend_from_slice(&v);
            let a = attention(c, &q, &self.cache.k[l], &self.cache.v[l], rows, start);
            let mut an = vec![0.0f32; rows * qd];
            norm_rows(&a, &layer.attn_sub_norm, eps, &mut an, qd);
            let o = self.bitlinear(backend, lin(Proj::O), &layer.o, &an, rows, start)?;
            add_into(h, &o);

            norm_rows(h, &layer.post_attn_norm, eps, &mut x, hd);
            let gu = [(lin(Proj::Gate), &layer.gate), (lin(Proj::Up), &layer.up)];
            let [g, u]: [Vec<f32>; 2] = self
                .bitlinear_group(backend, &gu, &x, rows, start)?
                .try_into()
                .expect("two outputs");
            // relu(g)^2 * u, as transformers' ReLUSquaredActivation: r = relu(g); (r * r) * u.
            let m: Vec<f32> = g
                .iter()
                .zip(&u)
                .map(|(&gi, &ui)| {
                    let r = gi.max(0.0);
                    (r * r) * ui
                })
                .collect();
            let mut mn = vec![0.0f32; rows * id_];
            norm_rows(&m, &layer.ffn_sub_norm, eps, &mut mn, id_);
            let d = self.bitlinear(backend, lin(Proj::Down), &layer.down, &mn, rows, start)?;
            add_into(h, &d);
        }
        Ok(())
    }

    /// One W1.58A8 BitLinear on `rows` token rows: per-row int8
    /// quantization, integer matmul on the backend, per-row dequantization.
    fn bitlinear(
        &mut self,
        backend: &mut dyn Backend,
        id: LinearId,
        w: &TernaryMatrix,
        x: &[f32],
        rows: usize,
        first_pos: usize,
    ) -> Result<Vec<f32>> {
        let mut y = self.bitlinear_group(backend, &[(id, w)], x, rows, first_pos)?;
        Ok(y.pop().expect("one output per BitLinear"))
    }

    /// Several BitLinears reading the same input (q/k/v, gate/up): the input
    /// is quantized once (the same int8 rows and scales each would compute)
    /// and the integer matmuls go to the backend as one
    /// [`Backend::matmul_group`], which may run them as a single job.
    fn bitlinear_group(
        &mut self,
        backend: &mut dyn Backend,
        group: &[(LinearId, &TernaryMatrix)],
        x: &[f32],
        rows: usize,
        first_pos: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let (id, k) = (group[0].0, group[0].1.k());
        let mut q = vec![0i8; rows * k];
        let mut scales: Vec<Result<f32>> = (0..rows).map(|_| Ok(0.0)).collect();
        each_row2(&mut q, k, &mut scales, 1, |r, qr, sr| {
            sr[0] = quantize_activations(&x[r * k..(r + 1) * k], qr);
        });
        let scales = scales
            .into_iter()
            .enumerate()
            .map(|(r, s)| {
                s.map_err(|e| match e {
                    Error::NonFinite { index, value, .. } => Error::NonFinite {
                        what: format!("input activations of {id} at position {}", first_pos + r),
                        index,
                        value,
                    },
                    other => other,
                })
            })
            .collect::<Result<Vec<f32>>>()?;
        let calls: Vec<LinearCall> = group
            .iter()
            .map(|&(id, w)| LinearCall {
                id,
                weights: w,
                acts: &q,
                rows,
                first_pos,
            })
            .collect();
        let mut accs: Vec<Vec<i32>> = group
            .iter()
            .map(|(_, w)| vec![0i32; rows * w.n()])
            .collect();
        let stats = backend.matmul_group(&calls, &mut accs)?;
        let mut ys = Vec::with_capacity(group.len());
        for ((&(id, w), acc), st) in group.iter().zip(&accs).zip(stats) {
            *self.stats.entry(id).or_default() += st;
            let n = w.n();
            let mut y = vec![0.0f32; rows * n];
            let gamma = w.gamma();
            each_row(&mut y, n, |r, yr| {
                dequantize(&acc[r * n..(r + 1) * n], scales[r], gamma, yr)
            });
            ys.push(y);
        }
        Ok(ys)
    }
}

fn norm_rows(x: &[f32], w: &[f32], eps: f32, y: &mut [f32], d: usize) {
    each_row(y, d, |r, yr| rms_norm(&x[r * d..(r + 1) * d], w, eps, yr));
}

/// Runs `f(i, row)` for every `d`-sized row of `out`: on rayon's current
/// pool with the `parallel` feature, in order without it. Rows are
/// independent, so the results are the same bits either way.
fn each_row<T: Send>(out: &mut [T], d: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    #[cfg(feature = "parallel")]
    if out.len() > d {
        use rayon::prelude::*;
        out.par_chunks_mut(d).enumerate().for_each(|(i, c)| f(i, c));
        return;
    }
    // One row (a decode step) or no `parallel`: no fork-join.
    for (i, c) in out.chunks_mut(d).enumerate() {
        f(i, c);
    }
}

/// [`each_row`] over two outputs with rows of `da` and `db` elements.
fn each_row2<A: Send, B: Send>(
    a: &mut [A],
    da: usize,
    b: &mut [B],
    db: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync + Send,
) {
    #[cfg(feature = "parallel")]
    if a.len() > da {
        use rayon::prelude::*;
        a.par_chunks_mut(da)
            .zip(b.par_chunks_mut(db))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
        return;
    }
    for (i, (x, y)) in a.chunks_mut(da).zip(b.chunks_mut(db)).enumerate() {
        f(i, x, y);
    }
}

fn add_into(h: &mut [f32], d: &[f32]) {
    for (a, b) in h.iter_mut().zip(d) {
        *a += b;
    }
}

/// Causal grouped-query attention of `rows` new queries (positions
/// `start..start + rows`) against all cached keys/values (which already hold
/// the new rows). Query head `h` reads KV head `h / (heads / kv_heads)`.
/// Scores: `dot(q, k) * (1 / sqrt(head_dim))` (f32 scale); softmax as
/// [`softmax`]; output `o[d] = sum_j p_j v_j[d]` sequentially over `j`.
fn attention(
    c: &ModelConfig,
    q: &[f32],
    kc: &[f32],
    vc: &[f32],
    rows: usize,
    start: usize,
) -> Vec<f32> {
    let (hd, qd, kvd) = (c.head_dim, c.q_dim(), c.kv_dim());
    let group = c.num_heads / c.num_kv_heads;
    let scale = (1.0 / (hd as f64).sqrt()) as f32;
    let mut out = vec![0.0f32; rows * qd];
    // One output row per (token row, head): independent, so in parallel.
    each_row(&mut out, hd, |i, o| {
        let (r, h) = (i / c.num_heads, i % c.num_heads);
        let len = start + r + 1;
        let kvh = h / group;
        let qh = &q[r * qd + h * hd..r * qd + (h + 1) * hd];
        let mut scores: Vec<f32> = (0..len)
            .map(|j| dot(qh, &kc[j * kvd + kvh * hd..j * kvd + (kvh + 1) * hd]) * scale)
            .collect();
        softmax(&mut scores);
        for (j, &p) in scores.iter().enumerate() {
            let vj = &vc[j * kvd + kvh * hd..j * kvd + (kvh + 1) * hd];
            for (od, &vd) in o.iter_mut().zip(vj) {
                *od += p * vd;
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::GoldenBackend;
    use crate::config::Preset;

    /// A tiny model with deterministic pseudo-random weights.
    fn model() -> Model {
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
            .map(|_| Layer {
                input_norm: vec![1.0; c.hidden_size],
                q: lin(Proj::Q),
                k: lin(Proj::K),
                v: lin(Proj::V),
                attn_sub_norm: vec![1.0; c.q_dim()],
                o: lin(Proj::O),
                post_attn_norm: vec![1.0; c.hidden_size],
                gate: lin(Proj::Gate),
                up: lin(Proj::Up),
                ffn_sub_norm: vec![1.0; c.intermediate_size],
                down: lin(Proj::Down),
            })
            .collect();
        let embed: Vec<f32> = (0..c.vocab_size * c.hidden_size)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 400.0)
            .collect();
        let embed = DenseMatrix::from_f32("embed", c.vocab_size, c.hidden_size, embed).unwrap();
        Model::new(c.clone(), embed, None, vec![1.0; c.hidden_size], layers).unwrap()
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
    fn gqa_query_heads_share_kv_heads_in_groups() {
        // One position: softmax over one key is 1, so each query head outputs its KV head's value.
        let c = Preset::Tiny.config(); // 4 query heads, 2 KV heads, head_dim 16
        let q = vec![0.5f32; c.q_dim()];
        let k = vec![0.25f32; c.kv_dim()];
        let v: Vec<f32> = (0..c.kv_dim()).map(|i| i as f32).collect();
        let out = attention(&c, &q, &k, &v, 1, 0);
        for h in 0..c.num_heads {
            let kvh = h / 2;
            assert_eq!(
                &out[h * 16..(h + 1) * 16],
                &v[kvh * 16..(kvh + 1) * 16],
                "head {h}"
            );
        }
    }

    #[test]
    fn replacing_weights_checks_the_shape_and_changes_the_output() {
        let mut m = model();
        let id = LinearId {
            layer: 1,
            proj: Proj::Down,
        };
        let wrong = TernaryMatrix::from_ternary("w", 2, 2, &[0; 4], 1.0).unwrap();
        let e = m.replace_linear(id, wrong).unwrap_err().to_string();
        assert!(e.contains("replacement for layer 1 down_proj"), "{e}");
        let before = Session::new(&m)
            .forward(&mut GoldenBackend, &[3, 4], Logits::All)
            .unwrap();
        // Negate layer 0's q_proj: same shape, different integers.
        let q = LinearId {
            layer: 0,
            proj: Proj::Q,
        };
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
        let q = s.stats()[&LinearId {
            layer: 0,
            proj: Proj::Q,
        }];
        assert_eq!(q.calls, 2);
        assert_eq!(q.macs, 4 * (c.q_dim() * c.hidden_size) as u64);
        assert_eq!(q.adds + q.zero_skips, q.macs);
    }
}
