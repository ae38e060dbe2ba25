//! Everyday use at fleet scale (issue 24): re-imports that are truly idempotent wherever
//! their cert sets went.

use std::fs;

use crate::util::*;

/// Imports `bundle` into a copy of `target` (a fixture, or "" for a new store) twice, with
/// `extra`: the second exits 0 and changes nothing; `diff --json` finds no machine or cert
/// set of the bundle changed. Returns the store.
fn import_twice(
    d: &Dir,
    bundle: &str,
    target: &str,
    extra: &[&str],
    name: &str,
) -> std::path::PathBuf {
    let store = if target.is_empty() {
        d.path(name)
    } else {
        d.copy_fixture(target, name)
    };
    d.import_demo(&store, bundle, extra).ok();
    let before = tree(&store);
    let again = d.import_demo(&store, bundle, extra).ok();
    assert!(
        again.stdout.contains("nothing to import"),
        "{name}: {}",
        again.stdout
    );
    assert_eq!(
        tree(&store),
        before,
        "{name}: the second import changed the store"
    );
    let key = demo_key();
    let diff = d.run(&[
        "-s",
        store.to_str().unwrap(),
        "diff",
        bundle,
        "-i",
        key.to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&diff.stdout)
        .unwrap_or_else(|e| panic!("{name}: {e}: {}", diff.stderr));
    assert_eq!(report["changed"], serde_json::json!([]), "{name}: {report}");
    // A selective import leaves the other machines' sets out, as it should.
    let selective = extra.first().is_some_and(|a| !a.starts_with('-'));
    if !selective {
        assert_eq!(
            report["certsets"],
            serde_json::json!([]),
            "{name}: {report}"
        );
    }
    store
}

#[test]
fn a_second_import_is_a_no_op_wherever_the_cert_sets_went() {
    let d = Dir::new();
    d.export_demo(&fixtures().join(LINUX), "linux.mbundle", &["--all"])
        .ok();
    d.export_demo(&fixtures().join(WINDOWS), "windows.mbundle", &["--all"])
        .ok();
    d.export_demo(&fixtures().join(MACOS), "macos.mbundle", &["--all"])
        .ok();
    // A new store: the default set becomes certs/; diff says current.
    let fresh = import_twice(&d, "linux.mbundle", "", &[], "fresh");
    let key = demo_key();
    d.run(&[
        "-s",
        fresh.to_str().unwrap(),
        "diff",
        "linux.mbundle",
        "-i",
        key.to_str().unwrap(),
    ])
    .ok();
    // A store with a CA of its own: every set goes to imported-certs/.
    let other = import_twice(&d, "linux.mbundle", MACOS, &[], "other-ca");
    assert!(other.join("imported-certs").is_dir());
    // Renamed, selective, and stores recorded on Windows and macOS.
    import_twice(
        &d,
        "linux.mbundle",
        MACOS,
        &["--rename", "web=web2"],
        "renamed",
    );
    import_twice(&d, "linux.mbundle", MACOS, &["web"], "selective");
    import_twice(&d, "windows.mbundle", MACOS, &[], "from-windows");
    import_twice(&d, "macos.mbundle", LINUX, &[], "from-macos");
    // A real difference still conflicts, and names the file.
    let server = other.join("machines/web/server.pem");
    let mut bytes = fs::read(&server).unwrap();
    bytes.push(b'\n');
    fs::write(&server, &bytes).unwrap();
    d.import_demo(&other, "linux.mbundle", &[])
        .fails(1, &["machine web already exists", "server.pem"]);
    let config = other.join("machines/db/config.json");
    let text = fs::read_to_string(&config).unwrap();
    fs::write(&config, text.replace("\"SSHUser\": \"", "\"SSHUser\": \"x")).unwrap();
    d.import_demo(&other, "linux.mbundle", &["db"])
        .fails(1, &["machine db already exists", "config.json"]);
}

/// A GitLab Runner manager's store: `n` generic machines `runner-NNNN` sharing one CA, made
/// here (not committed).
fn fleet_store(d: &Dir, n: usize) -> std::path::PathBuf {
    use crate::util::gen;
    let store = d.path("fleet");
    let ca = gen::Ca::new("runner-manager", gen::days(1080));
    gen::write_certs(&store, &ca, gen::days(1080));
    for i in 0..n {
        gen::add_machine(
            &store,
            &ca,
            &format!("runner-{i:04}"),
            &format!("10.0.{}.{}", i / 250, i % 250 + 1),
            2376,
            gen::days(1080),
        );
    }
    store
}

#[test]
fn hints_list_at_most_ten_names_and_suggest_the_nearest() {
    let d = Dir::new();
    let store = fleet_store(&d, 300);
    let s = store.to_str().unwrap();
    // The store named relative to the working directory: the hint names it whole.
    let out = d
        .run(&["-s", "fleet", "env", "runenr-0123"])
        .fails(2, &["no machine named runenr-0123"]);
    let hint = out
        .stderr
        .lines()
        .find(|l| l.starts_with("hint: "))
        .unwrap();
    assert!(hint.contains("did you mean runner-0123?"), "{hint}");
    let see = format!("... and 290 more: see mbundle -s {s} ls");
    assert!(hint.contains(&see), "{hint}");
    assert!(hint.len() < 300, "{} characters: {hint}", hint.len());
    // Pasted into sh elsewhere, with another HOME, it lists this store.
    let pasted = hint.split("see ").last().unwrap();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_mbundle"))
        .parent()
        .unwrap()
        .to_path_buf();
    let listed = std::process::Command::new("sh")
        .args(["-c", pasted])
        .current_dir("/")
        .env("HOME", d.path("elsewhere"))
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("runner-0299"), "{pasted}: {listed}");
    // The default store: no -s in the hint.
    let home_store = d.path(".docker/machine");
    crate::util::copy_tree(&store, &home_store);
    let out = d.run(&["env", "runenr-0123"]).fails(2, &[]);
    assert!(out.stderr.contains("see mbundle ls"), "{}", out.stderr);
    // The same in a bundle.
    d.export_demo(&store, "fleet.mbundle", &["--all"]).ok();
    let out = d
        .import_demo(&d.path("new"), "fleet.mbundle", &["runner-01000"])
        .fails(2, &["the bundle has no machine named runner-01000"]);
    let hint = out
        .stderr
        .lines()
        .find(|l| l.starts_with("hint: "))
        .unwrap();
    assert!(
        hint.starts_with("hint: did you mean") && hint.contains("runner-0100"),
        "{hint}"
    );
    assert!(hint.contains("... and 290 more"), "{hint}");
}

