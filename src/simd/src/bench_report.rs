//! The report of `tritium bench` ([`crate::bench::run_bench`]): its rows,
//! serialized for `--json`, and the text tables it prints.

use serde::Serialize;

use crate::peak::PeakRow;

#[derive(Debug, Clone, Serialize)]
pub struct BandwidthRow {
    pub threads: usize,
    pub read_gb_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct KernelRow {
    pub name: String,
    pub kernel: String,
    pub n: usize,
    pub k: usize,
    pub tokens: usize,
    pub threads: usize,
    pub bytes: usize,
    pub seconds_per_call: f64,
    pub gb_s: f64,
    pub gmac_s: f64,
    /// Weight GB/s over the read bandwidth measured with as many threads.
    pub fraction_of_bandwidth: f64,
    /// A prompt kernel's GMAC/s over the peak of the instruction it is
    /// built on (`compute_peaks`), with as many threads.
    pub fraction_of_peak: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelRow {
    pub backend: String,
    pub threads: usize,
    pub bytes_per_token: usize,
    pub decode_tok_s: f64,
    /// The floor at the best bandwidth seen in the run.
    pub floor_tok_s: f64,
    /// Median over interleaved (bandwidth pass, decode tokens) pairs of
    /// decode speed / floor at that pair's bandwidth.
    pub decode_fraction_of_floor: f64,
    /// `decode_tok_s / floor_tok_s` (mean speed against the best bandwidth).
    pub decode_fraction_of_best_floor: f64,
    /// Interleaved pairs behind `decode_fraction_of_floor`.
    pub decode_pairs: usize,
    pub prefill_tokens: usize,
    pub prefill_tok_s: f64,
    /// The KV cache's element type (`f32`, `f16`).
    pub kv_cache: String,
    /// Positions cached before the timed decode steps.
    pub context: usize,
    /// KV cache bytes a timed decode step reads on average (besides
    /// `bytes_per_token`, which the floor counts).
    pub kv_bytes_per_token: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub schema_version: u32,
    pub cpu_kernels_present: Vec<String>,
    /// The preset name or the model file measured.
    pub preset: String,
    /// Bytes of the model file(s) as stored on disk (a file measured with
    /// `--model`; `None` for a synthetic preset).
    pub file_bytes: Option<u64>,
    pub bandwidth: Vec<BandwidthRow>,
    /// Register-only loops of the prompt kernels' instructions
    /// ([`crate::peak`]).
    pub compute_peaks: Vec<PeakRow>,
    /// What `--body auto` measured on the AVX2 path ([`crate::calibrate`];
    /// `None` without AVX2).
    pub avx2_body_probe: Option<crate::calibrate::BodyProbe>,
    pub kernels: Vec<KernelRow>,
    pub models: Vec<ModelRow>,
}

/// Width of a name column: its longest entry, at least 20 (backend names
/// such as simd-avx2-lut-q4head-b3body outgrow a fixed width).
fn name_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(str::len).max().unwrap_or(0).max(20)
}

/// The report as the text tables `tritium bench` prints.
pub fn render(r: &BenchReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "kernel paths on this CPU: {}",
        r.cpu_kernels_present.join(", ")
    );
    let _ = writeln!(s, "\nmemory read bandwidth");
    for b in &r.bandwidth {
        let _ = writeln!(s, "  {} thread(s): {:6.2} GB/s", b.threads, b.read_gb_s);
    }
    if let Some(p) = &r.avx2_body_probe {
        let _ = writeln!(
            s,
            "\nAVX2 decode body (--body auto): {} (1 thread, in cache: 2-bit {:.1}, base-3 {:.1} GMAC/s)",
            if p.base3_wins() { "base-3" } else { "2-bit" },
            p.bit2_macs_per_s / 1e9,
            p.base3_macs_per_s / 1e9
        );
    }
    if !r.compute_peaks.is_empty() {
        let _ = writeln!(s, "\ncompute peaks (register-only loops)");
        for p in &r.compute_peaks {
            let _ = writeln!(
                s,
                "  {:<16} {} thread(s): {:8.1} GMAC/s",
                p.instruction.name(),
                p.threads,
                p.gmac_s
            );
        }
    }
    let kw = name_width(r.kernels.iter().map(|k| k.kernel.as_str()));
    let mw = name_width(r.kernels.iter().map(|k| k.name.as_str())).max(22);
    let _ = writeln!(
        s,
        "\nkernels ({} shapes)\n  {:<mw$} {:<kw$} {:>6} {:>6} {:>6} {:>3} {:>10} {:>8} {:>8} {:>7} {:>7}",
        r.preset,
        "matrix",
        "kernel",
        "n",
        "k",
        "tokens",
        "thr",
        "ms/call",
        "GB/s",
        "GMAC/s",
        "of bw",
        "of peak"
    );
    for k in &r.kernels {
        let peak = k
            .fraction_of_peak
            .map_or(String::new(), |f| format!("{:.0}%", f * 100.0));
        let _ = writeln!(
            s,
            "  {:<mw$} {:<kw$} {:>6} {:>6} {:>6} {:>3} {:>10.3} {:>8.2} {:>8.1} {:>6.0}% {:>7}",
            k.name,
            k.kernel,
            k.n,
            k.k,
            k.tokens,
            k.threads,
            k.seconds_per_call * 1e3,
            k.gb_s,
            k.gmac_s,
            k.fraction_of_bandwidth * 100.0,
            peak
        );
    }
    if !r.models.is_empty() {
        let bw = name_width(r.models.iter().map(|m| m.backend.as_str()));
        let _ = writeln!(
            s,
            "\nwhole model ({}{}; decode after {} cached positions, KV MB: what a step reads from the cache besides, not in the floor)\n  {:<bw$} {:>3} {:>10} {:>7} {:>10} {:>10} {:>9} {:>9} {:>12}",
            r.preset,
            match r.file_bytes {
                Some(b) => format!(
                    ", {:.1} MB as stored; MB/token: what the engine reads per token as it holds the weights",
                    b as f64 / 1e6
                ),
                None => ", synthetic weights".into(),
            },
            r.models[0].context,
            "backend",
            "thr",
            "MB/token",
            "KV MB",
            "decode t/s",
            "floor t/s",
            "of floor",
            "of best",
            "prefill t/s"
        );
        for m in &r.models {
            let _ = writeln!(
                s,
                "  {:<bw$} {:>3} {:>10.1} {:>7.1} {:>10.2} {:>10.2} {:>8.0}% {:>8.0}% {:>8.1} ({})",
                m.backend,
                m.threads,
                m.bytes_per_token as f64 / 1e6,
                m.kv_bytes_per_token as f64 / 1e6,
                m.decode_tok_s,
                m.floor_tok_s,
                m.decode_fraction_of_floor * 100.0,
                m.decode_fraction_of_best_floor * 100.0,
                m.prefill_tok_s,
                m.prefill_tokens
            );
        }
    }
    s
}
