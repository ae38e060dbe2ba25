//! A docker-machine store on this computer: its layout and its machines' config.json.
//!
//! config.json is kept as a `serde_json::Value` with key order preserved: mbundle reads the
//! few fields it understands and must never lose the rest. Paths inside it are foreign (see
//! [`crate::store::paths`]): a store copied by hand from another laptop or OS still names where it
//! used to live, so every path is resolved through [`Machine::locate`], which maps the store
//! root the config records onto the store's real location.

pub mod context;
pub mod env;
pub mod fields;
mod files;
pub use files::*;
pub mod paths;
pub mod rewrite;
pub mod rotation;
pub mod scoped;
pub mod share;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, IoContext, Result};
use crate::store::paths::{local_join, ForeignPath, SourceOs};

/// Names of the four files of a cert set, as docker-machine names them in `certs/`.
pub const CA_CERT: &str = "ca.pem";
/// The CA's private key.
pub const CA_KEY: &str = "ca-key.pem";
/// The client certificate used to reach every machine's daemon.
pub const CLIENT_CERT: &str = "cert.pem";
/// The client certificate's key.
pub const CLIENT_KEY: &str = "key.pem";
/// The four members of a cert set, in the order they are stored.
pub const CERT_MEMBERS: [&str; 4] = [CA_CERT, CA_KEY, CLIENT_CERT, CLIENT_KEY];

/// A docker-machine store directory.
#[derive(Clone, Debug)]
pub struct Store {
    /// The store root (`~/.docker/machine` by default).
    pub root: PathBuf,
    /// The store's owner (user, group) and the user running mbundle, when they differ,
    /// looked up once: `None` inside when they are the same.
    foreign_owner: std::sync::OnceLock<Option<(u32, u32, u32)>>,
}

impl Store {
    /// Why a file outside the store must not be carried, if it must not: when the store
    /// belongs to someone other than the user running mbundle (root exporting a user's
    /// store), a file its owner could not read is not theirs to hand over. Inside the store,
    /// or run by the store's owner, every file may be carried.
    pub fn withheld_outside(&self, path: &Path) -> Option<String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // Asked once per store: the export asks for every file it scans.
            let (uid, gid, me) = (*self.foreign_owner.get_or_init(|| {
                let me = crate::fs::beneath::current_user()?;
                let meta = fs::metadata(&self.root).ok()?;
                (meta.uid() != me).then(|| (meta.uid(), meta.gid(), me))
            }))?;
            // Where it really is: a link in the store (a machine directory that is one) to a
            // file elsewhere is a file elsewhere.
            let real = fs::canonicalize(path).ok()?;
            let root = fs::canonicalize(&self.root).ok()?;
            if real.starts_with(&root) || crate::fs::beneath::readable_by(uid, gid, &real) {
                return None;
            }
            Some(format!(
                "outside the store, and the store's owner (user {uid}) cannot read it; mbundle runs as user {me} and hands over nothing its owner could not see"
            ))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    /// Opens an existing store, checking that it is a readable directory.
    pub fn open(root: &Path) -> Result<Store> {
        Self::open_inner(root, false)
    }

    /// Like [`Store::open`], but a store that does not exist yet (a fresh laptop) is an empty
    /// store, for the commands that only look: `ls`, `doctor`, `env`. A path that exists and
    /// is not a directory is still an error.
    pub fn open_or_empty(root: &Path) -> Result<Store> {
        Self::open_inner(root, true)
    }

    fn open_inner(root: &Path, absent_is_empty: bool) -> Result<Store> {
        let unreadable = |reason: String| Error::StoreUnreadable {
            path: root.to_path_buf(),
            reason,
        };
        match fs::metadata(root) {
            Ok(meta) if !meta.is_dir() => return Err(unreadable("not a directory".into())),
            Ok(_) => {}
            // Only a store that is not there yet is empty; one that cannot be read is not.
            Err(e) if absent_is_empty && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(unreadable(e.to_string())),
        }
        let root = if root.is_absolute() {
            root.to_path_buf()
        } else {
            std::env::current_dir().ctx("read", ".")?.join(root)
        };
        Ok(Store {
            root,
            foreign_owner: std::sync::OnceLock::new(),
        })
    }

    /// `<root>/machines`.
    pub fn machines_dir(&self) -> PathBuf {
        self.root.join("machines")
    }

    /// `<root>/certs`.
    pub fn certs_dir(&self) -> PathBuf {
        self.root.join("certs")
    }

