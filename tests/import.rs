//! Import: round trips across every fixture store, cert placement, path rewriting, conflicts,
//! permissions, and the transaction rule (any failure leaves the store as it was).

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::*;

fn config(store: &Path, machine: &str) -> serde_json::Value {
    serde_json::from_slice(
        &fs::read(store.join("machines").join(machine).join("config.json")).unwrap(),
    )
    .unwrap()
}

fn strings(v: &serde_json::Value, out: &mut Vec<(String, String)>, field: &str) {
    match v {
        serde_json::Value::String(s) => out.push((field.to_string(), s.clone())),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out, field)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| strings(x, out, k)),
        _ => {}
    }
}

/// After import: every string naming something under the new store exists (but for the
/// ones the bundle says were absent), and nothing still names the old store.
fn assert_config_points_home(store: &Path, machine: &str, old_store: &str, may_be_absent: &[&str]) {
    let cfg = config(store, machine);
    let mut all = Vec::new();
    strings(&cfg, &mut all, "");
    let root = store.to_str().unwrap();
    let old_lower = old_store.to_lowercase().replace('\\', "/");
    for (field, s) in &all {
        if field.ends_with("RemotePath")
            || field == "VolumeDevicePath"
            || field.contains("Password")
        {
            continue;
        }
        assert!(
            !s.to_lowercase().replace('\\', "/").starts_with(&old_lower),
            "{machine}: {field} still names the old store: {s}"
        );
        if s.starts_with(root) && !may_be_absent.contains(&field.as_str()) {
            assert!(
                Path::new(s).exists(),
                "{machine}: {field} = {s} does not exist"
            );
        }
    }
}

#[cfg(unix)]
fn assert_private(store: &Path) {
    for (rel, v) in tree(store) {
        let name = rel.rsplit('/').next().unwrap();
        if v.starts_with("dir") {
            assert!(v.starts_with("dir 700"), "{rel}: {v}");
        } else if name.ends_with("key.pem") || name == "id_rsa" || name == "config.json" {
            assert!(v.starts_with("file 600 "), "{rel}: {v}");
        } else {
            assert!(
                v.starts_with("file 644 ") || v.starts_with("file 600 "),
                "{rel}: {v}"
            );
        }
    }
}

