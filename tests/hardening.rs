//! Regression tests of the hardening issue, one group per promise: hostile values never run
//! as shell code, hostile headers cost nothing, one writer per store, `-o` never replaces
//! anything but a regular file, an interrupted export leaves nothing, only the right key
//! travels, and messages say what went wrong.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// Waits (up to 20 s) until `found` returns something.
fn wait_for<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(t) = found() {
            return t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The export temporary files in `dir`.
fn partials(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains(".mbundle-partial.")
        })
        .collect();
    v.sort();
    v
}

fn kill(child: &Child, sig: &str) {
    let st = Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// An export of the demo store to `out`, stopped at the third file by the pause failpoint.
fn paused_export(d: &Dir, store: &Path, out: &str) -> Child {
    let r = demo_recipient();
    d.cmd()
        .args([
            "-s",
            store.to_str().unwrap(),
            "export",
            "--all",
            "-r",
            &r,
            "-o",
            out,
        ])
        .env("MBUNDLE_TEST_FAILPOINT", "export-file:3:pause")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// An import of `bundle` into `store` with the demo key, paused at failpoint `point` until
/// the file `pause` (made here) is removed; once paused it makes `<pause>.reached`.
fn paused_import(d: &Dir, store: &Path, bundle: &str, point: &str, pause: &Path) -> Child {
    fs::write(pause, "").unwrap();
    let _ = fs::remove_file(pause.with_extension("reached"));
    d.cmd()
        .args(["-s", store.to_str().unwrap(), "import", bundle, "-i"])
        .arg(demo_key())
        .env("MBUNDLE_TEST_FAILPOINT", point)
        .env("MBUNDLE_TEST_PAUSE", pause)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[cfg(unix)]
fn file_type(p: &Path) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let ft = fs::symlink_metadata(p).unwrap().file_type();
    if ft.is_char_device() {
        "char"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_file() {
        "file"
    } else {
        "other"
    }
}

// ---- 4. -o PATH never replaces anything but a regular file ----

#[cfg(unix)]
#[test]
fn output_to_a_device_or_fifo_is_written_into_never_replaced() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    // /dev/null: written into with and without --force, still the device afterwards.
    for extra in [&[][..], &["--force"][..]] {
        let r = demo_recipient();
        let mut args = vec!["-s", store.to_str().unwrap(), "export", "--all", "-r", &r];
        args.extend_from_slice(&["-o", "/dev/null"]);
        args.extend_from_slice(extra);
        d.run(&args).ok();
        assert_eq!(file_type(Path::new("/dev/null")), "char");
        assert!(partials(Path::new("/dev")).is_empty());
    }
    // A FIFO: the bundle streams through it and the FIFO stays a FIFO.
    let fifo = d.path("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    d.export_demo(&store, fifo.to_str().unwrap(), &["--all", "--force"])
        .ok();
    let bytes = reader.join().unwrap();
    assert_eq!(file_type(&fifo), "fifo");
    let entries = decrypt_entries(&bytes, &demo_key());
    assert_eq!(entries[0].0, "mbundle.json");
    assert!(partials(d.root()).is_empty());
    // The docker context file takes the same rules.
    d.run(&[
        "-s",
        store.to_str().unwrap(),
        "context",
        "web",
        "--output",
        "/dev/null",
        "--force",
    ])
    .ok();
    assert_eq!(file_type(Path::new("/dev/null")), "char");
}

#[cfg(unix)]
#[test]
fn output_to_a_socket_or_directory_is_refused_even_with_force() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    let sock = d.path("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    fs::create_dir(d.path("adir")).unwrap();
    for force in [false, true] {
        let extra: &[&str] = if force {
            &["--all", "--force"]
        } else {
            &["--all"]
        };
        d.export_demo(&store, sock.to_str().unwrap(), extra)
            .fails(2, &["is a socket"]);
        d.export_demo(&store, d.path("adir").to_str().unwrap(), extra)
            .fails(2, &["is a directory"]);
        let mut args = vec!["-s", store.to_str().unwrap(), "context", "web"];
        args.extend_from_slice(&["--output", sock.to_str().unwrap()]);
        if force {
            args.push("--force");
        }
        d.run(&args).fails(2, &["is a socket"]);
    }
    assert!(fs::symlink_metadata(&sock)
        .unwrap()
        .file_type()
        .is_socket_like());
    assert!(d.path("adir").is_dir());
    assert!(partials(d.root()).is_empty());
}

trait SocketLike {
    fn is_socket_like(&self) -> bool;
}
#[cfg(unix)]
impl SocketLike for fs::FileType {
    fn is_socket_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_socket()
    }
}

// ---- 5. An interrupted export leaves nothing ----

#[cfg(unix)]
#[test]
fn interrupted_export_removes_its_temporary_file_and_exits_128_plus_signal() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    for (sig, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let child = paused_export(&d, &store, "out.mbundle");
        wait_for("the temporary file", || {
            (!partials(d.root()).is_empty()).then_some(())
        });
        kill(&child, sig);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{sig}: {stderr}");
        assert!(
            stderr.contains("interrupted; no bundle written"),
            "SIG{sig}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            partials(d.root()).is_empty(),
            "SIG{sig} left a temporary file"
        );
        assert!(!d.path("out.mbundle").exists());
    }
}

#[cfg(unix)]
#[test]
fn interrupted_export_clears_its_progress_line() {
    let Some(_) = peer("script") else { return };
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    // A real terminal (script's pty), so the progress bar is drawn; Ctrl-C's SIGINT arrives
    // while the third file is written.
    let r = demo_recipient();
    let cmdline = format!(
        "{} -s {} export --all -r {r} -o out.mbundle",
        env!("CARGO_BIN_EXE_mbundle"),
        store.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmdline, "/dev/null"])
        .current_dir(d.root())
        .env("HOME", d.root())
        .env("MBUNDLE_TEST_FAILPOINT", "export-file:3:sigint")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    let at = screen
        .find("interrupted; no bundle written")
        .unwrap_or_else(|| panic!("no interruption message:\n{screen:?}"));
    let before = &screen[..at];
    assert!(
        before.contains("exporting"),
        "no progress bar drawn:\n{screen:?}"
    );
    // The bar's line is erased (CR + erase line) before the message is printed.
    let last_bar = before.rfind("exporting").unwrap();
    assert!(
        before[last_bar..].contains("\r\u{1b}[2K") || before[last_bar..].contains("\u{1b}[2K"),
        "progress line left on screen:\n{screen:?}"
    );
    assert!(partials(d.root()).is_empty());
}

