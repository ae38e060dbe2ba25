//! The test hosts themselves (tests/util/hosts.rs): each serves mutual TLS on 2376 with the
//! files docker-machine put in /etc/docker, answers ssh with the machine's key, runs a
//! container, and its docker unit can be restarted with sudo as docker-machine does it. What
//! `push` will be tested against must first be shown to be what a real host is.

use std::fs;

use crate::util::hosts::{can_run_hosts, Fleet};
use crate::util::*;

#[test]
fn test_hosts_are_laid_out_as_docker_machine_leaves_them() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start(d.root(), 2, gen::days(1000), gen::days(1000));
    for h in &fleet.hosts {
        // TLS with the store's client certificate: the container runs.
        let ps = fleet.docker_tls(h, &["ps", "--format", "{{.Names}}"]);
        assert!(
            ps.status.success(),
            "{}: {}",
            h.name,
            String::from_utf8_lossy(&ps.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&ps.stdout).trim(), "app");
        // ssh as docker-machine, with the host key checked: the daemon's command line names
        // the TLS files, and sudo finds systemctl.
        let out = fleet.ssh(
            h,
            "tr '\\0' ' ' < /proc/$(cat /proc/*/stat 2>/dev/null | awk '$2==\"(dockerd)\"{print $1; exit}')/cmdline; echo; sudo -n systemctl is-active docker",
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {}",
            h.name,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("--tlscacert /etc/docker/ca.pem"), "{text}");
        assert!(text.trim_end().ends_with("active"), "{text}");
    }
    // A restart keeps the daemon serving; a start made to fail leaves it stopped.
    let h = &fleet.hosts[0];
    let out = fleet.ssh(
        h,
        "sudo -n systemctl -f restart docker && sudo -n systemctl is-active docker",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fleet.docker_tls(h, &["version"]).status.success());
    h.fail_next_start();
    let out = fleet.ssh(h, "sudo -n systemctl restart docker");
    assert!(!out.status.success());
    assert!(!fleet.docker_tls(h, &["version"]).status.success());
    let out = fleet.ssh(h, "sudo -n systemctl start docker");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The other host was never touched: its container still runs.
    let ps = fleet.hosts[1].docker(&["ps", "-q"]);
    assert!(!String::from_utf8_lossy(&ps.stdout).trim().is_empty());
    assert!(fs::read_to_string(h.etc_docker().join("ca.pem")).is_ok());
}

/// mbundle run in the fleet's client namespace, HOME in the test directory.
pub(crate) fn mbundle(d: &Dir, fleet: &Fleet, args: &[&str]) -> Run {
    let out = fleet
        .in_client(&[env!("CARGO_BIN_EXE_mbundle")])
        .args(args)
        .env("HOME", d.root())
        .env_remove("MACHINE_STORAGE_PATH")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Run::from(out)
}

/// A README walkthrough run verbatim in the fleet's client namespace: `sh -e`, mbundle on
/// PATH, HOME the test directory (its cwd too), the fleet's store as MACHINE_STORAGE_PATH.
pub(crate) fn walkthrough_in_fleet(d: &Dir, fleet: &Fleet, name: &str) -> Run {
    let script = crate::e2e::walkthrough(name);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_mbundle"))
        .parent()
        .unwrap();
    let out = fleet
        .in_client(&["sh", "-ec", &script])
        .current_dir(d.root())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", d.root())
        .env("MACHINE_STORAGE_PATH", &fleet.store)
        .env_remove("DOCKER_CONFIG")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Run::from(out)
}

/// The docker CLI against `ip` with the TLS files of directory `dir` (ca.pem, cert.pem,
/// key.pem, as `env` gives them), from the fleet's client namespace.
pub(crate) fn docker_with(fleet: &Fleet, dir: &std::path::Path, ip: &str) -> std::process::Output {
    fleet
        .in_client(&["docker", "--tlsverify"])
        .arg(format!("--tlscacert={}", dir.join("ca.pem").display()))
        .arg(format!("--tlscert={}", dir.join("cert.pem").display()))
        .arg(format!("--tlskey={}", dir.join("key.pem").display()))
        .args([
            "-H",
            &format!("tcp://{ip}:2376"),
            "version",
            "--format",
            "{{.Server.Version}}",
        ])
        .output()
        .unwrap()
}

/// The containers running on each host, as the host's own docker CLI lists them.
pub(crate) fn running_containers(fleet: &Fleet) -> Vec<Vec<u8>> {
    fleet
        .hosts
        .iter()
        .map(|h| h.docker(&["ps", "-q"]).stdout)
        .collect()
}

