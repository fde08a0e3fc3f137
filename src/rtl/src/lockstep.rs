//! Lockstep co-simulation: every BitLinear runs on the golden backend and on
//! the RTL, and every i32 accumulator is compared with `==`, then the
//! activity counters (adds issued, zero weights skipped). The first
//! divergence is located down to the token, output row, K tile (beat) and
//! simulator cycle, with a waveform of the offending tile
//! (OpenTitan OTBN trace-checker style: stop at the FIRST difference).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tritium_golden::{
    backend::{check_group, matmul_as_group},
    Backend, ExecStats, GoldenBackend, LinearCall,
};
use tritium_util::Progress;

use crate::tally::{call_result, rows_of, GroupResult, LinearRow};
use crate::RtlBackend;

/// The first place where the RTL and the golden model disagree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstDivergence {
    pub layer: usize,
    pub proj: String,
    /// Position of the (first) token of the call in the sequence.
    pub token_position: usize,
    /// What differed there.
    #[serde(flatten)]
    pub what: Divergence,
}

/// What differed at the first divergence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Divergence {
    /// An accumulator: the final sums of one output row differ.
    Accumulator(AccumulatorDivergence),
    /// Every accumulator of the call is equal, but the RTL's activity
    /// counters (adds issued, zero weights skipped; padding lanes excluded)
    /// differ from the golden count: a datapath that gets the right sums
    /// with the wrong operations (e.g. a zero weight not gated).
    Activity(ActivityDivergence),
}

/// Where an accumulator first differed, located to the beat and cycle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccumulatorDivergence {
    /// Output row (channel) of the BitLinear.
    pub output_row: usize,
    /// Final accumulators.
    pub expected: i32,
    pub got: i32,
    /// Output tile (`output_row / cols`) and K tile (beat) where the
    /// running accumulator first differed, with the K range of that beat.
    pub output_tile: usize,
    pub k_tile: Option<usize>,
    pub k_range: Option<(usize, usize)>,
    /// Running accumulator after that beat: expected vs got.
    pub partial_expected: Option<i32>,
    pub partial_got: Option<i32>,
    /// Cycle in which that beat was issued to the array for this token,
    /// counted from the first cycle of its job (the activation load of the
    /// call's row chunk and K segment): independent of what ran before.
    pub cycle: Option<u64>,
    /// Byte of the K segment's weight image (as stored in memory) holding
    /// the beat's first weight of this output row.
    pub image_byte: Option<usize>,
    /// VCD waveform of the replayed tile.
    pub waveform: Option<PathBuf>,
}

/// Both activity counts of a call whose accumulators all agree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityDivergence {
    /// Token rows of the call.
    pub token_rows: usize,
    pub rtl_adds: u64,
    pub rtl_zero_skips: u64,
    pub golden_adds: u64,
    pub golden_zero_skips: u64,
}

impl FirstDivergence {
    /// A divergence in `call`, at the token of position `token_position`.
    fn new(call: &LinearCall<'_>, token_position: usize, what: Divergence) -> FirstDivergence {
        FirstDivergence {
            layer: call.id.layer,
            proj: call.id.proj.hf_name().to_string(),
            token_position,
            what,
        }
    }
}

impl std::fmt::Display for FirstDivergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "first divergence: layer {} {}, ", self.layer, self.proj)?;
        let pos = self.token_position;
        match &self.what {
            Divergence::Accumulator(a) => {
                write!(
                    f,
                    "token {pos}, output row {}: expected {}, got {}",
                    a.output_row, a.expected, a.got
                )?;
                if let (Some(kt), Some((k0, k1))) = (a.k_tile, a.k_range) {
                    write!(f, "; output tile {}, K tile {kt} (k {k0}..{k1})", a.output_tile)?;
                }
                if let (Some(e), Some(g)) = (a.partial_expected, a.partial_got) {
                    write!(f, ", running sum expected {e}, got {g}")?;
                }
                if let Some(c) = a.cycle {
                    write!(f, ", cycle {c} of its job")?;
                }
                if let Some(b) = a.image_byte {
                    write!(f, ", weight image byte {b}")?;
                }
                if let Some(w) = &a.waveform {
                    write!(f, "; waveform of the tile: {}", w.display())?;
                }
                Ok(())
            }
            Divergence::Activity(a) => write!(
                f,
                "tokens {pos}..{}: every accumulator equal, but the activity differs: RTL issued {} adds and skipped {} zero weights, the golden count is {} adds and {} skips",
                pos + a.token_rows,
                a.rtl_adds,
                a.rtl_zero_skips,
                a.golden_adds,
                a.golden_zero_skips
            ),
        }
    }
}

