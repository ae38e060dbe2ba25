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
    assert!(std::process::Command::new("mkfifo")
        .arg(staging.join("journal.json"))
        .status()
        .unwrap()
        .success());
    d.run(&["-s", store.to_str().unwrap(), "ls"])
        .fails(1, &["journal cannot be read", "not a regular file"]);
    fs::remove_file(staging.join("journal.json")).unwrap();
    let f = fs::File::create(staging.join("journal.json")).unwrap();
    f.set_len(1 << 30).unwrap();
    d.run(&["-s", store.to_str().unwrap(), "ls"])
        .fails(1, &["journal cannot be read", "larger than"]);
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
    assert!(std::process::Command::new("mkfifo")
        .arg(&lock)
        .status()
        .unwrap()
        .success());
    d.import_demo(&store, "b.mbundle", &[])
        .fails(1, &["a FIFO, not mbundle's lock file"]);
    fs::remove_file(&lock).unwrap();
    d.import_demo(&store, "b.mbundle", &[]).ok();
    assert!(!lock.exists());
    let _: &Path = &store;
}
