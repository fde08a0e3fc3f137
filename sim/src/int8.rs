//! Verilator model of the INT8 comparison array `rtl/int8_mac_array.sv`:
//! the W8A8 twin of `tri_mac_array` (same handshakes, pipeline, counters,
//! column trees and accumulators, by construction: both instantiate
//! `mac_array_ctrl` and `mac_array_acc`), with int8 weights and a real
//! multiplier per lane. It is not part of the ternary accelerator: the
//! FPGA flow (fpga/) synthesizes it for the comparison, and this handle lets
//! tests check it against plain integer dot products (`tests/int8.rs`).

use std::ffi::{c_char, CStr};
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::configs::{SimConfig, INT8};
use crate::error::SimError;
use crate::ffi;
use crate::sim::{status_of, unpack_columns, Counters, EdgeSample};

/// A Verilator model of `int8_mac_array` in its one built configuration
/// ([`INT8`]), owned by this handle. Single-threaded like
/// [`crate::ArraySim`] (neither `Send` nor `Sync`); RTL assertion failures
/// come back as [`SimError::Assertion`]. Same timing as `ArraySim`:
/// `set_*` take effect at the next [`tick`](Self::tick), which returns what
/// the rising edge saw.
pub struct Int8Sim {
    raw: NonNull<ffi::TriSim>,
    r_words: Vec<u32>,
    _single_thread: PhantomData<*mut ()>,
}

impl Int8Sim {
    /// Creates the model and resets it. Checks that the library was built
    /// for [`INT8`] (shape, `KMax`, accumulator width).
    pub fn new() -> Result<Int8Sim, SimError> {
        let cfg = &INT8;
        let mut info = [0u32; 4];
        let mut name: *const c_char = std::ptr::null();
        // SAFETY: `info` holds 4 u32 and `name` one pointer, as required.
        let rc = unsafe { ffi::tri_int8_config_info(info.as_mut_ptr(), &mut name) };
        let expected = [
            cfg.cols as u32,
            cfg.lanes as u32,
            cfg.k_max as u32,
            cfg.int8_acc_width() as u32,
        ];
        if rc != 0 || info != expected {
            return Err(SimError::ConfigMismatch {
                name: cfg.name.to_string(),
                detail: format!(
                    "library: {info:?}, configs.rs: {expected:?} (cols, lanes, k_max, acc_w)"
                ),
            });
        }
        if cfg.int8_acc_width() > 32 {
            return Err(SimError::Unsupported {
                name: cfg.name.into(),
                reason: "AccW does not fit the i32 results of this API".into(),
            });
        }
        // SAFETY: no preconditions; the result is freed once, in Drop.
        let raw = NonNull::new(unsafe { ffi::tri_int8_new() }).ok_or_else(|| {
            let mut buf = [0u8; 512];
            // SAFETY: buf is valid for 512 bytes.
            unsafe { ffi::tri_sim_new_error(buf.as_mut_ptr().cast(), buf.len()) };
            SimError::Create {
                name: cfg.name.into(),
                reason: CStr::from_bytes_until_nul(&buf)
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            }
        })?;
        let mut sim = Int8Sim {
            raw,
            r_words: vec![0u32; (cfg.cols * cfg.int8_acc_width()).div_ceil(32)],
            _single_thread: PhantomData,
        };
        sim.reset()?;
        Ok(sim)
    }

