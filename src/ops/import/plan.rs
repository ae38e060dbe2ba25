//! The import plan, pure: target names, where each cert set goes, every config.json path
//! mapping, and all conflicts at once, decided from the manifest and the store's state.

use super::model::Found;
pub use super::model::{FileTarget, Placement, SetPlan};
use super::placement::place_cert_sets;
use super::target::{differing_files, TargetState};

use crate::error::{Error, Result};
use crate::format::layout;
use crate::format::manifest::{check_machine_name, MachineEntry, Manifest};
use crate::store::paths::ForeignPath;
use crate::store::rewrite::{cert_set_rules, rewrite_config, PathMap};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Drivers whose VM is registered under the machine's name in the hypervisor: renaming the
/// directory would orphan the VM.
pub const VM_NAMED_DRIVERS: &[&str] = &["virtualbox", "vmwarefusion", "hyperv", "parallels"];

/// What the user asked for.
#[derive(Clone, Debug, Default)]
pub struct ImportRequest {
    /// The machines to import, by their names in the bundle; every one when empty.
    pub only: Vec<String>,
    /// `--rename OLD=NEW`, in order.
    pub renames: Vec<(String, String)>,
    /// `--docker-context`: the docker CLI config directory contexts will be written to.
    pub docker_context: Option<PathBuf>,
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

/// The plan for one machine.
#[derive(Clone, Debug)]
pub struct MachinePlan {
    /// Name in the bundle.
    pub source: String,
    /// Name in the store.
    pub target: String,
    /// Its cert set.
    pub cert_set: Option<String>,
    /// How its config.json paths move.
    pub map: PathMap,
    /// Already in the store with the same files; only config.json is left to compare (after
    /// the rewrite, in staging). Identical, it is left alone; else it is a conflict.
    pub present: bool,
    /// What to do when a machine of that name is there and differs (a command line that works:
    /// a `--rename` from its bundle name to a free name, or another store for a local VM).
    pub if_taken: String,
    /// Where its cert set is placed, relative to the store (`certs`, `imported-certs/<id>`):
    /// with its own directory, the only place its config.json may point.
    pub set_dir: Option<String>,
}

impl MachinePlan {
    /// Parses the machine's config.json from the bundle and rewrites it for its new home:
    /// every path through [`MachinePlan::map`], and its name when renamed.
    ///
    /// Refuses a result whose path fields (`confine::WRITTEN_FIELDS`) point anywhere but the
    /// machine's own directory and the cert set placed for it (`confine::path_problems`): a
    /// bundle naming ~/.bashrc there would have docker-machine overwrite it later, one naming
    /// this store's `certs/ca-key.pem` would have regenerate-certs sign the attacker's names
    /// with the victim's CA, one naming another machine's key would hand it that machine.
    /// `Name` and `Driver.MachineName` must be the machine's name (docker-machine writes
    /// them equal; `docker-machine rm` deletes the VM MachineName names).
    pub(super) fn rewrite(
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
        let mut problems: Vec<String> = crate::store::fields::problems(&config)
            .iter()
            .map(ToString::to_string)
            .collect();
        problems.extend(super::confine::name_problems(&config, &self.source));
        let unsafe_config = |problems: Vec<String>| Error::UnsafeConfig {
            machine: self.source.clone(),
            problems,
        };
        if !problems.is_empty() {
            return Err(unsafe_config(problems));
        }
        let rename =
            (self.source != self.target).then_some((self.source.as_str(), self.target.as_str()));
        let outcome = rewrite_config(&mut config, &self.map, rename);
        // A machine already in place is rewritten only to compare: nothing of it is written.
        if !self.present {
            problems.extend(super::confine::path_problems(
                &config,
                root,
                &self.target,
                self.set_dir.as_deref(),
            ));
        }
        if !problems.is_empty() {
            return Err(unsafe_config(problems));
        }
        Ok((config, outcome))
    }
}

/// The store root as the kind of absolute path config.json files hold.
pub(super) fn root_path(root: &Path) -> Result<ForeignPath> {
    let text = root.to_str().ok_or_else(|| {
        Error::usage(
            format!("the store path {} is not valid UTF-8", root.display()),
            "use a store path that is valid UTF-8",
        )
    })?;
    ForeignPath::parse(text).ok_or_else(|| store_path_unusable(text))
}

/// Why a store path cannot be written into config.json files, said as it is.
pub(super) fn store_path_unusable(text: &str) -> Error {
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
    /// What a share bundle says of itself, and what it emptied per machine.
    pub share: Option<ShareReport>,
}

/// A share, as the teammate importing it needs to hear of it.
#[derive(Clone, Debug)]
pub struct ShareReport {
    /// For whom, when, until when, what came along.
    pub info: crate::format::manifest::ShareInfo,
    /// Machines (store names) with config.json fields the share emptied.
    pub redacted: Vec<RedactedMachine>,
}

/// One machine's emptied credentials and what needs them.
#[derive(Clone, Debug)]
pub struct RedactedMachine {
    /// The machine's name in the store.
    pub machine: String,
    /// The emptied fields, dotted.
    pub fields: Vec<String>,
    /// What needs them (which docker-machine commands, which API).
    pub needed_for: String,
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
    let selected = select_machines(manifest, req)?;
    let renames = check_renames(manifest, &selected, req)?;
    let mut found = Found {
        files: HashMap::with_capacity(manifest.files.len()),
        ..Found::default()
    };
    let target_of = |m: &MachineEntry| {
        renames
            .get(m.name.as_str())
            .copied()
            .unwrap_or(&m.name)
            .to_string()
    };
    let sets = place_sets(manifest, &selected, &target_of, state, req, &mut found);
    let mut targets = BTreeSet::new();
    let mut machines = Vec::new();
    let mut set_maps = SetMaps::new(manifest, &sets, &root_fp);
    for m in selected.iter().copied() {
        let target = renames
            .get(m.name.as_str())
            .copied()
            .unwrap_or(&m.name)
            .to_string();
        if !targets.insert(target.clone()) {
            found
                .conflicts
                .push(format!("two machines would both be named {target}"));
        }
        let present = machine_conflicts(manifest, m, &target, state, req, &mut found);
        for f in &m.files {
            let Some(rest) = layout::in_machine(f, &m.name) else {
                continue;
            };
            // A machine in place already: only its config.json is staged, to compare.
            let target_of = if present && rest != "config.json" {
                FileTarget::Identical
            } else {
                FileTarget::Write(format!("machines/{target}/{rest}"))
            };
            found.files.insert(f.clone(), target_of);
        }
        let map = machine_path_map(m, &target, &mut set_maps, &root_fp, &mut found);
        super::warnings::driver_warning(m, &target, state, &mut found);
        if !present {
            super::warnings::vm_files_warning(manifest, m, &target, &mut found);
        }
        machines.push(MachinePlan {
            source: m.name.clone(),
            if_taken: if_taken(m, &target, state),
            target,
            cert_set: m.cert_set.clone(),
            map,
            present,
            set_dir: set_dir(&sets, m.cert_set.as_deref()),
        });
    }
    if !found.conflicts.is_empty() {
        return Err(Error::Conflicts(found.conflicts));
    }
    let share = manifest.share.as_ref().map(|info| ShareReport {
        info: info.clone(),
        redacted: selected
            .iter()
            .filter(|m| !m.redacted.is_empty())
            .map(|m| RedactedMachine {
                machine: target_of(m).to_string(),
                fields: m.redacted.clone(),
                needed_for: crate::store::share::needed_for(&m.driver),
            })
            .collect(),
    });
    Ok(ImportPlan {
        root: state.root.clone(),
        machines,
        sets,
        files: found.files,
        warnings: found.warnings,
        share,
    })
}

/// Where the cert sets go: placed for the machines to write (machines already in place with
/// the same files need no set of their own), and found where they already are for those in
/// place, whose config.json is compared with the set's rules.
fn place_sets(
    manifest: &Manifest,
    selected: &[&MachineEntry],
    target_of: &dyn Fn(&MachineEntry) -> String,
    state: &TargetState,
    req: &ImportRequest,
    found: &mut Found,
) -> Vec<SetPlan> {
    let needing_sets: Vec<&MachineEntry> = selected
        .iter()
        .copied()
        .filter(|m| {
            differing_files(manifest, m, &target_of(m), state).is_none_or(|d| !d.is_empty())
        })
        .collect();
    let mut sets = place_cert_sets(manifest, &needing_sets, req.only.is_empty(), state, found);
    sets.extend(super::placement::placed_already(
        manifest, selected, &sets, state,
    ));
    sets
}

/// The machines to import: those named (each in the bundle, once), else all of them.
fn select_machines<'m>(
    manifest: &'m Manifest,
    req: &ImportRequest,
) -> Result<Vec<&'m MachineEntry>> {
    if req.only.is_empty() {
        return Ok(manifest.machines.iter().collect());
    }
    let unknown: Vec<&str> = req
        .only
        .iter()
        .filter(|n| !manifest.machines.iter().any(|m| &m.name == *n))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let names: Vec<String> = manifest.machines.iter().map(|m| m.name.clone()).collect();
        let asked: Vec<String> = unknown.iter().map(|n| n.to_string()).collect();
        return Err(Error::usage(
            format!("the bundle has no machine named {}", unknown.join(", ")),
            crate::error::names_hint(
                "machines in the bundle",
                &names,
                &asked,
                "mbundle inspect FILE",
            ),
        ));
    }
    Ok(manifest
        .machines
        .iter()
        .filter(|m| req.only.contains(&m.name))
        .collect())
}

