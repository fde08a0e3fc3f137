//! The portable GPU backend of tritium: every BitLinear as a WGSL compute
//! kernel through `wgpu` (Vulkan, Metal, DX12; Mesa's lavapipe runs it on a
//! CPU), bit-exact with the golden model because it returns the same i32
//! accumulators: dequantization, norms, attention and the lm_head stay the
//! shared CPU code.
//!
//! The kernel follows BitNet 2B4T's GPU recipe, pack-store-load-unpack-
//! compute: ternary weights are packed 16 to a u32 ([`layout`], the `G16`
//! layout and its shift-and-mask trick), uploaded once per BitLinear and
//! kept on the device (keyed like the SIMD engine's repacked weights: by
//! layer and projection, checked against the golden matrix's uid and shape,
//! so a replaced matrix is uploaded again, never served stale); each call
//! loads a tile of packed words into workgroup memory, unpacks it there into
//! code words of four int8 lanes, and multiplies those with the int8
//! activations, accumulating exactly in i32:
//!
//! - `gemv` (one token row, decode): 64 invocations x 4 output rows.
//! - `gemm` (several token rows, prefill): 64 output rows x 16 token rows
//!   per workgroup, each weight word serving 16 tokens.
//!
//! Two variants of the inner product ([`Kernel`]): `dot4` uses WGSL's
//! `dot4I8Packed` (the device's integer dot product where it has one), and
//! `shifts` the integer shift/mask/multiply fallback. The default is `dot4`
//! when this wgpu offers it; `TRITIUM_GPU_KERNEL=dot4|shifts` forces one
//! (tests run both). Sizes beyond the kernels' or the device's limits are
//! errors naming the limit ([`Error::TooLarge`]), checked before anything
//! is dispatched.
//!
//! Behind the feature `cuda`, `CudaBackend` is the same design in CUDA C
//! (compiled by NVRTC at run time, `__dp4a`) for NVIDIA devices.

// Only the CUDA variant (feature `cuda`) has `unsafe`: kernel launches.
#![deny(unsafe_code)]

#[cfg(feature = "cuda")]
#[allow(unsafe_code)]
pub mod cuda;
pub mod device;
mod error;
pub mod layout;

use std::collections::HashMap;

use tritium_golden::{Backend, ExecStats, LinearCall, LinearId, Model, Result as GResult};

#[cfg(feature = "cuda")]
pub use cuda::CudaBackend;
pub use device::{dot4_available, AdapterSummary, Gpu};
pub use error::{Error, Result};
pub use layout::{G16, MAX_K};

/// The inner product of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// WGSL `dot4I8Packed`.
    Dot4,
    /// Shift, mask and multiply per byte (integer only, any device).
    Shifts,
}

impl Kernel {
    pub const ALL: [Kernel; 2] = [Kernel::Dot4, Kernel::Shifts];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Dot4 => "dot4",
            Kernel::Shifts => "shifts",
        }
    }

    pub fn from_name(s: &str) -> Result<Kernel> {
        Kernel::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| Error::UnknownKernel { name: s.into() })
    }

    /// The kernels this build can run (`dot4` only where WGSL has it).
    pub fn present() -> Vec<Kernel> {
        Kernel::ALL
            .into_iter()
            .filter(|&k| k != Kernel::Dot4 || dot4_available())
            .collect()
    }
}

/// Env variable forcing the kernel: `dot4` or `shifts`.
pub const ENV_KERNEL: &str = "TRITIUM_GPU_KERNEL";
/// Env variable: when `1`, a missing adapter fails the tests instead of
/// skipping them.
pub const ENV_REQUIRE_GPU: &str = "TRITIUM_REQUIRE_GPU";

/// The kernel of `TRITIUM_GPU_KERNEL`, if set.
pub fn kernel_from_env() -> Result<Option<Kernel>> {
    match std::env::var(ENV_KERNEL) {
        Ok(s) if !s.is_empty() => Kernel::from_name(&s).map(Some),
        _ => Ok(None),
    }
}

/// Whether `TRITIUM_REQUIRE_GPU=1`.
pub fn gpu_required() -> bool {
    std::env::var(ENV_REQUIRE_GPU).is_ok_and(|v| v == "1")
}

/// Options of [`GpuBackend::new`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GpuOptions {
    /// `None`: `TRITIUM_GPU_KERNEL`, else `dot4` where present, else `shifts`.
    pub kernel: Option<Kernel>,
}

struct Prepared {
    /// Uid and shape of the golden weights this was packed from.
    src: (u64, usize, usize),
    kw: usize,
    bytes: usize,
    buf: wgpu::Buffer,
}

/// The GPU backend.
pub struct GpuBackend {
    gpu: Gpu,
    kernel: Kernel,
    name: String,
    prepared: HashMap<LinearId, Prepared>,
    acts: Vec<u32>,
}

impl std::fmt::Debug for GpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuBackend({}, {})", self.name, self.gpu.adapter())
    }
}

fn src_key(w: &tritium_golden::TernaryMatrix) -> (u64, usize, usize) {
    (w.uid(), w.n(), w.k())
}

