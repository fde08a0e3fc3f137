//! The golden pass of a sharded co-simulation: the whole forward pass on
//! the golden model, every group of BitLinear calls kept with its inputs
//! and results, so that any shard can then run its own groups on the RTL
//! without the others (the golden model supplies every input).

use tritium_golden::{
    backend::{check_group, matmul_as_group},
    Backend, ExecStats, GoldenBackend, LinearCall, LinearId, Model,
};
use tritium_util::Progress;

/// One call of a recorded group.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordedCall {
    pub id: LinearId,
    /// Index into [`RecordedGroup::acts`] (calls on the same activations
    /// share one buffer, as they did in the forward pass, so that the RTL
    /// backend again runs them as one job).
    pub acts: usize,
    pub rows: usize,
    pub first_pos: usize,
}

/// One `matmul_group` of the forward pass, with golden's results.
#[derive(Debug, Clone)]
pub(crate) struct RecordedGroup {
    pub calls: Vec<RecordedCall>,
    pub acts: Vec<Vec<i8>>,
    pub outs: Vec<Vec<i32>>,
    pub stats: Vec<ExecStats>,
}

impl RecordedGroup {
    /// The group's calls again, on `model`'s weights.
    pub fn calls<'m>(&'m self, model: &'m Model) -> tritium_golden::Result<Vec<LinearCall<'m>>> {
        self.calls
            .iter()
            .map(|c| {
                let w = model.linear(c.id).ok_or_else(|| {
                    tritium_golden::Error::backend("record", c.id.to_string(), "no such BitLinear")
                })?;
                Ok(LinearCall::new(
                    c.id,
                    w,
                    &self.acts[c.acts],
                    c.rows,
                    c.first_pos,
                ))
            })
            .collect()
    }

    /// MACs of the group.
    pub fn macs(&self) -> u64 {
        self.stats.iter().map(|s| s.macs).sum()
    }

    pub fn layer(&self) -> usize {
        self.calls.first().map_or(0, |c| c.id.layer)
    }
}

/// A backend computing golden results and recording every group.
pub(crate) struct Recorder<'a> {
    model: &'a Model,
    golden: GoldenBackend,
    pub groups: Vec<RecordedGroup>,
    progress: Option<&'a dyn Progress>,
}

impl<'a> Recorder<'a> {
    pub fn new(model: &'a Model, progress: Option<&'a dyn Progress>) -> Self {
        Recorder {
            model,
            golden: GoldenBackend,
            groups: Vec::new(),
            progress,
        }
    }
}

impl Backend for Recorder<'_> {
    fn name(&self) -> &str {
        "golden (recorded)"
    }

    fn matmul(
        &mut self,
        call: &LinearCall<'_>,
        out: &mut [i32],
    ) -> tritium_golden::Result<ExecStats> {
        matmul_as_group(call, out, |c, o, st| self.matmul_group(c, o, st))
    }

    fn matmul_group(
        &mut self,
        calls: &[LinearCall<'_>],
        outs: &mut [Vec<i32>],
        stats: &mut [ExecStats],
    ) -> tritium_golden::Result<()> {
        check_group(calls, outs, stats)?;
        if calls.is_empty() {
            return Ok(());
        }
        let mut group = RecordedGroup {
            calls: Vec::with_capacity(calls.len()),
            acts: Vec::new(),
            outs: Vec::with_capacity(calls.len()),
            stats: Vec::with_capacity(calls.len()),
        };
        let mut seen: Vec<(*const i8, usize)> = Vec::new();
        for ((c, o), st) in calls.iter().zip(outs.iter_mut()).zip(stats.iter_mut()) {
            // The replay takes the weights from the model by id: they must
            // be the model's.
            if !self
                .model
                .linear(c.id)
                .is_some_and(|w| std::ptr::eq(w, c.weights))
            {
                return Err(tritium_golden::Error::backend(
                    "record",
                    c.id.to_string(),
                    "the call's weights are not the model's BitLinear of that id",
                ));
            }
            *st = self.golden.matmul(c, o)?;
            if let Some(p) = self.progress {
                p.advance(1);
            }
            let key = (c.acts.as_ptr(), c.acts.len());
            let acts = match seen.iter().position(|&k| k == key) {
                Some(i) => i,
                None => {
                    seen.push(key);
                    group.acts.push(c.acts.to_vec());
                    group.acts.len() - 1
                }
            };
            group.calls.push(RecordedCall {
                id: c.id,
                acts,
                rows: c.rows,
                first_pos: c.first_pos,
            });
            group.outs.push(o.clone());
            group.stats.push(*st);
        }
        self.groups.push(group);
        Ok(())
    }
}
