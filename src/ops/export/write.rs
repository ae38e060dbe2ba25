//! The second pass: planned files streamed into the bundle (tar, gzip, age) to standard
//! output, a FIFO or device, or a locked temporary file renamed into place when complete.

use super::stamp::{Stamp, REHASH_MAX};
use super::NOT_WRITTEN;
use super::{Content, ExportPlan};

use crate::error::{Error, IoContext, Result};
use crate::format::bundle::{BundleWriter, SourceReadError};
use crate::progress::Progress;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Streams the planned files into a bundle written to `out` (second pass).
pub fn write<W: Write + Send + 'static>(
    plan: &ExportPlan,
    out: W,
    encryptor: age::Encryptor,
    out_name: &Path,
    progress: &Progress,
) -> Result<W> {
    let out_err = |e: io::Error| -> Error {
        if e.get_ref().is_some_and(|i| i.is::<Stopped>()) {
            if let Err(e) = crate::signals::check(NOT_WRITTEN) {
                return e;
            }
        }
        if let Some(src) = e
            .get_ref()
            .and_then(|i| i.downcast_ref::<SourceReadError>())
        {
            return Error::io(
                "read",
                src.path.clone(),
                io::Error::new(src.source.kind(), src.source.to_string()),
            );
        }
        Error::output(out_name, e)
    };
    let mut w = BundleWriter::new(out, encryptor, &plan.manifest, LEVEL).map_err(out_err)?;
    for f in &plan.files {
        crate::signals::check(NOT_WRITTEN)?;
        crate::failpoint::failpoint("export-file")?;
        let (path, stamp) = match &f.content {
            Content::Held { bytes, .. } | Content::Made { bytes, .. } => {
                let reader = SourceReader {
                    inner: io::Cursor::new(bytes.0.as_slice()),
                    path: None,
                    progress,
                };
                w.add_file(&f.entry, f.mtime, reader, false)
                    .map_err(out_err)?;
                continue;
            }
            Content::Disk { path, stamp } => (path, stamp),
        };
        let changed = || Error::ChangedWhileExporting { path: path.clone() };
        let file = File::open(path).ctx("read", path)?;
        if Stamp::of(&file.metadata().ctx("stat", path)?) != *stamp {
            return Err(changed());
        }
        let rehash = f.entry.size <= REHASH_MAX;
        let reader = SourceReader {
            inner: &file,
            path: Some(path),
            progress,
        };
        let (count, sha) = w
            .add_file(&f.entry, f.mtime, reader, rehash)
            .map_err(out_err)?;
        if count != f.entry.size || (rehash && sha.as_deref() != Some(f.entry.sha256.as_str())) {
            return Err(changed());
        }
        if Stamp::of(&file.metadata().ctx("stat", path)?) != *stamp {
            return Err(changed());
        }
    }
    w.finish().map_err(out_err)
}

/// The deflate level of a compressed chunk where it pays (else 1: `pgzip`'s samples decide).
/// libdeflate's 2 (greedy) everywhere gives 1.009 of `pigz -6`'s size on a realistic VM disk
/// (3: 1.007, 5: 1.005) and takes about 0.8 of level 5's time; level 1 where level 2's
/// samples are not 3 % smaller, 1.015 of it in 0.92 of level 2's time (bench/run.sh, r).
pub const LEVEL: u32 = 2;

/// Raised inside the writer when a signal arrived, to unwind to [`write`]'s caller.
#[derive(Debug)]
pub(super) struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Stopped {}

pub(super) struct SourceReader<'a, R> {
    pub(super) inner: R,
    /// The file read, for a read error's message (`None`: bytes in memory, which cannot fail).
    pub(super) path: Option<&'a Path>,
    pub(super) progress: &'a Progress,
}

