//! The decode body [`crate::Body::Auto`] picks on the AVX2 path, by
//! measurement on the CPU it runs on.
//!
//! Which body decodes faster with AVX2 depends on the core, not on the
//! instruction set: on a Xeon (Sapphire Rapids, AVX2 forced) the base-3
//! kernel decodes the whole 2B4T model 1.3x faster than either 2-bit family,
//! while on an AMD EPYC (Zen 3) the 2-bit multiply-add kernel computes
//! about 2.2x as many weights per second as the base-3 one in cache, and
//! base-3 gains nothing on the whole model (README, "Decode families on
//! AVX2"). So the first AVX2 backend that resolves
//! [`crate::Body::Auto`] times both kernels once per process, one thread, on
//! a matrix that stays in cache (no memory traffic: each kernel's compute
//! rate alone), interleaved, best of several rounds.
//!
//! The rule: base-3 when it computes at least as many weights per second as
//! 2-bit. Then it is never the slower decode (it also reads a fifth fewer
//! bytes); below that it is slower wherever decode is compute-bound, as it
//! is on the cores where this happens, so 2-bit is kept. Both bodies give the
//! same logits: the choice changes speed only.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tritium_golden::TernaryMatrix;

use crate::base3::{B3Acts, B3Matrix};
use crate::kernels::{self, Acts, Isa};
use crate::layout::PackedTernary;

/// Rows and inputs of the probe matrix: 160 KiB in 2-bit, 128 KiB in
/// base-3, in cache on every x86 core with AVX2; 16 panels.
const N: usize = 256;
const K: usize = 2560;
/// Rounds (each times both kernels) and calls per timing.
const ROUNDS: usize = 7;
const CALLS: usize = 4;

/// The two compute rates measured, in ternary multiply-accumulates per
/// second of one thread.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BodyProbe {
    pub bit2_macs_per_s: f64,
    pub base3_macs_per_s: f64,
}

impl BodyProbe {
    /// Whether [`crate::Body::Auto`] resolves to base-3 (see the module
    /// docs for the rule).
    pub fn base3_wins(&self) -> bool {
        self.base3_macs_per_s >= self.bit2_macs_per_s
    }
}

/// The AVX2 probe of this process (run on first use); `None` where the CPU
/// has no AVX2.
pub fn avx2_probe() -> Option<BodyProbe> {
    static PROBE: OnceLock<Option<BodyProbe>> = OnceLock::new();
    *PROBE.get_or_init(|| Isa::Avx2.available().then(|| probe(Isa::Avx2)))
}

/// Times `isa`'s 2-bit and base-3 single-token kernels on the probe matrix.
fn probe(isa: Isa) -> BodyProbe {
    // Weights and activations from a fixed xorshift: zeros, both signs,
    // every activation value.
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let t: Vec<i8> = (0..N * K).map(|_| (next() % 3) as i8 - 1).collect();
    let a: Vec<i8> = (0..K).map(|_| next() as u8 as i8).collect();
    let w = TernaryMatrix::from_ternary("calibration", N, K, &t, 1.0)
        .expect("the probe matrix has a valid shape");
    let p2 = PackedTernary::from_matrix(&w);
    let p3 = B3Matrix::from_matrix(&w);
    let mut padded = vec![0i8; p2.k_padded()];
    padded[..K].copy_from_slice(&a);
    let sums = [kernels::act_sum(&a)];
    let acts = Acts {
        data: &padded,
        stride: p2.k_padded(),
        sums: &sums,
        rows: 1,
    };
    let mut b3 = B3Acts::default();
    b3.set(&a, p3.groups(), true);
    let mut out = vec![0i32; N];
    let mut time = |f: &mut dyn FnMut(&mut [i32])| {
        f(&mut out);
        let t0 = Instant::now();
        for _ in 0..CALLS {
            f(&mut out);
        }
        t0.elapsed()
    };
    let (mut bit2, mut base3) = (Duration::MAX, Duration::MAX);
    let (then2, then3) = (
        kernels::NextStep::of(&p2, p2.panels()),
        kernels::NextStep::of_base3(&p3, p3.panels()),
    );
    for _ in 0..ROUNDS {
        bit2 = bit2.min(time(&mut |o| {
            kernels::ternary_panels(isa, &p2, 0, p2.panels(), &acts, o, then2)
        }));
        base3 = base3.min(time(&mut |o| {
            kernels::base3_panels(isa, &p3, 0, p3.panels(), &b3, o, then3)
        }));
    }
    let rate = |d: Duration| (CALLS * N * K) as f64 / d.as_secs_f64().max(1e-9);
    BodyProbe {
        bit2_macs_per_s: rate(bit2),
        base3_macs_per_s: rate(base3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe gives finite positive rates on every path it can time,
    /// and the AVX2 one is measured once per process.
    #[test]
    fn probe_rates_are_positive_and_measured_once() {
        for isa in crate::present_kernels().unwrap() {
            if !matches!(isa.vector(), Isa::Avx2 | Isa::Avx512 | Isa::Scalar) {
                continue;
            }
            let p = probe(isa);
            assert!(p.bit2_macs_per_s.is_finite() && p.bit2_macs_per_s > 0.0);
            assert!(p.base3_macs_per_s.is_finite() && p.base3_macs_per_s > 0.0);
        }
        if let Some(p) = avx2_probe() {
            assert_eq!(avx2_probe(), Some(p), "measured once per process");
        }
    }
}
