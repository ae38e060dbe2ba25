//! Import: bundle -> plan -> store, as a transaction.
//!
//! 1. The manifest is read and validated before any byte is written.
//! 2. [`plan`] (pure) decides target names, where each cert set goes and every path mapping,
//!    and lists *all* conflicts at once.
//! 3. Files are extracted into `<store>/.mbundle-staging-*` (0700, same file system), each
//!    checked against its declared size and sha256 by the reader.
//! 4. config.json files are rewritten in staging.
//! 5. A journal of the renames is written into staging, then the renames are done: cert
//!    directories first, machines last (a machine is visible to docker-machine only once its
//!    directory is in place, and by then everything it points at is there).
//!
//! Any failure before step 5 deletes staging: the store is byte-for-byte as before. A failure
//! during step 5 is rolled back in process. A run killed during step 5 leaves the journal; the
//! next run of mbundle on the store rolls it forward ([`recover`]), so the store ends either as
//! before or fully imported. A run killed earlier leaves staging without a journal, which the
//! next run removes.
//!
//! Cert sets never clobber: an existing file is never replaced, under any flag.

mod commit;
mod confine;
mod early;
mod model;
mod placement;
mod plan;
mod renewal;
mod rewrite;
mod spool;
mod stage;
mod target;
mod warnings;

use crate::error::{Error, IoContext, Result};
use crate::format::bundle::{read_bundle, Visitor};
use crate::format::crypto::DecryptWith;
use crate::format::layout;
use crate::format::manifest::{FileEntry, Manifest};
use crate::fs::lock::lock_store;
use crate::fs::{mkdir_private, set_mode};
use crate::progress::Progress;
use crate::store::rewrite::{Change, Untouched};
use crate::store::STAGING_PREFIX;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self};
use std::io::Read;
use std::path::{Path, PathBuf};

pub use commit::recover;
use commit::*;
pub use plan::*;
use rewrite::rewrite_staged;
use stage::*;
pub use target::{snapshot, TargetState};

/// Stops between entries once SIGINT/SIGTERM/SIGHUP arrived ([`crate::signals`]). The commit
/// phase never calls it.
fn check_interrupt() -> Result<()> {
    crate::signals::check("nothing was changed")
}

/// What an import did, for the report.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The machines, in bundle order.
    pub machines: Vec<MachineReport>,
    /// Where each cert set went.
    pub sets: Vec<SetReport>,
    /// Each machine's config.json rewrites.
    pub changes: Vec<MachineChanges>,
    /// Each machine's paths left alone (pointing outside anything carried).
    pub untouched: Vec<MachineUntouched>,
    /// Paths config.json names that do not exist after the import.
    pub missing: Vec<MissingPath>,
    /// Machines already in the store exactly as the import would write them: left alone.
    pub present: Vec<String>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// The bundle is a share for a teammate: what it says of itself.
    pub share: Option<ShareReport>,
    /// Leftovers found and dealt with before importing.
    pub recovered: Vec<String>,
    /// Files written into the store.
    pub files_written: u64,
    /// Bytes written into the store.
    pub bytes_written: u64,
    /// Wall time.
    pub seconds: f64,
}

/// One imported machine.
#[derive(Clone, Debug)]
pub struct MachineReport {
    /// Its name in the bundle.
    pub source: String,
    /// Its name in the store (after `--rename`).
    pub target: String,
    /// Its directory in the store.
    pub dir: PathBuf,
    /// Where its cert set is in the store (`certs/`, `imported-certs/<id>/`), when it has one.
    pub certs: Option<PathBuf>,
}

/// Where one cert set went.
#[derive(Clone, Debug)]
pub struct SetReport {
    /// The set's id.
    pub id: String,
    /// Its CA's name.
    pub ca_name: Option<String>,
    /// Reused, new `certs/`, or `imported-certs/<id>/`.
    pub placement: Placement,
    /// The directory.
    pub dir: PathBuf,
    /// How many of its files were written (0: all were there).
    pub written: usize,
    /// Files of the store this set's newer ones took the place of, where they were kept
    /// (`certs/ca.pem.<time>.old`); for a dry run, where they would be.
    pub set_aside: Vec<PathBuf>,
}

/// One machine's config.json rewrites.
#[derive(Clone, Debug)]
pub struct MachineChanges {
    /// The machine (store name).
    pub machine: String,
    /// The rewrites.
    pub changes: Vec<Change>,
}

/// One machine's paths left as they are.
#[derive(Clone, Debug)]
pub struct MachineUntouched {
    /// The machine (store name).
    pub machine: String,
    /// The paths.
    pub paths: Vec<Untouched>,
}

