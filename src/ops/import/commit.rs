//! The commit: a journal of renames written into staging, then the renames (cert directories
//! before the machines that point at them); and recovery, which rolls a half-done commit
//! forward from its journal or removes a staging directory that never reached one.

use crate::error::{Error, IoContext, Result};
use crate::fs::beneath::{HeldDir, Kind};
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
    /// Move the store's `rel` to `aside` in the same directory, before the staged `rel` takes
    /// its place (the newer certificate of the store's own CA, [`is_set_aside`]). Carried out
    /// only while staging still holds `rel`: once that has moved in, it is done.
    SetAside { rel: String, aside: String },
}

/// Whether `rel` and `aside` are what an import sets aside: `certs/ca.pem`, kept as
/// `certs/ca.pem.<time>.old` (letters, digits and `-` in the time).
pub(super) fn is_set_aside(rel: &str, aside: &str) -> bool {
    let stamp = aside
        .strip_prefix("certs/ca.pem.")
        .and_then(|s| s.strip_suffix(".old"));
    rel == "certs/ca.pem"
        && stamp.is_some_and(|s| {
            !s.is_empty()
                && s.len() <= 40
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The steps that set a file of the store aside, one per file a set replaces.
pub(super) fn set_aside_steps(plan: &ImportPlan) -> Vec<Step> {
    plan.sets
        .iter()
        .flat_map(|s| s.replaces.iter().map(|n| format!("{}/{n}", s.dir_rel)))
        .map(|rel| set_aside(plan, &rel))
        .collect()
}

fn set_aside(plan: &ImportPlan, rel: &str) -> Step {
    Step::SetAside {
        rel: rel.to_string(),
        aside: aside_name(&plan.root),
    }
}

/// A name for setting the store's `certs/ca.pem` aside that is free now.
pub(super) fn aside_name(root: &Path) -> String {
    let ts = crate::pki::certs::rfc3339(time::OffsetDateTime::now_utc()).replace(['-', ':'], "");
    let mut aside = format!("certs/ca.pem.{ts}.old");
    let mut n = 1;
    while fs::symlink_metadata(root.join(&aside)).is_ok() {
        aside = format!("certs/ca.pem.{ts}-{n}.old");
        n += 1;
    }
    aside
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Journal {
    pub(super) version: u32,
    pub(super) machines: Vec<String>,
    pub(super) steps: Vec<Step>,
}

/// Largest journal read: one step per machine and cert file, a few MiB for ten thousand
/// machines.
const MAX_JOURNAL: u64 = 16 << 20;

/// Finishes or removes what an interrupted import left in the store: a staging directory with
/// a journal is rolled forward (the commit had begun), one without is deleted (nothing of it
/// reached the store). Call with the store lock held. Returns what was done, for the user.
///
/// The journal is input like any other: a file in the store that someone else may have
/// written. Each of its steps is checked before any is carried out ([`check_journal`]: only
/// the names an import writes, the same place on both sides), staging must belong to the
/// user running mbundle, and every directory on the way is opened without following a link
/// (`fs::beneath`), so nothing outside staging and the store moves, whatever the journal says.
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
        // file_type() does not follow a link: a link named like staging is not staging.
        if name.starts_with(STAGING_PREFIX) && e.file_type().ctx("stat", e.path())?.is_dir() {
            leftovers.push(name);
        }
    }
    leftovers.sort();
    if leftovers.is_empty() {
        return Ok(done);
    }
    let store = HeldDir::open(root)?;
    for name in leftovers {
        done.push(recover_one(&store, &name)?);
    }
    Ok(done)
}

/// Rolls one staging directory forward, or removes it; says what it did.
fn recover_one(store: &HeldDir, name: &str) -> Result<String> {
    let path = store.path().join(name);
    let refuse = |reason: String| Error::UnsafeJournal {
        staging: path.clone(),
        reason,
    };
    let staging = store
        .open_dir(name)
        .map_err(|e| refuse(format!("it cannot be opened as a directory ({e})")))?;
    // An import makes its staging as the user it runs as; anyone else's (a store's owner
    // planting one for root to act on) is left alone.
    if let (Some(owner), Some(me)) = (staging.owner(), crate::fs::beneath::current_user()) {
        if owner != me {
            return Err(refuse(format!(
                "it belongs to user {owner}, not to the user running mbundle ({me}); the import that made it must be finished by that user"
            )));
        }
    }
    let Some(bytes) = staging
        .read_file(JOURNAL, MAX_JOURNAL)
        .map_err(|e| refuse(format!("its journal cannot be read ({})", e.full_message())))?
    else {
        fs::remove_dir_all(&path).ctx("remove", &path)?;
        return Ok(format!(
            "removed {}, left by an import that was interrupted before it changed anything",
            path.display()
        ));
    };
    let journal: Journal = serde_json::from_slice(&bytes)
        .map_err(|e| refuse(format!("its journal is not one mbundle wrote ({e})")))?;
    check_journal(&journal).map_err(|e| refuse(format!("its journal {e}")))?;
    let mut skipped = Vec::new();
    for step in &journal.steps {
        carry_out(store, &staging, step, &mut skipped)?;
    }
    sync_dir(store.path())?;
    if !skipped.is_empty() {
        return Err(Error::Corrupt(format!(
            "an interrupted import in {} could not be finished: {} appeared meanwhile; nothing was replaced",
            path.display(),
            skipped.join(", ")
        )));
    }
    fs::remove_dir_all(&path).ctx("remove", &path)?;
    Ok(format!(
        "finished an import that was interrupted while committing (machines: {})",
        journal.machines.join(", ")
    ))
}

/// Why a journal is not one an import of this mbundle writes, if it is not: every step names
/// the same place in staging and in the store (an import moves each thing to where it lies in
/// staging), and that place is one an import writes: `machines` or `machines/<machine>`,
/// `certs` or `certs/<member>`, `imported-certs/<id>` or `imported-certs/<id>/<member>`; it
/// makes only `machines` and `imported-certs`. Machine names follow docker-machine's rule.
pub(super) fn check_journal(journal: &Journal) -> std::result::Result<(), String> {
    use crate::format::manifest::{check_cert_set_id, check_machine_name};
    use crate::store::{CERT_MEMBERS, IMPORTED_CERTS};
    if journal.version != 1 {
        return Err(format!("has version {}, not 1", journal.version));
    }
    for m in &journal.machines {
        check_machine_name(m).map_err(|why| format!("names the machine {m:?}: {why}"))?;
    }
    let written = |rel: &str| -> bool {
        let parts: Vec<&str> = rel.split('/').collect();
        match parts.as_slice() {
            ["machines"] | ["certs"] => true,
            ["machines", m] => check_machine_name(m).is_ok(),
            ["certs", f] => CERT_MEMBERS.contains(f),
            [dir, id] => *dir == IMPORTED_CERTS && check_cert_set_id(id).is_ok(),
            [dir, id, f] => {
                *dir == IMPORTED_CERTS && check_cert_set_id(id).is_ok() && CERT_MEMBERS.contains(f)
            }
            _ => false,
        }
    };
    for step in &journal.steps {
        match step {
            Step::Mkdir(rel) if rel == "machines" || rel == IMPORTED_CERTS => {}
            Step::Mkdir(rel) => return Err(format!("makes the directory {rel:?}")),
            Step::Rename { from, to } if from != to => {
                return Err(format!("moves {from:?} to another place, {to:?}"))
            }
            Step::Rename { to, .. } if !written(to) => {
                return Err(format!("moves {to:?}, which no import writes"))
            }
            Step::Rename { .. } => {}
            Step::SetAside { rel, aside } if !is_set_aside(rel, aside) => {
                return Err(format!(
                    "sets {rel:?} aside as {aside:?}, which no import does"
                ))
            }
            Step::SetAside { .. } => {}
        }
    }
    Ok(())
}

/// One checked step, relative to held directories: nothing on the way may be a link.
fn carry_out(
    store: &HeldDir,
    staging: &HeldDir,
    step: &Step,
    skipped: &mut Vec<String>,
) -> Result<()> {
    match step {
        Step::SetAside { rel, aside } => set_aside_again(store, staging, rel, aside),
        Step::Mkdir(rel) => match store.kind(rel).ctx("stat", store.path().join(rel))? {
            Kind::Absent => store.mkdir(rel),
            Kind::Dir => Ok(()),
            _ => Err(Error::UnsafeJournal {
                staging: staging.path().to_path_buf(),
                reason: format!(
                    "{} is not a directory (a link?)",
                    store.path().join(rel).display()
                ),
            }),
        },
        Step::Rename { to, .. } => {
            let (parent, name) = match to.rsplit_once('/') {
                Some((p, n)) => (Some(p), n),
                None => (None, to.as_str()),
            };
            let refuse = |what: &Path, e: io::Error| Error::UnsafeJournal {
                staging: staging.path().to_path_buf(),
                reason: format!(
                    "{} cannot be opened without following a link ({e})",
                    what.display()
                ),
            };
            let open = |held: &HeldDir| -> Result<Option<HeldDir>> {
                match parent {
                    None => Ok(None),
                    Some(p) => held
                        .open_dir(p)
                        .map(Some)
                        .map_err(|e| refuse(&held.path().join(p), e)),
                }
            };
            let (src_held, dst_held) = (open(staging)?, open(store)?);
            let src = src_held.as_ref().unwrap_or(staging);
            let dst = dst_held.as_ref().unwrap_or(store);
            match src.kind(name).ctx("stat", src.path().join(name))? {
                // Moved before the interruption.
                Kind::Absent => return Ok(()),
                Kind::Dir | Kind::File => {}
                Kind::Other => {
                    return Err(Error::UnsafeJournal {
                        staging: staging.path().to_path_buf(),
                        reason: format!(
                            "{} is not a file or directory mbundle staged (a link?)",
                            src.path().join(name).display()
                        ),
                    })
                }
            }
            match src.rename_noreplace(name, dst) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    merge_into(src, dst, name, to, skipped)
                }
                r => r.ctx("rename into", dst.path().join(name)),
            }
        }
    }
}

