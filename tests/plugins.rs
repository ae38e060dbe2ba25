//! Hardware keys through age plugins, tested with `age-plugin-mbtest` (examples/), a
//! test-only plugin speaking the real plugin protocol: recipients `age1mbtest1...`, identity
//! files `AGE-PLUGIN-MBTEST-1...`, a PIN asked on the terminal, a "touch" message, an
//! unplugged device, a binary not installed; and the reference `age` CLI opening the same
//! bundle with the same identity.

use crate::util::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The directory holding the built `age-plugin-mbtest` (cargo builds examples for
/// `cargo test`; a narrower `cargo test --test tests` run builds it here).
fn plugin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_BIN_EXE_mbundle"))
            .parent()
            .unwrap()
            .join("examples");
        if !dir.join("age-plugin-mbtest").is_file() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--locked", "--example", "age-plugin-mbtest"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .unwrap();
            assert!(status.success(), "building the test plugin failed");
        }
        dir
    })
    .clone()
}

/// PATH with the test plugin first.
fn path_with_plugin() -> String {
    format!(
        "{}:{}",
        plugin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A hardware key on a test device: its identity file and recipient.
struct Key {
    identity: PathBuf,
    recipient: String,
}

/// Makes a key on the device `dev` (with a PIN when given), its identity file at `file`.
fn make_key(dir: &Dir, dev: &Path, file: &str, pin: Option<&str>) -> Key {
    let mut c = Command::new(plugin_dir().join("age-plugin-mbtest"));
    c.env("MBTEST_DEVICE", dev);
    match pin {
        Some(p) => c.env("MBTEST_PIN", p),
        None => c.env_remove("MBTEST_PIN"),
    };
    let out = c.output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# recipient: "))
        .unwrap()
        .to_string();
    assert!(recipient.starts_with("age1mbtest1"), "{recipient}");
    let identity = dir.path(file);
    fs::write(&identity, &text).unwrap();
    Key {
        identity,
        recipient,
    }
}

/// mbundle with the plugin on PATH, the device plugged in, and a log of what the plugin did.
fn with_device(dir: &Dir, dev: &Path, args: &[&str]) -> Run {
    run_cmd(
        dir.cmd()
            .env("PATH", path_with_plugin())
            .env("MBTEST_DEVICE", dev)
            .env("MBTEST_LOG", dir.path("plugin.log"))
            .args(args),
    )
}

fn run_cmd(c: &mut Command) -> Run {
    Run::from(c.output().unwrap())
}

fn plugin_log(dir: &Dir) -> String {
    fs::read_to_string(dir.path("plugin.log")).unwrap_or_default()
}

fn fixture_store(dir: &Dir) -> PathBuf {
    dir.copy_fixture(LINUX, "store")
}

#[test]
fn a_bundle_for_a_hardware_key_opens_with_it_in_mbundle_and_the_reference_age() {
    let dir = Dir::new();
    let dev = dir.path("device");
    let key = make_key(&dir, &dev, "yubi.txt", None);
    let store = fixture_store(&dir);
    let s = store.to_str().unwrap();
    with_device(
        &dir,
        &dev,
        &[
            "-s",
            s,
            "export",
            "--all",
            "-r",
            &key.recipient,
            "-o",
            "ca.mbundle",
        ],
    )
    .ok();
    assert_eq!(
        plugin_log(&dir),
        "wrap\n",
        "the plugin wrapped the file key"
    );
    let bytes = fs::read(dir.path("ca.mbundle")).unwrap();
    let header = String::from_utf8_lossy(&bytes[..200]);
    assert!(header.contains("-> mbtest "), "{header}");

    let id = key.identity.to_str().unwrap();
    with_device(&dir, &dev, &["verify", "ca.mbundle", "-i", id]).ok();
    let target = dir.path("restored");
    let t = target.to_str().unwrap();
    let r = with_device(&dir, &dev, &["-s", t, "import", "ca.mbundle", "-i", id]).ok();
    assert!(
        r.stderr.contains("Touch your mbtest key now"),
        "the plugin's message is shown: {}",
        r.stderr
    );
    assert!(target.join("certs/ca-key.pem").is_file());
    assert!(plugin_log(&dir).ends_with("unwrap\n"));

    // The reference age CLI, with the same identity file and the same plugin binary.
    let Some(age) = peer("age") else { return };
    let out = Command::new(age)
        .args(["-d", "-i", id, "ca.mbundle"])
        .current_dir(dir.root())
        .env("PATH", path_with_plugin())
        .env("MBTEST_DEVICE", &dev)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "age -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A bundle is gzip of several members (the manifest ends its own): a whole-stream reader.
    let mut gz = flate2::read::MultiGzDecoder::new(out.stdout.as_slice());
    let mut tarball = Vec::new();
    std::io::Read::read_to_end(&mut gz, &mut tarball).unwrap();
    let names: Vec<String> = tar::Archive::new(tarball.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names[0], "mbundle.json");
    assert!(
        names.iter().any(|n| n.ends_with("/ca-key.pem")),
        "{names:?}"
    );
}

#[test]
fn a_hardware_key_and_a_paper_key_each_open_the_same_backup() {
    let dir = Dir::new();
    let dev = dir.path("device");
    let key = make_key(&dir, &dev, "yubi.txt", None);
    let store = fixture_store(&dir);
    // The recipients file a user keeps: the YubiKey and the offline paper key.
    fs::write(
        dir.path("backup-recipients.txt"),
        format!(
            "# YubiKey 5 (slot 1)\n{}\n# paper key in the safe\n{}\n",
            key.recipient,
            demo_recipient()
        ),
    )
    .unwrap();
    let s = store.to_str().unwrap();
    with_device(
        &dir,
        &dev,
        &[
            "-s",
            s,
            "export",
            "--all",
            "-R",
            "backup-recipients.txt",
            "-o",
            "b.mbundle",
            "-q",
        ],
    )
    .ok();
    // The paper key alone, without the plugin installed or the device present.
    let paper = demo_key();
    let r = run_cmd(dir.cmd().env("PATH", "/usr/bin:/bin").args([
        "verify",
        "b.mbundle",
        "-i",
        paper.to_str().unwrap(),
    ]));
    r.ok();
    // The hardware key alone.
    with_device(
        &dir,
        &dev,
        &["verify", "b.mbundle", "-i", key.identity.to_str().unwrap()],
    )
    .ok();
    // Another hardware key is not this one.
    let other_dev = dir.path("other-device");
    let other = make_key(&dir, &other_dev, "other.txt", None);
    with_device(
        &dir,
        &other_dev,
        &[
            "verify",
            "b.mbundle",
            "-i",
            other.identity.to_str().unwrap(),
        ],
    )
    .fails(1, &["none of the identities given can open"]);
}

#[test]
fn a_missing_plugin_binary_is_named_before_any_work() {
    let dir = Dir::new();
    let dev = dir.path("device");
    let key = make_key(&dir, &dev, "yubi.txt", None);
    let store = fixture_store(&dir);
    let s = store.to_str().unwrap();
    let no_plugin = |args: &[&str]| {
        run_cmd(
            dir.cmd()
                .env("PATH", "/usr/bin:/bin")
                .env("MBTEST_DEVICE", &dev)
                .args(args),
        )
    };
    let r = no_plugin(&[
        "-s",
        s,
        "export",
        "--all",
        "-r",
        &key.recipient,
        "-o",
        "x.mbundle",
    ])
    .fails(
        1,
        &[
            "age-plugin-mbtest is not installed",
            "hint: install age-plugin-mbtest",
        ],
    );
    assert!(
        !r.stderr.contains("warning:"),
        "refused before planning: {}",
        r.stderr
    );
    assert!(!dir.path("x.mbundle").exists());

    with_device(
        &dir,
        &dev,
        &[
            "-s",
            s,
            "export",
            "--all",
            "-r",
            &key.recipient,
            "-o",
            "x.mbundle",
            "-q",
        ],
    )
    .ok();
    no_plugin(&["inspect", "x.mbundle", "-i", key.identity.to_str().unwrap()])
        .fails(1, &["age-plugin-mbtest is not installed"]);
}

#[test]
fn an_unplugged_key_says_so_and_imports_nothing() {
    let dir = Dir::new();
    let dev = dir.path("device");
    let key = make_key(&dir, &dev, "yubi.txt", None);
    let store = fixture_store(&dir);
    let s = store.to_str().unwrap();
    with_device(
        &dir,
        &dev,
        &[
            "-s",
            s,
            "export",
            "--all",
            "-r",
            &key.recipient,
            "-o",
            "b.mbundle",
            "-q",
        ],
    )
    .ok();
    let target = dir.path("target");
    let r = run_cmd(
        dir.cmd()
            .env("PATH", path_with_plugin())
            .env("MBTEST_DEVICE", dir.path("nothing-plugged-in"))
            .args(["-s", target.to_str().unwrap(), "import", "b.mbundle", "-i"])
            .arg(&key.identity),
    );
    r.fails(
        1,
        &[
            "age plugin:",
            "is not on this device",
            "hint: check that the hardware key is plugged in",
        ],
    );
    assert!(!target.join("machines").exists(), "nothing imported");
}

/// The PIN prompt reaches the person at the terminal (a pseudo-terminal made by `script`)
/// and the right PIN opens the bundle; without a terminal the plugin cannot ask and the
/// import fails, naming why.
#[test]
fn the_plugin_asks_its_pin_on_the_terminal() {
    let Some(script) = peer("script") else { return };
    let dir = Dir::new();
    let dev = dir.path("device");
    let key = make_key(&dir, &dev, "yubi.txt", Some("4321"));
    let store = fixture_store(&dir);
    let s = store.to_str().unwrap();
    with_device(
        &dir,
        &dev,
        &[
            "-s",
            s,
            "export",
            "vbox",
            "-r",
            &key.recipient,
            "-o",
            "b.mbundle",
            "-q",
        ],
    )
    .ok();
    let id = key.identity.to_str().unwrap();
    let inspect = |pin: &str| {
        let cmdline = format!(
            "'{}' inspect b.mbundle -i '{}'",
            env!("CARGO_BIN_EXE_mbundle"),
            id
        );
        let mut child = Command::new(&script)
            .args(["-qec", &cmdline, "/dev/null"])
            .current_dir(dir.root())
            .env("HOME", dir.root())
            .env("PATH", path_with_plugin())
            .env("MBTEST_DEVICE", &dev)
            .env("MBTEST_LOG", dir.path("plugin.log"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Typed after the prompt is up, as a person would.
        let mut stdin = child.stdin.take().unwrap();
        let pin = pin.to_string();
        let typist = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            let _ = std::io::Write::write_all(&mut stdin, format!("{pin}\n").as_bytes());
            std::thread::sleep(std::time::Duration::from_millis(3000));
        });
        let out = child.wait_with_output().unwrap();
        typist.join().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, screen) = inspect("4321");
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Touch your mbtest key now"), "{screen}");
    assert!(
        screen.contains("Enter the PIN of your mbtest key"),
        "{screen}"
    );
    assert!(!screen.contains("4321"), "the PIN is not echoed: {screen}");
    assert!(
        screen.contains("machines:") || screen.contains("vbox"),
        "{screen}"
    );
    assert!(plugin_log(&dir).contains("pin-ok"));

    let (code, screen) = inspect("0000");
    assert_eq!(code, Some(1), "{screen}");
    assert!(screen.contains("wrong PIN"), "{screen}");

    // No terminal at all (a new session, stdin from /dev/null).
    let Some(setsid) = peer("setsid") else { return };
    let r = run_cmd(
        Command::new(setsid)
            .args([
                "-w",
                env!("CARGO_BIN_EXE_mbundle"),
                "inspect",
                "b.mbundle",
                "-i",
                id,
            ])
            .current_dir(dir.root())
            .env("HOME", dir.root())
            .env("PATH", path_with_plugin())
            .env("MBTEST_DEVICE", &dev)
            .stdin(Stdio::null()),
    );
    r.fails(1, &["the PIN is needed and could not be asked for"]);
}

#[test]
fn a_plugin_recipient_that_is_not_one_is_refused_as_usage() {
    let dir = Dir::new();
    let store = fixture_store(&dir);
    let r = run_cmd(dir.cmd().env("PATH", path_with_plugin()).args([
        "-s",
        store.to_str().unwrap(),
        "export",
        "--all",
        "-r",
        "age1mbtest1notbech32!!",
        "-o",
        "x.mbundle",
    ]));
    r.fails(2, &["not a valid recipient of the age plugin \"mbtest\""]);
}

/// The README's "back up the CA to a hardware key" walkthrough, verbatim, with the test
/// plugin installed as `age-plugin-yubikey` (its name follows its file name) standing in for
/// the YubiKey, and the real `age-keygen` for the paper key.
#[test]
fn the_readme_backs_up_the_ca_to_a_hardware_key_and_a_paper_key() {
    if peer("age-keygen").is_none() {
        return;
    }
    let dir = Dir::new();
    let shim = dir.path("bin");
    fs::create_dir_all(&shim).unwrap();
    // A copy, not a link: age resolves links, and the plugin takes its name from its file.
    fs::copy(
        plugin_dir().join("age-plugin-mbtest"),
        shim.join("age-plugin-yubikey"),
    )
    .unwrap();
    let home = dir.path("laptop");
    let store = home.join(".docker/machine");
    crate::util::copy_tree(&fixtures().join(LINUX), &store);
    let ca_key = fs::read(store.join("certs/ca-key.pem")).unwrap();
    let work = dir.path("work");
    fs::create_dir_all(&work).unwrap();
    let sh = |script: &str| {
        let bin = Path::new(env!("CARGO_BIN_EXE_mbundle")).parent().unwrap();
        run_cmd(
            Command::new("sh")
                .args(["-ec", script])
                .current_dir(&work)
                .env(
                    "PATH",
                    format!(
                        "{}:{}:{}",
                        shim.display(),
                        bin.display(),
                        std::env::var("PATH").unwrap_or_default()
                    ),
                )
                .env("HOME", &home)
                .env("MBTEST_DEVICE", dir.path("yubikey"))
                .env("MBTEST_LOG", dir.path("plugin.log"))
                .env_remove("MACHINE_STORAGE_PATH")
                .stdin(Stdio::null()),
        )
    };
    sh(&crate::e2e::walkthrough("hwkey-1-backup.sh")).ok();
    let recipients = fs::read_to_string(work.join("backup-recipients.txt")).unwrap();
    assert!(recipients.starts_with("age1yubikey1"), "{recipients}");
    assert_eq!(recipients.lines().count(), 2);

    fs::remove_dir_all(home.join(".docker")).unwrap();
    let run = sh(&crate::e2e::walkthrough("hwkey-2-restore.sh")).ok();
    assert!(
        run.stderr.contains("Touch your yubikey key now"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read(store.join("certs/ca-key.pem")).unwrap(),
        ca_key,
        "the CA key is back, byte for byte"
    );
    assert_eq!(plugin_log(&dir), "wrap\nunwrap\n");
}
