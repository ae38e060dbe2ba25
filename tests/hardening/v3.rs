//! Safety v3, one group per promise of the issue: a recovery journal is input like any other,
//! the store lock never follows a link, an imported machine reaches only its own files, a
//! share is an allow-list, reads are bounded and stay inside the store, modes by content, and
//! text from a bundle or a store cannot forge output.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::*;

// ---- 1. A recovery journal is input like any other ----

/// A store with one imported machine, and a planted staging directory holding `journal`.
fn store_with_journal(d: &Dir, journal: &serde_json::Value) -> (PathBuf, PathBuf) {
    let store = d.copy_fixture(LINUX, "store");
    let staging = store.join(".mbundle-staging-planted");
    fs::create_dir_all(staging.join("machines/evil")).unwrap();
    fs::write(staging.join("machines/evil/config.json"), "{}").unwrap();
    fs::write(
        staging.join("journal.json"),
        serde_json::to_vec(journal).unwrap(),
    )
    .unwrap();
    (store, staging)
}

fn journal(steps: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"version": 1, "machines": ["evil"], "steps": steps})
}

#[test]
fn a_planted_journal_moves_nothing_outside_the_store_or_staging() {
    let d = Dir::new();
    let outside = d.path("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("secret"), "mine").unwrap();
    let victim = outside.join("secret").to_str().unwrap().to_string();
    let cases = [
        // Out of staging and the store through `..` and absolute paths, both directions.
        serde_json::json!([{"rename": {"from": "../../outside/secret", "to": "machines/stolen"}}]),
        serde_json::json!([{"rename": {"from": "machines/evil", "to": "../../outside/evil"}}]),
        serde_json::json!([{"rename": {"from": victim, "to": "machines/stolen"}}]),
        serde_json::json!([{"mkdir": outside.join("made").to_str().unwrap()}]),
        serde_json::json!([{"mkdir": "machines/../../outside/made"}]),
        // Names an import never writes, or a different place on each side.
        serde_json::json!([{"rename": {"from": "machines/evil", "to": "machines/other"}}]),
        serde_json::json!([{"rename": {"from": "certs/ca-key.pem.bak", "to": "certs/ca-key.pem.bak"}}]),
        serde_json::json!([{"rename": {"from": "machines/a b", "to": "machines/a b"}}]),
        serde_json::json!([{"mkdir": "certs"}]),
        serde_json::json!([{"rename": {"from": "", "to": ""}}]),
    ];
    for steps in cases {
        let (store, staging) = store_with_journal(&d, &journal(steps.clone()));
        let before = tree(&store);
        let out = d.run(&["-s", store.to_str().unwrap(), "ls"]);
        let out = out.fails(
            1,
            &[
                "refusing to finish the interrupted import",
                "nothing was moved",
            ],
        );
        assert!(
            out.stderr.contains(".mbundle-staging-planted"),
            "{steps}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("hint: ") && out.stderr.contains("rm -r"),
            "{}",
            out.stderr
        );
        assert_eq!(tree(&store), before, "{steps}: the store changed");
        assert_eq!(fs::read_to_string(outside.join("secret")).unwrap(), "mine");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 1, "{steps}");
        assert!(staging.join("journal.json").is_file());
        fs::remove_dir_all(&store).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn a_journal_step_through_a_link_is_refused_on_either_side() {
    let d = Dir::new();
    let outside = d.path("outside");
    fs::create_dir_all(outside.join("evil")).unwrap();
    fs::write(outside.join("evil/config.json"), "theirs").unwrap();
    let steps = serde_json::json!([{"rename": {"from": "machines/evil", "to": "machines/evil"}}]);
    // The store's machines/ is a link to elsewhere: the machine would land there.
    let (store, staging) = store_with_journal(&d, &journal(steps.clone()));
    fs::rename(store.join("machines"), d.path("real-machines")).unwrap();
    fs::create_dir(d.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(d.path("elsewhere"), store.join("machines")).unwrap();
    d.run(&["-s", store.to_str().unwrap(), "ls"])
        .fails(1, &["refusing to finish", "without following a link"]);
    assert_eq!(fs::read_dir(d.path("elsewhere")).unwrap().count(), 0);
    assert!(staging.join("machines/evil/config.json").is_file());
    fs::remove_dir_all(&store).unwrap();
    // Staging's machines/ is a link to someone's directory: their files would move in.
    let (store, staging) = store_with_journal(&d, &journal(steps));
    fs::remove_dir_all(staging.join("machines")).unwrap();
    std::os::unix::fs::symlink(&outside, staging.join("machines")).unwrap();
    d.run(&["-s", store.to_str().unwrap(), "ls"])
        .fails(1, &["refusing to finish"]);
    assert_eq!(
        fs::read_to_string(outside.join("evil/config.json")).unwrap(),
        "theirs"
    );
    assert!(!store.join("machines/evil").exists());
    fs::remove_dir_all(&store).unwrap();
    // The staged machine itself is a link.
    let steps = serde_json::json!([{"rename": {"from": "machines/evil", "to": "machines/evil"}}]);
    let (store, staging) = store_with_journal(&d, &journal(steps));
    fs::remove_dir_all(staging.join("machines/evil")).unwrap();
    std::os::unix::fs::symlink(outside.join("evil"), staging.join("machines/evil")).unwrap();
    d.run(&["-s", store.to_str().unwrap(), "ls"])
        .fails(1, &["refusing to finish", "a link?"]);
    assert!(store.join("machines/evil").symlink_metadata().is_err());
    // The journal itself is a link (to a file only root could read, say).
    let (store2, staging2) = store_with_journal(&d, &journal(serde_json::json!([])));
    fs::remove_file(staging2.join("journal.json")).unwrap();
    std::os::unix::fs::symlink(
        outside.join("evil/config.json"),
        staging2.join("journal.json"),
    )
    .unwrap();
    d.run(&["-s", store2.to_str().unwrap(), "ls"])
        .fails(1, &["refusing to finish", "journal cannot be read"]);
    let _ = store;
}

/// Root running any command on another user's store leaves that user's staging alone.
#[cfg(target_os = "linux")]
#[test]
fn root_never_carries_out_a_journal_it_did_not_write() {
    if !is_root() {
        eprintln!("SKIPPED: needs root to give staging another owner");
        return;
    }
    let d = Dir::new();
    let steps = serde_json::json!([{"rename": {"from": "machines/evil", "to": "machines/evil"}}]);
    let (store, staging) = store_with_journal(&d, &journal(steps));
    let chown = std::process::Command::new("chown")
        .args(["-R", "12345:12345", staging.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(chown.success());
    d.run(&["-s", store.to_str().unwrap(), "ls"])
        .fails(1, &["belongs to user 12345", "nothing was moved"]);
    assert!(!store.join("machines/evil").exists());
    assert!(staging.join("machines/evil/config.json").is_file());
}

/// A huge journal (or a FIFO named journal.json) is refused, not read whole or waited on.
#[cfg(target_os = "linux")]
#[test]
fn a_journal_that_is_a_fifo_or_huge_is_refused_at_once() {
    let d = Dir::new();
    let (store, staging) = store_with_journal(&d, &journal(serde_json::json!([])));
    fs::remove_file(staging.join("journal.json")).unwrap();
    mkfifo(&staging.join("journal.json"));
    d.run(&["-s", store.to_str().unwrap(), "ls"])
        .fails(1, &["journal cannot be read", "not a regular file"]);
    fs::remove_file(staging.join("journal.json")).unwrap();
    let f = fs::File::create(staging.join("journal.json")).unwrap();
    f.set_len(1 << 30).unwrap();
    d.run(&["-s", store.to_str().unwrap(), "ls"])
        .fails(1, &["journal cannot be read", "larger than"]);
}

/// Makes a FIFO at `path` with the real mkfifo.
fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

// ---- 2. The store lock never follows a link ----

#[cfg(unix)]
#[test]
fn the_store_lock_is_never_a_link_a_fifo_or_a_hard_link() {
    let d = Dir::new();
    d.export_demo(&fixtures().join(LINUX), "b.mbundle", &["web"])
        .ok();
    let store = d.path("store");
    fs::create_dir(&store).unwrap();
    let lock = store.join(".mbundle.lock");
    let target = d.path("where-the-owner-points");
    // A dangling link: root would create the file it names.
    std::os::unix::fs::symlink(&target, &lock).unwrap();
    d.import_demo(&store, "b.mbundle", &[])
        .fails(1, &["is a symbolic link, not mbundle's lock file"]);
    assert!(!target.exists(), "a file was created where the link points");
    // A link to an existing file: not opened, not locked, not removed.
    fs::write(&target, "theirs").unwrap();
    d.import_demo(&store, "b.mbundle", &[])
        .fails(1, &["symbolic link"]);
    assert_eq!(fs::read_to_string(&target).unwrap(), "theirs");
    fs::remove_file(&lock).unwrap();
    // A hard link to someone's file.
    fs::hard_link(&target, &lock).unwrap();
    d.import_demo(&store, "b.mbundle", &[])
        .fails(1, &["hard link"]);
    assert_eq!(fs::read_to_string(&target).unwrap(), "theirs");
    assert!(lock.exists());
    fs::remove_file(&lock).unwrap();
    // A FIFO: refused at once instead of waiting for a writer.
    mkfifo(&lock);
    d.import_demo(&store, "b.mbundle", &[])
        .fails(1, &["a FIFO, not mbundle's lock file"]);
    fs::remove_file(&lock).unwrap();
    d.import_demo(&store, "b.mbundle", &[]).ok();
    assert!(!lock.exists());
    let _: &Path = &store;
}

// ---- 3. An imported machine reaches only its own files ----

fn sha_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// The entries of an export of `web` from the Linux fixture.
fn web_entries(d: &Dir) -> Vec<(String, Vec<u8>)> {
    d.export_demo(&fixtures().join(LINUX), "web.mbundle", &["web"])
        .ok();
    decrypt_entries(&fs::read(d.path("web.mbundle")).unwrap(), &demo_key())
}

/// Changes a file of the bundle and its manifest entry (size, sha256) to match, as an
/// attacker who writes the bundle would.
fn replace_file(entries: &mut [(String, Vec<u8>)], path: &str, data: Vec<u8>) {
    let mut manifest: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    for f in manifest["files"].as_array_mut().unwrap() {
        if f["path"] == path {
            f["size"] = data.len().into();
            f["sha256"] = sha_hex(&data).into();
        }
    }
    entries[0].1 = serde_json::to_vec(&manifest).unwrap();
    let at = entries.iter().position(|(p, _)| p == path).unwrap();
    entries[at].1 = data;
}

/// The bundle's web/config.json, changed by `f`.
fn with_config(
    mut entries: Vec<(String, Vec<u8>)>,
    f: impl FnOnce(&mut serde_json::Value),
) -> Vec<(String, Vec<u8>)> {
    let path = "machines/web/config.json";
    let text = &entries.iter().find(|(p, _)| p == path).unwrap().1;
    let mut config: serde_json::Value = serde_json::from_slice(text).unwrap();
    f(&mut config);
    replace_file(
        &mut entries,
        path,
        serde_json::to_vec_pretty(&config).unwrap(),
    );
    entries
}

/// The same bundle without its cert set: the machine names no issuing material of its own.
fn without_cert_set(entries: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    let mut manifest: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    manifest["certsets"] = serde_json::json!([]);
    manifest["machines"][0]["certset"] = serde_json::Value::Null;
    manifest["files"]
        .as_array_mut()
        .unwrap()
        .retain(|f| !f["path"].as_str().unwrap().starts_with("certsets/"));
    let mut out: Vec<_> = entries
        .into_iter()
        .filter(|(p, _)| !p.starts_with("certsets/"))
        .collect();
    out[0].1 = serde_json::to_vec(&manifest).unwrap();
    out
}

#[test]
fn an_imported_machine_reaches_only_its_own_directory_and_its_cert_set() {
    let d = Dir::new();
    let sound = web_entries(&d);
    // The victim: machines web and db, and a CA of their own in certs/ (not the bundle's).
    let victim = d.copy_fixture(LINUX, "victim");
    fs::remove_dir_all(victim.join("certs")).unwrap();
    copy_tree(&fixtures().join(MACOS).join("certs"), &victim.join("certs"));
    let alice = "/home/alice/.docker/machine";
    type Tamper = Box<dyn Fn(Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)>>;
    // The bundle's config.json with the field at `pointer` set to `value`.
    let set = |pointer: &'static str, value: serde_json::Value| -> Tamper {
        Box::new(move |e| {
            let value = value.clone();
            with_config(e, move |c| *c.pointer_mut(pointer).unwrap() = value)
        })
    };
    let cases: Vec<(&str, Tamper)> = vec![
        // No set of its own: the store-root rule would land on the victim's CA key.
        ("CaPrivateKeyPath", Box::new(without_cert_set)),
        (
            "ServerKeyPath",
            set(
                "/HostOptions/AuthOptions/ServerKeyPath",
                format!("{alice}/machines/db/server-key.pem").into(),
            ),
        ),
        (
            "SSHKeyPath",
            set(
                "/Driver/SSHKeyPath",
                format!("{alice}/machines/db/id_rsa").into(),
            ),
        ),
        (
            "ClientKeyPath",
            set(
                "/HostOptions/AuthOptions/ClientKeyPath",
                format!("{alice}/machines/db/key.pem").into(),
            ),
        ),
        ("MachineName", set("/Driver/MachineName", "db".into())),
        (
            "ServerCertSANs",
            set(
                "/HostOptions/AuthOptions/ServerCertSANs",
                serde_json::json!(["web.example", "$(touch PWNED)"]),
            ),
        ),
    ];
    for (field, tamper) in cases {
        let bundle = format!("{field}.mbundle");
        fs::write(d.path(&bundle), craft_bundle(&tamper(sound.clone()))).unwrap();
        let before = tree(&victim);
        let out = d
            .import_demo(&victim, &bundle, &["--rename", "web=evil"])
            .fails(
                1,
                &["config.json holds what no docker-machine writes", field],
            );
        assert_eq!(tree(&victim), before, "{field}: the store changed");
        assert!(!out.stderr.contains("panicked"));
    }
    // The sound bundle, the same way, imports: its set to imported-certs/, paths there.
    fs::write(d.path("sound.mbundle"), craft_bundle(&sound)).unwrap();
    d.import_demo(&victim, "sound.mbundle", &["--rename", "web=evil"])
        .ok();
    let config = fs::read_to_string(victim.join("machines/evil/config.json")).unwrap();
    assert!(config.contains("imported-certs/"), "{config}");
    assert!(!config.contains(&format!("{}/certs/ca-key", victim.display())));
}

// ---- 6. Reads are bounded and stay inside the store ----

/// Runs mbundle, failing the test if it takes longer than 30 s (a hang on a FIFO).
fn run_bounded(d: &Dir, args: &[&str]) -> Run {
    let mut child = d
        .cmd()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("mbundle {args:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Run::from(child.wait_with_output().unwrap())
}

#[cfg(target_os = "linux")]
#[test]
fn diff_reads_nothing_outside_the_store_whatever_the_bundle_names() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    let mut entries = web_entries(&d);
    // The attacker's guess at a file outside the store, carried as the set's CA.
    let secret = d.path("secret.txt");
    fs::write(&secret, "the guess").unwrap();
    mkfifo(&d.path("fifo"));
    let set_ca = entries
        .iter()
        .find(|(p, _)| p.starts_with("certsets/") && p.ends_with("/ca.pem"))
        .unwrap()
        .0
        .clone();
    replace_file(&mut entries, &set_ca, b"the guess".to_vec());
    let mut manifest: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    for mem in manifest["certsets"][0]["members"].as_array_mut().unwrap() {
        mem["sources"] = serde_json::json!([
            d.path("fifo").to_str().unwrap(),
            "/dev/zero",
            secret.to_str().unwrap()
        ]);
    }
    entries[0].1 = serde_json::to_vec(&manifest).unwrap();
    fs::write(d.path("oracle.mbundle"), craft_bundle(&entries)).unwrap();
    let key = demo_key();
    let out = run_bounded(
        &d,
        &[
            "-s",
            store.to_str().unwrap(),
            "diff",
            "oracle.mbundle",
            "-i",
            key.to_str().unwrap(),
            "--json",
        ],
    );
    // Not current: the set's CA is not in the store, whatever lies outside it.
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["certsets"].as_array().unwrap().len(), 1, "{report}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_config_json_that_is_proc_a_fifo_or_a_device_costs_nothing() {
    let d = Dir::new();
    for (i, target) in ["/proc/self/pagemap", "/dev/zero", "fifo"]
        .iter()
        .enumerate()
    {
        let store = d.copy_fixture(LINUX, &format!("s{i}"));
        let config = store.join("machines/web/config.json");
        fs::remove_file(&config).unwrap();
        if *target == "fifo" {
            mkfifo(&config);
        } else {
            std::os::unix::fs::symlink(target, &config).unwrap();
        }
        let s = store.to_str().unwrap();
        for args in [
            vec!["-s", s, "env", "web"],
            vec!["-s", s, "doctor", "web"],
            vec!["-s", s, "ls"],
        ] {
            let out = run_bounded(&d, &args);
            assert!(!out.stderr.contains("panicked"), "{args:?}: {}", out.stderr);
            // 2: a device is no config.json at all, so there is no machine web.
            assert!((0..=2).contains(&out.code), "{args:?}: {}", out.stderr);
        }
        // Refused (pagemap refuses reads that are not whole entries; the others are not
        // regular files), at once and without reading gigabytes.
        // (A device is no config.json at all: no machine web, exit 2.)
        let out = run_bounded(&d, &["-s", s, "env", "web"]);
        assert!(out.code == 1 || out.code == 2, "{}", out.stderr);
        assert!(
            out.stderr.contains("no machine named web")
                || out.stderr.contains("not a regular file")
                || out.stderr.contains("larger than")
                || out.stderr.contains("Invalid argument"),
            "{target}: {}",
            out.stderr
        );
    }
}

// ---- 8. Every file's mode by what it is ----

#[cfg(unix)]
#[test]
fn modes_are_decided_by_content_not_by_secret_names() {
    use std::os::unix::fs::PermissionsExt;
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "src");
    let web = store.join("machines/web");
    let key = fs::read(web.join("server-key.pem")).unwrap();
    let ca = fs::read(web.join("ca.pem")).unwrap();
    fs::write(web.join("server-key.pem.20260101T000000Z.old"), &key).unwrap();
    fs::write(web.join("ca-key.pem.orig"), &key).unwrap();
    fs::write(web.join("notes.txt"), "just text").unwrap();
    // An SSH key under another name, made by the real ssh-keygen when it is here.
    if let Some(keygen) = peer("ssh-keygen") {
        let out = web.join("deploy");
        assert!(std::process::Command::new(keygen)
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&out)
            .status()
            .unwrap()
            .success());
    }
    // A PKCS#12 bundle, made by the real openssl when it is here.
    if let Some(openssl) = peer("openssl") {
        assert!(std::process::Command::new(openssl)
            .args(["pkcs12", "-export", "-passout", "pass:x", "-inkey"])
            .arg(web.join("server-key.pem"))
            .arg("-in")
            .arg(web.join("server.pem"))
            .arg("-out")
            .arg(web.join("client.p12"))
            .status()
            .unwrap()
            .success());
    }
    for e in fs::read_dir(&web).unwrap() {
        let p = e.unwrap().path();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    }
    d.export_demo(&store, "m.mbundle", &["web"]).ok();
    let fresh = d.path("fresh");
    d.import_demo(&fresh, "m.mbundle", &[]).ok();
    let got = fresh.join("machines/web");
    for private in [
        "server-key.pem.20260101T000000Z.old",
        "ca-key.pem.orig",
        "server-key.pem",
        "id_rsa",
        "key.pem",
        "config.json",
        "notes.txt",
        "deploy",
        "client.p12",
    ] {
        if got.join(private).exists() {
            assert_eq!(mode(&got.join(private)), 0o600, "{private}");
        } else {
            assert!(
                matches!(private, "deploy" | "client.p12"),
                "{private} missing"
            );
        }
    }
    for public in ["server.pem", "ca.pem", "cert.pem", "id_rsa.pub"] {
        assert_eq!(mode(&got.join(public)), 0o644, "{public}");
    }
    // A "certificate" with the CA key appended is a key.
    let s2 = d.copy_fixture(LINUX, "src2");
    let mut both = ca.clone();
    both.extend_from_slice(&key);
    fs::write(s2.join("machines/web/server.pem"), &both).unwrap();
    d.export_demo(&s2, "m2.mbundle", &["web"]).ok();
    let fresh2 = d.path("fresh2");
    d.import_demo(&fresh2, "m2.mbundle", &[]).ok();
    assert_eq!(mode(&fresh2.join("machines/web/server.pem")), 0o600);
    // doctor: a key's backup copy readable by others is a problem, by content.
    let loose = d.copy_fixture(LINUX, "loose");
    let copy = loose.join("machines/web/ca-key.pem.orig");
    fs::write(&copy, &key).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o644)).unwrap();
    let out = d.run(&["-s", loose.to_str().unwrap(), "doctor", "web"]);
    assert!(
        out.stdout.contains("ca-key.pem.orig") && out.code == 1,
        "{}\n{}",
        out.stdout,
        out.stderr
    );
}