/// The same mistake, the same exit status: 2 for every command line that cannot work, 1 for
/// failures, one row per case.
#[test]
fn every_usage_mistake_exits_2_and_every_failure_1() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    let s = store.to_str().unwrap();
    d.export_demo(&store, "b.mbundle", &["web"]).ok();
    fs::write(
        d.path("damaged.mbundle"),
        b"age-encryption.org/v1\n-> X25519 x\n",
    )
    .unwrap();
    let key = demo_key();
    let k = key.to_str().unwrap();
    let recipient = fixtures().join("demo/recipient.txt");
    let pubkey = recipient.to_str().unwrap();
    let r = demo_recipient();
    let table: &[(&[&str], i32, &str)] = &[
        (&["-s", s, "env", "nope"], 2, "no machine named nope"),
        (&["-s", s, "doctor", "nope"], 2, "no machine named nope"),
        (
            &["-s", s, "export", "nope", "-r", &r, "-o", "x.mbundle"],
            2,
            "no machine named nope",
        ),
        (
            &["-s", s, "export", "-r", &r, "-o", "x.mbundle"],
            2,
            "--all",
        ),
        (
            &["-s", s, "import", "b.mbundle", "-i", k, "nope"],
            2,
            "the bundle has no machine named nope",
        ),
        (&["inspect", "b.mbundle", "-i", pubkey], 2, "public key"),
        (
            &["-s", s, "import", "b.mbundle", "-i", pubkey],
            2,
            "public key",
        ),
        (
            &["-s", s, "export", "web", "-o", "x.mbundle"],
            2,
            "no recipient",
        ),
        (&["--no-such-flag"], 2, "unexpected argument"),
        // Failures: the command line was right.
        (&["inspect", "damaged.mbundle", "-i", k], 1, "error: "),
        (
            &[
                "-s",
                s,
                "import",
                "b.mbundle",
                "-i",
                k,
                "--rename",
                "web=db",
            ],
            1,
            "conflict",
        ),
        (
            &["inspect", "missing.mbundle", "-i", k],
            1,
            "missing.mbundle",
        ),
        // What the store does not allow, asked for rightly: 1.
        (
            &["-s", s, "regenerate-certs", "edge"],
            1,
            "CA key is absent",
        ),
        (
            &[
                "-s",
                s,
                "share",
                "edge",
                "--as",
                "bob",
                "-r",
                &r,
                "-o",
                "y.mbundle",
            ],
            1,
            "does not hold the key of the CA",
        ),
        // An answer is not an error: exit 1, nothing on standard error.
        (&["-s", s, "diff", "b.mbundle", "-i", k, "-q"], 1, ""),
    ];
    for (args, code, needle) in table {
        let out = d.run(args);
        assert_eq!(out.code, *code, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        if needle.is_empty() {
            assert_eq!(out.stderr, "", "{args:?}");
        }
    }
}

