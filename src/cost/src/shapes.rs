//! Model shapes the cost model knows by name: tritium's presets (2B4T among
//! them) and the sizes of the BitNet b1.58 paper, LLaMA-shaped.

use tritium_golden::{ModelConfig, Preset};

/// A named model shape and where the shape comes from.
#[derive(Debug, Clone)]
pub struct NamedShape {
    pub name: &'static str,
    pub config: ModelConfig,
    pub source: &'static str,
}

#[allow(clippy::too_many_arguments)]
fn llama(
    vocab: usize,
    hidden: usize,
    inter: usize,
    layers: usize,
    heads: usize,
    kv_heads: usize,
    tied: bool,
) -> ModelConfig {
    let mut c = Preset::B2b4t.config();
    c.vocab_size = vocab;
    c.hidden_size = hidden;
    c.intermediate_size = inter;
    c.num_layers = layers;
    c.num_heads = heads;
    c.num_kv_heads = kv_heads;
    c.head_dim = hidden / heads;
    c.tie_word_embeddings = tied;
    c.max_position_embeddings = 4096;
    c
}

/// The model sizes of the b1.58 paper (Ma et al. 2024, Tables 1-3 and
/// Figures 2-3), as LLaMA-shaped configs with a 32000-token vocabulary.
pub fn paper_sizes() -> Vec<NamedShape> {
    vec![
        NamedShape {
            name: "700M",
            config: llama(32000, 1536, 4096, 24, 16, 16, false),
            source: "1bitLLM/bitnet_b1_58-large config (the paper's 700M reproduction)",
        },
        NamedShape {
            name: "1.3B",
            config: llama(32000, 2048, 5460, 24, 32, 32, false),
            source: "1bitLLM/bitnet_b1_58-xl config (the paper's 1.3B reproduction)",
        },
        NamedShape {
            name: "3B",
            config: llama(32000, 3200, 8640, 26, 32, 32, false),
            source: "1bitLLM/bitnet_b1_58-3B config (the paper's 3B reproduction)",
        },
        NamedShape {
            name: "3.9B",
            config: llama(32000, 3200, 8640, 30, 32, 32, false),
            source: "not published: the 3B width with 30 layers (3.9B parameters)",
        },
        NamedShape {
            name: "7B",
            config: llama(32000, 4096, 11008, 32, 32, 32, false),
            source: "LLaMA 7B shape",
        },
        NamedShape {
            name: "13B",
            config: llama(32000, 5120, 13824, 40, 40, 40, false),
            source: "LLaMA 13B shape",
        },
        NamedShape {
            name: "70B",
            config: llama(32000, 8192, 28672, 80, 64, 8, false),
            source: "LLaMA-2 70B shape (grouped-query attention, 8 KV heads)",
        },
    ]
}

/// Total parameters: BitLinears, embedding, untied head and norms.
pub fn param_count(c: &ModelConfig) -> u64 {
    let emb = (c.vocab_size * c.hidden_size) as u64;
    let head = if c.tie_word_embeddings { 0 } else { emb };
    c.ternary_params() + emb + head
}
