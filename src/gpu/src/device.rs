//! The wgpu side: adapter and device, the two compute pipelines, weight
//! buffers, and one submission per BitLinear job (several dispatches
//! sharing one activation upload and one read-back).

use std::borrow::Cow;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::layout::{G16, MAX_K};
use crate::Kernel;

/// Uniform slot of one job's parameters (256: the largest
/// `min_uniform_buffer_offset_alignment` WebGPU allows).
const PARAM_SLOT: u64 = 256;
/// Most dispatches of one submission (q/k/v, gate/up).
pub const MAX_JOBS: usize = 4;
/// Output rows per GEMV workgroup; output rows and token rows per GEMM
/// workgroup (gemv.wgsl / gemm.wgsl).
const GEMV_ROWS: usize = 4;
const GEMM_ROWS: usize = 64;
const GEMM_TOKENS: usize = 16;
/// K chunks (64 weights each) per GEMM workgroup along z (split K).
const GEMM_SEG: usize = 256;

/// What the adapter says about itself.
#[derive(Debug, Clone)]
pub struct AdapterSummary {
    pub name: String,
    /// Vulkan, Metal, Dx12 ...
    pub api: String,
    /// DiscreteGpu, IntegratedGpu, Cpu (lavapipe), ...
    pub device_type: String,
    pub driver: String,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}, {})",
            self.name, self.api, self.device_type, self.driver
        )
    }
}

/// One BitLinear of a submission: its weights on the device.
pub struct Job<'a> {
    pub weights: &'a wgpu::Buffer,
    pub n: usize,
    pub kw: usize,
}

/// An open device with the kernels compiled.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter: AdapterSummary,
    limits: wgpu::Limits,
    gemv: wgpu::ComputePipeline,
    gemm: wgpu::ComputePipeline,
    /// Errors the device reported outside any scope (validation, memory).
    errors: Arc<Mutex<Vec<String>>>,
    params: wgpu::Buffer,
    acts: Option<wgpu::Buffer>,
    out: Option<wgpu::Buffer>,
    read: Option<wgpu::Buffer>,
}

/// Whether this wgpu's WGSL has `dot4I8Packed`.
pub fn dot4_available() -> bool {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    instance
        .wgsl_language_features()
        .contains(wgpu::WgslLanguageFeatures::Packed4x8IntegerDotProduct)
}

/// The WGSL of one entry point with `kernel`'s dot4.
pub fn shader_source(kernel: Kernel, body: &str) -> String {
    let dot4 = match kernel {
        Kernel::Dot4 => include_str!("shaders/dot4_packed.wgsl"),
        Kernel::Shifts => include_str!("shaders/dot4_shifts.wgsl"),
    };
    format!("{dot4}\n{}\n{body}", include_str!("shaders/common.wgsl"))
}

