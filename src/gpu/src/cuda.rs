//! The CUDA variant of the GPU backend (feature `cuda`): the same kernel
//! design as the WGSL one, in CUDA C (`shaders/bitlinear.cu`) compiled at
//! run time by NVRTC and launched through `cudarc`.
//!
//! - The same `G16` layout ([`crate::layout`]), uploaded once per BitLinear
//!   and kept on the device, keyed by layer and projection and checked
//!   against the golden matrix's uid and shape (a replaced matrix is
//!   uploaded again).
//! - `tritium_gemv` (one token row): 64 threads x 4 output rows;
//!   `tritium_gemm` (several): 64 output rows x 16 token rows per block,
//!   split K with `atomicAdd`. Both load packed words into shared memory,
//!   unpack them there by shift and mask, and multiply four codes by four
//!   int8 activations with `__dp4a`, accumulating modulo 2^32, then
//!   subtract each token row's activation sum: exact i32, `==` golden.
//!
//! `cudarc` is built with `dynamic-loading`: libcuda and libnvrtc are opened
//! at run time, so this compiles without the CUDA toolkit, and
//! [`CudaBackend::new`] on a machine without them returns
//! [`Error::NoCuda`] naming what is missing (never a panic: cudarc's loader
//! panics on a missing library or symbol, so the libraries are probed first
//! and the rest runs under `catch_unwind`).
//!
//! This is the only module of the crate with `unsafe`: kernel launches
//! (cudarc cannot check kernel arguments against the kernel's signature)
//! and the library probes.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};
use tritium_golden::{
    Backend, ExecStats, LinearCall, LinearId, Model, Result as GResult, TernaryMatrix,
};

use crate::error::{Error, Result};
use crate::layout::{self, G16, MAX_K};

/// The CUDA C source of both kernels (compiled by NVRTC in
/// [`CudaBackend::new`]).
pub const CUDA_SOURCE: &str = include_str!("shaders/bitlinear.cu");
/// Env variable: when `1`, a missing CUDA device fails the tests instead of
/// skipping them.
pub const ENV_REQUIRE_CUDA: &str = "TRITIUM_REQUIRE_CUDA";

/// Virtual architecture the kernels are compiled for: `__dp4a` needs 6.1;
/// the driver JIT-compiles the PTX for the actual device.
const ARCH: &str = "compute_61";
const MIN_CC: (i32, i32) = (6, 1);
/// Threads per block of both kernels.
const BLOCK: u32 = 64;
/// Output rows per GEMV block; output rows and token rows per GEMM block;
/// K chunks (64 weights each) per GEMM block along z (bitlinear.cu).
const GEMV_ROWS: usize = 4;
const GEMM_ROWS: usize = 64;
const GEMM_TOKENS: usize = 16;
const GEMM_SEG: usize = 256;
/// Largest grid y / z dimension of CUDA.
const MAX_GRID_YZ: usize = 65_535;

/// Whether `TRITIUM_REQUIRE_CUDA=1`.
pub fn cuda_required() -> bool {
    std::env::var(ENV_REQUIRE_CUDA).is_ok_and(|v| v == "1")
}

struct Prepared {
    /// Uid and shape of the golden weights this was packed from.
    src: (u64, usize, usize),
    kw: usize,
    bytes: usize,
    buf: CudaSlice<u32>,
}

/// The CUDA backend.
pub struct CudaBackend {
    // Kept alive for the module and buffers (they hold it too).
    _ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    gemv: CudaFunction,
    gemm: CudaFunction,
    device: String,
    prepared: HashMap<LinearId, Prepared>,
    acts_host: Vec<u32>,
    out_host: Vec<u32>,
    acts: Option<CudaSlice<u32>>,
    out: Option<CudaSlice<u32>>,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaBackend({})", self.device)
    }
}

fn driver_err(what: &str) -> impl Fn(cudarc::driver::DriverError) -> Error + '_ {
    move |e| Error::Cuda(format!("{what}: {e}"))
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

