//! The `gguf` target of the fuzz campaign ([`crate::fuzz`]): a mutator of
//! GGUF bytes ([`mutate`]) and [`GgufTarget`], which mutates small valid
//! files (the tiny preset in bitnet.cpp's I2_S; tiny256 in llama.cpp's
//! TQ2_0 and TQ1_0, whose blocks need K a multiple of 256, and in
//! ik_llama.cpp's IQ2_BN and IQ1_BN, rows of 64-element blocks), and parses,
//! loads (model, and tokenizer from `tokenizer.ggml.*`) every mutant.
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
/// 4-byte fields (type ids, counts) set to boundary values and the type
/// ids next to I2_S/TL1/TL2 and IQ1_BN/IQ2_BN, truncation, splices of a chunk over another
/// place. `hot` bytes at the start (the header) are mutated 3 times in 4.
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
                let v = [0u32, 1, 9, 36, 37, 38, 39, 134, 135, 255, u32::MAX][below(rng, 11)];
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

/// Mutants of small GGUF files, each of one weight type.
pub struct GgufTarget {
    /// (name, bytes, header length) of each base file.
    bases: Vec<(String, Vec<u8>, usize)>,
}

impl GgufTarget {
    /// The base files of `weights` (I2_S on the tiny preset, TQ2_0/TQ1_0 on
    /// tiny256), with the synthetic tokenizer in their metadata, F16
    /// embedding, weights of seed 1.
    pub fn new(weights: &[WeightType]) -> Result<GgufTarget> {
        let mut bases = Vec::new();
        for &w in weights {
            let (preset, name) = match w {
                WeightType::I2S => (Preset::Tiny, "tiny-i2s"),
                WeightType::Tq2 => (Preset::Tiny256, "tiny256-tq2"),
                WeightType::Tq1 => (Preset::Tiny256, "tiny256-tq1"),
                WeightType::Iq2bn => (Preset::Tiny256, "tiny256-iq2bn"),
                WeightType::Iq1bn => (Preset::Tiny256, "tiny256-iq1bn"),
            };
            let model = preset_model(preset, 1)?;
            let bytes = model_to_writer(
                &model,
                &WriteOptions {
                    weights: w,
                    embed: EmbedType::F16,
                    name: "fuzz".into(),
                    tokenizer: Some(crate::tokenizer::synthetic_tokenizer_json(model.config())),
                },
            )?
            .to_bytes();
            let hot = super::parse_header(&bytes)
                .map_err(|m| super::gguf_err(Path::new(name), m))?
                .data_start as usize;
            bases.push((name.to_string(), bytes, hot));
        }
        Ok(GgufTarget { bases })
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
