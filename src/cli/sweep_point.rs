//! One RTL measurement of `tritium sweep`, and its cache.
//!
//! A measurement is what a design point needs from the RTL: one layer's
//! BitLinears at one token row and at `batch` rows, on one built model
//! with one memory ([`MeasureSpec`]). The sweep runs each missing one as a
//! task of its launcher: the hidden command `tritium sweep-point --spec
//! FILE --out FILE` (the same executable, so a Slurm job array runs the
//! same models). Results are cached as `CACHE/<key>.json`, the key a hash
//! of the spec, the RTL's digest, tritium's version and [`METHOD`].

use std::path::{Path, PathBuf};

use clap::Args;
use serde::{Deserialize, Serialize};
use tritium_util::AtPath;

use super::error::{Error, Result};

/// Version of the measuring code: change it when the measurement changes
/// for the same spec and RTL (the cache then misses).
pub const METHOD: &str = "layer-cycles-1";

/// Everything that determines a measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureSpec {
    /// Built model (`tritium_sim::ACCEL_CONFIGS`).
    pub model: String,
    /// Model shape (preset name) and its BitLinears' (N, K), `Proj::ALL` order.
    pub preset: String,
    pub shapes: Vec<(usize, usize)>,
    /// Token rows of the step call (and of each job).
    pub batch: usize,
    pub mem_bytes_per_cycle: f64,
    pub mem_latency: u32,
    /// Every output tile simulated (no extrapolation).
    pub full: bool,
}

/// Counters of one BitLinear call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub cycles: u64,
    pub dram_bytes: u64,
    pub buffer_reads: u64,
    pub buffer_writes: u64,
}

/// One phase: the 7 BitLinears, and how each group was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub rows: usize,
    pub calls: Vec<Counters>,
    /// Per group (q/k/v, o, gate/up, down): `full`, or `extrapolated from
    /// t..t+2 tiles` with `affine` and the largest deviation.
    pub methods: Vec<serde_json::Value>,
    pub simulated_cycles: u64,
}

/// A measurement as the task writes it (the cache file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub key: String,
    pub spec: MeasureSpec,
    pub rtl_digest: String,
    pub generator: String,
    pub decode: Phase,
    pub step: Phase,
    pub wall_seconds: f64,
}

/// FNV-1a, 64 bits: stable across Rust versions and machines.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The RTL the models were built from.
fn rtl_digest() -> &'static str {
    #[cfg(feature = "rtl")]
    {
        tritium_rtl::RTL_DIGEST
    }
    #[cfg(not(feature = "rtl"))]
    {
        "no-rtl"
    }
}

fn generator() -> String {
    format!("tritium {}", env!("CARGO_PKG_VERSION"))
}

impl MeasureSpec {
    /// The cache key: a hash of the spec, the RTL, the version and the method.
    pub fn key(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        let all = format!("{text}|{}|{}|{METHOD}", rtl_digest(), generator());
        format!("{:016x}", fnv(all.as_bytes()))
    }
}

/// Where the measurement of `spec` is cached.
pub fn cache_file(cache: &Path, spec: &MeasureSpec) -> PathBuf {
    cache.join(format!("{}.json", spec.key()))
}

/// The cached measurement of `spec`, if there is a valid one (a file of
/// another spec or version, unreadable, or not a regular file, is a miss).
pub fn cached(cache: &Path, spec: &MeasureSpec) -> Option<Measurement> {
    let text = tritium_util::file::read_to_string_regular(&cache_file(cache, spec)).ok()?;
    let m: Measurement = serde_json::from_str(&text).ok()?;
    (m.spec == *spec && m.rtl_digest == rtl_digest() && m.key == spec.key()).then_some(m)
}

/// Arguments of the hidden `tritium sweep-point`.
#[derive(Debug, Args)]
pub struct SweepPointArgs {
    /// The measurement to make (a MeasureSpec as JSON).
    #[arg(long, value_name = "FILE")]
    pub spec: PathBuf,
    /// Where to write the measurement (JSON, written atomically).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `tritium sweep-point`: one measurement, written to `--out`.
pub fn run(a: &SweepPointArgs) -> Result<()> {
    let text = tritium_util::file::read_to_string_regular(&a.spec)?;
    let spec: MeasureSpec = serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("--spec {}: {e}", a.spec.display())))?;
    let t0 = std::time::Instant::now();
    let (decode, step) = measure(&spec)?;
    let m = Measurement {
        key: spec.key(),
        spec,
        rtl_digest: rtl_digest().to_string(),
        generator: generator(),
        decode,
        step,
        wall_seconds: t0.elapsed().as_secs_f64(),
    };
    let mut text = serde_json::to_string_pretty(&m)
        .map_err(|e| Error::Usage(format!("measurement JSON: {e}")))?;
    text.push('\n');
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).at(dir)?;
    }
    tritium_util::write_atomic(&a.out, text.as_bytes())?;
    Ok(())
}

