//! Errors of the GPU backend. Each names what is missing or which limit a
//! size broke, with the numbers.

use thiserror::Error;

/// What can go wrong starting or running the GPU backend.
#[derive(Debug, Error)]
pub enum Error {
    /// No adapter at all (no Vulkan / Metal / DX12 driver).
    #[error("no GPU adapter found (wgpu: {detail}): install mesa-vulkan-drivers (lavapipe, a software Vulkan driver) and libvulkan1, or a GPU driver")]
    NoAdapter { detail: String },
    /// The adapter would not give a device.
    #[error("the GPU adapter {adapter} refused to open a device")]
    NoDevice {
        adapter: String,
        #[source]
        source: wgpu::RequestDeviceError,
    },
    /// A kernel name that does not exist.
    #[error("unknown GPU kernel `{name}`: one of dot4, shifts")]
    UnknownKernel { name: String },
    /// `dot4` asked for where the WGSL implementation lacks `dot4I8Packed`.
    #[error("GPU kernel `dot4` needs WGSL's packed_4x8_integer_dot_product, which this wgpu/adapter lacks: use TRITIUM_GPU_KERNEL=shifts")]
    Dot4Unavailable,
    /// A BitLinear too large for the kernels or the device.
    #[error("{what} = {value} exceeds the GPU backend's limit of {max} ({why})")]
    TooLarge {
        what: &'static str,
        value: u64,
        max: u64,
        why: &'static str,
    },
    /// The device reported an error (validation, out of memory, lost).
    #[error("GPU device error: {0}")]
    Device(String),
    /// No usable CUDA device: the driver library, a device or NVRTC is
    /// missing (the CUDA variant, feature `cuda`).
    #[error("no CUDA device: {detail} (the CUDA backend needs an NVIDIA GPU of compute capability 6.1 or newer, its driver's libcuda.so, and NVRTC, libnvrtc.so of the CUDA 12 toolkit, at run time)")]
    NoCuda { detail: String },
    /// The CUDA variant failed (driver, NVRTC, launch).
    #[error("CUDA: {0}")]
    Cuda(String),
    /// A golden-model error (shapes).
    #[error(transparent)]
    Golden(#[from] tritium_golden::Error),
}

/// Result alias of the GPU backend.
pub type Result<T> = std::result::Result<T, Error>;
