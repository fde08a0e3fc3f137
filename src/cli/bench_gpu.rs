//! `tritium bench --backend gpu`: the GPU kernels' weight throughput (GB/s,
//! against the adapter's memory bandwidth when given: wgpu does not report
//! it) and whole-model decode and prefill tokens/s.

use std::time::Instant;

use serde_json::json;
use tritium_golden::{
    generate, Backend, GenerateOptions, LinearCall, LinearId, Model, Proj, SamplerConfig,
};
use tritium_gpu::{GpuBackend, GpuOptions};

use super::error::{Error, Result};
use super::output::{print, print_json};

/// What `bench --backend gpu` measures.
pub struct GpuBench<'a> {
    pub model: &'a Model,
    pub model_name: &'a str,
    pub prefill_tokens: usize,
    pub decode_tokens: usize,
    pub reps: usize,
    pub bandwidth_gbps: Option<f64>,
    pub kernels_only: bool,
    pub json: bool,
}

/// Fastest of `reps` runs of `f`, in seconds.
fn fastest(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

pub fn run(b: &GpuBench<'_>) -> Result<()> {
    if let Some(g) = b.bandwidth_gbps {
        if !(g.is_finite() && g > 0.0 && g <= 1e5) {
            return Err(Error::Usage(format!(
                "--gpu-bandwidth {g}: expected a number of GB/s in (0, 100000]"
            )));
        }
    }
    let kernel =
        tritium_gpu::kernel_from_env().map_err(|e| Error::arg(tritium_gpu::ENV_KERNEL, e))?;
    let mut gpu = GpuBackend::new(GpuOptions { kernel })?;
    gpu.prepare(b.model)?;
    let adapter = gpu.adapter().to_string();
    // The kernel measurement: layer 0's up projection (the widest shape).
    let id = LinearId::new(0, Proj::Up);
    let w = b.model.layers()[0].linear(Proj::Up);
    let (n, k) = (w.n(), w.k());
    let bytes = tritium_gpu::G16::from_matrix(w).bytes() as f64;
    let mut kernels = Vec::new();
    for rows in [1, b.prefill_tokens] {
        let acts: Vec<i8> = (0..rows * k).map(|i| (i * 37 % 255) as u8 as i8).collect();
        let mut out = vec![0; rows * n];
        let call = LinearCall::new(id, w, &acts, rows, 0);
        gpu.matmul(&call, &mut out)?; // warm-up (pipelines, buffers)
        let s = fastest(b.reps, || Ok(gpu.matmul(&call, &mut out).map(|_| ())?))?;
        let gbps = bytes / s / 1e9;
        kernels.push(json!({
            "shape": format!("{n} x {k}"),
            "token_rows": rows,
            "seconds": s,
            "weight_gb_per_s": gbps,
            "of_bandwidth": b.bandwidth_gbps.map(|bw| gbps / bw),
            "gmacs_per_s": (rows * n * k) as f64 / s / 1e9,
        }));
    }
    let mut model = serde_json::Value::Null;
    if !b.kernels_only {
        let vocab = b.model.config().vocab_size as u32;
        let prompt: Vec<u32> = (0..b.prefill_tokens as u32)
            .map(|i| (i * 131 + 7) % vocab)
            .collect();
        let opts = GenerateOptions {
            max_new: b.decode_tokens,
            sampler: SamplerConfig {
                temperature: 0.0,
                top_k: 0,
                top_p: 1.0,
                seed: 0,
            },
            stop_at_eos: false,
            keep_logits: false,
            kv: tritium_golden::KvPrecision::F32,
        };
        let g = generate(b.model, &mut gpu, &prompt, opts, &mut |_| -> Result<()> {
            Ok(())
        })?;
        model = json!({
            "weight_bytes_per_token": gpu.weight_bytes(),
            "prefill_tokens": g.prompt.len(),
            "prefill_tokens_per_s": g.prefill_tokens_per_s(),
            "decode_tokens": g.decode_steps,
            "decode_tokens_per_s": g.decode_tokens_per_s(),
        });
    }
    let report = json!({
        "schema_version": 1,
        "backend": gpu.name(),
        "adapter": adapter,
        "model": b.model_name,
        "bandwidth_gb_per_s": b.bandwidth_gbps,
        "kernels": kernels,
        "whole_model": model,
    });
    if b.json {
        return print_json(&report);
    }
    let mut s = format!("{} on {adapter}, {}\n", gpu.name(), b.model_name);
    for kr in &kernels {
        s += &format!(
            "  kernel {} x {} rows: {:.3} ms, weights {:.2} GB/s{}, {:.2} GMAC/s\n",
            kr["shape"].as_str().unwrap_or(""),
            kr["token_rows"],
            kr["seconds"].as_f64().unwrap_or(0.0) * 1e3,
            kr["weight_gb_per_s"].as_f64().unwrap_or(0.0),
            match kr["of_bandwidth"].as_f64() {
                Some(f) => format!(
                    " ({:.0} % of {:.1} GB/s)",
                    f * 100.0,
                    b.bandwidth_gbps.unwrap_or(0.0)
                ),
                None => " (give --gpu-bandwidth GBPS for the fraction of peak)".into(),
            },
            kr["gmacs_per_s"].as_f64().unwrap_or(0.0),
        );
    }
    if !model.is_null() {
        s += &format!(
            "  whole model: prefill {} tokens at {:.1} tok/s; decode {} tokens at {:.2} tok/s ({:.1} MB of ternary weights per token)\n",
            model["prefill_tokens"],
            model["prefill_tokens_per_s"].as_f64().unwrap_or(0.0),
            model["decode_tokens"],
            model["decode_tokens_per_s"].as_f64().unwrap_or(0.0),
            model["weight_bytes_per_token"].as_f64().unwrap_or(0.0) / 1e6,
        );
    }
    print(&s)
}