#[cfg(feature = "rtl")]
fn measure(spec: &MeasureSpec) -> Result<(Phase, Phase)> {
    use tritium_golden::Preset;
    use tritium_rtl::layer_cycles::{measure_layer, PhaseCycles};

    let cfg = tritium_rtl::AccelSimConfig::by_name(&spec.model).ok_or_else(|| {
        Error::Usage(format!(
            "--spec: accelerator model {} was not built",
            spec.model
        ))
    })?;
    let preset = Preset::from_name(&spec.preset)
        .ok_or_else(|| Error::Usage(format!("--spec: unknown preset {}", spec.preset)))?;
    let c = preset.config();
    let shapes: Vec<(usize, usize)> = tritium_golden::Proj::ALL
        .iter()
        .map(|p| p.shape(&c))
        .collect();
    if shapes != spec.shapes {
        return Err(Error::Usage(format!(
            "--spec: the shapes of preset {} are {shapes:?}, the spec says {:?}",
            spec.preset, spec.shapes
        )));
    }
    let mem = tritium_rtl::MemoryConfig {
        bytes_per_cycle: spec.mem_bytes_per_cycle,
        latency: spec.mem_latency,
    };
    let mut rtl = tritium_rtl::RtlBackend::new(cfg, spec.batch, mem)
        .map_err(|e| Error::from(tritium_rtl::Error::from(e)))?;
    let phase = |p: PhaseCycles| Phase {
        rows: p.rows,
        calls: p
            .calls
            .iter()
            .map(|x| Counters {
                cycles: x.cycles,
                dram_bytes: x.dram_bytes,
                buffer_reads: x.buffer_reads,
                buffer_writes: x.buffer_writes,
            })
            .collect(),
        methods: p
            .methods
            .iter()
            .map(|m| serde_json::to_value(m).unwrap_or_default())
            .collect(),
        simulated_cycles: p.simulated_cycles,
    };
    let decode = measure_layer(&mut rtl, &c, 1, spec.full)?;
    let step = measure_layer(&mut rtl, &c, spec.batch, spec.full)?;
    Ok((phase(decode), phase(step)))
}

#[cfg(not(feature = "rtl"))]
fn measure(_: &MeasureSpec) -> Result<(Phase, Phase)> {
    Err(Error::Usage(
        "this tritium was built without the `rtl` feature (Verilator): the sweep cannot measure cycles".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MeasureSpec {
        MeasureSpec {
            model: "acc2".into(),
            preset: "tiny".into(),
            shapes: vec![(64, 64); 7],
            batch: 4,
            mem_bytes_per_cycle: 10.0,
            mem_latency: 1,
            full: false,
        }
    }

    #[test]
    fn key_changes_with_every_field_and_only_then() {
        let a = spec();
        assert_eq!(a.key(), spec().key());
        let mut keys = vec![a.key()];
        let mut b = spec();
        b.batch = 2;
        keys.push(b.key());
        let mut b = spec();
        b.mem_bytes_per_cycle = 5.0;
        keys.push(b.key());
        let mut b = spec();
        b.model = "acc3".into();
        keys.push(b.key());
        let mut b = spec();
        b.full = true;
        keys.push(b.key());
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn a_cache_file_of_another_spec_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec();
        let phase = Phase {
            rows: 1,
            calls: vec![Counters::default(); 7],
            methods: Vec::new(),
            simulated_cycles: 0,
        };
        let m = Measurement {
            key: s.key(),
            spec: s.clone(),
            rtl_digest: rtl_digest().into(),
            generator: generator(),
            decode: phase.clone(),
            step: phase,
            wall_seconds: 0.0,
        };
        let f = cache_file(dir.path(), &s);
        std::fs::write(&f, serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(cached(dir.path(), &s), Some(m.clone()));
        // The same file under another spec's name: refused.
        let mut other = spec();
        other.batch = 1;
        std::fs::copy(&f, cache_file(dir.path(), &other)).unwrap();
        assert_eq!(cached(dir.path(), &other), None);
        std::fs::write(&f, "{").unwrap();
        assert_eq!(cached(dir.path(), &s), None);
    }
}
