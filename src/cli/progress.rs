//! Progress bars (indicatif) for the library crates' [`Progress`] reports.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tritium_util::Progress;

/// A bar drawn on stderr while a library call runs; cleared when dropped.
pub struct Bar {
    pb: ProgressBar,
    /// Never drawn (JSON output, scripts).
    hidden: bool,
}

impl Bar {
    /// A bar labelled `what`; `hidden` draws nothing (JSON output, scripts).
    /// It is drawn from the first nonzero total on: before, a bar whose
    /// work had not yet been counted showed full, at `0/0`.
    pub fn new(what: &str, hidden: bool) -> Bar {
        let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        pb.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.set_message(what.to_string());
        Bar { pb, hidden }
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
        Bar { pb, hidden }
    }

    /// Whether the bar is drawn now.
    #[cfg(test)]
    fn drawn(&self) -> bool {
        !self.pb.is_hidden()
    }
}

impl Progress for Bar {
    fn set_total(&self, total: u64) {
        self.pb.set_length(total);
        if total > 0 && !self.hidden && self.pb.is_hidden() {
            self.pb.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
    fn advance(&self, n: u64) {
        self.pb.inc(n);
    }
    fn message(&self, what: &str) {
        self.pb.set_message(what.to_string());
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.pb.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_is_drawn_once_its_work_is_counted() {
        let bar = Bar::new("loading layers", false);
        assert!(!bar.drawn(), "drawn before its total");
        bar.set_total(0);
        assert!(!bar.drawn(), "drawn at 0/0");
        bar.set_total(30);
        // Drawn unless stderr is no terminal (indicatif hides it then).
        assert_eq!(bar.drawn(), !ProgressDrawTarget::stderr().is_hidden());
        let quiet = Bar::new("loading layers", true);
        quiet.set_total(30);
        assert!(!quiet.drawn(), "a hidden bar was drawn");
    }
}
