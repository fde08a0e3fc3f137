//! [`SimdBackend`]'s [`Backend`] implementation: the BitLinear jobs, the
//! attention heads and the lm_head of each [`HeadMode`], the glue between
//! the golden network code and the engine's kernels.

use tritium_golden::attention::RowFn;
use tritium_golden::{Backend, DenseMatrix, ExecStats, LinearCall, Result as GResult};

use crate::{
    attention, head, head_q6k, head_q80, HeadMode, HeadRows, SimdBackend, Step, MAX_GROUP,
};

/// Logit rows per item of the head's job.
const HEAD_ROWS: usize = 512;

impl Backend for SimdBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn matmul(&mut self, call: &LinearCall<'_>, out: &mut [i32]) -> GResult<ExecStats> {
        call.check(out)?;
        self.run(std::slice::from_ref(call), &mut [out])?;
        Ok(call.counted_stats())
    }

    /// q/k/v and gate/up as one parallel job: one activation copy, one
    /// fork-join, every thread streaming a contiguous run of panels.
    fn matmul_group(
        &mut self,
        calls: &[LinearCall<'_>],
        outs: &mut [Vec<i32>],
        stats: &mut [ExecStats],
    ) -> GResult<()> {
        tritium_golden::backend::matmul_as_one_job(
            self,
            calls,
            outs,
            stats,
            MAX_GROUP,
            |b, c, o| b.run(c, o),
        )
    }

    /// On the spin pool (the attention heads between two decode matmuls;
    /// rayon's sleeping workers would wake up, and compete with the spinning
    /// ones, for every layer).
    fn for_each_row(&mut self, rows: &mut [f32], d: usize, f: &RowFn<'_>) {
        let pf = self.pending_prefetch;
        self.spin.rows(rows, d, &pf, f);
    }

    fn attention_heads(&self) -> tritium_golden::attention::HeadFns {
        tritium_golden::attention::HeadFns {
            f32: attention::head_fn(self.isa),
            f16: attention::head_fn_f16(self.isa),
            pairs: attention::pair_fns(self.isa),
            quads: attention::quad_fns(self.isa),
            groups: attention::group_fns(self.isa),
        }
    }

    fn logits(&mut self, head: &DenseMatrix, x: &[f32], out: &mut [f32]) -> GResult<()> {
        if x.len() != head.cols() || out.len() != head.rows() {
            return tritium_golden::GoldenBackend.logits(head, x, out);
        }
        let (isa, cols) = (self.isa, head.cols());
        match self.head_mode {
            HeadMode::Exact => {
                let w = HeadRows::of(head);
                self.head_range = Some((w.addr(), w.bytes()));
                let pf = self.decode_step(Step::Head, Step::Head);
                self.spin.rows(out, HEAD_ROWS, &pf, &|t, o| {
                    head::exact_rows(isa, w, cols, x, t * HEAD_ROWS, o)
                });
            }
            HeadMode::Q8 => {
                // Int8 quantization would turn a NaN/Inf hidden state into
                // finite logits: reject it, as the exact head's logits would.
                tritium_golden::error::check_finite("lm_head input (final hidden state)", x)?;
                if let Some((ty, w)) = head.as_blocks() {
                    // Stored Q6_K / Q8_0 blocks, computed from (any width).
                    self.head_range = Some((w.as_ptr() as usize, w.len()));
                    let pf = self.decode_step(Step::Head, Step::Head);
                    if ty == tritium_golden::BlockType::Q6K {
                        self.q6k_input.quantize(x);
                        let xq = &self.q6k_input;
                        self.spin.rows(out, HEAD_ROWS, &pf, &|t, o| {
                            head_q6k::rows_into(isa, w, cols, xq, t * HEAD_ROWS, o)
                        });
                    } else {
                        self.q80_input.quantize(x);
                        let xq = &self.q80_input;
                        self.spin.rows(out, HEAD_ROWS, &pf, &|t, o| {
                            head_q80::rows_into(isa, w, cols, xq, t * HEAD_ROWS, o)
                        });
                    }
                    return Ok(());
                }
                if cols > head::Q8_MAX_COLS {
                    return Err(tritium_golden::Error::backend(
                        self.name.clone(),
                        "lm_head",
                        format!(
                            "the int8 head (--fast-head) supports hidden sizes up to {} (i32 dot products); this head has {cols}",
                            head::Q8_MAX_COLS
                        ),
                    ));
                }
                self.head_range = Some(self.q8_head(head).code_range());
                let pf = self.decode_step(Step::Head, Step::Head);
                let q8 = &self.q8.as_ref().expect("prepared").1;
                q8.quantize_input(x, &mut self.q8_input);
                let xq = &self.q8_input;
                self.spin.rows(out, HEAD_ROWS, &pf, &|t, o| {
                    q8.rows_into(isa, xq, t * HEAD_ROWS, o)
                });
            }
            HeadMode::Q4 => {
                tritium_golden::error::check_finite("lm_head input (final hidden state)", x)?;
                self.head_range = Some(self.q4_head(head).code_range());
                let pf = self.decode_step(Step::Head, Step::Head);
                let q4 = &self.q4.as_ref().expect("prepared").1;
                q4.quantize_input(x, &mut self.q4_input);
                let xq = &self.q4_input;
                self.spin.rows(out, HEAD_ROWS, &pf, &|t, o| {
                    q4.rows_into(isa, xq, t * HEAD_ROWS, o)
                });
            }
        }
        Ok(())
    }
}