// ---- 9. Text from a bundle or a store cannot forge output ----

const FORGED: &str = "FORGED LINE";

/// Whether `text` holds a raw control (but newline and tab) or bidirectional character, or a
/// line that starts with the forged text.
fn forged(text: &str) -> Option<String> {
    if let Some(c) = text.chars().find(|&c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }) {
        return Some(format!("raw {c:?}"));
    }
    text.lines()
        .find(|l| l.trim_start().starts_with(FORGED))
        .map(|l| format!("forged line {l:?}"))
}

#[test]
fn bundle_text_cannot_forge_a_line_reorder_text_or_drive_the_terminal() {
    let d = Dir::new();
    let mut entries = web_entries(&d);
    let hostile = format!("x\n{FORGED} \u{202e}evil\u{2066} \u{1b}[2J\r");
    let mut manifest: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    manifest["certsets"][0]["ca_name"] = hostile.clone().into();
    manifest["tool"] = hostile.clone().into();
    manifest["warnings"] = serde_json::json!([hostile.clone()]);
    manifest["machines"][0]["driver"] = hostile.clone().into();
    manifest["machines"][0]["external"][0]["path"] = hostile.clone().into();
    entries[0].1 = serde_json::to_vec(&manifest).unwrap();
    fs::write(d.path("h.mbundle"), craft_bundle(&entries)).unwrap();
    let key = demo_key();
    let key = key.to_str().unwrap();
    let fresh = d.path("fresh");
    let store = d.copy_fixture(LINUX, "store");
    let runs = [
        vec!["inspect", "h.mbundle", "-i", key],
        vec!["inspect", "h.mbundle", "-i", key, "--json"],
        vec![
            "-s",
            fresh.to_str().unwrap(),
            "import",
            "h.mbundle",
            "-i",
            key,
            "--dry-run",
        ],
        vec![
            "-s",
            fresh.to_str().unwrap(),
            "import",
            "h.mbundle",
            "-i",
            key,
            "--dry-run",
            "--json",
        ],
        vec![
            "-s",
            store.to_str().unwrap(),
            "diff",
            "h.mbundle",
            "-i",
            key,
        ],
        vec![
            "-s",
            store.to_str().unwrap(),
            "diff",
            "h.mbundle",
            "-i",
            key,
            "--json",
        ],
    ];
    for args in runs {
        let out = d.run(&args);
        assert!(out.code == 0 || out.code == 1, "{args:?}: {}", out.stderr);
        // The hostile values were shown (escaped), not refused before anything was said.
        assert!(
            out.stdout.contains("evil") || args.contains(&"diff"),
            "{args:?}: {}\n{}",
            out.stdout,
            out.stderr
        );
        for (what, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert_eq!(forged(text), None, "{args:?} {what}:\n{text}");
        }
        if args.contains(&"--json") {
            // Still JSON, and the value comes back whole when parsed.
            let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            assert!(
                v.to_string().contains("evil") || args.contains(&"diff"),
                "{v}"
            );
        }
    }
    // The same strings in a store's config.json reach ls, doctor and env escaped.
    let cfg = store.join("machines/web/config.json");
    let mut config: serde_json::Value = serde_json::from_slice(&fs::read(&cfg).unwrap()).unwrap();
    config["DriverName"] = hostile.clone().into();
    fs::write(&cfg, serde_json::to_vec(&config).unwrap()).unwrap();
    let s = store.to_str().unwrap();
    for args in [
        vec!["-s", s, "ls"],
        vec!["-s", s, "ls", "--json"],
        vec!["-s", s, "doctor", "web"],
        vec!["-s", s, "env", "web"],
    ] {
        let out = d.run(&args);
        for (what, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert_eq!(forged(text), None, "{args:?} {what}:\n{text}");
        }
    }
}

