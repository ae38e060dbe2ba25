//! `mbundle regenerate-certs`: a new server certificate and what to copy to the host.

use super::render::*;
use crate::cli::RegenerateArgs;
use crate::error::Result;
use crate::store::Store;

pub(super) fn run(store: &Store, a: &RegenerateArgs) -> Result<()> {
    let _lock = crate::fs::lock::lock_store(&store.root)?;
    let m = store.machine(&a.name)?;
    let r = crate::ops::lifecycle::regenerate(store, &m, a.ip.as_deref(), &a.sans)?;
    if a.json {
        return print(&json_text(&r));
    }
    let mut out = String::new();
    out.push_str(&format!(
        "new server certificate for {}: {}\n  names {}, valid until {}\n",
        r.machine,
        r.server_cert.display(),
        r.sans.join(", "),
        &r.not_after[..10]
    ));
    if let Some(ip) = &r.new_address {
        out.push_str(&format!(
            "  config.json now gives the machine's address as {ip}\n"
        ));
    }
    for k in &r.kept {
        out.push_str(&format!("  kept the old file as {}\n", k.display()));
    }
    out.push_str("\nFinish on the host: copy these files and restart its docker daemon\n");
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
    print(&out)
}
