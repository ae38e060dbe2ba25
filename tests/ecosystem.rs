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

/// Each shell's completion script parses in that shell (where installed; CI installs zsh
/// and fish), and completes mbundle's commands.
#[test]
fn completion_scripts_parse_in_their_shells() {
    let dir = crate::util::Dir::new();
    for (shell, checker, args) in [
        ("bash", "bash", &["-n"][..]),
        ("zsh", "zsh", &["-n"][..]),
        ("fish", "fish", &["--no-execute"][..]),
        ("powershell", "", &[][..]),
        ("elvish", "", &[][..]),
    ] {
        let r = dir.run(&["completions", shell]).ok();
        assert!(
            r.stdout.contains("regenerate-certs"),
            "{shell}: {}",
            r.stdout
        );
        assert!(r.stdout.contains("share"), "{shell}");
        if checker.is_empty() {
            continue;
        }
        let Some(bin) = crate::util::peer(checker) else {
            continue;
        };
        let file = dir.path(&format!("mbundle.{shell}"));
        fs::write(&file, &r.stdout).unwrap();
        let out = std::process::Command::new(bin)
            .args(args)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{shell} -n: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // In bash, the script really completes: `mbundle sh<TAB>` offers share.
    let Some(bash) = crate::util::peer("bash") else {
        return;
    };
    let script = format!(
        "source '{}'; COMP_WORDS=(mbundle sh); COMP_CWORD=1; COMP_LINE='mbundle sh'; COMP_POINT=10; _mbundle mbundle sh mbundle; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        dir.path("mbundle.bash").display()
    );
    let out = std::process::Command::new(bash)
        .args(["-c", &script])
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&out.stdout);
    assert!(offered.lines().any(|l| l == "share"), "{offered}");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let dir = crate::util::Dir::new();
    dir.run(&["completions", "tcsh"])
        .fails(2, &["invalid value 'tcsh'"]);
}
