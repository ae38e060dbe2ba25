//! `mbundle.json`: the first entry of every bundle, and the only authority on what it holds.
//!
//! The importer decides everything from the manifest before it writes a byte, so the manifest
//! is validated as hostile input: every path is a plain relative path under
//! `machines/<name>/` or `certsets/<id>/` of a machine or set the manifest itself lists, names
//! are what docker-machine accepts, nothing is listed twice, and every file has a size and a
//! sha256. Pure: no I/O here.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::format::layout;
use crate::store::paths::SourceOs;
use crate::store::CERT_MEMBERS;

/// The bundle format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's archive path.
pub const MANIFEST_PATH: &str = "mbundle.json";
/// Largest manifest accepted (a store of 500 machines needs about 2 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 32 << 20;
/// Most files one bundle may list.
pub const MAX_FILES: usize = 200_000;

/// The whole manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"mbundle"`.
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this build.
    pub format_version: u64,
    /// `mbundle <version>` that wrote it.
    pub tool: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Where the machines came from.
    pub source: Source,
    /// The machines, in export order.
    pub machines: Vec<MachineEntry>,
    /// Each distinct cert set, stored once.
    #[serde(rename = "certsets")]
    pub cert_sets: Vec<CertSetEntry>,
    /// Every file in the archive after the manifest, in archive order.
    pub files: Vec<FileEntry>,
    /// Files of the machines that were left out, and why.
    #[serde(default)]
    pub excluded: Vec<Excluded>,
    /// Things the exporter wanted the importer's user to know.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Present when the bundle is a share for one teammate (`mbundle share`): their own
    /// client certificate, no CA, server or SSH keys, cloud credentials redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<ShareInfo>,
}

/// What a share bundle says of itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareInfo {
    /// The teammate the new client certificate names.
    pub shared_with: String,
    /// When it was made, RFC 3339.
    pub issued_at: String,
    /// The end of the new client certificate's validity, RFC 3339.
    pub cert_not_after: String,
    /// Whether the machines' SSH keys came along (`--with-ssh-key`).
    pub with_ssh_key: bool,
    /// Whether cloud credentials were left in config.json (`--keep-secrets`).
    pub secrets_kept: bool,
}

/// The exporting side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// The OS that wrote the config.json paths (not necessarily the exporting host).
    pub os: SourceOs,
    /// The store root as config.json spells it.
    pub store: String,
    /// `/` or `\`.
    pub separator: String,
    /// The home directory the store sits in, when it is the default `~/.docker/machine`.
    #[serde(default)]
    pub home: Option<String>,
    /// Where the store really was on the exporting host.
    pub exported_from: String,
    /// The exporting host's OS.
    pub host_os: SourceOs,
}

/// One machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineEntry {
    /// Its name (directory under `machines/`).
    pub name: String,
    /// `DriverName`.
    pub driver: String,
    /// The daemon URL, when known.
    #[serde(default)]
    pub url: Option<String>,
    /// config.json's `ConfigVersion`.
    pub config_version: u64,
    /// The cert set its config.json points at, if any could be found.
    #[serde(default)]
    #[serde(rename = "certset")]
    pub cert_set: Option<String>,
    /// The store root as this machine's config.json spells it.
    pub store: String,
    /// Its files in the archive.
    pub files: Vec<String>,
    /// Paths config.json names that did not exist at export time.
    #[serde(default)]
    pub absent: Vec<PathNote>,
    /// Local paths config.json names outside the store, not carried.
    #[serde(default)]
    pub external: Vec<PathNote>,
    /// config.json fields a share emptied (cloud credentials), dotted: `Driver.SecretKey`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

/// A config.json field and the path it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathNote {
    /// Dotted JSON path of the field, e.g. `HostOptions.AuthOptions.ServerCertPath`.
    pub field: String,
    /// The path as written.
    pub path: String,
}

/// Where a cert set came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertRole {
    /// The store's own `certs/` directory.
    Default,
    /// A CA outside the store (`--tls-ca-cert`).
    Custom,
    /// Rebuilt from a machine directory's copies because the original was gone.
    Machine,
}

