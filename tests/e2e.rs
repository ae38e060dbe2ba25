//! End to end with the real programs a user has: Debian's dockerd serving its API with mutual
//! TLS on loopback, the real docker CLI, the reference age CLI, ssh-keygen. A machine is made
//! with rcgen-issued certificates, exported, imported under another HOME, and the docker CLI
//! must reach the daemon through `mbundle env` and through a docker context.

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::gen::{days, write_store, Ca, Pki};
use crate::util::*;

/// A dockerd of our own: TLS on a free loopback port, its own data and exec roots, stopped
/// by PID when dropped (also when a test fails).
pub struct Dockerd {
    child: Child,
    pub port: u16,
    pub version: String,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether this machine can run the real daemon; a note (or, under MBUNDLE_REQUIRE_PEERS, a
/// failure) when it cannot.
pub fn can_run_dockerd() -> bool {
    let (Some(_), Some(_)) = (peer("dockerd"), peer("docker")) else {
        return false;
    };
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if uid != "0" {
        if std::env::var_os("MBUNDLE_REQUIRE_PEERS").is_some() {
            panic!("dockerd needs root, and MBUNDLE_REQUIRE_PEERS is set");
        }
        eprintln!("SKIPPED: dockerd needs root; this test needs the real daemon");
        return false;
    }
    true
}

impl Dockerd {
    pub fn start(ca: &Path, cert: &Path, key: &Path, host: &str) -> Dockerd {
        let probe = (cert_for_ping(ca), key_for_ping(ca));
        Dockerd::start_on(ca, cert, key, host, free_port(), (&probe.0, &probe.1))
    }

    /// Starts on a given port; `probe` is a client certificate and key the daemon accepts,
    /// used to wait until it serves.
    pub fn start_on(
        ca: &Path,
        cert: &Path,
        key: &Path,
        host: &str,
        port: u16,
        probe: (&Path, &Path),
    ) -> Dockerd {
        // Short paths: dockerd's sockets live under the exec root.
        let dir = tempfile::Builder::new()
            .prefix("mbd")
            .tempdir_in("/tmp")
            .unwrap();
        let log = fs::File::create(dir.path().join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--tlsverify")
            .arg("--tlscacert")
            .arg(ca)
            .arg("--tlscert")
            .arg(cert)
            .arg("--tlskey")
            .arg(key)
            .arg("-H")
            .arg(format!("tcp://{host}:{port}"))
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--storage-driver=vfs",
            ])
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("x"))
            .arg("--pidfile")
            .arg(dir.path().join("pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let mut d = Dockerd {
            child,
            port,
            version: String::new(),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = d.child.try_wait() {
                let log = fs::read_to_string(d._dir.path().join("dockerd.log")).unwrap_or_default();
                panic!("dockerd exited with {status}:\n{log}");
            }
            if TcpStream::connect((host, port)).is_ok() {
                // TLS with the client certificate, without checking the server's (it may
                // name another address: that is what some tests are about).
                let out = Command::new("docker")
                    .env("DOCKER_CONFIG", d._dir.path().join("cli"))
                    .arg("--tls")
                    .arg("--tlscacert")
                    .arg(ca)
                    .arg("--tlscert")
                    .arg(probe.0)
                    .arg("--tlskey")
                    .arg(probe.1)
                    .args([
                        "-H",
                        &format!("tcp://{host}:{port}"),
                        "version",
                        "--format",
                        "{{.Server.Version}}",
                    ])
                    .output()
                    .unwrap();
                if out.status.success() {
                    d.version = String::from_utf8_lossy(&out.stdout).trim().to_string();
                    return d;
                }
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not become ready in 60 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

// The readiness probe uses the client material stored next to the CA by `pki_files`.
fn cert_for_ping(ca: &Path) -> PathBuf {
    ca.with_file_name("probe-cert.pem")
}
fn key_for_ping(ca: &Path) -> PathBuf {
    ca.with_file_name("probe-key.pem")
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The daemon's side of a Pki, as files: CA, server cert and key, and a probe client.
fn pki_files(dir: &Path, pki: &Pki) -> (PathBuf, PathBuf, PathBuf) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("ca.pem"), pki.ca.cert_pem()).unwrap();
    fs::write(dir.join("server.pem"), &pki.server.cert_pem).unwrap();
    fs::write(dir.join("server-key.pem"), &pki.server.key_pem).unwrap();
    fs::write(dir.join("probe-cert.pem"), &pki.client.cert_pem).unwrap();
    fs::write(dir.join("probe-key.pem"), &pki.client.key_pem).unwrap();
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server-key.pem"),
    )
}

/// Runs a shell script with `mbundle` on PATH, HOME set, in `cwd`.
fn sh(script: &str, home: &Path, cwd: &Path) -> Run {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_mbundle")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .args(["-ec", script])
        .current_dir(cwd)
        .env("PATH", path)
        .env("HOME", home)
        .env_remove("MACHINE_STORAGE_PATH")
        .env_remove("DOCKER_CONFIG")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        raw_stdout: out.stdout,
    }
}

pub fn walkthrough(name: &str) -> String {
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/walkthroughs")
            .join(name),
    )
    .unwrap();
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains(&text),
        "README.md must show tests/walkthroughs/{name} verbatim"
    );
    text
}

