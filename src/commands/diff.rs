//! `mbundle diff`: is a bundle current with the store? Text or `--json`; exit 0 when it is,
//! 1 when not: an answer, not an error (nothing is said on standard error).

use super::render::*;
use super::{decrypt_with, open_input};
use crate::cli::DiffArgs;
use crate::error::Result;
use crate::ops::diff::DiffReport;
use crate::store::Store;

pub(super) fn run(store: &Store, a: &DiffArgs) -> Result<super::Outcome> {
    let (input, what) = open_input(&a.bundle)?;
    let report = crate::ops::diff::run(store, input, &decrypt_with(&a.decrypt), &what)?;
    if a.json {
        print(&json_text(&report))?;
    } else if !a.quiet {
        print(&terminal_safe(describe(
            &report,
            &what,
            &store.root.display().to_string(),
        )))?;
    }
    Ok(if report.current {
        super::Outcome::Success
    } else {
        super::Outcome::NotCurrent
    })
}

/// The differences, in words.
fn describe(r: &DiffReport, what: &str, root: &str) -> String {
    let mut s = format!("{what} against {root}:\n");
    if !r.only_in_store.is_empty() {
        s.push_str(&format!(
            "  only in the store (not backed up): {}\n",
            r.only_in_store.join(", ")
        ));
    }
    for c in &r.changed {
        s.push_str(&format!(
            "  changed since the bundle: {} ({})\n",
            printable(&c.machine),
            printable(&c.files.join(", "))
        ));
    }
    for c in &r.cert_sets {
        s.push_str(&format!(
            "  cert set {} (CA \"{}\") is not in the store as the bundle has it\n",
            printable(&c.id),
            printable(c.ca_name.as_deref().unwrap_or("?"))
        ));
    }
    if r.store_certs_not_in_bundle {
        s.push_str("  the store's certs/ (its CA) is not in the bundle as it is\n");
    }
    if !r.only_in_bundle.is_empty() {
        s.push_str(&format!(
            "  only in the bundle: {}\n",
            r.only_in_bundle.join(", ")
        ));
    }
    s.push_str(if r.current {
        "the bundle is current: it holds everything the store holds\n"
    } else {
        "the bundle is NOT current: export again to back up what changed (mbundle export --all ...)\n"
    });
    s
}
