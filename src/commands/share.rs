//! `mbundle share`: a teammate's bundle; what they get and what stays, said on stderr (or as
//! JSON on stdout).

use super::render::*;
use crate::cli::ShareArgs;
use crate::error::{Error, Result};
use crate::ops::export::{Output, ShareRequest};
use crate::store::Store;

pub(super) fn run(store: &Store, a: &ShareArgs) -> Result<super::Outcome> {
    let (output, to) = super::prepare_output(&a.output, &a.encrypt, a.force, a.json)?;
    let shared = crate::ops::export::plan_share(
        store,
        &ShareRequest {
            names: a.names.clone(),
            user: a.user.clone(),
            days: a.days,
            with_ssh_key: a.with_ssh_key,
            keep_secrets: a.keep_secrets,
            scoped: a.scoped,
        },
    )?;
    for w in &shared.warnings {
        warn(w);
    }
    confirm_also_opens(&shared.also_opens, a)?;
    let (plan, withheld, scoped) = (shared.plan, shared.withheld, shared.scoped);
    let summary = super::write_planned(
        &plan,
        &mut super::Writing {
            to: &to,
            output: &output,
            force: a.force,
            label: "sharing",
            quiet: a.quiet || a.json,
            said: Default::default(),
        },
    )?;
    let m = &plan.manifest;
    let Some(share) = &m.share else {
        return Err(Error::Bug("a share plan without its share".into()));
    };
    // The bundle is written: the share's CA is kept (its key 0600, never in a bundle).
    let kept = match scoped {
        Some(ca) => {
            let _lock = crate::fs::lock::lock_store(&store.root)?;
            Some(crate::store::scoped::create(
                &store.root,
                ca.record,
                ca.cert_pem.as_bytes(),
                ca.key_pem.as_bytes(),
            )?)
        }
        None => None,
    };
    let dest = match &output {
        Output::Stdout => "standard output".to_string(),
        Output::File(p) => p.display().to_string(),
    };
    if a.json {
        let mut doc = share_json(&plan.manifest, &withheld, share, &dest, summary.bytes_out);
        doc["scoped"] = match &kept {
            Some(k) => serde_json::json!({
                "id": k.id,
                "ca_fingerprint": k.record.ca_fingerprint,
                "machines": k.record.machines,
            }),
            None => serde_json::Value::Null,
        };
        print(&json_text(&doc))?;
    }
    if !a.quiet && !a.json {
        let out = match &output {
            Output::Stdout => "FILE".to_string(),
            Output::File(p) => crate::store::env::shell_word(&p.display().to_string()),
        };
        eprint!(
            "{}",
            terminal_safe(describe(
                &plan.manifest,
                share,
                &dest,
                &out,
                summary.bytes_out,
                kept.is_some()
            ))
        );
    }
    match kept {
        Some(kept) => trust_scoped(store, &kept, a),
        None => Ok(super::Outcome::Success),
    }
}

/// A scoped share's CA goes to the shared machines' hosts: now with `--push`, else said how.
fn trust_scoped(
    store: &Store,
    kept: &crate::store::scoped::Share,
    a: &ShareArgs,
) -> Result<super::Outcome> {
    if a.push {
        let machines = store.machines(&kept.record.machines)?;
        return super::push::push_machines(store, &machines, &super::push::confirmed_by(a.yes));
    }
    if !a.json {
        let names: Vec<String> = kept
            .record
            .machines
            .iter()
            .map(|n| crate::text::shell_word(n))
            .collect();
        eprintln!(
            "{}",
            printable(&for_this_store(&format!(
                "scoped: {}'s certificate is signed by the share's own CA, which no daemon trusts yet; give the shared machines' hosts that CA with: mbundle push {}",
                kept.record.user,
                names.join(" ")
            )))
        );
    }
    Ok(super::Outcome::Success)
}

