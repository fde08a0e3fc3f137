//! The kernel paths this machine must have (`TRITIUM_REQUIRE_KERNELS`, set
//! by CI to the paths of its machine class) are present, and each present
//! path runs its own code when asked for, not a fallback. A test binary of
//! its own: the second test reads process-wide run counters, which no other
//! test may move while it runs.

use tritium_golden::{Backend, GoldenBackend, Logits, Preset, Session};
use tritium_simd::{
    kernels, present_kernels, required_kernels, HeadMode, Isa, SimdBackend, SimdOptions,
};

#[test]
fn required_kernel_paths_are_present() {
    let required = required_kernels().unwrap();
    let present = present_kernels().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("required kernel paths: {required:?}; present: {present:?}");
    assert!(required.iter().all(|i| present.contains(i)));
}

/// Each path (so each required one) serves a whole-network forward pass,
/// ternary kernels and exact head, with its own code: its run count grows,
/// no other path's does, and the logits are the golden ones.
#[test]
fn each_present_path_runs_its_own_code() {
    let model = tritium_model::synthetic::preset_model(Preset::Tiny, 1).unwrap();
    let prompt = [3u32, 14, 15, 92];
    let mut want = Vec::new();
    Session::new(&model)
        .forward(&mut GoldenBackend, &prompt, Logits::All)
        .unwrap()
        .iter()
        .for_each(|r| want.extend(r.iter().map(|v| v.to_bits())));
    for isa in present_kernels().unwrap() {
        let before = Isa::ALL.map(kernels::runs);
        let mut b = SimdBackend::new(SimdOptions {
            isa: Some(isa),
            threads: Some(2),
            head: HeadMode::Exact,
        })
        .unwrap();
        b.prepare(&model);
        let logits = Session::new(&model)
            .forward(&mut b as &mut dyn Backend, &prompt, Logits::All)
            .unwrap();
        let after = Isa::ALL.map(kernels::runs);
        let got: Vec<u32> = logits.iter().flatten().map(|v| v.to_bits()).collect();
        assert!(got == want, "{isa:?}: logits differ from golden");
        for (i, other) in Isa::ALL.iter().enumerate() {
            if *other == isa {
                assert!(after[i] > before[i], "{isa:?} asked for but never ran");
            } else {
                assert_eq!(
                    after[i], before[i],
                    "{isa:?} asked for, but {other:?} code ran"
                );
            }
        }
    }
}
