//! The sweep: which designs are synthesized at which sizes and
//! accelerator configurations, run in parallel, plus nextpnr-ice40 place
//! and route for an Fmax.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tritium_golden::{AccelConfig, ArrayConfig};
use tritium_util::Progress;

use crate::error::{Error, Result};
use tritium_util::AtPath;

use super::accel::{accel_spec, default_accels, fits_ice40};
use super::liberty::{self, PreparedLibrary};
use super::pnr::{
    nextpnr_version, place_and_route, pnr_wrap_design, pnr_wrap_widths, PNR_WRAP_TOP,
};
use super::yosys::{self, YosysJob};
use super::{
    Family, Level, MacKind, PnrResult, SynthResults, ToolVersions, UnitResult, SCHEMA_VERSION,
};

/// An array shape: `cols` output channels x `lanes` activations per beat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ArraySize {
    pub cols: u32,
    pub lanes: u32,
}

impl ArraySize {
    /// Parses "COLSxLANES", e.g. "4x8" (both 1..=64).
    pub fn parse(s: &str) -> Result<ArraySize> {
        let bad = || Error::BadArraySize {
            text: s.to_string(),
        };
        let (c, l) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
        let cols: u32 = c.parse().map_err(|_| bad())?;
        let lanes: u32 = l.parse().map_err(|_| bad())?;
        if !(1..=64).contains(&cols) || !(1..=64).contains(&lanes) {
            return Err(bad());
        }
        Ok(ArraySize { cols, lanes })
    }
}

impl std::fmt::Display for ArraySize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.cols, self.lanes)
    }
}

/// What to run; [`SweepConfig::new`] gives the defaults of `tritium synth`.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    /// Repository root: holds `rtl/files.f` and `fpga/pnr_wrap.sv`.
    pub root: PathBuf,
    /// Array sizes (ternary and INT8 synthesized; FP16 estimated).
    pub sizes: Vec<ArraySize>,
    pub families: Vec<Family>,
    /// Also synthesize the PE-level designs (tri_pe, int8_pe, fp16_mul,
    /// fp16_mac_pe).
    pub pes: bool,
    /// Accelerator configurations: `tri_accel` for every family but
    /// `asic` (iCE40 only where [`fits_ice40`]), and for `asic` the MAC
    /// array of each (`tri_mac_array` at its shape and `KMax`).
    pub accels: Vec<AccelConfig>,
    /// With accelerators: also their weight decoders alone, `tri_wdec` of
    /// each configuration and one `tri_dec_base3`, for every family.
    pub decoders: bool,
    /// Liberty file of the `asic` family (plain or `.gz`).
    pub liberty: PathBuf,
    /// Place and route the ternary and INT8 arrays of this size and one
    /// fp16_mac_pe on an iCE40 HX8K (None: no P&R).
    pub pnr: Option<ArraySize>,
    /// KMax of the arrays.
    pub k_max: u32,
    /// Parallel tool processes.
    pub jobs: usize,
    /// Scratch directory (scripts, logs, netlists).
    pub work_dir: PathBuf,
    /// Executables.
    pub yosys: String,
    pub nextpnr: String,
}

impl SweepConfig {
    /// The array configuration of `size` at this sweep's `KMax`.
    pub fn array(&self, size: ArraySize) -> Result<ArrayConfig> {
        Ok(ArrayConfig::new(
            size.cols as usize,
            size.lanes as usize,
            self.k_max as usize,
        )?)
    }

