use crate::configs::SimConfig;
use crate::error::SimError;
use crate::sim::ArraySim;

/// Options of [`ArraySim::run_tile_with`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TileOptions {
    /// Cycles to hold `r_ready_i` low after `r_valid_o` rises (backpressure).
    pub result_ready_delay: u64,
    /// Give up (with [`SimError::Timeout`]) after this many cycles; `None`:
    /// `1000 + 4 * beats + result_ready_delay`.
    pub timeout_cycles: Option<u64>,
}

/// What happened while a tile ran. Cycles are counted from the tile's first
/// clock cycle (cycle 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileReport {
    /// Cycles used, from cycle 0 through the cycle of the result handshake.
    pub cycles: u64,
    /// For each beat, the cycle in which it was accepted.
    pub accept_cycles: Vec<u64>,
    /// First cycle in which `r_valid_o` was high.
    pub result_cycle: u64,
    /// `result_cycle` minus the cycle the last beat was accepted in.
    pub latency: u64,
}

/// Result of [`ArraySim::run_tile_traced`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedTile {
    /// Timing of the traced run (beats spaced out, see `run_tile_traced`).
    pub report: TileReport,
    /// `acc_o` once beat `j` had been absorbed, for every beat `j` (the
    /// last entry is the final result).
    pub acc_after_beat: Vec<Vec<i32>>,
    /// Cycles from a beat's acceptance until its effect is visible,
    /// measured with a one-beat probe tile.
    pub absorb_latency: u64,
}

/// The first place where the array's running accumulators differ from the
/// expected ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Divergence {
    pub beat: usize,
    pub column: usize,
    pub got: i32,
    pub expected: i32,
}

impl TracedTile {
    /// First (beat, column) at which `acc_after_beat` differs from
    /// `expected` (same shape, e.g. [`crate::reference::prefix_sums`]).
    pub fn first_divergence(&self, expected: &[Vec<i32>]) -> Option<Divergence> {
        for (beat, (got, exp)) in self.acc_after_beat.iter().zip(expected).enumerate() {
            for (column, (&g, &e)) in got.iter().zip(exp).enumerate() {
                if g != e {
                    return Some(Divergence {
                        beat,
                        column,
                        got: g,
                        expected: e,
                    });
                }
            }
        }
        None
    }
}

/// The beats of one tile: weight beats (`cols * lanes` codes each) and
/// activation beats (`lanes` values each), as [`ArraySim::run_tile`] takes
/// them.
pub type TileBeats = (Vec<Vec<u8>>, Vec<Vec<i8>>);

/// Cuts one output tile of the host tiling (rtl/INTERFACE.md, "Tiling")
/// into beats: `rows` are up to `cols` weight rows of ternary values
/// (-1, 0, +1), each as long as `acts` (K). Rows past `rows.len()` and lanes
/// past K are padded with code 1 (weight 0) and activation 0.
pub fn tile_beats<R: AsRef<[i8]>>(
    cfg: &SimConfig,
    rows: &[R],
    acts: &[i8],
) -> Result<TileBeats, SimError> {
    let k = acts.len();
    if rows.len() > cfg.cols {
        return Err(SimError::Shape {
            what: "weight rows of one tile (at most cols)",
            expected: cfg.cols,
            got: rows.len(),
        });
    }
    for r in rows {
        if r.as_ref().len() != k {
            return Err(SimError::Shape {
                what: "weight row (K = number of activations)",
                expected: k,
                got: r.as_ref().len(),
            });
        }
    }
    let beats = k.div_ceil(cfg.lanes);
    let mut w = vec![vec![1u8; cfg.cols * cfg.lanes]; beats];
    let mut a = vec![vec![0i8; cfg.lanes]; beats];
    for (i, &x) in acts.iter().enumerate() {
        a[i / cfg.lanes][i % cfg.lanes] = x;
    }
    for (c, row) in rows.iter().enumerate() {
        for (i, &t) in row.as_ref().iter().enumerate() {
            let code = match t {
                -1 => 0,
                0 => 1,
                1 => 2,
                value => {
                    return Err(SimError::InvalidWeight {
                        row: c,
                        index: i,
                        value,
                    })
                }
            };
            w[i / cfg.lanes][c * cfg.lanes + i % cfg.lanes] = code;
        }
    }
    Ok((w, a))
}

