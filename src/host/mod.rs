//! The docker host behind a machine: how to reach it over SSH as docker-machine does
//! ([`target`]), the SSH client with the host key pinned in the store ([`ssh`]), and what
//! its running daemon really uses ([`probe`]). Everything a host answers is input: parsed and
//! checked before it is used or shown.

pub mod daemon;
pub mod note;
pub mod probe;
pub mod ssh;
pub mod swap;
pub mod tls;

use std::path::PathBuf;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::fields::{check_host, check_user, shown};
use crate::store::Machine;

/// Where and as whom a machine's host takes SSH, as docker-machine's driver computes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTarget {
    /// The user (`Driver.SSHUser`; docker-machine's default for the driver when empty).
    pub user: String,
    /// The host name or address.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The machine's private key, in its own directory.
    pub key: PathBuf,
    /// The control socket of a connection its sessions share ([`ssh::Shared`]); none: each
    /// session connects on its own.
    pub control: Option<PathBuf>,
}

/// Where docker-machine's provisioner left a host's TLS files and how it restarts docker
/// there, as its driver tells (the probe of the running daemon is the truth; this is what
/// printed instructions can say without asking the host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Provisioned {
    /// The directory of `ca.pem`, `server.pem`, `server-key.pem`.
    pub tls_dir: &'static str,
    /// The command that restarts docker.
    pub restart: &'static str,
    /// The command that makes dockerd read daemon.json again, without a restart.
    pub reload: &'static str,
}

/// boot2docker (the local VM drivers' ISO) or systemd (everything docker-machine installs
/// docker on itself).
pub fn provisioned(driver: &str) -> Provisioned {
    if crate::store::LOCAL_VM_DRIVERS.contains(&driver) {
        Provisioned {
            tls_dir: "/var/lib/boot2docker",
            restart: "sudo /etc/init.d/docker restart",
            reload: "sudo kill -HUP $(pidof dockerd)",
        }
    } else {
        Provisioned {
            tls_dir: "/etc/docker",
            restart: "sudo systemctl restart docker",
            reload: "sudo systemctl reload docker",
        }
    }
}

/// The store's side of a TLS connection to machine `m`'s daemon, as the docker CLI would
/// use it: the CA that issued the machine and the client pair, PEM.
pub struct ClientPem {
    /// The CA certificate.
    pub ca: Vec<u8>,
    /// The client certificate.
    pub cert: Vec<u8>,
    /// The client key.
    pub key: zeroize::Zeroizing<Vec<u8>>,
}

impl ClientPem {
    /// Reads them where machine `m`'s config.json names them (bounded reads); `Err` names
    /// the first one missing or unreadable.
    pub fn of(store: &crate::store::Store, m: &Machine) -> std::result::Result<ClientPem, String> {
        use crate::store::{CA_CERT, CLIENT_CERT, CLIENT_KEY};
        let material = m.issuing_material(store);
        let read = |name: &str| {
            material
                .iter()
                .find(|f| f.name == name)
                .and_then(|f| crate::store::read_pem_file(&f.local).ok())
                .ok_or_else(|| format!("the store has no readable {name} for {}", m.name))
        };
        // During a rotation of the store's CA, its client trusts the old and the new CA.
        let ca = read(CA_CERT)?;
        let ca = match material.iter().find(|f| f.name == CA_CERT) {
            Some(f) => crate::store::rotation::with_next(&store.root, &f.local, &ca),
            None => ca,
        };
        Ok(ClientPem {
            ca,
            cert: read(CLIENT_CERT)?,
            key: zeroize::Zeroizing::new(read(CLIENT_KEY)?),
        })
    }

    /// A TLS client with these files for the daemon at `host:port`.
    pub fn client<'a>(&'a self, host: &'a str, port: u16) -> tls::Client<'a> {
        tls::Client {
            host,
            port,
            ca_pem: &self.ca,
            cert_pem: &self.cert,
            key_pem: &self.key,
        }
    }
}

/// The daemon's TLS address from the machine's URL (`tcp://HOST:PORT`), checked.
pub fn daemon_address(m: &Machine) -> Option<(String, u16)> {
    let url = m.url()?;
    let host = crate::store::fields::url_host(&url)?;
    check_host(&host).ok()?;
    let port = url
        .rsplit_once(':')
        .and_then(|(_, p)| p.trim_end_matches('/').parse::<u16>().ok())
        .unwrap_or(2376);
    Some((host, port))
}

/// The user docker-machine's driver logs in as when `Driver.SSHUser` is empty: `docker` on
/// the local VM drivers (their VMs boot boot2docker), else `root`.
pub fn default_user(driver: &str) -> &'static str {
    if crate::store::LOCAL_VM_DRIVERS.contains(&driver) {
        "docker"
    } else {
        "root"
    }
}

