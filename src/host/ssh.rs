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
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
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
