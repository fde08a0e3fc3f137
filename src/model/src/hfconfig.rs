//! Hugging Face `config.json` of `BitNetForCausalLM`, read into the golden
//! [`ModelConfig`] (missing fields take transformers' `BitNetConfig`
//! defaults) and written back for checkpoints tritium generates.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tritium_golden::{ModelConfig, ScaleConvention};

use crate::error::{Error, Result};

/// How a checkpoint stores its BitLinear weights
/// (`quantization_config.quantization_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuantMode {
    /// Packed ternary codes + `weight_scale` (microsoft/bitnet-b1.58-2B-4T).
    Offline,
    /// Full-precision masters quantized at load (the `-bf16` repository).
    Online,
}

/// `quantization_config.linear_class`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinearClass {
    /// Multiplies the output by `weight_scale` (the published 2B4T config).
    Autobitlinear,
    /// Divides the output by `weight_scale`.
    Bitlinear,
}

impl LinearClass {
    /// How `weight_scale` maps to gamma under this class (as transformers).
    pub fn convention(self) -> ScaleConvention {
        match self {
            LinearClass::Autobitlinear => ScaleConvention::Multiply,
            LinearClass::Bitlinear => ScaleConvention::Divide,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            LinearClass::Autobitlinear => "autobitlinear",
            LinearClass::Bitlinear => "bitlinear",
        }
    }
}

/// The quantization settings of a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantSpec {
    pub mode: QuantMode,
    pub linear_class: LinearClass,
}

#[derive(Debug, Deserialize)]
struct RawQuant {
    quant_method: Option<String>,
    #[serde(default = "default_linear_class")]
    linear_class: String,
    #[serde(default = "default_mode")]
    quantization_mode: String,
    #[serde(default)]
    use_rms_norm: bool,
}

fn default_linear_class() -> String {
    "bitlinear".into()
}
fn default_mode() -> String {
    "offline".into()
}

/// The fields of config.json. The shape (vocab_size, hidden_size,
/// intermediate_size, num_hidden_layers, num_attention_heads) is required:
/// every checkpoint states it, and a default (transformers' BitNetConfig
/// has 2B4T's) would let a file missing one load as another model's shape.
/// The rest default as in transformers.
#[derive(Debug, Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    #[serde(default = "d_act")]
    hidden_act: String,
    #[serde(default = "d_maxpos")]
    max_position_embeddings: usize,
    #[serde(default = "d_eps")]
    rms_norm_eps: f64,
    #[serde(default = "d_theta")]
    rope_theta: f64,
    #[serde(default)]
    tie_word_embeddings: bool,
    #[serde(default)]
    attention_bias: bool,
    rope_scaling: Option<Value>,
    bos_token_id: Option<Value>,
    eos_token_id: Option<Value>,
    quantization_config: Option<RawQuant>,
}

fn d_act() -> String {
    "relu2".into()
}
fn d_maxpos() -> usize {
    2048
}
fn d_eps() -> f64 {
    1e-5
}
fn d_theta() -> f64 {
    500_000.0
}

/// A token id field: absent or null is `None` (no default is invented: the
/// network does not need it, and a default could lie outside a small
/// vocabulary); a list takes its first id, as transformers does.
fn token_id(path: &Path, field: &str, v: Option<Value>) -> Result<Option<u32>> {
    let v = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => match a.into_iter().next() {
            None => return Ok(None),
            Some(v) => v,
        },
        Some(v) => v,
    };
    v.as_u64()
        .and_then(|x| u32::try_from(x).ok())
        .map(Some)
        .ok_or_else(|| Error::config(path, format!("{field} must be a token id, got {v}")))
}

