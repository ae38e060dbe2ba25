//! Directories held open, and work done relative to them without following a link: the
//! recovery of an interrupted import carries out renames that a file (its journal) names, so
//! every directory on the way is opened with `O_NOFOLLOW`, one component at a time, and the
//! rename is made between two open directories. A link planted anywhere on the way, or
//! swapped in while the steps run, makes the step fail instead of moving a file elsewhere.
//!
//! On Linux this is `openat`/`mkdirat`/`renameat2` on descriptors; elsewhere each component
//! is looked at (without following) before the path is used, which narrows the window but
//! cannot close it.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// What a name inside a held directory is, looked at without following a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Nothing by that name.
    Absent,
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link, a FIFO, a device, a socket.
    Other,
}

/// A directory held open (on Linux by a descriptor) with the path it was opened as, for
/// messages.
pub struct HeldDir {
    path: PathBuf,
    #[cfg(target_os = "linux")]
    fd: std::os::fd::OwnedFd,
}

#[cfg(target_os = "linux")]
fn errno(e: rustix::io::Errno) -> io::Error {
    io::Error::from(e)
}

impl HeldDir {
    /// Opens a directory the user named (a link to it is followed: the user chose it).
    pub fn open(path: &Path) -> Result<HeldDir> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags, CWD};
            let fd = rustix::fs::openat(
                CWD,
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| Error::io("open", path, errno(e)))?;
            Ok(HeldDir {
                path: path.to_path_buf(),
                fd,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            if !std::fs::metadata(path).ctx("open", path)?.is_dir() {
                return Err(Error::io("open", path, io::Error::other("not a directory")));
            }
            Ok(HeldDir {
                path: path.to_path_buf(),
            })
        }
    }

    /// The path this directory was opened as.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the directory `rel` (components separated by `/`) below this one, refusing a
    /// link or anything but a directory at every component.
    pub fn open_dir(&self, rel: &str) -> io::Result<HeldDir> {
        let mut path = self.path.clone();
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags};
            let mut fd: Option<std::os::fd::OwnedFd> = None;
            for comp in rel.split('/') {
                check_component(comp)?;
                path.push(comp);
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let next = match &fd {
                    Some(f) => rustix::fs::openat(f, comp, flags, Mode::empty()),
                    None => rustix::fs::openat(&self.fd, comp, flags, Mode::empty()),
                }
                .map_err(errno)?;
                fd = Some(next);
            }
            let fd = fd.ok_or_else(|| io::Error::other("an empty path"))?;
            Ok(HeldDir { path, fd })
        }
        #[cfg(not(target_os = "linux"))]
        {
            for comp in rel.split('/') {
                check_component(comp)?;
                path.push(comp);
                if !std::fs::symlink_metadata(&path)?.is_dir() {
                    return Err(io::Error::other("not a directory (or a link)"));
                }
            }
            Ok(HeldDir { path })
        }
    }

    /// What `name` is in this directory, without following a link.
    pub fn kind(&self, name: &str) -> io::Result<Kind> {
        check_component(name)?;
        #[cfg(target_os = "linux")]
        let found = rustix::fs::statat(&self.fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
            .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode))
            .map_err(errno);
        #[cfg(target_os = "linux")]
        let kind = |t: rustix::fs::FileType| match t {
            rustix::fs::FileType::Directory => Kind::Dir,
            rustix::fs::FileType::RegularFile => Kind::File,
            _ => Kind::Other,
        };
        #[cfg(not(target_os = "linux"))]
        let found = std::fs::symlink_metadata(self.path.join(name)).map(|m| m.file_type());
        #[cfg(not(target_os = "linux"))]
        let kind = |t: std::fs::FileType| {
            if t.is_dir() {
                Kind::Dir
            } else if t.is_file() {
                Kind::File
            } else {
                Kind::Other
            }
        };
        match found {
            Ok(t) => Ok(kind(t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Kind::Absent),
            Err(e) => Err(e),
        }
    }

    /// The owner (user id) of this directory; `None` where there are none.
    pub fn owner(&self) -> Option<u32> {
        #[cfg(target_os = "linux")]
        {
            rustix::fs::fstat(&self.fd).ok().map(|st| st.st_uid)
        }
        #[cfg(all(unix, not(target_os = "linux")))]
        {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(&self.path).ok().map(|m| m.uid())
        }
        #[cfg(not(unix))]
        None
    }

    /// Makes the directory `name` here, 0700 whatever the umask.
    pub fn mkdir(&self, name: &str) -> Result<()> {
        let path = self.path.join(name);
        check_component(name).ctx("create directory", &path)?;
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags};
            rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o700))
                .map_err(|e| Error::io("create directory", &path, errno(e)))?;
            let made = rustix::fs::openat(
                &self.fd,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| Error::io("open", &path, errno(e)))?;
            rustix::fs::fchmod(&made, Mode::from_raw_mode(0o700))
                .map_err(|e| Error::io("set permissions of", &path, errno(e)))
        }
        #[cfg(not(target_os = "linux"))]
        {
            super::mkdir_private(&path)
        }
    }

    /// Moves `name` of this directory to `name` of `to`, never replacing what is there
    /// ([`io::ErrorKind::AlreadyExists`] then, and nothing moves).
    pub fn rename_noreplace(&self, name: &str, to: &HeldDir) -> io::Result<()> {
        self.rename_as_noreplace(name, to, name)
    }

    /// Moves the entry `name` here to `to`'s entry `new_name`, never replacing one.
    pub fn rename_as_noreplace(&self, name: &str, to: &HeldDir, new_name: &str) -> io::Result<()> {
        check_component(name)?;
        check_component(new_name)?;
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::RenameFlags;
            match rustix::fs::renameat_with(
                &self.fd,
                name,
                &to.fd,
                new_name,
                RenameFlags::NOREPLACE,
            ) {
                Ok(()) => return Ok(()),
                Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
                Err(e) => return Err(errno(e)),
            }
            // A file system without RENAME_NOREPLACE: look first, then rename.
            if to.kind(new_name)? != Kind::Absent {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "the destination exists",
                ));
            }
            rustix::fs::renameat(&self.fd, name, &to.fd, new_name).map_err(errno)
        }
        #[cfg(not(target_os = "linux"))]
        {
            super::rename_noreplace(&self.path.join(name), &to.path.join(new_name))
        }
    }

    /// Reads the regular file `name` here, at most `max` bytes: `None` when there is none;
    /// a link, a FIFO or anything but a regular file is an error, and so is a larger file.
    pub fn read_file(&self, name: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let path = self.path.join(name);
        match self.kind(name).ctx("stat", &path)? {
            Kind::Absent => return Ok(None),
            Kind::File => {}
            _ => {
                return Err(Error::io(
                    "read",
                    &path,
                    io::Error::other("not a regular file"),
                ))
            }
        }
        #[cfg(target_os = "linux")]
        let file = {
            use rustix::fs::{Mode, OFlags};
            let fd = rustix::fs::openat(
                &self.fd,
                name,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| Error::io("open", &path, errno(e)))?;
            File::from(fd)
        };
        #[cfg(not(target_os = "linux"))]
        let file = File::open(&path).ctx("open", &path)?;
        read_open_bounded(file, &path, max).map(Some)
    }
}

