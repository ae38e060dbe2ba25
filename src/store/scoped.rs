//! Scoped shares (`mbundle share --scoped`): a teammate's certificate signed by a CA made
//! for that share alone, trusted only by the daemons of the machines shared.
//!
//! Each share is a directory `scoped-shares/<id>/` of the store (0700): `ca.pem`, the share
//! CA's certificate; `ca-key.pem`, its key (0600; it never goes into a bundle, and `revoke`
//! destroys it); `share.json` (0600), the record: teammate, machines, validity, and once
//! revoked, when, and which hosts still trust the CA because they could not be reached.
//!
//! A machine's daemon trusts its store's CA plus the CA of every share not revoked that names
//! the machine: [`daemon_ca`] is that file, the one `push` puts on the host as its
//! `--tlscacert`. The owner's own certificates are unchanged.
//!
//! The records are read as untrusted input: bounded, every name checked.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};

/// The directory of the scoped shares in a store.
pub const SCOPED_SHARES: &str = "scoped-shares";

/// A share's record in its directory.
const RECORD: &str = "share.json";

/// Largest record (or CA certificate) read.
const MAX_FILE: u64 = 64 << 10;

/// What a scoped share is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The teammate the certificate names.
    pub user: String,
    /// The machines whose daemons trust the share's CA.
    pub machines: Vec<String>,
    /// When the share was made, RFC 3339.
    pub created_at: String,
    /// The end of the teammate's certificate (and of the share's CA), RFC 3339.
    pub not_after: String,
    /// The share CA's fingerprint, `sha256:<hex>`.
    pub ca_fingerprint: String,
    /// When it was revoked, RFC 3339; none while it is in force.
    #[serde(default)]
    pub revoked_at: Option<String>,
    /// After a revoke: the machines whose hosts could not be told yet (their daemon still
    /// trusts the share's CA). The next `revoke` of the teammate finishes them.
    #[serde(default)]
    pub still_trusted_by: Vec<String>,
}

/// A scoped share of this store (as `shares --json` prints it: its id and record).
#[derive(Clone, Debug, Serialize)]
pub struct Share {
    /// Its directory name.
    pub id: String,
    /// Its directory.
    #[serde(skip)]
    pub dir: PathBuf,
    /// Its record.
    #[serde(flatten)]
    pub record: Record,
}

impl Share {
    /// The share CA's certificate.
    pub fn ca_pem(&self) -> Result<Vec<u8>> {
        crate::fs::beneath::read_bounded(&self.dir.join(super::CA_CERT), MAX_FILE)
    }

    /// The share CA's key file (absent once revoked).
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(super::CA_KEY)
    }

    /// In force: not revoked.
    pub fn active(&self) -> bool {
        self.record.revoked_at.is_none()
    }

    /// Writes the record back (0600, atomically).
    pub fn save(&self) -> Result<()> {
        let text = serde_json::to_vec_pretty(&self.record)
            .map_err(|e| Error::Bug(format!("a share record: {e}")))?;
        crate::fs::outfile::write_atomic(&self.dir.join(RECORD), &text, 0o600)
    }

    /// Destroys the share CA's key: overwritten, synced, removed. Nothing can sign for the
    /// share again.
    pub fn destroy_key(&self) -> Result<()> {
        let path = self.key_path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            return Ok(());
        };
        if meta.is_file() {
            use std::io::Write;
            let mut f = fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .ctx("open", &path)?;
            f.write_all(&vec![0u8; meta.len() as usize])
                .ctx("overwrite", &path)?;
            f.sync_all().ctx("sync", &path)?;
        }
        fs::remove_file(&path).ctx("remove", &path)?;
        crate::fs::sync_dir(&self.dir)
    }
}

/// Makes a scoped share's directory: its CA (`ca_pem`, `key_pem`) and record. Returns it.
pub fn create(store_root: &Path, record: Record, ca_pem: &[u8], key_pem: &[u8]) -> Result<Share> {
    let base = store_root.join(SCOPED_SHARES);
    if !base.is_dir() {
        crate::fs::mkdir_private(&base)?;
    }
    let stamp = record.created_at.replace(['-', ':'], "");
    let mut id = format!("{stamp}-{}", record.user);
    let mut n = 1;
    while fs::symlink_metadata(base.join(&id)).is_ok() {
        id = format!("{stamp}-{}-{n}", record.user);
        n += 1;
    }
    let dir = base.join(&id);
    crate::fs::mkdir_private(&dir)?;
    crate::fs::outfile::write_atomic(&dir.join(super::CA_KEY), key_pem, 0o600)?;
    crate::fs::outfile::write_atomic(&dir.join(super::CA_CERT), ca_pem, 0o644)?;
    let share = Share { id, dir, record };
    share.save()?;
    Ok(share)
}

/// The scoped shares whose record holds up, oldest first, and an error naming each that
/// does not. What a daemon trusts is built from the first only: a share that cannot be read
/// is not trusted (it fails closed), and `shares` says why.
pub fn list_readable(store_root: &Path) -> Result<(Vec<Share>, Vec<Error>)> {
    let base = store_root.join(SCOPED_SHARES);
    let Ok(rd) = fs::read_dir(&base) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let (mut out, mut bad_ones) = (Vec::new(), Vec::new());
    for e in rd {
        let e = e.ctx("read", &base)?;
        let id = e.file_name().to_string_lossy().into_owned();
        if id.starts_with('.') {
            continue;
        }
        let dir = base.join(&id);
        let path = dir.join(RECORD);
        let record = crate::fs::beneath::read_bounded(&path, MAX_FILE).and_then(|bytes| {
            serde_json::from_slice::<Record>(&bytes)
                .map_err(|e| bad(&path, &e.to_string()))
                .and_then(|r| check(&r).map(|_| r).map_err(|why| bad(&path, &why)))
        });
        match record {
            Ok(record) => out.push(Share { id, dir, record }),
            Err(e) => bad_ones.push(e),
        }
    }
    out.sort_by(|a, b| a.record.created_at.cmp(&b.record.created_at));
    Ok((out, bad_ones))
}

