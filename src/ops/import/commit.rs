//! The commit: a journal of renames written into staging, then the renames (cert directories
//! before the machines that point at them); and recovery, which rolls a half-done commit
//! forward from its journal or removes a staging directory that never reached one.

use crate::error::{Error, IoContext, Result};
use crate::fs::{mkdir_private, sync_dir};
use crate::store::STAGING_PREFIX;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::plan::ImportPlan;

pub(super) const JOURNAL: &str = "journal.json";

/// One step of the commit, relative paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Step {
    /// Create this directory of the store (0700).
    Mkdir(String),
    /// Move staging/from to store/to.
    Rename { from: String, to: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Journal {
    pub(super) version: u32,
    pub(super) machines: Vec<String>,
    pub(super) steps: Vec<Step>,
}

/// Finishes or removes what an interrupted import left in the store: a staging directory with
/// a journal is rolled forward (the commit had begun), one without is deleted (nothing of it
/// reached the store). Call with the store lock held. Returns what was done, for the user.
pub fn recover(root: &Path) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let rd = match fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(done),
        Err(e) => return Err(Error::io("list", root, e)),
    };
    let mut leftovers = Vec::new();
    for e in rd {
        let e = e.ctx("list", root)?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(STAGING_PREFIX) && e.file_type().ctx("stat", e.path())?.is_dir() {
            leftovers.push(e.path());
        }
    }
    leftovers.sort();
    for staging in leftovers {
        let journal_path = staging.join(JOURNAL);
        if journal_path.is_file() {
            let bytes = fs::read(&journal_path).ctx("read", &journal_path)?;
            let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| {
                Error::Corrupt(format!(
                    "the journal {} is unreadable ({e}); move that directory away by hand",
                    journal_path.display()
                ))
            })?;
            let mut skipped = Vec::new();
            for step in &journal.steps {
                match step {
                    Step::Mkdir(rel) => {
                        let p = root.join(rel);
                        if !p.exists() {
                            mkdir_private(&p)?;
                        }
                    }
                    Step::Rename { from, to } => {
                        let src = staging.join(from);
                        let dst = root.join(to);
                        if src.exists() {
                            match crate::fs::rename_noreplace(&src, &dst) {
                                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                                    merge_into(&src, &dst, to, &mut skipped)?;
                                }
                                r => r.ctx("rename into", &dst)?,
                            }
                        }
                    }
                }
            }
            sync_dir(root)?;
            if !skipped.is_empty() {
                return Err(Error::Corrupt(format!(
                    "an interrupted import in {} could not be finished: {} appeared meanwhile; nothing was replaced",
                    staging.display(),
                    skipped.join(", ")
                )));
            }
            fs::remove_dir_all(&staging).ctx("remove", &staging)?;
            done.push(format!(
                "finished an import that was interrupted while committing (machines: {})",
                journal.machines.join(", ")
            ));
        } else {
            fs::remove_dir_all(&staging).ctx("remove", &staging)?;
            done.push(format!(
                "removed {}, left by an import that was interrupted before it changed anything",
                staging.display()
            ));
        }
    }
    Ok(done)
}

/// Rolling forward a rename whose target appeared since the crash: a staged directory (the
/// whole `machines/` of an import into a new store) whose target is now a directory too
/// (docker-machine made `machines/` for another machine meanwhile) moves entry by entry,
/// never replacing one; anything else that is in the way is left, and said.
fn merge_into(src: &Path, dst: &Path, to: &str, skipped: &mut Vec<String>) -> Result<()> {
    let both_dirs = src.symlink_metadata().is_ok_and(|m| m.is_dir())
        && dst.symlink_metadata().is_ok_and(|m| m.is_dir());
    if !both_dirs {
        skipped.push(to.to_string());
        return Ok(());
    }
    for entry in fs::read_dir(src).ctx("list", src)? {
        let name = entry.ctx("list", src)?.file_name();
        let target = dst.join(&name);
        match crate::fs::rename_noreplace(&src.join(&name), &target) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                skipped.push(format!("{to}/{}", name.to_string_lossy()));
            }
            r => r.ctx("rename into", &target)?,
        }
    }
    sync_dir(dst)
}

