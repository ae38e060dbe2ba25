//! What a host's running daemon really uses: one SSH session runs a POSIX sh script (as root
//! through `sudo -n` when the user is not root) that finds dockerd in /proc, prints its
//! command line, hashes the TLS files it names, says which service manager starts it and
//! whether daemon.json exists. The answer is parsed here as hostile input: only lines of the
//! expected forms, only absolute plain paths, bounded sizes.

use std::collections::BTreeMap;

/// The script, fed to `sh -s` on the host. Prints `mbundle-probe 1`, then one fact a line.
pub const SCRIPT: &str = r#"
hash() { if [ -f "$2" ]; then printf 'file %s %s %s\n' "$1" "$(sha256sum < "$2" | cut -d ' ' -f 1)" "$2"; else printf 'file %s - %s\n' "$1" "$2"; fi; }
echo "mbundle-probe 1"
pid=""
for p in /proc/[0-9]*; do
  if [ "$(cat "$p/comm" 2>/dev/null)" = dockerd ]; then pid=${p#/proc/}; break; fi
done
echo "pid $pid"
if [ -n "$pid" ]; then
  tr '\000' '\n' < "/proc/$pid/cmdline" | {
    prev=""
    while IFS= read -r a; do
      printf 'arg %s\n' "$a"
      case "$prev" in --tlscacert|--tlscert|--tlskey) hash "$prev" "$a" ;; esac
      case "$a" in --tlscacert=*|--tlscert=*|--tlskey=*) hash "${a%%=*}" "${a#*=}" ;; esac
      prev=$a
    done
  }
fi
cf=/etc/docker/daemon.json
if [ -n "$pid" ]; then
  c=$(tr '\000' '\n' < "/proc/$pid/cmdline" | awk 'p { print; exit } $0 == "--config-file" { p = 1 } /^--config-file=/ { sub(/^--config-file=/, ""); print; exit }')
  [ -n "$c" ] && cf=$c
fi
echo "config-file $cf"
if [ -e "$cf.mbundle-backup" ] || [ -e "$cf.mbundle-absent" ]; then echo "daemon.json-armed"; fi
if [ -f "$cf" ]; then
  if [ "$(wc -c < "$cf")" -le 65536 ]; then
    echo "daemon.json $(sha256sum < "$cf" | cut -d ' ' -f 1) $(base64 < "$cf" | tr -d '\n')"
  else
    echo "daemon.json-too-large"
  fi
fi
if [ -f /var/lib/boot2docker/profile ]; then echo "service boot2docker"
elif [ -f /etc/systemd/system/docker.service.d/10-machine.conf ] && command -v systemctl >/dev/null 2>&1; then echo "service systemd"
elif command -v system-docker >/dev/null 2>&1; then echo "service rancheros"
elif [ -f /etc/init/docker.conf ] && [ -f /etc/default/docker ] && command -v initctl >/dev/null 2>&1; then echo "service upstart"
else echo "service unknown"; fi
echo "end"
"#;

/// The command that runs [`SCRIPT`] on the host: as root (through `sudo -n` when the user is
/// not root: the server key is root's).
pub const COMMAND: &str = "if [ \"$(id -u)\" = 0 ]; then exec sh -s; else exec sudo -n sh -s; fi";

/// Largest answer read (a dockerd command line is a few KiB).
pub const MAX_ANSWER: usize = 256 << 10;

/// The service manager that starts dockerd on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// docker-machine's systemd drop-in (`10-machine.conf`).
    Systemd,
    /// boot2docker's `/var/lib/boot2docker/profile` and init script.
    Boot2docker,
    /// RancherOS's `system-docker`.
    Rancheros,
    /// Ubuntu upstart: its job `/etc/init/docker.conf` (options in `/etc/default/docker`,
    /// which Debian's docker package installs on systemd hosts too).
    Upstart,
    /// None of those.
    Unknown,
}

/// One TLS file the daemon was started with.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TlsFile {
    /// Where it is on the host.
    pub path: String,
    /// Its sha256; `None` when the daemon names a file that is not there.
    pub sha256: Option<String>,
}

/// What a host's daemon uses.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Probe {
    /// The running dockerd's PID; `None` when no dockerd runs.
    pub pid: Option<u32>,
    /// Its command line.
    pub args: Vec<String>,
    /// `--tlscacert`, `--tlscert`, `--tlskey` as it was started with them.
    pub tls: BTreeMap<String, TlsFile>,
    /// The daemon's configuration file (`--config-file`, else `/etc/docker/daemon.json`).
    pub config_file: Option<String>,
    /// Its sha256 and bytes, when it exists (at most 64 KiB).
    pub daemon_json: Option<(String, Vec<u8>)>,
    /// It exists but is larger than mbundle reads.
    pub daemon_json_too_large: bool,
    /// A push turned live-restore on in it and has not put it back yet (its
    /// `.mbundle-backup` or `.mbundle-absent` is there): a push was stopped mid-way.
    pub daemon_json_armed: bool,
    /// Who starts it.
    pub service: Option<Service>,
}

