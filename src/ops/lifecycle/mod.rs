//! Certificates that outlive a move: `regenerate-certs` (a new server certificate for a
//! changed address, signed by the machine's own CA) and `renew-ca` (the CA certificate
//! re-issued with the same key and subject before it expires).
//!
//! `regenerate-certs --client-certs` is in [`client`].
//!
//! Old files are never destroyed: each is renamed with a timestamp before the new one is put
//! in place, and new files are written to a temp file beside the target and renamed.

mod client;
pub use client::{renew_client, ClientRenewed};

use crate::store::read_pem_file;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, IoContext, Result};
use crate::pki::certs;
use crate::pki::reissue::{Issuer, KeyType, DEFAULT_DAYS};
use crate::store::fields::url_host;
use crate::store::rewrite::to_docker_machine_json;
use crate::store::{Located, Machine, Store, CA_CERT, CA_KEY};

/// One file to copy to the host.
#[derive(Clone, Debug, Serialize)]
pub struct CopyStep {
    /// Here.
    pub local: PathBuf,
    /// On the host.
    pub remote: String,
}

/// What `regenerate-certs` did and what the user must still do.
#[derive(Clone, Debug, Serialize)]
pub struct Regenerated {
    /// The machine.
    pub machine: String,
    /// New server certificate.
    pub server_cert: PathBuf,
    /// New server key.
    pub server_key: PathBuf,
    /// Its SANs.
    pub sans: Vec<String>,
    /// Its end of validity.
    pub not_after: String,
    /// The address written into config.json, when `--ip` was given.
    pub new_address: Option<String>,
    /// The old files, renamed.
    pub kept: Vec<PathBuf>,
    /// Files to copy to the host.
    pub copy: Vec<CopyStep>,
    /// Commands that do it over SSH, when the machine has an SSH key and user, each field
    /// quoted for a POSIX shell.
    pub commands: Vec<String>,
    /// Why no commands are given although the machine has an SSH key and user: a field holds
    /// what docker-machine never writes.
    pub commands_withheld: Option<String>,
    /// The restart that makes the daemon use the new files (it stops running containers
    /// unless live-restore is on), quoted like `commands`; none when they are withheld.
    pub restart: Option<String>,
    /// Checks whether the daemon has live-restore on (prints true or false).
    pub live_restore_check: Option<String>,
    /// Reloads the daemon's configuration without a restart (after live-restore is added
    /// to /etc/docker/daemon.json), so the restart that follows keeps containers running.
    pub live_restore_reload: Option<String>,
    /// Things the user should know: a ca.pem taken from the CA because the machine
    /// directory has none, an address that was already the machine's.
    pub notes: Vec<String>,
}

/// What `renew-ca` did.
#[derive(Clone, Debug, Serialize)]
pub struct Renewed {
    /// The renewed CA certificate.
    pub ca_cert: PathBuf,
    /// Its new end of validity.
    pub not_after: String,
    /// The old files, renamed.
    pub kept: Vec<PathBuf>,
    /// Machine directories whose ca.pem copy was updated too.
    pub machines: Vec<String>,
}

/// Now as a file-name stamp: RFC 3339 without its separators (20261124T092629Z).
fn stamp() -> String {
    crate::pki::certs::rfc3339(time::OffsetDateTime::now_utc()).replace(['-', ':'], "")
}

/// Renames `path` to `path.<timestamp>.old` (never over an existing file).
fn keep_old(path: &Path, ts: &str) -> Result<PathBuf> {
    let mut kept = PathBuf::from(format!("{}.{ts}.old", path.display()));
    let mut n = 1;
    while fs::symlink_metadata(&kept).is_ok() {
        kept = PathBuf::from(format!("{}.{ts}-{n}.old", path.display()));
        n += 1;
    }
    crate::fs::rename_noreplace(path, &kept).ctx("rename", path)?;
    Ok(kept)
}

