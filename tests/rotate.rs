//! `mbundle rotate-ca` on the test hosts (tests/util/hosts.rs): killed mid-way and resumed,
//! then every daemon serves a certificate that verifies against the new CA alone, refuses the
//! old client certificate, accepts the new one and still runs its container; the old CA key
//! is kept aside 0600; a scoped share's teammate is named.

use std::fs;

use crate::hosts::{docker_with, mbundle, running_containers, walkthrough_in_fleet};
use crate::util::hosts::{can_run_hosts, Fleet};
use crate::util::*;

#[test]
fn a_rotation_killed_midway_resumes_and_cuts_off_the_old_ca() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start_named(d.root(), &["web", "db"], gen::days(1000), gen::days(900));
    let s = fleet.store.to_str().unwrap();
    let certs = fleet.store.join("certs");
    // The old client files, kept to try them afterwards.
    let old = d.path("old-client");
    fs::create_dir_all(&old).unwrap();
    for f in ["ca.pem", "cert.pem", "key.pem"] {
        fs::copy(certs.join(f), old.join(f)).unwrap();
    }
    mbundle(&d, &fleet, &["-s", s, "context", "web"]).ok();
    let r = crate::scoped::scoped_share(&d, &fleet, "web", &d.path("bob.mbundle"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let containers = running_containers(&fleet);
    let dry = mbundle(&d, &fleet, &["-s", s, "rotate-ca", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout.contains("4. every host trusts only the new CA"),
        "{}",
        dry.stdout
    );
    assert!(
        !certs.join("rotation").exists(),
        "a dry run changes nothing"
    );
    // Killed after the second phase reached every host, before it was recorded.
    let killed = fleet
        .in_client(&[env!("CARGO_BIN_EXE_mbundle"), "-s", s, "rotate-ca", "--yes"])
        .env("HOME", d.root())
        .env("MBUNDLE_TEST_FAILPOINT", "rotate-phase:2:sigkill")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!killed.status.success());
    assert!(certs.join("rotation/ca-key.pem").is_file());
    // Mid-rotation nobody is cut off: the old client certificate, checking the daemons with
    // what the store's clients now trust (machine copies: the old and the new CA), reaches both.
    let mid = d.path("mid-client");
    fs::create_dir_all(&mid).unwrap();
    fs::copy(fleet.store.join("machines/web/ca.pem"), mid.join("ca.pem")).unwrap();
    for f in ["cert.pem", "key.pem"] {
        fs::copy(old.join(f), mid.join(f)).unwrap();
    }
    for h in &fleet.hosts {
        let v = docker_with(&fleet, &mid, &h.ip);
        assert!(
            v.status.success(),
            "{}: {}",
            h.name,
            String::from_utf8_lossy(&v.stderr)
        );
    }
    // renew-ca of the CA being rotated is refused, nothing changed.
    let before = crate::util::tree(&certs);
    let renew = mbundle(&d, &fleet, &["-s", s, "renew-ca"]);
    assert_eq!(renew.code, 1, "{}", renew.stderr);
    assert!(renew.stderr.contains("being rotated"), "{}", renew.stderr);
    assert_eq!(crate::util::tree(&certs), before);
    let share = crate::scoped::scoped_share(&d, &fleet, "db", &d.path("mid.mbundle"));
    assert_eq!(share.code, 1, "{}", share.stderr);
    assert!(share.stderr.contains("being rotated"), "{}", share.stderr);
    assert!(!d.path("mid.mbundle").exists());
    // doctor says the rotation is not finished, and takes the new CA's certificates.
    let doc = mbundle(&d, &fleet, &["-s", s, "doctor"]);
    assert!(
        doc.stdout.contains("is not finished (1 of 4 phases done)")
            && doc.stdout.contains("rotate-ca (it resumes)")
            && !doc.stdout.contains("was not issued by"),
        "{}",
        doc.stdout
    );
    // Killed again once the last phase (the switch to the new CA) reached every host, before
    // the rotation was closed: the next run finishes it without switching twice.
    let killed = fleet
        .in_client(&[env!("CARGO_BIN_EXE_mbundle"), "-s", s, "rotate-ca", "--yes"])
        .env("HOME", d.root())
        .env("MBUNDLE_TEST_FAILPOINT", "rotate-phase:3:sigkill")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!killed.status.success());
    assert!(certs.join("rotation").is_dir());
    assert_eq!(
        fs::read(certs.join("ca.pem")).unwrap(),
        fs::read(certs.join("rotation/ca.pem")).unwrap(),
        "the switch was made"
    );
    let r = mbundle(&d, &fleet, &["-s", s, "rotate-ca", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("3 of 4 phases done"), "{}", r.stderr);
    assert!(
        r.stderr.contains("resuming the rotation begun"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("share again for bob"), "{}", r.stderr);
    assert!(!certs.join("rotation").exists());
    // The old CA key is kept aside, private; certs/ holds the new CA.
    let aside: Vec<_> = fs::read_dir(&certs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.to_string_lossy().contains("ca-key.pem.") && p.to_string_lossy().ends_with(".old")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(mode(&aside[0]), 0o600);
    assert_ne!(
        fs::read(certs.join("ca.pem")).unwrap(),
        fs::read(old.join("ca.pem")).unwrap()
    );
    for h in &fleet.hosts {
        // The old client certificate is refused (the daemon checked with the new CA); the
        // new one (and the context) accepted.
        fs::copy(certs.join("ca.pem"), mid.join("ca.pem")).unwrap();
        assert!(
            !docker_with(&fleet, &mid, &h.ip).status.success(),
            "{}",
            h.name
        );
        let v = fleet.docker_tls(h, &["version", "--format", "{{.Server.Version}}"]);
        assert!(
            v.status.success(),
            "{}: {}",
            h.name,
            String::from_utf8_lossy(&v.stderr)
        );
        // The daemon's server certificate verifies against the new CA alone.
        let out = std::process::Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(certs.join("ca.pem"))
            .arg(h.tls_dir().join("server.pem"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let ctx = fleet
        .in_client(&[
            "docker",
            "--context",
            "web",
            "version",
            "--format",
            "{{.Server.Version}}",
        ])
        .env("HOME", d.root())
        .env_remove("DOCKER_CONFIG")
        .output()
        .unwrap();
    assert!(
        ctx.status.success(),
        "{}",
        String::from_utf8_lossy(&ctx.stderr)
    );
    assert_eq!(running_containers(&fleet), containers);
    // Done: a second rotate-ca is a new rotation, not a resume; doctor finds nothing wrong.
    let doc = mbundle(&d, &fleet, &["-s", s, "doctor", "--hosts"]);
    assert!(!doc.stdout.contains("ERROR"), "{}", doc.stdout);
}

/// README: "Our CA key leaked", verbatim, in the fleet's client namespace.
#[test]
fn walkthrough_our_ca_key_leaked() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start_named(d.root(), &["web", "db"], gen::days(1000), gen::days(900));
    let s = fleet.store.to_str().unwrap();
    mbundle(&d, &fleet, &["-s", s, "context", "web"]).ok();
    let old = d.path("old-client");
    fs::create_dir_all(&old).unwrap();
    for f in ["cert.pem", "key.pem"] {
        fs::copy(fleet.store.join("certs").join(f), old.join(f)).unwrap();
    }
    let containers = running_containers(&fleet);
    let run = walkthrough_in_fleet(&d, &fleet, "ca-key-leaked.sh");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("1. every host trusts the old and the new CA"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Server:"), "{}", run.stdout);
    assert!(run.stderr.contains("shred -u"), "{}", run.stderr);
    fs::copy(fleet.store.join("certs/ca.pem"), old.join("ca.pem")).unwrap();
    for h in &fleet.hosts {
        assert!(
            !docker_with(&fleet, &old, &h.ip).status.success(),
            "{}",
            h.name
        );
    }
    assert_eq!(running_containers(&fleet), containers);
}
