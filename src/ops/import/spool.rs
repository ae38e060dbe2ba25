//! Small staged files written on threads of their own: an import of 500 machines creates
//! 4,000 files of a few KiB, and creating each costs the kernel more than reading, verifying
//! and hashing it. The reader reads a small file whole (its sha256 checked as it is read, as
//! for every file) and hands the bytes over; a writing thread creates it (and its directory,
//! the first time: 500 machine directories made by the reader were a fifth of its time) and
//! writes it while the reader goes on. Files go over in batches of one directory's, which
//! whichever thread is free takes. At most [`QUEUE`] files of at most [`SMALL`] bytes wait
//! (and one batch not yet handed over).
//! The first error is kept and returned by [`Spool::finish`]; files after it are not written
//! (staging is then discarded anyway).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::{Error, IoContext, Result};
use crate::fs::{set_file_mode, umask_keeps};

/// Largest file written by the spool; larger ones are streamed by the reader.
pub(super) const SMALL: u64 = 64 << 10;
/// Files waiting at most: 4 MiB.
const QUEUE: usize = 64;

struct Job {
    dest: PathBuf,
    mode: u32,
    bytes: Vec<u8>,
}

/// Files handed over at once, all of one directory: one wake-up per batch instead of per
/// file (4,000 wake-ups were a tenth of the CPU time of an import of 500 machines).
const BATCH: usize = 8;

/// Batches waiting for a writing thread, shared by all of them.
type Queue = Arc<Mutex<Receiver<Vec<Job>>>>;

pub(super) struct Spool {
    tx: Option<SyncSender<Vec<Job>>>,
    threads: Vec<JoinHandle<Result<()>>>,
    /// Files not yet handed over: one directory's, at most [`BATCH`].
    pending: Vec<Job>,
    /// Set by a thread that met an error: the others stop, the reader is told.
    failed: Arc<AtomicBool>,
}

impl Spool {
    /// One writing thread per core (the reader has one of its own), taking batches from one
    /// queue: whichever thread is free takes the next (a queue per thread, chosen by
    /// directory, left one idle while the reader waited on the other's full queue). A
    /// batch holds one directory's files. Every file is written inside `staging`.
    pub(super) fn new(staging: &Path) -> Spool {
        let within = Arc::new(staging.to_path_buf());
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let (tx, rx) = sync_channel::<Vec<Job>>(QUEUE / BATCH);
        let queue: Queue = Arc::new(Mutex::new(rx));
        let failed = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let (queue, within, failed) = (queue.clone(), within.clone(), failed.clone());
                std::thread::spawn(move || -> Result<()> {
                    loop {
                        let jobs = match queue.lock().map(|rx| rx.recv()) {
                            Ok(Ok(jobs)) => jobs,
                            // The reader is done (or a thread panicked holding the queue).
                            _ => return Ok(()),
                        };
                        if failed.load(Ordering::Relaxed) {
                            return Ok(());
                        }
                        if let Err(e) = write_batch(&within, &jobs) {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                })
            })
            .collect();
        Spool {
            tx: Some(tx),
            threads,
            pending: Vec::with_capacity(BATCH),
            failed,
        }
    }

    /// Has `bytes` written to the new file `dest` with `mode`. Once a thread has met an
    /// error, that error.
    pub(super) fn write(&mut self, dest: PathBuf, mode: u32, bytes: Vec<u8>) -> Result<()> {
        if self.failed.load(Ordering::Relaxed) {
            return self.stopped();
        }
        let other_dir = self
            .pending
            .first()
            .is_some_and(|j| j.dest.parent() != dest.parent());
        if self.pending.len() >= BATCH || other_dir {
            self.hand_over()?;
        }
        self.pending.push(Job { dest, mode, bytes });
        Ok(())
    }

    /// Hands the files waiting to the writing threads.
    fn hand_over(&mut self) -> Result<()> {
        let jobs = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
        if jobs.is_empty() {
            return Ok(());
        }
        match self.tx.as_ref().map(|tx| tx.send(jobs)) {
            Some(Ok(())) => Ok(()),
            _ => self.stopped(),
        }
    }

    /// The error that stopped the writing threads.
    fn stopped(&mut self) -> Result<()> {
        match self.finish() {
            Ok(()) => Err(Error::Bug("a staging thread stopped".into())),
            Err(e) => Err(e),
        }
    }

