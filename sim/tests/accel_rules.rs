//! Rules of the accelerator's contract (rtl/INTERFACE.md, "tri_accel") that
//! the job-level tests of tests/accel.rs never exercise, each found by the
//! RTL mutation campaign (`make mutate`): every test names the mutant of
//! scripts/mutants/mutants.toml it kills, a bug that every other test let
//! through. They drive the ports by hand (`AccelSim`'s low-level API).

mod common;

use common::*;
use tritium_golden::SplitMix64;
use tritium_sim::{AccelCounters, AccelSim, AccelSimConfig, MemoryConfig, ACC2, ACC3};

/// Offers `beats` on the weight port (a command already accepted), with
/// `gap` idle cycles after each accepted one, and takes results while
/// `ready(cycle)`; `watch` sees the model after every cycle. Returns once
/// every beat is taken and `results` results are. Leaves the weight port
/// idle and r_ready_i low (the other inputs as they were).
fn drive(
    sim: &mut AccelSim,
    beats: &[(Vec<u8>, bool)],
    gap: u32,
    results: usize,
    mut ready: impl FnMut(u64) -> bool,
    mut watch: impl FnMut(&mut AccelSim),
) -> Vec<Vec<i32>> {
    let cols = sim.config().array.cols;
    let (mut out, mut next, mut idle) = (Vec::new(), 0, 0u32);
    for cycle in 0..20_000u64 {
        match beats.get(next).filter(|_| idle == 0) {
            Some((data, last)) => sim.set_weight(true, data, *last).unwrap(),
            None => sim.set_weight_valid(false, false),
        }
        let r_ready = ready(cycle);
        sim.set_result_ready(r_ready);
        let mut head = vec![0i32; cols];
        let valid = sim.outputs().r_valid;
        if valid {
            sim.result(&mut head).unwrap();
        }
        let offered = idle == 0 && next < beats.len();
        let pre = sim.tick().unwrap();
        idle = idle.saturating_sub(1);
        if offered && pre.w_ready {
            next += 1;
            idle = gap;
        }
        if valid && r_ready && pre.r_valid {
            out.push(head);
        }
        watch(sim);
        if out.len() == results && next == beats.len() {
            break;
        }
    }
    sim.set_weight_valid(false, false);
    sim.set_result_ready(false);
    assert_eq!(
        (out.len(), next),
        (results, beats.len()),
        "results, beats taken"
    );
    out
}

/// A random single-matrix job: `n` rows, `k` inputs, `tokens` rows.
fn job(cfg: &AccelSimConfig, n: usize, k: usize, tokens: usize, seed: u64) -> (JobData, Vec<i32>) {
    let mut rng = SplitMix64::new(seed);
    let w = matrix(n, k, 0.3, &mut rng);
    let x = acts(tokens, k, &mut rng);
    let want = expected(cfg, &w, &x, tokens, 0, k);
    (JobData::new(cfg, &[w], &x, tokens, 0, k), want)
}

/// The command of `d`'s run: accepted in the first cycle (idle accelerator).
fn command(sim: &mut AccelSim, d: &JobData) {
    sim.set_cmd(true, d.tiles[0] as u32, d.beats as u32, d.tokens as u32);
    assert!(sim.tick().unwrap().cmd_ready, "command taken while idle");
    sim.set_cmd_valid(false);
}

/// `cnt_clear_i` zeroes all nine counters in the next cycle; they count
/// again from there. Kills `counter-ignores-clear` (tri_counter ignoring
/// its clear).
#[test]
fn cnt_clear_zeroes_every_counter() {
    for cfg in [&ACC2, &ACC3] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let (d, _) = job(cfg, 2 * cfg.array.cols + 1, 3 * cfg.array.lanes, 2, 1);
        let runs = d.runs();
        let mem = MemoryConfig::full_rate(cfg.bus_bytes);
        let r = sim.run(&d.job(&runs, false, false), &mem).unwrap();
        let c = sim.counters();
        assert!(c.busy > 0 && c.dram_bytes > 0 && c.act_writes > 0, "{c:?}");
        sim.set_cnt_clear(true);
        sim.tick().unwrap();
        sim.set_cnt_clear(false);
        assert_eq!(sim.counters(), AccelCounters::default(), "{}", cfg.name);
        for _ in 0..3 {
            sim.tick().unwrap();
        }
        let idle = sim.counters();
        assert_eq!((idle.cycles, idle.busy), (3, 0), "{}: {idle:?}", cfg.name);
        // The same job again, reusing the buffer: counted from the clear.
        let r1 = sim.run(&d.job(&runs, true, false), &mem).unwrap();
        let c = sim.counters();
        assert_eq!(
            (c.busy, c.adds, c.skips),
            (r.counters.busy, r.counters.adds, r.counters.skips)
        );
        assert_eq!(c.dram_bytes, r1.counters.dram_bytes, "{}", cfg.name);
        assert_eq!(
            c.act_writes, 0,
            "{}: nothing loaded since the clear",
            cfg.name
        );
    }
}

