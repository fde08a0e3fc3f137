//! Helpers shared by the SIMD engine's test files.

#![allow(dead_code)] // each test file uses its own subset

use tritium_golden::{Backend, Logits, Model, Session};
use tritium_simd::{Body, HeadMode, Isa, SimdBackend, SimdOptions};

/// The engine on path `isa` with `threads` workers and head mode `head`.
pub fn backend(isa: Isa, threads: usize, head: HeadMode) -> SimdBackend {
    backend_with(isa, threads, head, Body::Bit2)
}

/// [`backend`] decoding from the weight layout `body`.
pub fn backend_with(isa: Isa, threads: usize, head: HeadMode, body: Body) -> SimdBackend {
    SimdBackend::new(SimdOptions {
        isa: Some(isa),
        threads: Some(threads),
        head,
        body,
    })
    .unwrap()
}

/// Every position's logits of `prompt` (one batched forward), then of
/// `steps` single-token decode steps.
pub fn logits(model: &Model, b: &mut dyn Backend, prompt: &[u32], steps: u32) -> Vec<Vec<f32>> {
    let mut s = Session::new(model);
    let mut all = s.forward(b, prompt, Logits::All).unwrap();
    for i in 0..steps {
        let next = (i * 37 + 11) % model.config().vocab_size as u32;
        all.extend(s.forward(b, &[next], Logits::All).unwrap());
    }
    all
}
