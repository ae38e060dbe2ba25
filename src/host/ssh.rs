//! The system OpenSSH client, run as docker-machine's external client runs it (`-F /dev/null`,
//! the machine's key only, BatchMode, connect timeouts), with one difference: the host key is
//! pinned. The first contact records it in the machine's directory (`mbundle-known-hosts`,
//! under the machine's name, so an address that changes keeps its pin); a host that later
//! presents another key is refused with both fingerprints, and nothing runs there.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

use super::SshTarget;

/// The machine directory's file of pinned host keys.
pub const PINS: &str = "mbundle-known-hosts";

/// What a command run on the host printed and how it ended.
#[derive(Debug)]
pub struct Ran {
    /// Its exit status (`None`: killed by a signal).
    pub status: Option<i32>,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
}

impl Ran {
    /// What a person is told about a script that failed: its exit status (or the signal) and
    /// what it said on its standard error, escaped for a terminal.
    pub fn failure(&self, what: &str) -> String {
        let how = match self.status {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".into(),
        };
        let said = self.stderr.trim();
        if said.is_empty() {
            format!("{what} failed on the host ({how}) and said nothing on its standard error")
        } else {
            format!(
                "{what} failed on the host ({how}): {}",
                crate::text::printable(said)
            )
        }
    }
}

/// The ssh arguments before the command, for `target` with its pins in `pins` under `alias`.
pub fn args(target: &SshTarget, pins: &Path, alias: &str) -> Vec<String> {
    let mut a: Vec<String> = [
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "ConnectionAttempts=3",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=4",
        "-o",
        "PasswordAuthentication=no",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "LogLevel=ERROR",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    match &target.control {
        // The first session starts a master in the background; the others ride on it. An
        // orphaned master (mbundle killed) ends after SHARED_IDLE seconds without sessions.
        Some(path) => a.extend([
            "-o".into(),
            "ControlMaster=auto".into(),
            "-o".into(),
            format!("ControlPath={}", path.display()),
            "-o".into(),
            format!("ControlPersist={SHARED_IDLE}"),
        ]),
        None => a.extend(["-o", "ControlMaster=no", "-o", "ControlPath=none"].map(String::from)),
    }
    a.push("-o".into());
    a.push(format!("UserKnownHostsFile={}", pins.display()));
    a.push("-o".into());
    a.push(format!("HostKeyAlias={alias}"));
    a.push("-i".into());
    a.push(target.key.display().to_string());
    a.push("-p".into());
    a.push(target.port.to_string());
    a.push("-l".into());
    a.push(target.user.clone());
    a.push("--".into());
    a.push(target.host.clone());
    a
}

/// Seconds an idle shared connection's master waits for another session before it ends.
const SHARED_IDLE: u32 = 30;

/// The longest control socket path used (a Unix socket's path holds about 104 bytes).
const MAX_CONTROL_PATH: usize = 100;

/// One SSH connection shared by the sessions to one host (OpenSSH's ControlMaster): a push
/// runs four or five scripts on a host, and a new connection costs its key exchange and
/// authentication each time. The socket is in a directory of its own, 0700, in the temporary
/// directory; dropped, the master is told to exit and the directory goes.
pub struct Shared {
    dir: tempfile::TempDir,
    target: SshTarget,
    pins: PathBuf,
    alias: String,
}

impl Shared {
    /// Makes `target`'s sessions share one connection; `None` (each session connects on its
    /// own) when no private directory can be made or its path is too long for a socket.
    pub fn start(name: &str, dir: &Path, target: &mut SshTarget) -> Option<Shared> {
        let tmp = tempfile::Builder::new()
            .prefix("mbundle-ssh-")
            .tempdir()
            .ok()?;
        crate::fs::set_mode(tmp.path(), 0o700).ok()?;
        let path = tmp.path().join("c");
        if path.as_os_str().len() > MAX_CONTROL_PATH {
            return None;
        }
        target.control = Some(path);
        Some(Shared {
            dir: tmp,
            target: target.clone(),
            pins: dir.join(PINS),
            alias: alias(name),
        })
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if self.dir.path().join("c").exists() {
            let mut a = args(&self.target, &self.pins, &self.alias);
            let end = a.iter().position(|w| w == "--").unwrap_or(a.len());
            a.splice(end..end, ["-O".to_string(), "exit".to_string()]);
            let _ = Command::new("ssh")
                .args(a)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Most of a host's standard error kept (for messages).
const MAX_STDERR: u64 = 64 << 10;

/// Runs `command` on machine `name`'s host (`dir` its directory), feeding it `input`; at most
/// `max_out` bytes of its output are read (a host that says more is cut off and killed).
pub fn run(
    name: &str,
    dir: &Path,
    target: &SshTarget,
    command: &str,
    input: &[u8],
    max_out: u64,
) -> Result<Ran> {
    let pins = dir.join(PINS);
    let mut child = Command::new("ssh")
        .args(args(target, &pins, &alias(name)))
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::cannot(
                format!("cannot run ssh: {e}"),
                "install the OpenSSH client (docker-machine uses it too)",
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A host that exits early closes the pipe: its exit status says why.
        let _ = stdin.write_all(input);
    }
    // Both streams read at once (a full pipe would stall the other), each to its bound.
    let err_pipe = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = err_pipe {
            let _ = p.take(MAX_STDERR).read_to_end(&mut buf);
        }
        buf
    });
    let mut stdout = Vec::new();
    if let Some(p) = child.stdout.take() {
        let _ = p.take(max_out + 1).read_to_end(&mut stdout);
    }
    if stdout.len() as u64 > max_out {
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| Error::io("run", PathBuf::from("ssh"), e))?;
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    let out = std::process::Output {
        status,
        stdout,
        stderr: Vec::new(),
    };
    if out.status.code() == Some(255) {
        if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || stderr.contains("Host key verification failed")
        {
            return Err(host_key_changed(name, &pins, target, &stderr));
        }
        return Err(Error::cannot(
            format!(
                "cannot reach {name} over SSH ({}@{} port {}): {}",
                target.user,
                target.host,
                target.port,
                last_line(&stderr)
            ),
            format!(
                "check that the host is up and takes the key {}",
                target.key.display()
            ),
        ));
    }
    Ok(Ran {
        status: out.status.code(),
        stdout: out.stdout,
        stderr,
    })
}

/// The name a machine's host key is pinned under (safe as one ssh option word).
fn alias(name: &str) -> String {
    format!("mbundle-machine-{name}")
}

fn last_line(text: &str) -> String {
    crate::text::printable(text.trim().lines().last().unwrap_or("no answer")).into_owned()
}

/// The error for a host whose key is not the pinned one: both fingerprints.
fn host_key_changed(name: &str, pins: &Path, target: &SshTarget, stderr: &str) -> Error {
    let presented = stderr
        .split_whitespace()
        .find(|w| w.starts_with("SHA256:"))
        .map(|w| w.trim_end_matches('.').to_string())
        .unwrap_or_else(|| "(not said)".into());
    let recorded = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-F")
        .arg(alias(name))
        .arg("-f")
        .arg(pins)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .and_then(|t| {
            t.split_whitespace()
                .find(|w| w.starts_with("SHA256:"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "(unreadable)".into());
    Error::HostKeyChanged {
        machine: name.to_string(),
        address: format!("{}:{}", target.host, target.port),
        recorded,
        presented: crate::text::printable(&presented).into_owned(),
        pins: pins.to_path_buf(),
    }
}
