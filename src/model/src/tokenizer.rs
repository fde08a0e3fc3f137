//! Text tokenization through the `tokenizers` crate (LLaMA-3 byte-level BPE
//! `tokenizer.json`), and the synthetic tokenizer `gen-model` writes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tritium_golden::ModelConfig;

use crate::error::{Error, Result};

/// A loaded `tokenizer.json`.
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    path: PathBuf,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TextTokenizer({})", self.path.display())
    }
}

/// Checks the merges of a BPE model before the `tokenizers` crate builds
/// it: its builder (0.23) copies every merge's concatenation into a buffer
/// as long as the longest vocabulary token *before* looking the result up,
/// so a merge whose result is not in the vocabulary and longer than every
/// token panics, and a right-hand token shorter than
/// `continuing_subword_prefix` underflows (upstream issue #2198). Every
/// merge whose two tokens and result are in the vocabulary (the only ones
/// the builder accepts) passes; the first other one is named. Models other
/// than BPE, and merges the builder itself refuses cleanly (a string that
/// is not two tokens), are left to the crate.
fn check_bpe_merges(v: &Value) -> std::result::Result<(), String> {
    let model = &v["model"];
    let (Some(vocab), Some(merges)) = (model["vocab"].as_object(), model["merges"].as_array())
    else {
        return Ok(());
    };
    if model.get("type").is_some_and(|t| t != "BPE") {
        return Ok(());
    }
    let prefix = model["continuing_subword_prefix"].as_str().unwrap_or("");
    let legacy = merges
        .iter()
        .filter(|m| m.as_str().is_none_or(|s| !s.starts_with("#version")));
    for (i, m) in legacy.enumerate() {
        let (a, b) = match m {
            Value::String(s) => match s.split(' ').collect::<Vec<_>>()[..] {
                [a, b] => (a, b),
                _ => continue,
            },
            Value::Array(p) => match &p[..] {
                [Value::String(a), Value::String(b)] => (a.as_str(), b.as_str()),
                _ => continue,
            },
            _ => continue,
        };
        let named = || format!("merge {} ({a:?} {b:?})", i + 1);
        for t in [a, b] {
            if !vocab.contains_key(t) {
                return Err(format!("{}: {t:?} is not in the vocabulary", named()));
            }
        }
        let Some(rest) = b.strip_prefix(prefix) else {
            return Err(format!(
                "{}: {b:?} does not start with continuing_subword_prefix {prefix:?}",
                named()
            ));
        };
        let merged = format!("{a}{rest}");
        if !vocab.contains_key(&merged) {
            return Err(format!(
                "{}: the merged token {merged:?} is not in the vocabulary",
                named()
            ));
        }
    }
    Ok(())
}

impl TextTokenizer {
    /// Loads a `tokenizer.json` file.
    pub fn load(path: &Path) -> Result<TextTokenizer> {
        let bytes = tritium_util::file::read_regular(path)?;
        let err = |message: String| Error::Tokenizer {
            path: path.to_path_buf(),
            message,
        };
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?;
        check_bpe_merges(&v).map_err(err)?;
        let inner = tokenizers::Tokenizer::from_bytes(&bytes).map_err(|e| err(e.to_string()))?;
        Ok(TextTokenizer {
            inner,
            path: path.to_path_buf(),
        })
    }

    /// Builds a tokenizer from JSON already in memory (`origin` names it in messages).
    pub fn from_json(origin: &str, v: &Value) -> Result<TextTokenizer> {
        let err = |message: String| Error::Tokenizer {
            path: origin.into(),
            message,
        };
        check_bpe_merges(v).map_err(err)?;
        let inner = tokenizers::Tokenizer::from_bytes(v.to_string().as_bytes())
            .map_err(|e| err(e.to_string()))?;
        Ok(TextTokenizer {
            inner,
            path: origin.into(),
        })
    }