fn bad(path: &Path, why: &str) -> Error {
    Error::cannot(
        format!("the scoped share record {} does not hold up: {why}", path.display()),
        "restore it from a backup, or move its directory out of the store once no host trusts its CA",
    )
}

/// A record's names: a teammate name and machine names as the store allows them.
fn check(r: &Record) -> std::result::Result<(), String> {
    super::share::check_user(&r.user)?;
    for m in r.machines.iter().chain(&r.still_trusted_by) {
        // A directory name of this store's machines/: one component, printable.
        let ok = !m.is_empty()
            && m.len() <= 255
            && m != "."
            && m != ".."
            && !m.contains(['/', '\\'])
            && !m.chars().any(char::is_control);
        if !ok {
            return Err(format!(
                "the machine name {:?} cannot be one",
                crate::text::printable(m)
            ));
        }
    }
    for t in [
        Some(&r.created_at),
        Some(&r.not_after),
        r.revoked_at.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map_err(|_| format!("{t:?} is not a date"))?;
    }
    Ok(())
}

/// The CA file machine `machine`'s daemon is given: `store_ca` (its store's CA), then the CA
/// of every scoped share in force that names the machine, oldest first (a share whose record
/// does not hold up is left out).
pub fn daemon_ca(store_root: &Path, machine: &str, store_ca: &[u8]) -> Result<Vec<u8>> {
    let mut out = store_ca.to_vec();
    for s in list_readable(store_root)?
        .0
        .into_iter()
        .filter(|s| s.active() && s.record.machines.iter().any(|m| m == machine))
    {
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.extend(s.ca_pem()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(user: &str, machines: &[&str]) -> Record {
        Record {
            user: user.into(),
            machines: machines.iter().map(|m| m.to_string()).collect(),
            created_at: "2026-12-06T10:00:00Z".into(),
            not_after: "2029-11-20T10:00:00Z".into(),
            ca_fingerprint: format!("sha256:{}", "ab".repeat(32)),
            revoked_at: None,
            still_trusted_by: Vec::new(),
        }
    }

    /// A scoped share of web for bob in the store at `root`, and its CA certificate.
    fn bob_shares_web(root: &Path) -> (Share, String) {
        let (ca, key) = crate::pki::reissue::new_ca("share for bob", 30).unwrap();
        let s = create(root, record("bob", &["web"]), ca.as_bytes(), key.as_bytes()).unwrap();
        (s, ca)
    }

    #[test]
    fn a_machine_s_daemon_trusts_the_store_ca_and_its_shares_in_force() {
        let d = tempfile::tempdir().unwrap();
        let (s, ca) = bob_shares_web(d.path());
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&s.key_path()), 0o600);
        assert_eq!(mode(&s.dir), 0o700);
        let store_ca = b"STORE CA\n";
        let web = daemon_ca(d.path(), "web", store_ca).unwrap();
        assert!(web.starts_with(store_ca) && web.ends_with(ca.as_bytes()));
        assert_eq!(daemon_ca(d.path(), "db", store_ca).unwrap(), store_ca);
        // Revoked: the CA is no longer in web's file, and its key is gone.
        let mut s = list_readable(d.path()).unwrap().0.remove(0);
        s.record.revoked_at = Some("2026-12-07T10:00:00Z".into());
        s.save().unwrap();
        s.destroy_key().unwrap();
        assert!(!s.key_path().exists());
        assert_eq!(daemon_ca(d.path(), "web", store_ca).unwrap(), store_ca);
    }

    #[test]
    fn destroying_a_key_replaced_by_a_link_removes_the_link_and_spares_its_target() {
        let d = tempfile::tempdir().unwrap();
        let (s, _) = bob_shares_web(d.path());
        let victim = d.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        fs::remove_file(s.key_path()).unwrap();
        std::os::unix::fs::symlink(&victim, s.key_path()).unwrap();
        s.destroy_key().unwrap();
        assert!(fs::symlink_metadata(s.key_path()).is_err());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn a_record_that_does_not_hold_up_is_named_not_believed() {
        let d = tempfile::tempdir().unwrap();
        let (s, _) = bob_shares_web(d.path());
        for bad in [
            r#"{"user":"bob","machines":["../../etc"],"created_at":"2026-12-06T10:00:00Z","not_after":"2029-11-20T10:00:00Z","ca_fingerprint":"x"}"#,
            r#"{"user":"bob\u001b[2J","machines":["web"],"created_at":"2026-12-06T10:00:00Z","not_after":"2029-11-20T10:00:00Z","ca_fingerprint":"x"}"#,
            r#"{"user":"bob","machines":["web"],"created_at":"yesterday","not_after":"2029-11-20T10:00:00Z","ca_fingerprint":"x"}"#,
            "not json",
        ] {
            fs::write(s.dir.join(RECORD), bad).unwrap();
            let e = list_readable(d.path()).unwrap().1.remove(0).full_message();
            assert!(e.contains("share.json"), "{e}");
            // Not believed, so not trusted: web's daemon is given the store's CA alone.
            assert_eq!(daemon_ca(d.path(), "web", b"CA\n").unwrap(), b"CA\n");
        }
    }
}
