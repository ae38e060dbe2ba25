//! Staging: files written into `<store>/.mbundle-staging-*` as the reader verifies them, the
//! free-space check before the first byte, and config.json checked and rewritten in place.

use crate::error::{Error, IoContext, Result};
use crate::format::bundle::{Visitor, IO_BUFFER};
use crate::format::manifest::{FileEntry, Manifest};
use crate::fs::{set_file_mode, umask_keeps};
use crate::progress::Progress;
use crate::store::paths::ForeignPath;
use crate::store::rewrite::to_docker_machine_json;
use crate::store::store_mode;
use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::plan::{plan, root_path, FileTarget, ImportPlan, ImportRequest};
use super::target::snapshot;
use super::{check_interrupt, Report};

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
    pub(super) progress: Progress,
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

/// What rewriting one machine's config.json found, applied to the report in order.
pub(super) enum Rewritten {
    /// The machine is already in the store: its config.json from the bundle, to compare.
    Present(Vec<u8>),
    /// Rewritten.
    Done {
        warning: Option<String>,
        /// Paths it names inside the store that this import does not stage: missing unless
        /// in staging or in the store once everything is staged.
        unstaged: Vec<Unstaged>,
        outcome: crate::store::rewrite::Outcome,
    },
}

/// A path a rewritten config.json names inside the store that no staged file is.
pub(super) struct Unstaged {
    field: String,
    path: String,
    in_staging: PathBuf,
    in_store: PathBuf,
}

/// What `plan` stages, known without asking the disk: every file written, and every
/// directory holding one (made with it), the store root (`""`) included. A config.json path
/// naming one of them is there once staging is done; only the others are looked up (500
/// machines name their own directory: 500 stats fewer).
pub(super) fn staged_set(plan: &ImportPlan) -> std::collections::HashSet<&str> {
    let mut staged = std::collections::HashSet::with_capacity(plan.files.len() * 2);
    for t in plan.files.values() {
        let FileTarget::Write(rel) = t else {
            continue;
        };
        staged.insert(rel.as_str());
        let mut dir = rel.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if !staged.insert(parent) {
                break;
            }
            dir = parent;
        }
    }
    if !staged.is_empty() {
        staged.insert("");
    }
    staged
}

/// Rewrites every staged config.json not already rewritten while staging (`early`, by
/// machine) and checks the result (the machines on one thread per core: each is
/// independent), then adds what each found to the report, in order: the first error in
/// machine order is the one said.
pub(super) fn rewrite_staged(
    plan: &ImportPlan,
    staging: &Path,
    report: &mut Report,
    mut early: Vec<Option<Result<Rewritten>>>,
) -> Result<()> {
    let root_fp = root_path(&plan.root)?;
    early.resize_with(plan.machines.len(), || None);
    let todo: Vec<usize> = (0..plan.machines.len())
        .filter(|&i| early[i].is_none())
        .collect();
    // Usually every machine was rewritten while staging: then this set is not needed.
    let staged = if todo.is_empty() {
        Default::default()
    } else {
        staged_set(plan)
    };
    let late = crate::fs::par_map(&todo, 16, crate::fs::stats::remember, |&i| {
        Ok(rewrite_one(
            plan,
            &plan.machines[i],
            staging,
            &root_fp,
            &staged,
        ))
    })?;
    for (i, r) in todo.into_iter().zip(late) {
        early[i] = Some(r);
    }
    // The store root and certs/, named by every machine, asked once.
    let _memo = crate::fs::stats::remember();
    for (m, r) in plan.machines.iter().zip(early) {
        let r = r.unwrap_or_else(|| Err(Error::Bug(format!("{} was not rewritten", m.target))));
        match r? {
            Rewritten::Present(text) => keep_present(plan, m, &text, &root_fp, staging, report)?,
            Rewritten::Done {
                warning,
                unstaged,
                outcome,
            } => {
                report.warnings.extend(warning);
                report.missing.extend(unstaged.into_iter().filter_map(|u| {
                    let exists = crate::fs::stats::exists(&u.in_staging)
                        || crate::fs::stats::exists(&u.in_store);
                    (!exists).then(|| super::MissingPath {
                        machine: m.target.clone(),
                        field: u.field,
                        path: u.path,
                    })
                }));
                report.record(&m.target, outcome);
            }
        }
    }
    Ok(())
}

