//! `mbundle rotate-ca`: a new CA key for the store's certs/ and every machine it issued for,
//! in four phases so that no host and no client is cut off at any moment
//! (`store::rotation`): every host trusts the old and the new CA; every host gets a server
//! certificate from the new CA; a new client certificate; every host trusts only the new CA.
//! Each phase is pushed to every host (`--keep-going`: a host that fails does not spare the
//! others) and recorded only when all took it; run again, it resumes where it stopped.

use super::render::*;
use super::Outcome;
use crate::cli::RotateCaArgs;
use crate::error::{Error, Result};
use crate::ops::push::State;
use crate::store::rotation::{Phase, Record, Rotation};
use crate::store::{Machine, Store, CA_CERT, CA_KEY};

pub(super) fn run(store: &Store, a: &RotateCaArgs) -> Result<Outcome> {
    let (ours, others) = machines_of_certs(store)?;
    for (m, why) in &others {
        eprintln!(
            "{}: left alone ({why}); rotate-ca rotates the store's certs/ CA",
            m.name
        );
    }
    let current = crate::store::rotation::current(&store.root)?;
    if let Some(r) = &current {
        eprintln!(
            "resuming the rotation begun {} ({} of 4 phases done), not starting another",
            crate::pki::certs::date_of(&r.record.started_at),
            r.record.done.len()
        );
    }
    if a.dry_run {
        print(&dry_run(current.as_ref(), &ours))?;
        return Ok(Outcome::Success);
    }
    if !a.yes && !confirmed(ours.len())? {
        return Err(Error::usage(
            "rotate-ca restarts docker on every host of the store's CA, four times over",
            "pass --yes to go ahead (or --dry-run to see the phases)",
        ));
    }
    let mut r = match current {
        Some(r) => r,
        None => begin(store)?,
    };
    while let Some(phase) = r.next_phase() {
        eprintln!("phase: {}", phase.describe());
        apply(store, &r, phase, &ours)?;
        if phase != Phase::ClientCert {
            push_phase(store, &ours, a, phase)?;
        }
        crate::failpoint::failpoint("rotate-phase")?;
        if phase == Phase::TrustNew {
            finish(store, &r)?;
            break;
        }
        r.finish(phase)?;
    }
    Ok(Outcome::Success)
}

