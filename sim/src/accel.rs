//! Verilator model of the accelerator `rtl/tri_accel.sv` (contract:
//! `rtl/INTERFACE.md`, "tri_accel"), driven from safe Rust.
//!
//! [`AccelSim`] owns one model of a configuration of
//! [`crate::ACCEL_CONFIGS`]:
//!
//! * high level: [`AccelSim::run`] loads a job's activations and runs its
//!   runs back to back against a [`crate::MemoryModel`] streaming their
//!   weight images (module `accel_job`; an untraced job is one FFI call
//!   into the C++ twin of that loop, see [`crate::JobDriver`]);
//! * low level: drive the ports ([`AccelSim::set_cmd`],
//!   [`AccelSim::set_load`], [`AccelSim::set_weight`], ...),
//!   [`AccelSim::tick`], read the outputs ([`AccelSim::result`],
//!   [`AccelSim::counters`], [`AccelSim::outputs`], ...), for tests that
//!   break the protocol on purpose;
//! * [`AccelSim::trace_to`] writes a VCD waveform.
//!
//! RTL assertion failures come back as [`SimError::Assertion`], as for
//! [`crate::ArraySim`].

use std::ffi::{c_char, CStr, CString};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use crate::configs::{AccelSimConfig, ACCEL_CONFIGS};
use crate::error::SimError;
use crate::ffi;
use crate::sim::{status_of, unpack_columns};

/// How [`AccelSim::run`] drives a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobDriver {
    /// Untraced jobs in one call to the C++ loop of the shim; traced jobs
    /// (which read the debug port every cycle) per cycle from Rust.
    #[default]
    Native,
    /// Every job cycle by cycle from Rust (the reference the native loop is
    /// tested against).
    PerCycle,
}

impl JobDriver {
    /// The driver named by `TRITIUM_SIM_JOB_DRIVER` (`native` or
    /// `per-cycle`), else [`JobDriver::Native`]: lets a whole test suite or
    /// a co-simulation run on the reference loop.
    pub fn from_env() -> JobDriver {
        match std::env::var("TRITIUM_SIM_JOB_DRIVER").as_deref() {
            Ok("per-cycle") => JobDriver::PerCycle,
            _ => JobDriver::Native,
        }
    }
}

/// The nine statistics counters of `tri_accel` (`cnt_*_o`), 64-bit, counted
/// from reset or the last `cnt_clear_i` (definitions in rtl/INTERFACE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccelCounters {
    /// Clock cycles.
    pub cycles: u64,
    /// Cycles with an issue (one word x one token through the array).
    pub busy: u64,
    /// A run is issuing, a result slot is free, but no decoded word is ready.
    pub mem_stall: u64,
    /// A word is ready but its issue waits for a result slot.
    pub res_stall: u64,
    /// Bytes taken from the weight port (bus bytes per accepted beat).
    pub dram_bytes: u64,
    /// Activation buffer words read (one per issue).
    pub act_reads: u64,
    /// Activation buffer words written (loaded).
    pub act_writes: u64,
    /// Lanes with weight +-1, summed over issues and columns.
    pub adds: u64,
    /// Lanes with weight 0 (padding included), summed over issues and columns.
    pub skips: u64,
}

impl AccelCounters {
    pub(crate) fn from_array(c: [u64; ffi::ACC_COUNTERS]) -> AccelCounters {
        AccelCounters {
            cycles: c[0],
            busy: c[1],
            mem_stall: c[2],
            res_stall: c[3],
            dram_bytes: c[4],
            act_reads: c[5],
            act_writes: c[6],
            adds: c[7],
            skips: c[8],
        }
    }

    /// `self - earlier`, counter by counter (wrapping: the counters are
    /// 64-bit and never wrap in practice; a `cnt_clear_i` in between makes
    /// the difference meaningless).
    pub fn since(&self, earlier: &AccelCounters) -> AccelCounters {
        AccelCounters {
            cycles: self.cycles.wrapping_sub(earlier.cycles),
            busy: self.busy.wrapping_sub(earlier.busy),
            mem_stall: self.mem_stall.wrapping_sub(earlier.mem_stall),
            res_stall: self.res_stall.wrapping_sub(earlier.res_stall),
            dram_bytes: self.dram_bytes.wrapping_sub(earlier.dram_bytes),
            act_reads: self.act_reads.wrapping_sub(earlier.act_reads),
            act_writes: self.act_writes.wrapping_sub(earlier.act_writes),
            adds: self.adds.wrapping_sub(earlier.adds),
            skips: self.skips.wrapping_sub(earlier.skips),
        }
    }
}

