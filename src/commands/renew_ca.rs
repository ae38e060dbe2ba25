//! `mbundle renew-ca`: a CA certificate re-issued with the same key.

use super::render::*;
use crate::cli::RenewCaArgs;
use crate::error::{Error, Result};
use crate::store::Store;

pub(super) fn run(store: &Store, a: &RenewCaArgs) -> Result<super::Outcome> {
    use crate::pki::reissue::{DEFAULT_CA_DAYS, MAX_CA_DAYS};
    if !(1..=MAX_CA_DAYS).contains(&a.days) {
        return Err(Error::usage(
            format!("--days must be between 1 and {MAX_CA_DAYS}"),
            format!("e.g. --days {DEFAULT_CA_DAYS}"),
        ));
    }
    let dir = match &a.cert_set {
        Some(id) => {
            crate::format::manifest::check_cert_set_id(id).map_err(|e| {
                Error::usage(
                    format!("--cert-set {id:?}: {e}"),
                    "the id is the directory name under imported-certs/",
                )
            })?;
            store.root.join(crate::store::IMPORTED_CERTS).join(id)
        }
        None => store.certs_dir(),
    };
    let r = {
        let _lock = crate::fs::lock::lock_store(&store.root)?;
        crate::ops::lifecycle::renew_ca(store, &dir, a.days)?
    };
    if a.json {
        print(&json_text(&r))?;
        return Ok(super::Outcome::Success);
    }
    let mut out = String::new();
    out.push_str(&format!(
        "renewed {} with the same key and subject, valid until {}\n",
        r.ca_cert.display(),
        crate::pki::certs::date_of(&r.not_after)
    ));
    for k in &r.kept {
        out.push_str(&format!("  kept the old file as {}\n", k.display()));
    }
    if !r.machines.is_empty() {
        out.push_str(&format!(
            "  updated the copy in machines: {}\n",
            r.machines.join(", ")
        ));
    }
    if !a.push {
        out.push_str("Every certificate this CA issued still verifies. Each host's daemon checks client certificates against its own ca.pem: give it the new one with `mbundle push --all` (or `mbundle regenerate-certs NAME` prints the commands to do it by hand).\n");
        print(&for_this_store(&out))?;
        return Ok(super::Outcome::Success);
    }
    print(&for_this_store(&out))?;
    // The machines this CA issued for: those whose CA is the renewed file.
    let machines: Vec<crate::store::Machine> = store
        .machines(&store.machine_names()?)?
        .into_iter()
        .filter(|m| {
            m.issuing_material(store)
                .iter()
                .any(|f| f.name == crate::store::CA_CERT && f.local == r.ca_cert)
        })
        .collect();
    if machines.is_empty() {
        eprintln!("no machine of the store was issued by this CA: no host to push to");
        return Ok(super::Outcome::Success);
    }
    super::push::push_machines(store, &machines, &super::push::confirmed_by(a.yes))
}