/// A command and a load offered in the same cycle: the waiting command
/// goes first and the load waits until the run has issued everything (the
/// two are never accepted together, and no load is taken during a run).
/// Kills `accel-load-ignores-command`.
#[test]
fn a_waiting_command_goes_before_a_new_load() {
    for cfg in [&ACC2, &ACC3] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let (d, want) = job(cfg, cfg.array.cols + 2, 2 * cfg.array.lanes, 2, 2);
        load_only(&mut sim, &d);
        sim.set_cmd(true, d.tiles[0] as u32, d.beats as u32, d.tokens as u32);
        sim.set_load(true, &vec![5; cfg.array.lanes], true).unwrap();
        let e = sim.tick().unwrap();
        assert!(e.cmd_ready && !e.ld_ready, "{}: {e:?}", cfg.name);
        sim.set_cmd_valid(false);
        let res = drive(
            &mut sim,
            &bus_beats_last(&d.images[0], cfg.bus_bytes),
            0,
            want.len() / cfg.array.cols,
            |_| true,
            |_| {},
        );
        assert_eq!(res.concat(), want, "{}", cfg.name);
        // The load goes in once the run is done.
        let mut taken = false;
        for _ in 0..20 {
            sim.set_load(true, &vec![5; cfg.array.lanes], true).unwrap();
            if sim.tick().unwrap().ld_ready {
                taken = true;
                break;
            }
        }
        sim.idle_inputs();
        assert!(taken, "{}: load never taken after the run", cfg.name);
        assert!(sim.errors().none(), "{}: {:?}", cfg.name, sim.errors());
    }
}

/// `err_load_o` is set by the first issue that reads a buffer word at or
/// past the number of words loaded (the cycle after it, before dbg_* shows
/// that issue), not only when the tile ends on the wrong word: a run of 4
/// beats over a load of 2 reads word 2 before it reaches word 3. Kills
/// `accel-load-short-off-by-one` (word 2 itself not flagged).
#[test]
fn err_load_rises_at_the_first_read_past_the_load() {
    for cfg in [&ACC2, &ACC3] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let lanes = cfg.array.lanes;
        let (d4, _) = job(cfg, cfg.array.cols, 4 * lanes, 1, 3);
        let (d2, _) = job(cfg, cfg.array.cols, 2 * lanes, 1, 3);
        load_only(&mut sim, &d2);
        command(&mut sim, &d4);
        let (mut flag_at, mut shown_at) = (None, None);
        drive(
            &mut sim,
            &bus_beats_last(&d4.images[0], cfg.bus_bytes),
            20,
            1,
            |_| true,
            |s| {
                let now = s.cycle();
                if flag_at.is_none() && s.errors().load {
                    flag_at = Some(now);
                }
                if shown_at.is_none() && s.outputs().dbg_valid && s.dbg_tags().beat == 2 {
                    shown_at = Some(now);
                }
            },
        );
        let (flag_at, shown_at) = (flag_at.unwrap(), shown_at.unwrap());
        assert!(
            flag_at < shown_at,
            "{}: err_load_o at cycle {flag_at}, the issue of word 2 shown at {shown_at}",
            cfg.name
        );
    }
}

/// `w_last_i` on a beat inside a word (not its final beat), besides the
/// right one, sets err_last_o; the results are still right (the front end
/// counts words itself). Kills `wfe-deserializer-last-seen-dropped` (acc3
/// assembles a word from 2 bus beats; the first one's w_last_i was lost).
#[test]
fn a_w_last_inside_a_word_sets_err_last() {
    for cfg in [&ACC2, &ACC3] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let (d, want) = job(cfg, 2 * cfg.array.cols, 3 * cfg.array.lanes, 2, 4);
        load_only(&mut sim, &d);
        let mut beats = bus_beats_last(&d.images[0], cfg.bus_bytes);
        beats[0].1 = true;
        let cmd = (d.tiles[0] as u32, d.beats as u32, d.tokens as u32);
        let res = drive_raw(&mut sim, cmd, &beats, want.len() / cfg.array.cols, 10_000).unwrap();
        assert_eq!(res.concat(), want, "{}", cfg.name);
        let e = sim.errors();
        assert!(
            e.last && !e.code && !e.load && !e.cmd,
            "{}: {e:?}",
            cfg.name
        );
    }
}

