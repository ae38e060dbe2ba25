//! The format's promise: a bundle opens with stock tools, forever.
//! `age -d -i key.txt FILE | tar -xz` must give back every carried file, byte for byte.

use std::fs;

use crate::util::*;

#[test]
fn reference_age_and_tar_restore_every_file() {
    let dir = Dir::new();
    let store = fixtures().join(LINUX);
    dir.export_demo(&store, "all.mbundle", &["--all", "--include-disks"])
        .ok();
    let out = dir.path("restored");
    if !age_decrypt_extract(&dir.path("all.mbundle"), &demo_key(), &out) {
        return;
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("mbundle.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert!(files.len() > 40, "{}", files.len());
    for f in files {
        let path = f["path"].as_str().unwrap();
        let got = fs::read(out.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(got.len() as u64, f["size"].as_u64().unwrap(), "{path}");
        let sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&got))
        };
        assert_eq!(sha, f["sha256"].as_str().unwrap(), "{path}");
        // Machine files are the store's own bytes.
        if let Some(rel) = path.strip_prefix("machines/") {
            assert_eq!(
                got,
                fs::read(store.join("machines").join(rel)).unwrap(),
                "{path}"
            );
        }
    }
    // Cert sets hold the store's certs/.
    let set = manifest["certsets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["role"] == "default")
        .unwrap();
    let id = set["id"].as_str().unwrap();
    for name in ["ca.pem", "ca-key.pem", "cert.pem", "key.pem"] {
        assert_eq!(
            fs::read(out.join("certsets").join(id).join(name)).unwrap(),
            fs::read(store.join("certs").join(name)).unwrap(),
            "{name}"
        );
    }
    // Secret files come out private even with stock tar.
    #[cfg(unix)]
    {
        assert_eq!(mode(&out.join("machines/web/id_rsa")) & 0o077, 0);
        assert_eq!(mode(&out.join("machines/web/config.json")) & 0o077, 0);
        assert_eq!(
            mode(&out.join(format!("certsets/{id}/ca-key.pem"))) & 0o077,
            0
        );
    }
}

#[test]
fn reference_age_opens_a_bundle_made_for_an_ssh_key() {
    let (Some(_), Some(keygen)) = (peer("age"), peer("ssh-keygen")) else {
        return;
    };
    let dir = Dir::new();
    let status = std::process::Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(dir.path("id_ed25519"))
        .status()
        .unwrap();
    assert!(status.success());
    let store = fixtures().join(WINDOWS);
    dir.run(&[
        "-s",
        store.to_str().unwrap(),
        "export",
        "devbox",
        "-R",
        "id_ed25519.pub",
        "-o",
        "d.mbundle",
    ])
    .ok();
    assert!(age_decrypt_extract(
        &dir.path("d.mbundle"),
        &dir.path("id_ed25519"),
        &dir.path("x")
    ));
    assert_eq!(
        fs::read(dir.path("x/machines/devbox/config.json")).unwrap(),
        fs::read(store.join("machines/devbox/config.json")).unwrap()
    );
}

#[test]
fn a_bundle_encrypted_by_reference_age_is_read() {
    // The other direction: plaintext made by mbundle, encrypted by the age CLI.
    let Some(age) = peer("age") else { return };
    let dir = Dir::new();
    let store = fixtures().join(MACOS);
    let r = demo_recipient();
    dir.export_demo(&store, "m.mbundle", &["--all"]).ok();
    let entries = decrypt_entries(&fs::read(dir.path("m.mbundle")).unwrap(), &demo_key());
    fs::write(dir.path("plain.tar.gz"), gzip(&plain_tar(&entries))).unwrap();
    let status = std::process::Command::new(age)
        .args(["-r", &r, "-o"])
        .arg(dir.path("byage.mbundle"))
        .arg(dir.path("plain.tar.gz"))
        .status()
        .unwrap();
    assert!(status.success());
    dir.run(&[
        "verify",
        "byage.mbundle",
        "-i",
        demo_key().to_str().unwrap(),
    ])
    .ok();
}
