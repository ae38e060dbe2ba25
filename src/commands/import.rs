//! `mbundle import`: arguments to an import request; the plan (`--dry-run`) or the report.

use std::path::Path;

use super::render::*;
use super::*;
use crate::cli::ImportArgs;
use crate::error::Result;
use crate::ops::import::{ImportRequest, Placement};
use crate::store::Store;

pub(super) fn run(root: &Path, explicit_store: bool, a: &ImportArgs) -> Result<()> {
    let mut renames = Vec::new();
    for r in &a.renames {
        renames.push(crate::ops::import::parse_rename(r)?);
    }
    let docker_context = if a.docker_context {
        Some(docker_config()?)
    } else {
        None
    };
    let req = ImportRequest {
        only: a.names.clone(),
        renames,
        docker_context: docker_context.clone(),
    };
    let keys = decrypt_with(&a.decrypt);
    let (input, what) = open_input(&a.bundle)?;
    let store_flag = store_flag(root, explicit_store);
    if a.dry_run {
        let report = crate::ops::import::dry_run(root, input, &keys, &what, &req)?;
        if a.json {
            return print(&json_text(&import_json(&report, root, true, &[])));
        }
        for w in &report.warnings {
            warn(w);
        }
        print!(
            "{}",
            terminal_safe(describe_import(&report, root, true, &store_flag, a.verbose))
        );
        return Ok(());
    }
    // Ctrl-C and SIGTERM stop the import between files; staging is then removed. The
    // commit itself is never interrupted half-way.
    crate::signals::install();
    let progress = crate::progress::Progress::new(!a.quiet && !a.json);
    let report = crate::ops::import::run(root, input, &keys, &what, &req, &progress);
    progress.finish();
    let report = report?;
    for msg in &report.recovered {
        render::note(msg);
    }
    for w in &report.warnings {
        warn(w);
    }
    if !a.quiet && !a.json {
        print!(
            "{}",
            terminal_safe(describe_import(
                &report,
                root,
                false,
                &store_flag,
                a.verbose
            ))
        );
    }
    let mut contexts = Vec::new();
    if let Some(cfg) = &docker_context {
        let store = Store::open(root)?;
        for name in report.machines.iter().map(|m| &m.target) {
            let m = store.machine(name)?;
            let spec = crate::store::context::ContextSpec::for_machine(&store, &m, name)?;
            crate::store::context::write_into_store(cfg, &spec, false)?;
            contexts.push(name.clone());
            if !a.quiet && !a.json {
                println!("docker context {name} created: docker --context {name} version");
            }
        }
    }
    if a.json {
        print(&json_text(&import_json(&report, root, false, &contexts)))?;
    }
    // Every rewrite of 500 machines: milliseconds of freeing nobody needs to wait for.
    crate::fs::drop_later(report);
    Ok(())
}

/// The import report (or, for a dry run, the plan); past [`LISTED`] machines, counted by where
/// their certificates are unless `verbose`.
pub fn describe_import(
    r: &crate::ops::import::Report,
    root: &Path,
    dry: bool,
    store_flag: &str,
    verbose: bool,
) -> String {
    let mut s = String::new();
    if dry {
        s.push_str(&format!(
            "import plan for {} (dry run: nothing written)\n",
            root.display()
        ));
    } else if r.machines.is_empty() && r.sets.iter().all(|set| set.written == 0) {
        s.push_str(&format!(
            "nothing to import: everything in the bundle is already in {}, identical\n",
            root.display()
        ));
    } else {
        s.push_str(&format!(
            "imported {} machine(s) into {}\n",
            r.machines.len(),
            root.display()
        ));
    }
    describe_machines(r, verbose, &mut s);
    for crate::ops::import::SetReport {
        id,
        ca_name: ca,
        placement,
        dir,
        written: writes,
        set_aside,
    } in &r.sets
    {
        let ca = ca
            .as_deref()
            .map(|c| format!(" (CA {c:?})"))
            .unwrap_or_default();
        let what = match placement {
            Placement::ReuseDefault => format!("identical to {}, reused", dir.display()),
            Placement::NewDefault => {
                format!("becomes the store's {} (there was none)", dir.display())
            }
            Placement::Imported if *writes == 0 => format!("already in {}, reused", dir.display()),
            Placement::Imported => format!("{} (beside certs/, never replacing it)", dir.display()),
            Placement::SameCa => match set_aside.first() {
                Some(old) => format!(
                    "this store's own CA (same key), renewed: {}/ca.pem is now the bundle's newer certificate; the older one is kept as {}",
                    dir.display(),
                    old.display()
                ),
                None => format!(
                    "this store's own CA (same key): {} keeps its certificate, the newer of the two",
                    dir.display()
                ),
            },
        };
        s.push_str(&format!("  cert set {id}{ca}: {what}\n"));
    }
    describe_paths(r, dry, verbose, &mut s);
    if let Some(share) = &r.share {
        describe_share(share, root, &mut s);
    }
    if !dry {
        s.push_str(&format!(
            "{} machine(s), {} cert set(s), {} files, {} written in {:.2}s\n",
            r.machines.len(),
            r.sets.len(),
            r.files_written,
            human_bytes(r.bytes_written),
            r.seconds
        ));
        if let Some(name) = r.machines.first().map(|m| &m.target) {
            s.push_str(&format!("use it: eval $(mbundle {store_flag}env {name})\n"));
        }
    }
    s
}