/// Parses what [`SCRIPT`] printed; `Err` says what is wrong with the answer.
pub fn parse(answer: &[u8]) -> Result<Probe, String> {
    if answer.len() > MAX_ANSWER {
        return Err(format!("the host answered {} bytes", answer.len()));
    }
    let text = std::str::from_utf8(answer).map_err(|_| "the answer is not UTF-8".to_string())?;
    let mut lines = text.lines();
    if lines.next() != Some("mbundle-probe 1") {
        return Err("the probe did not run (no sh, or sudo asked for a password?)".into());
    }
    let mut p = Probe::default();
    let mut ended = false;
    for line in lines {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "pid" if rest.is_empty() => p.pid = None,
            "pid" => p.pid = Some(rest.parse().map_err(|_| format!("pid {rest:?}"))?),
            "arg" => p.args.push(rest.to_string()),
            "file" => {
                let mut parts = rest.splitn(3, ' ');
                let (Some(flag), Some(sha), Some(path)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(format!("a file line {line:?}"));
                };
                if !["--tlscacert", "--tlscert", "--tlskey"].contains(&flag) {
                    return Err(format!("a file line for {flag:?}"));
                }
                check_path(path)?;
                let sha256 = match sha {
                    "-" => None,
                    s if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        Some(s.to_ascii_lowercase())
                    }
                    s => return Err(format!("a sha256 {s:?}")),
                };
                p.tls.insert(
                    flag.to_string(),
                    TlsFile {
                        path: path.to_string(),
                        sha256,
                    },
                );
            }
            "config-file" => {
                check_path(rest)?;
                p.config_file = Some(rest.to_string());
            }
            "daemon.json" => {
                let (sha, b64) = rest.split_once(' ').unwrap_or((rest, ""));
                if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("a daemon.json sha256 {sha:?}"));
                }
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| "daemon.json not in base64".to_string())?;
                p.daemon_json = Some((sha.to_ascii_lowercase(), bytes));
            }
            "daemon.json-too-large" => p.daemon_json_too_large = true,
            "daemon.json-armed" => p.daemon_json_armed = true,
            "service" => {
                p.service = Some(match rest {
                    "systemd" => Service::Systemd,
                    "boot2docker" => Service::Boot2docker,
                    "rancheros" => Service::Rancheros,
                    "upstart" => Service::Upstart,
                    _ => Service::Unknown,
                })
            }
            "end" => ended = true,
            _ => {
                return Err(format!(
                    "an unexpected line {:?}",
                    crate::text::printable(line)
                ))
            }
        }
    }
    if !ended {
        return Err("the answer stopped before its end".into());
    }
    Ok(p)
}

/// A path a host names for a TLS file: absolute, plain components, no control characters,
/// bounded: what may later be quoted into a command for that host.
pub fn check_path(path: &str) -> Result<(), String> {
    let ok = path.starts_with('/')
        && path.len() <= 1024
        && !path.chars().any(char::is_control)
        && path
            .split('/')
            .skip(1)
            .all(|c| !c.is_empty() && c != "." && c != "..");
    if ok {
        Ok(())
    } else {
        Err(format!("a path {:?}", crate::text::printable(path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_systemd_host_answers_and_hostile_answers_are_refused() {
        let sha = "a".repeat(64);
        let answer = format!(
            "mbundle-probe 1\npid 42\narg /usr/sbin/dockerd\narg --tlscacert\narg /etc/docker/ca.pem\nfile --tlscacert {sha} /etc/docker/ca.pem\narg --tlscert=/etc/docker/server.pem\nfile --tlscert - /etc/docker/server.pem\nservice systemd\nend\n"
        );
        let p = parse(answer.as_bytes()).unwrap();
        assert_eq!(p.pid, Some(42));
        assert_eq!(p.tls["--tlscacert"].sha256.as_deref(), Some(sha.as_str()));
        assert_eq!(p.tls["--tlscert"].sha256, None);
        assert_eq!(p.service, Some(Service::Systemd));
        for bad in [
            "hello\n".to_string(),
            "mbundle-probe 1\npid 1\n".to_string(),
            format!("mbundle-probe 1\nfile --tlscert {sha} ../etc/x\nend\n"),
            format!("mbundle-probe 1\nfile --tlscert {sha} /etc/$(x)\u{1b}\nend\n"),
            "mbundle-probe 1\nfile --tlscert xyz /etc/x\nend\n".to_string(),
            "mbundle-probe 1\nrm -rf /\nend\n".to_string(),
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
