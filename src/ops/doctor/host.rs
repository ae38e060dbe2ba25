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
    compare(store, m, &p)
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
