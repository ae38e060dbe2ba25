//! Ctrl-C, SIGTERM and SIGHUP: recorded, not obeyed on the spot, so long work stops at its
//! next safe point and cleans up (an export removes its temporary file, an import its staging
//! directory) before exiting with 128 + the signal's number, as a shell reports it.
//!
//! A second signal while the first is being handled ends the process at once (the user
//! meant it); what an import left then is finished or removed by the next run.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};

/// SIGHUP, SIGINT and SIGTERM on every Unix.
pub const SIGHUP: i32 = 1;
/// Ctrl-C.
pub const SIGINT: i32 = 2;
/// `kill` without a signal name.
pub const SIGTERM: i32 = 15;

struct Installed {
    number: Arc<AtomicUsize>,
}

static INSTALLED: OnceLock<Option<Installed>> = OnceLock::new();

/// Starts recording SIGINT, SIGTERM and SIGHUP instead of dying of them. Idempotent.
pub fn install() {
    INSTALLED.get_or_init(|| {
        #[cfg(unix)]
        {
            let number = Arc::new(AtomicUsize::new(0));
            let armed = Arc::new(AtomicBool::new(false));
            let ignored = ignored_at_start();
            for sig in [SIGHUP, SIGINT, SIGTERM] {
                // A signal the parent ignores stays ignored: `nohup mbundle export ...` must
                // outlive its terminal, and a background job of a script ignores Ctrl-C.
                if ignored & (1 << (sig - 1)) != 0 {
                    continue;
                }
                // The shutdown goes first: it fires only on the second signal.
                let ok = signal_hook::flag::register_conditional_shutdown(
                    sig,
                    128 + sig,
                    Arc::clone(&armed),
                )
                .and_then(|_| signal_hook::flag::register(sig, Arc::clone(&armed)))
                .and_then(|_| {
                    signal_hook::flag::register_usize(sig, Arc::clone(&number), sig as usize)
                });
                if ok.is_err() {
                    return None;
                }
            }
            Some(Installed { number })
        }
        #[cfg(not(unix))]
        {
            None
        }
    });
}

/// The signals this process ignores, as a bit mask (bit N-1 for signal N), from
/// /proc/self/status on Linux; none elsewhere.
fn ignored_at_start() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("SigIgn:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .unwrap_or(0)
}

/// The signal received since [`install`], if any.
pub fn received() -> Option<i32> {
    let n = INSTALLED
        .get()
        .and_then(Option::as_ref)
        .map(|i| i.number.load(Ordering::SeqCst))
        .unwrap_or(0);
    (n != 0).then_some(n as i32)
}

/// `Err(Interrupted)` once a signal has arrived: call it between units of work. `what` says
/// what was left undone ("no bundle written", "nothing was changed").
pub fn check(what: &'static str) -> Result<()> {
    match received() {
        Some(signal) => Err(Error::Interrupted { signal, what }),
        None => Ok(()),
    }
}
