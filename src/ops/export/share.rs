//! Sharing machines with one teammate: an export that hands over access, not ownership.
//!
//! The plan starts from the ordinary export plan of the named machines and changes what a
//! teammate must not get: each cert set travels as its CA certificate plus a **new**
//! client key and certificate for the teammate, signed here with the CA key (which stays);
//! the machine directory's copies of the client pair are that new pair; the server key, any
//! CA key and, unless asked, the SSH key stay behind (listed as left out, with why); cloud
//! credentials in config.json are emptied unless asked. The manifest says it is a share, for
//! whom, and until when; each machine carries a share record (`mbundle-share.json`) so the
//! teammate's store remembers it after an ordinary `mbundle import`.
//!
//! Generated files (the new pair, the redacted config.json, the record) are a few KiB each
//! and held in memory; nothing of the share is written to disk except the encrypted bundle.

use serde_json::Value;
use std::collections::BTreeMap;

use super::{cert_set_id, plan, ExportPlan, ExportRequest, PlannedFile};
use crate::error::{Error, Result};
use crate::format::layout;
use crate::format::manifest::{CertSetEntry, Excluded, MachineEntry, Member, ShareInfo};
use crate::pki::certs;
use crate::pki::reissue::Issuer;
use crate::store::rewrite::to_docker_machine_json;
use crate::store::share::{check_user, reduce_for_share, ShareRecord, SHARE_RECORD};
use crate::store::{Store, CA_CERT, CA_KEY, CLIENT_CERT, CLIENT_KEY, MAX_CONFIG};

/// What to share, with whom.
#[derive(Clone, Debug)]
pub struct ShareRequest {
    /// The machines.
    pub names: Vec<String>,
    /// The teammate the new client certificate names.
    pub user: String,
    /// Validity of the new client certificate, in days.
    pub days: i64,
    /// Carry the machines' SSH keys (root on the hosts).
    pub with_ssh_key: bool,
    /// Leave cloud credentials in config.json.
    pub keep_secrets: bool,
    /// Sign the teammate's certificate with a CA made for this share alone, which only the
    /// named machines' daemons are made to trust (`push`).
    pub scoped: bool,
}

/// A scoped share's own CA, made while planning; the command keeps it in the store
/// (`store::scoped::create`) once the bundle is written. Its key never goes into a bundle.
pub struct ScopedCa {
    /// Its certificate, PEM.
    pub cert_pem: String,
    /// Its key, PEM.
    pub key_pem: zeroize::Zeroizing<String>,
    /// The record kept beside it.
    pub record: crate::store::scoped::Record,
}

/// A share as planned: the bundle's plan, and what the new certificate opens besides.
pub struct SharePlan {
    /// What the bundle holds.
    pub plan: ExportPlan,
    /// Machines of the store not named whose daemons trust a shared CA: the teammate's
    /// certificate opens them too (each daemon accepts any client its CA signed).
    pub also_opens: Vec<String>,
    /// What the owner should know: a CA that ends within [`CA_ENDING_DAYS`] days (and the
    /// teammate's certificate with it).
    pub warnings: Vec<String>,
    /// For each machine, its files that stay with the owner (relative to its directory).
    pub withheld: BTreeMap<String, Vec<String>>,
    /// With `--scoped`: the share's CA, to be kept in the store.
    pub scoped: Option<ScopedCa>,
}

/// A CA whose end is this close is said when sharing.
pub const CA_ENDING_DAYS: i64 = 30;

/// The new client pair of one cert set.
struct Issued {
    old_id: String,
    new_id: String,
    /// The CA certificate alone, PEM.
    ca_cert: Vec<u8>,
    cert: Vec<u8>,
    key: zeroize::Zeroizing<Vec<u8>>,
}

