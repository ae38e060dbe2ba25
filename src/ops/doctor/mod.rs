//! `mbundle doctor`: checks a machine's TLS material and files and explains, in plain words,
//! what is wrong and what to do. Also checks a Docker `certs.d` registry directory for the
//! naming rules of `shared/reference/docker-certs-d.md` (a CA saved as `.cert` is the classic
//! mistake).

use std::fs;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::pki::certs::{self, CertInfo};
use crate::store::fields::url_host;
use crate::store::is_secret_file;
use crate::store::paths::display_under;
use crate::store::rewrite::is_local_path_field_path;
use crate::store::share::ShareRecord;
use crate::store::{
    string_fields, FoundMember, Located, Machine, Store, CA_CERT, CA_KEY, CLIENT_CERT, CLIENT_KEY,
};

mod certs_d;
mod host;
pub use certs_d::check_certs_d;
pub use host::check_host;

/// Days before expiry that earn a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// All good.
    Ok,
    /// Worth knowing; nothing to fix.
    Note,
    /// Will break soon or may surprise.
    Warn,
    /// Broken now.
    Error,
}

impl Level {
    /// The word printed before the finding.
    pub fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Note => "note",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How bad.
    pub level: Level,
    /// What was found, in plain words.
    pub text: String,
    /// What to do.
    pub fix: Option<String>,
}

fn f(level: Level, text: impl Into<String>, fix: Option<String>) -> Finding {
    Finding {
        level,
        text: text.into(),
        fix,
    }
}

/// A loaded certificate file.
struct Loaded {
    path: PathBuf,
    der: Vec<u8>,
    info: CertInfo,
}

fn load(path: &Path) -> Result<Loaded, String> {
    let bytes = crate::store::read_pem_file(path)
        .map_err(|e| format!("cannot read it ({})", e.full_message()))?;
    let der = certs::pem_cert_der(&bytes).map_err(|e| e.to_string())?;
    let info = certs::info_der(&der).map_err(|e| e.to_string())?;
    Ok(Loaded {
        path: path.to_path_buf(),
        der,
        info,
    })
}

fn expiry(what: &str, c: &Loaded, now: OffsetDateTime, fix: &str, out: &mut Vec<Finding>) {
    let date = &certs::day(c.info.not_after);
    let days = (c.info.not_after - now).whole_days();
    if c.info.not_after <= now {
        out.push(f(
            Level::Error,
            format!("{what} expired on {date}"),
            Some(fix.to_string()),
        ));
    } else if days < EXPIRY_WARNING_DAYS {
        out.push(f(
            Level::Warn,
            format!("{what} expires in {days} day(s), on {date}"),
            Some(fix.to_string()),
        ));
    } else if c.info.not_before > now {
        out.push(f(
            Level::Error,
            format!(
                "{what} is not valid before {}",
                &certs::day(c.info.not_before)
            ),
            Some("check this computer's clock".into()),
        ));
    }
}

fn key_check(what: &str, cert: &Loaded, key: &Path, shown: &str, out: &mut Vec<Finding>) {
    match crate::store::read_pem_file(key) {
        Err(e) => out.push(f(
            Level::Error,
            format!("cannot read {shown} ({})", e.full_message()),
            None,
        )),
        Ok(bytes) => match certs::key_matches(&bytes, &cert.der) {
            Ok(true) => out.push(f(
                Level::Ok,
                format!("{what} matches its key {shown}"),
                None,
            )),
            Ok(false) => out.push(f(
                Level::Error,
                format!("{shown} is not the key of {what}: TLS will fail"),
                Some("put back the key that belongs to this certificate, or reissue both".into()),
            )),
            Err(e) => out.push(f(Level::Warn, format!("cannot check {shown}: {e}"), None)),
        },
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode(_: &Path) -> Option<u32> {
    None
}

/// Whether a certificate's SANs cover `host` (an IP literal or a DNS name, `*.` wildcards).
pub fn sans_cover(sans: &[String], host: &str) -> bool {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return sans
            .iter()
            .any(|s| s.strip_prefix("IP:").and_then(|x| x.parse().ok()) == Some(ip));
    }
    let host = host.to_ascii_lowercase();
    sans.iter().filter_map(|s| s.strip_prefix("DNS:")).any(|d| {
        let d = d.to_ascii_lowercase();
        d == host
            || d.strip_prefix("*.").is_some_and(|suffix| {
                host.split_once('.')
                    .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix)
            })
    })
}