#[test]
fn moving_a_machine_to_a_new_laptop() {
    if !can_run_dockerd() || peer("age-keygen").is_none() {
        return;
    }
    let dir = Dir::new();
    let pki = Pki::new("alice", &["127.0.0.1", "localhost"]);
    let (ca, cert, key) = pki_files(&dir.path("daemon"), &pki);
    let daemon = Dockerd::start(&ca, &cert, &key, "127.0.0.1");
    let old = dir.path("old-laptop");
    let new = dir.path("new-laptop");
    fs::create_dir_all(&new).unwrap();
    let store = old.join(".docker/machine");
    write_store(
        &store,
        store.to_str().unwrap(),
        '/',
        &pki,
        "dev",
        "127.0.0.1",
        daemon.port,
    );
    let shared = dir.path("shared");
    fs::create_dir_all(&shared).unwrap();

    sh(&walkthrough("move-1-new-laptop-key.sh"), &new, &shared).ok();
    let ls = sh(&walkthrough("move-2-old-laptop-export.sh"), &old, &shared).ok();
    assert!(
        ls.stdout
            .contains(&format!("tcp://127.0.0.1:{}", daemon.port)),
        "{}",
        ls.stdout
    );
    let run = sh(&walkthrough("move-3-new-laptop-import.sh"), &new, &shared).ok();
    // Both `docker version` calls reached the daemon: through env, and through the context.
    assert_eq!(
        run.stdout.matches(daemon.version.as_str()).count(),
        2,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Context:           dev"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("docker context dev created"),
        "{}",
        run.stdout
    );
    let ctx = Command::new("docker")
        .env("HOME", &new)
        .args(["context", "ls", "--format", "{{.Name}} {{.DockerEndpoint}}"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&ctx.stdout)
        .contains(&format!("dev tcp://127.0.0.1:{}", daemon.port)));

    // A .dockercontext file, imported by the real docker CLI, reaches the daemon too.
    let old_store = old.join(".docker/machine");
    let s = old_store.to_str().unwrap();
    sh(
        &format!(
            "mbundle -s '{s}' context dev --context-name dev-file --output dev.dockercontext
docker context import dev-file dev.dockercontext
docker --context dev-file version --format '{{{{.Server.Version}}}}'"
        ),
        &new,
        &shared,
    )
    .ok();
    let run = sh(
        "docker --context dev-file version --format '{{.Server.Version}}'",
        &new,
        &shared,
    )
    .ok();
    assert_eq!(run.stdout.trim(), daemon.version);
    // An existing context is never replaced.
    let again = sh(&format!("mbundle -s '{s}' context dev"), &new, &shared);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("docker context \"dev\" already exists"),
        "{}",
        again.stderr
    );

    // A client certificate from another CA is refused by the daemon.
    let other = Ca::new("mallory", days(30));
    let bad = other.issue("mallory", days(30), None);
    fs::write(dir.path("bad-cert.pem"), &bad.cert_pem).unwrap();
    fs::write(dir.path("bad-key.pem"), &bad.key_pem).unwrap();
    let out = Command::new("docker")
        .env("DOCKER_CONFIG", dir.path("cli"))
        .arg("--tlsverify")
        .arg("--tlscacert")
        .arg(&ca)
        .arg("--tlscert")
        .arg(dir.path("bad-cert.pem"))
        .arg("--tlskey")
        .arg(dir.path("bad-key.pem"))
        .args([
            "-H",
            &format!("tcp://127.0.0.1:{}", daemon.port),
            "version",
            "--format",
            "{{.Server.Version}}",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a foreign client certificate was accepted"
    );
    assert!(
        stderr.contains("certificate") || stderr.contains("tls"),
        "{stderr}"
    );
}

