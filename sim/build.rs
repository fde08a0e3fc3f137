//! Builds the Verilator models of `tri_mac_array`, one per entry of
//! `CONFIGS` in `src/configs.rs`, of the accelerator `tri_accel`, one per
//! entry of `ACCEL_CONFIGS` there, the models of the INT8 comparison array
//! `int8_mac_array` (configuration `INT8` there, see `src/int8.rs`) and of
//! the FP16 comparison PE `fp16_mac_pe` (see `src/fp16.rs`), and the C++
//! shim of `csrc/`, into static libraries.
//!
//! Steps:
//! 1. find Verilator (>= 5.006, pinned: Debian's 5.006) and its root;
//! 2. per configuration, verilate `rtl/files.f` (paths relative to the repo
//!    root; plus `rtl/lint/*.vlt` and `verilator/sim.vlt`) into
//!    `$OUT_DIR/<name>/` with `--prefix Vtri_<name>` (arrays) or into
//!    `$OUT_DIR/acc_<name>/` with `--prefix Vacc_<name>` (accelerators), all
//!    configurations at once;
//! 3. compile the generated `*.cpp` of every configuration, one shared build
//!    unit of the Verilator runtime (verilated, verilated_threads,
//!    verilated_vcd_c) and the shim with the `cc` crate: the hot path at
//!    -O2 (-O1 in unoptimised profiles; `TRITIUM_SIM_OPT`), run-once and
//!    tracing code at -O0, as two parallel batches at the same time;
//!    archive them as `tri_model_<name>`, `tri_vlrt` and `tri_shim`. Every
//!    translation unit gets the same defines (`DEFINES`).
//!
//! The runtime and each model are kept in `$OUT_DIR` with a key of
//! everything that goes into them (Verilator version, flags, defines, the
//! contents of every RTL file), hashed with FNV-1a (stable across Rust
//! versions): a shim edit recompiles only the shim, an RTL edit not the
//! runtime. Nothing is written outside `$OUT_DIR`. `cargo build` and `test`
//! share one `$OUT_DIR` (the workspace gives `test` no settings of its own),
//! `--release` and `bench` another; `cargo clippy` gets its own (cargo keys
//! workspace members by the `clippy-driver` wrapper), which is why the lint
//! sets `TRITIUM_SIM_CHECK_ONLY` rather than build every model a second time.
//!
//! Knobs (environment): `TRITIUM_VERILATOR` = the `verilator` executable to
//! use (default: `verilator` on PATH); `TRITIUM_RTL_ROOT` = directory holding
//! `rtl/files.f` (default: the repository root); `TRITIUM_RTL_ROOT_MODELS` =
//! comma-separated model names (`small`, `large`, `acc_<name>`,
//! `fp16_mac_pe`) built from `TRITIUM_RTL_ROOT`, the others from the
//! repository's tree (default: all from `TRITIUM_RTL_ROOT`; the mutation
//! campaign, scripts/mutate.py, rebuilds only the models whose hierarchy a
//! mutant touches, the others stay cached); `TRITIUM_SIM_OPT` = gcc
//! optimisation level of the models' hot path (default 2 in optimised
//! profiles, `release` and `bench`, and 1 in `dev` and `test`; the slow path
//! is always -O0); `TRITIUM_SIM_CHECK_ONLY=1` = for `cargo check` and `clippy`,
//! which link nothing: the configurations and the RTL file list are checked,
//! but no model is built and no library is linked (Verilator is not needed;
//! a binary or test linked this way fails with undefined `tri_*` symbols);
//! `TRITIUM_SIM_COVERAGE` = `1` builds every model with
//! Verilator's `--coverage` (line, toggle and the RTL's `TRI_COVER` points),
//! compiles the runtime's `verilated_cov.cpp` and defines `VM_COVERAGE=1` in
//! every translation unit (default `0`: no coverage code at all). The knob is
//! part of every key; `make coverage` (scripts/coverage.sh) builds with it in
//! a target directory of its own so that normal builds are not invalidated.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::{env, fs};

#[path = "build/keys.rs"]
mod keys;
use keys::{digest_files, digest_tree, record_key, up_to_date};
#[path = "build/trees.rs"]
mod trees;

