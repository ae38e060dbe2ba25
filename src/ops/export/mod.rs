//! Export: store -> plan -> bundle.
//!
//! [`plan`] resolves every machine's issuing material from its own config.json (never by
//! assuming `certs/`), groups identical cert sets so each is stored once, decides what is
//! left out, and hashes every file (first pass). [`write`] then streams the files into the
//! bundle (second pass), failing if any file changed in between. The output is a 0600 temp
//! file beside the target, renamed into place only when complete.

mod cert_sets;
mod held;
mod scan;
mod share;
mod stamp;
mod write;

use crate::error::{Error, Result};
use crate::format::layout;
use crate::format::manifest::{
    CertRole, CertSetEntry, FileEntry, Manifest, Member, Source, FORMAT_VERSION,
};
use crate::pki::certs;
use crate::store::paths::{ForeignPath, SourceOs};
use crate::store::{FoundMember, Store, CA_CERT, CA_KEY, CERT_MEMBERS, CLIENT_CERT, CLIENT_KEY};

use std::path::PathBuf;

pub use cert_sets::*;
use scan::*;
pub use share::*;
pub use stamp::*;
pub use write::*;

/// What an interrupted export left undone.
pub const NOT_WRITTEN: &str = "no bundle written";

/// What to export.
#[derive(Clone, Debug, Default)]
pub struct ExportRequest {
    /// Machine names (ignored with `all`).
    pub names: Vec<String>,
    /// Every machine, plus the store's `certs/` even when no machine uses it.
    pub all: bool,
    /// Carry VM disk images and VM folders.
    pub include_disks: bool,
}

/// A file to carry: its manifest entry, and where its bytes come from.
#[derive(Clone, Debug)]
pub struct PlannedFile {
    /// The manifest entry (archive path, size, mode, sha256).
    pub entry: FileEntry,
    /// Where its bytes come from.
    pub content: Content,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
}

/// Where a planned file's bytes come from.
#[derive(Clone, Debug)]
pub enum Content {
    /// A file of this computer, read again when the bundle is written: `stamp`, its identity
    /// and times when it was hashed, tells it did not change meanwhile.
    Disk {
        /// Where it is.
        path: PathBuf,
        /// What it was when hashed.
        stamp: Stamp,
    },
    /// A small file of this computer read once while planning ([`held`]): the bundle carries
    /// the very bytes that were hashed.
    Held {
        /// Where it was read.
        path: PathBuf,
        /// Its bytes.
        bytes: Generated,
    },
    /// Bytes this export made: a share's new client pair, a redacted config.json, a
    /// certificate encoded alone. No file of this computer holds them.
    Made {
        /// What they are, for messages ("new client key").
        what: &'static str,
        /// The bytes.
        bytes: Generated,
    },
}

impl Content {
    /// The file of this computer the bytes are read from; `None` for bytes this export made.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Content::Disk { path, .. } | Content::Held { path, .. } => Some(path),
            Content::Made { .. } => None,
        }
    }
}

/// Bytes an export holds (made itself, or read once). Its `Debug` never shows them (they
/// may be a key).
#[derive(Clone)]
pub struct Generated(pub std::sync::Arc<zeroize::Zeroizing<Vec<u8>>>);

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Generated({} bytes)", self.0.len())
    }
}

impl AsRef<[u8]> for Generated {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl PlannedFile {
    /// The file of this computer it was read from (to read it again); bytes this export made
    /// have none, and asking is a bug.
    pub fn local(&self) -> Result<&std::path::Path> {
        self.content.path().ok_or_else(|| {
            Error::Bug(format!(
                "{} was made by this export; it has no file to read",
                self.entry.path
            ))
        })
    }