    /// Directories under `machines/` without a `config.json` (docker-machine creating or
    /// removing one, or a leftover), sorted: no machine, but worth saying.
    pub fn machine_dirs_without_config(&self) -> Result<Vec<String>> {
        let dir = self.machines_dir();
        let Ok(rd) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.ctx("list", &dir)?;
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && fs::symlink_metadata(entry.path().join("config.json")).is_err() {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Names of the machines: directories under `machines/` holding a `config.json`, sorted.
    pub fn machine_names(&self) -> Result<Vec<String>> {
        let dir = self.machines_dir();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::StoreUnreadable {
                    path: dir,
                    reason: e.to_string(),
                })
            }
        };
        let mut names = Vec::new();
        for entry in rd {
            let entry = entry.ctx("list", &dir)?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let ft = entry.file_type().ctx("stat", entry.path())?;
            if ft.is_dir() && crate::fs::stats::is_file(&entry.path().join("config.json")) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Loads the machines named, in that order; the first one missing is the error (which
    /// says which machines exist).
    pub fn machines<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<Machine>> {
        names.iter().map(|n| self.machine(n.as_ref())).collect()
    }

    /// Loads one machine, or says which machines exist.
    pub fn machine(&self, name: &str) -> Result<Machine> {
        self.machine_with(name, |_| Ok(None::<Vec<u8>>))
    }

    /// [`Store::machine`], config.json read by `read` (an export that holds what it read, to
    /// carry it without reading it again); `read` may give `None` for the usual reading.
    pub fn machine_with<B: AsRef<[u8]>>(
        &self,
        name: &str,
        read: impl FnOnce(&Path) -> std::io::Result<Option<B>>,
    ) -> Result<Machine> {
        let dir = self.machines_dir().join(name);
        let config_path = dir.join("config.json");
        if name.is_empty() || name.contains(['/', '\\']) || !crate::fs::stats::is_file(&config_path)
        {
            return Err(Error::UnknownMachine {
                names: vec![name.to_string()],
                store: self.root.clone(),
                known: self.machine_names().unwrap_or_default(),
            });
        }
        let bad = |reason: String| Error::BadConfig {
            name: name.to_string(),
            path: config_path.clone(),
            reason,
        };
        let given = read(&config_path).ctx("read", &config_path)?;
        let read_here;
        let bytes = match &given {
            Some(b) => b.as_ref(),
            None => {
                read_here = read_config_file(&config_path).map_err(|e| match e {
                    Error::Io { source, .. } => bad(source.to_string()),
                    e => e,
                })?;
                read_here.as_slice()
            }
        };
        let config: Value =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON ({e})")))?;
        if !config.is_object() {
            return Err(bad("not a JSON object".into()));
        }
        Ok(Machine::new(name.to_string(), dir, config))
    }
}

/// One machine: its directory and parsed config.json.
#[derive(Clone, Debug)]
pub struct Machine {
    /// The directory name under `machines/`.
    pub name: String,
    /// `<store>/machines/<name>`.
    pub dir: PathBuf,
    /// config.json, key order preserved.
    pub config: Value,
    /// Store roots as config.json records them (usually one; first is the most trusted).
    pub recorded_roots: Vec<ForeignPath>,
}

/// Where a path from config.json is on this computer, if anywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Located {
    /// Under the recorded store root, mapped onto the real store.
    InStore(PathBuf),
    /// Outside the store, spelled for this computer, and it exists here.
    Outside(PathBuf),
    /// Cannot be found here (another computer's path, or deleted).
    Nowhere,
}

impl Machine {
    /// Wraps a parsed config.json.
    pub fn new(name: String, dir: PathBuf, config: Value) -> Machine {
        let recorded_roots = recorded_roots(&config, &name);
        Machine {
            name,
            dir,
            config,
            recorded_roots,
        }
    }

    /// A string at a JSON path such as `["Driver", "IPAddress"]`.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        str_at(&self.config, path)
    }

    /// `DriverName`, or `"unknown"`.
    pub fn driver(&self) -> &str {
        self.str_at(&["DriverName"]).unwrap_or("unknown")
    }

