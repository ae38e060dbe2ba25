//! Export: store -> plan -> bundle.
//!
//! [`plan`] resolves every machine's issuing material from its own config.json (never by
//! assuming `certs/`), groups identical issuing sets so each is stored once, decides what is
//! left out, and hashes every file (first pass). [`write`] then streams the files into the
//! bundle (second pass), failing if any file changed in between. The output is a 0600 temp
//! file beside the target, renamed into place only when complete.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::format::bundle::{BundleWriter, SourceReadError, IO_BUFFER};
use crate::format::manifest::{
    CertRole, CertSetEntry, Excluded, FileEntry, MachineEntry, Manifest, Member, PathNote, Source,
    FORMAT_VERSION,
};
use crate::pki::certs;
use crate::progress::Progress;
use crate::store::paths::{ForeignPath, SourceOs};
use crate::store::{
    is_secret_file, string_fields, FoundMember, Located, Machine, Store, CA_CERT, CA_KEY,
    CERT_MEMBERS, CLIENT_CERT, CLIENT_KEY,
};

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

/// A file to carry: where it is here, and its manifest entry.
#[derive(Clone, Debug)]
pub struct PlannedFile {
    /// The manifest entry (archive path, size, mode, sha256).
    pub entry: FileEntry,
    /// Where it is on this computer.
    pub local: PathBuf,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    /// The file's identity and times when it was hashed.
    pub stamp: Stamp,
}

/// What changes when a file is written to: size, times (ctime cannot be set back by a
/// user), inode and device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
    dev: u64,
}

impl Stamp {
    /// Reads the stamp of an open file's metadata.
    pub fn of(meta: &fs::Metadata) -> Stamp {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Stamp {
                len: meta.len(),
                mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
                ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
                ino: meta.ino(),
                dev: meta.dev(),
            }
        }
        #[cfg(not(unix))]
        {
            let t = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            Stamp {
                len: meta.len(),
                mtime_ns: t,
                ctime_ns: 0,
                ino: 0,
                dev: 0,
            }
        }
    }
}

/// Files up to this size are hashed again as they stream; larger ones (VM disks) are checked
/// by their [`Stamp`] before and after, which any write changes, instead of paying for a
/// second sha256 of gigabytes.
pub const REHASH_MAX: u64 = 8 << 20;

/// Everything decided before a byte of the bundle is written.
#[derive(Clone, Debug)]
pub struct ExportPlan {
    /// The manifest to write first.
    pub manifest: Manifest,
    /// The files, in archive order.
    pub files: Vec<PlannedFile>,
}

/// Disk-image extensions left out unless `--include-disks`.
pub const DISK_EXTENSIONS: &[&str] = &[
    "iso", "vmdk", "vdi", "vhd", "vhdx", "qcow", "qcow2", "img", "raw", "hdd", "sav",
];

/// Why a machine file is left out by default, if it is. `rel` is its path inside the machine
/// directory, split in components.
pub fn default_exclusion(rel: &[&str]) -> Option<&'static str> {
    if rel.len() > 1 {
        return Some("inside the VM folder (carry it with --include-disks)");
    }
    let name = rel.first()?;
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    DISK_EXTENSIONS
        .contains(&ext.as_str())
        .then_some("VM disk image (carry it with --include-disks)")
}

