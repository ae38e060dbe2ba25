//! Where each cert set of an import goes (pure): reused `certs/`, a new `certs/` on a
//! store without one, or `imported-certs/<id>/` beside it; which files are written, already
//! there, or in conflict; and which CAs need renewing soon.

use crate::format::manifest::{CertRole, CertSetEntry, MachineEntry, Manifest};
use crate::store::{CA_CERT, CA_KEY, CLIENT_CERT, CLIENT_KEY, IMPORTED_CERTS};

use super::model::{FileTarget, Found, Placement, SetPlan};
use super::target::TargetState;

/// Where each cert set goes: reused `certs/`, a new `certs/` on a store without one, or
/// `imported-certs/<id>/`; and which of its files are written, already there, or conflict.
/// Only the sets the machines to write use, and sets no machine of the bundle uses (a CA
/// backup) when it holds no more machines than those.
pub(super) fn place_cert_sets(
    manifest: &Manifest,
    selected: &[&MachineEntry],
    whole: bool,
    state: &TargetState,
    found: &mut Found,
) -> Vec<SetPlan> {
    let certs_identical = |set: &CertSetEntry| {
        set.members.iter().all(|mem| {
            let sha = manifest.file(&mem.path).map(|f| f.sha256.as_str());
            state.cert_files.get(&format!("certs/{}", mem.name)) == Some(&sha.map(str::to_string))
        })
    };
    let no_default_ca = !state.cert_files.contains_key("certs/ca.pem");
    // Existing machines' config.json files name certs/ca.pem too: the set may become certs/
    // only if it is the CA they already carry a copy of (a restore after losing certs/), or
    // if there are none (a fresh laptop). Otherwise it would silently change their CA.
    let adoptable = |set: &CertSetEntry| {
        let ca_sha = set
            .members
            .iter()
            .find(|m| m.name == crate::store::CA_CERT)
            .and_then(|m| manifest.file(&m.path))
            .map(|f| f.sha256.clone());
        state
            .machine_cas
            .values()
            .all(|have| have.is_some() && *have == ca_sha)
    };
    let mut default_taken = false;
    let mut sets = Vec::new();
    let uses =
        |m: &MachineEntry, set: &CertSetEntry| m.cert_set.as_deref() == Some(set.id.as_str());
    let wanted = |set: &CertSetEntry| {
        selected.iter().any(|m| uses(m, set))
            || (whole && !manifest.machines.iter().any(|m| uses(m, set)))
    };
    for set in manifest.cert_sets.iter().filter(|s| wanted(s)) {
        let compatible = |dir: &str| {
            set.members.iter().all(|mem| {
                match state.cert_files.get(&format!("{dir}/{}", mem.name)) {
                    None => true,
                    Some(have) => {
                        have.as_deref() == manifest.file(&mem.path).map(|f| f.sha256.as_str())
                    }
                }
            })
        };
        if let Some(newer) = same_ca(manifest, state, set).filter(|_| !certs_identical(set)) {
            let (writes, replaces) = same_ca_files(manifest, state, set, newer, found);
            if newer {
                expiry_warning(set, "certs", state.now, found);
            }
            sets.push(SetPlan {
                id: set.id.clone(),
                ca_name: set.ca_name.clone(),
                placement: Placement::SameCa,
                dir_rel: "certs".to_string(),
                writes,
                replaces,
            });
            continue;
        }
        let (placement, dir_rel) = if certs_identical(set) {
            (Placement::ReuseDefault, "certs".to_string())
        } else if set.role == CertRole::Default
            && carries_ca_key(set)
            && no_default_ca
            && !default_taken
            && compatible("certs")
            && adoptable(set)
        {
            default_taken = true;
            (Placement::NewDefault, "certs".to_string())
        } else {
            (Placement::Imported, format!("{IMPORTED_CERTS}/{}", set.id))
        };
        let writes = set_files(manifest, state, set, &dir_rel, found);
        expiry_warning(set, &dir_rel, state.now, found);
        sets.push(SetPlan {
            id: set.id.clone(),
            ca_name: set.ca_name.clone(),
            placement,
            dir_rel,
            writes,
            replaces: Vec::new(),
        });
    }
    sets
}

/// Whether `set` is another issue of the store's own CA: its CA key is, byte for byte,
/// `certs/ca-key.pem` and its CA has the name of `certs/ca.pem`'s. `Some(true)` when the
/// set's CA certificate is the newer one (it takes the place of `certs/ca.pem`, checked on
/// its bytes once staged), `Some(false)` when the store's is kept.
fn same_ca(manifest: &Manifest, state: &TargetState, set: &CertSetEntry) -> Option<bool> {
    let have = state.default_ca.as_ref()?;
    let key = set.members.iter().find(|m| m.name == CA_KEY)?;
    let sha = &manifest.file(&key.path)?.sha256;
    let store_key = state.cert_files.get(&format!("certs/{CA_KEY}"))?.as_ref()?;
    if store_key != sha || set.ca_name.as_deref() != Some(have.name.as_str()) {
        return None;
    }
    let theirs = set.not_after.as_deref().and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    });
    Some(theirs.is_some_and(|t| t > have.not_after))
}

