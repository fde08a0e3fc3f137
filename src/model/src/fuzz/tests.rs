//! The CI subset of the campaign (a few thousand inputs per target from a
//! fixed seed; a few seconds at the test profile) and the runner's own
//! behaviour: panics and slow inputs are caught, inputs replay by number.

use super::config::ConfigTarget;
use super::shard::SafetensorsTarget;
use super::*;
use crate::gguf::fuzz::{GgufTarget, ALL_BASES};

/// Runs `inputs` inputs of `target` (seed 7) and fails on any panic or
/// input slower than 1 s.
fn ci_run(target: &dyn Target, inputs: u64) -> Report {
    let r = run(target, &Campaign::new(7, inputs), 0, &mut |_| {});
    eprintln!("{}", r.summary());
    assert!(r.failure.is_none(), "{}", r.summary());
    assert_eq!(r.inputs, inputs);
    r
}

#[test]
fn ci_subset_gguf() {
    let t = GgufTarget::new(ALL_BASES).unwrap();
    let r = ci_run(&t, 2000);
    assert!(r.parsed > 100, "{}", r.summary());
}

#[test]
fn ci_subset_safetensors() {
    let t = SafetensorsTarget::new().unwrap();
    let r = ci_run(&t, 3000);
    assert!(r.parsed > 300 && r.loaded > 10, "{}", r.summary());
}

#[test]
fn ci_subset_config() {
    let t = ConfigTarget::new().unwrap();
    let r = ci_run(&t, 4000);
    assert!(r.parsed > 200 && r.loaded > 50, "{}", r.summary());
}

#[test]
fn unmutated_bases_load() {
    let t = GgufTarget::new(ALL_BASES).unwrap();
    for (i, base) in ALL_BASES.iter().enumerate() {
        assert_eq!(
            t.check(i, t.base_bytes(i).to_vec()),
            Outcome::Loaded,
            "base {}",
            base.name()
        );
    }
}

/// Input `i` depends only on the seed and `i`: a run from `--skip i`
/// starts with the input the full run had at `i`.
#[test]
fn inputs_replay_from_seed_and_number() {
    let t = ConfigTarget::new().unwrap();
    assert_eq!(input(&t, 5, 123).bytes, input(&t, 5, 123).bytes);
    assert_ne!(input(&t, 5, 123).bytes, input(&t, 6, 123).bytes);
    assert_ne!(input(&t, 5, 123).bytes, input(&t, 5, 124).bytes);
}

/// A target that panics or dawdles on chosen inputs.
struct Faulty {
    panic_on: u8,
    slow_on: u8,
}

impl Target for Faulty {
    fn name(&self) -> &'static str {
        "faulty"
    }
    fn extension(&self) -> &'static str {
        "bin"
    }
    fn base_name(&self, _: usize) -> String {
        "one".into()
    }
    fn mutant(&self, rng: &mut Rng) -> Mutant {
        Mutant {
            base: 0,
            bytes: vec![(rng.next_u64() % 64) as u8],
        }
    }
    fn check(&self, _: usize, input: Vec<u8>) -> Outcome {
        if input[0] == self.panic_on {
            panic!("planted panic");
        }
        if input[0] == self.slow_on {
            std::thread::sleep(Duration::from_millis(30));
        }
        Outcome::Parsed
    }
}

#[test]
fn panics_and_slow_inputs_stop_the_run_and_are_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Campaign::new(1, 10_000);
    c.out_dir = Some(dir.path().to_path_buf());
    c.max_input_time = Duration::from_millis(20);
    let t = Faulty {
        panic_on: 17,
        slow_on: 200,
    };
    let r = run(&t, &c, 0, &mut |_| {});
    let f = r.failure.clone().expect("the planted panic");
    assert!(matches!(&f.kind, FailureKind::Panic(m) if m.contains("planted panic")));
    assert_eq!(f.input, vec![17]);
    assert_eq!(input(&t, 1, f.index).bytes, vec![17]);
    assert_eq!(std::fs::read(f.saved.unwrap()).unwrap(), vec![17]);
    assert_eq!(r.inputs, f.index + 1);
    assert!(r.summary().contains("PANIC"), "{}", r.summary());

    let t = Faulty {
        panic_on: 200,
        slow_on: 17,
    };
    let r = run(&t, &c, 0, &mut |_| {});
    let f = r.failure.expect("the planted slow input");
    assert!(matches!(f.kind, FailureKind::Hang(d) if d >= Duration::from_millis(20)));
    assert_eq!(f.input, vec![17]);

    // Resuming after the failing input runs on without it.
    c.skip = f.index + 1;
    c.inputs = 5;
    let r = run(&t, &c, 0, &mut |_| {});
    assert_eq!(r.first, f.index + 1);
}