    /// Defaults: sizes 1x8, 4x8, 8x8, 16x16; every family; PEs; the
    /// accelerator presets and their decoders; P&R of 4x8 arrays; KMax
    /// 8192; 2 jobs; scratch in `<root>/target/fpga-work`; the Liberty
    /// file [`liberty::DEFAULT_LIBERTY`] relative to the root.
    pub fn new(root: impl Into<PathBuf>) -> SweepConfig {
        let root = root.into();
        SweepConfig {
            work_dir: root.join("target/fpga-work"),
            liberty: root.join(liberty::DEFAULT_LIBERTY),
            accels: default_accels(),
            decoders: true,
            root,
            sizes: ["1x8", "4x8", "8x8", "16x16"]
                .iter()
                .map(|s| ArraySize::parse(s).expect("valid default size"))
                .collect(),
            families: Family::ALL.to_vec(),
            pes: true,
            pnr: Some(ArraySize { cols: 4, lanes: 8 }),
            k_max: 8192,
            jobs: 2,
            yosys: "yosys".into(),
            nextpnr: "nextpnr-ice40".into(),
        }
    }
}

/// What a synthesis job measures (the identity of its [`UnitResult`]).
#[derive(Debug, Clone, Copy)]
struct Unit {
    kind: MacKind,
    level: Level,
    size: ArraySize,
    accel: Option<AccelConfig>,
}

/// One unit of work for the pool.
enum Job {
    Synth {
        unit: Unit,
        job: YosysJob,
    },
    Pnr {
        kind: MacKind,
        module: &'static str,
        size: ArraySize,
        job: YosysJob,
    },
}

enum Done {
    Unit(UnitResult),
    Pnr(PnrResult),
}