/// Replaces `path` with `data`, keeping the old file (a kept key made private like the new).
fn keep_old_and_write(
    path: &Path,
    data: &[u8],
    mode: u32,
    ts: &str,
    kept: &mut Vec<PathBuf>,
) -> Result<()> {
    if path.exists() {
        let old = keep_old(path, ts)?;
        if mode == 0o600 {
            crate::fs::set_mode(&old, mode)?;
        }
        kept.push(old);
    }
    crate::fs::outfile::write_atomic(path, data, mode)
}

/// What only the holder of a CA key can do for a machine.
#[derive(Clone, Copy)]
enum OwnersOnly {
    /// Issue its server certificate (regenerate-certs).
    IssueCertificates,
    /// Renew its CA certificate (renew-ca).
    RenewCa,
}

/// Refuses to issue for a machine that was shared with this store's user: its CA key stays
/// with the owner. The hint names the owner's command without `mbundle ` before it: it is for
/// another store, and must not be taken for one to paste here.
fn refuse_shared(m: &Machine, what: OwnersOnly) -> Result<()> {
    if let Some(Ok(rec)) = crate::store::share::read_record(&m.dir) {
        let (doing, owners) = match what {
            OwnersOnly::IssueCertificates => (
                "issue certificates",
                format!(
                    "regenerate-certs {}",
                    crate::store::env::shell_word(&m.name)
                ),
            ),
            OwnersOnly::RenewCa => ("renew the CA", "renew-ca".to_string()),
        };
        return Err(Error::cannot(
            format!(
                "cannot {doing} for {}: it was shared with you (as {}, on {}), and the CA key stays with its owner",
                m.name,
                rec.shared_with,
                crate::pki::certs::date_of(&rec.issued_at)
            ),
            format!("ask the owner to run `{owners}` on their store and share the machine again"),
        ));
    }
    Ok(())
}

/// Refuses `what` for a CA without its key here when a machine shared with this store's user
/// names it: the key stays with the owner, and the error says whom to ask.
fn refuse_if_shared(store: &Store, ca_path: &Path, what: OwnersOnly) -> Result<()> {
    let ca_fp = read_pem_file(ca_path)
        .map(|b| certs::file_fingerprint(&b))
        .unwrap_or_default();
    for name in store.machine_names()? {
        let m = store.machine(&name)?;
        if matches!(crate::store::share::read_record(&m.dir), Some(Ok(r)) if r.ca_fingerprint == ca_fp)
        {
            refuse_shared(&m, what)?;
        }
    }
    Ok(())
}

fn issuer_for(store: &Store, m: &Machine) -> Result<Issuer> {
    refuse_shared(m, OwnersOnly::IssueCertificates)?;
    let found = m.issuing_material(store);
    let get = |n: &str| found.iter().find(|f| f.name == n).map(|f| f.local.clone());
    let refuse = |reason: String| {
        Error::cannot(
            format!("cannot issue certificates for {}: {reason}", m.name),
            "import a bundle that carries the CA key, or point CaPrivateKeyPath at it",
        )
    };
    let ca = get(CA_CERT).ok_or_else(|| refuse("no CA certificate found".into()))?;
    if let Some(next) = rotating_issuer(store, &ca)? {
        return Ok(next);
    }
    let key = get(CA_KEY).ok_or_else(|| {
        refuse("its CA key is absent (a custom CA whose key was never stored here)".into())
    })?;
    let ca_pem = read_pem_file(&ca)?;
    let key_pem = zeroize::Zeroizing::new(read_pem_file(&key)?);
    Issuer::load(&ca_pem, &key_pem).map_err(|e| refuse(format!("{e} ({})", key.display())))
}

/// While the store's CA is being rotated and every host trusts the new CA too, what the
/// store's certs/ CA would sign is signed by the new one.
fn rotating_issuer(store: &Store, ca: &Path) -> Result<Option<Issuer>> {
    if ca != store.certs_dir().join(CA_CERT) {
        return Ok(None);
    }
    let Some(r) = crate::store::rotation::current(&store.root)? else {
        return Ok(None);
    };
    if !r
        .record
        .done
        .contains(&crate::store::rotation::Phase::TrustBoth)
    {
        return Ok(None);
    }
    rotation_issuer(&r).map(Some)
}