    /// A file made by this export: `bytes` at `archive_path` with `mode`; `what` it is.
    pub fn generated(
        archive_path: String,
        bytes: Vec<u8>,
        mode: u32,
        what: &'static str,
    ) -> PlannedFile {
        use sha2::{Digest, Sha256};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        PlannedFile {
            entry: FileEntry {
                path: archive_path,
                size: bytes.len() as u64,
                mode: format!("{mode:04o}"),
                sha256: hex::encode(Sha256::digest(&bytes)),
            },
            content: Content::Made {
                what,
                bytes: Generated(std::sync::Arc::new(zeroize::Zeroizing::new(bytes))),
            },
            mtime: now,
        }
    }
}

/// Everything decided before a byte of the bundle is written.
#[derive(Clone, Debug)]
pub struct ExportPlan {
    /// The manifest to write first.
    pub manifest: Manifest,
    /// The files, in archive order.
    pub files: Vec<PlannedFile>,
    /// The warnings among the manifest's that are about a cert set's own files (a CA key
    /// absent, a CA expiring): a share, which carries no CA key, leaves them out.
    pub set_warnings: Vec<String>,
}

/// Resolves, groups and hashes everything to export. Reads the store; writes nothing.
pub fn plan(store: &Store, req: &ExportRequest) -> Result<ExportPlan> {
    held::new_budget();
    let _held = held::hold();
    let _stats = crate::fs::stats::remember();
    let names = select_names(store, req)?;
    // The machines are chosen; none is scanned yet.
    crate::failpoint::failpoint("export-chosen")?;
    let mut warnings: Vec<String> = Vec::new();
    if req.all {
        for dir in store.machine_dirs_without_config()? {
            warnings.push(format!(
                "machines/{dir} has no config.json: not a machine docker-machine can use (a half-made or half-removed one?); left out"
            ));
        }
    }
    let mut scanned = Vec::with_capacity(names.len());
    for (name, scan) in names
        .iter()
        .zip(scan_all(store, &names, req.include_disks, req.all)?)
    {
        match scan {
            Some(scan) => scanned.push(scan),
            None => warnings.push(format!(
                "machine {name} was removed while exporting (docker-machine rm?); left out"
            )),
        }
    }
    let (roots, scans): (Vec<Option<ForeignPath>>, Vec<MachineScan>) = scanned.into_iter().unzip();

    let mut found: Vec<MachineCerts> = scans.iter().filter_map(|s| s.certs.clone()).collect();
    warnings.extend(scans.iter().flat_map(|s| s.warnings.clone()));
    if req.all {
        // The store's own cert set travels even when no machine uses it: a CA backup.
        found.extend(store_certs(store, &mut warnings)?);
    }
    let now = time::OffsetDateTime::now_utc();
    let mut cert_sets = Vec::new();
    let mut files = Vec::new();
    let mut set_warnings = Vec::new();
    for g in &group_cert_sets(&found) {
        cert_sets.push(cert_set_entry(g, now, &mut files, &mut set_warnings)?);
    }
    warnings.extend(set_warnings.iter().cloned());

    let mut machine_entries = Vec::new();
    let mut excluded = Vec::new();
    // In the archive, the machines of one cert set follow each other (in the order asked
    // for): each machine directory holds its own copies of the set's ca.pem, cert.pem and
    // key.pem, which then lie within deflate's 32 KiB window of the previous machine's copies
    // and compress to a few bytes, where alternating sets put every copy out of its reach.
    let mut by_set: Vec<Vec<PlannedFile>> = Vec::new();
    let mut set_index: std::collections::HashMap<Option<String>, usize> = Default::default();
    for scan in scans {
        let mut entry = scan.entry;
        entry.cert_set = scan
            .certs
            .as_ref()
            .map(|c| cert_set_id(&c.ca_fingerprint, c.client_fingerprint.as_deref()));
        let i = *set_index.entry(entry.cert_set.clone()).or_insert_with(|| {
            by_set.push(Vec::new());
            by_set.len() - 1
        });
        by_set[i].extend(scan.files);
        machine_entries.push(entry);
        excluded.extend(scan.excluded);
    }
    files.extend(by_set.into_iter().flatten());

    let manifest = Manifest {
        format: "mbundle".into(),
        format_version: u64::from(FORMAT_VERSION),
        tool: format!("mbundle {}", env!("CARGO_PKG_VERSION")),
        created_at: certs::rfc3339(now),
        source: source_of(store, roots.into_iter().flatten().next()),
        machines: machine_entries,
        cert_sets,
        files: files.iter().map(|f| f.entry.clone()).collect(),
        excluded,
        warnings,
        share: None,
    };
    manifest.validate().map_err(|e| {
        Error::Bug(format!(
            "the manifest built from this store is invalid: {e}"
        ))
    })?;
    Ok(ExportPlan {
        manifest,
        files,
        set_warnings,
    })
}

/// Loads and scans one machine (first pass): the store root its config.json records first,
/// and what it carries. (The machine's parsed config.json is dropped on the scanning thread
/// that made it: 500 of them freed by the main thread took 4 ms of the export.)
fn scan_one(
    store: &Store,
    name: &str,
    include_disks: bool,
) -> Result<(Option<ForeignPath>, MachineScan)> {
    // config.json read once: held, it is hashed and carried from these bytes. (One too
    // large to hold, or changing, is read as usual; hashing it says what is wrong.)
    let m = store.machine_with(name, |p| match held::read(p, held::HOLD_FILE) {
        Ok(f) => Ok(Some(Generated(f.bytes))),
        Err(held::ReadError::TooLarge(_) | held::ReadError::Changed) => Ok(None),
        Err(held::ReadError::Io(e)) => Err(e),
    })?;
    if let Err(e) = crate::format::manifest::check_machine_name(name) {
        return Err(Error::BadConfig {
            name: name.to_string(),
            path: m.dir.clone(),
            reason: format!("this name cannot be carried in a bundle: {e}"),
        });
    }
    let scan = scan_machine(store, &m, include_disks)?;
    Ok((m.recorded_roots.into_iter().next(), scan))
}

/// One machine scanned: the store root its config.json records first, and what it carries.
type Scanned = (Option<ForeignPath>, MachineScan);

/// Every machine scanned, on one thread per core (a store of 500 machines spends most of
/// its export reading and checking small files; each thread holds its own), in the order
/// asked for; the first error in that order is the one reported. With `live` (`--all` of a
/// store docker-machine keeps changing, as a GitLab Runner manager's), a machine whose
/// config.json is gone by the time its scan fails was removed meanwhile: `None`, not an
/// error. A machine named on the command line that vanishes is an error all the same
/// ("changed while exporting").
fn scan_all(
    store: &Store,
    names: &[String],
    include_disks: bool,
    live: bool,
) -> Result<Vec<Option<Scanned>>> {
    let init = || (held::hold(), crate::fs::stats::remember());
    crate::fs::par_map(names, 8, init, |n| {
        crate::failpoint::failpoint("export-scan")?;
        match scan_one(store, n, include_disks) {
            Ok(scan) => Ok(Some(scan)),
            Err(_) if live && removed(store, n) => Ok(None),
            // Named, and gone: one error whichever step first missed it.
            Err(_) if removed(store, n) => Err(Error::ChangedWhileExporting {
                path: store.machines_dir().join(n),
            }),
            Err(e) => Err(e),
        }
    })
}

/// Whether machine `name` is gone from the store (its config.json, asked of the disk now,
/// not of what this export remembers).
fn removed(store: &Store, name: &str) -> bool {
    std::fs::symlink_metadata(store.machines_dir().join(name).join("config.json")).is_err()
}

/// The machines asked for: every one with `--all`, else the names given (each once, all
/// known); refuses an export of nothing.
fn select_names(store: &Store, req: &ExportRequest) -> Result<Vec<String>> {
    let known = store.machine_names()?;
    let names: Vec<String> = if req.all {
        known.clone()
    } else {
        let unknown: Vec<String> = req
            .names
            .iter()
            .filter(|n| !known.contains(n))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(Error::UnknownMachine {
                names: unknown,
                store: store.root.clone(),
                known,
            });
        }
        let mut seen = Vec::new();
        for n in &req.names {
            if !seen.contains(n) {
                seen.push(n.clone());
            }
        }
        seen
    };
    if names.is_empty() && !(req.all && store.certs_dir().join(CA_CERT).is_file()) {
        return Err(Error::cannot(
            format!(
                "nothing to export: {} has no machines",
                store.root.display()
            ),
            "check -s / MACHINE_STORAGE_PATH",
        ));
    }
    Ok(names)
}

