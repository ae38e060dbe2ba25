//! doctor: one generated store per kind of breakage, and the certs.d naming rules.

use std::fs;
use std::path::Path;

use crate::util::gen::{days, write_store, Ca, Pki};
use crate::util::*;

fn store(dir: &Dir, sans: &[&str]) -> (std::path::PathBuf, Pki) {
    let pki = Pki::new("doc", sans);
    let s = dir.path("store");
    write_store(&s, s.to_str().unwrap(), '/', &pki, "m", "127.0.0.1", 2376);
    (s, pki)
}

fn doctor(dir: &Dir, s: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["-s", s.to_str().unwrap(), "doctor", "-v"];
    args.extend_from_slice(extra);
    dir.run(&args)
}

fn broken(run: Run, needles: &[&str]) {
    assert_eq!(
        run.code, 1,
        "expected exit 1:\n{}{}",
        run.stdout, run.stderr
    );
    for n in needles {
        assert!(
            run.stdout.contains(n),
            "doctor output lacks {n:?}:\n{}",
            run.stdout
        );
    }
    assert!(run.stderr.contains("doctor found"), "{}", run.stderr);
}

#[test]
fn a_healthy_machine_passes() {
    let dir = Dir::new();
    let (s, _) = store(&dir, &["127.0.0.1", "localhost"]);
    let run = doctor(&dir, &s, &[]).ok();
    assert!(
        run.stdout
            .contains("ok    the CA certificate matches its key certs/ca-key.pem"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("ok    the server certificate names 127.0.0.1"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 checked, all OK: 0 error(s), 0 warning(s)"),
        "{}",
        run.stdout
    );
}

#[test]
fn ca_key_of_another_ca() {
    let dir = Dir::new();
    let (s, _) = store(&dir, &["127.0.0.1"]);
    let other = Ca::new("other", days(100));
    fs::write(s.join("certs/ca-key.pem"), other.key.serialize_pem()).unwrap();
    broken(
        doctor(&dir, &s, &[]),
        &["ERROR certs/ca-key.pem is not the key of the CA certificate"],
    );
}

#[test]
fn client_and_server_certs_from_another_ca() {
    let dir = Dir::new();
    let (s, _) = store(&dir, &["127.0.0.1"]);
    let other = Ca::new("other", days(100));
    let c = other.issue("doc", days(100), None);
    fs::write(s.join("certs/cert.pem"), &c.cert_pem).unwrap();
    fs::write(s.join("certs/key.pem"), &c.key_pem).unwrap();
    let srv = other.issue("doc.m", days(100), Some(&["127.0.0.1"]));
    fs::write(s.join("machines/m/server.pem"), &srv.cert_pem).unwrap();
    fs::write(s.join("machines/m/server-key.pem"), &srv.key_pem).unwrap();
    broken(
        doctor(&dir, &s, &["m"]),
        &[
            "ERROR the client certificate certs/cert.pem was not issued by the CA certs/ca.pem",
            "ERROR the server certificate machines/m/server.pem was not issued by the CA",
        ],
    );
}

#[test]
fn a_key_that_is_not_the_certificates() {
    let dir = Dir::new();
    let (s, _) = store(&dir, &["127.0.0.1"]);
    let stray = Pki::new("stray", &["127.0.0.1"]);
    fs::write(s.join("machines/m/server-key.pem"), &stray.server.key_pem).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(
            s.join("machines/m/server-key.pem"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    broken(
        doctor(&dir, &s, &[]),
        &["ERROR machines/m/server-key.pem is not the key of the server certificate"],
    );
}

#[test]
fn expired_and_expiring_certificates() {
    let dir = Dir::new();
    let (s, pki) = store(&dir, &["127.0.0.1"]);
    let soon = pki.ca.issue("doc", days(10), None);
    fs::write(s.join("certs/cert.pem"), &soon.cert_pem).unwrap();
    fs::write(s.join("certs/key.pem"), &soon.key_pem).unwrap();
    fs::copy(s.join("certs/cert.pem"), s.join("machines/m/cert.pem")).unwrap();
    fs::copy(s.join("certs/key.pem"), s.join("machines/m/key.pem")).unwrap();
    let run = doctor(&dir, &s, &[]).ok();
    assert!(
        run.stdout
            .contains("WARN  the client certificate expires in"),
        "{}",
        run.stdout
    );

    let old = pki.ca.issue("doc.m", days(-2), Some(&["127.0.0.1"]));
    fs::write(s.join("machines/m/server.pem"), &old.cert_pem).unwrap();
    fs::write(s.join("machines/m/server-key.pem"), &old.key_pem).unwrap();
    broken(
        doctor(&dir, &s, &[]),
        &[
            "ERROR the server certificate expired on",
            "regenerate-certs m",
        ],
    );
}

#[test]
fn a_changed_ip_is_explained() {
    let dir = Dir::new();
    let (s, _) = store(&dir, &["127.0.0.1", "localhost"]);
    let cfg = s.join("machines/m/config.json");
    let text = fs::read_to_string(&cfg).unwrap().replace(
        "\"IPAddress\": \"127.0.0.1\"",
        "\"IPAddress\": \"127.0.0.9\"",
    );
    fs::write(&cfg, text).unwrap();
    broken(
        doctor(&dir, &s, &[]),
        &[
            "ERROR the server certificate does not name 127.0.0.9",
            "did the machine's IP change?",
            "IP:127.0.0.1",
        ],
    );
}

#[test]
fn missing_files_and_loose_permissions() {
    let dir = Dir::new();
    let (s, _) = store(&dir, &["127.0.0.1"]);
    fs::remove_file(s.join("machines/m/server-key.pem")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(s.join("certs/key.pem"), fs::Permissions::from_mode(0o644)).unwrap();
    }
    let run = doctor(&dir, &s, &[]);
    let mut needles = vec!["ServerKeyPath names", "which does not exist"];
    if cfg!(unix) {
        needles.push("readable by other users: certs/key.pem (0644)");
        needles.push("chmod 600");
    }
    broken(run, &needles);
}

#[test]
fn certs_d_naming_rules() {
    let dir = Dir::new();
    let pki = Pki::new("registry", &["registry.local"]);
    let root = dir.path("certs.d");
    let good = root.join("registry.local:5000");
    fs::create_dir_all(&good).unwrap();
    fs::write(good.join("ca.crt"), pki.ca.cert_pem()).unwrap();
    fs::write(good.join("client.cert"), &pki.client.cert_pem).unwrap();
    fs::write(good.join("client.key"), &pki.client.key_pem).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(good.join("client.key"), fs::Permissions::from_mode(0o600)).unwrap();
    }
    // Good alone: exit 0, and no store is needed.
    let run = dir
        .run(&["doctor", "-v", "--certs-d", good.to_str().unwrap()])
        .ok();
    assert!(
        run.stdout.contains("ok    ca.crt is a CA root"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("ok    client certificate client.cert matches its key client.key"),
        "{}",
        run.stdout
    );

    // The classic mistake, and its mirror images.
    let bad = root.join("registry.local");
    fs::create_dir_all(&bad).unwrap();
    fs::write(bad.join("ca.cert"), pki.ca.cert_pem()).unwrap();
    fs::write(bad.join("lonely.key"), &pki.client.key_pem).unwrap();
    fs::write(bad.join("user.cert"), &pki.client.cert_pem).unwrap();
    let odd = root.join("registry.local:http");
    fs::create_dir_all(&odd).unwrap();
    fs::write(odd.join("ca.pem"), pki.ca.cert_pem()).unwrap();
    broken(
        dir.run(&["doctor", "--certs-d", root.to_str().unwrap()]),
        &[
            "ERROR ca.cert is a CA certificate saved as .cert",
            "rename it to ca.crt",
            "ERROR lonely.key has no lonely.cert beside it",
            "ERROR Missing key user.key for client certificate user.cert",
            "directory name \"registry.local:http\" is not host:port",
            "ca.pem is ignored by docker",
        ],
    );
}