/// One cert set: CA cert, CA key if present, client cert and key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertSetEntry {
    /// Content-derived id (hex), also its directory name.
    pub id: String,
    /// Where it came from.
    pub role: CertRole,
    /// The CA certificate's fingerprint, `sha256:<hex>`.
    pub ca_fingerprint: String,
    /// The CA's short name (subject O or CN).
    #[serde(default)]
    pub ca_name: Option<String>,
    /// The CA's end of validity, RFC 3339.
    #[serde(default)]
    pub not_after: Option<String>,
    /// The client certificate's fingerprint.
    #[serde(default)]
    pub client_fingerprint: Option<String>,
    /// The client certificate's end of validity.
    #[serde(default)]
    pub client_not_after: Option<String>,
    /// The files carried.
    pub members: Vec<Member>,
    /// Members that could not be carried (`ca-key.pem` of a custom CA, usually).
    #[serde(default)]
    pub missing: Vec<String>,
    /// The machines that use it.
    #[serde(default)]
    pub machines: Vec<String>,
}

/// One file of a cert set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// `ca.pem`, `ca-key.pem`, `cert.pem` or `key.pem`.
    pub name: String,
    /// Its archive path, `certsets/<id>/<name>`.
    pub path: String,
    /// Every spelling of its location found in the machines' config.json files.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// One archived file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Archive path.
    pub path: String,
    /// Exact size in bytes.
    pub size: u64,
    /// Unix permission bits as octal text, e.g. `"0600"`.
    pub mode: String,
    /// Lowercase hex sha256 of the content.
    pub sha256: String,
}

/// A machine file left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    /// Where it would have been in the archive.
    pub path: String,
    /// Its size.
    pub size: u64,
    /// Why it was left out.
    pub why: String,
}

