//! `mbundle verify`: every file of a bundle checked against its manifest; writes nothing.

use super::render::*;
use super::*;
use crate::cli::VerifyArgs;
use crate::error::Result;
use crate::format::bundle::{read_bundle, VerifyOnly};

pub(super) fn run(a: &VerifyArgs) -> Result<()> {
    let (input, what) = open_input(&a.bundle)?;
    let m = read_bundle(input, &decrypt_with(&a.decrypt), &what, &mut VerifyOnly)?;
    if a.json {
        return print(&json_text(&serde_json::json!({
            "bundle": what,
            "ok": true,
            "files": m.files.len(),
            "bytes": m.total_size(),
            "machines": m.machines.iter().map(|x| &x.name).collect::<Vec<_>>(),
            "certsets": m.cert_sets.iter().map(|x| &x.id).collect::<Vec<_>>(),
        })));
    }
    if !a.quiet {
        println!(
            "OK: {what}: all {} files ({}) match their sha256; {} machine(s), {} cert set(s)",
            m.files.len(),
            human_bytes(m.total_size()),
            m.machines.len(),
            m.cert_sets.len()
        );
    }
    Ok(())
}
