//! `mbundle regenerate-certs`: a new server certificate and what to copy to the host.

use super::render::*;
use crate::cli::RegenerateArgs;
use crate::error::Result;
use crate::store::Store;

/// The daemon reads its certificates only at start, and a restart stops its containers
/// unless live-restore is on: docker-machine's own regenerate-certs restarted without saying
/// so, and users lost running containers.
const RESTART_WARNING: &str = "\nThe daemon reads its certificates only when it starts, so it must restart. A restart STOPS\nEVERY RUNNING CONTAINER unless the daemon has live-restore enabled.\n";

pub(super) fn run(store: &Store, a: &RegenerateArgs) -> Result<()> {
    let _lock = crate::fs::lock::lock_store(&store.root)?;
    let m = store.machine(&a.name)?;
    let key_type = match a.key_type {
        crate::cli::KeyTypeArg::Rsa => crate::pki::reissue::KeyType::Rsa,
        crate::cli::KeyTypeArg::Ecdsa => crate::pki::reissue::KeyType::Ecdsa,
    };
    let r = crate::ops::lifecycle::regenerate(store, &m, a.ip.as_deref(), &a.sans, key_type)?;
    if a.json {
        return print(&json_text(&r));
    }
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
    print(&out)
}