#[allow(dead_code)]
mod configs {
    include!("src/configs.rs");
}
#[path = "build/configs.rs"]
mod config_checks;
use config_checks::{check_configs, write_config_header};
use configs::{AccelSimConfig, SimConfig, ACCEL_CONFIGS, CONFIGS, INT8};

/// Oldest Verilator accepted (major, minor); tested with Debian's 5.006.
const MIN_VERILATOR: (u32, u32) = (5, 6);
/// Env knob: path of the verilator executable. (Never `VERILATOR_BIN`:
/// Verilator's own wrapper reads that name.)
const ENV_VERILATOR: &str = "TRITIUM_VERILATOR";
/// Env knob: directory containing `rtl/files.f`.
const ENV_RTL_ROOT: &str = "TRITIUM_RTL_ROOT";
/// Env knob: the models (comma-separated names) built from [`ENV_RTL_ROOT`];
/// the others from the repository's tree.
const ENV_RTL_ROOT_MODELS: &str = "TRITIUM_RTL_ROOT_MODELS";
/// Env knob: gcc -O level of the models' hot path (0..=3).
const ENV_OPT: &str = "TRITIUM_SIM_OPT";
/// Default of [`ENV_OPT`]: -O2 where cargo optimises the crate fully
/// (`release`, `bench`: opt-level 2 or 3), -O1 otherwise (the workspace's
/// `dev` and `test` profiles use opt-level 1). -O1 compiles the models in
/// half the CPU time of -O2 (163 against 291 CPU-seconds for all of them on
/// a 2-core AMD EPYC), and the co-simulation tests ran no slower with it;
/// `make run` and the speed measurements use the release build.
fn default_opt() -> u32 {
    match env::var("OPT_LEVEL").as_deref() {
        Ok("2" | "3") => 2,
        _ => 1,
    }
}
/// Env knob: `1` = check only, build no model (`cargo check` / `clippy`).
const ENV_CHECK_ONLY: &str = "TRITIUM_SIM_CHECK_ONLY";
/// Env knob: `1` = coverage build (see the module docs), `0` or unset = none.
const ENV_COVERAGE: &str = "TRITIUM_SIM_COVERAGE";

const INSTALL_HINT: &str =
    "Install it with `apt-get install -y verilator` (Debian/Ubuntu, as root), \
or run `scripts/install-deps.sh` from the repository root; or set TRITIUM_VERILATOR to a \
verilator executable.";

/// Verilator flags common to every configuration.
const VERILATOR_FLAGS: &[&str] = &[
    "--cc",
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--no-timing",
    "--assert",
    "--trace",
    // Smaller files and functions: gcc time grows faster than linearly
    // with function size, and 2 cores need several files of similar size
    // (16x32 array: 40 s instead of 48 s of CPU, longest file 4 s not 9 s).
    "--output-split",
    "10000",
    "--output-split-cfuncs",
    "4000",
    "--output-split-ctrace",
    "4000",
    // Verilator 5.006 rolls runs of more than 40 similar assignments into
    // loops over a variable `__Vilp`; in `_eval` of the accelerator models
    // (the assertions' sampled copies of 1408-bit results) it used the
    // variable without declaring it, and the C++ did not compile. Above
    // 1024 words only: no port or sampled value of ours is that wide.
    "--reloop-limit",
    "1024",
];

/// Preprocessor defines of EVERY translation unit (runtime, models, shim):
/// the VM_* set must agree everywhere or trace classes differ between units.
/// A coverage build replaces `VM_COVERAGE` (see [`defines`]).
const DEFINES: &[(&str, &str)] = &[
    ("VM_COVERAGE", "0"),
    ("VM_SC", "0"),
    ("VM_TRACE", "1"),
    ("VM_TRACE_VCD", "1"),
    ("VM_TRACE_FST", "0"),
    // Time comes from each model's own VerilatedContext, not sc_time_stamp().
    ("VL_TIME_CONTEXT", "1"),
    // The shim defines vl_stop / vl_fatal / vl_finish: assertion failures
    // become Rust errors instead of aborting the process.
    ("VL_USER_STOP", "1"),
    ("VL_USER_FATAL", "1"),
    ("VL_USER_FINISH", "1"),
    // Runtime messages go through the shim (declared in tri_vl_hooks.h).
    ("VL_PRINTF", "tri_vl_printf"),
];

