//! Verilator model of the FP16 comparison PE `rtl/fp16_mac_pe.sv`: one IEEE
//! binary16 multiply-accumulate unit, `acc <- round(acc + round(a * b))`
//! with round to nearest even and the canonical NaN 0x7E00. It is not part
//! of the ternary accelerator: the FPGA flow (fpga/) synthesizes it next to
//! the ternary and INT8 arrays, and this handle lets tests check it bit for
//! bit against a Rust reference (`tests/fp16.rs`).

use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::error::SimError;
use crate::ffi;
use crate::sim::status_of;

/// The canonical quiet NaN every NaN result of the PE is.
pub const FP16_CANONICAL_NAN: u16 = 0x7E00;

/// A Verilator model of `fp16_mac_pe`, owned by this handle. Single-threaded
/// like [`crate::ArraySim`] (neither `Send` nor `Sync`); RTL assertion
/// failures come back as [`SimError::Assertion`].
pub struct Fp16Sim {
    raw: NonNull<ffi::TriSim>,
    _single_thread: PhantomData<*mut ()>,
}

impl Fp16Sim {
    /// Creates the model and resets it (accumulator -0).
    pub fn new() -> Result<Fp16Sim, SimError> {
        // SAFETY: no preconditions; the result is freed once, in Drop.
        let raw = NonNull::new(unsafe { ffi::tri_fp16_new() }).ok_or_else(|| {
            let mut buf = [0u8; 512];
            // SAFETY: buf is valid for 512 bytes.
            unsafe { ffi::tri_sim_new_error(buf.as_mut_ptr().cast(), buf.len()) };
            SimError::Create {
                name: "fp16_mac_pe".into(),
                reason: CStr::from_bytes_until_nul(&buf)
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            }
        })?;
        let mut sim = Fp16Sim {
            raw,
            _single_thread: PhantomData,
        };
        sim.reset()?;
        Ok(sim)
    }

    /// Holds `rst_ni` low for 2 cycles and releases it: the accumulator is -0.
    pub fn reset(&mut self) -> Result<(), SimError> {
        // SAFETY: live model.
        unsafe { ffi::tri_sim_clear_error(self.raw.as_ptr()) };
        self.set_bit(ffi::FP16_IN_CLEAR, false);
        self.set_bit(ffi::FP16_IN_VALID, false);
        self.set_bit(ffi::FP16_IN_RST_NI, false);
        self.tick()?;
        self.tick()?;
        self.set_bit(ffi::FP16_IN_RST_NI, true);
        self.tick()
    }

    /// One cycle with `valid_i`: accumulates `a * b` and returns the new
    /// accumulator. With `clear`, the accumulator is set to -0 first (so it
    /// becomes exactly `round(a * b)`).
    pub fn mac(&mut self, clear: bool, a: u16, b: u16) -> Result<u16, SimError> {
        self.set_operand(ffi::FP16_IN_A, a)?;
        self.set_operand(ffi::FP16_IN_B, b)?;
        self.set_bit(ffi::FP16_IN_CLEAR, clear);
        self.set_bit(ffi::FP16_IN_VALID, true);
        let r = self.tick();
        self.set_bit(ffi::FP16_IN_CLEAR, false);
        self.set_bit(ffi::FP16_IN_VALID, false);
        r?;
        Ok(self.acc())
    }

    /// One cycle with `clear_i` only: the accumulator becomes -0.
    pub fn clear(&mut self) -> Result<(), SimError> {
        self.set_bit(ffi::FP16_IN_CLEAR, true);
        let r = self.tick();
        self.set_bit(ffi::FP16_IN_CLEAR, false);
        r
    }

    /// The accumulator (binary16 bits) after the last cycle.
    pub fn acc(&self) -> u16 {
        let mut w = [0u32; 1];
        // SAFETY: live model; one word as the port needs.
        let rc = unsafe {
            ffi::tri_sim_get_words(self.raw.as_ptr(), ffi::FP16_OUT_ACC, w.as_mut_ptr(), 1)
        };
        debug_assert_eq!(rc, 0);
        w[0] as u16
    }

    fn set_bit(&mut self, port: u32, value: bool) {
        // SAFETY: live model; port ids are the FP16 ones.
        let rc = unsafe { ffi::tri_sim_set_bit(self.raw.as_ptr(), port, value as u32) };
        debug_assert_eq!(rc, 0);
    }

    fn set_operand(&mut self, port: u32, value: u16) -> Result<(), SimError> {
        let w = [u32::from(value)];
        // SAFETY: live model; one word as the port needs.
        let rc = unsafe { ffi::tri_sim_set_words(self.raw.as_ptr(), port, w.as_ptr(), 1) };
        if rc != 0 {
            return Err(SimError::Protocol(format!(
                "fp16 model rejected operand port {port}"
            )));
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), SimError> {
        // SAFETY: live model; a null pre-edge pointer is allowed.
        let st = unsafe { ffi::tri_sim_tick(self.raw.as_ptr(), std::ptr::null_mut()) };
        status_of(self.raw, st)
    }
}

impl Drop for Fp16Sim {
    fn drop(&mut self) {
        // SAFETY: live model, freed exactly once.
        unsafe { ffi::tri_sim_free(self.raw.as_ptr()) };
    }
}

impl std::fmt::Debug for Fp16Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fp16Sim")
            .field("acc", &format_args!("{:#06x}", self.acc()))
            .finish()
    }
}
