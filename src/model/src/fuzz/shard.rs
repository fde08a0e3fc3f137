//! The `safetensors` target: mutants of the tiny preset's
//! `model.safetensors` (packed ternary, and bf16 masters), each parsed as
//! the loader parses a shard (`SafetensorsDir::from_bytes`, the parser
//! behind the memory-mapped files) and, when it parses, assembled into a
//! golden model with the tiny config, as `load_dir` does.
//!
//! A shard is an 8-byte little-endian header length `n`, `n` bytes of JSON
//! (`{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}`)
//! and the tensor data. The mutators, one per input (see
//! [`SafetensorsTarget::mutant`]):
//! - `length_field`: `n` set to boundary values (0, 1, `n ± 1`, the file
//!   size, the crate's 100 MB limit, 2^32, u64::MAX, ...) or bit-flipped;
//! - `header_bytes`: byte-level edits of the JSON text, `n` adjusted to
//!   the new length (or left stale);
//! - `header_structure`: 1..=3 edits of the parsed header, re-rendered:
//!   numbers in `shape` / `data_offsets` replaced by boundary values, dims
//!   added, dropped, transposed or refactored, `dtype` changed (to every
//!   dtype name, to invalid ones, or to one of the same size so offsets
//!   still add up), tensors removed, renamed, duplicated or swapped, fields
//!   of an entry removed/renamed/duplicated, `__metadata__` made odd, any
//!   value replaced by an extreme or wrong-typed one; sometimes with the
//!   data truncated or extended as well;
//! - `data`: a tensor's bytes overwritten (NaN, infinities, zeros, invalid
//!   ternary code 3, random), or the data truncated or extended.

use std::path::Path;

use serde_json::{json, Map, Value};
use tritium_golden::{ModelConfig, Preset, SplitMix64 as Rng};

use super::json::{edit_object, extreme_value, render, replace_value, BOUNDARY_INTS};
use super::{below, pick, Mutant, Outcome, Target};
use crate::checkpoint::{assemble, SafetensorsDir};
use crate::error::Result;
use crate::hfconfig::{LinearClass, QuantSpec};
use crate::synthetic::{synth_tensors, CheckpointFormat, SynthOptions};

/// One valid shard and what it loads with.
struct Base {
    name: &'static str,
    bytes: Vec<u8>,
    /// The parsed JSON header.
    header: Map<String, Value>,
    /// Where the data starts (8 + header length).
    data_start: usize,
    config: ModelConfig,
    quant: QuantSpec,
}

/// Mutants of the tiny preset's `model.safetensors`, packed and bf16.
pub struct SafetensorsTarget {
    bases: Vec<Base>,
}

impl SafetensorsTarget {
    /// Builds the two base shards in memory (seed 1).
    pub fn new() -> Result<SafetensorsTarget> {
        let mut bases = Vec::new();
        for (name, format) in [
            ("tiny-packed", CheckpointFormat::HfPacked),
            ("tiny-bf16", CheckpointFormat::HfBf16),
        ] {
            let opts = SynthOptions {
                config: Preset::Tiny.config(),
                seed: 1,
                format,
                linear_class: LinearClass::Autobitlinear,
            };
            let bytes = synth_tensors(&opts, None)?.to_safetensors_bytes()?;
            let n = u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default()) as usize;
            let header = serde_json::from_slice::<Value>(&bytes[8..8 + n])
                .ok()
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
            bases.push(Base {
                name,
                data_start: 8 + n,
                header,
                bytes,
                config: opts.config.clone(),
                quant: opts.quant(),
            });
        }
        Ok(SafetensorsTarget { bases })
    }

    /// The valid bytes of base `i` (tests).
    pub fn base_bytes(&self, i: usize) -> &[u8] {
        &self.bases[i].bytes
    }
}