/// Refused before any work: a share during a rotation of the store's CA (it would stop
/// working when the rotation ends), and a scoped share of a machine shared with this store's
/// user (its hosts' trust is the owner's to change).
fn refuse_unsafe(store: &Store, req: &ShareRequest) -> Result<()> {
    if crate::store::rotation::current(&store.root)?.is_some() {
        // The teammate's certificate, or the CA they check the daemons with, would be the old
        // CA's, which the rotation takes away from every host.
        return Err(Error::cannot(
            "the store's CA is being rotated: a share made now would stop working when it ends",
            "finish the rotation first (mbundle rotate-ca resumes it), then share",
        ));
    }
    if req.scoped {
        // A machine shared with you is not yours to open to others (its hosts' trust is the
        // owner's to change).
        for name in &req.names {
            let m = store.machine(name)?;
            if let Some(Ok(rec)) = crate::store::share::read_record(&m.dir) {
                return Err(Error::cannot(
                    format!(
                        "cannot share {name}: it was shared with you (as {}), and only its owner can open it to someone else",
                        rec.shared_with
                    ),
                    "ask the owner to share it with your teammate",
                ));
            }
        }
    }
    Ok(())
}

/// Plans a share: the export plan of the machines, changed as the module says, and the
/// machines its certificate opens besides those named. Reads the store; writes nothing.
pub fn plan_share(store: &Store, req: &ShareRequest) -> Result<SharePlan> {
    check_request(req)?;
    refuse_unsafe(store, req)?;
    let scoped_ca = if req.scoped {
        let (cert, key) = crate::pki::reissue::new_ca(
            &format!("mbundle scoped share for {}", req.user),
            req.days,
        )
        .map_err(|e| Error::Bug(format!("cannot make the share's CA: {e}")))?;
        Some((cert, key))
    } else {
        None
    };
    let (plan, withheld) = plan_bundle(store, req, scoped_ca.as_ref())?;
    let scoped = scoped_ca.map(|(cert_pem, key_pem)| {
        let share = plan.manifest.share.as_ref();
        ScopedCa {
            record: crate::store::scoped::Record {
                user: req.user.clone(),
                machines: plan
                    .manifest
                    .machines
                    .iter()
                    .map(|m| m.name.clone())
                    .collect(),
                created_at: share.map(|s| s.issued_at.clone()).unwrap_or_default(),
                not_after: share.map(|s| s.cert_not_after.clone()).unwrap_or_default(),
                ca_fingerprint: certs::file_fingerprint(cert_pem.as_bytes()),
                revoked_at: None,
                still_trusted_by: Vec::new(),
            },
            cert_pem,
            key_pem,
        }
    });
    if req.scoped {
        // Only the named machines' daemons will trust the share's CA: it opens nothing else.
        return Ok(SharePlan {
            plan,
            also_opens: Vec::new(),
            warnings: Vec::new(),
            withheld,
            scoped,
        });
    }
    let shared: Vec<&str> = plan
        .manifest
        .cert_sets
        .iter()
        .map(|s| s.ca_fingerprint.as_str())
        .collect();
    let also_opens = trusting(store, &shared)?
        .into_iter()
        .filter(|name| !req.names.contains(name))
        .collect();
    let now = time::OffsetDateTime::now_utc();
    let warnings = plan
        .manifest
        .cert_sets
        .iter()
        .filter_map(|s| {
            let end = time::OffsetDateTime::parse(
                s.not_after.as_deref()?,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()?;
            ((end - now).whole_days() < CA_ENDING_DAYS).then(|| format!(
                "the CA {:?} ends on {}, and the certificate for {} with it: renew the CA (mbundle renew-ca) and share again",
                s.ca_name.as_deref().unwrap_or("?"),
                &certs::day(end),
                req.user
            ))
        })
        .collect();
    Ok(SharePlan {
        plan,
        also_opens,
        warnings,
        withheld,
        scoped,
    })
}

/// The machines of the store whose issuing CA is one of `fingerprints`: every daemon among
/// them accepts a client certificate that CA signed.
fn trusting(store: &Store, fingerprints: &[&str]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for name in store.machine_names()? {
        // A machine that cannot be read is not known to trust anything: said elsewhere.
        let Ok(m) = store.machine(&name) else {
            continue;
        };
        let ca = m
            .issuing_material(store)
            .into_iter()
            .find(|f| f.name == CA_CERT)
            .and_then(|f| crate::store::read_pem_file(&f.local).ok())
            .map(|b| certs::file_fingerprint(&b));
        if ca.is_some_and(|fp| fingerprints.contains(&fp.as_str())) {
            out.push(name);
        }
    }
    Ok(out)
}

/// The bundle of a share: the export plan of the machines, changed as the module says.
fn plan_bundle(
    store: &Store,
    req: &ShareRequest,
    scoped_ca: Option<&(String, zeroize::Zeroizing<String>)>,
) -> Result<(ExportPlan, BTreeMap<String, Vec<String>>)> {
    let base = plan(
        store,
        &ExportRequest {
            names: req.names.clone(),
            all: false,
            include_disks: false,
        },
    )?;
    let now = time::OffsetDateTime::now_utc();
    let mut files: Vec<PlannedFile> = Vec::new();
    let mut excluded = base.manifest.excluded.clone();
    let mut cert_sets = Vec::new();
    let mut issued = Vec::new();
    let mut cert_not_after = None;
    for set in &base.manifest.cert_sets {
        let (entry, pair, set_files, not_after) = share_set(&base, set, req, scoped_ca)?;
        cert_not_after.get_or_insert(not_after);
        cert_sets.push(entry);
        files.extend(set_files);
        issued.push(pair);
    }
    let issued_at = certs::rfc3339(now);
    let cert_not_after = cert_not_after.unwrap_or_default();

    let mut machines = Vec::new();
    let mut withheld = BTreeMap::new();
    for m in &base.manifest.machines {
        let Some(pair) = issued
            .iter()
            .find(|p| Some(&p.old_id) == m.cert_set.as_ref())
        else {
            return Err(Error::cannot(
                format!(
                    "cannot share {}: no CA certificate was found for it, so no certificate can be issued for {}",
                    m.name, req.user
                ),
                format!("run mbundle doctor {} to see what its config.json names", m.name),
            ));
        };
        let set = cert_sets
            .iter()
            .find(|s| s.id == pair.new_id)
            .ok_or_else(|| Error::Bug("a shared set vanished".into()))?;
        let record = ShareRecord {
            shared_with: req.user.clone(),
            issued_at: issued_at.clone(),
            cert_not_after: cert_not_after.clone(),
            ca_fingerprint: set.ca_fingerprint.clone(),
            with_ssh_key: req.with_ssh_key,
            redacted: Vec::new(),
            client_ca: scoped_ca.map(|(cert, _)| cert.clone()),
            scope: scoped_ca.map(|_| req.names.clone()),
        };
        let mut out = Shared {
            files: &mut files,
            excluded: &mut excluded,
            withheld: withheld.entry(m.name.clone()).or_default(),
        };
        machines.push(share_machine(&base, m, pair, record, req, &mut out)?);
    }

    let mut manifest = base.manifest.clone();
    manifest.machines = machines;
    manifest.cert_sets = cert_sets;
    manifest.files = files.iter().map(|f| f.entry.clone()).collect();
    manifest.excluded = excluded;
    manifest.warnings.retain(|w| !base.set_warnings.contains(w));
    manifest.share = Some(ShareInfo {
        shared_with: req.user.clone(),
        issued_at,
        cert_not_after,
        with_ssh_key: req.with_ssh_key,
        secrets_kept: req.keep_secrets,
    });
    manifest
        .validate()
        .map_err(|e| Error::Bug(format!("the manifest built for this share is invalid: {e}")))?;
    let plan = ExportPlan {
        manifest,
        files,
        set_warnings: Vec::new(),
    };
    Ok((plan, withheld))
}

/// The teammate's name and the certificate's validity, checked before any work.
fn check_request(req: &ShareRequest) -> Result<()> {
    check_user(&req.user).map_err(|e| {
        Error::usage(
            format!("--as {:?}: the teammate's name must be {e}", req.user),
            "use a user or e-mail name, e.g. --as bob or --as bob@example.com",
        )
    })?;
    use crate::pki::reissue::{DEFAULT_DAYS, MAX_CLIENT_DAYS};
    if !(1..=MAX_CLIENT_DAYS).contains(&req.days) {
        return Err(Error::usage(
            format!(
                "--days {}: a client certificate is valid 1 to {MAX_CLIENT_DAYS} days",
                req.days
            ),
            format!("the default is {DEFAULT_DAYS} days, as docker-machine's own certificates"),
        ));
    }
    Ok(())
}

/// Where the planned files and the files left behind go.
struct Shared<'a> {
    files: &'a mut Vec<PlannedFile>,
    excluded: &'a mut Vec<Excluded>,
    /// This machine's files that stay with the owner.
    withheld: &'a mut Vec<String>,
}