/// `--rename OLD=NEW`: each OLD in the bundle and being imported, given once, and not a
/// VM-named driver.
fn check_renames<'a>(
    manifest: &Manifest,
    selected: &[&MachineEntry],
    req: &'a ImportRequest,
) -> Result<BTreeMap<&'a str, &'a str>> {
    let mut renames: BTreeMap<&str, &str> = BTreeMap::new();
    for (old, new) in &req.renames {
        let Some(m) = manifest.machines.iter().find(|m| &m.name == old) else {
            let names: Vec<&str> = manifest.machines.iter().map(|m| m.name.as_str()).collect();
            return Err(Error::usage(
                format!("--rename {old}={new}: the bundle has no machine named {old}"),
                format!("machines in the bundle: {}", names.join(", ")),
            ));
        };
        if !selected.iter().any(|s| &s.name == old) {
            return Err(Error::usage(
                format!("--rename {old}={new}: {old} is not among the machines being imported"),
                format!("name it too: mbundle import FILE {old} ... --rename {old}={new}"),
            ));
        }
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
                format!("import it under its own name into another store: mbundle -s OTHER_DIR import FILE {old} (docker-machine rm would delete the VM itself, never use it to make room)"),
            ));
        }
    }
    Ok(renames)
}

/// A machine name already in the store (unless it is the same machine: then `true`, it is
/// present), or a docker context already taken.
fn machine_conflicts(
    manifest: &Manifest,
    m: &MachineEntry,
    target: &str,
    state: &TargetState,
    req: &ImportRequest,
    found: &mut Found,
) -> bool {
    let differ = differing_files(manifest, m, target, state);
    let present = differ.as_ref().is_some_and(Vec::is_empty);
    if !present && state.machines.contains(target) {
        let fix = if_taken(m, target, state);
        let what = match differ {
            Some(d) => format!(" and differs from the bundle's ({})", d.join(", ")),
            None => String::new(),
        };
        found.conflicts.push(format!(
            "machine {target} already exists in {}{what} ({fix})",
            state.root.display()
        ));
    }
    if present {
        return true;
    }
    if let Some(cfg) = &req.docker_context {
        if let Err(e) = crate::store::context::check_context_name(target) {
            found.conflicts.push(format!(
                "machine {target}: {e}; import without --docker-context and run: mbundle context {target} --context-name NAME"
            ));
        } else if state
            .docker_context_ids
            .contains(&crate::store::context::context_id(target))
        {
            found.conflicts.push(format!(
                "docker context {target} already exists in {} (remove it with docker context rm {}, or import without --docker-context)",
                cfg.display(),
                crate::store::env::shell_word(target)
            ));
        }
    }
    false
}

