//! The config.json fields that end up as shell words and host names (`Driver.SSHUser`,
//! `SSHPort`, `IPAddress`, `URL`, `SSHKeyPath`): what docker-machine could have written in
//! each, so that anything else, from a crafted bundle or a tampered store, is named and
//! refused (import) or flagged (doctor) before it reaches text a person pastes into a shell.
//!
//! Pure: strings in, problems out.

use serde_json::Value;

/// One field holding a value no docker-machine could have written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// The JSON path, e.g. `Driver.SSHUser`.
    pub field: &'static str,
    /// The value, escaped for display (never raw control characters).
    pub value: String,
    /// Why it is refused.
    pub reason: String,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.field, self.value, self.reason)
    }
}

/// A value shown in a message: quoted and escaped, at most 80 characters.
pub fn shown(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    let more = if s.chars().count() > 80 { "..." } else { "" };
    format!("{:?}{more}", cut)
}

/// A user name as ssh and useradd take them: letters, digits, `_`, `.`, `-` (not first),
/// optionally ending in `$`; at most 64 characters. What docker-machine's drivers write
/// (`docker`, `ubuntu`, `root`, `core`, `rancher`, `--generic-ssh-user` values).
pub fn check_user(u: &str) -> Result<(), String> {
    if u.is_empty() {
        return Err("is empty".into());
    }
    if u.len() > 64 {
        return Err("is longer than 64 characters".into());
    }
    if u.starts_with('-') {
        return Err("begins with '-', which ssh and scp would read as an option".into());
    }
    let body = u.strip_suffix('$').unwrap_or(u);
    if !body
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err("is not a user name (letters, digits, '_', '.', '-')".into());
    }
    Ok(())
}

/// A host: an IPv4 or IPv6 address, or a DNS name (letters, digits, `-`, `_` and dots,
/// labels not beginning with `-`, at most 253 characters).
pub fn check_host(h: &str) -> Result<(), String> {
    let bare = h
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(h);
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if h.is_empty() {
        return Err("has no host".into());
    }
    if h.len() > 253 {
        return Err("is longer than a host name can be".into());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if !h.trim_end_matches('.').split('.').all(label_ok) {
        return Err("is neither an IP address nor a host name".into());
    }
    Ok(())
}

/// A TCP port: 1 to 65535.
pub fn check_port_text(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 && p.chars().all(|c| c.is_ascii_digit()) => Ok(n),
        _ => Err("has a port that is not a number from 1 to 65535".into()),
    }
}

/// `host` or `host:port` (IPv6 in brackets), as the none driver writes `IPAddress`.
pub fn check_address(a: &str) -> Result<(), String> {
    if check_host(a).is_ok() {
        return Ok(());
    }
    match a.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty() && (!host.contains(':') || host.starts_with('[')) =>
        {
            check_host(host)?;
            check_port_text(port).map(|_| ())
        }
        _ => check_host(a),
    }
}

/// The daemon URL: `tcp://host:port`.
pub fn check_url(u: &str) -> Result<(), String> {
    let Some(rest) = u.strip_prefix("tcp://") else {
        return Err("is not a tcp:// URL".into());
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let Some((host, port)) = rest.rsplit_once(':') else {
        return Err("has no port".into());
    };
    if host.contains(':') && !host.starts_with('[') {
        return Err("has an IPv6 address outside brackets".into());
    }
    check_host(host)?;
    check_port_text(port).map(|_| ())
}

/// A local file path: no control characters (a newline ends a shell command), and absolute
/// in the style of some OS (`/...`, `C:\...`, `\\server\...`).
pub fn check_local_path(p: &str) -> Result<(), String> {
    if p.chars().any(char::is_control) {
        return Err("contains a control character (a newline would end a shell command)".into());
    }
    let b = p.as_bytes();
    let windows =
        b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/');
    if !(p.starts_with('/') || p.starts_with("\\\\") || windows) {
        return Err("is not an absolute path".into());
    }
    Ok(())
}

/// Every driver field of `config` that holds what no docker-machine could have written.
/// Absent and empty fields are fine (drivers without SSH leave them so).
pub fn problems(config: &Value) -> Vec<FieldProblem> {
    let mut out = Vec::new();
    let driver = config.get("Driver");
    let mut text =
        |field: &'static str, key: &str, check: fn(&str) -> Result<(), String>| match driver
            .and_then(|d| d.get(key))
        {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) => {
                if let Err(reason) = check(s) {
                    out.push(FieldProblem {
                        field,
                        value: shown(s),
                        reason,
                    });
                }
            }
            Some(other) => out.push(FieldProblem {
                field,
                value: shown(&other.to_string()),
                reason: "is not a string".into(),
            }),
        };
    text("Driver.SSHUser", "SSHUser", check_user);
    text("Driver.IPAddress", "IPAddress", check_address);
    text("Driver.URL", "URL", check_url);
    text("Driver.SSHKeyPath", "SSHKeyPath", check_local_path);
    let sans = config.pointer("/HostOptions/AuthOptions/ServerCertSANs");
    match sans {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for v in list {
                let problem = match v {
                    Value::String(s) => check_host(s).err(),
                    _ => Some("is not a string".into()),
                };
                if let Some(reason) = problem {
                    out.push(FieldProblem {
                        field: "HostOptions.AuthOptions.ServerCertSANs",
                        value: shown(v.as_str().unwrap_or(&v.to_string())),
                        reason: format!("{reason} (a SAN is a host name or an IP address)"),
                    });
                }
            }
        }
        Some(other) => out.push(FieldProblem {
            field: "HostOptions.AuthOptions.ServerCertSANs",
            value: shown(&other.to_string()),
            reason: "is not a list of host names and IP addresses".into(),
        }),
    }
    match driver.and_then(|d| d.get("SSHPort")) {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some_and(|p| p <= 65535) => {}
        Some(other) => out.push(FieldProblem {
            field: "Driver.SSHPort",
            value: shown(&other.to_string()),
            reason: "is not a port number from 0 to 65535".into(),
        }),
    }
    out
}

