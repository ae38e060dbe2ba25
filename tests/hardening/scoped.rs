//! A scoped share's CA key never leaves the store: not in the teammate's bundle, not in any
//! backup or other share made after it, not in what inspect or share --json print; a bundle
//! cannot plant a scoped share; revoke refuses a teammate it has no share for.

use std::fs;

use crate::util::*;

/// The distinctive middle of a PEM key's body (past the prefix all P-256 PKCS#8 keys share).
fn key_line(pem: &str) -> String {
    pem.lines().nth(2).unwrap().to_string()
}

#[test]
fn a_scoped_share_ca_key_never_leaves_the_store() {
    let d = Dir::new();
    let store = d.materialize_alice();
    let s = store.to_str().unwrap();
    let r = demo_recipient();
    let out = d.path("bob.mbundle");
    let run = d.run(&[
        "-s",
        s,
        "share",
        "web",
        "--as",
        "bob",
        "--scoped",
        "-r",
        &r,
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shares: Vec<_> = fs::read_dir(store.join("scoped-shares"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let key = key_line(&fs::read_to_string(shares[0].join("ca-key.pem")).unwrap());
    assert!(!run.stdout.contains(&key));
    // Every bundle made from this store afterwards: a backup of everything, another share.
    let backup = d.path("all.mbundle");
    d.run(&[
        "-s",
        s,
        "export",
        "--all",
        "-r",
        &r,
        "-o",
        backup.to_str().unwrap(),
    ])
    .ok();
    let carol = d.path("carol.mbundle");
    d.run(&[
        "-s",
        s,
        "share",
        "web",
        "db",
        "--as",
        "carol",
        "--yes",
        "-r",
        &r,
        "-o",
        carol.to_str().unwrap(),
    ])
    .ok();
    for b in [&out, &backup, &carol] {
        for (path, bytes) in decrypt_entries(&fs::read(b).unwrap(), &demo_key()) {
            assert!(!path.contains("scoped-shares"), "{path}");
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(&key),
                "the share CA key is in {} at {path}",
                b.display()
            );
        }
        let i = d.run(&[
            "inspect",
            b.to_str().unwrap(),
            "-i",
            demo_key().to_str().unwrap(),
            "--json",
        ]);
        assert!(!i.stdout.contains(&key));
    }
    // Copying web's files by hand would drop Bob's CA from its host: regenerate-certs says so.
    let regen = d.run(&["-s", s, "regenerate-certs", "web"]);
    assert!(
        regen
            .stdout
            .contains("the CA of the scoped share(s) of bob"),
        "{}",
        regen.stdout
    );
    // A non-scoped share warns that it opens the other machines; a scoped one did not need to.
    assert!(!run.stderr.contains("would also open"), "{}", run.stderr);
    // The teammate's store keeps no key of the share either: only its CA certificate.
    let bob = d.path("bob-store");
    d.run(&[
        "-s",
        bob.to_str().unwrap(),
        "import",
        out.to_str().unwrap(),
        "-i",
        demo_key().to_str().unwrap(),
    ])
    .ok();
    // Bob cannot open the machine to a third person with a scoped share of his own.
    let again = d.run(&[
        "-s",
        bob.to_str().unwrap(),
        "share",
        "web",
        "--as",
        "carol",
        "--scoped",
        "-r",
        &r,
        "-o",
        d.path("carol-from-bob.mbundle").to_str().unwrap(),
    ]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("only its owner can open it"),
        "{}",
        again.stderr
    );
    assert!(!d.path("carol-from-bob.mbundle").exists());
    assert!(!bob.join("scoped-shares").exists());
    let grep = std::process::Command::new("grep")
        .args(["-rlF", "--", &key])
        .arg(&bob)
        .output()
        .unwrap();
    assert!(
        grep.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&grep.stdout)
    );
}

#[test]
fn revoke_without_a_scoped_share_changes_nothing() {
    let d = Dir::new();
    let store = d.materialize_alice();
    let before = tree(&store);
    let r = d.run(&["-s", store.to_str().unwrap(), "revoke", "mallory", "--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no scoped share for \"mallory\""),
        "{}",
        r.stderr
    );
    assert_eq!(tree(&store), before);
    let l = d.run(&["-s", store.to_str().unwrap(), "shares"]);
    assert_eq!(l.code, 0, "{}", l.stderr);
    assert!(l.stderr.contains("no scoped shares"), "{}", l.stderr);
}

#[test]
fn a_scoped_share_record_that_does_not_hold_up_is_named_and_not_trusted() {
    let d = Dir::new();
    let store = d.materialize_alice();
    let s = store.to_str().unwrap();
    let out = d.path("bob.mbundle");
    let r = d.run(&[
        "-s",
        s,
        "share",
        "web",
        "--as",
        "bob",
        "--scoped",
        "-r",
        &demo_recipient(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A planted record naming a machine outside machines/, with a terminal escape.
    let evil = store.join("scoped-shares/evil");
    fs::create_dir_all(&evil).unwrap();
    fs::write(
        evil.join("share.json"),
        r#"{"user":"eve\u001b[2J","machines":["../../etc"],"created_at":"2026-12-06T10:00:00Z","not_after":"2029-11-20T10:00:00Z","ca_fingerprint":"x"}"#,
    )
    .unwrap();
    fs::write(evil.join("ca.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
    let ls = d.run(&["-s", s, "ls"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    assert!(ls.stdout.contains("bob opens web until"), "{}", ls.stdout);
    assert!(
        ls.stderr.contains("scoped-shares/evil/share.json"),
        "{}",
        ls.stderr
    );
    assert!(!ls.stderr.contains('\u{1b}') && !ls.stdout.contains('\u{1b}'));
    let shares = d.run(&["-s", s, "shares"]);
    assert_eq!(shares.code, 1, "{}", shares.stderr);
    assert!(shares.stdout.contains("bob"), "{}", shares.stdout);
    assert!(!shares.stdout.contains("eve"), "{}", shares.stdout);
    assert!(
        shares.stderr.contains("evil/share.json"),
        "{}",
        shares.stderr
    );
}