/// The content-derived id of an issuing set: CA fingerprint plus the client cert's.
pub fn certset_id(ca_fingerprint: &str, client_fingerprint: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(b"mbundle-certset-v1\n");
    h.update(ca_fingerprint.as_bytes());
    h.update(b"\n");
    h.update(client_fingerprint.unwrap_or("").as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// A machine's issuing material, fingerprinted.
#[derive(Clone, Debug)]
pub struct MachineCerts {
    /// The machine (empty for the store's unused `certs/`).
    pub machine: Option<String>,
    /// Where the CA certificate came from.
    pub role: CertRole,
    /// CA certificate fingerprint.
    pub ca_fingerprint: String,
    /// Client certificate fingerprint.
    pub client_fingerprint: Option<String>,
    /// The members found.
    pub members: Vec<FoundMember>,
}

/// A distinct issuing set after grouping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupedSet {
    /// Content-derived id.
    pub id: String,
    /// The first role seen (`default` wins: it is the store's own).
    pub role: CertRole,
    /// CA certificate fingerprint.
    pub ca_fingerprint: String,
    /// Client certificate fingerprint.
    pub client_fingerprint: Option<String>,
    /// Member name -> (local file, every config.json spelling that names it).
    pub members: BTreeMap<&'static str, (PathBuf, Vec<String>)>,
    /// The machines using it, in order.
    pub machines: Vec<String>,
}

/// Groups machines' issuing material so each distinct set (same CA, same client cert) is
/// stored once, however many machines use it. Pure.
pub fn group_certsets(found: &[MachineCerts]) -> Vec<GroupedSet> {
    let mut sets: Vec<GroupedSet> = Vec::new();
    for mc in found {
        let id = certset_id(&mc.ca_fingerprint, mc.client_fingerprint.as_deref());
        let idx = match sets.iter().position(|s| s.id == id) {
            Some(i) => i,
            None => {
                sets.push(GroupedSet {
                    id: id.clone(),
                    role: mc.role,
                    ca_fingerprint: mc.ca_fingerprint.clone(),
                    client_fingerprint: mc.client_fingerprint.clone(),
                    members: BTreeMap::new(),
                    machines: Vec::new(),
                });
                sets.len() - 1
            }
        };
        let set = &mut sets[idx];
        if mc.role == CertRole::Default {
            set.role = CertRole::Default;
        }
        if let Some(m) = &mc.machine {
            if !set.machines.contains(m) {
                set.machines.push(m.clone());
            }
        }
        for fm in &mc.members {
            let slot = set
                .members
                .entry(fm.name)
                .or_insert_with(|| (fm.local.clone(), Vec::new()));
            if let Some(src) = &fm.source {
                if !slot.1.contains(src) {
                    slot.1.push(src.clone());
                }
            }
        }
    }
    sets
}

fn mtime_of(meta: &fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The mode a file is carried with: its own, except that secret files are always 0600, so
/// that even `age -d | tar -x` by hand restores keys private when the source store (a git
/// checkout, a copy made with a loose umask) had them readable by others.
#[cfg(unix)]
fn mode_of(meta: &fs::Metadata, name: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if is_secret_file(name) {
        0o600
    } else {
        meta.permissions().mode() & 0o7777
    }
}

#[cfg(not(unix))]
fn mode_of(_meta: &fs::Metadata, name: &str) -> u32 {
    if is_secret_file(name) {
        0o600
    } else {
        0o644
    }
}

/// First pass over one file: size, sha256, mode, mtime.
fn hash_file(local: &Path, archive_path: String, name: &str) -> Result<PlannedFile> {
    crate::signals::check(NOT_WRITTEN)?;
    let file = File::open(local).ctx("read", local)?;
    let meta = file.metadata().ctx("stat", local)?;
    let (size, sha256) = if meta.len() >= REHASH_MAX {
        hash_with_readahead(&file, local)?
    } else {
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; (meta.len() as usize).clamp(1, IO_BUFFER)];
        loop {
            let n = (&file).read(&mut buf).ctx("read", local)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        (size, hex::encode(hasher.finalize()))
    };
    let stamp = Stamp::of(&file.metadata().ctx("stat", local)?);
    if stamp != Stamp::of(&meta) || size != meta.len() {
        return Err(Error::ChangedWhileExporting {
            path: local.to_path_buf(),
        });
    }
    Ok(PlannedFile {
        entry: FileEntry {
            path: archive_path,
            size,
            mode: format!("{:04o}", mode_of(&meta, name)),
            sha256,
        },
        local: local.to_path_buf(),
        mtime: mtime_of(&meta),
        stamp,
    })
}

/// Hashes a large file with one thread reading ahead while this one hashes, so the kernel's
/// copy and sha256 overlap. Buffers circulate between the two; memory stays at a few MiB.
fn hash_with_readahead(mut file: &File, local: &Path) -> Result<(u64, String)> {
    use std::sync::mpsc;
    let (full_tx, full_rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(3);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..4 {
        let _ = empty_tx.send(vec![0u8; IO_BUFFER]);
    }
    std::thread::scope(|s| {
        s.spawn(move || {
            for mut buf in empty_rx {
                buf.resize(IO_BUFFER, 0);
                match file.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        if full_tx.send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        for block in full_rx {
            crate::signals::check(NOT_WRITTEN)?;
            let block = block.ctx("read", local)?;
            hasher.update(&block);
            size += block.len() as u64;
            let _ = empty_tx.send(block);
        }
        drop(empty_tx);
        Ok((size, hex::encode(hasher.finalize())))
    })
}

struct MachineScan {
    entry: MachineEntry,
    files: Vec<PlannedFile>,
    excluded: Vec<Excluded>,
    certs: Option<MachineCerts>,
    warnings: Vec<String>,
}

fn fingerprint_file(path: &Path) -> Result<String> {
    let meta = fs::metadata(path).ctx("stat", path)?;
    if meta.len() > 1 << 20 {
        // Not a certificate anyone made; still identified by its content (not its path),
        // streamed rather than read whole, as file_fingerprint does for raw bytes.
        let mut h = Sha256::new();
        io::copy(&mut File::open(path).ctx("read", path)?, &mut h).ctx("read", path)?;
        return Ok(format!("sha256:{}", hex::encode(h.finalize())));
    }
    Ok(certs::file_fingerprint(&fs::read(path).ctx("read", path)?))
}

/// Largest file read to check that it is the key or certificate its name says.
const MAX_PEM_FILE: u64 = 1 << 20;

fn read_small(p: &Path) -> std::result::Result<zeroize::Zeroizing<Vec<u8>>, String> {
    let meta = fs::metadata(p).map_err(|e| format!("unreadable ({e})"))?;
    if meta.len() > MAX_PEM_FILE {
        return Err(format!(
            "{} bytes, far too large for a key or certificate",
            meta.len()
        ));
    }
    fs::read(p)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| format!("unreadable ({e})"))
}

/// The certificate in a PEM file (its DER), or why the file is not one.
pub fn cert_file(p: &Path) -> std::result::Result<Vec<u8>, String> {
    let der = certs::pem_cert_der(&read_small(p)?).map_err(|_| "not a PEM certificate")?;
    certs::info_der(&der).map_err(|_| "not a readable X.509 certificate")?;
    Ok(der)
}

/// Ok when the file holds the private key of `cert_der`, else why not.
pub fn key_file_for(p: &Path, cert_der: &[u8]) -> std::result::Result<(), String> {
    match certs::key_matches(&read_small(p)?, cert_der) {
        Ok(true) => Ok(()),
        Ok(false) => Err("a private key, but not the one of its certificate".into()),
        Err(e) if e.starts_with("not a PEM") => Err("not a PEM private key".into()),
        Err(e) => Err(e),
    }
}

/// Keeps only issuing material that is what its name says: ca.pem and cert.pem PEM
/// certificates, ca-key.pem the private key of that ca.pem, key.pem the one of that cert.pem.
/// When the file config.json names fails, the copies docker-machine keeps (the machine
/// directory, then the store's certs/) stand in if they pass; what fails is left out with a
/// warning saying why. So `CaPrivateKeyPath: /etc/shadow` never travels, and a key that does
/// not match its CA never travels as its key.
fn verified_members(
    store: &Store,
    m: Option<&Machine>,
    found: Vec<FoundMember>,
    warnings: &mut Vec<String>,
) -> Vec<FoundMember> {
    let who = m.map_or_else(
        || "the store's certs/".to_string(),
        |m| format!("machine {}", m.name),
    );
    let mut out: Vec<FoundMember> = Vec::new();
    let mut ca_der: Option<Vec<u8>> = None;
    let mut client_der: Option<Vec<u8>> = None;
    for name in CERT_MEMBERS {
        let first = found.iter().find(|f| f.name == name);
        let mut candidates: Vec<PathBuf> = first.iter().map(|f| f.local.clone()).collect();
        if let Some(m) = m {
            if name != CA_KEY {
                candidates.push(m.dir.join(name));
            }
        }
        candidates.push(store.certs_dir().join(name));
        candidates.dedup();
        let check = |p: &Path| -> std::result::Result<Option<Vec<u8>>, String> {
            match name {
                CA_CERT | CLIENT_CERT => cert_file(p).map(Some),
                CA_KEY => match &ca_der {
                    Some(der) => key_file_for(p, der).map(|_| None),
                    None => Err("its CA certificate is not usable".into()),
                },
                _ => match &client_der {
                    Some(der) => key_file_for(p, der).map(|_| None),
                    None => Err("its client certificate is not usable".into()),
                },
            }
        };
        let Some(first) = first else { continue };
        let mut chosen = None;
        for (i, p) in candidates.iter().enumerate() {
            // Stand-ins only for a file config.json named; an absent member stays absent.
            if i > 0 && !p.is_file() {
                continue;
            }
            match check(p) {
                Ok(der) => {
                    chosen = Some((p.clone(), der));
                    break;
                }
                Err(why) if i == 0 => warnings.push(format!(
                    "{who}: {} is {why}; not carried as {name}",
                    first.local.display()
                )),
                Err(_) => {}
            }
        }
        if let Some((local, der)) = chosen {
            if local != first.local {
                warnings.push(format!(
                    "{who}: carrying {} as {name} instead",
                    local.display()
                ));
            }
            match name {
                CA_CERT => ca_der = der,
                CLIENT_CERT => client_der = der,
                _ => {}
            }
            out.push(FoundMember {
                name,
                local,
                source: first.source.clone(),
            });
        }
    }
    out
}

/// The certificates docker-machine keeps in a machine directory, and the key of each.
const MACHINE_PEMS: [(&str, Option<&str>); 3] = [
    ("ca.pem", None),
    ("cert.pem", Some("key.pem")),
    ("server.pem", Some("server-key.pem")),
];

/// Why a certificate or key file of a machine directory cannot travel as what its name says:
/// a certificate that is not one, a key that is not the private key of its certificate.
fn pem_problem(dir: &Path, name: &str) -> Option<String> {
    if let Some((cert, _)) = MACHINE_PEMS.iter().find(|(c, _)| *c == name) {
        return cert_file(&dir.join(cert)).err();
    }
    let (cert, _) = MACHINE_PEMS.iter().find(|(_, k)| *k == Some(name))?;
    match cert_file(&dir.join(cert)) {
        Ok(der) => key_file_for(&dir.join(name), &der).err(),
        // Without its certificate the key can only be checked for being a private key.
        Err(_) => {
            let bytes = read_small(&dir.join(name)).ok()?;
            let is_key = x509_parser::pem::parse_x509_pem(&bytes)
                .map(|(_, pem)| pem.label.ends_with("PRIVATE KEY"))
                .unwrap_or(false);
            (!is_key).then(|| "not a PEM private key".to_string())
        }
    }
}

fn machine_certs(
    store: &Store,
    m: &Machine,
    warnings: &mut Vec<String>,
) -> Result<Option<MachineCerts>> {
    let members = verified_members(store, Some(m), m.issuing_material(store), warnings);
    let Some(ca) = members.iter().find(|f| f.name == CA_CERT) else {
        return Ok(None);
    };
    let role = if ca.local.starts_with(store.certs_dir()) {
        CertRole::Default
    } else if ca.local.starts_with(store.machines_dir()) {
        CertRole::Machine
    } else {
        CertRole::Custom
    };
    let ca_fingerprint = fingerprint_file(&ca.local)?;
    let client_fingerprint = match members.iter().find(|f| f.name == CLIENT_CERT) {
        Some(c) => Some(fingerprint_file(&c.local)?),
        None => None,
    };
    Ok(Some(MachineCerts {
        machine: Some(m.name.clone()),
        role,
        ca_fingerprint,
        client_fingerprint,
        members,
    }))
}

fn scan_machine(store: &Store, m: &Machine, include_disks: bool) -> Result<MachineScan> {
    let mut files = Vec::new();
    let mut excluded = Vec::new();
    let mut warnings = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let walker = walkdir::WalkDir::new(&m.dir)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1);
    for item in walker {
        let item = item.map_err(|e| {
            let path = e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| m.dir.clone());
            Error::io(
                "read",
                path,
                e.into_io_error()
                    .unwrap_or_else(|| io::Error::other("file system loop")),
            )
        })?;
        if item.file_type().is_dir() {
            continue;
        }
        let rel = item.path().strip_prefix(&m.dir).unwrap_or(item.path());
        let comps: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
        let size = item.metadata().map(|md| md.len()).unwrap_or(0);
        let Some(comps) = comps else {
            excluded.push(Excluded {
                path: format!("machines/{}/{}", m.name, rel.to_string_lossy()),
                size,
                why: "file name is not UTF-8".into(),
            });
            continue;
        };
        let archive_path = format!("machines/{}/{}", m.name, comps.join("/"));
        let why: Option<String> = if item.file_type().is_symlink() {
            Some("a symbolic link (bundles carry only regular files)".into())
        } else if !item.file_type().is_file() {
            Some(format!(
                "{} (bundles carry only regular files)",
                crate::fs::outfile::type_name(&item.file_type())
            ))
        } else if crate::format::manifest::check_archive_path(&archive_path).is_err()
            || comps.iter().any(|c| c.contains('\\'))
        {
            Some("file name cannot be carried portably".into())
        } else if let Some(why) = (comps.len() == 1)
            .then(|| pem_problem(&m.dir, comps[0]))
            .flatten()
        {
            warnings.push(format!(
                "machine {}: {} is {why}; left out",
                m.name, comps[0]
            ));
            Some(why)
        } else if include_disks {
            None
        } else {
            default_exclusion(&comps).map(String::from)
        };
        if let Some(why) = why {
            excluded.push(Excluded {
                path: archive_path,
                size,
                why,
            });
            continue;
        }
        let name = comps.last().copied().unwrap_or_default();
        files.push(hash_file(item.path(), archive_path.clone(), name)?);
        paths.push(archive_path);
    }

    let certs = machine_certs(store, m, &mut warnings)?;
    if certs.is_none() {
        warnings.push(format!(
            "machine {}: no CA certificate found (config.json names none that exists, and the machine directory has no ca.pem)",
            m.name
        ));
    }
    let carried: Vec<PathBuf> = certs
        .iter()
        .flat_map(|c| c.members.iter().map(|f| f.local.clone()))
        .collect();

    // Every path config.json names: absent here, or outside what the bundle carries.
    let mut absent = Vec::new();
    let mut external = Vec::new();
    for (field, s) in string_fields(&m.config) {
        if !crate::store::rewrite::is_local_path_field_path(&field)
            || ForeignPath::parse(s).is_none()
        {
            continue;
        }
        let note = PathNote {
            field: field.clone(),
            path: s.to_string(),
        };
        match m.locate(store, s) {
            Located::InStore(p) if !p.exists() => {
                if !carried_member(certs.as_ref(), s) {
                    absent.push(note);
                }
            }
            Located::InStore(p) => {
                if !p.starts_with(&m.dir)
                    && !carried.contains(&p)
                    && p != store.root
                    && p != store.certs_dir()
                {
                    external.push(note);
                }
            }
            Located::Outside(p) => {
                if !carried.contains(&p) {
                    external.push(note);
                }
            }
            Located::Nowhere => {
                if !carried_member(certs.as_ref(), s) {
                    external.push(note);
                }
            }
        }
    }

    let store_spelling = m
        .recorded_roots
        .first()
        .map(ToString::to_string)
        .unwrap_or_else(|| store.root.display().to_string());
    Ok(MachineScan {
        entry: MachineEntry {
            name: m.name.clone(),
            driver: m.driver().to_string(),
            url: m.url(),
            config_version: m.config_version(),
            certset: None,
            store: store_spelling,
            files: paths,
            absent,
            external,
        },
        files,
        excluded,
        certs,
        warnings,
    })
}

fn carried_member(certs: Option<&MachineCerts>, s: &str) -> bool {
    certs.is_some_and(|c| c.members.iter().any(|f| f.source.as_deref() == Some(s)))
}

/// Resolves, groups and hashes everything to export. Reads the store; writes nothing.
pub fn plan(store: &Store, req: &ExportRequest) -> Result<ExportPlan> {
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
        return Err(Error::usage(
            format!(
                "nothing to export: {} has no machines",
                store.root.display()
            ),
            "check -s / MACHINE_STORAGE_PATH",
        ));
    }

    let mut machines = Vec::new();
    let mut scans = Vec::new();
    for name in &names {
        let m = store.machine(name)?;
        if let Err(e) = crate::format::manifest::check_machine_name(name) {
            return Err(Error::BadConfig {
                name: name.clone(),
                path: m.dir.clone(),
                reason: format!("this name cannot be carried in a bundle: {e}"),
            });
        }
        scans.push(scan_machine(store, &m, req.include_disks)?);
        machines.push(m);
    }

    let mut found: Vec<MachineCerts> = scans.iter().filter_map(|s| s.certs.clone()).collect();
    let mut store_warnings = Vec::new();
    if req.all {
        // The store's own issuing set travels even when no machine uses it: a CA backup.
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
        let members = verified_members(store, None, in_certs, &mut store_warnings);
        if let Some(ca) = members.iter().find(|f| f.name == CA_CERT) {
            let ca_fingerprint = fingerprint_file(&ca.local)?;
            let client_fingerprint = match members.iter().find(|f| f.name == CLIENT_CERT) {
                Some(c) => Some(fingerprint_file(&c.local)?),
                None => None,
            };
            found.push(MachineCerts {
                machine: None,
                role: CertRole::Default,
                ca_fingerprint,
                client_fingerprint,
                members,
            });
        }
    }
    let groups = group_certsets(&found);

    let mut warnings: Vec<String> = scans.iter().flat_map(|s| s.warnings.clone()).collect();
    warnings.extend(store_warnings);
    let mut certsets = Vec::new();
    let mut files = Vec::new();
    let now = time::OffsetDateTime::now_utc();
    for g in &groups {
        let mut members = Vec::new();
        for (name, (local, sources)) in &g.members {
            let path = format!("certsets/{}/{}", g.id, name);
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
                .and_then(|(p, _)| fs::read(p).ok())
                .and_then(|b| certs::parse_pem(&b).ok())
        };
        let ca = read_info(CA_CERT);
        let client = read_info(CLIENT_CERT);
        if let Some(ca) = &ca {
            if ca.not_after <= now {
                warnings.push(format!(
                    "cert set {} ({who}): the CA certificate \"{}\" expired on {}",
                    g.id,
                    ca.name,
                    &certs::rfc3339(ca.not_after)[..10]
                ));
            } else if (ca.not_after - now).whole_days() < 90 {
                warnings.push(format!(
                    "cert set {} ({who}): the CA certificate \"{}\" expires on {}",
                    g.id,
                    ca.name,
                    &certs::rfc3339(ca.not_after)[..10]
                ));
            }
        } else {
            warnings.push(format!(
                "cert set {} ({who}): ca.pem is not a readable PEM certificate",
                g.id
            ));
        }
        certsets.push(CertSetEntry {
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
        });
    }

    let mut machine_entries = Vec::new();
    let mut excluded = Vec::new();
    for scan in scans {
        let mut entry = scan.entry;
        entry.certset = scan
            .certs
            .as_ref()
            .map(|c| certset_id(&c.ca_fingerprint, c.client_fingerprint.as_deref()));
        machine_entries.push(entry);
        files.extend(scan.files);
        excluded.extend(scan.excluded);
    }

    let first_root = machines
        .iter()
        .find_map(|m| m.recorded_roots.first().cloned());
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
    let manifest = Manifest {
        format: "mbundle".into(),
        format_version: u64::from(FORMAT_VERSION),
        tool: format!("mbundle {}", env!("CARGO_PKG_VERSION")),
        created_at: certs::rfc3339(now),
        source: Source {
            os,
            store: store_spelling,
            separator: os.separator().to_string(),
            home,
            exported_from: store.root.display().to_string(),
            host_os: SourceOs::this_host(),
        },
        machines: machine_entries,
        certsets,
        files: files.iter().map(|f| f.entry.clone()).collect(),
        excluded,
        warnings,
    };
    manifest.validate().map_err(|e| {
        Error::usage(
            format!("cannot build a valid bundle from this store: {e}"),
            "report this as a bug, with `mbundle ls` output",
        )
    })?;
    Ok(ExportPlan { manifest, files })
}

/// Streams the planned files into a bundle written to `out` (second pass).
pub fn write<W: Write + Send + 'static>(
    plan: &ExportPlan,
    out: W,
    encryptor: age::Encryptor,
    out_name: &Path,
    progress: &Progress,
) -> Result<W> {
    let out_err = |e: io::Error| -> Error {
        if e.get_ref().is_some_and(|i| i.is::<Stopped>()) {
            if let Err(e) = crate::signals::check(NOT_WRITTEN) {
                return e;
            }
        }
        if let Some(src) = e
            .get_ref()
            .and_then(|i| i.downcast_ref::<SourceReadError>())
        {
            return Error::io(
                "read",
                src.path.clone(),
                io::Error::new(src.source.kind(), src.source.to_string()),
            );
        }
        Error::io(crate::error::WRITE_BUNDLE, out_name, e)
    };
    let mut w = BundleWriter::new(out, encryptor, &plan.manifest, 6).map_err(out_err)?;
    for f in &plan.files {
        crate::signals::check(NOT_WRITTEN)?;
        crate::failpoint("export-file")?;
        let changed = || Error::ChangedWhileExporting {
            path: f.local.clone(),
        };
        let file = File::open(&f.local).ctx("read", &f.local)?;
        if Stamp::of(&file.metadata().ctx("stat", &f.local)?) != f.stamp {
            return Err(changed());
        }
        let rehash = f.entry.size <= REHASH_MAX;
        let reader = SourceReader {
            inner: &file,
            path: &f.local,
            progress,
        };
        let (count, sha) = w
            .add_file(&f.entry, f.mtime, reader, rehash)
            .map_err(out_err)?;
        if count != f.entry.size || (rehash && sha.as_deref() != Some(f.entry.sha256.as_str())) {
            return Err(changed());
        }
        if Stamp::of(&file.metadata().ctx("stat", &f.local)?) != f.stamp {
            return Err(changed());
        }
    }
    w.finish().map_err(out_err)
}

/// What an interrupted export left undone.
pub const NOT_WRITTEN: &str = "no bundle written";

/// Raised inside the writer when a signal arrived, to unwind to [`write`]'s caller.
#[derive(Debug)]
struct Stopped;
impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}
impl std::error::Error for Stopped {}

