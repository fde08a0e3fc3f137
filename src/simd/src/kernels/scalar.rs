//! The portable twin of the SIMD kernels: same layout, same formula
//! (`dot4(codes, a) - sum(a)`), plain Rust.

use super::Acts;
use crate::base3::{n_of, B3Acts, B3Matrix, TABLE_PER_GROUP};
use crate::layout::{PackedTernary, KBLOCK, PANEL};

/// See [`super::ternary_panels`].
pub fn panels(w: &PackedTernary, p0: usize, np: usize, a: &Acts, out: &mut [i32]) {
    let kp = w.k_padded();
    for pi in 0..np {
        let chunks = w.panel(p0 + pi);
        for r in 0..a.rows {
            let act = &a.data[r * a.stride..r * a.stride + kp];
            let mut acc = [0i32; PANEL];
            for (b, ch) in chunks.iter().enumerate() {
                for j in 0..4 {
                    let a4 = &act[b * KBLOCK + 4 * j..b * KBLOCK + 4 * j + 4];
                    for (i, &byte) in ch.0.iter().enumerate() {
                        let code = (byte >> (2 * j)) & 3;
                        acc[i / 4] += i32::from(code) * i32::from(a4[i % 4]);
                    }
                }
            }
            let o = &mut out[(pi * a.rows + r) * PANEL..(pi * a.rows + r + 1) * PANEL];
            for (o, acc) in o.iter_mut().zip(acc) {
                *o = acc - a.sums[r];
            }
        }
    }
}

/// The base-3 twin ([`super::base3_panels`]): the same identity, one byte
/// at a time.
pub fn base3_panels(w: &B3Matrix, p0: usize, np: usize, a: &B3Acts, out: &mut [i32]) {
    for lp in 0..np {
        let chunks = w.panel(p0 + lp);
        for i in 0..PANEL {
            let mut acc = 0i32;
            for (g, ch) in chunks.iter().enumerate() {
                for j in 0..4 {
                    let q = ch.0[4 * i + j];
                    for m in 0..5 {
                        let pair = a.table()[g * TABLE_PER_GROUP + 2 * m + j % 2];
                        let c = if j < 2 {
                            pair as i16
                        } else {
                            (pair >> 16) as i16
                        };
                        acc += n_of(q, m) * i32::from(c);
                    }
                }
            }
            out[lp * PANEL + i] = acc - a.sum();
        }
    }
}
