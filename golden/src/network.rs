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
    scratch: Scratch,
}

/// The buffers of a forward pass, kept by the session: once they have grown
/// to the largest batch, a decode step allocates nothing in the network
/// code (the KV cache grows amortized; the logits rows returned are the
/// caller's).
#[derive(Debug, Clone, Default)]
struct Scratch {
    h: Vec<f32>,
    x: Vec<f32>,
    normed: Vec<f32>,
    att: Vec<f32>,
    /// Attention work rows (each head's output and scores).
    att_work: Vec<f32>,
    an: Vec<f32>,
    m: Vec<f32>,
    mn: Vec<f32>,
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
            scratch: Scratch::default(),
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
        let c = self.model.config();
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
        let mut s = std::mem::take(&mut self.scratch);
        s.h.clear();
        s.h.resize(rows * hd, 0.0);
        for (r, &t) in tokens.iter().enumerate() {
            self.model
                .embed()
                .row_into(t as usize, &mut s.h[r * hd..(r + 1) * hd]);
        }
        let kvd = c.kv_dim();
        let result = self.run_layers(backend, &mut s, rows, start);
        if let Err(e) = result {
            // Every layer's cache holds `len * kv_dim` values: back to `start`.
            for (k, v) in self.cache.k.iter_mut().zip(&mut self.cache.v) {
                k.truncate(start * kvd);
                v.truncate(start * kvd);
            }
            self.scratch = s;
            return Err(e);
        }
        self.cache.len = start + rows;

        let first = match want {
            Logits::All => 0,
            Logits::Last => rows - 1,
        };
        let head = self.model.head();
        s.normed.clear();
        s.normed.resize(hd, 0.0);
        let mut out = Vec::with_capacity(rows - first);
        let mut result = Ok(());
        for r in first..rows {
            rms_norm(
                &s.h[r * hd..(r + 1) * hd],
                self.model.final_norm(),
                c.rms_norm_eps,
                &mut s.normed,
            );
            let mut logits = vec![0.0f32; c.vocab_size];
            result = backend.logits(head, &s.normed, &mut logits).and_then(|()| {
                if logits.iter().all(|v| v.is_finite()) {
                    Ok(())
                } else {
                    check_finite(&format!("logits at position {}", start + r), &logits)
                }
            });
            if result.is_err() {
                break;
            }
            out.push(logits);
        }
        self.scratch = s;
        result.map(|()| out)
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
        let (hd, qd, kvd, id_) = (c.hidden_size, c.q_dim(), c.kv_dim(), c.intermediate_size);
        let eps = c.rms_norm_eps;
        s.x.clear();
        s.x.resize(rows * hd, 0.0);
        for buf in [&mut s.att, &mut s.an] {
            buf.clear();
            buf.resize(rows * qd, 0.0);
        }
        for buf in [&mut s.m, &mut s.mn] {
            buf.clear();
            buf.resize(rows * id_, 0.0);
        }
        let hdim = c.head_dim;
        s.rope_cs.clear();
        s.rope_cs.resize(rows * hdim, 0.0);
        each_row(&mut s.rope_cs, hdim, |r, cs| {
            self.rope.angles(start + r, cs)
        });
        let stats = &mut self.stats;
        for (l, layer) in model.layers().iter().enumerate() {
            let lin = |proj| LinearId { layer: l, proj };
            norm_rows(&s.h, &layer.input_norm, eps, &mut s.x, hd);
            let qkv = [
                (lin(Proj::Q), &layer.q),
                (lin(Proj::K), &layer.k),
                (lin(Proj::V), &layer.v),
            ];
            bitlinear_group(stats, backend, &qkv, &s.x, rows, start, &mut s.lin)?;
            let [q, k, v] = &mut s.lin.y;
            let (rope, cs) = (&self.rope, &s.rope_cs);
            for (t, d) in [(&mut *q, qd), (&mut *k, kvd)] {
                each_row(t, d, |r, row| {
                    for head in row.chunks_exact_mut(hdim) {
                        rope.rotate(head, &cs[r * hdim..(r + 1) * hdim]);
                    }
                });
            }
            self.cache.k[l].extend_from_slice(k);
            self.cache.v[l].extend_from_slice(v);
            attention(
                c,
                q,
                &self.cache.k[l],
                &self.cache.v[l],
                rows,
                start,
                &mut s.att,
                &mut s.att_work,
                backend,
            );
            norm_rows(&s.att, &layer.attn_sub_norm, eps, &mut s.an, qd);
            bitlinear_group(
                stats,
                backend,
                &[(lin(Proj::O), &layer.o)],
                &s.an,
                rows,
                start,
                &mut s.lin,
            )?;
            add_into(&mut s.h, &s.lin.y[0]);

            norm_rows(&s.h, &layer.post_attn_norm, eps, &mut s.x, hd);
            let gu = [(lin(Proj::Gate), &layer.gate), (lin(Proj::Up), &layer.up)];
            bitlinear_group(stats, backend, &gu, &s.x, rows, start, &mut s.lin)?;
            // relu(g)^2 * u, as transformers' ReLUSquaredActivation: r = relu(g); (r * r) * u.
            for ((mi, &gi), &ui) in s.m.iter_mut().zip(&s.lin.y[0]).zip(&s.lin.y[1]) {
                let r = gi.max(0.0);
                *mi = (r * r) * ui;
            }
            norm_rows(&s.m, &layer.ffn_sub_norm, eps, &mut s.mn, id_);
            bitlinear_group(
                stats,
                backend,
                &[(lin(Proj::Down), &layer.down)],
                &s.mn,
                rows,
                start,
                &mut s.lin,
            )?;
            add_into(&mut s.h, &s.lin.y[0]);
        }
        Ok(())
    }
}

