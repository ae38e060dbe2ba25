//! Import: bundle -> plan -> store, as a transaction.
//!
//! 1. The manifest is read and validated before any byte is written.
//! 2. [`plan`] (pure) decides target names, where each cert set goes and every path mapping,
//!    and lists *all* conflicts at once.
//! 3. Files are extracted into `<store>/.mbundle-staging-*` (0700, same file system), each
//!    checked against its declared size and sha256 by the reader.
//! 4. config.json files are rewritten in staging.
//! 5. A journal of the renames is written into staging, then the renames are done: cert
//!    directories first, machines last (a machine is visible to docker-machine only once its
//!    directory is in place, and by then everything it points at is there).
//!
//! Any failure before step 5 deletes staging: the store is byte-for-byte as before. A failure
//! during step 5 is rolled back in process. A run killed during step 5 leaves the journal; the
//! next run of mbundle on the store rolls it forward ([`recover`]), so the store ends either as
//! before or fully imported. A run killed earlier leaves staging without a journal, which the
//! next run removes.
//!
//! Cert sets never clobber: an existing file is never replaced, under any flag.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::format::bundle::{read_bundle, Visitor, IO_BUFFER};
use crate::format::crypto::DecryptWith;
use crate::format::manifest::{check_machine_name, CertRole, FileEntry, Manifest};
use crate::fs::lock::lock_store;
use crate::fs::{mkdir_private, set_file_mode, set_mode, sync_dir, umask_keeps};
use crate::progress::Progress;
use crate::store::paths::ForeignPath;
use crate::store::rewrite::{rewrite_config, to_docker_machine_json, Change, PathMap, Untouched};

use crate::store::{store_mode, IMPORTED_CERTS, STAGING_PREFIX};
const JOURNAL: &str = "journal.json";
const MAX_CONFIG: u64 = 4 << 20;

/// Drivers whose VM is registered under the machine's name in the hypervisor: renaming the
/// directory would orphan the VM.
pub const VM_NAMED_DRIVERS: &[&str] = &["virtualbox", "vmwarefusion", "hyperv", "parallels"];

/// Drivers built into docker-machine 0.16; any other needs `docker-machine-driver-<name>`.
pub const BUILTIN_DRIVERS: &[&str] = &[
    "amazonec2",
    "azure",
    "digitalocean",
    "exoscale",
    "generic",
    "google",
    "hyperv",
    "none",
    "openstack",
    "rackspace",
    "softlayer",
    "virtualbox",
    "vmwarefusion",
    "vmwarevcloudair",
    "vmwarevsphere",
];

/// config.json fields naming files or directories docker-machine creates or overwrites.
const WRITTEN_FIELDS: &[&str] = &[
    "/HostOptions/AuthOptions/CertDir",
    "/HostOptions/AuthOptions/CaCertPath",
    "/HostOptions/AuthOptions/CaPrivateKeyPath",
    "/HostOptions/AuthOptions/PrivateKeyPath",
    "/HostOptions/AuthOptions/ClientCertPath",
    "/HostOptions/AuthOptions/ClientKeyPath",
    "/HostOptions/AuthOptions/ServerCertPath",
    "/HostOptions/AuthOptions/ServerKeyPath",
    "/HostOptions/AuthOptions/StorePath",
    "/Driver/StorePath",
    "/Driver/SSHKeyPath",
    "/StorePath",
];

/// Stops between entries once SIGINT/SIGTERM/SIGHUP arrived ([`crate::signals`]). The commit
/// phase never calls it.
fn check_interrupt() -> Result<()> {
    crate::signals::check("nothing was changed")
}

