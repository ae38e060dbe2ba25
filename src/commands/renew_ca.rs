//! `mbundle renew-ca`: a CA certificate re-issued with the same key.

use super::render::*;
use crate::cli::RenewCaArgs;
use crate::error::{Error, Result};
use crate::store::Store;

pub(super) fn run(store: &Store, a: &RenewCaArgs) -> Result<()> {
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
    let _lock = crate::fs::lock::lock_store(&store.root)?;
    let r = crate::ops::lifecycle::renew_ca(store, &dir, a.days)?;
    if a.json {
        return print(&json_text(&r));
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
    out.push_str("Every certificate this CA issued still verifies. Copy the new ca.pem to each host's /etc/docker/ca.pem and restart docker there (`mbundle regenerate-certs NAME` prints the commands).\n");
    print(&for_this_store(&out))
}
