//! `diff`: is a bundle current with the store? Reads the bundle once, streaming (every file
//! verified against the manifest as usual), keeps only the manifest and the machines'
//! config.json, and compares them with the store. Writes nothing.
//!
//! A machine is unchanged when every file it carries has the same bytes in the store, the
//! store holds no other file (disks the export left out aside), and its config.json is the
//! bundle's, as is or with its paths mapped onto this store (a bundle from another computer
//! compares sensibly). A cert set is in the store when its files are, byte for byte, in
//! `certs/`, in `imported-certs/<id>/`, or where the machines' config.json named them.

use std::collections::BTreeMap;

use std::io::Read;

use serde::Serialize;

use crate::error::Result;
use crate::format::bundle::{read_bundle, Visitor};
use crate::format::crypto::DecryptWith;
use crate::format::layout;
use crate::format::manifest::{CertSetEntry, FileEntry, Manifest};
use crate::store::paths::ForeignPath;
use crate::store::rewrite::{cert_set_rules, rewrite_config, to_docker_machine_json, PathMap};
use crate::store::{Store, CA_CERT, CERT_MEMBERS, IMPORTED_CERTS, MAX_CONFIG};

/// A machine in both, whose files differ.
#[derive(Clone, Debug, Serialize)]
pub struct ChangedMachine {
    /// Its name.
    pub machine: String,
    /// The files that differ (or that one side lacks).
    pub files: Vec<String>,
}

/// A cert set of the bundle that the store does not hold as it is.
#[derive(Clone, Debug, Serialize)]
pub struct ChangedSet {
    /// Its id.
    pub id: String,
    /// Its CA's name.
    pub ca_name: Option<String>,
}

/// What differs between a bundle and the store.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DiffReport {
    /// Machines in the store the bundle lacks: not backed up.
    pub only_in_store: Vec<String>,
    /// Machines in the bundle the store lacks.
    pub only_in_bundle: Vec<String>,
    /// Machines in both that differ, and how.
    pub changed: Vec<ChangedMachine>,
    /// The bundle's cert sets the store does not hold as they are.
    #[serde(rename = "certsets")]
    pub cert_sets: Vec<ChangedSet>,
    /// The store has a `certs/` CA the bundle does not carry as it is.
    pub store_certs_not_in_bundle: bool,
    /// The bundle holds everything the store holds, byte for byte.
    pub current: bool,
}

struct Configs {
    configs: BTreeMap<String, Vec<u8>>,
}

impl Visitor for Configs {
    fn manifest(&mut self, _: &Manifest) -> Result<()> {
        Ok(())
    }
    fn file(&mut self, entry: &FileEntry, data: &mut dyn Read) -> Result<()> {
        crate::format::bundle::keep_config(entry, data, MAX_CONFIG, &mut self.configs)
    }
}

/// Compares the bundle read from `input` with `store`.
pub fn run<R: Read + Send>(
    store: &Store,
    input: R,
    keys: &DecryptWith,
    what: &str,
) -> Result<DiffReport> {
    let mut c = Configs {
        configs: BTreeMap::new(),
    };
    let manifest = read_bundle(input, keys, what, &mut c)?;
    let in_store = store.machine_names()?;
    // Where each set lies in this store, looked up once (500 machines share one set).
    let set_dirs: BTreeMap<&str, Option<std::path::PathBuf>> = manifest
        .cert_sets
        .iter()
        .map(|s| (s.id.as_str(), set_dir_in_store(store, &manifest, s)))
        .collect();
    let mut report = DiffReport::default();
    for name in &in_store {
        if !manifest.machines.iter().any(|m| &m.name == name) {
            report.only_in_store.push(name.clone());
        }
    }
    for m in &manifest.machines {
        if !in_store.contains(&m.name) {
            report.only_in_bundle.push(m.name.clone());
            continue;
        }
        let dir = store.machines_dir().join(&m.name);
        // A VM disk the bundle left out is not hashed (14 s for 4 GiB): the comparison
        // ignores it anyway.
        let left_out = crate::format::contents::left_out_of(&manifest, &m.name);
        let have = crate::store::machine_files(&dir, &|rel| left_out.contains(rel))?;
        let mut files = crate::format::contents::differing_machine_files(&manifest, m, &have);
        let key = layout::machine_config(&m.name);
        if let Some(text) = c.configs.get(&key) {
            let ours = crate::store::read_config_file(&dir.join("config.json")).unwrap_or_default();
            let placed = m.cert_set.as_deref().and_then(|id| {
                let set = manifest.cert_sets.iter().find(|s| s.id == id)?;
                Some((set, set_dirs.get(id)?.as_deref()?))
            });
            let mapped = mapped_config(store, placed, &m.store, text);
            let mut candidates: Vec<&[u8]> = vec![text];
            candidates.extend(mapped.as_deref());
            if !crate::store::same_config(&ours, &candidates) {
                files.push("config.json".into());
            }
        }
        if !files.is_empty() {
            files.sort();
            report.changed.push(ChangedMachine {
                machine: m.name.clone(),
                files,
            });
        }
    }
    for set in &manifest.cert_sets {
        let placed = set_dirs.get(set.id.as_str()).is_some_and(Option::is_some);
        if !placed && !named_by_machines(store, &manifest, set) {
            report.cert_sets.push(ChangedSet {
                id: set.id.clone(),
                ca_name: set.ca_name.clone(),
            });
        }
    }
    report.store_certs_not_in_bundle = store_certs_missing(store, &manifest);
    report.current = report.only_in_store.is_empty()
        && report.changed.is_empty()
        && report.cert_sets.is_empty()
        && !report.store_certs_not_in_bundle;
    Ok(report)
}

