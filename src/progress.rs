//! Progress on long work: a bar with bytes, rate and ETA on a terminal; nothing at all when
//! stderr is not a terminal or with `--quiet`, so scripts and logs stay clean.

use std::io::IsTerminal;

/// A byte progress bar, or nothing.
#[derive(Clone, Default)]
pub struct Progress(Option<indicatif::ProgressBar>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(bar)"
        } else {
            "Progress(off)"
        })
    }
}

impl Progress {
    /// A bar for `total` bytes labelled `what`, shown only when `enabled` and stderr is a
    /// terminal.
    pub fn bytes(total: u64, what: &str, enabled: bool) -> Progress {
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
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
        Progress(Some(pb))
    }

    /// No bar.
    pub fn off() -> Progress {
        Progress(None)
    }

    /// Counts `n` more bytes done.
    pub fn inc(&self, n: u64) {
        if let Some(p) = &self.0 {
            p.inc(n);
        }
    }

    /// Removes the bar (the caller prints its summary line).
    pub fn finish(&self) {
        if let Some(p) = &self.0 {
            p.finish_and_clear();
        }
    }
}