#[cfg(unix)]
#[test]
fn a_killed_exports_temporary_file_is_removed_by_the_next_export_but_never_a_live_one() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    let mut child = paused_export(&d, &store, "a.mbundle");
    let dead = wait_for("the temporary file", || partials(d.root()).pop());
    kill(&child, "KILL");
    child.wait().unwrap();
    assert!(
        dead.exists(),
        "SIGKILL cannot clean up; the next export must"
    );

    // The next export into the directory removes it...
    let live = paused_export(&d, &store, "b.mbundle");
    let live_tmp = wait_for("the next export's own temporary file", || {
        let now = partials(d.root());
        (now.len() == 1 && now[0] != dead).then(|| now[0].clone())
    });
    // ... while a live export's temporary file (its lock is held) is left alone.
    d.export_demo(&store, "c.mbundle", &["--all"]).ok();
    assert!(live_tmp.exists(), "a running export's file was removed");
    kill(&live, "TERM");
    let out = live.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("killed while writing"), "{stderr}");
    assert!(partials(d.root()).is_empty());
    // Files that only look alike are not ours: never touched.
    fs::write(d.path(".notes.mbundle-partial.AbCdEf"), "my own notes").unwrap();
    d.export_demo(&store, "e.mbundle", &["--all"]).ok();
    assert!(d.path(".notes.mbundle-partial.AbCdEf").exists());
}

// ---- 3. One writer per store, always; readers never blocked ----

/// Staging directories in a store.
fn stagings(store: &Path) -> Vec<PathBuf> {
    fs::read_dir(store)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".mbundle-staging-")
        })
        .collect()
}

/// Three bundles of one machine each, from the Linux fixture: web, db, vbox.
fn single_machine_bundles(d: &Dir) -> [String; 3] {
    let src = d.copy_fixture(LINUX, "src");
    for name in ["web", "db", "vbox"] {
        d.export_demo(&src, &format!("{name}.mbundle"), &[name])
            .ok();
    }
    ["web", "db", "vbox"].map(|n| d.path(&format!("{n}.mbundle")).display().to_string())
}

#[cfg(unix)]
#[test]
fn store_lock_taken_late_on_an_unlinked_file_never_admits_a_second_writer() {
    let Some(strace) = peer("strace") else { return };
    let d = Dir::new();
    let [web, db, vbox] = single_machine_bundles(&d);
    let store = d.path("store");
    fs::create_dir(&store).unwrap();
    let key = demo_key();
    let lock = store.join(".mbundle.lock");

    // B opens the lock file, then its flock call is held back 3 s by strace.
    let b = Command::new(&strace)
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=flock"])
        .args(["-e", "inject=flock:delay_enter=3000000:when=1"])
        .arg(env!("CARGO_BIN_EXE_mbundle"))
        .args(["-s", store.to_str().unwrap(), "import", &db, "-i"])
        .arg(&key)
        .env("HOME", d.root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("B to create the lock file", || lock.exists().then_some(()));
    // A takes the lock, imports, and unlinks the lock file on the way out.
    d.import_demo(&store, &web, &[]).ok();
    assert!(!lock.exists());
    // C takes a fresh lock file and stalls reading its bundle from a pipe: a live writer
    // with a live staging directory.
    let mut c = d
        .cmd()
        .args(["-s", store.to_str().unwrap(), "import", "-", "-i"])
        .arg(&key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let c_staging = wait_for("C's staging directory", || stagings(&store).pop());
    // B's flock now goes through, on the unlinked file A held.
    let b_out = b.wait_with_output().unwrap();
    let b_err = String::from_utf8_lossy(&b_out.stderr);
    assert_eq!(b_out.status.code(), Some(1), "B ran beside C:\n{b_err}");
    assert!(b_err.contains("another mbundle is writing"), "{b_err}");
    assert!(c_staging.is_dir(), "B removed C's live staging directory");
    assert!(!store.join("machines/db").exists());
    // C finishes normally.
    {
        use std::io::Write;
        let mut stdin = c.stdin.take().unwrap();
        stdin.write_all(&fs::read(&vbox).unwrap()).unwrap();
    }
    let c_out = c.wait_with_output().unwrap();
    assert!(
        c_out.status.success(),
        "{}",
        String::from_utf8_lossy(&c_out.stderr)
    );
    assert!(store.join("machines/web/config.json").is_file());
    assert!(store.join("machines/vbox/config.json").is_file());
    assert!(stagings(&store).is_empty() && !lock.exists());
}

#[cfg(unix)]
#[test]
fn readers_keep_working_while_an_import_runs() {
    let d = Dir::new();
    let [web, _, vbox] = single_machine_bundles(&d);
    let store = d.path("store");
    fs::create_dir(&store).unwrap();
    d.import_demo(&store, &web, &[]).ok();
    let key = demo_key();
    // Paused while staging, then while committing (between two renames).
    for point in ["stage-file:2:pause", "commit-step:1:pause"] {
        let target = d.path("t");
        let _ = fs::remove_dir_all(&target);
        copy_tree(&store, &target);
        let t = target.to_str().unwrap();
        let pause = d.path("paused");
        let w = paused_import(&d, &target, &vbox, point, &pause);
        wait_for("the import's staging", || {
            stagings(&target)
                .pop()
                .filter(|p| !point.starts_with("commit") || p.join("journal.json").is_file())
        });
        let ls = d.run(&["-s", t, "ls"]).ok();
        assert!(ls.stdout.contains("web"), "{point}: {}", ls.stdout);
        let env = d.run(&["-s", t, "env", "web"]).ok();
        assert!(env.stdout.contains("DOCKER_HOST"), "{point}");
        d.run(&["-s", t, "doctor", "web"]).ok();
        d.run(&["inspect", &vbox, "-i", key.to_str().unwrap()]).ok();
        d.run(&[
            "-s",
            t,
            "context",
            "web",
            "--output",
            "web.dockercontext",
            "--force",
        ])
        .ok();
        // A second writer is refused at once, and says why.
        d.import_demo(&target, &vbox, &[])
            .fails(1, &["another mbundle is writing"]);
        fs::remove_file(&pause).unwrap();
        let out = w.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{point}: {err}");
        assert!(target.join("machines/vbox/config.json").is_file());
    }
}

// ---- 2. A hostile bundle costs at most what a good one of its size costs ----

/// What a run of mbundle cost: exit code, wall seconds, peak resident memory (KiB), stderr.
/// Measured by Python's getrusage of the child, so the figure is the kernel's.
struct Cost {
    code: i32,
    secs: f64,
    peak_kib: u64,
    stderr: String,
}

fn measure(d: &Dir, args: &[&str]) -> Cost {
    let script = "import json,resource,subprocess,sys,time\n\
        t=time.time()\n\
        p=subprocess.run(sys.argv[1:],capture_output=True,stdin=subprocess.DEVNULL)\n\
        print(json.dumps({'code':p.returncode,'secs':time.time()-t,\
        'peak':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,\
        'stderr':p.stderr.decode(errors='replace')}))";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_mbundle"))
        .args(args)
        .current_dir(d.root())
        .env("HOME", d.root())
        .env_remove("MACHINE_STORAGE_PATH")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    Cost {
        code: v["code"].as_i64().unwrap() as i32,
        secs: v["secs"].as_f64().unwrap(),
        peak_kib: v["peak"].as_u64().unwrap(),
        stderr: v["stderr"].as_str().unwrap().to_string(),
    }
}

/// Standard base64 without padding, as age writes it.
fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Pseudo-random bytes (xorshift): distinct, valid-looking key material.
fn noise(seed: &mut u64, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed as u8
        })
        .collect()
}

