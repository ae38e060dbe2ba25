//! Where an imported machine's config.json may point: its own directory and the cert set
//! placed for it, nothing else of the store (not `certs/ca-key.pem` when its set went to
//! `imported-certs/`, not another machine's keys), nothing outside it; and its name fields
//! must be its name. Pure: a parsed config.json in, problems (one line each) out.

use serde_json::Value;

use crate::store::fields::shown;
use crate::store::paths::ForeignPath;

/// config.json fields naming files or directories docker-machine creates or overwrites.
pub(super) const WRITTEN_FIELDS: &[&[&str]] = &[
    &["HostOptions", "AuthOptions", "CertDir"],
    &["HostOptions", "AuthOptions", "CaCertPath"],
    &["HostOptions", "AuthOptions", "CaPrivateKeyPath"],
    &["HostOptions", "AuthOptions", "PrivateKeyPath"],
    &["HostOptions", "AuthOptions", "ClientCertPath"],
    &["HostOptions", "AuthOptions", "ClientKeyPath"],
    &["HostOptions", "AuthOptions", "ServerCertPath"],
    &["HostOptions", "AuthOptions", "ServerKeyPath"],
    &["HostOptions", "AuthOptions", "StorePath"],
    &["Driver", "StorePath"],
    &["Driver", "SSHKeyPath"],
    &["StorePath"],
];

/// `Name` and `Driver.MachineName` other than the machine's name `name`: docker-machine
/// writes them equal, and `docker-machine rm` removes the VM that MachineName names.
pub(super) fn name_problems(config: &Value, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for pointer in ["/Name", "/Driver/MachineName"] {
        match config.pointer(pointer) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s == name => {}
            Some(other) => out.push(format!(
                "{} {} is not the machine's name {name:?}: docker-machine writes them equal, and `docker-machine rm` would remove the VM it names",
                pointer[1..].replace('/', "."),
                shown(&other.as_str().map_or_else(|| other.to_string(), str::to_string)),
            )),
        }
    }
    out
}

/// Every path field ([`WRITTEN_FIELDS`]) of a rewritten config.json that points anywhere but
/// where [`reaches`] allows, for machine `target` of the store at `root` whose cert set lies
/// at `set_dir`.
pub(super) fn path_problems(
    config: &Value,
    root: &ForeignPath,
    target: &str,
    set_dir: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    for field in WRITTEN_FIELDS {
        let Some(s) = crate::store::str_at(config, field) else {
            continue;
        };
        if s.is_empty() {
            continue;
        }
        let rest = ForeignPath::parse(s)
            .as_ref()
            .and_then(|p| p.strip_prefix(root).map(<[String]>::to_vec));
        if let Err(why) = reaches(field, rest.as_deref(), target, set_dir) {
            out.push(format!("{} {} {why}", field.join("."), shown(s)));
        }
    }
    out
}