    /// The configuration of this model ([`INT8`]).
    pub fn config(&self) -> &'static SimConfig {
        &INT8
    }

    /// Forgets a recorded assertion failure, drops every input, holds
    /// `rst_ni` low for 4 cycles, releases it and runs one idle cycle.
    pub fn reset(&mut self) -> Result<(), SimError> {
        // SAFETY: live model.
        unsafe { ffi::tri_sim_clear_error(self.raw.as_ptr()) };
        for port in [
            ffi::IN_CLEAR,
            ffi::IN_CNT_CLEAR,
            ffi::IN_W_VALID,
            ffi::IN_A_VALID,
            ffi::IN_A_LAST,
            ffi::IN_R_READY,
            ffi::IN_RST_NI,
        ] {
            self.set_bit(port, false);
        }
        for _ in 0..4 {
            self.tick()?;
        }
        self.set_bit(ffi::IN_RST_NI, true);
        self.tick()?;
        Ok(())
    }

    /// Runs one clock cycle; returns the 1-bit outputs as its rising edge
    /// saw them (`err_code` is always false: this array has no such flag).
    pub fn tick(&mut self) -> Result<EdgeSample, SimError> {
        let mut bits = 0u32;
        // SAFETY: live model; `bits` is valid for one u32.
        let st = unsafe { ffi::tri_sim_tick(self.raw.as_ptr(), &mut bits) };
        status_of(self.raw, st)?;
        Ok(EdgeSample::from_bits(bits))
    }

    fn set_bit(&mut self, port: u32, value: bool) {
        // SAFETY: live model; the port ids are those of the arrays.
        let rc = unsafe { ffi::tri_sim_set_bit(self.raw.as_ptr(), port, value as u32) };
        debug_assert_eq!(rc, 0);
    }

    /// Drives a port of int8 fields (byte `i` at bits `[8 * i +: 8]`).
    fn put(&mut self, port: u32, bytes: &[i8]) {
        let mut words = vec![0u32; bytes.len().div_ceil(4)];
        for (i, &b) in bytes.iter().enumerate() {
            words[i / 4] |= u32::from(b as u8) << (8 * (i % 4));
        }
        // SAFETY: live model; `words` has exactly ceil(width / 32) words.
        let rc =
            unsafe { ffi::tri_sim_set_words(self.raw.as_ptr(), port, words.as_ptr(), words.len()) };
        debug_assert_eq!(rc, 0);
    }

    /// Drives `w_valid_i` and `w_data_i`: `w[c * lanes + l]` is the int8
    /// weight of column `c`, lane `l`.
    pub fn set_weights(&mut self, valid: bool, w: &[i8]) -> Result<(), SimError> {
        let n = INT8.cols * INT8.lanes;
        if w.len() != n {
            return Err(SimError::Shape {
                what: "weight beat (cols * lanes int8)",
                expected: n,
                got: w.len(),
            });
        }
        self.put(ffi::IN_W_DATA, w);
        self.set_bit(ffi::IN_W_VALID, valid);
        Ok(())
    }

    /// Drives `a_valid_i`, `a_data_i` (`lanes` int8) and `a_last_i`.
    pub fn set_acts(&mut self, valid: bool, a: &[i8], last: bool) -> Result<(), SimError> {
        if a.len() != INT8.lanes {
            return Err(SimError::Shape {
                what: "activation beat (lanes values)",
                expected: INT8.lanes,
                got: a.len(),
            });
        }
        self.put(ffi::IN_A_DATA, a);
        self.set_bit(ffi::IN_A_VALID, valid);
        self.set_bit(ffi::IN_A_LAST, last);
        Ok(())
    }

    /// Drives `r_ready_i`.
    pub fn set_result_ready(&mut self, ready: bool) {
        self.set_bit(ffi::IN_R_READY, ready);
    }

    /// Drives `clear_i` (zero the accumulators, drop a pending result).
    pub fn set_clear(&mut self, clear: bool) {
        self.set_bit(ffi::IN_CLEAR, clear);
    }

    /// Drives `cnt_clear_i` (zero the counters).
    pub fn set_cnt_clear(&mut self, clear: bool) {
        self.set_bit(ffi::IN_CNT_CLEAR, clear);
    }

    /// The 1-bit outputs after the last evaluation.
    pub fn outputs(&self) -> EdgeSample {
        // SAFETY: live model.
        EdgeSample::from_bits(unsafe { ffi::tri_sim_get_bits(self.raw.as_ptr()) })
    }

    /// `r_data_o`, one sign-extended value per column.
    pub fn result(&mut self, out: &mut [i32]) -> Result<(), SimError> {
        if out.len() != INT8.cols {
            return Err(SimError::Shape {
                what: "result buffer (one value per column)",
                expected: INT8.cols,
                got: out.len(),
            });
        }
        let (ptr, len) = (self.r_words.as_mut_ptr(), self.r_words.len());
        // SAFETY: live model; r_words has exactly ceil(Cols*AccW / 32) words.
        let rc = unsafe { ffi::tri_sim_get_words(self.raw.as_ptr(), ffi::OUT_R_DATA, ptr, len) };
        debug_assert_eq!(rc, 0);
        unpack_columns(&self.r_words, INT8.int8_acc_width(), out);
        Ok(())
    }

    /// The five counters after the last evaluation (`adds`: lanes with a
    /// nonzero weight, `skips`: lanes with a zero weight).
    pub fn counters(&self) -> Counters {
        let mut c = [0u64; ffi::ARRAY_COUNTERS];
        // SAFETY: live model; c holds as many u64 as an array model has counters.
        let rc = unsafe { ffi::tri_sim_get_counters(self.raw.as_ptr(), c.as_mut_ptr(), c.len()) };
        debug_assert_eq!(rc, 0);
        Counters {
            cycles: c[0],
            busy: c[1],
            stalls: c[2],
            adds: c[3],
            skips: c[4],
        }
    }

    /// Runs one tile: offers beat `j` (`w[j]`: `cols * lanes` weights,
    /// `a[j]`: `lanes` activations, `a_last_i` on the final one) until it is
    /// accepted, waits for `r_valid_o`, holds `r_ready_i` low for
    /// `result_ready_delay` more cycles, reads the result into `out` and
    /// takes it. Returns the cycles used. Leaves the valids and `r_ready_i`
    /// low.
    pub fn run_tile(
        &mut self,
        w: &[Vec<i8>],
        a: &[Vec<i8>],
        result_ready_delay: u64,
        out: &mut [i32],
    ) -> Result<u64, SimError> {
        if w.is_empty() || w.len() != a.len() {
            return Err(SimError::Shape {
                what: "activation beats (one per weight beat, at least one)",
                expected: w.len().max(1),
                got: a.len(),
            });
        }
        let r = self.drive(w, a, result_ready_delay, out);
        self.set_bit(ffi::IN_W_VALID, false);
        self.set_bit(ffi::IN_A_VALID, false);
        self.set_bit(ffi::IN_A_LAST, false);
        self.set_result_ready(false);
        r
    }

    fn drive(
        &mut self,
        w: &[Vec<i8>],
        a: &[Vec<i8>],
        delay: u64,
        out: &mut [i32],
    ) -> Result<u64, SimError> {
        let n = w.len();
        let timeout = 1000 + 4 * n as u64 + delay;
        let (mut next, mut t) = (0usize, 0u64);
        let mut valid_since: Option<u64> = None;
        while t < timeout {
            let offer = next < n;
            if offer {
                self.set_weights(true, &w[next])?;
                self.set_acts(true, &a[next], next == n - 1)?;
            } else {
                self.set_bit(ffi::IN_W_VALID, false);
                self.set_bit(ffi::IN_A_VALID, false);
                self.set_bit(ffi::IN_A_LAST, false);
            }
            let ready = matches!(valid_since, Some(v) if t >= v + delay);
            self.set_result_ready(ready);
            let edge = self.tick()?;
            t += 1;
            if offer && edge.w_ready && edge.a_ready {
                next += 1;
            }
            if ready && edge.r_valid {
                return Ok(t);
            }
            if valid_since.is_none() && self.outputs().r_valid {
                if next < n {
                    return Err(SimError::Protocol(format!(
                        "r_valid_o rose after {next} of {n} beats"
                    )));
                }
                self.result(out)?;
                valid_since = Some(t);
            }
        }
        Err(SimError::Timeout {
            cycles: t,
            waiting_for: format!("the tile ({next} of {n} beats accepted)"),
        })
    }
}

impl Drop for Int8Sim {
    fn drop(&mut self) {
        // SAFETY: live model, freed exactly once.
        unsafe { ffi::tri_sim_free(self.raw.as_ptr()) };
    }
}

impl std::fmt::Debug for Int8Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Int8Sim")
            .field("config", &INT8.name)
            .finish()
    }
}
