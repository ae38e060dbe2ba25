//! `mbundle regenerate-certs`: a new server certificate and what to copy to the host.

use super::render::*;
use super::Outcome;
use crate::cli::RegenerateArgs;
use crate::error::{Error, Result};
use crate::store::Store;

/// The daemon reads its certificates only at start, and a restart stops its containers
/// unless live-restore is on: docker-machine's own regenerate-certs restarted without saying
/// so, and users lost running containers.
const RESTART_WARNING: &str = "\nThe daemon reads its certificates only when it starts, so it must restart. A restart STOPS\nEVERY RUNNING CONTAINER unless the daemon has live-restore enabled.\n";

pub(super) fn run(store: &Store, a: &RegenerateArgs) -> Result<Outcome> {
    // --client-certs alone: the store's own client certificate, no server certificate.
    let client_only = a.client_certs && a.names.is_empty() && !a.all && a.expiring.is_none();
    let machines = if client_only {
        Vec::new()
    } else {
        chosen(store, a)?
    };
    if machines.len() > 1 && (a.ip.is_some() || a.json) {
        return Err(Error::usage(
            "--ip and --json take one machine",
            "name one machine, e.g. mbundle regenerate-certs web --ip 192.168.99.101",
        ));
    }
    if machines.is_empty() && !client_only {
        eprintln!(
            "no machine's server certificate or CA{} ends within {} day(s): nothing to renew",
            if a.client_certs {
                " or client certificate"
            } else {
                ""
            },
            a.expiring.unwrap_or(0)
        );
        return Ok(Outcome::Success);
    }
    let key_type = match a.key_type {
        crate::cli::KeyTypeArg::Rsa => crate::pki::reissue::KeyType::Rsa,
        crate::cli::KeyTypeArg::Ecdsa => crate::pki::reissue::KeyType::Ecdsa,
    };
    let (servers, clients) = {
        let _lock = crate::fs::lock::lock_store(&store.root)?;
        if let Some(days) = a.expiring {
            renew_expiring_cas(store, &machines, days)?;
        }
        let mut servers = Vec::new();
        for m in &machines {
            let r =
                crate::ops::lifecycle::regenerate(store, m, a.ip.as_deref(), &a.sans, key_type)?;
            if !a.json {
                if a.push {
                    eprintln!(
                        "new server certificate for {}: valid until {}",
                        r.machine,
                        crate::pki::certs::date_of(&r.not_after)
                    );
                } else {
                    print(&terminal_safe(describe(&r)))?;
                }
            }
            servers.push(r);
        }
        let mut clients = Vec::new();
        if a.client_certs {
            let cfg = crate::store::context::docker_config_dir();
            for dir in cert_sets(store, &machines, client_only) {
                let r = crate::ops::lifecycle::renew_client(store, &dir, cfg.as_deref(), key_type)?;
                if !a.json {
                    print(&terminal_safe(for_this_store(&describe_client(&r))))?;
                }
                clients.push(r);
            }
        }
        (servers, clients)
    };
    if a.json {
        #[derive(serde::Serialize)]
        struct Report<'a> {
            #[serde(flatten)]
            server: Option<&'a crate::ops::lifecycle::Regenerated>,
            client_certs: &'a [crate::ops::lifecycle::ClientRenewed],
        }
        print(&json_text(&Report {
            server: servers.first(),
            client_certs: &clients,
        }))?;
    }
    if !a.push {
        return Ok(Outcome::Success);
    }
    if machines.is_empty() {
        eprintln!("no host to push to: a daemon accepts any client certificate its CA signed");
        return Ok(Outcome::Success);
    }
    // The store changed; the hosts get it now (read again: regenerate rewrote the files).
    let names: Vec<&str> = machines.iter().map(|m| m.name.as_str()).collect();
    let machines = store.machines(&names)?;
    super::push::push_machines(store, &machines, &super::push::confirmed_by(a.yes))
}

/// An expiring CA of `machines` renewed first (same key): the server certificates issued
/// next would otherwise end with it.
fn renew_expiring_cas(store: &Store, machines: &[crate::store::Machine], days: u32) -> Result<()> {
    for dir in cert_sets(store, machines, false) {
        if ends_within(&dir.join(crate::store::CA_CERT), days)
            && dir.join(crate::store::CA_KEY).is_file()
        {
            let r =
                crate::ops::lifecycle::renew_ca(store, &dir, crate::pki::reissue::DEFAULT_CA_DAYS)?;
            eprintln!(
                "renewed the CA {} (it ended within {days} days) with the same key, valid until {}",
                r.ca_cert.display(),
                crate::pki::certs::date_of(&r.not_after)
            );
        }
    }
    Ok(())
}