/// The command that renews the CA at `ca` (the store's certs/ or an imported set).
pub fn renew_ca_hint(store: &Store, ca: &Path) -> String {
    let imported = store.root.join(crate::store::IMPORTED_CERTS);
    let set = ca
        .parent()
        .filter(|d| d.parent() == Some(imported.as_path()))
        .and_then(|d| d.file_name())
        .map(|id| {
            format!(
                " --cert-set {}",
                crate::store::env::shell_word(&id.to_string_lossy())
            )
        })
        .unwrap_or_default();
    format!(
        "renew it with the same key and give the hosts the new ca.pem: mbundle renew-ca{set} --push (every certificate it issued keeps verifying; docker-machine would instead delete the key and orphan every machine)"
    )
}

/// What the checks of one machine share: the machine, its store, the clock, its issuing
/// material, and what earlier checks loaded (the CA, which the leaves are checked against).
struct Checkup<'a> {
    store: &'a Store,
    m: &'a Machine,
    now: OffsetDateTime,
    found: Vec<FoundMember>,
    /// The fix for a server certificate that no longer fits: regenerate-certs NAME, quoted.
    regen: String,
    ca: Option<Loaded>,
    /// The new CA of a rotation of this machine's CA in progress: what it signed is trusted.
    next_ca: Option<Loaded>,
    out: Vec<Finding>,
    /// The share this machine came from, when it was shared with this store's user.
    share: Option<Result<ShareRecord, String>>,
}

impl Checkup<'_> {
    /// The share record, when the machine was shared with this store's user.
    fn shared(&self) -> Option<&ShareRecord> {
        self.share.as_ref().and_then(|r| r.as_ref().ok())
    }

    fn path_of(&self, name: &str) -> Option<PathBuf> {
        self.found
            .iter()
            .find(|x| x.name == name)
            .map(|x| x.local.clone())
    }

    fn shown(&self, p: &Path) -> String {
        display_under(p, &self.store.root)
    }

    fn push(&mut self, level: Level, text: impl Into<String>, fix: Option<String>) {
        self.out.push(f(level, text, fix));
    }

    /// A leaf certificate: readable, issued by the CA, matching its key, not expired.
    fn leaf(
        &mut self,
        what: &str,
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        renew: &str,
    ) -> Option<Loaded> {
        let cert = cert?;
        let c = match load(&cert) {
            Ok(c) => c,
            Err(e) => {
                let text = format!("{what} {}: {e}", self.shown(&cert));
                self.push(Level::Error, text, None);
                return None;
            }
        };
        if let Some(ca) = &self.ca {
            let by_next = self
                .next_ca
                .as_ref()
                .is_some_and(|n| certs::issued_by(&c.der, &n.der).unwrap_or(false));
            let finding = match certs::issued_by(&c.der, &ca.der) {
                Ok(false) if by_next => f(
                    Level::Ok,
                    format!(
                        "{what} {} is issued by the rotation's new CA (trusted with the old until the rotation ends)",
                        self.shown(&cert)
                    ),
                    None,
                ),
                Ok(true) => f(
                    Level::Ok,
                    format!("{what} {} is issued by that CA", self.shown(&cert)),
                    None,
                ),
                Ok(false) => f(
                    Level::Error,
                    format!(
                        "{what} {} was not issued by the CA {} (it names {:?}): the other side will refuse it",
                        self.shown(&cert),
                        self.shown(&ca.path),
                        c.info.issuer
                    ),
                    Some("point config.json at the CA that issued it, or reissue the certificate from this CA".into()),
                ),
                Err(e) => f(Level::Warn, format!("{what}: {e}"), None),
            };
            self.out.push(finding);
        }
        match key {
            Some(k) => {
                let shown = self.shown(&k);
                key_check(what, &c, &k, &shown, &mut self.out)
            }
            None if self.shared().is_some() && what == "the server certificate" => self.push(
                Level::Ok,
                "the server key stays with the owner (a shared machine); the daemon holds its own copy",
                None,
            ),
            None => self.push(Level::Error, format!("{what} has no key file"), None),
        }
        expiry(what, &c, self.now, renew, &mut self.out);
        Some(c)
    }
}

