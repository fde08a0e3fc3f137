//! How `tritium bench` times a call: from cold caches (decode calls, whose
//! weights come from memory in a forward pass) or warm (prompt calls).

use std::time::{Duration, Instant};

use crate::Result;

/// How long the warm calls of a prompt kernel row run at least
/// ([`time_warm`]).
const WARM_SECONDS: f64 = 0.25;

/// Times warm calls of `f` (after one untimed): at least `reps`, and for at
/// least [`WARM_SECONDS`]. Returns the fastest call. A prompt call takes
/// about a millisecond; the fastest of 5 moved by 10-20 points of the peak
/// between runs on a shared 2-vCPU host, the fastest of a quarter second
/// of calls by about one.
pub fn time_warm(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<Duration> {
    f()?;
    let mut best = Duration::MAX;
    let start = Instant::now();
    let mut n = 0;
    while n < reps || start.elapsed().as_secs_f64() < WARM_SECONDS {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed());
        n += 1;
    }
    Ok(best)
}

/// Times `f` from cold caches: before each of `reps` calls, `flush` (a
/// buffer larger than the last-level cache) is read, so the weights come
/// from memory as they do in a real forward pass, where each matrix is read
/// once per token. Returns the fastest call.
pub fn time_cold(
    flush: &[u64],
    reps: usize,
    mut f: impl FnMut() -> Result<()>,
) -> Result<Duration> {
    f()?;
    let mut best = Duration::MAX;
    for _ in 0..reps {
        let s = flush.iter().fold(0u64, |a, &x| a.wrapping_add(x));
        std::hint::black_box(s);
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed());
    }
    Ok(best)
}
