//! Fitting the ecosystem (issue 14): installs with the tested versions, a package without
//! test material, completions, man pages, JSON documents, docker-machine's conventions.

use std::fs;
use std::path::Path;

fn repo_file(name: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

#[test]
fn the_readme_installs_the_tested_versions_and_the_package_ships_no_fixtures() {
    let readme = repo_file("README.md");
    assert!(readme.contains("cargo install --locked --path ."));
    for line in readme.lines().filter(|l| l.contains("cargo install ")) {
        assert!(
            line.contains("--locked") || line.contains("cargo-fuzz"),
            "an install without the tested versions: {line}"
        );
    }
    let manifest = repo_file("Cargo.toml");
    for key in [
        "license = ",
        "repository = ",
        "keywords = ",
        "categories = ",
        "include = [",
    ] {
        assert!(manifest.contains(key), "Cargo.toml lacks {key}");
    }
    let include = manifest
        .split("include = [")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .unwrap();
    for never in ["fixtures", "tests", "bench", "fuzz", "examples"] {
        assert!(!include.contains(never), "the package would ship {never}/");
    }
    for file in ["LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(include.contains(file));
        assert!(!repo_file(file).is_empty());
    }
    // CI builds the package from what it ships, with the locked versions.
    assert!(repo_file(".ci/run").contains("cargo package --locked"));
}