/// One check of a machine: adds its findings to the checkup.
type Check = fn(&mut Checkup);

/// The checks of a machine, in the order they are reported. A new check is one function and
/// one row here.
const MACHINE_CHECKS: &[(&str, Check)] = &[
    (
        "a share: whose certificate, what stayed with the owner",
        check_share,
    ),
    ("driver fields that become shell words", check_fields),
    ("the CA and its key", check_ca),
    ("the client certificate", check_client),
    (
        "the server certificate and the machine's address",
        check_server,
    ),
    (
        "the copies DOCKER_CERT_PATH gives the docker CLI",
        check_cert_path_copies,
    ),
    ("every path config.json names", check_paths),
    ("permissions of keys and config.json", check_permissions),
    ("a local VM's disk images and folder", check_vm_files),
    ("a push stopped mid-way", check_push_note),
];

/// Checks one machine. `now` is injected so tests are stable.
pub fn check_machine(store: &Store, m: &Machine, now: OffsetDateTime) -> Vec<Finding> {
    let share = crate::store::share::read_record(&m.dir);
    let regen = match &share {
        Some(Ok(_)) => format!(
            "only the owner holds the CA key: ask them to reissue it (regenerate-certs {name}, on their store) or to share {name} with you again",
            name = crate::store::env::shell_word(&m.name)
        ),
        _ => format!(
            "reissue it with the machine's CA and put it on the host: mbundle regenerate-certs {} --push (add --ip NEW_IP if config.json still has the old address)",
            crate::store::env::shell_word(&m.name)
        ),
    };
    let mut cx = Checkup {
        store,
        m,
        now,
        found: m.issuing_material(store),
        regen,
        ca: None,
        next_ca: None,
        out: Vec::new(),
        share,
    };
    for (_, check) in MACHINE_CHECKS {
        check(&mut cx);
    }
    cx.out
}

/// A machine shared with this store's user: whose certificate, until when, and the cloud
/// credentials the share emptied (what needs them, how to fill them in).
fn check_share(cx: &mut Checkup) {
    let rec = match &cx.share {
        None => return,
        Some(Err(e)) => {
            let text = format!("{e}: this machine's share cannot be told");
            cx.push(Level::Warn, text, None);
            return;
        }
        Some(Ok(rec)) => rec.clone(),
    };
    cx.push(
        Level::Note,
        format!(
            "shared with you as {} on {}; the CA key and the server key stay with the owner{}",
            rec.shared_with,
            crate::pki::certs::date_of(&rec.issued_at),
            if rec.with_ssh_key {
                ""
            } else {
                ", and so does the SSH key (docker-machine ssh/scp will not work)"
            }
        ),
        None,
    );
    let config = cx.m.dir.join("config.json");
    for field in &rec.redacted {
        match crate::store::share::field_value(&cx.m.config, field) {
            Some(v) if !v.is_empty() => cx.push(
                Level::Ok,
                format!("{field} was filled in after the share"),
                None,
            ),
            _ => {
                let text = format!(
                    "{field} is empty (removed when the machine was shared): {}",
                    crate::store::share::needed_for(cx.m.driver())
                );
                let fix = format!(
                    "set {field} in {} to a credential for the same account (from the owner, or your own), or ask for a share made with --keep-secrets",
                    cx.shown(&config)
                );
                cx.push(Level::Warn, text, Some(fix));
            }
        }
    }
}

/// Fields that become shell words and host names (env, regenerate-certs' scp/ssh lines).
fn check_fields(cx: &mut Checkup) {
    for p in crate::store::fields::problems(&cx.m.config) {
        cx.push(
            Level::Error,
            format!("config.json: {p}"),
            Some("no docker-machine writes this (was config.json tampered with?): correct the field; mbundle prints no shell command from it".into()),
        );
    }
}