/// What to do when the machine `m` would land on `target`, which a machine of the store
/// already holds: a rename to a free name, or for a VM registered under its name (which no
/// rename may change and `docker-machine rm` would delete), another store.
fn if_taken(m: &MachineEntry, target: &str, state: &TargetState) -> String {
    if VM_NAMED_DRIVERS.contains(&m.driver.as_str()) {
        format!(
            "a {} machine keeps its name, its VM is registered under it: import it into another store with mbundle -s OTHER_DIR import FILE {}",
            m.driver, m.name
        )
    } else {
        format!(
            "import it under another name with --rename {}={}",
            m.name,
            free_name(target, state)
        )
    }
}

/// `<target>-2` (or -3, ...): a name no machine of the store has, for the `--rename` a
/// conflict suggests. Within docker-machine's name rule: `target` is a valid name.
fn free_name(target: &str, state: &TargetState) -> String {
    (2..)
        .map(|n| format!("{target}-{n}"))
        .find(|name| !state.machines.contains(name))
        .unwrap_or_else(|| format!("{target}-new"))
}

/// Each cert set's path rules (its members' old spellings -> where the set goes), made once
/// and shared by the maps of every machine it issued.
struct SetMaps<'p> {
    manifest: &'p Manifest,
    sets: &'p [SetPlan],
    root_fp: &'p ForeignPath,
    made: HashMap<String, Option<Arc<PathMap>>>,
}