/// An age file whose header holds `stanzas` X25519 stanzas for nobody.
fn fake_recipients_bundle(stanzas: usize) -> Vec<u8> {
    let mut seed = 0x9e3779b97f4a7c15u64 ^ stanzas as u64;
    let mut h = String::from("age-encryption.org/v1\n");
    for _ in 0..stanzas {
        h.push_str(&format!(
            "-> X25519 {}\n{}\n",
            b64(&noise(&mut seed, 32)),
            b64(&noise(&mut seed, 32))
        ));
    }
    h.push_str(&format!("--- {}\n", b64(&noise(&mut seed, 32))));
    let mut out = h.into_bytes();
    out.extend(noise(&mut seed, 16 + 4096));
    out
}

/// A passphrase bundle header declaring scrypt work factor 2^`log_n`.
fn scrypt_bundle(log_n: u8) -> Vec<u8> {
    let mut seed = 42u64;
    let mut out = format!(
        "age-encryption.org/v1\n-> scrypt {} {log_n}\n{}\n--- {}\n",
        b64(&noise(&mut seed, 16)),
        b64(&noise(&mut seed, 32)),
        b64(&noise(&mut seed, 32))
    )
    .into_bytes();
    out.extend(noise(&mut seed, 16 + 4096));
    out
}

#[test]
fn hostile_age_header_of_many_stanzas_is_refused_at_once() {
    let d = Dir::new();
    let store = d.path("store");
    let key = demo_key();
    let k = key.to_str().unwrap();
    let s = store.to_str().unwrap();
    for (n, name) in [(10_000, "10k.mbundle"), (100_000, "100k.mbundle")] {
        fs::write(d.path(name), fake_recipients_bundle(n)).unwrap();
        for args in [
            vec!["inspect", name, "-i", k],
            vec!["verify", name, "-i", k],
            vec!["-s", s, "import", name, "-i", k],
            vec!["-s", s, "import", name, "-i", k, "--dry-run"],
        ] {
            let c = measure(&d, &args);
            assert_eq!(c.code, 1, "{args:?}: {}", c.stderr);
            assert!(c.stderr.contains("over 1024 recipients"), "{}", c.stderr);
            // Before: 30 s for 10,000 stanzas, over 5 minutes for 100,000.
            assert!(c.secs < 5.0, "{n} stanzas took {:.1} s", c.secs);
            assert!(c.peak_kib < 100 << 10, "{n} stanzas: {} KiB", c.peak_kib);
        }
        assert!(!store.exists(), "a refused import created the store");
    }
    // One line of 300 KB with no end.
    let mut long = b"age-encryption.org/v1\n-> X25519 ".to_vec();
    long.extend(std::iter::repeat_n(b'A', 300_000));
    fs::write(d.path("long.mbundle"), long).unwrap();
    let c = measure(&d, &["inspect", "long.mbundle", "-i", k]);
    assert_eq!(c.code, 1, "{}", c.stderr);
    assert!(c.stderr.contains("over 256 KiB"), "{}", c.stderr);
    // At the bound, the header is read and tried like a real one: bounded too.
    fs::write(d.path("1024.mbundle"), fake_recipients_bundle(1024)).unwrap();
    let c = measure(&d, &["inspect", "1024.mbundle", "-i", k]);
    assert_eq!(c.code, 1);
    assert!(
        c.stderr.contains("none of the identities given can open")
            && c.stderr.contains("recipients of kind X25519"),
        "{}",
        c.stderr
    );
    assert!(c.secs < 10.0 && c.peak_kib < 100 << 10, "{:.1} s", c.secs);
}

#[test]
fn scrypt_work_factor_above_the_reference_cap_is_refused_before_any_work() {
    let d = Dir::new();
    fs::write(d.path("pass"), "not the passphrase\n").unwrap();
    for log_n in [23u8, 24, 30] {
        let name = format!("wf{log_n}.mbundle");
        fs::write(d.path(&name), scrypt_bundle(log_n)).unwrap();
        for args in [
            vec!["inspect", &name, "--passphrase-file", "pass"],
            vec!["verify", &name, "--passphrase-file", "pass"],
            vec!["-s", "store", "import", &name, "--passphrase-file", "pass"],
        ] {
            let c = measure(&d, &args);
            assert_eq!(c.code, 1, "{}", c.stderr);
            assert!(
                c.stderr
                    .contains(&format!("work factor 2^{log_n} is above 2^22")),
                "{}",
                c.stderr
            );
            assert!(!c.stderr.contains("panicked") && !c.stderr.contains("memory allocation"));
            // A sender's choice, not damage.
            assert!(!c.stderr.contains("damaged"), "{}", c.stderr);
            // Before: 16 GiB allocated at 2^24, then an abort.
            assert!(
                c.secs < 5.0 && c.peak_kib < 100 << 10,
                "{:.1} s, {} KiB",
                c.secs,
                c.peak_kib
            );
        }
    }
}