/// A checked [`Step::SetAside`] rolled forward: only while staging still holds the newer file
/// (else it moved in already, and what the store holds at `rel` is it), and only when the
/// store's file is still at `rel` (else it was set aside already).
fn set_aside_again(store: &HeldDir, staging: &HeldDir, rel: &str, aside: &str) -> Result<()> {
    let (Some((dir, name)), Some((_, aside_name))) = (rel.rsplit_once('/'), aside.rsplit_once('/'))
    else {
        return Ok(());
    };
    let refuse = |what: &Path, e: io::Error| Error::UnsafeJournal {
        staging: staging.path().to_path_buf(),
        reason: format!(
            "{} cannot be opened without following a link ({e})",
            what.display()
        ),
    };
    let staged = staging
        .open_dir(dir)
        .map_err(|e| refuse(&staging.path().join(dir), e))?;
    if staged.kind(name).ctx("stat", staged.path().join(name))? == Kind::Absent {
        return Ok(());
    }
    let held = store
        .open_dir(dir)
        .map_err(|e| refuse(&store.path().join(dir), e))?;
    match held.kind(name).ctx("stat", held.path().join(name))? {
        Kind::File => held
            .rename_as_noreplace(name, &held, aside_name)
            .ctx("rename", held.path().join(name)),
        _ => Ok(()),
    }
}

