//! The weights of a b1.58 model (microsoft/bitnet-b1.58-2B-4T architecture)
//! and the names of its parts: [`Proj`] (the seven BitLinears of a layer),
//! [`Norm`] (its four RMSNorms), [`Layer`] and [`Model`]. The tensor names
//! of both checkpoint formats (Hugging Face and GGUF) are defined here, once.

use crate::config::ModelConfig;
use crate::dense::DenseMatrix;
use crate::error::{check_finite, shape_err, Result};
use crate::ternary::TernaryMatrix;

/// The seven BitLinear projections of a b1.58 decoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proj {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Proj {
    /// All projections in execution order.
    pub const ALL: [Proj; 7] = [
        Proj::Q,
        Proj::K,
        Proj::V,
        Proj::O,
        Proj::Gate,
        Proj::Up,
        Proj::Down,
    ];

    /// Position in [`Proj::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The Hugging Face module name (`q_proj`, ..., `down_proj`).
    pub const fn hf_name(self) -> &'static str {
        match self {
            Proj::Q => "q_proj",
            Proj::K => "k_proj",
            Proj::V => "v_proj",
            Proj::O => "o_proj",
            Proj::Gate => "gate_proj",
            Proj::Up => "up_proj",
            Proj::Down => "down_proj",
        }
    }

    /// The Hugging Face parent module (`self_attn` or `mlp`).
    pub const fn hf_module(self) -> &'static str {
        match self {
            Proj::Q | Proj::K | Proj::V | Proj::O => "self_attn",
            Proj::Gate | Proj::Up | Proj::Down => "mlp",
        }
    }

    /// The llama.cpp (GGUF) tensor stem (`attn_q`, ..., `ffn_down`).
    pub const fn gguf_name(self) -> &'static str {
        match self {
            Proj::Q => "attn_q",
            Proj::K => "attn_k",
            Proj::V => "attn_v",
            Proj::O => "attn_output",
            Proj::Gate => "ffn_gate",
            Proj::Up => "ffn_up",
            Proj::Down => "ffn_down",
        }
    }

    /// The projection called `s`: its Hugging Face name (`up_proj`) or that
    /// name without `_proj` (`up`).
    pub fn parse(s: &str) -> Option<Proj> {
        Proj::ALL
            .into_iter()
            .find(|p| p.hf_name() == s || p.hf_name().trim_end_matches("_proj") == s)
    }

    /// Hugging Face name of the weight in layer `l`.
    pub fn hf_tensor(self, l: usize) -> String {
        format!(
            "model.layers.{l}.{}.{}.weight",
            self.hf_module(),
            self.hf_name()
        )
    }

    /// Hugging Face name of the packed weight's scale in layer `l`.
    pub fn hf_scale_tensor(self, l: usize) -> String {
        format!(
            "model.layers.{l}.{}.{}.weight_scale",
            self.hf_module(),
            self.hf_name()
        )
    }

    /// GGUF name of the weight in layer `l`.
    pub fn gguf_tensor(self, l: usize) -> String {
        format!("blk.{l}.{}.weight", self.gguf_name())
    }

    /// `(n, k)` = (outputs, inputs) of this projection under `c`.
    pub fn shape(self, c: &ModelConfig) -> (usize, usize) {
        let (h, i) = (c.hidden_size, c.intermediate_size);
        match self {
            Proj::Q => (c.q_dim(), h),
            Proj::K | Proj::V => (c.kv_dim(), h),
            Proj::O => (h, c.q_dim()),
            Proj::Gate | Proj::Up => (i, h),
            Proj::Down => (h, i),
        }
    }
}

/// Expected `(n, k)` of projection `p` under `c` (= [`Proj::shape`]).
pub fn linear_shape(c: &ModelConfig, p: Proj) -> (usize, usize) {
    p.shape(c)
}

/// The four RMSNorms of a decoder layer, in execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Norm {
    /// Before q/k/v (`input_layernorm`).
    Input,
    /// Between attention and `o_proj` (`self_attn.attn_sub_norm`).
    AttnSub,
    /// Before gate/up (`post_attention_layernorm`).
    PostAttn,
    /// Between `relu(gate)^2 * up` and `down_proj` (`mlp.ffn_sub_norm`).
    FfnSub,
}

impl Norm {
    /// All norms in execution order.
    pub const ALL: [Norm; 4] = [Norm::Input, Norm::AttnSub, Norm::PostAttn, Norm::FfnSub];

    /// Position in [`Norm::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Hugging Face module path inside a layer.
    pub const fn hf_name(self) -> &'static str {
        match self {
            Norm::Input => "input_layernorm",
            Norm::AttnSub => "self_attn.attn_sub_norm",
            Norm::PostAttn => "post_attention_layernorm",
            Norm::FfnSub => "mlp.ffn_sub_norm",
        }
    }

    /// The llama.cpp (GGUF) tensor stem.
    pub const fn gguf_name(self) -> &'static str {
        match self {
            Norm::Input => "attn_norm",
            Norm::AttnSub => "attn_sub_norm",
            Norm::PostAttn => "ffn_norm",
            Norm::FfnSub => "ffn_sub_norm",
        }
    }

    /// Hugging Face name of the weight in layer `l`.
    pub fn hf_tensor(self, l: usize) -> String {
        format!("model.layers.{l}.{}.weight", self.hf_name())
    }

    /// GGUF name of the weight in layer `l`.
    pub fn gguf_tensor(self, l: usize) -> String {
        format!("blk.{l}.{}.weight", self.gguf_name())
    }

    /// Length of the weight under `c`.
    pub fn dim(self, c: &ModelConfig) -> usize {
        match self {
            Norm::Input | Norm::PostAttn => c.hidden_size,
            Norm::AttnSub => c.q_dim(),
            Norm::FfnSub => c.intermediate_size,
        }
    }
}

