//! A rotation of the store's CA (`mbundle rotate-ca`) in progress: a new CA key and
//! certificate beside the old, and how far the rotation got. It lives in `certs/rotation/`
//! (0700; the new key 0600, like every CA key never in a bundle) until the last phase puts
//! the new CA in `certs/` and the directory goes.
//!
//! While it is in progress both CAs are trusted everywhere the old one was: a daemon's CA
//! file and the store's own clients (mbundle's TLS checks, the machine directories' ca.pem,
//! mbundle's docker contexts) hold the old CA then the new ([`with_next`]), so that no host
//! and no client is cut off whichever phase a host is in.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The rotation's directory under `certs/`.
pub const ROTATION: &str = "rotation";

/// Its record.
const RECORD: &str = "rotation.json";

/// The phases, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Every host trusts the old and the new CA.
    TrustBoth,
    /// Every host serves a server certificate from the new CA.
    ServerCerts,
    /// A new client certificate from the new CA, wherever the old one was.
    ClientCert,
    /// Every host trusts only the new CA; the new CA is the store's.
    TrustNew,
}

impl Phase {
    /// All of them, in order.
    pub const ALL: [Phase; 4] = [
        Phase::TrustBoth,
        Phase::ServerCerts,
        Phase::ClientCert,
        Phase::TrustNew,
    ];

    /// What it does, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::TrustBoth => "every host trusts the old and the new CA",
            Phase::ServerCerts => "every host gets a server certificate from the new CA",
            Phase::ClientCert => "a new client certificate from the new CA",
            Phase::TrustNew => "every host trusts only the new CA",
        }
    }
}

/// What the record says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// When the rotation began, RFC 3339.
    pub started_at: String,
    /// The phases finished on every host.
    pub done: Vec<Phase>,
    /// The old CA's fingerprint.
    pub old_ca: String,
    /// The new CA's fingerprint.
    pub new_ca: String,
}

/// A rotation in progress.
#[derive(Clone, Debug)]
pub struct Rotation {
    /// `certs/rotation/`.
    pub dir: PathBuf,
    /// Its record.
    pub record: Record,
}

impl Rotation {
    /// The new CA's certificate file.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join(super::CA_CERT)
    }

    /// The new CA's key file.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(super::CA_KEY)
    }

    /// The first phase not finished, if any.
    pub fn next_phase(&self) -> Option<Phase> {
        Phase::ALL
            .into_iter()
            .find(|p| !self.record.done.contains(p))
    }

    /// Records `phase` as finished on every host.
    pub fn finish(&mut self, phase: Phase) -> Result<()> {
        if !self.record.done.contains(&phase) {
            self.record.done.push(phase);
        }
        self.save()
    }

    fn save(&self) -> Result<()> {
        let text = serde_json::to_vec_pretty(&self.record)
            .map_err(|e| Error::Bug(format!("the rotation record: {e}")))?;
        crate::fs::outfile::write_atomic(&self.dir.join(RECORD), &text, 0o600)
    }
}

/// The rotation of the store at `root` in progress, if any.
pub fn current(root: &Path) -> Result<Option<Rotation>> {
    let dir = root.join("certs").join(ROTATION);
    let path = dir.join(RECORD);
    if fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let bytes = crate::fs::beneath::read_bounded(&path, 64 << 10)?;
    let record: Record = serde_json::from_slice(&bytes).map_err(|e| {
        Error::cannot(
            format!(
                "the rotation record {} does not hold up: {e}",
                path.display()
            ),
            "restore it from a backup; the new CA and its key are beside it",
        )
    })?;
    Ok(Some(Rotation { dir, record }))
}

/// Begins a rotation: the new CA (`ca_pem`, `key_pem`) and a record with nothing done.
pub fn begin(root: &Path, record: Record, ca_pem: &[u8], key_pem: &[u8]) -> Result<Rotation> {
    let dir = root.join("certs").join(ROTATION);
    crate::fs::mkdir_private(&dir)?;
    crate::fs::outfile::write_atomic(&dir.join(super::CA_KEY), key_pem, 0o600)?;
    crate::fs::outfile::write_atomic(&dir.join(super::CA_CERT), ca_pem, 0o644)?;
    let r = Rotation { dir, record };
    r.save()?;
    Ok(r)
}

/// The CA bytes a party that trusts `ca` (read from `ca_path`) must trust while a rotation of
/// the store at `root` is in progress: `ca` then the new CA, when `ca` is the store's
/// `certs/ca.pem`; else `ca` as it is.
pub fn with_next(root: &Path, ca_path: &Path, ca: &[u8]) -> Vec<u8> {
    let mut out = ca.to_vec();
    if ca_path != root.join("certs").join(super::CA_CERT) {
        return out;
    }
    let Ok(Some(r)) = current(root) else {
        return out;
    };
    if let Ok(next) = crate::fs::beneath::read_bounded(&r.ca_path(), 64 << 10) {
        // After the last phase's switch certs/ca.pem is the new CA itself.
        if out.windows(next.len()).any(|w| w == next.as_slice()) {
            return out;
        }
        out = both(&out, &next);
    }
    out
}

/// What trusts the old and the new CA holds: the old CA's file, then the new CA's.
pub fn both(old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut out = old.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(new);
    out
}