impl Shared<'_> {
    fn add(&mut self, entry: &mut MachineEntry, p: PlannedFile) {
        entry.files.push(p.entry.path.clone());
        self.files.push(p);
    }
}

/// One machine as shared: the new client pair in place of the owner's, config.json without
/// credentials, the keys that stay listed as left out, and the share record.
fn share_machine(
    base: &ExportPlan,
    m: &MachineEntry,
    pair: &Issued,
    mut record: ShareRecord,
    req: &ShareRequest,
    out: &mut Shared,
) -> Result<MachineEntry> {
    let mut entry = m.clone();
    entry.cert_set = Some(pair.new_id.clone());
    entry.files.clear();
    let cert = |path: String| {
        PlannedFile::generated(path, pair.cert.clone(), 0o644, "new client certificate")
    };
    let key =
        |path: String| PlannedFile::generated(path, pair.key.to_vec(), 0o600, "new client key");
    let ssh_key = ssh_key_name(base, m);
    for path in &m.files {
        let Some(rel) = layout::in_machine(path, &m.name) else {
            continue;
        };
        let base_file = base
            .files
            .iter()
            .find(|f| &f.entry.path == path)
            .ok_or_else(|| Error::Bug(format!("{path} was not planned")))?;
        // An allow-list: what is not named here stays with the owner, whatever it is
        // called (a key's backup copy, a .p12, an .env, a key under another name).
        let planned = match rel {
            "config.json" => Some(config_file(base_file, req, &mut entry.redacted)?),
            CLIENT_CERT | CLIENT_KEY | SHARE_RECORD => None,
            // Exactly the one certificate, whatever else the file held (a key appended).
            "server.pem" => Some(one_certificate(base_file, path)?),
            CA_CERT => Some(PlannedFile::generated(
                path.clone(),
                pair.ca_cert.clone(),
                0o644,
                "the CA certificate",
            )),
            _ if rel == ssh_key && req.with_ssh_key => Some(base_file.clone()),
            _ => {
                out.excluded.push(Excluded {
                    path: path.clone(),
                    size: base_file.entry.size,
                    why: withheld_why(rel, &ssh_key).into(),
                });
                out.withheld.push(rel.to_string());
                None
            }
        };
        if let Some(p) = planned {
            out.add(&mut entry, p);
        }
    }
    // docker-machine env points DOCKER_CERT_PATH at the machine directory: the teammate's
    // pair goes there in place of the owner's, and even if the owner's copy was missing.
    out.add(&mut entry, cert(layout::machine_file(&m.name, CLIENT_CERT)));
    out.add(&mut entry, key(layout::machine_file(&m.name, CLIENT_KEY)));
    record.redacted = entry.redacted.clone();
    let text =
        serde_json::to_vec_pretty(&record).map_err(|e| Error::Bug(format!("share record: {e}")))?;
    out.add(
        &mut entry,
        PlannedFile::generated(
            layout::machine_file(&m.name, SHARE_RECORD),
            text,
            0o644,
            "share record",
        ),
    );
    Ok(entry)
}