/// The new CA of a rotation, ready to sign.
pub fn rotation_issuer(r: &crate::store::rotation::Rotation) -> Result<Issuer> {
    let ca = read_pem_file(&r.ca_path())?;
    let key = zeroize::Zeroizing::new(read_pem_file(&r.key_path())?);
    Issuer::load(&ca, &key).map_err(|e| {
        Error::cannot(
            format!("the rotation's new CA does not load: {e}"),
            format!("check {}", r.dir.display()),
        )
    })
}

fn in_store(store: &Store, m: &Machine, field: &str, default: &str) -> Result<PathBuf> {
    let configured = m
        .str_at(&["HostOptions", "AuthOptions", field])
        .filter(|s| !s.is_empty())
        .map(|s| m.locate(store, s));
    match configured {
        Some(Located::InStore(p)) => Ok(p),
        Some(Located::Outside(p)) => Err(Error::cannot(
            format!(
                "{field} of {} points outside the store ({}); refusing to write there",
                m.name,
                p.display()
            ),
            "fix config.json first",
        )),
        _ => Ok(m.dir.join(default)),
    }
}

/// The host's address as config.json records it, with `--ip` applied.
fn set_address(config: &mut Value, ip: &str) {
    if let Some(driver) = config.get_mut("Driver").and_then(Value::as_object_mut) {
        let url = driver
            .get("URL")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        match url {
            // The none driver keeps "host:port" in IPAddress and the tcp URL in URL.
            Some(url) => {
                let port = url
                    .rsplit_once(':')
                    .map(|(_, p)| p.to_string())
                    .unwrap_or_else(|| "2376".into());
                let host = if ip.contains(':') {
                    format!("[{ip}]")
                } else {
                    ip.to_string()
                };
                driver.insert("URL".into(), Value::String(format!("tcp://{host}:{port}")));
                driver.insert("IPAddress".into(), Value::String(format!("{host}:{port}")));
            }
            None => {
                driver.insert("IPAddress".into(), Value::String(ip.to_string()));
            }
        }
    }
}

/// The names a new server certificate carries: `localhost`, the machine's address, its
/// `ServerCertSANs`, then `--san` values, once each. Every name from config.json must be a
/// host or an IP: it becomes a certificate SAN and a word of the scp/ssh lines.
fn server_sans(m: &Machine, extra_sans: &[String]) -> Result<Vec<String>> {
    let host = m.url().as_deref().and_then(url_host).ok_or_else(|| {
        Error::cannot(
            format!("{} has no address in config.json", m.name),
            "give it one with --ip",
        )
    })?;
    crate::store::fields::check_host(&host).map_err(|why| {
        Error::cannot(
            format!(
                "the address of {} in config.json, {}, {why}",
                m.name,
                crate::store::fields::shown(&host)
            ),
            "give the machine's real address with --ip",
        )
    })?;
    let mut sans = vec!["localhost".to_string(), host];
    if let Some(Value::Array(list)) = m.config.pointer("/HostOptions/AuthOptions/ServerCertSANs") {
        for san in list.iter().filter_map(Value::as_str) {
            crate::store::fields::check_host(san).map_err(|why| {
                Error::cannot(
                    format!(
                        "ServerCertSANs of {} in config.json holds {}, which {why}",
                        m.name,
                        crate::store::fields::shown(san)
                    ),
                    "correct or remove it in config.json",
                )
            })?;
            sans.push(san.to_string());
        }
    }
    sans.extend(extra_sans.iter().cloned());
    let mut seen = std::collections::BTreeSet::new();
    sans.retain(|s| seen.insert(s.to_ascii_lowercase()));
    Ok(sans)
}