/// Which BitLinear of the network a call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinearId {
    pub layer: usize,
    pub proj: Proj,
}

impl LinearId {
    /// Projection `proj` of layer `layer`.
    pub const fn new(layer: usize, proj: Proj) -> LinearId {
        LinearId { layer, proj }
    }
}

impl std::fmt::Display for LinearId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "layer {} {}", self.layer, self.proj.hf_name())
    }
}

/// The weights of one decoder layer: four norm weights and seven ternary
/// matrices, indexed by [`Norm`] and [`Proj`].
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    norms: [Vec<f32>; 4],
    linears: [TernaryMatrix; 7],
}

impl Layer {
    /// A layer from its norms (in [`Norm::ALL`] order) and BitLinears (in
    /// [`Proj::ALL`] order). Shapes are checked by [`Model::new`].
    pub fn new(norms: [Vec<f32>; 4], linears: [TernaryMatrix; 7]) -> Layer {
        Layer { norms, linears }
    }

    /// A layer built part by part, norms then projections, each in execution
    /// order; the first error stops it.
    pub fn build<E>(
        mut norm: impl FnMut(Norm) -> std::result::Result<Vec<f32>, E>,
        mut linear: impl FnMut(Proj) -> std::result::Result<TernaryMatrix, E>,
    ) -> std::result::Result<Layer, E> {
        let [n0, n1, n2, n3] = Norm::ALL;
        let norms = [norm(n0)?, norm(n1)?, norm(n2)?, norm(n3)?];
        let [q, k, v, o, g, u, d] = Proj::ALL;
        let linears = [
            linear(q)?,
            linear(k)?,
            linear(v)?,
            linear(o)?,
            linear(g)?,
            linear(u)?,
            linear(d)?,
        ];
        Ok(Layer { norms, linears })
    }

    /// The ternary matrix of projection `p`.
    pub fn linear(&self, p: Proj) -> &TernaryMatrix {
        &self.linears[p.index()]
    }

    /// The weight of norm `n`.
    pub fn norm(&self, n: Norm) -> &[f32] {
        &self.norms[n.index()]
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

/// Name of the embedding tensor (Hugging Face).
pub const HF_EMBED: &str = "model.embed_tokens.weight";
/// Name of the untied head tensor (Hugging Face).
pub const HF_LM_HEAD: &str = "lm_head.weight";
/// Name of the final norm's weight (Hugging Face).
pub const HF_FINAL_NORM: &str = "model.norm.weight";

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
        dense(HF_EMBED, &embed)?;
        if let Some(h) = &lm_head {
            dense(HF_LM_HEAD, h)?;
        }
        check_vec(HF_FINAL_NORM.into(), &final_norm, c.hidden_size)?;
        if layers.len() != c.num_layers {
            return Err(shape_err("decoder layers", c.num_layers, layers.len()));
        }
        for (l, layer) in layers.iter().enumerate() {
            for n in Norm::ALL {
                check_vec(n.hf_tensor(l), layer.norm(n), n.dim(c))?;
            }
            for proj in Proj::ALL {
                let (n, k) = proj.shape(c);
                let w = layer.linear(proj);
                if (w.n(), w.k()) != (n, k) {
                    return Err(shape_err(
                        proj.hf_tensor(l),
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
        let layers = self.layers.len();
        let layer = self
            .layers
            .get_mut(id.layer)
            .ok_or_else(|| shape_err("replace_linear layer", format!("< {layers}"), id.layer))?;
        let slot = &mut layer.linears[id.proj.index()];
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_both_formats() {
        assert_eq!(Proj::Up.hf_tensor(3), "model.layers.3.mlp.up_proj.weight");
        assert_eq!(
            Proj::O.hf_scale_tensor(0),
            "model.layers.0.self_attn.o_proj.weight_scale"
        );
        assert_eq!(Proj::O.gguf_tensor(2), "blk.2.attn_output.weight");
        assert_eq!(
            Norm::AttnSub.hf_tensor(1),
            "model.layers.1.self_attn.attn_sub_norm.weight"
        );
        assert_eq!(Norm::PostAttn.gguf_tensor(1), "blk.1.ffn_norm.weight");
        for (i, p) in Proj::ALL.into_iter().enumerate() {
            assert_eq!(p.index(), i);
            assert_eq!(Proj::parse(p.hf_name()), Some(p));
        }
        assert_eq!(Proj::parse("gate"), Some(Proj::Gate));
        assert_eq!(Proj::parse("gat"), None);
        for (i, n) in Norm::ALL.into_iter().enumerate() {
            assert_eq!(n.index(), i);
        }
    }
}
