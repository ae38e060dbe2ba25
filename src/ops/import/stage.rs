//! Staging: files written into `<store>/.mbundle-staging-*` as the reader verifies them, the
//! free-space check before the first byte, and config.json checked and rewritten in place.

use crate::error::{Error, IoContext, Result};
use crate::format::bundle::{Visitor, IO_BUFFER};
use crate::format::manifest::{FileEntry, Manifest};
use crate::fs::{set_file_mode, umask_keeps};
use crate::progress::Progress;
use crate::store::store_mode;
use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::check_interrupt;
use super::plan::{plan, FileTarget, ImportPlan, ImportRequest};
use super::target::snapshot;

pub(super) use crate::store::MAX_CONFIG;

/// Small files staged between two early flushes of the whole file system.
const FLUSH_FILES: u64 = 1000;

/// Writes files into staging as the reader hands them over.
/// Plans when the manifest arrives, then writes files into staging as the reader hands
/// them over.
pub(super) struct Stager<'a> {
    pub(super) root: &'a Path,
    pub(super) req: &'a ImportRequest,
    pub(super) plan: Option<std::sync::Arc<ImportPlan>>,
    pub(super) staging: &'a Path,
    pub(super) made_dirs: BTreeSet<PathBuf>,
    pub(super) progress: &'a Progress,
    /// Files and bytes written.
    pub(super) written: (u64, u64),
    /// Read buffer, reused for every file.
    pub(super) buf: Vec<u8>,
    /// Starts the disk writing large files while they are still being staged.
    pub(super) writeback: crate::fs::writeback::Writeback,
    /// Writes small files on a thread of its own.
    pub(super) spool: super::spool::Spool,
    /// Rewrites config.json files while the rest is staged (from the manifest on).
    pub(super) early: Option<super::early::Early>,
}

impl Stager<'_> {
    /// Has the disk start writing everything staged so far, without waiting for it.
    pub(super) fn flush_early(&self) {
        if let Ok(dir) = std::fs::File::open(self.staging) {
            self.writeback.kick_all(&dir);
        }
    }

    fn ensure_dir(&mut self, dir: &Path) -> Result<()> {
        if self.made_dirs.contains(dir) {
            return Ok(());
        }
        // Staging is ours and fresh: only directories made by this import exist in it (here,
        // or by the spool's threads); missing parents are made too.
        crate::fs::mkdirs_private_within(self.staging, dir)?;
        self.made_dirs.insert(dir.to_path_buf());
        Ok(())
    }
}

/// The bytes staging `manifest` takes on disk: every file rounded up to whole 4 KiB blocks,
/// plus room for directories and the journal.
pub fn space_needed(manifest: &Manifest) -> u64 {
    manifest
        .files
        .iter()
        .map(|f| f.size.div_ceil(4096).saturating_mul(4096))
        .fold(64 << 10, u64::saturating_add)
}

/// Refuses, before anything is staged, a bundle whose files do not fit in the free space of
/// the store's file system (a manifest can declare terabytes; finding out by filling the disk
/// would hurt everything else on it).
pub(super) fn check_free_space(root: &Path, manifest: &Manifest) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        let needed = space_needed(manifest);
        if let Ok(st) = rustix::fs::statvfs(root) {
            let available = st.f_bavail.saturating_mul(st.f_frsize);
            if needed > available {
                return Err(Error::NoSpace {
                    path: root.to_path_buf(),
                    needed,
                    available,
                });
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (root, manifest);
    Ok(())
}

impl Visitor for Stager<'_> {
    fn manifest(&mut self, manifest: &Manifest) -> Result<()> {
        crate::failpoint::failpoint("plan")?;
        let state = snapshot(
            self.root,
            manifest,
            self.req.docker_context.as_deref(),
            &self.req.renames,
        )?;
        let plan = std::sync::Arc::new(plan(manifest, &state, self.req)?);
        self.early = Some(super::early::Early::start(plan.clone(), self.staging)?);
        self.plan = Some(plan);
        check_free_space(self.root, manifest)?;
        self.progress.start(manifest.total_size(), "importing");
        Ok(())
    }

    fn file(&mut self, entry: &FileEntry, data: &mut dyn Read) -> Result<()> {
        crate::failpoint::failpoint("stage-file")?;
        check_interrupt()?;
        let Some(plan) = self.plan.as_ref() else {
            return Err(Error::Corrupt("a file came before the manifest".into()));
        };
        let Some(FileTarget::Write(rel)) = plan.files.get(&entry.path) else {
            return Ok(());
        };
        let rel = rel.clone();
        let dest = self.staging.join(&rel);
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        if entry.size <= super::spool::SMALL {
            let mut bytes = Vec::with_capacity(entry.size as usize);
            data.take(super::spool::SMALL + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| Error::Corrupt(format!("{}: {e}", entry.path)))?;
            self.progress.inc(bytes.len() as u64);
            self.written.0 += 1;
            self.written.1 += bytes.len() as u64;
            // Many small files: the disk starts on them while the rest are staged.
            if self.written.0.is_multiple_of(FLUSH_FILES) {
                self.flush_early();
            }
            if !bytes.is_empty() {
                crate::failpoint::failpoint("stage-chunk")?;
            }
            if let Some(early) = self.early.as_mut() {
                if let Some(i) = early.machine_of(&rel) {
                    match early.send(i, bytes) {
                        Ok(()) => return Ok(()),
                        // Its thread is gone: staged as it is, and rewritten after staging.
                        Err(back) => bytes = back,
                    }
                }
            }
            // The spool's thread makes its directory.
            let mode = store_mode(name, Some(&bytes));
            return self.spool.write(dest, mode, bytes);
        }
        if let Some(parent) = dest.parent() {
            self.ensure_dir(parent)?;
        }
        // A large file's content is not at hand before it is created: private.
        let mode = store_mode(name, None);
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        let file = opts.open(&dest).ctx("create", &dest)?;
        if !umask_keeps(mode) {
            set_file_mode(&file, &dest, mode)?;
        }
        let mut w = io::BufWriter::with_capacity(IO_BUFFER, file);
        // Chunk by chunk: a read error is the bundle's fault, a write error the disk's.
        self.buf.resize(IO_BUFFER, 0);
        let mut since_flush = 0u64;
        loop {
            let n = data
                .read(&mut self.buf)
                .map_err(|e| Error::Corrupt(format!("{}: {e}", entry.path)))?;
            if n == 0 {
                break;
            }
            w.write_all(&self.buf[..n]).ctx("write", &dest)?;
            since_flush += n as u64;
            if since_flush >= crate::fs::writeback::EVERY {
                w.flush().ctx("write", &dest)?;
                self.writeback.kick(w.get_ref());
                since_flush = 0;
            }
            self.progress.inc(n as u64);
            self.written.1 += n as u64;
            crate::failpoint::failpoint("stage-chunk")?;
            check_interrupt()?;
        }
        let file = w
            .into_inner()
            .map_err(|e| Error::io("write", &dest, e.into_error()))?;
        // Made durable all at once by sync_staged() before the journal is written.
        drop(file);
        self.written.0 += 1;
        Ok(())
    }
}
