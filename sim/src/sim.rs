use std::ffi::{c_char, CStr, CString};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use crate::configs::{SimConfig, CONFIGS};
use crate::error::SimError;
use crate::ffi;

/// The five performance counters of the array (`cnt_*_o`), as of the last
/// evaluation. They count from reset or the last `cnt_clear_i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Cycles since reset / `cnt_clear_i`.
    pub cycles: u64,
    /// Cycles in which a beat was accepted.
    pub busy: u64,
    /// Cycles with a valid input but no beat accepted, or a result waiting
    /// for `r_ready_i`.
    pub stalls: u64,
    /// Lanes added or subtracted (codes 0 and 2), summed over columns.
    pub adds: u64,
    /// Lanes skipped (code 1), summed over columns.
    pub skips: u64,
}

/// The 1-bit outputs as the rising edge of a [`ArraySim::tick`] saw them
/// (after the new inputs had propagated): a beat was accepted in that cycle
/// iff both valids were set and `w_ready && a_ready`; a result was taken iff
/// `r_ready` was set and `r_valid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdgeSample {
    pub w_ready: bool,
    pub a_ready: bool,
    pub r_valid: bool,
    pub err_code: bool,
}

impl EdgeSample {
    pub(crate) fn from_bits(b: u32) -> Self {
        EdgeSample {
            w_ready: b & ffi::BIT_W_READY != 0,
            a_ready: b & ffi::BIT_A_READY != 0,
            r_valid: b & ffi::BIT_R_VALID != 0,
            err_code: b & ffi::BIT_ERR_CODE != 0,
        }
    }
}

/// A Verilator model of `tri_mac_array` in one configuration, with its own
/// simulation context, owned by this handle (dropping it frees the model).
///
/// # Threads
/// A Verilator model is single-threaded, so `ArraySim` is neither `Send`
/// nor `Sync`: create it on the thread that uses it. Separate instances are
/// independent (each has its own `VerilatedContext` and error slot) and run
/// in parallel in different threads, e.g. one per rayon worker with
/// `map_init(|| ArraySim::new(cfg), ..)`.
///
/// # Timing
/// Inputs set with the `set_*` methods take effect at the next evaluation;
/// [`tick`](Self::tick) runs one clock cycle (clock low + evaluate, then
/// clock high + evaluate) and returns what the rising edge saw. Output
/// getters read the state after the last evaluation (for combinational
/// outputs after changing inputs, call [`eval`](Self::eval) first).
///
/// # Errors
/// RTL assertion failures do not abort the process: they are recorded in
/// the model and returned as [`SimError::Assertion`] by every following
/// `tick`/`eval`/[`check`](Self::check) until
/// [`take_error`](Self::take_error) or [`reset`](Self::reset).
pub struct ArraySim {
    raw: NonNull<ffi::TriSim>,
    cfg: &'static SimConfig,
    w_words: Vec<u32>,
    a_words: Vec<u32>,
    r_words: Vec<u32>,
    cycle: u64,
    trace_path: Option<PathBuf>,
    /// Not Send / Sync: see the type docs.
    _single_thread: PhantomData<*mut ()>,
}

fn words(bits: usize) -> usize {
    bits.div_ceil(32)
}

