//! Early writeback of a large file being written: every [`EVERY`] bytes, a thread of its own
//! flushes what was written so far (`fdatasync` on a second handle), so the disk works while
//! the writer is still producing data, and the one sync at the end finds little left to
//! write. Its errors are not reported: the final sync is what makes the file durable, and it
//! reports any. Used for the files an import stages and for the bundle an export writes.

use std::fs::File;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;

/// Bytes of a file written between two early flushes.
pub const EVERY: u64 = 32 << 20;

/// What to flush.
enum Flush {
    /// One file's data.
    Data(File),
    /// Everything written on the file system holding this directory (many small files).
    All(File),
}

/// The flushing thread; dropping it waits for the flush under way.
pub struct Writeback {
    tx: Option<SyncSender<Flush>>,
    thread: Option<JoinHandle<()>>,
}

impl Writeback {
    /// Starts the flushing thread.
    pub fn new() -> Writeback {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Flush>(1);
        let thread = std::thread::spawn(move || {
            for flush in rx {
                match flush {
                    Flush::Data(file) => {
                        let _ = file.sync_data();
                    }
                    Flush::All(dir) => sync_all(&dir),
                }
            }
        });
        Writeback {
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    /// Asks for `file` to be flushed, unless a flush is already waiting.
    pub fn kick(&self, file: &File) {
        if let (Some(tx), Ok(handle)) = (&self.tx, file.try_clone()) {
            let _ = tx.try_send(Flush::Data(handle));
        }
    }

    /// Asks for everything written on `dir`'s file system to be flushed (files too small to
    /// flush one by one), unless a flush is already waiting.
    pub fn kick_all(&self, dir: &File) {
        if let (Some(tx), Ok(handle)) = (&self.tx, dir.try_clone()) {
            let _ = tx.try_send(Flush::All(handle));
        }
    }
}

impl Default for Writeback {
    fn default() -> Writeback {
        Writeback::new()
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `syncfs` where there is one; elsewhere nothing (the final sync does it all).
fn sync_all(dir: &File) {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::fs::syncfs(dir);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = dir;
}
