//! The one interface every BitLinear goes through, and the golden backend.
//!
//! A backend receives int8 activations (already quantized by the shared
//! network code) and the layer's ternary weights, and returns exact i32
//! accumulators plus execution statistics. Dequantization stays outside, in
//! shared code, so backends are compared on integers with `==`.

use crate::attention::{each_row, HeadFns, RowFn};
use crate::dense::DenseMatrix;
use crate::error::{shape_err, Result};
use crate::model::LinearId;
use crate::ternary::TernaryMatrix;

/// One BitLinear invocation: `rows` token rows of `k` int8 activations
/// (row-major), for tokens at positions `first_pos..first_pos + rows`.
#[derive(Debug, Clone, Copy)]
pub struct LinearCall<'a> {
    pub id: LinearId,
    pub weights: &'a TernaryMatrix,
    pub acts: &'a [i8],
    pub rows: usize,
    pub first_pos: usize,
}

impl<'a> LinearCall<'a> {
    /// `rows` token rows of `acts` (row-major, `rows * weights.k()` values)
    /// through `weights`, for the positions from `first_pos` on.
    pub fn new(
        id: LinearId,
        weights: &'a TernaryMatrix,
        acts: &'a [i8],
        rows: usize,
        first_pos: usize,
    ) -> LinearCall<'a> {
        LinearCall {
            id,
            weights,
            acts,
            rows,
            first_pos,
        }
    }

    /// Checks that `acts` and `out` fit the weights; every backend calls this.
    pub fn check(&self, out: &[i32]) -> Result<()> {
        let (n, k) = (self.weights.n(), self.weights.k());
        if self.acts.len() != self.rows * k {
            return Err(shape_err(
                format!("{} activations", self.id),
                format!("{} rows x {k}", self.rows),
                self.acts.len(),
            ));
        }
        if out.len() != self.rows * n {
            return Err(shape_err(
                format!("{} accumulators", self.id),
                format!("{} rows x {n}", self.rows),
                out.len(),
            ));
        }
        Ok(())
    }

    /// Multiply-accumulates of this call (`rows * n * k`).
    pub fn macs(&self) -> u64 {
        (self.rows * self.weights.n() * self.weights.k()) as u64
    }

    /// Statistics every backend can count without running: MACs, adds for
    /// non-zero weights, skips for zero weights (per activation row).
    pub fn counted_stats(&self) -> ExecStats {
        let nz = self.weights.nonzeros() * self.rows as u64;
        ExecStats {
            calls: 1,
            macs: self.macs(),
            adds: nz,
            zero_skips: self.macs() - nz,
            ..ExecStats::default()
        }
    }
}

/// What a backend reports for its work. Counted backends fill `calls`,
/// `macs`, `adds`, `zero_skips`; cycle-accurate ones fill the cycle fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ExecStats {
    pub calls: u64,
    pub macs: u64,
    /// Adds (or subtracts) issued: one per non-zero weight per row.
    pub adds: u64,
    /// Weight-activation products skipped because the weight is zero.
    pub zero_skips: u64,
    /// Simulated clock cycles (0 when not measured).
    pub cycles: u64,
    /// Cycles in which the datapath did useful work.
    pub busy_cycles: u64,
    /// Cycles stalled waiting for input or output (all causes).
    pub stall_cycles: u64,
    /// Of `stall_cycles`: cycles waiting for weights from memory.
    pub mem_stall_cycles: u64,
    /// Weight bytes read from memory.
    pub dram_bytes: u64,
    /// Activation buffer words read and written.
    pub buffer_reads: u64,
    pub buffer_writes: u64,
}

impl std::ops::AddAssign for ExecStats {
    fn add_assign(&mut self, o: Self) {
        self.calls += o.calls;
        self.macs += o.macs;
        self.adds += o.adds;
        self.zero_skips += o.zero_skips;
        self.cycles += o.cycles;
        self.busy_cycles += o.busy_cycles;
        self.stall_cycles += o.stall_cycles;
        self.mem_stall_cycles += o.mem_stall_cycles;
        self.dram_bytes += o.dram_bytes;
        self.buffer_reads += o.buffer_reads;
        self.buffer_writes += o.buffer_writes;
    }
}

/// An executor of BitLinear integer matmuls.
pub trait Backend {
    /// A short name for reports (`golden`, `simd-avx2`, `rtl-16x16`, ...).
    fn name(&self) -> &str;