#[test]
fn every_fixture_store_round_trips_into_a_fresh_store() {
    for (fixture, old_root) in [
        (LINUX, "/home/alice/.docker/machine"),
        (WINDOWS, "C:\\Users\\José\\.docker\\machine"),
        (MACOS, "/Users/carol/.docker/machine"),
        (QUIRKS, "/home/dave/.docker/machine"),
    ] {
        let dir = Dir::new();
        let src = fixtures().join(fixture);
        dir.export_demo(&src, "b.mbundle", &["--all", "--include-disks"])
            .ok();
        // A fresh laptop: not even ~/.docker exists.
        let target = dir.path("newhome/bob/.docker/machine");
        let run = dir.import_demo(&target, "b.mbundle", &[]).ok();
        assert!(run.stdout.contains("imported"), "{}", run.stdout);
        for name in fs::read_dir(src.join("machines"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
        {
            let name = name.to_str().unwrap();
            // Every file but config.json is the source's, byte for byte.
            for f in walk(&src.join("machines").join(name)) {
                let rel = f.strip_prefix(&src).unwrap();
                let got =
                    fs::read(target.join(rel)).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
                if rel.file_name().unwrap() != "config.json" {
                    assert_eq!(got, fs::read(&f).unwrap(), "{}", rel.display());
                }
            }
            let absent = [
                "ServerCertPath",
                "ServerKeyPath",
                "CaPrivateKeyPath",
                "PrivateKeyPath",
            ];
            assert_config_points_home(&target, name, old_root, &absent);
        }
        #[cfg(unix)]
        assert_private(&dir.path("newhome"));
        // The default set became certs/ (there was none), and ls reads the result.
        if fixture != QUIRKS {
            assert_eq!(
                fs::read(target.join("certs/ca.pem")).unwrap(),
                fs::read(src.join("certs/ca.pem")).unwrap()
            );
        }
        let ls = dir.run(&["-s", target.to_str().unwrap(), "ls"]).ok().stdout;
        assert!(!ls.contains("none found") && !ls.contains("error"), "{ls}");
    }
}

#[test]
fn windows_paths_become_linux_paths() {
    let dir = Dir::new();
    dir.export_demo(&fixtures().join(WINDOWS), "w.mbundle", &["--all"])
        .ok();
    let target = dir.path("srv/dm");
    dir.import_demo(&target, "w.mbundle", &[]).ok();
    let t = target.to_str().unwrap();
    let hv = config(&target, "hv");
    assert_eq!(
        hv["Driver"]["SSHKeyPath"],
        format!("{t}/machines/hv/id_rsa")
    );
    assert_eq!(hv["Driver"]["StorePath"], t);
    assert_eq!(
        hv["HostOptions"]["AuthOptions"]["CaCertPath"],
        format!("{t}/certs/ca.pem")
    );
    assert_eq!(
        hv["HostOptions"]["AuthOptions"]["StorePath"],
        format!("{t}/machines/hv")
    );
    // The user's own SSH key on the Windows laptop is not carried and stays as it was.
    let devbox = config(&target, "devbox");
    assert_eq!(devbox["Driver"]["SSHKey"], "C:\\Users\\José\\.ssh\\id_rsa");
    // docker-machine's formatting is kept: 4-space indentation, no trailing newline.
    let text = fs::read_to_string(target.join("machines/hv/config.json")).unwrap();
    assert!(
        text.starts_with("{\n    \"ConfigVersion\": 3,\n    \"Driver\": {\n        \"IPAddress\""),
        "{text}"
    );
    assert!(!text.ends_with('\n'));
}

/// A copy of a fixture store whose config.json files are rewritten with `edits`
/// (plain text replacements), for stores "created" elsewhere.
fn variant(dir: &Dir, fixture: &str, to: &str, edits: &[(&str, &str)]) -> PathBuf {
    let store = dir.copy_fixture(fixture, to);
    for f in walk(&store.join("machines")) {
        if f.file_name().unwrap() == "config.json" {
            let mut text = fs::read_to_string(&f).unwrap();
            for (a, b) in edits {
                text = text.replace(a, b);
            }
            fs::write(&f, text).unwrap();
        }
    }
    store
}

#[test]
fn custom_storage_paths_on_both_ends() {
    let dir = Dir::new();
    // A Windows store created with MACHINE_STORAGE_PATH=D:\dm.
    let src = variant(
        &dir,
        WINDOWS,
        "d-dm",
        &[
            ("C:\\\\Users\\\\José\\\\.docker\\\\machine", "D:\\\\dm"),
            ("c:\\\\Users\\\\José\\\\.docker\\\\machine", "D:\\\\dm"),
        ],
    );
    dir.export_demo(&src, "d.mbundle", &["--all"]).ok();
    let m = manifest_json(&dir, "d.mbundle");
    assert_eq!(m["source"]["store"], "D:\\dm");
    assert_eq!(
        m["certsets"][0]["members"].as_array().unwrap().len(),
        4,
        "certs found through D:\\dm"
    );
    let target = dir.path("srv/dm");
    dir.import_demo(&target, "d.mbundle", &[]).ok();
    let hv = config(&target, "hv");
    assert_eq!(
        hv["HostOptions"]["AuthOptions"]["ClientKeyPath"],
        format!("{}/certs/key.pem", target.display())
    );
    assert_config_points_home(&target, "devbox", "D:\\dm", &[]);
}

#[test]
fn rewriting_stops_at_component_boundaries_and_spares_look_alikes() {
    let dir = Dir::new();
    // Store of user "al"; the config also names /home/alice/... and a sibling directory.
    let src = variant(
        &dir,
        LINUX,
        "al",
        &[
            ("/home/alice/.docker/machine", "/home/al/.docker/machine"),
            (
                "\"SSHKey\": \"/home/alice/.ssh/id_rsa\"",
                "\"SSHKey\": \"/home/alice/.ssh/id_rsa\",\n        \"UserDataFile\": \"/home/al/.docker/machine2/cloud.yml\",\n        \"VolumeDevicePath\": \"/home/al/.docker/machine/machines/web/vol\",\n        \"SSHPassword\": \"/home/al/.docker/machine\\\\pw\",\n        \"URL\": \"tcp://203.0.113.10:2376\",\n        \"Empty\": \"\"",
            ),
            (
                "\"ServerCertRemotePath\": \"\"",
                "\"ServerCertRemotePath\": \"/home/al/.docker/machine/certs/server.pem\"",
            ),
        ],
    );
    dir.export_demo(&src, "al.mbundle", &["web"]).ok();
    let target = dir.path("home/bob/.docker/machine");
    dir.import_demo(&target, "al.mbundle", &[]).ok();
    let web = config(&target, "web");
    let d = &web["Driver"];
    assert_eq!(d["SSHKey"], "/home/alice/.ssh/id_rsa");
    assert_eq!(d["UserDataFile"], "/home/al/.docker/machine2/cloud.yml");
    assert_eq!(
        d["VolumeDevicePath"],
        "/home/al/.docker/machine/machines/web/vol"
    );
    assert_eq!(d["SSHPassword"], "/home/al/.docker/machine\\pw");
    assert_eq!(d["URL"], "tcp://203.0.113.10:2376");
    assert_eq!(d["Empty"], "");
    assert_eq!(
        d["SSHKeyPath"],
        format!("{}/machines/web/id_rsa", target.display())
    );
    assert_eq!(
        web["HostOptions"]["AuthOptions"]["ServerCertRemotePath"],
        "/home/al/.docker/machine/certs/server.pem"
    );
}

#[test]
fn into_a_store_with_other_certs_and_machines() {
    let dir = Dir::new();
    dir.export_demo(&fixtures().join(LINUX), "a.mbundle", &["--all"])
        .ok();
    let target = dir.copy_fixture(MACOS, "carol");
    let before = tree(&target);
    let out = dir.import_demo(&target, "a.mbundle", &[]).ok().stdout;
    assert!(out.contains("beside certs/"), "{out}");
    // carol's own things are untouched.
    let after = tree(&target);
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{k} changed");
    }
    // alice's default CA went beside certs/, and web points there.
    let web = config(&target, "web");
    let ca = web["HostOptions"]["AuthOptions"]["CaCertPath"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ca.contains("/imported-certs/"), "{ca}");
    assert_eq!(
        fs::read(&ca).unwrap(),
        fs::read(fixtures().join(LINUX).join("certs/ca.pem")).unwrap()
    );
    let sets: Vec<_> = fs::read_dir(target.join("imported-certs"))
        .unwrap()
        .collect();
    assert_eq!(sets.len(), 2, "alice's default set and edge's custom CA");

    // The same CA imported again lands in the same directory, once.
    let again = dir.import_demo(
        &target,
        "a.mbundle",
        &[
            "--rename",
            "web=web-b",
            "--rename",
            "db=db-b",
            "--rename",
            "edge=edge-b",
        ],
    );
    // vbox (not renamed) is there already, identical: left alone (restore issue).
    let again = again.ok();
    assert!(
        again
            .stdout
            .contains("machine vbox: already present, identical"),
        "{}",
        again.stdout
    );
    dir.export_demo(&fixtures().join(LINUX), "w.mbundle", &["web", "edge"])
        .ok();
    let out = dir
        .import_demo(
            &target,
            "w.mbundle",
            &["--rename", "web=web-c", "--rename", "edge=edge-c"],
        )
        .ok()
        .stdout;
    assert!(out.contains("already in"), "{out}");
    assert_eq!(
        fs::read_dir(target.join("imported-certs")).unwrap().count(),
        2
    );
    let webb = config(&target, "web-c");
    assert_eq!(
        webb["HostOptions"]["AuthOptions"]["CaCertPath"],
        ca.as_str()
    );
    assert_eq!(webb["Name"], "web-c");
    assert_eq!(webb["Driver"]["MachineName"], "web-c");
    assert_eq!(
        webb["Driver"]["SSHKeyPath"],
        format!("{}/machines/web-c/id_rsa", target.display())
    );
    assert_eq!(
        webb["HostOptions"]["AuthOptions"]["StorePath"],
        format!("{}/machines/web-c", target.display())
    );
}

#[test]
fn a_set_identical_to_certs_is_reused_in_place() {
    let dir = Dir::new();
    let target = dir.copy_fixture(LINUX, "store");
    dir.export_demo(&target, "w.mbundle", &["web"]).ok();
    let out = dir
        .import_demo(&target, "w.mbundle", &["--rename", "web=web2"])
        .ok()
        .stdout;
    assert!(out.contains("identical to"), "{out}");
    assert!(!target.join("imported-certs").exists());
    let cfg = config(&target, "web2");
    assert_eq!(
        cfg["HostOptions"]["AuthOptions"]["CaCertPath"],
        format!("{}/certs/ca.pem", target.display())
    );
}

#[test]
fn conflicts_are_all_listed_and_nothing_is_written() {
    let dir = Dir::new();
    let target = dir.copy_fixture(LINUX, "store");
    dir.export_demo(&target, "b.mbundle", &["web", "db", "edge"])
        .ok();
    // The store's machines have moved on since (identical ones would just be skipped).
    for m in ["web", "db", "edge"] {
        fs::copy(
            target.join("machines/vbox/server.pem"),
            target.join("machines").join(m).join("server.pem"),
        )
        .unwrap();
    }
    // A different file where edge's cert set would go.
    let m = manifest_json(&dir, "b.mbundle");
    let edge_set = m["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "edge")
        .unwrap()["certset"]
        .as_str()
        .unwrap()
        .to_string();
    fs::create_dir_all(target.join("imported-certs").join(&edge_set)).unwrap();
    fs::write(
        target.join("imported-certs").join(&edge_set).join("ca.pem"),
        "other bytes",
    )
    .unwrap();
    let before = tree(&target);
    dir.import_demo(&target, "b.mbundle", &[]).fails(
        1,
        &[
            "4 conflict(s)",
            "machine web already exists",
            "--rename web=web-2",
            "machine db already exists",
            "ca.pem exists with other content",
            "nothing was changed",
        ],
    );
    assert_eq!(tree(&target), before);
    // Renaming fixes the names, but the file is never overwritten, under any flag.
    dir.import_demo(
        &target,
        "b.mbundle",
        &[
            "--rename", "web=w2", "--rename", "db=d2", "--rename", "edge=e2",
        ],
    )
    .fails(1, &["1 conflict(s)", "exists with other content"]);
    assert_eq!(tree(&target), before);
}

#[test]
fn renames_are_checked() {
    let dir = Dir::new();
    dir.export_demo(&fixtures().join(LINUX), "b.mbundle", &["--all"])
        .ok();
    let target = dir.path("t");
    dir.import_demo(&target, "b.mbundle", &["--rename", "vbox=vbox2"])
        .fails(
            2,
            &["cannot rename vbox", "registered under the name \"vbox\""],
        );
    dir.import_demo(&target, "b.mbundle", &["--rename", "nope=x"])
        .fails(2, &["no machine named nope", "web"]);
    dir.import_demo(&target, "b.mbundle", &["--rename", "web"])
        .fails(2, &["not OLD=NEW"]);
    dir.import_demo(&target, "b.mbundle", &["--rename", "web=../x"])
        .fails(2, &["not a machine name"]);
    dir.import_demo(&target, "b.mbundle", &["--rename", "web=db"])
        .fails(1, &["both be named db"]);
    assert!(!target.exists(), "a refused import creates nothing");
}

#[test]
fn the_machine_name_comes_from_the_manifest_not_the_file_name() {
    let dir = Dir::new();
    dir.export_demo(&fixtures().join(LINUX), "db.mbundle", &["web"])
        .ok();
    let target = dir.path("t");
    dir.import_demo(&target, "db.mbundle", &[]).ok();
    assert!(target.join("machines/web/config.json").is_file());
    assert!(!target.join("machines/db").exists());
}

#[test]
fn a_driver_without_its_plugin_imports_with_a_warning() {
    let dir = Dir::new();
    let src = variant(
        &dir,
        LINUX,
        "kvm",
        &[("\"DriverName\": \"generic\"", "\"DriverName\": \"kvm2\"")],
    );
    dir.export_demo(&src, "k.mbundle", &["web"]).ok();
    let target = dir.path("t");
    let run = dir.import_demo(&target, "k.mbundle", &[]).ok();
    assert!(
        run.stderr
            .contains("docker-machine-driver-kvm2 is not on PATH"),
        "{}",
        run.stderr
    );
    assert!(target.join("machines/web/config.json").is_file());
}

#[test]
fn dry_run_writes_nothing_and_shows_every_rewrite() {
    let dir = Dir::new();
    dir.export_demo(&fixtures().join(WINDOWS), "w.mbundle", &["--all"])
        .ok();
    let target = dir.copy_fixture(MACOS, "carol");
    let before = tree(&target);
    let out = dir
        .import_demo(&target, "w.mbundle", &["--dry-run"])
        .ok()
        .stdout;
    assert!(out.contains("dry run: nothing written"), "{out}");
    assert!(
        out.contains(
            "hv: Driver.SSHKeyPath: c:\\Users\\José\\.docker\\machine\\machines\\hv\\id_rsa -> "
        ),
        "{out}"
    );
    assert!(
        out.contains("devbox: Driver.SSHKey = C:\\Users\\José\\.ssh\\id_rsa"),
        "{out}"
    );
    assert_eq!(tree(&target), before);
    let fresh = dir.path("fresh");
    dir.import_demo(&fresh, "w.mbundle", &["-n"]).ok();
    assert!(!fresh.exists());
}

#[test]
fn keys_are_private_whatever_the_umask_and_the_bundle_claim() {
    let dir = Dir::new();
    dir.export_demo(&fixtures().join(LINUX), "b.mbundle", &["web"])
        .ok();
    // The bundle claims 0777 for everything.
    let mut entries = decrypt_entries(&fs::read(dir.path("b.mbundle")).unwrap(), &demo_key());
    let mut m: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    for f in m["files"].as_array_mut().unwrap() {
        f["mode"] = "0777".into();
    }
    entries[0].1 = serde_json::to_vec(&m).unwrap();
    fs::write(dir.path("loose.mbundle"), craft_bundle(&entries)).unwrap();
    // 000 would leave a naive writer's files open to all; 277 takes the owner's own write
    // bit away; 022 is everyone's default (no chmod needed, none done).
    for umask in ["000", "277", "022"] {
        let target = dir.path(&format!("t{umask}"));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask}; exec '{}' -s '{}' import loose.mbundle -i '{}'",
                env!("CARGO_BIN_EXE_mbundle"),
                target.display(),
                demo_key().display()
            ))
            .current_dir(dir.root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "umask {umask}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        #[cfg(unix)]
        {
            assert_private(&target);
            assert_eq!(mode(&target.join("machines/web/ca.pem")), 0o644, "{umask}");
            assert_eq!(mode(&target.join("machines/web/id_rsa")), 0o600, "{umask}");
            assert_eq!(mode(&target.join("machines/web")), 0o700, "{umask}");
            assert_eq!(
                mode(&target.join("machines/web/config.json")),
                0o600,
                "{umask}"
            );
        }
    }
}