/// The defines of this build: [`DEFINES`], with `VM_COVERAGE=1` in a
/// coverage build (the same list, so the keys of a normal build do not
/// change).
fn defines(coverage: bool) -> Vec<(&'static str, &'static str)> {
    DEFINES
        .iter()
        .map(|&(k, v)| match k {
            "VM_COVERAGE" if coverage => (k, "1"),
            _ => (k, v),
        })
        .collect()
}

fn main() {
    let mut out = Directives::default();
    match run(&mut out) {
        Ok(()) => {
            for line in out.0 {
                println!("cargo:{line}");
            }
        }
        Err(msg) => {
            // One clear message, no panic backtrace. The directives are not
            // printed: cargo reruns a failed build script anyway, and they
            // would bury the message in cargo's dump of our stdout.
            eprintln!("error: {msg}");
            std::process::exit(1);
        }
    }
}

/// `cargo:` directives, printed only once the build succeeded.
#[derive(Default)]
struct Directives(Vec<String>);

impl Directives {
    fn emit(&mut self, line: String) {
        self.0.push(line);
    }
}

struct Verilator {
    exe: PathBuf,
    version: String,
    include: PathBuf,
}

struct Rtl {
    root: PathBuf,
    /// `rtl/files.f` as read by the one reader (`tritium_util::filelist`).
    list: tritium_util::filelist::FileList,
    /// Verilator configuration files passed before files.f: the waivers
    /// rtl/lint/*.vlt (unless files.f lists them) and sim/verilator/sim.vlt.
    extra_vlt: Vec<PathBuf>,
}

