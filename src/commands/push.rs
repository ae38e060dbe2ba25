//! `mbundle push`: the store's TLS files onto each machine's host; a line per host as it
//! goes, a summary at the end, or `--json`.

use std::io::IsTerminal;

use super::render::*;
use super::Outcome;
use crate::cli::PushArgs;
use crate::error::{Error, Result};
use crate::ops::push::{PushRequest, State};
use crate::store::Store;

pub(super) fn run(store: &Store, a: &PushArgs) -> Result<Outcome> {
    if a.names.is_empty() && !a.all {
        return Err(Error::usage(
            "push needs the machines whose hosts get the store's files: name them, or pass --all",
            "mbundle push NAME... --dry-run (mbundle ls lists the names)",
        ));
    }
    let names = if a.all {
        store.machine_names()?
    } else {
        a.names.clone()
    };
    let machines = names
        .iter()
        .map(|n| store.machine(n))
        .collect::<Result<Vec<_>>>()?;
    if !a.dry_run && !a.yes && !confirmed(machines.len())? {
        return Err(Error::usage(
            "push restarts docker on each host whose files change",
            "pass --yes to go ahead (or --dry-run to see what would change)",
        ));
    }
    let req = PushRequest {
        dry_run: a.dry_run,
        restart_containers: a.restart_containers,
    };
    let mut reports = Vec::new();
    for m in &machines {
        let r = crate::ops::push::push_one(store, m, &req)?;
        let stop = matches!(r.state, State::Failed | State::RolledBack | State::Refused);
        if !a.json {
            eprintln!("{}: {}", r.machine, state_word(&r.state));
            for d in &r.detail {
                eprintln!("  {}", printable(d));
            }
        }
        reports.push(r);
        if stop && !a.dry_run {
            break;
        }
    }
    let failed = reports
        .iter()
        .filter(|r| matches!(r.state, State::Failed | State::RolledBack | State::Refused))
        .count();
    if a.json {
        print(&json_text(&serde_json::json!({ "hosts": reports })))?;
    } else {
        let not_reached = machines.len() - reports.len();
        eprintln!(
            "{} host(s): {} pushed, {} current, {} failed or refused{}",
            machines.len(),
            reports.iter().filter(|r| r.state == State::Pushed).count(),
            reports.iter().filter(|r| r.state == State::Current).count(),
            failed,
            if not_reached > 0 {
                format!(", {not_reached} not started after the failure")
            } else {
                String::new()
            }
        );
    }
    if failed > 0 {
        return Err(Error::cannot(
            format!("{failed} host(s) were not brought to the store's files"),
            "each host's lines above say why; run the same command again once fixed",
        ));
    }
    Ok(Outcome::Success)
}

fn state_word(s: &State) -> &'static str {
    match s {
        State::Current => "current, left alone",
        State::WouldChange => "would change",
        State::Pushed => "pushed",
        State::RolledBack => "ROLLED BACK",
        State::Refused => "REFUSED, untouched",
        State::Failed => "FAILED",
    }
}

/// A yes on a terminal to restarting docker on up to `n` hosts.
fn confirmed(n: usize) -> Result<bool> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(false);
    }
    eprint!("push restarts docker on each of the {n} host(s) whose files change; go ahead? [y/N] ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::io("read", "standard input", e))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}
