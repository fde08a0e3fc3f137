//! The BitNet papers' published energy figures, recomputed from the model
//! shapes and the 7 nm per-operation energies, with how far each lands.
//!
//! # What the papers count, and what reproduces them
//! - b1.58 paper (Ma et al. 2024, Figure 3 right: "end-to-end energy cost
//!   across different model sizes", 7 nm): the energy of matrix
//!   multiplication with Table 2's ADD/MUL prices. LLaMA: every MAC is an
//!   FP16 multiply plus an FP16 add. BitNet b1.58: a BitLinear MAC is one
//!   INT8 add, while attention's `QK^T` and `AV` stay FP16 multiply-adds.
//! - 2B4T report (Ma et al. 2025, Table 1 "Energy (estimated)"): the 7 nm
//!   per-operation energies (Horowitz-style, as the b1.58 paper's Table 2),
//!   in joules "per token".
//!
//! Neither text states the sequence length or the counting unit. One
//! method reproduces all seven figures: **the MACs of one forward pass over
//! 512 tokens** (BitLinears: `512 x` the per-token weight count; attention:
//! `2 x layers x heads x head_dim x 512^2`, the full score matrix, no causal
//! halving, no LM head, norms or memory). The 2B4T report's "per token"
//! figures are then the energy of that whole 512-token pass (a per-token
//! reading is 512x smaller). [`figures`] lists each figure with its
//! reproduction; `tests` pins every one that lands within 5 %.
//!
//! The 3B row: the 1bitLLM 3B reproduction's shape (hidden 3200, 26 layers)
//! gives 25.4x against the paper's 21.7x (+17 %); a 2560-wide, 26-layer
//! model with the 2B4T's FFN width gives 22.0x (+1.2 %). Which shape the
//! paper used for "3B" is not published: the report says so, and the test
//! pins both numbers rather than hiding the miss.

use tritium_golden::{ModelConfig, Preset};

use crate::energy::{EnergyTable, Node};
use crate::shapes::paper_sizes;
use crate::Result;

/// The sequence length that reproduces the papers' figures.
pub const PASS_TOKENS: u64 = 512;

/// How an energy figure of a paper was counted (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arithmetic {
    /// Every MAC an FP16 multiply + FP16 add.
    Fp16,
    /// BitLinear MACs one INT8 add; attention FP16 multiply + add.
    Ternary,
}

/// MACs of one forward pass over `n` tokens: (BitLinear, attention).
pub fn pass_macs(c: &ModelConfig, n: u64) -> (u64, u64) {
    let linear = c.ternary_params() * n;
    let attention = 2 * c.num_layers as u64 * c.q_dim() as u64 * n * n;
    (linear, attention)
}

/// Joules of one forward pass over `n` tokens, priced with `t`.
pub fn pass_joules(c: &ModelConfig, n: u64, a: Arithmetic, t: &EnergyTable) -> f64 {
    let (linear, attention) = pass_macs(c, n);
    let fp16 = t.arith.fp16_mul.pj + t.arith.fp16_add.pj;
    let lin_pj = match a {
        Arithmetic::Fp16 => fp16,
        Arithmetic::Ternary => t.arith.int8_add.pj,
    };
    (linear as f64 * lin_pj + attention as f64 * fp16) * 1e-12
}

/// One published figure next to its reproduction.
#[derive(Debug, Clone)]
pub struct PaperFigure {
    /// What the figure is, e.g. `b1.58 Fig. 3: 13B savings`.
    pub figure: String,
    /// The paper's number.
    pub published: f64,
    /// The same number recomputed here.
    pub reproduced: f64,
    /// `x` (a ratio) or `J`.
    pub unit: &'static str,
    /// The model shape and its source.
    pub shape: String,
}

impl PaperFigure {
    /// `reproduced / published - 1`.
    pub fn deviation(&self) -> f64 {
        self.reproduced / self.published - 1.0
    }
}

fn shape(
    hidden: usize,
    inter: usize,
    layers: usize,
    heads: usize,
    kv: usize,
    head_dim: usize,
) -> ModelConfig {
    ModelConfig {
        hidden_size: hidden,
        intermediate_size: inter,
        num_layers: layers,
        num_heads: heads,
        num_kv_heads: kv,
        head_dim,
        ..Preset::B2b4t.config()
    }
}

/// LLaMA 3.2 1B (meta-llama/Llama-3.2-1B config.json).
pub fn llama32_1b() -> ModelConfig {
    shape(2048, 8192, 16, 32, 8, 64)
}

/// Qwen2.5 1.5B (Qwen/Qwen2.5-1.5B config.json).
pub fn qwen25_1_5b() -> ModelConfig {
    shape(1536, 8960, 28, 12, 2, 128)
}

