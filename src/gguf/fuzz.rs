//! A small mutation fuzzer for the GGUF parser and loader (cargo-fuzz needs
//! a nightly toolchain; this runs on stable). Used by the
//! `fuzz_gguf` example (`cargo run --release --example fuzz_gguf --
//! --seconds 300`) and, briefly, by the unit tests.

use std::path::Path;
use std::time::{Duration, Instant};

use super::GgufFile;

/// SplitMix64.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// One mutant of `base`: 1..=4 of bit flips, byte sets, 8-byte length
/// fields set to large or boundary values, truncation, splices.
/// `hot` bytes at the start (the header) are mutated more often.
pub fn mutate(rng: &mut Rng, base: &[u8], hot: usize) -> Vec<u8> {
    let mut b = base.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        if b.is_empty() {
            break;
        }
        let len = b.len();
        let pos = if rng.below(4) > 0 {
            rng.below(hot.min(len))
        } else {
            rng.below(len)
        };
        match rng.below(6) {
            0 => b[pos] ^= 1 << rng.below(8),
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
                    rng.next_u64() >> rng.below(64),
                ];
                let v = vals[rng.below(vals.len())];
                let end = (pos + 8).min(len);
                b[pos..end].copy_from_slice(&v.to_le_bytes()[..end - pos]);
            }
            3 => {
                let v = [0u32, 1, 9, 36, 37, 38, 39, 255, u32::MAX][rng.below(9)];
                let end = (pos + 4).min(len);
                b[pos..end].copy_from_slice(&v.to_le_bytes()[..end - pos]);
            }
            4 => b.truncate(pos),
            _ => {
                // Copy a random chunk over another place.
                let src = rng.below(len);
                let n = rng.below(32).min(len - src).min(len - pos);
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