/// Runs the sweep. `progress`, if given, gets its length set and one tick
/// per finished tool run. Results are sorted (kind, level, family, size).
pub fn run_sweep(cfg: &SweepConfig, progress: Option<&dyn Progress>) -> Result<SynthResults> {
    let start = Instant::now();
    if cfg.sizes.is_empty() && !cfg.pes && cfg.accels.is_empty() {
        return Err(Error::NothingToDo);
    }
    let yosys_version = yosys::version(&cfg.yosys)?;
    let nextpnr_version = match cfg.pnr {
        Some(_) => Some(nextpnr_version(&cfg.nextpnr)?),
        None => None,
    };
    // Scripts run in their own directories: every path must be absolute.
    let root = cfg.root.canonicalize().at(&cfg.root)?;
    std::fs::create_dir_all(&cfg.work_dir).at(&cfg.work_dir)?;
    let work_dir = cfg.work_dir.canonicalize().at(&cfg.work_dir)?;
    let cfg = &SweepConfig {
        root,
        work_dir,
        ..cfg.clone()
    };
    let lib = if cfg.families.contains(&Family::Asic) {
        Some(liberty::prepare(&cfg.liberty, &cfg.work_dir)?)
    } else {
        None
    };
    let list = tritium_util::filelist::read(&cfg.root, &cfg.root.join("rtl/files.f"))?;
    list.refuse_options("the FPGA flow")?;
    let jobs = plan(cfg, &list.sources, lib.as_ref().map(|l| l.path.as_path()))?;
    if let Some(p) = progress {
        p.set_total(jobs.len() as u64);
    }

    // A small pool: `cfg.jobs` threads (no more than there are jobs) take
    // jobs in order (largest first).
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Result<Done>>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..cfg.jobs.clamp(1, jobs.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                let r = run_job(cfg, job, lib.as_ref());
                let failed = r.is_err();
                done.lock().unwrap_or_else(|e| e.into_inner()).push(r);
                if let Some(p) = progress {
                    p.advance(1);
                }
                if failed {
                    // Stop handing out work; running jobs finish.
                    next.store(jobs.len(), Ordering::SeqCst);
                }
            });
        }
    });
    let mut units = Vec::new();
    let mut pnr = Vec::new();
    for r in done.into_inner().unwrap_or_else(|e| e.into_inner()) {
        match r? {
            Done::Unit(u) => units.push(u),
            Done::Pnr(p) => pnr.push(p),
        }
    }
    let est = fp16_estimates(&cfg.sizes, &units);
    units.extend(est);
    units.sort_by(|a, b| unit_order(a).cmp(&unit_order(b)));
    pnr.sort_by_key(|p| p.kind);
    Ok(SynthResults {
        schema_version: SCHEMA_VERSION,
        tools: ToolVersions {
            yosys: yosys_version,
            nextpnr: nextpnr_version,
            liberty: lib.map(|l| {
                let file = cfg
                    .liberty
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy();
                format!("{} ({file})", l.library.name)
            }),
        },
        k_max: cfg.k_max,
        sizes: cfg.sizes.clone(),
        accels: cfg.accels.clone(),
        units,
        pnr,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// `(name, value)` parameter list of Yosys from `sv_params`.
fn params(p: &[(&str, usize)]) -> Vec<(String, u64)> {
    p.iter()
        .map(|&(name, v)| (name.to_string(), v as u64))
        .collect()
}

fn plan(cfg: &SweepConfig, sources: &[PathBuf], liberty: Option<&Path>) -> Result<Vec<Job>> {
    let one = ArraySize { cols: 1, lanes: 1 };
    for s in &cfg.sizes {
        cfg.array(*s)?;
    }
    let yjob = |top: &str, params: Vec<(String, u64)>, family: Family, tag: &str| YosysJob {
        sources: sources.to_vec(),
        top: top.to_string(),
        params,
        family,
        liberty: liberty.map(Path::to_path_buf),
        dir: cfg.work_dir.join(format!("{top}-{tag}-{}", family.name())),
        netlist: false,
    };
    let array_params = |size: ArraySize| -> Result<Vec<(String, u64)>> {
        Ok(params(&cfg.array(size)?.sv_params()))
    };
    let synth = |kind, level, size, accel, job| Job::Synth {
        unit: Unit {
            kind,
            level,
            size,
            accel,
        },
        job,
    };
    let mut jobs = Vec::new();
    for &family in &cfg.families {
        // Arrays of the sweep sizes; not for asic (see Family::Asic).
        if family != Family::Asic {
            for &size in &cfg.sizes {
                for (kind, top) in [
                    (MacKind::Ternary, "tri_mac_array"),
                    (MacKind::Int8, "int8_mac_array"),
                ] {
                    let job = yjob(top, array_params(size)?, family, &size.to_string());
                    jobs.push(synth(kind, Level::Array, size, None, job));
                }
            }
        }
        if cfg.pes {
            for (kind, level, top) in [
                (MacKind::Ternary, Level::Pe, "tri_pe"),
                (MacKind::Int8, Level::Pe, "int8_pe"),
                (MacKind::Fp16, Level::Pe, "fp16_mul"),
                (MacKind::Fp16, Level::MacUnit, "fp16_mac_pe"),
            ] {
                let job = yjob(top, Vec::new(), family, "pe");
                jobs.push(synth(kind, level, one, None, job));
            }
        }
        plan_accels(cfg, family, &yjob, &mut jobs)?;
    }
    // FP16 array estimates need the MAC unit in every family with arrays.
    if !cfg.pes && !cfg.sizes.is_empty() {
        for &family in cfg.families.iter().filter(|&&f| f != Family::Asic) {
            let job = yjob("fp16_mac_pe", Vec::new(), family, "pe");
            jobs.push(synth(MacKind::Fp16, Level::MacUnit, one, None, job));
        }
    }
    if let Some(size) = cfg.pnr {
        let wrap = cfg.root.join("fpga/pnr_wrap.sv");
        for (kind, module, sz) in [
            (MacKind::Ternary, "tri_mac_array", size),
            (MacKind::Int8, "int8_mac_array", size),
            (MacKind::Fp16, "fp16_mac_pe", one),
        ] {
            let tag = format!("{module}-{sz}");
            let mut job = yjob(PNR_WRAP_TOP, array_params(sz)?, Family::Ice40, &tag);
            let (in_w, out_w) = pnr_wrap_widths(kind, &cfg.array(sz)?);
            job.params.extend([
                ("Design".into(), pnr_wrap_design(kind)),
                ("InW".into(), in_w),
                ("OutW".into(), out_w),
            ]);
            job.sources.push(wrap.clone());
            job.netlist = true;
            jobs.push(Job::Pnr {
                kind,
                module,
                size: sz,
                job,
            });
        }
    }
    // Largest first, so the long runs overlap with the short ones.
    let weight = |j: &Job| match j {
        Job::Synth { unit, .. } => {
            u64::from(unit.size.cols * unit.size.lanes)
                * match (unit.kind, unit.level) {
                    (_, Level::Accel) => 40,
                    (MacKind::Int8, _) => 3,
                    _ => 1,
                }
        }
        Job::Pnr { .. } => 10_000,
    };
    jobs.sort_by_key(|j| std::cmp::Reverse(weight(j)));
    Ok(jobs)
}

fn run_job(cfg: &SweepConfig, job: &Job, lib: Option<&PreparedLibrary>) -> Result<Done> {
    match job {
        Job::Synth { unit, job } => {
            let mut out = yosys::run(&cfg.yosys, job)?;
            let mut cell_area_um2 = None;
            if job.family == Family::Asic {
                let lib = lib.expect("the library is prepared for asic jobs");
                let (r, area) = lib.library.summarize(&out.cells).map_err(|m| Error::Tool {
                    tool: "yosys".into(),
                    message: format!(
                        "{} ({}): {m}; netlist not mapped to the library (log {})",
                        job.top,
                        job.family.name(),
                        job.dir.join("yosys.log").display()
                    ),
                })?;
                out.resources = crate::Resources {
                    multipliers: out.resources.multipliers,
                    ..r
                };
                cell_area_um2 = Some(area);
            }
            Ok(Done::Unit(UnitResult {
                kind: unit.kind,
                level: unit.level,
                module: job.top.clone(),
                cols: unit.size.cols,
                lanes: unit.size.lanes,
                family: job.family,
                resources: out.resources,
                estimate: false,
                cells: out.cells,
                seconds: out.seconds,
                accel: unit.accel,
                cell_area_um2,
            }))
        }
        Job::Pnr {
            kind,
            module,
            size,
            job,
        } => {
            let start = Instant::now();
            yosys::run(&cfg.yosys, job)?;
            let mut p = place_and_route(&cfg.nextpnr, &job.dir)?;
            p.kind = *kind;
            p.module = module.to_string();
            p.cols = size.cols;
            p.lanes = size.lanes;
            p.seconds = start.elapsed().as_secs_f64();
            Ok(Done::Pnr(p))
        }
    }
}

/// The FP16 array estimates of `sizes` from the `fp16_mac_pe` rows of
/// `units` (every family but `asic`, which has no sweep arrays).
pub(crate) fn fp16_estimates(sizes: &[ArraySize], units: &[UnitResult]) -> Vec<UnitResult> {
    let mut est = Vec::new();
    for u in units.iter().filter(|u| {
        u.kind == MacKind::Fp16
            && u.level == Level::MacUnit
            && u.family != Family::Asic
            && !u.estimate
    }) {
        for size in sizes {
            let n = u64::from(size.cols * size.lanes);
            est.push(UnitResult {
                kind: MacKind::Fp16,
                level: Level::Array,
                module: u.module.clone(),
                cols: size.cols,
                lanes: size.lanes,
                family: u.family,
                resources: u.resources.scaled(n),
                estimate: true,
                cells: Default::default(),
                seconds: 0.0,
                accel: None,
                cell_area_um2: None,
            });
        }
    }
    est
}

/// Sort key of the units in results.json: kind, level, family, size, then
/// the accelerator configuration and module (so that the order does not
/// depend on which job finished first).
pub(crate) fn unit_order(u: &UnitResult) -> impl Ord + '_ {
    (
        (u.kind, u.level, u.family),
        (u.cols * u.lanes, u.cols),
        u.accel
            .map(|a| (a.array.k_max, a.format.sv_value(), a.tokens, a.bus_bytes)),
        (u.estimate, u.module.as_str()),
    )
}

/// Makes the Yosys job of (top, parameters, family, directory tag).
type MakeJob<'a> = dyn Fn(&str, Vec<(String, u64)>, Family, &str) -> YosysJob + 'a;

/// The accelerator jobs of one family: `tri_accel` per configuration
/// (not `asic`; iCE40 only where it fits), the decoders (every family),
/// and for `asic` the MAC array of each distinct array shape.
fn plan_accels(
    cfg: &SweepConfig,
    family: Family,
    yjob: &MakeJob,
    jobs: &mut Vec<Job>,
) -> Result<()> {
    let mut arrays: Vec<ArrayConfig> = Vec::new();
    for a in &cfg.accels {
        a.check()?;
        let tag = accel_spec(a).replace(':', "-");
        let size = ArraySize {
            cols: a.array.cols as u32,
            lanes: a.array.lanes as u32,
        };
        let unit = |level| Unit {
            kind: MacKind::Ternary,
            level,
            size,
            accel: Some(*a),
        };
        if family != Family::Asic && (family != Family::Ice40 || fits_ice40(a)) {
            jobs.push(Job::Synth {
                unit: unit(Level::Accel),
                job: yjob("tri_accel", params(&a.sv_params()), family, &tag),
            });
        }
        if cfg.decoders {
            let p = a.sv_params();
            // tri_wdec takes Cols, Lanes, Format and WordBytes of them.
            let p: Vec<_> = p
                .iter()
                .copied()
                .filter(|(n, _)| matches!(*n, "Cols" | "Lanes" | "Format" | "WordBytes"))
                .collect();
            jobs.push(Job::Synth {
                unit: unit(Level::Decoder),
                job: yjob("tri_wdec", params(&p), family, &tag),
            });
        }
        if family == Family::Asic && !arrays.contains(&a.array) {
            arrays.push(a.array);
            let tag = format!("{size}-k{}", a.array.k_max);
            jobs.push(Job::Synth {
                unit: unit(Level::Array),
                job: yjob("tri_mac_array", params(&a.array.sv_params()), family, &tag),
            });
        }
    }
    if cfg.decoders && !cfg.accels.is_empty() {
        jobs.push(Job::Synth {
            unit: Unit {
                kind: MacKind::Ternary,
                level: Level::Decoder,
                size: ArraySize { cols: 1, lanes: 1 },
                accel: None,
            },
            job: yjob("tri_dec_base3", Vec::new(), family, "byte"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_reject() {
        assert_eq!(
            ArraySize::parse("4x8").unwrap(),
            ArraySize { cols: 4, lanes: 8 }
        );
        for bad in ["", "4", "0x8", "4x", "x8", "4x65", "a x b"] {
            assert!(ArraySize::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pnr_plan_passes_the_wrapper_parameters() {
        let mut cfg = SweepConfig::new("/repo");
        cfg.sizes = Vec::new();
        cfg.pnr = Some(ArraySize { cols: 2, lanes: 4 });
        let jobs = plan(&cfg, &[], None).unwrap();
        let mut seen = Vec::new();
        for job in &jobs {
            let Job::Pnr { kind, job, .. } = job else {
                continue;
            };
            assert_eq!(job.top, PNR_WRAP_TOP);
            assert!(job
                .sources
                .ends_with(&[PathBuf::from("/repo/fpga/pnr_wrap.sv")]));
            let param = |name: &str| job.params.iter().find(|(n, _)| n == name).map(|p| p.1);
            let (cols, lanes) = if *kind == MacKind::Fp16 {
                (1, 1)
            } else {
                (2, 4)
            };
            let (in_w, out_w) =
                pnr_wrap_widths(*kind, &ArrayConfig::new(cols, lanes, 8192).unwrap());
            assert_eq!(param("Design"), Some(pnr_wrap_design(*kind)));
            assert_eq!(param("Cols"), Some(cols as u64));
            assert_eq!(param("Lanes"), Some(lanes as u64));
            assert_eq!(param("KMax"), Some(8192));
            assert_eq!((param("InW"), param("OutW")), (Some(in_w), Some(out_w)));
            seen.push(job.dir.clone());
        }
        // Three designs, one scratch directory each.
        assert_eq!(seen.len(), 3);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn accelerator_plan_per_family() {
        let mut cfg = SweepConfig::new("/repo");
        cfg.sizes = Vec::new();
        cfg.pes = false;
        cfg.pnr = None;
        let lib = Path::new("/w/liberty/cells.lib");
        let jobs = plan(&cfg, &[], Some(lib)).unwrap();
        // (family, top, cols x lanes, accel format) of every job.
        let mut got: Vec<(Family, String, String)> = jobs
            .iter()
            .map(|j| match j {
                Job::Synth { unit, job } => (
                    job.family,
                    job.top.clone(),
                    unit.accel
                        .map_or(unit.size.to_string(), |a| crate::accel_label(&a)),
                ),
                Job::Pnr { .. } => unreachable!("no P&R planned"),
            })
            .collect();
        got.sort();
        let count = |f: Family, top: &str| got.iter().filter(|g| g.0 == f && g.1 == top).count();
        for f in [Family::Generic, Family::Xilinx, Family::Xcup] {
            assert_eq!(count(f, "tri_accel"), 4, "{f:?}");
        }
        // iCE40: only the small configurations fit; asic: no accelerator.
        assert_eq!(count(Family::Ice40, "tri_accel"), 2);
        assert_eq!(count(Family::Asic, "tri_accel"), 0);
        for f in Family::ALL {
            assert_eq!(count(f, "tri_wdec"), 4, "{f:?}");
            assert_eq!(count(f, "tri_dec_base3"), 1, "{f:?}");
        }
        // asic: the arrays of the configurations, the 4x5 one once.
        let arrays: Vec<&str> = got
            .iter()
            .filter(|g| g.1 == "tri_mac_array")
            .map(|g| g.2.as_str())
            .collect();
        assert_eq!(arrays, ["kv260-2bit", "kv260-base3", "small-2bit"]);
        assert!(got
            .iter()
            .all(|g| g.1 != "tri_mac_array" || g.0 == Family::Asic));
        // Parameters from AccelConfig::sv_params; tri_wdec gets its four.
        let kv = crate::parse_accel("kv260-base3").unwrap();
        let find = |top: &str, family| {
            jobs.iter()
                .find_map(|j| match j {
                    Job::Synth { unit, job }
                        if job.top == top && job.family == family && unit.accel == Some(kv) =>
                    {
                        Some(job)
                    }
                    _ => None,
                })
                .unwrap()
        };
        let p = |j: &YosysJob| {
            j.params
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(
            p(find("tri_accel", Family::Xcup)),
            "Cols=64,Lanes=5,KMax=8192,TMax=16,BusBytes=64,Format=1,WordBytes=64"
        );
        assert_eq!(
            p(find("tri_wdec", Family::Asic)),
            "Cols=64,Lanes=5,Format=1,WordBytes=64"
        );
        assert_eq!(find("tri_wdec", Family::Asic).liberty.as_deref(), Some(lib));
        // The accelerators go first (largest).
        assert!(matches!(&jobs[0], Job::Synth { unit, .. } if unit.level == Level::Accel));
        // Distinct scratch directories.
        let mut dirs: Vec<_> = jobs
            .iter()
            .map(|j| match j {
                Job::Synth { job, .. } | Job::Pnr { job, .. } => job.dir.clone(),
            })
            .collect();
        let n = dirs.len();
        dirs.sort();
        dirs.dedup();
        assert_eq!(dirs.len(), n);
    }
}
