//! `tritium cosim --shards N` (the parts of a whole-network co-simulation
//! fanned out by a launcher, then merged) and `tritium cosim-merge`.

#[cfg(feature = "rtl")]
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::error::{Error, Result};

/// `tritium cosim-merge`: join the parts of a sharded co-simulation.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The parts' JSON files (`tritium cosim --shard I/N --out FILE`), all N
    /// of one run, in any order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print one JSON report instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to FILE (an existing file needs --force).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
}

/// A part's file (regular, at most `MAX_TEXT_FILE` bytes: the limit of
/// every file tritium reads whole).
#[cfg(feature = "rtl")]
fn read_part(path: &std::path::Path) -> Result<tritium_rtl::ShardReport> {
    let text = tritium_util::file::read_to_string_regular(path)?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{}: not a shard file of `tritium cosim --shard I/N --out FILE` ({e})",
            path.display()
        ))
    })
}

#[cfg(feature = "rtl")]
fn merge_files(files: &[PathBuf]) -> Result<tritium_rtl::CosimReport> {
    let parts = files
        .iter()
        .map(|f| Ok((f.display().to_string(), read_part(f)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(tritium_rtl::merge(&parts)?)
}

#[cfg(feature = "rtl")]
pub fn run_merge(a: &MergeArgs) -> Result<ExitCode> {
    let report = merge_files(&a.files)?;
    if let Some(out) = &a.out {
        let mut inputs = tritium_util::Inputs::new();
        for f in &a.files {
            inputs.add(f);
        }
        super::cosim_report::write_json(out, &report, a.force, &inputs)?;
    }
    super::cosim_report::show(&report, a.json)
}

#[cfg(not(feature = "rtl"))]
pub fn run_merge(_: &MergeArgs) -> Result<ExitCode> {
    Err(Error::Usage(
        "this tritium was built without the `rtl` feature (Verilator)".into(),
    ))
}

/// Options a part's command line does not repeat from the parent's.
#[cfg(feature = "rtl")]
const PARENT_ONLY: [&str; 4] = ["--shards", "--out", "--mismatch-wave", "--shard"];

/// Runs `n` parts of the co-simulation `a` describes with its launcher and
/// merges them.
#[cfg(feature = "rtl")]
pub fn run_sharded(a: &super::cosim::CosimArgs, n: usize) -> Result<ExitCode> {
    use super::launch::{strip_options, this_exe, workdir, LAUNCH_OPTIONS};
    use super::progress::Bar;
    use tritium_launch::{check_outcomes, Batch, Task};

    if !(1..=tritium_rtl::shard::MAX_SHARDS).contains(&n) {
        return Err(Error::Usage(format!(
            "--shards {n}: expected 1..={}",
            tritium_rtl::shard::MAX_SHARDS
        )));
    }
    if a.mismatch_wave.is_some() {
        return Err(Error::Usage(
            "--mismatch-wave: with --shards each part writes its waveform in its own directory of --run-dir"
                .into(),
        ));
    }
    check_shards_have_work(a, n)?;
    let inputs = a.model.inputs();
    if let Some(out) = &a.out {
        tritium_util::output::check_output_file("--out", out, a.force, &inputs)?;
    }
    let launcher = a.launch.launcher()?;
    let run_dir = a.launch.run_dir("cosim")?;
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    let with_value: Vec<&str> = LAUNCH_OPTIONS.iter().chain(&PARENT_ONLY).copied().collect();
    let base = strip_options(&argv, &with_value, &["--json", "--force"]);
    let program = this_exe()?;
    let tasks = (1..=n)
        .map(|i| {
            let dir = run_dir.join(format!("task-{:04}", i - 1));
            let mut args = base.clone();
            args.extend([
                OsString::from("--shard"),
                format!("{i}/{n}").into(),
                "--out".into(),
                dir.join("shard.json").into(),
                "--mismatch-wave".into(),
                dir.join("mismatch.vcd").into(),
            ]);
            Task {
                name: format!("shard {i}/{n}"),
                program: program.clone(),
                args,
            }
        })
        .collect();
    let batch = Batch {
        name: "tritium-cosim".into(),
        run_dir: run_dir.clone(),
        workdir: workdir()?,
        tasks,
    };
    let outcomes = {
        let bar = Bar::new(
            &format!("cosim: {n} shards ({} launcher)", launcher.name()),
            a.json,
        );
        launcher.launch(&batch, Some(&bar))?
    };
    check_outcomes(&outcomes).map_err(|e| {
        Error::Usage(format!(
            "{e}\n(the run's files are in {})",
            run_dir.display()
        ))
    })?;
    let files: Vec<PathBuf> = outcomes.iter().map(|o| o.dir.join("shard.json")).collect();
    let report = merge_files(&files)?;
    if let Some(out) = &a.out {
        super::cosim_report::write_json(out, &report, a.force, &inputs)?;
    }
    super::cosim_report::show(&report, a.json)
}

/// Refuses more parts than the run has groups of BitLinear calls on the
/// RTL (each part repeats the whole golden pass: one without a group is a
/// process, or a Slurm node, spent on nothing). The model's shape only is
/// read.
#[cfg(feature = "rtl")]
fn check_shards_have_work(a: &super::cosim::CosimArgs, n: usize) -> Result<()> {
    let config = match &a.model.model {
        Some(path) => tritium_model::load_config(path)?,
        None => a.model.preset.preset().config(),
    };
    let layers = match &a.layers {
        Some(s) => super::cosim::parse_layers(s, config.num_layers)?.len(),
        None => config.num_layers,
    };
    let forwards = a.decode_steps.saturating_add(1);
    let per = tritium_golden::session::GROUPS_PER_LAYER;
    let groups = forwards.saturating_mul(layers).saturating_mul(per);
    if n > groups {
        return Err(Error::Usage(format!(
            "--shards {n}: the run has {groups} groups of BitLinear calls on the RTL ({forwards} forward passes x {layers} layers x {per}), so at most {groups} parts have any work"
        )));
    }
    Ok(())
}

#[cfg(not(feature = "rtl"))]
pub fn run_sharded(_: &super::cosim::CosimArgs, _: usize) -> Result<ExitCode> {
    Err(Error::Usage(
        "this tritium was built without the `rtl` feature (Verilator)".into(),
    ))
}