/// The store's own `certs/`, verified, as a cert set of no machine.
fn store_certs(store: &Store, warnings: &mut Vec<String>) -> Result<Option<MachineCerts>> {
    let certs_dir = store.certs_dir();
    let in_certs: Vec<FoundMember> = CERT_MEMBERS
        .iter()
        .map(|n| (*n, certs_dir.join(n)))
        .filter(|(_, p)| p.is_file())
        .map(|(name, local)| FoundMember {
            name,
            local,
            source: None,
        })
        .collect();
    let members = verified_members(store, None, in_certs, warnings);
    let Some(ca) = members.iter().find(|f| f.name == CA_CERT) else {
        return Ok(None);
    };
    let ca_fingerprint = fingerprint_file(&ca.local)?;
    let client_fingerprint = match members.iter().find(|f| f.name == CLIENT_CERT) {
        Some(c) => Some(fingerprint_file(&c.local)?),
        None => None,
    };
    Ok(Some(MachineCerts {
        machine: None,
        role: CertRole::Default,
        ca_fingerprint,
        client_fingerprint,
        members,
    }))
}

/// The manifest entry of one grouped set; its files hashed into `files`, and what is absent
/// or about to expire said in `warnings`.
fn cert_set_entry(
    g: &GroupedSet,
    now: time::OffsetDateTime,
    files: &mut Vec<PlannedFile>,
    warnings: &mut Vec<String>,
) -> Result<CertSetEntry> {
    let mut members = Vec::new();
    for (name, (local, sources)) in &g.members {
        let path = layout::set_member(&g.id, name);
        files.push(hash_file(local, path.clone(), name)?);
        members.push(Member {
            name: name.to_string(),
            path,
            sources: sources.clone(),
        });
    }
    let missing: Vec<String> = CERT_MEMBERS
        .iter()
        .filter(|n| !g.members.contains_key(*n))
        .map(|n| n.to_string())
        .collect();
    let who = if g.machines.is_empty() {
        "the store's certs/".to_string()
    } else {
        format!("used by {}", g.machines.join(", "))
    };
    if missing.iter().any(|n| n == CA_KEY) {
        warnings.push(format!(
            "cert set {} ({who}): the CA key is absent, so certificates cannot be reissued from this bundle",
            g.id
        ));
    }
    for n in missing
        .iter()
        .filter(|n| *n == CLIENT_CERT || *n == CLIENT_KEY)
    {
        warnings.push(format!("cert set {} ({who}): {n} is absent", g.id));
    }
    let read_info = |name: &str| {
        g.members
            .get(name)
            .and_then(|(p, _)| crate::store::read_pem_file(p).ok())
            .and_then(|b| certs::parse_pem(&b).ok())
    };
    let ca = read_info(CA_CERT);
    let client = read_info(CLIENT_CERT);
    match &ca {
        Some(ca) if certs::ca_needs_renewal(ca.not_after, now) => {
            let verb = if ca.not_after <= now {
                "expired"
            } else {
                "expires"
            };
            warnings.push(format!(
                "cert set {} ({who}): the CA certificate \"{}\" {verb} on {}",
                g.id,
                ca.name,
                &certs::day(ca.not_after)
            ));
        }
        Some(_) => {}
        None => warnings.push(format!(
            "cert set {} ({who}): ca.pem is not a readable PEM certificate",
            g.id
        )),
    }
    Ok(CertSetEntry {
        id: g.id.clone(),
        role: g.role,
        ca_fingerprint: g.ca_fingerprint.clone(),
        ca_name: ca.as_ref().map(|c| c.name.clone()),
        not_after: ca.as_ref().map(|c| certs::rfc3339(c.not_after)),
        client_fingerprint: g.client_fingerprint.clone(),
        client_not_after: client.as_ref().map(|c| certs::rfc3339(c.not_after)),
        members,
        missing,
        machines: g.machines.clone(),
    })
}