/// What the user asked for.
#[derive(Clone, Debug, Default)]
pub struct ImportRequest {
    /// `--rename OLD=NEW`, in order.
    pub renames: Vec<(String, String)>,
    /// `--docker-context`: the docker CLI config directory contexts will be written to.
    pub docker_context: Option<PathBuf>,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

/// Parses `OLD=NEW`.
pub fn parse_rename(s: &str) -> Result<(String, String)> {
    let Some((old, new)) = s.split_once('=') else {
        return Err(Error::usage(
            format!("--rename {s:?} is not OLD=NEW"),
            "e.g. --rename web=web-old",
        ));
    };
    for n in [old, new] {
        check_machine_name(n).map_err(|e| {
            Error::usage(
                format!("--rename {s:?}: {n:?} is not a machine name: {e}"),
                "e.g. --rename web=web-old",
            )
        })?;
    }
    Ok((old.to_string(), new.to_string()))
}

/// What the target store holds that the plan depends on.
#[derive(Clone, Debug, Default)]
pub struct TargetState {
    /// The store root (absolute).
    pub root: PathBuf,
    /// Names present under `machines/` (any kind of entry).
    pub machines: BTreeSet<String>,
    /// sha256 of the cert files that exist at places a set could go (relative paths);
    /// `None` for something that is not a regular file.
    pub cert_files: BTreeMap<String, Option<String>>,
    /// For each existing machine, the sha256 of its `ca.pem` copy (None if it has none).
    pub machine_cas: BTreeMap<String, Option<String>>,
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).ctx("read", path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).ctx("read", path)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Looks at the store for what the plan needs: existing machine names and the cert files at
/// every place the bundle's sets could go.
pub fn snapshot(root: &Path, manifest: &Manifest) -> Result<TargetState> {
    let mut state = TargetState {
        root: root.to_path_buf(),
        ..Default::default()
    };
    let machines = root.join("machines");
    match fs::read_dir(&machines) {
        Ok(rd) => {
            for e in rd {
                let e = e.ctx("list", &machines)?;
                let name = e.file_name().to_string_lossy().into_owned();
                let ca = e.path().join("ca.pem");
                let sha = if ca.is_file() {
                    Some(sha256_file(&ca)?)
                } else {
                    None
                };
                state.machine_cas.insert(name.clone(), sha);
                state.machines.insert(name);
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("list", machines, e)),
    }
    let mut rels = Vec::new();
    for set in &manifest.certsets {
        for m in crate::store::CERT_MEMBERS {
            rels.push(format!("certs/{m}"));
            rels.push(format!("{IMPORTED_CERTS}/{}/{m}", set.id));
        }
    }
    for rel in rels {
        let p = root.join(&rel);
        match fs::symlink_metadata(&p) {
            Ok(md) if md.is_file() => {
                state.cert_files.insert(rel, Some(sha256_file(&p)?));
            }
            Ok(_) => {
                state.cert_files.insert(rel, None);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("stat", p, e)),
        }
    }
    Ok(state)
}

/// Where a cert set goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Byte-identical to the store's `certs/`: machines point there, nothing is written.
    ReuseDefault,
    /// The store had no `certs/ca.pem`: the bundle's default set becomes `certs/`.
    NewDefault,
    /// `imported-certs/<id>/`, beside `certs/`.
    Imported,
}

/// The plan for one cert set.
#[derive(Clone, Debug)]
pub struct SetPlan {
    /// Its id.
    pub id: String,
    /// The CA's name, for the report.
    pub ca_name: Option<String>,
    /// Where it goes.
    pub placement: Placement,
    /// The directory, relative to the store root.
    pub dir_rel: String,
    /// Members to write.
    pub writes: Vec<String>,
    /// Members already there with the same bytes.
    pub identical: Vec<String>,
}

/// The plan for one machine.
#[derive(Clone, Debug)]
pub struct MachinePlan {
    /// Name in the bundle.
    pub source: String,
    /// Name in the store.
    pub target: String,
    /// Its driver.
    pub driver: String,
    /// Its cert set.
    pub certset: Option<String>,
    /// How its config.json paths move.
    pub map: PathMap,
}

impl MachinePlan {
    /// Parses the machine's config.json from the bundle and rewrites it for its new home:
    /// every path through [`MachinePlan::map`], and its name when renamed.
    ///
    /// Refuses a result whose fields docker-machine writes to (certificates on
    /// regenerate-certs, the CA on create) point outside the store at `root`: a bundle
    /// naming ~/.bashrc or /etc/passwd there would have docker-machine overwrite it later.
    fn rewrite(
        &self,
        text: &[u8],
        root: &ForeignPath,
    ) -> Result<(serde_json::Value, crate::store::rewrite::Outcome)> {
        let bad = |reason: String| {
            Error::Corrupt(format!(
                "machine {}: config.json in the bundle {reason}",
                self.source
            ))
        };
        let mut config: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| bad(format!("is not valid JSON ({e})")))?;
        if !config.is_object() {
            return Err(bad("is not a JSON object".into()));
        }
        // Values that would later become shell words or host names (env, the scp/ssh lines
        // of regenerate-certs, hints) must be what docker-machine writes.
        let problems = crate::store::fields::problems(&config);
        if !problems.is_empty() {
            return Err(Error::UnsafeConfig {
                machine: self.source.clone(),
                problems: problems.iter().map(ToString::to_string).collect(),
            });
        }
        let rename =
            (self.source != self.target).then_some((self.source.as_str(), self.target.as_str()));
        let outcome = rewrite_config(&mut config, &self.map, rename);
        for pointer in WRITTEN_FIELDS {
            let Some(s) = config.pointer(pointer).and_then(|v| v.as_str()) else {
                continue;
            };
            if s.is_empty() {
                continue;
            }
            let inside = ForeignPath::parse(s).is_some_and(|p| p.strip_prefix(root).is_some());
            if !inside {
                return Err(Error::Corrupt(format!(
                    "machine {}: config.json points {} at {s:?}, outside the store; refusing a bundle that would have docker-machine write there",
                    self.source,
                    pointer[1..].replace('/', ".")
                )));
            }
        }
        Ok((config, outcome))
    }
}

/// The store root as the kind of absolute path config.json files hold.
fn root_path(root: &Path) -> Result<ForeignPath> {
    let text = root.to_str().ok_or_else(|| {
        Error::usage(
            format!("the store path {} is not valid UTF-8", root.display()),
            "use a store path that is valid UTF-8",
        )
    })?;
    ForeignPath::parse(text).ok_or_else(|| store_path_unusable(text))
}

/// Why a store path cannot be written into config.json files, said as it is.
fn store_path_unusable(text: &str) -> Error {
    let shown = crate::store::fields::shown(text);
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Error::usage(
            format!("the store path {shown} contains the control character {c:?}, which config.json paths (and the shell lines made from them) cannot carry"),
            "choose a store directory whose path has no newline or other control character",
        );
    }
    if text.len() > 4096 {
        return Error::usage(
            format!(
                "the store path is {} bytes long, more than a path can be",
                text.len()
            ),
            "choose a shorter store path",
        );
    }
    Error::usage(
        format!("the store path {shown} is not absolute"),
        "pass an absolute -s DIR",
    )
}

/// What happens to one archived file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileTarget {
    /// Written at this path relative to the store root (through staging).
    Write(String),
    /// Already in the store with the same bytes.
    Identical,
}