/// Rewrites one machine's staged config.json in place.
fn rewrite_one(
    plan: &ImportPlan,
    m: &super::plan::MachinePlan,
    staging: &Path,
    root_fp: &ForeignPath,
    staged: &std::collections::HashSet<&str>,
) -> Result<Rewritten> {
    let path = staging.join("machines").join(&m.target).join("config.json");
    let bad = |reason: String| {
        Error::Corrupt(format!(
            "machine {}: config.json in the bundle {reason}",
            m.source
        ))
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|_| bad("is missing".into()))?;
    let len = file.metadata().ctx("stat", &path)?.len();
    if len > MAX_CONFIG {
        return Err(bad("is too large".into()));
    }
    let mut text = Vec::with_capacity(len as usize + 1);
    (&file)
        .take(MAX_CONFIG + 1)
        .read_to_end(&mut text)
        .ctx("read", &path)?;
    let (r, new_text) = rewritten(plan, m, text, root_fp, staging, staged)?;
    if let Rewritten::Done { .. } = r {
        // Overwritten in place: staging is ours, and nothing in it counts until the journal
        // is written after sync_staged(); a crash here leaves staging to be discarded. Not
        // truncated to zero first: on ext4 that makes close() flush the file at once
        // (auto_da_alloc), 0.1 s for 500 machines; the one syncfs before commit does it.
        file.seek(io::SeekFrom::Start(0)).ctx("write", &path)?;
        file.write_all(&new_text).ctx("write", &path)?;
        if (new_text.len() as u64) < len {
            file.set_len(new_text.len() as u64).ctx("write", &path)?;
        }
    }
    Ok(r)
}

/// Rewrites the config.json `text` of machine `m` and checks the result parses: what was
/// found, and the bytes that belong in staging (for a machine already in the store, `text`
/// as the bundle has it). Which paths it names exist is asked after everything is staged.
pub(super) fn rewritten(
    plan: &ImportPlan,
    m: &super::plan::MachinePlan,
    text: Vec<u8>,
    root_fp: &ForeignPath,
    staging: &Path,
    staged: &std::collections::HashSet<&str>,
) -> Result<(Rewritten, Vec<u8>)> {
    crate::failpoint("rewrite-machine")?;
    if m.present {
        return Ok((Rewritten::Present(text.clone()), text));
    }
    let (config, outcome) = m.rewrite(&text, root_fp)?;
    let new_text = to_docker_machine_json(&config, &text);
    // What was just serialized, parsed: serializing a Value gives back that Value.
    let names_its_ca = crate::store::cert_ref_in(&config, crate::store::CA_CERT).is_some();
    let in_certs = m
        .certset
        .as_ref()
        .and_then(|id| plan.sets.iter().find(|s| &s.id == id))
        .is_some_and(|s| s.dir_rel == "certs");
    let warning = (!names_its_ca && m.certset.is_some() && !in_certs).then(|| format!(
        "machine {}: its config.json names no certificate paths (AuthOptions is empty), so docker-machine will use this store's certs/, which is not the CA that issued it; `mbundle env {}` uses the machine's own copies",
        m.target, m.target
    ));
    let mut unstaged = Vec::new();
    let mut not_plain = None;
    // The staged path a string names, spelled as the plan spells it (one buffer for all).
    let mut rel = String::new();
    crate::store::each_string_field(&config, |field, s| {
        let key = field.rsplit('.').next().unwrap_or(field);
        if not_plain.is_some() || crate::store::rewrite::never_rewritten(key) {
            return;
        }
        let Some(p) = ForeignPath::parse(s) else {
            return;
        };
        let Some(rest) = p.strip_prefix(root_fp) else {
            return;
        };
        if !crate::store::paths::all_plain(rest) {
            not_plain = Some(s.to_string());
            return;
        }
        rel.clear();
        for (i, c) in rest.iter().enumerate() {
            if i > 0 {
                rel.push('/');
            }
            rel.push_str(c);
        }
        if staged.contains(rel.as_str()) {
            return;
        }
        unstaged.push(Unstaged {
            field: field.to_string(),
            path: s.to_string(),
            in_staging: crate::store::paths::local_join(staging, rest).unwrap_or_default(),
            in_store: crate::store::paths::local_join(&plan.root, rest).unwrap_or_default(),
        });
    });
    if let Some(s) = not_plain {
        return Err(Error::Corrupt(format!(
            "rewritten path {s} is not a plain path"
        )));
    }
    let done = Rewritten::Done {
        warning,
        unstaged,
        outcome,
    };
    Ok((done, new_text))
}

impl Visitor for Stager<'_> {
    fn manifest(&mut self, manifest: &Manifest) -> Result<()> {
        crate::failpoint("plan")?;
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
        self.progress = Progress::bytes(manifest.total_size(), "importing", self.req.progress);
        Ok(())
    }

    fn file(&mut self, entry: &FileEntry, data: &mut dyn Read) -> Result<()> {
        crate::failpoint("stage-file")?;
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
                crate::failpoint("stage-chunk")?;
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
            crate::failpoint("stage-chunk")?;
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

/// A machine already in the store with the same files: its config.json must be the same too
/// (as the import would write it, or as the bundle holds it); then it is left alone, its
/// staged copy dropped so the commit skips it. Else a conflict naming config.json.
fn keep_present(
    plan: &ImportPlan,
    m: &super::plan::MachinePlan,
    text: &[u8],
    root_fp: &ForeignPath,
    staging: &Path,
    report: &mut Report,
) -> Result<()> {
    super::same_config(&plan.root, m, text, root_fp)?;
    let staged = staging.join("machines").join(&m.target);
    std::fs::remove_dir_all(&staged).ctx("remove", &staged)?;
    // Staged only to compare: not written into the store.
    report.files_written = report.files_written.saturating_sub(1);
    report.bytes_written = report.bytes_written.saturating_sub(text.len() as u64);
    report.present.push(m.target.clone());
    Ok(())
}