/// One cert set as shared: the CA certificate and a new client pair for the teammate,
/// signed with the CA key, which stays.
fn share_set(
    base: &ExportPlan,
    set: &CertSetEntry,
    req: &ShareRequest,
    scoped_ca: Option<&(String, zeroize::Zeroizing<String>)>,
) -> Result<(CertSetEntry, Issued, Vec<PlannedFile>, String)> {
    let used_by = set.machines.join(", ");
    let ca_name = set
        .ca_name
        .clone()
        .unwrap_or_else(|| set.ca_fingerprint.clone());
    // Scoped: the share's own CA signs; the set's CA certificate still travels (the teammate
    // checks the daemons with it) and its key is not needed.
    let (issuer, ca_pem) = match scoped_ca {
        Some((cert, key)) => (
            Issuer::load(cert.as_bytes(), key.as_bytes())
                .map_err(|e| Error::Bug(format!("the share's CA does not load: {e}")))?,
            set_ca_pem(base, set)?,
        ),
        None => load_issuer(base, set, req)?,
    };
    let (cert_pem, new_key) = issuer
        .client_cert(&req.user, req.days)
        .map_err(|e| Error::Bug(format!("cannot issue a client certificate: {e}")))?;
    let info = certs::parse_pem(cert_pem.as_bytes())
        .map_err(|e| Error::Bug(format!("the new client certificate does not parse: {e}")))?;
    let client_fp = certs::file_fingerprint(cert_pem.as_bytes());
    let new_id = cert_set_id(&set.ca_fingerprint, Some(&client_fp));
    let sources = |name: &str| {
        set.members
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.sources.clone())
            .unwrap_or_default()
    };
    let path = |name: &str| layout::set_member(&new_id, name);
    // Exactly the CA certificate: a ca.pem with the CA key appended travels as the
    // certificate alone.
    let ca_cert = certs::single_cert_pem(&ca_pem).map_err(|e| {
        Error::cannot(
            format!("cannot share {used_by}: the CA certificate {ca_name:?}: {e}"),
            "run mbundle doctor to see what is wrong with it",
        )
    })?;
    let files = vec![
        PlannedFile::generated(path(CA_CERT), ca_cert.clone(), 0o644, "the CA certificate"),
        PlannedFile::generated(
            path(CLIENT_CERT),
            cert_pem.as_bytes().to_vec(),
            0o644,
            "new client certificate",
        ),
        PlannedFile::generated(
            path(CLIENT_KEY),
            new_key.as_bytes().to_vec(),
            0o600,
            "new client key",
        ),
    ];
    let members = [CA_CERT, CLIENT_CERT, CLIENT_KEY]
        .iter()
        .map(|name| Member {
            name: name.to_string(),
            path: path(name),
            sources: sources(name),
        })
        .collect();
    let not_after = certs::rfc3339(info.not_after);
    let entry = CertSetEntry {
        id: new_id.clone(),
        role: set.role,
        ca_fingerprint: set.ca_fingerprint.clone(),
        ca_name: set.ca_name.clone(),
        not_after: set.not_after.clone(),
        client_fingerprint: Some(client_fp),
        client_not_after: Some(not_after.clone()),
        members,
        missing: vec![CA_KEY.to_string()],
        machines: set.machines.clone(),
    };
    let pair = Issued {
        old_id: set.id.clone(),
        new_id,
        ca_cert,
        cert: cert_pem.into_bytes(),
        key: zeroize::Zeroizing::new(new_key.as_bytes().to_vec()),
    };
    Ok((entry, pair, files, not_after))
}