/// Parses `config.json` text (`path` is only used in messages).
pub fn parse_config(path: &Path, text: &str) -> Result<(ModelConfig, QuantSpec)> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        Error::config(
            path,
            format!(
                "not a valid BitNet config.json: field {}: {}",
                e.path(),
                e.inner()
            ),
        )
    })?;
    if let Some(mt) = &raw.model_type {
        if mt != "bitnet" {
            return Err(Error::config(
                path,
                format!("model_type is \"{mt}\", tritium reads \"bitnet\" models"),
            ));
        }
    }
    if raw.hidden_act != "relu2" {
        return Err(Error::config(
            path,
            format!(
                "hidden_act \"{}\" is not supported (b1.58 uses relu2)",
                raw.hidden_act
            ),
        ));
    }
    if raw.attention_bias {
        return Err(Error::config(
            path,
            "attention_bias = true is not supported (b1.58 has no biases)",
        ));
    }
    if raw.rope_scaling.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(Error::config(
            path,
            "rope_scaling is not supported (2B4T uses plain RoPE)",
        ));
    }
    let q = raw.quantization_config.ok_or_else(|| {
        Error::config(
            path,
            "no quantization_config: a b1.58 checkpoint needs {\"quant_method\": \"bitnet\", ...}",
        )
    })?;
    if q.quant_method.as_deref() != Some("bitnet") {
        return Err(Error::config(
            path,
            match &q.quant_method {
                Some(m) => {
                    format!("quantization_config.quant_method is {m:?}, expected \"bitnet\"")
                }
                None => "quantization_config has no quant_method; expected \"bitnet\"".into(),
            },
        ));
    }
    if q.use_rms_norm {
        return Err(Error::config(
            path,
            "quantization_config.use_rms_norm = true is not supported",
        ));
    }
    let linear_class = match q.linear_class.as_str() {
        "autobitlinear" => LinearClass::Autobitlinear,
        "bitlinear" => LinearClass::Bitlinear,
        other => {
            return Err(Error::config(
                path,
                format!("quantization_config.linear_class \"{other}\" (expected autobitlinear or bitlinear)"),
            ))
        }
    };
    let mode = match q.quantization_mode.as_str() {
        "offline" => QuantMode::Offline,
        "online" => QuantMode::Online,
        other => {
            return Err(Error::config(
                path,
                format!(
                "quantization_config.quantization_mode \"{other}\" (expected offline or online)"
            ),
            ))
        }
    };
    if mode == QuantMode::Online && linear_class == LinearClass::Bitlinear {
        return Err(Error::config(
            path,
            "quantization_mode online needs linear_class autobitlinear (transformers' BitLinear only reads packed weights)",
        ));
    }
    if raw.num_attention_heads == 0 {
        return Err(Error::config(path, "num_attention_heads must be > 0"));
    }
    let eps = raw.rms_norm_eps as f32;
    let config = ModelConfig {
        vocab_size: raw.vocab_size,
        hidden_size: raw.hidden_size,
        intermediate_size: raw.intermediate_size,
        num_layers: raw.num_hidden_layers,
        num_heads: raw.num_attention_heads,
        num_kv_heads: raw.num_key_value_heads.unwrap_or(raw.num_attention_heads),
        head_dim: raw
            .head_dim
            .unwrap_or(raw.hidden_size / raw.num_attention_heads),
        rope_theta: raw.rope_theta,
        rms_norm_eps: eps,
        max_position_embeddings: raw.max_position_embeddings,
        tie_word_embeddings: raw.tie_word_embeddings,
        bos_token_id: token_id(path, "bos_token_id", raw.bos_token_id)?,
        eos_token_id: token_id(path, "eos_token_id", raw.eos_token_id)?,
    };
    config
        .validate()
        .map_err(|e| Error::config(path, e.to_string()))?;
    Ok((config, QuantSpec { mode, linear_class }))
}

/// Reads and parses `config.json`.
pub fn read_config(path: &Path) -> Result<(ModelConfig, QuantSpec)> {
    let text = tritium_util::file::read_to_string_regular(path)?;
    parse_config(path, &text)
}