/// Everything decided before a byte is written.
#[derive(Clone, Debug)]
pub struct ImportPlan {
    /// The store root.
    pub root: PathBuf,
    /// Machines, in bundle order.
    pub machines: Vec<MachinePlan>,
    /// Cert sets, in bundle order.
    pub sets: Vec<SetPlan>,
    /// Archive path -> fate.
    pub files: HashMap<String, FileTarget>,
    /// Things to tell the user.
    pub warnings: Vec<String>,
}

/// Decides everything from the manifest and the store's state. Pure. On conflicts returns
/// [`Error::Conflicts`] listing all of them.
pub fn plan(manifest: &Manifest, state: &TargetState, req: &ImportRequest) -> Result<ImportPlan> {
    let root_text = state.root.to_str().ok_or_else(|| {
        Error::usage(
            format!("the store path {} is not valid UTF-8", state.root.display()),
            "use a store path that is valid UTF-8",
        )
    })?;
    let root_fp = ForeignPath::parse(root_text).ok_or_else(|| store_path_unusable(root_text))?;

    // Renames.
    let mut renames: BTreeMap<&str, &str> = BTreeMap::new();
    for (old, new) in &req.renames {
        let Some(m) = manifest.machines.iter().find(|m| &m.name == old) else {
            let names: Vec<&str> = manifest.machines.iter().map(|m| m.name.as_str()).collect();
            return Err(Error::usage(
                format!("--rename {old}={new}: the bundle has no machine named {old}"),
                format!("machines in the bundle: {}", names.join(", ")),
            ));
        };
        if renames.insert(old, new).is_some() {
            return Err(Error::usage(
                format!("--rename {old}= is given twice"),
                "rename each machine once",
            ));
        }
        if old != new && VM_NAMED_DRIVERS.contains(&m.driver.as_str()) {
            return Err(Error::usage(
                format!(
                    "cannot rename {old}: its {} VM is registered under the name {old:?} in the hypervisor, and a renamed machine would no longer find it",
                    m.driver
                ),
                format!("import it under its own name (move the existing machine {old} aside first, e.g. with docker-machine rm)"),
            ));
        }
    }

    let mut conflicts = Vec::new();
    let mut warnings = Vec::new();
    let mut files = HashMap::new();

    // Cert sets.
    let certs_identical = |set: &crate::format::manifest::CertSetEntry| {
        set.members.iter().all(|mem| {
            let sha = manifest.file(&mem.path).map(|f| f.sha256.as_str());
            state.cert_files.get(&format!("certs/{}", mem.name)) == Some(&sha.map(str::to_string))
        })
    };
    let no_default_ca = !state.cert_files.contains_key("certs/ca.pem");
    // Existing machines' config.json files name certs/ca.pem too: the set may become certs/
    // only if it is the CA they already carry a copy of (a restore after losing certs/), or
    // if there are none (a fresh laptop). Otherwise it would silently change their CA.
    let adoptable = |set: &crate::format::manifest::CertSetEntry| {
        let ca_sha = set
            .members
            .iter()
            .find(|m| m.name == crate::store::CA_CERT)
            .and_then(|m| manifest.file(&m.path))
            .map(|f| f.sha256.clone());
        state
            .machine_cas
            .values()
            .all(|have| have.is_some() && *have == ca_sha)
    };
    let mut default_taken = false;
    let mut sets = Vec::new();
    for set in &manifest.certsets {
        let compatible = |dir: &str| {
            set.members.iter().all(|mem| {
                match state.cert_files.get(&format!("{dir}/{}", mem.name)) {
                    None => true,
                    Some(have) => {
                        have.as_deref() == manifest.file(&mem.path).map(|f| f.sha256.as_str())
                    }
                }
            })
        };
        let (placement, dir_rel) = if certs_identical(set) {
            (Placement::ReuseDefault, "certs".to_string())
        } else if set.role == CertRole::Default
            && no_default_ca
            && !default_taken
            && compatible("certs")
            && adoptable(set)
        {
            default_taken = true;
            (Placement::NewDefault, "certs".to_string())
        } else {
            (Placement::Imported, format!("{IMPORTED_CERTS}/{}", set.id))
        };
        let mut writes = Vec::new();
        let mut identical = Vec::new();
        for mem in &set.members {
            let rel = format!("{dir_rel}/{}", mem.name);
            let declared = manifest.file(&mem.path).map(|f| f.sha256.clone());
            match state.cert_files.get(&rel) {
                None => {
                    writes.push(mem.name.clone());
                    files.insert(mem.path.clone(), FileTarget::Write(rel));
                }
                Some(have) if *have == declared => {
                    identical.push(mem.name.clone());
                    files.insert(mem.path.clone(), FileTarget::Identical);
                }
                Some(_) => conflicts.push(format!(
                    "{} exists with other content; mbundle never replaces an existing file",
                    state.root.join(&rel).display()
                )),
            }
        }
        if let Some(t) = set.not_after.as_deref().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        }) {
            let now = time::OffsetDateTime::now_utc();
            if (t - now).whole_days() < 90 {
                let verb = if t <= now { "expired" } else { "expires" };
                let flag = if dir_rel == "certs" {
                    String::new()
                } else {
                    format!(" --cert-set {}", set.id)
                };
                warnings.push(format!(
                    "cert set {} (CA {:?}): the CA certificate {verb} on {}; after importing, renew it with the same key: mbundle renew-ca{flag}",
                    set.id,
                    set.ca_name.as_deref().unwrap_or("?"),
                    &crate::pki::certs::rfc3339(t)[..10]
                ));
            }
        }
        sets.push(SetPlan {
            id: set.id.clone(),
            ca_name: set.ca_name.clone(),
            placement,
            dir_rel,
            writes,
            identical,
        });
    }

    // Machines.
    let mut targets = BTreeSet::new();
    let mut machines = Vec::new();
    for m in &manifest.machines {
        let target = renames
            .get(m.name.as_str())
            .copied()
            .unwrap_or(&m.name)
            .to_string();
        if !targets.insert(target.clone()) {
            conflicts.push(format!("two machines would both be named {target}"));
        }
        if state.machines.contains(&target) {
            let fix = if VM_NAMED_DRIVERS.contains(&m.driver.as_str()) {
                format!(
                    "a {} machine keeps its name: move the existing {target} aside first",
                    m.driver
                )
            } else {
                format!(
                    "import it under another name with --rename {}={target}-2",
                    m.name
                )
            };
            conflicts.push(format!(
                "machine {target} already exists in {} ({fix})",
                state.root.display()
            ));
        }
        if let Some(cfg) = &req.docker_context {
            if let Err(e) = crate::store::context::check_context_name(&target) {
                conflicts.push(format!(
                    "machine {target}: {e}; import without --docker-context and run: mbundle context {target} --context-name NAME"
                ));
            } else if crate::store::context::context_exists(cfg, &target) {
                conflicts.push(format!(
                    "docker context {target} already exists in {} (remove it with docker context rm {target}, or import without --docker-context)",
                    cfg.display()
                ));
            }
        }
        let prefix = format!("machines/{}/", m.name);
        for f in &m.files {
            let rest = &f[prefix.len()..];
            files.insert(
                f.clone(),
                FileTarget::Write(format!("machines/{target}/{rest}")),
            );
        }
        // The path map: member files exactly, then the machine directory, the cert
        // directories, and the store root as prefixes.
        let mut map = PathMap::new();
        let set = m.certset.as_ref().and_then(|id| {
            manifest
                .certsets
                .iter()
                .zip(&sets)
                .find(|(s, _)| &s.id == id)
        });
        if let Some((set, sp)) = set {
            let dir = root_fp.join(&sp.dir_rel.split('/').collect::<Vec<_>>());
            for mem in &set.members {
                for src in &mem.sources {
                    if let Some(from) = ForeignPath::parse(src) {
                        map.exact(from.clone(), dir.join(&[mem.name.as_str()]));
                        if let Some(parent) = from.parent() {
                            map.prefix(parent, dir.clone());
                        }
                    }
                }
            }
        }
        if let Some(old_root) = ForeignPath::parse(&m.store) {
            map.prefix(
                old_root.join(&["machines", m.name.as_str()]),
                root_fp.join(&["machines", target.as_str()]),
            );
            map.prefix(old_root, root_fp.clone());
        } else {
            warnings.push(format!(
                "machine {}: the bundle does not say where its store was ({:?}); only cert paths are rewritten",
                m.name, m.store
            ));
        }
        if !BUILTIN_DRIVERS.contains(&m.driver.as_str()) {
            let plugin = format!("docker-machine-driver-{}", m.driver);
            if !on_path(&plugin) {
                warnings.push(format!(
                    "machine {target} uses the {} driver, but {plugin} is not on PATH: docker-machine will need it to manage the machine (mbundle env works without it)",
                    m.driver
                ));
            }
        }
        machines.push(MachinePlan {
            source: m.name.clone(),
            target,
            driver: m.driver.clone(),
            certset: m.certset.clone(),
            map,
        });
    }

    if !conflicts.is_empty() {
        return Err(Error::Conflicts(conflicts));
    }
    Ok(ImportPlan {
        root: state.root.clone(),
        machines,
        sets,
        files,
        warnings,
    })
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Writes files into staging as the reader hands them over.
/// Plans when the manifest arrives, then writes files into staging as the reader hands
/// them over.
struct Stager<'a> {
    root: &'a Path,
    req: &'a ImportRequest,
    plan: Option<ImportPlan>,
    staging: &'a Path,
    made_dirs: BTreeSet<PathBuf>,
    progress: Progress,
    /// Files and bytes written.
    written: (u64, u64),
    /// Read buffer, reused for every file.
    buf: Vec<u8>,
}

