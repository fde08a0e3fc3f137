//! # tritium-golden: the executable spec of BitNet b1.58 (W1.58A8)
//!
//! A bit-exact model of BitLinear and of the whole b1.58 network (the
//! microsoft/bitnet-b1.58-2B-4T architecture). Every other part of tritium
//! (the SIMD engine, the RTL co-simulation) is checked against it with `==`
//! on integer accumulators, and therefore on logits. No `unsafe`, few deps.
//!
//! ## Numerics (pinned)
//!
//! **Weights** ([`TernaryMatrix`]): codes `t` in {-1, 0, +1} and one f32
//! per-tensor scale `gamma`; the real weight is `gamma * t`.
//! - From a packed checkpoint the codes are taken as stored and `gamma` comes
//!   from `weight_scale` by the config's `linear_class`
//!   ([`ScaleConvention`]): `autobitlinear` multiplies (`gamma = weight_scale`),
//!   `bitlinear` divides (`gamma = 1 / weight_scale`, one f32 division).
//! - From full-precision masters ([`quant::quantize_weights_absmean`]):
//!   `gamma = max(mean |W|, 1e-5)`, the sum of `|W|` in f64, then one rounding
//!   to f32; `t = clamp(rne(W * (1 / gamma)), -1, 1)` with the reciprocal in
//!   f32 — the product by the reciprocal is what transformers computes.
//!
//! **Activations** ([`quant::quantize_activations`]), per token row `x`:
//! `m = max(max_k |x_k|, 1e-5)`, `s_a = 127 / m` (f32),
//! `q_k = clamp(rne(x_k * s_a), -128, 127)` where `rne` rounds half to even
//! (as `torch.round`). NaN or infinite activations are an error.
//!
//! **Accumulation** ([`backend::golden_matvec`]): `acc_n = sum_k t_nk * q_k`,
//! exact in i32 (`|acc| <= 128 K`; the config caps K at 2^20).
//!
//! **Dequantization** ([`quant::dequantize`]): `y_n = ((acc_n as f32) / s_a) * gamma`,
//! two f32 roundings in this order.
//!
//! **Everything else** is f32, in the orders pinned in [`ops`]: dot products
//! in 16 lane-strided partial sums without FMA and a fixed combining tree;
//! RMSNorm `(x * (1 / sqrt(mean(x^2) + eps))) * w`; softmax with max
//! subtraction, the model's own exponential ([`ops::exp_f32`]: f64
//! arithmetic rounded once, the correctly rounded `e^x` on all but 3 of
//! the 4.28 billion non-NaN f32 inputs, and the same bits on every machine,
//! unlike a libm's `expf`) and the sum in the dot product's order; RoPE with rotate_half pairing (`i`, `i +
//! d/2`), `inv_freq` in f64 rounded to f32, f32 angles; attention scores
//! scaled by `1 / sqrt(head_dim)`; `relu(g)^2 * u` as `(r * r) * u`
//! ([`ops::relu2_gate`]).
//! Embedding and norm weights are widened from bf16 (exact). A dense matrix
//! (embedding, lm_head) stays in its stored type (bf16, f16, f32, or ggml's
//! Q8_0 / Q6_K blocks) and is widened element by element on use (bf16 and
//! f16 exactly; blocks by ggml's reference dequantization, in its order of
//! f32 operations: [`BlockType`]), so its logits are those of its widened
//! f32 copy.
//!
//! ## Structure (each module uses only those listed before it)
//! - [`error`], [`rng`] (SplitMix64, the one generator of tritium).
//! - [`config`]: [`ModelConfig`] and the presets `tiny`, `small`, `2b4t`.
//! - [`ops`]: the pinned f32 operations; [`dense`]: [`DenseMatrix`] (the
//!   embedding and head in their stored type: bf16, f16, f32, Q8_0, Q6_K).
//! - [`ternary`], [`quant`]: the packed weight layouts and the quantizers.
//! - [`model`]: [`Model`], [`Layer`] and the names of its parts ([`Proj`],
//!   [`Norm`], their Hugging Face and GGUF tensor names).
//! - [`mod@array`]: [`ArrayConfig`], the shape of the RTL MAC array;
//!   [`stream`]: the beat format in which a BitLinear is streamed to it
//!   (tiling, padding, wire bits).
//! - [`accel`]: [`AccelConfig`], the accelerator around the array (weight
//!   port, stored [`WeightFormat`], activation and result buffers);
//!   [`image`]: the memory images it reads (2-bit and base-3 weights, the
//!   activation buffer).
//! - [`attention`]: causal GQA attention in the golden order, and the row
//!   runners of the shared network code.
//! - [`backend`]: the [`Backend`] trait every BitLinear goes through, and
//!   [`GoldenBackend`].
//! - [`session`]: [`Session`], the forward pass with its KV cache.
//! - [`sample`], [`mod@generate`]: greedy and seeded temperature / top-k /
//!   top-p sampling; prefill + decode with timings.
//!
//! Bad input (wrong shapes, invalid codes, non-finite values, empty or
//! over-long prompts) is an [`Error`], never a panic.

#![forbid(unsafe_code)]

pub mod accel;
pub mod array;
pub mod attention;
pub mod backend;
pub mod config;
pub mod dense;
pub mod error;
pub mod generate;
pub mod grouped;
pub mod image;
pub mod kv;
pub mod model;
pub mod ops;
pub mod quant;
pub mod rng;
pub mod rows;
pub mod sample;
pub mod session;
pub mod stream;
pub mod ternary;
mod uid;

pub use accel::{AccelConfig, WeightFormat};
pub use array::ArrayConfig;
pub use backend::{Backend, ExecStats, GoldenBackend, LinearCall};
pub use config::{ModelConfig, Preset, ScaleConvention};
pub use dense::{BlockType, DenseMatrix};
pub use error::{Error, Result};
pub use generate::{generate, GenerateOptions, Generation};
pub use kv::KvPrecision;
pub use model::{linear_shape, Layer, LinearId, Model, Norm, Proj};
pub use rng::SplitMix64;
pub use sample::{Sampler, SamplerConfig};
pub use session::{Logits, Session, StatsTable};
pub use ternary::TernaryMatrix;
