//! mbundle: move and back up docker-machine machines safely.
//!
//! Data flows one way: store -> plan -> bundle -> plan -> store. The layers, each importing
//! only those below it (`tests/tidy.rs` keeps it so; ARCHITECTURE.md is the map):
//!
//! - [`cli`] (clap syntax only) and [`commands`] (one command each: arguments in, one
//!   operation called, text and `--json` out);
//! - [`ops`]: export, import, doctor, lifecycle: typed request in, typed report out;
//! - the domain: [`format`] (manifest, bundle streams, parallel gzip, age), [`store`] (layout,
//!   config.json, foreign paths, rewrite, docker contexts, shell env, field checks), [`pki`]
//!   (certificate facts, issuing);
//! - the ground: [`fs`] (private dirs, modes, no-replace rename, the store lock, outputs),
//!   [`error`], [`progress`], [`signals`], [`text`] (escaping and quoting what others wrote).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
mod commands;
mod error;
mod format;
mod fs;
mod ops;
mod pki;
mod progress;
mod signals;
mod store;
pub mod text;

pub use commands::run;
pub use error::{Error, Result};

// What the integration tests and fuzz targets drive directly; nothing else is public, so
// the compiler reports dead code and `missing_docs` asks only for what others can see.
pub use format::bundle::{read_bundle, read_plaintext, VerifyOnly, Visitor};
pub use format::crypto::DecryptWith;
pub use format::manifest::{check_archive_path, FileEntry, Manifest};
pub use ops::export::{
    plan as plan_export, run as write_export, ExportPlan, ExportRequest, Output,
};
pub use pki::certs::parse_pem;
pub use progress::Progress;
pub use store::context::context_id;
pub use store::env::Shell;
pub use store::paths::ForeignPath;
pub use store::rewrite::{rewrite_config, to_docker_machine_json, PathMap};
pub use store::{is_secret_file, Store};

/// Failure injection for the transaction tests: `MBUNDLE_TEST_FAILPOINT=NAME:N` makes the N-th
/// pass through the point NAME fail with an error, `NAME:N:abort` abort the process there (no
/// destructors run), `NAME:N:sigkill` have this process killed by a real SIGKILL there,
/// `NAME:N:sigint` (`sigterm`, `sighup`) send this process that real signal there (as Ctrl-C,
/// `kill` or a closed terminal would) and go on, `NAME:N:pause` wait there up to 20 s (less
/// when a signal arrives or the file `MBUNDLE_TEST_PAUSE` names is removed), so a test can act on the process mid-run. Unset, this does nothing.
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
                "sigint" | "sigterm" | "sighup" => {
                    let _ = std::process::Command::new("kill")
                        .args([
                            format!("-{}", &action[3..].to_uppercase()),
                            std::process::id().to_string(),
                        ])
                        .status();
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    return Ok(());
                }
                "pause" => {
                    // Long enough for a test to act on the process; a signal ends it early,
                    // and so does removing the file MBUNDLE_TEST_PAUSE names.
                    // Says it is paused with `<that file>.reached`.
                    let resume =
                        std::env::var_os("MBUNDLE_TEST_PAUSE").map(std::path::PathBuf::from);
                    if let Some(p) = &resume {
                        let _ = std::fs::write(p.with_extension("reached"), b"");
                    }
                    for _ in 0..400 {
                        if crate::signals::received().is_some()
                            || resume.as_ref().is_some_and(|p| !p.exists())
                        {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
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

/// Fixture access for the unit tests.
#[cfg(test)]
pub(crate) mod test_fixture {
    /// A file of the Linux fixture store (fixtures/linux/home/alice/.docker/machine).
    pub fn read_linux_store(rel: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/linux/home/alice/.docker/machine")
            .join(rel);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}
