//! `push`: each machine's host made to use the TLS files the store holds for it. Per host:
//! probe what the running daemon uses (over SSH, host key pinned) and what it serves (a TLS
//! handshake); a current host is left alone. Otherwise stage the new files beside the old
//! (sha256 checked, old kept as backups), turn live-restore on for a moment so running
//! containers survive, swap, restart once, verify (the daemon serves exactly the store's
//! server certificate, accepts the store's client certificate, the same containers run), put
//! daemon.json back byte for byte. A failure between the swap and the verify puts the
//! backups back, restarts and checks the old state: the host is reported rolled back.
//! Refused, with the host untouched: an unknown layout, a daemon.json key its command line
//! also sets, swarm mode (no live-restore) unless the user accepts stopping containers.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::Result;
use crate::host::note::Step;
use crate::host::probe::{self, Probe};
use crate::host::swap::{self, NewFile};
use crate::host::tls::Client;
use crate::store::{Machine, Store};

/// What the user asked for.
#[derive(Clone, Debug, Default)]
pub struct PushRequest {
    /// Show per host what would change; change nothing.
    pub dry_run: bool,
    /// Restart even where containers cannot survive it (swarm mode).
    pub restart_containers: bool,
}

/// How one host ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// It already uses and serves the store's files: nothing done.
    Current,
    /// `--dry-run`: what would change.
    WouldChange,
    /// New files in place, docker restarted, verified.
    Pushed,
    /// The new files failed: the old ones are back and verified.
    RolledBack,
    /// Not done, host untouched: why in `detail`.
    Refused,
    /// Could not reach or read the host, or worse: see `detail`.
    Failed,
}

/// One host's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct HostReport {
    /// The machine.
    pub machine: String,
    /// How it ended.
    pub state: State,
    /// What was found or done, a line each.
    pub detail: Vec<String>,
    /// How long the host took, in seconds (probe to verify).
    pub seconds: f64,
}

/// The store's files for a machine's daemon, by flag: (flag, local bytes, mode).
struct Wanted {
    files: Vec<(&'static str, Vec<u8>, &'static str)>,
    /// The CA and client pair the store reaches the daemon with.
    pem: crate::host::ClientPem,
}

fn wanted(store: &Store, m: &Machine) -> std::result::Result<Wanted, String> {
    let in_dir = |name: &str| {
        crate::store::read_pem_file(&m.dir.join(name))
            .map_err(|e| format!("{}: {}", m.dir.join(name).display(), e.full_message()))
    };
    let pem = crate::host::ClientPem::of(store, m)?;
    // The store's CA, plus the CA of each scoped share of this machine.
    let ca = crate::store::scoped::daemon_ca(&store.root, &m.name, &pem.ca)
        .map_err(|e| e.full_message())?;
    Ok(Wanted {
        files: vec![
            ("--tlscacert", ca, "644"),
            ("--tlscert", in_dir("server.pem")?, "644"),
            ("--tlskey", in_dir("server-key.pem")?, "600"),
        ],
        pem,
    })
}

fn sha256(b: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b))
}

/// Runs a script as root on the host; its standard output, or why it failed.
fn on_host(
    m: &Machine,
    t: &crate::host::SshTarget,
    script: &str,
) -> std::result::Result<String, String> {
    let ran = crate::host::ssh::run(
        &m.name,
        &m.dir,
        t,
        probe::COMMAND,
        script.as_bytes(),
        1 << 20,
    )
    .map_err(|e| e.full_message())?;
    if ran.status == Some(0) {
        Ok(String::from_utf8_lossy(&ran.stdout).into_owned())
    } else {
        Err(ran.failure("the script"))
    }
}