/// The store's machines issued by certs/ (rotated), and the others with why they are not.
#[allow(clippy::type_complexity)]
fn machines_of_certs(store: &Store) -> Result<(Vec<Machine>, Vec<(Machine, &'static str)>)> {
    let certs_ca = store.certs_dir().join(CA_CERT);
    let mut ours = Vec::new();
    let mut others = Vec::new();
    for m in store.machines(&store.machine_names()?)? {
        let ca = m
            .issuing_material(store)
            .into_iter()
            .find(|f| f.name == CA_CERT);
        match ca {
            Some(f) if f.local == certs_ca => ours.push(m),
            Some(_) => others.push((m, "its CA is another cert set or outside the store")),
            None => others.push((m, "no CA certificate found for it")),
        }
    }
    Ok((ours, others))
}

/// A new CA beside the old (same organisation, a name of its own) and an empty record.
fn begin(store: &Store) -> Result<Rotation> {
    let _lock = crate::fs::lock::lock_store(&store.root)?;
    let certs = store.certs_dir();
    if !certs.join(CA_KEY).is_file() {
        return Err(Error::cannot(
            format!(
                "{} is not here: only the CA's holder can rotate it",
                certs.join(CA_KEY).display()
            ),
            "run rotate-ca on the computer that holds the CA key",
        ));
    }
    let old = crate::store::read_pem_file(&certs.join(CA_CERT))?;
    let info = crate::pki::certs::parse_pem(&old).map_err(|e| {
        Error::cannot(
            format!("certs/ca.pem does not parse: {e}"),
            "mbundle doctor says more",
        )
    })?;
    let now = time::OffsetDateTime::now_utc();
    let (ca, key) = crate::pki::reissue::new_store_ca(
        &info.name,
        &format!("mbundle CA {}", crate::pki::certs::day(now)),
        crate::pki::reissue::DEFAULT_CA_DAYS,
    )
    .map_err(|e| Error::Bug(format!("cannot make the new CA: {e}")))?;
    let record = Record {
        started_at: crate::pki::certs::rfc3339(now),
        done: Vec::new(),
        old_ca: crate::pki::certs::file_fingerprint(&old),
        new_ca: crate::pki::certs::file_fingerprint(ca.as_bytes()),
    };
    let r = crate::store::rotation::begin(&store.root, record, ca.as_bytes(), key.as_bytes())?;
    eprintln!("a new CA for {}: {}", info.name, r.ca_path().display());
    Ok(r)
}

/// What a phase changes in the store (the hosts get it from the push that follows).
fn apply(store: &Store, r: &Rotation, phase: Phase, ours: &[Machine]) -> Result<()> {
    let _lock = crate::fs::lock::lock_store(&store.root)?;
    // The old CA: certs/ca.pem, or once the last phase set it aside, that file.
    let aside = store
        .certs_dir()
        .join(format!("{CA_CERT}.{}.old", stamp(r)));
    let old = match crate::store::read_pem_file(&aside) {
        Ok(b) => b,
        Err(_) => crate::store::read_pem_file(&store.certs_dir().join(CA_CERT))?,
    };
    let new = crate::store::read_pem_file(&r.ca_path())?;
    let both = crate::store::rotation::both(&old, &new);
    match phase {
        // The clients of the store trust both: the machine directories' copies, contexts.
        Phase::TrustBoth => replace_ca_copies(store, &old, &both),
        Phase::ServerCerts => {
            let new_der = crate::pki::certs::pem_cert_der(&new)
                .map_err(|e| Error::Bug(format!("the new CA: {e}")))?;
            for m in ours {
                if issued_by_new(m, &new_der) {
                    continue;
                }
                let done = crate::ops::lifecycle::regenerate(
                    store,
                    m,
                    None,
                    &[],
                    crate::pki::reissue::KeyType::Rsa,
                )?;
                eprintln!(
                    "  new server certificate for {} from the new CA",
                    done.machine
                );
            }
            Ok(())
        }
        Phase::ClientCert => {
            let cert = crate::store::read_pem_file(&store.certs_dir().join("cert.pem"))?;
            let new_der = crate::pki::certs::pem_cert_der(&new)
                .map_err(|e| Error::Bug(format!("the new CA: {e}")))?;
            let cert_der = crate::pki::certs::pem_cert_der(&cert).unwrap_or_default();
            if crate::pki::certs::issued_by(&cert_der, &new_der).unwrap_or(false) {
                return Ok(());
            }
            let cfg = crate::store::context::docker_config_dir();
            let done = crate::ops::lifecycle::renew_client(
                store,
                &store.certs_dir(),
                cfg.as_deref(),
                crate::pki::reissue::KeyType::Rsa,
            )?;
            eprintln!(
                "  new client certificate from the new CA: {} machine copies, {} docker contexts",
                done.machines.len(),
                done.contexts.len()
            );
            Ok(())
        }
        Phase::TrustNew => switch(store, r, &new, &both),
    }
}

/// The rotation's start as a file-name stamp (the old CA and key are set aside with it).
fn stamp(r: &Rotation) -> String {
    r.record.started_at.replace(['-', ':'], "")
}

fn issued_by_new(m: &Machine, new_der: &[u8]) -> bool {
    crate::store::read_pem_file(&m.dir.join("server.pem"))
        .ok()
        .and_then(|p| crate::pki::certs::pem_cert_der(&p).ok())
        .is_some_and(|d| crate::pki::certs::issued_by(&d, new_der).unwrap_or(false))
}

/// Every copy of the store's CA that holds `from` (machine directories, mbundle's docker
/// contexts) gets `to`.
fn replace_ca_copies(store: &Store, from: &[u8], to: &[u8]) -> Result<()> {
    for name in store.machine_names()? {
        let copy = store.machines_dir().join(name).join(CA_CERT);
        if crate::store::read_pem_file(&copy).ok().as_deref() == Some(from) {
            crate::fs::outfile::write_atomic(&copy, to, 0o644)?;
        }
    }
    if let Some(cfg) = crate::store::context::docker_config_dir() {
        crate::store::context::refresh(&cfg, ("ca.pem", from), &[("ca.pem", to)])?;
    }
    Ok(())
}

/// The last phase's switch: the new CA becomes certs/'s (the old certificate and key kept
/// aside, dated, the key 0600), and the copies trust it alone. Each step checks what is
/// there first: stopped half-way, the next run finishes it.
fn switch(store: &Store, r: &Rotation, new: &[u8], both: &[u8]) -> Result<()> {
    let certs = store.certs_dir();
    for (name, from) in [(CA_CERT, r.ca_path()), (CA_KEY, r.key_path())] {
        let live = certs.join(name);
        let bytes = crate::store::read_pem_file(&from)?;
        if crate::store::read_pem_file(&live).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        let aside = certs.join(format!("{name}.{}.old", stamp(r)));
        if std::fs::symlink_metadata(&aside).is_err() {
            crate::fs::rename_noreplace(&live, &aside)
                .map_err(|e| Error::io("set aside", &live, e))?;
            if name == CA_KEY {
                crate::fs::set_mode(&aside, 0o600)?;
            }
        }
        let mode = if name == CA_KEY { 0o600 } else { 0o644 };
        crate::fs::outfile::write_atomic(&live, &bytes, mode)?;
    }
    replace_ca_copies(store, both, new)
}

/// Pushes a phase to every host of the store's CA; an error when any did not take it.
fn push_phase(store: &Store, ours: &[Machine], a: &RotateCaArgs, phase: Phase) -> Result<()> {
    let machines = store.machines(&ours.iter().map(|m| m.name.clone()).collect::<Vec<_>>())?;
    let push = crate::cli::PushArgs {
        parallel: a.parallel,
        keep_going: true,
        ..super::push::confirmed_by(true)
    };
    let reports = super::push::push_and_say(store, &machines, &push)?;
    let left: Vec<&str> = reports
        .iter()
        .filter(|r| !matches!(r.state, State::Pushed | State::Current))
        .map(|r| r.machine.as_str())
        .collect();
    if left.is_empty() && reports.len() == machines.len() {
        return Ok(());
    }
    Err(Error::cannot(
        format!(
            "the rotation's phase \"{}\" did not reach {}: the rotation stops here",
            phase.describe(),
            left.join(", ")
        ),
        "fix what the lines above say, then run mbundle rotate-ca again: it resumes this phase",
    ))
}

/// After the last phase: the rotation's directory goes; what the user must still do.
fn finish(store: &Store, r: &Rotation) -> Result<()> {
    std::fs::remove_dir_all(&r.dir).map_err(|e| Error::io("remove", &r.dir, e))?;
    let old_key = store.certs_dir().join(format!("{CA_KEY}.{}.old", stamp(r)));
    let mut out = format!(
        "rotated: every host of the store's CA trusts only the new one ({}), serves a certificate from it and refuses the old client certificate\nthe old CA key is kept aside, 0600: {}\n  destroy it once you no longer need to read old backups: shred -u {}\n",
        r.record.new_ca,
        old_key.display(),
        crate::text::shell_word(&old_key.display().to_string())
    );
    for s in crate::store::scoped::list_readable(&store.root)?
        .0
        .into_iter()
        .filter(|s| s.active())
    {
        out.push_str(&format!(
            "  {}'s scoped share ({}) checks the daemons with the old CA: share again for {}\n",
            s.record.user,
            s.record.machines.join(", "),
            s.record.user
        ));
    }
    eprint!("{}", printable(&out));
    Ok(())
}

fn dry_run(r: Option<&Rotation>, ours: &[Machine]) -> String {
    let names: Vec<&str> = ours.iter().map(|m| m.name.as_str()).collect();
    let mut out = String::new();
    for (i, phase) in Phase::ALL.iter().enumerate() {
        let done = r.is_some_and(|r| r.record.done.contains(phase));
        out.push_str(&format!(
            "{}. {}{}\n",
            i + 1,
            phase.describe(),
            if done { " (done)" } else { "" }
        ));
        if !done && *phase != Phase::ClientCert {
            out.push_str(&format!(
                "   push, docker restarted on: {}\n",
                names.join(", ")
            ));
        }
    }
    out
}

/// A yes on a terminal.
fn confirmed(n: usize) -> Result<bool> {
    ask_yes(&format!(
        "rotate-ca restarts docker on the {n} host(s) of the store's CA, once per phase; go ahead?"
    ))
}
