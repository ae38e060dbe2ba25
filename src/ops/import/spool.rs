//! Small staged files written on threads of their own: an import of 500 machines creates
//! 4,000 files of a few KiB, and creating each costs the kernel more than reading, verifying
//! and hashing it. The reader reads a small file whole (its sha256 checked as it is read, as
//! for every file) and hands the bytes over; a writing thread creates it (and its directory,
//! the first time: 500 machine directories made by the reader were a fifth of its time) and
//! writes it while the reader goes on. At most [`QUEUE`] files of at most [`SMALL`] bytes wait
//! (and a [`BATCH`] per thread not yet handed over).
//! The first error is kept and returned by [`Spool::finish`]; files after it are not written
//! (staging is then discarded anyway).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
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

/// One writing thread and its queue.
type Lane = (SyncSender<Vec<Job>>, JoinHandle<Result<()>>);

pub(super) struct Spool {
    lanes: Vec<Lane>,
    /// Files not yet handed to each lane: handed over [`BATCH`] at a time.
    pending: Vec<Vec<Job>>,
}

/// Files handed to a writing thread at once: one wake-up per batch instead of per file
/// (4,000 wake-ups were a tenth of the CPU time of an import of 500 machines).
const BATCH: usize = 8;

/// The staging tree the spool writes into (every file's directories are made inside it).
type Within = std::sync::Arc<PathBuf>;

impl Spool {
    /// One writing thread per core (the reader has one of its own): files of one directory
    /// always go to the same thread, so no two threads wait on one directory's lock. Every
    /// file is written inside `staging`.
    pub(super) fn new(staging: &Path) -> Spool {
        let within: Within = std::sync::Arc::new(staging.to_path_buf());
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let lanes: Vec<Lane> = (0..threads)
            .map(|_| {
                let (tx, rx) = sync_channel::<Vec<Job>>((QUEUE / threads / BATCH).max(1));
                let within = within.clone();
                let thread = std::thread::spawn(move || {
                    for jobs in rx {
                        for job in &jobs {
                            write_new(&within, job)?;
                        }
                    }
                    Ok(())
                });
                (tx, thread)
            })
            .collect();
        Spool {
            pending: (0..lanes.len()).map(|_| Vec::new()).collect(),
            lanes,
        }
    }

    /// Has `bytes` written to the new file `dest` with `mode`. Once a thread has met an
    /// error, that error.
    pub(super) fn write(&mut self, dest: PathBuf, mode: u32, bytes: Vec<u8>) -> Result<()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        dest.parent().hash(&mut h);
        let lane = (h.finish() % self.lanes.len().max(1) as u64) as usize;
        let Some(pending) = self.pending.get_mut(lane) else {
            return Err(Error::Bug("no staging thread".into()));
        };
        pending.push(Job { dest, mode, bytes });
        if pending.len() < BATCH {
            return Ok(());
        }
        let jobs = std::mem::take(pending);
        self.hand_over(lane, jobs)
    }

    /// Hands `jobs` to the thread of `lane`.
    fn hand_over(&mut self, lane: usize, jobs: Vec<Job>) -> Result<()> {
        match self.lanes.get(lane).map(|(tx, _)| tx.send(jobs)) {
            Some(Ok(())) => Ok(()),
            // The thread stopped at an error: that is the one to say.
            _ => match self.finish() {
                Ok(()) => Err(Error::Bug("a staging thread stopped".into())),
                Err(e) => Err(e),
            },
        }
    }

    /// Waits for every file handed over to be written; the first error met, if any.
    pub(super) fn finish(&mut self) -> Result<()> {
        let mut first = Ok(());
        for ((tx, _), pending) in self.lanes.iter().zip(self.pending.iter_mut()) {
            let jobs = std::mem::take(pending);
            if !jobs.is_empty() {
                // A thread that stopped says why when it is joined below.
                let _ = tx.send(jobs);
            }
        }
        for (tx, thread) in self.lanes.drain(..) {
            drop(tx);
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
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Creates `job.dest` (never an existing file) with its mode whatever the umask, and writes
/// it; its directory (0700) is made first if it is not there yet.
fn write_new(within: &Path, job: &Job) -> Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(job.mode);
    }
    let mut file = match opts.open(&job.dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = job.dest.parent().unwrap_or(within);
            crate::fs::mkdirs_private_within(within, dir)?;
            opts.open(&job.dest)
        }
        r => r,
    }
    .ctx("create", &job.dest)?;
    if !umask_keeps(job.mode) {
        set_file_mode(&file, &job.dest, job.mode)?;
    }
    // Made durable all at once by sync_staged() before the journal is written.
    file.write_all(&job.bytes).ctx("write", &job.dest)
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
