//! The daemon's configuration file against its command line. dockerd refuses to start when a
//! setting is given both ways ("the following directives are specified both as a flag and in
//! the configuration file"), and a reload (SIGHUP) with such a file fails with only a log line:
//! whoever adds a key to daemon.json on a host (live-restore, before a restart that must keep
//! containers running) must first know no key there duplicates a flag.

use serde_json::Value;

/// The daemon.json key a dockerd flag sets (`--tlscacert` -> `tlscacert`, `-H` -> `hosts`);
/// `None` for what is not a flag.
pub fn flag_key(arg: &str) -> Option<String> {
    let name = arg.split('=').next()?;
    let long = match name {
        "-H" => "host",
        "-D" => "debug",
        "-l" => "log-level",
        "-G" => "group",
        "-b" => "bridge",
        "-p" => "pidfile",
        "-s" => "storage-driver",
        "-g" => "graph",
        n if n.starts_with("--") && n.len() > 2 => &n[2..],
        _ => return None,
    };
    // Flags given once per value are plural in the file.
    let key = match long {
        "host" => "hosts",
        "label" => "labels",
        "insecure-registry" => "insecure-registries",
        "registry-mirror" => "registry-mirrors",
        "storage-opt" => "storage-opts",
        "log-opt" => "log-opts",
        "exec-opt" => "exec-opts",
        "default-ulimit" => "default-ulimits",
        "add-runtime" => "runtimes",
        "authorization-plugin" => "authorization-plugins",
        "dns-opt" => "dns-opts",
        "default-address-pool" => "default-address-pools",
        "node-generic-resource" => "node-generic-resources",
        "cluster-store-opt" => "cluster-store-opts",
        other => other,
    };
    Some(key.to_string())
}

/// The keys of `daemon_json` that dockerd's command line `args` (the program first) also
/// sets, each with the flag: (key, flag).
pub fn duplicated(daemon_json: &Value, args: &[String]) -> Vec<(String, String)> {
    let Some(obj) = daemon_json.as_object() else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for a in args.iter().skip(1).filter(|a| a.starts_with('-')) {
        if let Some(key) = flag_key(a) {
            if obj.contains_key(&key) && !out.iter().any(|(k, _)| *k == key) {
                out.push((key, a.split('=').next().unwrap_or(a).to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_that_a_flag_also_sets_are_found() {
        let args: Vec<String> = [
            "/usr/sbin/dockerd",
            "-H",
            "tcp://0.0.0.0:2376",
            "--tlscacert=/etc/docker/ca.pem",
            "--label",
            "provider=generic",
            "--storage-driver",
            "overlay2",
        ]
        .map(String::from)
        .to_vec();
        let file = json!({"hosts": ["unix:///x"], "tlscacert": "/y", "labels": ["a"], "live-restore": true, "debug": true});
        let dup = duplicated(&file, &args);
        let keys: Vec<&str> = dup.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["hosts", "tlscacert", "labels"]);
        assert_eq!(dup[0].1, "-H");
        assert!(duplicated(&json!({"live-restore": true}), &args).is_empty());
        assert!(duplicated(&json!([1]), &args).is_empty());
        assert_eq!(flag_key("tcp://x"), None);
    }
}