/// A tmpfs of `mib` MiB mounted at `dir` (root only), unmounted on drop.
struct Tmpfs(PathBuf);
impl Tmpfs {
    fn mount(dir: &Path, mib: u32) -> Option<Tmpfs> {
        fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            if std::env::var_os("MBUNDLE_REQUIRE_PEERS").is_some() {
                panic!("cannot mount a tmpfs (needs root), and MBUNDLE_REQUIRE_PEERS is set");
            }
            eprintln!("SKIPPED: cannot mount a tmpfs (needs root)");
            return None;
        }
        Some(Tmpfs(dir.to_path_buf()))
    }
}
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// `vbox.mbundle` carrying a 6 MiB random disk, and a store (holding one file, `keep`) on
/// a tmpfs of `mib` MiB; None where no tmpfs can be mounted.
fn disk_bundle_and_small_store(d: &Dir, mib: u32) -> Option<(Tmpfs, PathBuf)> {
    let src = d.copy_fixture(LINUX, "src");
    let mut seed = 7u64;
    fs::write(
        src.join("machines/vbox/disk.vmdk"),
        noise(&mut seed, 6 << 20),
    )
    .unwrap();
    d.export_demo(&src, "vbox.mbundle", &["vbox", "--include-disks"])
        .ok();
    let fs_ = Tmpfs::mount(&d.path(&format!("tmpfs-{mib}")), mib)?;
    let store = fs_.0.join("store");
    fs::create_dir(&store).unwrap();
    fs::write(store.join("keep"), "x").unwrap();
    Some((fs_, store))
}

#[cfg(target_os = "linux")]
#[test]
fn bundle_larger_than_the_free_space_is_refused_before_staging() {
    let d = Dir::new();
    let Some((fs_, store)) = disk_bundle_and_small_store(&d, 4) else {
        return;
    };
    for extra in [&[][..], &["--dry-run"][..]] {
        let r = d.import_demo(&store, "vbox.mbundle", extra).fails(
            1,
            &[
                "the bundle needs 6.",
                "free; nothing was written",
                "free at least",
            ],
        );
        assert!(
            r.stderr.contains("has 4.0 MiB free") || r.stderr.contains("has 3."),
            "{}",
            r.stderr
        );
    }
    let left: Vec<_> = fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("keep")],
        "the store changed"
    );
    // The same bundle fits a larger file system.
    drop(fs_);
    let Some(big) = Tmpfs::mount(&d.path("big"), 32) else {
        return;
    };
    d.import_demo(&big.0.join("store"), "vbox.mbundle", &[])
        .ok();
}

/// A write that fails while staging (the disk filled after the free-space check) fails the
/// import, naming the file and the reason, and leaves the store as it was.
#[cfg(target_os = "linux")]
#[test]
fn a_disk_that_fills_while_staging_fails_the_import_and_changes_nothing() {
    let d = Dir::new();
    let Some((fs_, store)) = disk_bundle_and_small_store(&d, 16) else {
        return;
    };
    let pause = d.path("paused");
    let child = paused_import(&d, &store, "vbox.mbundle", "stage-file:1:pause", &pause);
    // Paused at its first file, after the free-space check: fill the disk, then go on.
    // (Not as soon as staging exists: that is made before the free-space check.)
    wait_for("the import to pause", || {
        pause.with_extension("reached").exists().then_some(())
    });
    // Leave 1 MiB: the 6 MiB disk cannot fit.
    let filler = fs_.0.join("filler");
    let mut f = fs::File::create(&filler).unwrap();
    let free = {
        let out = Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(&fs_.0)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap()
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    std::io::Write::write_all(&mut f, &vec![1u8; (free - (1 << 20)) as usize]).unwrap();
    drop(f);
    fs::remove_file(&pause).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains("disk.vmdk"), "{stderr}");
    let mut left: Vec<_> = fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["keep"], "the store changed");
}

// ---- 6. Only the right key travels as a CA key; no foreign file travels as key material ----

/// Sets `HostOptions.AuthOptions.<field>` of a machine's config.json.
fn set_auth(store: &Path, machine: &str, field: &str, value: &str) {
    let p = store.join("machines").join(machine).join("config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    v["HostOptions"]["AuthOptions"][field] = value.into();
    fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// The bundle's entries whose path ends with `suffix`.
fn entries_ending(bundle: &Path, suffix: &str) -> Vec<(String, Vec<u8>)> {
    decrypt_entries(&fs::read(bundle).unwrap(), &demo_key())
        .into_iter()
        .filter(|(p, _)| p.ends_with(suffix))
        .collect()
}

#[test]
fn ca_key_that_does_not_match_its_ca_never_travels_as_its_key() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    let real = fs::read(store.join("certs/ca-key.pem")).unwrap();
    // web names another CA's key (a real PEM key, just not this CA's); db the right one.
    let wrong = d.path("acme-ca-key.pem");
    fs::copy(
        fixtures().join("linux/home/alice/acme-ca/ca-key.pem"),
        &wrong,
    )
    .unwrap();
    set_auth(&store, "web", "CaPrivateKeyPath", wrong.to_str().unwrap());
    // Before: the first machine on the command line won, and its wrong key travelled.
    let r = d.export_demo(&store, "both.mbundle", &["web", "db"]).ok();
    assert!(
        r.stderr.contains("not the one of its certificate"),
        "{}",
        r.stderr
    );
    let keys = entries_ending(&d.path("both.mbundle"), "/ca-key.pem");
    assert_eq!(
        keys.len(),
        1,
        "{:?}",
        keys.iter().map(|k| &k.0).collect::<Vec<_>>()
    );
    assert_eq!(keys[0].1, real, "the CA key carried is not the CA's");
    // Alone, web still carries the CA's real key: the store's certs/ca-key.pem matches.
    let r = d.export_demo(&store, "web.mbundle", &["web"]).ok();
    assert!(r.stderr.contains("as ca-key.pem instead"), "{}", r.stderr);
    let keys = entries_ending(&d.path("web.mbundle"), "/ca-key.pem");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].1, real);
    // With no matching key anywhere, no CA key travels at all.
    fs::remove_file(store.join("certs/ca-key.pem")).unwrap();
    let r = d.export_demo(&store, "none.mbundle", &["web"]).ok();
    assert!(r.stderr.contains("the CA key is absent"), "{}", r.stderr);
    assert!(entries_ending(&d.path("none.mbundle"), "/ca-key.pem").is_empty());
}