impl Stager<'_> {
    fn ensure_dir(&mut self, dir: &Path) -> Result<()> {
        if dir == self.staging || self.made_dirs.contains(dir) {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            self.ensure_dir(parent)?;
        }
        // Staging is ours and fresh: only directories made here exist in it.
        mkdir_private(dir)?;
        self.made_dirs.insert(dir.to_path_buf());
        Ok(())
    }
}

impl Visitor for Stager<'_> {
    fn manifest(&mut self, manifest: &Manifest) -> Result<()> {
        crate::failpoint("plan")?;
        let state = snapshot(self.root, manifest)?;
        self.plan = Some(plan(manifest, &state, self.req)?);
        check_free_space(self.root, manifest)?;
        self.progress = Progress::bytes(manifest.total_size(), "importing", self.req.progress);
        Ok(())
    }

    fn file(&mut self, entry: &FileEntry, data: &mut dyn Read) -> Result<()> {
        crate::failpoint("stage-file")?;
        check_interrupt()?;
        let Some(plan) = self.plan.as_ref() else {
            return Err(Error::Corrupt("a file came before the manifest".into()));
        };
        let Some(FileTarget::Write(rel)) = plan.files.get(&entry.path) else {
            return Ok(());
        };
        let rel = rel.clone();
        let dest = self.staging.join(&rel);
        if let Some(parent) = dest.parent() {
            self.ensure_dir(parent)?;
        }
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        let mode = store_mode(name);
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        let file = opts.open(&dest).ctx("create", &dest)?;
        if !umask_keeps(mode) {
            set_file_mode(&file, &dest, mode)?;
        }
        let mut w = io::BufWriter::with_capacity(IO_BUFFER, file);
        // Chunk by chunk: a read error is the bundle's fault, a write error the disk's.
        self.buf.resize(IO_BUFFER, 0);
        loop {
            let n = data
                .read(&mut self.buf)
                .map_err(|e| Error::Corrupt(format!("{}: {e}", entry.path)))?;
            if n == 0 {
                break;
            }
            w.write_all(&self.buf[..n]).ctx("write", &dest)?;
            self.progress.inc(n as u64);
            self.written.1 += n as u64;
            crate::failpoint("stage-chunk")?;
            check_interrupt()?;
        }
        let file = w
            .into_inner()
            .map_err(|e| Error::io("write", &dest, e.into_error()))?;
        // Made durable all at once by sync_staged() before the journal is written.
        drop(file);
        self.written.0 += 1;
        Ok(())
    }
}

