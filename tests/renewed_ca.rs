//! A CA renewed with the same key is the same CA (issue 24, point 2): a backup from before
//! `renew-ca` restored after it, and a bundle whose CA was renewed elsewhere, land on the
//! store's own `certs/`, never on a second copy of its key; the newer certificate is kept,
//! the older one set aside, and a crash between the two renames converges.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Alice's store, and the same store with its CA renewed (same key), exported whole to
/// `renewed.mbundle`; `before.mbundle` is the export from before the renewal.
fn stores(d: &Dir) -> (PathBuf, PathBuf) {
    let old = d.materialize_alice();
    d.export_demo(&old, "before.mbundle", &["--all"]).ok();
    let renewed = d.path("renewed");
    copy_tree(&old, &renewed);
    // The fixture CA ends in 2100: the renewal (same key) must end later to be the newer.
    let r = d
        .run(&["-s", s(&renewed), "renew-ca", "--days", "36000"])
        .ok();
    assert!(r.stdout.contains("ca.pem"), "{}", r.stdout);
    d.export_demo(&renewed, "renewed.mbundle", &["--all"]).ok();
    (old, renewed)
}

fn cert_sets_listed(d: &Dir, store: &Path) -> Vec<String> {
    let out = d.run(&["-s", s(store), "ls", "--json"]).ok().stdout;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut cas: Vec<String> = v["machines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["ca"]["location"] != "custom")
        .map(|m| m["ca"]["fingerprint"].to_string() + &m["ca"]["location"].to_string())
        .collect();
    cas.sort();
    cas.dedup();
    cas
}

#[test]
fn a_backup_from_before_renew_ca_restores_onto_the_renewed_ca() {
    let d = Dir::new();
    let (_, renewed) = stores(&d);
    let renewed_ca = fs::read(renewed.join("certs/ca.pem")).unwrap();
    // The machine web is lost; its backup is from before the renewal.
    fs::remove_dir_all(renewed.join("machines/web")).unwrap();
    let r = d.import_demo(&renewed, "before.mbundle", &["web"]).ok();
    assert!(
        r.stdout.contains("this store's own CA (same key)"),
        "{}",
        r.stdout
    );
    assert!(!renewed.join("imported-certs").exists(), "{}", r.stdout);
    assert_eq!(fs::read(renewed.join("certs/ca.pem")).unwrap(), renewed_ca);
    let config = fs::read_to_string(renewed.join("machines/web/config.json")).unwrap();
    let certs = renewed.join("certs/ca.pem");
    assert!(config.contains(&format!("\"{}\"", s(&certs))), "{config}");
    assert_eq!(cert_sets_listed(&d, &renewed).len(), 1);
    // Again: nothing to do, nothing changed.
    let before = tree(&renewed);
    let again = d.import_demo(&renewed, "before.mbundle", &["web"]).ok();
    assert!(
        again.stdout.contains("nothing to import"),
        "{}",
        again.stdout
    );
    assert_eq!(tree(&renewed), before);
}

/// A store with the old CA, without machine web, ready for `renewed.mbundle`'s web.
fn old_store_without_web(d: &Dir, old: &Path, name: &str) -> PathBuf {
    let store = d.path(name);
    copy_tree(old, &store);
    fs::remove_dir_all(store.join("machines/web")).unwrap();
    store
}

fn set_aside(store: &Path) -> Vec<PathBuf> {
    fs::read_dir(store.join("certs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".old"))
        .collect()
}

#[test]
fn a_bundle_with_the_same_ca_renewed_replaces_the_older_certificate_and_keeps_it() {
    let d = Dir::new();
    let (old, renewed) = stores(&d);
    let old_ca = fs::read(old.join("certs/ca.pem")).unwrap();
    let new_ca = fs::read(renewed.join("certs/ca.pem")).unwrap();
    let store = old_store_without_web(&d, &old, "b");
    let key = fs::read(store.join("certs/ca-key.pem")).unwrap();
    let dry = d
        .import_demo(&store, "renewed.mbundle", &["web", "--dry-run"])
        .ok();
    assert!(
        dry.stdout.contains("the older one is kept as"),
        "{}",
        dry.stdout
    );
    let r = d.import_demo(&store, "renewed.mbundle", &["web"]).ok();
    assert!(r.stdout.contains("renewed"), "{}", r.stdout);
    assert_eq!(fs::read(store.join("certs/ca.pem")).unwrap(), new_ca);
    assert_eq!(fs::read(store.join("certs/ca-key.pem")).unwrap(), key);
    let aside = set_aside(&store);
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(fs::read(&aside[0]).unwrap(), old_ca);
    assert!(!store.join("imported-certs").exists());
    assert_eq!(cert_sets_listed(&d, &store).len(), 1);
    // The store's other machines still verify against the renewed certificate (same key).
    let openssl = peer("openssl");
    if let Some(openssl) = openssl {
        let ok = std::process::Command::new(openssl)
            .args(["verify", "-CAfile"])
            .arg(store.join("certs/ca.pem"))
            .arg(store.join("machines/db/server.pem"))
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let before = tree(&store);
    let again = d.import_demo(&store, "renewed.mbundle", &["web"]).ok();
    assert!(
        again.stdout.contains("nothing to import"),
        "{}",
        again.stdout
    );
    assert_eq!(tree(&store), before);
}

#[test]
fn killed_between_setting_aside_and_moving_in_the_next_run_finishes() {
    let d = Dir::new();
    let (old, renewed) = stores(&d);
    let old_ca = fs::read(old.join("certs/ca.pem")).unwrap();
    let new_ca = fs::read(renewed.join("certs/ca.pem")).unwrap();
    let key = demo_key();
    // commit-step 1 is before the first step, 2 after setting certs/ca.pem aside.
    for point in [
        "commit-step:1:sigkill",
        "commit-step:2:sigkill",
        "commit-step:3:sigkill",
    ] {
        let store = old_store_without_web(&d, &old, point.replace(':', "-").as_str());
        let out = d
            .cmd()
            .env("MBUNDLE_TEST_FAILPOINT", point)
            .args(["-s", s(&store), "import", "renewed.mbundle", "web", "-i"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{point}");
        d.run(&["-s", s(&store), "ls"]).ok();
        assert_eq!(
            fs::read(store.join("certs/ca.pem")).unwrap(),
            new_ca,
            "{point}"
        );
        let aside = set_aside(&store);
        assert_eq!(aside.len(), 1, "{point}: {aside:?}");
        assert_eq!(fs::read(&aside[0]).unwrap(), old_ca, "{point}");
        assert!(store.join("machines/web/config.json").is_file(), "{point}");
        // Finished: a second run has nothing left to do.
        let before = tree(&store);
        d.run(&["-s", s(&store), "ls"]).ok();
        assert_eq!(tree(&store), before, "{point}");
    }
}

#[test]
fn a_certificate_that_is_not_a_renewal_of_the_store_ca_never_replaces_it() {
    let d = Dir::new();
    let Some(openssl) = peer("openssl") else {
        return;
    };
    let (old, renewed) = stores(&d);
    let store = old_store_without_web(&d, &old, "victim");
    // The same key, another subject, a far end: what a manifest may claim is a renewal.
    let forged = d.path("forged.pem");
    let made = std::process::Command::new(openssl)
        .args([
            "req",
            "-new",
            "-x509",
            "-days",
            "9000",
            "-subj",
            "/O=Mallory",
            "-key",
        ])
        .arg(renewed.join("certs/ca-key.pem"))
        .arg("-out")
        .arg(&forged)
        .status()
        .unwrap();
    assert!(made.success());
    let forged = fs::read(&forged).unwrap();
    let bundle = fs::read(d.path("renewed.mbundle")).unwrap();
    let mut entries = decrypt_entries(&bundle, &demo_key());
    let mut manifest: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    let set = manifest["certsets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "default")
        .unwrap()
        .clone();
    let path = format!("certsets/{}/ca.pem", set["id"].as_str().unwrap());
    for f in manifest["files"].as_array_mut().unwrap() {
        if f["path"] == path.as_str() {
            f["size"] = forged.len().into();
            f["sha256"] = sha256_hex(&forged).into();
        }
    }
    entries[0].1 = serde_json::to_vec(&manifest).unwrap();
    for (p, data) in entries.iter_mut() {
        if *p == path {
            *data = forged.clone();
        }
    }
    fs::write(d.path("forged.mbundle"), craft_bundle(&entries)).unwrap();
    let before = tree(&store);
    d.import_demo(&store, "forged.mbundle", &["web"])
        .fails(1, &["is not the store's CA's", "nothing was imported"]);
    assert_eq!(tree(&store), before);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