impl<R: Read> Read for SourceReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if crate::signals::received().is_some() {
            return Err(io::Error::other(Stopped));
        }
        let n = self.inner.read(buf).map_err(|e| {
            io::Error::other(SourceReadError {
                path: self.path.map(Path::to_path_buf).unwrap_or_default(),
                source: e,
            })
        })?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// Counts bytes written.
pub struct CountingWriter<W> {
    inner: W,
    /// Bytes written so far.
    pub count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A bundle file whose written data the disk starts writing while the rest is still being
/// compressed ([`crate::fs::writeback`]): the sync before the rename then finds little left
/// (0.23 s of a 4 s export of a 1 GiB disk, bench/run.sh section r, was that sync alone).
struct EarlyFlush {
    file: File,
    writeback: crate::fs::writeback::Writeback,
    since: u64,
}

impl Write for EarlyFlush {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.since += n as u64;
        if self.since >= crate::fs::writeback::EVERY {
            self.writeback.kick(&self.file);
            self.since = 0;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Where the bundle goes.
#[derive(Clone, Debug)]
pub enum Output {
    /// `-o -`.
    Stdout,
    /// `-o FILE`.
    File(PathBuf),
}

/// What an export did.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Machines carried.
    pub machines: usize,
    /// Cert sets carried.
    pub cert_sets: usize,
    /// Files carried.
    pub files: usize,
    /// Bytes of file content read.
    pub bytes_in: u64,
    /// Bytes of bundle written.
    pub bytes_out: u64,
    /// Files left out.
    pub excluded: usize,
    /// Bytes left out.
    pub excluded_bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Checks the output can be written before any work is done.
pub fn check_output(output: &Output, force: bool) -> Result<()> {
    match output {
        Output::Stdout => {
            if io::stdout().is_terminal() {
                return Err(Error::OutputIsTerminal);
            }
        }
        Output::File(path) => {
            crate::fs::outfile::check(path, force)?;
        }
    }
    Ok(())
}

/// Writes the bundle to its output: stdout, or a 0600 temp file beside the target renamed
/// into place when complete (never replacing an existing file unless `force`).
pub fn run(
    plan: &ExportPlan,
    encryptor: age::Encryptor,
    output: &Output,
    force: bool,
    progress: &Progress,
) -> Result<Summary> {
    let start = Instant::now();
    check_output(output, force)?;
    let bytes_out = match output {
        Output::Stdout => {
            // age writes whole 64 KiB chunks: no extra buffer needed.
            let counting = CountingWriter {
                inner: io::stdout(),
                count: 0,
            };
            let mut w = write(
                plan,
                counting,
                encryptor,
                Path::new("standard output"),
                progress,
            )?;
            w.flush().map_err(|e| Error::output("standard output", e))?;
            w.count
        }
        Output::File(path) => {
            // A regular file goes to a locked 0600 temporary file renamed into place when
            // complete; a FIFO or device is written into. Dropped on error or signal, the
            // temporary file is removed.
            let out = crate::fs::outfile::OutFile::create(path, force)?;
            let count = {
                let file = out.file().try_clone().map_err(|e| Error::output(path, e))?;
                let counting = CountingWriter {
                    inner: EarlyFlush {
                        file,
                        writeback: crate::fs::writeback::Writeback::new(),
                        since: 0,
                    },
                    count: 0,
                };
                let mut w = write(plan, counting, encryptor, path, progress)?;
                w.flush().map_err(|e| Error::output(path, e))?;
                w.count
            };
            crate::signals::check(NOT_WRITTEN)?;
            out.finish()?;
            count
        }
    };
    let m = &plan.manifest;
    Ok(Summary {
        machines: m.machines.len(),
        cert_sets: m.cert_sets.len(),
        files: m.files.len(),
        bytes_in: m.total_size(),
        bytes_out,
        excluded: m.excluded.len(),
        excluded_bytes: m.excluded.iter().map(|e| e.size).sum(),
        seconds: start.elapsed().as_secs_f64(),
    })
}