fn run(out: &mut Directives) -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);

    for f in [
        "build.rs",
        "build/configs.rs",
        "src/configs.rs",
        "csrc/shim.cpp",
        "csrc/accel_job.h",
        "csrc/tri_cov.h",
        "csrc/tri_vl_hooks.h",
    ] {
        out.emit(format!(
            "rerun-if-changed={}",
            manifest_dir.join(f).display()
        ));
    }
    for knob in [
        ENV_VERILATOR,
        ENV_RTL_ROOT,
        ENV_RTL_ROOT_MODELS,
        ENV_OPT,
        ENV_CHECK_ONLY,
        ENV_COVERAGE,
        "VERILATOR_ROOT",
    ] {
        out.emit(format!("rerun-if-env-changed={knob}"));
    }

    check_configs()?;
    let check_only = match env::var(ENV_CHECK_ONLY).as_deref() {
        Err(_) | Ok("" | "0") => false,
        Ok("1") => true,
        Ok(v) => return Err(format!("{ENV_CHECK_ONLY}={v}: expected 1 or 0")),
    };
    let opt = match env::var(ENV_OPT) {
        Ok(v) => match v.trim().parse::<u32>() {
            Ok(o) if o <= 3 => o,
            _ => {
                return Err(format!(
                    "{ENV_OPT}={v}: expected an optimisation level 0..=3"
                ))
            }
        },
        Err(_) => default_opt(),
    };
    let coverage = match env::var(ENV_COVERAGE).as_deref() {
        Err(_) | Ok("" | "0") => false,
        Ok("1") => true,
        Ok(v) => return Err(format!("{ENV_COVERAGE}={v}: expected 0 or 1")),
    };
    let defines = defines(coverage);
    // The RTL trees: the repository's, and TRITIUM_RTL_ROOT's if set; each
    // model is built from one of them (`tree_of`).
    let repo_root = manifest_dir
        .parent()
        .ok_or("sim/ has no parent directory")?
        .to_path_buf();
    let alt_root = env::var_os(ENV_RTL_ROOT).map(PathBuf::from);
    let models = models();
    let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    let from_alt = trees::from_alt_root(
        &names,
        alt_root.is_some(),
        env::var(ENV_RTL_ROOT_MODELS).ok().as_deref(),
    )?;
    let mut trees: Vec<Tree> = Vec::new();
    if from_alt.iter().any(|&a| !a) {
        trees.push(load_tree(&repo_root, &manifest_dir, out)?);
    }
    if let Some(root) = alt_root.as_deref().filter(|_| from_alt.iter().any(|&a| a)) {
        trees.push(load_tree(root, &manifest_dir, out)?);
    }
    // The alternative tree is the last one when loaded.
    let tree_of = |i: usize| if from_alt[i] { trees.len() - 1 } else { 0 };
    // The RTL the models are built from, for caches of measured results
    // (`tritium sweep`): independent of where the tree is checked out.
    let rtl_digest = trees
        .iter()
        .map(|t| t.content_digest)
        .fold(0u64, |a, d| a.rotate_left(17) ^ d);
    out.emit(format!("rustc-env=TRITIUM_RTL_DIGEST={rtl_digest:016x}"));
    if check_only {
        out.emit(format!(
            "warning={ENV_CHECK_ONLY}=1: Verilator models not built (enough for check and clippy; linking would fail)"
        ));
        return Ok(());
    }
    let vl = find_verilator()?;

    // Everything that changes the compiled code besides the sources.
    let hooks_h = manifest_dir.join("csrc/tri_vl_hooks.h");
    let compile_key = format!(
        "O{opt}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}",
        vl.version,
        vl.include.display(),
        defines,
        env::var("TARGET").ok(),
        env::var("CXX").ok(),
        env::var("CXXFLAGS").ok(),
        fs::read(&hooks_h).map_err(|e| format!("{}: {e}", hooks_h.display()))?,
    );

    // Which libraries need building: those whose key (everything that goes
    // into them) differs from the one recorded in OUT_DIR when they were built.
    let mut stale = Vec::new();
    for (i, model) in models.iter().enumerate() {
        let tree = &trees[tree_of(i)];
        let key = format!(
            "{compile_key}|{:?}|{:x}",
            verilator_args(model, Path::new("<mdir>"), &tree.rtl, coverage),
            tree.digest
        );
        let lib = model.lib();
        let header = out_dir
            .join(&model.name)
            .join(format!("{}.h", model.prefix));
        let outputs = [out_dir.join(format!("lib{lib}.a")), header];
        if !up_to_date(&out_dir, &lib, &key, &outputs) {
            stale.push((model, &tree.rtl, lib, key));
        }
    }
    verilate(&vl, &out_dir, coverage, stale.iter().map(|s| (s.0, s.1)))?;
    write_config_header(&out_dir)?;

    // Stale models + runtime (if stale) + shim, as libraries of sources.
    let rt_outputs = [out_dir.join("libtri_vlrt.a")];
    let rt_stale = !up_to_date(&out_dir, "tri_vlrt", &compile_key, &rt_outputs);
    let mut units: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for (model, _, lib, _) in &stale {
        let mdir = out_dir.join(&model.name);
        let mut cpps: Vec<PathBuf> = fs::read_dir(&mdir)
            .map_err(|e| format!("{}: {e}", mdir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
            .collect();
        cpps.sort();
        if cpps.is_empty() {
            return Err(format!("Verilator generated no .cpp in {}", mdir.display()));
        }
        units.push((lib.clone(), cpps));
    }
    if rt_stale {
        let mut rt = vec![
            "verilated.cpp",
            "verilated_threads.cpp",
            "verilated_vcd_c.cpp",
        ];
        if coverage {
            rt.push("verilated_cov.cpp");
        }
        units.push((
            "tri_vlrt".into(),
            rt.iter().map(|f| vl.include.join(f)).collect(),
        ));
    }
    units.push(("tri_shim".into(), vec![manifest_dir.join("csrc/shim.cpp")]));

    let objects = compile(&vl, &out_dir, &hooks_h, &defines, &units, opt)?;
    let archiver = base_build(&vl, &out_dir, &hooks_h, &defines)?;
    for (lib, files) in &units {
        let objs: Vec<&PathBuf> = files.iter().map(|f| &objects[f]).collect();
        archiver
            .try_create_archive(lib, objs)
            .map_err(|e| format!("archiving {lib}: {e}"))?;
    }
    for (_, _, lib, key) in &stale {
        record_key(&out_dir, lib, key)?;
    }
    if rt_stale {
        record_key(&out_dir, "tri_vlrt", &compile_key)?;
    }

    // Link order: users before what they use.
    out.emit(format!("rustc-link-search=native={}", out_dir.display()));
    out.emit("rustc-link-lib=static=tri_shim".into());
    for model in &models {
        out.emit(format!("rustc-link-lib=static={}", model.lib()));
    }
    out.emit("rustc-link-lib=static=tri_vlrt".into());
    out.emit("rustc-link-lib=stdc++".into());
    Ok(())
}

/// Generated code that runs once (construction, initialisation) or only
/// while a waveform is written: compiled at -O0. Verilator's own makefiles
/// do the same (OPT_SLOW); at -O2 these files doubled the cold build.
fn is_slow_path(file: &Path) -> bool {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.contains("__Slow")
        || name.contains("__Syms")
        || name.contains("__Trace")
        || name.contains("__ConstPool")
}

/// cc settings shared by every translation unit.
fn base_build(
    vl: &Verilator,
    out_dir: &Path,
    hooks_h: &Path,
    defines: &[(&str, &str)],
) -> Result<cc::Build, String> {
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .warnings(false)
        .debug(false)
        .cargo_metadata(false)
        .include(&vl.include)
        .include(vl.include.join("vltstd"))
        .include(out_dir)
        .flag("-include")
        .flag(hooks_h.to_str().ok_or("non-UTF-8 path of csrc/")?);
    for model in models() {
        build.include(out_dir.join(&model.name));
    }
    for (k, v) in defines {
        build.define(k, *v);
    }
    Ok(build)
}

/// Compiles every source of `units`: the hot path at -O`opt`, the slow path at
/// -O0, as two cc batches running at the same time (cc shares cargo's
/// jobserver between them), largest files first. Returns source -> object.
fn compile(
    vl: &Verilator,
    out_dir: &Path,
    hooks_h: &Path,
    defines: &[(&str, &str)],
    units: &[(String, Vec<PathBuf>)],
    opt: u32,
) -> Result<HashMap<PathBuf, PathBuf>, String> {
    let mut fast: Vec<PathBuf> = Vec::new();
    let mut slow: Vec<PathBuf> = Vec::new();
    for f in units.iter().flat_map(|(_, files)| files) {
        if is_slow_path(f) {
            slow.push(f.clone());
        } else {
            fast.push(f.clone());
        }
    }
    let size = |p: &PathBuf| std::cmp::Reverse(fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    fast.sort_by_key(size);
    slow.sort_by_key(size);
    let batch = |files: &[PathBuf], opt: u32| -> Result<Vec<(PathBuf, PathBuf)>, String> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let mut build = base_build(vl, out_dir, hooks_h, defines)?;
        build.opt_level(opt).files(files);
        if opt >= 2 {
            // gcc's RTL combiner is superlinear on the huge basic blocks of
            // the generated eval functions (76% of a 17 s compile of the
            // 16x32 array's PE logic); 2-insn combines cut that file to ~6 s.
            build.flag_if_supported("--param=max-combine-insns=2");
        }
        let objs = build
            .try_compile_intermediates()
            .map_err(|e| format!("C++ compilation of the Verilator models failed: {e}"))?;
        Ok(files.iter().cloned().zip(objs).collect())
    };
    let (fast_objs, slow_objs) = std::thread::scope(|s| {
        let slow_job = s.spawn(|| batch(&slow, 0));
        let fast_objs = batch(&fast, opt);
        let slow_objs = slow_job
            .join()
            .unwrap_or_else(|_| Err("compile thread panicked".into()));
        (fast_objs, slow_objs)
    });
    Ok(fast_objs?.into_iter().chain(slow_objs?).collect())
}

fn find_verilator() -> Result<Verilator, String> {
    let exe = env::var_os(ENV_VERILATOR)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("verilator"));
    let need = format!(
        "tritium-sim needs Verilator >= {}.{:03} (tested: Debian's verilator 5.006).",
        MIN_VERILATOR.0, MIN_VERILATOR.1
    );
    let out = match Command::new(&exe).arg("--version").output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let what = match env::var_os(ENV_VERILATOR) {
                Some(_) => format!("{ENV_VERILATOR}={} does not exist", exe.display()),
                None => "`verilator` is not on PATH".to_string(),
            };
            return Err(format!(
                "Verilator not found: {what}. {need} {INSTALL_HINT}"
            ));
        }
        Err(e) => {
            return Err(format!(
                "cannot run `{} --version`: {e}. {need} {INSTALL_HINT}",
                exe.display()
            ))
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // "Verilator 5.006 2023-01-22 rev (Debian 5.006-3)"
    let parsed = text
        .strip_prefix("Verilator ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.split_once('.'))
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    match parsed {
        Some(v) if v >= MIN_VERILATOR => {}
        Some(_) => {
            return Err(format!(
                "`{} --version` says `{text}`: too old. {need} {INSTALL_HINT}",
                exe.display()
            ))
        }
        None => {
            return Err(format!(
                "`{} --version` printed `{text}`, not a version number. {need} {INSTALL_HINT}",
                exe.display()
            ))
        }
    }
    let out = Command::new(&exe)
        .args(["--getenv", "VERILATOR_ROOT"])
        .output()
        .map_err(|e| format!("`{} --getenv VERILATOR_ROOT`: {e}", exe.display()))?;
    let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let include = root.join("include");
    if !include.join("verilated.cpp").is_file() {
        return Err(format!(
            "Verilator runtime sources not found: {} does not exist (root from `verilator --getenv VERILATOR_ROOT`). {INSTALL_HINT}",
            include.join("verilated.cpp").display()
        ));
    }
    Ok(Verilator {
        exe,
        version: text,
        include,
    })
}

/// One RTL tree and the digest of its inputs.
struct Tree {
    rtl: Rtl,
    digest: u64,
    /// Of the same files, with paths relative to the tree's root.
    content_digest: u64,
}

/// Reads the tree at `root` (plus the simulation's own sim.vlt), asks cargo
/// to rerun on any change of its inputs and digests them.
fn load_tree(root: &Path, manifest_dir: &Path, out: &mut Directives) -> Result<Tree, String> {
    let mut rtl = read_rtl(root)?;
    // The simulation build's own Verilator configuration (waveform scope).
    rtl.extra_vlt.push(manifest_dir.join("verilator/sim.vlt"));
    for p in rtl
        .list
        .lists
        .iter()
        .chain(&rtl.list.sources)
        .chain(&rtl.list.incdirs)
        .chain(&rtl.extra_vlt)
    {
        out.emit(format!("rerun-if-changed={}", p.display()));
    }
    let lint_dir = rtl.root.join("rtl/lint");
    if lint_dir.is_dir() {
        out.emit(format!("rerun-if-changed={}", lint_dir.display()));
    }
    let inputs = || {
        rtl.list
            .lists
            .iter()
            .chain(&rtl.list.sources)
            .chain(&rtl.extra_vlt)
    };
    let digest = digest_files(inputs())?;
    let content_digest = digest_tree(root, inputs())?;
    Ok(Tree {
        rtl,
        digest,
        content_digest,
    })
}

/// Reads `rtl/files.f` (with the one reader of the project) and finds the
/// lint waivers next to it.
fn read_rtl(root: &Path) -> Result<Rtl, String> {
    let files_f = root.join("rtl/files.f");
    if !files_f.is_file() {
        return Err(format!(
            "RTL file list not found: {} does not exist (the RTL in rtl/ is built from it; set {ENV_RTL_ROOT} to use another tree).",
            files_f.display()
        ));
    }
    let list = tritium_util::filelist::read(root, &files_f).map_err(|e| e.to_string())?;
    let mut rtl = Rtl {
        root: root.to_path_buf(),
        list,
        extra_vlt: Vec::new(),
    };
    let lint = root.join("rtl/lint");
    if let Ok(rd) = fs::read_dir(&lint) {
        let mut vlt: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "vlt"))
            .filter(|p| !rtl.list.sources.contains(p))
            .collect();
        vlt.sort();
        rtl.extra_vlt = vlt;
    }
    Ok(rtl)
}