fn too(what: &'static str, value: usize, max: usize, why: &'static str) -> Result<()> {
    if value > max {
        return Err(Error::TooLarge {
            what,
            value: value as u64,
            max: max as u64,
            why,
        });
    }
    Ok(())
}

/// The sizes the kernels take for a call of `rows` token rows through an
/// `n x k` BitLinear (indices and offsets are u32 in the kernels).
fn check_shape(n: usize, k: usize, rows: usize) -> Result<()> {
    let u32_max = u32::MAX as usize;
    too(
        "K (inputs per row)",
        k,
        MAX_K,
        "exact i32 accumulators need 128 K < 2^31",
    )?;
    too("N (output rows)", n, u32_max, "u32 row indices")?;
    let kw = layout::words_per_row(k);
    too(
        "activation words (token rows x padded K / 4, + sums)",
        rows.saturating_mul(kw * 4 + 1),
        u32_max,
        "u32 activation offsets",
    )?;
    too(
        "accumulators (token rows x N)",
        rows.saturating_mul(n),
        u32_max,
        "u32 output offsets",
    )?;
    if rows > 1 {
        too(
            "token rows",
            rows,
            MAX_GRID_YZ * GEMM_TOKENS,
            "16 token rows per block, 65535 blocks along y",
        )?;
    }
    Ok(())
}

impl CudaBackend {
    /// Opens CUDA device 0 and compiles the kernels with NVRTC.
    pub fn new() -> Result<CudaBackend> {
        CudaBackend::on_device(0)
    }

    /// Opens CUDA device `ordinal` and compiles the kernels.
    pub fn on_device(ordinal: usize) -> Result<CudaBackend> {
        match catch_unwind(AssertUnwindSafe(|| CudaBackend::open(ordinal))) {
            Ok(r) => r,
            Err(p) => Err(Error::NoCuda {
                detail: format!("the CUDA library loader failed: {}", panic_text(&*p)),
            }),
        }
    }

    fn open(ordinal: usize) -> Result<CudaBackend> {
        // SAFETY: both only try to open the shared libraries by name (and
        // close them again); no CUDA function is called.
        let (driver, nvrtc) = unsafe {
            (
                cudarc::driver::sys::is_culib_present(),
                cudarc::nvrtc::sys::is_culib_present(),
            )
        };
        if !driver {
            return Err(Error::NoCuda {
                detail: "libcuda (the NVIDIA driver's CUDA library) was not found".into(),
            });
        }
        let count = CudaContext::device_count().map_err(|e| Error::NoCuda {
            detail: format!("the CUDA driver did not initialize: {e}"),
        })?;
        if count <= ordinal as i32 {
            return Err(Error::NoCuda {
                detail: format!(
                    "the CUDA driver reports {count} device(s), device {ordinal} asked for"
                ),
            });
        }
        if !nvrtc {
            return Err(Error::NoCuda {
                detail: "libnvrtc (NVRTC, the CUDA toolkit's run-time compiler) was not found"
                    .into(),
            });
        }
        let ctx = CudaContext::new(ordinal).map_err(driver_err("opening the device"))?;
        let device = ctx.name().map_err(driver_err("device name"))?;
        let cc = ctx
            .compute_capability()
            .map_err(driver_err("compute capability"))?;
        if cc < MIN_CC {
            return Err(Error::Cuda(format!(
                "{device} has compute capability {}.{}; the kernels' __dp4a needs {}.{}",
                cc.0, cc.1, MIN_CC.0, MIN_CC.1
            )));
        }
        let opts = CompileOptions {
            arch: Some(ARCH),
            name: Some("bitlinear.cu".into()),
            ..CompileOptions::default()
        };
        let ptx = compile_ptx_with_opts(CUDA_SOURCE, opts)
            .map_err(|e| Error::Cuda(format!("NVRTC compiling bitlinear.cu: {e}")))?;
        let module = ctx
            .load_module(ptx)
            .map_err(driver_err("loading the PTX"))?;
        let gemv = module
            .load_function("tritium_gemv")
            .map_err(driver_err("tritium_gemv"))?;
        let gemm = module
            .load_function("tritium_gemm")
            .map_err(driver_err("tritium_gemm"))?;
        let stream = ctx.default_stream();
        Ok(CudaBackend {
            _ctx: ctx,
            stream,
            gemv,
            gemm,
            device: format!("{device} (sm_{}{})", cc.0, cc.1),
            prepared: HashMap::new(),
            acts_host: Vec::new(),
            out_host: Vec::new(),
            acts: None,
            out: None,
        })
    }