/// The bundle's config.json with its paths mapped onto this store as an import would map
/// them: its cert set's files to where the set is in this store (`certs/` or
/// `imported-certs/<id>/`, whichever holds it), then the store root.
fn mapped_config(
    store: &Store,
    placed: Option<(&CertSetEntry, &std::path::Path)>,
    old_store: &str,
    text: &[u8],
) -> Option<Vec<u8>> {
    let mut config: serde_json::Value = serde_json::from_slice(text).ok()?;
    let from = ForeignPath::parse(old_store)?;
    let to = ForeignPath::parse(store.root.to_str()?)?;
    let placed = placed.and_then(|(set, dir)| {
        Some(cert_set_rules(
            set.members
                .iter()
                .map(|mem| (mem.name.as_str(), mem.sources.as_slice())),
            &ForeignPath::parse(dir.to_str()?)?,
        ))
    });
    let mut map = match placed {
        Some(rules) => PathMap::on(std::sync::Arc::new(rules)),
        None => PathMap::new(),
    };
    map.prefix(from, to);
    rewrite_config(&mut config, &map, None);
    Some(to_docker_machine_json(&config, text))
}

/// The directory of this store that holds every member of `set` byte for byte: `certs/`,
/// else `imported-certs/<id>/`; `None` when neither does.
fn set_dir_in_store(
    store: &Store,
    manifest: &Manifest,
    set: &CertSetEntry,
) -> Option<std::path::PathBuf> {
    let sha = |path: &std::path::Path| crate::store::sha256_file(path).ok();
    let members_at = |dir: &std::path::Path| {
        set.members.iter().all(|mem| {
            manifest.file(&mem.path).map(|f| f.sha256.clone()) == sha(&dir.join(&mem.name))
        })
    };
    [
        store.certs_dir(),
        store.root.join(IMPORTED_CERTS).join(&set.id),
    ]
    .into_iter()
    .find(|dir| members_at(dir))
}

/// Whether every member of `set` is, byte for byte, where this store's machines of the set
/// name it (a set not in `certs/` or `imported-certs/<id>/`).
fn named_by_machines(store: &Store, manifest: &Manifest, set: &CertSetEntry) -> bool {
    let sha = |path: &std::path::Path| crate::store::sha256_file(path).ok();
    // Where this store's own machines of the set name them (a custom CA outside the store):
    // the places an export of this store reads. The bundle's `sources` are never looked at:
    // a bundle naming /etc/shadow or /dev/zero there would make diff an oracle or a hang.
    let found: Vec<crate::store::FoundMember> = manifest
        .machines
        .iter()
        .filter(|m| m.cert_set.as_deref() == Some(set.id.as_str()))
        .filter_map(|m| store.machine(&m.name).ok())
        .flat_map(|m| m.issuing_material(store))
        .collect();
    set.members.iter().all(|mem| {
        let want = manifest.file(&mem.path).map(|f| f.sha256.clone());
        found
            .iter()
            .any(|f| f.name == mem.name && sha(&f.local) == want)
    })
}

/// The store's `certs/` CA, when the bundle carries no set with the same files.
fn store_certs_missing(store: &Store, manifest: &Manifest) -> bool {
    let certs = store.certs_dir();
    if !certs.join(CA_CERT).is_file() {
        return false;
    }
    let ours: BTreeMap<&str, String> = CERT_MEMBERS
        .iter()
        .filter_map(|n| {
            crate::store::sha256_file(&certs.join(n))
                .ok()
                .map(|s| (*n, s))
        })
        .collect();
    !manifest.cert_sets.iter().any(|set| {
        ours.iter().all(|(name, sha)| {
            set.members
                .iter()
                .find(|m| m.name == *name)
                .and_then(|m| manifest.file(&m.path))
                .is_some_and(|f| &f.sha256 == sha)
        })
    })
}