/// One Verilator model to build: a `tri_mac_array` configuration of
/// `CONFIGS`, a `tri_accel` configuration of `ACCEL_CONFIGS`, the INT8
/// comparison array `int8_mac_array` (configuration `INT8`, tested against
/// plain integer dot products in tests/int8.rs) or the FP16 comparison PE
/// `fp16_mac_pe` (tested against a Rust IEEE binary16 reference in
/// tests/fp16.rs).
struct Model {
    /// Directory under `$OUT_DIR` and suffix of the library name.
    name: String,
    /// C++ class prefix (`--prefix`).
    prefix: String,
    /// Top module.
    top: &'static str,
    /// `-G` parameter overrides.
    params: Vec<String>,
}

impl Model {
    fn lib(&self) -> String {
        format!("tri_model_{}", self.name)
    }
}

/// Every model of the library: the array configurations, the accelerator
/// configurations, the INT8 comparison array, then the FP16 PE.
fn models() -> Vec<Model> {
    let mut models: Vec<Model> = CONFIGS
        .iter()
        .map(|cfg: &SimConfig| Model {
            name: cfg.name.to_string(),
            prefix: format!("Vtri_{}", cfg.name),
            top: "tri_mac_array",
            params: cfg
                .sv_params()
                .iter()
                .map(|(p, v)| format!("-G{p}={v}"))
                .collect(),
        })
        .collect();
    models.extend(ACCEL_CONFIGS.iter().map(|cfg: &AccelSimConfig| {
        Model {
            name: format!("acc_{}", cfg.name),
            prefix: format!("Vacc_{}", cfg.name),
            top: "tri_accel",
            params: cfg
                .sv_params()
                .iter()
                .map(|(p, v)| format!("-G{p}={v}"))
                .collect(),
        }
    }));
    models.push(Model {
        name: "int8".into(),
        prefix: "Vint8".into(),
        top: "int8_mac_array",
        params: INT8
            .sv_params()
            .iter()
            .map(|(p, v)| format!("-G{p}={v}"))
            .collect(),
    });
    models.push(Model {
        name: "fp16_mac_pe".into(),
        prefix: "Vfp16_mac_pe".into(),
        top: "fp16_mac_pe",
        params: Vec::new(),
    });
    models
}

