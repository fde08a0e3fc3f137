//! Raw bindings to `csrc/shim.cpp`. Only the model handles call these:
//! `sim.rs` (arrays), `int8.rs` (the INT8 array), `fp16.rs` (the FP16 PE)
//! and `accel.rs` (accelerators).
//!
//! General contract of every function taking `s: *mut TriSim` /
//! `*const TriSim`: `s` must be a non-null pointer returned by
//! [`tri_sim_new`] and not yet passed to [`tri_sim_free`], and no other call
//! on the same `s` may run at the same time (a model is single-threaded:
//! calls on one model must be serialized; different models may be used from
//! different threads concurrently). Pointer arguments other than `s` must be
//! valid for the access described. None of these functions unwinds: C++
//! exceptions are caught inside the shim (`noexcept`).
//!
//! Status codes (`c_int`): `0` = no error recorded; otherwise the kind of
//! the recorded error ([`ERR_STOP`], [`ERR_FATAL`], [`ERR_FINISH`]); `-1` =
//! bad argument (wrong port id or word count).

use std::ffi::{c_char, c_int};
use std::marker::{PhantomData, PhantomPinned};

/// Opaque model handle (a C++ `TriSim`).
#[repr(C)]
pub(crate) struct TriSim {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

// 1-bit input ports for `tri_sim_set_bit`.
pub(crate) const IN_RST_NI: u32 = 0;
pub(crate) const IN_CLEAR: u32 = 1;
pub(crate) const IN_CNT_CLEAR: u32 = 2;
pub(crate) const IN_W_VALID: u32 = 3;
pub(crate) const IN_A_VALID: u32 = 4;
pub(crate) const IN_A_LAST: u32 = 5;
pub(crate) const IN_R_READY: u32 = 6;

// Wide input ports for `tri_sim_set_words`.
pub(crate) const IN_W_DATA: u32 = 0;
pub(crate) const IN_A_DATA: u32 = 1;

// Wide output ports for `tri_sim_get_words`.
pub(crate) const OUT_R_DATA: u32 = 0;
pub(crate) const OUT_ACC: u32 = 1;

// Bits of `tri_sim_get_bits` and of the pre-edge sample of `tri_sim_tick`.
pub(crate) const BIT_W_READY: u32 = 1 << 0;
pub(crate) const BIT_A_READY: u32 = 1 << 1;
pub(crate) const BIT_R_VALID: u32 = 1 << 2;
pub(crate) const BIT_ERR_CODE: u32 = 1 << 3;

// Ports of the FP16 PE model (`tri_fp16_new`): 1-bit inputs for
// `tri_sim_set_bit`, 16-bit ports as one word for `tri_sim_set_words` /
// `tri_sim_get_words`.
pub(crate) const FP16_IN_RST_NI: u32 = 0;
pub(crate) const FP16_IN_CLEAR: u32 = 1;
pub(crate) const FP16_IN_VALID: u32 = 2;
pub(crate) const FP16_IN_A: u32 = 0;
pub(crate) const FP16_IN_B: u32 = 1;
pub(crate) const FP16_OUT_ACC: u32 = 0;

// Ports of the accelerator models (`tri_accel_new`): 1-bit inputs for
// `tri_sim_set_bit`.
pub(crate) const ACC_IN_RST_NI: u32 = 0;
pub(crate) const ACC_IN_CNT_CLEAR: u32 = 1;
pub(crate) const ACC_IN_CMD_VALID: u32 = 2;
pub(crate) const ACC_IN_LD_VALID: u32 = 3;
pub(crate) const ACC_IN_LD_LAST: u32 = 4;
pub(crate) const ACC_IN_W_VALID: u32 = 5;
pub(crate) const ACC_IN_W_LAST: u32 = 6;
pub(crate) const ACC_IN_R_READY: u32 = 7;
// Wide inputs for `tri_sim_set_words`: `w_data_i` (ceil(BusBytes / 4)
// words), `ld_data_i` (ceil(Lanes / 4) words), the command {tiles, beats,
// tokens} (3 words).
pub(crate) const ACC_IN_W_DATA: u32 = 0;
pub(crate) const ACC_IN_LD_DATA: u32 = 1;
pub(crate) const ACC_IN_CMD: u32 = 2;
// Wide outputs for `tri_sim_get_words`: `r_data_o` and `dbg_acc_o`
// (ceil(Cols * AccW / 32) words each), the debug tags {tile, beat, token}
// (3 words).
pub(crate) const ACC_OUT_R_DATA: u32 = 0;
pub(crate) const ACC_OUT_DBG_ACC: u32 = 1;
pub(crate) const ACC_OUT_DBG_TAGS: u32 = 2;
// Bits of `tri_sim_get_bits` (and of the pre-edge sample of `tri_sim_tick`).
pub(crate) const ACC_BIT_CMD_READY: u32 = 1 << 0;
pub(crate) const ACC_BIT_LD_READY: u32 = 1 << 1;
pub(crate) const ACC_BIT_W_READY: u32 = 1 << 2;
pub(crate) const ACC_BIT_R_VALID: u32 = 1 << 3;
pub(crate) const ACC_BIT_R_LAST: u32 = 1 << 4;
pub(crate) const ACC_BIT_BUSY: u32 = 1 << 5;
pub(crate) const ACC_BIT_ERR_CODE: u32 = 1 << 6;
pub(crate) const ACC_BIT_ERR_LAST: u32 = 1 << 7;
pub(crate) const ACC_BIT_ERR_LOAD: u32 = 1 << 8;
pub(crate) const ACC_BIT_ERR_CMD: u32 = 1 << 9;
pub(crate) const ACC_BIT_DBG_VALID: u32 = 1 << 10;
/// Counters of an accelerator model: {cycles, busy, mem_stall, res_stall,
/// dram_bytes, act_reads, act_writes, adds, skips}.
pub(crate) const ACC_COUNTERS: usize = 9;
/// Counters of an array model: {cycles, busy, stall, adds, skips}.
pub(crate) const ARRAY_COUNTERS: usize = 5;

/// One run of [`tri_accel_run_job`] (`TriJobRun` of csrc/accel_job.h).
#[repr(C)]
pub(crate) struct TriJobRun {
    pub image: *const u8,
    pub image_len: usize,
    pub tiles: u32,
    pub _pad: u32,
    pub results: u64,
}

/// A job for [`tri_accel_run_job`] (`TriJobDesc` of csrc/accel_job.h).
#[repr(C)]
pub(crate) struct TriJobDesc {
    pub tokens: u32,
    pub beats: u32,
    pub lanes: u32,
    pub bus: u32,
    pub acts: *const i8,
    pub load_words: u64,
    pub runs: *const TriJobRun,
    pub n_runs: u64,
    pub max_cycles: u64,
    pub result_every: u64,
    pub mem_rate: u64,
    pub mem_latency: u64,
    pub mem_max_outstanding: u64,
}

/// What [`tri_accel_run_job`] did (`TriJobOut` of csrc/accel_job.h).
#[repr(C)]
pub(crate) struct TriJobOut {
    pub starts: *mut u64,
    pub start_counters: *mut u64,
    pub ends: *mut u64,
    pub result_words: *mut u32,
    pub result_words_len: u64,
    pub rwords: u64,
    pub cycles: u64,
    pub ld_next: u64,
    pub ld_end: u64,
    pub cmd_next: u64,
    pub res_run: u64,
    pub res_in_run: u64,
    pub delivered_beats: u64,
    pub mem_idle: u32,
    pub last_flag: u32,
    pub end: u32,
    pub _pad: u32,
}

// `TriJobOut::end` (`TriJobEnd` of csrc/accel_job.h).
pub(crate) const JOB_DONE: u32 = 0;
pub(crate) const JOB_MODEL_ERROR: u32 = 1;
pub(crate) const JOB_TIMEOUT: u32 = 2;
pub(crate) const JOB_NEVER_VALID: u32 = 3;
pub(crate) const JOB_EXTRA_RESULT: u32 = 4;
pub(crate) const JOB_WRONG_LAST: u32 = 5;

// Error kinds.
pub(crate) const ERR_STOP: c_int = 1;
pub(crate) const ERR_FATAL: c_int = 2;
pub(crate) const ERR_FINISH: c_int = 3;

extern "C" {
    /// Number of configurations compiled into the library (one per entry
    /// of `CONFIGS` at build time). Safe to call anytime.
    pub(crate) fn tri_sim_num_configs() -> u32;

    /// Writes `{cols, lanes, k_max, acc_w}` of configuration `index` to
    /// `out[0..4]` and its static NUL-terminated name to `*name`.
    /// Returns 0, or -1 if `index` is out of range.
    /// Safety: `out` valid for writing 4 `u32`, `name` valid for writing one
    /// pointer. The name pointer is valid for the whole program.
    pub(crate) fn tri_sim_config_info(index: u32, out: *mut u32, name: *mut *const c_char)
        -> c_int;

    /// Creates a model of configuration `index` with its own
    /// `VerilatedContext`, all inputs low except `rst_ni` (high), evaluated
    /// once. Returns null on failure; then [`tri_sim_new_error`] says why.
    /// Safety: none beyond freeing the result exactly once with
    /// [`tri_sim_free`]. The model may be used from any thread, one call at
    /// a time.
    pub(crate) fn tri_sim_new(index: u32) -> *mut TriSim;

    /// Creates a model of the FP16 comparison PE `fp16_mac_pe` behind the
    /// same handle type (ports: `FP16_*` ids below), all inputs low except
    /// `rst_ni`, evaluated once. Null on failure (then
    /// [`tri_sim_new_error`] says why). Safety: as [`tri_sim_new`]; only
    /// the `FP16_*` port ids apply to it.
    pub(crate) fn tri_fp16_new() -> *mut TriSim;

    /// Writes `{cols, lanes, k_max, acc_w}` of the built INT8 comparison
    /// array to `out` and its static NUL-terminated name to `*name`; 0, or
    /// -1 for a null pointer. Safety: `out` valid for writing 4 u32, `name`
    /// for one pointer.
    pub(crate) fn tri_int8_config_info(out: *mut u32, name: *mut *const c_char) -> c_int;

    /// Creates a model of the INT8 comparison array `int8_mac_array`: the
    /// array ports of [`tri_sim_new`] (the `IN_*`, `OUT_*` and `BIT_*` ids;
    /// `w_data_i` carries one int8 weight per lane, 8 bits each; there is no
    /// `err_code_o`, its bit reads 0), all inputs low except `rst_ni`,
    /// evaluated once. Null on failure (then [`tri_sim_new_error`] says
    /// why). Safety: as [`tri_sim_new`].
    pub(crate) fn tri_int8_new() -> *mut TriSim;

    /// Copies the reason of the last failed [`tri_sim_new`] on this thread
    /// into `buf` (truncated, NUL-terminated); returns its full length.
    /// Safety: `buf` valid for writing `cap` bytes (or null with `cap` 0).
    pub(crate) fn tri_sim_new_error(buf: *mut c_char, cap: usize) -> usize;

    /// Runs the model's final blocks, closes any open waveform, writes the
    /// model's coverage counts (coverage build only, `TRITIUM_SIM_COVERAGE=1`:
    /// into `$TRITIUM_COV_DIR`, see `write_coverage` in shim.cpp) and frees
    /// the model. Safety: general contract; `s` is dangling afterwards.
    pub(crate) fn tri_sim_free(s: *mut TriSim);

    /// Sets a 1-bit input port (`IN_*` ids) to `value != 0`. Takes effect at
    /// the next evaluation. Returns 0, or -1 for an unknown port.
    /// Safety: general contract.
    pub(crate) fn tri_sim_set_bit(s: *mut TriSim, port: u32, value: u32) -> c_int;

    /// Sets a wide input port ([`IN_W_DATA`], [`IN_A_DATA`]) from `n`
    /// little-endian 32-bit words (bit `i` of the port = bit `i % 32` of
    /// `words[i / 32]`); bits above the port width are ignored. `n` must be
    /// exactly `ceil(width / 32)`, else -1 and nothing is written.
    /// Safety: general contract; `words` valid for reading `n` words.
    pub(crate) fn tri_sim_set_words(
        s: *mut TriSim,
        port: u32,
        words: *const u32,
        n: usize,
    ) -> c_int;

    /// Reads a wide output port ([`OUT_R_DATA`], [`OUT_ACC`]) as of the last
    /// evaluation into `n` words (layout as in [`tri_sim_set_words`]; bits
    /// above the width are zero). `n` must be `ceil(Cols*AccW / 32)`, else -1.
    /// Safety: general contract; `words` valid for writing `n` words.
    pub(crate) fn tri_sim_get_words(s: *mut TriSim, port: u32, words: *mut u32, n: usize) -> c_int;

    /// The 1-bit outputs as of the last evaluation (`BIT_*` mask).
    /// Safety: general contract.
    pub(crate) fn tri_sim_get_bits(s: *mut TriSim) -> u32;

    /// Writes the model's counters as of the last evaluation to `out[0..n]`
    /// and returns 0, or returns -1 (nothing written) unless `n` is the
    /// model's counter count ([`ARRAY_COUNTERS`] for an array,
    /// [`ACC_COUNTERS`] for an accelerator, 0 for the FP16 PE).
    /// Safety: general contract; `out` valid for writing `n` `u64`.
    pub(crate) fn tri_sim_get_counters(s: *mut TriSim, out: *mut u64, n: usize) -> c_int;

    /// Number of accelerator configurations compiled into the library (one
    /// per entry of `ACCEL_CONFIGS` at build time). Safe to call anytime.
    pub(crate) fn tri_accel_num_configs() -> u32;

    /// Writes `{cols, lanes, k_max, acc_w, t_max, bus_bytes, format,
    /// word_bytes}` of accelerator configuration `index` to `out[0..8]` and
    /// its static NUL-terminated name to `*name`. Returns 0, or -1 if
    /// `index` is out of range.
    /// Safety: `out` valid for writing 8 `u32`, `name` valid for writing one
    /// pointer. The name pointer is valid for the whole program.
    pub(crate) fn tri_accel_config_info(
        index: u32,
        out: *mut u32,
        name: *mut *const c_char,
    ) -> c_int;

    /// Creates a model of accelerator configuration `index` behind the same
    /// handle type (ports: the `ACC_*` ids), all inputs low except `rst_ni`,
    /// evaluated once. Null on failure (then [`tri_sim_new_error`] says
    /// why). Safety: as [`tri_sim_new`]; only the `ACC_*` port ids apply.
    pub(crate) fn tri_accel_new(index: u32) -> *mut TriSim;

    /// Runs one untraced job of an accelerator model in C++
    /// (csrc/accel_job.h): drives the ports cycle by cycle exactly as
    /// `AccelSim`'s per-cycle loop does, with the weight memory of
    /// `memory.rs`, and fills `*o` (also after an error: cycles run and the
    /// loop's state). Returns the status (0 or the kind of the recorded
    /// error), or -1 for a bad argument (not an accelerator, `o.rwords` not
    /// the width of `r_data_o`, zero `result_every`, `lanes` or `bus`).
    /// Safety: general contract; `d.acts` valid for `load_words * lanes`
    /// bytes (or null), `d.runs` for `n_runs` runs whose images are valid for
    /// `image_len` bytes (a positive multiple of `bus`); `o.starts` and
    /// `o.ends` valid for writing `n_runs` u64, `o.start_counters` for
    /// `9 * n_runs`, `o.result_words` for `result_words_len` u32; `lanes`
    /// and `bus` are the model's Lanes and BusBytes.
    pub(crate) fn tri_accel_run_job(
        s: *mut TriSim,
        d: *const TriJobDesc,
        o: *mut TriJobOut,
    ) -> c_int;

    /// Evaluates the model at the current time (no clock change, no
    /// waveform sample). Returns the status (0 or the kind of the recorded
    /// error). A poisoned model (fatal error) is not evaluated.
    /// Safety: general contract.
    pub(crate) fn tri_sim_eval(s: *mut TriSim) -> c_int;

    /// One clock cycle: `clk_i` low, evaluate, write the 1-bit outputs to
    /// `*pre_edge_bits` (the values the rising edge samples), waveform
    /// sample, time + 1; `clk_i` high, evaluate, waveform sample, time + 1.
    /// Returns the status. Safety: general contract; `pre_edge_bits` null or
    /// valid for writing one `u32`.
    pub(crate) fn tri_sim_tick(s: *mut TriSim, pre_edge_bits: *mut u32) -> c_int;

    /// Starts writing a VCD waveform of all signals to `path` (replacing the
    /// file; closes a waveform already open). Samples are taken in every
    /// half cycle of [`tri_sim_tick`]. Returns 0, -1 if the file cannot be
    /// opened, or an error kind.
    /// Safety: general contract; `path` a valid NUL-terminated string.
    pub(crate) fn tri_sim_trace_open(s: *mut TriSim, path: *const c_char) -> c_int;

    /// Flushes and closes the waveform, if any. Returns the status.
    /// Safety: general contract.
    pub(crate) fn tri_sim_trace_close(s: *mut TriSim, write_errno: *mut c_int) -> c_int;

    /// Simulation time (two units per clock cycle). Safety: general contract.
    pub(crate) fn tri_sim_time(s: *mut TriSim) -> u64;

    /// Kind of the recorded error (0 = none). Safety: general contract.
    pub(crate) fn tri_sim_error_kind(s: *const TriSim) -> c_int;

    /// 1 if a fatal error made the model unusable. Safety: general contract.
    pub(crate) fn tri_sim_poisoned(s: *const TriSim) -> c_int;

    /// Copies the recorded error's message into `buf` (truncated,
    /// NUL-terminated); returns its full length in bytes.
    /// Safety: general contract; `buf` valid for writing `cap` bytes (or
    /// null with `cap` 0).
    pub(crate) fn tri_sim_error_message(s: *const TriSim, buf: *mut c_char, cap: usize) -> usize;

    /// Forgets a recorded stop/finish error (a fatal one stays).
    /// Safety: general contract.
    pub(crate) fn tri_sim_clear_error(s: *mut TriSim);
}