/// A rotation of the store's CA (the machine's) not finished: said, and its new CA kept for
/// the leaf checks.
fn rotation_in_progress(cx: &mut Checkup, ca: &Path) {
    if ca != cx.store.certs_dir().join(CA_CERT) {
        return;
    }
    let Ok(Some(r)) = crate::store::rotation::current(&cx.store.root) else {
        return;
    };
    cx.next_ca = load(&r.ca_path()).ok();
    let text = format!(
        "a rotation of this CA begun {} is not finished ({} of 4 phases done): the hosts trust the old and the new CA meanwhile",
        crate::pki::certs::date_of(&r.record.started_at),
        r.record.done.len()
    );
    let fix = "finish it: mbundle rotate-ca (it resumes)".to_string();
    cx.push(Level::Warn, text, Some(fix));
}

fn check_ca(cx: &mut Checkup) {
    let Some(p) = cx.path_of(CA_CERT) else {
        cx.push(
            Level::Error,
            "no CA certificate: config.json names none that exists, and the machine directory has no ca.pem",
            Some("restore it from a bundle (mbundle import) or a backup".into()),
        );
        return;
    };
    let c = match load(&p) {
        Ok(c) => c,
        Err(e) => {
            let text = format!("CA certificate {}: {e}", cx.shown(&p));
            cx.push(Level::Error, text, None);
            return;
        }
    };
    if c.info.is_ca {
        let text = format!("CA \"{}\" is {}", c.info.name, cx.shown(&p));
        cx.push(Level::Ok, text, None);
    } else {
        let text = format!(
            "{} is not a CA certificate (no basicConstraints CA:TRUE)",
            cx.shown(&p)
        );
        cx.push(Level::Error, text, None);
    }
    let renew = renew_ca_hint(cx.store, &p);
    expiry("the CA certificate", &c, cx.now, &renew, &mut cx.out);
    rotation_in_progress(cx, &p);
    match cx.path_of(CA_KEY) {
        Some(k) => {
            let shown = cx.shown(&k);
            key_check("the CA certificate", &c, &k, &shown, &mut cx.out)
        }
        None if cx.shared().is_some() => cx.push(
            Level::Ok,
            "the CA key stays with the owner (a shared machine): regenerate-certs and renew-ca are theirs to run",
            None,
        ),
        None => cx.push(
            Level::Note,
            "the CA key is absent (a custom CA kept elsewhere?): no new certificates can be issued here",
            None,
        ),
    }
    cx.ca = Some(c);
}

/// A push that was stopped on this machine's host (its note is still in the directory).
fn check_push_note(cx: &mut Checkup) {
    let said = match crate::host::note::read(&cx.m.dir) {
        None => return,
        Some(Ok(n)) => n.describe(),
        Some(Err(why)) => format!("a push left a note that cannot be read ({why})"),
    };
    let fix = format!(
        "run the push again: it asks the host what is left and finishes or rolls back: mbundle push {}",
        crate::store::env::shell_word(&cx.m.name)
    );
    cx.push(Level::Warn, said, Some(fix));
}

fn check_client(cx: &mut Checkup) {
    let (cert, key) = (cx.path_of(CLIENT_CERT), cx.path_of(CLIENT_KEY));
    let renew = client_fix(cx, cert.as_deref());
    // A scoped share's certificate is signed by the share's own CA (its record carries it).
    let scoped = cx
        .shared()
        .and_then(|r| r.client_ca.clone())
        .and_then(|pem| {
            let der = certs::pem_cert_der(pem.as_bytes()).ok()?;
            let info = certs::info_der(&der).ok()?;
            Some(Loaded {
                path: cx.m.dir.join(crate::store::share::SHARE_RECORD),
                der,
                info,
            })
        });
    let store_ca = scoped.map(|ca| cx.ca.replace(ca));
    let checked = cx.leaf("the client certificate", cert.clone(), key, &renew);
    if let Some(ca) = store_ca {
        cx.ca = ca;
    }
    match checked {
        Some(c) if !certs::allows_client_auth(&c.der) => cx.push(
            Level::Warn,
            "the client certificate does not allow TLS client authentication (extendedKeyUsage)",
            None,
        ),
        None if cert.is_none() => {
            cx.push(Level::Error, "no client certificate (cert.pem) found", None)
        }
        _ => {}
    }
}

