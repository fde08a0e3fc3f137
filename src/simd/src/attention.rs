//! Attention of one (query row, head) with AVX-512: the golden order of
//! [`tritium_golden::attention::attend_head`] on wider registers, so the same
//! bits.
//!
//! - Scores: element `i` of the head into lane `i % 16` of one register,
//!   a multiply then an add per step (never fused), the lanes combined by
//!   the golden [`reduce_lanes`], times the f32 scale. Four positions at a
//!   time for independent chains.
//! - Softmax: the golden one (its sum is a sequential chain).
//! - Output: `out[d] += p_j * v_j[d]` for `j` in order, `out` held in
//!   registers across positions (16 dimensions per register).
//!
//! Elsewhere (no AVX-512, or a head size that is not a multiple of 16) the
//! golden function runs.

// Index loops over small register arrays: they unroll to fixed registers.
#![allow(clippy::needless_range_loop)]

use tritium_golden::attention::{attend_head, HeadFn, HeadView};

use super::kernels::Isa;

/// The per-head attention function for `isa`.
pub fn head_fn(isa: Isa) -> HeadFn {
    let isa = isa.vector();
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && isa.available() {
        return x86::attend_head_avx512;
    }
    let _ = isa;
    attend_head
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use tritium_golden::ops::{reduce_lanes, softmax, DOT_LANES};

    use super::*;

    /// Largest head dimension kept in registers (8 x 16).
    const MAX_REGS: usize = 8;

    pub fn attend_head_avx512(
        q: &[f32],
        k: HeadView<'_>,
        v: HeadView<'_>,
        scale: f32,
        sc: &mut [f32],
        o: &mut [f32],
    ) {
        let hd = q.len();
        let fits = hd.is_multiple_of(DOT_LANES)
            && hd / DOT_LANES <= MAX_REGS
            && k.len == hd
            && v.len == hd
            && o.len() == hd;
        let n = sc.len();
        // Bounds of every position read, checked once for the unchecked loops.
        let in_bounds =
            |h: &HeadView<'_>| n == 0 || (n - 1) * h.stride + h.off + h.len <= h.data.len();
        if !(fits && in_bounds(&k) && in_bounds(&v)) {
            return attend_head(q, k, v, scale, sc, o);
        }
        // SAFETY: AVX-512F is present (head_fn checked it); every position
        // read is in bounds (checked above); q and o have hd elements.
        unsafe {
            match hd / DOT_LANES {
                1 => run::<1>(q, k, v, scale, sc, o),
                2 => run::<2>(q, k, v, scale, sc, o),
                3 => run::<3>(q, k, v, scale, sc, o),
                4 => run::<4>(q, k, v, scale, sc, o),
                5 => run::<5>(q, k, v, scale, sc, o),
                6 => run::<6>(q, k, v, scale, sc, o),
                7 => run::<7>(q, k, v, scale, sc, o),
                _ => run::<8>(q, k, v, scale, sc, o),
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn lanes(acc: __m512) -> [f32; DOT_LANES] {
        let mut l = [0.0f32; DOT_LANES];
        _mm512_storeu_ps(l.as_mut_ptr(), acc);
        l
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn run<const S: usize>(
        q: &[f32],
        k: HeadView<'_>,
        v: HeadView<'_>,
        scale: f32,
        sc: &mut [f32],
        o: &mut [f32],
    ) {
        let qv: [__m512; S] =
            std::array::from_fn(|s| _mm512_loadu_ps(q.as_ptr().add(s * DOT_LANES)));
        let kp = k.data.as_ptr().add(k.off);
        let n = sc.len();
        let mut j = 0;
        while j + 4 <= n {
            let mut acc = [_mm512_setzero_ps(); 4];
            for s in 0..S {
                for (t, a) in acc.iter_mut().enumerate() {
                    let kv = _mm512_loadu_ps(kp.add((j + t) * k.stride + s * DOT_LANES));
                    *a = _mm512_add_ps(*a, _mm512_mul_ps(qv[s], kv));
                }
            }
            for (t, a) in acc.iter().enumerate() {
                sc[j + t] = reduce_lanes(lanes(*a)) * scale;
            }
            j += 4;
        }
        while j < n {
            let mut a = _mm512_setzero_ps();
            for s in 0..S {
                let kv = _mm512_loadu_ps(kp.add(j * k.stride + s * DOT_LANES));
                a = _mm512_add_ps(a, _mm512_mul_ps(qv[s], kv));
            }
            sc[j] = reduce_lanes(lanes(a)) * scale;
            j += 1;
        }
        softmax(sc);
        let vp = v.data.as_ptr().add(v.off);
        let mut ov: [__m512; S] =
            std::array::from_fn(|s| _mm512_loadu_ps(o.as_ptr().add(s * DOT_LANES)));
        for (j, &p) in sc.iter().enumerate() {
            let pv = _mm512_set1_ps(p);
            for s in 0..S {
                let vv = _mm512_loadu_ps(vp.add(j * v.stride + s * DOT_LANES));
                ov[s] = _mm512_add_ps(ov[s], _mm512_mul_ps(pv, vv));
            }
        }
        for s in 0..S {
            _mm512_storeu_ps(o.as_mut_ptr().add(s * DOT_LANES), ov[s]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random heads of several sizes and lengths: the ISA's function and
    /// the golden one give the same bits (scores and outputs).
    #[test]
    fn attention_head_is_bitwise_golden_on_every_path() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 8.0
        };
        for isa in crate::present_kernels().unwrap() {
            let f = head_fn(isa);
            for &hd in &[16usize, 32, 48, 64, 128, 8, 40, 144] {
                for &n in &[1usize, 2, 3, 4, 5, 7, 64, 131] {
                    let kvh = 3;
                    let stride = 5 * hd;
                    let kc: Vec<f32> = (0..n * stride).map(|_| rnd()).collect();
                    let vc: Vec<f32> = (0..n * stride).map(|_| rnd()).collect();
                    let q: Vec<f32> = (0..hd).map(|_| rnd()).collect();
                    let view = |data| HeadView {
                        data,
                        stride,
                        off: kvh * hd,
                        len: hd,
                    };
                    let (mut s1, mut o1) = (vec![0.0; n], vec![0.0; hd]);
                    let (mut s2, mut o2) = (vec![0.0; n], vec![0.0; hd]);
                    let scale = (1.0 / (hd as f64).sqrt()) as f32;
                    f(&q, view(&kc[..]), view(&vc[..]), scale, &mut s1, &mut o1);
                    attend_head(&q, view(&kc[..]), view(&vc[..]), scale, &mut s2, &mut o2);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&s1), bits(&s2), "{isa:?} hd {hd} n {n} scores");
                    assert_eq!(bits(&o1), bits(&o2), "{isa:?} hd {hd} n {n} out");
                }
            }
        }
    }
}