impl<'p> SetMaps<'p> {
    fn new(manifest: &'p Manifest, sets: &'p [SetPlan], root_fp: &'p ForeignPath) -> SetMaps<'p> {
        SetMaps {
            manifest,
            sets,
            root_fp,
            made: HashMap::new(),
        }
    }

    /// The rules of set `id`; None if it is not in the manifest or not placed.
    fn get(&mut self, id: &str) -> Option<Arc<PathMap>> {
        if let Some(made) = self.made.get(id) {
            return made.clone();
        }
        let made = self.make(id).map(Arc::new);
        self.made.insert(id.to_string(), made.clone());
        made
    }

    fn make(&self, id: &str) -> Option<PathMap> {
        let set = self.manifest.cert_sets.iter().find(|s| s.id == id)?;
        let placed = self.sets.iter().find(|sp| sp.id == id)?;
        let dir = self
            .root_fp
            .join(&placed.dir_rel.split('/').collect::<Vec<_>>());
        Some(cert_set_rules(
            set.members
                .iter()
                .map(|mem| (mem.name.as_str(), mem.sources.as_slice())),
            &dir,
        ))
    }
}

/// The path map of one machine: member files exactly, then the machine directory, the cert
/// directories, and the store root as prefixes.
fn machine_path_map(
    m: &MachineEntry,
    target: &str,
    sets: &mut SetMaps<'_>,
    root_fp: &ForeignPath,
    found: &mut Found,
) -> PathMap {
    let mut map = match m.cert_set.as_deref().and_then(|id| sets.get(id)) {
        Some(base) => PathMap::on(base),
        None => PathMap::new(),
    };
    if let Some(old_root) = ForeignPath::parse(&m.store) {
        map.prefix(
            old_root.join(&["machines", m.name.as_str()]),
            root_fp.join(&["machines", target]),
        );
        map.prefix(old_root, root_fp.clone());
    } else {
        found.warnings.push(format!(
            "machine {}: the bundle does not say where its store was ({:?}); only cert paths are rewritten",
            m.name, m.store
        ));
    }
    map
}

/// Where the cert set `id` is placed, relative to the store.
fn set_dir(sets: &[SetPlan], id: Option<&str>) -> Option<String> {
    sets.iter()
        .find(|s| Some(s.id.as_str()) == id)
        .map(|s| s.dir_rel.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::manifest::tests::sample;

    fn state(machine_cas: &[(&str, Option<&str>)], cert_files: &[(&str, &str)]) -> TargetState {
        TargetState {
            now: time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
            installed_drivers: BTreeSet::new(),
            docker_context_ids: BTreeSet::new(),
            machine_files: BTreeMap::new(),
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
            default_ca: None,
        }
    }

    fn placement(st: &TargetState) -> Placement {
        placement_of(st, true)
    }

    /// The sample bundle with its machine renamed `new` (not in any store), its cert set
    /// carrying a CA key (sha256 "bb..") when `with_ca_key`.
    fn new_machine_bundle(with_ca_key: bool) -> Manifest {
        let mut m = sample();
        m.machines[0].name = "new".into();
        m.machines[0].files = vec!["machines/new/config.json".into()];
        m.files[1].path = "machines/new/config.json".into();
        if with_ca_key {
            let path = format!("certsets/{}/ca-key.pem", m.cert_sets[0].id);
            m.cert_sets[0]
                .members
                .push(crate::format::manifest::Member {
                    name: "ca-key.pem".into(),
                    path: path.clone(),
                    sources: vec![],
                });
            m.cert_sets[0].missing.clear();
            let mut key = m.files[0].clone();
            key.path = path;
            key.sha256 = "b".repeat(64);
            m.files.push(key);
        }
        m
    }

    fn placement_of(st: &TargetState, with_ca_key: bool) -> Placement {
        let m = new_machine_bundle(with_ca_key);
        plan(&m, st, &ImportRequest::default()).unwrap().sets[0].placement
    }

    #[test]
    fn a_set_without_its_ca_key_never_becomes_certs() {
        // A share (or a CA kept elsewhere): docker-machine create would find certs/ca.pem and
        // fail for want of certs/ca-key.pem.
        assert_eq!(placement_of(&state(&[], &[]), false), Placement::Imported);
        assert_eq!(placement_of(&state(&[], &[]), true), Placement::NewDefault);
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
            placement_of(&state(&[], &[("certs/ca.pem", &ca)]), false),
            Placement::ReuseDefault,
            "identical to certs/"
        );
        assert_eq!(
            placement(&state(&[], &[("certs/ca.pem", "other")])),
            Placement::Imported
        );
    }

    #[test]
    fn another_issue_of_the_store_ca_goes_onto_certs_and_the_newer_certificate_stays() {
        let day = |n: i64| time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(n);
        // The store's CA: the same key (the sample's ca-key.pem hash), the same name.
        let mut st = state(
            &[],
            &[
                ("certs/ca.pem", "other"),
                ("certs/ca-key.pem", &"b".repeat(64)),
            ],
        );
        st.default_ca = Some(super::super::target::DefaultCa {
            name: "alice".into(),
            not_after: day(30_000),
        });
        let with = |st: &TargetState, name: &str, not_after: i64| {
            let mut m = new_machine_bundle(true);
            m.cert_sets[0].ca_name = Some(name.into());
            m.cert_sets[0].not_after = Some(crate::pki::certs::rfc3339(day(not_after)));
            plan(&m, st, &ImportRequest::default()).map(|p| p.sets[0].clone())
        };
        let older = with(&st, "alice", 29_000).unwrap();
        assert_eq!(older.placement, Placement::SameCa);
        assert_eq!(older.dir_rel, "certs");
        assert!(older.writes.is_empty() && older.replaces.is_empty());
        let newer = with(&st, "alice", 31_000).unwrap();
        assert_eq!(newer.placement, Placement::SameCa);
        assert_eq!(newer.replaces, ["ca.pem"]);
        assert_eq!(newer.writes, ["ca.pem"]);
        // Another name with the same key: not taken for the same CA.
        assert_eq!(
            with(&st, "mallory", 31_000).unwrap().placement,
            Placement::Imported
        );
        // Another key: a CA of its own.
        st.cert_files
            .insert("certs/ca-key.pem".into(), Some("c".repeat(64)));
        assert_eq!(
            with(&st, "alice", 31_000).unwrap().placement,
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

    #[test]
    fn the_world_comes_in_through_the_state() {
        let mut m = sample();
        m.machines[0].driver = "hetzner".into();
        m.cert_sets[0].not_after = Some("2030-01-31T00:00:00Z".into());
        let req = ImportRequest {
            docker_context: Some(PathBuf::from("/nonexistent/docker")),
            ..Default::default()
        };
        let mut st = state(&[], &[]);
        let jan_2030 = time::macros::datetime!(2030-01-01 0:00 UTC);
        st.now = jan_2030 - time::Duration::days(365);
        let p = plan(&m, &st, &req).unwrap();
        assert!(p
            .warnings
            .iter()
            .any(|w| w.contains("docker-machine-driver-hetzner is not on PATH")));
        assert!(!p.warnings.iter().any(|w| w.contains("renew-ca")));
        // A plugin installed, the clock near the CA's end, a context of that name.
        st.installed_drivers.insert("hetzner".into());
        st.now = jan_2030;
        let p = plan(&m, &st, &req).unwrap();
        assert!(
            !p.warnings.iter().any(|w| w.contains("not on PATH")),
            "{:?}",
            p.warnings
        );
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("expires on 2030-01-31")),
            "{:?}",
            p.warnings
        );
        st.docker_context_ids
            .insert(crate::store::context::context_id("web"));
        match plan(&m, &st, &req) {
            Err(Error::Conflicts(c)) => assert!(c[0].contains("docker context web already exists")),
            other => panic!("{other:?}"),
        }
    }
}
