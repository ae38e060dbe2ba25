//! `doctor --hosts`: each machine's host asked over SSH (host key pinned) what its running
//! daemon uses, and whether those are the store's TLS files.

use crate::host::probe::{self, Probe};
use crate::store::{Machine, Store, CA_CERT};

use super::{f, Finding, Level};

/// What the store holds for a machine's daemon: (flag, what it is, the store's file).
fn store_files(
    store: &Store,
    m: &Machine,
) -> Vec<(&'static str, &'static str, std::path::PathBuf)> {
    let ca = m
        .issuing_material(store)
        .into_iter()
        .find(|f| f.name == CA_CERT)
        .map(|f| f.local)
        .unwrap_or_else(|| m.dir.join(CA_CERT));
    vec![
        ("--tlscacert", "CA certificate", ca),
        ("--tlscert", "server certificate", m.dir.join("server.pem")),
        ("--tlskey", "server key", m.dir.join("server-key.pem")),
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
            format!(
                "the probe failed on the host (exit {:?}): {}",
                ran.status,
                crate::text::printable(ran.stderr.trim())
            ),
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
    findings.push(served(store, m));
    findings
}

/// What the daemon serves, by a real TLS handshake with the store's CA and client pair.
fn served(store: &Store, m: &Machine) -> Finding {
    use crate::store::{CLIENT_CERT, CLIENT_KEY};
    let Some((host, port)) = crate::host::daemon_address(m) else {
        return f(
            Level::Warn,
            "config.json has no daemon URL to make a TLS handshake with",
            None,
        );
    };
    let material = m.issuing_material(store);
    let read = |name: &str| {
        material
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| crate::store::read_pem_file(&f.local).ok())
    };
    let (Some(ca), Some(cert), Some(key)) = (read(CA_CERT), read(CLIENT_CERT), read(CLIENT_KEY))
    else {
        return f(
            Level::Warn,
            "the store lacks the CA or client pair for a TLS handshake",
            None,
        );
    };
    let key = zeroize::Zeroizing::new(key);
    let ours = crate::store::read_pem_file(&m.dir.join("server.pem"))
        .ok()
        .and_then(|p| crate::pki::certs::pem_cert_der(&p).ok());
    match crate::host::tls::handshake(&host, port, &ca, &cert, &key) {
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
                "restart docker on the host once it has the store's files (mbundle regenerate-certs {} prints the commands)",
                crate::store::env::shell_word(&m.name)
            )),
        ),
    }
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
    for (flag, what, local) in store_files(store, m) {
        let Some(on_host) = p.tls.get(flag) else {
            out.push(f(
                Level::Warn,
                format!("the daemon runs without {flag} on its command line: mbundle cannot tell which {what} it uses"),
                None,
            ));
            continue;
        };
        let ours = crate::store::sha256_file(&local).ok();
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
                    "copy the store's files to the host and restart docker there (mbundle regenerate-certs {} prints the commands)",
                    crate::store::env::shell_word(&m.name)
                )),
            )),
        }
    }
    out
}