/// The `config.json` transformers needs to load a checkpoint of this shape.
pub fn config_json(c: &ModelConfig, q: QuantSpec) -> Value {
    json!({
        "architectures": ["BitNetForCausalLM"],
        "model_type": "bitnet",
        "attention_bias": false,
        "attention_dropout": 0.0,
        "bos_token_id": c.bos_token_id,
        "eos_token_id": c.eos_token_id,
        "hidden_act": "relu2",
        "hidden_size": c.hidden_size,
        "head_dim": c.head_dim,
        "initializer_range": 0.02,
        "intermediate_size": c.intermediate_size,
        "max_position_embeddings": c.max_position_embeddings,
        "num_attention_heads": c.num_heads,
        "num_hidden_layers": c.num_layers,
        "num_key_value_heads": c.num_kv_heads,
        // The f32's shortest decimal form (1e-5, not 9.999999747378752e-6).
        "rms_norm_eps": c.rms_norm_eps.to_string().parse::<f64>().unwrap_or(c.rms_norm_eps as f64),
        "rope_theta": c.rope_theta,
        "tie_word_embeddings": c.tie_word_embeddings,
        "torch_dtype": "bfloat16",
        "use_cache": true,
        "vocab_size": c.vocab_size,
        "quantization_config": {
            "quant_method": "bitnet",
            "linear_class": q.linear_class.name(),
            "quantization_mode": match q.mode { QuantMode::Offline => "offline", QuantMode::Online => "online" },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tritium_golden::Preset;

    const PUBLISHED_2B4T: &str = r#"{
      "architectures": ["BitNetForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
      "bos_token_id": 128000, "eos_token_id": 128001, "hidden_act": "relu2", "hidden_size": 2560,
      "initializer_range": 0.02, "intermediate_size": 6912, "max_position_embeddings": 4096,
      "model_type": "bitnet", "rms_norm_eps": 1e-05, "num_attention_heads": 20,
      "num_hidden_layers": 30, "num_key_value_heads": 5, "rope_theta": 500000.0,
      "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true, "vocab_size": 128256,
      "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear", "quantization_mode": "offline"}
    }"#;

    #[test]
    fn reads_the_published_2b4t_config() {
        let (c, q) = parse_config(Path::new("config.json"), PUBLISHED_2B4T).unwrap();
        assert_eq!(c, Preset::B2b4t.config());
        assert_eq!(
            q,
            QuantSpec {
                mode: QuantMode::Offline,
                linear_class: LinearClass::Autobitlinear
            }
        );
    }

    #[test]
    fn written_config_round_trips() {
        for p in Preset::ALL {
            for q in [
                QuantSpec {
                    mode: QuantMode::Offline,
                    linear_class: LinearClass::Bitlinear,
                },
                QuantSpec {
                    mode: QuantMode::Online,
                    linear_class: LinearClass::Autobitlinear,
                },
            ] {
                let text = config_json(&p.config(), q).to_string();
                assert_eq!(
                    parse_config(Path::new("c"), &text).unwrap(),
                    (p.config(), q)
                );
            }
        }
    }

    #[test]
    fn bad_configs_name_the_problem() {
        let bad = |edit: &dyn Fn(&mut Value), needle: &str| {
            let mut v: Value = serde_json::from_str(PUBLISHED_2B4T).unwrap();
            edit(&mut v);
            let e = parse_config(Path::new("m/config.json"), &v.to_string())
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle) && e.contains("m/config.json"), "{e}");
        };
        bad(&|v| v["hidden_act"] = json!("silu"), "hidden_act");
        bad(
            &|v| v["num_key_value_heads"] = json!(3),
            "num_key_value_heads",
        );
        bad(&|v| v["vocab_size"] = json!(0), "vocab_size");
        bad(&|v| v["hidden_size"] = json!(-5), "hidden_size");
        bad(
            &|v| v["quantization_config"]["linear_class"] = json!("fp8"),
            "linear_class",
        );
        bad(
            &|v| {
                v.as_object_mut()
                    .unwrap()
                    .remove("quantization_config")
                    .map(|_| ())
                    .unwrap()
            },
            "quantization_config",
        );
        bad(
            &|v| v["rope_scaling"] = json!({"type": "linear"}),
            "rope_scaling",
        );
        bad(&|v| v["eos_token_id"] = json!("x"), "eos_token_id");
        bad(&|v| v["model_type"] = json!("llama"), "model_type");
        assert!(parse_config(Path::new("c"), "{not json").is_err());
    }
}
