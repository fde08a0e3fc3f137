//! Text generation: prefill the prompt as one batched forward pass, then
//! decode token by token with the KV cache, timing both phases.

use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::error::Error;
use crate::kv::KvPrecision;
use crate::model::Model;
use crate::sample::{Sampler, SamplerConfig};
use crate::session::{Logits, Session, StatsTable};

/// Generation settings.
#[derive(Debug, Clone, Copy)]
pub struct GenerateOptions {
    /// Tokens to generate at most.
    pub max_new: usize,
    pub sampler: SamplerConfig,
    /// Stop after the model emits its EOS token.
    pub stop_at_eos: bool,
    /// Keep the logits of every position (prompt and generated); every
    /// generated token is then also run through the network.
    pub keep_logits: bool,
    /// The KV cache's element type (f16: not the golden model's logits,
    /// half the bytes attention reads; [`crate::kv`]).
    pub kv: KvPrecision,
}

/// What a generation produced, with timings.
#[derive(Debug, Clone)]
pub struct Generation {
    pub prompt: Vec<u32>,
    pub generated: Vec<u32>,
    /// One row per position when `keep_logits` was set.
    pub logits: Vec<Vec<f32>>,
    pub stopped_at_eos: bool,
    pub prefill_time: Duration,
    pub decode_time: Duration,
    /// Single-token forward passes timed in `decode_time`.
    pub decode_steps: usize,
    /// Choosing the generated tokens from their logits rows (not part of
    /// `decode_time`, as peers report sampling apart from evaluation).
    pub sample_time: Duration,
    pub stats: StatsTable,
}

impl Generation {
    /// Prompt tokens per second of the prefill pass.
    pub fn prefill_tokens_per_s(&self) -> f64 {
        self.prompt.len() as f64 / self.prefill_time.as_secs_f64().max(1e-12)
    }
    /// Single-token forward passes per second.
    pub fn decode_tokens_per_s(&self) -> f64 {
        if self.decode_steps == 0 {
            return 0.0;
        }
        self.decode_steps as f64 / self.decode_time.as_secs_f64().max(1e-12)
    }
}

