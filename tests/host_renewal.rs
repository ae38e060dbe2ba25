//! Renewal that reaches the test hosts (tests/util/hosts.rs): a new client certificate
//! everywhere the old one was, a renewed CA pushed to every host, a context refreshed, and
//! the README walkthrough "Your certificates expire next week".

use std::fs;

use crate::hosts::{dockerd_pid, mbundle, running_containers, walkthrough_in_fleet};
use crate::util::hosts::{can_run_hosts, Fleet};
use crate::util::*;

/// `docker --context NAME` from the fleet's client namespace, with the test's docker config.
fn docker_context(d: &Dir, fleet: &Fleet, context: &str, args: &[&str]) -> Run {
    let out = fleet
        .in_client(&["docker", "--context", context])
        .args(args)
        .env("HOME", d.root())
        .env_remove("DOCKER_CONFIG")
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    Run::from(out)
}

/// `docker --context NAME version` reaches the daemon.
fn assert_context_reaches_its_daemon(d: &Dir, fleet: &Fleet, context: &str) {
    let v = docker_context(
        d,
        fleet,
        context,
        &["version", "--format", "{{.Server.Version}}"],
    );
    assert_eq!(v.code, 0, "{}", v.stderr);
}

/// The docker CLI's contexts directory of the test's HOME: the TLS files of `context`.
fn context_tls(d: &Dir, context: &str, file: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let id = hex::encode(Sha256::digest(context.as_bytes()));
    fs::read(
        d.root()
            .join(".docker/contexts/tls")
            .join(id)
            .join("docker")
            .join(file),
    )
    .unwrap()
}