/// The containers running on the daemon, by id.
fn running(client: &Client<'_>) -> std::result::Result<Vec<String>, String> {
    let (_, status, body) = client.get("/containers/json", crate::host::tls::MAX_ANSWER)?;
    if status != 200 {
        return Err(format!("/containers/json answered {status}"));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("/containers/json: {e}"))?;
    let mut ids: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["Id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    Ok(ids)
}

/// `/info` as JSON.
fn info(client: &Client<'_>) -> std::result::Result<serde_json::Value, String> {
    let (_, status, body) = client.get("/info", crate::host::tls::MAX_ANSWER)?;
    if status != 200 {
        return Err(format!("/info answered {status}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("/info: {e}"))
}

/// Waits up to `secs` for `ok` to hold.
fn wait_for(secs: u64, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// What the note of an earlier push, stopped mid-way, says (the host decides what is left).
fn earlier_push(m: &Machine) -> Option<String> {
    Some(match crate::host::note::read(&m.dir)? {
        Ok(n) => format!(
            "{}: the host's files and the certificate it serves say what is left",
            n.describe()
        ),
        Err(why) => format!(
            "an earlier push left a note that cannot be read ({why}): the host says what is left"
        ),
    })
}

/// What the host's daemon uses; a daemon left stopped (a push killed mid-restart, a failed
/// start) is started first, so what it runs with can be read.
fn probe_started(
    m: &Machine,
    t: &crate::host::SshTarget,
    req: &PushRequest,
    detail: &mut Vec<String>,
) -> std::result::Result<Probe, String> {
    let probe_now = || on_host(m, t, probe::SCRIPT).and_then(|a| probe::parse(a.as_bytes()));
    let p = probe_now()?;
    if p.pid.is_some() || req.dry_run {
        return Ok(p);
    }
    let Some(start) = p.service.and_then(swap::start_command) else {
        return Ok(p);
    };
    let started = on_host(m, t, &format!("{start}\necho started\n"));
    detail.push(match &started {
        Ok(_) => "docker was stopped: started it".to_string(),
        Err(why) => format!("docker was stopped, and starting it failed: {why}"),
    });
    probe_now()
}

/// Pushes one machine's files to its host.
pub fn push_one(store: &Store, m: &Machine, req: &PushRequest) -> Result<HostReport> {
    let mut report = HostReport {
        machine: m.name.clone(),
        state: State::Failed,
        detail: Vec::new(),
        seconds: 0.0,
    };
    let out = |mut r: HostReport, state: State, line: String| {
        r.state = state;
        r.detail.push(line);
        Ok(r)
    };
    let mut t = match crate::host::target(m) {
        Ok(t) => t,
        Err(e) => return out(report, State::Failed, e.full_message()),
    };
    // Dropped last: the connection the host's sessions share is closed when the push ends.
    let _shared = crate::host::ssh::Shared::start(&m.name, &m.dir, &mut t);
    let w = match wanted(store, m) {
        Ok(w) => w,
        Err(why) => return out(report, State::Refused, why),
    };
    report.detail.extend(earlier_push(m));
    let p = match probe_started(m, &t, req, &mut report.detail) {
        Ok(p) => p,
        Err(why) => return out(report, State::Failed, why),
    };
    let Some((host, port)) = crate::host::daemon_address(m) else {
        return out(
            report,
            State::Refused,
            "config.json has no daemon URL".into(),
        );
    };
    let client = w.pem.client(&host, port);
    let new_server = crate::pki::certs::pem_cert_der(&w.files[1].1).unwrap_or_default();
    let served = client.handshake();
    let on_disk_current = w.files.iter().all(|(flag, bytes, _)| {
        p.tls.get(*flag).and_then(|f| f.sha256.clone()) == Some(sha256(bytes))
    });
    let serving_current = matches!(&served, Ok(s) if s.ping_ok && s.cert_der == new_server);
    if on_disk_current && serving_current {
        if p.daemon_json_armed && !req.dry_run {
            // Stopped after the restart, before daemon.json was put back.
            let config_file = p
                .config_file
                .as_deref()
                .unwrap_or("/etc/docker/daemon.json");
            if let Err(why) = on_host(m, &t, &swap::restore_daemon_json(config_file)) {
                return out(
                    report,
                    State::Failed,
                    format!("daemon.json could not be put back: {why}"),
                );
            }
            report
                .detail
                .push("put daemon.json back as it was before the earlier push".into());
        }
        crate::host::note::remove(&m.dir);
        return out(
            report,
            State::Current,
            "the host uses and serves the store's files".into(),
        );
    }
    let plan = changes(&p, &w);
    if req.dry_run {
        report.detail = plan;
        report.detail.push("docker would be restarted once".into());
        report.state = State::WouldChange;
        return Ok(report);
    }
    push_changes(
        store,
        m,
        req,
        &t,
        &p,
        &w,
        &client,
        report,
        new_server,
        served.ok().map(|s| s.cert_der),
    )
}

/// What differs, a line each.
fn changes(p: &Probe, w: &Wanted) -> Vec<String> {
    let mut out = Vec::new();
    for (flag, bytes, _) in &w.files {
        match p.tls.get(*flag) {
            Some(f) if f.sha256.as_deref() == Some(sha256(bytes).as_str()) => {}
            Some(f) => out.push(format!(
                "{} would be replaced (the old kept as {}.mbundle-backup)",
                f.path, f.path
            )),
            None => out.push(format!("the daemon runs without {flag}")),
        }
    }
    if out.is_empty() {
        out.push(
            "the files are in place, but the daemon serves another certificate: it needs a restart"
                .into(),
        );
    }
    out
}

/// Refusals that leave the host untouched: an unknown layout, a daemon started without the
/// TLS flags, a daemon.json key a flag also sets, swarm mode without `--restart-containers`.
fn refusal(p: &Probe, req: &PushRequest, info: &serde_json::Value) -> Option<String> {
    if p.pid.is_none() {
        return Some("no dockerd runs on the host".into());
    }
    if p.service.and_then(swap::restart_command).is_none() {
        return Some("the host's layout is not one docker-machine provisions (no systemd drop-in, boot2docker profile, upstart or RancherOS): nothing was changed".into());
    }
    if ["--tlscacert", "--tlscert", "--tlskey"]
        .iter()
        .any(|f| !p.tls.contains_key(*f))
    {
        return Some("the daemon was started without --tlscacert, --tlscert and --tlskey on its command line: mbundle does not know which files it uses".into());
    }
    if p.daemon_json_too_large {
        return Some("the daemon's configuration file is larger than 64 KiB".into());
    }
    if let Some((_, bytes)) = &p.daemon_json {
        let v: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                return Some(format!(
                    "the daemon's configuration file is not valid JSON ({e})"
                ))
            }
        };
        if let Some((key, flag)) = crate::host::daemon::duplicated(&v, &p.args)
            .into_iter()
            .next()
        {
            return Some(format!("daemon.json sets {key:?}, which dockerd's command line sets too ({flag}): a reload would fail and the next start too; remove it there first"));
        }
    }
    let swarm = info["Swarm"]["LocalNodeState"].as_str() == Some("active");
    if swarm && !req.restart_containers {
        return Some(format!(
            "swarm mode does not allow live-restore: the restart would stop its {} running container(s); pass --restart-containers to accept that",
            info["ContainersRunning"].as_u64().unwrap_or(0)
        ));
    }
    None
}

/// Whether docker's next start turns live-restore on: `--live-restore` on its command line, or
/// `"live-restore": true` in its configuration file.
fn starts_with_live_restore(p: &Probe) -> bool {
    let flag = p
        .args
        .iter()
        .any(|a| a == "--live-restore" || a == "--live-restore=true");
    let file = p.daemon_json.as_ref().is_some_and(|(_, bytes)| {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .is_ok_and(|v| v["live-restore"].as_bool() == Some(true))
    });
    flag || file
}

/// daemon.json with `"live-restore": true` added, when live-restore is off.
fn with_live_restore(p: &Probe) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = match &p.daemon_json {
        Some((_, bytes)) => serde_json::from_slice(bytes).ok()?,
        None => serde_json::json!({}),
    };
    v.as_object_mut()?
        .insert("live-restore".into(), serde_json::Value::Bool(true));
    serde_json::to_vec_pretty(&v).ok()
}

#[allow(clippy::too_many_arguments)]
fn push_changes(
    _store: &Store,
    m: &Machine,
    req: &PushRequest,
    t: &crate::host::SshTarget,
    p: &Probe,
    w: &Wanted,
    client: &Client<'_>,
    mut report: HostReport,
    new_server: Vec<u8>,
    old_served: Option<Vec<u8>>,
) -> Result<HostReport> {
    let facts = info(client).unwrap_or_default();
    if let Some(why) = refusal(p, req, &facts) {
        report.state = State::Refused;
        report.detail.push(why);
        return Ok(report);
    }
    let restart = p.service.and_then(swap::restart_command).unwrap_or("false");
    let before = running(client).unwrap_or_default();
    // Swarm mode forbids live-restore: with --restart-containers (refusal() let it through)
    // the restart stops the containers, and the verify does not look for them.
    let swarm = facts["Swarm"]["LocalNodeState"].as_str() == Some("active");
    if swarm && !before.is_empty() {
        report.detail.push(format!(
            "swarm mode: the restart stops its {} running container(s), as --restart-containers accepts",
            before.len()
        ));
    }
    let before = if swarm { Vec::new() } else { before };
    let config_file = p
        .config_file
        .clone()
        .unwrap_or_else(|| "/etc/docker/daemon.json".into());
    // What the *next* start reads decides whether containers survive it, not what the
    // running daemon has on (/info): a daemon started while daemon.json had live-restore
    // keeps it after the file lost it, and its successor would then stop the containers.
    let daemon_json = if starts_with_live_restore(p) || before.is_empty() {
        None
    } else {
        with_live_restore(p)
    };
    let paths: Vec<&str> = w
        .files
        .iter()
        .map(|(flag, _, _)| p.tls[*flag].path.as_str())
        .collect();
    note(m, Step::Staging)?;
    if !stage_and_arm(
        m,
        t,
        p,
        w,
        &paths,
        daemon_json.as_deref(),
        &config_file,
        client,
        &mut report,
    ) {
        crate::host::note::remove(&m.dir);
        return Ok(report);
    }
    note(m, Step::Restarting)?;
    crate::failpoint::failpoint("push-swap")?;
    let swapped = on_host(m, t, &swap::swap(&paths, restart));
    crate::failpoint::failpoint("push-restarted")?;
    let verified = swapped.and_then(|_| verify(client, &new_server, &before));
    match verified {
        Ok(()) => {
            report.state = State::Pushed;
            report.detail.push("docker restarted: it serves the store's server certificate, accepts the store's client certificate, the same containers run".into());
        }
        Err(why) => {
            report.detail.push(format!("the new files failed: {why}"));
            let back =
                on_host(m, t, &swap::roll_back(&paths, restart)).and_then(|_| match &old_served {
                    Some(old) => verify(client, old, &[]),
                    None => Ok(()),
                });
            match back {
                Ok(()) => {
                    report.state = State::RolledBack;
                    report.detail.push(
                        "rolled back: the old files are back and the daemon serves them".into(),
                    );
                }
                Err(e) => report.detail.push(format!("rolling back failed too: {e}")),
            }
        }
    }
    // Only now: a rollback's restart must still find live-restore on.
    match on_host(m, t, &swap::restore_daemon_json(&config_file)) {
        Ok(_) if report.state != State::Failed => crate::host::note::remove(&m.dir),
        Ok(_) => {}
        Err(e) => report
            .detail
            .push(format!("daemon.json could not be put back: {e}")),
    }
    Ok(report)
}

/// Records in the machine's directory how far the push got on its host.
fn note(m: &Machine, step: Step) -> Result<()> {
    crate::host::note::write(&m.dir, &crate::host::note::Note::now(step))
}

/// Stages the files beside the old ones and, with `daemon_json`, turns live-restore on and
/// waits until the daemon says it is. `false` (with why in the report) when it did not: then
/// nothing was swapped and daemon.json is back.
#[allow(clippy::too_many_arguments)]
fn stage_and_arm(
    m: &Machine,
    t: &crate::host::SshTarget,
    p: &Probe,
    w: &Wanted,
    paths: &[&str],
    daemon_json: Option<&[u8]>,
    config_file: &str,
    client: &Client<'_>,
    report: &mut HostReport,
) -> bool {
    let shas: Vec<String> = w.files.iter().map(|(_, b, _)| sha256(b)).collect();
    let files: Vec<NewFile<'_>> = w
        .files
        .iter()
        .zip(&shas)
        .zip(paths)
        .map(|(((_, bytes, mode), sha), path)| NewFile {
            path,
            bytes,
            sha256: sha,
            mode,
        })
        .collect();
    let staged = swap::stage(
        &files,
        daemon_json.map(|b| (config_file, b)),
        p.pid.unwrap_or(0),
    );
    if let Err(why) = on_host(m, t, &staged) {
        report
            .detail
            .push(format!("staging failed, nothing swapped: {why}"));
        let _ = on_host(m, t, &swap::restore_daemon_json(config_file));
        return false;
    }
    report.detail.push(format!(
        "staged {} file(s) beside the old, kept as .mbundle-backup",
        files.len()
    ));
    if daemon_json.is_some() {
        let on = || info(client).is_ok_and(|i| i["LiveRestoreEnabled"].as_bool() == Some(true));
        if !wait_for(10, on) {
            let _ = on_host(m, t, &swap::restore_daemon_json(config_file));
            report.state = State::Refused;
            report.detail.push(
                "live-restore did not turn on after a reload: daemon.json put back, nothing swapped"
                    .into(),
            );
            return false;
        }
        report
            .detail
            .push("live-restore turned on for the restart (daemon.json, then a reload)".into());
    }
    true
}

/// The daemon answers with `cert_der`, accepts the client, and runs every container of
/// `before` (waiting up to 60 s for it to come back).
fn verify(
    client: &Client<'_>,
    cert_der: &[u8],
    before: &[String],
) -> std::result::Result<(), String> {
    let mut last = String::from("no answer");
    let served = wait_for(60, || match client.handshake() {
        Ok(s) if s.ping_ok && s.cert_der == cert_der => true,
        Ok(s) if !s.ping_ok => {
            last = "it did not answer /_ping".into();
            false
        }
        Ok(_) => {
            last = "it serves another certificate".into();
            false
        }
        Err(e) => {
            last = e;
            false
        }
    });
    if !served {
        return Err(last);
    }
    let after = running(client)?;
    let lost: Vec<&String> = before.iter().filter(|c| !after.contains(c)).collect();
    if !lost.is_empty() {
        return Err(format!("{} container(s) no longer run", lost.len()));
    }
    Ok(())
}