impl std::ops::AddAssign for AccelCounters {
    /// Counter by counter: totals over several windows (jobs, runs).
    fn add_assign(&mut self, d: AccelCounters) {
        self.cycles += d.cycles;
        self.busy += d.busy;
        self.mem_stall += d.mem_stall;
        self.res_stall += d.res_stall;
        self.dram_bytes += d.dram_bytes;
        self.act_reads += d.act_reads;
        self.act_writes += d.act_writes;
        self.adds += d.adds;
        self.skips += d.skips;
    }
}

/// The sticky error flags of `tri_accel` (cleared only by reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccelErrors {
    /// `err_code_o`: an invalid weight (2-bit code 3, base-3 byte > 242) in
    /// a used position of an issued word (it counted as weight 0).
    pub code: bool,
    /// `err_last_o`: `w_last_i` on the wrong beat.
    pub last: bool,
    /// `err_load_o`: a run read tokens * beats words but a different number
    /// was loaded (or a load overflowed the buffer).
    pub load: bool,
    /// `err_cmd_o`: a command out of range was accepted (and dropped).
    pub cmd: bool,
}

impl AccelErrors {
    /// No flag set.
    pub fn none(&self) -> bool {
        *self == AccelErrors::default()
    }
}

/// The 1-bit outputs of `tri_accel` at one point of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccelBits {
    pub cmd_ready: bool,
    pub ld_ready: bool,
    pub w_ready: bool,
    pub r_valid: bool,
    pub r_last: bool,
    pub busy: bool,
    pub dbg_valid: bool,
    pub errors: AccelErrors,
}

impl AccelBits {
    fn from_bits(b: u32) -> AccelBits {
        let on = |m: u32| b & m != 0;
        AccelBits {
            cmd_ready: on(ffi::ACC_BIT_CMD_READY),
            ld_ready: on(ffi::ACC_BIT_LD_READY),
            w_ready: on(ffi::ACC_BIT_W_READY),
            r_valid: on(ffi::ACC_BIT_R_VALID),
            r_last: on(ffi::ACC_BIT_R_LAST),
            busy: on(ffi::ACC_BIT_BUSY),
            dbg_valid: on(ffi::ACC_BIT_DBG_VALID),
            errors: AccelErrors {
                code: on(ffi::ACC_BIT_ERR_CODE),
                last: on(ffi::ACC_BIT_ERR_LAST),
                load: on(ffi::ACC_BIT_ERR_LOAD),
                cmd: on(ffi::ACC_BIT_ERR_CMD),
            },
        }
    }
}

/// The debug tags of the issue shown on `dbg_*_o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DbgTags {
    pub tile: u32,
    pub beat: u32,
    pub token: u32,
}

/// A Verilator model of `tri_accel` in one configuration, with its own
/// simulation context, owned by this handle.
///
/// Single-threaded like [`crate::ArraySim`]: neither `Send` nor `Sync`
/// (create it on the thread that uses it; separate instances are
/// independent). Inputs set with the `set_*` methods take effect at the next
/// evaluation; [`tick`](Self::tick) runs one cycle and returns the 1-bit
/// outputs its rising edge saw; the getters read the state after the last
/// evaluation.
pub struct AccelSim {
    pub(crate) raw: NonNull<ffi::TriSim>,
    pub(crate) cfg: &'static AccelSimConfig,
    w_words: Vec<u32>,
    l_words: Vec<u32>,
    r_words: Vec<u32>,
    pub(crate) cycle: u64,
    /// Driven load handshake inputs, to follow what the buffer holds.
    ld_valid: bool,
    ld_last: bool,
    ld_count: usize,
    /// Words of the last load completed through this handle (None: none
    /// since reset).
    pub(crate) loaded: Option<usize>,
    /// `r_ready_i` is high one cycle in this many during [`AccelSim::run`].
    pub(crate) result_every: u32,
    /// How [`AccelSim::run`] drives untraced jobs.
    pub(crate) driver: JobDriver,
    trace_path: Option<PathBuf>,
    _single_thread: PhantomData<*mut ()>,
}

