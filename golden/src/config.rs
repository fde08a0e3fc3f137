//! Model configuration: the shape of a BitNet b1.58 network, its presets and
//! the checks that keep every later step in range.

use crate::error::{Error, Result};

/// How a checkpoint's `weight_scale` becomes the golden `gamma`.
///
/// transformers reads `quantization_config.linear_class`: `autobitlinear`
/// (the published 2B4T config) multiplies the output by `weight_scale`,
/// `bitlinear` divides by it. tritium follows the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleConvention {
    /// `autobitlinear`: gamma = weight_scale.
    Multiply,
    /// `bitlinear`: gamma = 1 / weight_scale.
    Divide,
}

/// Shape and hyper-parameters of a b1.58 network (the fields of HF `config.json`
/// that the architecture of microsoft/bitnet-b1.58-2B-4T uses).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub rope_theta: f64,
    pub rms_norm_eps: f32,
    pub max_position_embeddings: usize,
    pub tie_word_embeddings: bool,
    /// Beginning-of-text token, if the checkpoint names one (only the
    /// tokenizer uses it; the network does not).
    pub bos_token_id: Option<u32>,
    /// End-of-text token, if the checkpoint names one: generation stops
    /// there (without one it runs to its token budget).
    pub eos_token_id: Option<u32>,
}

/// Built-in model shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// 2 layers, hidden 64: a forward pass takes milliseconds (tests, demos).
    Tiny,
    /// 4 layers, hidden 256: still quick, big enough to exercise tiling.
    Small,
    /// The real shape of microsoft/bitnet-b1.58-2B-4T.
    B2b4t,
    /// 2 layers, hidden 256, intermediate 512: as quick as `tiny`, but every
    /// BitLinear input width is a multiple of 256, which llama.cpp's
    /// 256-element TQ1_0/TQ2_0 blocks need.
    Tiny256,
}

impl Preset {
    /// All presets, in size order.
    pub const ALL: [Preset; 4] = [Preset::Tiny, Preset::Small, Preset::B2b4t, Preset::Tiny256];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Small => "small",
            Preset::B2b4t => "2b4t",
            Preset::Tiny256 => "tiny256",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The configuration of this preset.
    pub fn config(self) -> ModelConfig {
        match self {
            Preset::Tiny => ModelConfig {
                vocab_size: 512,
                hidden_size: 64,
                intermediate_size: 172,
                num_layers: 2,
                num_heads: 4,
                num_kv_heads: 2,
                head_dim: 16,
                rope_theta: 10_000.0,
                rms_norm_eps: 1e-5,
                max_position_embeddings: 256,
                tie_word_embeddings: true,
                bos_token_id: Some(510),
                eos_token_id: Some(511),
            },
            Preset::Small => ModelConfig {
                vocab_size: 2048,
                hidden_size: 256,
                intermediate_size: 692,
                num_layers: 4,
                num_heads: 8,
                num_kv_heads: 2,
                head_dim: 32,
                rope_theta: 500_000.0,
                rms_norm_eps: 1e-5,
                max_position_embeddings: 1024,
                tie_word_embeddings: true,
                bos_token_id: Some(2046),
                eos_token_id: Some(2047),
            },
            Preset::B2b4t => ModelConfig {
                vocab_size: 128_256,
                hidden_size: 2560,
                intermediate_size: 6912,
                num_layers: 30,
                num_heads: 20,
                num_kv_heads: 5,
                head_dim: 128,
                rope_theta: 500_000.0,
                rms_norm_eps: 1e-5,
                max_position_embeddings: 4096,
                tie_word_embeddings: true,
                bos_token_id: Some(128_000),
                eos_token_id: Some(128_001),
            },
            // Tiny with every K a multiple of 256 (llama.cpp's TQ blocks).
            Preset::Tiny256 => ModelConfig {
                hidden_size: 256,
                intermediate_size: 512,
                head_dim: 64,
                ..Preset::Tiny.config()
            },
        }
    }
}

