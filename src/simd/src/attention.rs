//! Attention of one (query row, head) with AVX-512: the golden order of
//! [`tritium_golden::attention::attend_head`] on wider registers, so the same
//! bits.
//!
//! - Scores: element `i` of the head into lane `i % 16` of one register,
//!   a multiply then an add per step (never fused), the lanes combined by
//!   the golden [`reduce_lanes`](tritium_golden::ops::reduce_lanes), times
//!   the f32 scale. Four positions at a time for independent chains.
//! - Softmax: the golden one.
//! - Output: `out[d] += p_j * v_j[d]` for `j` in order, `out` held in
//!   registers across positions (16 dimensions per register).
//!
//! AVX2 runs the same with each 16-lane register as two 256-bit halves
//! (lanes 0-7 and 8-15), the output in passes of 64 dimensions (eight
//! registers; 32 per head for a pair of heads, 16 for two rows of a pair;
//! `attention/avx2.rs`). Elsewhere (no AVX2, or a
//! head size that is not a multiple of 16) the golden function runs.
//!
//! An f16 cache ([`tritium_golden::kv`]) runs the same loops with each
//! load widened in the register (`vcvtph2ps`, exact): the golden order on
//! the widened values, from half the bytes (AVX2 needs F16C for it).

// Index loops over small register arrays: they unroll to fixed registers.
#![allow(clippy::needless_range_loop)]

use tritium_golden::attention::{attend_head, HeadFn, PairFn, Quads};
use tritium_golden::grouped::GroupFns;
use tritium_golden::kv::f16;

use super::kernels::Isa;

/// The per-head attention function for `isa` (an f32 cache).
pub fn head_fn(isa: Isa) -> HeadFn {
    let isa = isa.vector();
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && isa.available() {
        return x86::attend_head_avx512::<f32>;
    }
    // The AVX2 loops are compiled with F16C (for the f16 cache), so they
    // run only where the CPU has it, whatever the cache type.
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 && isa.available() && std::arch::is_x86_feature_detected!("f16c") {
        return avx2::attend_head_avx2::<f32>;
    }
    let _ = isa;
    attend_head::<f32>
}

