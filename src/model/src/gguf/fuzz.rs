//! The `gguf` target of the fuzz campaign ([`crate::fuzz`]): a mutator of
//! GGUF bytes ([`mutate`]) and [`GgufTarget`], which mutates small valid
//! files ([`ALL_BASES`]: tritium's own in every BitLinear format and
//! embedding type it writes, and two written by ik_llama.cpp's tools), and
//! parses, loads (model, and tokenizer from `tokenizer.ggml.*`) every
//! mutant.
//! Run by the `fuzz` example (`--target gguf`) and, briefly, by the unit
//! tests; not part of the crate's API without the `fuzzing` feature.

use std::path::Path;

use tritium_golden::{Preset, SplitMix64 as Rng};

use super::export::{model_to_writer, EmbedType, WeightType, WriteOptions};
use super::GgufFile;
use crate::error::Result;
use crate::fuzz::{below, Mutant, Outcome, Target};
use crate::synthetic::preset_model;

/// One mutant of `base`: 1..=4 of bit flips, byte sets, 8-byte fields
/// (string and array lengths, dims, offsets) set to boundary values,
/// 4-byte fields (type ids, counts) set to boundary values and to the type
/// ids of the dense formats (F32, F16, Q8_0, Q6_K, BF16), of the ternary
/// ones and their neighbours (TQ1_0/TQ2_0, I2_S/TL1/TL2, IQ1_BN/IQ2_BN),
/// truncation, splices of a chunk over another place. `hot` bytes at the
/// start (the header) are mutated 3 times in 4.
pub fn mutate(rng: &mut Rng, base: &[u8], hot: usize) -> Vec<u8> {
    let mut b = base.to_vec();
    let rounds = 1 + below(rng, 4);
    for _ in 0..rounds {
        if b.is_empty() {
            break;
        }
        let len = b.len();
        let pos = if below(rng, 4) > 0 {
            below(rng, hot.min(len))
        } else {
            below(rng, len)
        };
        match below(rng, 6) {
            0 => b[pos] ^= 1 << below(rng, 8),
            1 => b[pos] = rng.next_u64() as u8,
            2 => {
                // Inflate or zero a u64 (string and array lengths, dims, offsets).
                let vals = [
                    0u64,
                    1,
                    u64::MAX,
                    u64::MAX / 2,
                    1 << 32,
                    len as u64,
                    rng.next_u64() >> below(rng, 64),
                ];
                let v = vals[below(rng, vals.len())];
                let end = (pos + 8).min(len);
                b[pos..end].copy_from_slice(&v.to_le_bytes()[..end - pos]);
            }
            3 => {
                let v = [
                    0u32,
                    1,
                    8,
                    9,
                    14,
                    30,
                    34,
                    35,
                    36,
                    37,
                    38,
                    39,
                    134,
                    135,
                    136,
                    255,
                    u32::MAX,
                ];
                let v = v[below(rng, v.len())];
                let end = (pos + 4).min(len);
                b[pos..end].copy_from_slice(&v.to_le_bytes()[..end - pos]);
            }
            4 => b.truncate(pos),
            _ => {
                // Copy a random chunk over another place.
                let src = below(rng, len);
                let n = below(rng, 32).min(len - src).min(len - pos);
                let chunk = b[src..src + n].to_vec();
                b[pos..pos + n].copy_from_slice(&chunk);
            }
        }
    }
    b
}

/// One base file of [`GgufTarget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgufBase {
    /// Written by tritium from a synthetic preset (seed 1, the synthetic
    /// tokenizer in its metadata): the tiny preset for I2_S, tiny256 for
    /// the block formats (TQ blocks need K a multiple of 256, IQ*_BN rows
    /// whole 64-element blocks); the embedding (also the head) in `EmbedType`.
    Own(WeightType, EmbedType),
    /// Written by a peer engine's own tools: a file of
    /// `tests/vectors/gguf/` (see `tests/gguf_peer_files.rs`).
    Peer(&'static str),
}