fn bad(field: &'static str, value: impl ToString, reason: impl Into<String>) -> Error {
    Error::Config {
        field,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Most decoder layers a config may have (the largest published b1.58 and
/// LLaMA shapes have 80): a bigger number is refused before any per-layer
/// work or allocation.
pub const MAX_LAYERS: usize = 1024;

impl ModelConfig {
    /// Whether a prompt of `prompt` tokens and `new` tokens after it fit the
    /// context (checked without overflow: `new` may be anything a user
    /// typed).
    pub fn check_request(&self, prompt: usize, new: usize) -> Result<()> {
        let max = self.max_position_embeddings;
        match prompt.checked_add(new) {
            Some(total) if total <= max => Ok(()),
            _ => Err(Error::RequestTooLong { prompt, new, max }),
        }
    }

    /// Output width of the q projection (`num_heads * head_dim`).
    pub fn q_dim(&self) -> usize {
        self.num_heads * self.head_dim
    }

    /// Output width of the k and v projections (`num_kv_heads * head_dim`).
    pub fn kv_dim(&self) -> usize {
        self.num_kv_heads * self.head_dim
    }

    /// Number of ternary weights in all BitLinear layers.
    pub fn ternary_params(&self) -> u64 {
        let (h, i) = (self.hidden_size as u64, self.intermediate_size as u64);
        let per_layer = h * self.q_dim() as u64 * 2 + h * self.kv_dim() as u64 * 2 + 3 * h * i;
        per_layer * self.num_layers as u64
    }

    /// Checks every field; the forward pass relies on these ranges.
    pub fn validate(&self) -> Result<()> {
        const MAX_DIM: usize = 1 << 20;
        let dims = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_layers),
            ("num_attention_heads", self.num_heads),
            ("num_key_value_heads", self.num_kv_heads),
            ("head_dim", self.head_dim),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        for (field, v) in dims {
            if v == 0 || v > MAX_DIM * 16 {
                return Err(bad(field, v, format!("must be in 1..={}", MAX_DIM * 16)));
            }
        }
        if self.num_layers > MAX_LAYERS {
            return Err(bad(
                "num_hidden_layers",
                self.num_layers,
                format!("must be at most {MAX_LAYERS}"),
            ));
        }
        for (field, v) in [
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
        ] {
            // Exactness: |acc| <= 128 * K must fit in i32.
            if v > MAX_DIM {
                return Err(bad(
                    field,
                    v,
                    format!("must be at most {MAX_DIM} (i32 accumulators)"),
                ));
            }
        }
        if !self.num_heads.is_multiple_of(self.num_kv_heads) {
            return Err(bad(
                "num_key_value_heads",
                self.num_kv_heads,
                format!("must divide num_attention_heads = {}", self.num_heads),
            ));
        }
        if self.q_dim() != self.hidden_size {
            // transformers builds attn_sub_norm with hidden_size weights and
            // applies it to the num_heads * head_dim attention output.
            return Err(bad(
                "num_attention_heads * head_dim",
                self.q_dim(),
                format!(
                    "must equal hidden_size = {} (attn_sub_norm is sized by hidden_size)",
                    self.hidden_size
                ),
            ));
        }
        if !self.head_dim.is_multiple_of(2) {
            return Err(bad(
                "head_dim",
                self.head_dim,
                "must be even (RoPE rotates pairs)",
            ));
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 1.0) {
            return Err(bad("rope_theta", self.rope_theta, "must be finite and > 1"));
        }
        if !(self.rms_norm_eps.is_finite() && self.rms_norm_eps > 0.0) {
            return Err(bad(
                "rms_norm_eps",
                self.rms_norm_eps,
                "must be finite and > 0",
            ));
        }
        for (field, id) in [
            ("bos_token_id", self.bos_token_id),
            ("eos_token_id", self.eos_token_id),
        ] {
            let Some(id) = id else { continue };
            if id as usize >= self.vocab_size {
                return Err(bad(
                    field,
                    id,
                    format!("must be < vocab_size = {}", self.vocab_size),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_2b4t_has_the_published_shape() {
        for p in Preset::ALL {
            p.config().validate().unwrap();
            assert_eq!(Preset::from_name(p.name()), Some(p));
        }
        let c = Preset::B2b4t.config();
        assert_eq!(
            (c.hidden_size, c.intermediate_size, c.num_layers),
            (2560, 6912, 30)
        );
        assert_eq!((c.num_heads, c.num_kv_heads, c.head_dim), (20, 5, 128));
        // 2560 * (2*2560 + 2*640 + 3*6912) * 30 ternary weights.
        assert_eq!(c.ternary_params(), 2_084_044_800);
    }

    #[test]
    fn out_of_range_values_are_named() {
        let mut c = Preset::Tiny.config();
        c.num_kv_heads = 3;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("num_key_value_heads = 3"), "{e}");
        type Edit = fn(&mut ModelConfig);
        let cases: [(Edit, &str); 4] = [
            (|c| c.rms_norm_eps = f32::NAN, "rms_norm_eps"),
            (|c| c.eos_token_id = Some(512), "eos_token_id"),
            (|c| c.head_dim = 8, "attn_sub_norm"),
            (|c| c.hidden_size = 0, "hidden_size = 0"),
        ];
        for (edit, want) in cases {
            let mut c = Preset::Tiny.config();
            edit(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }
}
