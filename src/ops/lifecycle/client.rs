//! `regenerate-certs --client-certs`: a cert set's client certificate (`cert.pem`,
//! `key.pem`) issued again by its CA, whose key stays, and every copy of the old one
//! replaced: the machine directories' copies (what `env` points the docker CLI at) and the
//! docker contexts mbundle wrote. Daemons accept any client certificate their CA signed,
//! so no host needs anything.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{keep_old_and_write, refuse_if_shared, stamp, OwnersOnly};
use crate::error::{Error, Result};
use crate::pki::certs;
use crate::pki::reissue::{Issuer, KeyType, DEFAULT_DAYS};
use crate::store::{read_pem_file, Store, CA_CERT, CA_KEY, CLIENT_CERT, CLIENT_KEY};

/// What `regenerate-certs --client-certs` did for one cert set.
#[derive(Clone, Debug, Serialize)]
pub struct ClientRenewed {
    /// The new client certificate.
    pub cert: PathBuf,
    /// Its new key.
    pub key: PathBuf,
    /// Its subject, the old certificate's.
    pub subject: String,
    /// Its end of validity.
    pub not_after: String,
    /// The old files, renamed.
    pub kept: Vec<PathBuf>,
    /// Machine directories whose copy was replaced.
    pub machines: Vec<String>,
    /// Docker contexts (written by mbundle) whose copy was replaced.
    pub contexts: Vec<String>,
}

/// Issues the client certificate of the cert set in `dir` again (same subject, a new key of
/// `kind`, 1080 days, never past the CA's end) and replaces every copy of the old pair in
/// the store's machine directories and in the contexts of `docker_config`.
pub fn renew_client(
    store: &Store,
    dir: &Path,
    docker_config: Option<&Path>,
    kind: KeyType,
) -> Result<ClientRenewed> {
    let (ca_path, key_path) = (dir.join(CA_CERT), dir.join(CA_KEY));
    let (cert_path, ckey_path) = (dir.join(CLIENT_CERT), dir.join(CLIENT_KEY));
    if !key_path.is_file() {
        refuse_if_shared(store, &ca_path, OwnersOnly::IssueCertificates)?;
        return Err(Error::cannot(
            format!(
                "cannot issue a client certificate from {}: its CA key {} is not in the store",
                dir.display(),
                key_path.display()
            ),
            "import a bundle that carries the CA key",
        ));
    }
    let old_cert = read_pem_file(&cert_path).map_err(|_| {
        Error::cannot(
            format!(
                "{} is missing or unreadable: no client certificate to renew",
                cert_path.display()
            ),
            "mbundle doctor says what the store holds",
        )
    })?;
    let old = certs::parse_pem(&old_cert).map_err(|e| {
        Error::cannot(
            format!("{} does not parse: {e}", cert_path.display()),
            "mbundle doctor says what the store holds",
        )
    })?;
    let issuer = match super::rotating_issuer(store, &ca_path)? {
        // The store's CA is being rotated and every host trusts the new one: it signs.
        Some(next) => next,
        None => {
            let ca_pem = read_pem_file(&ca_path)?;
            let ca_key = zeroize::Zeroizing::new(read_pem_file(&key_path)?);
            Issuer::load(&ca_pem, &ca_key).map_err(|e| {
                Error::cannot(
                    format!("cannot issue from {}: {e}", ca_path.display()),
                    "mbundle doctor says what is wrong with the CA files",
                )
            })?
        }
    };
    let (cert, key) = issuer
        .own_client_cert(&old.name, DEFAULT_DAYS, kind)
        .map_err(|e| Error::Bug(format!("cannot issue the client certificate: {e}")))?;
    let info = certs::parse_pem(cert.as_bytes())
        .map_err(|e| Error::Bug(format!("the issued certificate does not parse: {e}")))?;

    let ts = stamp();
    let mut kept = Vec::new();
    keep_old_and_write(&ckey_path, key.as_bytes(), 0o600, &ts, &mut kept)?;
    keep_old_and_write(&cert_path, cert.as_bytes(), 0o644, &ts, &mut kept)?;
    let mut machines = Vec::new();
    for name in store.machine_names()? {
        let mdir = store.machines_dir().join(&name);
        if read_pem_file(&mdir.join(CLIENT_CERT)).ok().as_deref() != Some(old_cert.as_slice()) {
            continue;
        }
        keep_old_and_write(
            &mdir.join(CLIENT_KEY),
            key.as_bytes(),
            0o600,
            &ts,
            &mut kept,
        )?;
        keep_old_and_write(
            &mdir.join(CLIENT_CERT),
            cert.as_bytes(),
            0o644,
            &ts,
            &mut kept,
        )?;
        machines.push(name);
    }
    let contexts = match docker_config {
        Some(cfg) => {
            crate::store::context::refresh_client(cfg, &old_cert, cert.as_bytes(), key.as_bytes())?
        }
        None => Vec::new(),
    };
    Ok(ClientRenewed {
        cert: cert_path,
        key: ckey_path,
        subject: info.subject,
        not_after: certs::rfc3339(info.not_after),
        kept,
        machines,
        contexts,
    })
}