/// A line per machine imported and per machine already present; past [`LISTED`] of either
/// (and not `verbose`), their counts: the imported by where their certificates are.
fn describe_machines(r: &crate::ops::import::Report, verbose: bool, s: &mut String) {
    if verbose || r.machines.len() <= LISTED {
        for m in &r.machines {
            let renamed = if m.source != m.target {
                format!(" (renamed from {})", m.source)
            } else {
                String::new()
            };
            s.push_str(&format!(
                "  machine {}: {}{renamed}\n",
                m.target,
                m.dir.display()
            ));
        }
    } else {
        let mut by_certs: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
        for m in &r.machines {
            let at = m.certs.as_ref().map_or_else(
                || "no cert set of their own".to_string(),
                |d| format!("certificates in {}", d.display()),
            );
            by_certs.entry(at).or_default().push(&m.target);
        }
        for (at, names) in by_certs {
            s.push_str(&format!(
                "  {} machine(s), {at}: {}\n",
                names.len(),
                first_names(&names)
            ));
        }
        s.push_str("  (-v lists each machine)\n");
    }
    if verbose || r.present.len() <= LISTED {
        for name in &r.present {
            s.push_str(&format!("  machine {name}: already present, identical\n"));
        }
    } else {
        let names: Vec<&str> = r.present.iter().map(String::as_str).collect();
        s.push_str(&format!(
            "  {} machine(s) already present, identical: {}\n",
            names.len(),
            first_names(&names)
        ));
    }
}

/// The config.json part of the import description: every rewrite (dry run) or their count,
/// the paths left alone, and the paths absent after the import; past [`LISTED`] of either
/// (and not `verbose`), grouped: one line per field and path, naming the machines.
fn describe_paths(r: &crate::ops::import::Report, dry: bool, verbose: bool, s: &mut String) {
    let total: usize = r.changes.iter().map(|c| c.changes.len()).sum();
    if dry {
        s.push_str(&format!("config.json rewrites ({total}):\n"));
        for crate::ops::import::MachineChanges {
            machine: m,
            changes,
        } in &r.changes
        {
            for c in changes {
                s.push_str(&format!(
                    "  {m}: {}: {} -> {}\n",
                    c.field,
                    printable(&c.from),
                    printable(&c.to)
                ));
            }
        }
    } else {
        s.push_str(&format!(
            "rewrote {total} path(s) in config.json (--dry-run lists them)\n"
        ));
    }
    if !r.untouched.is_empty() {
        s.push_str("left as they are (outside anything the bundle carries):\n");
        let each: Vec<(&str, &str, &str)> = r
            .untouched
            .iter()
            .flat_map(|m| {
                m.paths
                    .iter()
                    .map(|u| (m.machine.as_str(), u.field.as_str(), u.path.as_str()))
            })
            .collect();
        list_or_group(&each, verbose, s);
    }
    if !r.missing.is_empty() {
        s.push_str(if r.share.is_some() {
            "named in config.json but absent (a share leaves these keys with the owner):\n"
        } else {
            "named in config.json but absent (they were absent when exported):\n"
        });
        let each: Vec<(&str, &str, &str)> = r
            .missing
            .iter()
            .map(|m| (m.machine.as_str(), m.field.as_str(), m.path.as_str()))
            .collect();
        list_or_group(&each, verbose, s);
    }
}