impl ArraySim {
    /// Creates the model of `cfg` (one of [`CONFIGS`]) and resets it
    /// (see [`reset`](Self::reset)).
    pub fn new(cfg: &'static SimConfig) -> Result<ArraySim, SimError> {
        let built = || {
            CONFIGS
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let index =
            CONFIGS
                .iter()
                .position(|c| c == cfg)
                .ok_or_else(|| SimError::UnknownConfig {
                    name: cfg.name.to_string(),
                    built: built(),
                })?;
        if cfg.acc_width() > 32 {
            return Err(SimError::Unsupported {
                name: cfg.name.into(),
                reason: format!(
                    "AccW = {} bits does not fit the i32 results of this API",
                    cfg.acc_width()
                ),
            });
        }
        // SAFETY: no preconditions.
        let n = unsafe { ffi::tri_sim_num_configs() } as usize;
        let mismatch = |detail: String| SimError::ConfigMismatch {
            name: cfg.name.to_string(),
            detail,
        };
        if n != CONFIGS.len() {
            return Err(mismatch(format!(
                "library has {n} configurations, configs.rs {}",
                CONFIGS.len()
            )));
        }
        let mut info = [0u32; 4];
        let mut name: *const c_char = std::ptr::null();
        // SAFETY: `info` holds 4 u32 and `name` one pointer, as required.
        let rc = unsafe { ffi::tri_sim_config_info(index as u32, info.as_mut_ptr(), &mut name) };
        if rc != 0 || name.is_null() {
            return Err(mismatch("configuration index out of range".into()));
        }
        // SAFETY: on success `name` points to a static NUL-terminated string.
        let lib_name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
        let expected = [
            cfg.cols as u32,
            cfg.lanes as u32,
            cfg.k_max as u32,
            cfg.acc_width() as u32,
        ];
        if lib_name != cfg.name || info != expected {
            return Err(mismatch(format!(
                "library: {lib_name} {info:?}, configs.rs: {} {expected:?} (cols, lanes, k_max, acc_w)",
                cfg.name
            )));
        }
        // SAFETY: no preconditions; the result is freed once, in Drop.
        let raw = NonNull::new(unsafe { ffi::tri_sim_new(index as u32) }).ok_or_else(|| {
            let mut buf = [0u8; 512];
            // SAFETY: buf is valid for 512 bytes.
            unsafe { ffi::tri_sim_new_error(buf.as_mut_ptr().cast(), buf.len()) };
            let reason = CStr::from_bytes_until_nul(&buf)
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            SimError::Create {
                name: cfg.name.into(),
                reason,
            }
        })?;
        let mut sim = ArraySim {
            raw,
            cfg,
            w_words: vec![0; words(cfg.weight_bits())],
            a_words: vec![0; words(cfg.act_bits())],
            r_words: vec![0; words(cfg.result_bits())],
            cycle: 0,
            trace_path: None,
            _single_thread: PhantomData,
        };
        sim.reset()?;
        Ok(sim)
    }

    /// The configuration of this model.
    pub fn config(&self) -> &'static SimConfig {
        self.cfg
    }

    /// Clock cycles run by this handle since creation.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// Simulation time of the model (2 units per cycle; the rising edge of
    /// cycle `n` is at time `2n + 1`), as written in waveforms.
    pub fn sim_time(&self) -> u64 {
        // SAFETY: live model, &self serializes calls.
        unsafe { ffi::tri_sim_time(self.raw.as_ptr()) }
    }