/// The commit steps: cert directories (or single files) first, machines last.
pub(super) fn commit_steps(plan: &ImportPlan, staging: &Path) -> Vec<Step> {
    let mut steps = Vec::new();
    // Each directory looked at once (500 machines go into one machines/).
    let mut looked_at = std::collections::BTreeSet::new();
    let mut need_dir = |rel: &str, steps: &mut Vec<Step>| {
        let mut acc = String::new();
        for comp in rel.split('/') {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(comp);
            if looked_at.insert(acc.clone()) && !plan.root.join(&acc).exists() {
                steps.push(Step::Mkdir(acc.clone()));
            }
        }
    };
    for set in &plan.sets {
        if set.writes.is_empty() {
            continue;
        }
        let dir = plan.root.join(&set.dir_rel);
        if dir.exists() {
            for name in &set.writes {
                let rel = format!("{}/{name}", set.dir_rel);
                steps.push(Step::Rename {
                    from: rel.clone(),
                    to: rel,
                });
            }
        } else {
            if let Some((parent, _)) = set.dir_rel.rsplit_once('/') {
                need_dir(parent, &mut steps);
            }
            steps.push(Step::Rename {
                from: set.dir_rel.clone(),
                to: set.dir_rel.clone(),
            });
        }
    }
    if let Some(all) = whole_machines_dir(plan, staging) {
        steps.push(all);
        return steps;
    }
    for m in &plan.machines {
        if staging.join("machines").join(&m.target).exists() {
            need_dir("machines", &mut steps);
            let rel = format!("machines/{}", m.target);
            steps.push(Step::Rename {
                from: rel.clone(),
                to: rel,
            });
        }
    }
    steps
}

/// Into a store without `machines/` (a new laptop's), the staged `machines/` moves whole: one
/// rename instead of one per machine (500 of them were a tenth of an import). Only when it
/// holds exactly the plan's machines.
fn whole_machines_dir(plan: &ImportPlan, staging: &Path) -> Option<Step> {
    if plan.root.join("machines").symlink_metadata().is_ok() {
        return None;
    }
    let staged: BTreeSet<String> = fs::read_dir(staging.join("machines"))
        .ok()?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<io::Result<_>>()
        .ok()?;
    let planned: BTreeSet<String> = plan.machines.iter().map(|m| m.target.clone()).collect();
    (!staged.is_empty() && staged == planned).then(|| Step::Rename {
        from: "machines".into(),
        to: "machines".into(),
    })
}

/// Makes everything staged durable before the journal says it may be committed: one
/// `syncfs` of the store's file system on Linux, an fsync of every file and directory
/// elsewhere.
pub(super) fn sync_staged(staging: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        let dir = File::open(staging).ctx("open", staging)?;
        rustix::fs::syncfs(&dir).map_err(|e| Error::io("sync", staging, io::Error::from(e)))
    }
    #[cfg(not(target_os = "linux"))]
    {
        for entry in walkdir::WalkDir::new(staging) {
            let entry = entry.map_err(|e| Error::io("sync", staging, io::Error::other(e)))?;
            File::open(entry.path())
                .and_then(|f| f.sync_all())
                .ctx("sync", entry.path())?;
        }
        Ok(())
    }
}

pub(super) fn write_journal(staging: &Path, journal: &Journal) -> Result<()> {
    let tmp = staging.join("journal.json.new");
    let path = staging.join(JOURNAL);
    let bytes = serde_json::to_vec_pretty(journal)
        .map_err(|e| Error::io("write", &tmp, io::Error::other(e)))?;
    let mut f = File::create(&tmp).ctx("create", &tmp)?;
    f.write_all(&bytes).ctx("write", &tmp)?;
    f.sync_all().ctx("sync", &tmp)?;
    fs::rename(&tmp, &path).ctx("rename into", &path)?;
    sync_dir(staging)
}

/// Runs the commit; on error undoes what it did, in reverse.
pub(super) fn commit(plan: &ImportPlan, staging: &Path, steps: &[Step]) -> Result<()> {
    let mut done: Vec<&Step> = Vec::new();
    let result = (|| -> Result<()> {
        for step in steps {
            crate::failpoint("commit-step")?;
            match step {
                Step::Mkdir(rel) => mkdir_private(&plan.root.join(rel))?,
                Step::Rename { from, to } => {
                    let dst = plan.root.join(to);
                    match crate::fs::rename_noreplace(&staging.join(from), &dst) {
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                            return Err(Error::Conflicts(vec![format!(
                                "{} appeared while importing; nothing was replaced",
                                dst.display()
                            )]));
                        }
                        r => r.ctx("rename into", &dst)?,
                    }
                }
            }
            done.push(step);
        }
        Ok(())
    })();
    if let Err(e) = result {
        for step in done.iter().rev() {
            match step {
                Step::Mkdir(rel) => {
                    let _ = fs::remove_dir(plan.root.join(rel));
                }
                Step::Rename { from, to } => {
                    let _ = fs::rename(plan.root.join(to), staging.join(from));
                }
            }
        }
        return Err(e);
    }
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    dirs.insert(plan.root.clone());
    for step in steps {
        if let Step::Rename { to, .. } = step {
            if let Some(parent) = plan.root.join(to).parent() {
                dirs.insert(parent.to_path_buf());
            }
        }
    }
    for d in dirs {
        sync_dir(&d)?;
    }
    Ok(())
}