/// One step of the commit, relative paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Step {
    /// Create this directory of the store (0700).
    Mkdir(String),
    /// Move staging/from to store/to.
    Rename { from: String, to: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Journal {
    version: u32,
    machines: Vec<String>,
    steps: Vec<Step>,
}

/// What an import did, for the report.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// (bundle name, store name, directory).
    pub machines: Vec<(String, String, PathBuf)>,
    /// (set id, CA name, placement, directory, members written).
    pub sets: Vec<(String, Option<String>, Placement, PathBuf, usize)>,
    /// (machine, changes).
    pub changes: Vec<(String, Vec<Change>)>,
    /// (machine, untouched paths pointing outside anything carried).
    pub untouched: Vec<(String, Vec<Untouched>)>,
    /// (machine, field, path) of paths that do not exist after import.
    pub missing: Vec<(String, String, String)>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Leftovers found and dealt with before importing.
    pub recovered: Vec<String>,
    /// Files written into the store.
    pub files_written: u64,
    /// Bytes written into the store.
    pub bytes_written: u64,
    /// Wall time.
    pub seconds: f64,
}

impl Report {
    /// Adds one machine's rewrite outcome.
    fn record(&mut self, machine: &str, outcome: crate::store::rewrite::Outcome) {
        self.changes.push((machine.to_string(), outcome.changes));
        if !outcome.untouched.is_empty() {
            self.untouched
                .push((machine.to_string(), outcome.untouched));
        }
    }
}

/// The bytes staging `manifest` takes on disk: every file rounded up to whole 4 KiB blocks,
/// plus room for directories and the journal.
pub fn space_needed(manifest: &Manifest) -> u64 {
    manifest
        .files
        .iter()
        .map(|f| f.size.div_ceil(4096).saturating_mul(4096))
        .fold(64 << 10, u64::saturating_add)
}

/// Refuses, before anything is staged, a bundle whose files do not fit in the free space of
/// the store's file system (a manifest can declare terabytes; finding out by filling the disk
/// would hurt everything else on it).
fn check_free_space(root: &Path, manifest: &Manifest) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        let needed = space_needed(manifest);
        if let Ok(st) = rustix::fs::statvfs(root) {
            let available = st.f_bavail.saturating_mul(st.f_frsize);
            if needed > available {
                return Err(Error::NoSpace {
                    path: root.to_path_buf(),
                    needed,
                    available,
                });
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (root, manifest);
    Ok(())
}

/// Finishes or removes what an interrupted import left in the store: a staging directory with
/// a journal is rolled forward (the commit had begun), one without is deleted (nothing of it
/// reached the store). Call with the store lock held. Returns what was done, for the user.
pub fn recover(root: &Path) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let rd = match fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(done),
        Err(e) => return Err(Error::io("list", root, e)),
    };
    let mut leftovers = Vec::new();
    for e in rd {
        let e = e.ctx("list", root)?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(STAGING_PREFIX) && e.file_type().ctx("stat", e.path())?.is_dir() {
            leftovers.push(e.path());
        }
    }
    leftovers.sort();
    for staging in leftovers {
        let journal_path = staging.join(JOURNAL);
        if journal_path.is_file() {
            let bytes = fs::read(&journal_path).ctx("read", &journal_path)?;
            let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| {
                Error::Corrupt(format!(
                    "the journal {} is unreadable ({e}); move that directory away by hand",
                    journal_path.display()
                ))
            })?;
            let mut skipped = Vec::new();
            for step in &journal.steps {
                match step {
                    Step::Mkdir(rel) => {
                        let p = root.join(rel);
                        if !p.exists() {
                            mkdir_private(&p)?;
                        }
                    }
                    Step::Rename { from, to } => {
                        let src = staging.join(from);
                        let dst = root.join(to);
                        if src.exists() {
                            match crate::fs::rename_noreplace(&src, &dst) {
                                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                                    skipped.push(to.clone());
                                }
                                r => r.ctx("rename into", &dst)?,
                            }
                        }
                    }
                }
            }
            sync_dir(root)?;
            if !skipped.is_empty() {
                return Err(Error::Corrupt(format!(
                    "an interrupted import in {} could not be finished: {} appeared meanwhile; nothing was replaced",
                    staging.display(),
                    skipped.join(", ")
                )));
            }
            fs::remove_dir_all(&staging).ctx("remove", &staging)?;
            done.push(format!(
                "finished an import that was interrupted while committing (machines: {})",
                journal.machines.join(", ")
            ));
        } else {
            fs::remove_dir_all(&staging).ctx("remove", &staging)?;
            done.push(format!(
                "removed {}, left by an import that was interrupted before it changed anything",
                staging.display()
            ));
        }
    }
    Ok(done)
}