/// The CA certificate file's bytes of one cert set.
fn set_ca_pem(base: &ExportPlan, set: &CertSetEntry) -> Result<Vec<u8>> {
    let path = layout::set_member(&set.id, CA_CERT);
    let ca = base
        .files
        .iter()
        .find(|f| f.entry.path == path)
        .ok_or_else(|| {
            Error::cannot(
                format!(
                    "cannot share {}: the CA certificate {:?} is not readable here",
                    set.machines.join(", "),
                    set.ca_name.as_deref().unwrap_or(&set.ca_fingerprint)
                ),
                "run mbundle doctor to see what is wrong with it",
            )
        })?;
    crate::store::read_pem_file(ca.local()?)
}

/// The CA of one cert set, ready to sign, and its certificate file's bytes.
fn load_issuer(
    base: &ExportPlan,
    set: &CertSetEntry,
    req: &ShareRequest,
) -> Result<(Issuer, Vec<u8>)> {
    let member = |name: &str| {
        let path = layout::set_member(&set.id, name);
        base.files.iter().find(|f| f.entry.path == path)
    };
    let used_by = set.machines.join(", ");
    let ca_name = set
        .ca_name
        .clone()
        .unwrap_or_else(|| set.ca_fingerprint.clone());
    let ca = member(CA_CERT).ok_or_else(|| {
        Error::cannot(
            format!("cannot share {used_by}: the CA certificate {ca_name:?} is not readable here"),
            "run mbundle doctor to see what is wrong with it",
        )
    })?;
    let key = member(CA_KEY).ok_or_else(|| {
        Error::cannot(
            format!(
                "cannot share {used_by}: this store does not hold the key of the CA {ca_name:?} that issued {}, and only that key can sign a certificate for {}",
                if set.machines.len() == 1 { "it" } else { "them" },
                req.user
            ),
            "share from the computer that holds the CA key (certs/ca-key.pem there); a machine shared with you cannot be shared on",
        )
    })?;
    let ca_pem = crate::store::read_pem_file(ca.local()?)?;
    let key_pem = zeroize::Zeroizing::new(crate::store::read_pem_file(key.local()?)?);
    let issuer = Issuer::load(&ca_pem, &key_pem).map_err(|e| {
        Error::cannot(
            format!("cannot sign with the CA key {}: {e}", key.entry.path),
            "run mbundle doctor to check the CA files",
        )
    })?;
    Ok((issuer, ca_pem))
}

