//! Stores generated on the fly with rcgen: a CA, a client cert and per-machine server certs
//! with whatever validity a test needs, and config.json as docker-machine 0.16 writes it for
//! the generic driver, with the store's real paths.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// An issued certificate and its key, in PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A CA able to sign leaves.
pub struct Ca {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

fn params(org: &str, not_after: OffsetDateTime, sans: &[&str]) -> CertificateParams {
    let mut p =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    // rcgen's default subject has CN "rcgen self signed cert": start from an empty one.
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::OrganizationName, org);
    p.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    p.not_after = not_after;
    p
}

impl Ca {
    pub fn new(org: &str, not_after: OffsetDateTime) -> Ca {
        let mut p = params(org, not_after, &[]);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// A client (no SANs) or server certificate.
    pub fn issue(
        &self,
        org: &str,
        not_after: OffsetDateTime,
        server_sans: Option<&[&str]>,
    ) -> Issued {
        let mut p = params(org, not_after, server_sans.unwrap_or(&[]));
        p.use_authority_key_identifier_extension = true;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = vec![if server_sans.is_some() {
            ExtendedKeyUsagePurpose::ServerAuth
        } else {
            ExtendedKeyUsagePurpose::ClientAuth
        }];
        let key = KeyPair::generate().unwrap();
        // A subject key identifier, as openssl writes one for every certificate: without it,
        // `openssl verify` takes a client certificate named like its CA (docker-machine names
        // both O=<user>) for a self-signed one.
        use sha2::Digest;
        let id = &sha2::Sha256::digest(key.public_key_der())[..20];
        let mut skid = vec![0x04, id.len() as u8];
        skid.extend_from_slice(id);
        p.custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[2, 5, 29, 14],
                skid,
            ));
        let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }
}

fn write_private(path: &Path, data: &str) {
    fs::write(path, data).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// Writes `<store>/certs/` for `ca` with a fresh client certificate.
pub fn write_certs(store: &Path, ca: &Ca, client_not_after: OffsetDateTime) {
    let client = ca.issue("tester", client_not_after, None);
    write_cert_files(&store.join("certs"), ca, &client);
}

/// `<dir>/{ca,ca-key,cert,key}.pem`: a CA and a client certificate, keys 0600.
fn write_cert_files(dir: &Path, ca: &Ca, client: &Issued) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
    write_private(&dir.join("ca-key.pem"), &ca.key.serialize_pem());
    fs::write(dir.join("cert.pem"), &client.cert_pem).unwrap();
    write_private(&dir.join("key.pem"), &client.key_pem);
}

/// `<store>/machines/<name>/` as docker-machine lays it out: copies of the store's
/// `ca.pem`, `cert.pem`, `key.pem`, the server certificate and key. Returns the directory.
fn write_machine_certs(store: &Path, name: &str, server: &Issued) -> PathBuf {
    let dir = store.join("machines").join(name);
    fs::create_dir_all(&dir).unwrap();
    for f in ["ca.pem", "cert.pem", "key.pem"] {
        fs::copy(store.join("certs").join(f), dir.join(f)).unwrap();
    }
    fs::write(dir.join("server.pem"), &server.cert_pem).unwrap();
    write_private(&dir.join("server-key.pem"), &server.key_pem);
    dir
}

/// A generic-driver config.json as docker-machine 0.16 writes it, every path spelled
/// under `spelled` with separator `sep`; `Driver.SSHKeyPath` names the machine's id_rsa
/// when `ssh_key` is set, else is empty.
fn generic_config(
    spelled: &str,
    sep: char,
    name: &str,
    ip: &str,
    port: u16,
    ssh_key: bool,
) -> String {
    let j = |parts: &[&str]| {
        let mut s = spelled.to_string();
        for p in parts {
            s.push(sep);
            s.push_str(p);
        }
        s
    };
    let ssh_key_path = if ssh_key {
        j(&["machines", name, "id_rsa"])
    } else {
        String::new()
    };
    docker_machine_json(&serde_json::json!({
        "ConfigVersion": 3,
        "Driver": {
            "IPAddress": ip, "MachineName": name, "SSHUser": "root", "SSHPort": 22,
            "SSHKeyPath": ssh_key_path, "StorePath": spelled,
            "SwarmMaster": false, "SwarmHost": "", "SwarmDiscovery": "", "EnginePort": port,
            "SSHKey": ""
        },
        "DriverName": "generic",
        "HostOptions": {
            "Driver": "", "Memory": 0, "Disk": 0,
            "AuthOptions": {
                "CertDir": j(&["certs"]),
                "CaCertPath": j(&["certs", "ca.pem"]),
                "CaPrivateKeyPath": j(&["certs", "ca-key.pem"]),
                "CaCertRemotePath": "",
                "ServerCertPath": j(&["machines", name, "server.pem"]),
                "ServerKeyPath": j(&["machines", name, "server-key.pem"]),
                "ClientKeyPath": j(&["certs", "key.pem"]),
                "ServerCertRemotePath": "", "ServerKeyRemotePath": "",
                "ClientCertPath": j(&["certs", "cert.pem"]),
                "ServerCertSANs": [],
                "StorePath": j(&["machines", name])
            }
        },
        "Name": name
    }))
}

/// Adds a generic-driver machine signed by `ca`, serving on `ip:port`, with copies of the
/// store's certs in its directory, as docker-machine lays it out. Returns its directory.
pub fn add_machine(
    store: &Path,
    ca: &Ca,
    name: &str,
    ip: &str,
    port: u16,
    server_not_after: OffsetDateTime,
) -> PathBuf {
    let server = ca.issue(
        &format!("tester.{name}"),
        server_not_after,
        Some(&["localhost", ip]),
    );
    let dir = write_machine_certs(store, name, &server);
    let config = generic_config(store.to_str().unwrap(), '/', name, ip, port, true);
    write_private(&dir.join("config.json"), &config);
    // The SSH key config.json names (its bytes do not matter to mbundle: it is carried,
    // private, as any key).
    let ssh_key = format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
        hex::encode(name.as_bytes())
    );
    write_private(&dir.join("id_rsa"), &ssh_key);
    dir
}

pub fn days(n: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::days(n)
}

/// JSON as Go's json.MarshalIndent(v, "", "    ") writes it, as docker-machine does.
pub fn docker_machine_json(v: &serde_json::Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser).unwrap();
    String::from_utf8(out).unwrap()
}

/// A CA with one client and one server certificate: what a docker-machine store holds.
pub struct Pki {
    pub ca: Ca,
    pub client: Issued,
    pub server: Issued,
}

impl Pki {
    /// Server certificate for `sans` (IPs or DNS names), as docker-machine issues it.
    pub fn new(org: &str, sans: &[&str]) -> Pki {
        let ca = Ca::new(org, days(1080));
        let client = ca.issue(org, days(1080), None);
        let server = ca.issue(&format!("{org}.dev"), days(1080), Some(sans));
        Pki { ca, client, server }
    }
}

/// Writes a store at `fs_root` whose config.json spells its paths as a store at `spelled`
/// (with separator `sep`) would: a store made on another computer (Windows, macOS) and
/// copied here. With `spelled == fs_root` it is a store made in place.
pub fn write_store(
    fs_root: &Path,
    spelled: &str,
    sep: char,
    pki: &Pki,
    name: &str,
    ip: &str,
    port: u16,
) {
    write_cert_files(&fs_root.join("certs"), &pki.ca, &pki.client);
    let dir = write_machine_certs(fs_root, name, &pki.server);
    let config = generic_config(spelled, sep, name, ip, port, false);
    write_private(&dir.join("config.json"), &config);
}
