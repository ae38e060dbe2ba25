//! Issuing material: each machine's CA and client set resolved from its config.json, only
//! verified key material kept (a PEM certificate; a private key matching its certificate),
//! and identical sets grouped so each travels once under a content-derived id.

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::CertRole;
use crate::pki::certs;
use crate::store::{FoundMember, Machine, Store, CA_CERT, CA_KEY, CERT_MEMBERS, CLIENT_CERT};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self};
use std::path::{Path, PathBuf};

/// The content-derived id of a cert set: CA fingerprint plus the client cert's.
pub fn cert_set_id(ca_fingerprint: &str, client_fingerprint: Option<&str>) -> String {
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

/// A distinct cert set after grouping.
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
pub fn group_cert_sets(found: &[MachineCerts]) -> Vec<GroupedSet> {
    let mut sets: Vec<GroupedSet> = Vec::new();
    for mc in found {
        let id = cert_set_id(&mc.ca_fingerprint, mc.client_fingerprint.as_deref());
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

pub(super) fn fingerprint_file(path: &Path) -> Result<String> {
    match super::held::read(path, MAX_PEM_FILE) {
        Ok(f) => Ok(super::held::fingerprint(&f, certs::file_fingerprint)),
        Err(super::held::ReadError::Io(e)) => Err(Error::io("read", path, e)),
        Err(super::held::ReadError::Changed) => Err(Error::ChangedWhileExporting {
            path: path.to_path_buf(),
        }),
        Err(super::held::ReadError::TooLarge(_)) => {
            // Not a certificate anyone made; still identified by its content (not its
            // path), streamed rather than read whole, as file_fingerprint does for raw bytes.
            let mut h = Sha256::new();
            io::copy(&mut File::open(path).ctx("read", path)?, &mut h).ctx("read", path)?;
            Ok(format!("sha256:{}", hex::encode(h.finalize())))
        }
    }
}

/// Largest file read to check that it is the key or certificate its name says.
pub(super) use crate::store::MAX_PEM_FILE;

pub(super) fn read_small(p: &Path) -> std::result::Result<super::held::HeldFile, String> {
    match super::held::read(p, MAX_PEM_FILE) {
        Ok(f) => Ok(f),
        Err(super::held::ReadError::TooLarge(n)) => {
            Err(format!("{n} bytes, far too large for a key or certificate"))
        }
        Err(super::held::ReadError::Changed) => Err("changing while it was read".into()),
        Err(super::held::ReadError::Io(e)) => Err(format!("unreadable ({e})")),
    }
}

/// The certificate in a PEM file (its DER), or why the file is not one.
pub fn cert_file(p: &Path) -> std::result::Result<Vec<u8>, String> {
    super::held::cert_checked(&read_small(p)?, |bytes| {
        let der = certs::pem_cert_der(bytes).map_err(|_| "not a PEM certificate")?;
        certs::info_der(&der).map_err(|_| "not a readable X.509 certificate")?;
        Ok(der)
    })
}

/// Ok when the file holds the private key of `cert_der`, else why not.
pub fn key_file_for(p: &Path, cert_der: &[u8]) -> std::result::Result<(), String> {
    super::held::key_checked(&read_small(p)?, cert_der, |bytes| match certs::key_matches(
        bytes, cert_der,
    ) {
        Ok(true) => Ok(()),
        Ok(false) => Err("a private key, but not the one of its certificate".into()),
        Err(certs::PkiError::NotPemKey(_)) => Err("not a PEM private key".into()),
        Err(e) => Err(e.to_string()),
    })
}

/// Keeps only issuing material that is what its name says: ca.pem and cert.pem PEM
/// certificates, ca-key.pem the private key of that ca.pem, key.pem the one of that cert.pem.
/// When the file config.json names fails, the copies docker-machine keeps (the machine
/// directory, then the store's certs/) stand in if they pass; what fails is left out with a
/// warning saying why. So `CaPrivateKeyPath: /etc/shadow` never travels, and a key that does
/// not match its CA never travels as its key.
pub(super) fn verified_members(
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
            if let Some(why) = store.withheld_outside(p) {
                return Err(why);
            }
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
            if i > 0 && !super::held::is_held(p) && !crate::fs::stats::is_file(p) {
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
pub(super) const MACHINE_PEMS: [(&str, Option<&str>); 3] = [
    ("ca.pem", None),
    ("cert.pem", Some("key.pem")),
    ("server.pem", Some("server-key.pem")),
];

/// Why a certificate or key file of a machine directory cannot travel as what its name says:
/// a certificate that is not one, a key that is not the private key of its certificate.
pub(super) fn pem_problem(dir: &Path, name: &str) -> Option<String> {
    if let Some((cert, _)) = MACHINE_PEMS.iter().find(|(c, _)| *c == name) {
        return cert_file(&dir.join(cert)).err();
    }
    let (cert, _) = MACHINE_PEMS.iter().find(|(_, k)| *k == Some(name))?;
    match cert_file(&dir.join(cert)) {
        Ok(der) => key_file_for(&dir.join(name), &der).err(),
        // Without its certificate the key can only be checked for being a private key.
        Err(_) => {
            let bytes = read_small(&dir.join(name)).ok()?.bytes;
            let is_key = x509_parser::pem::parse_x509_pem(&bytes)
                .map(|(_, pem)| pem.label.ends_with("PRIVATE KEY"))
                .unwrap_or(false);
            (!is_key).then(|| "not a PEM private key".to_string())
        }
    }
}

pub(super) fn machine_certs(
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