/// config.json with its cloud credentials emptied (unless `--keep-secrets`), written as
/// docker-machine writes it.
fn config_file(
    base_file: &PlannedFile,
    req: &ShareRequest,
    redacted: &mut Vec<String>,
) -> Result<PlannedFile> {
    if req.keep_secrets {
        return Ok(base_file.clone());
    }
    let local = base_file.local()?;
    let text = read_unchanged(base_file, MAX_CONFIG)?;
    let mut config: Value = serde_json::from_slice(&text)
        .map_err(|e| Error::Bug(format!("{} no longer parses: {e}", local.display())))?;
    *redacted = reduce_for_share(&mut config);
    if redacted.is_empty() {
        return Ok(base_file.clone());
    }
    let out = to_docker_machine_json(&config, &text);
    let mut p = PlannedFile::generated(
        base_file.entry.path.clone(),
        out,
        0o600,
        "config.json with credentials removed",
    );
    p.mtime = base_file.mtime;
    Ok(p)
}

/// The machine's SSH key, relative to its directory: the file `Driver.SSHKeyPath` names
/// when it is directly in the machine directory, else docker-machine's `id_rsa`.
fn ssh_key_name(base: &ExportPlan, m: &MachineEntry) -> String {
    let config = layout::machine_config(&m.name);
    base.files
        .iter()
        .find(|f| f.entry.path == config)
        .and_then(|f| crate::store::read_config_file(f.local().ok()?).ok())
        .and_then(|text| serde_json::from_slice::<Value>(&text).ok())
        .and_then(|c| {
            let p = c.pointer("/Driver/SSHKeyPath")?.as_str()?.to_string();
            let name = p.rsplit(['/', '\\']).next()?.to_string();
            let dir = p.len().checked_sub(name.len() + 1).map(|end| &p[..end])?;
            let in_dir = dir.ends_with(&format!("machines/{}", m.name))
                || dir.ends_with(&format!("machines\\{}", m.name));
            (in_dir && !name.is_empty()).then_some(name)
        })
        .unwrap_or_else(|| "id_rsa".to_string())
}

/// A planned file read again (at most `max` bytes), as it was when the plan hashed it.
fn read_unchanged(base_file: &PlannedFile, max: u64) -> Result<Vec<u8>> {
    let path = base_file.local()?;
    let bytes = crate::fs::beneath::read_bounded(path, max)?;
    if hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)) != base_file.entry.sha256 {
        return Err(Error::ChangedWhileExporting {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// A certificate file as a teammate gets it: its first certificate, encoded alone.
fn one_certificate(base_file: &PlannedFile, path: &str) -> Result<PlannedFile> {
    let bytes = read_unchanged(base_file, crate::store::MAX_PEM_FILE)?;
    let pem = certs::single_cert_pem(&bytes).map_err(|e| {
        Error::cannot(
            format!("cannot share {path}: {e}"),
            "run mbundle doctor to see what is wrong with it",
        )
    })?;
    let mut p = PlannedFile::generated(path.to_string(), pem, 0o644, "the certificate alone");
    p.mtime = base_file.mtime;
    Ok(p)
}

/// Why a machine file stays with the owner in a share.
fn withheld_why(rel: &str, ssh_key: &str) -> &'static str {
    match rel {
        "server-key.pem" => "shared: the daemon's server key stays with the owner (it would let its holder impersonate the daemon)",
        CA_KEY => "shared: the CA key stays with the owner",
        _ if rel == ssh_key => "shared: the SSH key (root on the host) stays with the owner; share with --with-ssh-key to carry it",
        _ => "shared: only what a teammate needs travels (the CA and server certificates, a client pair of their own, config.json without credentials)",
    }
}