/// The members of a [`Placement::SameCa`] set to write into `certs/`: the CA key is there
/// already; the CA certificate replaces the store's only when it is the newer one; the client
/// pair is written only where `certs/` has none (another pair from the same CA key is kept).
/// Returns (writes, replaces).
fn same_ca_files(
    manifest: &Manifest,
    state: &TargetState,
    set: &CertSetEntry,
    newer: bool,
    found: &mut Found,
) -> (Vec<String>, Vec<String>) {
    let (mut writes, mut replaces) = (Vec::new(), Vec::new());
    let has = |name: &str| state.cert_files.contains_key(&format!("certs/{name}"));
    let no_client_pair = !has(CLIENT_CERT) && !has(CLIENT_KEY);
    for mem in &set.members {
        let rel = format!("certs/{}", mem.name);
        let declared = manifest.file(&mem.path).map(|f| f.sha256.clone());
        let target = if state.cert_files.get(&rel) == Some(&declared) {
            FileTarget::Identical
        } else if (mem.name == CA_CERT && newer) || (mem.name != CA_CERT && no_client_pair) {
            if mem.name == CA_CERT {
                replaces.push(mem.name.clone());
            }
            writes.push(mem.name.clone());
            FileTarget::Write(rel)
        } else {
            FileTarget::Kept
        };
        found.files.insert(mem.path.clone(), target);
    }
    (writes, replaces)
}

/// Whether a set carries its CA key. One that does not (a share, a custom CA) never becomes
/// the store's `certs/`: docker-machine create would find `certs/ca.pem` and fail for want
/// of `certs/ca-key.pem`, and the store's own machines would be issued by someone else's CA.
fn carries_ca_key(set: &CertSetEntry) -> bool {
    set.members.iter().any(|m| m.name == crate::store::CA_KEY)
}

/// The members of one set in `dir_rel` to write (absent there); the rest are identical (same
/// bytes) or a conflict (other bytes: never replaced).
fn set_files(
    manifest: &Manifest,
    state: &TargetState,
    set: &CertSetEntry,
    dir_rel: &str,
    found: &mut Found,
) -> Vec<String> {
    let mut writes = Vec::new();
    for mem in &set.members {
        let rel = format!("{dir_rel}/{}", mem.name);
        let declared = manifest.file(&mem.path).map(|f| f.sha256.clone());
        match state.cert_files.get(&rel) {
            None => {
                writes.push(mem.name.clone());
                found.files.insert(mem.path.clone(), FileTarget::Write(rel));
            }
            Some(have) if *have == declared => {
                found.files.insert(mem.path.clone(), FileTarget::Identical);
            }
            Some(_) => found.conflicts.push(format!(
                "{} exists with other content; mbundle never replaces an existing file",
                state.root.join(&rel).display()
            )),
        }
    }
    writes
}

/// A CA that expired or expires soon: say which command renews it.
fn expiry_warning(set: &CertSetEntry, dir_rel: &str, now: time::OffsetDateTime, found: &mut Found) {
    let Some(t) = set.not_after.as_deref().and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    }) else {
        return;
    };
    if !crate::pki::certs::ca_needs_renewal(t, now) {
        return;
    }
    let verb = if t <= now { "expired" } else { "expires" };
    if !carries_ca_key(set) {
        found.warnings.push(format!(
            "cert set {} (CA {:?}): the CA certificate {verb} on {}; only whoever holds its key can renew it (renew-ca on their store, then share or export again)",
            set.id,
            set.ca_name.as_deref().unwrap_or("?"),
            &crate::pki::certs::day(t)
        ));
        return;
    }
    let flag = if dir_rel == "certs" {
        String::new()
    } else {
        format!(" --cert-set {}", set.id)
    };
    found.warnings.push(format!(
        "cert set {} (CA {:?}): the CA certificate {verb} on {}; after importing, renew it with the same key: mbundle renew-ca{flag}",
        set.id,
        set.ca_name.as_deref().unwrap_or("?"),
        &crate::pki::certs::day(t)
    ));
}

/// The cert sets of machines already in place (same files) that this store already holds
/// whole, in `certs/` or `imported-certs/<id>/`: nothing of them is written, but the
/// machines' config.json is compared with the set's path rules, so a second import of a
/// bundle whose set went to `imported-certs/` finds the machine identical. A set that would
/// need writing (a custom CA the store's machines still name where it was) is left out: the
/// machine's config.json then compares as the bundle has it.
pub(super) fn placed_already(
    manifest: &Manifest,
    selected: &[&MachineEntry],
    sets: &[SetPlan],
    state: &TargetState,
) -> Vec<SetPlan> {
    let unplaced: Vec<&MachineEntry> = selected
        .iter()
        .copied()
        .filter(|m| {
            m.cert_set
                .as_ref()
                .is_some_and(|id| !sets.iter().any(|s| &s.id == id))
        })
        .collect();
    if unplaced.is_empty() {
        return Vec::new();
    }
    // What placing them would say is not this import's to say: nothing of them is written.
    let mut scratch = Found::default();
    place_cert_sets(manifest, &unplaced, false, state, &mut scratch)
        .into_iter()
        .filter(|s| s.writes.is_empty() && scratch.conflicts.is_empty())
        .collect()
}
