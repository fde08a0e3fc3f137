//! The launchers on real processes: exit statuses, arguments through the
//! shell, lost tasks, run directories; the Slurm launcher on the cluster
//! `scripts/with-slurm.sh` starts (required when TRITIUM_REQUIRE_SLURM=1,
//! as in CI), and its errors when no cluster answers.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use tritium_launch::{
    check_outcomes, Batch, Launcher, LocalLauncher, SlurmLauncher, Task, TaskStatus,
};

fn sh(name: &str, script: &str, args: &[&str]) -> Task {
    let mut a: Vec<OsString> = vec!["-c".into(), script.into(), "sh".into()];
    a.extend(args.iter().map(OsString::from));
    Task {
        name: name.into(),
        program: "/bin/sh".into(),
        args: a,
    }
}

fn batch(dir: &Path, tasks: Vec<Task>) -> Batch {
    Batch {
        name: "tritium-test".into(),
        run_dir: dir.join("run"),
        workdir: dir.to_path_buf(),
        tasks,
    }
}

/// Statuses, outputs and awkward arguments, on any launcher.
fn exercise(l: &dyn Launcher) {
    let dir = tempfile::tempdir().unwrap();
    let odd = "it's \"quoted\" $HOME `x` \\ ;|&";
    let b = batch(
        dir.path(),
        vec![
            sh("ok", "printf '%s' \"$1\"; pwd > where", &[odd]),
            sh("three", "echo oops >&2; exit 3", &[]),
            sh("signal", "kill -9 $$", &[]),
            sh("empty arg", "test -z \"$1\" && test $# -eq 1", &[""]),
        ],
    );
    let out = l.launch(&b, None).unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!(out[0].status, TaskStatus::Exited(0));
    assert_eq!(std::fs::read_to_string(out[0].stdout()).unwrap(), odd);
    // Tasks run in the batch's working directory.
    let wd = std::fs::read_to_string(dir.path().join("where")).unwrap();
    assert_eq!(
        Path::new(wd.trim()).canonicalize().unwrap(),
        dir.path().canonicalize().unwrap()
    );
    assert!(out[0].wall_seconds.is_some());
    assert_eq!(out[1].status, TaskStatus::Exited(3));
    assert_eq!(out[2].status, TaskStatus::Exited(137));
    assert_eq!(out[3].status, TaskStatus::Exited(0));
    let e = check_outcomes(&out).unwrap_err().to_string();
    assert!(e.starts_with("2 of 4 tasks failed"), "{e}");
    assert!(
        e.contains("three") && e.contains("exit status 3") && e.contains("oops"),
        "{e}"
    );
    // A run directory is never reused.
    let again = l.launch(&b, None).unwrap_err().to_string();
    assert!(again.contains("already exists"), "{again}");
}

#[test]
fn local_launcher_runs_every_task_and_reports_each_status() {
    exercise(&LocalLauncher::new(Some(2)));
}

#[test]
fn local_launcher_bounds_the_processes_running_at_once() {
    // Each task holds a lock directory while it runs: with jobs = 1 no
    // two ever overlap.
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("lock");
    let script = "mkdir \"$1\" || exit 9; sleep 0.05; rmdir \"$1\"";
    let l = lock.to_str().unwrap();
    let tasks = (0..4).map(|i| sh(&format!("t{i}"), script, &[l])).collect();
    let out = LocalLauncher::new(Some(1))
        .launch(&batch(dir.path(), tasks), None)
        .unwrap();
    check_outcomes(&out).unwrap();
}

#[test]
fn a_task_that_leaves_no_status_is_lost_not_passed() {
    let dir = tempfile::tempdir().unwrap();
    // The task kills its own wrapper script (its parent) before it can
    // write `rc`.
    let b = batch(
        dir.path(),
        vec![sh("killer", "kill -9 $PPID; sleep 1", &[])],
    );
    let out = LocalLauncher::new(None).launch(&b, None).unwrap();
    assert_eq!(out[0].status, TaskStatus::Lost);
    let e = check_outcomes(&out).unwrap_err().to_string();
    assert!(e.contains("no exit status"), "{e}");
}

#[test]
fn arguments_a_shell_cannot_carry_are_refused_before_anything_runs() {
    use std::os::unix::ffi::OsStringExt;
    let dir = tempfile::tempdir().unwrap();
    let mut t = sh("bad", "true", &[]);
    t.args.push(OsString::from_vec(vec![0xff, 0xfe]));
    let e = LocalLauncher::new(None)
        .launch(&batch(dir.path(), vec![t]), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("task bad") && e.contains("shell"), "{e}");
}

#[test]
fn slurm_launcher_without_a_cluster_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A configuration file that does not exist: sbatch (if installed)
    // fails; without sbatch the launch fails to start it. Either way an
    // error, never a silent success.
    let l = SlurmLauncher {
        sbatch: "/nonexistent/sbatch".into(),
        ..SlurmLauncher::default()
    };
    let e = l
        .launch(&batch(dir.path(), vec![sh("t", "true", &[])]), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/sbatch"), "{e}");
}

/// Whether a Slurm controller answers here.
fn cluster_up() -> bool {
    std::process::Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn slurm_launcher_on_the_cluster() {
    if !cluster_up() {
        assert!(
            std::env::var_os("TRITIUM_REQUIRE_SLURM").is_none(),
            "TRITIUM_REQUIRE_SLURM is set but no Slurm controller answers (sinfo)"
        );
        eprintln!("no Slurm cluster here (scripts/with-slurm.sh starts one): skipped");
        return;
    }
    exercise(&SlurmLauncher {
        poll: Duration::from_millis(200),
        timeout: Some(Duration::from_secs(120)),
        ..SlurmLauncher::default()
    });
}