    /// Waits for every file handed over to be written; the first error met, if any.
    pub(super) fn finish(&mut self) -> Result<()> {
        if !self.failed.load(Ordering::Relaxed) {
            // Threads that stopped say why when joined below.
            let _ = self.hand_over_last();
        }
        self.tx = None;
        let mut first = Ok(());
        for thread in self.threads.drain(..) {
            let r = match thread.join() {
                Ok(r) => r,
                Err(_) => Err(Error::Bug("a staging thread panicked".into())),
            };
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// Sends what is pending, if anything, without waiting on an error.
    fn hand_over_last(&mut self) -> std::result::Result<(), ()> {
        let jobs = std::mem::take(&mut self.pending);
        match (&self.tx, jobs.is_empty()) {
            (Some(tx), false) => tx.send(jobs).map_err(|_| ()),
            _ => Ok(()),
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Writes one batch: files of one directory. On Linux each is created relative to a handle
/// on that directory, opened once (the kernel walks one name per file instead of the whole
/// path: a fifth of the path lookups of an import of many machines).
fn write_batch(within: &Path, jobs: &[Job]) -> Result<()> {
    #[cfg(target_os = "linux")]
    if let Some(dir) = jobs.first().and_then(|j| j.dest.parent()) {
        if jobs.iter().all(|j| j.dest.parent() == Some(dir)) {
            let handle = open_dir(within, dir)?;
            for job in jobs {
                write_at(&handle, &job.dest, job.mode, &job.bytes)?;
            }
            return Ok(());
        }
    }
    for job in jobs {
        write_file(within, &job.dest, job.mode, &job.bytes)?;
    }
    Ok(())
}

/// A handle on directory `dir` inside `within` (made, 0700, if it is not there yet), for
/// creating files in it; never a symbolic link.
#[cfg(target_os = "linux")]
fn open_dir(within: &Path, dir: &Path) -> Result<rustix::fd::OwnedFd> {
    use rustix::fs::{open, Mode, OFlags};
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match open(dir, flags, Mode::empty()) {
        Err(rustix::io::Errno::NOENT) => {
            crate::fs::mkdirs_private_within(within, dir)?;
            open(dir, flags, Mode::empty())
        }
        r => r,
    }
    .map_err(|e| Error::io("open", dir, std::io::Error::from(e)))
}

/// [`write_file`] relative to `dir`, the handle on `dest`'s directory.
#[cfg(target_os = "linux")]
fn write_at(dir: &rustix::fd::OwnedFd, dest: &Path, mode: u32, bytes: &[u8]) -> Result<()> {
    use rustix::fs::{openat, Mode, OFlags};
    let name = dest
        .file_name()
        .ok_or_else(|| Error::Bug(format!("{} has no file name", dest.display())))?;
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = openat(dir, name, flags, Mode::from_raw_mode(mode))
        .map_err(|e| Error::io("create", dest, std::io::Error::from(e)))?;
    fill_new(std::fs::File::from(fd), dest, mode, bytes)
}

/// Creates `dest` inside `within` (never an existing file) with `mode` whatever the umask,
/// and writes `bytes`; its directory (0700) is made first if it is not there yet.
pub(super) fn write_file(within: &Path, dest: &Path, mode: u32, bytes: &[u8]) -> Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    let file = match opts.open(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = dest.parent().unwrap_or(within);
            crate::fs::mkdirs_private_within(within, dir)?;
            opts.open(dest)
        }
        r => r,
    }
    .ctx("create", dest)?;
    fill_new(file, dest, mode, bytes)
}

/// Gives the file just created at `dest` exactly `mode` (when the umask took bits from it)
/// and writes `bytes`.
fn fill_new(mut file: std::fs::File, dest: &Path, mode: u32, bytes: &[u8]) -> Result<()> {
    if !umask_keeps(mode) {
        set_file_mode(&file, dest, mode)?;
    }
    // Made durable all at once by sync_staged() before the journal is written.
    file.write_all(bytes).ctx("write", dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_handed_over_is_written_with_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path());
        let mut want = Vec::new();
        for d in 0..8 {
            let sub = dir.path().join(format!("m{d}"));
            std::fs::create_dir(&sub).unwrap();
            for f in 0..20 {
                let p = sub.join(format!("f{f}"));
                let bytes = format!("{d}/{f}").repeat(f + 1).into_bytes();
                let mode = if f % 2 == 0 { 0o600 } else { 0o644 };
                spool.write(p.clone(), mode, bytes.clone()).unwrap();
                want.push((p, mode, bytes));
            }
        }
        spool.finish().unwrap();
        for (p, mode, bytes) in want {
            assert_eq!(std::fs::read(&p).unwrap(), bytes);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let got = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                assert_eq!(got, mode, "{}", p.display());
            }
        }
    }

    #[test]
    fn the_first_error_is_said_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("existing");
        std::fs::write(&existing, b"kept").unwrap();
        let mut spool = Spool::new(dir.path());
        spool
            .write(existing.clone(), 0o600, b"new".to_vec())
            .unwrap();
        // Once the thread has stopped, a later write says its error; finish says it too.
        let mut said = None;
        for i in 0..1000 {
            let p = dir.path().join(format!("later{i}"));
            if let Err(e) = spool.write(p, 0o600, Vec::new()) {
                said = Some(e.to_string());
                break;
            }
        }
        let finished = spool.finish();
        let msg = said.or_else(|| finished.err().map(|e| e.to_string()));
        let msg = msg.expect("the error is said");
        assert!(msg.contains("existing"), "{msg}");
        assert_eq!(std::fs::read(&existing).unwrap(), b"kept");
    }
}