/// Rewrites every staged config.json and checks the result. Returns the report parts.
fn rewrite_staged(plan: &ImportPlan, staging: &Path, report: &mut Report) -> Result<()> {
    let root_fp = root_path(&plan.root)?;
    for m in &plan.machines {
        crate::failpoint("rewrite-machine")?;
        let path = staging.join("machines").join(&m.target).join("config.json");
        let bad = |reason: String| {
            Error::Corrupt(format!(
                "machine {}: config.json in the bundle {reason}",
                m.source
            ))
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|_| bad("is missing".into()))?;
        let len = file.metadata().ctx("stat", &path)?.len();
        if len > MAX_CONFIG {
            return Err(bad("is too large".into()));
        }
        let mut text = Vec::with_capacity(len as usize + 1);
        (&file)
            .take(MAX_CONFIG + 1)
            .read_to_end(&mut text)
            .ctx("read", &path)?;
        let (config, outcome) = m.rewrite(&text, &root_fp)?;
        let names_its_ca =
            crate::store::Machine::new(m.source.clone(), PathBuf::new(), config.clone())
                .cert_ref(crate::store::CA_CERT)
                .is_some();
        let in_certs = m
            .certset
            .as_ref()
            .and_then(|id| plan.sets.iter().find(|s| &s.id == id))
            .is_some_and(|s| s.dir_rel == "certs");
        if !names_its_ca && m.certset.is_some() && !in_certs {
            report.warnings.push(format!(
                "machine {}: its config.json names no certificate paths (AuthOptions is empty), so docker-machine will use this store's certs/, which is not the CA that issued it; `mbundle env {}` uses the machine's own copies",
                m.target, m.target
            ));
        }
        let new_text = to_docker_machine_json(&config, &text);
        // Overwritten in place: staging is ours, and nothing in it counts until the journal
        // is written after sync_staged(); a crash here leaves staging to be discarded.
        file.seek(io::SeekFrom::Start(0)).ctx("write", &path)?;
        file.set_len(0).ctx("write", &path)?;
        file.write_all(&new_text).ctx("write", &path)?;
        drop(file);
        // The result must parse, and every path it now names inside the store must exist
        // (in staging, or already in the store).
        let reparsed: serde_json::Value = serde_json::from_slice(&new_text)
            .map_err(|e| Error::Corrupt(format!("rewritten config.json does not parse: {e}")))?;
        for (field, s) in crate::store::string_fields(&reparsed) {
            let key = field.rsplit('.').next().unwrap_or(&field);
            if crate::store::rewrite::never_rewritten(key) {
                continue;
            }
            let Some(p) = ForeignPath::parse(s) else {
                continue;
            };
            let Some(rest) = p.strip_prefix(&root_fp) else {
                continue;
            };
            let Some(in_staging) = crate::store::paths::local_join(staging, rest) else {
                return Err(Error::Corrupt(format!(
                    "rewritten path {s} is not a plain path"
                )));
            };
            let in_store = crate::store::paths::local_join(&plan.root, rest).unwrap_or_default();
            if !in_staging.exists() && !in_store.exists() {
                report
                    .missing
                    .push((m.target.clone(), field.clone(), s.to_string()));
            }
        }
        report.record(&m.target, outcome);
    }
    Ok(())
}

/// The commit steps: cert directories (or single files) first, machines last.
fn commit_steps(plan: &ImportPlan, staging: &Path) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut mkdirs: Vec<String> = Vec::new();
    let mut need_dir = |rel: &str, steps: &mut Vec<Step>| {
        let mut acc = String::new();
        for comp in rel.split('/') {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(comp);
            if !plan.root.join(&acc).exists() && !mkdirs.contains(&acc) {
                mkdirs.push(acc.clone());
                steps.push(Step::Mkdir(acc.clone()));
            }
        }
    };
    for set in &plan.sets {
        if set.writes.is_empty() {
            continue;
        }
        let dir = plan.root.join(&set.dir_rel);
        if dir.exists() {
            for name in &set.writes {
                let rel = format!("{}/{name}", set.dir_rel);
                steps.push(Step::Rename {
                    from: rel.clone(),
                    to: rel,
                });
            }
        } else {
            if let Some((parent, _)) = set.dir_rel.rsplit_once('/') {
                need_dir(parent, &mut steps);
            }
            steps.push(Step::Rename {
                from: set.dir_rel.clone(),
                to: set.dir_rel.clone(),
            });
        }
    }
    for m in &plan.machines {
        if staging.join("machines").join(&m.target).exists() {
            need_dir("machines", &mut steps);
            let rel = format!("machines/{}", m.target);
            steps.push(Step::Rename {
                from: rel.clone(),
                to: rel,
            });
        }
    }
    steps
}

