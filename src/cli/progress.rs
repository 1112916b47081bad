//! The progress bar of `run` and `sweep`: on stderr, only on a terminal, not in CI, not with
//! `-q` ([`super::show_progress`]). It reads the [`Progress`] window the runs publish (the
//! simulated time each run has reached against its duration + drain) and shows the share of
//! the work done with an ETA.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::runner::Progress;

/// Steps of the bar (per mille).
const STEPS: u64 = 1000;

/// Runs `work` while a bar shows `progress` (when `show`); the bar is cleared at the end.
/// `unit` names the runs in the bar's message ("variants", "runs").
pub fn with_bar<T: Send>(
    show: bool,
    progress: &Progress,
    unit: &str,
    work: impl FnOnce() -> T + Send,
) -> T {
    if !show {
        return work();
    }
    let bar = ProgressBar::new(STEPS);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {percent:>3}% of simulated time, {msg}, ETA {eta}",
        )
        .expect("valid template"),
    );
    let stop = AtomicBool::new(false);
    let update = || {
        bar.set_position((progress.fraction() * STEPS as f64) as u64);
        bar.set_message(format!(
            "{}/{} {unit} done",
            progress.done(),
            progress.total()
        ));
    };
    update();
    bar.tick();
    let out = std::thread::scope(|s| {
        let ticker = s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::park_timeout(Duration::from_millis(100));
                update();
            }
        });
        let out = work();
        stop.store(true, Ordering::Relaxed);
        ticker.thread().unpark();
        out
    });
    bar.finish_and_clear();
    out
}