/// The result buffer holds 2 * TMax results: with r_ready_i low, a run of
/// one-beat tiles issues exactly 2 * TMax (word, token) pairs, each
/// reserving a slot, then waits for result room; while it waits with no
/// word ready either, the cycles are res_stall, never mem_stall. Then every
/// result comes out in order. Kills `accel-result-credit-one-short` (one
/// slot never used) and `accel-mem-stall-drops-room-term` (the waiting
/// cycles counted as both stalls).
#[test]
fn results_fill_every_slot_of_the_result_buffer() {
    for cfg in [&ACC2, &ACC3] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let (tokens, slots) = (cfg.tokens, 2 * cfg.tokens);
        let (d, want) = job(cfg, 5 * cfg.array.cols, cfg.array.lanes, tokens, 5);
        assert_eq!((d.beats, d.tiles[0]), (1, 5));
        load_only(&mut sim, &d);
        command(&mut sim, &d);
        let beats = bus_beats_last(&d.images[0], cfg.bus_bytes);
        // The bus beats holding the first 2 words: 2 * TMax issues.
        let first = (2 * cfg.word_bytes).div_ceil(cfg.bus_bytes);
        let start = sim.counters();
        let mut blocked = Vec::new();
        drive(&mut sim, &beats[..first], 0, 0, |_| false, |_| {});
        for _ in 0..40 {
            sim.tick().unwrap();
            blocked.push(sim.counters().since(&start));
        }
        let (a, b) = (blocked[19], blocked[39]);
        assert_eq!(
            a.busy, slots as u64,
            "{}: issues before the buffer is full",
            cfg.name
        );
        assert_eq!(b.busy, a.busy, "{}", cfg.name);
        assert_eq!(
            (b.res_stall - a.res_stall, b.mem_stall - a.mem_stall),
            (20, 0)
        );
        assert!(sim.outputs().r_valid && sim.outputs().busy);
        let res = drive(
            &mut sim,
            &beats[first..],
            0,
            want.len() / cfg.array.cols,
            |_| true,
            |_| {},
        );
        assert_eq!(res.concat(), want, "{}", cfg.name);
    }
}

/// `err_code_o` is set by the ISSUE of a word holding an invalid weight,
/// not by its decoding: a word decoded while the run waits for result room
/// sets nothing until it is issued. The invalid weight counts as 0, as in
/// golden's image reference. Kills `accel-err-code-without-issue`.
#[test]
fn an_invalid_word_is_flagged_when_issued_not_when_decoded() {
    for cfg in [&ACC2, &ACC3] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let (mut d, _) = job(cfg, 5 * cfg.array.cols, cfg.array.lanes, cfg.tokens, 6);
        // Word 2 (tile 2) gets an invalid first byte (used positions).
        d.images[0][2 * cfg.word_bytes] = match cfg.format {
            tritium_golden::WeightFormat::TwoBit => 0xff,
            tritium_golden::WeightFormat::Base3 => 250,
        };
        let img = tritium_sim::reference::accel_run(
            cfg,
            d.tokens,
            d.beats,
            &d.acts,
            d.tiles[0],
            &d.images[0],
        )
        .unwrap();
        assert!(img.invalid > 0);
        load_only(&mut sim, &d);
        command(&mut sim, &d);
        let beats = bus_beats_last(&d.images[0], cfg.bus_bytes);
        // r_ready_i low: tiles 0 and 1 fill the 2 * TMax result slots; word
        // 2 arrives and is decoded, but waits.
        let first = (3 * cfg.word_bytes).div_ceil(cfg.bus_bytes);
        drive(&mut sim, &beats[..first], 0, 0, |_| false, |_| {});
        for _ in 0..30 {
            sim.tick().unwrap();
        }
        assert!(
            sim.counters().res_stall > 0,
            "{}: waiting for room",
            cfg.name
        );
        assert!(!sim.errors().code, "{}: flagged before its issue", cfg.name);
        let n = img.results.len() / cfg.array.cols;
        let res = drive(&mut sim, &beats[first..], 0, n, |_| true, |_| {});
        assert_eq!(res.concat(), img.results, "{}", cfg.name);
        let e = sim.errors();
        assert!(
            e.code && !e.last && !e.load && !e.cmd,
            "{}: {e:?}",
            cfg.name
        );
    }
}