// ---- 4. A share is an allow-list ----

/// A distinctive line of a PEM file's body.
fn body_line(pem: &[u8]) -> String {
    String::from_utf8_lossy(pem)
        .lines()
        .nth(2)
        .unwrap()
        .to_string()
}

#[test]
fn a_share_carries_exactly_what_it_lists_whatever_else_the_machine_holds() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "owner");
    let web = store.join("machines/web");
    let server_key = fs::read(web.join("server-key.pem")).unwrap();
    let ca_key = fs::read(store.join("certs/ca-key.pem")).unwrap();
    let id_rsa = fs::read(web.join("id_rsa")).unwrap();
    // Stray copies of keys and credentials, as real stores collect them.
    fs::write(web.join("server-key.pem.20260101T000000Z.old"), &server_key).unwrap();
    fs::write(web.join("ca-key.pem.orig"), &ca_key).unwrap();
    fs::write(web.join("key.pem.bak"), &server_key).unwrap();
    fs::write(web.join(".env"), "AWS_SECRET_ACCESS_KEY=SECRET-ENV-1\n").unwrap();
    fs::write(
        web.join("config.json.bak"),
        "{\"Password\": \"SECRET-BAK-2\"}",
    )
    .unwrap();
    fs::write(web.join("deploy_key"), &id_rsa).unwrap();
    fs::write(web.join("client.p12"), b"\x30\x82SECRET-P12-12").unwrap();
    // The CA certificate and the server certificate with keys appended.
    let mut ca = fs::read(store.join("certs/ca.pem")).unwrap();
    ca.extend_from_slice(&ca_key);
    fs::write(store.join("certs/ca.pem"), &ca).unwrap();
    let mut copy = fs::read(web.join("ca.pem")).unwrap();
    copy.extend_from_slice(&ca_key);
    fs::write(web.join("ca.pem"), &copy).unwrap();
    let mut server = fs::read(web.join("server.pem")).unwrap();
    server.extend_from_slice(&server_key);
    fs::write(web.join("server.pem"), &server).unwrap();
    // Credentials where no per-driver list looks.
    let cfg_path = web.join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_slice(&fs::read(&cfg_path).unwrap()).unwrap();
    cfg["Driver"]["Auth"] =
        serde_json::json!({"ClientSecret": "SECRET-AUTH-3", "Scopes": ["SECRET-ARR-4"]});
    cfg["Driver"]["Deep"] = serde_json::json!({"a": {"b": {"c": "SECRET-DEEP-5"}}});
    cfg["Driver"]["SSHPassphrase"] = "SECRET-PASS-6".into();
    cfg["Driver"]["UserData"] = "#cloud-config\npassword: SECRET-UD-10".into();
    cfg["HostOptions"]["EngineOptions"]["Env"] = serde_json::json!(["TOKEN=SECRET-ENV-7"]);
    cfg["HostOptions"]["EngineOptions"]["RegistryMirror"] =
        serde_json::json!(["https://u:SECRET-MIRROR-8@mirror.example"]);
    cfg["HostOptions"]["EngineOptions"]["InstallURL"] = "https://u:SECRET-URL-9@get.example".into();
    cfg["HostOptions"]["SwarmOptions"]["Discovery"] = "token://SECRET-SWARM-11".into();
    fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();

    let s = store.to_str().unwrap();
    let r = demo_recipient();
    d.run(&[
        "-s",
        s,
        "share",
        "web",
        "--yes",
        "--as",
        "bob",
        "-r",
        &r,
        "-o",
        "bob.mbundle",
    ])
    .ok();
    let entries = decrypt_entries(&fs::read(d.path("bob.mbundle")).unwrap(), &demo_key());
    let names: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    let mut shape: Vec<String> = names
        .iter()
        .map(|n| {
            let parts: Vec<&str> = n.split('/').collect();
            if parts[0] == "certsets" {
                format!("certsets/ID/{}", parts[2])
            } else {
                n.to_string()
            }
        })
        .collect();
    shape.sort();
    assert_eq!(
        shape,
        [
            "certsets/ID/ca.pem",
            "certsets/ID/cert.pem",
            "certsets/ID/key.pem",
            "machines/web/ca.pem",
            "machines/web/cert.pem",
            "machines/web/config.json",
            "machines/web/key.pem",
            "machines/web/mbundle-share.json",
            "machines/web/server.pem",
            "mbundle.json",
        ]
    );
    let all: Vec<u8> = entries.iter().flat_map(|(_, b)| b.clone()).collect();
    let all = String::from_utf8_lossy(&all);
    for secret in [
        "SECRET-ENV-1",
        "SECRET-BAK-2",
        "SECRET-AUTH-3",
        "SECRET-ARR-4",
        "SECRET-DEEP-5",
        "SECRET-PASS-6",
        "SECRET-ENV-7",
        "SECRET-MIRROR-8",
        "SECRET-URL-9",
        "SECRET-UD-10",
        "SECRET-SWARM-11",
        "SECRET-P12-12",
    ] {
        assert!(!all.contains(secret), "{secret} reached the teammate");
    }
    for (what, key) in [
        ("server key", &server_key),
        ("CA key", &ca_key),
        ("SSH key", &id_rsa),
    ] {
        assert!(
            !all.contains(&body_line(key)),
            "the {what} reached the teammate"
        );
    }
    // Every certificate file holds exactly its one certificate.
    for (path, bytes) in &entries {
        let text = String::from_utf8_lossy(bytes);
        if path.ends_with("ca.pem") || path.ends_with("cert.pem") || path.ends_with("server.pem") {
            assert_eq!(text.matches("-----BEGIN").count(), 1, "{path}: {text}");
            assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{path}");
        }
    }
    // And the teammate's store still works with it: docker-machine's fields are there.
    let bob = d.path("bob");
    d.import_demo(&bob, "bob.mbundle", &[]).ok();
    let env = d.run(&["-s", bob.to_str().unwrap(), "env", "web"]).ok();
    assert!(env.stdout.contains("DOCKER_HOST"), "{}", env.stdout);
}

