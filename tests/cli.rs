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
    let edge = v
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
    let remote = v
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
