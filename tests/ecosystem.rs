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

/// As docker-machine: a command that takes one machine uses `default` when none is named.
#[test]
fn one_machine_commands_default_to_the_machine_named_default() {
    let dir = crate::util::Dir::new();
    let src = dir.materialize_alice();
    dir.export_demo(&src, "web.mbundle", &["web"]).ok();
    let store = dir.path("store");
    dir.import_demo(&store, "web.mbundle", &["--rename", "web=default"])
        .ok();
    let s = store.to_str().unwrap();
    let env = dir.run(&["-s", s, "env", "--shell", "bash"]).ok();
    assert!(
        env.stdout
            .contains("export DOCKER_MACHINE_NAME=\"default\""),
        "{}",
        env.stdout
    );
    // ("default" is the docker CLI's own context: the context needs another name.)
    dir.run(&[
        "-s",
        s,
        "context",
        "--context-name",
        "dm-default",
        "--output",
        "default.dockercontext",
    ])
    .ok();
    assert!(dir.path("default.dockercontext").is_file());
    let regen = dir.run(&["-s", s, "regenerate-certs"]).ok();
    assert!(
        regen.stdout.contains("machines/default/server.pem"),
        "{}",
        regen.stdout
    );
    // A store without one says so, and names the machines it has.
    let other = src.to_str().unwrap();
    dir.run(&["-s", other, "env"]).fails(
        2,
        &[
            "no machine named default",
            "name one of: db, edge, vbox, web",
        ],
    );
}

/// Exit status 2 whenever what is needed was not given.
#[test]
fn missing_keys_and_passphrases_are_usage_errors() {
    let dir = crate::util::Dir::new();
    let store = dir.materialize_alice();
    let s = store.to_str().unwrap();
    fs::write(dir.path("pass.txt"), "correct horse\n").unwrap();
    dir.run(&[
        "-s",
        s,
        "export",
        "web",
        "--passphrase-file",
        "pass.txt",
        "-o",
        "p.mbundle",
    ])
    .ok();
    dir.export_demo(&store, "r.mbundle", &["web"]).ok();
    let key = crate::util::demo_key();
    let key = key.to_str().unwrap();
    dir.run(&["inspect", "p.mbundle"])
        .fails(2, &["encrypted with a passphrase"]);
    dir.run(&["inspect", "p.mbundle", "-i", key])
        .fails(2, &["not to an identity"]);
    dir.run(&["inspect", "r.mbundle"])
        .fails(2, &["no identity was given"]);
    dir.run(&["inspect", "r.mbundle", "--passphrase-file", "pass.txt"])
        .fails(2, &["not with a passphrase"]);
    dir.run(&["-s", s, "export", "web", "-o", "x.mbundle"])
        .fails(2, &["no recipient"]);
}

