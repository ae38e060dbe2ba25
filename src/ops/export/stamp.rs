//! What tells that a file changed between an export's two passes: its [`Stamp`], and the size
//! up to which a file is hashed again instead.

use std::fs;
#[cfg(not(unix))]
use std::time::SystemTime;

/// What changes when a file is written to: size, times (ctime cannot be set back by a
/// user), inode and device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
    dev: u64,
}

impl Stamp {
    /// The stamp of content that is not a file.
    pub fn none() -> Stamp {
        Stamp {
            len: 0,
            mtime_ns: 0,
            ctime_ns: 0,
            ino: 0,
            dev: 0,
        }
    }

    /// Reads the stamp of an open file's metadata.
    pub fn of(meta: &fs::Metadata) -> Stamp {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Stamp {
                len: meta.len(),
                mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
                ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
                ino: meta.ino(),
                dev: meta.dev(),
            }
        }
        #[cfg(not(unix))]
        {
            let t = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            Stamp {
                len: meta.len(),
                mtime_ns: t,
                ctime_ns: 0,
                ino: 0,
                dev: 0,
            }
        }
    }
}

/// Files up to this size are hashed again as they stream; larger ones (VM disks) are checked
/// by their [`Stamp`] before and after, which any write changes, instead of paying for a
/// second sha256 of gigabytes.
pub const REHASH_MAX: u64 = 8 << 20;