#[test]
fn stores_made_on_windows_and_macos_work_on_linux() {
    if !can_run_dockerd() {
        return;
    }
    let dir = Dir::new();
    let pki = Pki::new("bob", &["127.0.0.1", "localhost"]);
    let (ca, cert, key) = pki_files(&dir.path("daemon"), &pki);
    let daemon = Dockerd::start(&ca, &cert, &key, "127.0.0.1");
    for (spelled, sep) in [
        ("C:\\Users\\Bob\\.docker\\machine", '\\'),
        ("/Users/bob/.docker/machine", '/'),
    ] {
        // The store was copied here by hand; its config.json still names the other computer.
        let src = dir.path(&format!("copied-{}", sep as u32));
        write_store(&src, spelled, sep, &pki, "dev", "127.0.0.1", daemon.port);
        let bundle = format!("{}.mbundle", sep as u32);
        dir.export_demo(&src, &bundle, &["dev"]).ok();
        let m = manifest_json(&dir, &bundle);
        assert_eq!(
            m["certsets"][0]["members"].as_array().unwrap().len(),
            4,
            "{spelled}: certs found through the mapping"
        );
        let home = dir.path(&format!("linux-{}", sep as u32));
        let store = home.join(".docker/machine");
        dir.import_demo(&store, &bundle, &[]).ok();
        let run = sh(
            &format!(
                "eval $(mbundle -s '{}' env dev)\ndocker version --format '{{{{.Server.Version}}}}'",
                store.display()
            ),
            &home,
            dir.root(),
        )
        .ok();
        assert_eq!(run.stdout.trim(), daemon.version, "{spelled}");
        let cfg = fs::read_to_string(store.join("machines/dev/config.json")).unwrap();
        assert!(!cfg.contains("Users"), "{spelled}: {cfg}");
    }
}