#[test]
fn env_after_import_points_at_the_new_home() {
    let dir = Dir::new();
    dir.export_demo(&fixtures().join(MACOS), "m.mbundle", &["--all"])
        .ok();
    let target = dir.path("t");
    dir.import_demo(&target, "m.mbundle", &[]).ok();
    let t = target.to_str().unwrap();
    // The none driver never wrote server.pem: export and import say so, and go on.
    let report = dir
        .import_demo(&dir.path("t2"), "m.mbundle", &[])
        .ok()
        .stdout;
    assert!(
        report.contains("remote: HostOptions.AuthOptions.ServerCertPath"),
        "{report}"
    );
    assert!(report.contains("absent"), "{report}");
    let out = dir.run(&["-s", t, "env", "remote"]).ok().stdout;
    assert_eq!(
        out,
        format!(
            "export DOCKER_TLS_VERIFY=\"1\"\nexport DOCKER_HOST=\"tcp://198.51.100.7:2376\"\nexport DOCKER_CERT_PATH=\"{t}/machines/remote\"\nexport DOCKER_MACHINE_NAME=\"remote\"\n# Run this command to configure your shell: \n# eval $(mbundle -s {t} env remote)\n"
        )
    );
    // The none driver has no machine-directory copies of the certs: env says so.
    let run = dir
        .run(&["-s", t, "env", "fusion1", "--shell", "fish"])
        .ok();
    assert!(
        run.stdout
            .contains("set -gx DOCKER_HOST \"tcp://172.16.24.128:2376\";"),
        "{}",
        run.stdout
    );
    dir.run(&["-s", t, "env", "nope"])
        .fails(2, &["no machine named nope", "fusion1, remote"]);
}