/// Starts `mbundle -s STORE export ARGS... -r <demo> -o out.mbundle` paused once its machines
/// are chosen, before any is scanned (pausing at the first scan left the other threads
/// scanning, so which machines were read before the test removed them was a race); returns
/// once it is paused, with the file whose removal resumes it.
fn export_paused_at_scan(
    d: &Dir,
    store: &std::path::Path,
    what: &[&str],
) -> (std::process::Child, std::path::PathBuf) {
    export_paused_at(d, store, what, "export-chosen:1:pause")
}

/// The same, paused at the failpoint `at` (`NAME:N:pause`).
fn export_paused_at(
    d: &Dir,
    store: &std::path::Path,
    what: &[&str],
    at: &str,
) -> (std::process::Child, std::path::PathBuf) {
    let pause = d.path("paused");
    fs::write(&pause, "").unwrap();
    // A mark left by an earlier run would say this one is paused before it is.
    let _ = fs::remove_file(pause.with_extension("reached"));
    let r = demo_recipient();
    let mut args = vec!["-s", store.to_str().unwrap(), "export"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-r", &r, "-o", "out.mbundle", "--force"]);
    let child = d
        .cmd()
        .args(&args)
        .env("MBUNDLE_TEST_FAILPOINT", at)
        .env("MBUNDLE_TEST_PAUSE", &pause)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let reached = pause.with_extension("reached");
    let start = std::time::Instant::now();
    while !reached.exists() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "never paused"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    (child, pause)
}

#[test]
fn machines_removed_while_exporting_all_are_left_out_and_said() {
    let d = Dir::new();
    let store = fleet_store(&d, 300);
    // docker-machine half-way through creating one: a directory, no config.json yet.
    fs::create_dir_all(store.join("machines/runner-new")).unwrap();
    let (child, pause) = export_paused_at_scan(&d, &store, &["--all"]);
    // The manager removes two machines while the export runs, after it chose them.
    for m in ["runner-0000", "runner-0150"] {
        fs::remove_dir_all(store.join("machines").join(m)).unwrap();
    }
    fs::remove_file(&pause).unwrap();
    let out = Run::from(child.wait_with_output().unwrap()).ok();
    let removed: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("was removed while exporting"))
        .collect();
    assert_eq!(removed.len(), 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("machines/runner-new has no config.json"),
        "{}",
        out.stderr
    );
    // One line each, not the store's 300 names.
    assert!(out.stderr.lines().all(|l| l.len() < 300), "{}", out.stderr);
    let manifest = manifest_json(&d, "out.mbundle");
    let carried = manifest["machines"].as_array().unwrap().len();
    assert_eq!(carried, 300 - removed.len());

    // Removed while its own scan runs: a store of five is scanned on one thread, in order, so
    // the first scan is runner-0000's.
    let small = d.path("small");
    crate::util::copy_tree(&store, &small);
    for entry in fs::read_dir(small.join("machines")).unwrap() {
        let entry = entry.unwrap().path();
        let keep = [
            "runner-0002",
            "runner-0003",
            "runner-0004",
            "runner-0005",
            "runner-0006",
        ];
        if !keep.iter().any(|k| entry.ends_with(k)) {
            fs::remove_dir_all(entry).unwrap();
        }
    }
    let (child, pause) = export_paused_at(&d, &small, &["--all"], "export-scan:1:pause");
    for m in ["runner-0002", "runner-0005"] {
        fs::remove_dir_all(small.join("machines").join(m)).unwrap();
    }
    fs::remove_file(&pause).unwrap();
    let out = Run::from(child.wait_with_output().unwrap()).ok();
    assert_eq!(
        out.stderr.matches("was removed while exporting").count(),
        2,
        "{}",
        out.stderr
    );
    assert_eq!(
        manifest_json(&d, "out.mbundle")["machines"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Named on the command line, a machine that vanishes is an error.
    let store2 = d.path("fleet");
    let (child, pause) =
        export_paused_at_scan(&d, &store2, &["runner-0002", "runner-0003", "runner-0004"]);
    for m in ["runner-0002", "runner-0003"] {
        fs::remove_dir_all(store2.join("machines").join(m)).unwrap();
    }
    fs::remove_file(&pause).unwrap();
    Run::from(child.wait_with_output().unwrap())
        .fails(1, &["machines/runner-000", "changed while exporting"]);
}

/// `diff` and a re-import compare a machine without reading the VM disks the bundle left
/// out (hashing a 4 GiB disk took 14 s); checked with strace: the disk is never opened.
#[test]
fn diff_and_reimport_never_read_the_disks_a_bundle_left_out() {
    let Some(strace) = peer("strace") else {
        return;
    };
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    d.export_demo(&store, "b.mbundle", &["vbox"]).ok();
    let key = demo_key();
    let k = key.to_str().unwrap();
    let s = store.to_str().unwrap();
    for (what, args) in [
        ("diff", vec!["-s", s, "diff", "b.mbundle", "-i", k]),
        ("import", vec!["-s", s, "import", "b.mbundle", "-i", k]),
    ] {
        let trace = d.path(&format!("{what}.trace"));
        let out = std::process::Command::new(&strace)
            .args(["-f", "-qq", "-e", "trace=open,openat", "-o"])
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_mbundle"))
            .args(&args)
            .current_dir(d.root())
            .env("HOME", d.root())
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        assert!(
            code == 0 || code == 1,
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let opened = fs::read_to_string(&trace).unwrap();
        assert!(
            opened.contains("machines/vbox/"),
            "{what}: the machine was not compared"
        );
        for disk in ["disk.vmdk", "boot2docker.iso"] {
            assert!(!opened.contains(disk), "{what} opened {disk}");
        }
    }
}

#[test]
fn doctor_on_a_fleet_prints_what_is_wrong_and_one_line() {
    let d = Dir::new();
    let store = fleet_store(&d, 300);
    let s = store.to_str().unwrap();
    let healthy = d.run(&["-s", s, "doctor"]).ok();
    assert_eq!(
        healthy.stdout.trim(),
        "300 checked, all OK: 0 error(s), 0 warning(s) (-v prints every check)"
    );
    // One machine's server key readable by others: that machine, its finding and fix, and
    // the summary; nothing of the 299 healthy ones.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = store.join("machines/runner-0123/server-key.pem");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    }
    let one = d.run(&["-s", s, "doctor"]);
    assert_eq!(one.code, 1, "{}{}", one.stdout, one.stderr);
    let lines: Vec<&str> = one.stdout.lines().collect();
    assert!(
        lines[0].starts_with("machine runner-0123 "),
        "{}",
        one.stdout
    );
    assert!(lines.len() <= 5, "{}", one.stdout);
    assert!(one.stdout.contains("-> chmod 600"), "{}", one.stdout);
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("300 checked: 1 error(s), 0 warning(s)"),
        "{}",
        one.stdout
    );
    // -v: every check of every machine.
    let all = d.run(&["-s", s, "doctor", "-v"]);
    assert_eq!(all.code, 1);
    assert!(all.stdout.lines().count() > 300 * 5, "{}", all.stdout.len());
    assert!(all.stdout.contains("machine runner-0000 "));
}

#[test]
fn importing_a_fleet_prints_counts_and_v_lists_every_machine() {
    let d = Dir::new();
    let store = fleet_store(&d, 300);
    d.export_demo(&store, "fleet.mbundle", &["--all"]).ok();
    let fresh = d.path("fresh");
    let r = d.import_demo(&fresh, "fleet.mbundle", &[]).ok();
    let certs = fresh.join("certs");
    assert!(
        r.stdout.contains(&format!(
            "  300 machine(s), certificates in {}: runner-0000, runner-0001,",
            certs.display()
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("... and 290 more"), "{}", r.stdout);
    assert!(r.stdout.contains("(-v lists each machine)"), "{}", r.stdout);
    assert!(r.stdout.lines().count() <= 10, "{}", r.stdout);
    // -v: a line for each machine.
    let verbose = d.path("verbose");
    let v = d.import_demo(&verbose, "fleet.mbundle", &["-v"]).ok();
    let listed = v
        .stdout
        .lines()
        .filter(|l| l.starts_with("  machine runner-"))
        .count();
    assert_eq!(listed, 300, "{}", v.stdout);
    // Some machines there already: counted too, then nothing left to import.
    for i in 0..20 {
        fs::remove_dir_all(fresh.join(format!("machines/runner-{i:04}"))).unwrap();
    }
    let again = d.import_demo(&fresh, "fleet.mbundle", &[]).ok();
    assert!(
        again.stdout.contains("  20 machine(s), certificates in"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stdout
            .contains("  280 machine(s) already present, identical: runner-0020,"),
        "{}",
        again.stdout
    );
}

#[test]
fn the_rename_a_conflict_suggests_works_and_no_hint_removes_a_local_vm() {
    let d = Dir::new();
    d.export_demo(&fixtures().join(LINUX), "linux.mbundle", &["--all"])
        .ok();
    let store = d.copy_fixture(LINUX, "store");
    // web (another web) and web-2 (an earlier renamed import) are both taken.
    let cfg = store.join("machines/web/config.json");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, text.replace("\"SSHUser\": \"", "\"SSHUser\": \"x")).unwrap();
    crate::util::copy_tree(&store.join("machines/web"), &store.join("machines/web-2"));
    let out = d
        .import_demo(&store, "linux.mbundle", &["web"])
        .fails(1, &["machine web already exists"]);
    let rename = out
        .stderr
        .split("--rename ")
        .nth(1)
        .and_then(|r| r.split([')', ' ', '\n']).next())
        .unwrap_or_else(|| panic!("{}", out.stderr))
        .to_string();
    assert_eq!(rename, "web=web-3", "{}", out.stderr);
    d.import_demo(&store, "linux.mbundle", &["web", "--rename", &rename])
        .ok();
    assert!(store.join("machines/web-3/config.json").is_file());
    // After a renamed import, the hint still renames from the bundle's name.
    let cfg = store.join("machines/web-3/config.json");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, text.replace("\"SSHUser\": \"", "\"SSHUser\": \"y")).unwrap();
    let out = d
        .import_demo(&store, "linux.mbundle", &["web", "--rename", "web=web-3"])
        .fails(1, &["machine web-3 already exists"]);
    assert!(
        out.stderr.contains("--rename web=web-3-2)"),
        "{}",
        out.stderr
    );
    d.import_demo(&store, "linux.mbundle", &["web", "--rename", "web=web-3-2"])
        .ok();
    // vbox's VM lives on this laptop: the hints never send it to `docker-machine rm`.
    let cfg = store.join("machines/vbox/config.json");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, text.replace("\"SSHUser\": \"", "\"SSHUser\": \"x")).unwrap();
    let out = d
        .import_demo(&store, "linux.mbundle", &["vbox"])
        .fails(1, &["machine vbox already exists", "another store"]);
    assert!(!out.stderr.contains("docker-machine rm"), "{}", out.stderr);
    let out = d
        .import_demo(&store, "linux.mbundle", &["vbox", "--rename", "vbox=vb2"])
        .fails(2, &["cannot rename vbox"]);
    assert!(
        !out.stderr.contains("docker-machine rm\n")
            && !out.stderr.contains("with docker-machine rm"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_imported_cert_set_is_listed_where_it_is_not_as_custom() {
    let d = Dir::new();
    d.export_demo(&fixtures().join(LINUX), "linux.mbundle", &["--all"])
        .ok();
    let fresh = d.path("fresh");
    d.import_demo(&fresh, "linux.mbundle", &[]).ok();
    let out = d
        .run(&["-s", fresh.to_str().unwrap(), "ls", "--json"])
        .ok()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let location = |name: &str| {
        v["machines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()["ca"]["location"]
            .clone()
    };
    // edge's CA lived outside alice's store (custom there); here an import placed it.
    assert_eq!(location("edge"), "imported-certs/");
    assert_eq!(location("web"), "certs/");
    let text = d.run(&["-s", fresh.to_str().unwrap(), "ls"]).ok().stdout;
    assert!(!text.contains("custom"), "{text}");
}

/// A machine removed while the bundle is written, after its scan, with a file the export
/// reads again then (larger than what it holds in memory): `--all` into a file starts again
/// without it, says so once, and succeeds.
#[test]
fn a_machine_removed_while_the_bundle_is_written_is_left_out_by_starting_again() {
    let d = Dir::new();
    let store = fleet_store(&d, 5);
    let big = store.join("machines/runner-0004/notes.bin");
    fs::write(&big, vec![7u8; 2 << 20]).unwrap();
    let (child, pause) = export_paused_at(&d, &store, &["--all"], "export-file:1:pause");
    fs::remove_dir_all(store.join("machines/runner-0004")).unwrap();
    fs::remove_file(&pause).unwrap();
    let out = Run::from(child.wait_with_output().unwrap()).ok();
    assert_eq!(
        out.stderr
            .matches("machine runner-0004 was removed while the bundle was written; exporting again without it")
            .count(),
        1,
        "{}",
        out.stderr
    );
    let machines = manifest_json(&d, "out.mbundle")["machines"].clone();
    let names: Vec<&str> = machines
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["runner-0000", "runner-0001", "runner-0002", "runner-0003"]
    );
    // To standard output it cannot start again: it says what was removed.
    fs::write(
        store.join("machines/runner-0003/notes.bin"),
        vec![7u8; 2 << 20],
    )
    .unwrap();
    let pause = d.path("paused");
    fs::write(&pause, "").unwrap();
    let _ = fs::remove_file(pause.with_extension("reached"));
    let child = d
        .cmd()
        .args([
            "-s",
            store.to_str().unwrap(),
            "export",
            "--all",
            "-r",
            &demo_recipient(),
            "-o",
            "-",
        ])
        .env("MBUNDLE_TEST_FAILPOINT", "export-file:1:pause")
        .env("MBUNDLE_TEST_PAUSE", &pause)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let reached = pause.with_extension("reached");
    while !reached.exists() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    fs::remove_dir_all(store.join("machines/runner-0003")).unwrap();
    fs::remove_file(&pause).unwrap();
    Run::from(child.wait_with_output().unwrap()).fails(1, &["runner-0003"]);
}