/// The fix for an expiring client certificate: `regenerate-certs --client-certs`, alone for
/// the store's certs/, with the machine's name for an imported set; the owner's for a share.
fn client_fix(cx: &Checkup, cert: Option<&Path>) -> String {
    let name = crate::store::env::shell_word(&cx.m.name);
    if cx.share.as_ref().is_some_and(|s| s.is_ok()) {
        return format!(
            "the certificate is the owner's to issue: ask them to share {name} with you again"
        );
    }
    let own = cert.and_then(Path::parent) == Some(cx.store.certs_dir().as_path());
    format!(
        "issue a new one from the same CA (copies and docker contexts follow; no host needs it): mbundle regenerate-certs --client-certs{}",
        if own { String::new() } else { format!(" {name} (this also renews its server certificate)") }
    )
}

fn check_server(cx: &mut Checkup) {
    let (cert, key) = (cx.m.server_cert(cx.store), cx.m.server_key(cx.store));
    let renew = cx.regen.clone();
    match cx.leaf("the server certificate", cert, key, &renew) {
        Some(srv) => {
            let Some(host) = cx.m.url().as_deref().and_then(url_host) else {
                return;
            };
            if sans_cover(&srv.info.sans, &host) {
                cx.push(Level::Ok, format!("the server certificate names {host}"), None);
            } else {
                let names = if srv.info.sans.is_empty() {
                    "nothing".to_string()
                } else {
                    srv.info.sans.join(", ")
                };
                let fix = Some(cx.regen.clone());
                cx.push(
                    Level::Error,
                    format!(
                        "the server certificate does not name {host}, the machine's address (it names {names}): the docker CLI will refuse the daemon — did the machine's IP change?"
                    ),
                    fix,
                );
            }
        }
        None if cx.m.driver() == "none" => cx.push(
            Level::Note,
            "no server certificate here (the none driver never makes one; the daemon keeps its own)",
            None,
        ),
        None => {
            let fix = Some(cx.regen.clone());
            cx.push(Level::Warn, "no server certificate found", fix)
        }
    }
}

/// What DOCKER_CERT_PATH (the machine directory) gives the docker CLI.
fn check_cert_path_copies(cx: &mut Checkup) {
    for name in [CA_CERT, CLIENT_CERT, CLIENT_KEY] {
        let canonical = cx.path_of(name);
        let copy = cx.m.dir.join(name);
        match (copy.is_file(), canonical) {
            (false, _) => {
                let text = format!(
                    "{} is missing: `docker-machine env` points the docker CLI there",
                    cx.shown(&copy)
                );
                cx.push(
                    Level::Warn,
                    text,
                    Some(format!("copy the machine's {name} there")),
                )
            }
            (true, Some(c))
                if c != copy
                    && crate::store::read_pem_file(&copy).ok()
                        != crate::store::read_pem_file(&c).ok() =>
            {
                let text = format!(
                    "{} differs from {}, which config.json names",
                    cx.shown(&copy),
                    cx.shown(&c)
                );
                cx.push(Level::Warn, text, None);
            }
            _ => {}
        }
    }
}

/// Every path config.json names exists (or is expected absent).
fn check_paths(cx: &mut Checkup) {
    let (store, m) = (cx.store, cx.m);
    for (field, s) in string_fields(&m.config) {
        let key = field.rsplit('.').next().unwrap_or(&field);
        if !is_local_path_field_path(&field) || crate::store::paths::ForeignPath::parse(s).is_none()
        {
            continue;
        }
        match m.locate(store, s) {
            Located::InStore(p) | Located::Outside(p) => {
                let shared = cx.shared();
                let expected_absent = (m.driver() == "none"
                    && (key == "ServerCertPath" || key == "ServerKeyPath"))
                    || (shared.is_some() && key == "ServerKeyPath")
                    || shared.is_some_and(|r| !r.with_ssh_key && key == "SSHKeyPath")
                    || key == "CaPrivateKeyPath"
                    || key == "PrivateKeyPath";
                if !p.exists() && !expected_absent {
                    cx.push(
                        Level::Error,
                        format!("{field} names {s}, which does not exist"),
                        None,
                    );
                }
            }
            Located::Nowhere => {
                if key != "SSHKey" && key != "UserDataFile" {
                    cx.push(
                        Level::Warn,
                        format!("{field} names {s}, which is not on this computer"),
                        None,
                    );
                }
            }
        }
    }
}