#[test]
fn config_naming_system_files_as_keys_carries_none_of_them() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    let secret = d.path("secret.txt");
    fs::write(&secret, "TOP SECRET: not a key\n").unwrap();
    // /etc/shadow where it exists and is readable (as root).
    let shadow = Path::new("/etc/shadow");
    let foreign = if fs::read(shadow).is_ok() {
        shadow.to_path_buf()
    } else {
        secret.clone()
    };
    set_auth(&store, "web", "CaPrivateKeyPath", foreign.to_str().unwrap());
    set_auth(&store, "web", "ClientKeyPath", secret.to_str().unwrap());
    set_auth(&store, "db", "CaCertPath", "/etc/passwd");
    set_auth(&store, "db", "ClientCertPath", secret.to_str().unwrap());
    let r = d.export_demo(&store, "out.mbundle", &["web", "db"]).ok();
    for needle in [
        "not a PEM private key",
        "not a PEM certificate",
        "not carried as",
    ] {
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
    }
    let forbidden: Vec<Vec<u8>> = [foreign, secret, PathBuf::from("/etc/passwd")]
        .iter()
        .map(|p| fs::read(p).unwrap())
        .collect();
    for (path, bytes) in decrypt_entries(&fs::read(d.path("out.mbundle")).unwrap(), &demo_key()) {
        assert!(!forbidden.contains(&bytes), "{path} carries a foreign file");
    }
    // The machines' real material (the store's certs/ and the machine copies) travels instead.
    let cas = entries_ending(&d.path("out.mbundle"), "/ca.pem");
    assert!(!cas.is_empty());
}

#[test]
fn server_key_that_is_not_its_certificates_is_left_out_with_the_reason() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    fs::copy(
        store.join("machines/db/server-key.pem"),
        store.join("machines/web/server-key.pem"),
    )
    .unwrap();
    fs::write(store.join("machines/web/cert.pem"), "garbage\n").unwrap();
    let r = d.export_demo(&store, "web.mbundle", &["web"]).ok();
    assert!(
        r.stderr.contains("machine web: server-key.pem is a private key, but not the one of its certificate; left out"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("machine web: cert.pem is not a PEM certificate"),
        "{}",
        r.stderr
    );
    let m = manifest_json(&d, "web.mbundle");
    let excluded: Vec<&str> = m["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        excluded.contains(&"machines/web/server-key.pem"),
        "{excluded:?}"
    );
    assert!(excluded.contains(&"machines/web/cert.pem"), "{excluded:?}");
    assert!(entries_ending(&d.path("web.mbundle"), "web/server-key.pem").is_empty());
}

// ---- 1. No value from a bundle or a config.json ever runs as shell code ----

/// Sets `Driver.<field>` of a machine's config.json to a JSON value.
fn set_driver(store: &Path, machine: &str, field: &str, value: serde_json::Value) {
    let p = store.join("machines").join(machine).join("config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    v["Driver"][field] = value;
    fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// Values of each driver field that no docker-machine writes, each of which ran code or
/// smuggled an option somewhere before.
fn hostile_fields() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    vec![
        ("SSHUser", json!("root; touch PWNED; echo ")),
        ("SSHUser", json!("-oProxyCommand=touch PWNED")),
        ("SSHUser", json!("$(touch PWNED)")),
        ("SSHPort", json!("22; touch PWNED")),
        ("SSHPort", json!(70000)),
        ("IPAddress", json!("$(touch PWNED)")),
        ("IPAddress", json!("203.0.113.10;touch PWNED")),
        ("URL", json!("tcp://$(touch PWNED):2376")),
        ("URL", json!("tcp://203.0.113.10:2376`touch PWNED`")),
        ("URL", json!("tcp://-oProxyCommand=x:2376")),
        ("SSHKeyPath", json!("/home/alice/id_rsa\ntouch PWNED")),
        ("SSHKeyPath", json!("id_rsa")),
    ]
}

#[test]
fn import_refuses_driver_fields_no_docker_machine_writes() {
    let d = Dir::new();
    let target = d.path("target");
    for (i, (field, value)) in hostile_fields().into_iter().enumerate() {
        let src = d.copy_fixture(LINUX, &format!("src{i}"));
        set_driver(&src, "web", field, value.clone());
        let bundle = format!("b{i}.mbundle");
        d.export_demo(&src, &bundle, &["web"]).ok();
        for extra in [&[][..], &["--dry-run"][..]] {
            let r = d.import_demo(&target, &bundle, extra);
            let r = r.fails(1, &[&format!("Driver.{field}"), "no docker-machine writes"]);
            assert!(!r.stderr.contains('\u{0}'), "{}", r.stderr);
        }
        assert!(!target.exists(), "{field}={value}: the store was created");
    }
    assert!(!d.path("PWNED").exists());
}

#[test]
fn doctor_flags_tampered_driver_fields() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    set_driver(&store, "web", "SSHUser", "root; touch PWNED".into());
    set_driver(&store, "db", "URL", "tcp://$(touch PWNED):2376".into());
    let r = d
        .run(&["-s", store.to_str().unwrap(), "doctor", "web", "db"])
        .fails(1, &["doctor found"]);
    for needle in [
        "config.json: Driver.SSHUser \"root; touch PWNED\" is not a user name",
        "config.json: Driver.URL \"tcp://$(touch PWNED):2376\"",
    ] {
        assert!(r.stdout.contains(needle), "{needle}:\n{}", r.stdout);
    }
}

