//! Crash safety: the importer is killed with a real SIGKILL at more than fifty points spread
//! over a large import (staging many files, in the middle of a large file, rewriting,
//! journaling, committing). After each kill the next run of mbundle must leave the store
//! either exactly as it was or exactly as a complete import leaves it, never in between.

use std::fs;
use std::path::Path;

use crate::util::gen::{write_store, Pki};
use crate::util::*;

const MACHINES: usize = 30;

fn big_store(root: &Path) {
    let pki = Pki::new("crash", &["127.0.0.1"]);
    for i in 0..MACHINES {
        write_store(
            root,
            root.to_str().unwrap(),
            '/',
            &pki,
            &format!("m{i:02}"),
            "127.0.0.1",
            2376,
        );
    }
    // A 24 MiB disk image: staged in 1 MiB chunks, each a kill point.
    let mut disk = Vec::with_capacity(24 << 20);
    let mut x: u32 = 1;
    for _ in 0..(12 << 20) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        disk.push(x as u8);
    }
    disk.resize(24 << 20, 0);
    fs::write(root.join("machines/m00/disk.vmdk"), disk).unwrap();
}

/// `mbundle -s STORE import BUNDLE -i KEY`, killed with a real SIGKILL at the failpoint
/// `point` (`commit-step:3`...); fails the test if it was not killed there.
fn import_killed_at(dir: &Dir, store: &Path, bundle: &str, key: &str, point: &str) {
    let out = dir
        .cmd()
        .env("MBUNDLE_TEST_FAILPOINT", format!("{point}:sigkill"))
        .args(["-s", store.to_str().unwrap(), "import", bundle, "-i", key])
        .output()
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(9),
            "{point}: not killed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    #[cfg(not(unix))]
    let _ = out;
}

#[test]
fn sigkill_at_fifty_points_leaves_the_store_before_or_after_never_between() {
    let dir = Dir::new();
    let src = dir.path("source");
    big_store(&src);
    dir.export_demo(&src, "big.mbundle", &["--all", "--include-disks"])
        .ok();
    let key = demo_key();
    let key = key.to_str().unwrap();
    let files = manifest_json(&dir, "big.mbundle")["files"]
        .as_array()
        .unwrap()
        .len();

    // The victim already holds machines and certs; the reference is the complete import.
    let reference = dir.copy_fixture(MACOS, "reference");
    let before_ref = tree_relative(&reference);
    dir.run(&[
        "-s",
        reference.to_str().unwrap(),
        "import",
        "big.mbundle",
        "-i",
        key,
    ])
    .ok();
    let after_ref = tree_relative(&reference);
    assert_ne!(before_ref, after_ref);

    let mut points: Vec<String> = vec!["plan:1".into()];
    for k in 0..20 {
        points.push(format!("stage-file:{}", 1 + k * (files - 1) / 19));
    }
    for n in [1, 2, 3, 5, 8, 12, 16, 20, 23, 24] {
        points.push(format!("stage-chunk:{n}"));
    }
    for n in [1, 2, MACHINES / 2, MACHINES] {
        points.push(format!("rewrite-machine:{n}"));
    }
    points.push("journal:1".into());
    // Commit: cert dirs first, then one rename per machine.
    for n in [1, 2, 3, 4, 6, 9, 13, 17, 21, 25, 28, 30, 31, MACHINES + 2] {
        points.push(format!("commit-step:{n}"));
    }
    assert!(points.len() >= 50, "{}", points.len());

    let mut finished = 0;
    for (i, point) in points.iter().enumerate() {
        let victim = dir.copy_fixture(MACOS, &format!("v{i}"));
        import_killed_at(&dir, &victim, "big.mbundle", key, point);
        // The next run (any command on the store) reports and resolves the leftovers.
        let ls = dir.run(&["-s", victim.to_str().unwrap(), "ls"]).ok();
        assert!(
            ls.stderr.contains("note: "),
            "{point}: leftovers not reported: {}",
            ls.stderr
        );
        let now = tree_relative(&victim);
        assert!(
            now == before_ref || now == after_ref,
            "{point}: the store is neither as before nor fully imported"
        );
        if now == after_ref {
            finished += 1;
        }
        assert!(
            !fs::read_dir(&victim).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".mbundle")),
            "{point}: staging or lock left behind"
        );
        fs::remove_dir_all(&victim).unwrap();
    }
    // Kills after the journal was written are finished by the next run.
    assert_eq!(
        finished,
        points
            .iter()
            .filter(|p| p.starts_with("commit-step"))
            .count()
    );
}

/// Into a new store the staged `machines/` moves whole, in the commit's last step. Killed
/// before any step, the next run finishes the import; and when docker-machine made
/// `machines/` for a machine of its own meanwhile, the staged machines move into it one by
/// one, beside that machine, replacing nothing.
#[test]
fn a_new_store_killed_while_committing_is_finished_even_if_machines_appeared() {
    let dir = Dir::new();
    dir.export_demo(&fixtures().join(LINUX), "b.mbundle", &["--all"])
        .ok();
    let key = demo_key();
    let key = key.to_str().unwrap();
    let reference = dir.path("ref/.docker/machine");
    dir.run(&[
        "-s",
        reference.to_str().unwrap(),
        "import",
        "b.mbundle",
        "-i",
        key,
    ])
    .ok();
    let after_ref = tree_relative(&reference);
    assert!(after_ref.contains_key("machines/db/config.json"));
    // certs/, imported-certs/, the custom set in it, machines/.
    for step in 1..=4 {
        for appeared in [false, true] {
            let victim = dir.path(&format!("v{step}{appeared}/.docker/machine"));
            import_killed_at(
                &dir,
                &victim,
                "b.mbundle",
                key,
                &format!("commit-step:{step}"),
            );
            let theirs = victim.join("machines/theirs");
            if appeared {
                fs::create_dir_all(&theirs).unwrap();
                fs::write(theirs.join("config.json"), b"{}").unwrap();
            }
            let ls = dir.run(&["-s", victim.to_str().unwrap(), "ls"]).ok();
            assert!(
                ls.stderr.contains("note: finished"),
                "step {step}: {}",
                ls.stderr
            );
            let mut now = tree_relative(&victim);
            if appeared {
                assert_eq!(fs::read(theirs.join("config.json")).unwrap(), b"{}");
                now.retain(|k, _| !k.starts_with("machines/theirs"));
                // Made by "docker-machine" here, with its own mode.
                now.remove("machines");
                let mut want = after_ref.clone();
                want.remove("machines");
                assert_eq!(now, want, "step {step}, machines/ appeared");
            } else {
                assert_eq!(now, after_ref, "step {step}");
            }
        }
    }
}