/// What `share --json` prints.
fn share_json(
    m: &crate::format::manifest::Manifest,
    withheld: &std::collections::BTreeMap<String, Vec<String>>,
    share: &crate::format::manifest::ShareInfo,
    dest: &str,
    bytes: u64,
) -> serde_json::Value {
    let machines: Vec<serde_json::Value> = m
        .machines
        .iter()
        .map(|mm| {
            serde_json::json!({
                "name": mm.name,
                "redacted": mm.redacted,
                "withheld": withheld.get(&mm.name).cloned().unwrap_or_default(),
            })
        })
        .collect();
    serde_json::json!({
        "shared_with": share.shared_with,
        "issued_at": share.issued_at,
        "cert_not_after": share.cert_not_after,
        "with_ssh_key": share.with_ssh_key,
        "secrets_kept": share.secrets_kept,
        "certsets": m.cert_sets.iter().map(|s| serde_json::json!({
            "id": s.id, "ca_name": s.ca_name, "ca_fingerprint": s.ca_fingerprint,
            "machines": s.machines,
        })).collect::<Vec<_>>(),
        "machines": machines,
        "output": dest,
        "bytes": bytes,
    })
}

/// What `share` says on stderr: what the teammate gets, what stays, what was removed.
fn describe(
    m: &crate::format::manifest::Manifest,
    share: &crate::format::manifest::ShareInfo,
    dest: &str,
    out: &str,
    bytes: u64,
    scoped: bool,
) -> String {
    let mut s = String::new();
    let names: Vec<&str> = m.machines.iter().map(|x| x.name.as_str()).collect();
    let cas: Vec<String> = m
        .cert_sets
        .iter()
        .map(|c| format!("{:?}", c.ca_name.as_deref().unwrap_or("?")))
        .collect();
    s.push_str(&format!(
        "shared {} with {} in {dest} ({})\n",
        names.join(", "),
        share.shared_with,
        human_bytes(bytes)
    ));
    if scoped {
        s.push_str(&format!(
            "  certificate  CN={} issued by this share's own CA, valid until {}: it opens {} and nothing else\n",
            share.shared_with,
            crate::pki::certs::date_of(&share.cert_not_after),
            names.join(", ")
        ));
    } else {
        s.push_str(&format!(
            "  certificate  CN={} issued by CA {}, valid until {}\n",
            share.shared_with,
            cas.join(", "),
            crate::pki::certs::date_of(&share.cert_not_after)
        ));
    }
    let mut stays = vec![
        "the CA key",
        "the daemons' server keys",
        "your own client key",
    ];
    if !share.with_ssh_key {
        stays.push("the SSH keys (--with-ssh-key carries them)");
    }
    s.push_str(&format!("  stays here   {}\n", stays.join(", ")));
    for mm in m.machines.iter().filter(|x| !x.redacted.is_empty()) {
        s.push_str(&format!(
            "  removed      {}: {} (cloud credentials; --keep-secrets keeps them)\n",
            mm.name,
            mm.redacted.join(", ")
        ));
    }
    if share.secrets_kept {
        s.push_str("  kept         cloud credentials in config.json (--keep-secrets)\n");
    }
    s.push_str(&format!(
        "{} imports it with: mbundle import {out} -i THEIR_KEY\n",
        share.shared_with
    ));
    s
}

/// A share whose certificate opens machines not named goes ahead only with `--yes`, or when
/// a person at a terminal says so; anything else is refused before anything is written.
fn confirm_also_opens(also: &[String], a: &ShareArgs) -> Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if also.is_empty() {
        return Ok(());
    }
    let list = also.join(", ");
    let message = format!(
        "the certificate for {} would also open {list}: their daemons trust the same CA, and a daemon accepts every client certificate its CA signed",
        a.user
    );
    if a.yes {
        warn(&message);
        return Ok(());
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() && std::io::stderr().is_terminal() {
        eprint!("{}\nshare anyway? [y/N] ", printable(&message));
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer).ok();
        if matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(());
        }
    }
    Err(Error::usage(
        message,
        format!(
            "pass --yes to share anyway, or name every machine it opens ({}); nothing was written",
            also.iter()
                .chain(&a.names)
                .map(|n| crate::text::shell_word(n))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    ))
}
