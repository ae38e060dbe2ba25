//! The store's writer lock: one mbundle writes to a store at a time; readers never take it.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// The lock file serializing mbundle writers on one store.
pub const LOCK_FILE: &str = ".mbundle.lock";

/// Holds the store lock; removes the lock file when dropped, while still holding it.
///
/// The protocol, which keeps one writer per store however the calls interleave: open (or
/// create) the lock file, take its lock, then check that the file locked is still the one at
/// the path. A writer that finishes unlinks the file *before* releasing its lock, so a writer
/// that opened the old file and locks it late finds it unlinked (or replaced by a newer
/// writer's) and tries again with the current one instead of running beside that writer.
pub struct StoreLock {
    path: PathBuf,
    _file: File,
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // `_file` (and with it the lock) is closed after this body runs.
        let _ = fs::remove_file(&self.path);
    }
}

/// Takes the store's writer lock (fails at once if another mbundle holds it).
pub fn lock_store(root: &Path) -> Result<StoreLock> {
    try_lock_store(root)?.ok_or_else(|| {
        Error::cannot(
            format!("another mbundle is writing to {}", root.display()),
            "wait for it to finish",
        )
    })
}

/// Opens (or creates) the lock file, never through a link and only as a regular file of one
/// name: root taking the lock of another user's store must not create or lock a file where
/// that user's link points, nor wait on a FIFO put there.
fn open_lock_file(path: &Path) -> Result<File> {
    let refuse = |what: String| Error::UnsafeLock {
        path: path.to_path_buf(),
        what,
    };
    let mut opts = OpenOptions::new();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
        #[cfg(target_os = "linux")]
        opts.custom_flags(
            (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
        );
    }
    if let Ok(m) = fs::symlink_metadata(path) {
        if !m.is_file() {
            return Err(refuse(
                super::outfile::type_name(&m.file_type()).to_string(),
            ));
        }
    }
    let file = match opts.open(path) {
        Ok(f) => f,
        // O_NOFOLLOW on a link that appeared since the look above.
        Err(_) if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) => {
            return Err(refuse("a symbolic link".into()))
        }
        Err(e) => return Err(Error::io("create", path, e)),
    };
    let meta = file.metadata().ctx("stat", path)?;
    if !meta.is_file() {
        return Err(refuse(
            super::outfile::type_name(&meta.file_type()).to_string(),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() != 1 {
            return Err(refuse(format!(
                "a file with {} names (a hard link)",
                meta.nlink()
            )));
        }
    }
    Ok(file)
}

/// Takes the store's writer lock, or `None` when another process holds it.
pub fn try_lock_store(root: &Path) -> Result<Option<StoreLock>> {
    let path = root.join(LOCK_FILE);
    for _ in 0..64 {
        let file = open_lock_file(&path)?;
        crate::failpoint::failpoint("store-lock")?;
        match file.try_lock() {
            Ok(()) if super::same_file(&path, &file) => {
                return Ok(Some(StoreLock { path, _file: file }))
            }
            // Locked a file its last holder unlinked on the way out: take the current one.
            Ok(()) => continue,
            Err(fs::TryLockError::WouldBlock) => return Ok(None),
            Err(fs::TryLockError::Error(e)) => return Err(Error::io("lock", path, e)),
        }
    }
    Err(Error::io(
        "lock",
        path,
        io::Error::other("the lock file kept being replaced"),
    ))
}
