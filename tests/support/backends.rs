//! The backends every corpus runs on, shared by the integration tests
//! (`mod support;` in each test file).

use tritium_golden::{Backend, GoldenBackend};

/// Every SIMD kernel path this CPU has, single- and multi-threaded, and
/// each path decoding from the base-3 body.
pub fn simd_backends() -> Vec<Box<dyn Backend>> {
    use tritium_simd::Body;
    let mut b: Vec<Box<dyn Backend>> = Vec::new();
    for isa in tritium_simd::present_kernels().unwrap() {
        for (threads, body) in [(1, Body::Bit2), (2, Body::Bit2), (2, Body::Base3)] {
            b.push(Box::new(
                tritium_simd::SimdBackend::new(tritium_simd::SimdOptions {
                    isa: Some(isa),
                    threads: Some(threads),
                    head: Default::default(),
                    body,
                })
                .unwrap(),
            ));
        }
    }
    b
}

/// Every accelerator model, all token rows per job at full memory rate,
/// and one row per job behind a slow, late memory.
#[cfg(feature = "rtl")]
pub fn rtl_backends() -> Vec<Box<dyn Backend>> {
    let mut b: Vec<Box<dyn Backend>> = Vec::new();
    for cfg in tritium_rtl::ACCEL_CONFIGS {
        let full = tritium_rtl::MemoryConfig::full_rate(cfg.bus_bytes);
        let slow = tritium_rtl::MemoryConfig {
            bytes_per_cycle: cfg.bus_bytes as f64 / 3.0,
            latency: 17,
        };
        for (batch, mem) in [(cfg.tokens, full), (1, slow)] {
            b.push(Box::new(
                tritium_rtl::RtlBackend::new(cfg, batch, mem).unwrap(),
            ));
        }
    }
    b
}

/// Without Verilator there is no accelerator model.
#[cfg(not(feature = "rtl"))]
pub fn rtl_backends() -> Vec<Box<dyn Backend>> {
    Vec::new()
}

/// The GPU kernels, every variant this build has (skipped, saying so,
/// without an adapter unless TRITIUM_REQUIRE_GPU=1).
#[cfg(feature = "gpu")]
pub fn gpu_backends() -> Vec<Box<dyn Backend>> {
    let mut b: Vec<Box<dyn Backend>> = Vec::new();
    for kernel in tritium_gpu::Kernel::present() {
        let opts = tritium_gpu::GpuOptions {
            kernel: Some(kernel),
        };
        if let Some(g) = tritium_gpu::GpuBackend::for_tests(opts).unwrap() {
            b.push(Box::new(g));
        }
    }
    b
}

/// Built without the `gpu` feature: no GPU backend.
#[cfg(not(feature = "gpu"))]
pub fn gpu_backends() -> Vec<Box<dyn Backend>> {
    Vec::new()
}

/// Every backend this build has: golden, every SIMD path, every RTL
/// model, every GPU kernel. Each new backend is added here.
pub fn backends() -> Vec<Box<dyn Backend>> {
    let mut b: Vec<Box<dyn Backend>> = vec![Box::new(GoldenBackend)];
    b.extend(simd_backends());
    b.extend(rtl_backends());
    b.extend(gpu_backends());
    b
}