/// A 3B model 2560 wide (2B4T's hidden and FFN widths, 26 layers): the
/// shape whose savings land nearest the paper's 3B figure.
pub fn b3_narrow() -> ModelConfig {
    shape(2560, 6912, 26, 32, 32, 80)
}

/// Every figure, reproduced with the built-in 7 nm table.
pub fn figures() -> Result<Vec<PaperFigure>> {
    let t = Node::N7.table()?;
    let n = PASS_TOKENS;
    let ratio = |c: &ModelConfig| {
        pass_joules(c, n, Arithmetic::Fp16, &t) / pass_joules(c, n, Arithmetic::Ternary, &t)
    };
    let mut out = Vec::new();
    let sizes = paper_sizes();
    for (name, published) in [("1.3B", 18.6), ("3B", 21.7), ("13B", 32.9), ("70B", 41.2)] {
        let s = sizes
            .iter()
            .find(|s| s.name == name)
            .expect("a paper size of shapes.rs");
        out.push(PaperFigure {
            figure: format!("b1.58 Fig. 3: {name} energy savings"),
            published,
            reproduced: ratio(&s.config),
            unit: "x",
            shape: s.source.to_string(),
        });
        if name == "3B" {
            out.push(PaperFigure {
                figure: "b1.58 Fig. 3: 3B energy savings (2560 wide)".into(),
                published,
                reproduced: ratio(&b3_narrow()),
                unit: "x",
                shape: "hidden 2560, FFN 6912, 26 layers (not published; the nearest fit)".into(),
            });
        }
    }
    for (figure, c, a, published, src) in [
        (
            "2B4T report: BitNet b1.58 2B4T energy",
            Preset::B2b4t.config(),
            Arithmetic::Ternary,
            0.028,
            "microsoft/bitnet-b1.58-2B-4T config",
        ),
        (
            "2B4T report: LLaMA 3.2 1B energy",
            llama32_1b(),
            Arithmetic::Fp16,
            0.258,
            "meta-llama/Llama-3.2-1B config",
        ),
        (
            "2B4T report: Qwen2.5 1.5B energy",
            qwen25_1_5b(),
            Arithmetic::Fp16,
            0.347,
            "Qwen/Qwen2.5-1.5B config",
        ),
    ] {
        out.push(PaperFigure {
            figure: figure.into(),
            published,
            reproduced: pass_joules(&c, n, a, &t),
            unit: "J",
            shape: src.into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(f: &[PaperFigure], name: &str) -> f64 {
        let p = f.iter().find(|p| p.figure == name).unwrap();
        p.deviation()
    }

    #[test]
    fn the_papers_figures_reproduce_within_5_percent() {
        let f = figures().unwrap();
        assert_eq!(f.len(), 8);
        for name in [
            "b1.58 Fig. 3: 1.3B energy savings",
            "b1.58 Fig. 3: 3B energy savings (2560 wide)",
            "b1.58 Fig. 3: 13B energy savings",
            "b1.58 Fig. 3: 70B energy savings",
            "2B4T report: BitNet b1.58 2B4T energy",
            "2B4T report: LLaMA 3.2 1B energy",
            "2B4T report: Qwen2.5 1.5B energy",
        ] {
            let d = get(&f, name);
            assert!(d.abs() < 0.05, "{name}: {:+.1} %", 100.0 * d);
        }
        // The published 3B shape is the one that does not reproduce: pin by how much.
        let d = get(&f, "b1.58 Fig. 3: 3B energy savings");
        assert!(
            (0.15..0.19).contains(&d),
            "3B (3200 wide): {:+.1} %",
            100.0 * d
        );
    }

    #[test]
    fn hand_worked_2b4t_pass() {
        // 2B4T: 69,468,160 BitLinear weights per layer x 30 layers; attention
        // 2 x 30 x 2560 x 512^2 MACs. 0.007 pJ per ternary MAC, 0.5 per FP16 one.
        let t = Node::N7.table().unwrap();
        let (lin, att) = pass_macs(&Preset::B2b4t.config(), 512);
        assert_eq!(lin, 69_468_160 * 30 * 512);
        assert_eq!(att, 2 * 30 * 2560 * 512 * 512);
        let j = pass_joules(&Preset::B2b4t.config(), 512, Arithmetic::Ternary, &t);
        let want = (lin as f64 * 0.007 + att as f64 * 0.5) * 1e-12;
        assert!(
            (j - want).abs() < 1e-12 * want.abs() + 1e-15,
            "{j} vs {want}"
        );
    }
}
