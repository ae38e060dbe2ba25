//! Files the user names with `-o` / `--output`: what may be written there, and how.
//!
//! - absent or a regular file: the content goes to a 0600 temporary file beside it,
//!   `.NAME.mbundle-partial.XXXXXX`, locked while it is written, synced and renamed into place
//!   only when complete (an existing file is replaced only with `--force`);
//! - a FIFO or a character device (`/dev/null`, `/dev/stdout`, a named pipe): written into,
//!   streamed, never replaced: renaming a file over `/dev/null` would break the system;
//! - anything else (a directory, a socket, a block device): refused, with or without `--force`.
//!
//! A temporary file whose writer died (SIGKILL, power loss) is removed by the next write into
//! the same directory: it is recognised by its name, its owner, its first bytes, and by its
//! lock being free (a running writer holds it).

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// The part of a temporary file's name that marks it as ours.
pub const PARTIAL_MARK: &str = ".mbundle-partial.";

/// How a path named with `-o` is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Absent or a regular file: temporary file + rename.
    Replace,
    /// A FIFO or character device: written into.
    Stream,
}

/// What a file is, in words: "a socket", "a FIFO", "a directory"...
pub fn type_name(ft: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_fifo() {
            return "a FIFO";
        }
    }
    if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

fn is_stream(ft: &fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        ft.is_fifo() || ft.is_char_device()
    }
    #[cfg(not(unix))]
    {
        let _ = ft;
        false
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Decides how `path` can be written, before any work is done.
pub fn check(path: &Path, force: bool) -> Result<Target> {
    // The target of a symbolic link decides what is written; a link to nothing is replaced.
    match fs::metadata(path) {
        Ok(meta) => {
            let ft = meta.file_type();
            if is_stream(&ft) {
                return Ok(Target::Stream);
            }
            if ft.is_dir() {
                return Err(Error::usage(
                    format!("{} is a directory", path.display()),
                    "give a file name with -o, e.g. -o machines.mbundle",
                ));
            }
            if !ft.is_file() {
                return Err(Error::usage(
                    format!(
                        "{} is {}: -o writes a regular file, a FIFO or a character device",
                        path.display(),
                        type_name(&ft)
                    ),
                    "give another file name with -o",
                ));
            }
            if !force {
                return Err(Error::OutputExists {
                    path: path.to_path_buf(),
                });
            }
        }
        Err(_) if fs::symlink_metadata(path).is_ok() && !force => {
            return Err(Error::OutputExists {
                path: path.to_path_buf(),
            });
        }
        Err(_) => {}
    }
    let parent = parent_dir(path);
    if !parent.is_dir() {
        return Err(Error::usage(
            format!("directory {} does not exist", parent.display()),
            "create it first, or write elsewhere with -o",
        ));
    }
    Ok(Target::Replace)
}

/// An output being written: a locked temporary file, or an opened FIFO/device.
pub struct OutFile {
    path: PathBuf,
    force: bool,
    inner: Inner,
}

enum Inner {
    Temp(tempfile::NamedTempFile),
    Stream(File),
}

impl OutFile {
    /// Opens `path` for writing as [`check`] decides. (The temporary files dead writers left
    /// beside it are the caller's to clear first, with [`remove_stale_beside`], so it can say
    /// so.)
    pub fn create(path: &Path, force: bool) -> Result<OutFile> {
        match check(path, force)? {
            Target::Stream => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .ctx("open", path)?;
                let meta = file.metadata().ctx("stat", path)?;
                if !is_stream(&meta.file_type()) {
                    return Err(Error::cannot(
                        format!("{} changed while it was being opened", path.display()),
                        "run the command again",
                    ));
                }
                if file.is_terminal() {
                    return Err(Error::OutputIsTerminal);
                }
                Ok(OutFile {
                    path: path.to_path_buf(),
                    force,
                    inner: Inner::Stream(file),
                })
            }
            Target::Replace => {
                let tmp = locked_temp(path, &parent_dir(path))?;
                Ok(OutFile {
                    path: path.to_path_buf(),
                    force,
                    inner: Inner::Temp(tmp),
                })
            }
        }
    }

    /// The file to write to.
    pub fn file(&self) -> &File {
        match &self.inner {
            Inner::Temp(t) => t.as_file(),
            Inner::Stream(f) => f,
        }
    }

    /// Makes the content durable and visible: the temporary file is synced and renamed over
    /// the target (never over an existing one without `force`, never over anything but a
    /// regular file), then the directory is synced. A stream is only flushed.
    pub fn finish(self) -> Result<()> {
        let path = self.path;
        match self.inner {
            Inner::Stream(f) => {
                drop(f);
                Ok(())
            }
            Inner::Temp(tmp) => {
                tmp.as_file().sync_all().ctx("sync", &path)?;
                if self.force {
                    // Checked again at the last moment: a device or directory that appeared
                    // at the target meanwhile is never replaced.
                    if let Ok(meta) = fs::symlink_metadata(&path) {
                        let ft = meta.file_type();
                        if !ft.is_file() && !ft.is_symlink() {
                            return Err(Error::cannot(
                                format!(
                                    "{} became {} while it was being written; not replaced",
                                    path.display(),
                                    type_name(&ft)
                                ),
                                "run the command again",
                            ));
                        }
                    }
                    tmp.persist(&path)
                        .map_err(|e| Error::io("rename into", &path, e.error))?;
                } else {
                    tmp.persist_noclobber(&path).map_err(|e| {
                        if e.error.kind() == io::ErrorKind::AlreadyExists {
                            Error::OutputExists { path: path.clone() }
                        } else {
                            Error::io("rename into", &path, e.error)
                        }
                    })?;
                }
                if let Ok(dir) = File::open(parent_dir(&path)) {
                    let _ = dir.sync_all();
                }
                Ok(())
            }
        }
    }
}

