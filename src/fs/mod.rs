//! The ground every writer stands on: renames that never replace, private directories and
//! file modes whatever the umask, syncing, the store's writer lock, and the files named with
//! `-o`. Nothing here knows what a machine or a bundle is.

pub mod beneath;
pub mod lock;
pub mod outfile;
pub mod stats;
pub mod writeback;

use std::fs::{self, File};
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// Creates a directory 0700 whatever the umask.
pub fn mkdir_private(p: &Path) -> Result<()> {
    let mut b = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(p).ctx("create directory", p)?;
    if umask_keeps(0o700) {
        Ok(())
    } else {
        set_mode(p, 0o700)
    }
}

/// Makes `dir` and whatever of its parents is missing below `within` (which must exist),
/// each 0700 whatever the umask. A directory that is already there is fine: several threads
/// make the directories of one private staging tree, and whichever comes first makes each.
pub fn mkdirs_private_within(within: &Path, dir: &Path) -> Result<()> {
    if dir == within {
        return Ok(());
    }
    let Some(parent) = dir.parent().filter(|p| p.starts_with(within)) else {
        return Err(Error::Bug(format!(
            "{} is not inside {}",
            dir.display(),
            within.display()
        )));
    };
    // Made straight away (one mkdir where looking first and then making took three calls);
    // the parents only when the kernel says one is missing.
    let made = match mkdir_private(dir) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            mkdirs_private_within(within, parent)?;
            mkdir_private(dir)
        }
        r => r,
    };
    match made {
        Err(Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() =>
        {
            Ok(())
        }
        r => r,
    }
}

/// Drops `value` on a thread of its own: freeing a large structure (thousands of paths and
/// maps) no longer delays what comes next; if the process ends first, the OS frees it.
pub fn drop_later<T: Send + 'static>(value: T) {
    // No thread to be had: the closure, and `value` with it, is dropped right here.
    let _ = std::thread::Builder::new()
        .name("drop".into())
        .spawn(move || drop(value));
}

/// The process umask, read once from /proc/self/status (reading it with umask(2) would
/// briefly change it for every thread). None where that is not available.
fn process_umask() -> Option<u32> {
    static UMASK: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(line.trim(), 8).ok()
    })
}

/// Whether a file or directory created with `mode` gets exactly that mode under the
/// current umask, so that no chmod is needed afterwards (one syscall fewer per file: an
/// import of 500 machines creates thousands).
pub fn umask_keeps(mode: u32) -> bool {
    cfg!(unix) && process_umask().is_some_and(|u| mode & u == 0)
}

/// Sets a path's mode (chmod).
pub fn set_mode(p: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).ctx("set permissions of", p)?;
    }
    #[cfg(not(unix))]
    let _ = (p, mode);
    Ok(())
}

/// Sets an open file's mode (fchmod: no second path lookup).
pub fn set_file_mode(file: &File, path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))
            .ctx("set permissions of", path)?;
    }
    #[cfg(not(unix))]
    let _ = (file, path, mode);
    Ok(())
}

/// Makes a directory's entries durable (fsync of the directory).
pub fn sync_dir(p: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(p).and_then(|f| f.sync_all()).ctx("sync", p)?;
    #[cfg(not(unix))]
    let _ = p;
    Ok(())
}

/// Whether `file` is (still) the file at `path`.
pub(crate) fn same_file(path: &Path, file: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (fs::symlink_metadata(path), file.metadata()) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

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

/// A cache of this thread's that exists while the guard [`thread_cache`] returns lives: the
/// first guard on a thread makes it empty, and dropping that guard drops the cache (a guard
/// taken while another lives shares its cache and leaves it be).
pub struct ThreadCache<T: 'static> {
    key: &'static std::thread::LocalKey<std::cell::RefCell<Option<T>>>,
    nested: bool,
}

/// Starts the cache `key` on this thread unless it is already there; see [`ThreadCache`].
pub fn thread_cache<T: Default>(
    key: &'static std::thread::LocalKey<std::cell::RefCell<Option<T>>>,
) -> ThreadCache<T> {
    let nested = key.with(|c| {
        let mut c = c.borrow_mut();
        let nested = c.is_some();
        if !nested {
            *c = Some(T::default());
        }
        nested
    });
    ThreadCache { key, nested }
}

impl<T> Drop for ThreadCache<T> {
    fn drop(&mut self) {
        if !self.nested {
            self.key.with(|c| *c.borrow_mut() = None);
        }
    }
}

/// Runs `f` over `items` on up to one thread per core and returns the results in the items'
/// order; the first error in that order is the one returned, and the others stop at their next
/// item. Each thread calls `init` first and keeps what it returns until it is done (a cache of
/// its own). With fewer than `per_thread` items per thread, everything runs on this thread:
/// for work on many small files (a store of 500 machines), where each item is independent.
pub fn par_map<T: Sync, R: Send, G>(
    items: &[T],
    per_thread: usize,
    init: impl Fn() -> G + Sync,
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len() / per_thread.max(1))
        .max(1);
    if threads == 1 {
        let _kept = init();
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<Result<R>>> = items.iter().map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let _kept = init();
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        let r = f(item);
                        let failed = r.is_err();
                        done.push((i, r));
                        if failed {
                            next.store(items.len(), Ordering::Relaxed);
                            break;
                        }
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            let done = h
                .join()
                .map_err(|_| crate::error::Error::Bug("a worker thread panicked".into()))?;
            for (i, r) in done {
                slots[i] = Some(r);
            }
        }
        Ok::<(), crate::error::Error>(())
    })?;
    // Items are taken in order: every one before an error has its result.
    let mut out = Vec::with_capacity(items.len());
    for slot in slots {
        match slot {
            Some(r) => out.push(r?),
            None => break,
        }
    }
    if out.len() < items.len() {
        return Err(crate::error::Error::Bug("an item was not processed".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{mkdirs_private_within, rename_noreplace};
    use std::fs;

    #[test]
    fn mkdirs_within_makes_missing_parents_0700_and_takes_what_is_there() {
        let d = tempfile::tempdir().unwrap();
        let within = d.path();
        let deep = within.join("a/b/c");
        mkdirs_private_within(within, &deep).unwrap();
        #[cfg(unix)]
        for p in ["a", "a/b", "a/b/c"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(within.join(p)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{p}");
        }
        // Already there: fine, and nothing inside is touched.
        fs::write(deep.join("f"), "kept").unwrap();
        mkdirs_private_within(within, &deep).unwrap();
        mkdirs_private_within(within, within).unwrap();
        assert_eq!(fs::read_to_string(deep.join("f")).unwrap(), "kept");
        // A file where a directory belongs is an error, at any depth.
        fs::write(within.join("file"), "x").unwrap();
        assert!(mkdirs_private_within(within, &within.join("file")).is_err());
        assert!(mkdirs_private_within(within, &within.join("file/sub")).is_err());
        // Never outside `within`.
        let outside = tempfile::tempdir().unwrap();
        assert!(mkdirs_private_within(within, &outside.path().join("x")).is_err());
        assert!(!outside.path().join("x").exists());
        // Threads racing for the same directories all succeed.
        let racing = within.join("r/s/t");
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| mkdirs_private_within(within, &racing).unwrap());
            }
        });
        assert!(racing.is_dir());
    }

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
