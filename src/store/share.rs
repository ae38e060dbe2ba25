//! Machines shared with a teammate: the record a share leaves in the machine directory, the
//! teammate names a certificate may carry, and config.json as a teammate gets it: the fields
//! needed to reach and list the machine, everything else emptied (an allow-list).
//!
//! A share (`mbundle share`) gives a teammate a client certificate of their own and nothing
//! that lets them act as the owner: no CA key, no server key, no SSH key unless asked, and no
//! cloud credentials. Credentials are not looked for by name (a deny-list misses a fork's
//! `Driver.Auth` object, a token in a swarm discovery URL, a password in an install URL):
//! config.json keeps the fields of [`SHARED_FIELDS`] and every other value is emptied. What
//! each driver needs the emptied fields for is said ([`needed_for`]), so `import` and
//! `doctor` can tell the teammate which commands will not work until they are filled in.
//!
//! The record (`mbundle-share.json` beside config.json, carried as an ordinary machine file)
//! comes from a bundle: it is read bounded and every string in it is checked before use.

use std::fs;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The share record's name in a machine directory (docker-machine ignores it).
pub const SHARE_RECORD: &str = "mbundle-share.json";

/// Largest share record read.
const MAX_RECORD: u64 = 64 << 10;

/// What a machine directory says of the share it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRecord {
    /// The teammate the client certificate names.
    pub shared_with: String,
    /// When the share was made, RFC 3339.
    pub issued_at: String,
    /// The end of the client certificate's validity, RFC 3339.
    pub cert_not_after: String,
    /// The issuing CA's fingerprint, `sha256:<hex>`.
    pub ca_fingerprint: String,
    /// Whether the machine's SSH key came along.
    pub with_ssh_key: bool,
    /// config.json fields emptied by the share.
    #[serde(default)]
    pub redacted: Vec<String>,
    /// A scoped share: the certificate of the CA made for it, which signed the client
    /// certificate (PEM); only the machines of `scope` trust it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<String>,
    /// A scoped share: the machines it opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
}

/// Checks a teammate name (`--as`): it becomes a certificate subject and is shown in
/// listings, so it is a plain user or e-mail name: letters, digits, `. _ @ + -`, 1 to 64
/// characters, not starting with `-` or `.`.
pub fn check_user(user: &str) -> Result<(), String> {
    if user.is_empty() || user.len() > 64 {
        return Err("a name of 1 to 64 characters".into());
    }
    if user.starts_with(['-', '.']) {
        return Err("a name that does not start with '-' or '.'".into());
    }
    if let Some(c) = user
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-')))
    {
        return Err(format!("letters, digits and . _ @ + - only (not {:?})", c));
    }
    Ok(())
}

/// A dotted config.json field name as a share records it: `Driver.SecretKey`.
pub fn check_field_name(field: &str) -> Result<(), String> {
    let ok = !field.is_empty()
        && field.len() <= 200
        && field.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("{field:?} is not a config.json field name"))
    }
}

impl ShareRecord {
    /// Checks every string a bundle could have put in the record.
    pub fn validate(&self) -> Result<(), String> {
        check_user(&self.shared_with).map_err(|e| format!("shared_with: {e}"))?;
        for t in [&self.issued_at, &self.cert_not_after] {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map_err(|_| format!("{t:?} is not an RFC 3339 time"))?;
        }
        let fp = self.ca_fingerprint.strip_prefix("sha256:").unwrap_or("");
        if fp.len() != 64 || !fp.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("ca_fingerprint is not sha256:<hex>".into());
        }
        if self.redacted.len() > 100 {
            return Err("too many redacted fields".into());
        }
        for f in &self.redacted {
            check_field_name(f)?;
        }
        if let Some(ca) = &self.client_ca {
            // One certificate, a CA's: what the client certificate is checked against.
            let parsed = crate::pki::certs::parse_pem(ca.as_bytes())
                .map_err(|e| format!("client_ca: {e}"))?;
            if ca.len() > 16 << 10 || !parsed.is_ca {
                return Err("client_ca is not one CA certificate".into());
            }
        }
        if let Some(scope) = &self.scope {
            if scope.len() > 10_000 {
                return Err("too many machines in scope".into());
            }
            for m in scope {
                let ok = !m.is_empty()
                    && m.len() <= 255
                    && m.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                if !ok {
                    return Err("scope holds a name that is not a machine's".into());
                }
            }
        }
        Ok(())
    }
}

/// The share record of a machine directory: `None` when it has none (the machine is the
/// store's own), `Some(Err)` when it is unreadable or not a valid record.
pub fn read_record(machine_dir: &Path) -> Option<Result<ShareRecord, String>> {
    let path = machine_dir.join(SHARE_RECORD);
    let meta = fs::symlink_metadata(&path).ok()?;
    Some((|| {
        if !meta.is_file() {
            return Err(format!("{SHARE_RECORD} is not a regular file"));
        }
        let mut text = Vec::new();
        fs::File::open(&path)
            .and_then(|f| f.take(MAX_RECORD + 1).read_to_end(&mut text))
            .map_err(|e| format!("{SHARE_RECORD} is unreadable ({e})"))?;
        if text.len() as u64 > MAX_RECORD {
            return Err(format!("{SHARE_RECORD} is too large"));
        }
        let record: ShareRecord = serde_json::from_slice(&text)
            .map_err(|e| format!("{SHARE_RECORD} is not a share record ({e})"))?;
        record.validate().map(|()| record)
    })())
}

