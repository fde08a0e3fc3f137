//! Progress of long operations (loading layers, generating weights,
//! co-simulating BitLinears, synthesis runs), reported through a trait so
//! that library crates draw nothing themselves.

/// Receives progress: a total (which may grow) and steps done. Called from
/// worker threads, hence `Sync`.
pub trait Progress: Sync {
    /// The work has `total` steps (replaces an earlier total).
    fn set_total(&self, total: u64);
    /// `n` more steps are done.
    fn advance(&self, n: u64);
    /// What is being done now (a short phrase).
    fn message(&self, _what: &str) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn set_total(&self, _: u64) {}
    fn advance(&self, _: u64) {}
}
