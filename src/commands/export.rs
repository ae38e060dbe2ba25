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

pub(super) fn run(store: &Store, a: &ExportArgs) -> Result<()> {
    let (output, to) = prepare_output(&a.output, &a.encrypt, a.force, a.json)?;
    let plan = crate::ops::export::plan(
        store,
        &ExportRequest {
            names: a.names.clone(),
            all: a.all,
            include_disks: a.include_disks,
        },
    )?;
    let summary =
        super::write_planned(&plan, &to, &output, a.force, "exporting", a.quiet || a.json)?;
    let said = say(a, &plan, &summary, &output);
    // The plan (4,000 files for 500 machines) is freed on a thread of its own: the bundle
    // is written, and freeing it took 4 ms the user waited for.
    crate::fs::drop_later(plan);
    said
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
