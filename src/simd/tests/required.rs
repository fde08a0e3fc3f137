//! The kernel paths this machine must have (`TRITIUM_REQUIRE_KERNELS`, set
//! by CI to the paths of its machine class) are present, and each present
//! path runs its own code when asked for, not a fallback (f16, Q8_0 and Q6_K heads included). A test binary of
//! its own: the second test reads process-wide run counters, which no other
//! test may move while it runs.

#[cfg(target_arch = "x86_64")]
use tritium_golden::BlockType;
use tritium_golden::{
    Backend, DenseMatrix, GoldenBackend, LinearCall, LinearId, Proj, TernaryMatrix,
};
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

/// Each path (so each required one) serves a BitLinear of one and of three
/// token rows and an exact lm_head with its own code: its run count grows,
/// no other path's does, and the results are the golden ones.
#[test]
fn each_present_path_runs_its_own_code() {
    let (n, k, rows) = (40, 300, 3);
    let t: Vec<i8> = (0..n * k).map(|i| (i * 7 % 3) as i8 - 1).collect();
    let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
    let acts: Vec<i8> = (0..rows * k).map(|i| (i * 31 % 256) as u8 as i8).collect();
    let vals: Vec<f32> = (0..n * k).map(|i| (i % 17) as f32 * 0.01 - 0.08).collect();
    let head = DenseMatrix::from_f32("h", n, k, vals).unwrap();
    // An f16 head too (its AVX2 path needs F16C, which CPUID reports apart
    // from AVX2; every AVX2 CPU known has it). Patterns from subnormal up.
    let bits: Vec<u16> = (0..n * k)
        .map(|i| (i * 131 % 0x7c00) as u16 | (i as u16 & 1) << 15)
        .collect();
    let head16 = DenseMatrix::from_f16("h16", n, k, bits).unwrap();
    let x: Vec<f32> = (0..k).map(|i| (i % 5) as f32 - 2.0).collect();
    let run = |b: &mut dyn Backend| {
        let mut out = Vec::new();
        for r in [1, rows] {
            let call = LinearCall::new(LinearId::new(0, Proj::Up), &w, &acts[..r * k], r, 0);
            let mut o = vec![0i32; r * n];
            b.matmul(&call, &mut o).unwrap();
            out.extend(o.iter().map(|v| *v as u32));
        }
        let mut logits = vec![0.0f32; n];
        b.logits(&head, &x, &mut logits).unwrap();
        out.extend(logits.iter().map(|v| v.to_bits()));
        b.logits(&head16, &x, &mut logits).unwrap();
        out.extend(logits.iter().map(|v| v.to_bits()));
        // Q8_0 and Q6_K heads as stored (x86 kernels; NEON runs the golden
        // loop, i.e. scalar code, for blocks).
        #[cfg(target_arch = "x86_64")]
        for (t, bytes) in [(BlockType::Q8_0, 34), (BlockType::Q6K, 210)] {
            let cols = 256;
            let mut raw: Vec<u8> = (0..n * cols / t.elems() * bytes)
                .map(|i| (i * 37 % 251) as u8)
                .collect();
            let at = t.d_offset();
            for blk in raw.chunks_exact_mut(bytes) {
                blk[at..at + 2].copy_from_slice(&0x2c00u16.to_le_bytes());
            }
            let hb = DenseMatrix::from_blocks("hb", t, n, cols, raw).unwrap();
            let xb: Vec<f32> = (0..cols).map(|i| (i % 7) as f32 - 3.0).collect();
            b.logits(&hb, &xb, &mut logits).unwrap();
            out.extend(logits.iter().map(|v| v.to_bits()));
        }
        out
    };
    let want = run(&mut GoldenBackend);
    for isa in present_kernels().unwrap() {
        let mut b = SimdBackend::new(SimdOptions {
            isa: Some(isa),
            threads: Some(2),
            head: HeadMode::Exact,
            body: Default::default(),
        })
        .unwrap();
        let before = Isa::ALL.map(kernels::runs);
        let got = run(&mut b);
        let after = Isa::ALL.map(kernels::runs);
        assert!(got == want, "{isa:?}: results differ from golden");
        for (i, other) in Isa::ALL.iter().enumerate() {
            if *other == isa {
                assert!(after[i] > before[i], "{isa:?} asked for but never ran");
            } else if *other != isa.vector() {
                // (AMX runs single rows and the head on its vector path.)
                assert_eq!(
                    after[i], before[i],
                    "{isa:?} asked for, but {other:?} code ran"
                );
            }
        }
    }
}