/// W1.58A8 BitLinears reading the same input (one, or q/k/v, gate/up): per
/// row int8 quantization (once for the group: each would compute the same
/// int8 rows and scales), the integer matmuls on the backend as one
/// [`Backend::matmul_group`] (which may run them as a single job), per-row
/// dequantization into `b.y[i]`.
fn bitlinear_group(
    stats: &mut StatsTable,
    backend: &mut dyn Backend,
    group: &[(LinearId, &TernaryMatrix)],
    x: &[f32],
    rows: usize,
    first_pos: usize,
    b: &mut LinearBufs,
) -> Result<()> {
    let g = group.len();
    debug_assert!((1..=3).contains(&g));
    let (id, k) = (group[0].0, group[0].1.k());
    b.q.clear();
    b.q.resize(rows * k, 0);
    b.scale_res.clear();
    b.scale_res.extend((0..rows).map(|_| Ok(0.0)));
    each_row2(&mut b.q, k, &mut b.scale_res, 1, |r, qr, sr| {
        sr[0] = quantize_activations(&x[r * k..(r + 1) * k], qr);
    });
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
    let call = |i: usize| LinearCall {
        id: group[i].0,
        weights: group[i].1,
        acts: q,
        rows,
        first_pos,
    };
    let calls = [call(0), call(g.min(2) - 1), call(g - 1)];
    for (acc, &(_, w)) in b.acc.iter_mut().zip(group) {
        acc.clear();
        acc.resize(rows * w.n(), 0);
    }
    backend.matmul_group(&calls[..g], &mut b.acc[..g], &mut b.stats[..g])?;
    for (i, &(id, w)) in group.iter().enumerate() {
        *stats.entry(id).or_default() += b.stats[i];
        let n = w.n();
        let (acc, y, scales) = (&b.acc[i], &mut b.y[i], &b.scales);
        y.clear();
        y.resize(rows * n, 0.0);
        let gamma = w.gamma();
        each_row(y, n, |r, yr| {
            dequantize(&acc[r * n..(r + 1) * n], scales[r], gamma, yr)
        });
    }
    Ok(())
}

fn norm_rows(x: &[f32], w: &[f32], eps: f32, y: &mut [f32], d: usize) {
    each_row(y, d, |r, yr| rms_norm(&x[r * d..(r + 1) * d], w, eps, yr));
}