/// A fake `scp` and `ssh` on PATH that record their arguments, one per line, to `argv.<name>`.
fn recording_path(d: &Dir) -> String {
    let bin = d.path("fakebin");
    fs::create_dir_all(&bin).unwrap();
    for tool in ["scp", "ssh"] {
        let p = bin.join(tool);
        fs::write(
            &p,
            format!(
                "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}/argv.{tool}'\n",
                d.root().display()
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `script` in `shell -c`, in the test directory, with the recording PATH.
fn in_shell(d: &Dir, shell: &str, script: &str) -> std::process::Output {
    Command::new(shell)
        .arg("-c")
        .arg(script)
        .current_dir(d.root())
        .env("HOME", d.root())
        .env("PATH", recording_path(d))
        .env_remove("MACHINE_STORAGE_PATH")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Renames machine `from` to `to` in a store, its config.json paths with it.
fn rename_machine(store: &Path, from: &str, to: &str) {
    let machines = store.join("machines");
    fs::rename(machines.join(from), machines.join(to)).unwrap();
    let p = machines.join(to).join("config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    fn walk(v: &mut serde_json::Value, from: &str, to: &str) {
        match v {
            serde_json::Value::String(s) => *s = s.replace(from, to),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(x, from, to)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|x| walk(x, from, to)),
            _ => {}
        }
    }
    walk(
        &mut v,
        &format!("/machines/{from}"),
        &format!("/machines/{to}"),
    );
    v["Driver"]["MachineName"] = to.into();
    fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// A store path and a machine name full of what shells treat specially.
const NASTY_DIR: &str = "st ore $(touch PWNED) 'q' \"dq\" `touch PWNED` \\ * ? ; & |";
const NASTY_NAME: &str = "we'b $(touch PWNED) `x` \"y\" *";

#[cfg(unix)]
#[test]
fn regenerate_certs_prints_scp_and_ssh_lines_that_run_exactly_as_meant() {
    let Some(bash) = peer("bash") else { return };
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, NASTY_DIR);
    let s = store.to_str().unwrap();
    rename_machine(&store, "web", NASTY_NAME);
    let mdir = store.join("machines").join(NASTY_NAME);
    // A key file name with spaces and shell syntax: legal, quoted.
    set_driver(
        &store,
        NASTY_NAME,
        "SSHKeyPath",
        "/x/id rsa;$(touch PWNED)".into(),
    );
    set_driver(&store, NASTY_NAME, "SSHUser", "ec2-user".into());
    set_driver(&store, NASTY_NAME, "SSHPort", 2222.into());
    for json in [false, true] {
        let mut args = vec!["-s", s, "regenerate-certs", NASTY_NAME];
        if json {
            args.push("--json");
        }
        let r = d.run(&args).ok();
        // The copy commands, then the live-restore check, the reload and the restart.
        let cmds: Vec<String> = if json {
            let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            let mut c: Vec<String> = v["commands"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect();
            for k in ["live_restore_check", "live_restore_reload", "restart"] {
                c.push(v[k].as_str().unwrap().to_string());
            }
            c
        } else {
            r.stdout
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("scp ") || l.starts_with("ssh "))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(cmds.len(), 5, "{}", r.stdout);
        let key = mdir.join("id rsa;$(touch PWNED)").display().to_string();
        let f = |n: &str| mdir.join(n).display().to_string();
        let expected_scp = vec![
            "-i".to_string(),
            key.clone(),
            "-P".into(),
            "2222".into(),
            "--".into(),
            f("ca.pem"),
            f("server.pem"),
            f("server-key.pem"),
            "ec2-user@203.0.113.10:/tmp/".into(),
        ];
        let expected_ssh = vec![
            "-i".to_string(),
            key,
            "-p".into(),
            "2222".into(),
            "--".into(),
            "ec2-user@203.0.113.10".into(),
            "sudo mv /tmp/ca.pem /tmp/server.pem /tmp/server-key.pem /etc/docker/ && sudo chmod 600 /etc/docker/server-key.pem".into(),
        ];
        let on_host = |remote: &str| {
            let mut v = expected_ssh.clone();
            *v.last_mut().unwrap() = remote.to_string();
            v
        };
        for (cmd, tool, expected) in [
            (&cmds[0], "scp", expected_scp.clone()),
            (&cmds[1], "ssh", expected_ssh.clone()),
            (
                &cmds[2],
                "ssh",
                on_host("sudo docker info --format \"{{.LiveRestoreEnabled}}\""),
            ),
            (&cmds[3], "ssh", on_host("sudo systemctl reload docker")),
            (&cmds[4], "ssh", on_host("sudo systemctl restart docker")),
        ] {
            let out = in_shell(&d, bash.to_str().unwrap(), cmd);
            assert!(
                out.status.success(),
                "{cmd}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let argv = fs::read_to_string(d.path(&format!("argv.{tool}"))).unwrap();
            let argv: Vec<&str> = argv.lines().collect();
            assert_eq!(argv, expected, "{cmd}");
        }
        assert!(!d.path("PWNED").exists(), "a printed command ran code");
    }
}

#[test]
fn regenerate_certs_withholds_commands_built_from_tampered_fields() {
    let d = Dir::new();
    for (field, value, needle) in [
        ("SSHUser", "root; touch PWNED; echo ", "Driver.SSHUser"),
        ("SSHUser", "-oProxyCommand=touch PWNED", "begins with '-'"),
        ("SSHPort", "22; touch PWNED", "Driver.SSHPort"),
    ] {
        let store = d.copy_fixture(LINUX, "store");
        set_driver(&store, "web", field, value.into());
        let s = store.to_str().unwrap();
        let r = d.run(&["-s", s, "regenerate-certs", "web"]).ok();
        assert!(
            r.stdout.contains("no scp/ssh commands printed"),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains(needle), "{}", r.stdout);
        assert!(!r.stdout.contains("scp -i"), "{}", r.stdout);
        let r = d.run(&["-s", s, "regenerate-certs", "web", "--json"]).ok();
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert!(v["commands"].as_array().unwrap().is_empty());
        assert!(v["commands_withheld"].as_str().unwrap().contains(needle));
        fs::remove_dir_all(&store).unwrap();
    }
    // A host that is no host: refused before it becomes a certificate SAN or a command.
    let store = d.copy_fixture(LINUX, "store");
    set_driver(&store, "web", "URL", "tcp://$(touch PWNED):2376".into());
    d.run(&["-s", store.to_str().unwrap(), "regenerate-certs", "web"])
        .fails(1, &["is neither an IP address nor a host name", "--ip"]);
    assert!(!d.path("PWNED").exists());
}

#[cfg(unix)]
#[test]
fn env_output_evaluates_to_exactly_the_values_in_real_shells() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, NASTY_DIR);
    rename_machine(&store, "web", NASTY_NAME);
    let s = store.to_str().unwrap();
    let cert_path = store
        .join("machines")
        .join(NASTY_NAME)
        .display()
        .to_string();
    let expected = format!("1\ntcp://203.0.113.10:2376\n{cert_path}\n{NASTY_NAME}\n");
    let mut ran = 0;
    for shell in ["bash", "zsh", "fish"] {
        // zsh and fish are peers as bash is: .ci/run installs them.
        let Some(sh) = peer(shell) else { continue };
        let sh = sh.to_str().unwrap();
        let r = d.run(&["-s", s, "env", NASTY_NAME, "--shell", shell]).ok();
        fs::write(d.path("env.out"), &r.stdout).unwrap();
        let show = if shell == "fish" {
            "printf '%s\\n' $DOCKER_TLS_VERIFY $DOCKER_HOST $DOCKER_CERT_PATH $DOCKER_MACHINE_NAME"
        } else {
            "printf '%s\\n' \"$DOCKER_TLS_VERIFY\" \"$DOCKER_HOST\" \"$DOCKER_CERT_PATH\" \"$DOCKER_MACHINE_NAME\""
        };
        // The ways people load it: eval "$(...)", eval $(...) unquoted, fish's source.
        let loaders: Vec<String> = if shell == "fish" {
            vec!["source env.out".into(), "cat env.out | source".into()]
        } else {
            assert!(r.stdout.contains("# eval \"$(mbundle"), "{}", r.stdout);
            vec!["eval \"$(cat env.out)\"".into()]
        };
        for load in loaders {
            let out = in_shell(&d, sh, &format!("{load}; {show}"));
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{shell} {load}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(stdout, expected, "{shell}: {load}\n{}", r.stdout);
        }
        // The hint's own command, run by that shell, prints the same text again.
        let hint = r
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("# eval "))
            .unwrap()
            .to_string();
        let inner = hint
            .trim_start_matches('"')
            .trim_end_matches('"')
            .trim_start_matches("$(")
            .trim_start_matches('(')
            .trim_end_matches(')')
            .replacen("mbundle", env!("CARGO_BIN_EXE_mbundle"), 1);
        let out = in_shell(&d, sh, &inner);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            r.stdout,
            "{shell}: {inner}"
        );
        assert!(!d.path("PWNED").exists(), "{shell}: env output ran code");
        ran += 1;
    }
    assert!(ran >= 1);
    // A plain store loads with docker-machine's own unquoted `eval $(...)` too.
    let plain = d.copy_fixture(LINUX, "plain");
    let r = d
        .run(&[
            "-s",
            plain.to_str().unwrap(),
            "env",
            "web",
            "--shell",
            "bash",
        ])
        .ok();
    assert!(r.stdout.contains("# eval $(mbundle -s "), "{}", r.stdout);
    fs::write(d.path("env.out"), &r.stdout).unwrap();
    let out = in_shell(
        &d,
        "bash",
        "eval $(cat env.out); printf '%s\\n' \"$DOCKER_CERT_PATH\"",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", plain.join("machines/web").display())
    );
    // A daemon URL no docker-machine writes is never printed for a shell.
    set_driver(
        &store,
        NASTY_NAME,
        "URL",
        "tcp://1.2.3.4:2376\"; touch PWNED; \"".into(),
    );
    d.run(&["-s", s, "env", NASTY_NAME])
        .fails(1, &["no docker-machine writes that"]);
    // cmd.exe cannot be given % or " safely: refused, never printed.
    let pct = d.copy_fixture(LINUX, "st%PATH%");
    d.run(&["-s", pct.to_str().unwrap(), "env", "web", "--shell", "cmd"])
        .fails(1, &["cmd.exe cannot be given '%' safely"]);
}

// ---- 7. Messages say what really went wrong and what to do ----

/// An ed25519 SSH key protected by `passphrase`, and a bundle of web encrypted to it.
fn ssh_key_bundle(d: &Dir, passphrase: &str) -> Option<(PathBuf, String)> {
    let keygen = peer("ssh-keygen")?;
    let key = d.path("id_ed25519");
    let st = Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-C", "t", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let store = d.copy_fixture(LINUX, "store");
    let pubkey = d.path("id_ed25519.pub");
    d.run(&[
        "-s",
        store.to_str().unwrap(),
        "export",
        "web",
        "-R",
        pubkey.to_str().unwrap(),
        "-o",
        "b.mbundle",
    ])
    .ok();
    Some((key, "b.mbundle".into()))
}

#[test]
fn ssh_key_with_a_passphrase_and_no_terminal_is_named_not_someone_else() {
    let d = Dir::new();
    let Some((key, bundle)) = ssh_key_bundle(&d, "key passphrase") else {
        return;
    };
    let k = key.to_str().unwrap();
    for args in [
        vec!["inspect", &bundle, "-i", k],
        vec!["-s", "target", "import", &bundle, "-i", k],
    ] {
        let r = d.run(&args).fails(
            1,
            &[
                "is an SSH key protected by a passphrase, and there is no terminal to ask for it",
                "hint: run mbundle on a terminal",
            ],
        );
        assert!(!r.stderr.contains("someone else"), "{}", r.stderr);
    }
}

#[cfg(unix)]
#[test]
fn wrong_ssh_key_passphrase_names_the_key_not_the_bundle() {
    let Some(_) = peer("script") else { return };
    let d = Dir::new();
    let Some((key, bundle)) = ssh_key_bundle(&d, "key passphrase") else {
        return;
    };
    let typed = |answer: &str| {
        let cmd = format!(
            "{} inspect {bundle} -i {}",
            env!("CARGO_BIN_EXE_mbundle"),
            key.display()
        );
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(d.root())
            .env("HOME", d.root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            std::thread::sleep(Duration::from_millis(300));
            stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(1500));
        }
        String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
    };
    let screen = typed("not it");
    assert!(
        screen.contains(&format!(
            "wrong passphrase for the SSH key {}",
            key.display()
        )),
        "{screen}"
    );
    assert!(screen.contains("not of the bundle"), "{screen}");
    let screen = typed("key passphrase");
    assert!(
        screen.contains("machines:"),
        "the right passphrase did not open it:\n{screen}"
    );
}

#[test]
fn truncated_bundle_says_damaged_or_truncated_with_figures() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    d.export_demo(&store, "full.mbundle", &["--all"]).ok();
    let bytes = fs::read(d.path("full.mbundle")).unwrap();
    let key = demo_key();
    for cut in [bytes.len() * 6 / 10, bytes.len() - 1] {
        fs::write(d.path("cut.mbundle"), &bytes[..cut]).unwrap();
        for cmd in ["verify", "inspect"] {
            if cmd == "inspect" && cut > bytes.len() / 2 {
                // The manifest is read before the cut: inspect has nothing to complain of.
                continue;
            }
            let r = d
                .run(&[cmd, "cut.mbundle", "-i", key.to_str().unwrap()])
                .fails(
                    1,
                    &[
                        "cut.mbundle is damaged or truncated",
                        "bytes of input",
                        "hint: get a complete copy",
                    ],
                );
            assert!(!r.stderr.contains("tampered"), "{}", r.stderr);
        }
    }
}