    /// The config's `ConfigVersion` (0 when absent, as in docker-machine 0.2).
    pub fn config_version(&self) -> u64 {
        self.config
            .get("ConfigVersion")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    /// The OS that wrote this config, from how its store root is spelled.
    pub fn source_os(&self) -> SourceOs {
        self.recorded_roots
            .first()
            .map(|r| r.os)
            .unwrap_or(SourceOs::this_host())
    }

    /// The daemon URL the way docker-machine derives it: the `none` driver stores `Driver.URL`;
    /// every other driver serves on `tcp://<Driver.IPAddress>:<EnginePort or 2376>`.
    pub fn url(&self) -> Option<String> {
        if let Some(url) = self.str_at(&["Driver", "URL"]).filter(|u| !u.is_empty()) {
            return Some(url.to_string());
        }
        let ip = self
            .str_at(&["Driver", "IPAddress"])
            .filter(|ip| !ip.is_empty())?;
        let port = self
            .config
            .pointer("/Driver/EnginePort")
            .and_then(Value::as_u64)
            .filter(|p| *p > 0 && *p < 65536)
            .unwrap_or(2376);
        if ip.parse::<std::net::Ipv6Addr>().is_ok() {
            Some(format!("tcp://[{ip}]:{port}"))
        } else {
            Some(format!("tcp://{ip}:{port}"))
        }
    }

    /// The config.json string naming one member of the cert set, with the field it came
    /// from. Covers ConfigVersion 0-3 (`PrivateKeyPath` was the CA key before version 2).
    pub fn cert_ref(&self, member: &str) -> Option<(String, &str)> {
        cert_ref_in(&self.config, member)
    }

    /// Finds a config.json path on this computer.
    ///
    /// A path under a recorded store root maps onto the real store (whatever OS wrote it); a
    /// path outside it is used as is only when it is spelled for this computer and exists.
    pub fn locate(&self, store: &Store, s: &str) -> Located {
        let Some(fp) = ForeignPath::parse(s) else {
            return Located::Nowhere;
        };
        for root in &self.recorded_roots {
            if let Some(rest) = fp.strip_prefix(root) {
                return match local_join(&store.root, rest) {
                    Some(p) => Located::InStore(p),
                    None => Located::Nowhere,
                };
            }
        }
        let here_style = SourceOs::this_host() == SourceOs::Windows;
        if (fp.os == SourceOs::Windows) == here_style {
            let p = PathBuf::from(s);
            if p.is_absolute() && crate::fs::stats::exists(&p) {
                return Located::Outside(p);
            }
        }
        Located::Nowhere
    }
}

/// One member of a machine's issuing material, as found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundMember {
    /// `ca.pem`, `ca-key.pem`, `cert.pem` or `key.pem`.
    pub name: &'static str,
    /// Where the bytes are here.
    pub local: PathBuf,
    /// The config.json string that names it, if any.
    pub source: Option<String>,
}

impl Machine {
    /// Finds the machine's issuing material from its own config.json.
    ///
    /// Each member is looked up where config.json says (mapped onto this store when it lies
    /// under the recorded store root); when config.json names nothing (`"AuthOptions": null`)
    /// docker-machine's default `certs/` is used; when the named file is gone, the copies
    /// docker-machine keeps in the machine directory stand in for ca.pem, cert.pem and
    /// key.pem. The CA key has no copy: when it is gone it is absent.
    pub fn issuing_material(&self, store: &Store) -> Vec<FoundMember> {
        let mut out = Vec::new();
        for name in CERT_MEMBERS {
            let configured = self.cert_ref(name);
            let mut local = configured
                .as_ref()
                .and_then(|(_, s)| self.existing_file(store, s));
            if local.is_none() && configured.is_none() {
                let p = store.certs_dir().join(name);
                local = crate::fs::stats::is_file(&p).then_some(p);
            }
            if local.is_none() && name != CA_KEY {
                let p = self.dir.join(name);
                local = crate::fs::stats::is_file(&p).then_some(p);
            }
            if let Some(local) = local {
                out.push(FoundMember {
                    name,
                    local,
                    source: configured.map(|(_, s)| s.to_string()),
                });
            }
        }
        out
    }

    /// The file a config.json path names, if it exists on this computer.
    pub fn existing_file(&self, store: &Store, s: &str) -> Option<PathBuf> {
        match self.locate(store, s) {
            Located::InStore(p) | Located::Outside(p) if crate::fs::stats::is_file(&p) => Some(p),
            _ => None,
        }
    }

    /// The file `HostOptions.AuthOptions.<field>` names, else `default` in the machine
    /// directory, if either exists.
    fn auth_file(&self, store: &Store, field: &str, default: &str) -> Option<PathBuf> {
        self.str_at(&["HostOptions", "AuthOptions", field])
            .and_then(|s| self.existing_file(store, s))
            .or_else(|| Some(self.dir.join(default)).filter(|p| crate::fs::stats::is_file(p)))
    }

