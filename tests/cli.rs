//! The command line itself: ls, help, exit codes.

use crate::util::*;

#[test]
fn ls_lists_machines_with_their_ca_and_expiry() {
    let dir = Dir::new();
    let store = fixtures().join(LINUX);
    let out = dir.run(&["-s", store.to_str().unwrap(), "ls"]).ok().stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{out}");
    assert!(lines[0].contains("DRIVER") && lines[0].contains("URL") && lines[0].contains("CA"));
    assert!(lines[0].contains("CLIENT CERT EXPIRES") && lines[0].contains("SERVER CERT EXPIRES"));
    let web = lines.iter().find(|l| l.starts_with("web ")).unwrap();
    assert!(
        web.contains("generic") && web.contains("tcp://203.0.113.10:2376"),
        "{web}"
    );
    assert!(web.contains("alice [") && web.contains("certs/"), "{web}");
    assert!(web.contains("2100-"), "{web}");
    let edge = lines.iter().find(|l| l.starts_with("edge ")).unwrap();
    assert!(edge.contains("Acme Ops CA"), "{edge}");
}

#[test]
fn ls_json_for_scripts() {
    let dir = Dir::new();
    let store = dir.materialize_alice();
    let out = dir
        .run(&["-s", store.to_str().unwrap(), "ls", "--json"])
        .ok()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let edge = v["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "edge")
        .unwrap();
    assert_eq!(edge["ca"]["name"], "Acme Ops CA");
    assert_eq!(edge["ca"]["location"], "custom");
    assert_eq!(edge["server_cert_issued_by_ca"], true);
    let remote_store = fixtures().join(MACOS);
    let out = dir
        .run(&["-s", remote_store.to_str().unwrap(), "ls", "--json"])
        .ok()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let remote = v["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "remote")
        .unwrap();
    assert_eq!(remote["url"], "tcp://198.51.100.7:2376");
    assert!(remote["server_cert_not_after"].is_null());
}

#[test]
fn ls_on_every_fixture_store() {
    let dir = Dir::new();
    for (store, expect) in [
        (WINDOWS, vec!["devbox", "hv"]),
        (MACOS, vec!["fusion1", "remote"]),
        (
            QUIRKS,
            vec!["compact", "legacy0", "legacy1", "legacy2", "rancher"],
        ),
    ] {
        let out = dir
            .run(&["-s", fixtures().join(store).to_str().unwrap(), "ls"])
            .ok()
            .stdout;
        let names: Vec<&str> = out
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(names, expect);
        assert!(!out.contains("(none found)"), "{out}");
    }
}

#[test]
fn help_has_examples_and_usage_errors_exit_2() {
    let dir = Dir::new();
    for cmd in ["ls", "export", "inspect", "verify"] {
        let out = dir.run(&[cmd, "--help"]).ok().stdout;
        assert!(out.contains("Examples:"), "{cmd} --help has no examples");
    }
    assert_eq!(dir.run(&[]).code, 2);
    assert_eq!(
        dir.run(&["export", "-o", "x"]).code,
        2,
        "no machine and no --all"
    );
    assert_eq!(dir.run(&["export", "web", "--all", "-o", "x"]).code, 2);
    assert_eq!(dir.run(&["frobnicate"]).code, 2);
    let v = dir.run(&["--version"]).ok().stdout;
    assert!(v.starts_with("mbundle "), "{v}");
}

#[test]
fn ls_flags_expired_and_expiring_certificates() {
    use crate::util::gen::{add_machine, days, write_certs, Ca};
    let dir = Dir::new();
    let store = dir.path("store");
    let ca = Ca::new("soon", days(20));
    write_certs(&store, &ca, days(400));
    add_machine(&store, &ca, "old", "127.0.0.1", 2376, days(-3));
    add_machine(&store, &ca, "fine", "127.0.0.1", 2377, days(800));
    let out = dir.run(&["-s", store.to_str().unwrap(), "ls"]).ok().stdout;
    let old = out.lines().find(|l| l.starts_with("old ")).unwrap();
    assert!(old.contains("(EXPIRED)"), "{old}");
    assert!(old.contains("tcp://127.0.0.1:2376"), "{old}");
    let fine = out.lines().find(|l| l.starts_with("fine ")).unwrap();
    assert!(
        !fine.contains("EXPIRED") && !fine.contains("d left"),
        "{fine}"
    );
    // Export warns that the CA is about to expire.
    let run = dir.export_demo(&store, "b.mbundle", &["--all"]).ok();
    assert!(
        run.stderr
            .contains("the CA certificate \"soon\" expires on"),
        "{}",
        run.stderr
    );
}

#[test]
fn passphrase_is_prompted_twice_on_a_terminal() {
    // `script` gives mbundle a real pseudo-terminal, as a user at a shell would have.
    let Some(script) = peer("script") else { return };
    let dir = Dir::new();
    let store = fixtures().join(LINUX);
    let bin = env!("CARGO_BIN_EXE_mbundle");
    let run = |cmd: String, input: &str| {
        let mut child = std::process::Command::new(&script)
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(dir.root())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let export = format!("{bin} -s '{}' export web -p -o p.mbundle", store.display());
    let (code, out) = run(export.clone(), "s3cret words\nother words\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("the two passphrases differ"), "{out}");
    assert!(!dir.path("p.mbundle").exists());
    let (code, out) = run(export, "s3cret words\ns3cret words\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Confirm passphrase"), "{out}");
    std::fs::write(dir.path("pass.txt"), "s3cret words\n").unwrap();
    dir.run(&["verify", "p.mbundle", "--passphrase-file", "pass.txt"])
        .ok();
    // Reading: prompted once, without -p, because the bundle says it needs a passphrase.
    let (code, out) = run(format!("{bin} verify p.mbundle"), "s3cret words\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("OK: p.mbundle"), "{out}");
}

#[test]
fn one_character_machines_need_a_context_name() {
    use crate::util::gen::{add_machine, days, write_certs, Ca};
    let dir = Dir::new();
    let store = dir.path("store");
    let ca = Ca::new("t", days(100));
    write_certs(&store, &ca, days(100));
    add_machine(&store, &ca, "w", "127.0.0.1", 2376, days(100));
    let s = store.to_str().unwrap();
    dir.cmd()
        .env("DOCKER_CONFIG", dir.path("cfg"))
        .args(["-s", s, "context", "w"])
        .output()
        .map(|o| {
            assert_eq!(o.status.code(), Some(2));
            let e = String::from_utf8_lossy(&o.stderr);
            assert!(
                e.contains("not a valid docker context name") && e.contains("--context-name"),
                "{e}"
            );
        })
        .unwrap();
    let out = dir
        .cmd()
        .env("DOCKER_CONFIG", dir.path("cfg"))
        .args(["-s", s, "context", "w", "--context-name", "machine-w"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = dir
        .path("cfg/contexts/meta")
        .join(mbundle::context_id("machine-w"))
        .join("meta.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(meta).unwrap()).unwrap();
    assert_eq!(v["Name"], "machine-w");
    assert_eq!(v["Endpoints"]["docker"]["Host"], "tcp://127.0.0.1:2376");
    #[cfg(unix)]
    assert_eq!(
        mode(
            &dir.path("cfg/contexts/tls")
                .join(mbundle::context_id("machine-w"))
                .join("docker/key.pem")
        ),
        0o600
    );
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let Some(script) = peer("script") else { return };
    let dir = Dir::new();
    let store = dir.copy_fixture(LINUX, "store");
    std::fs::write(store.join("machines/vbox/disk.vmdk"), vec![3u8; 48 << 20]).unwrap();
    let r = demo_recipient();
    let bin = env!("CARGO_BIN_EXE_mbundle");
    let s = store.display();
    let k = demo_key();
    let pty = |cmd: String| {
        let out = std::process::Command::new(&script)
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(dir.root())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = pty(format!(
        "{bin} -s '{s}' export --all --include-disks -r {r} -o a.mbundle"
    ));
    assert!(
        shown.contains("exporting") && shown.contains("MiB"),
        "{shown}"
    );
    assert!(shown.contains("exported 4 machine(s)"), "{shown}");
    let quiet = pty(format!(
        "{bin} -s '{s}' export --all --include-disks -r {r} -o b.mbundle -q"
    ));
    assert!(
        !quiet.contains("exporting") && !quiet.contains("exported"),
        "{quiet}"
    );
    let shown = pty(format!(
        "{bin} -s '{}' import a.mbundle -i '{}'",
        dir.path("t").display(),
        k.display()
    ));
    assert!(shown.contains("importing"), "{shown}");
    assert!(
        shown.contains("files,") && shown.contains("written in"),
        "{shown}"
    );
    // Not a terminal: the summary only, no bar.
    let piped = dir.export_demo(&store, "c.mbundle", &["--all"]).ok();
    assert!(
        !piped.stderr.contains("exporting") && piped.stderr.contains("exported 4 machine(s)"),
        "{}",
        piped.stderr
    );
}