impl Gpu {
    /// Opens the first high-performance adapter (WGPU_BACKEND and
    /// WGPU_ADAPTER_NAME are honoured) and compiles the kernels.
    pub fn open(kernel: Kernel) -> Result<Gpu> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            apply_limit_buckets: false,
        }))
        .map_err(|e| Error::NoAdapter {
            detail: e.to_string(),
        })?;
        let info = adapter.get_info();
        let summary = AdapterSummary {
            name: info.name.clone(),
            api: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
        };
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tritium-gpu"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|source| Error::NoDevice {
            adapter: summary.to_string(),
            source,
        })?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let pipeline = |entry: &str, body: &str| {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(entry),
                source: wgpu::ShaderSource::Wgsl(Cow::Owned(shader_source(kernel, body))),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let gemv = pipeline("gemv", include_str!("shaders/gemv.wgsl"));
        let gemm = pipeline("gemm", include_str!("shaders/gemm.wgsl"));
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: PARAM_SLOT * MAX_JOBS as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let gpu = Gpu {
            device,
            queue,
            adapter: summary,
            limits,
            gemv,
            gemm,
            errors,
            params,
            acts: None,
            out: None,
            read: None,
        };
        gpu.check_errors()?;
        Ok(gpu)
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// Fails with the first error the device reported since the last check.
    fn check_errors(&self) -> Result<()> {
        let mut v = self
            .errors
            .lock()
            .map_err(|_| Error::Device("error sink poisoned".into()))?;
        if v.is_empty() {
            return Ok(());
        }
        let all = v.join("; ");
        v.clear();
        Err(Error::Device(all))
    }

    /// Largest buffer the kernels may bind, in bytes.
    fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
            .min(u64::from(u32::MAX))
    }

    /// Checks a BitLinear of `n` x `k` on `rows` token rows against the
    /// kernels' and the device's limits.
    pub fn check_shape(&self, n: usize, k: usize, rows: usize) -> Result<()> {
        let too = |what, value: usize, max: u64, why| {
            if value as u64 > max {
                Err(Error::TooLarge {
                    what,
                    value: value as u64,
                    max,
                    why,
                })
            } else {
                Ok(())
            }
        };
        too(
            "K (inputs per row)",
            k,
            MAX_K as u64,
            "exact i32 accumulators need 128 K < 2^31",
        )?;
        let kw = crate::layout::words_per_row(k);
        let bind = self.max_binding();
        too(
            "weight bytes (N x packed row)",
            n.saturating_mul(kw).saturating_mul(4),
            bind,
            "the device's largest storage buffer binding",
        )?;
        too(
            "activation bytes (token rows x padded K, + sums)",
            rows.saturating_mul(kw * 16 + 4),
            bind,
            "the device's largest storage buffer binding",
        )?;
        too(
            "accumulator bytes (token rows x N)",
            rows.saturating_mul(n).saturating_mul(4 * MAX_JOBS),
            bind,
            "the device's largest storage buffer binding, for a group of 4",
        )?;
        let wg = u64::from(self.limits.max_compute_workgroups_per_dimension);
        if rows == 1 {
            too(
                "N (output rows)",
                n,
                wg * GEMV_ROWS as u64,
                "4 rows per workgroup, workgroups per dimension",
            )?;
        } else {
            too(
                "N (output rows)",
                n,
                wg * GEMM_ROWS as u64,
                "64 rows per workgroup, workgroups per dimension",
            )?;
            too(
                "token rows",
                rows,
                wg * GEMM_TOKENS as u64,
                "16 token rows per workgroup, workgroups per dimension",
            )?;
        }
        Ok(())
    }

    /// Uploads packed weights once (a read-only storage buffer).
    pub fn upload(&self, g: &G16) -> Result<wgpu::Buffer> {
        self.check_shape(g.n, g.k, 1)?;
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("weights"),
            size: g.bytes().max(4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue
            .write_buffer(&buf, 0, bytemuck::cast_slice(&g.words));
        self.check_errors()?;
        Ok(buf)
    }

    /// A scratch buffer of at least `size` bytes with `usage`, reused while
    /// large enough.
    fn scratch(
        device: &wgpu::Device,
        slot: &mut Option<wgpu::Buffer>,
        size: u64,
        usage: wgpu::BufferUsages,
        label: &str,
    ) -> wgpu::Buffer {
        let size = size.max(4).next_multiple_of(4);
        if let Some(b) = slot.as_ref().filter(|b| b.size() >= size) {
            return b.clone();
        }
        // Grow geometrically, so a prompt that grows row by row does not
        // reallocate every call.
        let size = size.max(slot.as_ref().map_or(0, |b| b.size() * 2));
        let b = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        });
        *slot = Some(b.clone());
        b
    }

    /// Runs `jobs` on the same `rows` token rows (`acts`: [`crate::layout::pack_acts`]
    /// of the first job's `kw`) and writes each job's `rows * n`
    /// accumulators to `outs`. Shapes are checked by the caller
    /// ([`Gpu::check_shape`]).
    pub fn run<O: AsMut<[i32]>>(
        &mut self,
        jobs: &[Job<'_>],
        rows: usize,
        acts: &[u32],
        outs: &mut [O],
    ) -> Result<()> {
        debug_assert!(!jobs.is_empty() && jobs.len() <= MAX_JOBS && jobs.len() == outs.len());
        let kw = jobs[0].kw;
        let total: usize = jobs.iter().map(|j| rows * j.n).sum();
        let max = self.max_binding();
        let sizes = [(acts.len() * 4) as u64, (total * 4) as u64];
        if let Some(&s) = sizes.iter().find(|&&s| s > max) {
            return Err(Error::TooLarge {
                what: "buffer bytes of one job",
                value: s,
                max,
                why: "the device's largest storage buffer binding",
            });
        }
        use wgpu::BufferUsages as U;
        let acts_buf = Self::scratch(
            &self.device,
            &mut self.acts,
            sizes[0],
            U::STORAGE | U::COPY_DST,
            "acts",
        );
        let out_buf = Self::scratch(
            &self.device,
            &mut self.out,
            sizes[1],
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
            "acc",
        );
        let read_buf = Self::scratch(
            &self.device,
            &mut self.read,
            sizes[1],
            U::MAP_READ | U::COPY_DST,
            "readback",
        );
        self.queue
            .write_buffer(&acts_buf, 0, bytemuck::cast_slice(acts));
        let pipeline = if rows == 1 { &self.gemv } else { &self.gemm };
        let layout = pipeline.get_bind_group_layout(0);
        let mut off = 0usize;
        let mut groups = Vec::with_capacity(jobs.len());
        for (i, j) in jobs.iter().enumerate() {
            let p: [u32; 8] = [
                j.n as u32,
                j.kw as u32,
                rows as u32,
                off as u32,
                (rows * kw * 4) as u32,
                0,
                0,
                0,
            ];
            off += rows * j.n;
            let at = PARAM_SLOT * i as u64;
            self.queue
                .write_buffer(&self.params, at, bytemuck::cast_slice(&p));
            groups.push(self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("bitlinear"),
                layout: &layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: &self.params,
                            offset: at,
                            size: NonZeroU64::new(32),
                        }),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: j.weights.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: acts_buf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: out_buf.as_entire_binding(),
                    },
                ],
            }));
        }
        let bytes = (total * 4) as u64;
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        if rows > 1 {
            // The GEMM adds its split-K parts atomically.
            enc.clear_buffer(&out_buf, 0, Some(bytes));
        }
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("bitlinear"),
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            for (j, g) in jobs.iter().zip(&groups) {
                pass.set_bind_group(0, g, &[]);
                if rows == 1 {
                    pass.dispatch_workgroups(j.n.div_ceil(GEMV_ROWS) as u32, 1, 1);
                } else {
                    pass.dispatch_workgroups(
                        j.n.div_ceil(GEMM_ROWS) as u32,
                        rows.div_ceil(GEMM_TOKENS) as u32,
                        (j.kw / 4).div_ceil(GEMM_SEG) as u32,
                    );
                }
            }
        }
        enc.copy_buffer_to_buffer(&out_buf, 0, &read_buf, 0, bytes);
        self.queue.submit([enc.finish()]);
        let slice = read_buf.slice(..bytes);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Device(e.to_string()))?;
        self.check_errors()?;
        rx.recv()
            .map_err(|_| Error::Device("the read-back was never mapped".into()))?
            .map_err(|e| Error::Device(e.to_string()))?;
        {
            let view = slice
                .get_mapped_range()
                .map_err(|e| Error::Device(e.to_string()))?;
            let got: &[i32] = bytemuck::cast_slice(&view);
            let mut at = 0;
            for o in outs.iter_mut() {
                let o = o.as_mut();
                o.copy_from_slice(&got[at..at + o.len()]);
                at += o.len();
            }
        }
        read_buf.unmap();
        Ok(())
    }
}
