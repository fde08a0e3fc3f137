//! A decode step on the SIMD engine allocates nothing but the logits row it
//! returns (and, now and then, the amortized growth of the KV cache).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn decode_steps_do_not_allocate() {
    use tritium_golden::{Logits, Preset, Session};
    use tritium_simd::{Body, HeadMode, SimdBackend, SimdOptions};
    let model = tritium_model::synthetic::preset_model(Preset::Small, 2).unwrap();
    let layers = model.config().num_layers;
    for isa in tritium_simd::present_kernels().unwrap() {
        for (head, body) in [
            (HeadMode::Exact, Body::Bit2),
            (HeadMode::Q8, Body::Bit2),
            (HeadMode::Q4, Body::Bit2),
            (HeadMode::Exact, Body::Base3),
        ] {
            let mut b = SimdBackend::new(SimdOptions {
                isa: Some(isa),
                threads: Some(2),
                head,
                body,
            })
            .unwrap();
            b.prepare(&model);
            let pool = b.pool().unwrap();
            let mut s = Session::new(&model);
            pool.install(|| s.forward(&mut b, &[1, 2, 3, 4], Logits::Last))
                .unwrap();
            pool.install(|| s.forward(&mut b, &[5], Logits::Last))
                .unwrap();
            let steps = 8;
            let before = ALLOCS.load(Ordering::Relaxed);
            for t in 0..steps {
                let l = pool
                    .install(|| s.forward(&mut b, &[6 + t], Logits::Last))
                    .unwrap();
                std::hint::black_box(l);
            }
            let n = ALLOCS.load(Ordering::Relaxed) - before;
            eprintln!("{isa:?} {head:?} {body:?}: {n} allocations in {steps} decode steps");
            // Per step: the returned Vec of rows and its logits row; the K and V
            // caches of each layer may double once in 8 steps.
            let allowed = steps as usize * 2 + 2 * layers;
            assert!(
                n <= allowed,
                "{isa:?} {head:?}: {n} allocations in {steps} decode steps (allowed {allowed})"
            );
        }
    }
}
