//! Progress on long work: a bar with bytes, rate and ETA on a terminal; nothing at all when
//! stderr is not a terminal or with `--quiet`, so scripts and logs stay clean.
//!
//! One way for every operation: the command makes a [`Progress`] (on, or [`Progress::off`])
//! and hands it down; the operation [`starts`](Progress::start) it when it knows the total
//! (an import learns it from the manifest, mid-stream), counts bytes with
//! [`inc`](Progress::inc), and the command [`finishes`](Progress::finish) it before its summary.

use std::io::IsTerminal;
use std::sync::OnceLock;

/// A byte progress bar, or nothing.
#[derive(Default)]
pub struct Progress {
    /// Whether a bar may be shown (asked for, and stderr is a terminal).
    shown: bool,
    /// The bar, once started.
    bar: OnceLock<indicatif::ProgressBar>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.shown {
            "Progress(on)"
        } else {
            "Progress(off)"
        })
    }
}

impl Progress {
    /// A progress line that shows once started, when `enabled` and stderr is a terminal.
    pub fn new(enabled: bool) -> Progress {
        Progress {
            shown: enabled && std::io::stderr().is_terminal(),
            bar: OnceLock::new(),
        }
    }

    /// No bar.
    pub fn off() -> Progress {
        Progress::default()
    }

    /// Shows the bar for `total` bytes labelled `what` (once; a second start is ignored).
    pub fn start(&self, total: u64, what: &str) {
        if !self.shown {
            return;
        }
        self.bar.get_or_init(|| {
            let pb = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr_with_hz(8),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            ) {
                pb.set_style(style.progress_chars("=> "));
            }
            pb.set_prefix(what.to_string());
            pb.tick();
            pb
        });
    }

    /// Counts `n` more bytes done.
    pub fn inc(&self, n: u64) {
        if let Some(p) = self.bar.get() {
            p.inc(n);
        }
    }

    /// Removes the bar (the caller prints its summary line).
    pub fn finish(&self) {
        if let Some(p) = self.bar.get() {
            p.finish_and_clear();
        }
    }
}