/// Runs `prompt` and generates up to `opts.max_new` tokens, calling
/// `on_token` with each one as soon as it is chosen (its error, of the
/// caller's type `E`, stops the generation and is returned).
///
/// The whole request must fit the context (prompt + max_new tokens); it is
/// refused up front rather than cut short.
pub fn generate<E: From<Error>>(
    model: &Model,
    backend: &mut dyn Backend,
    prompt: &[u32],
    opts: GenerateOptions,
    on_token: &mut dyn FnMut(u32) -> Result<(), E>,
) -> Result<Generation, E> {
    let c = model.config();
    if prompt.is_empty() {
        return Err(Error::EmptyPrompt.into());
    }
    c.check_request(prompt.len(), opts.max_new)?;
    let mut sampler = Sampler::new(opts.sampler)?;
    let mut session = Session::with_kv(model, opts.kv);
    // The whole run's KV cache now, outside the timed steps (as a peer
    // allocates its context up front); check_request bounded the sum.
    session.reserve(prompt.len().saturating_add(opts.max_new))?;
    let want = if opts.keep_logits {
        Logits::All
    } else {
        Logits::Last
    };
    let t0 = Instant::now();
    // One logits row reused by every decode step (`forward_into`).
    let mut rows = Vec::new();
    session.forward_into(backend, prompt, want, &mut rows)?;
    let prefill_time = t0.elapsed();
    let mut logits = Vec::new();
    if opts.keep_logits {
        logits = std::mem::take(&mut rows);
        rows.extend(logits.last().cloned());
    }
    let mut generated = Vec::new();
    let mut stopped_at_eos = false;
    let mut decode_time = Duration::ZERO;
    let mut decode_steps = 0;
    let mut sample_time = Duration::ZERO;
    for i in 0..opts.max_new {
        let last = rows.last().map_or(&[][..], Vec::as_slice);
        let t = Instant::now();
        let tok = sampler.sample(last)?;
        sample_time += t.elapsed();
        generated.push(tok);
        on_token(tok)?;
        stopped_at_eos = opts.stop_at_eos && Some(tok) == c.eos_token_id;
        let more = i + 1 < opts.max_new && !stopped_at_eos;
        if more || opts.keep_logits {
            let t = Instant::now();
            session.forward_into(backend, &[tok], Logits::Last, &mut rows)?;
            decode_time += t.elapsed();
            decode_steps += 1;
            if opts.keep_logits {
                logits.extend(rows.last().cloned());
            }
        }
        if !more {
            break;
        }
    }
    Ok(Generation {
        prompt: prompt.to_vec(),
        generated,
        logits,
        stopped_at_eos,
        prefill_time,
        decode_time,
        decode_steps,
        sample_time,
        stats: session.stats().clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::GoldenBackend;

    fn tiny() -> Model {
        crate::session::tests::model()
    }

    fn opts(max_new: usize, keep_logits: bool) -> GenerateOptions {
        GenerateOptions {
            max_new,
            sampler: SamplerConfig::default(),
            stop_at_eos: false,
            keep_logits,
            kv: KvPrecision::F32,
        }
    }

    #[test]
    fn incremental_decoding_matches_one_full_pass() {
        let m = tiny();
        let prompt = [510, 5, 77, 300, 12];
        let g = generate(&m, &mut GoldenBackend, &prompt, opts(6, true), &mut |_| {
            Ok::<_, Error>(())
        })
        .unwrap();
        assert_eq!(g.logits.len(), prompt.len() + 6);
        // Re-run prompt + generated tokens as one batch: same logits bit for bit,
        // because every BitLinear row is quantized per token and every f32
        // reduction has a fixed order.
        let all: Vec<u32> = prompt
            .iter()
            .copied()
            .chain(g.generated.iter().copied())
            .collect();
        let mut s = Session::new(&m);
        let full = s.forward(&mut GoldenBackend, &all, Logits::All).unwrap();
        assert_eq!(full, g.logits);
        // Greedy: each generated token is the argmax of the previous row.
        for (i, &t) in g.generated.iter().enumerate() {
            let row = &g.logits[prompt.len() - 1 + i];
            assert_eq!(t as usize, crate::sample::argmax(row));
        }
    }

    #[test]
    fn requests_beyond_the_context_are_refused() {
        let m = tiny();
        let e = generate(
            &m,
            &mut GoldenBackend,
            &[1; 250],
            opts(7, false),
            &mut |_| Ok::<_, Error>(()),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains(
                "250 + 7 tokens (prompt + new) exceed the context length 256: at most 6 new"
            ),
            "{e}"
        );
        // Regression: `prompt + max_new` was added unchecked, so a budget
        // near usize::MAX wrapped around, passed, and ran until the session
        // refused the 257th token (or panicked on overflow in debug builds).
        for new in [usize::MAX, usize::MAX - 2] {
            let e = generate(
                &m,
                &mut GoldenBackend,
                &[1, 2, 3],
                opts(new, false),
                &mut |_| -> Result<(), Error> { panic!("generated a token") },
            )
            .unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::RequestTooLong {
                        prompt: 3,
                        max: 256,
                        ..
                    }
                ),
                "{e}"
            );
        }
        let e = generate(&m, &mut GoldenBackend, &[], opts(1, false), &mut |_| {
            Ok::<_, Error>(())
        })
        .unwrap_err();
        assert!(e.to_string().contains("empty prompt"), "{e}");
        let e = generate(
            &m,
            &mut GoldenBackend,
            &[1, 512],
            opts(1, false),
            &mut |_| Ok::<_, Error>(()),
        )
        .unwrap_err();
        assert!(e.to_string().contains("token id 512 at position 1"), "{e}");
    }
}
