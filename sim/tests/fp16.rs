//! The FP16 comparison PE (`rtl/fp16_mac_pe.sv`, Verilated) against a Rust
//! reference of IEEE binary16 arithmetic, bit for bit.
//!
//! Reference: the `half` crate. Each operation is computed in f32 and
//! rounded once to f16 (round to nearest even). That is the correctly
//! rounded binary16 result for +, - and *: f32 has p' = 24 significand bits
//! and binary16 p = 11, and double rounding through a format with
//! p' >= 2p + 2 is innocuous for these operations (Figueroa 1995); here the
//! f32 step is even exact (an 11 x 11-bit product has at most 22 bits; a
//! sum of two binary16 values fits 24 bits unless their exponents differ by
//! more than ~13, and then the f32 rounding cannot create a binary16 tie).
//! The f32 exponent range covers every product and sum (smallest nonzero
//! product 2^-48, largest 2^32), so no f32 underflow or overflow interferes.
//!
//! The PE computes acc <- round(acc + round(a * b)). Every NaN result must be
//! exactly the canonical quiet NaN 0x7E00 (the PE's documented contract;
//! stricter than "is NaN").

use half::f16;
use tritium_sim::{Fp16Sim, FP16_CANONICAL_NAN};

const ONE: u16 = 0x3C00;

fn canon(x: f16) -> u16 {
    if x.is_nan() {
        FP16_CANONICAL_NAN
    } else {
        x.to_bits()
    }
}

fn ref_mul(a: u16, b: u16) -> u16 {
    canon(f16::from_f32(
        f16::from_bits(a).to_f32() * f16::from_bits(b).to_f32(),
    ))
}

fn ref_add(a: u16, b: u16) -> u16 {
    canon(f16::from_f32(
        f16::from_bits(a).to_f32() + f16::from_bits(b).to_f32(),
    ))
}

/// Values that exercise every special path: signed zeros, subnormals (the
/// smallest, the largest, in between), the smallest normal, one and its
/// neighbours, thirds (inexact products), the largest finite value,
/// infinities and NaNs (quiet, signalling, negative, with payload).
const SPECIALS: &[u16] = &[
    0x0000, 0x8000, // +-0
    0x0001, 0x8001, 0x0002, 0x0155, 0x03FF, 0x83FF, // subnormals
    0x0400, 0x8400, 0x0401, // smallest normals
    0x1000, 0x1400, 0x2400, // 2^-11, 2^-10, 2^-6
    0x3BFF, 0x3C00, 0xBC00, 0x3C01, 0x3E00, 0x4200, // around one, 1.5, 3
    0x3555, 0xB555, 0x4555, // ~1/3, ~5.33
    0x5BFF, 0x7800, 0x7BFF, 0xFBFF, // large, max finite
    0x7C00, 0xFC00, // +-inf
    0x7E00, 0x7C01, 0xFE00, 0x7FFF, // NaNs
];

/// Reproducible random bit patterns (tritium's SplitMix64).
struct Rng(tritium_golden::SplitMix64);
impl Rng {
    fn u16(&mut self) -> u16 {
        self.0.next_u64() as u16
    }
}

/// Runs (c, a, b) vectors: acc <- c (clear, then c * 1.0), then acc <- acc +
/// a * b; checks both steps. Returns the number of mismatches, printing the
/// first few.
struct Checker {
    sim: Fp16Sim,
    failures: usize,
    vectors: usize,
}

impl Checker {
    fn new() -> Self {
        Checker {
            sim: Fp16Sim::new().expect("create the fp16_mac_pe model"),
            failures: 0,
            vectors: 0,
        }
    }

    fn report(&mut self, what: &str, inputs: String, want: u16, got: u16) {
        if want != got {
            self.failures += 1;
            if self.failures <= 20 {
                eprintln!("{what} {inputs}: expected {want:#06x}, RTL gave {got:#06x}");
            }
        }
    }

    /// acc = round(c + round(a * b)).
    fn mac(&mut self, c: u16, a: u16, b: u16) {
        self.vectors += 1;
        let got = self.sim.mac(true, c, ONE).expect("load c");
        let c_ref = ref_mul(c, ONE);
        self.report("load", format!("c={c:#06x}"), c_ref, got);
        let got = self.sim.mac(false, a, b).expect("mac");
        let want = ref_add(c_ref, ref_mul(a, b));
        self.report(
            "mac",
            format!("c={c:#06x} a={a:#06x} b={b:#06x}"),
            want,
            got,
        );
    }

    /// acc = round(a * b) (cleared to -0 first: -0 + x == x).
    fn mul(&mut self, a: u16, b: u16) {
        self.vectors += 1;
        let got = self.sim.mac(true, a, b).expect("mul");
        self.report("mul", format!("a={a:#06x} b={b:#06x}"), ref_mul(a, b), got);
    }

    fn finish(self, what: &str) {
        assert_eq!(
            self.failures, 0,
            "{what}: {} of {} vectors differ from the IEEE binary16 reference",
            self.failures, self.vectors
        );
    }
}