#[test]
fn the_client_certificate_is_renewed_everywhere_and_a_renewed_ca_reaches_every_host() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start(d.root(), 2, gen::days(1000), gen::days(900));
    let s = fleet.store.to_str().unwrap();
    let store = &fleet.store;
    // A context mbundle wrote, and one the user made by hand with the same files.
    mbundle(&d, &fleet, &["-s", s, "context", "host-0"]).ok();
    let by_hand = docker_context(
        &d,
        &fleet,
        "default",
        &[
            "context",
            "create",
            "by-hand",
            "--docker",
            &format!(
                "host=tcp://{}:2376,ca={},cert={},key={}",
                fleet.hosts[1].ip,
                store.join("certs/ca.pem").display(),
                store.join("certs/cert.pem").display(),
                store.join("certs/key.pem").display()
            ),
        ],
    );
    assert_eq!(by_hand.code, 0, "{}", by_hand.stderr);
    let old_cert = fs::read(store.join("certs/cert.pem")).unwrap();
    let pids: Vec<String> = fleet.hosts.iter().map(|h| dockerd_pid(&fleet, h)).collect();

    let r = mbundle(&d, &fleet, &["-s", s, "regenerate-certs", "--client-certs"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("replaced the copy in machines: host-0, host-1"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("replaced the copy in docker contexts: host-0"),
        "{}",
        r.stdout
    );
    let new_cert = fs::read(store.join("certs/cert.pem")).unwrap();
    assert_ne!(new_cert, old_cert);
    for m in ["host-0", "host-1"] {
        let dir = store.join("machines").join(m);
        assert_eq!(fs::read(dir.join("cert.pem")).unwrap(), new_cert, "{m}");
        assert_eq!(
            fs::read(dir.join("key.pem")).unwrap(),
            fs::read(store.join("certs/key.pem")).unwrap()
        );
        assert_eq!(mode(&dir.join("key.pem")), 0o600);
    }
    assert_eq!(context_tls(&d, "host-0", "cert.pem"), new_cert);
    // The hand-made context names the store's files: it reads the new ones itself.
    // The new certificate opens both daemons (through mbundle's context, and as `env`
    // gives it: the machine directory's copies); no host was restarted for it.
    assert_context_reaches_its_daemon(&d, &fleet, "host-0");
    let v = fleet.docker_tls(
        &fleet.hosts[1],
        &["version", "--format", "{{.Server.Version}}"],
    );
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let again: Vec<String> = fleet.hosts.iter().map(|h| dockerd_pid(&fleet, h)).collect();
    assert_eq!(pids, again);
    // The openssl CLI agrees: a client certificate of that CA (not taken for self-signed,
    // though its subject is the CA's, O=<user>, as docker-machine makes them).
    if let Some(openssl) = peer("openssl") {
        let out = std::process::Command::new(openssl)
            .args(["verify", "-purpose", "sslclient", "-CAfile"])
            .arg(store.join("certs/ca.pem"))
            .arg(store.join("certs/cert.pem"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // A renewed CA, pushed: every host holds the new ca.pem, its containers still run.
    let containers = running_containers(&fleet);
    let r = mbundle(&d, &fleet, &["-s", s, "renew-ca", "--push", "--yes"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.matches(": pushed").count(), 2, "{}", r.stderr);
    // The summary: a table row per host, with its state and time.
    assert!(r.stderr.contains("HOST    STATE   TIME"), "{}", r.stderr);
    for h in &fleet.hosts {
        assert!(
            r.stderr
                .lines()
                .any(|l| l.starts_with(&format!("{}  pushed  ", h.name)) && l.contains('s')),
            "{}",
            r.stderr
        );
    }
    for (h, c) in fleet.hosts.iter().zip(&containers) {
        assert_eq!(
            fs::read(h.etc_docker().join("ca.pem")).unwrap(),
            fs::read(store.join("certs/ca.pem")).unwrap(),
            "{}",
            h.name
        );
        assert_eq!(&h.docker(&["ps", "-q"]).stdout, c, "{}", h.name);
    }
    // The context still holds the old CA copy: refreshed with --force, it has the new one
    // and still reaches its daemon.
    let r = mbundle(&d, &fleet, &["-s", s, "context", "host-0"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    let r = mbundle(&d, &fleet, &["-s", s, "context", "host-0", "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("refreshed"), "{}", r.stderr);
    assert_eq!(
        context_tls(&d, "host-0", "ca.pem"),
        fs::read(store.join("machines/host-0/ca.pem")).unwrap()
    );
    assert_context_reaches_its_daemon(&d, &fleet, "host-0");
    // A second push finds every host current.
    let r = mbundle(&d, &fleet, &["-s", s, "push", "--all", "--yes"]);
    assert_eq!(
        r.stderr.matches("current, left alone").count(),
        2,
        "{}",
        r.stderr
    );
}

/// README: "Your certificates expire next week". A docker-machine store whose CA, client
/// certificate and server certificates all end in a week (docker-machine issues them all for
/// 1080 days at once), on three hosts with running containers.
#[test]
fn walkthrough_your_certificates_expire_next_week() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start_named(d.root(), &["web", "db", "ci"], gen::days(7), gen::days(7));
    let containers = running_containers(&fleet);
    // The context the user made earlier with mbundle.
    let s = fleet.store.to_str().unwrap();
    mbundle(&d, &fleet, &["-s", s, "context", "web"]).ok();
    let run = walkthrough_in_fleet(&d, &fleet, "renew-expiring-fleet.sh");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // ls showed the dates that end next week; the renewal said what it did.
    let week = time::OffsetDateTime::now_utc() + time::Duration::days(7);
    let day = format!(
        "{}-{:02}-{:02}",
        week.year(),
        u8::from(week.month()),
        week.day()
    );
    assert!(run.stdout.contains(&day), "{}", run.stdout);
    assert!(run.stderr.contains("renewed the CA"), "{}", run.stderr);
    assert_eq!(run.stderr.matches(": pushed").count(), 3, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("replaced the copy in docker contexts: web"),
        "{}",
        run.stdout
    );
    // docker version reached the daemon through the refreshed context.
    assert!(run.stdout.contains("Server:"), "{}", run.stdout);
    assert_eq!(running_containers(&fleet), containers);
    // The CA key never left the store: no file on any host holds its body.
    let ca_key = fs::read_to_string(fleet.store.join("certs/ca-key.pem")).unwrap();
    let body = ca_key.lines().nth(1).unwrap().to_string();
    for h in &fleet.hosts {
        for dir in [h.tls_dir(), h.etc_docker()] {
            let out = std::process::Command::new("grep")
                .args(["-rlF", "--", &body])
                .arg(&dir)
                .output()
                .unwrap();
            assert!(
                out.stdout.is_empty() && out.status.code() == Some(1),
                "the CA key is on {}: {}",
                h.name,
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
    // Nothing ends within a year any more: not the CA, not a server, not the client.
    let r = mbundle(
        &d,
        &fleet,
        &[
            "-s",
            s,
            "regenerate-certs",
            "--expiring",
            "365",
            "--client-certs",
        ],
    );
    assert!(r.stderr.contains("nothing to renew"), "{}", r.stderr);
    let v = mbundle(&d, &fleet, &["-s", s, "doctor", "--hosts"]);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
}

/// A boot2docker host (profile and TLS files in /var/lib/boot2docker, `--tlscert=` flags, the
/// init script) is pushed like a systemd one, its profile untouched; the refusals hold on
/// real hosts, each leaving its host untouched: a layout docker-machine does not provision,
/// a daemon.json key the command line also sets, swarm mode without --restart-containers.
#[test]
fn a_boot2docker_host_is_pushed_and_unsafe_hosts_are_refused_untouched() {
    if !can_run_hosts() {
        return;
    }
    use crate::util::hosts::Layout;
    let d = Dir::new();
    let fleet = Fleet::start_laid_out(
        d.root(),
        &[
            ("b2d", Layout::Boot2docker),
            ("bare", Layout::Systemd),
            ("dup", Layout::Systemd),
            ("swarm", Layout::Systemd),
        ],
        gen::days(1000),
        gen::days(20),
    );
    let s = fleet.store.to_str().unwrap();
    let [b2d, bare, dup, swarm] = [0, 1, 2, 3].map(|i| &fleet.hosts[i]);
    // What doctor sees on the boot2docker host: its files, from its command line.
    let v = mbundle(&d, &fleet, &["-s", s, "doctor", "--hosts", "-v", "b2d"]);
    assert!(
        v.stdout
            .contains("(/var/lib/boot2docker/server.pem) is the store's"),
        "{}",
        v.stdout
    );
    // The unknown layout: docker runs, but nothing docker-machine provisions starts it.
    fs::remove_file(bare.root.join("systemd/docker.service.d/10-machine.conf")).unwrap();
    // A daemon.json key its command line sets too: the next start would fail.
    fs::write(
        dup.etc_docker().join("daemon.json"),
        "{\"tlsverify\": true}\n",
    )
    .unwrap();
    let init = swarm.docker(&["swarm", "init", "--advertise-addr", &swarm.ip]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    mbundle(&d, &fleet, &["-s", s, "regenerate-certs", "--all"]).ok();
    let trees: Vec<_> = fleet
        .hosts
        .iter()
        .map(|h| {
            (
                crate::util::tree(&h.tls_dir()),
                crate::util::tree(&h.etc_docker()),
            )
        })
        .collect();
    let pids: Vec<String> = fleet.hosts.iter().map(|h| dockerd_pid(&fleet, h)).collect();
    let profile = fs::read(b2d.tls_dir().join("profile")).unwrap();
    let container = b2d.docker(&["ps", "-q"]).stdout;
    let r = mbundle(
        &d,
        &fleet,
        &["-s", s, "push", "--all", "--yes", "--keep-going"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("b2d: pushed"), "{}", r.stderr);
    assert!(
        r.stderr.contains("bare: REFUSED, untouched")
            && r.stderr.contains("not one docker-machine provisions"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("dup: REFUSED, untouched")
            && r.stderr.contains("daemon.json sets \"tlsverify\""),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("swarm: REFUSED, untouched") && r.stderr.contains("--restart-containers"),
        "{}",
        r.stderr
    );
    // The boot2docker host: the new files where its profile says, the profile as it was,
    // the container alive.
    assert_eq!(
        fs::read(b2d.tls_dir().join("server.pem")).unwrap(),
        fs::read(fleet.store.join("machines/b2d/server.pem")).unwrap()
    );
    assert_eq!(fs::read(b2d.tls_dir().join("profile")).unwrap(), profile);
    assert_eq!(b2d.docker(&["ps", "-q"]).stdout, container);
    assert!(!b2d.etc_docker().join("daemon.json").exists());
    // Reached as `docker`, as docker-machine does, root through `sudo -n`: a sudo that wants a
    // password is said so, and nothing runs there.
    fs::write(b2d.root.join("sudoers.d/docker"), "docker ALL=(ALL) ALL\n").unwrap();
    mbundle(&d, &fleet, &["-s", s, "regenerate-certs", "b2d"]).ok();
    let before = crate::util::tree(&b2d.tls_dir());
    let r = mbundle(&d, &fleet, &["-s", s, "push", "b2d", "--yes"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("b2d: FAILED") && r.stderr.contains("a password is required"),
        "{}",
        r.stderr
    );
    assert_eq!(crate::util::tree(&b2d.tls_dir()), before);
    // The refused hosts: not one file changed, not restarted.
    for i in 1..4 {
        let h = &fleet.hosts[i];
        assert_eq!(
            (
                crate::util::tree(&h.tls_dir()),
                crate::util::tree(&h.etc_docker())
            ),
            trees[i],
            "{}",
            h.name
        );
        assert_eq!(dockerd_pid(&fleet, h), pids[i], "{}", h.name);
    }
    // Swarm mode, accepted: pushed; its container stopped with the restart, as said.
    let r = mbundle(
        &d,
        &fleet,
        &["-s", s, "push", "swarm", "--yes", "--restart-containers"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("swarm: pushed") && r.stderr.contains("the restart stops its 1"),
        "{}",
        r.stderr
    );
}
