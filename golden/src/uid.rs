//! Process-unique ids of weight contents, for caches of converted copies.

use std::sync::atomic::{AtomicU64, Ordering};

/// A new id, never returned before in this process (ids start at 1).
pub(crate) fn next_uid() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