/// The host part of a `tcp://host:port` URL.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().map(str::to_string);
    }
    let host = authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(authority);
    (!host.is_empty()).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_docker_machine_writes_passes() {
        for u in [
            "docker", "ubuntu", "root", "core", "rancher", "ec2-user", "svc_ci", "m$",
        ] {
            check_user(u).unwrap();
        }
        for a in [
            "203.0.113.10",
            "10.0.0.5:2376",
            "fe80::1",
            "[fe80::1]:2376",
            "web.example.com",
            "my_host",
        ] {
            check_address(a).unwrap_or_else(|e| panic!("{a}: {e}"));
        }
        for u in [
            "tcp://203.0.113.10:2376",
            "tcp://[fe80::1]:2376",
            "tcp://web.example.com:2376/",
        ] {
            check_url(u).unwrap_or_else(|e| panic!("{u}: {e}"));
        }
        for p in [
            "/home/a/.docker/machine/machines/web/id_rsa",
            "C:\\Users\\José\\.docker\\machine\\machines\\hv\\id_rsa",
            "/srv/my store/id_rsa",
        ] {
            check_local_path(p).unwrap();
        }
    }

    #[test]
    fn shell_syntax_and_options_are_refused() {
        for u in [
            "root; touch X; echo ",
            "-oProxyCommand=touch X",
            "a b",
            "$(id)",
            "`id`",
            "a\nb",
            "root@host",
            "",
        ] {
            assert!(check_user(u).is_err(), "{u:?}");
        }
        for a in [
            "$(touch X)",
            "1.2.3.4; touch X",
            "-oProxyCommand=x",
            "host:22:33",
            "a..b",
            "1.2.3.4:99999",
            "1.2.3.4:-1",
        ] {
            assert!(check_address(a).is_err(), "{a:?}");
        }
        for u in [
            "tcp://$(touch X):2376",
            "http://1.2.3.4:2376",
            "tcp://1.2.3.4",
            "tcp://1.2.3.4:23x",
            "tcp://fe80::1:2376",
        ] {
            assert!(check_url(u).is_err(), "{u:?}");
        }
        for p in ["relative/id_rsa", "/a\nb", "/a\rb", "id_rsa"] {
            assert!(check_local_path(p).is_err(), "{p:?}");
        }
    }

    #[test]
    fn problems_name_each_field() {
        let c = serde_json::json!({"Driver": {
            "SSHUser": "root; touch X", "SSHPort": "22; touch X", "IPAddress": "1.2.3.4",
            "URL": "tcp://$(x):1", "SSHKeyPath": "/ok/id_rsa"
        }});
        let fields: Vec<&str> = problems(&c).iter().map(|p| p.field).collect();
        assert_eq!(fields, ["Driver.SSHUser", "Driver.URL", "Driver.SSHPort"]);
        let none = serde_json::json!({"Driver": {"SSHUser": "", "SSHPort": 0, "URL": ""}});
        assert!(problems(&none).is_empty());
        assert!(problems(&serde_json::json!({})).is_empty());
    }

    proptest::proptest! {
        /// Whatever passes holds no quote, separator, whitespace, `$(...)` or backtick, and
        /// never begins like an option: letters, digits and `-_.:/` only, `[]` around an IPv6
        /// address (quoted wherever printed) and a user name's final `$`.
        #[test]
        fn what_passes_is_shell_inert(s in "\\PC{0,40}|[-a-zA-Z0-9_.:\\[\\]$@/ ;`'\"|&*?~!]{0,40}") {
            let inert = |v: &str| v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:[]/$".contains(c))
                && !v.starts_with('-');
            if check_user(&s).is_ok() {
                proptest::prop_assert!(inert(&s) && !s[..s.len().saturating_sub(1)].contains('$'), "{s:?}");
            }
            if check_address(&s).is_ok() {
                proptest::prop_assert!(inert(&s) && !s.contains('$'), "{s:?}");
            }
            if let Some(rest) = s.strip_prefix("tcp://") {
                if check_url(&s).is_ok() {
                    proptest::prop_assert!(inert(rest) && !rest.contains('$'), "{s:?}");
                }
            }
        }
    }
}