/// Whether a path field may point where it does: `rest` is the path's components under the
/// store root (`None`: outside the store). Store paths name the store or the machine's
/// directory; the server's and SSH's keys lie in the machine's directory; certificate fields
/// there or in its placed cert set.
fn reaches(
    field: &[&str],
    rest: Option<&[String]>,
    target: &str,
    set_dir: Option<&str>,
) -> Result<(), String> {
    let Some(rest) = rest else {
        return Err("is outside the store; docker-machine would write there".into());
    };
    if !crate::store::paths::all_plain(rest) {
        return Err("is not a plain path".into());
    }
    let under = |dir: &[&str], strictly: bool| {
        rest.len() >= dir.len() + usize::from(strictly) && rest.iter().zip(dir).all(|(a, b)| a == b)
    };
    let own = ["machines", target];
    let set: Vec<&str> = set_dir.map_or_else(Vec::new, |d| d.split('/').collect());
    let in_set = !set.is_empty() && under(&set, false);
    let ok = match field.last().copied() {
        Some("StorePath") => rest.is_empty() || under(&own, false),
        Some("ServerCertPath" | "ServerKeyPath" | "SSHKeyPath") => under(&own, true),
        // The directory docker-machine makes at create; every machine made with a custom
        // CA still names the store's certs/ here. Nothing is read through it.
        Some("CertDir") => rest == ["certs"] || under(&own, false) || in_set,
        _ => under(&own, false) || in_set,
    };
    if ok {
        return Ok(());
    }
    Err(match set_dir {
        Some(d) => format!("points outside the machine's own directory and its cert set ({d}/)"),
        None => "points outside the machine's own directory (it carries no cert set)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(field: &str, path: &str, set_dir: Option<&str>) -> Result<(), String> {
        let root = ForeignPath::parse("/home/v/.docker/machine").unwrap();
        let mut config = serde_json::json!({});
        let parts: Vec<&str> = field.split('.').collect();
        let mut at = &mut config;
        for p in &parts[..parts.len() - 1] {
            at = at
                .as_object_mut()
                .unwrap()
                .entry(*p)
                .or_insert(serde_json::json!({}));
        }
        at[parts[parts.len() - 1]] = path.into();
        match path_problems(&config, &root, "web", set_dir).as_slice() {
            [] => Ok(()),
            [one] => Err(one.clone()),
            many => panic!("{many:?}"),
        }
    }

    #[test]
    fn a_machine_reaches_only_its_directory_and_its_cert_set() {
        let s = "/home/v/.docker/machine";
        let set = Some("imported-certs/0123456789abcdef");
        let ok = [
            ("Driver.StorePath", s.to_string(), set),
            (
                "HostOptions.AuthOptions.StorePath",
                format!("{s}/machines/web"),
                set,
            ),
            ("Driver.SSHKeyPath", format!("{s}/machines/web/id_rsa"), set),
            (
                "HostOptions.AuthOptions.ServerKeyPath",
                format!("{s}/machines/web/server-key.pem"),
                set,
            ),
            (
                "HostOptions.AuthOptions.CaCertPath",
                format!("{s}/imported-certs/0123456789abcdef/ca.pem"),
                set,
            ),
            (
                "HostOptions.AuthOptions.CaPrivateKeyPath",
                format!("{s}/imported-certs/0123456789abcdef/ca-key.pem"),
                set,
            ),
            (
                "HostOptions.AuthOptions.ClientKeyPath",
                format!("{s}/machines/web/key.pem"),
                None,
            ),
            (
                "HostOptions.AuthOptions.CaPrivateKeyPath",
                format!("{s}/certs/ca-key.pem"),
                Some("certs"),
            ),
            ("HostOptions.AuthOptions.CertDir", format!("{s}/certs"), set),
            (
                "HostOptions.AuthOptions.CertDir",
                format!("{s}/imported-certs/0123456789abcdef"),
                set,
            ),
        ];
        for (field, path, set_dir) in ok {
            assert_eq!(check(field, &path, set_dir), Ok(()), "{field} {path}");
        }
    }

    #[test]
    fn the_victim_s_ca_key_another_machine_s_keys_and_outside_paths_are_refused() {
        let s = "/home/v/.docker/machine";
        let set = Some("imported-certs/0123456789abcdef");
        let refused = [
            // The victim's own CA key, when the set went elsewhere or there is none.
            (
                "HostOptions.AuthOptions.CaPrivateKeyPath",
                format!("{s}/certs/ca-key.pem"),
                set,
            ),
            (
                "HostOptions.AuthOptions.CaPrivateKeyPath",
                format!("{s}/certs/ca-key.pem"),
                None,
            ),
            (
                "HostOptions.AuthOptions.CaCertPath",
                format!("{s}/certs/ca.pem"),
                set,
            ),
            // Another machine's keys, another set.
            (
                "HostOptions.AuthOptions.ServerKeyPath",
                format!("{s}/machines/db/server-key.pem"),
                set,
            ),
            ("Driver.SSHKeyPath", format!("{s}/machines/db/id_rsa"), set),
            ("Driver.SSHKeyPath", format!("{s}/machines/web"), set),
            (
                "Driver.SSHKeyPath",
                format!("{s}/machines/webx/id_rsa"),
                set,
            ),
            (
                "HostOptions.AuthOptions.ClientKeyPath",
                format!("{s}/imported-certs/fedcba9876543210/key.pem"),
                set,
            ),
            (
                "HostOptions.AuthOptions.ServerKeyPath",
                format!("{s}/imported-certs/0123456789abcdef/ca-key.pem"),
                set,
            ),
            // A store path elsewhere, outside the store, not plain.
            ("Driver.StorePath", format!("{s}/machines"), set),
            ("Driver.StorePath", format!("{s}/machines/db"), set),
            (
                "HostOptions.AuthOptions.CaCertPath",
                "/etc/passwd".into(),
                set,
            ),
            (
                "HostOptions.AuthOptions.CaCertPath",
                format!("{s}/machines/web/../../certs/ca.pem"),
                set,
            ),
            ("HostOptions.AuthOptions.CaCertPath", "ca.pem".into(), set),
        ];
        for (field, path, set_dir) in refused {
            assert!(
                check(field, &path, set_dir).is_err(),
                "{field} {path} {set_dir:?}"
            );
        }
    }

    #[test]
    fn names_must_be_the_machine_s() {
        assert!(name_problems(
            &serde_json::json!({"Name": "web", "Driver": {"MachineName": "web"}}),
            "web"
        )
        .is_empty());
        assert!(name_problems(&serde_json::json!({"Driver": {}}), "web").is_empty());
        assert_eq!(
            name_problems(
                &serde_json::json!({"Name": "web", "Driver": {"MachineName": "db"}}),
                "web"
            )
            .len(),
            1
        );
        assert_eq!(
            name_problems(&serde_json::json!({"Name": 3}), "web").len(),
            1
        );
    }
}