impl Target for SafetensorsTarget {
    fn name(&self) -> &'static str {
        "safetensors"
    }
    fn extension(&self) -> &'static str {
        "safetensors"
    }
    fn base_name(&self, base: usize) -> String {
        self.bases[base].name.into()
    }

    /// One of the four mutators (weights 2 : 2 : 4 : 2).
    fn mutant(&self, rng: &mut Rng) -> Mutant {
        let base = below(rng, self.bases.len());
        let b = &self.bases[base];
        let bytes = match below(rng, 10) {
            0 | 1 => length_field(rng, b),
            2 | 3 => header_bytes(rng, b),
            4..=7 => header_structure(rng, b),
            _ => data(rng, b),
        };
        Mutant { base, bytes }
    }

    fn check(&self, base: usize, input: Vec<u8>) -> Outcome {
        let b = &self.bases[base];
        let Ok(src) = SafetensorsDir::from_bytes(Path::new("fuzz"), input) else {
            return Outcome::Rejected;
        };
        match assemble(&src, &b.config, b.quant, None) {
            Ok(_) => Outcome::Loaded,
            Err(_) => Outcome::Parsed,
        }
    }
}

/// A shard of header text `header` over data `data`: the length field
/// says `n`, or the header's own length.
fn shard(header: &[u8], data: &[u8], n: Option<u64>) -> Vec<u8> {
    let n = n.unwrap_or(header.len() as u64);
    let mut out = Vec::with_capacity(8 + header.len() + data.len());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(data);
    out
}

/// The 8-byte header length set to a boundary value or bit-flipped.
fn length_field(rng: &mut Rng, b: &Base) -> Vec<u8> {
    let mut out = b.bytes.clone();
    let n = (b.data_start - 8) as u64;
    let len = out.len() as u64;
    if below(rng, 4) == 0 {
        out[below(rng, 8)] ^= 1 << below(rng, 8);
        return out;
    }
    let shift = below(rng, 64);
    let random = rng.next_u64() >> shift;
    let v = pick(
        rng,
        &[
            0,
            1,
            2,
            7,
            8,
            n - 1,
            n + 1,
            n + 8,
            len - 8,
            len,
            len + 1,
            100_000_000,
            100_000_001,
            1 << 32,
            (1 << 32) + n,
            1 << 63,
            u64::MAX,
            random,
        ],
    );
    out[..8].copy_from_slice(&v.to_le_bytes());
    out
}

/// Byte-level edits of the JSON header; the length field follows the new
/// length 3 times in 4, else keeps the old one.
fn header_bytes(rng: &mut Rng, b: &Base) -> Vec<u8> {
    let mut header = b.bytes[8..b.data_start].to_vec();
    super::json::mutate_text(rng, &mut header);
    let stale = (below(rng, 4) == 0).then_some((b.data_start - 8) as u64);
    shard(&header, &b.bytes[b.data_start..], stale)
}

/// Every dtype name the safetensors crate knows, and some it does not.
const DTYPES: [&str; 28] = [
    "BOOL",
    "F4",
    "F6_E2M3",
    "F6_E3M2",
    "U8",
    "I8",
    "F8_E5M2",
    "F8_E4M3",
    "F8_E8M0",
    "F8_E4M3FNUZ",
    "F8_E5M2FNUZ",
    "I16",
    "U16",
    "F16",
    "BF16",
    "I32",
    "U32",
    "F32",
    "C64",
    "F64",
    "I64",
    "U64",
    "bf16",
    "",
    "F128",
    "U4",
    "Q4_K",
    "I2_S",
];

/// Dtype names of the same element size as `dtype` (a change that keeps
/// the data offsets consistent).
fn same_size(dtype: &str) -> &'static [&'static str] {
    match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => {
            &["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0"]
        }
        "U16" | "I16" | "F16" | "BF16" => &["U16", "I16", "F16", "BF16"],
        "U32" | "I32" | "F32" => &["U32", "I32", "F32"],
        _ => &["F64", "I64", "U64", "C64"],
    }
}