#[test]
fn backing_up_and_restoring_the_ca() {
    let Some(keygen) = peer("ssh-keygen") else {
        return;
    };
    if peer("age-keygen").is_none() {
        return;
    }
    if !can_run_dockerd() {
        return;
    }
    let dir = Dir::new();
    let pki = Pki::new("carol", &["127.0.0.1", "localhost"]);
    let (ca, cert, key) = pki_files(&dir.path("daemon"), &pki);
    let daemon = Dockerd::start(&ca, &cert, &key, "127.0.0.1");
    let home = dir.path("laptop");
    let store = home.join(".docker/machine");
    write_store(
        &store,
        store.to_str().unwrap(),
        '/',
        &pki,
        "dev",
        "127.0.0.1",
        daemon.port,
    );
    fs::create_dir_all(home.join(".ssh")).unwrap();
    let st = Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(home.join(".ssh/id_ed25519"))
        .status()
        .unwrap();
    assert!(st.success());
    let work = dir.path("work");
    fs::create_dir_all(&work).unwrap();
    let ca_key_before = fs::read(store.join("certs/ca-key.pem")).unwrap();

    sh(&walkthrough("backup-1-export.sh"), &home, &work).ok();
    // The disk is lost: the store and the SSH key with it. The paper key (in `work`, as
    // typed back in) opens the backup.
    let ssh_dir = dir.path("ssh-kept-elsewhere");
    copy_tree(&home.join(".ssh"), &ssh_dir);
    fs::remove_dir_all(home.join(".docker")).unwrap();
    fs::remove_dir_all(home.join(".ssh")).unwrap();
    let run = sh(&walkthrough("backup-2-restore.sh"), &home, &work).ok();
    assert_eq!(
        run.stdout.matches(daemon.version.as_str()).count(),
        1,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("becomes the store's"), "{}", run.stdout);
    // The CA key is back, byte for byte, where docker-machine looks for it.
    assert_eq!(
        fs::read(store.join("certs/ca-key.pem")).unwrap(),
        ca_key_before
    );
    #[cfg(unix)]
    assert_eq!(mode(&store.join("certs/ca-key.pem")), 0o600);

    // One machine lost later (docker-machine rm), on a laptop with its SSH key again: diff
    // shows it, import of just it restores.
    copy_tree(&ssh_dir, &home.join(".ssh"));
    fs::remove_dir_all(store.join("machines/dev")).unwrap();
    let before = tree(&store);
    let run = sh(
        &walkthrough("backup-3-restore-one-machine.sh"),
        &home,
        &work,
    )
    .ok();
    assert!(
        run.stdout.contains("only in the bundle: dev"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("imported 1 machine(s)"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches(daemon.version.as_str()).count(),
        1,
        "{}",
        run.stdout
    );
    let after = tree(&store);
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{k} changed");
    }
}

#[test]
fn a_machine_at_a_new_address_gets_a_new_certificate_and_its_ca_is_renewed() {
    if !can_run_dockerd() || peer("openssl").is_none() {
        return;
    }
    let dir = Dir::new();
    let home = dir.path("laptop");
    let store = home.join(".docker/machine");
    // A CA 20 days from expiry, and a server certificate naming 127.0.0.1 only.
    let ca = Ca::new("dave", days(20));
    let pki = Pki {
        client: ca.issue("dave", days(400), None),
        server: ca.issue("dave.dev", days(400), Some(&["127.0.0.1", "localhost"])),
        ca,
    };
    let port = free_port();
    write_store(
        &store,
        store.to_str().unwrap(),
        '/',
        &pki,
        "dev",
        "127.0.0.1",
        port,
    );
    let s = store.to_str().unwrap();
    let m = store.join("machines/dev");
    let (probe_cert, probe_key) = (store.join("certs/cert.pem"), store.join("certs/key.pem"));
    let probe = (probe_cert.as_path(), probe_key.as_path());
    let ca_file = store.join("certs/ca.pem");
    let start = || {
        Dockerd::start_on(
            &ca_file,
            &m.join("server.pem"),
            &m.join("server-key.pem"),
            "127.0.0.2",
            port,
            probe,
        )
    };
    let version = format!(
        "eval $(mbundle -s '{s}' env dev)\ndocker version --format '{{{{.Server.Version}}}}'"
    );

    // The host came back at 127.0.0.2 with its old certificate: the CLI refuses it.
    let daemon = start();
    let old = sh(
        &format!("eval $(mbundle -s '{s}' env dev)\nDOCKER_HOST=tcp://127.0.0.2:{port} docker version --format '{{{{.Server.Version}}}}'"),
        &home,
        dir.root(),
    );
    assert_ne!(
        old.code, 0,
        "the old certificate was accepted for 127.0.0.2"
    );
    assert!(
        old.stderr.contains("127.0.0.2") && old.stderr.contains("certificate"),
        "{}",
        old.stderr
    );
    let ls = sh(&format!("mbundle -s '{s}' ls"), &home, dir.root()).ok();
    assert!(
        ls.stderr.contains("expires on") && ls.stderr.contains(&format!("mbundle -s {s} renew-ca")),
        "{}",
        ls.stderr
    );
    drop(daemon);

    // Reissue for the new address, restart the daemon with the new files: it works.
    let regen = sh(
        &format!("mbundle -s '{s}' regenerate-certs dev --ip 127.0.0.2"),
        &home,
        dir.root(),
    )
    .ok();
    assert!(regen.stdout.contains("IP:127.0.0.2"), "{}", regen.stdout);
    assert!(
        regen.stdout.contains("/etc/docker/server.pem"),
        "{}",
        regen.stdout
    );
    let daemon = start();
    let run = sh(&version, &home, dir.root()).ok();
    assert_eq!(run.stdout.trim(), daemon.version);
    drop(daemon);

    // Renew the CA with the same key: old client and server certificates keep verifying,
    // with openssl and with dockerd using the renewed CA on both sides.
    let old_ca = fs::read(&ca_file).unwrap();
    sh(&format!("mbundle -s '{s}' renew-ca"), &home, dir.root()).ok();
    assert_ne!(fs::read(&ca_file).unwrap(), old_ca);
    assert_eq!(
        fs::read(m.join("ca.pem")).unwrap(),
        fs::read(&ca_file).unwrap(),
        "the machine's copy follows"
    );
    let verify = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&ca_file)
        .arg(m.join("server.pem"))
        .arg(&probe_cert)
        .arg(m.join("cert.pem"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let daemon = start();
    let run = sh(&version, &home, dir.root()).ok();
    assert_eq!(run.stdout.trim(), daemon.version);
    let ls = sh(&format!("mbundle -s '{s}' ls"), &home, dir.root()).ok();
    assert!(!ls.stderr.contains("warning"), "{}", ls.stderr);
}

#[test]
fn sharing_a_machine_with_a_teammate() {
    if !can_run_dockerd() || peer("age-keygen").is_none() || peer("openssl").is_none() {
        return;
    }
    let Some(keygen) = peer("ssh-keygen") else {
        return;
    };
    let dir = Dir::new();
    let pki = Pki::new("alice", &["127.0.0.1", "localhost"]);
    let (ca, cert, key) = pki_files(&dir.path("daemon"), &pki);
    let daemon = Dockerd::start(&ca, &cert, &key, "127.0.0.1");
    let alice = dir.path("alice");
    let bob = dir.path("bob");
    fs::create_dir_all(&bob).unwrap();
    let store = alice.join(".docker/machine");
    write_store(
        &store,
        store.to_str().unwrap(),
        '/',
        &pki,
        "dev",
        "127.0.0.1",
        daemon.port,
    );
    // What a real machine also has for the share to leave behind: an SSH key and cloud
    // credentials in config.json.
    let mdir = store.join("machines/dev");
    let st = Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(mdir.join("id_rsa"))
        .status()
        .unwrap();
    assert!(st.success());
    let cfg_path = mdir.join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_slice(&fs::read(&cfg_path).unwrap()).unwrap();
    cfg["Driver"]["SSHKeyPath"] = mdir.join("id_rsa").to_str().unwrap().into();
    cfg["Driver"]["Password"] = "hunter2-cloud-password".into();
    cfg["Driver"]["AccessToken"] = "dop_v1_cloudtoken0123456789".into();
    fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    let alice_before = tree(&store);
    let secrets: Vec<(String, Vec<u8>)> = [
        "certs/ca-key.pem",
        "certs/key.pem",
        "machines/dev/key.pem",
        "machines/dev/server-key.pem",
        "machines/dev/id_rsa",
    ]
    .iter()
    .map(|p| (p.to_string(), fs::read(store.join(p)).unwrap()))
    .collect();
    let work = dir.path("shared");
    fs::create_dir_all(&work).unwrap();

    sh(&walkthrough("share-1-teammate-key.sh"), &bob, &work).ok();
    let shared = sh(&walkthrough("share-2-owner-share.sh"), &alice, &work).ok();
    assert!(
        shared.stderr.contains("shared dev with bob"),
        "{}",
        shared.stderr
    );
    assert_eq!(
        tree(&store),
        alice_before,
        "a share writes nothing to the store"
    );
    let run = sh(&walkthrough("share-3-teammate-import.sh"), &bob, &work).ok();
    assert_eq!(
        run.stdout.matches(daemon.version.as_str()).count(),
        1,
        "Bob's docker reached the daemon: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("shared with you as bob"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("CN = bob") || run.stdout.contains("CN=bob"),
        "{}",
        run.stdout
    );
    let bob_store = bob.join(".docker/machine");
    assert!(
        !bob_store.join("certs").exists(),
        "a share never becomes Bob's own certs/"
    );

    // The bundle, opened with stock tools, holds none of Alice's secrets.
    let out = dir.path("opened");
    assert!(age_decrypt_extract(
        &work.join("dev-for-bob.mbundle"),
        &bob.join("bob-key.txt"),
        &out
    ));
    let opened: Vec<PathBuf> = walk(&out);
    let names: Vec<String> = opened
        .iter()
        .map(|p| p.strip_prefix(&out).unwrap().display().to_string())
        .collect();
    for forbidden in ["ca-key.pem", "server-key.pem", "id_rsa"] {
        assert!(
            !names.iter().any(|n| n.ends_with(&format!("/{forbidden}"))),
            "{forbidden} in {names:?}"
        );
    }
    for p in &opened {
        let bytes = fs::read(p).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for (name, secret) in &secrets {
            // The longest line of the key's body: any copy of the key would hold it.
            let marker = String::from_utf8_lossy(secret)
                .lines()
                .max_by_key(|l| l.len())
                .unwrap()
                .to_string();
            assert!(
                !text.contains(&marker),
                "{} holds Alice's {name}",
                p.display()
            );
        }
        for cred in ["hunter2-cloud-password", "dop_v1_cloudtoken0123456789"] {
            assert!(!text.contains(cred), "{} holds {cred}", p.display());
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("mbundle.json")).unwrap()).unwrap();
    assert_eq!(manifest["share"]["shared_with"], "bob");
    assert_eq!(
        manifest["machines"][0]["redacted"],
        serde_json::json!(["Driver.Password", "Driver.AccessToken"])
    );

    // Bob's side: a share, the owner's tools refused.
    let doctor = sh("mbundle doctor dev", &bob, &work);
    assert!(
        doctor
            .stdout
            .contains("Driver.Password is empty (removed when the machine was shared)"),
        "{}",
        doctor.stdout
    );
    let regen = sh("mbundle regenerate-certs dev", &bob, &work);
    assert_eq!(regen.code, 1, "{}", regen.stderr);
    assert!(
        regen.stderr.contains("the CA key stays with its owner"),
        "{}",
        regen.stderr
    );
}

/// README's completion and manual lines, pasted into sh on a fresh HOME (none of their
/// directories exist): each file lands where its shell looks, and each shell parses it.
#[test]
fn the_readme_completion_lines_work_on_a_fresh_home() {
    let dir = Dir::new();
    let home = dir.path("fresh-home");
    fs::create_dir_all(&home).unwrap();
    sh(&walkthrough("install-completions.sh"), &home, &home).ok();
    for (file, shell, check) in [
        (
            ".local/share/bash-completion/completions/mbundle",
            "bash",
            "-n",
        ),
        (".zfunc/_mbundle", "zsh", "-n"),
        (
            ".config/fish/completions/mbundle.fish",
            "fish",
            "--no-execute",
        ),
        (".config/elvish/lib/mbundle.elv", "", ""),
    ] {
        let path = home.join(file);
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(text.contains("regenerate-certs"), "{file}");
        let Some(bin) = (!shell.is_empty()).then(|| peer(shell)).flatten() else {
            continue;
        };
        let out = Command::new(bin).arg(check).arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(home
        .join(".local/share/man/man1/mbundle-import.1")
        .is_file());
}
