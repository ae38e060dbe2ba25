//! mbundle: move and back up docker-machine machines safely.
//!
//! Data flows one way: store -> plan -> bundle -> plan -> store. The pure cores
//! ([`paths`], [`manifest`], the grouping and exclusion rules in [`export`]) hold no I/O;
//! [`store`], [`bundle`], [`crypto`] and [`export`] are the edges; [`cli`] is syntax only and
//! [`app`] turns it into work.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod bundle;
pub mod certs;
pub mod cli;
pub mod context;
pub mod crypto;
pub mod doctor;
pub mod env;
pub mod error;
pub mod export;
pub mod import;
pub mod lifecycle;
pub mod manifest;
pub mod paths;
pub mod pgzip;
pub mod progress;
pub mod reissue;
pub mod rewrite;
pub mod store;

pub use error::{Error, Result};

/// Failure injection for the transaction tests: `MBUNDLE_TEST_FAILPOINT=NAME:N` makes the N-th
/// pass through the point NAME fail with an error, `NAME:N:abort` abort the process there (no
/// destructors run), `NAME:N:sigkill` have this process killed by a real SIGKILL there,
/// `NAME:N:sigint` send this process a real SIGINT there
/// (as Ctrl-C would) and go on. Unset, this does nothing.
#[doc(hidden)]
pub fn failpoint(name: &str) -> Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static SPEC: OnceLock<Option<(String, u64, String)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    let spec = SPEC.get_or_init(|| {
        let v = std::env::var("MBUNDLE_TEST_FAILPOINT").ok()?;
        let mut parts = v.split(':');
        let point = parts.next()?.to_string();
        let n = parts.next().and_then(|n| n.parse().ok()).unwrap_or(1);
        let action = parts.next().unwrap_or("error").to_string();
        Some((point, n, action))
    });
    if let Some((point, n, action)) = spec {
        if point == name && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n {
            match action.as_str() {
                "abort" => std::process::abort(),
                "sigkill" => {
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", &std::process::id().to_string()])
                        .status();
                    std::thread::sleep(std::time::Duration::from_secs(10));
                    std::process::abort();
                }
                "sigint" => {
                    let _ = std::process::Command::new("kill")
                        .args(["-INT", &std::process::id().to_string()])
                        .status();
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    return Ok(());
                }
                _ => {}
            }
            return Err(Error::io(
                "continue at failpoint",
                name,
                std::io::Error::other("injected failure"),
            ));
        }
    }
    Ok(())
}