/// Colour: clap's help and usage errors are coloured on a terminal only, never with
/// NO_COLOR or --color never; --color always colours a pipe.
#[test]
fn no_color_and_color_are_honoured() {
    let Some(script) = crate::util::peer("script") else {
        return;
    };
    let bin = env!("CARGO_BIN_EXE_mbundle");
    let on_tty = |cmdline: &str, no_color: bool| -> bool {
        let mut c = std::process::Command::new(&script);
        c.args(["-qec", cmdline, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let out = c.output().unwrap();
        out.stdout.contains(&0x1b)
    };
    assert!(
        on_tty(&format!("{bin} export --help"), false),
        "coloured on a terminal"
    );
    assert!(!on_tty(&format!("{bin} export --help"), true), "NO_COLOR");
    assert!(!on_tty(
        &format!("{bin} --color never export --help"),
        false
    ));
    assert!(!on_tty(&format!("{bin} export --bogus"), true));
    let piped = std::process::Command::new(bin)
        .args(["--color=always", "export", "--help"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(piped.stdout.contains(&0x1b), "--color always");
    let piped = std::process::Command::new(bin)
        .args(["export", "--help"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(
        !piped.stdout.contains(&0x1b),
        "never into a pipe by default"
    );
}

/// Messages that say what to do.
#[test]
fn wrong_keys_and_wrong_flags_are_named_with_what_to_do() {
    let dir = crate::util::Dir::new();
    let store = dir.materialize_alice();
    let s = store.to_str().unwrap();
    // An identity that is not a recipient: which kinds the bundle is for, and the fix.
    let Some(keygen) = crate::util::peer("ssh-keygen") else {
        return;
    };
    let st = std::process::Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(dir.path("id_ed25519"))
        .status()
        .unwrap();
    assert!(st.success());
    let ssh_pub = fs::read_to_string(dir.path("id_ed25519.pub")).unwrap();
    let r = crate::util::demo_recipient();
    dir.run(&[
        "-s",
        s,
        "export",
        "web",
        "-r",
        &r,
        "-r",
        ssh_pub.trim(),
        "-o",
        "b.mbundle",
    ])
    .ok();
    fs::write(
        dir.path("other.txt"),
        "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n",
    )
    .unwrap();
    dir.run(&["inspect", "b.mbundle", "-i", "other.txt"]).fails(
        1,
        &[
            "it is encrypted to recipients of kind X25519 (an age key), SSH (ssh-ed25519)",
            "hint: ask the sender to export again to the public key of your identity: `age-keygen -y KEY.txt`",
        ],
    );
    // -r given a file.
    dir.run(&[
        "-s",
        s,
        "export",
        "web",
        "-r",
        "id_ed25519.pub",
        "-o",
        "x.mbundle",
    ])
    .fails(2, &["this is a file name", "-R id_ed25519.pub"]);
    // An existing docker context: the hint names it.
    dir.run(&["-s", s, "context", "web", "--context-name", "web-prod"])
        .ok();
    dir.run(&["-s", s, "context", "web", "--context-name", "web-prod"])
        .fails(1, &["docker context rm web-prod"]);
}

#[test]
fn doctor_s_permission_fix_is_a_command_that_pastes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::util::Dir::new();
    let store = dir.materialize_alice();
    let s = store.to_str().unwrap();
    for f in ["machines/web/key.pem", "machines/web/server-key.pem"] {
        fs::set_permissions(store.join(f), fs::Permissions::from_mode(0o644)).unwrap();
    }
    let r = dir.run(&["-s", s, "doctor", "web"]);
    let fix = r
        .stdout
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("-> chmod 600 "))
        .unwrap_or_else(|| panic!("no chmod line: {}", r.stdout))
        .to_string();
    let st = std::process::Command::new("sh")
        .args(["-c", &format!("chmod 600 {fix}")])
        .status()
        .unwrap();
    assert!(st.success());
    let r = dir.run(&["-s", s, "doctor", "-v", "web"]);
    assert!(
        r.stdout
            .contains("keys and config.json are private to their owner"),
        "{}",
        r.stdout
    );
}

/// The fields docs/json.md documents for a command: (top-level, `array[].item`, optional).
fn documented(command: &str) -> Vec<(String, bool)> {
    let doc = repo_file("docs/json.md");
    let section = doc
        .split(&format!("\n## {command}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("docs/json.md has no section {command}"))
        .split("\n## ")
        .next()
        .unwrap();
    section
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("| `")?;
            let (field, after) = rest.split_once('`')?;
            let optional = after
                .trim_start_matches(" |")
                .trim_start()
                .starts_with("optional");
            Some((field.to_string(), optional))
        })
        .collect()
}

/// Checks one command's JSON document against docs/json.md, both ways.
pub(crate) fn check_against_doc(command: &str, stdout: &str) {
    let doc: serde_json::Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("{command} --json is not JSON ({e}): {stdout}"));
    let obj = doc
        .as_object()
        .unwrap_or_else(|| panic!("{command}: not an object"));
    assert_eq!(
        obj.keys().next().map(String::as_str),
        Some("version"),
        "{command}"
    );
    assert_eq!(doc["version"], 1, "{command}");
    let fields = documented(command);
    let is_documented = |f: &str| fields.iter().any(|(d, _)| d == f);
    for (key, value) in obj {
        let as_array = format!("{key}[]");
        assert!(
            is_documented(key) || is_documented(&as_array),
            "{command} --json prints {key:?}, which docs/json.md does not document"
        );
        if let Some(first) = value
            .as_array()
            .and_then(|a| a.first())
            .and_then(|v| v.as_object())
        {
            for item_key in first.keys() {
                let f = format!("{key}[].{item_key}");
                assert!(
                    is_documented(&f),
                    "{command} --json prints {f}, undocumented"
                );
            }
        }
    }
    for (field, optional) in &fields {
        if *optional || field.contains("[].") {
            continue;
        }
        let key = field.trim_end_matches("[]");
        assert!(
            obj.contains_key(key),
            "docs/json.md documents {command} {field}, not printed"
        );
    }
}

#[test]
fn every_json_document_is_a_versioned_object_as_documented() {
    let dir = crate::util::Dir::new();
    let store = dir.materialize_alice();
    let s = store.to_str().unwrap();
    let r = crate::util::demo_recipient();
    let key = crate::util::demo_key();
    let k = key.to_str().unwrap();
    let json = |args: &[&str]| {
        let mut all = args.to_vec();
        all.push("--json");
        let out = dir.run(&all);
        assert!(out.code == 0 || out.code == 1, "{args:?}: {}", out.stderr);
        out.stdout
    };
    check_against_doc("ls", &json(&["-s", s, "ls"]));
    check_against_doc(
        "export",
        &json(&["-s", s, "export", "--all", "-r", &r, "-o", "b.mbundle"]),
    );
    check_against_doc("inspect", &json(&["inspect", "b.mbundle", "-i", k]));
    check_against_doc("verify", &json(&["verify", "b.mbundle", "-i", k]));
    let t = dir.path("t");
    let t = t.to_str().unwrap();
    check_against_doc(
        "import",
        &json(&["-s", t, "import", "b.mbundle", "-i", k, "--dry-run"]),
    );
    check_against_doc("import", &json(&["-s", t, "import", "b.mbundle", "-i", k]));
    // A changed machine, so diff's items are checked too.
    fs::write(
        store.join("machines/web/id_rsa.pub"),
        "ssh-ed25519 AAAA changed\n",
    )
    .unwrap();
    check_against_doc("diff", &json(&["-s", s, "diff", "b.mbundle", "-i", k]));
    check_against_doc("doctor", &json(&["-s", s, "doctor"]));
    check_against_doc(
        "context",
        &json(&["-s", s, "context", "web", "--output", "web.dockercontext"]),
    );
    check_against_doc(
        "regenerate-certs",
        &json(&["-s", s, "regenerate-certs", "web", "--client-certs"]),
    );
    check_against_doc("renew-ca", &json(&["-s", s, "renew-ca"]));
    check_against_doc(
        "share",
        &json(&[
            "-s",
            s,
            "share",
            "db",
            "--yes",
            "--as",
            "bob",
            "-r",
            &r,
            "-o",
            "s.mbundle",
        ]),
    );
    check_against_doc(
        "import",
        &json(&[
            "-s",
            t,
            "import",
            "s.mbundle",
            "-i",
            k,
            "--rename",
            "db=db2",
        ]),
    );
    check_against_doc("inspect", &json(&["inspect", "s.mbundle", "-i", k]));
}

/// regenerate-certs as docker-machine users need it: RSA keys by default, the CA's ca.pem
/// for a none-driver machine, no rewrite for an unchanged address, the restart said plainly.
#[test]
fn regenerate_certs_fits_docker_machine() {
    let dir = crate::util::Dir::new();
    let store = dir.copy_fixture(crate::util::LINUX, "store");
    let s = store.to_str().unwrap();
    let web = store.join("machines/web");
    // The address it already has: config.json untouched, no .old copy of it.
    let config_before = fs::read(web.join("config.json")).unwrap();
    let r = dir
        .run(&["-s", s, "regenerate-certs", "web", "--ip", "203.0.113.10"])
        .ok();
    assert!(
        r.stdout.contains("config.json already gives 203.0.113.10"),
        "{}",
        r.stdout
    );
    assert_eq!(fs::read(web.join("config.json")).unwrap(), config_before);
    let olds: Vec<String> = fs::read_dir(&web)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".old"))
        .collect();
    assert!(
        !olds.iter().any(|n| n.starts_with("config.json")),
        "{olds:?}"
    );
    // RSA 2048 by default, PKCS#1 like docker-machine's; ECDSA when asked.
    let key = fs::read_to_string(web.join("server-key.pem")).unwrap();
    assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----"), "{key}");
    if let Some(openssl) = crate::util::peer("openssl") {
        let out = std::process::Command::new(&openssl)
            .args(["rsa", "-noout", "-text", "-in"])
            .arg(web.join("server-key.pem"))
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("2048 bit"));
        let out = std::process::Command::new(&openssl)
            .args(["verify", "-purpose", "sslserver", "-CAfile"])
            .arg(store.join("certs/ca.pem"))
            .arg(web.join("server.pem"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    dir.run(&["-s", s, "regenerate-certs", "web", "--key-type", "ecdsa"])
        .ok();
    let key = fs::read_to_string(web.join("server-key.pem")).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
    // The restart, said plainly, and the order that keeps containers running.
    assert!(
        r.stdout.contains(
            "A restart STOPS\nEVERY RUNNING CONTAINER unless the daemon has live-restore enabled"
        ),
        "{}",
        r.stdout
    );
    let reload = r.stdout.find("'sudo systemctl reload docker'").unwrap();
    let restart = r.stdout.find("'sudo systemctl restart docker'").unwrap();
    assert!(reload < restart, "reload first: {}", r.stdout);

    // A none-driver machine has no ca.pem of its own: the CA's is the one to copy.
    let mac = dir.copy_fixture(crate::util::MACOS, "mac");
    let r = dir
        .run(&[
            "-s",
            mac.to_str().unwrap(),
            "regenerate-certs",
            "remote",
            "--json",
        ])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["copy"][0]["local"],
        mac.join("certs/ca.pem").display().to_string()
    );
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .contains("the none driver never copies it"),
        "{v}"
    );
}
