//! Certificate lifecycle: regenerate-certs for a changed address, renew-ca before expiry,
//! and the warnings that point to them.

use std::fs;
use std::process::Command;

use crate::util::gen::{days, write_store, Ca, Pki};
use crate::util::*;

fn openssl_verify(ca: &std::path::Path, certs: &[&std::path::Path]) {
    let Some(openssl) = peer("openssl") else {
        return;
    };
    let out = Command::new(openssl)
        .arg("verify")
        .arg("-CAfile")
        .arg(ca)
        .args(certs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn regenerate_certs_for_a_new_address_keeps_the_old_files() {
    let dir = Dir::new();
    let store = dir.copy_fixture(LINUX, "store");
    let s = store.to_str().unwrap();
    let web = store.join("machines/web");
    let old_cert = fs::read(web.join("server.pem")).unwrap();
    let old_config: serde_json::Value =
        serde_json::from_slice(&fs::read(web.join("config.json")).unwrap()).unwrap();

    let out = dir
        .run(&[
            "-s",
            s,
            "regenerate-certs",
            "web",
            "--ip",
            "198.51.100.99",
            "--san",
            "web.example.com",
            "--json",
        ])
        .ok();
    let r: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let sans: Vec<&str> = r["sans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(
        sans,
        ["DNS:localhost", "IP:198.51.100.99", "DNS:web.example.com"]
    );
    assert_eq!(r["new_address"], "198.51.100.99");
    // Old files kept, byte for byte.
    let kept: Vec<String> = r["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    assert_eq!(kept.len(), 3, "{kept:?}");
    let kept_cert = kept.iter().find(|k| k.contains("/server.pem.")).unwrap();
    assert_eq!(fs::read(kept_cert).unwrap(), old_cert);
    // What to copy, where, and how.
    let remotes: Vec<&str> = r["copy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["remote"].as_str().unwrap())
        .collect();
    assert_eq!(
        remotes,
        [
            "/etc/docker/ca.pem",
            "/etc/docker/server.pem",
            "/etc/docker/server-key.pem"
        ]
    );
    let cmds = r["commands"].as_array().unwrap();
    assert!(
        cmds[0]
            .as_str()
            .unwrap()
            .starts_with(&format!("scp -i {}/id_rsa -P 22 ", web.display())),
        "{cmds:?}"
    );
    assert!(
        cmds[0]
            .as_str()
            .unwrap()
            .ends_with("root@198.51.100.99:/tmp/"),
        "{cmds:?}"
    );
    assert!(
        !cmds[1].as_str().unwrap().contains("restart"),
        "copying never restarts: {cmds:?}"
    );
    assert!(
        r["restart"]
            .as_str()
            .unwrap()
            .ends_with("'sudo systemctl restart docker'"),
        "{r}"
    );
    // config.json changed in exactly one place.
    let new_config: serde_json::Value =
        serde_json::from_slice(&fs::read(web.join("config.json")).unwrap()).unwrap();
    let mut expect = old_config.clone();
    expect["Driver"]["IPAddress"] = "198.51.100.99".into();
    assert_eq!(new_config, expect);
    #[cfg(unix)]
    {
        assert_eq!(mode(&web.join("server-key.pem")), 0o600);
        assert_eq!(mode(&web.join("config.json")), 0o600);
    }
    openssl_verify(&store.join("certs/ca.pem"), &[&web.join("server.pem")]);
    // doctor is happy with the result; the text form says what to do.
    dir.run(&["-s", s, "doctor", "web"]).ok();
    let text = dir.run(&["-s", s, "regenerate-certs", "db"]).ok().stdout;
    assert!(
        text.contains("Finish on the host") && text.contains("ubuntu@203.0.113.20"),
        "{text}"
    );
}

#[test]
fn regenerate_certs_refuses_without_the_ca_key() {
    let dir = Dir::new();
    let store = dir.copy_fixture(LINUX, "store");
    let before = fs::read(store.join("machines/edge/server.pem")).unwrap();
    dir.run(&["-s", store.to_str().unwrap(), "regenerate-certs", "edge"])
        .fails(
            1,
            &["cannot issue certificates for edge", "CA key is absent"],
        );
    assert_eq!(
        fs::read(store.join("machines/edge/server.pem")).unwrap(),
        before
    );
    dir.run(&[
        "-s",
        store.to_str().unwrap(),
        "regenerate-certs",
        "web",
        "--ip",
        "not-an-ip",
    ])
    .fails(2, &["not an IP address"]);
}

#[test]
fn none_driver_address_moves_in_url_and_ipaddress() {
    let dir = Dir::new();
    let store = dir.copy_fixture(MACOS, "store");
    dir.run(&[
        "-s",
        store.to_str().unwrap(),
        "regenerate-certs",
        "remote",
        "--ip",
        "198.51.100.8",
    ])
    .ok();
    let cfg: serde_json::Value =
        serde_json::from_slice(&fs::read(store.join("machines/remote/config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["Driver"]["URL"], "tcp://198.51.100.8:2376");
    assert_eq!(cfg["Driver"]["IPAddress"], "198.51.100.8:2376");
}

#[test]
fn renew_ca_keeps_every_issued_certificate_valid() {
    let dir = Dir::new();
    let store = dir.path("store");
    let ca = Ca::new("soon", days(20));
    let pki = Pki {
        client: ca.issue("soon", days(300), None),
        server: ca.issue("soon.m", days(300), Some(&["127.0.0.1"])),
        ca,
    };
    write_store(
        &store,
        store.to_str().unwrap(),
        '/',
        &pki,
        "m",
        "127.0.0.1",
        2376,
    );
    let s = store.to_str().unwrap();
    // ls, export and doctor all say so, and point to renew-ca.
    let ls = dir.run(&["-s", s, "ls"]).ok();
    assert!(
        ls.stderr
            .contains("warning: the CA \"soon\" (certs/ca.pem) expires on"),
        "{}",
        ls.stderr
    );
    let renew = format!("mbundle -s {s} renew-ca");
    assert!(ls.stderr.contains(&renew), "{}", ls.stderr);
    let doctor = dir.run(&["-s", s, "doctor"]).ok();
    assert!(
        doctor
            .stdout
            .contains("WARN  the CA certificate expires in")
            && doctor.stdout.contains(&renew),
        "{}",
        doctor.stdout
    );
    let export = dir.export_demo(&store, "b.mbundle", &["--all"]).ok();
    assert!(export.stderr.contains("expires on"), "{}", export.stderr);
    let import = dir.import_demo(&dir.path("other"), "b.mbundle", &[]).ok();
    let renew_there = format!("mbundle -s {} renew-ca", dir.path("other").display());
    assert!(import.stderr.contains(&renew_there), "{}", import.stderr);

    let old_ca = fs::read(store.join("certs/ca.pem")).unwrap();
    let out = dir.run(&["-s", s, "renew-ca", "--json"]).ok();
    let rep: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rep["machines"][0], "m");
    let kept = rep["kept"][0].as_str().unwrap();
    assert_eq!(fs::read(kept).unwrap(), old_ca);
    assert_eq!(
        fs::read(store.join("machines/m/ca.pem")).unwrap(),
        fs::read(store.join("certs/ca.pem")).unwrap()
    );
    // Same subject and key, new dates: the old leaves verify against it.
    let new = mbundle::parse_pem(&fs::read(store.join("certs/ca.pem")).unwrap()).unwrap();
    let old = mbundle::parse_pem(&old_ca).unwrap();
    assert_eq!(new.subject, old.subject);
    assert!((new.not_after - old.not_after).whole_days() > 3000);
    openssl_verify(
        &store.join("certs/ca.pem"),
        &[
            &store.join("machines/m/server.pem"),
            &store.join("certs/cert.pem"),
        ],
    );
    let ls = dir.run(&["-s", s, "ls"]).ok();
    assert!(!ls.stderr.contains("warning"), "{}", ls.stderr);
    dir.run(&["-s", s, "doctor"]).ok();
}

#[test]
fn renew_ca_of_an_imported_set_and_refusals() {
    let dir = Dir::new();
    dir.export_demo(&fixtures().join(LINUX), "w.mbundle", &["web"])
        .ok();
    let target = dir.copy_fixture(MACOS, "carol");
    let t = target.to_str().unwrap();
    dir.import_demo(&target, "w.mbundle", &[]).ok();
    let id = fs::read_dir(target.join("imported-certs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let id = id.to_str().unwrap();
    let carol_before = fs::read(target.join("certs/ca.pem")).unwrap();
    let out = dir
        .run(&["-s", t, "renew-ca", "--cert-set", id])
        .ok()
        .stdout;
    assert!(out.contains("updated the copy in machines: web"), "{out}");
    assert_eq!(
        fs::read(target.join("certs/ca.pem")).unwrap(),
        carol_before,
        "another set is untouched"
    );
    openssl_verify(
        &target.join("imported-certs").join(id).join("ca.pem"),
        &[&target.join("machines/web/server.pem")],
    );
    dir.run(&["-s", t, "renew-ca", "--cert-set", "nope"])
        .fails(2, &["16 lowercase hex"]);
    // A CA without its key cannot be renewed.
    let edge = dir.copy_fixture(LINUX, "alice");
    fs::remove_file(edge.join("certs/ca-key.pem")).unwrap();
    dir.run(&["-s", edge.to_str().unwrap(), "renew-ca"])
        .fails(1, &["ca-key.pem does not exist"]);
}

/// The scp/ssh lines reach the host where docker-machine's driver does: a virtualbox VM on
/// 127.0.0.1 at its forwarded SSH port (not at its host-only address), as `docker`.
#[test]
fn regenerate_certs_prints_ssh_lines_that_reach_a_virtualbox_vm() {
    let dir = Dir::new();
    let store = dir.copy_fixture(LINUX, "store");
    let r = dir
        .run(&["-s", store.to_str().unwrap(), "regenerate-certs", "vbox"])
        .ok();
    assert!(
        r.stdout.contains("-p 41955 -- docker@127.0.0.1"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("-P 41955 -- "), "{}", r.stdout);
    assert!(r.stdout.contains(" docker@127.0.0.1:/tmp/"), "{}", r.stdout);
    // boot2docker keeps the daemon's TLS files in /var/lib/boot2docker and restarts docker
    // with its init script.
    assert!(
        r.stdout.contains(
            "sudo mv /tmp/ca.pem /tmp/server.pem /tmp/server-key.pem /var/lib/boot2docker/"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("sudo /etc/init.d/docker restart"),
        "{}",
        r.stdout
    );
    for line in r
        .stdout
        .lines()
        .filter(|l| l.contains("ssh ") || l.contains("scp "))
    {
        assert!(!line.contains("192.168.99.100"), "{line}");
    }
}