#[test]
fn age_file_that_is_not_a_bundle_says_so() {
    let d = Dir::new();
    let key = demo_key();
    fs::write(d.path("hello.age"), encrypt_to_demo(b"hello\n")).unwrap();
    let tgz = gzip(&plain_tar(&[("notes.txt".into(), b"hi".to_vec())]));
    fs::write(d.path("tgz.age"), encrypt_to_demo(&tgz)).unwrap();
    fs::write(d.path("empty.age"), encrypt_to_demo(b"")).unwrap();
    for name in ["hello.age", "tgz.age", "empty.age"] {
        let r = d
            .run(&["inspect", name, "-i", key.to_str().unwrap()])
            .fails(1, &["decrypts, but is not an mbundle bundle", "age -d"]);
        assert!(!r.stderr.contains("damaged"), "{}", r.stderr);
    }
}

#[test]
fn store_path_with_a_newline_is_named_as_such() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    d.export_demo(&store, "b.mbundle", &["web"]).ok();
    let target = d.path("new\nline");
    for extra in [&[][..], &["--dry-run"][..]] {
        let r = d
            .import_demo(&target, "b.mbundle", extra)
            .fails(2, &["contains the control character '\\n'"]);
        assert!(!r.stderr.contains("not absolute"), "{}", r.stderr);
    }
    assert!(!target.exists());
}

