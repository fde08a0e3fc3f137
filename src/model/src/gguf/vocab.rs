//! The tokenizer in GGUF metadata (`tokenizer.ggml.*`), both ways.
//!
//! Supported: `tokenizer.ggml.model = "gpt2"` (byte-level BPE) with
//! pre-tokenizer `llama-bpe` / `llama3` (or none given), i.e. LLaMA-3's,
//! which microsoft/bitnet-b1.58-2B-4T uses. `tokens` are the strings by id,
//! `token_type` 3 (control) and 4 (user-defined) become added tokens
//! (special / not special), every other token is in the BPE vocabulary;
//! `merges` are "a b" strings; BOS is prepended when
//! `tokenizer.ggml.add_bos_token` is true (the default). The result is the
//! same `tokenizer.json` structure tritium writes for its synthetic models
//! ([`crate::tokenizer::bpe_tokenizer_json`]), loaded by the `tokenizers` crate.

use serde_json::{json, Value as Json};
use tritium_golden::ModelConfig;

use super::writer::GgufWriter;
use super::{GgufFile, Value};
use crate::error::{Error, Result};
use crate::tokenizer::{bpe_tokenizer_json, TextTokenizer};

const NORMAL: i32 = 1;
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;
const UNUSED: i32 = 5;

fn tok_err(what: &str, m: impl Into<String>) -> Error {
    Error::Tokenizer {
        path: what.into(),
        message: m.into(),
    }
}

/// Stores a byte-level BPE `tokenizer.json` as `tokenizer.ggml.*` metadata
/// (ids past the tokenizer's last one, up to the model's vocabulary, are
/// written as unused `[PAD{id}]` tokens, as llama.cpp's converter does).
pub fn tokenizer_metadata(w: &mut GgufWriter, tok: &Json, c: &ModelConfig) -> Result<()> {
    let model = &tok["model"];
    if model["type"] != "BPE" {
        return Err(tok_err(
            "tokenizer.json",
            "only byte-level BPE tokenizers can be stored in GGUF",
        ));
    }
    let mut tokens: Vec<Option<(String, i32)>> = vec![None; c.vocab_size];
    let mut put = |id: u64, s: &str, ty: i32| -> Result<()> {
        let slot = usize::try_from(id)
            .ok()
            .and_then(|i| tokens.get_mut(i))
            .ok_or_else(|| {
                tok_err(
                    "tokenizer.json",
                    format!(
                        "token id {id} ({s:?}) is outside the model's vocabulary {}",
                        c.vocab_size
                    ),
                )
            })?;
        *slot = Some((s.to_string(), ty));
        Ok(())
    };
    let vocab = model["vocab"]
        .as_object()
        .ok_or_else(|| tok_err("tokenizer.json", "model.vocab is not an object"))?;
    for (s, id) in vocab {
        let id = id
            .as_u64()
            .ok_or_else(|| tok_err("tokenizer.json", format!("vocab entry {s:?} has no id")))?;
        put(id, s, NORMAL)?;
    }
    for a in tok["added_tokens"].as_array().into_iter().flatten() {
        let (Some(id), Some(s)) = (a["id"].as_u64(), a["content"].as_str()) else {
            return Err(tok_err("tokenizer.json", format!("bad added token {a}")));
        };
        let ty = if a["special"].as_bool().unwrap_or(false) {
            CONTROL
        } else {
            USER_DEFINED
        };
        put(id, s, ty)?;
    }
    let mut merges = Vec::new();
    for m in model["merges"].as_array().into_iter().flatten() {
        let s = match m {
            Json::String(s) => s.clone(),
            Json::Array(p) if p.len() == 2 => format!(
                "{} {}",
                p[0].as_str().unwrap_or_default(),
                p[1].as_str().unwrap_or_default()
            ),
            _ => return Err(tok_err("tokenizer.json", format!("bad merge {m}"))),
        };
        merges.push(Value::Str(s));
    }
    let (strs, types): (Vec<Value>, Vec<Value>) = tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let (s, ty) = t.unwrap_or_else(|| (format!("[PAD{i}]"), UNUSED));
            (Value::Str(s), Value::I32(ty))
        })
        .unzip();
    w.set("tokenizer.ggml.model", Value::Str("gpt2".into()));
    w.set("tokenizer.ggml.pre", Value::Str("llama-bpe".into()));
    w.set("tokenizer.ggml.tokens", Value::Array(8, strs));
    w.set("tokenizer.ggml.token_type", Value::Array(5, types));
    w.set("tokenizer.ggml.merges", Value::Array(8, merges));
    set_special_ids(w, c);
    w.set("tokenizer.ggml.add_bos_token", Value::Bool(true));
    Ok(())
}

