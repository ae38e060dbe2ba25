//! `mbundle push`: the store's TLS files onto each machine's host: a canary first, then up to
//! `--parallel` hosts at once; a line per host as it ends, a summary at the end, or `--json`.

use super::render::*;
use super::Outcome;
use crate::cli::PushArgs;
use crate::error::{Error, Result};
use crate::ops::push::{HostReport, PushRequest, State};
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
    push_machines(store, &store.machines(&names)?, a)
}

/// What `regenerate-certs --push` and `renew-ca --push` push with: push's defaults, `--yes`
/// as given.
pub(super) fn confirmed_by(yes: bool) -> PushArgs {
    PushArgs {
        names: Vec::new(),
        all: false,
        dry_run: false,
        yes,
        restart_containers: false,
        parallel: 4,
        keep_going: false,
        json: false,
    }
}

/// Pushes `machines` as `a` says (also what `regenerate-certs --push` does).
pub(super) fn push_machines(
    store: &Store,
    machines: &[crate::store::Machine],
    a: &PushArgs,
) -> Result<Outcome> {
    let reports = push_and_say(store, machines, a)?;
    let failed = reports.iter().filter(|r| is_failure(&r.state)).count();
    if failed > 0 {
        return Err(Error::cannot(
            format!("{failed} host(s) were not brought to the store's files"),
            "each host's lines above say why; run the same command again once fixed",
        ));
    }
    Ok(Outcome::Success)
}

/// Pushes `machines` as `a` says, says how each went (lines, the table, or `--json`), and
/// returns each reached host's report.
pub(super) fn push_and_say(
    store: &Store,
    machines: &[crate::store::Machine],
    a: &PushArgs,
) -> Result<Vec<HostReport>> {
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
    let reports = push_all(store, machines, &req, a)?;
    let failed = reports
        .iter()
        .filter(|r| matches!(r.state, State::Failed | State::RolledBack | State::Refused))
        .count();
    if a.json {
        print(&json_text(&serde_json::json!({ "hosts": reports })))?;
    } else {
        let not_reached = machines.len() - reports.len();
        if machines.len() > 1 {
            eprint!("{}", summary(machines, &reports));
        }
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
    Ok(reports)
}

/// The table at the end: each host's state, time and, for one not brought to the store's
/// files, the last thing said about it; hosts never started are listed as such.
fn summary(machines: &[crate::store::Machine], reports: &[HostReport]) -> String {
    let mut rows = vec![vec![
        "HOST".to_string(),
        "STATE".into(),
        "TIME".into(),
        "WHY".into(),
    ]];
    for m in machines {
        rows.push(match reports.iter().find(|r| r.machine == m.name) {
            Some(r) => vec![
                r.machine.clone(),
                match r.state {
                    State::Current => "current",
                    State::WouldChange => "would change",
                    State::Pushed => "pushed",
                    State::RolledBack => "ROLLED BACK",
                    State::Refused => "REFUSED",
                    State::Failed => "FAILED",
                }
                .to_string(),
                format!("{:.1}s", r.seconds),
                if is_failure(&r.state) {
                    r.detail.last().cloned().unwrap_or_default()
                } else {
                    String::new()
                },
            ],
            None => vec![
                m.name.clone(),
                "not started".into(),
                String::new(),
                "after a failure (--keep-going goes on)".into(),
            ],
        });
    }
    format!("\n{}", table(&rows))
}

/// Whether a host's outcome stops new hosts from starting (without `--keep-going`).
fn is_failure(s: &State) -> bool {
    matches!(s, State::Failed | State::RolledBack | State::Refused)
}

/// The first host alone (a canary), then up to `--parallel` at once; after a failure no new
/// host starts unless `--keep-going`. A line per host as it ends. Reports in machine order.
fn push_all(
    store: &Store,
    machines: &[crate::store::Machine],
    req: &PushRequest,
    a: &PushArgs,
) -> Result<Vec<HostReport>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;
    let say = |r: &HostReport| {
        if !a.json {
            let mut text = format!("{}: {}\n", r.machine, state_word(&r.state));
            for d in &r.detail {
                text.push_str(&format!("  {}\n", printable(d)));
            }
            eprint!("{text}");
        }
    };
    let mut slots: Vec<Option<HostReport>> = machines.iter().map(|_| None).collect();
    let Some(first) = machines.first() else {
        return Ok(Vec::new());
    };
    let timed = |m: &crate::store::Machine| {
        let start = std::time::Instant::now();
        crate::ops::push::push_one(store, m, req).map(|mut r| {
            r.seconds = (start.elapsed().as_secs_f64() * 10.0).round() / 10.0;
            r
        })
    };
    let canary = timed(first)?;
    say(&canary);
    let stop = AtomicBool::new(is_failure(&canary.state) && !a.keep_going && !req.dry_run);
    slots[0] = Some(canary);
    let next = AtomicUsize::new(1);
    let results = Mutex::new(slots);
    let workers = usize::from(a.parallel)
        .min(machines.len().saturating_sub(1))
        .max(1);
    let first_error: Mutex<Option<crate::error::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(m) = machines.get(i) else { return };
                match timed(m) {
                    Ok(r) => {
                        say(&r);
                        if is_failure(&r.state) && !a.keep_going && !req.dry_run {
                            stop.store(true, Ordering::SeqCst);
                        }
                        if let Ok(mut slots) = results.lock() {
                            slots[i] = Some(r);
                        }
                    }
                    Err(e) => {
                        stop.store(true, Ordering::SeqCst);
                        if let Ok(mut first) = first_error.lock() {
                            first.get_or_insert(e);
                        }
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok(results
        .into_inner()
        .map_err(|_| crate::error::Error::Bug("a push thread panicked".into()))?
        .into_iter()
        .flatten()
        .collect())
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
    ask_yes(&format!(
        "push restarts docker on each of the {n} host(s) whose files change; go ahead?"
    ))
}