/// What a driver's cloud credentials are used for once the machine exists.
pub fn needed_for(driver: &str) -> String {
    let api = match driver {
        "amazonec2" => "the AWS EC2 API",
        "digitalocean" => "the DigitalOcean API",
        "azure" => "the Azure API",
        "exoscale" => "the Exoscale API",
        "openstack" => "the OpenStack API",
        "rackspace" => "the Rackspace API",
        "softlayer" => "the SoftLayer API",
        "vmwarevsphere" => "vCenter/ESXi",
        "vmwarevcloudair" => "vCloud Air",
        "google" => "the Google Compute Engine API",
        "hetzner" => "the Hetzner Cloud API",
        "linode" => "the Linode API",
        "scaleway" => "the Scaleway API",
        "packet" | "equinix" | "metal" => "the Equinix Metal API",
        "vultr" => "the Vultr API",
        "ovh" => "the OVH API",
        "cloudstack" => "the CloudStack API",
        "aliyunecs" => "the Alibaba Cloud ECS API",
        "otc" | "opentelekomcloud" => "the Open Telekom Cloud API",
        "harvester" => "the Harvester cluster",
        "upcloud" => "the UpCloud API",
        _ => "the driver's cloud API",
    };
    format!(
        "docker-machine start, stop, restart, kill, rm and status (and the STATE column of ls) call {api} with them; docker and env work without them"
    )
}

/// The config.json fields a teammate's store keeps: what docker-machine and mbundle need to
/// list the machine and reach its daemon (its name and driver, where it is, how to reach it
/// over SSH, where its TLS files are). Everything else is emptied by [`reduce_for_share`]:
/// an allow-list, so a credential in a field nobody listed (a fork's `Driver.Auth` object, a
/// token in `SwarmDiscovery`, a password in `InstallURL`, `UserData`, engine environment
/// variables) never travels.
pub const SHARED_FIELDS: &[&str] = &[
    "/ConfigVersion",
    "/DriverName",
    "/Name",
    "/Driver/IPAddress",
    "/Driver/PrivateIPAddress",
    "/Driver/UsePrivateIP",
    "/Driver/MachineName",
    "/Driver/SSHUser",
    "/Driver/SSHPort",
    "/Driver/SSHKeyPath",
    "/Driver/StorePath",
    "/Driver/EnginePort",
    "/Driver/URL",
    "/HostOptions/Driver",
    "/HostOptions/EngineOptions/TlsVerify",
    "/HostOptions/SwarmOptions/IsSwarm",
    "/HostOptions/SwarmOptions/Master",
    "/HostOptions/SwarmOptions/Agent",
    "/HostOptions/AuthOptions/CertDir",
    "/HostOptions/AuthOptions/CaCertPath",
    "/HostOptions/AuthOptions/CaPrivateKeyPath",
    "/HostOptions/AuthOptions/CaCertRemotePath",
    "/HostOptions/AuthOptions/ServerCertPath",
    "/HostOptions/AuthOptions/ServerKeyPath",
    "/HostOptions/AuthOptions/ClientKeyPath",
    "/HostOptions/AuthOptions/ServerCertRemotePath",
    "/HostOptions/AuthOptions/ServerKeyRemotePath",
    "/HostOptions/AuthOptions/ClientCertPath",
    "/HostOptions/AuthOptions/ServerCertSANs",
    "/HostOptions/AuthOptions/StorePath",
];

/// config.json as a teammate gets it: every field of [`SHARED_FIELDS`] as it is (a URL that
/// carries a user or password emptied all the same), every other value emptied in place
/// (`""`, `0`, `false`, `[]`; objects keep their keys, emptied the same way), so that
/// docker-machine still reads the file. Returns the dotted names of the fields that held
/// something (a name character other than letters, digits and `_` shown as `_`).
pub fn reduce_for_share(config: &mut Value) -> Vec<String> {
    let mut out = Vec::new();
    reduce(config, &mut String::new(), &mut String::new(), &mut out);
    out
}

fn reduce(v: &mut Value, pointer: &mut String, dotted: &mut String, out: &mut Vec<String>) {
    let keep = SHARED_FIELDS.contains(&pointer.as_str());
    match v {
        Value::String(s) if keep && !(pointer.as_str() == "/Driver/URL" && s.contains('@')) => {}
        Value::Object(obj) if !keep => {
            for (k, child) in obj.iter_mut() {
                let (p_len, d_len) = (pointer.len(), dotted.len());
                pointer.push('/');
                pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                if !dotted.is_empty() {
                    dotted.push('.');
                }
                dotted.extend(k.chars().map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                }));
                reduce(child, pointer, dotted, out);
                pointer.truncate(p_len);
                dotted.truncate(d_len);
            }
        }
        _ if keep && !v.is_string() => {}
        Value::Null => {}
        _ => {
            let empty = match v {
                Value::String(_) => Value::String(String::new()),
                Value::Number(_) => Value::from(0),
                Value::Bool(_) => Value::Bool(false),
                Value::Array(_) => Value::Array(Vec::new()),
                _ => Value::Null,
            };
            if *v != empty {
                *v = empty;
                out.push(dotted.clone());
            }
        }
    }
}

