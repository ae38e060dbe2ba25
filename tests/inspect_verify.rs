//! inspect and verify: what they show, what they refuse, and that they write nothing.

use std::fs;

use crate::util::*;

fn make_bundle(dir: &Dir, store: &str, out: &str) -> Vec<u8> {
    let store = fixtures().join(store);
    dir.export_demo(&store, out, &["--all"]).ok();
    fs::read(dir.path(out)).unwrap()
}

fn key() -> String {
    demo_key().to_str().unwrap().to_string()
}

#[test]
fn inspect_shows_the_contents_but_never_credentials() {
    let dir = Dir::new();
    make_bundle(&dir, LINUX, "b.mbundle");
    let before = walk(dir.root());
    let text = dir.run(&["inspect", "b.mbundle", "-i", &key()]).ok().stdout;
    for needle in [
        "source:   linux store /home/alice/.docker/machine",
        "db    amazonec2",
        "tcp://203.0.113.10:2376",
        "CA \"alice\"  sha256:",
        "CA expires 2100-",
        "absent: ca-key.pem",
        "machines/vbox/disk.vmdk",
        "VM disk image",
    ] {
        assert!(text.contains(needle), "inspect lacks {needle:?}:\n{text}");
    }
    let json = dir
        .run(&["inspect", "b.mbundle", "-i", &key(), "--json"])
        .ok()
        .stdout;
    // db's config.json holds an AWS key pair; neither view may show it.
    for secret in [
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI",
        "BEGIN RSA PRIVATE KEY",
        "tcuser",
    ] {
        assert!(!text.contains(secret), "inspect printed {secret}");
        assert!(!json.contains(secret), "inspect --json printed {secret}");
    }
    assert_eq!(walk(dir.root()), before, "inspect wrote something");
}

#[test]
fn inspect_reads_standard_input() {
    let dir = Dir::new();
    let bytes = make_bundle(&dir, MACOS, "m.mbundle");
    let run = dir.run_stdin(&["inspect", "-", "-i", &key()], &bytes).ok();
    assert!(
        run.stdout.contains("bundle:   standard input"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("macos store /Users/carol/.docker/machine"),
        "{}",
        run.stdout
    );
}

#[test]
fn verify_passes_a_sound_bundle_and_writes_nothing() {
    let dir = Dir::new();
    let bytes = make_bundle(&dir, WINDOWS, "w.mbundle");
    let before = walk(dir.root());
    let run = dir.run(&["verify", "w.mbundle", "-i", &key()]).ok();
    assert!(
        run.stdout.starts_with("OK: w.mbundle: all "),
        "{}",
        run.stdout
    );
    assert_eq!(walk(dir.root()), before);
    dir.run_stdin(&["verify", "-", "-i", &key()], &bytes).ok();
}

#[test]
fn verify_catches_a_changed_byte() {
    let dir = Dir::new();
    let bytes = make_bundle(&dir, LINUX, "b.mbundle");
    let mut entries = decrypt_entries(&bytes, &demo_key());
    let (_, data) = entries
        .iter_mut()
        .find(|(p, _)| p == "machines/web/server.pem")
        .unwrap();
    data[100] ^= 0x20;
    fs::write(dir.path("bad.mbundle"), craft_bundle(&entries)).unwrap();
    dir.run(&["verify", "bad.mbundle", "-i", &key()]).fails(
        1,
        &["checksum mismatch for machines/web/server.pem", "hint:"],
    );
}

#[test]
fn verify_refuses_extra_missing_and_linked_entries() {
    let dir = Dir::new();
    let bytes = make_bundle(&dir, LINUX, "b.mbundle");
    let entries = decrypt_entries(&bytes, &demo_key());

    let mut extra = entries.clone();
    extra.push(("machines/web/evil".into(), b"x".to_vec()));
    fs::write(dir.path("extra.mbundle"), craft_bundle(&extra)).unwrap();
    dir.run(&["verify", "extra.mbundle", "-i", &key()])
        .fails(1, &["\"machines/web/evil\" is not listed in the manifest"]);

    let mut missing = entries.clone();
    missing.retain(|(p, _)| p != "machines/db/id_rsa");
    fs::write(dir.path("missing.mbundle"), craft_bundle(&missing)).unwrap();
    dir.run(&["verify", "missing.mbundle", "-i", &key()])
        .fails(1, &["machines/db/id_rsa", "missing from the archive"]);

    let mut dup = entries.clone();
    dup.push(entries[3].clone());
    fs::write(dir.path("dup.mbundle"), craft_bundle(&dup)).unwrap();
    dir.run(&["verify", "dup.mbundle", "-i", &key()])
        .fails(1, &["appears twice"]);

    let mut reordered = entries.clone();
    reordered.swap(0, 1);
    fs::write(dir.path("order.mbundle"), craft_bundle(&reordered)).unwrap();
    dir.run(&["verify", "order.mbundle", "-i", &key()])
        .fails(1, &["not mbundle.json"]);
}

#[test]
fn not_a_bundle_wrong_key_and_truncation_are_told_apart() {
    let dir = Dir::new();
    let bytes = make_bundle(&dir, LINUX, "b.mbundle");
    let entries = decrypt_entries(&bytes, &demo_key());

    // A plain tar.gz, as someone might send instead.
    fs::write(dir.path("plain.tar.gz"), gzip(&plain_tar(&entries[..1]))).unwrap();
    dir.run(&["verify", "plain.tar.gz", "-i", &key()]).fails(
        1,
        &[
            "not an age-encrypted mbundle bundle",
            "plain tar.gz is not a bundle",
        ],
    );

    // Someone else's key.
    fs::write(
        dir.path("other.txt"),
        "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n",
    )
    .unwrap();
    dir.run(&["verify", "b.mbundle", "-i", "other.txt"])
        .fails(1, &["none of the identities"]);

    // Cut short: damaged or truncated (the hardening issue: no longer "tampered").
    fs::write(dir.path("cut.mbundle"), &bytes[..bytes.len() - 100]).unwrap();
    let r = dir.run(&["verify", "cut.mbundle", "-i", &key()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("is damaged or truncated"), "{}", r.stderr);

    // A public key where the identity belongs.
    dir.run(&["verify", "b.mbundle", "-i", demo_recipient_path().as_str()])
        .fails(2, &["public key"]);
    dir.run(&["verify", "b.mbundle"])
        .fails(2, &["no identity was given", "hint: add -i"]);
}

fn demo_recipient_path() -> String {
    fixtures()
        .join("demo/recipient.txt")
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_bundle_from_the_future_says_upgrade() {
    let dir = Dir::new();
    let bytes = make_bundle(&dir, LINUX, "b.mbundle");
    let mut entries = decrypt_entries(&bytes, &demo_key());
    let mut m: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    m["format_version"] = 2.into();
    entries[0].1 = serde_json::to_vec(&m).unwrap();
    fs::write(dir.path("future.mbundle"), craft_bundle(&entries)).unwrap();
    dir.run(&["inspect", "future.mbundle", "-i", &key()])
        .fails(1, &["format version 2 is newer", "upgrade mbundle"]);
}
