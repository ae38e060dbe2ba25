//! The first pass: what a machine directory holds, what is left out and why, and every
//! carried file hashed (with the stamp that tells a file changed before the second pass).

use super::cert_sets::{machine_certs, pem_problem, MachineCerts};
use super::stamp::{Stamp, REHASH_MAX};
use super::PlannedFile;
use super::NOT_WRITTEN;

use crate::error::{Error, IoContext, Result};
use crate::format::bundle::IO_BUFFER;
use crate::format::layout;
use crate::format::manifest::{Excluded, FileEntry, MachineEntry, PathNote};
use crate::store::paths::ForeignPath;
use crate::store::{default_exclusion, each_string_field, is_secret_file, Located, Machine, Store};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub(super) fn mtime_of(meta: &fs::Metadata) -> u64 {
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
pub(super) fn mode_of(meta: &fs::Metadata, name: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if is_secret_file(name) {
        0o600
    } else {
        meta.permissions().mode() & 0o7777
    }
}

#[cfg(not(unix))]
pub(super) fn mode_of(_meta: &fs::Metadata, name: &str) -> u32 {
    if is_secret_file(name) {
        0o600
    } else {
        0o644
    }
}

/// First pass over one file: size, sha256, mode, mtime. A small file is read once and its
/// bytes held ([`super::held`]): the bundle carries exactly what was hashed.
pub(super) fn hash_file(local: &Path, archive_path: String, name: &str) -> Result<PlannedFile> {
    crate::signals::check(NOT_WRITTEN)?;
    let changed = || Error::ChangedWhileExporting {
        path: local.to_path_buf(),
    };
    match super::held::read(local, super::held::HOLD_FILE) {
        Ok(held) => {
            let size = held.bytes.len() as u64;
            let sha256 = hex::encode(held.sha256);
            let bytes = Some(super::Generated(held.bytes));
            return Ok(planned(
                local,
                archive_path,
                name,
                &held.meta,
                size,
                sha256,
                bytes,
            ));
        }
        Err(super::held::ReadError::TooLarge(_)) => {}
        Err(super::held::ReadError::Changed) => return Err(changed()),
        Err(super::held::ReadError::Io(e)) => return Err(Error::io("read", local, e)),
    }
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
        return Err(changed());
    }
    Ok(planned(
        local,
        archive_path,
        name,
        &meta,
        size,
        sha256,
        None,
    ))
}

/// The planned file read from `local` with `meta` (its stamp checked unchanged by the caller).
fn planned(
    local: &Path,
    archive_path: String,
    name: &str,
    meta: &fs::Metadata,
    size: u64,
    sha256: String,
    held: Option<super::Generated>,
) -> PlannedFile {
    let path = local.to_path_buf();
    PlannedFile {
        entry: FileEntry {
            path: archive_path,
            size,
            mode: format!("{:04o}", mode_of(meta, name)),
            sha256,
        },
        content: match held {
            Some(bytes) => super::Content::Held { path, bytes },
            None => super::Content::Disk {
                path,
                stamp: Stamp::of(meta),
            },
        },
        mtime: mtime_of(meta),
    }
}

/// Hashes a large file with one thread reading ahead while this one hashes, so the kernel's
/// copy and sha256 overlap. Buffers circulate between the two; memory stays at a few MiB.
pub(super) fn hash_with_readahead(mut file: &File, local: &Path) -> Result<(u64, String)> {
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

pub(super) struct MachineScan {
    pub(super) entry: MachineEntry,
    pub(super) files: Vec<PlannedFile>,
    pub(super) excluded: Vec<Excluded>,
    pub(super) certs: Option<MachineCerts>,
    pub(super) warnings: Vec<String>,
}

pub(super) fn scan_machine(store: &Store, m: &Machine, include_disks: bool) -> Result<MachineScan> {
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
        // Stat'ed only when left out: a carried file's size comes from reading it.
        let size = || item.metadata().map(|md| md.len()).unwrap_or(0);
        let Some(comps) = comps else {
            excluded.push(Excluded {
                path: layout::machine_file(&m.name, &rel.to_string_lossy()),
                size: size(),
                why: "file name is not UTF-8".into(),
            });
            continue;
        };
        let archive_path = layout::machine_file(&m.name, &comps.join("/"));
        if let Some(why) = left_out(
            m,
            &item,
            &comps,
            &archive_path,
            include_disks,
            &mut warnings,
        )
        .or_else(|| store.withheld_outside(item.path()))
        {
            excluded.push(Excluded {
                path: archive_path,
                size: size(),
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
    let (absent, external) = path_notes(store, m, certs.as_ref());
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
            cert_set: None,
            store: store_spelling,
            files: paths,
            absent,
            external,
            redacted: Vec::new(),
        },
        files,
        excluded,
        certs,
        warnings,
    })
}

/// Why a file of the machine directory stays out of the bundle, if it does: not a regular
/// file, a name that cannot travel, a certificate or key that is not what its name says
/// (also warned of), or a VM disk without `--include-disks`.
fn left_out(
    m: &Machine,
    item: &walkdir::DirEntry,
    comps: &[&str],
    archive_path: &str,
    include_disks: bool,
    warnings: &mut Vec<String>,
) -> Option<String> {
    if item.file_type().is_symlink() {
        return Some("a symbolic link (bundles carry only regular files)".into());
    }
    if !item.file_type().is_file() {
        return Some(format!(
            "{} (bundles carry only regular files)",
            crate::fs::outfile::type_name(&item.file_type())
        ));
    }
    if crate::format::manifest::check_archive_path(archive_path).is_err()
        || comps.iter().any(|c| c.contains('\\'))
    {
        return Some("file name cannot be carried portably".into());
    }
    if let Some(why) = (comps.len() == 1)
        .then(|| pem_problem(&m.dir, comps[0]))
        .flatten()
    {
        warnings.push(format!(
            "machine {}: {} is {why}; left out",
            m.name, comps[0]
        ));
        return Some(why);
    }
    if include_disks {
        None
    } else {
        default_exclusion(comps).map(String::from)
    }
}

/// Every path config.json names that the bundle will not hold: absent here, or outside what
/// it carries.
fn path_notes(
    store: &Store,
    m: &Machine,
    certs: Option<&MachineCerts>,
) -> (Vec<PathNote>, Vec<PathNote>) {
    let carried: Vec<PathBuf> = certs
        .iter()
        .flat_map(|c| c.members.iter().map(|f| f.local.clone()))
        .collect();
    let mut absent = Vec::new();
    let mut external = Vec::new();
    each_string_field(&m.config, |field, s| {
        if !crate::store::rewrite::is_local_path_field_path(field)
            || ForeignPath::parse(s).is_none()
        {
            return;
        }
        let note = PathNote {
            field: field.to_string(),
            path: s.to_string(),
        };
        match m.locate(store, s) {
            // A file read whole while scanning exists: no need to ask the disk again.
            Located::InStore(p) if !(super::held::is_held(&p) || crate::fs::stats::exists(&p)) => {
                if !carried_member(certs, s) {
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
                if !carried_member(certs, s) {
                    external.push(note);
                }
            }
        }
    });
    (absent, external)
}

pub(super) fn carried_member(certs: Option<&MachineCerts>, s: &str) -> bool {
    certs.is_some_and(|c| c.members.iter().any(|f| f.source.as_deref() == Some(s)))
}