/// A backend that runs golden and RTL side by side and compares.
pub struct Lockstep<'r> {
    rtl: &'r mut RtlBackend,
    golden: GoldenBackend,
    layers: Option<BTreeSet<usize>>,
    /// Every group run so far, in run order.
    groups: Vec<GroupResult>,
    /// Sequence number of the next group [`Backend::matmul_group`] runs.
    next_seq: usize,
    divergence: Option<FirstDivergence>,
    mismatch_wave: PathBuf,
    progress: Option<&'r dyn Progress>,
    /// A call of the planted fault's BitLinear ran on the RTL with data
    /// that can show the fault.
    fault_exercised: bool,
}

impl<'r> Lockstep<'r> {
    /// `layers`: which layers go to the RTL (None = all); the others run on
    /// golden only. `mismatch_wave`: where the waveform of a divergent tile goes.
    pub fn new(
        rtl: &'r mut RtlBackend,
        layers: Option<BTreeSet<usize>>,
        mismatch_wave: PathBuf,
    ) -> Self {
        Lockstep {
            rtl,
            golden: GoldenBackend,
            layers,
            groups: Vec::new(),
            next_seq: 0,
            divergence: None,
            mismatch_wave,
            progress: None,
            fault_exercised: false,
        }
    }

    /// Reports one step per BitLinear call to `p`.
    pub fn with_progress(mut self, p: &'r dyn Progress) -> Self {
        self.progress = Some(p);
        self
    }

    /// The RTL backend (its configuration, counters).
    pub fn rtl(&self) -> &RtlBackend {
        self.rtl
    }

    /// Whether the RTL's planted fault (if any) was exercised: a call of its
    /// BitLinear ran on the RTL with data that can show it.
    pub fn fault_exercised(&self) -> bool {
        self.fault_exercised
    }

    pub fn divergence(&self) -> Option<&FirstDivergence> {
        self.divergence.as_ref()
    }

    /// Rows in layer/projection order.
    pub fn rows(&self) -> Vec<LinearRow> {
        rows_of(&self.groups, self.rtl.config().array.macs_per_beat() as f64)
    }

    /// Every group run so far, in run order.
    pub fn groups(&self) -> &[GroupResult] {
        &self.groups
    }

    /// Whether `layer`'s BitLinears go to the RTL.
    pub fn on_rtl(&self, layer: usize) -> bool {
        self.layers.as_ref().is_none_or(|l| l.contains(&layer))
    }