/// Issues a new server certificate for a machine (optionally at a new address).
pub fn regenerate(
    store: &Store,
    m: &Machine,
    new_ip: Option<&str>,
    extra_sans: &[String],
    key_type: KeyType,
) -> Result<Regenerated> {
    check_ip(new_ip)?;
    let issuer = issuer_for(store, m)?;
    let ts = stamp();
    let mut kept = Vec::new();

    let config_path = m.dir.join("config.json");
    let mut config = m.config.clone();
    let mut notes = Vec::new();
    if let Some(ip) = new_ip {
        set_address(&mut config, ip);
    }
    // The address it already has: nothing to write, and no identical .old copy to keep.
    let new_ip = new_ip.filter(|ip| {
        let changed = config != m.config;
        if !changed {
            notes.push(format!(
                "config.json already gives {ip} as the machine's address: left as it is"
            ));
        }
        changed
    });
    let updated = Machine::new(m.name.clone(), m.dir.clone(), config.clone());
    let sans = server_sans(&updated, extra_sans)?;

    let cert_path = in_store(store, m, "ServerCertPath", "server.pem")?;
    let key_path = in_store(store, m, "ServerKeyPath", "server-key.pem")?;
    let org = read_pem_file(&cert_path)
        .ok()
        .and_then(|b| certs::parse_pem(&b).ok())
        .map(|c| c.name)
        .unwrap_or_else(|| format!("mbundle.{}", m.name));
    let (cert, key) = issuer
        .server_cert(&org, &sans, DEFAULT_DAYS, key_type)
        .map_err(|e| {
            Error::usage(
                format!("cannot issue the certificate: {e}"),
                "check --san values",
            )
        })?;
    let info = certs::parse_pem(cert.as_bytes())
        .map_err(|e| Error::Bug(format!("the issued certificate does not parse: {e}")))?;
    notes.extend(capped_note(&info));

    keep_old_and_write(&key_path, key.as_bytes(), 0o600, &ts, &mut kept)?;
    keep_old_and_write(&cert_path, cert.as_bytes(), 0o644, &ts, &mut kept)?;
    if new_ip.is_some() {
        let original = crate::store::read_config_file(&config_path)?;
        let text = to_docker_machine_json(&config, &original);
        keep_old_and_write(&config_path, &text, 0o600, &ts, &mut kept)?;
    }

    let ca_copy = ca_to_copy(store, m, &mut notes);
    notes.extend(scoped_note(store, m));
    let on_host = crate::host::provisioned(m.driver());
    let copy = [
        (ca_copy, "ca.pem"),
        (cert_path.clone(), "server.pem"),
        (key_path.clone(), "server-key.pem"),
    ]
    .map(|(local, name)| CopyStep {
        local,
        remote: format!("{}/{name}", on_host.tls_dir),
    })
    .to_vec();
    let (commands, commands_withheld, ssh) = ssh_commands(&updated, &copy);
    let run = |remote: &str| {
        ssh.as_ref()
            .map(|prefix| format!("{prefix} {}", crate::store::env::shell_word(remote)))
    };
    let restart = run(on_host.restart);
    let live_restore_check = run("sudo docker info --format \"{{.LiveRestoreEnabled}}\"");
    let live_restore_reload = run(on_host.reload);
    Ok(Regenerated {
        machine: m.name.clone(),
        server_cert: cert_path,
        server_key: key_path,
        sans: info.sans,
        not_after: certs::rfc3339(info.not_after),
        new_address: new_ip.map(str::to_string),
        kept,
        copy,
        commands,
        commands_withheld,
        restart,
        live_restore_check,
        live_restore_reload,
        notes,
    })
}

/// A note when scoped shares name the machine: the host's ca.pem holds their CAs too, which
/// the printed copy of the machine's ca.pem would drop.
fn scoped_note(store: &Store, m: &Machine) -> Option<String> {
    let users: Vec<String> = crate::store::scoped::list_readable(&store.root)
        .map(|(shares, _)| shares)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.active() && s.record.machines.contains(&m.name))
        .map(|s| s.record.user)
        .collect();
    (!users.is_empty()).then(|| {
        format!(
            "the host's ca.pem also holds the CA of the scoped share(s) of {}: copied by hand, ca.pem would drop it; mbundle push keeps it",
            users.join(", ")
        )
    })
}

