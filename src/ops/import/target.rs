//! What the target store and this computer hold that the import plan depends on, gathered
//! in one place ([`snapshot`]) so the plan itself stays pure.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::{MachineEntry, Manifest};
use crate::store::IMPORTED_CERTS;

/// What the target store (and this computer) holds that the plan depends on: everything
/// [`plan`] knows of the world, so that it stays pure and testable without a disk.
#[derive(Clone, Debug)]
pub struct TargetState {
    /// The store root (absolute).
    pub root: PathBuf,
    /// Names present under `machines/` (any kind of entry).
    pub machines: BTreeSet<String>,
    /// sha256 of the cert files that exist at places a set could go (relative paths);
    /// `None` for something that is not a regular file.
    pub cert_files: BTreeMap<String, Option<String>>,
    /// For each existing machine, the sha256 of its `ca.pem` copy (None if it has none).
    pub machine_cas: BTreeMap<String, Option<String>>,
    /// The clock, for the CA-expiry warnings.
    pub now: time::OffsetDateTime,
    /// The drivers of the bundle whose `docker-machine-driver-NAME` plugin is on PATH.
    pub installed_drivers: BTreeSet<String>,
    /// The ids (directory names) of the docker contexts that exist, with `--docker-context`.
    pub docker_context_ids: BTreeSet<String>,
    /// The store's `certs/ca.pem`, when it is a certificate: what tells another issue of the
    /// same CA from another CA.
    pub default_ca: Option<DefaultCa>,
    /// For each existing machine the bundle could land on: every regular file in its
    /// directory (relative path) and its sha256, to tell an identical machine from another.
    pub machine_files: BTreeMap<String, BTreeMap<String, String>>,
}

impl TargetState {
    /// An empty store at `root`, seen at `now`: no machines, no certificates, no contexts.
    pub fn empty(root: &Path, now: time::OffsetDateTime) -> TargetState {
        TargetState {
            root: root.to_path_buf(),
            machines: BTreeSet::new(),
            cert_files: BTreeMap::new(),
            machine_cas: BTreeMap::new(),
            now,
            installed_drivers: BTreeSet::new(),
            docker_context_ids: BTreeSet::new(),
            machine_files: BTreeMap::new(),
            default_ca: None,
        }
    }
}

/// What the store's `certs/ca.pem` says of itself.
#[derive(Clone, Debug)]
pub struct DefaultCa {
    /// Its short name (subject O or CN), as a manifest names a set's CA.
    pub name: String,
    /// Its end of validity.
    pub not_after: time::OffsetDateTime,
}

/// The store's `certs/ca.pem` read (bounded) and parsed; `None` when it is absent or not a
/// certificate (then no set is taken for another issue of it).
fn default_ca(root: &Path) -> Option<DefaultCa> {
    let bytes =
        crate::store::read_pem_file(&root.join("certs").join(crate::store::CA_CERT)).ok()?;
    let info = crate::pki::certs::parse_pem(&bytes).ok()?;
    Some(DefaultCa {
        name: info.name,
        not_after: info.not_after,
    })
}

/// Looks at the store for what the plan needs: existing machine names and the cert files at
/// every place the bundle's sets could go.
pub fn snapshot(
    root: &Path,
    manifest: &Manifest,
    docker_config: Option<&Path>,
    renames: &[(String, String)],
) -> Result<TargetState> {
    let mut state = TargetState::empty(root, time::OffsetDateTime::now_utc());
    state.installed_drivers = installed_drivers(manifest);
    if let Some(cfg) = docker_config {
        state.docker_context_ids = crate::store::context::existing_ids(cfg);
    }
    let machines = root.join("machines");
    match fs::read_dir(&machines) {
        Ok(rd) => {
            for e in rd {
                let e = e.ctx("list", &machines)?;
                let name = e.file_name().to_string_lossy().into_owned();
                let ca = e.path().join("ca.pem");
                let sha = if ca.is_file() {
                    Some(crate::store::sha256_file(&ca)?)
                } else {
                    None
                };
                state.machine_cas.insert(name.clone(), sha);
                state.machines.insert(name);
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("list", machines, e)),
    }
    let mut rels = Vec::new();
    for set in &manifest.cert_sets {
        for m in crate::store::CERT_MEMBERS {
            rels.push(format!("certs/{m}"));
            rels.push(format!("{IMPORTED_CERTS}/{}/{m}", set.id));
        }
    }
    for rel in rels {
        let p = root.join(&rel);
        match fs::symlink_metadata(&p) {
            Ok(md) if md.is_file() => {
                state
                    .cert_files
                    .insert(rel, Some(crate::store::sha256_file(&p)?));
            }
            Ok(_) => {
                state.cert_files.insert(rel, None);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("stat", p, e)),
        }
    }
    if state.cert_files.contains_key("certs/ca.pem") {
        state.default_ca = default_ca(root);
    }
    // The machines an import could find in place: same name, or a rename's target. Their
    // files are hashed to compare, but for those the bundle left out (a VM's disks, GiBs
    // each): the comparison ignores them anyway.
    for m in &manifest.machines {
        let targets = std::iter::once(&m.name).chain(
            renames
                .iter()
                .filter(|(old, _)| *old == m.name)
                .map(|(_, new)| new),
        );
        let left_out = crate::format::contents::left_out_of(manifest, &m.name);
        for name in targets {
            if state.machines.contains(name) && !state.machine_files.contains_key(name) {
                let dir = root.join("machines").join(name);
                let files = crate::store::machine_files(&dir, &|rel| left_out.contains(rel))?;
                state.machine_files.insert(name.clone(), files);
            }
        }
    }
    Ok(state)
}

/// The files of machine `m` in the bundle that differ from those of `target` in the store
/// (config.json aside: it is compared once rewritten); `None` when no such machine exists.
pub(super) fn differing_files(
    manifest: &Manifest,
    m: &MachineEntry,
    target: &str,
    state: &TargetState,
) -> Option<Vec<String>> {
    let have = state.machine_files.get(target)?;
    Some(crate::format::contents::differing_machine_files(
        manifest, m, have,
    ))
}

/// The bundle's drivers whose plugin (`docker-machine-driver-NAME`) is on PATH.
fn installed_drivers(manifest: &Manifest) -> BTreeSet<String> {
    let on_path = |program: &str| {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
    };
    // Each driver once: 500 machines of one driver are one PATH search, not 500.
    let drivers: BTreeSet<&str> = manifest
        .machines
        .iter()
        .map(|m| m.driver.as_str())
        .collect();
    drivers
        .into_iter()
        .filter(|d| on_path(&format!("docker-machine-driver-{d}")))
        .map(str::to_string)
        .collect()
}
