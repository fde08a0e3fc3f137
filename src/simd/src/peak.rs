//! Compute peaks of the multiply-accumulate instructions the prompt
//! kernels are built on, measured on this machine: register-only loops of
//! independent `vpdpbusd` (AVX-512 VNNI, 64 byte products per instruction),
//! `tdpbssd` (AMX-INT8, 16 x 16 x 64 = 16,384 per instruction) and, on
//! AVX2, `vpmaddubsw` (32 byte products summed in pairs) with nothing else
//! in them. The AVX2 prompt kernel also needs one `vpaddw` per
//! `vpmaddubsw` to accumulate (a 4-way dot product has the add built in),
//! so its peak is an upper bound it cannot quite reach. `tritium bench`
//! reports each prompt kernel's GMAC/s as a fraction of the peak of the
//! instruction it uses, measured in the same run with as many threads.

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::select::pool;
use crate::{Isa, Result};

/// A multiply-accumulate instruction with a measurable peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MacOp {
    /// `vpdpbusd zmm`: 16 lanes x 4 byte products.
    Vpdpbusd,
    /// `tdpbssd`: 16 x 16 tiles, 64 byte products each.
    Tdpbssd,
    /// `vpmaddubsw ymm`: 32 byte products, summed in pairs (AVX2).
    Vpmaddubsw,
}

impl MacOp {
    pub fn name(self) -> &'static str {
        match self {
            MacOp::Vpdpbusd => "vpdpbusd (zmm)",
            MacOp::Tdpbssd => "tdpbssd",
            MacOp::Vpmaddubsw => "vpmaddubsw (ymm)",
        }
    }

    /// The instruction the prompt kernel (several token rows) of `isa`
    /// is built on, if it has a measured peak.
    pub fn of_prompt_kernel(isa: Isa) -> Option<MacOp> {
        match isa {
            Isa::Amx => Some(MacOp::Tdpbssd),
            Isa::Avx512 => Some(MacOp::Vpdpbusd),
            // Both AVX2 paths run prompts on the multiply-add tiles.
            Isa::Avx2 | Isa::Avx2Lut => Some(MacOp::Vpmaddubsw),
            _ => None,
        }
    }

    fn available(self) -> bool {
        match self {
            MacOp::Vpdpbusd => Isa::Avx512.available(),
            MacOp::Tdpbssd => Isa::Amx.available(),
            MacOp::Vpmaddubsw => Isa::Avx2.available(),
        }
    }

    /// Products per loop iteration of [`Self::run`].
    fn macs_per_iter(self) -> u64 {
        match self {
            MacOp::Vpdpbusd => 12 * 64,
            MacOp::Tdpbssd => 4 * 16 * 16 * 64,
            MacOp::Vpmaddubsw => 12 * 32,
        }
    }

    /// Iterations per timed call: a few milliseconds.
    fn iters(self) -> u64 {
        match self {
            MacOp::Vpdpbusd => 1 << 20,
            MacOp::Tdpbssd => 1 << 17,
            MacOp::Vpmaddubsw => 1 << 20,
        }
    }

    fn run(self, iters: u64) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: callers check `available` first.
        unsafe {
            match self {
                MacOp::Vpdpbusd => x86::vpdpbusd_loop(iters),
                MacOp::Tdpbssd => x86::tdpbssd_loop(iters),
                MacOp::Vpmaddubsw => x86::vpmaddubsw_loop(iters),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = iters;
    }
}

/// One measured peak.
#[derive(Debug, Clone, Serialize)]
pub struct PeakRow {
    pub instruction: MacOp,
    pub threads: usize,
    pub gmac_s: f64,
}