    /// Computes `out[r * n + j] = sum_c t[j, c] * acts[r * k + c]` exactly in
    /// i32 for every row `r` of the call, writing every value of `out` (its
    /// prior contents are arbitrary: the session reuses buffers unzeroed).
    /// Must call [`LinearCall::check`].
    fn matmul(&mut self, call: &LinearCall<'_>, out: &mut [i32]) -> Result<ExecStats>;

    /// Several BitLinears on the same activations (q/k/v, gate/up):
    /// `outs[i]` and `stats[i]` receive `calls[i]`'s accumulators and
    /// statistics. A backend may run them as one job (fewer, larger parallel
    /// regions); the default runs them one by one through
    /// [`Backend::matmul`].
    fn matmul_group(
        &mut self,
        calls: &[LinearCall<'_>],
        outs: &mut [Vec<i32>],
        stats: &mut [ExecStats],
    ) -> Result<()> {
        check_group(calls, outs, stats)?;
        matmul_each(self, calls, outs, stats)
    }

    /// The functions computing one (query row, head) of attention, one per
    /// KV cache element type. The default is the golden order
    /// ([`attend_head`](crate::attention::attend_head)); an override must produce the same bits (it is a
    /// faster schedule of the same f32 operations, never an approximation).
    fn attention_heads(&self) -> HeadFns {
        HeadFns::default()
    }

    /// Runs `f(i, row)` for every `d`-sized row of `rows` (`rows.len()` a
    /// multiple of `d`): independent work items (the network's attention
    /// heads) in any order, on any threads; every row's bits are the same
    /// either way. The default is [`each_row`] (rayon's current pool); a
    /// backend with its own workers may use them.
    fn for_each_row(&mut self, rows: &mut [f32], d: usize, f: &RowFn<'_>) {
        each_row(rows, d, f)
    }

    /// The logits of one final-normed hidden row: `out[v] = head row v . x`
    /// for every vocabulary row (every value of `out` is written: it may
    /// hold anything before, e.g. the previous step's logits when a caller
    /// reuses its rows). The default is the golden pinned order
    /// ([`DenseMatrix::dot_row`]); a backend that overrides it must produce
    /// the same bits, unless it is explicitly an approximate mode (which
    /// then reports itself in [`Backend::name`]).
    fn logits(&mut self, head: &DenseMatrix, x: &[f32], out: &mut [f32]) -> Result<()> {
        if x.len() != head.cols() || out.len() != head.rows() {
            return Err(shape_err(
                "lm_head input / logits",
                format!("{} / {}", head.cols(), head.rows()),
                format!("{} / {}", x.len(), out.len()),
            ));
        }
        for (v, o) in out.iter_mut().enumerate() {
            *o = head.dot_row(v, x);
        }
        Ok(())
    }
}

/// [`Backend::matmul`] of a backend whose unit of work is the group: `call`
/// as a group of one through `group` (its `matmul_group`). `out` receives
/// what the group wrote, also when it fails.
pub fn matmul_as_group(
    call: &LinearCall<'_>,
    out: &mut [i32],
    group: impl FnOnce(&[LinearCall<'_>], &mut [Vec<i32>], &mut [ExecStats]) -> Result<()>,
) -> Result<ExecStats> {
    call.check(out)?;
    let mut outs = [out.to_vec()];
    let mut stats = [ExecStats::default()];
    let r = group(std::slice::from_ref(call), &mut outs, &mut stats);
    out.copy_from_slice(&outs[0]);
    r.map(|()| stats[0])
}

/// Checks that a grouped call has one output and one statistics slot per
/// BitLinear (what every [`Backend::matmul_group`] requires first).
pub fn check_group(calls: &[LinearCall<'_>], outs: &[Vec<i32>], stats: &[ExecStats]) -> Result<()> {
    if calls.len() != outs.len() || calls.len() != stats.len() {
        return Err(shape_err(
            "grouped BitLinear outputs / statistics",
            calls.len(),
            format!("{} / {}", outs.len(), stats.len()),
        ));
    }
    Ok(())
}

/// Whether `calls` (at least one) read the same activations (one buffer,
/// the same rows and K): what a backend needs to run them as one job.
pub fn shares_activations(calls: &[LinearCall<'_>]) -> bool {
    calls.first().is_some_and(|c0| {
        calls.iter().all(|c| {
            c.acts.as_ptr() == c0.acts.as_ptr()
                && c.acts.len() == c0.acts.len()
                && c.rows == c0.rows
                && c.weights.k() == c0.weights.k()
        })
    })
}

/// Runs `calls` one by one through `b.matmul`: the default
/// [`Backend::matmul_group`], and a backend's fallback for a group it cannot
/// run as one job (outputs and statistics already [`check_group`]ed).
pub fn matmul_each<B: Backend + ?Sized>(
    b: &mut B,
    calls: &[LinearCall<'_>],
    outs: &mut [Vec<i32>],
    stats: &mut [ExecStats],
) -> Result<()> {
    for ((c, o), st) in calls.iter().zip(outs.iter_mut()).zip(stats.iter_mut()) {
        *st = b.matmul(c, o)?;
    }
    Ok(())
}

/// [`Backend::matmul_group`] of a backend that runs calls sharing their
/// activations as one job: checks the group, runs it one by one through
/// [`matmul_each`] when it has more than `max` calls or its activations are
/// not shared, else checks every call and hands the group to `job`; the
/// statistics are the counted ones.
pub fn matmul_as_one_job<B: Backend + ?Sized>(
    b: &mut B,
    calls: &[LinearCall<'_>],
    outs: &mut [Vec<i32>],
    stats: &mut [ExecStats],
    max: usize,
    job: impl FnOnce(&mut B, &[LinearCall<'_>], &mut [Vec<i32>]) -> Result<()>,
) -> Result<()> {
    check_group(calls, outs, stats)?;
    if calls.len() > max || !shares_activations(calls) {
        return matmul_each(b, calls, outs, stats);
    }
    for (c, o) in calls.iter().zip(outs.iter()) {
        c.check(o)?;
    }
    job(b, calls, outs)?;
    for (c, st) in calls.iter().zip(stats.iter_mut()) {
        *st = c.counted_stats();
    }
    Ok(())
}

/// The reference executor: scalar, one row at a time, in index order.
#[derive(Debug, Default, Clone, Copy)]
pub struct GoldenBackend;

/// Golden integer matvec: `out[j] = sum_c t[j, c] * q[c]`, summed in index
/// order in i32 (exact: `|sum| <= 128 * k < 2^31` for `k < 2^24`).
pub fn golden_matvec(w: &TernaryMatrix, q: &[i8], out: &mut [i32]) {
    let mut row = vec![0i8; w.k()];
    for (j, o) in out.iter_mut().enumerate().take(w.n()) {
        w.row_into(j, &mut row);
        *o = row.iter().zip(q).map(|(&t, &a)| t as i32 * a as i32).sum();
    }
}

impl Backend for GoldenBackend {
    fn name(&self) -> &str {
        "golden"
    }

    fn matmul(&mut self, call: &LinearCall<'_>, out: &mut [i32]) -> Result<ExecStats> {
        call.check(out)?;
        let (n, k) = (call.weights.n(), call.weights.k());
        for r in 0..call.rows {
            golden_matvec(
                call.weights,
                &call.acts[r * k..(r + 1) * k],
                &mut out[r * n..(r + 1) * n],
            );
        }
        Ok(call.counted_stats())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Proj;
    use proptest::prelude::*;

    fn naive_i64(t: &[i8], q: &[i8], n: usize, k: usize) -> Vec<i64> {
        (0..n)
            .map(|j| (0..k).map(|c| t[j * k + c] as i64 * q[c] as i64).sum())
            .collect()
    }

    #[test]
    fn hand_worked_matvec() {
        let w = TernaryMatrix::from_ternary("w", 2, 3, &[1, -1, 0, -1, -1, 1], 1.0).unwrap();
        let mut out = [0i32; 2];
        golden_matvec(&w, &[5, -128, 127], &mut out);
        assert_eq!(out, [5 + 128, -5 + 128 + 127]);
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let w = TernaryMatrix::from_ternary("w", 2, 3, &[0; 6], 1.0).unwrap();
        let id = LinearId::new(0, Proj::Q);
        let call = LinearCall::new(id, &w, &[0; 5], 2, 0);
        let e = GoldenBackend
            .matmul(&call, &mut [0; 4])
            .unwrap_err()
            .to_string();
        assert!(e.contains("layer 0 q_proj activations"), "{e}");
    }

    fn extreme_i8() -> impl Strategy<Value = i8> {
        prop_oneof![Just(-128i8), Just(127i8), Just(0i8), any::<i8>()]
    }

    proptest! {
        #[test]
        fn matmul_equals_naive_i64(
            (n, k, rows, t, q) in (1usize..24, 1usize..300, 1usize..4).prop_flat_map(|(n, k, rows)| (
                Just(n), Just(k), Just(rows),
                proptest::collection::vec(-1i8..=1, n * k),
                proptest::collection::vec(extreme_i8(), rows * k),
            ))
        ) {
            let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
            let mut out = vec![0i32; rows * n];
            let call = LinearCall::new(LinearId::new(0, Proj::Up), &w, &q, rows, 0);
            let stats = GoldenBackend.matmul(&call, &mut out).unwrap();
            for r in 0..rows {
                let want = naive_i64(&t, &q[r * k..(r + 1) * k], n, k);
                let got: Vec<i64> = out[r * n..(r + 1) * n].iter().map(|&v| v as i64).collect();
                prop_assert_eq!(got, want);
            }
            prop_assert_eq!(stats.macs, (rows * n * k) as u64);
            prop_assert_eq!(stats.adds + stats.zero_skips, stats.macs);
        }

        #[test]
        fn worst_case_magnitudes_are_exact(k in 1usize..5000, neg in any::<bool>()) {
            // All weights +1 against all -128 (or +127): |acc| = 128 k, the extreme.
            let w = TernaryMatrix::from_ternary("w", 1, k, &vec![1; k], 1.0).unwrap();
            let a = if neg { -128i8 } else { 127 };
            let mut out = [0i32];
            golden_matvec(&w, &vec![a; k], &mut out);
            prop_assert_eq!(out[0] as i64, a as i64 * k as i64);
        }
    }
}