/// Makes everything staged durable before the journal says it may be committed: one
/// `syncfs` of the store's file system on Linux, an fsync of every file and directory
/// elsewhere.
fn sync_staged(staging: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        let dir = File::open(staging).ctx("open", staging)?;
        rustix::fs::syncfs(&dir).map_err(|e| Error::io("sync", staging, io::Error::from(e)))
    }
    #[cfg(not(target_os = "linux"))]
    {
        for entry in walkdir::WalkDir::new(staging) {
            let entry = entry.map_err(|e| Error::io("sync", staging, io::Error::other(e)))?;
            File::open(entry.path())
                .and_then(|f| f.sync_all())
                .ctx("sync", entry.path())?;
        }
        Ok(())
    }
}

fn write_journal(staging: &Path, journal: &Journal) -> Result<()> {
    let tmp = staging.join("journal.json.new");
    let path = staging.join(JOURNAL);
    let bytes = serde_json::to_vec_pretty(journal)
        .map_err(|e| Error::io("write", &tmp, io::Error::other(e)))?;
    let mut f = File::create(&tmp).ctx("create", &tmp)?;
    f.write_all(&bytes).ctx("write", &tmp)?;
    f.sync_all().ctx("sync", &tmp)?;
    fs::rename(&tmp, &path).ctx("rename into", &path)?;
    sync_dir(staging)
}

/// Runs the commit; on error undoes what it did, in reverse.
fn commit(plan: &ImportPlan, staging: &Path, steps: &[Step]) -> Result<()> {
    let mut done: Vec<&Step> = Vec::new();
    let result = (|| -> Result<()> {
        for step in steps {
            crate::failpoint("commit-step")?;
            match step {
                Step::Mkdir(rel) => mkdir_private(&plan.root.join(rel))?,
                Step::Rename { from, to } => {
                    let dst = plan.root.join(to);
                    match crate::fs::rename_noreplace(&staging.join(from), &dst) {
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                            return Err(Error::Conflicts(vec![format!(
                                "{} appeared while importing; nothing was replaced",
                                dst.display()
                            )]));
                        }
                        r => r.ctx("rename into", &dst)?,
                    }
                }
            }
            done.push(step);
        }
        Ok(())
    })();
    if let Err(e) = result {
        for step in done.iter().rev() {
            match step {
                Step::Mkdir(rel) => {
                    let _ = fs::remove_dir(plan.root.join(rel));
                }
                Step::Rename { from, to } => {
                    let _ = fs::rename(plan.root.join(to), staging.join(from));
                }
            }
        }
        return Err(e);
    }
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    dirs.insert(plan.root.clone());
    for step in steps {
        if let Step::Rename { to, .. } = step {
            if let Some(parent) = plan.root.join(to).parent() {
                dirs.insert(parent.to_path_buf());
            }
        }
    }
    for d in dirs {
        sync_dir(&d)?;
    }
    Ok(())
}

/// Imports a bundle into the store at `root` (created if missing). Reads `input` once,
/// streaming. On any error the store is as it was.
pub fn run<R: Read>(
    root: &Path,
    input: R,
    keys: &DecryptWith,
    what: &str,
    req: &ImportRequest,
) -> Result<Report> {
    // A fresh laptop may not even have ~/.docker: create what is missing (0700), and remove
    // exactly that again if the import fails.
    let mut created = Vec::new();
    let mut p = root.to_path_buf();
    while !p.exists() {
        created.push(p.clone());
        match p.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => p = parent.to_path_buf(),
            _ => break,
        }
    }
    for dir in created.iter().rev() {
        if let Err(e) = mkdir_private(dir) {
            remove_created(&created);
            return Err(e);
        }
    }
    let result = run_locked(root, input, keys, what, req);
    if result.is_err() {
        remove_created(&created);
    }
    result
}

fn remove_created(created: &[PathBuf]) {
    for dir in created {
        let _ = fs::remove_dir(dir);
    }
}