/// The `tokenizer.json` described by a file's `tokenizer.ggml.*` metadata,
/// or `None` if it has none.
pub fn tokenizer_json(f: &GgufFile) -> Result<Option<Json>> {
    let h = &f.header;
    let origin = f.path.display().to_string();
    let Some(model) = h.get("tokenizer.ggml.model") else {
        return Ok(None);
    };
    if model.as_str() != Some("gpt2") {
        return Err(tok_err(&origin, format!(
            "tokenizer.ggml.model {model:?} is not supported (tritium builds byte-level BPE, \"gpt2\", tokenizers)"
        )));
    }
    if let Some(pre) = h.get("tokenizer.ggml.pre") {
        let p = pre.as_str().unwrap_or("");
        if !["llama-bpe", "llama3", "llama-v3"].contains(&p) {
            return Err(tok_err(&origin, format!(
                "tokenizer.ggml.pre {pre:?} is not supported (tritium implements LLaMA-3's, \"llama-bpe\")"
            )));
        }
    }
    let tokens = h
        .get("tokenizer.ggml.tokens")
        .and_then(Value::as_array)
        .ok_or_else(|| tok_err(&origin, "tokenizer.ggml.tokens is missing or not an array"))?;
    let types = h.get("tokenizer.ggml.token_type").and_then(Value::as_array);
    let mut vocab = serde_json::Map::new();
    let mut added = Vec::new();
    for (id, t) in tokens.iter().enumerate() {
        let s = t
            .as_str()
            .ok_or_else(|| tok_err(&origin, format!("token {id} is not a string")))?;
        let ty = types
            .and_then(|v| v.get(id))
            .and_then(Value::as_i64)
            .unwrap_or(i64::from(NORMAL));
        if ty == i64::from(CONTROL) || ty == i64::from(USER_DEFINED) {
            added.push(
                json!({"id": id, "content": s, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": ty == i64::from(CONTROL)}),
            );
        } else {
            vocab.entry(s.to_string()).or_insert(json!(id));
        }
    }
    let mut merges = Vec::new();
    if let Some(m) = h.get("tokenizer.ggml.merges") {
        for v in m
            .as_array()
            .ok_or_else(|| tok_err(&origin, "tokenizer.ggml.merges is not an array"))?
        {
            let s = v
                .as_str()
                .ok_or_else(|| tok_err(&origin, "a merge is not a string"))?;
            merges.push(json!(s));
        }
    }
    let add_bos = h
        .get("tokenizer.ggml.add_bos_token")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let bos = match h.get("tokenizer.ggml.bos_token_id").and_then(Value::as_u64) {
        Some(id) if add_bos => {
            let s = usize::try_from(id)
                .ok()
                .and_then(|i| tokens.get(i))
                .and_then(Value::as_str)
                .ok_or_else(|| tok_err(&origin, format!("bos_token_id {id} is not a token")))?;
            Some((s.to_string(), id as u32))
        }
        _ => None,
    };
    Ok(Some(bpe_tokenizer_json(
        vocab,
        merges,
        added,
        bos.as_ref().map(|(s, id)| (s.as_str(), *id)),
    )))
}

/// The tokenizer of a GGUF file's metadata, if it has one.
pub fn load_tokenizer(f: &GgufFile) -> Result<Option<TextTokenizer>> {
    match tokenizer_json(f)? {
        None => Ok(None),
        Some(j) => TextTokenizer::from_json(&f.path.display().to_string(), &j).map(Some),
    }
}

/// `tokenizer.ggml.bos_token_id` / `eos_token_id`: the ids the model has.
pub fn set_special_ids(w: &mut GgufWriter, c: &ModelConfig) {
    for (key, id) in [
        ("tokenizer.ggml.bos_token_id", c.bos_token_id),
        ("tokenizer.ggml.eos_token_id", c.eos_token_id),
    ] {
        if let Some(id) = id {
            w.set(key, Value::U32(id));
        }
    }
}