/// Where the bundle comes from: the source OS, the store root as config.json spells it, and
/// the home above `.docker/machine`, from the first machine that records one (`first_root`),
/// else this store's path.
fn source_of(store: &Store, first_root: Option<ForeignPath>) -> Source {
    let os = first_root
        .as_ref()
        .map(|r| r.os)
        .unwrap_or(SourceOs::this_host());
    let store_spelling = first_root
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| store.root.display().to_string());
    let home = first_root.as_ref().and_then(|r| {
        let n = r.components.len();
        (n >= 2 && r.components[n - 2] == ".docker" && r.components[n - 1] == "machine")
            .then(|| r.parent().and_then(|p| p.parent()).map(|h| h.to_string()))
            .flatten()
    });
    Source {
        os,
        store: store_spelling,
        separator: os.separator().to_string(),
        home,
        exported_from: store.root.display().to_string(),
        host_os: SourceOs::this_host(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{default_exclusion, is_secret_file};

    #[test]
    fn disks_and_vm_folders_are_left_out_by_default() {
        assert!(default_exclusion(&["disk.vmdk"]).is_some());
        assert!(default_exclusion(&["boot2docker.ISO"]).is_some());
        assert!(default_exclusion(&["disk.qcow2"]).is_some());
        assert!(default_exclusion(&["vbox", "vbox.vbox"]).is_some());
        assert!(default_exclusion(&["config.json"]).is_none());
        assert!(default_exclusion(&["id_rsa"]).is_none());
        assert!(default_exclusion(&["server-key.pem"]).is_none());
    }

    #[test]
    fn secrets_are_recognised() {
        for s in [
            "ca-key.pem",
            "key.pem",
            "server-key.pem",
            "id_rsa",
            "id_ed25519",
            "config.json",
        ] {
            assert!(is_secret_file(s), "{s}");
        }
        for s in ["ca.pem", "cert.pem", "server.pem", "id_rsa.pub"] {
            assert!(!is_secret_file(s), "{s}");
        }
    }

    fn mc(machine: &str, ca: &str, client: &str, role: CertRole, ca_src: &str) -> MachineCerts {
        MachineCerts {
            machine: Some(machine.into()),
            role,
            ca_fingerprint: ca.into(),
            client_fingerprint: Some(client.into()),
            members: vec![FoundMember {
                name: CA_CERT,
                local: PathBuf::from(format!("/local/{ca}/ca.pem")),
                source: Some(ca_src.into()),
            }],
        }
    }

    #[test]
    fn machines_sharing_a_ca_share_one_set() {
        let sets = group_cert_sets(&[
            mc("a", "ca1", "cl1", CertRole::Default, "/s/certs/ca.pem"),
            mc("b", "ca1", "cl1", CertRole::Machine, "C:\\s\\certs\\ca.pem"),
            mc("c", "ca2", "cl2", CertRole::Custom, "/x/ca.pem"),
            mc("d", "ca1", "cl9", CertRole::Default, "/s/certs/ca.pem"),
        ]);
        assert_eq!(sets.len(), 3);
        assert_eq!(sets[0].machines, ["a", "b"]);
        assert_eq!(sets[0].role, CertRole::Default);
        assert_eq!(
            sets[0].members[CA_CERT].1,
            ["/s/certs/ca.pem", "C:\\s\\certs\\ca.pem"]
        );
        assert_eq!(sets[1].machines, ["c"]);
        assert_eq!(sets[1].role, CertRole::Custom);
        assert_ne!(sets[0].id, sets[2].id, "another client cert is another set");
    }

    #[test]
    fn cert_set_ids_are_stable_and_distinct() {
        assert_eq!(cert_set_id("a", Some("b")), cert_set_id("a", Some("b")));
        assert_ne!(cert_set_id("a", Some("b")), cert_set_id("a", None));
        assert_eq!(cert_set_id("a", None).len(), 16);
    }
}
