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
