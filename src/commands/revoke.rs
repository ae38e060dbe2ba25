//! `mbundle revoke USER` and `mbundle shares`: scoped shares taken back and listed.
//!
//! A revoke marks each scoped share of the teammate revoked (with every machine it named as
//! still trusting it) and destroys its CA key before any host is touched; then it pushes
//! those machines, whose CA file no longer holds the share's CA, and crosses off each host
//! that was pushed or found current. A host it could not change stays listed, and the next
//! revoke of the same teammate pushes it again.

use super::render::*;
use super::Outcome;
use crate::cli::{RevokeArgs, SharesArgs};
use crate::error::{Error, Result};
use crate::ops::push::State;
use crate::store::scoped::Share;
use crate::store::Store;

pub(super) fn run(store: &Store, a: &RevokeArgs) -> Result<Outcome> {
    let shares: Vec<Share> = {
        let _lock = crate::fs::lock::lock_store(&store.root)?;
        let mut found = Vec::new();
        let (shares, unreadable) = crate::store::scoped::list_readable(&store.root)?;
        for e in unreadable {
            // Not trusted by what mbundle pushes (it fails closed): the push below drops it
            // from the hosts of the machines it pushes.
            warn(&e.full_message());
        }
        for mut s in shares.into_iter().filter(|s| s.record.user == a.user) {
            if s.active() {
                s.record.revoked_at =
                    Some(crate::pki::certs::rfc3339(time::OffsetDateTime::now_utc()));
                s.record.still_trusted_by = s.record.machines.clone();
                s.save()?;
                s.destroy_key()?;
                eprintln!(
                    "revoked {}'s scoped share {} ({}): its CA key is destroyed",
                    a.user,
                    s.id,
                    s.record.machines.join(", ")
                );
            }
            found.push(s);
        }
        found
    };
    if shares.is_empty() {
        return Err(Error::usage(
            format!("no scoped share for {:?} in this store", a.user),
            "mbundle shares lists them",
        ));
    }
    let mut names: Vec<String> = shares
        .iter()
        .flat_map(|s| s.record.still_trusted_by.clone())
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        eprintln!("no host trusts {}'s share any more: nothing to do", a.user);
        return Ok(Outcome::Success);
    }
    // A machine removed from the store since cannot be reached from here: said, crossed off.
    let known = store.machine_names()?;
    let (present, gone): (Vec<String>, Vec<String>) =
        names.into_iter().partition(|n| known.contains(n));
    for n in &gone {
        warn(&format!(
            "{n} is no longer in this store: its host, if it still runs, trusts {}'s share until its CA file is replaced there",
            a.user
        ));
    }
    let machines = store.machines(&present)?;
    // Every host it can reach stops trusting the share, whatever happened on another.
    let push = crate::cli::PushArgs {
        parallel: a.parallel,
        keep_going: true,
        ..super::push::confirmed_by(a.yes)
    };
    let reports = super::push::push_and_say(store, &machines, &push)?;
    let done: Vec<&str> = reports
        .iter()
        .filter(|r| matches!(r.state, State::Pushed | State::Current))
        .map(|r| r.machine.as_str())
        .collect();
    let mut left = Vec::new();
    {
        let _lock = crate::fs::lock::lock_store(&store.root)?;
        for mut s in shares {
            s.record
                .still_trusted_by
                .retain(|m| !done.contains(&m.as_str()) && !gone.contains(m));
            left.extend(s.record.still_trusted_by.clone());
            s.save()?;
        }
    }
    if left.is_empty() {
        eprintln!(
            "{}'s certificate opens none of this store's machines any more; your own access is unchanged",
            a.user
        );
        return Ok(Outcome::Success);
    }
    left.sort();
    left.dedup();
    Err(Error::cannot(
        format!(
            "{} still trust {}'s share: their hosts could not be changed",
            left.join(", "),
            a.user
        ),
        format!(
            "run the same command again once they can be reached: mbundle revoke {}",
            crate::text::shell_word(&a.user)
        ),
    ))
}

/// `mbundle shares`.
pub(super) fn list(store: &Store, a: &SharesArgs) -> Result<()> {
    let (shares, mut unreadable) = crate::store::scoped::list_readable(&store.root)?;
    let listed = list_shares(&shares, a);
    // Those listed first; then the first record that does not hold up, as the error.
    match unreadable.pop() {
        Some(e) => {
            listed?;
            for other in unreadable {
                warn(&other.full_message());
            }
            Err(e)
        }
        None => listed,
    }
}

fn list_shares(shares: &[crate::store::scoped::Share], a: &SharesArgs) -> Result<()> {
    if a.json {
        return print(&json_text(&serde_json::json!({ "shares": shares })));
    }
    if shares.is_empty() {
        eprintln!(
            "no scoped shares in this store (mbundle share NAME --as USER --scoped makes one)"
        );
        return Ok(());
    }
    let mut rows = vec![vec![
        "USER".to_string(),
        "MACHINES".into(),
        "UNTIL".into(),
        "STATE".into(),
    ]];
    for s in shares {
        let r = &s.record;
        let state = match (&r.revoked_at, r.still_trusted_by.is_empty()) {
            (None, _) => "in force".to_string(),
            (Some(t), true) => format!("revoked {}", crate::pki::certs::date_of(t)),
            (Some(t), false) => format!(
                "revoked {}, still trusted by {} (mbundle revoke {} finishes it)",
                crate::pki::certs::date_of(t),
                r.still_trusted_by.join(", "),
                crate::text::shell_word(&r.user)
            ),
        };
        rows.push(vec![
            r.user.clone(),
            r.machines.join(","),
            crate::pki::certs::date_of(&r.not_after).to_string(),
            state,
        ]);
    }
    print(&table(&rows))
}