/// The value of a dotted field, if it is a string.
pub fn field_value<'v>(config: &'v Value, field: &str) -> Option<&'v str> {
    let mut at = config;
    for part in field.split('.') {
        at = at.get(part)?;
    }
    at.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_shared_config_keeps_only_what_reaches_and_lists_the_machine() {
        let mut c = json!({
            "ConfigVersion": 3,
            "DriverName": "google",
            "Name": "web",
            "Driver": {"AccessKey": "AKIA", "MachineName": "web", "IPAddress": "203.0.113.5",
                       "SSHUser": "docker", "SSHPort": 22, "SSHKeyPath": "/x/machines/web/id_rsa",
                       "Auth": {"ClientID": "id", "Secret": {"Deep": ["a", "b"]}},
                       "UserData": "#!/bin/sh\nexport TOKEN=t", "Tags": ["x"], "Count": 3,
                       "Preemptible": true, "URL": "tcp://u:pw@h:2376", "Nothing": null},
            "HostOptions": {
                "EngineOptions": {"Env": ["AWS_SECRET=s"], "RegistryMirror": ["https://u:p@m"],
                                  "InstallURL": "https://u:p@get", "TlsVerify": true},
                "SwarmOptions": {"Discovery": "token://abc", "IsSwarm": false},
                "AuthOptions": {"CaPrivateKeyPath": "/x/ca-key.pem", "ServerCertSANs": ["a.example"]}
            }
        });
        let removed = reduce_for_share(&mut c);
        assert_eq!(
            removed,
            [
                "Driver.AccessKey",
                "Driver.Auth.ClientID",
                "Driver.Auth.Secret.Deep",
                "Driver.UserData",
                "Driver.Tags",
                "Driver.Count",
                "Driver.Preemptible",
                "Driver.URL",
                "HostOptions.EngineOptions.Env",
                "HostOptions.EngineOptions.RegistryMirror",
                "HostOptions.EngineOptions.InstallURL",
                "HostOptions.SwarmOptions.Discovery",
            ]
        );
        let text = c.to_string();
        for secret in [
            "AKIA",
            "\"id\"",
            "TOKEN",
            "AWS_SECRET",
            "u:p",
            "pw@",
            "token://",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(c["Driver"]["SSHKeyPath"], "/x/machines/web/id_rsa");
        assert_eq!(c["Driver"]["SSHPort"], 22);
        assert_eq!(c["Driver"]["Auth"]["Secret"]["Deep"], json!([]));
        assert_eq!(c["HostOptions"]["EngineOptions"]["TlsVerify"], true);
        assert_eq!(
            c["HostOptions"]["AuthOptions"]["ServerCertSANs"],
            json!(["a.example"])
        );
        assert_eq!(c["Name"], "web");
        // Nothing left to remove the second time.
        assert!(reduce_for_share(&mut c).is_empty());
    }

    #[test]
    fn teammate_names_are_plain() {
        for ok in ["bob", "bob.smith@example.com", "ci-runner_2", "a+b"] {
            check_user(ok).unwrap();
        }
        for bad in [
            "",
            "-rf",
            ".hidden",
            "bob smith",
            "bob\n",
            "bob;rm",
            "$(id)",
            "é",
        ] {
            assert!(check_user(bad).is_err(), "{bad:?}");
        }
        assert!(check_user(&"a".repeat(65)).is_err());
    }

    #[test]
    fn a_hostile_record_is_refused() {
        let good = ShareRecord {
            shared_with: "bob".into(),
            issued_at: "2026-11-24T10:00:00Z".into(),
            cert_not_after: "2029-11-08T10:00:00Z".into(),
            ca_fingerprint: format!("sha256:{}", "ab".repeat(32)),
            with_ssh_key: false,
            redacted: vec!["Driver.SecretKey".into()],
            client_ca: None,
            scope: None,
        };
        good.validate().unwrap();
        // A scoped share's CA: one CA certificate, and machine names, nothing else.
        let mut bad = good.clone();
        bad.client_ca = Some("-----BEGIN CERTIFICATE-----\n$(rm -rf ~)\n".into());
        assert!(bad.validate().is_err());
        let mut bad = good.clone();
        bad.scope = Some(vec!["web".into(), "../../etc".into()]);
        assert!(bad.validate().is_err());
        let mut bad = good.clone();
        bad.shared_with = "bob\x1b[2J".into();
        assert!(bad.validate().is_err());
        let mut bad = good.clone();
        bad.redacted = vec!["Driver.$(id)".into()];
        assert!(bad.validate().is_err());
        let mut bad = good;
        bad.issued_at = "yesterday".into();
        assert!(bad.validate().is_err());
    }
}