/// The user this process acts as (its effective user id); `None` where there are none.
pub fn current_user() -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        Some(rustix::process::geteuid().as_raw())
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Whether the user `uid` (primary group `gid`) could read the file at `path`: search
/// permission on every directory above it and read permission on the file, by the owner,
/// group and other bits. Conservative: a group grants access only when it is `gid` (the
/// user's other groups are not looked up), and ACLs are not read; root reads everything.
/// A link is followed, each step checked the same way.
#[cfg(unix)]
pub fn readable_by(uid: u32, gid: u32, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if uid == 0 {
        return true;
    }
    let allows = |m: &std::fs::Metadata, bit: u32| {
        let mode = m.mode();
        if m.uid() == uid {
            mode & (bit << 6) != 0
        } else if m.gid() == gid {
            mode & (bit << 3) != 0
        } else {
            mode & bit != 0
        }
    };
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    let mut dir = real.parent();
    while let Some(d) = dir {
        match std::fs::metadata(d) {
            Ok(m) if allows(&m, 0o1) => {}
            _ => return false,
        }
        dir = d.parent();
    }
    std::fs::metadata(&real).is_ok_and(|m| allows(&m, 0o4))
}

/// Only a plain name: not empty, not `.` or `..`, no separator, no NUL.
fn check_component(comp: &str) -> io::Result<()> {
    if comp.is_empty() || comp == "." || comp == ".." || comp.contains(['/', '\\', '\0']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{comp:?} is not a plain file name"),
        ));
    }
    Ok(())
}