/// The cert sets (directories holding ca.pem, cert.pem, key.pem) whose client certificate
/// `--client-certs` renews: the store's certs/ alone, or the sets of `machines`, once each.
fn cert_sets(
    store: &Store,
    machines: &[crate::store::Machine],
    client_only: bool,
) -> Vec<std::path::PathBuf> {
    if client_only {
        return vec![store.certs_dir()];
    }
    let mut sets = Vec::new();
    for m in machines {
        let ca = m
            .issuing_material(store)
            .into_iter()
            .find(|f| f.name == crate::store::CA_CERT);
        if let Some(dir) = ca.and_then(|f| f.local.parent().map(|d| d.to_path_buf())) {
            if !sets.contains(&dir) {
                sets.push(dir);
            }
        }
    }
    sets
}

/// Whether the certificate at `path` ends within `days` days (false when it cannot be read).
fn ends_within(path: &std::path::Path, days: u32) -> bool {
    let limit = time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(days));
    crate::store::read_pem_file(path)
        .ok()
        .and_then(|b| crate::pki::certs::parse_pem(&b).ok())
        .is_some_and(|c| c.not_after <= limit)
}

/// What `--client-certs` did for one cert set.
fn describe_client(r: &crate::ops::lifecycle::ClientRenewed) -> String {
    let mut out = format!(
        "new client certificate {} ({}), valid until {}\n",
        r.cert.display(),
        r.subject,
        crate::pki::certs::date_of(&r.not_after)
    );
    if !r.machines.is_empty() {
        out.push_str(&format!(
            "  replaced the copy in machines: {}\n",
            first_names(&r.machines)
        ));
    }
    if !r.contexts.is_empty() {
        out.push_str(&format!(
            "  replaced the copy in docker contexts: {}\n",
            first_names(&r.contexts)
        ));
    }
    out.push_str(&format!(
        "  kept {} old file(s), renamed with a timestamp; no host needs the new certificate\n",
        r.kept.len()
    ));
    out
}

/// The machines named (docker-machine's "default" when none), or all with --all; with
/// --expiring, only those whose server certificate or CA ends within that many days.
fn chosen(store: &Store, a: &RegenerateArgs) -> Result<Vec<crate::store::Machine>> {
    let names = if a.all || (a.names.is_empty() && a.expiring.is_some()) {
        store.machine_names()?
    } else if a.names.is_empty() {
        vec!["default".to_string()]
    } else {
        a.names.clone()
    };
    let machines = store.machines(&names)?;
    let Some(days) = a.expiring else {
        return Ok(machines);
    };
    let member = |m: &crate::store::Machine, name: &str| {
        m.issuing_material(store)
            .into_iter()
            .find(|f| f.name == name)
            .map(|f| f.local)
    };
    Ok(machines
        .into_iter()
        .filter(|m| {
            let mut watched = vec![m.server_cert(store), member(m, crate::store::CA_CERT)];
            if a.client_certs {
                watched.push(member(m, crate::store::CLIENT_CERT));
            }
            watched.into_iter().flatten().any(|p| ends_within(&p, days))
        })
        .collect())
}

/// What was renewed, and what to copy where by hand.
fn describe(r: &crate::ops::lifecycle::Regenerated) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "new server certificate for {}: {}\n  names {}, valid until {}\n",
        r.machine,
        r.server_cert.display(),
        r.sans.join(", "),
        crate::pki::certs::date_of(&r.not_after)
    ));
    if let Some(ip) = &r.new_address {
        out.push_str(&format!(
            "  config.json now gives the machine's address as {ip}\n"
        ));
    }
    for k in &r.kept {
        out.push_str(&format!("  kept the old file as {}\n", k.display()));
    }
    for n in &r.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
    out.push_str("\nFinish on the host: copy these files, then restart its docker daemon\n");
    for c in &r.copy {
        out.push_str(&format!("  {}  ->  {}\n", c.local.display(), c.remote));
    }
    if let Some(why) = &r.commands_withheld {
        out.push_str(&format!("({why}: copy them by your own means)\n"));
    } else if r.commands.is_empty() {
        out.push_str(
            "(the machine has no SSH key or user in config.json: copy them by your own means)\n",
        );
    } else {
        out.push_str("with the machine's SSH key:\n");
        for c in &r.commands {
            out.push_str(&format!("  {c}\n"));
        }
    }
    out.push_str(RESTART_WARNING);
    if let (Some(check), Some(reload), Some(restart)) =
        (&r.live_restore_check, &r.live_restore_reload, &r.restart)
    {
        out.push_str(&format!(
            "  check it (prints true or false):\n    {check}\n  to turn it on without a restart, add \"live-restore\": true to /etc/docker/daemon.json on the host, then reload:\n    {reload}\n  then restart (with live-restore on, containers keep running):\n    {restart}\n"
        ));
    } else {
        out.push_str("  To keep them running: on the host, first add \"live-restore\": true to /etc/docker/daemon.json\n  and run `sudo systemctl reload docker` (a reload, no restart), then restart docker.\n");
    }
    out.push_str(&format!(
        "(or let mbundle do all of it, verified and rolled back on failure: mbundle push {})\n",
        crate::store::env::shell_word(&r.machine)
    ));
    for_this_store(&out)
}
