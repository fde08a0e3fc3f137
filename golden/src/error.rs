//! The one error type of the golden model. Every variant carries the numbers
//! needed to find the offending value; nothing here panics on user input.

use thiserror::Error;

/// Errors raised by the golden model on bad input.
#[derive(Debug, Error, Clone)]
pub enum Error {
    /// A buffer or tensor does not have the shape the operation needs.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        what: String,
        expected: String,
        got: String,
    },
    /// A NaN or infinite value where a finite number is required.
    #[error("non-finite value {value} in {what} at index {index}")]
    NonFinite {
        what: String,
        index: usize,
        value: f32,
    },
    /// A weight scale that is not a finite positive number.
    #[error("weight scale {value} of {what} must be finite, > 0 and at most 1e6")]
    BadScale { what: String, value: f32 },
    /// A 2-bit weight code outside {0, 1, 2} (3 is the unused, invalid code).
    #[error("invalid packed ternary code {code} in {what} at row {row}, column {col} (valid codes: 0, 1, 2 = -1, 0, +1)")]
    InvalidCode {
        what: String,
        row: usize,
        col: usize,
        code: u8,
    },
    /// A ternary value outside {-1, 0, +1}.
    #[error("value {value} in {what} at index {index} is not ternary (-1, 0, +1)")]
    NotTernary {
        what: String,
        index: usize,
        value: i32,
    },
    /// A configuration value out of its valid range.
    #[error("invalid model config: {field} = {value}: {reason}")]
    Config {
        field: &'static str,
        value: String,
        reason: String,
    },
    /// The prompt was empty.
    #[error("empty prompt: at least one token is needed")]
    EmptyPrompt,
    /// A token id outside the vocabulary.
    #[error("token id {token} at position {position} is outside the vocabulary (size {vocab})")]
    TokenOutOfRange {
        token: u32,
        position: usize,
        vocab: usize,
    },
    /// More tokens than the model's context holds.
    #[error("sequence of {len} tokens exceeds the context length {max}")]
    ContextOverflow { len: usize, max: usize },
    /// A request (a prompt and tokens to add after it) longer than the
    /// model's context, refused before anything runs.
    #[error("{prompt} + {new} tokens (prompt + new) exceed the context length {max}: at most {} new tokens fit after this prompt", max.saturating_sub(*prompt))]
    RequestTooLong {
        prompt: usize,
        new: usize,
        max: usize,
    },
    /// A sampling parameter out of range.
    #[error("invalid sampling parameter {param} = {value}: {reason}")]
    Sampling {
        param: &'static str,
        value: String,
        reason: String,
    },
    /// Memory for a buffer the caller asked for could not be allocated.
    #[error("cannot allocate {bytes} bytes for {what}")]
    Alloc { what: String, bytes: usize },

    /// A backend failed to execute a BitLinear (or the head); its own error
    /// is the source.
    #[error("backend {backend} failed on {site}")]
    Backend {
        backend: String,
        site: String,
        #[source]
        source: BackendError,
    },
}

/// A backend's own error, shared so that [`enum@Error`] stays `Clone`.
pub type BackendError = std::sync::Arc<dyn std::error::Error + Send + Sync>;

impl Error {
    /// A backend failure at `site` caused by `source` (an error value, or a
    /// message).
    pub fn backend(
        backend: impl Into<String>,
        site: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Backend {
            backend: backend.into(),
            site: site.into(),
            source: std::sync::Arc::from(source.into()),
        }
    }
}

/// Result alias of the golden model.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn shape_err(
    what: impl Into<String>,
    expected: impl ToString,
    got: impl ToString,
) -> Error {
    Error::Shape {
        what: what.into(),
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

/// Fails on the first NaN or infinity of `xs`, naming `what` and the index.
pub fn check_finite(what: &str, xs: &[f32]) -> Result<()> {
    // Fast path first (branch-free, on the bits: vectorizes even for
    // baseline x86-64): any all-ones exponent? Fixed 64-value chunks, so
    // the inner fold unrolls into whole vectors (over `chunks` it ran at
    // ~1.5 cycles a value: 60 us per 128,256 logits, every decode step).
    let bad = |v: &f32| i32::from((v.to_bits() & 0x7fff_ffff) as i32 > 0x7f7f_ffff);
    let chunks = xs.chunks_exact(64);
    let tail = chunks.remainder().iter().fold(0, |a, v| a | bad(v));
    let any = chunks.fold(tail, |a, c| a | c.iter().fold(0, |b, v| b | bad(v)));
    if any == 0 {
        return Ok(());
    }
    match xs.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFinite {
            what: what.to_string(),
            index,
            value: xs[index],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every non-finite value is found wherever it sits (inside the
    /// 64-value chunks of the fast path or in their remainder), the first
    /// one is named, and the largest finite values pass.
    #[test]
    fn check_finite_finds_every_non_finite_value_at_every_index() {
        for len in [1usize, 63, 64, 65, 130, 200] {
            let ok: Vec<f32> = (0..len)
                .map(|i| match i % 4 {
                    0 => f32::MAX,
                    1 => -f32::MAX,
                    2 => f32::from_bits(1),
                    _ => -0.0,
                })
                .collect();
            assert!(check_finite("x", &ok).is_ok(), "len {len}");
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -f32::NAN] {
                for at in 0..len {
                    let mut v = ok.clone();
                    v[at] = bad;
                    if at + 1 < len {
                        v[len - 1] = f32::INFINITY;
                    }
                    match check_finite("x", &v) {
                        Err(Error::NonFinite { index, what, .. }) => {
                            assert_eq!((index, what.as_str()), (at, "x"), "len {len}")
                        }
                        other => panic!("len {len}, {bad} at {at}: {other:?}"),
                    }
                }
            }
        }
    }
}