/// Injects a failure at every step of the transaction; the store must be byte-for-byte as
/// before each time, and a store that did not exist must still not exist.
#[test]
fn a_failure_at_any_step_leaves_the_store_as_it_was() {
    let dir = Dir::new();
    dir.export_demo(
        &fixtures().join(LINUX),
        "b.mbundle",
        &["--all", "--include-disks"],
    )
    .ok();
    let files = manifest_json(&dir, "b.mbundle")["files"]
        .as_array()
        .unwrap()
        .len();
    let target = dir.copy_fixture(MACOS, "carol");
    let before = tree(&target);
    let mut points = vec!["plan:1".to_string(), "rewrite:1".into(), "journal:1".into()];
    for n in [1, 2, files / 2, files] {
        points.push(format!("stage-file:{n}"));
    }
    for n in 1..=6 {
        points.push(format!("commit-step:{n}"));
    }
    for point in &points {
        let key = demo_key();
        let out = dir
            .cmd()
            .env("MBUNDLE_TEST_FAILPOINT", point)
            .args([
                "-s",
                target.to_str().unwrap(),
                "import",
                "b.mbundle",
                "-i",
                key.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{point}: {stderr}");
        assert!(stderr.contains("injected failure"), "{point}: {stderr}");
        assert_eq!(
            tree(&target),
            before,
            "store changed after a failure at {point}"
        );

        let fresh = dir.path("fresh/.docker/machine");
        let out = dir
            .cmd()
            .env("MBUNDLE_TEST_FAILPOINT", point)
            .args([
                "-s",
                fresh.to_str().unwrap(),
                "import",
                "b.mbundle",
                "-i",
                key.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        if point == "commit-step:5" || point == "commit-step:6" {
            // Into a new store the commit is four steps: certs/, imported-certs/, the custom
            // set in it, and machines/ moved whole. There is no fifth to fail.
            assert_eq!(out.status.code(), Some(0), "{point}");
            std::fs::remove_dir_all(dir.path("fresh")).unwrap();
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "{point}");
        assert!(
            !dir.path("fresh").exists(),
            "{point}: a failed import into a new store left it behind"
        );
    }
    // And without a failure it goes through.
    dir.import_demo(&target, "b.mbundle", &[]).ok();
}

#[test]
fn ctrl_c_during_staging_changes_nothing() {
    let dir = Dir::new();
    dir.export_demo(
        &fixtures().join(LINUX),
        "b.mbundle",
        &["--all", "--include-disks"],
    )
    .ok();
    let target = dir.copy_fixture(MACOS, "carol");
    let before = tree(&target);
    let key = demo_key();
    let out = dir
        .cmd()
        .env("MBUNDLE_TEST_FAILPOINT", "stage-file:3:sigint")
        .args([
            "-s",
            target.to_str().unwrap(),
            "import",
            "b.mbundle",
            "-i",
            key.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted; nothing was changed"),
        "{stderr}"
    );
    assert_eq!(tree(&target), before);
}

#[test]
fn a_killed_import_is_cleaned_up_or_finished_by_the_next_run() {
    let dir = Dir::new();
    dir.export_demo(&fixtures().join(LINUX), "b.mbundle", &["--all"])
        .ok();
    let key = demo_key();
    // The reference: the same import, not interrupted.
    let reference = dir.copy_fixture(MACOS, "reference");
    dir.import_demo(&reference, "b.mbundle", &[]).ok();
    let full = tree_relative(&reference);

    for (point, finished) in [
        ("stage-file:4:abort", false),
        ("journal:1:abort", false),
        ("commit-step:2:abort", true),
        ("commit-step:5:abort", true),
    ] {
        let target = dir.copy_fixture(MACOS, &format!("t-{}", point.replace(':', "-")));
        let before = tree_relative(&target);
        let out = dir
            .cmd()
            .env("MBUNDLE_TEST_FAILPOINT", point)
            .args([
                "-s",
                target.to_str().unwrap(),
                "import",
                "b.mbundle",
                "-i",
                key.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "{point}");
        assert!(
            fs::read_dir(&target).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".mbundle-staging-")),
            "{point}: the killed run should have left its staging directory"
        );
        // The next run of anything on the store reports and resolves it.
        let ls = dir.run(&["-s", target.to_str().unwrap(), "ls"]).ok();
        assert!(ls.stderr.contains("note: "), "{point}: {}", ls.stderr);
        let after = tree_relative(&target);
        let expect = if finished { &full } else { &before };
        // Imported files carry the same bytes; directory names of staging differ, none remain.
        assert_eq!(
            &after, expect,
            "{point}: store is neither as before nor fully imported"
        );
    }
}

#[test]
fn every_fixture_store_imports_beside_another_users_store() {
    for (fixture, host) in [
        (LINUX, MACOS),
        (WINDOWS, LINUX),
        (MACOS, QUIRKS),
        (QUIRKS, WINDOWS),
    ] {
        let dir = Dir::new();
        dir.export_demo(&fixtures().join(fixture), "b.mbundle", &["--all"])
            .ok();
        let target = dir.copy_fixture(host, "host");
        let before = tree(&target);
        let run = dir.import_demo(&target, "b.mbundle", &[]).ok();
        let after = tree(&target);
        for (k, v) in &before {
            assert_eq!(after.get(k), Some(v), "{fixture} into {host}: {k} changed");
        }
        let ls = dir
            .run(&["-s", target.to_str().unwrap(), "ls", "--json"])
            .ok()
            .stdout;
        let v: serde_json::Value = serde_json::from_str(&ls).unwrap();
        for m in v["machines"].as_array().unwrap() {
            assert!(m["ca"].is_object(), "{fixture} into {host}: {m}");
            if m["name"] == "rancher" && host != QUIRKS {
                // "AuthOptions": null: docker-machine falls back to the store's certs/, a
                // different CA here. The import says so, and ls shows the mismatch.
                assert!(
                    run.stderr
                        .contains("machine rancher: its config.json names no certificate paths"),
                    "{}",
                    run.stderr
                );
                assert_eq!(m["server_cert_issued_by_ca"], false);
            } else if m["server_cert_issued_by_ca"].is_boolean() {
                assert_eq!(
                    m["server_cert_issued_by_ca"], true,
                    "{fixture} into {host}: {m}"
                );
            }
        }
    }
}

#[test]
fn ssh_rsa_and_ed25519_identities_open_what_they_were_sent() {
    let Some(keygen) = peer("ssh-keygen") else {
        return;
    };
    let dir = Dir::new();
    for (kind, bits) in [("rsa", "3072"), ("ed25519", "256")] {
        let status = std::process::Command::new(&keygen)
            .args(["-q", "-t", kind, "-b", bits, "-N", "", "-C", "", "-f"])
            .arg(dir.path(&format!("id_{kind}")))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let store = fixtures().join(LINUX);
    dir.run(&[
        "-s",
        store.to_str().unwrap(),
        "export",
        "web",
        "-R",
        "id_rsa.pub",
        "-R",
        "id_ed25519.pub",
        "-o",
        "t.mbundle",
    ])
    .ok();
    for (i, key) in ["id_rsa", "id_ed25519"].iter().enumerate() {
        let target = dir.path(&format!("t{i}"));
        dir.run(&[
            "-s",
            target.to_str().unwrap(),
            "import",
            "t.mbundle",
            "-i",
            key,
        ])
        .ok();
        assert!(target.join("machines/web/config.json").is_file());
    }
}

#[test]
fn a_machine_that_appears_during_the_import_is_never_replaced() {
    // docker-machine creates `web` (here: an empty directory, which a plain rename(2)
    // would silently replace) after the plan was made and before the commit.
    use std::io::Write;
    let dir = Dir::new();
    // Big enough for many age chunks: the importer stages while the tail is held back.
    let src = dir.copy_fixture(LINUX, "src");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..2u32 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    fs::write(src.join("machines/web/notes.bin"), noise).unwrap();
    dir.export_demo(&src, "w.mbundle", &["web"]).ok();
    let bundle = fs::read(dir.path("w.mbundle")).unwrap();
    assert!(bundle.len() > 1 << 20, "{}", bundle.len());
    let target = dir.copy_fixture(MACOS, "t");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mbundle"))
        .args(["-s", target.to_str().unwrap(), "import", "-", "-i"])
        .arg(demo_key())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (head, tail) = bundle.split_at(bundle.len() - 64);
    stdin.write_all(head).unwrap();
    stdin.flush().unwrap();
    // The plan is made as soon as the manifest is read; wait until staging holds files.
    let staged = || {
        fs::read_dir(&target).unwrap().any(|e| {
            let e = e.unwrap();
            e.file_name()
                .to_string_lossy()
                .starts_with(".mbundle-staging")
                && e.path().join("machines/web").is_dir()
        })
    };
    let t0 = std::time::Instant::now();
    while !staged() {
        assert!(t0.elapsed().as_secs() < 30, "import never staged");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    fs::create_dir(target.join("machines/web")).unwrap();
    let before = tree(&target);
    stdin.write_all(tail).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("appeared while importing; nothing was replaced"),
        "{stderr}"
    );
    // Everything as it was just before the commit, staging gone, the new directory empty.
    let mut after = tree(&target);
    after.retain(|k, _| !k.starts_with(".mbundle-staging"));
    let mut before = before;
    before.retain(|k, _| !k.starts_with(".mbundle-staging") && k != ".mbundle.lock");
    assert_eq!(after, before);
    assert!(fs::read_dir(target.join("machines/web"))
        .unwrap()
        .next()
        .is_none());
    assert!(!fs::read_dir(&target).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".mbundle-staging")));
}

/// A config.json of up to 64 KiB is rewritten while the rest is staged; a larger one after
/// staging, from the staged file. Both end up rewritten for the new store, nothing else in
/// them changed.
#[test]
fn small_and_large_config_json_are_both_rewritten() {
    let dir = Dir::new();
    let src = dir.copy_fixture(LINUX, "src");
    let db = src.join("machines/db/config.json");
    let mut cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(&db).unwrap()).unwrap();
    let notes = "n".repeat(100 << 10);
    cfg["Driver"]["Notes"] = notes.clone().into();
    std::fs::write(&db, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    dir.export_demo(&src, "b.mbundle", &["db", "edge"]).ok();
    let target = dir.path("new/.docker/machine");
    dir.import_demo(&target, "b.mbundle", &[]).ok();
    let t = target.to_str().unwrap();
    for (name, big) in [("db", true), ("edge", false)] {
        let text = std::fs::read_to_string(target.join("machines").join(name).join("config.json"))
            .unwrap();
        assert_eq!(text.len() > 100 << 10, big, "{name}");
        let cfg: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            cfg["HostOptions"]["AuthOptions"]["StorePath"],
            format!("{t}/machines/{name}"),
            "{name}: {text}"
        );
        assert!(
            !text.contains("/home/alice/.docker/machine"),
            "{name}: {text}"
        );
        if big {
            assert_eq!(cfg["Driver"]["Notes"], notes.as_str());
        }
    }
}