    /// The server certificate: where config.json says, else `server.pem` in the machine
    /// directory.
    pub fn server_cert(&self, store: &Store) -> Option<PathBuf> {
        self.auth_file(store, "ServerCertPath", "server.pem")
    }

    /// The server certificate's key, found the same way.
    pub fn server_key(&self, store: &Store) -> Option<PathBuf> {
        self.auth_file(store, "ServerKeyPath", "server-key.pem")
    }
}

/// A string at a JSON path.
pub fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_str()
}

/// The config.json string naming `member` of the issuing material (`ca.pem`...), and its
/// field, if any is set.
pub fn cert_ref_in<'v>(config: &'v Value, member: &str) -> Option<(String, &'v str)> {
    let fields: &[&[&str]] = match member {
        CA_CERT => &[
            &["HostOptions", "AuthOptions", "CaCertPath"],
            &["Driver", "CaCertPath"],
            &["CaCertPath"],
        ],
        CA_KEY => &[
            &["HostOptions", "AuthOptions", "CaPrivateKeyPath"],
            &["HostOptions", "AuthOptions", "PrivateKeyPath"],
            &["Driver", "PrivateKeyPath"],
            &["PrivateKeyPath"],
        ],
        CLIENT_CERT => &[
            &["HostOptions", "AuthOptions", "ClientCertPath"],
            &["ClientCertPath"],
        ],
        CLIENT_KEY => &[
            &["HostOptions", "AuthOptions", "ClientKeyPath"],
            &["ClientKeyPath"],
        ],
        _ => &[],
    };
    fields.iter().find_map(|f| {
        str_at(config, f)
            .filter(|s| !s.is_empty())
            .map(|s| (f.join("."), s))
    })
}

/// The store roots a config.json records, most trusted first: `Driver.StorePath` (the store
/// root since ConfigVersion 2), then whatever precedes `machines/<name>` in any path string,
/// then the parent of a `certs/` directory holding `ca.pem` (ConfigVersion 0 kept everything
/// there).
pub fn recorded_roots(config: &Value, name: &str) -> Vec<ForeignPath> {
    let mut roots: Vec<ForeignPath> = Vec::new();
    let mut push = |p: ForeignPath| {
        if !roots.iter().any(|r| r == &p) {
            roots.push(p);
        }
    };
    if let Some(p) = str_at(config, &["Driver", "StorePath"]).and_then(ForeignPath::parse) {
        // Old drivers stored the machine directory here.
        match p.store_root_for_machine(name) {
            Some(root) => push(root),
            None => push(p),
        }
    }
    let mut strings = Vec::new();
    collect_strings(config, &mut strings);
    for s in &strings {
        if let Some(root) = ForeignPath::parse(s).and_then(|p| p.store_root_for_machine(name)) {
            push(root);
        }
    }
    for s in &strings {
        if let Some(p) = ForeignPath::parse(s) {
            let n = p.components.len();
            if n >= 2 && p.components[n - 2] == "certs" && p.components[n - 1] == CA_CERT {
                if let Some(root) = p.parent().and_then(|c| c.parent()) {
                    push(root);
                }
            }
        }
    }
    roots
}

/// Every string value in a JSON document, depth first.
pub fn collect_strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// Every (dotted field path, string) pair in a JSON document, in document order.
pub fn string_fields(v: &Value) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    each_string_field(v, |field, s| out.push((field.to_string(), s)));
    out
}

