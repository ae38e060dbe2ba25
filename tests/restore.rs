//! Restore as people really restore (issue 12): a fresh laptop, one machine from a full
//! backup, idempotent re-import, "is my backup current?".

use std::fs;

use crate::util::*;

#[test]
fn a_fresh_laptop_has_an_empty_store_not_an_error() {
    let d = Dir::new();
    // HOME is the temp dir: ~/.docker/machine does not exist.
    let r = d.run(&["ls"]).ok();
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("no machines in"), "{}", r.stderr);
    let ls: serde_json::Value =
        serde_json::from_str(&d.run(&["ls", "--json"]).ok().stdout).unwrap();
    assert_eq!(ls["machines"], serde_json::json!([]));
    let r = d.run(&["doctor"]).ok();
    assert!(r.stderr.contains("no machines"), "{}", r.stderr);
    d.run(&["env", "web"])
        .fails(2, &["no machine named web", "this store has no machines"]);
    assert!(!d.path(".docker").exists(), "looking created the store");
    // Import creates it, with docker-machine's modes.
    let src = d.copy_fixture(LINUX, "src");
    d.export_demo(&src, "web.mbundle", &["web"]).ok();
    let store = d.path(".docker/machine");
    let key = demo_key();
    d.run(&["import", "web.mbundle", "-i", key.to_str().unwrap()])
        .ok();
    #[cfg(unix)]
    for dir in [
        ".docker",
        ".docker/machine",
        ".docker/machine/machines",
        ".docker/machine/certs",
    ] {
        assert_eq!(mode(&d.path(dir)), 0o700, "{dir}");
    }
    assert!(store.join("machines/web/config.json").is_file());
    assert!(d.run(&["ls"]).ok().stdout.contains("web"));
    // Only a store path that exists and is not a directory is an error.
    fs::write(d.path("afile"), "x").unwrap();
    for cmd in ["ls", "doctor"] {
        d.run(&["-s", d.path("afile").to_str().unwrap(), cmd])
            .fails(1, &["not a directory"]);
    }
}

/// A full backup of alice's store (materialized where it lives), its path, and the store.
fn full_backup(d: &Dir) -> (std::path::PathBuf, String) {
    let store = d.materialize_alice();
    d.export_demo(&store, "backup.mbundle", &["--all"]).ok();
    (store, "backup.mbundle".to_string())
}