/// A note when a new certificate ends with its CA, before the days it was issued for.
fn capped_note(info: &certs::CertInfo) -> Option<String> {
    let full = time::OffsetDateTime::now_utc() + time::Duration::days(DEFAULT_DAYS - 1);
    (info.not_after < full).then(|| {
        format!(
            "it ends with its CA on {}, before {DEFAULT_DAYS} days: renew the CA first (mbundle renew-ca --push), then regenerate again",
            certs::day(info.not_after)
        )
    })
}

/// `--ip` must be an IP address.
fn check_ip(ip: Option<&str>) -> Result<()> {
    match ip {
        Some(ip) if ip.parse::<std::net::IpAddr>().is_err() => Err(Error::usage(
            format!("--ip {ip:?} is not an IP address"),
            "e.g. --ip 192.168.99.101",
        )),
        _ => Ok(()),
    }
}

/// The ca.pem to put on the host: the machine directory's copy, or, when it has none (the
/// none driver never copies it), the CA's own, said in a note.
fn ca_to_copy(store: &Store, m: &Machine, notes: &mut Vec<String>) -> PathBuf {
    let copy = m.dir.join(CA_CERT);
    if copy.is_file() {
        return copy;
    }
    match m
        .issuing_material(store)
        .into_iter()
        .find(|f| f.name == CA_CERT)
    {
        Some(ca) => {
            notes.push(format!(
                "{} has no ca.pem (the none driver never copies it): copy the CA's own, {}",
                m.dir.display(),
                ca.local.display()
            ));
            ca.local
        }
        None => copy,
    }
}

/// scp + ssh commands using the machine's own SSH key, user and port. Every field is quoted
/// for a POSIX shell and `--` ends the options before the operands; a user, host or port that
/// docker-machine could not have written is never put into a command: then there are no
/// commands, and the reason says why.
/// Also returns the `ssh ... -- USER@HOST` prefix that runs anything else on the host.
fn ssh_commands(m: &Machine, copy: &[CopyStep]) -> (Vec<String>, Option<String>, Option<String>) {
    use crate::store::env::shell_word;
    use crate::store::fields::{check_host, check_user, shown};
    // Where docker-machine's driver connects: a virtualbox VM on 127.0.0.1 at its forwarded
    // port as `docker`, every other machine at its address (its URL's host when none).
    let user = Some(
        m.str_at(&["Driver", "SSHUser"])
            .filter(|u| !u.is_empty())
            .unwrap_or(crate::host::default_user(m.driver())),
    );
    let key = m
        .str_at(&["Driver", "SSHKeyPath"])
        .filter(|k| !k.is_empty());
    let host = crate::host::ssh_host(m).or_else(|| m.url().as_deref().and_then(url_host));
    let (Some(user), Some(key), Some(host)) = (user, key, host) else {
        return (Vec::new(), None, None);
    };
    let withheld = |field: &str, value: &str, why: String| {
        Some(format!(
            "no scp/ssh commands printed: {field} {} {why}; no docker-machine writes that (see mbundle doctor)",
            shown(value)
        ))
    };
    if let Err(why) = check_user(user) {
        return (Vec::new(), withheld("Driver.SSHUser", user, why), None);
    }
    if let Err(why) = check_host(&host) {
        return (Vec::new(), withheld("the machine's host", &host, why), None);
    }
    if let Some(p) = crate::store::fields::problems(&m.config)
        .into_iter()
        .find(|p| p.field == "Driver.SSHPort" || p.field == "Driver.SSHKeyPath")
    {
        return (
            Vec::new(),
            Some(format!(
                "no scp/ssh commands printed: {p}; no docker-machine writes that (see mbundle doctor)"
            )),
            None,
        );
    }
    let port = m
        .config
        .pointer("/Driver/SSHPort")
        .and_then(Value::as_u64)
        .filter(|p| (1..=65535).contains(p))
        .unwrap_or(22);
    let key = m.dir.join(Path::new(key).file_name().unwrap_or_default());
    let key = shell_word(&key.display().to_string());
    let files: Vec<String> = copy
        .iter()
        .map(|c| shell_word(&c.local.display().to_string()))
        .collect();
    let names: Vec<String> = copy
        .iter()
        .map(|c| {
            let name = Path::new(&c.remote)
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            shell_word(&format!("/tmp/{name}"))
        })
        .collect();
    // scp takes an IPv6 host in brackets; ssh takes it bare.
    let scp_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let dir = crate::host::provisioned(m.driver()).tls_dir;
    let remote = format!(
        "sudo mv {} {dir}/ && sudo chmod 600 {dir}/server-key.pem",
        names.join(" ")
    );
    let ssh = format!(
        "ssh -i {key} -p {port} -- {}",
        shell_word(&format!("{user}@{host}"))
    );
    (
        vec![
            format!(
                "scp -i {key} -P {port} -- {} {}",
                files.join(" "),
                shell_word(&format!("{user}@{scp_host}:/tmp/"))
            ),
            format!("{ssh} {}", shell_word(&remote)),
        ],
        None,
        Some(ssh),
    )
}

