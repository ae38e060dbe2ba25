//! Test helpers: an isolated temp directory that runs the real `mbundle` binary, copies of
//! the fixture stores, and the real peers (the `age` CLI, `ssh-keygen`).

#![allow(dead_code)]

pub mod gen;
pub mod hosts;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository's fixtures directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The demo age recipient (public key).
pub fn demo_recipient() -> String {
    fs::read_to_string(fixtures().join("demo/recipient.txt"))
        .unwrap()
        .trim()
        .to_string()
}

/// The demo age identity file.
pub fn demo_key() -> PathBuf {
    fixtures().join("demo/key.txt")
}

/// Fixture store paths, relative to fixtures/.
pub const LINUX: &str = "linux/home/alice/.docker/machine";
pub const WINDOWS: &str = "windows/Users/José/.docker/machine";
pub const MACOS: &str = "macos/Users/carol/.docker/machine";
pub const QUIRKS: &str = "quirks/home/dave/.docker/machine";

/// A real peer program, or `None` with a note that the test is skipped. When
/// `MBUNDLE_REQUIRE_PEERS` is set (as `.ci/run` does) a missing peer fails the test instead,
/// so CI can never pass without having run the tests that need it.
pub fn peer(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var_os("MBUNDLE_REQUIRE_PEERS").is_some() {
            panic!("{name} is not installed, and MBUNDLE_REQUIRE_PEERS is set: install it (apt-get install {name})");
        }
        eprintln!("SKIPPED: {name} is not installed (apt-get install {name}); this test needs the real program");
    }
    found
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw_stdout: Vec<u8>,
}

impl Run {
    /// What a finished process printed and how it ended.
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            raw_stdout: o.stdout,
        }
    }

    /// Asserts success and returns self.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts exit code `code` and that stderr contains each of `needles`.
    #[track_caller]
    pub fn fails(self, code: i32, needles: &[&str]) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks {n:?}:\n{}",
                self.stderr
            );
        }
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        self
    }
}

/// An isolated directory with HOME pointing into it.
pub struct Dir {
    pub tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::Builder::new()
                .prefix("mbundle-test-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// The real binary, with a clean environment: HOME in the temp dir, no
    /// MACHINE_STORAGE_PATH, cwd in the temp dir.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mbundle"));
        c.current_dir(self.root())
            .env_remove("MACHINE_STORAGE_PATH")
            .env("HOME", self.root())
            .stdin(Stdio::null());
        c
    }

    /// Runs mbundle with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd().args(args).output().unwrap())
    }

    /// Runs mbundle with `args`, feeding `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Run::from(out)
    }

    /// `mbundle -s STORE export WHAT... -r <demo recipient> -o OUT`.
    pub fn export_demo(&self, store: &Path, out: &str, what: &[&str]) -> Run {
        let r = demo_recipient();
        let mut args = vec!["-s", store.to_str().unwrap(), "export"];
        args.extend_from_slice(what);
        args.extend_from_slice(&["-r", &r, "-o", out]);
        self.run(&args)
    }

    /// `mbundle -s STORE import BUNDLE -i <demo key> EXTRA...`.
    pub fn import_demo(&self, store: &Path, bundle: &str, extra: &[&str]) -> Run {
        let key = demo_key();
        let mut args = vec![
            "-s",
            store.to_str().unwrap(),
            "import",
            bundle,
            "-i",
            key.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// Copies a fixture tree (relative to fixtures/) to `to` (relative to the temp dir).
    pub fn copy_fixture(&self, fixture: &str, to: &str) -> PathBuf {
        let dst = self.path(to);
        copy_tree(&fixtures().join(fixture), &dst);
        dst
    }

    /// Alice's whole home from the Linux fixture, placed at `<tmp>/home/alice` with every
    /// config.json path spelled for that place: what docker-machine would have written had the
    /// machines been created there. Returns the store path.
    pub fn materialize_alice(&self) -> PathBuf {
        let home = self.copy_fixture("linux/home/alice", "home/alice");
        let new_home = home.to_str().unwrap().to_string();
        for entry in walk(&home.join(".docker/machine/machines")) {
            if entry.file_name().unwrap() == "config.json" {
                let text = fs::read_to_string(&entry).unwrap();
                fs::write(&entry, text.replace("/home/alice", &new_home)).unwrap();
            }
        }
        home.join(".docker/machine")
    }
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            fs::copy(e.path(), &to).unwrap();
            // A git checkout loses modes; docker-machine writes keys and config.json 0600.
            #[cfg(unix)]
            if mbundle::is_secret_file(&e.file_name().to_string_lossy()) {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&to, fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
    }
}

/// Decrypts with the real age CLI and lists/extracts with tar, as a user with stock tools would.
pub fn age_decrypt_extract(bundle: &Path, key: &Path, into: &Path) -> bool {
    let Some(age) = peer("age") else { return false };
    fs::create_dir_all(into).unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' -d -i '{}' '{}' | tar -xzf - -C '{}'",
            age.display(),
            key.display(),
            bundle.display(),
            into.display()
        ))
        .status()
        .unwrap();
    assert!(status.success(), "age -d | tar -xz failed");
    true
}