/// The size of an open file, which must be a regular file: anything else is refused with
/// what it is.
fn regular_size(file: &File, path: &Path) -> Result<u64> {
    let meta = file.metadata().ctx("stat", path)?;
    if !meta.is_file() {
        return Err(Error::io(
            "read",
            path,
            io::Error::other(format!(
                "{}, not a regular file",
                super::outfile::type_name(&meta.file_type())
            )),
        ));
    }
    Ok(meta.len())
}

/// Opens `path` for reading only if it is a regular file (a link to one is followed), with
/// the size it had then. A FIFO opens at once (O_NONBLOCK) and is then refused, instead of
/// waiting for a writer forever; a device or directory is refused too.
pub fn open_regular(path: &Path) -> Result<(File, u64)> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = opts.open(path).ctx("read", path)?;
    let size = regular_size(&file, path)?;
    Ok((file, size))
}

/// Reads an open file whole, refusing anything but a regular file and more than `max` bytes
/// whatever its size claims (a file in /proc says 0 and holds gigabytes).
pub fn read_open_bounded(file: File, path: &Path, max: u64) -> Result<Vec<u8>> {
    let size = regular_size(&file, path)?;
    read_up_to(file, size, path, max)
}

/// Reads at most `max` bytes of `file` (which says it holds `size`); more is an error.
fn read_up_to(file: File, size: u64, path: &Path, max: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(size.min(max) as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .ctx("read", path)?;
    if bytes.len() as u64 > max {
        return Err(Error::io(
            "read",
            path,
            io::Error::other(format!(
                "larger than {}, far more than such a file holds",
                crate::error::human(max)
            )),
        ));
    }
    Ok(bytes)
}

/// Reads a regular file whole, at most `max` bytes (see [`open_regular`] and
/// [`read_open_bounded`]).
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    let (file, size) = open_regular(path)?;
    read_up_to(file, size, path, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn links_on_the_way_are_refused_and_renames_never_replace() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::create_dir(root.join("elsewhere")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("elsewhere"), root.join("a/link")).unwrap();
        let held = HeldDir::open(root).unwrap();
        assert!(held.open_dir("a/b").is_ok());
        #[cfg(unix)]
        {
            assert!(held.open_dir("a/link").is_err());
            assert_eq!(
                held.open_dir("a").unwrap().kind("link").unwrap(),
                Kind::Other
            );
        }
        for bad in ["", "..", "a/../a", "/etc", "a//b", "."] {
            assert!(held.open_dir(bad).is_err(), "{bad:?}");
        }
        assert_eq!(held.kind("nothing").unwrap(), Kind::Absent);
        assert_eq!(held.kind("a").unwrap(), Kind::Dir);
        fs::write(root.join("a/f"), "x").unwrap();
        fs::write(root.join("a/b/f"), "y").unwrap();
        let a = held.open_dir("a").unwrap();
        let b = held.open_dir("a/b").unwrap();
        let e = a.rename_noreplace("f", &b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(root.join("a/b/f")).unwrap(), "y");
        fs::remove_file(root.join("a/b/f")).unwrap();
        a.rename_noreplace("f", &b).unwrap();
        assert_eq!(fs::read_to_string(root.join("a/b/f")).unwrap(), "x");
        held.mkdir("made").unwrap();
        assert_eq!(held.kind("made").unwrap(), Kind::Dir);
    }

    #[test]
    fn bounded_reads_take_only_regular_files_and_stop_at_the_bound() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        fs::write(&f, vec![b'x'; 100]).unwrap();
        assert_eq!(read_bounded(&f, 100).unwrap().len(), 100);
        assert!(read_bounded(&f, 99).is_err());
        assert!(read_bounded(d.path(), 100).is_err());
        #[cfg(target_os = "linux")]
        {
            // Says it is empty, holds far more.
            let e = read_bounded(Path::new("/proc/self/pagemap"), 1 << 20);
            assert!(e.is_err());
            assert!(read_bounded(Path::new("/dev/zero"), 1 << 20).is_err());
            let fifo = d.path().join("fifo");
            assert!(std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success());
            // Refused at once, not waiting for a writer.
            assert!(read_bounded(&fifo, 100).is_err());
            let held = HeldDir::open(d.path()).unwrap();
            assert!(held.read_file("fifo", 100).is_err());
            assert_eq!(held.read_file("f", 100).unwrap().unwrap().len(), 100);
            assert!(held.read_file("absent", 100).unwrap().is_none());
        }
    }
}
