//! A cert set that is another issue of the store's own CA ([`Placement::SameCa`]) and whose
//! certificate is the newer: before it takes the place of `certs/ca.pem`, its staged bytes
//! must show what the manifest claimed. A certificate of a CA, the same subject as the
//! store's, the public half of the store's own `certs/ca-key.pem`, ending later. Anything
//! else is refused and nothing is committed.

use std::path::Path;

use crate::error::{Error, Result};
use crate::pki::certs;
use crate::store::{read_pem_file, CA_CERT, CA_KEY};

use super::model::Placement;
use super::plan::ImportPlan;

/// Checks every staged certificate that would replace the store's `certs/ca.pem`.
pub(super) fn check_staged(plan: &ImportPlan, staging: &Path) -> Result<()> {
    for set in plan
        .sets
        .iter()
        .filter(|s| s.placement == Placement::SameCa)
    {
        if !set.replaces.iter().any(|n| n == CA_CERT) {
            continue;
        }
        let dir = plan.root.join(&set.dir_rel);
        let refuse = |why: String| {
            Error::Conflicts(vec![format!(
                "cert set {}: its CA certificate would replace {} as a renewal of the same CA, but {why}; nothing was imported",
                set.id,
                dir.join(CA_CERT).display()
            )])
        };
        let theirs = read_pem_file(&staging.join(&set.dir_rel).join(CA_CERT))?;
        let ours = read_pem_file(&dir.join(CA_CERT))?;
        let key = zeroize::Zeroizing::new(read_pem_file(&dir.join(CA_KEY))?);
        let new = certs::parse_pem(&theirs)
            .map_err(|e| refuse(format!("it is not a certificate ({e})")))?;
        let old = certs::parse_pem(&ours)
            .map_err(|e| refuse(format!("the store's is not a certificate ({e})")))?;
        let der = certs::pem_cert_der(&theirs)
            .map_err(|e| refuse(format!("it is not a certificate ({e})")))?;
        if !new.is_ca {
            return Err(refuse("it is not a CA certificate".into()));
        }
        if new.subject != old.subject {
            return Err(refuse(format!(
                "its subject ({}) is not the store's CA's ({})",
                new.subject, old.subject
            )));
        }
        if !certs::key_matches(&key, &der).unwrap_or(false) {
            return Err(refuse(format!(
                "it is not for the key in {}",
                dir.join(CA_KEY).display()
            )));
        }
        if new.not_after <= old.not_after {
            return Err(refuse(format!(
                "it ends on {}, not after the store's ({})",
                certs::rfc3339(new.not_after),
                certs::rfc3339(old.not_after)
            )));
        }
    }
    Ok(())
}