/// Decrypts a bundle with the library-independent path (age crate directly) and returns the
/// tar entries as (path, bytes) — test-side view of what a bundle holds.
pub fn decrypt_entries(bundle: &[u8], key: &Path) -> Vec<(String, Vec<u8>)> {
    let plain = decrypt(bundle, key);
    let mut gz = flate2::read::MultiGzDecoder::new(plain.as_slice());
    let mut tarball = Vec::new();
    gz.read_to_end(&mut tarball).unwrap();
    let mut ar = tar::Archive::new(tarball.as_slice());
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let p = String::from_utf8(e.path_bytes().to_vec()).unwrap();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        out.push((p, b));
    }
    out
}

/// The age plaintext of a bundle (the gzip-compressed tar), decrypted with `key`.
pub fn decrypt(bundle: &[u8], key: &Path) -> Vec<u8> {
    let ids = age::IdentityFile::from_file(key.to_str().unwrap().to_string())
        .unwrap()
        .into_identities()
        .unwrap();
    let dec = age::Decryptor::new(bundle).unwrap();
    let mut r = dec
        .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .unwrap();
    let mut plain = Vec::new();
    r.read_to_end(&mut plain).unwrap();
    plain
}

/// A POSIX tar of (path, bytes) entries, mode 0600.
pub fn plain_tar(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tarball = Vec::new();
    {
        let mut b = tar::Builder::new(&mut tarball);
        for (p, data) in entries {
            let mut h = tar::Header::new_ustar();
            h.set_path(p).unwrap();
            h.set_size(data.len() as u64);
            h.set_mode(0o600);
            h.set_cksum();
            b.append(&h, data.as_slice()).unwrap();
        }
        b.finish().unwrap();
    }
    tarball
}

/// Rebuilds a bundle from (path, bytes) entries, encrypted to the demo recipient: the tool
/// tests use to craft damaged or hostile bundles.
pub fn craft_bundle(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    encrypt_to_demo(&gzip(&plain_tar(entries)))
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

pub fn encrypt_to_demo(plain: &[u8]) -> Vec<u8> {
    let r: age::x25519::Recipient = demo_recipient().parse().unwrap();
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap();
    out
}

#[cfg(unix)]
pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

pub fn manifest_json(dir: &Dir, bundle: &str) -> serde_json::Value {
    let key = demo_key();
    let r = dir
        .run(&["inspect", bundle, "-i", key.to_str().unwrap(), "--json"])
        .ok();
    serde_json::from_str(&r.stdout).unwrap()
}

/// Every entry under `root`: relative path -> kind, mode and content hash. Two equal trees
/// are byte-for-byte the same store.
pub fn tree(root: &Path) -> BTreeMap<String, String> {
    tree_with(root, |_, bytes| bytes)
}

/// [`tree`] with config.json contents spelled relative to the store, to compare stores that
/// live at different paths.
pub fn tree_relative(root: &Path) -> BTreeMap<String, String> {
    let r = root.to_str().unwrap().to_string();
    tree_with(root, move |p, bytes| {
        if p.file_name().unwrap() == "config.json" {
            String::from_utf8(bytes)
                .unwrap()
                .replace(&r, "<STORE>")
                .into_bytes()
        } else {
            bytes
        }
    })
}

fn tree_with(root: &Path, content: impl Fn(&Path, Vec<u8>) -> Vec<u8>) -> BTreeMap<String, String> {
    use sha2::Digest;
    let mut out = BTreeMap::new();
    if !root.exists() {
        return out;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let md = fs::symlink_metadata(&p).unwrap();
            #[cfg(unix)]
            let m = mode(&p);
            #[cfg(not(unix))]
            let m = 0;
            let v = if md.is_dir() {
                stack.push(p.clone());
                format!("dir {m:o}")
            } else if md.file_type().is_symlink() {
                format!("link {}", fs::read_link(&p).unwrap().display())
            } else {
                format!(
                    "file {m:o} {}",
                    hex::encode(sha2::Sha256::digest(content(&p, fs::read(&p).unwrap())))
                )
            };
            out.insert(rel, v);
        }
    }
    out
}