/// Writes `data` to `path` atomically with `mode` (whatever the umask): a locked temporary
/// file beside it, synced, renamed over it, and the directory synced. The one way mbundle
/// replaces a small file of its own (certificates and config.json in regenerate-certs and
/// renew-ca); bundles and context files stream through [`OutFile`] the same way.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    let out = OutFile::create(path, true)?;
    crate::fs::set_file_mode(out.file(), path, mode)?;
    out.file().write_all(data).ctx("write", path)?;
    out.finish()
}

/// A 0600 temporary file beside `path`, locked by this process. A file whose lock another
/// writer's cleanup took first (and removed) is replaced by a new one.
fn locked_temp(path: &Path, parent: &Path) -> Result<tempfile::NamedTempFile> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    for _ in 0..16 {
        // tempfile creates with 0600 on Unix, so the content is never readable by others.
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}{PARTIAL_MARK}"))
            .tempfile_in(parent)
            .ctx("create a temporary file in", parent)?;
        if tmp.as_file().try_lock().is_err() {
            continue;
        }
        // Between creating and locking, a cleanup may have found it unlocked and removed it.
        if super::same_file(tmp.path(), tmp.as_file()) {
            return Ok(tmp);
        }
    }
    Err(Error::io(
        "create a temporary file in",
        parent,
        io::Error::other("other processes kept removing it"),
    ))
}

/// Whether a directory entry is a temporary file one of our writers made: the name
/// `.<name>.mbundle-partial.XXXXXX`, a regular file of this user, empty or starting like what
/// mbundle writes (an age file, a tar).
fn looks_ours(name: &str, meta: &fs::Metadata) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some((_, suffix)) = rest.rsplit_once(PARTIAL_MARK) else {
        return false;
    };
    if suffix.len() != 6 || !suffix.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    if !meta.file_type().is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != effective_uid() {
            return false;
        }
    }
    true
}

#[cfg(unix)]
fn effective_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file this process creates is its effective uid; /proc/self tells it
    // without unsafe code or another crate.
    fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

fn content_is_ours(file: &mut File) -> bool {
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return false,
        }
    }
    let head = &head[..n];
    n == 0
        || head.starts_with(b"age-encryption.org/")
        || (n >= 263 && &head[257..263] == b"ustar\0")
}

/// Removes the temporary files of writers that died in the directory `path` would be written
/// in (none for a FIFO or device); returns one note for each.
pub fn remove_stale_beside(path: &Path) -> Vec<String> {
    match fs::metadata(path) {
        Ok(m) if is_stream(&m.file_type()) => Vec::new(),
        _ => remove_stale(&parent_dir(path)),
    }
}

/// Removes the temporary files of writers that died in `dir`; returns one note for each.
/// Never touches a file whose lock is held: its writer is alive.
pub fn remove_stale(dir: &Path) -> Vec<String> {
    let mut notes = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return notes;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(meta) = e.metadata() else { continue };
        if !looks_ours(&name, &meta) {
            continue;
        }
        let path = e.path();
        let Ok(mut file) = File::open(&path) else {
            continue;
        };
        if file.try_lock().is_err()
            || !super::same_file(&path, &file)
            || !content_is_ours(&mut file)
        {
            continue;
        }
        // Unlinked while we hold the lock: a writer that locks it after us sees it gone.
        if fs::remove_file(&path).is_ok() {
            notes.push(format!(
                "removed {}, left by an earlier run that was killed while writing",
                path.display()
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_dead_writers_files_are_removed() {
        let d = tempfile::tempdir().unwrap();
        let p = |n: &str| d.path().join(n);
        fs::write(
            p(".a.mbundle.mbundle-partial.AbC123"),
            b"age-encryption.org/v1\n",
        )
        .unwrap();
        fs::write(p(".b.mbundle-partial.XYZ789"), b"").unwrap();
        // Not ours: wrong suffix, wrong content, no dot.
        fs::write(p(".c.mbundle-partial.toolong1"), b"").unwrap();
        fs::write(p(".d.mbundle-partial.AbC123"), b"my notes").unwrap();
        fs::write(p("e.mbundle-partial.AbC123"), b"").unwrap();
        // Ours, but its writer is alive (holds the lock).
        fs::write(p(".f.mbundle-partial.LiVe12"), b"age-encryption.org/v1\n").unwrap();
        let live = File::open(p(".f.mbundle-partial.LiVe12")).unwrap();
        live.lock().unwrap();
        let notes = remove_stale(d.path());
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(!p(".a.mbundle.mbundle-partial.AbC123").exists());
        assert!(!p(".b.mbundle-partial.XYZ789").exists());
        for kept in [
            ".c.mbundle-partial.toolong1",
            ".d.mbundle-partial.AbC123",
            "e.mbundle-partial.AbC123",
            ".f.mbundle-partial.LiVe12",
        ] {
            assert!(p(kept).exists(), "{kept} was removed");
        }
    }

    #[cfg(unix)]
    #[test]
    fn streams_are_written_into_and_the_rest_refused() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            check(Path::new("/dev/null"), false).unwrap(),
            Target::Stream
        );
        assert_eq!(check(Path::new("/dev/null"), true).unwrap(), Target::Stream);
        assert_eq!(
            check(&d.path().join("new"), false).unwrap(),
            Target::Replace
        );
        let sock = d.path().join("sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        for force in [false, true] {
            let e = check(&sock, force).unwrap_err().to_string();
            assert!(e.contains("is a socket"), "{e}");
            let e = check(d.path(), force).unwrap_err().to_string();
            assert!(e.contains("is a directory"), "{e}");
        }
    }
}