#[test]
fn one_machine_comes_back_from_a_full_backup() {
    let d = Dir::new();
    let (store, backup) = full_backup(&d);
    let s = store.to_str().unwrap();
    let before_web = tree(&store.join("machines/web"));
    fs::remove_dir_all(store.join("machines/web")).unwrap();
    let others = tree(&store);
    // Just web: restored, with its cert set reused, nothing else touched.
    let dry = d.import_demo(&store, &backup, &["web", "--dry-run"]).ok();
    assert!(dry.stdout.contains("machine web:"), "{}", dry.stdout);
    assert!(!dry.stdout.contains("machine db"), "{}", dry.stdout);
    assert_eq!(tree(&store), others, "--dry-run wrote");
    let r = d.import_demo(&store, &backup, &["web"]).ok();
    assert!(r.stdout.contains("imported 1 machine(s)"), "{}", r.stdout);
    assert!(r.stdout.contains("identical to"), "{}", r.stdout);
    let mut after = tree(&store);
    let web: std::collections::BTreeMap<String, String> = after
        .iter()
        .filter(|(k, _)| k.starts_with("machines/web"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    after.retain(|k, _| !k.starts_with("machines/web"));
    assert_eq!(after, others, "importing web changed something else");
    // The same files come back (config.json as docker-machine's JSON: same values).
    let restored: Vec<&str> = web
        .keys()
        .filter_map(|k| k.strip_prefix("machines/web/"))
        .collect();
    let lost: Vec<&str> = before_web.keys().map(String::as_str).collect();
    assert_eq!(restored, lost);
    d.run(&["-s", s, "env", "web"]).ok();
    d.run(&["-s", s, "doctor", "web"]).ok();
    // The whole backup does it too: web comes back, the others are there already.
    fs::remove_dir_all(store.join("machines/web")).unwrap();
    let r = d.import_demo(&store, &backup, &[]).ok();
    assert!(r.stdout.contains("imported 1 machine(s)"), "{}", r.stdout);
    for m in ["db", "edge", "vbox"] {
        assert!(
            r.stdout
                .contains(&format!("machine {m}: already present, identical")),
            "{}",
            r.stdout
        );
    }
    assert!(store.join("machines/web/config.json").is_file());
}

#[test]
fn named_machines_bring_only_their_cert_sets() {
    let d = Dir::new();
    let (_, backup) = full_backup(&d);
    let target = d.path("fresh");
    // edge uses the custom Acme CA: only that set comes, not the store's certs/.
    let r = d.import_demo(&target, &backup, &["edge"]).ok();
    assert!(r.stdout.contains("imported 1 machine(s)"), "{}", r.stdout);
    assert!(!target.join("certs").exists(), "{}", r.stdout);
    assert!(target.join("imported-certs").is_dir() || target.join("certs").is_dir());
    assert!(!target.join("machines/web").exists());
    // Several names, and --rename with them.
    let t2 = d.path("two");
    d.import_demo(&t2, &backup, &["web", "db", "--rename", "web=web-old"])
        .ok();
    assert!(t2.join("machines/web-old/config.json").is_file());
    assert!(t2.join("machines/db/config.json").is_file());
    assert!(!t2.join("machines/edge").exists());
}

#[test]
fn a_name_the_bundle_lacks_lists_what_it_has() {
    let d = Dir::new();
    let (_, backup) = full_backup(&d);
    let target = d.path("t");
    for extra in [&["nosuch"][..], &["web", "nosuch", "--dry-run"][..]] {
        d.import_demo(&target, &backup, extra).fails(
            2,
            &[
                "the bundle has no machine named nosuch",
                "machines in the bundle: db, edge, vbox, web",
            ],
        );
    }
    // A rename of a machine not being imported says so.
    d.import_demo(&target, &backup, &["web", "--rename", "db=db2"])
        .fails(2, &["db is not among the machines being imported"]);
    assert!(!target.exists());
    // inspect and --help say how.
    let key = demo_key();
    let r = d
        .run(&["inspect", &backup, "-i", key.to_str().unwrap()])
        .ok();
    assert!(
        r.stdout.contains("mbundle import FILE NAME..."),
        "{}",
        r.stdout
    );
    let h = d.run(&["import", "--help"]).ok();
    assert!(
        h.stdout.contains("[NAME]...") && h.stdout.contains("just web, from a full backup"),
        "{}",
        h.stdout
    );
}

#[test]
fn re_importing_a_backup_into_its_store_changes_nothing_and_says_so() {
    let d = Dir::new();
    for custom_paths in [true, false] {
        // Both a store whose config.json names where it lives, and a copied one that still
        // names /home/alice (bundle and store agree either way).
        let store = if custom_paths {
            d.materialize_alice()
        } else {
            d.copy_fixture(LINUX, "copied")
        };
        d.export_demo(&store, "b.mbundle", &["--all", "--force"])
            .ok();
        let before = tree(&store);
        let dry = d.import_demo(&store, "b.mbundle", &["--dry-run"]).ok();
        assert!(
            dry.stdout
                .contains("machine web: already present, identical"),
            "{}",
            dry.stdout
        );
        let r = d.import_demo(&store, "b.mbundle", &[]).ok();
        assert!(
            r.stdout
                .contains("nothing to import: everything in the bundle is already in"),
            "{}",
            r.stdout
        );
        for m in ["db", "edge", "vbox", "web"] {
            assert!(r
                .stdout
                .contains(&format!("machine {m}: already present, identical")));
        }
        assert_eq!(
            tree(&store),
            before,
            "an identical re-import changed the store"
        );
        // Selectively too.
        let r = d.import_demo(&store, "b.mbundle", &["web"]).ok();
        assert!(r.stdout.contains("machine web: already present, identical"));
        assert_eq!(tree(&store), before);
    }
}

#[test]
fn a_machine_that_differs_stays_a_conflict_that_names_the_files() {
    let d = Dir::new();
    let store = d.materialize_alice();
    d.export_demo(&store, "b.mbundle", &["--all"]).ok();
    // A regenerated server certificate on web.
    fs::copy(
        store.join("machines/db/server.pem"),
        store.join("machines/web/server.pem"),
    )
    .unwrap();
    let before = tree(&store);
    d.import_demo(&store, "b.mbundle", &["web"]).fails(
        1,
        &[
            "machine web already exists",
            "differs from the bundle's (server.pem)",
        ],
    );
    assert_eq!(tree(&store), before);
    // A changed config.json on db: found once the bundle's is rewritten.
    let cfg = store.join("machines/db/config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&cfg).unwrap()).unwrap();
    v["Driver"]["InstanceType"] = "t3.large".into();
    fs::write(&cfg, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let before = tree(&store);
    for extra in [&["db"][..], &["db", "--dry-run"][..]] {
        d.import_demo(&store, "b.mbundle", extra)
            .fails(1, &["machine db already exists", "(config.json)"]);
    }
    assert_eq!(tree(&store), before);
}

#[test]
fn a_local_vm_without_its_disks_is_said_to_be_incomplete() {
    let d = Dir::new();
    let src = d.copy_fixture(LINUX, "src");
    d.export_demo(&src, "thin.mbundle", &["vbox"]).ok();
    d.export_demo(&src, "full.mbundle", &["vbox", "--include-disks"])
        .ok();
    let thin = d.path("thin");
    let r = d.import_demo(&thin, "thin.mbundle", &[]).ok();
    assert!(
        r.stderr.contains("machine vbox runs a local virtualbox VM, but the bundle left out its disk images and VM folder (boot2docker.iso, disk.vmdk"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--include-disks"), "{}", r.stderr);
    let doc = d
        .run(&["-s", thin.to_str().unwrap(), "doctor", "vbox"])
        .ok();
    assert!(
        doc.stdout.contains("no disk image or VM folder"),
        "{}",
        doc.stdout
    );
    // With the disks: no such warning, and doctor is content.
    let full = d.path("full");
    let r = d.import_demo(&full, "full.mbundle", &[]).ok();
    assert!(
        !r.stderr.contains("left out its disk images"),
        "{}",
        r.stderr
    );
    let doc = d
        .run(&["-s", full.to_str().unwrap(), "doctor", "vbox"])
        .ok();
    assert!(!doc.stdout.contains("no disk image"), "{}", doc.stdout);
    // A cloud machine has no VM here to miss.
    d.export_demo(&src, "db.mbundle", &["db"]).ok();
    let r = d.import_demo(&d.path("db"), "db.mbundle", &[]).ok();
    assert!(!r.stderr.contains("local"), "{}", r.stderr);
}

#[test]
fn diff_says_whether_a_backup_is_current() {
    let d = Dir::new();
    let store = d.materialize_alice();
    let s = store.to_str().unwrap();
    d.export_demo(&store, "b.mbundle", &["--all"]).ok();
    let key = demo_key();
    let k = key.to_str().unwrap();
    let diff = |extra: &[&str]| {
        let mut args = vec!["-s", s, "diff", "b.mbundle", "-i", k];
        args.extend_from_slice(extra);
        d.run(&args)
    };
    let r = diff(&[]).ok();
    assert!(r.stdout.contains("the bundle is current"), "{}", r.stdout);
    let before = tree(&store);
    // A regenerated certificate, a new machine, a lost one, a renewed CA.
    fs::copy(
        store.join("machines/db/server.pem"),
        store.join("machines/web/server.pem"),
    )
    .unwrap();
    copy_tree(&store.join("machines/db"), &store.join("machines/db2"));
    fs::remove_dir_all(store.join("machines/vbox")).unwrap();
    let cfg = store.join("machines/edge/config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&cfg).unwrap()).unwrap();
    v["Driver"]["SSHUser"] = "admin".into();
    fs::write(&cfg, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    d.run(&["-s", s, "renew-ca"]).ok();
    let changed = tree(&store);
    // An answer, not an error: exit 1, nothing on standard error.
    let r = diff(&[]).fails(1, &[]);
    assert_eq!(r.stderr, "", "{}", r.stderr);
    for needle in [
        "only in the store (not backed up): db2",
        "changed since the bundle: edge (config.json)",
        "only in the bundle: vbox",
        "the store's certs/ (its CA) is not in the bundle",
        "the bundle is NOT current",
    ] {
        assert!(r.stdout.contains(needle), "{needle}:\n{}", r.stdout);
    }
    assert!(
        r.stdout.contains("changed since the bundle: web ("),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("server.pem"), "{}", r.stdout);
    let j = diff(&["--json"]);
    assert_eq!(j.code, 1);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["current"], false);
    assert_eq!(v["only_in_store"][0], "db2");
    assert_eq!(v["only_in_bundle"][0], "vbox");
    // -q: only the exit status, for cron.
    let q = diff(&["-q"]);
    assert_eq!((q.code, q.stdout.as_str(), q.stderr.as_str()), (1, "", ""));
    // diff writes nothing.
    assert_eq!(tree(&store), changed);
    let _ = before;
    // A bundle from another computer (config.json naming /home/alice/...) compares as
    // current with the store it was imported into, where every path was rewritten.
    let d2 = Dir::new();
    d2.export_demo(&fixtures().join(LINUX), "other.mbundle", &["web", "db"])
        .ok();
    let fresh = d2.path("fresh");
    d2.import_demo(&fresh, "other.mbundle", &[]).ok();
    let r = d2
        .run(&[
            "-s",
            fresh.to_str().unwrap(),
            "diff",
            "other.mbundle",
            "-i",
            k,
        ])
        .ok();
    assert!(r.stdout.contains("the bundle is current"), "{}", r.stdout);
    // Usage errors exit 2.
    d.run(&["-s", s, "diff"]).fails(2, &[]);
}

#[test]
fn restoring_from_a_windows_recorded_store() {
    let d = Dir::new();
    let src = d.copy_fixture(WINDOWS, "win");
    let names: Vec<String> = fs::read_dir(src.join("machines"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.len() >= 2, "{names:?}");
    d.export_demo(&src, "win.mbundle", &["--all"]).ok();
    let target = d.path("linux-laptop");
    // One machine, then the whole backup: the first is already there, identical.
    d.import_demo(&target, "win.mbundle", &[&names[0]]).ok();
    let r = d.import_demo(&target, "win.mbundle", &[]).ok();
    assert!(
        r.stdout
            .contains(&format!("machine {}: already present, identical", names[0])),
        "{}",
        r.stdout
    );
    let before = tree(&target);
    let r = d.import_demo(&target, "win.mbundle", &[]).ok();
    assert!(r.stdout.contains("nothing to import"), "{}", r.stdout);
    assert_eq!(tree(&target), before);
    // And the backup is current with the store it restored, C:\ paths and all.
    let key = demo_key();
    let r = d
        .run(&[
            "-s",
            target.to_str().unwrap(),
            "diff",
            "win.mbundle",
            "-i",
            key.to_str().unwrap(),
        ])
        .ok();
    assert!(r.stdout.contains("the bundle is current"), "{}", r.stdout);
}
