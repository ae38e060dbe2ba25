//! Machines shared with a teammate: the record a share leaves in the machine directory, the
//! teammate names a certificate may carry, and the cloud credentials a share redacts from
//! config.json.
//!
//! A share (`mbundle share`) gives a teammate a client certificate of their own and nothing
//! that lets them act as the owner: no CA key, no server key, no SSH key unless asked, and no
//! cloud credentials. The credentials are named per driver, for the drivers docker-machine
//! ships and the plugins people use with it (GitLab Runner's docker+machine executor, Rancher
//! node drivers), and by name for any other driver: a field under `Driver` whose name says
//! password, secret, token, API key or access key. What each driver needs them for is said,
//! so `import` and `doctor` can tell the teammate which commands will not work until they are
//! filled in.
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

/// Known credential fields per driver (under `Driver`), beyond what the name rule finds.
fn known_fields(driver: &str) -> &'static [&'static str] {
    match driver {
        "amazonec2" => &["AccessKey", "SecretKey", "SessionToken"],
        "digitalocean" => &["AccessToken"],
        "azure" => &["ClientSecret"],
        "exoscale" => &["APIKey", "APISecretKey"],
        "openstack" => &["Password", "ApplicationCredentialSecret", "Token"],
        "rackspace" => &["APIKey", "Password"],
        "softlayer" => &["ApiKey"],
        "vmwarevsphere" => &["Password"],
        "vmwarevcloudair" => &["UserPassword", "Password"],
        "vmwarefusion" | "vmwareworkstation" => &["SSHPassword"],
        "hetzner" => &["AccessToken"],
        "linode" => &["APIToken", "RootPassword"],
        "scaleway" => &["Token"],
        "packet" | "equinix" | "metal" => &["ApiKey"],
        "vultr" => &["APIKey"],
        "ovh" => &["ApplicationKey", "ApplicationSecret", "ConsumerKey"],
        "cloudstack" => &["APIKey", "SecretKey"],
        "aliyunecs" => &["AccessKey", "SecretKey", "SSHPassword"],
        "otc" | "opentelekomcloud" => &["AccessKey", "SecretKey", "Password", "Token"],
        "harvester" => &["KubeConfigContent", "Password"],
        "upcloud" => &["Password"],
        _ => &[],
    }
}

/// Whether a `Driver` field's name says it holds a credential. Paths to key files
/// (`SSHKeyPath`, `PrivateKeyPath`...) are not credentials; the file they name is handled by
/// what the share carries.
fn credential_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if k.ends_with("path") || k.ends_with("file") || k.ends_with("dir") {
        return false;
    }
    [
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "accesskey",
        "access_key",
        "credential",
        "privatekey",
        "private_key",
        "kubeconfigcontent",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// Every credential field of a config.json that holds a value: dotted names under `Driver`
/// (nested objects too, as SoftLayer's `Driver.Client.ApiKey`).
#[cfg(test)]
pub fn credential_fields(config: &Value) -> Vec<String> {
    redact(&mut config.clone())
}

/// Empties the credential fields of a config.json; returns their names (a name character
/// other than letters, digits and `_` shown as `_`: the value is emptied all the same).
pub fn redact(config: &mut Value) -> Vec<String> {
    let driver = config
        .get("DriverName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let known = known_fields(&driver);
    let mut out = Vec::new();
    if let Some(d) = config.get_mut("Driver") {
        walk(d, "Driver", known, 0, &mut out);
    }
    out
}

fn walk(v: &mut Value, at: &str, known: &[&str], depth: usize, out: &mut Vec<String>) {
    let Some(obj) = v.as_object_mut() else { return };
    if depth > 8 {
        return;
    }
    for (k, child) in obj.iter_mut() {
        let plain: String = k
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let field = format!("{at}.{plain}");
        match child {
            Value::String(s)
                if !s.is_empty()
                    && ((depth == 0 && known.contains(&k.as_str())) || credential_name(k)) =>
            {
                s.clear();
                out.push(field);
            }
            Value::Object(_) => walk(child, &field, known, depth + 1, out),
            _ => {}
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
    fn cloud_credentials_are_found_by_driver_and_by_name() {
        let mut c = json!({
            "DriverName": "amazonec2",
            "Driver": {"AccessKey": "AKIA", "SecretKey": "s3", "SessionToken": "",
                       "SSHKeyPath": "/x/id_rsa", "Region": "eu-west-1",
                       "Client": {"ApiKey": "nested"}},
            "HostOptions": {"AuthOptions": {"CaPrivateKeyPath": "/x/ca-key.pem"}}
        });
        assert_eq!(
            redact(&mut c),
            [
                "Driver.AccessKey",
                "Driver.SecretKey",
                "Driver.Client.ApiKey"
            ]
        );
        assert_eq!(c["Driver"]["AccessKey"], "");
        assert_eq!(c["Driver"]["Client"]["ApiKey"], "");
        assert_eq!(c["Driver"]["SSHKeyPath"], "/x/id_rsa");
        assert_eq!(c["Driver"]["Region"], "eu-west-1");
        assert_eq!(
            c["HostOptions"]["AuthOptions"]["CaPrivateKeyPath"],
            "/x/ca-key.pem"
        );
    }

    #[test]
    fn unknown_drivers_lose_what_their_names_call_secret() {
        let c = json!({"DriverName": "acme", "Driver": {
            "ApiToken": "t", "UserPassword": "p", "ClientSecretValue": "s",
            "PrivateKeyPath": "/k", "Zone": "z", "OVHAccessKey": "a"}});
        assert_eq!(
            credential_fields(&c),
            [
                "Driver.ApiToken",
                "Driver.UserPassword",
                "Driver.ClientSecretValue",
                "Driver.OVHAccessKey"
            ]
        );
        let ovh =
            json!({"DriverName": "ovh", "Driver": {"ApplicationKey": "k", "ConsumerKey": "c"}});
        assert_eq!(
            credential_fields(&ovh),
            ["Driver.ApplicationKey", "Driver.ConsumerKey"]
        );
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
        };
        good.validate().unwrap();
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