/// Functions for two query heads of one KV head at once (f32 and f16
/// caches), where `isa` has them: AVX-512, and AVX2 with F16C, each key
/// and value row loaded once for both heads (each head's operations in
/// its own golden order).
pub fn pair_fns(isa: Isa) -> Option<(PairFn<f32>, PairFn<f16>)> {
    let isa = isa.vector();
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && isa.available() {
        return Some((
            x86::attend_pair_avx512::<f32>,
            x86::attend_pair_avx512::<f16>,
        ));
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 && isa.available() && std::arch::is_x86_feature_detected!("f16c") {
        return Some((avx2::attend_pair_avx2::<f32>, avx2::attend_pair_avx2::<f16>));
    }
    let _ = isa;
    None
}

/// From what size of a KV head's keys and values (bytes) on the quad
/// functions run: on the 2B4T shape (amx prefill, 2 threads, f32 cache)
/// prompts of 512 and 1,024 tokens (0.5 and 1 MB per KV head, in a core's
/// L2) took 7-9 % longer with them, 2,048 tokens (2 MB) 23 % less.
pub const QUAD_MIN_KV_BYTES: usize = 3 << 19;

/// Functions for two token rows of two query heads of one KV head at once
/// (a long prompt's items; f32 and f16 caches), where `isa` has them:
/// AVX-512, and AVX2 with F16C, each key and value row loaded once for the
/// four (each head's operations in its own golden order).
pub fn quad_fns(isa: Isa) -> Option<Quads> {
    let isa = isa.vector();
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && isa.available() {
        return Some(Quads {
            f32: x86::attend_quad_avx512::<f32>,
            f16: x86::attend_quad_avx512::<f16>,
            min_kv_bytes: QUAD_MIN_KV_BYTES,
        });
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 && isa.available() && std::arch::is_x86_feature_detected!("f16c") {
        return Some(Quads {
            f32: avx2::attend_quad_avx2::<f32>,
            f16: avx2::attend_quad_avx2::<f16>,
            min_kv_bytes: QUAD_MIN_KV_BYTES_AVX2,
        });
    }
    let _ = isa;
    None
}

/// [`QUAD_MIN_KV_BYTES`] of the AVX2 quad functions: none. On Zen 3 (2
/// threads, one 2B4T layer's prompt attention, f32 cache, head-major,
/// interleaved against pairs) they took 0.91-0.94x the time at 1,024
/// and 2,048 tokens, 0.69-0.80x at 512, and the same within noise at 64
/// to 256.
pub const QUAD_MIN_KV_BYTES_AVX2: usize = 0;

/// From what size of a KV head's keys and values (bytes) on a decode step
/// runs by KV head groups ([`tritium_golden::grouped`]) on AVX2.
pub const GROUP_MIN_KV_BYTES_AVX2: usize = 0;

/// Functions for a decode step by KV head groups (f32 and f16 caches),
/// where `isa` has them: AVX2 with F16C. AVX-512 keeps its pair functions
/// (not measured by groups: no AVX-512 machine since they were written).
pub fn group_fns(isa: Isa) -> Option<GroupFns> {
    let isa = isa.vector();
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 && isa.available() && std::arch::is_x86_feature_detected!("f16c") {
        return Some(GroupFns {
            scores: (
                avx2::group_scores_avx2::<f32>,
                avx2::group_scores_avx2::<f16>,
            ),
            outputs: (
                avx2::group_outputs_avx2::<f32>,
                avx2::group_outputs_avx2::<f16>,
            ),
            min_kv_bytes: GROUP_MIN_KV_BYTES_AVX2,
        });
    }
    let _ = isa;
    None
}

/// The per-head attention function for `isa` and an f16 cache.
pub fn head_fn_f16(isa: Isa) -> HeadFn<f16> {
    let isa = isa.vector();
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && isa.available() {
        return x86::attend_head_avx512::<f16>;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 && isa.available() && std::arch::is_x86_feature_detected!("f16c") {
        return avx2::attend_head_avx2::<f16>;
    }
    let _ = isa;
    attend_head::<f16>
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
mod tests {
    use tritium_golden::attention::{attention, each_row, HeadFns, HeadView, QuadFn};
    use tritium_golden::grouped::{group_outputs, group_scores};
    use tritium_golden::kv::{KvData, KvElem, KvLayout, LayerKv};
    use tritium_golden::{ModelConfig, Preset};

    use super::*;

    /// A prompt's attention (rows after cached positions) with every
    /// function of the ISA, the quad and group functions from any size on:
    /// the golden bits, f32 and f16 caches, odd and even row counts.
    #[test]
    fn prompt_attention_with_the_isa_functions_is_bitwise_golden() {
        let c = ModelConfig {
            num_heads: 8,
            num_kv_heads: 2,
            head_dim: 64,
            hidden_size: 512,
            ..Preset::Tiny.config()
        };
        let f = |i: usize| ((i * 7919 % 211) as f32 - 105.0) / 50.0;
        for isa in crate::present_kernels().unwrap() {
            let heads = HeadFns {
                f32: head_fn(isa),
                f16: head_fn_f16(isa),
                pairs: pair_fns(isa),
                quads: quad_fns(isa).map(|q| Quads {
                    min_kv_bytes: 0,
                    ..q
                }),
                groups: group_fns(isa).map(|g| GroupFns {
                    min_kv_bytes: 0,
                    ..g
                }),
            };
            // Prompts, and single rows (decode steps: by groups where the
            // ISA has them, one run of positions and two).
            for (rows, start) in [(5, 20), (6, 11), (2, 0), (1, 0), (1, 30), (1, 600)] {
                let n = start + rows;
                let q: Vec<f32> = (0..rows * c.q_dim()).map(f).collect();
                let k: Vec<f32> = (0..n * c.kv_dim()).map(|i| f(i + 3)).collect();
                let v: Vec<f32> = (0..n * c.kv_dim()).map(|i| f(i + 11)).collect();
                let (kh, vh): (Vec<f16>, Vec<f16>) = (
                    k.iter().map(|&x| f16::narrow(x)).collect(),
                    v.iter().map(|&x| f16::narrow(x)).collect(),
                );
                // Position-major as the projections write them, and
                // head-major with room to spare as the cache holds them.
                let by_pos = KvLayout::positions(c.num_kv_heads, c.head_dim);
                let cap = n + 3;
                let by_head = KvLayout::heads(cap, c.head_dim);
                fn head_major<T: Copy + Default>(x: &[T], c: &ModelConfig, cap: usize) -> Vec<T> {
                    let hd = c.head_dim;
                    let mut out = vec![T::default(); c.num_kv_heads * cap * hd];
                    for (j, row) in x.chunks_exact(c.kv_dim()).enumerate() {
                        for (h, head) in row.chunks_exact(hd).enumerate() {
                            out[(h * cap + j) * hd..][..hd].copy_from_slice(head);
                        }
                    }
                    out
                }
                let (k2, v2) = (head_major(&k, &c, cap), head_major(&v, &c, cap));
                let (kh2, vh2) = (head_major(&kh, &c, cap), head_major(&vh, &c, cap));
                let layers = [
                    (KvData::F32(&k, &v), by_pos),
                    (KvData::F16(&kh, &vh), by_pos),
                    (KvData::F32(&k2, &v2), by_head),
                    (KvData::F16(&kh2, &vh2), by_head),
                ];
                for (data, layout) in layers {
                    let kv = LayerKv { data, layout };
                    let run = |heads: HeadFns| {
                        let (mut out, mut work) = (Vec::new(), Vec::new());
                        let (o, w) = (&mut out, &mut work);
                        attention(&c, &q, kv, rows, start, o, w, heads, |w, d, f| {
                            each_row(w, d, f)
                        });
                        out.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                    };
                    let what = format!("{isa:?} {rows} rows {layout:?}");
                    assert_eq!(run(heads), run(HeadFns::default()), "{what}");
                }
            }
        }
    }

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
            for &hd in &[16usize, 32, 48, 64, 80, 112, 128, 8, 40, 144] {
                for &n in &[1usize, 2, 3, 4, 5, 7, 16, 17, 34, 64, 131] {
                    let kvh = 3;
                    let stride = 5 * hd;
                    let kc: Vec<f32> = (0..n * stride).map(|_| rnd()).collect();
                    let vc: Vec<f32> = (0..n * stride).map(|_| rnd()).collect();
                    let q: Vec<f32> = (0..hd).map(|_| rnd()).collect();
                    let scale = (1.0 / (hd as f64).sqrt()) as f32;
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    // One head through `f` and through the golden loop:
                    // the same scores and outputs, bit for bit.
                    fn check<T: KvElem>(
                        f: HeadFn<T>,
                        q: &[f32],
                        (k, v): (HeadView<'_, T>, HeadView<'_, T>),
                        scale: f32,
                        what: &str,
                    ) -> (Vec<f32>, Vec<f32>) {
                        let (n, hd) = (k.data.len() / k.stride, q.len());
                        let (mut s1, mut o1) = (vec![0.0; n], vec![0.0; hd]);
                        let (mut s2, mut o2) = (vec![0.0; n], vec![0.0; hd]);
                        f(q, k, v, scale, &mut s1, &mut o1);
                        attend_head(q, k, v, scale, &mut s2, &mut o2);
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&s1), bits(&s2), "{what} scores");
                        assert_eq!(bits(&o1), bits(&o2), "{what} out");
                        (s1, o1)
                    }
                    let layout = KvLayout::positions(5, hd);
                    let views = |k, v| (layout.view(k, kvh), layout.view(v, kvh));
                    let kv32 = views(&kc[..], &vc[..]);
                    check(f, &q, kv32, scale, &format!("{isa:?} hd {hd} n {n}"));
                    // The same from an f16 cache (values rounded once)...
                    let half = |c: &[f32]| c.iter().map(|&x| f16::narrow(x)).collect::<Vec<_>>();
                    let (kh, vh) = (half(&kc), half(&vc));
                    let kv16 = (layout.view(&kh[..], kvh), layout.view(&vh[..], kvh));
                    let what = format!("{isa:?} f16 hd {hd} n {n}");
                    let (s1, o1) = check(head_fn_f16(isa), &q, kv16, scale, &what);
                    // ... which is the f32 attention of the widened values.
                    let wide = |c: &[f16]| c.iter().map(|x| x.widen()).collect::<Vec<_>>();
                    let (kw, vw) = (wide(&kh), wide(&vh));
                    let (mut s2, mut o2) = (vec![0.0; n], vec![0.0; hd]);
                    let (k, v) = views(&kw[..], &vw[..]);
                    attend_head(&q, k, v, scale, &mut s2, &mut o2);
                    let what = format!("{isa:?} widened hd {hd} n {n}");
                    assert_eq!((bits(&s1), bits(&o1)), (bits(&s2), bits(&o2)), "{what}");
                    // Two heads at once: each head's bits, both cache types.
                    let Some((p32, p16)) = pair_fns(isa) else {
                        continue;
                    };
                    let q2: Vec<f32> = (0..2 * hd).map(|_| rnd()).collect();
                    fn check_pair<T: KvElem>(
                        pair: PairFn<T>,
                        q2: &[f32],
                        (k, v): (HeadView<'_, T>, HeadView<'_, T>),
                        scale: f32,
                        what: &str,
                    ) {
                        let (n, hd) = (k.data.len() / k.stride, q2.len() / 2);
                        let (mut sa, mut sb) = (vec![0.0; n], vec![0.0; n]);
                        let (mut oa, mut ob) = (vec![0.0; hd], vec![0.0; hd]);
                        pair(q2, k, v, scale, [&mut sa, &mut sb], [&mut oa, &mut ob]);
                        let (qa, qb) = q2.split_at(hd);
                        for (qh, sc, o, name) in [(qa, &sa, &oa, "a"), (qb, &sb, &ob, "b")] {
                            let (mut s2, mut o2) = (vec![0.0; n], vec![0.0; hd]);
                            attend_head(qh, k, v, scale, &mut s2, &mut o2);
                            let bits =
                                |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                            assert_eq!(bits(sc), bits(&s2), "{what} pair {name} scores");
                            assert_eq!(bits(o), bits(&o2), "{what} pair {name} out");
                        }
                    }
                    check_pair(p32, &q2, kv32, scale, &format!("{isa:?} hd {hd} n {n}"));
                    check_pair(p16, &q2, kv16, scale, &format!("{isa:?} f16 hd {hd} n {n}"));
                    // Two rows of the pair (n - 1 and n positions).
                    let (Some(quads), true) = (quad_fns(isa), n >= 2) else {
                        continue;
                    };
                    let (q32, q16) = (quads.f32, quads.f16);
                    let q3: Vec<f32> = (0..2 * hd).map(|_| rnd()).collect();
                    fn check_quad<T: KvElem>(
                        quad: QuadFn<T>,
                        q: [&[f32]; 2],
                        (k, v): (HeadView<'_, T>, HeadView<'_, T>),
                        scale: f32,
                        what: &str,
                    ) {
                        let (n, hd) = (k.data.len() / k.stride, q[0].len() / 2);
                        let len = |h: usize| if h < 2 { n - 1 } else { n };
                        let mut sc: Vec<Vec<f32>> = (0..4).map(|h| vec![0.0; len(h)]).collect();
                        let mut o = vec![vec![0.0f32; hd]; 4];
                        {
                            let [s0, s1, s2, s3] = &mut sc[..] else {
                                unreachable!()
                            };
                            let [o0, o1, o2, o3] = &mut o[..] else {
                                unreachable!()
                            };
                            quad(q, k, v, scale, [s0, s1, s2, s3], [o0, o1, o2, o3]);
                        }
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        for h in 0..4 {
                            let qh = &q[h / 2][h % 2 * hd..][..hd];
                            let (mut s2, mut o2) = (vec![0.0; len(h)], vec![0.0; hd]);
                            attend_head(qh, k, v, scale, &mut s2, &mut o2);
                            assert_eq!(bits(&sc[h]), bits(&s2), "{what} quad {h} scores");
                            assert_eq!(bits(&o[h]), bits(&o2), "{what} quad {h} out");
                        }
                    }
                    let q4 = [&q2[..], &q3[..]];
                    check_quad(q32, q4, kv32, scale, &format!("{isa:?} hd {hd} n {n}"));
                    check_quad(q16, q4, kv16, scale, &format!("{isa:?} f16 hd {hd} n {n}"));
                }
            }
        }
    }

    /// The group functions of every ISA against the golden ones: 1 to 5
    /// heads (3 and 5 fall back), head sizes of whole 16-lane groups and
    /// not, runs of positions from an offset, parts of the dimensions,
    /// f32 and f16 caches, bit for bit.
    #[test]
    fn group_functions_are_bitwise_golden() {
        let mut seed = 0x2545f4914f6cdd1du64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 8.0
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for isa in crate::present_kernels().unwrap() {
            let Some(fns) = group_fns(isa) else {
                continue;
            };
            for &hd in &[16usize, 48, 64, 128, 40] {
                for &g in &[1usize, 2, 3, 4, 5] {
                    for &(from, len) in &[(0usize, 1usize), (0, 8), (5, 13), (64, 70)] {
                        let n = from + len;
                        let stride = 3 * hd;
                        let kc: Vec<f32> = (0..n * stride).map(|_| rnd()).collect();
                        let k16: Vec<f16> = kc.iter().map(|&x| f16::narrow(x)).collect();
                        let q: Vec<f32> = (0..g * hd).map(|_| rnd()).collect();
                        let layout = KvLayout::positions(3, hd);
                        let what = format!("{isa:?} hd {hd} g {g} from {from} len {len}");
                        let (mut a, mut b) = (vec![0.0; g * len], vec![0.0; g * len]);
                        let (k, scale) = (layout.view(&kc[..], 1), 0.125);
                        (fns.scores.0)(&q, k, scale, from, &mut a);
                        group_scores(&q, k, scale, from, &mut b);
                        assert_eq!(bits(&a), bits(&b), "{what} scores");
                        let k = layout.view(&k16[..], 2);
                        (fns.scores.1)(&q, k, scale, from, &mut a);
                        group_scores(&q, k, scale, from, &mut b);
                        assert_eq!(bits(&a), bits(&b), "{what} f16 scores");
                        // Outputs over n positions: all dimensions, and
                        // parts of 16 (from the 17th on) and of 8 (the
                        // golden loop) where there are such.
                        let p: Vec<f32> = (0..g * n).map(|_| rnd().abs() / 8.0).collect();
                        for (d0, dims) in [(0, hd), (16, 16.min(hd - 16)), (8, 8)] {
                            let mut v = layout.view(&kc[..], 0);
                            (v.off, v.len) = (v.off + d0, dims);
                            let (mut a, mut b) = (vec![0.0; g * dims], vec![0.0; g * dims]);
                            (fns.outputs.0)(&p, v, &mut a);
                            group_outputs(&p, v, &mut b);
                            assert_eq!(bits(&a), bits(&b), "{what} outputs {d0}+{dims}");
                            let mut v = layout.view(&k16[..], 0);
                            (v.off, v.len) = (v.off + d0, dims);
                            a.fill(0.0);
                            b.fill(0.0);
                            (fns.outputs.1)(&p, v, &mut a);
                            group_outputs(&p, v, &mut b);
                            assert_eq!(bits(&a), bits(&b), "{what} f16 outputs {d0}+{dims}");
                        }
                    }
                }
            }
        }
    }
}