#[cfg(unix)]
#[test]
fn symlinks_fifos_and_sockets_are_listed_as_what_they_are() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    let web = store.join("machines/web");
    std::os::unix::fs::symlink("/etc/hostname", web.join("link")).unwrap();
    assert!(Command::new("mkfifo")
        .arg(web.join("fifo"))
        .status()
        .unwrap()
        .success());
    let _sock = std::os::unix::net::UnixListener::bind(web.join("sock")).unwrap();
    let r = d.export_demo(&store, "b.mbundle", &["web"]).ok();
    for (file, kind) in [
        ("link", "a symbolic link"),
        ("fifo", "a FIFO"),
        ("sock", "a socket"),
    ] {
        assert!(
            r.stderr
                .lines()
                .any(|l| l.contains(&format!("machines/web/{file} "))
                    && l.ends_with(&format!("{kind} (bundles carry only regular files)"))),
            "{file}:\n{}",
            r.stderr
        );
    }
    assert!(!r.stderr.contains("VM disks"), "{}", r.stderr);
}

#[test]
fn bundle_strings_never_reach_the_terminal_as_control_sequences() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    // An escape sequence that would clear the screen and retitle the terminal, in the URL
    // (shown by inspect, refused by import) and the driver name (shown by both).
    set_driver(
        &store,
        "web",
        "URL",
        "tcp://203.0.113.10:2376\u{1b}[2J\u{1b}]0;pwned\u{7}".into(),
    );
    d.export_demo(&store, "b.mbundle", &["web"]).ok();
    let r = d
        .run(&["inspect", "b.mbundle", "-i", demo_key().to_str().unwrap()])
        .ok();
    assert!(!r.stdout.contains('\u{1b}'), "{}", r.stdout);
    assert!(r.stdout.contains("\\u{1b}[2J"), "{}", r.stdout);
    let target = d.path("target");
    for extra in [&["--dry-run"][..], &[][..]] {
        let r = d
            .import_demo(&target, "b.mbundle", extra)
            .fails(1, &["Driver.URL"]);
        assert!(!r.stderr.contains('\u{1b}'), "{}", r.stderr);
    }
}

#[cfg(unix)]
#[test]
fn doctor_hint_names_the_machine_as_one_shell_word() {
    let Some(bash) = peer("bash") else { return };
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, NASTY_DIR);
    rename_machine(&store, "web", NASTY_NAME);
    // The host moved: doctor's fix is the regenerate-certs command for this machine.
    set_driver(&store, NASTY_NAME, "URL", "tcp://198.51.100.7:2376".into());
    let r = d.run(&["-s", store.to_str().unwrap(), "doctor", NASTY_NAME]);
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains(" regenerate-certs "))
        .unwrap_or_else(|| panic!("no regenerate-certs hint:\n{}", r.stdout));
    let cmd = line
        .split_once("mbundle ")
        .unwrap()
        .1
        .split(" (add --ip")
        .next()
        .unwrap();
    let out = in_shell(&d, bash.to_str().unwrap(), &format!("printf '%s\\n' {cmd}"));
    // The store was named with -s: the command names it too, as one word.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "-s\n{}\nregenerate-certs\n{NASTY_NAME}\n--push\n",
            store.display()
        ),
        "{line}"
    );
    assert!(!d.path("PWNED").exists());
}

#[cfg(unix)]
#[test]
fn an_export_under_nohup_outlives_its_terminal() {
    let d = Dir::new();
    let store = d.copy_fixture(LINUX, "store");
    let r = demo_recipient();
    let pause = d.path("paused");
    fs::write(&pause, "").unwrap();
    let child = Command::new("nohup")
        .arg(env!("CARGO_BIN_EXE_mbundle"))
        .args([
            "-s",
            store.to_str().unwrap(),
            "export",
            "--all",
            "-r",
            &r,
            "-o",
            "out.mbundle",
        ])
        .current_dir(d.root())
        .env("HOME", d.root())
        .env("MBUNDLE_TEST_FAILPOINT", "export-file:3:pause")
        .env("MBUNDLE_TEST_PAUSE", &pause)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the temporary file", || {
        (!partials(d.root()).is_empty()).then_some(())
    });
    kill(&child, "HUP");
    std::thread::sleep(Duration::from_millis(200));
    fs::remove_file(&pause).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(d.path("out.mbundle").is_file());
}

/// Safety v3: nothing a bundle, a store or a journal names is trusted.
mod scoped;
mod v3;