/// A path config.json names that does not exist after the import.
#[derive(Clone, Debug)]
pub struct MissingPath {
    /// The machine (store name).
    pub machine: String,
    /// The config.json field.
    pub field: String,
    /// The path.
    pub path: String,
}

impl Report {
    /// Adds one machine's rewrite outcome.
    fn record(&mut self, machine: &str, outcome: crate::store::rewrite::Outcome) {
        self.changes.push(MachineChanges {
            machine: machine.to_string(),
            changes: outcome.changes,
        });
        if !outcome.untouched.is_empty() {
            self.untouched.push(MachineUntouched {
                machine: machine.to_string(),
                paths: outcome.untouched,
            });
        }
    }
}

/// The names `--rename` gives machines in the store.
/// Imports a bundle into the store at `root` (created if missing). Reads `input` once,
/// streaming. On any error the store is as it was.
pub fn run<R: Read + Send>(
    root: &Path,
    input: R,
    keys: &DecryptWith,
    what: &str,
    req: &ImportRequest,
    progress: &Progress,
) -> Result<Report> {
    // A fresh laptop may not even have ~/.docker: create what is missing (0700), and remove
    // exactly that again if the import fails.
    let mut created = Vec::new();
    let mut p = root.to_path_buf();
    while !p.exists() {
        created.push(p.clone());
        match p.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => p = parent.to_path_buf(),
            _ => break,
        }
    }
    for dir in created.iter().rev() {
        if let Err(e) = mkdir_private(dir) {
            remove_created(&created);
            return Err(e);
        }
    }
    let result = run_locked(root, input, keys, what, req, progress);
    if result.is_err() {
        remove_created(&created);
    }
    result
}

fn remove_created(created: &[PathBuf]) {
    for dir in created {
        let _ = fs::remove_dir(dir);
    }
}

fn run_locked<R: Read + Send>(
    root: &Path,
    input: R,
    keys: &DecryptWith,
    what: &str,
    req: &ImportRequest,
    progress: &Progress,
) -> Result<Report> {
    let lock = lock_store(root)?;
    let mut report = Report {
        recovered: recover(root)?,
        ..Default::default()
    };

    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(root)
        .ctx("create a staging directory in", root)?;
    set_mode(staging.path(), 0o700)?;

    let start = std::time::Instant::now();
    let mut planner = Stager {
        root,
        req,
        plan: None,
        staging: staging.path(),
        made_dirs: BTreeSet::new(),
        progress,
        written: (0, 0),
        buf: Vec::new(),
        writeback: crate::fs::writeback::Writeback::new(),
        spool: spool::Spool::new(staging.path()),
        early: None,
    };
    let read = read_bundle(input, keys, what, &mut planner);
    if read.is_ok() {
        // The disk starts on what is staged while the last files are written and config.json
        // files checked: the sync before the journal then finds little left to write.
        planner.flush_early();
    }
    let spooled = planner.spool.finish();
    let early = planner
        .early
        .as_mut()
        .map(early::Early::finish)
        .unwrap_or_default();
    read?;
    spooled?;
    report.files_written = planner.written.0;
    report.bytes_written = planner.written.1;
    let plan = planner
        .plan
        .ok_or_else(|| Error::Corrupt("no manifest".into()))?;
    check_interrupt()?;
    crate::failpoint::failpoint("rewrite")?;
    rewrite_staged(&plan, staging.path(), &mut report, early)?;
    renewal::check_staged(&plan, staging.path())?;
    check_interrupt()?;

    let steps = commit_steps(&plan, staging.path());
    let journal = Journal {
        version: 1,
        machines: plan.machines.iter().map(|m| m.target.clone()).collect(),
        steps: steps.clone(),
    };
    crate::failpoint::failpoint("journal")?;
    sync_staged(staging.path())?;
    write_journal(staging.path(), &journal)?;
    // From here on, finishing is the only safe direction: a signal no longer stops us.
    commit(&plan, staging.path(), &steps).inspect_err(|_| {
        let _ = fs::remove_file(staging.path().join(JOURNAL));
    })?;
    // Committed. What is left in staging is empty directories and the journal.
    let staging_path = staging.keep();
    if let Err(e) = fs::remove_dir_all(&staging_path) {
        report.warnings.push(format!(
            "the import is complete, but {} could not be removed ({e}); the next mbundle run removes it",
            staging_path.display()
        ));
    }
    drop(lock);

    report_plan(&plan, &steps, &mut report);
    report.seconds = start.elapsed().as_secs_f64();
    // Freeing a plan of 4,000 files takes milliseconds the user need not wait for.
    crate::fs::drop_later(plan);
    Ok(report)
}