impl ArraySim {
    /// Runs one tile: streams `weight_beats[j]` (`cols * lanes` codes, see
    /// [`set_weights`](Self::set_weights)) together with `act_beats[j]`
    /// (`lanes` int8), setting `a_last_i` on the final beat and honouring
    /// valid/ready cycle by cycle, waits for `r_valid_o`, reads `r_data_o`
    /// into `out` (`cols` values), takes the result and returns the timing.
    /// Leaves every valid and `r_ready_i` low.
    ///
    /// Errors: bad shapes or codes (nothing is driven), an RTL assertion
    /// failure or a timeout (then the array may be mid-tile: use
    /// [`reset`](Self::reset) or `clear_i` before the next tile).
    pub fn run_tile<W: AsRef<[u8]>, A: AsRef<[i8]>>(
        &mut self,
        weight_beats: &[W],
        act_beats: &[A],
        out: &mut [i32],
    ) -> Result<TileReport, SimError> {
        self.run_tile_with(weight_beats, act_beats, out, &TileOptions::default())
    }

    /// [`run_tile`](Self::run_tile) with options (backpressure, timeout).
    pub fn run_tile_with<W: AsRef<[u8]>, A: AsRef<[i8]>>(
        &mut self,
        weight_beats: &[W],
        act_beats: &[A],
        out: &mut [i32],
        opts: &TileOptions,
    ) -> Result<TileReport, SimError> {
        self.drive_tile(weight_beats, act_beats, out, opts, None)
    }

    /// Runs a tile while recording `acc_o` after every beat has been
    /// absorbed, to find the first beat where the datapath diverges from a
    /// reference ([`TracedTile::first_divergence`]).
    ///
    /// Method: a one-beat probe tile of zero weights (code 1) measures the
    /// latency `L` from acceptance to `r_valid_o`; then the tile runs with
    /// each beat followed by `L - 1` idle cycles, and `acc_o` is read before
    /// the next beat is offered. This assumes a fixed pipeline latency and
    /// costs about `L` cycles per beat; the probe adds one beat of skips to
    /// the counters.
    pub fn run_tile_traced<W: AsRef<[u8]>, A: AsRef<[i8]>>(
        &mut self,
        weight_beats: &[W],
        act_beats: &[A],
        out: &mut [i32],
    ) -> Result<TracedTile, SimError> {
        self.validate(weight_beats, act_beats, out)?;
        let cfg = self.config();
        let probe_w = [vec![1u8; cfg.cols * cfg.lanes]];
        let probe_a = [vec![0i8; cfg.lanes]];
        let mut probe_out = vec![0i32; cfg.cols];
        let probe = self.run_tile(&probe_w, &probe_a, &mut probe_out)?;
        if probe_out.iter().any(|&x| x != 0) {
            return Err(SimError::Protocol(format!(
                "a tile of zero weights returned {probe_out:?}"
            )));
        }
        let latency = probe.latency;
        let mut snaps = Vec::with_capacity(weight_beats.len());
        let report = self.drive_tile(
            weight_beats,
            act_beats,
            out,
            &TileOptions::default(),
            Some((latency, &mut snaps)),
        )?;
        Ok(TracedTile {
            report,
            acc_after_beat: snaps,
            absorb_latency: latency,
        })
    }

    fn validate<W: AsRef<[u8]>, A: AsRef<[i8]>>(
        &self,
        w: &[W],
        a: &[A],
        out: &[i32],
    ) -> Result<(), SimError> {
        let cfg = self.config();
        if w.len() != a.len() {
            return Err(SimError::Shape {
                what: "activation beats (one per weight beat)",
                expected: w.len(),
                got: a.len(),
            });
        }
        if w.is_empty() {
            return Err(SimError::EmptyTile);
        }
        if w.len() > cfg.max_beats() {
            return Err(SimError::TooManyBeats {
                name: cfg.name.into(),
                beats: w.len(),
                max: cfg.max_beats(),
            });
        }
        if out.len() != cfg.cols {
            return Err(SimError::Shape {
                what: "result buffer (one value per column)",
                expected: cfg.cols,
                got: out.len(),
            });
        }
        for wb in w {
            let wb = wb.as_ref();
            if wb.len() != cfg.cols * cfg.lanes {
                return Err(SimError::Shape {
                    what: "weight beat (cols * lanes codes)",
                    expected: cfg.cols * cfg.lanes,
                    got: wb.len(),
                });
            }
            if let Some((index, &code)) = wb.iter().enumerate().find(|(_, &c)| c > 3) {
                return Err(SimError::InvalidCode { index, code });
            }
        }
        for ab in a {
            if ab.as_ref().len() != cfg.lanes {
                return Err(SimError::Shape {
                    what: "activation beat (lanes values)",
                    expected: cfg.lanes,
                    got: ab.as_ref().len(),
                });
            }
        }
        Ok(())
    }

