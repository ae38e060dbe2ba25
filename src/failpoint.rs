//! Failure injection for the transaction tests, compiled in only with the `failpoints`
//! feature (the tests turn it on through the crate's dev-dependency on itself): a release
//! build has no hook an environment variable can reach, and each point costs nothing.

#[cfg(feature = "failpoints")]
use crate::error::Error;
use crate::error::Result;

#[cfg(feature = "failpoints")]
/// Failure injection: `MBUNDLE_TEST_FAILPOINT=NAME:N` makes the N-th
/// pass through the point NAME fail with an error, `NAME:N:abort` abort the process there (no
/// destructors run), `NAME:N:sigkill` have this process killed by a real SIGKILL there,
/// `NAME:N:sigint` (`sigterm`, `sighup`) send this process that real signal there (as Ctrl-C,
/// `kill` or a closed terminal would) and go on, `NAME:N:pause` wait there up to 20 s (less
/// when a signal arrives or the file `MBUNDLE_TEST_PAUSE` names is removed), so a test can act on the process mid-run. Unset, this does nothing.
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

/// Without the `failpoints` feature: nothing, always.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn failpoint(_name: &str) -> Result<()> {
    Ok(())
}