#[test]
fn fp16_special_values_every_combination() {
    let mut ck = Checker::new();
    for &c in SPECIALS {
        for &a in SPECIALS {
            for &b in SPECIALS {
                ck.mac(c, a, b);
            }
        }
    }
    for &a in SPECIALS {
        for &b in SPECIALS {
            ck.mul(a, b);
        }
    }
    ck.finish("special values");
}

#[test]
fn fp16_named_cases() {
    let mut sim = Fp16Sim::new().unwrap();
    // After reset and after a clear the accumulator is -0.
    assert_eq!(sim.acc(), 0x8000);
    // -0 + (+0 * 1) = +0; -0 + (-0 * 1) = -0.
    assert_eq!(sim.mac(true, 0x0000, ONE).unwrap(), 0x0000);
    assert_eq!(sim.mac(true, 0x8000, ONE).unwrap(), 0x8000);
    // Overflow to infinity: max * 2 and 65504 + 16 (rounds up to 2^16).
    assert_eq!(sim.mac(true, 0x7BFF, 0x4000).unwrap(), 0x7C00);
    sim.mac(true, 0x7BFF, ONE).unwrap();
    assert_eq!(sim.mac(false, 0x4C00, ONE).unwrap(), 0x7C00); // + 16
                                                              // Underflow: 2^-24 * 0.5 is a tie between 0 and 2^-24: even = 0 (sign kept).
    assert_eq!(sim.mac(true, 0x0001, 0x3800).unwrap(), 0x0000);
    assert_eq!(sim.mac(true, 0x8001, 0x3800).unwrap(), 0x8000);
    // 2^-24 * 0.75 rounds up to the smallest subnormal.
    assert_eq!(sim.mac(true, 0x0001, 0x3A00).unwrap(), 0x0001);
    // A product landing in the subnormal range: 2^-14 * 0.5 = 2^-15.
    assert_eq!(sim.mac(true, 0x0400, 0x3800).unwrap(), 0x0200);
    // Ties to even in the add: 1 + 2^-11 -> 1; (1 + 2^-10) + 2^-11 -> 1 + 2^-9.
    sim.mac(true, ONE, ONE).unwrap();
    assert_eq!(sim.mac(false, 0x1000, ONE).unwrap(), 0x3C00);
    sim.mac(true, 0x3C01, ONE).unwrap();
    assert_eq!(sim.mac(false, 0x1000, ONE).unwrap(), 0x3C02);
    // inf - inf and 0 * inf are the canonical NaN; NaN stays NaN.
    sim.mac(true, 0x7C00, ONE).unwrap();
    assert_eq!(sim.mac(false, 0xFC00, ONE).unwrap(), FP16_CANONICAL_NAN);
    assert_eq!(sim.mac(true, 0x0000, 0x7C00).unwrap(), FP16_CANONICAL_NAN);
    assert_eq!(sim.mac(false, ONE, ONE).unwrap(), FP16_CANONICAL_NAN);
    // Exact cancellation is +0.
    sim.mac(true, 0x3555, ONE).unwrap();
    assert_eq!(sim.mac(false, 0xB555, ONE).unwrap(), 0x0000);
    // clear alone sets -0.
    sim.clear().unwrap();
    assert_eq!(sim.acc(), 0x8000);
}

#[test]
fn fp16_random_bit_patterns() {
    let mut ck = Checker::new();
    let mut rng = Rng(tritium_golden::SplitMix64::new(0x7121_7140));
    for _ in 0..200_000 {
        let (c, a, b) = (rng.u16(), rng.u16(), rng.u16());
        ck.mac(c, a, b);
    }
    // Operands of similar magnitude (cancellation, carries, ties): c is
    // the reference product with random low bits and a small exponent
    // change, and either sign.
    for _ in 0..200_000 {
        let (a, b) = (rng.u16(), rng.u16());
        let p = ref_mul(a, b);
        let r = rng.0.next_u64();
        let exp_delta = ((r >> 16) % 5) as u16; // 0..4 binades lower
        let mut c = (p & 0x7FFF).saturating_sub(exp_delta << 10);
        c ^= (r as u16) & 0x003F;
        c |= (r >> 32) as u16 & 0x8000;
        ck.mac(c, a, b);
    }
    ck.finish("random");
}

#[test]
fn fp16_exhaustive_sweeps() {
    let mut ck = Checker::new();
    // Every binary16 value added to a few accumulators (b = 1.0 passes it
    // through the multiplier unchanged) ...
    for &c in &[
        0x3C00u16, 0xBC00, 0x0400, 0x8001, 0x7BFF, 0x3555, 0xC3FF, 0x1400,
    ] {
        for x in 0..=u16::MAX {
            ck.mac(c, x, ONE);
        }
    }
    // ... and multiplied by a few values (inexact, subnormal, huge, tiny).
    for &b in &[
        0x3C01u16, 0x3555, 0x0001, 0x03FF, 0x7BFF, 0x4200, 0xB800, 0x1400,
    ] {
        for x in 0..=u16::MAX {
            ck.mul(x, b);
        }
    }
    ck.finish("sweeps");
}