/// The host's server.pem is the store's for its machine.
pub(crate) fn assert_holds_the_store_server_pem(fleet: &Fleet, h: &crate::util::hosts::Host) {
    let ours = fleet
        .store
        .join("machines")
        .join(&h.name)
        .join("server.pem");
    assert_eq!(
        fs::read(h.tls_dir().join("server.pem")).unwrap(),
        fs::read(ours).unwrap(),
        "{}",
        h.name
    );
}

/// doctor --hosts finds `n` daemons serving the store's server certificate.
pub(crate) fn assert_every_host_serves_the_store(d: &Dir, fleet: &Fleet, n: usize) {
    let s = fleet.store.to_str().unwrap();
    let v = mbundle(d, fleet, &["-s", s, "doctor", "--hosts", "-v"]);
    let serving = v
        .stdout
        .matches("serves the store's server certificate")
        .count();
    assert_eq!(serving, n, "{}", v.stdout);
}

#[test]
fn doctor_asks_each_host_what_its_daemon_uses_and_pins_its_host_key() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start(d.root(), 2, gen::days(1000), gen::days(1000));
    let s = fleet.store.to_str().unwrap();
    let r = mbundle(&d, &fleet, &["-s", s, "doctor", "--hosts", "-v"]).ok();
    assert_eq!(
        r.stdout
            .matches("the host's server certificate (/etc/docker/server.pem) is the store's")
            .count(),
        2,
        "{}",
        r.stdout
    );
    // A real TLS handshake: each daemon serves the store's certificate and takes its client.
    assert_eq!(
        r.stdout
            .matches(":2376 serves the store's server certificate and accepts the store's client certificate (/_ping OK)")
            .count(),
        2,
        "{}",
        r.stdout
    );
    for h in &fleet.hosts {
        let pins = fleet
            .store
            .join("machines")
            .join(&h.name)
            .join("mbundle-known-hosts");
        let pinned = fs::read_to_string(&pins).unwrap();
        assert!(
            pinned.contains(h.host_key.split(' ').nth(1).unwrap()),
            "{pinned}"
        );
    }
    // host-1 serves another machine's files: said, with the fix.
    let (h0, h1) = (&fleet.hosts[0], &fleet.hosts[1]);
    fs::copy(
        h0.etc_docker().join("server.pem"),
        h1.etc_docker().join("server.pem"),
    )
    .unwrap();
    let r = mbundle(&d, &fleet, &["-s", s, "doctor", "--hosts"]);
    assert!(
        r.stdout
            .contains("the host's server certificate /etc/docker/server.pem is not the store's"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("machine host-1"), "{}", r.stdout);
    assert!(!r.stdout.contains("machine host-0"), "{}", r.stdout);
    // live-restore is off and a container runs: said (a note, shown with -v).
    assert!(
        r.stdout.is_empty() || !r.stdout.contains("live-restore is off"),
        "notes are -v only: {}",
        r.stdout
    );
    // A daemon.json key the command line also sets: the next restart would fail.
    fs::write(
        h0.etc_docker().join("daemon.json"),
        "{\"hosts\": [\"unix:///var/run/docker.sock\"], \"debug\": false}",
    )
    .unwrap();
    let r0 = mbundle(&d, &fleet, &["-s", s, "doctor", "--hosts", "-v", "host-0"]);
    assert!(
        r0.stdout.contains(
            "/etc/docker/daemon.json sets \"hosts\", which dockerd's command line sets too (-H)"
        ),
        "{}",
        r0.stdout
    );
    assert!(
        r0.stdout
            .contains("live-restore is off: a restart of docker stops its 1 running container(s)"),
        "{}",
        r0.stdout
    );
    fs::remove_file(h0.etc_docker().join("daemon.json")).unwrap();
    // The files on disk changed, not what the running daemon loaded: the handshake says so.
    let v = mbundle(&d, &fleet, &["-s", s, "doctor", "--hosts", "-v", "host-1"]);
    assert!(
        v.stdout
            .contains("203.0.113.11:2376 serves the store's server certificate"),
        "{}",
        v.stdout
    );
    // host-0's host key changes: refused with both fingerprints, nothing done there.
    let before = crate::util::tree(&h0.etc_docker());
    let key = h0.root.join("ssh/host_ed25519");
    fs::remove_file(&key).unwrap();
    fs::remove_file(key.with_extension("pub")).unwrap();
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let new_fp = String::from_utf8(
        std::process::Command::new("ssh-keygen")
            .arg("-lf")
            .arg(key.with_extension("pub"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let new_fp = new_fp.split_whitespace().nth(1).unwrap().to_string();
    let r = mbundle(&d, &fleet, &["-s", s, "doctor", "--hosts", "host-0"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("the SSH host key of host-0"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&new_fp), "{new_fp}: {}", r.stdout);
    let old_fp = h0.host_key_fingerprint();
    assert!(r.stdout.contains(&old_fp), "{old_fp}: {}", r.stdout);
    assert_eq!(crate::util::tree(&h0.etc_docker()), before);
    assert!(!h0.docker(&["ps", "-q"]).stdout.is_empty());
}

/// New server certificates for every host, in the store only (the hosts still serve the old).
fn renew_in_store(d: &Dir, fleet: &Fleet) {
    let s = fleet.store.to_str().unwrap();
    mbundle(d, fleet, &["-s", s, "regenerate-certs", "--all"]).ok();
}

/// dockerd's PID on a host, as the host sees it.
pub(crate) fn dockerd_pid(fleet: &Fleet, h: &crate::util::hosts::Host) -> String {
    let out = fleet.ssh(
        h,
        "for p in /proc/[0-9]*; do [ \"$(cat $p/comm)\" = dockerd ] && echo ${p#/proc/}; done",
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn renewed_certificates_are_pushed_and_containers_survive() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start(d.root(), 2, gen::days(1000), gen::days(20));
    let s = fleet.store.to_str().unwrap();
    // A current fleet: nothing to do, no restart.
    let pids: Vec<String> = fleet.hosts.iter().map(|h| dockerd_pid(&fleet, h)).collect();
    let r = mbundle(&d, &fleet, &["-s", s, "push", "--all", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("current, left alone").count(),
        2,
        "{}",
        r.stderr
    );
    let again: Vec<String> = fleet.hosts.iter().map(|h| dockerd_pid(&fleet, h)).collect();
    assert_eq!(pids, again);
    // Renewed in the store; --dry-run says what would change and changes nothing.
    renew_in_store(&d, &fleet);
    let containers = running_containers(&fleet);
    let before: Vec<_> = fleet
        .hosts
        .iter()
        .map(|h| crate::util::tree(&h.etc_docker()))
        .collect();
    let dry = mbundle(&d, &fleet, &["-s", s, "push", "--all", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stderr
            .contains("/etc/docker/server.pem would be replaced"),
        "{}",
        dry.stderr
    );
    let after_dry: Vec<_> = fleet
        .hosts
        .iter()
        .map(|h| crate::util::tree(&h.etc_docker()))
        .collect();
    assert_eq!(before, after_dry);
    let j = mbundle(
        &d,
        &fleet,
        &["-s", s, "push", "--all", "--dry-run", "--json"],
    );
    crate::ecosystem::check_against_doc("push", &j.stdout);
    assert!(j.stdout.contains("\"would-change\""), "{}", j.stdout);
    // Pushed: each daemon serves the new certificate, the same container runs, daemon.json
    // (absent before) is absent again, the old files are kept.
    let r = mbundle(&d, &fleet, &["-s", s, "push", "--all", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr.matches(": pushed").count(), 2, "{}", r.stderr);
    for (h, c) in fleet.hosts.iter().zip(&containers) {
        assert_eq!(&h.docker(&["ps", "-q"]).stdout, c, "{}", h.name);
        assert!(!h.etc_docker().join("daemon.json").exists());
        assert!(h.etc_docker().join("server.pem.mbundle-backup").is_file());
        assert_holds_the_store_server_pem(&fleet, h);
    }
    assert_every_host_serves_the_store(&d, &fleet, 2);
}

#[test]
fn a_host_whose_restart_fails_is_rolled_back_and_the_rest_not_started() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start(d.root(), 2, gen::days(1000), gen::days(20));
    let s = fleet.store.to_str().unwrap();
    renew_in_store(&d, &fleet);
    let (h0, h1) = (&fleet.hosts[0], &fleet.hosts[1]);
    let container = h0.docker(&["ps", "-q"]).stdout;
    let h1_files = crate::util::tree(&h1.etc_docker());
    h0.fail_next_start();
    let r = mbundle(&d, &fleet, &["-s", s, "push", "--all", "--yes"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("host-0: ROLLED BACK"), "{}", r.stderr);
    assert!(
        r.stderr.contains("1 not started after the failure"),
        "{}",
        r.stderr
    );
    // host-0 serves its old certificate again; its container still runs.
    let v = mbundle(&d, &fleet, &["-s", s, "doctor", "--hosts", "-v", "host-0"]);
    assert!(
        v.stdout
            .contains("serves a server certificate that is not the store's"),
        "{}",
        v.stdout
    );
    assert_eq!(h0.docker(&["ps", "-q"]).stdout, container);
    assert!(!h0.etc_docker().join("daemon.json").exists());
    // host-1 was not touched.
    assert_eq!(crate::util::tree(&h1.etc_docker()), h1_files);
}

#[test]
fn a_push_killed_midway_or_a_stopped_daemon_converges_on_the_next_run() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start(d.root(), 1, gen::days(1000), gen::days(20));
    let s = fleet.store.to_str().unwrap();
    let h = &fleet.hosts[0];
    mbundle(&d, &fleet, &["-s", s, "regenerate-certs", &h.name]).ok();
    let container = h.docker(&["ps", "-q"]).stdout;
    // SIGKILL after staging and turning live-restore on, before the swap.
    let killed = fleet
        .in_client(&[
            env!("CARGO_BIN_EXE_mbundle"),
            "-s",
            s,
            "push",
            "--all",
            "--yes",
        ])
        .env("HOME", d.root())
        .env("MBUNDLE_TEST_FAILPOINT", "push-swap:1:sigkill")
        .output()
        .unwrap();
    assert!(!killed.status.success());
    assert!(h.etc_docker().join("server.pem.mbundle-new").is_file());
    assert!(
        h.etc_docker().join("daemon.json").is_file(),
        "live-restore was armed"
    );
    // The same command again finishes: new certificate served, daemon.json gone again (it
    // was absent before the first run), the container still runs.
    let r = mbundle(&d, &fleet, &["-s", s, "push", "--all", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains(": pushed"), "{}", r.stderr);
    assert!(!h.etc_docker().join("daemon.json").exists(), "{}", r.stderr);
    assert!(!h.etc_docker().join("server.pem.mbundle-new").exists());
    assert_eq!(h.docker(&["ps", "-q"]).stdout, container);
    // A daemon left stopped is started, then found current.
    let out = fleet.ssh(h, "systemctl stop docker");
    assert!(out.status.success());
    let r = mbundle(&d, &fleet, &["-s", s, "push", "--all", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("docker was stopped: started it"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("current, left alone"), "{}", r.stderr);
}

#[test]
fn a_fleet_goes_canary_first_then_in_parallel_and_stops_at_a_failure_unless_told() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start(d.root(), 3, gen::days(1000), gen::days(20));
    let s = fleet.store.to_str().unwrap();
    renew_in_store(&d, &fleet);
    let untouched: Vec<_> = fleet.hosts[1..]
        .iter()
        .map(|h| crate::util::tree(&h.etc_docker()))
        .collect();
    // The canary fails: nothing else starts.
    fleet.hosts[0].fail_next_start();
    let r = mbundle(
        &d,
        &fleet,
        &["-s", s, "push", "--all", "--yes", "--parallel", "2"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("host-0: ROLLED BACK"), "{}", r.stderr);
    assert!(
        r.stderr.contains("2 not started after the failure"),
        "{}",
        r.stderr
    );
    let now: Vec<_> = fleet.hosts[1..]
        .iter()
        .map(|h| crate::util::tree(&h.etc_docker()))
        .collect();
    assert_eq!(now, untouched);
    // host-1 fails this time; --keep-going pushes the others all the same.
    fleet.hosts[1].fail_next_start();
    let r = mbundle(
        &d,
        &fleet,
        &[
            "-s",
            s,
            "push",
            "--all",
            "--yes",
            "--parallel",
            "2",
            "--keep-going",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("host-0: pushed"), "{}", r.stderr);
    assert!(r.stderr.contains("host-1: ROLLED BACK"), "{}", r.stderr);
    assert!(r.stderr.contains("host-2: pushed"), "{}", r.stderr);
    // Again: the two done are current, host-1 is pushed.
    let r = mbundle(&d, &fleet, &["-s", s, "push", "--all", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("current, left alone").count(),
        2,
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("host-1: pushed"), "{}", r.stderr);
}

/// Point 7's first case: a fleet whose server certificates expire soon, renewed and pushed in
/// one command; containers survive, new certificates are served, daemon.json is as it was.
#[test]
fn an_expiring_fleet_is_renewed_and_pushed_in_one_command() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start(d.root(), 3, gen::days(1000), gen::days(10));
    let s = fleet.store.to_str().unwrap();
    // One host keeps a daemon.json of its own: it must come back byte for byte.
    let own = b"{\n  \"log-level\": \"info\"\n}\n";
    fs::write(fleet.hosts[2].etc_docker().join("daemon.json"), own).unwrap();
    let containers = running_containers(&fleet);
    // Nothing ends within 5 days: nothing to do.
    let r = mbundle(
        &d,
        &fleet,
        &[
            "-s",
            s,
            "regenerate-certs",
            "--expiring",
            "5",
            "--push",
            "--yes",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("nothing to renew"), "{}", r.stderr);
    let r = mbundle(
        &d,
        &fleet,
        &[
            "-s",
            s,
            "regenerate-certs",
            "--expiring",
            "30",
            "--push",
            "--yes",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("new server certificate for host-").count(),
        3,
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches(": pushed").count(), 3, "{}", r.stderr);
    assert_eq!(running_containers(&fleet), containers);
    assert_eq!(
        fs::read(fleet.hosts[2].etc_docker().join("daemon.json")).unwrap(),
        own
    );
    assert!(!fleet.hosts[0].etc_docker().join("daemon.json").exists());
    assert_every_host_serves_the_store(&d, &fleet, 3);
    // Renewed: nothing expires within 30 days any more.
    let r = mbundle(
        &d,
        &fleet,
        &["-s", s, "regenerate-certs", "--expiring", "30"],
    );
    assert!(r.stderr.contains("nothing to renew"), "{}", r.stderr);
}

/// Point 4 mid-restart: mbundle killed with -9 while docker restarts on the new files (the
/// host goes on without it), and a connection cut at the same moment (mbundle and its ssh
/// killed together). Each leaves a note doctor reports; the same command again converges:
/// the new certificate served, daemon.json as before the first run, the container alive.
#[test]
fn a_push_killed_mid_restart_or_cut_off_converges_on_the_next_run() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start(d.root(), 2, gen::days(1000), gen::days(20));
    let s = fleet.store.to_str().unwrap();
    renew_in_store(&d, &fleet);
    for (h, whole_group) in fleet.hosts.iter().zip([false, true]) {
        let container = h.docker(&["ps", "-q"]).stdout;
        h.slow_next_start();
        let mut child = {
            use std::os::unix::process::CommandExt;
            fleet
                .in_client(&[
                    env!("CARGO_BIN_EXE_mbundle"),
                    "-s",
                    s,
                    "push",
                    &h.name,
                    "--yes",
                ])
                .env("HOME", d.root())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap()
        };
        let start = std::time::Instant::now();
        while !h.state().join("starting").exists() {
            assert!(start.elapsed().as_secs() < 60, "the restart never began");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // `ip netns exec` runs mbundle in its own process: its PID is the child's.
        let pid = child.id().to_string();
        let target = if whole_group { format!("-{pid}") } else { pid };
        assert!(std::process::Command::new("kill")
            .args(["-KILL", "--", &target])
            .status()
            .unwrap()
            .success());
        let _ = child.wait();
        // The note says how far it got; doctor names the command that finishes it.
        let note = fleet
            .store
            .join("machines")
            .join(&h.name)
            .join("mbundle-push.json");
        assert!(note.is_file(), "{}", h.name);
        let doc = mbundle(&d, &fleet, &["-s", s, "doctor", &h.name]);
        assert!(
            doc.stdout.contains("stopped while restarting docker")
                && doc.stdout.contains(&format!("push {}", h.name)),
            "{}",
            doc.stdout
        );
        // Let the host's restart end (or not) on its own before the next run.
        std::thread::sleep(std::time::Duration::from_secs(3));
        let r = mbundle(&d, &fleet, &["-s", s, "push", &h.name, "--yes"]);
        assert_eq!(r.code, 0, "{}: {}", h.name, r.stderr);
        assert!(
            r.stderr.contains("was stopped while restarting"),
            "{}",
            r.stderr
        );
        // Either the host had finished the restart (then only daemon.json was left to put
        // back: before the probe looked for it, it stayed armed for good) or it is pushed now.
        assert!(
            r.stderr.contains("put daemon.json back as it was") || r.stderr.contains(": pushed"),
            "{}",
            r.stderr
        );
        assert!(!h.etc_docker().join("daemon.json").exists(), "{}", r.stderr);
        assert!(!h.etc_docker().join("daemon.json.mbundle-absent").exists());
        assert!(!note.exists(), "{}", r.stderr);
        assert_eq!(h.docker(&["ps", "-q"]).stdout, container, "{}", h.name);
        assert_holds_the_store_server_pem(&fleet, h);
    }
    assert_every_host_serves_the_store(&d, &fleet, 2);
}