    /// Resets the array: forgets a recorded assertion failure, drops every
    /// valid/ready/clear input, holds `rst_ni` low for 4 cycles, releases it
    /// and runs one idle cycle (so the counters read 1 cycle). Errors if
    /// the model is unusable (fatal error) or an assertion fails meanwhile.
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
        // One idle cycle after the release: the registers leave reset.
        self.tick()?;
        Ok(())
    }

    /// Runs one clock cycle and returns the 1-bit outputs as its rising edge
    /// saw them. Errors if an error is recorded (see the type docs).
    pub fn tick(&mut self) -> Result<EdgeSample, SimError> {
        let mut bits = 0u32;
        // SAFETY: live model; `bits` is valid for one u32.
        let st = unsafe { ffi::tri_sim_tick(self.raw.as_ptr(), &mut bits) };
        self.cycle += 1;
        self.status(st)?;
        Ok(EdgeSample::from_bits(bits))
    }

    /// Evaluates the model without a clock edge (to see combinational
    /// outputs of new inputs).
    pub fn eval(&mut self) -> Result<(), SimError> {
        // SAFETY: live model.
        let st = unsafe { ffi::tri_sim_eval(self.raw.as_ptr()) };
        self.status(st)
    }

    /// `Err` with the recorded error, if any (the error stays recorded).
    pub fn check(&self) -> Result<(), SimError> {
        // SAFETY: live model.
        let st = unsafe { ffi::tri_sim_error_kind(self.raw.as_ptr()) };
        self.status(st)
    }

    /// Returns and forgets the recorded error. A fatal error is returned but
    /// stays (the model remains unusable).
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

    fn status(&self, st: i32) -> Result<(), SimError> {
        status_of(self.raw, st)
    }

    fn set_bit(&mut self, port: u32, value: bool) {
        // SAFETY: live model; the port ids are those of ffi.rs.
        let rc = unsafe { ffi::tri_sim_set_bit(self.raw.as_ptr(), port, value as u32) };
        debug_assert_eq!(rc, 0);
    }

    /// Drives `w_valid_i` and `w_data_i`: `codes[c * lanes + l]` is the
    /// 2-bit code of column `c`, lane `l` (0 = -1, 1 = 0, 2 = +1, 3 =
    /// invalid), `cols * lanes` of them.
    pub fn set_weights(&mut self, valid: bool, codes: &[u8]) -> Result<(), SimError> {
        self.load_weights(codes)?;
        self.set_bit(ffi::IN_W_VALID, valid);
        Ok(())
    }

    /// Drives `a_valid_i`, `a_data_i` (`lanes` int8 activations) and
    /// `a_last_i`.
    pub fn set_acts(&mut self, valid: bool, acts: &[i8], last: bool) -> Result<(), SimError> {
        self.load_acts(acts)?;
        self.set_bit(ffi::IN_A_VALID, valid);
        self.set_bit(ffi::IN_A_LAST, last);
        Ok(())
    }

    /// Drives `w_valid_i`, `a_valid_i` and `a_last_i` without changing data.
    pub fn set_valids(&mut self, w_valid: bool, a_valid: bool, last: bool) {
        self.set_bit(ffi::IN_W_VALID, w_valid);
        self.set_bit(ffi::IN_A_VALID, a_valid);
        self.set_bit(ffi::IN_A_LAST, last);
    }

    pub(crate) fn load_weights(&mut self, codes: &[u8]) -> Result<(), SimError> {
        let n = self.cfg.cols * self.cfg.lanes;
        if codes.len() != n {
            return Err(SimError::Shape {
                what: "weight beat (cols * lanes codes)",
                expected: n,
                got: codes.len(),
            });
        }
        self.w_words.fill(0);
        for (i, &code) in codes.iter().enumerate() {
            if code > 3 {
                return Err(SimError::InvalidCode { index: i, code });
            }
            self.w_words[i / 16] |= u32::from(code) << (2 * (i % 16));
        }
        // SAFETY: live model; w_words has exactly ceil(width / 32) words.
        let rc = unsafe {
            ffi::tri_sim_set_words(
                self.raw.as_ptr(),
                ffi::IN_W_DATA,
                self.w_words.as_ptr(),
                self.w_words.len(),
            )
        };
        debug_assert_eq!(rc, 0);
        Ok(())
    }

    pub(crate) fn load_acts(&mut self, acts: &[i8]) -> Result<(), SimError> {
        if acts.len() != self.cfg.lanes {
            return Err(SimError::Shape {
                what: "activation beat (lanes values)",
                expected: self.cfg.lanes,
                got: acts.len(),
            });
        }
        self.a_words.fill(0);
        for (l, &a) in acts.iter().enumerate() {
            self.a_words[l / 4] |= u32::from(a as u8) << (8 * (l % 4));
        }
        // SAFETY: live model; a_words has exactly ceil(width / 32) words.
        let rc = unsafe {
            ffi::tri_sim_set_words(
                self.raw.as_ptr(),
                ffi::IN_A_DATA,
                self.a_words.as_ptr(),
                self.a_words.len(),
            )
        };
        debug_assert_eq!(rc, 0);
        Ok(())
    }

    /// Drives `r_ready_i`.
    pub fn set_result_ready(&mut self, ready: bool) {
        self.set_bit(ffi::IN_R_READY, ready);
    }

    /// Drives `clear_i` (synchronous: zero the accumulators, drop a pending
    /// result).
    pub fn set_clear(&mut self, clear: bool) {
        self.set_bit(ffi::IN_CLEAR, clear);
    }

    /// Drives `cnt_clear_i` (synchronous: zero the counters).
    pub fn set_cnt_clear(&mut self, clear: bool) {
        self.set_bit(ffi::IN_CNT_CLEAR, clear);
    }

    /// The 1-bit outputs after the last evaluation.
    pub fn outputs(&self) -> EdgeSample {
        // SAFETY: live model.
        EdgeSample::from_bits(unsafe { ffi::tri_sim_get_bits(self.raw.as_ptr()) })
    }

    /// `w_ready_o` after the last evaluation.
    pub fn w_ready(&self) -> bool {
        self.outputs().w_ready
    }

    /// `a_ready_o` after the last evaluation.
    pub fn a_ready(&self) -> bool {
        self.outputs().a_ready
    }

    /// `r_valid_o` after the last evaluation.
    pub fn r_valid(&self) -> bool {
        self.outputs().r_valid
    }

    /// `err_code_o`: an accepted weight beat held the invalid code 3
    /// (sticky until reset).
    pub fn err_code(&self) -> bool {
        self.outputs().err_code
    }

    /// `r_data_o`, one sign-extended value per column (`out.len() == cols`).
    pub fn result(&mut self, out: &mut [i32]) -> Result<(), SimError> {
        self.read_columns(ffi::OUT_R_DATA, out)
    }

    /// `acc_o`, the running accumulators (`out.len() == cols`).
    pub fn acc(&mut self, out: &mut [i32]) -> Result<(), SimError> {
        self.read_columns(ffi::OUT_ACC, out)
    }

    fn read_columns(&mut self, port: u32, out: &mut [i32]) -> Result<(), SimError> {
        if out.len() != self.cfg.cols {
            return Err(SimError::Shape {
                what: "result buffer (one value per column)",
                expected: self.cfg.cols,
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
        unpack_columns(&self.r_words, self.cfg.acc_width(), out);
        Ok(())
    }

    /// The five counters after the last evaluation.
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

    /// Starts writing a VCD waveform of every signal to `path` (replacing
    /// it), one sample per half cycle from the next tick on. Replaces a
    /// waveform already being written. Tracing slows the simulation down.
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
        self.status(rc)?;
        self.trace_path = Some(path.to_path_buf());
        Ok(())
    }

    /// Flushes and closes the waveform started by [`trace_to`](Self::trace_to)
    /// (no-op if none). Also done on drop. A write that failed while tracing
    /// (a full disk) is reported here: the simulation itself went on, the
    /// rest of the waveform was dropped.
    pub fn trace_stop(&mut self) -> Result<(), SimError> {
        let Some(path) = self.trace_path.take() else {
            return Ok(());
        };
        let mut write_errno: std::ffi::c_int = 0;
        // SAFETY: live model; `write_errno` outlives the call.
        let st = unsafe { ffi::tri_sim_trace_close(self.raw.as_ptr(), &mut write_errno) };
        self.status(st)?;
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

impl Drop for ArraySim {
    fn drop(&mut self) {
        // SAFETY: `raw` came from tri_sim_new and is freed exactly once here.
        unsafe { ffi::tri_sim_free(self.raw.as_ptr()) };
    }
}

impl std::fmt::Debug for ArraySim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArraySim")
            .field("config", &self.cfg.name)
            .field("cycle", &self.cycle)
            .field("tracing", &self.trace_path)
            .finish()
    }
}

/// Splits `words` (a port of `out.len()` signed `w`-bit fields, field `c`
/// at bits `[w * c +: w]`, 32-bit words least significant first) into
/// sign-extended values. `w <= 32`.
pub(crate) fn unpack_columns(words: &[u32], w: usize, out: &mut [i32]) {
    debug_assert!((1..=32).contains(&w));
    for (c, o) in out.iter_mut().enumerate() {
        let bit = c * w;
        let (i, sh) = (bit / 32, bit % 32);
        let mut v = u64::from(words[i]);
        if let Some(&hi) = words.get(i + 1) {
            v |= u64::from(hi) << 32;
        }
        // w <= 32, so shift + width <= 63.
        let field = (v >> sh) << (64 - w);
        *o = ((field as i64) >> (64 - w)) as i32;
    }
}

/// Converts a shim status code of the live model `raw` into a result (the
/// recorded message for an error). Shared by every model handle.
pub(crate) fn status_of(raw: NonNull<ffi::TriSim>, st: i32) -> Result<(), SimError> {
    if st == 0 {
        return Ok(());
    }
    let mut buf = vec![0u8; 1024];
    // SAFETY: live model (caller's contract); buf valid for its length.
    let len =
        unsafe { ffi::tri_sim_error_message(raw.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if len >= buf.len() {
        buf = vec![0u8; len + 1];
        // SAFETY: as above.
        unsafe { ffi::tri_sim_error_message(raw.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    }
    let message = CStr::from_bytes_until_nul(&buf)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Err(match st {
        ffi::ERR_STOP => SimError::Assertion { message },
        ffi::ERR_FINISH => SimError::Finished { message },
        ffi::ERR_FATAL => SimError::Fatal { message },
        other => SimError::Fatal {
            message: format!("unexpected status {other} from the shim: {message}"),
        },
    })
}
