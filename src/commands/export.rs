//! `mbundle export`: arguments to an export request, the summary on stderr.

use super::render::*;
use super::*;
use crate::cli::ExportArgs;
use crate::error::Result;
use crate::ops::export::{ExportRequest, Output};
use crate::store::Store;

/// What the command line must say before anything is looked at: which machines.
pub(super) fn check(a: &ExportArgs) -> Result<()> {
    if a.names.is_empty() && !a.all {
        return Err(crate::error::Error::usage(
            "export needs the machines to export: name them, or pass --all",
            "mbundle export NAME... -r RECIPIENT -o FILE (mbundle ls lists the names), or mbundle export --all ... for every machine and the store's certs/",
        ));
    }
    Ok(())
}

/// How many times an export of `--all` into a file starts again when a machine is removed
/// while its files are written (a runner manager removes them all day).
const LIVE_RESTARTS: usize = 3;

pub(super) fn run(store: &Store, a: &ExportArgs) -> Result<()> {
    let (output, to) = prepare_output(&a.output, &a.encrypt, a.force, a.json)?;
    let mut how = super::Writing {
        to: &to,
        output: &output,
        force: a.force,
        label: "exporting",
        quiet: a.quiet || a.json,
        said: Default::default(),
    };
    let mut restarts = 0;
    let (plan, summary) = loop {
        let plan = crate::ops::export::plan(
            store,
            &ExportRequest {
                names: a.names.clone(),
                all: a.all,
                include_disks: a.include_disks,
            },
        )?;
        match super::write_planned(&plan, &mut how) {
            Ok(summary) => break (plan, summary),
            Err(e) if a.all && restarts < LIVE_RESTARTS && can_start_again(&output) => {
                let Some(name) = removed_while_written(store, &e) else {
                    return Err(e);
                };
                warn(&format!(
                    "machine {name} was removed while the bundle was written; exporting again without it"
                ));
                restarts += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let said = say(a, &plan, &summary, &output);
    // The plan (4,000 files for 500 machines) is freed on a thread of its own: the bundle
    // is written, and freeing it took 4 ms the user waited for.
    crate::fs::drop_later(plan);
    said
}

/// Whether the output can be written again from the start: a regular file (written to a
/// temporary file renamed into place), not standard output, a FIFO or a device.
fn can_start_again(output: &Output) -> bool {
    match output {
        Output::Stdout => false,
        Output::File(p) => std::fs::metadata(p).map_or(true, |m| m.is_file()),
    }
}

/// The machine a failed write could not read because the machine is gone from the store:
/// its directory, or its config.json, no longer there.
fn removed_while_written(store: &Store, e: &crate::error::Error) -> Option<String> {
    use crate::error::Error;
    let path = match e {
        Error::Io { path, source, .. } if source.kind() == std::io::ErrorKind::NotFound => path,
        Error::ChangedWhileExporting { path } => path,
        _ => return None,
    };
    let machines = store.machines_dir();
    let name = path.strip_prefix(&machines).ok()?.components().next()?;
    let name = name.as_os_str().to_str()?.to_string();
    let dir = machines.join(&name);
    (!dir.join("config.json").is_file()).then_some(name)
}

/// The summary on stderr (or the JSON report on stdout).
fn say(
    a: &ExportArgs,
    plan: &crate::ops::export::ExportPlan,
    summary: &crate::ops::export::Summary,
    output: &Output,
) -> Result<()> {
    if a.json {
        let m = &plan.manifest;
        let dest = match output {
            Output::Stdout => "-".to_string(),
            Output::File(p) => p.display().to_string(),
        };
        return print(&json_text(&serde_json::json!({
            "output": dest,
            "machines": m.machines.iter().map(|x| &x.name).collect::<Vec<_>>(),
            "certsets": m.cert_sets.iter().map(|x| &x.id).collect::<Vec<_>>(),
            "files": summary.files,
            "bytes_in": summary.bytes_in,
            "bytes_out": summary.bytes_out,
            "excluded": m.excluded,
            "warnings": m.warnings,
            "seconds": summary.seconds,
        })));
    }
    if !a.quiet {
        let m = &plan.manifest;
        if !m.excluded.is_empty() {
            eprintln!(
                "left out {} file(s), {}:",
                summary.excluded,
                human_bytes(summary.excluded_bytes)
            );
            for e in &m.excluded {
                eprintln!(
                    "  {}  {}  {}",
                    printable(&e.path),
                    human_bytes(e.size),
                    printable(&e.why)
                );
            }
        }
        let dest = match output {
            Output::Stdout => "standard output".to_string(),
            Output::File(p) => p.display().to_string(),
        };
        eprintln!(
            "exported {} machine(s), {} cert set(s), {} files ({} in, {} bundle) to {} in {:.2}s",
            summary.machines,
            summary.cert_sets,
            summary.files,
            human_bytes(summary.bytes_in),
            human_bytes(summary.bytes_out),
            dest,
            summary.seconds
        );
    }
    Ok(())
}
