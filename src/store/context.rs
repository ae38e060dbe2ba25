//! Docker contexts for machines: the docker CLI's own replacement for `docker-machine env`.
//!
//! The docker CLI keeps contexts in `$DOCKER_CONFIG/contexts` (default `~/.docker`):
//! `meta/<sha256(name)>/meta.json` holds the name, description and endpoint, and
//! `tls/<sha256(name)>/docker/{ca,cert,key}.pem` the TLS material (0600, directories 0700).
//! mbundle writes exactly that layout, never over an existing context, and can also write a
//! `.dockercontext` file (a tar of `meta.json` and `tls/docker/*`) that
//! `docker context import` accepts.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::store::{Machine, Store, CA_CERT, CLIENT_CERT, CLIENT_KEY};

/// The docker CLI's rule for context names: `^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$`, not `default`.
pub fn check_context_name(name: &str) -> std::result::Result<(), String> {
    let mut chars = name.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest: Vec<char> = chars.collect();
    if !first
        || rest.is_empty()
        || !rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(*c))
    {
        return Err(format!(
            "{name:?} is not a valid docker context name (letters, digits, '_', '.', '+', '-', at least two characters, starting with a letter or digit)"
        ));
    }
    if name == "default" {
        return Err("\"default\" is the docker CLI's reserved context name".into());
    }
    Ok(())
}

/// `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(|h| PathBuf::from(h).join(".docker"))
}