impl FileEntry {
    /// The mode as a number.
    pub fn mode_bits(&self) -> Option<u32> {
        u32::from_str_radix(&self.mode, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
    }
}

pub use crate::error::ManifestError;

impl Manifest {
    /// Total bytes of the archived files.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The file entry for an archive path.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Checks everything the importer relies on. The error says what is wrong, in one line.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.format != "mbundle" {
            return Err(ManifestError::Format(self.format.clone()));
        }
        if self.format_version != u64::from(FORMAT_VERSION) {
            return Err(ManifestError::Version {
                found: self.format_version,
                supported: FORMAT_VERSION,
            });
        }
        if self.files.len() > MAX_FILES {
            return Err(ManifestError::TooManyFiles {
                count: self.files.len(),
                max: MAX_FILES,
            });
        }
        self.check_share()?;
        let (machines, sets) = self.owners()?;
        let files = self.checked_files(&machines, &sets)?;
        // Claimed, by index into `files`: no second set of 4,000 paths to hash.
        let mut claimed = vec![false; self.files.len()];
        self.claim_machine_files(&files, &sets, &mut claimed)?;
        self.claim_set_files(&files, &mut claimed)?;
        if let Some(orphan) = self.files.iter().zip(&claimed).find(|(_, c)| !**c) {
            return Err(ManifestError::Orphan(orphan.0.path.clone()));
        }
        Ok(())
    }

    /// A share's teammate name, times and redacted field names: all shown to the user.
    fn check_share(&self) -> Result<(), ManifestError> {
        let malformed =
            |what: &'static str, value: &str, reason: String| ManifestError::Malformed {
                what,
                value: short(value),
                reason,
            };
        if let Some(share) = &self.share {
            crate::store::share::check_user(&share.shared_with)
                .map_err(|r| malformed("share recipient", &share.shared_with, r))?;
            for t in [&share.issued_at, &share.cert_not_after] {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| malformed("share time", t, "not an RFC 3339 time".into()))?;
            }
        }
        for m in &self.machines {
            for f in &m.redacted {
                crate::store::share::check_field_name(f)
                    .map_err(|r| malformed("redacted field", f, r))?;
            }
        }
        Ok(())
    }

    /// The machine names and cert set ids, each well-formed and listed once.
    fn owners(&self) -> Result<(BTreeSet<&str>, BTreeSet<&str>), ManifestError> {
        let mut machines = BTreeSet::new();
        for m in &self.machines {
            check_machine_name(&m.name).map_err(|reason| ManifestError::Malformed {
                what: "machine name",
                value: short(&m.name),
                reason,
            })?;
            if !machines.insert(m.name.as_str()) {
                return Err(ManifestError::ListedTwice {
                    what: "machine",
                    name: m.name.clone(),
                });
            }
        }
        let mut sets = BTreeSet::new();
        for s in &self.cert_sets {
            check_cert_set_id(&s.id).map_err(|reason| ManifestError::Malformed {
                what: "cert set id",
                value: short(&s.id),
                reason,
            })?;
            if !sets.insert(s.id.as_str()) {
                return Err(ManifestError::ListedTwice {
                    what: "cert set",
                    name: s.id.clone(),
                });
            }
        }
        Ok((machines, sets))
    }

    /// Files: well-formed, under a listed owner, unique, and no file is also a directory of
    /// another. Each path's index in `files`.
    fn checked_files(
        &self,
        machines: &BTreeSet<&str>,
        sets: &BTreeSet<&str>,
    ) -> Result<HashMap<&str, usize>, ManifestError> {
        // Hashed, not ordered: 4,000 paths sharing long prefixes made the ordered map's
        // comparisons most of the check (the first problem in list order is the one said).
        let mut files: HashMap<&str, usize> = HashMap::with_capacity(self.files.len());
        for (i, f) in self.files.iter().enumerate() {
            check_archive_path(&f.path).map_err(|reason| ManifestError::Malformed {
                what: "file path",
                value: short(&f.path),
                reason,
            })?;
            let mut comps = f.path.split('/');
            let owner_ok = match (comps.next(), comps.next()) {
                (Some(layout::MACHINES), Some(m)) => machines.contains(m),
                (Some(layout::CERTSETS), Some(s)) => sets.contains(s),
                _ => false,
            };
            if !owner_ok {
                return Err(ManifestError::NotOwned(f.path.clone()));
            }
            if f.sha256.len() != 64
                || !f
                    .sha256
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                return Err(ManifestError::BadSha256(f.path.clone()));
            }
            if f.mode_bits().is_none() {
                return Err(ManifestError::BadMode {
                    path: f.path.clone(),
                    mode: short(&f.mode),
                });
            }
            if files.insert(&f.path, i).is_some() {
                return Err(ManifestError::ListedTwice {
                    what: "file",
                    name: f.path.clone(),
                });
            }
        }
        // Every file has at least three components (check_archive_path): only a prefix of
        // three or more can be one, so `machines/<m>/<file>` has nothing to look up.
        for path in files.keys() {
            // The prefix ending at the k-th '/' (from 0) has k + 1 components.
            for end in path.match_indices('/').map(|(i, _)| i).skip(2) {
                let prefix = &path[..end];
                if files.contains_key(prefix) {
                    return Err(ManifestError::FileAndDirectory(prefix.to_string()));
                }
            }
        }
        Ok(files)
    }

    /// Every machine file is in its own directory and claimed once; cert sets exist.
    fn claim_machine_files(
        &self,
        files: &HashMap<&str, usize>,
        sets: &BTreeSet<&str>,
        claimed: &mut [bool],
    ) -> Result<(), ManifestError> {
        for m in &self.machines {
            let dir = layout::machine_prefix(&m.name);
            for p in &m.files {
                let Some(&i) = files.get(p.as_str()).filter(|_| p.starts_with(&dir)) else {
                    return Err(ManifestError::NotHeld {
                        machine: m.name.clone(),
                        path: p.clone(),
                    });
                };
                if std::mem::replace(&mut claimed[i], true) {
                    return Err(ManifestError::ClaimedTwice(p.clone()));
                }
            }
            if let Some(id) = &m.cert_set {
                if !sets.contains(id.as_str()) {
                    return Err(ManifestError::UnknownSet {
                        machine: m.name.clone(),
                        set: short(id),
                    });
                }
            }
        }
        Ok(())
    }

    /// Every cert set member is a known name, at its place, claimed once; each set has ca.pem.
    fn claim_set_files(
        &self,
        files: &HashMap<&str, usize>,
        claimed: &mut [bool],
    ) -> Result<(), ManifestError> {
        for s in &self.cert_sets {
            let mut names = BTreeSet::new();
            for mem in &s.members {
                if !CERT_MEMBERS.contains(&mem.name.as_str()) || !names.insert(mem.name.as_str()) {
                    return Err(ManifestError::UnexpectedMember {
                        set: s.id.clone(),
                        member: short(&mem.name),
                    });
                }
                let at = files
                    .get(mem.path.as_str())
                    .filter(|_| mem.path == layout::set_member(&s.id, &mem.name));
                let Some(&i) = at else {
                    return Err(ManifestError::MisplacedMember {
                        set: s.id.clone(),
                        member: mem.name.clone(),
                    });
                };
                if std::mem::replace(&mut claimed[i], true) {
                    return Err(ManifestError::ClaimedTwice(mem.path.clone()));
                }
            }
            if !names.contains(crate::store::CA_CERT) {
                return Err(ManifestError::NoCaCert(s.id.clone()));
            }
        }
        Ok(())
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

/// docker-machine's own rule (`^[a-zA-Z0-9][a-zA-Z0-9\-\.]*$`), plus a length bound, and never
/// `.`/`..`-like names.
pub fn check_machine_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty".into());
    }
    if name.len() > 255 {
        return Err(format!("{} characters is longer than 255", name.len()));
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(
            "a machine name is letters, digits, '-' and '.', starting with a letter or digit"
                .into(),
        );
    }
    Ok(())
}

