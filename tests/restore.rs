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
    assert_eq!(d.run(&["ls", "--json"]).ok().stdout.trim(), "[]");
    let r = d.run(&["doctor"]).ok();
    assert!(r.stderr.contains("no machines"), "{}", r.stderr);
    d.run(&["env", "web"])
        .fails(1, &["no machine named web", "this store has no machines"]);
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
