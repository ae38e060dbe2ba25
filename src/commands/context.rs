//! `mbundle context`: a docker context for a machine, in the docker CLI or as a file.

use super::render::{json_text, print};
use super::*;
use crate::cli::ContextArgs;
use crate::error::Result;
use crate::store::Store;

pub(super) fn run(store: &Store, a: &ContextArgs) -> Result<()> {
    let m = store.machine(&a.name)?;
    let name = a.context_name.clone().unwrap_or_else(|| m.name.clone());
    let spec = crate::store::context::ContextSpec::for_machine(store, &m, &name)?;
    match &a.output {
        Some(out) => {
            for n in crate::fs::outfile::remove_stale_beside(out) {
                render::note(&n);
            }
            crate::store::context::write_export_file(out, &spec, a.force)?;
            if a.json {
                return print(&json_text(&serde_json::json!({
                    "context": name,
                    "machine": m.name,
                    "file": out.display().to_string(),
                    "docker_config": null,
                })));
            }
            eprintln!(
                "wrote {}: import it with docker context import {name} {}",
                out.display(),
                crate::store::env::shell_word(&out.display().to_string())
            );
        }
        None => {
            let cfg = docker_config()?;
            crate::store::context::write_into_store(&cfg, &spec, a.force)?;
            if a.json {
                return print(&json_text(&serde_json::json!({
                    "context": name,
                    "machine": m.name,
                    "file": null,
                    "docker_config": cfg.display().to_string(),
                })));
            }
            let did = if a.force { "refreshed" } else { "created" };
            eprintln!("docker context {name} {did}: docker --context {name} version");
        }
    }
    Ok(())
}
