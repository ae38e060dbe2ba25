//! The fleet section of `bench/run.sh` (not a test: ignored, it asserts nothing about time).
//! Eight test hosts (tests/util/hosts.rs), each running a container; per round their server
//! certificates are renewed in the store and pushed with `--parallel 1`, then again with
//! `--parallel 4`; against that, the bare minimum a person would type per host: one SSH
//! session that copies the three files and restarts docker (its container is lost, which is
//! what mbundle's extra steps prevent; it is started again, untimed, so every round begins
//! alike). Prints each timing, the medians, the ratio parallel/serial and mbundle's time per
//! host against the bare one.
//!
//!   cargo test --release --test tests bench_fleet -- --ignored --nocapture
//!   (FLEET_HOSTS=8 FLEET_ROUNDS=3 by default)

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::hosts::mbundle;
use crate::util::hosts::{can_run_hosts, Fleet};
use crate::util::*;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The bare minimum for one host: the three files over one SSH session, docker restarted.
fn bare_push(fleet: &Fleet, h: &crate::util::hosts::Host) -> f64 {
    let m = fleet.store.join("machines").join(&h.name);
    let known = fleet.dir.join(format!("known_hosts-bare-{}", h.name));
    std::fs::write(&known, format!("{} {}\n", h.ip, h.host_key)).unwrap();
    let script = format!(
        "set -e; tar -C /tmp -xf - && cp /tmp/ca.pem /tmp/server.pem /tmp/server-key.pem /etc/docker/ && systemctl restart docker # {}",
        h.name
    );
    let start = Instant::now();
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(&m)
        .args(["-cf", "-", "ca.pem", "server.pem", "server-key.pem"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = fleet
        .in_client(&["ssh", "-F", "/dev/null", "-o", "BatchMode=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known.display()))
        .args(["-o", "StrictHostKeyChecking=yes", "-i"])
        .arg(m.join("id_rsa"))
        .arg(format!("root@{}", h.ip))
        .arg(script)
        .stdin(tar.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(tar.wait().unwrap().success());
    let took = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn timed_push(d: &Dir, fleet: &Fleet, parallel: &str) -> f64 {
    let s = fleet.store.to_str().unwrap();
    mbundle(d, fleet, &["-s", s, "regenerate-certs", "--all"]).ok();
    let start = Instant::now();
    let r = mbundle(
        d,
        fleet,
        &["-s", s, "push", "--all", "--yes", "--parallel", parallel],
    );
    let took = start.elapsed().as_secs_f64();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches(": pushed").count(),
        fleet.hosts.len(),
        "{}",
        r.stderr
    );
    took
}

#[test]
#[ignore = "a benchmark: bench/run.sh runs it"]
fn bench_fleet() {
    if !can_run_hosts() {
        panic!("the fleet benchmark needs root, sshd, sudo, busybox, ip and dockerd");
    }
    let (n, rounds) = (env_or("FLEET_HOSTS", 8), env_or("FLEET_ROUNDS", 3));
    let d = Dir::new();
    let fleet = Fleet::start(d.root(), n, gen::days(1000), gen::days(900));
    let s = fleet.store.to_str().unwrap();
    // (1) As a fleet is: a container running on every host, kept running by mbundle.
    let (mut serial, mut parallel, mut current) = (vec![], vec![], vec![]);
    for round in 1..=rounds {
        let t1 = timed_push(&d, &fleet, "1");
        let t4 = timed_push(&d, &fleet, "4");
        let start = Instant::now();
        let r = mbundle(&d, &fleet, &["-s", s, "push", "--all", "--yes"]);
        let tc = start.elapsed().as_secs_f64();
        assert_eq!(
            r.stderr.matches("current, left alone").count(),
            n,
            "{}",
            r.stderr
        );
        println!("containers running, round {round}: --parallel 1 {t1:.2} s, --parallel 4 {t4:.2} s, current fleet {tc:.2} s");
        serial.push(t1);
        parallel.push(t4);
        current.push(tc);
    }
    // What the bare minimum costs there, on one host: docker waits for the container to stop
    // (10 s), and it is gone after.
    mbundle(
        &d,
        &fleet,
        &["-s", s, "regenerate-certs", &fleet.hosts[0].name],
    )
    .ok();
    let bare_with_container = bare_push(&fleet, &fleet.hosts[0]);
    assert!(fleet.hosts[0].docker(&["ps", "-q"]).stdout.is_empty());
    // (2) No container anywhere: a restart is the same work for both, and what is left is
    // mbundle's own cost (probe, handshakes, staging, verify, daemon.json).
    for h in &fleet.hosts {
        assert!(h.docker(&["rm", "-f", "app"]).status.success());
    }
    let (mut alone, mut bare) = (vec![], vec![]);
    for round in 1..=rounds {
        let t1 = timed_push(&d, &fleet, "1");
        mbundle(&d, &fleet, &["-s", s, "regenerate-certs", "--all"]).ok();
        let tb: f64 = fleet.hosts.iter().map(|h| bare_push(&fleet, h)).sum();
        println!("no container, round {round}: mbundle --parallel 1 {t1:.2} s, bare ssh host after host {tb:.2} s");
        alone.push(t1);
        bare.push(tb);
    }
    let (t1, t4, tc) = (median(&serial), median(&parallel), median(&current));
    let (ta, tb) = (median(&alone), median(&bare));
    let per = |t: f64| t / n as f64;
    println!("fleet of {n} hosts, medians of {rounds} rounds:");
    println!("  containers running:  --parallel 1 {t1:6.2} s ({:.2} s a host), --parallel 4 {t4:6.2} s = {:.2} of the serial time; a current fleet {tc:.2} s", per(t1), t4 / t1);
    println!("  the bare minimum on a host with a running container: {bare_with_container:.2} s, and the container is gone");
    println!("  no container:  mbundle --parallel 1 {ta:6.2} s ({:.2} s a host), bare ssh {tb:6.2} s ({:.2} s a host): mbundle's overhead x{:.2}", per(ta), per(tb), ta / tb);
}