/// Rolling forward a rename whose target appeared since the crash: a staged directory (the
/// whole `machines/` of an import into a new store) whose target is now a directory too
/// (docker-machine made `machines/` for another machine meanwhile) moves entry by entry,
/// never replacing one; anything else that is in the way is left, and said.
fn merge_into(
    src_parent: &HeldDir,
    dst_parent: &HeldDir,
    name: &str,
    to: &str,
    skipped: &mut Vec<String>,
) -> Result<()> {
    let both_dirs = src_parent.kind(name).is_ok_and(|k| k == Kind::Dir)
        && dst_parent.kind(name).is_ok_and(|k| k == Kind::Dir);
    let (Ok(src), Ok(dst), true) = (
        src_parent.open_dir(name),
        dst_parent.open_dir(name),
        both_dirs,
    ) else {
        skipped.push(to.to_string());
        return Ok(());
    };
    for entry in fs::read_dir(src.path()).ctx("list", src.path())? {
        let entry = entry.ctx("list", src.path())?.file_name();
        let entry = entry.to_string_lossy();
        match src.rename_noreplace(&entry, &dst) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                skipped.push(format!("{to}/{entry}"));
            }
            r => r.ctx("rename into", dst.path().join(&*entry))?,
        }
    }
    sync_dir(dst.path())
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
                if set.replaces.contains(name) {
                    steps.push(set_aside(plan, &rel));
                }
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
            crate::failpoint::failpoint("commit-step")?;
            match step {
                Step::SetAside { rel, aside } => {
                    let (from, to) = (plan.root.join(rel), plan.root.join(aside));
                    crate::fs::rename_noreplace(&from, &to).ctx("rename", &from)?;
                }
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
                Step::SetAside { rel, aside } => {
                    let _ =
                        crate::fs::rename_noreplace(&plan.root.join(aside), &plan.root.join(rel));
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
