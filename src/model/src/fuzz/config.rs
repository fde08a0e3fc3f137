//! The `config` target: mutants of `config.json` text (the tiny preset's,
//! packed and bf16, and the published 2B4T shape), each through
//! [`parse_config`]; when it parses, through [`tritium_golden::ModelConfig::validate`], the
//! shape arithmetic ([`expected_names`], [`tritium_golden::ModelConfig::ternary_params`])
//! and [`assemble`] against the tiny preset's tensors in memory: the
//! checks the loader makes before it allocates. No model of a mutated
//! shape is ever allocated (a config with hidden_size 2^20 and 1024
//! layers is legitimately huge): assembling reads only tensors whose shape
//! matches the config, and the tiny tensors are all a few KB.
//!
//! The mutators (see [`ConfigTarget::mutant`]):
//! - `structure`: 1..=3 edits of the parsed config: any value replaced
//!   by an extreme or wrong-typed one (huge, negative, 0, floats, NaN-like
//!   strings, null, arrays, nested objects; [`super::json::extreme_value`]),
//!   top-level or `quantization_config` keys removed, renamed, duplicated,
//!   swapped or added, the quantization fields set to other valid or
//!   invalid names, token ids set to boundary ids or lists, or the whole
//!   shape replaced by a consistent one that passes validation (up to
//!   hidden_size 2^20, 1024 layers, vocab 2^24) or just misses it;
//! - byte-level edits of the text ([`super::json::mutate_text`]), alone or
//!   after a structure edit.

use std::path::Path;

use serde_json::{json, Value};
use tritium_golden::{Preset, SplitMix64 as Rng};

use super::json::{edit_object, extreme_value, mutate_text, render, replace_value};
use super::{below, pick, Mutant, Outcome, Target};
use crate::checkpoint::{assemble, expected_names, MemTensors};
use crate::error::Result;
use crate::hfconfig::{config_json, parse_config, LinearClass, QuantMode, QuantSpec};
use crate::synthetic::{synth_tensors, CheckpointFormat, SynthOptions};

/// Every key `parse_config` reads, and some it ignores.
const KEYS: [&str; 24] = [
    "model_type",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "hidden_act",
    "max_position_embeddings",
    "rms_norm_eps",
    "rope_theta",
    "tie_word_embeddings",
    "attention_bias",
    "rope_scaling",
    "bos_token_id",
    "eos_token_id",
    "quantization_config",
    "architectures",
    "torch_dtype",
    "use_cache",
    "initializer_range",
    "attention_dropout",
    "pad_token_id",
];

/// The keys of `quantization_config`.
const QUANT_KEYS: [&str; 5] = [
    "quant_method",
    "linear_class",
    "quantization_mode",
    "use_rms_norm",
    "modules_to_not_convert",
];

/// Mutants of config.json, checked against the tiny preset's tensors.
pub struct ConfigTarget {
    bases: Vec<(&'static str, Value)>,
    /// The tiny preset's tensors, packed (offline) and bf16 (online).
    packed: MemTensors,
    bf16: MemTensors,
}

impl ConfigTarget {
    /// Builds the base configs and the tiny tensors (seed 1).
    pub fn new() -> Result<ConfigTarget> {
        let offline = QuantSpec {
            mode: QuantMode::Offline,
            linear_class: LinearClass::Autobitlinear,
        };
        let online = QuantSpec {
            mode: QuantMode::Online,
            linear_class: LinearClass::Autobitlinear,
        };
        let tiny = Preset::Tiny.config();
        let tensors = |format| {
            let mut t = synth_tensors(
                &SynthOptions {
                    config: tiny.clone(),
                    seed: 1,
                    format,
                    linear_class: LinearClass::Autobitlinear,
                },
                None,
            )?;
            t.origin = "fuzz".into();
            Ok::<_, crate::Error>(t)
        };
        Ok(ConfigTarget {
            bases: vec![
                ("tiny-packed", config_json(&tiny, offline)),
                ("tiny-bf16", config_json(&tiny, online)),
                ("2b4t", config_json(&Preset::B2b4t.config(), offline)),
            ],
            packed: tensors(CheckpointFormat::HfPacked)?,
            bf16: tensors(CheckpointFormat::HfBf16)?,
        })
    }

    /// The valid text of base `i` (tests).
    pub fn base_text(&self, i: usize) -> String {
        render(&self.bases[i].1, false)
    }
}

impl Target for ConfigTarget {
    fn name(&self) -> &'static str {
        "config"
    }
    fn extension(&self) -> &'static str {
        "json"
    }
    fn base_name(&self, base: usize) -> String {
        self.bases[base].0.into()
    }

    /// Structure edits 6 times in 10, byte-level edits 3 in 10, both 1 in 10.
    fn mutant(&self, rng: &mut Rng) -> Mutant {
        let base = below(rng, self.bases.len());
        let mut v = self.bases[base].1.clone();
        let kind = below(rng, 10);
        if kind < 6 || kind == 9 {
            for _ in 0..1 + below(rng, 3) {
                structure(rng, &mut v);
            }
        }
        let mut bytes = render(&v, below(rng, 4) == 0).into_bytes();
        if kind >= 6 {
            mutate_text(rng, &mut bytes);
        }
        Mutant { base, bytes }
    }

    fn check(&self, _base: usize, input: Vec<u8>) -> Outcome {
        // read_config reads the file as UTF-8 text: anything else is an error there.
        let Ok(text) = std::str::from_utf8(&input) else {
            return Outcome::Rejected;
        };
        let Ok((c, q)) = parse_config(Path::new("fuzz/config.json"), text) else {
            return Outcome::Rejected;
        };
        if let Err(e) = c.validate() {
            panic!("parse_config accepted a config that validate refuses: {e}");
        }
        let _ = (expected_names(&c, q).len(), c.ternary_params());
        let tensors = match q.mode {
            QuantMode::Offline => &self.packed,
            QuantMode::Online => &self.bf16,
        };
        match assemble(tensors, &c, q, None) {
            Ok(_) => Outcome::Loaded,
            Err(_) => Outcome::Parsed,
        }
    }
}

