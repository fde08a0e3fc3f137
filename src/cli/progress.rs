//! Progress bars (indicatif) for the library crates' [`Progress`] reports.

use indicatif::{ProgressBar, ProgressStyle};
use tritium_util::Progress;

/// A bar drawn on stderr while a library call runs; cleared when dropped.
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar labelled `what`; `hidden` draws nothing (JSON output, scripts).
    pub fn new(what: &str, hidden: bool) -> Bar {
        let pb = if hidden {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        pb.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.set_message(what.to_string());
        Bar(pb)
    }

    /// A spinner with a changing message and the time elapsed (no known total).
    pub fn spinner(hidden: bool) -> Bar {
        let pb = if hidden {
            ProgressBar::hidden()
        } else {
            ProgressBar::new_spinner()
        };
        pb.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.enable_steady_tick(std::time::Duration::from_millis(200));
        Bar(pb)
    }
}

impl Progress for Bar {
    fn set_total(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn message(&self, what: &str) {
        self.0.set_message(what.to_string());
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