    /// Runs [`drive_tile_inner`](Self::drive_tile_inner); on any error
    /// leaves the valids and `r_ready_i` low.
    fn drive_tile<W: AsRef<[u8]>, A: AsRef<[i8]>>(
        &mut self,
        w: &[W],
        a: &[A],
        out: &mut [i32],
        opts: &TileOptions,
        spaced: Option<(u64, &mut Vec<Vec<i32>>)>,
    ) -> Result<TileReport, SimError> {
        let r = self.drive_tile_inner(w, a, out, opts, spaced);
        self.set_valids(false, false, false);
        self.set_result_ready(false);
        r
    }

    /// The cycle-by-cycle driver. `spaced = Some((L, snaps))`: after each
    /// non-final accepted beat, idle `L - 1` cycles, then push `acc_o`; the
    /// final entry is `acc_o` when `r_valid_o` rises.
    fn drive_tile_inner<W: AsRef<[u8]>, A: AsRef<[i8]>>(
        &mut self,
        w: &[W],
        a: &[A],
        out: &mut [i32],
        opts: &TileOptions,
        mut spaced: Option<(u64, &mut Vec<Vec<i32>>)>,
    ) -> Result<TileReport, SimError> {
        self.validate(w, a, out)?;
        self.check()?;
        if self.r_valid() {
            return Err(SimError::ResultPending);
        }
        let n = w.len();
        let cols = self.config().cols;
        let timeout = opts
            .timeout_cycles
            .unwrap_or(1000 + 4 * n as u64 + opts.result_ready_delay);
        let mut next = 0usize; // next beat to offer
        let mut loaded = usize::MAX; // beat whose data is on the ports
        let mut accepts = Vec::with_capacity(n);
        let mut result_cycle: Option<u64> = None;
        let mut snapshot_after: Option<u64> = None; // spaced mode
        let mut t = 0u64;
        let result = loop {
            if t >= timeout {
                let waiting_for = if next < n {
                    format!("beat {next} of {n} to be accepted (w_ready_o/a_ready_o)")
                } else if result_cycle.is_none() {
                    "r_valid_o after the last beat".to_string()
                } else {
                    "the result handshake".to_string()
                };
                return Err(SimError::Timeout {
                    cycles: t,
                    waiting_for,
                });
            }
            let offer = next < n && snapshot_after.is_none();
            if offer && loaded != next {
                self.load_weights(w[next].as_ref())?;
                self.load_acts(a[next].as_ref())?;
                loaded = next;
            }
            self.set_valids(offer, offer, offer && next == n - 1);
            let r_ready = matches!(result_cycle, Some(rc) if t >= rc + opts.result_ready_delay);
            self.set_result_ready(r_ready);

            let edge = self.tick()?;

            if offer && edge.w_ready && edge.a_ready {
                accepts.push(t);
                next += 1;
                if let Some((lat, _)) = &spaced {
                    if next < n {
                        snapshot_after = Some(t + lat.saturating_sub(1));
                    }
                }
            }
            if r_ready && edge.r_valid {
                break TileReport {
                    cycles: t + 1,
                    latency: result_cycle.unwrap_or(t) - accepts.last().copied().unwrap_or(0),
                    result_cycle: result_cycle.unwrap_or(t),
                    accept_cycles: accepts,
                };
            }
            // State after the rising edge.
            if let (Some(due), Some((_, snaps))) = (snapshot_after, spaced.as_mut()) {
                if due == t {
                    let mut acc = vec![0i32; cols];
                    self.acc(&mut acc)?;
                    snaps.push(acc);
                    snapshot_after = None;
                }
            }
            if result_cycle.is_none() && self.r_valid() {
                if next < n {
                    return Err(SimError::Protocol(format!(
                        "r_valid_o rose after {next} of {n} beats, before the beat with a_last_i"
                    )));
                }
                self.result(out)?;
                if let Some((_, snaps)) = spaced.as_mut() {
                    let mut acc = vec![0i32; cols];
                    self.acc(&mut acc)?;
                    snaps.push(acc);
                }
                result_cycle = Some(t + 1);
            }
            t += 1;
        };
        Ok(result)
    }
}