impl GgufBase {
    /// The name the campaign reports (and `--base` selects).
    pub fn name(self) -> String {
        match self {
            GgufBase::Own(w, e) => {
                let (preset, fmt) = match w {
                    WeightType::I2S => ("tiny", "i2s"),
                    WeightType::Tq2 => ("tiny256", "tq2"),
                    WeightType::Tq1 => ("tiny256", "tq1"),
                    WeightType::Iq2bn => ("tiny256", "iq2bn"),
                    WeightType::Iq1bn => ("tiny256", "iq1bn"),
                };
                match e {
                    EmbedType::F16 => format!("{preset}-{fmt}"),
                    EmbedType::Bf16 => format!("{preset}-{fmt}-bf16"),
                    EmbedType::F32 => format!("{preset}-{fmt}-f32"),
                    EmbedType::Q8_0 => format!("{preset}-{fmt}-q8_0"),
                }
            }
            GgufBase::Peer(file) => file.trim_end_matches(".gguf").to_string(),
        }
    }
}

/// Every base: each BitLinear format with the F16 embedding (as
/// microsoft's and llama.cpp's files), the other stored embedding types
/// tritium writes (BF16, F32, Q8_0), and ik_llama.cpp's own IQ2_BN file
/// with a Q6_K embedding and IQ1_BN file.
pub const ALL_BASES: &[GgufBase] = &[
    GgufBase::Own(WeightType::I2S, EmbedType::F16),
    GgufBase::Own(WeightType::Tq2, EmbedType::F16),
    GgufBase::Own(WeightType::Tq1, EmbedType::F16),
    GgufBase::Own(WeightType::Iq2bn, EmbedType::F16),
    GgufBase::Own(WeightType::Iq1bn, EmbedType::F16),
    GgufBase::Own(WeightType::I2S, EmbedType::Bf16),
    GgufBase::Own(WeightType::Tq2, EmbedType::F32),
    GgufBase::Own(WeightType::Tq1, EmbedType::Q8_0),
    GgufBase::Peer("ik-iq2bn-q6k.gguf"),
    GgufBase::Peer("ik-iq1bn.gguf"),
];

/// Where the peer files are: the repository's `tests/vectors/gguf/`.
fn peer_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/gguf")
}

/// Mutants of small GGUF files ([`GgufBase`]).
pub struct GgufTarget {
    /// (name, bytes, header length) of each base file.
    bases: Vec<(String, Vec<u8>, usize)>,
}

impl GgufTarget {
    /// The target over `bases`.
    pub fn new(bases: &[GgufBase]) -> Result<GgufTarget> {
        let mut out = Vec::new();
        for &base in bases {
            let name = base.name();
            let bytes = match base {
                GgufBase::Own(w, embed) => {
                    let preset = if w == WeightType::I2S {
                        Preset::Tiny
                    } else {
                        Preset::Tiny256
                    };
                    let model = preset_model(preset, 1)?;
                    let tokenizer = crate::tokenizer::synthetic_tokenizer_json(model.config());
                    let opts = WriteOptions {
                        weights: w,
                        embed,
                        name: "fuzz".into(),
                        tokenizer: Some(tokenizer),
                    };
                    model_to_writer(&model, &opts)?.to_bytes()
                }
                GgufBase::Peer(file) => tritium_util::file::read_regular(&peer_dir().join(file))?,
            };
            let hot = super::parse_header(&bytes)
                .map_err(|m| super::gguf_err(Path::new(&name), m))?
                .data_start as usize;
            out.push((name, bytes, hot));
        }
        Ok(GgufTarget { bases: out })
    }

    /// The valid bytes of base `i` (tests).
    pub fn base_bytes(&self, i: usize) -> &[u8] {
        &self.bases[i].1
    }
}

impl Target for GgufTarget {
    fn name(&self) -> &'static str {
        "gguf"
    }
    fn extension(&self) -> &'static str {
        "gguf"
    }
    fn base_name(&self, base: usize) -> String {
        self.bases[base].0.clone()
    }

    /// A base chosen uniformly, then [`mutate`].
    fn mutant(&self, rng: &mut Rng) -> Mutant {
        let base = below(rng, self.bases.len());
        let (_, bytes, hot) = &self.bases[base];
        Mutant {
            base,
            bytes: mutate(rng, bytes, *hot),
        }
    }

    /// Parses (counted as parsed when the header is valid), then loads the
    /// model and the tokenizer (loaded when both succeed).
    fn check(&self, _base: usize, input: Vec<u8>) -> Outcome {
        let Ok(f) = GgufFile::from_bytes(Path::new("fuzz.gguf"), input) else {
            return Outcome::Rejected;
        };
        let model = super::load::load_model(&f, None);
        let tokenizer = super::vocab::load_tokenizer(&f);
        if model.is_ok() && tokenizer.is_ok() {
            Outcome::Loaded
        } else {
            Outcome::Parsed
        }
    }
}