/// Calls `f` with every (dotted field path, string) pair in a JSON document, in document
/// order, naming the fields in one growing buffer (an export of 500 machines walks every
/// config.json; a `format!` per node was most of that walk).
pub fn each_string_field<'v>(v: &'v Value, mut f: impl FnMut(&str, &'v str)) {
    fn walk<'v>(v: &'v Value, path: &mut String, f: &mut dyn FnMut(&str, &'v str)) {
        let len = path.len();
        match v {
            Value::String(s) => f(path, s),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    use std::fmt::Write;
                    let _ = write!(path, "[{i}]");
                    walk(x, path, f);
                    path.truncate(len);
                }
            }
            Value::Object(o) => {
                for (k, x) in o {
                    if len > 0 {
                        path.push('.');
                    }
                    path.push_str(k);
                    walk(x, path, f);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    walk(v, &mut String::new(), &mut f);
}

/// The store to use: `-s`, else `$MACHINE_STORAGE_PATH` (clap fills both), else
/// `~/.docker/machine`.
pub fn default_store_path() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(|h| PathBuf::from(h).join(".docker").join("machine"))
}

/// Prefix of the staging directories an import makes inside the store.
pub const STAGING_PREFIX: &str = ".mbundle-staging-";
/// Where cert sets that cannot be `certs/` go, beside it (docker-machine never looks there).
pub const IMPORTED_CERTS: &str = "imported-certs";

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

/// Drivers whose machine is a VM on this computer: without its disk images and VM folder
/// (left out of a bundle unless `--include-disks`) it cannot start.
pub const LOCAL_VM_DRIVERS: &[&str] = &[
    "virtualbox",
    "vmwarefusion",
    "vmwareworkstation",
    "hyperv",
    "parallels",
    "xhyve",
    "kvm",
    "qemu",
];

/// Every regular file under a machine directory, relative path -> sha256.
///
/// A file `skip` says yes to (its relative path) is listed without being read, with an
/// empty hash: a VM disk of many GiB a bundle left out is not worth hashing to compare.
pub fn machine_files(
    dir: &Path,
    skip: &dyn Fn(&str) -> bool,
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for item in walkdir::WalkDir::new(dir).follow_links(false).min_depth(1) {
        let item = item.map_err(|e| {
            Error::io(
                "list",
                dir,
                e.into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("file system loop")),
            )
        })?;
        if !item.file_type().is_file() {
            continue;
        }
        let rel = item
            .path()
            .strip_prefix(dir)
            .unwrap_or(item.path())
            .to_string_lossy()
            .replace('\\', "/");
        let sha = if skip(&rel) {
            String::new()
        } else {
            sha256_file(item.path())?
        };
        out.insert(rel, sha);
    }
    Ok(out)
}

/// Whether a store's config.json (`have`) is the one a bundle holds (`bundle`, as is) or the
/// same JSON once its paths are mapped onto this store (`rewritten`).
pub fn same_config(have: &[u8], candidates: &[&[u8]]) -> bool {
    let have_json = serde_json::from_slice::<Value>(have).ok();
    candidates.iter().any(|c| {
        have == *c || (have_json.is_some() && serde_json::from_slice::<Value>(c).ok() == have_json)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roots_from_v3_and_v0_configs() {
        let v3 = json!({"Driver": {"StorePath": "C:\\Users\\José\\.docker\\machine"}});
        assert_eq!(
            recorded_roots(&v3, "x")[0].to_string(),
            "C:\\Users\\José\\.docker\\machine"
        );
        let v0 = json!({"StorePath": "/Users/l/.docker/machine/machines/dev",
            "HostOptions": {"AuthOptions": {"CaCertPath": "/Users/l/.docker/machine/certs/ca.pem"}}});
        let roots = recorded_roots(&v0, "dev");
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].to_string(), "/Users/l/.docker/machine");
    }

    #[test]
    fn url_follows_docker_machine() {
        let m = |v| Machine::new("m".into(), PathBuf::new(), v);
        assert_eq!(
            m(json!({"Driver": {"URL": "tcp://h:1", "IPAddress": "x"}}))
                .url()
                .unwrap(),
            "tcp://h:1"
        );
        assert_eq!(
            m(json!({"Driver": {"IPAddress": "1.2.3.4", "EnginePort": 23762}}))
                .url()
                .unwrap(),
            "tcp://1.2.3.4:23762"
        );
        assert_eq!(
            m(json!({"Driver": {"IPAddress": "1.2.3.4"}}))
                .url()
                .unwrap(),
            "tcp://1.2.3.4:2376"
        );
        assert_eq!(
            m(json!({"Driver": {"IPAddress": "::1"}})).url().unwrap(),
            "tcp://[::1]:2376"
        );
        assert_eq!(m(json!({"Driver": {}})).url(), None);
    }

    #[test]
    fn cert_refs_cover_legacy_names() {
        let m = Machine::new(
            "m".into(),
            PathBuf::new(),
            json!({"HostOptions": {"AuthOptions": {"PrivateKeyPath": "/s/certs/ca-key.pem", "CaPrivateKeyPath": ""}}}),
        );
        assert_eq!(
            m.cert_ref(CA_KEY).unwrap(),
            (
                "HostOptions.AuthOptions.PrivateKeyPath".to_string(),
                "/s/certs/ca-key.pem"
            )
        );
        let null_auth = Machine::new(
            "m".into(),
            PathBuf::new(),
            json!({"HostOptions": {"AuthOptions": null}}),
        );
        assert_eq!(null_auth.cert_ref(CA_CERT), None);
    }
}