    fn err(&self, e: impl ToString) -> Error {
        Error::Tokenizer {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Token ids of `text`; `add_special` applies the tokenizer's template (BOS).
    pub fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, add_special)
            .map_err(|e| self.err(e))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids` (special tokens skipped when `skip_special`).
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.inner
            .decode(ids, skip_special)
            .map_err(|e| self.err(e))
    }

    /// Number of ids the tokenizer knows (model vocabulary + added tokens).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

/// Prints generated text as it grows, holding back an incomplete UTF-8 tail.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    ids: Vec<u32>,
    printed: usize,
}

impl StreamDecoder {
    /// Adds a token and returns the newly completed text, if any.
    pub fn push(&mut self, tok: &TextTokenizer, id: u32) -> Result<String> {
        self.ids.push(id);
        let text = tok.decode(&self.ids, true)?;
        if text.ends_with('\u{FFFD}')
            || text.len() < self.printed
            || !text.is_char_boundary(self.printed)
        {
            return Ok(String::new());
        }
        let new = text[self.printed..].to_string();
        self.printed = text.len();
        Ok(new)
    }
}

/// GPT-2's byte-to-unicode map used by byte-level BPE: printable bytes map
/// to themselves, the rest to code points from U+0100 on.
pub fn byte_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable =
            (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
        table[b as usize] = if printable {
            b as char
        } else {
            let c = char::from_u32(next).unwrap_or('?');
            next += 1;
            c
        };
    }
    table
}

/// Text the synthetic tokenizer learns its merges from (written for tritium).
const CORPUS: &str = "\
A ternary network stores every weight as minus one, zero or plus one. The matrix multiply of such a \
network needs no multiplier at all: the hardware adds the activation when the weight is plus one, \
subtracts it when the weight is minus one, and skips it when the weight is zero. That is the whole \
trick, and it is why the energy of the arithmetic falls so far. The activations are eight bit \
integers, scaled per token by their largest absolute value, so the accumulators stay exact. \
The golden model is the executable specification: every rounding is written down, and every other \
engine must agree with it to the last bit. The accelerator is an array of columns; each column adds \
the selected activations of one output row through an adder tree into its accumulator, and the \
counters report the cycles, the stalls, the adds that were issued and the lanes that were skipped. \
The simulation turns the register transfer level description into a model that runs on the host, and \
the host drives it tile by tile, token by token, layer by layer, comparing every integer it returns. \
When the two sides disagree, the checker reports the first place where they diverge: the layer, the \
projection, the token, the output row, the tile and the cycle, with the expected and the observed \
values side by side. The report then prices the work: additions at the width of the accumulator, \
memory traffic for weights, activations and the key value cache, and the latency of a token as the \
array and the memory bus allow. Hello world, hello tritium! The quick brown fox jumps over the lazy \
dog, and the lazy dog sleeps in the warm sun while the fox runs into the forest. Numbers such as \
1, 2, 3, 10, 42, 128, 256, 2560 and 6912 appear in the shapes of the model. The attention of each \
query head reads one of the key value heads; the feed forward network squares the rectified gate and \
multiplies it with the up projection before the down projection brings it back to the hidden size.";

fn learn_merges(max_merges: usize) -> Vec<(String, String)> {
    let map = byte_to_unicode();
    let mut words: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for (i, w) in CORPUS.split(' ').enumerate() {
        let text = if i == 0 {
            w.to_string()
        } else {
            format!(" {w}")
        };
        let sym: Vec<String> = text.bytes().map(|b| map[b as usize].to_string()).collect();
        *words.entry(sym).or_default() += 1;
    }
    let mut words: Vec<(Vec<String>, usize)> = words.into_iter().collect();
    let mut merges = Vec::new();
    while merges.len() < max_merges {
        let mut counts: HashMap<(String, String), usize> = HashMap::new();
        for (w, n) in &words {
            for p in w.windows(2) {
                *counts.entry((p[0].clone(), p[1].clone())).or_default() += n;
            }
        }
        // Most frequent pair; ties broken by the pair itself, so the result is deterministic.
        let best = counts
            .into_iter()
            .filter(|(_, n)| *n >= 2)
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
        let Some(((a, b), _)) = best else { break };
        for (w, _) in words.iter_mut() {
            let mut out = Vec::with_capacity(w.len());
            let mut i = 0;
            while i < w.len() {
                if i + 1 < w.len() && w[i] == a && w[i + 1] == b {
                    out.push(format!("{a}{b}"));
                    i += 2;
                } else {
                    out.push(w[i].clone());
                    i += 1;
                }
            }
            *w = out;
        }
        merges.push((a, b));
    }
    merges
}

/// LLaMA-3 pre-tokenizer split pattern.
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// BOS and EOS of the synthetic tokenizer: the model's, or the last two ids
/// of the vocabulary for a model that names none.
fn special_ids(c: &ModelConfig) -> (u32, u32) {
    let v = c.vocab_size as u32;
    (
        c.bos_token_id.unwrap_or(v.saturating_sub(2)),
        c.eos_token_id.unwrap_or(v.saturating_sub(1)),
    )
}

/// Name of special token `id` in the synthetic tokenizer.
fn special_name(c: &ModelConfig, id: u32) -> String {
    let (bos, eos) = special_ids(c);
    if id == bos {
        "<|begin_of_text|>".into()
    } else if id == eos {
        "<|end_of_text|>".into()
    } else {
        format!(
            "<|reserved_special_token_{}|>",
            id.saturating_sub(bos.min(eos))
        )
    }
}

/// A LLaMA-3-style byte-level BPE `tokenizer.json` for a model of shape `c`:
/// 256 byte tokens, merges learned from a built-in text, unused filler
/// tokens, and special tokens from `min(bos, eos)` up (BOS and EOS named as
/// in LLaMA-3). The template adds BOS, as LLaMA-3's does.
pub fn synthetic_tokenizer_json(c: &ModelConfig) -> Value {
    let (bos_id, eos_id) = special_ids(c);
    let first_special = bos_id.min(eos_id) as usize;
    let map = byte_to_unicode();
    let mut vocab: Vec<(String, usize)> = (0..256).map(|b| (map[b].to_string(), b)).collect();
    let base = first_special.max(256);
    let merges = learn_merges(base.saturating_sub(256));
    let mut next = 256;
    for (a, b) in &merges {
        vocab.push((format!("{a}{b}"), next));
        next += 1;
    }
    while next < first_special {
        vocab.push((format!("<unused_{next}>"), next));
        next += 1;
    }
    let specials: Vec<u32> = (first_special as u32..c.vocab_size as u32)
        .chain([bos_id, eos_id])
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let added: Vec<Value> = specials
        .iter()
        .map(|&id| {
            json!({"id": id, "content": special_name(c, id), "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let bos = special_name(c, bos_id);
    let vocab_obj: serde_json::Map<String, Value> =
        vocab.into_iter().map(|(s, i)| (s, json!(i))).collect();
    let merges: Vec<Value> = merges
        .into_iter()
        .map(|(a, b)| json!(format!("{a} {b}")))
        .collect();
    bpe_tokenizer_json(vocab_obj, merges, added, Some((&bos, bos_id)))
}

/// A LLaMA-3-style byte-level BPE `tokenizer.json` (LLaMA-3 split regex,
/// byte-level pre-tokenizer and decoder, `ignore_merges`) from its parts:
/// `vocab` (token -> id), `merges` ("a b"), `added_tokens` entries, and the
/// BOS token the template prepends (none: no template).
pub fn bpe_tokenizer_json(
    vocab: serde_json::Map<String, Value>,
    merges: Vec<Value>,
    added: Vec<Value>,
    bos: Option<(&str, u32)>,
) -> Value {
    let mut processors = vec![
        json!({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}),
    ];
    if let Some((bos, id)) = bos {
        processors.push(json!({"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {bos: {"id": bos, "ids": [id], "tokens": [bos]}}}));
    }
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}
        ]},
        "post_processor": {"type": "Sequence", "processors": processors},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
                  "vocab": vocab, "merges": merges}
    })
}

/// The `tokenizer_config.json` transformers reads next to `tokenizer.json`.
pub fn tokenizer_config_json(c: &ModelConfig) -> Value {
    json!({
        "bos_token": special_name(c, special_ids(c).0),
        "eos_token": special_name(c, special_ids(c).1),
        "model_max_length": c.max_position_embeddings,
        "clean_up_tokenization_spaces": true,
        "tokenizer_class": "PreTrainedTokenizerFast"
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tritium_golden::Preset;

    #[test]
    fn synthetic_tokenizer_round_trips_text() {
        for p in [Preset::Tiny, Preset::Small] {
            let c = p.config();
            let tok = TextTokenizer::from_json("synthetic", &synthetic_tokenizer_json(&c)).unwrap();
            assert_eq!(tok.vocab_size(), c.vocab_size);
            let text = "Hello tritium: the ternary array adds 2560 numbers, and ünïcödé 🙂 too.";
            let ids = tok.encode(text, true).unwrap();
            assert_eq!(Some(ids[0]), c.bos_token_id);
            assert!(ids.iter().all(|&i| (i as usize) < c.vocab_size));
            // Learned merges compress the text below one token per byte.
            assert!(
                ids.len() < text.len(),
                "{} ids for {} bytes",
                ids.len(),
                text.len()
            );
            assert_eq!(tok.decode(&ids, true).unwrap(), text);
            assert_eq!(
                tok.decode(&[c.eos_token_id.unwrap()], false).unwrap(),
                "<|end_of_text|>"
            );
        }
    }

    #[test]
    fn stream_decoder_holds_back_split_utf8() {
        let c = Preset::Tiny.config();
        let tok = TextTokenizer::from_json("synthetic", &synthetic_tokenizer_json(&c)).unwrap();
        // "é" is two bytes, 0xC3 0xA9; in the synthetic vocabulary byte b has id b.
        let mut s = StreamDecoder::default();
        assert_eq!(s.push(&tok, b'a' as u32).unwrap(), "a");
        assert_eq!(s.push(&tok, 0xC3).unwrap(), "");
        assert_eq!(s.push(&tok, 0xA9).unwrap(), "é");
    }

    /// Fuzz regression (gguf target, seed 1, input 508987): merges the
    /// `tokenizers` builder would panic on are errors naming the merge, from
    /// JSON in memory and from a tokenizer.json file.
    #[test]
    fn merges_the_bpe_builder_panics_on_are_errors() {
        let vocab = |toks: &[&str]| -> serde_json::Map<String, Value> {
            toks.iter()
                .enumerate()
                .map(|(i, t)| (t.to_string(), json!(i)))
                .collect()
        };
        // "a" + "b" is longer than every token and not in the vocabulary.
        let over_long = bpe_tokenizer_json(vocab(&["a", "b"]), vec![json!("a b")], vec![], None);
        let e = TextTokenizer::from_json("t", &over_long)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("merge 1 (\"a\" \"b\")") && e.contains("\"ab\""),
            "{e}"
        );
        // The same as a pair, and a right-hand token shorter than the prefix.
        let mut prefixed = bpe_tokenizer_json(
            vocab(&["a", "b", "ab"]),
            vec![json!(["a", "b"])],
            vec![],
            None,
        );
        prefixed["model"]["continuing_subword_prefix"] = json!("##");
        let e = TextTokenizer::from_json("t", &prefixed)
            .unwrap_err()
            .to_string();
        assert!(e.contains("continuing_subword_prefix"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tokenizer.json");
        std::fs::write(&p, over_long.to_string()).unwrap();
        let e = TextTokenizer::load(&p).unwrap_err().to_string();
        assert!(e.contains("tokenizer.json") && e.contains("merge 1"), "{e}");
        // A merge whose result is in the vocabulary still loads.
        let fine = bpe_tokenizer_json(vocab(&["a", "b", "ab"]), vec![json!("a b")], vec![], None);
        TextTokenizer::from_json("t", &fine).unwrap();
    }

    #[test]
    fn bad_tokenizer_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tokenizer.json");
        std::fs::write(&p, "{\"model\": 3}").unwrap();
        let e = TextTokenizer::load(&p).unwrap_err().to_string();
        assert!(e.contains("tokenizer.json"), "{e}");
        assert!(TextTokenizer::load(&dir.path().join("missing.json")).is_err());
    }
}