/// The directory id the docker CLI gives a context: hex sha256 of its name.
pub fn context_id(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

/// Everything a context holds.
#[derive(Clone, Debug)]
pub struct ContextSpec {
    /// Context name.
    pub name: String,
    /// Shown by `docker context ls`.
    pub description: String,
    /// `tcp://host:port`.
    pub host: String,
    /// CA certificate file.
    pub ca: PathBuf,
    /// Client certificate file.
    pub cert: PathBuf,
    /// Client key file.
    pub key: PathBuf,
}

impl ContextSpec {
    /// The context for a machine: its daemon URL and the TLS files `docker-machine env`
    /// points the CLI at (the machine directory's copies, else its config.json's).
    pub fn for_machine(store: &Store, m: &Machine, name: &str) -> Result<ContextSpec> {
        check_context_name(name).map_err(|e| {
            Error::usage(
                e,
                format!(
                    "choose a name with --context-name, e.g. --context-name machine-{}",
                    m.name
                ),
            )
        })?;
        let host = m.url().ok_or_else(|| Error::BadConfig {
            name: m.name.clone(),
            path: m.dir.join("config.json"),
            reason: "it holds no URL or IP address for the machine's daemon".into(),
        })?;
        let found = m.issuing_material(store);
        let pick = |member: &str| -> Result<PathBuf> {
            let own = m.dir.join(member);
            if own.is_file() {
                return Ok(own);
            }
            found
                .iter()
                .find(|f| f.name == member)
                .map(|f| f.local.clone())
                .ok_or_else(|| Error::BadConfig {
                    name: m.name.clone(),
                    path: own,
                    reason: format!("no {member} to give the docker CLI"),
                })
        };
        Ok(ContextSpec {
            name: name.to_string(),
            description: format!("{DESCRIPTION_MARK}{} ({})", m.name, m.driver()),
            host,
            ca: pick(CA_CERT)?,
            cert: pick(CLIENT_CERT)?,
            key: pick(CLIENT_KEY)?,
        })
    }

    fn meta_json(&self) -> Vec<u8> {
        let v = json!({
            "Name": self.name,
            "Metadata": {"Description": self.description},
            "Endpoints": {"docker": {"Host": self.host, "SkipTLSVerify": false}},
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }

    fn tls_files(&self) -> [(&'static str, &Path); 3] {
        [
            ("ca.pem", &self.ca),
            ("cert.pem", &self.cert),
            ("key.pem", &self.key),
        ]
    }
}

/// The ids (directory names under `contexts/meta`) of the contexts in a docker CLI config.
pub fn existing_ids(config_dir: &Path) -> std::collections::BTreeSet<String> {
    fs::read_dir(config_dir.join("contexts/meta"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn mkdirs(p: &Path, mode: u32) -> Result<()> {
    if p.is_dir() {
        return Ok(());
    }
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    b.create(p).ctx("create directory", p)
}

fn write_private(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).ctx("create", path)?;
    f.write_all(data).ctx("write", path)?;
    f.sync_all().ctx("sync", path)
}

/// Writes the context into the docker CLI's context store, refusing to replace one unless
/// `replace` (then the old context is moved aside into the temporary directory, the new one
/// moved in, and the old removed). The TLS directory is moved into place before the
/// metadata, so the CLI never sees a context without its certificates. Returns the metadata
/// directory.
pub fn write_into_store(config_dir: &Path, spec: &ContextSpec, replace: bool) -> Result<PathBuf> {
    let contexts = config_dir.join("contexts");
    let id = context_id(&spec.name);
    let meta_dir = contexts.join("meta").join(&id);
    let tls_dir = contexts.join("tls").join(&id);
    let exists = fs::symlink_metadata(&meta_dir).is_ok() || fs::symlink_metadata(&tls_dir).is_ok();
    if exists && !replace {
        return Err(Error::cannot(
            format!("docker context {:?} already exists", spec.name),
            format!(
                "refresh it with --force, choose another name with --context-name, or remove it with: docker context rm {}",
                crate::store::env::shell_word(&spec.name)
            ),
        ));
    }
    mkdirs(&contexts.join("meta"), 0o755)?;
    mkdirs(&contexts.join("tls"), 0o700)?;
    let tmp = tempfile::Builder::new()
        .prefix(".mbundle-context-")
        .tempdir_in(&contexts)
        .ctx("create a temporary directory in", &contexts)?;
    let t_tls = tmp.path().join("tls");
    mkdirs(&t_tls.join("docker"), 0o700)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&t_tls, fs::Permissions::from_mode(0o700))
            .ctx("set permissions of", &t_tls)?;
    }
    for (name, src) in spec.tls_files() {
        let data = super::read_pem_file(src)?;
        write_private(&t_tls.join("docker").join(name), &data, 0o600)?;
    }
    let t_meta = tmp.path().join("meta");
    mkdirs(&t_meta, 0o755)?;
    write_private(&t_meta.join("meta.json"), &spec.meta_json(), 0o644)?;
    for (old, aside) in [(&meta_dir, "old-meta"), (&tls_dir, "old-tls")] {
        if fs::symlink_metadata(old).is_ok() {
            let to = tmp.path().join(aside);
            crate::fs::rename_noreplace(old, &to).ctx("move aside", old)?;
        }
    }
    crate::fs::rename_noreplace(&t_tls, &tls_dir).ctx("rename into", &tls_dir)?;
    if let Err(e) = crate::fs::rename_noreplace(&t_meta, &meta_dir) {
        let _ = fs::remove_dir_all(&tls_dir);
        return Err(Error::io("rename into", meta_dir, e));
    }
    crate::fs::sync_dir(&contexts.join("tls"))?;
    crate::fs::sync_dir(&contexts.join("meta"))?;
    Ok(meta_dir)
}

/// What mbundle puts first in a context's description: `docker-machine NAME (DRIVER)`.
const DESCRIPTION_MARK: &str = "docker-machine ";

/// The largest meta.json read when looking for contexts mbundle wrote.
const MAX_META: u64 = 64 * 1024;

/// Gives every docker context mbundle wrote that holds `old_cert` as its client certificate
/// the new pair (`cert`, `key`), in place, 0600. A context is mbundle's when its meta.json
/// (under the directory named for its name, as the docker CLI lays them out) describes it
/// as `docker-machine ...`; any other, or one holding another certificate, is left alone.
/// Returns the names of the contexts refreshed.
pub fn refresh_client(
    config_dir: &Path,
    old_cert: &[u8],
    cert: &[u8],
    key: &[u8],
) -> Result<Vec<String>> {
    refresh(
        config_dir,
        ("cert.pem", old_cert),
        &[("key.pem", key), ("cert.pem", cert)],
    )
}

/// Gives every docker context mbundle wrote whose `holding.0` file holds `holding.1` the
/// files of `new` (name, bytes), in place, 0600, in that order. Returns their names.
pub fn refresh(
    config_dir: &Path,
    holding: (&str, &[u8]),
    new: &[(&str, &[u8])],
) -> Result<Vec<String>> {
    let contexts = config_dir.join("contexts");
    let mut done = Vec::new();
    for id in existing_ids(config_dir) {
        let meta = contexts.join("meta").join(&id).join("meta.json");
        let Ok(bytes) = crate::fs::beneath::read_bounded(&meta, MAX_META) else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            continue;
        };
        let name = v.get("Name").and_then(|n| n.as_str()).unwrap_or_default();
        let ours = v
            .pointer("/Metadata/Description")
            .and_then(|d| d.as_str())
            .is_some_and(|d| d.starts_with(DESCRIPTION_MARK));
        if !ours || context_id(name) != id {
            continue;
        }
        let tls = contexts.join("tls").join(&id).join("docker");
        let held = crate::fs::beneath::read_bounded(&tls.join(holding.0), MAX_META);
        if held.ok().as_deref() != Some(holding.1) {
            continue;
        }
        for (file, bytes) in new {
            crate::fs::outfile::write_atomic(&tls.join(file), bytes, 0o600)?;
        }
        done.push(name.to_string());
    }
    done.sort();
    Ok(done)
}

/// Writes a `.dockercontext` file for `docker context import`: a tar of `meta.json` and
/// `tls/docker/{ca,cert,key}.pem`. 0600, written beside the target and renamed.
pub fn write_export_file(path: &Path, spec: &ContextSpec, force: bool) -> Result<()> {
    let out = crate::fs::outfile::OutFile::create(path, force)?;
    {
        let mut b = tar::Builder::new(out.file());
        let entry = |b: &mut tar::Builder<&File>,
                     name: &str,
                     data: &[u8],
                     kind: tar::EntryType,
                     mode: u32| {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(kind);
            h.set_size(data.len() as u64);
            h.set_mode(mode);
            h.set_mtime(0);
            h.set_path(name)?;
            h.set_cksum();
            b.append(&h, data)
        };
        let run = |b: &mut tar::Builder<&File>| -> std::io::Result<()> {
            entry(
                b,
                "meta.json",
                &spec.meta_json(),
                tar::EntryType::Regular,
                0o644,
            )?;
            entry(b, "tls/", &[], tar::EntryType::Directory, 0o700)?;
            entry(b, "tls/docker/", &[], tar::EntryType::Directory, 0o700)?;
            for (name, src) in spec.tls_files() {
                let data = super::read_pem_file(src).map_err(std::io::Error::other)?;
                entry(
                    b,
                    &format!("tls/docker/{name}"),
                    &data,
                    tar::EntryType::Regular,
                    0o600,
                )?;
            }
            b.finish()
        };
        run(&mut b).ctx("write", path)?;
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_docker_cli() {
        assert!(check_context_name("web").is_ok());
        assert!(check_context_name("a_b.c+d-e").is_ok());
        assert!(check_context_name("w").is_err(), "one character");
        assert!(check_context_name("-web").is_err());
        assert!(check_context_name("default").is_err());
        assert!(check_context_name("we b").is_err());
    }

    #[test]
    fn ids_are_the_sha256_of_the_name() {
        // The directory the docker CLI 28 created for a context named "web".
        assert_eq!(
            context_id("web"),
            "4b5e57f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2"
        );
    }
}