    /// [`CudaBackend::new`] for tests: `Ok(None)` when there is no CUDA
    /// device and `TRITIUM_REQUIRE_CUDA=1` is not set (the caller skips,
    /// saying so); with it set, a missing device is the error.
    pub fn for_tests() -> Result<Option<CudaBackend>> {
        match CudaBackend::new() {
            Err(Error::NoCuda { detail }) if !cuda_required() => {
                eprintln!(
                    "SKIPPED: no CUDA device ({detail}); set {ENV_REQUIRE_CUDA}=1 to make this a failure"
                );
                Ok(None)
            }
            r => r.map(Some),
        }
    }

    /// The device's name and compute capability.
    pub fn device(&self) -> &str {
        &self.device
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

    /// Bytes of packed weights on the device.
    pub fn weight_bytes(&self) -> usize {
        self.prepared.values().map(|p| p.bytes).sum()
    }

    fn ensure_uploaded(&mut self, id: LinearId, w: &TernaryMatrix) -> Result<()> {
        let key = (w.uid(), w.n(), w.k());
        if self.prepared.get(&id).map(|p| p.src) != Some(key) {
            check_shape(w.n(), w.k(), 1)?;
            let g = G16::from_matrix(w);
            let buf = if g.words.is_empty() {
                self.stream.alloc_zeros::<u32>(1)
            } else {
                self.stream.clone_htod(&g.words)
            }
            .map_err(driver_err("uploading weights"))?;
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

    /// `calls` (same activations, shapes checked) with one activation
    /// upload and one read-back.
    fn run<O: AsMut<[i32]>>(&mut self, calls: &[LinearCall<'_>], outs: &mut [O]) -> Result<()> {
        let (rows, k) = (calls[0].rows, calls[0].weights.k());
        for c in calls {
            check_shape(c.weights.n(), k, rows)?;
            self.ensure_uploaded(c.id, c.weights)?;
        }
        let total: usize = calls.iter().map(|c| rows * c.weights.n()).sum();
        too(
            "accumulators of a group",
            total,
            u32::MAX as usize,
            "u32 output offsets",
        )?;
        if total == 0 {
            return Ok(());
        }
        let kw = layout::words_per_row(k);
        layout::pack_acts(calls[0].acts, rows, k, kw, &mut self.acts_host);
        let stream = &self.stream;
        if self
            .acts
            .as_ref()
            .is_none_or(|b| b.len() < self.acts_host.len())
        {
            self.acts = Some(
                stream
                    .alloc_zeros(self.acts_host.len())
                    .map_err(driver_err("allocating activations"))?,
            );
        }
        if self.out.as_ref().is_none_or(|b| b.len() < total) {
            self.out = Some(
                stream
                    .alloc_zeros(total)
                    .map_err(driver_err("allocating accumulators"))?,
            );
        }
        let (Some(acts), Some(out)) = (self.acts.as_mut(), self.out.as_mut()) else {
            unreachable!("allocated above");
        };
        stream
            .memcpy_htod(&self.acts_host, acts)
            .map_err(driver_err("uploading activations"))?;
        if rows > 1 {
            // The GEMM adds its split-K parts into zeroed accumulators.
            stream
                .memset_zeros(out)
                .map_err(driver_err("zeroing accumulators"))?;
        }
        let (kw32, rows32) = (kw as u32, rows as u32);
        let sums_off = (rows * kw * 4) as u32;
        let mut off = 0u32;
        for c in calls {
            let p = &self.prepared[&c.id];
            debug_assert_eq!(p.kw, kw, "uploaded for this K");
            let n = c.weights.n() as u32;
            let (f, grid) = if rows == 1 {
                (&self.gemv, (n.div_ceil(GEMV_ROWS as u32), 1, 1))
            } else {
                let chunks = kw / layout::WORDS_ALIGN;
                (
                    &self.gemm,
                    (
                        n.div_ceil(GEMM_ROWS as u32),
                        rows32.div_ceil(GEMM_TOKENS as u32),
                        chunks.div_ceil(GEMM_SEG) as u32,
                    ),
                )
            };
            let cfg = LaunchConfig {
                grid_dim: grid,
                block_dim: (BLOCK, 1, 1),
                shared_mem_bytes: 0,
            };
            let mut b = stream.launch_builder(f);
            b.arg(&p.buf)
                .arg(&*acts)
                .arg(&mut *out)
                .arg(&n)
                .arg(&kw32)
                .arg(&sums_off)
                .arg(&off);
            if rows > 1 {
                b.arg(&rows32);
            }
            // SAFETY: the arguments match the kernel's signature in
            // bitlinear.cu (three u32 buffers, then u32 scalars, `rows` for
            // the GEMM only); every index the kernel forms is in bounds:
            // weights are n x kw words (`p.kw == kw`, same K), activations
            // rows x 4 kw words + rows sums (`pack_acts`), accumulators
            // `off + rows * n <= total <= out.len()`; the grid covers n and
            // rows, and check_shape kept every offset within u32.
            unsafe { b.launch(cfg) }.map_err(driver_err("launching a kernel"))?;
            off += rows32 * n;
        }
        self.out_host.resize(total, 0);
        stream
            .memcpy_dtoh(&out.slice(0..total), &mut self.out_host[..])
            .map_err(driver_err("reading accumulators"))?;
        stream.synchronize().map_err(driver_err("synchronizing"))?;
        let mut at = 0;
        for (c, o) in calls.iter().zip(outs.iter_mut()) {
            let len = rows * c.weights.n();
            for (d, &s) in o.as_mut().iter_mut().zip(&self.out_host[at..at + len]) {
                *d = s as i32;
            }
            at += len;
        }
        Ok(())
    }

    fn backend_err(site: impl Into<String>, e: Error) -> tritium_golden::Error {
        match e {
            Error::Golden(g) => g,
            e => tritium_golden::Error::backend("cuda", site, e),
        }
    }
}

impl Backend for CudaBackend {
    fn name(&self) -> &str {
        "cuda"
    }

    fn matmul(&mut self, call: &LinearCall<'_>, out: &mut [i32]) -> GResult<ExecStats> {
        call.check(out)?;
        self.run(std::slice::from_ref(call), &mut [out])
            .map_err(|e| CudaBackend::backend_err(call.id.to_string(), e))?;
        Ok(call.counted_stats())
    }

    /// q/k/v and gate/up with one activation upload and one read-back.
    fn matmul_group(
        &mut self,
        calls: &[LinearCall<'_>],
        outs: &mut [Vec<i32>],
        stats: &mut [ExecStats],
    ) -> GResult<()> {
        let max = usize::MAX;
        tritium_golden::backend::matmul_as_one_job(
            self,
            calls,
            outs,
            stats,
            max,
            |b, calls, outs| {
                b.run(calls, outs)
                    .map_err(|e| CudaBackend::backend_err(calls[0].id.to_string(), e))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_limits_name_the_limit() {
        let e = check_shape(1, MAX_K + 1, 1).unwrap_err().to_string();
        assert!(e.contains("K (inputs per row) = 16777216"), "{e}");
        let e = check_shape(1, 64, MAX_GRID_YZ * GEMM_TOKENS + 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("token rows"), "{e}");
        assert!(check_shape(4096, 4096, 512).is_ok());
    }

    #[test]
    fn kernel_source_has_both_entry_points() {
        for f in ["tritium_gemv", "tritium_gemm", "__dp4a", "atomicAdd"] {
            assert!(CUDA_SOURCE.contains(f), "{f}");
        }
    }
}
