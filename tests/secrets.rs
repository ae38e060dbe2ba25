//! Secrets: key material and passphrases never reach the terminal, no temp file holds key
//! material outside the store's own staging directory, and a bundle is never readable by
//! others, not even half-written.

use std::fs;

use crate::util::*;

/// Private key bodies of the fixture store, and its cloud secret.
fn secrets() -> Vec<String> {
    let store = fixtures().join(LINUX);
    let mut out = vec!["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string()];
    for f in [
        "certs/ca-key.pem",
        "certs/key.pem",
        "machines/web/server-key.pem",
        "machines/web/id_rsa",
    ] {
        let text = fs::read_to_string(store.join(f)).unwrap();
        // A line from the middle of the base64 body.
        out.push(text.lines().nth(5).unwrap().to_string());
    }
    out.push(
        fs::read_to_string(demo_key())
            .unwrap()
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .unwrap()
            .to_string(),
    );
    out
}

fn assert_clean(what: &str, run: &Run) {
    for s in secrets() {
        assert!(
            !run.stderr.contains(&s),
            "{what}: stderr shows secret material"
        );
        assert!(
            !run.stdout.contains(&s),
            "{what}: stdout shows secret material"
        );
    }
}

#[test]
fn secrets_never_reach_the_terminal() {
    let dir = Dir::new();
    let store = fixtures().join(LINUX);
    let s = store.to_str().unwrap();
    let secret_key = fs::read_to_string(demo_key())
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_string();
    let r = demo_recipient();

    let run = dir.run(&[
        "-s",
        s,
        "export",
        "web",
        "-r",
        &secret_key,
        "-o",
        "x.mbundle",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("secret key, not shown"),
        "{}",
        run.stderr
    );
    assert_clean("secret key given as -r", &run);

    fs::write(dir.path("recipients.txt"), format!("{r}\n{secret_key}\n")).unwrap();
    let run = dir.run(&[
        "-s",
        s,
        "export",
        "web",
        "-R",
        "recipients.txt",
        "-o",
        "x.mbundle",
    ]);
    assert_eq!(run.code, 2);
    assert_clean("secret key in a recipients file", &run);

    // A damaged SSH key given as an identity.
    let id = fs::read_to_string(store.join("machines/web/id_rsa")).unwrap();
    fs::write(
        dir.path("broken_id"),
        id.replace("-----END", "garbage\n-----END"),
    )
    .unwrap();
    dir.run(&["-s", s, "export", "web", "-r", &r, "-o", "b.mbundle"])
        .ok();
    let run = dir.run(&["verify", "b.mbundle", "-i", "broken_id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_clean("damaged identity", &run);

    // A wrong passphrase is not echoed either.
    fs::write(dir.path("pass.txt"), "correct horse battery staple\n").unwrap();
    fs::write(dir.path("wrong.txt"), "my very secret guess\n").unwrap();
    dir.run(&[
        "-s",
        s,
        "export",
        "db",
        "--passphrase-file",
        "pass.txt",
        "-o",
        "p.mbundle",
    ])
    .ok();
    let run = dir.run(&["verify", "p.mbundle", "--passphrase-file", "wrong.txt"]);
    assert_eq!(run.code, 1);
    assert!(!run.stderr.contains("my very secret guess") && !run.stderr.contains("correct horse"));

    // Everything a user sees while moving the whole store around.
    let k = demo_key();
    let k = k.to_str().unwrap();
    dir.run(&["-s", s, "export", "--all", "-r", &r, "-o", "all.mbundle"])
        .ok();
    let target = dir.path("t");
    let t = target.to_str().unwrap();
    for args in [
        vec!["-s", s, "ls"],
        vec!["-s", s, "ls", "--json"],
        vec!["inspect", "all.mbundle", "-i", k],
        vec!["inspect", "all.mbundle", "-i", k, "--json"],
        vec!["verify", "all.mbundle", "-i", k],
        vec!["-s", t, "import", "all.mbundle", "-i", k, "--dry-run"],
        vec!["-s", t, "import", "all.mbundle", "-i", k],
        vec!["-s", t, "env", "db"],
    ] {
        let run = dir.run(&args);
        assert_clean(&args.join(" "), &run);
    }
}

#[test]
fn no_key_material_lands_in_the_temp_directory() {
    let dir = Dir::new();
    let tmp = dir.path("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let store = fixtures().join(LINUX);
    let r = demo_recipient();
    let k = demo_key();
    let target = dir.path("t");
    for args in [
        vec![
            "-s",
            store.to_str().unwrap(),
            "export",
            "--all",
            "--include-disks",
            "-r",
            &r,
            "-o",
            "a.mbundle",
        ],
        vec![
            "-s",
            target.to_str().unwrap(),
            "import",
            "a.mbundle",
            "-i",
            k.to_str().unwrap(),
        ],
    ] {
        let out = dir.cmd().env("TMPDIR", &tmp).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        fs::read_dir(&tmp).unwrap().count(),
        0,
        "something was written to TMPDIR"
    );
}

#[test]
fn a_bundle_is_never_readable_by_others_even_half_written() {
    let dir = Dir::new();
    let store = fixtures().join(LINUX);
    let r = demo_recipient();
    // umask 000 would make a naive writer create 0666 files.
    let run = |extra: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask 000; exec '{}' -s '{}' export --all -r {r} -o out.mbundle {extra}",
                env!("CARGO_BIN_EXE_mbundle"),
                store.display()
            ))
            .current_dir(dir.root())
            .output()
            .unwrap()
    };
    assert!(run("").status.success());
    #[cfg(unix)]
    assert_eq!(mode(&dir.path("out.mbundle")), 0o600);
    assert!(run("--force").status.success());
    #[cfg(unix)]
    assert_eq!(mode(&dir.path("out.mbundle")), 0o600);

    // Killed in the middle of writing: what is left is encrypted and private.
    fs::remove_file(dir.path("out.mbundle")).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000; MBUNDLE_TEST_FAILPOINT=export-file:20:sigkill exec '{}' -s '{}' export --all -r {r} -o out.mbundle",
            env!("CARGO_BIN_EXE_mbundle"),
            store.display()
        ))
        .current_dir(dir.root())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        !dir.path("out.mbundle").exists(),
        "a half-written bundle took the final name"
    );
    let partial: Vec<_> = fs::read_dir(dir.root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(partial.len(), 1, "{partial:?}");
    #[cfg(unix)]
    assert_eq!(mode(&partial[0]), 0o600);
    let head = fs::read(&partial[0]).unwrap();
    // Buffered writes may not have reached the disk yet; whatever did is age ciphertext.
    let magic = b"age-encryption.org/v1\n";
    let n = head.len().min(magic.len());
    assert_eq!(
        &head[..n],
        &magic[..n],
        "a partial bundle must be ciphertext"
    );
}
