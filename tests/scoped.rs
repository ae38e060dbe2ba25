//! Scoped shares on the test hosts (tests/util/hosts.rs): the teammate's certificate opens
//! the shared machine and no other, the owner keeps every machine, `revoke` takes it back
//! (finishing later a host it could not reach), and the share's CA key never leaves the
//! store.

use std::fs;
use std::path::Path;

use crate::hosts::{mbundle, walkthrough_in_fleet};
use crate::util::hosts::{can_run_hosts, Fleet, Host};
use crate::util::*;

/// The docker CLI against host `h` with the TLS files in `dir`.
fn docker_with(fleet: &Fleet, dir: &Path, h: &Host) -> std::process::Output {
    crate::hosts::docker_with(fleet, dir, &h.ip)
}

/// `share MACHINE --as bob --scoped --push --yes` into the bundle `out`.
pub(crate) fn scoped_share(d: &Dir, fleet: &Fleet, machine: &str, out: &Path) -> Run {
    let s = fleet.store.to_str().unwrap();
    let (r, out) = (demo_recipient(), out.to_str().unwrap());
    let args = [
        "share", machine, "--as", "bob", "--scoped", "--push", "--yes", "-r", &r, "-o", out,
    ];
    let mut all = vec!["-s", s];
    all.extend(args);
    mbundle(d, fleet, &all)
}

/// Whether the owner (the store's certs/) reaches every host.
fn owner_reaches_all(fleet: &Fleet) {
    for h in &fleet.hosts {
        let v = fleet.docker_tls(h, &["version", "--format", "{{.Server.Version}}"]);
        assert!(
            v.status.success(),
            "{}: {}",
            h.name,
            String::from_utf8_lossy(&v.stderr)
        );
    }
}