/// Tensor names to rename to or add: names of other layers, the untied
/// head, a rotary buffer the loader skips, a layer number beyond any
/// config, the metadata key, the empty name.
const NAMES: [&str; 8] = [
    "lm_head.weight",
    "model.layers.2.mlp.up_proj.weight",
    "model.layers.0.self_attn.rotary_emb.inv_freq",
    "model.layers.18446744073709551615.input_layernorm.weight",
    "model.layers.0.self_attn.q_proj.weight_scale",
    "model.embed_tokens.weight",
    "__metadata__",
    "",
];

/// 1..=3 structure-aware edits of the parsed header, rendered back
/// (pretty 1 time in 8, padded with spaces to 8 bytes half the time);
/// the data truncated or extended 1 time in 4; the length field follows
/// the new header except 1 time in 16.
fn header_structure(rng: &mut Rng, b: &Base) -> Vec<u8> {
    let mut h = b.header.clone();
    for _ in 0..1 + below(rng, 3) {
        edit_header(rng, &mut h);
    }
    let mut text = render(&Value::Object(h), below(rng, 8) == 0).into_bytes();
    if below(rng, 2) == 0 {
        text.resize(text.len().next_multiple_of(8), b' ');
    }
    let mut data = b.bytes[b.data_start..].to_vec();
    if below(rng, 4) == 0 {
        resize_data(rng, &mut data);
    }
    let stale = (below(rng, 16) == 0).then_some((b.data_start - 8) as u64);
    shard(&text, &data, stale)
}

/// A tensor entry of the header (not `__metadata__`), by name.
fn random_tensor(rng: &mut Rng, h: &Map<String, Value>) -> Option<String> {
    let names: Vec<&String> = h.keys().filter(|k| *k != "__metadata__").collect();
    (!names.is_empty()).then(|| names[below(rng, names.len())].to_string())
}

/// A boundary integer, 3 times in 4; else an extreme or wrong-typed value.
fn boundary(rng: &mut Rng, old: &Value) -> Value {
    if below(rng, 4) > 0 {
        json!(pick(rng, &BOUNDARY_INTS))
    } else {
        extreme_value(rng, old)
    }
}

/// One edit of the header (see `header_structure`).
fn edit_header(rng: &mut Rng, h: &mut Map<String, Value>) {
    let all: Vec<String> = h.keys().cloned().collect();
    let Some(name) = random_tensor(rng, h) else {
        edit_object(rng, h, &NAMES);
        return;
    };
    let data_len = h
        .values()
        .filter_map(|v| v["data_offsets"][1].as_u64())
        .max()
        .unwrap_or(0);
    let Some(entry) = h.get_mut(&name) else {
        return;
    };
    if !entry.is_object() {
        // An earlier edit replaced the entry: edit it as any value.
        replace_value(rng, entry);
        return;
    }
    match below(rng, 10) {
        0 => edit_shape(rng, entry),
        1 => edit_offsets(rng, entry, data_len),
        2 => {
            let old = entry["dtype"].as_str().unwrap_or("").to_string();
            entry["dtype"] = if below(rng, 2) == 0 {
                json!(pick(rng, &DTYPES))
            } else {
                json!(pick(rng, same_size(&old)))
            };
        }
        3 => reinterpret(rng, entry),
        4 => {
            if let Some(m) = entry.as_object_mut() {
                edit_object(rng, m, &["dtype", "shape", "data_offsets", "extra"]);
            } else {
                *entry = json!({});
            }
        }
        5 | 6 => {
            let mut names: Vec<&str> = NAMES.to_vec();
            names.extend(all.iter().map(String::as_str));
            edit_object(rng, h, &names);
        }
        7 => {
            h.insert(
                "__metadata__".into(),
                match below(rng, 4) {
                    0 => json!({"format": "pt"}),
                    1 => json!({"format": 1, "a": null}),
                    2 => json!({"x": "y".repeat(1 + below(rng, 1 << 16))}),
                    _ => extreme_value(rng, &Value::Null),
                },
            );
        }
        _ => replace_value(rng, entry),
    }
}