/// One structure-aware edit of config `v` (see the module doc).
fn structure(rng: &mut Rng, v: &mut Value) {
    match below(rng, 10) {
        0..=3 => replace_value(rng, v),
        4 | 5 => match v.as_object_mut() {
            Some(m) => edit_object(rng, m, &KEYS),
            None => *v = json!({}),
        },
        6 => match v.get_mut("quantization_config") {
            Some(Value::Object(q)) => {
                if below(rng, 2) == 0 {
                    edit_object(rng, q, &QUANT_KEYS);
                } else {
                    let (key, values): (&str, &[&str]) = pick(
                        rng,
                        &[
                            ("quant_method", &["bitnet", "BitNet", "gptq", ""][..]),
                            ("linear_class", &["autobitlinear", "bitlinear", "fp8", ""]),
                            ("quantization_mode", &["offline", "online", "dynamic", ""]),
                        ],
                    );
                    q.insert(key.into(), json!(pick(rng, values)));
                    if below(rng, 4) == 0 {
                        q.insert("use_rms_norm".into(), json!(true));
                    }
                }
            }
            _ => {
                if let Some(m) = v.as_object_mut() {
                    m.insert(
                        "quantization_config".into(),
                        extreme_value(rng, &Value::Null),
                    );
                }
            }
        },
        7 => {
            let vocab = v["vocab_size"].as_u64().unwrap_or(512);
            let key = pick(rng, &["bos_token_id", "eos_token_id"]);
            let id = pick(
                rng,
                &[0, vocab.saturating_sub(1), vocab, u32::MAX as u64, 1 << 32],
            );
            if let Some(m) = v.as_object_mut() {
                m.insert(
                    key.into(),
                    match below(rng, 4) {
                        0 => json!([]),
                        1 => json!([id, 0]),
                        2 => json!([[id]]),
                        _ => json!(id),
                    },
                );
            }
        }
        _ => reshape(rng, v),
    }
}

/// Replaces the whole shape by a consistent one (hidden = heads *
/// head_dim, kv heads dividing heads), with sizes from small to the limits
/// of validation and one past them; head_dim is sometimes dropped so
/// `hidden_size / num_attention_heads` derives it.
fn reshape(rng: &mut Rng, v: &mut Value) {
    let heads = pick(rng, &[1u64, 2, 4, 20, 64, 1024, 4096]);
    let head_dim = pick(rng, &[2u64, 16, 64, 128, 256, 1 << 12, 1 << 14]);
    let kv = pick(rng, &[1, heads, (heads / 2).max(1), 3]);
    let hidden = heads * head_dim;
    let Some(m) = v.as_object_mut() else {
        return;
    };
    let mut set = |k: &str, x: u64| {
        m.insert(k.into(), json!(x));
    };
    set("num_attention_heads", heads);
    set("num_key_value_heads", kv);
    set("head_dim", head_dim);
    set("hidden_size", hidden);
    set(
        "intermediate_size",
        pick(rng, &[1, 172, 6912, 1 << 20, (1 << 20) + 1]),
    );
    set(
        "num_hidden_layers",
        pick(rng, &[1, 2, 30, 1024, 1025, 1 << 24]),
    );
    set(
        "vocab_size",
        pick(rng, &[1, 512, 128_256, 1 << 24, (1 << 24) + 1]),
    );
    set(
        "max_position_embeddings",
        pick(rng, &[1, 256, 1 << 24, (1 << 24) + 1]),
    );
    if below(rng, 4) == 0 {
        m.remove("head_dim");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_parse_and_tiny_ones_load() {
        let t = ConfigTarget::new().unwrap();
        let expect = [Outcome::Loaded, Outcome::Loaded, Outcome::Parsed];
        for (i, want) in expect.into_iter().enumerate() {
            assert_eq!(t.check(i, t.base_text(i).into_bytes()), want, "base {i}");
        }
    }

    /// A consistent reshape passes validation often enough to reach the
    /// assembler (which then refuses the tiny tensors' shapes).
    #[test]
    fn reshapes_reach_the_assembler() {
        let t = ConfigTarget::new().unwrap();
        let mut rng = Rng::new(9);
        let mut parsed = 0;
        for _ in 0..300 {
            let mut v = t.bases[0].1.clone();
            reshape(&mut rng, &mut v);
            v["bos_token_id"] = Value::Null;
            v["eos_token_id"] = Value::Null;
            parsed += u32::from(t.check(0, render(&v, false).into_bytes()) != Outcome::Rejected);
        }
        assert!(parsed > 20, "{parsed}");
    }
}
