//! `doctor --hosts`: each machine's host asked over SSH (host key pinned) what its running
//! daemon uses, and whether those are the store's TLS files.

use crate::host::probe::{self, Probe};
use crate::store::{Machine, Store, CA_CERT};

use super::{f, Finding, Level};

/// What the store holds for a machine's daemon: (flag, what it is, the store's file).
fn store_files(
    store: &Store,
    m: &Machine,
) -> Vec<(
    &'static str,
    &'static str,
    std::path::PathBuf,
    Option<String>,
)> {
    let ca = m
        .issuing_material(store)
        .into_iter()
        .find(|f| f.name == CA_CERT)
        .map(|f| f.local)
        .unwrap_or_else(|| m.dir.join(CA_CERT));
    // The daemon's CA file is the store's CA plus the CA of each scoped share of the machine.
    let ca_sha = crate::store::read_pem_file(&ca)
        .ok()
        .map(|b| crate::store::rotation::with_next(&store.root, &ca, &b))
        .and_then(|b| crate::store::scoped::daemon_ca(&store.root, &m.name, &b).ok())
        .map(|b| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&b)));
    let sha = |p: &std::path::Path| crate::store::sha256_file(p).ok();
    let (cert, key) = (m.dir.join("server.pem"), m.dir.join("server-key.pem"));
    vec![
        ("--tlscacert", "CA certificate", ca, ca_sha),
        ("--tlscert", "server certificate", cert.clone(), sha(&cert)),
        ("--tlskey", "server key", key.clone(), sha(&key)),
    ]
}

/// Probes machine `m`'s host and compares what its daemon uses with the store.
pub fn check_host(store: &Store, m: &Machine) -> Vec<Finding> {
    let answer = crate::host::target(m).and_then(|t| {
        crate::host::ssh::run(
            &m.name,
            &m.dir,
            &t,
            probe::COMMAND,
            probe::SCRIPT.as_bytes(),
            probe::MAX_ANSWER as u64,
        )
    });
    let ran = match answer {
        Ok(ran) => ran,
        Err(e) => return vec![f(Level::Error, e.full_message(), e.hint())],
    };
    if ran.status != Some(0) {
        return vec![f(
            Level::Error,
            ran.failure("the probe"),
            Some(
                "the SSH user needs root or sudo without a password, as docker-machine does".into(),
            ),
        )];
    }
    let p = match probe::parse(&ran.stdout) {
        Ok(p) => p,
        Err(why) => {
            return vec![f(
                Level::Error,
                format!("the host's answer is not one mbundle asked for: {why}"),
                None,
            )]
        }
    };
    let mut findings = compare(store, m, &p);
    findings.extend(served(store, m, &p));
    findings
}

/// Whether a restart of docker on the host (to load new certificates) can keep its
/// containers, from the daemon's `/info` and its configuration file: swarm mode forbids
/// live-restore; without it running containers stop; a daemon.json key that a flag also sets
/// makes the reload that turns live-restore on fail, and the next start too.
fn restart_safety(client: &crate::host::tls::Client<'_>, p: &Probe) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some((_, bytes)) = &p.daemon_json {
        let path = p
            .config_file
            .as_deref()
            .unwrap_or("/etc/docker/daemon.json");
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(v) => {
                for (key, flag) in crate::host::daemon::duplicated(&v, &p.args) {
                    out.push(f(
                        Level::Warn,
                        format!(
                            "{} sets {key:?}, which dockerd's command line sets too ({flag}): docker refuses to start with both, so its next restart fails",
                            crate::text::printable(path)
                        ),
                        Some(format!("remove {key:?} from {} on the host", crate::text::printable(path))),
                    ));
                }
            }
            Err(e) => out.push(f(
                Level::Warn,
                format!(
                    "{} is not valid JSON ({e}): docker's next start fails",
                    crate::text::printable(path)
                ),
                None,
            )),
        }
    }
    let info = match client.get("/info", crate::host::tls::MAX_ANSWER) {
        Ok((_, 200, body)) => serde_json::from_slice::<serde_json::Value>(&body).ok(),
        _ => None,
    };
    let Some(info) = info else {
        return out;
    };
    let running = info["ContainersRunning"].as_u64().unwrap_or(0);
    let live = info["LiveRestoreEnabled"].as_bool().unwrap_or(false);
    if info["Swarm"]["LocalNodeState"].as_str() == Some("active") {
        out.push(f(
            Level::Warn,
            format!("the daemon is in swarm mode, which does not allow live-restore: a restart of docker (to load new certificates) stops its {running} running container(s)"),
            None,
        ));
    } else if !live && running > 0 {
        out.push(f(
            Level::Note,
            format!("live-restore is off: a restart of docker stops its {running} running container(s) unless it is turned on first (\"live-restore\": true in daemon.json, then a reload)"),
            None,
        ));
    } else {
        out.push(f(
            Level::Ok,
            format!("a restart of docker keeps its {running} running container(s) (live-restore is on, or none run)"),
            None,
        ));
    }
    out
}

