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
    let machines = chosen(store, a)?;
    if machines.len() != 1 && (a.ip.is_some() || a.json) {
        return Err(Error::usage(
            "--ip and --json take one machine",
            "name one machine, e.g. mbundle regenerate-certs web --ip 192.168.99.101",
        ));
    }
    if machines.is_empty() {
        eprintln!(
            "no machine's server certificate or CA ends within {} day(s): nothing to renew",
            a.expiring.unwrap_or(0)
        );
        return Ok(Outcome::Success);
    }
    let key_type = match a.key_type {
        crate::cli::KeyTypeArg::Rsa => crate::pki::reissue::KeyType::Rsa,
        crate::cli::KeyTypeArg::Ecdsa => crate::pki::reissue::KeyType::Ecdsa,
    };
    {
        let _lock = crate::fs::lock::lock_store(&store.root)?;
        for m in &machines {
            let r =
                crate::ops::lifecycle::regenerate(store, m, a.ip.as_deref(), &a.sans, key_type)?;
            if a.json {
                print(&json_text(&r))?;
            } else if a.push {
                eprintln!(
                    "new server certificate for {}: valid until {}",
                    r.machine,
                    crate::pki::certs::date_of(&r.not_after)
                );
            } else {
                print(&terminal_safe(describe(&r)))?;
            }
        }
    }
    if !a.push {
        return Ok(Outcome::Success);
    }
    // The store changed; the hosts get it now (read again: regenerate rewrote the files).
    let names: Vec<&str> = machines.iter().map(|m| m.name.as_str()).collect();
    let machines = store.machines(&names)?;
    let push = crate::cli::PushArgs {
        names: Vec::new(),
        all: false,
        dry_run: false,
        yes: a.yes,
        restart_containers: false,
        parallel: 4,
        keep_going: false,
        json: false,
    };
    super::push::push_machines(store, &machines, &push)
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
    let limit = time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(days));
    let ends = |p: Option<std::path::PathBuf>| {
        p.and_then(|p| crate::store::read_pem_file(&p).ok())
            .and_then(|b| crate::pki::certs::parse_pem(&b).ok())
            .map(|c| c.not_after)
    };
    Ok(machines
        .into_iter()
        .filter(|m| {
            let server = ends(m.server_cert(store));
            let ca = ends(
                m.issuing_material(store)
                    .into_iter()
                    .find(|f| f.name == crate::store::CA_CERT)
                    .map(|f| f.local),
            );
            [server, ca].into_iter().flatten().any(|t| t <= limit)
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