impl GpuBackend {
    /// Opens the adapter and compiles the kernels.
    pub fn new(opts: GpuOptions) -> Result<GpuBackend> {
        let kernel = match opts.kernel {
            Some(k) => k,
            None => kernel_from_env()?.unwrap_or_else(|| {
                if dot4_available() {
                    Kernel::Dot4
                } else {
                    Kernel::Shifts
                }
            }),
        };
        if kernel == Kernel::Dot4 && !dot4_available() {
            return Err(Error::Dot4Unavailable);
        }
        let gpu = Gpu::open(kernel)?;
        Ok(GpuBackend {
            gpu,
            kernel,
            name: format!("gpu-{}", kernel.name()),
            prepared: HashMap::new(),
            acts: Vec::new(),
        })
    }

    /// [`GpuBackend::new`] for tests: `Ok(None)` when there is no adapter
    /// and `TRITIUM_REQUIRE_GPU=1` is not set (the caller skips, saying
    /// so); with it set, a missing adapter is the error.
    pub fn for_tests(opts: GpuOptions) -> Result<Option<GpuBackend>> {
        match GpuBackend::new(opts) {
            Err(Error::NoAdapter { detail }) if !gpu_required() => {
                eprintln!(
                    "SKIPPED: no GPU adapter ({detail}); set {ENV_REQUIRE_GPU}=1 to make this a failure"
                );
                Ok(None)
            }
            r => r.map(Some),
        }
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    pub fn adapter(&self) -> &AdapterSummary {
        self.gpu.adapter()
    }

    /// Uploads every BitLinear of `model` now instead of on first use.
    pub fn prepare(&mut self, model: &Model) -> Result<()> {
        for (l, layer) in model.layers().iter().enumerate() {
            for proj in tritium_golden::Proj::ALL {
                self.ensure_uploaded(LinearId { layer: l, proj }, layer.linear(proj))?;
            }
        }
        Ok(())
    }

    /// Bytes of packed weights on the device (what one decode step reads).
    pub fn weight_bytes(&self) -> usize {
        self.prepared.values().map(|p| p.bytes).sum()
    }

    fn ensure_uploaded(&mut self, id: LinearId, w: &tritium_golden::TernaryMatrix) -> Result<()> {
        let key = src_key(w);
        if self.prepared.get(&id).map(|p| p.src) != Some(key) {
            self.gpu.check_shape(w.n(), w.k(), 1)?;
            let g = G16::from_matrix(w);
            let buf = self.gpu.upload(&g)?;
            self.prepared.insert(
                id,
                Prepared {
                    src: key,
                    kw: g.kw,
                    bytes: g.bytes(),
                    buf,
                },
            );
        }
        Ok(())
    }

    /// `calls` (1..=4, same activations, shapes checked) as one submission.
    fn run<O: AsMut<[i32]>>(&mut self, calls: &[LinearCall<'_>], outs: &mut [O]) -> Result<()> {
        let (rows, k) = (calls[0].rows, calls[0].weights.k());
        for c in calls {
            self.gpu.check_shape(c.weights.n(), k, rows)?;
            self.ensure_uploaded(c.id, c.weights)?;
        }
        if rows == 0 {
            return Ok(());
        }
        let kw = layout::words_per_row(k);
        layout::pack_acts(calls[0].acts, rows, k, kw, &mut self.acts);
        let jobs: Vec<device::Job<'_>> = calls
            .iter()
            .map(|c| {
                let p = &self.prepared[&c.id];
                device::Job {
                    weights: &p.buf,
                    n: c.weights.n(),
                    kw: p.kw,
                }
            })
            .collect();
        self.gpu.run(&jobs, rows, &self.acts, outs)
    }

    fn backend_err(&self, site: impl Into<String>, e: Error) -> tritium_golden::Error {
        match e {
            Error::Golden(g) => g,
            e => tritium_golden::Error::backend(self.name.clone(), site, e),
        }
    }
}

impl Backend for GpuBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn matmul(&mut self, call: &LinearCall<'_>, out: &mut [i32]) -> GResult<ExecStats> {
        call.check(out)?;
        self.run(std::slice::from_ref(call), &mut [out])
            .map_err(|e| self.backend_err(call.id.to_string(), e))?;
        Ok(call.counted_stats())
    }

    /// q/k/v and gate/up as one submission: one activation upload, one
    /// read-back.
    fn matmul_group(
        &mut self,
        calls: &[LinearCall<'_>],
        outs: &mut [Vec<i32>],
        stats: &mut [ExecStats],
    ) -> GResult<()> {
        let max = device::MAX_JOBS;
        tritium_golden::backend::matmul_as_one_job(
            self,
            calls,
            outs,
            stats,
            max,
            |b, calls, outs| {
                b.run(calls, outs)
                    .map_err(|e| b.backend_err(calls[0].id.to_string(), e))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_names_round_trip_and_unknown_is_named() {
        for k in Kernel::ALL {
            assert_eq!(Kernel::from_name(k.name()).unwrap(), k);
        }
        let e = Kernel::from_name("dp4a").unwrap_err().to_string();
        assert!(e.contains("`dp4a`") && e.contains("dot4, shifts"), "{e}");
    }

    #[test]
    fn no_adapter_error_says_what_to_install() {
        let e = Error::NoAdapter {
            detail: "none".into(),
        }
        .to_string();
        assert!(
            e.contains("mesa-vulkan-drivers") && e.contains("lavapipe"),
            "{e}"
        );
    }
}