// ---- 5. A share says what it opens ----

#[test]
fn a_share_names_every_machine_its_certificate_opens_and_asks_first() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "owner");
    let s = store.to_str().unwrap();
    let r = demo_recipient();
    let share = |extra: &[&str]| {
        let mut args = vec![
            "-s",
            s,
            "share",
            "web",
            "--as",
            "bob",
            "-r",
            &r,
            "-o",
            "bob.mbundle",
        ];
        args.extend_from_slice(extra);
        d.run(&args)
    };
    // web and db trust the same CA: sharing web opens db too. Said, and refused without
    // --yes (no terminal here to ask on), and nothing written.
    let out = share(&[]).fails(2, &["would also open db", "--yes"]);
    assert!(
        !out.stderr.contains("edge"),
        "edge has a CA of its own: {}",
        out.stderr
    );
    assert!(!d.path("bob.mbundle").exists());
    // Naming every machine it opens is asking for exactly that.
    d.run(&[
        "-s",
        s,
        "share",
        "web",
        "db",
        "vbox",
        "--as",
        "bob",
        "-r",
        &r,
        "-o",
        "all.mbundle",
    ])
    .ok();
    // --yes goes ahead, and still says it.
    let out = share(&["--yes"]).ok();
    assert!(out.stderr.contains("would also open db"), "{}", out.stderr);
    // What the warning is about, checked with openssl: db's daemon trusts the CA that
    // signed bob's certificate, so it would accept it.
    let Some(openssl) = peer("openssl") else {
        return;
    };
    let entries = decrypt_entries(&fs::read(d.path("bob.mbundle")).unwrap(), &demo_key());
    let cert = &entries
        .iter()
        .find(|(p, _)| p == "machines/web/cert.pem")
        .unwrap()
        .1;
    fs::write(d.path("bob.pem"), cert).unwrap();
    let verify = std::process::Command::new(openssl)
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(store.join("machines/db/ca.pem"))
        .arg(d.path("bob.pem"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn a_teammate_s_certificate_never_outlives_its_ca_and_a_near_end_is_said() {
    let Some(openssl) = peer("openssl") else {
        eprintln!("SKIPPED: openssl is needed to make a CA that ends soon");
        return;
    };
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "owner");
    // A CA (same key) that ends in 10 days, copied where every machine names it.
    let certs = store.join("certs");
    let made = std::process::Command::new(openssl)
        .args([
            "req", "-x509", "-new", "-days", "10", "-subj", "/O=alice", "-key",
        ])
        .arg(certs.join("ca-key.pem"))
        .arg("-out")
        .arg(d.path("short-ca.pem"))
        .status()
        .unwrap();
    assert!(made.success());
    let short = fs::read(d.path("short-ca.pem")).unwrap();
    fs::write(certs.join("ca.pem"), &short).unwrap();
    for m in ["web", "db", "vbox"] {
        fs::write(store.join("machines").join(m).join("ca.pem"), &short).unwrap();
    }
    let r = demo_recipient();
    let out = d
        .run(&[
            "-s",
            store.to_str().unwrap(),
            "share",
            "web",
            "--yes",
            "--as",
            "bob",
            "-r",
            &r,
            "-o",
            "bob.mbundle",
            "--days",
            "1080",
        ])
        .ok();
    assert!(out.stderr.contains("ends on"), "{}", out.stderr);
    let entries = decrypt_entries(&fs::read(d.path("bob.mbundle")).unwrap(), &demo_key());
    let manifest: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    let cert_end = manifest["share"]["cert_not_after"]
        .as_str()
        .unwrap()
        .to_string();
    let ca_end = manifest["certsets"][0]["not_after"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(cert_end <= ca_end, "{cert_end} after {ca_end}");
}

// ---- 7. Outside files keep their owner's privacy ----

/// Root exporting a user's store: a custom CA the user could not read, and a machine
/// directory that is a link to a root-only directory, stay where they are, and are said.
#[cfg(target_os = "linux")]
#[test]
fn root_exporting_a_user_s_store_never_carries_what_that_user_could_not_read() {
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        eprintln!("SKIPPED: needs root to export another user's store");
        return;
    }
    let d = Dir::new();
    fs::set_permissions(d.root(), fs::Permissions::from_mode(0o755)).unwrap();
    let store = d.materialize_alice();
    let home = d.path("home/alice");
    let chown = |path: &Path, owner: &str| {
        let st = std::process::Command::new("chown")
            .args(["-R", owner])
            .arg(path)
            .status()
            .unwrap();
        assert!(st.success());
    };
    for p in [d.path("home"), home.clone()] {
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    chown(&home, "12345:12345");
    // The custom CA: root's alone (root put it there; alice cannot read it).
    let acme = home.join("acme-ca");
    chown(&acme, "0:0");
    fs::set_permissions(&acme, fs::Permissions::from_mode(0o700)).unwrap();
    // A machine directory that is a link to a root-only directory is no machine at all.
    let secret_dir = d.path("root-only");
    fs::create_dir(&secret_dir).unwrap();
    copy_tree(&store.join("machines/web"), &secret_dir);
    fs::write(secret_dir.join("root-secret.txt"), "ROOT-ONLY-SECRET").unwrap();
    fs::set_permissions(&secret_dir, fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&secret_dir, store.join("machines/linked")).unwrap();
    d.export_demo(&store, "l.mbundle", &["linked"])
        .fails(2, &["no machine named linked"]);
    let out = d.export_demo(&store, "b.mbundle", &["web", "edge"]).ok();
    assert!(
        out.stderr.contains("cannot read it") && out.stderr.contains("acme-ca"),
        "{}",
        out.stderr
    );
    let entries = decrypt_entries(&fs::read(d.path("b.mbundle")).unwrap(), &demo_key());
    let acme_key = fs::read(acme.join("ca-key.pem")).unwrap();
    for (path, bytes) in &entries {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("ROOT-ONLY-SECRET"), "{path}");
        assert!(
            !text.contains(&body_line(&acme_key)),
            "{path}: the CA key alice cannot read"
        );
    }
    // Readable by alice, the same files travel.
    chown(&acme, "12345:12345");
    d.export_demo(&store, "c.mbundle", &["web", "edge"]).ok();
    let entries = decrypt_entries(&fs::read(d.path("c.mbundle")).unwrap(), &demo_key());
    let all: String = entries
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(all.contains(&body_line(&acme_key)));
}

/// Key, recipients and passphrase files are read with a bound: `/dev/zero` is refused at
/// once; a pipe (`-i <(pass show key)`) still works.
#[cfg(target_os = "linux")]
#[test]
fn key_files_are_read_with_a_bound_and_pipes_still_work() {
    let d = Dir::new();
    d.export_demo(&fixtures().join(LINUX), "w.mbundle", &["web"])
        .ok();
    let store = fixtures().join(LINUX);
    let s = store.to_str().unwrap();
    for args in [
        vec!["inspect", "w.mbundle", "-i", "/dev/zero"],
        vec![
            "-s",
            s,
            "export",
            "web",
            "--passphrase-file",
            "/dev/zero",
            "-o",
            "x.mbundle",
        ],
        vec![
            "-s",
            s,
            "export",
            "web",
            "-R",
            "/dev/zero",
            "-o",
            "x.mbundle",
        ],
    ] {
        run_bounded(&d, &args).fails(1, &["too large"]);
    }
    let key = demo_key();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{} inspect w.mbundle -i <(cat {})",
            env!("CARGO_BIN_EXE_mbundle"),
            key.display()
        ))
        .current_dir(d.root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The hint after a refused journal is a command a person pastes: run as it is printed, it
/// removes exactly that staging directory, whatever its name holds.
#[test]
fn the_refused_journal_hint_removes_exactly_that_directory_when_pasted() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    let name = ".mbundle-staging-$(touch PWNED) `touch PWNED2` 'q' x";
    let staging = store.join(name);
    fs::create_dir_all(&staging).unwrap();
    let steps = serde_json::json!([{"rename": {"from": "../x", "to": "../x"}}]);
    fs::write(
        staging.join("journal.json"),
        serde_json::to_vec(&journal(steps)).unwrap(),
    )
    .unwrap();
    let out = d
        .run(&["-s", store.to_str().unwrap(), "ls"])
        .fails(1, &["refusing to finish"]);
    let hint = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("hint: "))
        .unwrap();
    let command = hint
        .split_once("(rm -r ")
        .and_then(|(_, rest)| rest.rsplit_once("); the machines"))
        .map(|(words, _)| format!("rm -r {words}"))
        .unwrap_or_else(|| panic!("no command in {hint}"));
    assert!(command.starts_with("rm -r "), "{command}");
    let run = std::process::Command::new("sh")
        .args(["-c", &command])
        .current_dir(d.root())
        .status()
        .unwrap();
    assert!(run.success(), "{command}");
    assert!(!staging.exists(), "{command} left the directory");
    assert!(!d.path("PWNED").exists() && !d.path("PWNED2").exists());
    assert!(store.join("machines/web/config.json").is_file());
    d.run(&["-s", store.to_str().unwrap(), "ls"]).ok();
}