/// The peak of `op` with `threads` threads each running the loop (best of
/// five passes of a few milliseconds), or `None` where this CPU lacks the
/// instruction.
pub fn measure(op: MacOp, threads: usize) -> Result<Option<PeakRow>> {
    if !op.available() {
        return Ok(None);
    }
    let pool = pool(threads)?;
    let iters = op.iters();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        pool.install(|| (0..threads).into_par_iter().for_each(|_| op.run(iters)));
        best = best.min(t.elapsed().as_secs_f64());
    }
    let macs = (op.macs_per_iter() * iters * threads as u64) as f64;
    Ok(Some(PeakRow {
        instruction: op,
        threads,
        gmac_s: macs / best / 1e9,
    }))
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::asm;

    use crate::kernels::amx::CONFIG;

    /// `iters` x 12 independent `vpdpbusd` (two ports x latency 5 or
    /// so: enough chains to fill them).
    ///
    /// # Safety
    /// AVX-512 F and VNNI present.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub unsafe fn vpdpbusd_loop(iters: u64) {
        asm!(
            "vpxord zmm0, zmm0, zmm0",
            "vpternlogd zmm1, zmm1, zmm1, 0xff",
            "2:",
            "vpdpbusd zmm2, zmm0, zmm1",
            "vpdpbusd zmm3, zmm0, zmm1",
            "vpdpbusd zmm4, zmm0, zmm1",
            "vpdpbusd zmm5, zmm0, zmm1",
            "vpdpbusd zmm6, zmm0, zmm1",
            "vpdpbusd zmm7, zmm0, zmm1",
            "vpdpbusd zmm8, zmm0, zmm1",
            "vpdpbusd zmm9, zmm0, zmm1",
            "vpdpbusd zmm10, zmm0, zmm1",
            "vpdpbusd zmm11, zmm0, zmm1",
            "vpdpbusd zmm12, zmm0, zmm1",
            "vpdpbusd zmm13, zmm0, zmm1",
            "dec {n}",
            "jnz 2b",
            n = inout(reg) iters.max(1) => _,
            out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _,
            out("zmm4") _, out("zmm5") _, out("zmm6") _, out("zmm7") _,
            out("zmm8") _, out("zmm9") _, out("zmm10") _, out("zmm11") _,
            out("zmm12") _, out("zmm13") _,
            options(nostack, nomem),
        );
    }

    /// `iters` x 12 independent `vpmaddubsw` on ymm registers (two or
    /// three ports x latency 3 or so on current cores: enough chains).
    ///
    /// # Safety
    /// AVX2 present.
    #[target_feature(enable = "avx2")]
    pub unsafe fn vpmaddubsw_loop(iters: u64) {
        asm!(
            "vpxor ymm0, ymm0, ymm0",
            "vpcmpeqb ymm1, ymm1, ymm1",
            "2:",
            "vpmaddubsw ymm2, ymm0, ymm1",
            "vpmaddubsw ymm3, ymm0, ymm1",
            "vpmaddubsw ymm4, ymm0, ymm1",
            "vpmaddubsw ymm5, ymm0, ymm1",
            "vpmaddubsw ymm6, ymm0, ymm1",
            "vpmaddubsw ymm7, ymm0, ymm1",
            "vpmaddubsw ymm8, ymm0, ymm1",
            "vpmaddubsw ymm9, ymm0, ymm1",
            "vpmaddubsw ymm10, ymm0, ymm1",
            "vpmaddubsw ymm11, ymm0, ymm1",
            "vpmaddubsw ymm12, ymm0, ymm1",
            "vpmaddubsw ymm13, ymm0, ymm1",
            "dec {n}",
            "jnz 2b",
            n = inout(reg) iters.max(1) => _,
            out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
            out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
            out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
            out("ymm12") _, out("ymm13") _,
            options(nostack, nomem),
        );
    }

    /// `iters` x four `tdpbssd` into four accumulators from two `A` and
    /// two `B` tiles, the 2 x 2 block of the prompt kernel without its
    /// loads.
    ///
    /// # Safety
    /// [`crate::kernels::amx::available`] (the OS granted the tile state).
    pub unsafe fn tdpbssd_loop(iters: u64) {
        let ones = [1u8; 1024];
        asm!(
            "ldtilecfg [{cfg}]",
            "tileloadd tmm0, [{src} + {ld}*1]",
            "tileloadd tmm1, [{src} + {ld}*1]",
            "tileloadd tmm2, [{src} + {ld}*1]",
            "tileloadd tmm3, [{src} + {ld}*1]",
            "tilezero tmm4",
            "tilezero tmm5",
            "tilezero tmm6",
            "tilezero tmm7",
            "2:",
            "tdpbssd tmm4, tmm0, tmm2",
            "tdpbssd tmm5, tmm0, tmm3",
            "tdpbssd tmm6, tmm1, tmm2",
            "tdpbssd tmm7, tmm1, tmm3",
            "dec {n}",
            "jnz 2b",
            "tilerelease",
            cfg = in(reg) CONFIG.0.as_ptr(),
            src = in(reg) ones.as_ptr(),
            ld = in(reg) 64usize,
            n = inout(reg) iters.max(1) => _,
            options(nostack),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_are_positive_where_present() {
        for op in [MacOp::Vpdpbusd, MacOp::Tdpbssd, MacOp::Vpmaddubsw] {
            match measure(op, 1).unwrap() {
                Some(p) => assert!(p.gmac_s > 1.0, "{}: {}", op.name(), p.gmac_s),
                None => assert!(!op.available()),
            }
        }
    }
}