/// What the daemon serves, by a real TLS handshake with the store's CA and client pair; then
/// whether a restart would keep its containers.
fn served(store: &Store, m: &Machine, p: &Probe) -> Vec<Finding> {
    let Some((host, port)) = crate::host::daemon_address(m) else {
        return vec![f(
            Level::Warn,
            "config.json has no daemon URL to make a TLS handshake with",
            None,
        )];
    };
    let Ok(pem) = crate::host::ClientPem::of(store, m) else {
        return vec![f(
            Level::Warn,
            "the store lacks the CA or client pair for a TLS handshake",
            None,
        )];
    };
    let ours = crate::store::read_pem_file(&m.dir.join("server.pem"))
        .ok()
        .and_then(|p| crate::pki::certs::pem_cert_der(&p).ok());
    let client = pem.client(&host, port);
    let said = match client.handshake() {
        Err(why) => f(Level::Error, why, None),
        Ok(s) if !s.ping_ok => f(
            Level::Error,
            format!("{host}:{port} did not answer /_ping with the store's client certificate"),
            None,
        ),
        Ok(s) if ours.as_deref() == Some(s.cert_der.as_slice()) => f(
            Level::Ok,
            format!("{host}:{port} serves the store's server certificate and accepts the store's client certificate (/_ping OK)"),
            None,
        ),
        Ok(_) => f(
            Level::Warn,
            format!("{host}:{port} serves a server certificate that is not the store's server.pem (docker there was not restarted since its files changed, or has other files)"),
            Some(format!(
                "give the host the store's files and restart docker there, verified and rolled back on failure: mbundle push {}",
                crate::store::env::shell_word(&m.name)
            )),
        ),
    };
    let mut out = vec![said];
    out.extend(restart_safety(&client, p));
    out
}

fn compare(store: &Store, m: &Machine, p: &Probe) -> Vec<Finding> {
    if p.pid.is_none() {
        return vec![f(
            Level::Error,
            "no dockerd runs on the host",
            Some("start docker there (docker-machine start, or the host's service manager)".into()),
        )];
    }
    let mut out = Vec::new();
    for (flag, what, local, ours) in store_files(store, m) {
        let Some(on_host) = p.tls.get(flag) else {
            out.push(f(
                Level::Warn,
                format!("the daemon runs without {flag} on its command line: mbundle cannot tell which {what} it uses"),
                None,
            ));
            continue;
        };
        match (&on_host.sha256, ours) {
            (None, _) => out.push(f(
                Level::Error,
                format!("the daemon's {flag} {} is not on the host", crate::text::printable(&on_host.path)),
                None,
            )),
            (Some(theirs), Some(ours)) if *theirs == ours => out.push(f(
                Level::Ok,
                format!("the host's {} ({}) is the store's", what, crate::text::printable(&on_host.path)),
                None,
            )),
            (Some(_), _) => out.push(f(
                Level::Warn,
                format!(
                    "the host's {what} {} is not the store's {}",
                    crate::text::printable(&on_host.path),
                    local.display()
                ),
                Some(format!(
                    "give the host the store's files and restart docker there, verified and rolled back on failure: mbundle push {}",
                    crate::store::env::shell_word(&m.name)
                )),
            )),
        }
    }
    out
}
