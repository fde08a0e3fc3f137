//! Co-simulation of the RTL accelerator (Verilator) against the golden model.
//! These run the real Verilator model; CI installs Verilator
//! (scripts/install-deps.sh), so they never skip.

use proptest::prelude::*;
use tritium_golden::image::{image_byte_weights, weight_image};
use tritium_golden::{Backend, GoldenBackend, LinearCall, LinearId, Preset, Proj, TernaryMatrix};
use tritium_model::synthetic::preset_model;
use tritium_rtl::{
    image_position, run_cosim, CosimOptions, Divergence, Lockstep, PlantedFault, RtlBackend,
};
use tritium_sim::{AccelSimConfig, MemoryConfig, ACC2, ACC3, KV260};

/// The backend on `cfg`, all of its token rows per job, full-rate memory.
fn backend(cfg: &'static AccelSimConfig) -> RtlBackend {
    RtlBackend::new(cfg, cfg.tokens, MemoryConfig::full_rate(cfg.bus_bytes)).unwrap()
}

fn tiny() -> tritium_golden::Model {
    preset_model(Preset::Tiny, 1).unwrap()
}

fn opts(dir: &tempfile::TempDir, decode_steps: usize) -> CosimOptions {
    CosimOptions {
        layers: None,
        decode_steps,
        mismatch_wave: dir.path().join("mismatch.vcd"),
        clock_mhz: 250.0,
        shard: Default::default(),
    }
}

#[test]
fn whole_tiny_network_is_bit_exact_on_the_rtl() {
    let model = tiny();
    let dir = tempfile::tempdir().unwrap();
    let prompt = [510, 84, 257, 256, 260, 110, 302, 121];
    for cfg in [&ACC2, &ACC3] {
        let mut rtl = backend(cfg);
        let r = run_cosim(&model, "tiny", &mut rtl, &prompt, &opts(&dir, 4), None).unwrap();
        assert!(r.passed, "{}: {:?}", cfg.name, r.first_divergence);
        assert_eq!(r.generated_tokens.len(), 4);
        // Every BitLinear of both layers ran on the RTL, 1 prefill + 4 decode calls each.
        assert_eq!(r.rows.len(), 2 * 7);
        for row in &r.rows {
            assert_eq!(row.verdict, "match", "{row:?}");
            assert_eq!(row.stats.calls, 5);
            assert_eq!(row.token_rows, 8 + 4);
            assert!(row.stats.cycles > 0 && row.compared > 0);
            assert!(row.stats.dram_bytes > 0 && row.memory_floor > 0.0);
            assert_eq!(row.stats.adds + row.stats.zero_skips, row.stats.macs);
        }
        // Weight reuse: the 8-token prompt is 2 jobs of 4 rows, each decode
        // step one job, so every weight image was read 2 + 4 times.
        let model_bytes: u64 = r
            .rows
            .iter()
            .map(|row| {
                let w = model
                    .linear(LinearId::new(row.layer, Proj::parse(&row.proj).unwrap()))
                    .unwrap();
                cfg.array
                    .segments(w.k())
                    .map(|(k0, k1)| weight_image(w, cfg, k0, k1).unwrap().len() as u64)
                    .sum::<u64>()
            })
            .sum();
        assert_eq!(r.total.stats.dram_bytes, 6 * model_bytes, "{}", cfg.name);
        // The decoded tokens are those of the golden model alone.
        let golden = tritium_golden::generate(
            &model,
            &mut GoldenBackend,
            &prompt,
            tritium_golden::GenerateOptions {
                max_new: 4,
                sampler: Default::default(),
                stop_at_eos: false,
                keep_logits: false,
                kv: tritium_golden::KvPrecision::F32,
            },
            &mut |_| Ok::<_, tritium_golden::Error>(()),
        )
        .unwrap();
        assert_eq!(r.generated_tokens, golden.generated);
    }
}

