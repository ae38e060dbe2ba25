//! `mbundle share`: a teammate's bundle carries their own certificate and nothing of the
//! owner's (keys, credentials), imports with the ordinary import, and is remembered as a
//! share by ls, inspect, doctor, regenerate-certs and renew-ca. The real-dockerd proof is
//! `e2e::sharing_a_machine_with_a_teammate`.

use crate::util::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn alice(dir: &Dir) -> PathBuf {
    dir.materialize_alice()
}

fn share(dir: &Dir, store: &Path, extra: &[&str]) -> Run {
    let r = demo_recipient();
    // --yes: these stores' machines share one CA, so every share also opens the others
    // (tests/hardening/v3.rs checks that it is said and asked).
    let mut args = vec!["-s", store.to_str().unwrap(), "share", "--yes"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-r", &r]);
    dir.run(&args)
}

/// Every file of a bundle, opened with the demo key: (path, bytes).
fn opened(dir: &Dir, bundle: &str) -> Vec<(String, Vec<u8>)> {
    decrypt_entries(&fs::read(dir.path(bundle)).unwrap(), &demo_key())
}

#[test]
fn a_share_carries_a_new_certificate_and_none_of_the_owner_s_keys_or_credentials() {
    let dir = Dir::new();
    let store = alice(&dir);
    share(
        &dir,
        &store,
        &["db", "web", "--as", "bob", "-o", "bob.mbundle"],
    )
    .ok();
    let files = opened(&dir, "bob.mbundle");
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    for bad in ["ca-key.pem", "server-key.pem", "id_rsa"] {
        assert!(
            !names.iter().any(|n| n.ends_with(&format!("/{bad}"))),
            "{bad}: {names:?}"
        );
    }
    let owner_secrets: Vec<Vec<u8>> = [
        "certs/ca-key.pem",
        "certs/key.pem",
        "machines/db/key.pem",
        "machines/db/server-key.pem",
        "machines/db/id_rsa",
        "machines/web/server-key.pem",
    ]
    .iter()
    .map(|p| fs::read(store.join(p)).unwrap())
    .collect();
    for (path, bytes) in &files {
        assert!(!owner_secrets.contains(bytes), "{path} is an owner's key");
        let text = String::from_utf8_lossy(bytes);
        for cred in [
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ] {
            assert!(!text.contains(cred), "{path} holds {cred}");
        }
    }
    // The teammate's pair: in the machine directory and in the cert set, identical.
    let get = |p: &str| {
        files
            .iter()
            .find(|(n, _)| n == p)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("{p} missing"))
    };
    let set = names
        .iter()
        .find(|n| n.starts_with("certsets/") && n.ends_with("/cert.pem"))
        .unwrap()
        .trim_end_matches("/cert.pem")
        .to_string();
    assert_eq!(get("machines/db/cert.pem"), get(&format!("{set}/cert.pem")));
    assert_eq!(get("machines/web/key.pem"), get(&format!("{set}/key.pem")));
    assert_ne!(
        get("machines/db/cert.pem"),
        fs::read(store.join("certs/cert.pem")).unwrap()
    );
    let manifest: serde_json::Value = serde_json::from_slice(&get("mbundle.json")).unwrap();
    assert_eq!(manifest["share"]["shared_with"], "bob");
    assert_eq!(manifest["share"]["with_ssh_key"], false);
    // An allow-list: the credentials are among what was emptied, with everything else
    // docker-machine does not need to reach and list the machine.
    let redacted: Vec<&str> = manifest["machines"][0]["redacted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for f in [
        "Driver.AccessKey",
        "Driver.SecretKey",
        "Driver.UserDataFile",
    ] {
        assert!(redacted.contains(&f), "{f} not in {redacted:?}");
    }
    for kept in [
        "Driver.IPAddress",
        "Driver.SSHUser",
        "Driver.SSHKeyPath",
        "Name",
    ] {
        assert!(!redacted.contains(&kept), "{kept} emptied");
    }
    assert_eq!(
        manifest["certsets"][0]["missing"],
        serde_json::json!(["ca-key.pem"])
    );
    // The redacted config.json is docker-machine's, with the fields empty, not gone.
    let cfg: serde_json::Value = serde_json::from_slice(&get("machines/db/config.json")).unwrap();
    assert_eq!(cfg["Driver"]["AccessKey"], "");
    assert_eq!(cfg["Driver"]["Region"], "");
    assert_eq!(
        cfg["Driver"]["IPAddress"],
        cfg_owner(&store, "db")["Driver"]["IPAddress"]
    );

    // openssl: issued by the machine's CA, for client authentication, naming bob.
    let Some(openssl) = peer("openssl") else {
        return;
    };
    fs::write(dir.path("bob-cert.pem"), get("machines/db/cert.pem")).unwrap();
    let out = Command::new(&openssl)
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(store.join("certs/ca.pem"))
        .arg(dir.path("bob-cert.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = Command::new(&openssl)
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(dir.path("bob-cert.pem"))
        .output()
        .unwrap();
    let subject = String::from_utf8_lossy(&out.stdout);
    assert!(
        subject.contains("CN = bob") || subject.contains("CN=bob"),
        "{subject}"
    );
}

#[test]
fn asked_for_the_ssh_key_and_secrets_travel_and_json_says_what_was_shared() {
    let dir = Dir::new();
    let store = alice(&dir);
    let r = share(
        &dir,
        &store,
        &[
            "db",
            "--as",
            "carol@example.com",
            "--with-ssh-key",
            "--keep-secrets",
            "--days",
            "30",
            "-o",
            "c.mbundle",
            "--json",
        ],
    )
    .ok();
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["shared_with"], "carol@example.com");
    assert_eq!(
        doc["machines"][0]["withheld"],
        serde_json::json!(["id_rsa.pub", "server-key.pem"])
    );
    let files = opened(&dir, "c.mbundle");
    let id_rsa = files
        .iter()
        .find(|(p, _)| p == "machines/db/id_rsa")
        .expect("--with-ssh-key carries it");
    assert_eq!(
        id_rsa.1,
        fs::read(store.join("machines/db/id_rsa")).unwrap()
    );
    let cfg = &files
        .iter()
        .find(|(p, _)| p == "machines/db/config.json")
        .unwrap()
        .1;
    assert_eq!(
        cfg,
        &fs::read(store.join("machines/db/config.json")).unwrap()
    );
    let not_after = time::OffsetDateTime::parse(
        doc["cert_not_after"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let days = (not_after - time::OffsetDateTime::now_utc()).whole_days();
    assert!((29..=30).contains(&days), "{days}");
}

#[test]
fn without_the_ca_key_there_is_nothing_to_sign_with() {
    let dir = Dir::new();
    // A copy of Alice's store without her home: edge's CA is a custom one whose key was
    // never in the store (it lives in /home/alice/acme-ca, not on this computer).
    let store = dir.copy_fixture(LINUX, "store");
    share(&dir, &store, &["edge", "--as", "bob", "-o", "x.mbundle"]).fails(
        1,
        &[
            "cannot share edge: this store does not hold the key of the CA",
            "hint: share from the computer that holds the CA key",
        ],
    );
    assert!(!dir.path("x.mbundle").exists());
}

#[test]
fn a_teammate_name_that_is_not_one_is_refused() {
    let dir = Dir::new();
    let store = alice(&dir);
    for bad in ["$(id)", "bob smith", "-rf", "bob\u{1b}[2J", ""] {
        share(&dir, &store, &["web", "--as", bad, "-o", "x.mbundle"]).fails(2, &["--as"]);
    }
    share(
        &dir,
        &store,
        &["web", "--as", "bob", "--days", "0", "-o", "x.mbundle"],
    )
    .fails(2, &["--days 0"]);
    assert!(!dir.path("x.mbundle").exists());
}

#[test]
fn the_teammate_s_store_knows_it_is_a_share() {
    let dir = Dir::new();
    let store = alice(&dir);
    share(
        &dir,
        &store,
        &["db", "web", "--as", "bob", "-o", "bob.mbundle"],
    )
    .ok();
    // Bob's laptop already has machines and a CA of his own: nothing of his is touched.
    let bob = dir.copy_fixture(MACOS, "bob-store");
    let before = tree(&bob);
    let b = bob.to_str().unwrap();
    let imported = dir.import_demo(&bob, "bob.mbundle", &[]).ok();
    assert!(
        imported.stdout.contains("shared with bob on"),
        "{}",
        imported.stdout
    );
    assert!(
        imported
            .stdout
            .contains("db: Driver.Id, Driver.AccessKey, Driver.SecretKey, Driver.Region"),
        "{}",
        imported.stdout
    );
    assert!(imported
        .stdout
        .contains("a share leaves these keys with the owner"));
    let after = tree(&bob);
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{k} changed");
    }
    assert!(!after
        .keys()
        .any(|k| k.ends_with("ca-key.pem") && !before.contains_key(k)));

    let ls = dir.run(&["-s", b, "ls"]).ok();
    assert!(
        ls.stdout.contains("shared with you as bob"),
        "{}",
        ls.stdout
    );
    let ls = dir.run(&["-s", b, "ls", "--json"]).ok();
    let machines: serde_json::Value = serde_json::from_str(&ls.stdout).unwrap();
    let db = machines["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "db")
        .unwrap();
    assert_eq!(db["share"]["shared_with"], "bob");

    let doctor = dir.run(&["-s", b, "doctor", "-v", "db", "web"]);
    assert_eq!(doctor.code, 0, "{}{}", doctor.stdout, doctor.stderr);
    assert!(
        doctor.stdout.contains("shared with you as bob"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor
            .stdout
            .contains("Driver.SecretKey is empty (removed when the machine was shared): docker-machine start, stop"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor.stdout.contains("the AWS EC2 API"),
        "{}",
        doctor.stdout
    );

    // Filled in, doctor says so.
    let cfg_path = bob.join("machines/db/config.json");
    let text = fs::read_to_string(&cfg_path)
        .unwrap()
        .replace("\"SecretKey\": \"\"", "\"SecretKey\": \"bobs-own-secret\"");
    fs::write(&cfg_path, text).unwrap();
    let doctor = dir.run(&["-s", b, "doctor", "-v", "db"]);
    assert!(
        doctor.stdout.contains("Driver.SecretKey was filled in"),
        "{}",
        doctor.stdout
    );

    // The owner's tools refuse, saying why.
    dir.run(&["-s", b, "regenerate-certs", "web"]).fails(
        1,
        &[
            "it was shared with you (as bob",
            "the CA key stays with its owner",
        ],
    );
    let set = fs::read_dir(bob.join("imported-certs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|id| {
            bob.join("imported-certs")
                .join(id)
                .join("cert.pem")
                .is_file()
                && fs::read(bob.join("imported-certs").join(id).join("cert.pem")).unwrap()
                    == fs::read(bob.join("machines/web/cert.pem")).unwrap()
        })
        .unwrap();
    dir.run(&["-s", b, "renew-ca", "--cert-set", &set])
        .fails(1, &["the CA key stays with its owner"]);
    // Nor can Bob share it on.
    let r = demo_recipient();
    dir.run(&[
        "-s",
        b,
        "share",
        "web",
        "--as",
        "eve",
        "-r",
        &r,
        "-o",
        "eve.mbundle",
    ])
    .fails(1, &["does not hold the key of the CA"]);

    let inspect = dir
        .run(&["inspect", "bob.mbundle", "-i", demo_key().to_str().unwrap()])
        .ok();
    assert!(
        inspect.stdout.contains("share:    for bob"),
        "{}",
        inspect.stdout
    );
    assert!(
        inspect
            .stdout
            .contains("db: removed Driver.Id, Driver.AccessKey, Driver.SecretKey"),
        "{}",
        inspect.stdout
    );
}

#[test]
fn a_share_into_an_empty_store_never_becomes_its_certs() {
    let dir = Dir::new();
    let store = alice(&dir);
    share(&dir, &store, &["web", "--as", "bob", "-o", "bob.mbundle"]).ok();
    let fresh = dir.path("fresh");
    dir.import_demo(&fresh, "bob.mbundle", &[]).ok();
    assert!(
        !fresh.join("certs").exists(),
        "docker-machine create would find certs/ca.pem and no key"
    );
    assert!(fresh.join("machines/web/mbundle-share.json").is_file());
}

#[test]
fn a_tampered_share_record_is_not_believed_nor_shown_raw() {
    let dir = Dir::new();
    let store = alice(&dir);
    share(&dir, &store, &["web", "--as", "bob", "-o", "bob.mbundle"]).ok();
    let bob = dir.path("bob");
    dir.import_demo(&bob, "bob.mbundle", &[]).ok();
    let record = bob.join("machines/web/mbundle-share.json");
    let text = fs::read_to_string(&record)
        .unwrap()
        .replace("\"bob\"", "\"bob\\u001b]0;pwned\\u0007\"");
    fs::write(&record, text).unwrap();
    let b = bob.to_str().unwrap();
    let ls = dir.run(&["-s", b, "ls"]).ok();
    assert!(!ls.stdout.contains('\u{1b}'), "{:?}", ls.stdout);
    assert!(!ls.stdout.contains("shared with you"), "{}", ls.stdout);
    let doctor = dir.run(&["-s", b, "doctor", "-v", "web"]);
    assert!(!doctor.stdout.contains('\u{1b}'), "{:?}", doctor.stdout);
    assert!(
        doctor
            .stdout
            .contains("this machine's share cannot be told"),
        "{}",
        doctor.stdout
    );
}

/// The owner's config.json of machine `name`.
fn cfg_owner(store: &std::path::Path, name: &str) -> serde_json::Value {
    serde_json::from_slice(
        &fs::read(store.join("machines").join(name).join("config.json")).unwrap(),
    )
    .unwrap()
}
