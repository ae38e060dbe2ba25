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
pub mod fields;
pub mod import;
pub mod lifecycle;
pub mod manifest;
pub mod outfile;
pub mod paths;
pub mod pgzip;
pub mod progress;
pub mod reissue;
pub mod rewrite;
pub mod signals;
pub mod store;

pub use error::{Error, Result};

/// Renames `from` to `to` unless `to` exists, in which case it fails with
/// [`std::io::ErrorKind::AlreadyExists`] and nothing moves. On Linux the check and the rename
/// are one atomic step (renameat2 with RENAME_NOREPLACE), so a file or directory that appears
/// meanwhile (docker-machine creating a machine of the same name) is never replaced: a plain
/// rename(2) silently replaces a file, or an empty directory. Elsewhere, and on the few Linux
/// file systems without RENAME_NOREPLACE, it checks first and renames.
pub fn rename_noreplace(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "the destination exists",
        ));
    }
    std::fs::rename(from, to)
}

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
                    let resume =
                        std::env::var_os("MBUNDLE_TEST_PAUSE").map(std::path::PathBuf::from);
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

#[cfg(test)]
mod tests {
    use super::rename_noreplace;
    use std::fs;

    #[test]
    fn rename_noreplace_moves_but_never_replaces() {
        let d = tempfile::tempdir().unwrap();
        let p = |n: &str| d.path().join(n);
        fs::write(p("a"), "a").unwrap();
        fs::write(p("b"), "b").unwrap();
        let e = rename_noreplace(&p("a"), &p("b")).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(p("a")).unwrap(), "a");
        assert_eq!(fs::read_to_string(p("b")).unwrap(), "b");
        // rename(2) would replace an empty directory with another directory.
        fs::create_dir_all(p("src/inner")).unwrap();
        fs::create_dir(p("empty")).unwrap();
        let e = rename_noreplace(&p("src"), &p("empty")).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert!(p("src/inner").is_dir() && p("empty").read_dir().unwrap().next().is_none());
        rename_noreplace(&p("a"), &p("c")).unwrap();
        assert!(!p("a").exists());
        assert_eq!(fs::read_to_string(p("c")).unwrap(), "a");
        let e = rename_noreplace(&p("missing"), &p("d")).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
}