#[test]
fn a_planted_fault_is_found_and_located() {
    let model = tiny();
    let dir = tempfile::tempdir().unwrap();
    let id = LinearId::new(1, Proj::Up);
    let (row, col) = (5, 17);
    for cfg in [&ACC3, &ACC2] {
        let mut rtl = backend(cfg);
        rtl.plant_fault(PlantedFault { id, row, col });
        let prompt = [510, 84, 257, 256];
        let r = run_cosim(&model, "tiny", &mut rtl, &prompt, &opts(&dir, 2), None).unwrap();
        assert!(!r.passed);
        let d = r
            .first_divergence
            .expect("the checker must report the fault");
        assert_eq!((d.layer, d.proj.as_str()), (1, "up_proj"));
        let Divergence::Accumulator(a) = &d.what else {
            panic!("not an accumulator divergence: {d}");
        };
        assert_eq!(a.output_row, row);
        // Column 17 with 5 lanes: K tile 3 (k 15..20) of output tile 5 / 4 = 1.
        assert_eq!(a.output_tile, 1);
        assert_eq!(a.k_tile, Some(3));
        assert_eq!(a.k_range, Some((15, 20)));
        assert_ne!(a.expected, a.got);
        assert!(a.cycle.is_some());
        // The located byte of the memory image holds the beat's weights of
        // this row, the flipped one among them.
        let w = model.linear(id).unwrap();
        let byte = a.image_byte.expect("image byte");
        assert_eq!(byte, image_position(cfg, 0, w.k(), row, 15).0);
        let (fbyte, _) = image_position(cfg, 0, w.k(), row, col);
        assert!(image_byte_weights(cfg, w.n(), 0, w.k(), fbyte).contains(&(row, col)));
        let wave = a.waveform.clone().expect("waveform of the divergent tile");
        assert!(std::fs::metadata(&wave).unwrap().len() > 1000);
        assert!(d.to_string().contains("weight image byte"), "{d}");
        // Layers before the fault matched; nothing after the failing call ran.
        assert!(r
            .rows
            .iter()
            .filter(|r| r.layer == 0)
            .all(|r| r.verdict == "match"));
        assert_eq!(r.rows.iter().filter(|r| r.verdict == "MISMATCH").count(), 1);
    }
}

#[test]
fn layers_not_selected_run_on_golden_only() {
    let model = tiny();
    let dir = tempfile::tempdir().unwrap();
    let mut rtl = backend(&ACC3);
    let mut o = opts(&dir, 1);
    o.layers = Some([1].into());
    let r = run_cosim(&model, "tiny", &mut rtl, &[510, 3], &o, None).unwrap();
    assert!(r.passed);
    for row in &r.rows {
        let expect = if row.layer == 1 {
            "match"
        } else {
            "golden only"
        };
        assert_eq!(row.verdict, expect);
        assert_eq!(row.stats.cycles > 0, row.layer == 1);
    }
}

fn extreme_i8() -> impl Strategy<Value = i8> {
    prop_oneof![Just(-128i8), Just(127i8), Just(0i8), any::<i8>()]
}

/// Random BitLinear calls (ragged N and K, several token rows, all-extreme
/// rows mixed in): RTL == golden on every accumulator, and the measured
/// activity equals the counted one.
fn check_random_call(
    rtl: &mut RtlBackend,
    n: usize,
    k: usize,
    t: &[i8],
    acts: &[i8],
    rows: usize,
) -> Result<(), TestCaseError> {
    let w = TernaryMatrix::from_ternary("w", n, k, t, 1.0).unwrap();
    let call = LinearCall::new(LinearId::new(0, Proj::Gate), &w, acts, rows, 0);
    let (mut g, mut r) = (vec![0i32; rows * n], vec![0i32; rows * n]);
    let gs = GoldenBackend.matmul(&call, &mut g).unwrap();
    let rs = rtl.matmul(&call, &mut r).unwrap();
    prop_assert_eq!(&r, &g);
    prop_assert_eq!(rs.adds, gs.adds);
    prop_assert_eq!(rs.zero_skips, gs.zero_skips);
    prop_assert!(rs.cycles >= rs.busy_cycles && rs.busy_cycles > 0);
    Ok(())
}

fn call_strategy() -> impl Strategy<Value = (usize, usize, usize, Vec<i8>, Vec<i8>)> {
    (1usize..40, 1usize..300, 1usize..4, 0usize..4).prop_flat_map(|(n, k, rows, mode)| {
        let acts = match mode {
            0 => proptest::collection::vec(Just(-128i8), rows * k).boxed(),
            1 => proptest::collection::vec(Just(127i8), rows * k).boxed(),
            2 => proptest::collection::vec(Just(0i8), rows * k).boxed(),
            _ => proptest::collection::vec(extreme_i8(), rows * k).boxed(),
        };
        (
            Just(n),
            Just(k),
            Just(rows),
            proptest::collection::vec(-1i8..=1, n * k),
            acts,
        )
    })
}