/// Re-issues the CA certificate of a cert directory (`certs/` or `imported-certs/<id>/`) and
/// of every machine directory holding a copy of it.
pub fn renew_ca(store: &Store, dir: &Path, days: i64) -> Result<Renewed> {
    let ca_path = dir.join(CA_CERT);
    let key_path = dir.join(CA_KEY);
    if !ca_path.is_file() {
        return Err(Error::cannot(
            format!("{} does not exist", ca_path.display()),
            "choose the cert set with --cert-set ID (see mbundle ls)",
        ));
    }
    if !key_path.is_file() {
        refuse_if_shared(store, &ca_path, OwnersOnly::RenewCa)?;
        return Err(Error::cannot(
            format!(
                "{} does not exist: a CA certificate can only be renewed with its key",
                key_path.display()
            ),
            "import a bundle that carries the CA key",
        ));
    }
    if dir == store.certs_dir() && crate::store::rotation::current(&store.root)?.is_some() {
        return Err(Error::cannot(
            "the store's CA is being rotated: renewing the old one now would be undone",
            "finish the rotation first: mbundle rotate-ca (it resumes)",
        ));
    }
    let old = read_pem_file(&ca_path)?;
    let key = zeroize::Zeroizing::new(read_pem_file(&key_path)?);
    let issuer = Issuer::load(&old, &key).map_err(|e| {
        Error::cannot(
            format!("cannot renew {}: {e}", ca_path.display()),
            "check the CA files",
        )
    })?;
    let new = issuer
        .renewed_ca(days)
        .map_err(|e| Error::Bug(format!("cannot renew the CA: {e}")))?;
    let info = certs::parse_pem(new.as_bytes())
        .map_err(|e| Error::Bug(format!("the renewed CA certificate does not parse: {e}")))?;
    let ts = stamp();
    let mut kept = Vec::new();
    keep_old_and_write(&ca_path, new.as_bytes(), 0o644, &ts, &mut kept)?;
    let mut machines = Vec::new();
    for name in store.machine_names()? {
        let copy = store.machines_dir().join(&name).join(CA_CERT);
        if copy != ca_path && read_pem_file(&copy).ok().as_deref() == Some(old.as_slice()) {
            keep_old_and_write(&copy, new.as_bytes(), 0o644, &ts, &mut kept)?;
            machines.push(name);
        }
    }
    Ok(Renewed {
        ca_cert: ca_path,
        not_after: certs::rfc3339(info.not_after),
        kept,
        machines,
    })
}