/// A machine whose VM runs on this computer needs its disk images or VM folder in its
/// directory: an import of a bundle made without `--include-disks` does not bring them.
fn check_vm_files(cx: &mut Checkup) {
    if !crate::store::LOCAL_VM_DRIVERS.contains(&cx.m.driver()) {
        return;
    }
    let has_vm = fs::read_dir(&cx.m.dir)
        .map(|rd| {
            rd.flatten().any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                e.path().is_dir() || crate::store::default_exclusion(&[name.as_str()]).is_some()
            })
        })
        .unwrap_or(false);
    if !has_vm {
        let text = format!(
            "no disk image or VM folder in {}: the {} VM will not start (imported from a bundle made without --include-disks?)",
            cx.shown(&cx.m.dir),
            cx.m.driver()
        );
        cx.push(
            Level::Warn,
            text,
            Some("import a bundle exported with --include-disks, or recreate the VM".into()),
        );
    }
}

/// Keys and config.json private to their owner; the machine directory not writable by others.
fn check_permissions(cx: &mut Checkup) {
    let mut secrets: Vec<PathBuf> = cx
        .found
        .iter()
        .filter(|x| x.name == CA_KEY || x.name == CLIENT_KEY)
        .map(|x| x.local.clone())
        .collect();
    if let Ok(rd) = fs::read_dir(&cx.m.dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // By name, and by content: a backup copy of a key (`ca-key.pem.orig`, the
            // `.old` server key regenerate-certs keeps), a .p12, an SSH key by any name.
            let small = e
                .metadata()
                .is_ok_and(|m| m.is_file() && m.len() <= crate::store::MAX_PEM_FILE);
            let by_content = || {
                crate::store::read_pem_file(&e.path()).is_ok_and(|b| crate::store::holds_secret(&b))
            };
            if e.path().is_file() && (is_secret_file(&name) || (small && by_content())) {
                secrets.push(e.path());
            }
        }
    }
    secrets.sort();
    secrets.dedup();
    let loose_files: Vec<(&PathBuf, u32)> = secrets
        .iter()
        .filter_map(|p| mode(p).filter(|md| md & 0o077 != 0).map(|md| (p, md)))
        .collect();
    let loose: Vec<String> = loose_files
        .iter()
        .map(|(p, md)| format!("{} ({md:04o})", cx.shown(p)))
        .collect();
    if loose.is_empty() {
        cx.push(
            Level::Ok,
            "keys and config.json are private to their owner",
            None,
        );
    } else {
        cx.push(
            Level::Error,
            format!("readable by other users: {}", loose.join(", ")),
            Some(format!(
                "chmod 600 {}",
                loose_files
                    .iter()
                    .map(|(p, _)| crate::store::env::shell_word(&p.display().to_string()))
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        );
    }
    if let Some(md) = mode(&cx.m.dir).filter(|md| md & 0o022 != 0) {
        let text = format!(
            "{} is writable by other users ({md:04o})",
            cx.shown(&cx.m.dir)
        );
        let fix = format!(
            "chmod 700 {}",
            crate::store::env::shell_word(&cx.m.dir.display().to_string())
        );
        cx.push(Level::Error, text, Some(fix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_sans() {
        assert_eq!(url_host("tcp://1.2.3.4:2376").unwrap(), "1.2.3.4");
        assert_eq!(url_host("tcp://[::1]:2376").unwrap(), "::1");
        assert_eq!(
            url_host("tcp://docker.example.com:2376").unwrap(),
            "docker.example.com"
        );
        let sans = vec![
            "DNS:localhost".to_string(),
            "IP:10.0.0.1".into(),
            "DNS:*.example.com".into(),
        ];
        assert!(sans_cover(&sans, "10.0.0.1"));
        assert!(!sans_cover(&sans, "10.0.0.2"));
        assert!(sans_cover(&sans, "LOCALHOST"));
        assert!(sans_cover(&sans, "a.example.com"));
        assert!(!sans_cover(&sans, "a.b.example.com"));
        assert!(!sans_cover(&sans, "example.com"));
    }
}