/// A backend per configuration and (batch, memory) of a test case.
fn with_backend<R>(
    cfg: &'static AccelSimConfig,
    batch: usize,
    mem: MemoryConfig,
    f: impl FnOnce(&mut RtlBackend) -> R,
) -> R {
    let mut rtl = RtlBackend::new(cfg, batch, mem).unwrap();
    f(&mut rtl)
}

fn mem_strategy(bus: usize) -> impl Strategy<Value = MemoryConfig> {
    (1u32..=bus as u32 * 4, 1u32..40).prop_map(move |(q, latency)| MemoryConfig {
        bytes_per_cycle: f64::from(q) / 4.0,
        latency,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn rtl_equals_golden_2bit(
        (n, k, rows, t, acts) in call_strategy(),
        batch in 1usize..=4,
        mem in mem_strategy(ACC2.bus_bytes),
    ) {
        with_backend(&ACC2, batch, mem, |r| check_random_call(r, n, k, &t, &acts, rows))?;
    }

    #[test]
    fn rtl_equals_golden_base3(
        (n, k, rows, t, acts) in call_strategy(),
        batch in 1usize..=4,
        mem in mem_strategy(ACC3.bus_bytes),
    ) {
        with_backend(&ACC3, batch, mem, |r| check_random_call(r, n, k, &t, &acts, rows))?;
    }
}

/// The KV260-class model on a few ragged calls (its build is the slowest:
/// a few cases only).
#[test]
fn rtl_equals_golden_kv260() {
    let mut rtl = backend(&KV260);
    let mut rng = tritium_golden::SplitMix64::new(7);
    for (n, k, rows) in [(70, 33, 1), (129, 700, 3), (64, 9000, 2)] {
        let t: Vec<i8> = (0..n * k).map(|_| rng.below(3) as i8 - 1).collect();
        let acts: Vec<i8> = (0..rows * k).map(|_| rng.next_u64() as i8).collect();
        check_random_call(&mut rtl, n, k, &t, &acts, rows).unwrap();
    }
}

/// Prefill with T tokens reads the weights ceil(T / batch) times (DRAM
/// bytes by the accelerator's counter), and a decode-shaped call on a slow
/// memory runs at its memory floor.
#[test]
fn dram_bytes_follow_the_batch_and_decode_runs_at_the_memory_floor() {
    let (n, k) = (24, 200);
    let mut rng = tritium_golden::SplitMix64::new(3);
    let t: Vec<i8> = (0..n * k).map(|_| rng.below(3) as i8 - 1).collect();
    let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
    for cfg in [&ACC2, &ACC3] {
        let image: u64 = cfg
            .array
            .segments(k)
            .map(|(k0, k1)| weight_image(&w, cfg, k0, k1).unwrap().len() as u64)
            .sum();
        for (rows, batch) in [(7, 4), (7, 1), (8, 4), (3, 2)] {
            let acts: Vec<i8> = (0..rows * k).map(|_| rng.next_u64() as i8).collect();
            let call = LinearCall::new(LinearId::new(0, Proj::Q), &w, &acts, rows, 0);
            let mut out = vec![0; rows * n];
            let mut rtl =
                RtlBackend::new(cfg, batch, MemoryConfig::full_rate(cfg.bus_bytes)).unwrap();
            let st = rtl.matmul(&call, &mut out).unwrap();
            assert_eq!(
                st.dram_bytes,
                image * rows.div_ceil(batch) as u64,
                "{} rows {rows} batch {batch}",
                cfg.name
            );
            assert_eq!(
                st.buffer_reads,
                (rows * n.div_ceil(4) * k.div_ceil(5)) as u64
            );
        }
        // Decode on a memory of a quarter of the bus: >= 95 % of the floor.
        let bpc = cfg.bus_bytes as f64 / 4.0;
        let mut rtl = RtlBackend::new(
            cfg,
            1,
            MemoryConfig {
                bytes_per_cycle: bpc,
                latency: 20,
            },
        )
        .unwrap();
        let (n, k) = (64, 2000);
        let t: Vec<i8> = (0..n * k).map(|_| rng.below(3) as i8 - 1).collect();
        let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
        let acts: Vec<i8> = (0..k).map(|_| rng.next_u64() as i8).collect();
        let call = LinearCall::new(LinearId::new(0, Proj::Q), &w, &acts, 1, 0);
        let mut out = vec![0; n];
        let st = rtl.matmul(&call, &mut out).unwrap();
        let floor = st.dram_bytes as f64 / bpc / st.cycles as f64;
        assert!(
            floor >= 0.95,
            "{}: decode at {:.1} % of the memory floor ({} cycles)",
            cfg.name,
            100.0 * floor,
            st.cycles
        );
        assert!(st.mem_stall_cycles > 0);
    }
}

#[test]
fn worst_case_accumulator_magnitudes() {
    // |acc| = 128 * K at K = k_max (8192) and beyond (K split across tiles on the host).
    let mut rtl = backend(&ACC3);
    for (k, wv, av) in [
        (8192, -1i8, -128i8),
        (8192, 1, -128),
        (8192, 1, 127),
        (9000, -1, -128),
    ] {
        let w = TernaryMatrix::from_ternary("w", 5, k, &vec![wv; 5 * k], 1.0).unwrap();
        let acts = vec![av; k];
        let call = LinearCall::new(LinearId::new(0, Proj::Down), &w, &acts, 1, 0);
        let mut out = vec![0i32; 5];
        rtl.matmul(&call, &mut out).unwrap();
        assert_eq!(out, vec![wv as i32 * av as i32 * k as i32; 5], "k {k}");
    }
}

#[test]
fn clean_lockstep_call_matches() {
    let mut rtl = backend(&ACC3);
    let dir = tempfile::tempdir().unwrap();
    let w = TernaryMatrix::from_ternary("w", 3, 10, &[1; 30], 1.0).unwrap();
    let acts = [1i8; 10];
    let call = LinearCall::new(LinearId::new(0, Proj::Q), &w, &acts, 1, 0);
    let mut lock = Lockstep::new(&mut rtl, None, dir.path().join("w.vcd"));
    let mut out = [0i32; 3];
    lock.matmul(&call, &mut out).unwrap();
    assert_eq!(out, [10; 3]);
    assert_eq!(lock.rows()[0].verdict, "match");
}

/// Regression: equal accumulators with different activity (a zero weight
/// turned into +1 against a zero activation: same sums, one more add) used
/// to be reported as a divergence "at output row 0" with expected == got.
/// It is an activity divergence, with both counts.
#[test]
fn an_activity_only_mismatch_is_reported_as_such() {
    let mut rtl = backend(&ACC3);
    let dir = tempfile::tempdir().unwrap();
    let (n, k) = (6, 20);
    let mut t = vec![1i8; n * k];
    t[2 * k + 3] = 0; // weight (2, 3) is zero ...
    let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
    let mut acts = vec![5i8; k];
    acts[3] = 0; // ... and its activation too
    let id = LinearId::new(0, Proj::V);
    rtl.plant_fault(PlantedFault { id, row: 2, col: 3 });
    let call = LinearCall::new(id, &w, &acts, 1, 0);
    let mut lock = Lockstep::new(&mut rtl, None, dir.path().join("w.vcd"));
    let mut out = vec![0i32; n];
    assert!(lock.matmul(&call, &mut out).is_err());
    let d = lock.divergence().expect("reported").clone();
    let text = d.to_string();
    let Divergence::Activity(a) = d.what else {
        panic!("reported as an accumulator divergence: {text}");
    };
    assert_eq!(a.rtl_adds, a.golden_adds + 1, "{text}");
    assert_eq!(a.rtl_zero_skips + 1, a.golden_zero_skips, "{text}");
    assert!(text.contains("every accumulator equal"), "{text}");
    assert!(!text.contains("output row"), "{text}");
}

/// A planted sign flip whose column only ever sees zero activations cannot
/// change any result: the run passes, and says the fault was not exercised
/// (the same site with a nonzero activation is found).
#[test]
fn an_unexercised_fault_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let (n, k) = (5, 12);
    let w = TernaryMatrix::from_ternary("w", n, k, &vec![1; n * k], 1.0).unwrap();
    let id = LinearId::new(0, Proj::O);
    let fault = PlantedFault { id, row: 3, col: 7 };
    for (act7, exercised) in [(0i8, false), (9, true)] {
        let mut acts = vec![4i8; 2 * k];
        acts[7] = act7;
        acts[k + 7] = act7;
        let call = LinearCall::new(id, &w, &acts, 2, 0);
        assert_eq!(fault.exercised_by(&call), exercised);
        let mut rtl = backend(&ACC3);
        rtl.plant_fault(fault);
        let mut lock = Lockstep::new(&mut rtl, None, dir.path().join("w.vcd"));
        let mut out = vec![0i32; 2 * n];
        let r = lock.matmul(&call, &mut out);
        assert_eq!(lock.fault_exercised(), exercised);
        assert_eq!(r.is_err(), exercised, "found iff exercised");
    }
}