struct SourceReader<'a, R> {
    inner: R,
    path: &'a Path,
    progress: &'a Progress,
}

impl<R: Read> Read for SourceReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if crate::signals::received().is_some() {
            return Err(io::Error::other(Stopped));
        }
        let n = self.inner.read(buf).map_err(|e| {
            io::Error::other(SourceReadError {
                path: self.path.to_path_buf(),
                source: e,
            })
        })?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// Counts bytes written.
pub struct CountingWriter<W> {
    inner: W,
    /// Bytes written so far.
    pub count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Where the bundle goes.
#[derive(Clone, Debug)]
pub enum Output {
    /// `-o -`.
    Stdout,
    /// `-o FILE`.
    File(PathBuf),
}

/// What an export did.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Machines carried.
    pub machines: usize,
    /// Cert sets carried.
    pub certsets: usize,
    /// Files carried.
    pub files: usize,
    /// Bytes of file content read.
    pub bytes_in: u64,
    /// Bytes of bundle written.
    pub bytes_out: u64,
    /// Files left out.
    pub excluded: usize,
    /// Bytes left out.
    pub excluded_bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Checks the output can be written before any work is done.
pub fn check_output(output: &Output, force: bool) -> Result<()> {
    match output {
        Output::Stdout => {
            if io::stdout().is_terminal() {
                return Err(Error::OutputIsTerminal);
            }
        }
        Output::File(path) => {
            crate::fs::outfile::check(path, force)?;
        }
    }
    Ok(())
}

/// Writes the bundle to its output: stdout, or a 0600 temp file beside the target renamed
/// into place when complete (never replacing an existing file unless `force`).
pub fn run(
    plan: &ExportPlan,
    encryptor: age::Encryptor,
    output: &Output,
    force: bool,
    progress: &Progress,
) -> Result<Summary> {
    let start = Instant::now();
    check_output(output, force)?;
    let bytes_out = match output {
        Output::Stdout => {
            // age writes whole 64 KiB chunks: no extra buffer needed.
            let counting = CountingWriter {
                inner: io::stdout(),
                count: 0,
            };
            let mut w = write(
                plan,
                counting,
                encryptor,
                Path::new("standard output"),
                progress,
            )?;
            w.flush()
                .ctx(crate::error::WRITE_BUNDLE, "standard output")?;
            w.count
        }
        Output::File(path) => {
            // A regular file goes to a locked 0600 temporary file renamed into place when
            // complete; a FIFO or device is written into. Dropped on error or signal, the
            // temporary file is removed.
            let (out, notes) = crate::fs::outfile::OutFile::create(path, force)?;
            for n in notes {
                eprintln!("note: {n}");
            }
            let count = {
                let file = out
                    .file()
                    .try_clone()
                    .ctx(crate::error::WRITE_BUNDLE, path)?;
                let counting = CountingWriter {
                    inner: file,
                    count: 0,
                };
                let mut w = write(plan, counting, encryptor, path, progress)?;
                w.flush().ctx(crate::error::WRITE_BUNDLE, path)?;
                w.count
            };
            crate::signals::check(NOT_WRITTEN)?;
            out.finish()?;
            count
        }
    };
    let m = &plan.manifest;
    Ok(Summary {
        machines: m.machines.len(),
        certsets: m.certsets.len(),
        files: m.files.len(),
        bytes_in: m.total_size(),
        bytes_out,
        excluded: m.excluded.len(),
        excluded_bytes: m.excluded.iter().map(|e| e.size).sum(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let sets = group_certsets(&[
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
    fn certset_ids_are_stable_and_distinct() {
        assert_eq!(certset_id("a", Some("b")), certset_id("a", Some("b")));
        assert_ne!(certset_id("a", Some("b")), certset_id("a", None));
        assert_eq!(certset_id("a", None).len(), 16);
    }
}