/// Cert set ids are 16 lowercase hex digits.
pub fn check_cert_set_id(id: &str) -> Result<(), String> {
    if id.len() == 16 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err("not 16 lowercase hex digits".into())
    }
}

/// A relative path of plain components separated by `/`: no absolute paths, no `.` or `..`,
/// no empty components, no backslashes, no control characters, bounded lengths, at least
/// `<machines|cert_sets>/<owner>/<file>`.
pub fn check_archive_path(path: &str) -> Result<(), String> {
    if path.is_empty() || path.len() > 1024 {
        return Err("empty or longer than 1024 bytes".into());
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err("contains a control character or a backslash".into());
    }
    if path.starts_with('/') {
        return Err("absolute".into());
    }
    let comps: Vec<&str> = path.split('/').collect();
    if comps.len() < 3 {
        return Err("not inside a machine or cert set directory".into());
    }
    for c in &comps {
        if c.is_empty() || *c == "." || *c == ".." {
            return Err("has an empty, '.' or '..' component".into());
        }
        if c.len() > 255 {
            return Err("a component is longer than 255 bytes".into());
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Manifest {
        let file = |path: &str| FileEntry {
            path: path.into(),
            size: 3,
            mode: "0600".into(),
            sha256: "a".repeat(64),
        };
        Manifest {
            format: "mbundle".into(),
            format_version: 1,
            tool: "mbundle test".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            source: Source {
                os: SourceOs::Linux,
                store: "/home/a/.docker/machine".into(),
                separator: "/".into(),
                home: Some("/home/a".into()),
                exported_from: "/home/a/.docker/machine".into(),
                host_os: SourceOs::Linux,
            },
            machines: vec![MachineEntry {
                name: "web".into(),
                driver: "generic".into(),
                url: None,
                config_version: 3,
                cert_set: Some("0123456789abcdef".into()),
                store: "/home/a/.docker/machine".into(),
                files: vec!["machines/web/config.json".into()],
                absent: vec![],
                external: vec![],
                redacted: vec![],
            }],
            cert_sets: vec![CertSetEntry {
                id: "0123456789abcdef".into(),
                role: CertRole::Default,
                ca_fingerprint: "sha256:00".into(),
                ca_name: None,
                not_after: None,
                client_fingerprint: None,
                client_not_after: None,
                members: vec![Member {
                    name: "ca.pem".into(),
                    path: "certsets/0123456789abcdef/ca.pem".into(),
                    sources: vec![],
                }],
                missing: vec!["ca-key.pem".into()],
                machines: vec!["web".into()],
            }],
            files: vec![
                file("certsets/0123456789abcdef/ca.pem"),
                file("machines/web/config.json"),
            ],
            excluded: vec![],
            warnings: vec![],
            share: None,
        }
    }

    #[test]
    fn a_share_s_strings_are_checked_before_they_are_shown() {
        let mut m = sample();
        m.share = Some(ShareInfo {
            shared_with: "bob".into(),
            issued_at: "2026-11-24T10:00:00Z".into(),
            cert_not_after: "2029-11-08T10:00:00Z".into(),
            with_ssh_key: false,
            secrets_kept: false,
        });
        m.machines[0].redacted = vec!["Driver.SecretKey".into()];
        m.validate().unwrap();
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), m);
        let mut bad = m.clone();
        bad.share.as_mut().unwrap().shared_with = "bob\u{1b}]0;pwned\u{7}".into();
        assert!(bad.validate().is_err());
        let mut bad = m.clone();
        bad.machines[0].redacted = vec!["Driver.Secret Key; rm -rf".into()];
        assert!(bad.validate().is_err());
        // A bundle of this version without a share serializes as before.
        let plain = serde_json::to_string(&sample()).unwrap();
        assert!(!plain.contains("share") && !plain.contains("redacted"));
    }

    #[test]
    fn a_sound_manifest_validates_and_round_trips() {
        let m = sample();
        m.validate().unwrap();
        let json = serde_json::to_vec(&m).unwrap();
        let back: Manifest = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn hostile_names_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "-x",
            "a b",
            "a\0b",
            &"x".repeat(10_000),
        ] {
            let mut m = sample();
            m.machines[0].name = bad.to_string();
            assert!(m.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hostile_paths_are_refused() {
        for bad in [
            "/etc/passwd",
            "machines/web/../../x",
            "machines/web/./x",
            "machines/web//x",
            "machines/web",
            "machines/other/x",
            "certsets/ffffffffffffffff/ca.pem",
            "elsewhere/web/x",
            "machines/web/a\\b",
            "mbundle.json",
        ] {
            let mut m = sample();
            m.files[1].path = bad.to_string();
            m.machines[0].files[0] = bad.to_string();
            assert!(m.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn duplicates_orphans_and_bad_fields_are_refused() {
        let mut m = sample();
        m.files.push(m.files[1].clone());
        assert!(matches!(
            m.validate(),
            Err(ManifestError::ListedTwice { .. } | ManifestError::ClaimedTwice(_))
        ));

        let mut m = sample();
        m.machines[0].files.clear();
        assert!(matches!(m.validate(), Err(ManifestError::Orphan(_))));

        let mut m = sample();
        m.files[0].sha256 = "zz".into();
        assert!(m.validate().is_err());

        let mut m = sample();
        m.files[0].mode = "99999".into();
        assert!(m.validate().is_err());

        let mut m = sample();
        m.format_version = 2;
        assert!(m.validate().is_err());

        let mut m = sample();
        m.machines[0].cert_set = Some("ffffffffffffffff".into());
        assert!(m.validate().is_err());
    }

    #[test]
    fn every_file_is_claimed_exactly_once_by_its_owner() {
        // A machine listing one of its files twice.
        let mut m = sample();
        m.machines[0].files.push("machines/web/config.json".into());
        assert_eq!(
            m.validate(),
            Err(ManifestError::ClaimedTwice(
                "machines/web/config.json".into()
            ))
        );
        // A machine claiming a cert set's file.
        let mut m = sample();
        m.machines[0]
            .files
            .push("certsets/0123456789abcdef/ca.pem".into());
        assert!(matches!(m.validate(), Err(ManifestError::NotHeld { .. })));
        // A file the manifest lists that no machine names.
        let mut m = sample();
        m.machines[0].files.push("machines/web/id_rsa".into());
        assert!(matches!(m.validate(), Err(ManifestError::NotHeld { .. })));
        // A member at another set's place, or named twice.
        let mut m = sample();
        m.cert_sets[0].members[0].path = "certsets/0123456789abcdef/../ca.pem".into();
        assert!(matches!(
            m.validate(),
            Err(ManifestError::MisplacedMember { .. })
        ));
        let mut m = sample();
        let again = m.cert_sets[0].members[0].clone();
        m.cert_sets[0].members.push(again);
        assert!(matches!(
            m.validate(),
            Err(ManifestError::UnexpectedMember { .. })
        ));
        // The file of a member the set does not list is an orphan.
        let mut m = sample();
        m.cert_sets[0].members.clear();
        m.cert_sets[0].members.push(Member {
            name: "ca.pem".into(),
            path: "certsets/0123456789abcdef/ca.pem".into(),
            sources: vec![],
        });
        m.files.push(FileEntry {
            path: "certsets/0123456789abcdef/key.pem".into(),
            ..m.files[0].clone()
        });
        assert_eq!(
            m.validate(),
            Err(ManifestError::Orphan(
                "certsets/0123456789abcdef/key.pem".into()
            ))
        );
    }

    #[test]
    fn a_deeper_file_cannot_also_be_a_directory() {
        let mut m = sample();
        for p in [
            "machines/web/sub/x",
            "machines/web/sub",
            "machines/web/sub/x/y",
        ] {
            m.files.push(FileEntry {
                path: p.into(),
                ..m.files[1].clone()
            });
            m.machines[0].files.push(p.into());
        }
        assert!(matches!(
            m.validate(),
            Err(ManifestError::FileAndDirectory(p)) if p == "machines/web/sub" || p == "machines/web/sub/x"
        ));
    }

    #[test]
    fn a_file_cannot_also_be_a_directory() {
        let mut m = sample();
        m.files.push(FileEntry {
            path: "machines/web/config.json/x".into(),
            ..m.files[1].clone()
        });
        m.machines[0]
            .files
            .push("machines/web/config.json/x".into());
        let e = m.validate().unwrap_err();
        assert_eq!(
            e,
            ManifestError::FileAndDirectory("machines/web/config.json".into())
        );
        assert!(e.to_string().contains("both a file and a directory"));
    }
}