/// `shape` edits: a dim replaced by a boundary value, a dim added (0, 1
/// or a boundary value) or dropped, the dims reversed (a transpose, sizes
/// still valid), the first dim split into two factors or all dims merged
/// into one (sizes still valid), or the whole shape replaced.
fn edit_shape(rng: &mut Rng, entry: &mut Value) {
    let dims: Vec<u64> = entry["shape"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let Some(shape) = entry["shape"].as_array_mut() else {
        entry["shape"] = boundary(rng, &Value::Null);
        return;
    };
    match below(rng, 6) {
        0 if !shape.is_empty() => {
            let i = below(rng, shape.len());
            shape[i] = boundary(rng, &shape[i]);
        }
        1 => {
            let v = match below(rng, 3) {
                0 => json!(0),
                1 => json!(1),
                _ => json!(pick(rng, &BOUNDARY_INTS)),
            };
            shape.insert(below(rng, shape.len() + 1), v);
        }
        2 if !shape.is_empty() => {
            shape.remove(below(rng, shape.len()));
        }
        3 => shape.reverse(),
        4 if !dims.is_empty() => {
            let f = pick(rng, &[2u64, 4, 8, 3]);
            *shape = if below(rng, 2) == 0 && dims[0].is_multiple_of(f) {
                let mut d = vec![json!(f), json!(dims[0] / f)];
                d.extend(dims[1..].iter().map(|&x| json!(x)));
                d
            } else {
                let all = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
                vec![json!(all.unwrap_or(u64::MAX))]
            };
        }
        _ => entry["shape"] = extreme_value(rng, &entry["shape"]),
    }
}

/// `data_offsets` edits: begin or end replaced by a boundary value or
/// moved by one, end set to the data size or past it, the pair swapped,
/// a third offset added, or the whole field replaced.
fn edit_offsets(rng: &mut Rng, entry: &mut Value, data_len: u64) {
    let Some(offs) = entry["data_offsets"].as_array_mut() else {
        entry["data_offsets"] = boundary(rng, &Value::Null);
        return;
    };
    if offs.is_empty() {
        offs.push(json!(0));
    }
    let i = below(rng, offs.len());
    let old = offs[i].as_u64();
    match below(rng, 6) {
        0 | 1 => offs[i] = boundary(rng, &offs[i]),
        2 => offs[i] = json!(old.map_or(0, |v| v.wrapping_add(1))),
        3 => offs[i] = json!(old.map_or(0, |v| v.wrapping_sub(1))),
        4 => offs[i] = json!(data_len.saturating_add(below(rng, 2) as u64)),
        _ => match below(rng, 3) {
            0 => offs.reverse(),
            1 => offs.push(json!(data_len)),
            _ => entry["data_offsets"] = extreme_value(rng, &entry["data_offsets"]),
        },
    }
}

/// Reinterprets a tensor's bytes with another dtype of a different size,
/// the last dim rescaled so the byte count (and so the offsets) stay
/// valid: 2-byte as 1-byte ([r, 2c] U8/I8), 1-byte as 2-byte ([r, c/2]
/// BF16/F16), anything as 4-bit F4 ([r, 2c] per byte), 2-byte as F32
/// ([r, c/2]).
fn reinterpret(rng: &mut Rng, entry: &mut Value) {
    let size = match entry["dtype"].as_str() {
        Some("U8" | "I8" | "BOOL") => 1,
        Some("BF16" | "F16" | "I16" | "U16") => 2,
        Some("F32" | "I32" | "U32") => 4,
        _ => return,
    };
    let Some(last) = entry["shape"]
        .as_array()
        .and_then(|a| a.last())
        .and_then(Value::as_u64)
    else {
        return;
    };
    let (dtype, new_size) = pick(
        rng,
        &[
            ("U8", 2u64),
            ("I8", 2),
            ("BF16", 4),
            ("F16", 4),
            ("F32", 8),
            ("F4", 1),
        ],
    );
    // Bits per element: size * 8 -> new_size * 4 (F4: 4 bits).
    let (num, den) = (size * 8, new_size * 4);
    let Some(bits) = last.checked_mul(num).filter(|b| b.is_multiple_of(den)) else {
        return;
    };
    entry["dtype"] = json!(dtype);
    if let Some(a) = entry["shape"].as_array_mut() {
        if let Some(l) = a.last_mut() {
            *l = json!(bits / den);
        }
    }
}

/// The data truncated (by 1, 2, 8 or a random number of bytes, or to
/// nothing) or extended (by 1, 8 or a random number of bytes).
fn resize_data(rng: &mut Rng, data: &mut Vec<u8>) {
    let len = data.len();
    match below(rng, 4) {
        0 => data.truncate(len.saturating_sub(pick(rng, &[1usize, 2, 8]))),
        1 => data.truncate(below(rng, len + 1)),
        2 => data.clear(),
        _ => {
            let random = 1 + below(rng, 4096);
            let n = pick(rng, &[1usize, 8, random]);
            data.resize(len + n, 0xAA);
        }
    }
}

/// Special values written over part of one tensor's data: bf16 NaN,
/// infinities, zeros, the largest finite value and a subnormal; bytes of
/// invalid ternary codes (0xFF: four code-3 weights), zeros, random; or the
/// data truncated or extended.
fn data(rng: &mut Rng, b: &Base) -> Vec<u8> {
    let mut out = b.bytes.clone();
    let Some(name) = random_tensor(rng, &b.header) else {
        return out;
    };
    let offs = &b.header[&name]["data_offsets"];
    let (Some(begin), Some(end)) = (offs[0].as_u64(), offs[1].as_u64()) else {
        return out;
    };
    let (begin, end) = (b.data_start + begin as usize, b.data_start + end as usize);
    if below(rng, 4) == 0 || end <= begin {
        let mut d = out.split_off(b.data_start);
        resize_data(rng, &mut d);
        out.extend_from_slice(&d);
        return out;
    }
    let pattern: [u8; 2] = match below(rng, 10) {
        0 => 0x7fc0u16.to_le_bytes(),
        1 => 0x7f80u16.to_le_bytes(),
        2 => 0xff80u16.to_le_bytes(),
        3 => 0x8000u16.to_le_bytes(),
        4 => 0x7f7fu16.to_le_bytes(),
        5 => 0x0001u16.to_le_bytes(),
        6 => [0xff, 0xff],
        7 => [0, 0],
        _ => (rng.next_u64() as u16).to_le_bytes(),
    };
    // Align to the element start (2-byte patterns on 2-byte values).
    let at = begin + below(rng, end - begin) / 2 * 2;
    let n = (2 * (1 + below(rng, 8))).min(end - at);
    for (i, byte) in out[at..at + n].iter_mut().enumerate() {
        *byte = pattern[i % 2];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_load_unmutated() {
        let t = SafetensorsTarget::new().unwrap();
        for i in 0..2 {
            assert_eq!(t.check(i, t.base_bytes(i).to_vec()), Outcome::Loaded);
        }
    }

    #[test]
    fn same_size_and_reinterpreted_dtypes_keep_offsets_valid() {
        let t = SafetensorsTarget::new().unwrap();
        let mut rng = Rng::new(3);
        let mut parsed = 0;
        for _ in 0..200 {
            let b = &t.bases[0];
            let mut h = b.header.clone();
            let name = random_tensor(&mut rng, &h).unwrap();
            reinterpret(&mut rng, h.get_mut(&name).unwrap());
            let text = render(&Value::Object(h), false);
            let bytes = shard(text.as_bytes(), &b.bytes[b.data_start..], None);
            parsed += u32::from(t.check(0, bytes) != Outcome::Rejected);
        }
        assert!(parsed > 150, "{parsed}");
    }
}
