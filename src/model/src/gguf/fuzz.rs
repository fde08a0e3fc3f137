//! A small mutation fuzzer for the GGUF parser and loader (cargo-fuzz needs
//! a nightly toolchain; this runs on stable). Used by the `fuzz_gguf`
//! example (`cargo run --release -p tritium-model --features fuzzing
//! --example fuzz_gguf -- --seconds 300`) and, briefly, by the unit tests;
//! not part of the crate's API without the `fuzzing` feature.

use std::path::Path;
use std::time::{Duration, Instant};

use tritium_golden::SplitMix64 as Rng;

use super::GgufFile;

/// One mutant of `base`: 1..=4 of bit flips, byte sets, 8-byte length
/// fields set to large or boundary values, truncation, splices.
/// `hot` bytes at the start (the header) are mutated more often.
fn below(rng: &mut Rng, n: usize) -> usize {
    rng.below(n as u64) as usize
}

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
                let v = [0u32, 1, 9, 36, 37, 38, 39, 255, u32::MAX][below(rng, 9)];
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

/// Parses and loads `bytes` (model, tokenizer) and reports whether that
/// panicked. Errors are the expected outcome of most mutants.
pub fn panics(bytes: Vec<u8>) -> bool {
    std::panic::catch_unwind(move || {
        if let Ok(f) = GgufFile::from_bytes(Path::new("fuzz.gguf"), bytes) {
            let _ = super::load::load_model(&f, None);
            let _ = super::vocab::load_tokenizer(&f);
        }
    })
    .is_err()
}

/// Result of a fuzz run.
#[derive(Debug, Clone, Default)]
pub struct FuzzReport {
    pub inputs: u64,
    pub parsed_ok: u64,
    pub elapsed: Duration,
    /// The first input that panicked, if any.
    pub panicked: Option<Vec<u8>>,
}

/// Mutates `base` until `budget` is spent or `max_inputs` were tried.
pub fn run(base: &[u8], hot: usize, seed: u64, budget: Duration, max_inputs: u64) -> FuzzReport {
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let mut r = FuzzReport::default();
    while r.inputs < max_inputs && start.elapsed() < budget {
        let m = mutate(&mut rng, base, hot);
        r.inputs += 1;
        if super::parse_header(&m).is_ok() {
            r.parsed_ok += 1;
        }
        if panics(m.clone()) {
            r.panicked = Some(m);
            break;
        }
    }
    r.elapsed = start.elapsed();
    r
}