impl AccelSim {
    /// Creates the model of `cfg` (one of [`ACCEL_CONFIGS`]) and resets it.
    pub fn new(cfg: &'static AccelSimConfig) -> Result<AccelSim, SimError> {
        let index =
            ACCEL_CONFIGS
                .iter()
                .position(|c| c == cfg)
                .ok_or_else(|| SimError::UnknownConfig {
                    name: cfg.name.to_string(),
                    built: ACCEL_CONFIGS
                        .iter()
                        .map(|c| c.name)
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
        let a = &cfg.array;
        if a.acc_width() > 32 {
            return Err(SimError::Unsupported {
                name: cfg.name.into(),
                reason: format!(
                    "AccW = {} bits does not fit the i32 results of this API",
                    a.acc_width()
                ),
            });
        }
        check_library(cfg, index)?;
        // SAFETY: no preconditions; the result is freed once, in Drop.
        let raw = NonNull::new(unsafe { ffi::tri_accel_new(index as u32) }).ok_or_else(|| {
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
        let mut sim = AccelSim {
            raw,
            cfg,
            w_words: vec![0; cfg.bus_bytes.div_ceil(4)],
            l_words: vec![0; a.lanes.div_ceil(4)],
            r_words: vec![0; a.result_bits().div_ceil(32)],
            cycle: 0,
            ld_valid: false,
            ld_last: false,
            ld_count: 0,
            loaded: None,
            result_every: 1,
            driver: JobDriver::from_env(),
            trace_path: None,
            _single_thread: PhantomData,
        };
        sim.reset()?;
        Ok(sim)
    }

    /// The configuration of this model.
    pub fn config(&self) -> &'static AccelSimConfig {
        self.cfg
    }

    /// Clock cycles run by this handle since creation (the cycle numbers of
    /// the reports).
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// Words of the last activation load completed through this handle
    /// since reset, if any.
    pub fn loaded_words(&self) -> Option<usize> {
        self.loaded
    }

    /// Result backpressure of [`run`](Self::run): `r_ready_i` is high one
    /// cycle in `every` (1, the default: always). Clamped to at least 1.
    pub fn set_result_backpressure(&mut self, every: u32) {
        self.result_every = every.max(1);
    }

    /// How [`run`](Self::run) drives jobs (default: [`JobDriver::Native`],
    /// or what `TRITIUM_SIM_JOB_DRIVER` says; see [`JobDriver::from_env`]).
    /// Both drivers give identical reports.
    pub fn set_job_driver(&mut self, driver: JobDriver) {
        self.driver = driver;
    }

    /// The driver of [`run`](Self::run).
    pub fn job_driver(&self) -> JobDriver {
        self.driver
    }

    /// Whether `ld_valid_i` is driven high through this handle.
    pub(crate) fn load_valid_driven(&self) -> bool {
        self.ld_valid
    }

    /// The load bookkeeping of [`tick`](Self::tick) for `handshakes` load
    /// handshakes run elsewhere (the native job driver), `last_done` if the
    /// last one carried `ld_last_i`.
    pub(crate) fn count_load_handshakes(&mut self, handshakes: usize, last_done: bool) {
        self.ld_count += handshakes;
        if last_done && handshakes > 0 {
            self.loaded = Some(self.ld_count);
            self.ld_count = 0;
        }
    }

    /// Resets the accelerator: forgets a recorded assertion failure, drops
    /// every input, holds `rst_ni` low for 4 cycles, releases it and runs
    /// one idle cycle. Clears the error flags, the counters, the buffers'
    /// bookkeeping (the activation buffer counts as not loaded).
    pub fn reset(&mut self) -> Result<(), SimError> {
        // SAFETY: live model.
        unsafe { ffi::tri_sim_clear_error(self.raw.as_ptr()) };
        for port in [
            ffi::ACC_IN_CNT_CLEAR,
            ffi::ACC_IN_CMD_VALID,
            ffi::ACC_IN_LD_VALID,
            ffi::ACC_IN_LD_LAST,
            ffi::ACC_IN_W_VALID,
            ffi::ACC_IN_W_LAST,
            ffi::ACC_IN_R_READY,
            ffi::ACC_IN_RST_NI,
        ] {
            self.set_bit(port, false);
        }
        self.ld_valid = false;
        self.ld_last = false;
        self.ld_count = 0;
        self.loaded = None;
        for _ in 0..4 {
            self.tick()?;
        }
        self.set_bit(ffi::ACC_IN_RST_NI, true);
        self.tick()?;
        Ok(())
    }

    /// Runs one clock cycle; returns the 1-bit outputs as its rising edge
    /// saw them (a handshake happened iff valid was driven and the ready
    /// here is set). Errors if an error is recorded.
    pub fn tick(&mut self) -> Result<AccelBits, SimError> {
        let mut bits = 0u32;
        // SAFETY: live model; `bits` is valid for one u32.
        let st = unsafe { ffi::tri_sim_tick(self.raw.as_ptr(), &mut bits) };
        self.cycle += 1;
        status_of(self.raw, st)?;
        let b = AccelBits::from_bits(bits);
        if self.ld_valid && b.ld_ready {
            self.ld_count += 1;
            if self.ld_last {
                self.loaded = Some(self.ld_count);
                self.ld_count = 0;
            }
        }
        Ok(b)
    }

    /// Evaluates the model without a clock edge.
    pub fn eval(&mut self) -> Result<(), SimError> {
        // SAFETY: live model.
        let st = unsafe { ffi::tri_sim_eval(self.raw.as_ptr()) };
        status_of(self.raw, st)
    }

    /// `Err` with the recorded error, if any (it stays recorded).
    pub fn check(&self) -> Result<(), SimError> {
        // SAFETY: live model.
        let st = unsafe { ffi::tri_sim_error_kind(self.raw.as_ptr()) };
        status_of(self.raw, st)
    }

    /// Returns and forgets the recorded error (a fatal one stays).
    pub fn take_error(&mut self) -> Option<SimError> {
        let e = self.check().err();
        // SAFETY: live model.
        unsafe { ffi::tri_sim_clear_error(self.raw.as_ptr()) };
        e
    }

    /// `true` if a fatal Verilator error made this model unusable.
    pub fn is_poisoned(&self) -> bool {
        // SAFETY: live model.
        unsafe { ffi::tri_sim_poisoned(self.raw.as_ptr()) != 0 }
    }

    pub(crate) fn set_bit(&mut self, port: u32, value: bool) {
        // SAFETY: live model; the port ids are the ACC_* ones of ffi.rs.
        let rc = unsafe { ffi::tri_sim_set_bit(self.raw.as_ptr(), port, value as u32) };
        debug_assert_eq!(rc, 0);
    }

    fn set_words(&mut self, port: u32, words: &[u32]) {
        // SAFETY: live model; `words` has the port's exact word count (the
        // callers size their buffers from the configuration).
        let rc =
            unsafe { ffi::tri_sim_set_words(self.raw.as_ptr(), port, words.as_ptr(), words.len()) };
        debug_assert_eq!(rc, 0);
    }

    /// Drives the command port: `cmd_valid_i` and the three sizes (any
    /// 32-bit values: the RTL accepts an out-of-range command, drops it and
    /// sets `err_cmd_o`; no assertion fails).
    pub fn set_cmd(&mut self, valid: bool, tiles: u32, beats: u32, tokens: u32) {
        self.set_words(ffi::ACC_IN_CMD, &[tiles, beats, tokens]);
        self.set_bit(ffi::ACC_IN_CMD_VALID, valid);
    }

    /// Drives `cmd_valid_i` only.
    pub fn set_cmd_valid(&mut self, valid: bool) {
        self.set_bit(ffi::ACC_IN_CMD_VALID, valid);
    }

    /// Drives the activation load port: `ld_valid_i`, one buffer word of
    /// `lanes` int8 values and `ld_last_i`.
    pub fn set_load(&mut self, valid: bool, word: &[i8], last: bool) -> Result<(), SimError> {
        let lanes = self.cfg.array.lanes;
        if word.len() != lanes {
            return Err(SimError::Shape {
                what: "activation buffer word (lanes values)",
                expected: lanes,
                got: word.len(),
            });
        }
        let mut w = std::mem::take(&mut self.l_words);
        w.fill(0);
        for (l, &a) in word.iter().enumerate() {
            w[l / 4] |= u32::from(a as u8) << (8 * (l % 4));
        }
        self.set_words(ffi::ACC_IN_LD_DATA, &w);
        self.l_words = w;
        self.set_load_valid(valid, last);
        Ok(())
    }

    /// Drives `ld_valid_i` and `ld_last_i` only.
    pub fn set_load_valid(&mut self, valid: bool, last: bool) {
        self.set_bit(ffi::ACC_IN_LD_VALID, valid);
        self.set_bit(ffi::ACC_IN_LD_LAST, last);
        self.ld_valid = valid;
        self.ld_last = last;
    }

    /// Drives the weight port: `w_valid_i`, one beat of `bus_bytes` bytes
    /// and `w_last_i`.
    pub fn set_weight(&mut self, valid: bool, beat: &[u8], last: bool) -> Result<(), SimError> {
        let bus = self.cfg.bus_bytes;
        if beat.len() != bus {
            return Err(SimError::Shape {
                what: "weight port beat (bus bytes)",
                expected: bus,
                got: beat.len(),
            });
        }
        let mut w = std::mem::take(&mut self.w_words);
        w.fill(0);
        for (b, &x) in beat.iter().enumerate() {
            w[b / 4] |= u32::from(x) << (8 * (b % 4));
        }
        self.set_words(ffi::ACC_IN_W_DATA, &w);
        self.w_words = w;
        self.set_weight_valid(valid, last);
        Ok(())
    }

    /// Drives `w_valid_i` and `w_last_i` only.
    pub fn set_weight_valid(&mut self, valid: bool, last: bool) {
        self.set_bit(ffi::ACC_IN_W_VALID, valid);
        self.set_bit(ffi::ACC_IN_W_LAST, last);
    }

    /// Drives `r_ready_i`.
    pub fn set_result_ready(&mut self, ready: bool) {
        self.set_bit(ffi::ACC_IN_R_READY, ready);
    }

    /// Drives `cnt_clear_i` (the counters read 0 in the next cycle).
    pub fn set_cnt_clear(&mut self, clear: bool) {
        self.set_bit(ffi::ACC_IN_CNT_CLEAR, clear);
    }

    /// Drops every valid input and `r_ready_i`.
    pub fn idle_inputs(&mut self) {
        self.set_cmd_valid(false);
        self.set_load_valid(false, false);
        self.set_weight_valid(false, false);
        self.set_result_ready(false);
    }

    /// The 1-bit outputs after the last evaluation.
    pub fn outputs(&self) -> AccelBits {
        // SAFETY: live model.
        AccelBits::from_bits(unsafe { ffi::tri_sim_get_bits(self.raw.as_ptr()) })
    }

    /// The sticky error flags after the last evaluation.
    pub fn errors(&self) -> AccelErrors {
        self.outputs().errors
    }

    /// `r_data_o` (meaningful while `r_valid_o`), one value per column.
    pub fn result(&mut self, out: &mut [i32]) -> Result<(), SimError> {
        self.read_columns(ffi::ACC_OUT_R_DATA, out)
    }

    /// `dbg_acc_o`: the updated accumulators of the issue shown by
    /// [`dbg_tags`](Self::dbg_tags) (meaningful while `dbg_valid_o`).
    pub fn dbg_acc(&mut self, out: &mut [i32]) -> Result<(), SimError> {
        self.read_columns(ffi::ACC_OUT_DBG_ACC, out)
    }

    /// `dbg_tile_o`, `dbg_beat_o`, `dbg_token_o`.
    pub fn dbg_tags(&self) -> DbgTags {
        let mut w = [0u32; 3];
        // SAFETY: live model; the tags port has exactly 3 words.
        let rc = unsafe {
            ffi::tri_sim_get_words(self.raw.as_ptr(), ffi::ACC_OUT_DBG_TAGS, w.as_mut_ptr(), 3)
        };
        debug_assert_eq!(rc, 0);
        DbgTags {
            tile: w[0],
            beat: w[1],
            token: w[2],
        }
    }

    fn read_columns(&mut self, port: u32, out: &mut [i32]) -> Result<(), SimError> {
        let a = &self.cfg.array;
        if out.len() != a.cols {
            return Err(SimError::Shape {
                what: "result buffer (one value per column)",
                expected: a.cols,
                got: out.len(),
            });
        }
        // SAFETY: live model; r_words has exactly ceil(Cols*AccW / 32) words.
        let rc = unsafe {
            ffi::tri_sim_get_words(
                self.raw.as_ptr(),
                port,
                self.r_words.as_mut_ptr(),
                self.r_words.len(),
            )
        };
        debug_assert_eq!(rc, 0);
        unpack_columns(&self.r_words, a.acc_width(), out);
        Ok(())
    }

    /// The nine counters after the last evaluation (absolute, as the RTL
    /// shows them).
    pub fn counters(&self) -> AccelCounters {
        let mut c = [0u64; ffi::ACC_COUNTERS];
        // SAFETY: live model; c holds as many u64 as an accelerator has counters.
        let rc = unsafe { ffi::tri_sim_get_counters(self.raw.as_ptr(), c.as_mut_ptr(), c.len()) };
        debug_assert_eq!(rc, 0);
        AccelCounters::from_array(c)
    }

    /// Starts writing a VCD waveform of every signal to `path` (replacing
    /// it), as [`crate::ArraySim::trace_to`].
    pub fn trace_to(&mut self, path: &Path) -> Result<(), SimError> {
        let err = |reason: String| SimError::Trace {
            path: path.to_path_buf(),
            reason,
        };
        let c_path = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| err("path contains a NUL byte".into()))?;
        // SAFETY: live model; c_path is NUL-terminated.
        let rc = unsafe { ffi::tri_sim_trace_open(self.raw.as_ptr(), c_path.as_ptr()) };
        if rc == -1 {
            self.trace_path = None;
            return Err(err("the file cannot be created".into()));
        }
        status_of(self.raw, rc)?;
        self.trace_path = Some(path.to_path_buf());
        Ok(())
    }

    /// Flushes and closes the waveform (no-op if none); reports a write
    /// that failed while tracing.
    pub fn trace_stop(&mut self) -> Result<(), SimError> {
        let Some(path) = self.trace_path.take() else {
            return Ok(());
        };
        let mut write_errno: std::ffi::c_int = 0;
        // SAFETY: live model; `write_errno` outlives the call.
        let st = unsafe { ffi::tri_sim_trace_close(self.raw.as_ptr(), &mut write_errno) };
        status_of(self.raw, st)?;
        if write_errno != 0 {
            return Err(SimError::Trace {
                path,
                reason: std::io::Error::from_raw_os_error(write_errno).to_string(),
            });
        }
        Ok(())
    }

    /// Where the waveform is being written, if it is.
    pub fn tracing(&self) -> Option<&Path> {
        self.trace_path.as_deref()
    }
}

/// Checks that the library's model `index` was built from `cfg` (a stale
/// build is an error, not wrong results).
fn check_library(cfg: &AccelSimConfig, index: usize) -> Result<(), SimError> {
    let mismatch = |detail: String| SimError::ConfigMismatch {
        name: cfg.name.to_string(),
        detail,
    };
    // SAFETY: no preconditions.
    let n = unsafe { ffi::tri_accel_num_configs() } as usize;
    if n != ACCEL_CONFIGS.len() {
        return Err(mismatch(format!(
            "library has {n} accelerator configurations, configs.rs {}",
            ACCEL_CONFIGS.len()
        )));
    }
    let mut info = [0u32; 8];
    let mut name: *const c_char = std::ptr::null();
    // SAFETY: `info` holds 8 u32 and `name` one pointer, as required.
    let rc = unsafe { ffi::tri_accel_config_info(index as u32, info.as_mut_ptr(), &mut name) };
    if rc != 0 || name.is_null() {
        return Err(mismatch("configuration index out of range".into()));
    }
    // SAFETY: on success `name` points to a static NUL-terminated string.
    let lib_name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
    let a = &cfg.array;
    let expected = [
        a.cols,
        a.lanes,
        a.k_max,
        a.acc_width(),
        cfg.tokens,
        cfg.bus_bytes,
        cfg.format.sv_value(),
        cfg.word_bytes,
    ]
    .map(|v| v as u32);
    if lib_name != cfg.name || info != expected {
        return Err(mismatch(format!(
            "library: {lib_name} {info:?}, configs.rs: {} {expected:?} (cols, lanes, k_max, acc_w, t_max, bus_bytes, format, word_bytes)",
            cfg.name
        )));
    }
    Ok(())
}

impl Drop for AccelSim {
    fn drop(&mut self) {
        // SAFETY: `raw` came from tri_accel_new and is freed exactly once here.
        unsafe { ffi::tri_sim_free(self.raw.as_ptr()) };
    }
}

impl std::fmt::Debug for AccelSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccelSim")
            .field("config", &self.cfg.name)
            .field("cycle", &self.cycle)
            .field("loaded", &self.loaded)
            .field("tracing", &self.trace_path)
            .finish()
    }
}