/// Copies the plan's machines, cert placements and warnings into the report.
fn report_plan(plan: &ImportPlan, steps: &[Step], report: &mut Report) {
    for m in plan
        .machines
        .iter()
        .filter(|m| !report.present.contains(&m.target))
    {
        report.machines.push(MachineReport {
            source: m.source.clone(),
            target: m.target.clone(),
            dir: plan.root.join("machines").join(&m.target),
            certs: m.set_dir.as_ref().map(|d| plan.root.join(d)),
        });
    }
    for s in &plan.sets {
        report.sets.push(SetReport {
            id: s.id.clone(),
            ca_name: s.ca_name.clone(),
            placement: s.placement,
            dir: plan.root.join(&s.dir_rel),
            written: s.writes.len(),
            set_aside: steps
                .iter()
                .filter_map(|step| match step {
                    Step::SetAside { rel, aside }
                        if rel.starts_with(&format!("{}/", s.dir_rel)) =>
                    {
                        Some(plan.root.join(aside))
                    }
                    _ => None,
                })
                .collect(),
        });
    }
    report.warnings.extend(plan.warnings.iter().cloned());
    report.share = plan.share.clone();
}

/// What `--dry-run` shows: the plan and every rewrite, computed from the bundle without
/// writing anything.
pub fn dry_run<R: Read + Send>(
    root: &Path,
    input: R,
    keys: &DecryptWith,
    what: &str,
    req: &ImportRequest,
) -> Result<Report> {
    struct Collect<'a> {
        root: &'a Path,
        req: &'a ImportRequest,
        plan: Option<ImportPlan>,
        configs: BTreeMap<String, Vec<u8>>,
    }
    impl Visitor for Collect<'_> {
        fn manifest(&mut self, manifest: &Manifest) -> Result<()> {
            let state = if self.root.exists() {
                snapshot(
                    self.root,
                    manifest,
                    self.req.docker_context.as_deref(),
                    &self.req.renames,
                )?
            } else {
                TargetState::empty(self.root, time::OffsetDateTime::now_utc())
            };
            self.plan = Some(plan(manifest, &state, self.req)?);
            // The store may not exist yet: its nearest existing parent tells the file system.
            let existing = self
                .root
                .ancestors()
                .find(|p| p.exists())
                .unwrap_or(self.root);
            check_free_space(existing, manifest)?;
            Ok(())
        }
        fn file(&mut self, entry: &FileEntry, data: &mut dyn Read) -> Result<()> {
            crate::format::bundle::keep_config(entry, data, MAX_CONFIG, &mut self.configs)
        }
    }
    let mut c = Collect {
        root,
        req,
        plan: None,
        configs: BTreeMap::new(),
    };
    read_bundle(input, keys, what, &mut c)?;
    let plan = c.plan.ok_or_else(|| Error::Corrupt("no manifest".into()))?;
    let mut report = Report::default();
    let root_fp = root_path(&plan.root)?;
    for m in &plan.machines {
        let key = layout::machine_config(&m.source);
        let Some(text) = c.configs.get(&key) else {
            continue;
        };
        if m.present {
            same_config(&plan.root, m, text, &root_fp)?;
            report.present.push(m.target.clone());
            continue;
        }
        let (_, outcome) = m.rewrite(text, &root_fp)?;
        report.record(&m.target, outcome);
    }
    report_plan(&plan, &set_aside_steps(&plan), &mut report);
    Ok(report)
}

/// For a machine already in the store with the same files: is its config.json the one the
/// import would write (same JSON after the path rewrite), or the very one the bundle holds
/// (the store it was exported from, unchanged since: a custom CA outside the store is one
/// path the rewrite moves)? If neither, the machine differs: a conflict that says so, and
/// nothing is imported.
pub(crate) fn same_config(
    root: &Path,
    m: &MachinePlan,
    text: &[u8],
    root_fp: &crate::store::paths::ForeignPath,
) -> Result<()> {
    let target = &m.target;
    let rewritten = m
        .rewrite(text, root_fp)
        .ok()
        .map(|(c, _)| crate::store::rewrite::to_docker_machine_json(&c, text));
    let mut candidates: Vec<&[u8]> = vec![text];
    candidates.extend(rewritten.as_deref());
    let path = root.join("machines").join(target).join("config.json");
    let have = crate::store::read_config_file(&path)?;
    let same = crate::store::same_config(&have, &candidates);
    if same {
        Ok(())
    } else {
        Err(Error::Conflicts(vec![format!(
            "machine {target} already exists in {} and differs from the bundle's (config.json) ({})",
            root.display(),
            m.if_taken
        )]))
    }
}