fn run_locked<R: Read>(
    root: &Path,
    input: R,
    keys: &DecryptWith,
    what: &str,
    req: &ImportRequest,
) -> Result<Report> {
    let lock = lock_store(root)?;
    let mut report = Report {
        recovered: recover(root)?,
        ..Default::default()
    };

    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(root)
        .ctx("create a staging directory in", root)?;
    set_mode(staging.path(), 0o700)?;

    let start = std::time::Instant::now();
    let mut planner = Stager {
        root,
        req,
        plan: None,
        staging: staging.path(),
        made_dirs: BTreeSet::new(),
        progress: Progress::off(),
        written: (0, 0),
        buf: Vec::new(),
    };
    let read = read_bundle(input, keys, what, &mut planner);
    planner.progress.finish();
    read?;
    report.files_written = planner.written.0;
    report.bytes_written = planner.written.1;
    let plan = planner
        .plan
        .ok_or_else(|| Error::Corrupt("no manifest".into()))?;
    check_interrupt()?;
    crate::failpoint("rewrite")?;
    rewrite_staged(&plan, staging.path(), &mut report)?;
    check_interrupt()?;

    let steps = commit_steps(&plan, staging.path());
    let journal = Journal {
        version: 1,
        machines: plan.machines.iter().map(|m| m.target.clone()).collect(),
        steps: steps.clone(),
    };
    crate::failpoint("journal")?;
    sync_staged(staging.path())?;
    write_journal(staging.path(), &journal)?;
    // From here on, finishing is the only safe direction: a signal no longer stops us.
    commit(&plan, staging.path(), &steps).inspect_err(|_| {
        let _ = fs::remove_file(staging.path().join(JOURNAL));
    })?;
    // Committed. What is left in staging is empty directories and the journal.
    let staging_path = staging.keep();
    if let Err(e) = fs::remove_dir_all(&staging_path) {
        report.warnings.push(format!(
            "the import is complete, but {} could not be removed ({e}); the next mbundle run removes it",
            staging_path.display()
        ));
    }
    drop(lock);

    report_plan(&plan, &mut report);
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Copies the plan's machines, cert placements and warnings into the report.
fn report_plan(plan: &ImportPlan, report: &mut Report) {
    for m in &plan.machines {
        report.machines.push((
            m.source.clone(),
            m.target.clone(),
            plan.root.join("machines").join(&m.target),
        ));
    }
    for s in &plan.sets {
        report.sets.push((
            s.id.clone(),
            s.ca_name.clone(),
            s.placement,
            plan.root.join(&s.dir_rel),
            s.writes.len(),
        ));
    }
    report.warnings.extend(plan.warnings.iter().cloned());
}

/// What `--dry-run` shows: the plan and every rewrite, computed from the bundle without
/// writing anything.
pub fn dry_run<R: Read>(
    root: &Path,
    input: R,
    keys: &DecryptWith,
    what: &str,
    req: &ImportRequest,
) -> Result<Report> {
    struct Collect<'a> {
        root: &'a Path,
        req: &'a ImportRequest,
        plan: Option<ImportPlan>,
        configs: BTreeMap<String, Vec<u8>>,
    }
    impl Visitor for Collect<'_> {
        fn manifest(&mut self, manifest: &Manifest) -> Result<()> {
            let state = if self.root.exists() {
                snapshot(self.root, manifest)?
            } else {
                TargetState {
                    root: self.root.to_path_buf(),
                    ..Default::default()
                }
            };
            self.plan = Some(plan(manifest, &state, self.req)?);
            // The store may not exist yet: its nearest existing parent tells the file system.
            let existing = self
                .root
                .ancestors()
                .find(|p| p.exists())
                .unwrap_or(self.root);
            check_free_space(existing, manifest)?;
            Ok(())
        }
        fn file(&mut self, entry: &FileEntry, data: &mut dyn Read) -> Result<()> {
            let is_config = entry.path.starts_with("machines/")
                && entry.path.matches('/').count() == 2
                && entry.path.ends_with("/config.json");
            if is_config && entry.size <= MAX_CONFIG {
                let mut buf = Vec::with_capacity(entry.size as usize);
                data.take(MAX_CONFIG)
                    .read_to_end(&mut buf)
                    .map_err(|e| Error::Corrupt(e.to_string()))?;
                self.configs.insert(entry.path.clone(), buf);
            }
            Ok(())
        }
    }
    let mut c = Collect {
        root,
        req,
        plan: None,
        configs: BTreeMap::new(),
    };
    read_bundle(input, keys, what, &mut c)?;
    let plan = c.plan.ok_or_else(|| Error::Corrupt("no manifest".into()))?;
    let mut report = Report::default();
    let root_fp = root_path(&plan.root)?;
    for m in &plan.machines {
        let key = format!("machines/{}/config.json", m.source);
        let Some(text) = c.configs.get(&key) else {
            continue;
        };
        let (_, outcome) = m.rewrite(text, &root_fp)?;
        report.record(&m.target, outcome);
    }
    report_plan(&plan, &mut report);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::manifest::tests::sample;

    fn state(machine_cas: &[(&str, Option<&str>)], cert_files: &[(&str, &str)]) -> TargetState {
        TargetState {
            root: PathBuf::from("/t/dm"),
            machines: machine_cas.iter().map(|(n, _)| n.to_string()).collect(),
            cert_files: cert_files
                .iter()
                .map(|(p, h)| (p.to_string(), Some(h.to_string())))
                .collect(),
            machine_cas: machine_cas
                .iter()
                .map(|(n, h)| (n.to_string(), h.map(str::to_string)))
                .collect(),
        }
    }

    fn placement(st: &TargetState) -> Placement {
        let mut m = sample();
        m.machines[0].name = "new".into();
        m.machines[0].files = vec!["machines/new/config.json".into()];
        m.files[1].path = "machines/new/config.json".into();
        plan(&m, st, &ImportRequest::default()).unwrap().sets[0].placement
    }

    #[test]
    fn the_default_set_becomes_certs_only_where_it_changes_no_machine() {
        let ca = "a".repeat(64); // the sample's ca.pem hash
        assert_eq!(
            placement(&state(&[], &[])),
            Placement::NewDefault,
            "fresh laptop"
        );
        assert_eq!(
            placement(&state(&[("old", Some(&ca))], &[])),
            Placement::NewDefault,
            "restore after losing certs/: the machines carry this very CA"
        );
        assert_eq!(
            placement(&state(&[("old", Some("other"))], &[])),
            Placement::Imported
        );
        assert_eq!(
            placement(&state(&[("old", None)], &[])),
            Placement::Imported
        );
        assert_eq!(
            placement(&state(&[], &[("certs/ca.pem", &ca)])),
            Placement::ReuseDefault,
            "identical to certs/"
        );
        assert_eq!(
            placement(&state(&[], &[("certs/ca.pem", "other")])),
            Placement::Imported
        );
    }

    #[test]
    fn conflicts_are_listed_together() {
        let m = sample();
        let st = state(
            &[("web", None)],
            &[
                ("imported-certs/0123456789abcdef/ca.pem", "zz"),
                ("certs/ca.pem", "other"),
            ],
        );
        match plan(&m, &st, &ImportRequest::default()) {
            Err(Error::Conflicts(c)) => assert_eq!(c.len(), 2, "{c:?}"),
            other => panic!("{other:?}"),
        }
    }
}
