//! config.json of each staged machine, rewritten for its new home and checked: every path
//! mapped, nothing it names outside what the machine may reach, and what it names that this
//! import does not stage looked up once everything is staged. Runs while staging
//! ([`super::early`]) or after it ([`rewrite_staged`]).

use crate::error::{Error, IoContext, Result};
use crate::store::paths::ForeignPath;
use crate::store::rewrite::to_docker_machine_json;
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::plan::{root_path, FileTarget, ImportPlan, MachinePlan};
use super::Report;
use crate::store::MAX_CONFIG;

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
    m: &MachinePlan,
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
    m: &MachinePlan,
    text: Vec<u8>,
    root_fp: &ForeignPath,
    staging: &Path,
    staged: &std::collections::HashSet<&str>,
) -> Result<(Rewritten, Vec<u8>)> {
    crate::failpoint::failpoint("rewrite-machine")?;
    if m.present {
        return Ok((Rewritten::Present(text.clone()), text));
    }
    let (config, outcome) = m.rewrite(&text, root_fp)?;
    let new_text = to_docker_machine_json(&config, &text);
    // What was just serialized, parsed: serializing a Value gives back that Value.
    let names_its_ca = crate::store::cert_ref_in(&config, crate::store::CA_CERT).is_some();
    let in_certs = m
        .cert_set
        .as_ref()
        .and_then(|id| plan.sets.iter().find(|s| &s.id == id))
        .is_some_and(|s| s.dir_rel == "certs");
    let warning = (!names_its_ca && m.cert_set.is_some() && !in_certs).then(|| format!(
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

/// A machine already in the store with the same files: its config.json must be the same too
/// (as the import would write it, or as the bundle holds it); then it is left alone, its
/// staged copy dropped so the commit skips it. Else a conflict naming config.json.
fn keep_present(
    plan: &ImportPlan,
    m: &MachinePlan,
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
