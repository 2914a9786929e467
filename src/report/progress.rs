//! The live progress line of a run, drawn on stderr only when it is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress line, or nothing when stderr is not a terminal.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    simulated_total: f64,
}

impl Progress {
    /// Starts a progress line for a run covering `simulated_total` seconds of stages.
    pub fn start(enabled: bool, simulated_total: f64) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            let style = ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Progress {
            bar,
            simulated_total,
        }
    }

    /// Shows the latest counts.
    pub fn update(&self, events: u64, rate: f64, simulated: f64, behind_ms: f64) {
        if let Some(bar) = &self.bar {
            let percent = if self.simulated_total > 0.0 {
                (simulated / self.simulated_total * 100.0).min(100.0)
            } else {
                100.0
            };
            bar.set_message(format!(
                "{events} events, {rate:.0}/s, simulated {simulated:.1}s of {:.1}s ({percent:.0}%), \
                 {behind_ms:.1} ms behind",
                self.simulated_total
            ));
        }
    }

    /// Removes the line before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