/// The host name or address ssh connects to, unchecked: 127.0.0.1 for virtualbox (its SSH
/// port is forwarded there), else `Driver.IPAddress`.
pub fn ssh_host(m: &Machine) -> Option<String> {
    if m.driver() == "virtualbox" {
        return Some("127.0.0.1".into());
    }
    m.str_at(&["Driver", "IPAddress"])
        .filter(|ip| !ip.is_empty())
        .map(str::to_string)
}

/// The SSH target of machine `m`: virtualbox is reached on 127.0.0.1 at the port it forwards
/// (`Driver.SSHPort`), every other driver at its address; the key is the file
/// `Driver.SSHKeyPath` names, taken from the machine's own directory. A value docker-machine
/// could not have written is refused by name, never put on a command line.
pub fn target(m: &Machine) -> Result<SshTarget> {
    let refuse = |why: String| {
        Error::cannot(
            format!("cannot reach {} over SSH: {why}", m.name),
            format!("see mbundle doctor {}", m.name),
        )
    };
    let driver = m.driver();
    let user = m
        .str_at(&["Driver", "SSHUser"])
        .filter(|u| !u.is_empty())
        .unwrap_or(default_user(driver));
    check_user(user).map_err(|why| refuse(format!("Driver.SSHUser {} {why}", shown(user))))?;
    let host = ssh_host(m).ok_or_else(|| refuse("config.json has no Driver.IPAddress".into()))?;
    check_host(&host).map_err(|why| refuse(format!("Driver.IPAddress {} {why}", shown(&host))))?;
    let port = match m.config.pointer("/Driver/SSHPort") {
        None | Some(Value::Null) => 22,
        Some(v) => v
            .as_u64()
            .filter(|p| (1..=65535).contains(p))
            .map(|p| p as u16)
            .ok_or_else(|| refuse(format!("Driver.SSHPort {v} is not a port")))?,
    };
    let key_name = m
        .str_at(&["Driver", "SSHKeyPath"])
        .filter(|k| !k.is_empty())
        .and_then(|k| k.rsplit(['/', '\\']).next())
        .filter(|k| !k.is_empty() && *k != "." && *k != "..")
        .unwrap_or("id_rsa");
    let key = m.dir.join(key_name);
    if !key.is_file() {
        return Err(refuse(format!(
            "its SSH key {} is not there",
            key.display()
        )));
    }
    Ok(SshTarget {
        user: user.to_string(),
        host,
        port,
        key,
        control: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn machine(dir: &std::path::Path, driver: &str, d: Value) -> Machine {
        std::fs::write(dir.join("id_rsa"), "key").unwrap();
        Machine::new(
            "m".into(),
            dir.to_path_buf(),
            json!({"DriverName": driver, "Driver": d}),
        )
    }

    #[test]
    fn targets_as_docker_machine_computes_them() {
        let t = tempfile::tempdir().unwrap();
        let g = machine(
            t.path(),
            "generic",
            json!({"IPAddress": "10.0.0.5", "SSHUser": "admin", "SSHPort": 2222, "SSHKeyPath": "/home/a/.docker/machine/machines/m/id_rsa"}),
        );
        let tg = target(&g).unwrap();
        assert_eq!(
            (tg.user.as_str(), tg.host.as_str(), tg.port),
            ("admin", "10.0.0.5", 2222)
        );
        assert_eq!(tg.key, t.path().join("id_rsa"));
        // virtualbox: the forwarded port on this computer, user docker.
        let vb = machine(
            t.path(),
            "virtualbox",
            json!({"IPAddress": "192.168.99.100", "SSHPort": 50022, "SSHUser": ""}),
        );
        let tv = target(&vb).unwrap();
        assert_eq!(
            (tv.user.as_str(), tv.host.as_str(), tv.port),
            ("docker", "127.0.0.1", 50022)
        );
        // A cloud machine without a user: root, port 22.
        let c = machine(t.path(), "amazonec2", json!({"IPAddress": "203.0.113.9"}));
        let tc = target(&c).unwrap();
        assert_eq!((tc.user.as_str(), tc.port), ("root", 22));
        // What docker-machine never writes is refused by name.
        for d in [
            json!({"IPAddress": "-oProxyCommand=x"}),
            json!({"IPAddress": "10.0.0.5", "SSHUser": "a b"}),
            json!({"IPAddress": "10.0.0.5", "SSHPort": 70000}),
        ] {
            assert!(target(&machine(t.path(), "generic", d)).is_err());
        }
    }
}