    /// Locates the first differing accumulator of call `ci` of `calls` to
    /// its beat, cycle and image byte, with a waveform of its tile.
    fn locate(
        &mut self,
        calls: &[LinearCall<'_>],
        ci: usize,
        expected: &[i32],
        got: &[i32],
    ) -> FirstDivergence {
        let call = &calls[ci];
        let n = call.weights.n();
        let idx = expected
            .iter()
            .zip(got)
            .position(|(e, g)| e != g)
            .unwrap_or(0);
        let (row, j) = (idx / n, idx % n);
        let geom = self.rtl.config().array;
        let mut a = AccumulatorDivergence {
            output_row: j,
            expected: expected[idx],
            got: got[idx],
            output_tile: j / geom.cols,
            ..AccumulatorDivergence::default()
        };
        let segments = geom.segments(call.weights.k()).count();
        let wave = self.mismatch_wave.clone();
        for s in 0..segments {
            if let Ok(Some(d)) = self.rtl.locate_beat(calls, ci, row, j, s, Some(&wave)) {
                a.k_tile = Some(d.beat);
                a.k_range = Some(d.k_range);
                a.partial_expected = Some(d.expected);
                a.partial_got = Some(d.got);
                a.cycle = Some(d.cycle);
                a.image_byte = Some(d.image_byte);
                a.waveform = Some(wave);
                break;
            }
        }
        FirstDivergence::new(call, call.first_pos + row, Divergence::Accumulator(a))
    }

    /// Compares the RTL's results of `calls` with golden's, records the
    /// group, and returns the error of the first divergence.
    fn compare(
        &mut self,
        mut group: GroupResult,
        calls: &[LinearCall<'_>],
        golden: &[Vec<i32>],
        gstats: &[ExecStats],
        got: &[Vec<i32>],
        rstats: &[ExecStats],
    ) -> tritium_golden::Result<()> {
        group.calls = calls
            .iter()
            .enumerate()
            .map(|(i, c)| call_result(c.id, c.rows, golden[i].len(), rstats[i]))
            .collect();
        for (i, call) in calls.iter().enumerate() {
            let counts_agree =
                rstats[i].adds == gstats[i].adds && rstats[i].zero_skips == gstats[i].zero_skips;
            if got[i] == golden[i] && counts_agree {
                continue;
            }
            group.calls[i].mismatch = true;
            self.groups.push(group);
            let d = if got[i] != golden[i] {
                self.locate(calls, i, &golden[i], &got[i])
            } else {
                FirstDivergence::new(
                    call,
                    call.first_pos,
                    Divergence::Activity(ActivityDivergence {
                        token_rows: call.rows,
                        rtl_adds: rstats[i].adds,
                        rtl_zero_skips: rstats[i].zero_skips,
                        golden_adds: gstats[i].adds,
                        golden_zero_skips: gstats[i].zero_skips,
                    }),
                )
            };
            let message = d.to_string();
            self.divergence = Some(d);
            return Err(tritium_golden::Error::backend(
                self.rtl.name(),
                call.id.to_string(),
                message,
            ));
        }
        self.groups.push(group);
        Ok(())
    }

    /// Group number `seq` of the run, whose golden results are `golden` and
    /// `gstats`: run on the RTL and compared when its layer is selected,
    /// recorded as golden only otherwise. Returns the error of the first
    /// divergence (also kept in [`Lockstep::divergence`]).
    pub fn check_group(
        &mut self,
        seq: usize,
        calls: &[LinearCall<'_>],
        golden: &[Vec<i32>],
        gstats: &[ExecStats],
    ) -> tritium_golden::Result<()> {
        let Some(first) = calls.first() else {
            return Ok(());
        };
        let mut group = GroupResult {
            seq,
            on_rtl: self.on_rtl(first.id.layer),
            fault_exercised: false,
            calls: Vec::new(),
        };
        if !group.on_rtl {
            group.calls = calls
                .iter()
                .zip(gstats)
                .map(|(c, st)| call_result(c.id, c.rows, 0, *st))
                .collect();
            self.groups.push(group);
            return Ok(());
        }
        if calls
            .iter()
            .any(|c| self.rtl.fault().is_some_and(|f| f.exercised_by(c)))
        {
            self.fault_exercised = true;
            group.fault_exercised = true;
        }
        let mut got: Vec<Vec<i32>> = calls
            .iter()
            .map(|c| vec![0i32; c.rows * c.weights.n()])
            .collect();
        let mut rstats = vec![ExecStats::default(); calls.len()];
        self.rtl.matmul_group(calls, &mut got, &mut rstats)?;
        self.compare(group, calls, golden, gstats, &got, &rstats)
    }

    /// Golden for every call, then [`Lockstep::check_group`].
    fn run_group(
        &mut self,
        calls: &[LinearCall<'_>],
        outs: &mut [Vec<i32>],
        stats: &mut [ExecStats],
    ) -> tritium_golden::Result<()> {
        for ((c, o), st) in calls.iter().zip(outs.iter_mut()).zip(stats.iter_mut()) {
            *st = self.golden.matmul(c, o)?;
            if let Some(p) = self.progress {
                p.advance(1);
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.check_group(seq, calls, outs, stats)
    }
}

impl Backend for Lockstep<'_> {
    fn name(&self) -> &str {
        "lockstep"
    }

    fn matmul(
        &mut self,
        call: &LinearCall<'_>,
        out: &mut [i32],
    ) -> tritium_golden::Result<ExecStats> {
        matmul_as_group(call, out, |c, o, st| self.run_group(c, o, st))
    }

    fn matmul_group(
        &mut self,
        calls: &[LinearCall<'_>],
        outs: &mut [Vec<i32>],
        stats: &mut [ExecStats],
    ) -> tritium_golden::Result<()> {
        check_group(calls, outs, stats)?;
        if calls.is_empty() {
            return Ok(());
        }
        self.run_group(calls, outs, stats)
    }
}