/// Runs `f(i, row)` for every `d`-sized row of `out`: on rayon's current
/// pool with the `parallel` feature, in order without it. Rows are
/// independent, so the results are the same bits either way.
pub fn each_row<T: Send>(out: &mut [T], d: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
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

/// One attention head's view of the KV cache: position `j`'s vector is
/// `data[j * stride + off..j * stride + off + len]`.
#[derive(Debug, Clone, Copy)]
pub struct HeadView<'a> {
    pub data: &'a [f32],
    pub stride: usize,
    pub off: usize,
    pub len: usize,
}

impl<'a> HeadView<'a> {
    /// The vector of position `j`.
    #[inline]
    pub fn at(&self, j: usize) -> &'a [f32] {
        &self.data[j * self.stride + self.off..j * self.stride + self.off + self.len]
    }
}

/// The work of one (query row, head) pair: `scores` (length = positions
/// attended) and `out` (head_dim, zeroed) are written. See [`attend_head`].
pub type HeadFn = fn(
    q: &[f32],
    k: HeadView<'_>,
    v: HeadView<'_>,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
);

/// The golden order of one head: `s_j = dot(q, k_j) * scale` ([`dot`]'s
/// pinned order, f32 scale), [`softmax`], then `out[d] += p_j * v_j[d]`
/// sequentially over `j` (multiply, then add; `out` starts at zero).
pub fn attend_head(
    q: &[f32],
    k: HeadView<'_>,
    v: HeadView<'_>,
    scale: f32,
    sc: &mut [f32],
    o: &mut [f32],
) {
    for (j, s) in sc.iter_mut().enumerate() {
        *s = dot(q, k.at(j)) * scale;
    }
    softmax(sc);
    for (j, &p) in sc.iter().enumerate() {
        for (od, &vd) in o.iter_mut().zip(v.at(j)) {
            *od += p * vd;
        }
    }
}

/// Causal grouped-query attention of `rows` new queries (positions
/// `start..start + rows`) against all cached keys/values (which already hold
/// the new rows). Query head `h` reads KV head `h / (heads / kv_heads)`.
/// Each (row, head) is computed by [`Backend::attention_head`] (the golden
/// [`attend_head`] or a backend's bit-identical version), the pairs spread
/// over threads by [`Backend::for_each_row`].
#[allow(clippy::too_many_arguments)]
pub fn attention(
    c: &ModelConfig,
    q: &[f32],
    kc: &[f32],
    vc: &[f32],
    rows: usize,
    start: usize,
    out: &mut Vec<f32>,
    work: &mut Vec<f32>,
    backend: &mut dyn Backend,
) {
    let (hd, qd, kvd) = (c.head_dim, c.q_dim(), c.kv_dim());
    let group = c.num_heads / c.num_kv_heads;
    let scale = (1.0 / (hd as f64).sqrt()) as f32;
    let max_len = start + rows;
    let head = backend.attention_head();
    // One work row per (token row, head): its output, then its scores.
    // Independent, so the backend may run them in parallel.
    let w = hd + max_len;
    work.clear();
    work.resize(rows * c.num_heads * w, 0.0);
    backend.for_each_row(work, w, &|i, row| {
        let (r, h) = (i / c.num_heads, i % c.num_heads);
        let len = start + r + 1;
        let kvh = h / group;
        let qh = &q[r * qd + h * hd..r * qd + (h + 1) * hd];
        let view = |data| HeadView {
            data,
            stride: kvd,
            off: kvh * hd,
            len: hd,
        };
        let (o, sc) = row.split_at_mut(hd);
        head(qh, view(kc), view(vc), scale, &mut sc[..len], o);
    });
    out.clear();
    out.resize(rows * qd, 0.0);
    for (o, row) in out.chunks_exact_mut(hd).zip(work.chunks_exact(w)) {
        o.copy_from_slice(&row[..hd]);
    }
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
        let (mut out, mut work) = (Vec::new(), Vec::new());
        attention(
            &c,
            &q,
            &k,
            &v,
            1,
            0,
            &mut out,
            &mut work,
            &mut GoldenBackend,
        );
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