/// (machine, field, path) triples: a line each, or past [`LISTED`] (and not `verbose`) a line
/// per field and path naming its machines, then per field for paths that differ by machine.
fn list_or_group(each: &[(&str, &str, &str)], verbose: bool, s: &mut String) {
    if verbose || each.len() <= LISTED {
        for (m, field, path) in each {
            s.push_str(&format!("  {m}: {field} = {}\n", printable(path)));
        }
        return;
    }
    let mut same_path: std::collections::BTreeMap<(&str, &str), Vec<&str>> = Default::default();
    for (m, field, path) in each {
        same_path.entry((field, path)).or_default().push(m);
    }
    // A path each machine spells its own way (its own directory) is grouped by field alone.
    let mut by_field: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for ((field, path), machines) in &same_path {
        if machines.len() == 1 {
            by_field.entry(field).or_default().push(machines[0]);
        } else {
            s.push_str(&format!(
                "  {field} = {}: {} machine(s): {}\n",
                printable(path),
                machines.len(),
                first_names(machines)
            ));
        }
    }
    for (field, machines) in by_field {
        s.push_str(&format!(
            "  {field}: {} machine(s), each its own path (-v lists them): {}\n",
            machines.len(),
            first_names(&machines)
        ));
    }
}

/// What a teammate must know of a share: whose certificate, until when, what stayed with the
/// owner, and which emptied credentials which commands need.
fn describe_share(share: &crate::ops::import::ShareReport, root: &Path, s: &mut String) {
    let i = &share.info;
    s.push_str(&format!(
        "shared with {} on {}: the client certificate is theirs (CN={}), valid until {}\n",
        i.shared_with,
        crate::pki::certs::date_of(&i.issued_at),
        i.shared_with,
        crate::pki::certs::date_of(&i.cert_not_after)
    ));
    s.push_str(&format!(
        "  the CA key and the daemon's server key stay with the owner: regenerate-certs and renew-ca are theirs to run{}\n",
        if i.with_ssh_key {
            ""
        } else {
            "; the SSH key too (docker-machine ssh/scp need it: ask for a share --with-ssh-key)"
        }
    ));
    for m in &share.redacted {
        s.push_str(&format!(
            "  {}: {} emptied (all but what reaches and lists the machine): {}\n    fill them in: set each in {} (your own credentials for the same account), or ask for a share --keep-secrets\n",
            m.machine,
            m.fields.join(", "),
            m.needed_for,
            root.join("machines").join(&m.machine).join("config.json").display()
        ));
    }
}

/// What `import --json` (and `--dry-run --json`) prints: the report, field for field.
fn import_json(
    r: &crate::ops::import::Report,
    root: &Path,
    dry: bool,
    contexts: &[String],
) -> serde_json::Value {
    use serde_json::json;
    let per_machine = |list: Vec<(String, String, String)>| -> Vec<serde_json::Value> {
        list.into_iter()
            .map(|(machine, field, path)| json!({"machine": machine, "field": field, "path": path}))
            .collect()
    };
    json!({
        "dry_run": dry,
        "store": root.display().to_string(),
        "machines": r.machines.iter().map(|m| json!({
            "name": m.target, "from": m.source, "dir": m.dir.display().to_string(),
        })).collect::<Vec<_>>(),
        "present": r.present,
        "certsets": r.sets.iter().map(|s| json!({
            "id": s.id, "ca_name": s.ca_name, "placement": s.placement,
            "dir": s.dir.display().to_string(), "files_written": s.written,
        })).collect::<Vec<_>>(),
        "changes": r.changes.iter().flat_map(|c| c.changes.iter().map(|x| json!({
            "machine": c.machine, "field": x.field, "from": x.from, "to": x.to,
        }))).collect::<Vec<_>>(),
        "untouched": per_machine(r.untouched.iter().flat_map(|u| u.paths.iter().map(|p| {
            (u.machine.clone(), p.field.clone(), p.path.clone())
        })).collect()),
        "missing": per_machine(r.missing.iter().map(|m| {
            (m.machine.clone(), m.field.clone(), m.path.clone())
        }).collect()),
        "share": r.share.as_ref().map(|s| json!({
            "shared_with": s.info.shared_with,
            "issued_at": s.info.issued_at,
            "cert_not_after": s.info.cert_not_after,
            "with_ssh_key": s.info.with_ssh_key,
            "secrets_kept": s.info.secrets_kept,
            "redacted": s.redacted.iter().map(|m| json!({
                "machine": m.machine, "fields": m.fields, "needed_for": m.needed_for,
            })).collect::<Vec<_>>(),
        })),
        "docker_contexts": contexts,
        "warnings": r.warnings,
        "recovered": r.recovered,
        "files_written": r.files_written,
        "bytes_written": r.bytes_written,
        "seconds": r.seconds,
    })
}