/// Arguments of one model's Verilator run, generating into `mdir`.
fn verilator_args(model: &Model, mdir: &Path, rtl: &Rtl, coverage: bool) -> Vec<String> {
    let mut args: Vec<String> = VERILATOR_FLAGS.iter().map(|s| s.to_string()).collect();
    if coverage {
        // Line, toggle and user (`cover property`) points.
        args.push("--coverage".into());
    }
    args.extend([
        "--top-module".into(),
        model.top.to_string(),
        "--prefix".into(),
        model.prefix.clone(),
    ]);
    args.extend(model.params.iter().cloned());
    args.extend(["--Mdir".into(), mdir.display().to_string()]);
    args.extend(rtl.extra_vlt.iter().map(|p| p.display().to_string()));
    args.extend(["-f".into(), rtl.list.list.display().to_string()]);
    args
}

/// Verilates the given models, each from its RTL tree, all at once (one
/// process each).
fn verilate<'a>(
    vl: &Verilator,
    out_dir: &Path,
    coverage: bool,
    models: impl Iterator<Item = (&'a Model, &'a Rtl)>,
) -> Result<(), String> {
    let mut running = Vec::new();
    for (model, rtl) in models {
        let mdir = out_dir.join(&model.name);
        // Generated file names carry hashes: never glob stale ones.
        if mdir.exists() {
            fs::remove_dir_all(&mdir).map_err(|e| format!("{}: {e}", mdir.display()))?;
        }
        let args = verilator_args(model, &mdir, rtl, coverage);
        let child = Command::new(&vl.exe)
            .args(&args)
            .current_dir(&rtl.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", vl.exe.display()))?;
        running.push((model, rtl, args, child));
    }
    let mut errors = String::new();
    for (model, rtl, args, child) in running {
        let out = child
            .wait_with_output()
            .map_err(|e| format!("verilator: {e}"))?;
        if !out.status.success() {
            let _ = write!(
                errors,
                "Verilator failed on model `{}` (cd {} && {} {}):\n{}{}",
                model.name,
                rtl.root.display(),
                vl.exe.display(),
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