fn set_ssh_port(fleet: &Fleet, machine: &str, port: u64) {
    let path = fleet
        .store
        .join("machines")
        .join(machine)
        .join("config.json");
    let mut c: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    c["Driver"]["SSHPort"] = port.into();
    fs::write(&path, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
}

#[test]
fn a_scoped_share_opens_only_its_machines_and_revoke_takes_it_back() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start_named(d.root(), &["web", "db"], gen::days(1000), gen::days(900));
    let s = fleet.store.to_str().unwrap();
    let (web, db) = (&fleet.hosts[0], &fleet.hosts[1]);
    let bundle = d.path("bob.mbundle");
    let r = scoped_share(&d, &fleet, "web", &bundle);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("issued by this share's own CA"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("web: pushed"), "{}", r.stderr);
    // The share's CA key is in the store, private, and in no bundle: not in Bob's, not in
    // the owner's own backup of every machine.
    let dirs: Vec<_> = fs::read_dir(fleet.store.join("scoped-shares"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1);
    // A line of the key's body past the prefix every P-256 PKCS#8 key shares.
    let key_pem = fs::read_to_string(dirs[0].join("ca-key.pem")).unwrap();
    let key = key_pem.lines().nth(2).unwrap().as_bytes().to_vec();
    assert!(key.len() > 40, "{key_pem}");
    assert_eq!(mode(&dirs[0].join("ca-key.pem")), 0o600);
    assert_eq!(mode(&dirs[0]), 0o700);
    let backup = d.path("backup.mbundle");
    mbundle(
        &d,
        &fleet,
        &[
            "-s",
            s,
            "export",
            "--all",
            "-r",
            &demo_recipient(),
            "-o",
            backup.to_str().unwrap(),
        ],
    )
    .ok();
    for b in [&bundle, &backup] {
        for (path, bytes) in decrypt_entries(&fs::read(b).unwrap(), &demo_key()) {
            assert!(!path.contains("scoped-shares"), "{path} in {}", b.display());
            assert!(
                !bytes.windows(key.len()).any(|w| w == key.as_slice()),
                "the share CA key is in {} at {path}",
                b.display()
            );
        }
    }
    // Bob imports it into his own store: his certificate opens web, not db.
    let bob = d.path("bob-store");
    let r = d.run(&[
        "-s",
        bob.to_str().unwrap(),
        "import",
        bundle.to_str().unwrap(),
        "-i",
        demo_key().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bob_web = bob.join("machines/web");
    let v = docker_with(&fleet, &bob_web, web);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let v = docker_with(&fleet, &bob_web, db);
    assert!(!v.status.success(), "bob's certificate opened db");
    owner_reaches_all(&fleet);
    // Bob's doctor knows the certificate is the share's CA's; the owner's lists the share.
    let doc = d.run(&["-s", bob.to_str().unwrap(), "doctor", "web"]);
    assert!(!doc.stdout.contains("was not issued by"), "{}", doc.stdout);
    let l = mbundle(&d, &fleet, &["-s", s, "shares"]);
    assert!(
        l.stdout
            .lines()
            .any(|x| x.starts_with("bob") && x.contains("web") && x.contains("in force")),
        "{}",
        l.stdout
    );
    let l = mbundle(&d, &fleet, &["-s", s, "ls"]);
    assert!(l.stdout.contains("bob opens web until"), "{}", l.stdout);
    let j = mbundle(&d, &fleet, &["-s", s, "ls", "--json"]);
    crate::ecosystem::check_against_doc("ls", &j.stdout);
    assert!(j.stdout.contains("\"scoped_shares\""), "{}", j.stdout);
    let j = mbundle(&d, &fleet, &["-s", s, "shares", "--json"]);
    crate::ecosystem::check_against_doc("shares", &j.stdout);

    // A second share to bob, of db, whose host cannot be reached at the revoke.
    let r = scoped_share(&d, &fleet, "db", &d.path("bob-db.mbundle"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    set_ssh_port(&fleet, "db", 2222);
    let r = mbundle(&d, &fleet, &["-s", s, "revoke", "bob", "--yes"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("web: pushed"), "{}", r.stderr);
    assert!(
        r.stderr.contains("db still trust bob's share"),
        "{}",
        r.stderr
    );
    assert!(
        !dirs[0].join("ca-key.pem").exists(),
        "the key is destroyed first"
    );
    let v = docker_with(&fleet, &bob_web, web);
    assert!(!v.status.success(), "bob still opens web after the revoke");
    owner_reaches_all(&fleet);
    let l = mbundle(&d, &fleet, &["-s", s, "shares"]);
    assert!(l.stdout.contains("still trusted by db"), "{}", l.stdout);
    // Reachable again: the next revoke finishes it.
    set_ssh_port(&fleet, "db", 22);
    let r = mbundle(&d, &fleet, &["-s", s, "revoke", "bob", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("db: pushed"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("opens none of this store's machines any more"),
        "{}",
        r.stderr
    );
    let v = docker_with(&fleet, &bob.join("machines/db"), db);
    assert!(!v.status.success(), "bob still opens db");
    owner_reaches_all(&fleet);
    let l = mbundle(&d, &fleet, &["-s", s, "shares"]);
    assert!(!l.stdout.contains("still trusted"), "{}", l.stdout);
    assert_eq!(l.stdout.matches("revoked").count(), 2, "{}", l.stdout);
    // Every host is as the store says: its CA file is the store's CA alone again.
    for h in &fleet.hosts {
        assert_eq!(
            fs::read(h.tls_dir().join("ca.pem")).unwrap(),
            fs::read(fleet.store.join("certs/ca.pem")).unwrap()
        );
    }
}

/// README: "A teammate leaves", both scripts verbatim, in the fleet's client namespace with
/// the store as MACHINE_STORAGE_PATH; Bob's certificate tried before and after.
#[test]
fn walkthrough_a_teammate_leaves() {
    if !can_run_hosts() {
        return;
    }
    let d = Dir::new();
    let fleet = Fleet::start_named(d.root(), &["web", "db"], gen::days(1000), gen::days(900));
    let s = fleet.store.to_str().unwrap();
    let (web, db) = (&fleet.hosts[0], &fleet.hosts[1]);
    fs::write(d.path("bob.pub"), demo_recipient()).unwrap();
    mbundle(&d, &fleet, &["-s", s, "context", "web"]).ok();
    let one = walkthrough_in_fleet(&d, &fleet, "teammate-1-scoped-share.sh");
    assert_eq!(one.code, 0, "{}\n{}", one.stdout, one.stderr);
    assert!(
        one.stdout
            .lines()
            .any(|l| l.starts_with("bob") && l.contains("in force")),
        "{}",
        one.stdout
    );
    let bob = d.path("bob-store");
    let r = d.run(&[
        "-s",
        bob.to_str().unwrap(),
        "import",
        d.path("web-for-bob.mbundle").to_str().unwrap(),
        "-i",
        demo_key().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bob_web = bob.join("machines/web");
    assert!(docker_with(&fleet, &bob_web, web).status.success());
    assert!(!docker_with(&fleet, &bob_web, db).status.success());
    let two = walkthrough_in_fleet(&d, &fleet, "teammate-2-revoke.sh");
    assert_eq!(two.code, 0, "{}\n{}", two.stdout, two.stderr);
    assert!(two.stdout.contains("revoked"), "{}", two.stdout);
    assert!(two.stdout.contains("Server:"), "{}", two.stdout);
    assert!(!docker_with(&fleet, &bob_web, web).status.success());
    owner_reaches_all(&fleet);
}
